/* test_tokens.c - what a streamed answer's tokens, chunks and reasoning mean (issue 11, items
 * 6-9), end to end: the real `llmload run` (and `ab`, `batch`) on both backends against a
 * scripted server (tests/stream_server.h) that sends each chunk at a set time. The right values
 * follow by arithmetic from the script:
 *   - TTFT is the first output on any channel: reasoning_content / reasoning at 50 ms (content
 *     only at 460 ms), a tool call at 50 ms; an answer capped while reasoning has one too;
 *   - a chunk is not a token: 5 chunks of 4 tokens 40 ms apart give 80 tokens, a per-token gap
 *     (ITL) of ~10 ms, TPOT ~8.4 ms and chunk gaps of ~40 ms; --slo itl=30,tpot=30 holds;
 *   - a cut stream's gaps stay out: 3 cut streams (100 ms gaps), 3 good ones (10 ms) -> 27 gaps;
 *   - no usage from the server: the report says so, tokens counted from chunks, never "0".
 * Bounds are wide (a loaded 2-core machine) but each excludes the wrong figure it is named for.
 * The unit cases at the end fold synthetic results: the per-token split by the server's usage.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cJSON.h>

#include "ll_clock.h"
#include "ll_stats.h"
#include "stream_server.h"

extern char **environ;

/* ---- the scripts ------------------------------------------------------------------------- */

#define HEAD                                                                                       \
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"            \
    "Connection: close\r\n\r\n"
#define JHEAD "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
#define EV(j) "data: " j "\n\n"
#define DELTA(d)                                                                                   \
    EV("{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":"   \
       "{" d "},\"finish_reason\":null}]}")
#define ROLE   DELTA("\"role\":\"assistant\",\"content\":\"\"")
#define THINK  DELTA("\"reasoning_content\":\"think \"")
#define THINK2 DELTA("\"reasoning\":\"think \"")
#define WORD   DELTA("\"content\":\" w\"")
#define WORD4  DELTA("\"content\":\" t0 t1 t2 t3\"")
#define TOOL_NAME                                                                                  \
    DELTA("\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{"    \
          "\"name\":\"f\",\"arguments\":\"\"}}]")
#define TOOL_ARGS DELTA("\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{}\"}}]")
#define FINISH(r) EV("{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"" r "\"}]}")
#define USAGE(p, c, t)                                                                             \
    EV("{\"choices\":[],\"usage\":{\"prompt_tokens\":" p ",\"completion_tokens\":" c               \
       ",\"total_tokens\":" t "}}")
#define DONE "data: [DONE]\n\n"
#define S(a)                                                                                       \
    {                                                                                              \
        a, sizeof(a) / sizeof(a[0])                                                                \
    }

/* Role chunk at once; five reasoning deltas 100 ms apart from 50 ms; three content deltas 10 ms
 * apart; usage 8 (no reasoning details: the report counts reasoning from the chunks). */
static const struct ss_step think_steps[] = {
    {0, HEAD ROLE}, {50, THINK},  {150, THINK},
    {250, THINK},   {350, THINK}, {450, THINK},
    {460, WORD},    {470, WORD},  {480, WORD FINISH("stop") USAGE("5", "8", "13") DONE}};
/* The same with delta.reasoning, and usage saying 5 reasoning tokens. */
static const struct ss_step think2_steps[] = {
    {0, HEAD ROLE},
    {50, THINK2},
    {150, THINK2},
    {250, THINK2},
    {350, THINK2},
    {450, THINK2},
    {460, WORD},
    {470, WORD},
    {480,
     WORD FINISH("stop")
         EV("{\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":8,"
            "\"total_tokens\":13,\"completion_tokens_details\":{\"reasoning_tokens\":5}}}") DONE}};
/* Capped inside the reasoning: no content at all. */
static const struct ss_step capped_steps[] = {
    {0, HEAD ROLE}, {50, THINK},  {150, THINK},
    {250, THINK},   {350, THINK}, {450, THINK FINISH("length") USAGE("5", "5", "10") DONE}};
/* A tool call: its name at 50 ms, its arguments at 250 ms. */
static const struct ss_step tool_steps[] = {
    {0, HEAD ROLE},
    {50, TOOL_NAME},
    {250, TOOL_ARGS FINISH("tool_calls") USAGE("5", "6", "11") DONE}};
