/* ll_report.c - the summary table and the JSON document of a run. */
#include "ll_report.h"
#include "ll_report_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ll_clock.h"
#include "ll_err.h"
#include "ll_version.h"

static const double pcts[] = LL_REPORT_PCTS;
#define N_PCTS (sizeof(pcts) / sizeof(pcts[0]))

double ll_report__ms(double ns)
{
    return ns / (double)LL_NS_PER_MS;
}

static double per(double a, double b)
{
    return b > 0 ? a / b : 0.0;
}

/* A figure or, when it was not measured (NAN), JSON null: never a 0 that was not seen. */
void ll_report__add_num(cJSON *o, const char *key, double v)
{
    if (isfinite(v)) {
        cJSON_AddNumberToObject(o, key, v);
    } else {
        cJSON_AddNullToObject(o, key);
    }
}

/* ---- table ---- */

static void table_limits(FILE *out, const struct ll_stats *s);

void ll_report__line_u(FILE *out, const char *label, uint64_t v)
{
    fprintf(out, "%-*s %14llu\n", LABEL_W, label, (unsigned long long)v);
}

/* A NAN figure was not measured: "-" in its place. */
void ll_report__line_f(FILE *out, const char *label, double v, const char *unit)
{
    if (!isfinite(v)) {
        fprintf(out, "%-*s %14s%s%s\n", LABEL_W, label, "-", *unit ? " " : "", unit);
        return;
    }
    fprintf(out, "%-*s %14.3f%s%s\n", LABEL_W, label, v, *unit ? " " : "", unit);
}

static void line_kb(FILE *out, const char *label, long kb)
{
    if (kb < 0) {
        fprintf(out, "%-*s %14s KiB\n", LABEL_W, label, "-");
    } else {
        fprintf(out, "%-*s %14ld KiB\n", LABEL_W, label, kb);
    }
}

static void table_requests(FILE *out, const struct ll_stats *s)
{
    char label[64];
    ll_report__line_f(out, "wall time", ll_stats_wall_s(s), "s");
    ll_report__line_f(out, "throughput (succeeded)", ll_stats_throughput(s), "req/s");
    ll_report__line_f(out, "failed per s", ll_stats_failed_rate(s), "req/s");
    ll_report__line_f(out, "error share", 100.0 * ll_stats_error_share(s), "%");
    ll_report__line_u(out, "requests submitted", s->submitted);
    ll_report__line_u(out, "requests succeeded", ll_stats_succeeded(s));
    ll_report__line_u(out, "requests failed", ll_stats_failed(s));
    for (int c = 0; c < LL_CLASS__COUNT; c++) {
        if (c == LL_CLASS_NONE || c == LL_CLASS_CANCELLED) {
            continue;
        }
        snprintf(label, sizeof(label), "  failed %s", ll_class_name((enum ll_class)c));
        ll_report__line_u(out, label, s->by_class[c]);
    }
    table_limits(out, s);
    ll_report__line_u(out, "requests cancelled", s->by_class[LL_CLASS_CANCELLED]);
    ll_report__line_u(out, "retries", s->retries);
    ll_report__line_u(out, "wire requests", s->wire_requests);
    ll_report__line_u(out, "connections opened", s->connects);
    if (s->be.conns_open_peak >= 0) { /* counted by the backend (ll_be_stats) */
        ll_report__line_u(out, "connections open, peak", (uint64_t)s->be.conns_open_peak);
    }
    ll_report__line_u(out, "connection re-sends", s->resends);
    if (s->tls_full + s->tls_resumed > 0 || s->http2_requests > 0) { /* HTTPS or HTTP/2 only */
        ll_report__line_u(out, "TLS handshakes, full", s->tls_full);
        ll_report__line_u(out, "TLS handshakes, resumed", s->tls_resumed);
        ll_report__line_u(out, "answers over HTTP/2", s->http2_requests);
        if (s->connects > 0) {
            fprintf(out, "%-*s %14.1f\n", LABEL_W, "requests per connection",
                    (double)s->wire_requests / (double)s->connects);
        }
    }
    if (s->warm_connects >= 0) { /* pooled by the warm-up: the run reuses them */
        ll_report__line_u(out, "  warm, opened by the warm-up", (uint64_t)s->warm_connects);
    }
    ll_report__line_u(out, "bytes received", s->bytes_rx);
    ll_report__line_u(out, "bytes sent", s->bytes_tx);
}

/* A figure that was not measured: "-", never 0. */
static void line_none(FILE *out, const char *label, const char *why)
{
    fprintf(out, "%-*s %14s%s%s\n", LABEL_W, label, "-", *why ? " " : "", why);
}

/* Tokens, successes only: the server's usage where sent, and said so where not -- a server
 * that sends no usage never shows as "completion tokens 0". */
