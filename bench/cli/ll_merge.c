/* ll_merge.c - `llmload merge A.json B.json ... [--json OUT] [--threshold EXPR]...`: the
 * agents of a split run added up (ll_merge.h). */
#include "ll_merge.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_clock.h"
#include "ll_cmd.h"
#include "ll_err.h"
#include "ll_opts.h"
#include "ll_outfile.h"
#include "ll_report.h"
#include "ll_thresh.h"

#define WHO LL_MERGE_WHO

struct merge_args {
    struct ll_strv files;
    const char *json_path;
    bool quiet;
    struct ll_thresh_set th;
};

static void help(FILE *out)
{
    fprintf(out,
            "usage: llmload merge A.json B.json ... [--json FILE] [--threshold EXPR]... "
            "[--quiet]\n\n"
            "Adds up the --json files of the agents of one split run (llmload run --segment "
            "I/N,\nusually with one --start-at) into the run one host would have measured, and "
            "prints\nrun's report for it: histograms added bucket by bucket (percentiles from "
            "the merged\nhistograms, never averaged), counts summed, throughput over the common "
            "wall window\n(the earliest start to the latest end), Little's law on the merged "
            "figures, the 1 s\nseries added window by window. Files written by merge --json "
            "merge again.\n\n"
            "Refused, with one line naming the difference: files of other workloads or "
            "configurations,\nanother histogram layout, another split, a segment given twice. "
            "A missing segment or an\nagent that failed (exit 1 or interrupted) makes the merged "
            "run a failed one.\n\n"
            "  --json FILE        write the merged run as JSON (run's schema; - = stdout)\n"
            "  --threshold EXPR   a condition the merged run must meet (run --help's grammar), "
            "repeatable\n"
            "  --quiet            print no report (errors still go to stderr)\n\n"
            "exit: 0 ok; 1 the merged run failed (a missing segment, a failed agent, accounting, "
            "no\n      success) or the files do not merge (unreadable, different); 2 usage; 3 a "
            "threshold\n      failed\n");
}

/* Flags and files in any order. 0, or an exit code after one line. */
static int parse_args(struct merge_args *a, int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i], *eq = strchr(arg, '=');
        size_t nlen = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
        bool json = nlen == 6 && strncmp(arg, "--json", 6) == 0;
        bool th = nlen == 11 && strncmp(arg, "--threshold", 11) == 0;
        if ((json || th) && eq == NULL && i + 1 >= argc) {
            fprintf(stderr, "%s: %s needs a value (see --help)\n", WHO, arg);
            return LL_EXIT_USAGE;
        }
        const char *val = eq != NULL ? eq + 1 : (json || th) ? argv[++i] : NULL;
        if (json) {
            a->json_path = val;
        } else if (th && ll_thresh_set_add(&a->th, val, false) != 0) {
            fprintf(stderr,
                    "%s: --threshold: want METRIC OP NUMBER[UNIT], e.g. 'p99<500ms', got %s\n", WHO,
                    val);
            return LL_EXIT_USAGE;
        } else if (th) {
            continue;
        } else if (strcmp(arg, "--quiet") == 0) {
            a->quiet = true;
        } else if (arg[0] == '-' && arg[1] != '\0') {
            fprintf(stderr, "%s: unknown flag '%s' (see --help)\n", WHO, arg);
            return LL_EXIT_USAGE;
        } else {
            const char **v = realloc(a->files.v, (a->files.n + 1) * sizeof(*v));
            if (v == NULL) {
                return LL_EXIT_FAIL;
            }
            a->files.v = v;
            a->files.v[a->files.n++] = arg;
        }
    }
    if (a->files.n == 0) {
        fprintf(stderr, "%s: want the agents' files, A.json B.json ... (see --help)\n", WHO);
        return LL_EXIT_USAGE;
    }
    return 0;
}

static void fail(struct ll_merged *m, const char *line)
{
    cJSON_AddItemToArray(m->failures, cJSON_CreateString(line));
}

/* What makes the merged run a failed one: missing segments, failed agents, requests the
 * workload had that no agent sent. */
