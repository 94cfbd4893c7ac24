/* ll_testutil.h - helpers shared by the cmocka tests (library ll_testutil, tests/CMakeLists.txt):
 * the per-test mockllm fixture, the client config that points at one mock base URL, timing,
 * descriptor and RSS counts from /proc, and figures read from mockllm's /metrics.
 *
 * Link: ll_testutil brings ll_common, libcurl and cmocka. ll_test_warm_up() alone also needs
 * ll_backends (it sits in its own object file, so tests that never call it need not link it).
 */
#ifndef LL_TESTUTIL_H
#define LL_TESTUTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ll_backend.h"
#include "ll_client.h"
#include "ll_mockproc.h"

/* 1 when built with ASan or TSan (GCC's __SANITIZE_* or clang's __has_feature), else 0. */
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define LL_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define LL_TEST_SANITIZED 1
#endif
#endif
#ifndef LL_TEST_SANITIZED
#define LL_TEST_SANITIZED 0
#endif

/* --- timing ------------------------------------------------------------------------------ */

/* Milliseconds from t0 (an ll_now_ns() reading) to now. */
double ll_test_ms_since(int64_t t0);

/* --- client config and the per-test mockllm fixture -------------------------------------- */

/* ll_config_defaults(cfg), then one base URL (urls[0] = base_url, kept by pointer: urls must
 * outlive the config), concurrency 4, a 10 s timeout and no retry (max_attempts 1). */
void ll_test_config_mock(struct ll_config *cfg, const char **urls, const char *base_url);

/* ll_config_defaults(cfg) and one base URL nothing listens on (http://127.0.0.1:9/v1), for
 * clients that are created but never reach a server. */
void ll_test_config_closed(struct ll_config *cfg);

/* A mockllm of the test's own and a client config pointing at it. */
struct ll_test_fixture {
    struct ll_mockproc mock;
    const char *urls[1];
    struct ll_config cfg;     /* ll_test_config_mock() on mock.base_url; tests may change it */
    struct ll_client *client; /* NULL until ll_test_client_start(); destroyed by teardown */
};

/* cmocka setup: calloc a fixture into *state, start mockllm (no extra args, 10 s to listen) and
 * fill cfg. -1 (nothing left running) when mockllm cannot be started. */
int ll_test_fixture_setup(void **state);

/* cmocka teardown: destroy the client if any, stop mockllm (5 s), free the fixture. 0 when
 * mockllm exited cleanly, else -1. */
int ll_test_fixture_teardown(void **state);

/* A cmocka test entry that runs fn between ll_test_fixture_setup and ll_test_fixture_teardown. */
#define LL_TEST_FIXTURE_TEST(fn)                                                                   \
    cmocka_unit_test_setup_teardown(fn, ll_test_fixture_setup, ll_test_fixture_teardown)

/* Create f->client on backend `be` with f->cfg (asserted). */
void ll_test_client_start(struct ll_test_fixture *f, const struct ll_backend *be);

/* Submit one non-streaming "Say hello." request (max_tokens 8) with up to three extra headers
 * (the first NULL ends the list). The call is asserted submitted and non-NULL. */
struct ll_call *ll_test_submit(struct ll_test_fixture *f, const char *h0, const char *h1,
                               const char *h2);

/* Open and destroy one client of every backend (pointed at a closed port), so that one-time
 * process state (libuv's signal pipe, curl's) is opened before any descriptor count is taken.
 * Needs ll_backends. */
void ll_test_warm_up(void);

/* --- mockllm's concurrency models --------------------------------------------------------- */

/* The model the mock tests run mockllm with (mockllm --model): $LL_MOCK_MODEL, "loop" when
 * unset. tests/mock.cmake registers each mock test once per model, so that the thread-per-
 * connection server passes the conformance tests the loop server passes. */
const char *ll_test_mock_model(void);

/* "BASE (--model M)": a cmocka group's name that says which mockllm model it ran against.
 * Points into a static buffer, valid until the next call; main thread. */
const char *ll_test_mock_group(const char *base);

/* ll_mockproc_start(m, NULL, args, timeout_ms) with "--model" ll_test_mock_model() in front of
 * args (NULL-terminated, may be NULL; at most 30). 0 or LL_E*. */
int ll_test_mock_start(struct ll_mockproc *m, const char *const *args, int timeout_ms);

/* --- this process and mockllm's, from /proc ---------------------------------------------- */

/* Open descriptors of `pid` (0: this process), or -1. */
int ll_test_fd_count(pid_t pid);

/* Resident set size in KiB (VmRSS of /proc/PID/status; pid 0: this process), or -1. */
long ll_test_rss_kb(pid_t pid);

