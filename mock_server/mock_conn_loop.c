/* mock_conn_loop.c - the libuv transport (mock_conn_loop.h): accept, read and parse, hand
 * requests over in order, write (with backpressure), finish an answer, close. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mock_conn_loop_int.h"

#define MOCK_DRAIN_MS 2000

struct mock_wreq {
    uv_write_t w;
    size_t len;
    char data[];
};

static const struct mock_transport loop_transport;

static struct mock_lconn *lconn(struct mock_conn *c)
{
    return (struct mock_lconn *)c;
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void idle_cb(uv_timer_t *t);
static void keepalive_cb(uv_timer_t *t);
static void read_start(struct mock_lconn *c);
static void conn_kick(struct mock_lconn *c);
static void loop_close(struct mock_conn *cc);

/* The connection is idle from now: it closes after the idle timeout unless a request is being
 * answered by then. The timer is lazy: it is armed once and, when it fires early (the
 * connection was busy in between), re-armed for the remainder, rather than stopped and
 * restarted around every request, which cost two timer-heap updates per answer. */
static void idle_touch(struct mock_lconn *c)
{
    c->idle_since = uv_now(&c->lp->loop);
    if (!uv_is_active((uv_handle_t *)&c->idle)) {
        uv_timer_start(&c->idle, keepalive_cb, (uint64_t)c->lp->w.srv->cfg->idle_timeout_ms, 0);
    }
}

static void shutdown_cb(uv_shutdown_t *req, int status)
{
    struct mock_lconn *c = req->data;
    if (!c->closing && status < 0) {
        loop_close(&c->c);
    }
}

int mock__lconn_tcp_shutdown(struct mock_lconn *c)
{
    c->shut.data = c;
    return uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, shutdown_cb);
}

/* Answer sent, connection to end: FIN after the queued writes, then discard input until the
 * client closes (or a short timer), so the client never gets a reset instead of the answer. */
static void conn_shutdown(struct mock_lconn *c)
{
    if (c->shutting || c->closing) {
        return;
    }
    c->shutting = true;
    mock_http_drop(&c->c.http, c->active);
    if ((c->x != NULL ? mock__lx_shutdown(c) : mock__lconn_tcp_shutdown(c)) != 0) {
        loop_close(&c->c);
        return;
    }
    read_start(c);
    int ms = c->lp->w.srv->cfg->idle_timeout_ms;
    uv_timer_start(&c->idle, idle_cb, ms < MOCK_DRAIN_MS ? (uint64_t)ms : MOCK_DRAIN_MS, 0);
}

static void loop_done(struct mock_req *r)
{
    struct mock_lconn *c = lconn(r->conn);
    bool closes = mock_req_closes(r);
    c->active = false;
    mock_http_pop(&c->c.http); /* r is the head */
    if (c->closing) {
        return;
    }
    if (c->failed) {
        loop_close(&c->c);
    } else if (closes) {
        conn_shutdown(c);
    } else {
        if (c->c.http.head == NULL) {
            idle_touch(c);
        }
        conn_kick(c);
    }
}

/* ---- closing ---- */

void mock__lconn_free(struct mock_lconn *c)
{
    struct mock_loop *lp = c->lp;
    if (c->x != NULL) {
        mock__lx_free(c);
    }
    mock_buf_free(&c->c.pre);
    free(c);
    if (atomic_load_explicit(&lp->stopping, memory_order_relaxed) && lp->conn_gone != NULL) {
        lp->conn_gone(lp);
    }
}

static void close_cb(uv_handle_t *h)
{
    struct mock_lconn *c = h->data;
    if (--c->open_handles == 0 && c->refs == 0) {
        mock__lconn_free(c);
    }
}

void mock__lconn_close_tcp(struct mock_lconn *c)
{
    uv_close((uv_handle_t *)&c->tcp, close_cb);
}

static void loop_close(struct mock_conn *cc)
{
    struct mock_lconn *c = lconn(cc);
    if (c->closing) {
        return;
    }
    c->closing = true;
    if (c->active && c->c.http.head != NULL) {
        c->lp->w.srv->app->abort(c->c.http.head);
    }
    c->active = false;
    mock_http_drop(&c->c.http, false);
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        c->lp->conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    c->lp->nconns--;
    mock_metrics_conns(&cc->w->srv->metrics, cc->w->index, -1);
    if (c->x == NULL || !mock__lx_close(c)) { /* the delay line may close the socket later */
        uv_close((uv_handle_t *)&c->tcp, close_cb);
    }
    uv_close((uv_handle_t *)&c->idle, close_cb);
    uv_close((uv_handle_t *)&c->work, close_cb);
}

