"""The records storage keeps, and the message state machine every backend enforces."""

from __future__ import annotations

import enum
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Final

import attrs

from isobil._time import aware_field, optional_aware_field
from isobil._trusted import trusted
from isobil.errors import InvalidValue
from isobil.phone import id_repr, mask

__all__ = [
    "FAILURE_STATES",
    "FINAL_REPORTS",
    "REPORT_STATES",
    "SENT_STATES",
    "TRANSITIONS",
    "BlacklistEntry",
    "Campaign",
    "CampaignStatus",
    "CreditEntry",
    "CreditKind",
    "DeliveryReportRecord",
    "InboundRecord",
    "IysSync",
    "IysSyncStatus",
    "MessagePart",
    "MessageState",
    "MessageStats",
    "OtpRecord",
    "OutboundMessage",
    "Schedule",
    "ScheduleStatus",
    "Settlement",
    "Template",
    "UpsertResult",
    "check_transition",
    "part_failure",
    "part_reason",
]


class MessageState(enum.StrEnum):
    """Where one message to one recipient stands.

    ``queued`` → ``submitting`` → ``submitted`` → ``delivered`` | ``undelivered`` |
    ``expired`` | ``rejected``; ``failed`` when the peer refused it; ``blocked``
    when a check stopped it before sending; ``cancelled`` with its campaign;
    ``unknown`` when a submit was in flight and its outcome was lost (a crash or
    timeout): such a message is never resent blindly.
    """

    QUEUED = "queued"
    SUBMITTING = "submitting"
    SUBMITTED = "submitted"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    EXPIRED = "expired"
    REJECTED = "rejected"
    FAILED = "failed"
    BLOCKED = "blocked"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"

    @property
    def final(self) -> bool:
        """Whether no transition leaves this state (``unknown`` may still get a report)."""
        return not TRANSITIONS[self]


_S = MessageState
#: The allowed transitions. A delivery report may settle an ``unknown`` message:
#: a submit whose response was lost can still be reported delivered.
TRANSITIONS: Mapping[MessageState, frozenset[MessageState]] = MappingProxyType(
    {
        _S.QUEUED: frozenset({_S.SUBMITTING, _S.BLOCKED, _S.CANCELLED}),
        # BLOCKED from SUBMITTING: an opt-out recorded as the message was leaving.
        _S.SUBMITTING: frozenset({_S.SUBMITTED, _S.FAILED, _S.UNKNOWN, _S.QUEUED, _S.BLOCKED}),
        _S.SUBMITTED: frozenset(
            {_S.DELIVERED, _S.UNDELIVERED, _S.EXPIRED, _S.REJECTED, _S.UNKNOWN}
        ),
        _S.UNKNOWN: frozenset({_S.DELIVERED, _S.UNDELIVERED, _S.EXPIRED, _S.REJECTED}),
        _S.DELIVERED: frozenset(),
        _S.UNDELIVERED: frozenset(),
        _S.EXPIRED: frozenset(),
        _S.REJECTED: frozenset(),
        _S.FAILED: frozenset(),
        _S.BLOCKED: frozenset(),
        _S.CANCELLED: frozenset(),
    }
)


#: States of a message that left (or may have left) for the recipient.
SENT_STATES = frozenset(
    {
        MessageState.SUBMITTED,
        MessageState.DELIVERED,
        MessageState.UNDELIVERED,
        MessageState.EXPIRED,
        MessageState.REJECTED,
        MessageState.UNKNOWN,
    }
)

#: Delivery-report statuses that settle a message, and the state each settles it in.
REPORT_STATES = MappingProxyType(
    {
        "delivered": MessageState.DELIVERED,
        "undelivered": MessageState.UNDELIVERED,
        "expired": MessageState.EXPIRED,
        "rejected": MessageState.REJECTED,
    }
)


#: Delivery-report statuses after which a part's report cannot change (all but pending).
FINAL_REPORTS = frozenset({*REPORT_STATES, "unknown"})


def part_failure(status: str) -> MessageState | None:
    """The state a message fails in when one of its parts is reported ``status``."""
    state = REPORT_STATES.get(status)
    return None if state is None or state is MessageState.DELIVERED else state


def part_reason(index: int, total: int, status: str) -> str:
    """Why a long message failed: part ``index`` (0-based) of ``total`` was reported ``status``."""
    return f"part {index + 1} of {total} {status}"


