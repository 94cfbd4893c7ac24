/* mock_conn_loop.h - the libuv transport (--model loop): an event loop serves many connections
 * on one thread. A connection reads continuously (uv_tcp reads fed to its parser), pauses
 * reading above MOCK_WRITE_HIGH queued output, answers its requests one at a time in order,
 * times its waits with a uv timer, queues what the kernel does not take at once and lets a
 * stream wait for its reader (mock_conn_on_drain); it closes abruptly (mock_conn_close: uv_close
 * at once) or gracefully (after an answer that ends the connection: shutdown, then discard input
 * until EOF or a short timer, so the client reads the whole answer instead of a reset).
 *
 * With --tls, HTTP/2 (ALPN or h2c) or --rtt-ms, a connection gets more under it
 * (mock_conn_loopx.c); a plain HTTP/1.1 connection takes the path described here alone.
 *
 * struct mock_loop is one loop: its worker (mock_worker.h), its handles and connections.
 * mock_loops.c creates, runs and stops the loops; everything here runs on the loop's thread. */
#ifndef MOCK_CONN_LOOP_H
#define MOCK_CONN_LOOP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "mock_conn.h"
#include "mock_rtt.h"
#include "mock_worker.h"

#define MOCK_WRITE_HIGH (4u << 20) /* queued output above which reads pause */

struct mock_lconn;

struct mock_loop {
    struct mock_worker w;
    uv_loop_t loop;
    uv_poll_t listeners[MOCK_MAX_LISTEN]; /* readable: connections to accept (mock_loops.c) */
    int listen_fds[MOCK_MAX_LISTEN], nlisteners;
    int reserve; /* a spare descriptor, for accept() at EMFILE (mock__server_accept_all) */
    uv_async_t stop_async;
    uv_signal_t sigint, sigterm; /* loop 0 only */
    uv_timer_t grace_timer;
    uv_thread_t thread;
    atomic_bool stopping; /* written by this loop only; w.stopping points here */
    bool grace_started;
    struct mock_lconn *conns; /* doubly linked, every open connection */
    int nconns;
    /* Called when a connection of a stopping loop has closed (mock_loops.c), or NULL. */
    void (*conn_gone)(struct mock_loop *lp);
    void *owner;         /* the model's own state (mock_loops.c) */
    struct mock_cap cap; /* this loop's share of --max-running */
    /* New connections look at more than plain HTTP/1.1 (TLS, the round trip, an h2c preface:
     * mock_conn_loopx.c); false for the plain path alone. */
    bool x_accept;
    struct mock_rtt *rtt; /* &rtt_line with --rtt-ms, else NULL */
    struct mock_rtt rtt_line;
    char rbuf[MOCK_READ_BUF]; /* reads are consumed synchronously, so one buffer per loop */
};

/* Serve the accepted, non-blocking socket fd on lp (or close it when lp stops or cannot take
 * it). Never fatal. */
void mock_conn_loop_accept(struct mock_loop *lp, int fd);
/* Start lp's round-trip delay line (--rtt-ms > 0) and set lp->rtt. 0 or -1. */
int mock_conn_loop_rtt_start(struct mock_loop *lp);
/* Close it (what it still holds is dropped), so that the loop can end. Safe without one. */
void mock_conn_loop_rtt_stop(struct mock_loop *lp);
/* Server stop: close idle connections, make the others close after their current answer. */
void mock_conn_loop_stop_all(struct mock_loop *lp);
/* Grace expired: drop every connection. */
void mock_conn_loop_close_all(struct mock_loop *lp);

#endif
