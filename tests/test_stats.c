/* test_stats.c - folding synthetic results: class counts, goodput against an SLO, Little's law
 * on a known schedule, inter-token gaps, merge, SLO parsing and the JSON report's fields. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ll_clock.h"
#include "ll_report.h"
#include "ll_stats.h"

#define MS LL_NS_PER_MS
#define T0 (1000 * LL_NS_PER_S) /* 0 means "did not happen": keep every time positive */

/* A successful result queued at q, dispatched at q, ending at q + e2e (all ms after T0). */
static struct ll_result result(enum ll_class cls, int64_t q_ms, int64_t e2e_ms)
{
    struct ll_result r;
    memset(&r, 0, sizeof(r));
    r.cls = cls;
    r.status = cls == LL_CLASS_NONE ? 200 : 503;
    r.attempts = 1;
    r.t_intended = r.t_queued = r.t_dispatch = T0 + q_ms * MS;
    r.t_end = r.t_queued + e2e_ms * MS;
    r.attempt[0].t_start = r.t_dispatch;
    r.attempt[0].t_end = r.t_end;
    r.prompt_tokens = 10;
    r.completion_tokens = 5;
    return r;
}

static void fold(struct ll_stats *s, struct ll_result *r)
{
    ll_stats_note_submit(s, r->t_queued, 0);
    ll_stats_add_result(s, r, r->t_end);
}

static void test_stats_class_counts(void **state)
{
    struct ll_stats s;
    const enum ll_class classes[] = {LL_CLASS_NONE,     LL_CLASS_NONE,    LL_CLASS_HTTP_429,
                                     LL_CLASS_HTTP_5XX, LL_CLASS_TIMEOUT, LL_CLASS_CANCELLED,
                                     LL_CLASS_NONE,     LL_CLASS_CONNECT};
    assert_int_equal(ll_stats_init(&s, NULL), 0);
    for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
        struct ll_result r = result(classes[i], (int64_t)i, 10);
        r.attempts = 2; /* one retry each */
        fold(&s, &r);
    }
    assert_int_equal(s.submitted, 8);
    assert_int_equal(s.completed, 8);
    assert_int_equal(ll_stats_succeeded(&s), 3);
    assert_int_equal(ll_stats_failed(&s), 4);
    assert_int_equal(s.by_class[LL_CLASS_CANCELLED], 1);
    assert_int_equal(s.retries, 8);
    assert_int_equal(s.wire_requests, 16);
    assert_int_equal(s.prompt_tokens, 30); /* successes only */
    assert_int_equal(s.hist[LL_H_E2E]->n, 3);
    assert_true(ll_stats_accounting_ok(&s));
    s.acct_missing = 1;
    assert_false(ll_stats_accounting_ok(&s));
    s.acct_missing = 0;
    ll_stats_note_submit(&s, T0, 0); /* submitted, never came back */
    assert_false(ll_stats_accounting_ok(&s));
    ll_stats_free(&s);
}

/* Output chunks at the given times (ms after T0), one token each by content; the result keeps a
 * pointer to `c`. */
static void set_chunks(struct ll_result *r, struct ll_chunk *c, const int64_t *ms, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        c[i] = (struct ll_chunk){.t = T0 + ms[i] * MS, .usage_tokens = -1, .out = LL_OUT_CONTENT};
    }
    r->chunk = c;
    r->n_chunks = n;
    r->t_first_token = c[0].t;
}

static void test_stats_itl_from_token_times(void **state)
{
    struct ll_stats s;
    struct ll_chunk ch[4];
    struct ll_result r = result(LL_CLASS_NONE, 0, 200);
    set_chunks(&r, ch, (const int64_t[]){100, 110, 130, 160}, 4);
    r.completion_tokens = 4; /* one token per chunk */
    assert_int_equal(ll_stats_init(&s, NULL), 0);
    fold(&s, &r);
    const struct ll_hist *itl = s.hist[LL_H_ITL];
    assert_int_equal(itl->n, 3);
    assert_int_equal(itl->min, 10 * MS);
    assert_int_equal(itl->max, 30 * MS);
    assert_true(ll_hist_mean(itl) > 19.9 * MS && ll_hist_mean(itl) < 20.1 * MS);
    assert_int_equal(s.hist[LL_H_CHUNK_GAP]->n, 3); /* one token per chunk: the same gaps */
    assert_int_equal(s.hist[LL_H_TTFT]->n, 1);
    assert_int_equal(s.hist[LL_H_TTFT]->max, 100 * MS);
    assert_int_equal(s.output_chunks, 4);
    ll_stats_free(&s);
}

