"""SMS fan-out: the whole Tocsin pipeline against a bare aiohttp client and a plain loop of the
synchronous twilio client, all three against one Twilio simulator in a separate process, in
one run.

    .venv/bin/python -m bench.fanout [--recipients 20000] [--sync-sample 1000] [--in-flight 64]
                                     [--repeat 3] [--db sqlite postgresql] [--queue process inline]
                                     [--gc serve|default] [--profile]

SPEC §12: pipeline >= 0.6 x bare aiohttp, and >= 3 x the synchronous twilio client. Issue 18:
pipeline >= 0.9 x SmsChannel.send alone (the engine's own cost) and >= 0.6 x bare aiohttp, in the
same run; the ratios are taken within each round (the clients of a round run one after the
other) and reported as the median and range over the rounds. `--queue process inline` runs the
pipeline both with the dispatcher's queries in their own process (as `tocsin serve` does) and
in the dispatcher's event loop, in each round, and gives the ratio between them."""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import os
import pstats
import resource
import statistics
import time
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import (
    FROM_NUMBER,
    SIM_SID,
    SIM_TOKEN,
    Databases,
    SimProcess,
    approve,
    delivery_states,
    engine,
    generate_subscribers,
    machine,
    make_people,
    quiet,
    simulator,
    sms_channel,
    sms_texts,
    submitted_alert,
    table,
    utcnow,
    verdict,
)

BODY_FALLBACK = "EXERCISE: benchmark message"


@dataclass
class Run:
    name: str
    messages: int
    seconds: float  # client side: from the start to the last answer recorded
    sim_seconds: float  # simulator side: first POST received to last POST received
    # CPU seconds: this process's event-loop thread, its other threads, the dispatcher's queue process
    cpu: tuple[float, float, float] = (0.0, 0.0, 0.0)
    gc_seconds: float = 0.0  # in garbage collections, during the run

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    @property
    def cpu_ms(self) -> str:
        main, other, queue = (max(0.0, 1000 * c / self.messages) for c in self.cpu)
        return f"{main:.2f} + {other:.2f}" + (f" + {queue:.2f}" if queue else "")

    @property
    def sim_rate(self) -> float:
        return (self.messages - 1) / self.sim_seconds if self.sim_seconds > 0 else float("nan")


