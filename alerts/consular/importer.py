"""`tocsin subscribers import FILE.csv`: a consulate's registry of citizens abroad, loaded in
one go. The whole file is read and checked before anything is written, so an unreadable
file changes nothing; good rows are kept, and each bad row is named with its reason.

Rows are written in batches, one transaction each, and every batch carries its own audit
row (the lines it covered, what it created and updated) in that same transaction: whatever
stops an import (Ctrl-C, SIGTERM, a crash, kill -9) leaves whole batches, each audited, and
never a row the audit does not account for. An import is known by the SHA-256 of its file:
running the same file again after an interruption resumes after the last line written,
skipping what was done; once an import of a file has finished, running it again is a new
import (a refresh), as before."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts import csvsafe, i18n, phones, regions
from alerts.model import CONSENT_TEXT_VERSION, SubscriberKind, SubscriberStatus
from alerts.schema import audit_log, subscribers
from alerts.store import Store, append_audit, dialect_insert
from alerts.subscribers import MAX_TRIP
from alerts.validation import parse_day, text_problem

REQUIRED = ("phone", "language", "country")
OPTIONAL = ("city", "trip_ends")
MAX_BYTES = 200 * 1024 * 1024
BATCH = 2000


# The audit actions of one import: started, one per batch written, resumed after an
# interruption, stopped by a signal, finished. "subscribers.import" (finished) is the name
# the audit log has always used for a whole import.
STARTED, BATCH_WRITTEN, RESUMED, INTERRUPTED, FINISHED = (
    "subscribers.import.start", "subscribers.import.batch", "subscribers.import.resume",
    "subscribers.import.interrupted", "subscribers.import")
STOPPED = "this number is stopped (it sent STOP, or cannot be reached): not subscribed again"


class ImportFileError(ValueError):
    """The file as a whole cannot be read: nothing was imported."""


class Interrupted(Exception):
    """A signal asked the import to stop; it did between two batches."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name


@dataclass(frozen=True)
class Rejection:
    line: int
    phone: str  # masked
    reason: str


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0  # by this import, earlier interrupted runs of it included
    updated: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    sha256: str = ""
    resumed_after_line: int = 0  # 0: started from the first line
    written_to_line: int = 0  # the last line of the last batch written


def import_key(sha256: str) -> str:
    """The audit target naming an import: its file's hash (128 bits fit the column)."""
    return f"import:{sha256[:32]}"


def read_file(path: Path, report: ImportReport | None = None) -> list[dict[str, str]]:
    if not path.is_file():
        raise ImportFileError(f"{path}: no such file")
    if path.stat().st_size > MAX_BYTES:
        raise ImportFileError(f"{path}: over {MAX_BYTES // 1024 // 1024} MB; split it")
    raw = path.read_bytes()
    if report is not None:
        report.sha256 = hashlib.sha256(raw).hexdigest()
    try:
        text = raw.decode("utf-8-sig")
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
    if city is not None and (problem := text_problem(city)):
        # A NUL that SQLite would keep is refused by PostgreSQL: refused here on both.
        return f"city {problem}"
    trip_ends = None
    raw_end = (row.get("trip_ends") or "").strip()
    if raw_end:
        try:
            trip_ends = parse_day(raw_end)
        except ValueError as exc:
            return f"trip_ends {raw_end[:20]!r} {exc}"
        if trip_ends < today:
            return "the trip has already ended"
        if trip_ends > today + MAX_TRIP:
            return f"trip_ends is more than {MAX_TRIP.days} days ahead"
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


