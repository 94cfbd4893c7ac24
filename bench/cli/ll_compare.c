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
#include <unistd.h>

#include <cJSON.h>

#include "ll_cmd.h"
#include "ll_err.h"
#include "ll_report.h"
#include "ll_thresh.h"

#define WHO         "llmload compare"
#define MAX_JSON_SZ (64L << 20)

/* One row: a label and a dotted path into the run's JSON. A share (0..1) is compared by its
 * change B - A in percentage points: its ratio is undefined when A's is 0. */
struct cmp_row {
    const char *label;
    const char *path;
    bool share;
};

/* Figures computed from others rather than read (see derived()): throughput counts successes
 * only, also in files written before it did (their throughput_rps counted every completion). */
#define OK_RPS      "=ok_rps"
#define FAILED_RPS  "=failed_rps"
#define ERROR_SHARE "=error_share"

static const struct cmp_row rows[] = {
    {"throughput req/s (ok)", OK_RPS, false},
    {"failed req/s", FAILED_RPS, false},
    {"error share %", ERROR_SHARE, true},
    {"wall s", "results.requests.wall_s", false},
    {"requests succeeded", "results.requests.succeeded", false},
    {"requests failed", "results.requests.failed", false},
    {"retries", "results.requests.retries", false},
    {"goodput share", "results.goodput.share", true},
    {"e2e p50 ms", "results.latency.e2e.p50_ms", false},
    {"e2e p90 ms", "results.latency.e2e.p90_ms", false},
    {"e2e p99 ms", "results.latency.e2e.p99_ms", false},
    {"e2e p99.9 ms", "results.latency.e2e.p999_ms", false},
    {"e2e max ms", "results.latency.e2e.max_ms", false},
    {"corrected p99 ms", "results.latency.corrected.p99_ms", false},
    {"last attempt p99 ms", "results.latency.last_attempt.p99_ms", false},
    {"queue wait p99 ms", "results.latency.queue_wait.p99_ms", false},
    {"ttft p50 ms", "results.latency.ttft.p50_ms", false},
    {"ttft p99 ms", "results.latency.ttft.p99_ms", false},
    {"tpot p50 ms", "results.latency.tpot.p50_ms", false},
    {"itl p50 ms", "results.latency.itl.p50_ms", false},
    {"itl p99 ms", "results.latency.itl.p99_ms", false},
    {"chunk gap p50 ms", "results.latency.chunk_gap.p50_ms", false},
    {"completion tokens/s", "results.requests.completion_tokens_per_s", false},
    {"cpu s per 1000 req", "results.resources.cpu_s_per_1000_requests", false},
    {"rss peak KiB", "results.resources.rss_peak_kb", false},
    {"rss KiB per in flight", "results.resources.rss_per_in_flight_kb", false},
    {"threads peak", "results.resources.threads_peak", false},
    {"ctx switches vol", "results.resources.ctx_switches_voluntary", false},
    {"ctx switches invol", "results.resources.ctx_switches_involuntary", false},
    {"loop lag p99 ms", "results.backend.loop_lag.p99_ms", false},
    {"sends slipped max ms", "results.schedule.slip_max_ms", false},
    {NULL, NULL, false},
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
    "config.mock.args",
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

/* The derived rows: successes (or failures) per second of wall time, and the error share;
 * false when the file lacks what they need. */
static bool derived(const cJSON *root, const char *what, double *out)
{
    double ok, failed, wall;
    if (!jnum(root, "results.requests.succeeded", &ok) ||
        !jnum(root, "results.requests.failed", &failed)) {
        return false;
    }
    if (strcmp(what, ERROR_SHARE) == 0) {
        *out = ok + failed > 0 ? failed / (ok + failed) : 0.0;
        return ok + failed > 0;
    }
    if (!jnum(root, "results.requests.wall_s", &wall) || !(wall > 0)) {
        return false;
    }
    *out = (strcmp(what, OK_RPS) == 0 ? ok : failed) / wall;
    return true;
}

/* One row's figure: read at its path, or derived. */
static bool figure(const cJSON *root, const char *path, double *out)
{
    return path[0] == '=' ? derived(root, path, out) : jnum(root, path, out);
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
    double ok, failed;
    jtext(doc, "config.backend", be, sizeof(be));
    jtext(doc, "config.mode", mode, sizeof(mode));
    jtext(doc, "config.concurrency", c, sizeof(c));
    jtext(doc, "config.rate", rate, sizeof(rate));
    jtext(doc, "config.requests", n, sizeof(n));
    printf("%s: %s\n   backend=%s mode=%s concurrency=%s rate=%s requests=%s\n", tag, path, be,
           mode, c, rate, n);
    if (jnum(doc, "results.requests.succeeded", &ok) &&
        jnum(doc, "results.requests.failed", &failed) && ok == 0 && failed > 0) {
        printf("   no request succeeded (%.0f failed): its latency and throughput measure "
               "nothing\n",
               failed);
    }
}

/* A configuration value as text. The embedded mock's settings that were not given are its
 * defaults, which differ from any setting given; the mock's extra arguments are one string. */
static void cfg_text(const cJSON *doc, const char *key, char *buf, size_t len)
{
    const cJSON *v = jpath(doc, key);
    bool embedded = cJSON_IsTrue(jpath(doc, "config.mock.embedded"));
    if (cJSON_IsArray(v)) {
        size_t n = 0;
        const cJSON *e;
        buf[0] = '\0';
        cJSON_ArrayForEach(e, v)
        {
            if (cJSON_IsString(e) && n < len) {
                n += (size_t)snprintf(buf + n, len - n, "%s%s", n > 0 ? " " : "", e->valuestring);
            }
        }
        if (n == 0) {
            snprintf(buf, len, "none");
        }
        return;
    }
    jtext(doc, key, buf, len);
    if (strcmp(buf, "-") == 0 && embedded && strncmp(key, "config.mock.", 12) == 0) {
        snprintf(buf, len, "mockllm's default");
    }
}

/* Configuration differences: listed on stdout and, with --json, as {"key", "a", "b"}. */
static void config_diff(const cJSON *a, const cJSON *b, cJSON *out)
{
    char va[256], vb[256];
    int ndiff = 0;
    for (const char *const *k = config_keys; *k != NULL; k++) {
        cfg_text(a, *k, va, sizeof(va));
        cfg_text(b, *k, vb, sizeof(vb));
        /* A peer's file (wrk, httpx) lacks most keys: only a real difference is listed. */
        if (strcmp(va, "-") != 0 && strcmp(vb, "-") != 0 && strcmp(va, vb) != 0) {
            printf("%s %s: %s vs %s\n", ndiff++ == 0 ? "configs differ:" : "               ",
                   *k + strlen("config."), va, vb);
            cJSON *d = cJSON_CreateObject();
            cJSON_AddStringToObject(d, "key", *k + strlen("config."));
            cJSON_AddStringToObject(d, "a", va);
            cJSON_AddStringToObject(d, "b", vb);
            cJSON_AddItemToArray(out, d);
        }
    }
}

static void add_fig(cJSON *o, const char *key, double v, bool have)
{
    if (have) {
        cJSON_AddNumberToObject(o, key, v);
    } else {
        cJSON_AddNullToObject(o, key);
    }
}

/* The table of figures, and with --json the same as [{"label", "path", "a", "b", "ratio"}]
 * ("difference" B - A instead of "ratio" for a share). */
static void figures(const cJSON *a, const cJSON *b, cJSON *out)
{
    printf("\n%-24s %14s %14s %9s\n", "figure", "A", "B", "B/A");
    for (const struct cmp_row *r = rows; r->label != NULL; r++) {
        double x = 0, y = 0;
        bool hx = figure(a, r->path, &x), hy = figure(b, r->path, &y);
        if ((!hx || x == 0) && (!hy || y == 0)) {
            continue; /* e.g. TTFT of a run that did not stream */
        }
        printf("%-24s", r->label);
        double pct = r->share ? 100.0 : 1.0; /* a share reads in %, as llmload run prints it */
        print_num(pct * x, hx);
        print_num(pct * y, hy);
        bool hr = hx && hy && (r->share || x != 0);
        double v = r->share ? y - x : y / x;
        if (hr && r->share) {
            printf(" %+7.2fpt\n", 100.0 * v); /* percentage points */
        } else if (hr) {
            printf(" %9.2f\n", v);
        } else {
            printf(" %9s\n", "-");
        }
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "label", r->label);
        cJSON_AddStringToObject(f, "path", r->path);
        add_fig(f, "a", x, hx);
        add_fig(f, "b", y, hy);
        add_fig(f, r->share ? "difference" : "ratio", hr ? v : 0, hr);
        cJSON_AddItemToArray(out, f);
    }
}

