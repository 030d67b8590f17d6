"""Index the running campaigns: an idle dispatcher pass reads no finished one.

Each dispatcher pass ends by marking ``done`` the running campaigns with nothing
left to send; this partial index holds only the running ones, so that look costs
the same with ten past campaigns or a million.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-10
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_isobil_campaigns_running",
        "isobil_campaigns",
        ["id"],
        sqlite_where=sa.text("status = 'running'"),
        postgresql_where=sa.text("status = 'running'"),
    )


def downgrade() -> None:
    op.drop_index("ix_isobil_campaigns_running", table_name="isobil_campaigns")
