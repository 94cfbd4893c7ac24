/* ll_client.c - submit-now-collect-later, wait, as-completed and gather, written once on top of
 * a backend's submit/poll/cancel.
 *
 * Every uncollected call is on exactly one of two client lists, linked through cl_prev/cl_next:
 * `live` (submitted, not yet returned by poll) and `ready` (final, in the order they finished,
 * not yet returned by wait/next/gather). Collecting a call unlinks it, so a caller may free it at
 * once. */
#include "ll_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_clock.h"
#include "ll_json.h"
#include "ll_signal.h"
#include "ll_wire.h"

struct ll_list {
    struct ll_call *head, *tail;
};

struct ll_client {
    const struct ll_backend *be;
    struct ll_be *inst;
    const struct ll_config *cfg;
    uint64_t seq;
    size_t next_url; /* round-robin over cfg->base_urls */
    size_t outstanding;
    struct ll_list live, ready;
    bool stopped;               /* cfg->stop was seen set: everything outstanding was cancelled */
    struct ll_wire_cache wires; /* the last request's body and headers, reused while equal */
};

static void list_push(struct ll_list *l, struct ll_call *c)
{
    c->cl_next = NULL;
    c->cl_prev = l->tail;
    if (l->tail != NULL) {
        l->tail->cl_next = c;
    } else {
        l->head = c;
    }
    l->tail = c;
}

static void list_unlink(struct ll_list *l, struct ll_call *c)
{
    if (c->cl_prev != NULL) {
        c->cl_prev->cl_next = c->cl_next;
    } else {
        l->head = c->cl_next;
    }
    if (c->cl_next != NULL) {
        c->cl_next->cl_prev = c->cl_prev;
    } else {
        l->tail = c->cl_prev;
    }
    c->cl_prev = c->cl_next = NULL;
}

int ll_client_create(const struct ll_backend *be, const struct ll_config *cfg,
                     struct ll_client **out)
{
    if (be == NULL || cfg == NULL || cfg->n_base_urls == 0 || cfg->base_urls == NULL ||
        cfg->concurrency < 1 || cfg->retry.max_attempts < 1) {
        return LL_EINVAL;
    }
    struct ll_client *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return LL_ENOMEM;
    }
    c->be = be;
    c->cfg = cfg;
    ll_json_init(); /* cJSON's hooks are process-wide: set them before any worker parses */
    int err = be->create(cfg, &c->inst);
    if (err != 0) {
        free(c);
        return err;
    }
    *out = c;
    return 0;
}

const struct ll_backend *ll_client_backend(const struct ll_client *c)
{
    return c->be;
}

size_t ll_client_outstanding(const struct ll_client *c)
{
    return c->outstanding;
}

int ll_client_submit(struct ll_client *c, const struct ll_request *req, struct ll_call **out)
{
    struct ll_call *call = calloc(1, sizeof(*call));
    if (call == NULL) {
        return LL_ENOMEM;
    }
    if (ll_wire_get(&c->wires, c->cfg, req, &call->wire) != 0) {
        ll_call_free(call);
        return LL_ENOMEM;
    }
    call->base_url = c->cfg->base_urls[c->next_url];
    c->next_url = (c->next_url + 1) % c->cfg->n_base_urls;
    call->stream = req->stream;
    call->not_after = req->not_after;
    call->seq = c->seq;
    atomic_init(&call->cancel, false);
    struct ll_result *res = &call->res;
    res->prompt_tokens = res->completion_tokens = res->total_tokens = -1;
    res->ph_dns_ns = res->ph_connect_ns = res->ph_tls_ns = res->ph_ttfb_ns = -1; /* no attempt */
    res->reasoning_tokens = -1;
    res->max_tokens = req->body_json == NULL && req->max_tokens > 0 ? req->max_tokens : 0;
    res->t_queued = ll_now_ns();
    res->t_intended = req->t_intended ? req->t_intended : res->t_queued;
    res->user = req->user;

    list_push(&c->live, call); /* before submit: a backend may finish it at once */
    int err = c->be->submit(c->inst, call);
    if (err != 0) {
        list_unlink(&c->live, call);
        ll_call_free(call);
        return err;
    }
    c->seq++;
    c->outstanding++;
    *out = call;
    if (c->stopped) {
        ll_client_cancel(c, call); /* after a stop request nothing new goes out */
    }
    return 0;
}

