/* ll_rand.h - draws from the distributions the workloads need, on a caller-owned xorshift
 * state (ll_rng_next, ll_retry.h): so a seed fixes every draw, and two streams that must not
 * disturb each other (arrival gaps, lengths, prompt text) simply keep two states.
 *
 * Pure apart from *rng; any thread, as long as one state is used by one thread at a time.
 */
#ifndef LL_RAND_H
#define LL_RAND_H

#include <stdint.h>

/* Uniform in (0, 1]: never 0, so log() of it is finite. One step of *rng. */
double ll_rand_unit(uint64_t *rng);

/* Standard normal (mean 0, sd 1), Box-Muller; two steps of *rng. */
double ll_rand_normal(uint64_t *rng);

/* Gamma with shape k > 0 and scale 1 (mean k, variance k): Marsaglia and Tsang's method, with
 * the k < 1 case drawn as Gamma(k + 1) * U^(1/k). shape 1 is the exponential. */
double ll_rand_gamma(uint64_t *rng, double shape);

#endif
