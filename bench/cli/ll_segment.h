/* ll_segment.h - one workload split over N agents (`llmload run --segment i/N`), so that the
 * agents together send exactly what one run would have sent.
 *
 * The workload's requests are numbered 0, 1, 2, ... in the order one run would send them.
 * Segment i of N owns the requests k with k mod N == i, and no other: every request belongs to
 * exactly one segment, and the owners take turns, so any stretch of N consecutive requests
 * has one from each agent.
 *   closed loop: segment i sends share(R) = R/N requests, one more for the first R mod N
 *                segments (exactly the k < R it owns), with share(C) of the concurrency the
 *                same way; every agent keeps its share in flight.
 *   open loop:   every agent computes the same global arrival schedule (constant, Poisson,
 *                gamma, a trace: the same kind, rate and seed) and sends only the arrivals it
 *                owns, at their global times. The merged traffic is the schedule asked for,
 *                whatever its kind (N independent Poisson streams would also be Poisson, but N
 *                constant or replayed streams would not be the constant rate or the trace).
 * Seeds for what must differ between agents (retry jitter, an embedded mock's draws) are
 * derived from the run's seed and the segment (ll_segment_seed); the global schedule and the
 * workload's draws use the run's seed itself.
 *
 * Pure; any thread.
 */
#ifndef LL_SEGMENT_H
#define LL_SEGMENT_H

#include <stdbool.h>
#include <stdint.h>

#define LL_SEGMENT_MAX 100000 /* agents in one split */

struct ll_segment {
    uint32_t index, count; /* 0 <= index < count; count 1 is the whole workload */
};

/* "i/N" with 0 <= i < N <= LL_SEGMENT_MAX, decimal, nothing else. 0 or LL_EINVAL. */
int ll_segment_parse(const char *text, struct ll_segment *out);

/* The requests of `total` that segment g owns: total / N, plus one when i < total mod N. */
uint64_t ll_segment_share(const struct ll_segment *g, uint64_t total);

/* Whether request k (global numbering) is segment g's. */
bool ll_segment_owns(const struct ll_segment *g, uint64_t k);

/* The global number of segment g's j-th request (j from 0): i + j * N. */
uint64_t ll_segment_global(const struct ll_segment *g, uint64_t j);

/* The seed for what differs per agent: `seed` itself for a whole workload (count <= 1, so an
 * unsplit run keeps its seed), else a mix of seed and index (splitmix64), different for every
 * segment. */
uint64_t ll_segment_seed(const struct ll_segment *g, uint64_t seed);

/* Open loop: the global schedule, filtered. `gen` returns the next global arrival's time (any
 * monotonic unit, e.g. ns after the start) each time it is called; the cursor counts the calls.
 * Returns the time of the next arrival segment g owns, drawing and dropping the others, and its
 * global number in *global (when not NULL). A generator that has ended (a trace past its last
 * row) may return its "never" value for every call: that is passed through. */
struct ll_segment_cursor {
    uint64_t drawn; /* global arrivals drawn so far */
};
typedef int64_t (*ll_segment_gen)(void *arg);
int64_t ll_segment_next(const struct ll_segment *g, struct ll_segment_cursor *c, ll_segment_gen gen,
                        void *arg, uint64_t *global);

#endif
