/* ll_demo_iocpu.c - the seed's first lesson: concurrency helps I/O-bound work, not CPU-bound
 * work. Twelve requests, four in flight, each response followed by a CPU step (hashing the
 * answer many times). Three cases per backend:
 *   io-only      no CPU step: the waits overlap
 *   cpu-step     the step runs where the backend finished the call (cfg.on_final): on a
 *                threaded worker, so steps run in parallel on every core; on the evented loop's
 *                one thread, so steps queue, no I/O moves meanwhile and loop lag grows
 *   cpu-offload  the step runs on a thread of its own per response (run_in_executor)
 * CPU time over wall time says how many cores did the work. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_clock.h"
#include "ll_demo.h"

#define IO_REQUESTS   12
#define IO_LIMIT      4
#define IO_LATENCY_MS 200.0
#define IO_CPU_MS     200.0 /* per response, at scale 1 */
#define IO_MORE_CORES 1.2   /* "used more cores": at least this many times the other */

static double ns_per_byte; /* hashing cost, calibrated once per run */

enum mode { MODE_IO, MODE_STEP, MODE_OFFLOAD };
static const char *mode_name[] = {"io-only", "cpu-step", "cpu-offload"};

struct step {
    pthread_t th;
    const char *text;
    long rounds;
    uint64_t out;
};

static uint64_t hash_rounds(const char *s, long rounds)
{
    uint64_t h = 1469598103934665603ULL;
    for (long r = 0; r < rounds; r++) {
        for (const char *p = s; *p; p++) {
            h = (h ^ (unsigned char)*p) * 1099511628211ULL;
        }
    }
    return h;
}

static void *step_main(void *arg)
{
    struct step *s = arg;
    s->out = hash_rounds(s->text, s->rounds);
    return NULL;
}

static long step_rounds(const char *text, double step_ns)
{
    return (long)(step_ns / (ns_per_byte * (double)(strlen(text) + 1))) + 1;
}

/* cfg.on_final: the step on the thread that performed the call. */
static void step_on_final(void *arg, struct ll_call *call)
{
    const char *text = call->res.content != NULL ? call->res.content : "";
    volatile uint64_t h = hash_rounds(text, step_rounds(text, *(const double *)arg));
    (void)h;
}

/* Nanoseconds of CPU per byte hashed, measured once. */
static double calibrate(const char *text)
{
    long rounds = 2000;
    int64_t t0 = ll_now_ns();
    volatile uint64_t v = hash_rounds(text, rounds);
    (void)v;
    double per = (double)(ll_now_ns() - t0) / ((double)rounds * (double)strlen(text));
    return per > 0 ? per : 1.0;
}

static int collect(struct ll_client *c, enum mode m, double step_ns, struct step *steps, int *ns,
                   struct ll_call **calls)
{
    struct ll_call *call;
    int n = 0;
    while ((call = ll_client_next(c, -1)) != NULL) {
        calls[n++] = call;
        struct step *s = &steps[*ns];
        s->text = call->res.content != NULL ? call->res.content : "";
        s->rounds = step_rounds(s->text, step_ns);
        if (m == MODE_OFFLOAD && pthread_create(&s->th, NULL, step_main, s) == 0) {
            (*ns)++;
        }
    }
    for (int i = 0; i < *ns; i++) {
        pthread_join(steps[i].th, NULL);
    }
    return n;
}

static int run_mode(const struct ll_endpoint *ep, const struct ll_backend *be, enum mode m,
                    double step_ns, struct ll_demo_figs *f)
{
    struct ll_config cfg;
    struct ll_client *c;
    struct ll_call *calls[IO_REQUESTS] = {NULL};
    struct step steps[IO_REQUESTS];
    char hdr[64];
    const char *hdrs[1] = {hdr};
    struct ll_message msg = {"user", "Write a paragraph."};
    struct ll_request req = {.messages = &msg, .n_messages = 1, .headers = hdrs, .n_headers = 1};
    int n_steps = 0, err;
    snprintf(hdr, sizeof(hdr), "x-mock-latency-ms: %.0f", IO_LATENCY_MS);
    ll_endpoint_config(ep, &cfg, IO_LIMIT);
    if (m == MODE_STEP) {
        cfg.on_final = step_on_final;
        cfg.on_final_arg = &step_ns;
    }
    if ((err = ll_client_create(be, &cfg, &c)) != 0) {
        return err;
    }
    memset(f, 0, sizeof(*f));
    double cpu0 = ll_demo_cpu_s();
    int64_t t0 = ll_now_ns();
    for (int i = 0; i < IO_REQUESTS && err == 0; i++) {
        struct ll_call *h;
        err = ll_client_submit(c, &req, &h);
    }
    int n = collect(c, m, step_ns, steps, &n_steps, calls);
    f->wall_s = (double)(ll_now_ns() - t0) / 1e9;
    f->cpu_s = ll_demo_cpu_s() - cpu0;
    ll_demo_count(calls, n, f);
    ll_demo_sample(c, f);
    for (int i = 0; i < n; i++) {
        ll_call_free(calls[i]);
    }
    ll_client_destroy(c);
    return err;
}

