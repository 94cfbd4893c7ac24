/* mock_conn.h - one client connection: accept, the read path (uv_tcp reads fed to the HTTP
 * parser, mock_http.h), the requests handed to the application strictly one at a time and in
 * order (pipelining), keep-alive and idle/trickle timeouts, the write path with backpressure
 * (reads pause above MOCK_WRITE_HIGH queued; a stream waits for its reader, mock_conn_on_drain),
 * and closing, abrupt or graceful.
 *
 * The connection knows nothing of what it serves: the application is the struct mock_app its
 * server holds (mock_loop.h), called to answer each request and to let go of one when the
 * connection closes under it. The application answers with mock_conn_send()/mock_conn_flush()
 * and ends each answer with mock_conn_done(), or drops the connection.
 *
 * Lifetime: a connection is created on accept and freed after all its handles have closed.
 * Requests belong to their connection and are freed by it (mock_conn_done, or on close).
 * Everything here runs on the connection's loop thread. */
#ifndef MOCK_CONN_H
#define MOCK_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "mock_buf.h"
#include "mock_http.h"
#include "mock_loop.h"

#define MOCK_WRITE_HIGH (4u << 20) /* queued output above which reads pause */
/* A stream generates only while its connection's write queue (bytes the kernel has not taken)
 * is at most MOCK_STREAM_HIGH, and resumes once it has fallen to MOCK_STREAM_LOW: a client
 * that reads slowly paces the stream, as TCP backpressure paces a real server (asyncio's
 * default water marks, which uvicorn and so vLLM use). */
#define MOCK_STREAM_HIGH (64u * 1024)
#define MOCK_STREAM_LOW  (16u * 1024)

/* What answers requests. Both are called on the connection's loop thread. */
struct mock_app {
    /* Answer r, the head of its connection's queue; end with mock_conn_done() (at once or
     * later, from a timer) or drop the connection. */
    void (*handle)(struct mock_req *r);
    /* The connection of r is closing while r is being answered: release what r holds. r is
     * freed right after; it must not be used again. */
    void (*abort)(struct mock_req *r);
};

struct mock_conn {
    uv_tcp_t tcp;
    uv_timer_t idle;     /* idle keep-alive, trickling request, stall, drain after shutdown */
    uint64_t idle_since; /* loop time (ms) the connection last became idle */
    uv_timer_t work;     /* the head request's latency timer */
    uv_shutdown_t shut;
    struct mock_loop *lp;
    struct mock_conn *prev, *next;
    struct mock_http http; /* the parser and its queue of complete requests (head answered) */
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
    bool active, closing, shutting, broken, reading, in_kick, eof;
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
 * request is aborted instead (struct mock_app). */
void mock_conn_on_drain(struct mock_conn *c, void (*cb)(struct mock_conn *c));
/* Write c->out and clear it; with split, in two writes cut in the middle. */
void mock_conn_flush(struct mock_conn *c, bool split);
/* The answer to the head request `r` is complete: free it, go on with the next request, or shut
 * the connection down gracefully when r was not keep-alive. r is invalid afterwards. */
void mock_conn_done(struct mock_req *r);
/* Drop the connection now (fault injection, errors). If a request is being answered, the
 * application's abort is called on it first; it must not be touched afterwards. Safe to call
 * twice. */
void mock_conn_close(struct mock_conn *c);
/* Stall: answer nothing; the idle timeout (or the client) ends the connection. */
void mock_conn_hold(struct mock_conn *c);
/* Start the head request's timer: cb(c) after ms. */
void mock_conn_timer(struct mock_conn *c, uint64_t ms, uv_timer_cb cb);
/* The request will close its connection after its answer (Connection: close to be sent). */
bool mock_req_closes(const struct mock_req *r);

/* Server stop: close idle connections, make the others close after their current answer. */
void mock_conn_stop_all(struct mock_loop *lp);
/* Grace expired: drop every connection. */
void mock_conn_close_all(struct mock_loop *lp);

static inline struct mock_loop_counters *mock_conn_counters(struct mock_conn *c)
{
    return mock_metrics_loop(&c->lp->srv->metrics, c->lp->index);
}

#endif
