/* The database layer: one API, two engines (SQLite via libsqlite3,
 * PostgreSQL via libpq).  See include/somna/db.h for the contract. */
#include "somna/db.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/dynlib.h"
#include "somna/json.h"
#include "somna/parse.h"
#include "study/study_internal.h"

/* PostgreSQL: statements run many times (one per imported row) are
 * prepared once per connection (plan once, execute many). */
#define PG_STMT_CACHE 64

/* libpq is opened when a PostgreSQL database is (core/dynlib.h): SQLite is
 * the default engine and a clinic without PostgreSQL runs everything else.
 * Every function used is declared from <libpq-fe.h>, so calls are checked. */
#define PQ_FUNCS(X)                                                                                          \
    X(connectdb) X(status) X(errorMessage) X(setNoticeProcessor) X(finish) X(prepare) X(execPrepared)        \
    X(execParams) X(exec) X(resultStatus) X(resultErrorMessage) X(clear) X(ntuples) X(nfields) X(fname)     \
    X(ftype) X(getisnull) X(getvalue) X(cmdTuples)
#define PQ_MEMBER(f) SOMNA_DYNLIB_MEMBER(PQ, f)
#define PQ_SYM(f) SOMNA_DYNLIB_SYM(pq_api, PQ, f)

typedef struct pq_api {
    PQ_FUNCS(PQ_MEMBER)
} pq_api;

static const somna_dynlib_sym pq_syms[] = {PQ_FUNCS(PQ_SYM)};
static const somna_dynlib_spec pq_lib = {SOMNA_SONAME_LIBPQ, "PostgreSQL study databases", SOMNA_DEBPKG_LIBPQ,
                                         pq_syms, sizeof pq_syms / sizeof pq_syms[0]};

struct somna_db {
    int engine;
    char *name;
    sqlite3 *lite;
    PGconn *pg;
    pq_api pq;        /* libpq's functions, valid when pq_handle is set */
    void *pq_handle;
    char *pg_sql[PG_STMT_CACHE]; /* SQL text of prepared statement "s<i>" */
    int pg_n;
};

somna_dbv somna_dbv_null(void)
{
    somna_dbv v = {SOMNA_DBV_NULL, 0, 0.0, NULL};
    return v;
}

somna_dbv somna_dbv_int(int64_t x)
{
    somna_dbv v = {SOMNA_DBV_INT, x, 0.0, NULL};
    return v;
}

somna_dbv somna_dbv_real(double x)
{
    if (!isfinite(x))
        return somna_dbv_null();
    somna_dbv v = {SOMNA_DBV_REAL, 0, x, NULL};
    return v;
}

