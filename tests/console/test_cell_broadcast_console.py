"""Cell broadcast in the console (issue 17): the channel on the compose form when a CBC is
configured and never for an alert abroad; the dry run's identifier, encoding, pages and text
per language and its network-wide answer; the approver's confirmation of a network-wide
broadcast, sent with Approve; each CBC's answers on the alert's page, a failing one standing
out in words; and the alarm on every console page while a CBC has not accepted a live alert.
Pages in English and in Arabic (right to left); rows of cell_broadcasts are written straight
into the table where that is simpler than making a CBC answer so."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from typing import Any

import pytest
import sqlalchemy as sa

from alerts import i18n, regions
from alerts.alert import load
from alerts.broadcast import preview as cb_preview
from alerts.console import broadcast
from alerts.schema import alerts, cell_broadcasts
from alerts.web.app import utcnow
from channels.cell_broadcast.serial import GeoScope, SerialNumber
from tests.a11y import assert_no_serious, axe_path
from tests.browser import SCREENSHOTS, db_url  # noqa: F401  (SQLite only: what a page says does not depend on the engine)
from tests.conftest import free_port
from tests.console.test_auth import origin, sign_in
from tests.helpers import Desk, json_ok

CBC = "Azercell"
SERIAL = SerialNumber(GeoScope.PLMN, message_code=7, update_number=0)
WHOLE_COUNTRY = sorted(regions.HOTLINE_NUMBERS.values())


@pytest.fixture
async def cb(start_tocsin: Any) -> Any:
    """Tocsin with one CBC configured: nothing listens on its port, so nothing is broadcast
    by accident; what a CBC answered is written into cell_broadcasts by the tests."""
    return await start_tocsin(TOCSIN_CBC_URLS=f"http://127.0.0.1:{free_port()}/api/ecbe/v1", TOCSIN_CBC_NAMES=CBC)


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


async def _get(tocsin: Any, path: str, lang: str = "en", status: int = 200) -> str:
    response = await tocsin.client.get(f"{path}{'&' if '?' in path else '?'}lang={lang}")
    html = await response.text()
    assert response.status == status, (path, response.status, html[:1000])
    return html


async def _draft(desk: Desk, regions_: list[str], channels: list[str], status: str = "Exercise") -> int:
    return (await desk.draft("earthquake", {"magnitude": 6.1, "epicentre": "AZ-BA"}, regions=regions_,
                             status=status, channels=channels))["id"]


async def _submit(tocsin: Any, desk: Desk, alert_id: int) -> None:
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{alert_id}/submit", headers=desk.operator))


def _said(lang: str, msgid: str, **params: Any) -> str:
    """A message as the page says it in `lang` (a template's words are markup, as the catalog
    has them), a CBC's name (`cbc`) marked as a name, not words to translate."""
    with i18n.language(lang):
        text = i18n.gettext(msgid)
    if "cbc" in params:
        params = {**params, "cbc": f'<span translate="no">{params["cbc"]}</span>'}
    return text % params if params else text


# ---- compose ----

async def test_compose_offers_cell_broadcast_only_with_a_cbc_and_never_abroad(cb, start_tocsin):
    await cb.user("olga", "operator")
    await cb.user("kamran", "consular", ["TR"])
    await sign_in(cb, "olga")
    form = await _get(cb, "/console/compose/earthquake")
    box = re.search(r'<label class="choice"><input type="checkbox" name="channel" value="cell_broadcast"> '
                    r'([^<]+)</label>', form)
    assert box and box.group(1) == "Cell broadcast (every phone in the area, no subscription)"
    # Unticked by default: an officer chooses it; ticked, the draft has it.
    made = await cb.client.post("/console/compose/earthquake?lang=en", headers=origin(cb), allow_redirects=False, data={
        "csrf": _csrf(form), "status": "Exercise", "param.magnitude": "6.1", "param.epicentre": "AZ-BA",
        "whole_country": "yes", "channel": ["sms", "cell_broadcast"], "expires_in_minutes": "120"})
    assert made.status == 303, await made.text()
    alert_id = int(re.search(r"/alerts/(\d+)", made.headers["Location"]).group(1))
    async with cb.store.read() as conn:
        assert set((await load(conn, alert_id)).channels) == {"sms", "cell_broadcast"}
    # Arabic: the same box, in Arabic.
    form_ar = await _get(cb, "/console/compose/earthquake", "ar")
    assert f'value="cell_broadcast"> {_said("ar", "Cell broadcast (every phone in the area, no subscription)")}' \
        in form_ar
    # An alert abroad never goes by cell broadcast: not offered to a consul's advisory.
    await sign_in(cb, "kamran")
    assert 'value="cell_broadcast"' not in await _get(cb, "/console/compose/security_advisory")
    # No CBC configured: not offered at all.
    plain = await start_tocsin()
    await sign_in(plain, "olga")
    assert 'value="cell_broadcast"' not in await _get(plain, "/console/compose/earthquake")