/* --threshold in ratio mode: each bounds B/A of its figure. Returns how many failed. */
static size_t thresholds(const struct ll_thresh_set *set, const cJSON *a, const cJSON *b,
                         cJSON *out)
{
    size_t failed = 0;
    char path[96], val[48];
    for (size_t i = 0; i < set->n; i++) {
        const struct ll_thresh *t = &set->v[i];
        double x, y, ratio = NAN;
        if (ll_thresh_json_path(t, path, sizeof(path)) == 0 && figure(a, path, &x) &&
            figure(b, path, &y) && (t->diff || x != 0)) {
            ratio = t->diff ? y - x : y / x; /* a share: B - A, defined when A's is 0 */
        }
        bool ok = ll_thresh_holds(t, ratio);
        ll_thresh_format(t, ratio, val, sizeof(val));
        printf("threshold %s: %s (%s)\n", t->expr, ok ? "ok" : "FAILED", val);
        if (!ok) {
            failed++;
            fprintf(stderr, "%s: threshold failed: %s (%s)\n", WHO, t->expr, val);
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "expr", t->expr);
        cJSON_AddBoolToObject(o, "ok", ok);
        add_fig(o, t->diff ? "difference" : "ratio", ratio, isfinite(ratio));
        cJSON_AddItemToArray(out, o);
    }
    return failed;
}

