/* ll_sys.h - small readers of /proc, /sys and the resource limits, and the one reasoning that
 * names which limit a failed thread creation met.
 *
 * Shared by the client (ll_common: ll_proc, the run's resources, the driver's limit checks, the
 * demo) and mockllm, which links this library and ll_json but not ll_common: libc only here, no
 * libcurl, no libuv, no cJSON. Return codes are the ll_err.h constants (the header only: this
 * library does not link ll_err.c).
 *
 * Linux. Any thread: nothing is kept between calls; each call opens, reads and closes what it
 * reads. A figure that cannot be read comes back as -1 in its out parameter as well as in the
 * return code, so a caller that only prints the figure may ignore the code.
 */
#ifndef LL_SYS_H
#define LL_SYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ll_err.h"

/* ---- file readers ---- */

/* The first whole number in the file at `path`, after any white space: /proc/sys/kernel/pid_max,
 * a cgroup's pids.max. Units are the file's. 0; LL_ENOENT when the file cannot be opened;
 * LL_EINVAL when it does not begin with a number (pids.max's "max", an empty file). Trailing
 * text is ignored ("12 kB" reads 12). *out is the number, or -1 on failure. */
int ll_sys_read_num(const char *path, int64_t *out);

/* The number after "key:" on the first line that begins with `key` and a colon, in a
 * "Key:  value" file: /proc/PID/status, /proc/meminfo ("VmSize" or "VmSize:", the same; never
 * a longer key such as "VmSizeX"). Units are the file's (kB for Vm* and meminfo); of several
 * numbers on the line the first ("Uid": the real id). 0; LL_ENOENT when the file cannot be opened;
 * LL_EINVAL when no line has the key or no number follows it. *out is the number, or -1 on failure.
 */
int ll_sys_read_key(const char *path, const char *key, int64_t *out);

/* Lines ('\n's) in the file at `path`: the mappings of /proc/self/maps. 0, or LL_ENOENT when
 * it cannot be opened (*out is then -1). */
int ll_sys_count_lines(const char *path, int64_t *out);

/* ---- descriptors ---- */

/* Descriptors libuv needs to create its first loop in a process: its epoll instance, the
 * process-wide signal pipe (a pair) and the loop's wake-up eventfd, with room to spare. libuv
 * 1.44 calls abort() when it cannot create that signal pipe, so a program checks this headroom
 * before its first uv_loop_init instead of crashing under a tiny `ulimit -n`. */
#define LL_SYS_UV_FDS 8

/* Whether `want` more descriptors can be opened now: opens up to `want` (dups of a descriptor
 * of /dev/null), then closes them all. 0 when all could; LL_ELIMIT when fewer (EMFILE or
 * ENFILE); LL_ESYS when /dev/null cannot be opened for another reason. *got (may be NULL) is how
 * many could be opened, at most `want`. Any thread; not atomic with respect to other threads
 * opening descriptors, so call it before they start. */
int ll_sys_fd_headroom(int want, int *got);

/* ---- the system's counts ---- */

/* Tasks (threads of every process) on the whole system: the y of /proc/loadavg's "x/y", what
 * kernel.threads-max and kernel.pid_max bound. 0, LL_ENOENT or LL_EINVAL; *out -1 on failure. */
int ll_sys_tasks(int64_t *out);

/* Tasks of every process whose real user is ours: what RLIMIT_NPROC counts. Reads every
 * /proc/PID/status (tens of ms with thousands of processes). 0, or LL_ENOENT without /proc. */
int ll_sys_user_tasks(int64_t *out);

/* getrlimit(resource): soft and hard, -1 = unlimited (either may be NULL). 0, or LL_EINVAL when
 * getrlimit refuses the resource (both then -1). */
int ll_sys_rlimit(int resource, int64_t *soft, int64_t *hard);

/* The pids controller of this process's cgroup (v1 or v2): of the directories from its own up
 * to the hierarchy's root, the one with the least room (pids.max - pids.current), whose limit
 * refuses a new task first. *current, *max and dir (NUL-terminated, n bytes) are that one's;
 * 0, or LL_ENOENT when no directory on the path has a finite pids.max (then -1, -1, ""). */
int ll_sys_cgroup_pids(int64_t *current, int64_t *max, char *dir, size_t n);

/* The same three over other files, for tests that lay out a /proc or a cgroup tree of known
 * contents: `loadavg` for /proc/loadavg; `proc` for /proc, counting real user `uid`;
 * `cgroup_file` for /proc/self/cgroup and `sysfs` for /sys/fs/cgroup. */
int ll_sys__tasks_at(const char *loadavg, int64_t *out);
int ll_sys__user_tasks_at(const char *proc, unsigned uid, int64_t *out);
int ll_sys__cgroup_pids_at(const char *cgroup_file, const char *sysfs, int64_t *current,
                           int64_t *max, char *dir, size_t n);

