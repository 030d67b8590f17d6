"""The consent ledger keeps each event's link, and refuses REPLACE and TRUNCATE.

``prev_hash`` stores the hash each event was chained to, so verification can
tell an event changed in place from one whose predecessor was rewritten (events
stored before this revision keep NULL: their link is the previous row's hash).

Revision 0001's triggers refuse UPDATE and DELETE, but two statements slipped
past them: SQLite's ``INSERT OR REPLACE`` (``REPLACE INTO``) deletes the row it
replaces without firing DELETE triggers, and PostgreSQL's ``TRUNCATE`` fires no
row trigger at all. SQLite now refuses an INSERT whose seq is taken; PostgreSQL
refuses TRUNCATE with a statement trigger.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "isobil_consent_events"


def upgrade() -> None:
    op.add_column(TABLE, sa.Column("prev_hash", sa.String(128)))
    if op.get_bind().dialect.name == "postgresql":
        # isobil_append_only() (revision 0001) raises naming the table.
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
            "FOR EACH STATEMENT EXECUTE FUNCTION isobil_append_only()"
        )
        return
    op.execute(
        "CREATE TRIGGER isobil_consent_events_no_replace BEFORE INSERT ON isobil_consent_events "
        "WHEN EXISTS (SELECT 1 FROM isobil_consent_events WHERE seq = NEW.seq) "
        "BEGIN SELECT RAISE(ABORT, 'isobil_consent_events is append-only: an event with this "
        "seq exists and cannot be replaced'); END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER {TABLE}_no_truncate ON {TABLE}")
    else:
        op.execute(f"DROP TRIGGER {TABLE}_no_replace")
    op.drop_column(TABLE, "prev_hash")
