/* test_mock_profile.c - mockllm's served-model profiles end to end (each test its own mockllm,
 * ll_mockproc, stopped by PID; run once per concurrency model like every mock test):
 *
 *   prefill         TTFT = ttft + prompt tokens x prefill: with a fixed ttft, each answer's
 *                   latency against that sum for prompts of 2 to 3,000 words (the prompt's
 *                   tokens, about 4 bytes each, from the answer's own usage); with the realistic
 * preset, the median of long prompts' latency above the short ones' by most of the prefill. lengths
 * the realistic preset's output lengths: natural (stop) under a large max_tokens, capped (length)
 * under a small one, min_tokens a floor, ignore_eos exactly max_tokens; bad min_tokens/ignore_eos
 * are 400s naming the field; the exact default keeps max_tokens as the length. deterministic   the
 * same seed and requests give the same lengths; /v1/models shows the preset; --profile NAME adds a
 * model of that preset. Latency bounds are sums of configured figures with wide slack, never tight.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <curl/curl.h>

#include "ll_clock.h"
#include "ll_mockproc.h"
#include "ll_testutil.h"

static struct ll_mockproc mp;

static int teardown(void **state)
{
    assert_int_equal(ll_mockproc_stop(&mp, 5000), 0); /* exit 0: clean shutdown */
    return 0;
}

struct answer {
    long status;
    double ms;      /* request sent to answer read */
    int prompt;     /* usage.prompt_tokens */
    int completion; /* usage.completion_tokens */
    char finish[16];
    char param[32]; /* error.param */
};

static size_t sink(char *p, size_t sz, size_t n, void *arg)
{
    char **buf = arg;
    size_t old = *buf ? strlen(*buf) : 0, len = sz * n;
    char *nb = realloc(*buf, old + len + 1);
    assert_non_null(nb);
    memcpy(nb + old, p, len);
    nb[old + len] = '\0';
    *buf = nb;
    return len;
}

/* POST a chat request: a prompt of `words` words, then `extra` JSON members (or ""). */
static struct answer chat(int words, const char *extra)
{
    struct answer a = {0};
    char url[160], *body = malloc((size_t)words * 6 + 512), *resp = NULL;
    assert_non_null(body);
    size_t n = (size_t)sprintf(body, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
                                     "\"content\":\"");
    for (int i = 0; i < words; i++) {
        n += (size_t)sprintf(body + n, "%sword", i ? " " : "");
    }
    sprintf(body + n, "\"}]%s}", extra);
    snprintf(url, sizeof(url), "%s/chat/completions", mp.base_url);
    CURL *e = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 20000L);
    int64_t t0 = ll_now_ns();
    assert_int_equal(curl_easy_perform(e), CURLE_OK);
    a.ms = (double)(ll_now_ns() - t0) / 1e6;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &a.status);
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    cJSON *root = cJSON_Parse(resp);
    assert_non_null(root);
    cJSON *usage = cJSON_GetObjectItem(root, "usage");
    cJSON *choice = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "choices"), 0);
    cJSON *fr = cJSON_GetObjectItem(choice, "finish_reason");
    cJSON *param = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "error"), "param");
    a.prompt = cJSON_GetObjectItem(usage, "prompt_tokens")
                   ? cJSON_GetObjectItem(usage, "prompt_tokens")->valueint
                   : -1;
    a.completion = cJSON_GetObjectItem(usage, "completion_tokens")
                       ? cJSON_GetObjectItem(usage, "completion_tokens")->valueint
                       : -1;
    snprintf(a.finish, sizeof(a.finish), "%s", cJSON_IsString(fr) ? fr->valuestring : "");
    snprintf(a.param, sizeof(a.param), "%s", cJSON_IsString(param) ? param->valuestring : "");
    cJSON_Delete(root);
    free(resp);
    free(body);
    return a;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double median_ms(int words, int n)
{
    double v[16];
    assert_true(n <= 16);
    for (int i = 0; i < n; i++) {
        struct answer a = chat(words, ",\"max_tokens\":1");
        assert_int_equal(a.status, 200);
        v[i] = a.ms;
    }
    qsort(v, (size_t)n, sizeof(v[0]), cmp_double);
    return v[n / 2];
}

static void test_mock_profile_prefill(void **state)
{
    static const char *const fixed[] = {"--ttft", "40", "--prefill", "0.1", NULL};
    static const int words[] = {2, 500, 1500, 3000};
    int last = 0;
    assert_int_equal(ll_test_mock_start(&mp, fixed, 10000), 0);
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        struct answer a = chat(words[i], ",\"max_tokens\":1");
        double want = 40 + 0.1 * a.prompt;
        print_message("  ttft 40 + prefill 0.1 x %d prompt tokens = %.1f ms: answered in %.1f "
                      "ms\n",
                      a.prompt, want, a.ms);
        assert_int_equal(a.status, 200);
        assert_true(a.prompt >= words[i] && a.prompt <= 2 * words[i] + 2); /* ~4 bytes each */
        assert_true(i == 0 || a.prompt > last);
        last = a.prompt;
        assert_true(a.ms >= want - 2 && a.ms < want + 250);
    }
    assert_int_equal(ll_mockproc_stop(&mp, 5000), 0);

    /* The realistic preset at half speed: prefill 0.1 x 0.5 ms per token, ttft lognormal with a
     * median of 60 ms: 3,000 more prompt tokens add 150 ms to the median. */
    static const char *const preset[] = {"--preset", "realistic", "--scale", "0.5",
                                         "--seed",   "3",         NULL};
    assert_int_equal(ll_test_mock_start(&mp, preset, 10000), 0);
    double shorter = median_ms(2, 9), longer = median_ms(3000, 9);
    print_message("  realistic at scale 0.5: median %.1f ms for 2 words, %.1f ms for 3,000\n",
                  shorter, longer);
    assert_true(longer > shorter + 100);
}

