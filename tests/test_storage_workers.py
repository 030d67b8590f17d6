"""Several worker processes on one queue: each message goes out once; a dead worker's batch
becomes ``unknown`` when its lease ends, never sent again.

Workers are real processes (spawned, each with its own SQLStorage and
connections), synchronised only by queues, events and joins.
"""

from __future__ import annotations

import multiprocessing
import queue
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from multiprocessing.context import SpawnProcess
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import TypeVar

import pytest
import sqlalchemy as sa

import _pg
from isobil.storage import MessageState, SQLStorage
from isobil.testing.storage import LEASE, T0, campaign, messages

_T = TypeVar("_T")
SPAWN = multiprocessing.get_context("spawn")
WAIT = 120  # seconds; a bound for a hung child, not a synchronisation


def _alive(processes: list[SpawnProcess], deadline: float) -> None:
    """Fail at once when a child died (rather than wait out WAIT for its message)."""
    dead = {p.name: p.exitcode for p in processes if p.exitcode not in (None, 0)}
    assert not dead, f"worker processes died: {dead}"
    assert time.monotonic() < deadline, "workers did not finish in time"


def _receive(source: Queue[_T], processes: list[SpawnProcess], count: int) -> list[_T]:
    deadline = time.monotonic() + WAIT
    received: list[_T] = []
    while len(received) < count:
        try:
            received.append(source.get(timeout=1))
        except queue.Empty:
            _alive(processes, deadline)
    return received


def drain(url: str, worker: str, results: Queue[tuple[str, list[str]]]) -> None:
    """Claim batches of 100 until none is due; submit each message; report what was claimed."""
    claimed: list[str] = []
    with SQLStorage(url) as storage:
        while batch := storage.claim_submitting(worker=worker, limit=100, lease=LEASE, now=T0):
            ids = [m.id for m in batch]
            claimed += ids
            for message_id in ids:  # the transport accepted it under its own id
                storage.transition(
                    [message_id],
                    MessageState.SUBMITTED,
                    expected=MessageState.SUBMITTING,
                    worker=worker,
                    now=T0,
                    provider_id=f"{worker}-{message_id}",
                )
    results.put((worker, claimed))


def claim_and_hang(url: str, ids: Queue[list[str]], holding: Event) -> None:
    """Claim 100 messages, then hang until killed."""
    with SQLStorage(url) as storage:
        batch = storage.claim_submitting(worker="doomed", limit=100, lease=LEASE, now=T0)
        ids.put([m.id for m in batch])
        holding.set()
        threading.Event().wait()  # holds its claims until SIGKILL


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with _pg.fresh_database() as url:
        # Thousands of one-message commits: skip the per-commit WAL flush in this
        # throw-away database (claims and locks are unaffected).
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        with engine.connect() as conn:
            database = sa.make_url(url).database
            conn.exec_driver_sql(f"ALTER DATABASE {database} SET synchronous_commit = off")
        engine.dispose()
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'queue.db'}"
        return
    pg: str = request.getfixturevalue("pg_url")
    yield pg
    _pg.truncate(pg)


def _run_workers(url: str, count: int, workers: int) -> None:
    with SQLStorage(url) as storage:
        storage.create_campaign(campaign())
        storage.add_messages(messages(count))
    results: Queue[tuple[str, list[str]]] = SPAWN.Queue()
    names = [f"worker-{i}" for i in range(workers)]
    processes = [SPAWN.Process(target=drain, args=(url, name, results)) for name in names]
    try:
        for process in processes:
            process.start()
        reported = dict(_receive(results, processes, len(processes)))
        for process in processes:
            process.join(timeout=WAIT)
            assert process.exitcode == 0
    finally:  # a failing run leaves no worker behind
        for process in processes:
            if process.is_alive():
                process.kill()
                process.join()

    every = [message_id for ids in reported.values() for message_id in ids]
    assert sorted(reported) == names
    assert len(every) == count
    assert Counter(every).most_common(1)[0][1] == 1  # nobody claimed a message twice
    with SQLStorage(url) as storage:
        assert storage.message_counts("c1") == {MessageState.SUBMITTED: count}
        claimed_by = {i: worker for worker, ids in reported.items() for i in ids}
        for message in storage.iter_messages("c1"):
            assert message.claimed_by == claimed_by[message.id]
            assert message.provider_id == f"{claimed_by[message.id]}-{message.id}"


def test_four_processes_drain_a_postgresql_queue_of_20000(pg_url: str) -> None:
    """4 processes claiming from one PostgreSQL queue of 20,000: each message claimed once."""
    try:
        _run_workers(pg_url, 20_000, workers=4)
    finally:
        _pg.truncate(pg_url)


def test_three_processes_drain_a_sqlite_queue(tmp_path: Path) -> None:
    """3 processes on one SQLite file, 3,000 messages: the single writer hands out each once."""
    _run_workers(f"sqlite:///{tmp_path / 'queue.db'}", 3_000, workers=3)


def test_a_killed_workers_batch_becomes_unknown_after_the_lease(url: str) -> None:
    """SIGKILL while holding 100 claims: they stand until the lease ends, then become
    unknown (the SMSC may have them), and no other worker claims them."""
    with SQLStorage(url) as storage:
        storage.create_campaign(campaign())
        storage.add_messages(messages(150))
    ids: Queue[list[str]] = SPAWN.Queue()
    holding = SPAWN.Event()
    doomed = SPAWN.Process(target=claim_and_hang, args=(url, ids, holding))
    doomed.start()
    try:
        [held] = _receive(ids, [doomed], 1)
        assert holding.wait(timeout=WAIT)  # set right after the put: no wait in practice
    finally:
        doomed.kill()
        doomed.join(timeout=WAIT)
    assert doomed.exitcode == -signal.SIGKILL

    with SQLStorage(url) as storage:
        # Until the lease ends the dead worker's claims stand.
        assert storage.expire_claims(now=T0 + LEASE) == []
        during = storage.claim_submitting(worker="rescuer", limit=200, lease=LEASE, now=T0 + LEASE)
        assert {m.id for m in during}.isdisjoint(held)
        assert len(during) == 50
        after = T0 + LEASE + timedelta(seconds=1)
        # The dead worker is fenced off once its lease ends, should it come back.
        assert (
            storage.transition(
                held,
                MessageState.SUBMITTED,
                expected=MessageState.SUBMITTING,
                worker="doomed",
                now=after,
            )
            == []
        )
        assert storage.expire_claims(now=after) == sorted(held)
        assert storage.claim_submitting(worker="rescuer", limit=200, lease=LEASE, now=after) == []
        assert storage.message_counts("c1") == {
            MessageState.UNKNOWN: 100,
            MessageState.SUBMITTING: 50,
        }
