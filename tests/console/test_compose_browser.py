"""The compose form in a real browser (Debian's Chromium through Playwright), on a desktop and
a phone-sized screen: filled without JavaScript (every area listed as a checkbox, the filter box
hidden) and with it (the filter box hides the areas that do not match, the summary and the
button follow the choices). Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from alerts import regions
from alerts.schema import alerts
from tests.browser import SCREENSHOTS, db_url, shot, signed_in  # noqa: F401  (db_url: the SQLite-only fixture)

WIDTHS = {"desktop": (1280, 900), "phone": (360, 640)}





async def _regions_of_the_draft(tocsin) -> list[str]:
    async with tocsin.store.read() as conn:
        return sorted((await conn.execute(sa.select(alerts.c.regions))).scalar_one())


# A phone without JavaScript (the harder case: a narrow screen and no filter box), and a desktop
# with it; each width's screenshots show the other way too.
@pytest.mark.parametrize("width", ["phone"])
async def test_the_form_is_filled_without_javascript(tocsin, browser, width):  # noqa: F811
    await tocsin.user("olga", "operator")
    context, page = await signed_in(browser, tocsin, "olga", size=WIDTHS[width], lang="az",
                                    locale="az-AZ", javascript=False)
    await page.goto(str(tocsin.client.make_url("/console/compose/earthquake?lang=az")))
    assert not await page.is_visible("#area-filter")  # it needs JavaScript, so it is not offered
    assert await page.locator("#area input[name=area]").count() == len(regions.HOTLINE_NUMBERS)
    await page.fill("#param\\.magnitude", "five")  # a mistake first: named under its field, in Azerbaijani
    await page.click("#create")
    await page.wait_for_selector("#problems")
    assert await page.inner_text("#param\\.magnitude-error") == "ədəd olmalıdır"
    await shot(page, f"compose-nojs-{width}-errors")
    await page.fill("#param\\.magnitude", "5,8")  # the decimal comma of az
    await page.select_option("#param\\.epicentre", "AZ-GA")
    await page.check("#area input[value=AZ-GA]")
    await page.check("#area input[value=AZ-BA]")
    await shot(page, f"compose-nojs-{width}-filled")
    await page.click("#create")
    await page.wait_for_url(re.compile(r"/console/alerts/\d+"))
    assert await _regions_of_the_draft(tocsin) == ["AZ-BA", "AZ-GA"]
    await shot(page, f"compose-nojs-{width}-dry-run")
    await context.close()


@pytest.mark.parametrize("width", ["desktop"])
async def test_the_filter_box_finds_an_area_with_javascript(tocsin, browser, width):  # noqa: F811
    await tocsin.user("olga", "operator")
    context, page = await signed_in(browser, tocsin, "olga", size=WIDTHS[width], lang="az",
                                    locale="az-AZ", javascript=True)
    await page.goto(str(tocsin.client.make_url("/console/compose/earthquake?lang=az")))
    await page.fill("#area-filter", "gence")  # typed without the Azerbaijani letters
    shown = page.locator("#area label.area:visible")
    assert await shown.count() == 1 and "Gəncə" in await shown.inner_text()
    await shown.locator("input").check()
    assert await page.inner_text("#area-summary") == "Gəncə"
    await page.fill("#area-filter", "")
    assert await page.locator("#area label.area:visible").count() == len(regions.HOTLINE_NUMBERS)
    await page.check("input[name=status][value=Actual]")
    assert await page.inner_text("#create") == "REAL xəbərdarlığın layihəsini yaradın"  # at once, no round trip
    await page.fill("#param\\.magnitude", "6,1")
    await page.select_option("#param\\.epicentre", "AZ-GA")
    await shot(page, f"compose-js-{width}-filtered")
    await page.check("#whole-country")  # every home region ticked, said once in the summary
    assert await page.inner_text("#area-summary") == "Bütün Azərbaycan"
    # Unticking one region narrows the whole country to the rest, and says so...
    await page.uncheck("#area input[value=AZ-GA]")
    assert not await page.is_checked("#whole-country")
    assert "Bütün Azərbaycan" not in await page.inner_text("#area-summary")
    await page.check("#whole-country")  # ...and ticking the whole country again takes every region
    await page.click("#create")
    await page.wait_for_url(re.compile(r"/console/alerts/\d+"))
    assert await _regions_of_the_draft(tocsin) == sorted(regions.HOTLINE_NUMBERS.values())
    await shot(page, f"compose-js-{width}-dry-run")
    await context.close()
