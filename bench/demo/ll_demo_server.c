/* ll_demo_server.c - the seed's FastAPI lesson, measured from the server's side: "an async server
 * handles thousands of concurrent requests on one thread". mockllm's event loop (--model loop)
 * against a classic thread-per-connection server (--model threads: same parser, answers and
 * metrics; only the transport differs), each holding N connections whose requests all wait 1 s
 * (x --scale) for their answer, N = 100, 1,000 and 10,000 ($LL_DEMO_SERVER_CONNS picks others).
 *
 * Each cell starts a fresh mockllm and sends N requests at once from one client (the evented
 * backend: one thread holds every connection, so the client is the same for both servers).
 * Figures: the server's peak RSS (VmHWM) and CPU (utime + stime, /proc/PID), its threads at the
 * peak (its own mockllm_threads_peak), latency percentiles at the client, and, where the
 * thread-per-connection server could not keep up, what it says stopped it: threads it could
 * not start, with the errno and the limit met, and accept() failures by errno (its /metrics).
 * Then the machine's limits set against the measured memory per connection: which wall the
 * threads would meet next. Claims are structural (counts, threads, memory order, failures named)
 * and the scenario exits non-zero when one does not hold. */
#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "ll_clock.h"
#include "ll_cmd.h"
#include "ll_demo.h"
#include "ll_err.h"
#include "ll_proc.h"
#include "ll_sys.h"

#define SRV_LATENCY_MS 1000.0
#define SRV_MAX_CELLS  8

static const char *const models[2] = {"loop", "threads"};

struct srv_cell {
    const char *model;
    int conns;
    int ok, failed;
    double wall_s, p50_ms, p99_ms, max_ms;
    long hwm_kb;    /* peak RSS of the server */
    double cpu_s;   /* the server's CPU over the run */
    long long peak; /* mockllm_threads_peak */
    long long thread_fail, accept_fail;
    char why[160]; /* "EAGAIN, RLIMIT_NPROC" from the failures' labels, or "" */
};

/* ---- the server's figures, from /proc and its /metrics ---- */

/* A "Field:  value" of the process's /proc status (kB for Vm*), or -1. */
static long proc_status_kb(pid_t pid, const char *field)
{
    char path[64];
    int64_t v;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    ll_sys_read_key(path, field, &v);
    return (long)v;
}

/* utime + stime of a process, seconds, or -1. */
static double proc_cpu_s(pid_t pid)
{
    struct ll_proc_sample s;
    ll_proc_sample((int)pid, false, &s);
    return s.cpu_s;
}

static size_t grab(char *p, size_t sz, size_t n, void *arg)
{
    char **buf = arg;
    size_t old = *buf != NULL ? strlen(*buf) : 0, len = sz * n;
    char *nb = realloc(*buf, old + len + 1);
    if (nb == NULL) {
        return 0;
    }
    memcpy(nb + old, p, len);
    nb[old + len] = '\0';
    *buf = nb;
    return len;
}

/* The mock's /metrics text, malloc'd, or NULL. */
static char *metrics_text(const struct ll_endpoint *ep)
{
    char url[160], *text = NULL;
    snprintf(url, sizeof(url), "http://%s:%d/metrics", ep->proc.host, ep->proc.port);
    CURL *e = curl_easy_init();
    if (e == NULL) {
        return NULL;
    }
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, grab);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &text);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
    if (curl_easy_perform(e) != CURLE_OK) {
        free(text);
        text = NULL;
    }
    curl_easy_cleanup(e);
    return text;
}

/* Sum of the samples of `name`; each sample's labels ("{...}") appended to why, when given. */
static long long metric(const char *text, const char *name, char *why, size_t wlen)
{
    long long sum = 0;
    size_t n = strlen(name);
    for (const char *p = text; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p ? p + 1 : p) {
        if (strncmp(p, name, n) != 0 || (p[n] != ' ' && p[n] != '{')) {
            continue;
        }
        const char *v = p[n] == '{' ? strchr(p, '}') : p + n;
        if (v == NULL) {
            continue;
        }
        long long x = strtoll(v + 1, NULL, 10);
        sum += x;
        if (why != NULL && p[n] == '{' && x > 0) {
            size_t used = strlen(why);
            snprintf(why + used, wlen - used, "%s%.*s", used ? " " : "", (int)(v - p - n + 1),
                     p + n);
        }
    }
    return sum;
}

