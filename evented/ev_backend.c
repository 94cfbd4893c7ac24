/* ev_backend.c - the evented backend instance: slots, FIFO, retry timers, poll. Its multi
 * handles and slots are set up in ev_setup.c, the loop-lag probe is ev_probe.c. */
#include "ev_backend.h"
#include "ev_backend_int.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "ev_curl.h"
#include "ev_probe.h"
#include "ll_client.h"
#include "ll_clock.h"
#include "ll_err.h"
#include "ll_sys.h"
#include "ll_xfer.h"

struct ev_destroy_report ev_last_destroy;

/* Where a call is (call->be_data): a queued call holds the address of the pointer that points
 * at it (q_head or the previous call's next) so that cancel unlinks it in O(1); a call in a
 * slot holds the slot; a final call holds EV_FINAL; a call handed back holds NULL. */
static const char ev__final_mark;
#define EV_FINAL ((void *)&ev__final_mark)

static struct ev_slot *ev__slot_of(struct ev_be *be, struct ll_call *call)
{
    char *p = call->be_data;
    if (p >= (char *)be->slots && p < (char *)(be->slots + be->n_slots)) {
        return (struct ev_slot *)p;
    }
    return NULL;
}

static bool ev__queued(struct ev_be *be, struct ll_call *call)
{
    return call->be_data != NULL && call->be_data != EV_FINAL && ev__slot_of(be, call) == NULL;
}

static void ev__queue_push(struct ev_be *be, struct ll_call *call)
{
    call->next = NULL;
    call->be_data = be->q_tailp;
    *be->q_tailp = call;
    be->q_tailp = &call->next;
}

static void ev__queue_remove(struct ev_be *be, struct ll_call *call)
{
    struct ll_call **pprev = call->be_data;
    *pprev = call->next;
    if (call->next != NULL) {
        call->next->be_data = pprev;
    } else {
        be->q_tailp = pprev;
    }
    call->next = NULL;
    call->be_data = NULL;
}

static struct ll_call *ev__queue_pop(struct ev_be *be)
{
    struct ll_call *call = be->q_head;
    if (call != NULL) {
        ev__queue_remove(be, call);
    }
    return call;
}

/* The call is final: to the done list, in the order calls finish. */
static void ev__done_push(struct ev_be *be, struct ll_call *call)
{
    if (be->cfg->on_final != NULL) {
        be->cfg->on_final(be->cfg->on_final_arg, call); /* on the loop: nothing else moves */
    }
    call->next = NULL;
    call->be_data = EV_FINAL;
    *be->d_tailp = call;
    be->d_tailp = &call->next;
    if (--be->active == 0) {
        /* Idle time between runs is not loop lag; a stall just before (the last blocking
         * request, say) is recorded as the probe stops. */
        ev_probe_active(&be->probe, false);
    }
}

/* --- attempts ------------------------------------------------------------------------------ */

static void ev__finish(struct ev_be *be, struct ll_call *call, enum ll_class cls, const char *why)
{
    ll_call_finish(call, cls, why);
    ev__done_push(be, call);
}

static void ev__watch_cb(uv_timer_t *t);

/* Look at the attempt's limits again at `next` (ll_now_ns), or never when next is 0. The timer
 * counts whole ms: rounded up, so the limit has run out when it fires. */
static void ev__watch_arm(struct ev_slot *sl, int64_t next)
{
    if (next > 0) {
        int64_t ms = (next - ll_now_ns() + LL_NS_PER_MS - 1) / LL_NS_PER_MS;
        uv_update_time(&sl->be->loop);
        uv_timer_start(&sl->backoff, ev__watch_cb, ms > 0 ? (uint64_t)ms : 0, 0);
    }
}

static void ev__ended(struct ev_be *be, struct ev_slot *sl, CURLcode rc);

/* The attempt's ttfb or idle limit may have run out: end it as curl would end a timeout. */
static void ev__watch_cb(uv_timer_t *t)
{
    struct ev_slot *sl = t->data;
    int64_t next = sl->in_multi ? ll_xfer_watch(&sl->x, ll_now_ns()) : 0;
    if (next >= 0) {
        ev__watch_arm(sl, next);
        return;
    }
    ev_curl_remove(sl->ec, sl->easy);
    sl->in_multi = false;
    ev__ended(sl->be, sl, CURLE_OPERATION_TIMEDOUT);
}

/* Start the next attempt of sl->call. false when the call became final instead: the slot is
 * then idle and the caller releases it. */
