"""Hostile input against every route (SPEC §12 Bad input, §13 Hardening), on SQLite and
PostgreSQL: each case of the corpus (tests/security/cases.py, strings and raw requests in
corpus/) gets the answer it should (a 4xx naming what is wrong, never a 5xx), a refused
request writes nothing (row counts of every table before and after), and the server logs no
traceback and no error. A last check makes sure every registered route has cases."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import make_mocked_request
from twilio.request_validator import RequestValidator

from alerts.schema import metadata
from tests.conftest import SIM_TOKEN
from tests.helpers import eventually, json_ok
from tests.security.cases import _UNSET, FOUR_XX, GROUPS, NOT_5XX, Case, all_cases

PUBLISHED = {"scenario": "earthquake", "params": {"magnitude": 4.2, "epicentre": "AZ-BA"}, "status": "Exercise",
             "audience": {"regions": ["AZ-BA"]}, "channels": ["sms", "web"]}
ADVISORY = {"scenario": "security_advisory", "status": "Exercise", "audience": {"countries": ["TR"]},
            "channels": ["sms"]}


# Written by the provider's status callbacks when they beat our record of a send, and emptied
# in the background once the send is recorded: never by the request under test (forged and
# unsigned callbacks are among the cases, and answer 403 before anything is read).
BACKGROUND = {"early_statuses"}


class World:
    """The app and what the cases refer to: users' tokens and alerts in each state."""

    def __init__(self, tocsin: Any) -> None:
        self.tocsin = tocsin
        self.tokens: dict[str, dict[str, str]] = {}
        self.ids: dict[str, str] = {}

    async def build(self) -> None:
        t = self.tocsin
        self.tokens = {
            "operator": await t.user("olga", "operator"),
            "approver": await t.user("anar", "approver"),
            "consular": await t.user("kamran", "consular", ["TR", "GE"]),
            "consular_fr": await t.user("farid", "consular", ["FR"]),
            "admin": await t.user("root", "admin"),
        }
        operator, approver = self.tokens["operator"], self.tokens["approver"]
        await json_ok(await t.client.post("/api/v1/subscribers", headers=operator, json={
            "phone": "+994505550101", "language": "en", "region": "AZ-BA"}), 201)
        published = await self._draft(PUBLISHED)
        await json_ok(await t.client.post(f"/api/v1/alerts/{published}/submit", headers=operator))
        await json_ok(await t.client.post(f"/api/v1/alerts/{published}/approve", headers=approver))
        advisory = await self._draft(ADVISORY, await self._advisory_params(), self.tokens["consular"])
        pending = await self._draft(PUBLISHED)
        await json_ok(await t.client.post(f"/api/v1/alerts/{pending}/submit", headers=operator))
        self.ids = {"alert": str(await self._draft(PUBLISHED)), "published": str(published),
                    "abroad": str(advisory), "pending": str(pending), "missing": "999999",
                    "public": t.config.public_url, "signup": "x" * 43}

        self.ids["csrf"] = await self._console_session()

        async def sent() -> bool:
            async with t.store.read() as conn:
                states = (
                    await conn.scalars(sa.text(f"SELECT state FROM deliveries WHERE alert_id = {published}"))
                ).all()
            return bool(states) and all(s in ("delivered", "sent", "failed", "undelivered") for s in states)
        await eventually(sent)  # the broadcast settles before counting rows

    async def _console_session(self) -> str:
        """The operator signed in to the console, as a browser does; the session's CSRF token."""
        client, origin = self.tocsin.client, {"Origin": self.tocsin.config.public_url}
        login = await (await client.get("/console/login")).text()
        token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)
        signed_in = await client.post("/console/login", data={"username": "olga", "password": "a-long-test-password",
                                                              "csrf_token": token}, headers=origin,
                                      allow_redirects=False)
        assert signed_in.status == 303
        page = await (await client.get("/console")).text()
        return re.search(r'name="csrf" value="([^"]+)"', page).group(1)

    async def _advisory_params(self) -> dict[str, Any]:
        scenarios = await json_ok(await self.tocsin.client.get("/api/v1/scenarios", headers=self.tokens["operator"]))
        found = next(s for s in scenarios["scenarios"] if s["id"] == "security_advisory")
        return {p["name"]: p["example"] for p in found["params"] if p["required"]}

    async def _draft(self, body: dict[str, Any], params: dict[str, Any] | None = None,
                     headers: dict[str, str] | None = None) -> int:
        body = {**body, "params": params} if params is not None else body
        draft = await json_ok(await self.tocsin.client.post(
            "/api/v1/alerts", headers=headers or self.tokens["operator"], json=body), 201)
        return int(draft["id"])

    def fill(self, text: str) -> str:
        for key, value in self.ids.items():
            text = text.replace("{" + key + "}", value)
        return text

    async def counts(self) -> dict[str, int]:
        names = [table.name for table in metadata.sorted_tables]
        query = "SELECT " + ", ".join(f'(SELECT count(*) FROM "{name}")' for name in names)
        async with self.tocsin.store.read() as conn:
            row = (await conn.execute(sa.text(query))).one()
        return dict(zip(names, row, strict=True))

    async def send(self, case: Case) -> int:
        if case.raw is not None:
            return await self._send_raw(case)
        client = self.tocsin.client
        path = self.fill(case.path)
        headers = {k: self.fill(v) for k, v in case.headers.items()}
        if case.auth:
            headers.update(self.tokens[case.auth])
        kwargs: dict[str, Any] = {"headers": headers, "allow_redirects": False}
        if case.json_body is not _UNSET:
            kwargs["json"] = case.json_body
        elif case.body is not None:
            kwargs["data"] = case.body
        elif case.form is not None:
            # Encoded by hand: a hostile client sends lone surrogates as the bytes UTF-8 would give them.
            form = {k: self.fill(v) for k, v in case.form.items()}
            kwargs["data"] = urlencode(form, encoding="utf-8", errors="surrogatepass")
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            if case.signed:
                url = self.tocsin.config.public_url + path
                try:
                    headers["X-Twilio-Signature"] = RequestValidator(SIM_TOKEN).compute_signature(url, case.form)
                except UnicodeEncodeError:  # Twilio could not have signed it either
                    headers["X-Twilio-Signature"] = "unsignable"
        async with client.request(case.method, path, **kwargs) as response:
            if response.content_type != "text/event-stream":
                await response.read()
            return response.status

    async def _send_raw(self, case: Case) -> int:
        server = self.tocsin.client.server
        reader, writer = await asyncio.open_connection(server.host, server.port)
        try:
            writer.write(self.fill(case.raw or "").replace("{host}", f"{server.host}:{server.port}").encode("latin-1"))
            await writer.drain()
            status_line = await asyncio.wait_for(reader.readline(), 10)
        finally:
            writer.close()
        return int(status_line.split()[1])


