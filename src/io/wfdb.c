/* somna — WFDB records: header parsing and signal decoding.
 *
 * Source: WFDB Programmer's Guide (G. Moody, PhysioNet), header(5) and
 * signal(5) man pages: record line, signal specification lines, defaults
 * (250 Hz, gain 200 adu/unit, baseline = ADC zero, units mV, ADC resolution
 * by format) and the bit layouts of formats 8, 16, 24, 32, 61, 80, 160, 212,
 * 310 and 311.
 *
 * Design: signal files are memory-mapped once at open; every sample of a
 * group's interleaved stream is addressable in O(1) (except format 8, whose
 * first differences must be summed from the start), so reading any range is
 * a tight loop over the mapped bytes with the format switch hoisted out.
 */
#include "somna/wfdb.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "somna/fileio.h"
#include "somna/parse.h"

/* Headers are a few KB (256 signals take ~15 KB); anything beyond this is
 * not a header. */
#define WFDB_HEADER_MAX ((size_t)1 << 20)
/* Sample counts beyond 2^53 cannot be represented exactly as time. */
#define WFDB_MAX_SAMPLES ((int64_t)1 << 53)
#define WFDB_MAX_SPF 1000000

typedef struct wfdb_group {
    somna_mmap map;
    int first_sig;
    int n_sigs;
    int format;
    int frame_samples;      /* samples per frame in this group's stream */
    int64_t offset;         /* byte offset of the first sample */
    int64_t frames_avail;   /* complete frames the file holds */
} wfdb_group;

typedef struct wfdb_impl {
    somna_wfdb_record pub;  /* first member: the public view */
    wfdb_group *groups;
    int n_groups;
    int *sig_group;         /* group index of each signal */
    int *sig_pos;           /* position of the signal's first sample in a frame */
} wfdb_impl;

static const wfdb_impl *impl_of(const somna_wfdb_record *rec)
{
    return (const wfdb_impl *)(const void *)rec;
}

/* ---- small text helpers --------------------------------------------------*/

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Next whitespace-delimited token of [*p, end); returns its length (0 at
 * the end of the line) and advances *p past it. */
static size_t next_token(const char **p, const char *end, const char **tok)
{
    const char *s = *p;
    while (s < end && is_ws(*s))
        s++;
    const char *t = s;
    while (s < end && !is_ws(*s))
        s++;
    *tok = t;
    *p = s;
    return (size_t)(s - t);
}

static int format_supported(int fmt)
{
    switch (fmt) {
    case 0: case 8: case 16: case 24: case 32: case 61: case 80: case 160: case 212: case 310: case 311:
        return 1;
    default:
        return 0;
    }
}

/* Default ADC resolution by format when the header omits it (WFDB). */
static int default_adcres(int fmt)
{
    switch (fmt) {
    case 80: return 8;
    case 160: return 16;
    case 212: return 12;
    case 310:
    case 311: return 10;
    default: return 12;
    }
}

/* Samples a group stream of `bytes` bytes holds, whole samples only. */
static int64_t stream_samples(int fmt, int64_t bytes)
{
    switch (fmt) {
    case 8:
    case 80: return bytes;
    case 16:
    case 61:
    case 160: return bytes / 2;
    case 24: return bytes / 3;
    case 32: return bytes / 4;
    case 212: return bytes / 3 * 2 + (bytes % 3 >= 2 ? 1 : 0);
    case 310: return bytes / 4 * 3 + (bytes % 4 >= 2 ? 1 : 0);
    case 311: return bytes / 4 * 3 + (bytes % 4 >= 2 ? 1 : 0) + (bytes % 4 == 3 ? 1 : 0);
    default: return 0;
    }
}

/* Parse an integer field [s, s+len) into *out within [lo, hi]. */
static int field_int(const char *path, int line, const char *field, const char *s, size_t len, int64_t lo,
                     int64_t hi, int64_t *out, somna_err *err)
{
    int64_t v;
    if (somna_parse_int64(s, len, &v) != 0 || v < lo || v > hi)
        return somna_fail(err, SOMNA_E_FORMAT, "%s:%d: %s is '%.*s', expected an integer in [%lld, %lld]", path,
                          line, field, (int)(len > 40 ? 40 : len), s, (long long)lo, (long long)hi);
    *out = v;
    return SOMNA_OK;
}

static int field_double(const char *path, int line, const char *field, const char *s, size_t len, double *out,
                        somna_err *err)
{
    if (somna_parse_double(s, len, out) != 0)
        return somna_fail(err, SOMNA_E_FORMAT, "%s:%d: %s is '%.*s', not a number", path, line, field,
                          (int)(len > 40 ? 40 : len), s);
    return SOMNA_OK;
}

/* ---- record line ---------------------------------------------------------*/

