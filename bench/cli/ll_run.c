/* ll_run.c - `llmload run`: flags, endpoint, client, the load loop, report. */
#include "ll_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ll_agent.h"
#include "ll_client.h"
#include "ll_clock.h"
#include "ll_drive.h"
#include "ll_limits.h"
#include "ll_mockproc.h"
#include "ll_netopts.h"
#include "ll_opts.h"
#include "ll_outfile.h"
#include "ll_proc.h"
#include "ll_report.h"
#include "ll_retryopts.h"
#include "ll_signal.h"
#include "ll_window.h"
#include "ll_thresh.h"
#include "ll_workload_flags.h"

#define WHO                     "llmload run"
#define OPEN_LOOP_DEFAULT_LIMIT 100
#define LOOKAHEAD_DEFAULT_MAX   64 /* enough to hide the driver's turn-around; bounded memory */
#define MOCK_START_TIMEOUT_MS   10000
#define MOCK_STOP_TIMEOUT_MS    5000
#define RUN_OPTS_MAX            80 /* entries of the flag table, its end included */

struct run {
    /* flags */
    const char *backend, *model, *prompt, *arrivals, *slo_spec, *url, *json_path, *warmup;
    const char *window_spec; /* --window FROM[:TO] */
    int64_t server_pid;      /* --server-pid, else the embedded mock's when there is a window */
    int64_t requests, concurrency, lookahead, max_tokens, retries, stack_size, seed;
    int64_t concurrency_asked; /* --concurrency as given; `concurrency` is what the work needs */
    double rate, timeout_s, connect_timeout_s, latency_ms, fault_rate, duration_s, max_error_rate;
    double grace_s;            /* --graceful-stop */
    int64_t warmup_requests;   /* --warmup N */
    double warmup_s;           /* --warmup 30s */
    struct ll_drive_warm warm; /* what --warmup did */
    struct ll_retryopts retry; /* --retry-base, --retry-cap, --no-retry-jitter */
    bool stream, no_reuse, blocking, insecure, no_preflight, quiet, no_limit_check, abort_on_fail;
    bool url_from_env;
    bool concurrency_seen, lookahead_seen, latency_seen, fault_seen, seed_seen, retries_seen;
    bool requests_seen, duration_seen, max_error_seen, prompt_seen;
    struct ll_strv headers, mock_args, urls; /* urls: every --url (ll_xfer.slot) */
    struct ll_netopts net;                   /* real-endpoint flags (ll_netopts.h) */
    struct ll_strv thresholds;               /* every --threshold */
    struct ll_wl_flags wl; /* dataset, lengths, ramp, burstiness, trace (ll_workload_flags.h) */
    struct ll_agent agent; /* --segment, --start-at (ll_agent.h) */

    /* derived */
    const struct ll_backend *be;
    struct ll_slo slo;
    enum ll_arrivals arr;
    const char *url_source; /* "--url", "OPENAI_BASE_URL", "embedded mockllm" */
    struct ll_mockproc mock;
    bool mock_started;
    struct ll_config cfg;
    const char *base_url;
    struct ll_message msg;
    struct ll_request req;
    struct ll_nofile nofile;                /* RLIMIT_NOFILE, raised at start */
    struct ll_outfile json;                 /* --json, opened before anything starts */
    struct ll_thresh_set th;                /* --threshold and --max-error-rate, parsed */
    int64_t timeout_ms, connect_timeout_ms; /* as applied: whole ms */
    int64_t win_from_ns, win_to_ns;
    struct ll_window win; /* when window_spec is set */
    bool win_on;
    struct ll_thread_wall twall; /* why the threads could not start (cfg.thread_wall) */
};

static void run_defaults(struct run *r)
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

/* One table for parsing and --help. Call after run_defaults() so that help shows defaults. */
static void run_table(struct run *r, struct ll_opt *t, size_t cap)
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
            "do not verify HTTPS certificates (never the default)"),
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

