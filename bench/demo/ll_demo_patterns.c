/* ll_demo_patterns.c - gather against create_task: five requests and some other work.
 *   gather-then-work  submit all, wait for all, then do the other work: the times add up;
 *   submit-work-collect  submit all, do the other work, then collect: the times overlap.
 * The other work is done two ways: waiting (ll_client_progress, the seed's asyncio.sleep, lets
 * requests progress meanwhile) and computing in slices with a zero-timeout progress call
 * between them (an explicit yield point). A third row computes with no yield point at all:
 * whether requests still progress then depends on whether the backend runs them on threads
 * of its own (OS-scheduled) or only when the caller gives it control (explicit yield).
 *
 * Overlap, of a run: the time the requests were being served -- the mock's latency before
 * each answer arrived, [t_end - latency, t_end] -- that fell inside the other work, as a share
 * of the shorter of the two (the served time's union, the work's span). An intersection is no
 * longer than either, so the share is in [0, 1] by construction; a difference of two runs' walls
 * over the configured times is not (noise made it 103% and -9%). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "ll_clock.h"
#include "ll_demo.h"

#define PAT_REQUESTS   5
#define PAT_LATENCY_MS 1000.0
#define PAT_WORK_MS    1000.0
#define PAT_SLICE_NS   (2 * LL_NS_PER_MS)

enum work { WORK_WAIT, WORK_CPU_YIELD, WORK_CPU_NO_YIELD };

static volatile uint64_t sink; /* keeps the busy loop from being optimised away */

/* Busy for ns of wall time, yielding to the client between slices when `yield`. */
static void compute(struct ll_client *c, int64_t ns, bool yield)
{
    int64_t end = ll_now_ns() + ns;
    while (ll_now_ns() < end) {
        int64_t slice = ll_now_ns() + PAT_SLICE_NS;
        uint64_t x = sink;
        while (ll_now_ns() < slice) {
            for (int i = 0; i < 1000; i++) {
                x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            }
        }
        sink = x;
        if (yield) {
            ll_client_progress(c, 0);
        }
    }
}

