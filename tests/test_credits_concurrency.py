"""Credits stay exact under concurrency: workers, cancels, lease expiries, receipts.

Each seeded round queues three prepaid campaigns on one database (a SQLite file,
then PostgreSQL). Four dispatch workers — each a ``Client`` with its own
``SQLStorage`` and transport, in its own thread — send them while the round's
chaos happens at the same time: numbers are blacklisted (blocked at dispatch),
submits are refused or time out, workers dispatch with clocks that run past one
another's leases (turning claimed, in-flight ones
``unknown``), two threads cancel the same campaigns at once, and receipts come
twice, late, from other threads, and in bursts with conflicting statuses.

Once the round is drained the balance must be exactly what was topped up less
the parts of every charged message (submitted, delivered, unknown), every
blocked, failed, undelivered, expired and rejected message must be given back
exactly once, and each cancelled campaign released exactly once.

Threads wait for one another on a condition (progress counted in worker steps),
never on the clock; the clocks the workers dispatch with are simulated.
"""

from __future__ import annotations

import itertools
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import _pg
from _acme import ACME
from isobil import Client, Message, SubmitRejected, TransportTimeout
from isobil.storage import (
    BlacklistEntry,
    CreditKind,
    MessageState,
    OutboundMessage,
    SQLStorage,
    Storage,
)
from isobil.transport import DeliveryReport, DeliveryStatus, OutboundSms, SubmitResult, Transport

ROUNDS = 20
WORKERS = 4
STEPS = 6  # dispatch calls per worker and round
BATCH = 6
LEASE = timedelta(minutes=1)
#: A worker's clock is the round's start plus 0–3 of these: each is past a lease.
CLOCK_STEP = LEASE + timedelta(seconds=1)
SEED = 20_261_208
#: Texts of 1, 2 and 3 parts.
TEXTS = (
    "Siparişiniz kargoya verildi.",
    "Siparişiniz kargoya verildi. " + "Takip için sipariş sayfanıza bakınız. " * 3,
    "Siparişiniz kargoya verildi. " + "Takip için sipariş sayfanıza bakınız. " * 6,
)
CAMPAIGN_SIZE = 24
#: What a message in these states costs: it left, or may have.
CHARGED = frozenset({MessageState.SUBMITTED, MessageState.DELIVERED, MessageState.UNKNOWN})
#: Messages in these states get their own release or refund entry, once.
GIVEN_BACK = frozenset(
    {
        MessageState.BLOCKED,
        MessageState.FAILED,
        MessageState.UNDELIVERED,
        MessageState.EXPIRED,
        MessageState.REJECTED,
    }
)
STATUSES = (
    DeliveryStatus.DELIVERED,
    DeliveryStatus.UNDELIVERED,
    DeliveryStatus.EXPIRED,
    DeliveryStatus.REJECTED,
)


class ChaosTransport(Transport):
    """Accepts messages under ids unique to this worker, refuses or times out on demand.

    Its reports go to its client from whichever thread calls :meth:`report`,
    as an SMPP reader thread would hand them over.
    """

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.sent: list[str] = []  # provider ids, in order
        self._ids = itertools.count(1)
        self._errors: list[SubmitRejected | TransportTimeout] = []
        self._lock = threading.Lock()

    def submit(self, batch: Sequence[OutboundSms]) -> list[SubmitResult]:
        """Accept each message, unless a failure was queued for it."""
        results: list[SubmitResult] = []
        with self._lock:
            for sms in batch:
                if self._errors:
                    results.append(SubmitResult(sms.id, error=self._errors.pop(0)))
                    continue
                provider_id = f"{self.name}-{next(self._ids)}"
                self.sent.append(provider_id)
                results.append(SubmitResult(sms.id, provider_id=provider_id))
        return results

    def fail_next(self, error: SubmitRejected | TransportTimeout, count: int) -> None:
        """Answer the next ``count`` messages with ``error``."""
        with self._lock:
            self._errors.extend([error] * count)

    def accepted(self) -> list[str]:
        """The provider ids handed out so far."""
        with self._lock:
            return list(self.sent)

    def report(self, reports: Sequence[tuple[str, DeliveryStatus]], *, burst: bool) -> None:
        """Hand delivery reports to the client, as one burst or one by one."""
        now = datetime.now(UTC)
        events = [DeliveryReport(pid, status, None, now) for pid, status in reports]
        if burst:
            self._emit_many(events)
        else:
            for event in events:
                self._emit(event)

    def forget(self) -> None:
        """Start a new round: nothing sent, no failure queued."""
        with self._lock:
            self.sent.clear()
            self._errors.clear()


