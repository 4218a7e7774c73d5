/* somna io — EDF / EDF+ / BDF / BDF+ reader.
 *
 * References: Kemp et al. 1992 (EDF header layout), Kemp & Olivan 2003
 * (EDF+: reserved field "EDF+C"/"EDF+D", "EDF Annotations" signals, TALs),
 * BioSemi's BDF (0xFF "BIOSEMI" version, 24-bit samples, "BDF+C"/"BDF+D").
 * Calibration follows EDFlib (Teunis van Beelen):
 *   bitvalue = (pmax - pmin) / (dmax - dmin),  dig_offset = pmax / bitvalue - dmax,
 *   physical = bitvalue * (dig_offset + digital)
 * so decoded values equal EDFlib's bit for bit.
 *
 * The whole file is memory-mapped; a read walks the records it spans and
 * decodes each record's run of samples in a tight loop.  The header is
 * validated before anything is allocated from its numbers, and every
 * allocation is bounded by the file size, so a header claiming terabytes
 * costs nothing.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>

#include "io/edf_internal.h"
#include "somna/parse.h"

enum { EDF_FIXED = 256, EDF_PER_SIGNAL = 256 };

const char *somna_edf_format_name(somna_edf_format f)
{
    switch (f) {
    case SOMNA_EDF: return "EDF";
    case SOMNA_EDFPLUS_C: return "EDF+C";
    case SOMNA_EDFPLUS_D: return "EDF+D";
    case SOMNA_BDF: return "BDF";
    case SOMNA_BDFPLUS_C: return "BDF+C";
    case SOMNA_BDFPLUS_D: return "BDF+D";
    }
    return "EDF";
}

/* ---- header field helpers -------------------------------------------------*/

/* Copy a fixed-width ASCII field, trimming blanks on both sides.  NUL bytes
 * become blanks (they would cut the string short).  Returns 1 if the field
 * held bytes outside printable ASCII. */
static int copy_field(const unsigned char *p, size_t n, char *out, size_t size)
{
    int odd = 0;
    size_t k = n < size - 1 ? n : size - 1;
    for (size_t i = 0; i < k; i++) {
        unsigned char c = p[i];
        if (c < 32 || c > 126)
            odd = 1;
        out[i] = c == 0 ? ' ' : (char)c;
    }
    out[k] = '\0';
    somna_trim(out);
    return odd;
}

/* Field text for messages: printable, escaped. */
static void shown_field(const unsigned char *p, size_t n, char *out, size_t size)
{
    size_t o = 0;
    while (n > 0 && p[n - 1] == ' ')
        n--;
    size_t s = 0;
    while (s < n && p[s] == ' ')
        s++;
    for (size_t i = s; i < n && o + 5 < size; i++) {
        if (p[i] >= 32 && p[i] < 127)
            out[o++] = (char)p[i];
        else
            o += (size_t)snprintf(out + o, size - o, "\\x%02x", p[i]);
    }
    out[o < size ? o : size - 1] = '\0';
}

/* "signal 3 (EEG Fpz-Cz)" — signals are numbered from 1 as users count them. */
static void sig_name(const somna_edf *e, int s, char *out, size_t size)
{
    snprintf(out, size, "signal %d (%s)", s + 1, e->hdr.signals[s].label);
}

/* "FILE: signal N (LABEL): WHAT 'shown' is not KIND" (the signal part only
 * for per-signal fields): one wording for every unreadable numeric field. */
static int field_refusal(somna_edf *e, const unsigned char *p, size_t n, const char *what, int sig,
                         const char *kind, somna_err *err)
{
    char shown[64], who[64] = "";
    shown_field(p, n, shown, sizeof shown);
    if (sig >= 0) {
        sig_name(e, sig, who, sizeof who - 2);
        size_t l = strlen(who);
        who[l] = ':';
        who[l + 1] = '\0';
    }
    return somna_fail(err, SOMNA_E_FORMAT, "%s: %s%s%s '%s' is not %s", e->name, who, sig >= 0 ? " " : "", what,
                      shown, kind);
}

static int field_int(somna_edf *e, const unsigned char *p, size_t n, const char *what, int sig, int64_t *out,
                     somna_err *err)
{
    if (somna_parse_int64((const char *)p, n, out) == 0)
        return SOMNA_OK;
    /* "250.0" or "1e3" style integers: accept when the value is integral. */
    double d;
    if (somna_parse_double((const char *)p, n, &d) == 0 && d == floor(d) && fabs(d) < 9.0e15) {
        *out = (int64_t)d;
        return SOMNA_OK;
    }
    return field_refusal(e, p, n, what, sig, "an integer", err);
}

