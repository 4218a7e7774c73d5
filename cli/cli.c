#include "cli.h"

#include <stdarg.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "somna/json.h"
#include "somna/parse.h"

void cli_warn(void *ctx, const char *message)
{
    (void)ctx;
    fprintf(stderr, "somna: warning: %s\n", message);
}

void cli_err_init(somna_err *err)
{
    somna_err_init(err, cli_warn, NULL);
}

int cli_fail(const char *cmd, const somna_err *err)
{
    fprintf(stderr, "somna %s: %s\n", cmd, err->msg[0] ? err->msg : somna_strerror(err->code));
    return CLI_EXIT_FAIL;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "somna %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'somna %s --help'.\n", cmd);
    return CLI_EXIT_USAGE;
}

int cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "somna %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_EXIT_FAIL;
}

int cli_opt_double(const char *cmd, const char *opt, const char *val, double *out)
{
    if (somna_parse_double_str(val, out) != 0) {
        cli_usage_error(cmd, "option --%s: '%s' is not a number", opt, val);
        return -1;
    }
    return 0;
}

int cli_opt_long(const char *cmd, const char *opt, const char *val, long *out)
{
    int64_t v;
    if (somna_parse_int64_str(val, &v) != 0 || v < LONG_MIN || v > LONG_MAX) {
        cli_usage_error(cmd, "option --%s: '%s' is not an integer", opt, val);
        return -1;
    }
    *out = (long)v;
    return 0;
}

void cli_getopt_reset(void)
{
    optind = 0; /* glibc: 0 also resets its internal state */
    opterr = 1;
}

int cli_bad_option(const char *cmd)
{
    fprintf(stderr, "Try 'somna %s --help'.\n", cmd);
    return CLI_EXIT_USAGE;
}

void cli_fmt_tsv(char *buf, size_t size, double v)
{
    if (isfinite(v))
        somna_format_double(buf, size, v);
    else
        somna_strlcpy(buf, "NA", size);
}

void cli_fmt_short(char *buf, size_t size, double v, int digits)
{
    if (isfinite(v))
        snprintf(buf, size, "%.*g", digits, v);
    else
        somna_strlcpy(buf, "null", size);
}