struct cmp_args {
    const char *file[2];
    const char *json_path;
    struct ll_thresh_set th;
};

static int compare(const struct cmp_args *c, const cJSON *a, const cJSON *b)
{
    /* --json -: the JSON alone on stdout, the text on stderr (so `| jq` works) */
    int saved = -1;
    if (c->json_path != NULL && strcmp(c->json_path, "-") == 0) {
        fflush(stdout);
        saved = dup(STDOUT_FILENO);
        dup2(STDERR_FILENO, STDOUT_FILENO);
    }
    cJSON *doc = cJSON_CreateObject();
    ll_report_meta_json(doc, "compare");
    cJSON_AddStringToObject(doc, "a", c->file[0]);
    cJSON_AddStringToObject(doc, "b", c->file[1]);
    print_side("A", c->file[0], a);
    print_side("B", c->file[1], b);
    config_diff(a, b, cJSON_AddArrayToObject(doc, "config_differences"));
    figures(a, b, cJSON_AddArrayToObject(doc, "figures"));
    if (c->th.n > 0) {
        printf("\n");
    }
    size_t failed = thresholds(&c->th, a, b, cJSON_AddArrayToObject(doc, "thresholds"));
    int rc = failed > 0 ? LL_EXIT_THRESHOLD : LL_EXIT_OK;
    if (saved >= 0) {
        fflush(stdout);
        dup2(saved, STDOUT_FILENO);
        close(saved);
    }
    if (c->json_path != NULL) {
        int err = ll_report_write_json(doc, c->json_path);
        if (err != 0) {
            fprintf(stderr, "%s: cannot write %s: %s\n", WHO, c->json_path, ll_strerror(err));
            rc = LL_EXIT_FAIL;
        }
    }
    cJSON_Delete(doc);
    return rc;
}