static void test_stats_goodput_slo(void **state)
{
    struct ll_stats s;
    struct ll_slo slo = {.ttft_ms = 50, .itl_ms = 20, .e2e_ms = 300};
    struct ll_chunk fast[3], slowt[2], stall[3];
    assert_int_equal(ll_stats_init(&s, &slo), 0);

    struct ll_result ok = result(LL_CLASS_NONE, 0, 100);
    set_chunks(&ok, fast, (const int64_t[]){40, 50, 60}, 3); /* ttft 40, gaps 10 */
    ok.completion_tokens = 3;
    fold(&s, &ok);
    struct ll_result late_first = result(LL_CLASS_NONE, 0, 100);
    set_chunks(&late_first, slowt, (const int64_t[]){80, 90}, 2); /* ttft 80: misses */
    late_first.completion_tokens = 2;
    fold(&s, &late_first);
    struct ll_result stalled = result(LL_CLASS_NONE, 0, 100);
    set_chunks(&stalled, stall, (const int64_t[]){10, 15, 60}, 3); /* gap 45: misses itl */
    stalled.completion_tokens = 3;
    fold(&s, &stalled);
    struct ll_result slow = result(LL_CLASS_NONE, 0, 400); /* e2e 400 > 300 */
    slow.t_first_token = T0 + 10 * MS;
    fold(&s, &slow);
    struct ll_result failed = result(LL_CLASS_HTTP_5XX, 0, 1); /* fast, but failed */
    failed.t_first_token = T0 + MS;
    fold(&s, &failed);
    struct ll_result no_token = result(LL_CLASS_NONE, 0, 10); /* no first token: misses ttft */
    fold(&s, &no_token);

    assert_int_equal(s.good, 1);
    assert_int_equal(s.slo_miss_ttft, 2);
    assert_int_equal(s.slo_miss_itl, 1);
    assert_int_equal(s.slo_miss_e2e, 1);
    ll_stats_free(&s);

    /* Open loop: the e2e bound counts from the intended start, queueing included. */
    slo = (struct ll_slo){.e2e_ms = 100};
    assert_int_equal(ll_stats_init(&s, &slo), 0);
    struct ll_result queued = result(LL_CLASS_NONE, 50, 80);      /* 80 ms from dispatch */
    queued.t_intended = T0;                                       /* meant to start 50 ms earlier */
    ll_stats_note_submit(&s, queued.t_queued, queued.t_intended); /* scheduled: open loop */
    ll_stats_add_result(&s, &queued, queued.t_end);
    assert_int_equal(s.good, 0);
    assert_int_equal(s.hist[LL_H_E2E]->max, 80 * MS);
    assert_int_equal(s.hist[LL_H_CORRECTED]->max, 130 * MS);
    ll_stats_free(&s);
}

/* Closed loop (issue 11 item 4): a request submitted ahead waits in the look-ahead queue
 * before it gets its slot; its SLO counts from the slot, and there is no corrected figure. */
static void test_stats_goodput_closed_from_dispatch(void **state)
{
    struct ll_stats s;
    struct ll_slo slo = {.ttft_ms = 30, .e2e_ms = 30};
    struct ll_chunk ch[2];
    assert_int_equal(ll_stats_init(&s, &slo), 0);
    struct ll_result r = result(LL_CLASS_NONE, 0, 60); /* queued at 0, ends at 60 ms */
    r.t_dispatch = T0 + 40 * MS;                       /* got its slot after 40 ms queued */
    r.attempt[0].t_start = r.t_dispatch;
    set_chunks(&r, ch, (const int64_t[]){45, 50}, 2); /* first token 5 ms after the slot */
    fold(&s, &r);
    assert_false(s.open_loop);
    assert_int_equal(s.good, 1); /* 20 ms from the slot: met; 60 ms from the queue */
    assert_int_equal(s.slo_miss_e2e + s.slo_miss_ttft, 0);
    assert_int_equal(s.hist[LL_H_E2E]->max, 20 * MS);
    assert_int_equal(s.hist[LL_H_QUEUE_WAIT]->max, 40 * MS);
    assert_int_equal(s.hist[LL_H_CORRECTED]->n, 0);
    cJSON *doc = ll_report_stats_json(&s);
    cJSON *lat = cJSON_GetObjectItemCaseSensitive(doc, "latency");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(lat, "corrected")));
    cJSON_Delete(doc);
    ll_stats_free(&s);
}

