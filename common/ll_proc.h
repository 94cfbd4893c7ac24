/* ll_proc.h - what /proc says about a process, ours or the server's beside us, and which wall a
 * failed thread creation met.
 *
 * Samples: CPU seconds, RSS, threads and open descriptors of any process by PID, and its
 * RLIMIT_NOFILE (a server is a separate process with a limit of its own). Thread walls: when
 * pthread_create fails, the counters of every limit that can refuse a thread are read at that
 * moment (before the threads already started are joined) and the one at its limit is named:
 * that is evidence, where a description of the limits after the fact is only inference.
 *
 * Linux /proc and /sys (the small readers and the walls' reasoning are ll_sys.h, shared with
 * mockllm); a figure that cannot be read is -1. Any thread; nothing is kept between calls.
 */
#ifndef LL_PROC_H
#define LL_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ll_sys.h"

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

/* A failed thread creation: how far it got, and every counter that can refuse a thread, read
 * at that moment (ll_sys.h: the walls, their names and how one is judged met). */
struct ll_thread_wall {
    int started, wanted;         /* threads started before it failed, threads asked for */
    struct ll_thread_counts sys; /* sys.err 0: nothing failed */
};

/* Record the failure and read every counter now (ll_thread_counts_read), deciding sys.wall.
 * Call from the thread whose pthread_create failed, before the threads it started are joined
 * (their count is part of the evidence). */
void ll_thread_wall_snap(struct ll_thread_wall *w, int err, int started, int wanted,
                         size_t stack_size);

/* One line: "pthread_create EAGAIN after 61 of 200 threads; met cgroup pids.max 64 (pids.current
 * 64 in /sys/fs/cgroup/pids/x)" or "...; no counter at its limit (RLIMIT_NPROC 62000, ...)".
 * snprintf's contract and return. */
int ll_thread_wall_describe(char *buf, size_t n, const struct ll_thread_wall *w);

/* The failure and its counters as a new JSON object ("errno", "started", "wanted", "wall",
 * "line" and each counter, null when unknown); NULL on allocation failure. Owned by the caller.
 * Declared with cJSON's own type name so that this header needs no cJSON include. */
struct cJSON *ll_thread_wall_json(const struct ll_thread_wall *w);

#endif
