/* mock_config_file.c - the JSON config file (cJSON) and --help. Every key of the file is a long
 * flag with '-' or '_' (so the file and the command line cannot drift apart), plus "profiles":
 *     {"seed": 7, "max_running": 64, "faults": "429=0.01",
 *      "profiles": [{"name": "gpt-mock", "ttft": "lognormal:200,800", "itl": 20,
 *                    "tokens": 64, "reasoning_tokens": "uniform:10,40", "chunk_tokens": 2,
 *                    "faults": {"503": 0.01}}]}
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mock_config.h"

#define MOCK_CONFIG_FILE_MAX (1 << 20)

/* Render a scalar JSON value as the text a flag would take. -1 when it is not a scalar. */
static int scalar_text(const cJSON *v, char *out, size_t len)
{
    if (cJSON_IsString(v)) {
        snprintf(out, len, "%s", v->valuestring);
    } else if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d == floor(d) && fabs(d) < 9e15) {
            snprintf(out, len, "%.0f", d);
        } else {
            snprintf(out, len, "%.17g", d);
        }
    } else {
        return -1;
    }
    return 0;
}

/* "faults" as a spec string, or an object {"429": 0.05, "close_after": 3} turned into one. */
static int faults_text(const cJSON *v, char *out, size_t len)
{
    if (cJSON_IsString(v)) {
        snprintf(out, len, "%s", v->valuestring);
        return 0;
    }
    if (!cJSON_IsObject(v)) {
        return -1;
    }
    size_t used = 0;
    out[0] = '\0';
    for (const cJSON *it = v->child; it != NULL; it = it->next) {
        char val[64];
        if (scalar_text(it, val, sizeof(val)) != 0) {
            return -1;
        }
        int n = snprintf(out + used, len - used, "%s%s=%s", used ? "," : "", it->string, val);
        if (n < 0 || (size_t)n >= len - used) {
            return -1;
        }
        used += (size_t)n;
    }
    return 0;
}

static int add_profile_obj(struct mock_config *c, const char *path, const cJSON *p, int i,
                           char *err, size_t errlen)
{
    char spec[2048], val[1024], inner[512];
    size_t used = 0;
    if (!cJSON_IsObject(p)) {
        snprintf(err, errlen, "%s: profiles[%d] is not an object", path, i);
        return -1;
    }
    spec[0] = '\0';
    for (const cJSON *it = p->child; it != NULL; it = it->next) {
        bool is_faults = strcmp(it->string, "faults") == 0;
        if (strcmp(it->string, "name") != 0 && strcmp(it->string, "ttft") != 0 &&
            strcmp(it->string, "itl") != 0 && strcmp(it->string, "tokens") != 0 &&
            strcmp(it->string, "reasoning_tokens") != 0 &&
            strcmp(it->string, "chunk_tokens") != 0 && !is_faults) {
            snprintf(err, errlen, "%s: profiles[%d]: unknown key '%s'", path, i, it->string);
            return -1;
        }
        int rc = is_faults ? faults_text(it, val, sizeof(val)) : scalar_text(it, val, sizeof(val));
        int n = rc != 0 ? -1
                        : snprintf(spec + used, sizeof(spec) - used, "%s%s%s%s", used ? "," : "",
                                   is_faults ? "" : it->string, is_faults ? "" : "=", val);
        if (n < 0 || (size_t)n >= sizeof(spec) - used) {
            snprintf(err, errlen, "%s: profiles[%d].%s: bad value", path, i, it->string);
            return -1;
        }
        used += (size_t)n;
    }
    if (mock__config_apply(c, "profile", spec, inner, sizeof(inner)) != 0) {
        snprintf(err, errlen, "%s: profiles[%d]: %s", path, i, inner);
        return -1;
    }
    return 0;
}

