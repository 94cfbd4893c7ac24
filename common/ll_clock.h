/* ll_clock.h - monotonic time in nanoseconds. The only clock used for measuring. */
#ifndef LL_CLOCK_H
#define LL_CLOCK_H

#include <stdint.h>
#include <time.h>

#define LL_NS_PER_US 1000LL
#define LL_NS_PER_MS 1000000LL
#define LL_NS_PER_S  1000000000LL

/* CLOCK_MONOTONIC in ns. Thread-safe, never goes back. */
static inline int64_t ll_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * LL_NS_PER_S + ts.tv_nsec;
}

/* Absolute CLOCK_MONOTONIC deadline as a timespec (for pthread_cond_timedwait, clock_nanosleep). */
static inline struct timespec ll_ns_to_timespec(int64_t ns)
{
    struct timespec ts = {.tv_sec = ns / LL_NS_PER_S, .tv_nsec = ns % LL_NS_PER_S};
    return ts;
}

#endif
