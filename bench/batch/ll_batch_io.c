/* ll_batch_io.c - JSONL input items, the id set, output lines and resume. */
#include "ll_batch_io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "ll_err.h"

static bool blank(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') {
        s++;
    }
    return *s == '\0';
}

/* ---- input ------------------------------------------------------------------------------- */

static int bad(struct ll_batch_item *it, const char *why)
{
    snprintf(it->err, sizeof(it->err), "%s", why);
    free(it->body);
    it->body = NULL;
    if (it->key == NULL) {
        char k[48];
        snprintf(k, sizeof(k), "#line:%ld", it->line);
        it->key = strdup(k);
    }
    return it->key != NULL ? 1 : LL_ENOMEM;
}

/* "prompt" becomes one user message; "messages" must then be a non-empty array. */
static const char *shape_messages(cJSON *o)
{
    cJSON *prompt = cJSON_GetObjectItemCaseSensitive(o, "prompt");
    cJSON *msgs = cJSON_GetObjectItemCaseSensitive(o, "messages");
    if (msgs == NULL && cJSON_IsString(prompt)) {
        cJSON *arr = cJSON_AddArrayToObject(o, "messages");
        cJSON *m = cJSON_CreateObject();
        cJSON_AddItemToArray(arr, m);
        cJSON_AddStringToObject(m, "role", "user");
        cJSON_AddStringToObject(m, "content", prompt->valuestring);
        cJSON_DeleteItemFromObjectCaseSensitive(o, "prompt");
        return NULL;
    }
    if (msgs == NULL) {
        return prompt != NULL ? "\"prompt\" is not a string" : "no \"messages\" or \"prompt\"";
    }
    if (!cJSON_IsArray(msgs) || cJSON_GetArraySize(msgs) == 0) {
        return "\"messages\" is not a non-empty array";
    }
    if (prompt != NULL) {
        return "both \"messages\" and \"prompt\"";
    }
    return NULL;
}

/* Model and max_tokens defaults, stream off, token estimate. */
static const char *shape_body(cJSON *o, const char *default_model, int max_tokens,
                              struct ll_batch_item *it)
{
    cJSON *model = cJSON_GetObjectItemCaseSensitive(o, "model");
    if (model == NULL && default_model != NULL) {
        model = cJSON_AddStringToObject(o, "model", default_model);
    }
    if (!cJSON_IsString(model)) {
        return "\"model\" is not a string";
    }
    snprintf(it->model, sizeof(it->model), "%s", model->valuestring);
    cJSON *mt = cJSON_GetObjectItemCaseSensitive(o, "max_tokens");
    if (mt == NULL && max_tokens > 0) {
        mt = cJSON_AddNumberToObject(o, "max_tokens", max_tokens);
    }
    if (mt != NULL && (!cJSON_IsNumber(mt) || mt->valuedouble < 1)) {
        return "\"max_tokens\" is not a positive number";
    }
    cJSON_DeleteItemFromObjectCaseSensitive(o, "stream");
    cJSON_DeleteItemFromObjectCaseSensitive(o, "stream_options");
    char *msgs = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(o, "messages"));
    /* About four characters per token for English text: an estimate, settled after the answer. */
    it->est_tokens = (msgs != NULL ? (double)strlen(msgs) / 4.0 : 0.0) +
                     (mt != NULL ? mt->valuedouble : LL_BATCH_DEFAULT_ANSWER_TOKENS);
    free(msgs);
    return NULL;
}

/* Parse one line into `it` (key, body). Returns 1 or LL_ENOMEM. */
static int parse_item(const char *text, const char *default_model, int max_tokens,
                      struct ll_batch_item *it)
{
    cJSON *o = cJSON_Parse(text);
    const char *why = NULL;
    if (o == NULL || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return bad(it, o == NULL ? "not valid JSON" : "not a JSON object");
    }
    cJSON *id = cJSON_DetachItemFromObjectCaseSensitive(o, "id");
    if (id == NULL || !(cJSON_IsString(id) || cJSON_IsNumber(id))) {
        why = id == NULL ? "no \"id\"" : "\"id\" is not a string or a number";
    } else if ((it->key = cJSON_PrintUnformatted(id)) == NULL) {
        cJSON_Delete(id);
        cJSON_Delete(o);
        return LL_ENOMEM;
    }
    cJSON_Delete(id);
    if (why == NULL) {
        why = shape_messages(o);
    }
    if (why == NULL) {
        why = shape_body(o, default_model, max_tokens, it);
    }
    if (why == NULL && (it->body = cJSON_PrintUnformatted(o)) == NULL) {
        cJSON_Delete(o);
        return LL_ENOMEM;
    }
    cJSON_Delete(o);
    return why != NULL ? bad(it, why) : 1;
}

