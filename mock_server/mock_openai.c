/* mock_openai.c - the application mockllm serves (mock_openai.h): routes, request validation
 * (cJSON, memoised per worker), the small routes' answers; chat completions go on to admission. */
#include "mock_openai.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ll_json.h"
#include "mock_admit.h"
#include "mock_answer.h"
#include "mock_conn.h"
#include "mock_latency.h"
#include "mock_text.h"

/* ---- validation ---- */

/* Optional positive integer field: 0 ok (*out = -1 when absent or null), -1 bad. */
static int opt_count(const cJSON *root, const char *name, int max, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, name);
    *out = -1;
    if (v == NULL || cJSON_IsNull(v)) {
        return 0;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < 1 ||
        v->valuedouble > max) {
        return -1;
    }
    *out = (int)v->valuedouble;
    return 0;
}

static int bad(char *msg, size_t len, const char **param, const char *p, const char *text)
{
    snprintf(msg, len, "%s", text);
    *param = p;
    return 400;
}

/* messages: a non-empty array of {role: string, content: string | array | null}. Counts the
 * prompt tokens on the way. */
static int check_messages(struct mock_req *r, const cJSON *msgs, char *msg, size_t len,
                          const char **param)
{
    int i = 0, tokens = 0;
    if (msgs == NULL) {
        return bad(msg, len, param, "messages", "Missing required parameter: 'messages'.");
    }
    if (!cJSON_IsArray(msgs) || msgs->child == NULL) {
        return bad(msg, len, param, "messages",
                   "Invalid 'messages': expected a non-empty array of message objects.");
    }
    for (const cJSON *m = msgs->child; m != NULL; m = m->next, i++) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        const char *field = !cJSON_IsObject(m)      ? ""
                            : !cJSON_IsString(role) ? ".role"
                            : content != NULL && !cJSON_IsString(content) &&
                                    !cJSON_IsArray(content) && !cJSON_IsNull(content)
                                ? ".content"
                                : NULL;
        if (field != NULL) {
            snprintf(msg, len, "Invalid 'messages[%d]%s': expected %s.", i, field,
                     field[0] == '\0'  ? "an object"
                     : field[1] == 'r' ? "a string"
                                       : "a string, an array of content parts or null");
            *param = "messages";
            return 400;
        }
        if (cJSON_IsString(content)) {
            tokens += mock_text_count_tokens(content->valuestring, strlen(content->valuestring));
        }
        for (const cJSON *part = cJSON_IsArray(content) ? content->child : NULL; part;
             part = part->next) {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "text");
            if (cJSON_IsString(t)) {
                tokens += mock_text_count_tokens(t->valuestring, strlen(t->valuestring));
            }
        }
    }
    r->job.prompt_tokens = tokens > 0 ? tokens : 1;
    return 0;
}

/* vLLM's length fields: min_tokens (an integer from 0 to max_tokens) and ignore_eos (a
 * boolean), which load generators send to get exact output lengths. */
static int check_length_fields(struct mock_job *j, const cJSON *root, char *msg, size_t len,
                               const char **param)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "min_tokens");
    j->min_tokens = -1;
    if (v != NULL && !cJSON_IsNull(v)) {
        if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < 0 ||
            v->valuedouble > MOCK_MAX_TOKENS_CAP) {
            return bad(msg, len, param, "min_tokens",
                       "Invalid 'min_tokens': expected an integer from 0 to 65536.");
        }
        j->min_tokens = (int)v->valuedouble;
        if (j->max_tokens > 0 && j->min_tokens > j->max_tokens) {
            return bad(msg, len, param, "min_tokens",
                       "Invalid 'min_tokens': must not exceed max_tokens.");
        }
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "ignore_eos");
    if (v != NULL && !cJSON_IsBool(v) && !cJSON_IsNull(v)) {
        return bad(msg, len, param, "ignore_eos", "Invalid 'ignore_eos': expected a boolean.");
    }
    j->ignore_eos = cJSON_IsTrue(v);
    return 0;
}

