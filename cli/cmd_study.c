/* somna study — the study database and workflow: init, enrol, randomize,
 * import, process, analyze, report, export.  Thin over src/study. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "somna/fileio.h"
#include "somna/json.h"
#include "somna/parse.h"
#include "somna/study.h"

static const char *const CMD = "study";

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: somna study SUBCOMMAND --db DB [options]\n"
            "\n"
            "A massage-and-sleep study from enrolment to its results table, kept in one\n"
            "database: a SQLite file (--db study.db, created with mode 0600) or a\n"
            "PostgreSQL server (--db postgresql://user@host/dbname).  $SOMNA_DB is used\n"
            "when --db is not given.  Every import is one transaction: an interrupted\n"
            "import leaves nothing half-written.\n"
            "\n"
            "Subcommands:\n"
            "  init DESC.txt            create the study from a description file (design,\n"
            "                           conditions, outcomes, randomization; docs/study.md)\n"
            "  enrol --id CODE [--age N] [--sex F|M] [--stratum S] [--psqi N]\n"
            "        [--contra LIST] [--date D]      screen and enrol one participant\n"
            "  enrol --csv FILE         screen and enrol every row (participant, age, sex,\n"
            "                           stratum, psqi, contraindications, date)\n"
            "  randomize                allocate enrolled participants (parallel: permuted\n"
            "                           blocks per stratum; crossover: Williams Latin square)\n"
            "  import KIND FILE         KIND: sessions | manifest | questionnaire | measures |\n"
            "                           biomarkers | wide | diary  (formats: docs/study.md)\n"
            "  process                  run the signal modules on new recordings\n"
            "  analyze                  analysis by design; table or --json\n"
            "  report -o report.html    the results report (same options as somna report)\n"
            "  export --table T         tidy CSV/JSON: outcomes, participants, screening,\n"
            "                           sessions, nights, recordings, biomarkers, process_log\n"
            "  status                   counts per table and the schema version\n"
            "\n"
            "Options:\n"
            "      --db DB              SQLite file or postgresql:// URL\n"
            "      --study NAME         which study (when the database holds several)\n"
            "      --json               JSON output (enrol, randomize, import, process, analyze)\n"
            "  import:\n"
            "      --instrument NAME    questionnaire name when the file has no column\n"
            "      --group-col COL      wide: the arm column;  --group-map 1=a,2=b\n"
            "      --id-col COL         wide: participant column (default row number R01..)\n"
            "      --visits LIST        wide: visit suffixes to import (e.g. 2,3,4,5,6,7)\n"
            "      --baseline SUFFIX    wide: baseline suffix (default B)\n"
            "      --source NAME        measures: source label (default import / diary)\n"
            "  analyze:\n"
            "      --subset drifted_off=1|drifted_off=0   subgroup by the session log\n"
            "      --participant CODE   N-of-1 analysis of one participant\n"
            "      --visits LIST        occasions to use (default: all but baseline)\n"
            "      --outcome LIST       measures to analyse, comma-separated, instead of the\n"
            "                           study file's outcomes (e.g. sEMG_RMS_change_pct)\n"
            "  export:\n"
            "      --table T --format csv|json [-o FILE]\n"
            "\n"
            "Examples:\n"
            "  somna study init --db s.db study.txt\n"
            "  somna study enrol --db s.db --csv screening.csv\n"
            "  somna study randomize --db s.db\n"
            "  somna study import --db s.db sessions sessions.csv\n"
            "  somna study import --db s.db manifest manifest.tsv && somna study process --db s.db\n"
            "  somna study import --db s.db wide dataset.csv --group-col Sleeps1Edu2 \\\n"
            "        --group-map 1=sleeps,2=edu --visits 2,3,4,5,6,7\n"
            "  somna study analyze --db s.db --json\n"
            "\n"
            "Exit status: 0 success, 1 usage error, 2 bad input or failure.\n");
}

enum {
    O_DB = 256,
    O_STUDY,
    O_JSON,
    O_ID,
    O_AGE,
    O_SEX,
    O_STRATUM,
    O_PSQI,
    O_CONTRA,
    O_DATE,
    O_CSV,
    O_INSTRUMENT,
    O_GROUPCOL,
    O_GROUPMAP,
    O_IDCOL,
    O_VISITS,
    O_BASELINE,
    O_SOURCE,
    O_SUBSET,
    O_PARTICIPANT,
    O_TABLE,
    O_FORMAT,
    O_OUTCOME
};

typedef struct opts {
    const char *db, *study, *id, *sex, *stratum, *contra, *date, *csv, *output;
    const char *instrument, *group_col, *group_map, *id_col, *visits, *baseline, *source;
    const char *subset, *participant, *table, *format, *outcome;
    double age, psqi;
    int json;
} opts;

static int is_url(const char *s)
{
    return strncmp(s, "postgresql://", 13) == 0 || strncmp(s, "postgres://", 11) == 0 || strncmp(s, "host=", 5) == 0 ||
           strncmp(s, "dbname=", 7) == 0;
}

static int open_study(const opts *o, somna_db **db, int64_t *sid, somna_err *err)
{
    if (!o->db)
        return cli_usage_error(CMD, "no database: give --db FILE.db or --db postgresql://... (or set SOMNA_DB)");
    /* only init creates a database file; a typo elsewhere must not leave an empty one */
    if (sid && !is_url(o->db) && access(o->db, F_OK) != 0)
        return cli_error(CMD, "%s: no such database (create it with 'somna study init --db %s STUDY.txt')", o->db,
                         o->db);
    if (somna_db_open(db, o->db, err))
        return cli_fail(CMD, err);
    if (sid && somna_study_find(*db, o->study, sid, err)) {
        somna_db_close(*db);
        *db = NULL;
        return cli_fail(CMD, err);
    }
    return CLI_EXIT_OK;
}

