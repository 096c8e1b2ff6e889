"""Hostile strings through every write path that stores client text, then every page that
shows what was stored (issue 12, "Done when" 2; SPEC §13: "What is stored always renders").

The corpus (tests/security/corpus/strings.json) has three lists:
- "refused": no format can carry them; every write path refuses them with a 4xx naming the field;
- "line_breaks": refused in one-line fields, taken in multi-line texts (description, instruction, voice);
- "printable": markup, injection, bidi, emoji, long strings; taken wherever a field takes free
  text (and fits its length), and escaped by every output.

Three tests per engine: the write paths' answers; alerts published with the accepted strings and
every output rendered; rows written straight into the database with the refused strings (as
stored before the input rules existed), and every output rendered with U+FFFD in their place."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from xml.sax.saxutils import escape

import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from alerts import i18n, regions
from alerts.cap import NS
from alerts.cap.build import cap_time
from alerts.scenarios import PARTS
from alerts.schema import alerts, subscribers
from alerts.texts import MAX_TEXT_LENGTH, MULTILINE_PARTS
from alerts.validation import printable, text_problem
from channels.sms.segments import count
from tests.conftest import SIM_SID, SIM_TOKEN
from tests.console.test_auth import origin, sign_in
from tests.helpers import PHONES, Desk, eventually, json_ok
from tests.web.capschema import cap_schema

CORPUS = json.loads((Path(__file__).parent / "corpus" / "strings.json").read_text(encoding="utf-8"))
REFUSED: list[str] = CORPUS["refused"]
LINE_BREAKS: list[str] = CORPUS["line_breaks"]
PRINTABLE: list[str] = CORPUS["printable"]
LANGS = i18n.LANGUAGES
SMS_BUDGET = 3
CAP_FIELDS = ("headline", "description", "instruction", "areaDesc", "senderName")
RIVER_MAX = 40  # the flood scenario's "river" text parameter (alerts/scenarios/natural.py)
CITY_MAX = 100
Q = {"cap": NS}
ATOM = "{http://www.w3.org/2005/Atom}"


def folded(text: str) -> str:
    """What a text field keeps of a text: its whitespace (line breaks included) folded to spaces."""
    return " ".join(text.split())


# ---- what a response must look like ----

class Html(HTMLParser):
    """A page's visible text (entities decoded once, as a browser does), its elements and scripts."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.scripts: list[str] = []
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []
        self._in_script = False
        self.feed(source)
        self.close()
        self.text = folded("".join(self.texts))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, attrs))
        self._in_script = tag in ("script", "style")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        (self.scripts if self._in_script else self.texts).append(data)


def inert(page: Html, where: str) -> None:
    """No string became live markup: no element, attribute or script that a text could have made."""
    for tag, attrs in page.elements:
        assert tag not in ("img", "x", "b"), (where, tag, attrs)
        assert not [name for name, _ in attrs if name.startswith("on")], (where, tag, attrs)
        assert not [value for _, value in attrs if value and value.startswith(("javascript:", "data:"))], (where, attrs)
    for script in page.scripts:
        assert "alert(1)" not in script and "DROP TABLE" not in script, (where, script)


async def html_page(client: Any, path: str) -> Html:
    response = await client.get(path)
    body = await response.text()
    assert response.status == 200, (path, response.status, body[:500])
    assert "text/html" in response.headers["Content-Type"], path
    page = Html(body)
    inert(page, path)
    return page


async def xml_doc(client: Any, path: str) -> ET.Element:
    response = await client.get(path)
    body = await response.read()
    assert response.status == 200, (path, response.status, body[:500])
    return ET.fromstring(body)  # well-formed, or this raises


def unisolated(text: str) -> str:
    """Pages lay out the catalogs' bidi isolates (U+2066..U+2069) as <bdi> elements
    (templates/pages/_bidi.html): their text reads the same, without the controls."""
    return re.sub("[\u2066-\u2069]", "", text)


