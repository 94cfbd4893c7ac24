/* ll_retry.c - retry policy, exponential backoff with full jitter, Retry-After parsing. */
#include "ll_retry.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ll_clock.h"

/* Longest wait we ever compute, so that a huge policy or header cannot overflow int64 ns. */
#define LL_RETRY_MAX_MS (INT64_MAX / LL_NS_PER_MS / 2)

void ll_retry_defaults(struct ll_retry_policy *p)
{
    p->max_attempts = 4;
    p->base_ms = 1000;
    p->factor = 2.0;
    p->cap_ms = 30000;
    p->jitter = true;
    p->honor_retry_after = true;
    p->max_retry_after_ms = 60000;
    p->max_retry_wait_ms = 60000;
}

bool ll_retry_retryable(enum ll_class cls, int status)
{
    (void)status; /* the class already says which status family it was */
    switch (cls) {
    case LL_CLASS_HTTP_429:
    case LL_CLASS_HTTP_5XX:
    case LL_CLASS_TIMEOUT:
    case LL_CLASS_CONNECT:
        return true;
    default:
        return false;
    }
}

uint64_t ll_rng_next(uint64_t *state)
{
    uint64_t x = *state;
    if (x == 0) {
        x = 0x9E3779B97F4A7C15ULL; /* xorshift has 0 as a fixed point: never stay there */
    }
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

int64_t ll_retry_backoff_ns(const struct ll_retry_policy *p, int failed, uint64_t *rng)
{
    if (failed < 1) {
        failed = 1;
    }
    double ms = (double)p->base_ms * pow(p->factor > 0 ? p->factor : 1.0, failed - 1);
    if (p->cap_ms > 0 && ms > (double)p->cap_ms) {
        ms = (double)p->cap_ms;
    }
    if (!(ms >= 0)) { /* negative base or NaN */
        ms = 0;
    }
    if (ms > (double)LL_RETRY_MAX_MS) {
        ms = (double)LL_RETRY_MAX_MS;
    }
    int64_t ns = (int64_t)(ms * (double)LL_NS_PER_MS);
    if (!p->jitter || ns == 0) {
        return ns;
    }
    /* Full jitter: uniform in [0, ns]; the modulo bias is below 2^-30 for any sane backoff. */
    return (int64_t)(ll_rng_next(rng) % ((uint64_t)ns + 1));
}

int64_t ll_retry_next_delay_ns(const struct ll_retry_policy *p, int attempts_made,
                               enum ll_class cls, int status, int64_t retry_after_ms, uint64_t *rng)
{
    bool partial_ok = cls == LL_CLASS_PARTIAL && p->retry_partial;
    if ((!ll_retry_retryable(cls, status) && !partial_ok) || attempts_made >= p->max_attempts) {
        return -1;
    }
    if (p->honor_retry_after && retry_after_ms >= 0) {
        int64_t ms = retry_after_ms;
        if (p->max_retry_after_ms >= 0 && ms > p->max_retry_after_ms) {
            ms = p->max_retry_after_ms;
        }
        if (ms > LL_RETRY_MAX_MS) {
            ms = LL_RETRY_MAX_MS;
        }
        return ms * LL_NS_PER_MS;
    }
    return ll_retry_backoff_ns(p, attempts_made, rng);
}

/* delta-seconds: digits, optionally a fraction (tolerated, some servers send "0.5"). */
static int parse_delta(const char *s, int64_t *out_ms)
{
    const char *q = s;
    while (isdigit((unsigned char)*q)) {
        q++;
    }
    if (*q == '.') {
        q++;
        while (isdigit((unsigned char)*q)) {
            q++;
        }
    }
    if (*q != '\0') {
        return LL_EINVAL;
    }
    double secs = strtod(s, NULL);
    double ms = secs * 1000.0;
    *out_ms = ms > (double)LL_RETRY_MAX_MS ? LL_RETRY_MAX_MS : (int64_t)(ms + 0.5);
    return 0;
}

/* HTTP-date in the three forms RFC 9110 section 5.6.7 requires a recipient to accept. */
static int parse_date(const char *s, time_t now, int64_t *out_ms)
{
    static const char *const formats[] = {
        "%a, %d %b %Y %H:%M:%S GMT", /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
        "%A, %d-%b-%y %H:%M:%S GMT", /* obsolete RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
        "%a %b %e %H:%M:%S %Y",      /* asctime: Sun Nov  6 08:49:37 1994 */
    };
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
        struct tm tm;
        memset(&tm, 0, sizeof(tm));
        const char *end = strptime(s, formats[i], &tm);
        if (end == NULL || *end != '\0') {
            continue;
        }
        if (i == 1) {
            /* RFC 9110: a two-digit year more than 50 years in the future means the most
             * recent past year with those digits. */
            struct tm now_tm;
            gmtime_r(&now, &now_tm);
            if (tm.tm_year > now_tm.tm_year + 50) {
                tm.tm_year -= 100;
            } else if (tm.tm_year + 100 <= now_tm.tm_year + 50) {
                tm.tm_year += 100;
            }
        }
        time_t t = timegm(&tm);
        if (t == (time_t)-1) {
            return LL_EINVAL;
        }
        double ms = difftime(t, now) * 1000.0;
        if (ms < 0) {
            ms = 0; /* a date in the past: retry at once */
        }
        *out_ms = ms > (double)LL_RETRY_MAX_MS ? LL_RETRY_MAX_MS : (int64_t)ms;
        return 0;
    }
    return LL_EINVAL;
}

