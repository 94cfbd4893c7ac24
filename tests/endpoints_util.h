/* endpoints_util.h - what tests/test_endpoints.c and tests/test_endpoints_wire.c share: the
 * backend from the cmocka prestate, a client config for one scripted server, and a tally of a
 * run of calls. static inline: each test program takes what it uses. */
#ifndef ENDPOINTS_UTIL_H
#define ENDPOINTS_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <cmocka.h>

#include "hostile_server.h"
#include "ll_backend.h"
#include "ll_client.h"

static const struct ll_message hello[] __attribute__((unused)) = {{"user", "Say hello."}};

/* What one batch of calls came to. */
struct tally {
    int ok, failed, attempts_max, resends, connects;
    enum ll_class first_cls;
    char first_err[160];
    int64_t backoff_waits;
};

static inline const struct ll_backend *backend(void **state)
{
    const struct ll_backend *be = ll_backend_find((const char *)*state);
    assert_non_null(be);
    return be;
}

static inline void config(struct ll_config *cfg, const char **urls, struct hs_server *hs)
{
    ll_config_defaults(cfg);
    urls[0] = hs_url(hs);
    cfg->base_urls = urls;
    cfg->n_base_urls = 1;
    cfg->concurrency = 1;
    cfg->timeout_ms = 10000;
}

static inline void tally_add(struct tally *t, const struct ll_call *call)
{
    const struct ll_result *r = &call->res;
    if (r->cls == LL_CLASS_NONE) {
        t->ok++;
    } else if (t->failed++ == 0) {
        t->first_cls = r->cls;
        snprintf(t->first_err, sizeof(t->first_err), "%s", r->errmsg);
    }
    t->attempts_max = r->attempts > t->attempts_max ? r->attempts : t->attempts_max;
    t->resends += r->resends;
    t->connects += r->connects;
}

/* n requests one after another (gap_ms apart), each waited for. */
static inline struct tally run_serial(const struct ll_backend *be, const struct ll_config *cfg,
                                      int n, int gap_ms, bool stream)
{
    struct tally t = {0};
    struct ll_client *c = NULL;
    struct ll_be_stats bs;
    assert_int_equal(ll_client_create(be, cfg, &c), 0);
    for (int i = 0; i < n; i++) {
        struct ll_request req = {
            .messages = hello, .n_messages = 1, .max_tokens = 4, .stream = stream};
        struct ll_call *call = NULL;
        assert_int_equal(ll_client_submit(c, &req, &call), 0);
        assert_int_equal(ll_client_wait(c, call), 0);
        tally_add(&t, call);
        ll_call_free(call);
        if (gap_ms > 0) {
            struct timespec ts = {0, gap_ms * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    ll_client_sample(c, &bs);
    t.backoff_waits = (int64_t)bs.backoff_waits;
    ll_client_destroy(c);
    return t;
}

#endif