static bool ev__attempt(struct ev_be *be, struct ev_slot *sl)
{
    struct ll_call *call = sl->call;

    if (atomic_load(&call->cancel)) {
        ev__finish(be, call, LL_CLASS_CANCELLED, "cancelled before its next attempt");
        return false;
    }
    if (ll_call_withdraw_if_late(call, ll_now_ns())) {
        ev__done_push(be, call); /* got a slot after its deadline: never sent */
        return false;
    }
    int err = ll_xfer_begin(&sl->x, sl->easy, call, be->cfg);
    if (err == 0) {
        err = ev_curl_add(sl->ec, sl->easy);
    }
    if (err != 0) {
        if (err == LL_ENOMEM) {
            be->limit_hit = ll_limit_name(LL_LIMIT_MEMORY);
            call->res.limit = LL_LIMIT_MEMORY;
        }
        ev__finish(be, call, LL_CLASS_RESOURCE, ll_strerror(err));
        return false;
    }
    sl->in_multi = true;
    ev__watch_arm(sl, ll_xfer_watch(&sl->x, ll_now_ns()));
    return true;
}

/* The slot's call is final (or gone): give the slot to the next queued call, else free it. */
static void ev__release(struct ev_be *be, struct ev_slot *sl)
{
    struct ll_call *call;

    sl->call = NULL;
    while ((call = ev__queue_pop(be)) != NULL) {
        sl->call = call;
        call->be_data = sl;
        if (ev__attempt(be, sl)) {
            return;
        }
        sl->call = NULL;
    }
    sl->next_free = be->free_slots;
    be->free_slots = sl;
}

static void ev__backoff_cb(uv_timer_t *t)
{
    struct ev_slot *sl = t->data;
    struct ev_be *be = sl->be;

    sl->backing_off = false;
    be->backoff_ns += ll_now_ns() - sl->backoff_start;
    if (!ev__attempt(be, sl)) {
        ev__release(be, sl);
    }
}

/* A transfer ended (ev_curl removed it from the multi already). */
void ev__done_cb(struct ev_curl *ec, CURL *easy, CURLcode rc, void *arg)
{
    char *priv = NULL;

    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
    struct ll_xfer *x = (struct ll_xfer *)priv;
    struct ev_slot *sl = (struct ev_slot *)((char *)x - offsetof(struct ev_slot, x));
    sl->in_multi = false;
    ev__ended(arg, sl, rc);
}

/* The slot's transfer is out of the multi with `rc`: final, re-sent, or a retry after a wait. */
static void ev__ended(struct ev_be *be, struct ev_slot *sl, CURLcode rc)
{
    struct ll_xfer *x = &sl->x;
    uv_timer_stop(&sl->backoff); /* the attempt's watch */
    int64_t wait = ll_xfer_end(x, rc, &be->rng);
    if (sl->call->res.limit != LL_LIMIT_NONE) { /* ll_xfer_end judged it (EMFILE, ...) */
        be->limit_hit = ll_limit_name(sl->call->res.limit);
    }
    if (wait < 0) {
        ev__done_push(be, sl->call);
        ev__release(be, sl);
        return;
    }
    if (ll_xfer_resending(x)) {
        /* A reused connection had died before any answer: again at once, not a retry (the
         * handle is out of the multi already, so it may go straight back in). */
        if (!ev__attempt(be, sl)) {
            ev__release(be, sl);
        }
        return;
    }
    /* Hold the slot across the wait (the semaphore is held across the sleep). Rounded up:
     * libuv timers count whole ms and a retry must never come early. */
    be->backoff_waits++;
    sl->backing_off = true;
    sl->backoff_start = ll_now_ns();
    uv_timer_start(&sl->backoff, ev__backoff_cb,
                   (uint64_t)((wait + LL_NS_PER_MS - 1) / LL_NS_PER_MS), 0);
}

/* --- the blocking pitfall ------------------------------------------------------------------ */

/* One whole call, attempts and retry sleeps, on the loop's thread: the loop stalls meanwhile. */
static void ev__run_blocking(struct ev_be *be, struct ev_slot *sl, struct ll_call *call)
{
    for (;;) {
        if (atomic_load(&call->cancel)) {
            ll_call_finish(call, LL_CLASS_CANCELLED, "cancelled before its next attempt");
            return;
        }
        if (ll_call_withdraw_if_late(call, ll_now_ns())) {
            return;
        }
        int err = ll_xfer_begin(&sl->x, sl->easy, call, be->cfg);
        if (err != 0) {
            ll_call_finish(call, LL_CLASS_RESOURCE, ll_strerror(err));
            return;
        }
        int64_t wait = ll_xfer_end(&sl->x, curl_easy_perform(sl->easy), &be->rng);
        if (wait < 0) {
            return;
        }
        if (ll_xfer_resending(&sl->x)) {
            continue;
        }
        be->backoff_waits++;
        be->backoff_ns += wait;
        struct timespec ts = {.tv_sec = wait / LL_NS_PER_S, .tv_nsec = wait % LL_NS_PER_S};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
    }
}

