/* Tidy export of study tables as CSV (RFC 4180 quoting) or JSON. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "somna/json.h"
#include "somna/parse.h"
#include "somna/study.h"

static const struct {
    const char *name, *sql;
} tables[] = {
    {"outcomes", "SELECT participant, condition, period, kind, occasion, time_index, measure, source, value, "
                 "null_reason, drifted_off, session_minutes FROM outcome WHERE study_id = ? "
                 "ORDER BY measure, participant_pk, period, time_index, occasion"},
    {"participants", "SELECT p.code AS participant, p.age, p.sex, p.stratum, p.status, c.code AS arm, p.sequence, "
                     "p.randomized_at FROM participant p LEFT JOIN condition c ON c.id = p.arm_id "
                     "WHERE p.study_id = ? ORDER BY p.enrol_order"},
    {"screening", "SELECT p.code AS participant, s.screened_on, s.psqi_global, s.contraindications, s.eligible, "
                  "s.reason FROM screening s JOIN participant p ON p.id = s.participant_id WHERE p.study_id = ? "
                  "ORDER BY p.enrol_order"},
    {"sessions", "SELECT p.code AS participant, c.code AS condition, s.period, s.start_time, s.minutes, s.therapist, "
                 "s.drifted_off FROM session s JOIN participant p ON p.id = s.participant_id "
                 "JOIN condition c ON c.id = s.condition_id WHERE p.study_id = ? ORDER BY p.enrol_order, s.period"},
    {"nights", "SELECT p.code AS participant, c.code AS condition, n.period, n.kind, n.label, n.time_index, "
               "n.night_date, n.lights_off, n.lights_on, n.hours_since_session FROM night n "
               "JOIN participant p ON p.id = n.participant_id LEFT JOIN condition c ON c.id = n.condition_id "
               "WHERE p.study_id = ? ORDER BY p.enrol_order, n.period, n.time_index, n.label"},
    {"recordings", "SELECT p.code AS participant, n.label AS night, r.kind, r.path, r.sha256, r.bytes FROM recording r "
                   "JOIN night n ON n.id = r.night_id JOIN participant p ON p.id = n.participant_id "
                   "WHERE p.study_id = ? ORDER BY p.enrol_order, n.label, r.kind"},
    {"biomarkers", "SELECT p.code AS participant, c.code AS condition, b.period, b.name, b.timing, b.value, b.unit "
                   "FROM biomarker b JOIN participant p ON p.id = b.participant_id LEFT JOIN condition c ON "
                   "c.id = b.condition_id WHERE p.study_id = ? ORDER BY p.enrol_order, b.period, b.name, b.timing"},
    {"process_log", "SELECT r.path, l.module, l.somna_version, l.params, l.status, l.message, l.ran_at "
                    "FROM process_log l JOIN recording r ON r.id = l.recording_id JOIN night n ON n.id = r.night_id "
                    "JOIN participant p ON p.id = n.participant_id WHERE p.study_id = ? ORDER BY l.id"},
};

static void csv_text(FILE *out, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

int somna_study_export(somna_db *db, int64_t study_id, const char *table, const char *format, FILE *out,
                       somna_err *err)
{
    const char *sql = NULL;
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
        if (strcmp(tables[i].name, table) == 0)
            sql = tables[i].sql;
    if (!sql)
        return somna_fail(err, SOMNA_E_ARG,
                          "table '%s' unknown (outcomes, participants, screening, sessions, nights, recordings, "
                          "biomarkers, process_log)",
                          table);
    int json = strcmp(format, "json") == 0;
    if (!json && strcmp(format, "csv") != 0)
        return somna_fail(err, SOMNA_E_ARG, "format '%s' unknown (csv or json)", format);
    somna_dbv p = somna_dbv_int(study_id);
    somna_db_result r;
    int rc = somna_db_query(db, sql, &p, 1, &r, err);
    if (rc)
        return rc;
    if (json) {
        somna_json j;
        somna_json_init(&j, out, 1);
        somna_json_array_begin(&j);
        for (size_t i = 0; i < r.n_rows; i++) {
            somna_json_object_begin(&j);
            for (size_t c = 0; c < r.n_cols; c++) {
                const somna_dbv *v = somna_db_cell(&r, i, c);
                somna_json_key(&j, r.names[c]);
                switch (v->type) {
                case SOMNA_DBV_INT:
                    somna_json_int(&j, v->i);
                    break;
                case SOMNA_DBV_REAL:
                    somna_json_number(&j, v->d);
                    break;
                case SOMNA_DBV_TEXT:
                    somna_json_string(&j, v->s);
                    break;
                default:
                    somna_json_null(&j);
                }
            }
            somna_json_object_end(&j);
        }
        somna_json_array_end(&j);
        somna_json_finish(&j);
    } else {
        for (size_t c = 0; c < r.n_cols; c++) {
            if (c)
                fputc(',', out);
            csv_text(out, r.names[c]);
        }
        fputc('\n', out);
        for (size_t i = 0; i < r.n_rows; i++) {
            for (size_t c = 0; c < r.n_cols; c++) {
                const somna_dbv *v = somna_db_cell(&r, i, c);
                char buf[40];
                if (c)
                    fputc(',', out);
                switch (v->type) {
                case SOMNA_DBV_INT:
                    fprintf(out, "%lld", (long long)v->i);
                    break;
                case SOMNA_DBV_REAL:
                    somna_format_double(buf, sizeof buf, v->d);
                    fputs(buf, out);
                    break;
                case SOMNA_DBV_TEXT:
                    csv_text(out, v->s);
                    break;
                default:
                    fputs("NA", out);
                }
            }
            fputc('\n', out);
        }
    }
    somna_db_result_free(&r);
    if (ferror(out))
        return somna_fail(err, SOMNA_E_IO, "write error while exporting %s", table);
    return SOMNA_OK;
}