static void print_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.4g", v);
    else
        fputs("NA", f);
}

static void analysis_json(const somna_study_analysis *a, FILE *out)
{
    somna_json j;
    somna_json_init(&j, out, 1);
    somna_json_object_begin(&j);
    somna_json_kv_string(&j, "study", a->study);
    somna_json_kv_string(&j, "design", somna_study_design_name(a->design));
    if (a->subset[0])
        somna_json_kv_string(&j, "subset", a->subset);
    if (a->participant[0])
        somna_json_kv_string(&j, "participant", a->participant);
    somna_json_key(&j, "flow");
    somna_json_object_begin(&j);
    somna_json_kv_int(&j, "screened", a->n_screened);
    somna_json_kv_int(&j, "eligible", a->n_eligible);
    somna_json_kv_int(&j, "randomized", a->n_randomized);
    somna_json_kv_int(&j, "analysed", a->n_analysed);
    somna_json_object_end(&j);
    somna_json_key(&j, "cells");
    somna_json_array_begin(&j);
    for (size_t i = 0; i < a->n_cells; i++) {
        const somna_study_cell *c = &a->cells[i];
        somna_json_object_begin(&j);
        somna_json_kv_string(&j, "measure", c->measure);
        somna_json_kv_string(&j, "condition", c->condition);
        somna_json_kv_int(&j, "n", c->n);
        somna_json_kv_number(&j, "mean", c->mean);
        somna_json_kv_number(&j, "sd", c->sd);
        somna_json_kv_number(&j, "ci_low", c->ci_low);
        somna_json_kv_number(&j, "ci_high", c->ci_high);
        somna_json_object_end(&j);
    }
    somna_json_array_end(&j);
    if (a->n_visits) {
        somna_json_key(&j, "occasions");
        somna_json_array_begin(&j);
        for (size_t i = 0; i < a->n_visits; i++) {
            const somna_study_visit *v = &a->visits[i];
            somna_json_object_begin(&j);
            somna_json_kv_string(&j, "measure", v->measure);
            somna_json_kv_string(&j, "occasion", v->occasion);
            somna_json_kv_number(&j, "time_index", v->time_index);
            somna_json_kv_string(&j, "condition", v->condition);
            somna_json_kv_int(&j, "n", v->n);
            somna_json_kv_number(&j, "mean", v->mean);
            somna_json_kv_number(&j, "sd", v->sd);
            somna_json_kv_number(&j, "diff_vs_reference", v->diff);
            somna_json_kv_number(&j, "p_welch", v->p);
            somna_json_object_end(&j);
        }
        somna_json_array_end(&j);
    }
    somna_json_key(&j, "effects");
    somna_json_array_begin(&j);
    for (size_t i = 0; i < a->n_effects; i++) {
        const somna_study_effect *e = &a->effects[i];
        somna_json_object_begin(&j);
        somna_json_kv_string(&j, "measure", e->measure);
        somna_json_kv_string(&j, "condition", e->condition);
        somna_json_kv_string(&j, "reference", e->reference);
        somna_json_kv_string(&j, "test", e->test);
        somna_json_kv_int(&j, "n", e->n);
        somna_json_kv_number(&j, "mean", e->mean);
        somna_json_kv_number(&j, "sd", e->sd);
        somna_json_kv_number(&j, "ref_mean", e->ref_mean);
        somna_json_kv_number(&j, "ref_sd", e->ref_sd);
        somna_json_kv_number(&j, "estimate", e->diff);
        somna_json_kv_number(&j, "ci_low", e->diff_ci_low);
        somna_json_kv_number(&j, "ci_high", e->diff_ci_high);
        somna_json_kv_number(&j, "pct_change", e->pct_change);
        somna_json_kv_number(&j, "statistic", e->statistic);
        somna_json_kv_number(&j, "df", e->df);
        somna_json_kv_number(&j, "p", e->p);
        somna_json_kv_number(&j, "p_nonparametric", e->p_nonparam);
        somna_json_kv_string(&j, "effect_size", e->effect_name);
        somna_json_kv_number(&j, "effect", e->effect);
        somna_json_kv_number(&j, "effect_ci_low", e->effect_ci_low);
        somna_json_kv_number(&j, "effect_ci_high", e->effect_ci_high);
        somna_json_kv_number(&j, "lmm_estimate", e->lmm_estimate);
        somna_json_kv_number(&j, "lmm_se", e->lmm_se);
        somna_json_kv_number(&j, "lmm_df", e->lmm_df);
        somna_json_kv_number(&j, "p_lmm", e->p_lmm);
        somna_json_kv_number(&j, "p_holm", e->p_adj);
        if (e->note[0])
            somna_json_kv_string(&j, "note", e->note);
        somna_json_object_end(&j);
    }
    somna_json_array_end(&j);
    somna_json_object_end(&j);
    somna_json_finish(&j);
}

