"""The public page, the archive, one page per alert, CAP over HTTP and the Atom feed, on
SQLite and PostgreSQL: what a phone, a browser and an aggregator get."""

from __future__ import annotations

import asyncio
import gzip
import json
import re
import xml.etree.ElementTree as ET
from html import unescape

import aiohttp
import pytest
from aiohttp.test_utils import make_mocked_request

from alerts import i18n
from alerts.cap import NS
from alerts.web import live
from alerts.web.caching import Entity, accepts_gzip
from alerts.web.live import LIVE
from tests.helpers import Desk, eventually, json_ok
from tests.web.capschema import cap_schema

ATOM = {"a": "http://www.w3.org/2005/Atom"}
CAP = {"cap": NS}
# Words of the earthquake's headline in each language (from the scenario's translations).
HEADLINE_WORDS = {
    "az": "maqnitudalı zəlzələ",
    "en": "Earthquake",
    "ru": "Землетрясение",
    "fr": "Séisme",
    "ar": "زلزال",
}


async def _html(client, path, **headers):
    response = await client.get(path, headers=headers)
    return response, await response.text()


def _root_attrs(html):
    match = re.search(r"<html lang=\"(\w+)\" dir=\"(\w+)\">", html)
    return match.groups() if match else None


@pytest.mark.parametrize("lang", list(HEADLINE_WORDS))
async def test_the_page_shows_active_alerts_in_the_language_asked_for(tocsin, lang):
    desk = await Desk.open(tocsin)
    await desk.issue()
    response, html = await _html(tocsin.client, f"/?lang={lang}")
    assert response.status == 200
    assert _root_attrs(html) == (lang, "rtl" if lang == "ar" else "ltr")
    assert response.headers["Content-Language"] == lang
    assert HEADLINE_WORDS[lang] in html
    others = [w for other, w in HEADLINE_WORDS.items() if other != lang and w not in HEADLINE_WORDS[lang]]
    assert not any(w in html for w in others), lang


@pytest.mark.parametrize("header, expected", [
    ("ru-RU,ru;q=0.9,en;q=0.5", "ru"),
    ("de-DE,de;q=0.9,fr;q=0.4", "fr"),
    ("ar-SA", "ar"),
    ("", "az"),
    ("xx", "az"),
])
async def test_accept_language_picks_the_page_language(tocsin, header, expected):
    _, html = await _html(tocsin.client, "/", **{"Accept-Language": header})
    assert _root_attrs(html)[0] == expected


async def test_the_query_beats_accept_language(tocsin):
    _, html = await _html(tocsin.client, "/?lang=en", **{"Accept-Language": "ar"})
    assert _root_attrs(html) == ("en", "ltr")


async def test_drafts_and_alerts_awaiting_approval_are_not_public(tocsin):
    desk = await Desk.open(tocsin)
    draft = await desk.draft()
    pending = await desk.draft(scenario="flood")
    await tocsin.client.post(f"/api/v1/alerts/{pending['id']}/submit", headers=desk.operator)
    _, html = await _html(tocsin.client, "/?lang=en")
    assert "Earthquake" not in html and "no-alerts" in html
    for alert in (draft, pending):
        for path in (f"/alerts/{alert['id']}", f"/cap/{alert['id']}.xml", f"/cap/{alert['id']}-cancel.xml"):
            assert (await tocsin.client.get(path)).status == 404, path
    feed = ET.fromstring(await (await tocsin.client.get("/feed.atom")).read())
    assert feed.findall("a:entry", ATOM) == []


@pytest.mark.parametrize("path, cancel_changes_it", [
    ("/?lang=fr", True), ("/archive?lang=ar", True), ("/feed.atom", True), ("/alerts/{id}", True),
    # What the alert said stays what it said: its cancellation is a message of its own.
    ("/cap/{id}.xml", False),
])
async def test_conditional_get_answers_304_until_something_changes(tocsin, path, cancel_changes_it):
    desk = await Desk.open(tocsin)
    alert = await desk.issue()
    path = path.format(id=alert["id"])

    async def sent() -> bool:
        # Until its round ends the alert row still moves (sending -> sent), and the pages carry
        # its version for live refresh: an ETag taken before then can go stale by itself.
        return (await json_ok(await tocsin.client.get(f"/api/v1/alerts/{alert['id']}",
                                                      headers=desk.operator)))["state"] == "sent"

    await eventually(sent)
    first = await tocsin.client.get(path)
    body = await first.read()
    assert first.status == 200 and first.headers["ETag"]
    again = await tocsin.client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status == 304 and await again.read() == b""
    await desk.cancel(alert["id"])
    changed = await tocsin.client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    if cancel_changes_it:
        assert changed.status == 200 and await changed.read() != body
    else:
        assert changed.status == 304


