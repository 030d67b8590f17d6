"""The tables of :class:`~isobil.storage.SQLStorage`, in SQLAlchemy Core.

The migrations in ``isobil/storage/migrations`` create this schema; a test
compares a migrated database with :data:`metadata` so the two cannot drift.
Every table name starts with ``isobil_`` so isobil can share a database with
the application that embeds it (which may run Alembic itself: isobil keeps its
revision in its own version table).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

from isobil._time import aware

__all__ = [
    "HEAD",
    "REVISIONS",
    "VERSION_TABLE",
    "UTCDateTime",
    "blacklist",
    "campaigns",
    "consent_events",
    "contact_groups",
    "contacts",
    "credit_entries",
    "delivery_reports",
    "inbound",
    "iys_sync",
    "key_type",
    "message_parts",
    "messages",
    "metadata",
    "otp",
    "read_utc",
    "schedule_occurrences",
    "schedules",
    "seq_type",
    "state",
    "templates",
]

#: Every migration revision this code knows, oldest first; the last is the head.
#: A test checks this against the migration scripts, so the hot path of opening
#: a storage needs no Alembic import to tell "older" from "newer than this code".
REVISIONS: tuple[str, ...] = tuple(f"{n:04d}" for n in range(1, 11))
HEAD = REVISIONS[-1]
VERSION_TABLE = "isobil_alembic_version"


@overload
def read_utc(value: None, dialect: Dialect | None = None) -> None: ...
@overload
def read_utc(value: datetime | str, dialect: Dialect | None = None) -> datetime: ...
def read_utc(value: datetime | str | None, dialect: Dialect | None = None) -> datetime | None:
    """A stored time as :class:`UTCDateTime` reads it back: aware, in UTC.

    ``value`` is what the database gave: PostgreSQL's aware datetime, or SQLite's
    naive UTC time (text when read straight from the driver). ``dialect`` is
    unused: this is ``UTCDateTime.process_result_value``.
    """
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timezone-aware datetime stored in UTC; it always comes back aware, in UTC.

    PostgreSQL keeps ``timestamptz``. SQLite has no time type, so the value is
    stored as naive UTC text of fixed width, which sorts and compares in time
    order.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        # Refused, never read as local time: a tzinfo without a UTC offset too.
        value = aware(value, "a time stored").astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    # One function reads UTCDateTime values, here and where storage reads rows raw.
    process_result_value = staticmethod(read_utc)


def key_type() -> sa.types.TypeEngine[str]:
    """Text that identifies or orders rows: numbers, ids, names.

    On PostgreSQL it uses the "C" collation so rows order by code point, as
    Python sorts them (and as SQLite does), whatever the server's locale.
    """
    return sa.String().with_variant(postgresql.VARCHAR(collation="C"), "postgresql")


def seq_type() -> sa.types.TypeEngine[int]:
    """A 64-bit sequence number; on SQLite an alias of the rowid (``INTEGER PRIMARY KEY``)."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


metadata = sa.MetaData()

contacts = sa.Table(
    "isobil_contacts",
    metadata,
    sa.Column("number", key_type(), primary_key=True),
    sa.Column("name", sa.Text()),
    sa.Column("surname", sa.Text()),
    sa.Column("email", sa.Text()),
    sa.Column("fields", sa.Text(), nullable=False),  # JSON object of custom fields
    sa.Column("recipient_type", sa.String(16), nullable=False),
)

contact_groups = sa.Table(
    "isobil_contact_groups",
    metadata,
    sa.Column("group_name", key_type(), primary_key=True),
    sa.Column(
        "number",
        key_type(),
        sa.ForeignKey(
            "isobil_contacts.number",
            name="fk_isobil_contact_groups_number",
            ondelete="CASCADE",
        ),
        primary_key=True,
    ),
    sa.Index("ix_isobil_contact_groups_number", "number"),
)

blacklist = sa.Table(
    "isobil_blacklist",
    metadata,
    sa.Column("number", key_type(), primary_key=True),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("added_at", UTCDateTime(), nullable=False),
    sa.Column("source", sa.Text()),
)

