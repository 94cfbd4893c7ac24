/* ev_curl.c - libuv <-> libcurl multi-socket glue (see ev_curl.h for the rules it keeps). */
#include "ev_curl.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ll_err.h"

struct ev_sock {
    uv_poll_t poll; /* first, so the handle's address is the record's */
    struct ev_curl *ec;
    curl_socket_t fd;
    int events;  /* UV_READABLE|UV_WRITABLE the poll watches; 0 when stopped */
    bool owned;  /* a connection socket opened for curl: closed through ev__closesocket_fn */
    bool parked; /* curl said REMOVE; an owned socket's poll stays in epoll meanwhile */
    /* curl asked to read it: the connection was made. Until then curl 7.88 may close it with
     * plain close(2), not our CURLOPT_CLOSESOCKETFUNCTION (cf-socket.c closes a socket it never
     * made the connection's, e.g. a connect cut by a timeout, with sclose) */
    bool connected;
};

/* Move waiting transfers into the multi while it has room under its limit. */
static void ev__waitq_pump(struct ev_curl *ec)
{
    while (ec->waitq_len > 0 && ec->handles < ec->limit) {
        CURL *easy = ec->waitq[ec->waitq_head];
        ec->waitq_head = (ec->waitq_head + 1) % ec->waitq_cap;
        ec->waitq_len--;
        if (curl_multi_add_handle(ec->multi, easy) == CURLM_OK) {
            ec->handles++;
        } else { /* cannot happen for a handle that was added before; end it as curl would */
            ec->done_cb(ec, easy, CURLE_OUT_OF_MEMORY, ec->done_arg);
        }
    }
}

static void ev__drain(struct ev_curl *ec);

/* 0 ms timeouts run in a row after one socket action before the rest wait for the next loop
 * pass: bounded so that a curl asking for 0 ms again and again cannot starve the loop. */
#define EV_ZERO_INLINE_MAX 4

static void ev__action(struct ev_curl *ec, curl_socket_t fd, int flags)
{
    ec->counts.socket_actions++;
    curl_multi_socket_action(ec->multi, fd, flags, &ec->running);
    ev__drain(ec);
    for (int i = 0; i < EV_ZERO_INLINE_MAX && ec->zero_due; i++) {
        ec->zero_due = false;
        uv_idle_stop(&ec->kick);
        ec->counts.zero_inline++;
        ec->counts.socket_actions++;
        curl_multi_socket_action(ec->multi, CURL_SOCKET_TIMEOUT, 0, &ec->running);
        ev__drain(ec);
    }
}

/* Hand every finished transfer to the owner. The message is copied out before the removal
 * because curl frees it there. */