static void table_tokens(FILE *out, const struct ll_stats *s)
{
    char note[192];
    const char *src = ll_stats_tokens_source(s);
    uint64_t toks = ll_stats_output_tokens(s);
    ll_stats_tokens_note(note, sizeof(note), s);
    if (ll_stats_succeeded(s) > s->usage_missing) {
        ll_report__line_u(out, "prompt tokens", s->prompt_tokens);
    } else {
        line_none(out, "prompt tokens", "(no usage from server)");
    }
    if (src == NULL) {
        line_none(out, "completion tokens", "");
        line_none(out, "completion tokens per s", "");
    } else {
        fprintf(out, "%-*s %14llu%s\n", LABEL_W, "completion tokens", (unsigned long long)toks,
                strcmp(src, "usage") == 0 ? "" : " (counted from chunks)");
        ll_report__line_f(out, "completion tokens per s", per((double)toks, ll_stats_wall_s(s)),
                          "tok/s");
    }
    if (s->out_asked > 0) { /* judged by usage against each request's max_tokens */
        fprintf(out, "%-*s %14llu of %llu asked (tokens: %llu received of %llu asked)\n", LABEL_W,
                "short answers (< max_tokens)", (unsigned long long)s->out_short,
                (unsigned long long)s->out_asked, (unsigned long long)s->out_received_tokens,
                (unsigned long long)s->out_asked_tokens);
    }
    if (s->reasoning_tokens > 0 || s->reasoning_chunked > 0) {
        fprintf(out, "%-*s %14llu%s\n", LABEL_W, "  reasoning tokens",
                (unsigned long long)s->reasoning_tokens,
                s->reasoning_chunked == 0 ? ""
                : s->reasoning_usage == 0 ? " (counted from chunks)"
                                          : " (usage; counted from chunks where not sent)");
    }
    if (s->output_chunks > 0) {
        ll_report__line_u(out, "output chunks", s->output_chunks);
    }
    if (s->stream_tokens > 0) {
        ll_report__line_u(out, "stream tokens, all outcomes", s->stream_tokens);
    }
    if (note[0] != '\0') {
        fprintf(out, "%s\n", note);
    }
}

static void table_goodput(FILE *out, const struct ll_stats *s)
{
    if (!ll_slo_is_set(&s->slo)) {
        return;
    }
    fprintf(out,
            "%-*s %14s ttft=%lld itl=%lld tpot=%lld e2e=%lld (ms, 0 = unbounded; itl: largest "
            "per-token gap)\n",
            LABEL_W, "slo", "", (long long)s->slo.ttft_ms, (long long)s->slo.itl_ms,
            (long long)s->slo.tpot_ms, (long long)s->slo.e2e_ms);
    ll_report__line_u(out, "goodput requests", s->good);
    ll_report__line_f(out, "goodput", per((double)s->good, ll_stats_wall_s(s)), "req/s");
    ll_report__line_f(out, "goodput share", 100.0 * per((double)s->good, (double)s->submitted),
                      "%");
    ll_report__line_u(out, "  missed ttft", s->slo_miss_ttft);
    ll_report__line_u(out, "  missed itl", s->slo_miss_itl);
    ll_report__line_u(out, "  missed tpot", s->slo_miss_tpot);
    ll_report__line_u(out, "  missed e2e", s->slo_miss_e2e);
}

static void table_little(FILE *out, const struct ll_stats *s)
{
    struct ll_little l;
    ll_stats_little(s, &l);
    ll_report__line_f(out, "outstanding, measured (L)", l.l_measured, "");
    ll_report__line_f(out, "outstanding, lambda x W", l.l_predicted, "");
    if (l.judged) {
        fprintf(out, "%-*s %14.3f %% %s\n", LABEL_W, "little's law difference", 100.0 * l.diff,
                l.flagged ? "FLAGGED (> 5%)" : "ok");
    } else {
        fprintf(out, "%-*s %14s   not judged: %s\n", LABEL_W, "little's law difference", "-",
                l.why_not);
    }
    ll_report__line_u(out, "outstanding peak", s->outstanding_peak);
    ll_report__line_u(out, "in flight peak", ll_stats_in_flight_peak(s));
}

/* A backend with a loop: the run's wall split into busy in the loop, blocked in it waiting for
 * I/O, and outside it (the driver's own work and its sleeps between sends). The three add up to
 * the wall; the process's CPU per wall second is beside them (cpu cores used). */
static void table_loop(FILE *out, const struct ll_stats *s)
{
    struct ll_loop_split l;
    ll_stats_loop_split(s, &l);
    ll_report__line_f(out, "loop time (requests active)", ll_report__ms((double)s->be.loop_run_ns),
                      "ms");
    ll_report__line_f(out, "loop idle time", ll_report__ms((double)s->be.loop_idle_ns), "ms");
    ll_report__line_f(out, "loop busy share", 100.0 * l.busy, "%");
    ll_report__line_f(out, "loop idle share", 100.0 * l.idle, "%");
    ll_report__line_f(out, "outside the loop share", 100.0 * l.outside, "%");
    ll_report__line_u(out, "loop iterations", s->be.loop_iterations);
}

/* How the one RSS peak was measured, for the table and the JSON. */
static const char *rss_peak_method(const struct ll_resources *r)
{
    return r->hwm_reset ? "(max of /proc samples every 150 ms and the kernel's VmHWM, reset at the "
                          "start of the run)"
                        : "(max of /proc samples every 150 ms and the kernel's high-water mark "
                          "since the process started)";
}

