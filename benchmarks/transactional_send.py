"""Benchmark: one transactional send (``Client.send_now``) on SQLite, isobil's own time.

A shop's order SMS: ``client.send_now(message, to=number)`` of an informational
message of brand ACME to a number not sent to before, through the fake transport,
on a SQLite file (WAL, ``synchronous=NORMAL``, as ``SQLStorage`` sets it). Each call
is timed alone; the fake transport's own ``submit`` is timed too and taken out, so
what remains is isobil's time: preflight (address book, blacklist, history, consent
and İYS lookups, the rules), storing the campaign and its message, building the
outbound message, settling the outcome. Figures are the median, p90 and p99 of
``--n`` sends after ``--warmup`` sends.

In the same run, for context:

- ``send``: ``client.send(message, to=[number])``, the campaign path (campaign and
  messages stored apart, a re-check and a ``queued`` → ``submitting`` step before
  the submit, the campaign finished after it), timed the same way;
- the baseline: the least a hand-written outbox does with ``sqlite3`` on the same
  settings — insert the row, then mark it sent with the provider's id, each in its
  own transaction, no checks at all.

Every send is checked to be submitted; the number of storage transactions each path
opens is counted (SQLAlchemy's ``begin`` events).

    .venv/bin/python benchmarks/transactional_send.py --n 5000
"""

from __future__ import annotations

import argparse
import platform
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

import isobil
from _common import ACME
from isobil.storage import SQLStorage
from isobil.transport import OutboundSms, SubmitResult

NOTICE = isobil.Message("Siparişiniz 12345 kargoya verildi.", category="informational")


class TimedFake(isobil.FakeTransport):
    """The fake transport, with the time spent in its ``submit`` added up."""

    def __init__(self) -> None:
        super().__init__()
        self.spent = 0.0

    def submit(self, batch: Sequence[OutboundSms]) -> list[SubmitResult]:
        start = time.perf_counter()
        try:
            return super().submit(batch)
        finally:
            self.spent += time.perf_counter() - start


def number(i: int) -> str:
    return f"+90532{i:07d}"


def own_times(
    send: Callable[[str], isobil.OutcomeStatus], fake: TimedFake, first: int, n: int
) -> list[float]:
    """Seconds per send, less the fake transport's own time."""
    times = []
    for i in range(first, first + n):
        spent = fake.spent
        start = time.perf_counter()
        status = send(number(i))
        elapsed = time.perf_counter() - start
        assert status is isobil.OutcomeStatus.SUBMITTED, status
        times.append(elapsed - (fake.spent - spent))
    return times


def count_transactions(storage: SQLStorage) -> list[int]:
    counter = [0]

    def begin(conn: Any) -> None:
        counter[0] += 1

    sa.event.listen(storage._db.engine, "begin", begin)
    return counter


def baseline(path: Path, n: int, warmup: int) -> list[float]:
    """Insert one outbox row, then mark it sent: two transactions a send, raw sqlite3."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(
        "CREATE TABLE outbox (id TEXT PRIMARY KEY, recipient TEXT NOT NULL, text TEXT NOT NULL,"
        " state TEXT NOT NULL, provider_id TEXT, created_at TEXT NOT NULL, updated_at TEXT)"
    )
    times = []
    for i in range(warmup + n):
        start = time.perf_counter()
        row_id = uuid.uuid4().hex
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO outbox (id, recipient, text, state, created_at)"
            " VALUES (?, ?, ?, 'queued', datetime('now'))",
            (row_id, number(i), NOTICE.text),
        )
        conn.execute("COMMIT")
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "UPDATE outbox SET state = 'submitted', provider_id = ?, updated_at = datetime('now')"
            " WHERE id = ?",
            (f"fake-{i}", row_id),
        )
        conn.execute("COMMIT")
        if i >= warmup:
            times.append(time.perf_counter() - start)
    conn.close()
    return times


def row(name: str, times: list[float], transactions: float | None) -> str:
    ordered = sorted(times)
    median = statistics.median(times) * 1000
    p90 = ordered[int(0.9 * (len(ordered) - 1))] * 1000
    p99 = ordered[int(0.99 * (len(ordered) - 1))] * 1000
    per_send = "-" if transactions is None else f"{transactions:.0f}"
    return f"| {name} | {len(times):,} | {median:.3f} | {p90:.3f} | {p99:.3f} | {per_send} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--warmup", type=int, default=200)
    args = parser.parse_args()
    print(
        f"python {platform.python_version()} on {platform.machine()}, "
        f"SQLite {sqlite3.sqlite_version}"
    )
    with tempfile.TemporaryDirectory(prefix="isobil-bench-") as folder:
        results = []
        for name, call in (
            ("send_now", lambda c, to: c.send_now(NOTICE, to=to).status),
            ("send (one recipient)", lambda c, to: c.send(NOTICE, to=[to]).outcomes[0].status),
        ):
            storage = SQLStorage(Path(folder) / f"{name.split()[0]}.db")
            fake = TimedFake()
            with isobil.Client(ACME, transport=fake, storage=storage) as client:

                def send(to: str, client: isobil.Client = client, call: Any = call) -> Any:
                    return call(client, to)

                own_times(send, fake, 0, args.warmup)
                counter = count_transactions(storage)
                times = own_times(send, fake, args.warmup, args.n)
                results.append((name, times, counter[0] / args.n))
            storage.close()
        raw = baseline(Path(folder) / "outbox.db", args.n, args.warmup)
    print()
    print("| path | sends | median ms | p90 ms | p99 ms | transactions/send |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, times, transactions in results:
        print(row(name, times, transactions))
    print(row("baseline: sqlite3 insert + update", raw, 2))
    send_now = statistics.median(results[0][1])
    print()
    print(f"send_now median: {send_now * 1000:.3f} ms of isobil's own time (target < 5 ms)")
    print(f"  {statistics.median(results[1][1]) / send_now:.2f}x faster than send")
    print(f"  {send_now / statistics.median(raw):.1f}x the hand-written outbox's median")


if __name__ == "__main__":
    main()
