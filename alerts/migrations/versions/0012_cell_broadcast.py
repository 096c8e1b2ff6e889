"""cell broadcast: one row per (alert, CBC, language, write or kill) sent to a cell broadcast
centre, and each alert's broadcast plan (message code, update number, identifiers, network-wide)

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


# Plain ADD/DROP COLUMN, not a batch: on SQLite a batch copies `alerts` and drops the old
# table, which the foreign keys to it refuse.
def upgrade() -> None:
    op.add_column("alerts", sa.Column("cell_broadcast", sa.JSON, nullable=True))
    op.create_table(
        "cell_broadcasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("cbc", sa.String(length=200), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("serial_number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_answer", sa.String(length=500), nullable=True),
        sa.Column("last_error", sa.String(length=255), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome_unknown", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('write','kill')", name=op.f("ck_cell_broadcasts_kind")),
        sa.CheckConstraint("state IN ('pending','accepted','refused','abandoned')",
                           name=op.f("ck_cell_broadcasts_state")),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], name=op.f("fk_cell_broadcasts_alert_id_alerts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cell_broadcasts")),
        sa.UniqueConstraint("alert_id", "cbc", "language", "kind",
                            name=op.f("uq_cell_broadcasts_alert_id_cbc_language_kind")),
    )
    op.create_index("ix_cell_broadcasts_due", "cell_broadcasts", ["state", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_cell_broadcasts_due", table_name="cell_broadcasts")
    op.drop_table("cell_broadcasts")
    op.drop_column("alerts", "cell_broadcast")
