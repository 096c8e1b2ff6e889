"""An Actual alert that reaches no one: most likely the wrong area, so the console asks, on the
draft's page, for a second and deliberate confirmation before it is submitted or approved. An
Exercise or a Test to no one is only noted. The API is unchanged: its preview answers the count."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from alerts.audience import audience_counts
from alerts.i18n import N_, Message
from alerts.validation import ValidationError

# The form field of the confirmation (templates/console/_nobody_confirm.html).
CONFIRM = "confirm_nobody"


async def check_reaches_someone(conn: AsyncConnection, alert: Any, form: Any, now: datetime) -> None:
    """Refuse to submit or approve an Actual alert whose audience is 0 people unless the box
    "Send it even though it reaches no one" was ticked; nothing is changed when refused."""
    if alert.status != "Actual" or form.get(CONFIRM) == "yes":
        return
    if (await audience_counts(conn, alert, now))["total"] == 0:
        raise ValidationError({CONFIRM: Message(N_(
            "Nothing was sent on: this real alert reaches no one. Check its area, or tick "
            "\u201cSend it even though it reaches no one\u201d."))})
