"""Issue 16, done-when 3: no English word (other than names and codes) in the az, ru, fr or ar
console. The console is walked as its users walk it (signed in as an operator, an approver and
an administrator), each page in every language; what a person sees of a page (its text, and the
attributes a browser shows: title, aria-label, placeholder, alt, a button's value) is read with
an HTML parser, and checked:

- in ru and ar, any run of Latin letters is suspect;
- in az and fr, which share letters with English, a word is suspect when the English rendering
  of the same page has it too.

Left out, as the page itself declares them: texts marked as another language (`lang="en"`: the
dry run's English SMS on an Azerbaijani page is English on purpose) and data marked
`translate="no"` (the audit entry's raw record, an API token). `walk` and `PAGES` are reusable:
a helper's new console page is one more `Page`."""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from alerts import regions
from alerts.scenarios import SCENARIOS
from channels.sms.segments import to_gsm7
from tests.browser import db_url  # noqa: F401  (SQLite only: the words of a page do not depend on the engine)
from tests.console.test_auth import PASSWORD, origin, sign_in
from tests.helpers import PHONES, Desk, eventually, json_ok

LANGS = ("az", "ru", "fr", "ar")
# Names and codes that are the same in every language (folded to lower case), and why.
ALLOWED = {
    "tocsin",  # the product's name
    "sms", "cap", "utc", "csv", "api",  # SMS, the CAP standard, UTC, the CSV format, the API's name
    "gsm", "ucs",  # the SMS alphabets' codes, GSM-7 and UCS-2
    "cell", "broadcast",  # "Cell Broadcast", the technology's name, given once beside our own term in az and ru
    "olga", "anar", "root", "kamran", "cli",  # the user names this test signs in with, and the command line's
    "leyla", "rashad",  # the consuls of tests.console.test_consul
    "ankara", "antalya", "batumi", "kutaisi",  # cities its subscribers gave (tests.console.test_consul.PEOPLE)
    "test",  # the label of the fixture's API tokens, typed by a person
    "richter",  # the magnitude scale's name
}
# Words spelled as the English ones that are words of the language, checked one by one.
SAME_SPELLING = {
    "az": {"operator", "audit", "status", "real", "token", "region", "problem",
           "in", "i"},  # suffixes after a code: "SMS-in dili" (the SMS's language), "SMS-i" (the SMS)
    "fr": {"description", "instruction", "segment", "segments", "message", "messages", "administration", "test",
           "action", "actions", "date", "session", "sessions", "page", "pages", "public", "console", "audit",
           "magnitude",
           "danger", "explosion", "villages", "situations", "initial", "accident", "contact", "minutes", "a", "au",
           "ne", "se", "si", "mobile", "district", "six", "web", "international", "en", "total",
           "s", "cm"},  # the symbols of the second and the centimetre
}
# The scenarios whose example parameters this test types: their names of places and streets,
# typed by people in Azerbaijani, stay as typed in every language.
TYPED = ("flood", "wildfire", "heavy_snow", "gas_leak", "extreme_heat", "security_advisory")
COUNTRY_CODES = frozenset(regions.countries())
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
_SHOWN = ("title", "aria-label", "placeholder", "alt")
_WORD_RE = re.compile(r"[^\W\d_]+")
_LATIN_RE = re.compile(r"[A-Za-z]")


class VisibleText(HTMLParser):
    """The text a reader of a `lang` page sees, without the parts declared as another
    language or as data not to translate, and without scripts and styles."""

    def __init__(self, lang: str) -> None:
        super().__init__(convert_charrefs=True)
        self.lang = lang
        self.stack: list[tuple[str, bool]] = []
        self.parts: list[str] = []

    def _hidden(self) -> bool:
        return any(hidden for _, hidden in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        hidden = (tag in ("script", "style", "template") or "hidden" in found or found.get("translate") == "no"
                  or (found.get("lang") not in (None, self.lang)) or found.get("type") == "hidden")
        if not hidden and not self._hidden():
            self.parts += [str(found[name]) for name in _SHOWN if found.get(name)]
            if tag == "input" and found.get("type") in ("submit", "button", "reset") and found.get("value"):
                self.parts.append(str(found["value"]))
        if tag not in _VOID:
            self.stack.append((tag, hidden))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        if not self._hidden() and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str, lang: str) -> str:
    parser = VisibleText(lang)
    parser.feed(html)
    parser.close()
    return " ".join(parser.parts)


