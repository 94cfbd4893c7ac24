/* mock_gen.c - generating an admitted chat completion (mock_gen.h): its tokens planned, timed
 * (time to first token, per-token latency, chunks) by the connection's one timer (only the head
 * request of a connection is ever being answered), rendered as one JSON answer or as SSE
 * events, and paced by a slow reader.
 *
 * Randomness: text comes from the request key (seed, model, messages, max_tokens) alone, so the
 * same request always reads the same; latency comes from the key mixed with how many times that
 * key was seen (draw_rng, mock_admit.c), so repeating a request still samples the distribution,
 * and the same multiset of requests gives the same multiset of draws. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "mock_gen.h"

#include "mock_answer.h"
#include "mock_conn.h"
#include "mock_latency.h"
#include "mock_text.h"

#define DUE_SLACK_NS      500000      /* a token due within half a millisecond goes now */
#define MOCK_STREAM_BATCH (16 * 1024) /* a stream's tokens due at once go in writes this big */

static void tick_cb(struct mock_conn *c);

static struct mock_server *srv_of(struct mock_req *r)
{
    return r->conn->w->srv;
}

/* ---- latency ---- */

/* --slowdown: x (1 + F * (running - 1)); without it (the default) the count is not read. */
static double load_factor(struct mock_req *r)
{
    double slowdown = srv_of(r)->cfg->slowdown;
    if (slowdown == 0) {
        return 1.0;
    }
    int n = atomic_load_explicit(&r->conn->w->cap->running, memory_order_relaxed);
    return 1.0 + slowdown * (n > 1 ? n - 1 : 0);
}

static double draw_ttft_ms(struct mock_req *r)
{
    double scale = srv_of(r)->cfg->scale;
    double ms = r->x_latency_ms >= 0 ? r->x_latency_ms * scale
                                     : mock_profile_ttft_ms(r->job.prof, r->job.prompt_tokens,
                                                            &r->job.draw_rng, scale);
    return ms * load_factor(r);
}

static double draw_itl_ms(struct mock_req *r)
{
    double scale = srv_of(r)->cfg->scale;
    double ms;
    if (r->x_itl_ms >= 0) {
        ms = r->x_itl_ms * scale;
    } else if (r->x_latency_ms >= 0) {
        ms = 0;
    } else {
        ms = mock_dist_sample_ms(&r->job.prof->itl, &r->job.draw_rng, scale);
    }
    return ms * load_factor(r);
}

/* Reasoning text is its own sequence of words, from the request key like the content's. */
static uint64_t reason_key(const struct mock_job *j)
{
    return mock_hash64("reasoning", 9, j->key);
}

/* Tokens in the next chunk (mock_shape_next): x-mock-chunk-tokens or the profile's count. One
 * token a chunk, the usual case, needs neither: an answer not yet done has one token left. */
static inline int draw_chunk(struct mock_req *r)
{
    struct mock_job *j = &r->job;
    if (j->chunk_fixed == 1) {
        return 1;
    }
    return mock_shape_next(&j->shape, &j->prof->chunk, j->chunk_fixed, &j->shape_rng);
}

/* draw_itl_ms gives one value for the whole request and takes no random draw: a header sets
 * it, or the profile's distribution is fixed (the load factor does not change within a call). */
static bool itl_constant(struct mock_req *r)
{
    return r->x_itl_ms >= 0 || r->x_latency_ms >= 0 || r->job.prof->itl.kind == MOCK_DIST_FIXED;
}

/* Run the next step now when it is due, else arm the connection's timer for it. */
static void step(struct mock_req *r);

static void schedule(struct mock_req *r)
{
    int64_t wait = r->job.next_due_ns - (int64_t)uv_hrtime();
    if (wait <= DUE_SLACK_NS) {
        mock_metrics_late(&srv_of(r)->metrics, r->conn->w->index, -wait);
        step(r);
        return;
    }
    if (r->conn->out->len > 0 && !mock_conn_flush(r->conn, false)) {
        return; /* a stream's headers, sent before its first token, could not go */
    }
    mock_conn_timer(r->conn, (uint64_t)((wait + DUE_SLACK_NS) / 1000000), tick_cb);
}

static void tick_cb(struct mock_conn *c)
{
    schedule(c->http.head); /* re-checks: loop time may run ahead of the clock by up to 1 ms */
}

/* ---- rendering ---- */

/* Rendering is by pieces (mock_buf_lit and friends), not printf: an answer is a fixed template
 * around a few numbers, and vfprintf used to be the largest cost of answering. */

