"""The administrator's console: users, roles and countries, disabling and passwords, API tokens
and when they were last used, the audit log and its verification. Only an administrator gets
these pages (anyone else signed in: 403, whatever they post); bad input gives the form back
naming the field and writes nothing; every change is audited in the administrator's name."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from alerts.schema import api_tokens, audit_log, console_sessions, metadata, user_countries, users
from alerts.store import append_audit
from alerts.users import hash_token
from tests.console.test_auth import PASSWORD, origin, sign_in

NEW_PASSWORD = "another-long-password-42"
ADMIN_GETS = ["/console/admin", "/console/admin/users", "/console/admin/users/{user}", "/console/admin/tokens",
              "/console/admin/audit"]
ADMIN_POSTS = {
    "/console/admin/users": {"username": "intruder", "role": "admin", "password": "x" * 20, "password2": "x" * 20},
    "/console/admin/users/{user}/role": {"role": "admin"},
    "/console/admin/users/{user}/duty": {"phone": "+994505550299", "on_duty": "yes"},
    "/console/admin/users/{user}/disable": {},
    "/console/admin/users/{user}/enable": {},
    "/console/admin/users/{user}/password": {"password": "x" * 20, "password2": "x" * 20},
    "/console/admin/tokens": {"user": "olga", "label": "stolen"},
    "/console/admin/tokens/{token}/revoke": {},
    "/console/admin/audit/verify": {},
}


async def signed_in(tocsin, name: str) -> str:
    """`name` signed in to the console (the client's only session); the session's CSRF token."""
    tocsin.client.session.cookie_jar.clear()
    assert (await sign_in(tocsin, name)).status == 303
    page = await (await tocsin.client.get("/console")).text()
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


async def post(tocsin, csrf: str, path: str, form: dict | None = None, **kw):
    return await tocsin.client.post(path, data={"csrf": csrf, **(form or {})}, headers=origin(tocsin),
                                    allow_redirects=False, **kw)


async def counts(tocsin) -> dict[str, int]:
    """Rows of every table but the sessions (signing in writes those)."""
    async with tocsin.store.read() as conn:
        return {t.name: await conn.scalar(sa.select(sa.func.count()).select_from(t))
                for t in metadata.sorted_tables if t.name != "console_sessions"}


async def state(tocsin) -> list:
    """Every user, role, country and token as stored, to show nothing changed."""
    async with tocsin.store.read() as conn:
        return [(await conn.execute(sa.select(t).order_by(*t.primary_key.columns))).all()
                for t in (users, user_countries, api_tokens)]


async def user_id(tocsin, name: str) -> int:
    async with tocsin.store.read() as conn:
        return await conn.scalar(sa.select(users.c.id).where(users.c.username == name))


async def audit_rows(tocsin, action: str) -> list:
    async with tocsin.store.read() as conn:
        return (await conn.execute(sa.select(audit_log).where(audit_log.c.action == action)
                                   .order_by(audit_log.c.id))).all()


@pytest.mark.parametrize("role", ["operator", "approver", "consular"])
async def test_every_admin_page_and_action_is_refused_to_other_roles(tocsin, role):
    await tocsin.user("root", "admin")
    await tocsin.user("olga", "operator")
    await tocsin.user("someone", role, ["TR"] if role == "consular" else [])
    ids = {"user": str(await user_id(tocsin, "olga"))}
    async with tocsin.store.read() as conn:
        ids["token"] = str(await conn.scalar(sa.select(sa.func.min(api_tokens.c.id))))

    def fill(path: str) -> str:
        return path.replace("{user}", ids["user"]).replace("{token}", ids["token"])

    for path in ADMIN_GETS:  # not signed in: the login page, as everywhere in the console
        response = await tocsin.client.get(fill(path), allow_redirects=False)
        assert response.status == 303 and response.headers["Location"].startswith("/console/login"), path
    csrf = await signed_in(tocsin, "someone")
    assert "/console/admin" not in await (await tocsin.client.get("/console")).text()  # no link to it
    before, stored = await counts(tocsin), await state(tocsin)
    for path in ADMIN_GETS:
        assert (await tocsin.client.get(fill(path), allow_redirects=False)).status == 403, path
    for path, form in ADMIN_POSTS.items():
        response = await post(tocsin, csrf, fill(path), form)
        assert response.status == 403, path
        assert "tcs_" not in await response.text()
    assert await counts(tocsin) == before and await state(tocsin) == stored


async def test_an_admin_adds_a_user_and_changes_their_role_all_audited(tocsin):
    await tocsin.user("root", "admin")
    csrf = await signed_in(tocsin, "root")
    assert 'id="nav-admin"' in await (await tocsin.client.get("/console")).text()
    added = await post(tocsin, csrf, "/console/admin/users?lang=en", {
        "username": "Kamran ", "role": "consular", "country": ["TR", "ge"], "password": PASSWORD,
        "password2": PASSWORD})
    assert added.status == 303
    kamran = await user_id(tocsin, "kamran")  # names are lower case, as at sign-in
    assert added.headers["Location"] == f"/console/admin/users/{kamran}?lang=en"
    listing = await (await tocsin.client.get("/console/admin/users?lang=en")).text()
    assert "kamran" in listing and "GE, TR" in listing and "Consular officer" in listing

    changed = await post(tocsin, csrf, f"/console/admin/users/{kamran}/role", {"role": "consular",
                                                                              "country": ["FR"]})
    assert changed.status == 303
    async with tocsin.store.read() as conn:
        assert (await conn.scalars(sa.select(user_countries.c.country)
                                   .where(user_countries.c.user_id == kamran))).all() == ["FR"]
    assert (await post(tocsin, csrf, f"/console/admin/users/{kamran}/role", {"role": "approver"})).status == 303
    async with tocsin.store.read() as conn:
        row = (await conn.execute(sa.select(users).where(users.c.id == kamran))).one()
        assert row.role == "approver"
        assert await conn.scalar(sa.select(sa.func.count()).select_from(user_countries)
                                 .where(user_countries.c.user_id == kamran)) == 0
    # The new user signs in with the password the administrator typed, with the new role.
    await signed_in(tocsin, "kamran")
    assert "kamran (Approver)" in await (await tocsin.client.get("/console?lang=en")).text()
    assert "kamran (Təsdiqləyən)" in await (await tocsin.client.get("/console?lang=az")).text()

    add = (await audit_rows(tocsin, "user.add"))[-1]
    assert add.actor == "root" and add.details == {"username": "kamran", "role": "consular",
                                                  "countries": ["GE", "TR"]}
    assert PASSWORD not in str(add.details)
    roles = await audit_rows(tocsin, "user.role")
    assert [(r.actor, r.target) for r in roles] == [("root", f"user:{kamran}")] * 2
    assert roles[-1].details == {"username": "kamran", "role": {"from": "consular", "to": "approver"},
                                 "countries": {"from": ["FR"], "to": []}}


BAD_USERS = [
    ({"role": "superuser"}, "role"),
    ({"role": "consular"}, "countries"),
    ({"role": "consular", "country": ["XX"]}, "countries"),
    ({"role": "operator", "country": ["TR"]}, "countries"),
    ({"password": "short-pw", "password2": "short-pw"}, "password"),
    ({"password2": PASSWORD + "!"}, "password2"),
    ({"username": "olga"}, "username"),  # taken
    ({"username": "ölga"}, "username"),
    ({"username": "x" * 70}, "username"),
    ({"username": "bad\u202ename"}, "username"),
]


async def test_a_refused_new_user_gives_the_form_back_naming_the_field(tocsin):
    await tocsin.user("root", "admin")
    await tocsin.user("olga", "operator")
    csrf = await signed_in(tocsin, "root")
    before, stored = await counts(tocsin), await state(tocsin)
    for change, field in BAD_USERS:
        form = {"username": "nigar", "role": "operator", "password": PASSWORD, "password2": PASSWORD, **change}
        response = await post(tocsin, csrf, "/console/admin/users?lang=fr", form)
        page = await response.text()
        assert 400 <= response.status < 500, (change, page)
        assert re.search(rf'<p data-field="{field}">[^<]+</p>', page), (change, page)
        assert 'id="add-user"' in page and 'lang="fr"' in page
        assert await counts(tocsin) == before and await state(tocsin) == stored, change


async def test_an_admin_can_neither_disable_nor_demote_themselves(tocsin):
    await tocsin.user("root", "admin")
    await tocsin.user("olga", "operator")
    root, olga = await user_id(tocsin, "root"), await user_id(tocsin, "olga")
    csrf = await signed_in(tocsin, "root")
    before, stored = await counts(tocsin), await state(tocsin)
    for path, form, field in [(f"/console/admin/users/{root}/disable", {}, "active"),
                              (f"/console/admin/users/{root}/role", {"role": "operator"}, "role"),
                              (f"/console/admin/users/{olga}/role", {"role": "consular", "country": ["ZZ"]},
                               "countries"),
                              (f"/console/admin/users/{olga}/password", {"password": "short", "password2": "short"},
                               "password")]:
        response = await post(tocsin, csrf, path + "?lang=az", form)
        assert response.status == 422, path
        assert re.search(rf'<p data-field="{field}">[^<]+</p>', await response.text()), path
    assert await counts(tocsin) == before and await state(tocsin) == stored
    assert (await tocsin.client.get("/console/admin/users/999999")).status == 404
    assert (await post(tocsin, csrf, "/console/admin/users/999999/disable")).status == 404
    assert (await post(tocsin, csrf, "/console/admin/tokens/999999/revoke")).status == 404


async def test_a_disabled_user_is_out_at_once_sessions_and_tokens(tocsin):
    await tocsin.user("root", "admin")
    token = await tocsin.user("olga", "operator")
    olga = await user_id(tocsin, "olga")
    await signed_in(tocsin, "olga")
    olga_session = tocsin.client.session.cookie_jar.filter_cookies(tocsin.client.make_url("/console"))[
        "tocsin_console"].value
    assert (await tocsin.client.get("/api/v1/scenarios", headers=token)).status == 200

    csrf = await signed_in(tocsin, "root")
    assert (await post(tocsin, csrf, f"/console/admin/users/{olga}/disable")).status == 303
    assert "disabled" in await (await tocsin.client.get("/console/admin/users?lang=en")).text()
    assert (await tocsin.client.get("/api/v1/scenarios", headers=token)).status == 401
    tocsin.client.session.cookie_jar.clear()
    tocsin.client.session.cookie_jar.update_cookies({"tocsin_console": olga_session})
    assert (await tocsin.client.get("/console", allow_redirects=False)).status == 303  # to the login page
    tocsin.client.session.cookie_jar.clear()
    assert (await sign_in(tocsin, "olga")).status == 401
    async with tocsin.store.read() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(console_sessions).where(
            console_sessions.c.user_id == olga, console_sessions.c.revoked_at.is_(None))) == 0
    disabled, = await audit_rows(tocsin, "user.disable")
    assert disabled.actor == "root" and disabled.details == {"username": "olga", "sessions_ended": 1,
                                                             "tokens_revoked": 1}

    csrf = await signed_in(tocsin, "root")
    assert (await post(tocsin, csrf, f"/console/admin/users/{olga}/enable")).status == 303
    assert [r.actor for r in await audit_rows(tocsin, "user.enable")] == ["root"]
    await signed_in(tocsin, "olga")  # back in...
    assert (await tocsin.client.get("/api/v1/scenarios", headers=token)).status == 401  # ...but not that token


async def test_a_new_password_ends_the_users_sessions(tocsin):
    await tocsin.user("root", "admin")
    await tocsin.user("olga", "operator")
    olga = await user_id(tocsin, "olga")
    await signed_in(tocsin, "olga")
    old_session = tocsin.client.session.cookie_jar.filter_cookies(tocsin.client.make_url("/console"))[
        "tocsin_console"].value
    csrf = await signed_in(tocsin, "root")
    refused = await post(tocsin, csrf, f"/console/admin/users/{olga}/password",
                         {"password": NEW_PASSWORD, "password2": NEW_PASSWORD + "x"})
    assert refused.status == 422
    done = await post(tocsin, csrf, f"/console/admin/users/{olga}/password",
                      {"password": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert done.status == 303
    tocsin.client.session.cookie_jar.clear()
    tocsin.client.session.cookie_jar.update_cookies({"tocsin_console": old_session})
    assert (await tocsin.client.get("/console", allow_redirects=False)).status == 303
    tocsin.client.session.cookie_jar.clear()
    assert (await sign_in(tocsin, "olga")).status == 401
    assert (await sign_in(tocsin, "olga", NEW_PASSWORD)).status == 303
    reset, = await audit_rows(tocsin, "user.password")
    assert reset.actor == "root" and reset.details == {"username": "olga", "sessions_ended": 1}
    assert NEW_PASSWORD not in str(reset.details)


async def test_a_token_is_shown_once_works_and_stops_when_revoked(tocsin):
    await tocsin.user("root", "admin")
    await tocsin.user("olga", "operator")
    csrf = await signed_in(tocsin, "root")
    for bad, field in [({"user": "olga", "label": ""}, "label"), ({"user": "olga", "label": "a\nb"}, "label"),
                       ({"user": "nobody", "label": "ci"}, "user")]:
        before = await state(tocsin)
        response = await post(tocsin, csrf, "/console/admin/tokens", bad)
        assert response.status == 422 and f'data-field="{field}"' in await response.text(), bad
        assert await state(tocsin) == before
    created = await post(tocsin, csrf, "/console/admin/tokens?lang=ru", {"user": "olga", "label": "ci pipeline"})
    assert created.status == 201 and created.headers["Cache-Control"] == "no-store"
    token = re.search(r'id="new-token">(tcs_[A-Za-z0-9_-]+)<', await created.text()).group(1)
    async with tocsin.store.read() as conn:
        row = (await conn.execute(sa.select(api_tokens).where(api_tokens.c.label == "ci pipeline"))).one()
    assert row.token_hash == hash_token(token) and row.last_used_at is None
    listing = await (await tocsin.client.get("/console/admin/tokens")).text()
    assert "ci pipeline" in listing and token not in listing  # shown once, never again

    headers = {"Authorization": f"Bearer {token}"}
    assert (await tocsin.client.get("/api/v1/scenarios", headers=headers)).status == 200
    assert (await post(tocsin, csrf, f"/console/admin/tokens/{row.id}/revoke")).status == 303
    assert (await tocsin.client.get("/api/v1/scenarios", headers=headers)).status == 401
    assert (await post(tocsin, csrf, f"/console/admin/tokens/{row.id}/revoke")).status == 303  # again: no-op
    made, = [r for r in await audit_rows(tocsin, "token.create") if r.actor == "root"]
    assert made.details == {"label": "ci pipeline", "token": row.id} and token not in str(made.details)
    revoked, = await audit_rows(tocsin, "token.revoke")
    assert revoked.actor == "root" and revoked.target == f"token:{row.id}"


async def test_last_used_is_written_at_most_once_a_minute(tocsin):
    token = await tocsin.user("olga", "operator")

    async def last_used():
        async with tocsin.store.read() as conn:
            return await conn.scalar(sa.select(api_tokens.c.last_used_at))

    assert await last_used() is None
    assert (await tocsin.client.get("/api/v1/scenarios", headers=token)).status == 200
    first = await last_used()
    assert first is not None and abs((tocsin.clock() - first).total_seconds()) < 60
    for _ in range(5):
        assert (await tocsin.client.get("/api/v1/scenarios", headers=token)).status == 200
    assert await last_used() == first  # within the minute: no write
    tocsin.clock.advance(minutes=2)
    assert (await tocsin.client.get("/api/v1/scenarios", headers=token)).status == 200
    later = await last_used()
    assert (later - first).total_seconds() >= 120
    await tocsin.user("root", "admin")
    await signed_in(tocsin, "root")
    # Shown in Baku time (UTC+4, no daylight saving), in the page's language, labelled.
    baku = later + timedelta(hours=4)
    assert f"{baku.day} {baku:%b %Y, %H:%M} (Baku time)" in await (
        await tocsin.client.get("/console/admin/tokens?lang=en")).text()


async def test_the_audit_log_newest_first_paged_and_filtered(tocsin):
    await tocsin.user("root", "admin")
    async with tocsin.store.write() as conn:
        for n in range(60):
            await append_audit(conn, at=tocsin.clock(), actor="filler" if n % 2 else "other", action=f"test.{n % 3}",
                               target=f"row:{n}", details={"n": n})
    await signed_in(tocsin, "root")
    first = await (await tocsin.client.get("/console/admin/audit?lang=en")).text()
    ids = [int(i) for i in re.findall(r"<tr><td>(\d+)</td>", first)]
    assert len(ids) == 50 and ids == sorted(ids, reverse=True)
    older = re.search(r'id="older" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    second = await (await tocsin.client.get(older)).text()
    rest = [int(i) for i in re.findall(r"<tr><td>(\d+)</td>", second)]
    assert rest and max(rest) < min(ids) and 'id="older"' not in second
    async with tocsin.store.read() as conn:
        assert len(ids) + len(rest) == await conn.scalar(sa.select(sa.func.count()).select_from(audit_log))

    filtered = await (await tocsin.client.get("/console/admin/audit?actor=filler&action=test.1")).text()
    shown = re.findall(r"<td>(row:\d+)</td>", filtered)
    assert shown and all(int(r[4:]) % 2 == 1 and int(r[4:]) % 3 == 1 for r in shown)
    assert len(shown) == len([n for n in range(60) if n % 2 == 1 and n % 3 == 1])
    for query in ("before=abc", "before=%D9%A3", "actor=" + "x" * 500, "action=<b>"):
        assert (await tocsin.client.get(f"/console/admin/audit?{query}")).status == 200, query
    assert (await tocsin.client.get("/console/admin/audit?action=%00")).status == 400  # the input boundary's rule


async def test_verify_finds_a_tampered_row(tocsin):
    await tocsin.user("root", "admin")
    await tocsin.user("olga", "operator")
    csrf = await signed_in(tocsin, "root")
    intact = await post(tocsin, csrf, "/console/admin/audit/verify?lang=en")
    page = await intact.text()
    assert intact.status == 200 and "Intact" in page and "Broken" not in page
    async with tocsin.store.write() as conn:
        victim = (await conn.execute(sa.select(audit_log).where(audit_log.c.action == "user.add")
                                     .order_by(audit_log.c.id.desc()).limit(1))).one()
        await conn.execute(audit_log.update().where(audit_log.c.id == victim.id)
                           .values(details={**victim.details, "role": "admin"}))
    broken = await post(tocsin, csrf, "/console/admin/audit/verify?lang=en")
    page = await broken.text()
    assert broken.status == 200 and "Broken" in page
    assert re.search(rf"The first is entry {victim.id} \(User added by cli, ", page), page
    checks = await audit_rows(tocsin, "audit.verify")
    assert [(c.actor, c.details["broken"], c.details["first_broken"]) for c in checks] == [
        ("root", 0, None), ("root", 1, victim.id)]


async def test_the_token_column_is_migrated_as_the_schema_says(db_url):
    from alerts.store import Store, upgrade

    await upgrade(db_url)
    store = Store(db_url)
    try:
        async with store.read() as conn:
            found = await conn.run_sync(lambda c: {col["name"]: col["nullable"]
                                                   for col in sa.inspect(c).get_columns("api_tokens")})
    finally:
        await store.close()
    assert found == {col.name: col.nullable for col in api_tokens.columns}
    assert found["last_used_at"] is True
