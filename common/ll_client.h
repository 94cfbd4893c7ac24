/* ll_client.h - the workload-facing API, identical on every backend (the seed's AsyncClient +
 * create_task + gather + Semaphore, in C).
 *
 *   c = ll_client_create(backend, cfg)      one shared connection pool, in-flight limit, retry
 *   h = ll_client_submit(c, &req)           create_task: returns at once, starts when allowed
 *   ll_client_wait(c, h)                    await task: blocks until h is final
 *   ll_client_next(c, timeout)              as_completed: the next call to finish
 *   ll_client_gather(c, hs, n, mode)        gather: collect (return_exceptions=True) or fail-fast
 *   ll_client_progress(c, ns)               asyncio.sleep(): let requests progress for a while
 *
 * All functions are called from the thread that created the client.
 */
#ifndef LL_CLIENT_H
#define LL_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "ll_backend.h"
#include "ll_call.h"
#include "ll_request.h"

struct ll_client;

enum ll_gather_mode {
    LL_GATHER_COLLECT,   /* every slot ends with a result or an error */
    LL_GATHER_FAIL_FAST, /* the first failure cancels the rest (queued or in flight) */
};

/* cfg must outlive the client. 0 or LL_E*. */
int ll_client_create(const struct ll_backend *be, const struct ll_config *cfg,
                     struct ll_client **out);
/* Cancel what is outstanding, wait for it and free the calls the caller never received back;
 * calls already returned by wait/next/gather stay the caller's (ll_call_free). */
void ll_client_destroy(struct ll_client *c);

const struct ll_backend *ll_client_backend(const struct ll_client *c);

/* Render req into a call and hand it to the backend. *out is the handle, owned by the caller
 * once it is final and returned (wait/next/gather); free with ll_call_free(). 0 or LL_E*. */
int ll_client_submit(struct ll_client *c, const struct ll_request *req, struct ll_call **out);

/* Block until `call` is final. 0 or LL_E*. */
int ll_client_wait(struct ll_client *c, struct ll_call *call);

/* The next call to become final that no wait/next returned yet, or NULL on timeout
 * (timeout_ns < 0: no limit; NULL at once when nothing is outstanding). */
struct ll_call *ll_client_next(struct ll_client *c, int64_t timeout_ns);

/* The next call already final, without letting requests progress: NULL when none is ready.
 * Drains what one ll_client_next() brought in, so that a driver can refill the in-flight window
 * before it runs the backend again (draining with ll_client_next(c, 0) would keep running it
 * for as long as calls keep finishing). */
struct ll_call *ll_client_next_ready(struct ll_client *c);

/* Wait for every call in calls[0..n). FAIL_FAST: on the first call that ends with a class other
 * than NONE, cancel the others; they end CANCELLED unless they finished first. Returns 0 when
 * every call succeeded, otherwise the number of failed calls (> 0), or LL_E*. Results stay in
 * each call, so calls[i]->res is the i-th result in submission order. */
int ll_client_gather(struct ll_client *c, struct ll_call **calls, size_t n,
                     enum ll_gather_mode mode);

void ll_client_cancel(struct ll_client *c, struct ll_call *call);
/* Cancel every outstanding call. Queued calls end before their first attempt (CANCELLED with
 * res.attempts == 0: never sent), also those a cancelled call's freed slot would have started. */
void ll_client_cancel_all(struct ll_client *c);

/* Let outstanding requests progress for up to timeout_ns (returns early if nothing is
 * outstanding). Returns how many calls became final meanwhile. */
int ll_client_progress(struct ll_client *c, int64_t timeout_ns);

size_t ll_client_outstanding(const struct ll_client *c); /* submitted, not yet final */
void ll_client_sample(struct ll_client *c, struct ll_be_stats *out);
/* Start the backend's figures (ll_client_sample) afresh: what follows is measured alone. */
void ll_client_reset_stats(struct ll_client *c);

/* Free a final call and its result. NULL is fine. */
void ll_call_free(struct ll_call *call);

#endif