consent_events = sa.Table(
    "isobil_consent_events",
    metadata,
    sa.Column("seq", seq_type(), primary_key=True, autoincrement=False),
    sa.Column("address", key_type(), nullable=False),
    sa.Column("status", sa.String(8), nullable=False),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("brand", key_type(), nullable=False),
    sa.Column("channel", sa.String(8), nullable=False),
    sa.Column("recipient_type", sa.String(16), nullable=False),
    sa.Column("consent_date", UTCDateTime(), nullable=False),
    sa.Column("recorded_at", UTCDateTime(), nullable=False),
    sa.Column("scope", sa.Text()),
    sa.Column("evidence", sa.Text(), nullable=False),  # JSON object
    sa.Column("hash", sa.String(128)),
    # The deciding-event lookup of a whole audience (consent_states).
    sa.Index("ix_isobil_consent_events_state", "brand", "channel", "address", "consent_date"),
    sa.Index("ix_isobil_consent_events_address", "address", "seq"),
    # Revision 0002: consent reports by brand and day.
    sa.Index("ix_isobil_consent_events_brand_date", "brand", "consent_date"),
    # Revision 0005: the hash each event was chained to (NULL before 0005), so
    # verify() tells a changed event from a link broken by a change before it.
    # 0005 also adds triggers (not metadata): on SQLite an INSERT of a seq that
    # exists is refused (INSERT OR REPLACE would delete without the DELETE
    # trigger), on PostgreSQL a TRUNCATE.
    sa.Column("prev_hash", sa.String(128)),
)

