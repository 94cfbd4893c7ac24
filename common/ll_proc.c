/* ll_proc.c - process samples and thread walls from /proc (ll_proc.h). */
#include "ll_proc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cJSON.h>

#include "ll_err.h"

static void proc_path(char *buf, size_t n, int pid, const char *what)
{
    if (pid > 0) {
        snprintf(buf, n, "/proc/%d/%s", pid, what);
    } else {
        snprintf(buf, n, "/proc/self/%s", what);
    }
}

/* The first whole number in a file, or -1 ("max" and other words read as -1). */
static int64_t read_num(const char *path)
{
    FILE *f = fopen(path, "r");
    long long v = -1;
    if (f == NULL) {
        return -1;
    }
    if (fscanf(f, "%lld", &v) != 1) {
        v = -1;
    }
    fclose(f);
    return (int64_t)v;
}

/* The number after `key` on its line of a "Key: value" file (/proc/PID/status, meminfo). */
static int64_t read_key(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    char line[256];
    size_t klen = strlen(key);
    long long v = -1;
    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, key, klen) == 0 && sscanf(line + klen, " %lld", &v) == 1) {
            break;
        }
    }
    fclose(f);
    return (int64_t)v;
}

int ll_proc_fds(int pid)
{
    char path[64];
    proc_path(path, sizeof(path), pid, "fd");
    DIR *d = opendir(path);
    int n = 0;
    if (d == NULL) {
        return -1;
    }
    for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
        n += e->d_name[0] != '.';
    }
    closedir(d);
    return pid > 0 && pid != getpid() ? n : n - 1; /* our own listing holds the DIR's fd */
}

/* Parse /proc/PID/stat's text into out (cpu_s, threads, rss_kb). 0 or LL_ENOENT. */
static int parse_stat(char *buf, struct ll_proc_sample *out)
{
    unsigned long long ut, st;
    long threads, rss_pages;
    /* The name in parentheses may hold spaces or parentheses: fields count from the last ')'.
     * Field 3 is the state; utime and stime are 14 and 15, num_threads 20, rss 24. */
    char *p = strrchr(buf, ')');
    if (p == NULL || sscanf(p + 2,
                            "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d "
                            "%*d %ld %*d %*u %*u %ld",
                            &ut, &st, &threads, &rss_pages) != 4) {
        return LL_ENOENT;
    }
    double hz = (double)sysconf(_SC_CLK_TCK);
    out->cpu_s = (double)(ut + st) / (hz > 0 ? hz : 100.0);
    out->threads = (int)threads;
    out->rss_kb = rss_pages * (sysconf(_SC_PAGESIZE) / 1024);
    return 0;
}

int ll_proc_sample(int pid, bool want_fds, struct ll_proc_sample *out)
{
    char path[64], buf[1024];
    *out = (struct ll_proc_sample){-1.0, -1, -1, -1};
    proc_path(path, sizeof(path), pid, "stat");
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return LL_ENOENT;
    }
    size_t len = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[len] = '\0';
    if (parse_stat(buf, out) != 0) {
        return LL_ENOENT;
    }
    if (want_fds) {
        out->fds = ll_proc_fds(pid);
    }
    return 0;
}

int ll_proc_watch_open(struct ll_proc_watch *w, int pid)
{
    char path[64];
    w->pid = pid;
    w->dir = NULL;
    proc_path(path, sizeof(path), pid, "stat");
    w->stat_fd = open(path, O_RDONLY | O_CLOEXEC);
    if (w->stat_fd < 0) {
        return LL_ENOENT;
    }
    proc_path(path, sizeof(path), pid, "fd");
    w->dir = opendir(path);
    if (w->dir == NULL) {
        close(w->stat_fd);
        w->stat_fd = -1;
        return LL_ENOENT;
    }
    return 0;
}