static void ev__drain(struct ev_curl *ec)
{
    CURLMsg *msg;
    int left;

    while ((msg = curl_multi_info_read(ec->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE) {
            continue;
        }
        CURL *easy = msg->easy_handle;
        CURLcode rc = msg->data.result;
        curl_multi_remove_handle(ec->multi, easy);
        ec->handles--;
        ec->counts.done++;
        ev__waitq_pump(ec); /* the longest waiting goes in before done_cb adds the next one */
        ec->done_cb(ec, easy, rc, ec->done_arg);
    }
}

/* --- sockets ------------------------------------------------------------------------------ */

static struct ev_sock *ev__lookup(struct ev_curl *ec, curl_socket_t fd)
{
    return fd >= 0 && (size_t)fd < ec->by_fd_cap ? ec->by_fd[fd] : NULL;
}

static int ev__slot(struct ev_curl *ec, curl_socket_t fd)
{
    if ((size_t)fd < ec->by_fd_cap) {
        return 0;
    }
    size_t cap = ec->by_fd_cap ? ec->by_fd_cap : 64;
    while (cap <= (size_t)fd) {
        cap *= 2;
    }
    struct ev_sock **t = realloc(ec->by_fd, cap * sizeof(*t));
    if (t == NULL) {
        return LL_ENOMEM;
    }
    memset(t + ec->by_fd_cap, 0, (cap - ec->by_fd_cap) * sizeof(*t));
    ec->by_fd = t;
    ec->by_fd_cap = cap;
    return 0;
}

/* Only the record is freed here: by now the fd number may belong to a new socket. */
static void ev__sock_close_cb(uv_handle_t *h)
{
    struct ev_sock *s = (struct ev_sock *)h;
    s->ec->counts.polls_freed++;
    free(s);
}

/* uv_poll_stop takes the fd out of epoll at once (an epoll_ctl), so the fd may be closed right
 * after this. */
static void ev__sock_stop(struct ev_sock *s)
{
    uv_poll_stop(&s->poll);
    s->events = 0;
}

/* The socket is closing (or we are): stop and close the poll. */
static void ev__sock_retire(struct ev_curl *ec, struct ev_sock *s)
{
    if (ev__lookup(ec, s->fd) == s) {
        ec->by_fd[s->fd] = NULL;
    }
    ev__sock_stop(s);
    uv_close((uv_handle_t *)&s->poll, ev__sock_close_cb);
}

static void ev__poll_cb(uv_poll_t *h, int status, int events)
{
    struct ev_sock *s = (struct ev_sock *)h;
    int flags = 0;

    if (s->parked) {
        /* An idle pooled connection became readable: the server closed it (or sent junk).
         * Level-triggered, it would fire on every pass; curl is not watching it and finds it
         * dead by itself when it next tries to reuse it. */
        ev__sock_stop(s);
        s->ec->counts.parked_wakeups++;
        return;
    }
    struct ev_curl *ec = s->ec;
    curl_socket_t fd = s->fd;
    int watched = s->events;
    if (status < 0) {
        /* A socket error (libuv saw EPOLLERR and stopped the poll). Not CURL_CSELECT_ERR:
         * curl would fail the transfer without reading the socket (ev_curl.h). The socket is
         * readable and writable in the sense that a read or write returns the error now. */
        ec->counts.poll_errors++;
        s->events = 0;
        events = watched;
    }
    flags |= (events & UV_READABLE) ? CURL_CSELECT_IN : 0;
    flags |= (events & UV_WRITABLE) ? CURL_CSELECT_OUT : 0;
    ev__action(ec, fd, flags);
    if (status < 0 && ev__lookup(ec, fd) == s && !s->parked && s->events == 0 &&
        !uv_is_closing((uv_handle_t *)&s->poll) && !uv_is_active((uv_handle_t *)&s->poll)) {
        /* curl still holds the socket and did not ask again: watch what it watched, so the
         * transfer is not left without a poll (it would then end only at its timeout). */
        if (uv_poll_start(&s->poll, watched, ev__poll_cb) == 0) {
            s->events = watched;
            ec->counts.polls_started++;
        }
    }
}

/* The record for a socket curl starts to watch. A record parked on this fd (a pooled connection
 * curl stopped watching between requests) is taken up again: libuv watches fd numbers, so this
 * is right even if the number now names another socket. */
static struct ev_sock *ev__sock_get(struct ev_curl *ec, curl_socket_t fd)
{
    struct ev_sock *s = ev__lookup(ec, fd);
    if (s != NULL) {
        if (uv_is_active((uv_handle_t *)&s->poll) && !s->parked) {
            ec->counts.stale_polls++; /* curl never said REMOVE: one poll per fd all the same */
            ev__sock_stop(s);
        }
        ec->counts.polls_reused++;
        return s;
    }
    if (ev__slot(ec, fd) != 0 || (s = calloc(1, sizeof(*s))) == NULL) {
        return NULL;
    }
    if (uv_poll_init_socket(ec->loop, &s->poll, fd) != 0) {
        free(s);
        return NULL;
    }
    s->ec = ec;
    s->fd = fd;
    ec->by_fd[fd] = s;
    ec->counts.polls_opened++;
    return s;
}

/* CURL_POLL_REMOVE parks the record (handle kept): curl says REMOVE for a pooled connection
 * after every request and asks for the same fd again with the next one. An owned socket's poll
 * even stays in epoll while parked, because uv_poll_stop and uv_poll_start each cost an
 * epoll_ctl (three per request in all); the next request's POLL_IN then costs no syscall. A
 * socket we did not open (curl's resolver socketpair) may be closed without telling us, and its
 * number reused, so its poll is stopped at once. The record is closed when curl closes the
 * socket (ev__closesocket_fn). */
static int ev__socket_fn(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct ev_curl *ec = userp;
    struct ev_sock *s = socketp;
    int events = 0;

    if (what == CURL_POLL_REMOVE) {
        if (s != NULL) {
            s->parked = true;
            if (!s->owned || !s->connected) {
                ev__sock_stop(s); /* it may be closed behind our back (struct ev_sock) */
            }
            curl_multi_assign(ec->multi, fd, NULL);
        }
        return 0;
    }
    if (s == NULL) {
        s = ev__sock_get(ec, fd);
        if (s == NULL) {
            return -1;
        }
        curl_multi_assign(ec->multi, fd, s);
    }
    s->parked = false;
    s->connected |= (what & CURL_POLL_IN) != 0;
    events |= (what & CURL_POLL_IN) ? UV_READABLE : 0;
    events |= (what & CURL_POLL_OUT) ? UV_WRITABLE : 0;
    if (events == s->events && uv_is_active((uv_handle_t *)&s->poll)) {
        return 0; /* already watching exactly this */
    }
    ec->counts.polls_started++;
    if (uv_poll_start(&s->poll, events, ev__poll_cb) != 0) {
        s->events = 0;
        return -1;
    }
    s->events = events;
    return 0;
}

void ev_curl_own_socket(struct ev_curl *ec, curl_socket_t fd)
{
    if (ec->conns != NULL && ++ec->conns->open > ec->conns->peak) {
        ec->conns->peak = ec->conns->open;
    }
    struct ev_sock *s = ev__sock_get(ec, fd);
    if (s != NULL) {
        ev__sock_stop(s); /* a record left on this number belonged to a socket now gone */
        s->owned = true;
        s->parked = false;
        s->connected = false;
    }
}

/* curl closes a socket: close its record first, so that epoll never holds a closed (and soon
 * reused) descriptor. A poll still active here means curl skipped REMOVE: counted as stale. */
static int ev__closesocket_fn(void *clientp, curl_socket_t fd)
{
    struct ev_curl *ec = clientp;
    struct ev_sock *s = ev__lookup(ec, fd);
    if (ec->conns != NULL) {
        ec->conns->open--; /* only connection sockets come here (CURLOPT_CLOSESOCKETFUNCTION) */
    }
    if (s != NULL) {
        if (uv_is_active((uv_handle_t *)&s->poll) && !s->parked) {
            ec->counts.stale_polls++;
            if (!ec->closing) {
                curl_multi_assign(ec->multi, fd, NULL); /* no dangling socketp in curl's hash */
            }
        }
        ev__sock_retire(ec, s);
    }
    return close(fd);
}

/* --- timeouts ----------------------------------------------------------------------------- */

static void ev__timer_cb(uv_timer_t *t)
{
    struct ev_curl *ec = t->data;
    ec->counts.timer_fires++;
    ev__action(ec, CURL_SOCKET_TIMEOUT, 0);
}

/* The deferred 0 ms timeout: one shot, on the loop pass after curl asked for it. */
static void ev__kick_cb(uv_idle_t *i)
{
    struct ev_curl *ec = i->data;
    uv_idle_stop(i);
    ec->zero_due = false;
    ec->counts.kicks++;
    ev__action(ec, CURL_SOCKET_TIMEOUT, 0);
}

static int ev__timer_fn(CURLM *multi, long timeout_ms, void *userp)
{
    struct ev_curl *ec = userp;

    ec->zero_due = timeout_ms == 0;
    if (timeout_ms < 0) {
        uv_timer_stop(&ec->timer);
        uv_idle_stop(&ec->kick);
    } else if (timeout_ms == 0) {
        /* "as soon as possible, but not from inside this callback": never round up to 1 ms.
         * Right after the current socket action if there is one (ev__action), else on the
         * next loop pass (the idle handle). */
        uv_timer_stop(&ec->timer);
        uv_idle_start(&ec->kick, ev__kick_cb);
    } else {
        uv_idle_stop(&ec->kick);
        uv_timer_start(&ec->timer, ev__timer_cb, (uint64_t)timeout_ms, 0);
    }
    return 0;
}

/* --- life cycle --------------------------------------------------------------------------- */

int ev_curl_init(struct ev_curl *ec, uv_loop_t *loop, ev_curl_done_cb cb, void *arg)
{
    memset(ec, 0, sizeof(*ec));
    ec->loop = loop;
    ec->done_cb = cb;
    ec->done_arg = arg;
    ec->multi = curl_multi_init();
    if (ec->multi == NULL) {
        return LL_ENOMEM;
    }
    /* Neither can fail on Unix (libuv returns 0 unconditionally). */
    uv_timer_init(loop, &ec->timer);
    uv_idle_init(loop, &ec->kick);
    ec->timer.data = ec;
    ec->kick.data = ec;
    curl_multi_setopt(ec->multi, CURLMOPT_SOCKETFUNCTION, ev__socket_fn);
    curl_multi_setopt(ec->multi, CURLMOPT_SOCKETDATA, ec);
    curl_multi_setopt(ec->multi, CURLMOPT_TIMERFUNCTION, ev__timer_fn);
    curl_multi_setopt(ec->multi, CURLMOPT_TIMERDATA, ec);
    return 0;
}

void ev_curl_prepare_easy(struct ev_curl *ec, CURL *easy)
{
    curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, ev__closesocket_fn);
    curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, ec);
}

