/* mock_conn_thread.c - the blocking transport (mock_conn_thread.h): a connection served by its
 * own thread, with blocking reads, writes and sleeps. */
#include "mock_conn_thread.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define MOCK_DRAIN_MS 2000 /* after a closing answer, how long the client may take to close */

static struct mock_tconn *tconn(struct mock_conn *c)
{
    return (struct mock_tconn *)c;
}

static int64_t now_ns(void)
{
    return (int64_t)uv_hrtime(); /* the clock generation schedules by */
}

static int64_t idle_timeout_ns(const struct mock_tconn *t)
{
    return (int64_t)t->c.w->srv->cfg->idle_timeout_ms * 1000000;
}

/* Milliseconds from now until `until` (0 when past), for poll(). */
static int ms_until(int64_t until)
{
    int64_t left = until - now_ns();
    return left <= 0 ? 0 : (int)((left + 999999) / 1000000);
}

/* ---- closing ---- */

static void thr_close(struct mock_conn *c)
{
    struct mock_tconn *t = tconn(c);
    if (t->closing) {
        return;
    }
    t->closing = true;
    if (t->active && c->http.head != NULL) {
        c->w->srv->app->abort(c->http.head);
    }
    t->active = false;
    mock_http_drop(&c->http, false);
    mock_metrics_conns(&c->w->srv->metrics, c->w->index, -1);
}

static void thr_fail(struct mock_conn *c)
{
    tconn(c)->failed = true; /* the serving loop closes it once the answer's stack unwound */
}

static void thr_done(struct mock_req *r)
{
    struct mock_tconn *t = tconn(r->conn);
    bool closes = mock_req_closes(r);
    t->active = false;
    mock_http_pop(&t->c.http); /* r is the head */
    if (t->closing || t->failed) {
        return;
    }
    if (closes) {
        t->shutting = true; /* linger() after the serving loop */
        mock_http_drop(&t->c.http, false);
    } else if (t->c.http.head == NULL) {
        t->idle_since_ns = now_ns();
    }
}

/* ---- waiting ---- */

static void thr_timer(struct mock_conn *c, uint64_t ms, void (*cb)(struct mock_conn *c))
{
    struct mock_tconn *t = tconn(c);
    t->due_cb = cb;
    t->due_ns = now_ns() + (int64_t)ms * 1000000;
}

static void thr_hold(struct mock_conn *c)
{
    struct mock_tconn *t = tconn(c);
    t->held = true;
    t->hold_until_ns = now_ns() + idle_timeout_ns(t);
}

