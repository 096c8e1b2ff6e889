"""What waits for an approver: the count behind the badge on every console page.

The console guard counts what waits for the signed-in approver once per request, in the
connection it already opens for the session (`WAITING`), so every console page shows the
badge with no query of its own. alerts.console.bell keeps an open page's badge live and
tells the approvers on duty by SMS."""

from __future__ import annotations

import sqlalchemy as sa
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncConnection

from alerts import i18n, permissions
from alerts.model import AlertState, Role
from alerts.schema import alerts
from alerts.users import User

# The roles that approve; for everyone else the badge is not there at all (None).
APPROVING = (Role.APPROVER, Role.CONSULAR)
# The ids waiting for the signed-in user's approval (None: a role that never approves), set
# by the console guard on every request for the pages' badge.
WAITING: web.RequestKey[set[int] | None] = web.RequestKey("console_waiting")


async def waiting_ids(conn: AsyncConnection, user: User) -> set[int] | None:
    """The alerts pending approval that this user may approve, or None for a role that never
    approves: one small query over the pending ones (few at any time), the same rule as the
    Approve button's (permissions.may_approve)."""
    if user.role not in APPROVING:
        return None
    rows = (await conn.execute(
        sa.select(alerts.c.id, alerts.c.regions, alerts.c.countries, alerts.c.author_id)
        .where(alerts.c.state == AlertState.PENDING_APPROVAL))).all()
    return {r.id for r in rows if permissions.may_approve(user, r)}


def badge_text(count: int) -> str:
    """The badge's words in the current language."""
    return i18n.ngettext("%(num)d waits for your approval", "%(num)d wait for your approval", count) % {"num": count}
