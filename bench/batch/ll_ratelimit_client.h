/* ll_ratelimit_client.h - client-side requests-per-minute and tokens-per-minute limits, so a
 * batch stays inside a real API's quota instead of collecting 429s.
 *
 * Two token buckets. Each refills continuously at limit/60 per second and holds at most one
 * second's worth (but at least one request's cost), so the start of a run is not a burst of a
 * whole minute's quota. A request whose cost exceeds the capacity waits for a full bucket and
 * then leaves it in debt, which later requests wait out: the long-run rate is always the limit.
 * Token costs are estimates made before sending; ll_ratelimit_settle() corrects the bucket with
 * the usage the server reported. Plain arithmetic on ll_now_ns() times; no threads, no sleeps:
 * the caller waits (ll_client_next with a timeout) for as long as ll_ratelimit_wait_ns says.
 */
#ifndef LL_RATELIMIT_CLIENT_H
#define LL_RATELIMIT_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

struct ll_bucket {
    bool on;
    double per_ns; /* refill rate */
    double cap;    /* capacity */
    double level;  /* may go negative (debt) */
    int64_t t;     /* time of the last refill */
};

struct ll_ratelimit {
    struct ll_bucket rpm, tpm;
};

/* per_minute <= 0 turns a bucket off. Buckets start full at `now`. */
void ll_ratelimit_init(struct ll_ratelimit *rl, double rpm, double tpm, int64_t now);

/* How long until a request estimated at `tokens` may go: 0 = now. */
int64_t ll_ratelimit_wait_ns(struct ll_ratelimit *rl, double tokens, int64_t now);

/* The request goes now: take one request and `tokens` from the buckets. */
void ll_ratelimit_take(struct ll_ratelimit *rl, double tokens, int64_t now);

/* The server reported `actual` tokens for a request charged `estimated`: give back or charge
 * the difference (actual < 0: unknown, nothing changes). */
void ll_ratelimit_settle(struct ll_ratelimit *rl, double estimated, double actual);

#endif
