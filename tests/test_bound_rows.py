"""bound_rows: a batch of rows as one statement's table, bound as a fixed number of parameters,
on both engines. What goes in comes back exactly, whatever the text and however many rows."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from alerts.store import Store, bound_in, bound_rows

COLUMNS = [("id", sa.BigInteger()), ("text", sa.String())]

CASES = {
    "one row": [(1, "SM0123")],
    "none": [(2, None)],
    "quotes and json": [(3, "'\"; DROP TABLE deliveries; --"), (4, '{"a": [1, "$[0]"]}')],
    "five scripts and isolates": [(5, "Zəlzələ: Bakı"), (6, "Землетрясение"), (7, "Séisme à Bakou"),
                                  (8, "زلزال \u2066+994 50 123 45 67\u2069"), (9, "🚨 ⚠️")],
    "large ids and empty text": [(2**40, ""), (-1, " ")],
    "a claim's size and more": [(i, f"SM{i:032x}") for i in range(5_000)],
}


@pytest.mark.parametrize("rows", CASES.values(), ids=CASES.keys())
async def test_rows_come_back_as_given(db_url: str, rows: list[tuple[Any, ...]]) -> None:
    store = Store(db_url)
    try:
        async with store.read() as conn:
            table = bound_rows(conn, "t", COLUMNS, rows)
            statement = sa.select(table.c.id, table.c.text)
            found = (await conn.execute(statement)).all()
            # One parameter on SQLite, one per column on PostgreSQL, whatever the number of rows.
            assert len(statement.compile(dialect=conn.dialect).params) <= len(COLUMNS)
    finally:
        await store.close()
    assert sorted(tuple(row) for row in found) == sorted(rows)


async def test_ids_select_only_their_rows(db_url: str) -> None:
    store = Store(db_url)
    try:
        async with store.read() as conn:
            numbers = sa.select(sa.literal(1).label("n")).union_all(
                *(sa.select(sa.literal(n)) for n in range(2, 8))).subquery()
            picked = (await conn.scalars(sa.select(numbers.c.n).where(bound_in(conn, "p", numbers.c.n, [2, 5, 9]))
                                         .order_by(numbers.c.n))).all()
            none = (await conn.scalars(sa.select(numbers.c.n).where(bound_in(conn, "p", numbers.c.n, [])))).all()
    finally:
        await store.close()
    assert picked == [2, 5]
    assert none == []
