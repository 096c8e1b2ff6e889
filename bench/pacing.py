"""Pacing: the measured sending rate against the configured one (DispatchSettings.rate),
from the receive times the Twilio simulator (a separate process) records.

    .venv/bin/python -m bench.pacing [--rates 50 500] [--seconds 10] [--db sqlite]

For each rate, rate x seconds subscribers are sent one alert through the whole pipeline;
reported are the average rate (first to last POST) and the most POSTs in any 1-second window.
SPEC §12: the configured rate is never exceeded (within 5%)."""

from __future__ import annotations

import argparse
import asyncio
import bisect
from typing import Any

from bench.common import (
    Databases,
    approve,
    engine,
    generate_subscribers,
    machine,
    make_people,
    quiet,
    simulator,
    submitted_alert,
    table,
    verdict,
)

TOLERANCE = 0.05


def max_window(times: list[float], width: float = 1.0) -> tuple[int, float]:
    """The most events in any half-open window [t, t + width), and where it starts (relative
    to the first event). Windows starting at an event are enough to find the maximum."""
    best, at = 0, 0.0
    for i, start in enumerate(times):
        count = bisect.bisect_left(times, start + width, lo=i) - i
        if count > best:
            best, at = count, start - times[0]
    return best, at


async def measure(sim: Any, dbs: Databases, db: str, rate: float, seconds: float, in_flight: int) -> dict[str, Any]:
    from alerts.dispatch.settings import DispatchSettings
    from alerts.store import Store

    count = int(rate * seconds)
    store = Store(await dbs.new(db))
    try:
        await generate_subscribers(store, count)
        people = await make_people(store)
        alert_id = await submitted_alert(store, people)
        await sim.reset()
        async with engine(store, sim, DispatchSettings(rate=rate, max_in_flight=in_flight)) as running:
            await asyncio.sleep(0.5)
            await approve(store, people, alert_id)
            running.wake()
            await sim.wait_posts(count, timeout=seconds * 3 + 30, poll=0.25)
        posts = await sim.posts()
    finally:
        await store.close()
    span = posts[-1] - posts[0]
    window, where = max_window(posts)
    # Steady state: the same, leaving the first second out (the token bucket starts full).
    steady = [t for t in posts if t >= posts[0] + 1.0]
    steady_window, _ = max_window(steady) if steady else (0, 0.0)
    return {"rate": rate, "messages": len(posts), "span": span, "average": (len(posts) - 1) / span,
            "window": window, "where": where, "steady_window": steady_window}


async def main(args: argparse.Namespace) -> None:
    dbs = Databases()
    results = []
    try:
        with simulator() as sim:
            try:
                for rate in args.rates:
                    results.append(await measure(sim, dbs, args.db, rate, args.seconds, args.in_flight))
            finally:
                await sim.aclose()
    finally:
        dbs.close()
    rows = []
    for r in results:
        over = r["window"] / r["rate"] - 1
        rows.append((f"{r['rate']:g}/s", f"{r['messages']:,}", f"{r['span']:.2f}", f"{r['average']:.2f}",
                     f"{(r['average'] / r['rate'] - 1) * 100:+.1f}%", f"{r['window']} (at {r['where']:.1f} s)",
                     f"{over * 100:+.1f}%", str(r["steady_window"]), verdict(over <= TOLERANCE)))
    print(machine())
    table(f"Pacing ({args.db}): measured against configured rate",
          ["configured", "messages", "seconds", "average/s", "avg vs rate", "max in any 1 s", "max vs rate",
           "max in 1 s after the first s", "<= 5% above"], rows,
          "From the simulator's receive times (first to last POST). 'at': where the busiest window starts, "
          "from the first POST.")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rates", type=float, nargs="+", default=[50.0, 500.0])
    p.add_argument("--seconds", type=float, default=10.0, help="how long to send at each rate")
    p.add_argument("--in-flight", type=int, default=50, help="DispatchSettings.max_in_flight")
    p.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    return p.parse_args(argv)


if __name__ == "__main__":
    quiet()
    asyncio.run(main(parse()))
