/* ll_wire.c - rendering a request's body and headers, and the one-entry cache (see ll_wire.h). */
#include "ll_wire.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ll_grow.h"

/* The request JSON: model, messages, max_tokens, ignore_eos and min_tokens when set, stream with
 * usage. NULL on allocation failure. */
static char *render_body(const struct ll_config *cfg, const struct ll_request *req)
{
    char *out = NULL;
    cJSON *root = cJSON_CreateObject();
    cJSON *msgs = cJSON_AddArrayToObject(root, "messages");
    const char *model = req->model ? req->model : cfg->default_model;
    if (msgs == NULL || cJSON_AddStringToObject(root, "model", model ? model : "") == NULL) {
        goto out;
    }
    for (size_t i = 0; i < req->n_messages; i++) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddItemToArray(msgs, m);
        if (m == NULL ||
            cJSON_AddStringToObject(
                m, "role", req->messages[i].role ? req->messages[i].role : "user") == NULL ||
            cJSON_AddStringToObject(
                m, "content", req->messages[i].content ? req->messages[i].content : "") == NULL) {
            goto out;
        }
    }
    if (req->max_tokens > 0 &&
        cJSON_AddNumberToObject(root, "max_tokens", req->max_tokens) == NULL) {
        goto out;
    }
    if ((req->ignore_eos && cJSON_AddTrueToObject(root, "ignore_eos") == NULL) ||
        (req->min_tokens > 0 &&
         cJSON_AddNumberToObject(root, "min_tokens", req->min_tokens) == NULL)) {
        goto out;
    }
    if (req->stream) {
        cJSON *so = cJSON_CreateObject();
        if (cJSON_AddTrueToObject(root, "stream") == NULL || so == NULL ||
            !cJSON_AddItemToObject(root, "stream_options", so)) {
            cJSON_Delete(so);
            goto out;
        }
        if (cJSON_AddTrueToObject(so, "include_usage") == NULL) {
            goto out;
        }
    }
    out = cJSON_PrintUnformatted(root);
out:
    cJSON_Delete(root);
    return out;
}

/* Whether one of the request's extra headers is `name` (case-insensitive). */
static bool has_header(const struct ll_request *req, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < req->n_headers; i++) {
        if (strncasecmp(req->headers[i], name, n) == 0 && req->headers[i][n] == ':') {
            return true;
        }
    }
    return false;
}

/* Content-Type, Authorization, "Expect:" (no 100-continue round trip for a small POST), extras.
 * ll_xfer has curl decode any Content-Encoding (CURLOPT_ACCEPT_ENCODING), which also makes curl
 * send its own Accept-Encoding: an empty "Accept-Encoding:" removes that unless compression was
 * asked for (cfg->compressed, or an Accept-Encoding among the extras, which then goes as is). */
static struct curl_slist *render_headers(const struct ll_config *cfg, const struct ll_request *req)
{
    struct curl_slist *h = NULL, *t;
#define ADD(s)                                                                                     \
    do {                                                                                           \
        if ((t = curl_slist_append(h, (s))) == NULL) {                                             \
            goto error;                                                                            \
        }                                                                                          \
        h = t;                                                                                     \
    } while (0)
    ADD("Content-Type: application/json");
    if (cfg->api_key != NULL && cfg->api_key[0] != '\0') {
        /* "Authorization: Bearer KEY", or "NAME: KEY" (Azure OpenAI's api-key) */
        const char *name = cfg->api_key_header ? cfg->api_key_header : "Authorization";
        const char *bearer = cfg->api_key_header ? "" : "Bearer ";
        size_t n = strlen(name) + strlen(bearer) + strlen(cfg->api_key) + sizeof(": ");
        char *line = malloc(n);
        if (line == NULL) {
            goto error;
        }
        snprintf(line, n, "%s: %s%s", name, bearer, cfg->api_key);
        t = curl_slist_append(h, line);
        memset(line, 0, n); /* the key should not linger in freed memory */
        free(line);
        if (t == NULL) {
            goto error;
        }
        h = t;
    }
    ADD("Expect:");
    if (!cfg->compressed && !has_header(req, "Accept-Encoding")) {
        ADD("Accept-Encoding:");
    }
    for (size_t i = 0; i < req->n_headers; i++) {
        ADD(req->headers[i]);
    }
#undef ADD
    return h;
error:
    curl_slist_free_all(h);
    return NULL;
}

