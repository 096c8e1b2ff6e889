"""One rate across instances: three `tocsin serve` processes on one PostgreSQL database share an
account rate (TOCSIN_SMS_RATE, alerts.dispatch.shares); one is SIGKILLed mid-broadcast.

    .venv/bin/python -m bench.shared_rate [--rate 60] [--instances 3] [--before 8] [--after 12] [--lease 5]

Counted from the simulator's receive times (a process of its own, bench.simserver). Printed:
messages per second, the busiest 1-second window (issue 18: never over rate + 5%), the average
rate with all instances and after the survivors took the dead one's share, and how long after
the kill that took (read from the rate_shares table, and from the receive times: the first
second holding more than the survivors' old shares could send)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.common import (
    FROM_NUMBER,
    SIM_SID,
    SIM_TOKEN,
    Databases,
    People,
    ServeProcess,
    SimProcess,
    approve,
    free_port,
    generate_subscribers,
    machine,
    make_people,
    quiet,
    simulator,
    submitted_alert,
    table,
    verdict,
)
from bench.pacing import max_window


def start_instance(db_url: str, sim_base: str, var: Path, rate: float, lease: float, *args: str) -> ServeProcess:
    port = free_port()
    env = {"TOCSIN_DATABASE_URL": db_url, "TOCSIN_HOST": "127.0.0.1", "TOCSIN_PORT": str(port),
           "TOCSIN_VAR_DIR": str(var), "TOCSIN_SECRET_KEY": "b" * 40, "TWILIO_ACCOUNT_SID": SIM_SID,
           "TWILIO_AUTH_TOKEN": SIM_TOKEN, "TWILIO_FROM_NUMBER": FROM_NUMBER, "TWILIO_API_BASE": sim_base,
           "TOCSIN_SMS_RATE": str(rate), "TOCSIN_RATE_LEASE_SECONDS": str(lease), "TOCSIN_LEASE_SECONDS": "5",
           "TOCSIN_LOG_FORMAT": "text"}
    return ServeProcess(env, var / f"instance-{port}.log", *args)


@dataclass
class Fleet:
    sim: SimProcess
    store: Any
    people: People
    alert_id: int
    instances: list[ServeProcess]


@contextlib.asynccontextmanager
async def fleet(rate: float, lease: float, subscribers: int, *flags: tuple[str, ...]) -> AsyncIterator[Fleet]:
    """One PostgreSQL database with `subscribers` and an alert one approve away from sending,
    the simulator in a process of its own, and a healthy `tocsin serve` per entry of `flags`
    (its command-line flags) sharing `rate`; everything closed at the end."""
    from alerts.store import Store

    dbs = Databases()
    instances: list[ServeProcess] = []
    var = Path(tempfile.mkdtemp(prefix="tocsin-fleet-"))
    try:
        with simulator() as sim:
            db_url = await dbs.new("postgresql")
            store = Store(db_url)
            try:
                await generate_subscribers(store, subscribers)
                people = await make_people(store)
                alert_id = await submitted_alert(store, people)
                instances = [start_instance(db_url, sim.base, var, rate, lease, *args) for args in flags]
                for instance in instances:
                    await instance.healthy()
                yield Fleet(sim, store, people, alert_id, instances)
            finally:
                await store.close()
                await sim.aclose()
    finally:
        for instance in instances:
            instance.close()
        dbs.close()


async def live_claims(store: Any) -> list[float]:
    from alerts.schema import rate_shares

    async with store.read() as conn:
        return sorted((await conn.execute(sa.select(rate_shares.c.claim)
                                          .where(rate_shares.c.expires_at > sa.func.now()))).scalars())


async def run(args: argparse.Namespace) -> dict[str, Any]:
    rate, n = args.rate, args.instances
    total = int(rate * (args.before + args.after + args.lease + 2))
    async with fleet(rate, args.lease, total, (), *[("--worker-only",)] * (n - 1)) as f:
        while await live_claims(f.store) != [rate / n] * n:  # everyone joined
            await asyncio.sleep(0.1)
        await f.sim.reset()
        await approve(f.store, f.people, f.alert_id)
        await f.sim.wait_posts(int(rate * args.before), timeout=args.before * 4 + 60, poll=0.1)
        killed_at = time.monotonic()
        f.instances[-1].kill()
        taken_at = None
        while taken_at is None:  # the survivors' claims, as the table has them
            if await live_claims(f.store) == [rate / (n - 1)] * (n - 1):
                taken_at = time.monotonic()
            else:
                await asyncio.sleep(0.01)  # the takeover seen at most 10 ms late (plus a query)
        # Every message: counted on the POSTs (the reconciliation's GETs are requests too).
        deadline = time.monotonic() + total / rate * 4 + 60
        while len(posts := await f.sim.posts()) < total and time.monotonic() < deadline:
            await asyncio.sleep(0.25)
    return {"posts": posts, "killed_at": killed_at, "taken_at": taken_at}


def report(args: argparse.Namespace, r: dict[str, Any]) -> None:
    rate, n = args.rate, args.instances
    posts, killed = r["posts"], r["killed_at"]
    first = posts[0]
    per_second = [0] * (int(posts[-1] - first) + 1)
    for t in posts:
        per_second[int(t - first)] += 1
    busiest, where = max_window(posts)
    # With all instances: from the first second on (start-up left out) to the kill.
    steady = [t for t in posts if first + 1 <= t < killed]
    before = (len(steady) - 1) / (steady[-1] - steady[0]) if len(steady) > 1 else 0.0
    # After: from the table's takeover to the last second of the broadcast.
    after_posts = [t for t in posts if r["taken_at"] <= t < posts[-1] - 1]
    after = (len(after_posts) - 1) / (after_posts[-1] - after_posts[0]) if len(after_posts) > 1 else 0.0
    # From the receive times: the first window after the kill with more than the survivors'
    # old shares could send ((n-1) x (rate/n + 1) in a second).
    old = (n - 1) * (int(rate / n) + 1)
    seen = next((t for i, t in enumerate(posts) if t >= killed and
                 sum(1 for u in posts[i:i + int(rate * 2)] if u < t + 1) > old), None)
    print(machine())
    print(f"messages per second, from the first ({len(posts)} in all; killed at second "
          f"{killed - first:.1f}): {per_second}")
    table(f"One rate across instances: {n} instances on PostgreSQL, account rate {rate:g}/s, lease {args.lease:g} s",
          ["busiest 1 s", "vs rate", f"average, {n} instances", f"average after takeover ({n - 1})",
           "takeover after kill (table)", "first 1-s window over the old shares, ends",
           f"<= {rate * 1.05:g} in any second"],
          [(f"{busiest} (at {where:.1f} s)", f"{(busiest / rate - 1) * 100:+.1f}%", f"{before:.1f}/s", f"{after:.1f}/s",
            f"{r['taken_at'] - killed:.2f} s",
            "-" if seen is None else f"{seen + 1 - killed:.2f} s after the kill", verdict(busiest <= rate * 1.05))],
          "From the simulator's receive times. Takeover (table): when the survivors' claims reached "
          f"rate/{n - 1}; at most the lease, from the dead one's last renewal.")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rate", type=float, default=60.0, help="TOCSIN_SMS_RATE, the account's")
    p.add_argument("--instances", type=int, default=3)
    p.add_argument("--before", type=float, default=8.0, help="seconds of sending before the kill")
    p.add_argument("--after", type=float, default=12.0, help="seconds of sending after the takeover")
    p.add_argument("--lease", type=float, default=5.0, help="TOCSIN_RATE_LEASE_SECONDS")
    p.add_argument("--dump", type=Path, help="write the receive times here, one a line")
    return p.parse_args(argv)


def main() -> None:
    quiet()
    args = parse()
    result = asyncio.run(run(args))
    if args.dump:
        args.dump.write_text("".join(f"{t}\n" for t in result["posts"]) + f"# killed {result['killed_at']}\n")
    report(args, result)


if __name__ == "__main__":
    main()
