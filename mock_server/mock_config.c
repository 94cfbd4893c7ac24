/* mock_config.c - defaults, the command line, and every setting by its flag name (the config
 * file's too: mock_config_file.c reads the file, this applies it). */
#include "mock_config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "mock_config_file.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v < lo || v > hi) {
        return -1;
    }
    *out = v;
    return 0;
}

int mock_config_find_profile(const struct mock_config *c, const char *name)
{
    for (int i = 0; i < c->nprofiles; i++) {
        if (strcmp(c->profiles[i].name, name) == 0) {
            return i;
        }
    }
    return -1;
}

static void config_defaults(struct mock_config *c)
{
    memset(c, 0, sizeof(*c));
    c->port = 8000;
    c->threads = 1;
    c->backlog = 4096;
    c->scale = 1.0;
    c->max_header_bytes = 16384;
    c->max_body_bytes = 1 << 20;
    c->idle_timeout_ms = 30000;
    c->grace_ms = 2000;
    c->h2_max_streams = 100; /* as nginx, h2o and most servers announce */
    c->h2_settings_max = -1; /* unset: 1 once --h2-settings-after is given (mock_config_parse) */
    mock_fault_rates_init(&c->faults);
    struct mock_profile *p = &c->profiles[0];
    mock_profile_defaults(p);
    snprintf(p->name, sizeof(p->name), "%s", MOCK_DEFAULT_MODEL);
    c->nprofiles = 1;
}

static int add_profile(struct mock_config *c, const char *spec, char *err, size_t errlen)
{
    struct mock_profile p = c->profiles[0]; /* unnamed keys inherit the default profile */
    char perr[200] = "", named[160];
    if (strchr(spec, '=') == NULL) {
        if (mock_profile_preset(spec, &p) != 0) {
            return fail(err, errlen,
                        "--profile '%s': neither a preset's name (see --help) nor a spec "
                        "'name=M,...'",
                        spec);
        }
        snprintf(named, sizeof(named), "name=%.64s,preset=%.64s", spec, spec);
        spec = named; /* --profile realistic: a model "realistic" of that preset */
    }
    p.name[0] = '\0';
    p.has_faults = false;
    mock_fault_rates_init(&p.faults);
    if (mock_profile_parse(spec, &p, perr, sizeof(perr)) != 0) {
        return fail(err, errlen, "--profile '%s': %s", spec, perr);
    }
    if (p.name[0] == '\0') {
        return fail(err, errlen, "--profile '%s': needs name=MODEL", spec);
    }
    int i = mock_config_find_profile(c, p.name);
    if (i < 0) {
        if (c->nprofiles >= MOCK_MAX_PROFILES) {
            return fail(err, errlen, "--profile: at most %d profiles", MOCK_MAX_PROFILES);
        }
        i = c->nprofiles++;
    }
    c->profiles[i] = p;
    return 0;
}

static int set_dist(struct mock_dist *d, const char *flag, const char *v, char *err, size_t errlen)
{
    char derr[200] = "";
    if (mock_dist_parse(v, d, derr, sizeof(derr)) != 0) {
        return fail(err, errlen, "--%s '%s': %s", flag, v, derr);
    }
    return 0;
}

static int set_count(struct mock_dist *d, const char *flag, const char *v, int lo, char *err,
                     size_t errlen)
{
    char derr[200] = "";
    if (mock_count_parse(v, lo, MOCK_COUNT_MAX, d, derr, sizeof(derr)) != 0) {
        return fail(err, errlen, "--%s %s", flag, derr);
    }
    return 0;
}

static int set_faults(struct mock_config *c, const char *v, char *err, size_t errlen)
{
    char ferr[200] = "";
    if (mock_fault_parse(v, &c->faults, ferr, sizeof(ferr)) != 0) {
        return fail(err, errlen, "--faults '%s': %s", v, ferr);
    }
    return 0;
}

