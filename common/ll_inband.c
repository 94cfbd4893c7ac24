/* ll_inband.c - errors inside a 200 answer (see ll_inband.h for the shapes). */
#include "ll_inband.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const cJSON *get(const cJSON *o, const char *name)
{
    return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, name) : NULL;
}

static const char *str(const cJSON *o, const char *name)
{
    const cJSON *v = get(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool str_is(const cJSON *o, const char *name, const char *want)
{
    const char *s = str(o, name);
    return s != NULL && strcmp(s, want) == 0;
}

/* A status-like number: 100..599 as a number or as a string of digits. */
static int status_of(const cJSON *v)
{
    double d = -1;
    if (cJSON_IsNumber(v)) {
        d = v->valuedouble;
    } else if (cJSON_IsString(v) && isdigit((unsigned char)v->valuestring[0])) {
        char *end;
        d = strtod(v->valuestring, &end);
        d = *end == '\0' ? d : -1;
    }
    return d >= 100 && d < 600 ? (int)d : 0;
}

/* The class an error's words say when it names no status. */
static enum ll_class class_of_kind(const char *kind)
{
    static const struct {
        const char *word;
        enum ll_class cls;
    } words[] = {
        {"rate_limit", LL_CLASS_HTTP_429},     {"ratelimit", LL_CLASS_HTTP_429},
        {"too_many", LL_CLASS_HTTP_429},       {"overloaded", LL_CLASS_HTTP_5XX},
        {"server_error", LL_CLASS_HTTP_5XX},   {"api_error", LL_CLASS_HTTP_5XX},
        {"internal", LL_CLASS_HTTP_5XX},       {"unavailable", LL_CLASS_HTTP_5XX},
        {"timeout", LL_CLASS_HTTP_5XX},        {"generation", LL_CLASS_HTTP_5XX},
        {"invalid", LL_CLASS_HTTP_4XX},        {"badrequest", LL_CLASS_HTTP_4XX},
        {"bad_request", LL_CLASS_HTTP_4XX},    {"validation", LL_CLASS_HTTP_4XX},
        {"context_length", LL_CLASS_HTTP_4XX}, {"not_found", LL_CLASS_HTTP_4XX},
        {"permission", LL_CLASS_HTTP_4XX},     {"authentication", LL_CLASS_HTTP_4XX},
        {"content_filter", LL_CLASS_HTTP_4XX},
    };
    for (size_t i = 0; kind != NULL && i < sizeof(words) / sizeof(words[0]); i++) {
        if (strcasestr(kind, words[i].word) != NULL) {
            return words[i].cls;
        }
    }
    return LL_CLASS_PROTOCOL;
}

static enum ll_class class_of(int code, const char *kind, const char *kind2)
{
    if (code == 429) {
        return LL_CLASS_HTTP_429;
    }
    if (code >= 400 && code < 500) {
        return LL_CLASS_HTTP_4XX;
    }
    if (code >= 500) {
        return LL_CLASS_HTTP_5XX;
    }
    enum ll_class c = class_of_kind(kind);
    return c != LL_CLASS_PROTOCOL ? c : class_of_kind(kind2);
}

/* Fill out from an error object {"message", "type", "code"|"status"} or a string. */
static void take(struct ll_inband *out, const cJSON *err, const cJSON *outer)
{
    const char *msg = cJSON_IsString(err) ? err->valuestring : str(err, "message");
    const char *type = str(err, "type"), *scode = str(err, "code");
    out->code = status_of(get(err, "code"));
    if (out->code == 0) {
        out->code = status_of(get(err, "status"));
    }
    if (out->code == 0) {
        out->code = status_of(get(outer, "code")); /* vLLM's top-level shape */
    }
    const char *kind = type != NULL ? type : str(outer, "error_type"); /* TGI */
    out->cls = class_of(out->code, kind, scode);
    if (msg == NULL) {
        msg = scode != NULL ? scode : type != NULL ? type : "(no message)";
    }
    snprintf(out->msg, sizeof(out->msg), "%s", msg);
}

bool ll_inband_error(const cJSON *root, const char *sse_type, const char *data, size_t len,
                     struct ll_inband *out)
{
    memset(out, 0, sizeof(*out));
    if (cJSON_IsArray(root)) {
        root = cJSON_GetArrayItem(root, 0); /* [{"error": ...}] */
    }
    const cJSON *err = get(root, "error");
    const cJSON *resp = get(root, "response");
    const cJSON *choice = cJSON_GetArrayItem(get(root, "choices"), 0);
    if (cJSON_IsObject(err) || (cJSON_IsString(err) && err->valuestring[0] != '\0')) {
        take(out, err, root); /* OpenAI/Azure/SGLang/LiteLLM/vLLM envelope, TGI, Anthropic */
    } else if (str_is(root, "object", "error") ||
               (str_is(root, "type", "error") && str(root, "message") != NULL)) {
        take(out, root, root); /* vLLM's bare error; a Responses error event */
    } else if (str_is(root, "type", "response.failed") || str_is(resp, "status", "failed")) {
        take(out, get(resp, "error"), resp); /* Responses, streamed */
    } else if (str_is(root, "object", "response") && str_is(root, "status", "failed")) {
        take(out, get(root, "error"), root); /* Responses, not streamed */
    } else if (str_is(choice, "finish_reason", "error")) {
        snprintf(out->msg, sizeof(out->msg), "finish_reason \"error\"");
        out->cls = LL_CLASS_HTTP_5XX; /* the provider failed mid-answer (OpenRouter) */
    } else if (sse_type != NULL && strcmp(sse_type, "error") == 0) {
        snprintf(out->msg, sizeof(out->msg), "%.*s", (int)(len < 120 ? len : 120), data);
        out->cls = LL_CLASS_PROTOCOL;
    } else {
        return false;
    }
    return true;
}
