/* ll_run_opts.c - `llmload run`'s flags: defaults, the flag table, --help, the checks that
 * need more than one flag, and the endpoint they name (ll_run_int.h). */
#include "ll_run_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ll_run__defaults(struct run *r)
{
    memset(r, 0, sizeof(*r));
    ll_config_defaults(&r->cfg);
    r->model = r->cfg.default_model;
    r->prompt = "Write a haiku about load testing.";
    r->arrivals = "constant";
    r->requests = 100;
    r->concurrency = r->cfg.concurrency;
    r->retries = r->cfg.retry.max_attempts - 1;
    r->timeout_s = (double)r->cfg.timeout_ms / 1000.0;
    r->connect_timeout_s = (double)r->cfg.connect_timeout_ms / 1000.0;
    r->seed = (int64_t)r->cfg.seed;
    r->grace_s = 30;
    ll_retryopts_defaults(&r->retry, &r->cfg);
    r->mock.pid = -1;
    ll_netopts_defaults(&r->net, &r->cfg);
    r->json.fd = -1;
    r->th.aborted_by = -1;
    ll_wl_flags_defaults(&r->wl);
}

#define OPT(n, k, d, lo, hi, a, h)                                                                 \
    {                                                                                              \
        n, k, d, lo, hi, a, h, NULL, NULL, 0                                                       \
    }
#define OPTD(n, k, d, lo, hi, a, h, def)                                                           \
    {                                                                                              \
        n, k, d, lo, hi, a, h, def, NULL, 0                                                        \
    }
#define OPTS(n, k, d, lo, hi, a, h, seen)                                                          \
    {                                                                                              \
        n, k, d, lo, hi, a, h, NULL, seen, 0                                                       \
    }

