/* hostile_server.h - a tiny misbehaving HTTP server for client robustness tests.
 *
 * One thread, plain sockets and poll(), bound to 127.0.0.1 on a free port. Every connection it
 * accepts gets the same treatment, the server's mode: an answer that a correct client must turn
 * into a classified error (protocol, timeout, connect) instead of a crash, a hang or a leak.
 *
 * Thread: hs_start/hs_stop from one thread (the test's); the server thread touches only its own
 * descriptors. hs_stop joins the thread and closes every descriptor the server opened.
 */
#ifndef HOSTILE_SERVER_H
#define HOSTILE_SERVER_H

enum hs_mode {
    HS_TRUNCATE,    /* 200, Content-Length larger than what is sent, then close */
    HS_BAD_JSON,    /* 200 application/json with a body that is not JSON */
    HS_HTML,        /* 200 text/html (an error page from a proxy) */
    HS_SSE_FOREVER, /* 200 text/event-stream: keep-alive comments and tokens, never [DONE] */
    HS_SILENT,      /* accept, read the request, never answer */
    HS_CLOSE,       /* close at once after accept */
    HS_GARBAGE,     /* bytes that are not HTTP at all, then close */
    HS__COUNT
};

struct hs_server;

/* Listen and start the thread. 0 or -1 (errno-style failure of socket/bind/thread). */
int hs_start(enum hs_mode mode, struct hs_server **out);

/* "http://127.0.0.1:PORT/v1", valid until hs_stop. */
const char *hs_url(const struct hs_server *s);

/* Connections accepted so far (read after the client is done with the server). */
int hs_accepted(const struct hs_server *s);

/* Stop the thread, close every descriptor, free. NULL is fine. */
void hs_stop(struct hs_server *s);

const char *hs_mode_name(enum hs_mode mode);

#endif