def as_xml_reads(text: str) -> str:
    """What an XML reader gets back for a stored text: U+FFFD where the format cannot carry a
    character, and a CR (carried, but normalised by every XML parser) as LF."""
    return printable(text).replace("\r\n", "\n").replace("\r", "\n")


def shows(page: Html, text: str, where: str) -> None:
    assert unisolated(folded(printable(text))) in unisolated(page.text), (where, text)


# ---- the write paths: each sends one string in one field ----

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def post_form(client: Any, path: str, fields: dict[str, str], headers: dict[str, str]) -> Any:
    """A form as a hostile client may send it: a lone surrogate goes out as the bytes UTF-8
    would give it, which are not UTF-8 (aiohttp's own encoding refuses to send them)."""
    body = urlencode(fields, encoding="utf-8", errors="surrogatepass")
    return await client.post(path, data=body, headers={**headers, **FORM}, allow_redirects=False)


async def signed_form(tocsin: Any, path: str, fields: dict[str, str]) -> Any:
    """A Twilio webhook, signed as Twilio signs (tests.helpers.signed_post); a form Twilio could
    not have signed (its text is not Unicode) carries the signature of its readable look-alike."""
    url = tocsin.config.public_url + path
    readable = {k: v.encode("utf-8", "replace").decode("utf-8") for k, v in fields.items()}
    signature = RequestValidator(SIM_TOKEN).compute_signature(url, readable)
    return await post_form(tocsin.client, path, fields, {"X-Twilio-Signature": signature})

class Paths:
    """One Tocsin, its users and what each write path needs; a counter keeps phones and
    addresses distinct, so no rate limit (per number, per block, per address) is reached."""

    def __init__(self, tocsin: Any, desk: Desk) -> None:
        self.tocsin, self.desk, self.client = tocsin, desk, tocsin.client
        self.n = 0
        self.pending: dict[str, int] = {}  # a pending alert per reject path, for the refusals
        self.csrf = ""  # the signed-in console user's form token

    def next(self) -> int:
        self.n += 1
        return self.n

    async def alert_text(self, texts: dict[str, dict[str, str]]) -> Any:
        return await self.client.post("/api/v1/alerts", headers=self.desk.operator, json={
            "scenario": "earthquake", "params": {"magnitude": 4.5, "epicentre": "AZ-BA"}, "status": "Actual",
            "audience": {"regions": ["AZ-BA"]}, "channels": ["sms", "web"], "texts": texts})

    async def alert_param(self, text: str) -> Any:
        return await self.client.post("/api/v1/alerts", headers=self.desk.operator, json=flood(text))

    async def subscriber_city(self, text: str) -> Any:
        return await self.client.post("/api/v1/subscribers", headers=self.desk.operator, json={
            "phone": f"+99455{self.next():03d}1234", "language": "en", "country": "TR", "city": text})

    async def signup_city(self, text: str) -> Any:
        n = self.next()
        return await post_form(self.client, "/subscribe?lang=en", {
            "phone": f"+99470{n:03d}5678", "language": "en", "area": "TR", "city": text},
            {**origin(self.tocsin), "X-Forwarded-For": f"203.0.113.{n % 250 + 1}"})

    async def sms_body(self, text: str) -> Any:
        return await signed_form(self.tocsin, "/twilio/sms/inbound", {
            "MessageSid": f"SM{self.next():032d}", "AccountSid": SIM_SID, "From": f"+99451{self.n:03d}4321",
            "To": "+15005550006", "Body": text})

    async def sms_join(self, text: str) -> Any:
        return await self.sms_body(f"JOIN {text}")

    def cap(self, *fields: str) -> Callable[[str], Awaitable[Any]]:
        async def send(text: str) -> Any:
            return await self.client.post("/api/v1/cap", data=cap_message(self.next(), **{f: text for f in fields}),
                                          headers={**self.desk.operator, "Content-Type": "application/xml"})
        return send

    async def compose_param(self, text: str) -> Any:
        return await post_form(self.client, "/console/compose/flood?lang=en", headers=origin(self.tocsin),
                               fields={"csrf": self.csrf, "status": "Exercise", "param.region": "AZ-BA",
                                            "param.river": text, "param.higher_ground": "move", "area": "AZ-BA",
                                            # by voice: a form has no SMS text to shorten, and
                                            # a long river takes the Russian SMS over its budget
                                            "channel": "voice", "expires_in_minutes": "120"})

    async def _pending(self, key: str, renew: bool) -> int:
        if renew or key not in self.pending:
            alert = await self.desk.draft(regions=["AZ-BA"], status="Exercise")
            await json_ok(await self.client.post(f"/api/v1/alerts/{alert['id']}/submit", headers=self.desk.operator))
            self.pending[key] = alert["id"]
        return self.pending[key]

    async def api_reason(self, text: str, renew: bool = False) -> Any:
        alert_id = await self._pending("api", renew)
        return await self.client.post(f"/api/v1/alerts/{alert_id}/reject", headers=self.desk.approver,
                                      json={"reason": text})

    async def console_reason(self, text: str, renew: bool = False) -> Any:
        alert_id = await self._pending("console", renew)
        return await post_form(self.client, f"/console/alerts/{alert_id}/reject?lang=en", headers=origin(self.tocsin),
                               fields={"csrf": self.csrf, "reason": text})


