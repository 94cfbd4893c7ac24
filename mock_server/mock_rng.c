/* mock_rng.c - splitmix64 seeding, xorshift64* generation, FNV-1a hashing.
 *
 * xorshift64* is small (one word of state, so a struct mock_rng can live in every request) and
 * good enough for latency and fault draws; it is not for anything security related. */
#include "mock_rng.h"

#include <math.h>

/* Any nonzero constant works as a fallback; this one is splitmix64's increment. */
#define MOCK_RNG_GOLDEN 0x9E3779B97F4A7C15ULL
/* M_PI is not C11; spelt out so the file builds without feature macros. */
#define MOCK_RNG_TWO_PI 6.283185307179586476925

/* splitmix64's output function: a bijection that spreads every input bit over the word, so
 * neighbouring seeds (1, 2, 3 ...) give unrelated generators. */
static uint64_t rng_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void mock_rng_seed(struct mock_rng *r, uint64_t seed)
{
    r->s = rng_mix(seed + MOCK_RNG_GOLDEN);
    if (r->s == 0) /* xorshift stays at 0 forever */
        r->s = MOCK_RNG_GOLDEN;
}

uint64_t mock_rng_next(struct mock_rng *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

double mock_rng_unit(struct mock_rng *r)
{
    /* The top 53 bits fill a double's mantissa exactly: uniform on a 2^-53 grid, never 1. */
    return (double)(mock_rng_next(r) >> 11) * 0x1.0p-53;
}

double mock_rng_normal(struct mock_rng *r)
{
    /* Box-Muller without caching the second value: the state stays one word, and every normal
     * draw consumes exactly two uniforms, which keeps later draws predictable. 1 - u is in
     * (0, 1], so the log is finite. */
    double u1 = 1.0 - mock_rng_unit(r);
    double u2 = mock_rng_unit(r);
    return sqrt(-2.0 * log(u1)) * cos(MOCK_RNG_TWO_PI * u2);
}

uint64_t mock_hash64(const void *buf, size_t len, uint64_t seed)
{
    const unsigned char *p = buf;
    uint64_t h = 0xCBF29CE484222325ULL; /* FNV-1a offset basis */

    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001B3ULL; /* FNV-1a 64-bit prime */
    }
    /* FNV alone mixes its last bytes poorly into the high bits; the finaliser fixes that and
     * folds the seed in so that --seed changes every per-request stream. */
    return rng_mix(h ^ rng_mix(seed + MOCK_RNG_GOLDEN));
}