# ---- the dry run and the approval ----

async def test_the_dry_run_shows_each_languages_identifier_pages_and_text(cb):
    desk = await Desk.open(cb)
    whole = await _draft(desk, WHOLE_COUNTRY, ["sms", "web", "cell_broadcast"])
    regional = await _draft(desk, ["AZ-BA"], ["sms", "cell_broadcast"])
    without = await _draft(desk, ["AZ-BA"], ["sms"])
    await sign_in(cb, "olga")
    for lang in ("en", "ar"):
        html = await _get(cb, f"/console/alerts/{whole}", lang)
        async with cb.store.read() as conn:
            expected = cb_preview.preview(await load(conn, whole), cb.config.cell_broadcast)
        assert expected["languages"]
        section = html[html.index('id="cell-broadcast-dry-run"'):html.index('id="published"')]
        assert _said(lang, "The whole country: sent to every mobile operator.") in section
        rows = re.findall(r'<tr data-language="(\w\w)">(.*?)</tr>', section, re.S)
        assert [code for code, _ in rows] == [item["language"] for item in expected["languages"]]
        for (code, row), item in zip(rows, expected["languages"], strict=True):
            assert f'<td class="cb-identifier">{item["message_id"]}</td>' in row
            with i18n.language(lang):
                pages = i18n.ngettext("%(num)s page of %(budget)s, %(encoding)s",
                                      "%(num)s pages of %(budget)s, %(encoding)s", item["pages"]) % {
                    "num": item["pages"], "budget": 4, "encoding": item["encoding"]}
            assert f'<td class="cb-pages">{pages}</td>' in row
            text_dir = "rtl" if code == "ar" else "ltr"
            shown = re.search(rf'<pre class="sms cb-text" lang="{code}" dir="{text_dir}">(.*?)</pre>', row, re.S)
            assert shown and unescape(shown.group(1)) == item["text"]
        # The page budget is named with the pages: "1 page of 4, GSM-7".
        with i18n.language(lang):
            first = expected["languages"][0]
            assert broadcast.pages(first["pages"], cb.config.cell_broadcast.page_budget, first["encoding"]) in html
        # A region: the operators broadcast to the whole network only, so the approver must confirm.
        html = await _get(cb, f"/console/alerts/{regional}", lang)
        assert 'id="cell-broadcast-dry-run"' in html
        assert _said(lang, "A region: the mobile operators can only broadcast to the whole network, so the "
                           "approver must confirm a broadcast to every phone in the country, or it is not "
                           "broadcast.") in html
        # Not asked for: nothing about it.
        assert 'id="cell-broadcast-dry-run"' not in await _get(cb, f"/console/alerts/{without}", lang)


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_the_approver_confirms_a_network_wide_broadcast_or_leaves_it_out(cb, lang):
    desk = await Desk.open(cb)
    confirmed, unconfirmed, whole = (await _draft(desk, ["AZ-BA"], ["sms", "cell_broadcast"]),
                                     await _draft(desk, ["AZ-BA"], ["sms", "cell_broadcast"]),
                                     await _draft(desk, WHOLE_COUNTRY, ["sms", "cell_broadcast"]))
    for alert_id in (confirmed, unconfirmed, whole):
        await _submit(cb, desk, alert_id)
    await sign_in(cb, "anar")
    html = await _get(cb, f"/console/alerts/{confirmed}", lang)
    form = html[html.index(f"/alerts/{confirmed}/approve"):]
    form = form[:form.index("</form>")]
    box = re.search(r'<input type="checkbox" name="network_wide" value="yes" id="network_wide"[^>]*>', form)
    assert box and "checked" not in box.group(0)  # unticked unless the approver ticks it
    assert 'aria-describedby="network_wide-help"' in box.group(0) and 'id="network_wide-help"' in form
    assert _said(lang, "Broadcast to every phone in the country (the operators cannot target only this area)") in form
    assert f'name="csrf" value="{_csrf(html)}"' in form
    # The whole country needs no confirmation: no box.
    assert 'name="network_wide"' not in await _get(cb, f"/console/alerts/{whole}", lang)

    for alert_id, ticked in ((confirmed, True), (unconfirmed, False)):
        page = await _get(cb, f"/console/alerts/{alert_id}", lang)
        data = {"csrf": _csrf(page), **({"network_wide": "yes"} if ticked else {})}
        approved = await cb.client.post(f"/console/alerts/{alert_id}/approve?lang={lang}", data=data,
                                        headers=origin(cb), allow_redirects=False)
        assert approved.status == 303, await approved.text()
        async with cb.store.read() as conn:
            plan = await conn.scalar(sa.select(alerts.c.cell_broadcast).where(alerts.c.id == alert_id))
        assert bool(plan and plan.get("network_wide")) is ticked, plan
    # Afterwards the dry run says what was decided, and no box is offered any more.
    after = await _get(cb, f"/console/alerts/{confirmed}", lang)
    assert _said(lang, "Confirmed by the approver: broadcast to every phone in the country.") in after
    assert 'name="network_wide"' not in after
    after = await _get(cb, f"/console/alerts/{unconfirmed}", lang)
    assert _said(lang, "Not broadcast: the approver did not confirm a broadcast to every phone in the country.") \
        in after
    assert 'name="network_wide"' not in after


