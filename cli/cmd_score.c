/* somna score — score questionnaires and sleep diaries from a CSV/TSV file.
 * Thin over src/survey: this file maps columns to instrument fields, writes
 * the table/JSON and turns row problems into "file:line: column" messages. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "somna/fileio.h"
#include "somna/json.h"
#include "somna/parse.h"
#include "somna/survey.h"
#include "somna/table.h"

static const char *const CMD = "score";

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: somna score INSTRUMENT INPUT.csv [-o OUT.csv] [--map map.tsv] [--json] [options]\n"
            "\n"
            "Score one questionnaire (or one diary night) per row of a CSV/TSV file.\n"
            "Every output row keeps the source line, participant id and date.\n"
            "\n"
            "Instruments:\n"
            "  psqi     Pittsburgh Sleep Quality Index (Buysse 1989): 7 components 0-3,\n"
            "           global 0-21, poor sleeper if global > 5.  Columns psqi_01..psqi_09,\n"
            "           psqi_05a..psqi_05j (5j optional).  Times 23:30, 23:30:00 or 11:30 pm;\n"
            "           latency in minutes (or 0:20); hours of sleep 6.5 (or 6:30).\n"
            "  rcsq     Richards-Campbell Sleep Questionnaire: mean of rcsq_1..rcsq_5\n"
            "           (0-100); rcsq_6 / rcsq_noise reported, not in the mean.\n"
            "  isi      Insomnia Severity Index: isi_1..isi_7 (0-4), total 0-28, band\n"
            "           none 0-7 / subthreshold 8-14 / moderate 15-21 / severe 22-28.\n"
            "           Without item columns, a total column (isi_total) is banded.\n"
            "  ess      Epworth Sleepiness Scale: ess_1..ess_8 (0-3), total 0-24, band.\n"
            "  kss      Karolinska Sleepiness Scale: kss (1-9), band alert/neither/sleepy.\n"
            "  scale    a configurable scale (e.g. relaxation state): --config or --items.\n"
            "  diary    Consensus Sleep Diary (Carney 2012), one night per row: TIB, TST,\n"
            "           SE, WASO, SOL per night; --weekly for weekly means per participant.\n"
            "\n"
            "Options:\n"
            "  -o, --output FILE     write here instead of standard output (atomic: no\n"
            "                        partial file on error)\n"
            "  -m, --map FILE        column map, one 'FIELD<TAB>COLUMN' (or FIELD = COLUMN)\n"
            "                        per line; FIELD is an instrument field, 'id' or 'date'\n"
            "  -c, --col FIELD=COL   one mapping on the command line (repeatable)\n"
            "      --id COL          participant id column (default: id, participant, subject...)\n"
            "      --date COL        date column (default: date, night, visit_date...)\n"
            "      --json            JSON instead of CSV\n"
            "      --strict          exit 2 (and write nothing) if any row is not scorable\n"
            "  -q, --quiet           do not print row problems to standard error\n"
            "      --fields          list the instrument's fields and exit\n"
            "  PSQI:\n"
            "      --psqi-missing-zero  count unanswered items 5b-5i as 0 (LCBC rule)\n"
            "  diary:\n"
            "      --weekly          weekly means per participant (week 1 = first 7 days)\n"
            "  scale:\n"
            "      --config FILE     scale definition: name, items, reverse, range,\n"
            "                        scoring (sum|mean), integer (yes|no), max_missing\n"
            "      --name NAME       output prefix (default 'scale')\n"
            "      --items A,B,...   item columns\n"
            "      --reverse A,...   reverse-keyed items (scored min + max - answer)\n"
            "      --range MIN:MAX   answer range (default 1:5)\n"
            "      --scoring sum|mean\n"
            "      --max-missing N   items that may be unanswered (person-mean rule)\n"
            "      --real            answers need not be whole numbers\n"
            "\n"
            "Output columns: line, id, date, status (scored | not_scorable), the scores\n"
            "(NA = not computable), band, problems.  Each problem names the column and\n"
            "the rule applied; rules and scoring tables: docs/questionnaires.md.\n"
            "\n"
            "Examples:\n"
            "  somna score psqi psqi.tsv -o psqi_scored.csv\n"
            "  somna score isi trial.csv --col isi_total=ISI_B --json\n"
            "  somna score scale relax.csv --items r1,r2,r3,r4 --reverse r3 --range 1:5 --scoring mean\n"
            "  somna score diary diary.csv --weekly\n"
            "\n"
            "Exit status: 0 scored (rows that are not scorable are reported, not fatal),\n"
            "1 usage error, 2 bad input (unreadable file, missing column, bad map).\n");
}

typedef struct score_ctx {
    somna_survey_kind kind;
    somna_survey_opts opts;
    const somna_table *t;
    size_t n_fields;
    somna_survey_columns m; /* which column holds which field */
} score_ctx;

