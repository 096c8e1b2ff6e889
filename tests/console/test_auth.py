"""The console's doors: sign-in with argon2, sessions kept on the server and renewed at
sign-in, dead after sign-out; every state change needs this site's Origin and the form's
CSRF token; cookies HttpOnly, SameSite and, over https, Secure; each role refused what it
may not do, an author above all refused their own approval."""

from __future__ import annotations

import asyncio
import re

import pytest
import sqlalchemy as sa

from alerts.schema import alerts, audit_log
from tests.helpers import json_ok

PASSWORD = "a-long-test-password"  # what Tocsin.user() gives everyone
EARTHQUAKE = {"scenario": "earthquake", "params": {"magnitude": 5.8, "epicentre": "AZ-BA"}, "status": "Actual",
              "audience": {"regions": ["AZ-BA"]}, "channels": ["sms"]}


def origin(tocsin) -> dict[str, str]:
    return {"Origin": tocsin.config.public_url}


async def login_csrf(client) -> str:
    """The login form's hidden csrf_token, as a browser gets it (with its cookie) from the form."""
    html = await (await client.get("/console/login")).text()
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


async def sign_in(tocsin, name: str, password: str = PASSWORD, client=None):
    client = client or tocsin.client
    form = {"username": name, "password": password, "csrf_token": await login_csrf(client)}
    response = await client.post("/console/login", data=form, headers=origin(tocsin), allow_redirects=False)
    return response


def token_of(client) -> str | None:
    for cookie in client.session.cookie_jar:
        if cookie.key == "tocsin_console":
            return cookie.value
    return None


async def csrf_of(client, path: str = "/console") -> str:
    html = await (await client.get(path)).text()
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


async def test_sign_in_renews_the_session_and_sign_out_ends_it(tocsin):
    await tocsin.user("olga", "operator")
    assert (await tocsin.client.get("/console", allow_redirects=False)).status == 303  # to the login page
    tocsin.client.session.cookie_jar.update_cookies({"tocsin_console": "planted-by-someone-else"})
    response = await sign_in(tocsin, "olga")
    assert response.status == 303 and response.headers["Location"] == "/console"
    cookie = response.cookies["tocsin_console"]
    first = cookie.value
    assert first != "planted-by-someone-else"
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/console"
    assert not cookie["secure"]  # plain http here; see the https test below
    assert (await tocsin.client.get("/console")).status == 200

    again = await sign_in(tocsin, "olga")
    assert again.cookies["tocsin_console"].value not in (first, "")  # every sign-in, a new id

    csrf = await csrf_of(tocsin.client)
    out = await tocsin.client.post("/console/logout", data={"csrf": csrf}, headers=origin(tocsin),
                                   allow_redirects=False)
    assert out.status == 303
    tocsin.client.session.cookie_jar.update_cookies({"tocsin_console": again.cookies["tocsin_console"].value})
    assert (await tocsin.client.get("/console", allow_redirects=False)).status == 303  # the old id is dead
    tocsin.client.session.cookie_jar.update_cookies({"tocsin_console": first})
    assert (await tocsin.client.get("/console", allow_redirects=False)).status == 303  # and so is the first


@pytest.mark.parametrize("password, status", [("wrong-password-123", 401), ("", 401)])
async def test_a_wrong_password_is_refused_and_audited(tocsin, password, status):
    await tocsin.user("olga", "operator")
    response = await sign_in(tocsin, "olga", password)
    assert response.status == status and token_of(tocsin.client) is None
    assert (await sign_in(tocsin, "nobody")).status == 401


async def test_sign_in_attempts_are_limited(tocsin):
    await tocsin.user("olga", "operator")
    await tocsin.user("anar", "approver")
    statuses = [(await sign_in(tocsin, "olga", "wrong-password-123")).status for _ in range(11)]
    assert statuses[:10] == [401] * 10 and statuses[10] == 429
    assert (await sign_in(tocsin, "olga")).status == 429  # even the right password, until the window passes
    # Only failures count, per name: a colleague at the same address still signs in.
    assert (await sign_in(tocsin, "anar")).status == 303