static int parse_record_line(somna_wfdb_record *r, const char *path, int ln, const char *p, const char *end,
                             int64_t *nsig_out, somna_err *err)
{
    const char *tok;
    size_t len = next_token(&p, end, &tok);
    const char *slash = memchr(tok, '/', len);
    if (slash)
        return somna_fail(err, SOMNA_E_UNSUPPORTED,
                          "%s:%d: multi-segment record '%.*s' is not supported (only single-segment records)",
                          path, ln, (int)(len > 80 ? 80 : len), tok);
    *nsig_out = 0;
    r->fs = 250.0;
    r->counter_fs = 0;
    r->base_counter = 0;
    r->n_samples = 0;
    if ((len = next_token(&p, end, &tok)) == 0)
        return SOMNA_OK;
    int rc = field_int(path, ln, "number of signals", tok, len, 0, INT_MAX, nsig_out, err);
    if (rc)
        return rc;
    if ((len = next_token(&p, end, &tok)) == 0) {
        r->counter_fs = r->fs;
        return SOMNA_OK;
    }
    /* fs[/counter_fs[(base_counter)]] */
    size_t flen = 0;
    while (flen < len && tok[flen] != '/')
        flen++;
    rc = field_double(path, ln, "sampling frequency", tok, flen, &r->fs, err);
    if (rc)
        return rc;
    if (!(r->fs > 0) || !isfinite(r->fs) || r->fs > 1e12)
        return somna_fail(err, SOMNA_E_FORMAT, "%s:%d: sampling frequency %g must be positive", path, ln, r->fs);
    r->counter_fs = r->fs;
    if (flen < len) {
        const char *c = tok + flen + 1;
        size_t clen = 0;
        while (flen + 1 + clen < len && c[clen] != '(')
            clen++;
        double cf;
        rc = field_double(path, ln, "counter frequency", c, clen, &cf, err);
        if (rc)
            return rc;
        if (cf > 0)
            r->counter_fs = cf;
        if (flen + 1 + clen < len) {
            const char *b = c + clen + 1;
            size_t blen = (size_t)(tok + len - b);
            if (blen == 0 || b[blen - 1] != ')')
                return somna_fail(err, SOMNA_E_FORMAT, "%s:%d: base counter value '%.*s' lacks its ')'", path, ln,
                                  (int)(len > 40 ? 40 : len), tok);
            rc = field_double(path, ln, "base counter value", b, blen - 1, &r->base_counter, err);
            if (rc)
                return rc;
        }
    }
    if ((len = next_token(&p, end, &tok)) == 0)
        return SOMNA_OK;
    rc = field_int(path, ln, "number of samples per signal", tok, len, 0, WFDB_MAX_SAMPLES, &r->n_samples, err);
    if (rc)
        return rc;
    /* base time [base date]: time is H:M:S[.s] (or M:S), date DD/MM/YYYY */
    if ((len = next_token(&p, end, &tok)) == 0)
        return SOMNA_OK;
    for (size_t i = 0; i < len; i++)
        if (!((tok[i] >= '0' && tok[i] <= '9') || tok[i] == ':' || tok[i] == '.'))
            return somna_fail(err, SOMNA_E_FORMAT, "%s:%d: base time '%.*s' is not HH:MM:SS", path, ln,
                              (int)(len > 40 ? 40 : len), tok);
    if (len >= sizeof r->base_time || !memchr(tok, ':', len))
        return somna_fail(err, SOMNA_E_FORMAT, "%s:%d: base time '%.*s' is not HH:MM:SS", path, ln,
                          (int)(len > 40 ? 40 : len), tok);
    memcpy(r->base_time, tok, len);
    r->base_time[len] = '\0';
    if ((len = next_token(&p, end, &tok)) == 0)
        return SOMNA_OK;
    int slashes = 0;
    for (size_t i = 0; i < len; i++) {
        if (tok[i] == '/')
            slashes++;
        else if (tok[i] < '0' || tok[i] > '9')
            slashes = 99;
    }
    if (slashes != 2 || len >= sizeof r->base_date)
        return somna_fail(err, SOMNA_E_FORMAT, "%s:%d: base date '%.*s' is not DD/MM/YYYY", path, ln,
                          (int)(len > 40 ? 40 : len), tok);
    memcpy(r->base_date, tok, len);
    r->base_date[len] = '\0';
    return SOMNA_OK;
}

/* ---- signal specification line -------------------------------------------*/

