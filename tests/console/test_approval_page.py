"""The approval page is read before it is decided: the texts of every language come before
the approve form; a rejection's reason reaches the author, who can copy the draft; the
buttons say what they do ("Discard draft", "Stop sending"), and stopping a live alert takes a
box ticked on purpose, checked on the server; approvers see how many alerts wait for them."""

from __future__ import annotations

import re

import sqlalchemy as sa

from alerts.schema import alerts, audit_log
from tests.console.test_auth import origin, sign_in
from tests.helpers import Desk, json_ok


async def _page(tocsin, alert_id: int) -> str:
    response = await tocsin.client.get(f"/console/alerts/{alert_id}?lang=en")
    assert response.status == 200
    return await response.text()


async def _post(tocsin, alert_id: int, action: str, **form: str):
    html = await _page(tocsin, alert_id)
    csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
    return await tocsin.client.post(f"/console/alerts/{alert_id}/{action}?lang=en", data={"csrf": csrf, **form},
                                    headers=origin(tocsin), allow_redirects=False)


async def _pending(tocsin, desk: Desk, **extra) -> int:
    draft = await desk.draft(**extra)
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/submit", headers=desk.operator))
    return draft["id"]


async def _state(tocsin, alert_id: int) -> str:
    async with tocsin.store.read() as conn:
        return await conn.scalar(sa.select(alerts.c.state).where(alerts.c.id == alert_id))


async def test_the_texts_of_every_language_come_before_the_decision(tocsin):
    desk = await Desk.open(tocsin)
    alert_id = await _pending(tocsin, desk)
    await sign_in(tocsin, "anar")
    html = await _page(tocsin, alert_id)
    approve = html.index(f"/alerts/{alert_id}/approve")
    sms = [m.start() for m in re.finditer(r"<pre class=\"sms\"", html)]
    assert len(sms) == 5  # one per language
    assert max(sms) < approve and max(sms) < html.index(f"/alerts/{alert_id}/reject")
    for part in ("headline", "description", "instruction", "voice"):
        assert 0 < html.index(f'class="part-{part}"') < approve, part
    assert html.index('id="published"') < approve
    # The pending alert can still be discarded, under that name, and never in the Approve red.
    assert "Discard draft" in html and "Cancel this alert" not in html
    assert re.search(r'class="quiet" id="discard"', html)


async def test_the_author_reads_why_it_was_rejected_and_copies_the_draft(tocsin):
    desk = await Desk.open(tocsin)
    alert_id = await _pending(tocsin, desk, regions=["AZ-BA"], status="Exercise")
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{alert_id}/reject", headers=desk.approver,
                                           json={"reason": "wrong magnitude <b>5.9</b>"}))
    await sign_in(tocsin, "olga")
    html = await _page(tocsin, alert_id)
    assert re.search(r"Rejected by anar at \d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d \(Baku time\)\.", html)
    assert '<span id="rejection-reason">wrong magnitude &lt;b&gt;5.9&lt;/b&gt;</span>' in html
    assert 'id="copy"' in html

    copied = await _post(tocsin, alert_id, "copy")
    assert copied.status == 303
    copy_id = int(re.search(r"/alerts/(\d+)", copied.headers["Location"]).group(1))
    assert copy_id != alert_id
    original = await json_ok(await tocsin.client.get(f"/api/v1/alerts/{alert_id}", headers=desk.operator))
    copy = await json_ok(await tocsin.client.get(f"/api/v1/alerts/{copy_id}", headers=desk.operator))
    assert copy["state"] == "draft" and original["state"] == "rejected"
    for field in ("scenario", "params", "status", "audience", "channels"):
        assert copy[field] == original[field], field
    async with tocsin.store.read() as conn:
        actions = (await conn.execute(sa.select(audit_log.c.action, audit_log.c.details)
                                      .where(audit_log.c.target == f"alert:{copy_id}"))).all()
    assert ("alert.copy", {"from": alert_id}) in [(a.action, a.details) for a in actions]
    assert "alert.draft" in [a.action for a in actions]
    # Only a rejected alert is copied.
    again = await _post(tocsin, copy_id, "copy")
    assert again.status == 409 and await _state(tocsin, copy_id) == "draft"


async def test_the_approver_sees_no_copy_and_no_reason_before_a_rejection(tocsin):
    desk = await Desk.open(tocsin)
    alert_id = await _pending(tocsin, desk)
    await sign_in(tocsin, "olga")
    html = await _page(tocsin, alert_id)
    assert 'id="rejection"' not in html and 'id="copy"' not in html


