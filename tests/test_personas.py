"""The walk-through's people, each in a real Chromium, with screenshots for a person to look at
(test-artifacts/screenshots/persona-*.png):

- a migrant reading Arabic on a 360x640 phone: the real alert comes first and looks unlike
  the drill; an embassy's number reads left to right (the rendered boxes of its digit groups,
  as the review measured them); the sign-up works with no JavaScript, to the done page;
- an approver on a 360x640 phone: the badge on the list, an SMS text before Approve;
- an approver at a desk whose badge and tab title change when a colleague submits."""

from __future__ import annotations

import re

from tests.browser import SCREENSHOTS, db_url, signed_in  # noqa: F401  (db_url: the SQLite-only fixture)
from tests.helpers import EARTHQUAKE_IN_BAKU, Desk, json_ok

PHONE = {"width": 360, "height": 640}
EMBASSY = "+90 212 444 00 00"
ADVISORY = {"scenario": "security_advisory", "status": "Actual", "audience": {"countries": ["TR"]},
            "channels": ["sms", "web"],
            "params": {"country": "TR", "level": "avoid_travel", "embassy_phone": EMBASSY.replace(" ", "")}}

# The x of each digit group of the first phone number written `+90 212 ...` (however it is
# grouped) in the element, in the order the groups come in the text: read left to right,
# each group starts right of the one before.
DIGIT_GROUPS = """(root) => {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const boxes = [];
  let text = "", nodes = [];
  while (walker.nextNode()) { nodes.push([walker.currentNode, text.length]); text += walker.currentNode.data; }
  const found = /\\+90[\\d\\s\\u00a0]*\\d/.exec(text);
  if (!found) return null;
  const group = /\\+?\\d+/g;
  let m;
  while ((m = group.exec(found[0])) !== null) {
    const start = found.index + m.index, end = start + m[0].length;
    const [node, offset] = nodes.filter(([n, at]) => at <= start).pop();
    const range = document.createRange();
    range.setStart(node, start - offset);
    range.setEnd(node, Math.min(end - offset, node.data.length));
    const r = range.getBoundingClientRect();
    boxes.push({group: m[0], x: r.x, y: r.y});
  }
  return boxes;
}"""


async def _shot(page, name: str, full: bool = False) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"persona-{name}.png"), full_page=full)


async def test_a_migrant_reading_arabic_on_a_phone(tocsin, browser):  # noqa: F811
    desk = await Desk.open(tocsin)
    consul = await tocsin.user("kamal", "consular", ["TR"])
    await tocsin.user("leyla", "consular", ["TR"])
    real = await desk.issue(scenario="flood", regions=["AZ-SAB"])
    drill = await desk.issue(status="Exercise", regions=["AZ-BA"])
    advisory = await json_ok(await tocsin.client.post("/api/v1/alerts", headers=consul, json=ADVISORY), 201)
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{advisory['id']}/submit", headers=consul))
    colleague = await tocsin.user("leyla2", "consular", ["TR"])
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{advisory['id']}/approve", headers=colleague))
    await desk.published(advisory["id"])

    context = await browser.new_context(java_script_enabled=False, viewport=PHONE, locale="ar-EG", is_mobile=True)
    page = await context.new_page()
    await page.goto(str(tocsin.client.make_url("/")))  # the browser's language chooses Arabic
    assert await page.evaluate("[document.documentElement.lang, document.dir]") == ["ar", "rtl"]
    await _shot(page, "migrant-ar-1-first-screen")
    real_card, drill_card = page.locator(f"#alert-{real['id']}"), page.locator(f"#alert-{drill['id']}")
    real_box = await real_card.bounding_box()
    assert real_box is not None and real_box["y"] < PHONE["height"]  # the real alert on the first screen
    if not await drill_card.is_visible():
        await page.click("#drills summary")
    top = "e => e.getBoundingClientRect().top + window.scrollY"  # on the page, wherever it is scrolled
    bottom = "e => e.getBoundingClientRect().bottom + window.scrollY"
    assert await drill_card.evaluate(top) >= await real_card.evaluate(bottom)  # the drill comes after it
    look = "e => [getComputedStyle(e).borderInlineStartStyle, getComputedStyle(e).borderInlineStartColor]"
    assert await real_card.evaluate(look) != await drill_card.evaluate(look)
    assert "تمرين" in await drill_card.inner_text()
    await _shot(page, "migrant-ar-2-drills-open", full=True)

    # The embassy's number on the advisory's page reads +90 212 444 00 00, left to right.
    await page.goto(str(tocsin.client.make_url(f"/alerts/{advisory['id']}?lang=ar")))
    boxes = await page.locator("main").evaluate(DIGIT_GROUPS)
    assert boxes, await page.inner_text("main")
    groups = [b["group"] for b in boxes]
    assert "".join(groups) == EMBASSY.replace(" ", ""), groups
    assert len({round(b["y"]) for b in boxes}) == 1, boxes  # on one line, not broken
    xs = [b["x"] for b in boxes]
    assert xs == sorted(xs) and len(set(xs)) == len(xs), boxes  # each group right of the one before
    await _shot(page, "migrant-ar-3-embassy-number")

    # Signing up with no JavaScript: the form, the code from the SMS, the done page.
    await page.goto(str(tocsin.client.make_url("/?lang=ar")))
    await page.click("a[href^='/subscribe']")
    await page.fill("#phone", "+994 50 555 80 31")
    await page.select_option("#area", "AZ-BA")
    await page.select_option("#language", "ar")
    await _shot(page, "migrant-ar-4-subscribe")
    await page.click("form button[type=submit]")
    await page.wait_for_url(re.compile(r"/subscribe/confirm/"))
    [sms] = [m for m in tocsin.sim.created() if m["to"] == "+994505558031"]
    code = re.search(r"\b(\d{6})\b", sms["body"]).group(1)
    await page.fill("#code", code)
    await _shot(page, "migrant-ar-5-code")
    await page.click("form button[type=submit]")
    await page.wait_for_load_state()
    assert "تم اشتراكك" in await page.inner_text("main")
    await _shot(page, "migrant-ar-6-done", full=True)
    await context.close()



