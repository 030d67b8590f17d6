"""The transport contract: what every way of reaching an SMSC must do."""

from __future__ import annotations

import asyncio
import enum
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

import attrs

from isobil._resource import Resource
from isobil._time import optional_aware_field
from isobil.errors import TransportError
from isobil.model import MessageCategory, RecipientType
from isobil.phone import id_repr, mask
from isobil.sms import SegmentPlan

__all__ = [
    "DeliveryReport",
    "DeliveryStatus",
    "InboundEvent",
    "InboundHandler",
    "InboundSms",
    "OutboundSms",
    "SubmitResult",
    "Transport",
]


# Members pass through as they are: an OutboundSms is built per message of a send,
# and calling the enum on its own member costs more than the rest of the field.
def _category(value: MessageCategory | str | None) -> MessageCategory | None:
    return value if value is None or type(value) is MessageCategory else MessageCategory(value)


def _recipient_type(value: RecipientType | str) -> RecipientType:
    return value if type(value) is RecipientType else RecipientType(value)


@attrs.frozen
class OutboundSms:
    """One message to submit: our id, the E.164 destination, its segment plan, and
    what a provider needs to know about it.

    ``id`` is isobil's message id; transports use it as the idempotency key (a
    provider's custom id) where the peer supports one, and echo it in the
    :class:`SubmitResult`.

    The rest is for providers that check or bill by it, and may be ignored by
    transports that do not (SMPP, the fake):

    * ``category`` — commercial, informational or legally required. ``None``
      means the caller did not say; providers treat it as **commercial**, the
      side on which İYS still protects the recipient.
    * ``brand`` and ``iys_code`` — the brand the message is sent under and its
      İYS brand code (İYS numarası).
    * ``recipient_type`` — ``BIREYSEL`` (an individual) or ``TACIR`` (a merchant),
      the İYS list a commercial message is checked against.
    * ``validity`` — how long the SMSC keeps trying; ``None`` for its default.
    * ``send_at`` — a timezone-aware time for providers that schedule; ``None``
      sends now. (The ``Client`` queues and schedules itself and leaves it ``None``.)
    """

    id: str
    to: str = attrs.field(repr=mask)
    plan: SegmentPlan = attrs.field(repr=False)
    originator: str | None = None
    request_receipt: bool = True
    category: MessageCategory | None = attrs.field(default=None, converter=_category)
    brand: str | None = None
    iys_code: str | None = None
    recipient_type: RecipientType = attrs.field(
        default=RecipientType.BIREYSEL, converter=_recipient_type
    )
    validity: timedelta | None = None
    send_at: datetime | None = attrs.field(default=None, validator=optional_aware_field)

    @property
    def text(self) -> str:
        """The text carried by all parts together."""
        return self.plan.text

    @property
    def commercial(self) -> bool:
        """Whether providers must treat this message as commercial (also when unsaid)."""
        return self.category is None or self.category is MessageCategory.COMMERCIAL


