/* ev_setup.c - the evented backend's multi handles and slots (ev_backend_int.h): how many
 * multis, which slot on which, the connection cap shared out among them; and the teardown. */
#include <stdlib.h>
#include <string.h>

#include "ev_backend.h"
#include "ev_backend_int.h"
#include "ll_err.h"

/* socket(2) through ll_xfer, which keeps its errno (curl alone would report an EMFILE as a
 * refused connection), and known to ev_curl as a connection socket (ev_curl_own_socket). */
static curl_socket_t ev__open_sock_cb(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct ev_slot *sl = arg;
    curl_socket_t fd = ll_xfer_open_socket(&sl->x, a);
    if (fd != CURL_SOCKET_BAD) {
        ev_curl_own_socket(sl->ec, fd);
    }
    return fd;
}

/* One multi's options. slots: its easy handles; conns: the connections it may open (0: any).
 * A multi keeps its own pool, so the backend's cap (cfg->max_connections) is shared out among
 * the multis, and each may then carry as many HTTP/2 streams per connection as the server
 * allows (its SETTINGS_MAX_CONCURRENT_STREAMS): curl's own limit, 100 by default, would
 * otherwise leave the streams beyond it waiting for a connection the cap does not give. */
static void ev__multi_options(CURLM *multi, int slots, int conns)
{
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)slots);
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
    /* HTTP/2 (--http 2): streams share a connection up to the server's concurrent-stream
     * limit, then curl opens another (curl 7.88's default too; said here, not assumed). */
    curl_multi_setopt(multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    if (conns > 0) {
        /* Over the cap a transfer waits in curl's pending list until a connection (or a
         * stream on one) frees up: curl moves one pending transfer on per transfer done. */
        curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)conns);
        curl_multi_setopt(multi, CURLMOPT_MAX_CONCURRENT_STREAMS,
                          (long)(slots > 100 ? slots : 100));
    }
}

/* The multi handle of slot i. Uncapped, blocks of per_ec slots: the free list hands out the
 * lowest slots first, so a light load stays on few multis and their warm pools. Under a cap
 * (cfg->max_connections) the slots are dealt out in turn instead, so that whatever the load,
 * the calls in flight spread evenly over the multis and their shares of the cap: in blocks, a
 * load below the slots would crowd the first multis' few connections, past the streams the
 * server allows on them, while the last multis' connections sat unused. */
static int ev__multi_of(const struct ev_be *be, int i)
{
    return be->cfg->max_connections > 0 ? i % be->n_ec : i / be->per_ec;
}

int ev__multis_for(const struct ll_config *cfg)
{
    int cap = cfg->max_connections;
    if (cap <= 0) {
        return (cfg->concurrency + EV_SLOTS_PER_MULTI - 1) / EV_SLOTS_PER_MULTI;
    }
    int n = (cfg->concurrency + EV_CAPPED_MIN_SLOTS - 1) / EV_CAPPED_MIN_SLOTS;
    return n < cap ? n : cap; /* each multi needs a connection */
}