/* One table for parsing and --help. Call after ll_run__defaults() so that help shows defaults. */
void ll_run__table(struct run *r, struct ll_opt *t, size_t cap)
{
    const struct ll_opt tab[] = {
        OPTD("backend", LL_OPT_STR, &r->backend, 0, 0, "NAME",
             "client backend: threaded or evented (required)", "none"),
        {"requests", LL_OPT_INT, &r->requests, 1, 1e12, "N",
         "requests to send (with --duration: at most N, whichever ends first)",
         "100; no limit with --duration", &r->requests_seen, 'n'},
        {"concurrency", LL_OPT_INT, &r->concurrency, 1, 1e6, "C",
         "closed loop: requests kept in flight; with --rate: the in-flight limit (never more "
         "than --requests)",
         "10; 100 with --rate", &r->concurrency_seen, 'c'},
        {"duration", LL_OPT_SECONDS, &r->duration_s, 1e-3, 1e7, "T",
         "send for this long (30, 30s, 2m, 500ms), then collect what is out", "none",
         &r->duration_seen, 'd'},
        OPTD("graceful-stop", LL_OPT_SECONDS, &r->grace_s, 0, 1e7, "T",
             "with --duration: nothing new is sent after T's end (requests still queued for a "
             "slot are withdrawn, counted as not sent); those in flight may finish, retries "
             "included, for this long, then they are cancelled (k6's gracefulStop)",
             "30s"),
        OPTD("warmup", LL_OPT_STR, &r->warmup, 0, 0, "N|T",
             "warm up first with N requests or for a duration T (10s), same client and load; "
             "excluded from every figure",
             "none"),
        {"lookahead", LL_OPT_INT, &r->lookahead, 0, 1e6, "N",
         "closed loop: requests queued beyond the C in flight, so a freed slot starts the next at "
         "once as a wrk connection does (0: exactly C submitted; wire concurrency is C either way)",
         "min(C, 64)", &r->lookahead_seen, 0},
        OPTD("rate", LL_OPT_DOUBLE, &r->rate, 1e-3, 1e7, "R",
             "open loop: requests per second, latency from each intended start", "closed loop"),
        OPT("arrivals", LL_OPT_STR, &r->arrivals, 0, 0, "KIND",
            "open-loop arrivals: constant, poisson or gamma (--burstiness; seeded by --seed)"),
        OPT("model", LL_OPT_STR, &r->model, 0, 0, "M", "model name sent with every request"),
        OPTS("prompt", LL_OPT_STR, &r->prompt, 0, 0, "TEXT", "the user message", &r->prompt_seen),
        OPT("stream", LL_OPT_BOOL, &r->stream, 0, 0, NULL,
            "stream with SSE; records TTFT, TPOT, per-token ITL and chunk gaps"),
        OPTD("max-tokens", LL_OPT_INT, &r->max_tokens, 1, 1e7, "N", "max_tokens per request",
             "not sent"),
        OPTS("retries", LL_OPT_INT, &r->retries, 0, 100, "K",
             "retries after the first attempt (429, 5xx, timeouts, connection errors)",
             &r->retries_seen),
        OPT("timeout", LL_OPT_DOUBLE, &r->timeout_s, 0, 86400, "S",
            "total timeout per attempt in seconds (applied in whole ms), 0 = none "
            "(--ttfb-timeout and --idle-timeout catch a stalled answer without cutting a long, "
            "live stream)"),
        OPT("connect-timeout", LL_OPT_DOUBLE, &r->connect_timeout_s, 0, 3600, "S",
            "connect timeout per attempt in seconds (whole ms), 0 = curl's"),
        OPT("no-reuse", LL_OPT_BOOL, &r->no_reuse, 0, 0, NULL,
            "open a new connection for every request"),
        OPT("blocking", LL_OPT_BOOL, &r->blocking, 0, 0, NULL,
            "the seed's pitfall: a blocking call inside the event loop (backends that can)"),
        OPTD("stack-size", LL_OPT_INT, &r->stack_size, 16384, 1 << 30, "BYTES",
             "thread stack size (backends with threads)", "system default"),
        OPTD("slo", LL_OPT_STR, &r->slo_spec, 0, 0, "ttft=MS,itl=MS,tpot=MS,e2e=MS",
             "goodput bounds; itl: each request's largest per-token gap, tpot: its mean time "
             "per token after the first (itl and tpot need --stream)",
             "none"),
        OPTD("url", LL_OPT_LIST, &r->urls, 0, 0, "URL",
             "OpenAI-compatible base URL, e.g. https://api.openai.com/v1; repeatable: the "
             "in-flight slots are spread over them, slot i on URL i mod n, each keeping its "
             "connection (e.g. one mock on several 127.0.0.x, to spread ports); with fewer slots "
             "than URLs, requests rotate",
             "the embedded mockllm"),
        OPT("url-from-env", LL_OPT_BOOL, &r->url_from_env, 0, 0, NULL,
            "send the load to $OPENAI_BASE_URL (without this or --url the load goes to the "
            "embedded mock, whatever the environment says: no paid endpoint by accident)"),
        OPTD("header", LL_OPT_LIST, &r->headers, 0, 0, "'Name: value'",
             "extra request header, repeatable", "none"),
        OPTD("window", LL_OPT_STR, &r->window_spec, 0, 0, "FROM[:TO]",
             "steady-state figures over this window after the start (TO: the end of "
             "--duration): mean in flight on the wire, CPU per request and per token, RSS per "
             "request in flight, threads, descriptors, and the latency and failures of the "
             "requests started in it",
             "none"),
        OPTD("server-pid", LL_OPT_INT, &r->server_pid, 1, 4194304, "PID",
             "with --window: sample this process too (CPU, RSS, threads, descriptors and its "
             "RLIMIT_NOFILE), e.g. the server under test on this machine",
             "the embedded mock"),
        OPTD("json", LL_OPT_STR, &r->json_path, 0, 0, "FILE",
             "write every figure and the configuration as JSON; - = stdout, the JSON alone "
             "(the text report then goes to stderr)",
             "none"),
        OPT("quiet", LL_OPT_BOOL, &r->quiet, 0, 0, NULL,
            "print no text report (errors and warnings still go to stderr)"),
        OPTS("seed", LL_OPT_INT, &r->seed, 0, 9e18, "N",
             "seed for retry jitter, arrivals, workload draws and the embedded mock",
             &r->seed_seen),
        OPT("insecure", LL_OPT_BOOL, &r->insecure, 0, 0, NULL,
            "do not verify HTTPS certificates (never the default; the header says so)"),
        OPT("tls", LL_OPT_BOOL, &r->tls, 0, 0, NULL,
            "the embedded mock serves HTTPS (mockllm --tls); the CA it made is trusted"),
        OPT("no-preflight", LL_OPT_BOOL, &r->no_preflight, 0, 0, NULL,
            "skip the one-request check of an external endpoint"),
        OPT("no-limit-check", LL_OPT_BOOL, &r->no_limit_check, 0, 0, NULL,
            "start even when the machine's limits (threads, descriptors, memory) cannot give "
            "the concurrency asked; failures are then counted per request"),
        OPTD("threshold", LL_OPT_LIST, &r->thresholds, 0, 0, "EXPR",
             "a condition the run must meet, k6-style, repeatable: 'p99<500ms', "
             "'ttft.p50<=200ms', 'error_rate<1%', 'throughput>=100' (see THRESHOLDS below); "
             "a failed one exits 3",
             "none"),
        {"max-error-rate", LL_OPT_DOUBLE, &r->max_error_rate, 0, 1, "R",
         "shorthand for --threshold 'error_rate<=R' (R a fraction, e.g. 0.01)", "none",
         &r->max_error_seen, 0},
        OPTD("segment", LL_OPT_STR, &r->agent.segment_spec, 0, 0, "I/N",
             "run segment I of a workload split over N agents: the requests, concurrency and "
             "open-loop arrivals it owns; merge the agents' --json with llmload merge",
             "the whole workload"),
        OPTD("start-at", LL_OPT_STR, &r->agent.start_at_spec, 0, 0, "TIME",
             "start the schedule at this wall-clock instant (RFC 3339, e.g. 2026-11-25T14:03:09Z, "
             "or epoch seconds), the same on every agent; a late start is said and recorded",
             "at once"),
        OPT("abort-on-fail", LL_OPT_BOOL, &r->abort_on_fail, 0, 0, NULL,
            "stop the run as soon as a threshold can no longer pass (k6's abortOnFail): no "
            "more sends, outstanding requests cancelled"),
        {"latency-ms", LL_OPT_DOUBLE, &r->latency_ms, 0, 1e9, "MS",
         "embedded mock: fixed latency per request", "mockllm's", &r->latency_seen, 0},
        {"fault-rate", LL_OPT_DOUBLE, &r->fault_rate, 0, 1, "P",
         "embedded mock: share of requests answered 429/500/503", "mockllm's", &r->fault_seen, 0},
        OPTD("mock-arg", LL_OPT_LIST, &r->mock_args, 0, 0, "ARG",
             "embedded mock: pass ARG to mockllm, repeatable (e.g. --mock-arg=--threads=2)",
             "none"),
        {NULL, 0, NULL, 0, 0, NULL, NULL, NULL, NULL, 0},
    };
    size_t n = sizeof(tab) / sizeof(tab[0]) - 1; /* the workload's flags go over the end */
    n = n < cap ? n : cap - 1;
    memcpy(t, tab, n * sizeof(*t));
    ll_wl_flags_table(&r->wl, t + n, cap - n);
    ll_retryopts_append(&r->retry, t, cap);
    ll_netopts_append(&r->net, t, cap);
}

