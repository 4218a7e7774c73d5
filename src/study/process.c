/* `somna study process`: run the signal modules on every recording that has
 * not been processed yet and store one measure row per night x measure x
 * source, with the somna version and the parameters that produced it.
 *
 * Wired modules: hypnograms -> sleep statistics (somna/hypno.h); beat files
 * (R-peak tables with a time column, or RR/IBI lists) -> whole-recording HRV
 * (somna/hrv.h, HRV Toolkit defaults); PSG/ECG recordings -> chin EMG tone
 * per stage (somna/emg.h, with the night's hypnogram; a night's own `emg`
 * file takes precedence) and, when the night has no beat file (annotated
 * beats are preferred to detected ones), R-peak detection (somna/rpeaks.h)
 * + HRV; a night's `emg` file -> chin EMG tone per stage; a session's
 * surface EMG (`semg`) -> RMS and median frequency, first against last
 * minute, MDF slope.  A new module is one more branch in
 * somna_study_process().
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "somna/emg.h"
#include "somna/hrv.h"
#include "somna/recording.h"
#include "somna/rpeaks.h"
#include "somna/hypno.h"
#include "somna/table.h"
#include "somna/parse.h"
#include "somna/study.h"
#include "somna/version.h"
#include "study/study_internal.h"

static int log_run(somna_db *db, int64_t rec_id, const char *module, const char *params, const char *status,
                   const char *message, somna_err *err)
{
    somna_dbv p[] = {somna_dbv_int(rec_id), somna_dbv_text(module),  somna_dbv_text(SOMNA_VERSION),
                     somna_dbv_text(params), somna_dbv_text(status), somna_dbv_text(message)};
    return somna_db_run(db,
                        "INSERT INTO process_log (recording_id, module, somna_version, params, status, message, "
                        "ran_at) VALUES (?, ?, ?, ?, ?, ?, @NOW@)",
                        p, 6, NULL, NULL, err);
}

static int put_measure(somna_db *db, int64_t night_id, const char *name, double v, const char *reason,
                       const char *source, const char *params, somna_err *err)
{
    somna_dbv p[] = {somna_dbv_int(night_id), somna_dbv_text(name),
                     somna_dbv_real(v),       isfinite(v) ? somna_dbv_null() : somna_dbv_text(reason ? reason : "not computable"),
                     somna_dbv_text(source),  somna_dbv_text(SOMNA_VERSION),
                     somna_dbv_text(params)};
    /* A re-run replaces the previous value of the same night x measure x source. */
    somna_dbv k[] = {somna_dbv_int(night_id), somna_dbv_text(name), somna_dbv_text(source)};
    int rc = somna_db_run(db, "DELETE FROM measure WHERE night_id = ? AND name = ? AND source = ?", k, 3, NULL, NULL,
                          err);
    if (!rc)
        rc = somna_db_run(db,
                          "INSERT INTO measure (night_id, name, value, null_reason, source, somna_version, params) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?)",
                          p, 7, NULL, NULL, err);
    return rc;
}

/* Sleep statistics of one hypnogram; lights-off/on from the night row
 * (clock times) relative to the hypnogram's start clock when both known. */
