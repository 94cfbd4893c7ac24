/* mock_threads.c - --model threads (mock_server.h): a classic thread-per-connection server. The
 * main thread accepts (poll over the listeners, a signalfd for SIGINT/SIGTERM and an eventfd
 * that ending threads ring) and starts one thread per connection, which serves it with
 * blocking calls (mock_conn_thread.h) and ends with it; the main thread joins it.
 *
 * Where it stops: a thread that cannot be started (pthread_create's errno) closes its
 * connection unserved, counted on /metrics and in the summary with the limit it met
 * (mock_syslimit.h), and said once on stderr when it first happens. accept() failures
 * (descriptors: EMFILE, ENFILE) are counted by errno (mock__server_accept_all, as the loops). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "mock_admit.h"
#include "mock_conn_thread.h"
#include "mock_server.h"
#include "mock_syslimit.h"

#define DIAG_EVERY_NS 1000000000LL /* read /proc for a failure's limit at most once a second */
#define KILL_WAIT_MS  10000        /* after the grace period, how long threads get to end */

struct tset {
    struct mock_server *srv;
    atomic_bool stopping; /* every connection's worker points here */
    struct mock_cap cap;  /* --max-running, over every connection */
    pthread_mutex_t mu;   /* conns, nconns, dead */
    struct mock_tconn *conns;
    long nconns;
    struct tconn *dead; /* ended, to be joined */
    int efd;            /* eventfd: a thread has ended */
    int listeners[MOCK_MAX_LISTEN], nlisteners;
    int reserve;        /* a spare descriptor, for accept() at EMFILE */
    size_t stack_bytes; /* of each thread (the default: RLIMIT_STACK) */
    bool told;          /* the first thread failure was said on stderr */
    int64_t diag_ns;    /* when the cached diagnosis was made */
    struct mock_syslimit diag;
};

struct tconn {
    struct mock_tconn t; /* first */
    struct tset *set;
    struct tconn *next_dead;
};

/* ---- one connection's thread ---- */

static void *conn_thread(void *arg)
{
    struct tconn *tc = arg;
    struct tset *set = tc->set;
    struct mock_worker w; /* this thread's caches, on its stack */
    mock_worker_init(&w, set->srv, 0, &set->cap, &set->stopping);
    mock_conn_thread_serve(&tc->t, &w);
    mock_worker_free(&w);
    pthread_mutex_lock(&set->mu);
    if (tc->t.prev != NULL) {
        tc->t.prev->next = tc->t.next;
    } else {
        set->conns = tc->t.next;
    }
    if (tc->t.next != NULL) {
        tc->t.next->prev = tc->t.prev;
    }
    set->nconns--;
    /* Unlisted before its descriptor closes: the main thread's shutdown() at stop can never
     * hit a descriptor number that another connection has been given since. */
    close(tc->t.fd);
    tc->next_dead = set->dead;
    set->dead = tc;
    pthread_mutex_unlock(&set->mu);
    mock_metrics_threads(&set->srv->metrics, -1);
    uint64_t one = 1;
    ssize_t n = write(set->efd, &one, sizeof(one)); /* only fails when the counter is full */
    (void)n;
    return NULL;
}

/* Join every thread that has ended. Main thread. */
static void reap(struct tset *set)
{
    uint64_t v;
    ssize_t n = read(set->efd, &v, sizeof(v));
    (void)n;
    pthread_mutex_lock(&set->mu);
    struct tconn *tc = set->dead;
    set->dead = NULL;
    pthread_mutex_unlock(&set->mu);
    while (tc != NULL) {
        struct tconn *next = tc->next_dead;
        pthread_join(tc->t.thread, NULL);
        mock_conn_thread_fini(&tc->t);
        free(tc);
        tc = next;
    }
}

/* ---- accepting ---- */

