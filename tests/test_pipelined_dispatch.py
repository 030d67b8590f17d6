"""Pipelined sending: storage prepares the next batch while the transport sends the current
one, batches leave in order, and at most two batches are ever ``submitting``."""

from __future__ import annotations

import functools
import io
import multiprocessing
import multiprocessing.connection
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import isobil.client
from _acme import ACME, IYS_NOT_WIRED, own_rule
from isobil import Client, FakeTransport, Message, OutcomeStatus, StorageError
from isobil._cli import _dispatch
from isobil._progress import Progress
from isobil.model import ConsentSource, RecipientType
from isobil.rules import (
    MessageFacts,
    RulesConfig,
    RuleSet,
)
from isobil.storage import (
    CampaignStatus,
    IysSync,
    IysSyncStatus,
    MemoryStorage,
    MessageState,
    OutboundMessage,
)
from isobil.transport import OutboundSms, SubmitResult

NOTICE = Message("Siparişiniz kargoya verildi.", category="informational")
OFFER = Message(
    "KAMPANYA: Tüm ürünlerde %20 indirim! acme.com.tr/kampanya "
    "Ret için ACME RET yazıp 4605'e gönderin.",
    brand="ACME",
)
#: The same offer with the notice a first message to a legacy (HS_2015) contact needs.
NOTICED = Message(OFFER.text.replace(": ", ": Veri tabanımızda kayıtlı olduğunuz için ", 1))
NUMBERS = [f"+90532{i:07d}" for i in range(10)]
#: How long a test waits for the other thread before it calls the overlap missing.
PATIENCE = 30


class Watched(MemoryStorage):
    """Memory storage that tells when a batch becomes ``submitting`` (stored so by a
    send, claimed so by a dispatch)."""

    def __init__(self) -> None:
        super().__init__()
        self.marked: list[list[str]] = []
        self.second_marked = threading.Event()
        self.fail_on_mark: int | None = None

    def _mark(self, ids: list[str]) -> None:
        if self.fail_on_mark == len(self.marked) + 1:
            raise StorageError("the database went away")
        self.marked.append(ids)
        if len(self.marked) == 2:
            self.second_marked.set()

    def add_messages(self, messages: Iterable[OutboundMessage]) -> int:
        batch = list(messages)
        if any(m.state is MessageState.SUBMITTING for m in batch):
            self._mark([m.id for m in batch])
        return super().add_messages(batch)

    def claim_submitting(self, **kw: Any) -> list[OutboundMessage]:  # type: ignore[override]
        claimed = super().claim_submitting(**kw)
        if claimed:
            self._mark([m.id for m in claimed])
        return claimed


class Waiting(FakeTransport):
    """Holds the first batch until storage has marked the second one ``submitting``."""

    def __init__(self, storage: Watched) -> None:
        super().__init__()
        self.storage = storage
        self.overlapped: bool | None = None
        self.batches: list[list[str]] = []

    def submit(self, batch: Sequence[OutboundSms]) -> list[SubmitResult]:
        self.batches.append([sms.id for sms in batch])
        if len(self.batches) == 1:
            self.overlapped = self.storage.second_marked.wait(PATIENCE)
        return super().submit(batch)


@pytest.fixture
def storage() -> Watched:
    return Watched()


def test_send_prepares_the_next_batch_while_the_transport_sends(storage: Watched) -> None:
    transport = Waiting(storage)
    with Client(transport=transport, storage=storage, batch_size=4) as client:
        result = client.send(NOTICE, to=NUMBERS)
    assert transport.overlapped is True
    assert [o.status for o in result.outcomes] == [OutcomeStatus.SUBMITTED] * 10
    # Batches leave in the order they were prepared, each once.
    assert transport.batches == storage.marked
    assert [len(b) for b in transport.batches] == [4, 4, 2]
    assert [s.to for s in transport.sent] == NUMBERS


