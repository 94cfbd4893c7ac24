/* mock_loops.c - --model loop (mock_server.h): N event loops, one per thread, each with its own
 * listeners (SO_REUSEPORT when N > 1), signals on loop 0, graceful stop. The connections are
 * the libuv transport's (mock_conn_loop.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mock_admit.h"
#include "mock_conn_loop.h"
#include "mock_server.h"

struct loops {
    struct mock_server *srv;
    struct mock_loop *loops;
    int n;
    bool stop_sent; /* loop 0 only */
};

static void take(void *arg, int fd)
{
    mock_conn_loop_accept(arg, fd);
}

static void listen_cb(uv_poll_t *h, int status, int events)
{
    struct mock_loop *lp = h->data;
    int fd = lp->listen_fds[h - lp->listeners];
    mock__server_accept_all(lp->w.srv, fd, SOCK_NONBLOCK, &lp->reserve, take, lp);
}

/* Listen on a bound socket from lp's loop (lp owns fd from here on). */
static int open_listener(struct mock_loop *lp, int fd, const char *host, int port, char *err,
                         size_t errlen)
{
    int i = lp->nlisteners++;
    lp->listen_fds[i] = fd; /* closed with the loop from now on, even if listening fails */
    uv_poll_t *h = &lp->listeners[i];
    int rc = listen(fd, lp->w.srv->cfg->backlog) == 0 ? 0 : uv_translate_sys_error(errno);
    if (rc == 0 && (rc = uv_poll_init(&lp->loop, h, fd)) == 0) {
        h->data = lp;
        if ((rc = uv_poll_start(h, UV_READABLE, listen_cb)) != 0) {
            uv_close((uv_handle_t *)h, NULL);
        }
    }
    if (rc != 0) {
        snprintf(err, errlen, "cannot listen on %s port %d: %s", host, port, uv_strerror(rc));
        return -1;
    }
    return 0;
}

/* Stop listening: the poll handles stop before their descriptors close. */
static void close_listeners(struct mock_loop *lp)
{
    for (int i = 0; i < lp->nlisteners; i++) {
        if (lp->listen_fds[i] >= 0) {
            if (uv_is_active((uv_handle_t *)&lp->listeners[i])) {
                uv_close((uv_handle_t *)&lp->listeners[i], NULL);
            }
            close(lp->listen_fds[i]);
            lp->listen_fds[i] = -1;
        }
    }
}

/* ---- stopping ---- */

static void close_handle(uv_handle_t *h)
{
    if (!uv_is_closing(h)) {
        uv_close(h, NULL);
    }
}

static void maybe_finish(struct mock_loop *lp)
{
    if (atomic_load_explicit(&lp->stopping, memory_order_relaxed) && lp->nconns == 0 &&
        lp->grace_started) {
        close_handle((uv_handle_t *)&lp->grace_timer);
        mock_conn_loop_rtt_stop(lp); /* resets still on their way go now */
    }
}

/* A connection of a stopping loop has closed (mock_conn_loop.c, through lp->conn_gone). */
static void conn_gone(struct mock_loop *lp)
{
    maybe_finish(lp);
}

static void grace_cb(uv_timer_t *t)
{
    struct mock_loop *lp = t->data;
    mock_conn_loop_close_all(lp);
    close_handle((uv_handle_t *)t);
}

static void stop_async_cb(uv_async_t *a)
{
    struct mock_loop *lp = a->data;
    atomic_store_explicit(&lp->stopping, true, memory_order_relaxed);
    close_listeners(lp);
    close_handle((uv_handle_t *)&lp->stop_async);
    if (lp->w.index == 0) {
        close_handle((uv_handle_t *)&lp->sigint);
        close_handle((uv_handle_t *)&lp->sigterm);
    }
    mock_conn_loop_stop_all(lp);
    uv_timer_start(&lp->grace_timer, grace_cb, (uint64_t)lp->w.srv->cfg->grace_ms, 0);
    lp->grace_started = true;
    maybe_finish(lp);
}

static void signal_cb(uv_signal_t *s, int signum)
{
    struct mock_loop *lp = s->data;
    struct loops *ls = lp->owner;
    if (ls->stop_sent) {
        return;
    }
    ls->stop_sent = true;
    for (int i = 0; i < ls->n; i++) {
        uv_async_send(&ls->loops[i].stop_async);
    }
}

/* ---- setup ---- */