@functools.cache
def names(lang: str) -> frozenset[str]:
    """The words of names: of our regions and of the world's countries as `lang` writes them
    (many are spelled as in English: "Gabala", "Portugal"), and of the places typed into the
    forms; with ALLOWED."""
    shown = [regions.region_name(code, lang) for code in regions.HOTLINE_NUMBERS.values()]
    shown += [regions.country_name(code, lang) for code in regions.countries()]
    typed = [str(v) for s in TYPED for v in SCENARIOS[s].example_params().values() if isinstance(v, str)]
    shown += typed + [to_gsm7(name) for name in typed]  # as a GSM-7 SMS spells them ("Vendam")
    return frozenset(w.lower() for name in shown for w in _WORD_RE.findall(name)) | ALLOWED


def _allowed(word: str, lang: str) -> bool:
    return word.lower() in names(lang) or word in COUNTRY_CODES


def english_words(text: str, lang: str, english: str) -> list[str]:
    """The words of `text` (a page in `lang`) that are English: see the module's docstring."""
    words = _WORD_RE.findall(text)
    if lang in ("ru", "ar"):
        return sorted({w for w in words if _LATIN_RE.search(w) and not _allowed(w, lang)})
    seen = {w.lower() for w in _WORD_RE.findall(english)}
    same = SAME_SPELLING.get(lang, set())
    return sorted({w for w in words if w.lower() in seen and not _allowed(w, lang) and w.lower() not in same})


# ---- the walk ----