/* {"id":"chatcmpl-<16 hex>","object":"<object>","created":N,"model":"<model>" */
static void render_id(struct mock_req *r, struct mock_buf *b, const char *object)
{
    const struct mock_job *j = &r->job;
    mock_buf_lit(b, "{\"id\":\"chatcmpl-");
    mock_buf_hex(b, j->id, 16);
    mock_buf_lit(b, "\",\"object\":\"");
    mock_buf_adds(b, object);
    mock_buf_lit(b, "\",\"created\":");
    mock_buf_i64(b, j->created);
    mock_buf_lit(b, ",\"model\":");
    mock_buf_json_str(b, j->model, strlen(j->model));
}

/* Every event of a stream starts the same way (id, created and model do not change): render
 * it once per request into c->pre. */
static void render_prefix(struct mock_req *r)
{
    struct mock_buf *pre = &r->conn->pre;
    mock_buf_clear(pre);
    mock_buf_lit(pre, "data: ");
    render_id(r, pre, "chat.completion.chunk");
    mock_buf_lit(pre, ",\"choices\":[");
}

static void chunk_prefix(struct mock_req *r, struct mock_buf *b)
{
    const struct mock_buf *pre = &r->conn->pre;
    if (pre->oom) {
        b->oom = true;
        return;
    }
    mock_buf_add(b, pre->p, pre->len);
}

/* The chunk-size line of an event of len bytes, then (frame_end) the CRLF after it. HTTP/1.0
 * has no chunked encoding: the events go out bare. */
static void frame_begin(struct mock_req *r, size_t len)
{
    if (!r->http10) {
        mock_buf_hex(r->conn->out, len, 0);
        mock_buf_lit(r->conn->out, "\r\n");
    }
}

static void frame_end(struct mock_req *r)
{
    if (!r->http10) {
        mock_buf_lit(r->conn->out, "\r\n");
    }
}

/* Frame the event in c->body as one chunk of the chunked body, into c->out. */
static void emit_event(struct mock_req *r)
{
    struct mock_conn *c = r->conn;
    if (c->body->oom) {
        c->out->oom = true; /* never send a truncated event: the flush drops the connection */
    }
    frame_begin(r, c->body->len);
    mock_buf_add(c->out, c->body->p, c->body->len);
    frame_end(r);
    mock_buf_clear(c->body);
}

static void emit_delta(struct mock_req *r, const char *delta, const char *finish)
{
    struct mock_buf *b = mock_conn_scratch(r->conn);
    chunk_prefix(r, b);
    mock_buf_lit(b, "{\"index\":0,\"delta\":");
    mock_buf_adds(b, delta);
    mock_buf_lit(b, ",\"logprobs\":null,\"finish_reason\":");
    mock_buf_adds(b, finish);
    mock_buf_lit(b, "}]}\n\n");
    emit_event(r);
}

/* The most frequent event, straight into c->out: its length is known before it is rendered,
 * so it needs no staging there. Tokens never need JSON escaping (mock_text.h). k tokens, the
 * next ones of the phase: reasoning (delta.reasoning_content) until every reasoning token is
 * sent, then content; one token is rendered on the stack, more into the scratch buffer. */
static void emit_chunk(struct mock_req *r, int k)
{
    static const char mid[] = "{\"index\":0,\"delta\":{\"content\":\"";
    static const char mid_r[] = "{\"index\":0,\"delta\":{\"reasoning_content\":\"";
    static const char end[] = "\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n";
    struct mock_conn *c = r->conn;
    struct mock_job *j = &r->job;
    struct mock_rng *rng = &j->text_rng;
    size_t first = (size_t)j->shape.content_sent, mlen = sizeof(mid) - 1;
    const char *m = mid;
    if (mock_shape_reasoning(&j->shape)) {
        rng = &j->reason_rng;
        first = (size_t)j->shape.reason_sent;
        m = mid_r;
        mlen = sizeof(mid_r) - 1;
    }
    char tok[MOCK_TEXT_TOKEN_MAX];
    const char *text = tok;
    size_t n;
    if (k == 1) {
        n = mock_text_token(rng, first, tok);
    } else {
        struct mock_buf *b = mock_conn_scratch(c);
        for (int i = 0; i < k && mock_buf_reserve(b, MOCK_TEXT_TOKEN_MAX) == 0; i++) {
            b->len += mock_text_token(rng, first + (size_t)i, b->p + b->len);
        }
        if (b->oom) {
            c->out->oom = true; /* never send a truncated event: the flush drops the connection */
        }
        text = b->oom ? "" : b->p;
        n = b->oom ? 0 : b->len;
    }
    mock_shape_take(&j->shape, k);
    j->chunks++;
    frame_begin(r, c->pre.len + mlen + n + sizeof(end) - 1);
    chunk_prefix(r, c->out);
    mock_buf_add(c->out, m, mlen);
    mock_buf_add(c->out, text, n);
    mock_buf_add(c->out, end, sizeof(end) - 1);
    frame_end(r);
}