static void idle_cb(uv_timer_t *t)
{
    loop_close(t->data);
}

static void keepalive_cb(uv_timer_t *t)
{
    struct mock_lconn *c = t->data;
    if (c->active) {
        return; /* being answered: loop_done re-arms when the connection is idle again */
    }
    uint64_t due = c->idle_since + (uint64_t)c->lp->w.srv->cfg->idle_timeout_ms;
    uint64_t now = uv_now(&c->lp->loop);
    if (now < due) {
        uv_timer_start(t, keepalive_cb, due - now, 0);
        return;
    }
    loop_close(&c->c);
}

static void loop_hold(struct mock_conn *cc)
{
    struct mock_lconn *c = lconn(cc);
    c->held = true;
    uv_timer_start(&c->idle, idle_cb, (uint64_t)c->lp->w.srv->cfg->idle_timeout_ms, 0);
}

static void work_cb(uv_timer_t *t)
{
    struct mock_lconn *c = t->data;
    c->work_cb(&c->c);
}

static void loop_timer(struct mock_conn *cc, uint64_t ms, void (*cb)(struct mock_conn *c))
{
    struct mock_lconn *c = lconn(cc);
    c->work_cb = cb;
    /* The loop's clock was read at the start of this pass: a wait measured from now (the
     * caller's hrtime) must start from now, not from then. */
    uv_update_time(&c->lp->loop);
    uv_timer_start(&c->work, work_cb, ms, 0);
}

/* A request of this loop waited for a slot another request of this loop gave back: start it
 * from the loop, not from inside that request's ending (a chain of instant answers could
 * recurse 10,000 deep). */
static void loop_wake(struct mock_conn *cc, void (*cb)(struct mock_conn *c))
{
    struct mock_lconn *c = lconn(cc);
    c->work_cb = cb;
    uv_timer_start(&c->work, work_cb, 0, 0);
}

/* ---- reading ---- */

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct mock_lconn *c = h->data;
    *buf = uv_buf_init(c->lp->rbuf, sizeof(c->lp->rbuf));
}

static void read_start(struct mock_lconn *c)
{
    if (!c->reading && !c->closing &&
        uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, c->rcb) == 0) {
        c->reading = true;
    }
}

static void read_stop(struct mock_lconn *c)
{
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
}

/* What a parse ended with, unless it was simply everything parsed: reads stop while the queue
 * is full or for good after the last request; a request that waits for "100 Continue" gets it
 * now, before any answer. */
static void parsed(struct mock_lconn *c, enum mock_http_rc rc)
{
    if (rc == MOCK_HTTP_NOMEM) {
        loop_close(&c->c);
        return;
    }
    if (rc == MOCK_HTTP_END) {
        c->broken = true;
    }
    if (rc != MOCK_HTTP_OK) {
        read_stop(c);
    }
    if (c->c.http.want_continue) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        c->c.http.want_continue = false;
        mock_conn_send(&c->c, cont, sizeof(cont) - 1);
    }
}

/* The end of the client's input (nread < 0: EOF or an error). */
static void h1_end(struct mock_lconn *c, ssize_t nread)
{
    /* A stalled request will never be answered: a client that gave up must not keep its
     * connection (and the request's accounting) open until the idle timeout. */
    if (c->shutting || nread != UV_EOF || c->c.http.head == NULL || c->held) {
        loop_close(&c->c);
        return;
    }
    /* Half-closed after sending requests: answer those, then close. */
    c->eof = true;
    read_stop(c);
    c->c.http.tail->keep_alive = false;
}

/* Bytes of an HTTP/1.1 connection: parsed, their requests answered in order. */
static inline void h1_in(struct mock_lconn *c, const char *p, size_t n)
{
    if (c->shutting || c->broken) {
        return; /* draining before close, or past a parse error */
    }
    enum mock_http_rc rc = mock_http_feed(&c->c.http, p, n);
    if (rc != MOCK_HTTP_OK || c->c.http.want_continue) {
        parsed(c, rc);
    }
    conn_kick(c);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct mock_lconn *c = s->data;
    if (nread == 0 || c->closing) {
        return;
    }
    if (nread < 0) {
        h1_end(c, nread);
        return;
    }
    mock_metrics_add(&mock_conn_counters(&c->c)->bytes_in, (unsigned long long)nread);
    h1_in(c, buf->base, (size_t)nread);
}

void mock__lconn_h1_in(struct mock_lconn *c, const char *p, size_t n)
{
    h1_in(c, p, n);
}