def flood(river: str) -> dict[str, Any]:
    """A flood alert naming a river; its SMS short in every language, so that a long river name
    does not take the Cyrillic SMS over its segment budget (the web parts name the river)."""
    return {"scenario": "flood", "params": {"region": "AZ-BA", "river": river, "higher_ground": "move"},
            "status": "Exercise", "audience": {"regions": ["AZ-BA"]}, "channels": ["sms", "web"],
            "texts": {lang: {"sms": f"Flood ({lang})"} for lang in LANGS}}


def cap_message(n: int, headline: str = "Flood upstream", description: str = "The river is rising.",
                instruction: str = "Move to higher ground.", areaDesc: str = "Baku",
                senderName: str = "Upstream") -> bytes:
    """A CAP 1.2 message from outside with a text in one field. Its characters are escaped as XML
    escapes them; what XML cannot carry at all (controls, lone surrogates) is written raw, which
    makes the document unreadable: that too must be a 4xx."""
    from alerts.web.app import utcnow

    def x(text: str) -> str:
        return escape(text)

    def info(lang: str, headline: str, description: str, instruction: str, areaDesc: str, senderName: str) -> str:
        return (
            f"<info><language>{lang}</language><category>Met</category>"
            "<event>Flood</event><urgency>Immediate</urgency><severity>Severe</severity><certainty>Observed</certainty>"
            f"<senderName>{x(senderName)}</senderName><headline>{x(headline)}</headline>"
            f"<description>{x(description)}</description><instruction>{x(instruction)}</instruction>"
            f"<area><areaDesc>{x(areaDesc)}</areaDesc><geocode><valueName>ISO3166-2</valueName><value>AZ-BA</value>"
            "</geocode></area></info>")

    # Every language we send, so that no subscriber's language is missing; the text under test in English.
    others = "".join(info(lang, f"Flood {lang}", "The river is rising.", "Move.", "Baku", "Upstream")
                     for lang in LANGS if lang != "en")
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><alert xmlns="{NS}"><identifier>upstream-{n}</identifier>'
        f"<sender>upstream@example.org</sender><sent>{cap_time(utcnow())}</sent><status>Exercise</status>"
        "<msgType>Alert</msgType><scope>Public</scope>"
        + info("en-US", headline, description, instruction, areaDesc, senderName) + others + "</alert>"
    ).encode("utf-8", "surrogatepass")


