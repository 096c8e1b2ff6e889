"""Which alerts the public may see. A draft, an alert waiting for approval, or one scheduled
for later and cancelled before it went out was never published: no page, no CAP, no push.
Nor is an alert without the `web` channel, whatever its state: it goes to its subscribers only."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from alerts.model import SUPERSEDED, WEB_CHANNEL, AlertState
from alerts.schema import alerts

_LIVE_STATES = (AlertState.APPROVED, AlertState.SENDING, AlertState.SENT, AlertState.SCHEDULED)
_ENDED_STATES = (AlertState.CANCELLED, AlertState.EXPIRED)

# SENT_OUT: approved and gone out to its subscribers. `sent` is set when its first round
# starts, a moment after approval (or at its scheduled time), and never changes after, so the
# CAP <sent> that references point at is the same wherever it is read. A repeating alert
# between rounds is `scheduled` again, with `sent` kept from its first round.
SENT_OUT = sa.and_(
    alerts.c.approved_at.is_not(None),
    alerts.c.sent.is_not(None),
    alerts.c.state.in_([*_LIVE_STATES, *_ENDED_STATES]),
)
# WENT_OUT, the one definition of "published" (the public may see it: page, CAP, feeds, the
# hotline's list, call-centre pushes): gone out, and on the `web` channel; a consular
# check-in goes to registered nationals, not the world. `channels` is a JSON list drawn from
# a closed set of names, so its text holds '"web"' exactly when the list holds it, on every
# database.
ON_WEB = sa.cast(alerts.c.channels, sa.Text).like(f'%"{WEB_CHANNEL}"%')
WENT_OUT = sa.and_(SENT_OUT, ON_WEB)


# Withdrawn: gone out, then cancelled (or corrected) by someone; not replaced by an update,
# which stands in its place on the page, the feeds and the pushes instead.
WITHDRAWN = sa.and_(WENT_OUT, alerts.c.state == AlertState.CANCELLED,
                    alerts.c.halted_reason.is_distinct_from(SUPERSEDED))


def active(now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(WENT_OUT, alerts.c.state.in_(_LIVE_STATES), alerts.c.expires > now)


def ended(now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(WENT_OUT, sa.or_(alerts.c.state.in_(_ENDED_STATES), alerts.c.expires <= now))
