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

#include "ll_batch_io.h"
#include "ll_client.h"
#include "ll_clock.h"
#include "ll_cmd.h"
#include "ll_endpoint.h"
#include "ll_netopts.h"
#include "ll_limits.h"
#include "ll_opts.h"
#include "ll_outfile.h"
#include "ll_retryopts.h"
#include "ll_ratelimit_client.h"
#include "ll_signal.h"

#define WHO         "llmload batch"
#define TICK_NS     (100 * LL_NS_PER_MS)
#define CLASS_INPUT LL_CLASS__COUNT /* failed_by[] slot for bad input lines */

struct inflight {
    struct ll_batch_item it;
    struct ll_call *call;
    struct inflight *prev, *next;
};

struct batch {
    /* flags */
    const char *in_path, *out_path, *backend, *url, *model;
    int64_t concurrency, retries, max_tokens;
    double rpm, tpm, timeout_s;
    bool quiet;
    int64_t timeout_ms; /* as applied: whole ms (ll_opts_seconds_to_ms) */
    struct ll_strv mock_args;
    struct ll_retryopts retry; /* --retry-base, --retry-cap, --no-retry-jitter */
    struct ll_netopts net;     /* real-endpoint flags (ll_netopts.h) */
    /* run */
    const struct ll_backend *be;
    struct ll_endpoint ep;
    struct ll_config cfg;
    struct ll_client *c;
    struct ll_ratelimit rl;
    FILE *in;
    long lineno, prompts; /* prompts: non-blank input lines, -1 when not known ahead (a pipe) */
    int fd;
    int write_errno; /* the first failed write's errno: nothing more is written */
    bool eof, have_pending, stopping, progress, started;
    struct ll_batch_item pending;
    struct ll_idset *seen, *done;
    struct inflight *live;
    /* counts: ok and failed are lines in the file; unwritten are results that could not be */
    uint64_t sent, ok, failed, failed_by[LL_CLASS__COUNT + 1], cancelled, unwritten, skipped,
        duplicates;
    uint64_t retries_made, prompt_tokens, completion_tokens;
    uint64_t usage_missing; /* answers that came with no usage: their tokens are not known */
    int64_t t0, next_tick;
};

static void cancel_all(struct batch *b)
{
    for (struct inflight *f = b->live; f != NULL; f = f->next) {
        ll_client_cancel(b->c, f->call);
    }
}

static void stop(struct batch *b)
{
    if (!b->stopping) {
        b->stopping = true;
        cancel_all(b);
    }
}

/* A write failed: one line, then stop (every further line would fail the same way). */
static void write_failed(struct batch *b, int e)
{
    char why[256];
    if (b->write_errno == 0) {
        b->write_errno = e != 0 ? e : EIO;
        fprintf(stderr,
                "%s: writing %s: %s: stopped; the file holds every line up to here, "
                "rerun the same command to finish\n",
                WHO, b->out_path, ll_outfile_why(why, sizeof(why), b->out_path, b->write_errno));
    }
    b->unwritten++;
    stop(b);
}

/* An input line that will not be sent: report it and write its error line. */
static void write_bad(struct batch *b, const struct ll_batch_item *it)
{
    fprintf(stderr, "%s: %s:%ld: %s\n", WHO, b->in_path, it->line, it->err);
    if (b->write_errno != 0) {
        b->unwritten++;
    } else if (ll_batch_write_bad(b->fd, it) != 0) {
        write_failed(b, errno);
    } else {
        b->failed++;
        b->failed_by[CLASS_INPUT]++;
    }
}

/* Classify the item just read: 1 = send it, 0 = handled (bad, duplicate, done), or exit code. */
static int triage(struct batch *b, struct ll_batch_item *it)
{
    long first = ll_idset_get(b->seen, it->key);
    if (first >= 0) {
        fprintf(stderr, "%s: %s:%ld: duplicate id %s (first on line %ld): skipped\n", WHO,
                b->in_path, it->line, it->key, first);
        b->duplicates++;
        return 0;
    }
    if (it->key[0] != '#' && ll_idset_put(b->seen, it->key, it->line) != 0) {
        return -LL_EXIT_FAIL;
    }
    if (it->body == NULL) {
        write_bad(b, it);
        return 0;
    }
    if (ll_idset_get(b->done, it->key) >= 0) {
        b->skipped++;
        return 0;
    }
    return 1;
}

/* Make b->pending the next item to send. true when there is one; false at EOF or on error
 * (*rc set to an exit code then). */