static int set_listen(struct mock_config *c, const char *v, char *err, size_t errlen)
{
    if (c->nlisten >= MOCK_MAX_LISTEN) {
        return fail(err, errlen, "--listen: at most %d addresses", MOCK_MAX_LISTEN);
    }
    if (strlen(v) == 0 || strlen(v) >= sizeof(c->listen[0])) {
        return fail(err, errlen, "--listen '%s': not an IP address", v);
    }
    snprintf(c->listen[c->nlisten++], sizeof(c->listen[0]), "%s", v);
    return 0;
}

/* Numeric options: name, bounds, and where the value goes. */
struct num_opt {
    const char *name;
    double lo, hi;
    bool integer;
    size_t off; /* offsetof in struct mock_config */
    char type;  /* 'i' int, 'z' size_t, 'd' double, 'u' uint64 */
};

#define NUM(n, lo, hi, isint, field, t)                                                            \
    {                                                                                              \
        n, lo, hi, isint, offsetof(struct mock_config, field), t                                   \
    }
static const struct num_opt num_opts[] = {
    NUM("port", 0, 65535, true, port, 'i'),
    NUM("threads", 1, 256, true, threads, 'i'),
    NUM("backlog", 1, 1 << 20, true, backlog, 'i'),
    NUM("seed", 0, 9.2e18, true, seed, 'u'),
    NUM("rpm", 0, 1e12, false, rpm, 'd'),
    NUM("tpm", 0, 1e15, false, tpm, 'd'),
    NUM("max-running", 0, 1e7, true, max_running, 'i'),
    NUM("slowdown", 0, 1e6, false, slowdown, 'd'),
    NUM("scale", 0, 1e6, false, scale, 'd'),
    NUM("max-header-bytes", 256, 1 << 24, true, max_header_bytes, 'z'),
    NUM("max-body-bytes", 0, 1 << 30, true, max_body_bytes, 'z'),
    NUM("idle-timeout-ms", 1, 1e9, true, idle_timeout_ms, 'i'),
    NUM("grace-ms", 0, 1e9, true, grace_ms, 'i'),
    NUM("h2-max-streams", 0, 2147483647, true, h2_max_streams, 'i'),
    NUM("h2-goaway-after", 0, 1e9, true, h2_goaway_after, 'i'),
    NUM("h2-settings-after", 0, 1e9, true, h2_settings_after, 'i'),
    NUM("h2-settings-max", 0, 2147483647, true, h2_settings_max, 'i'),
    NUM("rtt-ms", 0, 60000, false, rtt_ms, 'd'),
};

static int set_num(struct mock_config *c, const struct num_opt *o, const char *v, char *err,
                   size_t errlen)
{
    char *base = (char *)c + o->off;
    if (o->type == 'u') {
        char *end;
        errno = 0;
        unsigned long long u = strtoull(v, &end, 0);
        if (errno != 0 || end == v || *end != '\0' || v[0] == '-') {
            return fail(err, errlen, "--%s '%s': not a non-negative integer", o->name, v);
        }
        *(uint64_t *)(void *)base = u;
        return 0;
    }
    double d = 0; /* set by whichever parser runs; gcc -O2 cannot see that the type */
    long l = 0;   /* follows o->integer (maybe-uninitialized in Release builds) */
    if (o->integer ? parse_long(v, (long)o->lo, (long)o->hi, &l) != 0
                   : parse_double(v, o->lo, o->hi, &d) != 0) {
        if (o->integer) { /* 2147483647, not 2.14748e+09 */
            return fail(err, errlen, "--%s '%s': want an integer in [%.0f, %.0f]", o->name, v,
                        o->lo, o->hi);
        }
        return fail(err, errlen, "--%s '%s': want a number in [%g, %g]", o->name, v, o->lo, o->hi);
    }
    if (o->type == 'i') {
        *(int *)(void *)base = (int)l;
    } else if (o->type == 'z') {
        *(size_t *)(void *)base = (size_t)l;
    } else {
        *(double *)(void *)base = d;
    }
    return 0;
}

static int file_apply(void *arg, const char *name, const char *v, char *err, size_t errlen);
static int apply_path(struct mock_config *c, const char *name, const char *v, char *err,
                      size_t errlen);

