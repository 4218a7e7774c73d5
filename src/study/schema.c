/* Study database schema and its migrations.
 *
 * The schema is a list of migrations; migration k brings version k-1 to k
 * and runs in its own transaction together with the version row, so a
 * database is always at exactly one version.  Never edit a released
 * migration: append a new one.  SQL uses the engine tokens of somna/db.h
 * (@PK@, @REAL@) so one text serves SQLite and PostgreSQL.
 */
#include <stdlib.h>
#include <string.h>

#include "somna/study.h"
#include "study/study_internal.h"

/* The parts of the `outcome` view (shared by the migrations that
 * recreate it).  The session of a night is the one linked at import, or
 * else the one matching participant + condition + period (session logs
 * may be imported after the manifest). */
#define OUTCOME_MEASURES_AND_SCORES \
    " SELECT p.study_id, p.code AS participant, p.id AS participant_pk, n.kind, n.label AS occasion," \
    "   n.time_index, n.period, COALESCE(c.code, a.code) AS condition, m.name AS measure, m.source," \
    "   m.value, m.null_reason, s.drifted_off, s.minutes AS session_minutes" \
    " FROM measure m JOIN night n ON n.id = m.night_id JOIN participant p ON p.id = n.participant_id" \
    "   LEFT JOIN condition c ON c.id = n.condition_id LEFT JOIN condition a ON a.id = p.arm_id" \
    "   LEFT JOIN session s ON s.id = COALESCE(n.session_id, (SELECT min(s2.id) FROM session s2" \
    "     WHERE s2.participant_id = n.participant_id AND s2.condition_id = n.condition_id" \
    "     AND (s2.period = n.period OR s2.period IS NULL)))" \
    " UNION ALL" \
    " SELECT p.study_id, p.code, p.id, 'questionnaire', q.timepoint, NULL, q.period," \
    "   COALESCE(c.code, a.code), CASE WHEN q.score = 'total' THEN q.instrument" \
    "   ELSE q.instrument || '_' || q.score END, 'questionnaire', q.value, NULL, s.drifted_off, s.minutes" \
    " FROM questionnaire q JOIN participant p ON p.id = q.participant_id" \
    "   LEFT JOIN condition c ON c.id = q.condition_id LEFT JOIN condition a ON a.id = p.arm_id" \
    "   LEFT JOIN session s ON s.participant_id = q.participant_id AND s.condition_id = q.condition_id" \
    "     AND s.period = q.period"

