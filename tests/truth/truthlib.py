"""truthlib - helpers for the CLI truth tests (tests/truth/test_*.py; issue 11 item 18).

Every figure llmload prints is checked against something outside llmload: mockllm's own counters
(its /metrics and the summary line it prints on stderr when it stops), ll_scriptsrv's arrival
log (tests/scriptsrv.c), arithmetic from the configured latencies, rates and timeouts, and the
wall clock of this process. Standard library only; run with Debian's /usr/bin/python3.

Environment: LL_LLMLOAD, LL_MOCKLLM, LL_SCRIPTSRV (paths of the binaries, set by ctest);
LL_TEST_SANITIZED=1 in a sanitizer build (bounds on time are then a little wider).
"""
import json
import os
import pty
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

LLMLOAD = os.environ.get("LL_LLMLOAD", "")
MOCKLLM = os.environ.get("LL_MOCKLLM", "")
SCRIPTSRV = os.environ.get("LL_SCRIPTSRV", "")
SANITIZED = os.environ.get("LL_TEST_SANITIZED", "") == "1"
BACKENDS = ("threaded", "evented")
SKIPPED = 77  # ctest's SKIP_RETURN_CODE

_fails = []
TMP = tempfile.mkdtemp(prefix="ll_truth.")


def check(ok, msg):
    """Record a failure (the test goes on: one run shows every wrong figure)."""
    if not ok:
        _fails.append(msg)
        print("FAIL:", msg, flush=True)
    return ok


def note(msg):
    print("  " + msg, flush=True)


def skip(why):
    print("SKIPPED:", why, flush=True)
    sys.exit(SKIPPED)


def finish(name):
    """Exit 0 when every check held, else 1."""
    subprocess.run(["rm", "-rf", TMP])
    if _fails:
        print("%s: %d check(s) failed" % (name, len(_fails)))
        sys.exit(1)
    print("%s: all passed" % name)
    sys.exit(0)


def need_binaries(*paths):
    for p in paths:
        if not p or not os.access(p, os.X_OK):
            print("FAIL: binary missing: %r (set LL_LLMLOAD, LL_MOCKLLM, LL_SCRIPTSRV)" % p)
            sys.exit(1)


class Result:
    """A finished llmload: exit code, outputs, this process's wall clock around it."""

    def __init__(self, rc, out, err, wall_s):
        self.rc, self.out, self.err, self.wall_s = rc, out, err, wall_s

    def table(self):
        """The run table: 'label   value [unit]' lines -> {label: float}."""
        figs = {}
        for line in self.out.splitlines():
            m = re.match(r"^([a-z][a-z0-9 ()'_,.-]*?)\s{2,}(-?[0-9][0-9.e+-]*)\b", line)
            if m:
                figs.setdefault(m.group(1).strip(), float(m.group(2)))
        return figs

    def mock_summary(self):
        """mockllm's shutdown line on stderr: {'requests', 'status': {code: n}, 'peak',
        'connections'}, or None when it printed none (the mock of the run, never a client's
        figure)."""
        m = re.search(r"^mockllm: (\d+) requests(?: \(([^)]*)\))?, peak in flight (-?\d+), "
                      r"(\d+) connections$", self.err, re.M)
        if m is None:
            return None
        status = {}
        for part in (m.group(2) or "").split(", "):
            if part:
                k, v = part.rsplit(" ", 1)
                status[k] = int(v)
        return {"requests": int(m.group(1)), "status": status, "peak": int(m.group(3)),
                "connections": int(m.group(4))}


def on_pty(args, stdout=False, env=None):
    """Run llmload with stderr (and stdout, when asked) on a pseudo-terminal; returns (rc, what
    the terminal got). env as llmload()'s: None values remove a variable."""
    master, slave = pty.openpty()
    e = dict(os.environ)
    for k, v in (env or {}).items():
        if v is None:
            e.pop(k, None)
        else:
            e[k] = v
    p = subprocess.Popen([LLMLOAD] + args, stdout=slave if stdout else subprocess.DEVNULL,
                         stderr=slave, stdin=subprocess.DEVNULL, env=e)
    os.close(slave)
    got = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the last writer closed the terminal
            break
        if not chunk:
            break
        got += chunk
    os.close(master)
    return p.wait(timeout=60), got.decode(errors="replace")


