/* somna — Noxturnal (Nox Medical) event exports as hypnograms.
 *
 * The export is a CSV (UTF-16 LE with BOM, decoded before we get here)
 * with columns start, end, event, duration; French installations write
 * "Heure de début,Heure de fin,Événement,Durée" and a units row "[],[],[],[s]".
 * Times are "dd/mm/yyyy HH:MM:SS".  Sleep stages are 30-s events (Éveil,
 * N1, N2, N3, REM or Sommeil paradoxal) mixed with every other event type
 * (arousals, desaturations, positions, notifications, artefacts), which are
 * not stages and are skipped.  Reference reader: rsleep's
 * read_events_noxturnal (Boupetch, R package rsleep).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "somna/hypno.h"
#include "somna/parse.h"
#include "somna/table.h"
#include "sleep/hypno_internal.h"

int64_t hypno_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t mp = (int64_t)((m + 9) % 12);
    const int64_t doy = (153 * mp + 2) / 5 + (int64_t)d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int parse_uint(const char *s, size_t n, unsigned *out)
{
    unsigned v = 0;
    if (n == 0 || n > 4)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return 0;
}

/* "dd/mm/yyyy HH:MM:SS[.fff]" or "yyyy-mm-dd[ T]HH:MM:SS[.fff]" -> seconds
 * since 1970-01-01 (time zone irrelevant: only differences are used) and
 * the date as "YYYY-MM-DD". */
static int parse_datetime(const char *s, double *t, char date[16])
{
    unsigned y, mo, d;
    const char *sp = s;
    while (*sp && *sp != ' ' && *sp != 'T')
        sp++;
    size_t dl = (size_t)(sp - s);
    if (dl == 10 && s[2] == '/' && s[5] == '/') {
        if (parse_uint(s, 2, &d) || parse_uint(s + 3, 2, &mo) || parse_uint(s + 6, 4, &y))
            return -1;
    } else if (dl == 10 && s[4] == '-' && s[7] == '-') {
        if (parse_uint(s, 4, &y) || parse_uint(s + 5, 2, &mo) || parse_uint(s + 8, 2, &d))
            return -1;
    } else {
        return -1;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || !*sp)
        return -1;
    double clock;
    if (somna_parse_clock(sp + 1, &clock))
        return -1;
    *t = (double)hypno_days_from_civil((int64_t)y, mo, d) * 86400.0 + clock;
    snprintf(date, 16, "%04u-%02u-%02u", y % 10000u, mo, d);
    return 0;
}

/* Stage events only: W, N1, N2, N3, REM.  "Artefact", "Micro-éveil" and
 * the rest are events inside epochs, not stages. */
static int nox_stage(const char *ev, int *stage)
{
    int st;
    if (somna_hypno_parse_label(ev, &st) != 0)
        return 0;
    if (st < SOMNA_STAGE_W || st > SOMNA_STAGE_REM)
        return 0;
    /* one-letter aliases of the generic table are not Noxturnal stage names */
    if (strlen(ev) < 2 && st != SOMNA_STAGE_W && st != SOMNA_STAGE_REM)
        return 0;
    *stage = st;
    return 1;
}

int hypno_read_noxturnal(const char *text, size_t len, const char *name, const somna_hypno_read_opts *o,
                         somna_hypnogram *h, somna_err *err)
{
    somna_table_opts to = {0};
    to.delim = ',';
    to.allow_ragged = 1;
    somna_table t;
    int rc = somna_table_parse(text, len, name, &to, &t, err);
    if (rc)
        return rc;
    if (t.n_cols < 3) {
        somna_table_free(&t);
        return somna_fail(err, SOMNA_E_FORMAT,
                          "%s:1: Noxturnal export needs columns start, end, event (found %zu column(s))", name,
                          t.n_cols);
    }
    hypno_interval *iv = malloc((t.n_rows ? t.n_rows : 1) * sizeof *iv);
    if (!iv) {
        somna_table_free(&t);
        return somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory", name);
    }
    size_t n = 0;
    for (size_t r = 0; r < t.n_rows; r++) {
        const char *c0 = somna_table_cell(&t, r, 0);
        const char *c1 = somna_table_cell(&t, r, 1);
        const char *ev = somna_table_cell(&t, r, 2);
        if (strcmp(c0, "[]") == 0) /* units row */
            continue;
        int st;
        if (!nox_stage(ev, &st))
            continue;
        double b, e;
        char date[16];
        if (parse_datetime(c0, &b, date)) {
            rc = somna_fail(err, SOMNA_E_FORMAT, "%s:%zu: start time '%s' is not 'dd/mm/yyyy HH:MM:SS'", name,
                            t.line[r], c0);
            break;
        }
        if (parse_datetime(c1, &e, date)) {
            rc = somna_fail(err, SOMNA_E_FORMAT, "%s:%zu: end time '%s' is not 'dd/mm/yyyy HH:MM:SS'", name,
                            t.line[r], c1);
            break;
        }
        iv[n].onset = b;
        iv[n].duration = e - b;
        iv[n].stage = st;
        iv[n].tag = t.line[r];
        n++;
    }
    somna_table_free(&t);
    if (rc) {
        free(iv);
        return rc;
    }
    double t0 = 0;
    rc = hypno_from_intervals(iv, n, o && o->epoch_s > 0 ? o->epoch_s : 30.0, o ? o->fill_gaps : 0, name, "line", h,
                              &t0, err);
    free(iv);
    if (rc)
        return rc;
    h->start_clock_s = fmod(t0, 86400.0);
    /* the date of the earliest stage (intervals are sorted by onset) */
    {
        int64_t days = (int64_t)floor(t0 / 86400.0);
        /* civil_from_days (Hinnant) to print the date of epoch 0 */
        int64_t z = days + 719468;
        int64_t era = (z >= 0 ? z : z - 146096) / 146097;
        int64_t doe = z - era * 146097;
        int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int64_t y = yoe + era * 400;
        int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        int64_t mp = (5 * doy + 2) / 153;
        int64_t d = doy - (153 * mp + 2) / 5 + 1;
        int64_t m = mp < 10 ? mp + 3 : mp - 9;
        y += m <= 2;
        snprintf(h->start_date, sizeof h->start_date, "%04d-%02d-%02d", (int)(y % 10000), (int)m, (int)d);
    }
    return SOMNA_OK;
}
