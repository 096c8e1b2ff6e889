"""no index entry for a queued delivery that no query needs: a million deliveries are queued
per national alert, and each index costs every one of them an insert (docs/benchmarks.md (b)).

ix_deliveries_work (state, next_attempt_at) held every delivery, but only two kinds of query
looked rows up without their alert or id, and both want rows a queued delivery is not:
- lapsed leases (dispatch.queue.release_leases: lease_until < now, which implies NOT NULL on
  both engines): ix_deliveries_leased holds only rows with a lease, so a queued row enters it
  only once claimed, and leaves when its lease ends;
- failed numbers (consular.freshness.take_out_unreachable, every housekeeping pass):
  ix_deliveries_failed holds only failed and undelivered rows.

Revision ID: 0015
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_LEASED = sa.text("lease_until IS NOT NULL")
_FAILED = sa.text("state IN ('failed', 'undelivered')")


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_index("ix_deliveries_work")
        batch.create_index("ix_deliveries_leased", ["lease_until"], postgresql_where=_LEASED, sqlite_where=_LEASED)
        batch.create_index("ix_deliveries_failed", ["subscriber_id"], postgresql_where=_FAILED,
                           sqlite_where=_FAILED)


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_index("ix_deliveries_failed")
        batch.drop_index("ix_deliveries_leased")
        batch.create_index("ix_deliveries_work", ["state", "next_attempt_at"])
