/* ll_batch_io.h - the files of `llmload batch`: JSONL prompts in, JSONL results out.
 *
 * Input: one JSON object per line, {"id", "model"?, "messages" | "prompt", "max_tokens"?, ...};
 * every other field is passed through to the API untouched ("stream" is dropped: batch reads
 * whole answers). id is a string or a number. A line that cannot be used becomes an item with
 * no body and a reason, so the caller writes it as an error result and goes on.
 *
 * Ids are compared as canonical JSON text (cJSON_PrintUnformatted of the id): "a" and 17 and
 * 17.0 ... each have one key, the same in the input and in the output. A line with no usable id
 * gets the key "#line:N", which no JSON text can equal; its output line has "id": null and
 * "line": N.
 *
 * Output: one line per id, rendered whole and written with one write() on an O_APPEND fd, so
 * a reader (or a crash) never sees half a line from us. Resume rewrites the file, keeping only
 * successful lines (failed, torn and unreadable lines go, to be redone), atomically
 * (temporary file + rename). The output is never a file we did not write (ll_batch_out_check).
 * Single-threaded.
 */
#ifndef LL_BATCH_IO_H
#define LL_BATCH_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "ll_request.h"

struct ll_batch_item {
    char *key;         /* canonical id text (or "#line:N") */
    char *body;        /* request JSON to send; NULL when the line is bad */
    char model[128];   /* for the output line */
    long line;         /* 1-based line number in the input */
    double est_tokens; /* prompt estimate + max_tokens, for the TPM bucket */
    char err[200];     /* why the line is bad */
};

/* Tokens assumed for an answer when a line sets no max_tokens (TPM estimate only). */
#define LL_BATCH_DEFAULT_ANSWER_TOKENS 256

/* Longest line read from the input or from a results file being resumed: a longer one stops
 * the batch (LL_ERANGE), so that a file without newlines (a device, a binary file) can never
 * grow memory without bound. */
#define LL_BATCH_LINE_MAX (16L << 20)

/* Read one line, with its '\n' if it has one, into *buf (grown as needed, up to
 * LL_BATCH_LINE_MAX + 2 bytes; free() it). Returns its length (0 at end of file), LL_ERANGE
 * for a line longer than LL_BATCH_LINE_MAX, LL_EIO (errno set) or LL_ENOMEM. */
long ll_batch_getline(FILE *f, char **buf, size_t *cap);

/* Read the next non-blank line. Returns 1 with *it filled (free with ll_batch_item_free), 0 at
 * end of file, or LL_ENOMEM / LL_EIO / LL_ERANGE. default_model is used when a line names none;
 * max_tokens > 0 is added when a line sets none. */
int ll_batch_read(FILE *in, long *lineno, const char *default_model, int max_tokens,
                  struct ll_batch_item *it);
void ll_batch_item_free(struct ll_batch_item *it);

/* A set of id keys, each with a small integer (e.g. the line that first used it). */
struct ll_idset;
struct ll_idset *ll_idset_new(void);
void ll_idset_free(struct ll_idset *s);
/* The value stored for key, or -1 when absent. */
long ll_idset_get(const struct ll_idset *s, const char *key);
/* Insert or overwrite. 0 or LL_ENOMEM. */
int ll_idset_put(struct ll_idset *s, const char *key, long value);

/* Write one line for a final result of `it`. 0, LL_ENOMEM, or LL_EIO with errno set (disk
 * full: ENOSPC, a file size limit: EFBIG); a line that could not be written whole is cut off
 * again, so the file never ends in half a line of ours. */
int ll_batch_write_result(int fd, const struct ll_batch_item *it, const struct ll_result *r);
/* Write one error line for a bad input line (class "input"). As ll_batch_write_result. */
int ll_batch_write_bad(int fd, const struct ll_batch_item *it);

/* ---- the files (ll_batch_files.c): every check runs before anything starts ---------------- */

/* Open the input: a file, a pipe or a terminal, not a directory. *prompts = the non-blank lines
 * of a regular file (0: the file has no prompt), -1 when they cannot be counted ahead (a pipe).
 * 0 or LL_E* after one line on stderr prefixed by who. */
int ll_batch_in_open(const char *who, const char *path, FILE **in, long *prompts);

/* May `path` receive results? Absent: yes (it is created). Otherwise it must be a regular file
 * (not a device, FIFO or directory), not the input itself (same device and inode, `in`), and a
 * results file: empty, or starting with a line that llmload batch writes ({"id": ..., "ok":
 * true|false, ...}; a torn first line that starts so counts too). Anything else is refused, never
 * overwritten. 0 or LL_EINVAL after one line. */
int ll_batch_out_check(const char *who, const char *path, FILE *in);

struct ll_batch_resume {
    size_t kept;    /* successful results kept: their ids go into `done` */
    size_t dropped; /* failed results and unreadable lines dropped, to be redone */
    bool torn;      /* the last line had no newline (an interrupted write) and was dropped */
};

/* Read an existing output file (absent is fine: nothing to resume; call ll_batch_out_check
 * first) and rewrite it with only its successful lines, atomically (a temporary file beside it,
 * renamed over it). 0 or LL_E* (after one line on stderr prefixed by who). */
int ll_batch_resume(const char *who, const char *path, struct ll_idset *done,
                    struct ll_batch_resume *out);

/* Open the output for appending (created 0644 if absent). fd, or LL_EIO after one line. */
int ll_batch_out_open(const char *who, const char *path);

#endif
