/* test_exact.c - results that merge exactly (issue 16 items 3, 8): a histogram written and read
 * back is the same histogram; histograms of the parts, written, read and merged, are the
 * histogram of the whole; a struct ll_stats written and read back prints the same report; the
 * table of fields covers the struct; another layout, an unknown or missing field is refused; the
 * 1 s series adds up to the run's totals and merges window by window; wall-clock instants. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ll_clock.h"
#include "ll_err.h"
#include "ll_hist_json.h"
#include "ll_merge.h"
#include "ll_report.h"
#include "ll_series.h"
#include "ll_stats.h"
#include "ll_stats_exact.h"
#include "ll_walltime.h"

#define MS LL_NS_PER_MS
#define T0 (1000 * LL_NS_PER_S)

static uint64_t rng_state = 12345;
static uint64_t rnd(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return rng_state >> 17;
}

/* A value spread over many octaves: 0 .. ~10 s, log-uniform-ish. */
static int64_t rnd_value(void)
{
    return (int64_t)(rnd() % ((uint64_t)1 << (rnd() % 34)));
}

static cJSON *roundtrip_text(cJSON *o)
{
    char *t = cJSON_Print(o); /* through the text, as a file would */
    cJSON *back = cJSON_Parse(t);
    free(t);
    cJSON_Delete(o);
    return back;
}

static void test_exact_hist_roundtrip(void **state)
{
    struct ll_hist *h = malloc(sizeof(*h)), *g = malloc(sizeof(*g));
    char why[200];
    (void)state;
    ll_hist_init(h);
    for (int i = 0; i < 20000; i++) {
        ll_hist_record(h, rnd_value());
    }
    ll_hist_record(h, INT64_MAX); /* the saturated last bucket too */
    cJSON *o = roundtrip_text(ll_hist_to_json(h));
    assert_non_null(o);
    assert_int_equal(ll_hist_from_json(o, g, why, sizeof(why)), 0);
    assert_memory_equal(h->counts, g->counts, sizeof(h->counts));
    assert_int_equal(h->n, g->n);
    assert_int_equal(h->min, g->min);
    assert_true(h->max == g->max || h->max > (1LL << 53)); /* above 2^53 a double rounds */
    assert_true(h->sum == g->sum && h->sumsq == g->sumsq); /* 17 digits: the same double */
    cJSON_Delete(o);
    free(h);
    free(g);
}

/* Four parts, each written to text and read back, merged: the histogram of all the values. */
static void test_exact_hist_merge_equals_union(void **state)
{
    struct ll_hist *all = malloc(sizeof(*all)), *part = malloc(sizeof(*part));
    struct ll_hist *merged = malloc(sizeof(*merged)), *back = malloc(sizeof(*back));
    char why[200];
    (void)state;
    ll_hist_init(all);
    ll_hist_init(merged);
    for (int p = 0; p < 4; p++) {
        ll_hist_init(part);
        for (int i = 0; i < 5000 + p * 977; i++) {
            int64_t v = rnd_value();
            ll_hist_record(part, v);
            ll_hist_record(all, v);
        }
        cJSON *o = roundtrip_text(ll_hist_to_json(part));
        assert_int_equal(ll_hist_from_json(o, back, why, sizeof(why)), 0);
        cJSON_Delete(o);
        ll_hist_merge(merged, back);
    }
    assert_memory_equal(all->counts, merged->counts, sizeof(all->counts));
    assert_int_equal(all->n, merged->n);
    assert_int_equal(all->min, merged->min);
    assert_int_equal(all->max, merged->max);
    const double ps[] = {0, 1, 25, 50, 90, 99, 99.9, 99.99, 100};
    for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
        assert_int_equal(ll_hist_percentile(all, ps[i]), ll_hist_percentile(merged, ps[i]));
    }
    assert_true(fabs(ll_hist_mean(all) - ll_hist_mean(merged)) <= 1e-9 * ll_hist_mean(all));
    free(all);
    free(part);
    free(merged);
    free(back);
}

