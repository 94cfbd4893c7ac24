/* ll_arrivals.c - open-loop schedules and ramps (see ll_arrivals.h). */
#include "ll_arrivals.h"

#include <math.h>
#include <string.h>

#include "ll_clock.h"
#include "ll_err.h"
#include "ll_rand.h"

static const char *const names[] = {"constant", "poisson", "gamma", "trace"};

int ll_arrivals_parse(const char *name, enum ll_arrivals *out)
{
    for (int k = LL_ARRIVALS_CONSTANT; k < LL_ARRIVALS_TRACE; k++) {
        if (strcmp(name, names[k]) == 0) {
            *out = (enum ll_arrivals)k;
            return 0;
        }
    }
    return LL_EINVAL;
}

const char *ll_arrivals_name(enum ll_arrivals kind)
{
    return (unsigned)kind <= LL_ARRIVALS_TRACE ? names[kind] : "?";
}

double ll_arrivals_unit_gap(enum ll_arrivals kind, double burstiness, uint64_t *rng)
{
    switch (kind) {
    case LL_ARRIVALS_POISSON:
        return -log(ll_rand_unit(rng));
    case LL_ARRIVALS_GAMMA:
        return ll_rand_gamma(rng, burstiness) / burstiness;
    default:
        return 1.0;
    }
}

/* Seconds at which the expected count reaches `work` (the inverse of the ramp's curve). */
static double ramp_time_s(const struct ll_sched *s, double work)
{
    if (s->ramp_s <= 0) {
        return work / s->rate;
    }
    double during = s->rate * s->ramp_s / 2.0; /* expected requests inside the ramp */
    if (work < during) {
        return sqrt(2.0 * s->ramp_s * work / s->rate);
    }
    return s->ramp_s + (work - during) / s->rate;
}

int64_t ll_sched_next(struct ll_sched *s)
{
    double t;
    if (s->kind == LL_ARRIVALS_TRACE) {
        if (s->next >= s->n_times) {
            return LL_SCHED_NEVER;
        }
        t = (s->times_s[s->next] - s->times_s[0]) / s->speed;
    } else {
        if (s->rng == 0) {
            s->rng = 1;
        }
        t = ramp_time_s(s, s->work);
        s->work += ll_arrivals_unit_gap(s->kind, s->burstiness, &s->rng);
    }
    s->next++;
    double ns = t * (double)LL_NS_PER_S;
    return ns < (double)LL_SCHED_NEVER ? (int64_t)ns : LL_SCHED_NEVER;
}

uint64_t ll_ramp_window(int64_t ramp_ns, uint64_t c, int64_t elapsed_ns)
{
    if (ramp_ns <= 0 || elapsed_ns >= ramp_ns) {
        return c;
    }
    double w = floor((double)c * (double)(elapsed_ns < 0 ? 0 : elapsed_ns) / (double)ramp_ns) + 1;
    return w > (double)c ? c : (uint64_t)w;
}

int64_t ll_ramp_next_step(int64_t ramp_ns, uint64_t c, int64_t elapsed_ns)
{
    uint64_t w = ll_ramp_window(ramp_ns, c, elapsed_ns);
    if (w >= c) {
        return -1;
    }
    /* step w comes at w * ramp / c; the same arithmetic as ll_ramp_window decides, so step a
     * nanosecond on where rounding left the window one short */
    int64_t t = (int64_t)ceil((double)w * (double)ramp_ns / (double)c);
    while (t <= elapsed_ns || ll_ramp_window(ramp_ns, c, t) <= w) {
        t++;
    }
    return t;
}
