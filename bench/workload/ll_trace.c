/* ll_trace.c - read a timestamp,input_tokens,output_tokens CSV (see ll_trace.h). */
#include "ll_trace.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_err.h"
#include "ll_lengths.h"

/* One field: a number, then spaces, then `sep` ('\0' for the last field). */
static bool field(const char **p, char sep, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(*p, &end);
    if (end == *p || errno != 0 || !isfinite(*v)) {
        return false;
    }
    while (*end == ' ' || *end == '\t') {
        end++;
    }
    if (*end != sep) {
        return false;
    }
    *p = sep != '\0' ? end + 1 : end;
    return true;
}

/* Parse one data row into v[3]; NULL, or why it is bad. */
static const char *parse_row(const char *line, double v[3])
{
    const char *p = line;
    if (!field(&p, ',', &v[0]) || !field(&p, ',', &v[1]) || !field(&p, '\0', &v[2])) {
        return "want timestamp,input_tokens,output_tokens (three numbers)";
    }
    if (v[0] < 0) {
        return "timestamp is negative";
    }
    for (int i = 1; i < 3; i++) {
        if (v[i] < 1 || v[i] > LL_LENGTH_MAX || v[i] != floor(v[i])) {
            return i == 1 ? "input_tokens: want a whole number in [1, 1000000]"
                          : "output_tokens: want a whole number in [1, 1000000]";
        }
    }
    return NULL;
}

static int push(struct ll_trace *t, size_t *cap, const double v[3])
{
    if (t->n == *cap) {
        size_t c = *cap ? *cap * 2 : 1024;
        double *ts = realloc(t->t_s, c * sizeof(*ts));
        if (ts != NULL) {
            t->t_s = ts;
        }
        int *in = realloc(t->input, c * sizeof(*in));
        if (in != NULL) {
            t->input = in;
        }
        int *out = realloc(t->output, c * sizeof(*out));
        if (out != NULL) {
            t->output = out;
        }
        if (ts == NULL || in == NULL || out == NULL) {
            return LL_ENOMEM;
        }
        *cap = c;
    }
    t->t_s[t->n] = v[0];
    t->input[t->n] = (int)v[1];
    t->output[t->n] = (int)v[2];
    t->n++;
    return 0;
}

/* A line without its end-of-line and trailing blanks; false when it holds no data. */
static bool data_line(char *line)
{
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' ||
                     line[n - 1] == '\t')) {
        line[--n] = '\0';
    }
    const char *p = line + strspn(line, " \t");
    return *p != '\0' && *p != '#';
}

static int read_rows(FILE *f, const char *path, size_t max_rows, struct ll_trace *t, char *err,
                     size_t errlen)
{
    char *line = NULL;
    size_t linecap = 0, cap = 0;
    long lineno = 0;
    bool first = true;
    int rc = 0;
    while (rc == 0 && (max_rows == 0 || t->n < max_rows) && getline(&line, &linecap, f) >= 0) {
        lineno++;
        if (!data_line(line)) {
            continue;
        }
        double v[3];
        const char *p = line + strspn(line, " \t"), *why = parse_row(p, v);
        bool header = first && why != NULL && strchr("+-.0123456789", *p) == NULL;
        first = false;
        if (header) {
            continue;
        }
        if (why == NULL && t->n > 0 && v[0] < t->t_s[t->n - 1]) {
            why = "timestamp goes back (rows must be in time order)";
        }
        if (why != NULL) {
            snprintf(err, errlen, "%s:%ld: %s", path, lineno, why);
            rc = LL_EINVAL;
        } else if (t->n >= LL_TRACE_MAX_ROWS || push(t, &cap, v) != 0) {
            snprintf(err, errlen, "%s:%ld: out of memory", path, lineno);
            rc = LL_ENOMEM;
        }
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
        rc = LL_EIO;
    }
    free(line);
    return rc;
}

int ll_trace_load(const char *path, size_t max_rows, struct ll_trace *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        int e = errno;
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(e));
        return e == ENOENT ? LL_ENOENT : LL_EIO;
    }
    int rc = read_rows(f, path, max_rows, out, err, errlen);
    fclose(f);
    if (rc == 0 && out->n == 0) {
        snprintf(err, errlen, "%s: no rows (want timestamp,input_tokens,output_tokens lines)",
                 path);
        rc = LL_EINVAL;
    }
    if (rc != 0) {
        ll_trace_free(out);
        return rc;
    }
    out->span_s = out->t_s[out->n - 1] - out->t_s[0];
    return 0;
}

void ll_trace_free(struct ll_trace *t)
{
    free(t->t_s);
    free(t->input);
    free(t->output);
    memset(t, 0, sizeof(*t));
}
