/* ll_rand.c - uniform, normal and gamma draws on an xorshift state (see ll_rand.h). */
#include "ll_rand.h"

#include <math.h>

#include "ll_retry.h"

double ll_rand_unit(uint64_t *rng)
{
    /* 53 random bits -> (0, 1] */
    return (double)((ll_rng_next(rng) >> 11) + 1) * 0x1.0p-53;
}

double ll_rand_normal(uint64_t *rng)
{
    double u = ll_rand_unit(rng), v = ll_rand_unit(rng);
    return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

double ll_rand_gamma(uint64_t *rng, double shape)
{
    if (shape < 1.0) {
        /* Gamma(k) = Gamma(k + 1) * U^(1/k) (Marsaglia and Tsang, section 4) */
        double g = ll_rand_gamma(rng, shape + 1.0);
        return g * pow(ll_rand_unit(rng), 1.0 / shape);
    }
    double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x = ll_rand_normal(rng), v = 1.0 + c * x;
        if (v <= 0.0) {
            continue;
        }
        v = v * v * v;
        double u = ll_rand_unit(rng);
        /* the squeeze accepts ~98% without a log */
        if (u < 1.0 - 0.0331 * (x * x) * (x * x) || log(u) < 0.5 * x * x + d * (1.0 - v + log(v))) {
            return d * v;
        }
    }
}
