/* test_conformance.c - the same behavioural cases run once per backend, through ll_client.
 *
 * One cmocka group per backend (the way curl runs its whole suite again through the event
 * path); every test's prestate is that group's `struct suite`, whose first member is the
 * `const struct ll_backend *`. One mockllm (port 0, readiness by its "listening" line) serves a
 * whole group; scripted outcomes use its per-request headers, and keys carry the backend's name
 * so that the two groups never share a script counter. A last group compares what the scripted
 * equivalence scenario recorded on each backend.
 *
 * What a backend may legitimately do differently (threads it runs, loop figures) is in the
 * `expect` table, nowhere else.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "ll_backend.h"
#include "ll_client.h"
#include "ll_clock.h"
#include "ll_err.h"
#include "ll_mockproc.h"
#include "ll_testutil.h"

/* What is allowed to differ between the backends. */
struct expect {
    const char *name;
    bool pool_threads; /* sample().threads is the pool size (else 0: the client thread runs) */
    bool loop_figures; /* sample() reports loop idle time and a loop-lag histogram */
};

static const struct expect expects[] = {
    {"threaded", true, false},
    {"evented", false, true},
};
enum { N_BACKENDS = sizeof(expects) / sizeof(expects[0]) };

/* The equivalence scenario: one row per request, in submission order. */
enum { EQ_N = 12 };
enum eq_speed { EQ_FAST, EQ_MEDIUM, EQ_SLOW }; /* 0, 150 and 300 ms of server latency */

struct eq_record {
    bool done;
    int status[EQ_N];
    enum ll_class cls[EQ_N];
    int attempts[EQ_N];
    int order[EQ_N]; /* submission index of the k-th call ll_client_next returned */
};

struct suite {
    const struct ll_backend *be; /* first: the group's prestate is "the backend" */
    const struct expect *ex;
    struct ll_mockproc mock; /* one mockllm for the whole group */
    struct eq_record eq;     /* filled by test_conformance_equivalence_run */
};

struct fixture {
    struct suite *s;
    const char *urls[1];
    struct ll_config cfg;
    struct ll_client *client;
};

static const struct ll_message hello[] = {{"user", "Say hello."}};

#define HDRS(...) ((const char *const[]){__VA_ARGS__, NULL})

static int setup(void **state)
{
    struct suite *s = *state;
    struct fixture *f = calloc(1, sizeof(*f));
    if (f == NULL || s->mock.pid <= 0) {
        free(f);
        return -1;
    }
    f->s = s;
    ll_test_config_mock(&f->cfg, f->urls, s->mock.base_url);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (f->client != NULL) {
        ll_client_destroy(f->client);
    }
    free(f);
    return 0;
}

static void client_start(struct fixture *f)
{
    assert_int_equal(ll_client_create(f->s->be, &f->cfg, &f->client), 0);
}

/* Submit one request with the extra headers in hdrs (NULL-terminated, or NULL for none). */
static struct ll_call *submit(struct fixture *f, bool stream, const char *const *hdrs)
{
    size_t n = 0;
    while (hdrs != NULL && hdrs[n] != NULL) {
        n++;
    }
    struct ll_request req = {.messages = hello,
                             .n_messages = 1,
                             .max_tokens = 8,
                             .stream = stream,
                             .headers = hdrs,
                             .n_headers = n};
    struct ll_call *call = NULL;
    assert_int_equal(ll_client_submit(f->client, &req, &call), 0);
    assert_non_null(call);
    return call;
}

/* A scripted key unique to this backend's group: "conf-<backend>-<tag>". */
static const char *key_hdr(struct fixture *f, char *buf, size_t len, const char *tag)
{
    snprintf(buf, len, "x-mock-key: conf-%s-%s", f->s->be->name, tag);
    return buf;
}

/* N requests at concurrency 4: every one succeeds once, exactly one result each, in the
 * submission sequence; the backend's own figures are what its expect row says. */