static int ev__multis_init(struct ev_be *be)
{
    int cap = be->cfg->max_connections;
    be->n_ec = ev__multis_for(be->cfg);
    be->per_ec = (be->n_slots + be->n_ec - 1) / be->n_ec;
    be->ecs = calloc((size_t)be->n_ec, sizeof(*be->ecs));
    if (be->ecs == NULL) {
        return LL_ENOMEM;
    }
    for (int i = 0; i < be->n_ec; i++) {
        int err = ev_curl_init(&be->ecs[i], &be->loop, ev__done_cb, be);
        if (err != 0) {
            return err;
        }
        be->n_ec_ready++;
        be->ecs[i].conns = &be->conns;
        int slots = be->n_slots / be->n_ec + (i < be->n_slots % be->n_ec); /* dealt in turn */
        if (cap <= 0) {                                                    /* in blocks */
            slots = be->n_slots - i * be->per_ec;
            slots = slots < be->per_ec ? slots : be->per_ec;
        }
        int conns = cap > 0 ? cap / be->n_ec + (i < cap % be->n_ec) : 0;
        ev__multi_options(be->ecs[i].multi, slots, conns);
        /* HTTP/1.1 under the cap: a transfer at a time per connection, the rest waiting in
         * turn (ev_curl_set_limit). Over HTTP/2 the streams on a connection are the server's
         * to allow, and curl queues only what they do not take. */
        if (conns > 0 && be->cfg->http_version != LL_HTTP_2 &&
            (err = ev_curl_set_limit(&be->ecs[i], conns, slots)) != 0) {
            return err;
        }
    }
    be->share = curl_share_init();
    if (be->share == NULL ||
        curl_share_setopt(be->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
        return LL_ECURL;
    }
    return 0;
}

static int ev__slots_init(struct ev_be *be)
{
    be->slots = calloc((size_t)be->n_slots, sizeof(*be->slots));
    if (be->slots == NULL) {
        return LL_ENOMEM;
    }
    for (int i = be->n_slots - 1; i >= 0; i--) {
        struct ev_slot *sl = &be->slots[i];
        sl->be = be;
        sl->ec = &be->ecs[ev__multi_of(be, i)];
        uv_timer_init(&be->loop, &sl->backoff);
        sl->backoff.data = sl;
        sl->easy = curl_easy_init();
        if (sl->easy == NULL) {
            be->limit_hit = ll_limit_name(LL_LIMIT_MEMORY);
            return LL_ENOMEM;
        }
        /* Set once: ll_xfer_begin never resets the handle. */
        ev_curl_prepare_easy(sl->ec, sl->easy);
        curl_easy_setopt(sl->easy, CURLOPT_OPENSOCKETFUNCTION, ev__open_sock_cb);
        curl_easy_setopt(sl->easy, CURLOPT_OPENSOCKETDATA, (void *)sl);
        curl_easy_setopt(sl->easy, CURLOPT_SHARE, be->share);
        /* Cancel removes the handle from the multi itself, and a timer watches the limits
         * curl does not know; only the blocking pitfall runs curl_easy_perform, which needs
         * the progress callback for both. */
        sl->x.no_progress_cb = !be->cfg->blocking;
        sl->x.slot = (size_t)i; /* its base URL (ll_xfer.slot) */
        sl->next_free = be->free_slots;
        be->free_slots = sl;
    }
    return 0;
}

static void ev__close_walk_cb(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h)) {
        uv_close(h, NULL);
    }
}

void ev__teardown(struct ev_be *be)
{
    struct ev_destroy_report *r = &ev_last_destroy;

    memset(r, 0, sizeof(*r));
    for (int i = 0; be->slots != NULL && i < be->n_slots; i++) {
        curl_easy_cleanup(be->slots[i].easy); /* NULL is fine */
        ll_xfer_cleanup(&be->slots[i].x);
    }
    if (be->share != NULL) {
        curl_share_cleanup(be->share); /* after every easy handle that used it */
    }
    for (int i = 0; i < be->n_ec_ready; i++) {
        struct ev_curl *ec = &be->ecs[i];
        ev_curl_close(ec); /* pooled connections close here; the loop is still alive */
        r->polls_opened += ec->counts.polls_opened;
        r->kicks += ec->counts.kicks;
        r->timer_fires += ec->counts.timer_fires;
        r->stale_polls += ec->counts.stale_polls;
    }
    uv_walk(&be->loop, ev__close_walk_cb, NULL);
    while ((r->loop_close_rc = uv_loop_close(&be->loop)) == UV_EBUSY) {
        uv_run(&be->loop, UV_RUN_DEFAULT);
        r->loop_runs++;
    }
    for (int i = 0; i < be->n_ec_ready; i++) {
        r->polls_freed += be->ecs[i].counts.polls_freed;
    }
    free(be->ecs);
    free(be->slots);
    free(be);
    curl_global_cleanup();
}

int ev__setup(struct ev_be *be)
{
    int err = ev__multis_init(be);
    return err != 0 ? err : ev__slots_init(be);
}