/* Five chunks of four tokens, 40 ms apart from 20 ms; usage 20. */
static const struct ss_step spec_steps[] = {
    {0, HEAD ROLE}, {20, WORD4},  {60, WORD4},
    {100, WORD4},   {140, WORD4}, {180, WORD4 FINISH("length") USAGE("5", "20", "25") DONE}};
/* Ten deltas 10 ms apart, finished. */
static const struct ss_step good_steps[] = {{0, HEAD ROLE},
                                            {10, WORD},
                                            {20, WORD},
                                            {30, WORD},
                                            {40, WORD},
                                            {50, WORD},
                                            {60, WORD},
                                            {70, WORD},
                                            {80, WORD},
                                            {90, WORD},
                                            {100, WORD FINISH("stop") USAGE("5", "10", "15") DONE}};
/* Ten deltas 100 ms apart, then the connection closes: no finish, no usage, no [DONE]. */
static const struct ss_step cut_steps[] = {{0, HEAD ROLE}, {100, WORD}, {200, WORD}, {300, WORD},
                                           {400, WORD},    {500, WORD}, {600, WORD}, {700, WORD},
                                           {800, WORD},    {900, WORD}, {1000, WORD}};
/* No usage at all: three deltas 10 ms apart. */
static const struct ss_step nousage_steps[] = {
    {0, HEAD ROLE}, {10, WORD}, {20, WORD}, {30, WORD FINISH("stop") DONE}};
/* A plain (non-streamed) answer with no usage. */
static const struct ss_step plain_steps[] = {
    {0, JHEAD "{\"id\":\"c\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":"
              "{\"role\":\"assistant\",\"content\":\"hello\"},\"finish_reason\":\"stop\"}]}"}};

static const struct ss_script think = S(think_steps), think2 = S(think2_steps),
                              capped = S(capped_steps), tool = S(tool_steps), spec = S(spec_steps),
                              good = S(good_steps), cut = S(cut_steps), nousage = S(nousage_steps),
                              plain = S(plain_steps);

static const struct ss_script *pick_one(void *arg, int n)
{
    (void)n;
    return arg;
}

/* Even arrivals finish, odd ones are cut. */
static const struct ss_script *pick_good_cut(void *arg, int n)
{
    (void)arg;
    return n % 2 == 0 ? &good : &cut;
}

/* ---- running llmload ----------------------------------------------------------------------- */

static char g_dir[64];

/* Run llmload with args (NULL-terminated) and its output into out_path; returns its exit
 * status, and the output as a malloc'd string in *text. */
