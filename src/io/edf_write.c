/* somna io — streaming EDF+C / BDF+C writer.
 *
 * Reference: Kemp & Olivan 2003 (EDF+): header fields as fixed-width ASCII,
 * "EDF+C" in the reserved field, patient/recording subfields, an
 * "EDF Annotations" signal whose first TAL in each record is the
 * time-keeping TAL "+onset\x14\x14\x00".
 *
 * Records are buffered one at a time and appended to a temporary file
 * (somna_outfile) that is renamed into place by close, so a failure never
 * leaves a partial EDF under the requested name.  Header numbers are
 * formatted first and the calibration is computed from the text actually
 * written, so any reader (EDFlib, MNE, somna) recovers the same values.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "somna/edf.h"
#include "somna/fileio.h"
#include "somna/parse.h"

typedef struct pending_annot {
    double onset, duration;
    char *text;
    size_t seq; /* insertion order, for a stable sort */
} pending_annot;

struct somna_edf_writer {
    somna_outfile out;
    char *path;
    int bdf, bps, ns;          /* ns = data signals; the annotation signal is ns */
    int32_t *spr, *dmin, *dmax;
    double *bitvalue, *dig_offset;
    size_t *sig_offset;
    size_t annot_offset, annot_bytes;
    size_t header_bytes, record_bytes;
    unsigned char *rec;
    double record_duration;
    int64_t n_records;
    pending_annot *ann;
    size_t n_ann, cap_ann;
};

static const char *const month_names[12] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                            "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};

/* Shortest plain decimal (no exponent) of at most `width` characters that
 * represents v; EDF numeric fields cannot hold more. */
static int fmt_num(double v, int width, char *out, size_t size)
{
    char buf[64];
    for (int dec = 8; dec >= 0; dec--) {
        snprintf(buf, sizeof buf, "%.*f", dec, v);
        if (dec > 0) {
            size_t l = strlen(buf);
            while (l > 0 && buf[l - 1] == '0')
                buf[--l] = '\0';
            if (l > 0 && buf[l - 1] == '.')
                buf[--l] = '\0';
        }
        if (strcmp(buf, "-0") == 0)
            somna_strlcpy(buf, "0", sizeof buf);
        if ((int)strlen(buf) <= width) {
            somna_strlcpy(out, buf, size);
            return 0;
        }
    }
    return -1;
}

/* Put a text field, blank padded; only printable ASCII is allowed in EDF headers. */
static int put_text(unsigned char *dst, size_t width, const char *s, const char *path, const char *what,
                    somna_err *err)
{
    size_t l = s ? strlen(s) : 0;
    if (l > width)
        return somna_fail(err, SOMNA_E_ARG, "%s: %s '%s' is longer than its %zu-character EDF field", path, what, s,
                          width);
    for (size_t i = 0; i < l; i++)
        if ((unsigned char)s[i] < 32 || (unsigned char)s[i] > 126)
            return somna_fail(err, SOMNA_E_ARG, "%s: %s '%s' holds a byte that is not printable ASCII (EDF headers are ASCII)",
                              path, what, s);
    memset(dst, ' ', width);
    if (l)
        memcpy(dst, s, l);
    return SOMNA_OK;
}

static void put_num_text(unsigned char *dst, size_t width, const char *s)
{
    memset(dst, ' ', width);
    memcpy(dst, s, strlen(s) < width ? strlen(s) : width);
}

void somna_edf_writer_abort(somna_edf_writer *w)
{
    if (!w)
        return;
    if (w->out.fp)
        somna_outfile_abort(&w->out);
    for (size_t i = 0; i < w->n_ann; i++)
        free(w->ann[i].text);
    free(w->ann);
    free(w->spr);
    free(w->dmin);
    free(w->dmax);
    free(w->bitvalue);
    free(w->dig_offset);
    free(w->sig_offset);
    free(w->rec);
    free(w->path);
    free(w);
}

/* Time-keeping TAL "+onset\x14\x14\x00" for record r at the start of buf. */
static size_t timekeeping_tal(const somna_edf_writer *w, int64_t r, unsigned char *buf, size_t cap)
{
    char on[48];
    /* Onsets are multiples of the record duration; 7 decimals cover 100 ns. */
    fmt_num((double)r * w->record_duration, 40, on, sizeof on);
    int n = snprintf((char *)buf, cap, "+%s\x14\x14", on);
    size_t len = (size_t)n + 1; /* the terminating 0x00 written by snprintf */
    return len;
}