static int run_backend(struct ll_demo *d, const struct ll_endpoint *ep, const struct ll_backend *be,
                       double step_ns, struct ll_demo_figs *step)
{
    struct ll_demo_figs f[3];
    char w[32], lag[32], key[96];
    for (int m = MODE_IO; m <= MODE_OFFLOAD; m++) {
        int err = run_mode(ep, be, (enum mode)m, step_ns, &f[m]);
        if (err != 0) {
            fprintf(stderr, "llmload demo io-vs-cpu: %s: %s\n", be->name, ll_strerror(err));
            return 1;
        }
        printf("  %-9s %-12s wall %-9s CPU %-7.3f s cores used %.2f  loop lag max %-9s ok %d\n",
               be->name, mode_name[m], ll_demo_fmt_s(w, sizeof(w), f[m].wall_s), f[m].cpu_s,
               f[m].cpu_s / f[m].wall_s,
               ll_demo_fmt_s(lag, sizeof(lag),
                             f[m].lag_max_ns >= 0 ? (double)f[m].lag_max_ns / 1e9 : -1),
               f[m].ok);
        fflush(stdout);
        ll_demo_row(d, be->name, mode_name[m], &f[m]);
    }
    snprintf(key, sizeof(key), "%s_cpu_costs_wall", be->name);
    ll_demo_claim(d, key, f[MODE_STEP].wall_s > f[MODE_IO].wall_s * 1.2,
                  "%s: a CPU step per response costs wall time (%.2f s vs %.2f s io-only)",
                  be->name, f[MODE_STEP].wall_s, f[MODE_IO].wall_s);
    *step = f[MODE_STEP];
    printf("\n");
    return 0;
}

int ll_demo_iocpu(struct ll_demo *d)
{
    struct ll_endpoint ep;
    static const char sample[] = "The quick brown fox jumps over the lazy dog, twice a day.";
    ns_per_byte = calibrate(sample);
    double step_ns = ll_demo_ms(d, IO_CPU_MS) * 1e6;
    if (ll_demo_open(d, &ep, NULL) != 0) {
        return 1;
    }
    printf("  %d requests, %d in flight, %.0f ms each; CPU step ~%.0f ms per response\n\n",
           IO_REQUESTS, IO_LIMIT, ll_demo_ms(d, IO_LATENCY_MS), ll_demo_ms(d, IO_CPU_MS));
    cJSON_AddNumberToObject(d->json, "cpu_step_s", ll_demo_ms(d, IO_CPU_MS) / 1e3);
    int rc = 0;
    struct ll_demo_figs step[LL_DEMO_MAX_BACKENDS];
    for (size_t i = 0; i < d->n_be && rc == 0; i++) {
        rc = run_backend(d, &ep, d->be[i], step_ns, &step[i]);
    }
    ll_endpoint_close(&ep);
    if (rc == 0 && d->n_be == 2) {
        /* Whichever backend spread its steps over more cores must finish sooner. Only asked
         * when one of them did: on a machine whose other cores are busy both use about one,
         * and which finishes first is then a coin toss, not a lesson. */
        double c[2] = {step[0].cpu_s / step[0].wall_s, step[1].cpu_s / step[1].wall_s};
        size_t more = c[0] > c[1] ? 0 : 1;
        if (c[more] >= IO_MORE_CORES * c[1 - more]) {
            ll_demo_claim(d, "more_cores_finish_sooner", step[more].wall_s < step[1 - more].wall_s,
                          "cpu-step: %s used %.2f cores and took %.2f s; %s used %.2f and took "
                          "%.2f s",
                          d->be[more]->name, c[more], step[more].wall_s, d->be[1 - more]->name,
                          c[1 - more], step[1 - more].wall_s);
        } else {
            printf("  cpu-step: %s used %.2f cores, %s %.2f: no spare core here, so no claim "
                   "on which finishes sooner\n",
                   d->be[0]->name, c[0], d->be[1]->name, c[1]);
        }
    }
    printf("Concurrency overlaps waiting, not computing. The io-only rows wait in parallel.\n"
           "With a CPU step per response (cpu-step), a thread pool runs the steps on its\n"
           "workers, in parallel on every core; an event loop runs them on its one thread,\n"
           "where they queue, no I/O moves meanwhile and loop lag grows to a step or more.\n"
           "Moving the steps to threads of their own (cpu-offload) is the event loop's way out:\n"
           "asyncio's run_in_executor.\n");
    return rc;
}
