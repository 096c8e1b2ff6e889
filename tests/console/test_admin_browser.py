"""An administrator in a real browser (Debian's Chromium through Playwright): adds a user, gives
them a role and countries, creates and revokes an API token (which the API then refuses), and
verifies the audit log; an operator, in another browser, is refused every admin page.
Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import re

from tests.browser import (
    db_url,  # noqa: F401  (the SQLite-only fixture)
    shot,
    signed_in,
)
from tests.console.test_admin import ADMIN_GETS, user_id

NEW_PASSWORD = "kamran-first-password"


async def test_an_admin_manages_users_tokens_and_the_audit_log(tocsin, browser):  # noqa: F811
    await tocsin.user("root", "admin")
    await tocsin.user("olga", "operator")
    context, page = await signed_in(browser, tocsin, "root")

    # A new user, added as an operator...
    await page.click("#nav-admin")
    await page.wait_for_url(re.compile(r"/console/admin/users"))
    await page.fill("#username", "kamran")
    await page.select_option("#role", "operator")
    await page.fill("#password", NEW_PASSWORD)
    await page.fill("#password2", NEW_PASSWORD)
    await shot(page, "admin-1-add-user")
    await page.click("#add-user button[type=submit]")
    await page.wait_for_url(re.compile(r"/console/admin/users/\d+"))
    assert "Operator" in await page.inner_text("#account")
    # ...then made a consular officer for Türkiye and Georgia.
    await page.select_option("#role", "consular")
    await page.select_option("#country", ["TR", "GE"])
    await page.click("#role-form button[type=submit]")
    await page.wait_for_selector("#account:has-text('Consular officer: GE, TR')")
    await shot(page, "admin-2-user")

    # A token for them: shown once, it works, and once revoked the API refuses it.
    await page.click("nav.admin >> text=API tokens")
    await page.select_option("#user", "kamran")
    await page.fill("#label", "embassy app")
    await page.click("#create-token button[type=submit]")
    token = (await page.inner_text("#new-token")).strip()
    assert token.startswith("tcs_")
    await shot(page, "admin-3-token-created")
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await tocsin.client.get("/api/v1/scenarios", headers=bearer)).status == 200
    await page.goto(str(tocsin.client.make_url("/console/admin/tokens?lang=en")))
    assert token not in await page.content()
    assert "never" not in await page.inner_text("tr:has-text('embassy app')")  # its last use is shown
    await page.click("tr:has-text('embassy app') button")
    await page.wait_for_selector("tr:has-text('embassy app'):not(:has(button))")
    assert (await tocsin.client.get("/api/v1/scenarios", headers=bearer)).status == 401
    await shot(page, "admin-4-token-revoked")

    # The audit log names the administrator for each step, and its chain holds.
    await page.click("nav.admin >> text=Audit log")
    log = await page.inner_text("#audit")
    for action in ("User added", "Role changed", "API token created", "API token revoked"):
        assert re.search(rf"root\t{re.escape(action)}\t", log), action
    await page.click("#verify")
    await page.wait_for_selector("#verification")
    assert "Intact" in await page.inner_text("#verification")
    await shot(page, "admin-5-audit-verified")
    await context.close()

    # An operator gets none of it.
    context, page = await signed_in(browser, tocsin, "olga")
    assert await page.query_selector("#nav-admin") is None
    kamran = await user_id(tocsin, "kamran")
    for path in ADMIN_GETS:
        response = await page.goto(str(tocsin.client.make_url(path.replace("{user}", str(kamran)) + "?lang=en")))
        assert response.status == 403, path
        assert "for administrators only" in await page.inner_text("#denied")
    await shot(page, "admin-6-refused")
    await context.close()
