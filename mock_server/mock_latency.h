/* mock_latency.h - latency models and per-model profiles.
 *
 * A distribution is given on the command line or in the config file as:
 *     "100"              fixed 100 ms        (same as "fixed:100")
 *     "uniform:50,150"   uniform in [50, 150] ms
 *     "lognormal:100,400" long tail: median 100 ms, p99 400 ms (mu = ln p50,
 *                         sigma = (ln p99 - ln p50) / 2.326)
 * A profile is a model name with its time to first token (and its growth with the prompt:
 * prefill), time per further output token, output length, reasoning tokens, tokens per chunk
 * and fault rates:
 *     --profile 'name=gpt-mock,ttft=lognormal:200,800,itl=uniform:10,30,tokens=64'
 *     --profile 'name=thinker,ttft=50,itl=10,reasoning_tokens=uniform:20,60,chunk_tokens=4'
 *     --profile 'name=served,preset=realistic,itl=lognormal:15,50'
 * A preset is a named set of these keys that looks like a served model (mock_profile_preset).
 */
#ifndef MOCK_LATENCY_H
#define MOCK_LATENCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mock_fault.h"
#include "mock_rng.h"

enum mock_dist_kind { MOCK_DIST_FIXED, MOCK_DIST_UNIFORM, MOCK_DIST_LOGNORMAL };

struct mock_dist {
    enum mock_dist_kind kind;
    double a, b; /* fixed: a; uniform: [a, b]; lognormal: p50 = a, p99 = b (ms) */
};

/* Parse a distribution spec (above). 0, or -1 with a one-line reason in err[errlen] (out is then
 * untouched). Values are ms in [0, 3600000]; lognormal needs 0 < p50 <= p99, uniform lo <= hi. */
int mock_dist_parse(const char *spec, struct mock_dist *out, char *err, size_t errlen);
/* Draw in ms, in [0, 3600000] (the lognormal tail is cut there so a draw always fits a timer).
 * Scaled by `scale` (the --scale factor, 1.0 = as given). Fixed draws nothing from r, uniform
 * one unit draw, lognormal one normal (two unit draws). Pure: any thread, own rng. */
double mock_dist_sample_ms(const struct mock_dist *d, struct mock_rng *r, double scale);
/* Render back to the spec syntax, for --help output and /v1/models. */
void mock_dist_format(const struct mock_dist *d, char *buf, size_t len);

/* Counts of tokens (reasoning tokens, tokens per chunk) take the same syntax in whole tokens:
 *     "4"                 fixed 4
 *     "uniform:2,6"       each whole number from 2 to 6 equally likely
 *     "lognormal:40,400"  median 40, p99 400, rounded to the nearest whole number
 * mock_count_parse: fixed and uniform values must be whole numbers in [lo, hi], lognormal's
 * p50 and p99 in (0, hi]. 0, or -1 with a one-line reason in err (out then untouched). */
#define MOCK_COUNT_MAX 1000000
int mock_count_parse(const char *spec, int lo, int hi, struct mock_dist *out, char *err,
                     size_t errlen);
/* Draw a count, clamped to [lo, hi]. Fixed draws nothing from r, uniform one unit draw,
 * lognormal one normal (two unit draws). Pure: any thread, own rng. */
int mock_count_sample(const struct mock_dist *d, struct mock_rng *r, int lo, int hi);
/* A fixed count of v: no draw at all. */
static inline bool mock_count_is_fixed(const struct mock_dist *d, double v)
{
    return d->kind == MOCK_DIST_FIXED && d->a == v;
}

#define MOCK_MODEL_NAME_MAX 64

struct mock_profile {
    char name[MOCK_MODEL_NAME_MAX];
    struct mock_dist ttft; /* request arrival (or slot start) to first token */
    double prefill_ms;     /* added to the TTFT per prompt token (the prefill), >= 0 */
    struct mock_dist itl;  /* each further output token */
    /* Output tokens (a count): the answer's natural length, drawn per request. Without eos,
     * max_tokens, when sent, is the answer's length instead (exact lengths for benchmarks);
     * with eos the model stops at its natural length and max_tokens only caps it, as a served
     * model does. min_tokens raises the natural length; ignore_eos makes it max_tokens. */
    struct mock_dist tokens;
    bool eos;
    /* Reasoning tokens before the content (a count, default 0), streamed as
     * delta.reasoning_content, and tokens per SSE chunk (a count >= 1, default 1). */
    struct mock_dist reasoning, chunk;
    bool has_faults; /* faults below override the global rates */
    struct mock_fault_rates faults;
};

/* Parse "name=...,preset=NAME,ttft=...,prefill=MS,itl=...,tokens=COUNT,eos=yes|no,
 * reasoning_tokens=COUNT,chunk_tokens=COUNT[,fault keys as in mock_fault_parse]". Distribution
 * specs contain commas, so a key's value runs until the next ",key=". Keys apply in order (a
 * preset first, then keys that change it). name is required (1..63 bytes of letters, digits and
 * . _ - : / @ +); keys not given default to (mock_profile_defaults) ttft=0, prefill=0 (0..1000
 * ms), itl=0, tokens=MOCK_PROFILE_DEFAULT_TOKENS (a count in 1..1000000), eos=no,
 * reasoning_tokens=0 (0..1000000), chunk_tokens=1 (1..1000000) and no faults. Any fault key sets
 * has_faults, and the profile's rates then start from mock_fault_rates_init (no faults), not the
 * global rates. 0, or -1 with a one-line reason in err (out is then untouched). */
#define MOCK_PROFILE_DEFAULT_TOKENS 16
#define MOCK_PREFILL_MAX_MS         1000.0
void mock_profile_defaults(struct mock_profile *p);
int mock_profile_parse(const char *spec, struct mock_profile *out, char *err, size_t errlen);

/* Presets: named profiles that look like a served model (lognormal TTFT growing with the
 * prompt, lognormal ITL, natural output lengths that stop at EOS). Their numbers are shapes
 * typical of published serving benchmarks, not a measurement of any one server.
 * mock_profile_preset applies preset `name` to p (its name and faults untouched): 0, or -1 when
 * there is no such preset. mock_preset_list writes one line per preset ("  NAME  keys") to buf,
 * for --help. */
int mock_profile_preset(const char *name, struct mock_profile *p);
void mock_preset_list(char *buf, size_t len);

/* The time to first token of a request with `prompt_tokens` under p: a draw of p->ttft plus
 * prompt_tokens x p->prefill_ms, times scale, in [0, 3600000] ms. Draws what mock_dist_sample_ms
 * draws. Pure: any thread, own rng. */
double mock__profile_ttft_prefill(const struct mock_profile *p, long prompt_tokens,
                                  struct mock_rng *r, double scale);
static inline double mock_profile_ttft_ms(const struct mock_profile *p, long prompt_tokens,
                                          struct mock_rng *r, double scale)
{
    /* Inline: it runs for every request, and without prefill it is the plain draw. */
    return p->prefill_ms == 0.0 ? mock_dist_sample_ms(&p->ttft, r, scale)
                                : mock__profile_ttft_prefill(p, prompt_tokens, r, scale);
}

#endif
