/* ll_ratelimit_client.c - two token buckets (requests and tokens per minute). */
#include "ll_ratelimit_client.h"

#include "ll_clock.h"

static void bucket_init(struct ll_bucket *b, double per_minute, int64_t now)
{
    b->on = per_minute > 0;
    b->per_ns = per_minute / 60.0 / (double)LL_NS_PER_S;
    b->cap = per_minute / 60.0; /* one second's worth */
    if (b->cap < 1.0) {
        b->cap = 1.0;
    }
    b->level = b->cap;
    b->t = now;
}

static void refill(struct ll_bucket *b, int64_t now)
{
    if (now > b->t) {
        b->level += (double)(now - b->t) * b->per_ns;
        if (b->level > b->cap) {
            b->level = b->cap;
        }
        b->t = now;
    }
}

/* A cost above the capacity needs a full bucket, then leaves a debt. */
static int64_t bucket_wait(struct ll_bucket *b, double cost, int64_t now)
{
    if (!b->on) {
        return 0;
    }
    refill(b, now);
    double need = cost < b->cap ? cost : b->cap;
    if (b->level >= need) {
        return 0;
    }
    double ns = (need - b->level) / b->per_ns;
    return ns < 1.0 ? 1 : (int64_t)ns + 1;
}

void ll_ratelimit_init(struct ll_ratelimit *rl, double rpm, double tpm, int64_t now)
{
    bucket_init(&rl->rpm, rpm, now);
    bucket_init(&rl->tpm, tpm, now);
}

int64_t ll_ratelimit_wait_ns(struct ll_ratelimit *rl, double tokens, int64_t now)
{
    int64_t a = bucket_wait(&rl->rpm, 1.0, now);
    int64_t b = bucket_wait(&rl->tpm, tokens, now);
    return a > b ? a : b;
}

void ll_ratelimit_take(struct ll_ratelimit *rl, double tokens, int64_t now)
{
    if (rl->rpm.on) {
        refill(&rl->rpm, now);
        rl->rpm.level -= 1.0;
    }
    if (rl->tpm.on) {
        refill(&rl->tpm, now);
        rl->tpm.level -= tokens;
    }
}

void ll_ratelimit_settle(struct ll_ratelimit *rl, double estimated, double actual)
{
    if (rl->tpm.on && actual >= 0) {
        rl->tpm.level += estimated - actual;
        if (rl->tpm.level > rl->tpm.cap) {
            rl->tpm.level = rl->tpm.cap;
        }
    }
}