static void judge(struct ll_merged *m)
{
    char line[320];
    size_t len = 0;
    for (size_t i = 0; i < m->n_missing && len < sizeof(line); i++) {
        len +=
            (size_t)snprintf(line + len, sizeof(line) - len, "%s%u", i ? ", " : "", m->missing[i]);
    }
    if (m->n_missing > 0) {
        char l2[400];
        snprintf(l2, sizeof(l2),
                 "segment%s %s of %u missing: a run without all its agents is "
                 "not a smaller run",
                 m->n_missing > 1 ? "s" : "", line, m->in[0].count);
        fail(m, l2);
    }
    bool stopped = false;
    for (size_t i = 0; i < m->n; i++) {
        const struct ll_merge_in *in = &m->in[i];
        stopped = stopped || in->interrupted;
        if (in->exit_code != LL_EXIT_OK && in->exit_code != LL_EXIT_THRESHOLD) {
            snprintf(line, sizeof(line), "agent %s (host %s) failed: its run exited %d", in->path,
                     in->host[0] ? in->host : "-", in->exit_code);
            fail(m, line);
        }
    }
    const cJSON *cfg = cJSON_GetObjectItem(m->in[0].doc, "config");
    const cJSON *req = cJSON_GetObjectItem(cfg, "requests");
    if (m->n_missing == 0 && !stopped && cJSON_IsNumber(req) &&
        cJSON_GetObjectItem(cfg, "duration_s") == NULL &&
        (double)m->total.submitted != req->valuedouble) {
        snprintf(line, sizeof(line), "the agents sent %llu requests, the workload has %.0f",
                 (unsigned long long)m->total.submitted, req->valuedouble);
        fail(m, line);
    }
}

/* The largest offset of an input's windows from whole seconds after the merged start. */
static void skew_and_lateness(struct ll_merged *m)
{
    m->late_ms = NAN;
    for (size_t i = 0; i < m->n; i++) {
        int64_t d = (m->in[i].start_ns - m->total.t_start) % LL_NS_PER_S;
        d = d > LL_NS_PER_S / 2 ? LL_NS_PER_S - d : d;
        m->skew_ns = d > m->skew_ns ? d : m->skew_ns;
        if (!isnan(m->in[i].late_ms) && !(m->in[i].late_ms <= m->late_ms)) {
            m->late_ms = m->in[i].late_ms;
            m->late_input = i;
        }
    }
}

/* Load every file, check they add up, add them. 0 or an exit code after one line. */
static int load_all(struct ll_merged *m, const struct merge_args *a)
{
    if ((m->in = calloc(a->files.n, sizeof(*m->in))) == NULL ||
        ll_stats_init(&m->total, NULL) != 0 || (m->failures = cJSON_CreateArray()) == NULL) {
        fprintf(stderr, "%s: out of memory\n", WHO);
        return LL_EXIT_FAIL;
    }
    for (size_t i = 0; i < a->files.n; i++, m->n++) {
        if (ll_merge_load(&m->in[i], a->files.v[i]) != 0) {
            m->n++; /* loaded in part: freed with the others */
            return LL_EXIT_FAIL;
        }
    }
    if (ll_merge_check(m->in, m->n) != 0 ||
        ll_merge_missing(m->in, m->n, &m->missing, &m->n_missing) != 0) {
        return LL_EXIT_FAIL;
    }
    for (size_t i = 0; i < m->n; i++) {
        if (ll_merge_add(&m->total, &m->in[i].st, i == 0) != 0) {
            fprintf(stderr, "%s: out of memory\n", WHO);
            return LL_EXIT_FAIL;
        }
    }
    skew_and_lateness(m);
    judge(m);
    return 0;
}

/* Agents given different --start-at instants: merged, but their schedules do not line up. */
static void start_at_warning(const struct ll_merged *m)
{
    for (size_t i = 1; i < m->n; i++) {
        const char *a = m->in[0].start_at, *b = m->in[i].start_at;
        if ((a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0)) {
            fprintf(stderr,
                    "%s: warning: %s and %s were given different --start-at (%s vs %s): "
                    "their schedules do not line up\n",
                    WHO, m->in[0].path, m->in[i].path, a ? a : "none", b ? b : "none");
            break;
        }
    }
}

