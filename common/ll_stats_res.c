/* ll_stats_res.c - the process's resources over a run: CPU and context switches (getrusage
 * deltas), RSS (one peak from /proc samples and the kernel's high-water mark), threads, and the
 * local limits a RESOURCE failure names. Linux /proc; a figure that cannot be read is -1. */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "ll_stats.h"
#include "ll_sys.h"

long ll_proc_rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, resident = -1;
    if (f == NULL) {
        return -1;
    }
    if (fscanf(f, "%ld %ld", &size, &resident) != 2) {
        resident = -1;
    }
    fclose(f);
    return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* A numeric field of /proc/self/status ("Threads", "VmHWM"), -1 when unknown. */
static long proc_status(const char *field)
{
    int64_t v;
    ll_sys_read_key("/proc/self/status", field, &v);
    return (long)v;
}

int ll_proc_threads(void)
{
    return (int)proc_status("Threads");
}

/* Reset the kernel's high-water mark of RSS (VmHWM) to the current RSS (Linux >= 4.0): what
 * it says afterwards is the peak since now. false when it cannot be (no /proc, not Linux). */
static bool hwm_reset(void)
{
    int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        return false;
    }
    bool ok = write(fd, "5", 1) == 1;
    close(fd);
    return ok;
}

static double tv_s(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static void res_limits(struct ll_resources *r)
{
    if (ll_sys_rlimit(RLIMIT_NOFILE, &r->nofile_soft, &r->nofile_hard) != 0) {
        r->nofile_soft = r->nofile_hard = 0;
    }
    r->ports_lo = r->ports_hi = -1;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f != NULL) {
        if (fscanf(f, "%d %d", &r->ports_lo, &r->ports_hi) != 2) {
            r->ports_lo = r->ports_hi = -1;
        }
        fclose(f);
    }
}

void ll_stats_res_base(struct ll_stats *s)
{
    s->res.rss_base_kb = ll_proc_rss_kb();
}

void ll_stats_res_begin(struct ll_stats *s)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    s->res.ru_user0 = tv_s(ru.ru_utime);
    s->res.ru_sys0 = tv_s(ru.ru_stime);
    s->res.ru_nvcsw0 = ru.ru_nvcsw;
    s->res.ru_nivcsw0 = ru.ru_nivcsw;
    s->res.hwm_reset = hwm_reset();
    s->res.rss_start_kb = ll_proc_rss_kb();
    s->res.threads_start = ll_proc_threads();
    ll_stats_res_sample(s);
    res_limits(&s->res);
}

enum ll_limit ll_stats_limit_met(const struct ll_stats *s)
{
    for (int l = LL_LIMIT_NONE + 1; l < LL_LIMIT__COUNT; l++) {
        if (s->by_limit[l] > 0) {
            return (enum ll_limit)l;
        }
    }
    for (int l = LL_LIMIT_NONE + 1; s->be.limit_hit != NULL && l < LL_LIMIT__COUNT; l++) {
        if (strcmp(s->be.limit_hit, ll_limit_name((enum ll_limit)l)) == 0) {
            return (enum ll_limit)l;
        }
    }
    return LL_LIMIT_NONE;
}

void ll_stats_res_sample(struct ll_stats *s)
{
    long rss = ll_proc_rss_kb();
    int threads = ll_proc_threads();
    if (rss >= 0) {
        s->res.rss_sum_kb += (double)rss;
        s->res.rss_samples++;
        if (rss > s->res.rss_sampled_kb) {
            s->res.rss_sampled_kb = rss;
        }
    }
    if (threads > s->res.threads_peak) {
        s->res.threads_peak = threads;
    }
}

void ll_stats_res_end(struct ll_stats *s)
{
    struct rusage ru;
    ll_stats_res_sample(s);
    getrusage(RUSAGE_SELF, &ru);
    s->res.cpu_user_s = tv_s(ru.ru_utime) - s->res.ru_user0;
    s->res.cpu_sys_s = tv_s(ru.ru_stime) - s->res.ru_sys0;
    s->res.nvcsw = ru.ru_nvcsw - s->res.ru_nvcsw0;
    s->res.nivcsw = ru.ru_nivcsw - s->res.ru_nivcsw0;
    /* One peak, from two sources that each miss some of it: the samples see RSS only every
     * tick, and Linux updates VmHWM lazily (from per-thread counters folded in now and then),
     * so either may be the higher. Without a reset, VmHWM (else ru_maxrss) covers the
     * process's whole life: still a bound the peak cannot be below. */
    long hwm = proc_status("VmHWM");
    s->res.hwm_kb = hwm >= 0 ? hwm : ru.ru_maxrss;
    s->res.hwm_reset = s->res.hwm_reset && hwm >= 0;
    s->res.rss_peak_kb =
        s->res.rss_sampled_kb > s->res.hwm_kb ? s->res.rss_sampled_kb : s->res.hwm_kb;
}
