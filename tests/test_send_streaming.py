"""Sends taken a chunk of ``to`` at a time: duplicates across chunks, outcomes kept or read
back from storage in input order, credits that run out part-way."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import isobil.client
from _acme import ACME, own_rule
from isobil import (
    Client,
    FakeTransport,
    InsufficientCredits,
    InvalidValue,
    Message,
    OutcomeStatus,
    Recipient,
    RecipientOutcome,
)
from isobil.rules import (
    MessageFacts,
    RecipientFacts,
)
from isobil.storage import (
    CampaignStatus,
    MemoryStorage,
    MessageState,
    OutboundMessage,
    SQLStorage,
)

NOTICE = Message("Siparişiniz kargoya verildi.", category="informational")


def number(i: int) -> str:
    return f"+90532{i:07d}"


def entries() -> Iterator[object]:
    """Nine entries in three chunks of three: a repeat within and across chunks, an
    invalid entry, a blacklisted number."""
    yield from [number(0), number(1), "hello"]
    yield from [number(2), "0532 000 00 00", number(3)]  # repeats number(0) across chunks
    yield from [number(4), number(3), number(9)]  # number(9) is blacklisted


EXPECTED = [
    (number(0), OutcomeStatus.SUBMITTED),
    (number(1), OutcomeStatus.SUBMITTED),
    (None, OutcomeStatus.INVALID),
    (number(2), OutcomeStatus.SUBMITTED),
    (number(0), OutcomeStatus.DUPLICATE),
    (number(3), OutcomeStatus.SUBMITTED),
    (number(4), OutcomeStatus.SUBMITTED),
    (number(3), OutcomeStatus.DUPLICATE),
    (number(9), OutcomeStatus.BLOCKED),
]


@pytest.fixture(params=["memory", "sqlite"])
def client(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[Client]:
    storage = (
        MemoryStorage()
        if request.param == "memory"
        else SQLStorage(f"sqlite:///{tmp_path}/isobil.db")  # type: ignore[str-bytes-safe]
    )
    # Sent now, a send takes `to` a batch at a time; later, _SEND_CHUNK at a time.
    with storage, Client(ACME, transport=FakeTransport(), storage=storage, batch_size=3) as client:
        client.blacklist.add(number(9), reason="asked by phone")
        yield client


@pytest.mark.parametrize("keep", [100, 4], ids=["kept", "read-back"])
def test_chunks_give_one_outcome_per_entry_in_input_order(
    client: Client, monkeypatch: pytest.MonkeyPatch, keep: int
) -> None:
    """Every entry is accounted for, in order, whether the outcomes were kept or are read
    back from storage; a number repeated in a later chunk is a duplicate, sent once."""
    monkeypatch.setattr(isobil.client, "_KEEP_OUTCOMES", keep)
    result = client.send(NOTICE, to=entries())
    assert [(o.number, o.status) for o in result.outcomes] == EXPECTED
    assert len(result.outcomes) == 9
    assert dict(result.counts) == {
        OutcomeStatus.SUBMITTED: 5,
        OutcomeStatus.INVALID: 1,
        OutcomeStatus.DUPLICATE: 2,
        OutcomeStatus.BLOCKED: 1,
    }
    assert result.credits == 5
    assert [o.number for o in result.submitted] == [number(i) for i in (0, 1, 2, 3, 4)]
    assert result.blocked[0].rule_ids == ("ISOBIL-BLACKLIST-001",)
    assert result.outcomes[-1].status is OutcomeStatus.BLOCKED
    assert "hello" in (result.outcomes[2].reason or "")
    # The entries that never became messages, whole: what was given, and why.
    repeated = "number already in this send"
    assert [o for o in result.outcomes if o.message_id is None] == [
        RecipientOutcome("hello", None, OutcomeStatus.INVALID, reason=result.outcomes[2].reason),
        RecipientOutcome("0532 000 00 00", number(0), OutcomeStatus.DUPLICATE, reason=repeated),
        RecipientOutcome(number(3), number(3), OutcomeStatus.DUPLICATE, reason=repeated),
    ]
    sent = client.transport.sent  # type: ignore[attr-defined]
    assert sorted(s.to for s in sent) == [number(i) for i in (0, 1, 2, 3, 4)]
    stored = list(client.storage.iter_messages(result.campaign_id))
    assert [m.to for m in stored] == [number(i) for i in (0, 1, 2, 3, 4, 9)]
    assert {m.id for m in stored} == {o.message_id for o in result.outcomes if o.message_id}


@pytest.mark.parametrize("keep", [100, 4], ids=["kept", "read-back"])
def test_a_scheduled_send_is_stored_chunk_by_chunk_and_dispatched_once(
    client: Client, monkeypatch: pytest.MonkeyPatch, keep: int
) -> None:
    monkeypatch.setattr(isobil.client, "_SEND_CHUNK", 3)
    monkeypatch.setattr(isobil.client, "_KEEP_OUTCOMES", keep)
    at = datetime.now(UTC) + timedelta(hours=1)
    result = client.send(NOTICE, to=entries(), at=at)
    queued = [(n, OutcomeStatus.QUEUED if s is OutcomeStatus.SUBMITTED else s) for n, s in EXPECTED]
    assert [(o.number, o.status) for o in result.outcomes] == queued
    assert dict(result.counts) == {
        OutcomeStatus.QUEUED: 5,
        OutcomeStatus.INVALID: 1,
        OutcomeStatus.DUPLICATE: 2,
        OutcomeStatus.BLOCKED: 1,
    }
    assert result.credits == 0  # reserved, not yet spent
    client.blacklist.add(number(4), reason="asked by phone since")
    report = client.dispatch(now=at + timedelta(minutes=1))
    assert (report.handled, dict(report.outcomes)) == (
        5,
        {OutcomeStatus.SUBMITTED: 4, OutcomeStatus.BLOCKED: 1},
    )
    sent = client.transport.sent  # type: ignore[attr-defined]
    assert sorted(s.to for s in sent) == [number(i) for i in (0, 1, 2, 3)]


def test_progress_counts_entries_handled_after_each_batch(client: Client) -> None:
    seen: list[int] = []
    client.send(NOTICE, to=entries(), progress=seen.append)
    assert seen == [3, 6, 9]  # batches of 3 entries; invalid and duplicate ones count too


def test_stored_outcomes_show_the_state_storage_holds(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read back after the send, a delivered message still counts as submitted."""
    monkeypatch.setattr(isobil.client, "_KEEP_OUTCOMES", 0)
    result = client.send(NOTICE, to=[number(i) for i in range(7)])
    client.transport.deliver_many(  # type: ignore[attr-defined]
        [(o.provider_id or "", "delivered", None) for o in result.submitted[:2]]
    )
    assert [o.status for o in result.outcomes] == [OutcomeStatus.SUBMITTED] * 7
    assert client.storage.message_counts(result.campaign_id) == {
        MessageState.DELIVERED: 2,
        MessageState.SUBMITTED: 5,
    }