static int apply_key(struct mock_config *c, const char *path, const cJSON *it, char *err,
                     size_t errlen)
{
    char name[64], val[1024], inner[512];
    snprintf(name, sizeof(name), "%s", it->string);
    for (char *q = name; *q; q++) {
        *q = *q == '_' ? '-' : *q;
    }
    if (strcmp(name, "profiles") == 0) {
        if (!cJSON_IsArray(it)) {
            snprintf(err, errlen, "%s: \"profiles\" must be an array", path);
            return -1;
        }
        int i = 0;
        for (const cJSON *p = it->child; p != NULL; p = p->next, i++) {
            if (add_profile_obj(c, path, p, i, err, errlen) != 0) {
                return -1;
            }
        }
        return 0;
    }
    bool *flag = strcmp(name, "verbose") == 0         ? &c->verbose
                 : strcmp(name, "strict-models") == 0 ? &c->strict_models
                 : strcmp(name, "no-memo") == 0       ? &c->no_memo
                                                      : NULL;
    if (flag != NULL) {
        if (!cJSON_IsBool(it)) {
            snprintf(err, errlen, "%s: \"%s\" must be true or false", path, it->string);
            return -1;
        }
        *flag = cJSON_IsTrue(it);
        return 0;
    }
    if (strcmp(name, "config") == 0) {
        snprintf(err, errlen, "%s: \"config\" cannot nest", path);
        return -1;
    }
    if (strcmp(name, "listen") == 0 && cJSON_IsArray(it)) {
        for (const cJSON *a = it->child; a != NULL; a = a->next) {
            if (!cJSON_IsString(a) ||
                mock__config_apply(c, name, a->valuestring, inner, sizeof(inner)) != 0) {
                snprintf(err, errlen, "%s: \"listen\" must hold IP address strings", path);
                return -1;
            }
        }
        return 0;
    }
    int rc = strcmp(name, "faults") == 0 ? faults_text(it, val, sizeof(val))
                                         : scalar_text(it, val, sizeof(val));
    if (rc != 0) {
        snprintf(err, errlen, "%s: \"%s\" has the wrong type", path, it->string);
        return -1;
    }
    if (mock__config_apply(c, name, val, inner, sizeof(inner)) != 0) {
        snprintf(err, errlen, "%s: \"%s\": %s", path, it->string, inner);
        return -1;
    }
    return 0;
}

static char *read_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    char *text = malloc(MOCK_CONFIG_FILE_MAX + 1);
    size_t n = text ? fread(text, 1, MOCK_CONFIG_FILE_MAX + 1, f) : 0;
    bool bad = text == NULL || ferror(f) || n > MOCK_CONFIG_FILE_MAX;
    fclose(f);
    if (bad) {
        snprintf(err, errlen, "%s: cannot read it (or larger than 1 MiB)", path);
        free(text);
        return NULL;
    }
    text[n] = '\0';
    return text;
}

int mock_config_load_file(struct mock_config *c, const char *path, char *err, size_t errlen)
{
    char *text = read_file(path, err, errlen);
    if (text == NULL) {
        return -1;
    }
    const char *where = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &where, true);
    int rc = -1;
    if (root == NULL || !cJSON_IsObject(root)) {
        snprintf(err, errlen, "%s: not a JSON object (error near byte %ld)", path,
                 root == NULL && where != NULL ? (long)(where - text) : 0L);
        goto out;
    }
    for (const cJSON *it = root->child; it != NULL; it = it->next) {
        if (apply_key(c, path, it, err, errlen) != 0) {
            goto out;
        }
    }
    rc = 0;
out:
    cJSON_Delete(root);
    free(text);
    return rc;
}