static int llmload(const char *const *args, char **text)
{
    const char *bin = getenv("LL_LLMLOAD");
    char out_path[128], *argv[40];
    size_t n = 0;
    pid_t pid;
    int status = -1;
    assert_non_null(bin);
    argv[n++] = (char *)bin;
    for (; args[n - 1] != NULL && n < 39; n++) {
        argv[n] = (char *)args[n - 1];
    }
    argv[n] = NULL;
    snprintf(out_path, sizeof(out_path), "%s/out.txt", g_dir);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    assert_int_equal(posix_spawn(&pid, bin, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    FILE *f = fopen(out_path, "r");
    assert_non_null(f);
    *text = calloc(1, 1 << 16);
    assert_non_null(*text);
    size_t got = fread(*text, 1, (1 << 16) - 1, f);
    (*text)[got] = '\0';
    fclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static cJSON *read_json(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *buf = calloc(1, 1 << 18);
    assert_non_null(buf);
    size_t n = fread(buf, 1, (1 << 18) - 1, f);
    buf[n] = '\0';
    fclose(f);
    cJSON *doc = cJSON_Parse(buf);
    free(buf);
    assert_non_null(doc);
    return doc;
}

/* The item at a dot path ("results.latency.itl.count"), or NULL. */
static const cJSON *jget(const cJSON *doc, const char *path)
{
    char key[64];
    const char *p = path;
    while (doc != NULL && *p) {
        size_t len = strcspn(p, ".");
        snprintf(key, sizeof(key), "%.*s", (int)len, p);
        doc = cJSON_GetObjectItemCaseSensitive(doc, key);
        p += len + (p[len] == '.');
    }
    return doc;
}

/* A number at path; fails the test when it is missing or not a number (null included). */
static double jnum(const cJSON *doc, const char *path)
{
    const cJSON *v = jget(doc, path);
    if (!cJSON_IsNumber(v)) {
        fail_msg("%s is not a number", path);
    }
    return v->valuedouble;
}

/* A string at path; fails the test when it is missing or not a string. */
static const char *jstr(const cJSON *doc, const char *path)
{
    const cJSON *v = jget(doc, path);
    if (!cJSON_IsString(v)) {
        fail_msg("%s is not a string", path);
    }
    return v->valuestring;
}

static void assert_between(double v, double lo, double hi, const char *what)
{
    if (!(v >= lo && v <= hi)) {
        fail_msg("%s = %.3f, want %.3f..%.3f", what, v, lo, hi);
    }
}

/* llmload run against a fresh scripted server; returns the JSON document and the text. */
static cJSON *run(const char *backend, const struct ss_script *sc, ss_pick_fn pick, int requests,
                  int concurrency, const char *slo, bool stream, char **text)
{
    struct ss_server *srv = NULL;
    char nreq[16], conc[16], json[128];
    assert_int_equal(ss_start(pick, (void *)sc, &srv), 0);
    snprintf(nreq, sizeof(nreq), "%d", requests);
    snprintf(conc, sizeof(conc), "%d", concurrency);
    snprintf(json, sizeof(json), "%s/run.json", g_dir);
    const char *args[32] = {"run",       "--backend",      backend,  "--url",
                            ss_url(srv), "--requests",     nreq,     "--concurrency",
                            conc,        "--retries",      "0",      "--timeout",
                            "10",        "--no-preflight", "--json", json};
    size_t n = 16;
    if (stream) {
        args[n++] = "--stream";
    }
    if (slo != NULL) {
        args[n++] = "--slo";
        args[n++] = slo;
    }
    args[n] = NULL;
    int rc = llmload(args, text);
    ss_stop(srv);
    cJSON *doc = read_json(json);
    if (rc != 0 && jnum(doc, "results.requests.failed") == 0) {
        fail_msg("llmload run exited %d:\n%s", rc, *text);
    }
    return doc;
}

/* ---- item 6: TTFT on any output channel --------------------------------------------------- */

static void check_ttft(const char *be, const struct ss_script *sc, const char *rsn_source,
                       double rsn_tokens)
{
    char *text = NULL;
    cJSON *doc = run(be, sc, pick_one, 3, 3, NULL, true, &text);
    assert_int_equal((int)jnum(doc, "results.requests.succeeded"), 3);
    assert_int_equal((int)jnum(doc, "results.latency.ttft.count"), 3);
    /* truth 50 ms; counting content only would give ~460 ms (tool calls: none at all). The
     * upper bound leaves a loaded machine 200 ms of delay and still catches 460. */
    assert_between(jnum(doc, "results.latency.ttft.p50_ms"), 45, 250, "ttft p50");
    if (rsn_source != NULL) {
        assert_string_equal(jstr(doc, "results.requests.reasoning_tokens_source"), rsn_source);
        assert_int_equal((int)jnum(doc, "results.requests.reasoning_tokens"), (int)rsn_tokens);
        assert_non_null(strstr(text, "reasoning tokens"));
    } else {
        assert_true(cJSON_IsNull(jget(doc, "results.requests.reasoning_tokens")));
    }
    cJSON_Delete(doc);
    free(text);
}

static void test_tokens_ttft_any_channel(void **state)
{
    const char *be = *state;
    check_ttft(be, &think, "chunks", 15); /* 5 reasoning chunks of 1 token (8 over 8) x 3 */
    check_ttft(be, &think2, "usage", 15); /* completion_tokens_details.reasoning_tokens 5 x 3 */
    check_ttft(be, &tool, NULL, 0);
}

/* Capped while still reasoning: a TTFT of ~50 ms, no SLO miss. Concurrency 3 for 3 requests:
 * none waits for a slot, so the SLO's clock (from the intended start) is the dispatch's. */
static void test_tokens_ttft_capped_in_reasoning(void **state)
{
    char *text = NULL;
    /* ttft=300: a loaded machine's room over the truth of 50 ms; the fault records no TTFT */
    cJSON *doc = run(*state, &capped, pick_one, 3, 3, "ttft=300", true, &text);
    assert_int_equal((int)jnum(doc, "results.requests.succeeded"), 3);
    assert_int_equal((int)jnum(doc, "results.latency.ttft.count"), 3);
    assert_between(jnum(doc, "results.latency.ttft.p50_ms"), 45, 250, "ttft p50");
    assert_int_equal((int)jnum(doc, "results.goodput.missed_ttft"), 0);
    assert_int_equal((int)jnum(doc, "results.goodput.good"), 3);
    assert_int_equal((int)jnum(doc, "results.requests.reasoning_tokens"), 15);
    cJSON_Delete(doc);
    free(text);
}

/* ---- item 7: a chunk is not a token ------------------------------------------------------- */

static void test_tokens_chunk_of_four(void **state)
{
    char *text = NULL;
    /* The SLO's bounds sit between the truth (~10 ms per token) and what a chunk counted as a
     * token gives (40 ms), with room for a loaded machine's delays. */
    cJSON *doc = run(*state, &spec, pick_one, 4, 4, "itl=30,tpot=30", true, &text);
    assert_int_equal((int)jnum(doc, "results.requests.succeeded"), 4);
    assert_int_equal((int)jnum(doc, "results.requests.completion_tokens"), 80);
    assert_string_equal(jstr(doc, "results.requests.tokens_source"), "usage");
    assert_int_equal((int)jnum(doc, "results.requests.stream_tokens"), 80);
    assert_int_equal((int)jnum(doc, "results.requests.output_chunks"), 20);
    /* per token: 4 chunks after the first x 4 tokens x 4 requests, ~10 ms (the chunk gap / 4) */
    assert_int_equal((int)jnum(doc, "results.latency.itl.count"), 64);
    assert_between(jnum(doc, "results.latency.itl.p50_ms"), 7, 30, "itl p50");
    /* the chunk gaps, under their own name: ~40 ms */
    assert_int_equal((int)jnum(doc, "results.latency.chunk_gap.count"), 16);
    assert_between(jnum(doc, "results.latency.chunk_gap.p50_ms"), 30, 150, "chunk_gap p50");
    /* TPOT = (e2e - ttft) / 19 = 160 / 19 = 8.4 ms; from the chunk count it would be 40 */
    assert_int_equal((int)jnum(doc, "results.latency.tpot.count"), 4);
    assert_between(jnum(doc, "results.latency.tpot.p50_ms"), 6, 30, "tpot p50");
    /* --slo itl=30 bounds the per-token gap, tpot=30 the mean per token: all four meet both */
    assert_int_equal((int)jnum(doc, "results.goodput.missed_itl"), 0);
    assert_int_equal((int)jnum(doc, "results.goodput.missed_tpot"), 0);
    assert_int_equal((int)jnum(doc, "results.goodput.good"), 4);
    assert_non_null(strstr(text, "\nchunk_gap "));
    assert_non_null(strstr(text, "\ntpot "));
    assert_null(strstr(text, "(counted from chunks)"));
    cJSON_Delete(doc);
    free(text);
}

/* ---- item 8: latency figures of successes only -------------------------------------------- */

static void test_tokens_failed_streams_excluded(void **state)
{
    char *text = NULL;
    cJSON *doc = run(*state, NULL, pick_good_cut, 6, 6, NULL, true, &text);
    assert_int_equal((int)jnum(doc, "results.requests.succeeded"), 3);
    assert_int_equal((int)jnum(doc, "results.requests.failed"), 3);
    assert_int_equal((int)jnum(doc, "results.requests.by_class.protocol"), 3);
    /* 3 good streams x 9 gaps of ~10 ms; the cut ones' 100 ms gaps stay out */
    assert_int_equal((int)jnum(doc, "results.latency.itl.count"), 27);
    /* p90, not the max: one delayed gap of a loaded machine is not the fault; the cut
     * streams' 100 ms gaps would be half of them */
    assert_true(jnum(doc, "results.latency.itl.p90_ms") < 60);
    assert_int_equal((int)jnum(doc, "results.latency.chunk_gap.count"), 27);
    assert_int_equal((int)jnum(doc, "results.latency.ttft.count"), 3);
    assert_int_equal((int)jnum(doc, "results.latency.tpot.count"), 3);
    assert_int_equal((int)jnum(doc, "results.latency.e2e.count"), 3);
    assert_int_equal((int)jnum(doc, "results.requests.output_chunks"), 30);
    assert_int_equal((int)jnum(doc, "results.requests.completion_tokens"), 30);
    /* the one receipt count of every outcome: 30 by usage + 30 chunks of the cut streams */
    assert_int_equal((int)jnum(doc, "results.requests.stream_tokens"), 60);
    cJSON_Delete(doc);
    free(text);
}

/* ---- item 9: no usage from the server ----------------------------------------------------- */

static void assert_no_bare_zero(const char *text)
{
    /* never "completion tokens 0" nor "0.000 tok/s" */
    const char *line = strstr(text, "\ncompletion tokens ");
    assert_non_null(line);
    line += strlen("\ncompletion tokens ");
    line += strspn(line, " ");
    assert_true(*line != '0');
    assert_null(strstr(text, " 0.000 tok/s"));
}

static void test_tokens_no_usage(void **state)
{
    char *text = NULL;
    cJSON *doc = run(*state, &nousage, pick_one, 3, 3, NULL, true, &text);
    assert_int_equal((int)jnum(doc, "results.requests.succeeded"), 3);
    assert_int_equal((int)jnum(doc, "results.requests.completion_tokens"), 9);
    assert_true(jnum(doc, "results.requests.completion_tokens_per_s") > 0);
    assert_string_equal(jstr(doc, "results.requests.tokens_source"), "chunks");
    assert_non_null(strstr(jstr(doc, "results.requests.tokens_note"),
                           "no usage from server; tokens counted from chunks"));
    assert_true(cJSON_IsNull(jget(doc, "results.requests.prompt_tokens")));
    assert_int_equal((int)jnum(doc, "results.requests.usage_missing"), 3);
    assert_int_equal((int)jnum(doc, "results.latency.tpot.count"), 3); /* 3 tokens, counted */
    assert_non_null(strstr(text, "no usage from server; tokens counted from chunks"));
    assert_non_null(strstr(text, "(counted from chunks)"));
    assert_no_bare_zero(text);
    cJSON_Delete(doc);
    free(text);

    /* Not streamed and no usage: the tokens are not known, and the report says so. */
    doc = run(*state, &plain, pick_one, 2, 2, NULL, false, &text);
    assert_int_equal((int)jnum(doc, "results.requests.succeeded"), 2);
    assert_true(cJSON_IsNull(jget(doc, "results.requests.completion_tokens")));
    assert_true(cJSON_IsNull(jget(doc, "results.requests.completion_tokens_per_s")));
    assert_true(cJSON_IsNull(jget(doc, "results.requests.tokens_source")));
    assert_int_equal((int)jnum(doc, "results.requests.tokens_uncounted"), 2);
    assert_non_null(strstr(text, "no usage from server; tokens not counted"));
    assert_no_bare_zero(text);
    cJSON_Delete(doc);
    free(text);
}

/* ab and batch print per-answer tokens: "-" / null without usage, and a line saying why. */
static void test_tokens_no_usage_ab_batch(void **state)
{
    struct ss_server *srv = NULL;
    char *text = NULL, json[128], in[128], out[128];
    assert_int_equal(ss_start(pick_one, (void *)&plain, &srv), 0);
    snprintf(json, sizeof(json), "%s/ab.json", g_dir);
    const char *ab[] = {"ab",   "--models", "a,b", "--url",     ss_url(srv), "--backend",
                        *state, "--json",   json,  "--retries", "0",         NULL};
    assert_int_equal(llmload(ab, &text), 0);
    assert_non_null(strstr(text, "no usage from server for 2 of 2 answers"));
    cJSON *doc = read_json(json);
    const cJSON *row0 = cJSON_GetArrayItem(jget(doc, "rows"), 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(row0, "completion_tokens")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(row0, "tokens_per_s")));
    cJSON_Delete(doc);
    free(text);

    snprintf(in, sizeof(in), "%s/in.jsonl", g_dir);
    snprintf(out, sizeof(out), "%s/out.jsonl", g_dir);
    FILE *f = fopen(in, "w");
    assert_non_null(f);
    fputs("{\"id\":1,\"prompt\":\"hi\"}\n{\"id\":2,\"prompt\":\"ho\"}\n", f);
    fclose(f);
    unlink(out);
    const char *batch[] = {"batch", "--in",      in,          "--out", out,
                           "--url", ss_url(srv), "--backend", *state,  NULL};
    assert_int_equal(llmload(batch, &text), 0);
    assert_non_null(strstr(text, "tokens - (no usage from server)"));
    free(text);
    f = fopen(out, "r");
    assert_non_null(f);
    char line[1024];
    int lines = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        cJSON *o = cJSON_Parse(line);
        assert_non_null(o);
        assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "ok")));
        assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "usage")));
        cJSON_Delete(o);
        lines++;
    }
    fclose(f);
    assert_int_equal(lines, 2);
    ss_stop(srv);
}

