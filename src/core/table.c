#include "somna/table.h"

#include <stdlib.h>
#include <string.h>

#include "somna/fileio.h"
#include "somna/parse.h"

#define DEFAULT_MAX_BYTES ((size_t)1 << 30)

void somna_table_free(somna_table *t)
{
    if (!t)
        return;
    free(t->name);
    free(t->header);
    free(t->cells);
    free(t->line);
    free(t->storage_);
    free(t->header_storage_);
    memset(t, 0, sizeof *t);
}

int somna_table_read(const char *path, const somna_table_opts *opts, somna_table *t, somna_err *err)
{
    memset(t, 0, sizeof *t);
    size_t max = (opts && opts->max_bytes) ? opts->max_bytes : DEFAULT_MAX_BYTES;
    char *data;
    size_t len;
    int rc = somna_read_file(path, max, &data, &len, err);
    if (rc)
        return rc;
    rc = somna_table_parse(data, len, path, opts, t, err);
    free(data);
    return rc;
}

static char detect_delim(const char *s, size_t len)
{
    size_t counts[3] = {0, 0, 0};
    const char cands[3] = {',', '\t', ';'};
    int inq = 0;
    for (size_t i = 0; i < len && s[i] != '\n'; i++) {
        if (s[i] == '"')
            inq = !inq;
        if (inq)
            continue;
        for (int k = 0; k < 3; k++)
            if (s[i] == cands[k])
                counts[k]++;
    }
    int best = 0;
    for (int k = 1; k < 3; k++)
        if (counts[k] > counts[best])
            best = k;
    return counts[best] ? cands[best] : ',';
}

typedef struct {
    char **v;
    size_t n, cap;
} ptrvec;

static int vec_push(ptrvec *p, char *s)
{
    if (p->n == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 256;
        char **nv = realloc(p->v, nc * sizeof *nv);
        if (!nv)
            return -1;
        p->v = nv;
        p->cap = nc;
    }
    p->v[p->n++] = s;
    return 0;
}