static int field_double(somna_edf *e, const unsigned char *p, size_t n, const char *what, int sig, double *out,
                        somna_err *err)
{
    if (somna_parse_double((const char *)p, n, out) == 0)
        return SOMNA_OK;
    return field_refusal(e, p, n, what, sig, "a number", err);
}

/* Two decimal digits at p, or -1. */
static int two_digits(const unsigned char *p)
{
    if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
        return -1;
    return (p[0] - '0') * 10 + (p[1] - '0');
}

static int is_annotation_label(const char *label)
{
    return strcmp(label, "EDF Annotations") == 0 || strcmp(label, "BDF Annotations") == 0;
}

/* Deviations of one kind are reported as one warning listing the first few
 * places, not one line per signal (a 90-signal file would drown the user). */
typedef struct warn_acc {
    int n;
    char where[320];
} warn_acc;

static void acc_add(warn_acc *a, const char *fmt, ...) SOMNA_PRINTF(2, 3);
static void acc_add(warn_acc *a, const char *fmt, ...)
{
    a->n++;
    if (a->n > 4)
        return;
    size_t l = strlen(a->where);
    if (l + 8 >= sizeof a->where)
        return;
    if (l > 0) {
        memcpy(a->where + l, "; ", 3);
        l += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->where + l, sizeof a->where - l, fmt, ap);
    va_end(ap);
}

static void acc_flush(const warn_acc *a, somna_err *err, const char *name, const char *what)
{
    if (a->n == 0)
        return;
    somna_warn(err, "%s: %s (%d field%s): %s%s", name, what, a->n, a->n == 1 ? "" : "s", a->where,
               a->n > 4 ? "; ..." : "");
}

/* ---- annotations ------------------------------------------------------------*/

/* Each annotation costs ~60 bytes of memory for as little as 2 file bytes;
 * a cap keeps a hostile file from turning into 30x its size in RAM.  Real
 * nights hold thousands; whole-study files perhaps a million. */
#define EDF_MAX_ANNOTATIONS ((size_t)10000000)

static int add_annotation(somna_edf *e, double onset, double duration, const char *text, size_t len,
                          somna_err *err)
{
    if (e->n_ann >= EDF_MAX_ANNOTATIONS)
        return somna_fail(err, SOMNA_E_NOMEM, "%s: more than %zu annotations; refusing (absurd for a recording)",
                          e->name, EDF_MAX_ANNOTATIONS);
    if (e->n_ann == e->cap_ann) {
        size_t cap = e->cap_ann ? e->cap_ann * 2 : 64;
        somna_edf_annotation *a = realloc(e->ann, cap * sizeof *a);
        if (!a)
            return somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory storing annotations", e->name);
        e->ann = a;
        e->cap_ann = cap;
    }
    char *t = malloc(len + 1);
    if (!t)
        return somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory storing annotations", e->name);
    memcpy(t, text, len);
    t[len] = '\0';
    somna_edf_annotation *a = &e->ann[e->n_ann++];
    a->onset = onset;
    a->duration = duration;
    a->text = t;
    return SOMNA_OK;
}

typedef struct tal_ctx {
    somna_edf *e;
    int64_t record;
    int timekeeping;     /* this signal carries the record's time-keeping TAL */
    int n_tals;          /* TALs seen so far in this signal of this record */
    double record_onset; /* set from the time-keeping TAL */
    int have_onset;
} tal_ctx;

static int on_tal(void *vctx, double onset, double duration, int has_duration, const char *const *texts,
                  const size_t *lens, size_t n_texts, size_t byte_pos, somna_err *err)
{
    (void)byte_pos;
    tal_ctx *c = vctx;
    size_t first_text = 0;
    if (c->timekeeping && c->n_tals == 0) {
        /* EDF+ 2.2.4: the first TAL of the first annotation signal of each
         * record gives the record's onset; its (normally empty) texts are
         * kept as ordinary annotations if a writer put any there. */
        c->record_onset = onset;
        c->have_onset = 1;
    }
    c->n_tals++;
    for (size_t i = first_text; i < n_texts; i++) {
        int rc = add_annotation(c->e, onset, has_duration ? duration : -1.0, texts[i], lens[i], err);
        if (rc != SOMNA_OK)
            return rc;
    }
    return SOMNA_OK;
}

/* Walk every record's annotation signals: record onsets (EDF+) and the
 * annotation list. */