static void ev__blocker_cb(uv_idle_t *h)
{
    struct ev_be *be = h->data;
    struct ll_call *call = ev__queue_pop(be);

    if (call != NULL) {
        call->be_data = &be->slots[0];
        ev__run_blocking(be, &be->slots[0], call);
        ev__done_push(be, call);
    }
    if (be->q_head == NULL) {
        uv_idle_stop(h);
    }
}

/* --- operations ---------------------------------------------------------------------------- */

static int ev__submit(struct ll_be *b, struct ll_call *call)
{
    struct ev_be *be = (struct ev_be *)b;

    if (be->active++ == 0) {
        ev_probe_active(&be->probe, true);
    }
    if (be->cfg->blocking) {
        ev__queue_push(be, call);
        uv_idle_start(&be->blocker, ev__blocker_cb);
        return 0;
    }
    struct ev_slot *sl = be->free_slots;
    if (sl == NULL) {
        ev__queue_push(be, call);
        return 0;
    }
    be->free_slots = sl->next_free;
    sl->call = call;
    call->be_data = sl;
    if (!ev__attempt(be, sl)) {
        ev__release(be, sl);
    }
    return 0;
}

static void ev__deadline_cb(uv_timer_t *t)
{
    struct ev_be *be = t->data;
    be->deadline_hit = true;
}

/* Run the loop until something is final or the timeout passes. */
static void ev__run(struct ev_be *be, int64_t timeout_ns)
{
    /* Time the caller spends between poll() calls is the caller's, not the loop's: only
     * stalls inside the loop (a blocking call in a callback, say) count as lag. */
    uv_update_time(&be->loop);
    ev_probe_inside(&be->probe, true);
    if (timeout_ns == 0) {
        uv_run(&be->loop, UV_RUN_NOWAIT);
        ev_probe_inside(&be->probe, false);
        return;
    }
    be->deadline_hit = false;
    if (timeout_ns > 0) {
        uv_timer_start(&be->deadline, ev__deadline_cb,
                       (uint64_t)((timeout_ns + LL_NS_PER_MS - 1) / LL_NS_PER_MS), 0);
    }
    while (be->d_head == NULL && be->active > 0 && !be->deadline_hit) {
        if (uv_run(&be->loop, UV_RUN_ONCE) == 0 && be->d_head == NULL) {
            break; /* nothing left that could finish a call: never spin */
        }
    }
    uv_timer_stop(&be->deadline);
    ev_probe_inside(&be->probe, false);
}

static int ev__poll(struct ll_be *b, int64_t timeout_ns, struct ll_call **done)
{
    struct ev_be *be = (struct ev_be *)b;
    struct ll_call **tail;
    int n = 0;

    if (be->d_head == NULL && be->active > 0) {
        ev__run(be, timeout_ns);
    }
    for (struct ll_call *c = be->d_head; c != NULL; c = c->next) {
        c->be_data = NULL; /* no longer ours: a late cancel finds it unknown */
        n++;
    }
    for (tail = done; *tail != NULL; tail = &(*tail)->next) {
    }
    *tail = be->d_head;
    be->d_head = NULL;
    be->d_tailp = &be->d_head;
    return n;
}

/* End the call holding `sl` as CANCELLED, wherever it is, without handing the slot on. */
static void ev__cancel_slot(struct ev_be *be, struct ev_slot *sl)
{
    struct ll_call *call = sl->call;

    atomic_store(&call->cancel, true);
    if (sl->backing_off) {
        uv_timer_stop(&sl->backoff);
        sl->backing_off = false;
        be->backoff_ns += ll_now_ns() - sl->backoff_start;
        ev__finish(be, call, LL_CLASS_CANCELLED, "cancelled while waiting to retry");
    } else if (sl->in_multi) {
        uv_timer_stop(&sl->backoff); /* the attempt's watch */
        ev_curl_remove(sl->ec, sl->easy);
        sl->in_multi = false;
        /* Recorded as an attempt that ended cancelled, as on the threaded backend. */
        if (ll_xfer_end(&sl->x, CURLE_ABORTED_BY_CALLBACK, &be->rng) >= 0) {
            ll_call_finish(call, LL_CLASS_CANCELLED, "cancelled");
        }
        ev__done_push(be, call);
    }
    sl->call = NULL;
}

static void ev__cancel(struct ll_be *b, struct ll_call *call)
{
    struct ev_be *be = (struct ev_be *)b;

    if (ev__queued(be, call)) {
        ev__queue_remove(be, call);
        ev__finish(be, call, LL_CLASS_CANCELLED, "cancelled while queued");
        return;
    }
    struct ev_slot *sl = ev__slot_of(be, call);
    if (sl != NULL && sl->call == call && (sl->in_multi || sl->backing_off)) {
        ev__cancel_slot(be, sl);
        ev__release(be, sl);
    }
}

