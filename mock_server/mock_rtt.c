/* mock_rtt.c - the round-trip delay line (mock_rtt.h). */
#include "mock_rtt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

/* Items due this close to now go at once: less than a wake-up would cost. */
#define DUE_SLACK_NS 20000

static void arm(struct mock_rtt *r)
{
    int64_t due = 0;
    for (int q = 0; q < 2; q++) {
        if (r->head[q] != NULL && (due == 0 || r->head[q]->due_ns < due)) {
            due = r->head[q]->due_ns;
        }
    }
    if (due == r->armed_ns) {
        return;
    }
    /* uv_hrtime is CLOCK_MONOTONIC: an absolute expiry on the same clock. */
    struct itimerspec its = {{0, 0}, {(time_t)(due / 1000000000), (long)(due % 1000000000)}};
    timerfd_settime(r->tfd, TFD_TIMER_ABSTIME, &its, NULL); /* 0: disarm */
    r->armed_ns = due;
}

/* The earliest due item of both queues, taken off its queue, if due by `now`. */
static struct mock_rtt_item *pop_due(struct mock_rtt *r, int64_t now)
{
    int q = r->head[0] == NULL                                               ? 1
            : r->head[1] == NULL || r->head[0]->due_ns <= r->head[1]->due_ns ? 0
                                                                             : 1;
    struct mock_rtt_item *it = r->head[q];
    if (it == NULL || it->due_ns > now + DUE_SLACK_NS) {
        return NULL;
    }
    r->head[q] = it->next;
    if (r->head[q] == NULL) {
        r->tail[q] = NULL;
    }
    return it;
}

static void expired_cb(uv_poll_t *p, int status, int events)
{
    struct mock_rtt *r = p->data;
    uint64_t n;
    ssize_t k = read(r->tfd, &n, sizeof(n)); /* EAGAIN when re-armed meanwhile: fine */
    (void)k;
    r->armed_ns = -1; /* expired: arm() sets it again */
    struct mock_rtt_item *it;
    while (r->open && (it = pop_due(r, (int64_t)uv_hrtime())) != NULL) {
        r->deliver(it, false);
        free(it);
    }
    if (r->open) {
        arm(r);
    }
}

int mock_rtt_init(struct mock_rtt *r, uv_loop_t *loop, double rtt_ms,
                  void (*deliver)(struct mock_rtt_item *it, bool dropped))
{
    memset(r, 0, sizeof(*r));
    r->half_ns = (int64_t)(rtt_ms * 1e6) / 2;
    r->first_ns = 3 * r->half_ns;
    r->deliver = deliver;
    r->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (r->tfd < 0) {
        return -1;
    }
    if (uv_poll_init(loop, &r->poll, r->tfd) != 0 ||
        uv_poll_start(&r->poll, UV_READABLE, expired_cb) != 0) {
        close(r->tfd);
        errno = ENOMEM;
        return -1;
    }
    r->poll.data = r;
    r->open = true;
    return 0;
}

int mock_rtt_push(struct mock_rtt *r, bool first, void *owner, int kind, const char *p, size_t n)
{
    struct mock_rtt_item *it = r->open ? malloc(sizeof(*it) + n) : NULL;
    if (it == NULL) {
        return -1;
    }
    int q = first ? 1 : 0;
    it->next = NULL;
    it->due_ns = (int64_t)uv_hrtime() + (first ? r->first_ns : r->half_ns);
    it->owner = owner;
    it->kind = kind;
    it->len = n;
    if (n > 0) {
        memcpy(it->data, p, n);
    }
    if (r->tail[q] != NULL) {
        r->tail[q]->next = it;
    } else {
        r->head[q] = it;
    }
    r->tail[q] = it;
    if (r->armed_ns <= 0 || it->due_ns < r->armed_ns) {
        arm(r);
    }
    return 0;
}

static void poll_closed_cb(uv_handle_t *h)
{
    struct mock_rtt *r = h->data;
    close(r->tfd);
    r->tfd = -1;
}

void mock_rtt_close(struct mock_rtt *r)
{
    if (!r->open) {
        return;
    }
    r->open = false;
    for (int q = 0; q < 2; q++) {
        while (r->head[q] != NULL) {
            struct mock_rtt_item *it = r->head[q];
            r->head[q] = it->next;
            r->deliver(it, true);
            free(it);
        }
        r->tail[q] = NULL;
    }
    uv_close((uv_handle_t *)&r->poll, poll_closed_cb);
}
