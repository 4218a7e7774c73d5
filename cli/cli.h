/* somna CLI — shared conventions for every subcommand.
 *
 * A command is `int cmd_NAME(int argc, char **argv)` with argv[0] = NAME,
 * registered once in the table in main.c.  Data go to stdout, messages to
 * stderr.  Exit codes: 0 success, 1 usage error, 2 bad input or failure.
 */
#ifndef SOMNA_CLI_H
#define SOMNA_CLI_H

#include <getopt.h>
#include <stdio.h>

#include "somna/error.h"

enum { CLI_EXIT_OK = 0, CLI_EXIT_USAGE = 1, CLI_EXIT_FAIL = 2 };

typedef struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} cli_command;

/* Warning callback for somna_err: prints "somna: warning: MSG" to stderr. */
void cli_warn(void *ctx, const char *message);

/* Initialise an error object whose warnings go to stderr. */
void cli_err_init(somna_err *err);

/* Print "somna CMD: MSG" for a library failure; returns CLI_EXIT_FAIL. */
int cli_fail(const char *cmd, const somna_err *err);

/* Print "somna CMD: MSG" and a hint to --help; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) SOMNA_PRINTF(2, 3);

/* Print "somna CMD: MSG" for a failure detected in the CLI; returns CLI_EXIT_FAIL. */
int cli_error(const char *cmd, const char *fmt, ...) SOMNA_PRINTF(2, 3);

/* Parse a numeric option value strictly (locale-free); on junk prints a
 * usage error naming the option and returns -1. */
int cli_opt_double(const char *cmd, const char *opt, const char *val, double *out);
int cli_opt_long(const char *cmd, const char *opt, const char *val, long *out);

/* getopt_long wrapper state reset (each command parses its own argv). */
void cli_getopt_reset(void);

/* Handle the result of getopt_long() returning '?' or ':' uniformly. */
int cli_bad_option(const char *cmd);

/* A value for a TSV cell: shortest round-trip decimal, "NA" when not finite. */
void cli_fmt_tsv(char *buf, size_t size, double v);

/* A value for people: `digits` significant digits, "null" when not finite. */
void cli_fmt_short(char *buf, size_t size, double v, int digits);

#endif
