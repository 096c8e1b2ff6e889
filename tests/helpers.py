"""Small helpers for driving Tocsin over HTTP in tests."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Awaitable, Callable

PHONES = {
    "az": "+994505550101",
    "en": "+994505550102",
    "ru": "+994505550103",
    "fr": "+994505550104",
    "ar": "+994505550105",
}


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


async def json_ok(response: Any, status: int = 200) -> Any:
    body = await response.json()
    assert response.status == status, (response.status, body)
    return body


async def signed_post(tocsin: Any, path_qs: str, form: dict[str, str], token: str | None = None) -> Any:
    """POST to a Twilio webhook the way Twilio does: signed over the public URL and form."""
    from twilio.request_validator import RequestValidator

    from tests.conftest import SIM_TOKEN

    url = tocsin.config.public_url + path_qs
    signature = RequestValidator(token or SIM_TOKEN).compute_signature(url, form)
    return await tocsin.client.post(path_qs, data=form, headers={"X-Twilio-Signature": signature})


async def broadcast(tocsin: Any, status: str = "Actual") -> tuple[int, dict[str, str], dict[str, str]]:
    """An earthquake alert for Baku, approved, to one subscriber per language (PHONES); the
    alert's id and the operator's and approver's API headers."""
    operator = await tocsin.user("olga", "operator")
    approver = await tocsin.user("anar", "approver")
    for lang, phone in PHONES.items():
        await json_ok(await tocsin.client.post("/api/v1/subscribers", headers=operator,
                                               json={"phone": phone, "language": lang, "region": "AZ-BA"}), 201)
    draft = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=operator, json={
        "scenario": "earthquake", "params": {"magnitude": 4.2, "epicentre": "AZ-BA"},
        "status": status, "audience": {"regions": ["AZ-BA"]},
    }), 201)
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/submit", headers=operator))
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/approve", headers=approver))
    return draft["id"], operator, approver