static void table_resources(FILE *out, const struct ll_stats *s)
{
    const struct ll_resources *r = &s->res;
    ll_report__line_f(out, "cpu user", r->cpu_user_s, "s");
    ll_report__line_f(out, "cpu system", r->cpu_sys_s, "s");
    ll_report__line_f(out, "cpu per 1000 succeeded", ll_stats_cpu_per_1000(s), "s");
    ll_report__line_f(
        out, "cpu cores used (mean)",
        ll_stats_wall_s(s) > 0 ? (r->cpu_user_s + r->cpu_sys_s) / ll_stats_wall_s(s) : NAN, "");
    ll_report__line_u(out, "context switches voluntary", (uint64_t)(r->nvcsw > 0 ? r->nvcsw : 0));
    ll_report__line_u(out, "context switches involuntary",
                      (uint64_t)(r->nivcsw > 0 ? r->nivcsw : 0));
    if (r->rss_base_kb >= 0) {
        line_kb(out, "rss before the backend", r->rss_base_kb);
    }
    line_kb(out, "rss at start", r->rss_start_kb);
    line_kb(out, "rss peak", r->rss_peak_kb);
    fprintf(out, "%-*s %14s %s\n", LABEL_W, "", "", rss_peak_method(r));
    line_kb(out, "rss mean (sampled)",
            r->rss_samples > 0 ? (long)(r->rss_sum_kb / (double)r->rss_samples) : -1);
    ll_report__line_f(out, "rss per request in flight", ll_stats_rss_per_in_flight(s), "KiB");
    fprintf(out, "%-*s %14s (rss peak - rss %s) / in-flight peak\n", LABEL_W, "", "",
            r->rss_base_kb >= 0 ? "before the backend" : "at start");
    if (r->threads_peak > 0) {
        ll_report__line_u(out, "threads peak", (uint64_t)r->threads_peak);
    } else {
        ll_report__line_f(out, "threads peak", NAN, "");
    }
    ll_report__line_u(out, "backend threads", (uint64_t)(s->be.threads > 0 ? s->be.threads : 0));
    ll_report__line_u(out, "backoff waits", s->be.backoff_waits);
    ll_report__line_f(out, "backoff time", ll_report__ms((double)s->be.backoff_ns), "ms");
    if (s->be.loop_idle_ns >= 0) {
        table_loop(out, s);
    }
}

int ll_report_limit_line(char *buf, size_t n, const struct ll_stats *s, enum ll_limit l)
{
    const struct ll_resources *r = &s->res;
    char ctx[96] = "";
    if (l == LL_LIMIT_DESCRIPTORS && r->nofile_soft != 0) {
        char soft[24], hard[24];
        snprintf(soft, sizeof(soft), "%lld", (long long)r->nofile_soft);
        snprintf(hard, sizeof(hard), "%lld", (long long)r->nofile_hard);
        snprintf(ctx, sizeof(ctx), "; RLIMIT_NOFILE soft %s hard %s",
                 r->nofile_soft < 0 ? "unlimited" : soft, r->nofile_hard < 0 ? "unlimited" : hard);
    } else if (l == LL_LIMIT_PORTS && r->ports_lo > 0) {
        snprintf(ctx, sizeof(ctx), "; ephemeral ports %d-%d per destination", r->ports_lo,
                 r->ports_hi);
    }
    if (s->by_limit[l] > 0) {
        return snprintf(buf, n, "local limit met: %s (%llu requests failed%s)", ll_limit_name(l),
                        (unsigned long long)s->by_limit[l], ctx);
    }
    return snprintf(buf, n, "local limit met: %s (reported by the backend%s)", ll_limit_name(l),
                    ctx);
}

int ll_report_failures_line(char *buf, size_t n, const struct ll_stats *s)
{
    int len = snprintf(buf, n, "%llu failed", (unsigned long long)ll_stats_failed(s));
    const char *sep = " (";
    for (int c = 0; c < LL_CLASS__COUNT && len >= 0 && (size_t)len < n; c++) {
        if (c == LL_CLASS_NONE || c == LL_CLASS_CANCELLED || s->by_class[c] == 0) {
            continue;
        }
        len += snprintf(buf + len, n - (size_t)len, "%s%s: %llu", sep,
                        ll_class_name((enum ll_class)c), (unsigned long long)s->by_class[c]);
        sep = ", ";
    }
    if (*sep == ',' && len >= 0 && (size_t)len < n) {
        len += snprintf(buf + len, n - (size_t)len, ")");
    }
    return len;
}

/* One line per limit met, right under the failures it explains; nothing when none was. */
static void table_limits(FILE *out, const struct ll_stats *s)
{
    char line[256];
    enum ll_limit first = ll_stats_limit_met(s);
    for (int l = LL_LIMIT_NONE + 1; first != LL_LIMIT_NONE && l < LL_LIMIT__COUNT; l++) {
        if (s->by_limit[l] > 0 || l == (int)first) {
            ll_report_limit_line(line, sizeof(line), s, (enum ll_limit)l);
            fprintf(out, "%s\n", line);
        }
    }
}

