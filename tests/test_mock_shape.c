/* test_mock_shape.c - mockllm's token counts (reasoning tokens, tokens per chunk: mock_latency.h)
 * and the shape of an answer (mock_shape.h): parsing, the draws' distributions, determinism
 * under a seed, max_tokens over reasoning + content, a served model's lengths (eos, min_tokens,
 * ignore_eos, natural lengths drawn), and chunks that add up to the usage and never mix
 * reasoning with content. No server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mock_latency.h"
#include "mock_rng.h"
#include "mock_shape.h"

#define DRAWS 20000

static struct mock_dist count(const char *spec, int lo)
{
    struct mock_dist d;
    char err[200] = "";
    if (mock_count_parse(spec, lo, MOCK_COUNT_MAX, &d, err, sizeof(err)) != 0) {
        fail_msg("'%s' refused: %s", spec, err);
    }
    return d;
}

static void test_mock_shape_count_parse(void **state)
{
    static const struct {
        const char *spec;
        int lo;
    } bad[] = {
        {"-1", 0},
        {"0", 1} /* a chunk holds a token */,
        {"2.5", 0},
        {"uniform:2.5,6", 1},
        {"uniform:6,2", 1},
        {"uniform:0,4", 1},
        {"lognormal:0,5", 0},
        {"lognormal:10,2000000", 0},
        {"many", 0},
        {"", 0},
        {"2000000", 0},
    };
    struct mock_dist d = count("4", 1);
    assert_true(d.kind == MOCK_DIST_FIXED && d.a == 4.0);
    d = count("uniform:2,6", 1);
    assert_true(d.kind == MOCK_DIST_UNIFORM && d.a == 2.0 && d.b == 6.0);
    d = count("lognormal:40,400", 0);
    assert_true(d.kind == MOCK_DIST_LOGNORMAL && d.a == 40.0 && d.b == 400.0);
    d = count("0", 0);
    assert_true(mock_count_is_fixed(&d, 0));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct mock_dist out = {MOCK_DIST_UNIFORM, 7, 7};
        char err[200] = "";
        if (mock_count_parse(bad[i].spec, bad[i].lo, MOCK_COUNT_MAX, &out, err, sizeof(err)) !=
            -1) {
            fail_msg("accepted bad count '%s'", bad[i].spec);
        }
        assert_true(strlen(err) > 10);
        assert_true(out.kind == MOCK_DIST_UNIFORM && out.a == 7); /* untouched */
    }
}

/* uniform:2,6: every whole number 2..6 about a fifth of the time (rounding a continuous draw
 * would give the ends half that), nothing outside; a fixed count draws nothing. */
static void test_mock_shape_count_draws(void **state)
{
    struct mock_dist u = count("uniform:2,6", 1), f = count("3", 1),
                     l = count("lognormal:40,400", 0);
    struct mock_rng r, before;
    int seen[8] = {0};
    mock_rng_seed(&r, 9);
    for (int i = 0; i < DRAWS; i++) {
        int k = mock_count_sample(&u, &r, 1, MOCK_COUNT_MAX);
        assert_true(k >= 2 && k <= 6);
        seen[k]++;
    }
    for (int k = 2; k <= 6; k++) {
        assert_true(fabs((double)seen[k] / DRAWS - 0.2) < 0.02);
    }
    before = r;
    assert_int_equal(mock_count_sample(&f, &r, 1, MOCK_COUNT_MAX), 3);
    assert_true(r.s == before.s);
    int below = 0;
    for (int i = 0; i < DRAWS; i++) {
        int k = mock_count_sample(&l, &r, 0, MOCK_COUNT_MAX);
        assert_true(k >= 0);
        below += k < 40;
    }
    assert_true(fabs((double)below / DRAWS - 0.5) < 0.03); /* median 40 */
    for (int i = 0; i < 100; i++) {
        int k = mock_count_sample(&u, &r, 1, 4); /* clamped to the caller's range */
        assert_true(k >= 2 && k <= 4);
    }
}

static struct mock_profile profile(const char *spec)
{
    struct mock_profile p;
    char err[200] = "";
    if (mock_profile_parse(spec, &p, err, sizeof(err)) != 0) {
        fail_msg("profile '%s': %s", spec, err);
    }
    return p;
}

