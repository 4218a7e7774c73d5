/* Imports: session logs, manifests of nights with their files, questionnaire
 * scores, tidy measures, biomarkers, and wide one-row-per-participant
 * tables.  Every import is exactly one transaction (begin ... commit), and
 * the import_log row is written in the same transaction, so after a crash
 * the database either has the whole file or nothing of it. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/dynlib.h"
#include "somna/parse.h"
#include "somna/study.h"
#include "somna/survey.h"
#include "somna/table.h"
#include "somna/version.h"
#include "study/study_internal.h"

/* SHA-256 (FIPS 180-4) through OpenSSL's EVP interface.  libcrypto is
 * opened per call (core/dynlib.h): only imports hash files, and after the
 * first call dlopen is a reference count.  OpenSSL >= 1.1 initialises
 * itself on first use, so no OPENSSL_init_crypto call is needed. */
#define EVP_FUNCS(X) X(MD_CTX_new) X(MD_CTX_free) X(sha256) X(DigestInit_ex) X(DigestUpdate) X(DigestFinal_ex)
#define EVP_MEMBER(f) SOMNA_DYNLIB_MEMBER(EVP_, f)
#define EVP_SYM(f) SOMNA_DYNLIB_SYM(evp_api, EVP_, f)

typedef struct evp_api {
    EVP_FUNCS(EVP_MEMBER)
} evp_api;

static const somna_dynlib_sym evp_syms[] = {EVP_FUNCS(EVP_SYM)};
static const somna_dynlib_spec evp_lib = {SOMNA_SONAME_LIBCRYPTO, "SHA-256 checksums of imported files",
                                          SOMNA_DEBPKG_LIBCRYPTO, evp_syms, sizeof evp_syms / sizeof evp_syms[0]};

int somna_study_sha256_file(const char *path, char hex[65], uint64_t *bytes, somna_err *err)
{
    evp_api evp;
    void *lib;
    int rc = somna_dynlib_open(&evp_lib, 0, &lib, &evp, err);
    if (rc) {
        somna_err_prefix(err, "%s", path);
        return rc;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        somna_dynlib_close(lib);
        return somna_fail(err, SOMNA_E_IO, "%s: cannot open: %s", path, strerror(e));
    }
    EVP_MD_CTX *ctx = evp.MD_CTX_new();
    if (!ctx || evp.DigestInit_ex(ctx, evp.sha256(), NULL) != 1) {
        evp.MD_CTX_free(ctx);
        fclose(f);
        somna_dynlib_close(lib);
        return somna_fail(err, SOMNA_E_NOMEM, "%s: cannot start SHA-256", path);
    }
    unsigned char buf[1 << 16];
    uint64_t total = 0;
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        evp.DigestUpdate(ctx, buf, n);
        total += n;
    }
    int bad = ferror(f);
    fclose(f);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    evp.DigestFinal_ex(ctx, md, &mdlen);
    evp.MD_CTX_free(ctx);
    somna_dynlib_close(lib);
    if (bad)
        return somna_fail(err, SOMNA_E_IO, "%s: read error", path);
    for (unsigned i = 0; i < mdlen && i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    hex[64] = '\0';
    if (bytes)
        *bytes = total;
    return SOMNA_OK;
}

/* ---- shared context --------------------------------------------------------------------- */

typedef struct imp {
    somna_db *db;
    int64_t study_id;
    int64_t import_id;
    somna_study_import_kind kind;
    const char *path;
    somna_table t;
    somna_study_import_stats *st;
    somna_err *err;
    long delay_ms;
    char dir[PATH_MAX]; /* directory of the imported file, for relative paths */
    /* Look-ups repeat row after row (same participant, condition, night):
     * a small cache saves a database round trip each, which on a remote
     * PostgreSQL server is most of an import's time. */
    struct imp_cache {
        char key[112];
        int64_t id;
    } cache[256];
    unsigned cache_next;
} imp;

static int cache_get(const imp *m, const char *key, int64_t *id)
{
    for (size_t i = 0; i < sizeof m->cache / sizeof m->cache[0]; i++)
        if (m->cache[i].key[0] && strcmp(m->cache[i].key, key) == 0) {
            *id = m->cache[i].id;
            return 1;
        }
    return 0;
}

static void cache_put(imp *m, const char *key, int64_t id)
{
    struct imp_cache *c = &m->cache[m->cache_next++ % (sizeof m->cache / sizeof m->cache[0])];
    if (somna_strlcpy(c->key, key, sizeof c->key) >= sizeof c->key)
        c->key[0] = '\0'; /* too long to cache: looked up every time */
    c->id = id;
}

static long col_any(const somna_table *t, const char *const *names)
{
    for (size_t i = 0; names[i]; i++) {
        long c = somna_table_col(t, names[i]);
        if (c >= 0)
            return c;
    }
    return -1;
}

static const char *const C_PART[] = {"participant", "participant_id", "subject", "id", NULL};
static const char *const C_COND[] = {"condition", "arm", "group", NULL};
static const char *const C_PERIOD[] = {"period", "visit_number", NULL};

static int need_col(imp *m, const char *const *names, size_t *col)
{
    long c = col_any(&m->t, names);
    if (c < 0)
        return somna_table_require_col(&m->t, names[0], col, m->err);
    *col = (size_t)c;
    return SOMNA_OK;
}

static const char *cell(imp *m, size_t row, long col)
{
    if (col < 0 || somna_table_is_missing(&m->t, row, (size_t)col))
        return NULL;
    return somna_table_cell(&m->t, row, (size_t)col);
}

static int row_fail(imp *m, size_t row, int code, const char *fmt, ...) SOMNA_PRINTF(4, 5);
static int row_fail(imp *m, size_t row, int code, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return somna_fail(m->err, code, "%s:%zu: %s", m->path, m->t.line[row], msg);
}

/* A night's label: the row's own label column, else "period N", else its
 * date; with none of them the row fails with the message `need`. */
static int night_label(imp *m, size_t row, long col, int64_t period, const char *date, const char *need, char *label,
                       size_t size)
{
    if (cell(m, row, col))
        somna_strlcpy(label, cell(m, row, col), size);
    else if (period > 0)
        snprintf(label, size, "period %" PRId64, period);
    else if (date)
        somna_strlcpy(label, date, size);
    else
        return row_fail(m, row, SOMNA_E_FORMAT, "%s", need);
    return SOMNA_OK;
}

static int cell_double(imp *m, size_t row, long col, double *out)
{
    *out = NAN;
    if (col < 0 || somna_table_is_missing(&m->t, row, (size_t)col))
        return SOMNA_OK;
    return somna_table_get_double(&m->t, row, (size_t)col, out, m->err);
}

static int cell_period(imp *m, size_t row, long col, int64_t *out)
{
    *out = -1;
    const char *s = cell(m, row, col);
    if (!s)
        return SOMNA_OK;
    if (somna_parse_int64_str(s, out) != 0 || *out < 1 || *out > 1000)
        return somna_fail(m->err, SOMNA_E_FORMAT, "%s:%zu: column %s: period '%s' is not an integer 1..1000",
                          m->path, m->t.line[row], m->t.header[col], s);
    return SOMNA_OK;
}

static somna_dbv period_v(int64_t p)
{
    return p > 0 ? somna_dbv_int(p) : somna_dbv_null();
}