int somna_table_parse(const char *text, size_t len, const char *name, const somna_table_opts *opts,
                      somna_table *t, somna_err *err)
{
    somna_table_opts o = {0};
    if (opts)
        o = *opts;
    memset(t, 0, sizeof *t);
    t->name = strdup(name ? name : "<input>");
    size_t conv_len = 0;
    char *conv = somna_text_to_utf8(text, len, &conv_len);
    /* storage holds a private copy where fields are unquoted and NUL-terminated in place */
    const char *src = conv ? conv : text;
    size_t n = conv ? conv_len : len;
    t->storage_ = malloc(n + 1);
    if (!t->name || !t->storage_) {
        free(conv);
        somna_table_free(t);
        return somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory", name ? name : "<input>");
    }
    memcpy(t->storage_, src, n);
    t->storage_[n] = '\0';
    free(conv);
    char *s = t->storage_;

    /* skip leading comment lines before detecting the delimiter */
    size_t pos = 0, lineno = 1;
    t->delim = o.delim ? o.delim : 0;

    ptrvec fields = {0};
    size_t *lines = NULL, nlines = 0, caplines = 0;
    size_t ncols = 0;
    int have_header = 0;
    int rc = SOMNA_OK;

    while (pos < n) {
        /* one record */
        size_t rec_line = lineno;
        if (o.comment && s[pos] == o.comment) {
            while (pos < n && s[pos] != '\n')
                pos++;
            pos++;
            lineno++;
            continue;
        }
        /* blank line: skip */
        {
            size_t q = pos;
            while (q < n && (s[q] == ' ' || s[q] == '\r' || s[q] == '\t'))
                q++;
            if (q >= n)
                break;
            if (s[q] == '\n') {
                pos = q + 1;
                lineno++;
                continue;
            }
        }
        if (!t->delim)
            t->delim = detect_delim(s + pos, n - pos);
        char d = t->delim;
        size_t nf = 0;
        for (;;) {
            char *out = s + pos;
            char *field = out;
            size_t w = pos;
            if (pos < n && s[pos] == '"') {
                pos++;
                for (;;) {
                    if (pos >= n) {
                        rc = somna_fail(err, SOMNA_E_FORMAT, "%s:%zu: unterminated quoted field", t->name,
                                        rec_line);
                        goto fail;
                    }
                    if (s[pos] == '"') {
                        if (pos + 1 < n && s[pos + 1] == '"') {
                            s[w++] = '"';
                            pos += 2;
                            continue;
                        }
                        pos++;
                        break;
                    }
                    if (s[pos] == '\n')
                        lineno++;
                    s[w++] = s[pos++];
                }
                while (pos < n && s[pos] != d && s[pos] != '\n') {
                    if (s[pos] != ' ' && s[pos] != '\r') {
                        rc = somna_fail(err, SOMNA_E_FORMAT, "%s:%zu: text after closing quote in field %zu",
                                        t->name, rec_line, nf + 1);
                        goto fail;
                    }
                    pos++;
                }
            } else {
                while (pos < n && s[pos] != d && s[pos] != '\n')
                    s[w++] = s[pos++];
            }
            char endc = pos < n ? s[pos] : '\n';
            s[w] = '\0'; /* w <= pos <= n and s[n] is the terminator */
            somna_trim(field);
            if (vec_push(&fields, field)) {
                rc = somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory", t->name);
                goto fail;
            }
            nf++;
            pos++;
            if (endc == '\n' || pos > n)
                break;
        }
        lineno++;
        if (!have_header) {
            ncols = nf;
            have_header = 1;
            if (o.no_header) {
                /* synthesize names; the fields just read are the first data row */
            }
        } else if (nf != ncols) {
            if (nf < ncols && o.allow_ragged) {
                for (size_t k = nf; k < ncols; k++)
                    if (vec_push(&fields, s + n)) { /* s[n] == '\0': empty cell */
                        rc = somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory", t->name);
                        goto fail;
                    }
            } else if (nf == ncols + 1 && fields.v[fields.n - 1][0] == '\0') {
                fields.n--; /* trailing delimiter */
            } else {
                rc = somna_fail(err, SOMNA_E_FORMAT, "%s:%zu: %zu fields, but the header has %zu", t->name,
                                rec_line, nf, ncols);
                goto fail;
            }
        }
        if (nlines == caplines) {
            caplines = caplines ? caplines * 2 : 256;
            size_t *nl = realloc(lines, caplines * sizeof *nl);
            if (!nl) {
                rc = somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory", t->name);
                goto fail;
            }
            lines = nl;
        }
        lines[nlines++] = rec_line;
    }
    if (!have_header) {
        rc = somna_fail(err, SOMNA_E_FORMAT, "%s: empty file (no header line)", t->name);
        goto fail;
    }
    t->n_cols = ncols;
    if (o.no_header) {
        t->header_storage_ = malloc(ncols * 24 + 1);
        t->header = malloc((ncols ? ncols : 1) * sizeof *t->header);
        if (!t->header_storage_ || !t->header) {
            rc = somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory", t->name);
            goto fail;
        }
        for (size_t k = 0; k < ncols; k++) {
            t->header[k] = t->header_storage_ + 24 * k;
            snprintf(t->header[k], 24, "%zu", k + 1);
        }
        t->n_rows = nlines;
        t->cells = fields.v;
        t->line = lines;
        return SOMNA_OK;
    }
    t->header = malloc((ncols ? ncols : 1) * sizeof *t->header);
    if (!t->header) {
        rc = somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory", t->name);
        goto fail;
    }
    memcpy(t->header, fields.v, ncols * sizeof *t->header);
    /* cells: everything after the header */
    t->n_rows = nlines - 1;
    memmove(fields.v, fields.v + ncols, (fields.n - ncols) * sizeof *fields.v);
    t->cells = fields.v;
    if (t->n_rows)
        memmove(lines, lines + 1, t->n_rows * sizeof *lines);
    t->line = lines;
    return SOMNA_OK;

fail:
    free(fields.v);
    free(lines);
    somna_table_free(t);
    return rc;
}

long somna_table_col(const somna_table *t, const char *name)
{
    char want[256];
    somna_strlcpy(want, name, sizeof want);
    somna_trim(want);
    for (size_t k = 0; k < t->n_cols; k++)
        if (somna_strieq(t->header[k], want))
            return (long)k;
    return -1;
}

int somna_table_require_col(const somna_table *t, const char *name, size_t *col, somna_err *err)
{
    long c = somna_table_col(t, name);
    if (c >= 0) {
        *col = (size_t)c;
        return SOMNA_OK;
    }
    char have[512];
    size_t used = 0;
    have[0] = '\0';
    for (size_t k = 0; k < t->n_cols && used + 4 < sizeof have; k++) {
        int w = snprintf(have + used, sizeof have - used, "%s%s", k ? ", " : "", t->header[k]);
        if (w < 0)
            break;
        used += (size_t)w;
        if (used >= sizeof have) {
            used = sizeof have - 1;
            break;
        }
    }
    return somna_fail(err, SOMNA_E_NOTFOUND, "%s: no column '%s' (columns: %s)", t->name, name, have);
}

int somna_table_is_missing(const somna_table *t, size_t row, size_t col)
{
    const char *c = somna_table_cell(t, row, col);
    return c[0] == '\0' || somna_strieq(c, "NA") || somna_strieq(c, "NaN") || strcmp(c, ".") == 0 ||
           somna_strieq(c, "null") || strcmp(c, "-") == 0;
}

int somna_table_get_double(const somna_table *t, size_t row, size_t col, double *out, somna_err *err)
{
    const char *c = somna_table_cell(t, row, col);
    if (somna_parse_double_str(c, out) != 0)
        return somna_fail(err, SOMNA_E_FORMAT, "%s:%zu: column %s: '%s' is not a number", t->name, t->line[row],
                          t->header[col], c);
    return SOMNA_OK;
}
