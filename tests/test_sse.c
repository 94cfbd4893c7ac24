/* test_sse.c - SSE parsing: every WHATWG rule (tests/sse_rules.h) at every split point, every
 * line ending, comments, [DONE], limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_err.h"
#include "ll_sse.h"
#include "sse_rules.h"

#define MAX_EVENTS 16

struct events {
    int n;
    char data[MAX_EVENTS][128];
    char type[MAX_EVENTS][32];
    int stop_after; /* return 99 from the n-th event (0 = never) */
};

static int collect_cb(void *arg, const char *type, const char *data, size_t len)
{
    struct events *ev = arg;
    assert_int_equal(strlen(data), len); /* NUL-ended, no embedded NUL here */
    assert_true(ev->n < MAX_EVENTS);
    snprintf(ev->data[ev->n], sizeof(ev->data[0]), "%s", data);
    snprintf(ev->type[ev->n], sizeof(ev->type[0]), "%s", type);
    ev->n++;
    return ev->stop_after && ev->n == ev->stop_after ? 99 : 0;
}

/* What a parser fed `r` must have produced. */
static void check_rule(const struct sse_rule *r, const struct events *ev, const struct ll_sse *s,
                       const char *how)
{
    int want = 0;
    while (want < SSE_MAX_EV && r->ev[want].type != NULL) {
        want++;
    }
    if (ev->n != want) {
        fail_msg("%s (%s): %d events, want %d", r->name, how, ev->n, want);
    }
    for (int i = 0; i < want; i++) {
        if (strcmp(ev->type[i], r->ev[i].type) != 0 || strcmp(ev->data[i], r->ev[i].data) != 0) {
            fail_msg("%s (%s): event %d is %s '%s', want %s '%s'", r->name, how, i, ev->type[i],
                     ev->data[i], r->ev[i].type, r->ev[i].data);
        }
    }
    if (strcmp(s->last_id, r->last_id) != 0 || s->retry_ms != r->retry_ms || s->done != r->done) {
        fail_msg("%s (%s): id '%s' retry %lld done %d, want '%s' %lld %d", r->name, how, s->last_id,
                 (long long)s->retry_ms, s->done, r->last_id, (long long)r->retry_ms, r->done);
    }
}

/* Every rule, fed whole, in two pieces at every split point, in three pieces at every pair of
 * split points, and byte by byte; and again after a reset, as the next attempt would. */
static void test_sse_rules_every_split(void **state)
{
    for (size_t k = 0; k < SSE_N_RULES; k++) {
        const struct sse_rule *r = &sse_rules[k];
        for (size_t a = 0; a <= r->len; a++) {
            for (size_t b = a; b <= r->len; b++) {
                struct ll_sse s;
                struct events ev = {0};
                char how[48];
                ll_sse_init(&s);
                assert_int_equal(ll_sse_feed(&s, r->bytes, a, collect_cb, &ev), 0);
                assert_int_equal(ll_sse_feed(&s, r->bytes + a, b - a, collect_cb, &ev), 0);
                assert_int_equal(ll_sse_feed(&s, r->bytes + b, r->len - b, collect_cb, &ev), 0);
                snprintf(how, sizeof(how), "cut at %zu and %zu", a, b);
                check_rule(r, &ev, &s, how);
                ll_sse_free(&s);
            }
        }
        struct ll_sse s;
        struct events ev = {0};
        ll_sse_init(&s);
        static const char prime[] = "data: x\nid: 1\nretry: 5\nevent: e\n\xEF";
        assert_int_equal(ll_sse_feed(&s, prime, sizeof(prime) - 1, collect_cb, &ev), 0);
        ll_sse_reset(&s); /* a new stream: no pending line, type, id, retry or BOM state */
        memset(&ev, 0, sizeof(ev));
        for (size_t i = 0; i < r->len; i++) {
            assert_int_equal(ll_sse_feed(&s, r->bytes + i, 1, collect_cb, &ev), 0);
        }
        check_rule(r, &ev, &s, "byte by byte after a reset");
        ll_sse_free(&s);
    }
}

static const char *const want[] = {"{\"a\":1}", "line1\nline2", "{\"b\":2}", "", " x:y"};

/* The same stream with "\n" line ends; variants replace them. */
static const char stream_lf[] = ": keep-alive\n"
                                "\n"
                                "data: {\"a\":1}\n"
                                "\n"
                                "data: line1\n"
                                "data:line2\n"
                                "\n"
                                "event: chunk\n"
                                "id: 3\n"
                                "retry: 100\n"
                                "data: {\"b\":2}\n"
                                "\n"
                                "data\n"
                                "\n"
                                "data:  x:y\n" /* only one space is stripped */
                                "\n"
                                "data: [DONE]\n"
                                "\n";