def fits_alert_part(part: str) -> Callable[[str], bool]:
    def fits(text: str) -> bool:
        kept = folded(text)
        return 0 < len(text) <= MAX_TEXT_LENGTH[part] and bool(kept) and (
            part != "sms" or count(kept).segments <= SMS_BUDGET)
    return fits


def fits_length(limit: int) -> Callable[[str], bool]:
    return lambda text: 0 < len(folded(text)) <= limit


def always(text: str) -> bool:
    return bool(folded(text))


def anything(text: str) -> bool:
    return True


def one_line(limit: int) -> Callable[[str], bool]:
    """A one-line field: a line break refused, the rest taken up to its length."""
    return lambda text: not re.search("[\n\u2028\u2029]", text) and 0 < len(folded(text)) <= limit


def alert_part(part: str) -> Callable[[str], bool]:
    fits = fits_alert_part(part)
    return fits if part in MULTILINE_PARTS else lambda text: one_line(MAX_TEXT_LENGTH[part])(text) and fits(text)


def console_field(limit: int) -> Callable[[str], bool]:
    """The console strips what is typed: blank is no value; a break inside is refused."""
    return lambda text: not text.strip() or one_line(limit)(text.strip())


# (name, field a refusal names, which of the line-break and printable strings it takes)
# Folding line breaks into spaces is the documented rule of two paths: the web sign-up's
# one-line fields (alerts/web/signup.py _parse: "a line break ... is a space"; a city folded to
# nothing is no city) and CAP's texts (alerts/cap/ingest.py: whitespace folded, an empty
# headline falls back on the event).
PATHS: list[tuple[str, str | None, Callable[[str], bool]]] = [
    *[(f"alert_text.en.{part}", f"texts.en.{part}", alert_part(part)) for part in PARTS],
    ("alert_param", "params.river", one_line(RIVER_MAX)),
    ("subscriber_city", "city", one_line(CITY_MAX)),
    ("signup_city", "city", anything),
    # A webhook whose form cannot be read cannot have been signed by Twilio: 403, naming nothing
    # (alerts/web/webhooks.py signed_form). An SMS may hold any text, several lines too.
    ("sms_body", None, anything),
    ("sms_join", None, anything),
    # What XML cannot carry makes the document unreadable: a 4xx that names no field.
    *[(f"cap.{field}", None, anything) for field in CAP_FIELDS],
    ("compose_param", "river", console_field(RIVER_MAX)),
    ("api_reason", "reason", lambda text: len(text) <= 500),  # free text, up to 500, may be left out
    ("console_reason", "reason", anything),  # the console cuts it at 500
]


def sender(paths: Paths, name: str) -> tuple[Callable[..., Awaitable[Any]], Callable[..., Awaitable[Any]], int]:
    """A path's sender of one text, its sender of a batch of texts that it takes, and the batch's size."""
    if name.startswith("alert_text."):
        _, lang, part = name.split(".")

        async def one(text: str) -> Any:
            return await paths.alert_text({lang: {part: text}})

        async def several(*texts: str) -> Any:  # one a language
            return await paths.alert_text({other: {part: text} for other, text in zip(LANGS, texts, strict=False)})
        return one, several, len(LANGS)
    if name.startswith("cap."):
        field = name.split(".", 1)[1]
        return paths.cap(field), paths.cap(*CAP_FIELDS), 1
    if name.endswith("_reason"):
        reject = getattr(paths, name)

        async def renewed(*texts: str) -> Any:  # a rejection ends the alert: a new one each time
            return await reject(" | ".join(texts), renew=True)
        return reject, renewed, 1
    return getattr(paths, name), getattr(paths, name), 1


async def open_desk(tocsin: Any) -> tuple[Desk, Paths]:
    desk = await Desk.open(tocsin)
    paths = Paths(tocsin, desk)
    return desk, paths


