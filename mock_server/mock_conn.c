/* mock_conn.c - what both transports share (mock_conn.h): a new connection's common part, and
 * writing the rendered output. */
#include "mock_conn.h"

void mock_conn_init(struct mock_conn *c, const struct mock_transport *tp, struct mock_worker *w)
{
    c->tp = tp;
    c->w = w;
    c->out = &w->out;
    c->body = &w->body;
    mock_http_init(&c->http, c, &w->spares, w->srv->cfg);
}

bool mock_conn_flush(struct mock_conn *c, bool split)
{
    bool ok;
    if (c->out->oom) {
        c->tp->fail(c); /* never send a truncated answer */
        ok = false;
    } else if (split && c->out->len > 1) {
        size_t half = c->out->len / 2;
        ok =
            c->tp->send(c, c->out->p, half) && c->tp->send(c, c->out->p + half, c->out->len - half);
    } else {
        ok = c->tp->send(c, c->out->p, c->out->len);
    }
    mock_buf_clear(c->out);
    return ok;
}
