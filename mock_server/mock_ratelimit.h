/* mock_ratelimit.h - requests-per-minute and tokens-per-minute token buckets, as the OpenAI API
 * applies them, with what the x-ratelimit-* headers and Retry-After need. Thread-safe (one
 * mutex; --threads loops share one quota like one API key does). */
#ifndef MOCK_RATELIMIT_H
#define MOCK_RATELIMIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct mock_bucket {
    double capacity; /* per minute; 0 = unlimited */
    double level;    /* tokens available now */
    int64_t last_ns; /* last refill */
};

struct mock_ratelimit {
    pthread_mutex_t mu;
    struct mock_bucket rpm, tpm;
};

struct mock_rl_info {
    bool limited;                            /* answer 429 */
    const char *which;                       /* "requests" or "tokens" when limited */
    int64_t retry_after_ms;                  /* until enough refills */
    long limit_requests, remaining_requests; /* -1 when unlimited */
    long limit_tokens, remaining_tokens;
    int64_t reset_requests_ms, reset_tokens_ms; /* until the bucket is full again */
};

/* rpm/tpm <= 0 disables that bucket. Buckets start full. */
void mock_ratelimit_init(struct mock_ratelimit *rl, double rpm, double tpm, int64_t now_ns);
void mock_ratelimit_destroy(struct mock_ratelimit *rl);
/* Take one request and `tokens` tokens (prompt + max output) at time now_ns. Takes nothing when
 * either bucket lacks; fills *info either way. Returns true when allowed.
 * Buckets refill continuously at capacity per minute. When refused, retry_after_ms (>= 1) is
 * the time until both buckets hold enough, and `which` names the one waited for longest; a
 * request needing more tokens than the whole bucket is refused always, with retry_after_ms the
 * time until the bucket is full. remaining_* are whole units left after this call; reset_*_ms is
 * the time until that bucket is full again. now_ns older than a previous call refills nothing.
 * Any thread; destroy only when no thread can still call take. */
bool mock_ratelimit_take(struct mock_ratelimit *rl, int64_t now_ns, long tokens,
                         struct mock_rl_info *info);

#endif
