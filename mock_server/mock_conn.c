/* mock_conn.c - connections (mock_conn.h): accept, read and parse, hand requests over in
 * order, write (with backpressure), finish an answer, close. Closing is either abrupt
 * (mock_conn_close: uv_close at once) or graceful (after an answer that ends the connection:
 * shutdown, then discard input until EOF or a short timer, so the client reads the whole answer
 * instead of a reset). */
#include "mock_conn.h"

#include <stdlib.h>
#include <string.h>

#define MOCK_DRAIN_MS 2000

struct mock_wreq {
    uv_write_t w;
    size_t len;
    char data[];
};

static void idle_cb(uv_timer_t *t);
static void keepalive_cb(uv_timer_t *t);
static void read_start(struct mock_conn *c);
static void conn_kick(struct mock_conn *c);

/* The connection is idle from now: it closes after the idle timeout unless a request is being
 * answered by then. The timer is lazy: it is armed once and, when it fires early (the
 * connection was busy in between), re-armed for the remainder, rather than stopped and
 * restarted around every request, which cost two timer-heap updates per answer. */
static void idle_touch(struct mock_conn *c)
{
    c->idle_since = uv_now(&c->lp->loop);
    if (!uv_is_active((uv_handle_t *)&c->idle)) {
        uv_timer_start(&c->idle, keepalive_cb, (uint64_t)c->lp->srv->cfg->idle_timeout_ms, 0);
    }
}

bool mock_req_closes(const struct mock_req *r)
{
    return !r->keep_alive || r->conn->lp->stopping;
}

static void shutdown_cb(uv_shutdown_t *req, int status)
{
    struct mock_conn *c = req->data;
    if (!c->closing && status < 0) {
        mock_conn_close(c);
    }
}

/* Answer sent, connection to end: FIN after the queued writes, then discard input until the
 * client closes (or a short timer), so the client never gets a reset instead of the answer. */
static void conn_shutdown(struct mock_conn *c)
{
    if (c->shutting || c->closing) {
        return;
    }
    c->shutting = true;
    mock_http_drop(&c->http, c->active);
    c->shut.data = c;
    if (uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, shutdown_cb) != 0) {
        mock_conn_close(c);
        return;
    }
    read_start(c);
    int ms = c->lp->srv->cfg->idle_timeout_ms;
    uv_timer_start(&c->idle, idle_cb, ms < MOCK_DRAIN_MS ? (uint64_t)ms : MOCK_DRAIN_MS, 0);
}

void mock_conn_done(struct mock_req *r)
{
    struct mock_conn *c = r->conn;
    bool closes = mock_req_closes(r);
    c->active = false;
    mock_http_pop(&c->http); /* r is the head */
    if (c->closing) {
        return;
    }
    if (c->failed) {
        mock_conn_close(c);
    } else if (closes) {
        conn_shutdown(c);
    } else {
        if (c->http.head == NULL) {
            idle_touch(c);
        }
        conn_kick(c);
    }
}

/* ---- closing ---- */

static void close_cb(uv_handle_t *h)
{
    struct mock_conn *c = h->data;
    if (--c->open_handles > 0) {
        return;
    }
    struct mock_loop *lp = c->lp;
    mock_buf_free(&c->pre);
    free(c);
    if (lp->stopping && lp->conn_gone != NULL) {
        lp->conn_gone(lp);
    }
}

void mock_conn_close(struct mock_conn *c)
{
    if (c->closing) {
        return;
    }
    c->closing = true;
    if (c->active && c->http.head != NULL) {
        c->lp->srv->app->abort(c->http.head);
    }
    c->active = false;
    mock_http_drop(&c->http, false);
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        c->lp->conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    c->lp->nconns--;
    atomic_fetch_sub_explicit(&mock_conn_counters(c)->conn_open, 1, memory_order_relaxed);
    uv_close((uv_handle_t *)&c->tcp, close_cb);
    uv_close((uv_handle_t *)&c->idle, close_cb);
    uv_close((uv_handle_t *)&c->work, close_cb);
}

static void idle_cb(uv_timer_t *t)
{
    mock_conn_close(t->data);
}