int ll_retry_after_parse(const char *value, time_t now, int64_t *out_ms)
{
    char buf[64];
    if (value == NULL) {
        return LL_EINVAL;
    }
    while (isspace((unsigned char)*value)) {
        value++;
    }
    size_t len = strlen(value);
    while (len > 0 && isspace((unsigned char)value[len - 1])) {
        len--;
    }
    if (len == 0 || len >= sizeof(buf)) {
        return LL_EINVAL;
    }
    memcpy(buf, value, len);
    buf[len] = '\0';
    if (isdigit((unsigned char)buf[0])) {
        return parse_delta(buf, out_ms);
    }
    return parse_date(buf, now, out_ms);
}

int ll_retry_duration_parse(const char *value, int64_t *out_ms)
{
    static const struct {
        const char *unit;
        double ms;
    } units[] = {{"ms", 1.0},   {"us", 1e-3}, {"\xc2\xb5s", 1e-3}, {"ns", 1e-6},
                 {"h", 3600e3}, {"m", 60e3},  {"s", 1e3}};
    const char *s = value;
    double total = 0;
    bool value_had_unit = false;
    if (s == NULL) {
        return LL_EINVAL;
    }
    while (isspace((unsigned char)*s)) {
        s++;
    }
    if (*s == '\0') {
        return LL_EINVAL;
    }
    while (*s != '\0' && !isspace((unsigned char)*s)) {
        char *end;
        if (!isdigit((unsigned char)*s) && *s != '.') {
            return LL_EINVAL;
        }
        double v = strtod(s, &end);
        if (end == s || !(v >= 0)) {
            return LL_EINVAL;
        }
        s = end;
        size_t i = 0, n = sizeof(units) / sizeof(units[0]);
        while (i < n && strncmp(s, units[i].unit, strlen(units[i].unit)) != 0) {
            i++;
        }
        if (i == n) {
            if ((*s != '\0' && !isspace((unsigned char)*s)) || total > 0 || value_had_unit) {
                return LL_EINVAL; /* a bare number stands alone */
            }
            total += v * 1e3; /* a bare number: seconds */
            break;
        }
        total += v * units[i].ms;
        s += strlen(units[i].unit);
        value_had_unit = true;
    }
    while (isspace((unsigned char)*s)) {
        s++;
    }
    if (*s != '\0') {
        return LL_EINVAL;
    }
    double ms = ceil(total - 1e-9);
    *out_ms = ms > (double)LL_RETRY_MAX_MS ? LL_RETRY_MAX_MS : (int64_t)(ms < 0 ? 0 : ms);
    return 0;
}

void ll_retry_hints_clear(struct ll_retry_hints *h)
{
    h->after_ms = h->retry_after = h->reset_requests = h->reset_tokens = -1;
    h->remaining_requests = h->remaining_tokens = -1;
}

int64_t ll_retry_hint_pick(const struct ll_retry_hints *h, int status, const char **source)
{
    const char *src = NULL;
    int64_t ms = -1;
    if (h->after_ms >= 0) {
        ms = h->after_ms, src = "retry-after-ms";
    } else if (h->retry_after >= 0) {
        ms = h->retry_after, src = "Retry-After";
    } else if (status == 429) {
        bool req = h->reset_requests >= 0, tok = h->reset_tokens >= 0;
        bool req_out = req && h->remaining_requests == 0, tok_out = tok && h->remaining_tokens == 0;
        bool use_req = req_out != tok_out ? req_out /* the exhausted one */
                                          : req && (!tok || h->reset_requests >= h->reset_tokens);
        if (use_req) {
            ms = h->reset_requests, src = "x-ratelimit-reset-requests";
        } else if (tok) {
            ms = h->reset_tokens, src = "x-ratelimit-reset-tokens";
        }
    }
    if (source != NULL) {
        *source = src;
    }
    return ms;
}
