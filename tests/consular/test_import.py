"""`tocsin subscribers import`: good rows kept, every bad row named with its reason, an
unreadable file changes nothing, and a number that sent STOP is not subscribed again."""

from __future__ import annotations

import asyncio
import csv
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from alerts.cli import main
from alerts.schema import subscribers
from alerts.store import Store

NEXT_MONTH = (date.today() + timedelta(days=30)).isoformat()
ROWS = [
    # phone, language, country, city, trip_ends -> the reason it is refused, or None
    (["+905321234567", "az", "TR", "Istanbul", NEXT_MONTH], None),
    (["+995555123456", "ru", "Gürcüstan", "Tbilisi", ""], None),
    (["+33612345678", "FR", "франция", "", ""], None),
    (["+971501234567", "ar", "الإمارات", "Dubai", ""], None),
    (["+4915112345678", "xx", "DE", "", ""], "language must be one of"),
    (["12", "en", "TR", "", ""], "not a valid phone number"),
    (["+905321234568", "en", "Narnia", "", ""], "unknown country"),
    (["+905321234569", "en", "TR", "", "2020-01-01"], "already ended"),
    (["+905321234570", "en", "TR", "", "next week"], "not a date"),
    (["+905321234567", "en", "TR", "Ankara", ""], "same phone and country as line 2"),
    (["+905321234571", "en", "AZ", "", ""], "unknown country"),  # home is not abroad
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
    assert f"{len(ROWS)} rows: 4 new, 0 updated, 7 rejected" in out

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
    ("name;telefon\nAli;+905321234567\n".encode(), "missing: phone, language, country"),
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
                                   .values(status="stopped", updated_at=datetime.now(timezone.utc)))
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