int ev_curl_set_limit(struct ev_curl *ec, int limit, int cap)
{
    free(ec->waitq);
    ec->waitq = NULL;
    ec->limit = ec->waitq_cap = ec->waitq_head = ec->waitq_len = 0;
    if (limit <= 0 || cap <= limit) {
        return 0; /* never more transfers than the limit: nothing waits */
    }
    ec->waitq = calloc((size_t)cap, sizeof(*ec->waitq));
    if (ec->waitq == NULL) {
        return LL_ENOMEM;
    }
    ec->limit = limit;
    ec->waitq_cap = cap;
    return 0;
}

int ev_curl_add(struct ev_curl *ec, CURL *easy)
{
    if (ec->limit > 0 && ec->handles >= ec->limit) {
        if (ec->waitq_len == ec->waitq_cap) {
            return LL_ECURL; /* more transfers than the slots it was set up for */
        }
        ec->waitq[(ec->waitq_head + ec->waitq_len) % ec->waitq_cap] = easy;
        ec->waitq_len++;
        return 0;
    }
    if (curl_multi_add_handle(ec->multi, easy) != CURLM_OK) {
        return LL_ECURL;
    }
    ec->handles++;
    return 0;
}

int ev_curl_remove(struct ev_curl *ec, CURL *easy)
{
    for (int i = 0; i < ec->waitq_len; i++) { /* still waiting: it never reached curl */
        int at = (ec->waitq_head + i) % ec->waitq_cap;
        if (ec->waitq[at] == easy) {
            for (int j = i; j + 1 < ec->waitq_len; j++) {
                ec->waitq[(ec->waitq_head + j) % ec->waitq_cap] =
                    ec->waitq[(ec->waitq_head + j + 1) % ec->waitq_cap];
            }
            ec->waitq_len--;
            return 0;
        }
    }
    if (curl_multi_remove_handle(ec->multi, easy) != CURLM_OK) {
        return LL_ECURL;
    }
    ec->handles--;
    ev__waitq_pump(ec);
    return 0;
}

void ev_curl_close(struct ev_curl *ec)
{
    ec->closing = 1;
    /* Closing the pooled connections may still report CURL_POLL_REMOVE: the loop is alive. */
    curl_multi_cleanup(ec->multi);
    ec->multi = NULL;
    for (size_t fd = 0; fd < ec->by_fd_cap; fd++) {
        if (ec->by_fd[fd] != NULL) {
            ev__sock_retire(ec, ec->by_fd[fd]);
        }
    }
    free(ec->by_fd);
    ec->by_fd = NULL;
    ec->by_fd_cap = 0;
    free(ec->waitq);
    ec->waitq = NULL;
    ec->waitq_len = ec->waitq_cap = 0;
    uv_close((uv_handle_t *)&ec->timer, NULL);
    uv_close((uv_handle_t *)&ec->kick, NULL);
}