void mock__lconn_h1_end(struct mock_lconn *c, ssize_t nread)
{
    h1_end(c, nread);
}

void mock__lconn_read_plain(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    read_cb(s, nread, buf);
}

void mock__lconn_read_switch(struct mock_lconn *c, uv_read_cb cb)
{
    /* the plain path's own callback, not the wrapper: one jump less per read */
    c->rcb = cb == mock__lconn_read_plain ? read_cb : cb;
    if (c->reading) {
        /* read_cb is a public field of uv_stream_t that libuv reads at every read: set it in
         * place. uv_read_stop + uv_read_start would cost a connection two epoll_ctl calls
         * (libuv re-adds the descriptor: ADD, EEXIST, MOD). */
        c->tcp.read_cb = c->rcb;
    }
}

/* ---- answering in order ---- */

/* Hand the head request to the application, as many times as answers complete synchronously,
 * then resume parsing and reading when there is room. Never re-entered. */
static void conn_kick(struct mock_lconn *c)
{
    struct mock_http *h = &c->c.http;
    if (c->in_kick) {
        return;
    }
    c->in_kick = true;
    for (;;) {
        while (h->head != NULL && !c->active && !c->closing && !c->shutting && !c->failed) {
            c->active = true; /* the keep-alive timer, if it fires now, lets the answer be */
            c->lp->w.srv->app->handle(h->head);
        }
        if (c->closing || c->shutting || c->failed || !h->paused || h->nq >= MOCK_PIPELINE_MAX) {
            break;
        }
        parsed(c, mock_http_resume(h));
    }
    c->in_kick = false;
    if (!c->closing && !c->shutting && !h->paused && !c->broken && !c->eof &&
        c->write_queued < MOCK_WRITE_HIGH) {
        read_start(c);
    }
}

/* ---- writing ---- */

static size_t loop_backlog(struct mock_conn *cc)
{
    return uv_stream_get_write_queue_size((uv_stream_t *)&lconn(cc)->tcp);
}

static void loop_on_drain(struct mock_conn *cc, void (*cb)(struct mock_conn *c))
{
    lconn(cc)->drain_cb = cb;
}

static void write_cb(uv_write_t *w, int status)
{
    struct mock_wreq *wr = (struct mock_wreq *)w;
    struct mock_lconn *c = w->data;
    c->write_queued -= wr->len;
    if (status == 0) {
        mock_metrics_add(&mock_conn_counters(&c->c)->bytes_out, wr->len); /* written now */
    }
    free(wr);
    if (c->closing) {
        return;
    }
    if (status < 0) {
        loop_close(&c->c); /* callbacks run from the loop, never under an answer's feet */
        return;
    }
    if (c->drain_cb != NULL && c->c.tp->backlog(&c->c) <= MOCK_STREAM_LOW) {
        void (*cb)(struct mock_conn *) = c->drain_cb;
        c->drain_cb = NULL;
        cb(&c->c);
        if (c->closing) {
            return;
        }
    }
    if (c->write_queued < MOCK_WRITE_HIGH / 2 && !c->shutting) {
        conn_kick(c);
    }
    if (c->x != NULL && !c->closing) {
        mock__lx_written(c);
    }
}

static void loop_fail(struct mock_conn *cc)
{
    struct mock_lconn *c = lconn(cc);
    c->failed = true;
    uv_timer_start(&c->idle, idle_cb, 0, 0);
}

/* To the socket: what the kernel takes now, the rest queued (copied). Inlined into the plain
 * send: it is every answer's path. */
static inline __attribute__((always_inline)) bool tcp_write(struct mock_lconn *c, const char *p,
                                                            size_t n)
{
    size_t off = 0;
    if (c->write_queued == 0) {
        uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
        int rc = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
        if (rc < 0 && rc != UV_EAGAIN) {
            loop_fail(&c->c);
            return false;
        }
        off = rc > 0 ? (size_t)rc : 0;
        mock_metrics_add(&mock_conn_counters(&c->c)->bytes_out, off);
        if (off == n) {
            return true;
        }
    }
    struct mock_wreq *wr = malloc(sizeof(*wr) + (n - off));
    if (wr == NULL) {
        loop_fail(&c->c);
        return false;
    }
    wr->len = n - off;
    memcpy(wr->data, p + off, wr->len);
    wr->w.data = c;
    uv_buf_t b = uv_buf_init(wr->data, (unsigned)wr->len);
    if (uv_write(&wr->w, (uv_stream_t *)&c->tcp, &b, 1, write_cb) != 0) {
        free(wr);
        loop_fail(&c->c);
        return false;
    }
    c->write_queued += wr->len;
    if (c->write_queued >= MOCK_WRITE_HIGH) {
        read_stop(c);
    }
    return true;
}

