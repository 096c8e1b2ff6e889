"""inbound messages: free text a person sent during an open check-in, kept for the consulate to read

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbound_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("body", sa.String(length=1600), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], name="fk_inbound_messages_alert_id_alerts",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["subscriber_id"], ["subscribers.id"],
                                name="fk_inbound_messages_subscriber_id_subscribers", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_inbound_messages"),
    )
    op.create_index("ix_inbound_messages_alert_id_read_at", "inbound_messages", ["alert_id", "read_at"])


def downgrade() -> None:
    op.drop_index("ix_inbound_messages_alert_id_read_at", table_name="inbound_messages")
    op.drop_table("inbound_messages")
