/* test_workloads_run.c - workloads from real shapes (issue 14 items 5-7) end to end: the real
 * `llmload run` on both backends against a scripted server whose arrival log is the truth
 * (tests/stream_server.h: when each request arrived and its body).
 *   - closed-loop ramp: C = 6 over 1.5 s, answers held 2 s, so request k starts at step k, at
 *     k * 250 ms (without the ramp all six arrive at once);
 *   - open-loop ramp: 40/s over 2 s with constant arrivals, so request k arrives at
 *     sqrt(k / 10) s inside the ramp, then every 25 ms;
 *   - gamma arrivals at 25/s: the gaps' coefficient of variation at the server is ~0.5 for
 *     B = 4 and ~2 for B = 0.25 (Poisson's is 1), the mean gap 1/rate for both;
 *   - trace replay at speed 2: each row arrives at half its timestamp, with 4 x input_tokens
 *     bytes of prompt and max_tokens = output_tokens (rows told apart by their output length);
 *   - dataset: a sample of 5 of 20 prompts, cycled; the same seed sends the same prompts in the
 *     same order, another seed others; --output-tokens and --ignore-eos put max_tokens,
 *     min_tokens and ignore_eos in every body, and without the flag they are absent.
 * Bounds are wide (a loaded 2-core machine), but each excludes the wrong behaviour it is named
 * for. The server cannot see the run's start: schedules are compared with the least late
 * arrival as origin (check_schedule).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "stream_server.h"

extern char **environ;

#define JHEAD "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
#define ANSWER                                                                                     \
    JHEAD "{\"id\":\"c\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":"    \
          "{\"role\":\"assistant\",\"content\":\"hi\"},\"finish_reason\":\"stop\"}],\"usage\":"    \
          "{\"prompt_tokens\":1,\"completion_tokens\":1,\"total_tokens\":2}}"

static const struct ss_step now_steps[] = {{0, ANSWER}};
static const struct ss_step held_steps[] = {{2000, ANSWER}};
static const struct ss_script now_script = {now_steps, 1}, held_script = {held_steps, 1};

static const struct ss_script *pick(void *arg, int n)
{
    (void)n;
    return arg;
}

static char g_dir[64];

/* ---- running llmload against a scripted server ------------------------------------------ */