static bool loop_send(struct mock_conn *cc, const char *p, size_t n)
{
    struct mock_lconn *c = lconn(cc);
    if (c->closing || c->failed || n == 0) {
        return !c->closing && !c->failed;
    }
    return tcp_write(c, p, n);
}

bool mock__lconn_write(struct mock_lconn *c, const char *p, size_t n)
{
    if (c->closing || n == 0) {
        return !c->closing;
    }
    return tcp_write(c, p, n);
}

size_t mock__lconn_queued(struct mock_lconn *c)
{
    return uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
}

static const struct mock_transport loop_transport = {
    .name = "loop",
    .send = loop_send,
    .fail = loop_fail,
    .done = loop_done,
    .close = loop_close,
    .hold = loop_hold,
    .timer = loop_timer,
    .wake = loop_wake,
    .backlog = loop_backlog,
    .on_drain = loop_on_drain,
};

/* The same connection with TLS, HTTP/2 or the round-trip emulation under it (mock_conn_loopx.c):
 * only writing and its backlog differ. */
const struct mock_transport mock__loop_x_transport = {
    .name = "loop",
    .send = mock__lx_send,
    .fail = loop_fail,
    .done = loop_done,
    .close = loop_close,
    .hold = loop_hold,
    .timer = loop_timer,
    .wake = loop_wake,
    .backlog = mock__lx_backlog,
    .on_drain = loop_on_drain,
};

void mock__lconn_close(struct mock_lconn *c)
{
    loop_close(&c->c);
}

void mock__lconn_shutdown(struct mock_lconn *c)
{
    conn_shutdown(c);
}

void mock__lconn_fail(struct mock_lconn *c)
{
    loop_fail(&c->c);
}

void mock__lconn_read_start(struct mock_lconn *c)
{
    read_start(c);
}

void mock__lconn_read_stop(struct mock_lconn *c)
{
    read_stop(c);
}

/* An HTTP/2 connection: its idle timeout counts only while no stream is open. */
void mock__lconn_busy(struct mock_lconn *c, bool busy)
{
    c->active = busy;
    if (!busy) {
        idle_touch(c);
    }
}

/* ---- accepting, stopping ---- */

static void reject_close_cb(uv_handle_t *h)
{
    free(h->data); /* the connection that was never set up */
}

void mock_conn_loop_accept(struct mock_loop *lp, int fd)
{
    struct mock_lconn *c = NULL;
    if (atomic_load_explicit(&lp->stopping, memory_order_relaxed) ||
        (c = calloc(1, sizeof(*c))) == NULL || uv_tcp_init(&lp->loop, &c->tcp) != 0) {
        free(c);
        close(fd);
        return;
    }
    c->tcp.data = c;
    if (uv_tcp_open(&c->tcp, fd) != 0) {
        close(fd);
        uv_close((uv_handle_t *)&c->tcp, reject_close_cb);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_timer_init(&lp->loop, &c->idle);
    uv_timer_init(&lp->loop, &c->work);
    c->idle.data = c->work.data = c;
    c->open_handles = 3;
    c->lp = lp;
    mock_conn_init(&c->c, &loop_transport, &lp->w);
    c->next = lp->conns;
    if (lp->conns != NULL) {
        lp->conns->prev = c;
    }
    lp->conns = c;
    lp->nconns++;
    mock_metrics_add(&mock_conn_counters(&c->c)->conn_total, 1);
    mock_metrics_conns(&c->c.w->srv->metrics, c->c.w->index, 1);
    c->rcb = read_cb;
    idle_touch(c);
    if (lp->x_accept) {
        mock__lx_accept(c); /* TLS, the round trip, or an h2c preface to look for */
    } else {
        read_start(c);
    }
}

void mock_conn_loop_stop_all(struct mock_loop *lp)
{
    struct mock_lconn *c = lp->conns, *next;
    for (; c != NULL; c = next) {
        next = c->next;
        if (c->x != NULL && mock__lx_stop(c)) {
            continue; /* HTTP/2: GOAWAY, and its streams finish */
        }
        if (c->c.http.head == NULL) {
            loop_close(&c->c); /* idle, or only part of a request: nothing to finish */
        }
    }
}

void mock_conn_loop_close_all(struct mock_loop *lp)
{
    while (lp->conns != NULL) {
        loop_close(&lp->conns->c);
    }
}
