"""hotline recordings and web sign-ups awaiting their SMS code

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recordings",
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("content_type", sa.String(length=16), nullable=False),
        sa.Column("audio", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], name="fk_recordings_alert_id_alerts", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["uploaded_by"], ["users.id"], name="fk_recordings_uploaded_by_users"),
        sa.PrimaryKeyConstraint("alert_id", "language", name="pk_recordings"),
    )
    op.create_table(
        "signups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=43), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("area", sa.String(length=8), nullable=False),
        sa.Column("voice", sa.Boolean(), nullable=False),
        sa.Column("trip_ends", sa.Date(), nullable=True),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_signups"),
        sa.UniqueConstraint("token", name="uq_signups_token"),
    )
    op.create_index("ix_signups_phone", "signups", ["phone"])


def downgrade() -> None:
    op.drop_index("ix_signups_phone", table_name="signups")
    op.drop_table("signups")
    op.drop_table("recordings")
