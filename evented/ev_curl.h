/* ev_curl.h - libuv <-> libcurl multi-socket glue: one context per multi handle on a loop.
 *
 * One context owns the CURLM, one uv_timer for curl's timeout and one uv_idle that stands in for
 * a 0 ms timeout. Every socket curl wants watched gets one record holding a uv_poll_t, attached
 * to curl's socket hash with curl_multi_assign(). This is curl's docs/examples/multi-uv.c with
 * its faults fixed:
 *
 *   - A 0 ms timeout is never rounded up to 1 ms (curl issue 17144: that puts a hidden 1 ms on
 *     every request). curl forbids calling curl_multi_socket_action() from inside its timer
 *     callback, and libuv 1.44 runs a 0 ms timer started inside a timer callback in the same
 *     pass, so a 0 ms timeout starts the idle handle instead: it runs on the next loop pass and
 *     makes that pass's poll non-blocking. A 0 ms timeout asked for during a socket action is
 *     run right after that action returns (curl is then no longer on the stack), a few times
 *     at most: a request finished there usually starts the next one, and waiting for the next
 *     loop pass would cost an epoll_wait(0) and the loop's bookkeeping every time.
 *   - A negative poll status (libuv reports EPOLLERR as UV_EBADF and stops the poll) goes to
 *     curl as the events the poll was watching, not as CURL_CSELECT_ERR: curl 7.88 answers
 *     CSELECT_ERR with "select/poll returned error" (CURLE_SEND_ERROR) without touching the
 *     socket, so a request that met a connection the server had reset failed, where
 *     curl_easy_perform (whose own poll maps POLLERR to readable) reads the socket, sees
 *     ECONNRESET and sends the request again on a new connection. Handing curl the watched
 *     events makes it read or write the socket and meet the error itself, as it does there.
 *     The poll is started again if curl still wants the socket afterwards.
 *   - curl_multi_info_read() is drained completely after every curl_multi_socket_action().
 *   - Never two active polls on one fd, never an fd closed under an active poll. Records live in
 *     an fd -> record table, so there is at most one per fd. CURL_POLL_REMOVE parks the record:
 *     curl says REMOVE for a pooled connection after every request and re-adds the same fd for
 *     the next, so a parked record is taken up again instead of paying malloc + uv_poll_init
 *     each time. For a connected socket opened for a connection (ev_curl_own_socket; connected:
 *     curl has asked to read it) the parked poll even stays in epoll, since stopping and
 *     restarting it cost three epoll_ctl per request; if such an idle socket turns readable
 *     (the server closed it) its poll is stopped then. Any other socket's poll is stopped at
 *     REMOVE (libuv takes the fd out of epoll inside uv_poll_stop): curl 7.88 closes a socket
 *     whose connect it gave up (a timeout during connect) with plain close(2), without the
 *     close-socket callback, and a poll left on it made libuv abort on epoll_ctl (EBADF) when
 *     it added the watcher on its next pass.
 *     The record is closed when curl closes the socket: every easy handle gets a
 *     CURLOPT_CLOSESOCKETFUNCTION (ev_curl_prepare_easy) that stops and closes the poll before
 *     close(2). The poll's close callback frees the record and touches nothing else, because
 *     by then the fd number may already belong to a new socket with a new record (uv_poll_init
 *     accepts the number: the old watcher is stopped). A parked record whose socket was closed
 *     behind our back is harmless: it is reused for whatever socket gets that number next.
 *
 * Threads: everything here runs on the loop's thread (the client thread in ev_backend).
 */
#ifndef EV_CURL_H
#define EV_CURL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <uv.h>

struct ev_curl;
struct ev_sock; /* one watched socket, private to ev_curl.c */

/* A transfer finished. The easy handle has already been removed from the multi, so the callee
 * may re-add it (a retry, the next call) or clean it up. Runs on the loop. */
typedef void (*ev_curl_done_cb)(struct ev_curl *ec, CURL *easy, CURLcode rc, void *arg);

