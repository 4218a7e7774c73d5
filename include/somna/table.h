/* somna — delimited text tables (CSV, TSV, semicolon) as studies keep them.
 *
 * One reader for questionnaires, session logs, RR files and statistics
 * input, so quoting, byte-order marks (UTF-8, UTF-16 as Noxturnal writes),
 * delimiter detection and precise "file:line: column" messages are solved
 * once.  Cells are kept as text; typed access goes through the getters,
 * which name the file, line and column of any bad value.
 */
#ifndef SOMNA_TABLE_H
#define SOMNA_TABLE_H

#include <stddef.h>

#include "somna/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct somna_table_opts {
    char delim;          /* 0 = detect among ',', '\t', ';' from the first line */
    int no_header;       /* 1 = first line is data; columns named "1", "2", ... */
    int allow_ragged;    /* 1 = short rows padded with empty cells instead of an error */
    char comment;        /* lines starting with this char are skipped (0 = none) */
    size_t max_bytes;    /* 0 = default limit (1 GiB) */
} somna_table_opts;

typedef struct somna_table {
    char *name;          /* file name used in messages */
    char delim;
    size_t n_cols;
    size_t n_rows;
    char **header;       /* n_cols column names (trimmed) */
    char **cells;        /* n_rows * n_cols, never NULL ("" when empty) */
    size_t *line;        /* 1-based source line of each row */
    char *storage_;      /* internal */
    char *header_storage_; /* internal */
} somna_table;

int somna_table_read(const char *path, const somna_table_opts *opts, somna_table *t, somna_err *err);
/* Parse text already in memory; `name` is used in messages. */
int somna_table_parse(const char *text, size_t len, const char *name, const somna_table_opts *opts,
                      somna_table *t, somna_err *err);
void somna_table_free(somna_table *t);

/* Column index by name (ASCII case-insensitive, blanks trimmed) or -1. */
long somna_table_col(const somna_table *t, const char *name);
/* Like somna_table_col but fails with "FILE: no column NAME (have: ...)". */
int somna_table_require_col(const somna_table *t, const char *name, size_t *col, somna_err *err);

static inline const char *somna_table_cell(const somna_table *t, size_t row, size_t col)
{
    return t->cells[row * t->n_cols + col];
}

/* 1 if the cell is empty or a missing-value marker (NA, NaN, ., null, -). */
int somna_table_is_missing(const somna_table *t, size_t row, size_t col);

/* Numeric cell; fails with "FILE:LINE: column COL: 'x' is not a number". */
int somna_table_get_double(const somna_table *t, size_t row, size_t col, double *out, somna_err *err);

#ifdef __cplusplus
}
#endif
#endif