/* A reader refuses what it cannot add up exactly, naming it. */
static void test_exact_hist_refused(void **state)
{
    char why[200];
    struct ll_hist *h = malloc(sizeof(*h));
    (void)state;
    cJSON *l = ll_hist_layout_json();
    assert_int_equal(ll_hist_layout_check(l, why, sizeof(why)), 0);
    cJSON_ReplaceItemInObject(l, "sub_bits", cJSON_CreateNumber(6));
    assert_int_equal(ll_hist_layout_check(l, why, sizeof(why)), LL_EINVAL);
    assert_non_null(strstr(why, "sub_bits 6, this build's 7"));
    cJSON_ReplaceItemInObject(l, "sub_bits", cJSON_CreateNumber(LL_HIST_SUB_BITS));
    cJSON_ReplaceItemInObject(l, "kind", cJSON_CreateString("hdr"));
    assert_int_equal(ll_hist_layout_check(l, why, sizeof(why)), LL_EINVAL);
    assert_non_null(strstr(why, "kind hdr"));
    cJSON_Delete(l);

    const char *bad[] = {
        "{\"n\":2,\"min\":1,\"max\":1,\"sum\":2,\"sumsq\":2,\"buckets\":[[1,1]]}",       /* n */
        "{\"n\":1,\"min\":1,\"max\":1,\"sum\":1,\"sumsq\":1,\"buckets\":[[99999,1]]}",   /* range */
        "{\"n\":2,\"min\":1,\"max\":2,\"sum\":3,\"sumsq\":5,\"buckets\":[[2,1],[1,1]]}", /* order */
        "{\"n\":1,\"min\":1,\"max\":1,\"sum\":1,\"sumsq\":1,\"buckets\":[[1,0.5]]}",     /* count */
        "{\"n\":1,\"min\":1,\"max\":1,\"buckets\":[[1,1]]}",                             /* sum */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cJSON *o = cJSON_Parse(bad[i]);
        assert_int_equal(ll_hist_from_json(o, h, why, sizeof(why)), LL_EINVAL);
        cJSON_Delete(o);
    }
    free(h);
}

/* ---- struct ll_stats ---- */

static struct ll_result result(int i, int64_t start_ms)
{
    struct ll_result r;
    memset(&r, 0, sizeof(r));
    r.cls = i % 17 == 3 ? LL_CLASS_HTTP_5XX : i % 23 == 5 ? LL_CLASS_TIMEOUT : LL_CLASS_NONE;
    r.status = r.cls == LL_CLASS_NONE ? 200 : 503;
    r.attempts = 1 + (i % 5 == 0);
    r.t_intended = T0 + start_ms * MS;
    r.t_queued = r.t_intended + (i % 3) * 100000;
    r.t_dispatch = r.t_queued + (i % 4) * 50000;
    r.t_end = r.t_dispatch + (20 + (i * 7919) % 180) * MS;
    r.attempt[r.attempts - 1].t_start = r.t_dispatch;
    r.attempt[r.attempts - 1].t_end = r.t_end;
    r.prompt_tokens = i % 11 == 0 ? -1 : 9;
    r.completion_tokens = i % 11 == 0 ? -1 : 16 + i % 5;
    r.bytes_rx = 400 + (uint64_t)i;
    r.connects = i % 9 == 0;
    return r;
}

struct event {
    int64_t t;
    int i;
    bool submit;
};

static int by_time(const void *a, const void *b)
{
    const struct event *x = a, *y = b;
    return x->t < y->t ? -1 : x->t > y->t ? 1 : x->submit < y->submit ? -1 : x->submit > y->submit;
}

/* Fold results i = first, first + step, ... < n into s, open loop at 100/s from T0, their
 * submits and collects in time order (as a driver sees them). */
static void fold(struct ll_stats *s, int first, int step, int n)
{
    struct event *ev = calloc(2 * (size_t)n, sizeof(*ev));
    size_t m = 0;
    s->t_start = s->t_stop = T0;
    s->offered_rps = 100.0 / step;
    for (int i = first; i < n; i += step) {
        struct ll_result r = result(i, i * 10);
        ev[m++] = (struct event){r.t_queued, i, true};
        ev[m++] = (struct event){r.t_end + 300000, i, false};
    }
    qsort(ev, m, sizeof(*ev), by_time);
    for (size_t e = 0; e < m; e++) {
        struct ll_result r = result(ev[e].i, ev[e].i * 10);
        if (ev[e].submit) {
            ll_stats_note_submit(s, ev[e].t, r.t_intended);
        } else {
            ll_stats_add_result(s, &r, ev[e].t);
            s->t_stop = ev[e].t;
        }
    }
    free(ev);
}

