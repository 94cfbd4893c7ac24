/* mock_worker.c - a worker's caches (mock_worker.h). */
#include "mock_worker.h"

#include <string.h>

void mock_worker_init(struct mock_worker *w, struct mock_server *srv, int index,
                      struct mock_cap *cap, const atomic_bool *stopping)
{
    memset(w, 0, sizeof(*w));
    w->srv = srv;
    w->index = index;
    w->cap = cap;
    w->stopping = stopping;
    mock_memo_init(&w->memo, !srv->cfg->no_memo);
}

void mock_worker_free(struct mock_worker *w)
{
    mock_memo_free(&w->memo);
    mock_buf_free(&w->out);
    mock_buf_free(&w->body);
    mock_req_pool_free(&w->spares);
}
