/* test_mock_memo.c - mockllm's per-loop memos (mock_server/mock_memo.h): a hit only ever gives
 * what was stored for exactly the same input, slots are replaced rather than grown, limits are
 * kept, and a memo that is off never answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mock_memo.h"

static struct mock_memo_req req_of(int i)
{
    struct mock_memo_req r = {.key = 1000u + (uint64_t)i, .model_idx = i, .prompt_tokens = i};
    snprintf(r.model, sizeof(r.model), "model-%d", i);
    return r;
}

static void body_of(int i, char *buf, size_t cap)
{
    snprintf(buf, cap, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"%d\"}]}",
             i);
}

static void test_memo_req_exact_bytes(void **state)
{
    (void)state;
    struct mock_memo m;
    char body[128];
    uint64_t h = 0, h2 = 0;
    mock_memo_init(&m, true);
    body_of(1, body, sizeof(body));
    size_t len = strlen(body);
    assert_null(mock_memo_req_get(&m, body, len, &h));
    struct mock_memo_req r = req_of(1);
    mock_memo_req_put(&m, h, body, len, &r);
    const struct mock_memo_req *got = mock_memo_req_get(&m, body, len, &h2);
    assert_non_null(got);
    assert_int_equal(h, h2);
    assert_int_equal(got->key, r.key);
    assert_string_equal(got->model, "model-1");
    /* One byte different, same length: a miss, never the other body's request. */
    body[len - 4] = '2';
    assert_null(mock_memo_req_get(&m, body, len, &h2));
    body[len - 4] = '1';
    /* A prefix of the stored body: a miss. */
    assert_null(mock_memo_req_get(&m, body, len - 1, &h2));
    assert_int_equal(m.req_hits, 1);
    mock_memo_free(&m);
}

/* Far more bodies than slots: every hit is the request stored for that very body, and at most
 * MOCK_MEMO_SLOTS are remembered at a time. */
static void test_memo_req_replaces(void **state)
{
    (void)state;
    struct mock_memo m;
    char body[128];
    uint64_t h;
    mock_memo_init(&m, true);
    for (int i = 0; i < 200; i++) {
        body_of(i, body, sizeof(body));
        struct mock_memo_req r = req_of(i);
        assert_null(mock_memo_req_get(&m, body, strlen(body), &h));
        mock_memo_req_put(&m, h, body, strlen(body), &r);
    }
    int hits = 0;
    for (int i = 0; i < 200; i++) {
        body_of(i, body, sizeof(body));
        const struct mock_memo_req *got = mock_memo_req_get(&m, body, strlen(body), &h);
        if (got != NULL) {
            hits++;
            assert_int_equal(got->model_idx, i);
            assert_int_equal(got->key, 1000u + (uint64_t)i);
        }
    }
    assert_true(hits >= 1 && hits <= MOCK_MEMO_SLOTS);
    /* The last body stored is always there. */
    body_of(199, body, sizeof(body));
    assert_non_null(mock_memo_req_get(&m, body, strlen(body), &h));
    mock_memo_free(&m);
}

static void test_memo_limits_and_off(void **state)
{
    (void)state;
    static char big[MOCK_MEMO_BODY_MAX + 1];
    static char text[MOCK_MEMO_TEXT_MAX + 1];
    struct mock_memo m;
    uint64_t h = 0;
    size_t len;
    struct mock_memo_req r = req_of(3);
    memset(big, 'x', sizeof(big));
    memset(text, 'w', sizeof(text));
    mock_memo_init(&m, true);
    assert_null(mock_memo_req_get(&m, big, sizeof(big), &h));
    mock_memo_req_put(&m, h, big, sizeof(big), &r);
    assert_null(mock_memo_req_get(&m, big, sizeof(big), &h)); /* too large to keep */
    assert_null(mock_memo_req_get(&m, "", 0, &h));            /* nothing to key on */
    mock_memo_text_put(&m, 9, 5, text, sizeof(text));
    assert_null(mock_memo_text_get(&m, 9, 5, &len));
    mock_memo_free(&m);

    mock_memo_init(&m, false);
    mock_memo_req_put(&m, 0, "{}", 2, &r);
    assert_null(mock_memo_req_get(&m, "{}", 2, &h));
    mock_memo_text_put(&m, 9, 5, "hello", 5);
    assert_null(mock_memo_text_get(&m, 9, 5, &len));
    mock_memo_free(&m);
}

static void test_memo_text_by_key_and_count(void **state)
{
    (void)state;
    struct mock_memo m;
    size_t len = 0;
    mock_memo_init(&m, true);
    assert_null(mock_memo_text_get(&m, 42, 3, &len));
    mock_memo_text_put(&m, 42, 3, "Keep it simple", 14);
    const char *t = mock_memo_text_get(&m, 42, 3, &len);
    assert_non_null(t);
    assert_int_equal(len, 14);
    assert_memory_equal(t, "Keep it simple", 14);
    assert_null(mock_memo_text_get(&m, 42, 4, &len)); /* another length of the same request */
    assert_null(mock_memo_text_get(&m, 43, 3, &len)); /* another request */
    mock_memo_text_put(&m, 42, 3, "Other", 5);        /* replaced in place */
    t = mock_memo_text_get(&m, 42, 3, &len);
    assert_int_equal(len, 5);
    assert_memory_equal(t, "Other", 5);
    assert_int_equal(m.text_hits, 2);
    mock_memo_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memo_req_exact_bytes),
        cmocka_unit_test(test_memo_req_replaces),
        cmocka_unit_test(test_memo_limits_and_off),
        cmocka_unit_test(test_memo_text_by_key_and_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