/* An empty histogram's row: its count, then "-" for every figure it does not have. */
static void hist_row(FILE *out, const char *name, const struct ll_hist *h)
{
    fprintf(out, "%-14s %10llu", name, (unsigned long long)h->n);
    if (h->n == 0) {
        for (size_t i = 0; i < N_PCTS + 2; i++) {
            fprintf(out, " %10s", "-");
        }
        fputc('\n', out);
        return;
    }
    fprintf(out, " %10.3f", ll_report__ms(ll_hist_mean(h)));
    for (size_t i = 0; i < N_PCTS; i++) {
        fprintf(out, " %10.3f", ll_report__ms((double)ll_hist_percentile(h, pcts[i])));
    }
    fprintf(out, " %10.3f\n", ll_report__ms((double)h->max));
}

static void table_latency(FILE *out, const struct ll_stats *s)
{
    char head[16];
    fprintf(out, "%-14s %10s %10s", "latency (ms)", "count", "mean");
    for (size_t i = 0; i < N_PCTS; i++) {
        snprintf(head, sizeof(head), "p%g", pcts[i]);
        fprintf(out, " %10s", head);
    }
    fprintf(out, " %10s\n", "max");
    for (int i = 0; i < LL_H__COUNT; i++) {
        /* The stream's figures only mean something when the run streamed output; the
         * corrected latency only in open loop (a closed loop has no schedule); the connection
         * phases when connections were opened (tls: over HTTPS). */
        bool phase = i == LL_H_DNS || i == LL_H_CONNECT || i == LL_H_TLS || i == LL_H_TTFB;
        if ((((i >= LL_H_TTFT && i <= LL_H_CHUNK_GAP) || phase) && s->hist[i]->n == 0) ||
            (i == LL_H_CORRECTED && !s->open_loop)) {
            continue;
        }
        hist_row(out, ll_stats_hist_name((enum ll_stats_hist)i), s->hist[i]);
    }
    if (s->be.loop_lag != NULL) {
        hist_row(out, "loop_lag", s->be.loop_lag);
    }
}

void ll_report_table(FILE *out, const struct ll_stats *s)
{
    table_requests(out, s);
    table_tokens(out, s);
    table_goodput(out, s);
    table_little(out, s);
    ll_report__schedule_table(out, s);
    table_resources(out, s);
    fputc('\n', out);
    table_latency(out, s);
}

void ll_report_accounting(FILE *out, const struct ll_stats *s)
{
    fprintf(out,
            "accounting %s: submitted %llu = succeeded %llu + failed %llu + cancelled %llu; "
            "results %llu, duplicates %llu, missing %llu\n",
            ll_stats_accounting_ok(s) ? "OK" : "FAILED", (unsigned long long)s->submitted,
            (unsigned long long)ll_stats_succeeded(s), (unsigned long long)ll_stats_failed(s),
            (unsigned long long)s->by_class[LL_CLASS_CANCELLED], (unsigned long long)s->completed,
            (unsigned long long)s->acct_duplicates, (unsigned long long)s->acct_missing);
}

/* ---- JSON ---- */

