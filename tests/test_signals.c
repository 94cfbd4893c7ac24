/* test_signals.c - llmload under SIGINT, SIGTERM, SIGHUP and SIGKILL, sent from this program (a
 * shell's background jobs start with SIGINT ignored, which would hide the very faults looked
 * for) at many moments across start-up and the run, to every subcommand and both backends.
 *
 * Truths, per trial:
 *   - llmload ends within a bound (a signal lost while the mock or the threads start shows as
 *     a run that goes on: every workload here is endless);
 *   - once its handlers are installed (/proc/PID/status SigCgt, read just before the signal),
 *     it exits 128 + the first signal's number, never dies by it; before that (ld.so, libc
 *     start-up) the default action is the only possible end, and it is allowed;
 *   - it printed its summary and wrote its JSON with "interrupted": true (run, ab, demo) or its
 *     summary (batch) whenever it exited that way;
 *   - no mockllm outlives it: this process is a child subreaper (PR_SET_CHILD_SUBREAPER), so a
 *     mock orphaned by llmload is reparented here and seen; each must be gone within 3 s;
 *   - SIGKILL, which no handler sees, also takes the mock with it (PR_SET_PDEATHSIG) and, over
 *     --tls, the CA file the mock wrote.
 * Needs LL_LLMLOAD and LL_MOCKLLM (set by ctest). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>
#include <cmocka.h>

#define EXIT_BOUND_MS   60000 /* a loaded machine, ASan: generous; an endless run never meets it */
#define ORPHAN_BOUND_MS 3000

static char g_dir[64];
static const char *g_llmload;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void path_of(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", g_dir, name);
}

/* fork + exec llmload with stdout and stderr to files, every signal at its default and
 * unblocked (as from an interactive shell, not a background job). */
static pid_t spawn(const char *const *args)
{
    char out[128], err[128];
    const char *argv[40];
    size_t n = 0;
    argv[n++] = g_llmload;
    for (size_t i = 0; args[i] != NULL && n < 38; i++) {
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    path_of(out, sizeof(out), "stdout");
    path_of(err, sizeof(err), "stderr");
    pid_t pid = fork();
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0) {
            _exit(126);
        }
        execv(g_llmload, (char *const *)argv);
        _exit(127);
    }
    assert_true(pid > 0);
    return pid;
}

/* Wait for pid's end up to bound_ms; on timeout kill it and return -1. */
static int wait_exit(pid_t pid, int bound_ms, int *status)
{
    int64_t end = now_ms() + bound_ms;
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid) {
            return 0;
        }
        if (now_ms() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, status, 0);
            return -1;
        }
        sleep_us(2000);
    }
}

/* Children of ours other than the llmload just reaped: orphans of it, reparented here. */
static int kill_children(void)
{
    char path[64];
    int n = 0;
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        int p = atoi(e->d_name), ppid = 0;
        FILE *f;
        snprintf(path, sizeof(path), "/proc/%d/stat", p);
        if (p > 0 && (f = fopen(path, "r")) != NULL) {
            if (fscanf(f, "%*d %*s %*c %d", &ppid) == 1 && ppid == (int)getpid()) {
                n++;
                kill(p, SIGKILL);
            }
            fclose(f);
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    while (waitpid(-1, NULL, 0) > 0) {
    }
    return n;
}

/* Reap what llmload left for up to ORPHAN_BOUND_MS; return how many were still alive then
 * (they are killed). A mock killed with its parent is reaped here at once. */
static int orphans_alive(void)
{
    int64_t end = now_ms() + ORPHAN_BOUND_MS;
    for (;;) {
        pid_t r = waitpid(-1, NULL, WNOHANG);
        if (r < 0 && errno == ECHILD) {
            return 0;
        }
        if (r == 0 && now_ms() > end) {
            return kill_children();
        }
        if (r == 0) {
            sleep_us(5000);
        }
    }
}

/* Is `sig` caught by pid (its handler installed)? From /proc/PID/status SigCgt. */
static bool caught_by(pid_t pid, int sig)
{
    char path[64], line[256];
    unsigned long long mask = 0;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return false;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "SigCgt: %llx", &mask) == 1) {
            break;
        }
    }
    fclose(f);
    return (mask >> (sig - 1)) & 1;
}

