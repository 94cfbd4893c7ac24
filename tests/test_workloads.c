/* test_workloads.c - workloads from real shapes (issue 14 items 5-7), the parts without a
 * server or a file: token-length distributions, gamma arrivals, the ramps and a trace's
 * schedule, synthetic prompts, the request fields ignore_eos / min_tokens, and the short-answer
 * count (the files' parsing is in test_workloads_files.c).
 *
 * The truths are arithmetic: a distribution's bounds, mean and spread; the gamma law's mean 1/rate
 * and coefficient of variation 1/sqrt(B); the ramp's times sqrt(2 S k / R) and its closed-loop
 * steps at k S / C; a prompt of N tokens is 4 N bytes (mockllm's count). Statistical bounds are
 * several standard errors wide: under a fixed seed they are deterministic, and a wrong law misses
 * them by far.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ll_arrivals.h"
#include "ll_err.h"
#include "ll_lengths.h"
#include "ll_rand.h"
#include "ll_stats.h"
#include "ll_trace.h"
#include "ll_wire.h"
#include "ll_workload.h"

static void assert_between(double v, double lo, double hi, const char *what)
{
    if (!(v >= lo && v <= hi)) {
        fail_msg("%s = %.4f, want %.4f..%.4f", what, v, lo, hi);
    }
}

/* ---- lengths --------------------------------------------------------------------------- */

static struct ll_length parse(const char *spec)
{
    struct ll_length l;
    char err[200];
    if (ll_length_parse(spec, &l, err, sizeof(err)) != 0) {
        fail_msg("'%s' refused: %s", spec, err);
    }
    return l;
}

#define DRAWS 20000

/* Every draw within the bounds, the same sequence under the same seed, another under another. */
static void test_workloads_lengths_bounds_and_seed(void **state)
{
    (void)state;
    const char *specs[] = {"37", "fixed:5", "uniform:10,20", "normal:100,30", "lognormal:50,400"};
    for (size_t k = 0; k < sizeof(specs) / sizeof(specs[0]); k++) {
        struct ll_length l = parse(specs[k]);
        int lo, hi, differ = 0;
        uint64_t a = 42, b = 42, c = 43;
        ll_length_bounds(&l, &lo, &hi);
        for (int i = 0; i < DRAWS; i++) {
            int x = ll_length_draw(&l, &a), y = ll_length_draw(&l, &b), z = ll_length_draw(&l, &c);
            if (x < lo || x > hi || x < 1 || x > LL_LENGTH_MAX) {
                fail_msg("%s: draw %d outside [%d, %d]", specs[k], x, lo, hi);
            }
            assert_int_equal(x, y); /* same seed, same draws */
            differ += x != z;
        }
        if (l.kind != LL_LEN_FIXED && differ < DRAWS / 4) {
            fail_msg("%s: seeds 42 and 43 gave the same draws %d times of %d", specs[k],
                     DRAWS - differ, DRAWS);
        }
    }
}

/* The laws themselves: uniform covers every value equally, the normal's mean and sd, the
 * lognormal's median and 99th percentile. */
static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

static void test_workloads_lengths_laws(void **state)
{
    (void)state;
    static int v[DRAWS];
    uint64_t rng = 7;
    struct ll_length u = parse("uniform:10,20");
    int seen[11] = {0};
    for (int i = 0; i < DRAWS; i++) {
        seen[ll_length_draw(&u, &rng) - 10]++;
    }
    for (int i = 0; i < 11; i++) { /* DRAWS / 11 = 1818 each, sd ~41 */
        assert_between(seen[i], 1600, 2050, "uniform:10,20 count of one value");
    }
    struct ll_length n = parse("normal:100,30");
    double sum = 0, sq = 0;
    for (int i = 0; i < DRAWS; i++) {
        double x = ll_length_draw(&n, &rng);
        sum += x;
        sq += x * x;
    }
    double mean = sum / DRAWS, sd = sqrt(sq / DRAWS - mean * mean);
    assert_between(mean, 99, 101, "normal:100,30 mean");
    assert_between(sd, 29, 31, "normal:100,30 sd");
    struct ll_length ln = parse("lognormal:50,400");
    for (int i = 0; i < DRAWS; i++) {
        v[i] = ll_length_draw(&ln, &rng);
    }
    qsort(v, DRAWS, sizeof(v[0]), cmp_int);
    assert_between(v[DRAWS / 2], 47, 53, "lognormal:50,400 median");
    assert_between(v[DRAWS * 99 / 100], 340, 470, "lognormal:50,400 p99");
}

