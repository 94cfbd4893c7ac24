/* test_errors.c - the error tables (codes, classes) and the outcome classification table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "ll_err.h"
#include "ll_xfer.h"

static void test_errors_codes(void **state)
{
    static const struct {
        int code;
        const char *name, *msg;
    } table[] = {
#define ROW_(name, msg) {LL_E##name, "E" #name, msg},
        LL_ERR_MAP(ROW_)
#undef ROW_
    };
    assert_string_equal(ll_err_name(LL_OK), "OK");
    assert_string_equal(ll_strerror(LL_OK), "success");
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        assert_true(table[i].code < 0);
        assert_string_equal(ll_err_name(table[i].code), table[i].name);
        assert_string_equal(ll_strerror(table[i].code), table[i].msg);
        for (size_t j = 0; j < i; j++) {
            assert_int_not_equal(table[i].code, table[j].code);
            assert_string_not_equal(ll_err_name(table[i].code), ll_err_name(table[j].code));
        }
    }
    assert_string_equal(ll_err_name(LL_ENOMEM), "ENOMEM");
    assert_string_equal(ll_strerror(LL_EPROTO), "protocol error");
    /* Unknown codes still give text. */
    assert_string_equal(ll_err_name(12345), "EUNKNOWN");
    assert_string_equal(ll_err_name(LL__ERR_LAST), "EUNKNOWN");
    assert_non_null(ll_strerror(-1));
}

static void test_errors_classes_round_trip(void **state)
{
    static const char *const names[] = {"ok",      "4xx",     "429",      "5xx",      "timeout",
                                        "connect", "partial", "protocol", "resource", "cancelled"};
    assert_int_equal(LL_CLASS__COUNT, sizeof(names) / sizeof(names[0]));
    for (int i = 0; i < LL_CLASS__COUNT; i++) {
        enum ll_class c = LL_CLASS__COUNT;
        assert_string_equal(ll_class_name((enum ll_class)i), names[i]);
        assert_int_equal(ll_class_parse(ll_class_name((enum ll_class)i), &c), 0);
        assert_int_equal(c, i);
        assert_true(strlen(ll_class_descr((enum ll_class)i)) > 0);
    }
    enum ll_class c = LL_CLASS_NONE;
    assert_int_equal(ll_class_parse("bogus", &c), LL_EINVAL);
    assert_int_equal(ll_class_parse("OK", &c), LL_EINVAL);
    assert_string_equal(ll_class_name(LL_CLASS__COUNT), "unknown");
}

static void test_errors_classify_table(void **state)
{
    static const struct {
        CURLcode rc;
        long status;
        bool proto;
        enum ll_class want;
    } rows[] = {
        {CURLE_OK, 200, false, LL_CLASS_NONE},
        {CURLE_OK, 201, false, LL_CLASS_NONE},
        {CURLE_OK, 200, true, LL_CLASS_PROTOCOL},
        {CURLE_OK, 429, false, LL_CLASS_HTTP_429},
        {CURLE_OK, 400, false, LL_CLASS_HTTP_4XX},
        {CURLE_OK, 401, false, LL_CLASS_HTTP_4XX},
        {CURLE_OK, 403, false, LL_CLASS_HTTP_4XX},
        {CURLE_OK, 404, false, LL_CLASS_HTTP_4XX},
        {CURLE_OK, 422, false, LL_CLASS_HTTP_4XX},
        {CURLE_OK, 500, false, LL_CLASS_HTTP_5XX},
        {CURLE_OK, 502, false, LL_CLASS_HTTP_5XX},
        {CURLE_OK, 503, false, LL_CLASS_HTTP_5XX},
        {CURLE_OK, 599, false, LL_CLASS_HTTP_5XX},
        {CURLE_OK, 0, false, LL_CLASS_PROTOCOL},
        {CURLE_OK, 101, false, LL_CLASS_PROTOCOL},
        {CURLE_OK, 302, false, LL_CLASS_PROTOCOL},
        {CURLE_OPERATION_TIMEDOUT, 0, false, LL_CLASS_TIMEOUT},
        {CURLE_OPERATION_TIMEDOUT, 200, false, LL_CLASS_TIMEOUT},
        {CURLE_COULDNT_CONNECT, 0, false, LL_CLASS_CONNECT},
        {CURLE_COULDNT_RESOLVE_HOST, 0, false, LL_CLASS_CONNECT},
        {CURLE_RECV_ERROR, 0, false, LL_CLASS_CONNECT},
        {CURLE_SEND_ERROR, 0, false, LL_CLASS_CONNECT},
        {CURLE_GOT_NOTHING, 0, false, LL_CLASS_CONNECT},
        {CURLE_PARTIAL_FILE, 200, false, LL_CLASS_CONNECT},
        {CURLE_SSL_CONNECT_ERROR, 0, false, LL_CLASS_CONNECT},
        {CURLE_ABORTED_BY_CALLBACK, 0, false, LL_CLASS_CANCELLED},
        {CURLE_OUT_OF_MEMORY, 0, false, LL_CLASS_RESOURCE},
        {CURLE_WRITE_ERROR, 200, false, LL_CLASS_RESOURCE},
        {CURLE_WRITE_ERROR, 200, true, LL_CLASS_PROTOCOL},
        {CURLE_WEIRD_SERVER_REPLY, 0, false, LL_CLASS_PROTOCOL},
        {CURLE_UNSUPPORTED_PROTOCOL, 0, false, LL_CLASS_PROTOCOL},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        enum ll_class got = ll_xfer_classify(rows[i].rc, rows[i].status, rows[i].proto);
        if (got != rows[i].want) {
            fail_msg("row %zu: curl %d, HTTP %ld, proto %d: got %s, want %s", i, (int)rows[i].rc,
                     rows[i].status, rows[i].proto, ll_class_name(got),
                     ll_class_name(rows[i].want));
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors_codes),
        cmocka_unit_test(test_errors_classes_round_trip),
        cmocka_unit_test(test_errors_classify_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
