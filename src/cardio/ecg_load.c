/* Loading an ECG channel and reference beats for the cardio commands. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "somna/parse.h"
#include "somna/recording.h"
#include "somna/rpeaks.h"
#include "somna/wfdb.h"

/* Labels that name an ECG lead (EDF "ECG", "EKG", "ECG1", MIT-BIH "MLII",
 * "V1".."V6", limb leads). */
static int looks_like_ecg(const char *label)
{
    char l[64];
    size_t k = 0;
    for (const char *p = label; *p && k + 1 < sizeof l; p++)
        if (!isspace((unsigned char)*p))
            l[k++] = (char)toupper((unsigned char)*p);
    l[k] = '\0';
    if (strstr(l, "ECG") || strstr(l, "EKG") || strcmp(l, "MLII") == 0 || strcmp(l, "MLI") == 0 ||
        strcmp(l, "MLIII") == 0)
        return 1;
    static const char *const leads[] = {"I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6"};
    for (size_t i = 0; i < sizeof leads / sizeof leads[0]; i++)
        if (strcmp(l, leads[i]) == 0)
            return 1;
    return 0;
}

/* Open `path` and choose the ECG signal (see somna_rpeaks_load_ecg). */
static int open_ecg(const char *path, const char *channel, double text_fs, somna_recording **out, int *sig_out,
                    somna_err *err)
{
    somna_rec_open_opts o = {SOMNA_REC_AUTO, text_fs};
    somna_recording *rec;
    int rc = somna_rec_open(path, &o, &rec, err);
    if (rc)
        return rc;
    int ns = somna_rec_n_signals(rec), sig = -1;
    if (ns <= 0) {
        somna_rec_close(rec);
        return somna_fail(err, SOMNA_E_NOTFOUND, "%s: the recording has no signal", path);
    }
    if (channel) {
        /* a label first; a bare number is a 0-based signal number, as WFDB
         * (rdsamp -s 0) and the MIT-BIH literature count ("channel 0") */
        int64_t k;
        for (int i = 0; i < ns && sig < 0; i++)
            if (somna_strieq(somna_rec_signal_info(rec, i)->label, channel))
                sig = i;
        if (sig < 0 && somna_parse_int64_str(channel, &k) == 0 && k >= 0 && k < ns)
            sig = (int)k;
        if (sig < 0) {
            char have[512] = "";
            size_t used = 0;
            for (int i = 0; i < ns && used + 2 < sizeof have; i++) {
                int w = snprintf(have + used, sizeof have - used, "%s%d=%s", i ? ", " : "", i,
                                 somna_rec_signal_info(rec, i)->label);
                if (w < 0)
                    break;
                used += (size_t)w;
            }
            somna_rec_close(rec);
            return somna_fail(err, SOMNA_E_NOTFOUND, "%s: no signal '%s' (have: %s)", path, channel, have);
        }
    } else {
        for (int i = 0; i < ns && sig < 0; i++)
            if (looks_like_ecg(somna_rec_signal_info(rec, i)->label))
                sig = i;
        if (sig < 0) {
            sig = 0;
            if (ns > 1)
                somna_warn(err, "%s: no signal labelled as an ECG lead; using signal 0 '%s' (choose with --channel)",
                           path, somna_rec_signal_info(rec, 0)->label);
        }
    }
    if (somna_rec_signal_info(rec, sig)->n_samples <= 0) {
        rc = somna_fail(err, SOMNA_E_DATA, "%s: signal '%s' has no samples", path,
                        somna_rec_signal_info(rec, sig)->label);
        somna_rec_close(rec);
        return rc;
    }
    *out = rec;
    *sig_out = sig;
    return SOMNA_OK;
}

int somna_rpeaks_load_ecg(const char *path, const char *channel, double text_fs, double **x, size_t *n,
                          double *fs, char *label, size_t label_size, somna_err *err)
{
    *x = NULL;
    *n = 0;
    somna_recording *rec;
    int sig;
    int rc = open_ecg(path, channel, text_fs, &rec, &sig, err);
    if (rc)
        return rc;
    const somna_rec_signal *si = somna_rec_signal_info(rec, sig);
    double *buf = malloc((size_t)si->n_samples * sizeof *buf);
    if (!buf) {
        somna_rec_close(rec);
        return somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory for %lld samples", path,
                          (long long)si->n_samples);
    }
    rc = somna_rec_read(rec, sig, 0, si->n_samples, buf, err);
    if (rc) {
        free(buf);
        somna_rec_close(rec);
        return rc;
    }
    *x = buf;
    *n = (size_t)si->n_samples;
    *fs = si->fs;
    if (label)
        somna_strlcpy(label, si->label, label_size);
    somna_rec_close(rec);
    return SOMNA_OK;
}

