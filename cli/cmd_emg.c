/* somna emg — chin EMG tone per epoch and sleep stage with the REM atonia
 * index, or the amplitude and median frequency of a massaged muscle's
 * surface EMG during a session.  A thin front end over somna/emg.h; the
 * definitions and their sources are in docs/emg.md. */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "somna/emg.h"
#include "somna/fileio.h"
#include "somna/hypno.h"
#include "somna/json.h"
#include "somna/parse.h"
#include "somna/recording.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: somna emg FILE|RECORD [--channel C] [--hypno H] [--epoch S]\n"
            "                 [--atonia [--noise-correction]] [--unit U] [-o epochs.tsv]\n"
            "                 [--json] [--fs HZ]\n"
            "       somna emg FILE|RECORD --surface [--channel C] [--window S] [--band LO-HI]\n"
            "                 [--from S] [--to S] [--unit U] [-o windows.tsv] [--json]\n"
            "                 [--fs HZ]\n"
            "\n"
            "Muscle tone from EMG; definitions and sources in docs/emg.md.\n"
            "\n"
            "Chin EMG of a sleep recording (default):\n"
            "  tone of each epoch = RMS of the chin EMG band-passed 10-100 Hz (zero-phase\n"
            "  Butterworth; Ferri et al. 2008), or, for a channel sampled at <= 10 Hz (a\n"
            "  stored 1-s RMS envelope), the quadratic mean of its values in the epoch.\n"
            "  Prints the number of epochs and the mean epoch tone, in the channel's unit.\n"
            "  --hypno H          also mean, median and count of epochs per stage and the\n"
            "                     sleep (N1-REM) and NREM means; H is any hypnogram `somna\n"
            "                     hypno` reads, its epoch 0 at the start of the recording\n"
            "  --epoch S          epoch length in seconds (default 30)\n"
            "  --atonia           REM atonia index (Ferri 2008): 1-s mini-epochs of the\n"
            "                     rectified band-passed EMG over REM, AI = %% <= 1 uV /\n"
            "                     (100 - %% in (1, 2] uV), 0 no atonia .. 1 complete; needs\n"
            "                     --hypno, the raw EMG and a unit convertible to uV\n"
            "  --noise-correction subtract each mini-epoch's +-30 s minimum first\n"
            "                     (Ferri et al. 2010)\n"
            "  -o FILE            one line per epoch: epoch, start_s, tone, stage\n"
            "\n"
            "Surface EMG of a massaged muscle (--surface):\n"
            "  per window: RMS in the band, median (MDF) and mean (MNF) frequency of a\n"
            "  Welch spectrum (0.25-s Hann segments, half overlap; Merletti & Parker\n"
            "  2004), then the first minute against the last minute (RMS as the power\n"
            "  mean, MDF as the mean of the windows; shorter sessions: first half\n"
            "  against second half) with their percent change, and the MDF slope in\n"
            "  Hz/min (least squares over all windows; negative = fatigue, De Luca 1997).\n"
            "  Needs a sampling rate of at least 100 Hz.\n"
            "  --window S         window length in seconds (default 10)\n"
            "  --band LO-HI       band in Hz (default 20-450; an upper edge above 0.45 x the\n"
            "                     sampling rate is lowered to it, with a warning)\n"
            "  --from S, --to S   analyse only this part of the recording (seconds)\n"
            "  -o FILE            one line per window: start_s, end_s, rms, mdf_hz, mnf_hz\n"
            "\n"
            "Both:\n"
            "  --channel C        signal label or number as `somna info` lists it (from 1);\n"
            "                     default: the first label naming the chin (Chin, Submental)\n"
            "                     or else EMG (not a leg EMG); a one-signal file is used\n"
            "  --unit U           the channel's unit when the file has none or a wrong one\n"
            "                     (uV, mV or V; text files carry no unit)\n"
            "  --fs HZ            sampling rate of a text signal file\n"
            "  --json             the summary as one JSON object; a value that cannot be\n"
            "                     computed is null with its reason under null_reasons\n"
            "  -h, --help         this help\n"
            "  Output files are written completely or not at all ('-' = standard output).\n"
            "\n"
            "Examples:\n"
            "  somna emg night.edf --hypno night.hypnogram.tsv --atonia\n"
            "  somna emg trapezius.txt --fs 1000 --unit uV --surface --window 5 --json\n"
            "\n"
            "Exit status: 0 success, 1 usage error, 2 unreadable input or failure.\n");
}

/* Microvolts per unit of a unit name; 0 when the unit is unknown.  EDF
 * writers spell micro as u, the UTF-8 micro sign or Greek mu, or Latin-1
 * 0xB5. */
