/* tp_pool.c - worker threads, work queue and completion list of the threaded backend.
 *
 * Locking: one pool mutex guards the queue, the completion list, each call's queue state
 * (be_data), the per-worker stats and the shutdown flag. Three condition variables hang off it:
 * work_cv (idle workers; signalled only when one is idle, as libuv's threadpool.c does), done_cv
 * (the client thread in poll; signalled only while it waits) and backoff_cv (workers sleeping
 * before a retry; broadcast by cancel and destroy). done_cv and backoff_cv use CLOCK_MONOTONIC.
 */
#include "tp_pool.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "ll_client.h"
#include "ll_clock.h"
#include "ll_err.h"
#include "ll_proc.h"
#include "ll_retry.h"
#include "ll_xfer.h"

/* Where a call is, kept in call->be_data under the pool mutex. A queued call holds its "pprev"
 * (the address of the pointer that points at it: q_head or the previous call's next) so that
 * cancel removes it in O(1); the other states are the addresses of these two markers. */
static const char tp__running_mark, tp__final_mark;
#define TP_MAX_SOCKS 8 /* per worker; beyond it a socket is simply not interruptible */
#define TP_RUNNING   ((void *)&tp__running_mark)
#define TP_FINAL     ((void *)&tp__final_mark)

struct tp_worker {
    struct tp_pool *pool;
    pthread_t tid;
    bool started;
    CURL *easy;             /* this worker's only easy handle: its connection outlives requests */
    struct ll_xfer xfer;    /* reused for every attempt; buffers kept */
    uint64_t rng;           /* jitter state, cfg->seed + index */
    struct ll_call *cur;    /* call being run, under the pool mutex */
    uint64_t backoff_waits; /* under the pool mutex */
    int64_t backoff_ns;
    /* This worker's open sockets, under the pool mutex: cancel shuts them down so that a call
     * blocked in curl_easy_perform ends now, not at curl's next progress callback (up to 1 s
     * on a silent connection). Closed under the same mutex, so a listed fd is never a reused
     * number. */
    curl_socket_t socks[TP_MAX_SOCKS];
    int n_socks;
};

struct tp_pool {
    const struct ll_config *cfg;
    pthread_mutex_t mu;
    pthread_cond_t work_cv, done_cv, backoff_cv;
    struct ll_call *q_head, **q_tailp; /* FIFO of queued calls */
    struct ll_call *d_head, **d_tailp; /* finished, not yet returned by poll */
    size_t outstanding;                /* submitted, not yet returned by poll */
    int idle;                          /* workers waiting on work_cv */
    bool poll_waiting;                 /* the client thread waits on done_cv */
    bool shutdown;
    int n_workers;
    struct tp_worker *workers;
    CURLSH *share;
    /* Connection sockets open now and the most at once, under mu (ll_be_stats.conns_open*).
     * A socket curl 7.88 closes with plain close(2) (a connect it gave up) stays counted. */
    int64_t conns_open, conns_peak;
    pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];
    int share_mu_inited;
};

static curl_socket_t tp__open_sock_cb(void *arg, curlsocktype purpose, struct curl_sockaddr *a);
static int tp__close_sock_cb(void *arg, curl_socket_t fd);

static pthread_once_t tp__curl_once = PTHREAD_ONCE_INIT;
static CURLcode tp__curl_rc;

