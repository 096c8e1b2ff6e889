"""web channel: publishing follows an alert's channels, so every alert stored before gets "web"
(what was published stays published)

Revision ID: 0009
Revises: 0008
"""
from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_alerts = sa.table("alerts", sa.column("id", sa.Integer), sa.column("channels", sa.JSON))


def _rewrite(change: Callable[[list[str]], list[str]]) -> None:
    conn = op.get_bind()
    for row in conn.execute(sa.select(_alerts.c.id, _alerts.c.channels)).all():
        channels = change(list(row.channels or []))
        if channels != row.channels:
            conn.execute(_alerts.update().where(_alerts.c.id == row.id).values(channels=channels))


def upgrade() -> None:
    _rewrite(lambda channels: channels if "web" in channels else [*channels, "web"])


def downgrade() -> None:
    _rewrite(lambda channels: [c for c in channels if c != "web"])