static int read_annotations(somna_edf *e, somna_err *err)
{
    somna_edf_header *h = &e->hdr;
    int is_d = h->format == SOMNA_EDFPLUS_D || h->format == SOMNA_BDFPLUS_D;
    for (int64_t r = 0; r < h->n_records; r++) {
        const unsigned char *rec = e->data + e->header_bytes + (size_t)r * e->record_bytes;
        tal_ctx c = {e, r, 0, 0, 0.0, 0};
        for (int s = 0; s < h->n_signals; s++) {
            if (!h->signals[s].is_annotation)
                continue;
            c.timekeeping = e->plus && s == e->first_annot;
            c.n_tals = 0;
            edf_tal_cb cb = {on_tal, &c};
            size_t nbytes = (size_t)h->signals[s].samples_per_record * (size_t)e->bytes_per_sample;
            int rc = somna_edf_parse_tals(rec + e->sig_offset[s], nbytes, NULL, &cb, err);
            if (rc != SOMNA_OK) {
                if (rc == SOMNA_E_FORMAT)
                    somna_err_prefix(err, "%s: data record %lld, signal %d (%s)", e->name, (long long)r + 1, s + 1,
                                     h->signals[s].label);
                return rc;
            }
        }
        if (!e->plus)
            continue;
        if (!c.have_onset)
            return somna_fail(err, SOMNA_E_FORMAT,
                              "%s: data record %lld: signal %d (%s) has no time-keeping TAL (EDF+ needs one "
                              "per record to know when the record starts)",
                              e->name, (long long)r + 1, e->first_annot + 1, h->signals[e->first_annot].label);
        h->record_onsets[r] = c.record_onset;
        if (r > 0) {
            double prev_end = h->record_onsets[r - 1] + h->record_duration;
            double tol = 1e-7 * (1.0 + fabs(prev_end));
            if (c.record_onset < prev_end - tol)
                return somna_fail(err, SOMNA_E_FORMAT,
                                  "%s: data record %lld starts at %.7g s, before data record %lld ends (%.7g s)",
                                  e->name, (long long)r + 1, c.record_onset, (long long)r, prev_end);
            if (!is_d && c.record_onset > prev_end + tol)
                somna_warn(err,
                           "%s: EDF+C file has a gap before data record %lld (starts at %.7g s, previous ends "
                           "at %.7g s); record onsets follow the TALs",
                           e->name, (long long)r + 1, c.record_onset, prev_end);
        }
    }
    return SOMNA_OK;
}

static void populate(somna_edf *e);

/* ---- open -------------------------------------------------------------------*/

