"""Index what pulling reports and inbound texts looks up.

Providers whose delivery reports are pulled (Netgsm) are asked about the
messages still ``submitted``; a partial index keeps that lookup small however
many settled messages accumulate. Inbound texts are recognised by the
provider's id when a provider pushes again or an inbox is pulled twice.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_isobil_messages_submitted",
        "isobil_messages",
        ["updated_at"],
        sqlite_where=sa.text("state = 'submitted'"),
        postgresql_where=sa.text("state = 'submitted'"),
    )
    op.create_index("ix_isobil_inbound_provider_id", "isobil_inbound", ["provider_id"])


def downgrade() -> None:
    op.drop_index("ix_isobil_inbound_provider_id", table_name="isobil_inbound")
    op.drop_index("ix_isobil_messages_submitted", table_name="isobil_messages")