static int parse_signal_line(somna_wfdb_signal *sg, int idx, const char *recname, const char *path, int ln,
                             const char *p, const char *end, somna_err *err)
{
    const char *tok;
    size_t len = next_token(&p, end, &tok);
    if (len >= sizeof sg->file)
        return somna_fail(err, SOMNA_E_FORMAT, "%s:%d: signal %d: file name is longer than %zu bytes", path, ln,
                          idx, sizeof sg->file - 1);
    memcpy(sg->file, tok, len);
    sg->file[len] = '\0';

    if ((len = next_token(&p, end, &tok)) == 0)
        return somna_fail(err, SOMNA_E_FORMAT, "%s:%d: signal %d: format field is missing", path, ln, idx);
    /* format[xspf][:skew][+offset] */
    size_t i = 0;
    while (i < len && tok[i] >= '0' && tok[i] <= '9')
        i++;
    int64_t v;
    int rc = field_int(path, ln, "format", tok, i, 0, 100000, &v, err);
    if (rc) {
        somna_err_prefix(err, "signal %d", idx);
        return rc;
    }
    sg->format = (int)v;
    sg->samples_per_frame = 1;
    sg->skew = 0;
    sg->byte_offset = 0;
    while (i < len) {
        char m = tok[i++];
        size_t j = i;
        while (j < len && tok[j] >= '0' && tok[j] <= '9')
            j++;
        if (m == 'x') {
            rc = field_int(path, ln, "samples per frame", tok + i, j - i, 1, WFDB_MAX_SPF, &v, err);
            sg->samples_per_frame = (int)v;
        } else if (m == ':') {
            rc = field_int(path, ln, "skew", tok + i, j - i, 0, INT_MAX, &v, err);
            sg->skew = (int)v;
        } else if (m == '+') {
            rc = field_int(path, ln, "byte offset", tok + i, j - i, 0, INT64_MAX / 2, &v, err);
            sg->byte_offset = v;
        } else {
            return somna_fail(err, SOMNA_E_FORMAT,
                              "%s:%d: signal %d: format field '%.*s' has '%c' where x, : or + was expected", path,
                              ln, idx, (int)(len > 40 ? 40 : len), tok, m);
        }
        if (rc) {
            somna_err_prefix(err, "signal %d", idx);
            return rc;
        }
        i = j;
    }
    if (sg->format == 508 || sg->format == 516 || sg->format == 524)
        return somna_fail(err, SOMNA_E_UNSUPPORTED, "%s:%d: signal %d: format %d (FLAC-compressed) is not supported",
                          path, ln, idx, sg->format);
    if (!format_supported(sg->format))
        return somna_fail(err, SOMNA_E_UNSUPPORTED, "%s:%d: signal %d: unknown signal format %d", path, ln, idx,
                          sg->format);

    /* gain[(baseline)][/units] */
    sg->gain = 0;
    int have_baseline = 0;
    somna_strlcpy(sg->units, "mV", sizeof sg->units);
    if ((len = next_token(&p, end, &tok)) != 0) {
        size_t g = 0;
        while (g < len && tok[g] != '(' && tok[g] != '/')
            g++;
        rc = field_double(path, ln, "gain", tok, g, &sg->gain, err);
        if (rc) {
            somna_err_prefix(err, "signal %d", idx);
            return rc;
        }
        if (g < len && tok[g] == '(') {
            size_t b = g + 1, e = b;
            while (e < len && tok[e] != ')')
                e++;
            if (e == len)
                return somna_fail(err, SOMNA_E_FORMAT, "%s:%d: signal %d: baseline in '%.*s' lacks its ')'", path,
                                  ln, idx, (int)(len > 40 ? 40 : len), tok);
            rc = field_int(path, ln, "baseline", tok + b, e - b, INT32_MIN, INT32_MAX, &v, err);
            if (rc) {
                somna_err_prefix(err, "signal %d", idx);
                return rc;
            }
            sg->baseline = (int)v;
            have_baseline = 1;
            g = e + 1;
        }
        if (g < len) {
            if (tok[g] != '/')
                return somna_fail(err, SOMNA_E_FORMAT, "%s:%d: signal %d: gain field '%.*s' has junk after the gain",
                                  path, ln, idx, (int)(len > 40 ? 40 : len), tok);
            size_t ul = len - g - 1;
            if (ul > 0) {
                if (ul >= sizeof sg->units)
                    return somna_fail(err, SOMNA_E_FORMAT, "%s:%d: signal %d: units are longer than %zu bytes", path,
                                      ln, idx, sizeof sg->units - 1);
                memcpy(sg->units, tok + g + 1, ul);
                sg->units[ul] = '\0';
            }
        }
    }
    /* WFDB: a gain of 0 means "uncalibrated"; rdsamp -p then uses 200. */
    if (sg->gain == 0)
        sg->gain = 200.0;

    static const char *const names[] = {"ADC resolution", "ADC zero", "initial value", "checksum", "block size"};
    int64_t vals[5];
    int have[5] = {0, 0, 0, 0, 0};
    for (int f = 0; f < 5; f++) {
        if ((len = next_token(&p, end, &tok)) == 0)
            break;
        rc = field_int(path, ln, names[f], tok, len, f == 0 || f == 4 ? 0 : INT32_MIN, INT32_MAX, &vals[f], err);
        if (rc) {
            somna_err_prefix(err, "signal %d", idx);
            return rc;
        }
        have[f] = 1;
    }
    sg->adc_resolution = have[0] ? (int)vals[0] : default_adcres(sg->format);
    sg->adc_zero = have[1] ? (int)vals[1] : 0;
    if (!have_baseline)
        sg->baseline = sg->adc_zero;
    sg->initial_value = have[2] ? (int)vals[2] : sg->adc_zero;
    sg->checksum = have[3] ? (int)vals[3] : 0;
    sg->block_size = have[4] ? (int)vals[4] : 0;
    /* Description: the rest of the line. */
    while (p < end && is_ws(*p))
        p++;
    while (end > p && is_ws(end[-1]))
        end--;
    if (have[4] && p < end) {
        size_t dl = (size_t)(end - p);
        if (dl >= sizeof sg->description)
            dl = sizeof sg->description - 1;
        memcpy(sg->description, p, dl);
        sg->description[dl] = '\0';
    } else {
        snprintf(sg->description, sizeof sg->description, "record %s, signal %d", recname, idx);
    }
    return SOMNA_OK;
}

/* ---- open ----------------------------------------------------------------*/

static void split_record(const char *record, somna_wfdb_record *r)
{
    const char *slash = strrchr(record, '/');
    const char *base = slash ? slash + 1 : record;
    if (slash) {
        size_t dl = (size_t)(slash - record);
        if (dl == 0)
            dl = 1; /* "/100" lives in "/" */
        if (dl >= sizeof r->dir)
            dl = sizeof r->dir - 1;
        memcpy(r->dir, record, dl);
        r->dir[dl] = '\0';
    } else {
        somna_strlcpy(r->dir, ".", sizeof r->dir);
    }
    somna_strlcpy(r->name, base, sizeof r->name);
    size_t nl = strlen(r->name);
    if (nl > 4 && strcmp(r->name + nl - 4, ".hea") == 0)
        r->name[nl - 4] = '\0';
}

void somna_wfdb_close(somna_wfdb_record *rec)
{
    if (!rec)
        return;
    wfdb_impl *im = (wfdb_impl *)(void *)rec;
    for (int g = 0; g < im->n_groups; g++)
        somna_mmap_close(&im->groups[g].map);
    free(im->groups);
    free(im->sig_group);
    free(im->sig_pos);
    free(rec->signals);
    free(rec->info);
    free(im);
}

static int append_info(somna_wfdb_record *r, size_t *cap, size_t *used, const char *s, size_t len)
{
    size_t need = *used + len + 2;
    if (need > *cap) {
        size_t nc = *cap ? *cap * 2 : 256;
        while (nc < need)
            nc *= 2;
        char *n = realloc(r->info, nc);
        if (!n)
            return -1;
        r->info = n;
        *cap = nc;
    }
    if (*used > 0)
        r->info[(*used)++] = '\n';
    memcpy(r->info + *used, s, len);
    *used += len;
    r->info[*used] = '\0';
    return 0;
}