static char *table_text(const struct ll_stats *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ll_report_table(f, s);
    ll_report_accounting(f, s);
    fclose(f);
    return buf;
}

static void test_exact_stats_roundtrip(void **state)
{
    struct ll_stats s, b;
    int64_t start;
    char why[200];
    (void)state;
    assert_int_equal(ll_stats_init(&s, &(struct ll_slo){.e2e_ms = 150}), 0);
    assert_int_equal(ll_stats_init(&b, NULL), 0);
    s.series = ll_series_new();
    fold(&s, 0, 1, 400);
    ll_series_close(s.series, s.t_stop);
    s.be.loop_idle_ns = 123456;
    s.be.loop_run_ns = 9876543;
    s.be.threads = 0;
    s.be.limit_hit = ll_limit_name(LL_LIMIT_PORTS);
    s.res.rss_peak_kb = 5000;
    s.res.cpu_user_s = 0.25;
    cJSON *o = roundtrip_text(ll_stats_exact_json(&s, 5 * LL_NS_PER_S));
    assert_non_null(o);
    assert_int_equal(ll_stats_exact_read(o, &b, &start, why, sizeof(why)), 0);
    assert_int_equal(start, T0 + 5 * LL_NS_PER_S); /* the wall clock's timeline */
    assert_ptr_equal(b.be.limit_hit, ll_limit_name(LL_LIMIT_PORTS));
    b.cpu_usable = s.cpu_usable; /* written as the capacity it judged with; 0 here means that */
    char *ta = table_text(&s), *tb = table_text(&b);
    assert_string_equal(ta, tb); /* the same report from the same printing code */
    cJSON *ja = ll_report_stats_json(&s), *jb = ll_report_stats_json(&b);
    if (!cJSON_Compare(ja, jb, true)) {
        char *pa = cJSON_Print(ja), *pb = cJSON_Print(jb);
        print_message("A:\n%s\nB:\n%s\n", pa, pb);
        fail_msg("the JSON of the read-back stats differs");
    }
    assert_non_null(b.series);
    assert_int_equal(b.series->n, s.series->n);
    free(ta);
    free(tb);
    cJSON_Delete(ja);
    cJSON_Delete(jb);
    cJSON_Delete(o);
    ll_stats_free(&s);
    ll_stats_free(&b);
}

/* Four agents' stats (results k with k mod 4 == i), written, read back and merged: the same
 * histograms and counts as one fold of every result, the same window and Little's law. */
static void test_exact_stats_merge_equals_one(void **state)
{
    struct ll_stats one, total, agent;
    int64_t start;
    char why[200];
    (void)state;
    assert_int_equal(ll_stats_init(&one, NULL), 0);
    assert_int_equal(ll_stats_init(&total, NULL), 0);
    fold(&one, 0, 1, 1000);
    for (int i = 0; i < 4; i++) {
        struct ll_stats part;
        assert_int_equal(ll_stats_init(&part, NULL), 0);
        assert_int_equal(ll_stats_init(&agent, NULL), 0);
        fold(&part, i, 4, 1000);
        cJSON *o = roundtrip_text(ll_stats_exact_json(&part, 0));
        assert_int_equal(ll_stats_exact_read(o, &agent, &start, why, sizeof(why)), 0);
        assert_int_equal(ll_merge_add(&total, &agent, i == 0), 0);
        cJSON_Delete(o);
        ll_stats_free(&part);
        ll_stats_free(&agent);
    }
    for (int h = 0; h < LL_H__COUNT; h++) {
        assert_memory_equal(one.hist[h]->counts, total.hist[h]->counts,
                            sizeof(one.hist[h]->counts));
        assert_int_equal(one.hist[h]->n, total.hist[h]->n);
    }
    assert_memory_equal(one.by_class, total.by_class, sizeof(one.by_class));
    assert_int_equal(one.submitted, total.submitted);
    assert_int_equal(one.completion_tokens, total.completion_tokens);
    assert_int_equal(one.bytes_rx, total.bytes_rx);
    assert_int_equal(one.t_stop - one.t_start, total.t_stop - total.t_start);
    assert_true(fabs(one.area_ns - total.area_ns) < 1e-6 * one.area_ns);
    assert_true(fabs(one.residence_ns - total.residence_ns) < 1e-6 * one.residence_ns);
    assert_true(fabs(total.offered_rps - 100.0) < 1e-9); /* the agents' quarters add up */
    assert_int_equal(one.intended_last - one.intended_first,
                     total.intended_last - total.intended_first);
    assert_true(ll_stats_accounting_ok(&total));
    ll_stats_free(&one);
    ll_stats_free(&total);
}

