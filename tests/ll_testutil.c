/* ll_testutil.c - see ll_testutil.h. */
#include "ll_testutil.h"

#include <fnmatch.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "ll_clock.h"
#include "ll_proc.h"
#include "ll_sys.h"

static const struct ll_message hello[] = {{"user", "Say hello."}};

double ll_test_ms_since(int64_t t0)
{
    return (double)(ll_now_ns() - t0) / LL_NS_PER_MS;
}

void ll_test_config_mock(struct ll_config *cfg, const char **urls, const char *base_url)
{
    urls[0] = base_url;
    ll_config_defaults(cfg);
    cfg->base_urls = urls;
    cfg->n_base_urls = 1;
    cfg->concurrency = 4;
    cfg->timeout_ms = 10000;
    cfg->retry.max_attempts = 1;
}

void ll_test_config_closed(struct ll_config *cfg)
{
    static const char *const urls[1] = {"http://127.0.0.1:9/v1"};
    ll_config_defaults(cfg);
    cfg->base_urls = urls;
    cfg->n_base_urls = 1;
}

int ll_test_fixture_setup(void **state)
{
    struct ll_test_fixture *f = calloc(1, sizeof(*f));
    if (f == NULL || ll_mockproc_start(&f->mock, NULL, NULL, 10000) != 0) {
        fprintf(stderr, "cannot start mockllm at %s\n", ll_mockproc_path());
        free(f);
        return -1;
    }
    ll_test_config_mock(&f->cfg, f->urls, f->mock.base_url);
    *state = f;
    return 0;
}

int ll_test_fixture_teardown(void **state)
{
    struct ll_test_fixture *f = *state;
    if (f->client != NULL) {
        ll_client_destroy(f->client);
    }
    int rc = ll_mockproc_stop(&f->mock, 5000);
    free(f);
    return rc == 0 ? 0 : -1;
}

void ll_test_client_start(struct ll_test_fixture *f, const struct ll_backend *be)
{
    assert_int_equal(ll_client_create(be, &f->cfg, &f->client), 0);
}

struct ll_call *ll_test_submit(struct ll_test_fixture *f, const char *h0, const char *h1,
                               const char *h2)
{
    const char *hdrs[3] = {h0, h1, h2};
    size_t n = 0;
    while (n < 3 && hdrs[n] != NULL) {
        n++;
    }
    struct ll_request req = {
        .messages = hello, .n_messages = 1, .max_tokens = 8, .headers = hdrs, .n_headers = n};
    struct ll_call *call = NULL;
    assert_int_equal(ll_client_submit(f->client, &req, &call), 0);
    assert_non_null(call);
    return call;
}

int ll_test_fd_count(pid_t pid)
{
    return ll_proc_fds((int)pid);
}

long ll_test_status(pid_t pid, const char *key)
{
    char path[64];
    int64_t v;
    if (pid == 0) {
        snprintf(path, sizeof(path), "/proc/self/status");
    } else {
        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    }
    ll_sys_read_key(path, key, &v);
    return (long)v;
}

long ll_test_rss_kb(pid_t pid)
{
    return ll_test_status(pid, "VmRSS");
}

char *ll_test_http(const char *host, int port, const char *path, bool post)
{
    char url[160], *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    CURL *easy = curl_easy_init();
    if (mem == NULL || easy == NULL) {
        if (mem != NULL) {
            fclose(mem);
        }
        free(text);
        curl_easy_cleanup(easy);
        return NULL;
    }
    snprintf(url, sizeof(url), "http://%s:%d%s", host, port, path);
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, mem);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 10000L);
    if (post) {
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, "");
    }
    CURLcode rc = curl_easy_perform(easy);
    curl_easy_cleanup(easy);
    fclose(mem);
    if (rc != CURLE_OK) {
        free(text);
        return NULL;
    }
    return text;
}

char *ll_test_metrics_get(const char *host, int port)
{
    return ll_test_http(host, port, "/metrics", false);
}

long long ll_test_metric_sum(const char *text, const char *name, const char *label_filter)
{
    size_t nl = strlen(name);
    long long sum = 0;
    int found = 0;
    for (const char *line = text; line != NULL && *line != '\0';) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        if (strncmp(line, name, nl) == 0 && (line[nl] == ' ' || line[nl] == '{')) {
            const char *v = line + nl;
            const char *close = line[nl] == '{' ? memchr(line, '}', len) : NULL;
            if (close != NULL) {
                size_t ll = (size_t)(close - v);
                v = close + 1;
                if (label_filter != NULL) {
                    char labels[512];
                    snprintf(labels, sizeof(labels), "%.*s", (int)ll, line + nl);
                    if (strstr(labels, label_filter) == NULL) {
                        line = eol ? eol + 1 : NULL;
                        continue;
                    }
                }
            } else if (label_filter != NULL) {
                line = eol ? eol + 1 : NULL;
                continue;
            }
            sum += strtoll(v, NULL, 10);
            found = 1;
        }
        line = eol ? eol + 1 : NULL;
    }
    return found ? sum : -1;
}

long long ll_test_metric_first(const char *text, const char *name)
{
    size_t nl = strlen(name);
    for (const char *line = text; line != NULL && *line != '\0';) {
        if (strncmp(line, name, nl) == 0 && (line[nl] == ' ' || line[nl] == '{')) {
            const char *sp = strchr(line, ' ');
            return sp != NULL ? (long long)strtod(sp + 1, NULL) : -1;
        }
        line = strchr(line, '\n');
        line = line != NULL ? line + 1 : NULL;
    }
    return -1;
}