def test_dispatch_prepares_the_next_batch_while_the_transport_sends(storage: Watched) -> None:
    transport = Waiting(storage)
    at = datetime.now(UTC) + timedelta(hours=1)
    with Client(transport=transport, storage=storage, batch_size=3) as client:
        client.send(NOTICE, to=NUMBERS, at=at)
        report = client.dispatch(now=at + timedelta(seconds=1))
    assert transport.overlapped is True
    assert (report.handled, dict(report.outcomes)) == (10, {OutcomeStatus.SUBMITTED: 10})
    assert transport.batches == storage.marked
    assert sorted(s.to for s in transport.sent) == NUMBERS


def test_a_worker_pass_prepares_the_next_batch_while_the_transport_sends(
    storage: Watched, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`isobil worker` dispatches a pass in one pipelined call, not a batch per call."""
    transport = Waiting(storage)
    at = datetime.now(UTC) + timedelta(hours=1)
    with Client(transport=transport, storage=storage, batch_size=3) as client:
        client.send(NOTICE, to=NUMBERS, at=at)
        monkeypatch.setattr(isobil.client, "_now", lambda: at + timedelta(seconds=1))
        report = _dispatch(client, Progress(io.StringIO(), mode="off"), threading.Event())
    assert transport.overlapped is True
    assert (report.handled, dict(report.outcomes)) == (10, {OutcomeStatus.SUBMITTED: 10})
    assert transport.batches == storage.marked


class Interrupted(Exception):
    """What the progress callback of the test below raises."""


def interrupt(done: int) -> None:
    raise Interrupted(done)


@pytest.mark.parametrize("job", ["send", "dispatch"])
def test_a_progress_callback_that_raises_leaves_no_batch_submitting(job: str) -> None:
    """The callback raises after the first batch is settled, while the second is
    already with the transport: that one is settled too, nothing stays ``submitting``
    (to become ``unknown`` though it was sent), and the error reaches the caller."""
    storage = MemoryStorage()
    transport = FakeTransport()
    at = datetime.now(UTC) + timedelta(hours=1)
    with Client(transport=transport, storage=storage, batch_size=3) as client:
        if job == "send":
            run = functools.partial(client.send, NOTICE, to=NUMBERS, progress=interrupt)
        else:
            client.send(NOTICE, to=NUMBERS, at=at)
            run = functools.partial(
                client.dispatch, now=at + timedelta(seconds=1), progress=interrupt
            )
        with pytest.raises(Interrupted):
            run()
    states = Counter(m.state for c in storage.list_campaigns() for m in storage.iter_messages(c.id))
    assert len(transport.sent) == 6  # two batches of three went
    assert states[MessageState.SUBMITTING] == 0
    assert states[MessageState.SUBMITTED] == 6


class StopsOnSubmit(FakeTransport):
    """Sets ``stop`` as its first batch goes, as a signal handler would mid-pass."""

    def __init__(self, stop: threading.Event) -> None:
        super().__init__()
        self.stop = stop

    def submit(self, batch: Sequence[OutboundSms]) -> list[SubmitResult]:
        self.stop.set()
        return super().submit(batch)


def test_a_pass_told_to_stop_settles_what_it_handed_over_and_claims_no_more() -> None:
    """``dispatch(stop=...)`` set while the first batch is at the transport: the pass
    returns once the batches handed over are settled (the first, and the next if it
    was already claimed), leaving the rest ``queued`` with no lease for the next pass;
    nothing is ``submitting``, nothing is sent twice."""
    storage = MemoryStorage()
    stop = threading.Event()
    transport = StopsOnSubmit(stop)
    at = datetime.now(UTC) + timedelta(hours=1)
    with Client(transport=transport, storage=storage, batch_size=3) as client:
        client.send(NOTICE, to=NUMBERS, at=at)
        stopped = client.dispatch(now=at, stop=stop)
        states = Counter(
            m.state for c in storage.list_campaigns() for m in storage.iter_messages(c.id)
        )
        assert stopped.handled in (3, 6)
        assert states == {
            MessageState.SUBMITTED: stopped.handled,
            MessageState.QUEUED: 10 - stopped.handled,
        }
        assert client.dispatch(now=at).handled == 10 - stopped.handled
    assert sorted(s.to for s in transport.sent) == NUMBERS


def test_a_send_told_to_stop_settles_what_went_and_reads_no_further() -> None:
    """``send(stop=...)`` set as its first batch goes: the result tells what went (its
    counts short of ``to``), the campaign is done, the rest of ``to`` never stored."""
    storage = MemoryStorage()
    stop = threading.Event()
    transport = StopsOnSubmit(stop)
    with Client(transport=transport, storage=storage, batch_size=3) as client:
        result = client.send(NOTICE, to=NUMBERS, stop=stop)
    assert dict(result.counts) in ({OutcomeStatus.SUBMITTED: 3}, {OutcomeStatus.SUBMITTED: 6})
    [campaign] = storage.list_campaigns()
    assert campaign.status is CampaignStatus.DONE
    sent = storage.message_counts(campaign.id)
    assert (
        sent
        == {MessageState.SUBMITTED: len(transport.sent)}
        == {MessageState.SUBMITTED: result.counts[OutcomeStatus.SUBMITTED]}
    )


def test_a_send_told_to_stop_before_it_starts_stores_an_empty_campaign() -> None:
    """A stop already set (a signal as the client opened): nothing of ``to`` is stored,
    the result says stopped with no outcome, and its campaign exists, empty and done."""
    storage = MemoryStorage()
    stop = threading.Event()
    stop.set()
    with Client(transport=FakeTransport(), storage=storage, batch_size=3) as client:
        result = client.send(NOTICE, to=NUMBERS, stop=stop)
    assert (result.stopped, dict(result.counts)) == (True, {})
    campaign = storage.get_campaign(result.campaign_id)
    assert campaign is not None
    assert campaign.status is CampaignStatus.DONE
    assert storage.message_counts(result.campaign_id) == {}


def test_a_scheduled_send_told_to_stop_while_stored_is_cancelled_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A send ``at`` later stops between its pieces too, and goes whole or not at all:
    what it had stored is cancelled; a stop that comes once ``to`` is read leaves it."""
    monkeypatch.setattr(isobil.client, "_SEND_CHUNK", 3)
    at = datetime.now(UTC) + timedelta(hours=1)
    storage = MemoryStorage()
    stop = threading.Event()

    class Audience:
        """Numbers read anew each time (a list, a group), stopping the send at one."""

        def __init__(self, stop_at: int) -> None:
            self.stop_at = stop_at

        def __iter__(self) -> Iterator[str]:
            for i, number in enumerate(NUMBERS):
                if i == self.stop_at:
                    stop.set()  # as if signalled while the send reads its audience
                yield number

    with Client(transport=FakeTransport(), storage=storage) as client:
        cut = client.send(NOTICE, to=Audience(4), at=at, stop=stop)
        stop.clear()
        whole = client.send(NOTICE, to=Audience(len(NUMBERS) - 1), at=at, stop=stop)
        stop.clear()
        # An iterator of the caller's is not looked into: its last, short piece says
        # it was read to its end.
        whole_too = client.send(NOTICE, to=iter(Audience(len(NUMBERS) - 1)), at=at, stop=stop)
    assert cut.stopped
    assert not whole.stopped
    assert not whole_too.stopped
    assert storage.message_counts(whole_too.campaign_id) == {MessageState.QUEUED: 10}
    assert storage.message_counts(cut.campaign_id) == {MessageState.CANCELLED: 6}
    assert storage.get_campaign(cut.campaign_id).status is CampaignStatus.CANCELLED  # type: ignore[union-attr]
    assert storage.message_counts(whole.campaign_id) == {MessageState.QUEUED: 10}


def test_a_stopped_send_reads_nothing_more_of_an_iterator_it_was_given() -> None:
    """Stopped, a send does not take one more entry of the caller's iterator to see
    whether any was left: a later send of the same iterator sends every one of them."""
    storage = MemoryStorage()
    stop = threading.Event()
    stop.set()
    numbers = iter(NUMBERS)
    with Client(transport=FakeTransport(), storage=storage, batch_size=3) as client:
        assert client.send(NOTICE, to=numbers, stop=stop).stopped
        rest = client.send(NOTICE, to=numbers)
    assert (rest.stopped, dict(rest.counts)) == (False, {OutcomeStatus.SUBMITTED: 10})


def test_a_send_whose_audience_fails_after_it_stopped_still_ends_its_campaign(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``to`` raises when the stopped send looks for one more entry: the send still says
    stopped and cancels its scheduled campaign (nothing of it left to a dispatcher)."""
    monkeypatch.setattr(isobil.client, "_SEND_CHUNK", 3)

    class Failing:
        def __iter__(self) -> Iterator[str]:
            yield from NUMBERS[:2]
            stop.set()
            yield NUMBERS[2]
            raise OSError("the address book went away")

    storage = MemoryStorage()
    stop = threading.Event()
    at = datetime.now(UTC) + timedelta(hours=1)
    with Client(transport=FakeTransport(), storage=storage) as client:
        result = client.send(NOTICE, to=Failing(), at=at, stop=stop)
    assert result.stopped
    assert storage.message_counts(result.campaign_id) == {MessageState.CANCELLED: 3}


def test_a_scheduled_send_that_fails_half_stored_is_cancelled_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Storage fails on the second piece of a send ``at`` later: the error goes up and
    the first piece is cancelled with the campaign (its credits released), not left
    queued in a running campaign for a dispatcher to send half of."""
    monkeypatch.setattr(isobil.client, "_SEND_CHUNK", 3)

    class FailsSecondPiece(MemoryStorage):
        def __init__(self) -> None:
            super().__init__()
            self.pieces_stored = 0

        def add_messages(self, messages: Iterable[OutboundMessage]) -> int:
            if self.pieces_stored:
                raise StorageError("the database went away")
            self.pieces_stored += 1
            return super().add_messages(messages)

    storage = FailsSecondPiece()
    at = datetime.now(UTC) + timedelta(hours=1)
    with Client(transport=FakeTransport(), storage=storage) as client:
        with pytest.raises(StorageError):
            client.send(NOTICE, to=NUMBERS, at=at)
        [campaign] = storage.list_campaigns()
        assert campaign.status is CampaignStatus.CANCELLED
        assert storage.message_counts(campaign.id) == {MessageState.CANCELLED: 3}
        assert client.dispatch(now=at).handled == 0


def test_a_pass_told_to_stop_before_it_starts_claims_nothing() -> None:
    """A stop already set (a signal as the worker started) claims no batch at all."""
    storage = MemoryStorage()
    stop = threading.Event()
    stop.set()
    at = datetime.now(UTC) + timedelta(hours=1)
    with Client(transport=FakeTransport(), storage=storage, batch_size=3) as client:
        client.send(NOTICE, to=NUMBERS, at=at)
        assert client.dispatch(now=at, stop=stop).handled == 0
        [campaign] = storage.list_campaigns()
        assert storage.message_counts(campaign.id) == {MessageState.QUEUED: 10}


class ClockMovingTransport(FakeTransport):
    """Moves the client's clock an hour on as its first batch goes."""

    def __init__(self, clock: list[datetime]) -> None:
        super().__init__()
        self.clock = clock

    def submit(self, batch: Sequence[OutboundSms]) -> list[SubmitResult]:
        if len(self.sent) == 0:
            self.clock[0] += timedelta(hours=1)
        return super().submit(batch)


def test_a_long_pass_fires_schedules_that_come_due_while_it_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A schedule due half an hour into a pass is fired during the pass (housekeeping
    repeats as a pass goes: here before every batch), not only by the next pass."""
    at = datetime.now(UTC) + timedelta(hours=1)
    clock = [at + timedelta(seconds=1)]
    transport = ClockMovingTransport(clock)
    with Client(transport=transport, storage=MemoryStorage(), batch_size=3) as client:
        client.send(NOTICE, to=NUMBERS, at=at)
        client.schedules.add(NOTICE, to=["+905559998877"], start=at + timedelta(minutes=30))
        monkeypatch.setattr(isobil.client, "_now", lambda: clock[0])  # the pass's clock
        monkeypatch.setattr(isobil.client, "_HOUSEKEEPING", 0.0)
        report = client.dispatch()
    assert report.handled == 10
    assert sorted(s.to for s in transport.sent) == sorted([*NUMBERS, "+905559998877"])


def test_a_failure_preparing_a_batch_settles_the_one_in_flight(storage: Watched) -> None:
    """Storage fails while storing the third batch: the first two were sent and are
    settled (none left ``submitting``), the rest was never stored, the error goes up."""
    storage.fail_on_mark = 3
    transport = FakeTransport()
    with Client(transport=transport, storage=storage, batch_size=4) as client:
        with pytest.raises(StorageError, match="went away"):
            client.send(NOTICE, to=NUMBERS)
        [campaign] = client.storage.list_campaigns()
        counts = client.storage.message_counts(campaign.id)
    assert counts == {MessageState.SUBMITTED: 8}
    assert [s.to for s in transport.sent] == NUMBERS[:8]


class OnRecheck(MemoryStorage):
    """Memory storage that runs a callback on each read of its address book (the
    re-check of a claimed batch) from :meth:`watch` on, with the read's number."""

    def __init__(self) -> None:
        super().__init__()
        self.watch(lambda read: None)

    def watch(self, on_read: Callable[[int], None]) -> None:
        self.reads, self.on_read = 0, on_read

    def get_contacts(self, numbers: Iterable[str]) -> dict[str, Any]:  # type: ignore[override]
        self.reads += 1
        self.on_read(self.reads)
        return super().get_contacts(numbers)


def fail_on(read: int) -> Callable[[int], None]:
    def fail(n: int) -> None:
        if n == read:
            raise StorageError("the database went away")

    return fail


def test_a_failure_rechecking_a_claimed_batch_puts_it_back_in_the_queue() -> None:
    """Dispatch claims a batch (``submitting`` from then on) and storage fails while it
    is re-checked: the batch in flight is settled, the claimed one goes back to
    ``queued`` (not left to become ``unknown``: it never left) under its lease, the
    error goes up. The next pass sends what is behind it; the batch goes once its
    lease ends (a batch that fails every time does not hold up the queue)."""
    at = datetime.now(UTC) + timedelta(hours=1)
    storage = OnRecheck()
    transport = FakeTransport()
    with Client(transport=transport, storage=storage, batch_size=4) as client:
        result = client.send(NOTICE, to=NUMBERS, at=at)
        storage.watch(fail_on(2))  # the second batch's re-check
        first = at + timedelta(seconds=1)
        with pytest.raises(StorageError, match="went away"):
            client.dispatch(now=first)
        counts = storage.message_counts(result.campaign_id)
        assert counts == {MessageState.SUBMITTED: 4, MessageState.QUEUED: 6}
        assert [s.to for s in transport.sent] == NUMBERS[:4]
        behind = client.dispatch(now=first + timedelta(seconds=1))
        assert (behind.handled, dict(behind.outcomes)) == (2, {OutcomeStatus.SUBMITTED: 2})
        assert [s.to for s in transport.sent] == NUMBERS[:4] + NUMBERS[8:]
        again = client.dispatch(now=first + client.lease + timedelta(seconds=1))
    assert (again.handled, dict(again.outcomes)) == (4, {OutcomeStatus.SUBMITTED: 4})
    assert sorted(s.to for s in transport.sent) == NUMBERS
    assert storage.message_counts(result.campaign_id) == {MessageState.SUBMITTED: 10}


@pytest.mark.parametrize("status", ["cancelled", "paused"])
def test_a_campaign_stopped_while_its_batch_is_rechecked_keeps_it(status: str) -> None:
    """A campaign cancelled (or paused) after a batch of it was claimed — claimed
    messages are ``submitting``, out of the cancel's reach — and before the batch
    goes: nothing of it is sent. Cancelled, its messages are cancelled and their
    credits released; paused, they wait in the queue and go as soon as it is resumed."""
    at = datetime.now(UTC) + timedelta(hours=1)
    storage = OnRecheck()
    transport = FakeTransport()
    with Client(ACME, transport=transport, storage=storage, prepaid=True, batch_size=4) as client:
        client.credits.top_up(100)
        result = client.send(NOTICE, to=NUMBERS, at=at)
        assert client.credits.balance() == 90
        stop = client.cancel if status == "cancelled" else client.pause
        storage.watch(lambda read: stop(result.campaign_id) if read == 1 else None)
        report = client.dispatch(now=at + timedelta(seconds=1))
        assert (report.handled, dict(report.outcomes)) == (4, {})
        assert transport.sent == []
        counts = storage.message_counts(result.campaign_id)
        if status == "cancelled":
            assert counts == {MessageState.CANCELLED: 10}
            assert client.credits.balance() == 100
            return
        assert counts == {MessageState.QUEUED: 10}
        client.resume(result.campaign_id)  # the batch goes at once, not after its lease
        assert client.dispatch(now=at + timedelta(seconds=2)).handled == 10
    assert sorted(s.to for s in transport.sent) == NUMBERS
    assert client.credits.balance() == 90


class FlakyRequeue(OnRecheck):
    """Its first move of messages back to ``queued`` fails (a settle back to the queue
    too: ``MemoryStorage.settle`` moves each message through ``transition``)."""

    def __init__(self) -> None:
        super().__init__()
        self.requeues = 0

    def transition(
        self, message_ids: Iterable[str], new_state: MessageState, **kw: Any
    ) -> list[str]:  # type: ignore[override]
        if new_state is MessageState.QUEUED:
            self.requeues += 1
            if self.requeues == 1:
                raise StorageError("the database went away")
        return super().transition(message_ids, new_state, **kw)


def test_a_failed_put_back_of_a_paused_campaigns_batch_goes_up() -> None:
    """The campaign is paused while its claimed batch is re-checked and putting the batch
    back fails: the error goes up (the pass does not go on as if nothing happened, its
    batch left ``submitting`` to become ``unknown``), and the batch is put back on the
    way out."""
    at = datetime.now(UTC) + timedelta(hours=1)
    storage = FlakyRequeue()
    transport = FakeTransport()
    with Client(transport=transport, storage=storage, batch_size=4) as client:
        result = client.send(NOTICE, to=NUMBERS, at=at)
        storage.watch(lambda read: client.pause(result.campaign_id) if read == 1 else None)
        with pytest.raises(StorageError, match="went away"):
            client.dispatch(now=at + timedelta(seconds=1))
    assert transport.sent == []
    assert storage.requeues == 2
    assert storage.message_counts(result.campaign_id) == {MessageState.QUEUED: 10}


def _send_in_child(client: Client, answer: multiprocessing.connection.Connection) -> None:
    answer.send(len(client.send(NOTICE, to=NUMBERS[:3]).submitted))


@pytest.mark.skipif(sys.platform == "win32", reason="fork is POSIX")
def test_a_forked_worker_gets_its_own_submit_thread() -> None:
    """A client that sent before a fork (its submit thread started) still sends in the
    child, which has no such thread (Celery's prefork workers)."""
    with Client(transport=FakeTransport(), storage=MemoryStorage()) as client:
        assert len(client.send(NOTICE, to=NUMBERS[:2]).submitted) == 2
        receive, answer = multiprocessing.get_context("fork").Pipe(duplex=False)
        child = multiprocessing.get_context("fork").Process(
            target=_send_in_child, args=(client, answer)
        )
        child.start()
        try:
            assert receive.poll(PATIENCE), "the child's send never finished"
            assert receive.recv() == 3
        finally:
            child.kill()
            child.join()


def test_history_is_read_only_where_a_rule_reads_it() -> None:
    """isobil's own rules read previously_messaged only for legacy (HS_2015) consents of
    a commercial message without the notice, and the re-check never; a rule of your own
    may read it of anyone."""

    def facts(text: str, category: str = "commercial") -> MessageFacts:
        message = Message(text, brand="ACME", category=category)
        return MessageFacts(ACME, message, datetime.now(UTC).date(), RulesConfig())

    offer = facts(OFFER.text)
    assert RuleSet().history_read(offer) == {ConsentSource.HS_2015}
    assert RuleSet().history_read(offer, recheck_only=True) == frozenset()
    assert RuleSet().history_read(facts(NOTICE.text, "informational")) == frozenset()
    noticed = facts(NOTICED.text)
    assert RuleSet().history_read(noticed) == frozenset()
    mine = own_rule(
        "ACME-FIRST-001",
        lambda m, r: None if r is None or r.previously_messaged else "first message",
        recheck=True,
    )
    assert RuleSet().with_rules(mine).history_read(offer, recheck_only=True) is None


def test_a_legacy_recipient_needs_the_notice_in_the_first_message_only() -> None:
    """A commercial message to an HS_2015 consent without the database notice is blocked
    (TR-LEGACY-001) until the recipient was once messaged; other consents never are."""
    with Client(ACME, transport=FakeTransport(), storage=MemoryStorage()) as client:
        legacy, recent = NUMBERS[:2]
        event = client.consent.record(
            legacy,
            "ONAY",
            source="HS_2015",
            brand="ACME",
            consent_date=datetime(2014, 6, 1, tzinfo=UTC),
        )
        # Uploaded to İYS, as a legacy consent must be (TR-LEGACY-002).
        at = datetime.now(UTC)
        client.storage.set_iys_sync([IysSync(event.seq or 0, IysSyncStatus.REGISTERED, at)])
        client.consent.record(recent, "ONAY", source="HS_ISLAK_IMZA", brand="ACME")
        first = client.send(OFFER, to=[legacy, recent], acknowledge=IYS_NOT_WIRED)
        assert [o.status for o in first.outcomes] == [
            OutcomeStatus.BLOCKED,
            OutcomeStatus.SUBMITTED,
        ]
        assert "TR-LEGACY-001" in first.outcomes[0].rule_ids
        client.send(NOTICED, to=legacy, acknowledge=IYS_NOT_WIRED)
        again = client.send(OFFER, to=[legacy, recent], acknowledge=IYS_NOT_WIRED)
        assert [o.status for o in again.outcomes] == [OutcomeStatus.SUBMITTED] * 2


def test_the_recheck_sees_each_recipients_type_from_the_address_book() -> None:
    """A re-checked rule of your own reads the recipient type the address book holds at
    dispatch (a merchant stays TACIR), and the transport gets the same type."""
    seen: dict[str, RecipientType] = {}

    def note(m: Any, r: Any) -> None:
        if r is not None:
            seen[r.number] = r.recipient_type

    watcher = own_rule("ACME-TYPE-001", note, recheck=True)
    transport = FakeTransport()
    rules = RuleSet().with_rules(watcher)
    with Client(transport=transport, storage=MemoryStorage(), rules=rules) as client:
        client.contacts.add(NUMBERS[0], recipient_type=RecipientType.TACIR)
        at = datetime.now(UTC) + timedelta(hours=1)
        client.send(NOTICE, to=NUMBERS[:2], at=at)
        seen.clear()  # what the send's own check saw
        assert client.dispatch(now=at + timedelta(minutes=1)).handled == 2
    assert seen == {NUMBERS[0]: RecipientType.TACIR, NUMBERS[1]: RecipientType.BIREYSEL}
    assert {s.to: s.outbound.recipient_type for s in transport.sent if s.outbound} == seen


class Answering(FakeTransport):
    """An SMSC that hands over two opt-outs (RET) while a batch is being submitted: the
    client answers each with an auto reply sent from within that submit."""

    def submit(self, batch: Sequence[OutboundSms]) -> list[SubmitResult]:
        results = super().submit(batch)
        if len(batch) > 1:
            for number in NUMBERS[:2]:
                self.receive(number, "4605", "ACME RET")
        return results


@pytest.mark.timeout(60)
def test_two_replies_sent_from_within_one_submit_do_not_wait_for_it() -> None:
    """A handler's second send during a submit goes out inline like the first: it does not
    queue behind the submit it is part of (which would wait for it for ever)."""
    transport = Answering()
    with Client(ACME, transport=transport, storage=MemoryStorage()) as client:
        client.send(NOTICE, to=NUMBERS[:3])
    replies = [s.to for s in transport.sent if s.text != NOTICE.text]
    assert sorted(replies) == NUMBERS[:2]  # one auto reply to each RET
    assert len(transport.sent) == 3 + 2
