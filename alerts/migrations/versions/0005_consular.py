"""consular: check-in follow-ups, responses, call-back tickets, trip-end reminders, city on web sign-ups

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("followups", sa.JSON(), nullable=True))
    with op.batch_alter_table("subscribers") as batch:
        batch.add_column(sa.Column("still_there_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("still_there_claimed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("signups") as batch:
        batch.add_column(sa.Column("city", sa.String(length=100), nullable=True))
    op.create_table(
        "responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("answer", sa.String(length=10), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("answer IN ('safe','need_help')", name="ck_responses_answer"),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], name="fk_responses_alert_id_alerts", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["subscriber_id"], ["subscribers.id"], name="fk_responses_subscriber_id_subscribers",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_responses"),
        sa.UniqueConstraint("alert_id", "subscriber_id", name="uq_responses_alert_id_subscriber_id"),
    )
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=64), nullable=True),
        sa.CheckConstraint("status IN ('open','closed')", name="ck_tickets_status"),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], name="fk_tickets_alert_id_alerts", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["subscriber_id"], ["subscribers.id"], name="fk_tickets_subscriber_id_subscribers",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_tickets"),
        sa.UniqueConstraint("alert_id", "subscriber_id", name="uq_tickets_alert_id_subscriber_id"),
    )
    op.create_index("ix_tickets_status_language", "tickets", ["status", "language"])


def downgrade() -> None:
    op.drop_index("ix_tickets_status_language", table_name="tickets")
    op.drop_table("tickets")
    op.drop_table("responses")
    with op.batch_alter_table("signups") as batch:
        batch.drop_column("city")
    with op.batch_alter_table("subscribers") as batch:
        batch.drop_column("still_there_claimed_at")
        batch.drop_column("still_there_at")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("followups")
