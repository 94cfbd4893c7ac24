/* mock_worker.h - the state mockllm's parts share, whichever concurrency model serves the
 * connections (--model, mock_server.h):
 *
 *   struct mock_server   what every part reads: configuration, metrics, rate limiter, scripts,
 *                        occurrence counters, the rendered /v1/models body, the application.
 *   struct mock_worker   what one serving thread owns: an event loop's (--model loop, one per
 *                        loop, mock_conn_loop.h) or one connection's (--model threads,
 *                        mock_conn_thread.h). Its memos, rendering buffers, request pool and
 *                        Date line are used without locks because only that thread uses them.
 *   struct mock_cap      --max-running: slots, requests running, the FIFO of those waiting. A
 *                        loop has its own (its share of the slots); the threads share one.
 *
 * Data only: mock_server.c and the models create them; the layers read them.
 *
 * Threading: a worker's fields are touched only from its own thread. struct mock_server is
 * read-only after start, apart from its thread-safe parts: metrics (atomics), script and rate
 * limiter (mutexes), the occurrence counters (atomics). A shared mock_cap is changed only under
 * its mutex; `running` may be read anywhere (an atomic, relaxed). */
#ifndef MOCK_WORKER_H
#define MOCK_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "mock_buf.h"
#include "mock_config.h"
#include "mock_fault.h"
#include "mock_http.h"
#include "mock_memo.h"
#include "mock_metrics.h"
#include "mock_ratelimit.h"

#define MOCK_OCC_SLOTS 65536       /* occurrence counters, indexed by request key hash */
#define MOCK_READ_BUF  (64 * 1024) /* what one read may take */

struct mock_app;
struct mock_tls_srv;

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
    int port;                 /* the port every listener got (the first --port 0 choice) */
    struct mock_tls_srv *tls; /* --tls: the context every connection's engine uses, or NULL */
};

struct mock_cap {
    int slots;          /* 0: unlimited (running is still counted, for --slowdown) */
    atomic_int running; /* relaxed loads and stores: a plain move when not shared */
    struct mock_req *wait_head, *wait_tail;
    bool shared; /* several threads admit through it: every change under mu */
    pthread_mutex_t mu;
};

struct mock_worker {
    struct mock_server *srv;
    int index;                   /* its slot of the metrics (mock_metrics.h) */
    const atomic_bool *stopping; /* the server stops: answers close their connections */
    struct mock_cap *cap;
    struct mock_memo memo;       /* repeated bodies and texts, computed once (mock_memo.h) */
    struct mock_buf out, body;   /* every connection's rendering buffers (mock_conn.h) */
    struct mock_req_pool spares; /* freed requests kept for reuse (mock_http.h) */
    /* "Date: <IMF-fixdate>\r\n" for every answer (RFC 9110 6.6.1: an origin server with a clock
     * sends one), rendered at most once per wall-clock second. */
    char date[48];
    size_t date_len;
    uint64_t date_sec; /* time() + 1 when `date` was rendered; 0 = never */
};

/* A worker of srv: empty caches, metrics slot `index`, its capacity and stop flag. */
void mock_worker_init(struct mock_worker *w, struct mock_server *srv, int index,
                      struct mock_cap *cap, const atomic_bool *stopping);
/* Free what the worker's caches hold. */
void mock_worker_free(struct mock_worker *w);

#endif