def _ids(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


@attrs.frozen
class SubmitResult:
    """The outcome of submitting one :class:`OutboundSms`.

    Either ``provider_id`` is set (the peer accepted the message) or ``error`` is
    (it did not, or the outcome is unknown: see :class:`isobil.TransportTimeout`).

    ``part_ids`` are the peer's ids of each part, in order, where the peer gives
    each part of a long message an id of its own and reports each part under it
    (SMPP); ``provider_id`` is then the first. Empty where the peer reports a
    message as a whole (HTTP providers).
    """

    id: str
    provider_id: str | None = attrs.field(default=None, repr=id_repr)
    error: TransportError | None = None
    part_ids: tuple[str, ...] = attrs.field(default=(), converter=_ids, repr=id_repr)

    @property
    def ok(self) -> bool:
        """Whether the peer accepted the message."""
        return self.error is None


class DeliveryStatus(enum.StrEnum):
    """Where a submitted message ended up, as a delivery report says."""

    PENDING = "pending"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    EXPIRED = "expired"
    REJECTED = "rejected"
    UNKNOWN = "unknown"

    @property
    def final(self) -> bool:
        """Whether no later report can change this status."""
        return self is not DeliveryStatus.PENDING


@attrs.frozen
class DeliveryReport:
    """A delivery report (DLR) for a message the peer accepted, by the peer's id.

    Where the peer gives each part of a long message an id of its own (see
    :attr:`SubmitResult.part_ids`), a report is for one part, under that part's
    id; the ``Client`` settles the message when every part is settled.
    """

    provider_id: str = attrs.field(repr=id_repr)
    status: DeliveryStatus = attrs.field(converter=DeliveryStatus)
    error_code: str | None = None
    done_at: datetime | None = None


@attrs.frozen
class InboundSms:
    """A message a recipient sent to one of our numbers (MO)."""

    from_: str = attrs.field(repr=mask)
    to: str
    text: str = attrs.field(repr=False)  # a person's words: not for log lines
    received_at: datetime
    provider_id: str | None = None


InboundEvent = DeliveryReport | InboundSms
InboundHandler = Callable[[InboundEvent], None]


class LastLook(Protocol):
    """Consulted by a transport right before each message leaves, and held while it
    leaves (the :class:`~isobil.Client` gives one that knows of opt-outs recorded a
    moment ago). Entering it excludes whoever else enters it; ``refusal`` says why
    ``sms`` must not leave, or ``None``."""

    def __enter__(self) -> object: ...

    def __exit__(self, *exc: object) -> None: ...

    def refusal(self, sms: OutboundSms) -> TransportError | None:
        """Why ``sms`` must not leave now, or ``None``."""
        ...


class _NoLook:
    """The last look of a transport nobody gave one: lets everything leave."""

    def __enter__(self) -> object:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def refusal(self, sms: OutboundSms) -> TransportError | None:
        return None


class Transport(Resource):
    """Base class of every transport: submit batches out, hand events in.

    The contract, which the shared transport test suite checks:

    * :meth:`submit` takes a batch of :class:`OutboundSms` and returns one
      :class:`SubmitResult` per message, in the same order. A failure of one
      message is reported in its result, never raised; only a failure of the
      transport itself (closed, cannot connect) raises a :class:`TransportError`.
    * Delivery reports and inbound messages are passed to the handler set with
      :meth:`set_inbound_handler`, from whatever thread the transport reads on.
      Events that arrive while no handler is set are kept and handed over when
      one is set, so nothing is lost at start-up.
    * :meth:`close` releases connections; it is idempotent. A transport is a
      context manager that closes on exit.

    ``national_shift`` says whether a text planned in a Turkish national language
    shift table goes out that way; where it does not (the peer encodes and
    knows only GSM 7-bit and UCS-2), the ``Client`` plans without the tables so
    that the parts it counts and bills are the parts sent. ``fixed_split`` says
    that the peer splits long texts itself at fixed lengths (see
    :func:`isobil.sms.plan`), so the ``Client`` plans them that way, as it does
    with ``operator_suffix``, the units the peer's part table keeps free for the
    operator code (0 where its table has no such reserve). ``polls``
    says that the peer pushes neither reports nor inbound texts, so they must be
    pulled with :meth:`poll` (the ``Client``'s worker does).
    """

    national_shift: bool = True
    fixed_split: bool = False
    #: Units kept free in the last part for the code operators append (" B038").
    operator_suffix: int = 5
    #: Whether the Turkish locking shift table goes out as planned (with national_shift).
    locking_shift: bool = True
    #: Whether reports and inbound texts must be pulled with :meth:`poll`.
    polls: bool = False

    def __init__(self) -> None:
        #: Consulted right before each message leaves (see :meth:`set_last_look`).
        self.last_look: LastLook = _NoLook()
        self._handler: InboundHandler | None = None
        self._pending: list[InboundEvent] = []
        self._handler_lock = threading.Lock()

    def submit(self, batch: Sequence[OutboundSms]) -> list[SubmitResult]:
        """Submit ``batch`` and return one result per message, in order."""
        raise NotImplementedError

    async def asubmit(self, batch: Sequence[OutboundSms]) -> list[SubmitResult]:
        """:meth:`submit` for asyncio code: here in a worker thread; transports that
        speak asyncio natively (HTTP) override it."""
        return await asyncio.to_thread(self.submit, batch)

    async def aclose(self) -> None:
        """:meth:`close` for asyncio code (in a worker thread: closing may wait)."""
        await asyncio.to_thread(self.close)

    def poll(self, pending: Sequence[str], since: datetime) -> int:
        """Pull delivery reports and inbound texts from a peer that does not push them.

        ``pending`` are the provider ids of messages still waiting for a final
        report; ``since`` is when the last successful poll began (inbound texts
        from then on are asked for). What comes back goes to the inbound handler
        like any pushed event; the return value is how many events that was.
        Transports whose peer pushes everything return 0 (this default).
        """
        return 0

    def set_last_look(self, look: LastLook | None) -> None:
        """Consult ``look`` right before each message leaves (``None``: nobody).

        Transports enter ``look`` around the moment a message goes on the wire (the
        fake's record, an SMPP ``submit_sm`` write, an HTTP request being built) and
        give a message ``look`` refuses that refusal as its result instead.
        """
        self.last_look = _NoLook() if look is None else look

    def set_inbound_handler(self, handler: InboundHandler | None) -> None:
        """Route delivery reports and inbound messages to ``handler`` (``None`` to stop).

        Events kept while no handler was set are handed to the new one first.
        """
        with self._handler_lock:
            self._handler = handler
            pending: list[InboundEvent] = []
            if handler is not None:
                pending, self._pending = self._pending, []
        if handler is not None:
            for event in pending:
                handler(event)

    def _emit(self, event: InboundEvent) -> None:
        """Hand ``event`` to the handler, or keep it until one is set.

        Subclasses call this from their reader; the handler runs outside any lock
        so that it may submit (an auto-reply) without deadlocking.
        """
        with self._handler_lock:
            handler = self._handler
            if handler is None:
                self._pending.append(event)
                return
        handler(event)

    def _emit_many(self, events: Sequence[InboundEvent]) -> None:
        """Hand several events over at once (a burst of delivery reports, say).

        A handler with a ``handle_many(events)`` method (the ``Client``'s has
        one, to apply reports in one transaction) gets them in one call; any
        other handler gets them one by one, exactly as from :meth:`_emit`.
        """
        with self._handler_lock:
            handler = self._handler
            if handler is None:
                self._pending.extend(events)
                return
        handle_many: Callable[[Sequence[InboundEvent]], None] | None = getattr(
            handler, "handle_many", None
        )
        if handle_many is not None:
            handle_many(events)
            return
        for event in events:
            handler(event)
