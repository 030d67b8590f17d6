"""The parts of long messages, so their receipts are reconciled in any process.

Each part of a long message is accepted by an SMSC under an id of its own, and
its receipt names that id. The ids are kept with the message when its submit is
settled, so a receipt read by another bind, another process, or a worker
started after the one that sent the message settles the right message and part.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-10
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from isobil.storage._schema import UTCDateTime, key_type

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "isobil_message_parts",
        sa.Column("provider_id", key_type(), primary_key=True),
        sa.Column("message_id", key_type(), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(32)),
        sa.Column("error_code", sa.Text()),
        sa.Column("updated_at", UTCDateTime()),
    )
    op.create_index(
        "ix_isobil_message_parts_message_id", "isobil_message_parts", ["message_id", "part"]
    )


def downgrade() -> None:
    op.drop_index("ix_isobil_message_parts_message_id", table_name="isobil_message_parts")
    op.drop_table("isobil_message_parts")
