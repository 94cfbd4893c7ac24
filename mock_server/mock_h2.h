/* mock_h2.h - HTTP/2 for mockllm (nghttp2): one server session per connection that negotiated
 * h2 through ALPN or opened with the h2c preface (prior knowledge), --model loop only.
 *
 * How it maps onto the connection interface (mock_conn.h): every stream is a struct mock_conn
 * of its own (a transport of its own, mock_h2_stream.c) whose parser queue holds the one
 * request the stream carries. So to the layers above a stream is a connection with one
 * request: its own timer, its own pacing (the bytes nghttp2 has not yet taken from it: flow
 * control and the socket's backpressure both show there), its own SSE prefix, and a close that
 * is a RST_STREAM, not the end of the connection. The request is built from the HEADERS and
 * DATA frames with HTTP/1.1's limits and header handling (mock_http_begin...); the answer the
 * layers above render as HTTP/1.1 is parsed back (http_parser, response mode) into :status,
 * headers (connection-specific ones dropped) and DATA frames, de-chunked.
 *
 * The session sits above a byte pipe it does not know (struct mock_h2_io): the plain socket or
 * TLS, with or without the round-trip emulation (mock_conn_loopx.c). It takes frames out of
 * nghttp2 only while that pipe holds less than MOCK_STREAM_HIGH bytes, so a client that stops
 * reading stops the streams as its TCP window would.
 *
 * Faults (beside the request faults, which act per stream; `close` resets the stream):
 * --h2-goaway-after N: GOAWAY (NO_ERROR) naming the Nth stream of a connection as the last it
 * will process; later streams are ignored (the client should send them again elsewhere), the
 * connection ends when the N are answered. --h2-settings-after N: a SETTINGS frame lowering
 * MAX_CONCURRENT_STREAMS to --h2-settings-max once N streams were opened (streams over it are
 * refused with RST_STREAM REFUSED_STREAM, which a client may retry).
 *
 * Bad input: nghttp2 answers protocol errors with GOAWAY (counted as
 * mockllm_h2_protocol_errors_total) and the connection ends; other connections are untouched.
 *
 * Everything runs on the connection's loop thread. Entry points (mock_h2_recv, mock_h2_pump,
 * a stream's timer) write the frames they produced before returning. */
#ifndef MOCK_H2_H
#define MOCK_H2_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "mock_worker.h"

struct mock_h2;

/* The pipe below: plaintext towards the client and what it does with the session's end. */
struct mock_h2_io {
    /* Write n bytes (copied or encrypted at once). false: the connection has failed. */
    bool (*write)(void *lower, const char *p, size_t n);
    /* Bytes written but not yet taken by the kernel. */
    size_t (*queued)(void *lower);
    /* The session is over (GOAWAY sent and its streams done, or a fatal error): end the
     * connection gracefully. Called once. */
    void (*end)(void *lower);
    /* The first stream opened (true) or the last one closed (false): the connection's idle
     * timeout counts only while none is open. */
    void (*busy)(void *lower, bool busy);
};

/* A session for a connection of worker w on loop, its SETTINGS queued (sent by the first entry
 * point). NULL when out of memory. */
struct mock_h2 *mock_h2_new(struct mock_worker *w, uv_loop_t *loop, const struct mock_h2_io *io,
                            void *lower);
/* n bytes from the client, processed: requests started, frames written. */
void mock_h2_recv(struct mock_h2 *h, const char *p, size_t n);
/* The pipe below took some of its queue: write more frames. */
void mock_h2_pump(struct mock_h2 *h);
/* The server stops: GOAWAY naming the last stream processed; the session ends when the streams
 * being answered are done. */
void mock_h2_stop(struct mock_h2 *h);
/* The connection is dropped: every stream's request is aborted (accounted), their timers
 * closed. Nothing is written; the session is not used again. */
void mock_h2_close(struct mock_h2 *h);
/* Free it, after mock_h2_close, from a callback of the loop (never under an entry point). */
void mock_h2_free(struct mock_h2 *h);

#endif