void mock_config_usage(FILE *f)
{
    fputs(
        "usage: mockllm [options]\n"
        "An OpenAI-compatible mock LLM server for benchmarking clients: POST /v1/chat/completions\n"
        "(JSON or SSE stream), GET /v1/models, GET /v1/models/{id}, GET /health, GET /metrics,\n"
        "POST /metrics/reset.\n"
        "Prints 'listening HOST PORT' on stdout once ready. SIGINT/SIGTERM: graceful stop.\n"
        "\n"
        "Network:\n"
        "  --listen ADDR          numeric IP to bind, repeatable (default 127.0.0.1 only)\n"
        "  --port N               TCP port, 0 = any free port (default 8000)\n"
        "  --model loop|threads   how connections are served (default loop): loop = event\n"
        "                         loops (libuv), many connections per thread; threads = one\n"
        "                         thread per connection, blocking reads, writes and sleeps\n"
        "                         (the classic server, to compare: llmload demo server)\n"
        "  --threads N            --model loop: event loops, one per thread,\n"
        "                         SO_REUSEPORT (default 1)\n"
        "  --backlog N            listen backlog (default 4096)\n"
        "  --idle-timeout-ms N    close idle keep-alive or trickling connections (default 30000)\n"
        "  --max-header-bytes N   request line + headers limit, else 431 (default 16384)\n"
        "  --max-body-bytes N     request body limit, else 413 (default 1048576)\n"
        "  --grace-ms N           on stop, time in-flight requests get to finish (default 2000)\n"
        "Model and latency (the default profile 'gpt-mock' answers any unknown model):\n"
        "  --latency-ms N         default profile: fixed time to first token N ms, 0 per token\n"
        "  --ttft DIST            default profile time to first token (default 0)\n"
        "  --itl DIST             default profile time per further token (default 0)\n"
        "  --tokens N             default profile output tokens without max_tokens (default 16)\n"
        "  --reasoning-tokens C   default profile reasoning tokens before the content, streamed\n"
        "                         as delta.reasoning_content (default 0); max_tokens bounds\n"
        "                         reasoning + content, usage counts both\n"
        "  --chunk-tokens C       default profile tokens per SSE chunk (default 1); a chunk goes\n"
        "                         when its last token is due (k x ITL after the one before), the\n"
        "                         first at TTFT; a chunk never mixes reasoning and content\n"
        "  --profile SPEC         a model: 'name=M,ttft=DIST,itl=DIST,tokens=N,\n"
        "                         reasoning_tokens=C,chunk_tokens=C[,FAULTS]', repeatable\n"
        "  --strict-models        unknown model -> 404 model_not_found (default: default profile)\n"
        "  --scale F              multiply every latency by F (default 1)\n"
        "  --seed N               seed of every random choice (default 0)\n"
        "  DIST is 'N' (fixed ms), 'uniform:LO,HI' or 'lognormal:P50,P99'; a count C takes the\n"
        "  same forms in whole tokens. Every draw is deterministic under --seed.\n"
        "Capacity (off by default: latency is exactly the profile at any load):\n"
        "  --max-running N        concurrent requests generating, others queue FIFO (0 = off);\n"
        "                         divided evenly over --threads loops\n"
        "  --slowdown F           per-token time x (1 + F*(running-1)) (default 0)\n"
        "Faults and limits:\n"
        "  --faults SPEC          e.g. "
        "'429=0.05,500=0.02,503=0.02,400=0.01,close=0.01,stall=0.01,\n"
        "                         split=0.1,close_after=3,retry_after=1' (rates per request)\n"
        "  --fault-rate R         shorthand: R split evenly over 429, 500 and 503\n"
        "  --api-key KEY          require 'Authorization: Bearer KEY', else 401\n"
        "  --rpm N, --tpm N       requests / tokens per minute, else 429 (default unlimited)\n"
        "Other:\n"
        "  --config FILE          JSON file: any flag as a key (\"max_running\": 8), plus\n"
        "                         \"profiles\": [{\"name\",\"ttft\",\"itl\",\"tokens\",\n"
        "                         \"reasoning_tokens\",\"chunk_tokens\",\"faults\"}]\n"
        "  --no-memo              recompute every answer: no memo of repeated request bodies\n"
        "                         and texts (default: kept per loop; same bytes either way)\n"
        "  --verbose              one line per request on stderr\n"
        "  --help                 this text\n"
        "Per-request headers (for tests): x-mock-latency-ms, x-mock-itl-ms, x-mock-tokens,\n"
        "  x-mock-reasoning-tokens N, x-mock-chunk-tokens N (fixed counts for this request),\n"
        "  x-mock-status, x-mock-retry-after, x-mock-fault: close|stall|split,\n"
        "  x-mock-key + x-mock-fail-first N [+ x-mock-fail-status CODE[,CODE...]]: the first N\n"
        "  attempts fail (with the listed statuses in turn, the last repeating; default 503).\n",
        f);
}
