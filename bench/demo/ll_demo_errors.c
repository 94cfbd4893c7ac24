/* ll_demo_errors.c - the seed's gather(return_exceptions=True) against a plain gather: ten
 * requests, three of which fail (500, 429, 400, retries off). Collect keeps every success and
 * names every failure in its slot; fail-fast stops at the first failure and cancels the rest,
 * and the counts show what that threw away. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_clock.h"
#include "ll_demo.h"

#define ERR_REQUESTS   10
#define ERR_LATENCY_MS 1000.0

/* Which slots fail and how; 0 = succeeds after the latency. */
static int fail_status(int i)
{
    return i == 2 ? 500 : i == 5 ? 429 : i == 7 ? 400 : 0;
}

static int submit_all(struct ll_client *c, struct ll_call **calls)
{
    for (int i = 0; i < ERR_REQUESTS; i++) {
        char lat[64], st[64];
        const char *hdrs[2] = {lat, st};
        struct ll_message msg = {"user", "Classify this ticket."};
        struct ll_request req = {.messages = &msg, .n_messages = 1, .headers = hdrs};
        snprintf(lat, sizeof(lat), "x-mock-latency-ms: %.0f", ERR_LATENCY_MS);
        snprintf(st, sizeof(st), "x-mock-status: %d", fail_status(i));
        req.n_headers = fail_status(i) != 0 ? 2 : 1;
        int err = ll_client_submit(c, &req, &calls[i]);
        if (err != 0) {
            return err;
        }
    }
    return 0;
}

static void print_slots(struct ll_call **calls)
{
    printf("    slots:");
    for (int i = 0; i < ERR_REQUESTS; i++) {
        const struct ll_result *r = &calls[i]->res;
        if (r->status > 0 && r->cls != LL_CLASS_NONE) {
            printf(" [%d] %s(%d)", i, ll_class_name(r->cls), r->status);
        } else {
            printf(" [%d] %s", i, ll_class_name(r->cls));
        }
    }
    printf("\n");
}

static int run_mode(const struct ll_endpoint *ep, const struct ll_backend *be,
                    enum ll_gather_mode mode, struct ll_demo_figs *f)
{
    struct ll_config cfg;
    struct ll_client *c;
    struct ll_call *calls[ERR_REQUESTS] = {NULL};
    ll_endpoint_config(ep, &cfg, ERR_REQUESTS);
    int err = ll_client_create(be, &cfg, &c);
    if (err != 0) {
        return err;
    }
    memset(f, 0, sizeof(*f));
    int64_t t0 = ll_now_ns();
    err = submit_all(c, calls);
    if (err == 0) {
        int n = ll_client_gather(c, calls, ERR_REQUESTS, mode);
        err = n < 0 ? n : 0;
    }
    f->wall_s = (double)(ll_now_ns() - t0) / 1e9;
    if (err == 0) {
        ll_demo_count(calls, ERR_REQUESTS, f);
        print_slots(calls);
        for (int i = 0; i < ERR_REQUESTS; i++) {
            ll_call_free(calls[i]);
        }
    }
    ll_client_destroy(c);
    return err;
}

static int run_backend(struct ll_demo *d, const struct ll_endpoint *ep, const struct ll_backend *be)
{
    static const char *names[2] = {"collect", "fail-fast"};
    struct ll_demo_figs f[2];
    char w[32], key[96];
    for (int m = 0; m < 2; m++) {
        printf("  %-9s %s\n", be->name, names[m]);
        int err = run_mode(ep, be, m == 0 ? LL_GATHER_COLLECT : LL_GATHER_FAIL_FAST, &f[m]);
        if (err != 0) {
            fprintf(stderr, "llmload demo errors: %s: %s\n", be->name, ll_strerror(err));
            return 1;
        }
        printf("    ok %d  failed %d  cancelled %d  of %d  wall %s\n", f[m].ok, f[m].failed,
               f[m].cancelled, ERR_REQUESTS, ll_demo_fmt_s(w, sizeof(w), f[m].wall_s));
        ll_demo_row(d, be->name, names[m], &f[m]);
    }
    int lost = f[0].ok - f[1].ok;
    printf("    fail-fast lost %d successful results\n", lost);
    snprintf(key, sizeof(key), "%s_collect_adds_up", be->name);
    ll_demo_claim(d, key, f[0].ok + f[0].failed == ERR_REQUESTS && f[0].failed == 3,
                  "%s: collect: every slot holds a result or an error (%d ok + %d failed)",
                  be->name, f[0].ok, f[0].failed);
    snprintf(key, sizeof(key), "%s_fail_fast_loses", be->name);
    ll_demo_claim(d, key,
                  f[1].ok + f[1].failed + f[1].cancelled == ERR_REQUESTS && f[1].cancelled > 0 &&
                      lost > 0,
                  "%s: fail-fast: %d ok + %d failed + %d cancelled, %d successes lost", be->name,
                  f[1].ok, f[1].failed, f[1].cancelled, lost);
    printf("\n");
    return 0;
}

int ll_demo_errors(struct ll_demo *d)
{
    int rc = ll_demo_each_backend(d, NULL, run_backend);
    printf("Collect is gather(return_exceptions=True): one failure does not throw the other\n"
           "results away; every slot says what happened to its request. Fail-fast is a plain\n"
           "gather: the first error (here an instant 500) ends the wait and the requests still\n"
           "running are cancelled, so work that would have succeeded is lost.\n");
    return rc;
}