/* ---- one cell: a fresh server, N requests at once ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Submit n requests on one client, gather them, and fill the client's figures. 0 or LL_E*. */
static int wave(const struct ll_endpoint *ep, const struct ll_backend *be, int n,
                struct srv_cell *c)
{
    struct ll_config cfg;
    struct ll_message msg = {"user", "Hello."};
    struct ll_request req = {.messages = &msg, .n_messages = 1, .max_tokens = 4};
    struct ll_client *cl = NULL;
    struct ll_call **calls = calloc((size_t)n, sizeof(*calls));
    double *lat = calloc((size_t)n, sizeof(*lat));
    ll_endpoint_config(ep, &cfg, n);
    int err = calls != NULL && lat != NULL ? ll_client_create(be, &cfg, &cl) : LL_ENOMEM;
    int64_t t0 = ll_now_ns();
    int i = 0;
    for (; i < n && err == 0; i++) {
        err = ll_client_submit(cl, &req, &calls[i]);
    }
    if (err == 0 && (err = ll_client_gather(cl, calls, (size_t)n, LL_GATHER_COLLECT)) > 0) {
        err = 0;
    }
    c->wall_s = (double)(ll_now_ns() - t0) / 1e9;
    for (int k = 0; k < i && err == 0; k++) {
        const struct ll_result *r = &calls[k]->res;
        if (r->cls == LL_CLASS_NONE) {
            lat[c->ok++] = (double)(r->t_end - r->t_dispatch) / 1e6;
        } else {
            c->failed++;
        }
    }
    qsort(lat, (size_t)c->ok, sizeof(*lat), cmp_double);
    c->p50_ms = c->ok > 0 ? lat[c->ok / 2] : -1;
    c->p99_ms = c->ok > 0 ? lat[(int)((double)(c->ok - 1) * 0.99)] : -1;
    c->max_ms = c->ok > 0 ? lat[c->ok - 1] : -1;
    for (int k = 0; k < i; k++) {
        if (calls[k] != NULL && calls[k]->collected) {
            ll_call_free(calls[k]);
        }
    }
    ll_client_destroy(cl);
    free(calls);
    free(lat);
    return err;
}

static int run_cell(struct ll_demo *d, const struct ll_backend *be, const char *model, int n,
                    struct srv_cell *c)
{
    char lat[32];
    const char *args[] = {"--model", model, "--latency-ms", lat, NULL};
    struct ll_endpoint ep;
    memset(c, 0, sizeof(*c));
    c->model = model;
    c->conns = n;
    snprintf(lat, sizeof(lat), "%.0f", SRV_LATENCY_MS);
    if (ll_demo_open(d, &ep, args) != 0) {
        return 1;
    }
    double cpu0 = proc_cpu_s(ep.proc.pid);
    int err = wave(&ep, be, n, c);
    char *text = metrics_text(&ep);
    c->cpu_s = proc_cpu_s(ep.proc.pid) - cpu0;
    c->hwm_kb = proc_status_kb(ep.proc.pid, "VmHWM");
    c->peak = text != NULL ? metric(text, "mockllm_threads_peak", NULL, 0) : -1;
    c->thread_fail = metric(text, "mockllm_thread_start_failures_total", c->why, sizeof(c->why));
    c->accept_fail = metric(text, "mockllm_accept_failures_total", c->why, sizeof(c->why));
    free(text);
    ll_endpoint_close(&ep);
    if (err != 0) {
        fprintf(stderr, "llmload demo server: %s, %d connections: %s\n", model, n,
                ll_strerror(err));
        return 1;
    }
    return 0;
}

