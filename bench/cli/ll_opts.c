/* ll_opts.c - flag table parsing, strict numbers, generated --help. */
#include "ll_opts.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ll_err.h"

int ll_parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    if (s == NULL || *s == '\0' || *s == ' ' || *s == '\t') {
        return LL_EINVAL;
    }
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max) {
        return LL_EINVAL;
    }
    *out = (int64_t)v;
    return 0;
}

int ll_parse_double(const char *s, double min, double max, double *out)
{
    char *end;
    if (s == NULL || *s == '\0' || *s == ' ' || *s == '\t') {
        return LL_EINVAL;
    }
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || !isfinite(v) || v < min || v > max) {
        return LL_EINVAL;
    }
    *out = v;
    return 0;
}

int ll_parse_seconds(const char *s, double min, double max, double *out)
{
    static const struct {
        const char *unit;
        double mult;
    } units[] = {{"ms", 1e-3}, {"s", 1.0}, {"m", 60.0}, {"h", 3600.0}};
    char num[64];
    size_t n = s != NULL ? strspn(s, "0123456789.eE+-") : 0;
    double mult = 1.0, v;
    if (s == NULL || n == 0 || n >= sizeof(num)) {
        return LL_EINVAL;
    }
    if (s[n] != '\0') {
        size_t i = 0;
        while (i < sizeof(units) / sizeof(units[0]) && strcmp(s + n, units[i].unit) != 0) {
            i++;
        }
        if (i == sizeof(units) / sizeof(units[0])) {
            return LL_EINVAL;
        }
        mult = units[i].mult;
    }
    memcpy(num, s, n);
    num[n] = '\0';
    if (ll_parse_double(num, 0, 1e12, &v) != 0 || v * mult < min || v * mult > max) {
        return LL_EINVAL;
    }
    *out = v * mult;
    return 0;
}

void ll_strv_free(struct ll_strv *sv)
{
    free(sv->v);
    memset(sv, 0, sizeof(*sv));
}

static int strv_push(struct ll_strv *sv, const char *s)
{
    if (sv->n == sv->cap) {
        size_t cap = sv->cap ? sv->cap * 2 : 8;
        const char **v = realloc(sv->v, cap * sizeof(*v));
        if (v == NULL) {
            return LL_ENOMEM;
        }
        sv->v = v;
        sv->cap = cap;
    }
    sv->v[sv->n++] = s;
    return 0;
}

static const struct ll_opt *find(const struct ll_opt *opts, const char *name, size_t len)
{
    for (const struct ll_opt *o = opts; o->name != NULL; o++) {
        if (strlen(o->name) == len && strncmp(o->name, name, len) == 0) {
            return o;
        }
    }
    return NULL;
}

static int set_value(const char *who, const struct ll_opt *o, const char *val)
{
    switch (o->kind) {
    case LL_OPT_INT:
        if (ll_parse_int(val, (int64_t)o->min, (int64_t)o->max, o->dst) != 0) {
            fprintf(stderr, "%s: --%s '%s': want a whole number in [%.0f, %.0f]\n", who, o->name,
                    val, o->min, o->max);
            return LL_EINVAL;
        }
        break;
    case LL_OPT_DOUBLE:
        if (ll_parse_double(val, o->min, o->max, o->dst) != 0) {
            fprintf(stderr, "%s: --%s '%s': want a number in [%g, %g]\n", who, o->name, val, o->min,
                    o->max);
            return LL_EINVAL;
        }
        break;
    case LL_OPT_SECONDS:
        if (ll_parse_seconds(val, o->min, o->max, o->dst) != 0) {
            fprintf(stderr,
                    "%s: --%s '%s': want a duration in [%gs, %gs] (e.g. 30, 30s, 500ms, 2m)\n", who,
                    o->name, val, o->min, o->max);
            return LL_EINVAL;
        }
        break;
    case LL_OPT_STR:
        if (*val == '\0') {
            fprintf(stderr, "%s: --%s: empty value\n", who, o->name);
            return LL_EINVAL;
        }
        *(const char **)o->dst = val;
        break;
    case LL_OPT_LIST:
        return strv_push(o->dst, val);
    case LL_OPT_BOOL:
        *(bool *)o->dst = true;
        break;
    }
    return 0;
}

static const struct ll_opt *find_short(const struct ll_opt *opts, char c)
{
    for (const struct ll_opt *o = opts; o->name != NULL; o++) {
        if (o->short_name != 0 && o->short_name == c) {
            return o;
        }
    }
    return NULL;
}

/* Whether `a` is one of these flags as written on a command line ("--name", "--name=v", "-x",
 * "-xv"; not "-1", which is a value). */
static bool names_flag(const struct ll_opt *opts, const char *a)
{
    if (strncmp(a, "--", 2) == 0 && a[2] != '\0') {
        const char *eq = strchr(a + 2, '=');
        return find(opts, a + 2, eq != NULL ? (size_t)(eq - a - 2) : strlen(a + 2)) != NULL ||
               strcmp(a, "--help") == 0;
    }
    return a[0] == '-' && a[1] != '\0' && a[1] != '-' && find_short(opts, a[1]) != NULL;
}