static void keepalive_cb(uv_timer_t *t)
{
    struct mock_conn *c = t->data;
    if (c->active) {
        return; /* being answered: mock_conn_done re-arms when the connection is idle again */
    }
    uint64_t due = c->idle_since + (uint64_t)c->lp->srv->cfg->idle_timeout_ms;
    uint64_t now = uv_now(&c->lp->loop);
    if (now < due) {
        uv_timer_start(t, keepalive_cb, due - now, 0);
        return;
    }
    mock_conn_close(c);
}

void mock_conn_hold(struct mock_conn *c)
{
    c->held = true;
    uv_timer_start(&c->idle, idle_cb, (uint64_t)c->lp->srv->cfg->idle_timeout_ms, 0);
}

void mock_conn_timer(struct mock_conn *c, uint64_t ms, uv_timer_cb cb)
{
    uv_timer_start(&c->work, cb, ms, 0);
}

/* ---- reading ---- */

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct mock_conn *c = h->data;
    *buf = uv_buf_init(c->lp->rbuf, sizeof(c->lp->rbuf));
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void read_start(struct mock_conn *c)
{
    if (!c->reading && !c->closing &&
        uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) == 0) {
        c->reading = true;
    }
}

static void read_stop(struct mock_conn *c)
{
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
}

/* What a parse ended with, unless it was simply everything parsed: reads stop while the queue
 * is full or for good after the last request; a request that waits for "100 Continue" gets it
 * now, before any answer. */
static void parsed(struct mock_conn *c, enum mock_http_rc rc)
{
    if (rc == MOCK_HTTP_NOMEM) {
        mock_conn_close(c);
        return;
    }
    if (rc == MOCK_HTTP_END) {
        c->broken = true;
    }
    if (rc != MOCK_HTTP_OK) {
        read_stop(c);
    }
    if (c->http.want_continue) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        c->http.want_continue = false;
        mock_conn_send(c, cont, sizeof(cont) - 1);
    }
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct mock_conn *c = s->data;
    if (nread == 0 || c->closing) {
        return;
    }
    if (nread < 0) {
        /* A stalled request will never be answered: a client that gave up must not keep its
         * connection (and the request's accounting) open until the idle timeout. */
        if (c->shutting || nread != UV_EOF || c->http.head == NULL || c->held) {
            mock_conn_close(c);
            return;
        }
        /* Half-closed after sending requests: answer those, then close. */
        c->eof = true;
        read_stop(c);
        c->http.tail->keep_alive = false;
        return;
    }
    mock_metrics_add(&mock_conn_counters(c)->bytes_in, (unsigned long long)nread);
    if (c->shutting || c->broken) {
        return; /* draining before close, or past a parse error */
    }
    enum mock_http_rc rc = mock_http_feed(&c->http, buf->base, (size_t)nread);
    if (rc != MOCK_HTTP_OK || c->http.want_continue) {
        parsed(c, rc);
    }
    conn_kick(c);
}

/* ---- answering in order ---- */

/* Hand the head request to the application, as many times as answers complete synchronously,
 * then resume parsing and reading when there is room. Never re-entered. */
static void conn_kick(struct mock_conn *c)
{
    if (c->in_kick) {
        return;
    }
    c->in_kick = true;
    for (;;) {
        while (c->http.head != NULL && !c->active && !c->closing && !c->shutting && !c->failed) {
            c->active = true; /* the keep-alive timer, if it fires now, lets the answer be */
            c->lp->srv->app->handle(c->http.head);
        }
        if (c->closing || c->shutting || c->failed || !c->http.paused ||
            c->http.nq >= MOCK_PIPELINE_MAX) {
            break;
        }
        parsed(c, mock_http_resume(&c->http));
    }
    c->in_kick = false;
    if (!c->closing && !c->shutting && !c->http.paused && !c->broken && !c->eof &&
        c->write_queued < MOCK_WRITE_HIGH) {
        read_start(c);
    }
}

/* ---- writing ---- */

void mock_conn_on_drain(struct mock_conn *c, void (*cb)(struct mock_conn *c))
{
    c->drain_cb = cb;
}

