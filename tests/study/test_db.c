/* The study database suite.  Runs on a fresh SQLite file by default; with
 * SOMNA_TEST_DB_URL=postgresql://... (set by scripts/pg_test.sh, which
 * starts a throw-away PostgreSQL server) the very same tests run on
 * PostgreSQL, each on an emptied schema. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "somna/db.h"
#include "somna/parse.h"
#include "somna/stats.h"
#include "somna/study.h"
#include "test_util.h"

static char db_path[512];
static int test_no;

/* A fresh, empty database for one test. */
static somna_db *fresh_db(void)
{
    const char *url = getenv("SOMNA_TEST_DB_URL");
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_db *db = NULL;
    if (url && *url) {
        if (somna_db_open(&db, url, &err) != 0)
            fail_msg("%s", err.msg);
        if (somna_db_exec(db, "DROP SCHEMA public CASCADE; CREATE SCHEMA public", &err) != 0)
            fail_msg("%s", err.msg);
        return db;
    }
    char name[64];
    snprintf(name, sizeof name, "study_db_%d_%d.db", (int)getpid(), ++test_no);
    test_tmp_path(db_path, sizeof db_path, name);
    unlink(db_path);
    if (somna_db_open(&db, db_path, &err) != 0)
        fail_msg("%s", err.msg);
    return db;
}