static void other_work(struct ll_client *c, enum work w, int64_t ns)
{
    if (w == WORK_WAIT) {
        int64_t end = ll_now_ns() + ns; /* progress returns early once nothing is outstanding */
        while (ll_now_ns() < end) {
            if (ll_client_outstanding(c) > 0) {
                ll_client_progress(c, end - ll_now_ns());
            } else {
                struct timespec ts = {0, (long)(end - ll_now_ns())};
                nanosleep(&ts, NULL);
            }
        }
    } else {
        compute(c, ns, w == WORK_CPU_YIELD);
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The overlap share (see the head of the file) of answers that arrived at end[0..n), each
 * served for lat_ns before, with the other work's span [w0, w1]. NAN when either is empty. */
static double overlap_share(int64_t *end, int n, int64_t lat_ns, int64_t w0, int64_t w1)
{
    int64_t served = 0, inside = 0, cur0 = 0, cur1 = -1;
    qsort(end, (size_t)n, sizeof(*end), cmp_i64); /* intervals sorted by start: merge them */
    for (int i = 0; i <= n; i++) {
        if (i < n && end[i] - lat_ns <= cur1) {
            cur1 = end[i]; /* overlaps the current stretch */
            continue;
        }
        if (cur1 > cur0) {
            served += cur1 - cur0;
            int64_t a = cur0 > w0 ? cur0 : w0, b = cur1 < w1 ? cur1 : w1;
            inside += b > a ? b - a : 0;
        }
        if (i < n) {
            cur0 = end[i] - lat_ns;
            cur1 = end[i];
        }
    }
    int64_t shorter = served < w1 - w0 ? served : w1 - w0;
    return shorter > 0 ? (double)inside / (double)shorter : NAN;
}

/* One run: overlap = submit, work, collect; else submit, collect, work. *share: the overlap
 * share of the run. */
static int run_one(const struct ll_endpoint *ep, const struct ll_backend *be, bool overlap,
                   enum work w, int64_t work_ns, int64_t lat_ns, struct ll_demo_figs *f,
                   double *share)
{
    struct ll_config cfg;
    struct ll_client *c;
    struct ll_call *calls[PAT_REQUESTS] = {NULL};
    char hdr[64];
    const char *hdrs[1] = {hdr};
    struct ll_message msg = {"user", "Draft a reply."};
    struct ll_request req = {.messages = &msg, .n_messages = 1, .headers = hdrs, .n_headers = 1};
    snprintf(hdr, sizeof(hdr), "x-mock-latency-ms: %.0f", PAT_LATENCY_MS);
    ll_endpoint_config(ep, &cfg, PAT_REQUESTS);
    int err = ll_client_create(be, &cfg, &c);
    if (err != 0) {
        return err;
    }
    double cpu0 = ll_demo_cpu_s();
    int64_t t0 = ll_now_ns();
    for (int i = 0; i < PAT_REQUESTS && err == 0; i++) {
        err = ll_client_submit(c, &req, &calls[i]);
    }
    int64_t w0 = 0, w1 = 0;
    if (err == 0 && overlap) {
        w0 = ll_now_ns();
        other_work(c, w, work_ns);
        w1 = ll_now_ns();
    }
    int n = err == 0 ? ll_client_gather(c, calls, PAT_REQUESTS, LL_GATHER_COLLECT) : err;
    if (n >= 0 && !overlap) {
        w0 = ll_now_ns();
        other_work(c, w, work_ns);
        w1 = ll_now_ns();
    }
    f->wall_s = (double)(ll_now_ns() - t0) / 1e9;
    f->cpu_s = ll_demo_cpu_s() - cpu0;
    *share = NAN;
    if (n >= 0) {
        int64_t end[PAT_REQUESTS];
        ll_demo_count(calls, PAT_REQUESTS, f);
        for (int i = 0; i < PAT_REQUESTS; i++) {
            end[i] = calls[i]->res.t_end;
            ll_call_free(calls[i]);
        }
        *share = overlap_share(end, PAT_REQUESTS, lat_ns, w0, w1);
    }
    ll_client_destroy(c);
    return n < 0 ? n : 0;
}

static const char *work_name[] = {"wait (asyncio.sleep)", "compute, yielding", "compute, no yield"};

static int run_backend(struct ll_demo *d, const struct ll_endpoint *ep, const struct ll_backend *be)
{
    double lat = ll_demo_ms(d, PAT_LATENCY_MS) / 1e3, work = ll_demo_ms(d, PAT_WORK_MS) / 1e3;
    char w1[32], w2[32], key[96];
    for (int w = WORK_WAIT; w <= WORK_CPU_NO_YIELD; w++) {
        struct ll_demo_figs f[2] = {{0}};
        double share[2];
        for (int o = 0; o < 2; o++) {
            int err = run_one(ep, be, o == 1, (enum work)w, (int64_t)(work * 1e9),
                              (int64_t)(lat * 1e9), &f[o], &share[o]);
            if (err != 0) {
                fprintf(stderr, "llmload demo patterns: %s: %s\n", be->name, ll_strerror(err));
                return 1;
            }
            cJSON *row =
                ll_demo_row(d, be->name, o ? "submit-work-collect" : "gather-then-work", &f[o]);
            cJSON_AddStringToObject(row, "work", work_name[w]);
            if (isfinite(share[o])) {
                cJSON_AddNumberToObject(row, "overlap", share[o]);
            } else {
                cJSON_AddNullToObject(row, "overlap");
            }
        }
        printf("  %-9s %-21s gather-then-work %-9s submit-work-collect %-9s overlap %3.0f%%\n",
               be->name, work_name[w], ll_demo_fmt_s(w1, sizeof(w1), f[0].wall_s),
               ll_demo_fmt_s(w2, sizeof(w2), f[1].wall_s), 100.0 * share[1]);
        fflush(stdout);
        if (w != WORK_CPU_NO_YIELD) {
            /* Judged on the overlap itself (timestamps of the answers and of the work), which a
             * loaded machine shifts by its delays; the walls' ratio (ideal 2) is printed. */
            snprintf(key, sizeof(key), "%s_overlap_%s", be->name, w == WORK_WAIT ? "wait" : "cpu");
            ll_demo_claim(
                d, key, share[1] >= 0.5 && share[1] > share[0],
                "%s: submit-now-collect-later overlapped %.0f%% (gather-then-work %.0f%%), "
                "%.2fx faster",
                be->name, 100.0 * share[1], 100.0 * share[0], f[0].wall_s / f[1].wall_s);
        }
    }
    printf("\n");
    return 0;
}

int ll_demo_patterns(struct ll_demo *d)
{
    int rc = ll_demo_each_backend(d, NULL, run_backend);
    printf("gather waits for everything before going on, so the other work starts only after\n"
           "the slowest request (latency + work). Submitting first and collecting later lets\n"
           "the requests run while the caller does something else (about max(latency, work)).\n"
           "overlap: the share of the shorter of the two -- the time the requests were served\n"
           "(the latency before each answer), the other work -- that ran at the same time.\n"
           "With no yield point at all, requests progress only if the backend has threads of\n"
           "its own; an event loop runs them only when the caller hands it control.\n");
    return rc;
}