/* From another thread, under the capacity lock that keeps c alive (mock_conn.h). */
static void thr_wake(struct mock_conn *c, void (*cb)(struct mock_conn *c))
{
    struct mock_tconn *t = tconn(c);
    pthread_mutex_lock(&t->mu);
    t->wake_cb = cb;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

/* Sleep until `until`. false when the sleep was cut short by the socket: the client reset it
 * or the server shut it down (stop, grace), which ppoll reports with no events asked for. */
static bool sleep_until(struct mock_tconn *t, int64_t until)
{
    for (;;) {
        int64_t left = until - now_ns();
        if (left <= 0) {
            return true;
        }
        struct timespec ts = {(time_t)(left / 1000000000), (long)(left % 1000000000)};
        struct pollfd p = {.fd = t->fd, .events = 0};
        int rc = ppoll(&p, 1, &ts, NULL);
        if (rc > 0) {
            return false;
        }
        if (rc < 0 && errno != EINTR) {
            return false;
        }
    }
}

/* Wait for mock_conn_wake's callback; NULL when the server killed the connection instead. */
static void (*wait_wake(struct mock_tconn *t))(struct mock_conn *c)
{
    void (*cb)(struct mock_conn * c);
    pthread_mutex_lock(&t->mu);
    while (t->wake_cb == NULL && !t->kill) {
        pthread_cond_wait(&t->cv, &t->mu);
    }
    cb = t->kill ? NULL : t->wake_cb;
    t->wake_cb = NULL;
    pthread_mutex_unlock(&t->mu);
    return cb;
}

static size_t thr_backlog(struct mock_conn *c)
{
    return 0; /* a write returns when the kernel has taken it all */
}

static void thr_on_drain(struct mock_conn *c, void (*cb)(struct mock_conn *c))
{
    cb(c); /* never reached: the backlog is always 0 */
}

/* ---- writing ---- */

/* Every byte to the kernel, blocking while the client does not read: the thread's own
 * backpressure. The wait goes in poll(POLLOUT) rather than in a blocking send() so that each
 * part the kernel takes is counted at once, as the loop counts its writes. */
static bool raw_send(struct mock_conn *c, const char *p, size_t n)
{
    struct mock_tconn *t = tconn(c);
    struct mock_loop_counters *ctr = mock_conn_counters(c);
    bool paced = false;
    if (t->closing || t->failed) {
        return false;
    }
    while (n > 0) {
        ssize_t k = send(t->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k > 0) {
            mock_metrics_add(&ctr->bytes_out, (unsigned long long)k);
            p += k;
            n -= (size_t)k;
            continue;
        }
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!paced) {
                atomic_fetch_add_explicit(&ctr->paced, 1, memory_order_relaxed);
                paced = true;
            }
            struct pollfd pw = {.fd = t->fd, .events = POLLOUT};
            if (poll(&pw, 1, -1) >= 0 || errno == EINTR) {
                continue; /* writable, or an error the next send() reports */
            }
        }
        t->failed = true;
        break;
    }
    if (paced) {
        atomic_fetch_sub_explicit(&ctr->paced, 1, memory_order_relaxed);
    }
    return !t->failed;
}

/* The ciphertext the TLS engine produced, to the socket. */
static bool tls_flush(struct mock_tconn *t)
{
    char buf[16 * 1024];
    size_t n;
    bool ok = true;
    while ((n = mock_tls_take(&t->tls, buf, sizeof(buf))) > 0) {
        ok = raw_send(&t->c, buf, n) && ok;
    }
    return ok;
}

static bool thr_send(struct mock_conn *c, const char *p, size_t n)
{
    struct mock_tconn *t = tconn(c);
    if (!t->tls_on) {
        return raw_send(c, p, n);
    }
    if (t->closing || t->failed) {
        return false;
    }
    if (mock_tls_write(&t->tls, p, n) != 0) {
        t->failed = true;
        return false;
    }
    return tls_flush(t);
}

static const struct mock_transport thread_transport = {
    .name = "threads",
    .send = thr_send,
    .fail = thr_fail,
    .done = thr_done,
    .close = thr_close,
    .hold = thr_hold,
    .timer = thr_timer,
    .wake = thr_wake,
    .backlog = thr_backlog,
    .on_drain = thr_on_drain,
};

/* ---- reading ---- */

/* What a parse ended with (as the loop's parsed()): the last request, or "100 Continue" owed. */
static void parsed(struct mock_tconn *t, enum mock_http_rc rc)
{
    if (rc == MOCK_HTTP_NOMEM) {
        thr_close(&t->c);
        return;
    }
    if (rc == MOCK_HTTP_END) {
        t->broken = true;
    }
    if (t->c.http.want_continue) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        t->c.http.want_continue = false;
        thr_send(&t->c, cont, sizeof(cont) - 1);
    }
}

/* Decrypted bytes to the parser (which keeps them while 64 requests wait). */
static void plain_in(struct mock_tconn *t, const char *p, size_t n)
{
    if (t->c.http.paused) {
        if (mock_http_keep(&t->c.http, p, n) != 0) {
            thr_close(&t->c);
        }
        return;
    }
    parsed(t, mock_http_feed(&t->c.http, p, n));
}

/* TLS records in: the handshake answered, plaintext parsed. false when the input ended: the
 * client's close_notify, or bad TLS (its alert sent, the connection then ends with a FIN). */
