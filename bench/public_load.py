"""Public pages under load, while a broadcast goes out (issue 18, "Done when" 1).

    .venv/bin/python -m bench.public_load [--db postgresql|sqlite] [--split] [--rate 150] [--readers 64]
                                          [--seconds 15] [--subscribers 10000] [--profile FILE]

Three processes besides this one, all on 127.0.0.1: the Twilio simulator (bench/simserver.py),
Tocsin as `tocsin serve` runs it (alerts.web.main serve: dispatcher and web floor in one
process, on SQLite or PostgreSQL) sending one broadcast at TOCSIN_SMS_RATE, and an aiohttp
hello-world serving one static page with the bytes of Tocsin's `/` (gzipped, as Tocsin sends
it to a client that accepts gzip). This process is the crowd: `--readers` keep-alive
connections in a closed loop, each fetching `/`, the broadcast alert's page and `/feed.atom`
in turn; half of them send If-None-Match with the tag they last got (304s), half do not.

In one run, while the broadcast goes out: a quiet window (no readers: the broadcast's own rate
at the simulator), the crowd on the hello-world, then the crowd on Tocsin (the broadcast's
rate again). Reported: requests/s of each and their ratio (target >= 0.5), p50/p99 latency
(target p99 < 100 ms), errors (target 0), and the broadcast's rate with readers against
without (target >= 80%). The machine's cores are shared by the crowd, the servers and the
simulator: the figures are of this machine, side by side."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import (
    DRAFT,
    FROM_NUMBER,
    ROOT,
    SIM_SID,
    SIM_TOKEN,
    Databases,
    approve,
    free_port,
    generate_subscribers,
    healthy,
    machine,
    make_people,
    quiet,
    simulator,
    submitted_alert,
    table,
    verdict,
)

TARGET_RATIO = 0.5
TARGET_P99_MS = 100.0
TARGET_KEPT = 0.8


# ---- the hello-world, in a process of its own ----

def hello_world(body_path: str) -> None:
    """Serve the file's bytes (a gzipped page) on every GET, as a bare aiohttp app does."""
    from aiohttp import web

    body = Path(body_path).read_bytes()

    async def page(_request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="text/html", charset="utf-8",
                            headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/{tail:.*}", page)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        print(f"PORT {site._server.sockets[0].getsockname()[1]}", flush=True)  # type: ignore[union-attr]
        done = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, done.set)
        await done.wait()
        await runner.cleanup()

    asyncio.run(main())


