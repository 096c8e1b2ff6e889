"""A real browser (Debian's Chromium, driven by Playwright) reads the public page in every
language, right-to-left in Arabic, with and without JavaScript, and sees a new alert appear
live. Screenshots go to test-artifacts/screenshots/ for a person to look at."""

from __future__ import annotations

import pytest

from tests.browser import SCREENSHOTS, db_url  # noqa: F401  (the SQLite-only fixture)
from tests.helpers import Desk

HEADLINE_WORDS = {"az": "zəlzələ", "en": "Earthquake", "ru": "Землетрясение", "fr": "Séisme", "ar": "زلزال"}


@pytest.mark.parametrize("lang", list(HEADLINE_WORDS))
async def test_the_page_in_each_language_sets_lang_and_dir(tocsin, browser, lang):
    desk = await Desk.open(tocsin)
    await desk.issue()
    page = await browser.new_page(viewport={"width": 390, "height": 800})  # a phone's width
    await page.goto(str(tocsin.client.make_url(f"/?lang={lang}")))
    assert await page.evaluate("document.documentElement.lang") == lang
    assert await page.evaluate("document.documentElement.dir") == ("rtl" if lang == "ar" else "ltr")
    # The browser lays Arabic out right to left, not merely labelled so.
    assert await page.evaluate("getComputedStyle(document.body).direction") == ("rtl" if lang == "ar" else "ltr")
    assert HEADLINE_WORDS[lang] in await page.inner_text("article.alert h2")
    await page.screenshot(path=str(SCREENSHOTS / f"public-{lang}.png"), full_page=True)
    await page.close()


async def test_the_browser_language_chooses_the_page_language(tocsin, browser):
    context = await browser.new_context(locale="ar-SA")
    page = await context.new_page()
    await page.goto(str(tocsin.client.make_url("/")))
    assert (await page.evaluate("document.documentElement.lang"), await page.evaluate("document.dir")) == ("ar", "rtl")
    await context.close()


async def test_the_page_reads_without_javascript(tocsin, browser):
    desk = await Desk.open(tocsin)
    alert = await desk.issue()
    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    await page.goto(str(tocsin.client.make_url("/?lang=fr")))
    assert "Séisme" in await page.inner_text("main")
    await page.click(f"#alert-{alert['id']} h2 a")
    assert page.url.endswith(f"/alerts/{alert['id']}?lang=fr")
    assert "Séisme" in await page.inner_text("main")
    await page.screenshot(path=str(SCREENSHOTS / "alert-fr-no-javascript.png"), full_page=True)
    await context.close()


async def test_a_new_alert_appears_live_and_a_cancelled_one_goes(tocsin, browser):
    desk = await Desk.open(tocsin)
    page = await browser.new_page()
    await page.goto(str(tocsin.client.make_url("/?lang=en")))
    await page.wait_for_selector("#no-alerts")
    # Marks this page load: if the page navigated instead of updating itself, the mark is gone.
    await page.evaluate("window.loadedOnce = true")

    alert = await desk.issue()
    await page.wait_for_selector(f"#alert-{alert['id']}", timeout=15_000)
    assert "Earthquake" in await page.inner_text(f"#alert-{alert['id']}")
    assert await page.evaluate("window.loadedOnce") is True
    await page.screenshot(path=str(SCREENSHOTS / "live-new-alert-en.png"), full_page=True)

    await desk.cancel(alert["id"])
    await page.wait_for_selector(f"#alert-{alert['id']}", state="detached", timeout=15_000)
    await page.wait_for_selector("#no-alerts")
    await page.close()


async def test_an_arabic_reader_on_a_phone_sees_the_real_alert_first_and_finds_the_sign_up(tocsin, browser):
    """Persona 3 and 4 of the walk-through: a 360x640 phone, no JavaScript, an exercise newer and
    more severe than the real alert. The real alert fills the first screen; the exercise waits,
    collapsed, under its own heading; the sign-up is one tap away."""
    desk = await Desk.open(tocsin)
    real = await desk.issue(scenario="flood", regions=["AZ-SAB"])
    drill = await desk.issue(status="Exercise", regions=["AZ-BA"])
    context = await browser.new_context(java_script_enabled=False, viewport={"width": 360, "height": 640})
    page = await context.new_page()
    await page.goto(str(tocsin.client.make_url("/?lang=ar")))
    real_card, drill_card = page.locator(f"#alert-{real['id']}"), page.locator(f"#alert-{drill['id']}")
    assert await real_card.is_visible() and not await drill_card.is_visible()
    box = await real_card.bounding_box()
    assert box is not None and box["y"] < 640  # on the first screen
    assert "112" in await page.inner_text("header")
    await page.screenshot(path=str(SCREENSHOTS / "public-ar-phone-real-first.png"))
    await page.click("#drills summary")  # no script needed to open the drills
    assert await drill_card.is_visible() and "تمرين" in await drill_card.inner_text()
    # The drill's own look: a dashed border, not the real alert's solid one.
    border = "e => getComputedStyle(e).borderInlineStartStyle"
    styles = [await card.evaluate(border) for card in (real_card, drill_card)]
    assert styles == ["solid", "dashed"]
    await page.screenshot(path=str(SCREENSHOTS / "public-ar-phone-drills-open.png"), full_page=True)
    await page.click("header a[href^='/subscribe']")
    assert page.url.endswith("/subscribe?lang=ar")
    assert await page.locator("h1").count() == 1 and await page.locator("form input#phone").is_visible()
    await context.close()
