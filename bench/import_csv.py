"""Importing a consulate's registry: `tocsin subscribers import` on 100,000 rows with some
bad ones, run as the real command in a subprocess against a fresh database.

    .venv/bin/python -m bench.import_csv [--rows 100000] [--bad-every 97] [--db sqlite postgresql]

Issue 6: under a minute, each bad row reported with its reason, every good row kept."""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

from bench.common import ROOT, Databases, machine, table, verdict

TARGET_SECONDS = 60.0
COUNTRIES = ["TR", "Georgia", "DE", "Россия", "FR", "الإمارات", "GB", "US"]
LANGS = ["az", "en", "ru", "fr", "ar"]
BAD = [  # (phone, language, country, trip_ends): each wrong in one way
    ("12345", "az", "TR", ""),
    ("+905321111111", "de", "TR", ""),
    ("+905321111112", "az", "Narnia", ""),
    ("+905321111113", "az", "TR", "31/12/2026"),
    ("+905321111114", "az", "TR", "2001-01-01"),
]


def write_file(path: Path, rows: int, bad_every: int) -> int:
    """The CSV; returns how many rows are good."""
    good = 0
    trip = (date.today() + timedelta(days=60)).isoformat()
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["phone", "language", "country", "city", "trip_ends"])
        for n in range(rows):
            if n % bad_every == bad_every - 1:
                phone, lang, country, ends = BAD[n % len(BAD)]
                out.writerow([phone, lang, country, "", ends])
                continue
            # Azerbaijani mobile numbers, all distinct: +994 50/51/55/70/77 and 7 digits.
            prefix = ["50", "51", "55", "70", "77"][n % 5]
            out.writerow([f"+994{prefix}{n:07d}", LANGS[n % 5], COUNTRIES[n % len(COUNTRIES)],
                          "Istanbul" if n % 3 == 0 else "", trip if n % 2 else ""])
            good += 1
    return good


async def count(url: str) -> int:
    from alerts.store import Store

    store = Store(url)
    try:
        async with store.read() as conn:
            return int(await conn.scalar(sa.text("SELECT count(*) FROM subscribers")))
    finally:
        await store.close()


async def run(rows: int, bad_every: int, engines: list[str]) -> None:
    dbs = Databases()
    results = []
    try:
        work = Path(tempfile.mkdtemp(prefix="tocsin-import-"))
        source = work / "registry.csv"
        good = write_file(source, rows, bad_every)
        for engine in engines:
            url = await dbs.new(engine)
            env = {**os.environ, "TOCSIN_DATABASE_URL": url, "TOCSIN_VAR_DIR": str(work)}
            began = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "alerts.cli", "subscribers", "import", str(source),
                                   "--rejects", str(work / f"{engine}.rejected.csv")],
                                  cwd=ROOT, env=env, capture_output=True, text=True)
            seconds = time.perf_counter() - began
            if done.returncode != 0:
                raise SystemExit(f"import failed on {engine}: {done.stderr[-2000:]}")
            kept = await count(url)
            with (work / f"{engine}.rejected.csv").open() as f:
                rejected = list(csv.DictReader(f))
            reasons = len({r["reason"].split("'")[0] for r in rejected})
            ok = seconds < TARGET_SECONDS and kept == good and len(rejected) == rows - good
            results.append((engine, f"{rows:,}", f"{kept:,} of {good:,}", f"{len(rejected):,} ({reasons} kinds)",
                            f"{seconds:.1f}", f"{rows / seconds:,.0f}", verdict(ok)))
    finally:
        dbs.close()
    table(f"tocsin subscribers import, {rows:,} rows ({machine()})",
          ["database", "rows", "kept", "rejected with a reason", "seconds", "rows/s", f"< {TARGET_SECONDS:.0f} s"],
          results, note="The whole command: reading, checking every row, batched upserts, the rejection report.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--bad-every", type=int, default=97)
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    asyncio.run(run(args.rows, args.bad_every, args.db))


if __name__ == "__main__":
    main()