long ll_batch_getline(FILE *f, char **buf, size_t *cap)
{
    size_t len = 0;
    int ch = 0;
    /* Byte by byte: a line may hold NUL bytes, and nothing is stored past the bound. */
    while ((ch = getc_unlocked(f)) != EOF) {
        if (len + 2 > *cap) {
            if (*cap >= (size_t)LL_BATCH_LINE_MAX + 2) {
                return LL_ERANGE;
            }
            size_t ncap = *cap ? *cap * 2 : 4096;
            ncap = ncap < (size_t)LL_BATCH_LINE_MAX + 2 ? ncap : (size_t)LL_BATCH_LINE_MAX + 2;
            char *b = realloc(*buf, ncap);
            if (b == NULL) {
                return LL_ENOMEM;
            }
            *buf = b;
            *cap = ncap;
        }
        (*buf)[len++] = (char)ch;
        if (ch == '\n') {
            break;
        }
    }
    if (ch == EOF && ferror(f)) {
        return LL_EIO;
    }
    if (*buf != NULL) {
        (*buf)[len] = '\0';
    }
    return (long)len;
}

int ll_batch_read(FILE *in, long *lineno, const char *default_model, int max_tokens,
                  struct ll_batch_item *it)
{
    char *line = NULL;
    size_t cap = 0;
    memset(it, 0, sizeof(*it));
    for (;;) {
        long n = ll_batch_getline(in, &line, &cap);
        if (n <= 0) {
            free(line);
            return (int)n;
        }
        (*lineno)++;
        if (!blank(line)) {
            break;
        }
    }
    it->line = *lineno;
    int rc = parse_item(line, default_model, max_tokens, it);
    free(line);
    return rc;
}

void ll_batch_item_free(struct ll_batch_item *it)
{
    free(it->key);
    free(it->body);
    it->key = it->body = NULL;
}

/* ---- id set: open addressing, FNV-1a, grows at 1/2 load ---------------------------------- */

struct ll_idset {
    char **keys;
    long *vals;
    size_t cap, n;
};

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    while (*s) {
        h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
    }
    return h;
}

struct ll_idset *ll_idset_new(void)
{
    struct ll_idset *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return NULL;
    }
    s->cap = 64;
    s->keys = calloc(s->cap, sizeof(*s->keys));
    s->vals = calloc(s->cap, sizeof(*s->vals));
    if (s->keys == NULL || s->vals == NULL) {
        ll_idset_free(s);
        return NULL;
    }
    return s;
}

void ll_idset_free(struct ll_idset *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; s->keys != NULL && i < s->cap; i++) {
        free(s->keys[i]);
    }
    free(s->keys);
    free(s->vals);
    free(s);
}

static size_t slot_of(const struct ll_idset *s, const char *key)
{
    size_t i = (size_t)fnv(key) & (s->cap - 1);
    while (s->keys[i] != NULL && strcmp(s->keys[i], key) != 0) {
        i = (i + 1) & (s->cap - 1);
    }
    return i;
}

long ll_idset_get(const struct ll_idset *s, const char *key)
{
    size_t i = slot_of(s, key);
    return s->keys[i] != NULL ? s->vals[i] : -1;
}

static int grow(struct ll_idset *s)
{
    struct ll_idset big = {calloc(s->cap * 2, sizeof(char *)), calloc(s->cap * 2, sizeof(long)),
                           s->cap * 2, s->n};
    if (big.keys == NULL || big.vals == NULL) {
        free(big.keys);
        free(big.vals);
        return LL_ENOMEM;
    }
    for (size_t i = 0; i < s->cap; i++) {
        if (s->keys[i] != NULL) {
            size_t j = slot_of(&big, s->keys[i]);
            big.keys[j] = s->keys[i];
            big.vals[j] = s->vals[i];
        }
    }
    free(s->keys);
    free(s->vals);
    *s = big;
    return 0;
}

