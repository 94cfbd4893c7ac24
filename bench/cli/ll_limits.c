/* ll_limits.c - RLIMIT_NOFILE raise and the thread-limit line (ll_limits.h). */
#include "ll_limits.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "ll_stats.h"
#include "ll_sys.h"

static int64_t rlim64(rlim_t v)
{
    return v == RLIM_INFINITY ? -1 : (int64_t)v;
}

void ll_limits_raise_nofile(struct ll_nofile *out)
{
    struct rlimit rl;
    memset(out, 0, sizeof(*out));
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        out->err = errno;
        out->soft_before = out->soft = out->hard = 0;
        return;
    }
    out->soft_before = rlim64(rl.rlim_cur);
    if (rl.rlim_cur != rl.rlim_max) {
        rlim_t was = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            out->err = errno; /* e.g. an unlimited hard limit above fs.nr_open */
            rl.rlim_cur = was;
        }
    }
    out->soft = rlim64(rl.rlim_cur);
    out->hard = rlim64(rl.rlim_max);
}

static const char *num(char *buf, size_t n, long long v)
{
    if (v == -2) {
        snprintf(buf, n, "unlimited");
    } else if (v < 0) {
        snprintf(buf, n, "?");
    } else {
        snprintf(buf, n, "%lld", v);
    }
    return buf;
}

int ll_limits_threads_describe(char *buf, size_t n, size_t stack_size, int wanted)
{
    struct rlimit rl;
    long long soft = -1, hard = -1;
    char a[24], b[24], c[24], d[24], e[24];
    size_t stack = stack_size;
    pthread_attr_t attr;

    if (getrlimit(RLIMIT_NPROC, &rl) == 0) {
        soft = rl.rlim_cur == RLIM_INFINITY ? -2 : (long long)rl.rlim_cur;
        hard = rl.rlim_max == RLIM_INFINITY ? -2 : (long long)rl.rlim_max;
    }
    /* glibc's default stack for new threads (RLIMIT_STACK at start-up, or 8 MiB/2 MiB) */
    if (stack == 0 && pthread_getattr_default_np(&attr) == 0) {
        pthread_attr_getstacksize(&attr, &stack);
        pthread_attr_destroy(&attr);
    }
    int64_t avail, tmax, pmax;
    ll_sys_read_key("/proc/meminfo", "MemAvailable", &avail);
    ll_sys_read_num("/proc/sys/kernel/threads-max", &tmax);
    ll_sys_read_num("/proc/sys/kernel/pid_max", &pmax);
    int threads = ll_proc_threads();
    /* Stacks are address space: a finite RLIMIT_AS is often the wall that is met first. */
    char as[48] = "";
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        snprintf(as, sizeof(as), ", RLIMIT_AS %llu MiB", (unsigned long long)(rl.rlim_cur >> 20));
    }
    return snprintf(buf, n,
                    "RLIMIT_NPROC soft %s hard %s%s, threads-max %s, pid_max %s, %d thread%s in "
                    "this process, stack %zu KiB per thread (%s), %zu MiB of stacks for %d, "
                    "MemAvailable %s MiB%s",
                    num(a, sizeof(a), soft), num(b, sizeof(b), hard),
                    geteuid() == 0 ? " (not enforced for root)" : "", num(c, sizeof(c), tmax),
                    num(d, sizeof(d), pmax), threads, threads == 1 ? "" : "s", stack / 1024,
                    stack_size != 0 ? "--stack-size" : "default",
                    (stack >> 20) * (size_t)(wanted > 0 ? wanted : 0), wanted,
                    num(e, sizeof(e), avail < 0 ? -1 : avail / 1024), as);
}

static int open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL) {
        return 0;
    }
    while (readdir(d) != NULL) {
        n++;
    }
    closedir(d);
    return n > 2 ? n - 2 : 0; /* "." and ".." */
}