/* The flags without a value (--verbose ...): where each goes. */
static bool *flag_of(struct mock_config *c, const char *name)
{
    return strcmp(name, "verbose") == 0         ? &c->verbose
           : strcmp(name, "strict-models") == 0 ? &c->strict_models
           : strcmp(name, "no-memo") == 0       ? &c->no_memo
           : strcmp(name, "tls") == 0           ? &c->tls
           : strcmp(name, "eos") == 0           ? &c->profiles[0].eos
                                                : NULL;
}

/* The default profile's settings (--latency-ms, --ttft, ...). 0 or -1 as config_apply; 1 when
 * name is none of them. */
static int apply_default_profile(struct mock_profile *p, const char *name, const char *v, char *err,
                                 size_t errlen)
{
    double d;
    if (strcmp(name, "latency-ms") == 0) {
        if (parse_double(v, 0, 1e9, &d) != 0) {
            return fail(err, errlen, "--latency-ms '%s': want a number >= 0", v);
        }
        p->ttft = (struct mock_dist){MOCK_DIST_FIXED, d, d};
        p->itl = (struct mock_dist){MOCK_DIST_FIXED, 0, 0};
        return 0;
    } else if (strcmp(name, "ttft") == 0 || strcmp(name, "itl") == 0) {
        return set_dist(name[0] == 't' ? &p->ttft : &p->itl, name, v, err, errlen);
    } else if (strcmp(name, "reasoning-tokens") == 0) {
        return set_count(&p->reasoning, name, v, 0, err, errlen);
    } else if (strcmp(name, "chunk-tokens") == 0) {
        return set_count(&p->chunk, name, v, 1, err, errlen);
    } else if (strcmp(name, "tokens") == 0) {
        return set_count(&p->tokens, name, v, 1, err, errlen);
    } else if (strcmp(name, "prefill") == 0) {
        if (parse_double(v, 0, MOCK_PREFILL_MAX_MS, &d) != 0) {
            return fail(err, errlen, "--prefill '%s': want ms per prompt token in [0, %g]", v,
                        MOCK_PREFILL_MAX_MS);
        }
        p->prefill_ms = d;
        return 0;
    } else if (strcmp(name, "preset") == 0) {
        if (mock_profile_preset(v, p) != 0) {
            return fail(err, errlen, "--preset '%s': no such preset (see --help)", v);
        }
        return 0;
    }
    return 1;
}

/* One setting by its flag name and its value as text, from the command line or a config file
 * (a flag without a value takes "true" or "false" there). 0, or -1 with a reason in err. */
static int config_apply(struct mock_config *c, const char *name, const char *v, char *err,
                        size_t errlen)
{
    bool *flag = flag_of(c, name);
    double d;
    int rc;
    if (flag != NULL) {
        if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0) {
            return fail(err, errlen, "--%s: true or false in a config file", name);
        }
        *flag = v[0] == 't';
        return 0;
    }
    for (size_t i = 0; i < sizeof(num_opts) / sizeof(num_opts[0]); i++) {
        if (strcmp(name, num_opts[i].name) == 0) {
            c->h2_max_streams_given |= strcmp(name, "h2-max-streams") == 0;
            return set_num(c, &num_opts[i], v, err, errlen);
        }
    }
    if ((rc = apply_default_profile(&c->profiles[0], name, v, err, errlen)) != 1 ||
        (rc = apply_path(c, name, v, err, errlen)) != 1) {
        return rc;
    } else if (strcmp(name, "listen") == 0) {
        return set_listen(c, v, err, errlen);
    } else if (strcmp(name, "profile") == 0) {
        return add_profile(c, v, err, errlen);
    } else if (strcmp(name, "config") == 0) {
        return mock_config_file_read(v, file_apply, c, err, errlen);
    } else if (strcmp(name, "faults") == 0) {
        return set_faults(c, v, err, errlen);
    } else if (strcmp(name, "fault-rate") == 0) {
        if (parse_double(v, 0, 1, &d) != 0) {
            return fail(err, errlen, "--fault-rate '%s': want a number in [0, 1]", v);
        }
        c->faults.rate[MOCK_FAULT_429] = c->faults.rate[MOCK_FAULT_500] =
            c->faults.rate[MOCK_FAULT_503] = d / 3.0;
        return 0;
    } else if (strcmp(name, "model") == 0) {
        if (strcmp(v, "loop") != 0 && strcmp(v, "threads") != 0) {
            return fail(err, errlen, "--model '%s': want loop or threads", v);
        }
        c->model = v[0] == 'l' ? MOCK_MODEL_LOOP : MOCK_MODEL_THREADS;
        return 0;
    } else if (strcmp(name, "api-key") == 0) {
        if (strlen(v) == 0 || strlen(v) >= sizeof(c->api_key)) {
            return fail(err, errlen, "--api-key: want 1..%zu characters", sizeof(c->api_key) - 1);
        }
        snprintf(c->api_key, sizeof(c->api_key), "%s", v);
        return 0;
    }
    return fail(err, errlen, "unknown option '%s' (see --help)", name);
}

