/* ll_demo.c - `llmload demo [NAME]`: the table of scenarios, flags, dispatch, --json. */
#include <stdio.h>
#include <string.h>

#include "ll_cmd.h"
#include "ll_demo.h"
#include "ll_err.h"
#include "ll_netopts.h"
#include "ll_opts.h"
#include "ll_outfile.h"
#include "ll_report.h"
#include "ll_signal.h"

#define WHO "llmload demo"

static const struct ll_demo_scenario scenarios[] = {
    {"basics", "3 calls x 2 s: sequential, concurrent, blocking pitfall; and 10 x 3 s", false,
     ll_demo_basics},
    {"io-vs-cpu", "a CPU step per response: concurrency helps the I/O, not the CPU", false,
     ll_demo_iocpu},
    {"patterns", "gather vs submit-now-collect-later with other work in between", false,
     ll_demo_patterns},
    {"errors", "collect every outcome vs fail-fast: what fail-fast loses", false, ll_demo_errors},
    {"retry", "429, 503, 500 then success, retried with backoff and Retry-After; 400/401 not",
     false, ll_demo_retry},
    {"pool", "one shared pool vs a new connection per request, over TLS and a 20 ms round trip",
     true, ll_demo_pool},
    {"semaphore", "100 requests under in-flight limits 1, 3, 10, 100", false, ll_demo_semaphore},
    {"server", "mockllm's event loop vs a thread per connection, 100 to 10,000 waiting", false,
     ll_demo_server},
    {NULL, NULL, false, NULL},
};

static void list_scenarios(FILE *out)
{
    fprintf(out, "usage: llmload demo NAME [--backend threaded|evented|both] [--scale F] "
                 "[--json FILE] [--url URL]\n"
                 "                         [--rtt-ms MS] [--no-tls] (pool: the embedded mock's "
                 "transport)\n\n"
                 "exit: 0 every claim held; 1 a claim did not hold (one line each) or the run "
                 "failed;\n      2 usage; 130/143 interrupted\n\nscenarios:\n");
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

static const struct ll_demo_scenario *find_scenario(const char *name)
{
    for (const struct ll_demo_scenario *s = scenarios; s->name != NULL; s++) {
        if (strcmp(s->name, name) == 0) {
            return s;
        }
    }
    fprintf(stderr, "%s: unknown scenario '%s' (llmload demo lists them)\n", WHO, name);
    return NULL;
}

/* A --url that cannot work, and --rtt-ms or --no-tls where they cannot apply: they shape the
 * embedded mock of the scenarios that choose a transport, and given elsewhere would silently do
 * nothing. One line each; 0 or LL_EINVAL. */
static int check_endpoint(const struct ll_demo_scenario *s, const struct ll_demo *d)
{
    if (d->url != NULL && ll_netopts_check_url(WHO, "--url", d->url) != 0) {
        return LL_EINVAL;
    }
    const char *flag = d->rtt_given ? "--rtt-ms" : d->no_tls ? "--no-tls" : NULL;
    if (flag == NULL) {
        return 0;
    }
    if (!s->transport) {
        fprintf(stderr, "%s %s: %s applies to the pool scenario only\n", WHO, s->name, flag);
        return LL_EINVAL;
    }
    if (d->url != NULL) {
        fprintf(stderr,
                "%s %s: %s shapes the embedded mock; with --url the endpoint's own transport "
                "and round trip apply\n",
                WHO, s->name, flag);
        return LL_EINVAL;
    }
    return 0;
}

static int write_json(struct ll_demo *d, const char *name, struct ll_outfile *out)
{
    ll_report_meta_json(d->json, "demo");
    cJSON_AddStringToObject(d->json, "scenario", name);
    cJSON_AddNumberToObject(d->json, "scale", d->scale);
    cJSON_AddBoolToObject(d->json, "interrupted", ll_signal_caught() != 0);
    return ll_outfile_commit_json(out, WHO, d->json) != 0 ? LL_EXIT_FAIL : 0;
}

/* A demo measures claims: one that does not hold fails the run (exit 1), one line each. */
static int claims_verdict(const struct ll_demo *d, const char *name)
{
    int rc = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(d->json, "claims"))
    {
        if (!cJSON_IsTrue(c)) {
            fprintf(stderr, "%s %s: claim '%s' does not hold on this run\n", WHO, name, c->string);
            rc = LL_EXIT_FAIL;
        }
    }
    return rc;
}

