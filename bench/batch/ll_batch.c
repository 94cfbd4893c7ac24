/* ll_batch.c - `llmload batch`: the seed's batch caller. JSONL prompts in, one JSONL result per
 * id out, written as results arrive; in-flight limit, retry with backoff, client-side RPM/TPM
 * buckets; resumable; a stop signal ends it cleanly.
 *
 * Every file check runs before anything starts (ll_batch_io.h): the input must be a file with
 * prompts, the output a results file of ours (never the input, never a file we did not write).
 * The first write that fails (disk full) stops the batch: nothing more is written, what is in
 * flight is cancelled, and the summary counts only the lines that are in the file.
 *
 * SIGINT, SIGTERM, SIGHUP (ll_signal.h): the loop never blocks longer than TICK_NS, so it
 * notices within ~100 ms, stops submitting and cancels what is in flight. Cancelled requests
 * are NOT written: on resume they are simply missing, and so they are sent again. Results that
 * completed before the cancel took effect are written normally. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ll_batch_int.h"

static void batch_table(struct batch *b, struct ll_opt *t, size_t cap)
{
    const struct ll_opt tab[] = {
        {"in", LL_OPT_STR, &b->in_path, 0, 0, "FILE", "prompts, one JSON object per line",
         "required", NULL, 0},
        {"out", LL_OPT_STR, &b->out_path, 0, 0, "FILE",
         "results, one JSON line per id; an existing results file is resumed, any other file "
         "is refused",
         "required", NULL, 0},
        {"backend", LL_OPT_STR, &b->backend, 0, 0, "NAME",
         "threaded or evented (run has no default: there the backend is what is measured)", NULL,
         NULL, 0},
        {"concurrency", LL_OPT_INT, &b->concurrency, 1, 1e5, "N", "requests in flight at most",
         NULL, NULL, 0},
        {"retries", LL_OPT_INT, &b->retries, 0, 100, "K",
         "retries after the first attempt (429, 5xx, timeouts, connection errors)", NULL, NULL, 0},
        {"rpm", LL_OPT_DOUBLE, &b->rpm, 0, 1e9, "N", "client-side requests per minute, 0 = off",
         NULL, NULL, 0},
        {"tpm", LL_OPT_DOUBLE, &b->tpm, 0, 1e12, "N",
         "client-side tokens per minute (estimated: prompt chars/4 + max_tokens), 0 = off", NULL,
         NULL, 0},
        {"model", LL_OPT_STR, &b->model, 0, 0, "M",
         "model for lines that name none (the mock's; name yours for a real endpoint)", NULL, NULL,
         0},
        {"max-tokens", LL_OPT_INT, &b->max_tokens, 1, 1e7, "N",
         "max_tokens for lines that set none", "not sent", NULL, 0},
        {"timeout", LL_OPT_DOUBLE, &b->timeout_s, 0, 86400, "S",
         "total timeout per attempt, s, 0 = none (see --ttfb-timeout, --idle-timeout)", NULL, NULL,
         0},
        {"url", LL_OPT_STR, &b->url, 0, 0, "URL", "OpenAI-compatible base URL",
         "$OPENAI_BASE_URL, else the embedded mockllm", NULL, 0},
        {"mock-arg", LL_OPT_LIST, &b->mock_args, 0, 0, "ARG",
         "embedded mock: pass ARG to mockllm, repeatable", "none", NULL, 0},
        {"quiet", LL_OPT_BOOL, &b->quiet, 0, 0, NULL,
         "no summary on stdout (errors still go to stderr)", NULL, NULL, 0},
        {NULL, 0, NULL, 0, 0, NULL, NULL, NULL, NULL, 0},
    };
    memcpy(t, tab, sizeof(tab) < cap * sizeof(*t) ? sizeof(tab) : cap * sizeof(*t));
    ll_retryopts_append(&b->retry, t, cap);
    ll_netopts_append(&b->net, t, cap);
}

#define BATCH_FLAGS_MAX 36

/* Model, timeout, retries and concurrency are the client's defaults, as in run and ab. */
static void batch_defaults(struct batch *b)
{
    struct ll_config d;
    ll_config_defaults(&d);
    memset(b, 0, sizeof(*b));
    b->backend = "evented";
    b->model = d.default_model;
    b->concurrency = d.concurrency;
    b->retries = d.retry.max_attempts - 1;
    b->timeout_s = (double)d.timeout_ms / 1000.0;
    b->fd = -1;
    b->prompts = -1;
    ll_retryopts_defaults(&b->retry, &d);
    ll_netopts_defaults(&b->net, &d);
}