static int parse_header(somna_edf *e, somna_err *err)
{
    const unsigned char *d = e->data;
    somna_edf_header *h = &e->hdr;
    char shown[128];
    if (e->len < EDF_FIXED)
        return somna_fail(err, SOMNA_E_FORMAT, "%s: file is %zu bytes, shorter than the 256-byte EDF header%s",
                          e->name, e->len, e->len == 0 ? " (empty file)" : " (truncated)");
    int bdf;
    if (d[0] == 0xFF && memcmp(d + 1, "BIOSEMI", 7) == 0) {
        bdf = 1;
    } else if (d[0] == '0' && memcmp(d + 1, "       ", 7) == 0) {
        bdf = 0;
    } else {
        shown_field(d, 8, shown, sizeof shown);
        return somna_fail(err, SOMNA_E_FORMAT,
                          "%s: not an EDF or BDF file: version field (bytes 1-8) is '%s', expected '0' (EDF) or "
                          "0xFF 'BIOSEMI' (BDF)",
                          e->name, shown);
    }
    e->bytes_per_sample = bdf ? 3 : 2;

    warn_acc non_ascii = {0, ""}, dig_range = {0, ""};
    if (copy_field(d + 8, 80, h->patient, sizeof h->patient))
        acc_add(&non_ascii, "patient '%s'", h->patient);
    if (copy_field(d + 88, 80, h->recording, sizeof h->recording))
        acc_add(&non_ascii, "recording '%s'", h->recording);

    int64_t ns;
    int rc = field_int(e, d + 252, 4, "number of signals (header bytes 253-256)", -1, &ns, err);
    if (rc)
        return rc;
    if (ns < 1)
        return somna_fail(err, SOMNA_E_FORMAT,
                          "%s: number of signals (header bytes 253-256) is %lld; a recording needs at least 1",
                          e->name, (long long)ns);
    int64_t hbytes;
    rc = field_int(e, d + 184, 8, "number of header bytes (header bytes 185-192)", -1, &hbytes, err);
    if (rc)
        return rc;
    int64_t want = EDF_FIXED + EDF_PER_SIGNAL * ns;
    if (hbytes != want)
        return somna_fail(err, SOMNA_E_FORMAT,
                          "%s: number of header bytes is %lld, but %lld signals need 256 + 256 x %lld = %lld",
                          e->name, (long long)hbytes, (long long)ns, (long long)ns, (long long)want);
    if ((uint64_t)want > e->len)
        return somna_fail(err, SOMNA_E_FORMAT,
                          "%s: file is %zu bytes, shorter than its %lld-byte header (%lld signals): truncated",
                          e->name, e->len, (long long)want, (long long)ns);
    e->header_bytes = (size_t)want;
    h->n_signals = (int)ns;

    /* Reserved field: EDF+ / BDF+ continuity. */
    const unsigned char *res = d + 192;
    e->plus = 0;
    int discontinuous = 0;
    if (memcmp(res, "EDF+C", 5) == 0 || memcmp(res, "BDF+C", 5) == 0) {
        e->plus = 1;
    } else if (memcmp(res, "EDF+D", 5) == 0 || memcmp(res, "BDF+D", 5) == 0) {
        e->plus = 1;
        discontinuous = 1;
    }
    h->format = bdf ? (e->plus ? (discontinuous ? SOMNA_BDFPLUS_D : SOMNA_BDFPLUS_C) : SOMNA_BDF)
                    : (e->plus ? (discontinuous ? SOMNA_EDFPLUS_D : SOMNA_EDFPLUS_C) : SOMNA_EDF);

    /* Start date "dd.mm.yy" and time "hh.mm.ss". */
    int dd = two_digits(d + 168), mm = two_digits(d + 171), yy = two_digits(d + 174);
    int th = two_digits(d + 176), tm = two_digits(d + 179), ts = two_digits(d + 182);
    if (dd < 1 || dd > 31 || mm < 1 || mm > 12 || yy < 0) {
        shown_field(d + 168, 8, shown, sizeof shown);
        somna_warn(err, "%s: start date '%s' is not dd.mm.yy; start date unknown", e->name, shown);
        h->start_year = h->start_month = h->start_day = 0;
    } else {
        h->start_day = dd;
        h->start_month = mm;
        /* EDF: yy 85..99 -> 19yy, 00..84 -> 20yy (Kemp 1992 / EDF+ clipping date). */
        h->start_year = yy >= 85 ? 1900 + yy : 2000 + yy;
        /* EDF+ carries the 4-digit year in "Startdate dd-MMM-yyyy". */
        if (e->plus && strncmp(h->recording, "Startdate ", 10) == 0 && strlen(h->recording) >= 21) {
            const unsigned char *y = (const unsigned char *)h->recording + 17;
            int y1 = two_digits(y), y2 = two_digits(y + 2);
            if (y1 >= 0 && y2 >= 0 && h->recording[16] == '-' && y1 * 100 + y2 >= 1985 &&
                (y1 * 100 + y2) % 100 == yy)
                h->start_year = y1 * 100 + y2;
        }
    }
    if (th < 0 || th > 23 || tm < 0 || tm > 59 || ts < 0 || ts > 60) {
        shown_field(d + 176, 8, shown, sizeof shown);
        somna_warn(err, "%s: start time '%s' is not hh.mm.ss; start time unknown", e->name, shown);
        h->start_hour = h->start_minute = h->start_second = 0;
        h->start_year = h->start_month = h->start_day = 0;
    } else {
        h->start_hour = th;
        h->start_minute = tm;
        h->start_second = ts;
    }

    int64_t nrec_declared;
    rc = field_int(e, d + 236, 8, "number of data records (header bytes 237-244)", -1, &nrec_declared, err);
    if (rc)
        return rc;
    if (nrec_declared < -1)
        return somna_fail(err, SOMNA_E_FORMAT,
                          "%s: number of data records (header bytes 237-244) is %lld; must be >= 0 (or -1 while "
                          "recording)",
                          e->name, (long long)nrec_declared);
    rc = field_double(e, d + 244, 8, "duration of a data record (header bytes 245-252)", -1, &h->record_duration,
                      err);
    if (rc)
        return rc;
    if (h->record_duration < 0)
        return somna_fail(err, SOMNA_E_FORMAT, "%s: duration of a data record is %g s; must be >= 0", e->name,
                          h->record_duration);

    /* Per-signal fields: allocation bounded by the 4-digit signal count. */
    size_t n = (size_t)ns;
    h->signals = calloc(n, sizeof *h->signals);
    e->sig_offset = calloc(n, sizeof *e->sig_offset);
    e->bitvalue = calloc(n, sizeof *e->bitvalue);
    e->dig_offset = calloc(n, sizeof *e->dig_offset);
    if (!h->signals || !e->sig_offset || !e->bitvalue || !e->dig_offset)
        return somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory for %lld signal headers", e->name, (long long)ns);
    const unsigned char *sh = d + EDF_FIXED;
#define SIGF(off, width, i) (sh + (size_t)(off) * n + (size_t)(i) * (width))
    /* Field block offsets (in units of n signals): label 16, transducer 80,
     * unit 8, pmin 8, pmax 8, dmin 8, dmax 8, prefilter 80, samples 8, reserved 32. */
    const size_t o_label = 0, o_trans = 16, o_unit = 96, o_pmin = 104, o_pmax = 112, o_dmin = 120, o_dmax = 128,
                 o_pref = 136, o_spr = 216;
    int32_t dig_lo = bdf ? -8388608 : -32768, dig_hi = bdf ? 8388607 : 32767;
    uint64_t record_bytes = 0;
    e->first_annot = -1;
    for (size_t i = 0; i < n; i++) {
        somna_edf_signal *s = &h->signals[i];
        int si = (int)i;
        if (copy_field(SIGF(o_label, 16, i), 16, s->label, sizeof s->label))
            acc_add(&non_ascii, "signal %d label '%s'", si + 1, s->label);
        if (copy_field(SIGF(o_trans, 80, i), 80, s->transducer, sizeof s->transducer))
            acc_add(&non_ascii, "signal %d transducer '%s'", si + 1, s->transducer);
        if (copy_field(SIGF(o_unit, 8, i), 8, s->unit, sizeof s->unit))
            acc_add(&non_ascii, "signal %d unit '%s'", si + 1, s->unit);
        if (copy_field(SIGF(o_pref, 80, i), 80, s->prefilter, sizeof s->prefilter))
            acc_add(&non_ascii, "signal %d prefiltering '%s'", si + 1, s->prefilter);
        s->is_annotation = is_annotation_label(s->label);
        if (s->is_annotation && e->first_annot < 0)
            e->first_annot = si;

        int64_t dmin, dmax, spr;
        if ((rc = field_double(e, SIGF(o_pmin, 8, i), 8, "physical minimum", si, &s->phys_min, err)) ||
            (rc = field_double(e, SIGF(o_pmax, 8, i), 8, "physical maximum", si, &s->phys_max, err)) ||
            (rc = field_int(e, SIGF(o_dmin, 8, i), 8, "digital minimum", si, &dmin, err)) ||
            (rc = field_int(e, SIGF(o_dmax, 8, i), 8, "digital maximum", si, &dmax, err)) ||
            (rc = field_int(e, SIGF(o_spr, 8, i), 8, "number of samples per data record", si, &spr, err)))
            return rc;
        char who[64];
        sig_name(e, si, who, sizeof who);
        if (spr < 1)
            return somna_fail(err, SOMNA_E_FORMAT, "%s: %s: number of samples per data record is %lld; must be >= 1",
                              e->name, who, (long long)spr);
        if (spr > INT32_MAX)
            return somna_fail(err, SOMNA_E_FORMAT, "%s: %s: number of samples per data record %lld is absurd",
                              e->name, who, (long long)spr);
        s->samples_per_record = (int32_t)spr;
        e->sig_offset[i] = (size_t)record_bytes;
        record_bytes += (uint64_t)spr * (uint64_t)e->bytes_per_sample;
        if (s->is_annotation)
            continue; /* calibration of annotation signals is meaningless */
        /* Real files (e.g. the DREAMS PSG excerpts) declare digital limits
         * beyond what the sample width can hold; the samples are still
         * decodable and the calibration is what the writer meant. */
        if (dmin < dig_lo || dmax > dig_hi)
            acc_add(&dig_range, "%s %lld..%lld", who, (long long)dmin, (long long)dmax);
        if (dmin < INT32_MIN / 2 || dmax > INT32_MAX / 2)
            return somna_fail(err, SOMNA_E_FORMAT, "%s: %s: digital range %lld..%lld is absurd", e->name, who,
                              (long long)dmin, (long long)dmax);
        if (dmin >= dmax)
            return somna_fail(err, SOMNA_E_FORMAT, "%s: %s: digital minimum %lld >= digital maximum %lld", e->name,
                              who, (long long)dmin, (long long)dmax);
        if (s->phys_min == s->phys_max)
            return somna_fail(err, SOMNA_E_FORMAT, "%s: %s: physical minimum %g == physical maximum %g", e->name,
                              who, s->phys_min, s->phys_max);
        s->dig_min = (int32_t)dmin;
        s->dig_max = (int32_t)dmax;
        e->bitvalue[i] = (s->phys_max - s->phys_min) / (double)(dmax - dmin);
        e->dig_offset[i] = s->phys_max / e->bitvalue[i] - (double)dmax;
        if (!isfinite(e->bitvalue[i]) || e->bitvalue[i] == 0 || !isfinite(e->dig_offset[i]))
            return somna_fail(err, SOMNA_E_FORMAT,
                              "%s: %s: physical range %g..%g over digital %lld..%lld cannot be calibrated "
                              "(overflow)",
                              e->name, who, s->phys_min, s->phys_max, (long long)dmin, (long long)dmax);
        s->gain = e->bitvalue[i];
        s->offset = s->phys_max - s->gain * (double)dmax;
    }
#undef SIGF
    acc_flush(&non_ascii, err, e->name, "header text with non-ASCII bytes, kept as they are");
    if (dig_range.n) {
        char what[128];
        snprintf(what, sizeof what, "digital range beyond the %s range %d..%d, calibration used as written",
                 bdf ? "24-bit BDF" : "16-bit EDF", (int)dig_lo, (int)dig_hi);
        acc_flush(&dig_range, err, e->name, what);
    }
    if (e->plus && e->first_annot < 0) {
        if (discontinuous)
            return somna_fail(err, SOMNA_E_FORMAT,
                              "%s: %s file has no '%s Annotations' signal, so its record onsets are unknown",
                              e->name, somna_edf_format_name(h->format), bdf ? "BDF" : "EDF");
        somna_warn(err, "%s: %s file has no '%s Annotations' signal; read as plain %s", e->name,
                   somna_edf_format_name(h->format), bdf ? "BDF" : "EDF", bdf ? "BDF" : "EDF");
        e->plus = 0;
        h->format = bdf ? SOMNA_BDF : SOMNA_EDF;
    }
    e->record_bytes = (size_t)record_bytes;

    /* Number of records: the file size decides (leniency for writers that
     * crashed before fixing the header, or wrote -1 while recording). */
    uint64_t data_bytes = e->len - e->header_bytes;
    uint64_t complete = data_bytes / record_bytes;
    uint64_t stray = data_bytes % record_bytes;
    if (complete == 0 && data_bytes > 0)
        return somna_fail(err, SOMNA_E_FORMAT,
                          "%s: file ends inside the first data record (%llu data bytes, a record is %llu bytes): "
                          "truncated",
                          e->name, (unsigned long long)data_bytes, (unsigned long long)record_bytes);
    if (complete == 0 && nrec_declared > 0)
        return somna_fail(err, SOMNA_E_FORMAT,
                          "%s: header declares %lld data records but the file ends after the header: truncated",
                          e->name, (long long)nrec_declared);
    if (nrec_declared == -1)
        somna_warn(err, "%s: number of data records is -1 (file not closed by its writer); using the %llu "
                        "complete records the file holds",
                   e->name, (unsigned long long)complete);
    else if ((uint64_t)nrec_declared != complete)
        somna_warn(err, "%s: header declares %lld data records but the file holds %llu complete records; reading %llu",
                   e->name, (long long)nrec_declared, (unsigned long long)complete, (unsigned long long)complete);
    if (stray)
        somna_warn(err, "%s: %llu bytes after the last complete data record ignored (truncated record)", e->name,
                   (unsigned long long)stray);
    h->n_records = (int64_t)complete;

    for (int i = 0; i < h->n_signals; i++) {
        somna_edf_signal *s = &h->signals[i];
        s->fs = h->record_duration > 0 ? (double)s->samples_per_record / h->record_duration : 0.0;
        s->n_samples = h->signals[i].is_annotation ? 0 : (int64_t)s->samples_per_record * h->n_records;
    }
    h->record_onsets = malloc((complete ? complete : 1) * sizeof *h->record_onsets);
    if (!h->record_onsets)
        return somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory for %llu record onsets", e->name,
                          (unsigned long long)complete);
    for (int64_t r = 0; r < h->n_records; r++)
        h->record_onsets[r] = (double)r * h->record_duration;
    if (e->first_annot >= 0) {
        /* The TAL walk touches every record, i.e. every page: fault them in
         * one call rather than one fault per page. */
        populate(e);
        rc = read_annotations(e, err);
        if (rc)
            return rc;
    }
    if (h->n_records > 0) {
        double first = h->record_onsets[0];
        h->start_subsecond = e->plus ? first - floor(first) : 0.0;
        h->duration_s = h->record_onsets[h->n_records - 1] + h->record_duration - first;
    }
    return SOMNA_OK;
}