async def console_csrf(tocsin: Any, user: str) -> str:
    assert (await sign_in(tocsin, user)).status == 303
    html = await (await tocsin.client.get("/console/compose/flood?lang=en")).text()
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


async def test_every_write_path_refuses_what_it_cannot_carry_and_takes_the_rest(tocsin):
    _, paths = await open_desk(tocsin)
    paths.csrf = await console_csrf(tocsin, "olga")  # the operator composes
    wrong: list[str] = []
    sent = 0

    async def check(name: str, field: str | None, texts: list[str], expect_ok: bool,
                    send: Callable[..., Awaitable[Any]]) -> None:
        nonlocal sent
        sent += len(texts)
        response = await send(*texts)
        body = await response.text()
        if expect_ok and not 200 <= response.status < 400:
            wrong.append(f"{name} {texts!r}: {response.status} {body[:300]}")
        elif not expect_ok and not (400 <= response.status < 500 and (field is None or field in body)):
            wrong.append(f"{name} {texts!r}: {response.status}, expected a 4xx naming {field}: {body[:300]}")

    async def run(name: str, field: str | None, takes: Callable[[str], bool]) -> None:
        send, batch, size = sender(paths, name)
        for text in REFUSED:
            # In XML a tab or a carriage return is whitespace, folded like a line break
            # (alerts/cap/ingest.py); every other refused character is refused there too.
            xml_space = name.startswith("cap.") and text_problem(re.sub("[\t\r]", " ", text)) is None
            await check(name, field, [text], xml_space, send)
        taken = [t for t in LINE_BREAKS + PRINTABLE if takes(t)]
        for text in LINE_BREAKS + PRINTABLE:
            if text not in taken:
                await check(name, field, [text], False, send)
        # What is taken goes in batches where a request holds several texts: it is written, and slower.
        for start in range(0, len(taken), size):
            await check(name, field, taken[start:start + size], True, batch)

    for path in PATHS:
        if path[0] != "console_reason":
            await run(*path)
    # The console's reject form, signed in as the approver.
    tocsin.client.session.cookie_jar.clear()
    assert (await sign_in(tocsin, "anar")).status == 303
    paths.csrf = re.search(r'name="csrf" value="([^"]+)"', await (await tocsin.client.get("/console")).text()).group(1)
    await run(*next(p for p in PATHS if p[0] == "console_reason"))
    assert not wrong, f"{len(wrong)} of the answers were wrong:\n" + "\n".join(wrong)
    assert sent >= len(PATHS) * (len(REFUSED) + len(LINE_BREAKS) + len(PRINTABLE))


# ---- publishing, then every output ----

def slots(strings: list[str], multiline_only: bool = False) -> list[dict[str, dict[str, str]]]:
    """Custom texts for alerts, five strings an alert (one a language), each string in every part
    it fits; the other parts say which string the language carries."""
    batches = []
    for start in range(0, len(strings), len(LANGS)):
        texts: dict[str, dict[str, str]] = {}
        for lang, text in zip(LANGS, strings[start:start + len(LANGS)], strict=False):
            parts = {part: f"String {start} {lang} {part}" for part in PARTS}
            for part in PARTS:
                if (part in MULTILINE_PARTS or not multiline_only) and fits_alert_part(part)(text):
                    parts[part] = text
            texts[lang] = parts
        batches.append(texts)
    return batches


async def subscribe_everyone(tocsin: Any, desk: Desk) -> None:
    for lang, phone in PHONES.items():
        await json_ok(await tocsin.client.post("/api/v1/subscribers", headers=desk.operator,
                                               json={"phone": phone, "language": lang, "region": "AZ-BA"}), 201)