somna_dbv somna_dbv_text(const char *s)
{
    if (!s)
        return somna_dbv_null();
    somna_dbv v = {SOMNA_DBV_TEXT, 0, 0.0, s};
    return v;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* PostgreSQL sends notices (e.g. "relation already exists, skipping") to
 * stderr by default; the library never prints, so they are dropped. */
static void pg_notice_drop(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static int is_pg_url(const char *url)
{
    return strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0 ||
           strncmp(url, "host=", 5) == 0 || strncmp(url, "dbname=", 7) == 0;
}

/* The URL as shown in messages: a password never appears in them
 * ("postgresql://user:secret@host" -> "postgresql://user:***@host",
 * "password=secret" -> "password=***"). */
static char *redact_url(const char *url)
{
    size_t n = strlen(url);
    char *r = malloc(n + 4);
    if (!r)
        return NULL;
    const char *scheme = strstr(url, "://");
    const char *at = scheme ? strchr(scheme + 3, '@') : NULL;
    const char *colon = at ? memchr(scheme + 3, ':', (size_t)(at - scheme - 3)) : NULL;
    if (colon) {
        size_t pre = (size_t)(colon - url) + 1;
        memcpy(r, url, pre);
        memcpy(r + pre, "***", 3);
        memcpy(r + pre + 3, at, n - (size_t)(at - url) + 1);
        return r;
    }
    memcpy(r, url, n + 1);
    char *pw = strstr(r, "password=");
    if (pw) {
        char *v = pw + 9, *e = v + strcspn(v, " &");
        size_t tail = strlen(e);
        memmove(v + 3, e, tail + 1); /* the buffer has room for 3 more bytes */
        memcpy(v, "***", 3);
    }
    return r;
}

int somna_db_open(somna_db **out, const char *url, somna_err *err)
{
    *out = NULL;
    if (!url || !*url)
        return somna_fail(err, SOMNA_E_ARG, "no database given (use --db FILE.db or --db postgresql://...)");
    somna_db *db = calloc(1, sizeof *db);
    if (!db || !(db->name = is_pg_url(url) ? redact_url(url) : dup_str(url))) {
        free(db);
        return somna_fail(err, SOMNA_E_NOMEM, "out of memory opening %s", url);
    }
    if (is_pg_url(url)) {
        db->engine = SOMNA_DB_POSTGRES;
        int lrc = somna_dynlib_open(&pq_lib, 0, &db->pq_handle, &db->pq, err);
        if (lrc) {
            somna_err_prefix(err, "cannot open %s", db->name);
            somna_db_close(db);
            return lrc;
        }
        db->pg = db->pq.connectdb(url);
        if (!db->pg || db->pq.status(db->pg) != CONNECTION_OK) {
            somna_fail(err, SOMNA_E_DB, "cannot connect to PostgreSQL %s: %s", db->name,
                       db->pg ? db->pq.errorMessage(db->pg) : "out of memory");
            somna_db_close(db);
            return SOMNA_E_DB;
        }
        db->pq.setNoticeProcessor(db->pg, pg_notice_drop, NULL);
        int rc = somna_db_exec(db, "SET client_min_messages = warning; SET TIME ZONE 'UTC'", err);
        if (rc) {
            somna_db_close(db);
            return rc;
        }
    } else {
        db->engine = SOMNA_DB_SQLITE;
        /* Create the file ourselves so it is 0600 from its first byte: the
         * database holds health data.  SQLite gives its journal the same mode. */
        int fd = open(url, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0) {
            close(fd);
        } else if (errno != EEXIST) {
            int e = errno;
            somna_db_close(db);
            return somna_fail(err, SOMNA_E_IO, "%s: cannot create database file: %s", url, strerror(e));
        }
        if (sqlite3_open_v2(url, &db->lite, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
            somna_fail(err, SOMNA_E_DB, "%s: cannot open SQLite database: %s", url,
                       db->lite ? sqlite3_errmsg(db->lite) : "out of memory");
            somna_db_close(db);
            return SOMNA_E_DB;
        }
        sqlite3_busy_timeout(db->lite, 10000);
        /* Rollback journal + synchronous=FULL: a kill -9 or power loss in the
         * middle of an import leaves the database as of the last commit. */
        int rc = somna_db_exec(db, "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL", err);
        if (rc) {
            somna_db_close(db);
            return rc;
        }
        /* Refuse a file that is not a database before anything is written. */
        int64_t n;
        rc = somna_db_query_int(db, "SELECT count(*) FROM sqlite_master", NULL, 0, &n, err);
        if (rc) {
            somna_db_close(db);
            return rc;
        }
    }
    *out = db;
    return SOMNA_OK;
}

void somna_db_close(somna_db *db)
{
    if (!db)
        return;
    if (db->lite)
        sqlite3_close(db->lite);
    if (db->pg)
        db->pq.finish(db->pg);
    somna_dynlib_close(db->pq_handle);
    for (int i = 0; i < db->pg_n; i++)
        free(db->pg_sql[i]);
    free(db->name);
    free(db);
}

int somna_db_engine(const somna_db *db)
{
    return db->engine;
}

const char *somna_db_name(const somna_db *db)
{
    return db->name;
}

/* ---- SQL text rewriting ---------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

/* Replace the engine tokens and, for PostgreSQL, `?` by $1..$n (outside
 * quoted literals).  Returns a malloc'd string or NULL when out of memory. */
static char *rewrite_sql(const somna_db *db, const char *sql)
{
    static const struct {
        const char *tok, *lite, *pg;
    } toks[] = {
        {"@PK@", "INTEGER PRIMARY KEY", "BIGSERIAL PRIMARY KEY"},
        {"@REAL@", "REAL", "DOUBLE PRECISION"},
        {"@NOW@", "strftime('%Y-%m-%dT%H:%M:%SZ','now')",
         "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"},
    };
    sbuf b = {0};
    int n = 0;
    char quote = 0;
    for (const char *p = sql; *p;) {
        if (quote) {
            if (*p == quote)
                quote = 0;
            sb_add(&b, p, 1);
            p++;
            continue;
        }
        if (*p == '\'' || *p == '"') {
            quote = *p;
            sb_add(&b, p, 1);
            p++;
            continue;
        }
        if (*p == '@') {
            int hit = 0;
            for (size_t k = 0; k < sizeof toks / sizeof toks[0]; k++) {
                size_t tl = strlen(toks[k].tok);
                if (strncmp(p, toks[k].tok, tl) == 0) {
                    sb_str(&b, db->engine == SOMNA_DB_SQLITE ? toks[k].lite : toks[k].pg);
                    p += tl;
                    hit = 1;
                    break;
                }
            }
            if (hit)
                continue;
        }
        if (*p == '?' && db->engine == SOMNA_DB_POSTGRES) {
            char num[24];
            snprintf(num, sizeof num, "$%d", ++n);
            sb_str(&b, num);
            p++;
            continue;
        }
        sb_add(&b, p, 1);
        p++;
    }
    if (!b.p && !b.oom)
        sb_add(&b, "", 0);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

/* ---- results ------------------------------------------------------------------- */

void somna_db_result_free(somna_db_result *res)
{
    if (!res)
        return;
    if (res->names)
        for (size_t c = 0; c < res->n_cols; c++)
            free(res->names[c]);
    if (res->cells)
        for (size_t i = 0; i < res->n_rows * res->n_cols; i++)
            if (res->cells[i].type == SOMNA_DBV_TEXT)
                free((char *)res->cells[i].s);
    free(res->names);
    free(res->cells);
    memset(res, 0, sizeof *res);
}

double somna_db_get_double(const somna_db_result *r, size_t row, size_t col)
{
    const somna_dbv *v = somna_db_cell(r, row, col);
    double d;
    switch (v->type) {
    case SOMNA_DBV_INT:
        return (double)v->i;
    case SOMNA_DBV_REAL:
        return v->d;
    case SOMNA_DBV_TEXT:
        return somna_parse_double_str(v->s, &d) == 0 ? d : NAN;
    default:
        return NAN;
    }
}

int64_t somna_db_get_int(const somna_db_result *r, size_t row, size_t col, int64_t dflt)
{
    const somna_dbv *v = somna_db_cell(r, row, col);
    int64_t i;
    switch (v->type) {
    case SOMNA_DBV_INT:
        return v->i;
    case SOMNA_DBV_REAL:
        return (int64_t)llround(v->d);
    case SOMNA_DBV_TEXT:
        return somna_parse_int64_str(v->s, &i) == 0 ? i : dflt;
    default:
        return dflt;
    }
}

const char *somna_db_get_text(const somna_db_result *r, size_t row, size_t col)
{
    const somna_dbv *v = somna_db_cell(r, row, col);
    return v->type == SOMNA_DBV_TEXT ? v->s : NULL;
}

/* ---- SQLite -------------------------------------------------------------------- */

static int lite_fail(somna_db *db, somna_err *err, const char *what)
{
    return somna_fail(err, SOMNA_E_DB, "%s: %s: %s", db->name, what, sqlite3_errmsg(db->lite));
}

static int lite_bind(somna_db *db, sqlite3_stmt *st, const somna_dbv *params, size_t n, somna_err *err)
{
    if ((int)n != sqlite3_bind_parameter_count(st))
        return somna_fail(err, SOMNA_E_ARG, "%s: statement has %d parameters, %zu given", db->name,
                          sqlite3_bind_parameter_count(st), n);
    for (size_t k = 0; k < n; k++) {
        int rc, idx = (int)k + 1;
        switch (params[k].type) {
        case SOMNA_DBV_INT:
            rc = sqlite3_bind_int64(st, idx, params[k].i);
            break;
        case SOMNA_DBV_REAL:
            rc = sqlite3_bind_double(st, idx, params[k].d);
            break;
        case SOMNA_DBV_TEXT:
            rc = sqlite3_bind_text(st, idx, params[k].s, -1, SQLITE_TRANSIENT);
            break;
        default:
            rc = sqlite3_bind_null(st, idx);
            break;
        }
        if (rc != SQLITE_OK)
            return lite_fail(db, err, "binding a parameter");
    }
    return SOMNA_OK;
}

static int lite_exec(somna_db *db, const char *sql, const somna_dbv *params, size_t n, somna_db_result *res,
                     int64_t *new_id, int64_t *changes, somna_err *err)
{
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    if (sqlite3_prepare_v2(db->lite, sql, -1, &st, &tail) != SQLITE_OK)
        return lite_fail(db, err, "preparing SQL");
    int rc = lite_bind(db, st, params, n, err);
    size_t cap = 0;
    if (!rc && res) {
        res->n_cols = (size_t)sqlite3_column_count(st);
        res->names = calloc(res->n_cols ? res->n_cols : 1, sizeof *res->names);
        if (!res->names)
            rc = somna_fail(err, SOMNA_E_NOMEM, "out of memory");
        for (size_t c = 0; !rc && c < res->n_cols; c++)
            if (!(res->names[c] = dup_str(sqlite3_column_name(st, (int)c))))
                rc = somna_fail(err, SOMNA_E_NOMEM, "out of memory");
    }
    while (!rc) {
        int s = sqlite3_step(st);
        if (s == SQLITE_DONE)
            break;
        if (s != SQLITE_ROW) {
            rc = lite_fail(db, err, "executing SQL");
            break;
        }
        if (!res)
            continue;
        if ((res->n_rows + 1) * res->n_cols > cap) {
            size_t ncap = cap ? cap * 2 : 64 * (res->n_cols ? res->n_cols : 1);
            somna_dbv *p = realloc(res->cells, ncap * sizeof *p);
            if (!p) {
                rc = somna_fail(err, SOMNA_E_NOMEM, "out of memory reading query result");
                break;
            }
            res->cells = p;
            cap = ncap;
        }
        somna_dbv *row = res->cells + res->n_rows * res->n_cols;
        for (size_t c = 0; c < res->n_cols; c++) {
            switch (sqlite3_column_type(st, (int)c)) {
            case SQLITE_INTEGER:
                row[c] = somna_dbv_int(sqlite3_column_int64(st, (int)c));
                break;
            case SQLITE_FLOAT:
                row[c].type = SOMNA_DBV_REAL;
                row[c].d = sqlite3_column_double(st, (int)c);
                row[c].s = NULL;
                break;
            case SQLITE_NULL:
                row[c] = somna_dbv_null();
                break;
            default: {
                const char *t = (const char *)sqlite3_column_text(st, (int)c);
                char *d = dup_str(t ? t : "");
                row[c] = d ? somna_dbv_text(d) : somna_dbv_null();
                if (!d)
                    rc = somna_fail(err, SOMNA_E_NOMEM, "out of memory");
            }
            }
        }
        res->n_rows++;
    }
    if (!rc) {
        if (new_id)
            *new_id = sqlite3_last_insert_rowid(db->lite);
        if (changes)
            *changes = sqlite3_changes(db->lite);
    }
    sqlite3_finalize(st);
    return rc;
}

/* ---- PostgreSQL ------------------------------------------------------------------ */

static int pg_exec(somna_db *db, const char *sql, const somna_dbv *params, size_t n, somna_db_result *res,
                   int64_t *new_id, int64_t *changes, somna_err *err)
{
    char (*txt)[40] = n ? calloc(n, sizeof *txt) : NULL;
    const char **values = n ? calloc(n, sizeof *values) : NULL;
    Oid *types = n ? calloc(n, sizeof *types) : NULL;
    char *full = NULL;
    int rc = SOMNA_OK;
    if (n && (!txt || !values || !types)) {
        rc = somna_fail(err, SOMNA_E_NOMEM, "out of memory");
        goto done;
    }
    for (size_t k = 0; k < n; k++) {
        switch (params[k].type) {
        case SOMNA_DBV_INT:
            snprintf(txt[k], sizeof txt[k], "%" PRId64, params[k].i);
            values[k] = txt[k];
            types[k] = 20; /* int8 */
            break;
        case SOMNA_DBV_REAL:
            somna_format_double(txt[k], sizeof txt[k], params[k].d);
            values[k] = txt[k];
            types[k] = 701; /* float8 */
            break;
        case SOMNA_DBV_TEXT:
            values[k] = params[k].s;
            types[k] = 0; /* let the server infer from the column */
            break;
        default:
            values[k] = NULL;
            types[k] = 0;
        }
    }
    if (new_id) {
        size_t len = strlen(sql);
        full = malloc(len + 16);
        if (!full) {
            rc = somna_fail(err, SOMNA_E_NOMEM, "out of memory");
            goto done;
        }
        memcpy(full, sql, len);
        memcpy(full + len, " RETURNING id", 14);
    }
    const char *text = full ? full : sql;
    int slot = -1;
    for (int i = 0; i < db->pg_n; i++)
        if (strcmp(db->pg_sql[i], text) == 0)
            slot = i;
    if (slot < 0 && db->pg_n < PG_STMT_CACHE && n > 0) {
        char sname[16];
        snprintf(sname, sizeof sname, "s%d", db->pg_n);
        PGresult *pr = db->pq.prepare(db->pg, sname, text, (int)n, types);
        int ok = db->pq.resultStatus(pr) == PGRES_COMMAND_OK;
        db->pq.clear(pr);
        char *copy = ok ? dup_str(text) : NULL;
        if (copy) {
            db->pg_sql[db->pg_n] = copy;
            slot = db->pg_n++;
        }
        /* a statement that cannot be prepared (or no memory) runs unprepared,
         * and its error, if any, is reported by PQexecParams below */
    }
    PGresult *r;
    if (slot >= 0) {
        char sname[16];
        snprintf(sname, sizeof sname, "s%d", slot);
        r = db->pq.execPrepared(db->pg, sname, (int)n, values, NULL, NULL, 0);
    } else {
        r = db->pq.execParams(db->pg, text, (int)n, types, values, NULL, NULL, 0);
    }
    ExecStatusType s = db->pq.resultStatus(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        const char *msg = db->pq.resultErrorMessage(r);
        rc = somna_fail(err, SOMNA_E_DB, "%s: executing SQL: %s", db->name,
                        msg && *msg ? msg : db->pq.errorMessage(db->pg));
        db->pq.clear(r);
        goto done;
    }
    if (new_id) {
        if (db->pq.ntuples(r) != 1 || somna_parse_int64_str(db->pq.getvalue(r, 0, 0), new_id) != 0)
            rc = somna_fail(err, SOMNA_E_DB, "%s: INSERT returned no id", db->name);
    }
    if (changes) {
        const char *ct = db->pq.cmdTuples(r);
        int64_t c = 0;
        *changes = (ct && *ct && somna_parse_int64_str(ct, &c) == 0) ? c : 0;
    }
    if (!rc && res) {
        res->n_rows = (size_t)db->pq.ntuples(r);
        res->n_cols = (size_t)db->pq.nfields(r);
        res->names = calloc(res->n_cols ? res->n_cols : 1, sizeof *res->names);
        size_t n_cells = res->n_rows * res->n_cols;
        res->cells = calloc(n_cells ? n_cells : 1, sizeof *res->cells);
        if (!res->names || !res->cells)
            rc = somna_fail(err, SOMNA_E_NOMEM, "out of memory reading query result");
        for (size_t c = 0; !rc && c < res->n_cols; c++)
            if (!(res->names[c] = dup_str(db->pq.fname(r, (int)c))))
                rc = somna_fail(err, SOMNA_E_NOMEM, "out of memory");
        for (size_t i = 0; !rc && i < res->n_rows; i++) {
            for (size_t c = 0; c < res->n_cols; c++) {
                somna_dbv *v = &res->cells[i * res->n_cols + c];
                if (db->pq.getisnull(r, (int)i, (int)c)) {
                    *v = somna_dbv_null();
                    continue;
                }
                const char *t = db->pq.getvalue(r, (int)i, (int)c);
                Oid ty = db->pq.ftype(r, (int)c);
                int64_t iv;
                double dv;
                if ((ty == 20 || ty == 21 || ty == 23) && somna_parse_int64_str(t, &iv) == 0) {
                    *v = somna_dbv_int(iv);
                } else if (ty == 16) {
                    *v = somna_dbv_int(t[0] == 't');
                } else if ((ty == 700 || ty == 701 || ty == 1700) && somna_parse_double_str(t, &dv) == 0) {
                    v->type = SOMNA_DBV_REAL;
                    v->d = dv;
                    v->s = NULL;
                } else if (ty == 700 || ty == 701 || ty == 1700) {
                    *v = somna_dbv_null(); /* NaN / Infinity stored by another client */
                } else {
                    char *d = dup_str(t);
                    if (!d) {
                        rc = somna_fail(err, SOMNA_E_NOMEM, "out of memory");
                        break;
                    }
                    *v = somna_dbv_text(d);
                }
            }
        }
    }
    db->pq.clear(r);
done:
    free(full);
    free(txt);
    free(values);
    free(types);
    return rc;
}

/* ---- public entry points ----------------------------------------------------------- */

static int run_any(somna_db *db, const char *sql, const somna_dbv *params, size_t n, somna_db_result *res,
                   int64_t *new_id, int64_t *changes, somna_err *err)
{
    if (res)
        memset(res, 0, sizeof *res);
    char *q = rewrite_sql(db, sql);
    if (!q)
        return somna_fail(err, SOMNA_E_NOMEM, "out of memory");
    int rc = db->engine == SOMNA_DB_SQLITE ? lite_exec(db, q, params, n, res, new_id, changes, err)
                                           : pg_exec(db, q, params, n, res, new_id, changes, err);
    free(q);
    if (rc && res)
        somna_db_result_free(res);
    return rc;
}

int somna_db_exec(somna_db *db, const char *sql, somna_err *err)
{
    char *q = rewrite_sql(db, sql);
    if (!q)
        return somna_fail(err, SOMNA_E_NOMEM, "out of memory");
    int rc = SOMNA_OK;
    if (db->engine == SOMNA_DB_SQLITE) {
        char *msg = NULL;
        if (sqlite3_exec(db->lite, q, NULL, NULL, &msg) != SQLITE_OK)
            rc = somna_fail(err, SOMNA_E_DB, "%s: %s", db->name, msg ? msg : sqlite3_errmsg(db->lite));
        sqlite3_free(msg);
    } else {
        /* schema changes may change what a prepared statement returns:
         * forget them all (PostgreSQL would refuse "cached plan must not
         * change result type") */
        const char *w = q + strspn(q, " \t\r\n");
        if (db->pg_n && (somna_strnieq(w, "CREATE", 6) || somna_strnieq(w, "DROP", 4) || somna_strnieq(w, "ALTER", 5))) {
            db->pq.clear(db->pq.exec(db->pg, "DEALLOCATE ALL"));
            for (int i = 0; i < db->pg_n; i++)
                free(db->pg_sql[i]);
            db->pg_n = 0;
        }
        PGresult *r = db->pq.exec(db->pg, q);
        ExecStatusType s = db->pq.resultStatus(r);
        if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
            rc = somna_fail(err, SOMNA_E_DB, "%s: %s", db->name, db->pq.resultErrorMessage(r));
        db->pq.clear(r);
    }
    free(q);
    return rc;
}

int somna_db_run(somna_db *db, const char *sql, const somna_dbv *params, size_t n_params, int64_t *new_id,
                 int64_t *changes, somna_err *err)
{
    return run_any(db, sql, params, n_params, NULL, new_id, changes, err);
}

int somna_db_query(somna_db *db, const char *sql, const somna_dbv *params, size_t n_params,
                   somna_db_result *res, somna_err *err)
{
    return run_any(db, sql, params, n_params, res, NULL, NULL, err);
}

int somna_db_query_int(somna_db *db, const char *sql, const somna_dbv *params, size_t n_params, int64_t *out,
                       somna_err *err)
{
    somna_db_result r;
    int rc = somna_db_query(db, sql, params, n_params, &r, err);
    if (rc)
        return rc;
    if (r.n_rows < 1 || r.n_cols < 1) {
        somna_db_result_free(&r);
        return somna_fail(err, SOMNA_E_NOTFOUND, "%s: query returned no row", db->name);
    }
    *out = somna_db_get_int(&r, 0, 0, 0);
    somna_db_result_free(&r);
    return SOMNA_OK;
}

int somna_db_begin(somna_db *db, somna_err *err)
{
    /* IMMEDIATE takes SQLite's write lock now, so two importers serialise
     * instead of failing half-way. */
    return somna_db_exec(db, db->engine == SOMNA_DB_SQLITE ? "BEGIN IMMEDIATE" : "BEGIN", err);
}

int somna_db_commit(somna_db *db, somna_err *err)
{
    return somna_db_exec(db, "COMMIT", err);
}

void somna_db_rollback(somna_db *db)
{
    somna_db_exec(db, "ROLLBACK", NULL);
}

int somna_db_end(somna_db *db, int rc, somna_err *err)
{
    if (!rc)
        rc = somna_db_commit(db, err);
    if (rc)
        somna_db_rollback(db);
    return rc;
}
