/* test_mock_fault.c - fault rate parsing and decisions, and the scripted attempt table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mock_fault.h"
#include "mock_rng.h"

#define DRAWS 100000

static void test_mock_fault_init_never_faults(void **state)
{
    struct mock_fault_rates f;
    struct mock_fault_decision d;
    struct mock_rng r;
    mock_fault_rates_init(&f);
    assert_int_equal(f.close_after, 3);
    assert_int_equal(f.retry_after_s, 1);
    mock_rng_seed(&r, 3);
    for (int i = 0; i < 10000; i++) {
        mock_fault_decide(&f, &r, &d);
        assert_int_equal(d.kind, MOCK_FAULT_NONE);
        assert_false(d.split);
    }
}

static void test_mock_fault_parse_good(void **state)
{
    struct mock_fault_rates f;
    char err[200] = "";
    mock_fault_rates_init(&f);
    int rc = mock_fault_parse("429=0.05,500=0.02,503=0.02,400=0.01,close=0.01,stall=0.01,"
                              "split=0.1,close_after=7,retry_after=2",
                              &f, err, sizeof(err));
    if (rc != 0)
        fail_msg("%s", err);
    assert_true(f.rate[MOCK_FAULT_429] == 0.05);
    assert_true(f.rate[MOCK_FAULT_500] == 0.02);
    assert_true(f.rate[MOCK_FAULT_503] == 0.02);
    assert_true(f.rate[MOCK_FAULT_400] == 0.01);
    assert_true(f.rate[MOCK_FAULT_CLOSE] == 0.01);
    assert_true(f.rate[MOCK_FAULT_STALL] == 0.01);
    assert_true(f.split == 0.1);
    assert_int_equal(f.close_after, 7);
    assert_int_equal(f.retry_after_s, 2);

    /* keys not named keep their value; blanks are tolerated */
    assert_int_equal(mock_fault_parse(" 500 = 0.3 , 429=0.6", &f, err, sizeof(err)), 0);
    assert_true(f.rate[MOCK_FAULT_500] == 0.3);
    assert_true(f.rate[MOCK_FAULT_429] == 0.6);
    assert_true(f.rate[MOCK_FAULT_503] == 0.02);
    assert_true(f.split == 0.1);
    assert_int_equal(f.close_after, 7);
    /* decimal rates summing to exactly 1 are not "over 1" by float noise */
    mock_fault_rates_init(&f);
    assert_int_equal(mock_fault_parse("429=0.7,500=0.2,503=0.1", &f, err, sizeof(err)), 0);
    assert_int_equal(mock_fault_parse("429=0.1,500=0.2,503=0.7", &f, err, sizeof(err)), 0);
    assert_int_equal(mock_fault_parse("", &f, err, sizeof(err)), 0);
}

static void test_mock_fault_parse_bad(void **state)
{
    static const char *const bad[] = {
        "429=0.6,500=0.6", /* sum over 1 */
        "429=1.5",
        "500=-0.1",
        "503=abc",
        "close=",
        "stall=nan",
        "402=0.1",
        "429",
        "split=2",
        "close_after=-1",
        "retry_after=x",
        "429=0.1,,500=0.1",
        "close_after=1.5",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct mock_fault_rates f, before;
        char err[200] = "";
        mock_fault_rates_init(&f);
        f.rate[MOCK_FAULT_429] = 0.25;
        before = f;
        if (mock_fault_parse(bad[i], &f, err, sizeof(err)) != -1)
            fail_msg("accepted bad fault spec '%s'", bad[i]);
        assert_true(strlen(err) > 10);
        assert_memory_equal(&f, &before, sizeof(f));
    }
    /* the sum counts rates already set by an earlier spec too */
    struct mock_fault_rates f;
    char err[200];
    mock_fault_rates_init(&f);
    assert_int_equal(mock_fault_parse("429=0.6", &f, err, sizeof(err)), 0);
    assert_int_equal(mock_fault_parse("stall=0.6", &f, err, sizeof(err)), -1);
}