static void analysis_table(const somna_study_analysis *a, FILE *out)
{
    fprintf(out, "# %s — %s design%s%s; screened %ld, eligible %ld, randomized %ld, analysed %ld\n", a->study,
            somna_study_design_name(a->design), a->subset[0] ? ", subset " : "", a->subset, a->n_screened,
            a->n_eligible, a->n_randomized, a->n_analysed);
    fprintf(out, "measure\tcondition\treference\ttest\tn\tmean\tsd\tref_mean\tref_sd\tdiff\tci_low\tci_high\t"
                 "pct_change\tp\tp_nonparam\teffect\teffect_ci\tp_lmm\tp_holm\n");
    for (size_t i = 0; i < a->n_effects; i++) {
        const somna_study_effect *e = &a->effects[i];
        fprintf(out, "%s\t%s\t%s\t%s\t%d\t", e->measure, e->condition, e->reference, e->test, e->n);
        const double v[] = {e->mean, e->sd, e->ref_mean, e->ref_sd, e->diff, e->diff_ci_low, e->diff_ci_high,
                            e->pct_change};
        for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
            print_num(out, v[k]);
            fputc('\t', out);
        }
        print_num(out, e->p);
        fputc('\t', out);
        print_num(out, e->p_nonparam);
        fputc('\t', out);
        if (isfinite(e->effect))
            fprintf(out, "%s=%.3f", e->effect_name, e->effect);
        else
            fputs("NA", out);
        fputc('\t', out);
        if (isfinite(e->effect_ci_low))
            fprintf(out, "[%.3f, %.3f]", e->effect_ci_low, e->effect_ci_high);
        else
            fputs("NA", out);
        fputc('\t', out);
        print_num(out, e->p_lmm);
        fputc('\t', out);
        print_num(out, e->p_adj);
        fputc('\n', out);
        if (e->note[0])
            fprintf(stderr, "somna study: note: %s %s: %s\n", e->measure, e->condition, e->note);
    }
}

static int import_kind(const char *s, somna_study_import_kind *k)
{
    static const char *const names[] = {"sessions", "manifest", "questionnaire", "measures", "biomarkers", "wide",
                                        "diary"};
    for (int i = 0; i < 7; i++)
        if (strcmp(s, names[i]) == 0) {
            *k = (somna_study_import_kind)i;
            return 0;
        }
    return -1;
}

