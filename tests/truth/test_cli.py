"""test_cli.py - the README's claims about ab, batch, compare and the progress line, checked from
outside llmload, on both backends.

  ab            every model at once: mockllm's peak in flight is the number of models, and the
                wall is well under the sum of the answers' latencies
  batch --rpm   600/min allows a burst of 10 at once (mockllm sees 10 in flight), then 10 per
                second (the wall is about (30 - 10) / 10 s)
  batch --tpm   the tokens mockllm reported, over the wall clock, stay near the limit
  bearer token  ab and batch send OPENAI_API_KEY as 'Authorization: Bearer KEY' (ll_scriptsrv)
  compare       two runs at 20 and 40 ms of mock latency: the printed throughput ratio is about
                1/2 and the e2e p50 ratio about 2 (arithmetic from the configured latencies);
                the printed values are the files' values; the latency difference is listed
  progress      the live line goes to stderr on a terminal (a pty) and never into a pipe
"""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from truthlib import (BACKENDS, TMP, ScriptSrv, check, finish, jget, llmload,  # noqa: E402
                      need_binaries, note, on_pty, run_json, scaled, LLMLOAD, MOCKLLM, SCRIPTSRV)


def ab(be):
    path = os.path.join(TMP, "ab-%s.json" % be)
    r = llmload(["ab", "--backend", be, "--models", "a,b,c", "--prompt", "Say hi",
                 "--json", path])
    ms = r.mock_summary()
    rows = json.load(open(path))["rows"] if os.path.exists(path) else []
    lat = [x["latency_s"] for x in rows]
    note("%s ab: latencies %s, wall %.2f s, mock %s" % (be, lat, r.wall_s, ms))
    check(r.rc == 0 and len(rows) == 3, "%s ab: exit %d, %d rows: %s" % (be, r.rc, len(rows), r.err))
    check(ms is not None and ms["requests"] == 3 and ms["peak"] == 3,
          "%s ab: mockllm saw %s, want the 3 models in flight at once" % (be, ms))
    if len(lat) == 3:
        check(r.wall_s < 0.85 * sum(lat), "%s ab: wall %.2f s, the latencies add up to %.2f" %
              (be, r.wall_s, sum(lat)))


def batch_input(name, n, extra=""):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        for i in range(n):
            f.write('{"id": "%s%d", "prompt": "hi"%s}\n' % (name[0], i, extra))
    return path


def tokens_line(out):
    m = re.search(r"^tokens (\d+) \(prompt (\d+), completion (\d+)\)", out, re.M)
    return int(m.group(1)) if m else None


def batch_rpm(be):
    n, rpm = 30, 600
    inp = batch_input("rpm-%s.jsonl" % be, n)
    r = llmload(["batch", "--backend", be, "--in", inp, "--out", inp + ".out", "--rpm", str(rpm),
                 "--concurrency", "20", "--mock-arg=--latency-ms=300"])
    ms = r.mock_summary()
    burst = rpm // 60  # the bucket holds one second's worth
    want = (n - burst) / (rpm / 60.0)
    note("%s batch --rpm %d: %d requests in %.2f s (want about %.1f + 0.3), mock %s" %
         (be, rpm, n, r.wall_s, want, ms))
    check(r.rc == 0, "%s batch --rpm: exit %d: %s" % (be, r.rc, r.err))
    check(ms is not None and ms["peak"] >= burst - 2,
          "%s batch --rpm %d: mockllm saw at most %s at once, the bucket allows a burst of %d" %
          (be, rpm, ms and ms["peak"], burst))
    check(0.85 * want <= r.wall_s <= scaled(want + 2.5),
          "%s batch --rpm %d: %d requests took %.2f s, want about %.1f" % (be, rpm, n, r.wall_s, want))


def batch_tpm(be):
    n, tpm = 20, 6000
    inp = batch_input("tpm-%s.jsonl" % be, n, ', "max_tokens": 10')
    r = llmload(["batch", "--backend", be, "--in", inp, "--out", inp + ".out", "--tpm", str(tpm)])
    total = tokens_line(r.out)
    check(r.rc == 0 and total is not None, "%s batch --tpm: exit %d: %s %s" % (be, r.rc, r.out, r.err))
    if total is None:
        return
    per_s, cap = tpm / 60.0, tpm / 60.0  # the bucket holds one second's worth
    want = (total - cap) / per_s
    note("%s batch --tpm %d: %d tokens (as mockllm reported them) in %.2f s, want about %.2f s" %
         (be, tpm, total, r.wall_s, want))
    check(want > 0.5, "%s batch --tpm: too few tokens (%d) to see the limit" % (be, total))
    check(0.7 * want <= r.wall_s <= scaled(want * 1.5 + 2),
          "%s batch --tpm %d: %d tokens in %.2f s, the limit wants about %.2f s" %
          (be, tpm, total, r.wall_s, want))