async def test_an_approver_on_a_phone_sees_the_badge_and_reads_before_approving(tocsin, browser):  # noqa: F811
    desk = await Desk.open(tocsin)
    draft = await desk.post({**EARTHQUAKE_IN_BAKU, "status": "Actual"})
    await json_ok(await tocsin.client.post(f"/api/v1/alerts/{draft['id']}/submit", headers=desk.operator))
    context, page = await signed_in(browser, tocsin, "anar", size=(PHONE["width"], PHONE["height"]), mobile=True)
    await page.goto(str(tocsin.client.make_url("/console?lang=en")))
    badge = page.locator("#waiting")
    assert await badge.is_visible() and await badge.inner_text() == "1 waits for your approval"
    box = await badge.bounding_box()
    assert box is not None and box["y"] + box["height"] <= PHONE["height"] and box["x"] >= 0
    assert (await page.title()).startswith("(1) ")
    await _shot(page, "approver-phone-1-list")

    await badge.click()  # to the list; the row marked for approval opens the alert
    await page.click(f"a[href*='/console/alerts/{draft['id']}']")
    await page.wait_for_url(re.compile(rf"/console/alerts/{draft['id']}"))
    await _shot(page, "approver-phone-2-first-screen")
    sms = await page.locator("pre.sms").first.bounding_box()
    approve = await page.locator("text=Approve and send").bounding_box()
    assert sms is not None and approve is not None
    assert sms["y"] + sms["height"] <= PHONE["height"], sms
    assert sms["y"] + sms["height"] <= approve["y"], (sms, approve)
    await context.close()


async def test_an_approvers_badge_appears_when_a_colleague_submits(tocsin, browser):  # noqa: F811
    await Desk.open(tocsin)
    desk_size = (1100, 800)
    approver_context, approver = await signed_in(browser, tocsin, "anar", size=desk_size)
    await approver.goto(str(tocsin.client.make_url("/console?lang=fr")))
    assert await approver.locator("#waiting").is_hidden()
    title = await approver.title()
    await approver.evaluate("window.loadedOnce = true")  # gone if the page reloaded instead

    officer_context, officer = await signed_in(browser, tocsin, "olga", size=desk_size)
    await officer.goto(str(tocsin.client.make_url("/console/compose/earthquake?lang=en")))
    await officer.fill("input[name='param.magnitude']", "5.8")
    await officer.select_option("select[name='param.epicentre']", "AZ-BA")
    await officer.check("#area input[value=AZ-BA]")
    await officer.click("main button[type=submit]")
    await officer.wait_for_url(re.compile(r"/console/alerts/\d+"))
    await officer.click("form[action*='/submit'] button[type=submit]")
    await officer.wait_for_url(re.compile(r"/console/alerts/\d+"))

    await approver.wait_for_selector("#waiting:visible", timeout=10_000)
    assert await approver.inner_text("#waiting") == "1 attend votre approbation"
    assert await approver.title() == f"(1) {title}"
    assert await approver.evaluate("window.loadedOnce") is True
    await _shot(approver, "approver-desk-badge-live")
    await officer_context.close()
    await approver_context.close()