static void test_workloads_lengths_refused(void **state)
{
    (void)state;
    const char *bad[] = {"0",
                         "-3",
                         "1.5",
                         "abc",
                         "uniform:20,10",
                         "uniform:5",
                         "uniform:0,4",
                         "uniform:1,2,3",
                         "normal:0,5",
                         "lognormal:50,10",
                         "lognormal:0,5",
                         "fixed:",
                         "2000000",
                         "normal:10,x",
                         ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ll_length l;
        char err[200] = "";
        if (ll_length_parse(bad[i], &l, err, sizeof(err)) != LL_EINVAL) {
            fail_msg("'%s' was accepted", bad[i]);
        }
        assert_true(err[0] != '\0' && strchr(err, '\n') == NULL);
    }
}

/* ---- arrivals -------------------------------------------------------------------------- */

/* Mean and coefficient of variation of n gaps of the schedule. */
static void gaps(struct ll_sched *s, int n, double *mean_ms, double *cv)
{
    double prev = (double)ll_sched_next(s), sum = 0, sq = 0;
    for (int i = 0; i < n; i++) {
        double t = (double)ll_sched_next(s), g = (t - prev) / 1e6;
        sum += g;
        sq += g * g;
        prev = t;
    }
    *mean_ms = sum / n;
    *cv = sqrt(sq / n - *mean_ms * *mean_ms) / *mean_ms;
}

/* Gamma arrivals (vLLM's --burstiness): mean gap 1/rate whatever B, CV 1/sqrt(B); B = 1 is
 * Poisson; constant arrivals have no spread at all. */
static void test_workloads_gamma_mean_and_dispersion(void **state)
{
    (void)state;
    const double shapes[] = {0.25, 0.5, 1, 4, 16};
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        struct ll_sched s = {
            .kind = LL_ARRIVALS_GAMMA, .rate = 100, .burstiness = shapes[i], .rng = 5};
        double mean, cv, want = 1 / sqrt(shapes[i]);
        gaps(&s, 200000, &mean, &cv);
        assert_between(mean, 9.8, 10.2, "gamma mean gap (ms) at 100/s");
        assert_between(cv, want * 0.96, want * 1.04, "gamma gaps' coefficient of variation");
    }
    struct ll_sched p = {.kind = LL_ARRIVALS_POISSON, .rate = 50, .rng = 9};
    double mean, cv;
    gaps(&p, 200000, &mean, &cv);
    assert_between(mean, 19.6, 20.4, "poisson mean gap (ms) at 50/s");
    assert_between(cv, 0.97, 1.03, "poisson CV");
    struct ll_sched c = {.kind = LL_ARRIVALS_CONSTANT, .rate = 50};
    gaps(&c, 1000, &mean, &cv);
    assert_between(mean, 19.999, 20.001, "constant gap (ms)");
    assert_true(cv < 1e-6);
    /* the gamma draw itself: mean k, variance k */
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        uint64_t rng = 11;
        double sum = 0, sq = 0, k = shapes[i];
        for (int j = 0; j < 200000; j++) {
            double x = ll_rand_gamma(&rng, k);
            sum += x;
            sq += x * x;
        }
        double m = sum / 200000, var = sq / 200000 - m * m;
        assert_between(m / k, 0.98, 1.02, "gamma(k) mean / k");
        assert_between(var / k, 0.94, 1.06, "gamma(k) variance / k");
    }
}

/* Open-loop ramp: the rate rises linearly from 0 to R over S, so with constant arrivals request
 * k starts at sqrt(2 S k / R) inside the ramp and at S + (k - R S / 2) / R after it. */
static void test_workloads_ramp_open(void **state)
{
    (void)state;
    const double R = 40, S = 2;
    struct ll_sched s = {.kind = LL_ARRIVALS_CONSTANT, .rate = R, .ramp_s = S};
    for (int k = 0; k < 200; k++) {
        double t = (double)ll_sched_next(&s) / 1e9;
        double want = k < R * S / 2 ? sqrt(2 * S * k / R) : S + (k - R * S / 2) / R;
        assert_between(t, want - 1e-6, want + 1e-6, "ramped send time (s)");
    }
    /* a ramp keeps the arrivals' shape: Poisson through a ramp still sends R S / 2 requests
     * during it, on average */
    int inside = 0;
    for (uint64_t seed = 1; seed <= 200; seed++) {
        struct ll_sched p = {.kind = LL_ARRIVALS_POISSON, .rate = R, .ramp_s = S, .rng = seed};
        while ((double)ll_sched_next(&p) < S * 1e9) {
            inside++;
        }
    }
    assert_between(inside / 200.0, R * S / 2 * 0.95, R * S / 2 * 1.05 + 1,
                   "poisson requests inside the ramp");
}

/* Closed-loop ramp: the window goes from 1 to C in C - 1 steps, step k at k S / C, and
 * ll_ramp_next_step finds each of them exactly once. */