static bool tls_feed(struct mock_tconn *t, const char *p, size_t n)
{
    struct mock_metrics *m = &t->c.w->srv->metrics;
    char plain[16 * 1024];
    if (mock_tls_put(&t->tls, p, n) != 0) {
        thr_close(&t->c);
        return false;
    }
    while (!t->closing && !t->broken) {
        enum mock_tls_hs hs;
        int k = mock_tls_read(&t->tls, plain, sizeof(plain), &hs);
        if (hs != MOCK_TLS_HS_NONE) {
            mock_metrics_net(m, t->c.w->index,
                             hs == MOCK_TLS_HS_FULL ? MOCK_NET_TLS_FULL : MOCK_NET_TLS_RESUMED);
        }
        if (k > 0) {
            plain_in(t, plain, (size_t)k);
            continue;
        }
        tls_flush(t);
        if (k == MOCK_TLS_WANT) {
            return true;
        }
        if (k == MOCK_TLS_ERR) {
            mock_metrics_net(m, t->c.w->index, MOCK_NET_TLS_FAIL);
            t->shutting = true; /* linger(): FIN after the alert */
        }
        return false;
    }
    return !t->closing;
}

/* Bytes read from the socket, to the parser (through TLS when on). false: no more input. */
static bool feed(struct mock_tconn *t, const char *p, size_t n)
{
    if (t->tls_on) {
        return tls_feed(t, p, n);
    }
    parsed(t, mock_http_feed(&t->c.http, p, n));
    return true;
}

/* One read within `until`: > 0 bytes read, 0 at EOF, -1 on error or when the time is up. */
static ssize_t read_until(struct mock_tconn *t, char *buf, size_t cap, int64_t until)
{
    for (;;) {
        struct pollfd p = {.fd = t->fd, .events = POLLIN};
        int rc = poll(&p, 1, ms_until(until));
        if (rc == 0) {
            if (now_ns() < until) {
                continue; /* poll rounds to whole ms */
            }
            return -1;
        }
        if (rc < 0 && errno == EINTR) {
            continue;
        }
        ssize_t n = rc < 0 ? -1 : recv(t->fd, buf, cap, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n > 0) {
            mock_metrics_add(&mock_conn_counters(&t->c)->bytes_in, (unsigned long long)n);
        }
        return n;
    }
}

/* Wait for the next request's bytes (the queue is empty), until the idle timeout. false when
 * the connection ends instead: the client closed or went silent, or the server stops. */
static bool read_more(struct mock_tconn *t, char *buf, size_t cap)
{
    const atomic_bool *stopping = t->c.w->stopping;
    bool waiting = t->c.http.head == NULL;
    /* Marked idle before looking at the stop flag, which the server sets before looking at
     * the marks (both sequentially consistent): one of the two sees the other. */
    atomic_store(&t->idle, waiting);
    if (waiting && atomic_load(stopping)) {
        atomic_store(&t->idle, false);
        return false;
    }
    ssize_t n = read_until(t, buf, cap, t->idle_since_ns + idle_timeout_ns(t));
    atomic_store(&t->idle, false);
    return n > 0 && feed(t, buf, (size_t)n);
}

/* A stalled request: nothing is answered; the client's leaving or the idle timeout ends the
 * connection. Further requests are read (and queued) meanwhile, as the loop reads them. */
static void hold_wait(struct mock_tconn *t, char *buf, size_t cap)
{
    while (!t->closing) {
        if (t->c.http.paused || t->broken) {
            sleep_until(t, t->hold_until_ns);
            break;
        }
        ssize_t n = read_until(t, buf, cap, t->hold_until_ns);
        if (n <= 0 || !feed(t, buf, (size_t)n)) {
            break;
        }
    }
    thr_close(&t->c);
}

/* ---- serving ---- */

