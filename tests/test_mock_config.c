/* test_mock_config.c - mockllm's settings (mock_server/mock_config.h): the command line, the JSON
 * config file read as the flags it stands for (mock_config_file.h), presets and the concurrency
 * model. Each bad input is refused with a one-line reason naming what is wrong. No server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mock_config.h"

static struct mock_config cfg; /* large: not on the stack */
static char err[512];
static char path[64];

/* Parse argv (NULL-terminated); 0, 1 (help) or -1. */
static int parse(const char *const *argv)
{
    char *av[32];
    int ac = 0;
    av[ac++] = "mockllm";
    for (; argv[ac - 1] != NULL && ac < 31; ac++) {
        av[ac] = (char *)argv[ac - 1];
    }
    av[ac] = NULL;
    err[0] = '\0';
    return mock_config_parse(&cfg, ac, av, err, sizeof(err));
}

/* Write text to a temporary config file (path). */
static void file(const char *text)
{
    snprintf(path, sizeof(path), "/tmp/ll_mock_config_%d.json", (int)getpid());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_mock_config_file(void **state)
{
    file("{\"seed\": 7, \"max_running\": 64, \"verbose\": true, \"no-memo\": false,"
         " \"listen\": [\"127.0.0.1\", \"::1\"], \"faults\": {\"429\": 0.05, \"close_after\": 3},"
         " \"preset\": \"realistic\", \"prefill\": 0.25, \"eos\": false, \"model\": \"threads\","
         " \"profiles\": [{\"name\": \"served\", \"preset\": \"large\", \"itl\": 9},"
         "                {\"name\": \"tiny\", \"tokens\": \"uniform:2,4\", \"eos\": true,"
         "                 \"faults\": {\"503\": 0.5}}]}");
    const char *const argv[] = {"--config", path, "--seed", "9", NULL};
    assert_int_equal(parse(argv), 0);
    unlink(path);
    assert_int_equal(cfg.seed, 9); /* the later flag wins */
    assert_int_equal(cfg.max_running, 64);
    assert_true(cfg.verbose && !cfg.no_memo);
    assert_int_equal(cfg.nlisten, 2);
    assert_string_equal(cfg.listen[1], "::1");
    assert_true(cfg.faults.rate[MOCK_FAULT_429] == 0.05 && cfg.faults.close_after == 3);
    assert_int_equal(cfg.model, MOCK_MODEL_THREADS);
    const struct mock_profile *d = &cfg.profiles[0];
    assert_string_equal(d->name, MOCK_DEFAULT_MODEL); /* a preset keeps the name */
    assert_true(d->ttft.kind == MOCK_DIST_LOGNORMAL && d->prefill_ms == 0.25 && !d->eos);
    assert_int_equal(cfg.nprofiles, 3);
    const struct mock_profile *s = &cfg.profiles[mock_config_find_profile(&cfg, "served")];
    assert_true(s->ttft.a == 300 && s->itl.kind == MOCK_DIST_FIXED && s->itl.a == 9 && s->eos);
    const struct mock_profile *t = &cfg.profiles[mock_config_find_profile(&cfg, "tiny")];
    assert_true(t->tokens.kind == MOCK_DIST_UNIFORM && t->eos && t->has_faults);
    assert_true(t->faults.rate[MOCK_FAULT_503] == 0.5);
}

static void test_mock_config_file_bad(void **state)
{
    static const struct {
        const char *text, *want; /* want: a piece of the error */
    } bad[] = {
        {"{\"colour\": 1}", "unknown option 'colour'"},
        {"{\"config\": \"x.json\"}", "cannot nest"},
        {"{\"verbose\": 1}", "true or false"},
        {"{\"profiles\": [{\"name\": \"a\", \"colour\": 1}]}", "unknown key 'colour'"},
        {"{\"profiles\": [{\"name\": \"a\", \"preset\": \"fast\"}]}", "no preset 'fast'"},
        {"{\"profiles\": {}}", "must be an array"},
        {"{\"seed\": [1]}", "wrong type"},
        {"[1, 2]", "not a JSON object"},
        {"{\"seed\": ", "not a JSON object"},
        {"{\"preset\": \"fast\"}", "no such preset"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        file(bad[i].text);
        const char *const argv[] = {"--config", path, NULL};
        assert_int_equal(parse(argv), -1);
        if (strstr(err, bad[i].want) == NULL || strstr(err, path) == NULL ||
            strchr(err, '\n') != NULL) {
            fail_msg("'%s': wanted '%s' and the path, got '%s'", bad[i].text, bad[i].want, err);
        }
    }
    unlink(path);
    const char *const missing[] = {"--config", "/nonexistent/mock.json", NULL};
    assert_int_equal(parse(missing), -1);
    assert_non_null(strstr(err, "cannot open"));
}

static void test_mock_config_flags(void **state)
{
    const char *const served[] = {"--preset",  "realistic", "--itl", "5",
                                  "--profile", "large",     "--eos", NULL};
    assert_int_equal(parse(served), 0);
    assert_true(cfg.profiles[0].ttft.kind == MOCK_DIST_LOGNORMAL && cfg.profiles[0].itl.a == 5);
    assert_int_equal(mock_config_find_profile(&cfg, "large"), 1); /* --profile NAME */
    assert_true(cfg.profiles[1].itl.a == 45 && cfg.profiles[1].eos);
    assert_int_equal(cfg.model, MOCK_MODEL_LOOP);
    static const struct {
        const char *argv[4], *want;
    } bad[] = {
        {{"--model", "fibers", NULL}, "want loop or threads"},
        {{"--model", "threads", "--threads", "2"}, "needs --model loop"},
        {{"--preset", "fast", NULL}, "no such preset"},
        {{"--prefill", "-1", NULL}, "--prefill"},
        {{"--tokens", "lognormal:0,3", NULL}, "--tokens"},
        {{"--profile", "fast", NULL}, "neither a preset's name"},
        {{"--profile", "ttft=5", NULL}, "name= is required"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *argv[5] = {bad[i].argv[0], bad[i].argv[1], bad[i].argv[2], bad[i].argv[3],
                               NULL};
        assert_int_equal(parse(argv), -1);
        if (strstr(err, bad[i].want) == NULL) {
            fail_msg("%s %s: wanted '%s', got '%s'", argv[0], argv[1], bad[i].want, err);
        }
    }
}

/* The transport's settings (issue 15): defaults, values, and the flags that need one another. */
static void test_mock_config_transport(void **state)
{
    const char *const none[] = {NULL};
    assert_int_equal(parse(none), 0);
    assert_false(cfg.tls);
    assert_int_equal(cfg.h2_max_streams, 100);
    assert_int_equal(cfg.h2_settings_max, 1);
    assert_true(cfg.rtt_ms == 0 && cfg.h2_goaway_after == 0 && cfg.h2_settings_after == 0);
    const char *const all[] = {"--tls",       "--ca-out",
                               "/tmp/ca.pem", "--h2-max-streams",
                               "8",           "--h2-goaway-after",
                               "3",           "--h2-settings-after",
                               "2",           "--h2-settings-max",
                               "0",           "--rtt-ms",
                               "20.5",        NULL};
    assert_int_equal(parse(all), 0);
    assert_true(cfg.tls && cfg.rtt_ms == 20.5);
    assert_string_equal(cfg.tls_ca_out, "/tmp/ca.pem");
    assert_int_equal(cfg.h2_max_streams, 8);
    assert_int_equal(cfg.h2_goaway_after, 3);
    assert_int_equal(cfg.h2_settings_after, 2);
    assert_int_equal(cfg.h2_settings_max, 0);
    file("{\"tls\": true, \"cert\": \"/c.pem\", \"key\": \"/k.pem\", \"rtt-ms\": 5}");
    const char *const fromfile[] = {"--config", path, NULL};
    assert_int_equal(parse(fromfile), 0);
    unlink(path);
    assert_true(cfg.tls && cfg.rtt_ms == 5);
    assert_string_equal(cfg.tls_key, "/k.pem");
    static const struct {
        const char *argv[4], *want;
    } bad[] = {
        {{"--tls", "--cert", "/c.pem", NULL}, "--cert and --key go together"},
        {{"--cert", "/c.pem", "--key", "/k.pem"}, "--cert needs --tls"},
        {{"--ca-out", "/tmp/x.pem", NULL}, "--ca-out needs --tls"},
        {{"--model", "threads", "--rtt-ms", "20"}, "it needs --model loop"},
        {{"--rtt-ms", "-1", NULL}, "--rtt-ms"},
        {{"--h2-max-streams", "-1", NULL}, "want an integer in [0, 2147483647]"},
        /* HTTP/2 faults that would silently do nothing */
        {{"--h2-settings-max", "5", NULL}, "it needs --h2-settings-after"},
        {{"--model", "threads", "--h2-goaway-after", "3"}, "it needs --model loop"},
        {{"--model", "threads", "--h2-settings-after", "2"}, "it needs --model loop"},
        {{"--model", "threads", "--h2-max-streams", "64"}, "--h2-max-streams: HTTP/2 is served"},
        {{"--h2-max-streams", "0", "--model", "threads"}, "--h2-max-streams: HTTP/2 is served"},
        {{"--cert", "", NULL}, "want a path"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *argv[5] = {bad[i].argv[0], bad[i].argv[1], bad[i].argv[2], bad[i].argv[3],
                               NULL};
        assert_int_equal(parse(argv), -1);
        if (strstr(err, bad[i].want) == NULL) {
            fail_msg("%s %s: wanted '%s', got '%s'", argv[0], argv[1], bad[i].want, err);
        }
    }
    const char *const both[] = {"--tls",  "--cert",   "/c.pem", "--key",
                                "/k.pem", "--ca-out", "/x.pem", NULL};
    assert_int_equal(parse(both), -1);
    assert_non_null(strstr(err, "not with --cert"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mock_config_file),
        cmocka_unit_test(test_mock_config_file_bad),
        cmocka_unit_test(test_mock_config_flags),
        cmocka_unit_test(test_mock_config_transport),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
