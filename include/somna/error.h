/* somna — error reporting shared by every module.
 *
 * The library never prints and never exits.  Every fallible function takes a
 * `somna_err *` (which may be NULL), returns SOMNA_OK (0) or a negative
 * SOMNA_E_* code, and on failure leaves one human-readable message in
 * err->msg that names the file, field, row or signal at fault.  Lenient
 * parsers report deviations they tolerated through the optional warn
 * callback, so the caller decides whether and where warnings are shown.
 */
#ifndef SOMNA_ERROR_H
#define SOMNA_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define SOMNA_PRINTF(fmt_idx, arg_idx) __attribute__((format(printf, fmt_idx, arg_idx)))
#define SOMNA_NODISCARD __attribute__((warn_unused_result))
#else
#define SOMNA_PRINTF(fmt_idx, arg_idx)
#define SOMNA_NODISCARD
#endif

enum somna_status {
    SOMNA_OK = 0,
    SOMNA_E_ARG = -1,         /* caller passed an invalid argument */
    SOMNA_E_IO = -2,          /* file cannot be opened, read or written */
    SOMNA_E_FORMAT = -3,      /* input file is malformed */
    SOMNA_E_NOMEM = -4,       /* allocation failed or size is absurd */
    SOMNA_E_DATA = -5,        /* data insufficient or degenerate for the computation */
    SOMNA_E_UNSUPPORTED = -6, /* valid input using a feature somna does not handle */
    SOMNA_E_DB = -7,          /* database error */
    SOMNA_E_NOTFOUND = -8     /* requested item (signal, column, record) does not exist */
};

typedef void (*somna_warn_fn)(void *ctx, const char *message);

#define SOMNA_ERR_MSG_MAX 1024

typedef struct somna_err {
    int code;                    /* last failure code, SOMNA_OK if none */
    char msg[SOMNA_ERR_MSG_MAX]; /* message of the last failure */
    somna_warn_fn warn;          /* optional: receives each warning */
    void *warn_ctx;
    unsigned n_warnings;         /* warnings issued since init */
} somna_err;

/* Reset to "no error, no warnings", keeping the warn callback. */
void somna_err_init(somna_err *err, somna_warn_fn warn, void *warn_ctx);

/* Record a failure and return `code` so callers can write
 *   return somna_fail(err, SOMNA_E_FORMAT, "%s: ...", path);
 * `err` may be NULL. */
int somna_fail(somna_err *err, int code, const char *fmt, ...) SOMNA_PRINTF(3, 4);

/* Prefix the current message with "prefix: " (adds context on the way up). */
void somna_err_prefix(somna_err *err, const char *fmt, ...) SOMNA_PRINTF(2, 3);

/* Report a tolerated deviation.  Does nothing visible without a callback. */
void somna_warn(somna_err *err, const char *fmt, ...) SOMNA_PRINTF(2, 3);

/* Short English name of a status code ("bad input format", ...). */
const char *somna_strerror(int code);

#ifdef __cplusplus
}
#endif
#endif
