/* ll_retry.h - retry policy: which outcomes are retried, exponential backoff with full jitter,
 * and Retry-After. Pure functions; callable from any thread. */
#ifndef LL_RETRY_H
#define LL_RETRY_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "ll_err.h"

struct ll_retry_policy {
    int max_attempts;           /* total wire attempts, >= 1 (1 = no retry) */
    int64_t base_ms;            /* first backoff (seed: 1 s) */
    double factor;              /* growth per attempt (seed: 2) */
    int64_t cap_ms;             /* no single wait exceeds this */
    bool jitter;                /* full jitter: uniform in [0, backoff] (AWS architecture blog) */
    bool honor_retry_after;     /* a server's Retry-After overrides backoff */
    int64_t max_retry_after_ms; /* a Retry-After longer than this is capped */
    /* Retry PARTIAL (an answer that had begun, then was cut): off by default, because the
     * endpoint may already have generated, and billed, the answer (--retry-partial). */
    bool retry_partial;
};

void ll_retry_defaults(struct ll_retry_policy *p);

/* May an attempt that ended with this class/status be retried at all? 429, 5xx, timeouts and
 * connection errors: yes; 400, 401, 403, 404, 422 (any other 4xx), protocol, cancelled: no;
 * partial: only when the policy says so (retry_partial, ll_retry_next_delay_ns). */
bool ll_retry_retryable(enum ll_class cls, int status);

/* Backoff before attempt `failed + 1`, after `failed` (>= 1) failed attempts, in ns.
 * *rng is a caller-owned xorshift state (never 0). */
int64_t ll_retry_backoff_ns(const struct ll_retry_policy *p, int failed, uint64_t *rng);

/* Decide after a failed attempt: returns the wait in ns before the next attempt, or -1 when the
 * outcome is final (not retryable, or attempts used up; PARTIAL only with p->retry_partial).
 * retry_after_ms < 0 means "no header". */
int64_t ll_retry_next_delay_ns(const struct ll_retry_policy *p, int attempts_made,
                               enum ll_class cls, int status, int64_t retry_after_ms,
                               uint64_t *rng);

/* Parse a Retry-After value: delta-seconds ("2", "0.5" tolerated) or an HTTP-date (RFC 9110),
 * relative to `now` (wall clock, for dates). Returns 0 and *out_ms >= 0, or LL_EINVAL. */
int ll_retry_after_parse(const char *value, time_t now, int64_t *out_ms);

/* xorshift64* step; returns a uniform 64-bit value. */
uint64_t ll_rng_next(uint64_t *state);

#endif