def llmload(args, env=None, timeout=90, stdin=None, stderr=None):
    """Run llmload with args; returns a Result. env adds to (or, with None values, removes from)
    this process's environment."""
    e = dict(os.environ)
    e.pop("OPENAI_BASE_URL", None)
    e.pop("OPENAI_API_KEY", None)
    for k, v in (env or {}).items():
        if v is None:
            e.pop(k, None)
        else:
            e[k] = v
    t0 = time.monotonic()
    p = subprocess.run([LLMLOAD] + list(args), env=e, timeout=timeout, stdin=stdin,
                       stdout=subprocess.PIPE,
                       stderr=stderr if stderr is not None else subprocess.PIPE)
    wall = time.monotonic() - t0
    return Result(p.returncode, p.stdout.decode(errors="replace"),
                  (p.stderr or b"").decode(errors="replace"), wall)


def run_json(args, env=None, timeout=90):
    """llmload run ARGS --json FILE: (Result, parsed JSON or None)."""
    path = os.path.join(TMP, "run-%d.json" % time.monotonic_ns())
    r = llmload(["run"] + list(args) + ["--json", path], env=env, timeout=timeout)
    doc = None
    if os.path.exists(path):
        with open(path) as f:
            doc = json.load(f)
        os.unlink(path)
    return r, doc


def jget(doc, path, default=None):
    """A dotted path into a JSON document, or default."""
    at = doc
    for k in path.split("."):
        if not isinstance(at, dict) or k not in at:
            return default
        at = at[k]
    return at


class Server:
    """A child server that prints 'listening HOST PORT' when ready (mockllm, ll_scriptsrv);
    stopped by PID with SIGTERM."""

    def __init__(self, argv):
        self.p = subprocess.Popen(argv + ["--port", "0"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        line = self.p.stdout.readline().decode()
        m = re.match(r"listening (\S+) (\d+)", line)
        if m is None:
            self.p.kill()
            raise RuntimeError("%s did not start: %r %s" % (argv[0], line,
                                                            self.p.stderr.read().decode()))
        self.host, self.port = m.group(1), int(m.group(2))
        self.base_url = "http://%s:%d/v1" % (self.host, self.port)
        self.pid = self.p.pid

    def stop(self):
        """SIGTERM, wait; returns what it printed on stderr."""
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        try:
            _, err = self.p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            _, err = self.p.communicate()
        return err.decode(errors="replace")


class Mock(Server):
    def __init__(self, *args):
        super().__init__([MOCKLLM] + list(args))

    def http(self, path, data=None):
        req = urllib.request.Request("http://%s:%d%s" % (self.host, self.port, path), data=data)
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.read().decode()

    def metric(self, name):
        """Sum of every sample of a metric on /metrics (any labels), or None."""
        total, seen = 0.0, False
        for line in self.http("/metrics").splitlines():
            m = re.match(r"^%s(?:\{[^}]*\})? (\S+)$" % re.escape(name), line)
            if m:
                total += float(m.group(1))
                seen = True
        return total if seen else None


class ScriptSrv(Server):
    """ll_scriptsrv with a script; its log says what arrived, when, on which connection."""

    def __init__(self, script):
        self.log = os.path.join(TMP, "srv-%d.log" % time.monotonic_ns())
        super().__init__([SCRIPTSRV, "--log", self.log, "--script", script])

    def events(self):
        """[(t_ms, event, {field: value})] in log order."""
        out = []
        with open(self.log) as f:
            for line in f:
                parts = line.split()
                fields = {}
                for p in parts[2:]:
                    if "=" in p:
                        k, v = p.split("=", 1)
                        fields[k] = v
                if parts[1] == "request":
                    fields["auth"] = line.split(" auth=", 1)[1].rstrip("\n")
                out.append((float(parts[0]), parts[1], fields))
        return out

    def requests(self):
        return [e for e in self.events() if e[1] == "request"]

    def accepts(self):
        return [e for e in self.events() if e[1] == "accept"]


def scaled(s):
    """A wall-clock bound, widened under sanitizers."""
    return s * 1.5 if SANITIZED else s