/* Number of space-separated, non-empty subfields in an EDF+ header field. */
static int count_subfields(const char *s)
{
    int n = 0, in = 0;
    for (; *s; s++) {
        if (*s == ' ') {
            in = 0;
        } else if (!in) {
            in = 1;
            n++;
        }
    }
    return n;
}

int somna_edf_writer_open(const char *path, const somna_edf_writer_spec *spec, somna_edf_writer **out,
                          somna_err *err)
{
    *out = NULL;
    if (!spec || spec->n_signals < 1 || !spec->signals)
        return somna_fail(err, SOMNA_E_ARG, "%s: an EDF+ file needs at least one signal", path);
    if (spec->n_signals > 9998)
        return somna_fail(err, SOMNA_E_ARG, "%s: %d signals; EDF allows at most 9998 besides annotations", path,
                          spec->n_signals);
    if (!(spec->record_duration > 0) || !isfinite(spec->record_duration))
        return somna_fail(err, SOMNA_E_ARG, "%s: record duration %g s must be > 0", path, spec->record_duration);
    if (spec->start_year < 1985 || spec->start_year > 2084 || spec->start_month < 1 || spec->start_month > 12 ||
        spec->start_day < 1 || spec->start_day > 31 || spec->start_hour < 0 || spec->start_hour > 23 ||
        spec->start_minute < 0 || spec->start_minute > 59 || spec->start_second < 0 || spec->start_second > 59)
        return somna_fail(err, SOMNA_E_ARG,
                          "%s: start %04d-%02d-%02d %02d:%02d:%02d is not a valid EDF date/time (years 1985-2084)",
                          path, spec->start_year, spec->start_month, spec->start_day, spec->start_hour,
                          spec->start_minute, spec->start_second);
    somna_edf_writer *w = calloc(1, sizeof *w);
    if (!w)
        return somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory", path);
    int ns = spec->n_signals;
    size_t n = (size_t)ns;
    w->path = strdup(path);
    w->spr = calloc(n, sizeof *w->spr);
    w->dmin = calloc(n, sizeof *w->dmin);
    w->dmax = calloc(n, sizeof *w->dmax);
    w->bitvalue = calloc(n, sizeof *w->bitvalue);
    w->dig_offset = calloc(n, sizeof *w->dig_offset);
    w->sig_offset = calloc(n, sizeof *w->sig_offset);
    if (!w->path || !w->spr || !w->dmin || !w->dmax || !w->bitvalue || !w->dig_offset || !w->sig_offset) {
        somna_edf_writer_abort(w);
        return somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory", path);
    }
    w->bdf = spec->bdf != 0;
    w->bps = w->bdf ? 3 : 2;
    w->ns = ns;
    int32_t lo = w->bdf ? -8388608 : -32768, hi = w->bdf ? 8388607 : 32767;

    size_t total = n + 1;
    w->header_bytes = 256 * (total + 1);
    unsigned char *h = malloc(w->header_bytes);
    if (!h) {
        somna_edf_writer_abort(w);
        return somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory", path);
    }
    memset(h, ' ', w->header_bytes);
    int rc = SOMNA_OK;
    char num[32], rec_field[128];
    if (w->bdf) {
        h[0] = 0xFF;
        memcpy(h + 1, "BIOSEMI", 7);
    } else {
        h[0] = '0';
    }
    /* EDF+ 2.1: the patient field holds at least 4 space-separated subfields
     * (code, sex, birthdate, name) and the recording field, after the start
     * date, at least 3 (hospital code, technician, equipment), 'X' when
     * unknown.  Readers such as EDFlib refuse a file without them. */
    if (spec->patient && count_subfields(spec->patient) < 4)
        rc = somna_fail(err, SOMNA_E_ARG,
                        "%s: patient field '%s' needs the 4 EDF+ subfields (code sex birthdate name; X if unknown)",
                        path, spec->patient);
    else if (spec->recording && count_subfields(spec->recording) < 3)
        rc = somna_fail(err, SOMNA_E_ARG,
                        "%s: recording field '%s' needs the 3 EDF+ subfields after the start date "
                        "(hospital-code technician equipment; X if unknown)",
                        path, spec->recording);
    if (rc == SOMNA_OK)
        rc = put_text(h + 8, 80, spec->patient ? spec->patient : "X X X X", path, "patient field", err);
    if (rc == SOMNA_OK) {
        snprintf(rec_field, sizeof rec_field, "Startdate %02d-%s-%04d %s", spec->start_day,
                 month_names[spec->start_month - 1], spec->start_year, spec->recording ? spec->recording : "X X X");
        rc = put_text(h + 88, 80, rec_field, path, "recording field", err);
    }
    if (rc != SOMNA_OK)
        goto fail;
    snprintf(num, sizeof num, "%02d.%02d.%02d", spec->start_day, spec->start_month, spec->start_year % 100);
    put_num_text(h + 168, 8, num);
    snprintf(num, sizeof num, "%02d.%02d.%02d", spec->start_hour, spec->start_minute, spec->start_second);
    put_num_text(h + 176, 8, num);
    snprintf(num, sizeof num, "%zu", w->header_bytes);
    put_num_text(h + 184, 8, num);
    put_num_text(h + 192, 44, w->bdf ? "BDF+C" : "EDF+C");
    put_num_text(h + 236, 8, "-1"); /* fixed by close */
    if (fmt_num(spec->record_duration, 8, num, sizeof num) != 0 ||
        somna_parse_double_str(num, &w->record_duration) != 0 || !(w->record_duration > 0)) {
        rc = somna_fail(err, SOMNA_E_ARG, "%s: record duration %g s does not fit the 8-character EDF field", path,
                        spec->record_duration);
        goto fail;
    }
    if (fabs(w->record_duration - spec->record_duration) > 1e-12 * spec->record_duration) {
        rc = somna_fail(err, SOMNA_E_ARG, "%s: record duration %.17g s is not exactly representable in 8 characters",
                        path, spec->record_duration);
        goto fail;
    }
    put_num_text(h + 244, 8, num);
    snprintf(num, sizeof num, "%zu", total);
    put_num_text(h + 252, 4, num);

    unsigned char *sh = h + 256;
#define F(off, width, i) (sh + (size_t)(off) * total + (size_t)(i) * (width))
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        const somna_edf_signal_spec *s = &spec->signals[i];
        char what[96];
        snprintf(what, sizeof what, "signal %zu label", i + 1);
        if ((rc = put_text(F(0, 16, i), 16, s->label, path, what, err)) != SOMNA_OK)
            goto fail;
        snprintf(what, sizeof what, "signal %zu (%s) transducer", i + 1, s->label ? s->label : "");
        if ((rc = put_text(F(16, 80, i), 80, s->transducer, path, what, err)) != SOMNA_OK)
            goto fail;
        snprintf(what, sizeof what, "signal %zu (%s) unit", i + 1, s->label ? s->label : "");
        if ((rc = put_text(F(96, 8, i), 8, s->unit, path, what, err)) != SOMNA_OK)
            goto fail;
        snprintf(what, sizeof what, "signal %zu (%s) prefilter", i + 1, s->label ? s->label : "");
        if ((rc = put_text(F(136, 80, i), 80, s->prefilter, path, what, err)) != SOMNA_OK)
            goto fail;
        int32_t dmin = s->dig_min, dmax = s->dig_max;
        if (dmin == 0 && dmax == 0) {
            dmin = lo;
            dmax = hi;
        }
        if (dmin < lo || dmax > hi || dmin >= dmax) {
            rc = somna_fail(err, SOMNA_E_ARG, "%s: signal %zu (%s): digital range %d..%d is not valid for %s", path,
                            i + 1, s->label, (int)dmin, (int)dmax, w->bdf ? "BDF (24-bit)" : "EDF (16-bit)");
            goto fail;
        }
        char pmin[16], pmax[16];
        double pmin_w, pmax_w;
        if (!isfinite(s->phys_min) || !isfinite(s->phys_max) || fmt_num(s->phys_min, 8, pmin, sizeof pmin) ||
            fmt_num(s->phys_max, 8, pmax, sizeof pmax) || somna_parse_double_str(pmin, &pmin_w) ||
            somna_parse_double_str(pmax, &pmax_w) || pmin_w == pmax_w) {
            rc = somna_fail(err, SOMNA_E_ARG,
                            "%s: signal %zu (%s): physical range %g..%g cannot be written as two different "
                            "8-character numbers",
                            path, i + 1, s->label, s->phys_min, s->phys_max);
            goto fail;
        }
        if (s->samples_per_record < 1 || s->samples_per_record > 99999999) {
            rc = somna_fail(err, SOMNA_E_ARG, "%s: signal %zu (%s): %d samples per record; must be 1..99999999",
                            path, i + 1, s->label, (int)s->samples_per_record);
            goto fail;
        }
        put_num_text(F(104, 8, i), 8, pmin);
        put_num_text(F(112, 8, i), 8, pmax);
        snprintf(num, sizeof num, "%d", (int)dmin);
        put_num_text(F(120, 8, i), 8, num);
        snprintf(num, sizeof num, "%d", (int)dmax);
        put_num_text(F(128, 8, i), 8, num);
        snprintf(num, sizeof num, "%d", (int)s->samples_per_record);
        put_num_text(F(216, 8, i), 8, num);
        w->spr[i] = s->samples_per_record;
        w->dmin[i] = dmin;
        w->dmax[i] = dmax;
        /* EDFlib's calibration, from the numbers as written. */
        w->bitvalue[i] = (pmax_w - pmin_w) / ((double)dmax - (double)dmin);
        w->dig_offset[i] = pmax_w / w->bitvalue[i] - (double)dmax;
        w->sig_offset[i] = off;
        off += (size_t)s->samples_per_record * (size_t)w->bps;
    }
    /* The annotation signal, last (as EDFlib writes it). */
    int abytes = spec->max_annotation_bytes_per_record > 0 ? spec->max_annotation_bytes_per_record : 120;
    if (abytes < 24)
        abytes = 24; /* always room for the time-keeping TAL */
    int aspr = (abytes + w->bps - 1) / w->bps;
    w->annot_offset = off;
    w->annot_bytes = (size_t)aspr * (size_t)w->bps;
    off += w->annot_bytes;
    w->record_bytes = off;
    put_num_text(F(0, 16, n), 16, w->bdf ? "BDF Annotations" : "EDF Annotations");
    put_num_text(F(104, 8, n), 8, "-1");
    put_num_text(F(112, 8, n), 8, "1");
    snprintf(num, sizeof num, "%d", (int)lo);
    put_num_text(F(120, 8, n), 8, num);
    snprintf(num, sizeof num, "%d", (int)hi);
    put_num_text(F(128, 8, n), 8, num);
    snprintf(num, sizeof num, "%d", aspr);
    put_num_text(F(216, 8, n), 8, num);
