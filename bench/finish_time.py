"""Time to finish: the dry run's estimate (alerts.preview, `estimate.seconds`) next to a measured
run of the same alert through the whole pipeline, from the approve's commit to the last POST the
Twilio simulator (a separate process) receives.

    .venv/bin/python -m bench.finish_time [--rate 50] [--seconds 30] [--db sqlite]

Two cases at the same rate: counted in messages (TOCSIN_SMS_RATE_UNIT=messages), and counted in
segments (the bench's subscribers read az, en, ru, fr and ar in turn, so most of their SMS have
several segments) with the audience sized to take about as long. Issue 18: within 10%."""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass

from bench.common import (
    Databases,
    SimProcess,
    approve,
    engine,
    generate_subscribers,
    machine,
    make_people,
    quiet,
    simulator,
    submitted_alert,
    table,
    utcnow,
    verdict,
)

TARGET = 0.10


@dataclass
class Finish:
    unit: str
    people: int
    segments: int
    estimate: float  # estimate.seconds of the dry run
    naive: float  # people / rate: what the estimate said before it counted segments and start-up
    first: float  # approve committed -> first POST at the simulator
    last: float  # approve committed -> last POST at the simulator

    @property
    def error(self) -> float:
        return self.estimate / self.last - 1


async def _segments_per_person(db: str, dbs: Databases, rate: float) -> float:
    """The average segments per person of the bench's alert, from its own dry run on 100 people."""
    from alerts import alert as alerts_
    from alerts.preview import preview
    from alerts.store import Store

    store = Store(await dbs.new(db))
    try:
        await generate_subscribers(store, 100)
        people = await make_people(store)
        alert_id = await submitted_alert(store, people)
        async with store.read() as conn:
            found = await preview(conn, await alerts_.load(conn, alert_id), utcnow(), rate=rate)
        return float(found["estimate"]["segments"]) / found["estimate"]["messages"]
    finally:
        await store.close()


async def measure(sim: SimProcess, dbs: Databases, db: str, rate: float, people: int, unit: str,
                  in_flight: int) -> Finish:
    from alerts import alert as alerts_
    from alerts.dispatch.settings import DispatchSettings
    from alerts.preview import preview
    from alerts.store import Store

    store = Store(await dbs.new(db))
    try:
        await generate_subscribers(store, people)
        staff = await make_people(store)
        alert_id = await submitted_alert(store, staff)
        async with store.read() as conn:
            dry_run = await preview(conn, await alerts_.load(conn, alert_id), utcnow(), rate=rate, rate_unit=unit)
        await sim.reset()
        settings = DispatchSettings(rate=rate, rate_unit=unit, max_in_flight=in_flight)
        async with engine(store, sim, settings) as running:
            await asyncio.sleep(0.5)  # the engine is idle, as it is when an approver clicks
            _began, committed = await approve(store, staff, alert_id)
            running.wake()  # what Events.local does after the commit
            await sim.wait_posts(people, timeout=dry_run["estimate"]["seconds"] * 3 + 30, poll=0.1)
        posts = await sim.posts()
    finally:
        await store.close()
    estimate = dry_run["estimate"]
    return Finish(unit, people, estimate["segments"], estimate["seconds"], round(people / rate, 1),
                  posts[0] - committed, posts[-1] - committed)


async def main(args: argparse.Namespace) -> None:
    dbs = Databases()
    results = []
    try:
        per_person = await _segments_per_person(args.db, dbs, args.rate)
        with simulator() as sim:
            try:
                for unit in args.units:
                    people = int(args.rate * args.seconds / (per_person if unit == "segments" else 1))
                    results.append(await measure(sim, dbs, args.db, args.rate, people, unit, args.in_flight))
            finally:
                await sim.aclose()
    finally:
        dbs.close()
    rows = [(r.unit, f"{r.people:,}", f"{r.segments:,}", f"{r.estimate:.1f}", f"{r.naive:.1f}",
             f"{r.first * 1000:.0f} ms", f"{r.last:.2f}", f"{r.error * 100:+.1f}%", verdict(abs(r.error) <= TARGET))
            for r in results]
    print(machine())
    table(f"Time to finish at {args.rate:g}/s ({args.db}): the dry run's estimate against a measured run",
          ["rate counts", "people", "segments", "estimate s", "people / rate s", "first POST", "last POST s",
           "estimate error", "within 10%"], rows,
          "Measured from the approve's commit to the simulator's receive times (one monotonic clock). "
          "'people / rate': what the estimate said before it counted segments and the start-up.")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rate", type=float, default=50.0, help="the account's rate (DispatchSettings.rate)")
    p.add_argument("--seconds", type=float, default=30.0, help="about how long each run sends")
    p.add_argument("--units", nargs="+", choices=["messages", "segments"], default=["messages", "segments"])
    p.add_argument("--in-flight", type=int, default=50, help="DispatchSettings.max_in_flight")
    p.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    return p.parse_args(argv)


if __name__ == "__main__":
    quiet()
    asyncio.run(main(parse()))