/* --cert, --key, --ca-out: a path into dst. 0, -1 with err, or 1 when name is none of them. */
static int apply_path(struct mock_config *c, const char *name, const char *v, char *err,
                      size_t errlen)
{
    char *dst = strcmp(name, "cert") == 0     ? c->tls_cert
                : strcmp(name, "key") == 0    ? c->tls_key
                : strcmp(name, "ca-out") == 0 ? c->tls_ca_out
                                              : NULL;
    if (dst == NULL) {
        return 1;
    }
    if (v[0] == '\0' || strlen(v) >= sizeof(c->tls_cert)) {
        return fail(err, errlen, "--%s: want a path of 1..%zu bytes", name,
                    sizeof(c->tls_cert) - 1);
    }
    snprintf(dst, sizeof(c->tls_cert), "%s", v);
    return 0;
}

/* What no single flag can check: flags that need one another, or the loop model. */
static int config_check(const struct mock_config *c, char *err, size_t errlen)
{
    if (c->model == MOCK_MODEL_THREADS && c->threads != 1) {
        return fail(err, errlen, "--threads N runs N event loops: it needs --model loop");
    }
    if (c->model == MOCK_MODEL_THREADS && c->rtt_ms > 0) {
        return fail(err, errlen, "--rtt-ms is emulated by the event loops: it needs --model loop");
    }
    if ((c->tls_cert[0] == '\0') != (c->tls_key[0] == '\0')) {
        return fail(err, errlen, "--cert and --key go together");
    }
    if (!c->tls && (c->tls_cert[0] != '\0' || c->tls_ca_out[0] != '\0')) {
        return fail(err, errlen, "--%s needs --tls", c->tls_cert[0] ? "cert" : "ca-out");
    }
    if (c->tls_cert[0] != '\0' && c->tls_ca_out[0] != '\0') {
        return fail(err, errlen, "--ca-out names where the throwaway CA goes: not with --cert");
    }
    /* Faults that would silently do nothing */
    if (c->h2_settings_max >= 0 && c->h2_settings_after == 0) {
        return fail(err, errlen,
                    "--h2-settings-max is what a SETTINGS change lowers the streams to: it needs "
                    "--h2-settings-after N (after N streams)");
    }
    /* The threads model serves HTTP/1.1 alone (ALPN offers nothing else): a stream limit
     * there would be accepted and never apply. */
    if (c->model == MOCK_MODEL_THREADS && c->h2_max_streams_given) {
        return fail(err, errlen,
                    "--h2-max-streams: HTTP/2 is served by the event loops: it needs --model loop");
    }
    if (c->model == MOCK_MODEL_THREADS && (c->h2_goaway_after > 0 || c->h2_settings_after > 0)) {
        return fail(err, errlen,
                    "--h2-%s is an HTTP/2 fault, and HTTP/2 is served by the event "
                    "loops: it needs --model loop",
                    c->h2_goaway_after > 0 ? "goaway-after" : "settings-after");
    }
    return 0;
}

