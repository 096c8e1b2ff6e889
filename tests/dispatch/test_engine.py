"""The skeleton dispatcher: retries what can be retried, gives up on what cannot."""

from __future__ import annotations

import sqlalchemy as sa

from alerts.schema import deliveries
from alerts.simulator import FaultRule
from tests.helpers import PHONES, eventually, json_ok


async def _broadcast(tocsin, status: str = "Actual") -> int:
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
    return draft["id"]


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
    alert_id = await _broadcast(tocsin)
    states = await eventually(lambda: _states_if_settled(tocsin, alert_id))
    assert {s for s, _, _ in states.values()} == {"delivered"}
    accepted = tocsin.sim.created()
    assert sorted(m["to"] for m in accepted) == sorted(PHONES.values())  # each exactly once
    assert sum(a for _, _, a in states.values()) == 5 + 5  # five faults, each cost one more attempt


async def test_permanent_errors_are_not_retried(tocsin):
    tocsin.sim.script(FaultRule(status=400, code=21211, to=PHONES["fr"], times=None))
    alert_id = await _broadcast(tocsin)
    states = await eventually(lambda: _states_if_settled(tocsin, alert_id))
    assert states["fr"] == ("failed", "INVALID_NUMBER", 1)
    assert all(states[lang][0] == "delivered" for lang in PHONES if lang != "fr")
    assert len([r for r in tocsin.sim.received if r.params.get("To") == PHONES["fr"]]) == 1


async def test_exercise_is_marked_in_every_language(tocsin):
    alert_id = await _broadcast(tocsin, status="Exercise")
    await eventually(lambda: _states_if_settled(tocsin, alert_id))
    bodies = {m["to"]: m["body"] for m in tocsin.sim.created()}
    markers = {"az": "TƏLİM", "en": "EXERCISE", "ru": "УЧЕНИЯ", "fr": "EXERCICE", "ar": "تمرين"}
    for lang, phone in PHONES.items():
        assert bodies[phone].startswith(markers[lang] + ":"), (lang, bodies[phone])


async def _states_if_settled(tocsin, alert_id):
    return _settled(await _states(tocsin, alert_id))
