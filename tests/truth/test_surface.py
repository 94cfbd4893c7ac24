"""test_surface.py - what a new user met first, on both backends, against truths from outside
llmload (ll_scriptsrv's log, mockllm's summary, the wall clock of this process).

  empty stream   a 200 whose stream carries no output (only 'data: [DONE]', or a role chunk, a
                 finish chunk and usage of 0 tokens) fails as protocol, 'stream carried no
                 output', and fails an error-rate threshold; the same answer not streamed (empty
                 content, finish_reason stop) is the server's answer: a success, in run, batch
                 and ab alike
  compare        error_rate and goodput_share thresholds bound the change B-A in points, so a
                 clean baseline compares (the ratio of error rates was undefined at 0: a
                 clean run against itself FAILED 'not measured'); a bare number is refused
  retry policy   --retry-base 100ms --no-retry-jitter: ll_scriptsrv sees the retries 100 and 200
                 ms after the attempts before them; --retry-cap 150ms caps the second; batch and
                 ab take the same flags
  interrupt      SIGINT with 5 s requests out: llmload exits within ~1 s (it waited ~2 s for the
                 embedded mock's grace period), and the mock still printed its summary
  --quiet        nothing on a terminal: no progress line, no 'mockllm:' lines
  max_tokens     the JSON says null when none is sent (the text says 'not sent'), not 0
  --version      the version and git commit every --json document carries
  endpoint URL   --url .../v1/chat/completions posts to /v1/chat/completions, not to
                 /v1/chat/completions/chat/completions (run, batch, ab)
"""
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from truthlib import (BACKENDS, TMP, ScriptSrv, check, finish, jget, llmload, need_binaries,  # noqa
                      note, on_pty, run_json, scaled, LLMLOAD, MOCKLLM, SCRIPTSRV)


def batch_in(name, n):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        for i in range(n):
            f.write(json.dumps({"id": "r%d" % i, "prompt": "hello %d" % i}) + "\n")
    out = path + ".out"
    if os.path.exists(out):
        os.unlink(out)
    return path, out


def empty_stream(be):
    for step in ("done", "empty"):
        srv = ScriptSrv(step)
        r, doc = run_json(["--backend", be, "--url", srv.base_url, "--no-preflight", "-n", "3",
                           "-c", "1", "--stream", "--threshold", "error_rate<1%"])
        req = jget(doc, "results.requests", {})
        note("%s %s streamed: exit %d, by class %s" % (be, step, r.rc, req.get("by_class")))
        check(req.get("succeeded") == 0 and jget(doc, "results.requests.by_class.protocol") == 3,
              "%s %s: a stream with no output counted %s succeeded, want 3 protocol failures" %
              (be, step, req.get("succeeded")))
        check(r.rc == 1 and "stream carried no output" in r.err,
              "%s %s: exit %d, want 1 with 'stream carried no output': %s" %
              (be, step, r.rc, r.err[-300:]))
        check(jget(doc, "thresholds") and not doc["thresholds"][0]["ok"],
              "%s %s: error_rate<1%% passed on a run of empty streams" % (be, step))
        r, doc = run_json(["--backend", be, "--url", srv.base_url, "--no-preflight", "-n", "3",
                           "-c", "1"])
        check(r.rc == 0 and jget(doc, "results.requests.succeeded") == 3,
              "%s %s not streamed: exit %d, succeeded %s: an empty message with finish_reason "
              "stop is the server's answer" % (be, step, r.rc,
                                               jget(doc, "results.requests.succeeded")))
        inp, out = batch_in("empty-%s-%s.jsonl" % (be, step), 2)
        r = llmload(["batch", "--backend", be, "--url", srv.base_url, "--in", inp, "--out", out])
        lines = [json.loads(x) for x in open(out)] if os.path.exists(out) else []
        check(r.rc == 0 and len(lines) == 2 and all(x.get("ok") for x in lines),
              "%s %s batch: exit %d, %s: want 2 ok (batch does not stream)" % (be, step, r.rc,
                                                                              lines))
        r = llmload(["ab", "--backend", be, "--url", srv.base_url, "--models", "a,b"])
        check(r.rc == 0, "%s %s ab: exit %d: %s" % (be, step, r.rc, r.err[-300:]))
        srv.stop()


