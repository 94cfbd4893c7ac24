/* ll_demo_retry.c - the seed's retry with exponential backoff (1 s, 2 s, 4 s ...): scripted
 * failures from mockllm (x-mock-key + x-mock-fail-first: the first N attempts of that key
 * fail), retried when they are 429 or 5xx, honouring Retry-After; 400 and 401 are final at once.
 * Each request's timeline: attempt, when it started, its status, and the wait that followed. */
#include <stdio.h>
#include <string.h>

#include "ll_clock.h"
#include "ll_demo.h"

#define RETRY_MAX_ATTEMPTS 4
#define RETRY_BASE_MS      1000.0

struct retry_case {
    const char *name;
    int fail_first;          /* scripted failures before success (0: use status) */
    const char *fail_status; /* statuses of those failures, in turn, the last repeating */
    int status;              /* x-mock-status for every attempt (0: none) */
    int expect;              /* attempts the policy should make */
};

static const struct retry_case cases[] = {
    {"429,503,500,ok", 3, "429,503,500", 0, 4},
    {"429+Retry-After", 2, "429", 0, 3},
    {"503 once", 1, "503", 0, 2},
    {"500 twice", 2, "500", 0, 3},
    {"500 always", 1000, "500", 0, RETRY_MAX_ATTEMPTS},
    {"400", 0, NULL, 400, 1},
    {"401", 0, NULL, 401, 1},
};
#define N_CASES (sizeof(cases) / sizeof(cases[0]))

static int submit_case(struct ll_client *c, const struct ll_backend *be, size_t i,
                       struct ll_call **out)
{
    char h[4][80];
    const char *hdrs[4] = {h[0], h[1], h[2], h[3]};
    struct ll_message msg = {"user", "Translate 'retry' into French."};
    struct ll_request req = {.messages = &msg, .n_messages = 1, .headers = hdrs};
    const struct retry_case *k = &cases[i];
    if (k->fail_first > 0) {
        /* The script counts attempts per key for the mock's lifetime: one key per run. */
        snprintf(h[0], sizeof(h[0]), "x-mock-key: retry-%s-%zu-%lld", be->name, i,
                 (long long)ll_now_ns());
        snprintf(h[1], sizeof(h[1]), "x-mock-fail-first: %d", k->fail_first);
        snprintf(h[2], sizeof(h[2]), "x-mock-fail-status: %s", k->fail_status);
        snprintf(h[3], sizeof(h[3]), "x-mock-retry-after: 1");
        req.n_headers = 4;
    } else {
        snprintf(h[0], sizeof(h[0]), "x-mock-status: %d", k->status);
        req.n_headers = 1;
    }
    return ll_client_submit(c, &req, out);
}

/* Print and record one request's attempts. Returns whether it made the expected number. */
static bool timeline(struct ll_demo *d, const struct ll_backend *be, size_t i,
                     const struct ll_result *r)
{
    char at[32], wt[32];
    cJSON *row = ll_demo_row(d, be->name, cases[i].name, NULL);
    cJSON *arr = cJSON_AddArrayToObject(row, "timeline");
    cJSON_AddNumberToObject(row, "attempts", r->attempts);
    cJSON_AddNumberToObject(row, "expected_attempts", cases[i].expect);
    cJSON_AddStringToObject(row, "class", ll_class_name(r->cls));
    cJSON_AddNumberToObject(row, "status", r->status);
    printf("  %-9s %-16s %d attempt%s, final %s (%d)\n", be->name, cases[i].name, r->attempts,
           r->attempts == 1 ? "" : "s", ll_class_name(r->cls), r->status);
    int64_t t0 = r->attempt[0].t_start;
    for (int a = 0; a < r->attempts && a < LL_ATTEMPTS_KEPT; a++) {
        const struct ll_attempt *x = &r->attempt[a];
        printf("      attempt %d  at +%-9s status %-3d %-8s then wait %s\n", a + 1,
               ll_demo_fmt_s(at, sizeof(at), (double)(x->t_start - t0) / 1e9), x->status,
               ll_class_name(x->cls), ll_demo_fmt_s(wt, sizeof(wt), (double)x->wait_ns / 1e9));
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "attempt", a + 1);
        cJSON_AddNumberToObject(o, "start_s", (double)(x->t_start - t0) / 1e9);
        cJSON_AddNumberToObject(o, "status", x->status);
        cJSON_AddNumberToObject(o, "wait_s", (double)x->wait_ns / 1e9);
        cJSON_AddItemToArray(arr, o);
    }
    return r->attempts == cases[i].expect;
}

