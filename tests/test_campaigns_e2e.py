"""A whole campaign at scale on SQLite, and delivery reports handed over as a burst."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import isobil
from isobil.campaigns import error_reason
from isobil.storage import CreditKind, MemoryStorage, MessageState, SQLStorage
from isobil.transport import (
    DeliveryReport,
    DeliveryStatus,
    InboundEvent,
    InboundSms,
    OutboundSms,
    SubmitResult,
    Transport,
)

RECIPIENTS = 100_000
TOP_UP = 250_000
#: Every tenth message is undelivered, with these operator codes in turn.
CODES = ("027", "001")
NOTICE = isobil.Message("Kargonuz yola çıktı.", category="informational")


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[SQLStorage]:
    """A fresh SQLite file."""
    with SQLStorage(f"sqlite:///{tmp_path}/isobil.db") as opened:
        yield opened


def test_campaign_of_100000_on_sqlite(storage: SQLStorage) -> None:
    """Queue 100,000 recipients, dispatch them, report 90 % delivered and 10 % undelivered.

    The prepaid balance ends exact (reserved, then the undelivered refunded once)
    and the delivery report counts every message by state and reason.
    """
    fake = isobil.FakeTransport()
    client = isobil.Client(transport=fake, storage=storage, prepaid=True, batch_size=5_000)
    client.credits.top_up(TOP_UP)
    numbers = [f"+90532{i:07d}" for i in range(RECIPIENTS)]
    message = isobil.Message("Siparişiniz kargoya verildi.", category="informational")
    at = datetime.now(UTC) + timedelta(hours=1)

    queued = client.send(message, to=numbers, at=at)
    assert len(queued.queued) == RECIPIENTS
    assert client.credits.balance() == TOP_UP - RECIPIENTS

    dispatched = client.dispatch(now=at + timedelta(seconds=1))
    assert dispatched.handled == RECIPIENTS
    assert dict(dispatched.outcomes) == {isobil.OutcomeStatus.SUBMITTED: RECIPIENTS}
    assert len(fake.sent) == RECIPIENTS
    assert len({s.id for s in fake.sent}) == RECIPIENTS

    reports = []
    for i, sent in enumerate(fake.sent):
        if i % 10:
            reports.append((sent.message_id, DeliveryStatus.DELIVERED, None))
        else:
            reports.append((sent.message_id, DeliveryStatus.UNDELIVERED, CODES[(i // 10) % 2]))
    assert fake.deliver_many(reports) == RECIPIENTS
    assert fake.deliver_many(reports[:1_000]) == 1_000  # repeats change nothing

    undelivered = RECIPIENTS // 10
    assert client.credits.balance() == TOP_UP - RECIPIENTS + undelivered
    refunds = [e for e in client.credits.entries() if e.kind is CreditKind.REFUND]
    assert len(refunds) == len({e.message_id for e in refunds}) == undelivered

    summary = client.reports.delivery(queued.campaign_id)
    assert dict(summary.counts) == {
        MessageState.DELIVERED: RECIPIENTS - undelivered,
        MessageState.UNDELIVERED: undelivered,
    }
    assert dict(summary.by_reason) == {
        error_reason("027"): undelivered // 2,
        error_reason("001"): undelivered // 2,
    }
    assert summary.pending == 0
    assert sum(summary.by_hour.values()) == RECIPIENTS


class BurstTransport(Transport):
    """Accepts everything as ``p-<message id>``; a test hands reports over as one burst."""

    def submit(self, batch: Sequence[OutboundSms]) -> list[SubmitResult]:
        """Accept each message under a provider id derived from ours."""
        return [SubmitResult(sms.id, provider_id=f"p-{sms.id}") for sms in batch]

    def burst(self, events: Sequence[InboundEvent]) -> None:
        """Hand ``events`` to the handler in one call."""
        self._emit_many(events)


def _report(provider_id: str, status: DeliveryStatus, code: str | None = None) -> DeliveryReport:
    return DeliveryReport(provider_id, status, code, datetime.now(UTC))


def test_a_burst_is_applied_once_and_reaches_every_callback() -> None:
    """A burst settles each message by its first final report, refunds once, calls back each."""
    transport = BurstTransport()
    seen: list[InboundEvent] = []
    with isobil.Client(transport=transport, storage=MemoryStorage(), prepaid=True) as client:
        client.credits.top_up(10)
        client.on_inbound(seen.append)
        result = client.send(NOTICE, to=["05321234567", "05331234567"])
        first, second = (f"p-{o.message_id}" for o in result.submitted)
        burst: list[InboundEvent] = [
            _report(first, DeliveryStatus.UNDELIVERED, "027"),
            _report(second, DeliveryStatus.DELIVERED),
            _report(first, DeliveryStatus.UNDELIVERED, "027"),  # a repeat
            InboundSms("+905341234567", "4605", "merhaba", datetime.now(UTC), "mo-1"),
            _report("p-not-ours", DeliveryStatus.DELIVERED),
        ]
        transport.burst(burst)
        assert seen == burst
        assert client.credits.balance() == 10 - 2 + 1
        states = {o.message_id: client.message(o.message_id or "").state for o in result.outcomes}
        assert sorted(states.values()) == [MessageState.DELIVERED, MessageState.UNDELIVERED]
        transport.burst(burst[:2])
        assert client.credits.balance() == 9


def test_a_burst_that_overtakes_its_submits_is_applied_when_they_settle() -> None:
    """Reports for messages not yet submitted are held, then applied when the batch settles."""
    transport = BurstTransport()
    with isobil.Client(transport=transport, storage=MemoryStorage(), prepaid=True) as client:
        client.credits.top_up(10)
        at = datetime.now(UTC) + timedelta(hours=1)
        queued = client.send(NOTICE, to=["05321234567", "05331234567"], at=at)
        first, second = (o.message_id or "" for o in queued.queued)
        transport.burst(
            [
                _report(f"p-{first}", DeliveryStatus.UNDELIVERED, "001"),
                _report(f"p-{second}", DeliveryStatus.DELIVERED),
            ]
        )
        assert client.message(first).state is MessageState.QUEUED
        client.dispatch(now=at + timedelta(seconds=1))
        assert client.message(first).state is MessageState.UNDELIVERED
        assert client.message(second).state is MessageState.DELIVERED
        assert client.credits.balance() == 10 - 2 + 1


def test_a_plain_handler_gets_a_burst_one_event_at_a_time() -> None:
    """A handler without ``handle_many`` sees a burst as single events, in order."""
    fake = isobil.FakeTransport()
    fake.submit([OutboundSms("m1", "+905321234567", isobil.sms.plan("Merhaba"))])
    seen: list[InboundEvent] = []
    fake.set_inbound_handler(seen.append)
    [sent] = fake.sent
    assert fake.deliver_many([(sent.message_id, "delivered", None)] * 2) == 2
    assert [e.provider_id for e in seen if isinstance(e, DeliveryReport)] == [sent.message_id] * 2