static int loop_init(struct loops *ls, struct mock_loop *lp, int index)
{
    struct mock_server *srv = ls->srv;
    memset(lp, 0, offsetof(struct mock_loop, rbuf));
    lp->owner = ls;
    lp->conn_gone = conn_gone;
    lp->reserve = mock__server_reserve();
    int max = srv->cfg->max_running, slots = 0;
    if (max > 0) { /* --max-running divided over the loops, at least one each */
        slots = max / ls->n + (index < max % ls->n ? 1 : 0);
        slots = slots > 0 ? slots : 1;
    }
    mock_cap_init(&lp->cap, slots, false);
    mock_worker_init(&lp->w, srv, index, &lp->cap, &lp->stopping);
    int e = uv_loop_init(&lp->loop);
    if (e != 0) {
        errno = -e; /* for the caller's line: EMFILE under a small ulimit -n */
        return -1;
    }
    const struct mock_config *cfg = srv->cfg;
    lp->x_accept = srv->tls != NULL || cfg->rtt_ms > 0 || cfg->h2_max_streams > 0;
    if (cfg->rtt_ms > 0 && mock_conn_loop_rtt_start(lp) != 0) {
        return -1;
    }
    uv_async_init(&lp->loop, &lp->stop_async, stop_async_cb);
    lp->stop_async.data = lp;
    uv_timer_init(&lp->loop, &lp->grace_timer);
    lp->grace_timer.data = lp;
    if (index == 0) {
        uv_signal_init(&lp->loop, &lp->sigint);
        uv_signal_init(&lp->loop, &lp->sigterm);
        lp->sigint.data = lp->sigterm.data = lp;
        uv_signal_start(&lp->sigint, signal_cb, SIGINT);
        uv_signal_start(&lp->sigterm, signal_cb, SIGTERM);
    }
    return 0;
}

static void walk_close_cb(uv_handle_t *h, void *arg)
{
    close_handle(h);
}

/* Close whatever a loop still has open (setup failed, or after the run), then the loop. */
static int loop_fini(struct mock_loop *lp)
{
    mock_conn_loop_rtt_stop(lp);
    close_listeners(lp);
    if (lp->reserve >= 0) {
        close(lp->reserve);
    }
    uv_walk(&lp->loop, walk_close_cb, NULL);
    uv_run(&lp->loop, UV_RUN_DEFAULT);
    mock_worker_free(&lp->w);
    mock_cap_destroy(&lp->cap);
    return uv_loop_close(&lp->loop);
}

static int listen_all(struct loops *ls, char *err, size_t errlen)
{
    const struct mock_config *cfg = ls->srv->cfg;
    int port = cfg->port;
    for (int l = 0; l < ls->n; l++) {
        for (int a = 0; a < cfg->nlisten; a++) {
            int fd = mock__server_bind(cfg->listen[a], &port, ls->n > 1, err, errlen);
            if (fd < 0 ||
                open_listener(&ls->loops[l], fd, cfg->listen[a], port, err, errlen) != 0) {
                return -1;
            }
        }
    }
    ls->srv->port = port;
    return 0;
}

static void loop_thread(void *arg)
{
    struct mock_loop *lp = arg;
    uv_run(&lp->loop, UV_RUN_DEFAULT);
}

/* Loop 0 runs on this thread, the others on threads of their own; returns when all stopped. */
static void run_all(struct loops *ls)
{
    int started = 1;
    for (; started < ls->n; started++) {
        if (uv_thread_create(&ls->loops[started].thread, loop_thread, &ls->loops[started]) != 0) {
            fprintf(stderr, "mockllm: cannot start thread %d; stopping\n", started);
            signal_cb(&ls->loops[0].sigint, SIGTERM);
            break;
        }
    }
    mock_metrics_threads(&ls->srv->metrics, started);
    uv_run(&ls->loops[0].loop, UV_RUN_DEFAULT);
    for (int i = 1; i < started; i++) {
        uv_thread_join(&ls->loops[i].thread);
    }
}

int mock__loops_run(struct mock_server *srv)
{
    struct loops ls = {.srv = srv, .n = srv->cfg->threads};
    char err[256];
    int rc = 1, ninit = 0;
    ls.loops = calloc((size_t)ls.n, sizeof(*ls.loops));
    if (ls.loops == NULL) {
        fprintf(stderr, "mockllm: out of memory at start\n");
        return 1;
    }
    for (; ninit < ls.n; ninit++) {
        errno = 0;
        if (loop_init(&ls, &ls.loops[ninit], ninit) != 0) {
            fprintf(stderr, "mockllm: cannot create event loop %d%s%s\n", ninit,
                    errno != 0 ? ": " : "", errno != 0 ? strerror(errno) : "");
            goto out;
        }
    }
    if (listen_all(&ls, err, sizeof(err)) != 0) {
        fprintf(stderr, "mockllm: %s\n", err);
        goto out;
    }
    mock__server_ready(srv);
    run_all(&ls);
    mock_metrics_summary(&srv->metrics, stderr);
    rc = 0;
out:
    for (int i = 0; i < ninit; i++) {
        if (loop_fini(&ls.loops[i]) != 0) {
            fprintf(stderr, "mockllm: loop %d did not close cleanly\n", i);
            rc = 1;
        }
    }
    free(ls.loops);
    return rc;
}