async def test_the_page_stays_small_with_many_alerts(tocsin):
    desk = await Desk.open(tocsin)
    for region in ("AZ-SMI", "AZ-BA", "AZ-GA", "AZ-SAB", "AZ-LA", "AZ-QAB", "AZ-SKR", "AZ-NX"):
        await desk.issue(regions=[region], params={"magnitude": 5.1, "epicentre": region})
    for lang in HEADLINE_WORDS:
        response = await tocsin.client.get(f"/?lang={lang}")
        body = await response.read()
        assert body.count(b'class="alert') == 8
        assert len(body) < 30 * 1024, (lang, len(body))


async def test_the_page_reads_without_javascript(tocsin):
    """Everything the reader needs is in the HTML; the script only refreshes it."""
    desk = await Desk.open(tocsin)
    await desk.issue()
    _, html = await _html(tocsin.client, "/?lang=en")
    without_script = re.sub(r"<script>.*?</script>", "", html, flags=re.S)
    assert "Earthquake" in without_script and "Shamakhi" in without_script


async def test_one_page_per_alert_with_its_instructions_and_cap(tocsin):
    desk = await Desk.open(tocsin)
    alert = await desk.issue(status="Exercise")
    response, html = await _html(tocsin.client, f"/alerts/{alert['id']}?lang=az")
    assert response.status == 200 and _root_attrs(html) == ("az", "ltr")
    assert "TƏLİM" in html  # the exercise marker, in the alert's own text
    assert f'href="/cap/{alert["id"]}.xml"' in html
    cap = ET.fromstring(await (await tocsin.client.get(f"/cap/{alert['id']}.xml")).read())
    az = [i for i in cap.findall("cap:info", CAP) if i.findtext("cap:language", namespaces=CAP) == "az"][0]
    assert az.findtext("cap:instruction", namespaces=CAP) in html


async def test_cap_over_http_validates_and_a_cancel_follows_the_alert(tocsin):
    desk = await Desk.open(tocsin)
    alert = await desk.issue()
    response = await tocsin.client.get(f"/cap/{alert['id']}.xml")
    assert response.status == 200 and response.content_type == "application/xml"
    cap = ET.fromstring(await response.read())
    cap_schema().validate(cap)
    assert cap.findtext("cap:identifier", namespaces=CAP) == alert["identifier"]
    assert cap.findtext("cap:sender", namespaces=CAP) == "tocsin@127.0.0.1"
    assert cap.findtext("cap:sent", namespaces=CAP).endswith("+04:00")

    await desk.cancel(alert["id"])
    cancel = ET.fromstring(await (await tocsin.client.get(f"/cap/{alert['id']}-cancel.xml")).read())
    cap_schema().validate(cancel)
    assert cancel.findtext("cap:msgType", namespaces=CAP) == "Cancel"
    sender, identifier, sent = cancel.findtext("cap:references", namespaces=CAP).split(",")
    assert (sender, identifier, sent) == (
        "tocsin@127.0.0.1", alert["identifier"], cap.findtext("cap:sent", namespaces=CAP))

    _, page = await _html(tocsin.client, "/?lang=en")
    assert "Earthquake" not in page
    _, archive = await _html(tocsin.client, "/archive?lang=en")
    assert "Earthquake" in archive and f"alert-{alert['id']}" in archive


async def test_the_feed_lists_active_alerts_and_cancels_linking_to_their_cap(tocsin):
    desk = await Desk.open(tocsin)
    quake = await desk.issue()
    flood = await desk.issue(scenario="flood", regions=["AZ-SAB"])
    await desk.cancel(flood["id"])
    response = await tocsin.client.get("/feed.atom?lang=ru")
    assert response.content_type == "application/atom+xml"
    feed = ET.fromstring(await response.read())
    links = [e.find("a:link[@type='application/cap+xml']", ATOM).get("href") for e in feed.findall("a:entry", ATOM)]
    base = tocsin.config.public_url
    assert sorted(links) == sorted([f"{base}/cap/{quake['id']}.xml", f"{base}/cap/{flood['id']}-cancel.xml"])
    titles = [e.findtext("a:title", namespaces=ATOM) for e in feed.findall("a:entry", ATOM)]
    assert any("Землетрясение" in t for t in titles)
    updated = [e.findtext("a:updated", namespaces=ATOM) for e in feed.findall("a:entry", ATOM)]
    assert all(u.endswith("+04:00") for u in updated)
    for link in links:  # every link in the feed resolves to valid CAP
        cap_schema().validate(ET.fromstring(await (await tocsin.client.get(link.removeprefix(base))).read()))