static int is_pg(void)
{
    const char *url = getenv("SOMNA_TEST_DB_URL");
    return url && *url;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static const char *tmpfile_with(const char *name, const char *text, char *buf, size_t size)
{
    char n[128];
    snprintf(n, sizeof n, "%d_%s", (int)getpid(), name);
    test_tmp_path(buf, size, n);
    write_text(buf, text);
    return buf;
}

#define OK(call)                                                                                                       \
    do {                                                                                                               \
        somna_err_init(&err, NULL, NULL);                                                                              \
        if ((call) != 0)                                                                                               \
            fail_msg("%s failed: %s", #call, err.msg);                                                                 \
    } while (0)

static void test_sqlite_file_mode_0600(void **state)
{
    (void)state;
    if (is_pg())
        skip();
    somna_db *db = fresh_db();
    struct stat st;
    assert_int_equal(stat(db_path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    somna_db_close(db);
}

static void test_bound_parameters_round_trip(void **state)
{
    (void)state;
    somna_err err;
    somna_db *db = fresh_db();
    OK(somna_db_exec(db, "CREATE TABLE t (id @PK@, s TEXT, d @REAL@, i BIGINT)", &err));
    /* A value that would break SQL pasted into a statement is stored as is. */
    const char *evil = "Robert'); DROP TABLE t;-- \"quoted\" ? $1 ;";
    const double vals[] = {0.1, 1.0 / 3.0, 1e-300, -123456.789012345678, 6.02214076e23};
    for (size_t k = 0; k < 5; k++) {
        somna_dbv p[] = {somna_dbv_text(evil), somna_dbv_real(vals[k]), somna_dbv_int(INT64_C(9007199254740993))};
        int64_t id = 0;
        OK(somna_db_run(db, "INSERT INTO t (s, d, i) VALUES (?, ?, ?)", p, 3, &id, NULL, &err));
        assert_int_equal(id, (int64_t)k + 1);
    }
    somna_dbv pn[] = {somna_dbv_text(NULL), somna_dbv_real(NAN), somna_dbv_null()};
    OK(somna_db_run(db, "INSERT INTO t (s, d, i) VALUES (?, ?, ?)", pn, 3, NULL, NULL, &err));
    somna_db_result r;
    OK(somna_db_query(db, "SELECT s, d, i FROM t ORDER BY id", NULL, 0, &r, &err));
    assert_int_equal(r.n_rows, 6);
    for (size_t k = 0; k < 5; k++) {
        assert_string_equal(somna_db_get_text(&r, k, 0), evil);
        /* bit-exact doubles on both engines */
        assert_true(somna_db_get_double(&r, k, 1) == vals[k]);
        assert_true(somna_db_get_int(&r, k, 2, 0) == INT64_C(9007199254740993));
    }
    assert_null(somna_db_get_text(&r, 5, 0));
    assert_true(isnan(somna_db_get_double(&r, 5, 1)));
    assert_int_equal(somna_db_cell(&r, 5, 2)->type, SOMNA_DBV_NULL);
    somna_db_result_free(&r);
    int64_t n;
    OK(somna_db_query_int(db, "SELECT count(*) FROM t WHERE s = ?", (somna_dbv[]){somna_dbv_text(evil)}, 1, &n,
                          &err));
    assert_int_equal(n, 5);
    somna_db_close(db);
}

static void test_rollback_leaves_nothing(void **state)
{
    (void)state;
    somna_err err;
    somna_db *db = fresh_db();
    OK(somna_db_exec(db, "CREATE TABLE t (id @PK@, v BIGINT NOT NULL)", &err));
    OK(somna_db_begin(db, &err));
    somna_dbv one = somna_dbv_int(1);
    OK(somna_db_run(db, "INSERT INTO t (v) VALUES (?)", &one, 1, NULL, NULL, &err));
    somna_db_rollback(db);
    int64_t n = -1;
    OK(somna_db_query_int(db, "SELECT count(*) FROM t", NULL, 0, &n, &err));
    assert_int_equal(n, 0);
    /* A failing statement reports the database and the engine's message. */
    somna_dbv nul = somna_dbv_null();
    somna_err_init(&err, NULL, NULL);
    assert_int_equal(somna_db_run(db, "INSERT INTO t (v) VALUES (?)", &nul, 1, NULL, NULL, &err), SOMNA_E_DB);
    assert_non_null(strstr(err.msg, "executing SQL"));
    somna_db_close(db);
}

static void test_migrations(void **state)
{
    (void)state;
    somna_err err;
    somna_db *db = fresh_db();
    int v = -1;
    OK(somna_study_schema_version(db, &v, &err));
    assert_int_equal(v, 0);
    OK(somna_study_migrate(db, &err));
    OK(somna_study_schema_version(db, &v, &err));
    assert_int_equal(v, SOMNA_STUDY_SCHEMA_VERSION);
    OK(somna_study_migrate(db, &err)); /* idempotent */
    /* Upgrade path: bring the database back to version 1 (drop what
     * migration 2 added) with a row of data, then migrate again. */
    OK(somna_db_exec(db, "ALTER TABLE session DROP COLUMN end_clock; DROP VIEW outcome; "
                         "CREATE VIEW outcome AS SELECT 1 AS study_id; DELETE FROM schema_version WHERE version >= 2",
                     &err));
    OK(somna_db_exec(db, "INSERT INTO study (name, design, randomization, seed, block_size, control, outcomes, "
                         "created_at) VALUES ('old', 'crossover', 'none', '0', 2, 'c', '', 'then')",
                     &err));
    OK(somna_study_schema_version(db, &v, &err));
    assert_int_equal(v, 1);
    OK(somna_study_migrate(db, &err));
    OK(somna_study_schema_version(db, &v, &err));
    assert_int_equal(v, SOMNA_STUDY_SCHEMA_VERSION);
    int64_t kept;
    OK(somna_db_query_int(db, "SELECT count(*) FROM study WHERE name = 'old'", NULL, 0, &kept, &err));
    assert_int_equal(kept, 1);
    OK(somna_db_query_int(db, "SELECT count(end_clock) FROM session", NULL, 0, &kept, &err));
    assert_int_equal(kept, 0);
    OK(somna_db_query_int(db, "SELECT count(*) FROM outcome WHERE kind = 'biomarker'", NULL, 0, &kept, &err));
    assert_int_equal(kept, 0);
    int64_t rows;
    OK(somna_db_query_int(db, "SELECT count(*) FROM schema_version", NULL, 0, &rows, &err));
    assert_int_equal(rows, SOMNA_STUDY_SCHEMA_VERSION);
    /* A database from a newer somna is refused, not damaged. */
    OK(somna_db_exec(db, "INSERT INTO schema_version (version, applied_at) VALUES (99, 'future')", &err));
    somna_err_init(&err, NULL, NULL);
    assert_int_equal(somna_study_migrate(db, &err), SOMNA_E_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "schema version 99"));
    somna_db_close(db);
}

static const char *const CROSSOVER_DESC = "name = Nap crossover\n"
                                          "design = crossover\n"
                                          "seed = 2025\n"
                                          "psqi_min = 5\n"
                                          "condition = control | No massage | control | 0\n"
                                          "condition = relax | Relaxation massage | swedish | 30 | light | whole body\n"
                                          "condition = sports | Sports massage | sports | 30 | firm | legs\n"
                                          "outcomes = SOL\n";

static void test_description_errors_name_the_line(void **state)
{
    (void)state;
    somna_study_desc d;
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    assert_int_equal(somna_study_desc_parse("name = x\ndesign = zigzag\n", "s.txt", &d, &err), SOMNA_E_FORMAT);
    assert_non_null(strstr(err.msg, "s.txt:2: design 'zigzag' unknown"));
    assert_int_equal(somna_study_desc_parse("name = x\ndesign = parallel\ncondition = a | A | reiki\n", "s.txt", &d,
                                            &err),
                     SOMNA_E_FORMAT);
    assert_non_null(strstr(err.msg, "s.txt:3: massage type 'reiki' unknown"));
    assert_int_equal(somna_study_desc_parse("name = x\ndesign = parallel\ncondition = a | A | foot\n"
                                            "condition = b | B | control\n",
                                            "s.txt", &d, &err),
                     SOMNA_E_FORMAT);
    assert_non_null(strstr(err.msg, "needs 'seed = N'"));
    somna_err_init(&err, NULL, NULL);
    assert_int_equal(somna_study_desc_parse(CROSSOVER_DESC, "s.txt", &d, &err), 0);
    assert_int_equal(d.n_conditions, 3);
    assert_string_equal(d.control, "control");
    assert_string_equal(d.randomization, "latin-square");
    assert_true(d.conditions[1].minutes == 30);
    assert_string_equal(d.conditions[2].region, "legs");
}

static void test_enrol_screening(void **state)
{
    (void)state;
    somna_err err;
    somna_db *db = fresh_db();
    somna_study_desc d;
    OK(somna_study_desc_parse(CROSSOVER_DESC, "s.txt", &d, &err));
    int64_t sid;
    OK(somna_study_init(db, &d, &sid, &err));
    int el;
    char reason[256];
    somna_study_screen s = {"P01", 30, "F", NULL, 6, NULL, NULL};
    OK(somna_study_enrol(db, sid, &s, &el, reason, sizeof reason, &err));
    assert_int_equal(el, 1);
    assert_string_equal(reason, "eligible");
    /* PSQI > 5 is the criterion: 5 is not a poor sleeper */
    somna_study_screen s2 = {"P02", 30, "M", NULL, 5, "", NULL};
    OK(somna_study_enrol(db, sid, &s2, &el, reason, sizeof reason, &err));
    assert_int_equal(el, 0);
    assert_string_equal(reason, "PSQI global 5 <= 5 (not a poor sleeper)");
    somna_study_screen s3 = {"P03", 30, "M", NULL, 12, "none; DVT, fever", NULL};
    OK(somna_study_enrol(db, sid, &s3, &el, reason, sizeof reason, &err));
    assert_int_equal(el, 0);
    assert_string_equal(reason, "contraindication: DVT, fever");
    somna_study_screen s4 = {"P04", 30, "M", NULL, 12, "sunburnish", NULL};
    somna_err_init(&err, NULL, NULL);
    assert_int_equal(somna_study_enrol(db, sid, &s4, &el, reason, sizeof reason, &err), SOMNA_E_FORMAT);
    assert_non_null(strstr(err.msg, "contraindication 'sunburnish' unknown"));
    somna_err_init(&err, NULL, NULL);
    assert_int_equal(somna_study_enrol(db, sid, &s, &el, reason, sizeof reason, &err), SOMNA_E_ARG);
    int64_t n;
    OK(somna_db_query_int(db, "SELECT count(*) FROM participant", NULL, 0, &n, &err));
    assert_int_equal(n, 3);
    OK(somna_db_query_int(db, "SELECT count(*) FROM screening WHERE eligible = 1", NULL, 0, &n, &err));
    assert_int_equal(n, 1);
    somna_db_close(db);
}

/* Williams (1949): every condition once per row and per column; for even k
 * every ordered pair of neighbours once, for odd k (2k rows) twice. */
static void test_williams_square(void **state)
{
    (void)state;
    for (int k = 2; k <= 6; k++) {
        int rows[2 * 6 * 6];
        int nr = somna_study_williams(k, rows, 12);
        assert_int_equal(nr, k % 2 ? 2 * k : k);
        int pair[6][6] = {{0}};
        for (int r = 0; r < nr; r++) {
            int seen = 0;
            for (int j = 0; j < k; j++) {
                seen |= 1 << rows[r * k + j];
                if (j)
                    pair[rows[r * k + j - 1]][rows[r * k + j]]++;
            }
            assert_int_equal(seen, (1 << k) - 1);
        }
        for (int j = 0; j < k; j++) {
            int seen = 0;
            for (int r = 0; r < k; r++)
                seen |= 1 << rows[r * k + j];
            assert_int_equal(seen, (1 << k) - 1);
        }
        for (int a = 0; a < k; a++)
            for (int b = 0; b < k; b++)
                if (a != b)
                    assert_int_equal(pair[a][b], k % 2 ? 2 : 1);
    }
    int first[3];
    assert_int_equal(somna_study_williams(3, first, 1), -1); /* too small a buffer */
    (void)first;
}

static void test_randomize_parallel_blocks(void **state)
{
    (void)state;
    somna_err err;
    char alloc[2][16][16];
    for (int run = 0; run < 2; run++) {
        somna_db *db = fresh_db();
        somna_study_desc d;
        OK(somna_study_desc_parse("name = P\ndesign = parallel\nseed = 77\nblock_size = 4\n"
                                  "condition = a | A | foot\ncondition = b | B | control\n",
                                  "p.txt", &d, &err));
        int64_t sid;
        OK(somna_study_init(db, &d, &sid, &err));
        for (int i = 0; i < 16; i++) {
            char code[8];
            snprintf(code, sizeof code, "S%02d", i + 1);
            somna_study_screen s = {code, NAN, NULL, i < 8 ? "F" : "M", NAN, NULL, NULL};
            int el;
            char reason[128];
            OK(somna_study_enrol(db, sid, &s, &el, reason, sizeof reason, &err));
        }
        long n;
        OK(somna_study_randomize(db, sid, &n, &err));
        assert_int_equal(n, 16);
        OK(somna_study_randomize(db, sid, &n, &err)); /* nobody left */
        assert_int_equal(n, 0);
        somna_db_result r;
        OK(somna_db_query(db,
                          "SELECT p.stratum, c.code FROM participant p JOIN condition c ON c.id = p.arm_id "
                          "ORDER BY p.enrol_order",
                          NULL, 0, &r, &err));
        assert_int_equal(r.n_rows, 16);
        /* each block of 4 within a stratum holds 2 + 2 */
        for (int blk = 0; blk < 4; blk++) {
            int na = 0;
            for (int i = 0; i < 4; i++)
                na += strcmp(somna_db_get_text(&r, (size_t)(blk * 4 + i), 1), "a") == 0;
            assert_int_equal(na, 2);
        }
        for (size_t i = 0; i < 16; i++)
            somna_strlcpy(alloc[run][i], somna_db_get_text(&r, i, 1), 16);
        somna_db_result_free(&r);
        somna_db_close(db);
    }
    /* reproducible from the seed */
    for (int i = 0; i < 16; i++)
        assert_string_equal(alloc[0][i], alloc[1][i]);
}

/* A crossover with hand-checked numbers; an import that fails half-way
 * leaves nothing behind. */
static void test_crossover_import_and_analysis(void **state)
{
    (void)state;
    somna_err err;
    somna_db *db = fresh_db();
    somna_study_desc d;
    OK(somna_study_desc_parse("name = X\ndesign = crossover\nseed = 5\n"
                              "condition = control | No massage | control\n"
                              "condition = relax | Relaxation | swedish | 30\noutcomes = SOL\n",
                              "x.txt", &d, &err));
    int64_t sid;
    OK(somna_study_init(db, &d, &sid, &err));
    for (int i = 0; i < 4; i++) {
        char code[8];
        snprintf(code, sizeof code, "P%d", i + 1);
        somna_study_screen s = {code, NAN, NULL, NULL, NAN, NULL, NULL};
        int el;
        char reason[64];
        OK(somna_study_enrol(db, sid, &s, &el, reason, sizeof reason, &err));
    }
    char path[512], bad[512];
    /* SOL: control 10 12 9 11, relax 8 11 6 10 (periods balanced AB/BA) */
    tmpfile_with("measures.csv",
                 "participant,condition,period,measure,value\n"
                 "P1,control,1,SOL,10\nP1,relax,2,SOL,8\n"
                 "P2,relax,1,SOL,11\nP2,control,2,SOL,12\n"
                 "P3,control,1,SOL,9\nP3,relax,2,SOL,6\n"
                 "P4,relax,1,SOL,10\nP4,control,2,SOL,11\n",
                 path, sizeof path);
    tmpfile_with("bad.csv",
                 "participant,condition,period,measure,value\n"
                 "P1,control,3,TST,400\nP2,control,3,TST,410\nP9,control,3,TST,420\n",
                 bad, sizeof bad);
    somna_study_import_stats st;
    somna_err_init(&err, NULL, NULL);
    assert_int_equal(somna_study_import(db, sid, SOMNA_STUDY_IMPORT_MEASURES, bad, NULL, &st, &err), SOMNA_E_NOTFOUND);
    assert_non_null(strstr(err.msg, ":4: participant 'P9' is not enrolled"));
    int64_t n;
    OK(somna_db_query_int(db, "SELECT count(*) FROM measure", NULL, 0, &n, &err));
    assert_int_equal(n, 0);
    OK(somna_db_query_int(db, "SELECT count(*) FROM night", NULL, 0, &n, &err));
    assert_int_equal(n, 0);
    OK(somna_db_query_int(db, "SELECT count(*) FROM import_log", NULL, 0, &n, &err));
    assert_int_equal(n, 0);
    OK(somna_study_import(db, sid, SOMNA_STUDY_IMPORT_MEASURES, path, NULL, &st, &err));
    assert_int_equal(st.inserted, 8);
    OK(somna_study_import(db, sid, SOMNA_STUDY_IMPORT_MEASURES, path, NULL, &st, &err)); /* same file: no-op */
    assert_int_equal(st.inserted, 0);
    OK(somna_db_query_int(db, "SELECT count(*) FROM measure", NULL, 0, &n, &err));
    assert_int_equal(n, 8);
    somna_study_analysis a;
    OK(somna_study_analyze(db, sid, NULL, &a, &err));
    assert_int_equal(a.n_effects, 1);
    const somna_study_effect *e = &a.effects[0];
    assert_string_equal(e->condition, "relax");
    assert_int_equal(e->n, 4);
    assert_close_rel(e->mean, 8.75, 1e-12);
    assert_close_rel(e->ref_mean, 10.5, 1e-12);
    assert_close_rel(e->diff, -1.75, 1e-12);
    /* R 4.2: t.test(c(8,11,6,10), c(10,12,9,11), paired = TRUE) */
    assert_close_rel(e->statistic, -3.65563077506965, 1e-10);
    assert_close_rel(e->p, 0.0353528470025174, 1e-9);
    assert_close_rel(e->diff_ci_low, -3.273480180828812, 1e-10);
    assert_close_rel(e->diff_ci_high, -0.226519819171188, 1e-10);
    /* wilcox.test(..., paired = TRUE): ties -> normal approximation */
    assert_close_rel(e->p_nonparam, 0.0975125381781096, 1e-9);
    /* ratio of means: 100 * (8.75 / 10.5 - 1) */
    assert_close_rel(e->pct_change, 100.0 * (8.75 / 10.5 - 1.0), 1e-12);
    /* balanced AB/BA: the mixed-model condition effect equals the mean difference */
    assert_close_rel(e->lmm_estimate, -1.75, 1e-8);
    assert_int_equal(a.n_cells, 2);
    somna_study_analysis_free(&a);
    somna_db_close(db);
}

static int64_t setup_study(somna_db *db, const char *desc, const char *const *codes, size_t n)
{
    somna_err err;
    somna_study_desc d;
    OK(somna_study_desc_parse(desc, "t.txt", &d, &err));
    int64_t sid;
    OK(somna_study_init(db, &d, &sid, &err));
    for (size_t i = 0; i < n; i++) {
        somna_study_screen s = {codes[i], NAN, NULL, NULL, NAN, NULL, NULL};
        int el;
        char reason[64];
        OK(somna_study_enrol(db, sid, &s, &el, reason, sizeof reason, &err));
    }
    return sid;
}

/* Dose-response: within-subject slope of the outcome on session minutes. */
static void test_dose_response_slope(void **state)
{
    (void)state;
    somna_err err;
    somna_db *db = fresh_db();
    static const char *const codes[] = {"A", "B", "C"};
    int64_t sid = setup_study(db,
                              "name = D\ndesign = dose-response\nseed = 1\ncondition = d0 | none | control | 0\n"
                              "condition = d30 | 30 min | swedish | 30\ncondition = d60 | 60 min | swedish | 60\n"
                              "outcomes = y\n",
                              codes, 3);
    char path[512];
    tmpfile_with("dose.csv",
                 "participant,condition,period,measure,value\n"
                 "A,d0,1,y,20\nA,d30,2,y,18\nA,d60,3,y,15\n"
                 "B,d30,1,y,17\nB,d60,2,y,14\nB,d0,3,y,21\n"
                 "C,d60,1,y,12\nC,d0,2,y,19\nC,d30,3,y,16.5\n",
                 path, sizeof path);
    somna_study_import_stats st;
    OK(somna_study_import(db, sid, SOMNA_STUDY_IMPORT_MEASURES, path, NULL, &st, &err));
    somna_study_analysis a;
    OK(somna_study_analyze(db, sid, NULL, &a, &err));
    const somna_study_effect *slope = NULL;
    for (size_t i = 0; i < a.n_effects; i++)
        if (strcmp(a.effects[i].test, "lmm-slope") == 0)
            slope = &a.effects[i];
    assert_non_null(slope);
    /* R 4.2, lmerTest: lmer(y ~ minutes + factor(period) + (1 | id)) */
    assert_close_rel(slope->lmm_estimate, -1.05555555555556e-01, 1e-6);
    assert_close_rel(slope->lmm_se, 4.14086655849162e-03, 1e-5);
    assert_close_rel(slope->p_lmm, 1.32403745631347e-04, 1e-4);
    somna_study_analysis_free(&a);
    somna_db_close(db);
}

/* N-of-1: the analysis is the stats engine's randomization test on the
 * participant's nights in date order. */
static void test_nof1_equals_stats_engine(void **state)
{
    (void)state;
    somna_err err;
    somna_db *db = fresh_db();
    static const char *const codes[] = {"Z"};
    int64_t sid = setup_study(db,
                              "name = N\ndesign = n-of-1\ncondition = off | no massage | control\n"
                              "condition = on | massage | back | 10\noutcomes = SOL\n",
                              codes, 1);
    static const double y[12] = {30, 22, 28, 31, 18, 27, 29, 20, 33, 26, 17, 30};
    static const int on[12] = {0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0};
    char text[2048] = "participant,condition,date,time_index,measure,value\n";
    for (int i = 0; i < 12; i++) {
        size_t l = strlen(text);
        snprintf(text + l, sizeof text - l, "Z,%s,2026-03-%02d,%d,SOL,%g\n", on[i] ? "on" : "off", i + 1, i + 1, y[i]);
    }
    char path[512];
    tmpfile_with("nof1.csv", text, path, sizeof path);
    somna_study_import_stats st;
    OK(somna_study_import(db, sid, SOMNA_STUDY_IMPORT_MEASURES, path, NULL, &st, &err));
    somna_study_analysis a;
    somna_study_analyze_opts ao = {NULL, "Z", NULL, NULL};
    OK(somna_study_analyze(db, sid, &ao, &a, &err));
    assert_int_equal(a.n_effects, 1);
    somna_stats_nof1_opts o;
    somna_stats_nof1_defaults(&o);
    o.seed = 0; /* the study's seed (none given) */
    o.n_boot = 2000;
    somna_stats_nof1_result r;
    OK(somna_stats_nof1(y, on, 12, &o, &r, &err));
    const somna_study_effect *e = &a.effects[0];
    /* by hand: on-nights 22 18 20 17 (mean 19.25), off-nights mean 29.25 */
    assert_close_rel(e->mean, 19.25, 1e-12);
    assert_close_rel(e->ref_mean, 29.25, 1e-12);
    assert_close_rel(e->p, r.p, 1e-12);
    assert_close_rel(e->effect_ci_low, r.pct_ci_low, 1e-12);
    somna_study_analysis_free(&a);
    somna_db_close(db);
}

static void test_biomarkers_and_export(void **state)
{
    (void)state;
    somna_err err;
    somna_db *db = fresh_db();
    static const char *const codes[] = {"P1", "P2"};
    int64_t sid = setup_study(db, CROSSOVER_DESC, codes, 2);
    char path[512];
    tmpfile_with("bio_bad.csv", "participant,condition,name,timing,value,unit\nP1,relax,cortisol,pre,12.5,nmol/L\n"
                                "P1,relax,cortisol,after,9.1,nmol/L\n",
                 path, sizeof path);
    somna_study_import_stats st;
    somna_err_init(&err, NULL, NULL);
    assert_int_equal(somna_study_import(db, sid, SOMNA_STUDY_IMPORT_BIOMARKERS, path, NULL, &st, &err), SOMNA_E_FORMAT);
    assert_non_null(strstr(err.msg, ":3: timing 'after' is neither pre nor post"));
    tmpfile_with("bio.csv", "participant,condition,name,timing,value,unit\nP1,relax,cortisol,pre,12.5,nmol/L\n"
                            "P1,relax,cortisol,post,9.1,nmol/L\nP2,relax,melatonin,pre,NA,pg/mL\n",
                 path, sizeof path);
    OK(somna_study_import(db, sid, SOMNA_STUDY_IMPORT_BIOMARKERS, path, NULL, &st, &err));
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    OK(somna_study_export(db, sid, "biomarkers", "csv", mem, &err));
    fclose(mem);
    assert_string_equal(buf, "participant,condition,period,name,timing,value,unit\n"
                             "P1,relax,NA,cortisol,post,9.1,nmol/L\n"
                             "P1,relax,NA,cortisol,pre,12.5,nmol/L\n"
                             "P2,relax,NA,melatonin,pre,NA,pg/mL\n");
    free(buf);
    /* the outcome view: NAME_pre, NAME_post and NAME_change = post - pre */
    somna_db_result r;
    OK(somna_db_query(db, "SELECT measure, value FROM outcome WHERE kind = 'biomarker' ORDER BY measure, participant",
                      NULL, 0, &r, &err));
    assert_int_equal(r.n_rows, 4);
    assert_string_equal(somna_db_get_text(&r, 0, 0), "cortisol_change");
    assert_close_rel(somna_db_get_double(&r, 0, 1), 9.1 - 12.5, 1e-12);
    assert_string_equal(somna_db_get_text(&r, 3, 0), "melatonin_pre");
    assert_true(isnan(somna_db_get_double(&r, 3, 1)));
    somna_db_result_free(&r);
    somna_err_init(&err, NULL, NULL);
    assert_int_equal(somna_study_export(db, sid, "names", "csv", stdout, &err), SOMNA_E_ARG);
    somna_db_close(db);
}

/* A password in the URL never reaches a message. */
static void test_url_password_not_in_messages(void **state)
{
    (void)state;
    somna_db *db = NULL;
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    assert_int_equal(somna_db_open(&db, "postgresql://alice:s3cr3t@127.0.0.1:1/x?connect_timeout=2", &err),
                     SOMNA_E_DB);
    assert_null(db);
    assert_null(strstr(err.msg, "s3cr3t"));
    assert_non_null(strstr(err.msg, "postgresql://alice:***@127.0.0.1:1/x"));
    somna_err_init(&err, NULL, NULL);
    assert_int_equal(somna_db_open(&db, "host=127.0.0.1 port=1 password=pw dbname=x connect_timeout=2", &err),
                     SOMNA_E_DB);
    assert_null(strstr(err.msg, "=pw "));
    assert_non_null(strstr(err.msg, "password=*** dbname=x"));
}

/* Pre-post in one arm: paired follow-up vs baseline, and for the PSQI the
 * poor -> good sleeper change by McNemar's test. */
static void test_prepost_psqi_mcnemar(void **state)
{
    (void)state;
    somna_err err;
    somna_db *db = fresh_db();
    static const char *const codes[] = {"A", "B", "C", "D", "E"};
    int64_t sid = setup_study(db,
                              "name = F\ndesign = prepost\nseed = 4\n"
                              "condition = foot | Foot massage | foot | 20 | moderate | feet\noutcomes = PSQI\n",
                              codes, 5);
    char path[512];
    tmpfile_with("psqi.csv",
                 "participant,timepoint,PSQI\nA,pre,9\nA,post,4\nB,pre,11\nB,post,9\nC,pre,8\nC,post,5\n"
                 "D,pre,12\nD,post,8\nE,pre,7\nE,post,3\n",
                 path, sizeof path);
    somna_study_import_stats st;
    somna_study_import_opts io;
    memset(&io, 0, sizeof io);
    io.instrument = "PSQI";
    OK(somna_study_import(db, sid, SOMNA_STUDY_IMPORT_QUESTIONNAIRE, path, &io, &st, &err));
    somna_study_analysis a;
    OK(somna_study_analyze(db, sid, NULL, &a, &err));
    assert_int_equal(a.n_effects, 2);
    /* R: t.test(c(4,9,5,8,3), c(9,11,8,12,7), paired = TRUE) */
    assert_string_equal(a.effects[0].test, "paired-t");
    assert_close_rel(a.effects[0].diff, -3.6, 1e-12);
    assert_close_rel(a.effects[0].p, 0.00212288305383947, 1e-9);
    /* all 5 poor before, 3 good after: binom.test(3, 3) p = 0.25;
     * mcnemar.test(matrix(c(2, 0, 3, 0), 2)) p = 0.248213078989924 */
    const somna_study_effect *m = &a.effects[1];
    assert_string_equal(m->test, "mcnemar");
    assert_close_rel(m->ref_mean, 0.0, 1e-12);
    assert_close_rel(m->mean, 60.0, 1e-12);
    assert_close_rel(m->p, 0.25, 1e-12);
    assert_close_rel(m->p_nonparam, 0.248213078989924, 1e-9);
    somna_study_analysis_free(&a);
    somna_db_close(db);
}

/* The description parser on 5000 mutated files: an answer (0 or a message
 * naming the file), never a crash (run under ASan/UBSan by check.sh). */
static void test_description_mutations(void **state)
{
    (void)state;
    char buf[1024];
    uint32_t x = 12345u;
    for (int it = 0; it < 5000; it++) {
        size_t len = strlen(CROSSOVER_DESC);
        memcpy(buf, CROSSOVER_DESC, len + 1);
        int edits = 1 + it % 8;
        for (int e = 0; e < edits; e++) {
            x = x * 1664525u + 1013904223u; /* Numerical Recipes LCG */
            size_t pos = (x >> 8) % len;
            static const char pool[] = "|=#\n,;\\ \t0123456789-eE.xX\x01\xff";
            x = x * 1664525u + 1013904223u;
            buf[pos] = pool[(x >> 8) % (sizeof pool - 1)];
        }
        somna_study_desc d;
        somna_err err;
        somna_err_init(&err, NULL, NULL);
        int rc = somna_study_desc_parse(buf, "m.txt", &d, &err);
        if (rc != 0)
            assert_non_null(strstr(err.msg, "m.txt"));
        else
            assert_true(d.n_conditions >= 1 && d.n_conditions <= SOMNA_STUDY_MAX_CONDITIONS);
    }
}

/* Parallel arms of different session lengths: the between-arm dose slope. */
static void test_parallel_dose_slope(void **state)
{
    (void)state;
    somna_err err;
    somna_db *db = fresh_db();
    static const char *const codes[] = {"S01", "S02", "S03", "S04", "S05", "S06", "S07", "S08"};
    int64_t sid = setup_study(db,
                              "name = PD\ndesign = parallel\nseed = 2\ncondition = m30 | 30 min | swedish | 30\n"
                              "condition = m60 | 60 min | swedish | 60\ncondition = m90 | 90 min | swedish | 90\n"
                              "condition = m120 | 120 min | swedish | 120\ncontrol = m30\noutcomes = y\n",
                              codes, 8);
    static const double y[16] = {20, 19, 18, 18.5, 17, 16, 16.5, 15, 15, 15.5, 14, 13, 13.5, 12, 12, 12.5};
    static const char *const arm[8] = {"m30", "m30", "m60", "m60", "m90", "m90", "m120", "m120"};
    char text[2048] = "participant,condition,occasion,time_index,measure,value\n";
    for (int i = 0; i < 16; i++) {
        size_t l = strlen(text);
        snprintf(text + l, sizeof text - l, "%s,%s,w%d,%d,y,%g\n", codes[i / 2], arm[i / 2], i % 2 + 1, i % 2 + 1,
                 y[i]);
    }
    char path[512];
    tmpfile_with("pdose.csv", text, path, sizeof path);
    somna_study_import_stats st;
    OK(somna_study_import(db, sid, SOMNA_STUDY_IMPORT_MEASURES, path, NULL, &st, &err));
    somna_study_analysis a;
    OK(somna_study_analyze(db, sid, NULL, &a, &err));
    const somna_study_effect *slope = NULL;
    for (size_t i = 0; i < a.n_effects; i++)
        if (strcmp(a.effects[i].test, "lmm-slope") == 0)
            slope = &a.effects[i];
    assert_non_null(slope);
    /* R 4.2, lmerTest: lmer(y ~ minutes + visit + (1 | id)) */
    assert_close_rel(slope->lmm_estimate, -0.069583333333333414, 1e-6);
    assert_close_rel(slope->lmm_se, 0.007731758754824632, 1e-5);
    assert_close_rel(slope->lmm_df, 5.999999896524371934, 1e-5);
    assert_close_rel(slope->p_lmm, 0.000105292757152094, 1e-4);
    somna_study_analysis_free(&a);
    somna_db_close(db);
}

/* A session's surface EMG file becomes a `session` occasion of that
 * session (sessions column emg); in the analysis sEMG_* outcomes come only
 * from session occasions and every other outcome only from the others. */
static void test_session_occasions_in_analysis(void **state)
{
    (void)state;
    somna_err err;
    somna_db *db = fresh_db();
    static const char *const codes[] = {"P1", "P2", "P3", "P4"};
    int64_t sid = setup_study(db,
                              "name = X\ndesign = crossover\nseed = 5\n"
                              "condition = control | No massage | control\n"
                              "condition = relax | Relaxation | swedish | 30\n"
                              "outcomes = SOL, sEMG_RMS_change_pct\n",
                              codes, 4);
    char ses[512], meas[512], semg[512];
    tmpfile_with("p1_semg.edf", "only hashed at import\n", semg, sizeof semg);
    const char *slash = strrchr(semg, '/');
    char text[1024];
    snprintf(text, sizeof text,
             "participant,condition,period,minutes,semg\nP1,control,1,0,%s\nP1,relax,2,30,\n", slash ? slash + 1 : semg);
    tmpfile_with("ses_semg.csv", text, ses, sizeof ses);
    somna_study_import_stats st;
    OK(somna_study_import(db, sid, SOMNA_STUDY_IMPORT_SESSIONS, ses, NULL, &st, &err));
    int64_t n;
    OK(somna_db_query_int(db,
                          "SELECT count(*) FROM night n JOIN recording r ON r.night_id = n.id JOIN session s ON "
                          "s.id = n.session_id WHERE n.kind = 'session' AND n.label = 'session 1' AND n.period = 1 "
                          "AND n.time_index = 1 AND r.kind = 'semg' AND s.period = 1 AND n.condition_id = s.condition_id",
                          NULL, 0, &n, &err));
    assert_int_equal(n, 1);
    OK(somna_db_query_int(db, "SELECT count(*) FROM night", NULL, 0, &n, &err));
    assert_int_equal(n, 1); /* the session without a file has no occasion */
    /* SOL on nights: control 10 12 9 11, relax 8 11 6 10 (diff -1.75);
     * sEMG_RMS_change_pct on session occasions: control -1 0 -2 1, relax
     * -8 -6 -9 -5 (diff -6.5); plus a SOL on a session occasion and an
     * sEMG value on a night, which must both be left out */
    tmpfile_with("m_semg.csv",
                 "participant,condition,period,kind,occasion,measure,value\n"
                 "P1,control,1,night,n1,SOL,10\nP1,relax,2,night,n2,SOL,8\n"
                 "P2,relax,1,night,n1,SOL,11\nP2,control,2,night,n2,SOL,12\n"
                 "P3,control,1,night,n1,SOL,9\nP3,relax,2,night,n2,SOL,6\n"
                 "P4,relax,1,night,n1,SOL,10\nP4,control,2,night,n2,SOL,11\n"
                 "P1,control,1,session,session 1,sEMG_RMS_change_pct,-1\n"
                 "P1,relax,2,session,session 2,sEMG_RMS_change_pct,-8\n"
                 "P2,relax,1,session,session 1,sEMG_RMS_change_pct,-6\n"
                 "P2,control,2,session,session 2,sEMG_RMS_change_pct,0\n"
                 "P3,control,1,session,session 1,sEMG_RMS_change_pct,-2\n"
                 "P3,relax,2,session,session 2,sEMG_RMS_change_pct,-9\n"
                 "P4,relax,1,session,session 1,sEMG_RMS_change_pct,-5\n"
                 "P4,control,2,session,session 2,sEMG_RMS_change_pct,1\n"
                 "P1,control,1,session,session 1,SOL,50\n"
                 "P2,relax,1,night,n1,sEMG_RMS_change_pct,100\n",
                 meas, sizeof meas);
    OK(somna_study_import(db, sid, SOMNA_STUDY_IMPORT_MEASURES, meas, NULL, &st, &err));
    OK(somna_db_query_int(db, "SELECT count(*) FROM night WHERE kind = 'session'", NULL, 0, &n, &err));
    assert_int_equal(n, 8); /* P1's session 1 from the sessions import is reused */
    somna_study_analysis a;
    OK(somna_study_analyze(db, sid, NULL, &a, &err));
    int seen = 0;
    for (size_t i = 0; i < a.n_effects; i++) {
        const somna_study_effect *e = &a.effects[i];
        assert_int_equal(e->n, 4);
        if (strcmp(e->measure, "SOL") == 0) {
            assert_close_rel(e->diff, -1.75, 1e-12);
            assert_close_rel(e->ref_mean, 10.5, 1e-12);
            seen |= 1;
        } else if (strcmp(e->measure, "sEMG_RMS_change_pct") == 0) {
            assert_close_rel(e->diff, -6.5, 1e-12);
            assert_close_rel(e->mean, -7.0, 1e-12);
            assert_close_rel(e->ref_mean, -0.5, 1e-12);
            seen |= 2;
        }
    }
    assert_int_equal(seen, 3);
    somna_study_analysis_free(&a);
    somna_db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sqlite_file_mode_0600),
        cmocka_unit_test(test_bound_parameters_round_trip),
        cmocka_unit_test(test_rollback_leaves_nothing),
        cmocka_unit_test(test_migrations),
        cmocka_unit_test(test_description_errors_name_the_line),
        cmocka_unit_test(test_enrol_screening),
        cmocka_unit_test(test_williams_square),
        cmocka_unit_test(test_randomize_parallel_blocks),
        cmocka_unit_test(test_crossover_import_and_analysis),
        cmocka_unit_test(test_dose_response_slope),
        cmocka_unit_test(test_nof1_equals_stats_engine),
        cmocka_unit_test(test_biomarkers_and_export),
        cmocka_unit_test(test_url_password_not_in_messages),
        cmocka_unit_test(test_prepost_psqi_mcnemar),
        cmocka_unit_test(test_description_mutations),
        cmocka_unit_test(test_parallel_dose_slope),
        cmocka_unit_test(test_session_occasions_in_analysis),
    };
    if (is_pg())
        fprintf(stderr, "study DB suite on PostgreSQL: %s\n", getenv("SOMNA_TEST_DB_URL"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
