"""The ``Client``: one object that wires numbers, encoding, transport and records.

It is the only module that knows every layer; the layers below know nothing of it.
"""

from __future__ import annotations

import enum
import logging
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

import attrs

from isobil import phone, sms
from isobil._resource import Resource
from isobil.errors import InvalidValue, StorageError, TransportError, TransportTimeout
from isobil.model import Message, Recipient, Sender
from isobil.storage import (
    Campaign,
    CampaignStatus,
    DeliveryReportRecord,
    MemoryStorage,
    MessageState,
    OutboundMessage,
    Storage,
)
from isobil.transport import (
    DeliveryReport,
    FakeTransport,
    InboundEvent,
    OutboundSms,
    SubmitResult,
    Transport,
)

__all__ = [
    "Client",
    "OutcomeStatus",
    "RecipientOutcome",
    "SendResult",
]

log = logging.getLogger("isobil")


class OutcomeStatus(enum.StrEnum):
    """What ``Client.send`` did for one entry of ``to``."""

    SUBMITTED = "submitted"
    INVALID = "invalid"
    DUPLICATE = "duplicate"
    FAILED = "failed"
    UNKNOWN = "unknown"


@attrs.frozen
class RecipientOutcome:
    """What happened to one entry of ``to``: never dropped, always accounted for.

    ``number`` is the E.164 number (``None`` when the input was not a number);
    ``message_id`` is isobil's id and ``provider_id`` the transport's, when submitted;
    ``reason`` says why the entry was not submitted.
    """

    input: object = attrs.field(repr=False)
    number: str | None = attrs.field(repr=lambda n: "None" if n is None else phone.mask(n))
    status: OutcomeStatus
    message_id: str | None = None
    provider_id: str | None = None
    reason: str | None = None
    plan: sms.SegmentPlan | None = attrs.field(default=None, repr=False)


@attrs.frozen
class SendResult:
    """The outcome of one ``Client.send``: one :class:`RecipientOutcome` per entry of ``to``.

    ``campaign_id`` identifies the stored campaign that holds every message.
    """

    campaign_id: str
    outcomes: tuple[RecipientOutcome, ...]

    def _with(self, status: OutcomeStatus) -> tuple[RecipientOutcome, ...]:
        return tuple(o for o in self.outcomes if o.status is status)

    @property
    def submitted(self) -> tuple[RecipientOutcome, ...]:
        """Entries the transport accepted."""
        return self._with(OutcomeStatus.SUBMITTED)

    @property
    def invalid(self) -> tuple[RecipientOutcome, ...]:
        """Entries that are not valid phone numbers; ``reason`` says why."""
        return self._with(OutcomeStatus.INVALID)

    @property
    def duplicates(self) -> tuple[RecipientOutcome, ...]:
        """Entries whose number appeared earlier in ``to``; sent once only."""
        return self._with(OutcomeStatus.DUPLICATE)

    @property
    def failed(self) -> tuple[RecipientOutcome, ...]:
        """Entries the transport refused; ``reason`` carries its error."""
        return self._with(OutcomeStatus.FAILED)

    @property
    def unknown(self) -> tuple[RecipientOutcome, ...]:
        """Entries whose submit outcome is unknown (a timeout after sending)."""
        return self._with(OutcomeStatus.UNKNOWN)

    @property
    def credits(self) -> int:
        """SMS parts submitted, the unit providers bill."""
        return sum(o.plan.parts for o in self.submitted if o.plan is not None)

    def __repr__(self) -> str:
        counts = ", ".join(
            f"{s.value}={n}"
            for s in OutcomeStatus
            if (n := sum(1 for o in self.outcomes if o.status is s))
        )
        return f"<SendResult {counts or 'empty'} credits={self.credits}>"


Recipientish = str | int | float | Recipient
InboundCallback = Callable[[InboundEvent], None]

#: How long this client holds the messages of one batch before another worker may.
SEND_LEASE = timedelta(minutes=10)


def _now() -> datetime:
    return datetime.now(UTC)