static bool fetch(struct batch *b, int *rc)
{
    while (!b->have_pending && !b->eof && !b->stopping) {
        int n = ll_batch_read(b->in, &b->lineno, b->model, (int)b->max_tokens, &b->pending);
        if (n <= 0) {
            b->eof = true;
            if (n == LL_ERANGE) {
                fprintf(stderr, "%s: %s:%ld: a line longer than %ld MiB: stopped\n", WHO,
                        b->in_path, b->lineno + 1, LL_BATCH_LINE_MAX >> 20);
            } else if (n < 0) {
                fprintf(stderr, "%s: reading %s: %s\n", WHO, b->in_path, ll_strerror(n));
            }
            *rc = n < 0 ? LL_EXIT_FAIL : *rc;
            break;
        }
        int t = triage(b, &b->pending);
        if (t == 1) {
            b->have_pending = true;
        } else {
            ll_batch_item_free(&b->pending);
            if (t < 0) {
                *rc = -t;
                return false;
            }
        }
    }
    return b->have_pending;
}

static int submit_pending(struct batch *b)
{
    struct inflight *f = calloc(1, sizeof(*f));
    if (f == NULL) {
        return LL_EXIT_FAIL;
    }
    f->it = b->pending;
    b->have_pending = false;
    struct ll_request req = {.body_json = f->it.body, .user = f};
    int err = ll_client_submit(b->c, &req, &f->call);
    if (err != 0) {
        fprintf(stderr, "%s: cannot submit id %s: %s\n", WHO, f->it.key, ll_strerror(err));
        ll_batch_item_free(&f->it);
        free(f);
        return LL_EXIT_FAIL;
    }
    ll_ratelimit_take(&b->rl, f->it.est_tokens, ll_now_ns());
    b->sent++;
    f->next = b->live;
    if (b->live != NULL) {
        b->live->prev = f;
    }
    b->live = f;
    return 0;
}

static void unlink_live(struct batch *b, struct inflight *f)
{
    if (f->prev != NULL) {
        f->prev->next = f->next;
    } else {
        b->live = f->next;
    }
    if (f->next != NULL) {
        f->next->prev = f->prev;
    }
}

/* A final result: write it (unless cancelled or writing has failed), count it, free it. */
static void finish(struct batch *b, struct ll_call *call)
{
    struct inflight *f = call->res.user;
    const struct ll_result *r = &call->res;
    unlink_live(b, f);
    b->retries_made += r->attempts > 1 ? (uint64_t)(r->attempts - 1) : 0;
    ll_ratelimit_settle(&b->rl, f->it.est_tokens, r->total_tokens);
    if (r->cls == LL_CLASS_CANCELLED) {
        b->cancelled++;
    } else if (b->write_errno != 0) {
        b->unwritten++;
    } else if (ll_batch_write_result(b->fd, &f->it, r) != 0) {
        write_failed(b, errno);
    } else if (r->cls == LL_CLASS_NONE) {
        b->ok++;
        if (r->prompt_tokens >= 0 && r->completion_tokens >= 0) {
            b->prompt_tokens += (uint64_t)r->prompt_tokens;
            b->completion_tokens += (uint64_t)r->completion_tokens;
        } else {
            b->usage_missing++;
        }
    } else {
        b->failed++;
        b->failed_by[r->cls]++;
    }
    ll_batch_item_free(&f->it);
    free(f);
    ll_call_free(call);
}

/* "[#####     ] 12/30  ok 10  failed 2  8.5/s  ETA 2s  on the wire 3 of 8": results written
 * per second since the start, and the requests the backend has out (at most --concurrency). */
static void progress(struct batch *b)
{
    int64_t now = ll_now_ns();
    if (!b->progress || now < b->next_tick) {
        return;
    }
    b->next_tick = now + TICK_NS;
    uint64_t done = b->ok + b->failed + b->skipped + b->duplicates;
    double el = (double)(now - b->t0) / 1e9;
    double rate = el > 0 ? (double)(b->ok + b->failed) / el : 0.0;
    char eta[32] = "ETA -";
    if (b->prompts > 0) {
        int width = 30, fill = (int)((double)done / (double)b->prompts * width);
        fill = fill > width ? width : fill;
        fprintf(stderr, "\r[%.*s%*s] %llu/%ld", fill, "##############################",
                width - fill, "", (unsigned long long)done, b->prompts);
        if (rate > 0 && (long)done <= b->prompts) {
            snprintf(eta, sizeof(eta), "ETA %.0fs", (double)(b->prompts - (long)done) / rate);
        }
    } else {
        fprintf(stderr, "\r%llu done", (unsigned long long)done);
    }
    fprintf(stderr, "  ok %llu  failed %llu  %.1f/s  %s  on the wire %zu of %d\033[K",
            (unsigned long long)b->ok, (unsigned long long)b->failed, rate, eta,
            ll_client_outstanding(b->c), b->cfg.concurrency);
    fflush(stderr);
}

