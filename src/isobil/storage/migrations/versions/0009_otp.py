"""Keep one-time codes (isobil.otp) as keyed hashes, with expiry and attempts.

A code is never stored: only the HMAC-SHA256 of the number and the code, keyed
with a random salt of its own (and the application's secret, when it has one).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from isobil.storage._schema import UTCDateTime, key_type

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "isobil_otp",
        sa.Column("id", key_type(), primary_key=True),
        sa.Column("number", key_type(), nullable=False),
        sa.Column("brand", key_type()),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("salt", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", UTCDateTime()),
    )
    op.create_index("ix_isobil_otp_number_created_at", "isobil_otp", ["number", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_isobil_otp_number_created_at", table_name="isobil_otp")
    op.drop_table("isobil_otp")
