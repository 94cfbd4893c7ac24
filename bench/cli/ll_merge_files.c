/* ll_merge_files.c - the inputs of `llmload merge`: one run's (or merge's) --json file read
 * into a struct ll_stats, and what decides whether several of them add up (ll_merge.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ll_cmd.h"
#include "ll_err.h"
#include "ll_hist_json.h"
#include "ll_merge.h"
#include "ll_report.h"
#include "ll_segment.h"
#include "ll_stats_exact.h"

#define MAX_JSON_SZ (256L << 20)

#define WHO LL_MERGE_WHO

static char *slurp(const char *path, const char **why)
{
    struct stat st;
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    if (f == NULL) {
        *why = strerror(errno);
        return NULL;
    }
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_JSON_SZ) {
        *why = S_ISDIR(st.st_mode)    ? "is a directory"
               : !S_ISREG(st.st_mode) ? "not a regular file"
                                      : "larger than 256 MiB";
    } else if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
        *why = "out of memory";
    } else if (fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
        *why = "short read";
        free(buf);
        buf = NULL;
    } else {
        buf[st.st_size] = '\0';
    }
    fclose(f);
    return buf;
}

/* "segment": {"count": N, "covers": [i, ...]} into in. */
static int read_segment(struct ll_merge_in *in, const char **why)
{
    const cJSON *seg = cJSON_GetObjectItemCaseSensitive(in->doc, "segment");
    const cJSON *cov = cJSON_GetObjectItemCaseSensitive(seg, "covers"), *v;
    uint64_t count, idx;
    if (ll_json_get_u64(cJSON_GetObjectItemCaseSensitive(seg, "count"), &count) != 0 ||
        count == 0 || count > LL_SEGMENT_MAX || !cJSON_IsArray(cov) ||
        cJSON_GetArraySize(cov) < 1 || (uint64_t)cJSON_GetArraySize(cov) > count) {
        *why = "no segment (count and covers)";
        return LL_EINVAL;
    }
    in->count = (uint32_t)count;
    in->covers = calloc((size_t)cJSON_GetArraySize(cov), sizeof(*in->covers));
    if (in->covers == NULL) {
        *why = "out of memory";
        return LL_ENOMEM;
    }
    cJSON_ArrayForEach(v, cov)
    {
        if (ll_json_get_u64(v, &idx) != 0 || idx >= count) {
            *why = "a segment index out of its split";
            return LL_EINVAL;
        }
        in->covers[in->n_covers++] = (uint32_t)idx;
    }
    return 0;
}

/* "run" and "start": how the agent ended and when it started. */
static void read_run(struct ll_merge_in *in)
{
    const cJSON *run = cJSON_GetObjectItemCaseSensitive(in->doc, "run");
    const cJSON *start = cJSON_GetObjectItemCaseSensitive(in->doc, "start");
    const cJSON *rc = cJSON_GetObjectItemCaseSensitive(run, "exit_code");
    const cJSON *host = cJSON_GetObjectItemCaseSensitive(run, "host");
    const cJSON *late = cJSON_GetObjectItemCaseSensitive(start, "late_ms");
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(start, "at_utc");
    const cJSON *agents = cJSON_GetObjectItemCaseSensitive(in->doc, "agents"), *ag;
    in->exit_code = cJSON_IsNumber(rc) ? rc->valueint : 1; /* unknown: not a success */
    in->host = cJSON_IsString(host) ? host->valuestring : "";
    if (cJSON_IsArray(agents)) {
        /* a merge's own exit code also says what it lacked; its agents say how they ran */
        in->exit_code = LL_EXIT_OK;
        cJSON_ArrayForEach(ag, agents)
        {
            const cJSON *code = cJSON_GetObjectItemCaseSensitive(ag, "exit_code");
            int c = cJSON_IsNumber(code) ? code->valueint : LL_EXIT_FAIL;
            if (in->exit_code == LL_EXIT_OK || in->exit_code == LL_EXIT_THRESHOLD) {
                in->exit_code = c;
            }
        }
    }
    in->interrupted = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(run, "interrupted")) ||
                      cJSON_IsString(cJSON_GetObjectItemCaseSensitive(run, "stopped_by"));
    in->late_ms = cJSON_IsNumber(late) ? late->valuedouble : NAN;
    in->start_at = cJSON_IsString(at) ? at->valuestring : NULL;
}