void ll_run__help(struct run *r)
{
    struct ll_opt t[RUN_OPTS_MAX];
    ll_run__table(r, t, RUN_OPTS_MAX);
    printf("usage: llmload run --backend threaded|evented --requests N\n"
           "                   (--concurrency C | --rate R [--arrivals constant|poisson|gamma] |\n"
           "                    --trace FILE) ...\n\n"
           "Runs N chat-completion requests on one backend and prints a summary table.\n\n");
    ll_opts_help(stdout, t);
    printf("\nbackends:\n");
    for (const struct ll_backend *const *b = ll_backend_list(); *b != NULL; b++) {
        printf("  %-10s %s\n", (*b)->name, (*b)->descr);
    }
    printf("\nenvironment:\n"
           "  OPENAI_API_KEY   bearer token sent with every request (never printed)\n"
           "  OPENAI_BASE_URL  endpoint with --url-from-env (never used without it)\n"
           "  LL_MOCKLLM       path of the mockllm binary for the embedded mock\n"
           "\n%s"
           "\nTHRESHOLDS: --threshold 'METRIC OP NUMBER[UNIT]' states what must hold:\n"
           "  METRIC  [HIST.]STAT, HIST one of e2e (the default), corrected, last_attempt,\n"
           "          queue_wait, ttft, itl, ...; STAT pN, p(N), mean, min or max\n"
           "          | error_rate (failed / finished) | throughput (successes per s)\n"
           "          | goodput_share (share that met --slo)\n"
           "  OP      <, <=, > or >=;  UNIT ms (default), s or us for latency; %% for rates\n"
           "  A figure that was not measured fails its threshold.\n"
           "\nexit: 0 ok; 1 the run failed (no request succeeded, accounting, unreachable "
           "endpoint, I/O);\n      2 usage; 3 a threshold failed (the run itself did not); "
           "130/143 interrupted\n",
           ll_retryopts_help);
}

