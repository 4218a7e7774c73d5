/* Consensus Sleep Diary, core items, one night per record, and weekly means.
 * Source: Carney CE, Buysse DJ, Ancoli-Israel S, et al. The Consensus Sleep
 * Diary: standardizing prospective sleep self-monitoring. Sleep
 * 2012;35(2):287-302 (core diary items 1-8).
 *
 * Derived measures (the paper lists the targets, not one formula; ours):
 *   TIB  = out of bed (7) - into bed (1), across midnight, minutes;
 *   TST  = [final awakening (6) - tried to sleep (2)] - SOL (3) - WASO (5);
 *   SE   = TST / TIB x 100;
 *   WASO = item 5 (awakenings during the night, final awakening excluded);
 *   SOL  = item 3;  TWAK = out of bed - final awakening (terminal wake),
 *   reported separately rather than added to WASO.
 * All clock times are placed on one timeline that starts at bed time, so a
 * night that crosses midnight needs no date; the order bed <= try <= final
 * awakening <= out of bed must hold or the night is not scorable.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "somna/parse.h"
#include "survey/survey_internal.h"

const sv_field sv_diary_fields[] = {
    {"csd_bedtime", "csd_1|bedtime|bed_time|into_bed|time_into_bed", "1 time got into bed (clock)", 0},
    {"csd_try", "csd_2|try_sleep|try_to_sleep|sleep_attempt|lights_off|lights_out",
     "2 time tried to go to sleep (clock); absent = bed time", 1},
    {"csd_sol", "csd_3|sol|sol_min|sleep_onset_latency", "3 minutes to fall asleep", 0},
    {"csd_nwak", "csd_4|nwak|awakenings|n_awakenings|num_awakenings", "4 number of awakenings", 1},
    {"csd_waso", "csd_5|waso|waso_min", "5 total minutes of those awakenings", 0},
    {"csd_final_wake", "csd_6|final_wake|final_awakening|wake_time|waketime", "6 time of final awakening (clock)",
     0},
    {"csd_out_of_bed", "csd_7|out_of_bed|outbed|out_bed|rise_time|risetime|getup_time",
     "7 time got out of bed for the day (clock)", 0},
    {"csd_quality", "csd_8|quality|sleep_quality", "8 sleep quality 1 very poor - 5 very good (or the words)", 1},
};
const size_t sv_diary_n_fields = sizeof sv_diary_fields / sizeof sv_diary_fields[0];

static int quality_word(const char *s)
{
    static const char *const words[] = {"very poor", "poor", "fair", "good", "very good"};
    for (int i = 0; i < 5; i++)
        if (somna_strieq(s, words[i]))
            return i + 1;
    return 0;
}

/* Minutes after bed time of a clock time, in [0, 1440). */
static double after_bed(double bed_s, double t_s)
{
    double d = t_s - bed_s;
    if (d < 0)
        d += 86400;
    return d / 60;
}

static void clock_text(double s, char *buf, size_t size)
{
    long m = lround(s / 60);
    snprintf(buf, size, "%02ld:%02ld", (m / 60) % 24, m % 60);
}

