/* ll_dataset.c - JSONL and JSON-array (ShareGPT) prompt files, sampled (see ll_dataset.h). */
#include "ll_dataset.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_err.h"
#include "ll_grow.h"
#include "ll_lengths.h"
#include "ll_retry.h"

/* The messages of one entry before they are copied into a prompt block. */
struct gather {
    const char **role, **content; /* borrowed from the cJSON tree, or from `joined` */
    char **joined;                /* contents joined from parts: owned */
    size_t n, cap;
};

static void gather_free(struct gather *g)
{
    for (size_t i = 0; i < g->n; i++) {
        free(g->joined[i]);
    }
    free(g->role);
    free(g->content);
    free(g->joined);
    memset(g, 0, sizeof(*g));
}

static int gather_add(struct gather *g, const char *role, const char *content, char *joined)
{
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 4;
        const char **r = realloc(g->role, cap * sizeof(*r));
        g->role = r != NULL ? r : g->role;
        const char **c = realloc(g->content, cap * sizeof(*c));
        g->content = c != NULL ? c : g->content;
        char **j = realloc(g->joined, cap * sizeof(*j));
        g->joined = j != NULL ? j : g->joined;
        if (r == NULL || c == NULL || j == NULL) {
            free(joined);
            return LL_ENOMEM;
        }
        g->cap = cap;
    }
    g->role[g->n] = role;
    g->content[g->n] = joined != NULL ? joined : content;
    g->joined[g->n] = joined;
    g->n++;
    return 0;
}

/* A message's content: a string, or an array of parts whose "text" strings are joined. NULL
 * when it is neither; *joined is set when the text had to be joined (the caller owns it). */
static const char *content_text(const cJSON *c, char **joined, bool *nomem)
{
    *joined = NULL;
    if (cJSON_IsString(c)) {
        return c->valuestring;
    }
    if (!cJSON_IsArray(c)) {
        return NULL;
    }
    size_t len = 0, cap = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, c)
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "text");
        size_t n = cJSON_IsString(t) ? strlen(t->valuestring) : 0;
        if (ll_grow(joined, &cap, len + n + 1, 64) != 0) {
            free(*joined);
            *joined = NULL;
            *nomem = true;
            return NULL;
        }
        memcpy(*joined + len, n ? t->valuestring : "", n);
        len += n;
        (*joined)[len] = '\0';
    }
    return *joined != NULL ? *joined : "";
}

/* A messages array; NULL, or why it is bad. */
static const char *from_messages(const cJSON *arr, struct gather *g)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, arr)
    {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        char *joined;
        bool nomem = false;
        const char *text =
            content_text(cJSON_GetObjectItemCaseSensitive(m, "content"), &joined, &nomem);
        if (nomem) {
            return "out of memory";
        }
        if (!cJSON_IsString(role) || text == NULL) {
            free(joined);
            return "a message needs a string \"role\" and a \"content\" string or text parts";
        }
        if (gather_add(g, role->valuestring, text, joined) != 0) {
            return "out of memory";
        }
    }
    return g->n == 0 ? "\"messages\" is empty" : NULL;
}

/* ShareGPT turns: system turns, then the first human turn. */
static const char *from_conversations(const cJSON *arr, struct gather *g)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, arr)
    {
        const cJSON *from = cJSON_GetObjectItemCaseSensitive(t, "from");
        const cJSON *value = cJSON_GetObjectItemCaseSensitive(t, "value");
        if (!cJSON_IsString(from) || !cJSON_IsString(value)) {
            continue; /* malformed turns occur in the public dumps: not this entry's prompt */
        }
        bool human =
            strcmp(from->valuestring, "human") == 0 || strcmp(from->valuestring, "user") == 0;
        if (human || strcmp(from->valuestring, "system") == 0) {
            if (gather_add(g, human ? "user" : "system", value->valuestring, NULL) != 0) {
                return "out of memory";
            }
        }
        if (human) {
            return NULL;
        }
    }
    g->n = 0; /* no human turn: skipped */
    return NULL;
}

static bool is_messages(const cJSON *v)
{
    return cJSON_IsArray(v) && cJSON_IsObject(v->child) &&
           cJSON_IsString(cJSON_GetObjectItemCaseSensitive(v->child, "role"));
}

/* The messages of one entry into g (g->n == 0: skip it); NULL, or why the entry is bad. */
static const char *entry_messages(const cJSON *v, struct gather *g)
{
    if (cJSON_IsString(v)) {
        return gather_add(g, "user", v->valuestring, NULL) != 0 ? "out of memory" : NULL;
    }
    if (is_messages(v)) {
        return from_messages(v, g);
    }
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(v, "prompt");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(v, "messages");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(v, "conversations");
    if (cJSON_IsString(p)) {
        return gather_add(g, "user", p->valuestring, NULL) != 0 ? "out of memory" : NULL;
    }
    if (cJSON_IsArray(m)) {
        return from_messages(m, g);
    }
    if (cJSON_IsArray(c)) {
        return from_conversations(c, g);
    }
    return "want a string, {\"prompt\": ...}, {\"messages\": [...]}, a messages array or "
           "{\"conversations\": [...]}";
}

