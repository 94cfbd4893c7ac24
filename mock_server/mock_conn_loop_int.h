/* mock_conn_loop_int.h - the libuv transport's connection, shared by mock_conn_loop.c (plain
 * HTTP/1.1: reading, parsing, writing, closing) and mock_conn_loopx.c (what may sit under it:
 * TLS, HTTP/2, the round-trip emulation). Not for other modules. Loop thread only. */
#ifndef MOCK_CONN_LOOP_INT_H
#define MOCK_CONN_LOOP_INT_H

#include "mock_conn_loop.h"

struct mock_lx;

struct mock_lconn {
    struct mock_conn c; /* first: the layers above see only this */
    uv_tcp_t tcp;
    uv_timer_t idle;     /* idle keep-alive, trickling request, stall, drain after shutdown */
    uint64_t idle_since; /* loop time (ms) the connection last became idle */
    uv_timer_t work;     /* the head request's timer (mock_conn_timer) */
    void (*work_cb)(struct mock_conn *c);
    uv_shutdown_t shut;
    struct mock_loop *lp;
    struct mock_lconn *prev, *next;
    size_t write_queued;
    void (*drain_cb)(struct mock_conn *c); /* mock_conn_on_drain's waiter, or NULL */
    uv_read_cb rcb;    /* what reads go to: plain HTTP/1.1, or the x path (mock_conn_loopx.c) */
    struct mock_lx *x; /* TLS, HTTP/2, the round trip; NULL for plain HTTP/1.1 */
    int open_handles;
    int refs; /* besides handles, what still names it: items in the round-trip delay line */
    bool active, closing, shutting, broken, reading, in_kick, eof;
    bool failed; /* a write failed: the connection closes as soon as the stack unwinds */
    bool held;   /* the head request stalls (mock_conn_hold): the client's EOF ends it */
};

/* ---- mock_conn_loop.c, for mock_conn_loopx.c ---- */
extern const struct mock_transport mock__loop_x_transport;
/* Plaintext of an HTTP/1.1 connection: parse and answer (the plain read callback's work). */
void mock__lconn_h1_in(struct mock_lconn *c, const char *p, size_t n);
/* The client's input ended (nread: UV_EOF or an error), as the plain read callback treats it. */
void mock__lconn_h1_end(struct mock_lconn *c, ssize_t nread);
/* The plain HTTP/1.1 read callback. */
void mock__lconn_read_plain(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
/* Reads go to cb from now on (restarted if reading). */
void mock__lconn_read_switch(struct mock_lconn *c, uv_read_cb cb);
void mock__lconn_read_start(struct mock_lconn *c);
void mock__lconn_read_stop(struct mock_lconn *c);
/* Bytes to the socket now: uv_try_write, the rest queued. false when it failed (the connection
 * then closes once the stack unwinds) or is closing. */
bool mock__lconn_write(struct mock_lconn *c, const char *p, size_t n);
/* Bytes queued in libuv, not yet taken by the kernel. */
size_t mock__lconn_queued(struct mock_lconn *c);
/* FIN after the queued writes (uv_shutdown). 0 or a libuv error. */
int mock__lconn_tcp_shutdown(struct mock_lconn *c);
/* uv_close the socket (when the delay line closes it late). */
void mock__lconn_close_tcp(struct mock_lconn *c);
/* Free the connection (its handles all closed, nothing naming it). */
void mock__lconn_free(struct mock_lconn *c);
void mock__lconn_close(struct mock_lconn *c);    /* drop now */
void mock__lconn_shutdown(struct mock_lconn *c); /* end gracefully: FIN, then drain */
void mock__lconn_fail(struct mock_lconn *c);     /* close once the stack unwound */
void mock__lconn_busy(struct mock_lconn *c, bool busy);

/* ---- mock_conn_loopx.c, for mock_conn_loop.c ---- */
/* A new connection of a loop with x_accept: TLS, the round trip, or sniffing for h2c. */
void mock__lx_accept(struct mock_lconn *c);
bool mock__lx_send(struct mock_conn *c, const char *p, size_t n);
size_t mock__lx_backlog(struct mock_conn *c);
/* conn_shutdown's FIN: close_notify first, the round trip's delay. 0 or a libuv error. */
int mock__lx_shutdown(struct mock_lconn *c);
/* loop_close: HTTP/2 streams aborted; true when the socket is closed later by the delay line
 * (it then holds a reference), false when the caller closes it now. */
bool mock__lx_close(struct mock_lconn *c);
/* Queued writes completed: HTTP/2 writes more frames. */
void mock__lx_written(struct mock_lconn *c);
/* The server stops: true when the connection finishes on its own (HTTP/2 GOAWAY). */
bool mock__lx_stop(struct mock_lconn *c);
/* Free the x state (from the connection's last close callback). */
void mock__lx_free(struct mock_lconn *c);

#endif
