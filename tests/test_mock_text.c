/* test_mock_text.c - generated text: words, sentences, determinism, token counting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "mock_text.h"

#define TOKENS 2000

/* The whole reply of TOKENS tokens for `seed`, joined; caller frees. */
static char *text_reply(uint64_t seed)
{
    char *out = malloc(TOKENS * MOCK_TEXT_TOKEN_MAX);
    size_t n = 0;
    struct mock_rng r;
    assert_non_null(out);
    mock_rng_seed(&r, seed);
    for (size_t i = 0; i < TOKENS; i++) {
        char buf[MOCK_TEXT_TOKEN_MAX];
        size_t len = mock_text_token(&r, i, buf);
        assert_int_equal(len, strlen(buf));
        assert_true(len > 0 && len < MOCK_TEXT_TOKEN_MAX);
        memcpy(out + n, buf, len);
        n += len;
    }
    out[n] = '\0';
    return out;
}

static void test_mock_text_token_shape(void **state)
{
    struct mock_rng r;
    char buf[MOCK_TEXT_TOKEN_MAX];
    mock_rng_seed(&r, 1);
    mock_text_token(&r, 0, buf);
    assert_true(isupper((unsigned char)buf[0]));
    for (size_t i = 1; i < TOKENS; i++) {
        size_t len = mock_text_token(&r, i, buf);
        assert_true(len >= 2);
        assert_true(buf[0] == ' ');
        assert_true(isalpha((unsigned char)buf[1]));
        for (size_t k = 1; k < len; k++) {
            char c = buf[k];
            /* letters, then at most one punctuation mark at the end */
            if (!isalpha((unsigned char)c))
                assert_true((c == '.' || c == ',') && k == len - 1);
        }
    }
}

static void test_mock_text_is_words(void **state)
{
    char *t = text_reply(7);
    /* many different words, none dominating: not one repeated character or word */
    char *words[TOKENS];
    size_t nw = 0, distinct = 0;
    for (char *w = strtok(t, " .,"); w != NULL; w = strtok(NULL, " .,"))
        words[nw++] = w;
    assert_int_equal(nw, TOKENS);
    for (size_t i = 0; i < nw; i++) {
        size_t j = 0;
        while (j < i && strcasecmp(words[j], words[i]) != 0)
            j++;
        distinct += j == i;
    }
    assert_true(distinct > 150);
    size_t longest_run = 1, run = 1;
    for (size_t i = 1; i < nw; i++) {
        run = strcmp(words[i], words[i - 1]) == 0 ? run + 1 : 1;
        longest_run = run > longest_run ? run : longest_run;
    }
    assert_true(longest_run <= 3);
    free(t);
}

static void test_mock_text_sentences(void **state)
{
    char *t = text_reply(3);
    size_t words_since = 0, sentences = 0, commas = 0;
    int capital_next = 1;
    for (char *w = strtok(t, " "); w != NULL; w = strtok(NULL, " ")) {
        size_t len = strlen(w);
        if (capital_next && !isupper((unsigned char)w[0]))
            fail_msg("'%s' starts a sentence without a capital", w);
        if (!capital_next && isupper((unsigned char)w[0]))
            fail_msg("'%s' is capitalised mid-sentence", w);
        words_since++;
        capital_next = w[len - 1] == '.';
        commas += w[len - 1] == ',';
        if (capital_next) {
            if (words_since < 8 || words_since > 15)
                fail_msg("a sentence of %zu words", words_since);
            words_since = 0;
            sentences++;
        }
    }
    assert_true(sentences > TOKENS / 16);
    assert_true(commas > 20 && commas < TOKENS / 5);
    free(t);
}

static void test_mock_text_deterministic(void **state)
{
    char *a = text_reply(42), *b = text_reply(42), *c = text_reply(43);
    assert_string_equal(a, b);
    assert_true(strcmp(a, c) != 0);
    /* tokens from a different seed differ early, not only somewhere in 2000 words */
    assert_true(strncmp(a, c, 40) != 0);
    free(a);
    free(b);
    free(c);
}

static void test_mock_text_count_tokens(void **state)
{
    assert_int_equal(mock_text_count_tokens("", 0), 1);
    assert_int_equal(mock_text_count_tokens("a", 1), 1);
    assert_int_equal(mock_text_count_tokens("abcd", 4), 1);
    assert_int_equal(mock_text_count_tokens("abcde", 5), 2);
    assert_int_equal(mock_text_count_tokens("hello world, how are you?", 25), 7);
    char big[4000];
    memset(big, 'x', sizeof(big));
    assert_int_equal(mock_text_count_tokens(big, sizeof(big)), 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mock_text_token_shape),
        cmocka_unit_test(test_mock_text_is_words),
        cmocka_unit_test(test_mock_text_sentences),
        cmocka_unit_test(test_mock_text_deterministic),
        cmocka_unit_test(test_mock_text_count_tokens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