# ---- the alert's page and the alarm ----

async def _live_alert(cb: Any, desk: Desk, rows: list[dict[str, Any]]) -> int:
    """An approved alert (sent by SMS: the CBC configured has nothing to do with it) given a
    cell broadcast plan and these requests, as the broadcaster would have left them."""
    alert_id = await _draft(desk, WHOLE_COUNTRY, ["sms"])
    await desk.approve(alert_id)
    now = utcnow()
    async with cb.store.write() as conn:
        await conn.execute(alerts.update().where(alerts.c.id == alert_id).values(cell_broadcast={
            "message_code": 7, "update_number": 0, "identifiers": {"az": 4371, "ar": 4384}, "network_wide": False}))
        for row in rows:
            await conn.execute(cell_broadcasts.insert().values({
                "alert_id": alert_id, "kind": "write", "attempts": 1, "last_status": None, "last_answer": None,
                "last_error": None, "accepted_at": None, "serial_number": SERIAL.encoded, "created_at": now,
                # Far ahead: the broadcaster leaves these rows alone while the test reads them.
                "updated_at": now, "next_attempt_at": now + timedelta(days=1), **row}))
    return alert_id


FAILING_ROWS = [
    {"cbc": CBC, "language": "az", "message_id": 4371, "state": "accepted", "last_status": 200,
     "last_answer": "OK", "accepted_at": utcnow()},
    {"cbc": CBC, "language": "ar", "message_id": 4384, "state": "accepted", "last_status": 200, "last_answer": "OK",
     "accepted_at": utcnow()},
    {"cbc": "Bakcell", "language": "az", "message_id": 4371, "state": "refused", "attempts": 3, "last_status": 400,
     "last_answer": "invalid number of pages"},
    {"cbc": "Bakcell", "language": "ar", "message_id": 4384, "state": "pending", "attempts": 4,
     "last_error": "unreachable"},
]


async def test_the_alerts_page_shows_each_cbcs_answers_and_a_failing_one_says_what_to_do(cb):
    desk = await Desk.open(cb)
    alert_id = await _live_alert(cb, desk, FAILING_ROWS)
    await sign_in(cb, "olga")
    for lang in ("en", "ar"):
        html = await _get(cb, f"/console/alerts/{alert_id}", lang)
        assert f'<html lang="{lang}" dir="{"rtl" if lang == "ar" else "ltr"}">' in html
        panel = html[html.index('id="cell-broadcast"'):]
        panel = panel[:panel.index("</section>")]
        good = panel[panel.index(f'data-cbc="{CBC}"'):panel.index('data-cbc="Bakcell"')]
        bad = panel[panel.index('data-cbc="Bakcell"'):]
        # Every request: language, state, identifier, serial / update number, attempts, the answer, when accepted.
        assert len(re.findall(r'<tr class="cb-row', panel)) == 4
        assert 'class="cbc"' in panel and 'class="cbc trouble"' in panel
        assert _said(lang, "Accepted") in good and "4371" in good and "4384" in good
        assert f"{SERIAL.encoded} / 0" in good
        assert "200 OK" in good and _said(lang, "Not accepted") not in good
        assert re.search(r"\d\d:\d\d", good)  # when each was accepted
        # The failing CBC stands out in words, not only in colour, and names what to do.
        assert _said(lang, "Not accepted") in bad
        assert _said(lang, "%(cbc)s has not accepted this alert. Call the mobile operator's duty engineer now: "
                           "give them the alert's number and its last answer below.", cbc="Bakcell") in bad
        assert f"⚠ {_said(lang, 'Refused')}" in bad and f"⚠ {_said(lang, 'Not accepted yet: being retried')}" in bad
        assert "400 invalid number of pages" in bad and "(unreachable)" in bad
        assert len(re.findall(r'<tr class="cb-row trouble"', bad)) == 2
        # The CBC's own answer is data, not words to translate: marked so, left to right.
        assert '<span translate="no" dir="ltr">400 invalid number of pages</span>' in bad


