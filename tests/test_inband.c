/* test_inband.c - ll_inband_error on every shape of tests/inband_shapes.h: a non-streamed answer
 * parsed whole, a streamed one through ll_sse event by event (the first error wins), and the
 * answers that only look like errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "inband_shapes.h"
#include "ll_inband.h"
#include "ll_sse.h"

struct found {
    bool error;
    struct ll_inband ib;
};

static int event_cb(void *arg, const char *type, const char *data, size_t len)
{
    struct found *f = arg;
    cJSON *root = cJSON_ParseWithLength(data, len);
    if (!f->error) {
        f->error = ll_inband_error(root, type, data, len, &f->ib);
    }
    cJSON_Delete(root);
    return 0;
}

static void test_inband_shapes(void **state)
{
    for (size_t i = 0; i < INBAND_N; i++) {
        const struct inband_shape *s = &inband_shapes[i];
        struct found f = {0};
        if (s->stream) {
            struct ll_sse sse;
            ll_sse_init(&sse);
            assert_int_equal(ll_sse_feed(&sse, s->body, strlen(s->body), event_cb, &f), 0);
            ll_sse_free(&sse);
        } else {
            cJSON *root = cJSON_Parse(s->body);
            assert_non_null(root);
            f.error = ll_inband_error(root, NULL, NULL, 0, &f.ib);
            cJSON_Delete(root);
        }
        print_message("  %-45s %s %-8s %s\n", s->who, f.error ? "error" : "fine ",
                      f.error ? ll_class_name(f.ib.cls) : "", f.error ? f.ib.msg : "");
        if (f.error != (s->cls != LL_CLASS_NONE)) {
            fail_msg("%s: error %d, want %d", s->who, f.error, s->cls != LL_CLASS_NONE);
        }
        if (!f.error) {
            continue;
        }
        if (strstr(f.ib.msg, s->msg) == NULL) {
            fail_msg("%s: message '%s' lacks '%s'", s->who, f.ib.msg, s->msg);
        }
        /* partial is ll_xfer's call (tokens had come); the shape itself says 5xx there */
        enum ll_class want = s->cls == LL_CLASS_PARTIAL ? LL_CLASS_HTTP_5XX : s->cls;
        if (f.ib.cls != want) {
            fail_msg("%s: class %s, want %s", s->who, ll_class_name(f.ib.cls), ll_class_name(want));
        }
    }
}

/* Codes as numbers and as strings, statuses, and words when there is no code. */
static void test_inband_codes(void **state)
{
    static const struct {
        const char *json;
        int code;
        enum ll_class cls;
    } cases[] = {
        {"{\"error\":{\"message\":\"m\",\"code\":503}}", 503, LL_CLASS_HTTP_5XX},
        {"{\"error\":{\"message\":\"m\",\"code\":\"400\"}}", 400, LL_CLASS_HTTP_4XX},
        {"{\"error\":{\"message\":\"m\",\"status\":429}}", 429, LL_CLASS_HTTP_429},
        {"{\"error\":{\"message\":\"m\",\"code\":\"rate_limit_exceeded\"}}", 0, LL_CLASS_HTTP_429},
        {"{\"error\":{\"message\":\"m\",\"type\":\"invalid_request_error\"}}", 0,
         LL_CLASS_HTTP_4XX},
        {"{\"error\":{\"message\":\"m\",\"code\":\"1200\"}}", 0, LL_CLASS_PROTOCOL},
        {"{\"error\":{\"message\":\"m\"}}", 0, LL_CLASS_PROTOCOL},
        {"{\"error\":{}}", 0, LL_CLASS_PROTOCOL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *root = cJSON_Parse(cases[i].json);
        struct ll_inband ib;
        assert_true(ll_inband_error(root, NULL, NULL, 0, &ib));
        if (ib.code != cases[i].code || ib.cls != cases[i].cls) {
            fail_msg("%s: code %d class %s, want %d %s", cases[i].json, ib.code,
                     ll_class_name(ib.cls), cases[i].code, ll_class_name(cases[i].cls));
        }
        cJSON_Delete(root);
    }
    struct ll_inband ib;
    assert_false(ll_inband_error(NULL, NULL, NULL, 0, &ib));
    assert_false(ll_inband_error(NULL, "message", "x", 1, &ib));
    cJSON *empty = cJSON_Parse("{\"error\":\"\"}");
    assert_false(ll_inband_error(empty, NULL, NULL, 0, &ib));
    cJSON_Delete(empty);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inband_shapes),
        cmocka_unit_test(test_inband_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
