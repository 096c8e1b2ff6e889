"""The consul in a real browser (Debian's Chromium through Playwright): signs in, opens a
check-in sent to Türkiye and Georgia, watches an answer change the tally on the open page
without a reload, then closes the call-back ticket that answer opened; on a desktop screen
and on a 360-pixel-wide phone. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import re

from tests.browser import SCREENSHOTS, db_url, shot, signed_in  # noqa: F401  (db_url: the SQLite-only fixture)
from tests.console.test_consul import PEOPLE, _checkin
from tests.test_inbound import post_sms, reply_of


async def test_a_consul_follows_the_answers_live_and_closes_a_ticket(tocsin, browser):  # noqa: F811
    alert_id, _ = await _checkin(tocsin, answer=False)
    for person in PEOPLE[1:]:  # all but the first answer; she answers while the page is open
        if person["says"]:
            await reply_of(await post_sms(tocsin, person["says"], phone=person["phone"]))
    context, page = await signed_in(browser, tocsin, "leyla", size=(1280, 900))
    await page.wait_for_selector("main tr:has-text('Sent; reminder at')")  # the list says it in words
    await page.click(f"main a[href^='/console/alerts/{alert_id}?']")
    await page.wait_for_url(re.compile(rf"/console/alerts/{alert_id}"))
    await page.wait_for_selector("#checkin-state:has-text('Sent; reminder at')")
    assert await page.is_hidden("#state")  # "scheduled" would read as "not sent yet"
    assert await page.inner_text("#tally-total td.need_help") == "2"
    assert await page.inner_text("#tally tr[data-country=TR] th") == "Türkiye"
    await page.evaluate("window.stillTheSamePage = true")

    await reply_of(await post_sms(tocsin, "2", phone=PEOPLE[0]["phone"]))  # she needs help
    await page.wait_for_selector("#tally-total td.need_help:text-is('3')")  # over the stream
    assert await page.evaluate("window.stillTheSamePage === true")  # no reload
    assert await page.inner_text("#tally tr[data-country=TR] td.need_help") == "2"
    first_to_call = await page.inner_text("#to-call tbody tr:first-child bdi")
    assert first_to_call in {p["phone"] for p in PEOPLE if p["says"] == "2"} | {PEOPLE[0]["phone"]}
    await shot(page, "consul-1-checkin-responses-1280")

    # Her ticket, among the open ones, oldest first; closed from the list.
    await page.click("#nav-tickets")
    await page.wait_for_url(re.compile(r"/console/tickets"))
    row = page.locator("#tickets tbody tr", has_text=PEOPLE[0]["phone"])
    assert await row.count() == 1
    assert await page.locator("#tickets tbody tr").count() == 3
    await shot(page, "consul-2-tickets-1280")
    await row.locator("button", has_text="Close").click()
    await page.wait_for_url(re.compile(r"/console/tickets\?"))
    assert await page.locator("#tickets tbody tr", has_text=PEOPLE[0]["phone"]).count() == 0
    assert await page.locator("#tickets tbody tr").count() == 2
    await context.close()

    # On a phone, in Arabic: the same figures, each number still read as dialled, nothing
    # wider than the screen.
    context, phone = await signed_in(browser, tocsin, "leyla", size=(360, 640))
    await phone.goto(str(tocsin.client.make_url(f"/console/alerts/{alert_id}?lang=ar")))
    assert await phone.inner_text("#tally-total td.need_help") == "3"
    assert "الردود" in await phone.inner_text("#responses-title")
    number = phone.locator("#to-call bdi").first
    assert (await number.inner_text()).startswith("+994")
    # Found and read in one step of the page: the live stream may replace the table between
    # a locator's finding the element and a function's running on it, and a detached element
    # has no computed style ('' for every property: one CI run failed on it).
    assert await phone.evaluate("getComputedStyle(document.querySelector('#to-call bdi')).direction") == "ltr"
    assert await phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await shot(phone, "consul-3-checkin-responses-ar-360")
    await phone.locator("#responses").screenshot(path=str(SCREENSHOTS / "consul-3b-responses-panel-ar-360.png"))
    await phone.goto(str(tocsin.client.make_url("/console/tickets?lang=en&status=closed")))
    assert await phone.locator("#tickets tbody tr", has_text=PEOPLE[0]["phone"]).count() == 1
    assert await phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await shot(phone, "consul-4-closed-tickets-360")
    await context.close()
