"""Update and All clear (issue 15): a draft that references an alert in force, prefilled from
it, through the same dry run and four-eyes approval; once approved it supersedes the original:
the original's queue stops, the update reaches everyone the original reached (and the new
area), and the public page, Atom, CAP and the call-centre push carry the update instead."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa

from alerts import permissions
from alerts.model import Role
from alerts.schema import alerts, audit_log, deliveries, subscribers
from alerts.users import User
from tests.console.test_auth import origin, sign_in
from tests.dispatch.steps import dispatcher_idle
from tests.helpers import SLOW, Desk, eventually, json_ok, subscribe_many
from tests.web.capschema import cap_schema
from tests.web.test_callcentre import CallCentre, _env, call_centres  # noqa: F401  (the fixture)

CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
QUAKE = {"scenario": "earthquake", "params": {"magnitude": 4.2, "epicentre": "AZ-BA"},
         "audience": {"regions": ["AZ-BA"]}, "channels": ["sms", "web"], "expires_in_minutes": 120}
ADVISORY = {"scenario": "security_advisory", "audience": {"countries": ["GE"]}, "channels": ["sms", "web"],
            "params": {"country": "GE", "level": "avoid_travel", "embassy_phone": "+995322452525"}}


async def _issued(desk: Desk, body: dict[str, Any], status: str = "Exercise") -> dict[str, Any]:
    draft = await desk.post({**body, "status": status})
    await desk.approve(draft["id"])
    await desk.published(draft["id"])
    return await _get(desk, draft["id"])


async def _get(desk: Desk, alert_id: int) -> dict[str, Any]:
    return await json_ok(await desk.tocsin.client.get(f"/api/v1/alerts/{alert_id}", headers=desk.operator))


async def _update(desk: Desk, alert_id: int, body: Any, status: int = 201) -> dict[str, Any]:
    return await json_ok(await desk.tocsin.client.post(f"/api/v1/alerts/{alert_id}/update", headers=desk.operator,
                                                       json=body), status)


async def _texts(desk: Desk, alert_id: int) -> dict[str, Any]:
    async with desk.tocsin.store.read() as conn:
        doc = await conn.scalar(sa.select(alerts.c.texts).where(alerts.c.id == alert_id))
    return next(iter(doc["by_zone"].values()))


async def _cap(tocsin: Any, alert_id: int) -> ET.Element:
    response = await tocsin.client.get(f"/cap/{alert_id}.xml")
    assert response.status == 200, response.status
    return ET.fromstring(await response.read())


def _as_referenced(cap: ET.Element) -> str:
    return ",".join(cap.findtext(CAP + name) or "" for name in ("sender", "identifier", "sent"))


# (original, the update's body, what the draft must say)
DEFAULTS = [
    pytest.param(QUAKE, {}, {"scenario": "earthquake", "params": {"magnitude": 4.2, "epicentre": "AZ-BA"},
                             "audience": {"regions": ["AZ-BA"], "countries": [],
                                          "kinds": ["resident", "migrant", "citizen_abroad"]}},
                 id="everything-from-the-original"),
    pytest.param(QUAKE, {"params": {"magnitude": 5.1}, "audience": {"regions": ["AZ-SM"]}},
                 {"scenario": "earthquake", "params": {"magnitude": 5.1, "epicentre": "AZ-BA"},
                  "audience": {"regions": ["AZ-SM"], "countries": [],
                               "kinds": ["resident", "migrant", "citizen_abroad"]}},
                 id="a-param-and-the-area-changed"),
    pytest.param(QUAKE, {"scenario": "all_clear"},
                 {"scenario": "all_clear", "params": {"region": "AZ-BA"}, "cap": {"event": "All clear"}},
                 id="all-clear-takes-the-area"),
    pytest.param(ADVISORY, {"scenario": "all_clear"},
                 {"scenario": "all_clear_abroad", "params": {"country": "GE", "embassy_phone": "+995322452525"},
                  "audience": {"regions": [], "countries": ["GE"],
                               "kinds": ["resident", "migrant", "citizen_abroad"]}},
                 id="all-clear-abroad"),
]


@pytest.mark.parametrize(("original", "body", "expected"), DEFAULTS)
async def test_an_update_is_drafted_from_the_original(tocsin, original, body, expected):
    desk = await Desk.open(tocsin)
    alert = await _issued(desk, original)
    update = await _update(desk, alert["id"], body)
    assert update["msg_type"] == "Update" and update["state"] == "draft"
    assert update["status"] == "Exercise" and update["channels"] == ["sms", "web"]
    for key, value in expected.items():
        if key == "cap":
            assert update["cap"]["event"] == value["event"]
        else:
            assert update[key] == value, key
    assert update["references"] == _as_referenced(await _cap(tocsin, alert["id"]))
    sms = (await _texts(desk, update["id"]))
    assert sms["en"]["sms"].startswith("EXERCISE: UPDATE: "), sms["en"]["sms"]
    assert sms["ru"]["sms"].startswith("УЧЕНИЯ: ОБНОВЛЕНИЕ"), sms["ru"]["sms"]
    assert sms["en"]["voice"].startswith("EXERCISE. UPDATE. ")
    async with tocsin.store.read() as conn:
        audited = (await conn.execute(sa.select(audit_log.c.details).where(
            audit_log.c.action == "alert.update", audit_log.c.target == f"alert:{alert['id']}"))).scalars().all()
    assert audited == [{"update": update["id"], "scenario": expected["scenario"]}]
    # The draft goes through the dry run as any draft does.
    dry_run = await json_ok(await tocsin.client.get(f"/api/v1/alerts/{update['id']}/preview", headers=desk.operator))
    assert "audience" in dry_run


@pytest.mark.parametrize("state", ["draft", "pending", "cancelled", "expired", "correction", "superseded"])
async def test_only_an_alert_in_force_is_updated(tocsin, state):
    desk = await Desk.open(tocsin)
    client = tocsin.client
    if state in ("draft", "pending"):
        target = (await desk.post({**QUAKE, "status": "Exercise"}))["id"]
        if state == "pending":
            await json_ok(await client.post(f"/api/v1/alerts/{target}/submit", headers=desk.operator))
    else:
        target = (await _issued(desk, QUAKE))["id"]
    if state == "cancelled":
        await desk.cancel(target)
    elif state == "expired":
        tocsin.clock.advance(minutes=121)
    elif state == "correction":
        target = (await json_ok(await client.post(f"/api/v1/alerts/{target}/correction", headers=desk.operator),
                                201))["id"]
    elif state == "superseded":
        first = await _update(desk, target, {"params": {"magnitude": 4.5}})
        await desk.approve(first["id"])
    answer = await client.post(f"/api/v1/alerts/{target}/update", headers=desk.operator, json={})
    assert answer.status == 409, (answer.status, await answer.text())


@pytest.mark.parametrize(("body", "fields"), [
    ({"status": "Actual"}, {"status"}),
    ({"params": {"magnitude": "strong"}}, {"params.magnitude"}),
    ({"scenario": "no_such"}, {"scenario"}),
    ({"colour": "red", "status": "Test"}, {"colour", "status"}),
    ({"audience": {"regions": ["AZ-XX"]}}, {"audience.regions"}),
    ({"channels": ["pigeon"]}, {"channels"}),
    ({"send_at": "2030-01-01T00:00:00+04:00"}, {"send_at"}),
    ([1, 2], {"body"}),
])
async def test_bad_updates_name_their_fields(tocsin, body, fields):
    desk = await Desk.open(tocsin)
    alert = await _issued(desk, QUAKE)
    answer = await tocsin.client.post(f"/api/v1/alerts/{alert['id']}/update", headers=desk.operator, json=body)
    assert answer.status == 422
    assert fields <= set((await answer.json())["error"]["fields"]), await answer.text()


async def test_an_unseen_or_missing_alert_is_not_found_and_a_reader_may_not_update(tocsin):
    desk = await Desk.open(tocsin)
    alert = await _issued(desk, QUAKE)
    consul = await tocsin.user("kamran", "consular", ["TR"])
    assert (await tocsin.client.post(f"/api/v1/alerts/{alert['id']}/update", headers=consul, json={})).status == 404
    assert (await tocsin.client.post("/api/v1/alerts/999999/update", headers=desk.operator, json={})).status == 404
    approver = await tocsin.client.post(f"/api/v1/alerts/{alert['id']}/update", headers=desk.approver, json={})
    assert approver.status == 403


async def test_the_author_cannot_approve_the_update_and_a_second_one_is_refused(tocsin):
    desk = await Desk.open(tocsin)
    alert = await _issued(desk, QUAKE)
    first = await _update(desk, alert["id"], {"params": {"magnitude": 4.6}})
    second = await _update(desk, alert["id"], {"scenario": "all_clear"})
    client = tocsin.client
    for update in (first, second):
        await json_ok(await client.post(f"/api/v1/alerts/{update['id']}/submit", headers=desk.operator))
    own = await client.post(f"/api/v1/alerts/{first['id']}/approve", headers=desk.operator)
    assert own.status == 403
    await json_ok(await client.post(f"/api/v1/alerts/{first['id']}/approve", headers=desk.approver))
    # The original is gone: the second update, drafted before, may not replace it again.
    late = await client.post(f"/api/v1/alerts/{second['id']}/approve", headers=desk.approver)
    assert late.status == 409, await late.text()
    assert (await _get(desk, second["id"]))["state"] == "pending_approval"
    # The update itself is in force, and may be updated in turn: its references name both.
    await desk.published(first["id"])
    third = await _update(desk, first["id"], {"scenario": "all_clear"})
    assert third["references"].split() == [_as_referenced(await _cap(tocsin, alert["id"])),
                                           _as_referenced(await _cap(tocsin, first["id"]))]


async def test_an_approved_update_supersedes_the_original(start_tocsin):
    """Mid-broadcast (paced, so most of the original is still queued), the flood moves: the
    update goes to those the original reached, wherever they are, and to the new area; what
    was left of the original stops; the public side shows the update in its place."""
    tocsin = await start_tocsin(settings=SLOW)
    desk = await Desk.open(tocsin)
    phones = await subscribe_many(tocsin, 40)  # in Baku
    newcomer = "+994555550777"
    await json_ok(await tocsin.client.post("/api/v1/subscribers", headers=desk.operator,
                                           json={"phone": newcomer, "language": "en", "region": "AZ-SM"}), 201)
    original = await _issued(desk, QUAKE, status="Actual")

    async def three_handed_over() -> bool:  # the provider's id recorded: "reached"
        async with tocsin.store.read() as conn:
            return await conn.scalar(sa.select(sa.func.count()).where(
                deliveries.c.alert_id == original["id"], deliveries.c.provider_id.is_not(None))) >= 3

    await eventually(three_handed_over)
    update = await _update(desk, original["id"], {"params": {"magnitude": 5.4}, "audience": {"regions": ["AZ-SM"]}})
    preview = await json_ok(await tocsin.client.get(f"/api/v1/alerts/{update['id']}/preview", headers=desk.operator))
    assert preview["audience"]["total"] >= 4  # the newcomer and those reached so far
    await desk.approve(update["id"])

    stopped = await _get(desk, original["id"])
    assert stopped["state"] == "cancelled" and stopped["halted_reason"] == "superseded"
    await dispatcher_idle(tocsin)
    async with tocsin.store.read() as conn:
        reached = set((await conn.execute(
            sa.select(subscribers.c.phone).join(deliveries, deliveries.c.subscriber_id == subscribers.c.id)
            .where(deliveries.c.alert_id == original["id"], deliveries.c.provider_id.is_not(None)))).scalars())
        halted = await conn.scalar(sa.select(sa.func.count()).where(
            deliveries.c.alert_id == original["id"], deliveries.c.state == "cancelled"))
        halted_phones = set((await conn.execute(
            sa.select(subscribers.c.phone).join(deliveries, deliveries.c.subscriber_id == subscribers.c.id)
            .where(deliveries.c.alert_id == original["id"], deliveries.c.state == "cancelled"))).scalars())
        told = set((await conn.execute(
            sa.select(subscribers.c.phone).join(deliveries, deliveries.c.subscriber_id == subscribers.c.id)
            .where(deliveries.c.alert_id == update["id"], deliveries.c.provider_id.is_not(None)))).scalars())
        superseded = (await conn.execute(sa.select(audit_log.c.details).where(
            audit_log.c.action == "alert.superseded", audit_log.c.target == f"alert:{original['id']}"))).scalars().all()
    assert 3 <= len(reached) < 40 and halted > 0 and halted + len(reached) >= 40
    # Everyone the original reached, and the newcomer; beyond them only those whose message of
    # the original was already in a worker's hands when the update was queued (counted as
    # reached, so that nobody told before misses the update), never the rest of Baku.
    assert reached | {newcomer} <= told
    assert told - reached - {newcomer} <= halted_phones
    assert set(phones) - told, "the rest of Baku, never reached by the original, is not told"
    assert set(phones) - reached, "some of Baku was still queued"
    assert superseded and superseded[0]["by"] == update["id"]
    bodies = {m["to"]: m["body"] for m in tocsin.sim.created() if m["to"] == newcomer}
    assert bodies[newcomer].startswith(("YENİLƏNMƏ", "UPDATE", "ОБНОВЛЕНИЕ", "MISE À JOUR", "تحديث"))

    # The public side: the update in the original's place.
    await desk.published(update["id"])
    index = await (await tocsin.client.get("/?lang=en")).text()
    assert f'id="alert-{update["id"]}"' in index and f'id="alert-{original["id"]}"' not in index
    atom = await (await tocsin.client.get("/feed.atom")).text()
    assert f"/cap/{update['id']}.xml" in atom and f"/cap/{original['id']}" not in atom
    page = await (await tocsin.client.get(f"/alerts/{original['id']}?lang=en")).text()
    assert f'href="/alerts/{update["id"]}?lang=en"' in page and "-cancel.xml" not in page
    assert (await tocsin.client.get(f"/cap/{original['id']}-cancel.xml")).status == 404

    cap = await _cap(tocsin, update["id"])
    cap_schema().validate(cap)
    assert cap.findtext(CAP + "msgType") == "Update"
    assert cap.findtext(CAP + "references") == _as_referenced(await _cap(tocsin, original["id"]))


async def test_the_call_centre_gets_the_update_and_no_cancel(start_tocsin, call_centres):  # noqa: F811
    centre = CallCentre()
    tocsin = await start_tocsin(**_env(await call_centres(centre)))
    desk = await Desk.open(tocsin)
    original = await _issued(desk, QUAKE)
    update = await _update(desk, original["id"], {"scenario": "all_clear"})
    await desk.approve(update["id"])
    await desk.published(update["id"])

    async def both() -> bool:
        return {d["alert"]["id"] for d in centre.accepted} == {original["id"], update["id"]}

    await eventually(both)
    pushed = next(d for d in centre.accepted if d["alert"]["id"] == update["id"])
    assert pushed["kind"] == "alert" and pushed["alert"]["msg_type"] == "Update"
    assert pushed["alert"]["references"] == _as_referenced(await _cap(tocsin, original["id"]))
    cap_schema().validate(ET.fromstring(pushed["cap"].encode()))
    assert pushed["scripts"]["en"]["script"].startswith("EXERCISE. UPDATE. ")
    pushes = await json_ok(await tocsin.client.get(f"/api/v1/alerts/{original['id']}/pushes", headers=desk.operator))
    assert [p["kind"] for p in pushes["pushes"]] == ["alert"]  # superseded, not withdrawn


async def test_an_update_approved_after_the_original_expired_still_goes_out(tocsin):
    """The update is news in itself: approving it once the original has expired is allowed."""
    desk = await Desk.open(tocsin)
    alert = await _issued(desk, QUAKE)
    update = await _update(desk, alert["id"], {"scenario": "all_clear", "expires_in_minutes": 300})
    tocsin.clock.advance(minutes=121)
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{update['id']}/submit", headers=desk.operator))
    approved = await json_ok(await tocsin.client.post(f"/api/v1/alerts/{update['id']}/approve", headers=desk.approver))
    assert approved["state"] in ("approved", "sending", "sent")
    async with tocsin.store.read() as conn:
        superseded = (await conn.execute(sa.select(audit_log.c.details).where(
            audit_log.c.action == "alert.superseded", audit_log.c.target == f"alert:{alert['id']}"))).scalars().all()
    assert [d["by"] for d in superseded] == [update["id"]]


async def test_a_custom_alert_is_updated_with_its_own_texts(tocsin):
    """A custom alert has no scenario to render an update from: the update brings its texts
    (422 naming "texts" without them), and the console offers All clear but no update form."""
    desk = await Desk.open(tocsin)
    texts = {"en": {"sms": "Water cut in Baku until 18:00.", "headline": "Water cut in Baku"}}
    alert = await _issued(desk, {**QUAKE, "scenario": "custom", "params": {}, "texts": texts,
                                 "fallback_language": "en"})
    answer = await tocsin.client.post(f"/api/v1/alerts/{alert['id']}/update", headers=desk.operator, json={})
    assert answer.status == 422 and "texts" in (await answer.json())["error"]["fields"]
    texts = {"en": {"sms": "Water back in Baku at 20:00.", "headline": "Water back in Baku"}}
    update = await _update(desk, alert["id"], {"texts": texts})
    assert (await _texts(desk, update["id"]))["en"]["sms"] == "EXERCISE: UPDATE: Water back in Baku at 20:00."

    assert (await sign_in(tocsin, "olga")).status == 303
    page = await (await tocsin.client.get(f"/console/alerts/{alert['id']}?lang=en")).text()
    assert 'id="all-clear"' in page and 'id="update"' not in page


async def test_the_console_says_why_an_alert_cannot_be_updated(tocsin):
    desk = await Desk.open(tocsin)
    alert = await _issued(desk, QUAKE)
    draft = await desk.post({**QUAKE, "status": "Exercise"})
    assert (await sign_in(tocsin, "olga")).status == 303
    refused = await tocsin.client.get(f"/console/alerts/{draft['id']}/update?lang=en")
    assert refused.status == 409 and "only an alert in force" in await refused.text()

    form = await (await tocsin.client.get(f"/console/alerts/{alert['id']}/update?lang=en")).text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    assert f'action="/console/alerts/{alert["id"]}/update?lang=en"' in form
    fields = {"csrf": csrf, "status": "Actual", "param.magnitude": "4.8", "param.epicentre": "AZ-BA",
              "area": "AZ-BA", "channel": ["sms", "web"], "expires_in_minutes": "90"}
    changed = await tocsin.client.post(f"/console/alerts/{alert['id']}/update?lang=en", data=fields,
                                       headers=origin(tocsin), allow_redirects=False)
    assert changed.status == 422 and "keeps the original" in await changed.text()
    made = await tocsin.client.post(f"/console/alerts/{alert['id']}/update?lang=en",
                                    data={**fields, "status": "Exercise"}, headers=origin(tocsin),
                                    allow_redirects=False)
    assert made.status == 303
    update_id = int(re.search(r"/alerts/(\d+)", made.headers["Location"]).group(1))
    update = await _get(desk, update_id)
    assert update["params"]["magnitude"] == 4.8 and update["msg_type"] == "Update"


# ---- what an approval may not do to the original (review of issue 15) ----

async def _submitted_update(desk: Desk, alert_id: int, body: dict[str, Any]) -> dict[str, Any]:
    update = await _update(desk, alert_id, body)
    await json_ok(await desk.tocsin.client.post(f"/api/v1/alerts/{update['id']}/submit", headers=desk.operator))
    return update


async def test_an_update_waiting_while_the_original_was_stopped_is_not_approved(tocsin):
    """Stopped (or corrected) while the update waited: approving it would bring the danger back."""
    desk = await Desk.open(tocsin)
    alert = await _issued(desk, QUAKE)
    update = await _submitted_update(desk, alert["id"], {"params": {"magnitude": 4.6}})
    await desk.cancel(alert["id"])
    answer = await tocsin.client.post(f"/api/v1/alerts/{update['id']}/approve", headers=desk.approver)
    assert answer.status == 409, await answer.text()
    assert (await _get(desk, update["id"]))["state"] == "pending_approval"
    assert (await _get(desk, alert["id"]))["halted_reason"] == "cancelled"


async def test_a_consul_cannot_stop_an_alert_beyond_their_countries_by_approving_its_update(tocsin):
    """An update narrowed to the consul's country is theirs to review, but its approval ends the
    original everywhere: refused, and nothing changes."""
    desk = await Desk.open(tocsin)
    alert = await _issued(desk, {**ADVISORY, "audience": {"countries": ["GE", "TR"]},
                                 "per_country": {"TR": {"embassy_phone": "+902124440000"}}})
    update = await _submitted_update(desk, alert["id"], {"audience": {"countries": ["GE"]}})
    consul = await tocsin.user("nino", "consular", ["GE"])
    answer = await tocsin.client.post(f"/api/v1/alerts/{update['id']}/approve", headers=consul)
    assert answer.status == 403, await answer.text()
    assert (await _get(desk, update["id"]))["state"] == "pending_approval"
    assert (await _get(desk, alert["id"]))["state"] in ("sending", "sent")


async def test_an_update_of_a_published_alert_stays_published(tocsin):
    desk = await Desk.open(tocsin)
    alert = await _issued(desk, QUAKE)
    refused = await _update(desk, alert["id"], {"channels": ["sms"]}, status=422)
    assert set(refused["error"]["fields"]) == {"channels"}


async def test_a_superseded_alert_is_corrected_through_its_update_not_itself(tocsin):
    desk = await Desk.open(tocsin)
    alert = await _issued(desk, QUAKE)
    update = await _submitted_update(desk, alert["id"], {"params": {"magnitude": 4.6}})
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{update['id']}/approve", headers=desk.approver))
    answer = await tocsin.client.post(f"/api/v1/alerts/{alert['id']}/correction", headers=desk.operator)
    assert answer.status == 409, await answer.text()


@pytest.mark.parametrize(("msg_type", "copied"), [("Alert", True), ("Update", False), ("Cancel", False)])
def test_only_a_rejected_plain_alert_is_offered_for_copying(msg_type, copied):
    operator = User(id=1, username="olga", role=Role.OPERATOR, countries=frozenset())
    rejected = SimpleNamespace(state="rejected", msg_type=msg_type, regions=["AZ-BA"], countries=[], author_id=1)
    assert ("copy" in permissions.actions(operator, rejected, correctable=False)) is copied