def compare(be):
    a, da = run_json(["--backend", be, "-n", "40", "-c", "4", "--latency-ms", "5"])
    b, db = run_json(["--backend", be, "-n", "40", "-c", "4", "--latency-ms", "5",
                      "--fault-rate", "0.3", "--retries", "0", "--seed", "5"])
    if not check(da is not None and db is not None, "%s compare: runs failed" % be):
        return
    pa, pb = [os.path.join(TMP, "cmp-%s-%s.json" % (be, x)) for x in "ab"]
    json.dump(da, open(pa, "w"))
    json.dump(db, open(pb, "w"))
    ea, eb = jget(da, "results.requests.error_share"), jget(db, "results.requests.error_share")
    r = llmload(["compare", pa, pa, "--threshold", "error_rate<=0%"])
    check(r.rc == 0, "%s compare A A 'error_rate<=0%%': exit %d, want 0 (no change): %s" %
          (be, r.rc, r.out[-200:]))
    cj = os.path.join(TMP, "cmp-%s.json" % be)
    r = llmload(["compare", pa, pb, "--threshold", "error_rate<=1%", "--json", cj])
    d = json.load(open(cj)) if os.path.exists(cj) else {}
    th = (d.get("thresholds") or [{}])[0]
    note("%s compare: error share A %s, B %s, threshold %s" % (be, ea, eb, th))
    diff = th.get("difference")
    check(r.rc == 3 and th.get("ok") is False and diff is not None and abs(diff - (eb - ea)) < 1e-9,
          "%s compare A B 'error_rate<=1%%': exit %d, %s: want exit 3 and the difference %s" %
          (be, r.rc, th, eb - ea))
    r = llmload(["compare", pa, pb, "--threshold", "error_rate<=90%"])
    check(r.rc == 0, "%s compare A B 'error_rate<=90%%': exit %d" % (be, r.rc))
    r = llmload(["compare", pa, pb, "--threshold", "error_rate<=1"])
    check(r.rc == 2, "%s compare 'error_rate<=1' (ratio or points?): exit %d, want 2" % (be, r.rc))
    r = llmload(["compare", "--help"])
    check("'error_rate<=1'" not in r.out and "error_rate<=1%" in r.out,
          "compare --help still shows the ratio example: %s" % r.out)


def gaps(srv):
    t = [e[0] for e in srv.requests()]
    return [b - a for a, b in zip(t, t[1:])]


def retry_policy(be):
    srv = ScriptSrv("500,500,200")
    r, doc = run_json(["--backend", be, "--url", srv.base_url, "--no-preflight", "-n", "1",
                       "--retries", "2", "--retry-base", "100ms", "--no-retry-jitter"])
    g = gaps(srv)
    srv.stop()
    note("%s --retry-base 100ms: gaps %s ms, policy %s" % (be, g, jget(doc, "config.client.retry")))
    check(r.rc == 0 and len(g) == 2 and 95 <= g[0] <= scaled(250) and 190 <= g[1] <= scaled(350),
          "%s --retry-base 100ms: retries %s ms after the attempts before them, want ~100, ~200" %
          (be, g))
    check(jget(doc, "config.client.retry.base_ms") == 100 and
          jget(doc, "config.client.retry.jitter") is False, "%s: the JSON's policy %s" %
          (be, jget(doc, "config.client.retry")))
    srv = ScriptSrv("500,500,200")
    r, doc = run_json(["--backend", be, "--url", srv.base_url, "--no-preflight", "-n", "1",
                       "--retries", "2", "--retry-base", "100ms", "--retry-cap", "150ms",
                       "--no-retry-jitter"])
    g = gaps(srv)
    srv.stop()
    check(r.rc == 0 and len(g) == 2 and 142 <= g[1] <= scaled(300),
          "%s --retry-cap 150ms: second retry %s ms after, want ~150" % (be, g))
    r = llmload(["run", "--backend", be, "-n", "1", "--retry-base", "2s", "--retry-cap", "1s"])
    check(r.rc == 2 and len(r.err.strip().splitlines()) == 1, "%s base > cap: exit %d %r" %
          (be, r.rc, r.err))
    for cmd in ("batch", "ab"):
        srv = ScriptSrv("500,200")
        if cmd == "batch":
            inp, out = batch_in("retry-%s.jsonl" % be, 1)
            args = ["batch", "--in", inp, "--out", out]
        else:
            args = ["ab", "--models", "m"]
        r = llmload(args + ["--backend", be, "--url", srv.base_url, "--retries", "1",
                            "--retry-base", "50ms", "--no-retry-jitter"])
        g = gaps(srv)
        srv.stop()
        check(r.rc == 0 and len(g) == 1 and 47 <= g[0] <= scaled(200),
              "%s %s --retry-base 50ms: retry %s ms after, want ~50 (exit %d)" % (be, cmd, g, r.rc))


