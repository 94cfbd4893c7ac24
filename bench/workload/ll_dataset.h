/* ll_dataset.h - prompts from a dataset file, as a bounded, seeded random sample.
 *
 * Two layouts, told apart by the file's first byte:
 *   JSONL   one entry per line; blank lines are skipped.
 *   JSON    a JSON array of entries (the file starts with '['), e.g. ShareGPT's
 *           [{"id": ..., "conversations": [{"from": "human", "value": ...}, ...]}, ...].
 *           It is read one entry at a time, so a file of hundreds of MB needs memory only for
 *           the sample. A file that starts with '[' and whose first element is a
 *           {"role", "content"} object is JSONL of messages arrays instead.
 * An entry is any of
 *   "text"                                   one user message
 *   {"prompt": "text"}                       one user message
 *   {"messages": [{"role", "content"}, ...]} the messages as given; content a string, or an
 *                                            array of parts whose "text" fields are joined
 *   [{"role", "content"}, ...]               the same, bare
 *   {"conversations": [{"from", "value"}, ...]}  ShareGPT: the "system" turns before the first
 *                                            "human" (or "user") turn, then that turn; the
 *                                            answers are not sent (vLLM's `bench serve` does
 *                                            the same)
 * A ShareGPT entry with no human turn, or an entry whose text is empty, is skipped and counted
 * (such entries are common in the public dumps). Anything else -- not JSON, another shape, a
 * message without a string role -- is an error naming the file and line.
 *
 * The sample: a uniform random sample (reservoir sampling) of at most `sample` usable entries,
 * then shuffled, both from `seed`: the same file, sample and seed give the same prompts in the
 * same order. Single-threaded; no global state.
 */
#ifndef LL_DATASET_H
#define LL_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "ll_request.h"

#define LL_DATASET_ENTRY_MAX (16u << 20) /* bytes of one entry; longer is an error */

/* One prompt: its messages and their strings live in one block (msgs). */
struct ll_prompt {
    struct ll_message *msgs;
    size_t n_msgs;
    int tokens; /* its length in mockllm's tokens: ll_length_of_text() of each message, added */
};

struct ll_dataset {
    struct ll_prompt *items; /* the sample, in seeded random order; owned */
    size_t n;
    uint64_t entries;   /* usable entries in the file (the population sampled from) */
    uint64_t skipped;   /* entries without a usable prompt */
    const char *layout; /* "jsonl" or "json": a static string */
};

/* Read the file at `path` and keep a sample of at most `sample` entries (0: all of them).
 * 0; LL_ENOENT or LL_EIO when it cannot be read, LL_EINVAL for a malformed entry or a file with
 * no usable entry, LL_ENOMEM -- each with one line in err (snprintf's contract), for a bad entry
 * "FILE:LINE: why" with the line the entry starts on. On failure *out is empty. */
int ll_dataset_load(const char *path, uint64_t sample, uint64_t seed, struct ll_dataset *out,
                    char *err, size_t errlen);

void ll_dataset_free(struct ll_dataset *d);

#endif
