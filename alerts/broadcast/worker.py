"""The broadcaster: puts each alert that went out on the cell_broadcast channel onto every
configured cell broadcast centre (CBC), one message per language (ECBE write), and takes it off
again (ECBE kill) when the alert is cancelled, expires or is superseded by an Update.

As the call-centre pusher (alerts/callcentre/push.py), the work is in the database
(cell_broadcasts), so a restart resumes and several instances share it: a claim moves the row's
next attempt past a lease. Each CBC has its own loop, so one that is down or slow never delays
another. Answers: 2xx accepted; a kill answered 404 is accepted (the message is gone); a write
answered 409 after an attempt whose outcome is unknown is accepted (the message is ours),
otherwise the identifier is busy: refused. A code that is not worth retrying is `refused` (the
console's alarm, never retried blindly); one that is (5xx, unreachable, timeout) is retried with
backoff. Writes are abandoned at the alert's expiry (its kill follows); kills are retried until
accepted, for a day at most. An Update's write of an identifier goes only after its original's
kill of that identifier at that CBC is accepted: OsmoCBC keeps one message per identifier."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any, NoReturn

import sqlalchemy as sa
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts.alert import AlertTexts
from alerts.broadcast.preview import phone_text
from alerts.cap.published import SENT_OUT
from alerts.config import CellBroadcastConfig
from alerts.dispatch.decisions import exponential_backoff
from alerts.model import AlertState
from alerts.schema import UTCDateTime, alerts, cell_broadcasts as rows
from alerts.store import Store, dialect_insert
from alerts.supervise import Wakeup, guarded, supervise
from channels.cell_broadcast import encoding
from channels.cell_broadcast.ecbe import Answer, CbcClient, CbcError, CbcErrorCode, CbcSettings, CbsMessage
from channels.cell_broadcast.serial import GeoScope, SerialNumber

log = logging.getLogger(__name__)
ATTEMPTS = Counter("tocsin_cell_broadcast_attempts", "Cell broadcast requests to a CBC, by kind and outcome",
                   ["kind", "outcome"])
BATCH = 20
POLL_SECONDS = 1.0
# OsmoCBC 0.3.0 answers a kill only when its 15 s timer runs out: a kill waits longer than that.
KILL_TIMEOUT = 30.0
SOON_SECONDS = 0.05
# A kill is retried this long; after that a person must take the message off the CBC.
KILL_GIVE_UP = timedelta(days=1)
_LIVE = (AlertState.APPROVED, AlertState.SCHEDULED, AlertState.SENDING, AlertState.SENT)
# The claim's mark: an attempt is under way. Found again on a later claim (its sender died), the
# attempt's outcome is unknown, as after a timeout.
IN_FLIGHT = "attempt under way, no answer recorded"


class Broadcaster:
    def __init__(self, store: Store, clock: Callable[[], datetime], config: CellBroadcastConfig) -> None:
        self.store, self.clock, self.config = store, clock, config
        self._wakeups = {cbc.name: Wakeup(POLL_SECONDS) for cbc in config.cbcs}
        self._clients: dict[str, tuple[CbcClient, CbcClient]] = {}  # (writes, kills) per CBC
        # Longer than one attempt can take, so a live sender's claim never lapses mid-send.
        self.lease = timedelta(seconds=max(config.timeout, KILL_TIMEOUT) + 30)
        # Attempts under way: a round does not wait for them, so a slow answer (OsmoCBC answers a
        # kill after 15 s) never holds up the next alert's write.
        self._sending: set[asyncio.Task[None]] = set()
        # Claimed here and not yet recorded: released at a clean stop rather than left to the lease.
        self._in_hand: set[int] = set()

    def wake(self) -> None:
        for wakeup in self._wakeups.values():
            wakeup.set()

    def backoff(self, attempts: int) -> float:
        return exponential_backoff(attempts, self.config.retry_seconds, self.config.max_retry_seconds)

    async def run(self) -> NoReturn:
        """Every CBC's loop, for ever (until cancelled); then release() gives back what was claimed."""
        self._clients = {cbc.name: (CbcClient(cbc), CbcClient(replace(cbc, timeout=max(cbc.timeout, KILL_TIMEOUT))))
                         for cbc in self.config.cbcs}
        try:
            await asyncio.gather(*(self._loop(cbc) for cbc in self.config.cbcs))
        finally:
            for task in self._sending:
                task.cancel()
            await asyncio.gather(*self._sending, return_exceptions=True)
            for clients in self._clients.values():
                for client in clients:
                    await client.close()
        raise AssertionError("unreachable")  # pragma: no cover - the loops run until cancelled

    async def _loop(self, cbc: CbcSettings) -> NoReturn:
        await supervise(lambda: self.tick(cbc), what=f"cell broadcast round for {cbc.name}",
                        wait=self._wakeups[cbc.name].wait, logger=log)

    async def tick(self, cbc: CbcSettings) -> bool:
        """One round for one CBC: new writes and kills in, lapsed writes out, due ones sent. True
        if it sent a full batch."""
        now = self.clock()
        async with self.store.read() as conn:
            # An approved alert goes out in a moment (the dispatcher's next round), and its SMS
            # wait for its cell broadcast: look often until it has.
            soon = await conn.scalar(sa.select(sa.select(alerts.c.id).where(
                alerts.c.cell_broadcast.is_not(None), alerts.c.state == AlertState.APPROVED).exists()))
            self._wakeups[cbc.name].timeout = SOON_SECONDS if soon else POLL_SECONDS
            if not await conn.scalar(sa.select(self._work_exists(cbc.name, now))):
                return False
        async with self.store.write() as conn:
            await self.enqueue(conn, now)
            claimed = await self._claim(conn, cbc.name, now)
            texts = {}
            if claimed:
                texts = {a.id: AlertTexts.of(a.texts) for a in (await conn.execute(
                    sa.select(alerts.c.id, alerts.c.texts)
                    .where(alerts.c.id.in_({r.alert_id for r in claimed})))).all()}
        for row in claimed:
            task = asyncio.create_task(guarded(partial(self._send, cbc, row, texts[row.alert_id]),
                                               f"cell broadcast {row.kind} {row.id}", log))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)
        return len(claimed) == BATCH

    # ---- what is to be done ----

    def _to_write(self, now: datetime) -> sa.ColumnElement[bool]:
        """Alerts gone out with a plan, in force, with no write yet."""
        written = sa.select(rows.c.id).where(rows.c.alert_id == alerts.c.id, rows.c.kind == "write").exists()
        return sa.and_(alerts.c.cell_broadcast.is_not(None), SENT_OUT, alerts.c.state.in_(_LIVE),
                       alerts.c.expires > now, ~written)

    @staticmethod
    def _ended(now: datetime) -> sa.ColumnElement[bool]:
        return sa.or_(alerts.c.state.in_([AlertState.CANCELLED, AlertState.EXPIRED]), alerts.c.expires <= now)

    def _to_kill(self, now: datetime) -> sa.ColumnElement[bool]:
        """Writes of ended alerts that may be on a CBC (accepted, or tried) and have no kill yet."""
        killed = rows.alias("killed")
        no_kill = ~sa.select(killed.c.id).where(killed.c.alert_id == rows.c.alert_id, killed.c.cbc == rows.c.cbc,
                                                killed.c.language == rows.c.language, killed.c.kind == "kill").exists()
        # Once the write is settled: a kill sent while the write is still on its way could
        # arrive first (404, "gone") and leave the message on the phones.
        tried = may_be_on_cbc(rows)
        ended = sa.select(alerts.c.id).where(alerts.c.id == rows.c.alert_id, self._ended(now)).exists()
        return sa.and_(rows.c.kind == "write", tried, ended, no_kill)

    def _lapsed(self, now: datetime) -> sa.ColumnElement[bool]:
        ended = sa.select(alerts.c.id).where(alerts.c.id == rows.c.alert_id, self._ended(now)).exists()
        # A write in a sender's hands (its lease ahead) is left to record its answer first.
        unleased = sa.or_(rows.c.lease_until.is_(None), rows.c.lease_until <= now)
        return sa.or_(sa.and_(rows.c.kind == "write", rows.c.state == "pending", unleased, ended),
                      sa.and_(rows.c.kind == "kill", rows.c.state == "pending",
                              rows.c.created_at <= now - KILL_GIVE_UP))

    def _work_exists(self, cbc: str, now: datetime) -> sa.ColumnElement[bool]:
        return sa.or_(
            sa.select(rows.c.id).where(_due(now), rows.c.cbc == cbc).exists(),
            sa.select(alerts.c.id).where(self._to_write(now)).exists(),
            sa.select(rows.c.id).where(self._to_kill(now)).exists(),
            sa.select(rows.c.id).where(self._lapsed(now)).exists(),
        )

    async def enqueue(self, conn: AsyncConnection, now: datetime) -> None:
        """A write per (alert, CBC, language) for each alert gone out, all CBCs at once (the
        dispatcher holds the alert's SMS while none is tried); a kill per write of an alert that
        ended; writes of ended alerts abandoned, and kills after a day."""
        insert = dialect_insert(conn)
        fresh = (await conn.execute(sa.select(alerts.c.id, alerts.c.cell_broadcast)
                                    .where(self._to_write(now)))).all()
        values = []
        for alert_id, plan in fresh:
            serial = SerialNumber(GeoScope.PLMN, int(plan["message_code"]), int(plan["update_number"])).encoded
            for cbc in self.config.cbcs:
                for lang, message_id in plan["identifiers"].items():
                    values.append({"alert_id": alert_id, "cbc": cbc.name, "language": lang,
                                   "message_id": int(message_id), "serial_number": serial, "kind": "write",
                                   "state": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now,
                                   "updated_at": now})
        if values:
            await conn.execute(insert(rows).values(values).on_conflict_do_nothing())
        # Lapsed writes first: an abandoned write that may be on a CBC gets its kill this round.
        await conn.execute(rows.update().where(self._lapsed(now)).values(
            state="abandoned", updated_at=now,
            last_error=sa.case((rows.c.kind == "write", "the alert ended before the CBC accepted it"),
                               else_="not accepted within a day: take the message off the CBC by hand")))
        at = sa.literal(now, UTCDateTime())
        source = sa.select(rows.c.alert_id, rows.c.cbc, rows.c.language, rows.c.message_id, rows.c.serial_number,
                           sa.literal("kill"), sa.literal("pending"), at, at, at).where(self._to_kill(now))
        await conn.execute(
            insert(rows).from_select(["alert_id", "cbc", "language", "message_id", "serial_number", "kind", "state",
                                      "next_attempt_at", "created_at", "updated_at"], source)
            .on_conflict_do_nothing())

    async def _claim(self, conn: AsyncConnection, cbc: str, now: datetime) -> Sequence[Any]:
        # Kills first: a phone must not keep showing what was withdrawn, and an update waits for them.
        query = (sa.select(rows).where(_due(now), rows.c.cbc == cbc)
                 .order_by(sa.case((rows.c.kind == "kill", 0), else_=1), rows.c.id).limit(BATCH))
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(of=rows, skip_locked=True)
        due = (await conn.execute(query)).all()
        self._in_hand.update(r.id for r in due)
        if due:
            await conn.execute(rows.update().where(rows.c.id.in_([r.id for r in due]))
                               .values(next_attempt_at=now + self.lease, lease_until=now + self.lease, updated_at=now,
                                       last_error=sa.func.coalesce(rows.c.last_error, IN_FLIGHT)))
        return due

    # ---- one attempt ----

    async def _send(self, cbc: CbcSettings, row: Any, texts: AlertTexts) -> None:
        writes, kills = self._clients[cbc.name]
        # The outcome of an earlier attempt is unknown (no answer, or its sender died): a 409
        # now may be that attempt's message, ours. Once unknown, always: a 5xx in between
        # does not make the CBC forget a message it took.
        unknown = row.outcome_unknown or (row.last_status is None and row.last_error is not None
                                          and not row.last_error.startswith("UNREACHABLE: cannot connect"))
        answer: Answer | None = None
        error: CbcError | None = None
        try:
            if row.kind == "kill":
                answer = await kills.kill(row.message_id)
            else:
                text = phone_text(texts.public_parts()[row.language], row.language, self.config.page_budget)
                message = CbsMessage(row.message_id, SerialNumber.decode(row.serial_number),
                                     encoding.encode(text, row.language))
                answer = await writes.write(message)
        except CbcError as exc:
            error, answer = exc, exc.answer
        except (encoding.TooLong, KeyError) as exc:
            error = CbcError(CbcErrorCode.BAD_REQUEST, Answer(None, f"no message to send: {exc!r}"[:500]))
            answer = error.answer
        assert answer is not None
        state, outcome = "pending", "retry"
        if error is None:
            state, outcome = "accepted", "accepted"
        elif row.kind == "kill" and error.code is CbcErrorCode.NOT_FOUND:
            state, outcome = "accepted", "gone"
        elif row.kind == "write" and error.code is CbcErrorCode.IDENTIFIER_BUSY and unknown:
            state, outcome = "accepted", "ours"
        elif not error.code.retryable and row.kind == "write":
            state, outcome = "refused", "refused"
        ATTEMPTS.labels(kind=row.kind, outcome=outcome).inc()
        now = self.clock()
        attempts = row.attempts + 1
        values: dict[str, Any] = {
            "state": state, "attempts": attempts, "last_status": answer.status, "last_answer": answer.text[:500],
            "last_error": None if error is None else f"{error.code.name}: {answer.text or error}"[:255],
            "updated_at": now, "lease_until": None,
            "outcome_unknown": unknown or _unanswered(error, answer)}
        if state == "accepted":
            values["accepted_at"] = now
        elif state == "pending" and error is not None and not error.code.retryable:
            # A kill the CBC refuses (credentials changed, say) is asked again, slowly: the message
            # stays on the phones until it goes, and an update waits for it. The alarm is up meanwhile.
            values["next_attempt_at"] = now + timedelta(seconds=self.config.max_retry_seconds)
        elif state == "pending":
            values["next_attempt_at"] = now + timedelta(seconds=self.backoff(attempts))
        if error is not None:
            log.warning("cell broadcast %s of alert %s (%s, message %s) at %s: %s, attempt %d: %s", row.kind,
                        row.alert_id, row.language, row.message_id, cbc.name, outcome, attempts, values["last_error"],
                        extra={"alert_id": row.alert_id})
        async with self.store.write() as conn:
            await conn.execute(rows.update().where(rows.c.id == row.id, rows.c.state == "pending").values(**values))
        self._in_hand.discard(row.id)
        if state == "accepted" and row.kind == "kill":
            self._wakeups[cbc.name].set()  # an update's write may wait for this kill

    async def release(self) -> None:
        """At a clean stop: what was claimed but not sent is due again at once."""
        if self._in_hand:
            async with self.store.write() as conn:
                await conn.execute(rows.update().where(rows.c.id.in_(self._in_hand), rows.c.state == "pending")
                                   .values(next_attempt_at=self.clock()))
            self._in_hand.clear()


