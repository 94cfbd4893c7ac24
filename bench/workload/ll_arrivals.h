/* ll_arrivals.h - when requests start: the open loop's schedule (constant, Poisson, gamma, or a
 * trace's own times), an optional linear ramp of the rate, and the closed loop's ramp of the
 * window of requests kept in flight.
 *
 * Gaps are drawn in units of the mean (constant: 1; Poisson: exponential; gamma: shape B,
 * scale 1/B, vLLM `bench serve`'s --burstiness: B = 1 is Poisson, B < 1 burstier, B > 1 more
 * even; the coefficient of variation of the gaps is 1/sqrt(B)). Their running sum is the
 * schedule's own clock, counted in expected requests. Without a ramp, request k starts at that
 * count / rate. With a ramp of S seconds the rate rises linearly from 0 to R, so the expected
 * count by time t is R t^2 / (2 S) while t < S, then R S / 2 + R (t - S); each request starts
 * where that curve reaches its count (the same gaps, stretched early in the ramp). So a ramp
 * keeps the shape of the arrivals and only bends the time axis.
 *
 * Pure apart from the state; the driver's thread.
 */
#ifndef LL_ARRIVALS_H
#define LL_ARRIVALS_H

#include <stddef.h>
#include <stdint.h>

enum ll_arrivals {
    LL_ARRIVALS_CONSTANT, /* one send every 1/rate s */
    LL_ARRIVALS_POISSON,  /* exponential gaps with mean 1/rate s, seeded */
    LL_ARRIVALS_GAMMA,    /* gamma gaps, shape `burstiness`, mean 1/rate s, seeded */
    LL_ARRIVALS_TRACE,    /* (times_s[k] - times_s[0]) / speed: a recorded trace */
};

struct ll_sched {
    enum ll_arrivals kind;
    double rate;           /* requests per second (once ramped); not TRACE */
    double burstiness;     /* GAMMA: the shape B > 0 */
    double ramp_s;         /* > 0: the rate rises linearly from 0 to `rate` over ramp_s seconds */
    const double *times_s; /* TRACE: seconds from the start, non-decreasing; borrowed */
    size_t n_times;
    double speed; /* TRACE: > 0, 2 replays twice as fast */
    uint64_t rng; /* seed; 0 is taken as 1 */
    /* state */
    double work; /* expected requests so far: the sum of the unit gaps */
    size_t next; /* requests scheduled so far */
};

/* "constant", "poisson" or "gamma" (what --arrivals takes; a trace is not chosen by name) to
 * *out. 0 or LL_EINVAL. */
int ll_arrivals_parse(const char *name, enum ll_arrivals *out);
/* The name of a kind: "constant", "poisson", "gamma", "trace". */
const char *ll_arrivals_name(enum ll_arrivals kind);

/* ns from the start of the run at which the next request is due; the first is due at 0 (also
 * a trace's: its first row starts the replay). Never more than LL_SCHED_NEVER, which a trace
 * past its end returns (far enough to add to any monotonic time without overflow). */
#define LL_SCHED_NEVER (INT64_MAX / 4)
int64_t ll_sched_next(struct ll_sched *s);

/* One gap in units of the mean for `kind` (constant: 1). Steps *rng. */
double ll_arrivals_unit_gap(enum ll_arrivals kind, double burstiness, uint64_t *rng);

/* Closed loop with a ramp of ramp_ns: the requests to keep in flight `elapsed_ns` after the
 * start, rising linearly from 1 to c: floor(c * elapsed / ramp) + 1, at most c (so step k, to
 * k + 1, comes at k * ramp / c, k = 1 .. c - 1). ramp_ns <= 0: always c. */
uint64_t ll_ramp_window(int64_t ramp_ns, uint64_t c, int64_t elapsed_ns);

/* The elapsed time of the ramp's next step after `elapsed_ns`, or -1 when it is complete. */
int64_t ll_ramp_next_step(int64_t ramp_ns, uint64_t c, int64_t elapsed_ns);

#endif
