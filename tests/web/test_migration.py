"""Migration 0003 builds the same call-centre and CAP-ingest tables as alerts/schema.py describes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from alerts.schema import callcentre_pushes, cap_ingested
from alerts.store import Store


@pytest.mark.parametrize("table", [callcentre_pushes, cap_ingested], ids=lambda t: t.name)
async def test_migrated_table_matches_the_schema(db_url, table):
    from alerts.store import upgrade

    await upgrade(db_url)  # a no-op on SQLite, where the fixture already upgraded
    store = Store(db_url)
    try:
        async with store.read() as conn:
            found = await conn.run_sync(lambda c: {
                "columns": {col["name"]: col["nullable"] for col in sa.inspect(c).get_columns(table.name)},
                "unique": sorted(tuple(u["column_names"]) for u in sa.inspect(c).get_unique_constraints(table.name)),
            })
    finally:
        await store.close()
    assert found["columns"] == {col.name: col.nullable for col in table.columns}
    assert found["unique"] == sorted(tuple(col.name for col in u.columns) for u in table.constraints
                                     if isinstance(u, sa.UniqueConstraint))
