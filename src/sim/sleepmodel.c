/* somna sim — the sleep model: a hypnogram with prescribed latency, total
 * sleep time, awakenings and N3 minutes.
 *
 * Architecture follows the normative descriptions of adult sleep (Carskadon
 * & Dement, "Normal human sleep: an overview", Principles and Practice of
 * Sleep Medicine, 2011): cycles of ~90 min (NREM then REM), N3 concentrated
 * in the first third of the night, REM periods lengthening towards
 * morning, ~5 % N1, brief awakenings followed by N1.  Naps (Dinges 1989;
 * Lovato & Lack 2010) are one truncated cycle starting awake: N1 -> N2 ->
 * N3 when long enough, REM only after ~60 min of sleep.
 *
 * The model is constructive rather than a Markov chain so the parameters are
 * met exactly (to the epoch): SOL, TST, the number of wake bouts within the
 * sleep period, and the N3 and REM totals.  Randomness goes into cycle
 * lengths, the placement of awakenings, their lengths and N2/N3
 * interleaving.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "somna/sim.h"

void somna_sim_sleep_params_default(somna_sim_sleep_params *p, int nap)
{
    memset(p, 0, sizeof *p);
    p->nap = nap;
    p->tib_min = nap ? 90.0 : 480.0;
    p->sol_min = nap ? 10.0 : 15.0;
    p->efficiency = nap ? 0.75 : 0.88;
    p->fragmentation = nap ? 1.0 : 2.0;
    p->n3_min = -1.0;
    p->rem_fraction = -1.0;
    p->cycle_min = 90.0;
    p->epoch_s = 30.0;
}

void somna_sim_hypnogram_free(somna_hypnogram *h)
{
    if (!h)
        return;
    free(h->stages);
    h->stages = NULL;
    h->n_epochs = 0;
}

/* Split `total` into n integer parts proportional to w (largest remainder). */
static void apportion(long total, const double *w, int n, long *out)
{
    double sum = 0.0;
    for (int i = 0; i < n; i++)
        sum += w[i];
    long given = 0;
    double rem[64];
    for (int i = 0; i < n; i++) {
        double share = sum > 0.0 ? (double)total * w[i] / sum : 0.0;
        out[i] = (long)floor(share);
        rem[i] = share - (double)out[i];
        given += out[i];
    }
    while (given < total) {
        int best = 0;
        for (int i = 1; i < n; i++)
            if (rem[i] > rem[best])
                best = i;
        out[best]++;
        rem[best] = -1.0;
        given++;
    }
}

static long to_epochs(double minutes, double epoch_s)
{
    return lround(minutes * 60.0 / epoch_s);
}

