/* ev_probe.c - loop lag from the edges of the loop's iterations (see ev_probe.h). */
#include "ev_probe.h"

#include <string.h>

#include "ll_clock.h"

static bool ev__sampling(const struct ev_probe *p)
{
    return p->on && p->inside;
}

/* Every sample due by `now` while the loop ran callbacks: late by now - due. */
static void ev__busy_until(struct ev_probe *p, int64_t now)
{
    while (p->due <= now) {
        ll_hist_record(&p->lag, now - p->due);
        p->due += EV_PROBE_PERIOD_NS;
    }
}

/* Just before the loop blocks: the stretch of callbacks since poll returned ends here. */
static void ev__prepare_cb(uv_prepare_t *h)
{
    struct ev_probe *p = h->data;
    if (!ev__sampling(p)) {
        return;
    }
    int64_t now = ll_now_ns();
    ev__busy_until(p, now);
    p->t_prep = now;
    p->idle_mark = uv_metrics_idle_time(p->loop);
    p->iterations++;
}

/* Credit the time the loop spent blocked in poll since the last prepare: poll returned at
 * t_prep + the idle time libuv added since then, and every sample due while it was blocked
 * would have run at once (lag 0). Idempotent: the marks move to what was credited, so the check
 * handle and a stop in the same iteration never credit one wait twice. */
static void ev__credit_idle(struct ev_probe *p)
{
    if (p->t_prep == 0) {
        return; /* sampling resumed after this iteration's poll: nothing of it is ours */
    }
    uint64_t idle = uv_metrics_idle_time(p->loop);
    int64_t ret = p->t_prep + (int64_t)(idle - p->idle_mark);
    if (p->due <= ret) {
        uint64_t n = (uint64_t)((ret - p->due) / EV_PROBE_PERIOD_NS) + 1;
        ll_hist_record_n(&p->lag, 0, n);
        p->due += (int64_t)n * EV_PROBE_PERIOD_NS;
    }
    p->t_prep = ret;
    p->idle_mark = idle;
}

/* Just after poll and its I/O callbacks. */
static void ev__check_cb(uv_check_t *h)
{
    struct ev_probe *p = h->data;
    if (ev__sampling(p)) {
        ev__credit_idle(p);
    }
}

/* Sampling starts or stops at `now`: the schedule stands still while it is stopped. */
static void ev__update(struct ev_probe *p, bool was)
{
    bool is = ev__sampling(p);
    int64_t now = ll_now_ns();
    if (was && !is) {
        /* A stop inside an I/O callback comes after this iteration's poll but before the check
         * handle: the wait in poll is idle, not lag (uncredited, every sample due while the loop
         * slept in poll was recorded as late by up to the whole wait). libuv has already added
         * that wait to its idle time when the first I/O callback runs. */
        ev__credit_idle(p);
        ev__busy_until(p, now); /* a stall right before the stop (a blocking call) counts */
        p->run_ns += now - p->entered;
        p->paused = now;
    } else if (!was && is) {
        p->due = p->paused > 0 ? p->due + (now - p->paused) : now + EV_PROBE_PERIOD_NS;
        p->entered = now;
        p->t_prep = 0;
    }
}

void ev_probe_init(struct ev_probe *p, uv_loop_t *loop)
{
    memset(p, 0, sizeof(*p));
    p->loop = loop;
    ll_hist_init(&p->lag);
    uv_prepare_init(loop, &p->prepare);
    uv_check_init(loop, &p->check);
    p->prepare.data = p->check.data = p;
    uv_prepare_start(&p->prepare, ev__prepare_cb);
    uv_check_start(&p->check, ev__check_cb);
    uv_unref((uv_handle_t *)&p->prepare);
    uv_unref((uv_handle_t *)&p->check);
}

void ev_probe_active(struct ev_probe *p, bool on)
{
    bool was = ev__sampling(p);
    p->on = on;
    ev__update(p, was);
}

void ev_probe_reset(struct ev_probe *p)
{
    ll_hist_init(&p->lag);
    p->run_ns = 0;
    p->iterations = 0;
    if (ev__sampling(p)) {
        p->entered = ll_now_ns(); /* the stretch under way counts from now */
    }
}

void ev_probe_inside(struct ev_probe *p, bool inside)
{
    bool was = ev__sampling(p);
    p->inside = inside;
    ev__update(p, was);
}