/* Apply one "FIELD -> COLUMN" mapping; `where` names its origin for messages. */
static int apply_mapping(score_ctx *c, const char *field, const char *column, const char *where)
{
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    if (somna_survey_columns_set(&c->m, field, column, &err) != 0) {
        fprintf(stderr, "somna %s: %s: %s\n", CMD, where, err.msg);
        return -1;
    }
    return 0;
}

static int apply_map_file(score_ctx *c, const char *path)
{
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    char *text;
    size_t len;
    if (somna_read_file(path, 1 << 20, &text, &len, &err) != 0) {
        fprintf(stderr, "somna %s: %s\n", CMD, err.msg);
        return -1;
    }
    int rc = 0;
    size_t lineno = 0;
    char *p = text;
    while (*p && rc == 0) {
        lineno++;
        char *e = strchr(p, '\n');
        if (e)
            *e = '\0';
        char *hash = strchr(p, '#');
        if (hash)
            *hash = '\0';
        char *line = somna_trim(p);
        p = e ? e + 1 : p + strlen(p);
        if (!line[0])
            continue;
        char *sep = strchr(line, '\t');
        if (!sep)
            sep = strchr(line, '=');
        if (!sep)
            sep = strchr(line, ',');
        char where[1100];
        snprintf(where, sizeof where, "%s:%zu", path, lineno);
        if (!sep) {
            fprintf(stderr, "somna %s: %s: expected 'FIELD<TAB>COLUMN', got '%s'\n", CMD, where, line);
            rc = -1;
            break;
        }
        *sep = '\0';
        char *field = somna_trim(line);
        char *column = somna_trim(sep + 1);
        if (!field[0] || !column[0]) {
            fprintf(stderr, "somna %s: %s: empty field or column name\n", CMD, where);
            rc = -1;
            break;
        }
        rc = apply_mapping(c, field, column, where);
    }
    free(text);
    return rc;
}

/* CSV cell with quoting when needed. */
static void csv_cell(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void csv_number(FILE *f, double v)
{
    if (!isfinite(v)) {
        fputs("NA", f);
        return;
    }
    char buf[40];
    if (v == floor(v) && fabs(v) < 1e15) /* scores are mostly whole: skip the round-trip search */
        snprintf(buf, sizeof buf, "%.0f", v);
    else
        somna_format_double(buf, sizeof buf, v);
    fputs(buf, f);
}

/* Column name of a problem's field (the record's own name for it). */
/* Column name of a problem's field (the record's own name for it). */
static const char *problem_column(const score_ctx *c, const somna_survey_problem *p)
{
    return somna_survey_columns_name(&c->m, p->field);
}

static void problems_text(const score_ctx *c, const somna_survey_result *res, char *buf, size_t size)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < res->n_problems && o + 1 < size; i++) {
        const char *col = problem_column(c, &res->problem[i]);
        int n = snprintf(buf + o, size - o, "%s%s%s%s", i ? "; " : "", col ? col : "", col ? ": " : "",
                         res->problem[i].msg);
        if (n < 0)
            break;
        o += (size_t)n;
        if (o >= size)
            o = size - 1;
    }
    if (res->n_problems_dropped && o + 1 < size)
        snprintf(buf + o, size - o, "; (%u more)", res->n_problems_dropped);
}