class Client(Resource):
    """Send SMS the way Turkish law allows, through one transport, with a record of all.

    ``sender`` is who sends (required for commercial messages once rules apply).
    ``transport`` defaults to a :class:`~isobil.FakeTransport`, which sends
    nothing: pass an SMPP or HTTP transport to reach phones. ``storage``
    defaults to :class:`~isobil.storage.MemoryStorage`. ``operator_suffix`` and
    ``national_shift`` are passed to :func:`isobil.sms.plan`; ``batch_size`` is
    how many messages go to the transport in one call.

    Use it as a context manager; closing the client closes its transport, and
    the storage if the client created it.
    """

    def __init__(
        self,
        sender: Sender | None = None,
        *,
        transport: Transport | None = None,
        storage: Storage | None = None,
        operator_suffix: int = 5,
        national_shift: bool = True,
        batch_size: int = 500,
    ) -> None:
        if batch_size < 1:
            raise InvalidValue(f"batch_size must be >= 1, got {batch_size}")
        if transport is None:
            log.info("isobil: no transport given, using FakeTransport (nothing leaves)")
            transport = FakeTransport()
        self._owns_storage = storage is None
        self.sender = sender
        self.transport = transport
        self.storage: Storage = MemoryStorage() if storage is None else storage
        self.operator_suffix = operator_suffix
        self.national_shift = national_shift
        self.batch_size = batch_size
        #: Identifies this client's leases among every worker sharing the storage.
        self.worker_id = f"client-{uuid.uuid4().hex[:12]}"
        self._callbacks: list[InboundCallback] = []
        self._closed = False
        transport.set_inbound_handler(self._on_event)

    # -- sending ------------------------------------------------------------

    def plan(self, message: Message | str) -> sms.SegmentPlan:
        """The segment plan of ``message`` with this client's encoding settings."""
        text = message.text if isinstance(message, Message) else message
        return sms.plan(
            text, operator_suffix=self.operator_suffix, national_shift=self.national_shift
        )

    def send(self, message: Message | str, to: Iterable[Recipientish] | Recipientish) -> SendResult:
        """Send ``message`` to every entry of ``to`` now, and say what happened to each.

        ``to`` holds numbers in any shape (``"0532 123 45 67"``, ``5321234567.0``)
        or :class:`Recipient` objects. Invalid numbers and repeated numbers are
        reported in the result, never silently dropped; transport failures are
        reported per message. Every message is recorded in storage as a
        campaign (``SendResult.campaign_id``) before it is submitted.
        """
        if isinstance(message, str):
            message = Message(message)
        # One recipient given bare is sent to, not iterated character by character.
        entries = [to] if isinstance(to, str | int | float | Recipient) else list(to)
        plan = self.plan(message)
        campaign = Campaign(
            id=uuid.uuid4().hex,
            text=message.text,
            category=message.category.value,
            created_at=_now(),
            brand=message.brand,
            originator=self.sender.originator if self.sender else None,
        )
        self.storage.create_campaign(campaign)
        outcomes: list[RecipientOutcome | None] = []
        queue: list[tuple[int, str]] = []
        seen: set[str] = set()
        for entry in entries:
            try:
                number = entry.number if isinstance(entry, Recipient) else phone.normalize(entry)
            except InvalidValue as exc:
                outcomes.append(
                    RecipientOutcome(entry, None, OutcomeStatus.INVALID, reason=str(exc))
                )
                continue
            if number in seen:
                outcomes.append(
                    RecipientOutcome(
                        entry, number, OutcomeStatus.DUPLICATE, reason="number already in this send"
                    )
                )
                continue
            seen.add(number)
            queue.append((len(outcomes), number))
            outcomes.append(None)
        for start in range(0, len(queue), self.batch_size):
            batch = queue[start : start + self.batch_size]
            sent = self._send_batch(campaign, plan, [number for _, number in batch])
            for (index, _), outcome in zip(batch, sent, strict=True):
                outcomes[index] = attrs.evolve(outcome, input=entries[index])
        self.storage.set_campaign_status(campaign.id, CampaignStatus.DONE)
        return SendResult(campaign.id, tuple(o for o in outcomes if o is not None))

    def _send_batch(
        self, campaign: Campaign, plan: sms.SegmentPlan, numbers: list[str]
    ) -> list[RecipientOutcome]:
        """Record, submit and settle one batch; the records exist before anything leaves."""
        now = _now()
        records = [
            OutboundMessage(
                id=uuid.uuid4().hex,
                campaign_id=campaign.id,
                to=number,
                text=plan.text,
                parts=plan.parts,
                # Created already leased to this client, so no worker sharing the
                # storage can take them while this call sends them.
                claimed_by=self.worker_id,
                lease_until=now + SEND_LEASE,
            )
            for number in numbers
        ]
        self.storage.add_messages(records)
        ids = self.storage.transition(
            [r.id for r in records],
            MessageState.SUBMITTING,
            expected=MessageState.QUEUED,
            worker=self.worker_id,
            now=now,
        )
        if len(ids) != len(records):
            raise StorageError("messages created by this client were taken by another worker")
        outbound = [OutboundSms(r.id, r.to, plan, campaign.originator) for r in records]
        results = self._submit(outbound)
        outcomes = []
        for record, result in zip(records, results, strict=True):
            if result.error is None:
                status, state = OutcomeStatus.SUBMITTED, MessageState.SUBMITTED
            elif isinstance(result.error, TransportTimeout):
                status, state = OutcomeStatus.UNKNOWN, MessageState.UNKNOWN
            else:
                status, state = OutcomeStatus.FAILED, MessageState.FAILED
            reason = None if result.error is None else str(result.error)
            self.storage.transition(
                [record.id],
                state,
                expected=MessageState.SUBMITTING,
                now=_now(),
                provider_id=result.provider_id,
                error_code=getattr(result.error, "code", None),
                reason=reason,
            )
            outcomes.append(
                RecipientOutcome(
                    None,
                    record.to,
                    status,
                    message_id=record.id,
                    provider_id=result.provider_id,
                    reason=reason,
                    plan=plan,
                )
            )
        return outcomes

    def _submit(self, batch: list[OutboundSms]) -> list[SubmitResult]:
        try:
            results = self.transport.submit(batch)
        except TransportError as exc:
            log.warning("isobil: transport failed for a batch of %d: %s", len(batch), exc)
            return [SubmitResult(o.id, error=exc) for o in batch]
        if len(results) != len(batch):
            raise TransportError(
                f"{type(self.transport).__name__} returned {len(results)} results "
                f"for {len(batch)} messages"
            )
        return results

    # -- what came back -----------------------------------------------------

    def message(self, message_id: str) -> OutboundMessage:
        """The current record of a message, by isobil's id."""
        found = self.storage.get_message(message_id)
        if found is None:
            raise InvalidValue(f"no message with id {message_id!r}")
        return found

    def on_inbound(self, callback: InboundCallback) -> None:
        """Call ``callback`` with every delivery report and inbound message, after isobil."""
        self._callbacks.append(callback)

    def _on_event(self, event: InboundEvent) -> None:
        if isinstance(event, DeliveryReport):
            record = DeliveryReportRecord(
                event.provider_id,
                event.status.value,
                event.done_at or _now(),
                error_code=event.error_code,
            )
            if self.storage.message_by_provider_id(event.provider_id) is None:
                log.warning("isobil: delivery report for unknown message %s", event.provider_id)
            self.storage.apply_delivery_report(record)
        for callback in self._callbacks:
            callback(event)

    # -- lifetime -----------------------------------------------------------

    def close(self) -> None:
        """Detach from and close the transport (and owned storage). Calling it twice is harmless."""
        if not self._closed:
            self._closed = True
            self.transport.set_inbound_handler(None)
            self.transport.close()
            if self._owns_storage:
                self.storage.close()

    def __repr__(self) -> str:
        name = self.sender.name if self.sender else None
        return f"<Client sender={name!r} transport={self.transport!r} storage={self.storage!r}>"