static void run_help(struct run *r)
{
    struct ll_opt t[RUN_OPTS_MAX];
    run_table(r, t, RUN_OPTS_MAX);
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
static bool run_unbounded(const struct run *r)
{
    return r->duration_seen && !r->requests_seen && r->wl.trace == NULL; /* a trace ends */
}

/* Checks that need more than one flag. */
static int run_validate(struct run *r)
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
                           .requests_unbounded = run_unbounded(r),
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
    if (!run_unbounded(r) && r->requests < r->concurrency) {
        r->concurrency = r->requests;
    }
    if (ll_agent_parse(&r->agent, WHO) != 0 ||
        ll_agent_split(&r->agent, WHO, run_unbounded(r), &r->requests, &r->concurrency,
                       &r->concurrency_asked) != 0) {
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
static int run_check_limits(const struct run *r)
{
    struct ll_config want;
    ll_config_defaults(&want);
    want.concurrency = (int)r->concurrency;
    want.stack_size = (size_t)r->stack_size;
    return ll_limits_check(WHO, r->be, &want);
}

/* --url, else $OPENAI_BASE_URL, else the embedded mock (started later). */
static int run_endpoint(struct run *r)
{
    const char *env = getenv("OPENAI_BASE_URL");
    bool mock_flags = r->latency_seen || r->fault_seen || r->mock_args.n > 0;
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
        return usage("--latency-ms, --fault-rate and --mock-arg need the embedded mock, "
                     "but the endpoint comes from",
                     r->url_source);
    }
    r->base_url = r->url;
    return 0;
}

static int mock_start(struct run *r)
{
    char lat[48], fault[48], seed[48];
    const char *args[80];
    size_t n = 0;
    if (r->latency_seen) {
        snprintf(lat, sizeof(lat), "--latency-ms=%g", r->latency_ms);
        args[n++] = lat;
    }
    if (r->fault_seen) {
        snprintf(fault, sizeof(fault), "--fault-rate=%g", r->fault_rate);
        args[n++] = fault;
    }
    if (r->seed_seen || r->agent.seg.count > 1) { /* each agent's mock draws its own */
        snprintf(seed, sizeof(seed), "--seed=%llu",
                 (unsigned long long)ll_agent_seed(&r->agent, (uint64_t)r->seed));
        args[n++] = seed;
    }
    for (size_t i = 0; i < r->mock_args.n && n + 1 < sizeof(args) / sizeof(args[0]); i++) {
        args[n++] = r->mock_args.v[i];
    }
    args[n] = NULL;
    /* The mock runs in its own process group (ll_mockproc.h): a terminal's ^C reaches only us;
     * we cancel, drain, report, then stop the mock by PID. */
    int err = ll_mockproc_start_embedded(&r->mock, args, MOCK_START_TIMEOUT_MS, r->quiet);
    if (err == LL_ECANCELED) {
        return 0; /* a stop signal: run_load reports a run that never started */
    }
    if (err != 0) {
        fprintf(stderr, "%s: cannot start the embedded mock %s: %s\n", WHO, ll_mockproc_path(),
                ll_strerror(err));
        return LL_EXIT_FAIL;
    }
    r->mock_started = true;
    r->base_url = r->mock.base_url;
    return 0;
}

static void run_config(struct run *r)
{
    struct ll_config *cfg = &r->cfg;
    const char *key = getenv("OPENAI_API_KEY");
    cfg->base_urls = r->urls.n > 1 ? r->urls.v : &r->base_url;
    cfg->n_base_urls = r->urls.n > 1 ? r->urls.n : 1;
    cfg->api_key = (key != NULL && *key != '\0') ? key : NULL;
    cfg->default_model = r->model;
    cfg->concurrency = (int)r->concurrency;
    cfg->retry.max_attempts = (int)r->retries + 1;
    cfg->timeout_ms = r->timeout_ms;
    cfg->connect_timeout_ms = r->connect_timeout_ms;
    cfg->no_reuse = r->no_reuse;
    cfg->verify_tls = !r->insecure;
    cfg->blocking = r->blocking;
    cfg->stack_size = (size_t)r->stack_size;
    cfg->seed = ll_agent_seed(&r->agent, (uint64_t)r->seed); /* retry jitter, per agent */
    cfg->thread_wall = &r->twall;
    ll_netopts_apply(&r->net, cfg);

    r->msg = (struct ll_message){"user", r->prompt};
    r->req = (struct ll_request){
        .model = r->model,
        .messages = &r->msg,
        .n_messages = 1,
        .max_tokens = (int)r->max_tokens,
        .stream = r->stream,
        .headers = r->headers.v,
        .n_headers = r->headers.n,
    };
}

/* One request to an external endpoint, no retries: say clearly when it is unreachable or not
 * OpenAI-compatible instead of reporting N identical failures. 0 or an exit code. */
static int preflight(struct run *r)
{
    struct ll_config cfg = r->cfg;
    struct ll_client *c;
    struct ll_call *call;
    int rc = 0;
    cfg.concurrency = 1;
    cfg.retry.max_attempts = 1;
    if (ll_client_create(r->be, &cfg, &c) != 0) {
        return 0; /* the real client will report it */
    }
    if (ll_client_submit(c, &r->req, &call) == 0 && ll_client_wait(c, call) == 0) {
        const struct ll_result *res = &call->res;
        const char *why = NULL;
        switch (res->cls) {
        case LL_CLASS_CONNECT:
        case LL_CLASS_TIMEOUT:
            why = "is unreachable";
            break;
        case LL_CLASS_PROTOCOL:
            why = "did not answer like an OpenAI-compatible API";
            break;
        case LL_CLASS_HTTP_4XX:
            why = "refused the request";
            break;
        default:
            break;
        }
        if (why != NULL) {
            char st[24] = "";
            if (res->status > 0) {
                snprintf(st, sizeof(st), "HTTP %d, ", res->status);
            }
            fprintf(stderr, "%s: %s %s (%s%s): %s\n", WHO, r->base_url, why, st,
                    ll_class_name(res->cls), res->errmsg);
            rc = LL_EXIT_FAIL;
        }
        ll_call_free(call);
    }
    ll_client_destroy(c);
    return rc;
}

static const char *rlim_str(char *buf, size_t n, int64_t v)
{
    snprintf(buf, n, "%lld", (long long)v);
    return v < 0 ? "unlimited" : buf;
}

/* "limits: RLIMIT_NOFILE soft 1024 -> 20000 (hard 20000)": what the run may open. */
static void run_header_limits(const struct run *r)
{
    char a[24], b[24], c[24];
    const struct ll_nofile *nf = &r->nofile;
    printf("limits: RLIMIT_NOFILE soft %s", rlim_str(a, sizeof(a), nf->soft_before));
    if (nf->soft != nf->soft_before) {
        printf(" -> %s", rlim_str(b, sizeof(b), nf->soft));
    }
    printf(" (hard %s)%s%s\n", rlim_str(c, sizeof(c), nf->hard), nf->err ? ", raise refused: " : "",
           nf->err ? strerror(nf->err) : "");
}

/* The first line, before any request (the preflight's too): where the load goes. */
static void run_target(const struct run *r)
{
    const char *env = getenv("OPENAI_BASE_URL");
    printf("llmload run: load goes to %s", r->base_url);
    if (r->cfg.n_base_urls > 1) {
        printf(" (+%zu more, rotated)", r->cfg.n_base_urls - 1);
    }
    printf(" (%s)%s\n", r->url_source,
           r->mock_started && env != NULL && *env != '\0'
               ? "; OPENAI_BASE_URL is set but not used (--url-from-env would use it)"
               : "");
    fflush(stdout);
}

static void run_header(const struct run *r)
{
    const struct ll_backend *be = r->be;
    printf("backend=%s (%s)\n", be->name, be->descr); /* run_target printed line one */
    printf("endpoint=%s", r->base_url != NULL ? r->base_url : "none (stopped before it started)");
    if (r->cfg.n_base_urls > 1) {
        printf(" (+%zu more, rotated)", r->cfg.n_base_urls - 1);
    }
    char mt[32] = "not sent"; /* the endpoint's default applies */
    if (r->max_tokens > 0) {
        snprintf(mt, sizeof(mt), "%lld", (long long)r->max_tokens);
    }
    printf(" (%s) key=%s model=%s stream=%s max_tokens=%s\n", r->url_source,
           r->cfg.api_key ? "set" : "unset", r->model, r->stream ? "on" : "off", mt);
    if (r->rate > 0) {
        printf("mode=open rate=%g/s arrivals=%s in_flight_limit=%lld", r->rate, r->arrivals,
               (long long)r->concurrency);
    } else {
        printf("mode=closed concurrency=%lld lookahead=%lld", (long long)r->concurrency,
               (long long)r->lookahead);
    }
    if (r->concurrency < r->concurrency_asked) {
        printf(" (%lld asked: no more than --requests)", (long long)r->concurrency_asked);
    }
    if (run_unbounded(r)) {
        printf(" requests=unbounded");
    } else {
        printf(" requests=%lld", (long long)r->requests);
    }
    if (r->duration_seen) {
        printf(" duration=%gs", r->duration_s);
    }
    if (r->warmup != NULL) {
        printf(" warmup=%s%s (excluded)", r->warmup, r->warmup_requests > 0 ? " requests" : "");
    }
    printf(" retries=%lld%s timeout=%gs connect_timeout=%gs ttfb_timeout=%gs idle_timeout=%gs "
           "reuse=%s seed=%lld\n",
           (long long)r->retries, r->net.retry_partial ? "+partial" : "", r->timeout_s,
           r->connect_timeout_s, r->net.ttfb_s, r->net.idle_s, r->no_reuse ? "off" : "on",
           (long long)r->seed);
    ll_wl_flags_header(&r->wl, stdout);
    ll_agent_header(stdout, &r->agent, run_unbounded(r));
    run_header_limits(r);
    printf("\n");
    fflush(stdout);
}

/* The JSON's "run": how the run ended, what was not sent, the deadline, the warm-up. */
static void run_json_outcome(cJSON *run, const struct run *r, const struct ll_drive_out *o)
{
    cJSON_AddBoolToObject(run, "interrupted", o->interrupted);
    if (o->stopped) {
        cJSON_AddStringToObject(run, "stopped_by", r->th.v[r->th.aborted_by].expr);
    } else {
        cJSON_AddNullToObject(run, "stopped_by");
    }
    if (o->not_sent_known) {
        cJSON_AddNumberToObject(run, "not_sent", (double)o->not_sent);
    } else {
        cJSON_AddNullToObject(run, "not_sent"); /* no count, stopped before the deadline */
    }
    cJSON_AddNumberToObject(run, "withdrawn", (double)o->withdrawn);
    if (r->duration_seen) {
        cJSON *dl = cJSON_AddObjectToObject(run, "deadline");
        cJSON_AddBoolToObject(dl, "reached", o->deadline);
        cJSON_AddNumberToObject(dl, "graceful_stop_s", r->grace_s);
        cJSON_AddNumberToObject(dl, "finished_after", (double)o->drained);
        cJSON_AddNumberToObject(dl, "cancelled_at_graceful_stop", (double)o->grace_cut);
    }
    if (r->warmup != NULL) { /* sent before the measured run, in no figure above */
        cJSON *wu = cJSON_AddObjectToObject(run, "warmup");
        cJSON_AddNumberToObject(wu, "sent", (double)r->warm.sent);
        cJSON_AddNumberToObject(wu, "succeeded", (double)r->warm.succeeded);
        /* its connections stay pooled: the run's "connects" counts only new ones */
        cJSON_AddNumberToObject(wu, "connections_opened", (double)r->warm.connects);
    }
}

static cJSON *run_json(const struct run *r, const struct ll_stats *s, const struct ll_drive_out *o)
{
    cJSON *doc = cJSON_CreateObject();
    ll_report_meta_json(doc, "run");
    cJSON *w = cJSON_AddObjectToObject(doc, "config");
    cJSON_AddStringToObject(w, "backend", r->be->name);
    cJSON_AddStringToObject(w, "endpoint", r->base_url);
    cJSON_AddStringToObject(w, "endpoint_source", r->url_source);
    cJSON_AddStringToObject(w, "model", r->model);
    cJSON_AddStringToObject(w, "prompt", r->prompt);
    cJSON_AddBoolToObject(w, "stream", r->stream);
    if (r->max_tokens > 0) {
        cJSON_AddNumberToObject(w, "max_tokens", (double)r->max_tokens);
    } else {
        cJSON_AddNullToObject(w, "max_tokens"); /* not sent: the endpoint's default applies */
    }
    if (run_unbounded(r)) {
        cJSON_AddNullToObject(w, "requests");
    } else {
        cJSON_AddNumberToObject(w, "requests", (double)r->requests);
    }
    if (r->duration_seen) {
        cJSON_AddNumberToObject(w, "duration_s", r->duration_s);
    }
    if (r->warmup_requests > 0) {
        cJSON_AddNumberToObject(cJSON_AddObjectToObject(w, "warmup"), "requests",
                                (double)r->warmup_requests);
    } else if (r->warmup_s > 0) {
        cJSON_AddNumberToObject(cJSON_AddObjectToObject(w, "warmup"), "seconds", r->warmup_s);
    }
    cJSON_AddStringToObject(w, "mode", r->rate > 0 ? "open" : "closed");
    cJSON_AddNumberToObject(w, "concurrency", (double)r->concurrency);
    cJSON_AddNumberToObject(w, "concurrency_asked", (double)r->concurrency_asked);
    cJSON_AddNumberToObject(w, "lookahead", r->rate > 0 ? 0.0 : (double)r->lookahead);
    cJSON_AddNumberToObject(w, "rate", r->rate);
    cJSON_AddStringToObject(w, "arrivals", r->arrivals);
    cJSON_AddNumberToObject(w, "retries", (double)r->retries);
    cJSON_AddItemToObject(w, "workload", ll_wl_flags_json(&r->wl));
    cJSON_AddItemToObject(w, "headers", ll_report_headers_json(r->headers.v, r->headers.n));
    cJSON_AddItemToObject(w, "client", ll_report_config_json(&r->cfg));
    cJSON *nf = cJSON_AddObjectToObject(w, "rlimit_nofile"); /* -1 = unlimited */
    cJSON_AddNumberToObject(nf, "soft_before", (double)r->nofile.soft_before);
    cJSON_AddNumberToObject(nf, "soft", (double)r->nofile.soft);
    cJSON_AddNumberToObject(nf, "hard", (double)r->nofile.hard);
    cJSON *m = cJSON_AddObjectToObject(w, "mock");
    cJSON_AddBoolToObject(m, "embedded", r->mock_started);
    if (r->mock_started) {
        cJSON_AddStringToObject(m, "path", r->mock.path);
    }
    cJSON *margs = cJSON_AddArrayToObject(m, "args");
    if (r->latency_seen) {
        cJSON_AddNumberToObject(m, "latency_ms", r->latency_ms);
    }
    if (r->fault_seen) {
        cJSON_AddNumberToObject(m, "fault_rate", r->fault_rate);
    }
    for (size_t i = 0; i < r->mock_args.n; i++) {
        cJSON_AddItemToArray(margs, cJSON_CreateString(r->mock_args.v[i]));
    }
    cJSON_AddItemToObject(doc, "results", ll_report_stats_json(s));
    cJSON_AddItemToObject(doc, "thresholds", ll_thresh_json(&r->th, s));
    run_json_outcome(cJSON_AddObjectToObject(doc, "run"), r, o);
    return doc;
}

/* "12", or "-" when unknown (a run without a count stopped before its deadline). */
static void not_sent_str(char *buf, size_t n, const struct ll_drive_out *o)
{
    if (o->not_sent_known) {
        snprintf(buf, n, "%llu", (unsigned long long)o->not_sent);
    } else {
        snprintf(buf, n, "-");
    }
}

/* --duration's end, on the report's stream after the table: what the deadline did. */
static void deadline_line(const struct run *r, const struct ll_drive_out *o)
{
    if (!r->duration_seen || !o->deadline) {
        return;
    }
    printf("duration %gs reached: nothing sent after it; %llu queued requests withdrawn (not "
           "sent); %llu in flight at the deadline came back after it (graceful stop %gs",
           r->duration_s, (unsigned long long)o->withdrawn, (unsigned long long)o->drained,
           r->grace_s);
    if (o->grace_cut > 0) {
        printf("; %llu cancelled when it ran out", (unsigned long long)o->grace_cut);
    }
    printf(")\n");
}

/* One line: no request succeeded, and why (the endpoint when every failure says so). */
static void no_success(const struct run *r, const struct ll_stats *s, const struct ll_drive_out *o)
{
    char line[256];
    bool unreachable = o->first_cls == LL_CLASS_CONNECT || o->first_cls == LL_CLASS_PROTOCOL;
    if (unreachable && s->by_class[o->first_cls] == ll_stats_failed(s)) {
        fprintf(stderr, "%s: no request succeeded: %s %s: %s\n", WHO, r->base_url,
                o->first_cls == LL_CLASS_CONNECT ? "is unreachable"
                                                 : "did not answer like an OpenAI-compatible API",
                o->first_err);
        return;
    }
    ll_report_failures_line(line, sizeof(line), s);
    fprintf(stderr, "%s: no request succeeded: %s; first: %s\n", WHO, line, o->first_err);
}

/* Warnings and the verdict after the table. Returns the exit code. */
static int run_verdict(const struct run *r, const struct ll_stats *s, const struct ll_drive_out *o)
{
    struct ll_little l;
    char keepup[512];
    ll_stats_little(s, &l);
    if (ll_report_keepup_line(keepup, sizeof(keepup), s) > 0) {
        /* Open loop that did not keep up: the rates and what held it back, slip included. Part
         * of the report (the table's "kept up NO" points here): on its stream, right after. */
        printf("%s\n", keepup);
    } else if (s->sends_scheduled > 0 &&
               (s->slip_max_ns > LL_SLIP_HELD_MAX_NS ||
                s->slip_sum_ns / (double)s->sends_scheduled > (double)LL_SLIP_HELD_MEAN_NS)) {
        /* Kept up overall, but late in places. Timers have ~1 ms granularity on some
         * backends: warn on a real lag, not on jitter. */
        fprintf(stderr,
                "%s: warning: %llu of %llu sends slipped behind schedule (max %.3f ms, mean "
                "%.3f ms) at --rate %g\n",
                WHO, (unsigned long long)s->sends_late, (unsigned long long)s->sends_scheduled,
                (double)s->slip_max_ns / 1e6, s->slip_sum_ns / (double)s->sends_scheduled / 1e6,
                r->rate);
    }
    if (l.flagged) {
        fprintf(stderr, "%s: warning: Little's law check off by %.1f%% (L %.3f vs lambda*W %.3f)\n",
                WHO, 100.0 * l.diff, l.l_measured, l.l_predicted);
    }
    deadline_line(r, o);
    ll_wl_flags_warn(&r->wl, WHO, s);
    ll_report_accounting(stdout, s);
    fflush(stdout); /* the report before the verdict's lines on stderr */
    /* One exit code, the most severe first: a broken count, an interruption, a run in which
     * nothing succeeded, a failed threshold (llmload --help). */
    bool acct_failed = !ll_stats_accounting_ok(s);
    if (acct_failed) {
        fprintf(stderr, "%s: ACCOUNTING FAILED: %llu duplicate, %llu missing results\n", WHO,
                (unsigned long long)s->acct_duplicates, (unsigned long long)s->acct_missing);
    }
    char ns[24];
    not_sent_str(ns, sizeof(ns), o);
    if (o->interrupted) {
        fprintf(stderr, "%s: interrupted: %s requests not sent, outstanding ones cancelled\n", WHO,
                ns);
    }
    if (o->stopped) {
        fprintf(stderr,
                "%s: stopped early: threshold %s can no longer pass; %s requests not sent, "
                "%llu cancelled\n",
                WHO, r->th.v[r->th.aborted_by].expr, ns,
                (unsigned long long)s->by_class[LL_CLASS_CANCELLED]);
    }
    /* Whatever the classes: a run in which nothing succeeded measured nothing. */
    bool none_ok = ll_stats_succeeded(s) == 0 && ll_stats_failed(s) > 0;
    if (none_ok) {
        no_success(r, s, o);
    }
    bool th_failed = ll_thresh_report(&r->th, s, stdout, stderr, WHO) > 0;
    return acct_failed      ? LL_EXIT_FAIL
           : o->interrupted ? LL_EXIT_SIGINT
           : none_ok        ? LL_EXIT_FAIL
           : th_failed      ? LL_EXIT_THRESHOLD
                            : LL_EXIT_OK;
}

/* Stopped by a signal before the client started: an empty run, every request not sent. */
static void run_not_started(const struct run *r, struct ll_stats *s, struct ll_drive_out *o)
{
    memset(o, 0, sizeof(*o));
    o->first_cls = LL_CLASS_NONE;
    o->interrupted = true;
    o->not_sent = run_unbounded(r) ? 0 : (uint64_t)r->requests;
    o->not_sent_known = !run_unbounded(r);
    s->t_start = s->t_stop = ll_now_ns();
}

/* The backend could not start its threads. It starts all of them or none (tp_pool.h): a run
 * with fewer would measure another in-flight limit than the one asked for, so the run stops
 * here and says which wall it met and what was measured. */
static void run_thread_limit(const struct run *r, int err, char *line, size_t n)
{
    char why[400], wall[600];
    ll_limits_threads_describe(why, sizeof(why), r->cfg.stack_size, r->cfg.concurrency);
    if (r->twall.err != 0) { /* the counters read when pthread_create failed */
        ll_thread_wall_describe(wall, sizeof(wall), &r->twall);
    } else {
        snprintf(wall, sizeof(wall), "%s", ll_strerror(err));
    }
    snprintf(line, n,
             "local limit met: threads (cannot start the %s backend with %lld threads, all or "
             "none: %s; %s)",
             r->be->name, (long long)r->concurrency, wall, why);
    fprintf(stderr, "%s: %s\n", WHO, line);
}

/* --json for a run whose threads could not start: no request, and the limit with its evidence
 * (results.limits.met "threads", .line, .thread_wall), so that a script reads the wall as it
 * reads any other. */
static void run_thread_limit_json(struct run *r, struct ll_stats *s, const char *line)
{
    struct ll_drive_out o;
    if (r->json_path == NULL) {
        return;
    }
    run_not_started(r, s, &o);
    o.interrupted = false;
    o.not_sent = run_unbounded(r) ? 0 : (uint64_t)r->requests;
    cJSON *doc = run_json(r, s, &o);
    cJSON *lim = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "results"), "limits");
    if (lim != NULL) {
        cJSON_ReplaceItemInObject(lim, "met", cJSON_CreateString("threads"));
        cJSON_ReplaceItemInObject(lim, "line", cJSON_CreateString(line));
        if (r->twall.err != 0) {
            cJSON_AddItemToObject(lim, "thread_wall", ll_thread_wall_json(&r->twall));
        }
    }
    if (doc != NULL) {
        ll_outfile_commit_json(&r->json, WHO, doc);
    }
    cJSON_Delete(doc);
}

