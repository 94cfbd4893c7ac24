/* mock_syslimit.c - naming the limit a failed thread start met (mock_syslimit.h). The counters
 * and the judgement of which one is met are the client's too (common/ll_sys.h); what is here is
 * how mockllm says it: the limit's full name for the /metrics label, and a line of figures. */
#include "mock_syslimit.h"

#include <stdio.h>

#include "ll_sys.h"

/* The line for the wall met: its figures, then the serving threads of this server. */
static void figures(char *buf, size_t n, const struct ll_thread_counts *c, long threads)
{
    long long mib = (long long)(c->stack_kb >> 10); /* a stack */
    switch (c->wall) {
    case LL_TW_CGROUP_PIDS:
        snprintf(buf, n, "%lld: %lld tasks in the cgroup (%ld serving threads here)",
                 (long long)c->pids_max, (long long)c->pids_current, threads);
        break;
    case LL_TW_NPROC:
        snprintf(buf, n, "%lld: %lld tasks of this user (%ld serving threads here)",
                 (long long)c->nproc, (long long)c->user_tasks, threads);
        break;
    case LL_TW_THREADS_MAX:
    case LL_TW_PID_MAX:
        snprintf(buf, n, "%lld: %lld tasks on the system (%ld here)",
                 (long long)(c->wall == LL_TW_PID_MAX ? c->pid_max : c->threads_max),
                 (long long)c->sys_tasks, threads);
        break;
    case LL_TW_MAP_COUNT:
        snprintf(buf, n, "%lld: %lld mappings (%ld serving threads, 2 each)",
                 (long long)c->max_map_count, (long long)c->maps, threads);
        break;
    case LL_TW_ADDRESS_SPACE:
        snprintf(buf, n, "%lld MiB: %lld MiB mapped, a thread's stack needs %lld MiB more",
                 (long long)(c->as_kb >> 10), (long long)(c->vm_kb >> 10), mib);
        break;
    case LL_TW_MEMORY:
        if (ll_thread_counts_commit_met(c)) {
            snprintf(buf, n,
                     "(vm.overcommit_memory 2): CommitLimit %lld MiB, committed %lld MiB, "
                     "a stack needs %lld MiB",
                     (long long)(c->commit_limit_kb >> 10), (long long)(c->committed_kb >> 10),
                     mib);
        } else {
            snprintf(buf, n, "%lld MiB available, a stack needs %lld MiB (%ld threads here)",
                     (long long)(c->mem_avail_kb >> 10), mib, threads);
        }
        break;
    default:
        snprintf(buf, n,
                 "(none met by the figures read: %ld serving threads, %lld tasks on the system, "
                 "RLIMIT_NPROC %lld, %lld mappings, errno %d)",
                 threads, (long long)c->sys_tasks, (long long)c->nproc, (long long)c->maps, c->err);
        break;
    }
}

void mock_syslimit_name(const struct ll_thread_counts *c, long threads, struct mock_syslimit *out)
{
    char line[200];
    figures(line, sizeof(line), c, threads);
    snprintf(out->name, sizeof(out->name), "%s", ll_thread_wall_limit(c->wall));
    snprintf(out->detail, sizeof(out->detail), "%s %s", out->name, line);
}

void mock_syslimit_thread(int err, size_t stack_bytes, long threads, struct mock_syslimit *out)
{
    struct ll_thread_counts c;
    ll_thread_counts_read(&c, err, stack_bytes);
    mock_syslimit_name(&c, threads, out);
}