Fetch = Callable[[Any, str, dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True)
class Page:
    """One console page as `who` sees it; `fetch(tocsin, lang, made)` answers with it."""

    name: str
    who: str  # a user name, or "" for a visitor not signed in
    fetch: Fetch
    status: int = 200


def get(path: str, status: int = 200) -> Fetch:
    async def fetch(tocsin: Any, lang: str, made: dict[str, Any]) -> Any:
        return await tocsin.client.get(path.format(**made) + f"{'&' if '?' in path else '?'}lang={lang}")
    return fetch


def post(path: str, form: dict[str, str] | None = None, csrf_from: str = "/console") -> Fetch:
    """A console form sent as a browser sends it: with the session's csrf field and our Origin."""
    async def fetch(tocsin: Any, lang: str, made: dict[str, Any]) -> Any:
        html = await (await tocsin.client.get(csrf_from)).text()
        csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
        return await tocsin.client.post(path.format(**made) + f"?lang={lang}", data={"csrf": csrf, **(form or {})},
                                        headers=origin(tocsin), allow_redirects=False)
    return fetch


async def wrong_password(tocsin: Any, lang: str, made: dict[str, Any]) -> Any:
    tocsin.client.session.cookie_jar.clear()
    html = await (await tocsin.client.get(f"/console/login?lang={lang}")).text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    return await tocsin.client.post(f"/console/login?lang={lang}", headers=origin(tocsin), data={
        "username": "olga", "password": "not the password", "csrf_token": token})


PAGES = [
    Page("sign-in", "", get("/console/login")),
    Page("wrong password", "", wrong_password, 401),
    Page("alert list", "olga", get("/console")),
    Page("draft (dry run)", "olga", get("/console/alerts/{draft}")),
    Page("sent", "olga", get("/console/alerts/{sent}")),
    Page("rejected, with its reason", "olga", get("/console/alerts/{rejected}")),
    Page("cancelled", "olga", get("/console/alerts/{cancelled}")),
    Page("correction", "olga", get("/console/alerts/{correction}")),
    Page("update", "olga", get("/console/alerts/{update}")),
    Page("after-action report", "olga", get("/console/alerts/{sent}/report")),
    Page("403: approving as an operator", "olga",
         post("/console/alerts/{pending}/approve", {"confirm_area": "Baku"}), 403),
    Page("403: administration as an operator", "olga", get("/console/admin/users"), 403),
    Page("pending, as approver", "anar", get("/console/alerts/{pending}")),
    Page("alert list, as approver", "anar", get("/console")),
    Page("409: approving again", "anar", post("/console/alerts/{sent}/approve", {"confirm_area": "Baku"}), 409),
    Page("alert abroad, as consul", "kamran", get("/console/alerts/{abroad}")),
    Page("users", "root", get("/console/admin/users")),
    Page("one user", "root", get("/console/admin/users/{olga}")),
    Page("tokens", "root", get("/console/admin/tokens")),
    Page("audit log", "root", get("/console/admin/audit")),
]
# The compose form, blank and refused (labels, help and each field's error from the catalogs),
# a consul's form to several countries (one fieldset per country), and the consul's tickets.
COMPOSE_PAGES = [
    Page("scenario list", "olga", get("/console/compose")),
    Page("compose form", "olga", get("/console/compose/earthquake")),
    Page("compose form, refused", "olga", post("/console/compose/earthquake", {
        "status": "Actual", "param.magnitude": "five", "param.epicentre": "AZ-SMI", "channel": "sms",
        "expires_in_minutes": "0"}), 422),
    Page("check-in form, two countries", "kamran", post("/console/compose/safety_checkin", {
        "status": "Exercise", "param.country": "TR", "param.embassy_phone": "+902124400101", "area": ["TR", "GE"],
        "channel": "sms", "expires_in_minutes": "120"}), 422),
    Page("tickets, as consul", "kamran", get("/console/tickets")),
]


async def walk(tocsin: Any, pages: list[Page], langs: tuple[str, ...],
               made: dict[str, Any]) -> dict[tuple[str, str], str]:
    """Every page in every language (and in English, to compare with): its visible text, by
    (page name, language). Signs in as each page's user in turn."""
    seen: dict[tuple[str, str], str] = {}
    signed_in = None
    for page in pages:
        for lang in ("en", *langs):
            if page.who != signed_in:
                tocsin.client.session.cookie_jar.clear()
                if page.who:
                    assert (await sign_in(tocsin, page.who, PASSWORD)).status == 303
                signed_in = page.who
            response = await page.fetch(tocsin, lang, made)
            html = await response.text()
            assert response.status == page.status, (page.name, lang, response.status, html[:2000])
            seen[(page.name, lang)] = visible_text(html, lang)
            if page.fetch is wrong_password:
                signed_in = None
    return seen


def english_on(seen: dict[tuple[str, str], str], langs: tuple[str, ...]) -> dict[str, list[str]]:
    found = {}
    for (name, lang), text in seen.items():
        if lang in langs and (words := english_words(text, lang, seen[(name, "en")])):
            found[f"{name} [{lang}]"] = words
    return found


async def console_with_alerts(tocsin: Any) -> dict[str, Any]:
    """Alerts in the states the console shows, five subscribers in Baku (one per language),
    and the three users who read them; the ids by name."""
    desk = Desk(tocsin, await tocsin.user("olga", "operator"), await tocsin.user("anar", "approver"))
    await tocsin.user("root", "admin")
    for lang, phone in PHONES.items():
        await json_ok(await tocsin.client.post("/api/v1/subscribers", headers=desk.operator,
                                               json={"phone": phone, "language": lang, "region": "AZ-BA"}), 201)
    made: dict[str, Any] = {}
    sent = await desk.issue("earthquake", {"magnitude": 6.1, "epicentre": "AZ-BA"}, regions=["AZ-BA"])
    made["sent"] = sent["id"]

    async def finished() -> bool:
        got = await json_ok(await tocsin.client.get(f"/api/v1/alerts/{sent['id']}", headers=desk.operator))
        return got["state"] == "sent"

    await eventually(finished)
    made["draft"] = (await desk.draft("flood", regions=["AZ-BA"], status="Exercise"))["id"]
    pending = await desk.draft("wildfire", regions=["AZ-BA"])
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{pending['id']}/submit", headers=desk.operator))
    made["pending"] = pending["id"]
    rejected = await desk.draft("heavy_snow", regions=["AZ-BA"], status="Exercise")
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{rejected['id']}/submit", headers=desk.operator))
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{rejected['id']}/reject", headers=desk.approver,
                                           json={"reason": "7 > 5"}))
    made["rejected"] = rejected["id"]
    cancelled = await desk.issue("gas_leak", regions=["AZ-BA"], status="Exercise")
    await desk.cancel(cancelled["id"])
    made["cancelled"] = cancelled["id"]
    made["correction"] = (await json_ok(await tocsin.client.post(
        f"/api/v1/alerts/{sent['id']}/correction", headers=desk.operator), 201))["id"]
    in_force = await desk.issue("extreme_heat", regions=["AZ-BA"], status="Exercise")
    made["update"] = (await json_ok(await tocsin.client.post(
        f"/api/v1/alerts/{in_force['id']}/update", headers=desk.operator, json={"scenario": "all_clear"}), 201))["id"]
    consul = await tocsin.user("kamran", "consular", ["TR", "GE"])
    made["abroad"] = (await json_ok(await tocsin.client.post("/api/v1/alerts", headers=consul, json={
        "scenario": "security_advisory", "params": SCENARIOS["security_advisory"].example_params(),
        "status": "Exercise", "audience": {"countries": ["TR"]}, "channels": ["sms", "web"]}), 201))["id"]
    made["olga"] = await _user_id(tocsin, "olga")
    return made


