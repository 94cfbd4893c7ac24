/* test_mock_models.c - what mockllm's concurrency models (--model loop, --model threads) must
 * share beyond the per-feature suites, and where each stops. Run once per model (tests/mock.cmake:
 * test_mock_models, test_mock_models_threads); each test starts its own mockllm (ll_mockproc) and
 * stops it by PID.
 *
 *   capacity       --max-running 2 over connections that each wait 200 ms: six requests finish
 *                  in three waves, in the order they arrived, and all six count as in flight.
 *   stop           SIGTERM: an idle keep-alive connection closes at once, an answer being
 *                  waited for still comes (with Connection: close), then a clean exit.
 *   grace          an answer due after --grace-ms is dropped at the end of the grace period.
 *   threads        mockllm_threads against the kernel's count of the process's threads: the
 *                  loop's one, or the acceptor plus one per connection.
 *   nofile         a lowered RLIMIT_NOFILE (prlimit on the running server): accept() fails with
 *                  EMFILE, counted by errno on /metrics and in the summary line.
 *   thread_limit   (--model threads) a lowered RLIMIT_AS: threads cannot start; the connections
 *                  are closed unserved and /metrics and the summary name EAGAIN and RLIMIT_AS.
 *                  (RLIMIT_NPROC, the usual wall, is not enforced for root, which these tests
 *                  may run as; the address space limit is per process and exact.)
 * Bounds are orderings and wide multiples of the configured latencies.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ll_clock.h"
#include "ll_mockproc.h"
#include "ll_testutil.h"

#define BODY                                                                                       \
    "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":3}"

static struct ll_mockproc mp;
static char errfile[64]; /* mockllm's stderr, when a test captured it */

static bool threads_model(void)
{
    return strcmp(ll_test_mock_model(), "threads") == 0;
}

/* Start mockllm with its stderr in a file of our own (its summary lines), restored after. */
static void start_capture(const char *const *args)
{
    snprintf(errfile, sizeof(errfile), "/tmp/ll_mock_models_%d.err", (int)getpid());
    int fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int saved = dup(2);
    assert_true(fd >= 0 && saved >= 0);
    dup2(fd, 2);
    int rc = ll_test_mock_start(&mp, args, 10000);
    dup2(saved, 2);
    close(saved);
    close(fd);
    assert_int_equal(rc, 0);
}

