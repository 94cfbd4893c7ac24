/* curl_multi_peer.c - the libcurl reference peer: what libcurl alone costs.
 *
 *   curl_multi_peer --url BASE --concurrency C --requests N [--json FILE]
 *
 * One thread, one multi handle, C easy handles that POST wrk's body (bench/lib/post.lua) and
 * discard the answer: no JSON, no accounting, no stats beyond a latency per request. The loop is
 * the plain curl_multi_perform + curl_multi_poll one, the way most multi programs are written.
 * The evented backend does everything this does plus parsing, classification, retries and
 * statistics; the gap between the two is what llmload itself costs, and the gap between this
 * and wrk is what libcurl costs. Output: the run-like JSON bench/report.py reads (the same
 * fields as the httpx peer's). */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "ll_clock.h"
#include "ll_hist.h"
#include "ll_opts.h"
#include "ll_stats.h"

static const char body[] =
    "{\"model\":\"gpt-mock\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}],"
    "\"max_tokens\":16}";

struct slot {
    CURL *easy;
    int64_t t0;
};

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

static int usage(const char *why)
{
    fprintf(stderr,
            "curl_multi_peer: %s\nusage: curl_multi_peer --url BASE --concurrency C "
            "--requests N [--json FILE]\n",
            why);
    return 2;
}

static int write_json(const char *path, const char *url, long c, long n, double wall, size_t done,
                      size_t ok, const struct ll_hist *lat, const struct rusage *r0,
                      const struct rusage *r1, long rss0)
{
    double user = (double)(r1->ru_utime.tv_sec - r0->ru_utime.tv_sec) +
                  (double)(r1->ru_utime.tv_usec - r0->ru_utime.tv_usec) / 1e6;
    double sys = (double)(r1->ru_stime.tv_sec - r0->ru_stime.tv_sec) +
                 (double)(r1->ru_stime.tv_usec - r0->ru_stime.tv_usec) / 1e6;
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "tool", "curl_multi_peer");
    cJSON *cfg = cJSON_AddObjectToObject(doc, "config");
    cJSON_AddStringToObject(cfg, "backend", "curl");
    cJSON_AddStringToObject(cfg, "mode", "closed");
    cJSON_AddNumberToObject(cfg, "concurrency", (double)c);
    cJSON_AddNumberToObject(cfg, "requests", (double)n);
    cJSON_AddStringToObject(cfg, "endpoint", url);
    cJSON_AddStringToObject(cfg, "curl", curl_version_info(CURLVERSION_NOW)->version);
    cJSON *res = cJSON_AddObjectToObject(doc, "results");
    cJSON *rq = cJSON_AddObjectToObject(res, "requests");
    cJSON_AddNumberToObject(rq, "wall_s", wall);
    /* Throughput and CPU per request count successes only, as llmload's own figures do. */
    cJSON_AddNumberToObject(rq, "throughput_rps", wall > 0 ? (double)ok / wall : 0.0);
    cJSON_AddNumberToObject(rq, "submitted", (double)n);
    cJSON_AddNumberToObject(rq, "completed", (double)done);
    cJSON_AddNumberToObject(rq, "succeeded", (double)ok);
    cJSON_AddNumberToObject(rq, "failed", (double)(done - ok));
    cJSON_AddNumberToObject(rq, "retries", 0);
    cJSON *e2e = cJSON_AddObjectToObject(cJSON_AddObjectToObject(res, "latency"), "e2e");
    cJSON_AddNumberToObject(e2e, "count", (double)done);
    cJSON_AddNumberToObject(e2e, "mean_ms", ll_hist_mean(lat) / 1e6);
    cJSON_AddNumberToObject(e2e, "p50_ms", (double)ll_hist_percentile(lat, 50) / 1e6);
    cJSON_AddNumberToObject(e2e, "p90_ms", (double)ll_hist_percentile(lat, 90) / 1e6);
    cJSON_AddNumberToObject(e2e, "p99_ms", (double)ll_hist_percentile(lat, 99) / 1e6);
    cJSON_AddNumberToObject(e2e, "p999_ms", (double)ll_hist_percentile(lat, 99.9) / 1e6);
    cJSON_AddNumberToObject(e2e, "max_ms", (double)ll_hist_percentile(lat, 100) / 1e6);
    cJSON *rs = cJSON_AddObjectToObject(res, "resources");
    cJSON_AddNumberToObject(rs, "cpu_user_s", user);
    cJSON_AddNumberToObject(rs, "cpu_sys_s", sys);
    if (ok > 0) {
        cJSON_AddNumberToObject(rs, "cpu_s_per_1000_requests", (user + sys) * 1000.0 / (double)ok);
    } else {
        cJSON_AddNullToObject(rs, "cpu_s_per_1000_requests"); /* not measured */
    }
    cJSON_AddNumberToObject(rs, "rss_start_kb", (double)rss0);
    cJSON_AddNumberToObject(rs, "rss_peak_kb", (double)r1->ru_maxrss);
    cJSON_AddNumberToObject(rs, "threads_peak", 1);
    cJSON_AddNumberToObject(rs, "ctx_switches_voluntary", (double)(r1->ru_nvcsw - r0->ru_nvcsw));
    char *text = cJSON_Print(doc);
    cJSON_Delete(doc);
    if (text == NULL) {
        return -1;
    }
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
    int rc = f != NULL && fputs(text, f) >= 0 && fputc('\n', f) != EOF ? 0 : -1;
    if (f != NULL && f != stdout && fclose(f) != 0) {
        rc = -1;
    }
    cJSON_free(text);
    return rc;
}

