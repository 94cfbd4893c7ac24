/* ll_backend.h - the one contract between the workload code and a client backend.
 *
 * A backend is one `const struct ll_backend` with designated initialisers (threaded/tp_backend.c,
 * evented/ev_backend.c). Nothing outside threaded/ and evented/ knows which one runs: the driver
 * picks it by name with ll_backend_find() and talks to it through ll_client (ll_client.h), which
 * builds submit-now-collect-later, wait, as-completed and gather on top of these operations.
 *
 * Every operation is called from one thread only: the thread that called create() (the
 * "client thread"). Backends never print and never exit.
 */
#ifndef LL_BACKEND_H
#define LL_BACKEND_H

#include <stdint.h>

#include "ll_call.h"
#include "ll_hist.h"
#include "ll_request.h"

struct ll_be; /* backend instance, opaque */

enum ll_backend_caps {
    LL_CAP_LOOP_LAG = 1u << 0,   /* reports loop lag and idle time */
    LL_CAP_BLOCKING = 1u << 1,   /* supports cfg->blocking (the seed's pitfall) */
    LL_CAP_STACK_SIZE = 1u << 2, /* honours cfg->stack_size */
    /* Calls in flight share connections (one multi handle multiplexes HTTP/2 streams, or
     * queues HTTP/1.1 requests for a pooled connection), so cfg->max_connections may be below
     * cfg->concurrency. Without it a backend needs a connection per call in flight. */
    LL_CAP_SHARED_CONNS = 1u << 3,
};

/* Figures only a backend can know, read after (or during) a run. */
struct ll_be_stats {
    int threads;              /* threads the backend runs, not counting the client thread */
    int64_t loop_idle_ns;     /* uv_metrics_idle_time; -1 when not applicable */
    struct ll_hist *loop_lag; /* lateness of a repeating probe timer; NULL when not applicable */
    uint64_t backoff_waits;   /* retry waits started */
    int64_t backoff_ns;       /* total time spent waiting to retry */
    const char *limit_hit;    /* NULL, or which local limit failed requests met:
                                 ll_limit_name(): "descriptors", "memory", "ports" */
    /* Backends with a loop (loop_idle_ns >= 0): the time the caller spent inside it while
     * requests were active, and its iterations then. With loop_idle_ns it splits the run's
     * wall into busy in the loop, idle in the loop, and outside it (the driver's own). */
    int64_t loop_run_ns;
    uint64_t loop_iterations;
    /* Connections (sockets curl opened for one) open now, and the most open at once since
     * create() or reset_stats(); -1 when the backend does not count them. */
    int64_t conns_open, conns_open_peak;
};

/* What a backend asks of the machine for cfg->concurrency calls in flight: estimates,
 * measured per call in flight, so that a concurrency the machine cannot give is refused before
 * create() starts anything (bench/cli/ll_limits.h). */
struct ll_be_needs {
    int64_t threads;     /* threads create() starts */
    int64_t descriptors; /* descriptors held with every call in flight */
    int64_t bytes;       /* resident memory with every call in flight */
    size_t stack_size;   /* address space reserved per thread, 0 = the pthread default */
};

struct ll_backend {
    const char *name;  /* "threaded", "evented" */
    const char *descr; /* one line for --help and the run header */
    unsigned caps;     /* enum ll_backend_caps */

    /* Start the backend (threads, loop, multi handle). cfg outlives the instance.
     * 0 or LL_E* (e.g. LL_ELIMIT when the threads cannot be created). */
    int (*create)(const struct ll_config *cfg, struct ll_be **out);

    /* Take ownership of a rendered call and start it as soon as the in-flight limit allows.
     * Never blocks on I/O. 0 or LL_E* (the call is then still the caller's). */
    int (*submit)(struct ll_be *be, struct ll_call *call);

    /* Make progress until at least one call is final or timeout_ns passes (0: do not block;
     * < 0: no limit, but return at once when nothing is outstanding). Finished calls are
     * appended, in the order they finished, to the list at *done (linked through ->next; the
     * caller initialises *done to NULL). Returns how many were appended, or LL_E*.
     * The evented backend runs its loop here; the threaded backend waits on a condition
     * variable (never busy-waits). */
    int (*poll)(struct ll_be *be, int64_t timeout_ns, struct ll_call **done);

    /* Ask for a call to end as LL_CLASS_CANCELLED: queued calls at once, in-flight or
     * backing-off calls as soon as the backend can. The call still comes back through poll().
     * No effect on a call that is already final. */
    void (*cancel)(struct ll_be *be, struct ll_call *call);

    /* Optional (may be NULL: nothing asked): what cfg needs (struct ll_be_needs). Reads cfg
     * only; any thread, no instance needed. */
    void (*needs)(const struct ll_config *cfg, struct ll_be_needs *out);

    /* Optional (may be NULL): backend-specific figures. Pointers stay valid until destroy. */
    void (*sample)(struct ll_be *be, struct ll_be_stats *out);

    /* Optional (may be NULL: sample() has nothing cumulative): start sample()'s figures afresh
     * -- counters, times, the loop-lag histogram, limit_hit -- so that they describe only what
     * follows, e.g. a measured run after its warm-up. Outstanding calls are not touched. */
    void (*reset_stats)(struct ll_be *be);

    /* Stop: cancels whatever is outstanding, joins threads / closes the loop, frees everything.
     * Calls not yet returned by poll() are freed with ll_call_free(). */
    void (*destroy)(struct ll_be *be);
};

/* The table of backends (common/ll_backend.c). NULL when the name is unknown. */
const struct ll_backend *ll_backend_find(const char *name);
/* NULL-terminated list, for --help. */
const struct ll_backend *const *ll_backend_list(void);

/* be->needs(cfg), or all zero when the backend has none. */
void ll_backend_needs(const struct ll_backend *be, const struct ll_config *cfg,
                      struct ll_be_needs *out);

#endif
