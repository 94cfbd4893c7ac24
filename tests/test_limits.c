/* test_limits.c - local limits are reported, not suffered (issue 5), on both backends.
 *
 *   - the errno -> limit table and ll_xfer_limit(): EMFILE/ENFILE -> descriptors,
 *     ENOMEM/ENOBUFS -> memory, EADDRNOTAVAIL -> ports; a stale CURLINFO_OS_ERRNO on a
 *     non-connect failure is not taken for a limit;
 *   - descriptors, per backend: mockllm (started first, so it keeps its own limit) answers after
 *     300 ms; this process lowers RLIMIT_NOFILE's soft limit to 64 and runs 200 requests at
 *     concurrency 200. Every request comes back exactly once; each one either succeeded or is
 *     RESOURCE with limit "descriptors", in one attempt (never retried); at least one of each;
 *     the run's stats count them by limit and the report line names the limit and RLIMIT_NOFILE;
 *     after the client is gone the descriptors are back to their start;
 *   - threads: the threaded backend with a stack no mapping can hold, and in a child with
 *     RLIMIT_NPROC lowered (as root the child runs as nobody: root is exempt) and with
 *     RLIMIT_AS lowered (skipped under sanitizers), fails create() with LL_ELIMIT and leaves no
 *     thread behind. The last two are ctest entries of their own (test_limits_nproc,
 *     test_limits_as) so that a skip shows as SKIPPED. With cfg.thread_wall set, the wall is
 *     named from the counters read when pthread_create failed: EAGAIN after 0 threads and
 *     "memory" for the stack larger than all memory, "RLIMIT_NPROC" for the child's user,
 *     "RLIMIT_AS" with some threads started under the lowered address space;
 *   - the /proc watch (ll_proc.h) counts this process's descriptors exactly (+5 after five
 *     opens), still counts them when RLIMIT_NOFILE leaves no descriptor to open, and says a
 *     watched process that exited is gone.
 */
#include <errno.h>
#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "ll_backend.h"
#include "ll_client.h"
#include "ll_clock.h"
#include "ll_mockproc.h"
#include "ll_proc.h"
#include "ll_report.h"
#include "ll_stats.h"
#include "ll_xfer.h"
#include "ll_testutil.h"

#define N_REQ   200
#define NOFILE  64
#define WAIT_NS (30 * 1000000000LL)
#define LATENCY "--latency-ms=300"

static const struct ll_message hello[] = {{"user", "Write a haiku about limits."}};

static void test_limits_table(void **state)
{
    (void)state;
    assert_int_equal(ll_limit_from_errno(EMFILE), LL_LIMIT_DESCRIPTORS);
    assert_int_equal(ll_limit_from_errno(ENFILE), LL_LIMIT_DESCRIPTORS);
    assert_int_equal(ll_limit_from_errno(ENOMEM), LL_LIMIT_MEMORY);
    assert_int_equal(ll_limit_from_errno(ENOBUFS), LL_LIMIT_MEMORY);
    assert_int_equal(ll_limit_from_errno(EADDRNOTAVAIL), LL_LIMIT_PORTS);
    assert_int_equal(ll_limit_from_errno(ECONNREFUSED), LL_LIMIT_NONE);
    assert_int_equal(ll_limit_from_errno(0), LL_LIMIT_NONE);
    assert_string_equal(ll_limit_name(LL_LIMIT_DESCRIPTORS), "descriptors");
    assert_string_equal(ll_limit_name(LL_LIMIT_THREADS), "threads");
    assert_string_equal(ll_limit_name(LL_LIMIT_PORTS), "ports");

    /* a failed socket() decides, whatever curl's (stale) os errno says */
    assert_int_equal(ll_xfer_limit(CURLE_COULDNT_CONNECT, false, EMFILE, ECONNREFUSED),
                     LL_LIMIT_DESCRIPTORS);
    assert_int_equal(ll_xfer_limit(CURLE_COULDNT_CONNECT, false, 0, EADDRNOTAVAIL), LL_LIMIT_PORTS);
    assert_int_equal(ll_xfer_limit(CURLE_COULDNT_CONNECT, false, 0, ECONNREFUSED), LL_LIMIT_NONE);
    assert_int_equal(ll_xfer_limit(CURLE_OUT_OF_MEMORY, false, 0, 0), LL_LIMIT_MEMORY);
    assert_int_equal(ll_xfer_limit(CURLE_WRITE_ERROR, false, 0, 0), LL_LIMIT_MEMORY);
    assert_int_equal(ll_xfer_limit(CURLE_WRITE_ERROR, true, 0, 0), LL_LIMIT_NONE);
    /* curl leaves os errno stale across transfers: a timeout is never read as a limit */
    assert_int_equal(ll_xfer_limit(CURLE_OPERATION_TIMEDOUT, false, 0, EMFILE), LL_LIMIT_NONE);
    assert_int_equal(ll_xfer_limit(CURLE_OK, false, 0, EMFILE), LL_LIMIT_NONE);
    /* the CA file that could not be opened for a TLS connection: OpenSSL's errno decides */
    assert_int_equal(ll_xfer_limit(CURLE_SSL_CACERT_BADFILE, false, 0, EMFILE),
                     LL_LIMIT_DESCRIPTORS);
    assert_int_equal(ll_xfer_limit(CURLE_SSL_CONNECT_ERROR, false, 0, EMFILE),
                     LL_LIMIT_DESCRIPTORS);
    assert_int_equal(ll_xfer_limit(CURLE_SSL_CACERT_BADFILE, false, 0, 0), LL_LIMIT_NONE);
    assert_int_equal(ll_xfer_limit(CURLE_SSL_CONNECT_ERROR, false, 0, 0), LL_LIMIT_NONE);
}