int ll_proc_watch_sample(struct ll_proc_watch *w, bool want_fds, struct ll_proc_sample *out)
{
    char buf[1024];
    *out = (struct ll_proc_sample){-1.0, -1, -1, -1};
    if (w->stat_fd < 0) {
        return LL_ENOENT;
    }
    ssize_t len = pread(w->stat_fd, buf, sizeof(buf) - 1, 0); /* procfs regenerates at 0 */
    if (len <= 0) {
        return LL_ENOENT; /* ESRCH: the process is gone */
    }
    buf[len] = '\0';
    if (parse_stat(buf, out) != 0) {
        return LL_ENOENT;
    }
    if (want_fds) {
        int n = 0;
        rewinddir(w->dir); /* procfs lists the table as it is now */
        for (struct dirent *e = readdir(w->dir); e != NULL; e = readdir(w->dir)) {
            n += e->d_name[0] != '.';
        }
        /* Our own listing holds the DIR's descriptor and the stat one. */
        out->fds = w->pid > 0 && w->pid != getpid() ? n : n - 2;
    }
    return 0;
}

void ll_proc_watch_close(struct ll_proc_watch *w)
{
    if (w->dir != NULL) {
        closedir(w->dir);
        w->dir = NULL;
    }
    if (w->stat_fd >= 0) {
        close(w->stat_fd);
        w->stat_fd = -1;
    }
}

static int64_t limit_field(const char *s)
{
    while (*s == ' ') {
        s++;
    }
    return isdigit((unsigned char)*s) ? strtoll(s, NULL, 10) : -1; /* "unlimited" */
}

int ll_proc_nofile(int pid, int64_t *soft, int64_t *hard)
{
    char path[64], line[256];
    proc_path(path, sizeof(path), pid, "limits");
    FILE *f = fopen(path, "r");
    int rc = LL_ENOENT;
    if (f == NULL) {
        return LL_ENOENT;
    }
    /* "Max open files            20000                20000                files" */
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "Max open files", 14) == 0) {
            char *s = line + 14;
            *soft = limit_field(s);
            while (*s == ' ') {
                s++;
            }
            while (*s != ' ' && *s != '\0') {
                s++;
            }
            *hard = limit_field(s);
            rc = 0;
            break;
        }
    }
    fclose(f);
    return rc;
}

/* ---- thread walls ---- */

static const char *const wall_names[] = {
#define LL_THREAD_WALL_NAME_(name, short_, descr) short_,
    LL_THREAD_WALL_MAP(LL_THREAD_WALL_NAME_)
#undef LL_THREAD_WALL_NAME_
};

const char *ll_thread_wall_name(enum ll_thread_wall_kind k)
{
    return (unsigned)k < LL_TW__COUNT ? wall_names[k] : "unknown";
}

