"""Index consent events by brand and date, for consent reports by day.

The report of opt-ins and opt-outs per day (and the İYS reconciliation of a
period) scans a brand's events in a date range; without this index it reads
the whole ledger.

Revision ID: 0002
Revises: 0001
Create Date: 2026-05-10
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_isobil_consent_events_brand_date",
        "isobil_consent_events",
        ["brand", "consent_date"],
    )


def downgrade() -> None:
    op.drop_index("ix_isobil_consent_events_brand_date", table_name="isobil_consent_events")