static void test_mock_shape_profile_keys(void **state)
{
    struct mock_profile p =
        profile("name=t,reasoning_tokens=uniform:10,40,chunk_tokens=3,tokens=8");
    assert_true(p.reasoning.kind == MOCK_DIST_UNIFORM && p.reasoning.a == 10 &&
                p.reasoning.b == 40);
    assert_true(mock_count_is_fixed(&p.chunk, 3));
    assert_true(mock_count_is_fixed(&p.tokens, 8));
    p = profile("name=plain");
    assert_true(mock_count_is_fixed(&p.reasoning, 0));
    assert_true(mock_count_is_fixed(&p.chunk, 1));
    struct mock_profile q;
    char err[200];
    assert_int_equal(mock_profile_parse("name=t,chunk_tokens=0", &q, err, sizeof(err)), -1);
    assert_int_equal(mock_profile_parse("name=t,reasoning_tokens=x", &q, err, sizeof(err)), -1);
}

static struct mock_shape plan_ask(const struct mock_profile *p, int tokens, int reasoning, int max,
                                  int min, bool ignore_eos)
{
    struct mock_shape s;
    struct mock_shape_ask ask = {tokens, reasoning, max, min, ignore_eos};
    struct mock_rng r;
    mock_rng_seed(&r, 1);
    mock_shape_plan(&s, p, &ask, &r);
    return s;
}

static struct mock_shape plan(const struct mock_profile *p, int tokens, int reasoning, int max)
{
    return plan_ask(p, tokens, reasoning, max, -1, false);
}

#define SHAPE(s, reason, content, cut)                                                             \
    do {                                                                                           \
        assert_int_equal((s).n_reason, reason);                                                    \
        assert_int_equal((s).n_content, content);                                                  \
        assert_int_equal((s).length_cut, cut);                                                     \
    } while (0)

/* max_tokens over reasoning + content. Without reasoning, the rules mockllm always had: without
 * x-mock-tokens max_tokens is the length, with it a cap. */
static void test_mock_shape_plan_max_tokens(void **state)
{
    struct mock_profile plain = profile("name=p,tokens=16");
    struct mock_profile think = profile("name=t,tokens=10,reasoning_tokens=5");
    struct mock_shape s = plan(&plain, -1, -1, -1);
    SHAPE(s, 0, 16, false);
    assert_false(s.reasoning_on);
    SHAPE(plan(&plain, -1, -1, 5), 0, 5, true);
    SHAPE(plan(&plain, -1, -1, 20), 0, 20, false);
    SHAPE(plan(&plain, 4, -1, 20), 0, 4, false);
    SHAPE(plan(&plain, 30, -1, 20), 0, 20, true);

    s = plan(&think, -1, -1, -1);
    SHAPE(s, 5, 10, false);
    assert_true(s.reasoning_on);
    assert_int_equal(mock_shape_completion(&s), 15);
    SHAPE(plan(&think, -1, -1, 12), 5, 7, true);   /* the budget ends in the content */
    SHAPE(plan(&think, -1, -1, 3), 3, 0, true);    /* ... or while still reasoning */
    SHAPE(plan(&think, -1, -1, 20), 5, 15, false); /* max_tokens is the length */
    SHAPE(plan(&think, 10, -1, 20), 5, 10, false); /* x-mock-tokens: max_tokens only caps */
    SHAPE(plan(&think, 10, -1, 12), 5, 7, true);
    SHAPE(plan(&think, -1, 2, -1), 2, 10, false); /* x-mock-reasoning-tokens, no draw */
    s = plan(&plain, -1, 0, -1);
    SHAPE(s, 0, 16, false);
    assert_true(s.reasoning_on); /* asked for: the usage says 0 reasoning tokens */
}

/* A served model (eos): the answer stops at its natural length and max_tokens only caps it;
 * min_tokens raises the natural length; ignore_eos runs to max_tokens and ends by length. The
 * default (no eos) keeps max_tokens as the length, whatever min_tokens says. */
