/* mock_rng.h - deterministic randomness for mockllm. Every random choice the server makes
 * (latency, fault, text) comes from a mock_rng seeded from --seed and the request, so the same
 * seed and the same requests give the same answers. */
#ifndef MOCK_RNG_H
#define MOCK_RNG_H

#include <stddef.h>
#include <stdint.h>

struct mock_rng {
    uint64_t s; /* never 0 */
};

/* splitmix64-seeded state: any seed, including 0, gives a usable generator. */
void mock_rng_seed(struct mock_rng *r, uint64_t seed);
uint64_t mock_rng_next(struct mock_rng *r); /* uniform 64 bits (xorshift64*) */
double mock_rng_unit(struct mock_rng *r);   /* uniform in [0, 1) */
double mock_rng_normal(struct mock_rng *r); /* standard normal (Box-Muller) */

/* 64-bit hash of bytes, mixed with a seed (FNV-1a then a splitmix finaliser). */
uint64_t mock_hash64(const void *buf, size_t len, uint64_t seed);

#endif
