"""Alert changes travel to every instance: on PostgreSQL by LISTEN/NOTIFY, in one process by
direct calls. A wake-up is only a hint: the database stays the truth, and every loop also
polls, so a lost notification delays work by a poll interval and loses nothing."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import asyncpg  # ships no type information
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts.store import Store
from alerts.supervise import supervise

log = logging.getLogger(__name__)
CHANNEL = "tocsin_events"
Listener = Callable[[dict[str, Any]], None]


class Events:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    async def publish(self, conn: AsyncConnection, event: dict[str, Any]) -> None:
        """Inside the caller's transaction: other instances hear it when it commits."""
        if conn.dialect.name == "postgresql":
            await conn.execute(sa.text("SELECT pg_notify(:channel, :payload)"),
                               {"channel": CHANNEL, "payload": json.dumps(event)})

    def local(self, event: dict[str, Any]) -> None:
        """After the commit, for this process's own loops."""
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:
                log.exception("event listener failed on %s", event)

    async def listen(self) -> None:
        """Relay other instances' events to this one's listeners, reconnecting as needed."""
        if self.store.is_sqlite:
            return
        await supervise(self._relay, what="LISTEN connection", wait=lambda: asyncio.sleep(1), logger=log)

    async def _relay(self) -> None:
        """One LISTEN connection, for as long as it lives."""
        dsn = self.store.url.replace("postgresql+asyncpg://", "postgresql://", 1)
        conn = await asyncpg.connect(dsn)
        try:
            await conn.add_listener(CHANNEL, lambda _c, _pid, _ch, payload: self.local(json.loads(payload)))
            while not conn.is_closed():
                await asyncio.sleep(2)
                await conn.execute("SELECT 1")  # notice a dead connection
        finally:
            if not conn.is_closed():
                await conn.close()