static int process_hypnogram(somna_db *db, int64_t night_id, const char *path, const char *loff, const char *lon,
                             long *n_measures, char *params, size_t psize, somna_err *err)
{
    somna_hypnogram h;
    memset(&h, 0, sizeof h);
    somna_hypno_read_opts ro;
    memset(&ro, 0, sizeof ro);
    ro.format = SOMNA_HYPNO_FMT_AUTO;
    ro.epoch_s = 30.0;
    int rc = somna_hypno_read(path, &ro, &h, NULL, err);
    if (rc)
        return rc;
    somna_hypno_window w = {-1, -1};
    double c;
    if (h.start_clock_s >= 0 && loff && somna_parse_clock(loff, &c) == 0)
        w.lights_off_s = fmod(c - h.start_clock_s + 86400.0, 86400.0);
    if (h.start_clock_s >= 0 && lon && somna_parse_clock(lon, &c) == 0)
        w.lights_on_s = fmod(c - h.start_clock_s + 86400.0, 86400.0);
    snprintf(params, psize, "epoch_s=%g;lights_off_s=%g;lights_on_s=%g", h.epoch_s, w.lights_off_s, w.lights_on_s);
    somna_hypno_stats st;
    rc = somna_hypno_stats_compute(&h, &w, &st, err);
    somna_hypno_free(&h);
    if (rc)
        return rc;
    const struct {
        const char *name;
        double v;
    } m[] = {{"TIB", st.TIB},
             {"SPT", st.SPT},
             {"TST", st.TST},
             {"WASO", st.WASO},
             {"SOL", st.SOL},
             {"SOL_persistent_10", st.SOL_persistent_10},
             {"Lat_N1", st.Lat_N1},
             {"Lat_N2", st.Lat_N2},
             {"Lat_N3", st.Lat_N3},
             {"Lat_REM", st.Lat_REM},
             {"REM_latency_from_onset", st.REM_latency_from_onset},
             {"SE", st.SE},
             {"SME", st.SME},
             {"N1", st.N1},
             {"N2", st.N2},
             {"N3", st.N3},
             {"REM", st.REM},
             {"N1_pct", st.N1_pct},
             {"N2_pct", st.N2_pct},
             {"N3_pct", st.N3_pct},
             {"REM_pct", st.REM_pct},
             {"awakenings", st.awakenings},
             {"SFI", st.SFI}};
    for (size_t i = 0; !rc && i < sizeof m / sizeof m[0]; i++) {
        rc = put_measure(db, night_id, m[i].name, m[i].v, somna_hypno_null_reason(&st, m[i].name), "hypnogram",
                         params, err);
        *n_measures += !rc;
    }
    return rc;
}

/* HRV measures of a beat series (HRV Toolkit defaults, no filtering). */
static int store_hrv(somna_db *db, int64_t night_id, const somna_hrv_series *s, const char *input,
                     const char *source, long *n_measures, char *params, size_t psize, somna_err *err)
{
    somna_hrv_opts o;
    somna_hrv_default_opts(&o);
    somna_hrv_result r;
    int rc = somna_hrv_compute(s, &o, &r, err);
    snprintf(params, psize, "psd=lomb;seg_s=%g;filter=none;input=%s", o.seg_s, input);
    for (int k = 0; !rc && k < SOMNA_HRV_N_MEASURES; k++) {
        rc = put_measure(db, night_id, somna_hrv_key(k), r.v[k], r.why[k], source, params, err);
        *n_measures += !rc;
    }
    return rc;
}

