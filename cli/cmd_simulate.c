/* somna simulate — simulated nights/naps and whole studies with known truth. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "somna/json.h"
#include "somna/parse.h"
#include "somna/sim.h"

static const char *const CMD = "simulate";

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: somna simulate night [options]     one night (or nap) as EDF+ plus truth files\n"
            "       somna simulate study [options]     a whole study: recordings, questionnaires, logs, truth\n"
            "\n"
            "Everything is deterministic for a seed: the same options give the same files.\n"
            "\n"
            "simulate night:\n"
            "  -o, --out DIR          output directory (default: sim-night)\n"
            "      --name NAME        file name stem (default: night, or nap with --nap)\n"
            "      --seed N           random seed (default 1)\n"
            "      --hours H          time in bed for a night (default 8)\n"
            "      --nap MIN          a nap of MIN minutes (20..90) starting awake\n"
            "      --sol MIN          sleep-onset latency, lights off -> first N1 (night 15,\n"
            "                         nap 10 or 20 %% of a shorter nap)\n"
            "      --efficiency F     total sleep time / time in bed (night 0.88, nap 0.75)\n"
            "      --fragmentation F  awakenings within sleep per hour of sleep (night 2, nap 1)\n"
            "      --n3 MIN           minutes of N3 (default ~20 %% of sleep at night)\n"
            "      --fs-eeg HZ        EEG/EOG sampling rate (default 256)\n"
            "      --fs-emg HZ        chin EMG sampling rate, >= 200 (default 256)\n"
            "      --fs-ecg HZ        ECG sampling rate (default 256)\n"
            "      --hr BPM           relaxed-wake heart rate (default 68)\n"
            "      --ectopy RATE      fraction of beats that are premature ventricular (0..0.2)\n"
            "      --artefacts        movement artefacts at awakenings, electrode pops\n"
            "      --line-noise HZ    add 50 or 60 Hz mains interference\n"
            "      --emg-envelope     add the 1-Hz chin EMG RMS channel some systems store\n"
            "      --extras           add respiration, distal skin temperature, 3-axis actigraphy\n"
            "      --ecg-only         write only the ECG channel (fast; hypnogram truth still written)\n"
            "      --json             print the summary as JSON\n"
            "  Writes DIR/NAME.edf (EDF+C: EEG C4-M1, EEG Fpz-Cz, EOG E1-M2, EOG E2-M1, EMG Chin,\n"
            "  ECG [+ extras], stage annotations \"Sleep stage W/1/2/3/R\") and the truth:\n"
            "  NAME.hypnogram.tsv (one stage per 30-s epoch), NAME.rpeaks.tsv (R-peak samples),\n"
            "  NAME.events.tsv (spindles, K-complexes, slow waves, eye movements, twitches...).\n"
            "\n");
    fprintf(out,
            "simulate study:\n"
            "  -o, --out DIR          output directory (default: sim-study)\n"
            "      --design D         crossover (default) | parallel | prepost | dose\n"
            "      --n N              participants (default 15)\n"
            "      --conditions LIST  comma-separated names, the last is the reference\n"
            "                         (default relaxation,sports,control; other names start\n"
            "                         with no effect: give them with the lists below)\n"
            "      --minutes LIST     massage minutes per condition (default 30,30,0; dose: e.g. 30,60,90,0)\n"
            "      --effect-sol LIST  change in sleep-onset latency per condition, minutes (default -4,0,0)\n"
            "      --effect-tst LIST  change in total sleep time, minutes (default 4,0,0)\n"
            "      --effect-n3 LIST   change in N3 minutes (default 2,1,0)\n"
            "      --effect-hf LIST   HF power ratio (default 1.25,1.1,1)\n"
            "      --effect-emg LIST  chin EMG tone change, percent (default 0,-7.2,0)\n"
            "      --effect-rcsq LIST RCSQ change, points of 100 (default 8,4,0)\n"
            "      --effect-relax LIST relaxation score change pre->post, points of 100 (default 14,9,0)\n"
            "      --effect-psqi LIST PSQI global change (pre-post designs; default -2,-1,0)\n"
            "      --drift-rate P     chance of drifting off on the table in a massage session\n"
            "                         (logged as drifted_off in sessions.csv; default 0.4)\n"
            "      --drift-effect-sol MIN  extra latency change in sessions that drifted off\n"
            "                         (default 0; the --effect-* values are for the others)\n"
            "      --night            sessions are 8-h nights instead of naps\n"
            "      --nap-min MIN      nap opportunity (default 90)\n"
            "      --recordings KIND  full (default) | ecg (ECG-only EDF, fast) | none\n"
            "      --fs-eeg HZ        EEG rate of full recordings (default 128)\n"
            "      --seed N           random seed (default 1)\n"
            "      --json             print the summary as JSON\n"
            "  Writes participants.csv, sessions.csv (session log), psqi.csv, rcsq.csv,\n"
            "  relaxation.csv, manifest.tsv, truth.json and recordings/<session>.edf + truth files.\n"
            "\n"
            "Examples:\n"
            "  somna simulate night -o out --seed 7 --artefacts --line-noise 50\n"
            "  somna simulate night -o out --nap 60 --sol 6\n"
            "  somna simulate study -o study --design crossover --n 15\n");
}

static int night(int argc, char **argv)
{
    enum {
        O_NAME = 256, O_SEED, O_HOURS, O_NAP, O_SOL, O_EFF, O_FRAG, O_N3, O_FSEEG, O_FSEMG, O_FSECG, O_HR,
        O_ECTOPY, O_ART, O_LINE, O_ENV, O_EXTRAS, O_ECGONLY, O_JSON
    };
    static const struct option opts[] = {
        {"out", required_argument, 0, 'o'},       {"name", required_argument, 0, O_NAME},
        {"seed", required_argument, 0, O_SEED},   {"hours", required_argument, 0, O_HOURS},
        {"nap", required_argument, 0, O_NAP},     {"sol", required_argument, 0, O_SOL},
        {"efficiency", required_argument, 0, O_EFF}, {"fragmentation", required_argument, 0, O_FRAG},
        {"n3", required_argument, 0, O_N3},       {"fs-eeg", required_argument, 0, O_FSEEG},
        {"fs-emg", required_argument, 0, O_FSEMG}, {"fs-ecg", required_argument, 0, O_FSECG},
        {"hr", required_argument, 0, O_HR},       {"ectopy", required_argument, 0, O_ECTOPY},
        {"artefacts", no_argument, 0, O_ART},     {"line-noise", required_argument, 0, O_LINE},
        {"emg-envelope", no_argument, 0, O_ENV},  {"extras", no_argument, 0, O_EXTRAS},
        {"ecg-only", no_argument, 0, O_ECGONLY},  {"json", no_argument, 0, O_JSON},
        {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};

    /* first pass: is it a nap?  (defaults differ) */
    double nap_min = -1.0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--nap") == 0 && i + 1 < argc) {
            if (cli_opt_double(CMD, "nap", argv[i + 1], &nap_min))
                return CLI_EXIT_USAGE;
        } else if (strncmp(argv[i], "--nap=", 6) == 0) {
            if (cli_opt_double(CMD, "nap", argv[i] + 6, &nap_min))
                return CLI_EXIT_USAGE;
        }
    }
    somna_sim_night_params p;
    somna_sim_night_params_default(&p, nap_min >= 0.0);
    if (nap_min >= 0.0)
        p.sleep.tib_min = nap_min;
    const char *out = "sim-night", *name = NULL;
    int json = 0, sol_given = 0;
    double v;
    long l;
    int c;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case O_NAME: name = optarg; break;
        case O_SEED:
            if (cli_opt_long(CMD, "seed", optarg, &l))
                return CLI_EXIT_USAGE;
            if (l < 0)
                return cli_usage_error(CMD, "option --seed: must be >= 0");
            p.seed = (uint64_t)l;
            break;
        case O_HOURS:
            if (cli_opt_double(CMD, "hours", optarg, &v))
                return CLI_EXIT_USAGE;
            if (nap_min >= 0.0)
                return cli_usage_error(CMD, "--hours and --nap exclude each other");
            p.sleep.tib_min = v * 60.0;
            break;
        case O_NAP: break; /* handled above */
        case O_SOL:
            if (cli_opt_double(CMD, "sol", optarg, &p.sleep.sol_min))
                return CLI_EXIT_USAGE;
            sol_given = 1;
            break;
        case O_EFF:
            if (cli_opt_double(CMD, "efficiency", optarg, &p.sleep.efficiency))
                return CLI_EXIT_USAGE;
            break;
        case O_FRAG:
            if (cli_opt_double(CMD, "fragmentation", optarg, &p.sleep.fragmentation))
                return CLI_EXIT_USAGE;
            break;
        case O_N3:
            if (cli_opt_double(CMD, "n3", optarg, &p.sleep.n3_min))
                return CLI_EXIT_USAGE;
            if (p.sleep.n3_min < 0)
                return cli_usage_error(CMD, "option --n3: must be >= 0 minutes");
            break;
        case O_FSEEG:
        case O_FSEMG:
        case O_FSECG:
            if (cli_opt_long(CMD, c == O_FSEEG ? "fs-eeg" : c == O_FSEMG ? "fs-emg" : "fs-ecg", optarg, &l))
                return CLI_EXIT_USAGE;
            if (l < 1 || l > 100000)
                return cli_usage_error(CMD, "sampling rate %ld Hz is out of range", l);
            if (c == O_FSEEG)
                p.fs_eeg = (int)l;
            else if (c == O_FSEMG)
                p.fs_emg = (int)l;
            else
                p.fs_ecg = (int)l;
            break;
        case O_HR:
            if (cli_opt_double(CMD, "hr", optarg, &p.hr_bpm))
                return CLI_EXIT_USAGE;
            break;
        case O_ECTOPY:
            if (cli_opt_double(CMD, "ectopy", optarg, &p.ectopy))
                return CLI_EXIT_USAGE;
            break;
        case O_ART: p.artefacts = 1; break;
        case O_LINE:
            if (cli_opt_double(CMD, "line-noise", optarg, &p.line_noise_hz))
                return CLI_EXIT_USAGE;
            if (p.line_noise_hz != 50.0 && p.line_noise_hz != 60.0)
                return cli_usage_error(CMD, "option --line-noise: must be 50 or 60, not '%s'", optarg);
            break;
        case O_ENV: p.emg_envelope = 1; break;
        case O_EXTRAS: p.extras = 1; break;
        case O_ECGONLY: p.ecg_only = 1; break;
        case O_JSON: json = 1; break;
        case 'h': usage(stdout); return CLI_EXIT_OK;
        default: return cli_bad_option(CMD);
        }
    }
    if (optind < argc)
        return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    if (!name)
        name = p.sleep.nap ? "nap" : "night";
    if (p.sleep.nap && !sol_given && p.sleep.sol_min > 0.2 * p.sleep.tib_min)
        p.sleep.sol_min = 0.2 * p.sleep.tib_min; /* short naps: default latency 20 % of the nap */

    somna_err err;
    cli_err_init(&err);
    somna_sim_night_summary s;
    if (somna_sim_night_write(&p, out, name, &s, &err))
        return cli_fail(CMD, &err);

    static const char *const st[5] = {"W", "N1", "N2", "N3", "R"};
    if (json) {
        somna_json j;
        somna_json_init(&j, stdout, 1);
        somna_json_object_begin(&j);
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.edf", out, name);
        somna_json_kv_string(&j, "edf", path);
        somna_json_kv_int(&j, "seed", (int64_t)p.seed);
        somna_json_kv_int(&j, "channels", s.n_channels);
        somna_json_kv_number(&j, "tib_min", s.tib_min);
        somna_json_kv_number(&j, "sol_min", s.sol_min);
        somna_json_kv_number(&j, "tst_min", s.tst_min);
        somna_json_kv_number(&j, "waso_min", s.waso_min);
        somna_json_kv_int(&j, "awakenings", s.awakenings);
        somna_json_key(&j, "stage_min");
        somna_json_object_begin(&j);
        for (int k = 0; k < 5; k++)
            somna_json_kv_number(&j, st[k], s.stage_min[k]);
        somna_json_object_end(&j);
        somna_json_key(&j, "mean_hr_bpm");
        somna_json_object_begin(&j);
        for (int k = 0; k < 5; k++)
            somna_json_kv_number(&j, st[k], s.mean_hr_stage[k]);
        somna_json_object_end(&j);
        somna_json_kv_int(&j, "beats", (int64_t)s.n_beats);
        somna_json_kv_int(&j, "ectopic_beats", (int64_t)s.n_ectopic);
        somna_json_kv_int(&j, "spindles", (int64_t)s.n_spindles);
        somna_json_kv_int(&j, "slow_waves", (int64_t)s.n_slow_waves);
        somna_json_kv_int(&j, "k_complexes", (int64_t)s.n_kcomplexes);
        somna_json_object_end(&j);
        somna_json_finish(&j);
    } else {
        printf("wrote %s/%s.edf (%d signals, %.0f min) and %s.{hypnogram,rpeaks,events}.tsv\n", out, name,
               s.n_channels, s.tib_min, name);
        printf("truth: SOL %.1f min, TST %.1f min, WASO %.1f min, %d awakenings\n", s.sol_min, s.tst_min,
               s.waso_min, s.awakenings);
        printf("       W %.1f  N1 %.1f  N2 %.1f  N3 %.1f  R %.1f min\n", s.stage_min[0], s.stage_min[1],
               s.stage_min[2], s.stage_min[3], s.stage_min[4]);
        printf("       %zu beats (%zu ectopic), %zu spindles, %zu slow waves, %zu K-complexes\n", s.n_beats,
               s.n_ectopic, s.n_spindles, s.n_slow_waves, s.n_kcomplexes);
    }
    return CLI_EXIT_OK;
}