static void tp__curl_init_once(void)
{
    /* Idempotent when the process already did it; guarded because it is not thread-safe. */
    tp__curl_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- share handle: DNS cache and TLS sessions across workers ---- */

static void tp__share_lock_cb(CURL *easy, curl_lock_data data, curl_lock_access access, void *arg)
{
    struct tp_pool *p = arg;
    pthread_mutex_lock(&p->share_mu[data]);
}

static void tp__share_unlock_cb(CURL *easy, curl_lock_data data, void *arg)
{
    struct tp_pool *p = arg;
    pthread_mutex_unlock(&p->share_mu[data]);
}

static int tp__share_create(struct tp_pool *p)
{
    for (; p->share_mu_inited < CURL_LOCK_DATA_LAST; p->share_mu_inited++) {
        if (pthread_mutex_init(&p->share_mu[p->share_mu_inited], NULL) != 0) {
            return LL_ESYS;
        }
    }
    p->share = curl_share_init();
    if (p->share == NULL) {
        return LL_ECURL;
    }
    if (curl_share_setopt(p->share, CURLSHOPT_LOCKFUNC, tp__share_lock_cb) != CURLSHE_OK ||
        curl_share_setopt(p->share, CURLSHOPT_UNLOCKFUNC, tp__share_unlock_cb) != CURLSHE_OK ||
        curl_share_setopt(p->share, CURLSHOPT_USERDATA, p) != CURLSHE_OK ||
        curl_share_setopt(p->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK ||
        curl_share_setopt(p->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
        return LL_ECURL;
    }
    return 0;
}

/* ---- queue and completion list (pool mutex held) ---- */

static void tp__queue_push(struct tp_pool *p, struct ll_call *call)
{
    call->next = NULL;
    call->be_data = p->q_tailp;
    *p->q_tailp = call;
    p->q_tailp = &call->next;
}

static void tp__queue_remove(struct tp_pool *p, struct ll_call *call)
{
    struct ll_call **pprev = call->be_data;

    *pprev = call->next;
    if (call->next != NULL) {
        call->next->be_data = pprev;
    } else {
        p->q_tailp = pprev;
    }
    call->next = NULL;
    call->be_data = NULL;
}

static bool tp__queued(const struct ll_call *call)
{
    return call->be_data != NULL && call->be_data != TP_RUNNING && call->be_data != TP_FINAL;
}

static void tp__done_push(struct tp_pool *p, struct ll_call *call)
{
    call->next = NULL;
    call->be_data = TP_FINAL;
    *p->d_tailp = call;
    p->d_tailp = &call->next;
    if (p->poll_waiting) {
        pthread_cond_signal(&p->done_cv);
    }
}

/* ---- workers ---- */

/* Sleep wait_ns before the next attempt, holding the worker. false when cancel or shutdown cut
 * the sleep short. The wait counts toward the stats either way. */
static bool tp__backoff(struct tp_worker *w, struct ll_call *call, int64_t wait_ns)
{
    struct tp_pool *p = w->pool;
    int64_t start = ll_now_ns();
    struct timespec deadline = ll_ns_to_timespec(start + wait_ns);
    bool go_on = true;

    pthread_mutex_lock(&p->mu);
    w->backoff_waits++;
    for (;;) {
        if (atomic_load(&call->cancel) || p->shutdown) {
            go_on = false;
            break;
        }
        if (pthread_cond_timedwait(&p->backoff_cv, &p->mu, &deadline) == ETIMEDOUT) {
            break;
        }
    }
    w->backoff_ns += ll_now_ns() - start;
    pthread_mutex_unlock(&p->mu);
    return go_on;
}

/* Run one call to its final result: attempts and retry waits, all on this worker. */
static void tp__run(struct tp_worker *w, struct ll_call *call)
{
    const struct ll_config *cfg = w->pool->cfg;

    if (call->res.t_dispatch == 0) { /* ll_xfer_begin refines it; kept if no attempt starts */
        call->res.t_dispatch = ll_now_ns();
    }
    for (;;) {
        if (atomic_load(&call->cancel)) {
            ll_call_finish(call, LL_CLASS_CANCELLED, "cancelled before its next attempt");
            return;
        }
        if (ll_call_withdraw_if_late(call, ll_now_ns())) {
            return; /* got a worker after its deadline: never sent */
        }
        int err = ll_xfer_begin(&w->xfer, w->easy, call, cfg);
        if (err < 0) {
            ll_call_finish(call, LL_CLASS_RESOURCE, ll_strerror(err));
            return;
        }
        CURLcode rc = curl_easy_perform(w->easy);
        int64_t wait_ns = ll_xfer_end(&w->xfer, rc, &w->rng);
        if (wait_ns < 0) {
            return;
        }
        if (ll_xfer_resending(&w->xfer)) {
            continue; /* a reused connection had died: again at once, not a retry */
        }
        if (!tp__backoff(w, call, wait_ns)) {
            ll_call_finish(call, LL_CLASS_CANCELLED, "cancelled while waiting to retry");
            return;
        }
    }
}

static void *tp__worker_main(void *arg)
{
    struct tp_worker *w = arg;
    struct tp_pool *p = w->pool;

    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->q_head == NULL && !p->shutdown) {
            p->idle++;
            pthread_cond_wait(&p->work_cv, &p->mu);
            p->idle--;
        }
        if (p->shutdown) {
            break; /* destroy finishes what is still queued */
        }
        struct ll_call *call = p->q_head;
        tp__queue_remove(p, call);
        call->be_data = TP_RUNNING;
        w->cur = call;
        pthread_mutex_unlock(&p->mu);

        tp__run(w, call);
        if (p->cfg->on_final != NULL) {
            p->cfg->on_final(p->cfg->on_final_arg,
                             call); /* on this worker: steps run in parallel */
        }

        pthread_mutex_lock(&p->mu);
        w->cur = NULL;
        tp__done_push(p, call);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* ---- setup and teardown ---- */

static int tp__worker_init(struct tp_pool *p, int i)
{
    struct tp_worker *w = &p->workers[i];

    w->pool = p;
    w->xfer.slot = (size_t)i; /* its base URL (ll_xfer.slot) */
    w->rng = p->cfg->seed + (uint64_t)i;
    if (w->rng == 0) {
        w->rng = 0x9e3779b97f4a7c15ull; /* xorshift state must not be 0 */
    }
    w->easy = curl_easy_init();
    if (w->easy == NULL) {
        return LL_ECURL;
    }
    /* ll_xfer_begin sets NOSIGNAL too; set it here so that no path of this handle ever raises
     * a signal in a worker. */
    if (curl_easy_setopt(w->easy, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(w->easy, CURLOPT_SHARE, p->share) != CURLE_OK ||
        curl_easy_setopt(w->easy, CURLOPT_OPENSOCKETFUNCTION, tp__open_sock_cb) != CURLE_OK ||
        curl_easy_setopt(w->easy, CURLOPT_OPENSOCKETDATA, w) != CURLE_OK ||
        curl_easy_setopt(w->easy, CURLOPT_CLOSESOCKETFUNCTION, tp__close_sock_cb) != CURLE_OK ||
        curl_easy_setopt(w->easy, CURLOPT_CLOSESOCKETDATA, w) != CURLE_OK) {
        return LL_ECURL;
    }
    /* Under a cap (never below the workers: ll_netopts_check_backend) a worker keeps one
     * connection, not curl's default five (several --url, fewer workers than URLs). */
    if (p->cfg->max_connections > 0 &&
        curl_easy_setopt(w->easy, CURLOPT_MAXCONNECTS, 1L) != CURLE_OK) {
        return LL_ECURL;
    }
    return 0;
}

static curl_socket_t tp__open_sock_cb(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct tp_worker *w = arg;
    curl_socket_t fd = ll_xfer_open_socket(&w->xfer, a); /* keeps errno: EMFILE is a limit */
    if (fd != CURL_SOCKET_BAD && purpose == CURLSOCKTYPE_IPCXN) {
        struct tp_pool *p = w->pool;
        pthread_mutex_lock(&p->mu);
        if (w->n_socks < TP_MAX_SOCKS) {
            w->socks[w->n_socks++] = fd;
        }
        if (++p->conns_open > p->conns_peak) {
            p->conns_peak = p->conns_open;
        }
        pthread_mutex_unlock(&w->pool->mu);
    }
    return fd;
}

static int tp__close_sock_cb(void *arg, curl_socket_t fd)
{
    struct tp_worker *w = arg;
    pthread_mutex_lock(&w->pool->mu);
    w->pool->conns_open--; /* curl closes here only the sockets it opened for a connection */
    for (int i = 0; i < w->n_socks; i++) {
        if (w->socks[i] == fd) {
            w->socks[i] = w->socks[--w->n_socks];
            break;
        }
    }
    int rc = close(fd);
    pthread_mutex_unlock(&w->pool->mu);
    return rc;
}

/* Under the pool mutex: end the transfer `call` is blocked in, if a worker runs it. */
static void tp__interrupt(struct tp_pool *p, struct ll_call *call)
{
    for (int i = 0; i < p->n_workers; i++) {
        struct tp_worker *w = &p->workers[i];
        if (w->cur == call) {
            for (int k = 0; k < w->n_socks; k++) {
                shutdown(w->socks[k], SHUT_RDWR);
            }
            return;
        }
    }
}

static int tp__errno_to_ll(int e)
{
    return (e == EAGAIN || e == ENOMEM) ? LL_ELIMIT : e == EINVAL ? LL_EINVAL : LL_ESYS;
}

static int tp__start_threads(struct tp_pool *p)
{
    pthread_attr_t attr;
    int err = 0, e;

    if (pthread_attr_init(&attr) != 0) {
        return LL_ESYS;
    }
    if (p->cfg->stack_size != 0) {
        if (p->cfg->stack_size < (size_t)PTHREAD_STACK_MIN) {
            err = LL_EINVAL;
            goto out;
        }
        e = pthread_attr_setstacksize(&attr, p->cfg->stack_size);
        if (e != 0) {
            err = tp__errno_to_ll(e);
            goto out;
        }
    }
    for (int i = 0; i < p->n_workers; i++) {
        struct tp_worker *w = &p->workers[i];
        e = pthread_create(&w->tid, &attr, tp__worker_main, w);
        if (e != 0) {
            err = tp__errno_to_ll(e);
            if (err == LL_ELIMIT && p->cfg->thread_wall != NULL) { /* before the join */
                ll_thread_wall_snap(p->cfg->thread_wall, e, i, p->n_workers, p->cfg->stack_size);
            }
            goto out;
        }
        w->started = true;
    }
out:
    pthread_attr_destroy(&attr);
    return err;
}

static int tp__sync_init(struct tp_pool *p)
{
    pthread_condattr_t ca;
    int ok;

    if (pthread_condattr_init(&ca) != 0) {
        return LL_ESYS;
    }
    ok = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
         pthread_mutex_init(&p->mu, NULL) == 0;
    if (ok && pthread_cond_init(&p->work_cv, NULL) != 0) {
        pthread_mutex_destroy(&p->mu);
        ok = 0;
    }
    if (ok && pthread_cond_init(&p->done_cv, &ca) != 0) {
        pthread_cond_destroy(&p->work_cv);
        pthread_mutex_destroy(&p->mu);
        ok = 0;
    }
    if (ok && pthread_cond_init(&p->backoff_cv, &ca) != 0) {
        pthread_cond_destroy(&p->done_cv);
        pthread_cond_destroy(&p->work_cv);
        pthread_mutex_destroy(&p->mu);
        ok = 0;
    }
    pthread_condattr_destroy(&ca);
    return ok ? 0 : LL_ESYS;
}

static void tp__sync_destroy(struct tp_pool *p)
{
    pthread_cond_destroy(&p->backoff_cv);
    pthread_cond_destroy(&p->done_cv);
    pthread_cond_destroy(&p->work_cv);
    pthread_mutex_destroy(&p->mu);
}

/* Set shutdown, wake every worker and join those that started. A worker finishes the call it
 * runs (pushing it to the completion list) before it sees shutdown. */
static void tp__join(struct tp_pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->shutdown = true;
    pthread_cond_broadcast(&p->work_cv);
    pthread_cond_broadcast(&p->backoff_cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_workers; i++) {
        struct tp_worker *w = &p->workers[i];
        if (w->started) {
            pthread_join(w->tid, NULL);
            w->started = false;
        }
    }
}

/* Free handles, share, sync objects and the pool; no thread may be running. */
static void tp__free(struct tp_pool *p, bool sync_ok)
{
    for (int i = 0; i < p->n_workers; i++) {
        struct tp_worker *w = &p->workers[i];
        if (w->easy != NULL) {
            curl_easy_cleanup(w->easy);
            ll_xfer_cleanup(&w->xfer);
        }
    }
    if (p->share != NULL) {
        curl_share_cleanup(p->share); /* after every easy that used it */
    }
    for (int i = 0; i < p->share_mu_inited; i++) {
        pthread_mutex_destroy(&p->share_mu[i]);
    }
    if (sync_ok) {
        tp__sync_destroy(p);
    }
    free(p->workers);
    free(p);
}

int tp_pool_create(const struct ll_config *cfg, struct tp_pool **out)
{
    struct tp_pool *p;
    bool sync_ok = false;
    int err;

    *out = NULL;
    if (cfg == NULL || cfg->concurrency < 1) {
        return LL_EINVAL;
    }
    pthread_once(&tp__curl_once, tp__curl_init_once);
    if (tp__curl_rc != CURLE_OK) {
        return LL_ECURL;
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        return LL_ENOMEM;
    }
    p->cfg = cfg;
    p->q_tailp = &p->q_head;
    p->d_tailp = &p->d_head;
    p->n_workers = cfg->concurrency;
    p->workers = calloc((size_t)p->n_workers, sizeof(*p->workers));
    if (p->workers == NULL) {
        err = LL_ENOMEM;
        goto error;
    }
    if ((err = tp__sync_init(p)) < 0) {
        goto error;
    }
    sync_ok = true;
    if ((err = tp__share_create(p)) < 0) {
        goto error;
    }
    for (int i = 0; i < p->n_workers; i++) {
        if ((err = tp__worker_init(p, i)) < 0) {
            goto error;
        }
    }
    if ((err = tp__start_threads(p)) < 0) {
        goto error;
    }
    *out = p;
    return 0;

error:
    if (sync_ok) {
        tp__join(p);
    }
    tp__free(p, sync_ok);
    return err;
}

/* ---- client-thread operations ---- */

int tp_pool_submit(struct tp_pool *p, struct ll_call *call)
{
    pthread_mutex_lock(&p->mu);
    if (p->shutdown) {
        pthread_mutex_unlock(&p->mu);
        return LL_ESTATE;
    }
    tp__queue_push(p, call);
    p->outstanding++;
    if (p->idle > 0) {
        pthread_cond_signal(&p->work_cv);
    }
    pthread_mutex_unlock(&p->mu);
    return 0;
}

int tp_pool_poll(struct tp_pool *p, int64_t timeout_ns, struct ll_call **done)
{
    struct ll_call *list, **tail;
    int n = 0;

    pthread_mutex_lock(&p->mu);
    if (p->d_head == NULL && p->outstanding > 0 && timeout_ns != 0) {
        struct timespec deadline = ll_ns_to_timespec(ll_now_ns() + timeout_ns);
        p->poll_waiting = true;
        while (p->d_head == NULL) {
            int e = timeout_ns < 0 ? pthread_cond_wait(&p->done_cv, &p->mu)
                                   : pthread_cond_timedwait(&p->done_cv, &p->mu, &deadline);
            if (e == ETIMEDOUT) {
                break;
            }
        }
        p->poll_waiting = false;
    }
    list = p->d_head;
    p->d_head = NULL;
    p->d_tailp = &p->d_head;
    for (struct ll_call *c = list; c != NULL; c = c->next) {
        c->be_data = NULL; /* no longer ours: a late cancel finds it unknown */
        n++;
    }
    p->outstanding -= (size_t)n;
    pthread_mutex_unlock(&p->mu);

    for (tail = done; *tail != NULL; tail = &(*tail)->next) {
    }
    *tail = list;
    return n;
}

void tp_pool_cancel(struct tp_pool *p, struct ll_call *call)
{
    pthread_mutex_lock(&p->mu);
    if (tp__queued(call)) {
        tp__queue_remove(p, call);
        ll_call_finish(call, LL_CLASS_CANCELLED, "cancelled while queued");
        tp__done_push(p, call);
    } else if (call->be_data == TP_RUNNING) {
        /* A blocked transfer ends when its socket is shut down (ll_xfer then classifies it
         * CANCELLED); the progress callback catches the rest; a retry sleep wakes here. */
        atomic_store(&call->cancel, true);
        tp__interrupt(p, call);
        pthread_cond_broadcast(&p->backoff_cv);
    }
    pthread_mutex_unlock(&p->mu);
}

void tp_pool_sample(struct tp_pool *p, struct ll_be_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->threads = p->n_workers;
    out->loop_idle_ns = -1;
    out->loop_lag = NULL;
    out->limit_hit = NULL; /* a thread limit fails create() instead */
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < p->n_workers; i++) {
        out->backoff_waits += p->workers[i].backoff_waits;
        out->backoff_ns += p->workers[i].backoff_ns;
    }
    out->conns_open = p->conns_open;
    out->conns_open_peak = p->conns_peak;
    pthread_mutex_unlock(&p->mu);
}

void tp_pool_reset_stats(struct tp_pool *p)
{
    pthread_mutex_lock(&p->mu); /* workers add to them under it */
    for (int i = 0; i < p->n_workers; i++) {
        p->workers[i].backoff_waits = 0;
        p->workers[i].backoff_ns = 0;
    }
    p->conns_peak = p->conns_open;
    pthread_mutex_unlock(&p->mu);
}

void tp_pool_destroy(struct tp_pool *p)
{
    struct ll_call *queued, *done = NULL, *next;

    if (p == NULL) {
        return;
    }
    /* Take the queue and flag the running calls before the workers are told to stop: each
     * aborts its transfer or retry sleep and hands its call to the completion list. */
    pthread_mutex_lock(&p->mu);
    queued = p->q_head;
    p->q_head = NULL;
    p->q_tailp = &p->q_head;
    for (int i = 0; i < p->n_workers; i++) {
        if (p->workers[i].cur != NULL) {
            atomic_store(&p->workers[i].cur->cancel, true);
        }
    }
    pthread_mutex_unlock(&p->mu);
    tp__join(p);

    /* Nothing runs now: free what poll never returned, queued or finished. */
    tp_pool_poll(p, 0, &done);
    for (; queued != NULL; queued = next) {
        next = queued->next;
        ll_call_free(queued);
    }
    for (; done != NULL; done = next) {
        next = done->next;
        ll_call_free(done);
    }
    tp__free(p, true);
}