static int check_scalars(struct mock_req *r, const cJSON *root, char *msg, size_t len,
                         const char **param)
{
    struct mock_job *j = &r->job;
    int mt, mct, n;
    if (opt_count(root, "max_tokens", MOCK_MAX_TOKENS_CAP, &mt) != 0) {
        return bad(msg, len, param, "max_tokens",
                   "Invalid 'max_tokens': expected an integer from 1 to 65536.");
    }
    if (opt_count(root, "max_completion_tokens", MOCK_MAX_TOKENS_CAP, &mct) != 0) {
        return bad(msg, len, param, "max_completion_tokens",
                   "Invalid 'max_completion_tokens': expected an integer from 1 to 65536.");
    }
    j->max_tokens = mct > 0 && (mt < 0 || mct < mt) ? mct : mt;
    int rc = check_length_fields(j, root, msg, len, param);
    if (rc != 0) {
        return rc;
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "stream");
    if (v != NULL && !cJSON_IsBool(v) && !cJSON_IsNull(v)) {
        return bad(msg, len, param, "stream", "Invalid 'stream': expected a boolean.");
    }
    j->stream = cJSON_IsTrue(v);
    v = cJSON_GetObjectItemCaseSensitive(root, "stream_options");
    if (v != NULL && !cJSON_IsObject(v) && !cJSON_IsNull(v)) {
        return bad(msg, len, param, "stream_options",
                   "Invalid 'stream_options': expected an object.");
    }
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(v, "include_usage");
    if (u != NULL && !cJSON_IsBool(u) && !cJSON_IsNull(u)) {
        return bad(msg, len, param, "stream_options.include_usage",
                   "Invalid 'stream_options.include_usage': expected a boolean.");
    }
    j->include_usage = cJSON_IsTrue(u);
    if (opt_count(root, "n", 128, &n) != 0 || n > 1) {
        return bad(msg, len, param, "n",
                   "Invalid 'n': expected the integer 1 (mockllm answers "
                   "one choice).");
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "temperature");
    if (v != NULL && !cJSON_IsNull(v) &&
        (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 2)) {
        return bad(msg, len, param, "temperature",
                   "Invalid 'temperature': expected a number from 0 to 2.");
    }
    return 0;
}

static uint64_t hash_json(const cJSON *it, uint64_t h)
{
    for (; it != NULL; it = it->next) {
        int t = it->type & 0xff;
        h = mock_hash64(&t, sizeof(t), h);
        if (it->string != NULL) {
            h = mock_hash64(it->string, strlen(it->string), h);
        }
        if (cJSON_IsString(it)) {
            h = mock_hash64(it->valuestring, strlen(it->valuestring), h);
        } else if (cJSON_IsNumber(it)) {
            h = mock_hash64(&it->valuedouble, sizeof(it->valuedouble), h);
        }
        h = hash_json(it->child, h);
    }
    return h;
}

/* 0, or the status to answer (400/404) with msg and param set. */
static int check_request(struct mock_req *r, const cJSON *root, char *msg, size_t len,
                         const char **param)
{
    const struct mock_config *cfg = r->conn->w->srv->cfg;
    struct mock_job *j = &r->job;
    if (!cJSON_IsObject(root)) {
        return bad(msg, len, param, NULL, "The request body must be a JSON object.");
    }
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (model == NULL) {
        return bad(msg, len, param, "model", "Missing required parameter: 'model'.");
    }
    if (!cJSON_IsString(model) || model->valuestring[0] == '\0' ||
        strlen(model->valuestring) > MOCK_MODEL_ECHO_MAX) {
        return bad(msg, len, param, "model",
                   "Invalid 'model': expected a non-empty string of at most 256 bytes.");
    }
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(root, "messages");
    int rc = check_messages(r, msgs, msg, len, param);
    if (rc == 0) {
        rc = check_scalars(r, root, msg, len, param);
    }
    if (rc != 0) {
        return rc;
    }
    memcpy(j->model, model->valuestring, strlen(model->valuestring) + 1); /* length checked */
    int idx = mock_config_find_profile(cfg, j->model);
    if (idx < 0 && cfg->strict_models) {
        snprintf(msg, len, "The model '%.200s' does not exist.", j->model);
        *param = "model";
        return 404;
    }
    j->model_idx = idx < 0 ? 0 : idx;
    j->prof = &cfg->profiles[j->model_idx];
    /* The key excludes "stream", so streamed and plain answers to one request match. */
    uint64_t h = mock_hash64(j->model, strlen(j->model), cfg->seed);
    h = hash_json(msgs->child, h);
    j->key = mock_hash64(&j->max_tokens, sizeof(j->max_tokens), h);
    return 0;
}