/* Open loop (issue 11 item 5): 100 requests meant 1 ms apart, dispatched 10 ms apart because
 * each waited for the one slot: offered 1000/s, achieved 100/s, held back by the cap; the
 * client's CPU is the cause only when it used (nearly) all it can. */
static void test_stats_keepup(void **state)
{
    struct ll_stats s;
    struct ll_keepup k;
    assert_int_equal(ll_stats_init(&s, NULL), 0);
    s.offered_rps = 1000;
    s.in_flight_limit = 1;
    for (int i = 0; i < 100; i++) {
        struct ll_result r = result(LL_CLASS_NONE, i, 10);
        r.t_intended = r.t_queued = T0 + i * MS;
        r.t_dispatch = T0 + i * 10 * MS;
        r.t_end = r.t_dispatch + 10 * MS;
        ll_stats_note_submit(&s, r.t_queued, r.t_intended);
        ll_stats_add_result(&s, &r, r.t_end);
    }
    s.t_start = T0;
    s.t_stop = T0 + 1000 * MS;
    ll_stats_keepup(&s, &k);
    assert_true(k.judged);
    assert_false(k.kept_up);
    assert_true(k.achieved_rps > 99.9 && k.achieved_rps < 100.1);
    assert_true(k.ratio > 0.099 && k.ratio < 0.101);
    assert_true(k.cap);
    assert_false(k.slipped);
    assert_false(k.cpu);
    assert_int_equal(s.slot_waits, 99); /* the first got the slot at once */
    char line[512];
    assert_true(ll_report_keepup_line(line, sizeof(line), &s) > 0);
    assert_non_null(strstr(line, "offered 1000.0 req/s, achieved 100.0 req/s"));
    assert_non_null(strstr(line, "in-flight cap (1): 99 of 100 requests waited"));
    s.res.cpu_user_s = 0.95; /* one second of wall, no backend threads: one core's worth */
    ll_stats_keepup(&s, &k);
    assert_true(k.cpu && k.cpu_capacity == 1);
    ll_stats_free(&s);

    /* the same schedule kept: dispatched when meant */
    assert_int_equal(ll_stats_init(&s, NULL), 0);
    s.offered_rps = 1000;
    for (int i = 0; i < 100; i++) {
        struct ll_result r = result(LL_CLASS_NONE, i, 10);
        ll_stats_note_submit(&s, r.t_queued, r.t_intended);
        ll_stats_add_result(&s, &r, r.t_end);
    }
    ll_stats_keepup(&s, &k);
    assert_true(k.judged && k.kept_up);
    assert_int_equal(ll_report_keepup_line(line, sizeof(line), &s), 0);
    ll_stats_free(&s);
}

