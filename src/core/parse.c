#include "somna/parse.h"

#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* The C locale object is created once and never modified: immutable shared
 * state, safe across threads. */
static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void make_c_locale(void)
{
    c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

int somna_parse_double(const char *s, size_t len, double *out)
{
    while (len > 0 && is_blank(*s)) {
        s++;
        len--;
    }
    while (len > 0 && is_blank(s[len - 1]))
        len--;
    if (len == 0 || len >= 128)
        return -1;
    char buf[128];
    memcpy(buf, s, len);
    buf[len] = '\0';
    /* strtod accepts hex floats, "inf" and "nan"; file formats never mean them. */
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E'))
            return -1;
    }
    pthread_once(&c_locale_once, make_c_locale);
    char *end = NULL;
    errno = 0;
    double v = c_locale ? strtod_l(buf, &end, c_locale) : strtod(buf, &end);
    if (end != buf + len || !isfinite(v))
        return -1;
    if (errno == ERANGE && fabs(v) > 1.0)
        return -1;
    *out = v;
    return 0;
}

int somna_parse_double_str(const char *s, double *out)
{
    return somna_parse_double(s, strlen(s), out);
}

int somna_parse_int64(const char *s, size_t len, int64_t *out)
{
    while (len > 0 && is_blank(*s)) {
        s++;
        len--;
    }
    while (len > 0 && is_blank(s[len - 1]))
        len--;
    if (len == 0)
        return -1;
    int neg = 0;
    size_t i = 0;
    if (s[0] == '+' || s[0] == '-') {
        neg = s[0] == '-';
        i = 1;
        if (len == 1)
            return -1;
    }
    uint64_t v = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (!neg && v > (uint64_t)INT64_MAX)
        return -1;
    if (neg && v > (uint64_t)INT64_MAX + 1)
        return -1;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

int somna_parse_int64_str(const char *s, int64_t *out)
{
    return somna_parse_int64(s, strlen(s), out);
}

static int lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

int somna_strieq(const char *a, const char *b)
{
    while (*a && *b) {
        if (lower((unsigned char)*a) != lower((unsigned char)*b))
            return 0;
        a++;
        b++;
    }
    return *a == *b;
}

int somna_strnieq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return 0;
        if (a[i] == '\0')
            return 1;
    }
    return 1;
}

char *somna_trim(char *s)
{
    size_t len = strlen(s);
    while (len > 0 && is_blank(s[len - 1]))
        s[--len] = '\0';
    size_t start = 0;
    while (s[start] && is_blank(s[start]))
        start++;
    if (start)
        memmove(s, s + start, len - start + 1);
    return s;
}

size_t somna_strlcpy(char *dst, const char *src, size_t size)
{
    size_t n = strlen(src);
    if (size > 0) {
        size_t c = n < size - 1 ? n : size - 1;
        memcpy(dst, src, c);
        dst[c] = '\0';
    }
    return n;
}

int somna_parse_clock(const char *s, double *seconds)
{
    char buf[64];
    if (somna_strlcpy(buf, s, sizeof buf) >= sizeof buf)
        return -1;
    somna_trim(buf);
    size_t len = strlen(buf);
    int meridian = 0; /* 0 none, 1 am, 2 pm */
    if (len >= 2) {
        const char *suf = buf + len - 2;
        if (somna_strieq(suf, "am") || somna_strieq(suf, "pm")) {
            meridian = (lower((unsigned char)suf[0]) == 'a') ? 1 : 2;
            buf[len - 2] = '\0';
            somna_trim(buf);
            len = strlen(buf);
            if (len > 0 && buf[len - 1] == '.')
                buf[--len] = '\0';
        }
    }
    /* split on ':' */
    char *parts[3] = {buf, NULL, NULL};
    int nparts = 1;
    for (char *p = buf; *p; p++) {
        if (*p == ':') {
            if (nparts == 3)
                return -1;
            *p = '\0';
            parts[nparts++] = p + 1;
        }
    }
    if (nparts < 2)
        return -1;
    int64_t h, m;
    double sec = 0;
    if (somna_parse_int64_str(parts[0], &h) || somna_parse_int64_str(parts[1], &m))
        return -1;
    if (strlen(parts[1]) != 2)
        return -1;
    if (nparts == 3 && (somna_parse_double_str(parts[2], &sec) || sec < 0 || sec >= 60))
        return -1;
    if (m < 0 || m > 59 || h < 0)
        return -1;
    if (meridian) {
        if (h < 1 || h > 12)
            return -1;
        if (meridian == 1 && h == 12)
            h = 0;
        else if (meridian == 2 && h != 12)
            h += 12;
    } else if (h > 24 || (h == 24 && (m != 0 || sec != 0))) {
        return -1;
    }
    if (h == 24)
        h = 0;
    *seconds = (double)(h * 3600 + m * 60) + sec;
    return 0;
}
