"""Materialising a large audience into deliveries, and the first message after approval.

    .venv/bin/python -m bench.materialise [--subscribers 1000000] [--db sqlite postgresql]
                                          [--first-trials 3] [--skip-first]
                                          [--before] [--parallel N ...] [--rounds N]

(b) For each database: the subscribers are generated in SQL, an alert is inserted in state
'approved', and a fresh subprocess that does nothing else runs rounds.start_due and then
rounds.materialise_step in a loop, as the Coordinator does; it reports the seconds and its
peak RSS (getrusage ru_maxrss). SPEC §12: < 10 s and < 200 MB for 1,000,000 subscribers.
With --before, the same database is first taken down to migration 0012's schema (foreign keys
on deliveries, a full provider_id index) and measured with one range at a time, side by side;
--parallel measures given numbers of ranges at once; --rounds repeats the whole list in turn.

(c) On the same database (its deliveries removed), a Coordinator and a Dispatcher run idle,
then an alert is approved through alerts.workflow and both are woken, as the API does; the
time is from the approve's commit to the simulator (a separate process) receiving the first
POST. SPEC §12: < 250 ms whatever the audience size."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from typing import Any

import sqlalchemy as sa

from bench.common import (
    ROOT,
    Databases,
    engine,
    generate_subscribers,
    insert_approved_alert,
    machine,
    make_people,
    quiet,
    simulator,
    submitted_alert,
    table,
    utcnow,
    verdict,
)

SECONDS_TARGET = 10.0
RSS_TARGET_MB = 200.0
FIRST_TARGET_MS = 250.0


# ---- (b) the child: materialisation alone ----

async def child(url: str, parallel: int | None = None) -> dict[str, Any]:
    from alerts.dispatch import rounds
    from alerts.dispatch.settings import DispatchSettings
    from alerts.store import Store
    from bench.common import peak_rss_mb

    settings = DispatchSettings()
    store = Store(url)
    parallel = rounds.parallel_batches(store) if parallel is None else parallel
    async with store.read() as conn:  # connect (and load the driver) before measuring
        await conn.execute(sa.text("SELECT 1"))
    before = peak_rss_mb()
    began = time.perf_counter()
    started = await rounds.start_due(store, utcnow(), settings.schedule_grace)
    steps = 0
    while await rounds.materialise_step(store, utcnow(), settings.first_batch, settings.materialise_batch, parallel):
        steps += 1
    seconds = time.perf_counter() - began
    peak = peak_rss_mb()
    with open("/proc/self/status") as status:  # the kernel's own high-water mark, to cross-check
        hwm = next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmHWM:"))
    from alerts.schema import deliveries

    async with store.read() as conn:
        made = await conn.scalar(sa.select(sa.func.count()).select_from(deliveries))
    await store.close()
    return {"seconds": seconds, "peak_rss_mb": peak, "vm_hwm_mb": hwm, "rss_before_mb": before, "steps": steps,
            "deliveries": made, "started": started, "first_batch": settings.first_batch,
            "batch": settings.materialise_batch, "parallel": parallel}


# Linux keeps ru_maxrss across execve, so a child started straight from this (large) process
# would report at least this process's peak; a tiny launcher in between keeps the figure clean.
_LAUNCHER = "import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:]).returncode)"


def run_child(url: str, parallel: int | None = None) -> dict[str, Any]:
    extra = ["--parallel", str(parallel)] if parallel is not None else []
    out = subprocess.run([sys.executable, "-c", _LAUNCHER, sys.executable, "-m", "bench.materialise", "--child", url,
                          *extra], cwd=ROOT, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"materialise child failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---- (c) approval to first message ----

async def approve_as_api(store: Any, people: Any, alert_id: int) -> tuple[float, float, float]:
    """Approve as POST /alerts/{id}/approve does: its checks, the audience's languages included,
    in a read transaction, then the write transaction. The monotonic times at which the check
    began, the write transaction began, and it committed."""
    from alerts import workflow

    checked = time.monotonic()
    async with store.read() as conn:
        await workflow.check_approval(conn, alert_id, people.approver, utcnow())
    began = time.monotonic()
    async with store.write() as conn:
        await workflow.approve(conn, alert_id, people.approver, utcnow(), checked=True)
    return checked, began, time.monotonic()


async def first_message(store: Any, sim: Any, people: Any, trials: int,
                        parallel: int | None = None) -> list[dict[str, float]]:
    """Approval to first POST, `trials` times; with `parallel`, the Coordinator queues that
    many ranges at once (rounds.PARALLEL_BATCHES) instead of its default."""
    from alerts.dispatch import rounds

    default = rounds.PARALLEL_BATCHES
    rounds.PARALLEL_BATCHES = parallel or default
    try:
        return await _first_messages(store, sim, people, trials)
    finally:
        rounds.PARALLEL_BATCHES = default


async def _first_messages(store: Any, sim: Any, people: Any, trials: int) -> list[dict[str, float]]:
    from alerts.dispatch.halt import cancel_alert
    from alerts.dispatch.settings import DispatchSettings

    results = []
    async with engine(store, sim, DispatchSettings()) as running:
        for _ in range(trials):
            alert_id = await submitted_alert(store, people)  # drafting scans the audience: not timed
            await sim.reset()
            await asyncio.sleep(1.5)  # the engine idles: coordinator ticks, dispatcher polls
            checked, began, committed = await approve_as_api(store, people, alert_id)
            running.wake()  # what Events.local does after the commit
            await sim.wait_posts(1, timeout=60, poll=0.01)
            first = (await sim.posts())[0]
            async with store.write() as conn:  # stop it, so the next trial starts from idle
                await cancel_alert(conn, alert_id, people.operator, utcnow())
            running.wake()
            results.append({"check_ms": (began - checked) * 1000, "approve_ms": (committed - began) * 1000,
                            "first_ms": (first - committed) * 1000})
            await asyncio.sleep(1.0)
    return results


async def clear_deliveries(store: Any) -> None:
    from alerts.schema import deliveries

    async with store.write() as conn:
        await conn.execute(deliveries.delete())


def variants(args: argparse.Namespace) -> list[tuple[str, str, int | None]]:
    """(label, schema revision, ranges at once) to measure, side by side on one database."""
    before = [("before (0012)", "0012", 1)] if args.before else []
    return (before + [("now", "heads", parallel) for parallel in args.parallel or [None]]) * args.rounds


async def migrate(url: str, revision: str) -> None:
    """The schema at `revision`, up or down (deliveries are empty between runs)."""
    from alembic import command

    from alerts.migrations import alembic_config
    from alerts.store import Store

    store = Store(url)
    try:
        async with store.engine.begin() as conn:
            step = command.upgrade if revision == "heads" else command.downgrade  # each a no-op when there
            await conn.run_sync(lambda sync: step(alembic_config(sync), revision))
    finally:
        await store.close()


async def reset_alert(url: str) -> None:
    """The alert approved again and its deliveries gone, for the next variant."""
    from alerts.schema import alerts, deliveries
    from alerts.store import Store

    store = Store(url)
    try:
        async with store.write() as conn:
            await conn.execute(deliveries.delete())
            await conn.execute(alerts.update().values(state="approved", materialised=False, materialised_upto=0))
        if not store.is_sqlite:
            async with store.engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(sa.text("VACUUM ANALYZE deliveries"))
    finally:
        await store.close()


async def main(args: argparse.Namespace) -> None:
    from alerts.dispatch import rounds
    from alerts.store import Store

    dbs = Databases()
    mat_rows, first_rows = [], []
    try:
        with simulator() as sim:
            try:
                for db in args.db:
                    url = await dbs.new(db)
                    store = Store(url)
                    try:
                        generated = await generate_subscribers(store, args.subscribers)
                        people = await make_people(store)
                        if not args.skip_materialise:  # (c) alone must not find it approved, and send it
                            await insert_approved_alert(store, people)
                    finally:
                        await store.close()
                    for i, (label, schema, parallel) in enumerate([] if args.skip_materialise else variants(args)):
                        if i:
                            await reset_alert(url)
                        await migrate(url, schema)
                        result = await asyncio.to_thread(run_child, url, parallel)
                        ok = result["seconds"] < SECONDS_TARGET and result["peak_rss_mb"] < RSS_TARGET_MB
                        mat_rows.append((
                            db, label, f"{result['parallel']}", f"{args.subscribers:,}", f"{result['deliveries']:,}",
                            f"{generated:.1f}", f"{result['seconds']:.2f}",
                            f"{result['deliveries'] / result['seconds']:,.0f}", f"{result['rss_before_mb']:.0f}",
                            f"{result['peak_rss_mb']:.0f} ({result['vm_hwm_mb']:.0f})",
                            f"{result['first_batch']:,} then {result['batch']:,}", verdict(ok)))
                    if args.skip_first or db not in args.first_db:
                        continue
                    for parallel in args.parallel or [None]:
                        store = Store(url)
                        try:
                            await clear_deliveries(store)
                            trials = await first_message(store, sim, people, args.first_trials, parallel)
                        finally:
                            await store.close()
                        firsts = [t["first_ms"] for t in trials]
                        first_rows.append((
                            db, f"{parallel or rounds.parallel_batches(store)}", f"{args.subscribers:,}",
                            str(len(trials)), f"{statistics.median(t['check_ms'] for t in trials):.0f}",
                            f"{statistics.median(t['approve_ms'] for t in trials):.0f}",
                            f"{statistics.median(firsts):.0f}", f"{max(firsts):.0f}",
                            verdict(max(firsts) < FIRST_TARGET_MS)))
            finally:
                await sim.aclose()
    finally:
        dbs.close()
    print(machine())
    table(f"(b) Materialising {args.subscribers:,} subscribers into deliveries (fresh process)",
          ["database", "schema", "ranges at once", "subscribers", "deliveries", "generate s", "materialise s",
           "rows/s", "RSS before MB",
           "peak RSS MB (VmHWM)", "batches", "< 10 s, < 200 MB"], mat_rows,
          "schema: 'before' is migration 0012's (foreign keys on deliveries, a full provider_id index), "
          "measured with the same code; ranges at once: materialise_step's `parallel`; "
          "materialise s: rounds.start_due + materialise_step until done; RSS before: ru_maxrss of the child "
          "after imports and connecting; peak: ru_maxrss at the end (and /proc VmHWM).")
    if first_rows:
        table(f"(c) Approval to first message, {args.subscribers:,} subscribers",
              ["database", "ranges at once", "subscribers", "trials", "check (read tx) ms (median)",
               "approve write tx ms (median)", "first POST ms (median)",
               "first POST ms (max)", "< 250 ms"], first_rows,
              "first POST: from the approve transaction's commit to the simulator receiving the first "
              "Messages POST (one monotonic clock); check: workflow.check_approval's read transaction "
              "(the audience's languages), before the write transaction, as the API does; approve write tx: "
              "workflow.approve's own transaction, which holds the write lock.")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--subscribers", type=int, default=1_000_000)
    p.add_argument("--db", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"])
    p.add_argument("--first-db", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"],
                   help="databases on which to measure (c)")
    p.add_argument("--first-trials", type=int, default=3)
    p.add_argument("--skip-first", action="store_true", help="only (b)")
    p.add_argument("--skip-materialise", action="store_true", help="only (c)")
    p.add_argument("--parallel", type=int, nargs="+", metavar="N",
                   help="ranges materialised at once (default: what the Coordinator uses on that database)")
    p.add_argument("--before", action="store_true",
                   help="also measure on migration 0012's schema with one range at a time, side by side")
    p.add_argument("--rounds", type=int, default=1, help="measure the variants this many times, in turn")
    p.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    return p.parse_args(argv)


if __name__ == "__main__":
    options = parse()
    if options.child:
        print(json.dumps(asyncio.run(child(options.child, options.parallel[0] if options.parallel else None))))
    else:
        quiet()
        asyncio.run(main(options))
