/* mock_h2_int.h - what the HTTP/2 session (mock_h2.c) and its streams (mock_h2_stream.c)
 * share. Not for other modules: they see mock_h2.h. Loop thread only. */
#ifndef MOCK_H2_INT_H
#define MOCK_H2_INT_H

#include <http_parser.h>
#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "mock_buf.h"
#include "mock_conn.h"
#include "mock_h2.h"

#define MOCK_H2_MAX_HEADERS 24 /* response headers a stream passes on (mockllm sends < 12) */

struct mock_h2 {
    nghttp2_session *sess;
    struct mock_worker *w;
    uv_loop_t *loop;
    const struct mock_h2_io *io;
    void *lower;
    struct mock_h2s *streams; /* every stream with an object: doubly linked */
    int nstreams;
    int opened;           /* streams the client opened on this connection (the faults count them) */
    bool goaway;          /* mockllm queued a GOAWAY ... */
    int32_t goaway_last;  /* ... naming this stream as the last it processes */
    int depth;            /* entry points on the stack: frames are written when it returns to 0 */
    bool closed;          /* mock_h2_close: nothing more is done */
    bool ended;           /* io->end was called */
    bool broken;          /* a write failed: the connection is closing, nothing more is written */
    struct mock_buf obuf; /* frames gathered from nghttp2 for one write */
};

/* One stream: a connection with one request, as the layers above see it. */
struct mock_h2s {
    struct mock_conn c; /* first */
    struct mock_h2 *h2;
    int32_t id;
    struct mock_h2s *prev, *next;
    uv_timer_t timer; /* mock_conn_timer, wake, hold, a failure's close */
    void (*timer_cb)(struct mock_conn *c);
    void (*drain_cb)(struct mock_conn *c);
    /* The answer rendered as HTTP/1.1, parsed back: its head collected, then its body. */
    http_parser resp;
    struct mock_buf hdr; /* "name\0value\0" pairs, names lowercased */
    size_t hname_at;     /* where the header being read starts in hdr */
    bool in_value;
    struct mock_buf data; /* body bytes nghttp2 has not taken, from data_off */
    size_t data_off;
    bool head_only; /* a HEAD request: headers alone */
    bool submitted; /* HEADERS submitted */
    bool eof;       /* the whole body is in data */
    bool deferred;  /* the data callback deferred: resume when data comes */
    bool drain_due; /* backlog fell to MOCK_STREAM_LOW with drain_cb waiting */
    bool active;    /* the request is being answered */
    bool closing;   /* reset or gone: nothing more is sent */
    bool failed;    /* a send failed: reset once the caller's stack unwound */
    bool rst_after; /* reset once the data already rendered has been sent */
    bool open;      /* nghttp2 still has the stream */
};

/* mock_h2_stream.c */
extern const struct mock_transport mock__h2s_transport;
/* A stream object for id (its request begun), linked into h. NULL when out of memory. */
struct mock_h2s *mock__h2s_new(struct mock_h2 *h, int32_t id);
/* The request is complete: answer it. */
void mock__h2s_start(struct mock_h2s *st);
/* nghttp2 closed the stream (answer sent, client reset, refused): abort its request if it was
 * being answered and free the object. */
void mock__h2s_gone(struct mock_h2s *st);
/* The stream's answer body for nghttp2 (its data source read callback). */
ssize_t mock__h2s_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                       nghttp2_data_source *src, void *ud);

/* mock_h2.c */
/* An entry point begins (timers of streams) / ends: at depth 0 the frames are written and the
 * streams whose backlog drained are resumed. */
void mock__h2_enter(struct mock_h2 *h);
void mock__h2_leave(struct mock_h2 *h);

#endif