static void test_mock_fault_rates_observed(void **state)
{
    struct mock_fault_rates f;
    char err[200];
    int seen[MOCK_FAULT__COUNT] = {0}, split = 0;
    mock_fault_rates_init(&f);
    assert_int_equal(
        mock_fault_parse("429=0.1,500=0.2,close=0.05,stall=0.15,split=0.3", &f, err, sizeof(err)),
        0);
    struct mock_rng r;
    mock_rng_seed(&r, 11);
    for (int i = 0; i < DRAWS; i++) {
        struct mock_fault_decision d;
        mock_fault_decide(&f, &r, &d);
        seen[d.kind]++;
        split += d.split;
        assert_int_equal(d.close_after, 3);
    }
    for (int k = MOCK_FAULT_NONE + 1; k < MOCK_FAULT__COUNT; k++) {
        double want = f.rate[k] * DRAWS;
        if (seen[k] < want * 0.9 || seen[k] > want * 1.1)
            fail_msg("%s: %d of %d, expected about %.0f", mock_fault_name(k), seen[k], DRAWS, want);
    }
    assert_true(seen[MOCK_FAULT_NONE] > 0.5 * DRAWS * 0.9 &&
                seen[MOCK_FAULT_NONE] < 0.5 * DRAWS * 1.1);
    assert_true(split > 0.3 * DRAWS * 0.9 && split < 0.3 * DRAWS * 1.1);
}

static void test_mock_fault_rate_one_always(void **state)
{
    struct mock_fault_rates f;
    char err[200];
    struct mock_rng r;
    mock_fault_rates_init(&f);
    assert_int_equal(mock_fault_parse("503=1,retry_after=4", &f, err, sizeof(err)), 0);
    mock_rng_seed(&r, 0);
    for (int i = 0; i < 10000; i++) {
        struct mock_fault_decision d;
        mock_fault_decide(&f, &r, &d);
        assert_int_equal(d.kind, MOCK_FAULT_503);
        assert_int_equal(d.retry_after_s, 4);
    }
}

static void test_mock_fault_decide_deterministic(void **state)
{
    struct mock_fault_rates f;
    char err[200];
    struct mock_rng a, b, c, plain;
    mock_fault_rates_init(&f);
    assert_int_equal(mock_fault_parse("429=0.3,500=0.3,split=0.5", &f, err, sizeof(err)), 0);
    mock_rng_seed(&a, 8);
    mock_rng_seed(&b, 8);
    mock_rng_seed(&c, 9);
    int differ = 0;
    for (int i = 0; i < 1000; i++) {
        struct mock_fault_decision x, y, z;
        mock_fault_decide(&f, &a, &x);
        mock_fault_decide(&f, &b, &y);
        mock_fault_decide(&f, &c, &z);
        assert_int_equal(x.kind, y.kind);
        assert_int_equal(x.split, y.split);
        differ += x.kind != z.kind;
    }
    assert_true(differ > 100);
    /* exactly two draws whatever the rates: later draws do not depend on the fault config */
    struct mock_fault_decision d;
    mock_fault_rates_init(&f);
    mock_rng_seed(&a, 8);
    mock_rng_seed(&plain, 8);
    mock_fault_decide(&f, &a, &d);
    mock_rng_next(&plain);
    mock_rng_next(&plain);
    assert_int_equal(mock_rng_next(&a), mock_rng_next(&plain));
}

static void test_mock_fault_names(void **state)
{
    assert_string_equal(mock_fault_name(MOCK_FAULT_NONE), "none");
    assert_string_equal(mock_fault_name(MOCK_FAULT_429), "429");
    assert_string_equal(mock_fault_name(MOCK_FAULT_400), "400");
    assert_string_equal(mock_fault_name(MOCK_FAULT_CLOSE), "close");
    assert_string_equal(mock_fault_name(MOCK_FAULT_STALL), "stall");
    assert_string_equal(mock_fault_name(MOCK_FAULT__COUNT), "unknown");
}

