/* mock_conn_thread.h - the blocking transport (--model threads): one thread serves one
 * connection, as a classic thread-per-connection server does. It reads (blocking, up to the idle
 * timeout), parses, answers the queued requests one at a time in order, and only then reads
 * again. Its waits block the thread: a latency sleeps it (ppoll on its own socket with no
 * events, so that a client's reset or the server's stop ends the sleep as a shutdown would
 * end a read); a write blocks until the kernel has taken every byte (the time it blocks on a
 * client that does not read is counted in mockllm_streams_paced); a request waiting for a
 * --max-running slot sleeps on the connection's condition variable until the request that
 * frees one wakes it (mock_conn_wake). Parsing, routes, admission, generation and answers are the
 * loop model's own code (mock_conn.h). With --tls the same memory-BIO engine as the loop's
 * (mock_tls.h) sits between the socket and the parser, driven by these blocking reads and
 * writes; ALPN offers http/1.1 only (HTTP/2 is the loop model's).
 *
 * Lifetime: the server (mock_threads.c) accepts, mock_conn_thread_init()s, registers the
 * connection where it can reach it at stop, and starts its thread, which runs
 * mock_conn_thread_serve() until the connection ends; the server then unregisters it, closes
 * its descriptor and mock_conn_thread_fini()s it. */
#ifndef MOCK_CONN_THREAD_H
#define MOCK_CONN_THREAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "mock_conn.h"
#include "mock_tls.h"
#include "mock_worker.h"

struct mock_tconn {
    struct mock_conn c; /* first: the layers above see only this */
    int fd;
    /* Between threads: the request to start when a slot frees (mock_conn_wake), and the
     * server's kill at the end of the grace period; under mu, signalled on cv. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    void (*wake_cb)(struct mock_conn *c);
    bool kill;
    atomic_bool idle; /* blocked reading for a next request: the server's stop ends it */
    /* The connection's own thread only. */
    void (*due_cb)(struct mock_conn *c); /* mock_conn_timer's: cb at due_ns (uv_hrtime clock) */
    int64_t due_ns, idle_since_ns, hold_until_ns;
    bool active, closing, shutting, held, failed, broken;
    bool tls_on;
    struct mock_tls tls;
    /* The server's: its list of connections and the thread serving this one. */
    struct mock_tconn *prev, *next;
    pthread_t thread;
};

/* Set up t for the accepted socket fd (blocking). 0 or -1 (out of resources). Any thread. */
int mock_conn_thread_init(struct mock_tconn *t, int fd);
/* Serve the connection on the calling thread, with worker w (this thread's), until it ends:
 * its requests answered or aborted and counted. Returns with the socket still open. */
void mock_conn_thread_serve(struct mock_tconn *t, struct mock_worker *w);
/* Free what t holds (not its descriptor, not t itself). */
void mock_conn_thread_fini(struct mock_tconn *t);

/* From the server's thread, holding the lock that keeps t registered (and its descriptor
 * open): */
/* The server stops: a connection waiting for its next request ends now. stopping must already
 * be set (a connection about to wait sees it then). */
void mock_conn_thread_stop(struct mock_tconn *t);
/* The grace period is over: whatever t waits for (a read, a write, a latency, a slot), it ends
 * now, aborting its request. */
void mock_conn_thread_kill(struct mock_tconn *t);

#endif
