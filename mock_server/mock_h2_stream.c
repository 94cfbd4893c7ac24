/* mock_h2_stream.c - an HTTP/2 stream as a connection with one request (mock_h2.h): its
 * transport for the layers above, and their HTTP/1.1 answer parsed back into HEADERS and DATA. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock_h2_int.h"

static struct mock_h2s *h2s(struct mock_conn *c)
{
    return (struct mock_h2s *)c;
}

static void st_close(struct mock_h2s *st);
static void h2s_fail(struct mock_conn *c);

/* ---- the answer, parsed back ---- */

/* Connection-specific fields have no place in HTTP/2 (RFC 9113 8.2.2). */
static bool hop_by_hop(const char *n)
{
    return strcmp(n, "connection") == 0 || strcmp(n, "keep-alive") == 0 ||
           strcmp(n, "transfer-encoding") == 0 || strcmp(n, "proxy-connection") == 0 ||
           strcmp(n, "upgrade") == 0 || strcmp(n, "te") == 0;
}

static void resume(struct mock_h2s *st)
{
    if (st->deferred && st->open && !st->h2->closed) {
        st->deferred = false;
        nghttp2_session_resume_data(st->h2->sess, st->id);
    }
}

/* :status and the collected fields as HEADERS, the body to follow from the data source. */
static int submit(struct mock_h2s *st)
{
    nghttp2_nv nv[MOCK_H2_MAX_HEADERS + 1];
    char status[8];
    size_t n = 0;
    snprintf(status, sizeof(status), "%03u", st->resp.status_code % 1000);
    nv[n++] = (nghttp2_nv){(uint8_t *)":status", (uint8_t *)status, 7, 3, NGHTTP2_NV_FLAG_NONE};
    for (size_t at = 0; at < st->hdr.len && n <= MOCK_H2_MAX_HEADERS;) {
        char *name = st->hdr.p + at;
        size_t nlen = strlen(name);
        char *value = name + nlen + 1;
        size_t vlen = strlen(value);
        at += nlen + vlen + 2;
        if (!hop_by_hop(name)) {
            nv[n++] =
                (nghttp2_nv){(uint8_t *)name, (uint8_t *)value, nlen, vlen, NGHTTP2_NV_FLAG_NONE};
        }
    }
    nghttp2_data_provider prd = {.source.ptr = st, .read_callback = mock__h2s_read};
    st->submitted = true;
    return nghttp2_submit_response(st->h2->sess, st->id, nv, n, st->head_only ? NULL : &prd);
}

static int r_field(http_parser *p, const char *at, size_t len)
{
    struct mock_h2s *st = p->data;
    if (st->in_value) {
        mock_buf_add(&st->hdr, "", 1); /* the value's end */
        st->in_value = false;
    }
    for (size_t i = 0; i < len; i++) {
        char ch = (char)tolower((unsigned char)at[i]);
        mock_buf_add(&st->hdr, &ch, 1);
    }
    return 0;
}

static int r_value(http_parser *p, const char *at, size_t len)
{
    struct mock_h2s *st = p->data;
    if (!st->in_value) {
        mock_buf_add(&st->hdr, "", 1); /* the name's end */
        st->in_value = true;
    }
    mock_buf_add(&st->hdr, at, len);
    return 0;
}

static int r_headers(http_parser *p)
{
    struct mock_h2s *st = p->data;
    if (st->in_value) {
        mock_buf_add(&st->hdr, "", 1);
    }
    if (st->hdr.oom || submit(st) != 0) {
        return -1;
    }
    return st->head_only ? 1 : 0; /* 1: no body follows */
}

static int r_body(http_parser *p, const char *at, size_t len)
{
    struct mock_h2s *st = p->data;
    struct mock_buf *d = &st->data;
    if (st->data_off > 0 && st->data_off >= d->len / 2) { /* compact, amortised */
        memmove(d->p, d->p + st->data_off, d->len - st->data_off);
        d->len -= st->data_off;
        st->data_off = 0;
    }
    mock_buf_add(d, at, len);
    resume(st);
    return d->oom ? -1 : 0;
}