static void test_conformance_counts(void **state)
{
    struct fixture *f = *state;
    enum { N = 40 };
    struct ll_call *calls[N];
    int seen = 0;

    client_start(f);
    for (int i = 0; i < N; i++) {
        calls[i] = submit(f, false, NULL);
    }
    for (struct ll_call *c; (c = ll_client_next(f->client, 10 * LL_NS_PER_S)) != NULL;) {
        assert_int_equal(c->res.cls, LL_CLASS_NONE);
        assert_int_equal(c->res.status, 200);
        assert_int_equal(c->res.attempts, 1);
        assert_true(c->res.t_end >= c->res.t_dispatch && c->res.t_dispatch >= c->res.t_queued);
        seen++;
    }
    assert_int_equal(seen, N);
    assert_int_equal(ll_client_outstanding(f->client), 0);
    for (int i = 0; i < N; i++) {
        assert_int_equal(calls[i]->seq, (uint64_t)i);
        assert_non_null(calls[i]->res.content);
        ll_call_free(calls[i]);
    }
    struct ll_be_stats st;
    ll_client_sample(f->client, &st);
    assert_int_equal(st.threads, f->s->ex->pool_threads ? f->cfg.concurrency : 0);
    if (f->s->ex->loop_figures) {
        assert_true(st.loop_idle_ns >= 0);
        assert_non_null(st.loop_lag);
    } else {
        assert_int_equal(st.loop_idle_ns, -1);
        assert_null(st.loop_lag);
    }
    assert_int_equal(st.backoff_waits, 0);
    /* Nothing outstanding: next returns at once instead of waiting. */
    int64_t t0 = ll_now_ns();
    assert_null(ll_client_next(f->client, -1));
    assert_true(ll_test_ms_since(t0) < 50);
}

/* The in-flight limit (pool size / easy handles): mockllm never sees more than 3 at once, and
 * 12 requests of 60 ms take at least 4 rounds. */
static void test_conformance_bounds_concurrency(void **state)
{
    struct fixture *f = *state;
    enum { N = 12, C = 3, LAT_MS = 60 };
    struct ll_call *calls[N];

    free(ll_test_http(f->s->mock.host, f->s->mock.port, "/metrics/reset", true));
    long long base =
        ll_test_mock_metric(&f->s->mock, "mockllm_in_flight"); /* another test's stall, if any */
    assert_true(base >= 0);
    f->cfg.concurrency = C;
    client_start(f);
    int64_t t0 = ll_now_ns();
    for (int i = 0; i < N; i++) {
        calls[i] = submit(f, false, HDRS("x-mock-latency-ms: 60"));
    }
    assert_int_equal(ll_client_gather(f->client, calls, N, LL_GATHER_COLLECT), 0);
    double wall = ll_test_ms_since(t0);
    long long peak = ll_test_mock_metric(&f->s->mock, "mockllm_in_flight_peak") - base;
    print_message("limit %d, %d x %d ms: wall %.0f ms, server in-flight peak %lld\n", C, N, LAT_MS,
                  wall, peak);
    assert_true(peak >= 1 && peak <= C);
    assert_true(wall >= (double)(N / C) * LAT_MS * 0.95);
    for (int i = 0; i < N; i++) {
        assert_int_equal(calls[i]->res.cls, LL_CLASS_NONE);
        ll_call_free(calls[i]);
    }
}

/* Limit 1: a queued call ends CANCELLED at once without a wire attempt; an in-flight one ends
 * CANCELLED promptly after its one attempt; the call behind it still succeeds. */
static void test_conformance_cancel_queued_and_inflight(void **state)
{
    struct fixture *f = *state;

    f->cfg.concurrency = 1;
    client_start(f);
    long long base = ll_test_mock_metric(&f->s->mock, "mockllm_in_flight");
    struct ll_call *a = submit(f, false, HDRS("x-mock-latency-ms: 400"));
    struct ll_call *b = submit(f, false, NULL);
    struct ll_call *c = submit(f, false, NULL);

    int64_t t0 = ll_now_ns();
    ll_client_cancel(f->client, c);
    assert_int_equal(ll_client_wait(f->client, c), 0);
    double queued_ms = ll_test_ms_since(t0);
    assert_int_equal(c->res.cls, LL_CLASS_CANCELLED);
    assert_int_equal(c->res.attempts, 0);
    assert_true(queued_ms < 50);

    /* a is at the server once mockllm's in-flight gauge says so */
    assert_true(ll_test_progress_until(f->client, &f->s->mock, "mockllm_in_flight", base + 1,
                                       5000) >= base + 1);
    t0 = ll_now_ns();
    ll_client_cancel(f->client, a);
    assert_int_equal(ll_client_wait(f->client, a), 0);
    double inflight_ms = ll_test_ms_since(t0);
    assert_int_equal(a->res.cls, LL_CLASS_CANCELLED);
    assert_int_equal(a->res.attempts, 1);
    assert_true(inflight_ms < 100);
    assert_int_equal(ll_client_wait(f->client, b), 0);
    assert_int_equal(b->res.cls, LL_CLASS_NONE);
    print_message("cancel latency: queued %.2f ms, in flight %.2f ms\n", queued_ms, inflight_ms);
    ll_call_free(a);
    ll_call_free(b);
    ll_call_free(c);
}