static void print_cell(struct ll_demo *d, const struct srv_cell *c)
{
    char w[32];
    printf("  %-8s %6d conns  ok %-6d failed %-5d wall %-9s p50 %7.1f  p99 %7.1f  max %7.1f "
           "ms  server RSS %6.1f MiB  CPU %6.3f s  threads %lld\n",
           c->model, c->conns, c->ok, c->failed, ll_demo_fmt_s(w, sizeof(w), c->wall_s), c->p50_ms,
           c->p99_ms, c->max_ms, (double)c->hwm_kb / 1024.0, c->cpu_s, c->peak);
    if (c->thread_fail > 0 || c->accept_fail > 0) {
        printf("  %-8s %6s        stopped: %lld threads not started, %lld accept failures: %s\n",
               "", "", c->thread_fail, c->accept_fail, c->why);
    }
    fflush(stdout);
    cJSON *row = ll_demo_row(d, "evented", c->model, NULL);
    cJSON_AddStringToObject(row, "server_model", c->model);
    cJSON_AddNumberToObject(row, "connections", c->conns);
    cJSON_AddNumberToObject(row, "ok", c->ok);
    cJSON_AddNumberToObject(row, "failed", c->failed);
    cJSON_AddNumberToObject(row, "wall_s", c->wall_s);
    cJSON_AddNumberToObject(row, "p50_ms", c->p50_ms);
    cJSON_AddNumberToObject(row, "p99_ms", c->p99_ms);
    cJSON_AddNumberToObject(row, "max_ms", c->max_ms);
    cJSON_AddNumberToObject(row, "server_rss_peak_kb", (double)c->hwm_kb);
    cJSON_AddNumberToObject(row, "server_cpu_s", c->cpu_s);
    cJSON_AddNumberToObject(row, "server_threads_peak", (double)c->peak);
    cJSON_AddNumberToObject(row, "thread_start_failures", (double)c->thread_fail);
    cJSON_AddNumberToObject(row, "accept_failures", (double)c->accept_fail);
    cJSON_AddStringToObject(row, "stopped_by", c->why);
}

/* ---- claims and the next wall ---- */

static bool all_served(const struct srv_cell *c)
{
    return c->ok == c->conns && c->failed == 0;
}

static void claims(struct ll_demo *d, const struct srv_cell *cells, int ncells)
{
    bool loop_all = true, loop_one = true, one_each = true, named = true;
    const struct srv_cell *big_loop = NULL, *big_thr = NULL;
    for (int i = 0; i < ncells; i++) {
        const struct srv_cell *c = &cells[i];
        bool threads = strcmp(c->model, "threads") == 0;
        if (!threads) {
            loop_all = loop_all && all_served(c);
            loop_one = loop_one && c->peak == 1;
            big_loop = all_served(c) ? c : big_loop;
            continue;
        }
        if (all_served(c)) {
            one_each = one_each && c->peak >= c->conns; /* + the acceptor */
            big_thr = c;
        } else { /* it stopped: it must say why, from what it met */
            named = named && c->thread_fail + c->accept_fail > 0 && c->why[0] != '\0' &&
                    strstr(c->why, "unknown") == NULL;
        }
    }
    ll_demo_claim(d, "loop_served_all", loop_all, "loop: every request answered at every size");
    ll_demo_claim(d, "loop_one_thread", loop_one, "loop: one thread at every size");
    ll_demo_claim(d, "threads_one_per_connection", one_each,
                  "threads: a thread per connection wherever it served them all");
    ll_demo_claim(d, "threads_stop_named", named,
                  "threads: wherever it could not serve them all, it named the errno and the "
                  "limit it met");
    if (big_loop != NULL && big_thr != NULL && big_thr->conns == big_loop->conns) {
        ll_demo_claim(d, "threads_cost_memory", big_thr->hwm_kb > big_loop->hwm_kb,
                      "at %d connections the threads' server peaked at %.1f MiB, the loop at "
                      "%.1f MiB",
                      big_thr->conns, big_thr->hwm_kb / 1024.0, big_loop->hwm_kb / 1024.0);
    }
}

/* The walls ahead of a thread per connection on this machine, from its limits and the memory
 * one connection cost (the largest threads cell that served all, over the loop's same cell). */