async def test_the_login_form_needs_its_csrf_token(tocsin):
    """SPEC §11: the login form posts a hidden csrf_token. Without it, with another browser's,
    or forged, a sign-in is refused before the password is looked at: another site cannot sign
    an officer in to an account of its choosing."""
    await tocsin.user("olga", "operator")
    token = await login_csrf(tocsin.client)
    cases = [{}, {"csrf_token": "forged"}, {"csrf_token": token + "0"}, {"csrf_token": "é" * 10}]
    for extra in cases:
        response = await tocsin.client.post("/console/login", data={"username": "olga", "password": PASSWORD, **extra},
                                            headers=origin(tocsin), allow_redirects=False)
        assert response.status == 403, extra
    tocsin.client.session.cookie_jar.clear()  # a token without the cookie it was made for
    response = await tocsin.client.post("/console/login", data={"username": "olga", "password": PASSWORD,
                                                                "csrf_token": token},
                                        headers=origin(tocsin), allow_redirects=False)
    assert response.status == 403 and token_of(tocsin.client) is None
    assert (await sign_in(tocsin, "olga")).status == 303


async def test_wrong_passwords_sent_at_once_are_checked_no_more_than_the_limit(tocsin):
    """Forty guesses in parallel: the limit is 10, so at most 10 passwords are checked (and
    audited as failures); the rest are refused before the check."""
    await tocsin.user("olga", "operator")
    token = await login_csrf(tocsin.client)
    form = {"username": "olga", "password": "wrong-password-123", "csrf_token": token}
    statuses = await asyncio.gather(*(
        tocsin.client.post("/console/login", data=form, headers=origin(tocsin), allow_redirects=False)
        for _ in range(40)))
    codes = sorted(r.status for r in statuses)
    assert codes.count(401) == 10 and codes.count(429) == 30, codes
    async with tocsin.store.read() as conn:
        failures = await conn.scalar(sa.select(sa.func.count()).select_from(audit_log)
                                     .where(audit_log.c.action == "console.login_failed"))
    assert failures == 10


async def test_state_changes_need_this_origin_and_the_csrf_token(tocsin):
    operator = await tocsin.user("olga", "operator")
    draft = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=operator, json=EARTHQUAKE), 201)
    await sign_in(tocsin, "olga")
    csrf = await csrf_of(tocsin.client, f"/console/alerts/{draft['id']}")
    path = f"/console/alerts/{draft['id']}/submit"
    cases = [
        ({}, origin(tocsin)),  # no token
        ({"csrf": "forged"}, origin(tocsin)),  # a wrong token
        ({"csrf": csrf}, {"Origin": "https://evil.example"}),  # another site
        ({"csrf": csrf}, {"Referer": "https://evil.example/page"}),
        ({"csrf": csrf}, {}),  # neither Origin nor Referer
        ({"csrf": "é" * 10}, origin(tocsin)),  # not even ASCII: refused, not a crash
    ]
    for form, headers in cases:
        response = await tocsin.client.post(path, data=form, headers=headers, allow_redirects=False)
        assert response.status == 403, (form, headers)
    assert (await sign_in(tocsin, "olga", client=tocsin.client)).status == 303
    login = {"username": "olga", "password": PASSWORD, "csrf_token": await login_csrf(tocsin.client)}
    login_elsewhere = await tocsin.client.post("/console/login", data=login,
                                               headers={"Origin": "https://evil.example"}, allow_redirects=False)
    assert login_elsewhere.status == 403
    async with tocsin.store.read() as conn:
        assert await conn.scalar(sa.select(alerts.c.state).where(alerts.c.id == draft["id"])) == "draft"
    csrf = await csrf_of(tocsin.client, f"/console/alerts/{draft['id']}")
    done = await tocsin.client.post(path, data={"csrf": csrf, "confirm_nobody": "yes"},  # an Actual to no one
                                    headers=origin(tocsin), allow_redirects=False)
    assert done.status == 303