/* Lines after the table, and the exit code: failures first, then thresholds. */
static int verdict(const struct ll_merged *m, const struct merge_args *a)
{
    char line[512];
    struct ll_little l;
    const cJSON *f;
    if (ll_report_keepup_line(line, sizeof(line), &m->total) > 0) {
        fprintf(stderr, "%s: %s\n", WHO, line);
    }
    ll_stats_little(&m->total, &l);
    if (l.flagged) {
        fprintf(stderr, "%s: warning: Little's law check off by %.1f%% (L %.3f vs lambda*W %.3f)\n",
                WHO, 100.0 * l.diff, l.l_measured, l.l_predicted);
    }
    start_at_warning(m);
    if (m->skew_ns > LL_NS_PER_MS) {
        fprintf(stderr,
                "%s: note: the agents' 1 s windows are up to %.1f ms off the merged ones (their "
                "starts differ; --start-at aligns them)\n",
                WHO, (double)m->skew_ns / (double)LL_NS_PER_MS);
    }
    ll_report_accounting(stdout, &m->total);
    bool acct = ll_stats_accounting_ok(&m->total);
    bool none_ok = ll_stats_succeeded(&m->total) == 0 && ll_stats_failed(&m->total) > 0;
    cJSON_ArrayForEach(f, m->failures)
    {
        fprintf(stderr, "%s: merged run FAILED: %s\n", WHO, f->valuestring);
    }
    if (!acct) {
        fprintf(stderr, "%s: ACCOUNTING FAILED in the merged figures\n", WHO);
    }
    if (none_ok) {
        ll_report_failures_line(line, sizeof(line), &m->total);
        fprintf(stderr, "%s: no request succeeded: %s\n", WHO, line);
    }
    bool th_failed = ll_thresh_report(&a->th, &m->total, stdout, stderr, WHO) > 0;
    return cJSON_GetArraySize(m->failures) > 0 || !acct || none_ok ? LL_EXIT_FAIL
           : th_failed                                             ? LL_EXIT_THRESHOLD
                                                                   : LL_EXIT_OK;
}

static int merge(struct merge_args *a, struct ll_merged *m, struct ll_outfile *json)
{
    int rc = load_all(m, a);
    if (rc != 0) {
        return rc;
    }
    ll_merge_header(stdout, m);
    ll_report_table(stdout, &m->total);
    printf("\n");
    rc = verdict(m, a);
    if (a->json_path != NULL) {
        cJSON *doc = ll_merge_json(m, &a->th, rc);
        if (doc == NULL) {
            fprintf(stderr, "%s: --json %s: out of memory\n", WHO, a->json_path);
            rc = LL_EXIT_FAIL;
        } else if (ll_outfile_commit_json(json, WHO, doc) != 0) {
            rc = LL_EXIT_FAIL;
        }
        cJSON_Delete(doc);
    }
    return rc;
}

int ll_cmd_merge(int argc, char **argv)
{
    struct merge_args a = {.th = {.aborted_by = -1}};
    struct ll_merged m = {0};
    struct ll_outfile json = {.fd = -1};
    int rc;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            help(stdout);
            return LL_EXIT_OK;
        }
    }
    if ((rc = parse_args(&a, argc, argv)) == 0) {
        if (ll_outfile_open(&json, WHO, "--json", a.json_path) != 0 ||
            (a.quiet && ll_outfile_quiet() != 0)) {
            rc = LL_EXIT_FAIL;
        } else {
            rc = merge(&a, &m, &json);
        }
    }
    ll_outfile_abort(&json);
    for (size_t i = 0; i < m.n; i++) {
        ll_merge_in_free(&m.in[i]);
    }
    free(m.in);
    free(m.missing);
    cJSON_Delete(m.failures);
    if (m.total.hist[0] != NULL) {
        ll_stats_free(&m.total);
    }
    free(a.files.v);
    ll_thresh_set_free(&a.th);
    return rc;
}
