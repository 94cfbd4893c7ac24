/* mock_conn_loopx.c - what may sit under a loop connection (mock_conn_loop_int.h), bottom up:
 *
 *   socket  <-  the round-trip delay line (--rtt-ms, mock_rtt.h)  <-  TLS (--tls, mock_tls.h)
 *           <-  HTTP/2 (ALPN h2, or the h2c preface: mock_h2.h)  or  HTTP/1.1 (mock_http.h)
 *
 * A plain HTTP/1.1 connection has none of it and never comes here: its reads go straight to
 * mock_conn_loop.c's read callback and its writes straight to the socket, as before any of
 * this existed. When HTTP/2 is served, a cleartext connection's first read is looked at for
 * the h2c preface (sniff_read_cb) and, when it is not one, the connection is handed back to the
 * plain path for good: the cost is one comparison per connection, none per request. A
 * connection that needs more gets a struct mock_lx and the x transport (its own send and
 * backlog; the rest is the loop's), and its reads come to x_read_cb.
 *
 * Where the emulated round trip's parts go (README): what is read is acted on RTT/2 late and
 * what is written leaves RTT/2 late, in order, FIN and resets included (a close after a
 * partial answer sends the part first); the kernel finished the TCP handshake at once, so its
 * round trip is added to the first bytes the client sends (and to what follows them until they
 * are acted on, to keep the order): it shows within the TLS handshake for HTTPS, within the
 * first request in cleartext, not in the connect time. */
#include <stdlib.h>
#include <string.h>

#include "mock_conn_loop_int.h"
#include "mock_h2.h"
#include "mock_rtt.h"
#include "mock_tls.h"

#define PREFACE_LEN 24
static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

struct mock_lx {
    struct mock_tls tls;
    bool tls_on;
    bool sniffing;  /* the plaintext may be an h2c preface: not decided yet */
    bool tcp_later; /* the socket closes from the delay line, after the bytes before it */
    unsigned char nsniff;
    char sniff[PREFACE_LEN];
    bool started;    /* the first bytes were read: the handshake's round trip is paid */
    int first_items; /* items in the delay line's 1.5 RTT queue: later input queues behind */
    struct mock_h2 *h2;
    size_t rtt_out; /* bytes in the delay line towards the client */
};

/* What the delay line carries for a connection. */
enum { LX_IN, LX_END, LX_OUT, LX_SHUT, LX_CLOSE };
#define LX_FIRST 0x100 /* or-ed into an input's kind when it went to the 1.5 RTT queue */

static void x_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void proto_in(struct mock_lconn *c, const char *p, size_t n);

static struct mock_metrics *metrics(struct mock_lconn *c)
{
    return &c->lp->w.srv->metrics;
}

static bool h2_served(struct mock_lconn *c)
{
    return c->lp->w.srv->cfg->h2_max_streams > 0;
}

/* ---- out: TLS, the delay line, the socket ---- */

static bool raw_out(struct mock_lconn *c, const char *p, size_t n)
{
    if (n == 0) {
        return true;
    }
    if (c->lp->rtt == NULL) {
        return mock__lconn_write(c, p, n);
    }
    if (mock_rtt_push(c->lp->rtt, false, c, LX_OUT, p, n) != 0) {
        mock__lconn_fail(c);
        return false;
    }
    c->refs++;
    c->x->rtt_out += n;
    return true;
}

/* Whatever ciphertext the engine produced: records, handshake messages, tickets, alerts. */
static bool tls_flush(struct mock_lconn *c)
{
    char buf[16 * 1024];
    bool ok = true;
    size_t n;
    while ((n = mock_tls_take(&c->x->tls, buf, sizeof(buf))) > 0) {
        ok = raw_out(c, buf, n) && ok;
    }
    return ok;
}

static bool plain_out(struct mock_lconn *c, const char *p, size_t n)
{
    if (!c->x->tls_on) {
        return raw_out(c, p, n);
    }
    if (mock_tls_write(&c->x->tls, p, n) != 0) {
        mock__lconn_fail(c);
        return false;
    }
    return tls_flush(c);
}

bool mock__lx_send(struct mock_conn *cc, const char *p, size_t n)
{
    struct mock_lconn *c = (struct mock_lconn *)cc;
    if (c->closing || c->failed) {
        return false;
    }
    return n == 0 || plain_out(c, p, n);
}