static void write_cb(uv_write_t *w, int status)
{
    struct mock_wreq *wr = (struct mock_wreq *)w;
    struct mock_conn *c = w->data;
    c->write_queued -= wr->len;
    if (status == 0) {
        mock_metrics_add(&mock_conn_counters(c)->bytes_out, wr->len); /* written now, not queued */
    }
    free(wr);
    if (c->closing) {
        return;
    }
    if (status < 0) {
        mock_conn_close(c); /* callbacks run from the loop, never under an answer's feet */
        return;
    }
    if (c->drain_cb != NULL && mock_conn_backlog(c) <= MOCK_STREAM_LOW) {
        void (*cb)(struct mock_conn *) = c->drain_cb;
        c->drain_cb = NULL;
        cb(c);
        if (c->closing) {
            return;
        }
    }
    if (c->write_queued < MOCK_WRITE_HIGH / 2 && !c->shutting) {
        conn_kick(c);
    }
}

static void fail_later(struct mock_conn *c)
{
    c->failed = true;
    uv_timer_start(&c->idle, idle_cb, 0, 0);
}

void mock_conn_send(struct mock_conn *c, const char *p, size_t n)
{
    if (c->closing || c->failed || n == 0) {
        return;
    }
    size_t off = 0;
    if (c->write_queued == 0) {
        uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
        int rc = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
        if (rc < 0 && rc != UV_EAGAIN) {
            fail_later(c);
            return;
        }
        off = rc > 0 ? (size_t)rc : 0;
        mock_metrics_add(&mock_conn_counters(c)->bytes_out, off);
        if (off == n) {
            return;
        }
    }
    struct mock_wreq *wr = malloc(sizeof(*wr) + (n - off));
    if (wr == NULL) {
        fail_later(c);
        return;
    }
    wr->len = n - off;
    memcpy(wr->data, p + off, wr->len);
    wr->w.data = c;
    uv_buf_t b = uv_buf_init(wr->data, (unsigned)wr->len);
    if (uv_write(&wr->w, (uv_stream_t *)&c->tcp, &b, 1, write_cb) != 0) {
        free(wr);
        fail_later(c);
        return;
    }
    c->write_queued += wr->len;
    if (c->write_queued >= MOCK_WRITE_HIGH) {
        read_stop(c);
    }
}

void mock_conn_flush(struct mock_conn *c, bool split)
{
    if (c->out->oom) {
        fail_later(c);
    } else if (split && c->out->len > 1) {
        size_t half = c->out->len / 2;
        mock_conn_send(c, c->out->p, half);
        mock_conn_send(c, c->out->p + half, c->out->len - half);
    } else {
        mock_conn_send(c, c->out->p, c->out->len);
    }
    mock_buf_clear(c->out);
}

/* ---- accepting, stopping ---- */

static void reject_close_cb(uv_handle_t *h)
{
    free(h);
}

void mock_conn_accept(struct mock_loop *lp, uv_stream_t *server)
{
    struct mock_conn *c = calloc(1, sizeof(*c));
    if (c == NULL || uv_tcp_init(&lp->loop, &c->tcp) != 0) {
        free(c);
        return;
    }
    c->tcp.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 || lp->stopping) {
        uv_close((uv_handle_t *)&c->tcp, reject_close_cb); /* tcp is c's first member */
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_timer_init(&lp->loop, &c->idle);
    uv_timer_init(&lp->loop, &c->work);
    c->idle.data = c->work.data = c;
    c->open_handles = 3;
    c->lp = lp;
    c->out = &lp->out;
    c->body = &lp->body;
    mock_http_init(&c->http, c, &lp->spares, lp->srv->cfg);
    c->next = lp->conns;
    if (lp->conns != NULL) {
        lp->conns->prev = c;
    }
    lp->conns = c;
    lp->nconns++;
    mock_metrics_add(&mock_conn_counters(c)->conn_total, 1);
    atomic_fetch_add_explicit(&mock_conn_counters(c)->conn_open, 1, memory_order_relaxed);
    read_start(c);
    idle_touch(c);
}

void mock_conn_stop_all(struct mock_loop *lp)
{
    struct mock_conn *c = lp->conns, *next;
    for (; c != NULL; c = next) {
        next = c->next;
        if (c->http.head == NULL) {
            mock_conn_close(c); /* idle, or only part of a request: nothing to finish */
        }
    }
}

void mock_conn_close_all(struct mock_loop *lp)
{
    while (lp->conns != NULL) {
        mock_conn_close(lp->conns);
    }
}