def _unanswered(error: CbcError | None, answer: Answer) -> bool:
    """An attempt that got no answer after it may have reached the CBC (a timeout, a dropped
    connection); not one refused before connecting."""
    return (error is not None and answer.status is None
            and error.code in (CbcErrorCode.TIMEOUT, CbcErrorCode.UNREACHABLE)
            and not answer.text.startswith("cannot connect"))


def may_be_on_cbc(write: Any) -> sa.ColumnElement[bool]:
    """A write (of `rows` or an alias) whose message the CBC may hold: accepted, or abandoned
    after an attempt, or refused after an attempt that got no answer."""
    return sa.or_(write.c.state == "accepted",
                  sa.and_(write.c.state == "abandoned", sa.or_(write.c.attempts > 0, write.c.last_error.is_not(None))),
                  sa.and_(write.c.state == "refused", write.c.outcome_unknown))


def _due(now: datetime) -> sa.ColumnElement[bool]:
    """Pending and due; a write only once its identifier is free at its CBC: no other alert's
    kill of it pending, and no other alert's write of it there (or on its way) and not yet
    killed. Two live alerts never share an identifier (alerts.broadcast.plan), so the other is
    the original an Update replaces: the Update's write waits for the original's kill."""
    other = rows.alias("other")
    gone = rows.alias("gone")
    same = sa.and_(other.c.cbc == rows.c.cbc, other.c.message_id == rows.c.message_id,
                   other.c.alert_id != rows.c.alert_id)
    killed = sa.select(gone.c.id).where(gone.c.alert_id == other.c.alert_id, gone.c.cbc == other.c.cbc,
                                        gone.c.language == other.c.language, gone.c.kind == "kill",
                                        gone.c.state.in_(["accepted", "abandoned"])).exists()
    taken = sa.select(other.c.id).where(same, sa.or_(
        sa.and_(other.c.kind == "kill", other.c.state == "pending"),
        # An abandoned write whose attempt may have reached the CBC holds the identifier too
        # (an answer OsmoCBC lost): until its kill is through, the CBC would answer 409.
        sa.and_(other.c.kind == "write", sa.or_(other.c.state == "pending", may_be_on_cbc(other)), ~killed))).exists()
    return sa.and_(rows.c.state == "pending", rows.c.next_attempt_at <= now, sa.or_(rows.c.kind == "kill", ~taken))
