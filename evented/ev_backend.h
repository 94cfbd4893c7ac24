/* ev_backend.h - the evented backend: one thread, one libuv loop, curl multi handles on it.
 *
 * The instance is `ev_backend` (ll_backend.h); this header only states how it keeps the
 * contract and what tests may look at.
 *
 * - Thread: every operation runs on the client thread, and so does the loop: poll() runs it,
 *   nothing else does. submit() only queues (and adds an easy handle to the multi when one is
 *   free), so no I/O happens until poll().
 * - poll(): returns at once when nothing is outstanding and nothing is final; otherwise runs
 *   uv_run(UV_RUN_ONCE) until a call is final or the timeout (a uv_timer, so whole ms, rounded
 *   up) passes.
 * - In-flight limit: cfg->concurrency easy handles ("slots") are created up front and reused
 *   call after call, so their connections stay in the pool (no per-host limit). Up to 128
 *   slots share one multi handle and its pool; more slots get more multi handles on the same
 *   loop, 128 each (curl 7.88's search for an idle connection walks the whole pool; see
 *   EV_SLOTS_PER_MULTI). Calls beyond the limit wait in a FIFO.
 * - Connections (cfg->max_connections): the cap is shared out among the multi handles (as
 *   many as the cap, down to 32 slots each; EV_CAPPED_MIN_SLOTS says why), each may open its share
 *   (CURLMOPT_MAX_TOTAL_CONNECTIONS) and carry on each as many HTTP/2 streams as the server
 *   allows; a transfer beyond waits in curl's pending list for a connection or a stream.
 *   Connection sockets open and their peak are counted (ll_be_stats.conns_open*).
 * - Retry: a call keeps its slot while it waits to retry, like the seed's semaphore held across
 *   asyncio.sleep and like a threaded worker sleeping: at most `concurrency` logical requests
 *   are started-but-unfinished, and the server never sees more than `concurrency` in flight.
 *   The wait itself is a uv_timer per slot, so the loop serves the other slots meanwhile.
 * - Cancel: a queued call ends at once; a call in the multi is removed from it and ended
 *   through ll_xfer_end() (so the attempt is recorded); a call waiting to retry has its timer
 *   stopped. In every case the slot goes to the next queued call and the call comes back
 *   through poll().
 * - Loop lag: a 10 ms one-shot probe timer, re-armed on every tick, records how late it fired;
 *   it runs only while calls are outstanding (time the client spends between two poll() calls
 *   with work outstanding is loop lag: nothing services the loop then) and is unreferenced, so
 *   it never keeps the loop alive. loop_idle_ns comes from uv_metrics_idle_time().
 * - cfg->blocking (the seed's pitfall): calls are run one at a time by curl_easy_perform()
 *   inside a uv_idle callback, retry waits included (nanosleep), so the loop stalls for a whole
 *   request and the lag probe shows it. concurrency is then irrelevant.
 */
#ifndef EV_BACKEND_H
#define EV_BACKEND_H

#include <stdint.h>

#include "ll_backend.h"

extern const struct ll_backend ev_backend;

/* What the last destroy() saw, for tests (written by destroy, read by the caller afterwards;
 * not thread-safe, like everything else here). */
struct ev_destroy_report {
    int loop_close_rc;     /* uv_loop_close() result at the end: 0 = closed cleanly */
    int loop_runs;         /* uv_run passes needed to finish the closing callbacks */
    uint64_t polls_opened; /* socket records created over the instance's life */
    uint64_t polls_freed;  /* socket records freed: equal to polls_opened when nothing leaked */
    uint64_t kicks;        /* 0 ms timeouts run from the idle handle (never rounded to 1 ms) */
    uint64_t timer_fires;  /* curl timeouts > 0 ms */
    uint64_t stale_polls;  /* records retired by the fd-reuse guard */
    uint64_t calls_freed;  /* calls never handed back by poll(), freed with ll_call_free */
};
extern struct ev_destroy_report ev_last_destroy;

#endif
