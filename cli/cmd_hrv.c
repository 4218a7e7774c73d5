/* somna hrv — heart-rate variability from annotations, detected beats or an
 * RR/IBI file: whole record, per sleep stage, per window. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "commands.h"
#include "somna/hrv.h"
#include "somna/hypno.h"
#include "somna/json.h"
#include "somna/parse.h"
#include "somna/rpeaks.h"
#include "somna/table.h"
#include "somna/wfdb.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: somna hrv FILE|RECORD|RR.tsv [--ann ANNOTATOR|detect] [--channel C]\n"
            "                 [--hypno H [--hypno-offset S]] [--window S [--step S]]\n"
            "                 [--filter] [--welch] [--toolbox [--toolbox-fs HZ] [--max-t S]]\n"
            "                 [--json]\n"
            "\n"
            "Heart-rate variability (Task Force 1996), computed as PhysioNet's HRV Toolkit\n"
            "(get_hrv) does unless told otherwise; definitions in docs/hrv.md.\n"
            "\n"
            "Input, one of:\n"
            "  RECORD --ann ANN   beats of a WFDB annotation file (NN = between two N beats)\n"
            "  FILE|RECORD        an ECG recording: beats found by `somna rpeaks` (all taken\n"
            "                     as normal; also --ann detect), --channel picks the lead\n"
            "  RR.tsv             an RR/IBI list: a column named ibi_s, rr, ibi, nn, rri,\n"
            "                     interval (…_ms for milliseconds), or the only/second\n"
            "                     column of a headerless file; ms vs s is detected from the\n"
            "                     values when the name does not say (all intervals are NN)\n"
            "Options:\n"
            "  --hypno H          also per sleep stage (any format `somna hypno` reads):\n"
            "                     NN intervals lying entirely inside epochs of a stage are\n"
            "                     pooled, successive differences never bridge a gap\n"
            "  --hypno-offset S   hypnogram epoch 0 starts S seconds into the record (0)\n"
            "  --fill-gaps        hypnogram stretches with no stage become unscored epochs\n"
            "  --window S         measures per window of S seconds (TSV, or JSON array)\n"
            "  --step S           window step (default: S, no overlap)\n"
            "  --filter           drop outlier/ectopic intervals as WFDB's filtnn: > 20 %%\n"
            "                     from the mean of the 20 surrounding, or outside 0.4-2.0 s\n"
            "  --welch            Welch PSD of a 4 Hz spline resample instead of Lomb\n"
            "  --toolbox          PhysioNet Cardiovascular Signal Toolbox conventions (with\n"
            "                     --ann): its RR preprocessing, Lomb on a 1/1024 Hz grid,\n"
            "                     pNN50 with >=; --toolbox-fs overrides the annotation rate\n"
            "                     (its nsr2db demo used 125), --max-t keeps t < S seconds\n"
            "  --json             JSON: keys NN_RR AVNN SDNN SDANN SDNNIDX RMSSD pNN50 HR\n"
            "                     TOTPWR ULF VLF LF HF LF_HF LFnu HFnu SD1 SD2 SampEn DFA_a1\n"
            "                     DFA_a2 (ms, ms^2, bpm, %%); null + null_reasons when a\n"
            "                     measure needs more data than there is\n"
            "  -h, --help         this help\n"
            "\n"
            "Examples:\n"
            "  somna hrv ../shared/data/mitdb/100 --ann atr\n"
            "  somna hrv ../shared/data/mmash/DataPaper/user_1/RR.csv --window 300 --filter\n"
            "  somna hrv night.edf --hypno night.hyp.txt --json\n"
            "\n"
            "Exit status: 0 success, 1 usage error, 2 unreadable input or failure.\n");
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* A recording (WFDB record or EDF/BDF) rather than an RR table? */
static int is_recording(const char *path)
{
    size_t n = strlen(path);
    char hea[1100];
    snprintf(hea, sizeof hea, "%s.hea", path);
    if ((n > 4 && strcmp(path + n - 4, ".hea") == 0) || is_file(hea))
        return 1;
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    unsigned char b[8] = {0};
    size_t got = fread(b, 1, 8, f);
    fclose(f);
    return got == 8 && (memcmp(b, "0       ", 8) == 0 || (b[0] == 0xFF && memcmp(b + 1, "BIOSEMI", 7) == 0));
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* RR/IBI table -> intervals in seconds. */
static int read_rr_table(const char *path, double **rr, size_t *n, somna_err *err)
{
    static const char *const names[] = {"ibi_s", "rr_s", "nn_s", "ibi", "rr", "nn", "rri", "interval", "ibi_ms",
                                        "rr_ms", "nn_ms", "rri_ms", "interval_ms", "rr (ms)", "ibi (ms)"};
    somna_table_opts o = {0};
    o.comment = '#';
    somna_table t;
    int rc = somna_table_read(path, &o, &t, err);
    if (rc)
        return rc;
    double probe;
    if (t.n_cols >= 1 && somna_parse_double_str(t.header[0], &probe) == 0) {
        somna_table_free(&t);
        o.no_header = 1;
        if ((rc = somna_table_read(path, &o, &t, err)) != 0)
            return rc;
    }
    size_t col = 0;
    int unit = 0; /* 1 s, 1000 ms, 0 detect */
    if (o.no_header) {
        col = t.n_cols >= 2 ? 1 : 0; /* "time interval [ann]" as get_hrv -R reads */
    } else {
        long c = -1;
        for (size_t i = 0; i < sizeof names / sizeof names[0] && c < 0; i++)
            c = somna_table_col(&t, names[i]);
        if (c < 0) {
            char have[512] = "";
            size_t used = 0;
            for (size_t i = 0; i < t.n_cols && used + 4 < sizeof have; i++) {
                int w = snprintf(have + used, sizeof have - used, "%s%s", i ? ", " : "", t.header[i]);
                if (w < 0)
                    break;
                used += (size_t)w;
            }
            rc = somna_fail(err, SOMNA_E_FORMAT,
                            "%s: no RR/IBI column (looked for ibi_s, rr, ibi, nn, rri, interval, *_ms; have: %s)",
                            path, have);
            somna_table_free(&t);
            return rc;
        }
        col = (size_t)c;
        const char *h = t.header[col];
        if (strstr(h, "ms"))
            unit = 1000;
        else if (strstr(h, "_s") || strstr(h, "(s)"))
            unit = 1;
    }
    double *v = malloc((t.n_rows ? t.n_rows : 1) * sizeof *v);
    if (!v) {
        somna_table_free(&t);
        return somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory", path);
    }
    for (size_t r = 0; r < t.n_rows; r++) {
        if ((rc = somna_table_get_double(&t, r, col, &v[r], err)) != 0) {
            free(v);
            somna_table_free(&t);
            return rc;
        }
        if (!(v[r] > 0)) {
            rc = somna_fail(err, SOMNA_E_DATA, "%s:%zu: interval %g is not positive", path, t.line[r], v[r]);
            free(v);
            somna_table_free(&t);
            return rc;
        }
    }
    size_t m = t.n_rows;
    somna_table_free(&t);
    if (m == 0) {
        free(v);
        return somna_fail(err, SOMNA_E_DATA, "%s: no interval", path);
    }
    if (unit == 0) { /* median above 10: milliseconds (RR is 0.25-3 s) */
        double *c = malloc(m * sizeof *c);
        if (!c) {
            free(v);
            return somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory", path);
        }
        memcpy(c, v, m * sizeof *c);
        qsort(c, m, sizeof *c, cmp_dbl);
        unit = c[m / 2] > 10 ? 1000 : 1;
        free(c);
    }
    for (size_t i = 0; i < m; i++)
        v[i] /= unit;
    *rr = v;
    *n = m;
    return SOMNA_OK;
}

static void json_measures(somna_json *j, const somna_hrv_result *r)
{
    somna_json_kv_int(j, "n_nn", (int64_t)r->n_nn);
    somna_json_kv_int(j, "n_rr", (int64_t)r->n_rr);
    for (int i = 0; i < SOMNA_HRV_N_MEASURES; i++)
        somna_json_kv_number(j, somna_hrv_key(i), r->v[i]);
    int any = 0;
    for (int i = 0; i < SOMNA_HRV_N_MEASURES; i++)
        any |= !isfinite(r->v[i]) && r->why[i];
    if (any) {
        somna_json_key(j, "null_reasons");
        somna_json_object_begin(j);
        for (int i = 0; i < SOMNA_HRV_N_MEASURES; i++)
            if (!isfinite(r->v[i]) && r->why[i])
                somna_json_kv_string(j, somna_hrv_key(i), r->why[i]);
        somna_json_object_end(j);
    }
}

int cmd_hrv(int argc, char **argv)
{
    const char *cmd = "hrv";
    const char *ann = NULL, *channel = NULL, *hypno = NULL;
    double window = 0, step = 0, hyp_off = 0, tb_fs = 0, max_t = 0;
    int json = 0, filter = 0, welch = 0, toolbox = 0, fill_gaps = 0;
    static const struct option opts[] = {{"ann", required_argument, NULL, 'a'},
                                         {"channel", required_argument, NULL, 'c'},
                                         {"hypno", required_argument, NULL, 'H'},
                                         {"hypno-offset", required_argument, NULL, 'O'},
                                         {"window", required_argument, NULL, 'w'},
                                         {"step", required_argument, NULL, 'S'},
                                         {"filter", no_argument, NULL, 'f'},
                                         {"welch", no_argument, NULL, 'W'},
                                         {"toolbox", no_argument, NULL, 't'},
                                         {"toolbox-fs", required_argument, NULL, 'F'},
                                         {"max-t", required_argument, NULL, 'M'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"fill-gaps", no_argument, NULL, 'g'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'a': ann = optarg; break;
        case 'c': channel = optarg; break;
        case 'H': hypno = optarg; break;
        case 'O':
            if (cli_opt_double(cmd, "hypno-offset", optarg, &hyp_off))
                return CLI_EXIT_USAGE;
            break;
        case 'w':
            if (cli_opt_double(cmd, "window", optarg, &window))
                return CLI_EXIT_USAGE;
            break;
        case 'S':
            if (cli_opt_double(cmd, "step", optarg, &step))
                return CLI_EXIT_USAGE;
            break;
        case 'F':
            if (cli_opt_double(cmd, "toolbox-fs", optarg, &tb_fs))
                return CLI_EXIT_USAGE;
            break;
        case 'M':
            if (cli_opt_double(cmd, "max-t", optarg, &max_t))
                return CLI_EXIT_USAGE;
            break;
        case 'f': filter = 1; break;
        case 'W': welch = 1; break;
        case 't': toolbox = 1; break;
        case 'j': json = 1; break;
        case 'g': fill_gaps = 1; break;
        case 'h': usage(stdout); return CLI_EXIT_OK;
        default: return cli_bad_option(cmd);
        }
    }
    if (optind != argc - 1)
        return cli_usage_error(cmd, optind >= argc ? "missing FILE|RECORD|RR.tsv" : "exactly one input expected");
    if (window < 0 || step < 0 || (step > 0 && window == 0))
        return cli_usage_error(cmd, "--window must be positive (and --step needs --window)");
    if (fill_gaps && !hypno)
        return cli_usage_error(cmd, "--fill-gaps belongs to --hypno");
    if (window > 0 && hypno)
        return cli_usage_error(cmd, "--window and --hypno cannot be combined");
    if (toolbox && (!ann || strcmp(ann, "detect") == 0))
        return cli_usage_error(cmd, "--toolbox needs --ann ANNOTATOR (the Toolbox works on annotations)");
    if ((tb_fs != 0 || max_t != 0) && !toolbox)
        return cli_usage_error(cmd, "--toolbox-fs and --max-t belong to --toolbox");
    if (tb_fs < 0 || max_t < 0)
        return cli_usage_error(cmd, "--toolbox-fs and --max-t must be positive");
    if (step == 0)
        step = window;
    const char *path = argv[optind];

    somna_err err;
    cli_err_init(&err);
    somna_hrv_series s = {0};
    const char *source;
    int rc = CLI_EXIT_OK;
    somna_hypnogram hyp = {0};
    int have_hyp = 0;

    if (toolbox) {
        char base[1024];
        somna_strlcpy(base, path, sizeof base);
        size_t bl = strlen(base);
        if (bl > 4 && strcmp(base + bl - 4, ".hea") == 0)
            base[bl - 4] = '\0';
        somna_wfdb_record *hdr;
        if (somna_wfdb_open(base, &hdr, &err))
            return cli_fail(cmd, &err);
        double fs = tb_fs > 0 ? tb_fs : hdr->fs;
        somna_wfdb_close(hdr);
        somna_wfdb_annotation *a;
        size_t na;
        if (somna_wfdb_ann_read(base, ann, &a, &na, &err))
            return cli_fail(cmd, &err);
        int64_t *smp = malloc((na ? na : 1) * sizeof *smp);
        if (!smp) {
            somna_wfdb_ann_free(a, na);
            return cli_error(cmd, "out of memory");
        }
        for (size_t i = 0; i < na; i++)
            smp[i] = a[i].sample;
        somna_wfdb_ann_free(a, na);
        int r2 = somna_hrv_toolbox_series(smp, na, fs, max_t, &s, &err);
        free(smp);
        if (r2)
            return cli_fail(cmd, &err);
        source = "annotations (Toolbox preprocessing)";
    } else if (ann && strcmp(ann, "detect") != 0) {
        int64_t *smp;
        int *nrm;
        size_t nb;
        double fs;
        if (somna_rpeaks_load_beats(path, ann, &smp, &nrm, &nb, &fs, &err))
            return cli_fail(cmd, &err);
        double *t = malloc((nb ? nb : 1) * sizeof *t);
        if (!t) {
            free(smp), free(nrm);
            return cli_error(cmd, "out of memory");
        }
        for (size_t i = 0; i < nb; i++)
            t[i] = (double)smp[i] / fs;
        int r2 = somna_hrv_from_beats(t, nrm, nb, &s, &err);
        free(t), free(smp), free(nrm);
        if (r2)
            return cli_fail(cmd, &err);
        source = "annotations";
    } else if (ann || is_recording(path)) {
        double fs;
        int64_t ns;
        int64_t *pk;
        size_t np;
        if (somna_rpeaks_detect_file(path, channel, 0, NULL, &pk, &np, &fs, &ns, NULL, NULL, 0, &err))
            return cli_fail(cmd, &err);
        int r2;
        double *t = malloc((np ? np : 1) * sizeof *t);
        int *nrm = malloc((np ? np : 1) * sizeof *nrm);
        if (!t || !nrm) {
            free(t), free(nrm), free(pk);
            return cli_error(cmd, "out of memory");
        }
        for (size_t i = 0; i < np; i++)
            t[i] = (double)pk[i] / fs, nrm[i] = 1;
        r2 = somna_hrv_from_beats(t, nrm, np, &s, &err);
        free(t), free(nrm), free(pk);
        if (r2)
            return cli_fail(cmd, &err);
        source = "detected beats";
    } else {
        double *rr = NULL;
        size_t n = 0;
        if (read_rr_table(path, &rr, &n, &err))
            return cli_fail(cmd, &err);
        int r2 = somna_hrv_from_rr(rr, n, 0.0, &s, &err);
        free(rr);
        if (r2)
            return cli_fail(cmd, &err);
        source = "RR file";
    }
    size_t n_filtered = filter ? somna_hrv_filter(&s, 0.2, 20, 0.4, 2.0) : 0;

    somna_hrv_opts o;
    somna_hrv_default_opts(&o);
    o.psd = welch ? SOMNA_HRV_WELCH : SOMNA_HRV_LOMB;
    o.toolbox_compat = toolbox;

    if (hypno) {
        somna_hypno_read_opts ho = {0};
        ho.fill_gaps = fill_gaps;
        if (somna_hypno_read(hypno, &ho, &hyp, NULL, &err)) {
            rc = cli_fail(cmd, &err);
            goto done;
        }
        have_hyp = 1;
    }

    somna_json j;
    if (json) {
        somna_json_init(&j, stdout, 1);
        somna_json_object_begin(&j);
        somna_json_kv_string(&j, "input", path);
        somna_json_kv_string(&j, "source", source);
        somna_json_kv_string(&j, "psd", toolbox ? "lomb-toolbox" : welch ? "welch" : "lomb");
        somna_json_kv_bool(&j, "filter", filter);
        if (filter)
            somna_json_kv_int(&j, "n_filtered", (int64_t)n_filtered);
    }

    if (window > 0) {
        double tend = s.n ? s.ivl[s.n - 1].t : 0;
        if (json) {
            somna_json_kv_number(&j, "window_s", window);
            somna_json_kv_number(&j, "step_s", step);
            somna_json_key(&j, "windows");
            somna_json_array_begin(&j);
        } else {
            printf("start_s\tend_s\tn_nn");
            for (int i = 0; i < SOMNA_HRV_N_MEASURES; i++)
                printf("\t%s", somna_hrv_key(i));
            printf("\n");
        }
        /* windows start at 0 while a whole window fits, as the Toolbox does;
         * a record shorter than one window gives one (partial) window */
        for (double w0 = 0; w0 == 0 || w0 + window <= tend + step; w0 += step) {
            somna_hrv_series ws;
            somna_hrv_result r;
            if (somna_hrv_select_time(&s, w0, w0 + window, &ws, &err) ||
                somna_hrv_compute(&ws, &o, &r, &err)) {
                somna_hrv_series_free(&ws);
                rc = cli_fail(cmd, &err);
                goto done;
            }
            somna_hrv_series_free(&ws);
            if (json) {
                somna_json_object_begin(&j);
                somna_json_kv_number(&j, "start_s", w0);
                somna_json_kv_number(&j, "end_s", w0 + window);
                json_measures(&j, &r);
                somna_json_object_end(&j);
            } else {
                char b[48];
                printf("%g\t%g\t%zu", w0, w0 + window, r.n_nn);
                for (int i = 0; i < SOMNA_HRV_N_MEASURES; i++) {
                    cli_fmt_tsv(b, sizeof b, r.v[i]);
                    printf("\t%s", b);
                }
                printf("\n");
            }
            if (w0 + step > tend)
                break;
        }
        if (json) {
            somna_json_array_end(&j);
            somna_json_object_end(&j);
            somna_json_finish(&j);
        }
        goto done;
    }

    somna_hrv_result whole;
    if (somna_hrv_compute(&s, &o, &whole, &err)) {
        rc = cli_fail(cmd, &err);
        goto done;
    }
    static const int stages[5] = {SOMNA_STAGE_W, SOMNA_STAGE_N1, SOMNA_STAGE_N2, SOMNA_STAGE_N3, SOMNA_STAGE_REM};
    somna_hrv_result per[5];
    if (have_hyp) {
        for (int k = 0; k < 5; k++) {
            somna_hrv_series ss;
            if (somna_hrv_select_stage(&s, &hyp, hyp_off, stages[k], &ss, &err) ||
                somna_hrv_compute(&ss, &o, &per[k], &err)) {
                somna_hrv_series_free(&ss);
                rc = cli_fail(cmd, &err);
                goto done;
            }
            somna_hrv_series_free(&ss);
        }
    }
    if (json) {
        if (have_hyp) {
            somna_json_key(&j, "whole");
            somna_json_object_begin(&j);
            json_measures(&j, &whole);
            somna_json_object_end(&j);
            somna_json_key(&j, "stages");
            somna_json_object_begin(&j);
            for (int k = 0; k < 5; k++) {
                somna_json_key(&j, somna_hypno_stage_name(stages[k]));
                somna_json_object_begin(&j);
                json_measures(&j, &per[k]);
                somna_json_object_end(&j);
            }
            somna_json_object_end(&j);
        } else {
            json_measures(&j, &whole);
        }
        somna_json_object_end(&j);
        somna_json_finish(&j);
    } else {
        printf("# %s: %s, %zu NN of %zu intervals%s\n", path, source, whole.n_nn, whole.n_rr,
               filter ? " (after --filter)" : "");
        printf("%-8s %-5s %14s", "measure", "unit", have_hyp ? "all" : "value");
        if (have_hyp)
            for (int k = 0; k < 5; k++)
                printf(" %14s", somna_hypno_stage_name(stages[k]));
        printf("\n");
        for (int i = 0; i < SOMNA_HRV_N_MEASURES; i++) {
            char b[48];
            cli_fmt_short(b, sizeof b, whole.v[i], 6);
            printf("%-8s %-5s %14s", somna_hrv_key(i), somna_hrv_unit(i), b);
            if (have_hyp)
                for (int k = 0; k < 5; k++) {
                    cli_fmt_short(b, sizeof b, per[k].v[i], 6);
                    printf(" %14s", b);
                }
            if (!have_hyp && !isfinite(whole.v[i]) && whole.why[i])
                printf("  (%s)", whole.why[i]);
            printf("\n");
        }
    }
done:
    somna_hrv_series_free(&s);
    if (have_hyp)
        somna_hypno_free(&hyp);
    return rc;
}
