"""`tocsin subscribers import FILE.csv`: a consulate's registry of citizens abroad, loaded in
one go. The whole file is read and checked before anything is written, so an unreadable
file changes nothing; good rows are kept, and each bad row is named with its reason."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable, Iterable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts import i18n, phones, regions
from alerts.model import CONSENT_TEXT_VERSION, SubscriberKind, SubscriberStatus
from alerts.schema import subscribers
from alerts.store import Store, append_audit, dialect_insert

REQUIRED = ("phone", "language", "country")
OPTIONAL = ("city", "trip_ends")
MAX_BYTES = 200 * 1024 * 1024
BATCH = 2000


class ImportFileError(ValueError):
    """The file as a whole cannot be read: nothing was imported."""


@dataclass(frozen=True)
class Rejection:
    line: int
    phone: str  # masked
    reason: str


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    rejected: list[Rejection] = field(default_factory=list)


def read_file(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise ImportFileError(f"{path}: no such file")
    if path.stat().st_size > MAX_BYTES:
        raise ImportFileError(f"{path}: over {MAX_BYTES // 1024 // 1024} MB; split it")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{path}: not UTF-8 text (byte {exc.start}); save it as CSV UTF-8") from None
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = [h.strip().lower() for h in reader.fieldnames or []]
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise ImportFileError(f"{path}: the first line must name the columns phone, language, country "
                                  f"(and optionally city, trip_ends); missing: {', '.join(missing)}")
        reader.fieldnames = header
        return [row for row in reader]
    except csv.Error as exc:
        raise ImportFileError(f"{path}: not a CSV file ({exc})") from None


def check_row(row: dict[str, Any], today: date) -> dict[str, Any] | str:
    """Column values for a good row, or the reason it is refused."""
    if None in row:
        return "more fields than the header names"
    try:
        phone = phones.normalize((row.get("phone") or "").strip())
    except phones.PhoneError as exc:
        return str(exc)
    language = (row.get("language") or "").strip().lower()
    if language not in i18n.LANGUAGES:
        return f"language must be one of {', '.join(i18n.LANGUAGES)}"
    typed = (row.get("country") or "").strip()
    found = regions.match_area(typed) if typed else None
    if found is None or found[0] != "country":
        return f"unknown country {typed[:40]!r}; use a code such as TR or a name"
    city = (row.get("city") or "").strip() or None
    if city is not None and len(city) > 100:
        return "city is over 100 characters"
    trip_ends = None
    raw_end = (row.get("trip_ends") or "").strip()
    if raw_end:
        try:
            trip_ends = date.fromisoformat(raw_end)
        except ValueError:
            return f"trip_ends {raw_end[:20]!r} is not a date such as 2026-12-31"
        if trip_ends < today:
            return "the trip has already ended"
    return {"phone": phone, "language": language, "area": found[1], "country": found[1], "city": city,
            "trip_ends": trip_ends}


def check_rows(rows: Iterable[dict[str, str]], today: date, report: ImportReport,
               advance: Callable[[int], None] = lambda n: None) -> list[dict[str, Any]]:
    good: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], int] = {}
    for line, row in enumerate(rows, start=2):  # line 1 is the header
        report.rows += 1
        checked = check_row(row, today)
        if isinstance(checked, str):
            report.rejected.append(Rejection(line, phones.mask(row.get("phone") or ""), checked))
        elif (key := (checked["phone"], checked["area"])) in seen:
            report.rejected.append(Rejection(line, phones.mask(checked["phone"]),
                                             f"same phone and country as line {seen[key]}"))
        else:
            seen[key] = line
            checked["line"] = line
            good.append(checked)
        advance(1)
    return good


async def write_rows(store: Store, good: list[dict[str, Any]], now: datetime, actor: str, report: ImportReport,
                     advance: Callable[[int], None] = lambda n: None) -> None:
    """Insert or refresh each registration, in batches. A number that sent STOP stays stopped:
    a registry row is not their consent to be written to again."""
    for start in range(0, len(good), BATCH):
        batch = good[start:start + BATCH]
        async with store.write() as conn:
            existing, stopped = await _existing(conn, batch)
            rows = []
            for values in batch:
                status = existing.get((values["phone"], values["area"]))
                if values["phone"] in stopped:  # STOP ends every area of a number, so does it here
                    report.rejected.append(Rejection(values["line"], phones.mask(values["phone"]),
                                                     "this number is stopped (it sent STOP, or cannot be "
                                                     "reached): not subscribed again"))
                    continue
                report.updated += status is not None
                report.created += status is None
                rows.append(_columns(values, now))
            if rows:
                insert = dialect_insert(conn)(subscribers)
                await conn.execute(insert.on_conflict_do_update(
                    index_elements=["phone", "area"],
                    # The person's own choice of language stands; the registry refreshes the rest.
                    set_={k: insert.excluded[k] for k in ("city", "trip_ends", "updated_at")}), rows)
        advance(len(batch))
    report.rejected.sort(key=lambda r: r.line)
    async with store.write() as conn:
        await append_audit(conn, at=now, actor=actor, action="subscribers.import", target="subscribers",
                           details={"rows": report.rows, "created": report.created, "updated": report.updated,
                                    "rejected": len(report.rejected)})


async def _existing(conn: AsyncConnection, batch: list[dict[str, Any]]) -> tuple[dict[tuple[str, str], str], set[str]]:
    """Each (phone, area) already registered, and the numbers stopped in any area."""
    phones_in_batch = sorted({v["phone"] for v in batch})
    rows = (await conn.execute(sa.select(subscribers.c.phone, subscribers.c.area, subscribers.c.status)
                               .where(subscribers.c.phone.in_(phones_in_batch)))).all()
    return ({(r.phone, r.area): r.status for r in rows},
            {r.phone for r in rows if r.status == SubscriberStatus.STOPPED})


def _columns(values: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "phone": values["phone"], "language": values["language"], "kind": SubscriberKind.CITIZEN_ABROAD,
        "region": None, "country": values["country"], "city": values["city"], "area": values["area"],
        "sms": True, "voice": False, "status": SubscriberStatus.ACTIVE, "consent_source": "consular_import",
        "consent_at": now, "consent_text_version": CONSENT_TEXT_VERSION, "trip_ends": values["trip_ends"],
        "created_at": now, "updated_at": now,
    }


def write_rejections(path: Path, report: ImportReport) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["line", "phone", "reason"])
        for r in report.rejected:
            writer.writerow([r.line, r.phone, r.reason])
