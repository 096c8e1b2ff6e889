"""axe-core (WCAG 2.0/2.1 A and AA, and best practice) in a real Chromium on the public pages
in every language and on the console pages each role uses: no serious or critical finding,
and none of the moderate ones the walk-through listed (duplicate landmarks, content outside
landmarks, a page without <h1>). tests/a11y.py injects axe-core from npm."""

from __future__ import annotations

import re

import pytest

from tests.a11y import assert_no_serious, axe_path
from tests.browser import db_url  # noqa: F401  (the SQLite-only fixture)
from tests.console.test_auth import PASSWORD
from tests.helpers import EARTHQUAKE_IN_BAKU, Desk, json_ok

# The moderate findings of the walk-through, held to as strictly as the serious ones.
LISTED = ("landmark-unique", "region", "page-has-heading-one", "landmark-one-main")


async def _check(page, url: str, name: str, status: int = 200) -> None:
    response = await page.goto(url)
    assert response is not None and response.status == status, (name, response and response.status)
    await assert_no_serious(page, name, also=LISTED)


async def test_the_public_pages_have_no_serious_finding(tocsin, browser):  # noqa: F811
    axe_path()
    desk = await Desk.open(tocsin)
    real = await desk.issue(scenario="flood", regions=["AZ-SAB"])
    await desk.issue(status="Exercise", regions=["AZ-BA"])
    base = str(tocsin.client.make_url("/")).rstrip("/")
    page = await browser.new_page(viewport={"width": 360, "height": 640})
    for lang in ("az", "en", "ru", "fr", "ar"):
        await _check(page, f"{base}/?lang={lang}", f"index {lang}")
    await _check(page, f"{base}/alerts/{real['id']}?lang=ar", "alert page ar")
    await _check(page, f"{base}/alerts/{real['id']}?lang=fr", "alert page fr")
    await _check(page, f"{base}/archive?lang=az", "archive")
    await _check(page, f"{base}/alerts/99999?lang=en", "404", status=404)
    await _check(page, f"{base}/subscribe?lang=ar", "subscribe")

    # The form with errors, the code page and the done page, as a person gets them.
    await page.fill("#phone", "12")
    await page.select_option("#area", "AZ-BA")
    await page.click("form button[type=submit]")
    await page.wait_for_load_state()
    assert await page.locator(".error").count() > 0
    await assert_no_serious(page, "subscribe with errors", also=LISTED)
    await page.fill("#phone", "+994505558021")
    await page.click("form button[type=submit]")
    await page.wait_for_url(re.compile(r"/subscribe/confirm/"))
    await assert_no_serious(page, "code page", also=LISTED)
    [code] = [re.search(r"\b(\d{6})\b", m["body"]).group(1) for m in tocsin.sim.created()
              if m["to"] == "+994505558021"]
    await page.fill("#code", code)
    await page.click("form button[type=submit]")
    await page.wait_for_load_state()
    assert "confirm" in page.url
    await assert_no_serious(page, "done page", also=LISTED)
    await page.close()


async def _console(browser, tocsin, name: str, lang: str = "en"):  # noqa: F811
    context = await browser.new_context(viewport={"width": 1100, "height": 900})
    page = await context.new_page()
    await _check(page, str(tocsin.client.make_url(f"/console/login?lang={lang}")), "login")
    await page.fill("#username", name)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(re.compile(r"/console(\?.*)?$"))
    return context, page


@pytest.mark.parametrize("lang", ["ar"])  # right to left: what English pages have, and the mirrored layout
async def test_the_console_pages_have_no_serious_finding(tocsin, browser, lang):  # noqa: F811
    axe_path()
    desk = await Desk.open(tocsin)
    await tocsin.user("root", "admin")
    sent = await desk.issue(**{"scenario": "earthquake", "regions": ["AZ-BA"], "status": "Exercise"})
    pending = await desk.post({**EARTHQUAKE_IN_BAKU, "status": "Actual"})
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{pending['id']}/submit", headers=desk.operator))
    draft = await desk.post({**EARTHQUAKE_IN_BAKU, "status": "Actual"})
    url = lambda path: str(tocsin.client.make_url(f"/console{path}{'&' if '?' in path else '?'}lang={lang}"))  # noqa: E731

    context, page = await _console(browser, tocsin, "olga", lang)
    await assert_no_serious(page, "alert list (operator)", also=LISTED)
    await _check(page, url("/compose"), "scenario list")
    await _check(page, url("/compose/earthquake"), "compose form")
    await _check(page, url(f"/alerts/{draft['id']}"), "draft with dry run")
    await _check(page, url(f"/alerts/{sent['id']}/report"), "after-action report")
    # The form refused: the problems listed at the top and each under its field.
    await page.goto(url("/compose/earthquake"))
    await page.fill("#param\\.magnitude", "five")
    await page.click("#create")
    await page.wait_for_load_state()
    assert await page.locator("#problems").count() == 1
    await assert_no_serious(page, "compose form, refused", also=LISTED)
    await context.close()

    context, page = await _console(browser, tocsin, "anar", lang)
    await assert_no_serious(page, "alert list (approver, with the badge)", also=LISTED)
    await _check(page, url(f"/alerts/{pending['id']}"), "approver's page")
    await context.close()

    context, page = await _console(browser, tocsin, "root", lang)
    for path in ("/admin/users", "/admin/tokens", "/admin/audit"):
        await _check(page, url(path), path)
    await page.goto(url("/admin/users"))
    await page.click("main table a[href*='/admin/users/']")
    await page.wait_for_url(re.compile(r"/admin/users/\d+"))
    await assert_no_serious(page, "admin user page", also=LISTED)
    await context.close()


async def test_the_consuls_pages_have_no_serious_finding(tocsin, browser):  # noqa: F811
    """A check-in to two countries, answered: its responses panel, and the call-back tickets."""
    from tests.console.test_consul import _checkin

    axe_path()
    alert_id, _ = await _checkin(tocsin)
    url = lambda path: str(tocsin.client.make_url(f"/console{path}?lang=ar"))  # noqa: E731
    context, page = await _console(browser, tocsin, "leyla", "ar")
    await _check(page, url(f"/alerts/{alert_id}"), "check-in with its responses")
    assert await page.locator("#to-call").count() == 1
    await _check(page, url("/tickets"), "call-back tickets")
    await context.close()