/* What mockllm wrote on stderr (after it stopped), malloc'd. */
static char *captured(void)
{
    static char buf[16384];
    FILE *f = fopen(errfile, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    unlink(errfile);
    fputs(buf, stderr); /* for the log */
    return strdup(buf);
}

/* Wait (bounded) for mockllm to exit by itself; its exit status. */
static int wait_exit(int ms)
{
    int status = 0;
    for (int i = 0; i < ms / 10; i++) {
        if (waitpid(mp.pid, &status, WNOHANG) == mp.pid) {
            mp.pid = -1; /* the teardown has nothing left to stop */
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        usleep(10 * 1000);
    }
    return -1;
}

static int teardown(void **state)
{
    int rc = ll_mockproc_stop(&mp, 15000);
    assert_int_equal(rc, 0); /* exit 0: clean shutdown */
    return 0;
}

static int dial(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)mp.port)};
    inet_pton(AF_INET, mp.host, &a.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

/* Send a chat request on fd, waiting latency_ms in mockllm (keep-alive unless closes). */
static void ask(int fd, int latency_ms, bool closes)
{
    char req[512];
    int n = snprintf(req, sizeof(req),
                     "POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\n%s"
                     "x-mock-latency-ms: %d\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     closes ? "Connection: close\r\n" : "", latency_ms, strlen(BODY), BODY);
    assert_int_equal(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
}

/* Read one answer (headers and a Content-Length body) within timeout_ms; its length, 0 at EOF
 * before any byte, -1 on timeout. */
static int answer(int fd, char *out, size_t cap, int timeout_ms)
{
    size_t len = 0;
    int64_t t0 = ll_now_ns();
    out[0] = '\0';
    for (;;) {
        const char *h = strstr(out, "\r\n\r\n"), *cl = strstr(out, "Content-Length: ");
        if (h != NULL && cl != NULL && len >= (size_t)(h + 4 - out) + strtoul(cl + 16, NULL, 10)) {
            return (int)len;
        }
        int left = timeout_ms - (int)((ll_now_ns() - t0) / LL_NS_PER_MS);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, left) != 1) {
            return -1;
        }
        ssize_t n = recv(fd, out + len, cap - 1 - len, 0);
        if (n <= 0) {
            return (int)len;
        }
        len += (size_t)n;
        out[len] = '\0';
    }
}

/* Poll mockllm's gauge `name` until it reads `want` (bounded). */
static void await_metric(const char *name, long long want)
{
    long long v = -1;
    for (int i = 0; i < 500 && v != want; i++) {
        v = ll_test_mock_metric(&mp, name);
        if (v != want) {
            usleep(10 * 1000);
        }
    }
    assert_int_equal(v, want);
}

/* Threads of a process, from /proc/PID/status. */
static long proc_threads(pid_t pid)
{
    return ll_test_status(pid, "Threads");
}

/* ---- shared behaviour ---- */

static void test_mock_models_capacity(void **state)
{
    static const char *const args[] = {"--max-running", "2", NULL};
    enum { N = 6, LAT = 200 };
    int fds[N];
    int64_t done_ms[N];
    char out[4096];
    assert_int_equal(ll_test_mock_start(&mp, args, 10000), 0);
    int64_t t0 = ll_now_ns();
    for (int i = 0; i < N; i++) { /* one at a time, so that the arrival order is known */
        fds[i] = dial();
        ask(fds[i], LAT, false);
        await_metric("mockllm_in_flight", i + 1);
    }
    int64_t sent_ms = (ll_now_ns() - t0) / LL_NS_PER_MS;
    for (int i = 0; i < N; i++) {
        assert_true(answer(fds[i], out, sizeof(out), 10000) > 0);
        assert_non_null(strstr(out, "HTTP/1.1 200 OK"));
        done_ms[i] = (ll_now_ns() - t0) / LL_NS_PER_MS;
        close(fds[i]);
    }
    print_message("  --max-running 2, %d x %d ms: sent by %lld ms, done at %lld %lld %lld %lld "
                  "%lld %lld ms\n",
                  N, LAT, (long long)sent_ms, (long long)done_ms[0], (long long)done_ms[1],
                  (long long)done_ms[2], (long long)done_ms[3], (long long)done_ms[4],
                  (long long)done_ms[5]);
    for (int i = 0; i < N; i++) { /* wave i/2 starts when the one before it ends */
        assert_true(done_ms[i] >= (i / 2 + 1) * LAT - 10);
    }
    assert_true(done_ms[4] >= done_ms[1] + LAT - 10); /* FIFO: the third pair after the first */
    assert_true(done_ms[N - 1] < sent_ms + 10 * LAT);
    assert_int_equal(ll_test_mock_metric(&mp, "mockllm_in_flight_peak"), N);
}

static void test_mock_models_stop(void **state)
{
    static const char *const args[] = {"--grace-ms", "3000", NULL};
    char out[4096], c;
    assert_int_equal(ll_test_mock_start(&mp, args, 10000), 0);
    int idle = dial(), busy = dial();
    ask(idle, 0, false);
    assert_true(answer(idle, out, sizeof(out), 5000) > 0); /* now idle, kept alive */
    ask(busy, 400, false);
    await_metric("mockllm_in_flight", 1);
    int64_t t0 = ll_now_ns();
    assert_int_equal(kill(mp.pid, SIGTERM), 0);
    struct pollfd p = {.fd = idle, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 2000), 1);
    assert_true(recv(idle, &c, 1, 0) <= 0); /* closed by the stop, long before its timeout */
    int64_t idle_ms = (ll_now_ns() - t0) / LL_NS_PER_MS;
    assert_true(answer(busy, out, sizeof(out), 5000) > 0);
    int64_t busy_ms = (ll_now_ns() - t0) / LL_NS_PER_MS;
    print_message("  stop: idle connection closed after %lld ms, the waited answer came after "
                  "%lld ms\n",
                  (long long)idle_ms, (long long)busy_ms);
    assert_non_null(strstr(out, "HTTP/1.1 200 OK"));
    assert_non_null(strstr(out, "Connection: close"));
    assert_true(idle_ms < 1000);
    close(idle);
    close(busy);
    assert_int_equal(wait_exit(5000), 0); /* every connection done: a clean exit */
}

static void test_mock_models_grace(void **state)
{
    static const char *const args[] = {"--grace-ms", "300", NULL};
    char out[4096];
    assert_int_equal(ll_test_mock_start(&mp, args, 10000), 0);
    int fd = dial();
    ask(fd, 10000, false);
    await_metric("mockllm_in_flight", 1);
    int64_t t0 = ll_now_ns();
    assert_int_equal(kill(mp.pid, SIGTERM), 0);
    int n = answer(fd, out, sizeof(out), 5000);
    int64_t ms = (ll_now_ns() - t0) / LL_NS_PER_MS;
    print_message("  grace: dropped after %lld ms (grace 300 ms)\n", (long long)ms);
    assert_int_equal(n, 0); /* closed, nothing answered */
    assert_true(ms >= 250 && ms < 3000);
    close(fd);
    assert_int_equal(wait_exit(5000), 0);
}