static void test_stats_littles_law(void **state)
{
    struct ll_stats s;
    struct ll_little l;
    /* Submit at 0, 0, 100; end at 100, 200, 300 ms. Outstanding: 2 on [0,100), 2 on [100,200)
     * (one left, one came), 1 on [200,300): area 500 ms; residences 100 + 200 + 200 = 500 ms.
     * (Residences of 100 ms and more: the check judges only requests long enough that 5% of
     * them is more than the driver's turn-around; see LL_LITTLE_MIN_W_NS.) */
    struct ll_result r[3] = {result(LL_CLASS_NONE, 0, 100), result(LL_CLASS_NONE, 0, 200),
                             result(LL_CLASS_NONE, 100, 200)};
    assert_int_equal(ll_stats_init(&s, NULL), 0);
    s.t_start = T0;
    ll_stats_note_submit(&s, r[0].t_queued, 0);
    ll_stats_note_submit(&s, r[1].t_queued, 0);
    ll_stats_add_result(&s, &r[0], r[0].t_end);
    ll_stats_note_submit(&s, r[2].t_queued, 0);
    ll_stats_add_result(&s, &r[1], r[1].t_end);
    ll_stats_add_result(&s, &r[2], r[2].t_end);
    /* Stretch the window to 3 s so the run is long enough to judge. */
    s.t_stop = T0 + 3000 * MS;
    ll_stats_little(&s, &l);
    assert_true(l.judged);
    assert_true(l.l_measured > 0.1666 && l.l_measured < 0.1667);
    assert_true(l.diff < 1e-9);
    assert_false(l.flagged);
    assert_int_equal(s.outstanding_peak, 2);

    /* Results collected 100 ms after they ended: L grows by 300 ms of area, +60%: flagged. */
    struct ll_stats s2;
    assert_int_equal(ll_stats_init(&s2, NULL), 0);
    s2.t_start = T0;
    for (int i = 0; i < 3; i++) {
        ll_stats_note_submit(&s2, r[i].t_queued, 0);
    }
    for (int i = 0; i < 3; i++) {
        ll_stats_add_result(&s2, &r[i], r[i].t_end + 100 * MS);
    }
    s2.t_stop = T0 + 3000 * MS;
    ll_stats_little(&s2, &l);
    assert_true(l.diff > 0.59 && l.diff < 0.61);
    assert_true(l.flagged);

    /* Merge: counts and areas add. */
    assert_int_equal(ll_stats_merge(&s, &s2), 0);
    assert_int_equal(s.completed, 6);
    assert_int_equal(s.hist[LL_H_E2E]->n, 6);
    assert_true(s.area_ns > 1299 * MS && s.area_ns < 1301 * MS);
    ll_stats_free(&s);
    ll_stats_free(&s2);
}

/* Issue 11 item 11: what the check cannot judge, it does not flag. The README's first example
 * at --rate 0.5: requests of 0.5 ms, each collected 0.05 ms after it ended (L 0.0001 vs 0.0001,
 * 10% apart): that is the driver's turn-around, not a fault. Too short a run is not judged
 * either; long requests with the same collection delay are judged and pass. */
static void test_stats_littles_law_not_judged(void **state)
{
    struct ll_stats s;
    struct ll_little l;
    assert_int_equal(ll_stats_init(&s, NULL), 0);
    s.t_start = T0;
    for (int i = 0; i < 20; i++) {
        struct ll_result r = result(LL_CLASS_NONE, 2000 * i, 0);
        r.t_end = r.t_queued + 500 * 1000; /* 0.5 ms */
        ll_stats_note_submit(&s, r.t_queued, 0);
        ll_stats_add_result(&s, &r, r.t_end + 50 * 1000);
    }
    s.t_stop = T0 + 40000 * MS;
    ll_stats_little(&s, &l);
    assert_true(l.diff > 0.09 && l.diff < 0.11);
    assert_false(l.judged);
    assert_false(l.flagged);
    assert_non_null(l.why_not);
    ll_stats_free(&s);

    assert_int_equal(ll_stats_init(&s, NULL), 0); /* 5 results of 100 ms in 90 ms: too short */
    s.t_start = T0;
    for (int i = 0; i < 5; i++) {
        struct ll_result r = result(LL_CLASS_NONE, 0, 100);
        ll_stats_note_submit(&s, r.t_queued, 0);
        ll_stats_add_result(&s, &r, r.t_end + 10 * MS);
    }
    s.t_stop = T0 + 90 * MS;
    ll_stats_little(&s, &l);
    assert_false(l.judged || l.flagged);
    ll_stats_free(&s);

    assert_int_equal(ll_stats_init(&s, NULL), 0); /* 20 x 100 ms, each 0.05 ms late: judged */
    s.t_start = T0;
    for (int i = 0; i < 20; i++) {
        struct ll_result r = result(LL_CLASS_NONE, 200 * i, 100);
        ll_stats_note_submit(&s, r.t_queued, 0);
        ll_stats_add_result(&s, &r, r.t_end + 50 * 1000);
    }
    s.t_stop = T0 + 4000 * MS;
    ll_stats_little(&s, &l);
    assert_true(l.judged);
    assert_false(l.flagged);
    ll_stats_free(&s);
}