static char *slurp(const char *name)
{
    char path[128];
    path_of(path, sizeof(path), name);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return NULL;
    }
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* The JSON at name has a true "interrupted" at `where` ("run" object, or top level). */
static bool json_interrupted(const char *name, const char *where)
{
    char *text = slurp(name);
    cJSON *doc = text != NULL ? cJSON_Parse(text) : NULL;
    const cJSON *o = where != NULL ? cJSON_GetObjectItem(doc, where) : doc;
    bool yes = cJSON_IsTrue(cJSON_GetObjectItem(o, "interrupted"));
    cJSON_Delete(doc);
    free(text);
    return yes;
}

enum check { CHECK_RUN, CHECK_BATCH, CHECK_AB, CHECK_DEMO };

struct subcmd {
    const char *label;
    const char *args[24];
    enum check check;
    const char *json; /* file name in g_dir, or NULL */
};

static void fail_trial(const struct subcmd *c, long delay_us, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    char *err = slurp("stderr");
    print_error("%s, signal after %ld us: %s\nstderr: %s\n", c->label, delay_us, msg,
                err != NULL ? err : "");
    free(err);
    fail();
}

/* One trial: start, wait delay_us (from the moment llmload's handler is installed when
 * from_handler, else from the exec), send sig (twice when `twice`), check the end. Returns 1
 * when llmload ended through its handler, 0 when it died by the signal before installing it. */
static int trial(const struct subcmd *c, long delay_us, int sig, bool twice, bool from_handler)
{
    char path[128];
    int status = 0;
    if (c->json != NULL) {
        path_of(path, sizeof(path), c->json);
        unlink(path);
    }
    path_of(path, sizeof(path), "b.jsonl");
    unlink(path);
    pid_t pid = spawn(c->args);
    /* llmload installs its three handlers at once, first thing in main: SIGTERM's stands for
     * all of them (a SIGINT set to SIG_IGN for a while must show as a lost signal, not as a
     * handler not yet installed). */
    if (from_handler) {
        int64_t end = now_ms() + 10000;
        while (!caught_by(pid, SIGTERM) && now_ms() < end) {
            sleep_us(100);
        }
    }
    sleep_us(delay_us);
    bool handled = caught_by(pid, SIGTERM);
    if (waitpid(pid, &status, WNOHANG) == pid) {
        fail_trial(c, delay_us, "ended before the signal (status %d)", status);
    }
    kill(pid, sig);
    if (twice) {
        sleep_us(1000 + delay_us % 5000);
        handled = handled || caught_by(pid, SIGTERM);
        kill(pid, sig);
    }
    if (wait_exit(pid, EXIT_BOUND_MS, &status) != 0) {
        fail_trial(c, delay_us, "still running %d ms after the signal", EXIT_BOUND_MS);
    }
    int left = orphans_alive();
    if (left != 0) {
        fail_trial(c, delay_us, "%d mockllm outlived llmload", left);
    }
    if (WIFSIGNALED(status)) {
        if (handled || WTERMSIG(status) != sig) {
            fail_trial(c, delay_us, "killed by signal %d with the handler installed",
                       WTERMSIG(status));
        }
        return 0;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 128 + sig) {
        fail_trial(c, delay_us, "exit %d, want %d", WEXITSTATUS(status), 128 + sig);
    }
    char *out = slurp("stdout");
    bool summary = out != NULL && ((c->check == CHECK_RUN && strstr(out, "accounting") != NULL) ||
                                   (c->check == CHECK_BATCH && strstr(out, "\ndone ") != NULL) ||
                                   c->check == CHECK_AB || c->check == CHECK_DEMO);
    free(out);
    if (!summary) {
        fail_trial(c, delay_us, "no summary on stdout");
    }
    if (c->json != NULL && !json_interrupted(c->json, c->check == CHECK_RUN ? "run" : NULL)) {
        fail_trial(c, delay_us, "%s lacks \"interrupted\": true", c->json);
    }
    return 1;
}

