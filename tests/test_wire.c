/* test_wire.c - the request wire cache (equal requests share one rendering, changed buffers do
 * not) and the cJSON arena (trees equal to plain cJSON's, growth after a spill, per thread). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_json.h"
#include "ll_wire.h"

static struct ll_config cfg;

static int setup(void **state)
{
    (void)state;
    ll_config_defaults(&cfg);
    cfg.api_key = "sk-test";
    ll_json_init();
    return 0;
}

static size_t n_headers(const struct curl_slist *h)
{
    size_t n = 0;
    for (; h != NULL; h = h->next) {
        n++;
    }
    return n;
}

static void test_wire_equal_requests_share(void **state)
{
    (void)state;
    struct ll_wire_cache wc = {0};
    char prompt[64] = "hello";
    struct ll_message msg = {.role = "user", .content = prompt};
    const char *extra[] = {"x-mock-status: 200"};
    struct ll_request req = {
        .messages = &msg, .n_messages = 1, .headers = extra, .n_headers = 1, .max_tokens = 8};
    struct ll_wire *a, *b, *c;

    assert_int_equal(ll_wire_get(&wc, &cfg, &req, &a), 0);
    assert_int_equal(ll_wire_get(&wc, &cfg, &req, &b), 0);
    assert_ptr_equal(a, b);
    assert_int_equal(atomic_load(&a->refs), 3); /* two calls and the cache */
    assert_string_equal(a->body, "{\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}],"
                                 "\"model\":\"gpt-mock\",\"max_tokens\":8}");
    assert_int_equal(a->body_len, strlen(a->body));
    /* Content-Type, Authorization, Expect, an empty Accept-Encoding (curl decodes any encoding
     * but nothing is asked for), extra */
    assert_int_equal(n_headers(a->headers), 5);
    assert_string_equal(a->headers->next->next->next->data, "Accept-Encoding:");

    /* The caller reuses its buffer with other text: a new wire, never the stale one. */
    snprintf(prompt, sizeof(prompt), "%s", "hellp");
    assert_int_equal(ll_wire_get(&wc, &cfg, &req, &c), 0);
    assert_ptr_not_equal(c, a);
    assert_non_null(strstr(c->body, "\"hellp\""));
    assert_int_equal(atomic_load(&a->refs), 2); /* the cache moved on */

    /* The calls' references outlive the cache. */
    ll_wire_cache_clear(&wc);
    assert_string_equal(strstr(a->body, "hello"),
                        "hello\"}],\"model\":\"gpt-mock\",\"max_tokens\":8}");
    ll_wire_put(a);
    ll_wire_put(b);
    ll_wire_put(c);
    ll_wire_put(NULL);
}

/* Every field the body or headers depend on makes a different wire. */
static void test_wire_every_field_counts(void **state)
{
    (void)state;
    struct ll_wire_cache wc = {0};
    struct ll_message msg[2] = {{.role = "system", .content = "be brief"},
                                {.role = "user", .content = "hi"}};
    const char *extra[] = {"x-a: 1", "x-b: 2"};
    struct ll_request base = {.messages = msg, .n_messages = 2, .headers = extra, .n_headers = 2};
    struct ll_request v[8];
    for (size_t i = 0; i < 8; i++) {
        v[i] = base;
    }
    v[1].model = "other";
    v[2].max_tokens = 5;
    v[3].stream = true;
    v[4].n_messages = 1;
    v[5].n_headers = 1;
    v[6].body_json = "{\"model\":\"raw\",\"messages\":[]}";
    v[7].body_json = "{\"model\":\"raw\",\"messages\":[ ]}";
    struct ll_wire *w[8];
    for (size_t i = 0; i < 8; i++) {
        assert_int_equal(ll_wire_get(&wc, &cfg, &v[i], &w[i]), 0);
        for (size_t j = 0; j < i; j++) {
            assert_true(strcmp(w[i]->body, w[j]->body) != 0 ||
                        n_headers(w[i]->headers) != n_headers(w[j]->headers));
        }
    }
    assert_string_equal(w[7]->body, v[7].body_json);
    /* An empty string and a missing one are different requests. */
    struct ll_message m_empty = {.role = "user", .content = ""};
    struct ll_message m_null = {.role = "user", .content = NULL};
    struct ll_request e = {.messages = &m_empty, .n_messages = 1};
    struct ll_request n = {.messages = &m_null, .n_messages = 1};
    struct ll_wire *we, *wn;
    assert_int_equal(ll_wire_get(&wc, &cfg, &e, &we), 0);
    assert_int_equal(ll_wire_get(&wc, &cfg, &n, &wn), 0);
    assert_ptr_not_equal(we, wn);
    ll_wire_put(we);
    ll_wire_put(wn);
    for (size_t i = 0; i < 8; i++) {
        ll_wire_put(w[i]);
    }
    ll_wire_cache_clear(&wc);
}

/* A document of n messages; the caller frees it. */
static char *doc(size_t n)
{
    size_t cap = 64 + n * 64;
    char *s = malloc(cap), *p = s;
    assert_non_null(s);
    p += sprintf(p, "{\"n\":%zu,\"items\":[", n);
    for (size_t i = 0; i < n; i++) {
        p += sprintf(p, "%s{\"i\":%zu,\"s\":\"word \\\"%zu\\\"\"}", i ? "," : "", i, i);
    }
    sprintf(p, "]}");
    return s;
}

static void check_doc(const char *text)
{
    cJSON *plain = cJSON_Parse(text); /* outside ll_json_parse: plain malloc */
    cJSON *fast = ll_json_parse(text, strlen(text));
    assert_non_null(plain);
    assert_non_null(fast);
    assert_true(cJSON_Compare(plain, fast, 1));
    ll_json_free(fast);
    cJSON_Delete(plain);
}

static void test_json_arena_matches_cjson(void **state)
{
    (void)state;
    /* Small, then far over the first arena (spills, then the arena grows), then small again. */
    size_t sizes[] = {1, 10, 2000, 2000, 3};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        char *t = doc(sizes[i]);
        check_doc(t);
        free(t);
    }
    assert_null(ll_json_parse("{\"a\":", 5));
    ll_json_free(NULL);
    assert_null(ll_json_parse("", 0));
    ll_json_free(NULL);
}

static void *parse_loop(void *arg)
{
    const char *t = arg;
    for (int i = 0; i < 200; i++) {
        cJSON *r = ll_json_parse(t, strlen(t));
        if (r == NULL || cJSON_GetArraySize(cJSON_GetObjectItem(r, "items")) < 1) {
            return (void *)1;
        }
        ll_json_free(r);
    }
    return NULL;
}

/* Each thread has its own arena: concurrent parses never see each other's nodes (the TSan
 * build runs this too), and an exiting thread's arena is freed (the valgrind pass). */
static void test_json_arena_per_thread(void **state)
{
    (void)state;
    char *t1 = doc(5), *t2 = doc(300);
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_create(&th[i], NULL, parse_loop, i % 2 ? t1 : t2), 0);
    }
    for (int i = 0; i < 4; i++) {
        void *ret;
        assert_int_equal(pthread_join(th[i], &ret), 0);
        assert_null(ret);
    }
    free(t1);
    free(t2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wire_equal_requests_share),
        cmocka_unit_test(test_wire_every_field_counts),
        cmocka_unit_test(test_json_arena_matches_cjson),
        cmocka_unit_test(test_json_arena_per_thread),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