/* ---- unit: the per-token split, on synthetic results -------------------------------------- */

#define MS LL_NS_PER_MS
#define T0 (1000 * LL_NS_PER_S)

static struct ll_result stream_result(struct ll_chunk *c, const int64_t *ms, size_t n,
                                      int64_t end_ms)
{
    struct ll_result r;
    memset(&r, 0, sizeof(r));
    r.attempts = 1;
    r.t_intended = r.t_queued = r.t_dispatch = T0;
    r.t_end = T0 + end_ms * MS;
    r.prompt_tokens = r.completion_tokens = r.total_tokens = r.reasoning_tokens = -1;
    for (size_t i = 0; i < n; i++) {
        c[i] = (struct ll_chunk){.t = T0 + ms[i] * MS, .usage_tokens = -1, .out = LL_OUT_CONTENT};
    }
    r.chunk = c;
    r.n_chunks = n;
    r.t_first_token = c[0].t;
    return r;
}

static void fold(struct ll_stats *s, const struct ll_result *r)
{
    ll_stats_note_submit(s, r->t_queued, 0);
    ll_stats_add_result(s, r, r->t_end);
}

/* The server's running count on every chunk (vLLM continuous_usage_stats) gives each chunk its
 * own tokens: 1, 2, 4, 8 after 40 ms gaps -> per-token gaps of 20 (x2), 10 (x4), 5 (x8). */