/* ll_drive's stop hook: --abort-on-fail, and a threshold that can no longer pass. */
static bool run_stop(void *arg, const struct ll_stats *s, uint64_t remaining)
{
    struct run *r = arg;
    r->th.aborted_by = ll_thresh_set_doomed(&r->th, s, remaining);
    return r->th.aborted_by >= 0;
}

static int run_load(struct run *r)
{
    struct ll_client *c = NULL;
    struct ll_stats s;
    struct ll_drive_out out;
    struct ll_be_stats be;
    int rc = LL_EXIT_FAIL, err;

    if (ll_stats_init(&s, &r->slo) != 0) {
        fprintf(stderr, "%s: out of memory\n", WHO);
        return LL_EXIT_FAIL;
    }
    s.in_flight_limit = (uint64_t)r->cfg.concurrency;
    s.series = ll_series_new(); /* NULL: the JSON then has no series, the run is the same */
    ll_stats_res_base(&s);      /* memory per request in flight counts the backend's threads too */
    if (r->window_spec != NULL) {
        int pid = r->server_pid > 0 ? (int)r->server_pid : r->mock_started ? (int)r->mock.pid : 0;
        if (ll_window_init(&r->win, r->win_from_ns, r->win_to_ns, pid) != 0) {
            fprintf(stderr, "%s: out of memory\n", WHO);
            goto out;
        }
        r->win_on = true;
        r->win.self.rss_run0_kb = ll_proc_rss_kb(); /* before the client: its threads count */
    }
    /* A stop signal before this point: nothing was started; the run is reported as such. */
    err = ll_signal_caught() ? LL_ECANCELED : ll_client_create(r->be, &r->cfg, &c);
    if (err == LL_ELIMIT) {
        char line[1200];
        run_thread_limit(r, err, line, sizeof(line));
        run_thread_limit_json(r, &s, line);
        goto out;
    }
    if (err != 0 && err != LL_ECANCELED) {
        fprintf(stderr, "%s: cannot start the %s backend: %s\n", WHO, r->be->name,
                ll_strerror(err));
        goto out;
    }
    run_header(r);
    struct ll_drive_opts d = {
        .requests = run_unbounded(r) ? LL_DRIVE_UNBOUNDED : (uint64_t)r->requests,
        .duration_ns = r->duration_seen ? (int64_t)(r->duration_s * 1e9) : 0,
        .grace_ns = (int64_t)(r->grace_s * 1e9),
        .concurrency = (int)r->concurrency,
        .lookahead = r->rate > 0 ? 0 : (int)r->lookahead,
        .rate = r->rate,
        .arrivals = r->arr,
        .seed = (uint64_t)r->seed,
        .req = &r->req,
        .progress = isatty(STDERR_FILENO) == 1 && !r->quiet,
        .window = r->win_on ? &r->win : NULL,
        .stop = r->th.abort_on_fail ? run_stop : NULL,
        .stop_arg = r,
        .segment = &r->agent.seg,
    };
    ll_wl_flags_drive(&r->wl, &d);
    if (c != NULL && r->warmup != NULL &&
        (err = ll_drive_warmup(c, &d, (uint64_t)r->warmup_requests, (int64_t)(r->warmup_s * 1e9),
                               &out, &r->warm)) != 0) {
        fprintf(stderr, "%s: the warm-up failed: %s\n", WHO, ll_strerror(err));
        goto out;
    }
    if (c != NULL) {
        d.t_start_ns = ll_agent_start(&r->agent, WHO); /* --start-at, after the warm-up */
        ll_client_reset_stats(c); /* the backend's figures: the measured run's alone */
    }
    if (c != NULL && r->warmup != NULL) {
        s.warm_connects = (int64_t)r->warm.connects;
    }
    if (c == NULL) {
        run_not_started(r, &s, &out);
    } else if ((err = ll_drive(c, &d, &s, &out)) != 0) {
        fprintf(stderr, "%s: the load loop failed: %s\n", WHO, ll_strerror(err));
        goto out;
    } else {
        memset(&be, 0, sizeof(be));
        be.loop_idle_ns = -1;
        ll_client_sample(c, &be);
        ll_stats_set_backend(&s, &be);
        ll_client_destroy(c);
        c = NULL;
    }

    if (s.series != NULL) {
        ll_series_close(s.series, s.t_stop);
    }
    ll_report_table(stdout, &s);
    printf("\n");
    if (r->win_on && c == NULL && s.submitted > 0) {
        ll_window_print(stdout, &r->win);
        printf("\n");
    }
    rc = run_verdict(r, &s, &out);
    if (r->json_path != NULL) {
        cJSON *doc = run_json(r, &s, &out);
        if (r->win_on) {
            cJSON_AddItemToObject(cJSON_GetObjectItem(doc, "results"), "window",
                                  ll_window_json(&r->win));
        }
        if (doc == NULL || ll_agent_json(doc, &r->agent, &s, run_unbounded(r), rc) != 0) {
            fprintf(stderr, "%s: --json %s: out of memory\n", WHO, r->json_path);
            rc = LL_EXIT_FAIL;
        } else if (ll_outfile_commit_json(&r->json, WHO, doc) != 0) {
            rc = LL_EXIT_FAIL; /* the one line is printed */
        }
        cJSON_Delete(doc);
    }
out:
    if (c != NULL) {
        ll_client_destroy(c);
    }
    if (r->win_on) {
        ll_window_free(&r->win);
        r->win_on = false;
    }
    ll_stats_free(&s);
    return rc;
}

