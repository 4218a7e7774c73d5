/* somna — one database API over SQLite (embedded, default) and PostgreSQL
 * (a shared lab server).
 *
 * The study layer writes SQL once, with `?` placeholders and three tokens
 * that differ between the engines (@PK@ auto-increment key, @REAL@ 8-byte
 * float, @NOW@ current UTC time as text).  This layer rewrites placeholders
 * to $1..$n for libpq and binds every value as a parameter: no value is ever
 * pasted into SQL text.  Results come back typed (integer, double, text,
 * null) so doubles survive the round trip bit for bit on both engines.
 *
 * A URL starting with "postgresql://" or "postgres://" (or a libpq keyword
 * string starting with "host=" / "dbname=") opens PostgreSQL; anything else
 * is a SQLite file path, created with mode 0600 when new.
 */
#ifndef SOMNA_DB_H
#define SOMNA_DB_H

#include <stddef.h>
#include <stdint.h>

#include "somna/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct somna_db somna_db;

enum somna_db_engine { SOMNA_DB_SQLITE = 1, SOMNA_DB_POSTGRES = 2 };

typedef enum somna_dbv_type {
    SOMNA_DBV_NULL = 0,
    SOMNA_DBV_INT,
    SOMNA_DBV_REAL,
    SOMNA_DBV_TEXT
} somna_dbv_type;

/* One bound parameter or one result cell.  For TEXT, `s` points into the
 * caller's memory (parameters) or the result's memory (cells). */
typedef struct somna_dbv {
    somna_dbv_type type;
    int64_t i;
    double d;
    const char *s;
} somna_dbv;

/* Constructors.  somna_dbv_real of a non-finite value and somna_dbv_text of
 * NULL give SQL NULL: a number that could not be computed is stored as NULL. */
somna_dbv somna_dbv_null(void);
somna_dbv somna_dbv_int(int64_t v);
somna_dbv somna_dbv_real(double v);
somna_dbv somna_dbv_text(const char *s);

typedef struct somna_db_result {
    size_t n_rows;
    size_t n_cols;
    char **names;      /* n_cols column names */
    somna_dbv *cells;  /* n_rows * n_cols */
    char *storage_;    /* internal */
} somna_db_result;

/* Open (creating a SQLite file 0600 if needed).  *db is NULL on failure. */
int somna_db_open(somna_db **db, const char *url, somna_err *err);
void somna_db_close(somna_db *db);
int somna_db_engine(const somna_db *db);
/* The URL or path as given (for messages). */
const char *somna_db_name(const somna_db *db);

/* Run one or more statements without parameters (schema DDL).  Tokens
 * @PK@, @REAL@, @NOW@ are replaced for the engine. */
int somna_db_exec(somna_db *db, const char *sql, somna_err *err);

/* Run one statement with bound parameters.  When new_id is non-NULL the
 * statement must be an INSERT into a table whose key column is `id`; the
 * new key is stored there. *changes (may be NULL) receives rows affected. */
int somna_db_run(somna_db *db, const char *sql, const somna_dbv *params, size_t n_params, int64_t *new_id,
                 int64_t *changes, somna_err *err);

/* Run a query; the result must be freed with somna_db_result_free. */
int somna_db_query(somna_db *db, const char *sql, const somna_dbv *params, size_t n_params,
                   somna_db_result *res, somna_err *err);
void somna_db_result_free(somna_db_result *res);

static inline const somna_dbv *somna_db_cell(const somna_db_result *r, size_t row, size_t col)
{
    return &r->cells[row * r->n_cols + col];
}
/* Typed getters: NULL cells give NaN / `dflt` / NULL. */
double somna_db_get_double(const somna_db_result *r, size_t row, size_t col);
int64_t somna_db_get_int(const somna_db_result *r, size_t row, size_t col, int64_t dflt);
const char *somna_db_get_text(const somna_db_result *r, size_t row, size_t col);

/* Transactions.  An import is one transaction: begin, work, commit; any
 * failure rolls back so nothing half-written remains. */
int somna_db_begin(somna_db *db, somna_err *err);
int somna_db_commit(somna_db *db, somna_err *err);
void somna_db_rollback(somna_db *db);

/* Single value helpers: first column of the first row (fails with
 * SOMNA_E_NOTFOUND when there is no row). */
int somna_db_query_int(somna_db *db, const char *sql, const somna_dbv *params, size_t n_params, int64_t *out,
                       somna_err *err);

#ifdef __cplusplus
}
#endif
#endif