static int cmp_signal_file(const void *a, const void *b, void *ctx)
{
    const somna_wfdb_signal *sig = ctx;
    return strcmp(sig[*(const int *)a].file, sig[*(const int *)b].file);
}

static int open_groups(wfdb_impl *im, const char *hea, somna_err *err)
{
    somna_wfdb_record *r = &im->pub;
    int ns = r->n_signals;
    im->sig_group = calloc((size_t)(ns ? ns : 1), sizeof(int));
    im->sig_pos = calloc((size_t)(ns ? ns : 1), sizeof(int));
    im->groups = calloc((size_t)(ns ? ns : 1), sizeof(wfdb_group));
    if (!im->sig_group || !im->sig_pos || !im->groups)
        return somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory", hea);
    for (int s = 0; s < ns; s++) {
        somna_wfdb_signal *sg = &r->signals[s];
        int new_group = s == 0 || strcmp(sg->file, r->signals[s - 1].file) != 0;
        if (new_group) {
            wfdb_group *g = &im->groups[im->n_groups++];
            g->first_sig = s;
            g->format = sg->format;
            g->offset = sg->byte_offset;
        } else {
            const somna_wfdb_signal *pv = &r->signals[s - 1];
            if (sg->format != pv->format || sg->block_size != pv->block_size)
                return somna_fail(err, SOMNA_E_FORMAT,
                                  "%s: signals %d and %d share file %s but differ in format or block size", hea, s - 1,
                                  s, sg->file);
        }
        wfdb_group *g = &im->groups[im->n_groups - 1];
        im->sig_group[s] = im->n_groups - 1;
        im->sig_pos[s] = g->frame_samples;
        if (g->frame_samples > INT_MAX - sg->samples_per_frame)
            return somna_fail(err, SOMNA_E_FORMAT, "%s: signal %d: frame is too large", hea, s);
        g->frame_samples += sg->samples_per_frame;
        g->n_sigs++;
    }
    /* A file named again by a later, non-adjacent signal would be decoded
     * as two streams: refuse.  Sorting the group file names keeps this
     * O(n log n) for headers with many signals. */
    int *order = malloc(sizeof(int) * (size_t)(im->n_groups ? im->n_groups : 1));
    if (!order)
        return somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory", hea);
    int n_named = 0;
    for (int gi = 0; gi < im->n_groups; gi++)
        if (im->groups[gi].format != 0)
            order[n_named++] = im->groups[gi].first_sig;
    qsort_r(order, (size_t)n_named, sizeof *order, cmp_signal_file, r->signals);
    for (int k = 1; k < n_named; k++) {
        if (strcmp(r->signals[order[k - 1]].file, r->signals[order[k]].file) == 0) {
            int a = order[k - 1] < order[k] ? order[k - 1] : order[k];
            int b = order[k - 1] < order[k] ? order[k] : order[k - 1];
            free(order);
            return somna_fail(err, SOMNA_E_FORMAT,
                              "%s: signal %d uses file %s like signal %d but is not listed next to it", hea, b,
                              r->signals[b].file, a);
        }
    }
    free(order);

    /* Map each file and count the frames it holds. */
    int64_t min_frames = -1;
    for (int gi = 0; gi < im->n_groups; gi++) {
        wfdb_group *g = &im->groups[gi];
        const somna_wfdb_signal *sg = &r->signals[g->first_sig];
        if (g->format == 0) {
            g->frames_avail = -1; /* null signal: no file, any length */
            continue;
        }
        char path[2048];
        int n = sg->file[0] == '/' ? snprintf(path, sizeof path, "%s", sg->file)
                                   : snprintf(path, sizeof path, "%s/%s", r->dir, sg->file);
        if (n < 0 || (size_t)n >= sizeof path)
            return somna_fail(err, SOMNA_E_FORMAT, "%s: signal %d: path of file %s is too long", hea, g->first_sig,
                              sg->file);
        int rc = somna_mmap_open(path, &g->map, err);
        if (rc) {
            somna_err_prefix(err, "%s: signal file of signal %d", hea, g->first_sig);
            return rc;
        }
        if ((uint64_t)g->offset > g->map.len)
            return somna_fail(err, SOMNA_E_FORMAT, "%s: signal %d: byte offset %lld is beyond the end of %s (%zu bytes)",
                              hea, g->first_sig, (long long)g->offset, path, g->map.len);
        int64_t samples = stream_samples(g->format, (int64_t)(g->map.len - (size_t)g->offset));
        g->frames_avail = samples / g->frame_samples;
        if (min_frames < 0 || g->frames_avail < min_frames)
            min_frames = g->frames_avail;
    }
    if (min_frames >= 0) {
        if (r->n_samples == 0) {
            r->n_samples = min_frames;
        } else if (r->n_samples > min_frames) {
            somna_warn(err,
                       "%s: header says %lld samples per signal but the signal files hold only %lld frames; "
                       "reading %lld",
                       hea, (long long)r->n_samples, (long long)min_frames, (long long)min_frames);
            r->n_samples = min_frames;
        }
    }
    /* Sample indices (n_samples x samples per frame) must stay far from
     * int64 overflow; only format-0 records can claim such lengths. */
    for (int s = 0; s < ns; s++)
        if (r->n_samples > 0 && r->signals[s].samples_per_frame > 1 &&
            r->n_samples > (INT64_MAX / 8) / r->signals[s].samples_per_frame)
            return somna_fail(err, SOMNA_E_FORMAT, "%s: signal %d: %lld samples x %d per frame is too large", hea,
                              s, (long long)r->n_samples, r->signals[s].samples_per_frame);
    return SOMNA_OK;
}