static int r_complete(http_parser *p)
{
    struct mock_h2s *st = p->data;
    st->eof = true;
    resume(st);
    http_parser_pause(p, 1); /* one answer per stream: anything after it is ignored */
    return 0;
}

static const http_parser_settings resp_settings = {
    .on_header_field = r_field,
    .on_header_value = r_value,
    .on_headers_complete = r_headers,
    .on_body = r_body,
    .on_message_complete = r_complete,
};

ssize_t mock__h2s_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                       nghttp2_data_source *src, void *ud)
{
    struct mock_h2s *st = src->ptr;
    size_t avail = st->data.len - st->data_off;
    if (avail == 0 && st->rst_after) {
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* RST_STREAM INTERNAL_ERROR */
    }
    if (avail == 0 && !st->eof) {
        st->deferred = true;
        return NGHTTP2_ERR_DEFERRED;
    }
    size_t n = avail < len ? avail : len;
    if (n > 0) {
        memcpy(buf, st->data.p + st->data_off, n);
    }
    st->data_off += n;
    if (st->data_off == st->data.len) {
        mock_buf_clear(&st->data);
        st->data_off = 0;
        if (st->eof) {
            *flags |= NGHTTP2_DATA_FLAG_EOF;
        }
    }
    if (st->drain_cb != NULL && st->data.len - st->data_off <= MOCK_STREAM_LOW) {
        st->drain_due = true; /* called by the flush, outside nghttp2 */
    }
    return (ssize_t)n;
}

/* ---- the transport ---- */

static bool h2s_send(struct mock_conn *c, const char *p, size_t n)
{
    struct mock_h2s *st = h2s(c);
    if (st->closing || st->failed || st->h2->closed) {
        return false;
    }
    http_parser_execute(&st->resp, &resp_settings, p, n);
    enum http_errno e = HTTP_PARSER_ERRNO(&st->resp);
    if ((e != HPE_OK && e != HPE_PAUSED) || st->data.oom) {
        h2s_fail(c); /* cannot happen with mockllm's own answers: reset rather than guess */
        return false;
    }
    return true;
}

static void fail_cb(uv_timer_t *t)
{
    struct mock_h2s *st = t->data;
    struct mock_h2 *h = st->h2;
    mock__h2_enter(h);
    st_close(st);
    mock__h2_leave(h);
}

static void h2s_fail(struct mock_conn *c)
{
    struct mock_h2s *st = h2s(c);
    st->failed = true;
    uv_timer_start(&st->timer, fail_cb, 0, 0); /* closes once the caller's stack unwound */
}

static void h2s_done(struct mock_req *r)
{
    struct mock_h2s *st = h2s(r->conn);
    st->active = false;
    mock_http_pop(&st->c.http);
    if (st->closing) {
        return;
    }
    if (!st->eof) { /* an answer that ended without its message's end: end the body here */
        st->eof = true;
        resume(st);
    }
    /* The object lives until nghttp2 has sent the rest and closes the stream (on_stream_close). */
}