static int usage(const char *msg, const char *arg)
{
    fprintf(stderr, "%s: %s%s%s\n", WHO, msg, arg ? " " : "", arg ? arg : "");
    return LL_EXIT_USAGE;
}

/* --duration without --requests: no count, the time ends the run. */
bool ll_run__unbounded(const struct run *r)
{
    return r->duration_seen && !r->requests_seen && r->wl.trace == NULL; /* a trace ends */
}

/* Checks that need more than one flag. */
int ll_run__validate(struct run *r)
{
    if (r->backend == NULL) {
        return usage("--backend is required (threaded or evented; see --help)", NULL);
    }
    r->be = ll_backend_find(r->backend);
    if (r->be == NULL) {
        return usage("unknown backend (want threaded or evented):", r->backend);
    }
    if (ll_arrivals_parse(r->arrivals, &r->arr) != 0) {
        return usage("--arrivals: want constant, poisson or gamma, got", r->arrivals);
    }
    if (ll_retryopts_apply(&r->retry, WHO, &r->cfg) != 0) {
        return LL_EXIT_USAGE;
    }
    struct ll_wl_run wr = {.who = WHO,
                           .rate = &r->rate,
                           .arr = &r->arr,
                           .arrivals = &r->arrivals,
                           .requests = &r->requests,
                           .requests_seen = r->requests_seen,
                           .requests_unbounded = ll_run__unbounded(r),
                           .max_tokens = r->max_tokens,
                           .prompt_seen = r->prompt_seen,
                           .seed = (uint64_t)r->seed};
    int rc = ll_wl_flags_setup(&r->wl, &wr); /* may set a trace's rate and request count */
    if (rc != 0) {
        return rc;
    }
    if (r->rate <= 0 && strcmp(r->arrivals, "constant") != 0) {
        return usage("--arrivals needs --rate", NULL);
    }
    if (ll_opts_seconds_to_ms(WHO, "timeout", r->timeout_s, &r->timeout_ms) != 0 ||
        ll_opts_seconds_to_ms(WHO, "connect-timeout", r->connect_timeout_s,
                              &r->connect_timeout_ms) != 0) {
        return LL_EXIT_USAGE;
    }
    for (size_t i = 0; i < r->thresholds.n; i++) {
        if (ll_thresh_set_add(&r->th, r->thresholds.v[i], false) != 0) {
            return usage("--threshold: want METRIC OP NUMBER[UNIT], e.g. 'p99<500ms' or "
                         "'error_rate<1%' (see --help), got",
                         r->thresholds.v[i]);
        }
    }
    if (r->max_error_seen) {
        char expr[48];
        snprintf(expr, sizeof(expr), "error_rate<=%.15g", r->max_error_rate);
        if (ll_thresh_set_add(&r->th, expr, false) != 0) {
            return usage("out of memory", NULL);
        }
    }
    if (r->abort_on_fail && r->th.n == 0) {
        return usage("--abort-on-fail needs a --threshold or --max-error-rate", NULL);
    }
    r->th.abort_on_fail = r->abort_on_fail;
    if (r->slo_spec != NULL && ll_slo_parse(r->slo_spec, &r->slo) != 0) {
        return usage("--slo: want ttft=MS,itl=MS,tpot=MS,e2e=MS (any of them, MS > 0), got",
                     r->slo_spec);
    }
    if ((r->slo.itl_ms > 0 || r->slo.tpot_ms > 0) && !r->stream) {
        return usage("--slo: itl and tpot are per-token figures of a stream; they need --stream",
                     NULL);
    }
    for (size_t i = 0; i < r->headers.n; i++) {
        const char *colon = strchr(r->headers.v[i], ':');
        if (colon == NULL || colon == r->headers.v[i] || strchr(r->headers.v[i], '\n')) {
            return usage("--header: want 'Name: value', got", r->headers.v[i]);
        }
    }
    if (ll_netopts_check(&r->net, WHO) != 0) {
        return LL_EXIT_USAGE;
    }
    if (r->blocking && !(r->be->caps & LL_CAP_BLOCKING)) {
        return usage("--blocking is not supported by backend", r->be->name);
    }
    if (r->stack_size > 0 && !(r->be->caps & LL_CAP_STACK_SIZE)) {
        return usage("--stack-size is not supported by backend", r->be->name);
    }
    if (r->rate > 0 && !r->concurrency_seen) {
        r->concurrency = OPEN_LOOP_DEFAULT_LIMIT;
    }
    if (r->rate > 0 && r->lookahead_seen) {
        return usage("--lookahead is for the closed loop", "(drop it, or drop --rate)");
    }
    if (r->warmup != NULL && ll_parse_int(r->warmup, 1, (int64_t)1e12, &r->warmup_requests) != 0 &&
        ll_parse_seconds(r->warmup, 1e-3, 1e7, &r->warmup_s) != 0) {
        return usage("--warmup: want a number of requests (100) or a duration (10s, 500ms), got",
                     r->warmup);
    }
    const char *why = NULL;
    if (r->window_spec != NULL &&
        ll_window_parse(r->window_spec, r->duration_seen ? r->duration_s : 0, &r->win_from_ns,
                        &r->win_to_ns, &why) != 0) {
        fprintf(stderr, "%s: --window '%s': %s\n", WHO, r->window_spec, why);
        return LL_EXIT_USAGE;
    }
    if (r->server_pid > 0 && r->window_spec == NULL) {
        return usage("--server-pid needs --window", NULL);
    }
    /* Sized to the work: no more slots, threads or connections than there are requests. */
    r->concurrency_asked = r->concurrency;
    if (!ll_run__unbounded(r) && r->requests < r->concurrency) {
        r->concurrency = r->requests;
    }
    if (ll_agent_parse(&r->agent, WHO) != 0 ||
        ll_agent_split(&r->agent, WHO, ll_run__unbounded(r), &r->requests, &r->concurrency,
                       &r->concurrency_asked) != 0) {
        return LL_EXIT_USAGE;
    }
    if (ll_netopts_check_backend(&r->net, r->be, r->concurrency, WHO) != 0) {
        return LL_EXIT_USAGE;
    }
    if (!r->lookahead_seen) {
        r->lookahead =
            r->concurrency < LOOKAHEAD_DEFAULT_MAX ? r->concurrency : LOOKAHEAD_DEFAULT_MAX;
    }
    return 0;
}