static int open_common(somna_edf *e, somna_edf **out, somna_err *err)
{
    int rc = parse_header(e, err);
    if (rc != SOMNA_OK) {
        somna_edf_close(e);
        *out = NULL;
        return rc;
    }
    *out = e;
    return SOMNA_OK;
}

int somna_edf_open(const char *path, somna_edf **out, somna_err *err)
{
    *out = NULL;
    somna_edf *e = calloc(1, sizeof *e);
    if (!e)
        return somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory", path);
    e->name = strdup(path);
    if (!e->name) {
        free(e);
        return somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory", path);
    }
    int rc = somna_mmap_open(path, &e->map, err);
    if (rc != SOMNA_OK) {
        somna_edf_close(e);
        return rc;
    }
    e->data = e->map.data;
    e->len = e->map.len;
    return open_common(e, out, err);
}

int somna_edf_open_buffer(const void *data, size_t len, const char *name, somna_edf **out, somna_err *err)
{
    *out = NULL;
    if (!name)
        name = "(buffer)";
    somna_edf *e = calloc(1, sizeof *e);
    if (!e)
        return somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory", name);
    e->name = strdup(name);
    if (!e->name) {
        free(e);
        return somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory", name);
    }
    e->data = data;
    e->len = data ? len : 0;
    return open_common(e, out, err);
}