void ll_report_meta_json(cJSON *doc, const char *command)
{
    char when[32] = "";
    struct tm tm;
    time_t now = time(NULL);
    if (gmtime_r(&now, &tm) != NULL) {
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    cJSON_AddStringToObject(doc, "tool", "llmload");
    cJSON_AddStringToObject(doc, "command", command);
    cJSON_AddNumberToObject(doc, "schema_version", LL_REPORT_SCHEMA_VERSION);
    cJSON_AddStringToObject(doc, "llmload_version", ll_version);
    cJSON_AddStringToObject(doc, "git_commit", ll_git_commit);
    cJSON_AddStringToObject(doc, "created_utc", when);
}

/* An empty histogram measured nothing: its count is 0 and every other figure null. */
static cJSON *hist_json(const struct ll_hist *h)
{
    cJSON *o = cJSON_CreateObject();
    char key[24];
    bool any = h->n > 0;
    cJSON_AddNumberToObject(o, "count", (double)h->n);
    ll_report__add_num(o, "min_ms", any ? ll_report__ms((double)h->min) : NAN);
    ll_report__add_num(o, "mean_ms", any ? ll_report__ms(ll_hist_mean(h)) : NAN);
    ll_report__add_num(o, "stddev_ms", any ? ll_report__ms(ll_hist_stddev(h)) : NAN);
    for (size_t i = 0; i < N_PCTS; i++) {
        /* p99.9 -> "p999_ms" */
        snprintf(key, sizeof(key), "p%g", pcts[i]);
        char *dot = strchr(key, '.');
        if (dot != NULL) {
            memmove(dot, dot + 1, strlen(dot));
        }
        strcat(key, "_ms");
        ll_report__add_num(o, key,
                           any ? ll_report__ms((double)ll_hist_percentile(h, pcts[i])) : NAN);
    }
    ll_report__add_num(o, "max_ms", any ? ll_report__ms((double)h->max) : NAN);
    return o;
}

static cJSON *number_or_null(bool known, double v)
{
    return known ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

/* The table's token figures: null where nothing was counted, the source beside each. */
static void json_tokens(cJSON *o, const struct ll_stats *s)
{
    char note[192];
    const char *src = ll_stats_tokens_source(s);
    double toks = (double)ll_stats_output_tokens(s);
    bool rsn = s->reasoning_usage + s->reasoning_chunked > 0;
    ll_stats_tokens_note(note, sizeof(note), s);
    cJSON_AddItemToObject(
        o, "prompt_tokens",
        number_or_null(ll_stats_succeeded(s) > s->usage_missing, (double)s->prompt_tokens));
    cJSON_AddItemToObject(o, "completion_tokens", number_or_null(src != NULL, toks));
    cJSON_AddItemToObject(o, "completion_tokens_per_s",
                          number_or_null(src != NULL, per(toks, ll_stats_wall_s(s))));
    cJSON_AddItemToObject(o, "tokens_source", src ? cJSON_CreateString(src) : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "tokens_note",
                          note[0] ? cJSON_CreateString(note) : cJSON_CreateNull());
    /* output asked (max_tokens) against received, by usage: null when no success asked */
    cJSON_AddNumberToObject(o, "length_asked", (double)s->out_asked);
    cJSON_AddItemToObject(o, "output_tokens_asked",
                          number_or_null(s->out_asked > 0, (double)s->out_asked_tokens));
    cJSON_AddItemToObject(o, "output_tokens_received_of_asked",
                          number_or_null(s->out_asked > 0, (double)s->out_received_tokens));
    cJSON_AddItemToObject(o, "short_answers",
                          number_or_null(s->out_asked > 0, (double)s->out_short));
    cJSON_AddNumberToObject(o, "usage_missing", (double)s->usage_missing);
    cJSON_AddNumberToObject(o, "tokens_uncounted", (double)ll_stats_tokens_uncounted(s));
    cJSON_AddNumberToObject(o, "output_chunks", (double)s->output_chunks);
    cJSON_AddNumberToObject(o, "stream_tokens", (double)s->stream_tokens);
    cJSON_AddItemToObject(o, "reasoning_tokens", number_or_null(rsn, (double)s->reasoning_tokens));
    cJSON_AddItemToObject(o, "reasoning_tokens_source",
                          !rsn                        ? cJSON_CreateNull()
                          : s->reasoning_chunked == 0 ? cJSON_CreateString("usage")
                          : s->reasoning_usage == 0   ? cJSON_CreateString("chunks")
                                                      : cJSON_CreateString("usage+chunks"));
}

static void json_requests(cJSON *o, const struct ll_stats *s)
{
    cJSON *cls = cJSON_AddObjectToObject(o, "by_class");
    cJSON_AddNumberToObject(o, "wall_s", ll_stats_wall_s(s));
    ll_report__add_num(o, "throughput_rps", ll_stats_throughput(s)); /* successes only */
    ll_report__add_num(o, "failed_rps", ll_stats_failed_rate(s));
    ll_report__add_num(o, "error_share", ll_stats_error_share(s));
    cJSON_AddNumberToObject(o, "submitted", (double)s->submitted);
    cJSON_AddNumberToObject(o, "completed", (double)s->completed);
    cJSON_AddNumberToObject(o, "succeeded", (double)ll_stats_succeeded(s));
    cJSON_AddNumberToObject(o, "failed", (double)ll_stats_failed(s));
    cJSON_AddNumberToObject(o, "cancelled", (double)s->by_class[LL_CLASS_CANCELLED]);
    for (int c = 0; c < LL_CLASS__COUNT; c++) {
        cJSON_AddNumberToObject(cls, ll_class_name((enum ll_class)c), (double)s->by_class[c]);
    }
    cJSON_AddNumberToObject(o, "retries", (double)s->retries);
    cJSON_AddNumberToObject(o, "wire_requests", (double)s->wire_requests);
    cJSON_AddNumberToObject(o, "connects", (double)s->connects);
    /* the most connections open at once (the backend's count; null when it keeps none) */
    ll_report__add_num(o, "connections_open_peak",
                       s->be.conns_open_peak >= 0 ? (double)s->be.conns_open_peak : NAN);
    cJSON_AddNumberToObject(o, "resends", (double)s->resends);
    cJSON_AddNumberToObject(o, "tls_handshakes_full", (double)s->tls_full);
    cJSON_AddNumberToObject(o, "tls_handshakes_resumed", (double)s->tls_resumed);
    cJSON_AddNumberToObject(o, "http2_requests", (double)s->http2_requests);
    if (s->connects > 0) { /* wire requests (re-sends and retries included) per connection */
        cJSON_AddNumberToObject(o, "requests_per_connection",
                                (double)s->wire_requests / (double)s->connects);
    } else {
        cJSON_AddNullToObject(o, "requests_per_connection");
    }
    cJSON_AddNumberToObject(o, "bytes_rx", (double)s->bytes_rx);
    cJSON_AddNumberToObject(o, "bytes_tx", (double)s->bytes_tx);
    cJSON_AddNumberToObject(o, "submit_errors", (double)s->submit_errors);
    json_tokens(o, s);
}

static cJSON *json_goodput(const struct ll_stats *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *slo = cJSON_AddObjectToObject(o, "slo_ms");
    cJSON_AddNumberToObject(slo, "ttft", (double)s->slo.ttft_ms);
    cJSON_AddNumberToObject(slo, "itl", (double)s->slo.itl_ms);
    cJSON_AddNumberToObject(slo, "tpot", (double)s->slo.tpot_ms);
    cJSON_AddNumberToObject(slo, "e2e", (double)s->slo.e2e_ms);
    cJSON_AddStringToObject(o, "itl_rule",
                            "largest per-token gap per request (chunk gap / tokens in the chunk)");
    cJSON_AddStringToObject(o, "tpot_rule", "(e2e - ttft) / (output tokens - 1) per request");
    cJSON_AddStringToObject(o, "measured_from",
                            s->open_loop ? "intended start"
                                         : "dispatch (the request got its slot)");
    cJSON_AddBoolToObject(o, "set", ll_slo_is_set(&s->slo));
    /* Without an SLO nothing was judged: goodput is not measured, not 0 (nor 100%). */
    bool set = ll_slo_is_set(&s->slo);
    ll_report__add_num(o, "good", set ? (double)s->good : NAN);
    ll_report__add_num(o, "goodput_rps",
                       set && ll_stats_wall_s(s) > 0 ? (double)s->good / ll_stats_wall_s(s) : NAN);
    ll_report__add_num(o, "share",
                       set && s->submitted > 0 ? (double)s->good / (double)s->submitted : NAN);
    cJSON_AddNumberToObject(o, "missed_ttft", (double)s->slo_miss_ttft);
    cJSON_AddNumberToObject(o, "missed_itl", (double)s->slo_miss_itl);
    cJSON_AddNumberToObject(o, "missed_tpot", (double)s->slo_miss_tpot);
    cJSON_AddNumberToObject(o, "missed_e2e", (double)s->slo_miss_e2e);
    return o;
}

static cJSON *json_little(const struct ll_stats *s)
{
    struct ll_little l;
    cJSON *o = cJSON_CreateObject();
    ll_stats_little(s, &l);
    cJSON_AddNumberToObject(o, "l_measured", l.l_measured);
    cJSON_AddNumberToObject(o, "l_predicted", l.l_predicted);
    ll_report__add_num(o, "diff", l.diff);
    ll_report__add_num(o, "w_mean_ms", ll_report__ms(l.w_mean_ns));
    cJSON_AddNumberToObject(o, "tolerance", LL_LITTLE_TOLERANCE);
    cJSON_AddBoolToObject(o, "judged", l.judged);
    cJSON_AddBoolToObject(o, "flagged", l.flagged);
    if (l.why_not != NULL) {
        cJSON_AddStringToObject(o, "not_judged", l.why_not);
    } else {
        cJSON_AddNullToObject(o, "not_judged");
    }
    cJSON_AddNumberToObject(o, "outstanding_peak", (double)s->outstanding_peak);
    cJSON_AddNumberToObject(o, "in_flight_peak", (double)ll_stats_in_flight_peak(s));
    return o;
}

static cJSON *json_resources(const struct ll_stats *s)
{
    const struct ll_resources *r = &s->res;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "cpu_user_s", r->cpu_user_s);
    cJSON_AddNumberToObject(o, "cpu_sys_s", r->cpu_sys_s);
    ll_report__add_num(o, "cpu_s_per_1000_requests",
                       ll_stats_cpu_per_1000(s)); /* per 1000 successes */
    cJSON_AddNumberToObject(o, "ctx_switches_voluntary", (double)r->nvcsw);
    cJSON_AddNumberToObject(o, "ctx_switches_involuntary", (double)r->nivcsw);
    /* -1: /proc could not be read, so not measured */
    ll_report__add_num(o, "rss_start_kb", r->rss_start_kb >= 0 ? (double)r->rss_start_kb : NAN);
    ll_report__add_num(o, "rss_peak_kb", r->rss_peak_kb >= 0 ? (double)r->rss_peak_kb : NAN);
    cJSON_AddStringToObject(o, "rss_peak_method", rss_peak_method(r));
    /* the peak's two sources, each of which can miss some of it; rss_peak_kb is their max */
    cJSON *src = cJSON_AddObjectToObject(o, "rss_peak_sources");
    ll_report__add_num(src, "sampled_max_kb",
                       r->rss_sampled_kb >= 0 ? (double)r->rss_sampled_kb : NAN);
    ll_report__add_num(src, "kernel_hwm_kb", r->hwm_kb >= 0 ? (double)r->hwm_kb : NAN);
    ll_report__add_num(o, "rss_mean_kb",
                       r->rss_samples > 0 ? r->rss_sum_kb / (double)r->rss_samples : NAN);
    cJSON_AddNumberToObject(o, "rss_samples", (double)r->rss_samples);
    ll_report__add_num(o, "rss_base_kb", r->rss_base_kb >= 0 ? (double)r->rss_base_kb : NAN);
    ll_report__add_num(o, "rss_per_in_flight_kb", ll_stats_rss_per_in_flight(s));
    cJSON_AddStringToObject(o, "rss_per_in_flight_method",
                            r->rss_base_kb >= 0
                                ? "(rss_peak_kb - rss_base_kb) / in_flight_peak; rss_base_kb is "
                                  "the process before the backend was created"
                                : "(rss_peak_kb - rss_start_kb) / in_flight_peak");
    ll_report__add_num(o, "threads_start", r->threads_start >= 0 ? r->threads_start : NAN);
    ll_report__add_num(o, "threads_peak", r->threads_peak >= 0 ? r->threads_peak : NAN);
    return o;
}

/* What local limits the run met: "met" (the first, or null), failures by limit ("unknown": a
 * RESOURCE failure with no known limit), and the walls as the run found them. */
static cJSON *json_limits(const struct ll_stats *s)
{
    const struct ll_resources *r = &s->res;
    cJSON *o = cJSON_CreateObject();
    enum ll_limit met = ll_stats_limit_met(s);
    if (met != LL_LIMIT_NONE) {
        char line[256];
        cJSON_AddStringToObject(o, "met", ll_limit_name(met));
        ll_report_limit_line(line, sizeof(line), s, met);
        cJSON_AddStringToObject(o, "line", line);
    } else {
        cJSON_AddNullToObject(o, "met");
        cJSON_AddNullToObject(o, "line");
    }
    cJSON *f = cJSON_AddObjectToObject(o, "failed");
    for (int l = 0; l < LL_LIMIT__COUNT; l++) {
        cJSON_AddNumberToObject(f, l == LL_LIMIT_NONE ? "unknown" : ll_limit_name((enum ll_limit)l),
                                (double)s->by_limit[l]);
    }
    cJSON *nf = cJSON_AddObjectToObject(o, "rlimit_nofile");
    if (r->nofile_soft != 0) { /* read; -1 = unlimited, written as null */
        cJSON_AddItemToObject(nf, "soft",
                              r->nofile_soft < 0 ? cJSON_CreateNull()
                                                 : cJSON_CreateNumber((double)r->nofile_soft));
        cJSON_AddItemToObject(nf, "hard",
                              r->nofile_hard < 0 ? cJSON_CreateNull()
                                                 : cJSON_CreateNumber((double)r->nofile_hard));
    }
    if (r->ports_lo > 0) {
        cJSON *p = cJSON_AddArrayToObject(o, "ephemeral_ports");
        cJSON_AddItemToArray(p, cJSON_CreateNumber(r->ports_lo));
        cJSON_AddItemToArray(p, cJSON_CreateNumber(r->ports_hi));
    }
    return o;
}

static cJSON *json_backend(const struct ll_stats *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "threads", s->be.threads);
    cJSON_AddNumberToObject(o, "backoff_waits", (double)s->be.backoff_waits);
    cJSON_AddNumberToObject(o, "backoff_ms", ll_report__ms((double)s->be.backoff_ns));
    struct ll_loop_split l;
    bool loop = s->be.loop_idle_ns >= 0;
    ll_stats_loop_split(s, &l);
    ll_report__add_num(o, "loop_idle_ms", loop ? ll_report__ms((double)s->be.loop_idle_ns) : NAN);
    ll_report__add_num(o, "loop_run_ms", loop ? ll_report__ms((double)s->be.loop_run_ns) : NAN);
    ll_report__add_num(o, "loop_iterations", loop ? (double)s->be.loop_iterations : NAN);
    ll_report__add_num(o, "loop_busy_share", l.busy);
    ll_report__add_num(o, "loop_idle_share", l.idle);
    ll_report__add_num(o, "outside_loop_share", l.outside);
    if (s->be.loop_lag != NULL) {
        cJSON_AddItemToObject(o, "loop_lag", hist_json(s->be.loop_lag));
    } else {
        cJSON_AddNullToObject(o, "loop_lag");
    }
    if (s->be.limit_hit != NULL) {
        cJSON_AddStringToObject(o, "limit_hit", s->be.limit_hit);
    } else {
        cJSON_AddNullToObject(o, "limit_hit");
    }
    return o;
}

