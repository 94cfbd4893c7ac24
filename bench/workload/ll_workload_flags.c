/* ll_workload_flags.c - the workload flags of `llmload run` (see ll_workload_flags.h). */
#include "ll_workload_flags.h"

#include <string.h>

#include "ll_cmd.h"
#include "ll_err.h"

void ll_wl_flags_defaults(struct ll_wl_flags *f)
{
    memset(f, 0, sizeof(*f));
    f->speed = 1.0;
    f->burstiness = 1.0;
}

size_t ll_wl_flags_table(struct ll_wl_flags *f, struct ll_opt *t, size_t cap)
{
    const struct ll_opt tab[] = {
        {.name = "dataset",
         .kind = LL_OPT_STR,
         .dst = &f->dataset,
         .arg = "FILE",
         .help = "prompts from FILE: JSONL (a prompt string, {\"prompt\"}, {\"messages\"} or a "
                 "messages array per line) or a JSON array of them or of ShareGPT "
                 "{\"conversations\"}",
         .def = "none"},
        {.name = "dataset-sample",
         .kind = LL_OPT_INT,
         .dst = &f->sample,
         .min = 1,
         .max = 1e9,
         .arg = "N",
         .help = "use a random sample of N of the dataset's prompts (seeded by --seed), cycled",
         .def = "--requests",
         .seen = &f->sample_seen},
        {.name = "input-tokens",
         .kind = LL_OPT_STR,
         .dst = &f->input_spec,
         .arg = "DIST",
         .help = "synthetic prompts of N, fixed:N, uniform:LO,HI, normal:MEAN,SD or "
                 "lognormal:P50,P99 tokens (mockllm's: 4 bytes a token), seeded by --seed",
         .def = "--prompt"},
        {.name = "output-tokens",
         .kind = LL_OPT_STR,
         .dst = &f->output_spec,
         .arg = "DIST",
         .help = "max_tokens per request drawn from DIST (as --input-tokens)",
         .def = "--max-tokens"},
        {.name = "ignore-eos",
         .kind = LL_OPT_BOOL,
         .dst = &f->ignore_eos,
         .help = "send ignore_eos: true and min_tokens = max_tokens, so that servers which take "
                 "them (vLLM, SGLang) answer the full length; OpenAI rejects them"},
        {.name = "ramp-up",
         .kind = LL_OPT_SECONDS,
         .dst = &f->ramp_s,
         .min = 0,
         .max = 1e6,
         .arg = "T",
         .help =
             "rise linearly over T (10, 10s, 2m): the rate from 0 to --rate (open loop), or the "
             "requests in flight from 1 to --concurrency (closed loop)",
         .def = "none"},
        {.name = "burstiness",
         .kind = LL_OPT_DOUBLE,
         .dst = &f->burstiness,
         .min = 1e-3,
         .max = 1e3,
         .arg = "B",
         .help = "gamma arrivals (--arrivals gamma) of shape B, mean 1/rate: 1 is Poisson, "
                 "below 1 burstier, above 1 more even (vLLM's definition)",
         .seen = &f->burst_seen},
        {.name = "trace",
         .kind = LL_OPT_STR,
         .dst = &f->trace,
         .arg = "FILE",
         .help = "replay FILE's requests in open loop: CSV timestamp_s,input_tokens,"
                 "output_tokens (header optional); --requests N replays the first N",
         .def = "none"},
        {.name = "trace-speed",
         .kind = LL_OPT_DOUBLE,
         .dst = &f->speed,
         .min = 1e-6,
         .max = 1e6,
         .arg = "X",
         .help = "replay the trace X times as fast",
         .seen = &f->speed_seen},
    };
    size_t n = sizeof(tab) / sizeof(tab[0]);
    n = n + 1 <= cap ? n : cap - 1;
    memcpy(t, tab, n * sizeof(*t));
    memset(&t[n], 0, sizeof(t[n]));
    return n;
}

static int bad(const struct ll_wl_run *run, const char *msg, const char *arg)
{
    fprintf(stderr, "%s: %s%s%s\n", run->who, msg, arg ? " " : "", arg ? arg : "");
    return LL_EXIT_USAGE;
}

