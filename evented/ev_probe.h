/* ev_probe.h - the evented backend's loop figures: loop lag, time in the loop, iterations,
 * measured without ever waking the loop.
 *
 * Loop lag is how late the loop runs work that is due (a timer that expired, a socket that is
 * ready) because it was busy running other callbacks: time spent blocked in poll with nothing
 * ready is idle, never lag. A timer that
 * fires every few ms measures it, but wakes the loop each time: at one request in flight that
 * was most of the evented backend's CPU. Here a uv_prepare handle (just before the loop blocks
 * in poll) and a uv_check handle (just after poll and its I/O callbacks) see every iteration's
 * edges instead. A virtual probe is due every EV_PROBE_PERIOD_NS of loop time: one due while
 * the loop was blocked in poll would have run at once (lag 0); one due while the loop ran
 * callbacks runs when that stretch ends (lag = end - due). The wait in poll is credited from
 * libuv's idle time (UV_METRICS_IDLE_TIME) at the check handle, or earlier when sampling stops
 * inside an I/O callback of the same iteration. Time outside the loop (the caller's,
 * between polls) and time with no request active do not count: the schedule stands still.
 *
 * All calls on the loop's thread.
 */
#ifndef EV_PROBE_H
#define EV_PROBE_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "ll_hist.h"

#define EV_PROBE_PERIOD_NS (1000 * 1000LL) /* one virtual sample per ms of loop time */

struct ev_probe {
    uv_loop_t *loop;
    uv_prepare_t prepare;
    uv_check_t check;
    bool on;        /* requests are active */
    bool inside;    /* the loop is running (ev_probe_inside) */
    int64_t due;    /* the next virtual sample */
    int64_t paused; /* when sampling last stopped; 0 never */
    int64_t t_prep; /* the last prepare while sampling; 0 none since sampling resumed */
    uint64_t idle_mark;
    int64_t entered;     /* when sampling last started */
    int64_t run_ns;      /* time sampled: inside the loop with requests active */
    uint64_t iterations; /* loop iterations while sampling */
    struct ll_hist lag;
};

/* Set up on `loop` (unref'd: the probe never keeps the loop alive). The loop must be
 * configured with UV_METRICS_IDLE_TIME. Never fails on Unix. The handles close with the loop's
 * other handles (uv_walk at teardown). */
void ev_probe_init(struct ev_probe *p, uv_loop_t *loop);

/* Requests became active (true) or none is left (false). */
void ev_probe_active(struct ev_probe *p, bool on);

/* The loop is entered (true, before uv_run) or left (false, after it returns). */
void ev_probe_inside(struct ev_probe *p, bool inside);

/* Start the figures afresh (lag histogram, loop time, iterations; a measured run after its
 * warm-up): what was sampled so far is dropped, the schedule of virtual samples goes on. */
void ev_probe_reset(struct ev_probe *p);

#endif
