"""lighter delivery inserts: a million deliveries are queued per national alert, so every
per-row cost of an insert into `deliveries` counts (docs/benchmarks.md (b)).

- The foreign keys from deliveries to alerts and subscribers go: PostgreSQL checked each of
  them with a trigger per inserted row (a third of a batch's time under EXPLAIN ANALYZE). What
  they guaranteed still holds: deliveries are only ever inserted by an INSERT ... SELECT from
  subscribers for an alert just read (alerts.audience.materialise) or copied from an existing
  delivery (queue.queue_failover), and nothing in Tocsin deletes an alert or a subscriber
  (erasure keeps the row, without the number). Their ON DELETE CASCADE stays, as a trigger on
  the parent's delete: a cost per deleted parent, never per queued delivery.
- ix_deliveries_provider_id holds only rows with a provider id: every row is queued without
  one, and the webhook's lookup (provider_id = :sid) implies NOT NULL on both engines.

Revision ID: 0014
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_HAS_PROVIDER_ID = sa.text("provider_id IS NOT NULL")
_CASCADES = (("alerts", "alert_id"), ("subscribers", "subscriber_id"))


def _cascade_triggers() -> list[str]:
    if op.get_bind().dialect.name == "postgresql":
        statements = []
        for parent, column in _CASCADES:
            statements += [
                f"CREATE FUNCTION {parent}_delete_deliveries() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN DELETE FROM deliveries WHERE {column} = OLD.id; RETURN OLD; END $$",
                f"CREATE TRIGGER {parent}_delete_deliveries AFTER DELETE ON {parent} FOR EACH ROW "
                f"EXECUTE FUNCTION {parent}_delete_deliveries()",
            ]
        return statements
    return [f"CREATE TRIGGER {parent}_delete_deliveries AFTER DELETE ON {parent} FOR EACH ROW "
            f"BEGIN DELETE FROM deliveries WHERE {column} = OLD.id; END" for parent, column in _CASCADES]


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_constraint("fk_deliveries_alert_id_alerts", type_="foreignkey")
        batch.drop_constraint("fk_deliveries_subscriber_id_subscribers", type_="foreignkey")
        batch.drop_index("ix_deliveries_provider_id")
        batch.create_index("ix_deliveries_provider_id", ["provider_id"], postgresql_where=_HAS_PROVIDER_ID,
                           sqlite_where=_HAS_PROVIDER_ID)
    for statement in _cascade_triggers():
        op.execute(statement)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for parent, _column in _CASCADES:
        op.execute(f"DROP TRIGGER {parent}_delete_deliveries" + (f" ON {parent}" if postgresql else ""))
        if postgresql:
            op.execute(f"DROP FUNCTION {parent}_delete_deliveries()")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_index("ix_deliveries_provider_id")
        batch.create_index("ix_deliveries_provider_id", ["provider_id"])
        batch.create_foreign_key("fk_deliveries_alert_id_alerts", "alerts", ["alert_id"], ["id"], ondelete="CASCADE")
        batch.create_foreign_key("fk_deliveries_subscriber_id_subscribers", "subscribers", ["subscriber_id"], ["id"],
                                 ondelete="CASCADE")