static int status_cmd(somna_db *db, int64_t sid, int json, somna_err *err)
{
    static const char *const q[][2] = {
        {"participants", "SELECT count(*) FROM participant WHERE study_id = ?"},
        {"sessions", "SELECT count(*) FROM session s JOIN participant p ON p.id = s.participant_id WHERE p.study_id = ?"},
        {"nights", "SELECT count(*) FROM night n JOIN participant p ON p.id = n.participant_id WHERE p.study_id = ?"},
        {"recordings", "SELECT count(*) FROM recording r JOIN night n ON n.id = r.night_id JOIN participant p ON "
                       "p.id = n.participant_id WHERE p.study_id = ?"},
        {"measures", "SELECT count(*) FROM measure m JOIN night n ON n.id = m.night_id JOIN participant p ON "
                     "p.id = n.participant_id WHERE p.study_id = ?"},
        {"questionnaire_scores", "SELECT count(*) FROM questionnaire q JOIN participant p ON "
                                 "p.id = q.participant_id WHERE p.study_id = ?"},
        {"imports", "SELECT count(*) FROM import_log WHERE study_id = ?"},
    };
    int version;
    if (somna_study_schema_version(db, &version, err))
        return cli_fail(CMD, err);
    somna_json j;
    if (json) {
        somna_json_init(&j, stdout, 1);
        somna_json_object_begin(&j);
        somna_json_kv_int(&j, "schema_version", version);
    } else {
        printf("schema_version\t%d\n", version);
    }
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        int64_t n;
        somna_dbv p = somna_dbv_int(sid);
        if (somna_db_query_int(db, q[i][1], &p, 1, &n, err))
            return cli_fail(CMD, err);
        if (json)
            somna_json_kv_int(&j, q[i][0], n);
        else
            printf("%s\t%lld\n", q[i][0], (long long)n);
    }
    if (json) {
        somna_json_object_end(&j);
        somna_json_finish(&j);
    }
    return CLI_EXIT_OK;
}