async def publish(tocsin: Any, desk: Desk, bodies: list[dict[str, Any]]) -> list[int]:
    """Each alert drafted, submitted and approved; back once every subscriber has its SMS."""
    ids = []
    for body in bodies:
        alert = await desk.draft(regions=["AZ-BA"], **body)
        client = tocsin.client
        await json_ok(await client.post(f"/api/v1/alerts/{alert['id']}/submit", headers=desk.operator))
        await json_ok(await client.post(f"/api/v1/alerts/{alert['id']}/approve", headers=desk.approver))
        ids.append(alert["id"])
    for alert_id in ids:
        await desk.published(alert_id)

    async def all_sent() -> bool:
        sent = [m for m in tocsin.sim.created() if m["to"] in PHONES.values()]
        return len(sent) >= len(ids) * len(PHONES)

    await eventually(all_sent, timeout=30)
    return ids


async def stored_texts(tocsin: Any, desk: Desk, alert_id: int) -> dict[str, dict[str, str]]:
    preview = await json_ok(await tocsin.client.get(f"/api/v1/alerts/{alert_id}/preview", headers=desk.operator))
    return {lang: {part: render["text"] for part, render in parts.items() if part in PARTS}
            for lang, parts in preview["renders"].items()}


async def read_event(client: Any, path: str, wanted: str) -> str:
    """The data of the first `wanted` event of a Server-Sent Events stream."""
    response = await client.get(path)
    assert response.status == 200, (path, response.status)
    assert response.headers["Content-Type"].startswith("text/event-stream")
    try:
        async def first() -> str:
            name, data = "", []
            while True:
                line = (await response.content.readline()).decode("utf-8")
                assert line, f"{path} ended before a {wanted} event"
                line = line.rstrip("\n")
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    data.append(line[6:])
                elif not line:
                    if name == wanted:
                        return "\n".join(data)
                    name, data = "", []
        return await asyncio.wait_for(first(), 10)
    finally:
        response.close()


async def render_everything(tocsin: Any, desk: Desk, expected: dict[int, dict[str, dict[str, str]]],
                            cancelled: int | None) -> None:
    """Every output that shows an alert, each answering 200 and parsing, each stored text shown
    (escaped, or with U+FFFD for what no format carries) where that output shows it."""
    client = tocsin.client
    live = [a for a in expected if a != cancelled]
    for lang in (None, *LANGS):
        query = f"?lang={lang}" if lang else ""
        # An alert is listed on / while it goes out, then in the archive (sent, cancelled).
        listed = Html("")
        listed.text = ((await html_page(client, f"/{query}")).text + " "
                       + (await html_page(client, f"/archive{query}")).text)
        for alert_id in expected:
            shows(listed, expected[alert_id][lang or "az"]["headline"], f"/{query} or /archive{query}: {alert_id}")
        feed = await xml_doc(client, f"/feed.atom{query}")
        titles = [folded(e.findtext(f"{ATOM}title") or "") for e in feed.iter(f"{ATOM}entry")]
        for alert_id in live:
            assert folded(printable(expected[alert_id][lang or "az"]["headline"])) in titles, (alert_id, lang, titles)
    for alert_id, texts in expected.items():
        for lang in LANGS:
            page = await html_page(client, f"/alerts/{alert_id}?lang={lang}")
            for part in ("headline", "description", "instruction"):
                shows(page, texts[lang][part], f"/alerts/{alert_id}?lang={lang} {part}")
        cap = await xml_doc(client, f"/cap/{alert_id}.xml")
        cap_schema().validate(cap)
        for info in cap.findall("cap:info", Q):
            lang = info.findtext("cap:language", namespaces=Q)
            for part in ("headline", "description", "instruction"):
                assert (info.findtext(f"cap:{part}", namespaces=Q)
                        == as_xml_reads(texts[lang][part])), (alert_id, lang, part)
        await json_ok(await client.get(f"/api/v1/alerts/{alert_id}", headers=desk.operator))
        await json_ok(await client.get(f"/api/v1/alerts/{alert_id}/preview", headers=desk.operator))
        await json_ok(await client.get(f"/api/v1/alerts/{alert_id}/deliveries", headers=desk.operator))
        deliveries_csv = await client.get(f"/api/v1/alerts/{alert_id}/deliveries?format=csv", headers=desk.operator)
        assert deliveries_csv.status == 200
        assert len(list(csv.reader(io.StringIO(await deliveries_csv.text())))) == 1 + len(PHONES)
        await json_ok(await client.get(f"/api/v1/alerts/{alert_id}/pushes", headers=desk.operator))
    if cancelled is not None:
        cancel = await xml_doc(client, f"/cap/{cancelled}-cancel.xml")
        cap_schema().validate(cancel)
        for info in cancel.findall("cap:info", Q):
            lang = info.findtext("cap:language", namespaces=Q)
            assert info.findtext("cap:description", namespaces=Q) == as_xml_reads(expected[cancelled][lang]["headline"])
    assert json.loads(await read_event(client, "/events", "alerts"))["version"]

    # The console, as the approver sees it.
    tocsin.client.session.cookie_jar.clear()
    assert (await sign_in(tocsin, "anar")).status == 303
    await html_page(client, "/console?lang=en")
    for alert_id, texts in expected.items():
        page = await html_page(client, f"/console/alerts/{alert_id}?lang=en")
        for lang in LANGS:
            shows(page, texts[lang]["sms"], f"/console/alerts/{alert_id} sms {lang}")
        await html_page(client, f"/console/alerts/{alert_id}/report?lang=en")
        report = await client.get(f"/console/alerts/{alert_id}/report?format=csv")
        assert report.status == 200 and list(csv.reader(io.StringIO(await report.text())))[0] == ["measure", "value"]
        progress = await read_event(client, f"/console/alerts/{alert_id}/progress?lang=en", "progress")
        inert(Html(progress), f"progress {alert_id}")


