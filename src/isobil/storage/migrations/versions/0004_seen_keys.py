"""Keep the keys of handled pushes, so a replay is refused by every process.

A signed callback is remembered here until its replay window ends; every worker
process serving callbacks on the same database sees it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from isobil.storage._schema import UTCDateTime, key_type

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "isobil_seen",
        sa.Column("key", key_type(), primary_key=True),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("isobil_seen")