static int64_t rlim_soft(int which)
{
    struct rlimit rl;
    if (getrlimit(which, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) {
        return -1;
    }
    return (int64_t)rl.rlim_cur;
}

/* Tasks (threads) of processes whose real uid is ours: RLIMIT_NPROC counts them all. */
static int64_t user_tasks(void)
{
    DIR *d = opendir("/proc");
    char path[300], line[128];
    int64_t n = 0;
    unsigned uid = (unsigned)getuid();
    if (d == NULL) {
        return -1;
    }
    for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
        if (!isdigit((unsigned char)e->d_name[0])) {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/%s/status", e->d_name);
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
        n += ruid == uid ? threads : 0;
    }
    closedir(d);
    return n;
}

/* Each directory from our pids cgroup up to the hierarchy's root: the one with the least room
 * (pids.max - pids.current) is the one that refuses first. */
static void cgroup_pids(struct ll_thread_wall *w)
{
    char line[512], dir[256], path[300];
    const char *root = NULL, *rel = NULL;
    FILE *f = fopen("/proc/self/cgroup", "r");
    w->pids_current = w->pids_max = -1;
    w->pids_cgroup[0] = '\0';
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (c2 == NULL) {
            continue;
        }
        *c2 = '\0';
        char *ctl = c1 + 1;
        if (strstr(ctl, "pids") != NULL) { /* v1: "8:pids:/path" */
            root = "/sys/fs/cgroup/pids";
            rel = c2 + 1;
            break;
        }
        if (*ctl == '\0' && rel == NULL) { /* v2: "0::/path", unless v1 names pids */
            root = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0
                       ? "/sys/fs/cgroup"
                       : "/sys/fs/cgroup/unified";
            rel = c2 + 1;
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    if (root == NULL) {
        return;
    }
    snprintf(dir, sizeof(dir), "%s%s", root, strcmp(rel, "/") == 0 ? "" : rel);
    for (;;) {
        snprintf(path, sizeof(path), "%s/pids.max", dir);
        int64_t max = read_num(path);
        snprintf(path, sizeof(path), "%s/pids.current", dir);
        int64_t cur = read_num(path);
        if (max >= 0 && cur >= 0 &&
            (w->pids_max < 0 || max - cur < w->pids_max - w->pids_current)) {
            w->pids_max = max;
            w->pids_current = cur;
            snprintf(w->pids_cgroup, sizeof(w->pids_cgroup), "%s", dir);
        }
        char *slash = strrchr(dir, '/');
        if (strlen(dir) <= strlen(root) || slash == NULL) {
            break;
        }
        *slash = '\0';
    }
}

static int64_t count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    int64_t n = 0;
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

static enum ll_thread_wall_kind decide(const struct ll_thread_wall *w)
{
    if (w->pids_max >= 0 && w->pids_current >= w->pids_max - 1) {
        return LL_TW_CGROUP_PIDS;
    }
    if (!w->root && w->nproc >= 0 && w->user_tasks >= w->nproc - 1) {
        return LL_TW_NPROC;
    }
    /* System-wide counts move with everything else running: within 1% is "at the limit". */
    if (w->threads_max > 0 && w->sys_tasks >= w->threads_max - w->threads_max / 100) {
        return LL_TW_THREADS_MAX;
    }
    if (w->pid_max > 0 && w->sys_tasks >= w->pid_max - 300 - w->pid_max / 100) {
        return LL_TW_PID_MAX; /* the kernel keeps the first 300 ids */
    }
    if (w->max_map_count > 0 && w->maps >= w->max_map_count - 2) {
        return LL_TW_MAP_COUNT;
    }
    if (w->as_kb >= 0 && w->vm_kb >= 0 && w->vm_kb + w->stack_kb > w->as_kb) {
        return LL_TW_ADDRESS_SPACE;
    }
    /* One stack larger than all the memory there is: the kernel's overcommit check refuses it. */
    if (w->err == ENOMEM || (w->mem_avail_kb >= 0 && w->stack_kb > w->mem_avail_kb)) {
        return LL_TW_MEMORY;
    }
    return LL_TW_UNKNOWN;
}

void ll_thread_wall_snap(struct ll_thread_wall *w, int err, int started, int wanted,
                         size_t stack_size)
{
    memset(w, 0, sizeof(*w));
    w->err = err;
    w->started = started;
    w->wanted = wanted;
    w->stack_size = stack_size;
    w->proc_threads = (int)read_key("/proc/self/status", "Threads:");
    w->root = getuid() == 0 || geteuid() == 0;
    w->nproc = rlim_soft(RLIMIT_NPROC);
    w->user_tasks = !w->root && w->nproc >= 0 ? user_tasks() : -1;
    long long run = 0, total = -1;
    FILE *f = fopen("/proc/loadavg", "r"); /* "0.00 0.01 0.05 1/123 4567" */
    if (f == NULL || fscanf(f, "%*f %*f %*f %lld/%lld", &run, &total) != 2) {
        total = -1;
    }
    if (f != NULL) {
        fclose(f);
    }
    w->sys_tasks = total;
    w->threads_max = read_num("/proc/sys/kernel/threads-max");
    w->pid_max = read_num("/proc/sys/kernel/pid_max");
    cgroup_pids(w);
    w->maps = count_lines("/proc/self/maps");
    w->max_map_count = read_num("/proc/sys/vm/max_map_count");
    w->vm_kb = read_key("/proc/self/status", "VmSize:");
    int64_t as = rlim_soft(RLIMIT_AS), stk = rlim_soft(RLIMIT_STACK);
    w->as_kb = as < 0 ? -1 : as / 1024;
    w->stack_kb = stack_size > 0 ? (int64_t)stack_size / 1024 : stk > 0 ? stk / 1024 : 8192;
    w->mem_avail_kb = read_key("/proc/meminfo", "MemAvailable:");
    w->wall = decide(w);
}

static const char *errno_name(int e)
{
    switch (e) {
    case EAGAIN:
        return "EAGAIN";
    case ENOMEM:
        return "ENOMEM";
    case EPERM:
        return "EPERM";
    case EINVAL:
        return "EINVAL";
    default:
        return "error";
    }
}

int ll_thread_wall_describe(char *buf, size_t n, const struct ll_thread_wall *w)
{
    char met[300];
    switch (w->wall) {
    case LL_TW_CGROUP_PIDS:
        snprintf(met, sizeof(met), "met cgroup pids.max %lld (pids.current %lld in %s)",
                 (long long)w->pids_max, (long long)w->pids_current, w->pids_cgroup);
        break;
    case LL_TW_NPROC:
        snprintf(met, sizeof(met), "met RLIMIT_NPROC %lld (%lld tasks of this user)",
                 (long long)w->nproc, (long long)w->user_tasks);
        break;
    case LL_TW_THREADS_MAX:
        snprintf(met, sizeof(met), "met threads-max %lld (%lld tasks on the system)",
                 (long long)w->threads_max, (long long)w->sys_tasks);
        break;
    case LL_TW_PID_MAX:
        snprintf(met, sizeof(met), "met pid_max %lld (%lld tasks on the system)",
                 (long long)w->pid_max, (long long)w->sys_tasks);
        break;
    case LL_TW_MAP_COUNT:
        snprintf(met, sizeof(met), "met max_map_count %lld (%lld mappings; two per thread stack)",
                 (long long)w->max_map_count, (long long)w->maps);
        break;
    case LL_TW_ADDRESS_SPACE:
        snprintf(met, sizeof(met), "met RLIMIT_AS %lld KiB (VmSize %lld KiB + a %lld KiB stack)",
                 (long long)w->as_kb, (long long)w->vm_kb, (long long)w->stack_kb);
        break;
    case LL_TW_MEMORY:
        snprintf(met, sizeof(met), "met memory (a %lld KiB stack, MemAvailable %lld KiB)",
                 (long long)w->stack_kb, (long long)w->mem_avail_kb);
        break;
    default:
        snprintf(met, sizeof(met),
                 "no counter at its limit (cgroup pids %lld/%lld, %lld tasks of threads-max %lld "
                 "and pid_max %lld, %lld of max_map_count %lld mappings, MemAvailable %lld KiB)",
                 (long long)w->pids_current, (long long)w->pids_max, (long long)w->sys_tasks,
                 (long long)w->threads_max, (long long)w->pid_max, (long long)w->maps,
                 (long long)w->max_map_count, (long long)w->mem_avail_kb);
        break;
    }
    return snprintf(buf, n, "pthread_create %s after %d of %d threads (%d in the process); %s",
                    errno_name(w->err), w->started, w->wanted, w->proc_threads, met);
}

static void add_count(cJSON *o, const char *k, int64_t v)
{
    cJSON_AddItemToObject(o, k, v < 0 ? cJSON_CreateNull() : cJSON_CreateNumber((double)v));
}

cJSON *ll_thread_wall_json(const struct ll_thread_wall *w)
{
    char line[600];
    cJSON *o = cJSON_CreateObject();
    ll_thread_wall_describe(line, sizeof(line), w);
    cJSON_AddStringToObject(o, "errno", errno_name(w->err));
    cJSON_AddNumberToObject(o, "started", w->started);
    cJSON_AddNumberToObject(o, "wanted", w->wanted);
    cJSON_AddStringToObject(o, "wall", ll_thread_wall_name(w->wall));
    cJSON_AddStringToObject(o, "line", line);
    add_count(o, "process_threads", w->proc_threads);
    cJSON_AddBoolToObject(o, "root", w->root);
    add_count(o, "rlimit_nproc", w->nproc);
    add_count(o, "user_tasks", w->user_tasks);
    add_count(o, "system_tasks", w->sys_tasks);
    add_count(o, "threads_max", w->threads_max);
    add_count(o, "pid_max", w->pid_max);
    add_count(o, "cgroup_pids_current", w->pids_current);
    add_count(o, "cgroup_pids_max", w->pids_max);
    cJSON_AddStringToObject(o, "cgroup", w->pids_cgroup);
    add_count(o, "maps", w->maps);
    add_count(o, "max_map_count", w->max_map_count);
    add_count(o, "vm_size_kb", w->vm_kb);
    add_count(o, "rlimit_as_kb", w->as_kb);
    add_count(o, "stack_kb", w->stack_kb);
    add_count(o, "mem_available_kb", w->mem_avail_kb);
    return o;
}
