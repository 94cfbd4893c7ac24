/* ll_walltime.c - wall-clock instants: RFC 3339 and epoch seconds in, RFC 3339 out. */
#include "ll_walltime.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "ll_clock.h"
#include "ll_err.h"

int64_t ll_walltime_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * LL_NS_PER_S + ts.tv_nsec;
}

int64_t ll_walltime_offset_ns(void)
{
    /* The wall clock read between two monotonic reads: the pair is as close as the narrower
     * bracket; three tries keep a preemption between the reads out of the figure. */
    int64_t best = 0, width = INT64_MAX;
    for (int i = 0; i < 3; i++) {
        int64_t m0 = ll_now_ns(), w = ll_walltime_now_ns(), m1 = ll_now_ns();
        if (m1 - m0 < width) {
            width = m1 - m0;
            best = w - (m0 + (m1 - m0) / 2);
        }
    }
    return best;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int64_t y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

/* Exactly `n` digits at *p into *out; advances *p. */
static bool digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i])) {
            return false;
        }
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

/* ".123456789..." (optional) to ns; digits past the ninth are dropped. */
static bool fraction(const char **p, int64_t *ns)
{
    int64_t scale = LL_NS_PER_S / 10;
    *ns = 0;
    if (**p != '.') {
        return true;
    }
    (*p)++;
    if (!isdigit((unsigned char)**p)) {
        return false;
    }
    for (; isdigit((unsigned char)**p); (*p)++) {
        *ns += scale * (**p - '0');
        scale /= 10;
    }
    return true;
}

static int parse_epoch(const char *p, int64_t *unix_ns)
{
    int64_t s = 0, frac;
    if (!isdigit((unsigned char)*p)) {
        return LL_EINVAL;
    }
    for (; isdigit((unsigned char)*p); p++) {
        if (s > (INT64_MAX / LL_NS_PER_S - 10) / 10) {
            return LL_EINVAL; /* past 2262 */
        }
        s = s * 10 + (*p - '0');
    }
    if (!fraction(&p, &frac) || *p != '\0') {
        return LL_EINVAL;
    }
    *unix_ns = s * LL_NS_PER_S + frac;
    return 0;
}

/* The zone: 'Z' or +HH:MM / -HH:MM, as seconds east of UTC. */
static bool zone(const char **p, int64_t *east_s)
{
    int hh, mm;
    char sign = **p;
    if (sign == 'Z' || sign == 'z') {
        (*p)++;
        *east_s = 0;
        return true;
    }
    if (sign != '+' && sign != '-') {
        return false;
    }
    (*p)++;
    if (!digits(p, 2, &hh) || **p != ':') {
        return false;
    }
    (*p)++;
    if (!digits(p, 2, &mm) || hh > 23 || mm > 59) {
        return false;
    }
    *east_s = (sign == '-' ? -1 : 1) * (hh * 3600 + mm * 60);
    return true;
}

int ll_walltime_parse(const char *text, int64_t *unix_ns)
{
    const char *p = text;
    int y, mo, d, h, mi, s;
    int64_t frac, east;
    if (text == NULL) {
        return LL_EINVAL;
    }
    if (!digits(&p, 4, &y) || *p != '-') {
        return parse_epoch(text, unix_ns); /* not a date: seconds since the epoch */
    }
    p++;
    if (!digits(&p, 2, &mo) || *p++ != '-' || !digits(&p, 2, &d) ||
        (*p != 'T' && *p != 't' && *p != ' ')) {
        return LL_EINVAL;
    }
    p++;
    if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi) || *p++ != ':' ||
        !digits(&p, 2, &s) || !fraction(&p, &frac) || !zone(&p, &east) || *p != '\0') {
        return LL_EINVAL;
    }
    /* 1970..2261: the epoch's instants that fit int64 ns; s == 60 is a leap second */
    if (y < 1970 || y > 2261 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
        mi > 59 || s > 60) {
        return LL_EINVAL;
    }
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - east;
    if (secs < 0) {
        return LL_EINVAL;
    }
    *unix_ns = secs * LL_NS_PER_S + frac;
    return 0;
}

char *ll_walltime_format(int64_t unix_ns, char *buf, size_t n)
{
    time_t secs = (time_t)(unix_ns / LL_NS_PER_S);
    long ns = (long)(unix_ns % LL_NS_PER_S);
    struct tm tm;
    if (ns < 0) {
        secs -= 1;
        ns += LL_NS_PER_S;
    }
    if (gmtime_r(&secs, &tm) == NULL) {
        snprintf(buf, n, "?");
        return buf;
    }
    snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ns);
    return buf;
}
