"""A transport that sends nothing: it records, and lets a test play the network."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import attrs

from isobil import phone
from isobil.errors import (
    InvalidValue,
    SubmitRejected,
    Throttled,
    TransportClosed,
    TransportError,
)
from isobil.sms import SegmentPlan
from isobil.transport._base import (
    DeliveryReport,
    DeliveryStatus,
    InboundSms,
    OutboundSms,
    SubmitResult,
    Transport,
)

__all__ = ["FakeTransport", "SentSms"]


@attrs.frozen
class SentSms:
    """One message the fake accepted: what a real SMSC would have received.

    ``outbound`` is the :class:`OutboundSms` as the transport got it (its category,
    brand, İYS code, recipient type …).
    """

    id: str
    message_id: str
    to: str = attrs.field(repr=phone.mask)
    text: str
    plan: SegmentPlan = attrs.field(repr=False)
    originator: str | None
    submitted_at: datetime
    outbound: OutboundSms | None = attrs.field(default=None, repr=False)


class FakeTransport(Transport):
    """An in-memory transport for tests and demos.

    Everything it accepts is appended to :attr:`sent`, with the provider
    ``message_id`` it assigned (``fake-1``, ``fake-2`` …). A test then plays the
    network: :meth:`deliver` sends a delivery report, :meth:`receive` an inbound
    message, and :meth:`fail_next`, :meth:`throttle` and :meth:`fail_to` make
    submits fail the way real peers do.

    ``keep`` bounds the memory of a long run (a benchmark, a load test): only the
    last ``keep`` accepted messages stay in :attr:`sent` (and can be delivered);
    :attr:`accepted` counts them all.

    >>> fake = FakeTransport()
    >>> fake.receive("0532 123 45 67", "4605", "ACME RET")
    >>> fake
    <FakeTransport sent=0 delivered=0 failed=0 inbound=1>
    """

    def __init__(self, *, keep: int | None = None) -> None:
        super().__init__()
        if keep is not None and keep < 1:
            raise InvalidValue(f"keep must be >= 1 (or None to keep every message), got {keep}")
        self._keep = keep
        #: How many messages the fake accepted since it was made.
        self.accepted = 0
        self.sent: list[SentSms] = []
        #: Delivery reports and inbound messages emitted so far, in order.
        self.events: list[DeliveryReport | InboundSms] = []
        self.failed: list[SubmitResult] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._by_provider_id: dict[str, SentSms] = {}
        self._next_errors: list[TransportError] = []
        self._failing_numbers: dict[str, str] = {}
        self._closed = False

    # -- the contract -------------------------------------------------------

    def submit(self, batch: Sequence[OutboundSms]) -> list[SubmitResult]:
        """Accept each message unless a failure was injected for it."""
        with self._lock:
            if self._closed:
                raise TransportClosed("FakeTransport is closed")
            return [self._submit_one(sms) for sms in batch]

    def _submit_one(self, sms: OutboundSms) -> SubmitResult:
        # The moment it "leaves": right after the transport's last look, within it.
        with self.last_look:
            return self._leave(sms, self.last_look.refusal(sms) or self._injected(sms))

    def _injected(self, sms: OutboundSms) -> TransportError | None:
        if self._next_errors:
            return self._next_errors.pop(0)
        if sms.to in self._failing_numbers:
            return SubmitRejected(
                f"rejected by FakeTransport for {phone.mask(sms.to)}",
                code=self._failing_numbers[sms.to],
            )
        return None

    def _leave(self, sms: OutboundSms, error: TransportError | None) -> SubmitResult:
        if error is not None:
            result = SubmitResult(sms.id, error=error)
            self.failed.append(result)
            return result
        provider_id = f"fake-{next(self._ids)}"
        sent = SentSms(
            id=sms.id,
            message_id=provider_id,
            to=sms.to,
            text=sms.text,
            plan=sms.plan,
            originator=sms.originator,
            submitted_at=datetime.now(UTC),
            outbound=sms,
        )
        self.sent.append(sent)
        self._by_provider_id[provider_id] = sent
        self.accepted += 1
        if self._keep is not None and len(self.sent) >= 2 * self._keep:
            for old in self.sent[: -self._keep]:
                del self._by_provider_id[old.message_id]
            del self.sent[: -self._keep]
        return SubmitResult(sms.id, provider_id=provider_id)

    def close(self) -> None:
        """Refuse further submits; events can still be injected."""
        self._closed = True

    # -- playing the network ------------------------------------------------

    def deliver(
        self,
        message_id: str,
        status: DeliveryStatus | str = DeliveryStatus.DELIVERED,
        error_code: str | None = None,
    ) -> None:
        """Send a delivery report for the sent message with provider id ``message_id``."""
        if message_id not in self._by_provider_id:
            raise InvalidValue(f"FakeTransport never sent a message with id {message_id!r}")
        self._event(
            DeliveryReport(message_id, DeliveryStatus(status), error_code, datetime.now(UTC))
        )

    def deliver_all(
        self, status: DeliveryStatus | str = DeliveryStatus.DELIVERED, error_code: str | None = None
    ) -> int:
        """Send a report with ``status`` for every message not yet reported; return how many.

        The reports go to the handler as one burst (see :meth:`deliver_many`).
        """
        reported = {e.provider_id for e in self.events if isinstance(e, DeliveryReport)}
        todo = [s.message_id for s in self.sent if s.message_id not in reported]
        return self.deliver_many((message_id, status, error_code) for message_id in todo)

    def deliver_many(self, reports: Iterable[tuple[str, DeliveryStatus | str, str | None]]) -> int:
        """Send many delivery reports, ``(provider id, status, error code)``, as one burst.

        A handler with ``handle_many`` (a ``Client``) applies them in one go; any
        other handler gets them one by one. Returns how many were sent.
        """
        now = datetime.now(UTC)
        events: list[DeliveryReport | InboundSms] = []
        for message_id, status, error_code in reports:
            if message_id not in self._by_provider_id:
                raise InvalidValue(f"FakeTransport never sent a message with id {message_id!r}")
            events.append(DeliveryReport(message_id, DeliveryStatus(status), error_code, now))
        self.events.extend(events)
        self._emit_many(events)
        return len(events)

    def receive(self, from_: str, to: str, text: str) -> None:
        """Inject an inbound message from ``from_`` (any number shape) to our number ``to``."""
        sender = phone.normalize(from_)
        self._event(InboundSms(sender, to, text, datetime.now(UTC), f"fake-mo-{next(self._ids)}"))

    def fail_next(self, count: int = 1, error: TransportError | None = None) -> None:
        """Make the next ``count`` submitted messages fail with ``error``.

        The default error is a :class:`SubmitRejected` with code ``ESME_RSUBMITFAIL``.
        """
        if count < 0:
            raise InvalidValue(f"count must be >= 0, got {count}")
        failure = error or SubmitRejected("rejected by FakeTransport", code="ESME_RSUBMITFAIL")
        with self._lock:
            self._next_errors.extend([failure] * count)

    def throttle(self, count: int = 1) -> None:
        """Answer the next ``count`` messages as a throttled SMSC would."""
        self.fail_next(count, Throttled("FakeTransport throttled the submit (ESME_RTHROTTLED)"))

    def fail_to(self, numbers: Iterable[str], code: str = "ESME_RINVDSTADR") -> None:
        """Reject every message to these numbers with ``code`` until :meth:`reset`."""
        with self._lock:
            for number in numbers:
                self._failing_numbers[phone.normalize(number)] = code

    def reset(self) -> None:
        """Forget what was sent and every injected failure; reopen if closed."""
        with self._lock:
            self.sent.clear()
            self.events.clear()
            self.failed.clear()
            self._by_provider_id.clear()
            self._next_errors.clear()
            self._failing_numbers.clear()
            self._closed = False

    def _event(self, event: DeliveryReport | InboundSms) -> None:
        self.events.append(event)
        self._emit(event)

    def __repr__(self) -> str:
        delivered = sum(
            1
            for e in self.events
            if isinstance(e, DeliveryReport) and e.status is DeliveryStatus.DELIVERED
        )
        inbound = sum(1 for e in self.events if isinstance(e, InboundSms))
        return (
            f"<FakeTransport sent={len(self.sent)} delivered={delivered} "
            f"failed={len(self.failed)} inbound={inbound}>"
        )