#undef F

    w->rec = malloc(w->record_bytes);
    if (!w->rec) {
        rc = somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory for a %zu-byte record", path, w->record_bytes);
        goto fail;
    }
    if ((rc = somna_outfile_open(&w->out, path, err)) != SOMNA_OK)
        goto fail;
    if (fwrite(h, 1, w->header_bytes, w->out.fp) != w->header_bytes) {
        rc = somna_fail(err, SOMNA_E_IO, "%s: write error", path);
        goto fail;
    }
    free(h);
    *out = w;
    return SOMNA_OK;
fail:
    free(h);
    somna_edf_writer_abort(w);
    return rc;
}

int somna_edf_writer_put_record(somna_edf_writer *w, const double *const *data, somna_err *err)
{
    unsigned char *rec = w->rec;
    for (int s = 0; s < w->ns; s++) {
        const double *x = data[s];
        const double bv = w->bitvalue[s], off = w->dig_offset[s];
        const double lo = (double)w->dmin[s], hi = (double)w->dmax[s];
        unsigned char *p = rec + w->sig_offset[s];
        for (int32_t i = 0; i < w->spr[s]; i++) {
            if (isnan(x[i]))
                return somna_fail(err, SOMNA_E_ARG, "%s: data record %lld, signal %d: sample %d is NaN", w->path,
                                  (long long)w->n_records + 1, s + 1, (int)i);
            double v = floor(x[i] / bv - off + 0.5);
            if (v < lo)
                v = lo;
            if (v > hi)
                v = hi;
            int32_t d = (int32_t)v;
            uint32_t u = (uint32_t)d;
            p[0] = (unsigned char)(u & 0xFF);
            p[1] = (unsigned char)((u >> 8) & 0xFF);
            if (w->bps == 3) {
                p[2] = (unsigned char)((u >> 16) & 0xFF);
                p += 3;
            } else {
                p += 2;
            }
        }
    }
    memset(rec + w->annot_offset, 0, w->annot_bytes);
    timekeeping_tal(w, w->n_records, rec + w->annot_offset, w->annot_bytes);
    if (fwrite(rec, 1, w->record_bytes, w->out.fp) != w->record_bytes)
        return somna_fail(err, SOMNA_E_IO, "%s: write error", w->path);
    w->n_records++;
    return SOMNA_OK;
}