size_t mock__lx_backlog(struct mock_conn *cc)
{
    struct mock_lconn *c = (struct mock_lconn *)cc;
    return mock__lconn_queued(c) + c->x->rtt_out;
}

/* Bytes left for the kernel: a stream waiting for its reader, or HTTP/2's next frames. */
static void after_write(struct mock_lconn *c)
{
    if (c->x->h2 != NULL) {
        mock_h2_pump(c->x->h2);
    } else if (c->drain_cb != NULL && mock__lx_backlog(&c->c) <= MOCK_STREAM_LOW) {
        void (*cb)(struct mock_conn *) = c->drain_cb;
        c->drain_cb = NULL;
        cb(&c->c);
    }
}

void mock__lx_written(struct mock_lconn *c)
{
    if (c->x->h2 != NULL) {
        mock_h2_pump(c->x->h2);
    }
}

/* ---- HTTP/2 on this connection ---- */

static bool h2_write(void *lower, const char *p, size_t n)
{
    struct mock_lconn *c = lower;
    return !c->closing && !c->failed && plain_out(c, p, n);
}

static size_t h2_queued(void *lower)
{
    return mock__lx_backlog(lower);
}

static void h2_end(void *lower)
{
    mock__lconn_shutdown(lower);
}

static void h2_busy(void *lower, bool busy)
{
    mock__lconn_busy(lower, busy);
}

static const struct mock_h2_io h2_io = {h2_write, h2_queued, h2_end, h2_busy};

static bool start_h2(struct mock_lconn *c)
{
    c->x->h2 = mock_h2_new(&c->lp->w, &c->lp->loop, &h2_io, c);
    if (c->x->h2 == NULL) {
        mock__lconn_close(c);
        return false;
    }
    return true;
}

/* ---- in: the delay line, TLS, the protocol ---- */

/* Cleartext that may open with the h2c preface: decided at its 24th byte, or at the first that
 * differs (then it is HTTP/1.1, the bytes held so far first). */
static void sniff(struct mock_lconn *c, const char *p, size_t n)
{
    struct mock_lx *x = c->x;
    size_t k = n < (size_t)(PREFACE_LEN - x->nsniff) ? n : (size_t)(PREFACE_LEN - x->nsniff);
    if (memcmp(p, preface + x->nsniff, k) != 0) {
        char held[PREFACE_LEN];
        size_t nheld = x->nsniff;
        memcpy(held, x->sniff, nheld);
        x->sniffing = false;
        if (nheld > 0) {
            proto_in(c, held, nheld);
        }
        if (!c->closing) {
            proto_in(c, p, n);
        }
        return;
    }
    memcpy(x->sniff + x->nsniff, p, k);
    x->nsniff += (unsigned char)k;
    if (x->nsniff < PREFACE_LEN) {
        return;
    }
    x->sniffing = false;
    if (start_h2(c)) {
        mock_h2_recv(x->h2, preface, PREFACE_LEN);
        if (n > k && !c->closing) {
            mock_h2_recv(x->h2, p + k, n - k);
        }
    }
}

static void proto_in(struct mock_lconn *c, const char *p, size_t n)
{
    struct mock_lx *x = c->x;
    if (x->h2 != NULL) {
        mock_h2_recv(x->h2, p, n);
    } else if (x->sniffing) {
        sniff(c, p, n);
    } else if (c->c.http.paused) {
        /* 64 requests queued: the parser takes these when it resumes (a TLS record or the
         * delay line can hold more than the socket read that paused it). */
        if (mock_http_keep(&c->c.http, p, n) != 0) {
            mock__lconn_close(c);
        }
    } else {
        mock__lconn_h1_in(c, p, n);
    }
}

/* The client's input ended. HTTP/1.1 answers what it already asked (mock_conn_loop.c);
 * anything else has nothing to finish. */
static void x_end(struct mock_lconn *c, ssize_t nread)
{
    struct mock_lx *x = c->x;
    if (x->h2 != NULL || x->sniffing || (x->tls_on && !x->tls.hs_done)) {
        mock__lconn_close(c);
    } else {
        mock__lconn_h1_end(c, nread);
    }
}

