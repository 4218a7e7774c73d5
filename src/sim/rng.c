/* somna sim — the simulator's own PRNG.
 *
 * xoshiro256** (Blackman & Vigna 2018, "Scrambled linear pseudorandom
 * number generators"), seeded through splitmix64 (Steele et al. 2014) so any
 * 64-bit seed gives a well-mixed state.  Sub-streams hash (seed, stream)
 * together instead of using jump polynomials: streams need only be
 * independent in practice, not provably disjoint.
 */
#include <math.h>

#include "somna/sim.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void somna_sim_rng_seed(somna_sim_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed;
    uint64_t mix = splitmix64(&x) ^ (stream * 0xD1B54A32D192ED03ULL);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&mix);
    if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0)
        r->s[0] = 1; /* the all-zero state is the one fixed point */
}

uint64_t somna_sim_rng_next(somna_sim_rng *r)
{
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double somna_sim_rng_uniform(somna_sim_rng *r)
{
    /* top 53 bits -> [0, 1) with every double equally spaced */
    return (double)(somna_sim_rng_next(r) >> 11) * 0x1.0p-53;
}

double somna_sim_rng_range(somna_sim_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * somna_sim_rng_uniform(r);
}

double somna_sim_rng_normal(somna_sim_rng *r)
{
    /* Marsaglia's polar method; the second value is discarded so the state
     * holds no cached sample (keeps streams trivially reproducible). */
    double u, v, s;
    do {
        u = 2.0 * somna_sim_rng_uniform(r) - 1.0;
        v = 2.0 * somna_sim_rng_uniform(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    return u * sqrt(-2.0 * log(s) / s);
}

double somna_sim_rng_lognormal(somna_sim_rng *r, double median, double sdlog)
{
    return median * exp(sdlog * somna_sim_rng_normal(r));
}