async def _next_event(reader):
    fields = {}
    while True:
        line = (await reader.readline()).decode().rstrip("\n")
        if not line:
            if "data" in fields:
                return fields
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(": ")
        fields[name] = value


async def test_events_announce_a_new_version_when_an_alert_goes_out_and_when_cancelled(tocsin):
    desk = await Desk.open(tocsin)
    response = await tocsin.client.get("/events")
    assert response.headers["Content-Type"] == "text/event-stream"
    first = json.loads((await asyncio.wait_for(_next_event(response.content), 10))["data"])["version"]
    alert = await desk.issue()
    seen = {first}
    # Each change (approved, then sending and sent on the dispatcher's clock) is a new version.
    while True:
        event = await asyncio.wait_for(_next_event(response.content), 10)
        assert event["event"] == "alerts"
        version = json.loads(event["data"])["version"]
        assert version not in seen
        seen.add(version)
        _, html = await _html(tocsin.client, "/")
        if f'data-version="{version}"' in html and f"alert-{alert['id']}" in html:
            break
    await desk.cancel(alert["id"])
    after = json.loads((await asyncio.wait_for(_next_event(response.content), 10))["data"])["version"]
    _, html = await _html(tocsin.client, "/")
    assert f'data-version="{after}"' in html and f"alert-{alert['id']}" not in html
    response.close()


async def test_open_event_streams_end_cleanly_at_shutdown(tocsin):
    async with aiohttp.ClientSession() as session:
        response = await session.get(tocsin.client.make_url("/events"))
        await asyncio.wait_for(_next_event(response.content), 10)
        # The server ends the stream itself: shutdown does not wait for the client to leave.
        await asyncio.wait_for(tocsin.client.server.close(), 5)
        assert await asyncio.wait_for(response.content.read(), 5) == b""


async def test_a_reader_who_leaves_is_forgotten(tocsin, monkeypatch):
    monkeypatch.setattr(live, "HEARTBEAT_SECONDS", 0.05)
    hub = tocsin.app[LIVE]
    async with aiohttp.ClientSession() as session:
        response = await session.get(tocsin.client.make_url("/events"))
        await asyncio.wait_for(_next_event(response.content), 10)
        assert hub.open_streams == 1
        response.close()

    async def forgotten():
        return hub.open_streams == 0

    await eventually(forgotten, timeout=5)


@pytest.mark.parametrize("header, fresh", [
    (None, False),
    ('"{etag}"', True),
    ('W/"{etag}"', True),  # If-None-Match compares weakly (RFC 9110 13.1.2)
    ('"other", W/"{etag}"', True),
    ('"other"', False),
    ("*", True),  # any page that exists, and this one does
    ("{etag}", False),  # not a quoted entity tag: no match, and no error
    ('"other", garbage, "{etag}"', False),  # what follows a malformed entry is not read
    ('"' + "x" * 8000, False),
])
def test_if_none_match_as_the_rfc_reads_it(header, fresh):
    body = b"<html>a page</html>"
    page = Entity.of(body, "text/html")
    etag = page.respond(make_mocked_request("GET", "/")).etag
    assert etag is not None and not etag.is_weak
    headers = {} if header is None else {"If-None-Match": header.replace("{etag}", etag.value)}
    response = page.respond(make_mocked_request("GET", "/", headers=headers))
    assert response.status == (304 if fresh else 200) and response.etag == etag


# ---- real alerts first; what every page says; compression (issue 16) ----

def _positions(html, *needles):
    found = [html.find(n) for n in needles]
    assert all(p >= 0 for p in found), [n for n, p in zip(needles, found, strict=True) if p < 0]
    return found