cJSON *ll_report_stats_json(const struct ll_stats *s)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL) {
        return NULL;
    }
    cJSON *req = cJSON_AddObjectToObject(o, "requests");
    if (req != NULL) {
        json_requests(req, s);
    }
    cJSON *lat = cJSON_AddObjectToObject(o, "latency");
    for (int i = 0; lat != NULL && i < LL_H__COUNT; i++) {
        const char *name = ll_stats_hist_name((enum ll_stats_hist)i);
        if (i == LL_H_CORRECTED && !s->open_loop) {
            cJSON_AddNullToObject(lat, name); /* no schedule: no such figure */
            continue;
        }
        cJSON_AddItemToObject(lat, name, hist_json(s->hist[i]));
    }
    cJSON_AddItemToObject(o, "goodput", json_goodput(s));
    cJSON_AddItemToObject(o, "littles_law", json_little(s));
    cJSON_AddItemToObject(o, "schedule", ll_report__schedule_json(s));
    cJSON_AddItemToObject(o, "resources", json_resources(s));
    cJSON_AddItemToObject(o, "backend", json_backend(s));
    cJSON_AddItemToObject(o, "limits", json_limits(s));
    cJSON *acct = cJSON_AddObjectToObject(o, "accounting");
    cJSON_AddBoolToObject(acct, "ok", ll_stats_accounting_ok(s));
    cJSON_AddNumberToObject(acct, "duplicates", (double)s->acct_duplicates);
    cJSON_AddNumberToObject(acct, "missing", (double)s->acct_missing);
    /* cJSON makes a failed add a no-op on a NULL parent; one check at the end is enough. */
    if (req == NULL || lat == NULL || acct == NULL) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

