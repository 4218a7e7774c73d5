/* Pittsburgh Sleep Quality Index.
 * Source: Buysse DJ, Reynolds CF, Monk TH, Berman SR, Kupfer DJ. The
 * Pittsburgh Sleep Quality Index: a new instrument for psychiatric practice
 * and research. Psychiatry Res 1989;28:193-213 (scoring appendix).
 *
 * Seven components 0-3, global = their sum 0-21, "poor sleeper" if global
 * > 5.  Where the published tables leave a boundary open (6 h is in both
 * "6-7" and "5-6"; 85 % in neither ">85" nor "75-84") we take the reading
 * stated in docs/questionnaires.md: hours 6 -> 1, 5 -> 2, 7 -> 1;
 * efficiency 85 % -> 1, 75 % -> 1, 65 % -> 2.
 *
 * Missing answers never become zeros silently.  A component that sums two or
 * more items is still scored when its band is the same for every possible
 * value of the unanswered items (the score is then exact); otherwise it is
 * not computable and the problem names the item.
 */
#include <math.h>
#include <stdio.h>

#include "survey/survey_internal.h"

const sv_field sv_psqi_fields[] = {
    {"psqi_01", "psqi_bedtime|psqi_bed_time", "1 usual bed time (clock)", 0},
    {"psqi_02", "psqi_latency|psqi_sol|psqi_minutes_to_sleep", "2 minutes to fall asleep", 0},
    {"psqi_03", "psqi_risetime|psqi_getup|psqi_wake_time", "3 usual getting-up time (clock)", 0},
    {"psqi_04", "psqi_sleephours|psqi_hours_sleep|psqi_sleep_hours", "4 hours of actual sleep per night", 0},
    {"psqi_05a", "", "5a cannot get to sleep within 30 min (0-3)", 0},
    {"psqi_05b", "", "5b wake up in the middle of the night or early morning (0-3)", 0},
    {"psqi_05c", "", "5c have to get up to use the bathroom (0-3)", 0},
    {"psqi_05d", "", "5d cannot breathe comfortably (0-3)", 0},
    {"psqi_05e", "", "5e cough or snore loudly (0-3)", 0},
    {"psqi_05f", "", "5f feel too cold (0-3)", 0},
    {"psqi_05g", "", "5g feel too hot (0-3)", 0},
    {"psqi_05h", "", "5h had bad dreams (0-3)", 0},
    {"psqi_05i", "", "5i have pain (0-3)", 0},
    {"psqi_05j", "", "5j other reason(s), rated only when described (0-3)", 1},
    {"psqi_06", "psqi_quality", "6 overall sleep quality (0 very good - 3 very bad)", 0},
    {"psqi_07", "psqi_medication", "7 medicine to help you sleep (0-3)", 0},
    {"psqi_08", "", "8 trouble staying awake during the day (0-3)", 0},
    {"psqi_09", "", "9 problem keeping up enthusiasm (0-3)", 0},
    {"psqi_tib", "psqi_hours_in_bed|psqi_tib_h", "hours in bed, if the form asks it (else from items 1 and 3)", 1},
};
const size_t sv_psqi_n_fields = sizeof sv_psqi_fields / sizeof sv_psqi_fields[0];

/* Item 2 minutes -> 0-3: <= 15 -> 0, 16-30 -> 1, 31-60 -> 2, > 60 -> 3. */
static int latency_score(double minutes)
{
    if (minutes <= 15)
        return 0;
    if (minutes <= 30)
        return 1;
    if (minutes <= 60)
        return 2;
    return 3;
}

/* Components 2 and 7: sum 0 -> 0, 1-2 -> 1, 3-4 -> 2, 5-6 -> 3. */
static int band_pair(int sum)
{
    return sum == 0 ? 0 : (sum + 1) / 2;
}

/* Component 5: sum of 5b-5j 0 -> 0, 1-9 -> 1, 10-18 -> 2, 19-27 -> 3. */
static int band_disturbance(int sum)
{
    return sum == 0 ? 0 : (sum + 8) / 9;
}

/* Component 3 from item 4: > 7 h -> 0, 6-7 -> 1, 5-<6 -> 2, < 5 -> 3. */
static int duration_score(double hours)
{
    if (hours > 7)
        return 0;
    if (hours >= 6)
        return 1;
    if (hours >= 5)
        return 2;
    return 3;
}

/* Component 4 from efficiency %: > 85 -> 0, 75-85 -> 1, 65-<75 -> 2, < 65 -> 3. */
static int efficiency_score(double pct)
{
    /* Round away binary noise so 6.8 h / 8 h is exactly 85 %. */
    double p = round(pct * 1e6) / 1e6;
    if (p > 85)
        return 0;
    if (p >= 75)
        return 1;
    if (p >= 65)
        return 2;
    return 3;
}