async def test_real_alerts_come_first_and_exercises_and_tests_look_different(tocsin):
    desk = await Desk.open(tocsin)
    # The real alert is the oldest and the least severe: it still comes first.
    real = await desk.issue(scenario="flood", regions=["AZ-SAB"])
    drill = await desk.issue(status="Exercise", regions=["AZ-BA"])
    test = await desk.issue(status="Test", regions=["AZ-GA"])
    for path in ("/?lang=az", "/?lang=ar"):
        _, html = await _html(tocsin.client, path)
        first, heading, *drills = _positions(html, f'id="alert-{real["id"]}"', 'id="drills"',
                                              f'id="alert-{drill["id"]}"', f'id="alert-{test["id"]}"')
        assert first < heading < min(drills), path
        # The drills sit in their own section, collapsed, each in its own look with its marker.
        assert re.search(r'<details class="drills" id="drills"><summary><h2>[^<]+ \(2\)</h2></summary>', html)
        for alert in (drill, test):
            card = re.search(
                rf'<article class="([^"]+)"[^>]* id="alert-{alert["id"]}">\n<p class="drill">([^<]+)</p>', html)
            assert card and "drill-card" in card.group(1).split(), path
        real_card = re.search(rf'<article class="([^"]+)"[^>]* id="alert-{real["id"]}">', html)
        assert "drill-card" not in real_card.group(1).split() and '<p class="drill">' not in html[first:heading]
    _, az = await _html(tocsin.client, "/?lang=az")
    assert az.count('<p class="drill">TƏLİM</p>') == 1 and az.count('<p class="drill">SINAQ</p>') == 1

    # Ended, in the archive: the same order, although the drills are the newer ones.
    for alert in (real, drill, test):
        await desk.cancel(alert["id"])
    _, archive = await _html(tocsin.client, "/archive?lang=fr")
    first, heading, *drills = _positions(archive, f'id="alert-{real["id"]}"', 'id="drills"',
                                          f'id="alert-{drill["id"]}"', f'id="alert-{test["id"]}"')
    assert first < heading < min(drills)


async def test_only_drills_active_leaves_no_real_alert_shown(tocsin):
    desk = await Desk.open(tocsin)
    drill = await desk.issue(status="Exercise")
    _, html = await _html(tocsin.client, "/?lang=en")
    assert _positions(html, 'id="no-alerts"', 'id="drills"', f'id="alert-{drill["id"]}"') == sorted(
        _positions(html, 'id="no-alerts"', 'id="drills"', f'id="alert-{drill["id"]}"'))


PUBLISHER = ("Alerts are issued by the Ministry of Emergency Situations of the Republic of Azerbaijan; for "
             "citizens abroad, by its Ministry of Foreign Affairs.")


@pytest.mark.parametrize("lang", list(HEADLINE_WORDS))
async def test_every_public_page_links_to_sign_up_names_the_publisher_and_the_emergency_number(tocsin, lang):
    with i18n.language(lang):
        publisher, sign_up, pages, language = (
            i18n.gettext(PUBLISHER), i18n.gettext("Get alerts by SMS"), i18n.gettext("Pages"), i18n.gettext("Language"))
    assert publisher != PUBLISHER or lang == "en"
    async def check(path, status=200):
        response, html = await _html(tocsin.client, path)
        assert response.status == status, path
        assert f'<a href="/subscribe?lang={lang}">{sign_up}</a>' in html, path
        assert publisher in unescape(html), path
        assert re.search(r"<strong>[^<]*(<bdi dir=\"ltr\">)?112(</bdi>)?[^<]*</strong>", html), path
        assert len(re.findall(r"<h1[ >]", html)) == 1, path
        navs = re.findall(r"<nav[^>]*>", html)
        assert [unescape(n) for n in navs] == [f'<nav class="langs" aria-label="{language}">',
                                                f'<nav aria-label="{pages}">'], path
        assert len(html.encode()) < 30 * 1024, path
        assert '<link rel="icon" type="image/svg+xml" href="/favicon.svg">' in html, path
        return html

    # Nothing active, nothing ended: the pages still say whom to call and where to sign up.
    assert 'id="no-alerts"' in await check(f"/?lang={lang}")
    await check(f"/archive?lang={lang}")
    for path, status in (("/alerts/999999", 404), ("/subscribe", 200), ("/subscribe/confirm/no-such-token", 410)):
        await check(f"{path}?lang={lang}", status)
    desk = await Desk.open(tocsin)
    alert = await desk.issue()
    await check(f"/?lang={lang}")
    await check(f"/alerts/{alert['id']}?lang={lang}")
    # Every step of the sign-up: the code page, then the done page.
    phone = "+994505558002"
    signed = await tocsin.client.post(f"/subscribe?lang={lang}", allow_redirects=False, data={
        "phone": phone, "area": "AZ-BA", "language": lang})
    assert signed.status == 303
    confirm = signed.headers["Location"]
    await check(confirm)
    [code] = [re.search(r"\b(\d{6})\b", m["body"]).group(1) for m in tocsin.sim.created() if m["to"] == phone]
    done = await tocsin.client.post(confirm, data={"code": code})
    assert done.status == 200
    done_html = await done.text()
    assert f'<a href="/subscribe?lang={lang}">{sign_up}</a>' in done_html and publisher in unescape(done_html)
    assert "112" in done_html and len(re.findall(r"<h1[ >]", done_html)) == 1
    # The alert's own page has its headline as the page's heading.
    _, page = await _html(tocsin.client, f"/alerts/{alert['id']}?lang={lang}")
    assert HEADLINE_WORDS[lang] in re.search(r"<h1>(.*?)</h1>", page, re.S).group(1)