struct tally {
    long done, ok, resource, other;
    unsigned char seen[N_REQ];
    char first_resource_msg[160];
};

static void collect(struct tally *t, struct ll_stats *s, struct ll_call *call)
{
    long id = (long)(intptr_t)call->res.user;
    assert_true(id >= 0 && id < N_REQ);
    assert_int_equal(t->seen[id], 0); /* exactly one final result per request */
    t->seen[id]++;
    t->done++;
    ll_stats_add_result(s, &call->res, 0);
    if (call->res.cls == LL_CLASS_NONE) {
        t->ok++;
        assert_int_equal(call->res.limit, LL_LIMIT_NONE);
    } else if (call->res.cls == LL_CLASS_RESOURCE) {
        t->resource++;
        assert_int_equal(call->res.limit, LL_LIMIT_DESCRIPTORS);
        assert_int_equal(call->res.attempts, 1); /* a limit is not retried */
        if (t->first_resource_msg[0] == '\0') {
            snprintf(t->first_resource_msg, sizeof(t->first_resource_msg), "%s", call->res.errmsg);
        }
    } else {
        t->other++;
        print_message("  unexpected %s: %s\n", ll_class_name(call->res.cls), call->res.errmsg);
    }
    ll_call_free(call);
}

static void test_limits_descriptors(void **state)
{
    const char *name = *state;
    const struct ll_backend *be = ll_backend_find(name);
    const char *args[] = {LATENCY, NULL};
    struct ll_mockproc m;
    struct ll_client *c = NULL;
    struct ll_config cfg;
    struct ll_stats s;
    struct rlimit saved, low;
    static struct tally t;
    char line[256];

    memset(&t, 0, sizeof(t));
    assert_non_null(be);
    assert_int_equal(ll_stats_init(&s, NULL), 0);
    assert_int_equal(ll_mockproc_start(&m, NULL, args, 10000), 0); /* before the limit drops */
    const char *urls[1];
    ll_test_config_mock(&cfg, urls, m.base_url); /* 10 s timeout */
    cfg.concurrency = N_REQ;
    cfg.retry.max_attempts = 4; /* retries on: a limit must still end in one attempt */
    cfg.retry.base_ms = 1;
    cfg.retry.cap_ms = 5;

    int fds0 = ll_test_fd_count(0);
    assert_true(fds0 > 0 && fds0 < NOFILE - 16);
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
    low = saved;
    low.rlim_cur = NOFILE;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    ll_stats_res_begin(&s); /* reads the lowered limit for the report line */

    assert_int_equal(ll_client_create(be, &cfg, &c), 0);
    for (long i = 0; i < N_REQ; i++) {
        struct ll_request req = {
            .messages = hello, .n_messages = 1, .max_tokens = 8, .user = (void *)(intptr_t)i};
        struct ll_call *call = NULL;
        assert_int_equal(ll_client_submit(c, &req, &call), 0);
        ll_stats_note_submit(&s, ll_now_ns(), 0);
    }
    while (t.done < N_REQ) {
        struct ll_call *call = ll_client_next(c, WAIT_NS);
        assert_non_null(call); /* no hang */
        collect(&t, &s, call);
    }
    assert_null(ll_client_next(c, 0));
    struct ll_be_stats bs;
    memset(&bs, 0, sizeof(bs));
    ll_client_sample(c, &bs);
    ll_stats_set_backend(&s, &bs);
    ll_client_destroy(c);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
    int fds1 = ll_test_fd_count(0);

    ll_report_limit_line(line, sizeof(line), &s, LL_LIMIT_DESCRIPTORS);
    print_message("  %s: %ld ok, %ld resource, %ld other; fds %d -> %d\n  %s\n  first: %s\n", name,
                  t.ok, t.resource, t.other, fds0, fds1, line, t.first_resource_msg);
    assert_int_equal(ll_mockproc_stop(&m, 5000), 0);

    assert_int_equal(t.done, N_REQ);
    assert_int_equal(t.ok + t.resource, N_REQ);
    assert_true(t.ok > 0);
    assert_true(t.resource > 0);
    assert_non_null(strstr(t.first_resource_msg, "Too many open files"));
    assert_int_equal(s.by_class[LL_CLASS_RESOURCE], (uint64_t)t.resource);
    assert_int_equal(s.by_limit[LL_LIMIT_DESCRIPTORS], (uint64_t)t.resource);
    assert_int_equal(ll_stats_limit_met(&s), LL_LIMIT_DESCRIPTORS);
    assert_true(ll_stats_accounting_ok(&s));
    char want[96];
    snprintf(want, sizeof(want),
             "local limit met: descriptors (%ld requests failed; "
             "RLIMIT_NOFILE soft %d hard ",
             t.resource, NOFILE);
    assert_non_null(strstr(line, want));
    assert_int_equal(fds1, fds0);
    ll_stats_free(&s);
}