/* The head request is being answered: run what it waits for until it is done. */
static void run_answer(struct mock_tconn *t, char *buf, size_t cap)
{
    while (t->active && !t->closing) {
        void (*cb)(struct mock_conn * c);
        if (t->failed) {
            thr_close(&t->c);
        } else if (t->held) {
            hold_wait(t, buf, cap);
        } else if (t->due_cb != NULL) {
            cb = t->due_cb;
            t->due_cb = NULL;
            if (sleep_until(t, t->due_ns)) {
                cb(&t->c);
            } else {
                thr_close(&t->c);
            }
        } else if ((cb = wait_wake(t)) != NULL) {
            cb(&t->c);
        } else {
            thr_close(&t->c);
        }
    }
}

/* Answer the queued requests in order, each to its end. */
static void answer_queued(struct mock_tconn *t, char *buf, size_t cap)
{
    struct mock_http *h = &t->c.http;
    while (h->head != NULL && !t->closing && !t->shutting && !t->failed) {
        t->active = true;
        t->c.w->srv->app->handle(h->head);
        run_answer(t, buf, cap);
    }
    if (t->failed) {
        thr_close(&t->c);
    }
}

/* After an answer that ends the connection: FIN, then discard input until the client closes
 * (or a short wait), so the client reads the whole answer instead of a reset. */
static void linger(struct mock_tconn *t, char *buf, size_t cap)
{
    int64_t ms = t->c.w->srv->cfg->idle_timeout_ms;
    int64_t until = now_ns() + (ms < MOCK_DRAIN_MS ? ms : MOCK_DRAIN_MS) * 1000000;
    if (t->tls_on) {
        mock_tls_close_notify(&t->tls);
        tls_flush(t);
    }
    shutdown(t->fd, SHUT_WR);
    while (read_until(t, buf, cap, until) > 0) {
    }
}

void mock_conn_thread_serve(struct mock_tconn *t, struct mock_worker *w)
{
    char buf[MOCK_READ_BUF]; /* on this thread's stack: only the pages a read fills are used */
    int one = 1;
    mock_conn_init(&t->c, &thread_transport, w);
    setsockopt(t->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (w->srv->tls != NULL) {
        if (mock_tls_init(&t->tls, w->srv->tls) != 0) {
            return; /* out of memory: the connection closes unserved */
        }
        t->tls_on = true;
    }
    mock_metrics_conns(&t->c.w->srv->metrics, t->c.w->index, 1);
    while (!t->closing) {
        answer_queued(t, buf, sizeof(buf));
        if (t->closing || t->shutting) {
            break;
        }
        if (t->c.http.paused) {
            parsed(t, mock_http_resume(&t->c.http));
        } else if (t->broken || !read_more(t, buf, sizeof(buf))) {
            break;
        }
    }
    if (t->shutting && !t->closing) {
        linger(t, buf, sizeof(buf));
    }
    thr_close(&t->c);
    mock_buf_free(&t->c.pre);
    if (t->tls_on) {
        mock_tls_free(&t->tls);
    }
}

/* ---- life ---- */

int mock_conn_thread_init(struct mock_tconn *t, int fd)
{
    memset(t, 0, sizeof(*t));
    t->fd = fd;
    t->idle_since_ns = now_ns(); /* idle from its accept, as the loop counts, not from when its
                                    thread got to run */
    if (pthread_mutex_init(&t->mu, NULL) != 0) {
        return -1;
    }
    if (pthread_cond_init(&t->cv, NULL) != 0) {
        pthread_mutex_destroy(&t->mu);
        return -1;
    }
    return 0;
}

void mock_conn_thread_fini(struct mock_tconn *t)
{
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
}

void mock_conn_thread_stop(struct mock_tconn *t)
{
    if (atomic_load(&t->idle)) {
        shutdown(t->fd, SHUT_RDWR); /* its read returns 0: the connection ends */
    }
}

void mock_conn_thread_kill(struct mock_tconn *t)
{
    pthread_mutex_lock(&t->mu);
    t->kill = true;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    shutdown(t->fd, SHUT_RDWR); /* ends a read, a write or a sleep (ppoll sees the hang-up) */
}
