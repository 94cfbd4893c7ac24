/* mock_h2.c - the HTTP/2 server session (mock_h2.h): nghttp2's callbacks build requests on
 * stream objects (mock_h2_stream.c), the connection faults, and writing frames in batches. */
#include <stdlib.h>
#include <string.h>

#include "mock_h2_int.h"

#define OBUF_MAX (64 * 1024) /* frames gathered for one write */

static struct mock_metrics *metrics(struct mock_h2 *h)
{
    return &h->w->srv->metrics;
}

static struct mock_h2s *stream_of(struct mock_h2 *h, int32_t id)
{
    return nghttp2_session_get_stream_user_data(h->sess, id);
}

/* ---- nghttp2 callbacks: requests ---- */

/* The client opens a stream: its object, and the connection faults counted by streams. */
static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    struct mock_h2 *h = ud;
    const struct mock_config *cfg = h->w->srv->cfg;
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST) {
        return 0; /* trailers: their fields are ignored */
    }
    if (h->goaway && f->hd.stream_id > h->goaway_last) {
        /* Past the GOAWAY mockllm queued (it may not have left yet): not processed, and
         * closed by nghttp2 once it has, so the client knows to send it again. */
        return 0;
    }
    struct mock_h2s *st = mock__h2s_new(h, f->hd.stream_id);
    if (st == NULL) {
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* the stream is reset */
    }
    nghttp2_session_set_stream_user_data(s, f->hd.stream_id, st);
    mock_metrics_net(metrics(h), h->w->index, MOCK_NET_H2_STREAM);
    h->opened++;
    if (cfg->h2_goaway_after > 0 && h->opened == cfg->h2_goaway_after) {
        h->goaway = true;
        h->goaway_last = f->hd.stream_id;
        nghttp2_submit_goaway(s, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_NO_ERROR, NULL, 0);
        mock_metrics_net(metrics(h), h->w->index, MOCK_NET_H2_GOAWAY);
    }
    if (cfg->h2_settings_after > 0 && h->opened == cfg->h2_settings_after) {
        nghttp2_settings_entry e = {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS,
                                    (uint32_t)cfg->h2_settings_max};
        nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, &e, 1);
        mock_metrics_net(metrics(h), h->w->index, MOCK_NET_H2_SETTINGS);
    }
    return 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
                     const uint8_t *value, size_t vlen, uint8_t flags, void *ud)
{
    struct mock_h2s *st = stream_of(ud, f->hd.stream_id);
    if (st != NULL && f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST) {
        mock_http_field(&st->c.http, (const char *)name, nlen, (const char *)value, vlen);
    }
    return 0;
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *p, size_t n,
                   void *ud)
{
    struct mock_h2s *st = stream_of(ud, id);
    if (st != NULL && !st->active) {
        mock_http_data(&st->c.http, (const char *)p, n);
    }
    return 0;
}

/* A request's last frame (END_STREAM on HEADERS or DATA): answer it. */
static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) &&
        (f->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
        struct mock_h2s *st = stream_of(ud, f->hd.stream_id);
        if (st != NULL && !st->active && !st->closing && st->c.http.cur != NULL) {
            mock__h2s_start(st);
        }
    }
    return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t id, uint32_t code, void *ud)
{
    struct mock_h2s *st = stream_of(ud, id);
    if (st != NULL) {
        nghttp2_session_set_stream_user_data(s, id, NULL);
        mock__h2s_gone(st);
    }
    return 0;
}

/* What mockllm sends that the metrics count: resets, and GOAWAY for bad input. */
static int on_frame_send(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    struct mock_h2 *h = ud;
    if (f->hd.type == NGHTTP2_RST_STREAM) {
        mock_metrics_net(metrics(h), h->w->index, MOCK_NET_H2_RST);
    } else if (f->hd.type == NGHTTP2_GOAWAY && f->goaway.error_code != NGHTTP2_NO_ERROR) {
        mock_metrics_net(metrics(h), h->w->index, MOCK_NET_H2_ERROR);
    }
    return 0;
}

/* ---- writing ---- */

/* Gather frames into obuf and write them while the pipe below has room, resuming streams whose
 * backlog drained, until nothing changes. At depth 0 only: never under nghttp2's callbacks or
 * an answer being rendered. */
