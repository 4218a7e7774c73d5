/* somna report — the results report of a study database (HTML or Markdown).
 * Thin over src/report. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "somna/fileio.h"
#include "somna/report.h"
#include "somna/study.h"

static const char *const CMD = "report";

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: somna report --db DB -o report.html [--format html|md] [--study NAME]\n"
            "                    [--subset drifted_off=1] [--hypnograms N]\n"
            "\n"
            "Write the results report of a study: a single self-contained HTML file\n"
            "(inline SVG figures, no scripts, nothing loaded from the network) that opens\n"
            "in any browser, or a Markdown table (--format md).\n"
            "\n"
            "Contents: study summary and conditions; CONSORT-style participant flow\n"
            "(screened, excluded with reasons, eligible, randomized per arm, analysed); the\n"
            "results table (measure x condition: mean +/- SD, change vs the reference with\n"
            "95%% CI, %% change, p, effect size with CI, mixed-model p, Holm-adjusted p);\n"
            "per-outcome figures (every participant, paired lines in crossover designs,\n"
            "condition means with 95%% CIs); HRV and EMG panels; a forest plot of\n"
            "standardized effects; hypnograms of the study's nights.\n"
            "\n"
            "Options:\n"
            "      --db DB            SQLite file or postgresql:// URL ($SOMNA_DB)\n"
            "  -o, --output FILE      output file ('-' = standard output); written\n"
            "                         atomically, so a failure leaves no partial report\n"
            "      --format html|md   default html\n"
            "      --study NAME       which study (when the database holds several)\n"
            "      --subset S         analyse a subgroup, e.g. drifted_off=1\n"
            "      --hypnograms N     at most N hypnogram figures (default 12)\n"
            "\n"
            "Example:\n"
            "  somna report --db study.db -o report.html\n"
            "\n"
            "Exit status: 0 success, 1 usage error, 2 bad input or failure.\n");
}

int cmd_report(int argc, char **argv)
{
    enum { O_DB = 256, O_FORMAT, O_STUDY, O_SUBSET, O_HYP };
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
                                             {"db", required_argument, NULL, O_DB},
                                             {"output", required_argument, NULL, 'o'},
                                             {"format", required_argument, NULL, O_FORMAT},
                                             {"study", required_argument, NULL, O_STUDY},
                                             {"subset", required_argument, NULL, O_SUBSET},
                                             {"hypnograms", required_argument, NULL, O_HYP},
                                             {NULL, 0, NULL, 0}};
    /* GSL's default handler aborts the process on an underflow deep inside a
     * special function (seen in the noncentral t of effect-size CIs for very
     * large t); the statistics engine checks its results, so report, never abort. */
    const char *dbname = getenv("SOMNA_DB"), *output = NULL, *study = NULL;
    somna_report_opts ro = {SOMNA_REPORT_HTML, NULL, 0};
    int c;
    long nh;
    while ((c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
        switch (c) {
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        case O_DB:
            dbname = optarg;
            break;
        case 'o':
            output = optarg;
            break;
        case O_FORMAT:
            if (strcmp(optarg, "html") == 0)
                ro.format = SOMNA_REPORT_HTML;
            else if (strcmp(optarg, "md") == 0 || strcmp(optarg, "markdown") == 0)
                ro.format = SOMNA_REPORT_MD;
            else
                return cli_usage_error(CMD, "--format '%s' unknown (html or md)", optarg);
            break;
        case O_STUDY:
            study = optarg;
            break;
        case O_SUBSET:
            ro.subset = optarg;
            break;
        case O_HYP:
            if (cli_opt_long(CMD, "--hypnograms", optarg, &nh))
                return CLI_EXIT_USAGE;
            if (nh < 0 || nh > 1000)
                return cli_usage_error(CMD, "--hypnograms must be 0..1000");
            ro.max_hypnograms = (int)nh;
            break;
        default:
            return cli_bad_option(CMD);
        }
    }
    if (optind != argc)
        return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    if (!dbname)
        return cli_usage_error(CMD, "no database: give --db FILE.db or --db postgresql://...");
    if (!output)
        return cli_usage_error(CMD, "no output: give -o report.html (or -o - for standard output)");
    if (strncmp(dbname, "postgres", 8) != 0 && strncmp(dbname, "host=", 5) != 0 && strncmp(dbname, "dbname=", 7) != 0 &&
        access(dbname, F_OK) != 0)
        return cli_error(CMD, "%s: no such database", dbname);
    somna_err err;
    cli_err_init(&err);
    somna_db *db;
    if (somna_db_open(&db, dbname, &err))
        return cli_fail(CMD, &err);
    int64_t sid;
    int rc = CLI_EXIT_OK;
    somna_outfile out;
    if (somna_study_find(db, study, &sid, &err) || somna_outfile_open(&out, output, &err)) {
        rc = cli_fail(CMD, &err);
    } else if (somna_report_write(db, sid, &ro, out.fp, &err)) {
        somna_outfile_abort(&out);
        rc = cli_fail(CMD, &err);
    } else if (somna_outfile_commit(&out, &err)) {
        rc = cli_fail(CMD, &err);
    } else if (strcmp(output, "-") != 0) {
        fprintf(stderr, "somna report: wrote %s\n", output);
    }
    somna_db_close(db);
    return rc;
}