static int threads_now(void)
{
    return ll_proc_threads();
}

/* In a child: lower `res` to `lim`, create the threaded backend with n threads of `stack` bytes.
 * As root, an RLIMIT_NPROC child runs as nobody (root is exempt from that limit).
 * Exit 0: LL_ELIMIT and no thread left; 4: the limit did not bind; 6: cannot become nobody;
 * 3, 5: failure. */
static int child_create(int res, rlim_t lim, int n, size_t stack)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit rl = {lim, lim};
        struct ll_config cfg;
        struct ll_be *b = NULL;
        ll_test_config_closed(&cfg);
        cfg.concurrency = n;
        cfg.stack_size = stack;
        struct ll_thread_wall tw = {0};
        cfg.thread_wall = &tw;
        int before = threads_now();
        if (res == RLIMIT_NPROC && geteuid() == 0 &&
            (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)) {
            _exit(6); /* root is exempt from RLIMIT_NPROC: run as nobody, or not at all */
        }
        if (setrlimit(res, &rl) != 0) {
            _exit(3);
        }
        int err = ll_backend_find("threaded")->create(&cfg, &b);
        if (err == 0) {
            ll_backend_find("threaded")->destroy(b);
            _exit(4);
        }
        if (err != LL_ELIMIT || threads_now() != before) {
            _exit(5);
        }
        /* named from the counters read at the failure: 7 when not the limit lowered here */
        enum ll_thread_wall_kind want = res == RLIMIT_AS ? LL_TW_ADDRESS_SPACE : LL_TW_NPROC;
        _exit(tw.sys.err == EAGAIN && tw.sys.wall == want && tw.started < n ? 0 : 7);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static void test_limits_threads(void **state)
{
    (void)state;
    const struct ll_backend *be = ll_backend_find("threaded");
    struct ll_config cfg;
    struct ll_be *b = NULL;
    ll_test_config_closed(&cfg);
    cfg.concurrency = 4;
    cfg.stack_size = (size_t)1 << 46; /* 64 TiB per thread: no mapping that large can succeed */
    struct ll_thread_wall tw = {0};
    cfg.thread_wall = &tw;
    int before = threads_now();
    assert_int_equal(be->create(&cfg, &b), LL_ELIMIT);
    assert_null(b);
    assert_int_equal(threads_now(), before);
    char line[600];
    ll_thread_wall_describe(line, sizeof(line), &tw);
    print_message("  64 TiB stacks: %s\n", line);
    assert_int_equal(tw.sys.err, EAGAIN);
    assert_int_equal(tw.started, 0);
    assert_int_equal(tw.wanted, 4);
    assert_int_equal(tw.sys.wall, LL_TW_MEMORY);
    assert_true(tw.sys.proc_threads >= 1 && tw.sys.pid_max > 0 && tw.sys.threads_max > 0);
    assert_non_null(strstr(line, "pthread_create EAGAIN after 0 of 4 threads"));
}

/* RLIMIT_NPROC counts every thread of this user. Root is exempt (CAP_SYS_RESOURCE), so as root
 * the child first becomes nobody (65534), for whom the limit binds; where it cannot, the case
 * is skipped, not passed. */