/* Counters for tests and figures; plain fields, read on the loop's thread. */
struct ev_curl_counts {
    uint64_t socket_actions; /* curl_multi_socket_action calls */
    uint64_t timer_fires;    /* curl's uv_timer fired (timeouts > 0 ms) */
    uint64_t kicks;          /* deferred 0 ms timeouts run from the idle handle */
    uint64_t zero_inline;    /* 0 ms timeouts run right after the socket action that set them */
    uint64_t polls_opened;   /* socket records created (uv_poll_init) */
    uint64_t polls_reused;   /* parked records taken up again (pooled connection reused) */
    uint64_t polls_freed;    /* socket records freed (in the close callback) */
    uint64_t stale_polls;    /* active polls found where curl had not said REMOVE (expect 0) */
    uint64_t polls_started;  /* uv_poll_start calls: one or two epoll_ctl each */
    uint64_t parked_wakeups; /* parked pooled connections that became readable (server closed) */
    uint64_t poll_errors;    /* poll callbacks with a negative status (socket error, e.g. RST) */
    uint64_t done;           /* transfers reported through the done callback */
};

/* Connection sockets open now and the most open at once: counted from the backend's
 * CURLOPT_OPENSOCKETFUNCTION (ev_curl_own_socket) to curl's close of the socket, and shared by
 * every context of one backend (ev_curl.conns) so that the peak spans them all. A socket curl
 * 7.88 closes with plain close(2) (a connect it gave up, see ev_curl_own_socket) is not seen
 * closing and stays counted. */
struct ev_curl_conns {
    int64_t open, peak;
};

struct ev_curl {
    uv_loop_t *loop;
    struct ev_curl_conns *conns; /* set by the owner after init; NULL: not counted */
    CURLM *multi;
    uv_timer_t timer; /* curl's timeout when > 0 ms */
    uv_idle_t kick;   /* curl's timeout when 0 ms */
    ev_curl_done_cb done_cb;
    void *done_arg;
    struct ev_sock **by_fd; /* the record whose poll is active on each fd, or NULL */
    size_t by_fd_cap;
    int running; /* running handles, as curl last reported */
    int handles; /* easy handles currently in the multi */
    /* At most `limit` handles in the multi (0: no limit); the rest wait here, first in first
     * out, for one to finish (ev_curl_set_limit). */
    int limit;
    CURL **waitq; /* a ring of waitq_cap */
    int waitq_head, waitq_len, waitq_cap;
    int closing;   /* ev_curl_close() has begun */
    bool zero_due; /* curl asked for a 0 ms timeout that has not run yet */
    struct ev_curl_counts counts;
};

/* Set up on `loop` (not running it). 0 or LL_ENOMEM; on failure nothing is left to close. */
int ev_curl_init(struct ev_curl *ec, uv_loop_t *loop, ev_curl_done_cb cb, void *arg);

/* Options every easy handle driven by this context needs (the close-socket guard). Once per
 * handle: curl keeps them across transfers, and only curl_easy_reset would drop them (nothing
 * here calls it; ll_xfer_begin does not). Never fails. */
void ev_curl_prepare_easy(struct ev_curl *ec, CURL *easy);

/* Keep at most `limit` transfers in the multi; more wait in a queue of up to `cap`, first in
 * first out, and go in one per transfer done. For HTTP/1.1 under CURLMOPT_MAX_TOTAL_CONNECTIONS:
 * curl 7.88's own pending list is not first in first out (curl issue 2369, PR 1358; fairer only
 * from 2026, PR 21412), and with 20 in flight over 3 connections it left 17 requests waiting
 * the whole run (p99 2.1 s where the mean was 136 ms). Before any transfer is added. 0 or
 * LL_ENOMEM. Loop thread. */
int ev_curl_set_limit(struct ev_curl *ec, int limit, int cap);

/* Add / remove a transfer. I/O happens only when the loop runs. ev_curl_remove() is for
 * abandoning a transfer (cancel); finished transfers are removed before the done callback.
 * Must not be called from inside a curl callback. 0 or LL_ECURL. */
/* fd was just opened for a connection (the backend's CURLOPT_OPENSOCKETFUNCTION calls this):
 * once connected, curl closes it through ev_curl's CURLOPT_CLOSESOCKETFUNCTION, never behind
 * our back, so its poll may stay in epoll between requests (see CURL_POLL_REMOVE above). It
 * counts as an open connection in ec->conns until then. */
void ev_curl_own_socket(struct ev_curl *ec, curl_socket_t fd);

int ev_curl_add(struct ev_curl *ec, CURL *easy);
int ev_curl_remove(struct ev_curl *ec, CURL *easy);

/* Close: curl_multi_cleanup() (which may still call the socket callback, so the loop must be
 * alive), then uv_close() on the timer and idle handle. Every easy handle must have been removed
 * first. The caller then runs the loop until its closing callbacks have run. */
void ev_curl_close(struct ev_curl *ec);

#endif
