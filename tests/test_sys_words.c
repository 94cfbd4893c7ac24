/* test_sys_words.c - one judgement, two wordings: the same counters (common/ll_sys.h) said by
 * the client (ll_thread_wall_describe, ll_thread_wall_json: common/ll_proc.h) and by mockllm
 * (mock_syslimit_name: its /metrics label and stderr line). Each wall at its limit, the
 * CommitLimit form of memory, and none met, against the exact lines each side printed before
 * the two copies of the reasoning became one. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cJSON.h>
#include <cmocka.h>

#include "ll_proc.h"
#include "mock_syslimit.h"

#define SERVING 7 /* the mock's serving threads */

struct words {
    const char *name; /* what is changed from the base counters, for the message */
    void (*set)(struct ll_thread_counts *c);
    enum ll_thread_wall_kind wall;
    const char
        *client;      /* after "pthread_create EAGAIN after 3 of 10 threads (5 in the process); " */
    const char *mock; /* mockllm's detail; its name is the detail's first words */
    const char *mock_name;
};

static void set_none(struct ll_thread_counts *c)
{
    (void)c;
}

static void set_cgroup(struct ll_thread_counts *c)
{
    c->pids_current = c->pids_max = 64;
    snprintf(c->pids_cgroup, sizeof(c->pids_cgroup), "/sys/fs/cgroup/x");
}

static void set_nproc(struct ll_thread_counts *c)
{
    c->user_tasks = 1000;
}

static void set_threads_max(struct ll_thread_counts *c)
{
    c->sys_tasks = 99990;
}

static void set_pid_max(struct ll_thread_counts *c)
{
    c->sys_tasks = 32500;
}

static void set_maps(struct ll_thread_counts *c)
{
    c->maps = 65530;
}

static void set_as(struct ll_thread_counts *c)
{
    c->as_kb = 102400;
    c->vm_kb = 98304;
}

static void set_avail(struct ll_thread_counts *c)
{
    c->mem_avail_kb = 10240;
}

static void set_commit(struct ll_thread_counts *c)
{
    c->overcommit = 2;
    c->committed_kb = 2097152;
    c->commit_limit_kb = 2100000;
}

static const struct words cases[] = {
    {"nothing", set_none, LL_TW_UNKNOWN,
     "no counter at its limit (cgroup pids -1/-1, 200 tasks of threads-max 100000 and pid_max "
     "32768, 50 of max_map_count 65530 mappings, MemAvailable 1000000 KiB)",
     "unknown (none met by the figures read: 7 serving threads, 200 tasks on the system, "
     "RLIMIT_NPROC 1000, 50 mappings, errno 11)",
     "unknown"},
    {"cgroup", set_cgroup, LL_TW_CGROUP_PIDS,
     "met cgroup pids.max 64 (pids.current 64 in /sys/fs/cgroup/x)",
     "cgroup pids.max 64: 64 tasks in the cgroup (7 serving threads here)", "cgroup pids.max"},
    {"nproc", set_nproc, LL_TW_NPROC, "met RLIMIT_NPROC 1000 (1000 tasks of this user)",
     "RLIMIT_NPROC 1000: 1000 tasks of this user (7 serving threads here)", "RLIMIT_NPROC"},
    {"threads-max", set_threads_max, LL_TW_THREADS_MAX,
     "met threads-max 100000 (99990 tasks on the system)",
     "kernel.threads-max 100000: 99990 tasks on the system (7 here)", "kernel.threads-max"},
    {"pid_max", set_pid_max, LL_TW_PID_MAX, "met pid_max 32768 (32500 tasks on the system)",
     "kernel.pid_max 32768: 32500 tasks on the system (7 here)", "kernel.pid_max"},
    {"maps", set_maps, LL_TW_MAP_COUNT,
     "met max_map_count 65530 (65530 mappings; two per thread stack)",
     "vm.max_map_count 65530: 65530 mappings (7 serving threads, 2 each)", "vm.max_map_count"},
    {"RLIMIT_AS", set_as, LL_TW_ADDRESS_SPACE,
     "met RLIMIT_AS 102400 KiB (VmSize 98304 KiB + a 8192 KiB stack)",
     "RLIMIT_AS 100 MiB: 96 MiB mapped, a thread's stack needs 8 MiB more", "RLIMIT_AS"},
    {"MemAvailable", set_avail, LL_TW_MEMORY,
     "met memory (a 8192 KiB stack, MemAvailable 10240 KiB)",
     "memory 10 MiB available, a stack needs 8 MiB (7 threads here)", "memory"},
    {"CommitLimit", set_commit, LL_TW_MEMORY,
     "met memory (a 8192 KiB stack, MemAvailable 1000000 KiB)",
     "memory (vm.overcommit_memory 2): CommitLimit 2050 MiB, committed 2048 MiB, a stack needs "
     "8 MiB",
     "memory"},
};

/* test_sys.c's base: room everywhere, 8 MiB stacks, EAGAIN after 3 of 10 threads. */
static void base(struct ll_thread_wall *w)
{
    memset(w, 0, sizeof(*w));
    w->started = 3;
    w->wanted = 10;
    struct ll_thread_counts *c = &w->sys;
    c->err = EAGAIN;
    c->stack_size = 8 << 20;
    c->proc_threads = 5;
    c->nproc = 1000;
    c->user_tasks = 100;
    c->sys_tasks = 200;
    c->threads_max = 100000;
    c->pid_max = 32768;
    c->pids_current = c->pids_max = -1;
    c->maps = 50;
    c->max_map_count = 65530;
    c->vm_kb = 100000;
    c->as_kb = -1;
    c->stack_kb = 8192;
    c->mem_avail_kb = 1000000;
    c->committed_kb = c->commit_limit_kb = -1;
}

static void test_sys_words_both(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct words *k = &cases[i];
        struct ll_thread_wall w;
        struct mock_syslimit m;
        char line[600], want[600];
        base(&w);
        k->set(&w.sys);
        w.sys.wall = ll_thread_wall_decide(&w.sys);
        print_message("  %s: %s\n", k->name, ll_thread_wall_name(w.sys.wall));
        assert_int_equal(w.sys.wall, k->wall);
        ll_thread_wall_describe(line, sizeof(line), &w);
        snprintf(want, sizeof(want),
                 "pthread_create EAGAIN after 3 of 10 threads (5 in the process); %s", k->client);
        assert_string_equal(line, want);
        mock_syslimit_name(&w.sys, SERVING, &m);
        assert_string_equal(m.name, k->mock_name);
        assert_string_equal(m.detail, k->mock);
        cJSON *j = ll_thread_wall_json(&w);
        assert_non_null(j);
        assert_string_equal(cJSON_GetObjectItem(j, "wall")->valuestring,
                            ll_thread_wall_name(k->wall));
        assert_string_equal(cJSON_GetObjectItem(j, "line")->valuestring, line);
        assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "rlimit_as_kb")) == (w.sys.as_kb < 0));
        cJSON_Delete(j);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sys_words_both),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