class Server:
    """A subprocess; stopped with SIGTERM (then killed) when the bench ends."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None, log: Path | None = None) -> None:
        self.log = log
        out = open(log, "w") if log else subprocess.PIPE  # noqa: SIM115 (closed with the process)
        self.proc = subprocess.Popen(args, cwd=ROOT, env={**os.environ, **(env or {})}, text=True,
                                     stdout=out, stderr=subprocess.STDOUT if log else None)

    def port_line(self) -> int:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError(f"server did not start: {line!r}")
        return int(line.split()[1])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---- the crowd ----

@dataclass
class Load:
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else float("nan")


async def crowd(base: str, paths: list[str], readers: int, seconds: float) -> Load:
    load = Load()
    stop_at = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=readers, limit_per_host=readers)

    async def reader(n: int, http: aiohttp.ClientSession) -> None:
        conditional = n % 2 == 0
        tags: dict[str, str] = {}
        i = n
        while time.monotonic() < stop_at:
            path = paths[i % len(paths)]
            i += 1
            headers = {"Accept-Encoding": "gzip", "Accept-Language": "az"}
            if conditional and path in tags:
                headers["If-None-Match"] = tags[path]
            began = time.perf_counter()
            try:
                async with http.get(base + path, headers=headers) as resp:
                    await resp.read()
                    status = resp.status
                    if "ETag" in resp.headers:
                        tags[path] = resp.headers["ETag"]
            except (aiohttp.ClientError, TimeoutError):
                load.errors += 1
                continue
            load.latencies.append(time.perf_counter() - began)
            load.statuses[status] = load.statuses.get(status, 0) + 1
            if status not in (200, 304):
                load.errors += 1

    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=10)) as http:
        began = time.monotonic()
        await asyncio.gather(*(reader(n, http) for n in range(readers)))
        load.seconds = time.monotonic() - began
    return load


def window_rate(posts: list[float], start: float, end: float) -> float:
    return sum(1 for t in posts if start <= t < end) / (end - start)


# ---- the run ----

async def run(args: argparse.Namespace) -> dict[str, Any]:
    from alerts.store import Store

    dbs = Databases()
    tmp = Path(tempfile.mkdtemp(prefix="tocsin-public-load-"))
    servers: list[Server] = []
    try:
        with simulator() as sim:
            url = await dbs.new(args.db)
            store = Store(url)
            try:
                await generate_subscribers(store, args.subscribers)
                people = await make_people(store)
                alert_id = await submitted_alert(store, people, {**DRAFT, "status": "Actual",
                                                                 "channels": ["sms", "web"]})
            finally:
                await store.close()
            env = {"TOCSIN_DATABASE_URL": url, "TOCSIN_HOST": "127.0.0.1", "TOCSIN_VAR_DIR": str(tmp / "var"),
                   "TOCSIN_SECRET_KEY": "b" * 40, "TWILIO_ACCOUNT_SID": SIM_SID, "TWILIO_AUTH_TOKEN": SIM_TOKEN,
                   "TWILIO_FROM_NUMBER": FROM_NUMBER, "TWILIO_API_BASE": sim.base,
                   "TOCSIN_SMS_RATE": f"{args.rate:g}"}
            # One `tocsin serve` (web floor and dispatcher on one event loop), or with --split one
            # --web-only for the crowd and one --worker-only for the broadcast.
            roles = [["--web-only"], ["--worker-only"]] if args.split else [[]]
            bases = []
            for n, role in enumerate(roles):
                port = free_port()
                servers.append(Server([sys.executable, "-m", "alerts.web.main", "serve", *role],
                                      env={**env, "TOCSIN_PORT": str(port)}, log=tmp / f"tocsin-{n}.log"))
                bases.append(f"http://127.0.0.1:{port}")
            tocsin, base = servers[0], bases[0]
            for each in bases:
                await healthy(each)

            # The broadcast: approved as the API does (the coordinator finds it at its next poll).
            store = Store(url)
            try:
                await approve(store, people, alert_id)
            finally:
                await store.close()
            await sim.wait_posts(1, timeout=30)
            await asyncio.sleep(args.warmup)  # past the first batch's burst, at the configured pace
            paths = ["/", f"/alerts/{alert_id}", "/feed.atom"]

            # Quiet: the broadcast alone.
            quiet_from = time.monotonic()
            await asyncio.sleep(args.quiet)
            quiet_to = time.monotonic()

            # The hello-world, serving the bytes Tocsin's `/` sends a reader who accepts gzip.
            async with aiohttp.ClientSession(auto_decompress=False) as http:
                async with http.get(f"{base}/", headers={"Accept-Encoding": "gzip"}) as resp:
                    page = await resp.read()
            (tmp / "page.gz").write_bytes(page)
            hello = Server([sys.executable, "-m", "bench.public_load", "--hello-world", str(tmp / "page.gz")])
            servers.append(hello)
            hello_base = f"http://127.0.0.1:{hello.port_line()}"
            hello_load = await crowd(hello_base, paths, args.readers, args.seconds)
            hello.stop()

            # The crowd on Tocsin, the broadcast still going.
            profiler = None
            if args.profile:  # where the server's time goes: py-spy's collapsed stacks
                profiler = subprocess.Popen([os.environ.get("PYSPY", "py-spy"), "record", "-p", str(tocsin.proc.pid),
                                             "-d", f"{args.seconds:g}", "-f", "raw", "-o", args.profile, "-r", "200"],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            loaded_from = time.monotonic()
            tocsin_load = await crowd(base, paths, args.readers, args.seconds)
            loaded_to = time.monotonic()
            if profiler is not None:
                await asyncio.to_thread(profiler.wait)
            posts = await sim.posts()
            await sim.aclose()
            if posts and posts[-1] < loaded_to - 1:
                raise RuntimeError(f"the broadcast ended before the crowd did: raise --subscribers "
                                   f"({args.subscribers:,})")
            return {"hello": hello_load, "tocsin": tocsin_load, "page_bytes": len(page),
                    "quiet_rate": window_rate(posts, quiet_from, quiet_to),
                    "loaded_rate": window_rate(posts, loaded_from, loaded_to)}
    finally:
        for server in servers:
            server.stop()
        dbs.close()


def report(args: argparse.Namespace, found: dict[str, Any]) -> None:
    hello, tocsin = found["hello"], found["tocsin"]
    ratio = tocsin.rate / hello.rate if hello.rate else 0.0
    kept = found["loaded_rate"] / found["quiet_rate"] if found["quiet_rate"] else 0.0
    print(machine())
    rows = []
    shape = "--web-only and --worker-only" if args.split else "one process"
    for name, load in (("aiohttp hello-world", hello), (f"Tocsin ({args.db}, {shape})", tocsin)):
        statuses = ", ".join(f"{k}: {v:,}" for k, v in sorted(load.statuses.items()))
        rows.append((name, f"{load.rate:,.0f}", f"{load.percentile(0.5):.1f}", f"{load.percentile(0.99):.1f}",
                     str(load.errors), statuses))
    table(f"{args.readers} keep-alive readers for {args.seconds:g} s each on /, an alert page and /feed.atom "
          f"(page {found['page_bytes']:,} bytes gzipped)",
          ["server", "requests/s", "p50 ms", "p99 ms", "errors", "answers"], rows)
    table("Against the targets", ["figure", "measured", "target", ""], [
        ("Tocsin / hello-world requests/s", f"{ratio:.2f}", f">= {TARGET_RATIO}", verdict(ratio >= TARGET_RATIO)),
        ("Tocsin p99 ms", f"{tocsin.percentile(0.99):.1f}", f"< {TARGET_P99_MS:g}",
         verdict(tocsin.percentile(0.99) < TARGET_P99_MS)),
        ("errors", str(tocsin.errors), "0", verdict(tocsin.errors == 0)),
        ("broadcast rate, readers / none",
         f"{found['loaded_rate']:.0f}/s / {found['quiet_rate']:.0f}/s = {kept:.2f}", f">= {TARGET_KEPT}",
         verdict(kept >= TARGET_KEPT)),
    ], f"Broadcast at TOCSIN_SMS_RATE={args.rate:g}, measured at the simulator (its own process): "
       f"{args.quiet:g} s with no reader, then the {args.seconds:g} s of the crowd on Tocsin.")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", choices=["sqlite", "postgresql"], default="postgresql")
    p.add_argument("--rate", type=float, default=150.0, help="TOCSIN_SMS_RATE of the broadcast")
    p.add_argument("--readers", type=int, default=64, help="keep-alive connections of the crowd")
    p.add_argument("--seconds", type=float, default=15.0, help="of the crowd, on each server")
    p.add_argument("--quiet", type=float, default=8.0, help="seconds of broadcast with no reader")
    p.add_argument("--warmup", type=float, default=3.0, help="seconds of broadcast before measuring")
    p.add_argument("--subscribers", type=int, default=10_000)
    p.add_argument("--split", action="store_true",
                   help="PostgreSQL: a --web-only process for the crowd and a --worker-only one for the broadcast")
    p.add_argument("--profile", metavar="FILE", help="py-spy (PYSPY=path) collapsed stacks of Tocsin under the crowd")
    p.add_argument("--hello-world", metavar="BODY", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.split and args.db != "postgresql":
        p.error("--split needs PostgreSQL: SQLite is for one process")
    return args


if __name__ == "__main__":
    parsed = parse()
    if parsed.hello_world:
        hello_world(parsed.hello_world)
    else:
        quiet()
        report(parsed, asyncio.run(run(parsed)))
