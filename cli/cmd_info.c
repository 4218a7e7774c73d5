/* somna info — what a recording holds: format, start, duration, signals,
 * annotations; with --stats every sample is decoded for per-signal
 * mean, sd (n-1), min and max in physical units. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "somna/json.h"
#include "somna/parse.h"
#include "somna/recording.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: somna info FILE|RECORD [--stats] [--json] [--fs HZ]\n"
            "\n"
            "Describe a recording: its format, start date/time, duration, and for every\n"
            "signal its label, sampling rate, unit, sample count and declared physical\n"
            "range, plus the number of annotations.\n"
            "\n"
            "  FILE|RECORD   an EDF, EDF+ (C or D) or BDF/BDF+ file (detected from its\n"
            "                first bytes); a WFDB record named as WFDB does (data/mitdb/100\n"
            "                reads 100.hea, the signal files it lists, and counts 100.atr);\n"
            "                or a delimited text file, one column per signal (needs --fs)\n"
            "  --stats       decode every sample and add per-signal mean, sd (n-1), min and\n"
            "                max in physical units (invalid samples are skipped)\n"
            "  --json        one JSON object: format, start, duration_s, annotations,\n"
            "                signals[] {label, fs, unit, n_samples, phys_min, phys_max,\n"
            "                mean, sd, min, max}; values not computed are null\n"
            "  --fs HZ       sampling rate of a text signal file\n"
            "  -h, --help    this help\n"
            "\n"
            "Example:\n"
            "  somna info ../shared/data/dreams-spindles/excerpt3.edf --stats\n"
            "\n"
            "Exit status: 0 success, 1 usage error, 2 unreadable or malformed input.\n");
}

typedef struct sig_stats {
    double mean, sd, min, max;
    int64_t n;
} sig_stats;

/* Welford's running mean/variance (Welford 1962), chunk by chunk so memory
 * stays bounded whatever the recording length. */
static int compute_stats(somna_recording *rec, int sig, double *buf, int64_t bufn, sig_stats *st, somna_err *err)
{
    const somna_rec_signal *si = somna_rec_signal_info(rec, sig);
    double mean = 0, m2 = 0, mn = INFINITY, mx = -INFINITY;
    int64_t n = 0;
    for (int64_t first = 0; first < si->n_samples; first += bufn) {
        int64_t k = si->n_samples - first < bufn ? si->n_samples - first : bufn;
        int rc = somna_rec_read(rec, sig, first, k, buf, err);
        if (rc)
            return rc;
        for (int64_t i = 0; i < k; i++) {
            double x = buf[i];
            if (isnan(x))
                continue;
            n++;
            double d = x - mean;
            mean += d / (double)n;
            m2 += d * (x - mean);
            if (x < mn)
                mn = x;
            if (x > mx)
                mx = x;
        }
    }
    st->n = n;
    st->mean = n > 0 ? mean : NAN;
    st->sd = n > 1 ? sqrt(m2 / (double)(n - 1)) : NAN;
    st->min = n > 0 ? mn : NAN;
    st->max = n > 0 ? mx : NAN;
    return SOMNA_OK;
}

static void put_num(FILE *out, double v)
{
    char b[40];
    if (isfinite(v))
        somna_format_double(b, sizeof b, v);
    else
        somna_strlcpy(b, "NA", sizeof b);
    fputs(b, out);
}