/* Read a 0-3 item for a summed component: known -> lo = hi = value,
 * unknown -> lo 0, hi 3.  Returns 1 when unknown. */
static int item_bounds(sv_rec *r, const char *field, int *lo, int *hi)
{
    int v;
    if (sv_item(r, field, 0, 3, &v) == SV_OK) {
        *lo += v;
        *hi += v;
        return 0;
    }
    *hi += 3;
    return 1;
}

void sv_score_psqi(sv_rec *r, const somna_survey_opts *opts)
{
    double *out = r->res->value;
    int missing_as_zero = opts && opts->psqi_missing_as_zero;
    int v;
    /* Range each component could take given the unanswered items (0-3 when
     * nothing is known); used for the poor-sleeper flag when global is null. */
    int clo[7] = {0, 0, 0, 0, 0, 0, 0}, chi[7] = {3, 3, 3, 3, 3, 3, 3};

    /* C1: item 6 as answered. */
    int st = sv_item(r, "psqi_06", 0, 3, &v);
    if (st == SV_OK)
        out[SOMNA_PSQI_C1] = v;
    else if (st == SV_MISSING)
        sv_problem(r, "psqi_06", 1, "not answered: component 1 (sleep quality) not computable");

    /* C2: latency score of item 2 + item 5a, banded. */
    {
        int lo = 0, hi = 0, unknown = 0;
        double minutes;
        st = sv_duration(r, "psqi_02", "min", 0, 24 * 60, &minutes);
        if (st == SV_OK) {
            lo += latency_score(minutes);
            hi += latency_score(minutes);
        } else {
            unknown++;
            hi += 3;
            if (st == SV_MISSING)
                sv_problem(r, "psqi_02", 0, "not answered");
        }
        if (item_bounds(r, "psqi_05a", &lo, &hi)) {
            unknown++;
            char t[8];
            if (sv_text(r, "psqi_05a", t, sizeof t) == SV_MISSING)
                sv_problem(r, "psqi_05a", 0, "not answered");
        }
        clo[1] = band_pair(lo);
        chi[1] = band_pair(hi);
        if (band_pair(lo) == band_pair(hi)) {
            out[SOMNA_PSQI_C2] = band_pair(lo);
            if (unknown)
                sv_problem(r, "", 0, "component 2 (latency) = %d whatever the unanswered item(s)", band_pair(lo));
        } else {
            sv_problem(r, "", 1, "component 2 (latency) not computable: could be %d-%d", band_pair(lo),
                       band_pair(hi));
        }
    }

    /* C3 and C4 need item 4 (hours of sleep). */
    double hours = NAN;
    st = sv_duration(r, "psqi_04", "h", 0, 24, &hours);
    if (st == SV_OK) {
        out[SOMNA_PSQI_C3] = duration_score(hours);
    } else {
        hours = NAN;
        if (st == SV_MISSING)
            sv_problem(r, "psqi_04", 1, "not answered: components 3 (duration) and 4 (efficiency) not computable");
    }

    /* Hours in bed: getting-up time minus bed time, across midnight; or the
     * form's own hours-in-bed answer when the clock times are absent. */
    double tib = NAN;
    {
        double bed, rise;
        int sb = sv_clock(r, "psqi_01", &bed);
        int sr = sv_clock(r, "psqi_03", &rise);
        if (sb == SV_OK && sr == SV_OK) {
            double d = rise - bed;
            if (d < 0)
                d += 86400;
            if (d <= 0) {
                sv_problem(r, "psqi_03", 1,
                           "getting-up time equals bed time: hours in bed would be 0 or 24, rejected");
            } else {
                tib = d / 3600;
                if (tib > 16)
                    sv_problem(r, "psqi_01", 0,
                               "%.2f h in bed from bed time to getting-up time (24-h clock assumed; check am/pm)",
                               tib);
            }
        } else if (sb == SV_MISSING && sr == SV_MISSING) {
            double t;
            int stt = sv_real(r, "psqi_tib", -1e9, 1e9, &t);
            if (stt == SV_OK) {
                if (t <= 0 || t > 24)
                    sv_problem(r, "psqi_tib", 1, "%g hours in bed is impossible (must be > 0 and <= 24)", t);
                else
                    tib = t;
            } else if (stt == SV_MISSING) {
                sv_problem(r, "psqi_01", 1, "bed time and getting-up time not answered: component 4 not computable");
            }
        } else {
            if (sb == SV_MISSING)
                sv_problem(r, "psqi_01", 1, "not answered: component 4 (efficiency) not computable");
            if (sr == SV_MISSING)
                sv_problem(r, "psqi_03", 1, "not answered: component 4 (efficiency) not computable");
        }
    }
    out[SOMNA_PSQI_TIB_H] = tib;
    if (isfinite(hours) && isfinite(tib)) {
        double se = hours / tib * 100;
        if (se > 100) {
            sv_problem(r, "psqi_04", 0, "%g h of sleep exceeds %.2f h in bed: efficiency taken as 100 %%", hours,
                       tib);
            se = 100;
        }
        out[SOMNA_PSQI_SE_PCT] = se;
        out[SOMNA_PSQI_C4] = efficiency_score(se);
    }

    /* C5: sum of 5b-5j.  5j is rated only when the respondent describes an
     * other reason, so a blank 5j is 0 by the form's design. */
    {
        static const char *const items[] = {"psqi_05b", "psqi_05c", "psqi_05d", "psqi_05e", "psqi_05f",
                                            "psqi_05g", "psqi_05h", "psqi_05i"};
        int lo = 0, hi = 0, unknown = 0;
        for (size_t i = 0; i < sizeof items / sizeof items[0]; i++) {
            int x;
            st = sv_item(r, items[i], 0, 3, &x);
            if (st == SV_OK) {
                lo += x;
                hi += x;
            } else if (st == SV_MISSING && missing_as_zero) {
                sv_problem(r, items[i], 0, "not answered: counted as 0 (--psqi-missing-zero rule)");
            } else {
                if (st == SV_MISSING)
                    sv_problem(r, items[i], 0, "not answered");
                hi += 3;
                unknown++;
            }
        }
        int x;
        st = sv_item(r, "psqi_05j", 0, 3, &x);
        if (st == SV_OK) {
            lo += x;
            hi += x;
        } else if (st == SV_BAD) {
            hi += 3;
            unknown++;
        }
        clo[4] = band_disturbance(lo);
        chi[4] = band_disturbance(hi);
        if (band_disturbance(lo) == band_disturbance(hi)) {
            out[SOMNA_PSQI_C5] = band_disturbance(lo);
            if (unknown)
                sv_problem(r, "", 0, "component 5 (disturbances) = %d whatever the unanswered item(s)",
                           band_disturbance(lo));
        } else {
            sv_problem(r, "", 1, "component 5 (disturbances) not computable: could be %d-%d", band_disturbance(lo),
                       band_disturbance(hi));
        }
    }

    /* C6: item 7 as answered. */
    st = sv_item(r, "psqi_07", 0, 3, &v);
    if (st == SV_OK)
        out[SOMNA_PSQI_C6] = v;
    else if (st == SV_MISSING)
        sv_problem(r, "psqi_07", 1, "not answered: component 6 (medication) not computable");

    /* C7: item 8 + item 9, banded. */
    {
        int lo = 0, hi = 0, unknown = 0;
        static const char *const items[] = {"psqi_08", "psqi_09"};
        for (size_t i = 0; i < 2; i++) {
            int x;
            st = sv_item(r, items[i], 0, 3, &x);
            if (st == SV_OK) {
                lo += x;
                hi += x;
            } else {
                if (st == SV_MISSING)
                    sv_problem(r, items[i], 0, "not answered");
                hi += 3;
                unknown++;
            }
        }
        clo[6] = band_pair(lo);
        chi[6] = band_pair(hi);
        if (band_pair(lo) == band_pair(hi)) {
            out[SOMNA_PSQI_C7] = band_pair(lo);
            if (unknown)
                sv_problem(r, "", 0, "component 7 (daytime dysfunction) = %d whatever the unanswered item(s)",
                           band_pair(lo));
        } else {
            sv_problem(r, "", 1, "component 7 (daytime dysfunction) not computable: could be %d-%d", band_pair(lo),
                       band_pair(hi));
        }
    }

    /* Global: the sum of all seven components, or not computable.  The
     * poor-sleeper flag is still known when the smallest global the
     * unanswered items allow already exceeds 5, or the largest cannot. */
    int known = 0, gmin = 0, gmax = 0;
    for (int c = 0; c < 7; c++) {
        if (isfinite(out[SOMNA_PSQI_C1 + c])) {
            known++;
            clo[c] = chi[c] = (int)out[SOMNA_PSQI_C1 + c];
        }
        gmin += clo[c];
        gmax += chi[c];
    }
    if (known == 7) {
        out[SOMNA_PSQI_GLOBAL] = gmin;
        out[SOMNA_PSQI_POOR] = gmin > 5;
        r->res->band = gmin > 5 ? "poor" : "good";
    } else {
        sv_problem(r, "", 1, "global score not computable: %d of 7 components missing (global could be %d-%d)",
                   7 - known, gmin, gmax);
        if (gmin > 5)
            out[SOMNA_PSQI_POOR] = 1;
        else if (gmax <= 5)
            out[SOMNA_PSQI_POOR] = 0;
    }
}