/* Moments across start-up (exec, handlers, mock start, 1,000 threads or connections, the
 * first requests) and into the run, in microseconds. */
static const long delays_us[] = {0,     300,   1000,  2000,   4000,   7000,   12000,
                                 20000, 35000, 60000, 100000, 160000, 250000, 400000};

static void sweep(const struct subcmd *c)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGINT, SIGHUP};
    static const long raw_us[] = {0, 1000, 3000, 10000};
    int n = (int)(sizeof(delays_us) / sizeof(delays_us[0])), handled = 0;
    /* From the exec: the handler may not be there yet; no hang, no orphan either way. */
    for (size_t i = 0; i < sizeof(raw_us) / sizeof(raw_us[0]); i++) {
        trial(c, raw_us[i], sigs[i % 4], false, false);
    }
    /* From the handler on, across the mock's start, the client's and the run: every trial
     * must end through it, with its summary and JSON. */
    for (int i = 0; i < n; i++) {
        handled += trial(c, delays_us[i], sigs[i % 4], i % 4 == 2, true);
    }
    assert_int_equal(handled, n);
}

static struct subcmd g_run[2], g_run_tls, g_batch, g_ab, g_demo;

static void test_signals_run_threaded(void **state)
{
    (void)state;
    sweep(&g_run[0]);
}

static void test_signals_run_evented(void **state)
{
    (void)state;
    sweep(&g_run[1]);
}

static void test_signals_batch(void **state)
{
    (void)state;
    sweep(&g_batch);
}

static void test_signals_ab(void **state)
{
    (void)state;
    sweep(&g_ab);
}

static void test_signals_demo(void **state)
{
    (void)state;
    sweep(&g_demo);
}

