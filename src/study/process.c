/* `somna study process`: run the signal modules on every recording that has
 * not been processed yet and store one measure row per night x measure x
 * source, with the somna version and the parameters that produced it.
 *
 * Wired modules: hypnograms -> sleep statistics (somna/hypno.h); beat files
 * (R-peak tables with a time column, or RR/IBI lists) -> whole-recording HRV
 * (somna/hrv.h, HRV Toolkit defaults); PSG/ECG recordings -> chin EMG tone
 * per stage (somna/emg.h, with the night's hypnogram) and, when the night
 * has no beat file (annotated beats are preferred to detected ones), R-peak
 * detection (somna/rpeaks.h) + HRV.  A new module is one more branch in
 * somna_study_process().
 */
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

/* A PSG or ECG recording: chin EMG tone per stage (needs the night's
 * hypnogram) and ECG -> R peaks -> HRV (unless the night has a beat file). */
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
    /* chin EMG */
    int emg = -1;
    for (int i = 0; i < somna_rec_n_signals(rec) && emg < 0; i++) {
        const somna_rec_signal *si = somna_rec_signal_info(rec, i);
        if (strstr(si->label, "EMG") && si->fs >= 100)
            emg = i;
    }
    somna_hypnogram h;
    memset(&h, 0, sizeof h);
    int have_h = emg >= 0 ? night_hypnogram(db, night_id, &h, err) : 0;
    if (have_h < 0) {
        somna_rec_close(rec);
        return SOMNA_E_FORMAT;
    }
    if (emg >= 0 && have_h) {
        const somna_rec_signal *si = somna_rec_signal_info(rec, emg);
        size_t n = (size_t)si->n_samples;
        double *x = malloc((n ? n : 1) * sizeof *x), *tone = NULL;
        size_t n_tone = 0;
        somna_emg_opts eo;
        somna_emg_opts_default(&eo);
        eo.epoch_s = h.epoch_s;
        somna_emg_stage_summary es;
        if (!x)
            rc = somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory reading the EMG", path);
        if (!rc)
            rc = somna_rec_read(rec, emg, 0, (int64_t)n, x, err);
        if (!rc)
            rc = somna_emg_epoch_tone(x, n, si->fs, &eo, &tone, &n_tone, err);
        if (!rc)
            rc = somna_emg_by_stage(tone, n_tone, &h, &es, err);
        static const char *const names[5] = {"EMG_tone_W", "EMG_tone_N1", "EMG_tone_N2", "EMG_tone_N3",
                                             "EMG_tone_REM"};
        int w = snprintf(params, psize, "emg=%s;band=%g-%g;order=%d;epoch_s=%g", si->label, eo.band_lo, eo.band_hi,
                         eo.order, eo.epoch_s);
        used = w > 0 && (size_t)w < psize ? (size_t)w : 0;
        for (int k = 0; !rc && k < 5; k++) {
            rc = put_measure(db, night_id, names[k], es.mean[k], "no epoch of this stage", "emg", params, err);
            *n_measures += !rc;
        }
        if (!rc) {
            rc = put_measure(db, night_id, "EMG_tone_sleep", es.sleep_mean, "no sleep epoch", "emg", params, err);
            *n_measures += !rc;
        }
        free(x);
        free(tone);
        somna_hypno_free(&h);
        if (rc) {
            somna_rec_close(rec);
            return rc;
        }
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
