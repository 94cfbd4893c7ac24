/* mock_openai.h - the application: routes, request validation, OpenAI-shaped answers, SSE
 * streaming paced by uv timers, faults, scripted failures, rate limits and capacity.
 *
 * The connection layer (mock_http.c) hands over each complete request, strictly one at a time
 * per connection and in arrival order, by mock_openai_handle(); the application answers with
 * mock_conn_send()/mock_conn_flush() and ends with mock_conn_done() (through mock__finish), or
 * drops the connection. Everything runs on the connection's loop thread.
 *
 * Files: mock_openai.c routes, validates and renders errors; mock_gen.c generates chat
 * completions (gates, capacity, pacing, streaming). */
#ifndef MOCK_OPENAI_H
#define MOCK_OPENAI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mock_buf.h"
#include "mock_fault.h"
#include "mock_ratelimit.h"
#include "mock_rng.h"
#include "mock_shape.h"

#define MOCK_MODEL_ECHO_MAX 256

struct mock_req;
struct mock_server;
struct mock_profile;

/* Per-request application state, embedded in struct mock_req (no allocation of its own). */
struct mock_job {
    struct mock_req *wait_next; /* capacity FIFO of the loop */
    const struct mock_profile *prof;
    int model_idx;  /* metrics label; -1 until known */
    int max_tokens; /* -1 when the request gave none */
    int prompt_tokens, close_after;
    struct mock_shape shape; /* reasoning and content tokens: planned, sent */
    int next_chunk, chunks;  /* tokens in the next SSE chunk; chunks sent (for close_after) */
    int chunk_fixed;         /* tokens per chunk when not drawn (header, fixed count), else 0 */
    enum mock_fault_kind fault;
    bool is_chat, in_flight, accounted, has_slot, waiting, role_sent;
    bool paced; /* waiting for its client to read (counted in the streams_paced gauge) */
    bool stream, include_usage, split, rl_headers;
    int64_t next_due_ns; /* pacing: when the next token is due (uv_hrtime clock) */
    uint64_t key, occ;
    uint64_t id; /* hash of (key, occ): the answer's id, and the seed of draw_rng */
    struct mock_rng text_rng, draw_rng;
    /* reasoning count and chunk sizes (shape), reasoning text: apart from draw_rng, so turning
     * them on shifts no latency or fault draw; seeded only when used */
    struct mock_rng shape_rng, reason_rng;
    struct mock_rl_info rl;
    long long created;
    char model[MOCK_MODEL_ECHO_MAX + 1];
};

/* Answer `r` (the head of its connection's queue). */
void mock_openai_handle(struct mock_req *r);
/* The connection of `r` is closing while r is being answered: release what r holds (slot,
 * in-flight count, place in the waiting queue) and count it. The caller frees r afterwards. */
void mock_openai_abort(struct mock_req *r);
/* Render what is rendered once per process (/v1/models) into srv. 0 or -1. */
int mock_openai_prepare(struct mock_server *srv);

/* ---- internal, shared by mock_openai.c and mock_gen.c ---- */

/* Status line and the headers every answer has (Date, Content-Type, Connection). */
void mock__head(struct mock_req *r, struct mock_buf *o, int status, const char *ctype);
/* x-ratelimit-* headers when r carries rate-limit info. */
void mock__rl_headers(struct mock_req *r, struct mock_buf *o);
/* A complete answer with Content-Length; extra: more header lines ("Name: v\r\n") or NULL. */
void mock__respond(struct mock_req *r, int status, const char *ctype, const char *body, size_t len,
                   const char *extra);
/* An OpenAI error answer {"error":{"message","type","param","code"}}; param/code may be NULL. */
void mock__error(struct mock_req *r, int status, const char *msg, const char *param,
                 const char *code, const char *extra);
/* The answer is complete (all written or queued): count it, release it, next request. */
void mock__finish(struct mock_req *r, int status);
/* Count r in metrics and --verbose and release its slot, once. */
void mock__account(struct mock_req *r, int status);
/* A validated chat request: scripted failures, forced status, rate limit, faults, capacity,
 * then the answer. */
void mock__chat_run(struct mock_req *r);
/* Give back r's capacity slot, starting the next waiting request if any. */
void mock__slot_release(struct mock_req *r);
void mock__wait_remove(struct mock_req *r);

#endif