def check_transition(current: MessageState, new: MessageState) -> None:
    """Raise InvalidValue unless ``current`` → ``new`` is an allowed transition."""
    if new not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "none"
        raise InvalidValue(
            f"a message cannot go from {current.value} to {new.value} (allowed: {allowed})"
        )


def _mapping(value: Mapping[str, object]) -> Mapping[str, str]:
    return MappingProxyType({str(k): str(v) for k, v in value.items()})


@attrs.frozen
class UpsertResult:
    """What a bulk upsert did: rows inserted, rows updated."""

    inserted: int = 0
    updated: int = 0


@attrs.frozen
class BlacklistEntry:
    """A number that never receives anything from this sender (kara liste)."""

    number: str = attrs.field(repr=mask)
    reason: str
    added_at: datetime = attrs.field(validator=aware_field)
    source: str | None = None


@attrs.frozen
class Template:
    """A saved message text (hazır mesaj), by name."""

    name: str
    text: str
    updated_at: datetime = attrs.field(validator=aware_field)


class CampaignStatus(enum.StrEnum):
    """The lifecycle of a campaign."""

    SCHEDULED = "scheduled"
    RUNNING = "running"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    DONE = "done"


@attrs.frozen
class Campaign:
    """One send to an audience: the message, when it may go, and its status."""

    id: str
    text: str
    category: str
    created_at: datetime = attrs.field(validator=aware_field)
    status: CampaignStatus = CampaignStatus.RUNNING
    brand: str | None = None
    name: str | None = None
    originator: str | None = None
    send_at: datetime | None = attrs.field(default=None, validator=optional_aware_field)
    schedule_id: str | None = None


@attrs.frozen
class OutboundMessage:
    """One message of a campaign to one recipient, as the dispatcher sees it.

    ``claimed_by`` and ``lease_until`` are set once a worker claims the message (see
    ``Storage.claim_submitting``); a ``submitting`` message whose lease runs out
    becomes ``unknown`` (``Storage.expire_claims``).
    """

    id: str
    campaign_id: str
    to: str = attrs.field(repr=mask)
    text: str = attrs.field(repr=False)
    parts: int
    state: MessageState = MessageState.QUEUED
    not_before: datetime | None = attrs.field(default=None, validator=optional_aware_field)
    claimed_by: str | None = None
    lease_until: datetime | None = attrs.field(default=None, validator=optional_aware_field)
    provider_id: str | None = attrs.field(default=None, repr=id_repr)
    error_code: str | None = None
    reason: str | None = None
    updated_at: datetime | None = attrs.field(default=None, validator=optional_aware_field)


#: ``OutboundMessage(...)`` with every field given and set as given: for messages
#: isobil builds itself (a send's, one per recipient) and reads back (a claim's
#: rows). Not for input from outside.
trusted_message = trusted(OutboundMessage)