/* A stalled transfer (no byte ever comes) is still cancelled, and at once: the backend does
 * not wait for curl's idle progress cadence (about 1 s). */
static void test_conformance_cancel_stalled(void **state)
{
    struct fixture *f = *state;

    f->cfg.concurrency = 2;
    client_start(f);
    long long base = ll_test_mock_metric(&f->s->mock, "mockllm_in_flight");
    struct ll_call *a = submit(f, false, HDRS("x-mock-fault: stall"));
    assert_true(ll_test_progress_until(f->client, &f->s->mock, "mockllm_in_flight", base + 1,
                                       5000) >= base + 1); /* the stall is held at the server */
    int64_t t0 = ll_now_ns();
    ll_client_cancel(f->client, a);
    assert_int_equal(ll_client_wait(f->client, a), 0);
    double ms = ll_test_ms_since(t0);
    print_message("cancel of a stalled transfer: %.2f ms\n", ms);
    assert_int_equal(a->res.cls, LL_CLASS_CANCELLED);
    assert_int_equal(a->res.attempts, 1);
    assert_true(ms < 100);
    ll_call_free(a);
}

/* Retries: fail-first 2 then succeed takes 3 attempts; a 400 is never retried; a 503 every
 * time uses up all attempts: 4 backoff waits. mockllm's Retry-After (1 s) is honoured, capped
 * at 20 ms so that the case stays short. */
static void test_conformance_retries(void **state)
{
    struct fixture *f = *state;
    char key[96];

    f->cfg.concurrency = 2;
    f->cfg.retry.max_attempts = 3;
    f->cfg.retry.base_ms = 5;
    f->cfg.retry.cap_ms = 20;
    f->cfg.retry.max_retry_after_ms = 20;
    client_start(f);
    struct ll_call *calls[3] = {
        submit(f, false, HDRS(key_hdr(f, key, sizeof(key), "retry-1"), "x-mock-fail-first: 2")),
        submit(f, false, HDRS("x-mock-status: 400")),
        submit(f, false, HDRS("x-mock-status: 503")),
    };
    assert_int_equal(ll_client_gather(f->client, calls, 3, LL_GATHER_COLLECT), 2);

    assert_int_equal(calls[0]->res.cls, LL_CLASS_NONE);
    assert_int_equal(calls[0]->res.attempts, 3);
    assert_int_not_equal(calls[0]->res.attempt[0].cls, LL_CLASS_NONE);
    assert_int_equal(calls[0]->res.attempt[2].cls, LL_CLASS_NONE);

    assert_int_equal(calls[1]->res.cls, LL_CLASS_HTTP_4XX);
    assert_int_equal(calls[1]->res.status, 400);
    assert_int_equal(calls[1]->res.attempts, 1);

    assert_int_equal(calls[2]->res.cls, LL_CLASS_HTTP_5XX);
    assert_int_equal(calls[2]->res.status, 503);
    assert_int_equal(calls[2]->res.attempts, 3);

    struct ll_be_stats st;
    ll_client_sample(f->client, &st);
    assert_int_equal(st.backoff_waits, 4);
    assert_true(st.backoff_ns > 0);
    for (int i = 0; i < 3; i++) {
        ll_call_free(calls[i]);
    }
}

/* A call waiting to retry (5 s) is cancelled at once, not left to wait out its backoff; it
 * held its slot across the wait, and the slot then goes to the call queued behind it. */