static void flush(struct mock_h2 *h)
{
    h->depth++;
    for (bool again = true; again && !h->closed && !h->broken;) {
        again = false;
        while (!h->closed && h->io->queued(h->lower) < MOCK_STREAM_HIGH) {
            const uint8_t *p;
            ssize_t n = 0;
            while (h->obuf.len < OBUF_MAX && (n = nghttp2_session_mem_send(h->sess, &p)) > 0) {
                mock_buf_add(&h->obuf, p, (size_t)n);
            }
            if (n < 0 || h->obuf.oom) {
                h->closed = true; /* out of memory: the connection goes */
                h->io->end(h->lower);
                break;
            }
            if (h->obuf.len == 0) {
                break;
            }
            h->broken = !h->io->write(h->lower, h->obuf.p, h->obuf.len);
            mock_buf_clear(&h->obuf);
            if (h->broken) {
                break; /* the connection closes soon: mock_h2_close */
            }
        }
        for (struct mock_h2s *st = h->streams; st != NULL && !h->closed && !h->broken;
             st = st->next) {
            if (st->drain_due) {
                void (*cb)(struct mock_conn *) = st->drain_cb;
                st->drain_due = false;
                st->drain_cb = NULL;
                cb(&st->c);
                again = true;
            }
        }
    }
    h->depth--;
    if (!h->closed && !h->broken && !h->ended && !nghttp2_session_want_read(h->sess) &&
        !nghttp2_session_want_write(h->sess)) {
        h->ended = true;
        h->io->end(h->lower);
    }
}

void mock__h2_enter(struct mock_h2 *h)
{
    h->depth++;
}

void mock__h2_leave(struct mock_h2 *h)
{
    if (--h->depth == 0 && !h->closed && !h->broken) {
        flush(h);
    }
}

/* ---- the session ---- */

static nghttp2_session_callbacks *callbacks(void)
{
    nghttp2_session_callbacks *cb;
    if (nghttp2_session_callbacks_new(&cb) != 0) {
        return NULL;
    }
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
    return cb;
}

struct mock_h2 *mock_h2_new(struct mock_worker *w, uv_loop_t *loop, const struct mock_h2_io *io,
                            void *lower)
{
    struct mock_h2 *h = calloc(1, sizeof(*h));
    nghttp2_session_callbacks *cb = callbacks();
    if (h == NULL || cb == NULL) {
        goto error;
    }
    h->w = w;
    h->loop = loop;
    h->io = io;
    h->lower = lower;
    if (nghttp2_session_server_new(&h->sess, cb, h) != 0) {
        goto error;
    }
    /* The header list limit is advice to the client (RFC 9113 6.5.2); what exceeds
     * --max-header-bytes is answered 431 as over HTTP/1.1. */
    nghttp2_settings_entry s[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, (uint32_t)w->srv->cfg->h2_max_streams},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)w->srv->cfg->max_header_bytes},
    };
    if (nghttp2_submit_settings(h->sess, NGHTTP2_FLAG_NONE, s, 2) != 0) {
        goto error;
    }
    nghttp2_session_callbacks_del(cb);
    mock_metrics_net(&w->srv->metrics, w->index, MOCK_NET_H2_CONN);
    return h;
error:
    if (h != NULL && h->sess != NULL) {
        nghttp2_session_del(h->sess);
    }
    if (cb != NULL) {
        nghttp2_session_callbacks_del(cb);
    }
    free(h);
    return NULL;
}

void mock_h2_recv(struct mock_h2 *h, const char *p, size_t n)
{
    if (h->closed) {
        return;
    }
    mock__h2_enter(h);
    ssize_t rv = nghttp2_session_mem_recv(h->sess, (const uint8_t *)p, n);
    if (rv < 0 && !h->closed) {
        /* Bad client magic, a flood, out of memory: GOAWAY and the end (a protocol error in a
         * frame nghttp2 has already answered with GOAWAY itself). */
        nghttp2_session_terminate_session(
            h->sess, rv == NGHTTP2_ERR_NOMEM ? NGHTTP2_INTERNAL_ERROR : NGHTTP2_PROTOCOL_ERROR);
    }
    mock__h2_leave(h);
}

void mock_h2_pump(struct mock_h2 *h)
{
    if (!h->closed && !h->broken && h->depth == 0) {
        flush(h);
    }
}

void mock_h2_stop(struct mock_h2 *h)
{
    if (h->closed) {
        return;
    }
    mock__h2_enter(h);
    int32_t last = nghttp2_session_get_last_proc_stream_id(h->sess);
    if (!h->goaway || last < h->goaway_last) {
        h->goaway = true;
        h->goaway_last = last;
    }
    nghttp2_submit_goaway(h->sess, NGHTTP2_FLAG_NONE, h->goaway_last, NGHTTP2_NO_ERROR, NULL, 0);
    mock__h2_leave(h);
}

void mock_h2_close(struct mock_h2 *h)
{
    h->closed = true;
    while (h->streams != NULL) {
        mock__h2s_gone(h->streams);
    }
}

void mock_h2_free(struct mock_h2 *h)
{
    if (h == NULL) {
        return;
    }
    nghttp2_session_del(h->sess); /* calls none of our callbacks */
    mock_buf_free(&h->obuf);
    free(h);
}
