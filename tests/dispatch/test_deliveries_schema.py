"""Migration 0014 took the foreign keys off `deliveries` (a trigger per queued row on
PostgreSQL). What they did still holds: deleting an alert or a subscriber deletes its
deliveries, by a trigger on the parent; and the downgrade puts the keys back. Migration 0015
replaced the index every delivery entered with two partial ones a queued delivery does not
enter; its downgrade puts the old one back."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from alerts.migrations import alembic_config
from alerts.schema import alerts, deliveries, subscribers
from alerts.store import Store, upgrade
from tests.dispatch.steps import queued_alert


async def _count(tocsin, where) -> int:
    async with tocsin.store.read() as conn:
        return await conn.scalar(sa.select(sa.func.count()).select_from(deliveries).where(where))


async def test_deleting_a_subscriber_or_an_alert_deletes_their_deliveries(quiet_tocsin):
    tocsin = quiet_tocsin
    alert_id, _expires = await queued_alert(tocsin)
    async with tocsin.store.read() as conn:
        someone = await conn.scalar(sa.select(deliveries.c.subscriber_id).where(deliveries.c.alert_id == alert_id)
                                    .order_by(deliveries.c.id).limit(1))
    total = await _count(tocsin, deliveries.c.alert_id == alert_id)
    assert total > 1

    async with tocsin.store.write() as conn:
        await conn.execute(subscribers.delete().where(subscribers.c.id == someone))
    assert await _count(tocsin, deliveries.c.subscriber_id == someone) == 0
    assert await _count(tocsin, deliveries.c.alert_id == alert_id) == total - 1

    async with tocsin.store.write() as conn:
        await conn.execute(alerts.delete().where(alerts.c.id == alert_id))
    assert await _count(tocsin, deliveries.c.alert_id == alert_id) == 0


async def test_the_downgrade_puts_the_foreign_keys_back(db_url):
    await upgrade(db_url)
    store = Store(db_url)

    async def keys() -> list[tuple[str, str]]:
        async with store.read() as conn:
            found = await conn.run_sync(lambda c: sa.inspect(c).get_foreign_keys("deliveries"))
        return sorted((key["constrained_columns"][0], key["referred_table"]) for key in found)

    async def migrate(step: str, revision: str) -> None:
        async with store.engine.begin() as conn:
            await conn.run_sync(lambda sync: getattr(command, step)(alembic_config(sync), revision))

    try:
        assert await keys() == []
        await migrate("downgrade", "0013")
        assert await keys() == [("alert_id", "alerts"), ("subscriber_id", "subscribers")]
        await migrate("upgrade", "heads")
        assert await keys() == []
    finally:
        await store.close()


async def test_0015_keeps_queued_deliveries_out_of_the_lease_and_failure_indexes(db_url):
    await upgrade(db_url)
    store = Store(db_url)

    async def indexes() -> dict[str, list[str]]:
        async with store.read() as conn:
            found = await conn.run_sync(lambda c: sa.inspect(c).get_indexes("deliveries"))
        return {index["name"]: index["column_names"] for index in found}

    async def migrate(step: str, revision: str) -> None:
        async with store.engine.begin() as conn:
            await conn.run_sync(lambda sync: getattr(command, step)(alembic_config(sync), revision))

    try:
        now = await indexes()
        assert "ix_deliveries_work" not in now
        assert now["ix_deliveries_leased"] == ["lease_until"] and now["ix_deliveries_failed"] == ["subscriber_id"]
        async with store.read() as conn:
            where = await conn.run_sync(lambda c: {
                index["name"]: str(index.get("dialect_options", {}).get(f"{c.dialect.name}_where", ""))
                for index in sa.inspect(c).get_indexes("deliveries")})
        assert "lease_until IS NOT NULL" in where["ix_deliveries_leased"]
        assert "failed" in where["ix_deliveries_failed"] and "undelivered" in where["ix_deliveries_failed"]
        await migrate("downgrade", "0014")
        before = await indexes()
        assert before["ix_deliveries_work"] == ["state", "next_attempt_at"]
        assert "ix_deliveries_leased" not in before and "ix_deliveries_failed" not in before
        await migrate("upgrade", "heads")
        assert set(await indexes()) == set(now)
    finally:
        await store.close()
