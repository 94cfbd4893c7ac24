/* mock_http.h - one client connection: uv_tcp reads fed to http_parser, a queue of complete
 * requests answered strictly in order (pipelining), keep-alive, idle/trickle timeout, and a
 * write path with backpressure.
 *
 * Lifetime: a connection is created on accept and freed after all its handles have closed.
 * Requests belong to their connection and are freed by it (mock_conn_done, or on close).
 * Everything here runs on the connection's loop thread. */
#ifndef MOCK_HTTP_H
#define MOCK_HTTP_H

#include <http_parser.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "mock_buf.h"
#include "mock_openai.h"
#include "mock_server.h"

#define MOCK_URL_MAX      1024
#define MOCK_AUTH_MAX     300
#define MOCK_KEY_MAX      128
#define MOCK_PIPELINE_MAX 64 /* complete requests queued per connection before reads pause */
#define MOCK_WRITE_HIGH   (4u << 20) /* queued output above which reads pause */
/* A stream generates only while its connection's write queue (bytes the kernel has not taken)
 * is at most MOCK_STREAM_HIGH, and resumes once it has fallen to MOCK_STREAM_LOW: a client
 * that reads slowly paces the stream, as TCP backpressure paces a real server (asyncio's
 * default water marks, which uvicorn and so vLLM use). */
#define MOCK_STREAM_HIGH (64u * 1024)
#define MOCK_STREAM_LOW  (16u * 1024)

enum mock_xfault { MOCK_XF_NONE, MOCK_XF_CLOSE, MOCK_XF_STALL, MOCK_XF_SPLIT };

#define MOCK_FAIL_STATUS_MAX 8

struct mock_req {
    struct mock_req *next;
    struct mock_conn *conn;
    int pre_status;      /* 400/413/431 decided by the HTTP layer: answer it and close */
    const char *pre_msg; /* static text for pre_status, or NULL */
    unsigned char method;
    bool keep_alive, http10, expect_continue, url_trunc;
    int status; /* of the answer, for metrics and --verbose */
    int64_t t_start_ns;
    size_t url_len;
    char *body;
    size_t body_len, body_cap;
    int x_latency_ms, x_itl_ms, x_tokens, x_status, x_retry_after,
        x_fail_first; /* -1 when absent */
    /* x-mock-reasoning-tokens, x-mock-chunk-tokens: absent when 0 (cleared with the request,
     * no store of their own), else the header's value + 1. */
    int x_reasoning1, x_chunk1;
    /* x-mock-fail-status: one status, or a list ("429,503,500") read one per failed attempt,
     * the last repeating; none given means 503. */
    short x_fail_status[MOCK_FAIL_STATUS_MAX];
    int n_fail_status;
    enum mock_xfault x_fault;
    struct mock_job job;
    /* Text last: a new request clears everything before `url` but only the first byte of each
     * of these (they are always written NUL-terminated), not 1.5 KiB per request. */
    char url[MOCK_URL_MAX];
    /* headers the application cares about (others are only counted against the limit) */
    char auth[MOCK_AUTH_MAX];
    char mock_key[MOCK_KEY_MAX];
};

struct mock_conn {
    uv_tcp_t tcp;
    uv_timer_t idle;     /* idle keep-alive, trickling request, stall, drain after shutdown */
    uint64_t idle_since; /* loop time (ms) the connection last became idle (mock_conn.c) */
    uv_timer_t work;     /* the head request's latency timer */
    uv_shutdown_t shut;
    struct mock_loop *lp;
    struct mock_conn *prev, *next;
    http_parser parser;
    struct mock_req *cur;         /* being parsed */
    struct mock_req *head, *tail; /* complete, in order; head is being answered when active */
    int nq;
    char hname[32];
    size_t hname_len, hval_len, header_bytes;
    char hval[MOCK_AUTH_MAX];
    bool in_value, hval_trunc;
    int err_status; /* status for the parser error being raised by a callback */
    char *pending;  /* bytes read but not parsed while the parser is paused */
    size_t pending_len;
    /* The loop's two rendering buffers (struct mock_loop): an answer is rendered and flushed
     * before control returns to the loop, so every connection of a loop can share them, and
     * they stay in cache where one pair per connection did not (1,000 connections, 1,000
     * cold pairs). body is scratch: take it with mock_conn_scratch(), which empties it (an
     * earlier answer may have left bytes there); out is emptied by every flush. */
    struct mock_buf *out, *body;
    struct mock_buf pre; /* the head request's SSE chunk prefix, rendered once */
    size_t write_queued;
    void (*drain_cb)(struct mock_conn *c); /* mock_conn_on_drain's waiter, or NULL */
    int open_handles;
    bool active, closing, shutting, broken, reading, paused, in_kick, eof;
    bool failed; /* a write failed: the connection closes as soon as the stack unwinds */
    bool held;   /* the head request stalls (mock_conn_hold): the client's EOF ends it */
};

