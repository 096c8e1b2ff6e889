"""What the browser tests share: Debian's Chromium driven by Playwright (never a downloaded
browser), where screenshots go, and a database on SQLite only (the pages do not depend on the
engine; the API tests cover both). tests/conftest.py offers `browser` to every test and marks
the tests that use it; a module whose pages need no PostgreSQL run imports `db_url` from here."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run"]


@pytest.fixture
def db_url(sqlite_database: Callable[[Path], str], tmp_path: Path) -> str:
    """SQLite only: overrides tests/conftest.py's SQLite-and-PostgreSQL `db_url` where imported."""
    return sqlite_database(tmp_path)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is required under CI=true (scripts/test-services.sh installs it)")
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.async_api import async_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        await chromium.close()


async def signed_in(browser: Any, tocsin: Any, name: str, *, size: tuple[int, int] = (1100, 900), lang: str = "en",
                    locale: str = "en-GB", javascript: bool = True, mobile: bool = False) -> tuple[Any, Any]:
    """A new browser context signed in to the console as `name` (Tocsin.user's password), and
    its page, on the alert list; `mobile` for a phone's browser."""
    from tests.console.test_auth import PASSWORD

    context = await browser.new_context(viewport={"width": size[0], "height": size[1]}, locale=locale,
                                        java_script_enabled=javascript, is_mobile=mobile)
    page = await context.new_page()
    await page.goto(str(tocsin.client.make_url(f"/console/login?lang={lang}")))
    await page.fill("#username", name)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(re.compile(r"/console(\?.*)?$"))
    return context, page


async def shot(page: Any, name: str) -> None:
    """A full-page screenshot, SCREENSHOTS/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