int ll_idset_put(struct ll_idset *s, const char *key, long value)
{
    if (2 * (s->n + 1) > s->cap && grow(s) != 0) {
        return LL_ENOMEM;
    }
    size_t i = slot_of(s, key);
    if (s->keys[i] == NULL) {
        if ((s->keys[i] = strdup(key)) == NULL) {
            return LL_ENOMEM;
        }
        s->n++;
    }
    s->vals[i] = value;
    return 0;
}

/* ---- output ------------------------------------------------------------------------------ */

/* One write() for the whole line; a short write (disk full) is finished or, when the rest
 * cannot be written, cut off again so that the file ends with a whole line. */
static int write_line(int fd, cJSON *o)
{
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (text == NULL) {
        return LL_ENOMEM;
    }
    size_t len = strlen(text);
    text[len] = '\n'; /* overwrite the terminator: the line goes out with its newline */
    off_t start = lseek(fd, 0, SEEK_END); /* O_APPEND: where this line begins */
    size_t off = 0;
    int err = 0;
    while (off < len + 1) {
        ssize_t n = write(fd, text + off, len + 1 - off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            int e = n < 0 ? errno : ENOSPC;
            if (off > 0 && start >= 0) {
                (void)!ftruncate(fd, start);
            }
            errno = e;
            err = LL_EIO;
            break;
        }
        off += (size_t)n;
    }
    free(text);
    return err;
}

/* {"id": <key as JSON>} or {"id": null, "line": N} for a line without a usable id. */
static cJSON *line_head(const struct ll_batch_item *it)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *id = it->key[0] == '#' ? cJSON_CreateNull() : cJSON_Parse(it->key);
    cJSON_AddItemToObject(o, "id", id != NULL ? id : cJSON_CreateNull());
    cJSON_AddNumberToObject(o, "line", (double)it->line);
    return o;
}

static void add_error(cJSON *o, const char *cls, int status, int attempts, const char *msg)
{
    cJSON_AddFalseToObject(o, "ok");
    cJSON *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "class", cls);
    cJSON_AddNumberToObject(e, "status", status);
    cJSON_AddNumberToObject(e, "attempts", attempts);
    cJSON_AddStringToObject(e, "message", msg);
}

int ll_batch_write_bad(int fd, const struct ll_batch_item *it)
{
    cJSON *o = line_head(it);
    add_error(o, "input", 0, 0, it->err);
    return write_line(fd, o);
}

int ll_batch_write_result(int fd, const struct ll_batch_item *it, const struct ll_result *r)
{
    cJSON *o = line_head(it);
    cJSON_AddStringToObject(o, "model", it->model);
    if (r->cls != LL_CLASS_NONE) {
        add_error(o, ll_class_name(r->cls), r->status, r->attempts, r->errmsg);
        return write_line(fd, o);
    }
    cJSON_AddTrueToObject(o, "ok");
    cJSON_AddStringToObject(o, "content", r->content != NULL ? r->content : "");
    cJSON_AddStringToObject(o, "finish_reason", r->finish_reason);
    if (r->prompt_tokens >= 0 && r->completion_tokens >= 0) {
        cJSON *u = cJSON_AddObjectToObject(o, "usage");
        cJSON_AddNumberToObject(u, "prompt_tokens", r->prompt_tokens);
        cJSON_AddNumberToObject(u, "completion_tokens", r->completion_tokens);
        cJSON_AddNumberToObject(u, "total_tokens", r->total_tokens);
        if (r->reasoning_tokens >= 0) {
            cJSON_AddNumberToObject(u, "reasoning_tokens", r->reasoning_tokens);
        }
    } else {
        cJSON_AddNullToObject(o, "usage"); /* the server sent none: not known, never 0 */
    }
    cJSON_AddNumberToObject(o, "attempts", r->attempts);
    cJSON_AddNumberToObject(o, "latency_ms", (double)(r->t_end - r->t_dispatch) / 1e6);
    return write_line(fd, o);
}