static void test_mock_shape_plan_eos(void **state)
{
    struct mock_profile served = profile("name=s,tokens=16,eos=yes");
    struct mock_profile exact = profile("name=e,tokens=16");
    struct mock_profile think = profile("name=t,tokens=10,reasoning_tokens=5,eos=yes");
    SHAPE(plan(&served, -1, -1, -1), 0, 16, false);
    SHAPE(plan(&served, -1, -1, 100), 0, 16, false); /* stops by itself under the cap */
    SHAPE(plan(&served, -1, -1, 10), 0, 10, true);   /* capped */
    SHAPE(plan_ask(&served, -1, -1, 100, 40, false), 0, 40, false); /* no end before 40 */
    SHAPE(plan_ask(&served, -1, -1, 30, 30, false), 0, 30, false);
    SHAPE(plan_ask(&served, -1, -1, 100, -1, true), 0, 100, true); /* ignore_eos: max_tokens */
    SHAPE(plan_ask(&served, -1, -1, -1, -1, true), 0, 16, false);  /* nothing to run to */
    SHAPE(plan_ask(&served, 4, -1, 100, -1, true), 0, 100, true);  /* over x-mock-tokens too */
    SHAPE(plan(&exact, -1, -1, 100), 0, 100, false); /* exact: max_tokens is the length */
    SHAPE(plan_ask(&exact, -1, -1, 100, 50, false), 0, 100, false);
    SHAPE(plan_ask(&exact, -1, -1, -1, 50, false), 0, 50, false); /* no max_tokens: floor */
    SHAPE(plan_ask(&exact, -1, -1, 100, -1, true), 0, 100, true);
    SHAPE(plan(&think, -1, -1, 100), 5, 10, false); /* reasoning + content, then EOS */
    SHAPE(plan_ask(&think, -1, -1, 100, 20, false), 5, 15, false);
    SHAPE(plan(&think, -1, -1, 8), 5, 3, true);
}

/* tokens=lognormal:P50,P99 draws the natural length per request: its median near P50, its 99th
 * percentile near P99, whole and >= 1, the same for the same seed; a fixed count draws
 * nothing, so existing profiles' draws do not move. */
static void test_mock_shape_natural_lengths(void **state)
{
    struct mock_profile p = profile("name=s,tokens=lognormal:250,1200,eos=yes");
    struct mock_profile fixed = profile("name=f,tokens=16,eos=yes");
    int lens[DRAWS];
    for (int i = 0; i < DRAWS; i++) {
        struct mock_rng r, again;
        mock_rng_seed(&r, (uint64_t)i);
        again = r;
        struct mock_shape s, t;
        struct mock_shape_ask ask = {-1, -1, -1, -1, false};
        mock_shape_plan(&s, &p, &ask, &r);
        mock_shape_plan(&t, &p, &ask, &again);
        assert_int_equal(s.n_content, t.n_content);
        assert_true(s.n_content >= 1 && !s.length_cut);
        lens[i] = s.n_content;
        struct mock_rng before = again;
        mock_shape_plan(&t, &fixed, &ask, &again);
        assert_true(again.s == before.s && t.n_content == 16);
    }
    int below_p50 = 0, below_p99 = 0;
    for (int i = 0; i < DRAWS; i++) {
        below_p50 += lens[i] < 250;
        below_p99 += lens[i] <= 1200;
    }
    assert_true(fabs((double)below_p50 / DRAWS - 0.5) < 0.02);
    assert_true(fabs((double)below_p99 / DRAWS - 0.99) < 0.005);
}

/* Walk a stream's chunks as mockllm emits them; returns how many. Checks each against the
 * shape: within [lo, hi] unless cut by a phase end, never across reasoning and content, and
 * all of them add up to the planned counts. */
static int walk(struct mock_shape *s, const struct mock_dist *chunk, int fixed, struct mock_rng *r,
                int lo, int hi, int *sizes, int cap)
{
    int n = 0;
    for (int k; (k = mock_shape_next(s, chunk, fixed, r)) > 0; n++) {
        bool reasoning = mock_shape_reasoning(s);
        int left = reasoning ? s->n_reason - s->reason_sent : s->n_content - s->content_sent;
        assert_true(k <= hi && (k >= lo || k == left));
        assert_true(k <= left); /* never into the next phase */
        mock_shape_take(s, k);
        if (n < cap) {
            sizes[n] = k;
        }
    }
    assert_true(mock_shape_done(s));
    assert_int_equal(s->reason_sent, s->n_reason);
    assert_int_equal(s->content_sent, s->n_content);
    return n;
}

