"""The twilio library's pace beside the engine's database work, in another process and in the
same one: where the fan-out's remaining cost is (issue 18, docs/benchmarks.md (a)).

    .venv/bin/python -m bench.beside [--recipients 20000] [--in-flight 64] [--engine-rate 3700]
                                     [--engine-seconds 12] [--repeat 3]

`SmsChannel.send` alone against the simulator, three ways in each round: alone; while another
process runs the real Dispatcher and Coordinator on SQLite at --engine-rate a second with a
channel that answers at once (the pipeline's claims, records, watches and coordinator ticks,
without HTTP); and with that same engine in this process's event loop, as the pipeline has it.
The engine is approving and sending before the library starts, and goes on after it ends. The
ratios to the library alone, within each round, tell what sharing the process costs the
senders apart from what sharing the cores does."""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
from datetime import datetime
from typing import Any

from bench import fanout
from bench.common import (
    Databases,
    approve,
    generate_subscribers,
    machine,
    make_people,
    quiet,
    simulator,
    sms_texts,
    submitted_alert,
    table,
    utcnow,
)
from channels.base import OutboundMessage, SendResult


class Instant:
    """An SMS channel that answers at once: the engine's own work, and no HTTP."""

    name = "sms"

    async def send(self, message: OutboundMessage, now: datetime) -> SendResult:
        return SendResult(provider_id=f"SM{message.delivery_id:032d}")

    async def lookup(self, message: OutboundMessage, since: datetime) -> SendResult | None:
        return None

    async def close(self) -> None:
        return None


async def texts(dbs: Databases) -> list[str]:
    """The texts the pipeline sends its subscribers in their five languages, as bench.fanout's
    references send them."""
    from alerts.store import Store

    store = Store(await dbs.new("sqlite"))
    try:
        return await sms_texts(store, await submitted_alert(store, await make_people(store)))
    finally:
        await store.close()


async def run_engine(dbs: Databases, rate: float, seconds: float, started: Any = None) -> None:
    """The real engine on a fresh SQLite database, an alert to rate x (seconds + 2) subscribers
    approved and sent at `rate` through Instant, for `seconds` after the approval; `started`
    (an asyncio or a multiprocessing Event) is set once it is approved and the engine woken."""
    from alerts.dispatch.engine import Engine
    from alerts.dispatch.failpoints import Failpoints
    from alerts.dispatch.settings import DispatchSettings
    from alerts.store import Store

    store = Store(await dbs.new("sqlite"))
    try:
        await generate_subscribers(store, int(rate * (seconds + 2)))
        people = await make_people(store)
        alert_id = await submitted_alert(store, people)
        engine = Engine(store, {"sms": Instant()}, utcnow, DispatchSettings(rate=rate, max_in_flight=64),
                        Failpoints(""))
        engine.start()
        try:
            await approve(store, people, alert_id)
            engine.wake()
            if started is not None:
                started.set()
            await asyncio.sleep(seconds)
        finally:
            await engine.stop()
    finally:
        await store.close()


def _engine_process(rate: float, seconds: float, started: Any) -> None:
    """The engine in a process of its own (started by spawn: a fresh interpreter)."""
    quiet()

    async def main() -> None:
        dbs = Databases()
        try:
            await run_engine(dbs, rate, seconds, started)
        finally:
            dbs.close()

    asyncio.run(main())


async def round_(sim: Any, dbs: Databases, args: argparse.Namespace, bodies: list[str]) -> dict[str, fanout.Run]:
    runs = {"alone": await fanout.twilio_async(sim, args.recipients, args.in_flight, bodies)}

    context = multiprocessing.get_context("spawn")
    started = context.Event()
    other = context.Process(target=_engine_process, args=(args.engine_rate, args.engine_seconds, started))
    other.start()
    try:
        if not await asyncio.to_thread(started.wait, 120):
            raise RuntimeError(f"the engine's process did not approve and start sending (exit code {other.exitcode})")
        await asyncio.sleep(1.0)  # the first claims are out: the engine is at its pace
        runs["other"] = await fanout.twilio_async(sim, args.recipients, args.in_flight, bodies)
    finally:
        await asyncio.to_thread(other.join, args.engine_seconds + 60)
        if other.is_alive():
            other.kill()

    ready = asyncio.Event()
    engine = asyncio.create_task(run_engine(dbs, args.engine_rate, args.engine_seconds, ready))
    await ready.wait()
    await asyncio.sleep(1.0)
    runs["same"] = await fanout.twilio_async(sim, args.recipients, args.in_flight, bodies)
    await engine
    return runs


async def main(args: argparse.Namespace) -> None:
    from alerts.web.main import tune_gc

    tune_gc()  # as `tocsin serve` does, for every run alike
    dbs = Databases()
    rounds: list[dict[str, fanout.Run]] = []
    try:
        bodies = await texts(dbs)
        with simulator() as sim:
            try:
                await fanout.bare(sim, min(2_000, args.recipients), args.in_flight, [fanout.BODY_FALLBACK])
                for _ in range(args.repeat):
                    rounds.append(await round_(sim, dbs, args, bodies))
            finally:
                await sim.aclose()
    finally:
        dbs.close()

    names = {"alone": "SmsChannel.send alone",
             "other": "beside the engine in another process",
             "same": "beside the engine in this process"}
    rows = []
    for key, name in names.items():
        rates = [r[key].rate for r in rounds]
        ratios = [r[key].rate / r["alone"].rate for r in rounds]
        rows.append((name, f"{statistics.median(rates):,.0f}", " ".join(f"{x:,.0f}" for x in rates),
                     f"{statistics.median(ratios):.2f}", " ".join(f"{x:.2f}" for x in ratios)))
    print(machine())
    table(f"SmsChannel.send, {args.recipients:,} messages, {args.in_flight} in flight; the engine on SQLite at "
          f"{args.engine_rate:,.0f}/s with an instant channel; {args.repeat} round(s)",
          ["library", "msg/s (median)", "each round", "/ alone (median)", "each round"], rows,
          "Ratios within each round. The engine: the real Dispatcher and Coordinator (claims, records, watches, "
          "ticks), no HTTP.")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipients", type=int, default=20_000)
    p.add_argument("--in-flight", type=int, default=64)
    p.add_argument("--engine-rate", type=float, default=3_700, help="the engine's pace: the pipeline's, measured")
    p.add_argument("--engine-seconds", type=float, default=12.0, help="how long the engine sends after approving")
    p.add_argument("--repeat", type=int, default=3)
    return p.parse_args(argv)


if __name__ == "__main__":
    quiet()
    asyncio.run(main(parse()))