def interrupt(be):
    for cmd in ("run", "batch"):
        if cmd == "run":
            args = ["run", "--backend", be, "-n", "4", "-c", "4", "--latency-ms", "5000"]
        else:
            inp, out = batch_in("int-%s.jsonl" % be, 4)
            args = ["batch", "--backend", be, "--in", inp, "--out", out, "--concurrency", "4",
                    "--mock-arg=--latency-ms=5000"]
        env = dict(os.environ)
        env.pop("OPENAI_BASE_URL", None)
        p = subprocess.Popen([LLMLOAD] + args, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        time.sleep(1.0)  # the mock is up and the 5 s requests are out
        t0 = time.monotonic()
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=30)
        took = time.monotonic() - t0
        err = err.decode(errors="replace")
        note("%s %s: exit %d %.2f s after SIGINT" % (be, cmd, p.returncode, took))
        check(p.returncode == 130 and took < scaled(1.5),
              "%s %s: exit %d %.2f s after SIGINT, want 130 within ~1 s (the mock's grace)" %
              (be, cmd, p.returncode, took))
        check(re.search(r"^mockllm: \d+ requests", err, re.M) is not None,
              "%s %s: the mock printed no summary (not stopped cleanly): %s" % (be, cmd, err[-300:]))


def quiet(be):
    inp, out = batch_in("quiet-%s.jsonl" % be, 6)
    for args in (["run", "--backend", be, "-n", "30", "-c", "2", "--latency-ms", "50", "--quiet"],
                 ["batch", "--backend", be, "--in", inp, "--out", out, "--concurrency", "2",
                  "--mock-arg=--latency-ms=150", "--quiet"]):
        rc, term = on_pty(args, stdout=True, env={"OPENAI_BASE_URL": None})
        check(rc == 0 and term.strip() == "",
              "%s %s --quiet: the terminal got %r" % (be, args[0], term[-300:]))


def small(be):
    r, doc = run_json(["--backend", be, "-n", "2"])
    check(jget(doc, "config.max_tokens", "absent") is None and "max_tokens=not sent" in r.out,
          "%s: max_tokens %r in the JSON, want null ('not sent')" %
          (be, jget(doc, "config.max_tokens", "absent")))
    r2, doc2 = run_json(["--backend", be, "-n", "2", "--max-tokens", "16"])
    check(jget(doc2, "config.max_tokens") == 16, "%s: --max-tokens 16 gave %r" %
          (be, jget(doc2, "config.max_tokens")))
    v = llmload(["--version"])
    want = "llmload %s (git %s)" % (jget(doc, "llmload_version"), jget(doc, "git_commit"))
    check(v.rc == 0 and v.out.strip() == want, "--version: exit %d %r, want %r" %
          (v.rc, v.out, want))
    srv = ScriptSrv("200")
    full = srv.base_url + "/chat/completions"
    inp, out = batch_in("url-%s.jsonl" % be, 1)
    for args in (["run", "--backend", be, "--url", full, "-n", "2"],
                 ["batch", "--backend", be, "--url", full, "--in", inp, "--out", out],
                 ["ab", "--backend", be, "--url", full, "--models", "m"]):
        r = llmload(args)
        check(r.rc == 0, "%s %s --url %s: exit %d %s" % (be, args[0], full, r.rc, r.err[-200:]))
    # "T request conn=C n=K METHOD PATH ...": the path each request went to
    paths = sorted({ln.split()[5] for ln in open(srv.log) if " request " in ln})
    srv.stop()
    check(paths == ["/v1/chat/completions"], "%s: a full endpoint URL posted to %s" % (be, paths))


def main():
    need_binaries(LLMLOAD, MOCKLLM, SCRIPTSRV)
    for be in BACKENDS:
        empty_stream(be)
        compare(be)
        retry_policy(be)
        interrupt(be)
        quiet(be)
        small(be)
    finish("test_truth_surface")


if __name__ == "__main__":
    main()