static void test_stats_open_loop_slip(void **state)
{
    struct ll_stats s;
    assert_int_equal(ll_stats_init(&s, NULL), 0);
    ll_stats_note_submit(&s, T0, T0);                            /* on time */
    ll_stats_note_submit(&s, T0 + 13 * MS, T0 + 10 * MS);        /* 3 ms late */
    ll_stats_note_submit(&s, T0 + 20 * MS, T0 + 20 * MS - 1000); /* 1 us: not late */
    assert_int_equal(s.sends_scheduled, 3);
    assert_int_equal(s.sends_late, 1);
    assert_int_equal(s.slip_max_ns, 3 * MS);
    ll_stats_free(&s);
}

static void test_stats_slo_parse(void **state)
{
    struct ll_slo slo;
    assert_int_equal(ll_slo_parse("ttft=200,itl=50,e2e=2000", &slo), 0);
    assert_int_equal(slo.ttft_ms, 200);
    assert_int_equal(slo.itl_ms, 50);
    assert_int_equal(slo.e2e_ms, 2000);
    assert_int_equal(ll_slo_parse("e2e=1.5", &slo), 0);
    assert_int_equal(slo.e2e_ms, 2);
    assert_int_equal(slo.ttft_ms, 0);
    const char *bad[] = {"",       "ttft",  "ttft=",   "ttft=x",        "ttft=-1",
                         "ttft=0", "foo=1", "ttft=1,", "ttft=1,,e2e=2", "ttft=1e99"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(ll_slo_parse(bad[i], &slo), LL_EINVAL);
    }
}

static void test_stats_report_json(void **state)
{
    struct ll_stats s;
    struct ll_slo slo = {.e2e_ms = 100};
    struct ll_result r = result(LL_CLASS_NONE, 0, 10);
    assert_int_equal(ll_stats_init(&s, &slo), 0);
    s.t_start = T0;
    fold(&s, &r);
    s.t_stop = r.t_end;
    cJSON *doc = ll_report_stats_json(&s);
    assert_non_null(doc);
    const char *paths[][2] = {{"requests", "succeeded"},     {"latency", "e2e"},
                              {"latency", "corrected"},      {"goodput", "good"},
                              {"littles_law", "l_measured"}, {"resources", "cpu_user_s"},
                              {"accounting", "ok"},          {"backend", "loop_lag"}};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        cJSON *sec = cJSON_GetObjectItemCaseSensitive(doc, paths[i][0]);
        assert_non_null(cJSON_GetObjectItemCaseSensitive(sec, paths[i][1]));
    }
    cJSON *e2e =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "latency"), "e2e");
    assert_non_null(cJSON_GetObjectItemCaseSensitive(e2e, "p999_ms"));
    cJSON_Delete(doc);

    struct ll_config cfg;
    ll_config_defaults(&cfg);
    cfg.api_key = "sk-secret-do-not-print";
    doc = ll_report_config_json(&cfg);
    char *text = cJSON_PrintUnformatted(doc);
    assert_null(strstr(text, "sk-secret"));
    assert_non_null(strstr(text, "\"api_key_set\":true"));
    cJSON_free(text);
    cJSON_Delete(doc);

    const char *hdrs[] = {"Authorization: Bearer sk-x", "x-mock-latency-ms: 5", "X-Api-Key: k"};
    doc = ll_report_headers_json(hdrs, 3);
    text = cJSON_PrintUnformatted(doc);
    assert_null(strstr(text, "sk-x"));
    assert_null(strstr(text, ": k\""));
    assert_non_null(strstr(text, "x-mock-latency-ms: 5"));
    cJSON_free(text);
    cJSON_Delete(doc);
    ll_stats_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stats_class_counts),
        cmocka_unit_test(test_stats_itl_from_token_times),
        cmocka_unit_test(test_stats_goodput_slo),
        cmocka_unit_test(test_stats_goodput_closed_from_dispatch),
        cmocka_unit_test(test_stats_keepup),
        cmocka_unit_test(test_stats_littles_law),
        cmocka_unit_test(test_stats_littles_law_not_judged),
        cmocka_unit_test(test_stats_open_loop_slip),
        cmocka_unit_test(test_stats_slo_parse),
        cmocka_unit_test(test_stats_report_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
