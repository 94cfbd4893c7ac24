/* mock_ratelimit.c - RPM/TPM token buckets with continuous refill.
 *
 * A bucket holds up to `capacity` units and refills at capacity per minute, continuously (not
 * all at once on the minute), which is how the OpenAI API describes its limits and what makes
 * Retry-After a simple division. */
#include "mock_ratelimit.h"

#include <math.h>

#define RL_NS_PER_MIN 60e9
#define RL_MS_PER_MIN 60000.0
/* Float refills of e.g. 1/60 per second add up to 0.99999999 instead of 1: a client that waited
 * exactly Retry-After must get through. */
#define RL_SLACK 1e-6

static void rl_bucket_init(struct mock_bucket *b, double per_min, int64_t now_ns)
{
    b->capacity = per_min > 0.0 ? per_min : 0.0;
    b->level = b->capacity;
    b->last_ns = now_ns;
}

static void rl_refill(struct mock_bucket *b, int64_t now_ns)
{
    /* Loops on other threads may pass a slightly older now: never move time backwards. */
    if (b->capacity == 0.0 || now_ns <= b->last_ns)
        return;
    b->level += b->capacity * (double)(now_ns - b->last_ns) / RL_NS_PER_MIN;
    if (b->level > b->capacity)
        b->level = b->capacity;
    b->last_ns = now_ns;
}

static bool rl_has(const struct mock_bucket *b, double need)
{
    return b->capacity == 0.0 || b->level + RL_SLACK >= need;
}

/* ms until the bucket holds `need` (never more than a full bucket: a request larger than the
 * whole bucket is told to come back when it is full). */
static int64_t rl_wait_ms(const struct mock_bucket *b, double need)
{
    if (b->capacity == 0.0)
        return 0;
    if (need > b->capacity)
        need = b->capacity;
    double missing = need - b->level;
    if (missing <= RL_SLACK)
        return 0;
    /* The 1e-6 ms keeps float noise (600.0000000001) from adding a whole ms to the wait. */
    return (int64_t)ceil(missing * RL_MS_PER_MIN / b->capacity - 1e-6);
}

static void rl_report(const struct mock_bucket *b, long *limit, long *remaining, int64_t *reset)
{
    if (b->capacity == 0.0) {
        *limit = *remaining = -1;
        *reset = 0;
        return;
    }
    *limit = (long)b->capacity;
    *remaining = (long)floor(b->level + RL_SLACK);
    *reset = rl_wait_ms(b, b->capacity);
}

void mock_ratelimit_init(struct mock_ratelimit *rl, double rpm, double tpm, int64_t now_ns)
{
    pthread_mutex_init(&rl->mu, NULL);
    rl_bucket_init(&rl->rpm, rpm, now_ns);
    rl_bucket_init(&rl->tpm, tpm, now_ns);
}

void mock_ratelimit_destroy(struct mock_ratelimit *rl)
{
    pthread_mutex_destroy(&rl->mu);
}

bool mock_ratelimit_take(struct mock_ratelimit *rl, int64_t now_ns, long tokens,
                         struct mock_rl_info *info)
{
    double need_t = tokens > 0 ? (double)tokens : 0.0;

    pthread_mutex_lock(&rl->mu);
    rl_refill(&rl->rpm, now_ns);
    rl_refill(&rl->tpm, now_ns);
    bool ok_r = rl_has(&rl->rpm, 1.0);
    bool ok_t = rl_has(&rl->tpm, need_t);
    bool ok = ok_r && ok_t;

    info->limited = !ok;
    info->which = NULL;
    info->retry_after_ms = 0;
    if (ok) {
        /* Both or nothing: a refused request must not eat the other bucket's quota. */
        if (rl->rpm.capacity > 0.0)
            rl->rpm.level = fmax(0.0, rl->rpm.level - 1.0);
        if (rl->tpm.capacity > 0.0)
            rl->tpm.level = fmax(0.0, rl->tpm.level - need_t);
    } else {
        int64_t wr = ok_r ? 0 : rl_wait_ms(&rl->rpm, 1.0);
        int64_t wt = ok_t ? 0 : rl_wait_ms(&rl->tpm, need_t);
        /* Name the bucket the client waits longest for; Retry-After covers both. */
        info->which = (!ok_r && wr >= wt) ? "requests" : "tokens";
        info->retry_after_ms = wr > wt ? wr : wt;
        if (info->retry_after_ms < 1)
            info->retry_after_ms = 1; /* refused, so "retry in 0 ms" would be a lie */
    }
    rl_report(&rl->rpm, &info->limit_requests, &info->remaining_requests, &info->reset_requests_ms);
    rl_report(&rl->tpm, &info->limit_tokens, &info->remaining_tokens, &info->reset_tokens_ms);
    pthread_mutex_unlock(&rl->mu);
    return ok;
}
