"""Dispatch workers on PostgreSQL, killed at random: nothing sent twice, nothing lost.

Three worker processes (spawned, each a ``Client`` with its own ``SQLStorage``)
run ``dispatch`` over one 20,000-message campaign while a supervisor SIGKILLs a
random one at random moments, 20 times, starting a replacement each time. The
transport writes every submit to a log table with autocommit, before it answers,
as a real SMSC would see it: the log is the truth the storage is checked against.

Processes are synchronised by events and joins only; the supervisor's random
kill moments (seeded) are the one deliberate delay.
"""

from __future__ import annotations

import multiprocessing
import random
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Event

import psycopg
import pytest
import sqlalchemy as sa

import _pg
import isobil
from isobil.campaigns import error_reason
from isobil.storage import Campaign, CampaignStatus, MessageState, OutboundMessage, SQLStorage
from isobil.transport import DeliveryReport, DeliveryStatus, OutboundSms, SubmitResult, Transport

SPAWN = multiprocessing.get_context("spawn")
MESSAGES = 20_000
WORKERS = 3
KILLS = 20
BATCH = 40
LEASE = timedelta(seconds=3)
CAMPAIGN = "workers"
WAIT = 120.0  # seconds; a bound for a hung run, not a synchronisation
SEED = 20_261_130


def _libpq(url: str) -> str:
    """The SQLAlchemy URL as psycopg takes it."""
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class LoggingTransport(Transport):
    """Accepts every message, after writing its id to ``isobil_test_submits`` (autocommit).

    The write happens before ``submit`` returns, as a real SMSC has the message
    before it answers; a worker killed after it is left ``submitting``.
    """

    def __init__(self, url: str, worker: str) -> None:
        super().__init__()
        self.worker = worker
        self._conn = psycopg.connect(_libpq(url), autocommit=True)

    def submit(self, batch: Sequence[OutboundSms]) -> list[SubmitResult]:
        """Log the batch in one statement, then accept each message as ``p-<id>``."""
        self._conn.execute(
            "INSERT INTO isobil_test_submits (message_id, worker) SELECT unnest(%s::text[]), %s",
            ([sms.id for sms in batch], self.worker),
        )
        return [SubmitResult(sms.id, provider_id=f"p-{sms.id}") for sms in batch]

    def report(self, reports: Sequence[DeliveryReport]) -> None:
        """Hand delivery reports to the client as one burst."""
        self._emit_many(reports)

    def close(self) -> None:
        """Close the log connection."""
        self._conn.close()