static void test_conformance_cancel_backoff(void **state)
{
    struct fixture *f = *state;
    struct ll_be_stats st;

    f->cfg.concurrency = 1;
    f->cfg.retry.max_attempts = 3;
    f->cfg.retry.base_ms = 5000;
    f->cfg.retry.cap_ms = 5000;
    f->cfg.retry.jitter = false;
    f->cfg.retry.honor_retry_after = false; /* the 5 s backoff, not mockllm's 1 s */
    client_start(f);
    struct ll_call *a = submit(f, false, HDRS("x-mock-status: 503"));
    struct ll_call *b = submit(f, false, NULL);
    int64_t until = ll_now_ns() + 5 * LL_NS_PER_S;
    do {
        ll_client_progress(f->client, 5 * LL_NS_PER_MS);
        ll_client_sample(f->client, &st);
    } while (st.backoff_waits == 0 && ll_now_ns() < until);
    assert_int_equal(st.backoff_waits, 1);
    assert_int_equal(b->res.attempts, 0); /* the slot is held across the wait */

    int64_t t0 = ll_now_ns();
    ll_client_cancel(f->client, a);
    assert_int_equal(ll_client_wait(f->client, a), 0);
    double ms = ll_test_ms_since(t0);
    assert_int_equal(ll_client_wait(f->client, b), 0);
    print_message("cancel during a 5 s backoff: %.2f ms\n", ms);
    assert_int_equal(a->res.cls, LL_CLASS_CANCELLED);
    assert_int_equal(a->res.attempts, 1);
    assert_true(ms < 50);
    assert_int_equal(b->res.cls, LL_CLASS_NONE);
    ll_call_free(a);
    ll_call_free(b);
}

/* Fail-fast gather: the 400 cancels the rest, queued and in flight. */
static void test_conformance_gather_fail_fast(void **state)
{
    struct fixture *f = *state;
    enum { N = 6 };
    struct ll_call *calls[N];

    f->cfg.concurrency = 2;
    client_start(f);
    calls[0] = submit(f, false, HDRS("x-mock-status: 400"));
    for (int i = 1; i < N; i++) {
        calls[i] = submit(f, false, HDRS("x-mock-latency-ms: 300"));
    }
    int64_t t0 = ll_now_ns();
    int failed = ll_client_gather(f->client, calls, N, LL_GATHER_FAIL_FAST);
    print_message("fail-fast gather: %d failed in %.0f ms\n", failed, ll_test_ms_since(t0));
    assert_int_equal(failed, N);
    assert_int_equal(calls[0]->res.cls, LL_CLASS_HTTP_4XX);
    for (int i = 1; i < N; i++) {
        assert_int_equal(calls[i]->res.cls, LL_CLASS_CANCELLED);
    }
    for (int i = 0; i < N; i++) {
        ll_call_free(calls[i]);
    }
}

/* Destroy with queued, in-flight, stalled and backing-off work (none of it ever collected):
 * the client and the backend free everything (ASan/TSan and valgrind check that) within a
 * bounded time. */
static void test_conformance_destroy_outstanding(void **state)
{
    struct fixture *f = *state;

    f->cfg.concurrency = 3;
    f->cfg.retry.max_attempts = 3;
    f->cfg.retry.base_ms = 10000;
    f->cfg.retry.cap_ms = 10000;
    f->cfg.retry.honor_retry_after = false;
    f->cfg.retry.jitter = false; /* full jitter could make the 10 s wait a few ms */
    client_start(f);
    long long base = ll_test_mock_metric(&f->s->mock, "mockllm_in_flight");
    submit(f, false, HDRS("x-mock-fault: stall"));
    submit(f, false, HDRS("x-mock-status: 503"));
    for (int i = 0; i < 10; i++) {
        submit(f, false, HDRS("x-mock-latency-ms: 200"));
    }
    /* Ready when the 503 waits to retry (10 s) and the stall and a 200 ms call are at mockllm. */
    struct ll_be_stats st;
    int64_t until = ll_now_ns() + 5 * LL_NS_PER_S;
    do {
        ll_client_progress(f->client, 5 * LL_NS_PER_MS);
        ll_client_sample(f->client, &st);
    } while ((st.backoff_waits == 0 ||
              ll_test_mock_metric(&f->s->mock, "mockllm_in_flight") < base + 2) &&
             ll_now_ns() < until);
    assert_int_equal(st.backoff_waits, 1); /* the 503 waits 10 s to retry */
    int64_t t0 = ll_now_ns();
    ll_client_destroy(f->client);
    f->client = NULL;
    double ms = ll_test_ms_since(t0);
    print_message("destroy with 12 outstanding: %.1f ms\n", ms);
    assert_true(ms < 3000);
}

