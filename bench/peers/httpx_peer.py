#!/usr/bin/python3
"""httpx_peer.py - the seed's own stack as a peer: asyncio + one shared httpx.AsyncClient + a
Semaphore, closed loop, printing the same core figures as `llmload run --json` (a subset, same
key names under "results").

    /usr/bin/python3 bench/peers/httpx_peer.py --url http://127.0.0.1:PORT/v1 \
        --concurrency C --requests N [--timeout S] [--json FILE]

Run with Debian's /usr/bin/python3 (python3-httpx). Exit 0 ok, 1 a request failed, 2 usage,
3 httpx missing (bench.sh then skips the peer with a note).
"""
import argparse
import asyncio
import json
import resource
import sys
import time

try:
    import httpx
except ImportError:  # the caller prints the note
    print("httpx_peer: python3-httpx is not installed", file=sys.stderr)
    sys.exit(3)

BODY = {
    "model": "gpt-mock",
    "messages": [{"role": "user", "content": "Write a haiku about load testing."}],
}


def pct(sorted_ms, p):
    if not sorted_ms:
        return 0.0
    i = min(len(sorted_ms) - 1, max(0, int(round(p / 100.0 * len(sorted_ms) + 0.5)) - 1))
    return sorted_ms[i]


async def run(args):
    limits = httpx.Limits(max_connections=args.concurrency,
                          max_keepalive_connections=args.concurrency)
    sem = asyncio.Semaphore(args.concurrency)
    lat, errors = [], {}
    url = args.url.rstrip("/") + "/chat/completions"

    async with httpx.AsyncClient(limits=limits, timeout=args.timeout) as client:
        async def one():
            async with sem:
                t0 = time.monotonic()
                try:
                    r = await client.post(url, json=BODY)
                    r.read()
                    key = "ok" if r.status_code == 200 else str(r.status_code)
                except httpx.TimeoutException:
                    key = "timeout"
                except httpx.HTTPError:
                    key = "connect"
                errors[key] = errors.get(key, 0) + 1
                lat.append((time.monotonic() - t0) * 1000.0)

        t0 = time.monotonic()
        await asyncio.gather(*(one() for _ in range(args.requests)))
        wall = time.monotonic() - t0
    return wall, sorted(lat), errors


def rss_kb():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize() // 1024
    except OSError:
        return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--concurrency", type=int, required=True)
    ap.add_argument("--requests", type=int, required=True)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--json", default="-")
    args = ap.parse_args()
    if args.concurrency < 1 or args.requests < 1:
        ap.error("--concurrency and --requests must be >= 1")

    rss0 = rss_kb()
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    wall, lat, errors = asyncio.run(run(args))
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    n = len(lat)
    ok = errors.get("ok", 0)
    e2e = {"count": n, "mean_ms": sum(lat) / n if n else 0.0, "max_ms": lat[-1] if n else 0.0}
    for p, k in ((50, "p50_ms"), (90, "p90_ms"), (99, "p99_ms"), (99.9, "p999_ms")):
        e2e[k] = pct(lat, p)
    doc = {
        "tool": "httpx_peer",
        "config": {"backend": "httpx", "mode": "closed", "concurrency": args.concurrency,
                   "requests": args.requests, "endpoint": args.url,
                   "httpx": httpx.__version__, "python": sys.version.split()[0]},
        "results": {
            "requests": {"wall_s": wall, "throughput_rps": ok / wall if wall > 0 else 0.0,
                         "submitted": args.requests, "completed": n, "succeeded": ok,
                         "failed": n - ok, "by_class": errors, "retries": 0},
            "latency": {"e2e": e2e},
            "resources": {"cpu_user_s": ru1.ru_utime - ru0.ru_utime,
                          "cpu_sys_s": ru1.ru_stime - ru0.ru_stime,
                          "cpu_s_per_1000_requests": cpu * 1000.0 / ok if ok else None,
                          "rss_start_kb": rss0, "rss_peak_kb": ru1.ru_maxrss,
                          "rss_per_in_flight_kb": (ru1.ru_maxrss - rss0) / args.concurrency,
                          "threads_peak": 1,
                          "ctx_switches_voluntary": ru1.ru_nvcsw - ru0.ru_nvcsw,
                          "ctx_switches_involuntary": ru1.ru_nivcsw - ru0.ru_nivcsw},
        },
    }
    text = json.dumps(doc, indent=1)
    if args.json == "-":
        print(text)
    else:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    return 0 if ok == n else 1


if __name__ == "__main__":
    sys.exit(main())
