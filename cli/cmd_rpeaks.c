/* somna rpeaks — R-peak detection in one ECG lead, with optional
 * beat-by-beat evaluation against reference annotations (AAMI EC57 / bxb). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "somna/fileio.h"
#include "somna/json.h"
#include "somna/parse.h"
#include "somna/rpeaks.h"
#include "somna/wfdb.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: somna rpeaks FILE|RECORD [--channel LABEL|INDEX] [-o peaks.tsv]\n"
            "                    [--wfdb-out NAME] [--ref ANNOTATOR [--from S] [--to S]]\n"
            "                    [--json] [--fs HZ] [--test ANNOTATOR]\n"
            "\n"
            "Find every heartbeat (R peak) in one ECG lead.  The detector works from\n"
            "100 Hz to 2 kHz, on inverted leads (the polarity is detected), through\n"
            "baseline wander, noise bursts and flat-line stretches; see docs/hrv.md.\n"
            "\n"
            "  FILE|RECORD      WFDB record (data/mitdb/100), EDF/BDF, or a text signal\n"
            "                   file (then --fs is needed)\n"
            "  --channel C      signal label or 0-based number (default: first ECG-like label,\n"
            "                   else signal 0)\n"
            "  -o FILE          write one line per beat: sample index and time in seconds\n"
            "                   (TSV with a header; '-' = standard output)\n"
            "  --wfdb-out NAME  write the beats as a WFDB annotation file RECORD.NAME\n"
            "                   (type N), readable by rdann, bxb, ann2rr\n"
            "  --ref ANN        compare with the reference annotator ANN of a WFDB record,\n"
            "                   beat by beat as AAMI EC57 / WFDB bxb: match window 150 ms,\n"
            "                   only beat annotations count; prints TP, FN, FP, Se, +P and\n"
            "                   the timing error (detection - reference) mean and SD in ms\n"
            "  --from S         start the comparison at S seconds (EC57 convention: 300)\n"
            "  --to S           end the comparison at S seconds (default: end of record)\n"
            "  --json           summary (and evaluation) as one JSON object\n"
            "  --fs HZ          sampling rate of a text signal file\n"
            "  --test ANN       do not detect: take the beats of annotator ANN (e.g. the\n"
            "                   output of gqrs or wqrs) and evaluate them with --ref\n"
            "  -h, --help       this help\n"
            "\n"
            "Examples:\n"
            "  somna rpeaks ../shared/data/mitdb/100 --ref atr\n"
            "  somna rpeaks night.edf --channel ECG -o beats.tsv\n"
            "\n"
            "Exit status: 0 success, 1 usage error, 2 unreadable input or failure.\n");
}

/* "rec/100" or "rec/100.hea" -> "rec/100" */
static void record_base(const char *path, char *out, size_t size)
{
    somna_strlcpy(out, path, size);
    size_t n = strlen(out);
    if (n > 4 && strcmp(out + n - 4, ".hea") == 0)
        out[n - 4] = '\0';
}