class Progress:
    """Worker steps so far; the other threads wait for a number of them."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._steps = 0
        self._finished = 0

    def step(self) -> None:
        with self._changed:
            self._steps += 1
            self._changed.notify_all()

    def finish(self) -> None:
        with self._changed:
            self._finished += 1
            self._changed.notify_all()

    def wait(self, steps: int) -> None:
        """Until the workers took ``steps`` steps together (or all stopped)."""
        with self._changed:
            self._changed.wait_for(lambda: self._steps >= steps or self._finished == WORKERS)


def _run(targets: Sequence[Callable[[], None]]) -> None:
    """Run each target in its own thread, all at once; re-raise the first failure."""
    failures: list[BaseException] = []

    def guarded(target: Callable[[], None]) -> None:
        try:
            target()
        except BaseException as exc:  # handed to the test thread
            failures.append(exc)

    threads = [threading.Thread(target=guarded, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


class Rig:
    """Four workers, two cancellers and an inspector on one database."""

    def __init__(self, url: str) -> None:
        self._url = url
        self.storages: list[SQLStorage] = []
        self.transports = [ChaosTransport(f"w{i}") for i in range(WORKERS)]
        self.workers = [self._client(t) for t in self.transports]
        self.cancellers = [self._client(ChaosTransport(f"c{i}")) for i in range(2)]
        self.inspector = self._storage()
        self.topped_up = 0

    def _storage(self) -> SQLStorage:
        storage = SQLStorage(self._url)
        self.storages.append(storage)
        return storage

    def _client(self, transport: ChaosTransport) -> Client:
        return Client(
            ACME,
            transport=transport,
            storage=self._storage(),
            prepaid=True,
            lease=LEASE,
            batch_size=BATCH,
        )

    def close(self) -> None:
        for client in self.workers + self.cancellers:
            client.close()
        for storage in self.storages:
            storage.close()


@pytest.fixture
def rig_factory() -> Iterator[Callable[[str], Rig]]:
    rigs: list[Rig] = []

    def make(url: str) -> Rig:
        rig = Rig(url)
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        rig.close()


def _numbers(round_no: int, campaign: int) -> list[str]:
    return [f"+9053{round_no:03d}{campaign:02d}{i:03d}" for i in range(CAMPAIGN_SIZE)]


def play_round(rig: Rig, round_no: int) -> None:
    """Queue, dispatch amid the chaos, drain; then check every credit."""
    seed = SEED + round_no
    rng = random.Random(seed)
    at = datetime.now(UTC) + timedelta(days=1)
    for transport in rig.transports:
        transport.forget()
    sender = rig.workers[0]
    audiences = [_numbers(round_no, c) for c in range(len(TEXTS))]
    top_up = sum(
        sender.plan(text).parts * len(audience)
        for text, audience in zip(TEXTS, audiences, strict=True)
    ) + rng.randint(0, 20)
    sender.credits.top_up(top_up)
    rig.topped_up += top_up
    campaigns = [
        sender.send(Message(text, category="informational"), to=audience, at=at).campaign_id
        for text, audience in zip(TEXTS, audiences, strict=True)
    ]
    progress = Progress()
    total = WORKERS * STEPS
    everyone = [n for audience in audiences for n in audience]

    def worker(index: int) -> Callable[[], None]:
        client, transport = rig.workers[index], rig.transports[index]
        wrng = random.Random(seed * 10 + index)

        def run() -> None:
            try:
                for _ in range(STEPS):
                    roll = wrng.random()
                    if roll < 0.2:
                        transport.fail_next(SubmitRejected("refused", code="ESME_RSUBMITFAIL"), 2)
                    elif roll < 0.3:
                        transport.fail_next(TransportTimeout("no answer"), 1)
                    now = at + CLOCK_STEP * wrng.randint(0, 3) + timedelta(seconds=index)
                    client.dispatch(now=now, limit=wrng.choice((BATCH, 2 * BATCH)))
                    sent = transport.accepted()
                    picked = wrng.sample(sent, min(len(sent), wrng.randint(0, 6)))
                    reports = [(pid, wrng.choice(STATUSES)) for pid in picked]
                    # Duplicates, sometimes with another status, in the same burst.
                    reports += [(pid, wrng.choice(STATUSES)) for pid, _ in reports[:2]]
                    transport.report(reports, burst=wrng.random() < 0.5)
                    progress.step()
            finally:
                progress.finish()

        return run

    def blacklister() -> None:
        storage = rig.inspector
        for threshold in sorted(rng.sample(range(total), 3)):
            progress.wait(threshold)
            picked = rng.sample(everyone, 6)
            storage.add_to_blacklist(
                BlacklistEntry(n, "asked to stop", datetime.now(UTC)) for n in picked
            )

    # Both cancellers cancel the same campaigns at the same moments.
    cancels = sorted(
        (rng.randrange(total), campaign) for campaign in rng.sample(campaigns, rng.randint(1, 2))
    )

    def canceller(index: int) -> Callable[[], None]:
        def run() -> None:
            for threshold, campaign in cancels:
                progress.wait(threshold)
                rig.cancellers[index].cancel(campaign)

        return run

    def late_receipts() -> None:
        lrng = random.Random(seed * 10 + 9)
        for threshold in sorted(lrng.sample(range(total), 4)):
            progress.wait(threshold)
            for transport in rig.transports:
                sent = transport.accepted()
                picked = lrng.sample(sent, min(len(sent), 3))
                transport.report([(pid, lrng.choice(STATUSES)) for pid in picked], burst=False)

    _run(
        [worker(i) for i in range(WORKERS)]
        + [blacklister, canceller(0), canceller(1), late_receipts]
    )
    # Drain: every lease is over, in-flight messages become unknown, the rest go.
    end = at + CLOCK_STEP * 10
    while sender.dispatch(now=end).handled:
        pass
    for transport in rig.transports:
        sent = transport.accepted()
        late = [(pid, rng.choice(STATUSES)) for pid in rng.sample(sent, len(sent) // 2)]
        transport.report(late, burst=True)
    _check(rig.inspector, campaigns, rig.topped_up, f"round {round_no} (seed {seed})")


def _check(storage: Storage, campaigns: Sequence[str], topped_up: int, where: str) -> None:
    messages: list[OutboundMessage] = [m for c in campaigns for m in storage.iter_messages(c)]
    states = Counter(m.state for m in messages)
    unsettled = states[MessageState.QUEUED] + states[MessageState.SUBMITTING]
    assert unsettled == 0, (where, states)
    entries = [e for c in campaigns for e in storage.iter_credits(campaign_id=c)]
    given_back = Counter(
        e.message_id
        for e in entries
        if e.kind in (CreditKind.RELEASE, CreditKind.REFUND) and e.message_id is not None
    )
    twice = {m: n for m, n in given_back.items() if n > 1}
    assert not twice, f"{where}: credits given back more than once: {twice}"
    expected = {m.id for m in messages if m.state in GIVEN_BACK}
    assert set(given_back) == expected, (where, set(given_back) ^ expected)
    for campaign in campaigns:
        cancelled = sum(
            m.parts
            for m in messages
            if m.campaign_id == campaign and m.state is MessageState.CANCELLED
        )
        released = sum(
            e.amount
            for e in entries
            if e.campaign_id == campaign and e.kind is CreditKind.RELEASE and e.message_id is None
        )
        assert released == cancelled, (where, campaign, released, cancelled)
    # Every round so far on this database: what was topped up, less what was charged.
    charged = sum(
        m.parts
        for c in storage.list_campaigns()
        for m in storage.iter_messages(c.id)
        if m.state in CHARGED
    )
    assert storage.credit_balance() == topped_up - charged, (where, states)


@pytest.fixture
def pg_url() -> Iterator[str]:
    with _pg.fresh_database() as url:
        yield url


def test_credits_stay_exact_on_sqlite(tmp_path: Path, rig_factory: Callable[[str], Rig]) -> None:
    """Twenty rounds on one SQLite file: the balance is exact after every round."""
    rig = rig_factory(f"sqlite:///{tmp_path / 'credits.db'}")
    for round_no in range(ROUNDS):
        play_round(rig, round_no)


def test_credits_stay_exact_on_postgresql(pg_url: str, rig_factory: Callable[[str], Rig]) -> None:
    """Twenty rounds on one PostgreSQL database: the balance is exact after every round."""
    rig = rig_factory(pg_url)
    for round_no in range(ROUNDS):
        play_round(rig, round_no)
