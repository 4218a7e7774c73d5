/* somna hypno — read a hypnogram in any supported format, print its sleep
 * statistics (text or --json), draw it (--plot), or compare two scorings
 * epoch by epoch (--compare). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "somna/hypno.h"
#include "somna/json.h"
#include "somna/parse.h"
#include "somna/plot.h"

static const char *const CMD = "hypno";

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: somna hypno FILE [options]\n"
            "       somna hypno FILE FILE... [options]   one row per night (TSV, or a JSON array)\n"
            "       somna hypno --compare A B [options]\n"
            "\n"
            "Sleep statistics of one hypnogram (AASM definitions; see docs/sleep-statistics.md).\n"
            "Formats are detected from the content; --format forces one:\n"
            "  edf        EDF+ annotations 'Sleep stage W/1/2/3/4/R/?', 'Movement time' (Sleep-EDF)\n"
            "  table      CSV/TSV with a 'stage' column (one row per epoch) or onset,duration,stage\n"
            "  eannot     Luna .eannot, one label per epoch (W N1 N2 N3 R ? L)\n"
            "  text       one stage per line: W/N1/N2/N3/R, R&K W/1/2/3/4/R/?/MT, or YASA integers\n"
            "             (0 W, 1 N1, 2 N2, 3 N3, 4 REM, -1 artefact, -2 unscored) when all numeric\n"
            "  noxturnal  Noxturnal event export (UTF-16, French or English labels)\n"
            "  dreams     DREAMS '[Hypnogram]' 5-s epochs (5 W, 4 REM, 3 S1, 2 S2, 1 S3, 0 S4)\n"
            "  walch      Walch et al. psg_labels.out (0 W, 1-4 N1-N4, 5 REM)\n"
            "R&K S3 and S4 are N3.  Artefact/movement and unscored epochs are neither sleep nor wake.\n"
            "\n"
            "Options:\n"
            "  --lights-off T   start of the window: seconds from the first epoch, or clock time\n"
            "                   HH:MM[:SS] (needs a file with a start time); default: first epoch\n"
            "  --lights-on T    end of the window (same forms); default: end of the last epoch\n"
            "  --epoch S        epoch length in seconds: the epoch of files that do not store it\n"
            "                   (default 30), the epoch interval files are cut into, or the epoch\n"
            "                   5-s DREAMS files are aggregated to by majority (tie: earliest stage)\n"
            "  --format F       force the input format (see above)\n"
            "  --fill-gaps      interval files: score stretches no stage covers as unscored\n"
            "                   (default: refuse them, since they would shift epochs)\n"
            "  --plot OUT       draw the hypnogram to OUT.svg or OUT.png\n"
            "  --title TEXT     title of the plot (default: the file name)\n"
            "  --compare A B    epoch-by-epoch agreement of B against A (reference): accuracy,\n"
            "                   Cohen's kappa, per-stage precision/recall/F1, confusion matrix;\n"
            "                   both must have the same epochs unless --common is given\n"
            "  --common         with --compare: use only the epochs both files cover (aligned by\n"
            "                   their start times when both have one, else from the first epoch)\n"
            "  --json           machine-readable output (minutes; SE, SME and *_pct in %%)\n"
            "  -h, --help       this text\n"
            "\n"
            "Examples:\n"
            "  somna hypno SC4001EC-Hypnogram.edf --lights-off 22:30 --json\n"
            "  somna hypno night.csv --plot night.png\n"
            "  somna hypno --compare scorer1.txt scorer2.txt\n");
}

/* "SEC" or "HH:MM[:SS]" -> seconds from the first epoch. */
static int parse_time_opt(const char *opt, const char *val, const somna_hypnogram *h, double *out)
{
    if (strchr(val, ':')) {
        double clock;
        if (somna_parse_clock(val, &clock)) {
            cli_usage_error(CMD, "%s '%s' is not a clock time HH:MM[:SS]", opt, val);
            return -1;
        }
        if (h->start_clock_s < 0) {
            cli_error(CMD, "%s %s: this hypnogram has no start time; give %s in seconds from its start", opt, val,
                      opt);
            return -2;
        }
        double d = clock - h->start_clock_s;
        if (d < 0)
            d += 86400.0; /* the night crosses midnight */
        double len = (double)h->n_epochs * h->epoch_s;
        if (d > len + 1e-6) {
            long a = lround(h->start_clock_s) % 86400, b = lround(h->start_clock_s + len) % 86400;
            cli_error(CMD, "%s %s is outside the hypnogram (%02ld:%02ld:%02ld to %02ld:%02ld:%02ld)", opt, val,
                      a / 3600, (a / 60) % 60, a % 60, b / 3600, (b / 60) % 60, b % 60);
            return -2;
        }
        *out = d;
        return 0;
    }
    if (somna_parse_double_str(val, out) || *out < 0) {
        cli_usage_error(CMD, "%s '%s' is neither seconds >= 0 nor HH:MM[:SS]", opt, val);
        return -1;
    }
    return 0;
}