/* ---- routes ---- */

static bool auth_ok(const struct mock_req *r, const char *key)
{
    return strncmp(r->auth, "Bearer ", 7) == 0 && strcmp(r->auth + 7, key) == 0;
}

/* What check_request derived from a body, kept for the next time it comes (mock_memo.h), and
 * given back to a job then. */
static void memo_of_job(struct mock_memo_req *m, const struct mock_job *j)
{
    m->key = j->key;
    m->prof = j->prof;
    m->model_idx = j->model_idx;
    m->max_tokens = j->max_tokens;
    m->min_tokens = j->min_tokens;
    m->ignore_eos = j->ignore_eos;
    m->prompt_tokens = j->prompt_tokens;
    m->stream = j->stream;
    m->include_usage = j->include_usage;
    memcpy(m->model, j->model, strlen(j->model) + 1);
}

static void job_from_memo(struct mock_job *j, const struct mock_memo_req *m)
{
    j->key = m->key;
    j->prof = m->prof;
    j->model_idx = m->model_idx;
    j->max_tokens = m->max_tokens;
    j->min_tokens = m->min_tokens;
    j->ignore_eos = m->ignore_eos;
    j->prompt_tokens = m->prompt_tokens;
    j->stream = m->stream;
    j->include_usage = m->include_usage;
    memcpy(j->model, m->model, strlen(m->model) + 1);
}

static void route_chat(struct mock_req *r)
{
    struct mock_server *srv = r->conn->w->srv;
    struct mock_job *j = &r->job;
    char msg[256];
    const char *param = NULL;
    j->is_chat = j->in_flight = true;
    j->model_idx = -1;
    j->max_tokens = j->min_tokens = -1;
    mock_metrics_in_flight(&srv->metrics, r->conn->w->index, 1);
    if (srv->cfg->api_key[0] != '\0' && !auth_ok(r, srv->cfg->api_key)) {
        mock_answer_error(r, 401,
                          r->auth[0] ? "Incorrect API key provided."
                                     : "You didn't provide an API key (Authorization: Bearer KEY).",
                          NULL, "invalid_api_key", NULL);
        return;
    }
    struct mock_memo *memo = &r->conn->w->memo;
    const char *body = r->body ? r->body : "";
    uint64_t hash = 0;
    const struct mock_memo_req *seen = mock_memo_req_get(memo, body, r->body_len, &hash);
    if (seen != NULL) {
        job_from_memo(j, seen);
        mock_admit_chat(r);
        return;
    }
    cJSON *root = ll_json_parse(body, r->body_len);
    if (root == NULL) {
        mock_answer_error(
            r, 400,
            "We could not parse the JSON body of your request. (The body must be valid "
            "JSON.)",
            NULL, NULL, NULL);
        return;
    }
    int rc = check_request(r, root, msg, sizeof(msg), &param);
    ll_json_free(root);
    if (rc != 0) {
        mock_answer_error(r, rc, msg, param, rc == 404 ? "model_not_found" : NULL, NULL);
        return;
    }
    struct mock_memo_req m;
    memo_of_job(&m, j);
    mock_memo_req_put(memo, hash, body, r->body_len, &m);
    mock_admit_chat(r);
}