int somna_sim_hypnogram(const somna_sim_sleep_params *p, somna_sim_rng *rng, somna_hypnogram *out,
                        somna_err *err)
{
    memset(out, 0, sizeof *out);
    if (!(p->epoch_s > 0.0))
        return somna_fail(err, SOMNA_E_ARG, "sleep model: epoch length must be > 0");
    if (!(p->tib_min > 0.0) || p->tib_min > 24.0 * 60.0)
        return somna_fail(err, SOMNA_E_ARG, "sleep model: time in bed %g min is outside (0, 1440]", p->tib_min);
    if (p->nap && (p->tib_min < 20.0 || p->tib_min > 90.0))
        return somna_fail(err, SOMNA_E_ARG, "sleep model: nap length %g min is outside 20..90 min", p->tib_min);
    if (!(p->efficiency > 0.0) || p->efficiency > 1.0)
        return somna_fail(err, SOMNA_E_ARG, "sleep model: efficiency %g is outside (0, 1]", p->efficiency);
    if (!(p->sol_min >= 0.0))
        return somna_fail(err, SOMNA_E_ARG, "sleep model: sleep-onset latency %g min is negative", p->sol_min);
    if (!(p->fragmentation >= 0.0) || p->fragmentation > 60.0)
        return somna_fail(err, SOMNA_E_ARG, "sleep model: fragmentation %g awakenings/h is outside 0..60",
                          p->fragmentation);
    if (!(p->cycle_min >= 30.0 && p->cycle_min <= 180.0))
        return somna_fail(err, SOMNA_E_ARG, "sleep model: cycle length %g min is outside 30..180", p->cycle_min);

    const double ep = p->epoch_s;
    const long E = to_epochs(p->tib_min, ep);
    const long sol = to_epochs(p->sol_min, ep);
    const long S = lround(p->efficiency * (double)E);
    if (S < 1)
        return somna_fail(err, SOMNA_E_ARG, "sleep model: efficiency %g leaves no sleep epoch", p->efficiency);
    if (sol + S > E)
        return somna_fail(err, SOMNA_E_ARG,
                          "sleep model: sleep-onset latency %g min plus total sleep %g min exceed time in bed %g min "
                          "(lower --sol or --efficiency)",
                          p->sol_min, (double)S * ep / 60.0, p->tib_min);
    const double s_min = (double)S * ep / 60.0;
    long A = lround(p->fragmentation * s_min / 60.0);
    long spare = E - sol - S; /* wake epochs available for awakenings + final wake */
    if (A > spare || (A > 0 && A > S - 2))
        return somna_fail(err, SOMNA_E_ARG,
                          "sleep model: %ld awakenings (fragmentation %g/h) do not fit in %ld wake epochs after "
                          "sleep onset (lower --efficiency or --fragmentation)",
                          A, p->fragmentation, spare);

    /* ---- stage budgets ------------------------------------------------------ */
    long n3, rem, n1;
    if (p->n3_min >= 0.0)
        n3 = to_epochs(p->n3_min, ep);
    else if (p->nap)
        n3 = lround(fmin(fmax(0.3 * (s_min - 10.0), 0.0), 0.3 * s_min) * 60.0 / ep);
    else
        n3 = lround(0.20 * (double)S);
    if (p->rem_fraction >= 0.0)
        rem = lround(p->rem_fraction * (double)S);
    else if (p->nap)
        rem = s_min >= 60.0 ? lround(0.12 * (double)S) : 0;
    else
        rem = lround(0.22 * (double)S);
    n1 = p->nap ? lround(fmax(2.0, 0.12 * (double)S)) : lround(fmax(2.0, 0.05 * (double)S));
    if (n1 > S)
        n1 = S;
    if (n1 + n3 + rem > S)
        return somna_fail(err, SOMNA_E_ARG,
                          "sleep model: N3 %g min + REM %g min + N1 %g min exceed total sleep %g min",
                          (double)n3 * ep / 60.0, (double)rem * ep / 60.0, (double)n1 * ep / 60.0, s_min);
    long n2 = S - n1 - n3 - rem;

    int C = p->nap ? 1 : (int)lround(s_min / p->cycle_min);
    if (C < 1)
        C = 1;
    if (C > 16)
        C = 16;
    double w3[16], wr[16], w2[16];
    long c3[16], cr[16], c2[16];
    for (int k = 0; k < C; k++) {
        w3[k] = pow(0.5, k) * somna_sim_rng_range(rng, 0.8, 1.2);       /* front-loaded */
        wr[k] = (1.0 + 0.7 * k) * somna_sim_rng_range(rng, 0.8, 1.2);  /* back-loaded */
        w2[k] = somna_sim_rng_range(rng, 0.8, 1.2);
    }
    if (C > 2)
        w3[C - 1] *= 0.2; /* the last cycle of a night rarely holds N3 */
    apportion(n3, w3, C, c3);
    apportion(rem, wr, C, cr);
    apportion(n2, w2, C, c2);

    int8_t *sleep = malloc((size_t)S);
    int8_t *stages = malloc((size_t)E);
    if (!sleep || !stages) {
        free(sleep);
        free(stages);
        return somna_fail(err, SOMNA_E_NOMEM, "sleep model: out of memory");
    }
    /* N1 at onset keeps one epoch per later awakening in reserve, so the
     * N1 total is roughly the budget after awakenings convert N2 to N1. */
    long n1_onset = n1 - A > 1 ? n1 - A : 1;
    if (n1_onset > n1)
        n1_onset = n1;
    long n1_extra = n1 - n1_onset; /* goes to N2 when not used by awakenings */
    c2[0] += n1_extra;

    long pos = 0;
    for (long i = 0; i < n1_onset; i++)
        sleep[pos++] = SOMNA_STAGE_N1;
    for (int k = 0; k < C; k++) {
        long a = c3[k] > 0 ? (long)floor(0.4 * (double)c2[k] + 0.5) : c2[k];
        long b = c2[k] - a;
        long n3_start = pos + a;
        for (long i = 0; i < a; i++)
            sleep[pos++] = SOMNA_STAGE_N2;
        for (long i = 0; i < c3[k]; i++)
            sleep[pos++] = SOMNA_STAGE_N3;
        long n2b_start = pos;
        for (long i = 0; i < b; i++)
            sleep[pos++] = SOMNA_STAGE_N2;
        for (long i = 0; i < cr[k]; i++)
            sleep[pos++] = SOMNA_STAGE_REM;
        /* interleave N2 into long N3 blocks (swaps keep both totals) */
        long swaps = c3[k] / 10;
        for (long s = 0; s < swaps && b > 0; s++) {
            long i3 = n3_start + (long)(somna_sim_rng_uniform(rng) * (double)c3[k]);
            long i2 = n2b_start + (long)(somna_sim_rng_uniform(rng) * (double)(b < 6 ? b : 6));
            int8_t t = sleep[i3];
            sleep[i3] = sleep[i2];
            sleep[i2] = t;
        }
    }
    /* pos == S by construction */

    /* ---- awakenings --------------------------------------------------------- */
    long *bout_at = NULL, *bout_len = NULL;
    if (A > 0) {
        bout_at = malloc((size_t)A * sizeof *bout_at);
        bout_len = malloc((size_t)A * sizeof *bout_len);
        unsigned char *taken = calloc((size_t)S, 1);
        if (!bout_at || !bout_len || !taken) {
            free(bout_at);
            free(bout_len);
            free(taken);
            free(sleep);
            free(stages);
            return somna_fail(err, SOMNA_E_NOMEM, "sleep model: out of memory");
        }
        /* positions 2..S-1: a bout sits before sleep epoch i.  Sleep is
         * rarely re-entered straight into N3, so bouts go before N3 epochs
         * only when there is no other room. */
        long room = 0;
        for (long i = 2; i < S; i++)
            room += sleep[i] != SOMNA_STAGE_N3;
        int avoid_n3 = room >= A;
        for (long a = 0; a < A; a++) {
            long i;
            do
                i = 2 + (long)(somna_sim_rng_uniform(rng) * (double)(S - 2));
            while (taken[i] || (avoid_n3 && sleep[i] == SOMNA_STAGE_N3));
            taken[i] = 1;
        }
        long k = 0;
        for (long i = 0; i < S; i++)
            if (taken[i])
                bout_at[k++] = i;
        free(taken);
        /* lengths: 1 epoch each, then the spare wake shared between bouts
         * and the final wake; brief awakenings dominate (Carskadon & Dement) */
        long left = spare - A;
        long final_wake = left > 0 ? lround((double)left * somna_sim_rng_range(rng, 0.2, 0.5)) : 0;
        left -= final_wake;
        for (long a = 0; a < A; a++)
            bout_len[a] = 1;
        while (left > 0) {
            long a = (long)(somna_sim_rng_uniform(rng) * (double)A);
            long add = 1 + (long)(somna_sim_rng_uniform(rng) * 4.0);
            if (add > left)
                add = left;
            bout_len[a] += add;
            left -= add;
        }
    }

    long o = 0;
    for (long i = 0; i < sol; i++)
        stages[o++] = SOMNA_STAGE_W;
    long b = 0;
    for (long i = 0; i < S; i++) {
        if (b < A && bout_at[b] == i) {
            for (long j = 0; j < bout_len[b]; j++)
                stages[o++] = SOMNA_STAGE_W;
            b++;
            if (sleep[i] == SOMNA_STAGE_N2)
                sleep[i] = SOMNA_STAGE_N1; /* return to sleep through N1 */
        }
        stages[o++] = sleep[i];
    }
    while (o < E)
        stages[o++] = SOMNA_STAGE_W;
    free(bout_at);
    free(bout_len);
    free(sleep);

    out->epoch_s = ep;
    out->n_epochs = (size_t)E;
    out->stages = stages;
    out->start_clock_s = -1.0;
    out->start_date[0] = '\0';
    return SOMNA_OK;
}
