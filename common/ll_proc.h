/* ll_proc.h - what /proc says about a process, ours or the server's beside us, and which wall a
 * failed thread creation met.
 *
 * Samples: CPU seconds, RSS, threads and open descriptors of any process by PID, and its
 * RLIMIT_NOFILE (a server is a separate process with a limit of its own). Thread walls: when
 * pthread_create fails, the counters of every limit that can refuse a thread are read at that
 * moment (before the threads already started are joined) and the one at its limit is named:
 * that is evidence, where a description of the limits after the fact is only inference.
 *
 * Linux /proc and /sys; a figure that cannot be read is -1. Any thread; nothing is kept between
 * calls.
 */
#ifndef LL_PROC_H
#define LL_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One look at a process. */
struct ll_proc_sample {
    double cpu_s; /* user + system CPU seconds since it started */
    long rss_kb;  /* resident set */
    int threads;
    int fds; /* open descriptors (/proc/PID/fd entries); -1 when not counted */
};

/* Sample process `pid` (0 = this process). want_fds: count /proc/PID/fd too, a readdir of every
 * descriptor whose cost grows with them (about 1 ms per 5,000). 0, or LL_ENOENT when the
 * process is gone or cannot be read (out is then all -1). */
int ll_proc_sample(int pid, bool want_fds, struct ll_proc_sample *out);

/* A process watched over time without opening anything per look: /proc/PID/stat and the
 * /proc/PID/fd listing stay open and are re-read in place (pread at 0, rewinddir). A process at
 * its RLIMIT_NOFILE -- the wall being measured -- could not open a descriptor to count its
 * descriptors, nor to read its stat. */
struct ll_proc_watch {
    int pid; /* 0 = this process */
    int stat_fd;
    void *dir; /* DIR * of /proc/PID/fd */
};

/* 0, or LL_ENOENT when the process cannot be read (then nothing is held). */
int ll_proc_watch_open(struct ll_proc_watch *w, int pid);
/* As ll_proc_sample, with no new descriptor. 0, or LL_ENOENT when the process is gone. */
int ll_proc_watch_sample(struct ll_proc_watch *w, bool want_fds, struct ll_proc_sample *out);
void ll_proc_watch_close(struct ll_proc_watch *w);

/* Open descriptors of `pid` (0 = this process), or -1. */
int ll_proc_fds(int pid);

/* RLIMIT_NOFILE of `pid` (0 = this process) from /proc/PID/limits, -1 = unlimited.
 * 0 or LL_ENOENT. */
int ll_proc_nofile(int pid, int64_t *soft, int64_t *hard);

/* The limits that can refuse a new thread, in the order they are judged. */
#define LL_THREAD_WALL_MAP(X)                                                                      \
    X(UNKNOWN, "unknown", "no counter was at its limit")                                           \
    X(CGROUP_PIDS, "cgroup pids.max", "the tasks its control group may hold")                      \
    X(NPROC, "RLIMIT_NPROC", "the tasks its user may run (not for root)")                          \
    X(THREADS_MAX, "threads-max", "kernel.threads-max, the tasks the system may run")              \
    X(PID_MAX, "pid_max", "kernel.pid_max, the ids the system can give")                           \
    X(MAP_COUNT, "max_map_count", "vm.max_map_count, mappings per process (two per stack)")        \
    X(ADDRESS_SPACE, "RLIMIT_AS", "the address space its stacks reserve")                          \
    X(MEMORY, "memory", "memory for a stack (ENOMEM, or a stack larger than MemAvailable)")

enum ll_thread_wall_kind {
#define LL_THREAD_WALL_ENUM_(name, short_, descr) LL_TW_##name,
    LL_THREAD_WALL_MAP(LL_THREAD_WALL_ENUM_)
#undef LL_THREAD_WALL_ENUM_
        LL_TW__COUNT
};

/* A failed thread creation and the counters at that moment; -1 = unknown or unlimited. */
struct ll_thread_wall {
    int err;                   /* errno of pthread_create (EAGAIN, ENOMEM); 0: nothing failed */
    int started, wanted;       /* threads started before it failed, threads asked for */
    size_t stack_size;         /* bytes per thread asked for, 0 = the default (RLIMIT_STACK) */
    int proc_threads;          /* threads in this process */
    bool root;                 /* RLIMIT_NPROC does not bind root */
    int64_t nproc, user_tasks; /* RLIMIT_NPROC soft, tasks of this user (not for root) */
    int64_t sys_tasks, threads_max; /* tasks on the system (/proc/loadavg), the limit */
    int64_t pid_max;                /* kernel.pid_max */
    int64_t pids_current, pids_max; /* the tightest cgroup on our path, pids controller */
    char pids_cgroup[256];          /* its directory, "" when none is finite */
    int64_t maps, max_map_count;    /* this process's mappings, vm.max_map_count */
    int64_t vm_kb, as_kb, stack_kb; /* VmSize, RLIMIT_AS, one stack */
    int64_t mem_avail_kb;           /* MemAvailable */
    enum ll_thread_wall_kind wall;  /* the first counter found at its limit */
};

/* Read every counter now and decide `wall`. Call from the thread whose pthread_create failed,
 * before the threads it started are joined (their count is part of the evidence). */
void ll_thread_wall_snap(struct ll_thread_wall *w, int err, int started, int wanted,
                         size_t stack_size);

const char *ll_thread_wall_name(enum ll_thread_wall_kind k); /* "cgroup pids.max", ... */

/* One line: "pthread_create EAGAIN after 61 of 200 threads; met cgroup pids.max 64 (pids.current
 * 64 in /sys/fs/cgroup/pids/x)" or "...; no counter at its limit (RLIMIT_NPROC 62000, ...)".
 * snprintf's contract and return. */
int ll_thread_wall_describe(char *buf, size_t n, const struct ll_thread_wall *w);

/* The failure and its counters as a new JSON object ("errno", "started", "wanted", "wall",
 * "line" and each counter, null when unknown); NULL on allocation failure. Owned by the caller.
 * Declared with cJSON's own type name so that this header needs no cJSON include. */
struct cJSON *ll_thread_wall_json(const struct ll_thread_wall *w);

#endif
