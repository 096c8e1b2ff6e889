"""An Actual alert that reaches no one: most likely the wrong area, so the console asks, on the
draft's page, for a second and deliberate confirmation before it is submitted; the approver
sees the same warning beside the texts. An Exercise or a Test to no one is only noted. The API
is unchanged: its preview answers the count."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from alerts import permissions
from alerts.audience import audience_counts
from alerts.i18n import N_, Message
from alerts.model import AlertState
from alerts.validation import ValidationError

# The form field of the confirmation (templates/console/_nobody_confirm.html).
CONFIRM = "confirm_nobody"


async def check_reaches_someone(conn: AsyncConnection, alert: Any, form: Any, now: datetime, user: Any) -> None:
    """Refuse to submit an Actual alert whose audience is 0 people unless the box "Send it even
    though it reaches no one" was ticked; nothing is changed when refused. A submit that the
    workflow refuses anyway (not a draft, not this person's to submit) is left to say why."""
    if alert.status != "Actual" or form.get(CONFIRM) == "yes":
        return
    if alert.state != AlertState.DRAFT or not permissions.may_author(user, alert):
        return
    # Reached is what a channel of the alert delivers to: people in the area on none of its
    # channels (voice only, for an SMS alert) get nothing either.
    if not any((await audience_counts(conn, alert, now))["by_channel"].values()):
        raise ValidationError({CONFIRM: Message(N_(
            "Nothing was sent on: this real alert reaches no one. Check its area, or tick "
            "\u201cSend it even though it reaches no one\u201d."))})