long long ll_test_mock_metric(const struct ll_mockproc *m, const char *name)
{
    char *text = ll_test_metrics_get(m->host, m->port);
    long long v = ll_test_metric_first(text, name);
    free(text);
    return v;
}

const char *ll_test_mock_model(void)
{
    const char *m = getenv("LL_MOCK_MODEL");
    return m != NULL && m[0] != '\0' ? m : "loop";
}

const char *ll_test_mock_group(const char *base)
{
    static char name[128];
    snprintf(name, sizeof(name), "%.64s (--model %.32s)", base, ll_test_mock_model());
    return name;
}

int ll_test_mock_start(struct ll_mockproc *m, const char *const *args, int timeout_ms)
{
    const char *argv[32] = {"--model", ll_test_mock_model()};
    size_t n = 2;
    for (size_t i = 0; args != NULL && args[i] != NULL && n < 31; i++) {
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    return ll_mockproc_start(m, NULL, argv, timeout_ms);
}

long long ll_test_progress_until(struct ll_client *c, const struct ll_mockproc *m, const char *name,
                                 long long want, int timeout_ms)
{
    int64_t until = ll_now_ns() + (int64_t)timeout_ms * LL_NS_PER_MS;
    long long v = ll_test_mock_metric(m, name);
    while (v < want && ll_now_ns() < until) {
        ll_client_progress(c, 5 * LL_NS_PER_MS);
        v = ll_test_mock_metric(m, name);
    }
    return v;
}

int ll_test_srv_start(struct ll_test_srv *s, const char *script)
{
    const char *path = getenv("LL_SCRIPTSRV");
    memset(s, 0, sizeof(*s));
    s->proc.pid = -1;
    snprintf(s->log, sizeof(s->log), "/tmp/ll_scriptsrv.XXXXXX");
    int fd = mkstemp(s->log);
    if (fd < 0 || path == NULL) {
        fprintf(stderr, "cannot start ll_scriptsrv: %s\n",
                path == NULL ? "LL_SCRIPTSRV is not set" : "no temporary file");
        if (fd >= 0) {
            close(fd);
            unlink(s->log);
        }
        return -1;
    }
    close(fd);
    const char *args[] = {"--log", s->log, "--script", script, NULL};
    if (ll_mockproc_start(&s->proc, path, args, 10000) != 0) {
        fprintf(stderr, "cannot start %s\n", path);
        unlink(s->log);
        return -1;
    }
    return 0;
}

int ll_test_srv_stop(struct ll_test_srv *s)
{
    int rc = ll_mockproc_stop(&s->proc, 5000);
    if (s->log[0] != '\0') {
        unlink(s->log);
        s->log[0] = '\0';
    }
    return rc == 0 ? 0 : -1;
}

int ll_test_srv_arrivals(const struct ll_test_srv *s, struct ll_test_arrival *out, int max)
{
    FILE *f = fopen(s->log, "r");
    char line[512];
    int n = 0;
    while (f != NULL && n < max && fgets(line, sizeof(line), f) != NULL) {
        struct ll_test_arrival a;
        int stream = 0;
        if (sscanf(line, "%lf request conn=%d n=%d %*s %*s stream=%d auth=%127[^\n]", &a.t_ms,
                   &a.conn, &a.n, &stream, a.auth) == 5) {
            a.stream = stream != 0;
            out[n++] = a;
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    return n;
}

int ll_test_srv_count(const struct ll_test_srv *s, const char *event)
{
    FILE *f = fopen(s->log, "r");
    char line[512], ev[32];
    int n = 0;
    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        n += sscanf(line, "%*f %31s", ev) == 1 && strcmp(ev, event) == 0;
    }
    fclose(f);
    return n;
}

double ll_test_srv_eof_ms(const struct ll_test_srv *s, int conn)
{
    FILE *f = fopen(s->log, "r");
    char line[512];
    double t = -1, at;
    int c;
    while (f != NULL && t < 0 && fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "%lf eof conn=%d", &at, &c) == 2 && c == conn) {
            t = at;
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    return t;
}

static int skipped;

void ll_test__skipped(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "SKIPPED: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    skipped++;
}

#define LL_TEST_MAX_PATTERNS 16
static const char *only[LL_TEST_MAX_PATTERNS], *except[LL_TEST_MAX_PATTERNS];
static int n_only, n_except;

void ll_test_args(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--only") == 0 && n_only < LL_TEST_MAX_PATTERNS) {
            only[n_only++] = argv[++i];
        } else if (strcmp(argv[i], "--except") == 0 && n_except < LL_TEST_MAX_PATTERNS) {
            except[n_except++] = argv[++i];
        }
    }
}

static bool any_match(const char *const *pats, int n, const char *name)
{
    for (int i = 0; i < n; i++) {
        if (fnmatch(pats[i], name, 0) == 0) {
            return true;
        }
    }
    return false;
}

int ll_test_run_group(const char *name, struct CMUnitTest *tests, size_t n, int (*setup)(void **),
                      int (*teardown)(void **))
{
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if ((n_only == 0 || any_match(only, n_only, tests[i].name)) &&
            !any_match(except, n_except, tests[i].name)) {
            tests[kept++] = tests[i];
        }
    }
    return kept == 0 ? 0 : _cmocka_run_group_tests(name, tests, kept, setup, teardown);
}

int ll_test_exit_code(int failed)
{
    if (failed != 0) {
        return 1;
    }
    return skipped > 0 ? LL_TEST_SKIPPED : 0;
}
