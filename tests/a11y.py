"""axe-core in a real page: what the accessibility tests share. axe-core comes from npm
(scripts/test-services.sh installs it into the git-ignored .cache/axe, major version pinned);
without it the tests are skipped, except under CI=true, where a missing axe is a failure."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

AXE = Path(__file__).resolve().parents[1] / ".cache" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
SERIOUS = ("serious", "critical")


def axe_path() -> Path:
    if not AXE.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"axe-core is required under CI=true: {AXE} is missing (scripts/test-services.sh installs it)")
        pytest.skip("axe-core is not installed (bash scripts/test-services.sh)")
    return AXE


async def axe_findings(page: Any) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now: each rule with its impact and nodes."""
    if not await page.evaluate("typeof window.axe === 'object'"):
        await page.add_script_tag(path=str(axe_path()))
    result = await page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", TAGS)
    return list(result["violations"])


def _describe(findings: list[dict[str, Any]]) -> str:
    return "; ".join(f"{f['id']} ({f['impact']}): {f['help']} at "
                     + ", ".join(" ".join(n["target"]) if isinstance(n["target"], list) else str(n["target"])
                                 for n in f["nodes"][:3]) for f in findings)


async def assert_no_serious(page: Any, name: str, also: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """No serious or critical finding on the page (nor any of the rules in `also`, whatever
    their impact); the findings that remain, for the caller to look at."""
    findings = await axe_findings(page)
    bad = [f for f in findings if f["impact"] in SERIOUS or f["id"] in also]
    assert not bad, f"{name}: {_describe(bad)}"
    return findings