/* A stop request (cfg->stop) cancels what is outstanding once; waits are sliced to see it. */
static int64_t watch_stop(struct ll_client *c, int64_t timeout_ns)
{
    if (c->cfg->stop == NULL) {
        return timeout_ns;
    }
    if (*c->cfg->stop != 0 && !c->stopped) {
        c->stopped = true;
        ll_client_cancel_all(c);
    }
    return timeout_ns < 0 || timeout_ns > LL_SIGNAL_POLL_NS ? LL_SIGNAL_POLL_NS : timeout_ns;
}

/* One backend poll: move what finished from `live` to `ready`. Returns how many, or LL_E*. */
static int pump(struct ll_client *c, int64_t timeout_ns)
{
    struct ll_call *done = NULL;
    timeout_ns = watch_stop(c, timeout_ns);
    int n = c->be->poll(c->inst, timeout_ns, &done);
    if (n < 0) {
        return n;
    }
    int got = 0;
    while (done != NULL) {
        struct ll_call *call = done;
        done = call->next;
        call->next = NULL;
        call->done = true;
        list_unlink(&c->live, call);
        list_push(&c->ready, call);
        c->outstanding--;
        got++;
    }
    return got;
}

static void collect(struct ll_client *c, struct ll_call *call)
{
    if (!call->collected) {
        list_unlink(&c->ready, call);
        call->collected = true;
    }
}

int ll_client_wait(struct ll_client *c, struct ll_call *call)
{
    while (!call->done) {
        if (c->outstanding == 0) {
            return LL_ESTATE; /* not a call of this client */
        }
        int n = pump(c, -1);
        if (n < 0) {
            return n;
        }
    }
    collect(c, call);
    return 0;
}

struct ll_call *ll_client_next_ready(struct ll_client *c)
{
    struct ll_call *call = c->ready.head;
    if (call != NULL) {
        collect(c, call);
    }
    return call;
}

struct ll_call *ll_client_next(struct ll_client *c, int64_t timeout_ns)
{
    int64_t deadline = timeout_ns >= 0 ? ll_now_ns() + timeout_ns : 0;
    while (c->ready.head == NULL && c->outstanding > 0) {
        int64_t left = -1;
        if (timeout_ns >= 0) {
            left = deadline - ll_now_ns();
            left = left > 0 ? left : 0; /* a zero timeout still polls once */
        }
        int n = pump(c, left);
        if (n < 0 || (n == 0 && timeout_ns >= 0 && ll_now_ns() >= deadline)) {
            break;
        }
    }
    return ll_client_next_ready(c);
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (struct ll_call *const *)a;
    uintptr_t y = (uintptr_t) * (struct ll_call *const *)b;
    return x < y ? -1 : x > y;
}

/* FAIL_FAST: process completions as they come until one of `calls` fails, then cancel the rest
 * of them. Membership is a binary search in a copy sorted by address, so each completion costs
 * O(log n) and a large gather stays linear-ish. */
static int gather_fail_fast(struct ll_client *c, struct ll_call **calls, size_t n)
{
    struct ll_call **set = malloc(n * sizeof(*set));
    if (set == NULL) {
        return LL_ENOMEM;
    }
    memcpy(set, calls, n * sizeof(*set));
    qsort(set, n, sizeof(*set), cmp_ptr);

    bool failed = false;
    size_t pending = 0;
    for (size_t i = 0; i < n; i++) {
        pending += !calls[i]->done;
        failed = failed || (calls[i]->done && calls[i]->res.cls != LL_CLASS_NONE);
    }
    while (!failed && pending > 0 && c->outstanding > 0) {
        struct ll_call *last = c->ready.tail; /* what finished before this poll */
        int got = pump(c, -1);
        if (got < 0) {
            free(set);
            return got;
        }
        for (struct ll_call *p = last ? last->cl_next : c->ready.head; p != NULL; p = p->cl_next) {
            if (bsearch(&p, set, n, sizeof(*set), cmp_ptr) != NULL) {
                pending--;
                failed = failed || p->res.cls != LL_CLASS_NONE;
            }
        }
    }
    free(set);
    if (failed) {
        for (size_t i = 0; i < n; i++) {
            ll_client_cancel(c, calls[i]);
        }
    }
    return 0;
}