static void next_walls(struct ll_demo *d, const struct srv_cell *cells, int ncells)
{
    const struct srv_cell *t = NULL;
    for (int i = 0; i < ncells; i++) {
        t = strcmp(cells[i].model, "threads") == 0 && all_served(&cells[i]) ? &cells[i] : t;
    }
    int64_t tasks, nproc, pid_max, tmax, maps, avail;
    ll_sys_tasks(&tasks);
    ll_sys_rlimit(RLIMIT_NPROC, &nproc, NULL);
    ll_sys_read_num("/proc/sys/kernel/pid_max", &pid_max);
    ll_sys_read_num("/proc/sys/kernel/threads-max", &tmax);
    ll_sys_read_num("/proc/sys/vm/max_map_count", &maps);
    ll_sys_read_key("/proc/meminfo", "MemAvailable", &avail);
    double per_conn_kb = t != NULL && t->conns > 0 ? (double)t->hwm_kb / t->conns : -1;
    printf("\n  The walls ahead of a thread per connection on this machine:\n"
           "    tasks        kernel.pid_max %ld, kernel.threads-max %ld (%ld tasks now, all "
           "processes')\n"
           "    mappings     vm.max_map_count %ld (two a thread: ~%ld threads)\n",
           (long)pid_max, (long)tmax, (long)tasks, (long)maps, (long)maps / 2);
    if (nproc < 0) {
        printf("    user tasks   RLIMIT_NPROC unlimited\n");
    } else {
        printf("    user tasks   RLIMIT_NPROC %ld%s\n", (long)nproc,
               getuid() == 0 ? " (not enforced for root)" : "");
    }
    if (per_conn_kb > 0 && avail > 0) {
        printf("    memory       %.0f MiB available, %.1f KiB a connection measured: ~%.0f "
               "connections\n",
               avail / 1024.0, per_conn_kb, avail / per_conn_kb);
    }
    cJSON *w = cJSON_AddObjectToObject(d->json, "limits");
    cJSON_AddNumberToObject(w, "pid_max", (double)pid_max);
    cJSON_AddNumberToObject(w, "threads_max", (double)tmax);
    cJSON_AddNumberToObject(w, "tasks_now", (double)tasks);
    cJSON_AddNumberToObject(w, "max_map_count", (double)maps);
    cJSON_AddNumberToObject(w, "mem_available_kb", (double)avail);
    cJSON_AddNumberToObject(w, "threads_rss_per_conn_kb", per_conn_kb);
}

/* ---- the scenario ---- */

/* The sizes: $LL_DEMO_SERVER_CONNS ("100 1000 10000" unless set). */
static int sizes(int *out, int cap)
{
    const char *env = getenv("LL_DEMO_SERVER_CONNS");
    const char *p = env != NULL && env[0] != '\0' ? env : "100 1000 10000";
    int n = 0;
    while (*p != '\0' && n < cap) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > 1000000) {
            return -1;
        }
        out[n++] = (int)v;
        for (p = end; isspace((unsigned char)*p) || *p == ','; p++) {
        }
    }
    return n;
}

/* The client: the evented backend when selected (one thread for every connection), else the
 * first one selected. */
static const struct ll_backend *client_backend(const struct ll_demo *d)
{
    for (size_t i = 0; i < d->n_be; i++) {
        if (strcmp(d->be[i]->name, "evented") == 0) {
            return d->be[i];
        }
    }
    return d->be[0];
}

int ll_demo_server(struct ll_demo *d)
{
    struct srv_cell cells[2 * SRV_MAX_CELLS];
    int conns[SRV_MAX_CELLS], nsizes = sizes(conns, SRV_MAX_CELLS), ncells = 0;
    if (d->url != NULL) {
        fprintf(stderr, "llmload demo server: compares mockllm's own servers: no --url\n");
        return LL_EXIT_USAGE;
    }
    if (nsizes <= 0) {
        fprintf(stderr, "llmload demo server: LL_DEMO_SERVER_CONNS: want connection counts\n");
        return LL_EXIT_USAGE;
    }
    const struct ll_backend *be = client_backend(d);
    printf("  every request waits %.0f ms in the server; client: %s backend, all requests at "
           "once\n\n",
           ll_demo_ms(d, SRV_LATENCY_MS), be->name);
    for (int s = 0; s < nsizes; s++) {
        for (int m = 0; m < 2; m++) {
            if (run_cell(d, be, models[m], conns[s], &cells[ncells]) != 0) {
                return 1;
            }
            print_cell(d, &cells[ncells++]);
        }
    }
    next_walls(d, cells, ncells);
    printf("\n");
    claims(d, cells, ncells);
    printf("\nWaiting is what these connections do. The event loop holds every one of them on\n"
           "one thread: a few hundred bytes of state and a timer each. The thread-per-\n"
           "connection server gives each its own thread, blocked in a sleep: a stack, a kernel\n"
           "task and the scheduler's work to wake it, so its memory and CPU grow with the\n"
           "connections, and it stops where the machine stops handing out threads, mappings or\n"
           "memory (above: which comes first here; a failure is named by the server itself).\n"
           "That is the FastAPI lesson: an async server serves thousands of waiting requests\n"
           "on one thread.\n");
    cJSON *claims_obj = cJSON_GetObjectItem(d->json, "claims");
    for (cJSON *c = claims_obj != NULL ? claims_obj->child : NULL; c != NULL; c = c->next) {
        if (!cJSON_IsTrue(c)) {
            return LL_EXIT_FAIL; /* a claim printed above does not hold */
        }
    }
    return 0;
}