/* Copy the gathered messages into one block. NULL on allocation failure. */
static int prompt_make(const struct gather *g, struct ll_prompt *out)
{
    size_t bytes = g->n * sizeof(struct ll_message);
    for (size_t i = 0; i < g->n; i++) {
        bytes += strlen(g->role[i]) + strlen(g->content[i]) + 2;
    }
    struct ll_message *m = malloc(bytes);
    if (m == NULL) {
        return LL_ENOMEM;
    }
    char *p = (char *)(m + g->n);
    out->tokens = 0;
    for (size_t i = 0; i < g->n; i++) {
        size_t rl = strlen(g->role[i]) + 1, cl = strlen(g->content[i]) + 1;
        m[i].role = memcpy(p, g->role[i], rl);
        m[i].content = memcpy(p + rl, g->content[i], cl);
        p += rl + cl;
        out->tokens += ll_length_of_text(cl - 1);
    }
    out->msgs = m;
    out->n_msgs = g->n;
    return 0;
}

/* Reservoir sampling (Algorithm R) over the usable entries. */
struct load {
    const char *path;
    struct ll_dataset *d;
    uint64_t k; /* sample size, 0: all */
    size_t cap;
    uint64_t rng;
    char *err;
    size_t errlen;
};

static int keep(struct load *l, struct ll_prompt *p)
{
    struct ll_dataset *d = l->d;
    uint64_t seen = ++d->entries;
    if (l->k == 0 || seen <= l->k) {
        if (d->n == l->cap) {
            size_t cap = l->cap ? l->cap * 2 : 64;
            struct ll_prompt *it = realloc(d->items, cap * sizeof(*it));
            if (it == NULL) {
                free(p->msgs);
                return LL_ENOMEM;
            }
            d->items = it;
            l->cap = cap;
        }
        d->items[d->n++] = *p;
        return 0;
    }
    uint64_t j = ll_rng_next(&l->rng) % seen;
    if (j < l->k) {
        free(d->items[j].msgs);
        d->items[j] = *p;
    } else {
        free(p->msgs);
    }
    return 0;
}

/* Parse one entry's text (NUL-terminated, len bytes) starting on `line`. */
static int add_entry(struct load *l, const char *text, size_t len, long line)
{
    struct gather g = {0};
    struct ll_prompt p;
    const char *why = NULL;
    int rc = 0;
    cJSON *v = cJSON_ParseWithLength(text, len);
    if (v == NULL) {
        why = "not valid JSON";
    } else if ((why = entry_messages(v, &g)) == NULL) {
        bool empty = g.n == 0;
        for (size_t i = 0; i < g.n && !empty; i++) {
            empty = strcmp(g.role[i], "user") == 0 && g.content[i][0] == '\0';
        }
        if (empty) {
            l->d->skipped++;
        } else if ((rc = prompt_make(&g, &p)) == 0) {
            rc = keep(l, &p);
        }
    }
    if (why != NULL) {
        snprintf(l->err, l->errlen, "%s:%ld: %s", l->path, line, why);
        rc = strcmp(why, "out of memory") == 0 ? LL_ENOMEM : LL_EINVAL;
    } else if (rc != 0) {
        snprintf(l->err, l->errlen, "%s:%ld: out of memory", l->path, line);
    }
    gather_free(&g);
    cJSON_Delete(v);
    return rc;
}

static bool blank(const char *s)
{
    return s[strspn(s, " \t\r\n")] == '\0';
}

static int read_jsonl(struct load *l, FILE *f)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0;
    int rc = 0;
    while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (blank(line)) {
            continue;
        }
        if ((size_t)n > LL_DATASET_ENTRY_MAX) {
            snprintf(l->err, l->errlen, "%s:%ld: entry longer than %u bytes", l->path, lineno,
                     LL_DATASET_ENTRY_MAX);
            rc = LL_EINVAL;
        } else {
            rc = add_entry(l, line, (size_t)n, lineno);
        }
    }
    free(line);
    return rc;
}

/* A JSON array read one entry at a time: a byte reader that counts lines, and a scanner that
 * finds where each entry ends (strings and nesting tracked) without parsing it. */
struct scan {
    FILE *f;
    long line; /* of the byte last read */
    char *ent; /* the entry being gathered */
    size_t len, cap;
};

static int sc_get(struct scan *s)
{
    int c = getc(s->f);
    s->line += c == '\n';
    return c;
}

static void sc_unget(struct scan *s, int c)
{
    s->line -= c == '\n';
    ungetc(c, s->f);
}

static int sc_skip_ws(struct scan *s)
{
    int c;
    while ((c = sc_get(s)) == ' ' || c == '\t' || c == '\r' || c == '\n') {
    }
    return c;
}

