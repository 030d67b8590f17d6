"""Index credit entries by message: a message's credits come back once.

Before appending a release or refund, the storage looks up (with the ledger
locked) whether that message's credits were given back already; this index
keeps that lookup small. It is not unique: a ledger written before this
revision may hold a message given back twice, and the ledger is append-only.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_isobil_credit_entries_message_id",
        "isobil_credit_entries",
        ["message_id"],
        sqlite_where=sa.text("message_id IS NOT NULL"),
        postgresql_where=sa.text("message_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_isobil_credit_entries_message_id", table_name="isobil_credit_entries")