def test_outcomes_read_back_name_the_rules_the_kept_ones_name(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read back from storage, a blocked outcome names every rule that stopped it, a
    rule of your own with an id not shaped like isobil's included (after a built-in
    one in the stored reason); a failed one names none."""

    def mine(m: MessageFacts, r: RecipientFacts | None) -> str | None:
        return "not this one" if r is not None and r.number == number(9) else None

    rule = own_rule("my_rule", mine)
    client.rules = client.rules.with_rules(rule)
    client.transport.fail_to([number(2)])  # type: ignore[attr-defined]
    to = [number(i) for i in (0, 2, 9)]
    kept = client.send(NOTICE, to=to).outcomes
    monkeypatch.setattr(isobil.client, "_KEEP_OUTCOMES", 0)
    read_back = client.send(NOTICE, to=to).outcomes
    assert [(o.status, o.rule_ids) for o in read_back] == [(o.status, o.rule_ids) for o in kept]
    assert [(o.status, o.rule_ids) for o in read_back] == [
        (OutcomeStatus.SUBMITTED, ()),
        (OutcomeStatus.FAILED, ()),
        (OutcomeStatus.BLOCKED, ("ISOBIL-BLACKLIST-001", "my_rule")),
    ]


def test_credits_running_out_in_a_later_chunk_stop_the_send_and_say_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A prepaid send reserves batch by batch as it goes: what went is named."""
    fake = FakeTransport()
    client = Client(ACME, transport=fake, prepaid=True, batch_size=3)
    client.credits.top_up(4)
    with pytest.raises(InsufficientCredits, match="the first 3 entries of `to` were sent") as exc:
        client.send(NOTICE, to=[number(i) for i in range(6)])
    assert (exc.value.needed, exc.value.balance) == (3, 1)
    assert [s.to for s in fake.sent] == [number(i) for i in range(3)]
    [campaign] = client.storage.list_campaigns()
    assert campaign.status is CampaignStatus.DONE
    assert client.credits.balance() == 1


def test_a_scheduled_send_short_of_credits_is_cancelled_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(isobil.client, "_SEND_CHUNK", 3)
    fake = FakeTransport()
    client = Client(ACME, transport=fake, prepaid=True)
    client.credits.top_up(4)
    at = datetime.now(UTC) + timedelta(hours=1)
    with pytest.raises(InsufficientCredits, match="nothing of it will go out"):
        client.send(NOTICE, to=[number(i) for i in range(6)], at=at)
    assert client.credits.balance() == 4
    assert client.dispatch(now=at + timedelta(minutes=1)).handled == 0
    assert fake.sent == []