static void route_metrics(struct mock_req *r)
{
    struct mock_buf *b = mock_conn_scratch(r->conn);
    mock_metrics_render(&r->conn->w->srv->metrics, b);
    mock_answer_respond(r, 200, "text/plain; version=0.0.4; charset=utf-8", b->p, b->len, NULL);
}

static void json_ok(struct mock_req *r, const char *body)
{
    mock_answer_respond(r, 200, "application/json", body, strlen(body), NULL);
}

struct route {
    const char *path;
    enum http_method method;
    void (*fn)(struct mock_req *r);
};

static void route_models(struct mock_req *r)
{
    struct mock_server *srv = r->conn->w->srv;
    mock_answer_respond(r, 200, "application/json", srv->models_json, srv->models_len, NULL);
}

static void route_health(struct mock_req *r)
{
    json_ok(r, "{\"status\":\"ok\"}\n");
}

static void route_reset(struct mock_req *r)
{
    mock_metrics_reset(&r->conn->w->srv->metrics);
    json_ok(r, "{\"status\":\"reset\"}\n");
}

/* One entry of /v1/models: OpenAI's fields, then the profile's latency model. NULL on ENOMEM. */
static cJSON *model_object(const struct mock_config *cfg, int i)
{
    const struct mock_profile *p = &cfg->profiles[i];
    char ttft[96], itl[96], reasoning[96], chunk[96];
    mock_dist_format(&p->ttft, ttft, sizeof(ttft));
    mock_dist_format(&p->itl, itl, sizeof(itl));
    mock_dist_format(&p->reasoning, reasoning, sizeof(reasoning));
    mock_dist_format(&p->chunk, chunk, sizeof(chunk));
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "id", p->name);
    cJSON_AddStringToObject(m, "object", "model");
    cJSON_AddNumberToObject(m, "created", 0);
    cJSON_AddStringToObject(m, "owned_by", "mockllm");
    cJSON_AddStringToObject(m, "ttft", ttft);
    cJSON_AddStringToObject(m, "itl", itl);
    if (p->tokens.kind == MOCK_DIST_FIXED) {
        cJSON_AddNumberToObject(m, "tokens", p->tokens.a);
    } else {
        char tokens[96];
        mock_dist_format(&p->tokens, tokens, sizeof(tokens));
        cJSON_AddStringToObject(m, "tokens", tokens);
    }
    cJSON_AddNumberToObject(m, "prefill_ms_per_token", p->prefill_ms);
    cJSON_AddBoolToObject(m, "eos", p->eos);
    cJSON_AddStringToObject(m, "reasoning_tokens", reasoning);
    cJSON_AddStringToObject(m, "chunk_tokens", chunk);
    cJSON_AddBoolToObject(m, "default", i == 0);
    return m;
}

/* GET /v1/models/{id}: the id is the rest of the path, taken as sent (not percent-decoded), so
 * ids with slashes ("org/model") work as they do on OpenAI-compatible servers. */
static void route_model(struct mock_req *r, const char *id, size_t len)
{
    const struct mock_config *cfg = r->conn->w->srv->cfg;
    char name[MOCK_MODEL_ECHO_MAX + 1], msg[MOCK_MODEL_ECHO_MAX + 64];
    int i = -1;
    if (len <= MOCK_MODEL_ECHO_MAX) {
        memcpy(name, id, len);
        name[len] = '\0';
        i = mock_config_find_profile(cfg, name);
    }
    if (i < 0) {
        snprintf(msg, sizeof(msg), "The model '%.*s' does not exist", (int)(len < 200 ? len : 200),
                 id);
        mock_answer_error(r, 404, msg, "model", "model_not_found", NULL);
        return;
    }
    cJSON *m = model_object(cfg, i);
    char *body = m ? cJSON_PrintUnformatted(m) : NULL;
    cJSON_Delete(m);
    if (body == NULL) {
        mock_answer_error(r, 500, "Out of memory rendering the model.", NULL, NULL, NULL);
        return;
    }
    mock_answer_respond(r, 200, "application/json", body, strlen(body), NULL);
    cJSON_free(body);
}

