/* mock_text.h - plausible generated text: words drawn from a fixed English list with sentence
 * punctuation, deterministic from the rng. One output token is one word (with its leading
 * space), so streamed deltas joined equal the non-stream content for the same draw. */
#ifndef MOCK_TEXT_H
#define MOCK_TEXT_H

#include <stddef.h>

#include "mock_rng.h"

/* The i-th token (i from 0) of a reply: writes it to buf (NUL-terminated), returns its length.
 * buf must hold MOCK_TEXT_TOKEN_MAX bytes. Token 0 starts with a capital and no space; every
 * other token is a space then a word, capitalised when it starts a sentence, maybe followed by
 * ',' or '.'. Call with i = 0, 1, 2 ... on the reply's rng: each token takes exactly one draw.
 * A token is only ASCII letters, ' ', ',' and '.': never anything JSON must escape, so the
 * answers copy tokens into JSON strings as they are (keep it so when changing the word lists).
 * Pure apart from r: any thread. */
#define MOCK_TEXT_TOKEN_MAX 32
size_t mock_text_token(struct mock_rng *r, size_t i, char *buf);

/* Rough prompt token count, as the usage block reports it (about 4 bytes a token, >= 1). */
int mock_text_count_tokens(const char *text, size_t len);

#endif