async def test_the_favicon_is_served_and_cached(tocsin):
    response = await tocsin.client.get("/favicon.svg")
    body = await response.read()
    assert response.status == 200 and response.content_type == "image/svg+xml"
    assert body.startswith(b"<svg") and len(body) < 1024 and "max-age" in response.headers["Cache-Control"]


async def _raw(tocsin, path, **headers):
    """The bytes as sent (the test client otherwise decompresses them)."""
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        async with session.get(tocsin.client.make_url(path), headers=headers) as response:
            return response, await response.read()


async def test_pages_and_feeds_go_gzipped_with_their_own_tag_and_304(tocsin):
    desk = await Desk.open(tocsin)
    alert = await desk.issue()

    async def sent() -> bool:  # until then the row still moves, and the page with it
        return (await json_ok(await tocsin.client.get(f"/api/v1/alerts/{alert['id']}",
                                                      headers=desk.operator)))["state"] == "sent"

    await eventually(sent)
    for path in ("/?lang=ar", "/archive?lang=fr", f"/alerts/{alert['id']}?lang=ru", "/feed.atom?lang=az",
                 f"/cap/{alert['id']}.xml"):
        plain, plain_body = await _raw(tocsin, path, **{"Accept-Encoding": "identity"})
        zipped, zipped_body = await _raw(tocsin, path, **{"Accept-Encoding": "br;q=1, gzip;q=0.8"})
        assert "Content-Encoding" not in plain.headers and zipped.headers["Content-Encoding"] == "gzip", path
        assert gzip.decompress(zipped_body) == plain_body and len(zipped_body) < len(plain_body), path
        for response in (plain, zipped):
            assert "Accept-Encoding" in [v.strip() for v in response.headers["Vary"].split(",")], path
        # Two representations, two tags: a tag is never reused for the other encoding.
        assert plain.headers["ETag"] != zipped.headers["ETag"], path
        again, body = await _raw(tocsin, path, **{"Accept-Encoding": "gzip", "If-None-Match": zipped.headers["ETag"]})
        assert (again.status, body) == (304, b"") and again.headers["ETag"] == zipped.headers["ETag"], path
        other, body = await _raw(tocsin, path, **{"Accept-Encoding": "identity",
                                                  "If-None-Match": zipped.headers["ETag"]})
        assert other.status == 200 and body == plain_body, path
        refused, body = await _raw(tocsin, path, **{"Accept-Encoding": "gzip;q=0"})
        assert "Content-Encoding" not in refused.headers and body == plain_body, path
    missing, body = await _raw(tocsin, "/alerts/999999?lang=ar", **{"Accept-Encoding": "gzip"})
    assert missing.status == 404 and missing.headers["Content-Encoding"] == "gzip" and b"<h1>" in gzip.decompress(body)


@pytest.mark.parametrize("header, gzipped", [
    ("gzip", True), ("gzip, deflate, br", True), ("GZIP;q=0.5", True), ("*", True), ("x-gzip", True),
    ("", False), ("identity", False), ("deflate, br", False), ("gzip;q=0", False), ("*, gzip;q=0", False),
    ("gzip;q=nonsense", False),
])
def test_accept_encoding_as_the_rfc_reads_it(header, gzipped):
    assert accepts_gzip(make_mocked_request("GET", "/", headers={"Accept-Encoding": header})) is gzipped