static double uv_per_unit(const char *unit)
{
    char u[40];
    somna_strlcpy(u, unit, sizeof u);
    somna_trim(u);
    static const char *const micro[] = {"uV", "uv", "UV", "\xC2\xB5V", "\xCE\xBCV", "\xB5V", "microvolt", "microvolts"};
    static const char *const milli[] = {"mV", "mv", "millivolt", "millivolts"};
    static const char *const volt[] = {"V", "v", "volt", "volts"};
    for (size_t i = 0; i < sizeof micro / sizeof micro[0]; i++)
        if (strcmp(u, micro[i]) == 0)
            return 1.0;
    for (size_t i = 0; i < sizeof milli / sizeof milli[0]; i++)
        if (strcmp(u, milli[i]) == 0)
            return 1e3;
    for (size_t i = 0; i < sizeof volt / sizeof volt[0]; i++)
        if (strcmp(u, volt[i]) == 0)
            return 1e6;
    if (strcmp(u, "nV") == 0)
        return 1e-3;
    return 0.0;
}

/* Upper-case copy without blanks, for label matching. */
static void squeeze_upper(const char *s, char *out, size_t size)
{
    size_t k = 0;
    for (; *s && k + 1 < size; s++)
        if (!isspace((unsigned char)*s))
            out[k++] = (char)toupper((unsigned char)*s);
    out[k] = '\0';
}

/* 2: names the chin; 1: an EMG that is not a leg/arm EMG (chin mode) or any
 * EMG (surface mode); 0: not an EMG label. */
static int emg_label_score(const char *label, int surface)
{
    char l[160];
    squeeze_upper(label, l, sizeof l);
    if (!surface && (strstr(l, "CHIN") || strstr(l, "SUBMENT") || strstr(l, "MENTALIS")))
        return 2;
    if (!strstr(l, "EMG"))
        return 0;
    if (!surface && (strstr(l, "LEG") || strstr(l, "TIB") || strstr(l, "LAT") || strstr(l, "RAT") ||
                     strstr(l, "ARM")))
        return 0;
    return 1;
}