static void test_workloads_ramp_closed_steps(void **state)
{
    (void)state;
    const int64_t S = 2000000000; /* 2 s */
    const uint64_t C = 8;
    int64_t t = 0;
    uint64_t steps = 0;
    assert_int_equal(ll_ramp_window(S, C, 0), 1);
    for (;;) {
        int64_t next = ll_ramp_next_step(S, C, t);
        if (next < 0) {
            break;
        }
        steps++;
        int64_t want = (int64_t)steps * S / (int64_t)C;
        assert_between((double)next, (double)want, (double)want + 2, "step time (ns)");
        assert_int_equal(ll_ramp_window(S, C, next - 1), steps);
        assert_int_equal(ll_ramp_window(S, C, next), steps + 1);
        t = next;
    }
    assert_int_equal(steps, C - 1);
    assert_int_equal(ll_ramp_window(S, C, S), C);
    assert_int_equal(ll_ramp_window(0, C, 0), C); /* no ramp: all at once */
    assert_int_equal(ll_ramp_next_step(0, C, 0), -1);
    assert_int_equal(ll_ramp_window(S, 1, 0), 1);
}

/* A trace replays its own times, from its first row, `speed` times as fast. */
static void test_workloads_trace_schedule(void **state)
{
    (void)state;
    const double t[] = {5.0, 5.5, 7.0, 7.0, 9.0};
    struct ll_sched s = {.kind = LL_ARRIVALS_TRACE, .times_s = t, .n_times = 5, .speed = 2};
    const double want[] = {0, 0.25, 1.0, 1.0, 2.0};
    for (int i = 0; i < 5; i++) {
        assert_between((double)ll_sched_next(&s) / 1e9, want[i] - 1e-9, want[i] + 1e-9,
                       "trace send time (s)");
    }
    assert_true(ll_sched_next(&s) == LL_SCHED_NEVER);
}

/* ---- prompts and request fields ------------------------------------------------------- */

/* A synthetic prompt of N tokens is exactly 4 N bytes of words: mockllm counts N. */
static void test_workloads_synthetic_text(void **state)
{
    (void)state;
    char *buf = NULL, *first = NULL;
    size_t cap = 0;
    uint64_t rng = 1;
    for (int n = 1; n <= 600; n += (n < 20 ? 1 : 40)) { /* 1..20, 60, ..., 300, ... */
        assert_int_equal(ll_workload_text(&buf, &cap, n, &rng), 0);
        assert_int_equal(strlen(buf), (size_t)n * 4);
        assert_int_equal(ll_length_of_text(strlen(buf)), n);
        assert_int_equal(strspn(buf, "abcdefghijklmnopqrstuvwxyz "), strlen(buf));
        if (n == 300) {
            first = strdup(buf);
        }
    }
    assert_int_equal(ll_workload_text(&buf, &cap, 300, &rng), 0);
    assert_true(strcmp(first, buf) != 0); /* every request its own text */
    free(first);
    free(buf);
}

/* The workload's fill: trace rows in order, drawn lengths, ignore_eos with min_tokens, the
 * counts it keeps. */
static void test_workloads_fill(void **state)
{
    (void)state;
    struct ll_message msg = {"user", "fixed prompt"}; /* 12 bytes: 3 tokens */
    struct ll_request tmpl = {.model = "m", .messages = &msg, .n_messages = 1, .max_tokens = 9};
    struct ll_request req;
    double ts[] = {0, 1, 2};
    int in[] = {5, 6, 7}, out[] = {50, 60, 70};
    struct ll_trace tr = {.t_s = ts, .input = in, .output = out, .n = 3};
    struct ll_workload w = {.trace = &tr, .ignore_eos = true, .seed = 1};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ll_workload_fill(&w, &tmpl, &req), 0);
        assert_int_equal(strlen(req.messages[0].content), (size_t)in[i] * 4);
        assert_int_equal(req.max_tokens, out[i]);
        assert_true(req.ignore_eos);
        assert_int_equal(req.min_tokens, out[i]);
        assert_string_equal(req.model, "m");
    }
    assert_int_equal(w.input_tokens, 18);
    assert_int_equal(w.output_asked, 180);
    /* rewound: the same requests again, the counts from 0 */
    char first[64];
    ll_workload_rewind(&w);
    assert_int_equal(ll_workload_fill(&w, &tmpl, &req), 0);
    snprintf(first, sizeof(first), "%s", req.messages[0].content);
    assert_int_equal(w.input_tokens, 5);
    assert_int_equal(w.sent, 1);
    ll_workload_rewind(&w);
    assert_int_equal(ll_workload_fill(&w, &tmpl, &req), 0);
    assert_string_equal(req.messages[0].content, first);
    ll_workload_free(&w);

    /* no shaping but the output draw: the template's prompt, counted the mock's way */
    struct ll_workload w2 = {.seed = 2};
    char e[100];
    assert_int_equal(ll_length_parse("uniform:3,4", &w2.output, e, sizeof(e)), 0);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(ll_workload_fill(&w2, &tmpl, &req), 0);
        assert_ptr_equal(req.messages, &msg);
        assert_true(req.max_tokens == 3 || req.max_tokens == 4);
        assert_false(req.ignore_eos);
        assert_int_equal(req.min_tokens, 0);
    }
    assert_int_equal(w2.input_tokens, 30);
    ll_workload_free(&w2);
}

