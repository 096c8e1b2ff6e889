"""Progress while an alert goes out (a stream of the server-drawn chart) and the report
after it: time to the first delivery and to 90%, failures by reason, as a page and CSV."""

from __future__ import annotations

import csv
import io

from alerts.simulator import FaultRule
from tests.console.test_auth import sign_in
from tests.helpers import eventually, json_ok


async def _sent_alert(tocsin, people: int = 10) -> int:
    operator = await tocsin.user("olga", "operator")
    approver = await tocsin.user("anar", "approver")
    for n in range(people):
        await json_ok(await tocsin.client.post("/api/v1/subscribers", headers=operator, json={
            "phone": f"+99450555{n:04d}", "language": "en", "region": "AZ-BA"}), 201)
    draft = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=operator, json={
        "scenario": "earthquake", "params": {"magnitude": 5.8, "epicentre": "AZ-BA"}, "status": "Exercise",
        "audience": {"regions": ["AZ-BA"]}, "channels": ["sms"]}), 201)
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/submit", headers=operator))
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/approve", headers=approver))
    return draft["id"]


async def test_the_progress_stream_follows_the_alert_to_its_end(tocsin):
    alert_id = await _sent_alert(tocsin)
    await sign_in(tocsin, "olga")
    response = await tocsin.client.get(f"/console/alerts/{alert_id}/progress?lang=en")
    assert response.status == 200 and response.content_type == "text/event-stream"
    text = (await response.read()).decode()  # the stream ends by itself once the alert is done
    assert "event: progress" in text and "<svg" in text and text.rstrip().endswith("event: end\ndata:")
    assert "event: state\ndata: Sent\n" in text  # the state in words, in the page's language


async def test_the_after_action_report(tocsin):
    tocsin.sim.script(FaultRule(status=400, code=21211, to="+994505550003", times=None))
    alert_id = await _sent_alert(tocsin)
    watcher = await tocsin.user("watcher", "operator")

    async def delivered():
        summary = await json_ok(await tocsin.client.get(f"/api/v1/alerts/{alert_id}/deliveries", headers=watcher))
        return summary if summary["by_state"].get("delivered") == 9 else None

    await eventually(delivered)
    await sign_in(tocsin, "olga")
    page = await (await tocsin.client.get(f"/console/alerts/{alert_id}/report?lang=en")).text()
    assert "90.0%" in page and 'id="failures"' in page and "INVALID_NUMBER" in page
    exported = await tocsin.client.get(f"/console/alerts/{alert_id}/report?format=csv")
    rows = dict(csv.reader(io.StringIO(await exported.text())))
    assert rows["deliveries"] == "10" and rows["delivered_percent"] == "90.0"
    assert float(rows["seconds_to_first_delivery"]) <= float(rows["seconds_to_90_percent"])
    assert rows["failure:failed:INVALID_NUMBER"] == "1"


async def test_a_stream_ends_with_its_session(tocsin, monkeypatch):
    """A stream on an alert that does not change still checks its reader and its session."""
    import asyncio
    import re

    from alerts.console import live, streams
    from tests.console.test_auth import origin

    monkeypatch.setattr(live, "PING_SECONDS", 0.2)  # the ping...
    monkeypatch.setattr(streams, "PING_SECONDS", 0.2)  # ...and the session check
    operator = await tocsin.user("olga", "operator")
    draft = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=operator, json={
        "scenario": "earthquake", "params": {"magnitude": 5.8, "epicentre": "AZ-BA"}, "status": "Exercise",
        "audience": {"regions": ["AZ-BA"]}, "channels": ["sms"]}), 201)
    await sign_in(tocsin, "olga")
    stream = await tocsin.client.get(f"/console/alerts/{draft['id']}/progress")
    assert stream.status == 200
    first = await stream.content.readuntil(b"event: state")
    assert b"event: progress" in first
    html = await (await tocsin.client.get("/console")).text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
    await tocsin.client.post("/console/logout", data={"csrf": csrf}, headers=origin(tocsin), allow_redirects=False)
    rest = await asyncio.wait_for(stream.read(), timeout=5)  # ends: the session is over
    assert b": ping" in rest


async def test_open_progress_streams_end_at_shutdown(tocsin):
    """The console's streams end at shutdown the way /events does: the server does not wait."""
    import asyncio

    import aiohttp

    operator = await tocsin.user("olga", "operator")
    draft = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=operator, json={
        "scenario": "earthquake", "params": {"magnitude": 5.8, "epicentre": "AZ-BA"}, "status": "Exercise",
        "audience": {"regions": ["AZ-BA"]}, "channels": ["sms"]}), 201)
    await sign_in(tocsin, "olga")
    async with aiohttp.ClientSession(cookie_jar=tocsin.client.session.cookie_jar) as session:
        stream = await session.get(tocsin.client.make_url(f"/console/alerts/{draft['id']}/progress"))
        assert stream.status == 200
        first = await asyncio.wait_for(stream.content.readuntil(b"event: state"), 10)
        assert first.startswith(b"event: progress\ndata: ") and b"\nretry: 3000\n\n" in first
        await asyncio.wait_for(tocsin.client.server.close(), 5)
        rest = await asyncio.wait_for(stream.content.read(), 5)
        assert b"event: end" not in rest  # cut short by the shutdown, not finished
