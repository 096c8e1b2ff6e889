"""On PostgreSQL, the dispatcher's statements over a list of delivery ids look each id up in the
primary key. A join against unnest() read and hashed the whole table for a few hundred ids at
every claim, lease check and record, at the sizes where the planner thinks that cheaper (tens
of thousands of rows), and more so with the statistics of an empty table (docs/benchmarks.md
(a)). Those statistics are why a large alert's queue gets fresh ones once its first batch is
out (rounds.materialise_step, tested in test_materialise.py): with them, an `id = ANY` beside a
state condition was planned as a read of every row in those states, each checked against the
whole list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from alerts.dispatch import queue
from alerts.schema import deliveries
from alerts.store import Store, refresh_statistics

ROWS = 20_000  # a table the planner would rather read whole than probe 400 times, by its estimates
IDS = list(range(5_000, 5_400))


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_lists_of_ids_are_looked_up_in_the_primary_key_not_read_from_the_whole_table(db_url: str) -> None:
    store = Store(db_url)
    now = datetime.now(UTC)
    seen: list[tuple[str, Any]] = []

    def note(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if "deliveries" in statement:
            seen.append((statement, parameters))

    try:
        async with store.write() as conn:
            # Claimed rows with a lease, as in a fan-out.
            await conn.execute(sa.text(
                "INSERT INTO deliveries (alert_id, subscriber_id, channel, round, language, state, attempts,"
                " next_attempt_at, lease_until, claimed_at, created_at, updated_at)"
                " SELECT 1, g, 'sms', 0, 'en', 'sending', 0, :now, :until, :now, :now, :now"
                " FROM generate_series(1, :rows) AS g"),
                {"now": now, "until": now + timedelta(minutes=1), "rows": ROWS})
        await refresh_statistics(store, deliveries)  # as materialise_step does for a large alert
        event.listen(store.engine.sync_engine, "before_cursor_execute", note)
        try:
            assert await queue.taken_back(store, IDS) == set()
            await queue.extend_leases(store, IDS, now + timedelta(minutes=2))
            async with store.write() as conn:
                await queue.record_accepted(conn, [(i, f"SM{i:032d}", "sms") for i in IDS[:200]], now)
                await queue.let_go(conn, IDS[:200])
            await queue.release(store, set(IDS[200:]))
        finally:
            event.remove(store.engine.sync_engine, "before_cursor_execute", note)
        assert len(seen) >= 5, [statement for statement, _ in seen]
        async with store.read() as conn:
            for statement, parameters in seen:
                plan = "\n".join(row[0] for row in await conn.exec_driver_sql("EXPLAIN " + statement, parameters))
                assert "Seq Scan on deliveries" not in plan, plan
                assert "Index Cond: (id = ANY" in plan and "pk_deliveries" in plan, plan
            # And they did their work: 200 accepted, 200 back in the queue.
            states = dict((await conn.execute(sa.text(
                "SELECT state, count(*) FROM deliveries WHERE id BETWEEN :lo AND :hi GROUP BY state"),
                {"lo": IDS[0], "hi": IDS[-1]})).all())
        assert states == {"accepted": 200, "queued": 200}
    finally:
        await store.close()