static void batch_help(struct batch *b)
{
    struct ll_opt t[BATCH_FLAGS_MAX];
    batch_defaults(b);
    batch_table(b, t, BATCH_FLAGS_MAX);
    printf(
        "usage: llmload batch --in prompts.jsonl --out results.jsonl [flags]\n\n"
        "Input lines: {\"id\", \"model\"?, \"messages\" | \"prompt\", \"max_tokens\"?, ...};\n"
        "other fields are passed through. Output: one line per id, {\"id\", \"ok\": true,\n"
        "\"content\", \"finish_reason\", \"usage\", ...} or {\"id\", \"ok\": false, \"error\":\n"
        "{\"class\", \"status\", \"attempts\", \"message\"}}. A bad input line is reported with\n"
        "its number and written as an error (class \"input\"); a duplicate id is reported\n"
        "and skipped. Rerun with the same --out to send only missing or failed ids. --out is\n"
        "never the input and never a file batch did not write. ^C (or SIGTERM) stops\n"
        "submitting and cancels what is in flight; cancelled ids are not written, so a\n"
        "rerun sends them. A write that fails (disk full) stops the batch at once.\n"
        "Defaults for model, timeout, retries and concurrency are run's and ab's.\n\n");
    ll_opts_help(stdout, t);
    printf("\n%s", ll_retryopts_help);
    printf("\nenvironment: OPENAI_API_KEY (never printed), OPENAI_BASE_URL\n"
           "exit: 0 every id ok, 1 some failed (or an I/O error), 2 usage, 128+N stopped by "
           "signal N (130 SIGINT, 143 SIGTERM)\n");
}

/* Flags checked, files opened, output resumed: all before the mock or a thread starts.
 * 0 or an exit code. */
static int batch_setup(struct batch *b)
{
    struct ll_batch_resume r;
    if (b->in_path == NULL || b->out_path == NULL) {
        fprintf(stderr, "%s: --in and --out are required (see --help)\n", WHO);
        return LL_EXIT_USAGE;
    }
    const char *env = getenv("OPENAI_BASE_URL"); /* batch may call the environment's API */
    if (ll_netopts_check(&b->net, WHO) != 0 ||
        (b->url != NULL && ll_netopts_check_url(WHO, "--url", b->url) != 0) ||
        (b->url == NULL && env != NULL && *env != '\0' &&
         ll_netopts_check_url(WHO, "OPENAI_BASE_URL", env) != 0)) {
        return LL_EXIT_USAGE;
    }
    if ((b->be = ll_backend_find(b->backend)) == NULL) {
        fprintf(stderr, "%s: unknown backend '%s' (threaded or evented)\n", WHO, b->backend);
        return LL_EXIT_USAGE;
    }
    if (ll_opts_seconds_to_ms(WHO, "timeout", b->timeout_s, &b->timeout_ms) != 0 ||
        ll_retryopts_apply(&b->retry, WHO, &b->cfg) != 0) { /* checked now, applied later */
        return LL_EXIT_USAGE;
    }
    if (ll_batch_in_open(WHO, b->in_path, &b->in, &b->prompts) != 0 ||
        ll_batch_out_check(WHO, b->out_path, b->in) != 0) {
        return LL_EXIT_FAIL;
    }
    b->seen = ll_idset_new();
    b->done = ll_idset_new();
    if (b->seen == NULL || b->done == NULL || ll_batch_resume(WHO, b->out_path, b->done, &r) != 0) {
        return LL_EXIT_FAIL;
    }
    if (r.kept + r.dropped > 0) {
        fprintf(stderr, "%s: resuming %s: %zu done, %zu failed or unreadable line%s to redo%s\n",
                WHO, b->out_path, r.kept, r.dropped, r.dropped == 1 ? "" : "s",
                r.torn ? " (a torn last line was cut)" : "");
    }
    if ((b->fd = ll_batch_out_open(WHO, b->out_path)) < 0) {
        return LL_EXIT_FAIL;
    }
    return b->quiet && ll_outfile_quiet() != 0 ? LL_EXIT_FAIL : 0;
}

