"""What several benchmarks share: a scratch database of each backend, a sender, and the
garbage collector's time while a job runs."""

from __future__ import annotations

import gc
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from isobil import Brand, Sender

__all__ = ["ACME", "CollectorTime", "database"]


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


#: A sender with a complete identity and the brand ACME (short number 4605).
ACME = Sender(
    name="Acme Ticaret A.Ş.",
    mersis="0123456789012345",
    contact="0850 123 45 67",
    brands=[Brand("ACME")],
    short_number="4605",
)


class CollectorTime:
    """The garbage collector's time and full collections while it is counting."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.full = 0
        self.counting = False
        self._started = 0.0
        gc.callbacks.append(self._on_collection)

    def _on_collection(self, phase: str, info: dict[str, int]) -> None:
        if not self.counting:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started
            self.full += info["generation"] == 2