int somna_wfdb_open(const char *record, somna_wfdb_record **out, somna_err *err)
{
    *out = NULL;
    if (!record || !*record)
        return somna_fail(err, SOMNA_E_ARG, "WFDB record name is empty");
    wfdb_impl *im = calloc(1, sizeof *im);
    if (!im)
        return somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory", record);
    somna_wfdb_record *r = &im->pub;
    split_record(record, r);
    char hea[2048];
    int n = snprintf(hea, sizeof hea, "%s/%s.hea", r->dir, r->name);
    if (!strchr(record, '/'))
        n = snprintf(hea, sizeof hea, "%s.hea", r->name);
    if (n < 0 || (size_t)n >= sizeof hea) {
        free(im);
        return somna_fail(err, SOMNA_E_ARG, "%s: record name is too long", record);
    }
    char *text = NULL;
    size_t tlen = 0;
    int rc = somna_read_file(hea, WFDB_HEADER_MAX, &text, &tlen, err);
    if (rc) {
        free(im);
        return rc;
    }
    if (memchr(text, '\0', tlen)) {
        free(text);
        free(im);
        return somna_fail(err, SOMNA_E_FORMAT, "%s: header contains NUL bytes (not a WFDB header)", hea);
    }

    int64_t nsig = -1;
    int got = 0;
    size_t info_cap = 0, info_used = 0;
    int ln = 0;
    const char *p = text, *end = text + tlen;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        const char *le = eol;
        if (le > p && le[-1] == '\r')
            le--;
        ln++;
        const char *q = p;
        while (q < le && is_ws(*q))
            q++;
        p = eol < end ? eol + 1 : end;
        if (q == le)
            continue;
        if (*q == '#') {
            if (nsig >= 0) {
                q++;
                while (q < le && is_ws(*q))
                    q++;
                if (append_info(r, &info_cap, &info_used, q, (size_t)(le - q)) != 0) {
                    rc = somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory", hea);
                    goto fail;
                }
            }
            continue;
        }
        if (nsig < 0) {
            const char *tok;
            const char *qq = q;
            size_t tl = next_token(&qq, le, &tok);
            if (!memchr(tok, '/', tl) && (tl != strlen(r->name) || memcmp(tok, r->name, tl) != 0))
                somna_warn(err, "%s:%d: header names record '%.*s', not '%s'", hea, ln, (int)(tl > 80 ? 80 : tl), tok,
                           r->name);
            rc = parse_record_line(r, hea, ln, q, le, &nsig, err);
            if (rc)
                goto fail;
            /* Bound the allocation by the signal lines actually present,
             * not by the claim. */
            int64_t lines_left = 0;
            for (const char *c = p; c < end;) {
                const char *e = memchr(c, '\n', (size_t)(end - c));
                if (!e)
                    e = end;
                while (c < e && is_ws(*c))
                    c++;
                if (c < e && *c != '#')
                    lines_left++;
                c = e < end ? e + 1 : end;
            }
            if (nsig > lines_left) {
                rc = somna_fail(err, SOMNA_E_FORMAT,
                                "%s: record line declares %lld signals but only %lld signal lines follow", hea,
                                (long long)nsig, (long long)lines_left);
                goto fail;
            }
            r->n_signals = (int)nsig;
            r->signals = calloc((size_t)(nsig ? nsig : 1), sizeof *r->signals);
            if (!r->signals) {
                rc = somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory", hea);
                goto fail;
            }
            continue;
        }
        if (got < nsig) {
            rc = parse_signal_line(&r->signals[got], got, r->name, hea, ln, q, le, err);
            if (rc)
                goto fail;
            got++;
        }
        /* Non-comment lines after the signal lines are ignored, as WFDB does. */
    }
    if (nsig < 0) {
        rc = somna_fail(err, SOMNA_E_FORMAT, "%s: no record line (file is empty or only comments)", hea);
        goto fail;
    }
    if (got < nsig) {
        rc = somna_fail(err, SOMNA_E_FORMAT, "%s: record line declares %lld signals but only %d signal lines follow",
                        hea, (long long)nsig, got);
        goto fail;
    }
    free(text);
    text = NULL;
    rc = open_groups(im, hea, err);
    if (rc)
        goto fail;
    *out = r;
    return SOMNA_OK;
fail:
    free(text);
    somna_wfdb_close(r);
    return rc;
}

/* ---- decoding ------------------------------------------------------------*/

int64_t somna_wfdb_signal_length(const somna_wfdb_record *rec, int sig)
{
    if (!rec || sig < 0 || sig >= rec->n_signals)
        return 0;
    return rec->n_samples * rec->signals[sig].samples_per_frame;
}

double somna_wfdb_signal_fs(const somna_wfdb_record *rec, int sig)
{
    if (!rec || sig < 0 || sig >= rec->n_signals)
        return 0;
    return rec->fs * rec->signals[sig].samples_per_frame;
}

/* Sample k of a group stream starting at b, one function per format (each
 * maps the format's most negative code to SOMNA_WFDB_INVALID). */