/* --url, else $OPENAI_BASE_URL with --url-from-env, else the embedded mock (started later):
 * a load goes to an endpoint only when it was named for this run. */
/* A concurrency the machine cannot give is refused before the mock or a thread starts. */
int ll_run__check_limits(const struct run *r)
{
    struct ll_config want;
    ll_config_defaults(&want);
    want.concurrency = (int)r->concurrency;
    want.stack_size = (size_t)r->stack_size;
    want.max_connections = (int)r->net.max_connections; /* fewer descriptors under a cap */
    return ll_limits_check(WHO, r->be, &want);
}

/* --url, else $OPENAI_BASE_URL, else the embedded mock (started later). */
int ll_run__endpoint(struct run *r)
{
    const char *env = getenv("OPENAI_BASE_URL");
    bool mock_flags = r->latency_seen || r->fault_seen || r->mock_args.n > 0 || r->tls;
    if (r->url_from_env && r->urls.n > 0) {
        return usage("--url-from-env and --url name two endpoints: give one of them", NULL);
    }
    if (r->urls.n > 0) {
        r->url = r->urls.v[0];
        r->url_source = "--url";
    } else if (r->url_from_env) {
        if (env == NULL || *env == '\0') {
            return usage("--url-from-env: OPENAI_BASE_URL is not set", NULL);
        }
        r->url = env;
        r->url_source = "OPENAI_BASE_URL, --url-from-env";
    } else {
        r->url_source = "embedded mockllm";
        return 0;
    }
    for (size_t i = 0; i < (r->urls.n > 0 ? r->urls.n : 1); i++) {
        const char *u = r->urls.n > 0 ? r->urls.v[i] : r->url;
        if (ll_netopts_check_url(WHO, r->urls.n > 0 ? "--url" : "OPENAI_BASE_URL", u) != 0) {
            return LL_EXIT_USAGE;
        }
    }
    if (mock_flags) {
        return usage("--latency-ms, --fault-rate, --mock-arg and --tls need the embedded mock "
                     "(an https:// endpoint needs no flag), but the endpoint comes from",
                     r->url_source);
    }
    r->base_url = r->url;
    return 0;
}

void ll_run__free(struct run *r)
{
    ll_strv_free(&r->headers);
    ll_strv_free(&r->mock_args);
    ll_strv_free(&r->urls);
    ll_strv_free(&r->thresholds);
    ll_thresh_set_free(&r->th);
    ll_wl_flags_free(&r->wl);
}