int cmd_rpeaks(int argc, char **argv)
{
    const char *cmd = "rpeaks";
    const char *channel = NULL, *outpath = NULL, *wfdb_out = NULL, *ref = NULL, *test = NULL;
    double from_s = 0, to_s = 0, text_fs = 0;
    int json = 0;
    static const struct option opts[] = {{"channel", required_argument, NULL, 'c'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"wfdb-out", required_argument, NULL, 'W'},
                                         {"ref", required_argument, NULL, 'r'},
                                         {"from", required_argument, NULL, 'F'},
                                         {"to", required_argument, NULL, 'T'},
                                         {"fs", required_argument, NULL, 's'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"test", required_argument, NULL, 't'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "c:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': channel = optarg; break;
        case 'o': outpath = optarg; break;
        case 'W': wfdb_out = optarg; break;
        case 'r': ref = optarg; break;
        case 'F':
            if (cli_opt_double(cmd, "from", optarg, &from_s))
                return CLI_EXIT_USAGE;
            break;
        case 'T':
            if (cli_opt_double(cmd, "to", optarg, &to_s))
                return CLI_EXIT_USAGE;
            break;
        case 's':
            if (cli_opt_double(cmd, "fs", optarg, &text_fs))
                return CLI_EXIT_USAGE;
            break;
        case 'j': json = 1; break;
        case 't': test = optarg; break;
        case 'h': usage(stdout); return CLI_EXIT_OK;
        default: return cli_bad_option(cmd);
        }
    }
    if (optind != argc - 1)
        return cli_usage_error(cmd, optind >= argc ? "missing FILE|RECORD" : "exactly one FILE|RECORD expected");
    if (from_s < 0 || to_s < 0 || (to_s > 0 && to_s <= from_s))
        return cli_usage_error(cmd, "--from/--to must satisfy 0 <= from < to");
    if (wfdb_out && (!*wfdb_out || strchr(wfdb_out, '/') || strchr(wfdb_out, '.')))
        return cli_usage_error(cmd, "--wfdb-out NAME: an annotator name without '/' or '.'");
    const char *path = argv[optind];

    somna_err err;
    cli_err_init(&err);
    double fs = 0;
    size_t n = 0;
    char label[128] = "";
    int64_t *pk = NULL;
    size_t np = 0;
    int polarity = 1;
    if (test) {
        char base[1024];
        record_base(path, base, sizeof base);
        int *tn = NULL;
        if (somna_rpeaks_load_beats(base, test, &pk, &tn, &np, &fs, &err))
            return cli_fail(cmd, &err);
        free(tn);
        somna_wfdb_record *hdr;
        if (somna_wfdb_open(base, &hdr, &err)) {
            free(pk);
            return cli_fail(cmd, &err);
        }
        n = hdr->n_samples > 0 ? (size_t)hdr->n_samples : 0;
        somna_wfdb_close(hdr);
        snprintf(label, sizeof label, "annotator %s", test);
    } else {
        somna_rpeaks_params par;
        somna_rpeaks_default_params(&par);
        int64_t ns = 0;
        if (somna_rpeaks_detect_file(path, channel, text_fs, &par, &pk, &np, &fs, &ns, &polarity, label,
                                     sizeof label, &err))
            return cli_fail(cmd, &err);
        n = (size_t)ns;
    }

    int rc = CLI_EXIT_OK;
    somna_rpeaks_eval ev;
    int have_eval = 0;
    int64_t *refs = NULL;
    int *nrm = NULL;
    size_t nref = 0;
    if (ref) {
        char base[1024];
        record_base(path, base, sizeof base);
        double rfs;
        if (somna_rpeaks_load_beats(base, ref, &refs, &nrm, &nref, &rfs, &err)) {
            rc = cli_fail(cmd, &err);
            goto done;
        }
        if (fabs(rfs - fs) > 1e-6 * fs) {
            rc = cli_error(cmd, "%s.%s: annotations at %g Hz but signal '%s' at %g Hz", base, ref, rfs, label, fs);
            goto done;
        }
        int64_t from = (int64_t)llround(from_s * fs), to = to_s > 0 ? (int64_t)llround(to_s * fs) : 0;
        if (somna_rpeaks_evaluate(refs, nref, pk, np, fs, from, to, 0.150, &ev, &err)) {
            rc = cli_fail(cmd, &err);
            goto done;
        }
        have_eval = 1;
    }

    if (outpath) {
        somna_outfile of;
        if (somna_outfile_open(&of, outpath, &err)) {
            rc = cli_fail(cmd, &err);
            goto done;
        }
        fprintf(of.fp, "sample\ttime_s\n");
        for (size_t i = 0; i < np; i++)
            fprintf(of.fp, "%lld\t%.6f\n", (long long)pk[i], (double)pk[i] / fs);
        if (somna_outfile_commit(&of, &err)) {
            rc = cli_fail(cmd, &err);
            goto done;
        }
    }
    if (wfdb_out) {
        char base[1024], apath[1100];
        record_base(path, base, sizeof base);
        snprintf(apath, sizeof apath, "%s.%s", base, wfdb_out);
        somna_wfdb_annotation *a = calloc(np ? np : 1, sizeof *a);
        if (!a) {
            rc = cli_error(cmd, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < np; i++) {
            a[i].sample = pk[i];
            a[i].type = 1; /* NORMAL: the detector does not classify beats */
        }
        int wrc = somna_wfdb_ann_write_file(apath, a, np, &err);
        free(a);
        if (wrc) {
            rc = cli_fail(cmd, &err);
            goto done;
        }
    }

    double dur = (double)n / fs;
    double hr = np > 1 ? 60.0 * (double)(np - 1) / ((double)(pk[np - 1] - pk[0]) / fs) : NAN;
    if (json) {
        somna_json j;
        somna_json_init(&j, stdout, 1);
        somna_json_object_begin(&j);
        somna_json_kv_string(&j, "input", path);
        somna_json_kv_string(&j, "channel", label);
        somna_json_kv_number(&j, "fs", fs);
        somna_json_kv_number(&j, "duration_s", dur);
        somna_json_kv_int(&j, "n_beats", (int64_t)np);
        somna_json_kv_int(&j, "polarity", polarity);
        somna_json_kv_number(&j, "mean_hr_bpm", hr);
        if (have_eval) {
            somna_json_key(&j, "evaluation");
            somna_json_object_begin(&j);
            somna_json_kv_string(&j, "reference", ref);
            somna_json_kv_number(&j, "from_s", from_s);
            if (to_s > 0)
                somna_json_kv_number(&j, "to_s", to_s);
            else
                somna_json_kv_null(&j, "to_s");
            somna_json_kv_number(&j, "window_s", 0.150);
            somna_json_kv_int(&j, "TP", (int64_t)ev.tp);
            somna_json_kv_int(&j, "FN", (int64_t)ev.fn);
            somna_json_kv_int(&j, "FP", (int64_t)ev.fp);
            somna_json_kv_number(&j, "Se", ev.se * 100);
            somna_json_kv_number(&j, "PPV", ev.ppv * 100);
            somna_json_kv_number(&j, "error_mean_ms", ev.err_mean_ms);
            somna_json_kv_number(&j, "error_sd_ms", ev.err_sd_ms);
            somna_json_object_end(&j);
        }
        somna_json_object_end(&j);
        somna_json_finish(&j);
    } else if (!outpath || strcmp(outpath, "-") != 0) {
        printf("input      %s\nchannel    %s (%g Hz, %.1f s)\nbeats      %zu (polarity %s, mean HR %.1f bpm)\n",
               path, label, fs, dur, np, polarity > 0 ? "+" : "-", hr);
        if (have_eval)
            printf("reference  %s from %.0f s%s: TP %zu  FN %zu  FP %zu  Se %.2f %%  +P %.2f %%  "
                   "error %.1f ± %.1f ms\n",
                   ref, from_s, to_s > 0 ? " (to --to)" : "", ev.tp, ev.fn, ev.fp, ev.se * 100, ev.ppv * 100,
                   ev.err_mean_ms, ev.err_sd_ms);
    }
done:
    free(pk);
    free(refs);
    free(nrm);
    return rc;
}
