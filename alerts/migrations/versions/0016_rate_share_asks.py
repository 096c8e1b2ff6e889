"""rate shares: what each instance asks for, so that one asking for little (a --web-only
instance's sign-up codes) gets that, and the sending instances keep the rest of the rate

NULL asks for the whole rate: a sending instance, or one started before this revision (it
splits evenly, which is never more than the new rule grants it).

Revision ID: 0016
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("rate_shares", sa.Column("asks", sa.Float, nullable=True))


def downgrade() -> None:
    op.drop_column("rate_shares", "asks")  # plain DROP COLUMN, as in 0011