/* ignore_eos and min_tokens reach the body only when set; the wire cache tells them apart. */
static void test_workloads_wire_fields(void **state)
{
    (void)state;
    struct ll_config cfg;
    ll_config_defaults(&cfg);
    struct ll_wire_cache wc = {0};
    struct ll_message msg = {"user", "hi"};
    struct ll_request req = {.model = "m", .messages = &msg, .n_messages = 1, .max_tokens = 8};
    struct ll_wire *plain, *eos, *eos2;
    assert_int_equal(ll_wire_get(&wc, &cfg, &req, &plain), 0);
    req.ignore_eos = true;
    req.min_tokens = 8;
    assert_int_equal(ll_wire_get(&wc, &cfg, &req, &eos), 0);
    req.min_tokens = 7;
    assert_int_equal(ll_wire_get(&wc, &cfg, &req, &eos2), 0);
    assert_ptr_not_equal(plain, eos);
    assert_ptr_not_equal(eos, eos2);
    cJSON *a = cJSON_Parse(plain->body), *b = cJSON_Parse(eos->body), *c = cJSON_Parse(eos2->body);
    assert_null(cJSON_GetObjectItem(a, "ignore_eos"));
    assert_null(cJSON_GetObjectItem(a, "min_tokens"));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(b, "ignore_eos")));
    assert_int_equal(cJSON_GetObjectItem(b, "min_tokens")->valueint, 8);
    assert_int_equal(cJSON_GetObjectItem(c, "min_tokens")->valueint, 7);
    assert_int_equal(cJSON_GetObjectItem(b, "max_tokens")->valueint, 8);
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(c);
    ll_wire_put(plain);
    ll_wire_put(eos);
    ll_wire_put(eos2);
    ll_wire_cache_clear(&wc);
}

/* Short answers: a success that asked max_tokens and got fewer by its usage; failures and
 * answers without usage are not judged; merge adds them up. */
static void test_workloads_short_answers(void **state)
{
    (void)state;
    struct ll_stats s, t;
    assert_int_equal(ll_stats_init(&s, NULL), 0);
    assert_int_equal(ll_stats_init(&t, NULL), 0);
    struct ll_result r;
    memset(&r, 0, sizeof(r));
    r.t_queued = r.t_dispatch = 1000;
    r.t_end = 2000;
    r.prompt_tokens = 5;
    r.reasoning_tokens = -1;
    const int asked[] = {10, 10, 10, 0, 10, 10}, got[] = {10, 4, 12, 3, -1, 2};
    const enum ll_class cls[] = {LL_CLASS_NONE, LL_CLASS_NONE, LL_CLASS_NONE,
                                 LL_CLASS_NONE, LL_CLASS_NONE, LL_CLASS_HTTP_5XX};
    for (int i = 0; i < 6; i++) {
        r.max_tokens = asked[i];
        r.completion_tokens = got[i];
        r.prompt_tokens = got[i] < 0 ? -1 : 5;
        r.cls = cls[i];
        ll_stats_add_result(i < 3 ? &s : &t, &r, 0);
    }
    assert_int_equal(s.out_asked, 3);
    assert_int_equal(s.out_short, 1);
    assert_int_equal(s.out_asked_tokens, 30);
    assert_int_equal(s.out_received_tokens, 26);
    assert_int_equal(t.out_asked, 0); /* no max_tokens; no usage; a failure */
    assert_int_equal(ll_stats_merge(&t, &s), 0);
    assert_int_equal(t.out_short, 1);
    assert_int_equal(t.out_asked, 3);
    ll_stats_free(&s);
    ll_stats_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_workloads_lengths_bounds_and_seed),
        cmocka_unit_test(test_workloads_lengths_laws),
        cmocka_unit_test(test_workloads_lengths_refused),
        cmocka_unit_test(test_workloads_gamma_mean_and_dispersion),
        cmocka_unit_test(test_workloads_ramp_open),
        cmocka_unit_test(test_workloads_ramp_closed_steps),
        cmocka_unit_test(test_workloads_trace_schedule),
        cmocka_unit_test(test_workloads_synthetic_text),
        cmocka_unit_test(test_workloads_fill),
        cmocka_unit_test(test_workloads_wire_fields),
        cmocka_unit_test(test_workloads_short_answers),
    };
    return cmocka_run_group_tests_name("workloads", tests, NULL, NULL);
}