static void policy(const struct ll_demo *d, struct ll_config *cfg)
{
    cfg->retry.max_attempts = RETRY_MAX_ATTEMPTS;
    cfg->retry.base_ms = (int64_t)ll_demo_ms(d, RETRY_BASE_MS);
    cfg->retry.factor = 2.0;
    cfg->retry.jitter = false; /* a readable timeline; production wants jitter on */
    cfg->retry.honor_retry_after = true;
    /* mockllm's Retry-After is whole seconds; at --scale F it is capped to F s to keep pace. */
    cfg->retry.max_retry_after_ms = (int64_t)ll_demo_ms(d, 1000.0);
}

static int run_backend(struct ll_demo *d, const struct ll_endpoint *ep, const struct ll_backend *be)
{
    struct ll_config cfg;
    struct ll_client *c;
    struct ll_call *calls[N_CASES] = {NULL};
    char key[96];
    ll_endpoint_config(ep, &cfg, (int)N_CASES);
    policy(d, &cfg);
    int err = ll_client_create(be, &cfg, &c);
    for (size_t i = 0; i < N_CASES && err == 0; i++) {
        err = submit_case(c, be, i, &calls[i]);
    }
    int n = err == 0 ? ll_client_gather(c, calls, N_CASES, LL_GATHER_COLLECT) : err;
    if (n < 0) {
        fprintf(stderr, "llmload demo retry: %s: %s\n", be->name, ll_strerror(n));
        ll_client_destroy(c);
        return 1;
    }
    bool all = true;
    for (size_t i = 0; i < N_CASES; i++) {
        all = timeline(d, be, i, &calls[i]->res) && all;
    }
    bool no_retry = true; /* the 4xx cases (400, 401) must stop at their first answer */
    for (size_t i = 0; i < N_CASES; i++) {
        no_retry &= cases[i].status / 100 != 4 || calls[i]->res.attempts == 1;
    }
    snprintf(key, sizeof(key), "%s_attempts_as_expected", be->name);
    ll_demo_claim(d, key, all, "%s: every request made the attempts the policy allows", be->name);
    snprintf(key, sizeof(key), "%s_4xx_not_retried", be->name);
    ll_demo_claim(d, key, no_retry, "%s: 400 and 401 made exactly one attempt", be->name);
    for (size_t i = 0; i < N_CASES; i++) {
        ll_call_free(calls[i]);
    }
    ll_client_destroy(c);
    printf("\n");
    return 0;
}

int ll_demo_retry(struct ll_demo *d)
{
    int rc = ll_demo_each_backend(d, NULL, run_backend);
    printf("429 and 5xx are worth another try: the policy waits base x 2^k (%.0f ms, %.0f ms,\n"
           "%.0f ms; jitter off here so the timeline reads cleanly) or the server's Retry-After\n"
           "when it sends one, for at most %d attempts. 400 and 401 would fail the same way\n"
           "again, so they are final at the first answer.\n",
           ll_demo_ms(d, RETRY_BASE_MS), ll_demo_ms(d, 2 * RETRY_BASE_MS),
           ll_demo_ms(d, 4 * RETRY_BASE_MS), RETRY_MAX_ATTEMPTS);
    return rc;
}
