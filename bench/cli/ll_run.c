/* ll_run.c - `llmload run`: the embedded mock, the client, the preflight, the load loop and the
 * subcommand itself (flags in ll_run_opts.c, what it prints in ll_run_report.c). */
#include "ll_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "ll_run_int.h"

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
    if (r->tls) {
        args[n++] = "--tls";
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
    if (cfg->ca_file == NULL && r->mock.ca_file[0] != '\0') {
        cfg->ca_file = r->mock.ca_file; /* the embedded mock's CA (--tls): trusted, verified */
    }

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

bool ll_run__tls_refused(int curl_code)
{
    switch (curl_code) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        return true;
    default:
        return false;
    }
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
            /* reached, but its certificate was not trusted: say that, not "unreachable" */
            why =
                ll_run__tls_refused(res->curl_code) ? "failed TLS verification" : "is unreachable";
            break;
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
        ll_run__thread_limit(r, err, line, sizeof(line));
        ll_run__thread_limit_json(r, &s, line);
        goto out;
    }
    if (err != 0 && err != LL_ECANCELED) {
        fprintf(stderr, "%s: cannot start the %s backend: %s\n", WHO, r->be->name,
                ll_strerror(err));
        goto out;
    }
    ll_run__header(r);
    struct ll_drive_opts d = {
        .requests = ll_run__unbounded(r) ? LL_DRIVE_UNBOUNDED : (uint64_t)r->requests,
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
        ll_run__not_started(r, &s, &out);
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
    rc = ll_run__verdict(r, &s, &out);
    if (r->json_path != NULL) {
        cJSON *doc = ll_run__json(r, &s, &out);
        if (r->win_on) {
            cJSON_AddItemToObject(cJSON_GetObjectItem(doc, "results"), "window",
                                  ll_window_json(&r->win));
        }
        if (doc == NULL || ll_agent_json(doc, &r->agent, &s, ll_run__unbounded(r), rc) != 0) {
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

int ll_cmd_run(int argc, char **argv)
{
    struct run r;
    struct ll_opt table[RUN_OPTS_MAX];
    bool help;
    int rc;

    ll_run__defaults(&r);
    ll_run__table(&r, table, RUN_OPTS_MAX);
    if (ll_opts_parse(WHO, table, argc, argv, &help) != 0) {
        rc = LL_EXIT_USAGE;
        goto out;
    }
    if (help) {
        ll_run__free(&r);
        ll_run__defaults(&r); /* show defaults, not what was parsed before --help */
        ll_run__help(&r);
        rc = LL_EXIT_OK;
        goto out;
    }
    if ((rc = ll_run__validate(&r)) != 0 || (rc = ll_run__endpoint(&r)) != 0) {
        goto out;
    }
    /* Outputs first: a path that cannot be written is one line now, not after the run. */
    if (ll_outfile_open(&r.json, WHO, "--json", r.json_path) != 0 ||
        (r.quiet && ll_outfile_quiet() != 0)) {
        rc = LL_EXIT_FAIL;
        goto out;
    }
    ll_limits_raise_nofile(&r.nofile); /* before the mock: it inherits the raised limit */
    if (!r.no_limit_check && ll_run__check_limits(&r) != 0) {
        rc = LL_EXIT_FAIL;
        goto out;
    }
    if (r.base_url == NULL && (rc = mock_start(&r)) != 0) {
        goto out;
    }
    run_config(&r);
    ll_run__target(&r);
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
    ll_run__free(&r);
    return rc;
}
