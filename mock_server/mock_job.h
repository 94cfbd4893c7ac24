/* mock_job.h - what the application keeps per request, embedded in struct mock_req (no
 * allocation of its own): the chat answer being generated, its draws, its capacity slot and its
 * accounting. Data only; the modules that use it are named beside each part. */
#ifndef MOCK_JOB_H
#define MOCK_JOB_H

#include <stdbool.h>
#include <stdint.h>

#include "mock_fault.h"
#include "mock_ratelimit.h"
#include "mock_rng.h"
#include "mock_shape.h"

#define MOCK_MODEL_ECHO_MAX 256

struct mock_req;
struct mock_profile;

struct mock_job {
    /* validation (mock_openai.c) */
    const struct mock_profile *prof;
    int model_idx;  /* metrics label; -1 until known */
    int max_tokens; /* -1 when the request gave none */
    int min_tokens; /* -1 when the request gave none */
    bool ignore_eos;
    int prompt_tokens;
    bool is_chat, stream, include_usage;
    uint64_t key; /* hash of what the answer's text depends on */
    char model[MOCK_MODEL_ECHO_MAX + 1];
    /* admission (mock_admit.c): draws, gates, faults, capacity */
    uint64_t occ;
    uint64_t id; /* hash of (key, occ): the answer's id, and the seed of draw_rng */
    struct mock_rng text_rng, draw_rng;
    /* reasoning count and chunk sizes (shape), reasoning text: apart from draw_rng, so turning
     * them on shifts no latency or fault draw; seeded only when used */
    struct mock_rng shape_rng, reason_rng;
    struct mock_rl_info rl;
    long long created;
    enum mock_fault_kind fault;
    int close_after;
    bool split, rl_headers, has_slot, waiting;
    struct mock_req *wait_next; /* the capacity FIFO (struct mock_cap) */
    /* Gives back the slot or the place in the FIFO (set by admission, called once when the
     * request ends: mock_answer_account). */
    void (*release)(struct mock_req *r);
    /* generation (mock_gen.c) */
    struct mock_shape shape; /* reasoning and content tokens: planned, sent */
    int next_chunk, chunks;  /* tokens in the next SSE chunk; chunks sent (for close_after) */
    int chunk_fixed;         /* tokens per chunk when not drawn (header, fixed count), else 0 */
    int64_t next_due_ns;     /* pacing: when the next token is due (uv_hrtime clock) */
    bool role_sent;
    bool paced; /* waiting for its client to read (counted in the streams_paced gauge) */
    /* accounting (mock_answer.c) */
    bool in_flight, accounted;
};

#endif