static void test_tokens_split_by_running_usage(void **state)
{
    struct ll_stats s;
    struct ll_chunk c[4];
    struct ll_result r = stream_result(c, (const int64_t[]){20, 60, 100, 140}, 4, 150);
    const int32_t running[4] = {1, 3, 7, 15};
    for (int i = 0; i < 4; i++) {
        c[i].usage_tokens = running[i];
    }
    r.prompt_tokens = 2;
    r.completion_tokens = 15;
    assert_int_equal(ll_stats_init(&s, &(struct ll_slo){.itl_ms = 15}), 0);
    fold(&s, &r);
    const struct ll_hist *itl = s.hist[LL_H_ITL];
    assert_int_equal(itl->n, 14);
    assert_int_equal(itl->max, 20 * MS);
    assert_int_equal(itl->min, 5 * MS);
    assert_int_equal(s.slo_miss_itl, 1); /* its largest per-token gap is 20 ms */
    assert_int_equal(s.hist[LL_H_CHUNK_GAP]->n, 3);
    assert_int_equal(s.hist[LL_H_TPOT]->max, (150 - 20) * MS / 14);
    ll_stats_free(&s);

    /* A count that goes back is not a running count: the total is spread evenly instead
     * (15 over 4 chunks: 3, 4, 4, 4 -> 10 ms per token after each 40 ms gap). */
    c[2].usage_tokens = 2;
    assert_int_equal(ll_stats_init(&s, NULL), 0);
    fold(&s, &r);
    assert_int_equal(s.hist[LL_H_ITL]->n, 12);
    assert_int_equal(s.hist[LL_H_ITL]->max, 10 * MS);
    ll_stats_free(&s);
}