static void test_limits_threads_nproc(void **state)
{
    (void)state;
    int rc = child_create(RLIMIT_NPROC, 1, 8, 0);
    print_message("  RLIMIT_NPROC=1, 8 threads%s: %s\n", geteuid() == 0 ? " (as nobody)" : "",
                  rc == 0   ? "LL_ELIMIT"
                  : rc == 4 ? "not binding here"
                  : rc == 6 ? "cannot become nobody"
                  : rc == 7 ? "LL_ELIMIT, but the wall named is not RLIMIT_NPROC"
                            : "FAILED");
    if (rc == 6 || (rc == 4 && geteuid() == 0)) {
        ll_test_skip("RLIMIT_NPROC does not bind here (root, and cannot run the child as nobody)");
    }
    assert_int_equal(rc, 0);
}

/* RLIMIT_AS with room for a few 16 MiB stacks of the 64 asked: the pool fails partway. */
static void test_limits_threads_as(void **state)
{
    (void)state;
    if (LL_TEST_SANITIZED) {
        ll_test_skip("RLIMIT_AS: a sanitizer's shadow memory needs the address space");
    }
    long vm = ll_test_status(0, "VmSize");
    assert_true(vm > 0);
    rlim_t lim = (rlim_t)vm * 1024 + ((rlim_t)56 << 20);
    assert_int_equal(child_create(RLIMIT_AS, lim, 64, (size_t)16 << 20), 0);
}

/* A child that waits to be killed: a process beside us to watch. */
static pid_t child_pause(void)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        pause();
        _exit(0);
    }
    return pid;
}

static void test_limits_watch(void **state)
{
    (void)state;
    struct ll_proc_watch w;
    struct ll_proc_sample a, b;
    int fds[5];
    assert_int_equal(ll_proc_watch_open(&w, 0), 0);
    assert_int_equal(ll_proc_watch_sample(&w, true, &a), 0);
    assert_int_equal(a.fds, ll_proc_fds(0) - 2); /* the watch's own two are left out */
    assert_true(a.threads >= 1 && a.rss_kb > 0 && a.cpu_s >= 0);
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(pipe(fds + 2), 0);
    fds[4] = dup(0);
    assert_int_equal(ll_proc_watch_sample(&w, true, &b), 0);
    assert_int_equal(b.fds, a.fds + 5);
    /* No descriptor left to open: the watch still counts, a fresh look cannot. */
    struct rlimit old, rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    rl = old;
    int lowest = dup(0); /* the lowest free number: every one below it is taken */
    close(lowest);
    rl.rlim_cur = (rlim_t)lowest;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    assert_true(ll_proc_fds(0) < 0); /* opendir itself met EMFILE */
    assert_int_equal(ll_proc_watch_sample(&w, true, &b), 0);
    assert_int_equal(b.fds, a.fds + 5);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    int64_t soft = 0, hard = 0;
    assert_int_equal(ll_proc_nofile(0, &soft, &hard), 0);
    assert_true(soft == (old.rlim_cur == RLIM_INFINITY ? -1 : (int64_t)old.rlim_cur));
    for (int i = 0; i < 5; i++) {
        close(fds[i]);
    }
    ll_proc_watch_close(&w);

    /* Another process: seen while it runs, gone once it exited. */
    pid_t pid = child_pause();
    int opened = ll_proc_watch_open(&w, (int)pid);
    int sampled = opened == 0 ? ll_proc_watch_sample(&w, true, &a) : -1;
    /* The child goes before any assertion: a failed one would leave it holding ctest's pipe,
     * and the test would hang to its timeout instead of failing. */
    kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    assert_int_equal(opened, 0);
    assert_int_equal(sampled, 0);
    /* Our child runs one thread; TSan's runtime may start its own background thread in a
     * forked child (seen under load: 2). */
    assert_true(a.threads == 1 || (LL_TEST_SANITIZED && a.threads == 2));
    assert_true(a.fds >= 3);
    assert_int_equal(ll_proc_watch_sample(&w, true, &b), LL_ENOENT);
    ll_proc_watch_close(&w);
}

int main(int argc, char **argv)
{
    curl_global_init(CURL_GLOBAL_ALL);
    ll_test_warm_up(); /* before any descriptor count is taken */
    ll_test_args(argc, argv);
    struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limits_table),
        cmocka_unit_test_prestate(test_limits_descriptors, (void *)"threaded"),
        cmocka_unit_test_prestate(test_limits_descriptors, (void *)"evented"),
        cmocka_unit_test(test_limits_threads),
        cmocka_unit_test(test_limits_threads_nproc),
        cmocka_unit_test(test_limits_threads_as),
        cmocka_unit_test(test_limits_watch),
    };
    int failed = LL_TEST_RUN_GROUP("limits", tests, NULL, NULL);
    curl_global_cleanup();
    return ll_test_exit_code(failed);
}