async def test_over_https_the_cookie_is_secure(start_tocsin):
    tocsin = await start_tocsin(TOCSIN_PUBLIC_URL="https://alerts.example.org")
    await tocsin.user("olga", "operator")
    form_page = await tocsin.client.get("/console/login")
    login_cookie = form_page.cookies["tocsin_login"]
    assert login_cookie["secure"] and login_cookie["httponly"] and login_cookie["samesite"] == "Strict"
    # The test server speaks plain http, where a client keeps a Secure cookie to itself: handed over by hand.
    tocsin.client.session.cookie_jar.update_cookies({"tocsin_login": login_cookie.value})
    token = re.search(r'name="csrf_token" value="([^"]+)"', await form_page.text()).group(1)
    login = {"username": "olga", "password": PASSWORD, "csrf_token": token}
    response = await tocsin.client.post("/console/login", data=login,
                                        headers={"Origin": "https://alerts.example.org"}, allow_redirects=False)
    assert response.status == 303 and response.cookies["tocsin_console"]["secure"]


async def test_each_role_is_refused_what_it_may_not_do(start_tocsin):
    tocsin = await start_tocsin()
    operator = await tocsin.user("olga", "operator")
    await tocsin.user("anar", "approver")
    await tocsin.user("kamran", "consular", ["TR"])
    await tocsin.user("leyla", "consular", ["TR"])
    await tocsin.user("root", "admin")
    draft = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=operator, json=EARTHQUAKE), 201)
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/submit", headers=operator))
    consular_token = await tocsin.user("kamran3", "consular", ["TR"])
    advisory = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=consular_token, json={
        "scenario": "security_advisory", "status": "Exercise", "audience": {"countries": ["TR"]},
        "params": {"country": "TR", "level": "avoid_travel", "embassy_phone": "+902124400101"}}), 201)
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{advisory['id']}/submit", headers=consular_token))

    async def attempt(who: str, alert_id: int, action: str, **form: str) -> int:
        client = tocsin.client
        client.session.cookie_jar.clear()
        assert (await sign_in(tocsin, who)).status == 303
        page = await client.get(f"/console/alerts/{alert_id}")
        if page.status != 200:
            return page.status
        csrf = re.search(r'name="csrf" value="([^"]+)"', await page.text()).group(1)
        response = await client.post(f"/console/alerts/{alert_id}/{action}", data={"csrf": csrf, **form},
                                     headers=origin(tocsin), allow_redirects=False)
        return response.status

    baku = {"confirm_area": "Bakı"}
    assert await attempt("olga", draft["id"], "approve", **baku) == 403  # an operator does not approve
    assert await attempt("root", draft["id"], "approve", **baku) == 403  # nor does an administrator
    assert await attempt("kamran", draft["id"], "approve", **baku) == 404  # not in a consul's scope at all
    assert await attempt("kamran3", advisory["id"], "approve") == 403  # the author, never
    assert await attempt("anar", draft["id"], "submit") == 403  # an approver does not submit others' drafts
    assert await attempt("leyla", advisory["id"], "approve") == 303  # a second consul of the same scope
    async with tocsin.store.read() as conn:
        states = dict((await conn.execute(sa.select(alerts.c.id, alerts.c.state))).all())
    assert states[draft["id"]] == "pending_approval"
    assert states[advisory["id"]] in ("approved", "sending", "sent")


async def test_an_actual_alert_is_sent_only_when_its_area_is_typed(tocsin):
    operator = await tocsin.user("olga", "operator")
    await tocsin.user("anar", "approver")
    draft = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=operator, json=EARTHQUAKE), 201)
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/submit", headers=operator))
    await sign_in(tocsin, "anar")
    path = f"/console/alerts/{draft['id']}"
    page = await (await tocsin.client.get(path)).text()
    assert 'class="banner Actual"' in page and 'name="confirm_area"' in page
    for typed in ("", "Gəncə", "yes"):
        csrf = await csrf_of(tocsin.client, path)
        refused = await tocsin.client.post(f"{path}/approve", data={"csrf": csrf, "confirm_area": typed},
                                           headers=origin(tocsin), allow_redirects=False)
        assert refused.status == 422, typed
    async with tocsin.store.read() as conn:
        assert await conn.scalar(sa.select(alerts.c.state).where(alerts.c.id == draft["id"])) == "pending_approval"
    csrf = await csrf_of(tocsin.client, path)
    sent = await tocsin.client.post(f"{path}/approve", data={"csrf": csrf, "confirm_area": "baki"},
                                    headers=origin(tocsin), allow_redirects=False)
    assert sent.status == 303
