/* somna io — EDF+ time-stamped annotation lists (TALs).
 *
 * Reference: Kemp & Olivan 2003, "European data format 'plus' (EDF+)",
 * section 2.2.2: a TAL is
 *     Onset [0x15 Duration] 0x14 [Text 0x14]... 0x00
 * with Onset = '+' or '-' then digits with an optional '.' fraction, and
 * Duration = digits with an optional fraction.  The bytes after the last TAL
 * of a record's annotation signal are 0x00 padding.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "io/edf_internal.h"
#include "somna/parse.h"

enum { TAL_TEXT_SEP = 0x14, TAL_DUR_SEP = 0x15, TAL_MAX_TEXTS = 64 };

/* digits with at most one '.', at least one digit (EDF+ 2.2.2). */
static int tal_number_ok(const unsigned char *s, size_t n)
{
    int digits = 0, dots = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] >= '0' && s[i] <= '9')
            digits++;
        else if (s[i] == '.' && dots == 0)
            dots++;
        else
            return 0;
    }
    return digits > 0;
}

static void printable(const unsigned char *s, size_t n, char *out, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 5 < size; i++) {
        if (s[i] >= 32 && s[i] < 127)
            out[o++] = (char)s[i];
        else
            o += (size_t)snprintf(out + o, size - o, "\\x%02x", s[i]);
    }
    out[o < size ? o : size - 1] = '\0';
}

/* Failure message, prefixed with `where` when the caller gave one (the
 * reader passes NULL and prefixes only on failure: formatting a location
 * for every record of a long night would cost more than parsing it). */
static int tal_fail(somna_err *err, const char *where, const char *fmt, ...) SOMNA_PRINTF(3, 4);
static int tal_fail(somna_err *err, const char *where, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (where)
        return somna_fail(err, SOMNA_E_FORMAT, "%s: %s", where, msg);
    return somna_fail(err, SOMNA_E_FORMAT, "%s", msg);
}

int somna_edf_parse_tals(const unsigned char *buf, size_t len, const char *where, const edf_tal_cb *cb,
                         somna_err *err)
{
    size_t pos = 0;
    while (pos < len && buf[pos] != 0) {
        size_t start = pos;
        if (buf[pos] != '+' && buf[pos] != '-')
            return tal_fail(err, where,
                            "TAL at byte %zu: onset must start with '+' or '-', found byte 0x%02x", start, buf[pos]);
        size_t o0 = pos;
        pos++;
        while (pos < len && buf[pos] != TAL_TEXT_SEP && buf[pos] != TAL_DUR_SEP && buf[pos] != 0)
            pos++;
        if (pos >= len || buf[pos] == 0)
            return tal_fail(err, where,
                            "TAL at byte %zu: onset is not followed by 0x14 or 0x15 before the end of "
                            "the annotation signal",
                            start);
        char shown[96];
        double onset;
        if (!tal_number_ok(buf + o0 + 1, pos - o0 - 1) ||
            somna_parse_double((const char *)buf + o0, pos - o0, &onset) != 0) {
            printable(buf + o0, pos - o0, shown, sizeof shown);
            return tal_fail(err, where, "TAL at byte %zu: onset '%s' is not a number", start,
                            shown);
        }
        double duration = -1.0;
        int has_duration = 0;
        if (buf[pos] == TAL_DUR_SEP) {
            size_t d0 = ++pos;
            while (pos < len && buf[pos] != TAL_TEXT_SEP && buf[pos] != 0)
                pos++;
            if (pos >= len || buf[pos] == 0)
                return tal_fail(err, where,
                                "TAL at byte %zu: duration is not followed by 0x14 before the end of the "
                                "TAL",
                                start);
            if (!tal_number_ok(buf + d0, pos - d0) ||
                somna_parse_double((const char *)buf + d0, pos - d0, &duration) != 0) {
                printable(buf + d0, pos - d0, shown, sizeof shown);
                return tal_fail(err, where, "TAL at byte %zu: duration '%s' is not a number",
                                start, shown);
            }
            has_duration = 1;
        }
        pos++; /* the 0x14 closing onset/duration */
        const char *texts[TAL_MAX_TEXTS];
        size_t lens[TAL_MAX_TEXTS];
        size_t n_texts = 0;
        for (;;) {
            if (pos >= len)
                return tal_fail(err, where,
                                "TAL at byte %zu is not terminated by 0x14 0x00 before the end of the "
                                "annotation signal",
                                start);
            size_t t0 = pos;
            while (pos < len && buf[pos] != TAL_TEXT_SEP && buf[pos] != 0)
                pos++;
            if (pos >= len)
                return tal_fail(err, where,
                                "TAL at byte %zu is not terminated by 0x14 0x00 before the end of the "
                                "annotation signal",
                                start);
            if (pos > t0) {
                if (n_texts == TAL_MAX_TEXTS)
                    return tal_fail(err, where, "TAL at byte %zu has more than %d texts", start, TAL_MAX_TEXTS);
                texts[n_texts] = (const char *)buf + t0;
                lens[n_texts] = pos - t0;
                n_texts++;
            }
            if (buf[pos] == 0) {
                /* Lenient: a TAL whose last text lacks its closing 0x14
                 * (some writers emit "+0\x14\x00"); the 0x00 still ends it. */
                pos++;
                break;
            }
            pos++; /* 0x14 */
            if (pos < len && buf[pos] == 0) {
                pos++;
                break;
            }
        }
        if (cb && cb->on_tal) {
            int rc = cb->on_tal(cb->ctx, onset, duration, has_duration, texts, lens, n_texts, start, err);
            if (rc != SOMNA_OK)
                return rc;
        }
    }
    return SOMNA_OK;
}
