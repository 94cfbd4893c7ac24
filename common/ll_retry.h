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
    /* A server's hint (ll_retry_hint_pick) asking for a longer wait than this ends the request
     * instead of a sleep of an hour (ll_xfer says so in the message); < 0: no limit. */
    int64_t max_retry_wait_ms;
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

/* A duration as rate-limit headers carry it (OpenAI's x-ratelimit-reset-*): Go's form, numbers
 * with units h, m, s, ms, us (or µs), ns in sequence ("1s", "6m0s", "250ms", "1h2m3.5s"); a
 * bare number is seconds. 0 and *out_ms (rounded up to whole ms), or LL_EINVAL. */
int ll_retry_duration_parse(const char *value, int64_t *out_ms);

/* The retry hints of one answer, ms, -1 when absent (remaining_*: -1 when unknown). */
struct ll_retry_hints {
    int64_t after_ms;       /* retry-after-ms (Azure, the OpenAI SDKs read it first) */
    int64_t retry_after;    /* Retry-After, seconds or an HTTP-date */
    int64_t reset_requests; /* x-ratelimit-reset-requests */
    int64_t reset_tokens;   /* x-ratelimit-reset-tokens */
    int64_t remaining_requests, remaining_tokens; /* x-ratelimit-remaining-* (counts) */
};

void ll_retry_hints_clear(struct ll_retry_hints *h);

/* The wait the server asks for, ms, or -1: retry-after-ms when present, else Retry-After, else
 * (a 429 only: the reset headers describe the rate window, not this answer) the reset of the
 * limit that is exhausted (remaining 0), or the longer reset when that is not said. *source
 * names the header used (may be NULL). */
int64_t ll_retry_hint_pick(const struct ll_retry_hints *h, int status, const char **source);

/* xorshift64* step; returns a uniform 64-bit value. */
uint64_t ll_rng_next(uint64_t *state);

#endif
