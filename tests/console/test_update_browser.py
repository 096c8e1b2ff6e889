"""Update and All clear in a real browser: the duty officer opens an alert in force, updates a
parameter from the prefilled form, sees the dry run and submits; a second person approves; the
original shows it was superseded. Then the All clear of the update, the same way."""

from __future__ import annotations

import re

from tests.browser import (
    db_url,  # noqa: F401  (the SQLite-only fixture)
    shot,
    signed_in,
)
from tests.helpers import Desk, json_ok


async def test_an_officer_updates_an_alert_and_declares_all_clear(tocsin, browser):  # noqa: F811
    desk = await Desk.open(tocsin)  # olga, operator; anar, approver
    for n in range(10):
        await json_ok(await tocsin.client.post("/api/v1/subscribers", headers=desk.operator, json={
            "phone": f"+99450557{n:04d}", "language": ["az", "en", "ru", "fr", "ar"][n % 5], "region": "AZ-BA"}), 201)
    original = await desk.issue(scenario="earthquake", params={"magnitude": 4.2, "epicentre": "AZ-BA"},
                                regions=["AZ-BA"], status="Exercise")
    officer_context, officer = await signed_in(browser, tocsin, "olga")
    approver_context, approver = await signed_in(browser, tocsin, "anar")
    original_url = str(tocsin.client.make_url(f"/console/alerts/{original['id']}?lang=en"))

    # Update: the form comes prefilled from the alert in force; one parameter changes.
    await officer.goto(original_url)
    await officer.click("#update")
    await officer.wait_for_url(re.compile(rf"/console/alerts/{original['id']}/update"))
    assert await officer.input_value("input[name='param.magnitude']") == "4.2"
    assert await officer.input_value("select[name='param.epicentre']") == "AZ-BA"
    await officer.fill("input[name='param.magnitude']", "5.6")
    await shot(officer, "update-1-form")
    await officer.click("main button[type=submit]")
    await officer.wait_for_url(re.compile(r"/console/alerts/\d+\?"))
    update_url = officer.url
    assert update_url.split("?")[0] != original_url.split("?")[0]
    assert f"#{original['id']}" in await officer.inner_text("#updates")
    audience = await officer.inner_text("#audience")  # the dry run: the people, and the text
    assert "EXERCISE: UPDATE: " in audience and "5.6" in audience, audience
    assert re.search(r"English\t2\t", audience), audience
    await shot(officer, "update-2-dry-run")
    await officer.click("text=Submit for approval")
    await officer.wait_for_selector("#state:text-is('Waiting for approval')")

    await approver.goto(update_url)
    await approver.click("text=Approve and send")
    await approver.wait_for_selector("#state:text-is('Sent')", timeout=30_000)
    update_id = int(re.search(r"/alerts/(\d+)", update_url).group(1))

    await officer.goto(original_url)
    assert f"#{update_id}" in await officer.inner_text("#superseded-by")
    assert await officer.inner_text("#state") == "Superseded"  # stopped by its update, said so
    assert await officer.query_selector("#update") is None  # superseded: nothing left to update
    await shot(officer, "update-3-superseded")
    # The public page of the original sends its reader on to the update.
    await officer.goto(str(tocsin.client.make_url(f"/alerts/{original['id']}?lang=en")))
    assert "This alert was updated." in await officer.inner_text("#superseded-by")
    await shot(officer, "update-3b-public-original")
    await officer.click("#superseded-by a")
    await officer.wait_for_url(re.compile(rf"/alerts/{update_id}\?"))
    assert "UPDATE: " in await officer.inner_text(f"#alert-{update_id} :is(h1, h2)")

    # All clear, from the update now in force: one click to the draft and its dry run.
    await officer.goto(update_url)
    await officer.click("#all-clear")
    await officer.wait_for_url(re.compile(r"/console/alerts/\d+\?"))
    all_clear_url = officer.url
    assert all_clear_url.split("?")[0] != update_url.split("?")[0]
    assert f"#{update_id}" in await officer.inner_text("#updates")
    assert "All clear" in await officer.inner_text("#audience")
    await shot(officer, "update-4-all-clear")
    await officer.click("text=Submit for approval")
    await officer.wait_for_selector("#state:text-is('Waiting for approval')")
    await approver.goto(all_clear_url)
    await approver.click("text=Approve and send")
    await approver.wait_for_selector("#state:text-is('Sent')", timeout=30_000)

    await officer.goto(update_url)
    all_clear_id = int(re.search(r"/alerts/(\d+)", all_clear_url).group(1))
    assert f"#{all_clear_id}" in await officer.inner_text("#superseded-by")
    done = await json_ok(await tocsin.client.get(f"/api/v1/alerts/{all_clear_id}", headers=desk.operator))
    assert done["scenario"] == "all_clear" and done["msg_type"] == "Update"
    assert done["params"] == {"region": "AZ-BA"}
    await officer_context.close()
    await approver_context.close()