/* --- equivalence: one scripted scenario, recorded per backend, compared at the end -------- */

struct eq_step {
    const char *tag; /* key tag for scripted fail-first, or NULL */
    const char *h[3];
    bool stream;
    enum eq_speed speed;
    enum ll_class cls;
    int status; /* final status expected */
    int attempts;
};

/* Limit 4, 3 attempts, no jitter, 5 ms base. The slow and medium calls take two slots for the
 * whole run (0 and 1) or start once the fast ones are through (10 and 11), so the completion
 * order is fast ones, then medium, then slow: never the submission order. */
static const struct eq_step eq_steps[EQ_N] = {
    {NULL, {"x-mock-latency-ms: 300"}, false, EQ_SLOW, LL_CLASS_NONE, 200, 1},
    {NULL, {"x-mock-latency-ms: 150"}, true, EQ_MEDIUM, LL_CLASS_NONE, 200, 1},
    {"429",
     {"x-mock-fail-first: 2", "x-mock-fail-status: 429", "x-mock-retry-after: 0"},
     false,
     EQ_FAST,
     LL_CLASS_NONE,
     200,
     3},
    {"503",
     {"x-mock-fail-first: 1", "x-mock-retry-after: 0"},
     false,
     EQ_FAST,
     LL_CLASS_NONE,
     200,
     2},
    {NULL,
     {"x-mock-status: 500", "x-mock-retry-after: 0"},
     false,
     EQ_FAST,
     LL_CLASS_HTTP_5XX,
     500,
     3},
    {NULL, {"x-mock-status: 400"}, false, EQ_FAST, LL_CLASS_HTTP_4XX, 400, 1},
    {NULL, {"x-mock-status: 401"}, false, EQ_FAST, LL_CLASS_HTTP_4XX, 401, 1},
    {NULL, {"x-mock-fault: close"}, false, EQ_FAST, LL_CLASS_PARTIAL, 200, 1},
    {NULL, {NULL}, true, EQ_FAST, LL_CLASS_NONE, 200, 1},
    {"429s",
     {"x-mock-fail-first: 1", "x-mock-fail-status: 429", "x-mock-retry-after: 0"},
     true,
     EQ_FAST,
     LL_CLASS_NONE,
     200,
     2},
    {NULL, {"x-mock-latency-ms: 150"}, false, EQ_MEDIUM, LL_CLASS_NONE, 200, 1},
    {NULL, {"x-mock-latency-ms: 300"}, true, EQ_SLOW, LL_CLASS_NONE, 200, 1},
};

static struct ll_call *eq_submit(struct fixture *f, int i)
{
    const struct eq_step *st = &eq_steps[i];
    const char *h[5] = {NULL};
    char key[96];
    int n = 0;

    if (st->tag != NULL) {
        h[n++] = key_hdr(f, key, sizeof(key), st->tag);
    }
    for (int j = 0; j < 3 && st->h[j] != NULL; j++) {
        h[n++] = st->h[j];
    }
    return submit(f, st->stream, h);
}

/* Run the scenario, record what happened (before asserting anything, so that the comparison
 * group sees it even when this backend fails its own checks), then check it against the table.
 * The close fault's status is left to the comparison: the backend sees whatever status line
 * came before the connection dropped. */
