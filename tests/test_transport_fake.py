"""FakeTransport: the shared transport contract, plus what only the fake does."""

from __future__ import annotations

import pytest

from isobil import DeliveryStatus, FakeTransport, InvalidValue, SubmitRejected, Throttled
from isobil.testing.transport import EventQueue, FakePeer, TransportContract, outbound
from isobil.transport import DeliveryReport


class TestFakeTransportContract(TransportContract):
    """The fake keeps the same contract as the real transports."""

    @pytest.fixture
    def fake(self) -> FakeTransport:
        return FakeTransport()

    @pytest.fixture
    def transport(self, fake: FakeTransport) -> FakeTransport:
        return fake

    @pytest.fixture
    def peer(self, fake: FakeTransport) -> FakePeer:
        return FakePeer(fake)


def test_sent_items_carry_what_users_assert_on() -> None:
    """Each sent item has E.164 `to`, the text, the provider id and the plan."""
    fake = FakeTransport()
    [result] = fake.submit([outbound("+905321234567", "Çağrı merkezimiz 7/24 açık.")])
    [sent] = fake.sent
    assert (sent.to, sent.text, sent.message_id) == (
        "+905321234567",
        "Çağrı merkezimiz 7/24 açık.",
        result.provider_id,
    )
    assert sent.plan.parts == 1
    assert sent.originator == "TEST"


def test_failure_injection_counts_down() -> None:
    """fail_next and throttle affect exactly the next messages, in order."""
    fake = FakeTransport()
    fake.fail_next(1)
    fake.throttle(1)
    results = fake.submit([outbound(f"+90532123456{i}", "x", i) for i in range(3)])
    assert isinstance(results[0].error, SubmitRejected)
    assert results[0].error.code == "ESME_RSUBMITFAIL"
    assert isinstance(results[1].error, Throttled)
    assert results[2].ok
    assert len(fake.sent) == 1
    assert len(fake.failed) == 2


def test_fail_to_rejects_one_number_until_reset() -> None:
    """A number marked failing is rejected with its code; reset() clears it."""
    fake = FakeTransport()
    fake.fail_to(["0532 123 45 67"], code="ESME_RINVDSTADR")
    [bad, good] = fake.submit(
        [outbound("+905321234567", "x", 0), outbound("+905331234567", "x", 1)]
    )
    assert isinstance(bad.error, SubmitRejected)
    assert bad.error.code == "ESME_RINVDSTADR"
    assert "+905321234567" not in str(bad.error)  # numbers are masked in errors
    assert good.ok
    fake.reset()
    assert fake.submit([outbound("+905321234567", "x", 2)])[0].ok


def test_deliver_unknown_id_is_an_error() -> None:
    """A test that delivers a report for a message never sent is told so."""
    with pytest.raises(InvalidValue, match="never sent a message with id 'fake-99'"):
        FakeTransport().deliver("fake-99")


def test_deliver_all_reports_each_message_once() -> None:
    """deliver_all reports only messages without a report yet."""
    fake = FakeTransport()
    events = EventQueue()
    fake.set_inbound_handler(events)
    fake.submit([outbound("+905321234567", "a", 0), outbound("+905331234567", "b", 1)])
    fake.deliver(fake.sent[0].message_id, DeliveryStatus.EXPIRED)
    assert fake.deliver_all() == 1
    statuses = [events.next(), events.next()]
    assert [e.status for e in statuses if isinstance(e, DeliveryReport)] == [
        DeliveryStatus.EXPIRED,
        DeliveryStatus.DELIVERED,
    ]
    assert fake.deliver_all() == 0


def test_repr_counts() -> None:
    """The repr says what happened at a glance."""
    fake = FakeTransport()
    fake.throttle()
    fake.submit([outbound("+905321234567", "a", 0), outbound("+905331234567", "b", 1)])
    fake.deliver_all()
    fake.receive("05321234567", "4605", "ACME RET")
    assert repr(fake) == "<FakeTransport sent=1 delivered=1 failed=1 inbound=1>"


def test_keep_bounds_what_the_fake_remembers_but_counts_everything() -> None:
    """With keep=3 only the last 3..5 messages stay (deliverable); all are counted."""
    fake = FakeTransport(keep=3)
    results = [fake.submit([outbound(f"+90532123456{i}", "Kargonuz yolda.")])[0] for i in range(8)]
    assert fake.accepted == 8
    assert 3 <= len(fake.sent) < 6
    assert [s.message_id for s in fake.sent] == [r.provider_id for r in results][-len(fake.sent) :]
    fake.deliver(results[-1].provider_id or "")
    with pytest.raises(InvalidValue, match="never sent"):
        fake.deliver(results[0].provider_id or "")
    with pytest.raises(InvalidValue, match="keep must be >= 1"):
        FakeTransport(keep=0)
