/* ll_batch_loop.c - the loop of `llmload batch`: read a line, triage it, submit under the
 * in-flight and RPM/TPM limits, write each result as it arrives, count, show progress, and the
 * summary (ll_batch_int.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ll_batch_int.h"

void ll_batch__cancel_all(struct batch *b)
{
    for (struct inflight *f = b->live; f != NULL; f = f->next) {
        ll_client_cancel(b->c, f->call);
    }
}

static void stop(struct batch *b)
{
    if (!b->stopping) {
        b->stopping = true;
        ll_batch__cancel_all(b);
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

int ll_batch__loop(struct batch *b)
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

void ll_batch__summary(const struct batch *b)
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
