/* ll_sys.c - /proc, /sys and resource-limit readers, and thread walls (ll_sys.h). */
#include "ll_sys.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* ---- file readers ---- */

int ll_sys_read_num(const char *path, int64_t *out)
{
    FILE *f = fopen(path, "r");
    long long v;
    *out = -1;
    if (f == NULL) {
        return LL_ENOENT;
    }
    int n = fscanf(f, "%lld", &v);
    fclose(f);
    if (n != 1) {
        return LL_EINVAL; /* "max", an empty file */
    }
    *out = (int64_t)v;
    return 0;
}

int ll_sys_read_key(const char *path, const char *key, int64_t *out)
{
    FILE *f = fopen(path, "r");
    char line[256];
    size_t klen = strlen(key);
    int rc = LL_EINVAL;
    *out = -1;
    klen -= klen > 0 && key[klen - 1] == ':'; /* "Threads:" as "Threads" */
    if (f == NULL) {
        return LL_ENOENT;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            char *end;
            long long v = strtoll(line + klen + 1, &end, 10);
            if (end != line + klen + 1) {
                *out = (int64_t)v;
                rc = 0;
            }
            break; /* the first line with the key is the one */
        }
    }
    fclose(f);
    return rc;
}

int ll_sys_count_lines(const char *path, int64_t *out)
{
    FILE *f = fopen(path, "r");
    int64_t n = 0;
    int ch;
    *out = -1;
    if (f == NULL) {
        return LL_ENOENT;
    }
    while ((ch = getc(f)) != EOF) {
        n += ch == '\n';
    }
    fclose(f);
    *out = n;
    return 0;
}

/* ---- the system's counts ---- */

int ll_sys__tasks_at(const char *loadavg, int64_t *out)
{
    long long run, total;
    FILE *f = fopen(loadavg, "r"); /* "0.00 0.01 0.05 1/123 4567" */
    *out = -1;
    if (f == NULL) {
        return LL_ENOENT;
    }
    int n = fscanf(f, "%*s %*s %*s %lld/%lld", &run, &total);
    fclose(f);
    if (n != 2) {
        return LL_EINVAL;
    }
    *out = (int64_t)total;
    return 0;
}

int ll_sys_tasks(int64_t *out)
{
    return ll_sys__tasks_at("/proc/loadavg", out);
}

/* Threads of one process when its real uid is `uid`, else 0: "Uid:" comes before "Threads:". */
static int64_t tasks_of(const char *proc, const char *pid, unsigned uid)
{
    char path[512], line[128];
    snprintf(path, sizeof(path), "%s/%s/status", proc, pid);
    FILE *f = fopen(path, "r");
    unsigned ruid = ~0u;
    long threads = 0;
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "Uid: %u", &ruid) == 1 && ruid != uid) {
            break;
        }
        sscanf(line, "Threads: %ld", &threads);
    }
    if (f != NULL) {
        fclose(f);
    }
    return ruid == uid && threads > 0 ? threads : 0;
}

int ll_sys__user_tasks_at(const char *proc, unsigned uid, int64_t *out)
{
    DIR *d = opendir(proc);
    int64_t n = 0;
    *out = -1;
    if (d == NULL) {
        return LL_ENOENT;
    }
    for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
        if (isdigit((unsigned char)e->d_name[0])) {
            n += tasks_of(proc, e->d_name, uid);
        }
    }
    closedir(d);
    *out = n;
    return 0;
}

int ll_sys_user_tasks(int64_t *out)
{
    return ll_sys__user_tasks_at("/proc", (unsigned)getuid(), out);
}

int ll_sys_rlimit(int resource, int64_t *soft, int64_t *hard)
{
    struct rlimit rl;
    int64_t s = -1, h = -1;
    int rc = getrlimit(resource, &rl) == 0 ? 0 : LL_EINVAL;
    if (rc == 0) {
        s = rl.rlim_cur == RLIM_INFINITY ? -1 : (int64_t)rl.rlim_cur;
        h = rl.rlim_max == RLIM_INFINITY ? -1 : (int64_t)rl.rlim_max;
    }
    if (soft != NULL) {
        *soft = s;
    }
    if (hard != NULL) {
        *hard = h;
    }
    return rc;
}

/* From a /proc/self/cgroup text: the pids hierarchy's root under `sysfs` (root, n bytes) and
 * our directory under it (dir), or false. */