static void report_problems(const score_ctx *c, const somna_survey_result *res, size_t line)
{
    for (size_t i = 0; i < res->n_problems; i++) {
        const somna_survey_problem *p = &res->problem[i];
        const char *col = problem_column(c, p);
        fprintf(stderr, "somna %s: %s%s:%zu: %s%s%s%s\n", CMD, p->fatal ? "" : "note: ", c->t->name, line,
                col ? "column " : "", col ? col : "", col ? ": " : "", p->msg);
    }
}

static const char *output_name(const score_ctx *c, size_t i, char *buf, size_t size)
{
    const char *n = somna_survey_output_name(c->kind, i);
    if (c->kind == SOMNA_SURVEY_SCALE) {
        snprintf(buf, size, "%s_%s", c->opts.scale->name, n);
        return buf;
    }
    return n;
}

static const char *cell_or_empty(const score_ctx *c, long col, size_t row)
{
    return col < 0 ? "" : somna_table_cell(c->t, row, (size_t)col);
}

typedef struct band_count {
    const char *band;
    size_t n;
} band_count;

static void count_band(band_count *bc, size_t *nb, const char *band)
{
    for (size_t i = 0; i < *nb; i++)
        if (strcmp(bc[i].band, band) == 0) {
            bc[i].n++;
            return;
        }
    if (*nb < 16) {
        bc[*nb].band = band;
        bc[*nb].n = 1;
        (*nb)++;
    }
}