/* No thread for this connection: say why, from evidence (at most once a second). */
static void thread_failed(struct tset *set, int err)
{
    int64_t now = (int64_t)uv_hrtime();
    if (set->diag_ns == 0 || now - set->diag_ns > DIAG_EVERY_NS) {
        long threads = (long)atomic_load(&set->srv->metrics.threads);
        mock_syslimit_thread(err, set->stack_bytes, threads, &set->diag);
        set->diag_ns = now;
    }
    mock_metrics_thread_fail(&set->srv->metrics, err, set->diag.name, set->diag.detail);
    if (!set->told) {
        const char *e = strerrorname_np(err);
        fprintf(stderr,
                "mockllm: cannot start a thread for a connection: %s (%s); limit met: %s; "
                "such connections are closed unserved\n",
                e ? e : "?", strerror(err), set->diag.detail);
        set->told = true;
    }
}

static void spawn(struct tset *set, int fd)
{
    struct mock_metrics *m = &set->srv->metrics;
    mock_metrics_add(&mock_metrics_loop(m, 0)->conn_total, 1);
    struct tconn *tc = calloc(1, sizeof(*tc));
    if (tc == NULL || mock_conn_thread_init(&tc->t, fd) != 0) {
        free(tc);
        close(fd);
        thread_failed(set, ENOMEM);
        return;
    }
    tc->set = set;
    pthread_mutex_lock(&set->mu);
    tc->t.next = set->conns;
    if (set->conns != NULL) {
        set->conns->prev = &tc->t;
    }
    set->conns = &tc->t;
    set->nconns++;
    mock_metrics_threads(m, 1); /* before it runs: its end may come first */
    int rc = pthread_create(&tc->t.thread, NULL, conn_thread, tc);
    if (rc != 0) {
        set->conns = tc->t.next; /* it is the head: nothing else ran in between */
        if (set->conns != NULL) {
            set->conns->prev = NULL;
        }
        set->nconns--;
    }
    pthread_mutex_unlock(&set->mu);
    if (rc != 0) {
        mock_metrics_threads(m, -1);
        close(fd);
        mock_conn_thread_fini(&tc->t);
        free(tc);
        thread_failed(set, rc);
    }
}

static void take(void *arg, int fd)
{
    spawn(arg, fd);
}

/* ---- stopping ---- */

/* Wait until every connection has ended or `ms` have passed, joining threads as they end.
 * Returns how many are left. */
static long wait_conns(struct tset *set, int ms)
{
    int64_t until = (int64_t)uv_hrtime() + (int64_t)ms * 1000000;
    for (;;) {
        pthread_mutex_lock(&set->mu);
        long n = set->nconns;
        pthread_mutex_unlock(&set->mu);
        int64_t left = until - (int64_t)uv_hrtime();
        if (n == 0 || left <= 0) {
            reap(set);
            return n;
        }
        struct pollfd p = {.fd = set->efd, .events = POLLIN};
        if (poll(&p, 1, (int)((left + 999999) / 1000000)) > 0) {
            reap(set);
        }
    }
}

/* Stop as the loops stop: no new connections, those waiting for a request end now, answers
 * being written finish for up to --grace-ms, then the rest are killed. Returns how many
 * connection threads did not end. */
static long stop_all(struct tset *set)
{
    atomic_store(&set->stopping, true); /* before the idle marks are read: mock_conn_thread.c */
    for (int i = 0; i < set->nlisteners; i++) {
        close(set->listeners[i]);
    }
    set->nlisteners = 0;
    pthread_mutex_lock(&set->mu);
    for (struct mock_tconn *t = set->conns; t != NULL; t = t->next) {
        mock_conn_thread_stop(t);
    }
    pthread_mutex_unlock(&set->mu);
    if (wait_conns(set, set->srv->cfg->grace_ms) == 0) {
        return 0;
    }
    pthread_mutex_lock(&set->mu);
    for (struct mock_tconn *t = set->conns; t != NULL; t = t->next) {
        mock_conn_thread_kill(t);
    }
    pthread_mutex_unlock(&set->mu);
    long left = wait_conns(set, KILL_WAIT_MS);
    if (left > 0) {
        fprintf(stderr, "mockllm: %ld connection threads did not end\n", left);
    }
    return left;
}

/* ---- the main thread ---- */

