/* ev_backend_int.h - the evented backend's instance, shared by ev_backend.c (slots, FIFO, retry
 * timers, poll) and ev_setup.c (its multi handles and slots, created and torn down). Private to
 * evented/; everything here runs on the client thread, the loop's. */
#ifndef EV_BACKEND_INT_H
#define EV_BACKEND_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <uv.h>

#include "ev_curl.h"
#include "ev_probe.h"
#include "ll_call.h"
#include "ll_request.h"
#include "ll_xfer.h"

/* Slots per multi handle. curl 7.88 finds an idle pooled connection by walking the list of every
 * connection to the host (ConnectionExists), so with one multi the cost of starting a request
 * grows with the connections held: ~30,000 instructions per request at 1,000 in flight, a
 * quarter of all. Above this many slots the backend runs several multi handles on its one loop,
 * each with its own pool (a slot keeps its multi, so its connection is reused as before). */
#define EV_SLOTS_PER_MULTI 128
/* Under a cap (cfg->max_connections): as many multi handles as the cap has connections, down
 * to this many slots each, every multi with its share of the cap. curl 7.88 runs every transfer
 * on a connection whenever the connection turns readable (multi_socket expires each easy handle
 * in the socket's hash, and each but the first then polls the socket itself), so the client's
 * CPU per frame received grows with the streams per connection: the cap is best spent whole,
 * the streams spread evenly over it. Not fewer slots than this: a multi handle costs tens of
 * KiB (its socket hash, its pool) and a timer. */
#define EV_CAPPED_MIN_SLOTS 32

struct ev_be;

/* One easy handle and what a call needs while it holds it. */
struct ev_slot {
    struct ev_be *be;
    struct ev_curl *ec; /* the multi handle (and pool) this slot's easy handle belongs to */
    CURL *easy;
    struct ll_xfer x;     /* reused for every attempt; buffers kept */
    struct ll_call *call; /* NULL when free */
    bool in_multi;        /* an attempt is running */
    bool backing_off;     /* waiting on `backoff` to retry */
    int64_t backoff_start;
    /* Waits for the retry while backing off; watches the running attempt's ttfb and idle
     * limits (ll_xfer_watch) while in the multi: the two never overlap. */
    uv_timer_t backoff;
    struct ev_slot *next_free;
};

struct ev_be {
    const struct ll_config *cfg;
    uv_loop_t loop;
    struct ev_curl *ecs; /* n_ec multi handles on the one loop (EV_SLOTS_PER_MULTI) */
    /* TLS sessions shared by every easy handle, so that a new connection resumes whichever
     * handle made the session (curl keeps one cache per easy handle otherwise). One thread,
     * the loop's: no lock callbacks. */
    CURLSH *share;
    int n_ec, n_ec_ready;
    int per_ec;                 /* slots per multi handle (ev__multi_of) */
    struct ev_curl_conns conns; /* connection sockets of every multi (ev_curl_conns) */
    struct ev_slot *slots;
    int n_slots;
    struct ev_slot *free_slots;
    struct ll_call *q_head, **q_tailp; /* waiting for a slot; be_data = pprev */
    struct ll_call *d_head, **d_tailp; /* final, not yet handed back; be_data = EV_FINAL */
    size_t active;                     /* submitted, not yet final */
    uv_timer_t deadline;               /* poll()'s timeout */
    bool deadline_hit;
    struct ev_probe probe; /* loop lag and loop time, sampled while requests are active */
    uv_idle_t blocker;     /* cfg->blocking: runs queued calls inside the loop */
    uint64_t rng;
    uint64_t backoff_waits;
    int64_t backoff_ns;
    const char *limit_hit;
    uint64_t idle_base; /* uv_metrics_idle_time at the last reset_stats */
};

/* A transfer of one of the multi handles ended (ev_curl_done_cb; arg is the ev_be). */
void ev__done_cb(struct ev_curl *ec, CURL *easy, CURLcode rc, void *arg);

/* How many multi handles cfg->concurrency slots get (EV_SLOTS_PER_MULTI, EV_CAPPED_MIN_SLOTS).
 * Reads cfg only; any thread. */
int ev__multis_for(const struct ll_config *cfg);

/* The multi handles and the slots for be->cfg (be->n_slots, the loop and be->cfg set): 0 or
 * LL_E*, after which ev__teardown() undoes whatever was made. */
int ev__setup(struct ev_be *be);

/* Tear down whatever ev__setup() and create() set up (easy handles, share, multis, the loop),
 * free be, and record what was seen in ev_last_destroy. */
void ev__teardown(struct ev_be *be);

#endif