static void test_mock_fault_script_counts(void **state)
{
    struct mock_script *s = mock_script_new(16);
    assert_non_null(s);
    assert_int_equal(mock_script_attempt(s, "a", 1), 1);
    assert_int_equal(mock_script_attempt(s, "a", 1), 2);
    assert_int_equal(mock_script_attempt(s, "b", 1), 1);
    assert_int_equal(mock_script_attempt(s, "a", 1), 3);
    assert_int_equal(mock_script_attempt(s, "b", 1), 2);
    assert_int_equal(mock_script_attempt(s, "ab", 2), 1); /* length is part of the key */
    assert_int_equal(mock_script_attempt(s, "ab", 1), 4); /* ... "a" again */

    /* long keys differing only past the inline part are still different keys */
    char k1[300], k2[300];
    memset(k1, 'k', sizeof(k1));
    memcpy(k2, k1, sizeof(k2));
    k2[299] = 'z';
    assert_int_equal(mock_script_attempt(s, k1, sizeof(k1)), 1);
    assert_int_equal(mock_script_attempt(s, k2, sizeof(k2)), 1);
    assert_int_equal(mock_script_attempt(s, k1, sizeof(k1)), 2);
    mock_script_free(s);
}

static void test_mock_fault_script_evicts_oldest(void **state)
{
    struct mock_script *s = mock_script_new(3);
    assert_non_null(s);
    char key[16];
    for (int i = 0; i < 3; i++) {
        snprintf(key, sizeof(key), "key%d", i);
        assert_int_equal(mock_script_attempt(s, key, strlen(key)), 1);
        assert_int_equal(mock_script_attempt(s, key, strlen(key)), 2);
    }
    assert_int_equal(mock_script_attempt(s, "new", 3), 1);  /* table full: key0 goes */
    assert_int_equal(mock_script_attempt(s, "key1", 4), 3); /* still there */
    assert_int_equal(mock_script_attempt(s, "key0", 4), 1); /* forgotten; evicts key1 */
    assert_int_equal(mock_script_attempt(s, "key2", 4), 3);
    assert_int_equal(mock_script_attempt(s, "new", 3), 2);
    /* many more keys than capacity: no crash, and counting still works */
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        assert_int_equal(mock_script_attempt(s, key, strlen(key)), 1);
        assert_int_equal(mock_script_attempt(s, key, strlen(key)), 2);
    }
    mock_script_free(s);
}

#define SCRIPT_THREADS    4
#define SCRIPT_PER_THREAD 5000

struct script_worker {
    struct mock_script *s;
    int id;
    unsigned max_shared, own_last;
    char seen_bad;
};

static void *script_worker_main(void *arg)
{
    struct script_worker *w = arg;
    char own[16];
    snprintf(own, sizeof(own), "own%d", w->id);
    for (unsigned i = 1; i <= SCRIPT_PER_THREAD; i++) {
        unsigned n = mock_script_attempt(w->s, "shared", 6);
        if (n <= w->max_shared) /* one thread sees its numbers increase */
            w->seen_bad = 1;
        w->max_shared = n;
        w->own_last = mock_script_attempt(w->s, own, strlen(own));
        if (w->own_last != i)
            w->seen_bad = 1;
    }
    return NULL;
}

static void test_mock_fault_script_threads(void **state)
{
    struct mock_script *s = mock_script_new(64);
    struct script_worker w[SCRIPT_THREADS];
    pthread_t t[SCRIPT_THREADS];
    assert_non_null(s);
    for (int i = 0; i < SCRIPT_THREADS; i++) {
        w[i] = (struct script_worker){.s = s, .id = i};
        assert_int_equal(pthread_create(&t[i], NULL, script_worker_main, &w[i]), 0);
    }
    for (int i = 0; i < SCRIPT_THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].seen_bad, 0);
        assert_int_equal(w[i].own_last, SCRIPT_PER_THREAD);
    }
    /* no attempt was lost or counted twice */
    assert_int_equal(mock_script_attempt(s, "shared", 6), SCRIPT_THREADS * SCRIPT_PER_THREAD + 1);
    mock_script_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mock_fault_init_never_faults),
        cmocka_unit_test(test_mock_fault_parse_good),
        cmocka_unit_test(test_mock_fault_parse_bad),
        cmocka_unit_test(test_mock_fault_rates_observed),
        cmocka_unit_test(test_mock_fault_rate_one_always),
        cmocka_unit_test(test_mock_fault_decide_deterministic),
        cmocka_unit_test(test_mock_fault_names),
        cmocka_unit_test(test_mock_fault_script_counts),
        cmocka_unit_test(test_mock_fault_script_evicts_oldest),
        cmocka_unit_test(test_mock_fault_script_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