static void ev__sample(struct ll_be *b, struct ll_be_stats *out)
{
    struct ev_be *be = (struct ev_be *)b;

    memset(out, 0, sizeof(*out));
    out->threads = 0; /* the loop runs on the client thread */
    out->loop_idle_ns = (int64_t)(uv_metrics_idle_time(&be->loop) - be->idle_base);
    out->loop_lag = &be->probe.lag;
    out->loop_run_ns = be->probe.run_ns;
    out->loop_iterations = be->probe.iterations;
    out->backoff_waits = be->backoff_waits;
    out->backoff_ns = be->backoff_ns;
    out->limit_hit = be->limit_hit;
    out->conns_open = be->conns.open;
    out->conns_open_peak = be->conns.peak;
}

static void ev__reset_stats(struct ll_be *b)
{
    struct ev_be *be = (struct ev_be *)b;

    ev_probe_reset(&be->probe);
    be->idle_base = uv_metrics_idle_time(&be->loop);
    be->backoff_waits = 0;
    be->backoff_ns = 0;
    be->limit_hit = NULL;
    be->conns.peak = be->conns.open;
}

/* --- life cycle (the multi handles and slots: ev_setup.c) ------------------------------ */

static int ev__create(const struct ll_config *cfg, struct ll_be **out)
{
    if (cfg->concurrency < 1) {
        return LL_EINVAL;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        return LL_ECURL;
    }
    struct ev_be *be = calloc(1, sizeof(*be));
    if (be == NULL) {
        curl_global_cleanup();
        return LL_ENOMEM;
    }
    be->cfg = cfg;
    be->n_slots = cfg->concurrency;
    be->q_tailp = &be->q_head;
    be->d_tailp = &be->d_head;
    be->rng = cfg->seed ? cfg->seed : 0x9E3779B97F4A7C15ull;
    /* libuv's first loop in a process aborts when it cannot make its signal pipe */
    if (ll_sys_fd_headroom(LL_SYS_UV_FDS, NULL) != 0) {
        free(be);
        curl_global_cleanup();
        return LL_ENOFILE;
    }
    if (uv_loop_init(&be->loop) != 0) {
        free(be);
        curl_global_cleanup();
        return LL_EUV;
    }
    uv_loop_configure(&be->loop, UV_METRICS_IDLE_TIME);
    uv_timer_init(&be->loop, &be->deadline);
    ev_probe_init(&be->probe, &be->loop);
    uv_idle_init(&be->loop, &be->blocker);
    be->deadline.data = be->blocker.data = be;

    int err = ev__setup(be);
    if (err != 0) {
        ev__teardown(be);
        return err;
    }
    *out = (struct ll_be *)be;
    return 0;
}

static void ev__destroy(struct ll_be *b)
{
    struct ev_be *be = (struct ev_be *)b;
    struct ll_call *call;
    uint64_t freed = 0;

    while ((call = ev__queue_pop(be)) != NULL) {
        ev__finish(be, call, LL_CLASS_CANCELLED, "cancelled while queued");
    }
    for (int i = 0; i < be->n_slots; i++) {
        if (be->slots[i].call != NULL) {
            ev__cancel_slot(be, &be->slots[i]);
        }
    }
    while ((call = be->d_head) != NULL) {
        be->d_head = call->next;
        ll_call_free(call);
        freed++;
    }
    ev__teardown(be);
    ev_last_destroy.calls_freed = freed;
}

/* No thread; one socket per call in flight (per connection under cfg->max_connections), and
 * the wake-up socket pair curl 7.88 keeps for each multi handle (2 descriptors: 1,500 in all at
 * 50,000 in flight over 500 connections); ~17 KiB resident per call in flight (/proc/PID/fd
 * and RSS per in flight of `llmload run` at 100 and 1,000 in flight). */
static void ev__needs(const struct ll_config *cfg, struct ll_be_needs *out)
{
    out->threads = 0;
    out->descriptors = cfg->max_connections > 0 && cfg->max_connections < cfg->concurrency
                           ? (int64_t)cfg->max_connections
                           : (int64_t)cfg->concurrency;
    out->descriptors += 2 * (int64_t)ev__multis_for(cfg);
    out->bytes = 24 * 1024 * (int64_t)cfg->concurrency;
}

const struct ll_backend ev_backend = {
    .name = "evented",
    .descr = "one thread: a libuv loop drives libcurl's multi-socket API",
    .caps = LL_CAP_LOOP_LAG | LL_CAP_BLOCKING | LL_CAP_SHARED_CONNS,
    .create = ev__create,
    .submit = ev__submit,
    .poll = ev__poll,
    .cancel = ev__cancel,
    .needs = ev__needs,
    .sample = ev__sample,
    .reset_stats = ev__reset_stats,
    .destroy = ev__destroy,
};