/* Submit what the limit and the buckets allow. Returns the ns until the buckets allow the next
 * one, or -1 when not waiting on them; *rc gets an exit code on error. */
static int64_t submit_some(struct batch *b, int *rc)
{
    while (!b->stopping && ll_client_outstanding(b->c) < (size_t)b->cfg.concurrency) {
        if (!fetch(b, rc)) {
            return -1;
        }
        int64_t w = ll_ratelimit_wait_ns(&b->rl, b->pending.est_tokens, ll_now_ns());
        if (w > 0) {
            return w;
        }
        if ((*rc = submit_pending(b)) != 0) {
            return -1;
        }
    }
    return -1;
}

/* Wait up to `ns` for results (or sleep, when nothing is in flight) and handle them. */
static void wait_some(struct batch *b, int64_t ns)
{
    if (ll_client_outstanding(b->c) == 0) {
        struct timespec ts = {ns / LL_NS_PER_S, ns % LL_NS_PER_S};
        nanosleep(&ts, NULL); /* a signal ends it early (no SA_RESTART) */
        return;
    }
    struct ll_call *call = ll_client_next(b->c, ns);
    while (call != NULL) {
        finish(b, call);
        call = ll_client_next_ready(b->c);
    }
}

static int batch_loop(struct batch *b)
{
    int rc = 0;
    for (;;) {
        if (ll_signal_caught()) {
            stop(b);
        }
        int64_t w = submit_some(b, &rc);
        if (rc != 0) {
            stop(b);
        }
        progress(b);
        if (ll_client_outstanding(b->c) == 0 && (b->stopping || (!b->have_pending && b->eof))) {
            break;
        }
        wait_some(b, w > 0 && w < TICK_NS ? w : TICK_NS);
    }
    return rc;
}

static void summary(const struct batch *b)
{
    double wall = b->t0 > 0 ? (double)(ll_now_ns() - b->t0) / 1e9 : 0.0;
    if (b->progress) {
        fputs("\r\033[K", stderr);
    }
    printf("%s: %s -> %s on %s (%s)\n", WHO, b->in_path, b->out_path, b->be->name,
           b->ep.base_url != NULL ? b->ep.base_url : "no endpoint: stopped before it started");
    printf("done %llu ok, %llu failed", (unsigned long long)b->ok, (unsigned long long)b->failed);
    const char *sep = " (";
    for (int k = 0; k <= LL_CLASS__COUNT; k++) {
        if (b->failed_by[k] > 0) {
            printf("%s%s %llu", sep, k == CLASS_INPUT ? "input" : ll_class_name(k),
                   (unsigned long long)b->failed_by[k]);
            sep = ", ";
        }
    }
    printf("%s, %llu cancelled (not written)", *sep == ',' ? ")" : "",
           (unsigned long long)b->cancelled);
    if (b->unwritten > 0 || b->write_errno != 0) {
        printf(", %llu not written (the write failed)", (unsigned long long)b->unwritten);
    }
    printf("\nsent %llu, retries %llu, skipped %llu already done, %llu duplicate ids\n",
           (unsigned long long)b->sent, (unsigned long long)b->retries_made,
           (unsigned long long)b->skipped, (unsigned long long)b->duplicates);
    if (b->ok > 0 && b->usage_missing == b->ok) {
        printf("tokens - (no usage from server), ");
    } else {
        printf("tokens %llu (prompt %llu, completion %llu), ",
               (unsigned long long)(b->prompt_tokens + b->completion_tokens),
               (unsigned long long)b->prompt_tokens, (unsigned long long)b->completion_tokens);
    }
    if (wall >= 0.1) { /* a rate over a few ms says nothing */
        printf("%.1f results/s, ", (double)(b->ok + b->failed) / wall);
    }
    printf("wall %.2f s\n", wall);
    if (b->usage_missing > 0 && b->usage_missing < b->ok) {
        printf("no usage from server for %llu of %llu answers: their tokens are not counted\n",
               (unsigned long long)b->usage_missing, (unsigned long long)b->ok);
    }
    fflush(stdout);
}

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
    struct ll_config want; /* checked before the mock starts: nothing to undo */
    ll_config_defaults(&want);
    want.concurrency = (int)c;
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
        cancel_all(b);
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
            summary(b); /* stopped while the mock started: nothing was sent */
        }
        return rc;
    }
    b->progress = isatty(STDERR_FILENO) == 1 && !b->quiet;
    b->t0 = ll_now_ns();
    ll_ratelimit_init(&b->rl, b->rpm, b->tpm, b->t0);
    rc = batch_loop(b);
    summary(b);
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