/* argv[*i] names flag `o`; its value is `inline_val` ("--x=v", "-nv") or the next argument,
 * unless that argument is another of the flags and `o` is no list: "--http -n 5" is a missing
 * value, not an HTTP version "-n" (a value that looks like a flag can be given as "--http=-n").
 */
static int take(const char *who, const struct ll_opt *opts, const struct ll_opt *o,
                const char *inline_val, int argc, char **argv, int *i)
{
    const char *val = inline_val;
    if (o->kind == LL_OPT_BOOL) {
        if (inline_val != NULL) {
            fprintf(stderr, "%s: --%s takes no value\n", who, o->name);
            return LL_EINVAL;
        }
    } else if (val == NULL && *i + 1 < argc && o->kind != LL_OPT_LIST &&
               names_flag(opts, argv[*i + 1])) { /* a list may pass flags on: --mock-arg --tls */
        fprintf(stderr, "%s: --%s needs a value (%s) before the flag '%s'\n", who, o->name, o->arg,
                argv[*i + 1]);
        return LL_EINVAL;
    } else if (val == NULL && *i + 1 < argc) {
        val = argv[++*i];
    } else if (val == NULL) {
        fprintf(stderr, "%s: --%s needs a value (%s)\n", who, o->name, o->arg);
        return LL_EINVAL;
    }
    int err = set_value(who, o, val);
    if (err == 0 && o->seen != NULL) {
        *o->seen = true;
    }
    return err;
}

int ll_opts_parse(const char *who, const struct ll_opt *opts, int argc, char **argv, bool *help)
{
    *help = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const struct ll_opt *o;
        int err;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            *help = true;
            return 0;
        }
        if (a[0] == '-' && a[1] != '-' && a[1] != '\0' && (o = find_short(opts, a[1])) != NULL) {
            err = take(who, opts, o, a[2] != '\0' ? (a[2] == '=' ? a + 3 : a + 2) : NULL, argc,
                       argv, &i);
            if (err != 0) {
                return err;
            }
            continue;
        }
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
            fprintf(stderr, "%s: unexpected argument '%s' (see --help)\n", who, a);
            return LL_EINVAL;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
        o = find(opts, name, len);
        if (o == NULL) {
            fprintf(stderr, "%s: unknown flag '--%.*s' (see --help)\n", who, (int)len, name);
            return LL_EINVAL;
        }
        if ((err = take(who, opts, o, eq != NULL ? eq + 1 : NULL, argc, argv, &i)) != 0) {
            return err;
        }
    }
    return 0;
}

static void default_text(const struct ll_opt *o, char *buf, size_t len)
{
    if (o->def != NULL) {
        snprintf(buf, len, "%s", o->def);
        return;
    }
    switch (o->kind) {
    case LL_OPT_INT:
        snprintf(buf, len, "%lld", (long long)*(int64_t *)o->dst);
        break;
    case LL_OPT_DOUBLE:
        snprintf(buf, len, "%g", *(double *)o->dst);
        break;
    case LL_OPT_SECONDS:
        snprintf(buf, len, "%gs", *(double *)o->dst);
        break;
    case LL_OPT_STR: {
        const char *s = *(const char **)o->dst;
        snprintf(buf, len, "%s", s != NULL ? s : "none");
        break;
    }
    case LL_OPT_BOOL:
        snprintf(buf, len, "%s", *(bool *)o->dst ? "on" : "off");
        break;
    case LL_OPT_LIST:
        snprintf(buf, len, "none");
        break;
    }
}

void ll_opts_help(FILE *out, const struct ll_opt *opts)
{
    char flag[64], def[64];
    for (const struct ll_opt *o = opts; o->name != NULL; o++) {
        char sh[8] = "";
        if (o->short_name != 0) {
            snprintf(sh, sizeof(sh), "-%c, ", o->short_name);
        }
        snprintf(flag, sizeof(flag), "%s--%s%s%s", sh, o->name, o->arg ? " " : "",
                 o->arg ? o->arg : "");
        default_text(o, def, sizeof(def));
        /* A long flag gets a line of its own so the help column stays aligned. */
        if (strlen(flag) > 24) {
            fprintf(out, "  %s\n  %-24s", flag, "");
        } else {
            fprintf(out, "  %-24s", flag);
        }
        fprintf(out, " %s (default: %s)\n", o->help, def);
    }
}

int ll_opts_seconds_to_ms(const char *who, const char *flag, double s, int64_t *ms_out)
{
    if (s > 0 && s < 0.001) {
        fprintf(stderr,
                "%s: --%s %g: below the 1 ms resolution it is applied with (it would mean no "
                "timeout at all); give at least 0.001, or 0 for none\n",
                who, flag, s);
        return LL_EINVAL;
    }
    *ms_out = (int64_t)llround(s * 1000.0);
    return 0;
}