def bearer(be):
    srv = ScriptSrv("200")
    key = "sk-truth-cli-%s" % be
    inp = batch_input("key-%s.jsonl" % be, 2)
    r1 = llmload(["batch", "--backend", be, "--in", inp, "--out", inp + ".out", "--url",
                  srv.base_url], env={"OPENAI_API_KEY": key})
    r2 = llmload(["ab", "--backend", be, "--models", "x,y", "--url", srv.base_url],
                 env={"OPENAI_API_KEY": key})
    srv.stop()
    auth = [f["auth"] for _, _, f in srv.requests()]
    note("%s batch + ab: Authorization as received: %s" % (be, auth))
    check(r1.rc == 0 and r2.rc == 0, "%s: batch exit %d, ab exit %d" % (be, r1.rc, r2.rc))
    check(auth == ["Bearer " + key] * 4, "%s batch + ab: the server received %s" % (be, auth))
    check(key not in r1.out + r1.err + r2.out + r2.err, "%s: the key was printed" % be)


def compare():
    files = {}
    for be, lat in (("threaded", 20), ("evented", 40)):
        r, doc = run_json(["--backend", be, "--requests", "40", "--concurrency", "4",
                           "--latency-ms", str(lat)])
        path = os.path.join(TMP, "cmp-%d.json" % lat)
        json.dump(doc, open(path, "w"))
        files[lat] = (path, doc)
    r = llmload(["compare", files[20][0], files[40][0]])
    check(r.rc == 0, "compare: exit %d: %s" % (r.rc, r.err))
    rows = {}
    for line in r.out.splitlines():
        m = re.match(r"^(\S.*?)\s{2,}(\S+)\s+(\S+)\s+(\S+)$", line)
        if m:
            rows[m.group(1)] = m.groups()[1:]
    note("compare (20 ms vs 40 ms): throughput %s, e2e p50 %s" %
         (rows.get("throughput req/s"), rows.get("e2e p50 ms")))
    for label, path, lo, hi in (("throughput req/s", "results.requests.throughput_rps", 0.35, 0.65),
                                ("e2e p50 ms", "results.latency.e2e.p50_ms", 1.6, 2.3)):
        row = next((v for k, v in rows.items() if k.startswith(label)), None)  # e.g. "... (ok)"
        if not check(row is not None, "compare: no row '%s' in\n%s" % (label, r.out)):
            continue
        a, b = jget(files[20][1], path), jget(files[40][1], path)
        check(abs(float(row[0]) - a) <= 0.001 * a + 0.001 and abs(float(row[1]) - b) <= 0.001 * b + 0.001,
              "compare %s: printed %s %s, the files hold %s %s" % (label, row[0], row[1], a, b))
        check(lo <= float(row[2]) <= hi, "compare %s: B/A %s, the latencies (20 vs 40 ms) "
              "want %.2f-%.2f" % (label, row[2], lo, hi))
        check(abs(float(row[2]) - b / a) <= 0.01, "compare %s: B/A %s, the files give %.3f" %
              (label, row[2], b / a))
    check(re.search(r"latency_ms: 20 vs 40", r.out) is not None,
          "compare: the latency difference is not listed:\n%s" % r.out)
    bad = os.path.join(TMP, "bad.json")
    open(bad, "w").write("[1, 2]")
    r = llmload(["compare", files[20][0], bad])
    check(r.rc == 1 and len(r.err.strip().splitlines()) == 1, "compare of a non-run file: exit %d %r" %
          (r.rc, r.err))


def progress(be):
    """The live line: carriage-return-led updates with done/total, on a terminal only."""
    inp = batch_input("prog-%s.jsonl" % be, 10)
    line = re.compile(r"\r[^\r\n]*\b\d+/\d+\b")
    for what, args in (
            ("run", ["run", "--backend", be, "--requests", "30", "--concurrency", "2",
                     "--latency-ms", "50"]),
            ("batch", ["batch", "--backend", be, "--in", inp, "--out", inp + ".out",
                       "--concurrency", "2", "--mock-arg=--latency-ms=150"])):
        if what == "batch" and os.path.exists(inp + ".out"):
            os.unlink(inp + ".out")
        rc, term = on_pty(args)
        if what == "batch":
            os.unlink(inp + ".out")
        r = llmload(args)
        note("%s %s: terminal got %d progress updates; a pipe got %d bytes on stderr" %
             (be, what, len(line.findall(term)), len(r.err)))
        check(rc == 0 and line.search(term) is not None,
              "%s %s: no progress line on a terminal (exit %d): %r" % (be, what, rc, term[-300:]))
        check(r.rc == 0 and line.search(r.err) is None and "\r" not in r.err and
              "\033[K" not in r.err,
              "%s %s: a progress line went into a pipe: %r" % (be, what, r.err[-300:]))


def main():
    need_binaries(LLMLOAD, MOCKLLM, SCRIPTSRV)
    for be in BACKENDS:
        ab(be)
        batch_rpm(be)
        batch_tpm(be)
        bearer(be)
        progress(be)
    compare()
    finish("test_truth_cli")


if __name__ == "__main__":
    main()
