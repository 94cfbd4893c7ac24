/* ll_opts.h - command-line flags for llmload's subcommands: a table of flags, strict number
 * parsing, and --help generated from the same table (so the help can never miss a flag).
 *
 * Flags are `--name value` or `--name=value`, and for a flag with a short name also `-n value`
 * or `-nvalue`; booleans take no value. Numbers are parsed with
 * strtoll/strtod, must be consumed whole and lie in [min, max]. A bad flag or value prints one
 * line on stderr ("llmload run: --requests 'x': want a whole number in [1, 1e9]") and the
 * parser returns LL_EINVAL; the caller exits 2. Single-threaded, no global state.
 */
#ifndef LL_OPTS_H
#define LL_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum ll_opt_kind {
    LL_OPT_BOOL,    /* bool *: set to true, takes no value */
    LL_OPT_INT,     /* int64_t *: whole number in [min, max] */
    LL_OPT_DOUBLE,  /* double *: finite number in [min, max] */
    LL_OPT_STR,     /* const char **: points into argv */
    LL_OPT_LIST,    /* struct ll_strv *: repeatable, every value appended */
    LL_OPT_SECONDS, /* double *: a duration, "90", "90s", "1.5m", "500ms", "2h", in [min, max] s */
};

/* A growable list of strings pointing into argv (the strings are not copied). */
struct ll_strv {
    const char **v;
    size_t n, cap;
};

struct ll_opt {
    const char *name; /* without the leading "--" */
    enum ll_opt_kind kind;
    void *dst;
    double min, max;  /* LL_OPT_INT / LL_OPT_DOUBLE */
    const char *arg;  /* value placeholder for --help, e.g. "N" */
    const char *help; /* one line; the default is appended from *dst unless def is set */
    const char *def;  /* default as text, overriding the one read from *dst */
    bool *seen;       /* optional: set when the flag was given */
    char short_name;  /* optional: '-n' as well as '--requests' */
};

/* Parse argv[0..argc) (argv[0] is the first flag, not the program). `who` prefixes error lines
 * ("llmload run"). `opts` ends with a {NULL} entry. Sets *help when --help/-h was given and
 * stops there. 0 or LL_EINVAL (after one line on stderr) or LL_ENOMEM. */
int ll_opts_parse(const char *who, const struct ll_opt *opts, int argc, char **argv, bool *help);

/* Print "  --name ARG   help (default: X)" for each flag, defaults read from *dst now. */
void ll_opts_help(FILE *out, const struct ll_opt *opts);

/* Strict number parsers; 0 or LL_EINVAL. */
int ll_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);
int ll_parse_double(const char *s, double min, double max, double *out);
/* A duration in seconds: a number with an optional unit ms, s, m or h (none = s). */
int ll_parse_seconds(const char *s, double min, double max, double *out);

void ll_strv_free(struct ll_strv *sv);

/* A duration given in seconds, applied in whole milliseconds (curl's CURLOPT_*TIMEOUT_MS):
 * rounded to the nearest ms into *ms_out. A value above 0 but below 1 ms would become 0, which
 * means "no timeout": refused with one line on stderr ("llmload run: --timeout 0.0004: below
 * the 1 ms resolution it is applied with; 0 means none"). 0 or LL_EINVAL. */
int ll_opts_seconds_to_ms(const char *who, const char *flag, double s, int64_t *ms_out);

#endif
