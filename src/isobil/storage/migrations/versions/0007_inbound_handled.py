"""Inbound messages recorded on arrival, handled once, with any text kept.

An inbound message is now recorded before its consent events and auto reply are
written, and ``handled_at`` is set when they are: a retry after a failure
resumes a message whose ``handled_at`` is NULL. ``raw_text`` keeps the text as
received, escaped, when it held what no database stores (NUL, lone surrogates).
Messages recorded before this revision were recorded handled.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from isobil.storage._schema import UTCDateTime

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("isobil_inbound", sa.Column("raw_text", sa.Text()))
    op.add_column("isobil_inbound", sa.Column("handled_at", UTCDateTime()))
    op.execute("UPDATE isobil_inbound SET handled_at = received_at")


def downgrade() -> None:
    with op.batch_alter_table("isobil_inbound") as batch:
        batch.drop_column("handled_at")
        batch.drop_column("raw_text")
