/* mock_config_file.c - the JSON config file (cJSON), turned into flag settings
 * (mock_config_file.h). */
#include "mock_config_file.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOCK_CONFIG_FILE_MAX (1 << 20)

/* Render a scalar JSON value as the text a flag would take. -1 when it is not a scalar. */
static int scalar_text(const cJSON *v, char *out, size_t len)
{
    if (cJSON_IsBool(v)) {
        snprintf(out, len, "%s", cJSON_IsTrue(v) ? "true" : "false");
    } else if (cJSON_IsString(v)) {
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

/* The keys a profile object may have (mock_latency.h). */
static bool profile_key(const char *k)
{
    static const char *const keys[] = {"name",        "preset", "ttft", "prefill",
                                       "itl",         "tokens", "eos",  "reasoning_tokens",
                                       "chunk_tokens"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (strcmp(k, keys[i]) == 0) {
            return true;
        }
    }
    return false;
}

static int add_profile_obj(mock_config_apply_fn apply, void *arg, const char *path, const cJSON *p,
                           int i, char *err, size_t errlen)
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
        if (!profile_key(it->string) && !is_faults) {
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
    if (apply(arg, "profile", spec, inner, sizeof(inner)) != 0) {
        snprintf(err, errlen, "%s: profiles[%d]: %s", path, i, inner);
        return -1;
    }
    return 0;
}

static int apply_key(mock_config_apply_fn apply, void *arg, const char *path, const cJSON *it,
                     char *err, size_t errlen)
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
            if (add_profile_obj(apply, arg, path, p, i, err, errlen) != 0) {
                return -1;
            }
        }
        return 0;
    }
    if (strcmp(name, "config") == 0) {
        snprintf(err, errlen, "%s: \"config\" cannot nest", path);
        return -1;
    }
    if (strcmp(name, "listen") == 0 && cJSON_IsArray(it)) {
        for (const cJSON *a = it->child; a != NULL; a = a->next) {
            if (!cJSON_IsString(a) || apply(arg, name, a->valuestring, inner, sizeof(inner)) != 0) {
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
    if (apply(arg, name, val, inner, sizeof(inner)) != 0) {
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

int mock_config_file_read(const char *path, mock_config_apply_fn apply, void *arg, char *err,
                          size_t errlen)
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
        if (apply_key(apply, arg, path, it, err, errlen) != 0) {
            goto out;
        }
    }
    rc = 0;
out:
    cJSON_Delete(root);
    free(text);
    return rc;
}
