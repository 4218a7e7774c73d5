/* One declaration per subcommand; the table lives in main.c. */
#ifndef SOMNA_COMMANDS_H
#define SOMNA_COMMANDS_H

int cmd_version(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_hypno(int argc, char **argv);
int cmd_rpeaks(int argc, char **argv);
int cmd_hrv(int argc, char **argv);
int cmd_emg(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_simulate(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_study(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_stats(int argc, char **argv);

#endif