cJSON *ll_report_config_json(const struct ll_config *cfg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *urls = cJSON_AddArrayToObject(o, "base_urls");
    for (size_t i = 0; urls != NULL && i < cfg->n_base_urls; i++) {
        cJSON_AddItemToArray(urls, cJSON_CreateString(cfg->base_urls[i]));
    }
    cJSON_AddBoolToObject(o, "api_key_set", cfg->api_key != NULL && cfg->api_key[0] != '\0');
    cJSON_AddStringToObject(o, "api_key_header", /* the header's name, never the key */
                            cfg->api_key_header ? cfg->api_key_header : "Authorization: Bearer");
    cJSON_AddBoolToObject(o, "compressed", cfg->compressed);
    cJSON_AddStringToObject(o, "default_model", cfg->default_model ? cfg->default_model : "");
    cJSON_AddNumberToObject(o, "concurrency", cfg->concurrency);
    cJSON *r = cJSON_AddObjectToObject(o, "retry");
    cJSON_AddNumberToObject(r, "max_attempts", cfg->retry.max_attempts);
    cJSON_AddNumberToObject(r, "base_ms", (double)cfg->retry.base_ms);
    cJSON_AddNumberToObject(r, "factor", cfg->retry.factor);
    cJSON_AddNumberToObject(r, "cap_ms", (double)cfg->retry.cap_ms);
    cJSON_AddBoolToObject(r, "jitter", cfg->retry.jitter);
    cJSON_AddBoolToObject(r, "honor_retry_after", cfg->retry.honor_retry_after);
    cJSON_AddNumberToObject(r, "max_retry_after_ms", (double)cfg->retry.max_retry_after_ms);
    cJSON_AddNumberToObject(r, "max_retry_wait_ms", (double)cfg->retry.max_retry_wait_ms);
    cJSON_AddNumberToObject(o, "connect_timeout_ms", (double)cfg->connect_timeout_ms);
    cJSON_AddNumberToObject(o, "ttfb_timeout_ms", (double)cfg->ttfb_timeout_ms);
    cJSON_AddNumberToObject(o, "idle_timeout_ms", (double)cfg->idle_timeout_ms);
    cJSON_AddNumberToObject(o, "timeout_ms", (double)cfg->timeout_ms);
    cJSON_AddBoolToObject(r, "retry_partial", cfg->retry.retry_partial);
    cJSON_AddBoolToObject(o, "no_reuse", cfg->no_reuse);
    cJSON_AddBoolToObject(o, "no_tls_resume", cfg->no_tls_resume);
    cJSON_AddBoolToObject(o, "verify_tls", cfg->verify_tls);
    if (cfg->ca_file != NULL) {
        cJSON_AddStringToObject(o, "ca_file", cfg->ca_file);
    } else {
        cJSON_AddNullToObject(o, "ca_file"); /* the system's CA store */
    }
    cJSON_AddStringToObject(o, "http", cfg->http_version == LL_HTTP_2 ? "2" : "1.1");
    if (cfg->max_connections > 0) {
        cJSON_AddNumberToObject(o, "max_connections", (double)cfg->max_connections);
    } else {
        cJSON_AddNullToObject(o, "max_connections"); /* no cap */
    }
    cJSON_AddBoolToObject(o, "blocking", cfg->blocking);
    cJSON_AddNumberToObject(o, "stack_size", (double)cfg->stack_size);
    cJSON_AddNumberToObject(o, "seed", (double)cfg->seed);
    return o;
}

