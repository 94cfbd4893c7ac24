/* ll_demo_util.c - what every scenario shares: endpoint, one timed batch, figures, claims. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "ll_clock.h"
#include "ll_demo.h"
#include "ll_err.h"
#include "ll_signal.h"

#define DEMO_MAX_ARGS 32

int ll_demo_open(const struct ll_demo *d, struct ll_endpoint *ep, const char *const *args)
{
    const char *argv[DEMO_MAX_ARGS + 2];
    char scale[48];
    size_t n = 0;
    snprintf(scale, sizeof(scale), "--scale=%g", d->scale);
    argv[n++] = scale;
    for (size_t i = 0; args != NULL && args[i] != NULL && n < DEMO_MAX_ARGS; i++) {
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    return ll_endpoint_open(ep, "llmload demo", d->url, false, argv);
}

double ll_demo_ms(const struct ll_demo *d, double ms)
{
    return d->url != NULL ? ms : ms * d->scale;
}

double ll_demo_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

void ll_demo_count(struct ll_call *const *calls, int n, struct ll_demo_figs *f)
{
    f->ok = f->failed = f->cancelled = f->attempts = 0;
    f->connects = f->tls_full = f->tls_resumed = 0;
    for (int i = 0; i < n; i++) {
        const struct ll_result *r = &calls[i]->res;
        f->attempts += r->attempts;
        f->connects += r->connects;
        f->tls_full += r->tls_full;
        f->tls_resumed += r->tls_resumed;
        if (r->cls == LL_CLASS_NONE) {
            f->ok++;
        } else if (r->cls == LL_CLASS_CANCELLED) {
            f->cancelled++;
        } else {
            f->failed++;
        }
    }
}

void ll_demo_sample(struct ll_client *c, struct ll_demo_figs *f)
{
    struct ll_be_stats st;
    ll_client_sample(c, &st);
    f->threads = st.threads;
    f->lag_max_ns = (st.loop_lag != NULL && st.loop_lag->n > 0) ? st.loop_lag->max : -1;
}

int ll_demo_batch(const struct ll_backend *be, const struct ll_config *cfg,
                  const struct ll_request *req, int n, struct ll_demo_figs *out)
{
    struct ll_client *c = NULL;
    struct ll_call **calls = calloc((size_t)n, sizeof(*calls));
    int err = calls != NULL ? ll_client_create(be, cfg, &c) : LL_ENOMEM;
    if (err != 0) {
        free(calls);
        return err;
    }
    memset(out, 0, sizeof(*out));
    double cpu0 = ll_demo_cpu_s();
    int64_t t0 = ll_now_ns();
    int i;
    for (i = 0; i < n && err == 0; i++) {
        err = ll_client_submit(c, req, &calls[i]);
    }
    if (err == 0) {
        err = ll_client_gather(c, calls, (size_t)n, LL_GATHER_COLLECT);
        err = err > 0 ? 0 : err;
    }
    out->wall_s = (double)(ll_now_ns() - t0) / 1e9;
    out->cpu_s = ll_demo_cpu_s() - cpu0;
    if (err == 0) {
        ll_demo_count(calls, n, out);
    }
    ll_demo_sample(c, out);
    /* Collected calls are ours; the client's destroy frees what an error left uncollected. */
    for (int k = 0; k < i; k++) {
        if (calls[k] != NULL && calls[k]->collected) {
            ll_call_free(calls[k]);
        }
    }
    ll_client_destroy(c);
    free(calls);
    return err;
}

cJSON *ll_demo_row(struct ll_demo *d, const char *be, const char *name,
                   const struct ll_demo_figs *f)
{
    cJSON *rows = cJSON_GetObjectItem(d->json, "rows");
    if (rows == NULL) {
        rows = cJSON_AddArrayToObject(d->json, "rows");
    }
    cJSON *r = cJSON_CreateObject();
    cJSON_AddItemToArray(rows, r);
    cJSON_AddStringToObject(r, "backend", be);
    cJSON_AddStringToObject(r, "case", name);
    if (f != NULL) {
        cJSON_AddNumberToObject(r, "wall_s", f->wall_s);
        cJSON_AddNumberToObject(r, "cpu_s", f->cpu_s);
        cJSON_AddNumberToObject(r, "ok", f->ok);
        cJSON_AddNumberToObject(r, "failed", f->failed);
        cJSON_AddNumberToObject(r, "cancelled", f->cancelled);
        cJSON_AddNumberToObject(r, "attempts", f->attempts);
        cJSON_AddNumberToObject(r, "threads", f->threads);
        if (f->lag_max_ns >= 0) {
            cJSON_AddNumberToObject(r, "loop_lag_max_s", (double)f->lag_max_ns / 1e9);
        } else {
            cJSON_AddNullToObject(r, "loop_lag_max_s"); /* no loop, or no sample */
        }
    }
    return r;
}

void ll_demo_claim(struct ll_demo *d, const char *key, bool holds, const char *fmt, ...)
{
    va_list ap;
    cJSON *claims = cJSON_GetObjectItem(d->json, "claims");
    if (claims == NULL) {
        claims = cJSON_AddObjectToObject(d->json, "claims");
    }
    /* Stopped by a signal: the figures are cut short, so the claim is not judged on them. */
    bool judged = ll_signal_caught() == 0;
    cJSON_AddItemToObject(claims, key, judged ? cJSON_CreateBool(holds) : cJSON_CreateNull());
    printf("  claim: ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf(" ... %s\n", !judged ? "not checked (interrupted)" : holds ? "holds" : "DOES NOT HOLD");
}

const char *ll_demo_fmt_s(char *buf, size_t len, double s)
{
    if (s < 0) {
        snprintf(buf, len, "-"); /* not measured */
    } else if (s < 1.0) {
        snprintf(buf, len, "%.1f ms", s * 1e3);
    } else {
        snprintf(buf, len, "%.2f s", s);
    }
    return buf;
}

const char *ll_demo_fmt_ticks(char *buf, size_t len, double s)
{
    if (s < 0) {
        snprintf(buf, len, "-");
    } else if (s < 0.005) {
        snprintf(buf, len, "< 0.01 s");
    } else {
        snprintf(buf, len, "%.2f s", s);
    }
    return buf;
}

int ll_demo_each_backend(struct ll_demo *d, const char *const *args, ll_demo_backend_fn run)
{
    struct ll_endpoint ep;
    if (ll_demo_open(d, &ep, args) != 0) {
        return 1;
    }
    int rc = 0;
    for (size_t i = 0; i < d->n_be && rc == 0 && !ll_signal_caught(); i++) {
        rc = run(d, &ep, d->be[i]);
    }
    ll_endpoint_close(&ep);
    return rc;
}