/* Parse "a,b,c" into up to max doubles; returns the count or -1 (message printed). */
static int parse_list(const char *opt, const char *s, double *out, int max)
{
    int n = 0;
    const char *p = s;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (n >= max) {
            cli_usage_error(CMD, "option --%s: more than %d values", opt, max);
            return -1;
        }
        if (somna_parse_double(p, len, &out[n]) != 0) {
            cli_usage_error(CMD, "option --%s: '%.*s' is not a number", opt, (int)len, p);
            return -1;
        }
        n++;
        p += len;
        if (*p == ',')
            p++;
    }
    return n;
}

static int simulate_study(int argc, char **argv)
{
    enum {
        O_DESIGN = 256, O_N, O_COND, O_MIN, O_SOL, O_TST, O_N3, O_HF, O_EMG, O_RCSQ, O_RELAX, O_PSQI, O_NIGHT,
        O_NAPMIN, O_REC, O_FSEEG, O_SEED, O_JSON, O_DRATE, O_DSOL
    };
    static const struct option opts[] = {
        {"out", required_argument, 0, 'o'},          {"design", required_argument, 0, O_DESIGN},
        {"n", required_argument, 0, O_N},            {"conditions", required_argument, 0, O_COND},
        {"minutes", required_argument, 0, O_MIN},    {"effect-sol", required_argument, 0, O_SOL},
        {"effect-tst", required_argument, 0, O_TST}, {"effect-n3", required_argument, 0, O_N3},
        {"effect-hf", required_argument, 0, O_HF},   {"effect-emg", required_argument, 0, O_EMG},
        {"effect-rcsq", required_argument, 0, O_RCSQ}, {"effect-relax", required_argument, 0, O_RELAX},
        {"effect-psqi", required_argument, 0, O_PSQI}, {"night", no_argument, 0, O_NIGHT},
        {"nap-min", required_argument, 0, O_NAPMIN}, {"recordings", required_argument, 0, O_REC},
        {"fs-eeg", required_argument, 0, O_FSEEG},   {"seed", required_argument, 0, O_SEED},
        {"json", no_argument, 0, O_JSON},            {"help", no_argument, 0, 'h'},
        {"drift-rate", required_argument, 0, O_DRATE}, {"drift-effect-sol", required_argument, 0, O_DSOL},
        {0, 0, 0, 0}};
    somna_sim_study_params p;
    somna_sim_study_params_default(&p);
    const char *out = "sim-study", *names = NULL;
    double lists[9][SOMNA_SIM_MAX_CONDITIONS];
    int nlist[9] = {0};
    int json = 0, c;
    long l;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case O_DESIGN:
            p.design = somna_sim_design_parse(optarg);
            if (p.design < 0)
                return cli_usage_error(CMD, "option --design: '%s' is not crossover, parallel, prepost or dose",
                                       optarg);
            break;
        case O_N:
            if (cli_opt_long(CMD, "n", optarg, &l))
                return CLI_EXIT_USAGE;
            if (l < 1 || l > 10000)
                return cli_usage_error(CMD, "option --n: %ld participants is outside 1..10000", l);
            p.n = (int)l;
            break;
        case O_COND: names = optarg; break;
        case O_MIN: case O_SOL: case O_TST: case O_N3: case O_HF: case O_EMG: case O_RCSQ: case O_RELAX:
        case O_PSQI: {
            static const char *const on[9] = {"minutes", "effect-sol", "effect-tst", "effect-n3", "effect-hf",
                                              "effect-emg", "effect-rcsq", "effect-relax", "effect-psqi"};
            int idx = c - O_MIN;
            nlist[idx] = parse_list(on[idx], optarg, lists[idx], SOMNA_SIM_MAX_CONDITIONS);
            if (nlist[idx] < 0)
                return CLI_EXIT_USAGE;
            break;
        }
        case O_NIGHT: p.nap = 0; break;
        case O_DRATE:
            if (cli_opt_double(CMD, "drift-rate", optarg, &p.drift_rate))
                return CLI_EXIT_USAGE;
            if (p.drift_rate < 0 || p.drift_rate > 1)
                return cli_usage_error(CMD, "option --drift-rate: %s is outside 0..1", optarg);
            break;
        case O_DSOL:
            if (cli_opt_double(CMD, "drift-effect-sol", optarg, &p.drift_sol_min))
                return CLI_EXIT_USAGE;
            break;
        case O_NAPMIN:
            if (cli_opt_double(CMD, "nap-min", optarg, &p.nap_min))
                return CLI_EXIT_USAGE;
            break;
        case O_REC:
            if (strcmp(optarg, "full") == 0)
                p.recordings = 2;
            else if (strcmp(optarg, "ecg") == 0)
                p.recordings = 1;
            else if (strcmp(optarg, "none") == 0)
                p.recordings = 0;
            else
                return cli_usage_error(CMD, "option --recordings: '%s' is not full, ecg or none", optarg);
            break;
        case O_FSEEG:
            if (cli_opt_long(CMD, "fs-eeg", optarg, &l))
                return CLI_EXIT_USAGE;
            if (l < 64 || l > 4096)
                return cli_usage_error(CMD, "option --fs-eeg: %ld Hz is outside 64..4096", l);
            p.fs_eeg = (int)l;
            break;
        case O_SEED:
            if (cli_opt_long(CMD, "seed", optarg, &l))
                return CLI_EXIT_USAGE;
            if (l < 0)
                return cli_usage_error(CMD, "option --seed: must be >= 0");
            p.seed = (uint64_t)l;
            break;
        case O_JSON: json = 1; break;
        case 'h': usage(stdout); return CLI_EXIT_OK;
        default: return cli_bad_option(CMD);
        }
    }
    if (optind < argc)
        return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);

    if (p.design == SOMNA_SIM_DOSE && !names) {
        /* dose-response by session length: effects grow linearly with minutes */
        static const double mins[4] = {30, 60, 90, 0};
        static const char *const dn[4] = {"massage30", "massage60", "massage90", "control"};
        p.n_conditions = 4;
        for (int i = 0; i < 4; i++) {
            double x = mins[i] / 30.0;
            somna_sim_condition *cd = &p.conditions[i];
            memset(cd, 0, sizeof *cd);
            somna_strlcpy(cd->name, dn[i], sizeof cd->name);
            cd->massage_min = mins[i];
            cd->d_sol_min = -2.0 * x;
            cd->d_tst_min = 3.0 * x;
            cd->d_n3_min = 1.0 * x;
            cd->hf_ratio = 1.0 + 0.1 * x;
            cd->emg_pct = -3.0 * x;
            cd->d_rcsq = 4.0 * x;
            cd->d_relax = 4.0 * x;
            cd->d_psqi = -0.7 * x;
        }
    }
    if (names) {
        somna_sim_study_params defaults = p;
        int n = 0;
        const char *s = names;
        while (*s) {
            const char *e = strchr(s, ',');
            size_t len = e ? (size_t)(e - s) : strlen(s);
            if (n >= SOMNA_SIM_MAX_CONDITIONS)
                return cli_usage_error(CMD, "option --conditions: at most %d conditions", SOMNA_SIM_MAX_CONDITIONS);
            if (len == 0 || len >= sizeof p.conditions[0].name)
                return cli_usage_error(CMD, "option --conditions: condition %d has an empty or too long name", n + 1);
            /* a default condition named again keeps its effects; any other
             * name starts with no effect (given by the --effect-* lists) */
            somna_sim_condition keep;
            memset(&keep, 0, sizeof keep);
            keep.hf_ratio = 1.0;
            keep.massage_min = 30;
            memcpy(keep.name, s, len);
            keep.name[len] = '\0';
            for (int k = 0; k < defaults.n_conditions; k++)
                if (strcmp(defaults.conditions[k].name, keep.name) == 0)
                    keep = defaults.conditions[k];
            p.conditions[n++] = keep;
            s += len;
            if (*s == ',')
                s++;
        }
        if (n < 2)
            return cli_usage_error(CMD, "option --conditions: need at least two conditions");
        /* the reference (last) condition has no effect by definition */
        somna_sim_condition *r = &p.conditions[n - 1];
        char nm[32];
        somna_strlcpy(nm, r->name, sizeof nm);
        memset(r, 0, sizeof *r);
        somna_strlcpy(r->name, nm, sizeof r->name);
        r->hf_ratio = 1.0;
        p.n_conditions = n;
    }
    for (int idx = 0; idx < 9; idx++) {
        if (nlist[idx] == 0)
            continue;
        if (nlist[idx] != p.n_conditions)
            return cli_usage_error(CMD, "an effect list has %d values for %d conditions", nlist[idx],
                                   p.n_conditions);
        for (int i = 0; i < p.n_conditions; i++) {
            somna_sim_condition *cd = &p.conditions[i];
            double v = lists[idx][i];
            switch (idx) {
            case 0: cd->massage_min = v; break;
            case 1: cd->d_sol_min = v; break;
            case 2: cd->d_tst_min = v; break;
            case 3: cd->d_n3_min = v; break;
            case 4: cd->hf_ratio = v; break;
            case 5: cd->emg_pct = v; break;
            case 6: cd->d_rcsq = v; break;
            case 7: cd->d_relax = v; break;
            default: cd->d_psqi = v; break;
            }
        }
    }

    somna_err err;
    cli_err_init(&err);
    int n_sessions = 0;
    if (somna_sim_study_write(&p, out, &n_sessions, &err))
        return cli_fail(CMD, &err);
    if (json) {
        somna_json j;
        somna_json_init(&j, stdout, 1);
        somna_json_object_begin(&j);
        somna_json_kv_string(&j, "dir", out);
        somna_json_kv_string(&j, "design", somna_sim_design_name(p.design));
        somna_json_kv_int(&j, "participants", p.n);
        somna_json_kv_int(&j, "sessions", n_sessions);
        somna_json_kv_string(&j, "truth", "truth.json");
        somna_json_object_end(&j);
        somna_json_finish(&j);
    } else {
        printf("wrote %s: %s design, %d participants, %d sessions (%s)\n", out, somna_sim_design_name(p.design),
               p.n, n_sessions, p.recordings == 2 ? "full PSG" : p.recordings == 1 ? "ECG-only" : "no recordings");
        printf("  participants.csv sessions.csv psqi.csv rcsq.csv relaxation.csv manifest.tsv truth.json\n");
    }
    return CLI_EXIT_OK;
}

int cmd_simulate(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        if (argc < 2) {
            usage(stderr);
            return CLI_EXIT_USAGE;
        }
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "night") == 0)
        return night(argc - 1, argv + 1);
    if (strcmp(argv[1], "study") == 0)
        return simulate_study(argc - 1, argv + 1);
    return cli_usage_error(CMD, "unknown kind '%s' (night or study)", argv[1]);
}
