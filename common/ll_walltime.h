/* ll_walltime.h - wall-clock instants, for what several hosts must agree on: a common start
 * (--start-at) and the anchors that put each host's run on one timeline when results merge.
 *
 * Measuring never uses this clock (ll_clock.h is monotonic); an instant read here is converted
 * to the monotonic clock once, at the start of a run, and every figure is taken on that. Hosts
 * are assumed to keep their wall clocks in step (NTP, chrony: typically well under a
 * millisecond apart on one network), and merged figures are only as aligned as the clocks.
 *
 * Instants are int64 nanoseconds since the Unix epoch, UTC (good until the year 2262). Pure
 * functions apart from ll_walltime_now_ns; any thread.
 */
#ifndef LL_WALLTIME_H
#define LL_WALLTIME_H

#include <stddef.h>
#include <stdint.h>

/* CLOCK_REALTIME in ns since the epoch. */
int64_t ll_walltime_now_ns(void);

/* Parse an instant: RFC 3339 with a zone ("2026-11-25T14:03:09Z", "2026-11-25T15:03:09.5+01:00",
 * 't' or a space for 'T', 'z' for 'Z'; fractions to the nanosecond, further digits dropped), or
 * seconds since the epoch ("1764079389", "1764079389.25"). The whole string must be consumed.
 * 0 or LL_EINVAL (a date that does not exist, a missing zone, a value out of range). */
int ll_walltime_parse(const char *text, int64_t *unix_ns);

/* "2026-11-25T14:03:09.123456789Z" (always nine fraction digits, UTC) into buf, which should
 * hold LL_WALLTIME_LEN bytes. Returns buf. */
#define LL_WALLTIME_LEN 40
char *ll_walltime_format(int64_t unix_ns, char *buf, size_t n);

/* The wall-clock minus the monotonic clock now, ns: add it to an ll_now_ns() time to place that
 * moment on the wall clock. Read both clocks as close together as the kernel allows. */
int64_t ll_walltime_offset_ns(void);

#endif