/* The endpoint (--url, $OPENAI_BASE_URL or the embedded mock) and the client, sized to the
 * work: no more in flight than there are prompts. */
static int batch_client(struct batch *b)
{
    const char *args[64];
    size_t n = 0;
    for (size_t i = 0; i < b->mock_args.n && n + 1 < sizeof(args) / sizeof(args[0]); i++) {
        args[n++] = b->mock_args.v[i];
    }
    args[n] = NULL;
    int64_t c = b->prompts > 0 && b->prompts < b->concurrency ? b->prompts : b->concurrency;
    if (ll_netopts_check_backend(&b->net, b->be, c, WHO) != 0) {
        return LL_EXIT_USAGE;
    }
    struct ll_config want; /* checked before the mock starts: nothing to undo */
    ll_config_defaults(&want);
    want.concurrency = (int)c;
    want.max_connections = (int)b->net.max_connections;
    if (ll_limits_check(WHO, b->be, &want) != 0) {
        return LL_EXIT_FAIL;
    }
    int err = ll_endpoint_open(&b->ep, WHO, b->url, true, args);
    if (err != 0) {
        return err == LL_EINVAL ? LL_EXIT_USAGE : LL_EXIT_FAIL; /* $OPENAI_BASE_URL unusable */
    }
    ll_endpoint_config(&b->ep, &b->cfg, (int)c);
    b->cfg.default_model = b->model;
    b->cfg.retry.max_attempts = (int)b->retries + 1;
    ll_retryopts_apply(&b->retry, WHO, &b->cfg); /* checked in batch_setup */
    b->cfg.timeout_ms = b->timeout_ms;
    ll_netopts_apply(&b->net, &b->cfg);
    err = ll_client_create(b->be, &b->cfg, &b->c);
    if (err != 0) {
        fprintf(stderr, "%s: cannot start the %s backend: %s\n", WHO, b->be->name,
                ll_strerror(err));
        return LL_EXIT_FAIL;
    }
    return 0;
}

static void batch_free(struct batch *b)
{
    if (b->c != NULL) {
        ll_batch__cancel_all(b);
        ll_client_destroy(b->c); /* frees the calls; our in-flight records go below */
    }
    while (b->live != NULL) {
        struct inflight *f = b->live;
        b->live = f->next;
        ll_batch_item_free(&f->it);
        free(f);
    }
    if (b->have_pending) {
        ll_batch_item_free(&b->pending);
    }
    ll_endpoint_close(&b->ep);
    if (b->fd >= 0) {
        close(b->fd);
    }
    if (b->in != NULL) {
        fclose(b->in);
    }
    ll_idset_free(b->seen);
    ll_idset_free(b->done);
    ll_strv_free(&b->mock_args);
}

static int batch_run(struct batch *b)
{
    int rc = batch_setup(b);
    if (rc != 0) {
        return rc;
    }
    b->t0 = ll_now_ns();
    if ((rc = batch_client(b)) != 0) {
        if (ll_signal_caught()) {
            ll_batch__summary(b); /* stopped while the mock started: nothing was sent */
        }
        return rc;
    }
    b->progress = isatty(STDERR_FILENO) == 1 && !b->quiet;
    b->t0 = ll_now_ns();
    ll_ratelimit_init(&b->rl, b->rpm, b->tpm, b->t0);
    rc = ll_batch__loop(b);
    ll_batch__summary(b);
    if (ll_signal_caught()) {
        fprintf(stderr, "%s: stopped by %s: rerun the same command to finish\n", WHO,
                ll_signal_name(ll_signal_caught()));
    }
    if (rc != 0 || b->write_errno != 0) {
        return LL_EXIT_FAIL;
    }
    return b->failed > 0 ? LL_EXIT_FAIL : LL_EXIT_OK;
}

int ll_cmd_batch(int argc, char **argv)
{
    struct batch b;
    struct ll_opt t[BATCH_FLAGS_MAX];
    bool help;
    batch_defaults(&b);
    batch_table(&b, t, BATCH_FLAGS_MAX);
    int rc = ll_opts_parse(WHO, t, argc, argv, &help) != 0 ? LL_EXIT_USAGE : 0;
    if (rc == 0 && help) {
        ll_strv_free(&b.mock_args);
        batch_help(&b);
        return LL_EXIT_OK;
    }
    if (rc == 0) {
        rc = batch_run(&b);
    }
    batch_free(&b);
    return rc;
}
