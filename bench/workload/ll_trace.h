/* ll_trace.h - a request trace to replay: one row per request, read from a CSV file
 *
 *   timestamp,input_tokens,output_tokens
 *   0.000,812,187
 *   0.350,1024,64
 *
 * timestamp: seconds from the trace's start (a decimal, >= 0, never decreasing from row to
 * row); input_tokens: the prompt's length (>= 1, in mockllm's tokens, ll_lengths.h);
 * output_tokens: sent as max_tokens (>= 1). The header line is optional (a first line whose
 * first field is not a number); blank lines and lines starting with '#' are skipped; fields may
 * be surrounded by spaces, and a trailing '\r' (a CSV written on Windows) is ignored.
 *
 * Single-threaded; no global state.
 */
#ifndef LL_TRACE_H
#define LL_TRACE_H

#include <stddef.h>
#include <stdint.h>

#define LL_TRACE_MAX_ROWS 100000000 /* 100 M rows: ~2 GB of memory; bigger traces are cut */

struct ll_trace {
    double *t_s;         /* timestamps, seconds from the start; owned */
    int *input, *output; /* tokens per row; owned */
    size_t n;
    double span_s; /* last timestamp - first */
};

/* Read the CSV at `path`, at most max_rows rows (0: every row). 0; LL_ENOENT or LL_EIO when the
 * file cannot be read, LL_EINVAL for a malformed line, LL_ENOMEM -- each with one line in err
 * (snprintf's contract), "FILE:LINE: why" for a bad line. An empty trace is LL_EINVAL. */
int ll_trace_load(const char *path, size_t max_rows, struct ll_trace *out, char *err,
                  size_t errlen);

void ll_trace_free(struct ll_trace *t);

#endif
