"""The dispatch engine through the API, against the simulator: retries, reconciliation,
callbacks, cancel, expiry, STOP, failover, schedules, repeats and priority."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta
from xml.etree import ElementTree

import pytest
import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from alerts.dispatch.halt import stop_subscribers
from alerts.scenarios import SCENARIOS
from alerts.schema import audit_log, deliveries, subscribers
from alerts.simulator import FaultRule
from alerts.web.keys import COORDINATOR
from tests.conftest import FAST, SIM_SID, SIM_TOKEN, ShiftClock
from tests.dispatch.steps import dispatcher_idle
from tests.helpers import (
    PHONES,
    SLOW,
    approved as _approved,
    at_least_sent as _at_least_sent,
    broadcast,
    by_state as _by_state,
    eventually,
    json_ok,
    posts_after as _posts_after,
    subscribe_many as _subscribe_many,
)


async def _states(tocsin, alert_id: int) -> dict[str, tuple[str, str | None, int]]:
    async with tocsin.store.read() as conn:
        rows = await conn.execute(
            sa.select(deliveries.c.language, deliveries.c.state, deliveries.c.error_code, deliveries.c.attempts)
            .where(deliveries.c.alert_id == alert_id)
        )
        return {r.language: (r.state, r.error_code, r.attempts) for r in rows}


def _settled(states):
    return states if len(states) == 5 and all(s in ("delivered", "failed") for s, _, _ in states.values()) else None


async def test_provider_errors_are_retried_until_accepted_once(tocsin):
    tocsin.sim.script(FaultRule(status=500, times=3), FaultRule(status=429, code=20429, retry_after=0, times=2))
    alert_id, _operator, _approver = await broadcast(tocsin)
    states = await eventually(lambda: _states_if_settled(tocsin, alert_id))
    assert {s for s, _, _ in states.values()} == {"delivered"}
    accepted = tocsin.sim.created()
    assert sorted(m["to"] for m in accepted) == sorted(PHONES.values())  # each exactly once
    assert sum(a for _, _, a in states.values()) == 5 + 5  # five faults, each cost one more attempt


async def test_permanent_errors_are_not_retried(tocsin):
    tocsin.sim.script(FaultRule(status=400, code=21211, to=PHONES["fr"], times=None))
    alert_id, _operator, _approver = await broadcast(tocsin)
    states = await eventually(lambda: _states_if_settled(tocsin, alert_id))
    assert states["fr"] == ("failed", "INVALID_NUMBER", 1)
    assert all(states[lang][0] == "delivered" for lang in PHONES if lang != "fr")
    assert len([r for r in tocsin.sim.received if r.params.get("To") == PHONES["fr"]]) == 1


async def test_exercise_is_marked_in_every_language(tocsin):
    alert_id, _operator, _approver = await broadcast(tocsin, status="Exercise")
    await eventually(lambda: _states_if_settled(tocsin, alert_id))
    bodies = {m["to"]: m["body"] for m in tocsin.sim.created()}
    markers = {"az": "TƏLİM", "en": "EXERCISE", "ru": "УЧЕНИЯ", "fr": "EXERCICE", "ar": "تمرين"}
    for lang, phone in PHONES.items():
        # The marker leads; the punctuation after it is each language's own ("EXERCICE :").
        assert bodies[phone].startswith(markers[lang]), (lang, bodies[phone])


@pytest.mark.parametrize("late", [None, "fr"], ids=["all answered together", "the last answered a second late"])
async def test_the_last_outcomes_are_recorded_at_once_not_an_interval_later(start_tocsin, late):
    # Outcomes are batched while more are coming; once nothing claimed is left to send, the
    # last ones go to the database at once. With a ten-minute batching interval, the dispatcher
    # is idle (every outcome recorded) only if it did not wait for it. One late answer: the
    # batch of the first four is gathering when the last sender finishes.
    tocsin = await start_tocsin(replace(FAST, record_interval=600.0))
    if late is not None:
        tocsin.sim.script(FaultRule(status=None, delay=1.0, to=PHONES[late], times=1, path="Messages"))
    alert_id, _operator, _approver = await broadcast(tocsin)
    await eventually(lambda: _all_sent(tocsin))
    await dispatcher_idle(tocsin)
    states = await _states(tocsin, alert_id)
    assert len(states) == 5 and {state for state, _, _ in states.values()} <= {"accepted", "sent", "delivered"}, states


async def _all_sent(tocsin):
    return len(tocsin.sim.created()) == 5 or None


async def _states_if_settled(tocsin, alert_id):
    states = await _states(tocsin, alert_id)
    print("states now:", states)  # shown when the test fails
    return _settled(states)


# ---- helpers for larger, slower broadcasts ----

async def _alert(tocsin, alert_id: int):
    return await json_ok(await tocsin.client.get(f"/api/v1/alerts/{alert_id}", headers=tocsin.operator))


async def test_ambiguous_timeouts_are_reconciled_not_resent(start_tocsin):
    # The provider takes longer than our timeout but does create the message: asking it
    # before trying again must find the message, so nobody gets the alert twice.
    tocsin = await start_tocsin(TWILIO_REQUEST_TIMEOUT="0.5")
    tocsin.sim.script(FaultRule(status=None, delay=0.8, times=2, path="Messages"),
                      FaultRule(status=500, times=2, path="Messages"),
                      FaultRule(status=429, code=20429, retry_after=1, times=1, path="Messages"))
    phones = await _subscribe_many(tocsin, 6)
    alert_id = await _approved(tocsin)
    await eventually(lambda: _settled_alert(tocsin, alert_id, 6), timeout=30)
    assert await _by_state(tocsin, alert_id) == {"delivered": 6}
    created = [m["to"] for m in tocsin.sim.created()]
    assert sorted(created) == sorted(phones)  # each accepted exactly once
    lookups = [r for r in tocsin.sim.received if r.method == "GET" and "Messages.json" in r.path]
    assert len(lookups) >= 2  # the two timeouts were reconciled through Twilio's message list
    async with tocsin.store.read() as conn:
        reconciled = (await conn.execute(sa.select(deliveries.c.error_code, deliveries.c.provider_id)
                                         .where(deliveries.c.alert_id == alert_id))).all()
    assert all(sid in {m["sid"] for m in tocsin.sim.created()} for _, sid in reconciled)


async def _settled_alert(tocsin, alert_id: int, total: int):
    states = await _by_state(tocsin, alert_id)
    done = sum(n for s, n in states.items()
               if s in ("delivered", "failed", "undelivered", "skipped", "cancelled", "expired"))
    return states if done == total else None


async def test_duplicated_and_reordered_status_callbacks_leave_states_right(start_tocsin):
    tocsin = await start_tocsin()
    tocsin.sim.statuses = ()  # the test plays the provider's callbacks itself
    phones = await _subscribe_many(tocsin, 3)
    alert_id = await _approved(tocsin)
    await eventually(lambda: _only(tocsin, alert_id, {"accepted": 3}))
    sids = {m["to"]: m["sid"] for m in tocsin.sim.created()}
    script = {
        phones[0]: ["delivered", "sent", "delivered", "sent", "queued"],  # late 'sent' after 'delivered'
        phones[1]: ["sent", "sent", "undelivered", "delivered", "sent"],  # a final state stays final
        phones[2]: ["sent", "sent"],  # duplicates
    }
    url = tocsin.config.public_url + "/twilio/sms/status"
    validator = RequestValidator(SIM_TOKEN)
    for phone, statuses in script.items():
        for status in statuses:
            form = {"MessageSid": sids[phone], "MessageStatus": status, "To": phone, "AccountSid": SIM_SID}
            response = await tocsin.client.post("/twilio/sms/status", data=form,
                                                headers={"X-Twilio-Signature": validator.compute_signature(url, form)})
            assert response.status == 204
    async with tocsin.store.read() as conn:
        rows = dict((await conn.execute(sa.select(subscribers.c.phone, deliveries.c.state)
                                        .join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
                                        .where(deliveries.c.alert_id == alert_id))).all())
    assert rows == {phones[0]: "delivered", phones[1]: "undelivered", phones[2]: "sent"}


async def _only(tocsin, alert_id, expected):
    return await _by_state(tocsin, alert_id) == expected


async def test_cancel_stops_sending_within_a_second(start_tocsin):
    tocsin = await start_tocsin(settings=SLOW)
    await _subscribe_many(tocsin, 40)
    alert_id = await _approved(tocsin)
    await eventually(lambda: _at_least_sent(tocsin, 3))
    cancelled = await json_ok(await tocsin.client.post(f"/api/v1/alerts/{alert_id}/cancel", headers=tocsin.operator))
    returned = time.monotonic()
    assert cancelled["state"] == "cancelled" and cancelled["halted_deliveries"] > 20
    await dispatcher_idle(tocsin)  # nothing claimed, in flight or due
    assert _posts_after(tocsin.sim, returned + 1.0) == []
    await _expect_halted(tocsin, alert_id, "cancelled")
    # A second cancel is a conflict, not a crash; and nothing restarts the alert.
    again = await tocsin.client.post(f"/api/v1/alerts/{alert_id}/cancel", headers=tocsin.operator)
    assert again.status == 409
    assert (await _alert(tocsin, alert_id))["state"] == "cancelled"


async def test_expiry_stops_sending_within_a_second(start_tocsin):
    tocsin = await start_tocsin(settings=SLOW)
    await _subscribe_many(tocsin, 40)
    alert_id = await _approved(tocsin, expires_in_minutes=30)
    await eventually(lambda: _at_least_sent(tocsin, 3))
    tocsin.clock.advance(minutes=31)
    moved = time.monotonic()
    await dispatcher_idle(tocsin)
    assert _posts_after(tocsin.sim, moved + 1.0) == []
    await _expect_halted(tocsin, alert_id, "expired")
    alert = await eventually(lambda: _alert_in(tocsin, alert_id, "expired"))
    assert alert["halted_reason"] == "expired"


async def _expect_halted(tocsin, alert_id: int, halted: str, only: set[str] | None = None) -> None:
    """Whoever got no message was halted; whoever got one is recorded as sent, or as halted
    with an ambiguous outcome (the request was out when the halt came, and no answer came)."""
    messaged = {m["to"] for m in tocsin.sim.created()}
    async with tocsin.store.read() as conn:
        rows = (await conn.execute(sa.select(subscribers.c.phone, deliveries.c.state, deliveries.c.error_code)
                                   .join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
                                   .where(deliveries.c.alert_id == alert_id))).all()
    for phone, state, error in rows:
        if only is not None and phone not in only:
            continue
        if phone in messaged:
            assert (state in ("accepted", "sent", "delivered")
                    or (state == halted and error == "AMBIGUOUS")), (state, error)
        else:
            assert state == halted, (phone, state)


async def _alert_in(tocsin, alert_id, state):
    alert = await _alert(tocsin, alert_id)
    return alert if alert["state"] == state else None


async def test_stop_mid_broadcast_skips_that_subscribers_pending_deliveries(start_tocsin):
    tocsin = await start_tocsin(settings=SLOW)
    phones = await _subscribe_many(tocsin, 30)
    alert_id = await _approved(tocsin)
    await eventually(lambda: _at_least_sent(tocsin, 2))
    # Some of these are claimed by the worker already, the rest still queued.
    stopping = phones[5:20]
    async with tocsin.store.write() as conn:
        ids = (await conn.scalars(sa.select(subscribers.c.id).where(subscribers.c.phone.in_(stopping)))).all()
        await stop_subscribers(conn, list(ids), "STOP keyword", tocsin.clock())
    stopped_at = time.monotonic()
    await eventually(lambda: _settled_alert(tocsin, alert_id, 30), timeout=30)
    late = [r for r in _posts_after(tocsin.sim, stopped_at + 1.0) if r.params.get("To") in stopping]
    assert late == []
    assert (await _by_state(tocsin, alert_id)).get("skipped", 0) >= 10
    await _expect_halted(tocsin, alert_id, "skipped", only=set(stopping))


async def test_opt_out_at_the_provider_stops_the_subscriber(start_tocsin):
    tocsin = await start_tocsin()
    phones = await _subscribe_many(tocsin, 3, channels=("sms", "voice"))
    tocsin.sim.script(FaultRule(status=400, code=21610, to=phones[1], times=None, path="Messages"))
    alert_id = await _approved(tocsin)
    await eventually(lambda: _settled_alert(tocsin, alert_id, 3))
    async with tocsin.store.read() as conn:
        status = await conn.scalar(sa.select(subscribers.c.status).where(subscribers.c.phone == phones[1]))
        failed = (await conn.execute(sa.select(deliveries.c.channel, deliveries.c.error_code)
                                     .where(deliveries.c.state == "failed"))).all()
    assert status == "stopped"
    assert failed == [("sms", "OPTED_OUT")]
    assert tocsin.sim.calls() == []  # an opt-out is not a reason to call them instead


async def test_permanent_sms_failure_goes_by_voice(start_tocsin):
    tocsin = await start_tocsin()
    phones = await _subscribe_many(tocsin, 2, channels=("sms", "voice"), lang_cycle=("az", "fr"))
    for phone in phones:
        tocsin.sim.script(FaultRule(status=400, code=21614, to=phone, times=None, path="Messages"))
    alert_id = await _approved(tocsin)
    await eventually(lambda: _calls(tocsin, 2))
    calls = {c["to"]: c for c in tocsin.sim.calls()}
    assert set(calls) == set(phones)
    says = {phone: [(e.get("language"), e.text) for e in ElementTree.fromstring(tocsin.sim.twiml[c["sid"]]).iter("Say")]
            for phone, c in calls.items()}
    # Azerbaijani has no Twilio voice: that reader hears Russian and English, never <Say> in az.
    assert {lang for lang, _ in says[phones[0]]} >= {"ru-RU", "en-GB"}
    assert all(not (lang or "").startswith("az") for lang, _ in says[phones[0]])
    assert any(lang == "fr-FR" and "EXERCICE" in text for lang, text in says[phones[1]])
    async with tocsin.store.read() as conn:
        rows = (await conn.execute(sa.select(deliveries.c.channel, deliveries.c.state)
                                   .where(deliveries.c.alert_id == alert_id))).all()
    assert sorted(c for c, s in rows if s == "failed") == ["sms", "sms"]
    assert sorted(c for c, s in rows if s != "failed") == ["voice", "voice"]


async def _calls(tocsin, n):
    return len(tocsin.sim.calls()) >= n


async def test_secondary_sender_takes_over_from_a_failing_primary(start_tocsin):
    tocsin = await start_tocsin(settings=replace(FAST, failover_after=3),
                                TWILIO_SECONDARY_FROM_NUMBER="+15005550009")
    tocsin.sim.script(FaultRule(status=503, sender="+15005550006", times=None, path="Messages"))
    phones = await _subscribe_many(tocsin, 8)
    alert_id = await _approved(tocsin)
    await eventually(lambda: _settled_alert(tocsin, alert_id, 8), timeout=30)
    assert await _by_state(tocsin, alert_id) == {"delivered": 8}
    senders = {m["to"]: m["from"] for m in tocsin.sim.created()}
    assert sorted(senders) == sorted(phones) and set(senders.values()) == {"+15005550009"}


async def test_scheduled_alert_survives_a_restart(start_tocsin):
    first = await start_tocsin()
    await _subscribe_many(first, 3)
    send_at = first.clock() + timedelta(minutes=10)
    alert_id = await _approved(first, send_at=send_at.isoformat())
    assert (await _alert(first, alert_id))["state"] == "scheduled"
    await first.close()  # down before its time
    second = await start_tocsin(clock=first.clock)  # the schedule follows the injected clock
    second.operator = first.operator
    coordinator = second.app[COORDINATOR]
    seen = coordinator.rounds_done
    await eventually(lambda: _rounds_done(coordinator, seen + 2))  # two rounds looked, neither started it
    assert second.sim.received == []  # not before its time
    assert (await _alert(second, alert_id))["state"] == "scheduled"
    second.clock.advance(minutes=10)
    await eventually(lambda: _settled_alert(second, alert_id, 3), timeout=20)
    assert len(second.sim.created()) == 3
    await eventually(lambda: _alert_in(second, alert_id, "sent"))


async def _rounds_done(coordinator, n: int) -> bool:
    return coordinator.rounds_done >= n


async def test_scheduled_alert_missed_beyond_grace_is_reported_not_sent(start_tocsin):
    first = await start_tocsin()
    await _subscribe_many(first, 3)
    alert_id = await _approved(first, send_at=(first.clock() + timedelta(seconds=3)).isoformat())
    await first.close()
    late = ShiftClock()
    late.advance(minutes=20)  # the service was down for 20 minutes; the grace is 15
    second = await start_tocsin(clock=late)
    second.operator = first.operator
    alert = await eventually(lambda: _alert_in(second, alert_id, "expired"))
    assert alert["halted_reason"] == "missed"
    assert second.sim.created() == []
    async with second.store.read() as conn:
        actions = (await conn.scalars(sa.select(audit_log.c.action))).all()
    assert "alert.missed" in actions


async def test_scheduled_alert_late_within_grace_is_sent(start_tocsin):
    first = await start_tocsin()
    await _subscribe_many(first, 2)
    alert_id = await _approved(first, send_at=(first.clock() + timedelta(seconds=3)).isoformat())
    await first.close()
    late = ShiftClock()
    late.advance(minutes=5)
    second = await start_tocsin(clock=late)
    await eventually(lambda: _settled_alert(second, alert_id, 2), timeout=20)
    assert len(second.sim.created()) == 2


async def test_repeating_alert_sends_each_round_until_expiry(start_tocsin):
    tocsin = await start_tocsin()
    phones = await _subscribe_many(tocsin, 2)
    alert_id = await _approved(tocsin, expires_in_minutes=12, repeat_every_minutes=5)
    round_one = await eventually(lambda: _alert_in(tocsin, alert_id, "scheduled"))
    assert round_one["round"] == 1 and len(tocsin.sim.created()) == 2
    tocsin.clock.advance(minutes=5, seconds=1)
    await eventually(lambda: _at_least_sent(tocsin, 4))
    round_two = await eventually(lambda: _alert_in(tocsin, alert_id, "scheduled"))
    assert round_two["round"] == 2
    tocsin.clock.advance(minutes=5, seconds=1)
    # The next round would fall after expiry: the alert ends as sent after this one.
    await eventually(lambda: _alert_in(tocsin, alert_id, "sent"))
    assert sorted(m["to"] for m in tocsin.sim.created()) == sorted(phones * 3)


async def test_corrections_and_severe_alerts_go_first(start_tocsin):
    tocsin = await start_tocsin(settings=replace(FAST, rate=10.0))
    await _subscribe_many(tocsin, 30)
    minor = await _approved(tocsin, {"scenario": "epidemic", "params": SCENARIOS["epidemic"].example_params(),
                                     "status": "Exercise", "audience": {"regions": ["AZ-BA"]}})
    await eventually(lambda: _at_least_sent(tocsin, 2))
    urgent = await _approved(tocsin)
    await eventually(lambda: _settled_alert(tocsin, urgent, 30), timeout=30)
    states = await _by_state(tocsin, minor)
    assert states.get("queued", 0) + states.get("sending", 0) > 0  # the urgent one overtook it
