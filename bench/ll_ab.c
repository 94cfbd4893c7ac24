/* ll_ab.c - `llmload ab`: the seed's A/B test. One prompt to several models at once over one
 * shared client; a side-by-side table of latency, tokens per second, finish reason and answer.
 * With no --url (and no $OPENAI_BASE_URL) it starts mockllm with a distinct profile per model
 * (time to first token, time per token, answer length) so that the models differ. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_client.h"
#include "ll_cmd.h"
#include "ll_endpoint.h"
#include "ll_opts.h"
#include "ll_report.h"

#define WHO        "llmload ab"
#define AB_MAX     16
#define ANSWER_COL 48

struct ab {
    const char *models, *prompt, *url, *json_path, *backend;
    int64_t max_tokens, retries;
    char *names[AB_MAX];
    size_t n;
    char prof[AB_MAX][160];
};

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

/* The mock's arguments: one --profile per model, each a little slower and longer. */
static void mock_args(struct ab *a, const char **args)
{
    for (size_t i = 0; i < a->n; i++) {
        snprintf(a->prof[i], sizeof(a->prof[i]),
                 "--profile=name=%s,ttft=uniform:%zu,%zu,itl=%zu,tokens=%zu", a->names[i],
                 80 + 120 * i, 120 + 120 * i, 8 + 6 * i, 24 + 16 * i);
        args[i] = a->prof[i];
    }
    args[a->n] = NULL;
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
 * token included); both are "-" (null in JSON) when the server sent no usage. Returns whether
 * the row's tokens are known. */
static bool row(cJSON *rows, const char *model, const struct ll_result *r)
{
    double lat = (double)(r->t_end - r->t_dispatch) / 1e9;
    bool known = r->cls == LL_CLASS_NONE && r->completion_tokens >= 0 && lat > 0;
    double tps = known ? r->completion_tokens / lat : 0;
    char ans[ANSWER_COL + 1], tps_s[16] = "-", tok_s[16] = "-";
    one_line(r->cls == LL_CLASS_NONE ? r->content : r->errmsg, ans, sizeof(ans));
    if (known) {
        snprintf(tps_s, sizeof(tps_s), "%.1f", tps);
        snprintf(tok_s, sizeof(tok_s), "%d", r->completion_tokens);
    }
    printf("%-16s %9.1f ms %8s %7s  %-9s %s\n", model, lat * 1e3, tps_s, tok_s,
           r->cls == LL_CLASS_NONE ? r->finish_reason : ll_class_name(r->cls), ans);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToArray(rows, o);
    cJSON_AddStringToObject(o, "model", model);
    cJSON_AddStringToObject(o, "class", ll_class_name(r->cls));
    cJSON_AddNumberToObject(o, "status", r->status);
    cJSON_AddNumberToObject(o, "latency_s", lat);
    cJSON_AddItemToObject(o, "tokens_per_s", known ? cJSON_CreateNumber(tps) : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "completion_tokens",
                          known ? cJSON_CreateNumber(r->completion_tokens) : cJSON_CreateNull());
    cJSON_AddStringToObject(o, "finish_reason", r->finish_reason);
    cJSON_AddStringToObject(o, "answer", r->content != NULL ? r->content : "");
    return known || r->cls != LL_CLASS_NONE;
}

/* Submit one request per model, gather them (collect: one failure loses nothing), print. */
static int ab_run(struct ab *a, struct ll_client *c, cJSON *doc)
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
        no_usage += row(rows, a->names[i], &calls[i]->res) ? 0 : 1;
        ll_call_free(calls[i]);
    }
    if (no_usage > 0) {
        printf("\nno usage from server for %zu of %zu answers: their tokens and tok/s are not "
               "known\n",
               no_usage, a->n);
    }
    return failed > 0 ? LL_EXIT_FAIL : LL_EXIT_OK;
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
    mock_args(a, args);
    if (ll_endpoint_open(&ep, WHO, a->url, true, args) != 0) {
        return LL_EXIT_FAIL;
    }
    ll_endpoint_config(&ep, &cfg, (int)a->n); /* every model at once */
    cfg.retry.max_attempts = (int)a->retries + 1;
    cJSON *doc = cJSON_CreateObject();
    int rc = LL_EXIT_FAIL;
    printf("%s: %zu models at once on %s (%s)\nprompt: %s\n\n", WHO, a->n, ep.base_url, ep.source,
           a->prompt);
    if (ll_client_create(be, &cfg, &c) == 0) {
        rc = ab_run(a, c, doc);
        ll_client_destroy(c);
    }
    if (a->json_path != NULL && ll_report_write_json(doc, a->json_path) != 0) {
        fprintf(stderr, "%s: cannot write %s\n", WHO, a->json_path);
        rc = LL_EXIT_FAIL;
    }
    cJSON_Delete(doc);
    ll_endpoint_close(&ep);
    return rc;
}

int ll_cmd_ab(int argc, char **argv)
{
    struct ab a = {.prompt = "In one sentence: why share one HTTP client?",
                   .backend = "evented",
                   .retries = 2};
    bool help;
    const struct ll_opt opts[] = {
        {"models", LL_OPT_STR, &a.models, 0, 0, "a,b,c", "models to compare", "required", NULL},
        {"prompt", LL_OPT_STR, &a.prompt, 0, 0, "TEXT", "the one prompt", NULL, NULL},
        {"max-tokens", LL_OPT_INT, &a.max_tokens, 1, 1e7, "N", "max_tokens", "not sent", NULL},
        {"retries", LL_OPT_INT, &a.retries, 0, 100, "K", "retries per request", NULL, NULL},
        {"backend", LL_OPT_STR, &a.backend, 0, 0, "NAME", "threaded or evented", NULL, NULL},
        {"url", LL_OPT_STR, &a.url, 0, 0, "URL", "OpenAI-compatible base URL",
         "$OPENAI_BASE_URL, else the embedded mockllm", NULL},
        {"json", LL_OPT_STR, &a.json_path, 0, 0, "FILE", "write the table as JSON", "none", NULL},
        {NULL, 0, NULL, 0, 0, NULL, NULL, NULL, NULL},
    };
    if (ll_opts_parse(WHO, opts, argc, argv, &help) != 0) {
        return LL_EXIT_USAGE;
    }
    if (help) {
        printf("usage: llmload ab --models a,b,c --prompt TEXT [flags]\n\n");
        ll_opts_help(stdout, opts);
        return LL_EXIT_OK;
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
