/* test_workloads_files.c - the files of workloads from real shapes (issue 14 items 5 and 7):
 * trace CSVs and dataset files (JSONL, JSON arrays, ShareGPT). The truths are the files written
 * here: their rows and prompts, the line each malformed entry starts on, the skipped entries;
 * a seeded sample is bounded, repeatable and uniform (each of 100 entries in a sample of 10
 * about 10% of the time over 2,000 seeds), and shuffled.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ll_dataset.h"
#include "ll_err.h"
#include "ll_trace.h"

static char g_dir[64];

static const char *write_file(const char *name, const char *text)
{
    static char path[8][128];
    static int next;
    char *p = path[next++ % 8];
    snprintf(p, 128, "%s/%s", g_dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

static void assert_between(double v, double lo, double hi, const char *what)
{
    if (!(v >= lo && v <= hi)) {
        fail_msg("%s = %.4f, want %.4f..%.4f", what, v, lo, hi);
    }
}

/* ---- traces ---------------------------------------------------------------------------- */

static void test_workloads_trace_parse(void **state)
{
    (void)state;
    struct ll_trace tr;
    char err[300];
    const char *p = write_file("ok.csv", "timestamp,input_tokens,output_tokens\r\n"
                                         "# recorded somewhere\n"
                                         "0.0, 100 ,20\r\n"
                                         "\n"
                                         "  0.5,200,30\n"
                                         "1.25,300,40   \n");
    assert_int_equal(ll_trace_load(p, 0, &tr, err, sizeof(err)), 0);
    assert_int_equal(tr.n, 3);
    assert_true(tr.t_s[2] == 1.25 && tr.input[1] == 200 && tr.output[2] == 40);
    assert_true(tr.span_s == 1.25);
    ll_trace_free(&tr);
    /* no header; max_rows */
    p = write_file("nohead.csv", "0,1,1\n1,2,2\n2,3,3\n");
    assert_int_equal(ll_trace_load(p, 2, &tr, err, sizeof(err)), 0);
    assert_int_equal(tr.n, 2);
    ll_trace_free(&tr);

    /* malformed lines: the line number (blank lines and comments counted) and why */
    struct {
        const char *text, *want;
    } bad[] = {
        {"t,i,o\n0,1,1\n\n0.5,x,1\n", ":4: "},
        {"0,1,1\n0.5,1\n", ":2: "},
        {"0,1,1\n# c\n0.5,1,1,9\n", ":3: "},
        {"0,1,1\n2,1,1\n1,1,1\n", ":3: timestamp goes back"},
        {"-1,1,1\n", ":1: timestamp is negative"},
        {"0,0,1\n", ":1: input_tokens"},
        {"0,1,2.5\n", ":1: output_tokens"},
        {"t,i,o\nu,v,w\n", ":2: "},
        {"t,i,o\n# nothing\n", "no rows"},
        {"", "no rows"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        p = write_file("bad.csv", bad[i].text);
        err[0] = '\0';
        assert_int_equal(ll_trace_load(p, 0, &tr, err, sizeof(err)), LL_EINVAL);
        if (strstr(err, bad[i].want) == NULL || strstr(err, p) == NULL || strchr(err, '\n')) {
            fail_msg("case %zu: '%s' does not say '%s' with the file's name", i, err, bad[i].want);
        }
        assert_null(tr.t_s);
    }
    /* a missing file: one line naming it */
    snprintf(err, sizeof(err), "x");
    assert_int_equal(ll_trace_load("/nonexistent/t.csv", 0, &tr, err, sizeof(err)), LL_ENOENT);
    assert_non_null(strstr(err, "/nonexistent/t.csv"));
    assert_null(strchr(err, '\n'));
}

/* ---- datasets -------------------------------------------------------------------------- */

static const char *first_user(const struct ll_prompt *p)
{
    for (size_t i = 0; i < p->n_msgs; i++) {
        if (strcmp(p->msgs[i].role, "user") == 0) {
            return p->msgs[i].content;
        }
    }
    return NULL;
}

/* Find the prompt whose user message is `text`. */
static const struct ll_prompt *find(const struct ll_dataset *d, const char *text)
{
    for (size_t i = 0; i < d->n; i++) {
        const char *u = first_user(&d->items[i]);
        if (u != NULL && strcmp(u, text) == 0) {
            return &d->items[i];
        }
    }
    fail_msg("no prompt '%s' in the sample", text);
    return NULL;
}

static void test_workloads_dataset_layouts(void **state)
{
    (void)state;
    struct ll_dataset d;
    char err[300];
    const char *p = write_file(
        "d.jsonl", "{\"prompt\": \"hello there\"}\n"
                   "\"a bare string\"\n"
                   "\n"
                   "{\"messages\": [{\"role\": \"system\", \"content\": \"be brief\"}, "
                   "{\"role\": \"user\", \"content\": \"why\"}]}\n"
                   "[{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"one \"}, "
                   "{\"type\": \"text\", \"text\": \"two\"}]}]\n"
                   "{\"conversations\": [{\"from\": \"human\", \"value\": \"share\"}, "
                   "{\"from\": \"gpt\", \"value\": \"answer\"}]}\n"
                   "{\"conversations\": [{\"from\": \"gpt\", \"value\": \"no human turn\"}]}\n"
                   "{\"prompt\": \"\"}\n");
    assert_int_equal(ll_dataset_load(p, 0, 1, &d, err, sizeof(err)), 0);
    assert_string_equal(d.layout, "jsonl");
    assert_int_equal(d.n, 5);
    assert_int_equal(d.entries, 5);
    assert_int_equal(d.skipped, 2);
    const struct ll_prompt *m = find(&d, "why");
    assert_int_equal(m->n_msgs, 2);
    assert_string_equal(m->msgs[0].role, "system");
    assert_string_equal(m->msgs[0].content, "be brief");
    assert_int_equal(m->tokens, 2 + 1); /* "be brief" 8 bytes, "why" 3: mockllm's count */
    assert_int_equal(find(&d, "one two")->n_msgs, 1);
    assert_int_equal(find(&d, "hello there")->tokens, 3);
    find(&d, "a bare string");
    find(&d, "share");
    ll_dataset_free(&d);

    /* the ShareGPT JSON array, pretty-printed, strings holding brackets, quotes and escapes */
    p = write_file("sg.json",
                   "[\n"
                   "  {\"id\": \"a\", \"conversations\": [{\"from\": \"human\", \"value\": "
                   "\"x \\\"]}\\\\\"}, {\"from\": \"gpt\", \"value\": \"y\"}]},\n"
                   "  {\"id\": \"b\", \"conversations\": [{\"from\": \"system\", \"value\": "
                   "\"sys\"}, {\"from\": \"human\", \"value\": \"second\"}]},\n"
                   "  {\"id\": \"c\", \"conversations\": []},\n"
                   "  {\"id\": \"s\", \"conversations\": [{\"from\": \"system\", \"value\": "
                   "\"only a system turn\"}, {\"from\": \"gpt\", \"value\": \"y\"}]},\n"
                   "  {\"id\": \"d\",\n"
                   "   \"conversations\": [{\"from\": \"human\", \"value\": \"third\"}]}\n"
                   "]\n");
    assert_int_equal(ll_dataset_load(p, 0, 1, &d, err, sizeof(err)), 0);
    assert_string_equal(d.layout, "json");
    assert_int_equal(d.n, 3);
    assert_int_equal(d.skipped, 2);
    find(&d, "x \"]}\\");
    assert_int_equal(find(&d, "second")->n_msgs, 2);
    find(&d, "third");
    ll_dataset_free(&d);

    /* a minified JSON array on one line is still a JSON array of entries */
    p = write_file("min.json", "[{\"conversations\": [{\"from\": \"human\", \"value\": \"a\"}]}, "
                               "{\"prompt\": \"b\"}, \"c\"]");
    assert_int_equal(ll_dataset_load(p, 0, 1, &d, err, sizeof(err)), 0);
    assert_string_equal(d.layout, "json");
    assert_int_equal(d.n, 3);
    ll_dataset_free(&d);

    /* a one-line messages array first: JSONL of messages arrays, not a JSON array */
    p = write_file("m.jsonl", "[{\"role\": \"user\", \"content\": \"a\"}]\n"
                              "[{\"role\": \"user\", \"content\": \"b\"}]\n");
    assert_int_equal(ll_dataset_load(p, 0, 1, &d, err, sizeof(err)), 0);
    assert_string_equal(d.layout, "jsonl");
    assert_int_equal(d.n, 2);
    ll_dataset_free(&d);
}

/* Malformed entries: LL_EINVAL, one line naming the file and the line the entry starts on. */
static void test_workloads_dataset_malformed(void **state)
{
    (void)state;
    struct ll_dataset d;
    char err[300];
    struct {
        const char *name, *text, *want;
    } bad[] = {
        {"b1.jsonl", "{\"prompt\": \"ok\"}\n\n{\"prompt\": \"cut\n", ":3: not valid JSON"},
        {"b2.jsonl", "{\"prompt\": \"ok\"}\n{\"text\": \"other\"}\n", ":2: want a string"},
        {"b3.jsonl", "{\"prompt\": \"ok\"}\n{\"messages\": [{\"content\": \"x\"}]}\n",
         ":2: a message needs"},
        {"b4.jsonl", "42\n", ":1: want"},
        {"b5.json", "[\n  {\"prompt\": \"a\"},\n\n  {\"prompt\": 7}\n]\n", ":4: want"},
        {"b6.json", "[\n  {\"prompt\": \"a\"},\n  {\"prompt\": \"b\"\n", ":3: the file ends"},
        {"b7.json", "[\n  {\"prompt\": \"a\"}\n  {\"prompt\": \"b\"}\n]\n", ":3: want ','"},
        {"b8.json", "[{\"prompt\": \"a\"}] x\n", ":1: data after"},
        {"b9.json", "[\n {\"prompt\": \"a\"},\n {\"prompt\": tru}\n]\n", ":3: not valid JSON"},
        {"b10.jsonl", "\n\n", "no usable prompt"},
        {"b11.json", "[]", "no usable prompt"},
        {"b12.jsonl", "{\"conversations\": []}\n", "no usable prompt (1 entries skipped)"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *p = write_file(bad[i].name, bad[i].text);
        err[0] = '\0';
        assert_int_equal(ll_dataset_load(p, 0, 1, &d, err, sizeof(err)), LL_EINVAL);
        if (strstr(err, bad[i].want) == NULL || strstr(err, p) == NULL || strchr(err, '\n')) {
            fail_msg("%s: '%s' does not say '%s' with the file's name", bad[i].name, err,
                     bad[i].want);
        }
        assert_null(d.items);
    }
    assert_int_equal(ll_dataset_load("/nonexistent/d.jsonl", 0, 1, &d, err, sizeof(err)),
                     LL_ENOENT);
    assert_non_null(strstr(err, "/nonexistent/d.jsonl"));
}

/* The sample: at most N, the same under the same seed, uniform over the file (each of 100
 * entries in a sample of 10 about 10% of the time over many seeds), in random order. */
static void test_workloads_dataset_sample(void **state)
{
    (void)state;
    char *text = calloc(1, 100 * 32), err[300];
    size_t len = 0;
    for (int i = 0; i < 100; i++) {
        len += (size_t)sprintf(text + len, "{\"prompt\": \"p%d\"}\n", i);
    }
    const char *p = write_file("hundred.jsonl", text);
    free(text);
    struct ll_dataset a, b, c;
    assert_int_equal(ll_dataset_load(p, 10, 3, &a, err, sizeof(err)), 0);
    assert_int_equal(ll_dataset_load(p, 10, 3, &b, err, sizeof(err)), 0);
    assert_int_equal(ll_dataset_load(p, 10, 4, &c, err, sizeof(err)), 0);
    assert_int_equal(a.n, 10);
    assert_int_equal(a.entries, 100);
    int same_c = 0;
    for (size_t i = 0; i < 10; i++) {
        assert_string_equal(first_user(&a.items[i]), first_user(&b.items[i]));
        same_c += strcmp(first_user(&a.items[i]), first_user(&c.items[i])) == 0;
    }
    assert_true(same_c < 10);
    ll_dataset_free(&a);
    ll_dataset_free(&b);
    ll_dataset_free(&c);
    int picked[100] = {0}, first[100] = {0};
    for (uint64_t seed = 1; seed <= 2000; seed++) {
        assert_int_equal(ll_dataset_load(p, 10, seed, &a, err, sizeof(err)), 0);
        for (size_t i = 0; i < a.n; i++) {
            picked[atoi(first_user(&a.items[i]) + 1)]++;
        }
        first[atoi(first_user(&a.items[0]) + 1)]++;
        ll_dataset_free(&a);
    }
    int low_half_first = 0;
    for (int i = 0; i < 100; i++) { /* 200 expected each, sd ~13 */
        assert_between(picked[i], 140, 260, "times one entry was sampled (of 2000)");
        low_half_first += i < 50 ? first[i] : 0;
    }
    assert_between(low_half_first, 850, 1150, "first prompt from the file's first half");
    /* the whole file, shuffled: not in the file's order */
    int in_order = 0;
    for (uint64_t seed = 1; seed <= 200; seed++) {
        assert_int_equal(ll_dataset_load(p, 0, seed, &a, err, sizeof(err)), 0);
        assert_int_equal(a.n, 100);
        in_order += strcmp(first_user(&a.items[0]), "p0") == 0;
        ll_dataset_free(&a);
    }
    assert_between(in_order, 0, 8, "whole-file samples that start with the file's first prompt");
}

static int setup_dir(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof(g_dir), "/tmp/test_workloads_files.XXXXXX");
    return mkdtemp(g_dir) != NULL ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_workloads_trace_parse),
        cmocka_unit_test(test_workloads_dataset_layouts),
        cmocka_unit_test(test_workloads_dataset_malformed),
        cmocka_unit_test(test_workloads_dataset_sample),
    };
    return cmocka_run_group_tests_name("workloads_files", tests, setup_dir, remove_dir);
}