def test_each_batch_of_a_long_send_is_leased_from_when_it_is_stored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A send longer than the lease does not store late batches with a lease already
    run out (a dispatcher would call them lost while they are being sent)."""
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    ticks = iter(range(10_000))
    monkeypatch.setattr(isobil.client, "_now", lambda: start + timedelta(minutes=7 * next(ticks)))
    stored: list[tuple[datetime, datetime | None]] = []
    storage = MemoryStorage()
    add = storage.add_messages

    def watching(messages: list[OutboundMessage]) -> int:
        clock = isobil.client._now()
        stored.extend((clock, m.lease_until) for m in messages)
        return add(messages)

    monkeypatch.setattr(storage, "add_messages", watching)
    client = Client(transport=FakeTransport(), storage=storage, batch_size=2)
    result = client.send(NOTICE, to=[number(i) for i in range(6)])
    assert result.counts == {OutcomeStatus.SUBMITTED: 6}
    assert len(stored) == 6
    assert all(lease is not None and lease > clock for clock, lease in stored)


def test_a_send_at_a_naive_time_is_refused_before_anything_is_stored(client: Client) -> None:
    """``at`` without a timezone could mean any of several moments: refused, named."""
    naive = datetime.now() + timedelta(hours=1)  # no tzinfo: the point of the test
    with pytest.raises(InvalidValue, match="at must be a timezone-aware datetime"):
        client.send(NOTICE, to=entries(), at=naive)
    assert client.storage.list_campaigns() == []


@pytest.mark.parametrize("keep", [100, 4], ids=["kept", "read-back"])
def test_a_refused_message_is_counted_failed_and_not_charged(
    client: Client, monkeypatch: pytest.MonkeyPatch, keep: int
) -> None:
    """A message the transport refuses counts as failed, kept or read back, and its
    credits are not among those the send spent."""
    monkeypatch.setattr(isobil.client, "_KEEP_OUTCOMES", keep)
    client.transport.fail_to([number(3)])  # type: ignore[attr-defined]
    result = client.send(NOTICE, to=entries())
    assert [(o.number, o.status) for o in result.outcomes] == [
        (n, OutcomeStatus.FAILED if n == number(3) and s is OutcomeStatus.SUBMITTED else s)
        for n, s in EXPECTED
    ]
    assert dict(result.counts) == {
        OutcomeStatus.SUBMITTED: 4,
        OutcomeStatus.FAILED: 1,
        OutcomeStatus.INVALID: 1,
        OutcomeStatus.DUPLICATE: 2,
        OutcomeStatus.BLOCKED: 1,
    }
    assert result.credits == 4


def test_a_send_result_built_from_outcomes_alone_counts_them() -> None:
    """``SendResult(campaign_id, outcomes)`` (a test double, a result rebuilt from a log)
    counts its outcomes and their credits, as a send's own result does."""
    from isobil import SendResult, sms

    sent = RecipientOutcome(number(1), number(1), OutcomeStatus.SUBMITTED, plan=sms.plan("a" * 200))
    stopped = RecipientOutcome(number(2), number(2), OutcomeStatus.BLOCKED)
    result = SendResult("c1", (sent, stopped))
    assert result.submitted == (sent,)
    assert result.blocked == (stopped,)
    assert dict(result.counts) == {OutcomeStatus.SUBMITTED: 1, OutcomeStatus.BLOCKED: 1}
    assert result.credits == 2


OFFER = Message(
    "KAMPANYA: {ad} için %20 indirim! acme.com.tr/k Ret için ACME RET yazıp 4605'e gönderin.",
    brand="ACME",
)


def test_a_check_reads_its_audience_a_piece_at_a_time(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``check`` reads the address book and each recipient's facts (blacklist, consent
    and İYS) a piece at a time, so what it reads never piles up, and reaches the report
    one read of everything reaches."""
    book = client.storage
    book.upsert_contacts(
        Recipient(
            number(i), name=f"Ad{i % 4}", recipient_type="TACIR" if i % 5 == 0 else "BIREYSEL"
        )
        for i in range(0, 20, 2)
    )
    for i in range(20):
        if i % 3:
            client.consent.record(
                number(i), "RET" if i % 7 == 0 else "ONAY", source="HS_ISLAK_IMZA", brand="ACME"
            )
    client.blacklist.add(number(4), reason="complaint")
    audience = [*(number(i) for i in range(20)), "hello", number(3)]
    whole = client.check(OFFER, to=audience)
    asked: list[int] = []
    for name in ("get_contacts", "blacklisted", "consent_states_with_iys"):
        read = getattr(book, name)

        def counted(numbers: Iterable[str], *args: Any, _read: Any = read, **kwargs: Any) -> Any:
            numbers = list(numbers)
            asked.append(len(numbers))
            return _read(numbers, *args, **kwargs)

        monkeypatch.setattr(book, name, counted)
    monkeypatch.setattr(type(book), "lookup_size", 3)
    pieces = client.check(OFFER, to=audience)
    assert max(asked) == 3
    assert len(asked) == 3 * 7  # 20 numbers: seven pieces, three reads each
    assert pieces == whole
    assert 0 < len(whole.allowed) < 20
    assert number(4) in whole.blocked