static inline int32_t dec16(const unsigned char *b, int64_t k)
{
    const unsigned char *q = b + 2 * k;
    int32_t v = (int16_t)(uint16_t)(q[0] | (q[1] << 8));
    return v == -32768 ? SOMNA_WFDB_INVALID : v;
}
static inline int32_t dec61(const unsigned char *b, int64_t k)
{
    const unsigned char *q = b + 2 * k;
    int32_t v = (int16_t)(uint16_t)(q[1] | (q[0] << 8));
    return v == -32768 ? SOMNA_WFDB_INVALID : v;
}
static inline int32_t dec160(const unsigned char *b, int64_t k)
{
    const unsigned char *q = b + 2 * k;
    int32_t v = (int32_t)(q[0] | (q[1] << 8)) - 32768;
    return v == -32768 ? SOMNA_WFDB_INVALID : v;
}
static inline int32_t dec80(const unsigned char *b, int64_t k)
{
    int32_t v = (int32_t)b[k] - 128;
    return v == -128 ? SOMNA_WFDB_INVALID : v;
}
static inline int32_t dec24(const unsigned char *b, int64_t k)
{
    const unsigned char *q = b + 3 * k;
    uint32_t u = (uint32_t)q[0] | ((uint32_t)q[1] << 8) | ((uint32_t)q[2] << 16);
    int32_t v = (int32_t)(u ^ 0x800000u) - 0x800000;
    return v == -8388608 ? SOMNA_WFDB_INVALID : v;
}
static inline int32_t dec32(const unsigned char *b, int64_t k)
{
    const unsigned char *q = b + 4 * k;
    uint32_t u = (uint32_t)q[0] | ((uint32_t)q[1] << 8) | ((uint32_t)q[2] << 16) | ((uint32_t)q[3] << 24);
    return (int32_t)u; /* INT32_MIN is already SOMNA_WFDB_INVALID */
}
/* 212: two 12-bit samples in 3 bytes; the second byte holds the high
 * nibbles (first sample's in bits 0-3, second's in bits 4-7). */
static inline int32_t fix212(int32_t v) /* sign-extend 12 bits; -2048 is invalid */
{
    v = (v ^ 0x800) - 0x800;
    return v == -2048 ? SOMNA_WFDB_INVALID : v;
}
static inline int32_t dec212(const unsigned char *b, int64_t k)
{
    const unsigned char *q = b + (k >> 1) * 3;
    return fix212((k & 1) ? (int32_t)(q[2] | ((q[1] & 0xF0) << 4)) : (int32_t)(q[0] | ((q[1] & 0x0F) << 8)));
}
/* 310: three 10-bit samples in two little-endian 16-bit words: bits 1-10 of
 * each word hold samples 0 and 1; the 5 high bits of word 0 (low half) and
 * word 1 (high half) form sample 2. */
static inline int32_t dec310(const unsigned char *b, int64_t k)
{
    const unsigned char *q = b + (k / 3) * 4;
    unsigned w0 = (unsigned)(q[0] | (q[1] << 8));
    int32_t v;
    switch (k % 3) {
    case 0: v = (int32_t)((w0 >> 1) & 0x3FF); break;
    case 1: v = (int32_t)((((unsigned)(q[2] | (q[3] << 8))) >> 1) & 0x3FF); break;
    default: v = (int32_t)(((w0 & 0xF800) >> 11) | (((unsigned)(q[2] | (q[3] << 8)) & 0xF800) >> 6)); break;
    }
    v = (v ^ 0x200) - 0x200;
    return v == -512 ? SOMNA_WFDB_INVALID : v;
}
/* 311: three 10-bit samples in the low 30 bits of a little-endian 32-bit
 * word (bits 0-9, 10-19, 20-29).  Each sample reads only the two bytes it
 * lives in, so the partial group WFDB writes at the end of a file (2 or 3
 * bytes) is never read past. */
static inline int32_t dec311(const unsigned char *b, int64_t k)
{
    const unsigned char *q = b + (k / 3) * 4;
    int r = (int)(k % 3);
    unsigned w = (unsigned)q[r] | ((unsigned)q[r + 1] << 8);
    int32_t v = (int32_t)((w >> (2 * r)) & 0x3FF);
    v = (v ^ 0x200) - 0x200;
    return v == -512 ? SOMNA_WFDB_INVALID : v;
}

/* The loop shared by the random-access formats: sample j of the signal is
 * stream sample (frame * frame_samples + pos + sub) with frame = j/spf + skew. */
#define DECODE_LOOP(FN)                                                                                              \
    do {                                                                                                             \
        for (int64_t i = 0; i < n; i++) {                                                                            \
            out[i] = f < navail ? FN(base, f * fsz + pos + sub) : SOMNA_WFDB_INVALID;                                \
            if (++sub == spf) {                                                                                      \
                sub = 0;                                                                                             \
                f++;                                                                                                 \
            }                                                                                                        \
        }                                                                                                            \
    } while (0)

/* Same for spf == 1 with a constant stride: the common case, kept simple
 * enough for the compiler to strength-reduce the index. */
#define DECODE_LOOP1(FN)                                                                                             \
    do {                                                                                                             \
        int64_t m = navail - f;                                                                                      \
        if (m > n)                                                                                                   \
            m = n;                                                                                                   \
        if (m < 0)                                                                                                   \
            m = 0;                                                                                                   \
        int64_t k = m > 0 ? f * fsz + pos : 0;                                                                       \
        for (int64_t i = 0; i < m; i++, k += fsz)                                                                    \
            out[i] = FN(base, k);                                                                                    \
        for (int64_t i = m; i < n; i++)                                                                              \
            out[i] = SOMNA_WFDB_INVALID;                                                                             \
    } while (0)

