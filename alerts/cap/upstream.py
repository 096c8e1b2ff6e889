"""Polling an upstream CAP source (TOCSIN_CAP_UPSTREAM_URL): a CAP message, or an Atom feed
whose entries link to CAP messages. Each new message becomes a draft, exactly as if posted
to /api/v1/cap, authored by the `cap-upstream` account. What it serves is as untrusted as
anything posted: size-capped, parsed with defusedxml, and a bad message is logged and
skipped, never a crash of the poller."""

from __future__ import annotations

import asyncio
import functools
import logging
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import NoReturn
from urllib.parse import urljoin

import aiohttp

from alerts.cap import NS, ingest
from alerts.cap.intake import INGESTED, already_ingested, ingest as ingest_draft, upstream_user
from alerts.model import our_sender
from alerts.store import Store
from alerts.supervise import supervise
from alerts.validation import Conflict, Forbidden, ValidationError

log = logging.getLogger(__name__)
ATOM = "{http://www.w3.org/2005/Atom}"
MAX_FEED_BYTES = 1024 * 1024
MAX_ENTRIES = 50


class TooLarge(Exception):
    pass


async def fetch(session: aiohttp.ClientSession, url: str, limit: int) -> bytes:
    async with session.get(url) as response:
        response.raise_for_status()
        if response.content_length is not None and response.content_length > limit:
            raise TooLarge(f"{url} is over {limit // 1024} KB")
        body = b""
        async for chunk in response.content.iter_chunked(64 * 1024):
            body += chunk
            if len(body) > limit:
                raise TooLarge(f"{url} is over {limit // 1024} KB")
        return body


class UpstreamPoller:
    def __init__(self, store: Store, clock: Callable[[], datetime], url: str, interval: float, public_url: str) -> None:
        self.store, self.clock, self.url, self.interval = store, clock, url, interval
        self.sender = our_sender(public_url)

    async def run(self) -> NoReturn:
        """For ever (until cancelled): a poll every `interval` seconds."""
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            await supervise(lambda: self._poll_once(session), what="polling the CAP upstream",
                            wait=lambda: asyncio.sleep(self.interval), logger=log)

    async def _poll_once(self, session: aiohttp.ClientSession) -> None:
        try:
            await self.poll(session)
        except Exception as exc:  # noqa: BLE001 - the source down or serving junk: one line, no traceback
            log.warning("polling the CAP upstream failed: %s", exc)

    async def poll(self, session: aiohttp.ClientSession) -> list[int]:
        """Fetch the source; the ids of the drafts made from messages new to us. Each message
        stands alone: one that cannot be fetched, parsed or drafted, for whatever reason, is
        logged and counted, and the ones after it are still taken, on this poll and the next."""
        root = ingest.parse_any(await fetch(session, self.url, MAX_FEED_BYTES))
        if root.tag != f"{ATOM}feed":
            draft = await self._one(self.url, lambda: self._checked(root))
            return [draft] if draft is not None else []
        made = []
        for entry in root.findall(f"{ATOM}entry")[:MAX_ENTRIES]:
            link = self._cap_link(entry)
            if link is None:
                continue
            draft = await self._one(link, functools.partial(self._fetched, session, link))
            if draft is not None:
                made.append(draft)
        return made

    async def _fetched(self, session: aiohttp.ClientSession, link: str) -> ET.Element:
        return ingest.parse(await fetch(session, link, ingest.MAX_BYTES))

    async def _checked(self, root: ET.Element) -> ET.Element:
        if root.tag != f"{{{NS}}}alert":
            raise ingest.CapRejected(f"not a CAP 1.2 message: the root must be <alert> in the namespace {NS}")
        return root

    async def _one(self, where: str, message: Callable[[], Awaitable[ET.Element]]) -> int | None:
        try:
            return await self._take(await message(), where)
        except (TimeoutError, ingest.CapRejected, ValidationError, Conflict, Forbidden, TooLarge,
                aiohttp.ClientError) as exc:
            INGESTED.labels(source="upstream", outcome="rejected").inc()
            log.warning("upstream CAP %s not taken: %s %s", where, exc, getattr(exc, "fields", "") or "")
        except Exception as exc:  # noqa: BLE001 - a bug met by one message must not stop the others
            INGESTED.labels(source="upstream", outcome="failed").inc()
            log.error("upstream CAP %s failed: %s: %s", where, type(exc).__name__, exc)
        return None

    def _cap_link(self, entry: ET.Element) -> str | None:
        links = entry.findall(f"{ATOM}link")
        for link in links:
            if link.get("type") in ("application/cap+xml", "application/xml", "text/xml") and link.get("href"):
                return urljoin(self.url, link.get("href", ""))
        for link in links:
            if link.get("href", "").endswith(".xml"):
                return urljoin(self.url, link.get("href", ""))
        return None

    async def _take(self, root: ET.Element, where: str) -> int | None:
        incoming = ingest.read(root)
        async with self.store.write() as conn:
            if await already_ingested(conn, incoming) is not None:
                return None  # seen on an earlier poll
            user = await upstream_user(conn, self.clock())
            draft = await ingest_draft(conn, incoming, user, self.sender, "upstream", self.clock())
        INGESTED.labels(source="upstream", outcome="draft").inc()
        log.info("upstream CAP %s (%s) is now draft %s", incoming.identifier, incoming.sender, draft)
        return draft