/* A number of /proc/PID/status (pid 0: this process): key "Threads", "VmSize" (KiB), ...; -1
 * when the process or the key is not there (ll_sys_read_key). */
long ll_test_status(pid_t pid, const char *key);

/* --- mockllm's admin endpoints and /metrics ---------------------------------------------- */

/* GET (post == false) or POST (empty body) http://host:port<path> with a fresh easy handle and
 * a 10 s timeout. Returns the malloc'd body, or NULL when the request failed. */
char *ll_test_http(const char *host, int port, const char *path, bool post);

/* ll_test_http(host, port, "/metrics", false). */
char *ll_test_metrics_get(const char *host, int port);

/* Sum of every sample of metric `name` (any labels) in Prometheus text, or -1 when none.
 * label_filter, when not NULL, must appear inside the sample's {...}. */
long long ll_test_metric_sum(const char *text, const char *name, const char *label_filter);

/* The first sample of metric `name` in Prometheus text (its value read as a double, then
 * truncated), or -1 when none (or text is NULL). */
long long ll_test_metric_first(const char *text, const char *name);

/* ll_test_metric_first() on a fresh scrape of mockllm m's /metrics; -1 when the scrape fails. */
long long ll_test_mock_metric(const struct ll_mockproc *m, const char *name);

/* Let c's requests progress (ll_client_progress in 5 ms steps) until mockllm m's gauge `name`
 * (e.g. "mockllm_in_flight") reads at least `want`, or timeout_ms passes: readiness by a signal
 * from the server, not a guessed sleep. Returns the last value read (-1: no scrape). */
long long ll_test_progress_until(struct ll_client *c, const struct ll_mockproc *m, const char *name,
                                 long long want, int timeout_ms);

/* --- the scripted server (tests/scriptsrv.c): its log is a truth from outside the client --- */

struct ll_test_srv {
    struct ll_mockproc proc; /* proc.base_url is "http://127.0.0.1:PORT/v1" */
    char log[128];           /* its log file (a fresh temporary file) */
};

/* One logged request: server time of arrival (ms), connection and request numbers, and the
 * Authorization header as received ("-" when none). */
struct ll_test_arrival {
    double t_ms;
    int conn, n;
    bool stream;
    char auth[128];
};

/* Start $LL_SCRIPTSRV (ll_scriptsrv) with `script` (see tests/scriptsrv.c); readiness by its
 * "listening" line. 0, or -1 when it cannot start. */
int ll_test_srv_start(struct ll_test_srv *s, const char *script);

/* Stop it (SIGTERM, by PID) and remove its log. 0 when it exited cleanly. */
int ll_test_srv_stop(struct ll_test_srv *s);

/* The requests logged so far, in arrival order: up to max into out; returns how many. */
int ll_test_srv_arrivals(const struct ll_test_srv *s, struct ll_test_arrival *out, int max);

/* How many log lines are of `event` ("accept", "request", "eof", ...), or -1. */
int ll_test_srv_count(const struct ll_test_srv *s, const char *event);

/* The time (ms, server clock) of the first "eof" of connection `conn`, or -1. */
double ll_test_srv_eof_ms(const struct ll_test_srv *s, int conn);

/* --- skipping honestly ------------------------------------------------------------------- */

/* ctest's skip code (SKIP_RETURN_CODE 77 on every ll_add_test). */
#define LL_TEST_SKIPPED 77

/* Print why, remember it, and skip this cmocka test (cmocka itself would report "Passed"). */
#define ll_test_skip(...)                                                                          \
    do {                                                                                           \
        ll_test__skipped(__VA_ARGS__);                                                             \
        skip();                                                                                    \
    } while (0)
void ll_test__skipped(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Remember `--only GLOB` and `--except GLOB` (each repeatable) from argv: ll_test_run_group then
 * runs only the cases they select, so that a case that may be skipped on some machines gets its
 * own ctest entry (tests/CMakeLists.txt: ll_add_test SPLIT) and shows as SKIPPED there without
 * hiding the results of the others. */
void ll_test_args(int argc, char **argv);

/* cmocka_run_group_tests_name over the selected cases of tests[0..n) (compacted in place); a
 * group with none selected is not run at all (nor its setup). Returns the failed count. */
struct CMUnitTest;
int ll_test_run_group(const char *name, struct CMUnitTest *tests, size_t n, int (*setup)(void **),
                      int (*teardown)(void **));
#define LL_TEST_RUN_GROUP(name, tests, setup, teardown)                                            \
    ll_test_run_group(name, tests, sizeof(tests) / sizeof((tests)[0]), setup, teardown)

/* A test program's exit code from cmocka's failed count: 1 when any failed, LL_TEST_SKIPPED
 * when none failed and one was skipped, else 0. */
int ll_test_exit_code(int failed);

#endif