def _expected(case: Case, status: int) -> bool:
    if case.expect == FOUR_XX:
        return 400 <= status < 500
    if case.expect == NOT_5XX:
        return status < 500
    return status in case.expect


def _trouble(records: list[logging.LogRecord]) -> list[str]:
    return [f"{r.levelname} {r.name}: {r.getMessage()[:200]}" for r in records
            if r.exc_info or r.levelno >= logging.ERROR]


@pytest.mark.parametrize("group", list(GROUPS))
async def test_hostile_requests_get_a_4xx_write_nothing_and_log_no_traceback(tocsin, caplog, group):
    world = World(tocsin)
    await world.build()
    caplog.set_level(logging.WARNING)
    caplog.clear()
    failures: list[str] = []
    for case in GROUPS[group]():
        before = await world.counts()
        status = await world.send(case)
        after = await world.counts()
        trouble = _trouble(caplog.records)
        caplog.clear()
        if not _expected(case, status):
            failures.append(f"{case.name}: answered {status}, expected {case.expect}")
        if 400 <= status < 500:
            changed = {t: (before[t], after[t]) for t in before
                       if before[t] != after[t] and t not in case.may_write and t not in BACKGROUND}
            if changed:
                failures.append(f"{case.name}: refused ({status}) but wrote {changed}")
        if trouble:
            failures.append(f"{case.name}: logged {trouble}")
    assert not failures, f"{len(failures)} of {len(GROUPS[group]())} cases failed:\n" + "\n".join(failures)


async def test_the_corpus_reaches_every_route(tocsin):
    """Every route the app registers (bar HEAD) is resolved by at least one case's request."""
    world = World(tocsin)
    world.ids = {"alert": "1", "published": "1", "abroad": "2", "pending": "3", "missing": "9", "public": "",
                 "signup": "x" * 43, "csrf": ""}
    app = tocsin.app
    reached = set()
    cases = all_cases()
    for case in cases:
        if case.raw is not None:
            method, target = case.raw.split(" ", 2)[:2]
        else:
            method, target = case.method, world.fill(case.path)
        match = await app.router.resolve(make_mocked_request(method, target.split("?")[0], app=app))
        if match.route.resource is not None and match.http_exception is None:
            reached.add((match.route.method, match.route.resource.canonical))
    routes = {(r.method, r.resource.canonical) for r in app.router.routes()
              if r.method != "HEAD" and r.resource is not None and not r.resource.canonical.startswith("/_twilio")}
    assert routes - reached == set()
    assert len(cases) >= 400, len(cases)