int cmd_score(int argc, char **argv)
{
    enum {
        OPT_ID = 256, OPT_DATE, OPT_JSON, OPT_STRICT, OPT_FIELDS, OPT_PSQI_ZERO, OPT_WEEKLY, OPT_CONFIG,
        OPT_NAME, OPT_ITEMS, OPT_REVERSE, OPT_RANGE, OPT_SCORING, OPT_MAXMISS, OPT_REAL
    };
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"output", required_argument, NULL, 'o'},
        {"map", required_argument, NULL, 'm'},
        {"col", required_argument, NULL, 'c'},
        {"id", required_argument, NULL, OPT_ID},
        {"date", required_argument, NULL, OPT_DATE},
        {"json", no_argument, NULL, OPT_JSON},
        {"strict", no_argument, NULL, OPT_STRICT},
        {"quiet", no_argument, NULL, 'q'},
        {"fields", no_argument, NULL, OPT_FIELDS},
        {"psqi-missing-zero", no_argument, NULL, OPT_PSQI_ZERO},
        {"weekly", no_argument, NULL, OPT_WEEKLY},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"name", required_argument, NULL, OPT_NAME},
        {"items", required_argument, NULL, OPT_ITEMS},
        {"reverse", required_argument, NULL, OPT_REVERSE},
        {"range", required_argument, NULL, OPT_RANGE},
        {"scoring", required_argument, NULL, OPT_SCORING},
        {"max-missing", required_argument, NULL, OPT_MAXMISS},
        {"real", no_argument, NULL, OPT_REAL},
        {NULL, 0, NULL, 0}};

    const char *out_path = "-", *id_name = NULL, *date_name = NULL, *config = NULL;
    const char *scale_name = NULL, *items = NULL, *reverse = NULL, *range = NULL, *scoring = NULL;
    const char *maps[32], *cols[64];
    size_t n_maps = 0, n_cols = 0;
    int json = 0, strict = 0, quiet = 0, list_fields = 0, psqi_zero = 0, weekly = 0, real = 0;
    long max_missing = -1;
    int ch;
    while ((ch = getopt_long(argc, argv, "ho:m:c:q", longopts, NULL)) != -1) {
        switch (ch) {
        case 'h': usage(stdout); return CLI_EXIT_OK;
        case 'o': out_path = optarg; break;
        case 'm':
            if (n_maps == sizeof maps / sizeof maps[0])
                return cli_usage_error(CMD, "too many --map files");
            maps[n_maps++] = optarg;
            break;
        case 'c':
            if (n_cols == sizeof cols / sizeof cols[0])
                return cli_usage_error(CMD, "too many --col options");
            if (!strchr(optarg, '='))
                return cli_usage_error(CMD, "--col expects FIELD=COLUMN, got '%s'", optarg);
            cols[n_cols++] = optarg;
            break;
        case 'q': quiet = 1; break;
        case OPT_ID: id_name = optarg; break;
        case OPT_DATE: date_name = optarg; break;
        case OPT_JSON: json = 1; break;
        case OPT_STRICT: strict = 1; break;
        case OPT_FIELDS: list_fields = 1; break;
        case OPT_PSQI_ZERO: psqi_zero = 1; break;
        case OPT_WEEKLY: weekly = 1; break;
        case OPT_CONFIG: config = optarg; break;
        case OPT_NAME: scale_name = optarg; break;
        case OPT_ITEMS: items = optarg; break;
        case OPT_REVERSE: reverse = optarg; break;
        case OPT_RANGE: range = optarg; break;
        case OPT_SCORING: scoring = optarg; break;
        case OPT_MAXMISS:
            if (cli_opt_long(CMD, "max-missing", optarg, &max_missing) != 0)
                return CLI_EXIT_USAGE;
            if (max_missing < 0)
                return cli_usage_error(CMD, "--max-missing must be >= 0");
            break;
        case OPT_REAL: real = 1; break;
        default: return cli_bad_option(CMD);
        }
    }
    if (optind >= argc)
        return cli_usage_error(CMD, "missing INSTRUMENT (psqi, rcsq, isi, ess, kss, scale, diary)");

    somna_err err;
    if (quiet)
        somna_err_init(&err, NULL, NULL);
    else
        cli_err_init(&err);
    score_ctx c;
    memset(&c, 0, sizeof c);
    if (somna_survey_kind_from_name(argv[optind], &c.kind, &err) != 0)
        return cli_usage_error(CMD, "%s", err.msg);
    c.opts.psqi_missing_as_zero = psqi_zero;
    if (weekly && c.kind != SOMNA_SURVEY_DIARY)
        return cli_usage_error(CMD, "--weekly applies to the diary only");

    /* The configurable scale: a config file, then options override. */
    somna_survey_scale scale;
    somna_survey_scale_init(&scale);
    if (c.kind == SOMNA_SURVEY_SCALE) {
        if (config) {
            char *text;
            size_t len;
            if (somna_read_file(config, 1 << 20, &text, &len, &err) != 0)
                return cli_fail(CMD, &err);
            int rc = somna_survey_scale_parse(&scale, text, config, &err);
            free(text);
            if (rc && !(items && rc == SOMNA_E_ARG && scale.n_items == 0))
                return cli_fail(CMD, &err);
        }
        if (scale_name && somna_strlcpy(scale.name, scale_name, sizeof scale.name) >= sizeof scale.name)
            return cli_usage_error(CMD, "--name is too long");
        if (items && somna_survey_scale_set_items(&scale, items, &err) != 0)
            return cli_usage_error(CMD, "--items: %s", err.msg);
        if (reverse && somna_survey_scale_set_reverse(&scale, reverse, &err) != 0)
            return cli_usage_error(CMD, "--reverse: %s", err.msg);
        if (range) {
            const char *colon = strchr(range, ':');
            double a, b;
            if (!colon || somna_parse_double(range, (size_t)(colon - range), &a) != 0 ||
                somna_parse_double_str(colon + 1, &b) != 0)
                return cli_usage_error(CMD, "--range expects MIN:MAX, got '%s'", range);
            scale.min = a;
            scale.max = b;
        }
        if (scoring) {
            if (somna_strieq(scoring, "sum"))
                scale.mean = 0;
            else if (somna_strieq(scoring, "mean"))
                scale.mean = 1;
            else
                return cli_usage_error(CMD, "--scoring expects sum or mean, got '%s'", scoring);
        }
        if (max_missing >= 0)
            scale.max_missing = (size_t)max_missing;
        if (real)
            scale.integer = 0;
        if (somna_survey_scale_check(&scale, &err) != 0)
            return cli_usage_error(CMD, "%s (give --config FILE or --items A,B,...)", err.msg);
        c.opts.scale = &scale;
    } else if (config || items || reverse || range || scoring || scale_name || max_missing >= 0 || real) {
        return cli_usage_error(CMD, "scale options apply to the 'scale' instrument only");
    }

    c.n_fields = somna_survey_n_fields(c.kind, &c.opts);
    if (list_fields) {
        printf("%s — %s\n", somna_survey_kind_name(c.kind), somna_survey_kind_title(c.kind));
        for (size_t i = 0; i < c.n_fields; i++)
            printf("  %-16s %s%s\n", somna_survey_field_name(c.kind, &c.opts, i),
                   somna_survey_field_label(c.kind, &c.opts, i),
                   somna_survey_field_optional(c.kind, &c.opts, i) ? " [optional]" : "");
        return CLI_EXIT_OK;
    }
    if (optind + 1 >= argc)
        return cli_usage_error(CMD, "missing INPUT file");
    if (optind + 2 < argc)
        return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind + 2]);
    const char *input = argv[optind + 1];

    somna_table t;
    if (somna_table_read(input, NULL, &t, &err) != 0)
        return cli_fail(CMD, &err);
    c.t = &t;
    int status = CLI_EXIT_FAIL;
    somna_diary_night *nights = NULL;
    somna_diary_week *weeks = NULL;
    size_t n_weeks = 0, n_nights = 0;
    somna_outfile of = {0};
    int of_open = 0;

    /* Columns: standard names and aliases first, then the map overrides. */
    if (somna_survey_columns_init(&c.m, c.kind, &c.opts, &t, &err) != 0) {
        status = cli_fail(CMD, &err);
        goto done;
    }
    for (size_t i = 0; i < n_maps; i++)
        if (apply_map_file(&c, maps[i]) != 0)
            goto done;
    for (size_t i = 0; i < n_cols; i++) {
        char buf[512];
        if (somna_strlcpy(buf, cols[i], sizeof buf) >= sizeof buf) {
            status = cli_usage_error(CMD, "--col value too long");
            goto done;
        }
        char *eq = strchr(buf, '=');
        *eq = '\0';
        if (apply_mapping(&c, somna_trim(buf), somna_trim(eq + 1), "--col") != 0)
            goto done;
    }
    if (id_name && apply_mapping(&c, "id", id_name, "--id") != 0)
        goto done;
    if (date_name && apply_mapping(&c, "date", date_name, "--date") != 0)
        goto done;

    /* Every required field needs a column (a recorded total may stand in
     * for ISI/ESS items; the library warns when it sets columns aside). */
    if (somna_survey_columns_check(&c.m, &err) != 0) {
        status = cli_fail(CMD, &err);
        goto done;
    }
    if (c.m.id_col < 0 && !quiet)
        fprintf(stderr,
                "somna %s: warning: %s has no participant id column (id, participant, subject...; or --id COL): "
                "rows are identified by their line\n",
                CMD, input);
    if (weekly && (c.m.id_col < 0 || c.m.date_col < 0)) {
        status = cli_error(CMD, "%s: --weekly needs a participant id and a date column (use --id / --date)", input);
        goto done;
    }

    if (strict) {
        for (size_t row = 0; row < t.n_rows; row++) {
            somna_survey_result res;
            if (somna_survey_score_row(&c.m, row, &res, &err) != 0) {
                status = cli_fail(CMD, &err);
                goto done;
            }
            if (!res.scored) {
                char buf[1024];
                problems_text(&c, &res, buf, sizeof buf);
                status = cli_error(CMD, "%s:%zu: not scorable (--strict): %s", input, t.line[row], buf);
                goto done;
            }
        }
    }

    if (somna_outfile_open(&of, out_path, &err) != 0) {
        status = cli_fail(CMD, &err);
        goto done;
    }
    of_open = 1;
    FILE *f = of.fp;
    size_t n_out = somna_survey_n_outputs(c.kind);
    somna_json j;
    if (json) {
        somna_json_init(&j, f, 1);
        somna_json_object_begin(&j);
        somna_json_kv_string(&j, "instrument", somna_survey_kind_name(c.kind));
        somna_json_kv_string(&j, "title", somna_survey_kind_title(c.kind));
        somna_json_kv_string(&j, "input", input);
        somna_json_key(&j, "rows");
        somna_json_array_begin(&j);
    } else if (!weekly) {
        fputs("line,id,date,status", f);
        for (size_t i = 0; i < n_out; i++) {
            char nb[160];
            fputc(',', f);
            csv_cell(f, output_name(&c, i, nb, sizeof nb));
        }
        fputs(",band,problems\n", f);
    }
    if (c.kind == SOMNA_SURVEY_DIARY && (weekly || json)) {
        nights = calloc(t.n_rows ? t.n_rows : 1, sizeof *nights);
        if (!nights) {
            status = cli_error(CMD, "out of memory");
            goto done;
        }
    }

    size_t n_scored = 0, nb = 0;
    band_count bands[16];
    for (size_t row = 0; row < t.n_rows; row++) {
        somna_survey_result res;
        if (somna_survey_score_row(&c.m, row, &res, &err) != 0) {
            status = cli_fail(CMD, &err);
            goto done;
        }
        size_t line = t.line[row];
        const char *id = cell_or_empty(&c, c.m.id_col, row);
        const char *date = cell_or_empty(&c, c.m.date_col, row);
        if (!quiet)
            report_problems(&c, &res, line);
        n_scored += res.scored != 0;
        if (res.band)
            count_band(bands, &nb, res.band);
        if (nights) {
            int32_t day;
            if (somna_survey_parse_date(date, &day) == 0 && id[0]) {
                nights[n_nights].participant = id;
                nights[n_nights].day = day;
                memcpy(nights[n_nights].value, res.value, sizeof res.value);
                n_nights++;
            } else if (!quiet && c.m.date_col >= 0) {
                fprintf(stderr, "somna %s: note: %s:%zu: column %s: '%s' is not a date YYYY-MM-DD%s; night left out of "
                                "the weekly means\n",
                        CMD, input, line, t.header[c.m.date_col], date, id[0] ? "" : " (or no id)");
            }
        }
        if (json) {
            somna_json_object_begin(&j);
            somna_json_kv_int(&j, "line", (int64_t)line);
            somna_json_kv_string(&j, "id", id);
            somna_json_kv_string(&j, "date", date);
            somna_json_kv_string(&j, "status", res.scored ? "scored" : "not_scorable");
            somna_json_key(&j, "scores");
            somna_json_object_begin(&j);
            for (size_t i = 0; i < n_out; i++) {
                char nbuf[160];
                somna_json_kv_number(&j, output_name(&c, i, nbuf, sizeof nbuf), res.value[i]);
            }
            somna_json_object_end(&j);
            if (res.band)
                somna_json_kv_string(&j, "band", res.band);
            else
                somna_json_kv_null(&j, "band");
            somna_json_key(&j, "problems");
            somna_json_array_begin(&j);
            for (size_t i = 0; i < res.n_problems; i++) {
                const somna_survey_problem *p = &res.problem[i];
                const char *col = problem_column(&c, p);
                somna_json_object_begin(&j);
                if (col)
                    somna_json_kv_string(&j, "column", col);
                else
                    somna_json_kv_null(&j, "column");
                somna_json_kv_string(&j, "message", p->msg);
                somna_json_kv_bool(&j, "fatal", p->fatal);
                somna_json_object_end(&j);
            }
            somna_json_array_end(&j);
            somna_json_object_end(&j);
        } else if (!weekly) {
            fprintf(f, "%zu,", line);
            csv_cell(f, id);
            fputc(',', f);
            csv_cell(f, date);
            fputs(res.scored ? ",scored" : ",not_scorable", f);
            for (size_t i = 0; i < n_out; i++) {
                fputc(',', f);
                csv_number(f, res.value[i]);
            }
            fputc(',', f);
            csv_cell(f, res.band ? res.band : "");
            fputc(',', f);
            char buf[4096];
            problems_text(&c, &res, buf, sizeof buf);
            csv_cell(f, buf);
            fputc('\n', f);
        }
    }
    if (nights && somna_survey_diary_weeks(nights, n_nights, &weeks, &n_weeks, &err) != 0) {
        status = cli_fail(CMD, &err);
        goto done;
    }
    if (json) {
        somna_json_array_end(&j);
        if (weeks) {
            somna_json_key(&j, "weeks");
            somna_json_array_begin(&j);
        }
    } else if (weekly) {
        fputs("id,week,week_start,n_nights", f);
        for (size_t i = 0; i < n_out; i++)
            fprintf(f, ",%s", somna_survey_output_name(c.kind, i));
        fputc('\n', f);
    }
    for (size_t w = 0; w < n_weeks; w++) {
        char day[16];
        somna_survey_format_date(weeks[w].first_day, day, sizeof day);
        if (json) {
            somna_json_object_begin(&j);
            somna_json_kv_string(&j, "id", weeks[w].participant);
            somna_json_kv_int(&j, "week", weeks[w].week);
            somna_json_kv_string(&j, "week_start", day);
            somna_json_kv_int(&j, "n_nights", (int64_t)weeks[w].n_nights);
            somna_json_key(&j, "means");
            somna_json_object_begin(&j);
            for (size_t i = 0; i < n_out; i++)
                somna_json_kv_number(&j, somna_survey_output_name(c.kind, i), weeks[w].mean[i]);
            somna_json_object_end(&j);
            somna_json_key(&j, "n");
            somna_json_object_begin(&j);
            for (size_t i = 0; i < n_out; i++)
                somna_json_kv_int(&j, somna_survey_output_name(c.kind, i), (int64_t)weeks[w].n[i]);
            somna_json_object_end(&j);
            somna_json_object_end(&j);
        } else if (weekly) {
            csv_cell(f, weeks[w].participant);
            fprintf(f, ",%d,%s,%zu", weeks[w].week, day, weeks[w].n_nights);
            for (size_t i = 0; i < n_out; i++) {
                fputc(',', f);
                csv_number(f, weeks[w].mean[i]);
            }
            fputc('\n', f);
        }
    }
    if (json) {
        if (weeks)
            somna_json_array_end(&j);
        somna_json_key(&j, "summary");
        somna_json_object_begin(&j);
        somna_json_kv_int(&j, "rows", (int64_t)t.n_rows);
        somna_json_kv_int(&j, "scored", (int64_t)n_scored);
        somna_json_kv_int(&j, "not_scorable", (int64_t)(t.n_rows - n_scored));
        somna_json_key(&j, "bands");
        somna_json_object_begin(&j);
        for (size_t i = 0; i < nb; i++)
            somna_json_kv_int(&j, bands[i].band, (int64_t)bands[i].n);
        somna_json_object_end(&j);
        somna_json_object_end(&j);
        somna_json_object_end(&j);
        somna_json_finish(&j);
    }
    if (somna_outfile_commit(&of, &err) != 0) {
        of_open = 0;
        status = cli_fail(CMD, &err);
        goto done;
    }
    of_open = 0;
    if (!quiet && n_scored < t.n_rows)
        fprintf(stderr, "somna %s: %zu of %zu rows not scorable (reasons in the problems column)\n", CMD,
                t.n_rows - n_scored, t.n_rows);
    status = CLI_EXIT_OK;
done:
    if (of_open)
        somna_outfile_abort(&of);
    free(nights);
    free(weeks);
    somna_table_free(&t);
    return status;
}