/* ---- thread walls ---- */

/* The limits that can refuse a new thread, in the order they are judged: the counts of tasks
 * first, then this process's mappings and address space, then memory. Columns: the short name
 * (the client's reports and JSON), the limit's full name (mockllm's /metrics label), and what
 * it bounds. */
#define LL_THREAD_WALL_MAP(X)                                                                      \
    X(UNKNOWN, "unknown", "unknown", "no counter was at its limit")                                \
    X(CGROUP_PIDS, "cgroup pids.max", "cgroup pids.max", "the tasks its control group may hold")   \
    X(NPROC, "RLIMIT_NPROC", "RLIMIT_NPROC", "the tasks its user may run (not for root)")          \
    X(THREADS_MAX, "threads-max", "kernel.threads-max",                                            \
      "kernel.threads-max, the tasks the system may run")                                          \
    X(PID_MAX, "pid_max", "kernel.pid_max", "kernel.pid_max, the ids the system can give")         \
    X(MAP_COUNT, "max_map_count", "vm.max_map_count",                                              \
      "vm.max_map_count, mappings per process (two per stack)")                                    \
    X(ADDRESS_SPACE, "RLIMIT_AS", "RLIMIT_AS", "the address space its stacks reserve")             \
    X(MEMORY, "memory", "memory",                                                                  \
      "memory for a stack (ENOMEM, a stack beyond MemAvailable, or CommitLimit)")

enum ll_thread_wall_kind {
#define LL_THREAD_WALL_ENUM_(name, short_, limit_, descr) LL_TW_##name,
    LL_THREAD_WALL_MAP(LL_THREAD_WALL_ENUM_)
#undef LL_THREAD_WALL_ENUM_
        LL_TW__COUNT
};

/* Within how many tasks (or mappings) of its limit a count is "at" it: other processes start
 * and end tasks between the failure and the reading. System-wide counts use the larger of this
 * and 1% of the limit. */
#define LL_THREAD_WALL_NEAR 4

/* Every counter that can refuse a thread, read at one moment; -1 = unknown or unlimited. */
struct ll_thread_counts {
    int err;                        /* errno of the failure (EAGAIN, ENOMEM, ...); 0: none */
    size_t stack_size;              /* bytes per thread asked for, 0 = the default */
    int proc_threads;               /* threads in this process */
    bool root;                      /* RLIMIT_NPROC does not bind root */
    int64_t nproc, user_tasks;      /* RLIMIT_NPROC soft, tasks of this user (not for root) */
    int64_t sys_tasks, threads_max; /* tasks on the system (/proc/loadavg), the limit */
    int64_t pid_max;                /* kernel.pid_max */
    int64_t pids_current, pids_max; /* the tightest cgroup on our path, pids controller */
    char pids_cgroup[256];          /* its directory, "" when none is finite */
    int64_t maps, max_map_count;    /* this process's mappings, vm.max_map_count */
    int64_t vm_kb, as_kb, stack_kb; /* VmSize, RLIMIT_AS, one stack (the default's size if 0) */
    int64_t mem_avail_kb;           /* MemAvailable */
    int64_t overcommit;             /* vm.overcommit_memory (2: CommitLimit is enforced) */
    int64_t committed_kb, commit_limit_kb; /* Committed_AS, CommitLimit */
    enum ll_thread_wall_kind wall;         /* the first counter found at its limit */
};

/* Read every counter now and decide `wall` (ll_thread_wall_decide). err and stack_size are the
 * failure's. Call from the thread whose thread creation failed, as soon as it failed, before
 * threads it started are joined (their count is part of the evidence). Any thread; costs
 * ll_sys_user_tasks when RLIMIT_NPROC binds us. */
void ll_thread_counts_read(struct ll_thread_counts *c, int err, size_t stack_size);

/* The first wall, in LL_THREAD_WALL_MAP's order, whose counter is at its limit (within
 * LL_THREAD_WALL_NEAR), or LL_TW_UNKNOWN. Pure: reads only *c. */
enum ll_thread_wall_kind ll_thread_wall_decide(const struct ll_thread_counts *c);

/* Whether the MEMORY wall is the kernel's CommitLimit (vm.overcommit_memory 2 and one more
 * stack would pass it), so that a report can show those figures rather than MemAvailable. */
bool ll_thread_counts_commit_met(const struct ll_thread_counts *c);

const char *ll_thread_wall_name(enum ll_thread_wall_kind k);  /* "threads-max", ... */
const char *ll_thread_wall_limit(enum ll_thread_wall_kind k); /* "kernel.threads-max", ... */

#endif
