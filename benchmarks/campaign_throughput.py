"""Benchmark: a campaign from ``Client.send`` to submitted, through the fake transport.

Measures recipients/s of one ``client.send(message, to=<N numbers>)`` on SQLite (a
temporary file) or PostgreSQL (a temporary database): audience, preflight,
enqueue, then delivery in batches of ``--batch-size`` — re-check, ``queued`` →
``submitting``, ``transport.submit``, and each batch settled with one
``Storage.settle`` call (one transaction).

Baselines, measured in the same run on a fresh database each:

(a) per-message settle: the same ``send``, with ``settle`` replaced by the code
    it replaced — one ``transition`` (one transaction) per message — on
    ``--baseline-n`` recipients (20,000 by default);
(b) one send per recipient: ``client.send(message, to=[number])`` in a loop, on
    ``--naive-n`` recipients (1,000 by default).

They are compared as rates (recipients/s). Every run checks that each recipient
was submitted exactly once.

    .venv/bin/python benchmarks/campaign_throughput.py --backend sqlite --n 100000
    .venv/bin/python benchmarks/campaign_throughput.py --backend postgresql --n 100000

PostgreSQL: ``ISOBIL_BENCH_PG_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``) names the server; a
database ``isobil_bench_…`` is created there and dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime

import isobil
from _common import database
from isobil.storage import MessageState, Settlement, SQLStorage

MESSAGE = isobil.Message("Siparişiniz kargoya verildi.", category="informational")


def number(i: int) -> str:
    return f"+90532{i:07d}"


class PerMessageSettle(SQLStorage):
    """SQLStorage settling a batch the way the client did before: one transaction a message."""

    def settle(self, outcomes: Sequence[Settlement], *, now: datetime) -> list[str]:
        moved: list[str] = []
        for outcome in outcomes:
            moved += self.transition(
                [outcome.message_id],
                outcome.state,
                expected=MessageState.SUBMITTING,
                now=now,
                provider_id=outcome.provider_id,
                error_code=outcome.error_code,
                reason=outcome.reason,
            )
        return moved


def server_version(storage: SQLStorage) -> str:
    with storage._db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            return f"SQLite {sqlite3.sqlite_version}"
        version = conn.exec_driver_sql("SHOW server_version").scalar()
        return f"PostgreSQL {version}"


def run(
    backend: str,
    n: int,
    batch_size: int,
    storage_class: type[SQLStorage],
    send: Callable[[isobil.Client, list[str]], int],
) -> tuple[float, str]:
    """Seconds for ``send`` of ``n`` recipients on a fresh database; the server's version."""
    numbers = [number(i) for i in range(n)]
    with database(backend) as url, storage_class(url) as storage:
        fake = isobil.FakeTransport()
        with isobil.Client(transport=fake, storage=storage, batch_size=batch_size) as client:
            start = time.perf_counter()
            submitted = send(client, numbers)
            elapsed = time.perf_counter() - start
        assert submitted == n, f"{submitted} of {n} submitted"
        assert sorted(s.to for s in fake.sent) == numbers, "not each recipient exactly once"
        return elapsed, server_version(storage)


def one_send(client: isobil.Client, numbers: list[str]) -> int:
    return len(client.send(MESSAGE, to=numbers).submitted)


def send_each(client: isobil.Client, numbers: list[str]) -> int:
    return sum(len(client.send(MESSAGE, to=[n]).submitted) for n in numbers)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--baseline-n", type=int, default=20_000)
    parser.add_argument("--naive-n", type=int, default=1_000)
    args = parser.parse_args(argv)

    bulk, version = run(args.backend, args.n, args.batch_size, SQLStorage, one_send)
    per_message, _ = run(
        args.backend, min(args.baseline_n, args.n), args.batch_size, PerMessageSettle, one_send
    )
    naive, _ = run(args.backend, min(args.naive_n, args.n), args.batch_size, SQLStorage, send_each)
    rate = args.n / bulk
    per_message_rate = min(args.baseline_n, args.n) / per_message
    naive_rate = min(args.naive_n, args.n) / naive
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, load {load:.1f}; "
        f"Python {platform.python_version()}; {version}; batch size {args.batch_size}"
    )
    print(f"send → submitted, {args.n:,} recipients: {bulk:.2f} s = {rate:,.0f} recipients/s")
    print(
        f"baseline per-message settle, {min(args.baseline_n, args.n):,}: "
        f"{per_message_rate:,.0f}/s → ratio {rate / per_message_rate:.1f}x"
    )
    print(
        f"baseline one send per recipient, {min(args.naive_n, args.n):,}: "
        f"{naive_rate:,.0f}/s → ratio {rate / naive_rate:.1f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
