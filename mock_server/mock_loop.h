/* mock_loop.h - the state mockllm's parts share: one struct mock_loop per event loop (its
 * connections, capacity, memos, rendering buffers, request pool) and the struct mock_server all
 * loops read. Data only: mock_server.c creates and runs them, every other part reads them.
 *
 * Threading: a loop's fields are touched only from its own thread. struct mock_server is
 * read-only after start, apart from its thread-safe parts: metrics (atomics), script and rate
 * limiter (mutexes) and the occurrence counters (atomics). */
#ifndef MOCK_LOOP_H
#define MOCK_LOOP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <uv.h>

#include "mock_buf.h"
#include "mock_config.h"
#include "mock_fault.h"
#include "mock_http.h"
#include "mock_memo.h"
#include "mock_metrics.h"
#include "mock_ratelimit.h"

#define MOCK_OCC_SLOTS 65536       /* occurrence counters, indexed by request key hash */
#define MOCK_READ_BUF  (64 * 1024) /* per-loop read buffer */

struct mock_conn;
struct mock_app;

struct mock_loop {
    uv_loop_t loop;
    struct mock_server *srv;
    int index;
    uv_tcp_t listeners[MOCK_MAX_LISTEN];
    int nlisteners;
    uv_async_t stop_async;
    uv_signal_t sigint, sigterm; /* loop 0 only */
    uv_timer_t grace_timer;
    uv_thread_t thread;
    bool stopping, grace_started;
    struct mock_conn *conns; /* doubly linked, every open connection */
    int nconns;
    /* Called when a connection of a stopping loop has closed (mock_server.c), or NULL. */
    void (*conn_gone)(struct mock_loop *lp);
    /* capacity (--max-running): slots of this loop, running now, FIFO of requests waiting */
    int slots, running;
    struct mock_req *wait_head, *wait_tail;
    struct mock_memo memo;       /* repeated bodies and texts, computed once (mock_memo.h) */
    struct mock_buf out, body;   /* every connection's rendering buffers (mock_conn.h) */
    struct mock_req_pool spares; /* freed requests kept for reuse (mock_http.h) */
    char rbuf[MOCK_READ_BUF];    /* reads are consumed synchronously, so one buffer per loop */
    /* "Date: <IMF-fixdate>\r\n" for every answer (RFC 9110 6.6.1: an origin server with a clock
     * sends one), rendered at most once per wall-clock second. */
    char date[48];
    size_t date_len;
    uint64_t date_sec; /* time() + 1 when `date` was rendered; 0 = never */
};

struct mock_server {
    const struct mock_config *cfg;
    const struct mock_app *app; /* who answers requests (mock_openai_prepare installs it) */
    struct mock_metrics metrics;
    struct mock_script *script;
    struct mock_ratelimit rl;
    bool rl_on;
    atomic_uint *occ;  /* [MOCK_OCC_SLOTS] */
    char *models_json; /* GET /v1/models body, rendered once */
    size_t models_len;
    struct mock_loop *loops;
    int nloops;
    int port;
    bool stop_sent; /* loop 0 only */
};

#endif
