/* mock_memo.h - per-worker memos of the two pure functions an answer to a repeated request would
 * otherwise recompute: request body bytes -> the validated request (cJSON parse, field checks,
 * the text key), and (text key, token count) -> the generated content.
 *
 * Why: load generators send the same body again and again (wrk, llmload with a fixed prompt),
 * and parsing plus generating was about half of mockllm's user-space work per answer. Both
 * functions depend on nothing but their inputs and the configuration, which is read-only after
 * start, so a hit gives byte for byte what a fresh computation gives; tests compare the two
 * (--no-memo turns the memos off).
 *
 * Shape: small direct-mapped tables; a new entry replaces whatever shared its slot. Bodies over
 * MOCK_MEMO_BODY_MAX and texts over MOCK_MEMO_TEXT_MAX are not kept, so a worker's memos stay
 * under (16 x 2 KiB + 16 x 16 KiB). Only valid requests are kept: an error is rare and cheap.
 * One memo belongs to one worker (an event loop, or one connection's thread: mock_worker.h) and
 * is used from its thread only. */
#ifndef MOCK_MEMO_H
#define MOCK_MEMO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mock_job.h"

#define MOCK_MEMO_SLOTS    16
#define MOCK_MEMO_BODY_MAX 2048
#define MOCK_MEMO_TEXT_MAX (16 * 1024)

/* What validating a chat request body derives from it (the job fields it sets). */
struct mock_memo_req {
    uint64_t key;
    const struct mock_profile *prof;
    int model_idx, max_tokens, min_tokens, prompt_tokens;
    bool stream, include_usage, ignore_eos;
    char model[MOCK_MODEL_ECHO_MAX + 1];
};

struct mock_memo_req_slot {
    uint64_t hash;
    size_t len; /* of body; 0 = empty slot */
    char *body;
    struct mock_memo_req req;
};

struct mock_memo_text_slot {
    uint64_t key;
    int n_tokens; /* 0 = empty slot */
    size_t len;
    char *text;
};

struct mock_memo {
    bool on;
    unsigned long long req_hits, text_hits;
    struct mock_memo_req_slot reqs[MOCK_MEMO_SLOTS];
    struct mock_memo_text_slot texts[MOCK_MEMO_SLOTS];
};

/* Empty memos, on or off (off: every get misses and every put is ignored). */
void mock_memo_init(struct mock_memo *m, bool on);
void mock_memo_free(struct mock_memo *m);

/* The validated request for exactly these body bytes, or NULL. *hash gets the body's hash for
 * a following mock_memo_req_put. */
const struct mock_memo_req *mock_memo_req_get(struct mock_memo *m, const char *body, size_t len,
                                              uint64_t *hash);
void mock_memo_req_put(struct mock_memo *m, uint64_t hash, const char *body, size_t len,
                       const struct mock_memo_req *req);

/* The content generated for (key, n_tokens), or NULL; *len gets its length. */
const char *mock_memo_text_get(struct mock_memo *m, uint64_t key, int n_tokens, size_t *len);
void mock_memo_text_put(struct mock_memo *m, uint64_t key, int n_tokens, const char *text,
                        size_t len);

#endif