void sv_score_diary(sv_rec *r)
{
    double *out = r->res->value;
    double bed, try_s, fin, outb, sol, waso;
    int sb = sv_clock(r, "csd_bedtime", &bed);
    int st = sv_clock(r, "csd_try", &try_s);
    int sf = sv_clock(r, "csd_final_wake", &fin);
    int so = sv_clock(r, "csd_out_of_bed", &outb);
    int ss = sv_duration(r, "csd_sol", "min", 0, 1440, &sol);
    int sw = sv_duration(r, "csd_waso", "min", 0, 1440, &waso);

    if (sb == SV_MISSING)
        sv_problem(r, "csd_bedtime", 1, "not answered: TIB, TST, SE not computable");
    if (sf == SV_MISSING)
        sv_problem(r, "csd_final_wake", 1, "not answered: TST, SE not computable");
    if (so == SV_MISSING)
        sv_problem(r, "csd_out_of_bed", 1, "not answered: TIB, SE not computable");
    if (ss == SV_MISSING)
        sv_problem(r, "csd_sol", 1, "not answered: TST, SE not computable");
    if (sw == SV_MISSING)
        sv_problem(r, "csd_waso", 1, "not answered: TST, SE not computable");
    if (st == SV_MISSING && sb == SV_OK) {
        try_s = bed; /* the diary says: same as bed time when the respondent tried at once */
        st = SV_OK;
    }
    if (ss == SV_OK)
        out[SOMNA_DIARY_SOL] = sol;
    if (sw == SV_OK)
        out[SOMNA_DIARY_WASO] = waso;

    int n;
    int sn = sv_item(r, "csd_nwak", 0, 1000, &n);
    if (sn == SV_OK) {
        out[SOMNA_DIARY_NWAK] = n;
        if (n == 0 && sw == SV_OK && waso > 0)
            sv_problem(r, "csd_waso", 0, "%g min of awakenings reported with 0 awakenings", waso);
    }

    char qb[64];
    if (sv_text(r, "csd_quality", qb, sizeof qb) == SV_OK) {
        int q = quality_word(qb);
        if (q)
            out[SOMNA_DIARY_QUALITY] = q;
        else if (sv_item(r, "csd_quality", 1, 5, &q) == SV_OK)
            out[SOMNA_DIARY_QUALITY] = q;
    }

    if (sb != SV_OK)
        return;
    double tib = NAN;
    if (so == SV_OK) {
        tib = after_bed(bed, outb);
        if (tib <= 0) {
            sv_problem(r, "csd_out_of_bed", 1, "out-of-bed time equals bed time: TIB would be 0 or 24 h, rejected");
            tib = NAN;
        } else {
            out[SOMNA_DIARY_TIB] = tib;
            if (tib > 16 * 60)
                sv_problem(r, "csd_bedtime", 0, "%.2f h in bed (24-h clock assumed; check am/pm)", tib / 60);
        }
    }
    if (st != SV_OK || sf != SV_OK)
        return;
    double t_try = after_bed(bed, try_s);
    double t_fin = after_bed(bed, fin);
    char a[16], b[16];
    if (t_try > t_fin) {
        /* On the bed-time timeline a "try" before bed time wraps to the next
         * day, so both mistakes land here; name the times as given. */
        char c[16];
        clock_text(try_s, a, sizeof a);
        clock_text(fin, b, sizeof b);
        clock_text(bed, c, sizeof c);
        sv_problem(r, "csd_try", 1,
                   "tried to sleep at %s, which is not between bed time %s and final awakening %s", a, c, b);
        return;
    }
    if (isfinite(tib)) {
        if (t_fin > tib) {
            clock_text(fin, a, sizeof a);
            clock_text(outb, b, sizeof b);
            sv_problem(r, "csd_final_wake", 1, "final awakening %s comes after getting out of bed at %s", a, b);
            out[SOMNA_DIARY_TIB] = NAN;
            return;
        }
        out[SOMNA_DIARY_TWAK] = tib - t_fin;
    }
    if (ss != SV_OK || sw != SV_OK)
        return;
    double tst = (t_fin - t_try) - sol - waso;
    if (tst < 0) {
        sv_problem(r, "csd_sol", 1,
                   "SOL %g min + WASO %g min exceed the %g min from trying to sleep to the final awakening", sol, waso,
                   t_fin - t_try);
        return;
    }
    out[SOMNA_DIARY_TST] = tst;
    if (isfinite(tib))
        out[SOMNA_DIARY_SE] = tst / tib * 100;
}

/* ---- dates ------------------------------------------------------------------ */

/* Days from civil date (proleptic Gregorian).  Source: H. Hinnant,
 * "chrono-Compatible Low-Level Date Algorithms" (days_from_civil). */
static int32_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + doe - 719468);
}

