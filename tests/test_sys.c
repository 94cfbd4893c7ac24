/* test_sys.c - common/ll_sys.h alone (the program links ll_sys and libc, nothing else: what
 * mockllm links it for), against files and trees of known contents.
 *
 *   - read_num: a number after white space, a negative one, trailing text; a missing file is
 *     LL_ENOENT, "max", an empty file and a word are LL_EINVAL; *out is -1 on every failure;
 *   - read_key: the value after "Key:" and only there ("VmSizeX:" is not "VmSize:", a key with
 *     no number is LL_EINVAL, "Uid" reads the real id); count_lines: '\n's, not text;
 *   - tasks from a loadavg line; user tasks over a laid-out /proc (real uid only, threads not
 *     processes, "self" and a vanished process skipped); the cgroup with the least room from a
 *     laid-out cgroup tree, v2 and v1, "max" read as no limit, none finite is LL_ENOENT;
 *   - rlimit: a soft limit lowered here reads back, unlimited is -1, a bad resource LL_EINVAL;
 *   - the walls' judgement on counters of known values: each wall at its limit, just short of
 *     it (the margins: 4 tasks, max(4, 1%) system-wide, 300 reserved pids), the order when two
 *     are met, root and RLIMIT_NPROC; the names; and the counters read on this machine against
 *     the files themselves and against threads started here.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ll_sys.h"

static char tmpdir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_sys.XXXXXX");
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Write `text` to tmpdir/name (directories on the way made), return the path (static). */
static const char *put(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    for (char *p = strchr(path + strlen(tmpdir) + 1, '/'); p != NULL; p = strchr(p + 1, '/')) {
        *p = '\0';
        mkdir(path, 0755);
        *p = '/';
    }
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static const char *in_tmp(const char *name)
{
    static char path[256];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    return path;
}

static void test_sys_read_num(void **state)
{
    (void)state;
    int64_t v = 0;
    assert_int_equal(ll_sys_read_num(put("n1", "  4194304\n"), &v), 0);
    assert_int_equal(v, 4194304);
    assert_int_equal(ll_sys_read_num(put("n2", "-17\n"), &v), 0);
    assert_int_equal(v, -17);
    assert_int_equal(ll_sys_read_num(put("n3", "12 kB\n"), &v), 0);
    assert_int_equal(v, 12);
    assert_int_equal(ll_sys_read_num(put("n4", "9223372036854775807"), &v), 0);
    assert_int_equal(v, INT64_MAX);
    v = 5;
    assert_int_equal(ll_sys_read_num(in_tmp("absent"), &v), LL_ENOENT);
    assert_int_equal(v, -1);
    v = 5;
    assert_int_equal(ll_sys_read_num(put("max", "max\n"), &v), LL_EINVAL); /* pids.max */
    assert_int_equal(v, -1);
    v = 5;
    assert_int_equal(ll_sys_read_num(put("empty", ""), &v), LL_EINVAL);
    assert_int_equal(v, -1);
    v = 5;
    assert_int_equal(ll_sys_read_num(put("word", "x12\n"), &v), LL_EINVAL);
    assert_int_equal(v, -1);
}

static const char status_text[] = "Name:\tllm load\n"
                                  "State:\tS (sleeping)\n"
                                  "Uid:\t1000\t0\t0\t0\n"
                                  "VmSizeX:\t9\n"
                                  "VmSize:\t  123456 kB\n"
                                  "Threads:\t7\n"
                                  "Threads:\t8\n";

static void test_sys_read_key(void **state)
{
    (void)state;
    const char *path = put("status", status_text);
    int64_t v = 0;
    assert_int_equal(ll_sys_read_key(path, "Threads", &v), 0);
    assert_int_equal(v, 7); /* the first line with the key */
    assert_int_equal(ll_sys_read_key(path, "VmSize", &v), 0);
    assert_int_equal(v, 123456); /* not VmSizeX's 9 */
    v = 0;
    assert_int_equal(ll_sys_read_key(path, "VmSize:", &v), 0); /* the colon may be given */
    assert_int_equal(v, 123456);
    assert_int_equal(ll_sys_read_key(path, "Uid", &v), 0);
    assert_int_equal(v, 1000); /* the real id, the first */
    v = 5;
    assert_int_equal(ll_sys_read_key(path, "Vm", &v), LL_EINVAL); /* a prefix is not a key */
    assert_int_equal(v, -1);
    v = 5;
    assert_int_equal(ll_sys_read_key(path, "Name", &v), LL_EINVAL); /* no number */
    assert_int_equal(v, -1);
    v = 5;
    assert_int_equal(ll_sys_read_key(path, "MemAvailable", &v), LL_EINVAL);
    assert_int_equal(v, -1);
    v = 5;
    assert_int_equal(ll_sys_read_key(in_tmp("absent"), "Threads", &v), LL_ENOENT);
    assert_int_equal(v, -1);
}

static void test_sys_count_lines(void **state)
{
    (void)state;
    int64_t v = 0;
    assert_int_equal(ll_sys_count_lines(put("maps", "a b\nc d\n\ne f"), &v), 0);
    assert_int_equal(v, 3); /* three '\n's; the unfinished last line is not a line */
    assert_int_equal(ll_sys_count_lines(put("none", ""), &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(ll_sys_count_lines(in_tmp("absent"), &v), LL_ENOENT);
    assert_int_equal(v, -1);
}

static void test_sys_tasks(void **state)
{
    (void)state;
    int64_t v = 0;
    assert_int_equal(ll_sys__tasks_at(put("loadavg", "0.50 0.40 0.30 2/345 6789\n"), &v), 0);
    assert_int_equal(v, 345);
    v = 5;
    assert_int_equal(ll_sys__tasks_at(put("loadavg2", "0.50 0.40\n"), &v), LL_EINVAL);
    assert_int_equal(v, -1);
    assert_int_equal(ll_sys__tasks_at(in_tmp("absent"), &v), LL_ENOENT);
    assert_int_equal(v, -1);
    assert_int_equal(ll_sys_tasks(&v), 0); /* this machine: at least this process */
    assert_true(v >= 1);
}

static void test_sys_user_tasks(void **state)
{
    (void)state;
    put("proc/1/status", "Name:\ta\nUid:\t1000\t1000\t1000\t1000\nThreads:\t4\n");
    put("proc/22/status", "Name:\tb\nUid:\t0\t0\t0\t0\nThreads:\t2\n");
    put("proc/333/status", "Name:\tc\nUid:\t1000\t0\t0\t0\nThreads:\t5\n");
    put("proc/55/status", "Name:\td\nUid:\t0\t1000\t1000\t1000\nThreads:\t6\n"); /* euid only */
    put("proc/self/status", "Name:\te\nUid:\t1000\t1000\t1000\t1000\nThreads:\t100\n");
    put("proc/4444/gone", ""); /* a process that exited between readdir and open */
    const char *proc = in_tmp("proc");
    int64_t v = 0;
    assert_int_equal(ll_sys__user_tasks_at(proc, 1000, &v), 0);
    assert_int_equal(v, 9); /* 4 + 5: threads of real uid 1000, "self" not counted twice */
    assert_int_equal(ll_sys__user_tasks_at(proc, 0, &v), 0);
    assert_int_equal(v, 8);
    assert_int_equal(ll_sys__user_tasks_at(proc, 7, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(ll_sys__user_tasks_at(in_tmp("noproc"), 0, &v), LL_ENOENT);
    assert_int_equal(v, -1);
}

static void test_sys_cgroup_v2(void **state)
{
    (void)state;
    char dir[256], want[256];
    int64_t cur = 0, max = 0;
    put("cg2/cgroup.controllers", "cpu pids\n");
    put("cg2/a/pids.max", "60\n");
    put("cg2/a/pids.current", "58\n");
    put("cg2/a/b/pids.max", "max\n");
    put("cg2/a/b/pids.current", "10\n");
    char self[256]; /* put's path is overwritten by the next put */
    snprintf(self, sizeof(self), "%s", put("self_cgroup", "0::/a/b\n"));
    /* The leaf is unlimited: its parent, 2 from its limit, is the wall. */
    assert_int_equal(ll_sys__cgroup_pids_at(self, in_tmp("cg2"), &cur, &max, dir, sizeof(dir)), 0);
    assert_int_equal(cur, 58);
    assert_int_equal(max, 60);
    snprintf(want, sizeof(want), "%s/cg2/a", tmpdir);
    assert_string_equal(dir, want);
    /* A leaf with less room than its parent is the tighter one, though its limit is larger. */
    put("cg2/a/b/pids.max", "100\n");
    put("cg2/a/b/pids.current", "99\n");
    assert_int_equal(ll_sys__cgroup_pids_at(self, in_tmp("cg2"), &cur, &max, dir, sizeof(dir)), 0);
    assert_int_equal(cur, 99);
    assert_int_equal(max, 100);
    snprintf(want, sizeof(want), "%s/cg2/a/b", tmpdir);
    assert_string_equal(dir, want);
    /* Nothing finite on the path. */
    snprintf(self, sizeof(self), "%s", put("self_cgroup_root", "0::/\n"));
    assert_int_equal(ll_sys__cgroup_pids_at(self, in_tmp("cg2"), &cur, &max, dir, sizeof(dir)),
                     LL_ENOENT);
    assert_int_equal(cur, -1);
    assert_int_equal(max, -1);
    assert_string_equal(dir, "");
}

static void test_sys_cgroup_v1(void **state)
{
    (void)state;
    char dir[256], want[256];
    int64_t cur = 0, max = 0;
    put("cg1/pids/x/pids.max", "7\n");
    put("cg1/pids/x/pids.current", "3\n");
    put("cg1/unified/y/pids.max", "1\n"); /* v2 beside v1: v1's pids controller wins */
    put("cg1/unified/y/pids.current", "1\n");
    const char *self = put("self_cgroup_v1", "12:pids:/x\n1:cpu:/\n0::/y\n");
    assert_int_equal(ll_sys__cgroup_pids_at(self, in_tmp("cg1"), &cur, &max, dir, sizeof(dir)), 0);
    assert_int_equal(cur, 3);
    assert_int_equal(max, 7);
    snprintf(want, sizeof(want), "%s/cg1/pids/x", tmpdir);
    assert_string_equal(dir, want);
    /* Hybrid with no pids line in v1: the v2 tree, under unified/ (no cgroup.controllers). */
    self = put("self_cgroup_hybrid", "1:cpu:/\n0::/y\n");
    assert_int_equal(ll_sys__cgroup_pids_at(self, in_tmp("cg1"), &cur, &max, dir, sizeof(dir)), 0);
    assert_int_equal(max, 1);
    snprintf(want, sizeof(want), "%s/cg1/unified/y", tmpdir);
    assert_string_equal(dir, want);
    assert_int_equal(
        ll_sys__cgroup_pids_at(in_tmp("absent"), in_tmp("cg1"), &cur, &max, dir, sizeof(dir)),
        LL_ENOENT);
}

static void test_sys_rlimit(void **state)
{
    (void)state;
    struct rlimit saved, rl;
    int64_t soft = 0, hard = 0;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
    rl = saved;
    rl.rlim_cur = saved.rlim_max != RLIM_INFINITY && saved.rlim_max < 200 ? saved.rlim_max : 200;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    int rc = ll_sys_rlimit(RLIMIT_NOFILE, &soft, &hard);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
    assert_int_equal(rc, 0);
    assert_int_equal(soft, (int64_t)rl.rlim_cur);
    assert_int_equal(hard, saved.rlim_max == RLIM_INFINITY ? -1 : (int64_t)saved.rlim_max);
    /* RLIMIT_CPU: unlimited here as almost everywhere; -1 then, else the figure */
    assert_int_equal(getrlimit(RLIMIT_CPU, &rl), 0);
    assert_int_equal(ll_sys_rlimit(RLIMIT_CPU, &soft, NULL), 0);
    assert_int_equal(soft, rl.rlim_cur == RLIM_INFINITY ? -1 : (int64_t)rl.rlim_cur);
    assert_int_equal(ll_sys_rlimit(12345, &soft, &hard), LL_EINVAL);
    assert_int_equal(soft, -1);
    assert_int_equal(hard, -1);
}

/* ---- thread walls ---- */

/* Counters of a machine with room everywhere: 8 MiB stacks, nothing near a limit. */
static struct ll_thread_counts base(void)
{
    struct ll_thread_counts c = {
        .err = EAGAIN,
        .stack_size = 8 << 20,
        .proc_threads = 5,
        .root = false,
        .nproc = 1000,
        .user_tasks = 100,
        .sys_tasks = 200,
        .threads_max = 100000,
        .pid_max = 32768,
        .pids_current = -1,
        .pids_max = -1,
        .maps = 50,
        .max_map_count = 65530,
        .vm_kb = 100000,
        .as_kb = -1,
        .stack_kb = 8192,
        .mem_avail_kb = 1000000,
        .overcommit = 0,
        .committed_kb = -1,
        .commit_limit_kb = -1,
    };
    return c;
}

static enum ll_thread_wall_kind judge(struct ll_thread_counts c)
{
    return ll_thread_wall_decide(&c);
}

/* Each wall, alone at its limit, is the one named. */
static void test_sys_wall_each(void **state)
{
    (void)state;
    struct ll_thread_counts c = base();
    assert_int_equal(judge(c), LL_TW_UNKNOWN);
    c = base(), c.pids_current = 64, c.pids_max = 64;
    assert_int_equal(judge(c), LL_TW_CGROUP_PIDS);
    c = base(), c.user_tasks = 1000;
    assert_int_equal(judge(c), LL_TW_NPROC);
    c = base(), c.sys_tasks = 100000;
    assert_int_equal(judge(c), LL_TW_THREADS_MAX);
    c = base(), c.sys_tasks = 32468; /* pid_max less the 300 the kernel keeps */
    assert_int_equal(judge(c), LL_TW_PID_MAX);
    c = base(), c.maps = 65530;
    assert_int_equal(judge(c), LL_TW_MAP_COUNT);
    c = base(), c.as_kb = 108191; /* VmSize 100000 + one 8192 KiB stack is 1 KiB too many */
    assert_int_equal(judge(c), LL_TW_ADDRESS_SPACE);
    c = base(), c.err = ENOMEM;
    assert_int_equal(judge(c), LL_TW_MEMORY);
    c = base(), c.mem_avail_kb = 16383; /* less than two stacks */
    assert_int_equal(judge(c), LL_TW_MEMORY);
    assert_false(ll_thread_counts_commit_met(&c));
    c = base(), c.overcommit = 2, c.committed_kb = 900000, c.commit_limit_kb = 908191;
    assert_int_equal(judge(c), LL_TW_MEMORY);
    assert_true(ll_thread_counts_commit_met(&c));
}

/* Just short of each limit is not at it; the margins are those of the header. */
static void test_sys_wall_margins(void **state)
{
    (void)state;
    struct ll_thread_counts c = base();
    c.pids_max = 64, c.pids_current = 60; /* within 4 */
    assert_int_equal(judge(c), LL_TW_CGROUP_PIDS);
    c.pids_current = 59;
    assert_int_equal(judge(c), LL_TW_UNKNOWN);
    c = base(), c.user_tasks = 996;
    assert_int_equal(judge(c), LL_TW_NPROC);
    c.user_tasks = 995;
    assert_int_equal(judge(c), LL_TW_UNKNOWN);
    c = base(), c.pid_max = 4194304, c.sys_tasks = 99000; /* 1% of threads-max 100000 */
    assert_int_equal(judge(c), LL_TW_THREADS_MAX);
    c.sys_tasks = 98999;
    assert_int_equal(judge(c), LL_TW_UNKNOWN);
    c = base(), c.threads_max = 200, c.sys_tasks = 196; /* 1% is 2: 4 tasks instead */
    assert_int_equal(judge(c), LL_TW_THREADS_MAX);
    c.sys_tasks = 195;
    assert_int_equal(judge(c), LL_TW_UNKNOWN);
    c = base(), c.sys_tasks = 32768 - 300 - 327; /* 300 kept, 1% of 32768 */
    assert_int_equal(judge(c), LL_TW_PID_MAX);
    c.sys_tasks--;
    assert_int_equal(judge(c), LL_TW_UNKNOWN);
    c = base(), c.maps = 65526;
    assert_int_equal(judge(c), LL_TW_MAP_COUNT);
    c.maps = 65525;
    assert_int_equal(judge(c), LL_TW_UNKNOWN);
    c = base(), c.as_kb = 108192; /* exactly room for the stack */
    assert_int_equal(judge(c), LL_TW_UNKNOWN);
    c = base(), c.mem_avail_kb = 16384;
    assert_int_equal(judge(c), LL_TW_UNKNOWN);
    c = base(), c.overcommit = 2, c.committed_kb = 900000, c.commit_limit_kb = 908192;
    assert_int_equal(judge(c), LL_TW_UNKNOWN);
    c.commit_limit_kb = 908191, c.overcommit = 0; /* CommitLimit binds only in mode 2 */
    assert_int_equal(judge(c), LL_TW_UNKNOWN);
    assert_false(ll_thread_counts_commit_met(&c));
    /* Unknown counters are never at a limit. */
    c = base(), c.user_tasks = -1, c.nproc = 0;
    assert_int_equal(judge(c), LL_TW_UNKNOWN);
    c = base(), c.sys_tasks = -1, c.threads_max = 1;
    assert_int_equal(judge(c), LL_TW_UNKNOWN);
}

/* Two walls at once: the one first in the table; RLIMIT_NPROC never binds root. */
static void test_sys_wall_order(void **state)
{
    (void)state;
    struct ll_thread_counts c = base();
    c.pids_current = c.pids_max = 64, c.mem_avail_kb = 0, c.as_kb = 0;
    assert_int_equal(judge(c), LL_TW_CGROUP_PIDS);
    c = base(), c.user_tasks = 1000, c.as_kb = 0;
    assert_int_equal(judge(c), LL_TW_NPROC);
    c.root = true;
    assert_int_equal(judge(c), LL_TW_ADDRESS_SPACE);
    c = base(), c.maps = 65530, c.as_kb = 0, c.err = ENOMEM;
    assert_int_equal(judge(c), LL_TW_MAP_COUNT);
    c = base(), c.sys_tasks = 100000, c.pid_max = 100;
    assert_int_equal(judge(c), LL_TW_THREADS_MAX);
}

static void test_sys_wall_names(void **state)
{
    (void)state;
    assert_string_equal(ll_thread_wall_name(LL_TW_UNKNOWN), "unknown");
    assert_string_equal(ll_thread_wall_name(LL_TW_CGROUP_PIDS), "cgroup pids.max");
    assert_string_equal(ll_thread_wall_name(LL_TW_THREADS_MAX), "threads-max");
    assert_string_equal(ll_thread_wall_limit(LL_TW_THREADS_MAX), "kernel.threads-max");
    assert_string_equal(ll_thread_wall_name(LL_TW_PID_MAX), "pid_max");
    assert_string_equal(ll_thread_wall_limit(LL_TW_PID_MAX), "kernel.pid_max");
    assert_string_equal(ll_thread_wall_name(LL_TW_MAP_COUNT), "max_map_count");
    assert_string_equal(ll_thread_wall_limit(LL_TW_MAP_COUNT), "vm.max_map_count");
    assert_string_equal(ll_thread_wall_limit(LL_TW_NPROC), "RLIMIT_NPROC");
    assert_string_equal(ll_thread_wall_limit(LL_TW_ADDRESS_SPACE), "RLIMIT_AS");
    assert_string_equal(ll_thread_wall_limit(LL_TW_MEMORY), "memory");
    assert_string_equal(ll_thread_wall_name((enum ll_thread_wall_kind)99), "unknown");
    assert_string_equal(ll_thread_wall_limit((enum ll_thread_wall_kind) - 1), "unknown");
}

/* A number from a file read here with stdio, the independent reading. */
static int64_t file_num(const char *path)
{
    long long v = -1;
    FILE *f = fopen(path, "r");
    if (f != NULL) {
        if (fscanf(f, "%lld", &v) != 1) {
            v = -1;
        }
        fclose(f);
    }
    return (int64_t)v;
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static bool release;

static void *waiter(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    while (!release) {
        pthread_cond_wait(&cv, &mu);
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

/* The counters read on this machine: the kernel's figures as the files say them, this
 * process's threads as started here, the stack and errno as given, the limits as getrlimit. */
static void test_sys_counts_here(void **state)
{
    (void)state;
    struct ll_thread_counts c0, c;
    struct rlimit stk, rl;
    pthread_t t[3];
    /* A stack of 0 is glibc's default, RLIMIT_STACK's soft limit: 6 MiB while c0 is read. */
    assert_int_equal(getrlimit(RLIMIT_STACK, &stk), 0);
    rl = stk;
    rl.rlim_cur = (rlim_t)6 << 20;
    bool lowered = (stk.rlim_max == RLIM_INFINITY || stk.rlim_max >= rl.rlim_cur) &&
                   setrlimit(RLIMIT_STACK, &rl) == 0;
    ll_thread_counts_read(&c0, 0, 0);
    assert_int_equal(setrlimit(RLIMIT_STACK, &stk), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, waiter, NULL), 0);
    }
    ll_thread_counts_read(&c, EAGAIN, (size_t)1 << 20);
    pthread_mutex_lock(&mu);
    release = true;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
    }
    assert_int_equal(c.proc_threads, c0.proc_threads + 3);
    assert_int_equal(c.err, EAGAIN);
    assert_int_equal(c.stack_kb, 1024);
    assert_int_equal(c.pid_max, file_num("/proc/sys/kernel/pid_max"));
    assert_int_equal(c.threads_max, file_num("/proc/sys/kernel/threads-max"));
    assert_int_equal(c.max_map_count, file_num("/proc/sys/vm/max_map_count"));
    assert_int_equal(c.overcommit, file_num("/proc/sys/vm/overcommit_memory"));
    assert_true(c.pid_max > 0 && c.threads_max > 0 && c.maps > 0 && c.vm_kb > 0);
    assert_true(c.sys_tasks >= c.proc_threads);
    assert_int_equal(c.root, getuid() == 0 || geteuid() == 0);
    assert_int_equal(getrlimit(RLIMIT_NPROC, &rl), 0);
    assert_int_equal(c.nproc, rl.rlim_cur == RLIM_INFINITY ? -1 : (int64_t)rl.rlim_cur);
    if (lowered) {
        assert_int_equal(c0.stack_kb, 6144);
    }
    assert_int_equal(c.wall, ll_thread_wall_decide(&c));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sys_read_num),    cmocka_unit_test(test_sys_read_key),
        cmocka_unit_test(test_sys_count_lines), cmocka_unit_test(test_sys_tasks),
        cmocka_unit_test(test_sys_user_tasks),  cmocka_unit_test(test_sys_cgroup_v2),
        cmocka_unit_test(test_sys_cgroup_v1),   cmocka_unit_test(test_sys_rlimit),
        cmocka_unit_test(test_sys_wall_each),   cmocka_unit_test(test_sys_wall_margins),
        cmocka_unit_test(test_sys_wall_order),  cmocka_unit_test(test_sys_wall_names),
        cmocka_unit_test(test_sys_counts_here),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
