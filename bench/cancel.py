"""Cancel: how soon sending stops after an alert is cancelled.

    .venv/bin/python -m bench.cancel [--rate 20] [--subscribers 2000] [--trials 3] [--db sqlite]

A slow rate keeps many deliveries pending; after a few seconds of sending the alert is
cancelled with alerts.dispatch.halt.cancel_alert in one write transaction, and the engine
woken, as the API does. Reported: the time from the cancel's commit to the last provider
request the simulator (a separate process) received. SPEC §12: within 1 s."""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from bench.common import (
    Databases,
    approve,
    delivery_states,
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

TARGET = 1.0


async def trial(sim: Any, store: Any, running: Any, people: Any, warmup: float, settle: float) -> dict[str, Any]:
    from alerts.dispatch.halt import cancel_alert

    alert_id = await submitted_alert(store, people)
    await sim.reset()
    await approve(store, people, alert_id)
    running.wake()
    await asyncio.sleep(warmup)  # sending at the configured pace
    began = time.monotonic()
    async with store.write() as conn:
        halted = await cancel_alert(conn, alert_id, people.operator, utcnow())
    committed = time.monotonic()
    running.wake()  # what Events.local does after the commit
    await asyncio.sleep(settle)
    posts = await sim.posts()
    after = [t for t in posts if t > committed]
    states = await delivery_states(store, alert_id)
    return {"sent_before": len(posts) - len(after), "halted": halted, "after": len(after),
            "last": (after[-1] - committed) if after else 0.0, "tx_ms": (committed - began) * 1000,
            "cancelled": states.get("cancelled", 0)}


async def main(args: argparse.Namespace) -> None:
    from alerts.dispatch.settings import DispatchSettings
    from alerts.store import Store

    dbs = Databases()
    results = []
    try:
        with simulator() as sim:
            try:
                store = Store(await dbs.new(args.db))
                try:
                    await generate_subscribers(store, args.subscribers)
                    people = await make_people(store)
                    settings = DispatchSettings(rate=args.rate, max_in_flight=args.in_flight)
                    async with engine(store, sim, settings) as running:
                        for _ in range(args.trials):
                            results.append(await trial(sim, store, running, people, args.warmup, args.settle))
                finally:
                    await store.close()
            finally:
                await sim.aclose()
    finally:
        dbs.close()
    rows = [(str(i + 1), str(r["sent_before"]), f"{r['halted']:,}", f"{r['tx_ms']:.0f}", str(r["after"]),
             f"{r['last'] * 1000:.0f}", verdict(r["last"] <= TARGET)) for i, r in enumerate(results)]
    print(machine())
    table(f"Cancel at {args.rate:g}/s with {args.subscribers:,} pending ({args.db})",
          ["trial", "sent before cancel", "deliveries halted", "cancel tx ms", "requests after commit",
           "commit -> last request ms", "<= 1 s"], rows,
          "Requests after commit: POSTs the simulator received after the cancel committed (already past "
          "the dispatcher's last check, or claimed and not yet noticed).")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rate", type=float, default=20.0)
    p.add_argument("--subscribers", type=int, default=2_000)
    p.add_argument("--trials", type=int, default=3)
    p.add_argument("--warmup", type=float, default=3.0, help="seconds of sending before the cancel")
    p.add_argument("--settle", type=float, default=3.0, help="seconds to watch after the cancel")
    p.add_argument("--in-flight", type=int, default=50)
    p.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    return p.parse_args(argv)


if __name__ == "__main__":
    quiet()
    asyncio.run(main(parse()))