static int find_participant(imp *m, size_t row, const char *code, int64_t *pid)
{
    char key[112];
    snprintf(key, sizeof key, "p\x1f%.100s", code);
    if (strlen(code) <= 100 && cache_get(m, key, pid))
        return SOMNA_OK;
    somna_dbv p[] = {somna_dbv_int(m->study_id), somna_dbv_text(code)};
    int rc = somna_db_query_int(m->db, "SELECT id FROM participant WHERE study_id = ? AND code = ?", p, 2, pid, NULL);
    if (rc == SOMNA_OK && strlen(code) <= 100)
        cache_put(m, key, *pid);
    if (rc == SOMNA_E_NOTFOUND)
        return row_fail(m, row, SOMNA_E_NOTFOUND, "participant '%s' is not enrolled in this study%s", code, "");
    if (rc)
        return somna_fail(m->err, rc, "%s:%zu: database lookup of participant '%s' failed", m->path, m->t.line[row],
                          code);
    return SOMNA_OK;
}

/* Condition id by code; *cid = 0 when code is NULL. */
static int find_condition(imp *m, size_t row, const char *code, int64_t *cid)
{
    *cid = 0;
    if (!code)
        return SOMNA_OK;
    char key[112];
    snprintf(key, sizeof key, "c\x1f%.100s", code);
    if (strlen(code) <= 100 && cache_get(m, key, cid))
        return SOMNA_OK;
    somna_dbv p[] = {somna_dbv_int(m->study_id), somna_dbv_text(code)};
    int rc = somna_db_query_int(m->db, "SELECT id FROM condition WHERE study_id = ? AND code = ?", p, 2, cid, NULL);
    if (rc == SOMNA_OK && strlen(code) <= 100)
        cache_put(m, key, *cid);
    if (rc == SOMNA_E_NOTFOUND)
        return row_fail(m, row, SOMNA_E_NOTFOUND, "condition '%s' is not one of the study's conditions%s", code, "");
    return rc ? somna_fail(m->err, rc, "%s: condition lookup failed", m->path) : SOMNA_OK;
}

/* The condition a participant had in a period (from the crossover sequence
 * or the parallel arm), when a file gives the period but not the condition. */
static int condition_of_period(imp *m, int64_t pid, int64_t period, int64_t *cid)
{
    *cid = 0;
    somna_db_result r;
    somna_dbv p = somna_dbv_int(pid);
    int rc = somna_db_query(m->db, "SELECT arm_id, sequence FROM participant WHERE id = ?", &p, 1, &r, m->err);
    if (rc)
        return rc;
    if (r.n_rows == 1) {
        int64_t arm = somna_db_get_int(&r, 0, 0, 0);
        const char *seq = somna_db_get_text(&r, 0, 1);
        if (arm) {
            *cid = arm;
        } else if (seq && period > 0) {
            char buf[600];
            somna_strlcpy(buf, seq, sizeof buf);
            char *s = buf;
            for (int64_t k = 1; s && k < period; k++) {
                s = strchr(s, ',');
                if (s)
                    s++;
            }
            if (s) {
                s[strcspn(s, ",")] = '\0';
                somna_dbv q[] = {somna_dbv_int(m->study_id), somna_dbv_text(s)};
                if (somna_db_query_int(m->db, "SELECT id FROM condition WHERE study_id = ? AND code = ?", q, 2, cid,
                                       NULL) != 0)
                    *cid = 0;
            }
        }
    }
    somna_db_result_free(&r);
    return SOMNA_OK;
}

static int find_session(imp *m, int64_t pid, int64_t cid, int64_t period, int64_t *sid)
{
    *sid = 0;
    if (!cid)
        return SOMNA_OK;
    /* sessions are only added by the sessions import, never during this
     * lookup, so a cached answer (also "none" = 0) stays true */
    char key[112];
    snprintf(key, sizeof key, "s\x1f%lld\x1f%lld\x1f%lld", (long long)pid, (long long)cid, (long long)period);
    if (m->kind != SOMNA_STUDY_IMPORT_SESSIONS && cache_get(m, key, sid))
        return SOMNA_OK;
    somna_db_result r;
    somna_dbv p[] = {somna_dbv_int(pid), somna_dbv_int(cid), somna_dbv_int(period > 0 ? period : -1)};
    int rc = somna_db_query(m->db,
                            "SELECT id FROM session WHERE participant_id = ? AND condition_id = ? "
                            "AND (period = ? OR period IS NULL) ORDER BY id",
                            p, 3, &r, m->err);
    if (rc)
        return rc;
    if (r.n_rows >= 1)
        *sid = somna_db_get_int(&r, 0, 0, 0);
    somna_db_result_free(&r);
    cache_put(m, key, *sid);
    return SOMNA_OK;
}

typedef struct night_spec {
    int64_t pid, cid, sid, period;
    const char *kind, *label, *date, *lights_off, *lights_on;
    double time_index, hours_since;
} night_spec;

/* A night row's keys: participant, condition and period (then the number
 * in column c_num into *num, when num is given), the condition of that
 * period when the row names none, and the session of that night. */
static int night_keys(imp *m, size_t row, const char *code, long c_cond, long c_period, long c_num, double *num,
                      night_spec *n)
{
    int rc;
    if ((rc = find_participant(m, row, code, &n->pid)) ||
        (rc = find_condition(m, row, cell(m, row, c_cond), &n->cid)) ||
        (rc = cell_period(m, row, c_period, &n->period)) || (num && (rc = cell_double(m, row, c_num, num))))
        return rc;
    if (!n->cid && n->period > 0 && (rc = condition_of_period(m, n->pid, n->period, &n->cid)))
        return rc;
    return find_session(m, n->pid, n->cid, n->period, &n->sid);
}

