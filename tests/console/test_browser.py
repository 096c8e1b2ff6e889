"""A duty officer and an approver, each in a real browser (Debian's Chromium through
Playwright), walk the console: sign in, compose, dry run, submit, approval by the second
person, live progress, cancel, and the correction, once as Actual and once as Exercise.
The correction path, from the alert's page to the approved correction, is timed.
Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import re
import time

import pytest

from tests.browser import SCREENSHOTS, db_url, shot, signed_in  # noqa: F401  (db_url: the SQLite-only fixture)
from tests.helpers import json_ok

CORRECTION_LIMIT_SECONDS = 120





@pytest.mark.parametrize("status", ["Actual", "Exercise"])
async def test_an_officer_and_an_approver_walk_the_console(tocsin, browser, status):  # noqa: F811
    operator = await tocsin.user("olga", "operator")
    await tocsin.user("anar", "approver")
    for n in range(20):
        await json_ok(await tocsin.client.post("/api/v1/subscribers", headers=operator, json={
            "phone": f"+99450556{n:04d}", "language": ["az", "en", "ru", "fr", "ar"][n % 5], "region": "AZ-BA"}), 201)
    tag = status.lower()
    officer_context, officer = await signed_in(browser, tocsin, "olga")
    approver_context, approver = await signed_in(browser, tocsin, "anar")
    await shot(officer, f"console-{tag}-1-alerts")

    # Compose from a scenario, with the region picker.
    await officer.click("text=New alert")
    await officer.click("a[href*='/compose/earthquake']")
    await officer.check(f"input[name=status][value={status}]")
    await officer.fill("input[name='param.magnitude']", "5.8")
    await officer.select_option("select[name='param.epicentre']", "AZ-BA")
    await officer.check("#area input[name=area][value=AZ-BA]")
    await shot(officer, f"console-{tag}-2-compose")
    await officer.click("main button[type=submit]")
    await officer.wait_for_url(re.compile(r"/console/alerts/\d+"))
    alert_url = officer.url
    assert await officer.get_attribute(".banner", "class") == f"banner {status}"
    audience = await officer.inner_text("#audience")  # the dry run: four people in each language
    languages = ("Azerbaijani", "English", "Russian", "French", "Arabic")
    assert all(re.search(rf"{name}\t4\t", audience) for name in languages), audience
    await shot(officer, f"console-{tag}-3-dry-run")

    await officer.click("text=Submit for approval")
    await officer.wait_for_selector("#state:text-is('Waiting for approval')")
    assert await officer.query_selector("text=Approve and send") is None  # never one's own

    # The second person approves; an Actual alert asks for its area's name.
    await approver.goto(alert_url)
    if status == "Actual":
        await approver.fill("#confirm_area", "Baku")
    await approver.click("text=Approve and send")
    await approver.wait_for_selector("#state:text-is('Sent')", timeout=30_000)  # live, over SSE
    await approver.wait_for_selector("#progress text:text-is('Delivered')")
    await shot(approver, f"console-{tag}-4-progress")

    # The correction, timed from the alert's page to the approved correction.
    began = time.monotonic()
    await officer.goto(alert_url)
    await officer.click("#correct")
    await officer.wait_for_url(re.compile(r"/console/alerts/\d+"))
    correction_url = officer.url
    assert correction_url != alert_url
    await shot(officer, f"console-{tag}-5-correction")
    await approver.goto(correction_url)
    if status == "Actual":
        await approver.fill("#confirm_area", "Bakı")
    await approver.click("text=Approve and send")
    await approver.wait_for_selector("#state:text-is('Sent')", timeout=30_000)
    took = time.monotonic() - began
    print(f"\ncorrection path ({status}): {took:.1f} s from the alert's page to the approved correction")
    assert took < CORRECTION_LIMIT_SECONDS
    await shot(approver, f"console-{tag}-6-correction-sent")

    # Discard: a second draft, submitted, then withdrawn from its page.
    await officer.goto(str(tocsin.client.make_url("/console/compose/earthquake?lang=en")))
    await officer.check(f"input[name=status][value={status}]")
    await officer.fill("input[name='param.magnitude']", "4.1")
    await officer.select_option("select[name='param.epicentre']", "AZ-GA")
    await officer.check("#area input[name=area][value=AZ-GA]")
    await officer.click("main button[type=submit]")
    await officer.wait_for_url(re.compile(r"/console/alerts/\d+"))
    if status == "Actual":  # no one has signed up in Ganja: a real alert to no one is ticked on purpose
        await officer.check("#confirm_nobody")
    await officer.click("text=Submit for approval")
    await officer.click("text=Discard draft")
    await officer.wait_for_selector("#state:text-is('Cancelled')")
    await shot(officer, f"console-{tag}-7-cancelled")

    report = await approver.goto(alert_url.split("?")[0] + "/report?lang=en")
    assert report.status == 200
    assert "100.0%" in await approver.inner_text("#report")
    await shot(approver, f"console-{tag}-8-report")
    await officer_context.close()
    await approver_context.close()