int main(int argc, char **argv)
{
    const char *base = NULL, *json = "-";
    int64_t c = 0, n = 0;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc) {
            return usage("every option takes a value");
        }
        if (strcmp(argv[i], "--url") == 0) {
            base = argv[++i];
        } else if (strcmp(argv[i], "--json") == 0) {
            json = argv[++i];
        } else if (strcmp(argv[i], "--concurrency") == 0) {
            if (ll_parse_int(argv[++i], 1, 100000, &c) != 0) {
                return usage("--concurrency wants an integer in [1, 100000]");
            }
        } else if (strcmp(argv[i], "--requests") == 0) {
            if (ll_parse_int(argv[++i], 1, 100000000, &n) != 0) {
                return usage("--requests wants an integer in [1, 1e8]");
            }
        } else {
            return usage("unknown option");
        }
    }
    if (base == NULL || c == 0 || n == 0) {
        return usage("--url, --concurrency and --requests are required");
    }
    char url[2048];
    if ((size_t)snprintf(url, sizeof(url), "%s/chat/completions", base) >= sizeof(url)) {
        return usage("--url too long");
    }
    if (c > n) {
        c = n;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURLM *multi = curl_multi_init();
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:");
    struct slot *slots = calloc((size_t)c, sizeof(*slots));
    struct ll_hist *lat = malloc(sizeof(*lat)); /* the project's histogram: constant memory */
    if (multi == NULL || hdrs == NULL || slots == NULL || lat == NULL) {
        fprintf(stderr, "curl_multi_peer: out of memory\n");
        return 1;
    }
    ll_hist_init(lat);
    long rss0 = ll_proc_rss_kb();
    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    int64_t t_start = ll_now_ns();
    long started = 0;
    size_t done = 0, ok = 0;
    for (long i = 0; i < c; i++) {
        CURL *e = slots[i].easy = curl_easy_init();
        if (e == NULL) {
            fprintf(stderr, "curl_multi_peer: curl_easy_init failed\n");
            return 1;
        }
        curl_easy_setopt(e, CURLOPT_URL, url);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(e, CURLOPT_PROXY, "");
        curl_easy_setopt(e, CURLOPT_TIMEOUT, 60L);
        curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)&slots[i]);
        slots[i].t0 = ll_now_ns();
        curl_multi_add_handle(multi, e);
        started++;
    }
    int running = 1;
    while (done < (size_t)n) {
        curl_multi_perform(multi, &running);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(multi, &left)) != NULL) {
            if (m->msg != CURLMSG_DONE) {
                continue;
            }
            CURL *e = m->easy_handle;
            CURLcode rc = m->data.result;
            struct slot *s = NULL;
            long status = 0;
            curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&s);
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
            ll_hist_record(lat, ll_now_ns() - s->t0);
            done++;
            ok += rc == CURLE_OK && status == 200;
            curl_multi_remove_handle(multi, e);
            if (started < n) {
                s->t0 = ll_now_ns();
                curl_multi_add_handle(multi, e);
                started++;
            }
        }
        if (done < (size_t)n && curl_multi_poll(multi, NULL, 0, 1000, NULL) != CURLM_OK) {
            break;
        }
    }
    double wall = (double)(ll_now_ns() - t_start) / 1e9;
    getrusage(RUSAGE_SELF, &r1);
    int rc = write_json(json, base, c, n, wall, done, ok, lat, &r0, &r1, rss0);
    for (long i = 0; i < c; i++) {
        curl_multi_remove_handle(multi, slots[i].easy);
        curl_easy_cleanup(slots[i].easy);
    }
    curl_multi_cleanup(multi);
    curl_slist_free_all(hdrs);
    free(slots);
    free(lat);
    curl_global_cleanup();
    if (rc != 0) {
        fprintf(stderr, "curl_multi_peer: cannot write %s\n", json);
        return 1;
    }
    fprintf(stderr,
            "curl_multi_peer: %zu requests (%zu ok) at %ld in flight in %.3f s: %.0f req/s\n", done,
            ok, c, wall, wall > 0 ? (double)done / wall : 0.0);
    return done == (size_t)n && ok == done ? 0 : 1;
}