def sms_bodies(tocsin: Any) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for message in tocsin.sim.created():
        found.setdefault(message["to"], []).append(message["body"])
    return found


async def test_alerts_holding_every_accepted_string_render_everywhere(tocsin):
    desk = await Desk.open(tocsin)
    await subscribe_everyone(tocsin, desk)
    bodies: list[dict[str, Any]] = [{"scenario": "earthquake", "params": {"magnitude": 4.5, "epicentre": "AZ-BA"},
                                     "texts": texts} for texts in slots(PRINTABLE)]
    bodies += [{"scenario": "earthquake", "params": {"magnitude": 4.5, "epicentre": "AZ-BA"}, "texts": texts}
               for texts in slots(LINE_BREAKS, multiline_only=True)]
    # A text parameter reaches every language's templated parts; only the strings that fit it.
    for text in [t for t in PRINTABLE if fits_length(RIVER_MAX)(t)][:6]:
        bodies.append({key: flood(text)[key] for key in ("scenario", "params", "texts")})
    ids = await publish(tocsin, desk, bodies)
    expected = {alert_id: await stored_texts(tocsin, desk, alert_id) for alert_id in ids}
    # What was taken was stored as sent (whitespace folded): nothing lost on the way in.
    for alert_id, body in zip(ids, bodies, strict=True):
        for lang, parts in body.get("texts", {}).items():
            for part, text in parts.items():
                if lang != "fr":  # French typography adds no-break spaces to the web parts
                    assert expected[alert_id][lang][part] == folded(text), (alert_id, lang, part)
        if "river" in body["params"]:
            assert body["params"]["river"] in expected[alert_id]["en"]["description"]

    # Every subscriber got, for every alert, exactly the SMS stored for their language.
    bodies_by_phone = sms_bodies(tocsin)
    for lang, phone in PHONES.items():
        assert sorted(bodies_by_phone[phone]) == sorted(expected[a][lang]["sms"] for a in ids), lang

    await desk.cancel(ids[0])
    await render_everything(tocsin, desk, expected, cancelled=ids[0])