/* Migration 1: the initial schema (one string per statement). */
static const char *const migration1[] = {
    "CREATE TABLE study ("
    "  id @PK@, name TEXT NOT NULL UNIQUE, design TEXT NOT NULL, randomization TEXT NOT NULL,"
    "  seed TEXT NOT NULL, block_size BIGINT NOT NULL, psqi_min @REAL@, control TEXT NOT NULL,"
    "  outcomes TEXT NOT NULL, created_at TEXT NOT NULL);",
    "CREATE TABLE condition ("
    "  id @PK@, study_id BIGINT NOT NULL REFERENCES study(id), code TEXT NOT NULL, label TEXT NOT NULL,"
    "  massage_type TEXT NOT NULL, minutes @REAL@, pressure TEXT NOT NULL, region TEXT NOT NULL,"
    "  ord BIGINT NOT NULL, UNIQUE (study_id, code));",
    "CREATE TABLE import_log ("
    "  id @PK@, study_id BIGINT NOT NULL REFERENCES study(id), kind TEXT NOT NULL, source TEXT NOT NULL,"
    "  sha256 TEXT NOT NULL, n_rows BIGINT NOT NULL, imported_at TEXT NOT NULL);",
    /* Pseudonymous code only: there is deliberately no column for a name. */
    "CREATE TABLE participant ("
    "  id @PK@, study_id BIGINT NOT NULL REFERENCES study(id), code TEXT NOT NULL, age @REAL@, sex TEXT,"
    "  stratum TEXT NOT NULL, status TEXT NOT NULL, enrol_order BIGINT NOT NULL,"
    "  arm_id BIGINT REFERENCES condition(id), sequence TEXT, randomized_at TEXT,"
    "  UNIQUE (study_id, code));",
    "CREATE TABLE screening ("
    "  id @PK@, participant_id BIGINT NOT NULL REFERENCES participant(id), screened_on TEXT,"
    "  psqi_global @REAL@, contraindications TEXT NOT NULL, eligible BIGINT NOT NULL, reason TEXT NOT NULL);",
    "CREATE TABLE session ("
    "  id @PK@, participant_id BIGINT NOT NULL REFERENCES participant(id),"
    "  condition_id BIGINT NOT NULL REFERENCES condition(id), period BIGINT, start_time TEXT, minutes @REAL@,"
    "  therapist TEXT, drifted_off BIGINT, import_id BIGINT REFERENCES import_log(id),"
    "  UNIQUE (participant_id, condition_id, period));",
    /* A night, a nap, or (for diary studies) a visit/week of aggregates. */
    "CREATE TABLE night ("
    "  id @PK@, participant_id BIGINT NOT NULL REFERENCES participant(id),"
    "  condition_id BIGINT REFERENCES condition(id), session_id BIGINT REFERENCES session(id), period BIGINT,"
    "  kind TEXT NOT NULL, label TEXT NOT NULL, time_index @REAL@, night_date TEXT, lights_off TEXT,"
    "  lights_on TEXT, hours_since_session @REAL@, import_id BIGINT REFERENCES import_log(id),"
    "  UNIQUE (participant_id, kind, label));",
    "CREATE TABLE recording ("
    "  id @PK@, night_id BIGINT NOT NULL REFERENCES night(id), kind TEXT NOT NULL, path TEXT NOT NULL,"
    "  sha256 TEXT NOT NULL, bytes BIGINT NOT NULL, import_id BIGINT REFERENCES import_log(id),"
    "  UNIQUE (night_id, kind, path));",
    /* One row per night x measure x source, with what produced it. */
    "CREATE TABLE measure ("
    "  id @PK@, night_id BIGINT NOT NULL REFERENCES night(id), name TEXT NOT NULL, value @REAL@,"
    "  null_reason TEXT, source TEXT NOT NULL, somna_version TEXT NOT NULL, params TEXT NOT NULL,"
    "  import_id BIGINT REFERENCES import_log(id), UNIQUE (night_id, name, source));",
    "CREATE TABLE questionnaire ("
    "  id @PK@, participant_id BIGINT NOT NULL REFERENCES participant(id),"
    "  condition_id BIGINT REFERENCES condition(id), period BIGINT, night_id BIGINT REFERENCES night(id),"
    "  instrument TEXT NOT NULL, timepoint TEXT NOT NULL, score TEXT NOT NULL, value @REAL@,"
    "  import_id BIGINT REFERENCES import_log(id),"
    "  UNIQUE (participant_id, instrument, timepoint, score, period));",
    "CREATE TABLE biomarker ("
    "  id @PK@, participant_id BIGINT NOT NULL REFERENCES participant(id),"
    "  condition_id BIGINT REFERENCES condition(id), period BIGINT, name TEXT NOT NULL,"
    "  timing TEXT NOT NULL CHECK (timing IN ('pre', 'post')), value @REAL@, unit TEXT NOT NULL,"
    "  import_id BIGINT REFERENCES import_log(id));",
    "CREATE TABLE process_log ("
    "  id @PK@, recording_id BIGINT NOT NULL REFERENCES recording(id), module TEXT NOT NULL,"
    "  somna_version TEXT NOT NULL, params TEXT NOT NULL, status TEXT NOT NULL, message TEXT NOT NULL,"
    "  ran_at TEXT NOT NULL);",
    "CREATE INDEX measure_name ON measure(name);",
    "CREATE INDEX night_participant ON night(participant_id);",
    /* Every outcome value with its design context, measures and
     * questionnaire scores alike; the analysis and the export read this. */
    "CREATE VIEW outcome AS" OUTCOME_MEASURES_AND_SCORES ";",
    NULL,
};

/* Migration 2: the clock time a massage session ended, so that a night's
 * "time since session end" can be derived from its lights-off time. */
static const char *const migration2[] = {
    "ALTER TABLE session ADD COLUMN end_clock TEXT;",
    NULL,
};

/* Migration 3: biomarkers join the outcome view, as NAME_pre, NAME_post
 * and the within-session change NAME_change (post - pre). */