/* The night's hypnogram (first linked), or 0 when there is none. */
static int night_hypnogram(somna_db *db, int64_t night_id, somna_hypnogram *h, somna_err *err)
{
    somna_dbv p = somna_dbv_int(night_id);
    somna_db_result r;
    int rc = somna_db_query(db, "SELECT path FROM recording WHERE night_id = ? AND kind = 'hypnogram' ORDER BY id",
                            &p, 1, &r, err);
    if (rc)
        return -1;
    int have = 0;
    if (r.n_rows > 0) {
        somna_hypno_read_opts ro;
        memset(&ro, 0, sizeof ro);
        ro.epoch_s = 30.0;
        rc = somna_hypno_read(somna_db_get_text(&r, 0, 0), &ro, h, NULL, err);
        have = rc ? -1 : 1;
    }
    somna_db_result_free(&r);
    return have;
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

/* The EMG channel of a dedicated EMG file, by the rule of `somna emg`
 * (docs/emg.md section 1): chin mode prefers a label naming the chin
 * (Chin, Submental, Mentalis), else an EMG that is not a leg/arm EMG;
 * surface mode takes the first label containing EMG; else the only
 * signal; else the recording fails with the list of its signals. */
static int pick_emg(const somna_recording *rec, const char *path, int surface, int *sig, somna_err *err)
{
    int ns = somna_rec_n_signals(rec), best = 0;
    *sig = -1;
    for (int i = 0; i < ns; i++) {
        char l[160];
        squeeze_upper(somna_rec_signal_info(rec, i)->label, l, sizeof l);
        int sc = 0;
        if (!surface && (strstr(l, "CHIN") || strstr(l, "SUBMENT") || strstr(l, "MENTALIS")))
            sc = 2;
        else if (strstr(l, "EMG") && (surface || !(strstr(l, "LEG") || strstr(l, "TIB") || strstr(l, "LAT") ||
                                                   strstr(l, "RAT") || strstr(l, "ARM"))))
            sc = 1;
        if (sc > best) {
            best = sc;
            *sig = i;
        }
    }
    if (*sig < 0 && ns == 1)
        *sig = 0;
    if (*sig >= 0)
        return SOMNA_OK;
    char have[512] = "";
    size_t used = 0;
    for (int i = 0; i < ns && used + 2 < sizeof have; i++) {
        int w = snprintf(have + used, sizeof have - used, "%s%d=%s", i ? ", " : "", i + 1,
                         somna_rec_signal_info(rec, i)->label);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return somna_fail(err, SOMNA_E_NOTFOUND, "%s: no signal is labelled as %s (have: %s)", path,
                      surface ? "an EMG" : "chin EMG (Chin, Submental, EMG)", ns ? have : "no signal");
}

/* Read a whole signal; invalid samples (NaN, WFDB's invalid code) are
 * counted, left as NaN for the caller to handle. */
static int read_whole(somna_recording *rec, int sig, const char *path, double **x, size_t *n, size_t *n_nan,
                      somna_err *err)
{
    const somna_rec_signal *si = somna_rec_signal_info(rec, sig);
    *n = si->n_samples > 0 ? (size_t)si->n_samples : 0;
    *n_nan = 0;
    *x = malloc((*n ? *n : 1) * sizeof **x);
    if (!*x)
        return somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory reading '%s'", path, si->label);
    int rc = somna_rec_read(rec, sig, 0, (int64_t)*n, *x, err);
    for (size_t i = 0; !rc && i < *n; i++)
        *n_nan += isnan((*x)[i]) != 0;
    if (rc) {
        free(*x);
        *x = NULL;
    }
    return rc;
}

/* Chin EMG tone per stage of one signal with the night's hypnogram h:
 * measures EMG_tone_W..REM and EMG_tone_sleep (source `emg`).  A signal
 * sampled at <= 10 Hz is a stored RMS envelope (as `somna emg`); epochs
 * holding invalid samples are left out. */
static int store_chin_tone(somna_db *db, int64_t night_id, somna_recording *rec, int sig, const char *path,
                           const somna_hypnogram *h, long *n_measures, char *params, size_t psize, somna_err *err)
{
    const somna_rec_signal *si = somna_rec_signal_info(rec, sig);
    double *x = NULL, *tone = NULL;
    size_t n = 0, n_nan = 0, n_tone = 0;
    somna_emg_opts eo;
    somna_emg_opts_default(&eo);
    eo.epoch_s = h->epoch_s;
    const int envelope = si->fs <= 10.0;
    somna_emg_stage_summary es;
    unsigned char *bad = NULL; /* epochs holding an invalid sample */
    const size_t spe = (size_t)llround(eo.epoch_s * si->fs);
    int rc = read_whole(rec, sig, path, &x, &n, &n_nan, err);
    if (!rc && n_nan > 0) {
        /* set to 0 so they do not spread through the filter, then drop their epochs */
        if (spe == 0 || !(bad = calloc(n / spe + 1, 1)))
            rc = somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory", path);
        for (size_t i = 0; !rc && i < n; i++)
            if (isnan(x[i])) {
                x[i] = 0.0;
                bad[i / spe] = 1;
            }
        if (!rc)
            somna_warn(err, "%s: signal '%s' has %zu invalid samples; the epochs holding them are left out", path,
                       si->label, n_nan);
    }
    if (!rc)
        rc = envelope ? somna_emg_epoch_tone_envelope(x, n, si->fs, eo.epoch_s, &tone, &n_tone, err)
                      : somna_emg_epoch_tone(x, n, si->fs, &eo, &tone, &n_tone, err);
    for (size_t e = 0; !rc && bad && e < n_tone; e++)
        if (bad[e])
            tone[e] = NAN;
    if (!rc)
        rc = somna_emg_by_stage(tone, n_tone, h, &es, err);
    if (envelope)
        snprintf(params, psize, "emg=%s;envelope_fs=%g;epoch_s=%g", si->label, si->fs, eo.epoch_s);
    else
        snprintf(params, psize, "emg=%s;band=%g-%g;order=%d;epoch_s=%g", si->label, eo.band_lo,
                 eo.band_hi < 0.45 * si->fs ? eo.band_hi : 0.45 * si->fs, eo.order, eo.epoch_s);
    static const char *const names[5] = {"EMG_tone_W", "EMG_tone_N1", "EMG_tone_N2", "EMG_tone_N3", "EMG_tone_REM"};
    for (int k = 0; !rc && k < 5; k++) {
        rc = put_measure(db, night_id, names[k], es.mean[k], "no epoch of this stage", "emg", params, err);
        *n_measures += !rc;
    }
    if (!rc) {
        rc = put_measure(db, night_id, "EMG_tone_sleep", es.sleep_mean, "no sleep epoch", "emg", params, err);
        *n_measures += !rc;
    }
    if (rc && rc != SOMNA_E_DB)
        somna_err_prefix(err, "%s: signal '%s'", path, si->label);
    free(x);
    free(tone);
    free(bad);
    return rc;
}

/* Number of recordings of a kind linked to a night. */
static int night_has(somna_db *db, int64_t night_id, const char *kind, int64_t *count, somna_err *err)
{
    somna_dbv p[] = {somna_dbv_int(night_id), somna_dbv_text(kind)};
    return somna_db_query_int(db, "SELECT count(*) FROM recording WHERE night_id = ? AND kind = ?", p, 2, count, err);
}

/* A night's own chin EMG file (manifest column `emg`): tone per stage with
 * the night's hypnogram.  It takes precedence over the EMG of a PSG. */
static int process_chin_file(somna_db *db, int64_t night_id, const char *path, long *n_measures, char *params,
                             size_t psize, char *msg, size_t msize, somna_err *err)
{
    somna_recording *rec = NULL;
    int sig, rc = somna_rec_open(path, NULL, &rec, err);
    if (!rc)
        rc = pick_emg(rec, path, 0, &sig, err);
    somna_hypnogram h;
    memset(&h, 0, sizeof h);
    int have_h = rc ? 0 : night_hypnogram(db, night_id, &h, err);
    if (have_h < 0)
        rc = SOMNA_E_FORMAT;
    else if (!rc && !have_h)
        snprintf(msg, msize, "EMG: no hypnogram linked to this night");
    else if (!rc)
        rc = store_chin_tone(db, night_id, rec, sig, path, &h, n_measures, params, psize, err);
    if (have_h > 0)
        somna_hypno_free(&h);
    somna_rec_close(rec);
    return rc;
}

/* Surface EMG of a massage session (a recording of kind `semg` on the
 * session's occasion): 10-s windows in 20-450 Hz (upper edge lowered to
 * 0.45 fs) and the session summary of somna_emg_surface_summary, the same
 * numbers as `somna emg --surface` (docs/emg.md section 4). */
static int process_semg(somna_db *db, int64_t night_id, const char *path, long *n_measures, char *params,
                        size_t psize, somna_err *err)
{
    const double win_s = 10.0, lo = 20.0;
    double hi = 450.0;
    somna_recording *rec = NULL;
    double *x = NULL;
    somna_emg_window *w = NULL;
    size_t n = 0, n_nan = 0, nw = 0;
    int sig, rc = somna_rec_open(path, NULL, &rec, err);
    if (!rc)
        rc = pick_emg(rec, path, 1, &sig, err);
    const somna_rec_signal *si = rc ? NULL : somna_rec_signal_info(rec, sig);
    if (!rc && si->fs < 100.0)
        rc = somna_fail(err, SOMNA_E_DATA,
                        "%s: signal '%s' is sampled at %g Hz; surface EMG needs at least 100 Hz (its power lies at "
                        "20-450 Hz)",
                        path, si->label, si->fs);
    if (!rc && hi > 0.45 * si->fs) {
        hi = 0.45 * si->fs;
        somna_warn(err, "%s: signal '%s' at %g Hz: band upper edge lowered from 450 to %g Hz", path, si->label,
                   si->fs, hi);
    }
    if (!rc)
        rc = read_whole(rec, sig, path, &x, &n, &n_nan, err);
    if (!rc && n_nan > 0) {
        for (size_t i = 0; i < n; i++)
            if (isnan(x[i]))
                x[i] = 0.0;
        somna_warn(err, "%s: signal '%s' has %zu invalid samples, read as 0", path, si->label, n_nan);
    }
    if (!rc && (rc = somna_emg_spectral(x, n, si->fs, win_s, lo, hi, &w, &nw, err)))
        somna_err_prefix(err, "%s: signal '%s'", path, si->label);
    somna_emg_surface su;
    if (!rc)
        rc = somna_emg_surface_summary(w, nw, win_s, &su, err);
    if (!rc) {
        snprintf(params, psize, "channel=%s;fs=%g;band=%g-%g;window_s=%g;windows=%zu;compare_s=%g", si->label,
                 si->fs, lo, hi, win_s, nw, su.compare_span_s);
        const char *none = "fewer than two windows";
        const struct {
            const char *name;
            double v;
            const char *why;
        } m[] = {{"sEMG_RMS_first", su.rms_first, none},
                 {"sEMG_RMS_last", su.rms_last, none},
                 {"sEMG_RMS_change_pct", su.rms_change_pct, su.why_rms_change},
                 {"sEMG_MDF_first", su.mdf_first, su.n_compare ? "no power in the band" : none},
                 {"sEMG_MDF_last", su.mdf_last, su.n_compare ? "no power in the band" : none},
                 {"sEMG_MDF_change_pct", su.mdf_change_pct, su.why_mdf_change},
                 {"sEMG_MDF_slope", su.mdf_slope_hz_per_min, su.why_slope}};
        for (size_t k = 0; !rc && k < sizeof m / sizeof m[0]; k++) {
            rc = put_measure(db, night_id, m[k].name, m[k].v, m[k].why, "semg", params, err);
            *n_measures += !rc;
        }
    }
    free(x);
    free(w);
    somna_rec_close(rec);
    return rc;
}

/* A PSG or ECG recording: chin EMG tone per stage (needs the night's
 * hypnogram; not when the night has its own EMG file, which wins) and ECG
 * -> R peaks -> HRV (unless the night has a beat file). */
static int process_signals(somna_db *db, int64_t night_id, const char *path, long *n_measures, char *params,
                           size_t psize, char *msg, size_t msize, somna_err *err)
{
    somna_recording *rec = NULL;
    int rc = somna_rec_open(path, NULL, &rec, err);
    if (rc)
        return rc;
    params[0] = '\0';
    msg[0] = '\0';
    size_t used = 0;
    /* chin EMG, unless a dedicated EMG file of the night gives it */
    int64_t n_emg_files = 0;
    if ((rc = night_has(db, night_id, "emg", &n_emg_files, err))) {
        somna_rec_close(rec);
        return rc;
    }
    int emg = -1;
    for (int i = 0; i < somna_rec_n_signals(rec) && emg < 0; i++) {
        const somna_rec_signal *si = somna_rec_signal_info(rec, i);
        if (strstr(si->label, "EMG") && si->fs >= 100)
            emg = i;
    }
    if (emg >= 0 && n_emg_files > 0) {
        emg = -1;
        snprintf(msg, msize, "chin EMG from the night's emg file, not from this recording; ");
    }
    somna_hypnogram h;
    memset(&h, 0, sizeof h);
    int have_h = emg >= 0 ? night_hypnogram(db, night_id, &h, err) : 0;
    if (have_h < 0) {
        somna_rec_close(rec);
        return SOMNA_E_FORMAT;
    }
    if (emg >= 0 && have_h) {
        rc = store_chin_tone(db, night_id, rec, emg, path, &h, n_measures, params, psize, err);
        somna_hypno_free(&h);
        if (rc) {
            somna_rec_close(rec);
            return rc;
        }
        used = strlen(params);
    } else if (emg >= 0) {
        snprintf(msg, msize, "EMG: no hypnogram linked to this night; ");
    }
    somna_rec_close(rec);
    /* ECG -> R peaks -> HRV, unless annotated beats exist for the night */
    int64_t n_rr = 0;
    somna_dbv p = somna_dbv_int(night_id);
    if ((rc = somna_db_query_int(db, "SELECT count(*) FROM recording WHERE night_id = ? AND kind = 'rr'", &p, 1, &n_rr,
                                 err)))
        return rc;
    size_t ml = strlen(msg);
    if (n_rr > 0) {
        snprintf(msg + ml, msize - ml, "HRV from the night's beat file, not from detection");
        return SOMNA_OK;
    }
    double *ecg = NULL, fs = 0;
    size_t n = 0;
    char label[128] = "";
    somna_err le;
    somna_err_init(&le, NULL, NULL);
    if (somna_rpeaks_load_ecg(path, NULL, 0, &ecg, &n, &fs, label, sizeof label, &le) != SOMNA_OK ||
        !(strstr(label, "ECG") || strstr(label, "EKG"))) {
        free(ecg);
        snprintf(msg + ml, msize - ml, "no ECG channel");
        return SOMNA_OK;
    }
    int64_t *peaks = NULL;
    size_t np = 0;
    int pol = 0;
    rc = somna_rpeaks_detect(ecg, n, fs, NULL, &peaks, &np, &pol, err);
    free(ecg);
    double *t = rc ? NULL : malloc((np + 1) * sizeof *t);
    int *normal = rc ? NULL : malloc((np + 1) * sizeof *normal);
    somna_hrv_series s;
    memset(&s, 0, sizeof s);
    if (!rc && (!t || !normal))
        rc = somna_fail(err, SOMNA_E_NOMEM, "out of memory");
    for (size_t i = 0; !rc && i < np; i++) {
        t[i] = (double)peaks[i] / fs;
        normal[i] = 1;
    }
    if (!rc)
        rc = somna_hrv_from_beats(t, normal, np, &s, err);
    char hp[160];
    if (!rc)
        rc = store_hrv(db, night_id, &s, "detected", "hrv-detected", n_measures, hp, sizeof hp, err);
    if (!rc && used + 1 < psize)
        snprintf(params + used, psize - used, "%s%s;ecg=%s;beats=%zu", used ? ";" : "", hp, label, np);
    somna_hrv_series_free(&s);
    free(peaks);
    free(t);
    free(normal);
    return rc;
}

/* HRV of a beat table: a time column (time_s / time / t, seconds) with an
 * optional beat type (N = normal, as MIT annotations), or an RR/IBI column
 * (rr / ibi / rr_ms, seconds or milliseconds when named *_ms). */
static int process_beats(somna_db *db, int64_t night_id, const char *path, long *n_measures, char *params,
                         size_t psize, somna_err *err)
{
    somna_table t;
    int rc = somna_table_read(path, NULL, &t, err);
    if (rc)
        return rc;
    long ct = somna_table_col(&t, "time_s"), cty = somna_table_col(&t, "type"), crr = somna_table_col(&t, "rr");
    if (ct < 0)
        ct = somna_table_col(&t, "time");
    if (crr < 0)
        crr = somna_table_col(&t, "ibi");
    double scale = 1.0;
    if (crr < 0 && (crr = somna_table_col(&t, "rr_ms")) >= 0)
        scale = 0.001;
    if (ct < 0 && crr < 0) {
        somna_table_free(&t);
        return somna_fail(err, SOMNA_E_FORMAT, "%s: no beat time column (time_s) and no RR column (rr, ibi, rr_ms)",
                          path);
    }
    double *v = malloc((t.n_rows + 1) * sizeof *v);
    int *normal = malloc((t.n_rows + 1) * sizeof *normal);
    somna_hrv_series s;
    memset(&s, 0, sizeof s);
    if (!v || !normal)
        rc = somna_fail(err, SOMNA_E_NOMEM, "out of memory");
    for (size_t i = 0; !rc && i < t.n_rows; i++) {
        rc = somna_table_get_double(&t, i, (size_t)(ct >= 0 ? ct : crr), &v[i], err);
        v[i] *= ct >= 0 ? 1.0 : scale;
        normal[i] = cty < 0 || strcmp(somna_table_cell(&t, i, (size_t)cty), "N") == 0;
    }
    if (!rc)
        rc = ct >= 0 ? somna_hrv_from_beats(v, normal, t.n_rows, &s, err) : somna_hrv_from_rr(v, t.n_rows, 0, &s, err);
    if (!rc)
        rc = store_hrv(db, night_id, &s, ct >= 0 ? "beats" : "rr", "hrv", n_measures, params, psize, err);
    somna_hrv_series_free(&s);
    free(v);
    free(normal);
    somna_table_free(&t);
    return rc;
}

int somna_study_process(somna_db *db, int64_t study_id, somna_study_process_stats *st, somna_err *err)
{
    memset(st, 0, sizeof *st);
    somna_dbv p = somna_dbv_int(study_id);
    somna_db_result r;
    int rc = somna_db_query(db,
                            "SELECT r.id, r.kind, r.path, r.sha256, n.id, n.lights_off, n.lights_on FROM recording r "
                            "JOIN night n ON n.id = r.night_id JOIN participant pa ON pa.id = n.participant_id "
                            "WHERE pa.study_id = ? AND NOT EXISTS (SELECT 1 FROM process_log l "
                            "WHERE l.recording_id = r.id AND l.status <> 'skipped') ORDER BY r.id",
                            &p, 1, &r, err);
    if (rc)
        return rc;
    for (size_t i = 0; !rc && i < r.n_rows; i++) {
        int64_t rec = somna_db_get_int(&r, i, 0, 0), night = somna_db_get_int(&r, i, 4, 0);
        const char *kind = somna_db_get_text(&r, i, 1), *path = somna_db_get_text(&r, i, 2);
        const char *sha = somna_db_get_text(&r, i, 3);
        st->recordings++;
        if ((rc = somna_db_begin(db, err)))
            break;
        char params[256] = "", msg[SOMNA_ERR_MSG_MAX] = "";
        const char *module = "none", *status = "skipped";
        long nm = 0;
        int prc = SOMNA_OK, empty_skipped = 0;
        char note[256] = "";
        /* The file must still be the one imported. */
        char hex[65];
        somna_err fe;
        somna_err_init(&fe, err ? err->warn : NULL, err ? err->warn_ctx : NULL);
        if (somna_study_sha256_file(path, hex, NULL, &fe) != SOMNA_OK) {
            status = "failed";
            somna_strlcpy(msg, fe.msg, sizeof msg);
        } else if (!sha || strcmp(hex, sha) != 0) {
            status = "failed";
            snprintf(msg, sizeof msg, "%s changed since import (SHA-256 differs)", path);
        } else if (kind && strcmp(kind, "hypnogram") == 0) {
            module = "sleep/hypno";
            prc = process_hypnogram(db, night, path, somna_db_get_text(&r, i, 5), somna_db_get_text(&r, i, 6), &nm,
                                    params, sizeof params, &fe);
        } else if (kind && strcmp(kind, "rr") == 0) {
            module = "cardio/hrv";
            prc = process_beats(db, night, path, &nm, params, sizeof params, &fe);
        } else if (kind && (strcmp(kind, "psg") == 0 || strcmp(kind, "ecg") == 0)) {
            module = "emg+cardio";
            prc = process_signals(db, night, path, &nm, params, sizeof params, note, sizeof note, &fe);
            empty_skipped = 1; /* a recording without a usable channel yields nothing */
        } else if (kind && strcmp(kind, "emg") == 0) {
            module = "emg";
            prc = process_chin_file(db, night, path, &nm, params, sizeof params, note, sizeof note, &fe);
            empty_skipped = 1; /* no hypnogram yet: retried by a later run */
        } else if (kind && strcmp(kind, "semg") == 0) {
            module = "emg/surface";
            prc = process_semg(db, night, path, &nm, params, sizeof params, &fe);
        } else {
            snprintf(msg, sizeof msg, "no module wired for %s recordings yet", kind ? kind : "?");
        }
        /* one outcome for every module run: a database error stops the
         * whole run, any other error fails this recording only */
        if (strcmp(module, "none") != 0) {
            if (prc == SOMNA_E_DB) {
                rc = somna_fail(err, prc, "%s", fe.msg);
            } else if (prc) {
                status = "failed";
                somna_strlcpy(msg, fe.msg, sizeof msg);
                nm = 0;
            } else {
                status = nm || !empty_skipped ? "ok" : "skipped";
                snprintf(msg, sizeof msg, "%ld measures%s%s", nm, note[0] ? "; " : "", note);
            }
        }
        if (!rc && strcmp(status, "failed") == 0) {
            /* measures of a failed run must not remain */
            somna_db_rollback(db);
            if ((rc = somna_db_begin(db, err)))
                break;
            nm = 0;
        }
        if (!rc)
            rc = log_run(db, rec, module, params, status, msg, err);
        if ((rc = somna_db_end(db, rc, err)))
            break;
        st->measures += nm;
        if (strcmp(status, "ok") == 0)
            st->processed++;
        else if (strcmp(status, "failed") == 0) {
            st->failed++;
            somna_warn(err, "%s", msg);
        }
    }
    somna_db_result_free(&r);
    return rc;
}