static void help(FILE *out)
{
    fprintf(out, "usage: llmload compare A.json B.json [--json FILE] [--threshold EXPR]...\n\n"
                 "Prints two runs side by side with the ratio B/A for every figure both have.\n"
                 "A and B are files written by `llmload run --json FILE` (bench/bench.sh keeps "
                 "one per cell\nin bench/results/<timestamp>/raw/; its wrk and httpx peer files "
                 "carry the same core keys).\nConfiguration differences (mode, concurrency, rate, "
                 "requests, stream, the embedded mock's\nlatency, fault rate and arguments...) are "
                 "listed first. Throughput counts successful\nrequests only, also in files written "
                 "before it did.\n\n"
                 "  --json FILE        write the comparison as JSON (- = stdout)\n"
                 "  --threshold EXPR   a bound on the ratio B/A, for CI, repeatable: "
                 "'throughput>=0.95',\n"
                 "                     'p99<=1.10' (run --help's grammar; the number is a ratio "
                 "or a\n"
                 "                     percentage); a missing figure fails. error_rate and "
                 "goodput_share\n"
                 "                     bound the change B-A in percentage points instead (a "
                 "ratio of\n"
                 "                     shares is undefined when A's is 0): 'error_rate<=1%%' "
                 "(B at most\n"
                 "                     one point above A), 'goodput_share>=-5%%'\n\n"
                 "exit: 0 ok; 1 a file is unreadable or not a run's JSON; 2 usage; 3 a threshold "
                 "failed\n");
}

/* Flags and the two files, in any order. 0, or an exit code after one line. */
static int parse_args(struct cmp_args *c, int argc, char **argv)
{
    int nfiles = 0;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i], *eq = strchr(arg, '=');
        size_t nlen = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
        bool json = strncmp(arg, "--json", nlen) == 0 && nlen == 6;
        bool th = strncmp(arg, "--threshold", nlen) == 0 && nlen == 11;
        if ((json || th) && eq == NULL && i + 1 >= argc) {
            fprintf(stderr, "%s: %s needs a value (see --help)\n", WHO, arg);
            return LL_EXIT_USAGE;
        }
        const char *val = eq != NULL ? eq + 1 : (json || th) ? argv[++i] : NULL;
        if (json) {
            c->json_path = val;
        } else if (th) {
            if (ll_thresh_set_add(&c->th, val, true) != 0) {
                fprintf(stderr,
                        "%s: --threshold: want FIGURE OP RATIO, e.g. 'throughput>=0.95' "
                        "or 'p99<=110%%', or for error_rate and goodput_share the change "
                        "B-A in points, e.g. 'error_rate<=1%%', got %s\n",
                        WHO, val);
                return LL_EXIT_USAGE;
            }
        } else if (arg[0] == '-' && arg[1] != '\0') {
            fprintf(stderr,
                    "%s: unknown flag '%s' (usage: llmload compare A.json B.json "
                    "[--json FILE] [--threshold EXPR]...)\n",
                    WHO, arg);
            return LL_EXIT_USAGE;
        } else if (nfiles < 2) {
            c->file[nfiles++] = arg;
        } else {
            fprintf(stderr, "%s: want two files, A.json B.json, got a third: %s\n", WHO, arg);
            return LL_EXIT_USAGE;
        }
    }
    if (nfiles != 2) {
        fprintf(stderr, "%s: want two files, A.json B.json (see --help)\n", WHO);
        return LL_EXIT_USAGE;
    }
    return 0;
}

int ll_cmd_compare(int argc, char **argv)
{
    cJSON *a = NULL, *b = NULL;
    struct cmp_args c = {.th = {.aborted_by = -1}};
    int rc;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            help(stdout);
            return LL_EXIT_OK;
        }
    }
    if ((rc = parse_args(&c, argc, argv)) == 0) {
        rc = LL_EXIT_FAIL;
        if ((a = load(c.file[0])) != NULL && (b = load(c.file[1])) != NULL) {
            rc = compare(&c, a, b);
        }
    }
    cJSON_Delete(a);
    cJSON_Delete(b);
    ll_thresh_set_free(&c.th);
    return rc;
}
