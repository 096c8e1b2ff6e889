"""Sign-up codes beside a broadcast: two sending `tocsin serve` processes and one `--web-only`
on one PostgreSQL database share an account rate (alerts.dispatch.shares). While the
broadcast runs, people sign up on the web-only instance: first a trickle (one every 2 s), then
a burst (40 in 2 s), then nobody.

    .venv/bin/python -m bench.web_only_share [--rate 60] [--lease 5]

Counted from the simulator's receive times, alerts and codes told apart by number. Printed:
the busiest 1-second window of all messages (never over rate + 5%), the alerts' rate in each
phase beside what the even split of issue 18's first web-only share gave them (two thirds of
the rate while codes were sent) and beside the rate less the web-only's claim, the most the
web-only instance claimed, how long each code took (form posted to code accepted), and when
the web-only's share went back after the last code."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

import aiohttp
import sqlalchemy as sa

from bench.common import REGION, approve, machine, quiet, table, verdict
from bench.pacing import max_window
from bench.shared_rate import fleet

ALERT_PREFIX = "+99450"  # bench.common.generate_subscribers
CODE_PREFIX = "+99455"
QUIET, TRICKLE, BURST = 4.0, 12.0, 2.0  # seconds of each phase; then nobody signs up
TRICKLE_EVERY, BURST_CODES = 2.0, 40


def signup_phone(i: int) -> str:
    # Each in its own block of a thousand numbers, from its own address: the sign-up limits
    # (alerts.ratelimit.SignupLimits) count both.
    return f"{CODE_PREFIX}{i:04d}123"


async def sign_up(session: aiohttp.ClientSession, base: str, i: int, sent: list[tuple[str, float, float, int]],
                  phase: str) -> None:
    began = time.monotonic()
    form = {"phone": signup_phone(i), "language": "en", "area": REGION}
    async with session.post(f"{base}/subscribe", data=form, allow_redirects=False,
                            headers={"X-Forwarded-For": f"198.51.{i // 250}.{i % 250 + 1}"}) as resp:
        await resp.read()
        sent.append((phase, began, time.monotonic(), resp.status))


async def watch_claims(store: Any, samples: list[tuple[float, dict[str, tuple[float, Any]]]],
                       stop: asyncio.Event) -> None:
    from alerts.schema import rate_shares

    while not stop.is_set():
        async with store.read() as conn:
            rows = (await conn.execute(sa.select(rate_shares.c.instance, rate_shares.c.claim, rate_shares.c.asks)
                                       .where(rate_shares.c.expires_at > sa.func.now()))).all()
        samples.append((time.monotonic(), {row.instance: (row.claim, row.asks) for row in rows}))
        await asyncio.sleep(0.1)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    rate = args.rate
    seconds = QUIET + TRICKLE + BURST + args.after
    sent: list[tuple[str, float, float, int]] = []
    samples: list[tuple[float, dict[str, tuple[float, Any]]]] = []
    stop = asyncio.Event()
    async with fleet(rate, args.lease, int(rate * (seconds + 4)), (), ("--worker-only",), ("--web-only",)) as f:
        web = f"http://127.0.0.1:{f.instances[-1].port}"
        watcher = asyncio.create_task(watch_claims(f.store, samples, stop))
        try:
            while not samples or sorted(claim for claim, _ in samples[-1][1].values()) != [rate / 2] * 2:
                await asyncio.sleep(0.1)  # the two sending instances have joined; the web-only holds none
            await f.sim.reset()
            await approve(f.store, f.people, f.alert_id)
            approved = time.monotonic()
            async with aiohttp.ClientSession() as session:
                asked: list[asyncio.Task[None]] = []
                await asyncio.sleep(QUIET)
                for i in range(int(TRICKLE / TRICKLE_EVERY) + BURST_CODES):
                    trickle = i < TRICKLE / TRICKLE_EVERY
                    asked.append(asyncio.create_task(sign_up(session, web, i, sent, "trickle" if trickle else "burst")))
                    await asyncio.sleep(TRICKLE_EVERY if trickle else BURST / BURST_CODES)
                await asyncio.gather(*asked)
                await asyncio.sleep(max(0.0, approved + seconds - time.monotonic()))
        finally:
            stop.set()
            await watcher
        posts = await f.sim.posts_to()
    return {"posts": posts, "sent": sent, "samples": samples, "approved": approved}


def report(args: argparse.Namespace, r: dict[str, Any]) -> None:
    rate, approved = args.rate, r["approved"]
    posts: list[tuple[float, str]] = r["posts"]
    alerts = [t for t, to in posts if to.startswith(ALERT_PREFIX)]
    codes = [t for t, to in posts if to.startswith(CODE_PREFIX)]
    busiest, where = max_window([t for t, _ in posts])
    first = posts[0][0]
    seconds = int(posts[-1][0] - first) + 1
    per_second = [[0, 0] for _ in range(seconds)]
    for t in alerts:
        per_second[int(t - first)][0] += 1
    for t in codes:
        per_second[int(t - first)][1] += 1

    trickle_from, burst_from = approved + QUIET, approved + QUIET + TRICKLE
    last_code = max(codes) if codes else burst_from

    def web_claims(since: float, until: float) -> list[tuple[float, Any]]:
        """The instance that was not there at the start: the web-only one."""
        senders = next(set(rows) for at, rows in reversed(r["samples"]) if at <= approved)
        return [(claim, asks) for at, rows in r["samples"] if since <= at < until
                for name, (claim, asks) in rows.items() if name not in senders]

    given_back = next((at for at, rows in r["samples"] if at > last_code and len(rows) == 2), None)

    def alert_rate(since: float, until: float) -> float:
        inside = [t for t in alerts if since <= t < until]
        return len(inside) / (until - since) if inside else 0.0

    def latencies(phase: str) -> str:
        took = [end - began for p, began, end, status in r["sent"] if p == phase]
        return f"median {statistics.median(took):.2f} s, max {max(took):.2f} s" if took else "-"

    # Each phase after its first 2 s, when the shares have settled (a renewal is lease/5).
    phases = [("before any sign-up", approved + 1, trickle_from),
              (f"trickle (1 per {TRICKLE_EVERY:g} s)", trickle_from + 2, burst_from),
              (f"burst ({BURST_CODES} in {BURST:g} s) and the lease after it", burst_from, last_code + args.lease),
              ("share given back", (given_back or last_code + args.lease) + 1, posts[-1][0] - 1)]
    rows = []
    for name, since, until in phases:
        claims = web_claims(since, until)
        web_max = max((c for c, _ in claims), default=0.0)
        rows.append((name, f"{until - since:.1f} s", f"{alert_rate(since, until):.1f}/s",
                     f"{rate - web_max:g}/s" if claims else f"{rate:g}/s",
                     f"{rate * 2 / 3:.0f}/s" if claims else f"{rate:g}/s",
                     f"{web_max:g}/s (asks {max((a or 0 for _, a in claims), default=0):g})" if claims else "none"))
    statuses = sorted({status for *_, status in r["sent"]})
    print(machine())
    print("alerts + codes per second, from the first message:",
          " ".join(f"{a}+{c}" if c else f"{a}" for a, c in per_second))
    table(f"Sign-up codes on a --web-only instance beside a broadcast: account rate {rate:g}/s, two sending "
          f"instances, lease {args.lease:g} s, PostgreSQL",
          ["phase", "length", "alerts", "rate less the web-only's claim (most)",
           "alerts at an even split (the rule before)", "web-only's claim (most)"], rows,
          "Alerts and codes from the simulator's receive times; claims sampled from rate_shares every 100 ms.")
    table("All messages, and the codes",
          ["busiest 1 s (all)", f"<= {rate * 1.05:g}", "codes sent", "HTTP answers", "trickle: form to code",
           "burst: form to code", "share back after the last code"],
          [(f"{busiest} (at {where:.1f} s)", verdict(busiest <= rate * 1.05), f"{len(codes)} of {len(r['sent'])}",
            ", ".join(map(str, statuses)), latencies("trickle"), latencies("burst"),
            "-" if given_back is None else f"{given_back - last_code:.2f} s")])


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rate", type=float, default=60.0, help="TOCSIN_SMS_RATE, the account's")
    p.add_argument("--lease", type=float, default=5.0, help="TOCSIN_RATE_LEASE_SECONDS")
    p.add_argument("--after", type=float, default=12.0, help="seconds of broadcast after the burst")
    return p.parse_args(argv)


def main() -> None:
    quiet()
    args = parse()
    report(args, asyncio.run(run(args)))


if __name__ == "__main__":
    main()