/* The key: every field the wire depends on, each string as its length then its bytes (NULL and
 * "" differ), so two requests render the same bytes exactly when their keys are equal. cfg is
 * the client's and constant, so it is not part of the key. */
static bool key_put(struct ll_wire_key *k, const void *p, size_t n)
{
    if (ll_grow(&k->buf, &k->cap, k->len + n, 256) != 0) {
        return false;
    }
    memcpy(k->buf + k->len, p, n);
    k->len += n;
    return true;
}

static bool key_str(struct ll_wire_key *k, const char *s)
{
    size_t n = s != NULL ? strlen(s) : SIZE_MAX;
    return key_put(k, &n, sizeof(n)) && (s == NULL || key_put(k, s, n));
}

static bool key_make(struct ll_wire_key *k, const struct ll_request *req)
{
    int ints[4] = {req->max_tokens, req->stream, req->ignore_eos, req->min_tokens};
    bool ok = true;
    k->len = 0;
    ok = key_str(k, req->body_json) && key_str(k, req->model) && key_put(k, ints, sizeof(ints)) &&
         key_put(k, &req->n_messages, sizeof(req->n_messages)) &&
         key_put(k, &req->n_headers, sizeof(req->n_headers));
    for (size_t i = 0; ok && req->body_json == NULL && i < req->n_messages; i++) {
        ok = key_str(k, req->messages[i].role) && key_str(k, req->messages[i].content);
    }
    for (size_t i = 0; ok && i < req->n_headers; i++) {
        ok = key_str(k, req->headers[i]);
    }
    return ok;
}

void ll_wire_put(struct ll_wire *w)
{
    if (w == NULL || atomic_fetch_sub_explicit(&w->refs, 1, memory_order_acq_rel) != 1) {
        return;
    }
    free(w->body);
    curl_slist_free_all(w->headers);
    free(w);
}

int ll_wire_get(struct ll_wire_cache *wc, const struct ll_config *cfg, const struct ll_request *req,
                struct ll_wire **out)
{
    bool keyed = key_make(&wc->next, req);
    if (keyed && wc->last != NULL && wc->next.len == wc->key.len &&
        memcmp(wc->next.buf, wc->key.buf, wc->key.len) == 0) {
        atomic_fetch_add_explicit(&wc->last->refs, 1, memory_order_relaxed);
        *out = wc->last;
        return 0;
    }
    struct ll_wire *w = calloc(1, sizeof(*w));
    if (w == NULL) {
        return LL_ENOMEM;
    }
    w->body = req->body_json ? strdup(req->body_json) : render_body(cfg, req);
    w->headers = render_headers(cfg, req);
    if (w->body == NULL || w->headers == NULL) {
        free(w->body);
        curl_slist_free_all(w->headers);
        free(w);
        return LL_ENOMEM;
    }
    w->body_len = strlen(w->body);
    atomic_init(&w->refs, 1);
    if (keyed) { /* becomes the cached wire; without a key (no memory) it is simply not cached */
        ll_wire_put(wc->last);
        atomic_fetch_add_explicit(&w->refs, 1, memory_order_relaxed);
        wc->last = w;
        struct ll_wire_key t = wc->key;
        wc->key = wc->next;
        wc->next = t;
    }
    *out = w;
    return 0;
}

void ll_wire_cache_clear(struct ll_wire_cache *wc)
{
    ll_wire_put(wc->last);
    free(wc->key.buf);
    free(wc->next.buf);
    memset(wc, 0, sizeof(*wc));
}
