"""What several benchmarks share: a scratch database of each backend."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

__all__ = ["database"]


@contextmanager
def database(backend: str) -> Iterator[str]:
    """The URL of an empty database of ``backend``, removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="isobil-bench-") as folder:
            yield f"sqlite:///{Path(folder) / 'bench.db'}"
        return
    admin_url = sa.make_url(
        os.environ.get(
            "ISOBIL_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        )
    )
    name = f"isobil_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()