void somna_edf_close(somna_edf *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n_ann; i++)
        free(e->ann[i].text);
    free(e->ann);
    free(e->hdr.signals);
    free(e->hdr.record_onsets);
    free(e->sig_offset);
    free(e->bitvalue);
    free(e->dig_offset);
    somna_mmap_close(&e->map);
    free(e->name);
    free(e);
}

const somna_edf_header *somna_edf_get_header(const somna_edf *edf)
{
    return &edf->hdr;
}

int somna_edf_find_signal(const somna_edf *edf, const char *label)
{
    char want[128];
    somna_strlcpy(want, label, sizeof want);
    somna_trim(want);
    for (int i = 0; i < edf->hdr.n_signals; i++)
        if (somna_strieq(edf->hdr.signals[i].label, want))
            return i;
    return -1;
}

const somna_edf_annotation *somna_edf_annotations(const somna_edf *edf, size_t *count)
{
    *count = edf->n_ann;
    return edf->ann;
}

/* ---- sample decoding --------------------------------------------------------*/

static int check_request(const somna_edf *e, int sig, int64_t first, int64_t n, const void *out, somna_err *err)
{
    if (sig < 0 || sig >= e->hdr.n_signals)
        return somna_fail(err, SOMNA_E_NOTFOUND, "%s: no signal %d (the file has %d)", e->name, sig + 1,
                          e->hdr.n_signals);
    const somna_edf_signal *s = &e->hdr.signals[sig];
    if (s->is_annotation)
        return somna_fail(err, SOMNA_E_ARG, "%s: signal %d (%s) is an annotation signal, not samples", e->name,
                          sig + 1, s->label);
    if (first < 0 || n < 0 || first > s->n_samples || n > s->n_samples - first)
        return somna_fail(err, SOMNA_E_ARG, "%s: signal %d (%s): samples %lld..%lld requested, the signal has %lld",
                          e->name, sig + 1, s->label, (long long)first, (long long)(first + n),
                          (long long)s->n_samples);
    if (n > 0 && !out)
        return somna_fail(err, SOMNA_E_ARG, "%s: no output buffer", e->name);
    return SOMNA_OK;
}

