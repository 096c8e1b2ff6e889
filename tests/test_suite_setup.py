"""The suite's own machinery in tests/conftest.py: the database fixture and the slow table."""

from __future__ import annotations

import importlib

import pytest
import sqlalchemy as sa

from alerts.schema import users
from alerts.users import PASSWORDS, add_user
from alerts.web.app import utcnow
from tests import conftest
from tests.console.test_auth import sign_in


def test_a_sqlite_case_starts_no_postgresql(db_url: str, request: pytest.FixtureRequest) -> None:
    # `postgres` (a session-wide cluster, seconds to start) is asked for by PostgreSQL cases only.
    assert ("postgres" in request.fixturenames) == db_url.startswith("postgresql:")


@pytest.mark.parametrize("path", sorted(conftest.SLOW_TESTS))
def test_every_test_the_slow_table_names_exists(path: str) -> None:
    # A renamed test would silently leave the table and run in `make test-fast`.
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    for name in conftest.SLOW_TESTS[path] or ():
        assert callable(getattr(module, name.split("[", 1)[0], None)), f"{path}: no test {name}"


async def test_the_users_tests_make_share_one_real_hash_and_the_apps_own_are_hashed_apart(tocsin) -> None:
    # Tocsin.user() skips argon2's work after its first user (conftest: time, and a paced race);
    # a user the code adds any other way is still hashed on its own, and both sign in.
    await tocsin.user("olga", "operator")
    await tocsin.user("anar", "approver")
    async with tocsin.store.write() as conn:
        await add_user(conn, "kamal", conftest.PASSWORD, "operator", [], utcnow())
        hashes = dict((await conn.execute(sa.select(users.c.username, users.c.password_hash))).all())
    assert hashes["olga"] == hashes["anar"] != hashes["kamal"]
    assert all(PASSWORDS.verify(hashes[name], conftest.PASSWORD) for name in ("olga", "kamal"))
    for name in ("anar", "kamal"):
        signed_in = await sign_in(tocsin, name)
        assert signed_in.status == 303 and signed_in.headers["Location"] == "/console", (name, signed_in.status)
    assert (await sign_in(tocsin, "anar", "not-the-test-password")).status == 401


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_under_xdist_each_workers_share_begins_with_its_part_of_the_slow_tests(workers: int) -> None:
    class Item:
        def __init__(self, name: str) -> None:
            self.name = name

        def get_closest_marker(self, marker: str) -> object:
            return self.name.startswith("slow") or None

    items = [Item(f"{kind}{n}") for n in range(10) for kind in ("quick", "quick", "slow")]  # slow ones last in files
    ordered = [item.name for item in conftest.order_for_workers(items, workers)]
    assert sorted(ordered) == sorted(item.name for item in items)  # every test, once
    start, remaining = 0, len(items)
    for worker in range(workers):  # the shares worksteal hands out, front to back
        size = remaining // (workers - worker)
        share, start, remaining = ordered[start:start + size], start + size, remaining - size
        slow = [name for name in share if name.startswith("slow")]
        assert share[:len(slow)] == slow and abs(len(slow) - 10 / workers) < 1, share
