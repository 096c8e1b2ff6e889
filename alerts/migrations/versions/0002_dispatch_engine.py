"""dispatch engine: batched materialisation, rounds, leases, reconciliation

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("materialised_upto", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("materialised", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("repeat_minutes", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("round", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("halted_reason", sa.String(length=32), nullable=True))
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("round", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("via", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("reconcile", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.drop_constraint("uq_deliveries_alert_id_subscriber_id_channel", type_="unique")
        batch.create_unique_constraint(
            "uq_deliveries_alert_id_subscriber_id_channel_round", ["alert_id", "subscriber_id", "channel", "round"]
        )
        batch.create_index("ix_deliveries_claim", ["alert_id", "state", "next_attempt_at", "id"])
        # The claim index starts with (alert_id, state): this one only slowed inserts.
        batch.drop_index("ix_deliveries_alert_state")
        batch.create_index("ix_deliveries_subscriber", ["subscriber_id", "state"])


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_index("ix_deliveries_subscriber")
        batch.drop_index("ix_deliveries_claim")
        batch.create_index("ix_deliveries_alert_state", ["alert_id", "state"])
        batch.drop_constraint("uq_deliveries_alert_id_subscriber_id_channel_round", type_="unique")
        batch.create_unique_constraint("uq_deliveries_alert_id_subscriber_id_channel", ["alert_id", "subscriber_id", "channel"])
        for column in ("reconcile", "via", "claimed_at", "round"):
            batch.drop_column(column)
    with op.batch_alter_table("alerts") as batch:
        for column in ("halted_reason", "round", "repeat_minutes", "materialised", "materialised_upto"):
            batch.drop_column(column)