int somna_wfdb_read_adu(const somna_wfdb_record *rec, int sig, int64_t first, int64_t n, int32_t *out,
                        somna_err *err)
{
    if (!rec || !out || sig < 0 || sig >= rec->n_signals)
        return somna_fail(err, SOMNA_E_ARG, "%s: no signal %d (record has %d)", rec ? rec->name : "?", sig,
                          rec ? rec->n_signals : 0);
    const wfdb_impl *im = impl_of(rec);
    const somna_wfdb_signal *sg = &rec->signals[sig];
    int64_t total = somna_wfdb_signal_length(rec, sig);
    if (first < 0 || n < 0 || first > total || n > total - first)
        return somna_fail(err, SOMNA_E_ARG, "%s: samples [%lld, %lld) are outside signal %d (%lld samples)",
                          rec->name, (long long)first, (long long)(first + n), sig, (long long)total);
    if (n == 0)
        return SOMNA_OK;
    const wfdb_group *g = &im->groups[im->sig_group[sig]];
    if (g->format == 0) {
        for (int64_t i = 0; i < n; i++)
            out[i] = SOMNA_WFDB_INVALID;
        return SOMNA_OK;
    }
    const int spf = sg->samples_per_frame;
    /* WFDB converts the header's skew (in samples) to whole frames. */
    const int64_t skew = (int64_t)((double)sg->skew / spf + 0.5);
    const int64_t fsz = g->frame_samples;
    const int64_t pos = im->sig_pos[sig];
    const int64_t navail = g->frames_avail;
    const unsigned char *base = g->map.data + g->offset;
    int64_t f = first / spf + skew;
    int sub = (int)(first % spf);

    if (g->format == 8) {
        /* First differences: the value is the initial value plus every
         * difference of this signal up to and including the sample. */
        int64_t acc = sg->initial_value;
        for (int64_t ff = 0; ff < f && ff < navail; ff++)
            for (int c = 0; c < spf; c++)
                acc += (signed char)base[ff * fsz + pos + c];
        if (f < navail)
            for (int c = 0; c < sub; c++)
                acc += (signed char)base[f * fsz + pos + c];
        for (int64_t i = 0; i < n; i++) {
            if (f < navail) {
                acc += (signed char)base[f * fsz + pos + sub];
                out[i] = (int32_t)acc;
            } else {
                out[i] = SOMNA_WFDB_INVALID;
            }
            if (++sub == spf) {
                sub = 0;
                f++;
            }
        }
        return SOMNA_OK;
    }
    if (spf == 1 && g->format == 212 && fsz % 2 == 0) {
        /* every sample of this signal sits at the same place of its 3-byte
         * pair (first or second), fsz / 2 pairs apart: no per-sample parity */
        int64_t m = navail - f;
        if (m > n)
            m = n;
        if (m < 0)
            m = 0;
        const int64_t k0 = f * fsz + pos, step = fsz / 2 * 3;
        const unsigned char *q = base + (k0 >> 1) * 3;
        if (k0 & 1)
            for (int64_t i = 0; i < m; i++, q += step)
                out[i] = fix212((int32_t)(q[2] | ((q[1] & 0xF0) << 4)));
        else
            for (int64_t i = 0; i < m; i++, q += step)
                out[i] = fix212((int32_t)(q[0] | ((q[1] & 0x0F) << 8)));
        for (int64_t i = m; i < n; i++)
            out[i] = SOMNA_WFDB_INVALID;
        return SOMNA_OK;
    }
    if (spf == 1) {
        switch (g->format) {
        case 16: DECODE_LOOP1(dec16); break;
        case 61: DECODE_LOOP1(dec61); break;
        case 80: DECODE_LOOP1(dec80); break;
        case 160: DECODE_LOOP1(dec160); break;
        case 24: DECODE_LOOP1(dec24); break;
        case 32: DECODE_LOOP1(dec32); break;
        case 212: DECODE_LOOP1(dec212); break;
        case 310: DECODE_LOOP1(dec310); break;
        case 311: DECODE_LOOP1(dec311); break;
        default: return somna_fail(err, SOMNA_E_UNSUPPORTED, "%s: format %d", rec->name, g->format);
        }
        return SOMNA_OK;
    }
    switch (g->format) {
    case 16: DECODE_LOOP(dec16); break;
    case 61: DECODE_LOOP(dec61); break;
    case 80: DECODE_LOOP(dec80); break;
    case 160: DECODE_LOOP(dec160); break;
    case 24: DECODE_LOOP(dec24); break;
    case 32: DECODE_LOOP(dec32); break;
    case 212: DECODE_LOOP(dec212); break;
    case 310: DECODE_LOOP(dec310); break;
    case 311: DECODE_LOOP(dec311); break;
    default: return somna_fail(err, SOMNA_E_UNSUPPORTED, "%s: format %d", rec->name, g->format);
    }
    return SOMNA_OK;
}

/* (adu - baseline) / gain through read_adu, in blocks, NaN for invalid
 * samples.  Baseline 0 and gain 1 give the codes themselves, exactly. */
static int read_scaled(const somna_wfdb_record *rec, int sig, int64_t first, int64_t n, double *out, double baseline,
                       double gain, somna_err *err)
{
    int32_t buf[4096];
    for (int64_t done = 0; done < n;) {
        int64_t m = n - done < 4096 ? n - done : 4096;
        int rc = somna_wfdb_read_adu(rec, sig, first + done, m, buf, err);
        if (rc)
            return rc;
        /* Two branch-free loops the compiler vectorises, invalid samples
         * patched afterwards. */
        double *o = out + done;
        int any_invalid = 0;
        for (int64_t i = 0; i < m; i++) {
            o[i] = ((double)buf[i] - baseline) / gain;
            any_invalid |= buf[i] == SOMNA_WFDB_INVALID;
        }
        if (any_invalid)
            for (int64_t i = 0; i < m; i++)
                if (buf[i] == SOMNA_WFDB_INVALID)
                    o[i] = NAN;
        done += m;
    }
    return SOMNA_OK;
}

int somna_wfdb_read_physical(const somna_wfdb_record *rec, int sig, int64_t first, int64_t n, double *out,
                             somna_err *err)
{
    if (!rec || !out || sig < 0 || sig >= rec->n_signals)
        return somna_fail(err, SOMNA_E_ARG, "%s: no signal %d (record has %d)", rec ? rec->name : "?", sig,
                          rec ? rec->n_signals : 0);
    /* rdsamp -p: (adu - baseline) / gain */
    return read_scaled(rec, sig, first, n, out, rec->signals[sig].baseline, rec->signals[sig].gain, err);
}