# ---- rows stored before the input rules ----

def storable(text: str, engine: str, column: str) -> bool:
    """What a database would have kept before the rules. A text column is sent as UTF-8, which
    cannot hold a lone surrogate (nor any driver send one); a JSON column is written with its
    non-ASCII escaped, so it can. PostgreSQL refuses NUL in text (and in JSON it would be
    \\u0000, which its json type takes but nothing reads back as text): there, the other
    refused strings stand for it."""
    if engine == "postgresql" and "\x00" in text:
        return False
    if column == "text" and re.search("[\ud800-\udfff]", text):
        return False
    return True


async def test_rows_stored_before_the_input_rules_still_render(tocsin, db_url):
    engine = "postgresql" if db_url.startswith("postgresql") else "sqlite"
    desk, paths = await open_desk(tocsin)
    await subscribe_everyone(tocsin, desk)
    bad = [t for t in REFUSED if storable(t, engine, "json")]
    bad_text = [t for t in REFUSED if storable(t, engine, "text")]
    assert len(bad) >= 18 and len(bad_text) >= 10

    # Clean alerts, published (their SMS gone), and a CAP-ingested one; then their stored texts
    # and the ingested fields are overwritten with what the rules now refuse.
    ids = await publish(tocsin, desk, [{"scenario": "earthquake", "params": {"magnitude": 4.5, "epicentre": "AZ-BA"}}
                                       for _ in range(len(bad) // len(LANGS) + 1)])
    ingested = await json_ok(await paths.cap("headline")("Flood upstream"), 201)
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{ingested['id']}/submit", headers=desk.operator))
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{ingested['id']}/approve", headers=desk.approver))
    await desk.published(ingested["id"])
    ids.append(ingested["id"])

    poisoned: dict[int, dict[str, dict[str, str]]] = {}
    async with tocsin.store.write() as conn:
        for k, alert_id in enumerate(ids):
            row = (await conn.execute(sa.select(alerts.c.texts).where(alerts.c.id == alert_id))).one()
            texts = json.loads(json.dumps(row.texts))
            for by_lang in texts["by_zone"].values():
                for i, lang in enumerate(LANGS):
                    text = bad[(k * len(LANGS) + i) % len(bad)]
                    for part in PARTS:
                        by_lang.setdefault(lang, {})[part] = f"{part} {text} {part}"
            poisoned[alert_id] = texts["by_zone"][regions.HOME_ZONE]
            values: dict[str, Any] = {"texts": texts}
            if alert_id == ingested["id"]:  # the fields CAP ingest kept of the outside message
                values["event"] = f"Flood {bad_text[0]}"
            await conn.execute(alerts.update().where(alerts.c.id == alert_id).values(**values))
        for i, text in enumerate(bad_text):
            await conn.execute(subscribers.update().where(subscribers.c.phone == PHONES[LANGS[i % len(LANGS)]])
                               .values(city=f"city {text}"))

    # Every page renders with U+FFFD where the bad characters were.
    await desk.cancel(ids[0])
    await render_everything(tocsin, desk, poisoned, cancelled=ids[0])
    page = await html_page(tocsin.client, f"/alerts/{ids[1]}?lang=en")
    assert "\ufffd" in page.text
    cap = await xml_doc(tocsin.client, f"/cap/{ingested['id']}.xml")
    assert {e.text for e in cap.iter(f"{{{NS}}}event")} == {f"Flood {as_xml_reads(bad_text[0])}"}
    for phone in PHONES.values():
        found = await json_ok(await tocsin.client.get(f"/api/v1/subscribers?phone={phone}", headers=desk.operator))
        assert found["subscribers"]
    # A correction drafted from a poisoned alert, and its preview, too.
    correction = await tocsin.client.post(f"/api/v1/alerts/{ids[1]}/correction", headers=desk.operator)
    assert correction.status < 500, await correction.text()
