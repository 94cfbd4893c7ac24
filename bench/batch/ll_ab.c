/* ll_ab.c - `llmload ab`: the seed's A/B test. One prompt to several models at once over one
 * shared client; a side-by-side table of latency, tokens per second, finish reason and answer.
 *
 * With no --url (and no $OPENAI_BASE_URL) it starts mockllm with one --profile per distinct
 * model name, and the profile is a function of the name alone (a hash of it picks the time to
 * first token, the time per token and the answer length): a model has the same latency
 * whatever its place in --models, and `--models fast,fast,fast` asks one model three times. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_client.h"
#include "ll_cmd.h"
#include "ll_endpoint.h"
#include "ll_netopts.h"
#include "ll_opts.h"
#include "ll_retryopts.h"
#include "ll_outfile.h"
#include "ll_report.h"
#include "ll_signal.h"

#define WHO        "llmload ab"
#define AB_MAX     16
#define ANSWER_COL 48

/* The embedded mock's model for one name, fixed values (no draws): ttft + itl x (tokens - 1). */
struct ab_profile {
    int ttft_ms, itl_ms, tokens;
};

struct ab {
    const char *models, *prompt, *url, *json_path, *backend;
    int64_t max_tokens, retries;
    double timeout_s;
    bool quiet;
    struct ll_retryopts retry; /* --retry-base, --retry-cap, --no-retry-jitter */
    char *names[AB_MAX];
    size_t n;
    char prof[AB_MAX][160];
    struct ll_outfile json;
    struct ll_netopts net; /* real-endpoint flags (ll_netopts.h) */
};

#define AB_FLAGS_MAX 24

static struct ab_profile profile_of(const char *name)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const char *p = name; *p; p++) {
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    }
    return (struct ab_profile){.ttft_ms = 60 + (int)(h % 241),
                               .itl_ms = 4 + (int)((h >> 12) % 13),
                               .tokens = 16 + (int)((h >> 24) % 33)};
}