def work(url: str, name: str, stop: Event) -> None:
    """A dispatch worker: ``client.dispatch()`` until told to stop."""
    with (
        SQLStorage(url) as storage,
        isobil.Client(
            transport=LoggingTransport(url, name), storage=storage, batch_size=BATCH, lease=LEASE
        ) as client,
    ):
        while not stop.is_set():
            if client.dispatch().handled == 0:
                stop.wait(0.05)  # an idle poll, not a synchronisation


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database with the schema and the submit log."""
    with _pg.fresh_database() as url:
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        with engine.connect() as conn:
            database = sa.make_url(url).database
            conn.exec_driver_sql(f"ALTER DATABASE {database} SET synchronous_commit = off")
            conn.exec_driver_sql(
                "CREATE TABLE isobil_test_submits"
                " (seq bigserial PRIMARY KEY, message_id text NOT NULL, worker text NOT NULL)"
            )
        engine.dispose()
        yield url


def _queue_campaign(storage: SQLStorage) -> None:
    now = datetime.now(UTC)
    storage.create_campaign(
        Campaign(
            id=CAMPAIGN,
            text="Kargonuz yola çıktı.",
            category="informational",
            created_at=now,
            status=CampaignStatus.RUNNING,
        )
    )
    storage.add_messages(
        OutboundMessage(f"m{i:05d}", CAMPAIGN, f"+90532{i:07d}", "Kargonuz yola çıktı.", 1)
        for i in range(MESSAGES)
    )


class _Worker:
    """A worker process with its own stop event.

    One event each: a process killed while it held an event's internal lock
    can only wedge its own, never the others'.
    """

    def __init__(self, url: str, name: str) -> None:
        self.stop = SPAWN.Event()
        self.process = SPAWN.Process(
            target=work, args=(url, name, self.stop), name=name, daemon=True
        )
        self.process.start()


def _drained(storage: SQLStorage) -> bool:
    counts = storage.message_counts(CAMPAIGN)
    return not counts.get(MessageState.QUEUED) and not counts.get(MessageState.SUBMITTING)


def test_killed_workers_never_send_twice_nor_lose_a_message(pg_url: str) -> None:
    """20 SIGKILLs among 3 PostgreSQL workers: every message once at most, each accounted for.

    Checked against the submit log: no id twice; after the leases end nothing is
    queued or submitting, at most kills × batch size are ``unknown``, every
    logged message is submitted or unknown; after the delivery reports every
    message is delivered, undelivered or unknown, and the report agrees.
    """
    with SQLStorage(pg_url) as storage:
        logged = _run(pg_url, storage)
        _check(pg_url, storage, logged)


def _run(pg_url: str, storage: SQLStorage) -> list[str]:
    """Queue the campaign, run the workers and the killings until drained; return the log."""
    deadline = time.monotonic() + WAIT
    rng = random.Random(SEED)
    pause = threading.Event()  # never set: its wait() is a random kill moment or a poll
    workers: list[_Worker] = []

    def check_alive() -> None:
        dead = {w.process.name: w.process.exitcode for w in workers if w.process.exitcode}
        assert not dead, f"workers died on their own: {dead}"

    try:
        _queue_campaign(storage)
        workers = [_Worker(pg_url, f"w{i}") for i in range(WORKERS)]
        for kill in range(KILLS):
            pause.wait(rng.uniform(0.05, 0.6))
            check_alive()
            victim = workers[rng.randrange(WORKERS)]
            victim.process.kill()
            victim.process.join(timeout=WAIT)
            assert victim.process.exitcode == -signal.SIGKILL
            workers[workers.index(victim)] = _Worker(pg_url, f"w{WORKERS + kill}")
        while not _drained(storage):
            check_alive()
            assert time.monotonic() < deadline, storage.message_counts(CAMPAIGN)
            pause.wait(0.1)  # polling the storage for the drained state
    finally:
        for worker in workers:
            worker.stop.set()
        for worker in workers:
            worker.process.join(timeout=WAIT)
            if worker.process.exitcode is None:
                worker.process.kill()
                worker.process.join()
    assert [w.process.exitcode for w in workers] == [0] * WORKERS

    with psycopg.connect(_libpq(pg_url)) as conn:
        return [row[0] for row in conn.execute("SELECT message_id FROM isobil_test_submits")]


def _check(pg_url: str, storage: SQLStorage, logged: list[str]) -> None:
    """The storage against the submit log, before and after the delivery reports."""
    twice = [i for i, n in Counter(logged).items() if n > 1]
    assert twice == [], f"submitted more than once: {twice[:10]}"
    submitted_ids = set(logged)

    # Every lease is over once the workers are gone; nothing is left mid-submit.
    assert storage.expire_claims(now=datetime.now(UTC) + LEASE) == []
    counts = storage.message_counts(CAMPAIGN)
    unknown = counts.get(MessageState.UNKNOWN, 0)
    assert set(counts) <= {MessageState.SUBMITTED, MessageState.UNKNOWN}, counts
    assert counts.get(MessageState.SUBMITTED, 0) + unknown == MESSAGES
    assert unknown <= KILLS * BATCH
    settled: set[str] = set()  # submitted, with the provider id the transport gave
    for message in storage.iter_messages(CAMPAIGN):
        if message.state is MessageState.SUBMITTED:
            assert message.id in submitted_ids
            assert message.provider_id == f"p-{message.id}"
            settled.add(message.id)

    # The SMSC reports on everything it got. A message whose worker died between
    # submit and settle never learnt its provider id: its report cannot be matched
    # and it stays unknown, as isobil promises (never resent blindly).
    transport = LoggingTransport(pg_url, "reports")
    with isobil.Client(transport=transport, storage=storage) as client:
        ordered = sorted(submitted_ids)
        reports = [
            DeliveryReport(
                f"p-{message_id}",
                DeliveryStatus.UNDELIVERED if n % 10 == 0 else DeliveryStatus.DELIVERED,
                "027" if n % 10 == 0 else None,
                datetime.now(UTC),
            )
            for n, message_id in enumerate(ordered)
        ]
        transport.report(reports)
        summary = client.reports.delivery(CAMPAIGN)
    undelivered = sum(1 for n, i in enumerate(ordered) if n % 10 == 0 and i in settled)
    expected = {
        MessageState.DELIVERED: len(settled) - undelivered,
        MessageState.UNDELIVERED: undelivered,
        MessageState.UNKNOWN: MESSAGES - len(settled),
    }
    expected = {state: n for state, n in expected.items() if n}
    assert storage.message_counts(CAMPAIGN) == expected
    assert dict(summary.counts) == expected
    assert summary.by_reason.get(error_reason("027"), 0) == undelivered
    assert summary.pending == 0