/* A config file's setting (mock_config_file.h). */
static int file_apply(void *arg, const char *name, const char *v, char *err, size_t errlen)
{
    return config_apply(arg, name, v, err, errlen);
}

static const struct option long_opts[] = {
    {"listen", required_argument, 0, 0},
    {"port", required_argument, 0, 0},
    {"threads", required_argument, 0, 0},
    {"model", required_argument, 0, 0},
    {"seed", required_argument, 0, 0},
    {"latency-ms", required_argument, 0, 0},
    {"ttft", required_argument, 0, 0},
    {"itl", required_argument, 0, 0},
    {"tokens", required_argument, 0, 0},
    {"prefill", required_argument, 0, 0},
    {"preset", required_argument, 0, 0},
    {"eos", no_argument, 0, 'e'},
    {"reasoning-tokens", required_argument, 0, 0},
    {"chunk-tokens", required_argument, 0, 0},
    {"profile", required_argument, 0, 0},
    {"config", required_argument, 0, 0},
    {"faults", required_argument, 0, 0},
    {"fault-rate", required_argument, 0, 0},
    {"api-key", required_argument, 0, 0},
    {"rpm", required_argument, 0, 0},
    {"tpm", required_argument, 0, 0},
    {"max-running", required_argument, 0, 0},
    {"slowdown", required_argument, 0, 0},
    {"scale", required_argument, 0, 0},
    {"max-header-bytes", required_argument, 0, 0},
    {"max-body-bytes", required_argument, 0, 0},
    {"idle-timeout-ms", required_argument, 0, 0},
    {"grace-ms", required_argument, 0, 0},
    {"backlog", required_argument, 0, 0},
    {"strict-models", no_argument, 0, 's'},
    {"no-memo", no_argument, 0, 'm'},
    {"tls", no_argument, 0, 't'},
    {"cert", required_argument, 0, 0},
    {"key", required_argument, 0, 0},
    {"ca-out", required_argument, 0, 0},
    {"h2-max-streams", required_argument, 0, 0},
    {"h2-goaway-after", required_argument, 0, 0},
    {"h2-settings-after", required_argument, 0, 0},
    {"h2-settings-max", required_argument, 0, 0},
    {"rtt-ms", required_argument, 0, 0},
    {"verbose", no_argument, 0, 'v'},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

int mock_config_parse(struct mock_config *c, int argc, char **argv, char *err, size_t errlen)
{
    config_defaults(c);
    opterr = 0;
    optind = 1;
    for (;;) {
        int idx = -1;
        int ch = getopt_long(argc, argv, ":hv", long_opts, &idx);
        if (ch == -1) {
            break;
        }
        if (ch == 'h') {
            mock_config_usage(stdout);
            return 1;
        } else if (ch == 'v') {
            c->verbose = true;
        } else if (ch == 's') {
            c->strict_models = true;
        } else if (ch == 'm') {
            c->no_memo = true;
        } else if (ch == 't') {
            c->tls = true;
        } else if (ch == 'e') {
            c->profiles[0].eos = true;
        } else if (ch == 0) {
            if (config_apply(c, long_opts[idx].name, optarg, err, errlen) != 0) {
                return -1;
            }
        } else if (ch == ':') {
            return fail(err, errlen, "option '%s' needs a value (see --help)", argv[optind - 1]);
        } else {
            return fail(err, errlen, "unknown option '%s' (see --help)", argv[optind - 1]);
        }
    }
    if (optind < argc) {
        return fail(err, errlen, "unexpected argument '%s' (see --help)", argv[optind]);
    }
    if (config_check(c, err, errlen) != 0) {
        return -1;
    }
    if (c->h2_settings_max < 0) {
        c->h2_settings_max = 1;
    }
    if (c->nlisten == 0) {
        snprintf(c->listen[0], sizeof(c->listen[0]), "127.0.0.1");
        c->nlisten = 1;
    }
    return 0;
}
