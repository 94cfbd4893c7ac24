/* mock_admit.c - admitting a validated chat completion (mock_admit.h): scripted failures,
 * forced statuses, rate limits, injected faults, then a capacity slot (--max-running, FIFO),
 * and generation (mock_gen.c) once it has one. Every status a request can get other than 200 is
 * decided here, before its headers go. */
#include "mock_admit.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "mock_answer.h"
#include "mock_conn.h"
#include "mock_gen.h"
#include "mock_latency.h"

static struct mock_server *srv_of(struct mock_req *r)
{
    return r->conn->w->srv;
}

/* ---- capacity ---- */

/* running +/- 1: written only under the lock (or by the loop), read anywhere, so a relaxed
 * load and store, which cost what a plain int did. */
static void running_add(struct mock_cap *cap, int d)
{
    int n = atomic_load_explicit(&cap->running, memory_order_relaxed) + d;
    atomic_store_explicit(&cap->running, n, memory_order_relaxed);
}

static void start_cb(struct mock_conn *c)
{
    mock_gen_start(c->http.head);
}

/* Under the lock: r gives its slot back, and the first request waiting takes it, started on
 * its own connection's thread (mock_conn_wake: from the loop, or by waking that thread). */
static void slot_release(struct mock_cap *cap, struct mock_req *r)
{
    running_add(cap, -1);
    r->job.has_slot = false;
    struct mock_req *w = cap->wait_head;
    if (w == NULL || (cap->slots > 0 &&
                      atomic_load_explicit(&cap->running, memory_order_relaxed) >= cap->slots)) {
        return;
    }
    cap->wait_head = w->job.wait_next;
    if (cap->wait_head == NULL) {
        cap->wait_tail = NULL;
    }
    w->job.waiting = false;
    w->job.has_slot = true;
    running_add(cap, 1);
    mock_conn_wake(w->conn, start_cb);
}

static void wait_remove(struct mock_cap *cap, struct mock_req *r)
{
    struct mock_req **pp = &cap->wait_head, *prev = NULL;
    while (*pp != NULL && *pp != r) {
        prev = *pp;
        pp = &(*pp)->job.wait_next;
    }
    if (*pp == r) {
        *pp = r->job.wait_next;
        if (cap->wait_tail == r) {
            cap->wait_tail = prev;
        }
    }
    r->job.waiting = false;
}

/* The request ends (mock_answer_account): its slot, or its place in the FIFO, goes back. A
 * loop's own capacity needs no lock, and this runs for every request: two versions. */
static void release(struct mock_req *r)
{
    struct mock_cap *cap = r->conn->w->cap;
    if (r->job.waiting) {
        wait_remove(cap, r);
    }
    if (r->job.has_slot) {
        slot_release(cap, r);
    }
}

static void release_shared(struct mock_req *r)
{
    struct mock_cap *cap = r->conn->w->cap;
    pthread_mutex_lock(&cap->mu);
    release(r);
    pthread_mutex_unlock(&cap->mu);
}

/* A slot for r now (true), or the last place in the FIFO (false). Under the lock if shared. */
static bool take_slot(struct mock_cap *cap, struct mock_req *r)
{
    if (cap->slots > 0 &&
        (atomic_load_explicit(&cap->running, memory_order_relaxed) >= cap->slots ||
         cap->wait_head != NULL)) {
        r->job.waiting = true;
        r->job.wait_next = NULL;
        if (cap->wait_tail != NULL) {
            cap->wait_tail->job.wait_next = r;
        } else {
            cap->wait_head = r;
        }
        cap->wait_tail = r;
        return false;
    }
    r->job.has_slot = true;
    running_add(cap, 1);
    return true;
}

/* Admitted: a stream's headers go now, even when it must wait for a capacity slot (a real
 * server queues it with its headers already sent). */