async def begin(store: Store, report: ImportReport, good: list[dict[str, Any]], now: datetime, actor: str,
                source: str) -> None:
    """Record that the import starts, or resumes an interrupted import of the same file, before
    a row is written: from here on the audit accounts for every batch."""
    key = import_key(report.sha256)
    async with store.write() as conn:
        trail = (await conn.execute(
            sa.select(audit_log.c.action, audit_log.c.details).where(audit_log.c.target == key)
            .order_by(audit_log.c.id))).all()
        starts = [i for i, row in enumerate(trail) if row.action == STARTED]
        unfinished = bool(starts) and all(row.action != FINISHED for row in trail[starts[-1]:])
        if not unfinished:
            await append_audit(conn, at=now, actor=actor, action=STARTED, target=key, details={
                "file": source, "sha256": report.sha256, "rows": report.rows, "good": len(good)})
            return
        for row in trail[starts[-1]:]:
            if row.action == BATCH_WRITTEN:
                details = row.details
                report.resumed_after_line = max(report.resumed_after_line, details["last_line"])
                report.created += details["created"]
                report.updated += details["updated"]
                report.rejected.extend(Rejection(line, masked, STOPPED) for line, masked in details["stopped"])
        report.written_to_line = report.resumed_after_line
        await append_audit(conn, at=now, actor=actor, action=RESUMED, target=key, details={
            "file": source, "sha256": report.sha256, "after_line": report.resumed_after_line})


async def write_rows(store: Store, good: list[dict[str, Any]], now: datetime, actor: str, report: ImportReport,
                     advance: Callable[[int], None] = lambda n: None, *, batch_size: int = BATCH,
                     stop_requested: Callable[[], str | None] = lambda: None) -> None:
    """Insert or refresh each registration, in batches, after the lines an interrupted run
    already wrote (begin() found them). A number that sent STOP stays stopped: a registry
    row is not their consent to be written to again. Between two batches, a signal noted
    by `stop_requested` (its name) ends the import: audited, and raised as Interrupted."""
    key = import_key(report.sha256)
    todo = [values for values in good if values["line"] > report.resumed_after_line]
    advance(len(good) - len(todo))
    for start in range(0, len(todo), batch_size):
        signal_name = stop_requested()
        if signal_name:
            await _interrupted(store, report, now, actor, signal_name)
        batch = todo[start:start + batch_size]
        created = updated = 0
        stopped_here: list[Rejection] = []
        async with store.write() as conn:
            existing, stopped = await _existing(conn, batch)
            rows = []
            for values in batch:
                status = existing.get((values["phone"], values["area"]))
                if values["phone"] in stopped:  # STOP ends every area of a number, so does it here
                    stopped_here.append(Rejection(values["line"], phones.mask(values["phone"]), STOPPED))
                    continue
                updated += status is not None
                created += status is None
                rows.append(_columns(values, now))
            if rows:
                insert = dialect_insert(conn)(subscribers)
                await conn.execute(insert.on_conflict_do_update(
                    index_elements=["phone", "area"],
                    # The person's own choice of language stands; the registry refreshes the rest.
                    set_={k: insert.excluded[k] for k in ("city", "trip_ends", "updated_at")}), rows)
            # In the batch's own transaction: the batch and its record commit together or not at all.
            await append_audit(conn, at=now, actor=actor, action=BATCH_WRITTEN, target=key, details={
                "first_line": batch[0]["line"], "last_line": batch[-1]["line"], "created": created,
                "updated": updated, "stopped": [[r.line, r.phone] for r in stopped_here]})
        # Counted once committed, so an interruption reports what is really stored.
        report.created += created
        report.updated += updated
        report.rejected.extend(stopped_here)
        report.written_to_line = batch[-1]["line"]
        advance(len(batch))
    report.rejected.sort(key=lambda r: r.line)
    async with store.write() as conn:
        await append_audit(conn, at=now, actor=actor, action=FINISHED, target=key, details={
            "rows": report.rows, "created": report.created, "updated": report.updated,
            "rejected": len(report.rejected), "sha256": report.sha256,
            "resumed_after_line": report.resumed_after_line})


async def _interrupted(store: Store, report: ImportReport, now: datetime, actor: str, signal_name: str) -> None:
    report.rejected.sort(key=lambda r: r.line)
    async with store.write() as conn:
        await append_audit(conn, at=now, actor=actor, action=INTERRUPTED, target=import_key(report.sha256),
                           details={"signal": signal_name, "written_to_line": report.written_to_line,
                                    "created": report.created, "updated": report.updated})
    raise Interrupted(signal_name)


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
        writer = csvsafe.writer(f)  # a rejected cell is what someone typed: never a formula
        writer.writerow(["line", "phone", "reason"])
        for r in report.rejected:
            writer.writerow([r.line, r.phone, r.reason])