typedef struct rec_src {
    somna_recording *rec;
    int sig;
} rec_src;

/* The detector is invariant to gain and offset (a linear band-pass,
 * thresholds relative to the signal's own energy, extrema after removing a
 * line), so it reads the stored codes and skips the conversion to physical
 * units, a third of its time on a WFDB record; only the sign of the gain
 * matters, for the polarity it reports. */
static int rec_read(void *ctx, int64_t first, int64_t n, double *out, somna_err *err)
{
    rec_src *r = ctx;
    return somna_rec_read_codes(r->rec, r->sig, first, n, out, err);
}

int somna_rpeaks_detect_file(const char *path, const char *channel, double text_fs, const somna_rpeaks_params *p,
                             int64_t **peaks, size_t *n_peaks, double *fs, int64_t *n_samples, int *polarity,
                             char *label, size_t label_size, somna_err *err)
{
    *peaks = NULL;
    *n_peaks = 0;
    rec_src src;
    int rc = open_ecg(path, channel, text_fs, &src.rec, &src.sig, err);
    if (rc)
        return rc;
    const somna_rec_signal *si = somna_rec_signal_info(src.rec, src.sig);
    *fs = si->fs;
    *n_samples = si->n_samples;
    if (label)
        somna_strlcpy(label, si->label, label_size);
    rc = somna_rpeaks_detect_stream(rec_read, &src, si->n_samples, si->fs, p, peaks, n_peaks, polarity, err);
    if (rc == SOMNA_OK && polarity && si->units_per_code < 0)
        *polarity = -*polarity;
    if (rc)
        somna_err_prefix(err, "%s: signal '%s'", path, si->label);
    somna_rec_close(src.rec);
    return rc;
}

int somna_rpeaks_load_beats(const char *record, const char *annotator, int64_t **sample, int **normal,
                            size_t *n, double *fs, somna_err *err)
{
    *sample = NULL;
    *normal = NULL;
    *n = 0;
    char rec_name[1024];
    somna_strlcpy(rec_name, record, sizeof rec_name);
    size_t len = strlen(rec_name);
    if (len > 4 && strcmp(rec_name + len - 4, ".hea") == 0)
        rec_name[len - 4] = '\0';
    somna_wfdb_record *hdr;
    int rc = somna_wfdb_open(rec_name, &hdr, err);
    if (rc)
        return rc;
    *fs = hdr->fs; /* annotation times count frames (samples at the frame rate) */
    somna_wfdb_close(hdr);
    somna_wfdb_annotation *a;
    size_t na;
    rc = somna_wfdb_ann_read(rec_name, annotator, &a, &na, err);
    if (rc)
        return rc;
    int64_t *s = malloc((na ? na : 1) * sizeof *s);
    int *nm = malloc((na ? na : 1) * sizeof *nm);
    if (!s || !nm) {
        free(s), free(nm);
        somna_wfdb_ann_free(a, na);
        return somna_fail(err, SOMNA_E_NOMEM, "%s.%s: out of memory", rec_name, annotator);
    }
    size_t k = 0;
    for (size_t i = 0; i < na; i++) {
        if (!somna_wfdb_is_beat(a[i].type))
            continue;
        if (k > 0 && a[i].sample < s[k - 1]) {
            free(s), free(nm);
            somna_wfdb_ann_free(a, na);
            return somna_fail(err, SOMNA_E_FORMAT, "%s.%s: annotation %zu at sample %lld is before the previous beat",
                              rec_name, annotator, i + 1, (long long)a[i].sample);
        }
        s[k] = a[i].sample;
        nm[k] = a[i].type == 1; /* NORMAL ('N') */
        k++;
    }
    somna_wfdb_ann_free(a, na);
    *sample = s;
    *normal = nm;
    *n = k;
    return SOMNA_OK;
}