static void run_free(struct run *r)
{
    ll_strv_free(&r->headers);
    ll_strv_free(&r->mock_args);
    ll_strv_free(&r->urls);
    ll_strv_free(&r->thresholds);
    ll_thresh_set_free(&r->th);
    ll_wl_flags_free(&r->wl);
}

int ll_cmd_run(int argc, char **argv)
{
    struct run r;
    struct ll_opt table[RUN_OPTS_MAX];
    bool help;
    int rc;

    run_defaults(&r);
    run_table(&r, table, RUN_OPTS_MAX);
    if (ll_opts_parse(WHO, table, argc, argv, &help) != 0) {
        rc = LL_EXIT_USAGE;
        goto out;
    }
    if (help) {
        run_free(&r);
        run_defaults(&r); /* show defaults, not what was parsed before --help */
        run_help(&r);
        rc = LL_EXIT_OK;
        goto out;
    }
    if ((rc = run_validate(&r)) != 0 || (rc = run_endpoint(&r)) != 0) {
        goto out;
    }
    /* Outputs first: a path that cannot be written is one line now, not after the run. */
    if (ll_outfile_open(&r.json, WHO, "--json", r.json_path) != 0 ||
        (r.quiet && ll_outfile_quiet() != 0)) {
        rc = LL_EXIT_FAIL;
        goto out;
    }
    ll_limits_raise_nofile(&r.nofile); /* before the mock: it inherits the raised limit */
    if (!r.no_limit_check && run_check_limits(&r) != 0) {
        rc = LL_EXIT_FAIL;
        goto out;
    }
    if (r.base_url == NULL && (rc = mock_start(&r)) != 0) {
        goto out;
    }
    run_config(&r);
    run_target(&r);
    if (!r.mock_started && r.base_url != NULL && !r.no_preflight && !ll_signal_caught() &&
        (rc = preflight(&r)) != 0) {
        goto out;
    }
    rc = run_load(&r);
out:
    if (r.mock_started) {
        ll_mockproc_stop(&r.mock, MOCK_STOP_TIMEOUT_MS);
    }
    ll_outfile_abort(&r.json); /* nothing when committed */
    run_free(&r);
    return rc;
}
