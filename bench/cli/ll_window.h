/* ll_window.h - the steady part of a long run: figures over a window [from, to] of time after the
 * run's start, which leaves out the ramp (an open loop at rate R with answers of length L holds
 * R x L in flight only from L on) and the drain after the last send.
 *
 * Over the window:
 *   in flight     time-weighted mean of the requests ON THE WIRE: the time each attempt ran
 *                 (ll_attempt start to end) that falls inside the window, summed, over its
 *                 length -- exact, from the results' own timestamps, whatever the driver's
 *                 turn-around; calls waiting for an in-flight slot count apart, as "queued"
 *   requests      those whose intended start fell inside: outcome by class and limit, latency
 *                 (e2e, corrected, ttft, itl); and those that ended inside (a rate)
 *   tokens        streamed tokens whose chunk arrived inside (usage where the server sent it)
 *   client        CPU (getrusage at both ends), RSS mean and peak, RSS per request in flight
 *                 (mean minus the RSS before the run, over the mean in flight), threads and
 *                 open descriptors at their peak (/proc/self/fd counted once a second)
 *   server        the same from /proc for a process beside us (--server-pid, or the embedded
 *                 mock), with its own RLIMIT_NOFILE: whose CPU, whose descriptors
 *
 * Driven by ll_drive on its thread: start when the run starts, tick on its cadence (it also
 * wakes at ll_window_next_due), fold every result as it is collected, end after the run.
 */
#ifndef LL_WINDOW_H
#define LL_WINDOW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <cJSON.h>

#include "ll_proc.h"
#include "ll_stats.h"

/* One process over the window. */
struct ll_window_proc {
    int pid;       /* 0 for ourselves */
    bool gone;     /* the process could not be read at some sample: it exited */
    double cpu0_s; /* CPU seconds at the window's start (server: /proc; us: getrusage) */
    double cpu_s;  /* used over the window */
    /* RSS before the run: set by the caller before it created the client (so that threads'
     * stacks and easy handles count), else read when the run starts. */
    long rss_run0_kb;
    long rss_peak_kb; /* inside the window */
    double rss_sum_kb;
    uint64_t rss_samples;
    int threads_peak, fds_peak;       /* inside the window */
    int64_t nofile_soft, nofile_hard; /* -1 unlimited */
    struct ll_proc_watch watch;       /* its stat and fd listing, kept open */
    int fds_own; /* descriptors of ours counted in it that the window holds, left out */
};

struct ll_window {
    int64_t from_ns, to_ns; /* after the run's start, as asked */
    /* Private. */
    int64_t a, b;           /* the window, absolute */
    int64_t t_begin, t_end; /* when the CPU was actually read at each end */
    bool begun, ended, truncated;
    int64_t next_sample, next_fds;
    double wire_ns, queued_ns; /* integrals over [a, b] */
    uint64_t ended_in, tokens, chunks;
    struct ll_stats started; /* requests whose intended start fell inside */
    struct ll_window_proc self, server;
    bool has_server;
    int cores;
};

/* Parse --window "FROM[:TO]" (durations as --duration takes them: 20, 20s, 500ms, 1m); TO
 * defaults to `send_s` (the end of sending, --duration; <= 0 when there is none). 0, or
 * LL_EINVAL with one phrase in *why (a static string). */
int ll_window_parse(const char *spec, double send_s, int64_t *from_ns, int64_t *to_ns,
                    const char **why);

/* from_ns < to_ns, both after the run's start; server_pid 0: none. 0 or LL_ENOMEM. */
int ll_window_init(struct ll_window *w, int64_t from_ns, int64_t to_ns, int server_pid);
void ll_window_free(struct ll_window *w);

/* The run starts at t0; `run` is its stats (res_begin done: the limits a failure names). */
void ll_window_start(struct ll_window *w, int64_t t0, const struct ll_stats *run);
/* When the driver should wake next for the window (a boundary or a sample), INT64_MAX: never. */
int64_t ll_window_next_due(const struct ll_window *w);
/* Boundaries and samples due by `now`. */
void ll_window_tick(struct ll_window *w, int64_t now);
/* Fold one final result (the caller still owns it). */
void ll_window_fold(struct ll_window *w, const struct ll_result *r, int64_t now);
/* The run is over at `now`: a window not yet ended ends here (truncated). */
void ll_window_end(struct ll_window *w, int64_t now);

/* Mean requests on the wire over the window. */
double ll_window_in_flight(const struct ll_window *w);

/* The figures as a new JSON object (NULL on allocation failure), owned by the caller. */
cJSON *ll_window_json(const struct ll_window *w);
/* A few lines for the text report. */
void ll_window_print(FILE *out, const struct ll_window *w);

#endif
