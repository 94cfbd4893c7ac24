/* ll_demo.c - `llmload demo [NAME]`: the table of scenarios, flags, dispatch, --json. */
#include <stdio.h>
#include <string.h>

#include "ll_cmd.h"
#include "ll_demo.h"
#include "ll_err.h"
#include "ll_opts.h"
#include "ll_report.h"

#define WHO "llmload demo"

static const struct ll_demo_scenario scenarios[] = {
    {"basics", "3 calls x 2 s: sequential, concurrent, blocking pitfall; and 10 x 3 s",
     ll_demo_basics},
    {"io-vs-cpu", "a CPU step per response: concurrency helps the I/O, not the CPU", ll_demo_iocpu},
    {"patterns", "gather vs submit-now-collect-later with other work in between", ll_demo_patterns},
    {"errors", "collect every outcome vs fail-fast: what fail-fast loses", ll_demo_errors},
    {"retry", "429, 503, 500 then success, retried with backoff and Retry-After; 400/401 not",
     ll_demo_retry},
    {"pool", "one shared connection pool vs a new connection per request", ll_demo_pool},
    {"semaphore", "100 requests under in-flight limits 1, 3, 10, 100", ll_demo_semaphore},
    {"server", "mockllm's event loop vs a thread per connection, 100 to 10,000 waiting",
     ll_demo_server},
    {NULL, NULL, NULL},
};

static void list_scenarios(FILE *out)
{
    fprintf(out, "usage: llmload demo NAME [--backend threaded|evented|both] [--scale F] "
                 "[--json FILE] [--url URL]\n\nscenarios:\n");
    for (const struct ll_demo_scenario *s = scenarios; s->name != NULL; s++) {
        fprintf(out, "  %-10s %s\n", s->name, s->summary);
    }
}

/* "both" (or nothing): every backend of the table; else the one named. */
static int pick_backends(struct ll_demo *d, const char *name)
{
    if (name == NULL || strcmp(name, "both") == 0 || strcmp(name, "all") == 0) {
        for (const struct ll_backend *const *b = ll_backend_list();
             *b != NULL && d->n_be < LL_DEMO_MAX_BACKENDS; b++) {
            d->be[d->n_be++] = *b;
        }
        return 0;
    }
    const struct ll_backend *be = ll_backend_find(name);
    if (be == NULL) {
        fprintf(stderr, "%s: unknown backend '%s' (threaded, evented or both)\n", WHO, name);
        return LL_EXIT_USAGE;
    }
    d->be[d->n_be++] = be;
    return 0;
}

static int write_json(struct ll_demo *d, const char *name, const char *path)
{
    cJSON_AddStringToObject(d->json, "tool", "llmload");
    cJSON_AddStringToObject(d->json, "command", "demo");
    cJSON_AddStringToObject(d->json, "scenario", name);
    cJSON_AddNumberToObject(d->json, "scale", d->scale);
    int err = ll_report_write_json(d->json, path);
    if (err != 0) {
        fprintf(stderr, "%s: cannot write %s: %s\n", WHO, path, ll_strerror(err));
        return LL_EXIT_FAIL;
    }
    return 0;
}

static int run_scenario(const struct ll_demo_scenario *s, struct ll_demo *d, const char *json)
{
    d->json = cJSON_CreateObject();
    if (d->json == NULL) {
        return LL_EXIT_FAIL;
    }
    printf("llmload demo %s (scale %g; backends:", s->name, d->scale);
    for (size_t i = 0; i < d->n_be; i++) {
        printf(" %s", d->be[i]->name);
    }
    printf(")\n\n");
    fflush(stdout);
    int rc = s->run(d);
    if (rc == 0 && json != NULL) {
        rc = write_json(d, s->name, json);
    }
    cJSON_Delete(d->json);
    return rc;
}

int ll_cmd_demo(int argc, char **argv)
{
    struct ll_demo d = {.scale = 1.0};
    const char *backend = NULL, *json = NULL;
    bool help;
    const struct ll_opt opts[] = {
        {"backend", LL_OPT_STR, &backend, 0, 0, "NAME", "threaded, evented or both", "both", NULL},
        {"scale", LL_OPT_DOUBLE, &d.scale, 1e-4, 100, "F", "multiply every mock latency", NULL,
         NULL},
        {"json", LL_OPT_STR, &json, 0, 0, "FILE", "write every measured figure as JSON", "none",
         NULL},
        {"url", LL_OPT_STR, &d.url, 0, 0, "URL", "an endpoint instead of the bundled mock",
         "the bundled mockllm", NULL},
        {NULL, 0, NULL, 0, 0, NULL, NULL, NULL, NULL},
    };
    if (argc < 1 || argv[0][0] == '-') {
        if (argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
            list_scenarios(stdout);
            ll_opts_help(stdout, opts);
            return LL_EXIT_OK;
        }
        list_scenarios(argc < 1 ? stdout : stderr);
        return argc < 1 ? LL_EXIT_OK : LL_EXIT_USAGE;
    }
    const struct ll_demo_scenario *s = scenarios;
    while (s->name != NULL && strcmp(s->name, argv[0]) != 0) {
        s++;
    }
    if (s->name == NULL) {
        fprintf(stderr, "%s: unknown scenario '%s' (llmload demo lists them)\n", WHO, argv[0]);
        return LL_EXIT_USAGE;
    }
    if (ll_opts_parse(WHO, opts, argc - 1, argv + 1, &help) != 0) {
        return LL_EXIT_USAGE;
    }
    if (help) {
        list_scenarios(stdout);
        ll_opts_help(stdout, opts);
        return LL_EXIT_OK;
    }
    int rc = pick_backends(&d, backend);
    return rc != 0 ? rc : run_scenario(s, &d, json);
}