#define FD_RESERVE 32 /* stdio, the loop's own, the mock's pipe, curl's resolver... */

static int check_threads(const char *who, const struct ll_backend *be, const struct ll_config *cfg,
                         const struct ll_be_needs *n)
{
    struct rlimit rl;
    char why[160] = "", all[400];
    int64_t tasks, tmax, pmax, mine = ll_proc_threads();
    ll_sys_tasks(&tasks);
    ll_sys_read_num("/proc/sys/kernel/threads-max", &tmax);
    ll_sys_read_num("/proc/sys/kernel/pid_max", &pmax);
    size_t stack = n->stack_size;
    pthread_attr_t attr;
    if (stack == 0 && pthread_getattr_default_np(&attr) == 0) {
        pthread_attr_getstacksize(&attr, &stack);
        pthread_attr_destroy(&attr);
    }
    if (geteuid() != 0 && getrlimit(RLIMIT_NPROC, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        n->threads + mine > (long long)rl.rlim_cur) {
        snprintf(why, sizeof(why), "RLIMIT_NPROC %llu", (unsigned long long)rl.rlim_cur);
    } else if (tmax > 0 && tasks > 0 && n->threads + tasks > tmax) {
        snprintf(why, sizeof(why), "kernel.threads-max %lld with %lld tasks running",
                 (long long)tmax, (long long)tasks);
    } else if (pmax > 0 && tasks > 0 && n->threads + tasks > pmax) {
        snprintf(why, sizeof(why), "kernel.pid_max %lld with %lld tasks running", (long long)pmax,
                 (long long)tasks);
    } else if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
               (unsigned long long)n->threads * stack > (unsigned long long)rl.rlim_cur) {
        snprintf(why, sizeof(why), "RLIMIT_AS %llu MiB cannot hold %lld stacks of %zu KiB",
                 (unsigned long long)(rl.rlim_cur >> 20), (long long)n->threads, stack >> 10);
    }
    if (why[0] == '\0') {
        return 0;
    }
    ll_limits_threads_describe(all, sizeof(all), cfg->stack_size, (int)n->threads);
    fprintf(stderr,
            "%s: local limit met: threads (cannot start the %s backend with %lld threads, all or "
            "none: refused before starting, %s; %s)\n",
            who, be->name, (long long)n->threads, why, all);
    return LL_ELIMIT;
}

int ll_limits_check(const char *who, const struct ll_backend *be, const struct ll_config *cfg)
{
    struct ll_be_needs n;
    struct rlimit rl;
    ll_backend_needs(be, cfg, &n);
    if (n.threads > 0 && check_threads(who, be, cfg, &n) != 0) {
        return LL_ELIMIT;
    }
    long long fds = n.descriptors + open_fds() + FD_RESERVE;
    if (n.descriptors > 0 && getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        fds > (long long)rl.rlim_cur) {
        fprintf(stderr,
                "%s: local limit met: descriptors (--concurrency %d on the %s backend needs "
                "about %lld descriptors; RLIMIT_NOFILE soft %llu hard %llu allows %llu: raise it "
                "with ulimit -n, or lower --concurrency)\n",
                who, cfg->concurrency, be->name, fds, (unsigned long long)rl.rlim_cur,
                (unsigned long long)rl.rlim_max, (unsigned long long)rl.rlim_cur);
        return LL_ELIMIT;
    }
    int64_t avail_kb;
    ll_sys_read_key("/proc/meminfo", "MemAvailable", &avail_kb);
    if (avail_kb > 0 && n.bytes / 1024 > avail_kb) {
        fprintf(stderr,
                "%s: local limit met: memory (--concurrency %d on the %s backend needs about "
                "%lld MiB; MemAvailable %lld MiB: lower --concurrency)\n",
                who, cfg->concurrency, be->name, (long long)(n.bytes >> 20),
                (long long)avail_kb / 1024);
        return LL_ELIMIT;
    }
    return 0;
}