static const struct route routes[] = {
    {"/v1/chat/completions", HTTP_POST, route_chat},
    {"/chat/completions", HTTP_POST, route_chat},
    {"/v1/models", HTTP_GET, route_models},
    {"/models", HTTP_GET, route_models},
    {"/health", HTTP_GET, route_health},
    {"/metrics", HTTP_GET, route_metrics},
    {"/metrics/reset", HTTP_POST, route_reset},
};

static void pre_error(struct mock_req *r)
{
    const struct mock_config *cfg = r->conn->w->srv->cfg;
    char msg[160];
    if (r->pre_status == 413) {
        snprintf(msg, sizeof(msg), "Request body larger than the limit of %zu bytes.",
                 cfg->max_body_bytes);
    } else if (r->pre_status == 431) {
        snprintf(msg, sizeof(msg), "Request line and headers larger than the limit of %zu bytes.",
                 cfg->max_header_bytes);
    } else {
        snprintf(msg, sizeof(msg), "Malformed HTTP request: %s.",
                 r->pre_msg ? r->pre_msg : "bad request");
    }
    mock_answer_error(r, r->pre_status, msg, NULL, NULL, NULL);
}

void mock_openai_handle(struct mock_req *r)
{
    char msg[MOCK_URL_MAX + 64];
    if (r->pre_status != 0) {
        pre_error(r);
        return;
    }
    size_t plen = strcspn(r->url, "?");
    const struct route *match = NULL;
    static const char *const model_prefixes[] = {"/v1/models/", "/models/"};
    for (size_t i = 0; i < 2; i++) {
        size_t n = strlen(model_prefixes[i]);
        if (plen > n && memcmp(r->url, model_prefixes[i], n) == 0) {
            if (r->method == HTTP_GET || r->method == HTTP_HEAD) {
                route_model(r, r->url + n, plen - n);
            } else {
                snprintf(msg, sizeof(msg), "Method %s is not allowed on %.*s.",
                         http_method_str((enum http_method)r->method), (int)plen, r->url);
                mock_answer_error(r, 405, msg, NULL, NULL, "Allow: GET, HEAD\r\n");
            }
            return;
        }
    }
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (strlen(routes[i].path) == plen && memcmp(routes[i].path, r->url, plen) == 0) {
            match = &routes[i];
            if (routes[i].method == r->method ||
                (routes[i].method == HTTP_GET && r->method == HTTP_HEAD)) {
                routes[i].fn(r);
                return;
            }
        }
    }
    const char *method = http_method_str((enum http_method)r->method);
    if (match != NULL) {
        char allow[64];
        snprintf(msg, sizeof(msg), "Method %s is not allowed on %.*s.", method, (int)plen, r->url);
        snprintf(allow, sizeof(allow), "Allow: %s\r\n",
                 match->method == HTTP_GET ? "GET, HEAD" : http_method_str(match->method));
        mock_answer_error(r, 405, msg, NULL, NULL, allow);
        return;
    }
    snprintf(msg, sizeof(msg), "Invalid URL (%s %.*s)", method, (int)plen, r->url);
    mock_answer_error(r, 404, msg, NULL, NULL, NULL);
}

static const struct mock_app app = {.handle = mock_openai_handle, .abort = mock_answer_abort};

int mock_openai_prepare(struct mock_server *srv)
{
    srv->app = &app;
    const struct mock_config *cfg = srv->cfg;
    ll_json_init();
    cJSON *root = cJSON_CreateObject();
    cJSON *data = cJSON_AddArrayToObject(root, "data");
    cJSON_AddStringToObject(root, "object", "list");
    for (int i = 0; i < cfg->nprofiles && data != NULL; i++) {
        cJSON_AddItemToArray(data, model_object(cfg, i));
    }
    srv->models_json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (srv->models_json == NULL) {
        return -1;
    }
    srv->models_len = strlen(srv->models_json);
    return 0;
}