iys_sync = sa.Table(
    "isobil_iys_sync",
    metadata,
    # No foreign key: like MemoryStorage, a sync record may name any seq.
    sa.Column("seq", seq_type(), primary_key=True, autoincrement=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("request_id", key_type()),
    sa.Column("error", sa.Text()),
    # What is still waiting for an İYS answer: a few rows among millions.
    sa.Index(
        "ix_isobil_iys_sync_pending",
        "request_id",
        "seq",
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    ),
)

state = sa.Table(
    "isobil_state",
    metadata,
    sa.Column("key", key_type(), primary_key=True),
    sa.Column("value", sa.Text(), nullable=False),
)

# Keys of pushes already handled (a signed callback), until they expire: replays are
# refused by every process that shares the database.
seen = sa.Table(
    "isobil_seen",
    metadata,
    sa.Column("key", key_type(), primary_key=True),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
)

# Revision 0010: one-time codes (isobil.otp), kept as keyed hashes, never in clear.
otp = sa.Table(
    "isobil_otp",
    metadata,
    sa.Column("id", key_type(), primary_key=True),
    sa.Column("number", key_type(), nullable=False),
    sa.Column("brand", key_type()),
    sa.Column("hash", sa.String(64), nullable=False),  # hex HMAC-SHA256
    sa.Column("salt", sa.String(64), nullable=False),  # hex, random per code
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("used_at", UTCDateTime()),
    # A number's codes, newest last: the rate limit counts them, verify takes the newest.
    sa.Index("ix_isobil_otp_number_created_at", "number", "created_at"),
)

inbound = sa.Table(
    "isobil_inbound",
    metadata,
    sa.Column("id", key_type(), primary_key=True),
    sa.Column("sender", key_type(), nullable=False),
    sa.Column("recipient", key_type(), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("received_at", UTCDateTime(), nullable=False),
    sa.Column("intent", sa.String(32), nullable=False),
    sa.Column("brand", key_type()),
    sa.Column("keyword", sa.Text()),
    sa.Column("consent_seqs", sa.Text(), nullable=False),  # JSON array of ledger seqs
    sa.Column("reply_id", key_type()),
    sa.Column("provider_id", key_type()),
    # Revision 0007: the text as received when it could not be stored as is
    # (escaped), and when the message was handled (NULL while a retry may resume it).
    sa.Column("raw_text", sa.Text()),
    sa.Column("handled_at", UTCDateTime()),
    sa.Index("ix_isobil_inbound_received_at", "received_at", "id"),
    # A provider that pushes again, or an inbox pulled twice, is recognised.
    sa.Index("ix_isobil_inbound_provider_id", "provider_id"),
)

templates = sa.Table(
    "isobil_templates",
    metadata,
    sa.Column("name", key_type(), primary_key=True),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

campaigns = sa.Table(
    "isobil_campaigns",
    metadata,
    sa.Column("id", key_type(), primary_key=True),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("category", sa.String(32), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("brand", key_type()),
    sa.Column("name", sa.Text()),
    sa.Column("originator", sa.Text()),
    sa.Column("send_at", UTCDateTime()),
    sa.Column("schedule_id", key_type()),
    sa.Index("ix_isobil_campaigns_created_at", "created_at"),
    # Revision 0009: the running campaigns, which every dispatcher pass looks at
    # (to finish those with nothing left to send): a few rows however many
    # finished campaigns accumulate.
    sa.Index(
        "ix_isobil_campaigns_running",
        "id",
        sqlite_where=sa.text("status = 'running'"),
        postgresql_where=sa.text("status = 'running'"),
    ),
)

messages = sa.Table(
    "isobil_messages",
    metadata,
    sa.Column("id", key_type(), primary_key=True),
    sa.Column(
        "campaign_id",
        key_type(),
        sa.ForeignKey("isobil_campaigns.id", name="fk_isobil_messages_campaign_id"),
        nullable=False,
    ),
    sa.Column("recipient", key_type(), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("parts", sa.Integer(), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("not_before", UTCDateTime()),
    sa.Column("claimed_by", sa.Text()),
    sa.Column("lease_until", UTCDateTime()),
    sa.Column("provider_id", key_type()),
    sa.Column("error_code", sa.Text()),
    sa.Column("reason", sa.Text()),
    sa.Column("updated_at", UTCDateTime()),
    sa.Index("ix_isobil_messages_campaign_state", "campaign_id", "state"),
    sa.Index("ix_isobil_messages_provider_id", "provider_id"),
    # Who was ever messaged (the first message to a legacy contact must say so).
    sa.Index("ix_isobil_messages_recipient", "recipient"),
    # Partial indexes: the claim walks queued messages in id order, and
    # expire_claims looks only at in-flight ones; both stay small however many
    # settled messages accumulate.
    sa.Index(
        "ix_isobil_messages_queued",
        "id",
        sqlite_where=sa.text("state = 'queued'"),
        postgresql_where=sa.text("state = 'queued'"),
    ),
    sa.Index(
        "ix_isobil_messages_submitting",
        "lease_until",
        sqlite_where=sa.text("state = 'submitting'"),
        postgresql_where=sa.text("state = 'submitting'"),
    ),
    # Messages waiting for a report, for providers whose reports are pulled.
    sa.Index(
        "ix_isobil_messages_submitted",
        "updated_at",
        sqlite_where=sa.text("state = 'submitted'"),
        postgresql_where=sa.text("state = 'submitted'"),
    ),
)

delivery_reports = sa.Table(
    "isobil_delivery_reports",
    metadata,
    sa.Column("id", seq_type(), primary_key=True, autoincrement=True),
    sa.Column("provider_id", key_type(), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("received_at", UTCDateTime(), nullable=False),
    sa.Column("error_code", sa.Text()),
    sa.Column("message_id", key_type()),
    sa.Index("ix_isobil_delivery_reports_provider_id", "provider_id"),
    sa.Index("ix_isobil_delivery_reports_message_id", "message_id"),
)

# Revision 0008: the parts of a long message, each accepted under an id of its own,
# so a receipt for any part settles its message in whichever process reads it.
message_parts = sa.Table(
    "isobil_message_parts",
    metadata,
    sa.Column("provider_id", key_type(), primary_key=True),
    sa.Column("message_id", key_type(), nullable=False),
    sa.Column("part", sa.Integer(), nullable=False),
    sa.Column("status", sa.String(32)),
    sa.Column("error_code", sa.Text()),
    sa.Column("updated_at", UTCDateTime()),
    sa.Index("ix_isobil_message_parts_message_id", "message_id", "part"),
)

credit_entries = sa.Table(
    "isobil_credit_entries",
    metadata,
    sa.Column("seq", seq_type(), primary_key=True, autoincrement=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("amount", sa.BigInteger(), nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("campaign_id", key_type()),
    sa.Column("message_id", key_type()),
    sa.Column("note", sa.Text()),
    # The running balance after this entry, computed while appends are
    # serialised: the balance is one row away instead of a sum of the ledger.
    sa.Column("balance_after", sa.BigInteger(), nullable=False),
    sa.Index("ix_isobil_credit_entries_campaign_id", "campaign_id"),
    # Revision 0006: a message's credits come back once; an append looks up
    # the releases and refunds of its messages while the ledger is locked.
    sa.Index(
        "ix_isobil_credit_entries_message_id",
        "message_id",
        sqlite_where=sa.text("message_id IS NOT NULL"),
        postgresql_where=sa.text("message_id IS NOT NULL"),
    ),
)

schedules = sa.Table(
    "isobil_schedules",
    metadata,
    sa.Column("id", key_type(), primary_key=True),
    sa.Column("rule", sa.Text(), nullable=False),
    sa.Column("timezone", sa.Text(), nullable=False),
    sa.Column("next_at", UTCDateTime()),
    sa.Column("payload", sa.Text(), nullable=False),  # JSON object
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Index("ix_isobil_schedules_status_next_at", "status", "next_at"),
)

schedule_occurrences = sa.Table(
    "isobil_schedule_occurrences",
    metadata,
    sa.Column(
        "schedule_id",
        key_type(),
        sa.ForeignKey("isobil_schedules.id", name="fk_isobil_schedule_occurrences_schedule_id"),
        primary_key=True,
    ),
    sa.Column("occurrence", UTCDateTime(), primary_key=True),
)