static void admit(struct mock_req *r)
{
    struct mock_cap *cap = r->conn->w->cap;
    bool now;
    if (r->job.stream) {
        mock_gen_admitted(r);
    }
    if (cap->shared) {
        r->job.release = release_shared;
        pthread_mutex_lock(&cap->mu);
        now = take_slot(cap, r);
        pthread_mutex_unlock(&cap->mu);
    } else {
        r->job.release = release;
        now = take_slot(cap, r);
    }
    if (now) {
        mock_gen_start(r);
    } else if (r->job.stream) {
        mock_conn_flush(r->conn, false); /* outside the lock: a write may block (threads) */
    }
}

int mock_cap_init(struct mock_cap *cap, int slots, bool shared)
{
    memset(cap, 0, sizeof(*cap));
    cap->slots = slots;
    cap->shared = shared;
    return shared && pthread_mutex_init(&cap->mu, NULL) != 0 ? -1 : 0;
}

void mock_cap_destroy(struct mock_cap *cap)
{
    if (cap->shared) {
        pthread_mutex_destroy(&cap->mu);
    }
}

/* ---- gates ---- */

static void retry_error(struct mock_req *r, int status, int retry_after, const char *msg,
                        const char *code)
{
    char extra[64] = "";
    if (status == 429 || status == 503) {
        snprintf(extra, sizeof(extra), "Retry-After: %d\r\n", retry_after);
    }
    mock_answer_error(r, status, msg, NULL, code, extra);
}

static int fault_status(enum mock_fault_kind k)
{
    switch (k) {
    case MOCK_FAULT_429:
        return 429;
    case MOCK_FAULT_500:
        return 500;
    case MOCK_FAULT_503:
        return 503;
    case MOCK_FAULT_400:
        return 400;
    default:
        return 0;
    }
}

static int fault_kind(int status)
{
    switch (status) {
    case 429:
        return MOCK_FAULT_429;
    case 500:
        return MOCK_FAULT_500;
    case 503:
        return MOCK_FAULT_503;
    case 400:
        return MOCK_FAULT_400;
    default:
        return MOCK_FAULT_NONE;
    }
}

static const char *status_msg(int status)
{
    switch (status) {
    case 429:
        return "Rate limit reached (injected by mockllm).";
    case 500:
        return "The server had an error while processing your request (injected).";
    case 503:
        return "The server is overloaded (injected by mockllm).";
    case 400:
        return "Bad request (injected by mockllm).";
    default:
        return "Error injected by mockllm.";
    }
}

/* Statuses forced by headers or scripts. true when the request was answered. */
static bool forced(struct mock_req *r)
{
    struct mock_server *srv = srv_of(r);
    int status = 0;
    if (r->mock_key[0] != '\0' && r->x_fail_first > 0) {
        unsigned a = mock_script_attempt(srv->script, r->mock_key, strlen(r->mock_key));
        if (a <= (unsigned)r->x_fail_first) {
            int i = (int)a - 1 < r->n_fail_status ? (int)a - 1 : r->n_fail_status - 1;
            status = i >= 0 ? r->x_fail_status[i] : 503;
        }
    }
    if (status == 0 && r->x_status > 0 && r->x_status != 200) {
        status = r->x_status;
    }
    if (status == 0) {
        return false;
    }
    mock_metrics_fault(&srv->metrics, r->conn->w->index, fault_kind(status));
    retry_error(r, status, r->x_retry_after >= 0 ? r->x_retry_after : 1, status_msg(status),
                status == 429 ? "rate_limit_exceeded" : NULL);
    return true;
}