static void test_mock_profile_lengths(void **state)
{
    static const char *const args[] = {"--preset", "realistic", "--scale", "0.01",
                                       "--seed",   "11",        NULL};
    int natural = 0, capped = 0;
    assert_int_equal(ll_test_mock_start(&mp, args, 10000), 0);
    for (int i = 0; i < 20; i++) {
        struct answer big = chat(3 + i, ",\"max_tokens\":60000");
        assert_int_equal(big.status, 200);
        assert_true(big.completion >= 1 && big.completion < 60000);
        natural += strcmp(big.finish, "stop") == 0;
        struct answer small = chat(3 + i, ",\"max_tokens\":40");
        assert_true(small.completion >= 1 && small.completion <= 40);
        capped += strcmp(small.finish, "length") == 0;
    }
    print_message("  realistic: %d of 20 stopped by themselves under max_tokens 60000, %d of 20 "
                  "cut at max_tokens 40\n",
                  natural, capped);
    assert_int_equal(natural, 20); /* lognormal:250,1200 never nears 60,000 */
    assert_true(capped >= 18);     /* below 40 about 1 time in 250 */
    struct answer a = chat(3, ",\"max_tokens\":500,\"min_tokens\":450");
    assert_true(a.completion >= 450 && a.completion <= 500);
    a = chat(3, ",\"max_tokens\":3000,\"ignore_eos\":true"); /* far past the natural end */
    assert_int_equal(a.completion, 3000);
    assert_string_equal(a.finish, "length");
    a = chat(3, ",\"max_tokens\":10,\"min_tokens\":20");
    assert_int_equal(a.status, 400);
    assert_string_equal(a.param, "min_tokens");
    a = chat(3, ",\"min_tokens\":-1");
    assert_int_equal(a.status, 400);
    assert_string_equal(a.param, "min_tokens");
    a = chat(3, ",\"ignore_eos\":\"yes\"");
    assert_int_equal(a.status, 400);
    assert_string_equal(a.param, "ignore_eos");
    assert_int_equal(ll_mockproc_stop(&mp, 5000), 0);

    assert_int_equal(ll_test_mock_start(&mp, NULL, 10000), 0); /* the exact default */
    a = chat(3, ",\"max_tokens\":300");
    assert_int_equal(a.completion, 300);
    assert_string_equal(a.finish, "stop");
    a = chat(3, "");
    assert_int_equal(a.completion, 16);
}

static void test_mock_profile_deterministic(void **state)
{
    static const char *const args[] = {"--preset", "realistic", "--scale", "0.01", "--seed",
                                       "5",        "--profile", "large",   NULL};
    int first[8];
    for (int run = 0; run < 2; run++) {
        assert_int_equal(ll_test_mock_start(&mp, args, 10000), 0);
        for (int i = 0; i < 8; i++) {
            struct answer a = chat(4, ",\"max_tokens\":5000");
            if (run == 0) {
                first[i] = a.completion;
            } else {
                assert_int_equal(a.completion, first[i]);
            }
        }
        if (run == 0) {
            assert_int_equal(ll_mockproc_stop(&mp, 5000), 0);
        }
    }
    assert_true(first[0] != first[1] || first[1] != first[2]); /* drawn, not fixed */
    char *models = ll_test_http(mp.host, mp.port, "/v1/models", false);
    assert_non_null(models);
    cJSON *root = cJSON_Parse(models);
    cJSON *data = cJSON_GetObjectItem(root, "data");
    cJSON *def = cJSON_GetArrayItem(data, 0), *large = cJSON_GetArrayItem(data, 1);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(def, "eos")));
    assert_string_equal(cJSON_GetObjectItem(def, "tokens")->valuestring, "lognormal:250,1200");
    assert_true(cJSON_GetObjectItem(def, "prefill_ms_per_token")->valuedouble == 0.1);
    assert_string_equal(cJSON_GetObjectItem(large, "id")->valuestring, "large");
    assert_string_equal(cJSON_GetObjectItem(large, "itl")->valuestring, "lognormal:45,120");
    cJSON_Delete(root);
    free(models);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_mock_profile_prefill, teardown),
        cmocka_unit_test_teardown(test_mock_profile_lengths, teardown),
        cmocka_unit_test_teardown(test_mock_profile_deterministic, teardown),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int failed = cmocka_run_group_tests_name(ll_test_mock_group("mock_profile"), tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
