#include "somna/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void somna_err_init(somna_err *err, somna_warn_fn warn, void *warn_ctx)
{
    if (!err)
        return;
    err->code = SOMNA_OK;
    err->msg[0] = '\0';
    err->warn = warn;
    err->warn_ctx = warn_ctx;
    err->n_warnings = 0;
}

int somna_fail(somna_err *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

void somna_err_prefix(somna_err *err, const char *fmt, ...)
{
    if (!err)
        return;
    char prefix[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    /* Build "prefix: old" without format-truncation games: copy what fits. */
    char old[SOMNA_ERR_MSG_MAX];
    memcpy(old, err->msg, sizeof old);
    size_t pl = strnlen(prefix, sizeof prefix);
    size_t cap = sizeof err->msg - 1;
    size_t used = pl < cap ? pl : cap;
    memcpy(err->msg, prefix, used);
    if (used + 2 <= cap) {
        memcpy(err->msg + used, ": ", 2);
        used += 2;
    }
    size_t ol = strnlen(old, sizeof old);
    size_t take = ol < cap - used ? ol : cap - used;
    memcpy(err->msg + used, old, take);
    err->msg[used + take] = '\0';
}

void somna_warn(somna_err *err, const char *fmt, ...)
{
    if (!err)
        return;
    err->n_warnings++;
    if (!err->warn)
        return;
    char buf[SOMNA_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    err->warn(err->warn_ctx, buf);
}

const char *somna_strerror(int code)
{
    switch (code) {
    case SOMNA_OK: return "success";
    case SOMNA_E_ARG: return "invalid argument";
    case SOMNA_E_IO: return "input/output error";
    case SOMNA_E_FORMAT: return "malformed input";
    case SOMNA_E_NOMEM: return "out of memory";
    case SOMNA_E_DATA: return "insufficient or degenerate data";
    case SOMNA_E_UNSUPPORTED: return "unsupported feature";
    case SOMNA_E_DB: return "database error";
    case SOMNA_E_NOTFOUND: return "not found";
    default: return "unknown error";
    }
}