async def test_stopping_a_live_alert_needs_the_box_ticked(tocsin):
    desk = await Desk.open(tocsin)
    draft = await desk.draft(status="Exercise")
    await desk.approve(draft["id"])
    await sign_in(tocsin, "olga")
    html = await _page(tocsin, draft["id"])
    assert "Stop sending" in html and "Discard draft" not in html and "Cancel this alert" not in html
    assert "I want to stop this alert for everyone" in html
    stop = html.index('id="stop"')
    assert 'class="danger"' not in html[stop:html.index("</section>", stop)]  # its own look, not the Approve red
    assert 'id="correct"' not in html or "Send the correction<" in html

    refused = await _post(tocsin, draft["id"], "cancel")
    assert refused.status == 422
    assert "Nothing was stopped" in await refused.text()
    assert await _state(tocsin, draft["id"]) != "cancelled"
    unticked = await _post(tocsin, draft["id"], "cancel", confirm_stop="no")
    assert unticked.status == 422 and await _state(tocsin, draft["id"]) != "cancelled"

    stopped = await _post(tocsin, draft["id"], "cancel", confirm_stop="yes")
    assert stopped.status == 303
    assert await _state(tocsin, draft["id"]) == "cancelled"


async def test_a_draft_is_discarded_in_one_step(tocsin):
    desk = await Desk.open(tocsin)
    draft = await desk.draft(status="Exercise")
    await sign_in(tocsin, "olga")
    assert "Discard draft" in await _page(tocsin, draft["id"])
    discarded = await _post(tocsin, draft["id"], "cancel")
    assert discarded.status == 303 and await _state(tocsin, draft["id"]) == "cancelled"


async def test_the_api_cancel_stays_one_call(tocsin):
    desk = await Desk.open(tocsin)
    draft = await desk.draft(status="Exercise")
    await desk.approve(draft["id"])
    cancelled = await desk.cancel(draft["id"])
    assert cancelled["state"] == "cancelled"


async def test_the_correction_is_titled_a_correction_and_does_not_stop_itself(tocsin):
    desk = await Desk.open(tocsin)
    draft = await desk.draft(status="Exercise", regions=["AZ-BA"])
    await desk.approve(draft["id"])
    await sign_in(tocsin, "olga")
    html = await _page(tocsin, draft["id"])
    assert '<button type="submit" id="correct">Send the correction</button>' in html
    clicked = await _post(tocsin, draft["id"], "correct")
    assert clicked.status == 303
    correction_id = int(re.search(r"/alerts/(\d+)", clicked.headers["Location"]).group(1))
    html = await _page(tocsin, correction_id)
    assert f"<title>Correction of #{draft['id']}</title>" in html
    assert f"Correction of #{draft['id']}: " in html and "(Cancel)" not in html
    assert "Stop sending" not in html and "Discard draft" not in html and f"/alerts/{correction_id}/cancel" not in html
    listing = await (await tocsin.client.get("/console?lang=en")).text()
    assert "(Correction)" in listing and "(Cancel)" not in listing


async def test_the_badge_counts_what_this_user_may_approve(tocsin):
    desk = await Desk.open(tocsin)
    first = await _pending(tocsin, desk)
    await _pending(tocsin, desk)
    await desk.draft()  # a draft does not wait for anyone
    await tocsin.user("nigar", "consular", ["GE"])

    await sign_in(tocsin, "anar")
    listing = await (await tocsin.client.get("/console?lang=en")).text()
    assert re.search(r'id="waiting">2 wait for your approval<', listing)
    assert len(re.findall(r'<tr class="to-approve">', listing)) == 2
    assert 'id="waiting">2 wait' in await _page(tocsin, first)
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{first}/reject", headers=desk.approver,
                                           json={"reason": "no"}))
    listing = await (await tocsin.client.get("/console?lang=en")).text()
    assert re.search(r'id="waiting">1 waits for your approval<', listing)
    assert len(re.findall(r'<tr class="to-approve">', listing)) == 1

    for name in ("olga", "nigar"):  # the author never approves; a consul's scope is abroad
        tocsin.client.session.cookie_jar.clear()
        await sign_in(tocsin, name)
        listing = await (await tocsin.client.get("/console?lang=en")).text()
        # No badge to see: an operator has none, a consul's waits hidden until something is theirs.
        assert not re.search(r'(?<! hidden) id="waiting"', listing) and 'class="to-approve"' not in listing, name