/* "1=EEG, 2=EMG Chin, ..." for messages. */
static void list_signals(const somna_recording *rec, char *have, size_t size)
{
    size_t used = 0;
    have[0] = '\0';
    for (int i = 0; i < somna_rec_n_signals(rec) && used + 2 < size; i++) {
        int w = snprintf(have + used, size - used, "%s%d=%s", i ? ", " : "", i + 1,
                         somna_rec_signal_info(rec, i)->label);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

static int pick_channel(const somna_recording *rec, const char *path, const char *channel, int surface, int *sig,
                        somna_err *err)
{
    int ns = somna_rec_n_signals(rec);
    char have[512];
    *sig = -1;
    if (ns <= 0)
        return somna_fail(err, SOMNA_E_NOTFOUND, "%s: the recording has no signal", path);
    if (channel) {
        *sig = somna_rec_find_signal(rec, channel);
        if (*sig < 0) {
            list_signals(rec, have, sizeof have);
            return somna_fail(err, SOMNA_E_NOTFOUND, "%s: no signal '%s' (have: %s)", path, channel, have);
        }
    } else {
        int best = 0;
        for (int i = 0; i < ns; i++) {
            int s = emg_label_score(somna_rec_signal_info(rec, i)->label, surface);
            if (s > best) {
                best = s;
                *sig = i;
            }
        }
        if (*sig < 0 && ns == 1)
            *sig = 0;
        if (*sig < 0) {
            list_signals(rec, have, sizeof have);
            return somna_fail(err, SOMNA_E_NOTFOUND,
                              "%s: no signal is labelled as %s; choose one with --channel (have: %s)", path,
                              surface ? "an EMG" : "chin EMG (Chin, Submental, EMG)", have);
        }
    }
    if (somna_rec_signal_info(rec, *sig)->n_samples <= 0)
        return somna_fail(err, SOMNA_E_DATA, "%s: signal '%s' has no samples", path,
                          somna_rec_signal_info(rec, *sig)->label);
    return SOMNA_OK;
}

/* Read samples [first, first + n) of one signal into a malloc'd array. */
static int read_signal(somna_recording *rec, int sig, int64_t first, int64_t n, const char *path, double **x,
                       somna_err *err)
{
    const somna_rec_signal *si = somna_rec_signal_info(rec, sig);
    *x = malloc((size_t)(n > 0 ? n : 1) * sizeof **x);
    if (!*x)
        return somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory for %lld samples of '%s'", path, (long long)n,
                          si->label);
    int rc = somna_rec_read(rec, sig, first, n, *x, err);
    if (rc) {
        free(*x);
        *x = NULL;
    }
    return rc;
}

static const char *unit_shown(const char *unit)
{
    return unit[0] ? unit : "unit not given";
}

typedef struct emg_args {
    const char *path, *channel, *hypno, *outpath, *unit;
    double epoch_s, window_s, band_lo, band_hi, from_s, to_s, text_fs;
    int atonia, noise_correction, surface, json;
} emg_args;

/* ---- chin EMG ---------------------------------------------------------- */

/* The JSON object's opening fields, the same in both modes. */
static void json_head(somna_json *j, const emg_args *a, const char *mode, const somna_rec_signal *si,
                      const char *unit)
{
    somna_json_init(j, stdout, 1);
    somna_json_object_begin(j);
    somna_json_kv_string(j, "input", a->path);
    somna_json_kv_string(j, "mode", mode);
    somna_json_kv_string(j, "channel", si->label);
    somna_json_kv_number(j, "fs", si->fs);
    if (unit[0])
        somna_json_kv_string(j, "unit", unit);
    else
        somna_json_kv_null(j, "unit");
}

static int run_chin(const emg_args *a)
{
    const char *cmd = "emg";
    somna_err err;
    cli_err_init(&err);
    somna_rec_open_opts ro = {SOMNA_REC_AUTO, a->text_fs};
    somna_recording *rec = NULL;
    somna_hypnogram h = {0};
    int have_h = 0, rc = CLI_EXIT_OK, sig;
    double *x = NULL, *tone = NULL;
    unsigned char *nan_epochs = NULL; /* epochs holding an invalid sample */
    size_t n_tone = 0;

    if (somna_rec_open(a->path, &ro, &rec, &err) || pick_channel(rec, a->path, a->channel, 0, &sig, &err)) {
        rc = cli_fail(cmd, &err);
        goto done;
    }
    const somna_rec_signal *si = somna_rec_signal_info(rec, sig);
    char unit[40];
    somna_strlcpy(unit, a->unit ? a->unit : si->unit, sizeof unit);
    somna_trim(unit);
    const double uv = uv_per_unit(unit);
    const int envelope = si->fs <= 10.0;
    if (a->atonia && envelope) {
        rc = cli_error(cmd, "%s: signal '%s' at %g Hz is an RMS envelope; the atonia index needs the raw EMG", a->path,
                       si->label, si->fs);
        goto done;
    }
    if (a->atonia && uv == 0.0) {
        rc = cli_error(cmd,
                       "%s: signal '%s' has %s%s%s; the atonia index is defined in microvolts, so the unit must "
                       "be uV, mV or V (give it with --unit)",
                       a->path, si->label, unit[0] ? "unit '" : "no unit", unit, unit[0] ? "'" : "");
        goto done;
    }
    if (a->hypno) {
        somna_hypno_read_opts ho = {0};
        ho.epoch_s = a->epoch_s;
        if (somna_hypno_read(a->hypno, &ho, &h, NULL, &err)) {
            rc = cli_fail(cmd, &err);
            goto done;
        }
        have_h = 1;
        if (fabs(h.epoch_s - a->epoch_s) > 1e-9) {
            rc = cli_error(cmd, "%s: hypnogram epochs are %g s, not the %g s of --epoch", a->hypno, h.epoch_s,
                           a->epoch_s);
            goto done;
        }
    }
    size_t n = (size_t)si->n_samples;
    if (read_signal(rec, sig, 0, si->n_samples, a->path, &x, &err)) {
        rc = cli_fail(cmd, &err);
        goto done;
    }
    /* Invalid samples (WFDB's invalid code reads as NaN) would spread
     * through the zero-phase filter over the whole night: they are set to 0
     * for filtering and every epoch holding one is dropped (tone null,
     * stage artefact for the atonia index) rather than measured. */
    size_t n_nan = 0;
    const size_t spe = (size_t)llround(a->epoch_s * si->fs);
    const size_t n_ep = spe > 0 ? (n + spe - 1) / spe : 0; /* a trailing partial epoch included */
    for (size_t i = 0; i < n; i++)
        if (isnan(x[i])) {
            x[i] = 0.0;
            n_nan++;
            if (!nan_epochs && n_ep > 0 && !(nan_epochs = calloc(n_ep, 1))) {
                rc = cli_error(cmd, "out of memory");
                goto done;
            }
            if (nan_epochs)
                nan_epochs[i / spe] = 1;
        }
    if (n_nan > 0)
        fprintf(stderr,
                "somna: warning: %s: signal '%s' has %zu invalid samples; the epochs holding them are left out\n",
                a->path, si->label, n_nan);
    somna_emg_opts eo;
    somna_emg_opts_default(&eo);
    eo.epoch_s = a->epoch_s;
    int r2 = envelope ? somna_emg_epoch_tone_envelope(x, n, si->fs, a->epoch_s, &tone, &n_tone, &err)
                      : somna_emg_epoch_tone(x, n, si->fs, &eo, &tone, &n_tone, &err);
    if (r2) {
        somna_err_prefix(&err, "%s: signal '%s'", a->path, si->label);
        rc = cli_fail(cmd, &err);
        goto done;
    }
    for (size_t e = 0; nan_epochs && e < n_tone; e++)
        if (nan_epochs[e])
            tone[e] = NAN;
    double band_hi = eo.band_hi < 0.45 * si->fs ? eo.band_hi : 0.45 * si->fs; /* as somna_emg_bandpass does */

    somna_emg_stage_summary ss;
    if (have_h && somna_emg_by_stage(tone, n_tone, &h, &ss, &err)) {
        rc = cli_fail(cmd, &err);
        goto done;
    }
    somna_emg_atonia ai = {NAN, NAN, NAN, 0};
    if (a->atonia) {
        /* the index's thresholds are in microvolts (Ferri 2008) */
        for (size_t i = 0; i < n; i++)
            x[i] *= uv;
        for (size_t e = 0; nan_epochs && e < n_ep && e < h.n_epochs; e++)
            if (nan_epochs[e])
                h.stages[e] = SOMNA_STAGE_ART;
        if (somna_emg_atonia_index(x, n, si->fs, &h, &eo, a->noise_correction, &ai, &err)) {
            somna_err_prefix(&err, "%s: signal '%s'", a->path, si->label);
            rc = cli_fail(cmd, &err);
            goto done;
        }
    }
    double sum = 0.0;
    size_t n_fin = 0;
    for (size_t e = 0; e < n_tone; e++)
        if (isfinite(tone[e])) {
            sum += tone[e];
            n_fin++;
        }
    double mean_tone = n_fin ? sum / (double)n_fin : NAN;

    int to_stdout = a->outpath && strcmp(a->outpath, "-") == 0;
    if (a->outpath) {
        somna_outfile of;
        if (somna_outfile_open(&of, a->outpath, &err)) {
            rc = cli_fail(cmd, &err);
            goto done;
        }
        fprintf(of.fp, have_h ? "epoch\tstart_s\ttone\tstage\n" : "epoch\tstart_s\ttone\n");
        for (size_t e = 0; e < n_tone; e++) {
            char b[40], t[40];
            cli_fmt_tsv(b, sizeof b, tone[e]);
            somna_format_double(t, sizeof t, (double)e * a->epoch_s);
            fprintf(of.fp, "%zu\t%s\t%s", e, t, b);
            if (have_h)
                fprintf(of.fp, "\t%s", e < h.n_epochs ? somna_hypno_stage_name(h.stages[e]) : "NA");
            fputc('\n', of.fp);
        }
        if (somna_outfile_commit(&of, &err)) {
            rc = cli_fail(cmd, &err);
            goto done;
        }
    }

    static const char *const stage_key[5] = {"W", "N1", "N2", "N3", "REM"};
    if (a->json) {
        somna_json j;
        json_head(&j, a, "chin", si, unit);
        somna_json_kv_string(&j, "tone", envelope ? "envelope" : "band-passed RMS");
        if (!envelope) {
            somna_json_key(&j, "band_hz");
            somna_json_array_begin(&j);
            somna_json_number(&j, eo.band_lo);
            somna_json_number(&j, band_hi);
            somna_json_array_end(&j);
        }
        somna_json_kv_number(&j, "epoch_s", a->epoch_s);
        somna_json_kv_int(&j, "n_epochs", (int64_t)n_tone);
        somna_json_kv_number(&j, "mean_tone", mean_tone);
        if (have_h) {
            somna_json_kv_string(&j, "hypnogram", a->hypno);
            somna_json_key(&j, "stages");
            somna_json_object_begin(&j);
            for (int k = 0; k < 5; k++) {
                somna_json_key(&j, stage_key[k]);
                somna_json_object_begin(&j);
                somna_json_kv_int(&j, "n_epochs", (int64_t)ss.n_epochs[k]);
                somna_json_kv_number(&j, "mean", ss.mean[k]);
                somna_json_kv_number(&j, "median", ss.median[k]);
                somna_json_object_end(&j);
            }
            somna_json_object_end(&j);
            somna_json_kv_number(&j, "sleep_mean", ss.sleep_mean);
            somna_json_kv_number(&j, "nrem_mean", ss.nrem_mean);
        }
        if (a->atonia) {
            somna_json_key(&j, "atonia");
            somna_json_object_begin(&j);
            somna_json_kv_number(&j, "index", ai.index);
            somna_json_kv_number(&j, "pct_le1_uV", ai.pct_le1);
            somna_json_kv_number(&j, "pct_1to2_uV", ai.pct_1to2);
            somna_json_kv_int(&j, "n_mini_epochs", (int64_t)ai.n_mini_epochs);
            somna_json_kv_bool(&j, "noise_correction", a->noise_correction);
            somna_json_object_end(&j);
        }
        int any = !isfinite(mean_tone) || (a->atonia && !isfinite(ai.index));
        for (int k = 0; have_h && k < 5; k++)
            any |= !isfinite(ss.mean[k]);
        if (have_h)
            any |= !isfinite(ss.sleep_mean) || !isfinite(ss.nrem_mean);
        if (any) {
            somna_json_key(&j, "null_reasons");
            somna_json_object_begin(&j);
            if (!isfinite(mean_tone))
                somna_json_kv_string(&j, "mean_tone", "no epoch with a finite tone");
            for (int k = 0; have_h && k < 5; k++)
                if (!isfinite(ss.mean[k])) {
                    char key[24], why[40];
                    snprintf(key, sizeof key, "stages.%s", stage_key[k]);
                    snprintf(why, sizeof why, "no %s epoch", stage_key[k]);
                    somna_json_kv_string(&j, key, why);
                }
            if (have_h && !isfinite(ss.sleep_mean))
                somna_json_kv_string(&j, "sleep_mean", "no sleep epoch");
            if (have_h && !isfinite(ss.nrem_mean))
                somna_json_kv_string(&j, "nrem_mean", "no NREM epoch");
            if (a->atonia && !isfinite(ai.index))
                somna_json_kv_string(&j, "atonia",
                                     ai.n_mini_epochs == 0 ? "no REM epoch"
                                                           : "every REM mini-epoch is in (1, 2] uV (0 / 0)");
            somna_json_object_end(&j);
        }
        somna_json_object_end(&j);
        somna_json_finish(&j);
    } else if (!to_stdout) {
        char b[40], c[40];
        printf("input      %s\n", a->path);
        if (envelope)
            printf("channel    %s (%g Hz, %s): stored RMS envelope, tone = quadratic mean per epoch\n", si->label,
                   si->fs, unit_shown(unit));
        else
            printf("channel    %s (%g Hz, %s): tone = RMS of the %g-%g Hz band per epoch\n", si->label, si->fs,
                   unit_shown(unit), eo.band_lo, band_hi);
        cli_fmt_short(b, sizeof b, mean_tone, 4);
        printf("epochs     %zu of %g s\nmean tone  %s%s%s%s\n", n_tone, a->epoch_s, b, unit[0] ? " " : " (",
               unit_shown(unit), unit[0] ? "" : ")");
        if (have_h) {
            printf("\nstage    epochs       mean     median   (%s)\n", unit_shown(unit));
            for (int k = 0; k < 5; k++) {
                cli_fmt_short(b, sizeof b, ss.mean[k], 4);
                cli_fmt_short(c, sizeof c, ss.median[k], 4);
                printf("%-6s %8zu %10s %10s%s\n", stage_key[k], ss.n_epochs[k], b, c,
                       ss.n_epochs[k] ? "" : "  (no epoch of this stage)");
            }
            cli_fmt_short(b, sizeof b, ss.sleep_mean, 4);
            printf("sleep           %10s\n", b);
            cli_fmt_short(b, sizeof b, ss.nrem_mean, 4);
            printf("NREM            %10s\n", b);
        }
        if (a->atonia) {
            cli_fmt_short(b, sizeof b, ai.index, 4);
            printf("\nREM atonia index %s (Ferri 2008%s)", b,
                   a->noise_correction ? ", noise-corrected as Ferri 2010" : "");
            if (ai.n_mini_epochs == 0)
                printf(": no REM epoch\n");
            else if (!isfinite(ai.index))
                printf(": every REM mini-epoch is in (1, 2] uV\n");
            else
                printf(": %zu REM mini-epochs of 1 s, %.1f %% <= 1 uV, %.1f %% in (1, 2] uV\n", ai.n_mini_epochs,
                       ai.pct_le1, ai.pct_1to2);
        }
    }
done:
    free(x);
    free(tone);
    free(nan_epochs);
    if (have_h)
        somna_hypno_free(&h);
    somna_rec_close(rec);
    return rc;
}

/* ---- surface EMG ------------------------------------------------------- */

static int run_surface(const emg_args *a)
{
    const char *cmd = "emg";
    somna_err err;
    cli_err_init(&err);
    somna_rec_open_opts ro = {SOMNA_REC_AUTO, a->text_fs};
    somna_recording *rec = NULL;
    int rc = CLI_EXIT_OK, sig;
    double *x = NULL;
    somna_emg_window *w = NULL;
    size_t nw = 0;

    if (somna_rec_open(a->path, &ro, &rec, &err) || pick_channel(rec, a->path, a->channel, 1, &sig, &err)) {
        rc = cli_fail(cmd, &err);
        goto done;
    }
    const somna_rec_signal *si = somna_rec_signal_info(rec, sig);
    char unit[40];
    somna_strlcpy(unit, a->unit ? a->unit : si->unit, sizeof unit);
    somna_trim(unit);
    if (si->fs < 100.0) {
        rc = cli_error(cmd,
                       "%s: signal '%s' is sampled at %g Hz; surface EMG needs at least 100 Hz (its power lies "
                       "at 20-450 Hz)",
                       a->path, si->label, si->fs);
        goto done;
    }
    double lo = a->band_lo, hi = a->band_hi;
    if (hi > 0.45 * si->fs) {
        hi = 0.45 * si->fs;
        fprintf(stderr, "somna: warning: %s: signal '%s' at %g Hz: band upper edge lowered from %g to %g Hz\n", a->path,
                si->label, si->fs, a->band_hi, hi);
    }
    if (!(lo < hi)) {
        rc = cli_error(cmd, "%s: signal '%s' at %g Hz cannot hold the band %g-%g Hz (upper edge at most %g Hz)",
                       a->path, si->label, si->fs, a->band_lo, a->band_hi, 0.45 * si->fs);
        goto done;
    }
    double dur = (double)si->n_samples / si->fs;
    if (a->from_s >= dur || a->to_s > dur + 1e-9) {
        rc = cli_error(cmd, "%s: signal '%s' lasts %g s; --%s %g s is outside it", a->path, si->label, dur,
                       a->from_s >= dur ? "from" : "to", a->from_s >= dur ? a->from_s : a->to_s);
        goto done;
    }
    int64_t first = (int64_t)llround(a->from_s * si->fs);
    int64_t last = a->to_s > 0 ? (int64_t)llround(a->to_s * si->fs) : si->n_samples;
    if (last > si->n_samples)
        last = si->n_samples;
    if (read_signal(rec, sig, first, last - first, a->path, &x, &err)) {
        rc = cli_fail(cmd, &err);
        goto done;
    }
    if (somna_emg_spectral(x, (size_t)(last - first), si->fs, a->window_s, lo, hi, &w, &nw, &err)) {
        somna_err_prefix(&err, "%s: signal '%s'", a->path, si->label);
        rc = cli_fail(cmd, &err);
        goto done;
    }
    const double t_first = (double)first / si->fs;
    for (size_t i = 0; i < nw; i++)
        w[i].t0_s += t_first;

    /* first minute against last minute, MDF slope: the library's session
     * summary (docs/emg.md), which `somna study process` uses too */
    somna_emg_surface su;
    if (somna_emg_surface_summary(w, nw, a->window_s, &su, &err)) {
        rc = cli_fail(cmd, &err);
        goto done;
    }
    const size_t m = su.n_compare, n_mdf = su.n_mdf;
    const double r0 = su.rms_first, r1 = su.rms_last, f0 = su.mdf_first, f1 = su.mdf_last, g0 = su.mnf_first,
                 g1 = su.mnf_last, d_rms = su.rms_change_pct, d_mdf = su.mdf_change_pct, d_mnf = su.mnf_change_pct,
                 slope = su.mdf_slope_hz_per_min;

    int to_stdout = a->outpath && strcmp(a->outpath, "-") == 0;
    if (a->outpath) {
        somna_outfile of;
        if (somna_outfile_open(&of, a->outpath, &err)) {
            rc = cli_fail(cmd, &err);
            goto done;
        }
        fprintf(of.fp, "start_s\tend_s\trms\tmdf_hz\tmnf_hz\n");
        for (size_t i = 0; i < nw; i++) {
            char t0[40], t1[40], b1[40], b2[40], b3[40];
            somna_format_double(t0, sizeof t0, w[i].t0_s);
            somna_format_double(t1, sizeof t1, w[i].t0_s + a->window_s);
            cli_fmt_tsv(b1, sizeof b1, w[i].rms);
            cli_fmt_tsv(b2, sizeof b2, w[i].mdf_hz);
            cli_fmt_tsv(b3, sizeof b3, w[i].mnf_hz);
            fprintf(of.fp, "%s\t%s\t%s\t%s\t%s\n", t0, t1, b1, b2, b3);
        }
        if (somna_outfile_commit(&of, &err)) {
            rc = cli_fail(cmd, &err);
            goto done;
        }
    }

    const double span_s = (double)m * a->window_s;
    if (a->json) {
        somna_json j;
        json_head(&j, a, "surface", si, unit);
        somna_json_key(&j, "band_hz");
        somna_json_array_begin(&j);
        somna_json_number(&j, lo);
        somna_json_number(&j, hi);
        somna_json_array_end(&j);
        somna_json_kv_number(&j, "window_s", a->window_s);
        somna_json_kv_number(&j, "from_s", t_first);
        somna_json_kv_number(&j, "to_s", t_first + (double)nw * a->window_s);
        somna_json_kv_int(&j, "n_windows", (int64_t)nw);
        somna_json_kv_number(&j, "compare_span_s", su.compare_span_s);
        static const char *const part[2] = {"first", "last"};
        const double rv[2] = {r0, r1}, fv[2] = {f0, f1}, gv[2] = {g0, g1};
        for (int k = 0; k < 2; k++) {
            somna_json_key(&j, part[k]);
            somna_json_object_begin(&j);
            somna_json_kv_number(&j, "rms", rv[k]);
            somna_json_kv_number(&j, "mdf_hz", fv[k]);
            somna_json_kv_number(&j, "mnf_hz", gv[k]);
            somna_json_object_end(&j);
        }
        somna_json_kv_number(&j, "rms_change_pct", d_rms);
        somna_json_kv_number(&j, "mdf_change_pct", d_mdf);
        somna_json_kv_number(&j, "mnf_change_pct", d_mnf);
        somna_json_kv_number(&j, "mdf_slope_hz_per_min", slope);
        if (!isfinite(d_rms) || !isfinite(d_mdf) || !isfinite(d_mnf) || !isfinite(slope)) {
            somna_json_key(&j, "null_reasons");
            somna_json_object_begin(&j);
            if (!isfinite(d_rms))
                somna_json_kv_string(&j, "rms_change_pct", su.why_rms_change);
            if (!isfinite(d_mdf))
                somna_json_kv_string(&j, "mdf_change_pct", su.why_mdf_change);
            if (!isfinite(d_mnf))
                somna_json_kv_string(&j, "mnf_change_pct", su.why_mnf_change);
            if (!isfinite(slope))
                somna_json_kv_string(&j, "mdf_slope_hz_per_min", su.why_slope);
            somna_json_object_end(&j);
        }
        somna_json_object_end(&j);
        somna_json_finish(&j);
    } else if (!to_stdout) {
        char b[3][40];
        printf("input      %s\n", a->path);
        printf("channel    %s (%g Hz, %s), band %g-%g Hz\n", si->label, si->fs, unit_shown(unit), lo, hi);
        printf("analysed   %g-%g s: %zu windows of %g s\n", t_first, t_first + (double)nw * a->window_s, nw,
               a->window_s);
        if (m == 0) {
            printf("change     null (%s)\n", su.why_rms_change);
        } else {
            printf("\n%-10s %12s %12s %10s   (first and last %g s)\n", "", "first", "last", "change", span_s);
            const double v0[3] = {r0, f0, g0}, v1[3] = {r1, f1, g1}, dv[3] = {d_rms, d_mdf, d_mnf};
            char lab[3][48];
            snprintf(lab[0], sizeof lab[0], "RMS %s", unit[0] ? unit : "");
            snprintf(lab[1], sizeof lab[1], "MDF Hz");
            snprintf(lab[2], sizeof lab[2], "MNF Hz");
            for (int k = 0; k < 3; k++) {
                cli_fmt_short(b[0], sizeof b[0], v0[k], 4);
                cli_fmt_short(b[1], sizeof b[1], v1[k], 4);
                if (isfinite(dv[k]))
                    snprintf(b[2], sizeof b[2], "%+.1f %%", fabs(dv[k]) < 0.05 ? 0.0 : dv[k]); /* no "-0.0" */
                else
                    somna_strlcpy(b[2], "null", sizeof b[2]);
                printf("%-10s %12s %12s %10s\n", lab[k], b[0], b[1], b[2]);
            }
        }
        cli_fmt_short(b[0], sizeof b[0], slope, 4);
        if (isfinite(slope))
            printf("\nMDF slope  %s Hz/min (least squares over %zu windows; negative = fatigue)\n", b[0], n_mdf);
        else
            printf("\nMDF slope  null (%s)\n", su.why_slope);
    }
done:
    free(x);
    free(w);
    somna_rec_close(rec);
    return rc;
}

/* "20-450" -> 20, 450 */
static int parse_band(const char *s, double *lo, double *hi)
{
    const char *dash = strchr(s, '-');
    if (!dash || dash == s)
        return -1;
    return somna_parse_double(s, (size_t)(dash - s), lo) || somna_parse_double_str(dash + 1, hi) ? -1 : 0;
}

int cmd_emg(int argc, char **argv)
{
    const char *cmd = "emg";
    emg_args a = {0};
    a.epoch_s = 30.0;
    a.window_s = 10.0;
    a.band_lo = 20.0;
    a.band_hi = 450.0;
    int set_epoch = 0, set_window = 0, set_band = 0, set_range = 0;
    static const struct option opts[] = {{"channel", required_argument, NULL, 'c'},
                                         {"hypno", required_argument, NULL, 'H'},
                                         {"epoch", required_argument, NULL, 'e'},
                                         {"atonia", no_argument, NULL, 'a'},
                                         {"noise-correction", no_argument, NULL, 'n'},
                                         {"unit", required_argument, NULL, 'u'},
                                         {"surface", no_argument, NULL, 'S'},
                                         {"window", required_argument, NULL, 'w'},
                                         {"band", required_argument, NULL, 'b'},
                                         {"from", required_argument, NULL, 'F'},
                                         {"to", required_argument, NULL, 'T'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"fs", required_argument, NULL, 's'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "c:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': a.channel = optarg; break;
        case 'H': a.hypno = optarg; break;
        case 'e':
            if (cli_opt_double(cmd, "epoch", optarg, &a.epoch_s))
                return CLI_EXIT_USAGE;
            set_epoch = 1;
            break;
        case 'a': a.atonia = 1; break;
        case 'n': a.noise_correction = 1; break;
        case 'u': a.unit = optarg; break;
        case 'S': a.surface = 1; break;
        case 'w':
            if (cli_opt_double(cmd, "window", optarg, &a.window_s))
                return CLI_EXIT_USAGE;
            set_window = 1;
            break;
        case 'b':
            if (parse_band(optarg, &a.band_lo, &a.band_hi))
                return cli_usage_error(cmd, "option --band: '%s' is not LO-HI in Hz (e.g. 20-450)", optarg);
            set_band = 1;
            break;
        case 'F':
            if (cli_opt_double(cmd, "from", optarg, &a.from_s))
                return CLI_EXIT_USAGE;
            set_range = 1;
            break;
        case 'T':
            if (cli_opt_double(cmd, "to", optarg, &a.to_s))
                return CLI_EXIT_USAGE;
            set_range = 1;
            break;
        case 'o': a.outpath = optarg; break;
        case 's':
            if (cli_opt_double(cmd, "fs", optarg, &a.text_fs))
                return CLI_EXIT_USAGE;
            if (!(a.text_fs > 0))
                return cli_usage_error(cmd, "option --fs: sampling rate must be > 0, got '%s'", optarg);
            break;
        case 'j': a.json = 1; break;
        case 'h': usage(stdout); return CLI_EXIT_OK;
        default: return cli_bad_option(cmd);
        }
    }
    if (optind != argc - 1)
        return cli_usage_error(cmd, optind >= argc ? "missing FILE|RECORD" : "exactly one FILE|RECORD expected");
    a.path = argv[optind];
    if (a.json && a.outpath && strcmp(a.outpath, "-") == 0)
        return cli_usage_error(cmd, "--json and -o - both write to standard output; give -o a file name");
    if (a.unit && uv_per_unit(a.unit) == 0.0)
        return cli_usage_error(cmd, "option --unit: '%s' is not uV, mV or V", a.unit);
    if (a.surface) {
        if (a.hypno || a.atonia || a.noise_correction || set_epoch)
            return cli_usage_error(cmd, "--hypno, --epoch, --atonia and --noise-correction are for chin EMG, not "
                                        "--surface");
        if (!(a.window_s > 0))
            return cli_usage_error(cmd, "option --window: must be > 0 seconds");
        if (!(a.band_lo >= 0 && a.band_lo < a.band_hi))
            return cli_usage_error(cmd, "option --band: need 0 <= LO < HI, got %g-%g", a.band_lo, a.band_hi);
        if (a.from_s < 0 || a.to_s < 0 || (a.to_s > 0 && a.to_s <= a.from_s))
            return cli_usage_error(cmd, "--from/--to must satisfy 0 <= from < to");
        return run_surface(&a);
    }
    if (set_window || set_band || set_range)
        return cli_usage_error(cmd, "--window, --band, --from and --to belong to --surface");
    if (!(a.epoch_s > 0))
        return cli_usage_error(cmd, "option --epoch: must be > 0 seconds");
    if (a.noise_correction && !a.atonia)
        return cli_usage_error(cmd, "--noise-correction belongs to --atonia");
    if (a.atonia && !a.hypno)
        return cli_usage_error(cmd, "--atonia needs --hypno (the index is computed over REM)");
    return run_chin(&a);
}
