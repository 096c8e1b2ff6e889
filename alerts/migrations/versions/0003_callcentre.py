"""call-centre pushes and ingested CAP messages

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "callcentre_pushes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("endpoint", sa.String(length=500), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('alert','cancel')", name=op.f("ck_callcentre_pushes_kind")),
        sa.CheckConstraint("state IN ('pending','acknowledged','abandoned')", name=op.f("ck_callcentre_pushes_state")),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], name=op.f("fk_callcentre_pushes_alert_id_alerts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callcentre_pushes")),
        sa.UniqueConstraint("alert_id", "kind", "endpoint", name=op.f("uq_callcentre_pushes_alert_id_kind_endpoint")),
    )
    op.create_index("ix_callcentre_pushes_due", "callcentre_pushes", ["state", "next_attempt_at"])
    op.create_table(
        "cap_ingested",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(length=255), nullable=False),
        sa.Column("identifier", sa.String(length=255), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], name=op.f("fk_cap_ingested_alert_id_alerts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cap_ingested")),
        sa.UniqueConstraint("sender", "identifier", name=op.f("uq_cap_ingested_sender_identifier")),
    )


def downgrade() -> None:
    op.drop_table("cap_ingested")
    op.drop_index("ix_callcentre_pushes_due", table_name="callcentre_pushes")
    op.drop_table("callcentre_pushes")
