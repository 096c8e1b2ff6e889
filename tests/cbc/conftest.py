"""The OsmoCBC fixtures for the tests here; a failing test shows the end of each CBC's log."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.cbc.osmo import STARTED, osmo_cbc, osmo_cbcs  # noqa: F401  (the fixtures)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for cbc in item.stash.get(STARTED, []):
            report.sections.append((f"OsmoCBC {cbc.name}'s log ({cbc.log_path})", cbc.log_tail(80)))
