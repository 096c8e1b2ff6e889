"""The database engine: SQLite for one process, PostgreSQL for many, behind one small interface."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import ARRAY, insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from alerts.config import DatabaseURL, to_async_url
from alerts.schema import audit_log

_WRITE = "tocsin_write"
# The hash the first audit row chains from.
GENESIS = "0" * 64


class Store:
    def __init__(self, url: str | DatabaseURL) -> None:
        self.url = to_async_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        if self.is_sqlite:
            path = self.url.split("///", 1)[1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.engine: AsyncEngine = create_async_engine(self.url, connect_args={"timeout": 30})
            _tune_sqlite(self.engine)
            # SQLite has one writer at a time, and its busy handler polls: a waiting writer
            # can miss gap after gap between another's transactions. Queueing this process's
            # writers in order keeps a claim from starving behind a long materialisation.
            self._writers: asyncio.Lock | None = asyncio.Lock()
        else:
            self.engine = create_async_engine(self.url, pool_size=10, max_overflow=10, pool_pre_ping=True)
            self._writers = None

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A transaction that may write. On SQLite it takes the write lock up front
        (BEGIN IMMEDIATE): a deferred transaction that reads then writes fails with
        'database is locked' when another writer got in between."""
        async with self._writers or contextlib.nullcontext():
            async with self.engine.connect() as conn:
                await conn.execution_options(**{_WRITE: True})
                async with conn.begin():
                    yield conn

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            async with conn.begin():
                yield conn

    async def close(self) -> None:
        await self.engine.dispose()


