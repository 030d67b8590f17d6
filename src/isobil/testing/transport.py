"""The transport contract suite: one set of tests every transport must pass.

Mix :class:`TransportContract` into a test class and provide two fixtures:
``transport`` (the transport under test, opened) and ``peer`` (a :class:`Peer`
that plays the other side: it sees what arrived and can send reports and
inbound messages). The fake, SMPP and HTTP transports all run these tests.

Nothing here sleeps: events are awaited on a queue with a timeout.
"""

from __future__ import annotations

import queue
from typing import Protocol

import pytest

from isobil import sms
from isobil.errors import TransportError
from isobil.transport import (
    DeliveryReport,
    DeliveryStatus,
    FakeTransport,
    InboundEvent,
    InboundSms,
    OutboundSms,
    Transport,
)

__all__ = ["EventQueue", "FakePeer", "Peer", "TransportContract"]

#: How long a contract test waits for an event from a real peer.
EVENT_TIMEOUT = 10.0


class Peer(Protocol):
    """The other side of a transport, driven by the contract tests."""

    def received(self) -> list[tuple[str, str]]:
        """Every message that arrived so far, as (E.164 destination, full text), in order."""
        ...

    def deliver(
        self, provider_id: str, status: DeliveryStatus, error_code: str | None = None
    ) -> None:
        """Send a delivery report for the message the peer gave ``provider_id``."""
        ...

    def send_inbound(self, from_: str, to: str, text: str) -> None:
        """Send an inbound message (MO) from ``from_`` (E.164) to our number ``to``."""
        ...


class FakePeer:
    """The :class:`Peer` of a :class:`~isobil.FakeTransport`: the fake itself."""

    def __init__(self, fake: FakeTransport) -> None:
        self.fake = fake

    def received(self) -> list[tuple[str, str]]:
        return [(s.to, s.text) for s in self.fake.sent]

    def deliver(
        self, provider_id: str, status: DeliveryStatus, error_code: str | None = None
    ) -> None:
        self.fake.deliver(provider_id, status, error_code)

    def send_inbound(self, from_: str, to: str, text: str) -> None:
        self.fake.receive(from_, to, text)


class EventQueue:
    """An inbound handler that queues events so a test can wait for them."""

    def __init__(self) -> None:
        self._events: queue.Queue[InboundEvent] = queue.Queue()

    def __call__(self, event: InboundEvent) -> None:
        self._events.put(event)

    def next(self, timeout: float = EVENT_TIMEOUT) -> InboundEvent:
        """The next event; fails the test if none comes within ``timeout`` seconds."""
        try:
            return self._events.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"no inbound event within {timeout} s")


def outbound(to: str, text: str, n: int = 0) -> OutboundSms:
    """An :class:`OutboundSms` with a deterministic id, planned with the defaults."""
    return OutboundSms(f"contract-{n}", to, sms.plan(text), originator="TEST")


class TransportContract:
    """The behaviour every :class:`~isobil.transport.Transport` promises."""

    def test_submit_returns_one_result_per_message_in_order(
        self, transport: Transport, peer: Peer
    ) -> None:
        """Results echo our ids in the order of the batch, each with a provider id."""
        batch = [outbound(f"+9053212345{i:02d}", f"Mesaj {i}", i) for i in range(5)]
        results = transport.submit(batch)
        assert [r.id for r in results] == [o.id for o in batch]
        assert all(r.ok and r.provider_id for r in results)
        assert len({r.provider_id for r in results}) == len(batch)

    def test_peer_receives_exact_text(self, transport: Transport, peer: Peer) -> None:
        """Turkish text, long enough for three parts, arrives whole and unchanged."""
        text = ("Şişli'de ığdır çöğüş İSTANBUL € {kampanya} " * 8)[:300]
        [result] = transport.submit([outbound("+905321234567", text)])
        assert result.ok
        assert peer.received()[-1] == ("+905321234567", text)

    def test_empty_batch_submits_nothing(self, transport: Transport, peer: Peer) -> None:
        """An empty batch is no error and sends nothing."""
        before = len(peer.received())
        assert transport.submit([]) == []
        assert len(peer.received()) == before

    def test_delivery_report_reaches_handler(self, transport: Transport, peer: Peer) -> None:
        """A report from the peer arrives at the handler with the provider id it gave."""
        events = EventQueue()
        transport.set_inbound_handler(events)
        [result] = transport.submit([outbound("+905321234567", "Merhaba")])
        assert result.provider_id is not None
        peer.deliver(result.provider_id, DeliveryStatus.UNDELIVERED, "027")
        event = events.next()
        assert isinstance(event, DeliveryReport)
        assert (event.provider_id, event.status) == (
            result.provider_id,
            DeliveryStatus.UNDELIVERED,
        )

    def test_inbound_message_reaches_handler(self, transport: Transport, peer: Peer) -> None:
        """An MO arrives with its sender in E.164, our number and its exact text."""
        events = EventQueue()
        transport.set_inbound_handler(events)
        peer.send_inbound("+905321234567", "4605", "ACME RET")
        event = events.next()
        assert isinstance(event, InboundSms)
        assert (event.from_, event.to, event.text) == ("+905321234567", "4605", "ACME RET")

    def test_events_before_a_handler_are_kept(self, transport: Transport, peer: Peer) -> None:
        """An event that arrives before any handler is set is handed over later, not lost."""
        transport.set_inbound_handler(None)
        peer.send_inbound("+905321234567", "4605", "ACME")
        events = EventQueue()
        transport.set_inbound_handler(events)
        event = events.next()
        assert isinstance(event, InboundSms)
        assert event.text == "ACME"

    def test_close_is_idempotent_and_submit_after_close_raises(
        self, transport: Transport, peer: Peer
    ) -> None:
        """A closed transport refuses to submit, with a TransportError; closing twice is fine."""
        transport.close()
        transport.close()
        with pytest.raises(TransportError):
            transport.submit([outbound("+905321234567", "Merhaba")])