static int split_models(struct ab *a)
{
    char *dup = strdup(a->models), *save = NULL;
    if (dup == NULL) {
        return LL_EXIT_FAIL;
    }
    for (char *t = strtok_r(dup, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
        if (a->n == AB_MAX) {
            fprintf(stderr, "%s: at most %d models\n", WHO, AB_MAX);
            free(dup);
            return LL_EXIT_USAGE;
        }
        a->names[a->n++] = strdup(t);
    }
    free(dup);
    if (a->n == 0) {
        fprintf(stderr, "%s: --models wants a,b,c\n", WHO);
        return LL_EXIT_USAGE;
    }
    return 0;
}

/* The mock's arguments: one --profile per distinct name, each the name's own. */
static void mock_args(struct ab *a, const char **args)
{
    size_t n = 0;
    for (size_t i = 0; i < a->n; i++) {
        bool seen = false;
        for (size_t j = 0; j < i; j++) {
            seen = seen || strcmp(a->names[j], a->names[i]) == 0;
        }
        if (!seen) {
            struct ab_profile p = profile_of(a->names[i]);
            snprintf(a->prof[n], sizeof(a->prof[n]), "--profile=name=%s,ttft=%d,itl=%d,tokens=%d",
                     a->names[i], p.ttft_ms, p.itl_ms, p.tokens);
            args[n] = a->prof[n];
            n++;
        }
    }
    args[n] = NULL;
}

/* Answer on one line, cut to fit. */
static void one_line(const char *s, char *out, size_t len)
{
    size_t j = 0;
    for (; s != NULL && *s && j + 4 < len; s++) {
        out[j++] = (*s == '\n' || *s == '\r' || *s == '\t') ? ' ' : *s;
    }
    if (s != NULL && *s) {
        memcpy(out + j, "...", 3);
        j += 3;
    }
    out[j] = '\0';
}

/* One model's row. tok/s is the answer's completion tokens over its whole latency (first
 * token included). Tokens and tok/s are "-" (null in JSON) for a failed row and when the server
 * sent no usage; latency is "-" for a request that never went out. Returns false for a
 * successful row whose tokens are not known. */
static bool row(cJSON *rows, const char *model, const struct ll_result *r, bool mock)
{
    bool ok = r->cls == LL_CLASS_NONE;
    double lat = r->t_dispatch > 0 ? (double)(r->t_end - r->t_dispatch) / 1e9 : 0.0;
    bool known = ok && r->completion_tokens >= 0 && lat > 0;
    double tps = known ? r->completion_tokens / lat : 0;
    char ans[ANSWER_COL + 1], l[24] = "-", tps_s[16] = "-", tok_s[16] = "-";
    one_line(ok ? r->content : r->errmsg, ans, sizeof(ans));
    if (r->t_dispatch > 0) {
        snprintf(l, sizeof(l), "%.1f ms", lat * 1e3);
    }
    if (known) {
        snprintf(tps_s, sizeof(tps_s), "%.1f", tps);
        snprintf(tok_s, sizeof(tok_s), "%d", r->completion_tokens);
    }
    printf("%-16s %12s %8s %7s  %-9s %s\n", model, l, tps_s, tok_s,
           ok ? r->finish_reason : ll_class_name(r->cls), ans);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToArray(rows, o);
    cJSON_AddStringToObject(o, "model", model);
    cJSON_AddStringToObject(o, "class", ll_class_name(r->cls));
    cJSON_AddNumberToObject(o, "status", r->status);
    cJSON_AddItemToObject(o, "latency_s",
                          r->t_dispatch > 0 ? cJSON_CreateNumber(lat) : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "tokens_per_s", known ? cJSON_CreateNumber(tps) : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "completion_tokens",
                          known ? cJSON_CreateNumber(r->completion_tokens) : cJSON_CreateNull());
    cJSON_AddStringToObject(o, "finish_reason", ok ? r->finish_reason : "");
    cJSON_AddStringToObject(o, "answer", ok && r->content != NULL ? r->content : "");
    if (!ok) {
        cJSON_AddStringToObject(o, "error", r->errmsg);
    }
    if (mock) {
        struct ab_profile p = profile_of(model);
        cJSON *m = cJSON_AddObjectToObject(o, "mock_profile");
        cJSON_AddNumberToObject(m, "ttft_ms", p.ttft_ms);
        cJSON_AddNumberToObject(m, "itl_ms", p.itl_ms);
        cJSON_AddNumberToObject(m, "tokens", p.tokens);
    }
    return known || !ok;
}

/* Submit one request per model, gather them (collect: one failure loses nothing; a stop signal
 * cancels what is out, ll_config.stop), print. */
static int ab_run(struct ab *a, struct ll_client *c, cJSON *doc, bool mock)
{
    struct ll_call *calls[AB_MAX] = {NULL};
    struct ll_message msg = {"user", a->prompt};
    for (size_t i = 0; i < a->n; i++) {
        struct ll_request req = {.model = a->names[i],
                                 .messages = &msg,
                                 .n_messages = 1,
                                 .max_tokens = (int)a->max_tokens};
        int err = ll_client_submit(c, &req, &calls[i]);
        if (err != 0) {
            fprintf(stderr, "%s: %s\n", WHO, ll_strerror(err));
            return LL_EXIT_FAIL;
        }
    }
    int failed = ll_client_gather(c, calls, a->n, LL_GATHER_COLLECT);
    if (failed < 0) {
        fprintf(stderr, "%s: %s\n", WHO, ll_strerror(failed));
        return LL_EXIT_FAIL;
    }
    printf("%-16s %12s %8s %7s  %-9s %s\n", "model", "latency", "tok/s", "tokens", "finish",
           "answer");
    cJSON *rows = cJSON_AddArrayToObject(doc, "rows");
    size_t no_usage = 0;
    for (size_t i = 0; i < a->n; i++) {
        no_usage += row(rows, a->names[i], &calls[i]->res, mock) ? 0 : 1;
        ll_call_free(calls[i]);
    }
    if (no_usage > 0) {
        printf("\nno usage from server for %zu of %zu answers: their tokens and tok/s are not "
               "known\n",
               no_usage, a->n);
    }
    return failed > 0 ? LL_EXIT_FAIL : LL_EXIT_OK;
}

static void print_profiles(const struct ab *a, const char *const *args)
{
    printf("mock profiles, by name:");
    for (size_t i = 0; args[i] != NULL; i++) {
        printf(" %s", args[i] + strlen("--profile=name="));
    }
    printf("\n");
}

static int ab_main(struct ab *a)
{
    struct ll_endpoint ep;
    struct ll_config cfg;
    struct ll_client *c = NULL;
    const char *args[AB_MAX + 1];
    const struct ll_backend *be = ll_backend_find(a->backend);
    if (be == NULL) {
        fprintf(stderr, "%s: unknown backend '%s'\n", WHO, a->backend);
        return LL_EXIT_USAGE;
    }
    if (ll_netopts_check_backend(&a->net, be, (int64_t)a->n, WHO) != 0) {
        return LL_EXIT_USAGE; /* every model at once: a->n in flight */
    }
    /* The output first: a path that cannot be written is one line now, not after the run. */
    if (ll_outfile_open(&a->json, WHO, "--json", a->json_path) != 0 ||
        (a->quiet && ll_outfile_quiet() != 0)) {
        return LL_EXIT_FAIL;
    }
    mock_args(a, args);
    cJSON *doc = cJSON_CreateObject();
    int rc = LL_EXIT_FAIL;
    ll_report_meta_json(doc, "ab");
    int err = ll_endpoint_open(&ep, WHO, a->url, true, args);
    if (err == LL_EINVAL) {
        rc = LL_EXIT_USAGE; /* an endpoint URL that cannot work */
    } else if (err == 0) {
        ll_endpoint_config(&ep, &cfg, (int)a->n); /* every model at once */
        cfg.retry.max_attempts = (int)a->retries + 1;
        ll_retryopts_apply(&a->retry, WHO, &cfg); /* checked in ll_cmd_ab */
        cfg.timeout_ms = (int64_t)(a->timeout_s * 1000.0);
        ll_netopts_apply(&a->net, &cfg);
        printf("%s: %zu models at once on %s (%s)\n", WHO, a->n, ep.base_url, ep.source);
        if (ep.mock) {
            print_profiles(a, args);
        }
        printf("prompt: %s\n\n", a->prompt);
        if (ll_client_create(be, &cfg, &c) == 0) {
            rc = ab_run(a, c, doc, ep.mock);
            ll_client_destroy(c);
        }
        ll_endpoint_close(&ep);
    }
    cJSON_AddBoolToObject(doc, "interrupted", ll_signal_caught() != 0);
    if (ll_signal_caught()) {
        fprintf(stderr, "%s: stopped by %s: what was out was cancelled\n", WHO,
                ll_signal_name(ll_signal_caught()));
    }
    if (a->json_path != NULL && ll_outfile_commit_json(&a->json, WHO, doc) != 0) {
        rc = LL_EXIT_FAIL;
    }
    ll_outfile_abort(&a->json);
    cJSON_Delete(doc);
    return rc;
}

int ll_cmd_ab(int argc, char **argv)
{
    struct ll_config d;
    ll_config_defaults(&d); /* retries and timeout as in run and batch */
    struct ab a = {.prompt = "In one sentence: why share one HTTP client?",
                   .backend = "evented",
                   .retries = d.retry.max_attempts - 1,
                   .timeout_s = (double)d.timeout_ms / 1000.0};
    bool help;
    ll_retryopts_defaults(&a.retry, &d);
    ll_netopts_defaults(&a.net, &d);
    struct ll_opt opts[AB_FLAGS_MAX] = {
        {"models", LL_OPT_STR, &a.models, 0, 0, "a,b,c",
         "models to compare (no default: ab is about the names you give)", "required", NULL, 0},
        {"prompt", LL_OPT_STR, &a.prompt, 0, 0, "TEXT", "the one prompt", NULL, NULL, 0},
        {"max-tokens", LL_OPT_INT, &a.max_tokens, 1, 1e7, "N", "max_tokens", "not sent", NULL, 0},
        {"retries", LL_OPT_INT, &a.retries, 0, 100, "K", "retries per request", NULL, NULL, 0},
        {"timeout", LL_OPT_DOUBLE, &a.timeout_s, 0, 86400, "S",
         "total timeout per attempt in seconds, 0 = none", NULL, NULL, 0},
        {"backend", LL_OPT_STR, &a.backend, 0, 0, "NAME", "threaded or evented", NULL, NULL, 0},
        {"url", LL_OPT_STR, &a.url, 0, 0, "URL", "OpenAI-compatible base URL",
         "$OPENAI_BASE_URL, else the embedded mockllm", NULL, 0},
        {"json", LL_OPT_STR, &a.json_path, 0, 0, "FILE",
         "write the table as JSON; - = stdout, the JSON alone (the table then goes to stderr)",
         "none", NULL, 0},
        {"quiet", LL_OPT_BOOL, &a.quiet, 0, 0, NULL, "print no table", NULL, NULL, 0},
        {NULL, 0, NULL, 0, 0, NULL, NULL, NULL, NULL, 0},
    };
    ll_retryopts_append(&a.retry, opts, AB_FLAGS_MAX);
    ll_netopts_append(&a.net, opts, AB_FLAGS_MAX);
    struct ll_config check = d;
    if (ll_opts_parse(WHO, opts, argc, argv, &help) != 0 || ll_netopts_check(&a.net, WHO) != 0 ||
        (!help && ll_retryopts_apply(&a.retry, WHO, &check) != 0)) {
        return LL_EXIT_USAGE;
    }
    if (help) {
        printf("usage: llmload ab --models a,b,c --prompt TEXT [flags]\n\n"
               "On the embedded mock each distinct model name gets its own fixed latency, a\n"
               "function of the name (the same in any order; the table's header lists them).\n"
               "Retries and timeout default as in run and batch.\n\n");
        ll_opts_help(stdout, opts);
        printf("\n%s", ll_retryopts_help);
        printf("\nexit: 0 every model answered; 1 a model failed (its row says why) or I/O; "
               "2 usage;\n      130/143/129 stopped by SIGINT/SIGTERM/SIGHUP\n");
        return LL_EXIT_OK;
    }
    if (a.url != NULL && ll_netopts_check_url(WHO, "--url", a.url) != 0) {
        return LL_EXIT_USAGE; /* before anything runs */
    }
    if (a.models == NULL) {
        fprintf(stderr, "%s: --models is required (e.g. --models a,b,c)\n", WHO);
        return LL_EXIT_USAGE;
    }
    int rc = split_models(&a);
    if (rc == 0) {
        rc = ab_main(&a);
    }
    for (size_t i = 0; i < a.n; i++) {
        free(a.names[i]);
    }
    return rc;
}
