/* mock_conn.h - one client connection as the layers above see it, whichever transport carries
 * it: requests come out of its parser (struct mock_http) strictly one at a time and in order
 * (pipelining); the application answers the head one with mock_conn_send()/mock_conn_flush(),
 * waits with mock_conn_timer(), ends each answer with mock_conn_done(), or drops the connection.
 *
 * Two transports implement it (struct mock_transport), and they are all that differs between
 * mockllm's concurrency models (--model); TLS, HTTP/2 and the emulated round trip sit under
 * them without the layers above knowing (mock_conn_loopx.c; mock_conn_thread.c for TLS), an
 * HTTP/2 stream being a mock_conn of its own with a third transport (mock_h2.h):
 *   loop     mock_conn_loop.c: libuv, many connections per thread; a wait is a uv timer, a
 *            write that the kernel does not take at once is queued (libuv's write queue) and a
 *            stream then waits for its reader (mock_conn_on_drain).
 *   threads  mock_conn_thread.c: one thread per connection, blocking reads and writes; a wait
 *            sleeps the thread, a write blocks until the kernel has taken every byte (the
 *            blocking is the backpressure, so its backlog is always 0).
 * Parsing (mock_http.h), routes, admission, generation and answers are the same code for both.
 *
 * The connection knows nothing of what it serves: the application is the struct mock_app its
 * server holds (mock_worker.h), called to answer each request and to let go of one when the
 * connection closes under it.
 *
 * Lifetime: requests belong to their connection and are freed by it (mock_conn_done, or on
 * close). Every function here runs on the connection's own thread (its loop's, or its own),
 * except mock_conn_wake, which any thread may call as documented there. */
#ifndef MOCK_CONN_H
#define MOCK_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "mock_buf.h"
#include "mock_http.h"
#include "mock_worker.h"

/* A stream generates only while its connection's backlog (bytes handed to mock_conn_send that
 * the kernel has not taken) is at most MOCK_STREAM_HIGH, and resumes once it has fallen to
 * MOCK_STREAM_LOW: a client that reads slowly paces the stream, as TCP backpressure paces a
 * real server (asyncio's default water marks, which uvicorn and so vLLM use). */
#define MOCK_STREAM_HIGH (64u * 1024)
#define MOCK_STREAM_LOW  (16u * 1024)

/* What answers requests. Both are called on the connection's thread. */
struct mock_app {
    /* Answer r, the head of its connection's queue; end with mock_conn_done() (at once or
     * later, from a timer) or drop the connection. */
    void (*handle)(struct mock_req *r);
    /* The connection of r is closing while r is being answered: release what r holds. r is
     * freed right after; it must not be used again. */
    void (*abort)(struct mock_req *r);
};

struct mock_conn;

/* What a transport does for the layers above; see the wrappers below for each contract. */
struct mock_transport {
    const char *name; /* the --model name */
    bool (*send)(struct mock_conn *c, const char *p, size_t n);
    void (*fail)(struct mock_conn *c);
    void (*done)(struct mock_req *r);
    void (*close)(struct mock_conn *c);
    void (*hold)(struct mock_conn *c);
    void (*timer)(struct mock_conn *c, uint64_t ms, void (*cb)(struct mock_conn *c));
    void (*wake)(struct mock_conn *c, void (*cb)(struct mock_conn *c));
    size_t (*backlog)(struct mock_conn *c);
    void (*on_drain)(struct mock_conn *c, void (*cb)(struct mock_conn *c));
};

/* The part of a connection every transport has (first member of the transport's own). */
struct mock_conn {
    const struct mock_transport *tp;
    struct mock_worker *w;
    /* The worker's two rendering buffers: an answer is rendered and flushed before its thread
     * goes on to anything else, so every connection of a loop can share them, and they stay in
     * cache where one pair per connection did not (1,000 connections, 1,000 cold pairs). body
     * is scratch: take it with mock_conn_scratch(), which empties it (an earlier answer may
     * have left bytes there); out is emptied by every flush. */
    struct mock_buf *out, *body;
    struct mock_buf pre;   /* the head request's SSE chunk prefix, rendered once */
    struct mock_http http; /* the parser and its queue of complete requests (head answered) */
};

