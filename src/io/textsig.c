/* somna — signals exported as delimited text, one column per channel.
 *
 * Shape handled (the common export of EEG/ECG viewers and of the DREAMS
 * databases): an optional header line of channel names (a first line with
 * any non-numeric field, "[C3-A1]" brackets and "quotes" removed), then one
 * row per sample.  The delimiter is taken from the first line: tab, comma or
 * semicolon if present, else runs of blanks.  '#' lines and blank lines are
 * skipped.  Empty cells and NA/NaN are missing samples (NaN, one warning).
 * Two passes over the text: count rows, then parse into exact-size arrays.
 */
#include "somna/textsig.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "somna/fileio.h"
#include "somna/parse.h"

#define TEXTSIG_MAX_BYTES ((size_t)4 << 30)
#define TEXTSIG_MAX_COLS 4096

void somna_textsig_free(somna_textsig *ts)
{
    if (!ts)
        return;
    if (ts->labels)
        for (int s = 0; s < ts->n_signals; s++)
            free(ts->labels[s]);
    free(ts->labels);
    if (ts->data)
        for (int s = 0; s < ts->n_signals; s++)
            free(ts->data[s]);
    free(ts->data);
    memset(ts, 0, sizeof *ts);
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

typedef struct cursor {
    const char *p, *end;
    char delim; /* 0 = runs of blanks */
} cursor;

/* Next field of the line [c->p, c->end); returns 0 when the line is done.
 * The field is trimmed of blanks. */
static int next_field(cursor *c, const char **f, size_t *len, int *more)
{
    if (c->delim == 0) {
        while (c->p < c->end && is_blank(*c->p))
            c->p++;
        if (c->p >= c->end)
            return 0;
        const char *s = c->p;
        while (c->p < c->end && !is_blank(*c->p))
            c->p++;
        *f = s;
        *len = (size_t)(c->p - s);
        return 1;
    }
    /* *more is 1 until the line's last field was returned: "1,2," has a
     * third, empty field. */
    if (!*more)
        return 0;
    const char *s = c->p;
    const char *e = memchr(s, c->delim, (size_t)(c->end - s));
    if (!e)
        e = c->end;
    if (e < c->end)
        c->p = e + 1;
    else
        *more = 0;
    while (s < e && is_blank(*s))
        s++;
    while (e > s && is_blank(e[-1]))
        e--;
    *f = s;
    *len = (size_t)(e - s);
    return 1;
}

/* Fast path for plain decimals ("-12.8338"): Clinger's exact case (W. D.
 * Clinger, "How to read floating point numbers accurately", PLDI 1990): an
 * integer mantissa below 2^53 divided by a power of ten up to 10^22 is one
 * correctly rounded IEEE division, so the result equals strtod's.  Anything
 * else (exponents, long mantissas) goes to somna_parse_double. */
static int parse_number(const char *f, size_t len, double *out)
{
    static const double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                   1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    size_t i = 0;
    int neg = 0;
    if (i < len && (f[i] == '-' || f[i] == '+')) {
        neg = f[i] == '-';
        i++;
    }
    uint64_t m = 0;
    int sig = 0, ndig = 0, frac = 0, dot = 0;
    for (; i < len; i++) {
        char c = f[i];
        if (c >= '0' && c <= '9') {
            ndig++;
            if (m > 0 || c != '0')
                sig++;
            m = m * 10 + (uint64_t)(c - '0');
            frac += dot;
            if (sig > 15 || frac > 22)
                return somna_parse_double(f, len, out);
        } else if (c == '.' && !dot) {
            dot = 1;
        } else {
            return somna_parse_double(f, len, out);
        }
    }
    if (ndig == 0) /* "-", ".", "+." are not numbers */
        return somna_parse_double(f, len, out);
    double v = (double)m / pow10[frac];
    *out = neg ? -v : v;
    return 0;
}

static int is_missing(const char *f, size_t len)
{
    return len == 0 || (len == 2 && somna_strnieq(f, "NA", 2)) || (len == 3 && somna_strnieq(f, "NaN", 3));
}

/* Split text into lines, calling back for each non-blank, non-comment one. */
typedef struct line_iter {
    const char *p, *end;
    size_t lineno;
} line_iter;

static int next_line(line_iter *it, const char **ls, const char **le, size_t *lineno)
{
    while (it->p < it->end) {
        const char *s = it->p;
        const char *e = memchr(s, '\n', (size_t)(it->end - s));
        if (!e)
            e = it->end;
        it->p = e < it->end ? e + 1 : it->end;
        it->lineno++;
        const char *t = e;
        while (t > s && is_blank(t[-1]))
            t--;
        const char *q = s;
        while (q < t && is_blank(*q))
            q++;
        if (q == t || *q == '#')
            continue;
        *ls = s;
        *le = t;
        *lineno = it->lineno;
        return 1;
    }
    return 0;
}

static char *label_dup(const char *f, size_t len)
{
    if (len >= 2 && ((f[0] == '[' && f[len - 1] == ']') || (f[0] == '"' && f[len - 1] == '"') ||
                     (f[0] == '\'' && f[len - 1] == '\''))) {
        f++;
        len -= 2;
    }
    while (len > 0 && is_blank(*f)) {
        f++;
        len--;
    }
    while (len > 0 && is_blank(f[len - 1]))
        len--;
    char *s = malloc(len + 1);
    if (s) {
        memcpy(s, f, len);
        s[len] = '\0';
    }
    return s;
}

static int parse_text(const char *path, const char *text, size_t len, double fs, somna_textsig *out,
                      somna_err *err)
{
    line_iter it = {text, text + len, 0};
    const char *ls, *le;
    size_t ln;
    if (!next_line(&it, &ls, &le, &ln))
        return somna_fail(err, SOMNA_E_FORMAT, "%s: no data (file is empty or only comments)", path);
    cursor c = {ls, le, 0};
    if (memchr(ls, '\t', (size_t)(le - ls)))
        c.delim = '\t';
    else if (memchr(ls, ',', (size_t)(le - ls)))
        c.delim = ',';
    else if (memchr(ls, ';', (size_t)(le - ls)))
        c.delim = ';';
    const char delim = c.delim;

    /* First line: header if any field is not a number (and not missing). */
    int ncol = 0, header = 0, first = 1;
    const char *f;
    size_t fl;
    while (next_field(&c, &f, &fl, &first)) {
        double v;
        if (!is_missing(f, fl) && parse_number(f, fl, &v) != 0)
            header = 1;
        if (++ncol > TEXTSIG_MAX_COLS)
            return somna_fail(err, SOMNA_E_FORMAT, "%s:%zu: more than %d columns", path, ln, TEXTSIG_MAX_COLS);
    }
    const size_t header_line = ln;
    /* A blank-separated header may hold names with spaces ("EEG Fpz-Cz"):
     * the first data row decides the column count, and when it has one
     * column the whole header line is its name. */
    int whole_line_label = 0;
    if (header && delim == 0) {
        line_iter peek = it;
        const char *ds, *de;
        size_t dn;
        if (next_line(&peek, &ds, &de, &dn)) {
            cursor dc = {ds, de, 0};
            int dcols = 0, more = 1;
            while (next_field(&dc, &f, &fl, &more))
                dcols++;
            if (dcols != ncol && dcols == 1) {
                whole_line_label = 1;
                ncol = 1;
            }
        }
    }
    out->n_signals = ncol;
    out->fs = fs;
    out->labels = calloc((size_t)ncol, sizeof *out->labels);
    out->data = calloc((size_t)ncol, sizeof *out->data);
    if (!out->labels || !out->data)
        return somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory", path);
    c = (cursor){ls, le, delim};
    first = 1;
    for (int k = 0; k < ncol; k++) {
        next_field(&c, &f, &fl, &first);
        char name[32];
        if (whole_line_label) {
            const char *q = ls;
            while (q < le && is_blank(*q))
                q++;
            out->labels[k] = label_dup(q, (size_t)(le - q));
        } else if (header && fl > 0) {
            out->labels[k] = label_dup(f, fl);
        } else {
            snprintf(name, sizeof name, "ch%d", k + 1);
            out->labels[k] = label_dup(name, strlen(name));
        }
        if (!out->labels[k])
            return somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory", path);
    }

    /* Pass 1: count data rows. */
    line_iter it2 = it;
    int64_t rows = header ? 0 : 1;
    while (next_line(&it2, &ls, &le, &ln))
        rows++;
    if (rows == 0)
        return somna_fail(err, SOMNA_E_FORMAT, "%s: header line but no data rows", path);
    for (int k = 0; k < ncol; k++) {
        out->data[k] = malloc(sizeof(double) * (size_t)rows);
        if (!out->data[k])
            return somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory for %lld rows", path, (long long)rows);
    }

    /* Pass 2: parse. */
    line_iter it3 = {text, text + len, 0};
    if (header)
        next_line(&it3, &ls, &le, &ln);
    int64_t r = 0;
    size_t missing = 0, first_missing_line = 0;
    while (next_line(&it3, &ls, &le, &ln)) {
        c = (cursor){ls, le, delim};
        first = 1;
        int k = 0;
        while (next_field(&c, &f, &fl, &first)) {
            if (k >= ncol)
                return somna_fail(err, SOMNA_E_FORMAT, "%s:%zu: more than the %d columns of line %zu", path, ln,
                                  ncol, header_line);
            double v;
            if (is_missing(f, fl)) {
                v = NAN;
                if (missing++ == 0)
                    first_missing_line = ln;
            } else if (parse_number(f, fl, &v) != 0) {
                return somna_fail(err, SOMNA_E_FORMAT, "%s:%zu: column %d (%s): '%.*s' is not a number", path, ln,
                                  k + 1, out->labels[k], (int)(fl > 40 ? 40 : fl), f);
            }
            out->data[k][r] = v;
            k++;
        }
        if (k < ncol)
            return somna_fail(err, SOMNA_E_FORMAT, "%s:%zu: %d columns, expected %d as on line %zu", path, ln, k,
                              ncol, header_line);
        r++;
    }
    out->n_samples = r;
    if (missing)
        somna_warn(err, "%s: %zu missing values (first on line %zu) read as NaN", path, missing, first_missing_line);
    return SOMNA_OK;
}

int somna_textsig_read(const char *path, double fs, somna_textsig *out, somna_err *err)
{
    if (!out)
        return somna_fail(err, SOMNA_E_ARG, "somna_textsig_read: output is NULL");
    memset(out, 0, sizeof *out);
    if (!path)
        return somna_fail(err, SOMNA_E_ARG, "somna_textsig_read: path is NULL");
    if (!(fs > 0) || !isfinite(fs))
        return somna_fail(err, SOMNA_E_ARG, "%s: sampling rate %g Hz must be positive (give it explicitly)", path,
                          fs);
    char *text = NULL;
    size_t len = 0;
    int rc = somna_read_file(path, TEXTSIG_MAX_BYTES, &text, &len, err);
    if (rc)
        return rc;
    size_t ulen = 0;
    char *u = somna_text_to_utf8(text, len, &ulen);
    const char *t = u ? u : text;
    size_t tl = u ? ulen : len;
    if (memchr(t, '\0', tl)) {
        free(u);
        free(text);
        return somna_fail(err, SOMNA_E_FORMAT, "%s: contains NUL bytes (binary file, not text)", path);
    }
    rc = parse_text(path, t, tl, fs, out, err);
    free(u);
    free(text);
    if (rc)
        somna_textsig_free(out);
    return rc;
}