static void usage_json(struct mock_req *r, struct mock_buf *b)
{
    const struct mock_job *j = &r->job;
    mock_buf_lit(b, "\"usage\":{\"prompt_tokens\":");
    mock_buf_i64(b, j->prompt_tokens);
    mock_buf_lit(b, ",\"completion_tokens\":");
    mock_buf_i64(b, mock_shape_completion(&j->shape));
    mock_buf_lit(b, ",\"total_tokens\":");
    mock_buf_i64(b, j->prompt_tokens + mock_shape_completion(&j->shape));
    if (j->shape.reasoning_on) { /* completion_tokens counts them too, as OpenAI's does */
        mock_buf_lit(b, ",\"completion_tokens_details\":{\"reasoning_tokens\":");
        mock_buf_i64(b, j->shape.n_reason);
        mock_buf_lit(b, "}");
    }
    mock_buf_lit(b, "}");
}

static void emit_tail(struct mock_req *r)
{
    struct mock_conn *c = r->conn;
    emit_delta(r, "{}", r->job.shape.length_cut ? "\"length\"" : "\"stop\"");
    if (r->job.include_usage) {
        chunk_prefix(r, c->body);
        if (c->body->len > 0) {
            c->body->len--; /* ,"choices":[ -> ,"choices":[], */
        }
        mock_buf_lit(c->body, "[],");
        usage_json(r, c->body);
        mock_buf_lit(c->body, "}\n\n");
        emit_event(r);
    }
    mock_buf_lit(c->body, "data: [DONE]\n\n");
    emit_event(r);
    if (!r->http10) {
        mock_buf_lit(c->out, "0\r\n\r\n");
    }
}

/* The status line and headers of a stream, rendered into c->out when the request is admitted
 * (past every gate that could answer with another status: scripts, forced statuses, rate
 * limits, faults), as vLLM, TGI and OpenAI send them before the first token: a client then sees
 * its time to first byte apart from its time to first token. They go out with the first token
 * when that is due at once, else on their own (schedule, admit). The role chunk waits for the
 * first token, as vLLM sends it with the engine's first output. */
static void stream_head(struct mock_req *r)
{
    struct mock_conn *c = r->conn;
    if (r->http10) {
        r->keep_alive = false; /* no chunked encoding in HTTP/1.0: the close ends the body */
    }
    render_prefix(r);
    mock_answer_head(r, c->out, 200, "text/event-stream; charset=utf-8");
    mock_answer_rl_headers(r, c->out);
    mock_buf_adds(c->out, r->http10
                              ? "Cache-Control: no-cache\r\n\r\n"
                              : "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n");
}

/* The injected close fault: what was rendered goes out, then the connection drops. */
static void close_fault(struct mock_req *r)
{
    struct mock_conn *c = r->conn;
    mock_metrics_fault(&srv_of(r)->metrics, c->w->index, MOCK_FAULT_CLOSE);
    mock_conn_flush(c, r->job.split);
    r->status = 0;
    mock_conn_close(c);
}

/* A stream's connection is drained enough (mock_conn_on_drain): generation resumes. The time
 * it waited was the client's, so the schedule restarts from now, not from when the next tokens
 * were due (which would burst them out and count the wait as the server's lateness). */
static void drain_cb(struct mock_conn *c)
{
    struct mock_req *r = c->http.head;
    int64_t now = (int64_t)uv_hrtime();
    mock_metrics_add_gauge(&mock_metrics_loop(&srv_of(r)->metrics, c->w->index)->paced, -1);
    r->job.paced = false;
    if (r->job.next_due_ns < now) {
        r->job.next_due_ns = now;
    }
    schedule(r);
}

/* The client reads slower than the stream is generated: wait until it has read (TCP
 * backpressure, as a real server feels it), rather than queue the stream in memory. */
static bool paced(struct mock_req *r)
{
    struct mock_conn *c = r->conn;
    if (mock_conn_backlog(c) <= MOCK_STREAM_HIGH) {
        return false;
    }
    mock_metrics_add_gauge(&mock_metrics_loop(&srv_of(r)->metrics, c->w->index)->paced, 1);
    r->job.paced = true;
    mock_conn_on_drain(c, drain_cb);
    return true;
}