async def _user_id(tocsin: Any, name: str) -> int:
    import sqlalchemy as sa

    from alerts.schema import users

    async with tocsin.store.read() as conn:
        return int(await conn.scalar(sa.select(users.c.id).where(users.c.username == name)))


def test_the_check_finds_english_and_keeps_names():
    assert english_words("Vəziyyət: pending_approval · Tocsin · olga", "az",
                         "State: pending_approval · Tocsin · olga") == ["approval", "pending"]
    assert english_words("Состояние: sent, SMS 3 (UCS-2), TR", "ru", "") == ["sent"]
    assert visible_text('<p>Mətn <pre lang="en">Earthquake</pre><code translate="no">{"a": 1}</code>'
                        '<input type="submit" value="Send"><span title="Hint">x</span></p>', "az") == \
        "Mətn Send Hint x"


async def test_no_english_word_in_the_console_in_other_languages(tocsin):
    made = await console_with_alerts(tocsin)
    seen = await walk(tocsin, PAGES, LANGS, made)
    found = english_on(seen, LANGS)
    assert not found, "\n" + "\n".join(f"{page}: {words}" for page, words in found.items())
    # The walk read real pages: the states, the times and the refusals are there, in words.
    assert "Bakı vaxtı" in seen[("sent", "az")] and "heure de Bakou" in seen[("sent", "fr")]
    abroad = seen[("alert abroad, as consul", "ru")]  # Baku time, and the country's own
    assert "по бакинскому времени" in abroad and "местное время, Турция" in abroad
    rejected = seen[("rejected, with its reason", "ru")]
    assert "Отклонено" in rejected and "7 > 5" in rejected
    assert f"L'alerte {made['sent']} n'attend plus d'approbation" in seen[("409: approving again", "fr")]
    refused = seen[("403: approving as an operator", "az")]
    assert f"{made['pending']} nömrəli xəbərdarlığı təsdiq edə bilməzsiniz" in refused


async def test_no_english_word_in_the_compose_form(tocsin):
    made = await console_with_alerts(tocsin)
    seen = await walk(tocsin, COMPOSE_PAGES, LANGS, made)
    found = english_on(seen, LANGS)
    assert not found, "\n" + "\n".join(f"{page}: {words}" for page, words in found.items())


def test_times_are_in_baku_time_in_the_readers_language_and_say_so():
    from datetime import UTC, datetime

    from alerts import i18n
    from alerts.console import words
    from tests.test_bidi import misread

    moment = datetime(2026, 12, 1, 10, 30, tzinfo=UTC)  # 14:30 in Baku (UTC+4)
    shown = {}
    for lang in i18n.LANGUAGES:
        with i18n.language(lang):
            shown[lang] = words.when(moment)
    assert shown["en"] == "1 Dec 2026, 14:30 (Baku time)"
    assert shown["az"].endswith("14:30 (Bakı vaxtı)") and "dek" in shown["az"]
    assert shown["fr"] == "1 déc. 2026, 14:30 (heure de Bakou)"
    assert "14:30" in shown["ru"] and "по бакинскому времени" in shown["ru"]
    assert shown["ar"] == "1 ديسمبر 2026، 14:30 (بتوقيت باكو)" and misread(shown["ar"]) == []
    with i18n.language("fr"):  # an alert abroad also says the country's own time
        assert words.when(moment, "TR") == "1 déc. 2026, 13:30 (heure locale, Turquie)"


def test_the_sms_alphabet_keeps_its_code_and_arabic_keeps_it_in_order():
    from alerts import i18n
    from alerts.console import words
    from tests.test_bidi import misread

    with i18n.language("ar"):
        cell = words.encoding(3, "UCS-2")
        assert misread(cell) == [] and "\u2066UCS-2\u2069" in cell
    with i18n.language("ru"):
        assert words.encoding(3, "UCS-2") == "3 сегмента, UCS-2"
        assert words.state("pending_approval") == "Ждёт утверждения"
    with i18n.language("az"):
        assert words.state("cancelled", "superseded") == "Yenilənmə ilə əvəz olunub"
        assert words.state("unknown_state") == "unknown_state"  # shown as it is, never dropped