/* Before the first sample read, map the whole file's pages in one call
 * instead of one page fault per 4 KiB: samples of every signal are spread
 * over every record, so a full read touches every page anyway.  Only done
 * for files we mapped (and a no-op where MADV_POPULATE_READ is unknown). */
static void populate(somna_edf *e)
{
    if (e->populated)
        return;
    e->populated = 1;
#ifdef MADV_POPULATE_READ
    if (e->map.data)
        (void)madvise((void *)e->map.data, e->map.len, MADV_POPULATE_READ);
#endif
}

static inline int32_t edf_s16(const unsigned char *p)
{
    return (int32_t)(int16_t)(uint16_t)((unsigned)p[0] | ((unsigned)p[1] << 8));
}

static inline int32_t bdf_s24(const unsigned char *p)
{
    uint32_t v = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16);
    return (int32_t)(v ^ 0x800000u) - 0x800000;
}

/* Blocks of 8 with a fixed trip count: GCC's -O2 cost model vectorises
 * these (int16 -> double conversion and multiply-add, 2-4 lanes wide) where
 * it leaves a loop of unknown length scalar. */
static void decode16(const unsigned char *p, int64_t n, double bv, double off, double *o)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        int16_t v[8];
        memcpy(v, p + 2 * i, sizeof v); /* little-endian host (x86-64, arm64) */
        for (int j = 0; j < 8; j++)
            o[i + j] = bv * (off + (double)v[j]);
    }
    for (; i < n; i++)
        o[i] = bv * (off + (double)edf_s16(p + 2 * i));
}

