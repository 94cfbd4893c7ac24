/* ll_limits.h - the walls a run can meet, measured and, where the system allows, moved; a
 * concurrency the machine cannot give is refused before anything starts.
 *
 * `llmload run` raises RLIMIT_NOFILE's soft limit to the hard one before it starts anything
 * (the embedded mock inherits it too), prints both in the run header, and when a backend
 * cannot start its threads says what bounds them: RLIMIT_NPROC, kernel.threads-max,
 * kernel.pid_max, the threads this process already runs, the stack each thread reserves and
 * the memory available. Linux /proc; a figure that cannot be read prints as "?".
 * Called from the main thread before any backend starts.
 */
#ifndef LL_LIMITS_H
#define LL_LIMITS_H

#include <stddef.h>
#include <stdint.h>

#include "ll_backend.h"

/* RLIMIT_NOFILE figures; -1 = unlimited. */
struct ll_nofile {
    int64_t soft_before; /* the soft limit we were started with */
    int64_t soft, hard;  /* after the raise */
    int err;             /* errno of a refused setrlimit, 0 when raised or nothing to raise */
};

/* Raise the soft limit to the hard one. Never fails: a refusal is recorded in out->err and the
 * run goes on with the limit it had. */
void ll_limits_raise_nofile(struct ll_nofile *out);

/* One line of what bounds `wanted` threads, e.g. "RLIMIT_NPROC soft 62000 hard 62000,
 * threads-max 126000, pid_max 4194304, 1 thread in this process, stack 8192 KiB per thread
 * (default), 16000 MiB of stacks for 2000, MemAvailable 12000 MiB, RLIMIT_AS 976 MiB" (RLIMIT_AS
 * only when finite; RLIMIT_NPROC flagged when running as root, which it does not bind).
 * stack_size 0 = the pthread default. snprintf's contract and return. */
int ll_limits_threads_describe(char *buf, size_t n, size_t stack_size, int wanted);

/* Can the machine give cfg->concurrency calls in flight on `be`? The backend's needs
 * (ll_backend_needs) are compared with RLIMIT_NOFILE (descriptors already open counted); for
 * its threads with RLIMIT_NPROC (not for root), kernel.threads-max and kernel.pid_max (tasks
 * already running counted) and a finite RLIMIT_AS (their stacks); for memory with MemAvailable.
 * 0, or LL_ELIMIT after one line on stderr, prefixed by `who`, that names the limit, what is
 * needed and what is allowed:
 *     "llmload run: local limit met: descriptors (--concurrency 200 on the threaded backend
 *      needs about 632 descriptors; RLIMIT_NOFILE soft 64 hard 64 allows 64: raise it with
 *      ulimit -n, or lower --concurrency)"
 * Main thread, before the client starts (and before the mock, so nothing is started). */
int ll_limits_check(const char *who, const struct ll_backend *be, const struct ll_config *cfg);

#endif
