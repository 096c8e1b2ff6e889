"""Small helpers for driving Tocsin over HTTP in tests: waiting, answers, signed webhooks, and
getting alerts issued as operators and approvers do (one way, `Desk`, for every test)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import aiohttp
import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from alerts.scenarios import SCENARIOS
from alerts.schema import deliveries, subscribers
from alerts.simulator import ReceivedRequest, Simulator
from alerts.web.app import utcnow
from tests.conftest import FAST, SIM_TOKEN

PHONES = {
    "az": "+994505550101",
    "en": "+994505550102",
    "ru": "+994505550103",
    "fr": "+994505550104",
    "ar": "+994505550105",
}
LANGS = tuple(PHONES)

# The alert most tests send: an earthquake in Baku, to Baku.
EARTHQUAKE_IN_BAKU: dict[str, Any] = {
    "scenario": "earthquake", "params": {"magnitude": 4.2, "epicentre": "AZ-BA"}, "audience": {"regions": ["AZ-BA"]},
}

# Dispatch at 5 messages a second: a broadcast to a few dozen people lasts seconds, long enough
# to act on it midway (cancel, expire, STOP).
SLOW = replace(FAST, rate=5.0)


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 15.0, interval: float = 0.05) -> Any:
    """Poll until check() returns something truthy; its last value on success."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last value: {value!r}")
        await asyncio.sleep(interval)


async def served(base: str, timeout: float = 30) -> Any:
    """Until a `tocsin serve` process at `base` answers /healthz with 200: that answer."""
    async with aiohttp.ClientSession() as http:
        async def healthy() -> Any:
            try:
                async with http.get(f"{base}/healthz") as resp:
                    return await resp.json() if resp.status == 200 else None
            except aiohttp.ClientConnectionError:
                return None

        return await eventually(healthy, timeout=timeout)


async def json_ok(response: Any, status: int = 200) -> Any:
    body = await response.json()
    assert response.status == status, (response.status, body)
    return body


async def signed_post(tocsin: Any, path_qs: str, form: dict[str, str], token: str | None = None) -> Any:
    """POST to a Twilio webhook the way Twilio does: signed over the public URL and form."""
    url = tocsin.config.public_url + path_qs
    signature = RequestValidator(token or SIM_TOKEN).compute_signature(url, form)
    return await tocsin.client.post(path_qs, data=form, headers={"X-Twilio-Signature": signature})


# ---- issuing alerts ----

class Desk:
    """An operator and an approver at one Tocsin."""

    def __init__(self, tocsin: Any, operator: dict[str, str], approver: dict[str, str]) -> None:
        self.tocsin, self.operator, self.approver = tocsin, operator, approver

    @classmethod
    async def open(cls, tocsin: Any, suffix: str = "") -> Desk:
        operator = await tocsin.user(f"olga{suffix}", "operator")
        return cls(tocsin, operator, await tocsin.user(f"anar{suffix}", "approver"))

    async def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """A draft from exactly this body (what the API does with missing fields is its own)."""
        return await json_ok(await self.tocsin.client.post("/api/v1/alerts", headers=self.operator, json=body), 201)

    async def draft(self, scenario: str = "earthquake", params: dict[str, Any] | None = None,
                    regions: list[str] | None = None, status: str = "Actual", **extra: Any) -> dict[str, Any]:
        return await self.post({
            "scenario": scenario, "params": params if params is not None else SCENARIOS[scenario].example_params(),
            "status": status, "audience": {"regions": regions or ["AZ-SMI"]}, "channels": ["sms", "web"],
            "expires_in_minutes": 120, **extra})

    async def approve(self, alert_id: int) -> dict[str, Any]:
        """Submit as the operator, approve as the approver; the approved alert."""
        client = self.tocsin.client
        await json_ok(await client.post(f"/api/v1/alerts/{alert_id}/submit", headers=self.operator))
        return await json_ok(await client.post(f"/api/v1/alerts/{alert_id}/approve", headers=self.approver))

    async def issue(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Draft, submit and approve: the alert goes out."""
        alert = await self.draft(*args, **kwargs)
        approved = await self.approve(alert["id"])
        if approved["send_at"] is None:
            await self.published(alert["id"])
        return approved

    async def published(self, alert_id: int) -> None:
        """Until its first round starts (a moment after approval) an alert is not yet public."""
        async def public() -> bool:
            return (await self.tocsin.client.get(f"/cap/{alert_id}.xml")).status == 200

        await eventually(public)

    async def cancel(self, alert_id: int) -> dict[str, Any]:
        return await json_ok(await self.tocsin.client.post(f"/api/v1/alerts/{alert_id}/cancel", headers=self.operator))


async def broadcast(tocsin: Any, status: str = "Actual") -> tuple[int, dict[str, str], dict[str, str]]:
    """An earthquake alert for Baku, approved, to one subscriber per language (PHONES); the
    alert's id and the operator's and approver's API headers."""
    desk = await Desk.open(tocsin)
    for lang, phone in PHONES.items():
        await json_ok(await tocsin.client.post("/api/v1/subscribers", headers=desk.operator,
                                               json={"phone": phone, "language": lang, "region": "AZ-BA"}), 201)
    draft = await desk.post({**EARTHQUAKE_IN_BAKU, "status": status})
    await desk.approve(draft["id"])
    return draft["id"], desk.operator, desk.approver


async def approved(tocsin: Any, body: dict[str, Any] | None = None, **extra: Any) -> int:
    """An alert approved by a fresh operator and approver: `body`, or the Baku earthquake as an
    Exercise with `extra` fields; its id. The operator's headers are left in `tocsin.operator`."""
    tag = uuid.uuid4().hex[:6]
    desk = Desk(tocsin, await tocsin.user(f"op{tag}", "operator"), await tocsin.user(f"ap{tag}", "approver"))
    draft = await desk.post(body or {**EARTHQUAKE_IN_BAKU, "status": "Exercise", **extra})
    await desk.approve(draft["id"])
    tocsin.operator = desk.operator
    return draft["id"]


# ---- larger broadcasts, and what they did ----

async def subscribe_many(tocsin: Any, count: int, region: str = "AZ-BA", channels: tuple[str, ...] = ("sms",),
                         lang_cycle: tuple[str, ...] = LANGS) -> list[str]:
    """Subscribers straight into the table (the API path is tested elsewhere); their phones."""
    now = utcnow()
    phones = [f"+99450{7000000 + i}" for i in range(count)]
    rows = [dict(phone=p, language=lang_cycle[i % len(lang_cycle)], kind="resident", region=region, country=None,
                 city=None, area=region, sms="sms" in channels, voice="voice" in channels, status="active",
                 consent_source="api", consent_at=now, consent_text_version="test", trip_ends=None,
                 created_at=now, updated_at=now) for i, p in enumerate(phones)]
    async with tocsin.store.write() as conn:
        await conn.execute(subscribers.insert(), rows)
    return phones


async def by_state(tocsin: Any, alert_id: int) -> dict[str, int]:
    """How many of the alert's deliveries are in each state."""
    async with tocsin.store.read() as conn:
        rows = await conn.execute(sa.select(deliveries.c.state, sa.func.count())
                                  .where(deliveries.c.alert_id == alert_id).group_by(deliveries.c.state))
        return dict(rows.all())


async def at_least_sent(tocsin: Any, n: int) -> bool:
    return len(tocsin.sim.created()) >= n


def posts_after(sim: Simulator, moment: float) -> list[ReceivedRequest]:
    """The POSTs the simulator received after `moment` (time.monotonic())."""
    return [r for r in sim.received if r.method == "POST" and r.at > moment]