int ll_client_gather(struct ll_client *c, struct ll_call **calls, size_t n,
                     enum ll_gather_mode mode)
{
    if (mode == LL_GATHER_FAIL_FAST && n > 0) {
        int err = gather_fail_fast(c, calls, n);
        if (err != 0) {
            return err;
        }
    }
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        int err = ll_client_wait(c, calls[i]);
        if (err != 0) {
            return err;
        }
        failures += calls[i]->res.cls != LL_CLASS_NONE;
    }
    return failures;
}

void ll_client_cancel(struct ll_client *c, struct ll_call *call)
{
    if (call->done) {
        return;
    }
    atomic_store(&call->cancel, true);
    c->be->cancel(c->inst, call);
}

void ll_client_cancel_all(struct ll_client *c)
{
    /* Flag every call first: a slot freed by cancelling one call must not start a queued call
     * that is about to be cancelled too -- it would go on the wire for nothing, and count as
     * sent. Flagged, it ends before its first attempt (CANCELLED, no attempt: never sent). */
    for (struct ll_call *p = c->live.head; p != NULL; p = p->cl_next) {
        atomic_store(&p->cancel, true);
    }
    for (struct ll_call *p = c->live.head; p != NULL; p = p->cl_next) {
        c->be->cancel(c->inst, p);
    }
}

int ll_client_progress(struct ll_client *c, int64_t timeout_ns)
{
    int64_t deadline = ll_now_ns() + (timeout_ns > 0 ? timeout_ns : 0);
    int total = 0;
    while (c->outstanding > 0) {
        int64_t left = timeout_ns < 0 ? -1 : deadline - ll_now_ns();
        if (left < 0 && timeout_ns >= 0) {
            left = 0;
        }
        int n = pump(c, left);
        if (n < 0) {
            return n;
        }
        total += n;
        if (timeout_ns >= 0 && ll_now_ns() >= deadline) {
            break;
        }
    }
    return total;
}

void ll_client_sample(struct ll_client *c, struct ll_be_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->loop_idle_ns = -1;
    out->conns_open = out->conns_open_peak = -1; /* not counted unless the backend does */
    if (c->be->sample != NULL) {
        c->be->sample(c->inst, out);
    }
}

void ll_client_reset_stats(struct ll_client *c)
{
    if (c->be->reset_stats != NULL) {
        c->be->reset_stats(c->inst);
    }
}

void ll_client_destroy(struct ll_client *c)
{
    if (c == NULL) {
        return;
    }
    ll_client_cancel_all(c);
    while (c->outstanding > 0 && pump(c, -1) >= 0) {
    }
    while (c->ready.head != NULL) {
        struct ll_call *call = c->ready.head;
        list_unlink(&c->ready, call);
        ll_call_free(call);
    }
    c->be->destroy(c->inst);        /* frees whatever a failed poll left with the backend */
    ll_wire_cache_clear(&c->wires); /* calls the caller still holds keep their own references */
    free(c);
}

bool ll_call_withdraw_if_late(struct ll_call *call, int64_t now)
{
    if (call->not_after <= 0 || call->res.attempts > 0 || now < call->not_after) {
        return false;
    }
    ll_call_finish(call, LL_CLASS_CANCELLED, "not sent: withdrawn at the deadline");
    return true;
}

void ll_call_free(struct ll_call *call)
{
    if (call == NULL) {
        return;
    }
    ll_wire_put(call->wire);
    ll_result_free(&call->res);
    free(call);
}