/* Reset the stream (the request's connection, as the layers above see it, is dropped). */
static void st_close(struct mock_h2s *st)
{
    struct mock_h2 *h = st->h2;
    if (st->closing) {
        return;
    }
    st->closing = true;
    if (st->active && st->c.http.head != NULL) {
        h->w->srv->app->abort(st->c.http.head);
    }
    st->active = false;
    st->drain_cb = NULL;
    mock_http_drop(&st->c.http, false);
    uv_timer_stop(&st->timer);
    if (!st->open || h->closed) {
        return;
    }
    if (st->submitted && !st->head_only && st->data.len > st->data_off) {
        /* What the answer sent before dropping its "connection" goes first, as over HTTP/1.1:
         * the data source resets the stream once it has given the rest (nghttp2 would send
         * the reset ahead of queued DATA). */
        st->rst_after = true;
        resume(st);
        return;
    }
    nghttp2_submit_rst_stream(h->sess, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
}

static void h2s_close(struct mock_conn *c)
{
    st_close(h2s(c));
}

static void timer_cb(uv_timer_t *t)
{
    struct mock_h2s *st = t->data;
    struct mock_h2 *h = st->h2;
    mock__h2_enter(h);
    st->timer_cb(&st->c);
    mock__h2_leave(h);
}

static void h2s_timer(struct mock_conn *c, uint64_t ms, void (*cb)(struct mock_conn *c))
{
    struct mock_h2s *st = h2s(c);
    st->timer_cb = cb;
    uv_update_time(st->h2->loop); /* a wait measured from now, as the loop transport's */
    uv_timer_start(&st->timer, timer_cb, ms, 0);
}

static void h2s_wake(struct mock_conn *c, void (*cb)(struct mock_conn *c))
{
    struct mock_h2s *st = h2s(c);
    st->timer_cb = cb;
    uv_timer_start(&st->timer, timer_cb, 0, 0);
}

/* A stalled answer, or a request that never completed: the stream is reset after the idle
 * timeout (the connection itself stays, serving its other streams). */
static void stall_cb(uv_timer_t *t)
{
    fail_cb(t);
}

static void h2s_hold(struct mock_conn *c)
{
    struct mock_h2s *st = h2s(c);
    uv_timer_start(&st->timer, stall_cb, (uint64_t)c->w->srv->cfg->idle_timeout_ms, 0);
}

static size_t h2s_backlog(struct mock_conn *c)
{
    struct mock_h2s *st = h2s(c);
    return st->data.len - st->data_off;
}

static void h2s_on_drain(struct mock_conn *c, void (*cb)(struct mock_conn *c))
{
    h2s(c)->drain_cb = cb;
}

const struct mock_transport mock__h2s_transport = {
    .name = "h2",
    .send = h2s_send,
    .fail = h2s_fail,
    .done = h2s_done,
    .close = h2s_close,
    .hold = h2s_hold,
    .timer = h2s_timer,
    .wake = h2s_wake,
    .backlog = h2s_backlog,
    .on_drain = h2s_on_drain,
};

/* ---- life ---- */

struct mock_h2s *mock__h2s_new(struct mock_h2 *h, int32_t id)
{
    struct mock_h2s *st = calloc(1, sizeof(*st));
    if (st == NULL) {
        return NULL;
    }
    mock_conn_init(&st->c, &mock__h2s_transport, h->w);
    if (mock_http_begin(&st->c.http) == NULL) {
        free(st);
        return NULL;
    }
    st->h2 = h;
    st->id = id;
    st->open = true;
    http_parser_init(&st->resp, HTTP_RESPONSE);
    st->resp.data = st;
    uv_timer_init(h->loop, &st->timer);
    st->timer.data = st;
    uv_timer_start(&st->timer, stall_cb, (uint64_t)h->w->srv->cfg->idle_timeout_ms, 0);
    st->next = h->streams;
    if (h->streams != NULL) {
        h->streams->prev = st;
    }
    h->streams = st;
    if (h->nstreams++ == 0) {
        h->io->busy(h->lower, true);
    }
    return st;
}

void mock__h2s_start(struct mock_h2s *st)
{
    uv_timer_stop(&st->timer); /* the request came whole in time */
    mock_http_end(&st->c.http);
    struct mock_req *r = st->c.http.head;
    st->head_only = r->method == HTTP_HEAD;
    st->active = true;
    st->h2->w->srv->app->handle(r);
}

static void free_cb(uv_handle_t *t)
{
    free(t->data);
}

void mock__h2s_gone(struct mock_h2s *st)
{
    struct mock_h2 *h = st->h2;
    st->open = false;
    if (!st->closing) {
        st->closing = true;
        if (st->active && st->c.http.head != NULL) {
            h->w->srv->app->abort(st->c.http.head); /* the client reset it mid-answer */
        }
        st->active = false;
    }
    mock_http_drop(&st->c.http, false);
    if (st->prev != NULL) {
        st->prev->next = st->next;
    } else {
        h->streams = st->next;
    }
    if (st->next != NULL) {
        st->next->prev = st->prev;
    }
    if (--h->nstreams == 0 && !h->closed) {
        h->io->busy(h->lower, false);
    }
    mock_buf_free(&st->c.pre);
    mock_buf_free(&st->hdr);
    mock_buf_free(&st->data);
    uv_close((uv_handle_t *)&st->timer, free_cb);
}