static void stream_step(struct mock_req *r)
{
    struct mock_job *j = &r->job;
    struct mock_conn *c = r->conn;
    if (paced(r)) {
        return;
    }
    if (!j->role_sent) {
        emit_delta(r, "{\"role\":\"assistant\",\"content\":\"\"}", "null");
        j->role_sent = true;
    }
    for (;;) {
        if (j->fault == MOCK_FAULT_CLOSE && j->chunks >= j->close_after) {
            close_fault(r);
            return;
        }
        emit_chunk(r, j->next_chunk);
        if (mock_shape_done(&j->shape)) {
            emit_tail(r);
            mock_answer_finish(r, 200, j->split);
            return;
        }
        /* the next chunk goes when its last token is due: one ITL per token */
        j->next_chunk = draw_chunk(r);
        j->next_due_ns += (int64_t)(draw_itl_ms(r) * 1e6);
        for (int i = 1; i < j->next_chunk; i++) {
            j->next_due_ns += (int64_t)(draw_itl_ms(r) * 1e6);
        }
        /* A write that failed ends the stream here: the connection closes once this returns
         * (and the request is aborted), rather than the rest generated for nobody. */
        if (j->next_due_ns - (int64_t)uv_hrtime() > DUE_SLACK_NS) {
            if (mock_conn_flush(c, j->split)) {
                schedule(r);
            }
            return;
        }
        if (c->out->len >= MOCK_STREAM_BATCH) { /* due at once: write in batches, paced */
            if (!mock_conn_flush(c, j->split) || paced(r)) {
                return;
            }
        }
    }
}

/* n tokens of a text (the content, or the reasoning) rendered in place (they need no escaping,
 * see mock_text.h), or the same bytes from the worker's memo when this text was generated
 * before. */
static inline void render_text(struct mock_req *r, struct mock_buf *b, uint64_t key,
                               struct mock_rng *rng, int n)
{
    struct mock_memo *memo = &r->conn->w->memo;
    size_t len, start = b->len;
    if (n < 1) {
        return; /* cut while reasoning: no content */
    }
    const char *seen = mock_memo_text_get(memo, key, n, &len);
    if (seen != NULL) {
        mock_buf_add(b, seen, len);
        return;
    }
    for (int i = 0; i < n; i++) {
        if (mock_buf_reserve(b, MOCK_TEXT_TOKEN_MAX) != 0) {
            return;
        }
        b->len += mock_text_token(rng, (size_t)i, b->p + b->len);
    }
    mock_memo_text_put(memo, key, n, b->p + start, b->len - start);
}

static void full_answer(struct mock_req *r)
{
    struct mock_job *j = &r->job;
    struct mock_conn *c = r->conn;
    struct mock_buf *b = mock_conn_scratch(c);
    render_id(r, b, "chat.completion");
    mock_buf_lit(b,
                 ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"");
    render_text(r, b, j->key, &j->text_rng, j->shape.n_content);
    if (j->shape.reasoning_on) {
        mock_buf_lit(b, "\",\"reasoning_content\":\"");
        render_text(r, b, reason_key(j), &j->reason_rng, j->shape.n_reason);
    }
    mock_buf_lit(b, "\"},\"logprobs\":null,\"finish_reason\":\"");
    mock_buf_adds(b, j->shape.length_cut ? "length" : "stop");
    mock_buf_lit(b, "\"}],");
    usage_json(r, b);
    mock_buf_lit(b, "}\n");
    if (b->oom) {
        mock_conn_close(c);
        return;
    }
    if (j->fault != MOCK_FAULT_CLOSE) {
        mock_answer_respond(r, 200, "application/json", b->p, b->len, NULL);
        return;
    }
    mock_answer_head(r, c->out, 200, "application/json");
    mock_buf_lit(c->out, "Content-Length: ");
    mock_buf_u64(c->out, b->len);
    mock_buf_lit(c->out, "\r\n\r\n");
    mock_buf_add(c->out, b->p, b->len / 2);
    close_fault(r);
}

static void step(struct mock_req *r)
{
    if (r->job.stream) {
        stream_step(r);
    } else {
        full_answer(r);
    }
}

void mock_gen_start(struct mock_req *r)
{
    struct mock_job *j = &r->job;
    if (j->shape.n_reason > 0) {
        mock_rng_seed(&j->reason_rng, reason_key(j));
    }
    double total = draw_ttft_ms(r);
    j->next_chunk = draw_chunk(r);
    long later = mock_shape_completion(&j->shape) - j->next_chunk; /* after the first chunk */
    if (!j->stream && itl_constant(r)) {
        /* the same sum as below, in the same order, without draws that cannot differ */
        double itl = draw_itl_ms(r);
        for (long i = 0; i < later; i++) {
            total += itl;
        }
    } else if (!j->stream) {
        /* one timer for the whole answer: the sum of the draws a stream would have waited (the
         * chunk sizes come from their own rng, so the same ITL draws in the same order) */
        for (long i = 0; i < later; i++) {
            total += draw_itl_ms(r);
        }
    }
    j->next_due_ns = (int64_t)uv_hrtime() + (int64_t)(total * 1e6);
    schedule(r);
}

void mock_gen_admitted(struct mock_req *r)
{
    stream_head(r);
}
