/* somna — command-line entry point: a table of subcommands over libsomna. */
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "cli.h"
#include "commands.h"
#include "somna/version.h"

/* Every subcommand, in the order `somna --help` lists them. */
static const cli_command commands[] = {
    {"version", "print the somna version", cmd_version},
    {"info", "describe a recording (EDF/BDF, WFDB, text): signals, rates, units, stats", cmd_info},
    {"hypno", "sleep statistics, plot and agreement of hypnograms (any scoring format)", cmd_hypno},
    {"rpeaks", "find heartbeats (R peaks) in an ECG; evaluate against reference beats (EC57)", cmd_rpeaks},
    {"hrv", "heart-rate variability as PhysioNet computes it: whole, per stage, per window", cmd_hrv},
    {"emg", "muscle tone: chin EMG per epoch and stage, REM atonia; surface EMG RMS and MDF", cmd_emg},
    {"score", "score questionnaires (PSQI, RCSQ, ISI, ESS, KSS, scales) and sleep diaries", cmd_score},
    {"simulate", "simulate nights, naps and whole studies with known ground truth", cmd_simulate},
    {"demo", "simulate a seed-shaped massage study and run the whole chain on it (the main job)", cmd_demo},
    {"study", "study database: init, enrol, randomize, import, process, analyze, export", cmd_study},
    {"report", "results report of a study (self-contained HTML or Markdown)", cmd_report},
    {"stats", "statistical tests as R computes them: t, Wilcoxon, RM-ANOVA, LMM, McNemar, meta...", cmd_stats},
};

static const size_t n_commands = sizeof commands / sizeof commands[0];

static void print_help(FILE *out)
{
    fprintf(out,
            "somna %s — measure how massage changes sleep: recordings, hypnograms, HRV,\n"
            "questionnaires and trial statistics, from raw files to the results table.\n\n"
            "Usage: somna <command> [options]\n"
            "       somna <command> --help     options of one command\n"
            "       somna --version\n\n"
            "Commands:\n",
            SOMNA_VERSION);
    for (size_t i = 0; i < n_commands; i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nExit status: 0 success, 1 usage error, 2 bad input or failure.\n"
                 "Data go to standard output, messages to standard error.\n");
}

int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("somna %s\n", SOMNA_VERSION);
    return CLI_EXIT_OK;
}

int main(int argc, char **argv)
{
    /* GSL's default error handler aborts the process (e.g. on an underflow
     * deep inside a distribution function).  The library reports failures as
     * NaN / error codes instead, so the CLI, which owns the process, turns the
     * handler off once for every command. */
    gsl_set_error_handler_off();
    if (argc < 2) {
        print_help(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        if (argc > 2 && strcmp(name, "help") == 0) {
            for (size_t i = 0; i < n_commands; i++)
                if (strcmp(commands[i].name, argv[2]) == 0) {
                    char *sub[] = {argv[2], (char *)"--help", NULL};
                    cli_getopt_reset();
                    return commands[i].run(2, sub);
                }
        }
        print_help(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0)
        return cmd_version(0, NULL);
    for (size_t i = 0; i < n_commands; i++) {
        if (strcmp(commands[i].name, name) == 0) {
            cli_getopt_reset();
            return commands[i].run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "somna: unknown command '%s'\nTry 'somna --help'.\n", name);
    return CLI_EXIT_USAGE;
}