static void print_num(FILE *f, const char *key, double v, const char *unit, const char *why)
{
    if (isnan(v)) {
        fprintf(f, "%-24s null (%s)\n", key, why ? why : "not computable");
        return;
    }
    char buf[40];
    somna_format_double(buf, sizeof buf, round(v * 1e6) / 1e6);
    fprintf(f, "%-24s %s%s%s\n", key, buf, unit[0] ? " " : "", unit);
}

static const char *const k_stage_keys[SOMNA_HYPNO_NSTAGES] = {"W", "N1", "N2", "N3", "REM"};

static void json_matrix(somna_json *j, const char *key, long m[SOMNA_HYPNO_NSTAGES][SOMNA_HYPNO_NSTAGES])
{
    somna_json_key(j, key);
    somna_json_object_begin(j);
    for (int a = 0; a < SOMNA_HYPNO_NSTAGES; a++) {
        somna_json_key(j, k_stage_keys[a]);
        somna_json_object_begin(j);
        for (int b = 0; b < SOMNA_HYPNO_NSTAGES; b++)
            somna_json_kv_int(j, k_stage_keys[b], m[a][b]);
        somna_json_object_end(j);
    }
    somna_json_object_end(j);
}

static void print_matrix(FILE *f, const char *title, long m[SOMNA_HYPNO_NSTAGES][SOMNA_HYPNO_NSTAGES])
{
    fprintf(f, "%s\n%-8s", title, "");
    for (int b = 0; b < SOMNA_HYPNO_NSTAGES; b++)
        fprintf(f, "%8s", k_stage_keys[b]);
    fputc('\n', f);
    for (int a = 0; a < SOMNA_HYPNO_NSTAGES; a++) {
        fprintf(f, "%-8s", k_stage_keys[a]);
        for (int b = 0; b < SOMNA_HYPNO_NSTAGES; b++)
            fprintf(f, "%8ld", m[a][b]);
        fputc('\n', f);
    }
}

typedef struct stat_row {
    const char *key;
    double v;
    const char *unit;
} stat_row;

#define N_STAT_ROWS 27

static void fill_rows(const somna_hypno_stats *st, stat_row rows[N_STAT_ROWS])
{
    const stat_row r[N_STAT_ROWS] = {
        {"TIB", st->TIB, "min"},
        {"SPT", st->SPT, "min"},
        {"TST", st->TST, "min"},
        {"WASO", st->WASO, "min"},
        {"SOL", st->SOL, "min"},
        {"SOL_persistent_5", st->SOL_persistent_5, "min"},
        {"SOL_persistent_10", st->SOL_persistent_10, "min"},
        {"Lat_N1", st->Lat_N1, "min"},
        {"Lat_N2", st->Lat_N2, "min"},
        {"Lat_N3", st->Lat_N3, "min"},
        {"Lat_REM", st->Lat_REM, "min"},
        {"REM_latency_from_onset", st->REM_latency_from_onset, "min"},
        {"SE", st->SE, "%"},
        {"SME", st->SME, "%"},
        {"N1", st->N1, "min"},
        {"N2", st->N2, "min"},
        {"N3", st->N3, "min"},
        {"REM", st->REM, "min"},
        {"W_in_SPT", st->W_in_SPT, "min"},
        {"N1_pct", st->N1_pct, "% of TST"},
        {"N2_pct", st->N2_pct, "% of TST"},
        {"N3_pct", st->N3_pct, "% of TST"},
        {"REM_pct", st->REM_pct, "% of TST"},
        {"awakenings", st->awakenings, ""},
        {"awakenings_2min", st->awakenings_2min, ""},
        {"SFI", st->SFI, "per h of TST"},
        {"stage_shifts", st->stage_shifts, ""},
    };
    memcpy(rows, r, sizeof r);
}

