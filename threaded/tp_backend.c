/* tp_backend.c - the threaded backend: a pthread pool, one blocking curl_easy_perform per worker.
 *
 * The pool (tp_pool.c) does the work; this file only adapts it to struct ll_backend. The opaque
 * struct ll_be of this backend is a struct tp_pool.
 */
#include "ll_backend.h"
#include "tp_pool.h"

static int tp__create(const struct ll_config *cfg, struct ll_be **out)
{
    struct tp_pool *p = NULL;
    /* A worker holds its own connection (libcurl shares none between threads): a cap below
     * the workers cannot be kept (the driver refuses it first, ll_netopts_check_backend). */
    if (cfg->max_connections > 0 && cfg->max_connections < cfg->concurrency) {
        *out = NULL;
        return LL_EINVAL;
    }
    int err = tp_pool_create(cfg, &p);

    *out = (struct ll_be *)p;
    return err;
}

static int tp__submit(struct ll_be *be, struct ll_call *call)
{
    return tp_pool_submit((struct tp_pool *)be, call);
}

static int tp__poll(struct ll_be *be, int64_t timeout_ns, struct ll_call **done)
{
    return tp_pool_poll((struct tp_pool *)be, timeout_ns, done);
}

static void tp__cancel(struct ll_be *be, struct ll_call *call)
{
    tp_pool_cancel((struct tp_pool *)be, call);
}

static void tp__reset_stats(struct ll_be *be)
{
    tp_pool_reset_stats((struct tp_pool *)be);
}

static void tp__sample(struct ll_be *be, struct ll_be_stats *out)
{
    tp_pool_sample((struct tp_pool *)be, out);
}

/* One thread per call in flight. Each holds its socket plus the socket pair libcurl 7.88's
 * easy interface keeps for its wake-up (3 descriptors, counted in /proc/PID/fd at 100 and
 * 1,000 in flight), and ~40 KiB resident (RSS per in flight of `llmload run`, same runs). */
static void tp__needs(const struct ll_config *cfg, struct ll_be_needs *out)
{
    out->threads = cfg->concurrency;
    out->descriptors = 3 * (int64_t)cfg->concurrency;
    out->bytes = 48 * 1024 * (int64_t)cfg->concurrency;
    out->stack_size = cfg->stack_size;
}

static void tp__destroy(struct ll_be *be)
{
    tp_pool_destroy((struct tp_pool *)be);
}

const struct ll_backend tp_backend = {
    .name = "threaded",
    .descr = "pthread pool, one blocking curl_easy_perform per worker (--concurrency threads)",
    .caps = LL_CAP_STACK_SIZE,
    .create = tp__create,
    .submit = tp__submit,
    .poll = tp__poll,
    .cancel = tp__cancel,
    .needs = tp__needs,
    .sample = tp__sample,
    .reset_stats = tp__reset_stats,
    .destroy = tp__destroy,
};
