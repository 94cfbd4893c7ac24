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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* Stop the threads, close every descriptor, free. NULL is fine. Both kinds of server. */
void hs_stop(struct hs_server *s);

const char *hs_mode_name(enum hs_mode mode);

/* --- scripted server: a handler writes each answer ------------------------------------------
 *
 * hs_start_handler() runs one thread per connection (blocking sockets, TCP_NODELAY): it reads
 * each request whole (head and Content-Length body), logs it, and calls the handler, which
 * writes whatever bytes the case needs, sleeping in between if it wants (hs_sleep), and says
 * what happens to the connection next. Up to HS_LOG_MAX requests are logged with their arrival
 * time and head, so that tests assert on what the server saw (how often, when, which path and
 * headers), a truth independent of the client's own figures. */

#define HS_LOG_MAX 4096

struct hs_req {
    struct hs_server *srv;
    int n;            /* 1-based number of the request on the server */
    int conn;         /* 1-based number of its connection */
    int conn_n;       /* 1-based number of the request on its connection */
    const char *head; /* request line and headers, NUL-terminated */
    const char *body; /* NUL-terminated */
    size_t body_len;
    int64_t t_ns; /* arrival (ll_now_ns) */
};

enum hs_after {
    HS_KEEP, /* read the next request on this connection */
    HS_FIN,  /* close (FIN) */
    HS_RST,  /* reset (SO_LINGER 0, then close) */
};

/* Called on the connection's thread; fd is blocking. Must return promptly once hs_sleep()
 * returns false (the server is stopping). */
typedef enum hs_after (*hs_handler)(void *arg, const struct hs_req *req, int fd);

/* Listen and start the accept thread. idle_close_ms > 0: a kept connection with no request for
 * that long is closed by the server (a load balancer's idle timeout). 0 or -1. */
int hs_start_handler(hs_handler fn, void *arg, int idle_close_ms, struct hs_server **out);

/* The request log: how many were read, and each one's arrival time and head (i from 0). */
int hs_requests(struct hs_server *s);
int64_t hs_req_time(struct hs_server *s, int i);
/* Copy the value of header `name` (case-insensitive) of request i into out; false if absent.
 * Name "" copies the request line. */
bool hs_req_header(struct hs_server *s, int i, const char *name, char *out, size_t outsz);

/* Sleep ms, or less when the server is stopping: false then. */
bool hs_sleep(struct hs_server *s, int ms);

/* Writers for handlers: best effort (MSG_NOSIGNAL; the client may have gone). */
void hs_write(int fd, const void *p, size_t n);
/* A whole answer: status line, Content-Type (NULL: application/json), Content-Length, the
 * extra header lines (each ending in \r\n; may be NULL) and the body. */
void hs_answer(int fd, int status, const char *ctype, const char *extra, const char *body,
               size_t body_len);
/* A 200 chat completion whose content is `text`, with usage. */
void hs_completion(int fd, const char *text);
/* The head of a chunked 200 text/event-stream answer, extra header lines appended. */
void hs_sse_head(int fd, const char *extra);
/* One chunk of a chunked body; n == 0 writes the last chunk (end of body). */
void hs_chunk(int fd, const void *p, size_t n);

#endif