static void handshake(struct mock_lconn *c, enum mock_tls_hs hs)
{
    struct mock_lx *x = c->x;
    mock_metrics_net(metrics(c), c->lp->w.index,
                     hs == MOCK_TLS_HS_FULL ? MOCK_NET_TLS_FULL : MOCK_NET_TLS_RESUMED);
    if (x->tls.h2) {
        if (start_h2(c)) {
            mock_h2_pump(x->h2); /* the server's SETTINGS go at once */
        }
    } else if (!x->tls.alpn && h2_served(c)) {
        x->sniffing = true; /* no ALPN: prior knowledge is still possible */
    }
}

static void tls_in(struct mock_lconn *c, const char *p, size_t n)
{
    struct mock_lx *x = c->x;
    char buf[16 * 1024];
    if (mock_tls_put(&x->tls, p, n) != 0) {
        mock__lconn_close(c);
        return;
    }
    while (!c->closing && !c->shutting) {
        enum mock_tls_hs hs;
        int k = mock_tls_read(&x->tls, buf, sizeof(buf), &hs);
        if (hs != MOCK_TLS_HS_NONE) {
            handshake(c, hs);
        }
        if (k > 0) {
            proto_in(c, buf, (size_t)k);
            continue;
        }
        if (k == MOCK_TLS_WANT) {
            break;
        }
        tls_flush(c); /* an alert, for an error */
        if (k == MOCK_TLS_EOF) {
            x_end(c, UV_EOF);
        } else {
            mock_metrics_net(metrics(c), c->lp->w.index, MOCK_NET_TLS_FAIL);
            mock__lconn_shutdown(c); /* the alert, then FIN */
        }
        return;
    }
    if (!c->closing) {
        tls_flush(c); /* the handshake's answer, tickets */
    }
}

/* Bytes as read from the socket, RTT/2 after they were (nread < 0: the input's end). */
static void raw_in(struct mock_lconn *c, ssize_t nread, const char *p)
{
    if (nread < 0) {
        x_end(c, nread);
    } else if (c->shutting) {
        return; /* draining before close */
    } else if (c->x->tls_on) {
        tls_in(c, p, (size_t)nread);
    } else {
        proto_in(c, p, (size_t)nread);
    }
}

static void x_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct mock_lconn *c = s->data;
    if (nread == 0 || c->closing) {
        return;
    }
    if (nread > 0) {
        mock_metrics_add(&mock_conn_counters(&c->c)->bytes_in, (unsigned long long)nread);
    }
    if (c->lp->rtt == NULL) {
        raw_in(c, nread, buf->base);
        return;
    }
    /* The first bytes pay the TCP handshake's round trip too; what follows them waits in the
     * same queue until they are acted on, so that the input stays in order. */
    struct mock_lx *x = c->x;
    bool first = !x->started || x->first_items > 0;
    int kind = first ? LX_FIRST : 0;
    int rc = nread > 0 ? mock_rtt_push(c->lp->rtt, first, c, kind | LX_IN, buf->base, (size_t)nread)
                       : mock_rtt_push(c->lp->rtt, first, c, kind | LX_END, (const char *)&nread,
                                       sizeof(nread));
    if (rc != 0) {
        mock__lconn_close(c);
        return;
    }
    x->started = true;
    x->first_items += first;
    c->refs++;
    if (nread < 0) {
        mock__lconn_read_stop(c);
    }
}

/* ---- the delay line's deliveries ---- */

static void deliver(struct mock_rtt_item *it, bool dropped)
{
    struct mock_lconn *c = it->owner;
    struct mock_lx *x = c->x;
    bool live = !dropped && !c->closing;
    ssize_t end;
    c->refs--;
    if (it->kind & LX_FIRST) {
        x->first_items--;
    }
    switch (it->kind & ~LX_FIRST) {
    case LX_OUT:
        x->rtt_out -= it->len;
        if (!dropped && (!c->closing || x->tcp_later)) {
            mock__lconn_write(c, it->data, it->len);
        }
        if (live) {
            after_write(c);
        }
        break;
    case LX_IN:
        if (live) {
            raw_in(c, (ssize_t)it->len, it->data);
        }
        break;
    case LX_END:
        memcpy(&end, it->data, sizeof(end));
        if (live) {
            raw_in(c, end, NULL);
        }
        break;
    case LX_SHUT:
        if (live && mock__lconn_tcp_shutdown(c) != 0) {
            mock__lconn_close(c);
        }
        break;
    case LX_CLOSE:
        mock__lconn_close_tcp(c); /* its close callback frees the connection */
        break;
    }
    if (c->refs == 0 && c->open_handles == 0) {
        mock__lconn_free(c);
    }
}