int ll_merge_load(struct ll_merge_in *in, const char *path)
{
    const char *why = NULL;
    char sub[200];
    int err = LL_EINVAL;
    memset(in, 0, sizeof(*in));
    in->path = path;
    char *text = slurp(path, &why);
    if (text == NULL) {
        fprintf(stderr, "%s: cannot read %s: %s\n", WHO, path, why);
        return LL_EIO;
    }
    in->doc = cJSON_Parse(text);
    free(text);
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(in->doc, "schema_version");
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(in->doc, "command");
    if (in->doc == NULL || !cJSON_IsString(cmd) ||
        (strcmp(cmd->valuestring, "run") != 0 && strcmp(cmd->valuestring, "merge") != 0)) {
        fprintf(stderr, "%s: %s is not an `llmload run --json` file\n", WHO, path);
        return LL_EINVAL;
    }
    if (!cJSON_IsNumber(ver) || ver->valuedouble < 3 ||
        !cJSON_IsObject(cJSON_GetObjectItem(in->doc, "exact"))) {
        fprintf(stderr,
                "%s: %s has schema_version %g without exact results; merging needs %d (run it "
                "again with this llmload)\n",
                WHO, path, cJSON_IsNumber(ver) ? ver->valuedouble : 1.0, LL_REPORT_SCHEMA_VERSION);
        return LL_EINVAL;
    }
    if ((err = read_segment(in, &why)) != 0) {
        fprintf(stderr, "%s: %s: %s\n", WHO, path, why);
        return err;
    }
    read_run(in);
    if (ll_stats_init(&in->st, NULL) != 0) {
        fprintf(stderr, "%s: out of memory\n", WHO);
        return LL_ENOMEM;
    }
    in->st_init = true;
    err = ll_stats_exact_read(cJSON_GetObjectItemCaseSensitive(in->doc, "exact"), &in->st,
                              &in->start_ns, sub, sizeof(sub));
    if (err != 0) {
        fprintf(stderr, "%s: %s: %s\n", WHO, path, err == LL_ENOMEM ? "out of memory" : sub);
    }
    return err;
}

void ll_merge_in_free(struct ll_merge_in *in)
{
    if (in->st_init) {
        ll_stats_free(&in->st);
    }
    free(in->covers);
    cJSON_Delete(in->doc);
    memset(in, 0, sizeof(*in));
}

bool ll_merge_host_key(const char *path)
{
    static const char *const keys[] = {
        "workload.sent",    "endpoint",           "endpoint_source", "rlimit_nofile", "mock.path",
        "client.base_urls", "client.concurrency", "client.seed",     "lookahead",     NULL};
    for (const char *const *k = keys; *k != NULL; k++) {
        if (strcmp(path, *k) == 0) {
            return true;
        }
    }
    return false;
}

int ll_merge_missing(const struct ll_merge_in *in, size_t n, uint32_t **missing, size_t *n_missing)
{
    uint32_t count = n > 0 ? in[0].count : 0;
    unsigned char *seen = calloc(count > 0 ? count : 1, 1);
    *missing = calloc(count > 0 ? count : 1, sizeof(**missing));
    *n_missing = 0;
    if (seen == NULL || *missing == NULL) {
        free(seen);
        free(*missing);
        *missing = NULL;
        return LL_ENOMEM;
    }
    for (size_t f = 0; f < n; f++) {
        for (size_t i = 0; i < in[f].n_covers; i++) {
            seen[in[f].covers[i]] = 1;
        }
    }
    for (uint32_t i = 0; i < count; i++) {
        if (!seen[i]) {
            (*missing)[(*n_missing)++] = i;
        }
    }
    free(seen);
    return 0;
}
