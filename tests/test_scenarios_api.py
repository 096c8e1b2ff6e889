"""GET /scenarios lists the whole library, and each example really renders as an alert."""

from __future__ import annotations

import pytest

from tests.helpers import json_ok
from tests.test_scenarios import SPEC_SCENARIOS


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_every_listed_scenario_drafts_from_its_examples(tocsin):
    operator = await tocsin.user("olga", "operator")
    listing = await json_ok(await tocsin.client.get("/api/v1/scenarios", headers=operator))
    by_id = {s["id"]: s for s in listing["scenarios"]}
    assert SPEC_SCENARIOS <= set(by_id)
    for sid in SPEC_SCENARIOS:
        scenario = by_id[sid]
        assert set(scenario["names"]) == {"az", "en", "ru", "fr", "ar"}
        params = {p["name"]: p["example"] for p in scenario["params"]}
        audience = {"countries": ["TR"]} if scenario["audience"] == "abroad" else {"regions": ["AZ-BA"]}
        resp = await tocsin.client.post("/api/v1/alerts", headers=operator, json={
            "scenario": sid, "params": params, "status": "Exercise", "audience": audience,
        })
        draft = await json_ok(resp, 201)
        preview = await json_ok(await tocsin.client.get(f"/api/v1/alerts/{draft['id']}/preview", headers=operator))
        for lang, parts in preview["renders"].items():
            assert parts["language"] == lang
            assert all(parts[p]["text"] for p in ("sms", "voice", "headline", "description")), (sid, lang)
            assert parts["sms"]["segments"] <= 3
