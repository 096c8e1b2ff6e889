"""approver notices: an approver's mobile, on-duty flag and language, and which approvers were
told by SMS that an alert waits for them (once each)

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


# Plain ADD/DROP COLUMN, not a batch: on SQLite a batch copies `users` and drops the old
# table, which the foreign keys to it refuse.
def upgrade() -> None:
    op.add_column("users", sa.Column("phone", sa.String(16), nullable=True))
    op.add_column("users", sa.Column("on_duty", sa.Boolean, nullable=False, server_default=sa.false()))
    op.add_column("users", sa.Column("language", sa.String(2), nullable=True))
    op.create_table(
        "approval_notices",
        sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("approval_notices")
    for column in ("language", "on_duty", "phone"):
        op.drop_column("users", column)