static void civil_from_days(int64_t z, int64_t *y, int64_t *m, int64_t *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

int somna_survey_parse_date(const char *s, int32_t *day)
{
    char buf[40];
    if (!s || somna_strlcpy(buf, s, sizeof buf) >= sizeof buf)
        return -1;
    somna_trim(buf);
    if (strlen(buf) < 10)
        return -1;
    char sep = buf[4];
    if ((sep != '-' && sep != '/') || buf[7] != sep)
        return -1;
    if (buf[10] != '\0' && buf[10] != 'T' && buf[10] != ' ')
        return -1;
    int64_t y, m, d;
    if (somna_parse_int64(buf, 4, &y) || somna_parse_int64(buf + 5, 2, &m) || somna_parse_int64(buf + 8, 2, &d))
        return -1;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (buf[i] < '0' || buf[i] > '9'))
            return -1;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12 || d < 1)
        return -1;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[m - 1] + (m == 2 && leap))
        return -1;
    *day = days_from_civil(y, m, d);
    return 0;
}

void somna_survey_format_date(int32_t day, char *buf, size_t size)
{
    int64_t y, m, d;
    civil_from_days(day, &y, &m, &d);
    snprintf(buf, size, "%04lld-%02lld-%02lld", (long long)y, (long long)m, (long long)d);
}

/* ---- weekly means -------------------------------------------------------------- */

static int cmp_night(const void *pa, const void *pb)
{
    const somna_diary_night *a = *(const somna_diary_night *const *)pa;
    const somna_diary_night *b = *(const somna_diary_night *const *)pb;
    int c = strcmp(a->participant, b->participant);
    if (c)
        return c;
    return (a->day > b->day) - (a->day < b->day);
}

int somna_survey_diary_weeks(const somna_diary_night *nights, size_t n, somna_diary_week **weeks, size_t *n_weeks,
                             somna_err *err)
{
    if (!weeks || !n_weeks || (n && !nights))
        return somna_fail(err, SOMNA_E_ARG, "somna_survey_diary_weeks: NULL argument");
    *weeks = NULL;
    *n_weeks = 0;
    if (n == 0)
        return SOMNA_OK;
    for (size_t i = 0; i < n; i++)
        if (!nights[i].participant)
            return somna_fail(err, SOMNA_E_ARG, "diary night %zu has no participant", i + 1);
    const somna_diary_night **order = malloc(n * sizeof *order);
    somna_diary_week *w = calloc(n, sizeof *w); /* at most one week per night */
    if (!order || !w) {
        free(order);
        free(w);
        return somna_fail(err, SOMNA_E_NOMEM, "diary weeks: out of memory for %zu nights", n);
    }
    for (size_t i = 0; i < n; i++)
        order[i] = &nights[i];
    qsort(order, n, sizeof *order, cmp_night);

    size_t nw = 0;
    int32_t first = 0;
    const char *who = NULL;
    for (size_t i = 0; i < n; i++) {
        const somna_diary_night *x = order[i];
        if (!who || strcmp(who, x->participant) != 0) {
            who = x->participant;
            first = x->day;
        } else if (x->day == order[i - 1]->day) {
            char d[16];
            somna_survey_format_date(x->day, d, sizeof d);
            somna_warn(err, "participant %s: more than one diary entry for %s (both averaged)", who, d);
        }
        int week = (int)((x->day - first) / 7) + 1;
        if (nw == 0 || w[nw - 1].participant != who || w[nw - 1].week != week) {
            somna_diary_week *nwk = &w[nw++];
            nwk->participant = who;
            nwk->week = week;
            nwk->first_day = first + 7 * (week - 1);
            for (size_t k = 0; k < SOMNA_SURVEY_MAX_OUTPUTS; k++)
                nwk->mean[k] = 0;
        }
        somna_diary_week *cur = &w[nw - 1];
        cur->n_nights++;
        for (size_t k = 0; k < SOMNA_SURVEY_MAX_OUTPUTS; k++)
            if (isfinite(x->value[k])) {
                cur->n[k]++;
                cur->mean[k] += x->value[k];
            }
    }
    for (size_t j = 0; j < nw; j++)
        for (size_t k = 0; k < SOMNA_SURVEY_MAX_OUTPUTS; k++)
            w[j].mean[k] = w[j].n[k] ? w[j].mean[k] / (double)w[j].n[k] : NAN;
    free(order);
    *weeks = w;
    *n_weeks = nw;
    return SOMNA_OK;
}