/* Fewer tokens than chunks: a chunk given no token merges its gap into the next one's. Reasoning
 * chunks' tokens are counted when usage has no reasoning details; a failure counts nothing. */
static void test_tokens_split_edges(void **state)
{
    struct ll_stats s;
    struct ll_chunk c[4];
    struct ll_result r = stream_result(c, (const int64_t[]){10, 20, 30, 40}, 4, 50);
    r.prompt_tokens = 1;
    r.completion_tokens = 2; /* chunks get 0, 1, 0, 1 */
    c[0].out = c[1].out = LL_OUT_REASONING;
    assert_int_equal(ll_stats_init(&s, NULL), 0);
    fold(&s, &r);
    assert_int_equal(s.hist[LL_H_ITL]->n, 2); /* 10 ms (chunk 1), then 20 ms (2 and 3) */
    assert_int_equal(s.hist[LL_H_ITL]->min, 10 * MS);
    assert_int_equal(s.hist[LL_H_ITL]->max, 20 * MS);
    assert_int_equal(s.hist[LL_H_CHUNK_GAP]->n, 3);
    assert_int_equal(s.reasoning_tokens, 1);
    assert_int_equal(s.reasoning_chunked, 1);
    assert_int_equal(s.hist[LL_H_TPOT]->max, 40 * MS); /* (50 - 10) / (2 - 1) */

    struct ll_result failed = stream_result(c, (const int64_t[]){10, 20, 30, 40}, 4, 50);
    failed.cls = LL_CLASS_PROTOCOL;
    fold(&s, &failed);
    assert_int_equal(s.hist[LL_H_ITL]->n, 2);
    assert_int_equal(s.hist[LL_H_TTFT]->n, 1);
    assert_int_equal(s.output_chunks, 4);
    assert_int_equal(s.hist[LL_H_QUEUE_WAIT]->n, 1);
    ll_stats_free(&s);
}

