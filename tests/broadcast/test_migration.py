"""Migration 0012 builds the cell_broadcasts table and the alerts.cell_broadcast column as
alerts/schema.py describes them, and its downgrade takes both away."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from alerts.migrations import alembic_config
from alerts.schema import cell_broadcasts
from alerts.store import Store, upgrade
from tests.web.test_migration import test_migrated_table_matches_the_schema as _matches


async def test_cell_broadcasts_migration_matches_the_schema(db_url):
    await _matches(db_url, cell_broadcasts)


async def test_the_downgrade_drops_the_table_and_the_column(db_url):
    await upgrade(db_url)
    store = Store(db_url)

    async def found() -> tuple[bool, bool]:
        async with store.read() as conn:
            return await conn.run_sync(lambda c: (
                sa.inspect(c).has_table("cell_broadcasts"),
                "cell_broadcast" in {col["name"] for col in sa.inspect(c).get_columns("alerts")}))

    async def migrate(step: str, revision: str) -> None:
        async with store.engine.begin() as conn:
            await conn.run_sync(lambda sync: getattr(command, step)(alembic_config(sync), revision))

    try:
        assert await found() == (True, True)
        await migrate("downgrade", "0011")
        assert await found() == (False, False)
        await migrate("upgrade", "heads")
        assert await found() == (True, True)
    finally:
        await store.close()