int cmd_study(int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
                                             {"db", required_argument, NULL, O_DB},
                                             {"study", required_argument, NULL, O_STUDY},
                                             {"json", no_argument, NULL, O_JSON},
                                             {"id", required_argument, NULL, O_ID},
                                             {"age", required_argument, NULL, O_AGE},
                                             {"sex", required_argument, NULL, O_SEX},
                                             {"stratum", required_argument, NULL, O_STRATUM},
                                             {"psqi", required_argument, NULL, O_PSQI},
                                             {"contra", required_argument, NULL, O_CONTRA},
                                             {"date", required_argument, NULL, O_DATE},
                                             {"csv", required_argument, NULL, O_CSV},
                                             {"instrument", required_argument, NULL, O_INSTRUMENT},
                                             {"group-col", required_argument, NULL, O_GROUPCOL},
                                             {"group-map", required_argument, NULL, O_GROUPMAP},
                                             {"id-col", required_argument, NULL, O_IDCOL},
                                             {"visits", required_argument, NULL, O_VISITS},
                                             {"baseline", required_argument, NULL, O_BASELINE},
                                             {"source", required_argument, NULL, O_SOURCE},
                                             {"subset", required_argument, NULL, O_SUBSET},
                                             {"outcome", required_argument, NULL, O_OUTCOME},
                                             {"participant", required_argument, NULL, O_PARTICIPANT},
                                             {"table", required_argument, NULL, O_TABLE},
                                             {"format", required_argument, NULL, O_FORMAT},
                                             {"output", required_argument, NULL, 'o'},
                                             {NULL, 0, NULL, 0}};
    /* GSL's default handler aborts the process on an underflow deep inside a
     * special function (seen in the noncentral t of effect-size CIs for very
     * large t); the statistics engine checks its results, so report, never abort. */
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(sub, "report") == 0) {
        argv[1] = (char *)"report";
        return cmd_report(argc - 1, argv + 1);
    }
    opts o;
    memset(&o, 0, sizeof o);
    o.age = NAN;
    o.psqi = NAN;
    o.db = getenv("SOMNA_DB");
    o.format = "csv";
    int c;
    /* parse options after the subcommand */
    argv[1] = argv[0];
    argc--;
    argv++;
    while ((c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
        switch (c) {
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        case O_DB:
            o.db = optarg;
            break;
        case O_STUDY:
            o.study = optarg;
            break;
        case O_JSON:
            o.json = 1;
            break;
        case O_ID:
            o.id = optarg;
            break;
        case O_AGE:
            if (cli_opt_double(CMD, "--age", optarg, &o.age))
                return CLI_EXIT_USAGE;
            break;
        case O_SEX:
            o.sex = optarg;
            break;
        case O_STRATUM:
            o.stratum = optarg;
            break;
        case O_PSQI:
            if (cli_opt_double(CMD, "--psqi", optarg, &o.psqi))
                return CLI_EXIT_USAGE;
            break;
        case O_CONTRA:
            o.contra = optarg;
            break;
        case O_DATE:
            o.date = optarg;
            break;
        case O_CSV:
            o.csv = optarg;
            break;
        case O_INSTRUMENT:
            o.instrument = optarg;
            break;
        case O_GROUPCOL:
            o.group_col = optarg;
            break;
        case O_GROUPMAP:
            o.group_map = optarg;
            break;
        case O_IDCOL:
            o.id_col = optarg;
            break;
        case O_VISITS:
            o.visits = optarg;
            break;
        case O_BASELINE:
            o.baseline = optarg;
            break;
        case O_SOURCE:
            o.source = optarg;
            break;
        case O_SUBSET:
            o.subset = optarg;
            break;
        case O_OUTCOME:
            o.outcome = optarg;
            break;
        case O_PARTICIPANT:
            o.participant = optarg;
            break;
        case O_TABLE:
            o.table = optarg;
            break;
        case O_FORMAT:
            o.format = optarg;
            break;
        case 'o':
            o.output = optarg;
            break;
        default:
            return cli_bad_option(CMD);
        }
    }
    int npos = argc - optind;
    char **pos = argv + optind;
    somna_err err;
    cli_err_init(&err);
    somna_db *db = NULL;
    int64_t sid = 0;
    int rc = CLI_EXIT_OK;

    if (strcmp(sub, "init") == 0) {
        if (npos != 1)
            return cli_usage_error(CMD, "init needs one study description file");
        somna_study_desc d;
        if (somna_study_desc_read(pos[0], &d, &err))
            return cli_fail(CMD, &err);
        if ((rc = open_study(&o, &db, NULL, &err)))
            return rc;
        if (somna_study_init(db, &d, &sid, &err)) {
            rc = cli_fail(CMD, &err);
        } else {
            printf("study '%s' created: %s design, %d conditions, randomization %s (seed %llu)\n", d.name,
                   somna_study_design_name(d.design), d.n_conditions, d.randomization, (unsigned long long)d.seed);
        }
    } else if (strcmp(sub, "enrol") == 0 || strcmp(sub, "enroll") == 0) {
        if (npos)
            return cli_usage_error(CMD, "enrol takes no positional arguments (use --csv FILE or --id CODE)");
        if (!o.csv && !o.id)
            return cli_usage_error(CMD, "enrol needs --id CODE or --csv FILE");
        if ((rc = open_study(&o, &db, &sid, &err)))
            return rc;
        if (o.csv) {
            somna_study_import_stats st;
            if (somna_study_enrol_csv(db, sid, o.csv, &st, &err))
                rc = cli_fail(CMD, &err);
            else
                printf("%ld screened, %ld enrolled, %ld excluded\n", st.rows, st.rows - st.excluded, st.excluded);
        } else {
            somna_study_screen s = {o.id, o.age, o.sex, o.stratum, o.psqi, o.contra, o.date};
            int eligible;
            char reason[256];
            if (somna_study_enrol(db, sid, &s, &eligible, reason, sizeof reason, &err))
                rc = cli_fail(CMD, &err);
            else if (o.json) {
                somna_json j;
                somna_json_init(&j, stdout, 1);
                somna_json_object_begin(&j);
                somna_json_kv_string(&j, "participant", o.id);
                somna_json_kv_bool(&j, "eligible", eligible);
                somna_json_kv_string(&j, "reason", reason);
                somna_json_object_end(&j);
                somna_json_finish(&j);
            } else {
                printf("%s\t%s\t%s\n", o.id, eligible ? "enrolled" : "excluded", reason);
            }
        }
    } else if (strcmp(sub, "randomize") == 0 || strcmp(sub, "randomise") == 0) {
        if ((rc = open_study(&o, &db, &sid, &err)))
            return rc;
        long n;
        if (somna_study_randomize(db, sid, &n, &err)) {
            rc = cli_fail(CMD, &err);
        } else {
            fprintf(stderr, "somna study: %ld participant(s) allocated\n", n);
            if (somna_study_export(db, sid, "participants", o.json ? "json" : "csv", stdout, &err))
                rc = cli_fail(CMD, &err);
        }
    } else if (strcmp(sub, "import") == 0) {
        somna_study_import_kind kind;
        if (npos != 2 || import_kind(pos[0], &kind) != 0)
            return cli_usage_error(CMD, "import needs KIND FILE (KIND: sessions, manifest, questionnaire, measures, "
                                        "biomarkers, wide, diary)");
        if ((rc = open_study(&o, &db, &sid, &err)))
            return rc;
        somna_study_import_opts io = {o.instrument, o.group_col, o.group_map, o.id_col, o.visits,
                                      o.baseline,   o.source,    0};
        /* Test hook for the kill -9 test only: slows the import down so the
         * test can interrupt it in the middle of its transaction. */
        const char *delay = getenv("SOMNA_TEST_IMPORT_DELAY_MS");
        int64_t dms;
        if (delay && somna_parse_int64_str(delay, &dms) == 0 && dms > 0 && dms < 10000)
            io.test_delay_ms = (long)dms;
        somna_study_import_stats st;
        if (somna_study_import(db, sid, kind, pos[1], &io, &st, &err)) {
            rc = cli_fail(CMD, &err);
        } else if (o.json) {
            somna_json j;
            somna_json_init(&j, stdout, 1);
            somna_json_object_begin(&j);
            somna_json_kv_string(&j, "file", pos[1]);
            somna_json_kv_string(&j, "kind", pos[0]);
            somna_json_kv_int(&j, "rows", st.rows);
            somna_json_kv_int(&j, "inserted", st.inserted);
            somna_json_kv_int(&j, "skipped", st.skipped);
            somna_json_object_end(&j);
            somna_json_finish(&j);
        } else {
            printf("%s: %ld rows read, %ld records written, %ld skipped\n", pos[1], st.rows, st.inserted, st.skipped);
        }
    } else if (strcmp(sub, "process") == 0) {
        if ((rc = open_study(&o, &db, &sid, &err)))
            return rc;
        somna_study_process_stats st;
        if (somna_study_process(db, sid, &st, &err))
            rc = cli_fail(CMD, &err);
        else
            printf("%ld new recording(s): %ld processed, %ld failed, %ld measure rows written\n", st.recordings,
                   st.processed, st.failed, st.measures);
    } else if (strcmp(sub, "analyze") == 0 || strcmp(sub, "analyse") == 0) {
        if ((rc = open_study(&o, &db, &sid, &err)))
            return rc;
        somna_study_analyze_opts ao = {o.subset, o.participant, o.visits, o.outcome};
        somna_study_analysis a;
        if (somna_study_analyze(db, sid, &ao, &a, &err)) {
            rc = cli_fail(CMD, &err);
        } else {
            if (o.json)
                analysis_json(&a, stdout);
            else
                analysis_table(&a, stdout);
            somna_study_analysis_free(&a);
        }
    } else if (strcmp(sub, "export") == 0) {
        if (!o.table)
            return cli_usage_error(CMD, "export needs --table (outcomes, participants, screening, sessions, nights, "
                                        "recordings, biomarkers, process_log)");
        if ((rc = open_study(&o, &db, &sid, &err)))
            return rc;
        somna_outfile out;
        if (somna_outfile_open(&out, o.output ? o.output : "-", &err)) {
            rc = cli_fail(CMD, &err);
        } else if (somna_study_export(db, sid, o.table, o.json ? "json" : o.format, out.fp, &err)) {
            somna_outfile_abort(&out);
            rc = cli_fail(CMD, &err);
        } else if (somna_outfile_commit(&out, &err)) {
            rc = cli_fail(CMD, &err);
        }
    } else if (strcmp(sub, "status") == 0) {
        if ((rc = open_study(&o, &db, &sid, &err)))
            return rc;
        rc = status_cmd(db, sid, o.json, &err);
    } else {
        return cli_usage_error(CMD, "unknown subcommand '%s'", sub);
    }
    somna_db_close(db);
    return rc;
}