/* The --json file is opened before the scenario starts its mock: a path that cannot be written
 * is one line at once. A stop signal cancels what is out (ll_config.stop); the figures measured
 * so far are printed and written, the claims left unchecked. */
static int run_scenario(const struct ll_demo_scenario *s, struct ll_demo *d, const char *json,
                        bool quiet)
{
    struct ll_outfile out;
    if (ll_outfile_open(&out, WHO, "--json", json) != 0 || (quiet && ll_outfile_quiet() != 0)) {
        return LL_EXIT_FAIL;
    }
    d->json = cJSON_CreateObject();
    if (d->json == NULL) {
        ll_outfile_abort(&out);
        return LL_EXIT_FAIL;
    }
    /* First, where the load goes: never an endpoint that was not named for this run. */
    if (d->url != NULL) {
        printf("llmload demo %s: load goes to %s (--url; scale %g; backends:", s->name, d->url,
               d->scale);
    } else {
        printf("llmload demo %s: load goes to the embedded mockllm (scale %g; backends:", s->name,
               d->scale);
    }
    for (size_t i = 0; i < d->n_be; i++) {
        printf(" %s", d->be[i]->name);
    }
    printf(")\n\n");
    fflush(stdout);
    int rc = s->run(d);
    if (ll_signal_caught()) {
        fprintf(stderr, "%s: stopped by %s: the figures above are what was measured before\n", WHO,
                ll_signal_name(ll_signal_caught()));
    }
    if (rc == 0 && !ll_signal_caught()) {
        rc = claims_verdict(d, s->name);
    }
    if ((rc == 0 || rc == LL_EXIT_FAIL || ll_signal_caught()) && json != NULL &&
        write_json(d, s->name, &out) != 0) {
        rc = LL_EXIT_FAIL;
    }
    ll_outfile_abort(&out);
    cJSON_Delete(d->json);
    return rc;
}

int ll_cmd_demo(int argc, char **argv)
{
    struct ll_demo d = {.scale = 1.0, .rtt_ms = LL_DEMO_RTT_MS};
    const char *backend = NULL, *json = NULL;
    bool help, quiet = false;
    const struct ll_opt opts[] = {
        {"backend", LL_OPT_STR, &backend, 0, 0, "NAME", "threaded, evented or both", "both", NULL,
         0},
        {"scale", LL_OPT_DOUBLE, &d.scale, 1e-4, 100, "F", "multiply every mock latency", NULL,
         NULL, 0},
        {"json", LL_OPT_STR, &json, 0, 0, "FILE",
         "write every measured figure as JSON; - = stdout, the JSON alone (the text then goes to "
         "stderr)",
         "none", NULL, 0},
        {"quiet", LL_OPT_BOOL, &quiet, 0, 0, NULL, "print no text", NULL, NULL, 0},
        {"url", LL_OPT_STR, &d.url, 0, 0, "URL", "an endpoint instead of the bundled mock",
         "the bundled mockllm", NULL, 0},
        {"rtt-ms", LL_OPT_DOUBLE, &d.rtt_ms, 0, 10000, "MS",
         "pool: the network round trip the embedded mock emulates, ms at scale 1 (times --scale; "
         "0 = none)",
         NULL, &d.rtt_given, 0},
        {"no-tls", LL_OPT_BOOL, &d.no_tls, 0, 0, NULL,
         "pool: the embedded mock serves cleartext HTTP", "HTTPS, its own CA trusted and verified",
         NULL, 0},
        {NULL, 0, NULL, 0, 0, NULL, NULL, NULL, NULL, 0},
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
    const struct ll_demo_scenario *s = find_scenario(argv[0]);
    if (s == NULL) {
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
    if (check_endpoint(s, &d) != 0) {
        return LL_EXIT_USAGE;
    }
    int rc = pick_backends(&d, backend);
    return rc != 0 ? rc : run_scenario(s, &d, json, quiet);
}
