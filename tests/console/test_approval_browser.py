"""The approver on a phone (360x640, real Chromium): the first screen of a pending alert shows
an SMS text, above the Approve button; after approving, stopping the alert takes the box
ticked on purpose. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import re

from tests.browser import SCREENSHOTS, db_url  # noqa: F401  (the SQLite-only fixture)
from tests.console.test_auth import PASSWORD
from tests.helpers import EARTHQUAKE_IN_BAKU, Desk, json_ok

PHONE = {"width": 360, "height": 640}


async def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


async def test_the_approver_on_a_phone_reads_the_texts_before_approving(tocsin, browser):  # noqa: F811
    desk = await Desk.open(tocsin)
    draft = await desk.post({**EARTHQUAKE_IN_BAKU, "status": "Actual"})
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/submit", headers=desk.operator))

    context = await browser.new_context(viewport=PHONE, locale="en-GB", is_mobile=True)
    page = await context.new_page()
    await page.goto(str(tocsin.client.make_url("/console/login?lang=en")))
    await page.fill("#username", "anar")
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(re.compile(r"/console(\?.*)?$"))
    assert await page.inner_text("#waiting") == "1 waits for your approval"

    await page.goto(str(tocsin.client.make_url(f"/console/alerts/{draft['id']}?lang=en")))
    await _shot(page, "approval-phone-1-first-screen")
    sms = await page.locator("pre.sms").first.bounding_box()
    approve = await page.locator("text=Approve and send").bounding_box()
    assert sms is not None and approve is not None
    assert sms["y"] + sms["height"] <= PHONE["height"], sms  # on the first screen, whole
    assert sms["y"] + sms["height"] <= approve["y"], (sms, approve)
    assert approve["y"] >= PHONE["height"], approve  # the decision comes after the reading
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width  # nothing to scroll sideways

    await page.fill("#confirm_area", "Baku")
    await page.click("text=Approve and send")
    await page.wait_for_selector("#stop-button")
    # A stray click on Stop does nothing: the box must be ticked first.
    await page.click("#stop-button")
    assert (await json_ok(await tocsin.client.get(f"/api/v1/alerts/{draft['id']}",
                                                  headers=desk.operator)))["state"] != "cancelled"
    await page.check("input[name=confirm_stop]")
    await _shot(page, "approval-phone-2-stop-ticked")
    await page.click("#stop-button")
    await page.wait_for_selector("#state:text-is('Cancelled')")
    await context.close()