/* --slo tpot=MS parses beside the others; a key it does not know is still refused. */
static void test_tokens_slo_tpot(void **state)
{
    struct ll_slo slo;
    assert_int_equal(ll_slo_parse("itl=20,tpot=8.5,ttft=100", &slo), 0);
    assert_int_equal(slo.tpot_ms, 9);
    assert_int_equal(slo.itl_ms, 20);
    assert_int_equal(slo.ttft_ms, 100);
    assert_true(ll_slo_is_set(&(struct ll_slo){.tpot_ms = 1}));
    assert_int_equal(ll_slo_parse("tpot=0", &slo), LL_EINVAL);
    assert_int_equal(ll_slo_parse("tpots=5", &slo), LL_EINVAL);
}

/* ---- groups ------------------------------------------------------------------------------- */

static int setup_dir(void **state)
{
    snprintf(g_dir, sizeof(g_dir), "/tmp/ll_test_tokens.XXXXXX");
    return mkdtemp(g_dir) != NULL ? 0 : -1;
}

static int remove_dir(void **state)
{
    const char *files[] = {"out.txt", "run.json", "ab.json", "in.jsonl", "out.jsonl"};
    char p[128];
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", g_dir, files[i]);
        unlink(p);
    }
    return rmdir(g_dir) == 0 ? 0 : -1;
}

#define BACKEND_TESTS(be)                                                                          \
    {                                                                                              \
        cmocka_unit_test_prestate(test_tokens_ttft_any_channel, be),                               \
            cmocka_unit_test_prestate(test_tokens_ttft_capped_in_reasoning, be),                   \
            cmocka_unit_test_prestate(test_tokens_chunk_of_four, be),                              \
            cmocka_unit_test_prestate(test_tokens_failed_streams_excluded, be),                    \
            cmocka_unit_test_prestate(test_tokens_no_usage, be),                                   \
            cmocka_unit_test_prestate(test_tokens_no_usage_ab_batch, be),                          \
    }

int main(void)
{
    const struct CMUnitTest unit[] = {
        cmocka_unit_test(test_tokens_split_by_running_usage),
        cmocka_unit_test(test_tokens_split_edges),
        cmocka_unit_test(test_tokens_slo_tpot),
    };
    const struct CMUnitTest threaded[] = BACKEND_TESTS("threaded");
    const struct CMUnitTest evented[] = BACKEND_TESTS("evented");
    int failed = cmocka_run_group_tests_name("unit", unit, NULL, NULL);
    failed += cmocka_run_group_tests_name("threaded", threaded, setup_dir, remove_dir);
    failed += cmocka_run_group_tests_name("evented", evented, setup_dir, remove_dir);
    return failed;
}
