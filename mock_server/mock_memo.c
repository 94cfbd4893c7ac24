/* mock_memo.c - see mock_memo.h. */
#include "mock_memo.h"

#include <stdlib.h>
#include <string.h>

/* A word at a time: a body is hashed on every request, hit or miss, so this must cost far less
 * than the parse it saves (FNV-1a byte by byte took ~5 instructions a byte). Not for anything
 * adversarial: a collision only costs a memcmp and a miss. */
static uint64_t memo_hash(const char *p, size_t n)
{
    const uint64_t mul = 0xFF51AFD7ED558CCDULL; /* murmur3's fmix64 constant */
    uint64_t h = (uint64_t)n * 0x9E3779B97F4A7C15ULL, w;
    for (; n >= 8; p += 8, n -= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * mul;
        h ^= h >> 32;
    }
    if (n > 0) {
        w = 0;
        memcpy(&w, p, n);
        h = (h ^ w) * mul;
        h ^= h >> 32;
    }
    return h ^ (h >> 29);
}

/* The slot of a text: key is already a well-mixed hash; the count picks among lengths of one
 * request (max_tokens differing changes the key anyway). */
static size_t text_slot(uint64_t key, int n_tokens)
{
    return (size_t)(key ^ (uint64_t)n_tokens * 0x9E3779B97F4A7C15ULL) % MOCK_MEMO_SLOTS;
}

void mock_memo_init(struct mock_memo *m, bool on)
{
    memset(m, 0, sizeof(*m));
    m->on = on;
}

void mock_memo_free(struct mock_memo *m)
{
    for (size_t i = 0; i < MOCK_MEMO_SLOTS; i++) {
        free(m->reqs[i].body);
        free(m->texts[i].text);
    }
    mock_memo_init(m, m->on);
}

const struct mock_memo_req *mock_memo_req_get(struct mock_memo *m, const char *body, size_t len,
                                              uint64_t *hash)
{
    if (!m->on || len == 0 || len > MOCK_MEMO_BODY_MAX) {
        return NULL;
    }
    uint64_t h = memo_hash(body, len);
    const struct mock_memo_req_slot *s = &m->reqs[h % MOCK_MEMO_SLOTS];
    *hash = h;
    if (s->len != len || s->hash != h || memcmp(s->body, body, len) != 0) {
        return NULL;
    }
    m->req_hits++;
    return &s->req;
}

void mock_memo_req_put(struct mock_memo *m, uint64_t hash, const char *body, size_t len,
                       const struct mock_memo_req *req)
{
    if (!m->on || len == 0 || len > MOCK_MEMO_BODY_MAX) {
        return;
    }
    struct mock_memo_req_slot *s = &m->reqs[hash % MOCK_MEMO_SLOTS];
    if (s->body == NULL && (s->body = malloc(MOCK_MEMO_BODY_MAX)) == NULL) {
        return; /* no memory: simply no memo */
    }
    memcpy(s->body, body, len);
    s->len = len;
    s->hash = hash;
    s->req = *req;
}

const char *mock_memo_text_get(struct mock_memo *m, uint64_t key, int n_tokens, size_t *len)
{
    if (!m->on) {
        return NULL;
    }
    const struct mock_memo_text_slot *s = &m->texts[text_slot(key, n_tokens)];
    if (s->n_tokens != n_tokens || s->key != key) {
        return NULL;
    }
    m->text_hits++;
    *len = s->len;
    return s->text;
}

void mock_memo_text_put(struct mock_memo *m, uint64_t key, int n_tokens, const char *text,
                        size_t len)
{
    if (!m->on || n_tokens <= 0 || len > MOCK_MEMO_TEXT_MAX) {
        return;
    }
    struct mock_memo_text_slot *s = &m->texts[text_slot(key, n_tokens)];
    if (s->text == NULL && (s->text = malloc(MOCK_MEMO_TEXT_MAX)) == NULL) {
        return;
    }
    memcpy(s->text, text, len);
    s->len = len;
    s->key = key;
    s->n_tokens = n_tokens;
}
