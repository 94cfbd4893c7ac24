/* tp_pool.h - the threaded backend's engine: N worker threads, one FIFO work queue, one
 * completion list.
 *
 * Each worker owns one libcurl easy handle for its whole life, so its connection is reused from
 * one request to the next (libcurl does not let concurrent threads share connections); a share
 * handle common to the pool carries the DNS cache and TLS sessions. A worker runs one call at a
 * time: ll_xfer_begin, curl_easy_perform, ll_xfer_end, and between retries it sleeps while still
 * holding its slot, as the seed's semaphore does. The pool size is therefore the in-flight limit.
 *
 * Threads: every function here is called from the thread that created the pool (the client
 * thread). Calls are handed over under the pool mutex; the only field read concurrently is
 * call->cancel (atomic).
 *
 * Thread limit: create() either starts all cfg->concurrency threads or none. When
 * pthread_create fails partway (EAGAIN: thread or memory limit) the threads already started are
 * joined and create() returns LL_ELIMIT: a run silently made with fewer threads than asked would
 * measure a different in-flight limit than the one printed in its header. With
 * cfg->thread_wall set, the limits' counters are read first, while the threads still run
 * (ll_proc.h), so the wall is named from what was at its limit.
 *
 * Cancel latency: a queued call ends at once (inside cancel()); a call sleeping before a retry is
 * woken at once; a call inside curl_easy_perform ends when ll_xfer's progress callback next runs,
 * which is on every chunk received and about once a second while the connection is silent.
 */
#ifndef TP_POOL_H
#define TP_POOL_H

#include <stdint.h>

#include "ll_backend.h"
#include "ll_call.h"
#include "ll_request.h"

struct tp_pool;

/* Start cfg->concurrency workers (stack cfg->stack_size bytes when non-zero). cfg must outlive
 * the pool. Returns 0, LL_EINVAL (concurrency < 1, or a stack size below PTHREAD_STACK_MIN),
 * LL_ENOMEM, LL_ECURL (easy or share handle), LL_ELIMIT (the threads could not all be created;
 * none is left running), or LL_ESYS. */
int tp_pool_create(const struct ll_config *cfg, struct tp_pool **out);

/* Queue a call (FIFO); an idle worker is woken. The pool owns the call until poll returns it.
 * 0, or LL_ESTATE after destroy has begun (the call stays the caller's). Never blocks on I/O. */
int tp_pool_submit(struct tp_pool *p, struct ll_call *call);

/* Wait on the completion condition variable (CLOCK_MONOTONIC) until at least one call is final or
 * timeout_ns passes (0: do not block; < 0: no limit). Returns at once when nothing is
 * outstanding. Appends the finished calls, in finishing order, to the list at *done and returns
 * how many. */
int tp_pool_poll(struct tp_pool *p, int64_t timeout_ns, struct ll_call **done);

/* Queued: removed from the queue and finished CANCELLED at once. Running or backing off:
 * call->cancel is set and a sleeping worker is woken. Final or unknown: no effect. */
void tp_pool_cancel(struct tp_pool *p, struct ll_call *call);

/* Threads, retry waits and time spent in them, limit_hit, connection sockets open and their
 * peak. Safe while requests run. */
void tp_pool_sample(struct tp_pool *p, struct ll_be_stats *out);
/* Zero the backoff counters tp_pool_sample() sums and start the connection peak at the
 * connections open now (a measured run after a warm-up). */
void tp_pool_reset_stats(struct tp_pool *p);

/* Cancel everything outstanding, join every worker, free the calls poll never returned (with
 * ll_call_free), the easy handles and the share handle. */
void tp_pool_destroy(struct tp_pool *p);

#endif
