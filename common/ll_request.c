/* ll_request.c - configuration defaults and result ownership. */
#include "ll_request.h"

#include <stdlib.h>
#include <string.h>

#include "ll_signal.h"

void ll_config_defaults(struct ll_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->default_model = "gpt-mock";
    cfg->concurrency = 10;
    ll_retry_defaults(&cfg->retry);
    cfg->connect_timeout_ms = 10000;
    cfg->ttfb_timeout_ms = 600000; /* as the OpenAI SDKs' read timeout: a long generation */
    cfg->idle_timeout_ms = 300000;
    cfg->timeout_ms = 0;
    cfg->verify_tls = true;
    cfg->seed = 1;
    cfg->stop = ll_signal_flag(); /* NULL unless the program installed the handlers */
}

void ll_result_free(struct ll_result *res)
{
    free(res->content);
    res->content = NULL;
    res->content_len = 0;
    free(res->chunk);
    res->chunk = NULL;
    res->n_chunks = 0;
    res->cap_chunks = 0;
}