/* Where sample `at` of a signal is stored, and how many samples from there
 * to the end of its data record (at most `left`): reads walk the records
 * one run of a signal at a time. */
static const unsigned char *sample_run(const somna_edf *e, int sig, int64_t at, int64_t left, int64_t *take)
{
    const int64_t spr = e->hdr.signals[sig].samples_per_record, r = at / spr, k = at % spr;
    *take = spr - k < left ? spr - k : left;
    return e->data + e->header_bytes + (size_t)r * e->record_bytes + e->sig_offset[sig] +
           (size_t)k * (size_t)e->bytes_per_sample;
}

int somna_edf_read_physical(somna_edf *e, int sig, int64_t first, int64_t n, double *out, somna_err *err)
{
    int rc = check_request(e, sig, first, n, out, err);
    if (rc)
        return rc;
    populate(e);
    const double bv = e->bitvalue[sig], off = e->dig_offset[sig];
    for (int64_t done = 0, take; done < n; done += take) {
        const unsigned char *p = sample_run(e, sig, first + done, n - done, &take);
        double *o = out + done;
        if (e->bytes_per_sample == 2)
            decode16(p, take, bv, off, o);
        else
            for (int64_t i = 0; i < take; i++)
                o[i] = bv * (off + (double)bdf_s24(p + 3 * i));
    }
    return SOMNA_OK;
}

int somna_edf_read_digital(somna_edf *e, int sig, int64_t first, int64_t n, int32_t *out, somna_err *err)
{
    int rc = check_request(e, sig, first, n, out, err);
    if (rc)
        return rc;
    populate(e);
    for (int64_t done = 0, take; done < n; done += take) {
        const unsigned char *p = sample_run(e, sig, first + done, n - done, &take);
        int32_t *o = out + done;
        if (e->bytes_per_sample == 2)
            for (int64_t i = 0; i < take; i++)
                o[i] = edf_s16(p + 2 * i);
        else
            for (int64_t i = 0; i < take; i++)
                o[i] = bdf_s24(p + 3 * i);
    }
    return SOMNA_OK;
}

int somna_edf_read_range(somna_edf *e, int sig, double t0, double t1, double **out, int64_t *n, somna_err *err)
{
    *out = NULL;
    *n = 0;
    int rc = check_request(e, sig, 0, 0, NULL, err);
    if (rc)
        return rc;
    if (!(t0 <= t1) || !isfinite(t0) || !isfinite(t1))
        return somna_fail(err, SOMNA_E_ARG, "%s: time range [%g, %g) is empty or not finite", e->name, t0, t1);
    const somna_edf_header *h = &e->hdr;
    const int64_t spr = h->signals[sig].samples_per_record;
    const double dt = h->record_duration / (double)spr;
    /* Sample k of record r lies at record_onsets[r] + k*dt (EDF+D keeps its gaps). */
    int64_t count = 0;
    for (int pass = 0; pass < 2; pass++) {
        int64_t w = 0;
        for (int64_t r = 0; r < h->n_records; r++) {
            double on = h->record_onsets[r];
            if (on + h->record_duration <= t0 || on >= t1)
                continue;
            int64_t k0 = 0, k1 = spr;
            if (dt > 0) {
                double a = ceil((t0 - on) / dt - 1e-9), b = ceil((t1 - on) / dt - 1e-9);
                k0 = a < 0 ? 0 : (a > (double)spr ? spr : (int64_t)a);
                k1 = b < 0 ? 0 : (b > (double)spr ? spr : (int64_t)b);
            }
            if (k1 <= k0)
                continue;
            if (pass == 1) {
                rc = somna_edf_read_physical(e, sig, r * spr + k0, k1 - k0, *out + w, err);
                if (rc) {
                    free(*out);
                    *out = NULL;
                    return rc;
                }
            }
            w += k1 - k0;
        }
        if (pass == 0) {
            count = w;
            *out = malloc((size_t)(count ? count : 1) * sizeof **out);
            if (!*out)
                return somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory for %lld samples", e->name,
                                  (long long)count);
        }
    }
    *n = count;
    return SOMNA_OK;
}
