/* mock_syslimit.c - naming the limit a failed thread start met (mock_syslimit.h). Each check
 * sets a limit against its use now; the first that is met (or within a few tasks of it, since
 * other processes move while we read) names the failure. */
#include "mock_syslimit.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define NEAR_TASKS 4 /* "met" when use is within this of the limit */

static long read_long(const char *path)
{
    FILE *f = fopen(path, "r");
    long v = -1;
    if (f != NULL) {
        if (fscanf(f, "%ld", &v) != 1) {
            v = -1;
        }
        fclose(f);
    }
    return v;
}

/* A "Name:  value" line of a /proc status file, as a number (kB for the Vm* lines), or -1. For
 * "Uid:" the first (real) value. */
static long status_field(const char *path, const char *name)
{
    char line[256];
    size_t n = strlen(name);
    long v = -1;
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, name, n) == 0 && line[n] == ':') {
            v = strtol(line + n + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

static long count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    long n = 0;
    int ch;
    if (f == NULL) {
        return -1;
    }
    while ((ch = getc(f)) != EOF) {
        n += ch == '\n';
    }
    fclose(f);
    return n;
}

/* Tasks (threads) on the whole system: /proc/loadavg's "running/total". */
static long system_tasks(void)
{
    long run, total = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f != NULL) {
        if (fscanf(f, "%*f %*f %*f %ld/%ld", &run, &total) != 2) {
            total = -1;
        }
        fclose(f);
    }
    return total;
}

/* Tasks whose real user is ours: what RLIMIT_NPROC counts (threads included). */
static long user_tasks(void)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    long uid = (long)getuid(), n = 0;
    char path[64];
    if (d == NULL) {
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9') {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/%.20s/status", e->d_name);
        if (status_field(path, "Uid") == uid) {
            long t = status_field(path, "Threads");
            n += t > 0 ? t : 0;
        }
    }
    closedir(d);
    return n;
}

/* The cgroup's pids.max and pids.current (cgroup v2), or -1 when unlimited or unknown. */
static void cgroup_pids(long *max, long *cur)
{
    char line[512], path[700];
    *max = *cur = -1;
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (f == NULL) {
        return;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "0::", 3) == 0) {
            line[strcspn(line, "\n")] = '\0';
            snprintf(path, sizeof(path), "/sys/fs/cgroup%s/pids.max", line + 3);
            *max = read_long(path); /* "max" reads as -1 */
            snprintf(path, sizeof(path), "/sys/fs/cgroup%s/pids.current", line + 3);
            *cur = read_long(path);
        }
    }
    fclose(f);
}

static void name(struct mock_syslimit *out, const char *limit, const char *fmt, long a, long b,
                 long c)
{
    char figures[200];
    snprintf(figures, sizeof(figures), fmt, a, b, c);
    snprintf(out->name, sizeof(out->name), "%s", limit);
    snprintf(out->detail, sizeof(out->detail), "%s %s", limit, figures);
}

static long soft_limit(int resource)
{
    struct rlimit rl;
    if (getrlimit(resource, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) {
        return -1;
    }
    return rl.rlim_cur > (rlim_t)0x7fffffffffffffffLL ? -1 : (long)rl.rlim_cur;
}

/* The limits that count tasks: the cgroup's, the user's, the system's. true when one is met. */
static int task_limits(struct mock_syslimit *out, long threads)
{
    long max, cur;
    cgroup_pids(&max, &cur);
    if (max > 0 && cur >= max - NEAR_TASKS) {
        name(out, "cgroup pids.max", "%ld: %ld tasks in the cgroup (%ld serving threads here)", max,
             cur, threads);
        return 1;
    }
    long nproc = soft_limit(RLIMIT_NPROC), user = nproc > 0 ? user_tasks() : -1;
    if (nproc > 0 && user >= nproc - NEAR_TASKS) {
        name(out, "RLIMIT_NPROC", "%ld: %ld tasks of this user (%ld serving threads here)", nproc,
             user, threads);
        return 1;
    }
    long sys = system_tasks(), tmax = read_long("/proc/sys/kernel/threads-max");
    if (tmax > 0 && sys >= tmax - NEAR_TASKS) {
        name(out, "kernel.threads-max", "%ld: %ld tasks on the system (%ld here)", tmax, sys,
             threads);
        return 1;
    }
    long pmax = read_long("/proc/sys/kernel/pid_max");
    /* pids below 300 are reserved: the space is used up a little before pid_max tasks */
    if (pmax > 0 && sys >= pmax - 300 - NEAR_TASKS) {
        name(out, "kernel.pid_max", "%ld: %ld tasks on the system (%ld here)", pmax, sys, threads);
        return 1;
    }
    return 0;
}

/* The limits on this process's address space and memory. true when one is met. */
static int memory_limits(struct mock_syslimit *out, size_t stack_bytes, long threads)
{
    long as = soft_limit(RLIMIT_AS), vm_kb = status_field("/proc/self/status", "VmSize");
    long stack_mib = (long)(stack_bytes >> 20);
    if (as > 0 && vm_kb >= 0 && vm_kb * 1024 + (long)stack_bytes > as) {
        name(out, "RLIMIT_AS", "%ld MiB: %ld MiB mapped, a thread's stack needs %ld MiB more",
             as >> 20, vm_kb >> 10, stack_mib);
        return 1;
    }
    long maps = count_lines("/proc/self/maps");
    long mmax = read_long("/proc/sys/vm/max_map_count");
    if (mmax > 0 && maps >= mmax - NEAR_TASKS) {
        name(out, "vm.max_map_count", "%ld: %ld mappings (%ld serving threads, 2 each)", mmax, maps,
             threads);
        return 1;
    }
    long avail = status_field("/proc/meminfo", "MemAvailable");
    long commit = status_field("/proc/meminfo", "Committed_AS");
    long climit = status_field("/proc/meminfo", "CommitLimit");
    if (read_long("/proc/sys/vm/overcommit_memory") == 2 && climit > 0 &&
        commit + (long)(stack_bytes >> 10) > climit) {
        name(out, "memory",
             "(vm.overcommit_memory 2): CommitLimit %ld MiB, committed %ld MiB, "
             "a stack needs %ld MiB",
             climit >> 10, commit >> 10, stack_mib);
        return 1;
    }
    if (avail >= 0 && avail < (long)(stack_bytes >> 10) * 2) {
        name(out, "memory", "%ld MiB available, a stack needs %ld MiB (%ld threads here)",
             avail >> 10, stack_mib, threads);
        return 1;
    }
    return 0;
}

void mock_syslimit_thread(int err, size_t stack_bytes, long threads, struct mock_syslimit *out)
{
    if (memory_limits(out, stack_bytes, threads) || task_limits(out, threads)) {
        return;
    }
    char figures[200];
    snprintf(figures, sizeof(figures),
             "none met by the figures read: %ld serving threads, %ld tasks on the system, "
             "RLIMIT_NPROC %ld, %ld mappings, errno %d",
             threads, system_tasks(), soft_limit(RLIMIT_NPROC), count_lines("/proc/self/maps"),
             err);
    snprintf(out->name, sizeof(out->name), "unknown");
    snprintf(out->detail, sizeof(out->detail), "unknown (%s)", figures);
}
