/* ll_proc.c - process samples and thread walls from /proc (ll_proc.h). */
#include "ll_proc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

void ll_thread_wall_snap(struct ll_thread_wall *w, int err, int started, int wanted,
                         size_t stack_size)
{
    w->started = started;
    w->wanted = wanted;
    ll_thread_counts_read(&w->sys, err, stack_size);
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
    const struct ll_thread_counts *c = &w->sys;
    char met[300];
    switch (c->wall) {
    case LL_TW_CGROUP_PIDS:
        snprintf(met, sizeof(met), "met cgroup pids.max %lld (pids.current %lld in %s)",
                 (long long)c->pids_max, (long long)c->pids_current, c->pids_cgroup);
        break;
    case LL_TW_NPROC:
        snprintf(met, sizeof(met), "met RLIMIT_NPROC %lld (%lld tasks of this user)",
                 (long long)c->nproc, (long long)c->user_tasks);
        break;
    case LL_TW_THREADS_MAX:
        snprintf(met, sizeof(met), "met threads-max %lld (%lld tasks on the system)",
                 (long long)c->threads_max, (long long)c->sys_tasks);
        break;
    case LL_TW_PID_MAX:
        snprintf(met, sizeof(met), "met pid_max %lld (%lld tasks on the system)",
                 (long long)c->pid_max, (long long)c->sys_tasks);
        break;
    case LL_TW_MAP_COUNT:
        snprintf(met, sizeof(met), "met max_map_count %lld (%lld mappings; two per thread stack)",
                 (long long)c->max_map_count, (long long)c->maps);
        break;
    case LL_TW_ADDRESS_SPACE:
        snprintf(met, sizeof(met), "met RLIMIT_AS %lld KiB (VmSize %lld KiB + a %lld KiB stack)",
                 (long long)c->as_kb, (long long)c->vm_kb, (long long)c->stack_kb);
        break;
    case LL_TW_MEMORY:
        snprintf(met, sizeof(met), "met memory (a %lld KiB stack, MemAvailable %lld KiB)",
                 (long long)c->stack_kb, (long long)c->mem_avail_kb);
        break;
    default:
        snprintf(met, sizeof(met),
                 "no counter at its limit (cgroup pids %lld/%lld, %lld tasks of threads-max %lld "
                 "and pid_max %lld, %lld of max_map_count %lld mappings, MemAvailable %lld KiB)",
                 (long long)c->pids_current, (long long)c->pids_max, (long long)c->sys_tasks,
                 (long long)c->threads_max, (long long)c->pid_max, (long long)c->maps,
                 (long long)c->max_map_count, (long long)c->mem_avail_kb);
        break;
    }
    return snprintf(buf, n, "pthread_create %s after %d of %d threads (%d in the process); %s",
                    errno_name(c->err), w->started, w->wanted, c->proc_threads, met);
}

static void add_count(cJSON *o, const char *k, int64_t v)
{
    cJSON_AddItemToObject(o, k, v < 0 ? cJSON_CreateNull() : cJSON_CreateNumber((double)v));
}

cJSON *ll_thread_wall_json(const struct ll_thread_wall *w)
{
    const struct ll_thread_counts *c = &w->sys;
    char line[600];
    cJSON *o = cJSON_CreateObject();
    ll_thread_wall_describe(line, sizeof(line), w);
    cJSON_AddStringToObject(o, "errno", errno_name(c->err));
    cJSON_AddNumberToObject(o, "started", w->started);
    cJSON_AddNumberToObject(o, "wanted", w->wanted);
    cJSON_AddStringToObject(o, "wall", ll_thread_wall_name(c->wall));
    cJSON_AddStringToObject(o, "line", line);
    add_count(o, "process_threads", c->proc_threads);
    cJSON_AddBoolToObject(o, "root", c->root);
    add_count(o, "rlimit_nproc", c->nproc);
    add_count(o, "user_tasks", c->user_tasks);
    add_count(o, "system_tasks", c->sys_tasks);
    add_count(o, "threads_max", c->threads_max);
    add_count(o, "pid_max", c->pid_max);
    add_count(o, "cgroup_pids_current", c->pids_current);
    add_count(o, "cgroup_pids_max", c->pids_max);
    cJSON_AddStringToObject(o, "cgroup", c->pids_cgroup);
    add_count(o, "maps", c->maps);
    add_count(o, "max_map_count", c->max_map_count);
    add_count(o, "vm_size_kb", c->vm_kb);
    add_count(o, "rlimit_as_kb", c->as_kb);
    add_count(o, "stack_kb", c->stack_kb);
    add_count(o, "mem_available_kb", c->mem_avail_kb);
    return o;
}