/* Accept one connection from `server` (a listener of lp). Errors are counted, never fatal. */
void mock_conn_accept(struct mock_loop *lp, uv_stream_t *server);

/* Write bytes: uv_try_write first, the rest queued (copied). On error the connection is marked
 * failed and closed from a timer, never under the caller's feet. /metrics counts the bytes when
 * the kernel takes them. */
void mock_conn_send(struct mock_conn *c, const char *p, size_t n);
/* The loop's scratch buffer for rendering a body, empty. */
static inline struct mock_buf *mock_conn_scratch(struct mock_conn *c)
{
    mock_buf_clear(c->body);
    return c->body;
}
/* Bytes handed to mock_conn_send that the kernel has not taken yet (libuv's write queue). */
static inline size_t mock_conn_backlog(struct mock_conn *c)
{
    return uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
}
/* Call cb(c) once, from a write callback, when the backlog has fallen to MOCK_STREAM_LOW or
 * below (replacing any earlier waiter). Never called once the connection closes: the closing
 * request is aborted instead (mock_openai_abort). */
void mock_conn_on_drain(struct mock_conn *c, void (*cb)(struct mock_conn *c));
/* Write c->out and clear it; with split, in two writes cut in the middle. */
void mock_conn_flush(struct mock_conn *c, bool split);
/* The answer to the head request `r` is complete: free it, go on with the next request, or shut
 * the connection down gracefully when r was not keep-alive. r is invalid afterwards. */
void mock_conn_done(struct mock_req *r);
/* Drop the connection now (fault injection, errors). If a request is being answered,
 * mock_openai_abort() is called on it first; it must not be touched afterwards. Safe to call
 * twice. */
void mock_conn_close(struct mock_conn *c);
/* Stall: answer nothing; the idle timeout (or the client) ends the connection. */
void mock_conn_hold(struct mock_conn *c);
/* Start the head request's timer: cb(c) after ms. */
void mock_conn_timer(struct mock_conn *c, uint64_t ms, uv_timer_cb cb);

/* Free the requests a loop keeps for reuse (at its end). */
void mock_loop_free_spares(struct mock_loop *lp);
/* Server stop: close idle connections, make the others close after their current answer. */
void mock_conn_stop_all(struct mock_loop *lp);
/* Grace expired: drop every connection. */
void mock_conn_close_all(struct mock_loop *lp);
/* The request will close its connection after its answer (Connection: close to be sent). */
bool mock_req_closes(const struct mock_req *r);

/* ---- internal, shared by mock_http.c (reading) and mock_conn.c (the rest) ---- */

void mock__req_free(struct mock_conn *c, struct mock_req *r);
/* Free every request not being answered (queued behind the active head, being parsed). */
void mock__free_queue(struct mock_conn *c);
/* Hand the head request to the application; resume parsing and reading when there is room. */
void mock__conn_kick(struct mock_conn *c);
void mock__read_start(struct mock_conn *c);
void mock__read_stop(struct mock_conn *c);
static inline struct mock_loop_counters *mock__counters(struct mock_conn *c)
{
    return mock_metrics_loop(&c->lp->srv->metrics, c->lp->index);
}

#endif