static bool credential_header(const char *name, size_t len)
{
    static const char *const words[] = {"authorization", "api-key", "apikey",  "token",
                                        "cookie",        "secret",  "password"};
    char low[64];
    if (len >= sizeof(low)) {
        return true; /* an unusually long name: redact rather than guess */
    }
    for (size_t i = 0; i < len; i++) {
        low[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i]);
    }
    low[len] = '\0';
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (strstr(low, words[i]) != NULL) {
            return true;
        }
    }
    return false;
}

cJSON *ll_report_headers_json(const char *const *headers, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    char buf[256];
    for (size_t i = 0; a != NULL && i < n; i++) {
        const char *colon = strchr(headers[i], ':');
        size_t nlen = colon != NULL ? (size_t)(colon - headers[i]) : strlen(headers[i]);
        if (credential_header(headers[i], nlen)) {
            snprintf(buf, sizeof(buf), "%.*s: <redacted>", (int)(nlen < 200 ? nlen : 200),
                     headers[i]);
            cJSON_AddItemToArray(a, cJSON_CreateString(buf));
        } else {
            cJSON_AddItemToArray(a, cJSON_CreateString(headers[i]));
        }
    }
    return a;
}

int ll_report_write_json(const cJSON *doc, const char *path)
{
    char *text = cJSON_Print(doc);
    int err = 0;
    if (text == NULL) {
        return LL_ENOMEM;
    }
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
    if (f == NULL) {
        free(text);
        return LL_EIO;
    }
    if (fputs(text, f) == EOF || fputc('\n', f) == EOF) {
        err = LL_EIO;
    }
    if (f != stdout ? fclose(f) != 0 : fflush(f) != 0) {
        err = LL_EIO;
    }
    free(text);
    return err;
}