static bool cgroup_pids_dir(const char *cgroup_file, const char *sysfs, char *root, char *dir,
                            size_t n)
{
    char line[512], rel[512] = "", probe[300];
    FILE *f = fopen(cgroup_file, "r");
    root[0] = '\0';
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (c2 == NULL) {
            continue;
        }
        *c2 = '\0';
        char *ctl = c1 + 1;
        if (strstr(ctl, "pids") != NULL) { /* v1: "8:pids:/path" */
            snprintf(root, n, "%s/pids", sysfs);
            snprintf(rel, sizeof(rel), "%s", c2 + 1);
            break;
        }
        if (*ctl == '\0' && root[0] == '\0') { /* v2: "0::/path", unless v1 names pids */
            snprintf(probe, sizeof(probe), "%s/cgroup.controllers", sysfs);
            snprintf(root, n, access(probe, F_OK) == 0 ? "%s" : "%s/unified", sysfs);
            snprintf(rel, sizeof(rel), "%s", c2 + 1);
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    if (root[0] == '\0') {
        return false;
    }
    /* A path too long for dir is no path we can read: give up rather than read a cut one. */
    int len = snprintf(dir, n, "%s%s", root, strcmp(rel, "/") == 0 ? "" : rel);
    return len >= 0 && (size_t)len < n;
}

int ll_sys__cgroup_pids_at(const char *cgroup_file, const char *sysfs, int64_t *current,
                           int64_t *max, char *dir_out, size_t n)
{
    char root[256], dir[256], path[300];
    *current = *max = -1;
    dir_out[0] = '\0';
    if (!cgroup_pids_dir(cgroup_file, sysfs, root, dir, sizeof(dir))) {
        return LL_ENOENT;
    }
    for (;;) { /* from our own directory up to the root */
        int64_t lim, cur;
        snprintf(path, sizeof(path), "%s/pids.max", dir);
        ll_sys_read_num(path, &lim); /* "max" reads as -1 */
        snprintf(path, sizeof(path), "%s/pids.current", dir);
        ll_sys_read_num(path, &cur);
        if (lim >= 0 && cur >= 0 && (*max < 0 || lim - cur < *max - *current)) {
            *max = lim;
            *current = cur;
            snprintf(dir_out, n, "%s", dir);
        }
        char *slash = strrchr(dir, '/');
        if (strlen(dir) <= strlen(root) || slash == NULL) {
            break;
        }
        *slash = '\0';
    }
    return *max >= 0 ? 0 : LL_ENOENT;
}

int ll_sys_cgroup_pids(int64_t *current, int64_t *max, char *dir, size_t n)
{
    return ll_sys__cgroup_pids_at("/proc/self/cgroup", "/sys/fs/cgroup", current, max, dir, n);
}

/* ---- thread walls ---- */

static const char *const wall_names[] = {
#define LL_THREAD_WALL_NAME_(name, short_, limit_, descr) short_,
    LL_THREAD_WALL_MAP(LL_THREAD_WALL_NAME_)
#undef LL_THREAD_WALL_NAME_
};

static const char *const wall_limits[] = {
#define LL_THREAD_WALL_LIMIT_(name, short_, limit_, descr) limit_,
    LL_THREAD_WALL_MAP(LL_THREAD_WALL_LIMIT_)
#undef LL_THREAD_WALL_LIMIT_
};

const char *ll_thread_wall_name(enum ll_thread_wall_kind k)
{
    return (unsigned)k < LL_TW__COUNT ? wall_names[k] : "unknown";
}

const char *ll_thread_wall_limit(enum ll_thread_wall_kind k)
{
    return (unsigned)k < LL_TW__COUNT ? wall_limits[k] : "unknown";
}

/* `used` is at `limit` when within `near` of it; both must be known. */
static bool at_limit(int64_t used, int64_t limit, int64_t near)
{
    return limit >= 0 && used >= 0 && used >= limit - near;
}

/* System-wide counts move with everything else running: within 1% of the limit is at it. */
static int64_t sys_near(int64_t limit)
{
    return limit / 100 > LL_THREAD_WALL_NEAR ? limit / 100 : LL_THREAD_WALL_NEAR;
}

bool ll_thread_counts_commit_met(const struct ll_thread_counts *c)
{
    return c->overcommit == 2 && c->commit_limit_kb > 0 && c->committed_kb >= 0 &&
           c->committed_kb + c->stack_kb > c->commit_limit_kb;
}

enum ll_thread_wall_kind ll_thread_wall_decide(const struct ll_thread_counts *c)
{
    if (at_limit(c->pids_current, c->pids_max, LL_THREAD_WALL_NEAR)) {
        return LL_TW_CGROUP_PIDS;
    }
    if (!c->root && at_limit(c->user_tasks, c->nproc, LL_THREAD_WALL_NEAR)) {
        return LL_TW_NPROC;
    }
    if (c->threads_max > 0 && at_limit(c->sys_tasks, c->threads_max, sys_near(c->threads_max))) {
        return LL_TW_THREADS_MAX;
    }
    /* The kernel keeps the first 300 ids: the ids run out 300 tasks before pid_max. */
    if (c->pid_max > 0 && at_limit(c->sys_tasks, c->pid_max, 300 + sys_near(c->pid_max))) {
        return LL_TW_PID_MAX;
    }
    if (c->max_map_count > 0 && at_limit(c->maps, c->max_map_count, LL_THREAD_WALL_NEAR)) {
        return LL_TW_MAP_COUNT;
    }
    if (c->as_kb >= 0 && c->vm_kb >= 0 && c->vm_kb + c->stack_kb > c->as_kb) {
        return LL_TW_ADDRESS_SPACE;
    }
    /* Two stacks beyond what is available, or one beyond CommitLimit: the kernel's overcommit
     * check refuses it (heuristic mode: a mapping larger than the memory there is). */
    if (c->err == ENOMEM || ll_thread_counts_commit_met(c) ||
        (c->mem_avail_kb >= 0 && c->mem_avail_kb < c->stack_kb * 2)) {
        return LL_TW_MEMORY;
    }
    return LL_TW_UNKNOWN;
}

/* /proc/loadavg's tasks and the kernel's limits on them, RLIMIT_NPROC and this user's tasks. */
static void read_tasks(struct ll_thread_counts *c)
{
    int64_t threads;
    ll_sys_read_key("/proc/self/status", "Threads", &threads);
    c->proc_threads = (int)threads;
    c->root = getuid() == 0 || geteuid() == 0;
    ll_sys_rlimit(RLIMIT_NPROC, &c->nproc, NULL);
    c->user_tasks = -1;
    if (!c->root && c->nproc >= 0) {
        ll_sys_user_tasks(&c->user_tasks);
    }
    ll_sys_tasks(&c->sys_tasks);
    ll_sys_read_num("/proc/sys/kernel/threads-max", &c->threads_max);
    ll_sys_read_num("/proc/sys/kernel/pid_max", &c->pid_max);
    ll_sys_cgroup_pids(&c->pids_current, &c->pids_max, c->pids_cgroup, sizeof(c->pids_cgroup));
}

/* Mappings, address space and memory. */
static void read_memory(struct ll_thread_counts *c, size_t stack_size)
{
    int64_t as, stk;
    ll_sys_count_lines("/proc/self/maps", &c->maps);
    ll_sys_read_num("/proc/sys/vm/max_map_count", &c->max_map_count);
    ll_sys_read_key("/proc/self/status", "VmSize", &c->vm_kb);
    ll_sys_rlimit(RLIMIT_AS, &as, NULL);
    ll_sys_rlimit(RLIMIT_STACK, &stk, NULL);
    c->as_kb = as < 0 ? -1 : as / 1024;
    /* glibc's default stack is RLIMIT_STACK, or 8 MiB when that is unlimited */
    c->stack_kb = stack_size > 0 ? (int64_t)stack_size / 1024 : stk > 0 ? stk / 1024 : 8192;
    ll_sys_read_key("/proc/meminfo", "MemAvailable", &c->mem_avail_kb);
    ll_sys_read_num("/proc/sys/vm/overcommit_memory", &c->overcommit);
    ll_sys_read_key("/proc/meminfo", "Committed_AS", &c->committed_kb);
    ll_sys_read_key("/proc/meminfo", "CommitLimit", &c->commit_limit_kb);
}

void ll_thread_counts_read(struct ll_thread_counts *c, int err, size_t stack_size)
{
    memset(c, 0, sizeof(*c));
    c->err = err;
    c->stack_size = stack_size;
    read_tasks(c);
    read_memory(c, stack_size);
    c->wall = ll_thread_wall_decide(c);
}

int ll_sys_fd_headroom(int want, int *got)
{
    int fds[64], n = 0, rc = 0;
    if (want > (int)(sizeof(fds) / sizeof(fds[0]))) {
        want = (int)(sizeof(fds) / sizeof(fds[0]));
    }
    while (n < want) {
        /* open() rather than dup() of 0-2: those may be closed, and then a dup would fail
         * with EBADF where the question is only about room */
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            rc = errno == EMFILE || errno == ENFILE ? LL_ELIMIT : LL_ESYS;
            break;
        }
        fds[n++] = fd;
    }
    if (got != NULL) {
        *got = n;
    }
    while (n > 0) {
        close(fds[--n]);
    }
    return rc;
}