static int get_or_create_night(imp *m, const night_spec *n, int64_t *nid)
{
    char key[112];
    snprintf(key, sizeof key, "n\x1f%lld\x1f%.20s\x1f%.64s", (long long)n->pid, n->kind, n->label);
    int cacheable = strlen(n->kind) <= 20 && strlen(n->label) <= 64;
    if (cacheable && cache_get(m, key, nid))
        return SOMNA_OK;
    somna_dbv k[] = {somna_dbv_int(n->pid), somna_dbv_text(n->kind), somna_dbv_text(n->label)};
    int rc = somna_db_query_int(m->db, "SELECT id FROM night WHERE participant_id = ? AND kind = ? AND label = ?", k, 3,
                                nid, NULL);
    if (rc == SOMNA_OK) {
        if (cacheable)
            cache_put(m, key, *nid);
        return SOMNA_OK;
    }
    somna_dbv p[] = {somna_dbv_int(n->pid),
                     n->cid ? somna_dbv_int(n->cid) : somna_dbv_null(),
                     n->sid ? somna_dbv_int(n->sid) : somna_dbv_null(),
                     period_v(n->period),
                     somna_dbv_text(n->kind),
                     somna_dbv_text(n->label),
                     somna_dbv_real(n->time_index),
                     somna_dbv_text(n->date),
                     somna_dbv_text(n->lights_off),
                     somna_dbv_text(n->lights_on),
                     somna_dbv_real(n->hours_since),
                     somna_dbv_int(m->import_id)};
    rc = somna_db_run(m->db,
                      "INSERT INTO night (participant_id, condition_id, session_id, period, kind, label, "
                      "time_index, night_date, lights_off, lights_on, hours_since_session, import_id) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      p, 12, nid, NULL, m->err);
    if (rc == SOMNA_OK && cacheable)
        cache_put(m, key, *nid);
    return rc;
}

static int parse_bool(const char *s, int64_t *out)
{
    *out = -1;
    if (!s)
        return 0;
    if (somna_strieq(s, "1") || somna_strieq(s, "yes") || somna_strieq(s, "y") || somna_strieq(s, "true"))
        *out = 1;
    else if (somna_strieq(s, "0") || somna_strieq(s, "no") || somna_strieq(s, "n") || somna_strieq(s, "false"))
        *out = 0;
    else
        return -1;
    return 0;
}

static void test_delay(const imp *m)
{
    if (m->delay_ms > 0) {
        struct timespec ts = {m->delay_ms / 1000, (m->delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* ---- session log ----------------------------------------------------------------------------- */

static int add_recording(imp *m, size_t row, int64_t nid, const char *kind, const char *rel);

/* A session's surface EMG file is kept as an occasion of the session: a
 * `night` row of kind `session` (label "session N": N = the period, else the
 * participant's next session number; unique per participant)
 * carrying the session's condition and period, with the file as a
 * recording of kind `semg`.  Its measures then reach the `outcome` view
 * like any other occasion's. */
static int add_session_semg(imp *m, size_t row, int64_t pid, int64_t cid, int64_t sid, int64_t period,
                            const char *rel)
{
    char label[64];
    int64_t ord = period;
    if (ord <= 0) {
        /* no period: the participant's next session number, so that the
         * k-th sessions of all participants share one occasion */
        somna_dbv q = somna_dbv_int(pid);
        int rc = somna_db_query_int(m->db, "SELECT count(*) FROM night WHERE participant_id = ? AND kind = 'session'",
                                    &q, 1, &ord, m->err);
        if (rc)
            return rc;
        for (ord++;; ord++) {
            int64_t existing;
            snprintf(label, sizeof label, "session %" PRId64, ord);
            somna_dbv k[] = {somna_dbv_int(pid), somna_dbv_text(label)};
            if (somna_db_query_int(m->db, "SELECT id FROM night WHERE participant_id = ? AND kind = 'session' AND label = ?",
                                   k, 2, &existing, NULL) != SOMNA_OK)
                break;
        }
    }
    snprintf(label, sizeof label, "session %" PRId64, ord);
    night_spec n = {0};
    n.pid = pid;
    n.cid = cid;
    n.sid = sid;
    n.period = period;
    n.kind = "session";
    n.label = label;
    n.time_index = (double)ord;
    n.hours_since = NAN;
    int64_t nid;
    int rc = get_or_create_night(m, &n, &nid);
    if (!rc)
        rc = add_recording(m, row, nid, "semg", rel);
    return rc;
}

/* Participants whose allocation was made outside somna (sealed envelopes, a
 * simulator, another system) show it in the session log.  For each one not
 * yet randomized here, record it from the log — the condition order by period
 * (crossover) or the one condition of all sessions (parallel and pre-post) —
 * so that the participant flow counts them as allocated.  A log that does not
 * determine the allocation (a period missing or given twice, mixed arms) is
 * left alone rather than guessed. */
static int record_allocation_from_sessions(imp *m)
{
    somna_dbv sp = somna_dbv_int(m->study_id);
    somna_db_result d;
    int rc = somna_db_query(m->db, "SELECT design FROM study WHERE id = ?", &sp, 1, &d, m->err);
    if (rc)
        return rc;
    const char *dname = d.n_rows ? somna_db_get_text(&d, 0, 0) : NULL;
    int crossover = dname && somna_study_design_parse(dname) == SOMNA_STUDY_CROSSOVER;
    somna_db_result_free(&d);

    somna_db_result r;
    rc = somna_db_query(m->db,
                        "SELECT s.participant_id, s.period, c.code, c.id FROM session s "
                        "JOIN participant pa ON pa.id = s.participant_id JOIN condition c ON c.id = s.condition_id "
                        "WHERE pa.study_id = ? AND pa.randomized_at IS NULL "
                        "ORDER BY s.participant_id, s.period",
                        &sp, 1, &r, m->err);
    if (rc)
        return rc;
    for (size_t i = 0; !rc && i < r.n_rows;) {
        int64_t pid = somna_db_get_int(&r, i, 0, 0);
        size_t j = i;
        while (j < r.n_rows && somna_db_get_int(&r, j, 0, 0) == pid)
            j++;
        char seq[600] = "";
        size_t used = 0;
        int ok = 1;
        int64_t arm = somna_db_get_int(&r, i, 3, 0);
        for (size_t k = i; k < j && ok; k++) {
            if (crossover) {
                /* periods must run 1, 2, ... k without gaps or repeats */
                if (somna_db_get_int(&r, k, 1, -1) != (int64_t)(k - i + 1)) {
                    ok = 0;
                    break;
                }
                const char *code = somna_db_get_text(&r, k, 2);
                int w = snprintf(seq + used, sizeof seq - used, "%s%s", k > i ? "," : "", code ? code : "");
                if (w < 0 || (size_t)w >= sizeof seq - used)
                    ok = 0;
                else
                    used += (size_t)w;
            } else if (somna_db_get_int(&r, k, 3, 0) != arm) {
                ok = 0;
            }
        }
        if (ok) {
            somna_dbv p[] = {crossover ? somna_dbv_null() : somna_dbv_int(arm),
                             crossover ? somna_dbv_text(seq) : somna_dbv_null(), somna_dbv_int(pid)};
            rc = somna_db_run(m->db,
                              "UPDATE participant SET arm_id = ?, sequence = ?, status = 'randomized', "
                              "randomized_at = @NOW@ WHERE id = ?",
                              p, 3, NULL, NULL, m->err);
        }
        i = j;
    }
    somna_db_result_free(&r);
    return rc;
}

static int import_sessions(imp *m)
{
    size_t c_part, c_cond;
    int rc = need_col(m, C_PART, &c_part);
    if (!rc)
        rc = need_col(m, C_COND, &c_cond);
    if (rc)
        return rc;
    static const char *const C_START[] = {"start", "start_time", "datetime", "date", NULL};
    static const char *const C_MIN[] = {"minutes", "massage_min", "duration_min", NULL};
    static const char *const C_THER[] = {"therapist", NULL};
    static const char *const C_DRIFT[] = {"drifted_off", "fell_asleep", "asleep_on_table", NULL};
    static const char *const C_END[] = {"end", "end_time", "massage_end", NULL};
    static const char *const C_SCLOCK[] = {"massage_start", "start_clock", NULL};
    /* the massaged muscle's surface EMG recorded during the session */
    static const char *const C_SEMG[] = {"emg", "semg", "surface_emg", NULL};
    long c_period = col_any(&m->t, C_PERIOD), c_start = col_any(&m->t, C_START), c_min = col_any(&m->t, C_MIN),
         c_ther = col_any(&m->t, C_THER), c_drift = col_any(&m->t, C_DRIFT), c_end = col_any(&m->t, C_END),
         c_sclock = col_any(&m->t, C_SCLOCK), c_semg = col_any(&m->t, C_SEMG);
    for (size_t i = 0; !rc && i < m->t.n_rows; i++) {
        int64_t pid, cid, period, drift;
        double minutes;
        const char *code = somna_table_cell(&m->t, i, c_part);
        if ((rc = find_participant(m, i, code, &pid)) || (rc = find_condition(m, i, cell(m, i, (long)c_cond), &cid)) ||
            (rc = cell_period(m, i, c_period, &period)) || (rc = cell_double(m, i, c_min, &minutes)))
            break;
        if (!cid) {
            rc = row_fail(m, i, SOMNA_E_FORMAT, "column %s is empty%s", m->t.header[c_cond], "");
            break;
        }
        if (parse_bool(cell(m, i, c_drift), &drift) != 0) {
            rc = row_fail(m, i, SOMNA_E_FORMAT, "column %s: '%s' is not yes/no/1/0", m->t.header[c_drift],
                          cell(m, i, c_drift));
            break;
        }
        if (!isnan(minutes) && (minutes < 0 || minutes > 600)) {
            rc = row_fail(m, i, SOMNA_E_FORMAT, "massage minutes '%s' outside 0..600%s", cell(m, i, c_min), "");
            break;
        }
        /* end of the massage as a clock time: given, or start clock + minutes */
        char end[16] = "";
        double sec;
        const char *e = cell(m, i, c_end), *sc = cell(m, i, c_sclock);
        if (e) {
            if (somna_parse_clock(e, &sec) != 0) {
                rc = row_fail(m, i, SOMNA_E_FORMAT, "column %s: '%s' is not a clock time HH:MM[:SS]",
                              m->t.header[c_end], e);
                break;
            }
        } else if (sc && !isnan(minutes) && somna_parse_clock(sc, &sec) == 0) {
            sec = fmod(sec + 60.0 * minutes, 86400.0);
        } else {
            sec = -1;
        }
        if (sec >= 0) {
            long t = lround(sec);
            snprintf(end, sizeof end, "%02ld:%02ld:%02ld", (t / 3600) % 24, (t / 60) % 60, t % 60);
        }
        somna_dbv p[] = {somna_dbv_int(pid),
                         somna_dbv_int(cid),
                         period_v(period),
                         somna_dbv_text(cell(m, i, c_start)),
                         somna_dbv_real(minutes),
                         somna_dbv_text(cell(m, i, c_ther)),
                         drift >= 0 ? somna_dbv_int(drift) : somna_dbv_null(),
                         somna_dbv_int(m->import_id),
                         somna_dbv_text(end[0] ? end : NULL)};
        int64_t sid = 0;
        rc = somna_db_run(m->db,
                          "INSERT INTO session (participant_id, condition_id, period, start_time, minutes, therapist, "
                          "drifted_off, import_id, end_clock) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                          p, 9, &sid, NULL, m->err);
        if (rc) {
            somna_err_prefix(m->err, "%s:%zu", m->path, m->t.line[i]);
            break;
        }
        if (cell(m, i, c_semg) && (rc = add_session_semg(m, i, pid, cid, sid, period, cell(m, i, c_semg))))
            break;
        m->st->inserted++;
        test_delay(m);
    }
    if (!rc)
        rc = record_allocation_from_sessions(m);
    return rc;
}

/* ---- manifest of nights ------------------------------------------------------------------------ */

static int add_recording(imp *m, size_t row, int64_t nid, const char *kind, const char *rel)
{
    char path[PATH_MAX], resolved[PATH_MAX];
    if (rel[0] == '/')
        somna_strlcpy(path, rel, sizeof path);
    else if (snprintf(path, sizeof path, "%s/%s", m->dir, rel) >= (int)sizeof path)
        return somna_fail(m->err, SOMNA_E_ARG, "%s:%zu: path of %s file too long", m->path, m->t.line[row], kind);
    if (!realpath(path, resolved))
        return somna_fail(m->err, SOMNA_E_IO, "%s:%zu: %s file %s: %s", m->path, m->t.line[row], kind, path,
                          strerror(errno));
    char hex[65];
    uint64_t bytes;
    int rc = somna_study_sha256_file(resolved, hex, &bytes, m->err);
    if (rc)
        return rc;
    somna_dbv k[] = {somna_dbv_int(nid), somna_dbv_text(kind), somna_dbv_text(resolved)};
    int64_t existing;
    if (somna_db_query_int(m->db, "SELECT id FROM recording WHERE night_id = ? AND kind = ? AND path = ?", k, 3,
                           &existing, NULL) == SOMNA_OK)
        return somna_fail(m->err, SOMNA_E_ARG, "%s:%zu: %s file %s is already linked to this night", m->path,
                          m->t.line[row], kind, resolved);
    somna_dbv p[] = {somna_dbv_int(nid), somna_dbv_text(kind), somna_dbv_text(resolved), somna_dbv_text(hex),
                     somna_dbv_int((int64_t)bytes), somna_dbv_int(m->import_id)};
    return somna_db_run(m->db,
                        "INSERT INTO recording (night_id, kind, path, sha256, bytes, import_id) VALUES (?, ?, ?, ?, ?, ?)",
                        p, 6, NULL, NULL, m->err);
}

static int import_manifest(imp *m)
{
    size_t c_part;
    int rc = need_col(m, C_PART, &c_part);
    if (rc)
        return rc;
    static const char *const C_KIND[] = {"kind", "type", NULL};
    static const char *const C_DATE[] = {"date", "night_date", NULL};
    static const char *const C_LOFF[] = {"lights_off", NULL};
    static const char *const C_LON[] = {"lights_on", NULL};
    static const char *const C_HS[] = {"hours_since_session", "time_since_session_h", NULL};
    static const char *const C_LABEL[] = {"label", "night", "occasion", NULL};
    long c_cond = col_any(&m->t, C_COND), c_period = col_any(&m->t, C_PERIOD), c_kind = col_any(&m->t, C_KIND),
         c_date = col_any(&m->t, C_DATE), c_loff = col_any(&m->t, C_LOFF), c_lon = col_any(&m->t, C_LON),
         c_hs = col_any(&m->t, C_HS), c_label = col_any(&m->t, C_LABEL);
    /* file columns -> recording kinds */
    static const struct {
        const char *col, *kind;
    } files[] = {{"hypnogram", "hypnogram"}, {"recording", "psg"}, {"edf", "psg"},   {"psg", "psg"},
                 {"ecg", "ecg"},             {"rr", "rr"},         {"rpeaks", "rr"}, {"emg", "emg"}};
    long c_files[sizeof files / sizeof files[0]];
    int any_file = 0;
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        c_files[f] = somna_table_col(&m->t, files[f].col);
        any_file |= c_files[f] >= 0;
    }
    if (!any_file)
        return somna_fail(m->err, SOMNA_E_FORMAT,
                          "%s: a manifest needs at least one file column (hypnogram, recording/edf/psg, ecg, rr)",
                          m->path);
    for (size_t i = 0; !rc && i < m->t.n_rows; i++) {
        night_spec n = {0};
        n.time_index = NAN;
        const char *code = somna_table_cell(&m->t, i, c_part);
        if ((rc = night_keys(m, i, code, c_cond, c_period, c_hs, &n.hours_since, &n)))
            break;
        n.kind = cell(m, i, c_kind) ? cell(m, i, c_kind) : "night";
        if (!somna_strieq(n.kind, "night") && !somna_strieq(n.kind, "nap")) {
            rc = row_fail(m, i, SOMNA_E_FORMAT, "kind '%s' is neither night nor nap%s", n.kind, "");
            break;
        }
        n.kind = somna_strieq(n.kind, "nap") ? "nap" : "night";
        n.date = cell(m, i, c_date);
        n.lights_off = cell(m, i, c_loff);
        n.lights_on = cell(m, i, c_lon);
        double sec;
        if ((n.lights_off && somna_parse_clock(n.lights_off, &sec) != 0) ||
            (n.lights_on && somna_parse_clock(n.lights_on, &sec) != 0)) {
            rc = row_fail(m, i, SOMNA_E_FORMAT, "lights_off/lights_on '%s' '%s' is not a clock time HH:MM[:SS]",
                          n.lights_off, n.lights_on);
            break;
        }
        char label[64];
        if ((rc = night_label(m, i, c_label, n.period, n.date, "a night needs a period, a date or a label column",
                              label, sizeof label)))
            break;
        n.label = label;
        n.time_index = n.period > 0 ? (double)n.period : NAN;
        /* time from the end of the massage to lights off (within a day) */
        if (isnan(n.hours_since) && n.sid && n.lights_off) {
            somna_db_result sr;
            somna_dbv sp = somna_dbv_int(n.sid);
            if ((rc = somna_db_query(m->db, "SELECT end_clock FROM session WHERE id = ?", &sp, 1, &sr, m->err)))
                break;
            double se, lo;
            const char *ec = sr.n_rows ? somna_db_get_text(&sr, 0, 0) : NULL;
            if (ec && somna_parse_clock(ec, &se) == 0 && somna_parse_clock(n.lights_off, &lo) == 0)
                n.hours_since = fmod(lo - se + 86400.0, 86400.0) / 3600.0;
            somna_db_result_free(&sr);
        }
        int64_t nid;
        if ((rc = get_or_create_night(m, &n, &nid)))
            break;
        /* a night first created by another import (measures) gets the
         * manifest's details where it has none */
        somna_dbv up[] = {somna_dbv_text(n.date),        somna_dbv_text(n.lights_off),
                          somna_dbv_text(n.lights_on),   somna_dbv_real(n.hours_since),
                          n.sid ? somna_dbv_int(n.sid) : somna_dbv_null(),
                          n.cid ? somna_dbv_int(n.cid) : somna_dbv_null(), somna_dbv_int(nid)};
        if ((rc = somna_db_run(m->db,
                               "UPDATE night SET night_date = COALESCE(night_date, ?), lights_off = COALESCE(lights_off, "
                               "?), lights_on = COALESCE(lights_on, ?), hours_since_session = "
                               "COALESCE(hours_since_session, ?), session_id = COALESCE(session_id, ?), condition_id = "
                               "COALESCE(condition_id, ?) WHERE id = ?",
                               up, 7, NULL, NULL, m->err)))
            break;
        for (size_t f = 0; !rc && f < sizeof files / sizeof files[0]; f++) {
            const char *rel = cell(m, i, c_files[f]);
            if (rel)
                rc = add_recording(m, i, nid, files[f].kind, rel);
        }
        if (rc)
            break;
        m->st->inserted++;
        test_delay(m);
    }
    return rc;
}

static int in_list_ci(const char *const *list, const char *s)
{
    for (size_t i = 0; list[i]; i++)
        if (somna_strieq(list[i], s))
            return 1;
    return 0;
}

/* ---- scores and measures ------------------------------------------------------------------------- */

static int is_context_col(const char *h)
{
    static const char *const ctx[] = {"participant", "participant_id", "subject", "id", "condition", "arm", "group",
                                      "period", "session", "visit_number", "timepoint", "date", "instrument",
                                      "session_id", "time", "when", "questionnaire",
                                      "kind", "label", "occasion", "night", NULL};
    return in_list_ci(ctx, h);
}

static int insert_score(imp *m, size_t row, int64_t pid, int64_t cid, int64_t period, const char *instrument,
                        const char *timepoint, const char *score, double value)
{
    somna_dbv p[] = {somna_dbv_int(pid),       cid ? somna_dbv_int(cid) : somna_dbv_null(),
                     period_v(period),         somna_dbv_text(instrument),
                     somna_dbv_text(timepoint), somna_dbv_text(score),
                     somna_dbv_real(value),    somna_dbv_int(m->import_id)};
    int rc = somna_db_run(m->db,
                          "INSERT INTO questionnaire (participant_id, condition_id, period, instrument, timepoint, "
                          "score, value, import_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                          p, 8, NULL, NULL, m->err);
    if (rc)
        somna_err_prefix(m->err, "%s:%zu", m->path, m->t.line[row]);
    return rc;
}

/* Item-level questionnaires are scored by the survey module (its standard
 * item names, e.g. rcsq_1..rcsq_5, psqi_01..psqi_09); the main score is
 * stored as 'total', the other outputs under their names. */
typedef struct item_ctx {
    imp *m;
    size_t row;
    somna_survey_kind kind;
    long *col; /* per survey field: table column or -1 */
} item_ctx;

static const char *item_get(void *vctx, const char *field)
{
    item_ctx *c = vctx;
    size_t nf = somna_survey_n_fields(c->kind, NULL);
    for (size_t i = 0; i < nf; i++)
        if (strcmp(somna_survey_field_name(c->kind, NULL, i), field) == 0)
            return c->col[i] >= 0 ? cell(c->m, c->row, c->col[i]) : NULL;
    return NULL;
}

/* The table column of each of the first nf survey fields (-1 absent) into
 * col; returns how many were found. */
static size_t item_columns(const imp *m, somna_survey_kind kind, long *col, size_t nf)
{
    size_t found = 0;
    for (size_t i = 0; i < nf; i++) {
        col[i] = -1;
        for (size_t c = 0; c < m->t.n_cols; c++)
            if (somna_survey_field_matches(kind, NULL, i, m->t.header[c])) {
                col[i] = (long)c;
                found++;
                break;
            }
    }
    return found;
}

/* 1 when the file holds item columns of a scorable instrument; fills col. */
static int survey_columns(imp *m, const char *instrument, somna_survey_kind *kind, long *col, size_t max)
{
    if (!instrument || somna_survey_kind_from_name(instrument, kind, NULL) != 0 || *kind == SOMNA_SURVEY_SCALE ||
        *kind == SOMNA_SURVEY_DIARY)
        return 0;
    size_t nf = somna_survey_n_fields(*kind, NULL);
    if (nf > max)
        return 0;
    return item_columns(m, *kind, col, nf) > 0;
}

/* Score one row's items with the survey module: a scoring failure is an
 * error at the row, a row that cannot be scored a warning naming `what`. */
static int score_row(imp *m, size_t row, somna_survey_kind kind, long *col, const char *what,
                     somna_survey_result *res)
{
    item_ctx ic = {m, row, kind, col};
    somna_err se;
    somna_err_init(&se, NULL, NULL);
    if (somna_survey_score(kind, NULL, item_get, &ic, res, &se) != SOMNA_OK)
        return somna_fail(m->err, se.code, "%s:%zu: %s", m->path, m->t.line[row], se.msg);
    if (!res->scored && res->n_problems)
        somna_warn(m->err, "%s:%zu: %s not scorable: %s: %s", m->path, m->t.line[row], what, res->problem[0].field,
                   res->problem[0].msg);
    return SOMNA_OK;
}

static int import_questionnaire(imp *m, const somna_study_import_opts *o)
{
    size_t c_part;
    int rc = need_col(m, C_PART, &c_part);
    if (rc)
        return rc;
    static const char *const C_TP[] = {"timepoint", "time", "when", NULL};
    static const char *const C_INS[] = {"instrument", "questionnaire", NULL};
    long c_cond = col_any(&m->t, C_COND), c_period = col_any(&m->t, C_PERIOD), c_tp = col_any(&m->t, C_TP),
         c_ins = col_any(&m->t, C_INS), c_score = somna_table_col(&m->t, "score"),
         c_value = somna_table_col(&m->t, "value");
    int is_long = c_score >= 0 && c_value >= 0;
    if (c_ins < 0 && !(o && o->instrument))
        return somna_fail(m->err, SOMNA_E_ARG, "%s: no instrument column; give the instrument (e.g. --instrument RCSQ)",
                          m->path);
    for (size_t i = 0; !rc && i < m->t.n_rows; i++) {
        int64_t pid, cid, period;
        const char *code = somna_table_cell(&m->t, i, c_part);
        if ((rc = find_participant(m, i, code, &pid)) || (rc = find_condition(m, i, cell(m, i, c_cond), &cid)) ||
            (rc = cell_period(m, i, c_period, &period)))
            break;
        if (!cid && period > 0 && (rc = condition_of_period(m, pid, period, &cid)))
            break;
        const char *ins = cell(m, i, c_ins) ? cell(m, i, c_ins) : (o && o->instrument ? o->instrument : NULL);
        if (!ins) {
            rc = row_fail(m, i, SOMNA_E_FORMAT, "instrument is empty%s%s", "", "");
            break;
        }
        const char *tp = cell(m, i, c_tp) ? cell(m, i, c_tp) : "post";
        somna_survey_kind kind;
        long icol[64];
        if (!is_long && survey_columns(m, ins, &kind, icol, 64)) {
            somna_survey_result res;
            if ((rc = score_row(m, i, kind, icol, ins, &res)))
                break;
            size_t main_out = somna_survey_main_output(kind);
            for (size_t k = 0; !rc && k < somna_survey_n_outputs(kind); k++) {
                rc = insert_score(m, i, pid, cid, period, ins, tp,
                                  k == main_out ? "total" : somna_survey_output_name(kind, k), res.value[k]);
                m->st->inserted += !rc;
            }
            test_delay(m);
            continue;
        }
        if (is_long) {
            double v;
            const char *sc = cell(m, i, c_score);
            if (!sc) {
                rc = row_fail(m, i, SOMNA_E_FORMAT, "column score is empty%s%s", "", "");
                break;
            }
            if ((rc = cell_double(m, i, c_value, &v)) ||
                (rc = insert_score(m, i, pid, cid, period, ins, tp, sc, v)))
                break;
            m->st->inserted++;
        } else {
            for (size_t c = 0; !rc && c < m->t.n_cols; c++) {
                const char *h = m->t.header[c];
                if (is_context_col(h) || (long)c == c_score || (long)c == c_value)
                    continue;
                double v;
                if ((rc = cell_double(m, i, (long)c, &v)))
                    break;
                /* A column named after the instrument, or total/global/score, is its total. */
                const char *sc = (somna_strieq(h, ins) || somna_strieq(h, "total") || somna_strieq(h, "global") ||
                                  somna_strieq(h, "score"))
                                     ? "total"
                                     : h;
                rc = insert_score(m, i, pid, cid, period, ins, tp, sc, v);
                m->st->inserted += !rc;
            }
        }
        test_delay(m);
    }
    return rc;
}

static int insert_measure(imp *m, size_t row, int64_t nid, const char *name, double v, const char *source)
{
    somna_dbv p[] = {somna_dbv_int(nid),       somna_dbv_text(name),
                     somna_dbv_real(v),        isnan(v) ? somna_dbv_text("missing in the imported file") : somna_dbv_null(),
                     somna_dbv_text(source),   somna_dbv_text(SOMNA_VERSION),
                     somna_dbv_text(m->path), somna_dbv_int(m->import_id)};
    int rc = somna_db_run(m->db,
                          "INSERT INTO measure (night_id, name, value, null_reason, source, somna_version, params, "
                          "import_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                          p, 8, NULL, NULL, m->err);
    if (rc)
        somna_err_prefix(m->err, "%s:%zu: measure %s", m->path, m->t.line[row], name);
    return rc;
}

static int import_measures(imp *m, const somna_study_import_opts *o)
{
    size_t c_part, c_meas, c_val;
    static const char *const C_MEAS[] = {"measure", "name", "variable", NULL};
    static const char *const C_VAL[] = {"value", NULL};
    static const char *const C_OCC[] = {"occasion", "label", "night", "visit", NULL};
    int rc = need_col(m, C_PART, &c_part);
    if (!rc)
        rc = need_col(m, C_MEAS, &c_meas);
    if (!rc)
        rc = need_col(m, C_VAL, &c_val);
    if (rc)
        return rc;
    long c_cond = col_any(&m->t, C_COND), c_period = col_any(&m->t, C_PERIOD), c_occ = col_any(&m->t, C_OCC),
         c_kind = somna_table_col(&m->t, "kind"), c_date = somna_table_col(&m->t, "date"),
         c_time = somna_table_col(&m->t, "time_index"), c_src = somna_table_col(&m->t, "source");
    const char *source = o && o->source ? o->source : "import";
    for (size_t i = 0; !rc && i < m->t.n_rows; i++) {
        night_spec n = {0};
        const char *code = somna_table_cell(&m->t, i, c_part);
        if ((rc = night_keys(m, i, code, c_cond, c_period, c_time, &n.time_index, &n)))
            break;
        n.hours_since = NAN;
        n.kind = cell(m, i, c_kind) ? cell(m, i, c_kind) : "night";
        n.date = cell(m, i, c_date);
        char label[64];
        if ((rc = night_label(m, i, c_occ, n.period, n.date, "a measure needs an occasion, period or date column",
                              label, sizeof label)))
            break;
        n.label = label;
        if (isnan(n.time_index) && n.period > 0)
            n.time_index = (double)n.period;
        int64_t nid;
        double v;
        if ((rc = get_or_create_night(m, &n, &nid)) || (rc = cell_double(m, i, (long)c_val, &v)))
            break;
        const char *src = cell(m, i, c_src) ? cell(m, i, c_src) : source;
        if ((rc = insert_measure(m, i, nid, somna_table_cell(&m->t, i, c_meas), v, src)))
            break;
        m->st->inserted++;
        test_delay(m);
    }
    return rc;
}

static int import_biomarkers(imp *m)
{
    size_t c_part, c_name, c_timing, c_val, c_unit;
    static const char *const C_NAME[] = {"biomarker", "name", "marker", NULL};
    static const char *const C_TIMING[] = {"timing", "pre_post", NULL};
    static const char *const C_VAL[] = {"value", NULL};
    static const char *const C_UNIT[] = {"unit", "units", NULL};
    int rc = need_col(m, C_PART, &c_part);
    if (!rc)
        rc = need_col(m, C_NAME, &c_name);
    if (!rc)
        rc = need_col(m, C_TIMING, &c_timing);
    if (!rc)
        rc = need_col(m, C_VAL, &c_val);
    if (!rc)
        rc = need_col(m, C_UNIT, &c_unit);
    if (rc)
        return rc;
    long c_cond = col_any(&m->t, C_COND), c_period = col_any(&m->t, C_PERIOD);
    for (size_t i = 0; !rc && i < m->t.n_rows; i++) {
        int64_t pid, cid, period;
        double v;
        const char *code = somna_table_cell(&m->t, i, c_part);
        if ((rc = find_participant(m, i, code, &pid)) || (rc = find_condition(m, i, cell(m, i, c_cond), &cid)) ||
            (rc = cell_period(m, i, c_period, &period)) || (rc = cell_double(m, i, (long)c_val, &v)))
            break;
        if (!cid && period > 0 && (rc = condition_of_period(m, pid, period, &cid)))
            break;
        const char *timing = somna_table_cell(&m->t, i, c_timing);
        if (!somna_strieq(timing, "pre") && !somna_strieq(timing, "post")) {
            rc = row_fail(m, i, SOMNA_E_FORMAT, "timing '%s' is neither pre nor post%s", timing, "");
            break;
        }
        const char *unit = somna_table_cell(&m->t, i, c_unit);
        if (!*unit) {
            rc = row_fail(m, i, SOMNA_E_FORMAT, "biomarker '%s' has no unit%s", somna_table_cell(&m->t, i, c_name), "");
            break;
        }
        somna_dbv p[] = {somna_dbv_int(pid),
                         cid ? somna_dbv_int(cid) : somna_dbv_null(),
                         period_v(period),
                         somna_dbv_text(somna_table_cell(&m->t, i, c_name)),
                         somna_dbv_text(somna_strieq(timing, "pre") ? "pre" : "post"),
                         somna_dbv_real(v),
                         somna_dbv_text(unit),
                         somna_dbv_int(m->import_id)};
        rc = somna_db_run(m->db,
                          "INSERT INTO biomarker (participant_id, condition_id, period, name, timing, value, unit, "
                          "import_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                          p, 8, NULL, NULL, m->err);
        if (rc) {
            somna_err_prefix(m->err, "%s:%zu", m->path, m->t.line[i]);
            break;
        }
        m->st->inserted++;
        test_delay(m);
    }
    return rc;
}

/* ---- wide: one row per participant, MEASURE_VISIT columns ------------------------------------------- */

static int in_csv_list(const char *list, const char *s)
{
    if (!list)
        return 1;
    size_t n = strlen(s);
    for (const char *p = list; *p;) {
        const char *e = p + strcspn(p, ",");
        if ((size_t)(e - p) == n && somna_strnieq(p, s, n))
            return 1;
        p = *e ? e + 1 : e;
    }
    return 0;
}

/* "1=sleeps,2=edu": the condition code for a group value, or the value. */
static const char *map_group(const char *map, const char *v, char *buf, size_t size)
{
    if (!map)
        return v;
    size_t n = strlen(v);
    for (const char *p = map; *p;) {
        const char *e = p + strcspn(p, ",");
        const char *eq = memchr(p, '=', (size_t)(e - p));
        if (eq && (size_t)(eq - p) == n && strncmp(p, v, n) == 0) {
            size_t l = (size_t)(e - eq - 1);
            if (l >= size)
                l = size - 1;
            memcpy(buf, eq + 1, l);
            buf[l] = '\0';
            return buf;
        }
        p = *e ? e + 1 : e;
    }
    return NULL;
}

static int import_wide(imp *m, const somna_study_import_opts *o)
{
    if (!o || !o->group_col)
        return somna_fail(m->err, SOMNA_E_ARG, "%s: a wide import needs the group column (--group-col NAME)", m->path);
    size_t c_group;
    int rc = somna_table_require_col(&m->t, o->group_col, &c_group, m->err);
    if (rc)
        return rc;
    long c_id = -1;
    if (o->id_col) {
        size_t c;
        if ((rc = somna_table_require_col(&m->t, o->id_col, &c, m->err)))
            return rc;
        c_id = (long)c;
    }
    const char *baseline = o->baseline ? o->baseline : "B";
    /* Columns of the form MEASURE_VISIT with a wanted visit suffix. */
    for (size_t i = 0; !rc && i < m->t.n_rows; i++) {
        char code[32], gbuf[64];
        if (c_id >= 0) {
            const char *id = somna_table_cell(&m->t, i, (size_t)c_id);
            if (!*id || somna_strlcpy(code, id, sizeof code) >= sizeof code) {
                rc = row_fail(m, i, SOMNA_E_FORMAT, "participant code '%.40s' is empty or longer than 31 characters",
                              id);
                break;
            }
        } else
            snprintf(code, sizeof code, "R%02zu", i + 1);
        const char *gv = somna_table_cell(&m->t, i, c_group);
        const char *arm = map_group(o->group_map, gv, gbuf, sizeof gbuf);
        if (!arm) {
            rc = row_fail(m, i, SOMNA_E_FORMAT, "group value '%s' is not in the group map '%s'", gv, o->group_map);
            break;
        }
        int64_t cid, pid;
        if ((rc = find_condition(m, i, arm, &cid)))
            break;
        /* A wide table is its own enrolment: participants not yet known are
         * added (eligible, allocated to their recorded arm). */
        somna_dbv pk[] = {somna_dbv_int(m->study_id), somna_dbv_text(code)};
        if (somna_db_query_int(m->db, "SELECT id FROM participant WHERE study_id = ? AND code = ?", pk, 2, &pid,
                               NULL) != SOMNA_OK) {
            int64_t order = 0;
            somna_dbv ps = somna_dbv_int(m->study_id);
            if ((rc = somna_db_query_int(m->db, "SELECT count(*) FROM participant WHERE study_id = ?", &ps, 1, &order,
                                         m->err)))
                break;
            double age = NAN;
            long c_age = somna_table_col(&m->t, "age");
            if (c_age >= 0 && (rc = cell_double(m, i, c_age, &age)))
                break;
            long c_sex = somna_table_col(&m->t, "sex");
            if (c_sex < 0)
                c_sex = somna_table_col(&m->t, "gender");
            somna_dbv p[] = {somna_dbv_int(m->study_id), somna_dbv_text(code),
                             somna_dbv_real(age),        somna_dbv_text(cell(m, i, c_sex)),
                             somna_dbv_int(cid),         somna_dbv_int(order + 1)};
            if ((rc = somna_db_run(m->db,
                                   "INSERT INTO participant (study_id, code, age, sex, stratum, status, arm_id, "
                                   "enrol_order, randomized_at) VALUES (?, ?, ?, ?, '', 'randomized', ?, ?, @NOW@)",
                                   p, 6, &pid, NULL, m->err)))
                break;
            somna_dbv q = somna_dbv_int(pid);
            if ((rc = somna_db_run(m->db,
                                   "INSERT INTO screening (participant_id, contraindications, eligible, reason) "
                                   "VALUES (?, '', 1, 'enrolled by the imported trial table')",
                                   &q, 1, NULL, NULL, m->err)))
                break;
        }
        for (size_t c = 0; !rc && c < m->t.n_cols; c++) {
            const char *h = m->t.header[c];
            const char *us = strrchr(h, '_');
            if (!us || us == h || !us[1] || (long)c == c_id || c == c_group)
                continue;
            const char *visit = us + 1;
            if (!somna_strieq(visit, baseline) && !in_csv_list(o->visits, visit)) {
                if (i == 0)
                    m->st->skipped++;
                continue;
            }
            char measure[48];
            size_t ml = (size_t)(us - h) < sizeof measure ? (size_t)(us - h) : sizeof measure - 1;
            memcpy(measure, h, ml);
            measure[ml] = '\0';
            double v;
            if ((rc = cell_double(m, i, (long)c, &v)))
                break;
            double ti = NAN;
            if (somna_strieq(visit, baseline))
                ti = 0;
            else if (somna_parse_double_str(visit, &ti) != 0)
                ti = NAN;
            char label[40];
            snprintf(label, sizeof label, "%s", visit);
            night_spec n = {0};
            n.pid = pid;
            n.cid = cid;
            n.kind = "visit";
            n.label = label;
            n.time_index = ti;
            n.hours_since = NAN;
            int64_t nid;
            if ((rc = get_or_create_night(m, &n, &nid)) ||
                (rc = insert_measure(m, i, nid, measure, v, o->source ? o->source : "diary")))
                break;
            m->st->inserted++;
        }
        test_delay(m);
    }
    return rc;
}

/* ---- sleep diary: one night per row, scored by the survey module ---------------------------------- */

static int import_diary(imp *m)
{
    size_t c_part, c_date;
    static const char *const C_DATE[] = {"date", "night", "diary_date", NULL};
    int rc = need_col(m, C_PART, &c_part);
    if (!rc)
        rc = need_col(m, C_DATE, &c_date);
    if (rc)
        return rc;
    somna_survey_kind kind = SOMNA_SURVEY_DIARY;
    size_t nf = somna_survey_n_fields(kind, NULL);
    long icol[64];
    if (!item_columns(m, kind, icol, nf < 64 ? nf : 64))
        return somna_fail(m->err, SOMNA_E_FORMAT,
                          "%s: no Consensus Sleep Diary item columns (csd_bedtime, csd_sol, csd_waso, csd_final_wake, "
                          "csd_out_of_bed, ...; see somna score diary --fields)",
                          m->path);
    long c_cond = col_any(&m->t, C_COND), c_period = col_any(&m->t, C_PERIOD);
    char params[PATH_MAX + 64];
    snprintf(params, sizeof params, "Consensus Sleep Diary (Carney 2012) scored by somna; file=%s", m->path);
    for (size_t i = 0; !rc && i < m->t.n_rows; i++) {
        night_spec n = {0};
        n.time_index = NAN;
        n.hours_since = NAN;
        const char *code = somna_table_cell(&m->t, i, c_part);
        if ((rc = night_keys(m, i, code, c_cond, c_period, -1, NULL, &n)))
            break;
        n.date = cell(m, i, (long)c_date);
        if (!n.date) {
            rc = row_fail(m, i, SOMNA_E_FORMAT, "column %s is empty", m->t.header[c_date]);
            break;
        }
        n.kind = "night";
        n.label = n.date;
        int64_t nid;
        if ((rc = get_or_create_night(m, &n, &nid)))
            break;
        somna_survey_result res;
        if ((rc = score_row(m, i, kind, icol, "diary night", &res)))
            break;
        for (size_t k = 0; !rc && k < somna_survey_n_outputs(kind); k++) {
            char name[48];
            snprintf(name, sizeof name, "diary_%s", somna_survey_output_name(kind, k));
            somna_dbv p[] = {somna_dbv_int(nid),
                             somna_dbv_text(name),
                             somna_dbv_real(res.value[k]),
                             isnan(res.value[k]) ? somna_dbv_text(res.n_problems ? res.problem[0].msg : "not answered")
                                                 : somna_dbv_null(),
                             somna_dbv_text("diary"),
                             somna_dbv_text(SOMNA_VERSION),
                             somna_dbv_text(params),
                             somna_dbv_int(m->import_id)};
            rc = somna_db_run(m->db,
                              "INSERT INTO measure (night_id, name, value, null_reason, source, somna_version, params, "
                              "import_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                              p, 8, NULL, NULL, m->err);
            if (rc)
                somna_err_prefix(m->err, "%s:%zu", m->path, m->t.line[i]);
            m->st->inserted += !rc;
        }
        test_delay(m);
    }
    return rc;
}

/* ---- entry point ---------------------------------------------------------------------------------- */

static const char *const kind_names[] = {"sessions",   "manifest", "questionnaire", "measures",
                                         "biomarkers", "wide",     "diary"};

int somna_study_import(somna_db *db, int64_t study_id, somna_study_import_kind kind, const char *path,
                       const somna_study_import_opts *opts, somna_study_import_stats *st, somna_err *err)
{
    memset(st, 0, sizeof *st);
    if ((int)kind < 0 || kind > SOMNA_STUDY_IMPORT_DIARY)
        return somna_fail(err, SOMNA_E_ARG, "unknown import kind %d", (int)kind);
    imp m = {0};
    m.db = db;
    m.study_id = study_id;
    m.kind = kind;
    m.path = path;
    m.st = st;
    m.err = err;
    m.delay_ms = opts ? opts->test_delay_ms : 0;
    char abs[PATH_MAX];
    if (realpath(path, abs)) {
        char *sl = strrchr(abs, '/');
        if (sl)
            *sl = '\0';
        somna_strlcpy(m.dir, abs, sizeof m.dir);
    } else {
        somna_strlcpy(m.dir, ".", sizeof m.dir);
    }
    char hex[65];
    int rc = somna_study_sha256_file(path, hex, NULL, err);
    if (rc)
        return rc;
    if ((rc = somna_table_read(path, NULL, &m.t, err)))
        return rc;
    st->rows = (long)m.t.n_rows;
    if ((rc = somna_db_begin(db, err))) {
        somna_table_free(&m.t);
        return rc;
    }
    /* The same file content imported twice as the same kind is a no-op. */
    somna_db_result prev;
    somna_dbv pk[] = {somna_dbv_int(study_id), somna_dbv_text(kind_names[kind]), somna_dbv_text(hex)};
    rc = somna_db_query(db, "SELECT imported_at, source FROM import_log WHERE study_id = ? AND kind = ? AND sha256 = ?",
                        pk, 3, &prev, err);
    if (!rc && prev.n_rows > 0) {
        somna_warn(err, "%s: identical content was already imported as %s at %s (from %s): nothing done", path,
                   kind_names[kind], somna_db_get_text(&prev, 0, 0), somna_db_get_text(&prev, 0, 1));
        st->skipped = st->rows;
        somna_db_result_free(&prev);
        somna_db_rollback(db);
        somna_table_free(&m.t);
        return SOMNA_OK;
    }
    somna_db_result_free(&prev);
    if (!rc) {
        somna_dbv p[] = {somna_dbv_int(study_id), somna_dbv_text(kind_names[kind]), somna_dbv_text(abs[0] ? abs : path),
                         somna_dbv_text(hex), somna_dbv_int((int64_t)m.t.n_rows)};
        char src[PATH_MAX];
        if (!realpath(path, src))
            somna_strlcpy(src, path, sizeof src);
        p[2] = somna_dbv_text(src);
        rc = somna_db_run(db,
                          "INSERT INTO import_log (study_id, kind, source, sha256, n_rows, imported_at) "
                          "VALUES (?, ?, ?, ?, ?, @NOW@)",
                          p, 5, &m.import_id, NULL, err);
    }
    if (!rc) {
        switch (kind) {
        case SOMNA_STUDY_IMPORT_SESSIONS:
            rc = import_sessions(&m);
            break;
        case SOMNA_STUDY_IMPORT_MANIFEST:
            rc = import_manifest(&m);
            break;
        case SOMNA_STUDY_IMPORT_QUESTIONNAIRE:
            rc = import_questionnaire(&m, opts);
            break;
        case SOMNA_STUDY_IMPORT_MEASURES:
            rc = import_measures(&m, opts);
            break;
        case SOMNA_STUDY_IMPORT_BIOMARKERS:
            rc = import_biomarkers(&m);
            break;
        case SOMNA_STUDY_IMPORT_WIDE:
            rc = import_wide(&m, opts);
            break;
        case SOMNA_STUDY_IMPORT_DIARY:
            rc = import_diary(&m);
            break;
        }
    }
    rc = somna_db_end(db, rc, err);
    somna_table_free(&m.t);
    return rc;
}