static void test_conformance_equivalence_run(void **state)
{
    struct fixture *f = *state;
    struct eq_record *r = &f->s->eq;
    struct ll_call *calls[EQ_N];
    int n = 0;

    f->cfg.concurrency = 4;
    f->cfg.retry.max_attempts = 3;
    f->cfg.retry.base_ms = 5;
    f->cfg.retry.cap_ms = 20;
    f->cfg.retry.jitter = false;
    client_start(f);
    int64_t t0 = ll_now_ns();
    for (int i = 0; i < EQ_N; i++) {
        calls[i] = eq_submit(f, i);
    }
    for (struct ll_call *c; n < EQ_N && (c = ll_client_next(f->client, 10 * LL_NS_PER_S));) {
        r->order[n++] = (int)c->seq;
    }
    double wall = ll_test_ms_since(t0);
    for (int i = 0; i < EQ_N; i++) {
        r->status[i] = calls[i]->res.status;
        r->cls[i] = calls[i]->res.cls;
        r->attempts[i] = calls[i]->res.attempts;
    }
    r->done = n == EQ_N;

    print_message("%s: %d calls in %.0f ms, completion order:", f->s->be->name, n, wall);
    for (int k = 0; k < n; k++) {
        print_message(" %d", r->order[k]);
    }
    print_message("\n");
    assert_int_equal(n, EQ_N);
    for (int i = 0; i < EQ_N; i++) {
        const struct eq_step *st = &eq_steps[i];
        if (r->cls[i] != st->cls || r->attempts[i] != st->attempts ||
            (st->status >= 0 && r->status[i] != st->status)) {
            print_error("call %d: %s status %d attempts %d, want %s status %d attempts %d\n", i,
                        ll_class_name(r->cls[i]), r->status[i], r->attempts[i],
                        ll_class_name(st->cls), st->status, st->attempts);
            fail();
        }
    }
    /* Completion order by speed: never faster after slower. */
    for (int k = 1; k < EQ_N; k++) {
        assert_true(eq_steps[r->order[k - 1]].speed <= eq_steps[r->order[k]].speed);
    }
    for (int i = 0; i < EQ_N; i++) {
        ll_call_free(calls[i]);
    }
}

/* Compare every backend's record with the first one's: status, class and attempts per call
 * identical; completion order identical between calls of different speeds (within one speed
 * the order is a race, on any backend). */
static void test_conformance_equivalence_compare(void **state)
{
    struct suite *s = *state; /* prestate: the array of per-backend suites */

    for (int b = 0; b < N_BACKENDS; b++) {
        if (!s[b].eq.done) {
            print_error("%s recorded no complete scenario\n", s[b].ex->name);
            fail();
        }
    }
    for (int b = 1; b < N_BACKENDS; b++) {
        const struct eq_record *x = &s[0].eq, *y = &s[b].eq;
        int diffs = 0;
        for (int i = 0; i < EQ_N; i++) {
            if (x->status[i] != y->status[i] || x->cls[i] != y->cls[i] ||
                x->attempts[i] != y->attempts[i]) {
                print_error("call %d: %s %s/%d/%d attempts, %s %s/%d/%d attempts\n", i,
                            s[0].ex->name, ll_class_name(x->cls[i]), x->status[i], x->attempts[i],
                            s[b].ex->name, ll_class_name(y->cls[i]), y->status[i], y->attempts[i]);
                diffs++;
            }
            if (eq_steps[x->order[i]].speed != eq_steps[y->order[i]].speed) {
                print_error("completion %d: %s finished call %d, %s call %d\n", i, s[0].ex->name,
                            x->order[i], s[b].ex->name, y->order[i]);
                diffs++;
            }
        }
        assert_int_equal(diffs, 0);
    }
}

/* --- accounting under injected faults ------------------------------------------------------ */

/* 300 requests against a mockllm injecting 429, 500, 503 and dropped connections, retries on,
 * the last 20 cancelled right after submission: submitted = succeeded + failed by class +
 * cancelled, and every request comes back final exactly once. */
