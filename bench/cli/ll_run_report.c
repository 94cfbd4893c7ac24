/* ll_run_report.c - what `llmload run` prints and writes: the first line, the header, the
 * verdict after the table, and the --json document (ll_run_int.h). */
#include "ll_run_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ll_xfer.h"

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
void ll_run__target(const struct run *r)
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

/* HTTPS or HTTP/2 only (a cleartext HTTP/1.1 run's header stays as it was): what is trusted. */
static void run_header_transport(const struct run *r)
{
    const struct ll_config *c = &r->cfg;
    bool https = r->base_url != NULL && strncasecmp(r->base_url, "https:", 6) == 0;
    if (!https && c->http_version == LL_HTTP_1_1) {
        if (c->max_connections > 0) {
            printf("transport: http=1.1 max_connections=%d\n", c->max_connections);
        }
        return;
    }
    const char *h2c = ll_xfer_h2c_no_reuse()
                          ? "2 (h2c; a new connection per request: curl before 8.0 cannot reuse "
                            "one, curl issue 10634)"
                          : "2 (h2c)";
    printf("transport: http=%s", c->http_version == LL_HTTP_2 ? (https ? "2 (ALPN)" : h2c) : "1.1");
    if (https && !c->verify_tls) {
        printf(" tls=UNVERIFIED (--insecure: any certificate is accepted)");
    } else if (https) {
        printf(" tls=verified, trusting %s", c->ca_file != NULL ? c->ca_file : "the system's CAs");
    }
    if (c->max_connections > 0) {
        printf(" max_connections=%d", c->max_connections);
    }
    printf("\n");
}

void ll_run__header(const struct run *r)
{
    const struct ll_backend *be = r->be;
    printf("backend=%s (%s)\n", be->name, be->descr); /* ll_run__target printed line one */
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
    if (ll_run__unbounded(r)) {
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
    run_header_transport(r);
    ll_wl_flags_header(&r->wl, stdout);
    ll_agent_header(stdout, &r->agent, ll_run__unbounded(r));
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

cJSON *ll_run__json(const struct run *r, const struct ll_stats *s, const struct ll_drive_out *o)
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
    if (ll_run__unbounded(r)) {
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
/* "N requests not sent, ", or "" when no count of them exists (--duration: the requests are
 * made as the run goes, so none is left over to count). */
static void not_sent_str(char *buf, size_t n, const struct ll_drive_out *o)
{
    if (o->not_sent_known) {
        snprintf(buf, n, "%llu requests not sent, ", (unsigned long long)o->not_sent);
    } else if (n > 0) {
        buf[0] = '\0';
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
                o->first_cls == LL_CLASS_PROTOCOL ? "did not answer like an OpenAI-compatible API"
                : ll_run__tls_refused(o->first_curl) ? "failed TLS verification"
                                                     : "is unreachable",
                o->first_err);
        return;
    }
    ll_report_failures_line(line, sizeof(line), s);
    fprintf(stderr, "%s: no request succeeded: %s; first: %s\n", WHO, line, o->first_err);
}

/* Warnings and the verdict after the table. Returns the exit code. */
int ll_run__verdict(const struct run *r, const struct ll_stats *s, const struct ll_drive_out *o)
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
    char ns[48];
    not_sent_str(ns, sizeof(ns), o);
    if (o->interrupted) {
        fprintf(stderr, "%s: interrupted: %soutstanding ones cancelled\n", WHO, ns);
    }
    if (o->stopped) {
        fprintf(stderr,
                "%s: stopped early: threshold %s can no longer pass; %s"
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
void ll_run__not_started(const struct run *r, struct ll_stats *s, struct ll_drive_out *o)
{
    memset(o, 0, sizeof(*o));
    o->first_cls = LL_CLASS_NONE;
    o->interrupted = true;
    o->not_sent = ll_run__unbounded(r) ? 0 : (uint64_t)r->requests;
    o->not_sent_known = !ll_run__unbounded(r);
    s->t_start = s->t_stop = ll_now_ns();
}

/* The backend could not start its threads. It starts all of them or none (tp_pool.h): a run
 * with fewer would measure another in-flight limit than the one asked for, so the run stops
 * here and says which wall it met and what was measured. */
void ll_run__thread_limit(const struct run *r, int err, char *line, size_t n)
{
    char why[400], wall[600];
    ll_limits_threads_describe(why, sizeof(why), r->cfg.stack_size, r->cfg.concurrency);
    if (r->twall.sys.err != 0) { /* the counters read when pthread_create failed */
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
void ll_run__thread_limit_json(struct run *r, struct ll_stats *s, const char *line)
{
    struct ll_drive_out o;
    if (r->json_path == NULL) {
        return;
    }
    ll_run__not_started(r, s, &o);
    o.interrupted = false;
    o.not_sent = ll_run__unbounded(r) ? 0 : (uint64_t)r->requests;
    cJSON *doc = ll_run__json(r, s, &o);
    cJSON *lim = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "results"), "limits");
    if (lim != NULL) {
        cJSON_ReplaceItemInObject(lim, "met", cJSON_CreateString("threads"));
        cJSON_ReplaceItemInObject(lim, "line", cJSON_CreateString(line));
        if (r->twall.sys.err != 0) {
            cJSON_AddItemToObject(lim, "thread_wall", ll_thread_wall_json(&r->twall));
        }
    }
    if (doc != NULL) {
        ll_outfile_commit_json(&r->json, WHO, doc);
    }
    cJSON_Delete(doc);
}