/* Flags that cannot go together: the first pair found, else NULL. */
static const char *conflict(const struct ll_wl_flags *f, const struct ll_wl_run *run)
{
    bool trace = f->trace != NULL, rate = *run->rate > 0;
    struct {
        bool both;
        const char *why;
    } rules[] = {
        {f->sample_seen && f->dataset == NULL, "--dataset-sample needs --dataset"},
        {f->speed_seen && !trace, "--trace-speed needs --trace"},
        {trace && f->dataset != NULL, "--trace and --dataset: a trace's prompts are synthetic"},
        {f->input_spec != NULL && (trace || f->dataset != NULL),
         "--input-tokens: the prompts come from --trace or --dataset already"},
        {run->prompt_seen && (trace || f->dataset != NULL || f->input_spec != NULL),
         "--prompt and --dataset, --input-tokens or --trace: choose one source of prompts"},
        {f->output_spec != NULL && (trace || run->max_tokens > 0),
         "--output-tokens: max_tokens comes from --max-tokens or --trace already"},
        {trace && run->max_tokens > 0, "--max-tokens: a trace gives each request's max_tokens"},
        {f->ignore_eos && !trace && f->output_spec == NULL && run->max_tokens <= 0,
         "--ignore-eos needs a length to stop at: --max-tokens, --output-tokens or --trace"},
        {trace && (rate || *run->arr != LL_ARRIVALS_CONSTANT || f->burst_seen),
         "--trace replays its own arrival times: drop --rate, --arrivals and --burstiness"},
        {trace && f->ramp_s > 0, "--ramp-up: a trace replays its own rate"},
        {f->burst_seen && !rate, "--burstiness needs --rate"},
    };
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
        if (rules[i].both) {
            return rules[i].why;
        }
    }
    return NULL;
}

static int parse_lengths(struct ll_wl_flags *f, const struct ll_wl_run *run)
{
    char err[200], line[260];
    if (f->input_spec != NULL &&
        ll_length_parse(f->input_spec, &f->work.input, err, sizeof(err)) != 0) {
        snprintf(line, sizeof(line), "--input-tokens %s", err);
        return bad(run, line, NULL);
    }
    if (f->output_spec != NULL &&
        ll_length_parse(f->output_spec, &f->work.output, err, sizeof(err)) != 0) {
        snprintf(line, sizeof(line), "--output-tokens %s", err);
        return bad(run, line, NULL);
    }
    return 0;
}

static int load_files(struct ll_wl_flags *f, const struct ll_wl_run *run)
{
    char err[400];
    if (f->dataset != NULL) {
        uint64_t k = f->sample_seen            ? (uint64_t)f->sample
                     : run->requests_unbounded ? 0 /* --duration alone: the whole file */
                                               : (uint64_t)*run->requests;
        if (ll_dataset_load(f->dataset, k, run->seed, &f->ds, err, sizeof(err)) != 0) {
            return bad(run, "--dataset:", err);
        }
        f->work.dataset = &f->ds;
    }
    if (f->trace != NULL) {
        size_t rows = run->requests_seen ? (size_t)*run->requests : 0;
        if (ll_trace_load(f->trace, rows, &f->tr, err, sizeof(err)) != 0) {
            return bad(run, "--trace:", err);
        }
        f->work.trace = &f->tr;
        *run->requests = (int64_t)f->tr.n;
        *run->arr = LL_ARRIVALS_TRACE;
        /* the trace's mean rate: the open loop's mode, the header, what the schedule offers */
        *run->rate =
            f->tr.span_s > 0 ? (double)(f->tr.n - 1) / f->tr.span_s * f->speed : (double)f->tr.n;
    }
    return 0;
}

int ll_wl_flags_setup(struct ll_wl_flags *f, const struct ll_wl_run *run)
{
    const char *why = conflict(f, run);
    int rc;
    if (why != NULL) {
        return bad(run, why, NULL);
    }
    if ((rc = parse_lengths(f, run)) != 0 || (rc = load_files(f, run)) != 0) {
        return rc;
    }
    if (f->burst_seen || *run->arr == LL_ARRIVALS_GAMMA) {
        *run->arr = LL_ARRIVALS_GAMMA; /* --burstiness alone means gamma arrivals */
    }
    *run->arrivals = ll_arrivals_name(*run->arr);
    f->work.ignore_eos = f->ignore_eos;
    f->work.seed = run->seed;
    f->active = f->dataset != NULL || f->trace != NULL || f->input_spec != NULL ||
                f->output_spec != NULL || f->ignore_eos;
    return 0;
}

void ll_wl_flags_drive(struct ll_wl_flags *f, struct ll_drive_opts *d)
{
    d->burstiness = f->burstiness;
    d->ramp_s = f->ramp_s;
    if (f->trace != NULL) {
        d->trace_s = f->tr.t_s;
        d->trace_n = f->tr.n;
        d->trace_speed = f->speed;
    }
    d->work = f->active ? &f->work : NULL;
}

