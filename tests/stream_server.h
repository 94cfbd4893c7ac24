/* stream_server.h - a scripted HTTP server for tests of what a streamed answer's timing means.
 *
 * Each request gets a script: byte strings written at set times after the request arrived
 * (the first string is the status line and headers), then the connection is closed. So a test
 * states exactly when each SSE chunk leaves, what it carries and whether the stream ends with
 * [DONE] or is cut; the right TTFT, chunk gaps and per-token gaps follow by arithmetic.
 * Answers carry "Connection: close" and no Content-Length: the close ends the body.
 *
 * One thread, poll() over a wake-up pipe, the listener and up to SS_MAX_CONNS connections,
 * bound to 127.0.0.1 on a free port. Times are absolute from the request's arrival, so a late
 * write does not push the later ones back.
 *
 * Thread: ss_start/ss_stop and the accessors from one thread (the test's); `pick` runs on the
 * server thread. ss_stop joins the thread and closes every descriptor the server opened.
 */
#ifndef STREAM_SERVER_H
#define STREAM_SERVER_H

#include <stddef.h>
#include <stdint.h>

#define SS_MAX_CONNS 64

/* One write: `at_ms` after the request arrived (not after the previous step). */
struct ss_step {
    int at_ms;
    const char *bytes; /* NUL-terminated, kept by pointer: static strings */
};

struct ss_script {
    const struct ss_step *steps;
    size_t n;
};

struct ss_server;

/* The script for the n-th request (0-based, in the order the requests' bodies completed). */
typedef const struct ss_script *(*ss_pick_fn)(void *arg, int n);

/* Listen and start the thread. 0 or -1 (errno-style failure of socket/bind/thread). */
int ss_start(ss_pick_fn pick, void *arg, struct ss_server **out);

/* "http://127.0.0.1:PORT/v1", valid until ss_stop. */
const char *ss_url(const struct ss_server *s);

/* Requests whose script started so far. */
int ss_requests(const struct ss_server *s);

/* The arrival log, the truth for tests of when a client sends and what: the n-th request
 * (0-based, in the order the requests' bodies completed) arrived at *t_ns (CLOCK_MONOTONIC, as
 * ll_now_ns()) with this body (a NUL-terminated copy, owned by the server, valid until
 * ss_stop). NULL when fewer requests came, or n >= SS_LOG_MAX. */
#define SS_LOG_MAX 4096
const char *ss_arrival(struct ss_server *s, int n, int64_t *t_ns);

/* Stop the thread, close every descriptor, free. NULL is fine. */
void ss_stop(struct ss_server *s);

#endif
