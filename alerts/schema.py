"""The database tables, as SQLAlchemy Core objects. Migrations in alerts/migrations mirror this."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)



class UTCDateTime(sa.TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (which keeps no zone) as on PostgreSQL."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; pass an aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    # An approver's mobile (E.164) and whether they are on duty: who is told by SMS that an
    # alert waits (TOCSIN_NOTIFY_APPROVERS), in `language` (None: the home language).
    sa.Column("phone", sa.String(16), nullable=True),
    sa.Column("on_duty", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("language", sa.String(2), nullable=True),
    sa.CheckConstraint("role IN ('operator','approver','consular','admin')", name="role"),
)

# Consular officers act only for the countries listed here.
user_countries = sa.Table(
    "user_countries",
    metadata,
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("country", sa.String(2), primary_key=True),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("label", sa.String(64), nullable=False),
    # SHA-256 of a 256-bit random token: a slow hash buys nothing for random secrets,
    # and a fast one lets every API call find its token by index.
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("revoked_at", UTCDateTime()),
    # When the token was last used, to the minute (alerts.users.TOKEN_USE_GRAIN): not a write per call.
    sa.Column("last_used_at", UTCDateTime()),
)

subscribers = sa.Table(
    "subscribers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("phone", sa.String(16), nullable=False, index=True),
    sa.Column("language", sa.String(2), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("region", sa.String(8)),
    sa.Column("country", sa.String(2)),
    sa.Column("city", sa.String(100)),
    # region or country: one subscription per phone and area.
    sa.Column("area", sa.String(8), nullable=False),
    sa.Column("sms", sa.Boolean, nullable=False),
    sa.Column("voice", sa.Boolean, nullable=False),
    sa.Column("status", sa.String(8), nullable=False),
    sa.Column("consent_source", sa.String(16), nullable=False),
    sa.Column("consent_at", UTCDateTime(), nullable=False),
    sa.Column("consent_text_version", sa.String(32), nullable=False),
    sa.Column("trip_ends", sa.Date),
    # When the "still there?" message before the trip's end went out; cleared when extended.
    sa.Column("still_there_at", UTCDateTime()),
    # Taken to be sent: a claim that lapses, so a crash between claim and send loses nobody.
    sa.Column("still_there_claimed_at", UTCDateTime()),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("phone", "area"),
    sa.Index("ix_subscribers_audience", "area", "status"),
    sa.CheckConstraint("status IN ('pending','active','stopped')", name="status"),
    sa.CheckConstraint("kind IN ('resident','migrant','citizen_abroad')", name="kind"),
    sa.CheckConstraint("(region IS NULL) <> (country IS NULL)", name="one_area"),
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("identifier", sa.String(128), nullable=False, unique=True),
    sa.Column("sender", sa.String(128), nullable=False),
    sa.Column("sent", UTCDateTime()),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("msg_type", sa.String(8), nullable=False),
    sa.Column("scope", sa.String(12), nullable=False),
    sa.Column("references", sa.Text),
    sa.Column("scenario", sa.String(64), nullable=False),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("category", sa.String(16), nullable=False),
    sa.Column("event", sa.String(128), nullable=False),
    sa.Column("response_type", sa.String(16), nullable=False),
    sa.Column("urgency", sa.String(12), nullable=False),
    sa.Column("severity", sa.String(12), nullable=False),
    sa.Column("certainty", sa.String(12), nullable=False),
    sa.Column("onset", UTCDateTime()),
    sa.Column("expires", UTCDateTime(), nullable=False),
    sa.Column("regions", sa.JSON, nullable=False),
    sa.Column("countries", sa.JSON, nullable=False),
    sa.Column("kinds", sa.JSON, nullable=False),
    sa.Column("channels", sa.JSON, nullable=False),
    sa.Column("texts", sa.JSON, nullable=False),
    sa.Column("fallback_language", sa.String(2)),
    sa.Column("state", sa.String(20), nullable=False, index=True),
    sa.Column("send_at", UTCDateTime()),
    sa.Column("author_id", sa.ForeignKey("users.id"), nullable=False),
    sa.Column("approver_id", sa.ForeignKey("users.id")),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("submitted_at", UTCDateTime()),
    sa.Column("approved_at", UTCDateTime()),
    sa.Column("finished_at", UTCDateTime()),
    # Deliveries are queued in batches of subscriber ids; this is how far the current round got.
    sa.Column("materialised_upto", sa.Integer),
    sa.Column("materialised", sa.Boolean, nullable=False, server_default=sa.false()),
    # Ongoing hazards are re-sent every repeat_minutes until expiry; each repeat is a round.
    sa.Column("repeat_minutes", sa.Integer),
    sa.Column("round", sa.Integer, nullable=False, server_default="0"),
    sa.Column("halted_reason", sa.String(32)),
    # A safety check-in's later rounds: [{"after_minutes": 60, "channel": "sms"}, ...], each
    # to those of the first round who have not answered, timed from the first send.
    sa.Column("followups", sa.JSON),
    # The cell broadcast plan, fixed at approval (alerts/broadcast/plan.py): {"message_code": int,
    # "update_number": int, "identifiers": {"az": 4371, ...}, "network_wide": bool}; None: not broadcast.
    sa.Column("cell_broadcast", sa.JSON),
    sa.CheckConstraint("status IN ('Actual','Exercise','Test','Draft')", name="status"),
    sa.CheckConstraint("msg_type IN ('Alert','Update','Cancel')", name="msg_type"),
)

deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    # No foreign keys: PostgreSQL checked each with a trigger per queued row, a third of the
    # time of a million-row materialisation. Rows come only from subscribers and alerts that
    # exist (audience.materialise, queue.queue_failover); deleting either parent deletes its
    # deliveries by a trigger on the parent (migration 0014).
    sa.Column("alert_id", sa.Integer, nullable=False),
    sa.Column("subscriber_id", sa.Integer, nullable=False),
    sa.Column("channel", sa.String(8), nullable=False),
    sa.Column("round", sa.Integer, nullable=False, server_default="0"),
    sa.Column("language", sa.String(2), nullable=False),
    sa.Column("state", sa.String(12), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime()),
    sa.Column("lease_until", UTCDateTime()),
    sa.Column("claimed_at", UTCDateTime()),
    # The sender used (sms, sms_secondary, voice): reconciliation asks that one.
    sa.Column("via", sa.String(16)),
    # The last attempt's outcome is unknown (timeout, crash): ask the provider before re-sending.
    sa.Column("reconcile", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("provider_id", sa.String(64)),
    sa.Column("error_code", sa.String(24)),
    sa.Column("error_detail", sa.String(255)),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("accepted_at", UTCDateTime()),
    sa.Column("delivered_at", UTCDateTime()),
    # A call's listener pressed 1: they heard it (SPEC §6).
    sa.Column("acknowledged_at", UTCDateTime()),
    sa.UniqueConstraint("alert_id", "subscriber_id", "channel", "round"),
    # Only what a query needs: a queued row is in neither of the next two (migration 0015).
    # Lapsed leases (lease_until < now implies NOT NULL, on both engines):
    sa.Index("ix_deliveries_leased", "lease_until", postgresql_where=sa.text("lease_until IS NOT NULL"),
             sqlite_where=sa.text("lease_until IS NOT NULL")),
    # Numbers that failed (consular.freshness); the query names these states as literals, which
    # the planner needs to match them with the index's own.
    sa.Index("ix_deliveries_failed", "subscriber_id",
             postgresql_where=sa.text("state IN ('failed', 'undelivered')"),
             sqlite_where=sa.text("state IN ('failed', 'undelivered')")),
    # Claims walk one alert's due deliveries in order: an index range scan, never a sort.
    sa.Index("ix_deliveries_claim", "alert_id", "state", "next_attempt_at", "id"),
    sa.Index("ix_deliveries_subscriber", "subscriber_id", "state"),
    # Rows are queued without a provider id: they stay out of this index until sent.
    sa.Index("ix_deliveries_provider_id", "provider_id", postgresql_where=sa.text("provider_id IS NOT NULL"),
             sqlite_where=sa.text("provider_id IS NOT NULL")),
)

# Append-only; each row's hash covers the previous row's hash, so an edit breaks the chain.
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target", sa.String(64), nullable=False),
    sa.Column("details", sa.JSON, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False, unique=True),
)

# Status callbacks that arrived before the send that caused them was recorded; applied
# (forward only) when it is, so a fast provider never loses a delivery report.
early_statuses = sa.Table(
    "early_statuses",
    metadata,
    sa.Column("provider_id", sa.String(64), primary_key=True),
    sa.Column("state", sa.String(12), nullable=False),
    sa.Column("error_code", sa.String(24)),
    sa.Column("received_at", UTCDateTime(), nullable=False),
)

# An alert read aloud by a person, played by the hotline instead of synthesised speech
# (Twilio has no Azerbaijani voice; a recording beats espeak-ng).
recordings = sa.Table(
    "recordings",
    metadata,
    sa.Column("alert_id", sa.ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("language", sa.String(2), primary_key=True),
    sa.Column("content_type", sa.String(16), nullable=False),
    sa.Column("audio", sa.LargeBinary, nullable=False),
    sa.Column("uploaded_by", sa.ForeignKey("users.id"), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

# Web sign-ups waiting for the code sent by SMS: the subscription exists only once the
# code comes back (double opt-in). The code is kept as an HMAC, never in clear.
signups = sa.Table(
    "signups",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("token", sa.String(43), nullable=False, unique=True),
    sa.Column("phone", sa.String(16), nullable=False, index=True),
    sa.Column("language", sa.String(2), nullable=False),
    sa.Column("area", sa.String(8), nullable=False),
    sa.Column("voice", sa.Boolean, nullable=False),
    sa.Column("trip_ends", sa.Date),
    sa.Column("city", sa.String(100)),
    sa.Column("code_hash", sa.String(64), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Column("confirmed_at", UTCDateTime()),
)

# One row per (alert, kind, call-centre endpoint): the push of an alert or of its cancel,
# retried with backoff until the endpoint answers 2xx. In the database, so a restart resumes.
callcentre_pushes = sa.Table(
    "callcentre_pushes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("alert_id", sa.ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("endpoint", sa.String(500), nullable=False),
    sa.Column("state", sa.String(12), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    # Also the lease: a claimed push is due again only if its sender died.
    sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
    sa.Column("last_status", sa.Integer),
    sa.Column("last_error", sa.String(255)),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("acknowledged_at", UTCDateTime()),
    sa.UniqueConstraint("alert_id", "kind", "endpoint"),
    sa.Index("ix_callcentre_pushes_due", "state", "next_attempt_at"),
    sa.CheckConstraint("kind IN ('alert','cancel')", name="kind"),
    sa.CheckConstraint("state IN ('pending','acknowledged','abandoned')", name="state"),
)

# CAP messages taken in from outside (POST /api/v1/cap or the upstream feed), by their own
# sender and identifier: the same message twice makes one draft.
cap_ingested = sa.Table(
    "cap_ingested",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender", sa.String(255), nullable=False),
    sa.Column("identifier", sa.String(255), nullable=False),
    sa.Column("alert_id", sa.ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("source", sa.String(8), nullable=False),
    sa.Column("received_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("sender", "identifier"),
)

# Answers to a safety check-in, one per person and check-in: the latest answer counts.
responses = sa.Table(
    "responses",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("alert_id", sa.ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("subscriber_id", sa.ForeignKey("subscribers.id", ondelete="CASCADE"), nullable=False),
    sa.Column("answer", sa.String(10), nullable=False),
    sa.Column("channel", sa.String(8), nullable=False),
    sa.Column("answered_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("alert_id", "subscriber_id"),
    sa.CheckConstraint("answer IN ('safe','need_help')", name="answer"),
)

# Call-back tickets: someone answered "I need help"; a call-taker or the consulate calls back
# in the person's language.
tickets = sa.Table(
    "tickets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("alert_id", sa.ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("subscriber_id", sa.ForeignKey("subscribers.id", ondelete="CASCADE"), nullable=False),
    sa.Column("language", sa.String(2), nullable=False),
    sa.Column("country", sa.String(2)),
    sa.Column("status", sa.String(8), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("closed_at", UTCDateTime()),
    sa.Column("closed_by", sa.String(64)),
    sa.UniqueConstraint("alert_id", "subscriber_id"),
    sa.Index("ix_tickets_status_language", "status", "language"),
    sa.CheckConstraint("status IN ('open','closed')", name="status"),
)

# Free text sent during an open check-in that is neither an answer nor a keyword ("the road
# to the airport is closed, we are 4"): kept for a person at the consulate to read, never
# answered by a machine with the HELP text.
inbound_messages = sa.Table(
    "inbound_messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("alert_id", sa.ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("subscriber_id", sa.ForeignKey("subscribers.id", ondelete="CASCADE"), nullable=False),
    sa.Column("language", sa.String(2), nullable=False),
    sa.Column("body", sa.String(1600), nullable=False),
    sa.Column("received_at", UTCDateTime(), nullable=False),
    sa.Column("read_at", UTCDateTime()),
    sa.Index("ix_inbound_messages_alert_id_read_at", "alert_id", "read_at"),
)

# Console sessions, kept on the server: the cookie holds a random token, this table only its
# SHA-256, so a database read never yields a usable session.
console_sessions = sa.Table(
    "console_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("last_seen_at", UTCDateTime(), nullable=False),
    sa.Column("revoked_at", UTCDateTime()),
)

# Each approver told by SMS that an alert waits, once: the row is taken before the SMS goes,
# so two instances hearing the same event (or one hearing it twice) send it once.
approval_notices = sa.Table(
    "approval_notices",
    metadata,
    sa.Column("alert_id", sa.ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

# One row per (alert, cell broadcast centre, language, write or kill): the ECBE request that
# puts the alert's message on the phones or takes it off, retried with backoff until the CBC
# accepts it. In the database, so a restart resumes (alerts/broadcast/worker.py).
cell_broadcasts = sa.Table(
    "cell_broadcasts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("alert_id", sa.ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
    # The CBC's configured name (TOCSIN_CBC_NAMES), never its URL.
    sa.Column("cbc", sa.String(200), nullable=False),
    sa.Column("language", sa.String(2), nullable=False),
    # The message identifier (4370-4381...) and the encoded serial number (message code, update number).
    sa.Column("message_id", sa.Integer, nullable=False),
    sa.Column("serial_number", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("state", sa.String(12), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_status", sa.Integer),
    sa.Column("last_answer", sa.String(500)),
    sa.Column("last_error", sa.String(255)),
    # Also the lease: a claimed row is due again only if its sender died.
    sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("accepted_at", UTCDateTime()),
    # Some attempt of this request got no answer (OsmoCBC 0.3.0 loses some): the CBC may hold
    # our message, so a later 409 is ours and an ended alert's kill is still owed. Never reset.
    sa.Column("outcome_unknown", sa.Boolean, nullable=False, server_default=sa.false()),
    # In a sender's hands until then (next_attempt_at is also the backoff's, so it cannot say).
    sa.Column("lease_until", UTCDateTime()),
    sa.UniqueConstraint("alert_id", "cbc", "language", "kind"),
    sa.Index("ix_cell_broadcasts_due", "state", "next_attempt_at"),
    sa.CheckConstraint("kind IN ('write','kill')", name="kind"),
    sa.CheckConstraint("state IN ('pending','accepted','refused','abandoned')", name="state"),
)

# Each sending instance's share of the account's SMS rate, leased (alerts.dispatch.shares).
# PostgreSQL only: on SQLite one instance has the whole rate. Times are the database's now().
rate_shares = sa.Table(
    "rate_shares",
    metadata,
    sa.Column("instance", sa.String(200), primary_key=True),  # host:pid:random
    sa.Column("claim", sa.Float, nullable=False),  # what it sends at, per second
    # What it asks for, per second (alerts.dispatch.shares.fair_share); NULL: the whole rate.
    sa.Column("asks", sa.Float),
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("renewed_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
)
