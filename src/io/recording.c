/* somna io — one view over EDF/EDF+/BDF, WFDB records and text signals.
 *
 * Detection order (content before names, as file(1) does): the EDF/BDF
 * version bytes ("0       " or 0xFF "BIOSEMI"); a WFDB header (the name ends
 * in .hea, or NAME.hea exists, as WFDB's own record naming works); a
 * delimited text file when the caller supplies a sampling rate.
 */
#include "somna/recording.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "somna/edf.h"
#include "somna/parse.h"
#include "somna/textsig.h"
#include "somna/wfdb.h"

struct somna_recording {
    somna_rec_kind kind;
    char format[16];
    char start[32];
    double duration;
    int n_signals;
    somna_rec_signal *signals;
    int *map;                /* recording signal -> underlying signal index */
    size_t n_annotations;
    somna_edf *edf;
    somna_wfdb_record *wfdb;
    somna_textsig text;
    int has_text;
};

static int is_regular(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* 1 = EDF/BDF magic, 0 = not, -1 = cannot read. */
static int has_edf_magic(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    unsigned char b[8];
    size_t n = fread(b, 1, sizeof b, f);
    fclose(f);
    if (n < 8)
        return 0;
    return (b[0] == '0' && memcmp(b + 1, "       ", 7) == 0) || (b[0] == 0xFF && memcmp(b + 1, "BIOSEMI", 7) == 0);
}

static int alloc_signals(somna_recording *r, int n, somna_err *err, const char *path)
{
    r->signals = calloc((size_t)(n > 0 ? n : 1), sizeof *r->signals);
    r->map = calloc((size_t)(n > 0 ? n : 1), sizeof *r->map);
    if (!r->signals || !r->map)
        return somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory", path);
    return SOMNA_OK;
}

static int open_edf(somna_recording *r, const char *path, somna_err *err)
{
    int rc = somna_edf_open(path, &r->edf, err);
    if (rc)
        return rc;
    const somna_edf_header *h = somna_edf_get_header(r->edf);
    somna_strlcpy(r->format, somna_edf_format_name(h->format), sizeof r->format);
    if (h->start_year > 0)
        snprintf(r->start, sizeof r->start, "%04d-%02d-%02dT%02d:%02d:%02d", h->start_year, h->start_month,
                 h->start_day, h->start_hour, h->start_minute, h->start_second);
    r->duration = h->duration_s;
    int n = 0;
    for (int i = 0; i < h->n_signals; i++)
        n += !h->signals[i].is_annotation;
    if ((rc = alloc_signals(r, n, err, path)) != SOMNA_OK)
        return rc;
    int k = 0;
    for (int i = 0; i < h->n_signals; i++) {
        const somna_edf_signal *s = &h->signals[i];
        if (s->is_annotation)
            continue;
        somna_rec_signal *o = &r->signals[k];
        somna_strlcpy(o->label, s->label, sizeof o->label);
        somna_strlcpy(o->unit, s->unit, sizeof o->unit);
        o->fs = s->fs;
        o->n_samples = s->n_samples;
        o->phys_min = s->phys_min;
        o->phys_max = s->phys_max;
        o->units_per_code =
            s->dig_max != s->dig_min ? (s->phys_max - s->phys_min) / ((double)s->dig_max - s->dig_min) : 1.0;
        r->map[k++] = i;
    }
    r->n_signals = n;
    somna_edf_annotations(r->edf, &r->n_annotations);
    return SOMNA_OK;
}

/* "DD/MM/YYYY" + "HH:MM:SS[.sss]" -> ISO 8601, or "" when the date is absent. */
static void wfdb_start(const somna_wfdb_record *w, char *out, size_t size)
{
    out[0] = '\0';
    int d, m, y, hh = 0, mm = 0;
    double ss = 0;
    char tail;
    if (sscanf(w->base_date, "%d/%d/%d%c", &d, &m, &y, &tail) != 3)
        return;
    if (w->base_time[0]) {
        double secs;
        if (somna_parse_clock(w->base_time, &secs) != 0)
            return;
        hh = (int)(secs / 3600);
        mm = (int)((secs - hh * 3600) / 60);
        ss = secs - hh * 3600 - mm * 60;
    }
    snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d", y, m, d, hh, mm, (int)ss);
}

static int open_wfdb(somna_recording *r, const char *record, somna_err *err)
{
    int rc = somna_wfdb_open(record, &r->wfdb, err);
    if (rc)
        return rc;
    const somna_wfdb_record *w = r->wfdb;
    somna_strlcpy(r->format, "WFDB", sizeof r->format);
    wfdb_start(w, r->start, sizeof r->start);
    r->duration = w->fs > 0 ? (double)w->n_samples / w->fs : 0.0;
    if ((rc = alloc_signals(r, w->n_signals, err, record)) != SOMNA_OK)
        return rc;
    for (int i = 0; i < w->n_signals; i++) {
        somna_rec_signal *o = &r->signals[i];
        const somna_wfdb_signal *s = &w->signals[i];
        if (s->description[0])
            somna_strlcpy(o->label, s->description, sizeof o->label);
        else
            snprintf(o->label, sizeof o->label, "sig%d", i + 1);
        somna_strlcpy(o->unit, s->units, sizeof o->unit);
        o->fs = somna_wfdb_signal_fs(w, i);
        o->n_samples = somna_wfdb_signal_length(w, i);
        o->phys_min = NAN; /* WFDB declares no physical range */
        o->phys_max = NAN;
        o->units_per_code = 1.0 / s->gain;
        r->map[i] = i;
    }
    r->n_signals = w->n_signals;
    /* Reference beat annotations, when the record has them (NAME.atr). */
    char atr[4096];
    const char *dot = ends_with(record, ".hea") ? record + strlen(record) - 4 : record + strlen(record);
    snprintf(atr, sizeof atr, "%.*s.atr", (int)(dot - record), record);
    if (is_regular(atr)) {
        size_t n = 0;
        somna_err quiet;
        somna_err_init(&quiet, NULL, NULL);
        if (somna_wfdb_ann_count_file(atr, &n, &quiet) == SOMNA_OK) {
            r->n_annotations = n;
        } else {
            somna_warn(err, "%s: annotations not counted: %s", atr, quiet.msg);
        }
    }
    return SOMNA_OK;
}

static int open_text(somna_recording *r, const char *path, double fs, somna_err *err)
{
    if (!(fs > 0) || !isfinite(fs))
        return somna_fail(err, SOMNA_E_ARG, "%s: a text signal file needs a sampling rate > 0", path);
    int rc = somna_textsig_read(path, fs, &r->text, err);
    if (rc)
        return rc;
    r->has_text = 1;
    somna_strlcpy(r->format, "text", sizeof r->format);
    r->duration = (double)r->text.n_samples / fs;
    if ((rc = alloc_signals(r, r->text.n_signals, err, path)) != SOMNA_OK)
        return rc;
    for (int i = 0; i < r->text.n_signals; i++) {
        somna_rec_signal *o = &r->signals[i];
        somna_strlcpy(o->label, r->text.labels[i], sizeof o->label);
        o->unit[0] = '\0'; /* text exports carry no unit */
        o->fs = fs;
        o->n_samples = r->text.n_samples;
        o->phys_min = NAN;
        o->phys_max = NAN;
        o->units_per_code = 1.0;
        r->map[i] = i;
    }
    r->n_signals = r->text.n_signals;
    return SOMNA_OK;
}

int somna_rec_open(const char *path, const somna_rec_open_opts *opts, somna_recording **out, somna_err *err)
{
    *out = NULL;
    if (!path || !*path)
        return somna_fail(err, SOMNA_E_ARG, "no recording given");
    somna_rec_kind kind = opts ? opts->kind : SOMNA_REC_AUTO;
    double text_fs = opts ? opts->text_fs : 0.0;
    char hea[4096];
    snprintf(hea, sizeof hea, "%s.hea", path);
    if (kind == SOMNA_REC_AUTO) {
        int magic = is_regular(path) ? has_edf_magic(path) : -1;
        /* A damaged .edf/.bdf should get the EDF reader's precise message,
         * not "unknown format". */
        size_t pl = strlen(path);
        int edf_name = pl > 4 && (somna_strieq(path + pl - 4, ".edf") || somna_strieq(path + pl - 4, ".bdf"));
        if (magic == 1 || (magic == 0 && edf_name))
            kind = SOMNA_REC_EDF;
        else if ((ends_with(path, ".hea") && is_regular(path)) || is_regular(hea))
            kind = SOMNA_REC_WFDB;
        else if (magic == 0 && text_fs > 0)
            kind = SOMNA_REC_TEXT;
        else if (magic == 0)
            return somna_fail(err, SOMNA_E_FORMAT,
                              "%s: not an EDF/BDF file (no EDF version field), not a WFDB record (no %s.hea); "
                              "a text signal file needs its sampling rate",
                              path, path);
        else
            return somna_fail(err, SOMNA_E_IO, "%s: no such file, and no WFDB header %s.hea", path, path);
    }
    somna_recording *r = calloc(1, sizeof *r);
    if (!r)
        return somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory", path);
    r->kind = kind;
    int rc;
    switch (kind) {
    case SOMNA_REC_EDF: rc = open_edf(r, path, err); break;
    case SOMNA_REC_WFDB: rc = open_wfdb(r, path, err); break;
    case SOMNA_REC_TEXT: rc = open_text(r, path, text_fs, err); break;
    default: rc = somna_fail(err, SOMNA_E_ARG, "%s: unknown recording kind %d", path, (int)kind); break;
    }
    if (rc != SOMNA_OK) {
        somna_rec_close(r);
        return rc;
    }
    *out = r;
    return SOMNA_OK;
}

void somna_rec_close(somna_recording *r)
{
    if (!r)
        return;
    somna_edf_close(r->edf);
    if (r->wfdb)
        somna_wfdb_close(r->wfdb);
    if (r->has_text)
        somna_textsig_free(&r->text);
    free(r->signals);
    free(r->map);
    free(r);
}

const char *somna_rec_format(const somna_recording *r)
{
    return r->format;
}

const char *somna_rec_start(const somna_recording *r)
{
    return r->start;
}

double somna_rec_duration(const somna_recording *r)
{
    return r->duration;
}

int somna_rec_n_signals(const somna_recording *r)
{
    return r->n_signals;
}

const somna_rec_signal *somna_rec_signal_info(const somna_recording *r, int sig)
{
    if (sig < 0 || sig >= r->n_signals)
        return NULL;
    return &r->signals[sig];
}

size_t somna_rec_n_annotations(const somna_recording *r)
{
    return r->n_annotations;
}

int somna_rec_find_signal(const somna_recording *r, const char *label_or_index)
{
    char want[160];
    somna_strlcpy(want, label_or_index, sizeof want);
    somna_trim(want);
    for (int i = 0; i < r->n_signals; i++)
        if (somna_strieq(r->signals[i].label, want))
            return i;
    int64_t k;
    if (somna_parse_int64_str(want, &k) == 0 && k >= 1 && k <= r->n_signals)
        return (int)(k - 1);
    return -1;
}

int somna_rec_read_codes(somna_recording *r, int sig, int64_t first, int64_t n, double *out, somna_err *err)
{
    if (sig < 0 || sig >= r->n_signals)
        return somna_fail(err, SOMNA_E_NOTFOUND, "no signal %d (the recording has %d)", sig + 1, r->n_signals);
    if (r->kind == SOMNA_REC_WFDB)
        return somna_wfdb_read_codes(r->wfdb, r->map[sig], first, n, out, err);
    if (r->kind != SOMNA_REC_EDF)
        return somna_rec_read(r, sig, first, n, out, err);
    int32_t buf[4096];
    if (n <= 0) /* the reader's own checks and message for an empty or negative range */
        return somna_edf_read_digital(r->edf, r->map[sig], first, n, buf, err);
    for (int64_t done = 0; done < n;) {
        int64_t m = n - done < 4096 ? n - done : 4096;
        int rc = somna_edf_read_digital(r->edf, r->map[sig], first + done, m, buf, err);
        if (rc)
            return rc;
        for (int64_t i = 0; i < m; i++)
            out[done + i] = (double)buf[i];
        done += m;
    }
    return SOMNA_OK;
}

int somna_rec_read(somna_recording *r, int sig, int64_t first, int64_t n, double *out, somna_err *err)
{
    if (sig < 0 || sig >= r->n_signals)
        return somna_fail(err, SOMNA_E_NOTFOUND, "no signal %d (the recording has %d)", sig + 1, r->n_signals);
    switch (r->kind) {
    case SOMNA_REC_EDF: return somna_edf_read_physical(r->edf, r->map[sig], first, n, out, err);
    case SOMNA_REC_WFDB: return somna_wfdb_read_physical(r->wfdb, r->map[sig], first, n, out, err);
    case SOMNA_REC_TEXT: {
        const somna_rec_signal *s = &r->signals[sig];
        if (first < 0 || n < 0 || first > s->n_samples || n > s->n_samples - first)
            return somna_fail(err, SOMNA_E_ARG, "signal %d (%s): samples %lld..%lld requested, the signal has %lld",
                              sig + 1, s->label, (long long)first, (long long)(first + n), (long long)s->n_samples);
        if (n > 0)
            memcpy(out, r->text.data[r->map[sig]] + first, (size_t)n * sizeof *out);
        return SOMNA_OK;
    }
    default: break;
    }
    return somna_fail(err, SOMNA_E_ARG, "recording not open");
}