static char *with_line_end(const char *src, const char *eol)
{
    char *out = malloc(strlen(src) * 2 + 1), *o = out;
    assert_non_null(out);
    for (const char *p = src; *p; p++) {
        if (*p == '\n') {
            o += sprintf(o, "%s", eol);
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return out;
}

static void check_events(const struct events *ev, const struct ll_sse *s, const char *what)
{
    if (ev->n != 5) {
        fail_msg("%s: %d events, want 5", what, ev->n);
    }
    for (int i = 0; i < 5; i++) {
        if (strcmp(ev->data[i], want[i]) != 0) {
            fail_msg("%s: event %d is '%s', want '%s'", what, i, ev->data[i], want[i]);
        }
    }
    assert_true(s->done);
}

/* Feed `buf` in two pieces at every split point, and once byte by byte. */
static void every_split(const char *buf, const char *what)
{
    size_t len = strlen(buf);
    for (size_t cut = 0; cut <= len; cut++) {
        struct ll_sse s;
        struct events ev = {0};
        ll_sse_init(&s);
        assert_int_equal(ll_sse_feed(&s, buf, cut, collect_cb, &ev), 0);
        assert_int_equal(ll_sse_feed(&s, buf + cut, len - cut, collect_cb, &ev), 0);
        char name[64];
        snprintf(name, sizeof(name), "%s split at %zu", what, cut);
        check_events(&ev, &s, name);
        ll_sse_free(&s);
    }
    struct ll_sse s;
    struct events ev = {0};
    ll_sse_init(&s);
    for (size_t i = 0; i < len; i++) {
        assert_int_equal(ll_sse_feed(&s, buf + i, 1, collect_cb, &ev), 0);
    }
    check_events(&ev, &s, what);
    ll_sse_free(&s);
}

static void test_sse_every_split_lf(void **state)
{
    every_split(stream_lf, "LF");
}

static void test_sse_every_split_crlf(void **state)
{
    char *b = with_line_end(stream_lf, "\r\n");
    every_split(b, "CRLF");
    free(b);
}

static void test_sse_every_split_cr(void **state)
{
    char *b = with_line_end(stream_lf, "\r");
    every_split(b, "CR");
    free(b);
}

static void test_sse_done_dispatches_nothing(void **state)
{
    struct ll_sse s;
    struct events ev = {0};
    ll_sse_init(&s);
    const char *b = ": ping\n\ndata: [DONE]\n\n";
    assert_int_equal(ll_sse_feed(&s, b, strlen(b), collect_cb, &ev), 0);
    assert_int_equal(ev.n, 0);
    assert_true(s.done);
    /* reset clears the state for the next attempt, also a half-read line */
    assert_int_equal(ll_sse_feed(&s, "data: {\"par", 11, collect_cb, &ev), 0);
    ll_sse_reset(&s);
    assert_false(s.done);
    assert_int_equal(ll_sse_feed(&s, "data: 1\n\n", 9, collect_cb, &ev), 0);
    assert_int_equal(ev.n, 1);
    assert_string_equal(ev.data[0], "1");
    ll_sse_free(&s);
}

static void test_sse_oversized_event(void **state)
{
    char big[200];
    memset(big, 'x', sizeof(big));
    /* One long data line. */
    struct ll_sse s;
    struct events ev = {0};
    ll_sse_init(&s);
    s.max_event = 64;
    assert_int_equal(ll_sse_feed(&s, "data: ", 6, collect_cb, &ev), 0);
    int rc = 0;
    for (size_t i = 0; i < sizeof(big) && rc == 0; i += 10) {
        rc = ll_sse_feed(&s, big + i, 10, collect_cb, &ev);
    }
    if (rc == 0) {
        rc = ll_sse_feed(&s, "\n\n", 2, collect_cb, &ev);
    }
    assert_int_equal(rc, LL_EPROTO);
    assert_int_equal(ev.n, 0);
    ll_sse_free(&s);

    /* Many short data lines adding up. */
    ll_sse_init(&s);
    s.max_event = 64;
    rc = 0;
    for (int i = 0; i < 20 && rc == 0; i++) {
        rc = ll_sse_feed(&s, "data: 0123456789\n", 17, collect_cb, &ev);
    }
    assert_int_equal(rc, LL_EPROTO);
    assert_int_equal(ev.n, 0);
    ll_sse_free(&s);

    /* An event just under the limit passes. */
    ll_sse_init(&s);
    s.max_event = 64;
    char line[80];
    snprintf(line, sizeof(line), "data: %.*s\n\n", 63, big);
    assert_int_equal(ll_sse_feed(&s, line, strlen(line), collect_cb, &ev), 0);
    assert_int_equal(ev.n, 1);
    ll_sse_free(&s);
}

static void test_sse_callback_stops(void **state)
{
    struct ll_sse s;
    struct events ev = {.stop_after = 1};
    ll_sse_init(&s);
    const char *b = "data: 1\n\ndata: 2\n\n";
    assert_int_equal(ll_sse_feed(&s, b, strlen(b), collect_cb, &ev), 99);
    assert_int_equal(ev.n, 1);
    ll_sse_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sse_every_split_lf),
        cmocka_unit_test(test_sse_every_split_crlf),
        cmocka_unit_test(test_sse_every_split_cr),
        cmocka_unit_test(test_sse_done_dispatches_nothing),
        cmocka_unit_test(test_sse_oversized_event),
        cmocka_unit_test(test_sse_callback_stops),
        cmocka_unit_test(test_sse_rules_every_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
