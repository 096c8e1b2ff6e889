"""Approvers see what waits for them: the badge on every console page (counted once per
request, the Approve button's own rule: in scope, not the author), the title's "(n)", and a
stream that tells an open page when the number changes."""

from __future__ import annotations

import asyncio
import json
import re

from tests.console.test_auth import sign_in
from tests.helpers import EARTHQUAKE_IN_BAKU, json_ok

ADVISORY = {"scenario": "security_advisory", "status": "Actual", "audience": {"countries": ["TR"]},
            "params": {"country": "TR", "level": "avoid_travel", "embassy_phone": "+902124400101"}}


async def _pending(tocsin, author: dict[str, str], body: dict) -> int:
    draft = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=author, json=body), 201)
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/submit", headers=author))
    return draft["id"]


def _badge(html: str) -> tuple[str, bool] | None:
    """The badge's words and whether it shows, or None when the page has none."""
    found = re.search(r'<a [^>]*id="waiting"[^>]*>([^<]*)</a>', html)
    if found is None:
        return None
    return found.group(1), " hidden" not in found.group(0)


async def test_the_badge_is_on_every_console_page_with_the_approvers_own_count(tocsin):
    operator = await tocsin.user("olga", "operator")
    await tocsin.user("anar", "approver")
    consul = await tocsin.user("kamal", "consular", ["TR"])
    await tocsin.user("leyla", "consular", ["TR"])
    await tocsin.user("gia", "consular", ["GE"])
    home = await _pending(tocsin, operator, {**EARTHQUAKE_IN_BAKU, "status": "Actual"})
    advisory = await _pending(tocsin, consul, ADVISORY)

    await sign_in(tocsin, "anar")
    for path in ("/console?lang=en", f"/console/alerts/{home}?lang=en", f"/console/alerts/{advisory}/report?lang=en",
                 "/console/compose?lang=en", "/console/nothing-here?lang=en"):
        response = await tocsin.client.get(path)
        html = await response.text()
        if response.status == 404 and "<header" not in html:
            continue  # a console 404 that is not a console page has no top bar to carry a badge
        assert _badge(html) == ("2 wait for your approval", True), path
        assert re.search(r"<title>\(2\) ", html), path

    # A consul: only what is in their countries and not their own.
    await sign_in(tocsin, "leyla")
    assert _badge(await (await tocsin.client.get("/console?lang=en")).text()) == ("1 waits for your approval", True)
    await sign_in(tocsin, "kamal")  # the author of the advisory
    html = await (await tocsin.client.get("/console?lang=en")).text()
    assert _badge(html) == ("0 wait for your approval", False) and "<title>(" not in html
    await sign_in(tocsin, "gia")  # another country
    assert _badge(await (await tocsin.client.get("/console?lang=en")).text())[1] is False
    # An operator never approves: no badge at all.
    await sign_in(tocsin, "olga")
    assert _badge(await (await tocsin.client.get("/console?lang=en")).text()) is None
    assert (await tocsin.client.get("/console/waiting/stream")).status == 404

    # In the officer's language.
    await sign_in(tocsin, "anar")
    html = await (await tocsin.client.get("/console?lang=ru")).text()
    assert _badge(html)[1] and "2" in _badge(html)[0] and "approval" not in _badge(html)[0]


async def _event(stream) -> dict:
    block = await asyncio.wait_for(stream.content.readuntil(b"\n\n"), timeout=10)
    while b"event: waiting" not in block:  # pings and the like
        block = await asyncio.wait_for(stream.content.readuntil(b"\n\n"), timeout=10)
    data = [line[6:] for line in block.decode().splitlines() if line.startswith("data: ")]
    return json.loads("".join(data))


async def test_the_stream_tells_an_open_page_when_the_number_changes(tocsin):
    operator = await tocsin.user("olga", "operator")
    approver = await tocsin.user("anar", "approver")
    await sign_in(tocsin, "anar")
    stream = await tocsin.client.get("/console/waiting/stream?lang=en")
    assert stream.status == 200 and stream.content_type == "text/event-stream"
    assert await _event(stream) == {"count": 0, "text": "0 wait for your approval"}

    first = await _pending(tocsin, operator, {**EARTHQUAKE_IN_BAKU, "status": "Exercise"})
    assert await _event(stream) == {"count": 1, "text": "1 waits for your approval"}
    await _pending(tocsin, operator, {**EARTHQUAKE_IN_BAKU, "status": "Exercise"})
    assert await _event(stream) == {"count": 2, "text": "2 wait for your approval"}
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{first}/approve", headers=approver))
    assert await _event(stream) == {"count": 1, "text": "1 waits for your approval"}
    stream.close()