static void test_exact_fields_covered(void **state)
{
    char why[200] = "";
    (void)state;
    if (ll_stats_exact_coverage(why, sizeof(why)) != 0) {
        fail_msg("%s: add the field to the table in common/ll_stats_exact.c", why);
    }
}

/* An unknown, a missing or a malformed field, an unknown histogram: refused, named. */
static void test_exact_fields_refused(void **state)
{
    struct ll_stats s, b;
    int64_t start;
    char why[200];
    (void)state;
    assert_int_equal(ll_stats_init(&s, NULL), 0);
    fold(&s, 0, 1, 50);
    struct {
        const char *obj, *key;
        cJSON *(*make)(void);
        const char *said;
    } cases[] = {
        {"fields", "frobs", cJSON_CreateTrue, "field frobs unknown"},
        {"fields", "submitted", NULL, "field submitted missing"},
        {"fields", "bytes_rx", cJSON_CreateTrue, "field bytes_rx malformed"},
        {"histograms", "dns2", cJSON_CreateNull, "histograms: "},
        {"histograms", "ttft", NULL, "histograms: "},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *o = roundtrip_text(ll_stats_exact_json(&s, 0));
        cJSON *obj = cJSON_GetObjectItem(o, cases[i].obj);
        if (cases[i].make == NULL) {
            cJSON_DeleteItemFromObject(obj, cases[i].key);
        } else if (cJSON_GetObjectItem(obj, cases[i].key) != NULL) {
            cJSON_ReplaceItemInObject(obj, cases[i].key, cases[i].make());
        } else {
            cJSON_AddItemToObject(obj, cases[i].key, cases[i].make());
        }
        assert_int_equal(ll_stats_init(&b, NULL), 0);
        assert_int_equal(ll_stats_exact_read(o, &b, &start, why, sizeof(why)), LL_EINVAL);
        if (strstr(why, cases[i].said) == NULL) {
            fail_msg("case %zu: '%s' does not say '%s'", i, why, cases[i].said);
        }
        ll_stats_free(&b);
        cJSON_Delete(o);
    }
    ll_stats_free(&s);
}

/* ---- series ---- */

static void test_exact_series_totals(void **state)
{
    struct ll_stats s;
    (void)state;
    assert_int_equal(ll_stats_init(&s, NULL), 0);
    s.series = ll_series_new();
    fold(&s, 0, 1, 700); /* 7 s of sends at 100/s */
    ll_series_close(s.series, s.t_stop);
    uint64_t sent = 0, ok = 0, done = 0, tokens = 0;
    double area = 0;
    for (size_t k = 0; k < s.series->n; k++) {
        const struct ll_series_row *r = &s.series->row[k];
        sent += r->sent;
        ok += r->by_class[LL_CLASS_NONE];
        for (int c = 0; c < LL_CLASS__COUNT; c++) {
            done += r->by_class[c];
        }
        tokens += r->tokens;
        area += r->in_flight_ns;
    }
    assert_int_equal(s.series->n, 8); /* 0..7.x s */
    assert_int_equal(s.series->row[0].sent, 100);
    assert_int_equal(sent, s.submitted);
    assert_int_equal(done, s.completed);
    assert_int_equal(ok, ll_stats_succeeded(&s));
    assert_int_equal(tokens, ll_stats_output_tokens(&s));
    assert_true(fabs(area - s.area_ns) < 1e-6 * s.area_ns); /* the same integral, cut in windows */
    ll_stats_free(&s);
}

