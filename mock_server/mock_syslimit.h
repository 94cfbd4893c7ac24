/* mock_syslimit.h - which limit of the machine a failed thread start met, named from evidence:
 * the limits themselves (getrlimit, /proc/sys, the cgroup's pids.max) set against what is in
 * use now (/proc), so that "EAGAIN" becomes "RLIMIT_NPROC 4096: 4096 tasks of this user".
 * The counters and the judgement are the client's (common/ll_sys.h, ll_thread_counts_read).
 *
 * Called only when pthread_create has failed, and it reads /proc (tens of ms with thousands of
 * threads): the caller limits how often. Any thread; no state of its own. */
#ifndef MOCK_SYSLIMIT_H
#define MOCK_SYSLIMIT_H

#include <stddef.h>

struct mock_syslimit {
    char name[32];    /* "RLIMIT_AS", "RLIMIT_NPROC", "kernel.threads-max", "kernel.pid_max",
                         "vm.max_map_count", "cgroup pids.max", "memory", or "unknown" */
    char detail[256]; /* the name with its figures, one line */
};

/* pthread_create failed with err (EAGAIN, ENOMEM, EPERM, ...) for a thread of stack_bytes;
 * `threads` serving threads of this process were running. Fills out with the first limit whose
 * figures show it met (or within a few tasks of it: LL_THREAD_WALL_NEAR), else "unknown" with
 * the figures read. */
void mock_syslimit_thread(int err, size_t stack_bytes, long threads, struct mock_syslimit *out);

struct ll_thread_counts; /* ll_sys.h */

/* The wording alone: out from counters already read and judged (c->wall). Pure. */
void mock_syslimit_name(const struct ll_thread_counts *c, long threads, struct mock_syslimit *out);

#endif