int somna_edf_writer_add_annotation(somna_edf_writer *w, double onset, double duration, const char *text,
                                    somna_err *err)
{
    if (!isfinite(onset))
        return somna_fail(err, SOMNA_E_ARG, "%s: annotation onset is not finite", w->path);
    if (!text || !*text)
        return somna_fail(err, SOMNA_E_ARG, "%s: annotation at %g s has no text", w->path, onset);
    for (const unsigned char *c = (const unsigned char *)text; *c; c++)
        if (*c == 0x14 || *c == 0x15)
            return somna_fail(err, SOMNA_E_ARG, "%s: annotation '%s' contains TAL separator byte 0x%02x", w->path,
                              text, *c);
    if (w->n_ann == w->cap_ann) {
        size_t cap = w->cap_ann ? 2 * w->cap_ann : 16;
        pending_annot *a = realloc(w->ann, cap * sizeof *a);
        if (!a)
            return somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory", w->path);
        w->ann = a;
        w->cap_ann = cap;
    }
    char *t = strdup(text);
    if (!t)
        return somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory", w->path);
    w->ann[w->n_ann] = (pending_annot){onset, isfinite(duration) ? duration : -1.0, t, w->n_ann};
    w->n_ann++;
    return SOMNA_OK;
}

static int cmp_annot(const void *a, const void *b)
{
    const pending_annot *x = a, *y = b;
    if (x->onset != y->onset)
        return x->onset < y->onset ? -1 : 1;
    return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

/* TAL "+onset[\x15duration]\x14text\x14\x00" into buf; returns its length. */
static size_t annot_tal(const pending_annot *a, char *buf, size_t cap)
{
    char on[48], du[48];
    fmt_num(fabs(a->onset), 40, on, sizeof on);
    int n;
    if (a->duration >= 0) {
        fmt_num(a->duration, 40, du, sizeof du);
        n = snprintf(buf, cap, "%c%s\x15%s\x14%s\x14", a->onset < 0 ? '-' : '+', on, du, a->text);
    } else {
        n = snprintf(buf, cap, "%c%s\x14%s\x14", a->onset < 0 ? '-' : '+', on, a->text);
    }
    if (n < 0 || (size_t)n + 1 > cap)
        return 0;
    return (size_t)n + 1; /* + the 0x00 ending the TAL */
}

int somna_edf_writer_close(somna_edf_writer *w, somna_err *err)
{
    int rc = SOMNA_OK;
    char num[32];
    FILE *fp = w->out.fp;
    if (w->n_ann > 0) {
        qsort(w->ann, w->n_ann, sizeof *w->ann, cmp_annot);
        size_t next = 0;
        char *tal = malloc(w->annot_bytes + 1);
        if (!tal) {
            rc = somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory", w->path);
            goto fail;
        }
        for (int64_t r = 0; r < w->n_records && next < w->n_ann; r++) {
            unsigned char *a = w->rec;
            memset(a, 0, w->annot_bytes);
            size_t used = timekeeping_tal(w, r, a, w->annot_bytes);
            while (next < w->n_ann) {
                size_t l = annot_tal(&w->ann[next], tal, w->annot_bytes + 1);
                if (l == 0 || used + l > w->annot_bytes)
                    break;
                memcpy(a + used, tal, l);
                used += l;
                next++;
            }
            long pos = (long)(w->header_bytes + (size_t)r * w->record_bytes + w->annot_offset);
            if (fseek(fp, pos, SEEK_SET) != 0 || fwrite(a, 1, w->annot_bytes, fp) != w->annot_bytes) {
                free(tal);
                rc = somna_fail(err, SOMNA_E_IO, "%s: write error", w->path);
                goto fail;
            }
        }
        free(tal);
        if (next < w->n_ann) {
            rc = somna_fail(err, SOMNA_E_ARG,
                            "%s: %zu of %zu annotations do not fit in %lld data records of %zu annotation bytes "
                            "each; raise max_annotation_bytes_per_record",
                            w->path, w->n_ann - next, w->n_ann, (long long)w->n_records, w->annot_bytes);
            goto fail;
        }
    }
    snprintf(num, sizeof num, "%-8lld", (long long)w->n_records);
    if (fseek(fp, 236, SEEK_SET) != 0 || fwrite(num, 1, 8, fp) != 8) {
        rc = somna_fail(err, SOMNA_E_IO, "%s: write error", w->path);
        goto fail;
    }
    rc = somna_outfile_commit(&w->out, err);
    w->out.fp = NULL;
    somna_edf_writer_abort(w); /* frees; the file is already committed */
    return rc;
fail:
    somna_edf_writer_abort(w);
    return rc;
}