void ll_wl_flags_header(const struct ll_wl_flags *f, FILE *out)
{
    char in[64], outl[64];
    if (!f->active && f->ramp_s <= 0 && !f->burst_seen) {
        return;
    }
    ll_length_format(in, sizeof(in), &f->work.input);
    ll_length_format(outl, sizeof(outl), &f->work.output);
    fprintf(out, "workload:");
    if (f->trace != NULL) {
        fprintf(out, " trace=%s (%zu requests over %.3fs, speed %g)", f->trace, f->tr.n,
                f->tr.span_s, f->speed);
    } else if (f->dataset != NULL) {
        fprintf(out, " dataset=%s (%s, %zu of %llu prompts, %llu skipped)", f->dataset,
                f->ds.layout, f->ds.n, (unsigned long long)f->ds.entries,
                (unsigned long long)f->ds.skipped);
    } else if (in[0] != '\0') {
        fprintf(out, " input_tokens=%s", in);
    }
    if (outl[0] != '\0') {
        fprintf(out, " output_tokens=%s", outl);
    }
    if (f->ignore_eos) {
        fprintf(out, " ignore_eos=on");
    }
    if (f->ramp_s > 0) {
        fprintf(out, " ramp_up=%gs", f->ramp_s);
    }
    if (f->burst_seen) {
        fprintf(out, " burstiness=%g", f->burstiness);
    }
    fprintf(out, "\n");
}

cJSON *ll_wl_flags_json(const struct ll_wl_flags *f)
{
    char buf[64];
    cJSON *o = cJSON_CreateObject();
    const char *prompts = f->trace != NULL        ? "trace"
                          : f->dataset != NULL    ? "dataset"
                          : f->input_spec != NULL ? "synthetic"
                                                  : "fixed";
    cJSON_AddStringToObject(o, "prompts", prompts);
    ll_length_format(buf, sizeof(buf), &f->work.input);
    cJSON_AddItemToObject(o, "input_tokens", buf[0] ? cJSON_CreateString(buf) : cJSON_CreateNull());
    ll_length_format(buf, sizeof(buf), &f->work.output);
    cJSON_AddItemToObject(o, "output_tokens",
                          buf[0] ? cJSON_CreateString(buf) : cJSON_CreateNull());
    cJSON_AddBoolToObject(o, "ignore_eos", f->ignore_eos);
    cJSON_AddNumberToObject(o, "ramp_up_s", f->ramp_s);
    cJSON_AddItemToObject(o, "burstiness",
                          f->burst_seen ? cJSON_CreateNumber(f->burstiness) : cJSON_CreateNull());
    if (f->dataset != NULL) {
        cJSON *d = cJSON_AddObjectToObject(o, "dataset");
        cJSON_AddStringToObject(d, "path", f->dataset);
        cJSON_AddStringToObject(d, "layout", f->ds.layout);
        cJSON_AddNumberToObject(d, "entries", (double)f->ds.entries);
        cJSON_AddNumberToObject(d, "skipped", (double)f->ds.skipped);
        cJSON_AddNumberToObject(d, "sample", (double)f->ds.n);
    }
    if (f->trace != NULL) {
        cJSON *t = cJSON_AddObjectToObject(o, "trace");
        cJSON_AddStringToObject(t, "path", f->trace);
        cJSON_AddNumberToObject(t, "rows", (double)f->tr.n);
        cJSON_AddNumberToObject(t, "span_s", f->tr.span_s);
        cJSON_AddNumberToObject(t, "speed", f->speed);
    }
    /* what was sent, by the client's count (mockllm counts prompts the same way) */
    cJSON *s = cJSON_AddObjectToObject(o, "sent");
    cJSON_AddNumberToObject(s, "requests", (double)(f->work.sent - f->work.skipped));
    cJSON_AddItemToObject(s, "input_tokens",
                          f->active ? cJSON_CreateNumber((double)f->work.input_tokens)
                                    : cJSON_CreateNull());
    cJSON_AddItemToObject(s, "output_tokens_asked",
                          f->active ? cJSON_CreateNumber((double)f->work.output_asked)
                                    : cJSON_CreateNull());
    return o;
}

void ll_wl_flags_warn(const struct ll_wl_flags *f, const char *who, const struct ll_stats *s)
{
    if (s->out_short == 0) {
        return;
    }
    fprintf(stderr,
            "%s: warning: %llu of %llu answers came back shorter than their max_tokens "
            "(%llu of %llu tokens): the server stopped at its end of sequence%s\n",
            who, (unsigned long long)s->out_short, (unsigned long long)s->out_asked,
            (unsigned long long)s->out_received_tokens, (unsigned long long)s->out_asked_tokens,
            f->ignore_eos ? "" : "; --ignore-eos asks servers that take it to go on");
}

void ll_wl_flags_free(struct ll_wl_flags *f)
{
    ll_dataset_free(&f->ds);
    ll_trace_free(&f->tr);
    ll_workload_free(&f->work);
}