static const char *const migration3[] = {
    "DROP VIEW outcome;",
    "CREATE VIEW outcome AS" OUTCOME_MEASURES_AND_SCORES
    " UNION ALL"
    " SELECT p.study_id, p.code, p.id, 'biomarker', b.timing, NULL, b.period, COALESCE(c.code, a.code),"
    "   b.name || '_' || b.timing, 'biomarker', b.value, NULL, s.drifted_off, s.minutes"
    " FROM biomarker b JOIN participant p ON p.id = b.participant_id"
    "   LEFT JOIN condition c ON c.id = b.condition_id LEFT JOIN condition a ON a.id = p.arm_id"
    "   LEFT JOIN session s ON s.participant_id = b.participant_id AND s.condition_id = b.condition_id"
    "     AND s.period = b.period"
    " UNION ALL"
    " SELECT p.study_id, p.code, p.id, 'biomarker', 'change', NULL, pre.period, COALESCE(c.code, a.code),"
    "   pre.name || '_change', 'biomarker', post.value - pre.value, NULL, s.drifted_off, s.minutes"
    " FROM biomarker pre JOIN biomarker post ON post.participant_id = pre.participant_id"
    "   AND post.name = pre.name AND pre.timing = 'pre' AND post.timing = 'post'"
    "   AND post.condition_id IS NOT DISTINCT FROM pre.condition_id AND post.period IS NOT DISTINCT FROM pre.period"
    "   JOIN participant p ON p.id = pre.participant_id"
    "   LEFT JOIN condition c ON c.id = pre.condition_id LEFT JOIN condition a ON a.id = p.arm_id"
    "   LEFT JOIN session s ON s.participant_id = pre.participant_id AND s.condition_id = pre.condition_id"
    "     AND s.period = pre.period;",
    NULL,
};

static const char *const *const migrations[] = {migration1, migration2, migration3};

static const int n_migrations = (int)(sizeof migrations / sizeof migrations[0]);
_Static_assert(sizeof migrations / sizeof migrations[0] == SOMNA_STUDY_SCHEMA_VERSION,
               "SOMNA_STUDY_SCHEMA_VERSION must equal the number of migrations");

int somna_study_schema_version(somna_db *db, int *version, somna_err *err)
{
    *version = 0;
    /* Reading the version never writes: a database that is not (yet) a
     * somna study stays untouched. */
    int64_t exists = 0;
    int rc = somna_db_query_int(db,
                                somna_db_engine(db) == SOMNA_DB_SQLITE
                                    ? "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
                                    : "SELECT count(*) FROM information_schema.tables WHERE table_name = "
                                      "'schema_version' AND table_schema = current_schema()",
                                NULL, 0, &exists, err);
    if (rc || !exists)
        return rc;
    somna_db_result r;
    rc = somna_db_query(db, "SELECT max(version) FROM schema_version", NULL, 0, &r, err);
    if (rc)
        return rc;
    if (r.n_rows == 1)
        *version = (int)somna_db_get_int(&r, 0, 0, 0);
    somna_db_result_free(&r);
    return SOMNA_OK;
}

int somna_study_migrate(somna_db *db, somna_err *err)
{
    int v;
    int rc = somna_db_exec(db, "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL, "
                               "applied_at TEXT NOT NULL)", err);
    if (!rc)
        rc = somna_study_schema_version(db, &v, err);
    if (rc)
        return rc;
    if (v > n_migrations)
        return somna_fail(err, SOMNA_E_UNSUPPORTED,
                          "%s: database schema version %d is newer than this somna (%d); upgrade somna",
                          somna_db_name(db), v, n_migrations);
    for (int k = v; k < n_migrations; k++) {
        if ((rc = somna_db_begin(db, err)))
            return rc;
        /* Re-check inside the transaction: another process may have migrated. */
        int now;
        if ((rc = somna_study_schema_version(db, &now, err))) {
            somna_db_rollback(db);
            return rc;
        }
        if (now > k) {
            somna_db_rollback(db);
            continue;
        }
        somna_dbv p = somna_dbv_int(k + 1);
        rc = SOMNA_OK;
        for (size_t q = 0; !rc && migrations[k][q]; q++)
            rc = somna_db_exec(db, migrations[k][q], err);
        if (!rc)
            rc = somna_db_run(db, "INSERT INTO schema_version (version, applied_at) VALUES (?, @NOW@)", &p, 1,
                              NULL, NULL, err);
        if ((rc = somna_db_end(db, rc, err))) {
            somna_err_prefix(err, "schema migration %d", k + 1);
            return rc;
        }
    }
    return SOMNA_OK;
}
