"""The initial schema: contacts, consent ledger, inbound, campaigns, credits, schedules.

Consent events and credit entries are append-only: besides the storage API
offering no way to change them, triggers refuse UPDATE and DELETE, so proof of
consent and the money trail cannot be rewritten by accident.

Revision ID: 0001
Revises:
Create Date: 2026-05-10
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from isobil.storage._schema import UTCDateTime, key_type, seq_type

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ("isobil_consent_events", "isobil_credit_entries")


def upgrade() -> None:
    op.create_table(
        "isobil_contacts",
        sa.Column("number", key_type(), primary_key=True),
        sa.Column("name", sa.Text()),
        sa.Column("surname", sa.Text()),
        sa.Column("email", sa.Text()),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("recipient_type", sa.String(16), nullable=False),
    )
    op.create_table(
        "isobil_contact_groups",
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
    )
    op.create_index("ix_isobil_contact_groups_number", "isobil_contact_groups", ["number"])
    op.create_table(
        "isobil_blacklist",
        sa.Column("number", key_type(), primary_key=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.Column("source", sa.Text()),
    )
    op.create_table(
        "isobil_consent_events",
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
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("hash", sa.String(128)),
    )
    op.create_index(
        "ix_isobil_consent_events_state",
        "isobil_consent_events",
        ["brand", "channel", "address", "consent_date"],
    )
    op.create_index("ix_isobil_consent_events_address", "isobil_consent_events", ["address", "seq"])
    op.create_table(
        "isobil_iys_sync",
        sa.Column("seq", seq_type(), primary_key=True, autoincrement=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("request_id", key_type()),
        sa.Column("error", sa.Text()),
    )
    op.create_index(
        "ix_isobil_iys_sync_pending",
        "isobil_iys_sync",
        ["request_id", "seq"],
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "isobil_state",
        sa.Column("key", key_type(), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )
    op.create_table(
        "isobil_inbound",
        sa.Column("id", key_type(), primary_key=True),
        sa.Column("sender", key_type(), nullable=False),
        sa.Column("recipient", key_type(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("intent", sa.String(32), nullable=False),
        sa.Column("brand", key_type()),
        sa.Column("keyword", sa.Text()),
        sa.Column("consent_seqs", sa.Text(), nullable=False),
        sa.Column("reply_id", key_type()),
        sa.Column("provider_id", key_type()),
    )
    op.create_index("ix_isobil_inbound_received_at", "isobil_inbound", ["received_at", "id"])
    op.create_table(
        "isobil_templates",
        sa.Column("name", key_type(), primary_key=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "isobil_campaigns",
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
    )
    op.create_index("ix_isobil_campaigns_created_at", "isobil_campaigns", ["created_at"])
    op.create_table(
        "isobil_messages",
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
    )
    op.create_index(
        "ix_isobil_messages_campaign_state", "isobil_messages", ["campaign_id", "state"]
    )
    op.create_index("ix_isobil_messages_provider_id", "isobil_messages", ["provider_id"])
    op.create_index("ix_isobil_messages_recipient", "isobil_messages", ["recipient"])
    op.create_index(
        "ix_isobil_messages_queued",
        "isobil_messages",
        ["id"],
        sqlite_where=sa.text("state = 'queued'"),
        postgresql_where=sa.text("state = 'queued'"),
    )
    op.create_index(
        "ix_isobil_messages_submitting",
        "isobil_messages",
        ["lease_until"],
        sqlite_where=sa.text("state = 'submitting'"),
        postgresql_where=sa.text("state = 'submitting'"),
    )
    op.create_table(
        "isobil_delivery_reports",
        sa.Column("id", seq_type(), primary_key=True, autoincrement=True),
        sa.Column("provider_id", key_type(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("error_code", sa.Text()),
        sa.Column("message_id", key_type()),
    )
    op.create_index(
        "ix_isobil_delivery_reports_provider_id", "isobil_delivery_reports", ["provider_id"]
    )
    op.create_index(
        "ix_isobil_delivery_reports_message_id", "isobil_delivery_reports", ["message_id"]
    )
    op.create_table(
        "isobil_credit_entries",
        sa.Column("seq", seq_type(), primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("campaign_id", key_type()),
        sa.Column("message_id", key_type()),
        sa.Column("note", sa.Text()),
        sa.Column("balance_after", sa.BigInteger(), nullable=False),
    )
    op.create_index(
        "ix_isobil_credit_entries_campaign_id", "isobil_credit_entries", ["campaign_id"]
    )
    op.create_table(
        "isobil_schedules",
        sa.Column("id", key_type(), primary_key=True),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column("next_at", UTCDateTime()),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
    )
    op.create_index("ix_isobil_schedules_status_next_at", "isobil_schedules", ["status", "next_at"])
    op.create_table(
        "isobil_schedule_occurrences",
        sa.Column(
            "schedule_id",
            key_type(),
            sa.ForeignKey("isobil_schedules.id", name="fk_isobil_schedule_occurrences_schedule_id"),
            primary_key=True,
        ),
        sa.Column("occurrence", UTCDateTime(), primary_key=True),
    )
    _create_append_only_triggers()


def _create_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION isobil_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME "
            "USING ERRCODE = 'restrict_violation'; END $$"
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION isobil_append_only()"
            )
        return
    for table in APPEND_ONLY:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in (
        "isobil_schedule_occurrences",
        "isobil_schedules",
        "isobil_credit_entries",
        "isobil_delivery_reports",
        "isobil_messages",
        "isobil_campaigns",
        "isobil_templates",
        "isobil_inbound",
        "isobil_state",
        "isobil_iys_sync",
        "isobil_consent_events",
        "isobil_blacklist",
        "isobil_contact_groups",
        "isobil_contacts",
    ):
        op.drop_table(table)
    if postgresql:
        op.execute("DROP FUNCTION isobil_append_only()")