/* pid's child named mockllm, or 0. */
static pid_t mock_child(pid_t pid)
{
    char path[96], comm[64];
    snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
    FILE *f = fopen(path, "r");
    int child = 0;
    pid_t found = 0;
    while (f != NULL && fscanf(f, "%d", &child) == 1) {
        snprintf(path, sizeof(path), "/proc/%d/comm", child);
        FILE *g = fopen(path, "r");
        if (g != NULL && fgets(comm, sizeof(comm), g) != NULL && strncmp(comm, "mockllm", 7) == 0) {
            found = child;
        }
        if (g != NULL) {
            fclose(g);
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    return found;
}

/* SIGKILL, which llmload never sees: its mock must die with it. */
static void kill9(const struct subcmd *c)
{
    pid_t pid = spawn(c->args), mock = 0;
    int status;
    int64_t end = now_ms() + 20000;
    while ((mock = mock_child(pid)) == 0 && now_ms() < end) {
        sleep_us(5000);
    }
    assert_true(mock > 0);
    sleep_us(100000); /* into the run */
    kill(pid, SIGKILL);
    assert_int_equal(wait_exit(pid, EXIT_BOUND_MS, &status), 0);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    int left = orphans_alive();
    if (left != 0) {
        print_error("%s: mockllm %d outlived a SIGKILLed llmload\n", c->label, (int)mock);
    }
    assert_int_equal(left, 0);
    /* nor its throwaway CA file (--tls): a SIGKILL from the kernel left it in /tmp */
    char ca[256];
    const char *tmp = getenv("TMPDIR");
    snprintf(ca, sizeof(ca), "%s/mockllm-ca-%d.pem", tmp && tmp[0] ? tmp : "/tmp", (int)mock);
    if (access(ca, F_OK) == 0) {
        unlink(ca);
        fail_msg("%s: a SIGKILLed llmload's mock left %s behind", c->label, ca);
    }
}

static void test_signals_sigkill_leaves_no_mock(void **state)
{
    (void)state;
    kill9(&g_run[0]);
    kill9(&g_run[1]);
    kill9(&g_run_tls);
    kill9(&g_batch);
    kill9(&g_demo);
}

static void write_prompts(void)
{
    char path[128];
    path_of(path, sizeof(path), "in.jsonl");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 5000; i++) {
        fprintf(f, "{\"id\": %d, \"prompt\": \"question %d\"}\n", i, i);
    }
    fclose(f);
}

static void setup_cmds(void)
{
    static char json_arg[128], in_arg[128], out_arg[128], ab_json[128], demo_json[128];
    path_of(json_arg, sizeof(json_arg), "r.json");
    path_of(in_arg, sizeof(in_arg), "in.jsonl");
    path_of(out_arg, sizeof(out_arg), "b.jsonl");
    path_of(ab_json, sizeof(ab_json), "ab.json");
    path_of(demo_json, sizeof(demo_json), "demo.json");
    static const char *be[2] = {"threaded", "evented"};
    for (int i = 0; i < 2; i++) {
        g_run[i] = (struct subcmd){
            .label = i == 0 ? "run threaded" : "run evented",
            .args = {"run", "--backend", be[i], "-n", "100000000", "-c", "1000", "--latency-ms",
                     "50", "--json", json_arg, NULL},
            .check = CHECK_RUN,
            .json = "r.json",
        };
    }
    g_run_tls = (struct subcmd){
        .label = "run evented --tls",
        .args = {"run", "--backend", "evented", "--tls", "-n", "100000000", "-c", "100",
                 "--latency-ms", "50", NULL},
        .check = CHECK_RUN,
    };
    g_batch = (struct subcmd){
        .label = "batch",
        .args = {"batch", "--in", in_arg, "--out", out_arg, "--concurrency", "50",
                 "--mock-arg=--latency-ms=200", NULL},
        .check = CHECK_BATCH,
    };
    /* ab's answers: 5,000 tokens at the names' 4-16 ms per token, far longer than any delay. */
    g_ab = (struct subcmd){
        .label = "ab",
        .args = {"ab", "--models", "a,b,c", "--max-tokens", "5000", "--json", ab_json, NULL},
        .check = CHECK_AB,
        .json = "ab.json",
    };
    g_demo = (struct subcmd){
        .label = "demo",
        .args = {"demo", "basics", "--backend", "both", "--json", demo_json, NULL},
        .check = CHECK_DEMO,
        .json = "demo.json",
    };
}

int main(void)
{
    g_llmload = getenv("LL_LLMLOAD");
    if (g_llmload == NULL || getenv("LL_MOCKLLM") == NULL) {
        fprintf(stderr, "test_signals: set LL_LLMLOAD and LL_MOCKLLM\n");
        return 1;
    }
    snprintf(g_dir, sizeof(g_dir), "/tmp/test_signals.XXXXXX");
    if (mkdtemp(g_dir) == NULL || prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
        perror("test_signals");
        return 1;
    }
    write_prompts();
    setup_cmds();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signals_run_threaded),
        cmocka_unit_test(test_signals_run_evented),
        cmocka_unit_test(test_signals_batch),
        cmocka_unit_test(test_signals_ab),
        cmocka_unit_test(test_signals_demo),
        cmocka_unit_test(test_signals_sigkill_leaves_no_mock),
    };
    if (getenv("LL_TEST_FILTER") != NULL) {
        cmocka_set_test_filter(getenv("LL_TEST_FILTER")); /* e.g. "*sigkill*" */
    }
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "test_signals: could not remove %s\n", g_dir);
    }
    return rc;
}