static void test_mock_shape_chunks_add_up(void **state)
{
    struct mock_profile p = profile("name=t,tokens=13,reasoning_tokens=uniform:0,9,"
                                    "chunk_tokens=uniform:1,4");
    int sizes[64], reasoned = 0, cut = 0;
    for (uint64_t seed = 0; seed < 500; seed++) {
        struct mock_rng r;
        struct mock_shape s;
        struct mock_shape_ask ask = {-1, -1, seed % 3 == 0 ? 11 : -1, -1, false};
        mock_rng_seed(&r, seed);
        mock_shape_plan(&s, &p, &ask, &r);
        assert_true(s.n_reason >= 0 && s.n_reason <= 9);
        assert_int_equal(mock_shape_completion(&s), ask.max_tokens > 0 ? 11 : s.n_reason + 13);
        int n = walk(&s, &p.chunk, 0, &r, 1, 4, sizes, 64);
        assert_true(n >= (mock_shape_completion(&s) + 3) / 4);
        reasoned += s.n_reason > 0;
        cut += s.length_cut;
    }
    assert_true(reasoned > 400 && cut > 100); /* the cases above were all met */
    /* x-mock-chunk-tokens 3 over 4 reasoning and 5 content tokens: 3 1 | 3 2 */
    struct mock_shape s = plan(&p, 5, 4, -1);
    struct mock_rng r;
    mock_rng_seed(&r, 1);
    assert_int_equal(walk(&s, &p.chunk, 3, &r, 3, 3, sizes, 64), 4);
    assert_true(sizes[0] == 3 && sizes[1] == 1 && sizes[2] == 3 && sizes[3] == 2);
}

/* The same seed gives the same shape and the same chunks; another seed another. */
static void test_mock_shape_deterministic(void **state)
{
    struct mock_profile p = profile("name=t,tokens=20,reasoning_tokens=lognormal:8,30,"
                                    "chunk_tokens=uniform:1,5");
    int a[128], b[128], differ = 0;
    for (uint64_t seed = 1; seed <= 50; seed++) {
        struct mock_rng r1, r2, r3;
        struct mock_shape s1, s2, s3;
        struct mock_shape_ask ask = {-1, -1, -1, -1, false};
        mock_rng_seed(&r1, seed);
        mock_rng_seed(&r2, seed);
        mock_rng_seed(&r3, seed + 1000);
        mock_shape_plan(&s1, &p, &ask, &r1);
        mock_shape_plan(&s2, &p, &ask, &r2);
        mock_shape_plan(&s3, &p, &ask, &r3);
        int n1 = walk(&s1, &p.chunk, 0, &r1, 1, 5, a, 128);
        int n2 = walk(&s2, &p.chunk, 0, &r2, 1, 5, b, 128);
        assert_int_equal(s1.n_reason, s2.n_reason);
        assert_int_equal(n1, n2);
        assert_memory_equal(a, b, sizeof(int) * (size_t)(n1 < 128 ? n1 : 128));
        int n3 = walk(&s3, &p.chunk, 0, &r3, 1, 5, b, 128);
        differ += s3.n_reason != s1.n_reason || n3 != n1 ||
                  memcmp(a, b, sizeof(int) * (size_t)(n1 < 128 ? n1 : 128)) != 0;
    }
    assert_true(differ > 40);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mock_shape_count_parse),
        cmocka_unit_test(test_mock_shape_count_draws),
        cmocka_unit_test(test_mock_shape_profile_keys),
        cmocka_unit_test(test_mock_shape_plan_max_tokens),
        cmocka_unit_test(test_mock_shape_plan_eos),
        cmocka_unit_test(test_mock_shape_natural_lengths),
        cmocka_unit_test(test_mock_shape_chunks_add_up),
        cmocka_unit_test(test_mock_shape_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