def _ids(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


@attrs.frozen
class Settlement:
    """How one submitted message came out of the transport, for ``Storage.settle``.

    ``state`` is where the ``submitting`` message goes (``submitted`` with the
    provider's id, ``failed`` or ``unknown`` with the error, or back to
    ``queued``); ``None`` fields leave what the message had.
    """

    message_id: str
    state: MessageState
    provider_id: str | None = attrs.field(default=None, repr=id_repr)
    error_code: str | None = None
    reason: str | None = None
    #: The provider's id of each part of a long message, in order (``provider_id``
    #: is the first). Kept with the message when it is settled ``submitted``, so a
    #: report for any part finds its message in any process.
    part_ids: tuple[str, ...] = attrs.field(default=(), converter=_ids, repr=id_repr)


@attrs.frozen
class MessagePart:
    """One part of a long message the provider accepted under an id of its own.

    ``status`` is what the latest report for the part said (a
    :class:`~isobil.transport.DeliveryStatus` value; ``None`` before any).
    """

    provider_id: str = attrs.field(repr=id_repr)
    message_id: str
    part: int  # 0-based
    status: str | None = None
    error_code: str | None = None
    updated_at: datetime | None = attrs.field(default=None, validator=optional_aware_field)


@attrs.frozen
class DeliveryReportRecord:
    """A delivery report as received, kept even when it changed nothing."""

    provider_id: str = attrs.field(repr=id_repr)
    status: str
    received_at: datetime = attrs.field(validator=aware_field)
    error_code: str | None = None
    message_id: str | None = None


class CreditKind(enum.StrEnum):
    """Kinds of credit-ledger entries; the sign of ``amount`` follows the kind."""

    TOP_UP = "top_up"
    RESERVE = "reserve"
    RELEASE = "release"
    REFUND = "refund"
    ADJUST = "adjust"


@attrs.frozen
class CreditEntry:
    """One append-only line of the credit ledger; the balance is the sum of ``amount``.

    A reservation is negative, its release or refund positive; a charge is a
    reservation that is never released.
    """

    kind: CreditKind
    amount: int
    at: datetime = attrs.field(validator=aware_field)
    campaign_id: str | None = None
    message_id: str | None = None
    note: str | None = None
    seq: int | None = None


class ScheduleStatus(enum.StrEnum):
    """Whether a schedule still fires."""

    ACTIVE = "active"
    CANCELLED = "cancelled"
    FINISHED = "finished"


@attrs.frozen
class Schedule:
    """A future or recurring send: an RFC 5545 rule evaluated in ``timezone``.

    ``next_at`` is the next occurrence not yet run; ``payload`` is what to send,
    as the campaign layer encodes it.
    """

    id: str
    rule: str
    timezone: str
    next_at: datetime | None = attrs.field(validator=optional_aware_field)
    payload: Mapping[str, str] = attrs.field(converter=_mapping, hash=False)
    created_at: datetime = attrs.field(validator=aware_field)
    status: ScheduleStatus = ScheduleStatus.ACTIVE


@attrs.frozen
class InboundRecord:
    """An inbound message (MO) as received, with what isobil made of it.

    ``intent`` and ``brand`` are the keyword parser's reading; ``consent_seqs``
    are the consent events it caused; ``reply_id`` the auto reply's message id.
    Unknown texts are kept too, so nothing a recipient sends is silently lost.

    ``text`` is what every storage can keep (NUL and lone surrogates replaced,
    see :func:`isobil.consent.storable_text`); when that differs from the text as
    received, ``raw_text`` keeps the original, escaped
    (:func:`isobil.consent.unescape_text` reads it back). A message is recorded
    when it arrives and ``handled_at`` is set once its consent events and auto
    reply are written; until then a retry resumes it.
    """

    id: str
    from_: str = attrs.field(repr=mask)
    to: str
    text: str = attrs.field(repr=False)
    received_at: datetime = attrs.field(validator=aware_field)
    intent: str
    brand: str | None = None
    keyword: str | None = None
    consent_seqs: tuple[int, ...] = ()
    reply_id: str | None = None
    provider_id: str | None = None
    raw_text: str | None = attrs.field(default=None, repr=False)
    handled_at: datetime | None = attrs.field(default=None, validator=optional_aware_field)


class IysSyncStatus(enum.StrEnum):
    """Where a consent event stands with İYS, the national registry."""

    PENDING = "pending"  # sent in a batch, result not known yet
    REGISTERED = "registered"
    REJECTED = "rejected"  # İYS refused it; ``error`` says why
    NOT_NEEDED = "not_needed"  # came from İYS itself, or İYS does not take it


@attrs.frozen
class IysSync:
    """The İYS registration state of one consent event (by its ledger ``seq``)."""

    seq: int
    status: IysSyncStatus
    updated_at: datetime = attrs.field(validator=aware_field)
    request_id: str | None = None
    error: str | None = None


@attrs.frozen
class OtpRecord:
    """One one-time code as kept: never the code, only its keyed hash.

    ``hash`` is the hex HMAC-SHA256 of the number and the code, keyed with the
    code's own random ``salt`` (hex) and the application's secret, if any (see
    :class:`isobil.otp.Otp`). ``attempts`` counts wrong guesses; ``used_at`` is
    set once, when the code verified.
    """

    id: str
    number: str = attrs.field(repr=mask)
    hash: str = attrs.field(repr=False)
    salt: str = attrs.field(repr=False)
    created_at: datetime = attrs.field(validator=aware_field)
    expires_at: datetime = attrs.field(validator=aware_field)
    brand: str | None = None
    attempts: int = 0
    used_at: datetime | None = attrs.field(default=None, validator=optional_aware_field)


def otp_refused_until(
    created: list[datetime], at: datetime, limits: Sequence[tuple[timedelta, int]]
) -> datetime | None:
    """When a number whose codes were ``created`` may get one more after ``at``:
    ``None`` at once, else the moment every ``(window, most)`` limit lets it in."""
    until: datetime | None = None
    for window, most in limits:
        within = sorted(c for c in created if c > at - window)
        if len(within) >= most:
            free = within[len(within) - most] + window
            until = free if until is None else max(until, free)
    return until


#: Final states of a message that failed after it was handed over: what
#: :attr:`MessageStats.failures` counts by error code.
FAILURE_STATES = frozenset(
    {MessageState.FAILED, MessageState.UNDELIVERED, MessageState.EXPIRED, MessageState.REJECTED}
)


def _counts(value: Mapping[Any, int]) -> Mapping[Any, int]:
    return MappingProxyType(dict(value))


#: What a rule id looks like (``TR-OPTOUT-001``, ``ACME-CUSTOM-1``).
_RULE_ID_SHAPE: Final = re.compile(r"[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+")


def reason_text(findings: Iterable[tuple[str, str]]) -> str:
    """A blocked message's reason as stored: ``"RULE-ID: why; OTHER-ID: why"`` from
    (rule id, why) pairs; :func:`reason_rule_ids` reads the ids back."""
    return "; ".join(f"{rule_id}: {why}" for rule_id, why in findings)


def reason_rule_ids(reason: str | None, known: Collection[str] = ()) -> tuple[str, ...]:
    """The rule ids a blocked message's stored reason names, in order, each once.

    The client stores ``"TR-OPTOUT-001: why; TR-CONSENT-002: why"``. A piece's head
    (before ``": "``) is a rule id when it is in ``known`` (the rules in force), is
    shaped like one, or is the first piece's and has no space (a rule of your own
    named ``acme.rule``), so a rule since removed, or one only the sending worker
    had, still counts; ``"; note: …"`` inside a rule's message does not. Earlier
    versions stored ``"TR-OPTOUT-001 why"`` for an opt-out caught as the message was
    leaving; such rows are still read.
    """
    found: list[str] = []
    for index, piece in enumerate((reason or "").split("; ")):
        head, sep, _ = piece.partition(": ")
        if not sep:
            if index:
                continue  # "; more words" inside a rule's message
            head = piece.partition(" ")[0]  # the earlier "ID why"
        if (
            head
            and head not in found
            and (
                head in known
                or _RULE_ID_SHAPE.fullmatch(head)
                or (sep and not index and " " not in head)
            )
        ):
            found.append(head)
    return tuple(found)


@attrs.frozen
class MessageStats:
    """Where the kept messages (of every campaign, or of one) stand right now.

    What :meth:`Storage.message_stats` answers, and what metrics read at scrape
    time. ``states`` counts messages by state (zero counts omitted);
    ``failures`` the messages in a :data:`FAILURE_STATES` state by state and
    error code (``None``: no code); ``blocked`` the ``blocked`` messages by their
    stored reason (``None``: none), which names the rules that stopped them;
    ``due`` the ``queued`` messages a dispatcher would send now: their campaign
    is running and their ``not_before`` has passed (a batch put back under its lease
    after a failed re-check included, though no worker claims it before the lease ends).
    """

    states: Mapping[MessageState, int] = attrs.field(factory=dict, converter=_counts, hash=False)
    failures: Mapping[tuple[MessageState, str | None], int] = attrs.field(
        factory=dict, converter=_counts, hash=False
    )
    blocked: Mapping[str | None, int] = attrs.field(factory=dict, converter=_counts, hash=False)
    due: int = 0

    @classmethod
    def tally(
        cls, messages: Iterable[OutboundMessage], *, running: Collection[str], now: datetime
    ) -> MessageStats:
        """Count ``messages`` one by one (``running``: the ids of running campaigns)."""
        states: dict[MessageState, int] = {}
        failures: dict[tuple[MessageState, str | None], int] = {}
        blocked: dict[str | None, int] = {}
        due = 0
        for message in messages:
            state = message.state
            states[state] = states.get(state, 0) + 1
            if state in FAILURE_STATES:
                key = (state, message.error_code)
                failures[key] = failures.get(key, 0) + 1
            elif state is MessageState.BLOCKED:
                blocked[message.reason] = blocked.get(message.reason, 0) + 1
            elif (
                state is MessageState.QUEUED
                and message.campaign_id in running
                and (message.not_before is None or message.not_before <= now)
            ):
                due += 1
        return cls(states, failures, blocked, due)
