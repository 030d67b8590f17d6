"""PostgreSQL for the storage tests: a throw-away database per test module.

The server is the one SPEC §5 promises (127.0.0.1:5432, user postgres, trust
auth); ``ISOBIL_TEST_PG_URL`` points elsewhere. When it cannot be reached the
tests skip with the reason, which tests/conftest.py turns into a failure
under CI=true.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from isobil.storage import _schema

ADMIN_URL = sa.make_url(
    os.environ.get("ISOBIL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
)


def _admin() -> sa.Engine:
    return sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)


@contextmanager
def fresh_database() -> Iterator[str]:
    """Create an empty database, yield its URL, then drop it."""
    name = f"isobil_test_{uuid.uuid4().hex[:12]}"
    admin = _admin()
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
    except sa.exc.OperationalError as exc:
        admin.dispose()
        where = f"{ADMIN_URL.host}:{ADMIN_URL.port or 5432}"
        pytest.skip(f"PostgreSQL not reachable on {where}: {' '.join(str(exc.orig).split())}")
    try:
        yield ADMIN_URL.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


def truncate(url: str) -> None:
    """Empty every isobil table (keeping the schema): cheaper than a new database.

    The consent ledger refuses TRUNCATE (a trigger); a test database is emptied
    as a replica would be, with triggers off for this transaction.
    """
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            tables = ", ".join(t.name for t in _schema.metadata.sorted_tables)
            conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY")
    finally:
        engine.dispose()