class CpuMeter:
    """CPU seconds of this process: the event-loop thread's, and all other threads' (aiosqlite's
    worker threads, or the thread the synchronous client runs in); of the dispatcher's queue
    process, when it has one; and the seconds spent in garbage collections meanwhile
    (gc.callbacks)."""

    def __init__(self, child: int | None = None) -> None:
        self.thread, self.process = _cpu(resource.RUSAGE_THREAD), _cpu(resource.RUSAGE_SELF)
        self.child, self.child_began = child, _child_cpu(child)
        self.gc_seconds, self._gc_began = 0.0, 0.0
        gc.callbacks.append(self._gc)

    def _gc(self, phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_began = time.perf_counter()
        else:
            self.gc_seconds += time.perf_counter() - self._gc_began

    def read(self) -> tuple[float, float, float]:
        if self._gc in gc.callbacks:
            gc.callbacks.remove(self._gc)
        thread = _cpu(resource.RUSAGE_THREAD) - self.thread
        return thread, _cpu(resource.RUSAGE_SELF) - self.process - thread, _child_cpu(self.child) - self.child_began


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _child_cpu(pid: int | None) -> float:
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def _form(i: int, bodies: list[str]) -> dict[str, str]:
    # What SmsChannel.send makes the twilio library POST.
    return {"To": f"+99450{i:07d}", "From": FROM_NUMBER, "Body": bodies[i % len(bodies)],
            "StatusCallback": "http://127.0.0.1:9/twilio/sms/status", "ValidityPeriod": "21600"}


async def bare(sim: SimProcess, count: int, concurrency: int, bodies: list[str]) -> Run:
    """The same Messages.json form POSTs with a bare aiohttp client and the same concurrency.
    Recipient i is sent bodies[i % len(bodies)]: the pipeline's texts in its subscribers' languages."""
    await sim.reset()
    url = sim.messages_url()
    auth = {"Authorization": aiohttp.encode_basic_auth(SIM_SID, SIM_TOKEN)}
    next_i = 0
    async with aiohttp.ClientSession(headers=auth) as session:
        async def worker() -> None:
            nonlocal next_i
            while next_i < count:
                next_i += 1
                async with session.post(url, data=_form(next_i, bodies)) as resp:
                    answer = await resp.json()
                    assert resp.status == 201, answer

        meter, began = CpuMeter(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds, cpu = time.perf_counter() - began, meter.read()
    posts = await sim.posts()
    return Run("bare aiohttp client", count, seconds, posts[-1] - posts[0], cpu, meter.gc_seconds)


async def twilio_async(sim: SimProcess, count: int, concurrency: int, bodies: list[str]) -> Run:
    """For the breakdown only: SmsChannel.send (the twilio library's async client) with the same
    concurrency and texts (see bare) and no database, dispatcher or pacing: what the library
    itself costs."""
    from channels.base import OutboundMessage

    await sim.reset()
    channel = sms_channel(sim)
    expires = utcnow() + timedelta(hours=6)
    next_i = 0
    try:
        async def worker() -> None:
            nonlocal next_i
            while next_i < count:
                next_i += 1
                body = bodies[next_i % len(bodies)]
                await channel.send(OutboundMessage(next_i, f"+99450{next_i:07d}", body, expires), utcnow())

        meter, began = CpuMeter(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds, cpu = time.perf_counter() - began, meter.read()
    finally:
        await channel.close()
    posts = await sim.posts()
    return Run("SmsChannel.send alone (twilio async, no DB)", count, seconds, posts[-1] - posts[0], cpu,
               meter.gc_seconds)


def sync_twilio(base: str, count: int, bodies: list[str]) -> tuple[float, int]:
    """A plain loop of the synchronous twilio client's messages.create(), with the texts of bare."""
    from twilio.rest import Client

    client = Client(SIM_SID, SIM_TOKEN, environment={})
    client.api.base_url = base
    began = time.perf_counter()
    for i in range(count):
        client.messages.create(to=f"+99450{i + 1:07d}", from_=FROM_NUMBER, body=bodies[(i + 1) % len(bodies)],
                               status_callback="http://127.0.0.1:9/twilio/sms/status", validity_period=21600)
    return time.perf_counter() - began, count


async def sync(sim: SimProcess, count: int, bodies: list[str]) -> Run:
    await sim.reset()
    meter = CpuMeter()
    seconds, sent = await asyncio.to_thread(sync_twilio, sim.base, count, bodies)
    cpu = meter.read()
    posts = await sim.posts()
    return Run("sync twilio Client loop", sent, seconds, posts[-1] - posts[0], cpu, meter.gc_seconds)


async def pipeline(sim: SimProcess, dbs: Databases, db: str, count: int, settings: Any,
                   profile: bool, label: str | None = None) -> tuple[Run, list[str], str]:
    """Subscribers in the database, an alert approved through alerts.workflow, then the
    Coordinator and Dispatcher send with SmsChannel until every delivery is 'accepted'."""
    from alerts.store import Store

    await sim.reset()
    store = Store(await dbs.new(db))
    try:
        await generate_subscribers(store, count)
        people = await make_people(store)
        alert_id = await submitted_alert(store, people)
        bodies = await sms_texts(store, alert_id)  # for the reference clients
        profiler = cProfile.Profile() if profile else None
        async with engine(store, sim, settings) as running:
            await asyncio.sleep(0.3)  # let the coordinator's first tick pass
            await running.dispatcher.idle()  # and the first claim (its queue process started)
            if profiler:
                profiler.enable()
            meter = CpuMeter(getattr(running.dispatcher.queue, "pid", None))
            began, committed = await approve(store, people, alert_id)
            running.wake()
            # Wait on the simulator (cheap to ask), then on the database for the last records.
            await sim.wait_posts(count, timeout=600, poll=0.25)
            while True:
                states = await delivery_states(store, alert_id)
                if states.get("accepted", 0) >= count:
                    break
                if set(states) - {"queued", "sending", "accepted"}:
                    raise RuntimeError(f"unexpected delivery states: {states}")
                await asyncio.sleep(0.01)
            finished, cpu = time.monotonic(), meter.read()
            if profiler:
                profiler.disable()
        posts = await sim.posts()
        if len(posts) != count:
            raise RuntimeError(f"the simulator got {len(posts)} POSTs for {count} deliveries")
        report = ""
        if profiler:
            buffer = io.StringIO()
            pstats.Stats(profiler, stream=buffer).sort_stats("tottime").print_stats(25)
            report = buffer.getvalue()
        run = Run(f"Tocsin pipeline ({label or db})", count, finished - committed, posts[-1] - posts[0], cpu,
                  meter.gc_seconds)
        return run, bodies, report
    finally:
        await store.close()


async def main(args: argparse.Namespace) -> None:
    from alerts.dispatch.settings import DispatchSettings

    claim = {"max_claim": args.max_claim} if args.max_claim else {}
    settings = DispatchSettings(rate=args.rate, max_in_flight=args.in_flight, **claim,
                                materialise_batch=args.materialise_batch)
    # The pipelines of a round: each database, with the dispatcher's queries in each way asked.
    pipelines = [(db, queue, db if len(args.queue) == 1 else f"{db}, {queue}")
                 for db in args.db for queue in args.queue]
    if args.gc == "serve":
        from alerts.web.main import tune_gc

        tune_gc()  # as `tocsin serve` does once started; every client of the run shares it
    dbs = Databases()
    runs: dict[str, list[Run]] = {}
    profiles: list[str] = []
    try:
        with simulator() as sim:
            try:
                # Warm the simulator and the loopback path up before measuring anything.
                await bare(sim, min(2_000, args.recipients), args.in_flight, [BODY_FALLBACK])
                for repeat in range(args.repeat):
                    # Every client in each round, one after the other, against the same simulator.
                    bodies = [BODY_FALLBACK]
                    for db, queue, key in pipelines:
                        run, bodies, report = await pipeline(
                            sim, dbs, db, args.recipients, replace(settings, queue_process=queue == "process"),
                            args.profile and repeat == 0, key)
                        runs.setdefault(key, []).append(run)
                        if report:
                            profiles.append(f"--- cProfile of the pipeline ({key}, top 25 by own time) ---\n{report}")
                    runs.setdefault("bare", []).append(await bare(sim, args.recipients, args.in_flight, bodies))
                    runs.setdefault("sync", []).append(await sync(sim, args.sync_sample, bodies))
                    runs.setdefault("twilio_async", []).append(
                        await twilio_async(sim, args.recipients, args.in_flight, bodies))
            finally:
                await sim.aclose()
    finally:
        dbs.close()

    def median(key: str) -> float:
        return statistics.median(r.rate for r in runs[key])

    rows = []
    for key, seq in runs.items():
        mid = sorted(seq, key=lambda r: r.rate)[len(seq) // 2]
        rates = sorted(r.rate for r in seq)
        rows.append((mid.name, f"{mid.messages:,}", f"{mid.seconds:.2f}", f"{median(key):,.0f}",
                     f"{rates[0]:,.0f}-{rates[-1]:,.0f}", f"{mid.sim_rate:,.0f}", mid.cpu_ms, f"{mid.gc_seconds:.2f}"))
    print(machine())
    table(f"SMS fan-out to {args.recipients:,} recipients, {args.in_flight} in flight, {args.repeat} round(s), "
          f"GC {args.gc}",
          ["client", "messages", "seconds", "msg/s (median)", "range", "msg/s at simulator", "client CPU ms/msg",
           "GC s"],
          rows,
          "pipeline seconds: approve committed -> every delivery 'accepted' in the database; 'at simulator': "
          "first to last POST received; client CPU: event-loop thread + other threads (aiosqlite's, or the "
          "synchronous client's) + the dispatcher's queue process; seconds, 'at simulator' and CPU are of the "
          "median round.")
    def ratios(top: str, bottom: str) -> list[float]:
        # Within each round: its clients ran minutes apart at most, on the same machine load.
        return [a.rate / b.rate for a, b in zip(runs[top], runs[bottom], strict=True)]

    ratio_rows = []
    keys = [key for _, _, key in pipelines]
    wanted: list[tuple[str, str, str, float | None]] = [
        (key, "twilio_async", "SmsChannel.send alone", 0.9) for key in keys]
    wanted += [(key, "bare", "bare aiohttp", 0.6) for key in keys]
    wanted += [(key, "sync", "sync twilio", 3.0) for key in keys]
    if len(args.queue) == 2:  # what the queue process changes, side by side
        wanted += [(f"{db}, process", f"{db}, inline", f"pipeline ({db}, inline)", None) for db in args.db]
    wanted += [("twilio_async", "bare", "bare aiohttp", None)]
    for top, bottom, against, target in wanted:
        seq = ratios(top, bottom)
        mid = statistics.median(seq)
        name = f"pipeline ({top})" if top in keys else "SmsChannel.send alone"
        ratio_rows.append((f"{name} / {against}", f"{mid:.2f}", f"{min(seq):.2f}-{max(seq):.2f}",
                           " ".join(f"{r:.2f}" for r in seq), "-" if target is None else f">= {target:g}",
                           "-" if target is None else verdict(mid >= target)))
    table(f"Ratios per round ({args.repeat} round(s))", ["ratio", "median", "range", "each round", "target",
                                                          "verdict (median)"], ratio_rows,
          "Issue 18: pipeline >= 0.9 x SmsChannel.send alone and >= 0.6 x bare aiohttp; SPEC §12: >= 3 x sync.")
    for report in profiles:
        print(report)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipients", type=int, default=20_000)
    p.add_argument("--sync-sample", type=int, default=1_000)
    p.add_argument("--in-flight", type=int, default=64, help="max_in_flight, and the bare client's concurrency")
    p.add_argument("--rate", type=float, default=100_000, help="DispatchSettings.rate (high: not the limit here)")
    p.add_argument("--queue", nargs="+", choices=["process", "inline"], default=["process"],
                   help="the dispatcher's queries in a process of its own (as `tocsin serve`), in its event loop, "
                        "or both side by side")
    p.add_argument("--max-claim", type=int, default=None, help="DispatchSettings.max_claim (default: its default)")
    p.add_argument("--materialise-batch", type=int, default=50_000)
    p.add_argument("--db", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite"])
    p.add_argument("--repeat", type=int, default=3, help="rounds of all clients; medians are reported")
    p.add_argument("--gc", choices=["serve", "default"], default="serve",
                   help="serve: the GC settings of `tocsin serve` (alerts.web.main.tune_gc); default: Python's")
    p.add_argument("--profile", action="store_true", help="cProfile the first pipeline run (slows it down)")
    return p.parse_args(argv)


if __name__ == "__main__":
    quiet()
    asyncio.run(main(parse()))