/* llmload run --backend BE --url URL ... args ... (NULL-terminated); its exit status. */
static int llmload(const char *be, const char *url, const char *const *args)
{
    const char *bin = getenv("LL_LLMLOAD");
    const char *argv[48] = {bin,         "run", "--backend", be,   "--url",         url,
                            "--retries", "0",   "--timeout", "10", "--no-preflight"};
    size_t n = 11;
    char out[128];
    pid_t pid;
    int status = -1;
    assert_non_null(bin);
    for (size_t i = 0; args[i] != NULL && n < 47; i++) {
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    snprintf(out, sizeof(out), "%s/out.txt", g_dir);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    assert_int_equal(posix_spawn(&pid, bin, &fa, NULL, (char **)argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    int rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (rc != 0) {
        char cmd[160];
        snprintf(cmd, sizeof(cmd), "cat '%s'", out);
        (void)!system(cmd);
    }
    return rc;
}

/* A fresh scripted server answering every request with `sc`; the caller stops it. */
static struct ss_server *serve(const struct ss_script *sc)
{
    struct ss_server *srv = NULL;
    assert_int_equal(ss_start(pick, (void *)sc, &srv), 0);
    return srv;
}

/* Arrival times in ms after the first, n of them (asserted present). */
static void arrivals_ms(struct ss_server *srv, int n, double *ms)
{
    int64_t t0 = 0, t;
    for (int i = 0; i < n; i++) {
        if (ss_arrival(srv, i, &t) == NULL) {
            fail_msg("request %d never arrived (%d expected)", i, n);
        }
        t0 = i == 0 ? t : t0;
        ms[i] = (double)(t - t0) / 1e6;
    }
    assert_null(ss_arrival(srv, n, &t)); /* and no more */
}

static void assert_between(double v, double lo, double hi, const char *what)
{
    if (!(v >= lo && v <= hi)) {
        fail_msg("%s = %.3f, want %.3f..%.3f", what, v, lo, hi);
    }
}

/* Arrivals against their schedule (both in ms, arrival k meant for want[k]). The server cannot
 * see the run's start, and the first request may be late (its connection, a loaded machine),
 * so the least late arrival sets the origin: every arrival within 150 ms of its time, at least
 * 80% within 30 ms, and the mean lateness under 30 ms. Returns the origin (ms). */
static double check_schedule(const double *ms, const double *want, int n, const char *what)
{
    double base = ms[0] - want[0], sum = 0;
    int close = 0;
    for (int k = 1; k < n; k++) {
        base = ms[k] - want[k] < base ? ms[k] - want[k] : base;
    }
    for (int k = 0; k < n; k++) {
        double late = ms[k] - want[k] - base;
        if (late > 150) {
            fail_msg("%s: arrival %d at %.1f ms, %.1f ms after its time %.1f", what, k,
                     ms[k] - base, late, want[k]);
        }
        close += late <= 30;
        sum += late;
    }
    if (close < n * 8 / 10 || sum / n > 30) {
        fail_msg("%s: %d of %d arrivals within 30 ms of their times, mean lateness %.1f ms", what,
                 close, n, sum / n);
    }
    return base;
}

static cJSON *body_of(struct ss_server *srv, int n)
{
    int64_t t;
    const char *b = ss_arrival(srv, n, &t);
    assert_non_null(b);
    cJSON *j = cJSON_Parse(b);
    assert_non_null(j);
    return j;
}

/* A whole number field of a request body; fails the test when it is missing. */
static int body_int(const cJSON *body, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(body, key);
    if (!cJSON_IsNumber(v)) {
        fail_msg("the request body has no number \"%s\"", key);
    }
    return v->valueint;
}

static const char *user_text(const cJSON *body)
{
    const cJSON *m = cJSON_GetArrayItem(cJSON_GetObjectItem(body, "messages"), 0);
    const cJSON *c = cJSON_GetObjectItem(m, "content");
    assert_true(cJSON_IsString(c));
    return c->valuestring;
}

/* ---- the ramps ---------------------------------------------------------------------------- */

static void test_workloads_run_ramp_closed(void **state)
{
    const char *be = *state;
    struct ss_server *srv = serve(&held_script);
    const char *args[] = {"--requests", "6", "--concurrency", "6", "--ramp-up", "1.5", NULL};
    assert_int_equal(llmload(be, ss_url(srv), args), 0);
    double ms[6], want[6];
    arrivals_ms(srv, 6, ms);
    for (int k = 0; k < 6; k++) { /* the answers take 2 s: only the ramp starts requests */
        want[k] = k * 250.0;
    }
    /* each step is woken for, not left to the driver's next 150 ms tick (~60 ms late) */
    check_schedule(ms, want, 6, "closed ramp");
    ss_stop(srv);
}

static void test_workloads_run_ramp_open(void **state)
{
    const char *be = *state;
    struct ss_server *srv = serve(&now_script);
    const char *args[] = {"--requests", "60", "--rate", "40", "--ramp-up", "2", NULL};
    assert_int_equal(llmload(be, ss_url(srv), args), 0);
    double ms[60], want[60];
    arrivals_ms(srv, 60, ms);
    for (int k = 0; k < 60; k++) {
        want[k] = 1000 * (k < 40 ? sqrt(k / 10.0) : 2 + (k - 40) / 40.0);
    }
    double base = check_schedule(ms, want, 60, "open ramp"); /* unramped: 25 ms apart */
    assert_between(ms[59] - base, 2450, 2650, "open ramp: the last arrival (ms), 2 + 19 / 40 s");
    ss_stop(srv);
}

/* ---- gamma arrivals --------------------------------------------------------------------- */

static void gamma_run(const char *be, const char *b, double *mean_ms, double *cv)
{
    struct ss_server *srv = serve(&now_script);
    const char *args[] = {"--requests", "80", "--rate", "25", "--burstiness", b,
                          "--seed",     "3",  NULL};
    assert_int_equal(llmload(be, ss_url(srv), args), 0);
    double ms[80], sum = 0, sq = 0;
    arrivals_ms(srv, 80, ms);
    for (int k = 1; k < 80; k++) {
        double g = ms[k] - ms[k - 1];
        sum += g;
        sq += g * g;
    }
    *mean_ms = sum / 79;
    *cv = sqrt(sq / 79 - *mean_ms * *mean_ms) / *mean_ms;
    ss_stop(srv);
}

static void test_workloads_run_gamma(void **state)
{
    const char *be = *state;
    double mean, cv;
    gamma_run(be, "4", &mean, &cv);
    assert_between(mean, 32, 50, "gamma B=4: mean gap at the server (ms)");
    assert_between(cv, 0.3, 0.85, "gamma B=4: CV of the gaps at the server (1/sqrt(4) = 0.5)");
    gamma_run(be, "0.25", &mean, &cv);
    assert_between(mean, 20, 65, "gamma B=0.25: mean gap at the server (ms)");
    assert_between(cv, 1.3, 3.5, "gamma B=0.25: CV of the gaps at the server (1/sqrt(.25) = 2)");
}

/* ---- trace replay ----------------------------------------------------------------------- */

#define ROWS 30

static void test_workloads_run_trace(void **state)
{
    const char *be = *state;
    char path[128], line[64];
    double t_s[ROWS];
    snprintf(path, sizeof(path), "%s/trace.csv", g_dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("timestamp,input_tokens,output_tokens\n", f);
    for (int i = 0; i < ROWS; i++) { /* uneven gaps; row i asks 100 + i tokens */
        t_s[i] = 3.0 + 0.05 * i + (i % 3) * 0.02 + (i > 20 ? 0.3 : 0);
        fprintf(f, "%.3f,%d,%d\n", t_s[i], 10 + 7 * i, 100 + i);
    }
    fclose(f);
    struct ss_server *srv = serve(&now_script);
    const char *args[] = {"--trace", path, "--trace-speed", "2", NULL};
    assert_int_equal(llmload(be, ss_url(srv), args), 0);
    double ms[ROWS], want[ROWS];
    bool seen[ROWS] = {false};
    arrivals_ms(srv, ROWS, ms);
    for (int k = 0; k < ROWS; k++) {
        cJSON *b = body_of(srv, k);
        int row = body_int(b, "max_tokens") - 100;
        assert_true(row >= 0 && row < ROWS && !seen[row]);
        seen[row] = true;
        snprintf(line, sizeof(line), "trace row %d: prompt bytes", row);
        assert_between((double)strlen(user_text(b)), 4.0 * (10 + 7 * row), 4.0 * (10 + 7 * row),
                       line);
        bool eos = cJSON_GetObjectItem(b, "ignore_eos") || cJSON_GetObjectItem(b, "min_tokens");
        cJSON_Delete(b);
        assert_false(eos); /* not asked for */
        want[k] = (t_s[row] - t_s[0]) / 2 * 1000;
    }
    check_schedule(ms, want, ROWS, "trace at speed 2");
    ss_stop(srv);
}

/* ---- datasets, output lengths, ignore_eos ------------------------------------------------ */

/* The user prompts of one run of 20 requests (one at a time, so in send order), joined. */
static void dataset_run(const char *be, const char *seed, char *seq, size_t len)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/ds.jsonl", g_dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 20; i++) {
        fprintf(f, "{\"prompt\": \"prompt-%02d\"}\n", i);
    }
    fclose(f);
    struct ss_server *srv = serve(&now_script);
    const char *args[] = {"--dataset",    path, "--dataset-sample", "5",
                          "--requests",   "20", "--concurrency",    "1",
                          "--seed",       seed, "--output-tokens",  "uniform:5,9",
                          "--ignore-eos", NULL};
    assert_int_equal(llmload(be, ss_url(srv), args), 0);
    seq[0] = '\0';
    for (int k = 0; k < 20; k++) {
        cJSON *b = body_of(srv, k);
        const char *u = user_text(b);
        assert_int_equal(strncmp(u, "prompt-", 7), 0);
        if (k >= 5) { /* the sample of 5, cycled */
            assert_non_null(strstr(seq, u));
        }
        snprintf(seq + strlen(seq), len - strlen(seq), "%s ", u);
        int mt = body_int(b, "max_tokens");
        assert_true(mt >= 5 && mt <= 9);
        assert_true(cJSON_IsTrue(cJSON_GetObjectItem(b, "ignore_eos")));
        assert_int_equal(body_int(b, "min_tokens"), mt);
        cJSON_Delete(b);
    }
    ss_stop(srv);
}

static void test_workloads_run_dataset(void **state)
{
    const char *be = *state;
    char a[400], b[400], c[400];
    dataset_run(be, "11", a, sizeof(a));
    dataset_run(be, "11", b, sizeof(b));
    dataset_run(be, "12", c, sizeof(c));
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
}

static int setup_dir(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof(g_dir), "/tmp/test_workloads_run.XXXXXX");
    return mkdtemp(g_dir) != NULL ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

#define CASES(be)                                                                                  \
    {                                                                                              \
        cmocka_unit_test_prestate(test_workloads_run_ramp_closed, be),                             \
            cmocka_unit_test_prestate(test_workloads_run_ramp_open, be),                           \
            cmocka_unit_test_prestate(test_workloads_run_gamma, be),                               \
            cmocka_unit_test_prestate(test_workloads_run_trace, be),                               \
            cmocka_unit_test_prestate(test_workloads_run_dataset, be),                             \
    }

int main(void)
{
    static char threaded_name[] = "threaded", evented_name[] = "evented";
    const struct CMUnitTest threaded[] = CASES(threaded_name);
    const struct CMUnitTest evented[] = CASES(evented_name);
    int failed = cmocka_run_group_tests_name("threaded", threaded, setup_dir, remove_dir);
    failed += cmocka_run_group_tests_name("evented", evented, setup_dir, remove_dir);
    return failed;
}