static int serve(struct tset *set, int sfd)
{
    struct pollfd p[MOCK_MAX_LISTEN + 2];
    int n = 0;
    for (; n < set->nlisteners; n++) {
        p[n] = (struct pollfd){.fd = set->listeners[n], .events = POLLIN};
    }
    p[n++] = (struct pollfd){.fd = set->efd, .events = POLLIN};
    p[n++] = (struct pollfd){.fd = sfd, .events = POLLIN};
    for (;;) {
        if (poll(p, (nfds_t)n, -1) < 0 && errno != EINTR) {
            fprintf(stderr, "mockllm: poll: %s\n", strerror(errno));
            return -1;
        }
        if (p[n - 1].revents != 0) {
            return 0; /* SIGINT or SIGTERM */
        }
        if (p[n - 2].revents != 0) {
            reap(set);
        }
        for (int i = 0; i < set->nlisteners; i++) {
            if (p[i].revents != 0) {
                /* blocking descriptors: each connection's thread waits on its own */
                mock__server_accept_all(set->srv, p[i].fd, 0, &set->reserve, take, set);
            }
        }
    }
}

static int listen_all(struct tset *set, char *err, size_t errlen)
{
    const struct mock_config *cfg = set->srv->cfg;
    int port = cfg->port;
    for (int a = 0; a < cfg->nlisten; a++) {
        int fd = mock__server_bind(cfg->listen[a], &port, false, err, errlen);
        if (fd < 0) {
            return -1;
        }
        set->listeners[set->nlisteners++] = fd;
        if (listen(fd, cfg->backlog) != 0) {
            snprintf(err, errlen, "cannot listen on %s port %d: %s", cfg->listen[a], port,
                     strerror(errno));
            return -1;
        }
    }
    set->srv->port = port;
    return 0;
}

/* Signals go to the signalfd: blocked here, before any thread starts, so every connection
 * thread inherits the mask and none is interrupted by them. */
static int signals(void)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGINT);
    sigaddset(&s, SIGTERM);
    if (pthread_sigmask(SIG_BLOCK, &s, NULL) != 0) {
        return -1;
    }
    return signalfd(-1, &s, SFD_CLOEXEC);
}

static int set_init(struct tset *set, struct mock_server *srv)
{
    pthread_attr_t attr;
    memset(set, 0, sizeof(*set));
    set->srv = srv;
    set->reserve = mock__server_reserve();
    set->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (pthread_getattr_default_np(&attr) == 0) {
        pthread_attr_getstacksize(&attr, &set->stack_bytes);
        pthread_attr_destroy(&attr);
    }
    if (set->efd < 0 || pthread_mutex_init(&set->mu, NULL) != 0) {
        return -1;
    }
    return mock_cap_init(&set->cap, srv->cfg->max_running, true);
}

int mock__threads_run(struct mock_server *srv)
{
    struct tset set;
    char err[256];
    int rc = 1, sfd = -1;
    long left = 0;
    if (set_init(&set, srv) != 0) {
        fprintf(stderr, "mockllm: cannot set up the thread model: %s\n", strerror(errno));
    } else if (listen_all(&set, err, sizeof(err)) != 0) {
        fprintf(stderr, "mockllm: %s\n", err);
    } else if ((sfd = signals()) < 0) {
        fprintf(stderr, "mockllm: signalfd: %s\n", strerror(errno));
    } else {
        mock_metrics_threads(&srv->metrics, 1); /* this one, which accepts */
        mock__server_ready(srv);
        rc = serve(&set, sfd) == 0 ? 0 : 1;
        left = stop_all(&set);
        mock_metrics_threads(&srv->metrics, -1);
        mock_metrics_summary(&srv->metrics, stderr);
        rc = left > 0 ? 1 : rc;
    }
    for (int i = 0; i < set.nlisteners; i++) {
        close(set.listeners[i]);
    }
    if (sfd >= 0) {
        close(sfd);
    }
    if (set.efd >= 0) {
        close(set.efd);
    }
    if (set.reserve >= 0) {
        close(set.reserve);
    }
    if (left == 0) { /* else threads still use them: the process is about to exit anyway */
        mock_cap_destroy(&set.cap);
        pthread_mutex_destroy(&set.mu);
    }
    return rc;
}
