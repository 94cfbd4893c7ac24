/* mock_answer.c - what every answer shares (mock_answer.h): the status line and common
 * headers, complete answers and OpenAI-shaped errors, and the accounting when an answer ends. */
#include "mock_answer.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "mock_conn.h"

static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 413:
        return "Content Too Large";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return status < 500 ? "Client Error" : "Server Error";
    }
}

/* The worker's cached Date line, re-rendered when the wall clock enters a new second. time() is
 * answered by the vDSO, without a system call; the loop's own clock (uv_now) would not do, its
 * seconds do not start with the wall clock's and the Date would lag by up to one. */
static void date_line(struct mock_worker *w, struct mock_buf *o)
{
    time_t now = time(NULL);
    uint64_t sec = (uint64_t)now + 1; /* + 1: 0 means never rendered */
    if (sec != w->date_sec) {
        struct tm tm;
        size_t n =
            gmtime_r(&now, &tm) != NULL
                ? strftime(w->date, sizeof(w->date), "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm)
                : 0;
        w->date_len = n;
        w->date_sec = sec;
    }
    mock_buf_add(o, w->date, w->date_len);
}

void mock_answer_head(struct mock_req *r, struct mock_buf *o, int status, const char *ctype)
{
    /* Pieces, not printf: this runs for every answer. */
    mock_buf_lit(o, "HTTP/1.1 ");
    mock_buf_i64(o, status);
    mock_buf_lit(o, " ");
    mock_buf_adds(o, reason(status));
    mock_buf_lit(o, "\r\n");
    date_line(r->conn->w, o);
    mock_buf_lit(o, "Content-Type: ");
    mock_buf_adds(o, ctype);
    mock_buf_lit(o, "\r\n");
    if (mock_req_closes(r)) {
        mock_buf_lit(o, "Connection: close\r\n");
    } else if (r->http10) {
        mock_buf_lit(o, "Connection: keep-alive\r\n");
    }
}

static void duration(char *buf, size_t len, long long ms)
{
    if (ms < 1000) {
        snprintf(buf, len, "%lldms", ms);
    } else if (ms < 60000) {
        snprintf(buf, len, "%gs", (double)ms / 1000.0);
    } else {
        snprintf(buf, len, "%lldm%gs", ms / 60000, (double)(ms % 60000) / 1000.0);
    }
}

void mock_answer_rl_headers(struct mock_req *r, struct mock_buf *o)
{
    const struct mock_rl_info *i = &r->job.rl;
    char reset[32];
    if (!r->job.rl_headers) {
        return;
    }
    if (i->limit_requests >= 0) {
        duration(reset, sizeof(reset), (long long)i->reset_requests_ms);
        mock_buf_printf(o,
                        "x-ratelimit-limit-requests: %ld\r\nx-ratelimit-remaining-requests: "
                        "%ld\r\nx-ratelimit-reset-requests: %s\r\n",
                        i->limit_requests, i->remaining_requests, reset);
    }
    if (i->limit_tokens >= 0) {
        duration(reset, sizeof(reset), (long long)i->reset_tokens_ms);
        mock_buf_printf(o,
                        "x-ratelimit-limit-tokens: %ld\r\nx-ratelimit-remaining-tokens: "
                        "%ld\r\nx-ratelimit-reset-tokens: %s\r\n",
                        i->limit_tokens, i->remaining_tokens, reset);
    }
}

void mock_answer_respond(struct mock_req *r, int status, const char *ctype, const char *body,
                         size_t len, const char *extra)
{
    struct mock_conn *c = r->conn;
    mock_answer_head(r, c->out, status, ctype);
    mock_answer_rl_headers(r, c->out);
    mock_buf_lit(c->out, "Content-Length: ");
    mock_buf_u64(c->out, len);
    mock_buf_lit(c->out, "\r\n");
    if (extra != NULL) {
        mock_buf_adds(c->out, extra);
    }
    mock_buf_lit(c->out, "\r\n");
    if (r->method != HTTP_HEAD) {
        mock_buf_add(c->out, body, len);
    }
    mock_answer_finish(r, status, false);
}

static const char *error_type(int status)
{
    switch (status) {
    case 401:
        return "invalid_request_error";
    case 403:
        return "permission_error";
    case 429:
        return "rate_limit_error";
    default:
        return status >= 500 ? "server_error" : "invalid_request_error";
    }
}

void mock_answer_error(struct mock_req *r, int status, const char *msg, const char *param,
                       const char *code, const char *extra)
{
    struct mock_buf *b = mock_conn_scratch(r->conn);
    mock_buf_adds(b, "{\"error\":{\"message\":");
    mock_buf_json_str(b, msg, strlen(msg));
    mock_buf_lit(b, ",\"type\":\"");
    mock_buf_adds(b, error_type(status));
    mock_buf_lit(b, "\",\"param\":");
    if (param != NULL) {
        mock_buf_json_str(b, param, strlen(param));
    } else {
        mock_buf_adds(b, "null");
    }
    mock_buf_adds(b, ",\"code\":");
    if (code != NULL) {
        mock_buf_json_str(b, code, strlen(code));
    } else {
        mock_buf_adds(b, "null");
    }
    mock_buf_adds(b, "}}\n");
    if (b->oom) {
        mock_conn_close(r->conn);
        return;
    }
    mock_answer_respond(r, status, "application/json", b->p, b->len, extra);
}

void mock_answer_account(struct mock_req *r, int status)
{
    struct mock_job *j = &r->job;
    struct mock_worker *w = r->conn->w;
    if (j->accounted) {
        return;
    }
    j->accounted = true;
    r->status = status;
    if (j->release != NULL) {
        j->release(r); /* admission's capacity (mock_admit.c), which knows what r holds */
    }
    if (j->is_chat) {
        mock_metrics_request(&w->srv->metrics, w->index, j->model_idx, status);
    }
    if (j->in_flight) {
        mock_metrics_in_flight(&w->srv->metrics, w->index, -1);
        j->in_flight = false;
    }
    if (j->paced) { /* its connection closed while it waited for the client */
        mock_metrics_add_gauge(&mock_metrics_loop(&w->srv->metrics, w->index)->paced, -1);
        j->paced = false;
    }
    if (w->srv->cfg->verbose) {
        double ms = (double)((int64_t)uv_hrtime() - r->t_start_ns) / 1e6;
        fprintf(stderr, "mockllm[%d]: %s %s %d %.1f ms%s%s\n", w->index,
                http_method_str((enum http_method)r->method), r->url, status, ms,
                j->model[0] ? " model=" : "", j->model);
    }
}

void mock_answer_finish(struct mock_req *r, int status, bool split)
{
    mock_answer_account(r, status); /* before the bytes go: see mock_answer.h */
    if (mock_conn_flush(r->conn, split)) {
        mock_conn_done(r);
    }
}

void mock_answer_abort(struct mock_req *r)
{
    mock_answer_account(r, r->status);
}
