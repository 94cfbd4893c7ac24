/* mock_server.h - mockllm's process: the shared state (mock_worker.h), the listening sockets,
 * signals, graceful stop, and the concurrency model that serves the connections (--model):
 *
 *   loop     N event loops, one per thread (--threads N, SO_REUSEPORT listeners): mock_loops.c
 *            with the libuv transport (mock_conn_loop.h).
 *   threads  one thread per connection, blocking (mock_threads.c with mock_conn_thread.h): the
 *            classic thread-per-connection server, measured against the loops by
 *            `llmload demo server`.
 * Both serve the same parser, routes, answers, faults, limits and metrics (mock_conn.h).
 *
 * Stop (SIGINT/SIGTERM), in both: listeners close, connections waiting for a request close,
 * answers being written finish (with Connection: close) for up to --grace-ms, then every
 * connection is dropped. */
#ifndef MOCK_SERVER_H
#define MOCK_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "mock_config.h"
#include "mock_worker.h"

/* Run the server until SIGINT/SIGTERM. Prints the "listening" line, then the summary on stderr.
 * Returns the process exit code (0 clean, 1 setup failure with a message on stderr). */
int mock_server_run(const struct mock_config *cfg);

/* Internal, for the models (mock_loops.c, mock_threads.c), on the main thread: */
/* A bound, non-blocking, close-on-exec TCP socket on host:*port, not yet listening; *port 0
 * learns the port the kernel chose. The descriptor, or -1 with a one-line reason in err. */
int mock__server_bind(const char *host, int *port, bool reuseport, char *err, size_t errlen);
/* Accept every pending connection of the non-blocking listener lfd, handing each descriptor to
 * take(arg, fd) (SOCK_CLOEXEC, plus `flags`: SOCK_NONBLOCK for the loops). accept() failures are
 * counted on /metrics by errno; at EMFILE/ENFILE the pending connections are dropped through
 * *reserve (a spare descriptor: closed, each connection accepted into it and closed, reopened),
 * as libuv does, so that the listener does not stay readable. Returns when none is pending. */
void mock__server_accept_all(struct mock_server *srv, int lfd, int flags, int *reserve,
                             void (*take)(void *arg, int fd), void *arg);
/* A spare descriptor for mock__server_accept_all, or -1. */
int mock__server_reserve(void);
/* Print the readiness line ("listening HOST PORT") that tests and the driver wait for. */
void mock__server_ready(const struct mock_server *srv);
int mock__loops_run(struct mock_server *srv);
int mock__threads_run(struct mock_server *srv);

#endif