/* Gather one entry, whose first byte c was just read, into s->ent. 0, LL_EINVAL (the file
 * ends inside it, or it is too long) or LL_ENOMEM. */
static int sc_entry(struct scan *s, int c)
{
    int depth = 0;
    bool str = false, esc = false;
    s->len = 0;
    for (;; c = sc_get(s)) {
        if (c == EOF) {
            return LL_EINVAL;
        }
        if (!str && depth == 0 && s->len > 0 && (c == ',' || c == ']')) {
            sc_unget(s, c); /* the end of a scalar entry */
            break;
        }
        if (s->len + 2 > LL_DATASET_ENTRY_MAX) {
            return LL_EINVAL;
        }
        if (ll_grow(&s->ent, &s->cap, s->len + 2, 4096) != 0) {
            return LL_ENOMEM;
        }
        s->ent[s->len++] = (char)c;
        if (str) {
            if (esc) {
                esc = false;
            } else if (c == '\\') {
                esc = true;
            } else if (c == '"') {
                str = false;
            }
        } else if (c == '"') {
            str = true;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if ((c == '}' || c == ']') && --depth <= 0) {
            break;
        }
        if (!str && depth == 0 && c == '"' && s->len > 1) {
            break; /* a string entry ended */
        }
    }
    s->ent[s->len] = '\0';
    return 0;
}

static int read_array(struct load *l, FILE *f)
{
    struct scan s = {.f = f, .line = 1};
    int rc = 0, c = sc_skip_ws(&s); /* the '[' */
    c = sc_skip_ws(&s);
    while (rc == 0 && c != ']') {
        long start = s.line;
        rc = sc_entry(&s, c);
        if (rc == LL_EINVAL) {
            snprintf(l->err, l->errlen, "%s:%ld: %s", l->path, start,
                     s.len + 2 > LL_DATASET_ENTRY_MAX ? "entry too long"
                                                      : "the file ends inside this entry");
        } else if (rc == LL_ENOMEM) {
            snprintf(l->err, l->errlen, "%s:%ld: out of memory", l->path, start);
        } else if ((rc = add_entry(l, s.ent, s.len, start)) == 0) {
            c = sc_skip_ws(&s);
            if (c == ',') {
                c = sc_skip_ws(&s);
            } else if (c != ']') {
                snprintf(l->err, l->errlen, "%s:%ld: want ',' or ']' after an entry", l->path,
                         s.line);
                rc = LL_EINVAL;
            }
        }
    }
    if (rc == 0 && sc_skip_ws(&s) != EOF) {
        snprintf(l->err, l->errlen, "%s:%ld: data after the JSON array's end", l->path, s.line);
        rc = LL_EINVAL;
    }
    free(s.ent);
    return rc;
}

/* The first line, if it is by itself a messages array, makes the file JSONL (see the top). */
static bool first_line_is_messages(FILE *f)
{
    char *line = NULL;
    size_t cap = 0;
    bool yes = false;
    if (getline(&line, &cap, f) >= 0) {
        cJSON *v = cJSON_Parse(line);
        yes = is_messages(v);
        cJSON_Delete(v);
    }
    free(line);
    rewind(f);
    return yes;
}

static void shuffle(struct ll_dataset *d, uint64_t *rng)
{
    for (size_t i = d->n; i > 1; i--) {
        size_t j = (size_t)(ll_rng_next(rng) % i);
        struct ll_prompt t = d->items[i - 1];
        d->items[i - 1] = d->items[j];
        d->items[j] = t;
    }
}

static int first_byte(FILE *f)
{
    int c;
    while ((c = getc(f)) == ' ' || c == '\t' || c == '\r' || c == '\n') {
    }
    rewind(f);
    return c;
}

int ll_dataset_load(const char *path, uint64_t sample, uint64_t seed, struct ll_dataset *out,
                    char *err, size_t errlen)
{
    struct load l = {
        .path = path, .d = out, .k = sample, .rng = seed ? seed : 1, .err = err, .errlen = errlen};
    int rc;
    memset(out, 0, sizeof(*out));
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        int e = errno;
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(e));
        return e == ENOENT ? LL_ENOENT : LL_EIO;
    }
    if (first_byte(f) == '[' && !first_line_is_messages(f)) {
        out->layout = "json";
        rc = read_array(&l, f);
    } else {
        out->layout = "jsonl";
        rc = read_jsonl(&l, f);
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
        rc = LL_EIO;
    }
    fclose(f);
    if (rc == 0 && out->n == 0) {
        snprintf(err, errlen, "%s: no usable prompt (%llu entries skipped)", path,
                 (unsigned long long)out->skipped);
        rc = LL_EINVAL;
    }
    if (rc != 0) {
        const char *layout = out->layout;
        ll_dataset_free(out);
        out->layout = layout;
        return rc;
    }
    shuffle(out, &l.rng);
    return 0;
}

void ll_dataset_free(struct ll_dataset *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->items[i].msgs);
    }
    free(d->items);
    memset(d, 0, sizeof(*d));
}
