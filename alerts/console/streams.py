"""What every console stream (an alert's progress, a check-in's responses, the approvals
badge) shares: how long it lives and how it notices that its reader is gone. The browser
reconnects by itself, so a bounded stream never outlives its reader for long; a sign-out or a
disabled account ends it at the next check."""

from __future__ import annotations

import asyncio

from aiohttp import web

from alerts.console import sessions
from alerts.console.guard import COOKIE
from alerts.web.keys import CLOCK, STORE

# How often a quiet stream pings its reader (one who left is noticed when the ping fails) and
# checks its session.
PING_SECONDS = 15.0
MAX_STREAM_SECONDS = 600.0


class Reader:
    """The signed-in reader of one stream."""

    def __init__(self, request: web.Request) -> None:
        self.store = request.config_dict[STORE]
        self.clock = request.config_dict[CLOCK]
        self.token = request.cookies.get(COOKIE, "")
        self.loop = asyncio.get_running_loop()
        self.began = self.checked = self.loop.time()

    def within_lifetime(self) -> bool:
        return self.loop.time() - self.began < MAX_STREAM_SECONDS

    async def gone(self) -> bool:
        """Whether the session ended; asked of the database at most every PING_SECONDS."""
        if self.loop.time() - self.checked <= PING_SECONDS:
            return False
        self.checked = self.loop.time()
        async with self.store.read() as conn:
            return await sessions.find_session(conn, self.token, self.clock()) is None
