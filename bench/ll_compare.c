/* ll_compare.c - `llmload compare A.json B.json`: two runs side by side, with B/A ratios.
 *
 * A and B are files written by `llmload run --json` (bench.sh keeps one per cell in
 * results/<ts>/raw/, where the wrk and httpx peers' files carry the same core keys, so a backend
 * can be compared with a peer too). A figure absent from a file prints "-". The configurations
 * are compared first and every difference is listed, because a ratio between two different
 * workloads is rarely what was meant. Output is plain, aligned text, stable enough to diff.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cJSON.h>

#include "ll_cmd.h"

#define WHO         "llmload compare"
#define MAX_JSON_SZ (64L << 20)

/* One row: a label and a dotted path into the run's JSON. */
struct cmp_row {
    const char *label;
    const char *path;
};

static const struct cmp_row rows[] = {
    {"throughput req/s", "results.requests.throughput_rps"},
    {"wall s", "results.requests.wall_s"},
    {"requests succeeded", "results.requests.succeeded"},
    {"requests failed", "results.requests.failed"},
    {"retries", "results.requests.retries"},
    {"goodput share", "results.goodput.share"},
    {"e2e p50 ms", "results.latency.e2e.p50_ms"},
    {"e2e p90 ms", "results.latency.e2e.p90_ms"},
    {"e2e p99 ms", "results.latency.e2e.p99_ms"},
    {"e2e p99.9 ms", "results.latency.e2e.p999_ms"},
    {"e2e max ms", "results.latency.e2e.max_ms"},
    {"corrected p99 ms", "results.latency.corrected.p99_ms"},
    {"last attempt p99 ms", "results.latency.last_attempt.p99_ms"},
    {"queue wait p99 ms", "results.latency.queue_wait.p99_ms"},
    {"ttft p50 ms", "results.latency.ttft.p50_ms"},
    {"ttft p99 ms", "results.latency.ttft.p99_ms"},
    {"tpot p50 ms", "results.latency.tpot.p50_ms"},
    {"itl p50 ms", "results.latency.itl.p50_ms"},
    {"itl p99 ms", "results.latency.itl.p99_ms"},
    {"chunk gap p50 ms", "results.latency.chunk_gap.p50_ms"},
    {"completion tokens/s", "results.requests.completion_tokens_per_s"},
    {"cpu s per 1000 req", "results.resources.cpu_s_per_1000_requests"},
    {"rss peak KiB", "results.resources.rss_peak_kb"},
    {"rss KiB per in flight", "results.resources.rss_per_in_flight_kb"},
    {"threads peak", "results.resources.threads_peak"},
    {"ctx switches vol", "results.resources.ctx_switches_voluntary"},
    {"ctx switches invol", "results.resources.ctx_switches_involuntary"},
    {"loop lag p99 ms", "results.backend.loop_lag.p99_ms"},
    {"sends slipped max ms", "results.schedule.slip_max_ms"},
    {NULL, NULL},
};

/* Configuration keys whose difference makes the comparison suspect. */
static const char *const config_keys[] = {
    "config.mode",
    "config.concurrency",
    "config.rate",
    "config.requests",
    "config.stream",
    "config.max_tokens",
    "config.retries",
    "config.arrivals",
    "config.mock.latency_ms",
    "config.mock.fault_rate",
    NULL,
};

/* Follow a dotted path; NULL when any step is missing. */
static const cJSON *jpath(const cJSON *root, const char *path)
{
    char key[64];
    const cJSON *at = root;
    while (at != NULL && *path != '\0') {
        size_t n = strcspn(path, ".");
        if (n >= sizeof(key)) {
            return NULL;
        }
        memcpy(key, path, n);
        key[n] = '\0';
        at = cJSON_GetObjectItemCaseSensitive(at, key);
        path += n + (path[n] == '.');
    }
    return at;
}

static bool jnum(const cJSON *root, const char *path, double *out)
{
    const cJSON *v = jpath(root, path);
    if (!cJSON_IsNumber(v)) {
        return false;
    }
    *out = v->valuedouble;
    return true;
}

/* A scalar as short text ("-" when absent) for headers and config differences. */
static void jtext(const cJSON *root, const char *path, char *buf, size_t len)
{
    const cJSON *v = jpath(root, path);
    if (cJSON_IsNumber(v)) {
        snprintf(buf, len, "%g", v->valuedouble);
    } else if (cJSON_IsString(v)) {
        snprintf(buf, len, "%s", v->valuestring);
    } else if (cJSON_IsBool(v)) {
        snprintf(buf, len, "%s", cJSON_IsTrue(v) ? "true" : "false");
    } else {
        snprintf(buf, len, "-");
    }
}