/* A mapped file is read from memory, not cache: the hardware prefetcher
 * stops at each 4-KB page, so the decoder asks for the bytes 2 KB ahead
 * itself (cold-cache read of mitdb 100, signal 0: 0.91 -> 0.63 ms).  A
 * prefetch never faults, past the end of the mapping either, and the
 * address is formed as an integer, so no out-of-bounds pointer exists. */
#if defined(__GNUC__)
#define SOMNA_PREFETCH_AHEAD(p, bytes) __builtin_prefetch((const void *)((uintptr_t)(p) + (bytes)))
#else
#define SOMNA_PREFETCH_AHEAD(p, bytes) ((void)(p))
#endif

/* 212 samples that all sit at the same place of their 3-byte pairs (q at
 * the pair), `step` bytes apart: the first of a pair is byte 0 + the low
 * nibble of byte 1, the second byte 2 + the high nibble of byte 1.  One
 * loop each, so no test per sample. */
static void dec212_codes(const unsigned char *q, int64_t step, int second, int64_t n, double *out)
{
    if (!second) {
        for (int64_t i = 0; i < n; i++, q += step) {
            if ((i & 15) == 0)
                SOMNA_PREFETCH_AHEAD(q, 2048); /* an address, not a C pointer past the end */
            int32_t v = (int32_t)((q[0] | (q[1] << 8)) & 0xFFF); /* one 16-bit load */
            v = (v ^ 0x800) - 0x800;
            out[i] = v == -2048 ? NAN : (double)v;
        }
    } else {
        for (int64_t i = 0; i < n; i++, q += step) {
            if ((i & 15) == 0)
                SOMNA_PREFETCH_AHEAD(q, 2048); /* an address, not a C pointer past the end */
            int32_t v = (int32_t)(q[2] | ((q[1] & 0xF0) << 4));
            v = (v ^ 0x800) - 0x800;
            out[i] = v == -2048 ? NAN : (double)v;
        }
    }
}

int somna_wfdb_read_codes(const somna_wfdb_record *rec, int sig, int64_t first, int64_t n, double *out,
                          somna_err *err)
{
    if (!rec || !out || sig < 0 || sig >= rec->n_signals)
        return somna_fail(err, SOMNA_E_ARG, "%s: no signal %d (record has %d)", rec ? rec->name : "?", sig,
                          rec ? rec->n_signals : 0);
    const wfdb_impl *im = impl_of(rec);
    const wfdb_group *g = &im->groups[im->sig_group[sig]];
    /* the common layouts (one sample per frame, no skew, inside the file)
     * are decoded straight to doubles */
    const int direct = (g->format == 212 || g->format == 16) && rec->signals[sig].samples_per_frame == 1 &&
                       rec->signals[sig].skew == 0 && first >= 0 && n >= 0 && first <= g->frames_avail &&
                       n <= g->frames_avail - first && first <= somna_wfdb_signal_length(rec, sig) &&
                       n <= somna_wfdb_signal_length(rec, sig) - first;
    if (direct && g->format == 212 && g->frame_samples % 2 == 0) {
        /* MIT-BIH: each sample of the signal sits at the same place of its
         * 3-byte pair */
        const int64_t k0 = first * g->frame_samples + im->sig_pos[sig], step = g->frame_samples / 2 * 3;
        const unsigned char *q = g->map.data + g->offset + (k0 >> 1) * 3;
        dec212_codes(q, step, (int)(k0 & 1), n, out);
        return SOMNA_OK;
    }
    if (direct && g->format == 16) { /* 16-bit little-endian, -32768 invalid */
        const int64_t step = 2 * (int64_t)g->frame_samples;
        const unsigned char *q = g->map.data + g->offset + (first * g->frame_samples + im->sig_pos[sig]) * 2;
        for (int64_t i = 0; i < n; i++, q += step) {
            if ((i & 31) == 0)
                SOMNA_PREFETCH_AHEAD(q, 2048); /* an address, not a C pointer past the end */
            int32_t v = (int16_t)(uint16_t)(q[0] | (q[1] << 8));
            out[i] = v == -32768 ? NAN : (double)v;
        }
        return SOMNA_OK;
    }
    return read_scaled(rec, sig, first, n, out, 0.0, 1.0, err);
}

int somna_wfdb_checksum(const somna_wfdb_record *rec, int sig, int *computed, int *matches, somna_err *err)
{
    if (!rec || sig < 0 || sig >= rec->n_signals)
        return somna_fail(err, SOMNA_E_ARG, "%s: no signal %d", rec ? rec->name : "?", sig);
    int64_t total = somna_wfdb_signal_length(rec, sig);
    int32_t buf[4096];
    uint32_t sum = 0;
    /* WFDB sums the decoded codes, the invalid code included. */
    int32_t inv;
    switch (rec->signals[sig].format) {
    case 212: inv = -2048; break;
    case 310:
    case 311: inv = -512; break;
    case 80: inv = -128; break;
    case 24: inv = -8388608; break;
    case 32: inv = INT32_MIN; break;
    default: inv = -32768; break;
    }
    for (int64_t done = 0; done < total;) {
        int64_t m = total - done < 4096 ? total - done : 4096;
        int rc = somna_wfdb_read_adu(rec, sig, done, m, buf, err);
        if (rc)
            return rc;
        for (int64_t i = 0; i < m; i++)
            sum += (uint32_t)(buf[i] == SOMNA_WFDB_INVALID ? inv : buf[i]);
        done += m;
    }
    int c = (int)(int16_t)(uint16_t)(sum & 0xFFFF);
    if (computed)
        *computed = c;
    if (matches)
        *matches = ((c - rec->signals[sig].checksum) & 0xFFFF) == 0;
    return SOMNA_OK;
}