static int is_count_key(const char *k)
{
    return strcmp(k, "awakenings") == 0 || strcmp(k, "awakenings_2min") == 0 || strcmp(k, "stage_shifts") == 0;
}

/* The statistics object: exactly the keys listed in issue 4 (and the docs). */
static void json_stats_body(somna_json *j, const somna_hypno_stats *st)
{
    stat_row rows[N_STAT_ROWS];
    fill_rows(st, rows);
    for (size_t i = 0; i < N_STAT_ROWS; i++) {
        if (is_count_key(rows[i].key) && !isnan(rows[i].v))
            somna_json_kv_int(j, rows[i].key, (int64_t)rows[i].v);
        else
            somna_json_kv_number(j, rows[i].key, rows[i].v);
    }
    long tm[SOMNA_HYPNO_NSTAGES][SOMNA_HYPNO_NSTAGES];
    memcpy(tm, st->transition_matrix, sizeof tm);
    json_matrix(j, "transition_matrix", tm);
    somna_json_kv_number(j, "unscored_min", st->unscored_min);
    somna_json_kv_number(j, "epoch_s", st->epoch_s);
    somna_json_kv_int(j, "n_epochs", (int64_t)st->n_epochs);
}

static int output_stats(const somna_hypno_stats *st, int json, const char *path, const somna_hypnogram *h,
                        somna_hypno_format fmt)
{
    stat_row rows[N_STAT_ROWS];
    fill_rows(st, rows);
    if (json) {
        somna_json j;
        somna_json_init(&j, stdout, 1);
        somna_json_object_begin(&j);
        json_stats_body(&j, st);
        somna_json_object_end(&j);
        somna_json_finish(&j);
        for (size_t i = 0; i < N_STAT_ROWS; i++) {
            const char *why = somna_hypno_null_reason(st, rows[i].key);
            if (why)
                fprintf(stderr, "somna hypno: %s is null: %s\n", rows[i].key, why);
        }
    } else {
        char clock[32] = "unknown";
        if (h->start_clock_s >= 0) {
            long s = lround(h->start_clock_s + (double)st->first_epoch * h->epoch_s) % 86400;
            snprintf(clock, sizeof clock, "%02ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
        }
        printf("%-24s %s\n", "file", path);
        printf("%-24s %s\n", "format", somna_hypno_format_name(fmt));
        printf("%-24s %s\n", "window start (clock)", clock);
        for (size_t i = 0; i < N_STAT_ROWS; i++)
            print_num(stdout, rows[i].key, rows[i].v, rows[i].unit, somna_hypno_null_reason(st, rows[i].key));
        print_num(stdout, "unscored_min", st->unscored_min, "min (artefact + unscored)", NULL);
        print_num(stdout, "epoch_s", st->epoch_s, "s", NULL);
        printf("%-24s %zu\n", "n_epochs", st->n_epochs);
        long tm[SOMNA_HYPNO_NSTAGES][SOMNA_HYPNO_NSTAGES];
        memcpy(tm, st->transition_matrix, sizeof tm);
        print_matrix(stdout, "transition_matrix (rows: from, columns: to)", tm);
    }
    if (fflush(stdout) != 0 || ferror(stdout))
        return cli_error(CMD, "cannot write to standard output");
    return CLI_EXIT_OK;
}

/* Several files: one row per night (TSV, NA for null) or a JSON array of
 * {"file", statistics...}.  Everything is computed before anything is
 * printed, so a bad file leaves no partial table. */
static int output_cohort(char **paths, const somna_hypno_stats *st, size_t n, int json)
{
    if (json) {
        somna_json j;
        somna_json_init(&j, stdout, 1);
        somna_json_array_begin(&j);
        for (size_t f = 0; f < n; f++) {
            somna_json_object_begin(&j);
            somna_json_kv_string(&j, "file", paths[f]);
            json_stats_body(&j, &st[f]);
            somna_json_object_end(&j);
        }
        somna_json_array_end(&j);
        somna_json_finish(&j);
    } else {
        stat_row rows[N_STAT_ROWS];
        fill_rows(&st[0], rows);
        fputs("file", stdout);
        for (size_t i = 0; i < N_STAT_ROWS; i++)
            printf("\t%s", rows[i].key);
        fputs("\tunscored_min\tepoch_s\tn_epochs\n", stdout);
        char buf[40];
        for (size_t f = 0; f < n; f++) {
            fill_rows(&st[f], rows);
            fputs(paths[f], stdout);
            for (size_t i = 0; i < N_STAT_ROWS; i++) {
                if (isnan(rows[i].v)) {
                    fputs("\tNA", stdout);
                    continue;
                }
                somna_format_double(buf, sizeof buf, rows[i].v);
                printf("\t%s", buf);
            }
            somna_format_double(buf, sizeof buf, st[f].unscored_min);
            printf("\t%s", buf);
            somna_format_double(buf, sizeof buf, st[f].epoch_s);
            printf("\t%s\t%zu\n", buf, st[f].n_epochs);
        }
    }
    if (fflush(stdout) != 0 || ferror(stdout))
        return cli_error(CMD, "cannot write to standard output");
    return CLI_EXIT_OK;
}

static int output_compare(const somna_hypno_agreement *ag, int json)
{
    long cm[SOMNA_HYPNO_NSTAGES][SOMNA_HYPNO_NSTAGES];
    memcpy(cm, ag->confusion, sizeof cm);
    if (json) {
        somna_json j;
        somna_json_init(&j, stdout, 1);
        somna_json_object_begin(&j);
        somna_json_kv_int(&j, "n_epochs", (int64_t)ag->n_epochs);
        somna_json_kv_int(&j, "n_excluded", (int64_t)ag->n_excluded);
        somna_json_kv_number(&j, "accuracy", ag->accuracy);
        somna_json_kv_number(&j, "kappa", ag->kappa);
        somna_json_kv_number(&j, "macro_f1", ag->macro_f1);
        somna_json_key(&j, "per_stage");
        somna_json_object_begin(&j);
        for (int k = 0; k < SOMNA_HYPNO_NSTAGES; k++) {
            somna_json_key(&j, k_stage_keys[k]);
            somna_json_object_begin(&j);
            somna_json_kv_number(&j, "precision", ag->precision[k]);
            somna_json_kv_number(&j, "recall", ag->recall[k]);
            somna_json_kv_number(&j, "f1", ag->f1[k]);
            somna_json_object_end(&j);
        }
        somna_json_object_end(&j);
        json_matrix(&j, "confusion_matrix", cm);
        somna_json_object_end(&j);
        somna_json_finish(&j);
    } else {
        printf("%-12s %zu (excluded: %zu artefact/unscored in either)\n", "epochs", ag->n_epochs, ag->n_excluded);
        print_num(stdout, "accuracy", ag->accuracy * 100.0, "%", NULL);
        print_num(stdout, "kappa", ag->kappa, "", "chance agreement is 1");
        print_num(stdout, "macro_F1", ag->macro_f1, "", NULL);
        printf("%-8s %10s %10s %10s\n", "stage", "precision", "recall", "F1");
        for (int k = 0; k < SOMNA_HYPNO_NSTAGES; k++) {
            double v[3] = {ag->precision[k], ag->recall[k], ag->f1[k]};
            printf("%-8s", k_stage_keys[k]);
            for (int q = 0; q < 3; q++) {
                if (isnan(v[q]))
                    printf(" %10s", "null");
                else
                    printf(" %10.4f", v[q]);
            }
            putchar('\n');
        }
        print_matrix(stdout, "confusion_matrix (rows: A = reference, columns: B)", cm);
    }
    if (fflush(stdout) != 0 || ferror(stdout))
        return cli_error(CMD, "cannot write to standard output");
    return CLI_EXIT_OK;
}

int cmd_hypno(int argc, char **argv)
{
    enum { OPT_OFF = 256, OPT_ON, OPT_EPOCH, OPT_FORMAT, OPT_PLOT, OPT_COMPARE, OPT_JSON, OPT_TITLE, OPT_GAPS, OPT_COMMON };
    static const struct option longopts[] = {
        {"lights-off", required_argument, NULL, OPT_OFF},
        {"lights-on", required_argument, NULL, OPT_ON},
        {"epoch", required_argument, NULL, OPT_EPOCH},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"plot", required_argument, NULL, OPT_PLOT},
        {"title", required_argument, NULL, OPT_TITLE},
        {"compare", no_argument, NULL, OPT_COMPARE},
        {"fill-gaps", no_argument, NULL, OPT_GAPS},
        {"common", no_argument, NULL, OPT_COMMON},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *off = NULL, *on = NULL, *plot = NULL, *title = NULL;
    int json = 0, compare = 0, common = 0;
    somna_hypno_read_opts ro = {0};
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        case OPT_OFF: off = optarg; break;
        case OPT_ON: on = optarg; break;
        case OPT_PLOT: plot = optarg; break;
        case OPT_TITLE: title = optarg; break;
        case OPT_COMPARE: compare = 1; break;
        case OPT_COMMON: common = 1; break;
        case OPT_GAPS: ro.fill_gaps = 1; break;
        case OPT_JSON: json = 1; break;
        case OPT_EPOCH:
            if (cli_opt_double(CMD, "--epoch", optarg, &ro.epoch_s))
                return CLI_EXIT_USAGE;
            if (!(ro.epoch_s > 0) || ro.epoch_s > 3600)
                return cli_usage_error(CMD, "--epoch must be in (0, 3600] seconds");
            break;
        case OPT_FORMAT:
            if (somna_hypno_format_parse(optarg, &ro.format))
                return cli_usage_error(CMD,
                                       "unknown --format '%s' (edf, table, eannot, text, noxturnal, dreams, walch)",
                                       optarg);
            break;
        default:
            return cli_bad_option(CMD);
        }
    }
    int nfiles = argc - optind;
    if (compare) {
        if (nfiles != 2)
            return cli_usage_error(CMD, "--compare needs exactly two hypnogram files");
        if (off || on || plot)
            return cli_usage_error(CMD, "--compare does not take --lights-off, --lights-on or --plot");
    } else if (common) {
        return cli_usage_error(CMD, "--common goes with --compare");
    } else if (nfiles == 0) {
        return cli_usage_error(CMD, "no hypnogram file given");
    } else if (nfiles > 1 && plot) {
        return cli_usage_error(CMD, "--plot draws one hypnogram: give one file");
    }

    somna_err err;
    cli_err_init(&err);
    if (compare) {
        somna_hypnogram a, b;
        if (somna_hypno_read(argv[optind], &ro, &a, NULL, &err))
            return cli_fail(CMD, &err);
        if (somna_hypno_read(argv[optind + 1], &ro, &b, NULL, &err)) {
            somna_hypno_free(&a);
            return cli_fail(CMD, &err);
        }
        somna_hypno_agreement ag;
        somna_hypnogram va = a, vb = b; /* views: the arrays stay owned by a and b */
        if (common) {
            size_t oa = 0, ob = 0;
            if (a.start_clock_s >= 0 && b.start_clock_s >= 0 && a.epoch_s == b.epoch_s) {
                double d = fmod(b.start_clock_s - a.start_clock_s + 86400.0 + 43200.0, 86400.0) - 43200.0;
                double k = round(d / a.epoch_s);
                if (fabs(k * a.epoch_s - d) > 1e-3) {
                    somna_hypno_free(&a);
                    somna_hypno_free(&b);
                    return cli_error(CMD, "--common: the files start %g s apart, not a whole number of %g-s epochs",
                                     d, a.epoch_s);
                }
                if (k > 0)
                    oa = (size_t)k;
                else
                    ob = (size_t)-k;
            }
            if (oa >= a.n_epochs || ob >= b.n_epochs) {
                somna_hypno_free(&a);
                somna_hypno_free(&b);
                return cli_error(CMD, "--common: the two hypnograms do not overlap in time");
            }
            va.stages += oa;
            vb.stages += ob;
            va.n_epochs = vb.n_epochs = a.n_epochs - oa < b.n_epochs - ob ? a.n_epochs - oa : b.n_epochs - ob;
            fprintf(stderr, "somna hypno: comparing %zu common epochs (A from epoch %zu, B from epoch %zu)\n",
                    va.n_epochs, oa + 1, ob + 1);
        }
        int rc = somna_hypno_compare(&va, &vb, &ag, &err);
        somna_hypno_free(&a);
        somna_hypno_free(&b);
        if (rc)
            return cli_fail(CMD, &err);
        return output_compare(&ag, json);
    }

    if (nfiles > 1) {
        somna_hypno_stats *all = calloc((size_t)nfiles, sizeof *all);
        if (!all)
            return cli_error(CMD, "out of memory");
        for (int f = 0; f < nfiles; f++) {
            somna_hypnogram hh;
            if (somna_hypno_read(argv[optind + f], &ro, &hh, NULL, &err)) {
                free(all);
                return cli_fail(CMD, &err);
            }
            somna_hypno_window ww = {-1.0, -1.0};
            int q = 0;
            if (off)
                q = parse_time_opt("--lights-off", off, &hh, &ww.lights_off_s);
            if (!q && on)
                q = parse_time_opt("--lights-on", on, &hh, &ww.lights_on_s);
            if (q) {
                fprintf(stderr, "somna hypno: (in %s)\n", argv[optind + f]);
                somna_hypno_free(&hh);
                free(all);
                return q == -1 ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
            }
            int rc = somna_hypno_stats_compute(&hh, &ww, &all[f], &err);
            somna_hypno_free(&hh);
            if (rc) {
                somna_err_prefix(&err, "%s", argv[optind + f]);
                free(all);
                return cli_fail(CMD, &err);
            }
        }
        int rc = output_cohort(argv + optind, all, (size_t)nfiles, json);
        free(all);
        return rc;
    }

    const char *path = argv[optind];
    somna_hypnogram h;
    somna_hypno_format fmt = SOMNA_HYPNO_FMT_AUTO;
    if (somna_hypno_read(path, &ro, &h, &fmt, &err))
        return cli_fail(CMD, &err);
    somna_hypno_window win = {-1.0, -1.0};
    int prc = 0;
    if (off && (prc = parse_time_opt("--lights-off", off, &h, &win.lights_off_s)) != 0) {
        somna_hypno_free(&h);
        return prc == -1 ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
    }
    if (on && (prc = parse_time_opt("--lights-on", on, &h, &win.lights_on_s)) != 0) {
        somna_hypno_free(&h);
        return prc == -1 ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
    }
    somna_hypno_stats st;
    if (somna_hypno_stats_compute(&h, &win, &st, &err)) {
        somna_hypno_free(&h);
        return cli_fail(CMD, &err);
    }
    if (plot) {
        somna_plot_canvas *cv = NULL;
        const char *base = strrchr(path, '/');
        somna_plot_hypno_opts po = {title ? title : (base ? base + 1 : path), off ? win.lights_off_s : -1.0,
                                    on ? win.lights_on_s : -1.0};
        int rc = somna_plot_canvas_create(1000, 320, &cv, &err);
        if (!rc)
            rc = somna_plot_hypnogram(cv, &h, &po, &err);
        if (!rc)
            rc = somna_plot_save(cv, plot, &err);
        somna_plot_canvas_destroy(cv);
        somna_plot_release_caches();
        if (rc) {
            somna_hypno_free(&h);
            return cli_fail(CMD, &err);
        }
    }
    int rc = output_stats(&st, json, path, &h, fmt);
    somna_hypno_free(&h);
    return rc;
}