static void test_conformance_fault_accounting(void **state)
{
    struct fixture *f = *state;
    enum { N = 300, N_CANCEL = 20 };
    static const char *const args[] = {
        "--faults", "429=0.1,500=0.05,503=0.05,close=0.02,retry_after=0", "--seed", "7", NULL};
    struct ll_mockproc fm;
    struct ll_call *calls[N];
    int by_class[LL_CLASS__COUNT] = {0}, seen[N] = {0}, n = 0;
    long attempts = 0;

    assert_int_equal(ll_mockproc_start(&fm, NULL, args, 10000), 0);
    f->urls[0] = fm.base_url;
    f->cfg.concurrency = 8;
    f->cfg.retry.max_attempts = 4;
    f->cfg.retry.base_ms = 2;
    f->cfg.retry.cap_ms = 10;
    client_start(f);
    for (int i = 0; i < N; i++) {
        calls[i] = submit(f, i % 3 == 0, NULL);
    }
    for (int i = N - N_CANCEL; i < N; i++) {
        ll_client_cancel(f->client, calls[i]);
    }
    for (struct ll_call *c; (c = ll_client_next(f->client, 10 * LL_NS_PER_S)) != NULL; n++) {
        assert_true(c->seq < N);
        assert_int_equal(seen[c->seq]++, 0);
        assert_true(c->res.cls >= 0 && c->res.cls < LL_CLASS__COUNT);
        assert_true(c->res.attempts >= (c->res.cls == LL_CLASS_CANCELLED ? 0 : 1));
        assert_true(c->res.attempts <= f->cfg.retry.max_attempts);
        by_class[c->res.cls]++;
        attempts += c->res.attempts;
    }
    assert_int_equal(ll_client_outstanding(f->client), 0);
    assert_int_equal(n, N);
    int failed = 0;
    for (int k = 0; k < LL_CLASS__COUNT; k++) {
        if (k != LL_CLASS_NONE && k != LL_CLASS_CANCELLED) {
            failed += by_class[k];
        }
    }
    print_message("%s: %d submitted = %d ok + %d failed (429 %d, 5xx %d, connect %d, other %d) + "
                  "%d cancelled; %ld wire attempts\n",
                  f->s->be->name, N, by_class[LL_CLASS_NONE], failed, by_class[LL_CLASS_HTTP_429],
                  by_class[LL_CLASS_HTTP_5XX], by_class[LL_CLASS_CONNECT],
                  failed - by_class[LL_CLASS_HTTP_429] - by_class[LL_CLASS_HTTP_5XX] -
                      by_class[LL_CLASS_CONNECT],
                  by_class[LL_CLASS_CANCELLED], attempts);
    assert_int_equal(N, by_class[LL_CLASS_NONE] + failed + by_class[LL_CLASS_CANCELLED]);
    assert_true(by_class[LL_CLASS_CANCELLED] <= N_CANCEL);
    assert_true(attempts > N - N_CANCEL); /* faults were met and retried */
    for (int i = 0; i < N; i++) {
        assert_int_equal(seen[i], 1);
        assert_true(calls[i]->done);
        ll_call_free(calls[i]);
    }
    ll_client_destroy(f->client);
    f->client = NULL;
    assert_int_equal(ll_mockproc_stop(&fm, 5000), 0);
}

/* --- one group per backend ------------------------------------------------------------------ */

#define CONF_TEST(fn, s) cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, s)

static int run_suite(struct suite *s)
{
    const struct CMUnitTest tests[] = {
        CONF_TEST(test_conformance_counts, s),
        CONF_TEST(test_conformance_bounds_concurrency, s),
        CONF_TEST(test_conformance_cancel_queued_and_inflight, s),
        CONF_TEST(test_conformance_cancel_stalled, s),
        CONF_TEST(test_conformance_retries, s),
        CONF_TEST(test_conformance_cancel_backoff, s),
        CONF_TEST(test_conformance_gather_fail_fast, s),
        CONF_TEST(test_conformance_destroy_outstanding, s),
        CONF_TEST(test_conformance_equivalence_run, s),
        CONF_TEST(test_conformance_fault_accounting, s),
    };
    char name[64];
    int failed;

    snprintf(name, sizeof(name), "conformance_%s", s->ex->name);
    if (s->be == NULL || ll_mockproc_start(&s->mock, NULL, NULL, 10000) != 0) {
        fprintf(stderr, "%s: no backend, or cannot start mockllm at %s\n", name,
                ll_mockproc_path());
        return 1;
    }
    failed = cmocka_run_group_tests_name(name, tests, NULL, NULL);
    if (ll_mockproc_stop(&s->mock, 5000) != 0) {
        failed++;
    }
    return failed;
}

int main(void)
{
    static struct suite suites[N_BACKENDS];
    int failed = 0;

    curl_global_init(CURL_GLOBAL_DEFAULT); /* once, before any thread starts */
    for (int b = 0; b < N_BACKENDS; b++) {
        suites[b].ex = &expects[b];
        suites[b].be = ll_backend_find(expects[b].name);
        failed += run_suite(&suites[b]);
    }
    /* Last: the comparison, whose prestate is the whole array of suites. */
    const struct CMUnitTest compare[] = {
        cmocka_unit_test_prestate(test_conformance_equivalence_compare, suites),
    };
    failed += cmocka_run_group_tests_name("conformance_equivalence", compare, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