int mock_conn_loop_rtt_start(struct mock_loop *lp)
{
    if (mock_rtt_init(&lp->rtt_line, &lp->loop, lp->w.srv->cfg->rtt_ms, deliver) != 0) {
        return -1;
    }
    lp->rtt = &lp->rtt_line;
    return 0;
}

void mock_conn_loop_rtt_stop(struct mock_loop *lp)
{
    if (lp->rtt != NULL) {
        mock_rtt_close(lp->rtt);
    }
}

/* ---- life ---- */

static bool attach(struct mock_lconn *c)
{
    c->x = calloc(1, sizeof(*c->x));
    if (c->x == NULL) {
        return false;
    }
    c->c.tp = &mock__loop_x_transport;
    return true;
}

/* A cleartext connection's first bytes, when HTTP/2 is served and nothing else is under it. */
static void sniff_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct mock_lconn *c = s->data;
    size_t k = nread > PREFACE_LEN ? PREFACE_LEN : nread > 0 ? (size_t)nread : 0;
    /* "PO", "GE", "HE": every HTTP/1.1 method differs from "PRI" by its second byte at most */
    if (nread <= 0 || buf->base[0] != 'P' || (k > 1 && buf->base[1] != 'R') ||
        memcmp(buf->base, preface, k) != 0) {
        mock__lconn_read_switch(c, mock__lconn_read_plain); /* HTTP/1.1 for good */
        mock__lconn_read_plain(s, nread, buf);
        return;
    }
    if (!attach(c)) {
        mock__lconn_close(c);
        return;
    }
    c->x->sniffing = true;
    mock__lconn_read_switch(c, x_read_cb);
    x_read_cb(s, nread, buf);
}

void mock__lx_accept(struct mock_lconn *c)
{
    struct mock_server *srv = c->lp->w.srv;
    if (srv->tls == NULL && c->lp->rtt == NULL) {
        c->rcb = sniff_read_cb; /* only an h2c preface to look for */
        mock__lconn_read_start(c);
        return;
    }
    if (!attach(c)) {
        mock__lconn_close(c);
        return;
    }
    if (srv->tls != NULL) {
        if (mock_tls_init(&c->x->tls, srv->tls) != 0) {
            mock__lconn_close(c);
            return;
        }
        c->x->tls_on = true;
    } else {
        c->x->sniffing = h2_served(c);
    }
    c->rcb = x_read_cb;
    mock__lconn_read_start(c);
}

int mock__lx_shutdown(struct mock_lconn *c)
{
    struct mock_lx *x = c->x;
    if (x->tls_on) {
        mock_tls_close_notify(&x->tls);
        tls_flush(c);
    }
    if (c->lp->rtt == NULL) {
        return mock__lconn_tcp_shutdown(c);
    }
    if (mock_rtt_push(c->lp->rtt, false, c, LX_SHUT, NULL, 0) != 0) {
        return UV_ENOMEM;
    }
    c->refs++;
    return 0;
}

bool mock__lx_close(struct mock_lconn *c)
{
    struct mock_lx *x = c->x;
    if (x->h2 != NULL) {
        mock_h2_close(x->h2);
    }
    if (c->lp->rtt == NULL || x->rtt_out == 0) {
        return false;
    }
    mock__lconn_read_stop(c);
    if (mock_rtt_push(c->lp->rtt, false, c, LX_CLOSE, NULL, 0) != 0) {
        return false;
    }
    c->refs++;
    x->tcp_later = true;
    return true;
}

bool mock__lx_stop(struct mock_lconn *c)
{
    if (c->x->h2 == NULL) {
        return false;
    }
    mock_h2_stop(c->x->h2);
    return true;
}

void mock__lx_free(struct mock_lconn *c)
{
    struct mock_lx *x = c->x;
    mock_h2_free(x->h2);
    if (x->tls_on) {
        mock_tls_free(&x->tls);
    }
    free(x);
    c->x = NULL;
}