static void test_mock_models_threads(void **state)
{
    enum { N = 20 };
    int fds[N];
    char out[4096];
    assert_int_equal(ll_test_mock_start(&mp, NULL, 10000), 0);
    for (int i = 0; i < N; i++) {
        fds[i] = dial();
        ask(fds[i], 0, false);
        assert_true(answer(fds[i], out, sizeof(out), 5000) > 0); /* held open, kept alive */
    }
    /* The scrape's own connection has its thread too (threads model). */
    long long gauge = ll_test_mock_metric(&mp, "mockllm_threads");
    long kernel = proc_threads(mp.pid);
    long long want = threads_model() ? 1 + N + 1 : 1;
    print_message("  %d connections: mockllm_threads %lld, the kernel counts %ld\n", N, gauge,
                  kernel);
    assert_int_equal(gauge, want);
    /* the scrape's connection may have ended by now; nothing else runs in the process but, in
     * a TSan build, the sanitizer's own background thread */
    assert_true(kernel >= want - 1 && kernel <= want + LL_TEST_SANITIZED);
    for (int i = 0; i < N; i++) {
        close(fds[i]);
    }
    if (threads_model()) {
        await_metric("mockllm_threads", 2); /* the acceptor and the scrape's */
    }
    assert_true(ll_test_mock_metric(&mp, "mockllm_threads_peak") >= want);
}

/* ---- limits, named from evidence ---- */

static void set_limit(int resource, rlim_t soft)
{
    struct rlimit rl;
    assert_int_equal(prlimit(mp.pid, resource, NULL, &rl), 0);
    rl.rlim_cur = soft;
    assert_int_equal(prlimit(mp.pid, resource, &rl, NULL), 0);
}

/* Open n connections each asking for an answer `latency_ms` away; close them all. */
static void burst(int n, int latency_ms)
{
    int *fds = calloc((size_t)n, sizeof(int));
    assert_non_null(fds);
    for (int i = 0; i < n; i++) {
        fds[i] = dial();
        ask(fds[i], latency_ms, true);
    }
    usleep(300 * 1000); /* mockllm takes in what it can */
    for (int i = 0; i < n; i++) {
        close(fds[i]);
    }
    free(fds);
}

static void test_mock_models_nofile(void **state)
{
    start_capture(NULL);
    int fds = ll_test_fd_count(mp.pid);
    assert_true(fds > 0);
    set_limit(RLIMIT_NOFILE, (rlim_t)fds + 3);
    burst(20, 2000);
    set_limit(RLIMIT_NOFILE, 4096); /* room again, for the scrape */
    char *text = ll_test_metrics_get(mp.host, mp.port);
    assert_non_null(text);
    long long emfile = ll_test_metric_sum(text, "mockllm_accept_failures_total", "EMFILE");
    free(text);
    print_message("  RLIMIT_NOFILE %d: accept() failed with EMFILE %lld times\n", fds + 3, emfile);
    assert_true(emfile >= 1);
    assert_int_equal(ll_mockproc_stop(&mp, 15000), 0);
    char *err = captured();
    assert_non_null(strstr(err, "accept() failures: EMFILE"));
    free(err);
    assert_int_equal(ll_test_mock_start(&mp, NULL, 10000), 0); /* for the teardown */
}

/* Kilobytes of a process's address space (VmSize). */
static long vm_kb(pid_t pid)
{
    return ll_test_status(pid, "VmSize");
}

static void test_mock_models_thread_limit(void **state)
{
    if (!threads_model() || LL_TEST_SANITIZED) {
        skip(); /* the loops start no thread per connection; sanitizers map memory of their own */
    }
    struct rlimit stack;
    assert_int_equal(getrlimit(RLIMIT_STACK, &stack), 0);
    start_capture(NULL);
    /* Room for about three more thread stacks (a connection's thread, and the mappings its
     * first allocations make), not for twenty. */
    long kb = vm_kb(mp.pid);
    set_limit(RLIMIT_AS, (rlim_t)kb * 1024 + 3 * stack.rlim_cur);
    burst(20, 2000);
    set_limit(RLIMIT_AS, RLIM_INFINITY);
    await_metric("mockllm_connections_open", 1); /* the scrape's own */
    char *text = ll_test_metrics_get(mp.host, mp.port);
    assert_non_null(text);
    long long failed = ll_test_metric_sum(text, "mockllm_thread_start_failures_total",
                                          "errno=\"EAGAIN\",limit=\"RLIMIT_AS\"");
    free(text);
    print_message("  RLIMIT_AS %ld MiB: %lld connections refused, no thread\n",
                  (long)((kb * 1024 + 3 * (long)stack.rlim_cur) >> 20), failed);
    assert_true(failed >= 10);
    assert_int_equal(ll_mockproc_stop(&mp, 15000), 0);
    char *err = captured();
    assert_non_null(strstr(err, "cannot start a thread: EAGAIN"));
    assert_non_null(strstr(err, "limit met: RLIMIT_AS"));
    free(err);
    assert_int_equal(ll_test_mock_start(&mp, NULL, 10000), 0); /* for the teardown */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_mock_models_capacity, teardown),
        cmocka_unit_test_teardown(test_mock_models_stop, teardown),
        cmocka_unit_test_teardown(test_mock_models_grace, teardown),
        cmocka_unit_test_teardown(test_mock_models_threads, teardown),
        cmocka_unit_test_teardown(test_mock_models_nofile, teardown),
        cmocka_unit_test_teardown(test_mock_models_thread_limit, teardown),
    };
    return cmocka_run_group_tests_name(ll_test_mock_group("mock_models"), tests, NULL, NULL);
}