/* Two series, the second starting 2 s later: its window k lands on the merged window k + 2. */
static void test_exact_series_merge_aligned(void **state)
{
    struct ll_series *a = ll_series_new(), *b = ll_series_new();
    struct ll_result r = {.cls = LL_CLASS_NONE, .prompt_tokens = 1, .completion_tokens = 3};
    int64_t skew = -1;
    (void)state;
    ll_series_note_submit(a, T0, T0 + 100 * MS);
    ll_series_note_result(a, T0, &r, T0 + 1500 * MS);
    ll_series_note_submit(b, T0 + 2 * LL_NS_PER_S, T0 + 2100 * MS);
    ll_series_note_result(b, T0 + 2 * LL_NS_PER_S, &r, T0 + 2200 * MS);
    assert_int_equal(ll_series_merge(b, a, &skew), 0); /* into the later one: it moves back */
    assert_int_equal(skew, 0);
    assert_int_equal(b->origin, T0);
    assert_int_equal(b->n, 3);
    assert_int_equal(b->row[0].sent, 1);
    assert_int_equal(b->row[1].by_class[LL_CLASS_NONE], 1);
    assert_int_equal(b->row[2].sent, 1);
    assert_int_equal(b->row[2].by_class[LL_CLASS_NONE], 1);
    assert_int_equal(b->row[2].tokens, 3);
    cJSON *o = roundtrip_text(ll_series_to_json(b));
    char why[200];
    struct ll_series *c = ll_series_from_json(o, T0, why, sizeof(why));
    assert_non_null(c);
    for (size_t k = 0; k < 3; k++) {
        assert_int_equal(c->row[k].sent, b->row[k].sent);
        assert_memory_equal(c->row[k].by_class, b->row[k].by_class, sizeof(b->row[k].by_class));
        assert_int_equal(c->row[k].tokens, b->row[k].tokens);
        assert_true(fabs(c->row[k].in_flight_ns - b->row[k].in_flight_ns) < 1.0);
    }
    assert_true(fabs(b->row[0].in_flight_ns - 900 * MS) < 1.0); /* 0.1 s to the edge */
    cJSON_ReplaceItemInObject(o, "window_ms", cJSON_CreateNumber(500));
    assert_null(ll_series_from_json(o, T0, why, sizeof(why)));
    assert_non_null(strstr(why, "window 500 ms"));
    cJSON_Delete(o);
    ll_series_free(a);
    ll_series_free(b);
    ll_series_free(c);
}

/* ---- wall clock ---- */

static void test_exact_walltime(void **state)
{
    int64_t t;
    char buf[LL_WALLTIME_LEN];
    (void)state;
    assert_int_equal(ll_walltime_parse("2026-11-25T14:03:09Z", &t), 0);
    assert_int_equal(t, 1795615389LL * LL_NS_PER_S);
    assert_int_equal(ll_walltime_parse("2026-11-25t15:03:09.5+01:00", &t), 0);
    assert_int_equal(t, 1795615389LL * LL_NS_PER_S + 500 * MS);
    assert_int_equal(ll_walltime_parse("2026-11-25 09:03:09.000000001-05:00", &t), 0);
    assert_int_equal(t, 1795615389LL * LL_NS_PER_S + 1);
    assert_int_equal(ll_walltime_parse("1795615389.25", &t), 0);
    assert_int_equal(t, 1795615389LL * LL_NS_PER_S + 250 * MS);
    assert_string_equal(ll_walltime_format(t, buf, sizeof(buf)), "2026-11-25T14:03:09.250000000Z");
    assert_int_equal(ll_walltime_parse("2024-02-29T00:00:00Z", &t), 0); /* a leap day */
    const char *bad[] = {"2026-02-29T00:00:00Z",
                         "2026-11-25T14:03:09",
                         "2026-13-01T00:00:00Z",
                         "2026-11-25T24:00:00Z",
                         "17956x",
                         "",
                         "2026-11-25T14:03:09Zjunk",
                         "1.",
                         "2026-11-25T14:03:09+1:00"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (ll_walltime_parse(bad[i], &t) != LL_EINVAL) {
            fail_msg("'%s' parsed", bad[i]);
        }
    }
    int64_t now = ll_walltime_now_ns(), off = ll_walltime_offset_ns();
    assert_true(llabs(ll_now_ns() + off - now) < LL_NS_PER_S);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_hist_roundtrip),
        cmocka_unit_test(test_exact_hist_merge_equals_union),
        cmocka_unit_test(test_exact_hist_refused),
        cmocka_unit_test(test_exact_stats_roundtrip),
        cmocka_unit_test(test_exact_stats_merge_equals_one),
        cmocka_unit_test(test_exact_fields_covered),
        cmocka_unit_test(test_exact_fields_refused),
        cmocka_unit_test(test_exact_series_totals),
        cmocka_unit_test(test_exact_series_merge_aligned),
        cmocka_unit_test(test_exact_walltime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