/* Fill the shared part of a new connection of worker w (its parser included). */
void mock_conn_init(struct mock_conn *c, const struct mock_transport *tp, struct mock_worker *w);

/* Write bytes. loop: uv_try_write first, the rest queued (copied); threads: blocks until the
 * kernel took them all. On error the connection is marked failed and closes once the caller's
 * stack has unwound, never under its feet. /metrics counts the bytes when the kernel takes
 * them. false when the connection has failed or is closing (nothing more will be sent). */
static inline bool mock_conn_send(struct mock_conn *c, const char *p, size_t n)
{
    return c->tp->send(c, p, n);
}
/* Mark the connection failed: nothing more is sent, and it closes once the caller's stack has
 * unwound (as after a failed write). */
static inline void mock_conn_fail(struct mock_conn *c)
{
    c->tp->fail(c);
}
/* Write c->out and clear it (a buffer that ran out of memory fails the connection instead); with
 * split, in two writes cut in the middle. */
bool mock_conn_flush(struct mock_conn *c, bool split);
/* The worker's scratch buffer for rendering a body, empty. */
static inline struct mock_buf *mock_conn_scratch(struct mock_conn *c)
{
    mock_buf_clear(c->body);
    return c->body;
}
/* The answer to the head request `r` is complete: free it, go on with the next request, or shut
 * the connection down gracefully when r was not keep-alive. r is invalid afterwards. */
static inline void mock_conn_done(struct mock_req *r)
{
    r->conn->tp->done(r);
}
/* Drop the connection now (fault injection, errors). If a request is being answered, the
 * application's abort is called on it first; it must not be touched afterwards. Safe to call
 * twice. */
static inline void mock_conn_close(struct mock_conn *c)
{
    c->tp->close(c);
}
/* Stall: answer nothing; the idle timeout (or the client leaving) ends the connection. */
static inline void mock_conn_hold(struct mock_conn *c)
{
    c->tp->hold(c);
}
/* Call cb(c) after ms, on c's thread (the head request's one timer: a new one replaces it). */
static inline void mock_conn_timer(struct mock_conn *c, uint64_t ms,
                                   void (*cb)(struct mock_conn *c))
{
    c->tp->timer(c, ms, cb);
}
/* Call cb(c) soon on c's own thread. Any thread may call it, holding what keeps c alive (the
 * capacity lock under which it found c's request waiting: a closing connection takes that
 * lock to leave the queue before it goes). */
static inline void mock_conn_wake(struct mock_conn *c, void (*cb)(struct mock_conn *c))
{
    c->tp->wake(c, cb);
}
/* Bytes handed to mock_conn_send that the kernel has not taken yet. */
static inline size_t mock_conn_backlog(struct mock_conn *c)
{
    return c->tp->backlog(c);
}
/* Call cb(c) once, when the backlog has fallen to MOCK_STREAM_LOW or below (replacing any
 * earlier waiter). Never called once the connection closes: the closing request is aborted
 * instead (struct mock_app). */
static inline void mock_conn_on_drain(struct mock_conn *c, void (*cb)(struct mock_conn *c))
{
    c->tp->on_drain(c, cb);
}
/* The request will close its connection after its answer (Connection: close to be sent). */
static inline bool mock_req_closes(const struct mock_req *r)
{
    return !r->keep_alive || atomic_load_explicit(r->conn->w->stopping, memory_order_relaxed);
}

static inline struct mock_loop_counters *mock_conn_counters(struct mock_conn *c)
{
    return mock_metrics_loop(&c->w->srv->metrics, c->w->index);
}

#endif