def _tune_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        immediate = conn.get_execution_options().get(_WRITE)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def dialect_insert(conn: AsyncConnection) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT on both engines."""
    return postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert


async def nothing_to_do(store: Store, work: sa.Select[Any]) -> bool:
    """Whether a periodic step finds no rows to work on, asked in a read transaction before it
    takes a write one: a write transaction each second for each step, empty or not, held
    SQLite's one write lock for a quarter of a busy broadcast, and the dispatcher's claims waited
    behind it (docs/benchmarks.md (a)). Work that comes after the look is done at the next pass."""
    async with store.read() as conn:
        return not await conn.scalar(sa.select(work.exists()))


async def refresh_statistics(store: Store, table: sa.Table) -> None:
    """PostgreSQL's statistics of `table`, gathered again now. A table that has just grown by a
    large batch (a large alert's first deliveries) keeps the statistics autovacuum last
    gathered, a minute or more before, perhaps those of an empty table, and plans chosen from
    them read the whole table for a few hundred rows (see bound_in). SKIP_LOCKED: a vacuum that
    holds the table is not waited for. SQLite keeps no statistics unless asked: nothing to do."""
    if store.is_sqlite:
        return
    async with store.write() as conn:
        # The table's name, from the schema, not from any input.
        await conn.execute(sa.text(f"ANALYZE (SKIP_LOCKED) {table.name}"))


def bound_rows(conn: AsyncConnection, name: str, columns: Sequence[tuple[str, sa.types.TypeEngine[Any]]],
               rows: Sequence[Sequence[Any]]) -> sa.FromClause:
    """`rows` as a table for one statement, bound as a fixed number of parameters however many
    rows there are: an array per column on PostgreSQL (unnest), one JSON array on SQLite
    (json_each). A batch (the outcomes recorded at once, the rows of a claim) is then one
    statement and one step of the database, not one per row, and SQLAlchemy processes a few
    parameters on the event loop rather than one per row and column (docs/benchmarks.md (a)).
    Values are ints, strings or None; `name` keeps the parameters of two such tables apart."""
    if conn.dialect.name == "postgresql":
        arrays = [sa.cast(sa.bindparam(f"{name}_{column}", [row[i] for row in rows]), ARRAY(type_))
                  for i, (column, type_) in enumerate(columns)]
        return sa.func.unnest(*arrays).table_valued(*(column for column, _ in columns)).render_derived()
    items = sa.func.json_each(sa.bindparam(f"{name}_json", json.dumps(rows))).table_valued("value")
    # The paths as literals (i is a column's index): bound, they would be a parameter each.
    return sa.select(*(sa.cast(sa.func.json_extract(items.c.value, sa.literal_column(f"'$[{i}]'")), type_).label(column)
                       for i, (column, type_) in enumerate(columns))).subquery(name)


def bound_in(conn: AsyncConnection, name: str, column: sa.ColumnElement[Any],
             ids: Sequence[int]) -> sa.ColumnElement[bool]:
    """`column` is one of `ids`, bound as one parameter however many there are (see bound_rows).
    On PostgreSQL `column = ANY(array)`, which the planner looks up in the column's index. A
    join against unnest() was read as "hash the whole table" at the sizes where the planner
    thinks that cheaper (tens of thousands of rows, and any size while the table has an empty
    one's statistics): at every claim, lease check and record of a fan-out, for a few hundred
    rows; a fifth of those statements' time (docs/benchmarks.md (a)). The statistics matter still
    beside a state condition: see refresh_statistics. On SQLite
    `column IN (SELECT value FROM json_each(?))`, which it looks up row by row."""
    if conn.dialect.name == "postgresql":
        return column == sa.any_(sa.cast(sa.bindparam(f"{name}_ids", list(ids)), ARRAY(sa.BigInteger())))
    table = bound_rows(conn, name, [("id", sa.BigInteger())], [(i,) for i in ids])
    return column.in_(sa.select(table.c.id))


async def append_audit(
    conn: AsyncConnection, *, at: datetime, actor: str, action: str, target: str, details: dict[str, Any]
) -> None:
    """Add one row to the hash-chained audit log, inside the caller's write transaction."""
    if conn.dialect.name == "postgresql":
        # Serialise appenders so two rows never claim the same predecessor.
        await conn.execute(sa.text("SELECT pg_advisory_xact_lock(7312001)"))
    prev = (
        await conn.execute(sa.select(audit_log.c.hash).order_by(audit_log.c.id.desc()).limit(1))
    ).scalar_one_or_none() or GENESIS
    row = {"at": at, "actor": actor, "action": action, "target": target, "details": details}
    await conn.execute(audit_log.insert().values(**row, prev_hash=prev, hash=audit_hash(prev, row)))


def audit_hash(prev_hash: str, row: dict[str, Any]) -> str:
    canonical = json.dumps(
        {**row, "at": row["at"].isoformat(timespec="microseconds")}, sort_keys=True, ensure_ascii=False, default=str
    )
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


@dataclass(frozen=True)
class BrokenAuditRow:
    """An audit row that does not match the chain: edited, inserted or deleted before it."""

    id: int
    at: datetime
    actor: str
    action: str


@dataclass(frozen=True)
class AuditCheck:
    rows: int
    broken: list[BrokenAuditRow]

    @property
    def intact(self) -> bool:
        return not self.broken


async def verify_audit(conn: AsyncConnection, batch: int = 5000) -> AuditCheck:
    """Check the audit log's hash chain from its first row (`tocsin audit verify`, and the
    administrator's console): each row names its predecessor's hash, and its own hash is that
    of its predecessor's and its fields. Read in batches, so a long log is never held whole."""
    prev, last_id, rows, broken = GENESIS, 0, 0, []
    while True:
        chunk = (await conn.execute(sa.select(audit_log).where(audit_log.c.id > last_id)
                                    .order_by(audit_log.c.id).limit(batch))).all()
        for row in chunk:
            fields = {k: getattr(row, k) for k in ("at", "actor", "action", "target", "details")}
            if row.prev_hash != prev or row.hash != audit_hash(prev, fields):
                broken.append(BrokenAuditRow(id=row.id, at=row.at, actor=row.actor, action=row.action))
            prev, last_id = row.hash, row.id
        rows += len(chunk)
        if len(chunk) < batch:
            return AuditCheck(rows=rows, broken=broken)


async def upgrade(url: str | DatabaseURL) -> None:
    """Bring the schema to the newest migration."""
    from alembic import command

    from alerts.migrations import alembic_config

    store = Store(url)
    try:
        async with store.engine.begin() as conn:
            await conn.run_sync(lambda sync_conn: command.upgrade(alembic_config(sync_conn), "heads"))
    finally:
        await store.close()