static bool rate_limited(struct mock_req *r)
{
    struct mock_server *srv = srv_of(r);
    struct mock_job *j = &r->job;
    char msg[160], extra[64];
    if (!srv->rl_on) {
        return false;
    }
    long tokens = j->prompt_tokens + mock_shape_completion(&j->shape);
    j->rl_headers = true;
    if (mock_ratelimit_take(&srv->rl, (int64_t)uv_hrtime(), tokens, &j->rl)) {
        return false;
    }
    mock_metrics_add(&mock_metrics_loop(&srv->metrics, r->conn->w->index)->rate_limited, 1);
    long long s = (j->rl.retry_after_ms + 999) / 1000;
    snprintf(msg, sizeof(msg),
             "Rate limit reached for %s per minute (mockllm). Retry after %lld s.",
             j->rl.which ? j->rl.which : "requests", s < 1 ? 1 : s);
    snprintf(extra, sizeof(extra), "retry-after-ms: %lld\r\n", (long long)j->rl.retry_after_ms);
    char full[128];
    snprintf(full, sizeof(full), "Retry-After: %lld\r\n%s", s < 1 ? 1 : s, extra);
    mock_answer_error(r, 429, msg, NULL, "rate_limit_exceeded", full);
    return true;
}

/* What the answer will be: reasoning and content tokens, tokens per chunk (mock_shape.h),
 * before the gates, which charge them to the rate limiter. The shape has its own rng, seeded
 * only when a count is drawn. */
static void plan_tokens(struct mock_req *r)
{
    struct mock_job *j = &r->job;
    const struct mock_profile *p = j->prof;
    struct mock_shape_ask ask = {r->x_tokens, r->x_reasoning1 - 1, j->max_tokens, j->min_tokens,
                                 j->ignore_eos};
    if (p->reasoning.kind != MOCK_DIST_FIXED || p->chunk.kind != MOCK_DIST_FIXED ||
        (p->tokens.kind != MOCK_DIST_FIXED && r->x_tokens < 0)) {
        mock_rng_seed(&j->shape_rng, mock_hash64("shape", 5, j->id));
    }
    mock_shape_plan(&j->shape, p, &ask, &j->shape_rng);
    j->chunk_fixed = r->x_chunk1 > 0                    ? r->x_chunk1 - 1
                     : p->chunk.kind == MOCK_DIST_FIXED ? (int)p->chunk.a
                                                        : 0;
}

void mock_admit_chat(struct mock_req *r)
{
    struct mock_server *srv = srv_of(r);
    struct mock_job *j = &r->job;
    const struct mock_profile *p = j->prof;
    struct mock_fault_decision fd;
    j->occ = atomic_fetch_add_explicit(&srv->occ[j->key & (MOCK_OCC_SLOTS - 1)], 1,
                                       memory_order_relaxed);
    mock_rng_seed(&j->text_rng, j->key);
    j->id = mock_hash64(&j->occ, sizeof(j->occ), j->key);
    mock_rng_seed(&j->draw_rng, j->id);
    j->created = (long long)time(NULL);
    plan_tokens(r);
    mock_fault_decide(p->has_faults ? &p->faults : &srv->cfg->faults, &j->draw_rng, &fd);
    if (forced(r) || rate_limited(r)) {
        return;
    }
    fd.kind = r->x_fault == MOCK_XF_CLOSE   ? MOCK_FAULT_CLOSE
              : r->x_fault == MOCK_XF_STALL ? MOCK_FAULT_STALL
                                            : fd.kind;
    fd.split = fd.split || r->x_fault == MOCK_XF_SPLIT;
    int status = fault_status(fd.kind);
    if (status != 0) {
        mock_metrics_fault(&srv->metrics, r->conn->w->index, fd.kind);
        retry_error(r, status, fd.retry_after_s, status_msg(status),
                    status == 429 ? "rate_limit_exceeded" : NULL);
        return;
    }
    j->fault = fd.kind;
    j->split = fd.split && j->stream;
    j->close_after = fd.close_after;
    if (j->split) {
        mock_metrics_fault(&srv->metrics, r->conn->w->index, MOCK_FAULT_KIND_SPLIT);
    }
    if (fd.kind == MOCK_FAULT_STALL) {
        mock_metrics_fault(&srv->metrics, r->conn->w->index, MOCK_FAULT_STALL);
        mock_conn_hold(r->conn);
        return;
    }
    admit(r);
}