async def test_a_refusal_reads_in_the_console_language_and_the_api_keeps_its_english(tocsin):
    desk = await Desk.open(tocsin)
    draft = await desk.draft("flood", regions=["AZ-BA"], status="Exercise")  # in force for 120 minutes
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/submit", headers=desk.operator))
    tocsin.clock.advance(hours=3)
    await sign_in(tocsin, "anar")
    refused = await post(f"/console/alerts/{draft['id']}/approve")(tocsin, "ru", {})
    text = visible_text(await refused.text(), "ru")
    assert refused.status == 409
    assert re.search(rf"Срок оповещения {draft['id']} истёк в \d{{4}}-\d\d-\d\d \d\d:\d\d по бакинскому времени", text)
    api = await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/approve", headers=desk.approver)
    assert api.status == 409
    assert re.fullmatch(rf"Alert {draft['id']} expired at \d{{4}}-\d\d-\d\d \d\d:\d\d \(Baku time\); draft it again\.",
                        (await api.json())["error"]["message"])


# The consul's pages once a check-in to two countries was answered: the responses panel (the
# tally by country, whom to call) and the tickets the answers opened.
CONSUL_PAGES = [
    Page("check-in with its responses, as consul", "leyla", get("/console/alerts/{checkin}")),
    Page("open tickets, as consul", "leyla", get("/console/tickets")),
]


async def test_no_english_word_in_the_consuls_pages(tocsin):
    from tests.console.test_consul import _checkin

    checkin, _ = await _checkin(tocsin)
    seen = await walk(tocsin, CONSUL_PAGES, LANGS, {"checkin": checkin})
    assert "Грузия" in seen[("check-in with its responses, as consul", "ru")]  # the tally by country is there
    found = english_on(seen, LANGS)
    assert not found, "\n" + "\n".join(f"{page}: {words}" for page, words in found.items())


def test_every_audited_action_has_words():
    """Each action the code writes to the audit log (an `action=` literal, or the registry
    import's names) is in the console's vocabulary: none shows as a code in the audit table."""
    from pathlib import Path

    from alerts.console import words
    from alerts.consular import importer

    source = Path(words.__file__).resolve().parents[1]
    written = {found for path in source.rglob("*.py")
               for found in re.findall(r'\baction="([a-z_]+\.[a-z_.]+)"', path.read_text(encoding="utf-8"))}
    written |= {importer.STARTED, importer.BATCH_WRITTEN, importer.RESUMED, importer.INTERRUPTED, importer.FINISHED}
    assert "alert.approve" in written and "user.duty" in written  # the scan finds them
    assert written - set(words.AUDIT_ACTIONS) == set()


# Issue 17: cell broadcast's words, with a CBC configured: the compose form's channel, the dry
# run with the approver's network-wide box, and an alert a CBC has not accepted (its panel on
# the alert's page, and the alarm on every page).
CELL_BROADCAST_PAGES = [
    Page("compose form, with cell broadcast", "olga", get("/console/compose/earthquake")),
    Page("a CBC not accepting, with the alarm", "olga", get("/console/alerts/{failing}")),
    Page("cell broadcast to a region, as approver", "anar", get("/console/alerts/{regional}")),
]


async def test_no_english_word_in_the_cell_broadcast_panels(start_tocsin):
    from tests.conftest import free_port
    from tests.console.test_cell_broadcast_console import FAILING_ROWS, _draft, _live_alert

    tocsin = await start_tocsin(TOCSIN_CBC_URLS=f"http://127.0.0.1:{free_port()}/api/ecbe/v1",
                                TOCSIN_CBC_NAMES="Azercell")
    desk = await Desk.open(tocsin)
    regional = await _draft(desk, ["AZ-BA"], ["sms", "cell_broadcast"])
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{regional}/submit", headers=desk.operator))
    made = {"failing": await _live_alert(tocsin, desk, FAILING_ROWS), "regional": regional}
    seen = await walk(tocsin, CELL_BROADCAST_PAGES, LANGS, made)
    # The walk read the cell broadcast's words: the panel, the alarm, the approver's box.
    assert "Сотовое вещание" in seen[("a CBC not accepting, with the alarm", "ru")]
    assert "diffusion cellulaire" in seen[("cell broadcast to a region, as approver", "fr")]
    assert "Hüceyrə yayımı" in seen[("compose form, with cell broadcast", "az")]
    found = english_on(seen, LANGS)
    assert not found, "\n" + "\n".join(f"{page}: {words}" for page, words in found.items())