/* Read and parse one file. NULL after one line on stderr. */
static cJSON *load(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    cJSON *doc = NULL;
    long sz = 0;
    struct stat st;
    if (f == NULL) {
        fprintf(stderr, "%s: cannot open %s: %s\n", WHO, path, strerror(errno));
        return NULL;
    }
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "%s: cannot read %s: %s\n", WHO, path,
                S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
        goto out;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (sz = ftell(f)) < 0 || sz > MAX_JSON_SZ ||
        fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "%s: cannot read %s: %s\n", WHO, path,
                sz > MAX_JSON_SZ ? "larger than 64 MiB" : strerror(errno));
        goto out;
    }
    buf = malloc((size_t)sz + 1);
    if (buf == NULL || fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
        fprintf(stderr, "%s: cannot read %s: %s\n", WHO, path,
                buf == NULL ? "out of memory" : strerror(errno));
        goto out;
    }
    buf[sz] = '\0';
    doc = cJSON_Parse(buf);
    if (doc == NULL || !cJSON_IsObject(jpath(doc, "results"))) {
        fprintf(stderr, "%s: %s is not an `llmload run --json` file (no \"results\" object)\n", WHO,
                path);
        cJSON_Delete(doc);
        doc = NULL;
    }
out:
    free(buf);
    fclose(f);
    return doc;
}

static void print_num(double v, bool have)
{
    if (!have) {
        printf(" %14s", "-");
    } else if (fabs(v) >= 1e9 || (v != 0 && fabs(v) < 1e-3)) {
        printf(" %14.4g", v);
    } else if (v == floor(v)) {
        printf(" %14.0f", v);
    } else {
        printf(" %14.3f", v);
    }
}

static void print_side(const char *tag, const char *path, const cJSON *doc)
{
    char be[32], mode[16], c[24], rate[24], n[24];
    jtext(doc, "config.backend", be, sizeof(be));
    jtext(doc, "config.mode", mode, sizeof(mode));
    jtext(doc, "config.concurrency", c, sizeof(c));
    jtext(doc, "config.rate", rate, sizeof(rate));
    jtext(doc, "config.requests", n, sizeof(n));
    printf("%s: %s\n   backend=%s mode=%s concurrency=%s rate=%s requests=%s\n", tag, path, be,
           mode, c, rate, n);
}

static int compare(const char *pa, const char *pb, const cJSON *a, const cJSON *b)
{
    char va[64], vb[64];
    int ndiff = 0;
    print_side("A", pa, a);
    print_side("B", pb, b);
    for (const char *const *k = config_keys; *k != NULL; k++) {
        jtext(a, *k, va, sizeof(va));
        jtext(b, *k, vb, sizeof(vb));
        /* A peer's file (wrk, httpx) lacks most keys: only a real difference is listed. */
        if (strcmp(va, "-") != 0 && strcmp(vb, "-") != 0 && strcmp(va, vb) != 0) {
            printf("%s %s: %s vs %s\n", ndiff++ == 0 ? "configs differ:" : "               ",
                   *k + strlen("config."), va, vb);
        }
    }
    printf("\n%-24s %14s %14s %9s\n", "figure", "A", "B", "B/A");
    for (const struct cmp_row *r = rows; r->label != NULL; r++) {
        double x = 0, y = 0;
        bool hx = jnum(a, r->path, &x), hy = jnum(b, r->path, &y);
        if ((!hx || x == 0) && (!hy || y == 0)) {
            continue; /* e.g. TTFT of a run that did not stream */
        }
        printf("%-24s", r->label);
        print_num(x, hx);
        print_num(y, hy);
        if (hx && hy && x != 0) {
            printf(" %9.2f\n", y / x);
        } else {
            printf(" %9s\n", "-");
        }
    }
    return LL_EXIT_OK;
}

static void help(FILE *out)
{
    fprintf(out, "usage: llmload compare A.json B.json\n\n"
                 "Prints two runs side by side with the ratio B/A for every figure both have.\n"
                 "A and B are files written by `llmload run --json FILE` (bench/bench.sh keeps "
                 "one per cell\nin bench/results/<timestamp>/raw/; its wrk and httpx peer files "
                 "carry the same core keys).\nConfiguration differences (mode, concurrency, "
                 "rate, requests, stream, mock latency...) are\nlisted first.\n\n"
                 "exit: 0 ok, 1 a file is unreadable or not a run's JSON, 2 usage\n");
}

int ll_cmd_compare(int argc, char **argv)
{
    cJSON *a = NULL, *b = NULL;
    int rc = LL_EXIT_FAIL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            help(stdout);
            return LL_EXIT_OK;
        }
    }
    if (argc != 2) {
        fprintf(stderr, "%s: want two files, A.json B.json (see --help)\n", WHO);
        return LL_EXIT_USAGE;
    }
    if ((a = load(argv[0])) != NULL && (b = load(argv[1])) != NULL) {
        rc = compare(argv[0], argv[1], a, b);
    }
    cJSON_Delete(a);
    cJSON_Delete(b);
    return rc;
}
