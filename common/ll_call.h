/* ll_call.h - one logical request from submit to final result: the object a backend works on.
 *
 * Ownership: the client layer (ll_client.c) allocates a call at submit and frees it in
 * ll_call_free(). A backend owns the call between backend->submit() and the moment it hands it
 * back through backend->poll(); it may link it through `next` and use `be_data` meanwhile.
 * Threads: a call is touched by one thread at a time; the hand-over through poll() is the
 * synchronisation point. Only `cancel` is read and written concurrently (atomic).
 */
#ifndef LL_CALL_H
#define LL_CALL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include "ll_request.h"
#include "ll_wire.h"

struct ll_call {
    uint64_t seq;         /* submission order, from 0 */
    struct ll_wire *wire; /* rendered body and headers, shared by equal requests (ll_wire.h) */
    const char *base_url; /* chosen at submit (rotation over cfg->base_urls) */
    bool stream;
    int64_t
        not_after; /* ll_request.not_after: withdrawn when its first attempt would start later */
    struct ll_result res;
    atomic_bool cancel;                /* set by the submitting thread; read by the backend */
    bool done;                         /* final; set by the client layer when poll returns it */
    bool collected;                    /* already returned by ll_client_wait/next */
    struct ll_call *next;              /* intrusive link, owned by whoever holds the call */
    void *be_data;                     /* backend private */
    struct ll_call *cl_prev, *cl_next; /* client layer (ll_client.c) lists; backends leave alone */
};

/* End a call without (more) wire attempts: cls is CANCELLED, RESOURCE, or the class of the
 * local failure; `why` becomes res.errmsg. Sets res.cls and res.t_end. Any thread. */
void ll_call_finish(struct ll_call *call, enum ll_class cls, const char *why);

/* Called by a backend right before it starts a call's FIRST attempt, at `now`: when the call
 * has a not_after deadline that has passed, it is withdrawn -- finished CANCELLED with no
 * attempt, "not sent: withdrawn at the deadline" -- and true is returned (the backend then
 * hands it back like any final call). Otherwise false and nothing changes. Any thread. A
 * CANCELLED call with res.attempts == 0 never went on the wire, whatever ended it. */
bool ll_call_withdraw_if_late(struct ll_call *call, int64_t now);

#endif