async def test_the_alarm_is_on_every_console_page_for_whoever_may_read_the_alert(cb):
    desk = await Desk.open(cb)
    alert_id = await _live_alert(cb, desk, FAILING_ROWS)
    await cb.user("root", "admin")
    await cb.user("kamran", "consular", ["TR"])
    link = f'<a href="/console/alerts/{alert_id}?lang='
    for who in ("olga", "anar", "root"):
        await sign_in(cb, who)
        for path in ("/console", "/console/compose", f"/console/alerts/{alert_id}",
                     f"/console/alerts/{alert_id}/report"):
            html = await _get(cb, path)
            alarm = re.search(r'<div class="alarm" id="cell-broadcast-alarm" role="alert">(.*?)</div>', html, re.S)
            assert alarm, (who, path)
            said = f'Cell broadcast: <span translate="no">Bakcell</span> has not accepted alert #{alert_id}'
            assert f'{link}en">{said}</a>' in alarm.group(1)
            assert "Azercell" not in alarm.group(1)  # the CBC that accepted is no alarm
    html = await _get(cb, "/console", "ar")
    said = _said("ar", "Cell broadcast: %(cbc)s has not accepted alert #%(id)s", cbc="Bakcell", id=alert_id)
    assert f'{link}ar">{said}</a>' in html
    # A consul does not read an alert at home: no alarm for them.
    await sign_in(cb, "kamran")
    assert 'id="cell-broadcast-alarm"' not in await _get(cb, "/console/compose")
    # Once the CBC accepts, the alarm is gone.
    async with cb.store.write() as conn:
        await conn.execute(cell_broadcasts.update().where(cell_broadcasts.c.alert_id == alert_id)
                           .values(state="accepted", accepted_at=utcnow()))
    await sign_in(cb, "olga")
    assert 'id="cell-broadcast-alarm"' not in await _get(cb, "/console")


async def test_the_cell_broadcast_panels_have_no_serious_accessibility_finding(cb, browser):  # noqa: F811
    """axe-core in Chromium, right to left: the alarm, a failing CBC's panel, the dry run and
    the approver's network-wide box, and the compose form's channel (the walk of
    tests/test_accessibility.py, on pages that show them)."""
    from tests.test_accessibility import LISTED, _check, _console

    axe_path()
    desk = await Desk.open(cb)
    failing = await _live_alert(cb, desk, FAILING_ROWS)
    regional = await _draft(desk, ["AZ-BA"], ["sms", "cell_broadcast"], status="Actual")
    await _submit(cb, desk, regional)
    url = lambda path: str(cb.client.make_url(f"/console{path}?lang=ar"))  # noqa: E731
    context, page = await _console(browser, cb, "olga", "ar")
    await assert_no_serious(page, "alert list with the alarm", also=LISTED)
    assert await page.locator("#cell-broadcast-alarm").count() == 1
    await _check(page, url(f"/alerts/{failing}"), "a failing CBC's panel")
    await page.screenshot(path=str(SCREENSHOTS / "cell_broadcast_panel_ar.png"), full_page=True)
    await _check(page, url("/compose/earthquake"), "compose form with cell broadcast")
    await context.close()
    context, page = await _console(browser, cb, "anar", "ar")
    await _check(page, url(f"/alerts/{regional}"), "the approver's network-wide box")
    await page.screenshot(path=str(SCREENSHOTS / "cell_broadcast_approval_ar.png"), full_page=True)
    assert await page.locator("#network_wide").count() == 1
    await context.close()