int cmd_info(int argc, char **argv)
{
    static const struct option opts[] = {{"stats", no_argument, NULL, 's'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"fs", required_argument, NULL, 'f'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int want_stats = 0, want_json = 0, c;
    double fs = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's': want_stats = 1; break;
        case 'j': want_json = 1; break;
        case 'f':
            if (cli_opt_double("info", "fs", optarg, &fs) != 0)
                return CLI_EXIT_USAGE;
            if (!(fs > 0))
                return cli_usage_error("info", "option --fs: sampling rate must be > 0, got '%s'", optarg);
            break;
        case 'h': usage(stdout); return CLI_EXIT_OK;
        default: return cli_bad_option("info");
        }
    }
    if (optind >= argc)
        return cli_usage_error("info", "missing FILE|RECORD");
    if (optind + 1 < argc)
        return cli_usage_error("info", "one recording at a time (got '%s' and '%s')", argv[optind], argv[optind + 1]);
    const char *path = argv[optind];

    somna_err err;
    cli_err_init(&err);
    somna_rec_open_opts o = {SOMNA_REC_AUTO, fs};
    somna_recording *rec = NULL;
    if (somna_rec_open(path, &o, &rec, &err) != SOMNA_OK)
        return cli_fail("info", &err);
    int ns = somna_rec_n_signals(rec);
    sig_stats *st = calloc((size_t)(ns > 0 ? ns : 1), sizeof *st);
    if (!st) {
        somna_rec_close(rec);
        return cli_error("info", "out of memory");
    }
    for (int s = 0; s < ns; s++)
        st[s] = (sig_stats){NAN, NAN, NAN, NAN, 0};
    if (want_stats) {
        const int64_t bufn = 1 << 16;
        double *buf = malloc((size_t)bufn * sizeof *buf);
        if (!buf) {
            free(st);
            somna_rec_close(rec);
            return cli_error("info", "out of memory");
        }
        for (int s = 0; s < ns; s++) {
            if (compute_stats(rec, s, buf, bufn, &st[s], &err) != SOMNA_OK) {
                free(buf);
                free(st);
                somna_rec_close(rec);
                return cli_fail("info", &err);
            }
        }
        free(buf);
    }

    /* Everything is decoded before anything is printed: a failure leaves no
     * partial output on stdout. */
    const char *start = somna_rec_start(rec);
    if (want_json) {
        somna_json j;
        somna_json_init(&j, stdout, 1);
        somna_json_object_begin(&j);
        somna_json_kv_string(&j, "file", path);
        somna_json_kv_string(&j, "format", somna_rec_format(rec));
        if (start[0])
            somna_json_kv_string(&j, "start", start);
        else
            somna_json_kv_null(&j, "start");
        somna_json_kv_number(&j, "duration_s", somna_rec_duration(rec));
        somna_json_kv_int(&j, "annotations", (int64_t)somna_rec_n_annotations(rec));
        somna_json_key(&j, "signals");
        somna_json_array_begin(&j);
        for (int s = 0; s < ns; s++) {
            const somna_rec_signal *si = somna_rec_signal_info(rec, s);
            somna_json_object_begin(&j);
            somna_json_kv_string(&j, "label", si->label);
            somna_json_kv_number(&j, "fs", si->fs);
            somna_json_kv_string(&j, "unit", si->unit);
            somna_json_kv_int(&j, "n_samples", si->n_samples);
            somna_json_kv_number(&j, "phys_min", si->phys_min);
            somna_json_kv_number(&j, "phys_max", si->phys_max);
            somna_json_kv_number(&j, "mean", st[s].mean);
            somna_json_kv_number(&j, "sd", st[s].sd);
            somna_json_kv_number(&j, "min", st[s].min);
            somna_json_kv_number(&j, "max", st[s].max);
            somna_json_object_end(&j);
        }
        somna_json_array_end(&j);
        somna_json_object_end(&j);
        somna_json_finish(&j);
    } else {
        printf("file\t%s\nformat\t%s\nstart\t%s\n", path, somna_rec_format(rec), start[0] ? start : "unknown");
        printf("duration_s\t");
        put_num(stdout, somna_rec_duration(rec));
        printf("\nsignals\t%d\nannotations\t%zu\n\n", ns, somna_rec_n_annotations(rec));
        printf("#\tlabel\tfs\tunit\tn_samples\tphys_min\tphys_max%s\n", want_stats ? "\tmean\tsd\tmin\tmax" : "");
        for (int s = 0; s < ns; s++) {
            const somna_rec_signal *si = somna_rec_signal_info(rec, s);
            printf("%d\t%s\t", s + 1, si->label);
            put_num(stdout, si->fs);
            printf("\t%s\t%lld\t", si->unit[0] ? si->unit : "-", (long long)si->n_samples);
            put_num(stdout, si->phys_min);
            putchar('\t');
            put_num(stdout, si->phys_max);
            if (want_stats) {
                double v[4] = {st[s].mean, st[s].sd, st[s].min, st[s].max};
                for (int k = 0; k < 4; k++) {
                    putchar('\t');
                    put_num(stdout, v[k]);
                }
            }
            putchar('\n');
        }
    }
    free(st);
    somna_rec_close(rec);
    if (fflush(stdout) != 0)
        return cli_error("info", "cannot write to standard output");
    return CLI_EXIT_OK;
}
