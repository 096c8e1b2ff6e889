"""The suite's own machinery in tests/conftest.py: the database fixture and the slow table."""

from __future__ import annotations

import importlib

import pytest

from tests import conftest


def test_a_sqlite_case_starts_no_postgresql(db_url: str, request: pytest.FixtureRequest) -> None:
    # `postgres` (a session-wide cluster, seconds to start) is asked for by PostgreSQL cases only.
    assert ("postgres" in request.fixturenames) == db_url.startswith("postgresql:")


@pytest.mark.parametrize("path", sorted(conftest.SLOW_TESTS))
def test_every_test_the_slow_table_names_exists(path: str) -> None:
    # A renamed test would silently leave the table and run in `make test-fast`.
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    for name in conftest.SLOW_TESTS[path] or ():
        assert callable(getattr(module, name.split("[", 1)[0], None)), f"{path}: no test {name}"
