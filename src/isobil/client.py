"""The ``Client``: one object that wires numbers, encoding, transport and records.

It is the only module that knows every layer; the layers below know nothing of it.
"""

from __future__ import annotations

import contextvars
import enum
import itertools
import logging
import os
import secrets
import threading
import uuid
from collections import Counter, deque
from collections.abc import (
    Callable,
    Collection,
    Generator,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime, time, timedelta
from time import monotonic
from types import MappingProxyType
from typing import Any, TypeVar, cast, overload

import attrs

from isobil import phone, sms
from isobil._resource import Resource
from isobil._stopping import Stop
from isobil._time import ISTANBUL, aware
from isobil._tracing import Span, span
from isobil._trusted import trusted
from isobil.campaigns import (
    ComplianceReport,
    CreditAccount,
    CreditReport,
    DeliverySummary,
    Schedules,
    compliance_report,
    credit_report,
    delivery_summary,
)
from isobil.config import DEFAULT_DATABASE_URL
from isobil.consent import (
    AutoReplies,
    Blacklist,
    ConsentLedger,
    ConsentReport,
    InboundProcessor,
    consent_report,
    iys_pulled_at,
)
from isobil.contacts import ContactBook
from isobil.errors import (
    ComplianceError,
    ConfigurationError,
    InsufficientCredits,
    InvalidValue,
    RecipientOptedOut,
    StorageError,
    TransportError,
    TransportTimeout,
)
from isobil.model import (
    Brand,
    Channel,
    ConsentEvent,
    ConsentSource,
    ConsentStatus,
    Message,
    MessageCategory,
    Recipient,
    RecipientType,
    Sender,
)
from isobil.otp import Otp
from isobil.rules import (
    IysRegistration,
    MessageFacts,
    PreflightReport,
    RecipientFacts,
    RulesConfig,
    RuleSet,
    preflight,
)
from isobil.rules._model import trusted_recipient_facts
from isobil.storage import (
    Campaign,
    CampaignStatus,
    DeliveryReportRecord,
    IysSyncStatus,
    MessageState,
    OutboundMessage,
    Settlement,
    Storage,
)
from isobil.storage._records import reason_rule_ids, reason_text, trusted_message
from isobil.transport import (
    CallbackApp,
    CallbackAuth,
    DeliveryReport,
    FakeTransport,
    HttpTransport,
    InboundEvent,
    InboundSms,
    OutboundSms,
    SubmitResult,
    Transport,
)

__all__ = [
    "Client",
    "DispatchReport",
    "OutcomeStatus",
    "RecipientOutcome",
    "SendResult",
]

log = logging.getLogger("isobil")


class OutcomeStatus(enum.StrEnum):
    """What ``Client.send`` did for one entry of ``to``."""

    SUBMITTED = "submitted"
    QUEUED = "queued"
    BLOCKED = "blocked"
    INVALID = "invalid"
    DUPLICATE = "duplicate"
    FAILED = "failed"
    UNKNOWN = "unknown"


@attrs.frozen
class RecipientOutcome:
    """What happened to one entry of ``to``: never dropped, always accounted for.

    ``number`` is the E.164 number (``None`` when the input was not a number);
    ``message_id`` is isobil's id and ``provider_id`` the transport's, when submitted;
    ``reason`` says why the entry was not submitted, and ``rule_ids`` which rules
    blocked it.
    """

    input: object = attrs.field(repr=False)
    number: str | None = attrs.field(repr=phone.mask)
    status: OutcomeStatus
    message_id: str | None = None
    provider_id: str | None = attrs.field(default=None, repr=phone.id_repr)
    reason: str | None = None
    plan: sms.SegmentPlan | None = attrs.field(default=None, repr=False)
    rule_ids: tuple[str, ...] = ()


@attrs.frozen
class SendResult:
    """The outcome of one ``Client.send``: one :class:`RecipientOutcome` per entry of ``to``
    (per entry read, when it was ``stopped``).

    ``campaign_id`` identifies the stored campaign that holds every message;
    ``counts`` says how many entries ended in each status and ``credits`` how many
    SMS parts were submitted. A send to more than 100,000 entries keeps only those
    figures in memory: its ``outcomes`` are read back from storage when iterated
    (each message as storage holds it then, in the order of ``to``; ``input`` is
    the number, not the object given).
    """

    campaign_id: str
    outcomes: Sequence[RecipientOutcome] = attrs.field(repr=False)
    #: Counted from ``outcomes`` when not given.
    counts: Mapping[OutcomeStatus, int] = attrs.field()
    #: Summed from the submitted ``outcomes`` when not given.
    credits: int = attrs.field()
    #: Whether ``send(stop=...)`` ended the send before ``to`` was read to its end:
    #: ``outcomes`` and ``counts`` cover the entries read, the rest were never
    #: stored. A send ``at`` later is then cancelled whole: its ``counts`` tell what
    #: had been stored (queued) before. (With ``to`` an iterator, read once, whose
    #: length is a multiple of the batch — 50,000 for a send ``at`` later — a stop
    #: that came as its last batch was taken says stopped with nothing left: the
    #: iterator is not read to find out.)
    stopped: bool = False

    @counts.default
    def _count(self) -> Mapping[OutcomeStatus, int]:
        return MappingProxyType(Counter(o.status for o in self.outcomes))

    @credits.default
    def _spent(self) -> int:
        return sum(
            o.plan.parts
            for o in self.outcomes
            if o.status is OutcomeStatus.SUBMITTED and o.plan is not None
        )

    def _with(self, status: OutcomeStatus) -> tuple[RecipientOutcome, ...]:
        if not self.counts.get(status):
            return ()
        return tuple(o for o in self.outcomes if o.status is status)

    @property
    def submitted(self) -> tuple[RecipientOutcome, ...]:
        """Entries the transport accepted."""
        return self._with(OutcomeStatus.SUBMITTED)

    @property
    def queued(self) -> tuple[RecipientOutcome, ...]:
        """Entries stored to be sent later (``at=`` in the future)."""
        return self._with(OutcomeStatus.QUEUED)

    @property
    def blocked(self) -> tuple[RecipientOutcome, ...]:
        """Entries a check stopped before sending (opt-out, blacklist); ``reason`` says which."""
        return self._with(OutcomeStatus.BLOCKED)

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

    def __repr__(self) -> str:
        counts = ", ".join(f"{s.value}={n}" for s in OutcomeStatus if (n := self.counts.get(s)))
        stopped = " stopped" if self.stopped else ""
        return f"<SendResult {counts or 'empty'} credits={self.credits}{stopped}>"


#: What a message's stored state says of its send, for outcomes read back from storage.
_OUTCOME_OF = {
    MessageState.QUEUED: OutcomeStatus.QUEUED,
    MessageState.BLOCKED: OutcomeStatus.BLOCKED,
    MessageState.CANCELLED: OutcomeStatus.BLOCKED,
    MessageState.FAILED: OutcomeStatus.FAILED,
    MessageState.UNKNOWN: OutcomeStatus.UNKNOWN,
    MessageState.SUBMITTING: OutcomeStatus.UNKNOWN,
}


#: An entry of ``to`` that never became a message (an invalid number, a duplicate) as
#: plain values — position, input, number, status, reason — which the garbage
#: collector stops tracking (unless the input is an object of the caller's, a
#: Recipient): a send of millions keeps one per such entry to the end.
_EarlyRow = tuple[int, object, str | None, str, str | None]


def _early_row(position: int, outcome: RecipientOutcome) -> _EarlyRow:
    return (position, outcome.input, outcome.number, outcome.status.value, outcome.reason)


def _early_outcome(row: _EarlyRow) -> RecipientOutcome:
    _, entry, number, status, reason = row
    return RecipientOutcome(entry, number, OutcomeStatus(status), reason=reason)


class _StoredOutcomes(Sequence[RecipientOutcome]):
    """The outcomes of a send too large to keep in memory, read back from storage.

    Message ids end in the entry's position in ``to`` (see :func:`_message_ids`),
    so the campaign's messages, read in id order and merged with the entries that
    never became messages (invalid numbers, duplicates), come back in input order.
    """

    def __init__(
        self,
        storage: Storage,
        campaign_id: str,
        early: list[_EarlyRow],
        total: int,
        known: Collection[str],
    ) -> None:
        self._storage = storage
        self._campaign_id = campaign_id
        self._early = early
        self._total = total
        self._known = known  # the ids of the rules in force, to read reasons with

    def __len__(self) -> int:
        return self._total

    def __iter__(self) -> Iterator[RecipientOutcome]:
        early = iter(self._early)
        pending = next(early, None)
        for message in self._storage.iter_messages(self._campaign_id):
            position = int(message.id[-_POSITION_DIGITS:], 16)
            while pending is not None and pending[0] < position:
                yield _early_outcome(pending)
                pending = next(early, None)
            yield RecipientOutcome(
                message.to,
                message.to,
                _OUTCOME_OF.get(message.state, OutcomeStatus.SUBMITTED),
                message_id=message.id,
                provider_id=message.provider_id,
                reason=message.reason,
                rule_ids=(
                    reason_rule_ids(message.reason, self._known)
                    if message.state is MessageState.BLOCKED
                    else ()
                ),
            )
        while pending is not None:
            yield _early_outcome(pending)
            pending = next(early, None)

    @overload
    def __getitem__(self, index: int) -> RecipientOutcome: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[RecipientOutcome]: ...
    def __getitem__(self, index: int | slice) -> RecipientOutcome | Sequence[RecipientOutcome]:
        # Read through from the start: a huge send's outcomes are meant to be iterated.
        if isinstance(index, slice):
            return tuple(self)[index]
        position = index + self._total if index < 0 else index
        if not 0 <= position < self._total:
            raise IndexError("SendResult outcome index out of range")
        return next(itertools.islice(self, position, None))


class _Tally:
    """What a send tells its caller: every outcome while the send is small, else counts
    (from the first chunk that reaches past ``_KEEP_OUTCOMES`` entries of ``to``; storage
    tells those outcomes when asked)."""

    def __init__(self) -> None:
        self.kept: list[RecipientOutcome] | None = []
        self.early: list[_EarlyRow] = []  # invalid and duplicate entries
        self.counts: dict[OutcomeStatus, int] = {}
        self.credits = 0
        self.total = 0

    def add(self, position: int, outcome: RecipientOutcome) -> None:
        self.total += 1
        self.counts[outcome.status] = self.counts.get(outcome.status, 0) + 1
        if outcome.status is OutcomeStatus.SUBMITTED and outcome.plan is not None:
            self.credits += outcome.plan.parts
        if outcome.message_id is None:
            self.early.append(_early_row(position, outcome))
        if self.kept is not None:
            self.kept.append(outcome)

    def count(self, counts: Mapping[OutcomeStatus, int], credits: int = 0) -> None:
        """Outcomes counted, not kept: from here on, storage holds them."""
        self.kept = None
        for status, n in counts.items():
            self.total += n
            self.counts[status] = self.counts.get(status, 0) + n
        self.credits += credits

    def result(
        self, storage: Storage, campaign_id: str, rules: RuleSet, *, stopped: bool = False
    ) -> SendResult:
        outcomes: Sequence[RecipientOutcome] = (
            tuple(self.kept)
            if self.kept is not None
            else _StoredOutcomes(
                storage, campaign_id, self.early, self.total, {r.id for r in rules.rules}
            )
        )
        return SendResult(
            campaign_id, outcomes, MappingProxyType(self.counts), self.credits, stopped
        )


def _another(entries: Iterator[object]) -> bool:
    """Whether ``entries`` has another entry; one that fails to say is taken to have."""
    try:
        next(entries)
    except StopIteration:
        return False
    except Exception:
        log.warning("isobil: reading `to` failed after the send stopped", exc_info=True)
    return True


def _masked(text: str, secret: str) -> str:
    """``text`` with every character of every occurrence of ``secret`` (overlapping ones
    too: ``"aa"`` in ``"aaa"``) replaced by ``*``."""
    hidden = [False] * len(text)
    start = text.find(secret)
    while start != -1:
        hidden[start : start + len(secret)] = [True] * len(secret)
        start = text.find(secret, start + 1)
    return "".join("*" if hide else char for char, hide in zip(text, hidden, strict=True))


def _message_ids() -> Callable[[int], str]:
    """Ids for one send's messages: unique, and ending in the entry's position in ``to``.

    32 hex digits like a UUID: the time in milliseconds and 36 random bits make
    the send's prefix; the position makes the messages of a send sort (and be
    inserted into the primary key's index) in input order.
    """
    prefix = f"{int(_now().timestamp() * 1000):011x}{secrets.randbits(36):09x}"
    return lambda position: f"{prefix}{position:0{_POSITION_DIGITS}x}"


Recipientish = str | int | float | Recipient
_INSERT_CHUNK = 10_000
#: Entries of ``to`` a send takes at a time: its memory follows this, not the audience.
_SEND_CHUNK = 50_000
#: A send to more entries keeps counts, not outcomes (read back from storage when asked).
_KEEP_OUTCOMES = 100_000
#: Seconds between two rounds of a dispatch pass's housekeeping (due schedules fired,
#: lost workers' messages settled ``unknown``): at its start, then as it goes.
_HOUSEKEEPING = 10.0
_POSITION_DIGITS = 12
#: Distinct texts whose segment plans a dispatch keeps (personalised texts differ).
_PLANS_KEPT = 10_000
#: Delivery reports kept for messages whose submit has not returned yet.
_EARLY_REPORTS = 10_000
#: The rule a message stopped by the transport's last look broke.
_OPTED_OUT_RULES = ("TR-OPTOUT-001",)
#: The records a send and a dispatch make per message from values isobil made or
#: checked itself (a normalised number, its own ids, enum members): every field given
#: by name, set as given (no converters or validators, half the cost of the class).
_trusted_outcome = trusted(RecipientOutcome)
_trusted_settlement = trusted(Settlement)
_trusted_sms = trusted(OutboundSms)


@attrs.frozen
class DispatchReport:
    """What one :meth:`Client.dispatch` did: messages handled, by outcome, and those lost."""

    handled: int
    outcomes: Mapping[OutcomeStatus, int]
    #: Messages a lost worker left mid-submit, now ``unknown``.
    lost: tuple[str, ...] = ()


class Reports:
    """The reports a client can produce (``client.reports``)."""

    def __init__(self, storage: Storage, rules: RuleSet) -> None:
        self._storage = storage
        self._rules = rules

    def delivery(self, campaign_id: str) -> DeliverySummary:
        """Where a campaign's messages stand: per state, failure reason and hour."""
        self._known(campaign_id)
        return delivery_summary(self._storage, campaign_id)

    def consent(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> ConsentReport:
        """Opt-ins and opt-outs by day, brand, number, keyword and source; unknown texts."""
        return consent_report(
            self._storage,
            since=aware(since, "since", optional=True),
            until=aware(until, "until", optional=True),
        )

    def credits(self, *, campaign_id: str | None = None) -> CreditReport:
        """The credit ledger with its balance, totals by kind and by campaign.

        With ``campaign_id`` the entries are that campaign's (the balance stays the
        account's, and the CSV's running sum is the campaign's own)."""
        if campaign_id is not None:
            self._known(campaign_id)
        return credit_report(self._storage, campaign_id=campaign_id)

    def compliance(
        self,
        campaign_id: str | None = None,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> ComplianceReport:
        """Who was not sent to and why, with citations: one campaign, or those created
        in [since, until)."""
        if campaign_id is not None:
            if since is not None or until is not None:
                raise InvalidValue("give a campaign id or a period (since/until), not both")
            self._known(campaign_id)
        citations = {rule.id: str(rule.citation) for rule in self._rules.rules}
        return compliance_report(
            self._storage,
            citations,
            campaign_id=campaign_id,
            since=aware(since, "since", optional=True),
            until=aware(until, "until", optional=True),
        )

    def _known(self, campaign_id: str) -> None:
        if self._storage.get_campaign(campaign_id) is None:
            raise InvalidValue(f"no campaign with id {campaign_id!r}")


def _reasons(report: PreflightReport, number: str) -> str:
    """Why ``number`` is blocked, rule by rule."""
    return reason_text(
        (f.rule_id, f.message)
        for f in report.recipient_findings
        if f.recipient == number and f.rule_id in report.blocked.get(number, ())
    )


def _settled_as(error: TransportError) -> tuple[OutcomeStatus, MessageState]:
    """Where a message the transport did not accept goes, and its outcome."""
    if isinstance(error, RecipientOptedOut):
        return OutcomeStatus.BLOCKED, MessageState.BLOCKED
    if isinstance(error, TransportTimeout):
        return OutcomeStatus.UNKNOWN, MessageState.UNKNOWN
    return OutcomeStatus.FAILED, MessageState.FAILED


class _Audience:
    """The entries of one ``to``: normalised recipients, and early outcomes by position."""

    def __init__(self, entries: list[Recipientish]) -> None:
        self.entries = entries
        self.index_of: dict[str, int] = {}  # E.164 number -> its position in entries
        self.early: dict[int, RecipientOutcome] = {}  # invalid and duplicate entries
        #: Each recipient's type by number, in the order of entries.
        self.types: dict[str, RecipientType] = {}
        self.values: dict[str, Mapping[str, str]] = {}  # template values by number


InboundCallback = Callable[[InboundEvent], None]

T = TypeVar("T")
B = TypeVar("B")
#: Work that yields each batch to submit and is sent the transport's answer (the
#: results, or the TransportError of the whole batch): the Client drives it with
#: blocking submits, the AsyncClient with awaited ones, and its storage steps in
#: worker threads.
_Steps = Generator["list[OutboundSms] | _Collect", "list[SubmitResult] | TransportError | None", T]


def _taken(batches: Iterable[B], stop: Stop | None) -> Iterator[B]:
    """``batches`` one by one until ``stop`` is set: it is looked at before each is
    taken (claimed, or read and stored), never after."""
    taking = iter(batches)
    while stop is None or not stop.is_set():
        try:
            batch = next(taking)
        except StopIteration:
            return
        yield batch


class _Collect:
    """What steps yield to wait for the answer to the oldest batch still in flight."""


#: Steps yield a batch to have it submitted (the driver answers ``None`` at once and
#: submits it beside them) and ``_COLLECT`` to wait for the oldest batch's answer.
_COLLECT = _Collect()


@attrs.frozen
class _Chunk:
    """Entries of one send's ``to``, checked and stored: what telling their outcomes needs."""

    offset: int  # the position of its first entry in ``to``
    audience: _Audience
    texts: _Rendering
    report: PreflightReport
    records: list[OutboundMessage]

    @property
    def kept(self) -> bool:
        """Whether the send's result keeps this chunk's outcomes (see :class:`_Tally`)."""
        return self.offset + len(self.audience.entries) <= _KEEP_OUTCOMES


@attrs.define
class _InFlight:
    """A batch handed to the transport: what settling it needs, and what came of it."""

    mine: Sequence[OutboundMessage]
    batch: list[OutboundSms]
    plans: Mapping[str, sms.SegmentPlan]
    #: What the caller gave for each number (a send's entries of ``to``).
    inputs: Mapping[str, object]
    #: Whether the caller wants each outcome, or only ``counts`` and ``credits``
    #: (a dispatch pass; the part of a large send whose outcomes storage keeps).
    kept: bool = True
    #: One outcome per message settled, when ``kept``.
    outcomes: list[RecipientOutcome] = attrs.field(factory=list)
    #: Every outcome of the batch by status, and the credits of those submitted.
    counts: dict[OutcomeStatus, int] = attrs.field(factory=dict)
    credits: int = 0


#: A claimed batch of one campaign after its re-check: the messages to send, their
#: plans and recipient types, and how many the re-check blocked.
_Rechecked = tuple[list[OutboundMessage], dict[str, sms.SegmentPlan], dict[str, RecipientType], int]


def _span(name: str, transport: Transport, **attributes: int) -> AbstractContextManager[Span]:
    """The span of a client call (``isobil.send``, …) through ``transport``."""
    return span(name, transport=type(transport).__name__, **attributes)


def _sent(traced: Span, result: SendResult) -> SendResult:
    traced.set(campaign_id=result.campaign_id, recipients=len(result.outcomes))
    traced.set(**{f"outcome.{k.value}": n for k, n in result.counts.items()})
    return result


def _dispatched(traced: Span, report: DispatchReport) -> DispatchReport:
    traced.set(handled=report.handled, lost=len(report.lost))
    traced.set(**{f"outcome.{k.value}": n for k, n in report.outcomes.items()})
    return report


def _submitted(traced: Span, answer: list[SubmitResult] | TransportError) -> None:
    if isinstance(answer, TransportError):
        traced.set(error=type(answer).__name__)
    else:
        traced.set(refused=sum(1 for r in answer if r.error is not None))


def _submit_thread() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(1, thread_name_prefix="isobil-submit")


def _advance(
    steps: _Steps[T], answer: list[SubmitResult] | TransportError | None
) -> tuple[bool, object]:
    """Run ``steps`` to their next batch: ``(False, batch)``, or ``(True, result)`` at the end."""
    try:
        return False, next(steps) if answer is None else steps.send(answer)
    except StopIteration as done:
        return True, done.value


#: How long this client holds the messages of one batch before another worker may.
SEND_LEASE = timedelta(minutes=10)
#: How far back :meth:`Client.poll` asks a provider about reports still missing.
POLL_WINDOW = timedelta(days=3)
_POLL_OVERLAP = timedelta(minutes=5)
_POLL_STATE = "transport.poll.since"
#: Messages settled in these states at submit give their reserved credits back.
_RELEASED_AT_SUBMIT = {
    MessageState.FAILED: "refused by the transport",
    MessageState.BLOCKED: "opted out as it was leaving",
}
_REFUNDED = frozenset({MessageState.UNDELIVERED, MessageState.EXPIRED, MessageState.REJECTED})
_IYS_REGISTRATION = {
    IysSyncStatus.REGISTERED: IysRegistration.REGISTERED,
    IysSyncStatus.NOT_NEEDED: IysRegistration.REGISTERED,
    IysSyncStatus.REJECTED: IysRegistration.NOT_REGISTERED,
}
#: Consent taken through these sources is "electronic": the regulation wants a
#: confirmation the same day (R-CONSENT). Consent by SMS (HS_MESAJ) is confirmed
#: by the auto reply; paper, events and İYS-side changes need none from us.
ELECTRONIC_SOURCES = frozenset(
    {
        ConsentSource.HS_WEB,
        ConsentSource.HS_MOBIL,
        ConsentSource.HS_EORTAM,
        ConsentSource.HS_SOSYAL_MEDYA,
        ConsentSource.HS_EPOSTA,
        ConsentSource.HS_CAGRI_MERKEZI,
        ConsentSource.HS_ATM,
    }
)


def _shared_consent(brands: Sequence[Brand]) -> dict[str, tuple[str, ...]]:
    """Brand code → the codes whose consent events decide with it (Reg. art. 7(6), 9(2))."""
    groups: dict[str, tuple[str, ...]] = {}
    for brand in brands:
        if brand.shared_with:
            group = (brand.code, *brand.shared_with)
            for code in group:
                groups[code] = tuple(sorted({*groups.get(code, ()), *group}))
    return groups


def _day_end(day: date) -> datetime:
    """The first instant after ``day`` in Istanbul: the edge of a dated evaluation."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=ISTANBUL)


def _now() -> datetime:
    return datetime.now(UTC)


#: The template values of a recipient without any (shared, read-only).
_NO_VALUES: Mapping[str, str] = MappingProxyType({})


def _template_values(contact: Recipient | None) -> Mapping[str, str]:
    """What a contact fills templates with: its fields, plus {ad}, {soyad} (and English names)."""
    if contact is None:
        return {}
    values = {sms.field_key(k): v for k, v in contact.fields.items()}
    for key, value in (
        ("ad", contact.name),
        ("soyad", contact.surname),
        ("name", contact.name),
        ("surname", contact.surname),
        ("eposta", contact.email),
        ("email", contact.email),
    ):
        if value:
            values.setdefault(key, value)
    return values


class _Rendering:
    """Each recipient's text and plan for one message, computed once and cached.

    A plain text is planned once. A template is rendered per recipient; its
    rules ran on the shared text, and a recipient's own text is checked again
    only when its values could change a verdict (they add a promotion, or the
    text opens with a field) — personalisation only ever adds text.
    """

    def __init__(
        self,
        client: Client,
        message: Message,
        facts: MessageFacts,
        values: Mapping[str, Mapping[str, str]],
    ) -> None:
        self.template = sms.Template(message.text)
        self._client = client
        self._message = message
        self._facts = facts
        self._values = values
        self._plans: dict[str, sms.SegmentPlan] = {}
        # By the identity of a recipient's values: _audience shares one mapping
        # among recipients with the same values, so each distinct combination is
        # rendered (and judged, and planned) once. The values are kept, so ids stay theirs.
        self._rendered: dict[int, _Rendered] = {}
        self._promotes: dict[str, bool] = {}
        self._opens_with_field = (
            self.template.personalised
            and not message.text.lstrip().startswith(
                tuple(self.template.skeleton.split()[:1]) or ("\0",)
            )
        )

    def _render(self, number: str) -> _Rendered:
        """The recipient's rendering: the fields it cannot fill, its text, plan, facts."""
        values = self._values.get(number, _NO_VALUES)
        found = self._rendered.get(id(values))
        if found is None:
            missing = self.template.missing(values) if self.template.personalised else ()
            text = None if missing else self.template.render(values)
            found = self._rendered[id(values)] = _Rendered(missing, text, values)
        return found

    def text(self, number: str) -> str | None:
        """The recipient's text, or ``None`` when a field has no value."""
        return self._render(number).text

    def missing(self, number: str) -> tuple[str, ...]:
        """The template fields this recipient cannot fill."""
        # Once per recipient: the lookup of _render inlined.
        found = self._rendered.get(id(self._values.get(number, _NO_VALUES)))
        return (found or self._render(number)).missing

    def plan(self, number: str) -> sms.SegmentPlan:
        """The recipient's segment plan (of the shared text when it cannot be rendered)."""
        found = self._rendered.get(id(self._values.get(number, _NO_VALUES))) or self._render(number)
        plan = found.plan
        if plan is None:
            text = self.template.skeleton if found.text is None else found.text
            plan = self._plans.get(text)
            if plan is None:
                plan = self._plans[text] = self._client.plan(text)
            found.plan = plan
        return plan

    def parts(self, number: str) -> int:
        """How many parts the recipient's message takes."""
        found = self._rendered.get(id(self._values.get(number, _NO_VALUES)))
        plan = None if found is None else found.plan
        return (plan or self.plan(number)).parts

    def facts_to_check(self, number: str) -> MessageFacts | None:
        """The facts of the recipient's own text, when its values could change a verdict."""
        found = self._rendered.get(id(self._values.get(number, _NO_VALUES))) or self._render(number)
        if found.checked:
            return found.check
        found.check = self._facts_to_check(number, found.values)
        found.checked = True
        return found.check

    def _facts_to_check(self, number: str, values: Mapping[str, str]) -> MessageFacts | None:
        added = self.template.values_text(values)
        if not added:
            return None
        f = self._facts
        if not self._opens_with_field:
            # Values repeat (names, cities): judge each distinct combination once.
            promotes = self._promotes.get(added)
            if promotes is None:
                evidence = f.with_text(added).classification.commercial_evidence
                promotes = self._promotes[added] = bool(evidence)
            if not promotes:
                return None
        text = self.text(number)
        if text is None:
            return None
        return f.with_text(text)


class _Rendered:
    """One distinct combination of template values, rendered: see :class:`_Rendering`."""

    __slots__ = ("check", "checked", "missing", "plan", "text", "values")

    def __init__(self, missing: tuple[str, ...], text: str | None, values: Mapping[str, str]):
        self.missing = missing
        self.text = text
        self.values = values  # kept alive with its rendering: its id is the key
        self.plan: sms.SegmentPlan | None = None
        self.check: MessageFacts | None = None
        self.checked = False


@attrs.define
class _CampaignContext:
    """What sending a campaign's messages needs of it, read once per send or dispatch."""

    message: Message
    facts: MessageFacts
    acknowledged: frozenset[str]
    _plans: dict[str, sms.SegmentPlan] = attrs.field(factory=dict)

    def plan(self, text: str, planner: Callable[[str], sms.SegmentPlan]) -> sms.SegmentPlan:
        """The segment plan of ``text``: each distinct text planned once (a bounded cache)."""
        found = self._plans.get(text)
        if found is None:
            if len(self._plans) >= _PLANS_KEPT:
                self._plans.clear()
            found = self._plans[text] = planner(text)
        return found


class _EventHandler:
    """The client's inbound handler: one event at a time, or a burst (``handle_many``)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def __call__(self, event: InboundEvent) -> None:
        self._client._on_event(event)

    def handle_many(self, events: Sequence[InboundEvent]) -> None:
        self._client._on_events(events)


class _OptOutLook:
    """The transport's last look: opt-outs recorded a moment ago, before any storage
    read could have seen them.

    The ledger notes each RET here before writing it, and the transport holds this
    look while a message leaves, so of a RET and a message to its number, either the
    RET was noted first and the message does not leave (:class:`RecipientOptedOut`),
    or the message left before the RET was recorded. A RET is needed here only while
    a batch checked before it can still be leaving, at most a lease: older ones are
    forgotten (storage holds them, and every batch is checked against storage).
    """

    def __init__(self, shared: Callable[[str], frozenset[str]], keep: timedelta) -> None:
        self._lock = threading.Lock()
        self._shared = shared
        self._keep = keep
        self._recent: dict[tuple[str, str], datetime] = {}

    def __enter__(self) -> _OptOutLook:
        self._lock.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()

    def note(self, events: Sequence[ConsentEvent]) -> None:
        """Remember the RETs among ``events`` (called before they are written); an ONAY
        given again forgets its RET."""
        sms = [e for e in events if e.channel is Channel.MESAJ]
        if not sms:
            return
        now = _now()
        with self:
            for event in sms:
                if event.status is ConsentStatus.RET:
                    self._recent[(event.brand, event.address)] = now
                else:
                    self._recent.pop((event.brand, event.address), None)
            if len(self._recent) > _EARLY_REPORTS:
                cutoff = now - self._keep
                self._recent = {k: t for k, t in self._recent.items() if t > cutoff}

    def refusal(self, sms: OutboundSms) -> RecipientOptedOut | None:
        """Why ``sms`` must not leave: a RET for its brand noted since it was checked."""
        if not self._recent or not sms.commercial or sms.brand is None:
            return None  # the cheapest test first: no RET noted since the process began
        cutoff = _now() - self._keep
        noted = (self._recent.get((brand, sms.to)) for brand in self._shared(sms.brand))
        if any(t is not None and t > cutoff for t in noted):
            return RecipientOptedOut(
                reason_text(
                    [
                        (
                            _OPTED_OUT_RULES[0],
                            f"the recipient opted out (RET) of {sms.brand} as the message "
                            "was leaving",
                        )
                    ]
                )
            )
        return None


class Client(Resource):
    """Send SMS the way Turkish law allows, through one transport, with a record of all.

    ``sender`` is who sends (required for commercial messages once rules apply).
    ``transport`` defaults to a :class:`~isobil.FakeTransport`, which sends
    nothing: pass an SMPP or HTTP transport to reach phones. ``storage``
    defaults to :class:`~isobil.storage.SQLStorage` at ``database_url``, else at
    the ``ISOBIL_DATABASE_URL`` environment variable, else ``sqlite:///isobil.db``
    (a file in the working directory); pass ``MemoryStorage()`` for a client
    that keeps nothing. ``operator_suffix`` and ``national_shift`` are passed to
    :func:`isobil.sms.plan`; ``national_shift`` defaults to what the transport
    can send (not through Jasmin, which has only GSM 7-bit and UCS-2) and
    ``operator_suffix`` to the transport's part table (5, or 0 for Verimor); the
    transport's ``locking_shift`` (False for Netgsm) and ``fixed_split`` are passed
    on too, so the parts counted and billed are the parts sent. ``batch_size`` is
    how many messages go to the transport in one call, and ``lease`` how long
    this client holds a batch before another worker may take it over (a worker
    that dies mid-submit leaves its messages ``unknown`` once it ends).
    ``validity`` is how long the provider keeps trying to deliver a message
    (its default when ``None``).

    Every message reaches the transport with its category, brand, the brand's
    İYS code and the recipient's type (from the address book; BIREYSEL when the
    number is not in it), which providers turn into their İYS flags.

    Inbound texts to the sender's ``short_number`` are read against its brands;
    ``inbound_numbers`` maps further receiving numbers (dedicated short or long
    numbers) to the brand codes served there. ``replies`` sets the auto replies
    and the same-day confirmation (Turkish by default). ``rules`` is the rule set
    every send is checked against (isobil's, by default); ``rules_config`` the
    words its content rules look for.

    With ``prepaid=True`` every send reserves its credits first and is refused
    when the balance cannot cover it; undelivered messages are refunded at once
    and ``low_credit_threshold`` sends one alert SMS to ``owner_phone`` each time
    the balance falls below it.

    ``client.consent`` is the consent ledger, ``client.blacklist`` the blacklist,
    ``client.inbound`` the inbound processor, ``client.contacts`` the address
    book (rehber), ``client.credits`` the credit
    account, ``client.schedules`` the scheduled sends, ``client.reports``
    the delivery and consent reports and ``client.otp`` one-time codes by SMS.

    Use it as a context manager; closing the client closes its transport, and
    the storage if the client created it.
    """

    def __init__(
        self,
        sender: Sender | None = None,
        *,
        transport: Transport | None = None,
        storage: Storage | None = None,
        database_url: str | None = None,
        operator_suffix: int | None = None,
        national_shift: bool | None = None,
        batch_size: int = 500,
        inbound_numbers: Mapping[str, Sequence[str]] | None = None,
        replies: AutoReplies | None = None,
        rules: RuleSet | None = None,
        rules_config: RulesConfig | None = None,
        prepaid: bool = False,
        low_credit_threshold: int | None = None,
        owner_phone: str | None = None,
        lease: timedelta = SEND_LEASE,
        validity: timedelta | None = None,
    ) -> None:
        if batch_size < 1:
            raise InvalidValue(f"batch_size must be >= 1, got {batch_size}")
        if lease <= timedelta(0):
            raise InvalidValue(f"lease must be positive, got {lease}")
        if validity is not None and validity <= timedelta(0):
            raise InvalidValue(f"validity must be positive, got {validity}")
        if transport is None:
            log.info("isobil: no transport given, using FakeTransport (nothing leaves)")
            transport = FakeTransport()
        if national_shift is None:
            national_shift = transport.national_shift
        elif national_shift and not transport.national_shift:
            raise ConfigurationError(
                f"national_shift=True, but {type(transport).__name__} cannot send the Turkish"
                " shift tables: parts would be counted that are not the parts sent"
            )
        self._owns_storage = storage is None
        self.sender = sender
        self.transport = transport
        if storage is None:
            from isobil.storage import SQLStorage  # SQLAlchemy is loaded only when used

            storage = SQLStorage(
                database_url or os.environ.get("ISOBIL_DATABASE_URL") or DEFAULT_DATABASE_URL
            )
        self.storage: Storage = storage
        self.operator_suffix = (
            transport.operator_suffix if operator_suffix is None else operator_suffix
        )
        self.national_shift = national_shift
        self.batch_size = batch_size
        # One batch is submitted here while the next is prepared (see _drive).
        self._submits = _submit_thread()
        self._submits_pid = os.getpid()
        self._submitting = threading.local()
        #: How long this client holds a batch before another worker may take it over.
        self.lease = lease
        #: How long the SMSC keeps trying a message (``None``: the provider's default).
        self.validity = validity
        #: Identifies this client's leases among every worker sharing the storage.
        self.worker_id = f"client-{uuid.uuid4().hex[:12]}"
        self._callbacks: list[InboundCallback] = []
        self._closed = False
        self.replies = replies or AutoReplies()
        self.rules = rules or RuleSet()
        self.rules_config = rules_config or RulesConfig()
        brands = sender.all_brands if sender else ()
        self._last_look = _OptOutLook(
            lambda b: self.consent.shared.get(b, frozenset((b,))), keep=lease
        )
        self.consent = ConsentLedger(
            self.storage,
            brands=[code for b in brands for code in (b.code, *b.shared_with)] if sender else None,
            shared=_shared_consent(brands),
            on_recorded=self._confirm_consent,
            before_append=self._last_look.note,
        )
        self.blacklist = Blacklist(self.storage)
        self.owner_phone = None if owner_phone is None else phone.normalize(owner_phone)
        self.credits = CreditAccount(
            self.storage,
            prepaid=prepaid,
            low_threshold=low_credit_threshold,
            on_low=self._low_credit_alert,
        )
        self.schedules = Schedules(self.storage, self.send)
        self.reports = Reports(self.storage, self.rules)
        self.contacts = ContactBook(self.storage)
        self.otp = Otp(self.storage, self.send_now, sender=sender, conceal=True)
        self.inbound = InboundProcessor(
            self.consent,
            self.storage,
            self._routes(sender, inbound_numbers or {}),
            send_reply=self._send_reply,
            replies=self.replies,
        )
        transport.set_inbound_handler(_EventHandler(self))
        transport.set_last_look(self._last_look)

    @staticmethod
    def _routes(
        sender: Sender | None, extra: Mapping[str, Sequence[str]]
    ) -> dict[str, Sequence[Brand]]:
        routes: dict[str, Sequence[Brand]] = {}
        if sender is not None and sender.short_number is not None:
            routes[sender.short_number] = sender.brands
        for number, codes in extra.items():
            if sender is None:
                raise ConfigurationError("inbound_numbers needs a sender with brands")
            routes[number] = [sender.brand(code) for code in codes]
        return routes

    # -- sending ------------------------------------------------------------

    def plan(self, message: Message | str) -> sms.SegmentPlan:
        """The segment plan of ``message`` with this client's encoding settings."""
        text = message.text if isinstance(message, Message) else message
        return sms.plan(
            text,
            operator_suffix=self.operator_suffix,
            national_shift=self.national_shift,
            fixed_split=self.transport.fixed_split,
            locking_shift=self.transport.locking_shift,
        )

    def check(
        self,
        message: Message | str,
        to: Iterable[Recipientish] | Recipientish,
        *,
        as_of: date | None = None,
        acknowledge: Iterable[str] = (),
    ) -> PreflightReport:
        """Preflight ``message`` for ``to`` without sending: what is allowed, blocked, and why.

        The rules are evaluated as of ``as_of`` (default: today in Istanbul);
        warnings whose rule ids are in ``acknowledge`` do not stop anything.
        """
        with span("isobil.check") as traced:
            message = self._message(message)
            audience = self._audience(to)
            facts = self._message_facts(message, as_of)
            before = None if as_of is None else facts.checked_at
            invalid = {
                repr(o.input): o.reason or ""
                for o in audience.early.values()
                if o.status is OutcomeStatus.INVALID
            }
            report = self._preflight(
                message,
                facts,
                audience.types,
                audience.values,
                acknowledge=acknowledge,
                invalid=invalid,
                before=before,
            )
            traced.set(
                allowed=len(report.allowed),
                blocked=len(report.blocked),
                invalid=len(report.invalid),
                refused=report.refused,
            )
            return report

    def send(
        self,
        message: Message | str,
        to: Iterable[Recipientish] | Recipientish,
        *,
        at: datetime | None = None,
        acknowledge: Iterable[str] = (),
        name: str | None = None,
        progress: Callable[[int], None] | None = None,
        stop: Stop | None = None,
    ) -> SendResult:
        """Preflight ``message``, store it as a campaign, and send it now (or at ``at``).

        ``to`` holds numbers in any shape (``"0532 123 45 67"``, ``5321234567.0``),
        :class:`Recipient` objects, or a contact group. A message-level error (or
        a warning not in ``acknowledge``) refuses the whole send with
        :class:`ComplianceError` carrying the :class:`PreflightReport`; so does
        a prepaid client without the credits for it (:class:`InsufficientCredits`).
        Otherwise each entry gets one outcome — blocked (with the rule ids),
        invalid, duplicate, submitted, failed, unknown, or queued when ``at``
        is in the future (``client.dispatch()`` or ``isobil worker`` sends it
        then). Every message is recorded in storage before it is submitted.

        ``to`` is read a batch at a time (``at`` later: 50,000 entries at a time),
        each batch checked — consent, opt-outs, the blacklist — and stored just
        before it goes, while the batch before it is submitted: memory does not
        grow with the audience. A send to more than 100,000 entries keeps
        ``counts`` and ``credits`` in its result and reads ``outcomes`` back
        from storage; see docs/campaigns.md, "Large sends". A prepaid send
        reserves as it goes: one that runs out after its first batch stops
        there with :class:`InsufficientCredits` naming what went. ``progress``
        is called with how many entries of ``to`` were handled so far, after
        each batch (a progress bar's total is ``len(to)``).

        ``stop``, once set (as :meth:`dispatch`'s), ends the send early: nothing more
        of ``to`` is stored or sent (a list or a group is looked at once more, to tell
        whether anything was left), the batches handed to the transport are settled,
        the campaign is done with what went, and the result says ``stopped`` and
        counts what that was. A send ``at`` later goes whole or not at all: stopped,
        or failing, while it is stored, it is cancelled (its credits released).
        """
        with _span("isobil.send", self.transport) as traced:
            steps = self._send(
                message, to, at=at, acknowledge=acknowledge, name=name, progress=progress, stop=stop
            )
            return _sent(traced, self._drive(steps))

    def _send(
        self,
        message: Message | str,
        to: Iterable[Recipientish] | Recipientish,
        *,
        at: datetime | None,
        acknowledge: Iterable[str],
        name: str | None,
        message_id: str | None = None,
        progress: Callable[[int], None] | None = None,
        stop: Stop | None = None,
    ) -> _Steps[SendResult]:
        # message_id: the id to store the message under, for a send to one number
        # (an auto reply, recorded under an id its inbound message derives).
        self._check_open()
        aware(at, "at", optional=True)
        message = self._message(message)
        acknowledged = frozenset(acknowledge)
        entries: Iterator[Recipientish] = (
            iter((to,)) if isinstance(to, str | int | float | Recipient) else iter(to)
        )
        facts = self._message_facts(message, None)
        now = _now()
        later = at is not None and at > now
        campaign = self._new_campaign(message, now, CampaignStatus.RUNNING, name=name, at=at)
        ids = _message_ids()
        tally = _Tally()
        stored = used_up = False  # the campaign; every entry of ``to`` read

        def chunks() -> Iterator[_Chunk]:
            nonlocal stored, used_up
            # ``to`` is taken a chunk at a time — sent now, a batch at a time — each
            # checked and stored (sent now: ``submitting``) when the pipeline asks for
            # it: while the transport sends one batch, the next is checked and stored.
            # Memory follows the chunk, not the audience.
            size = _SEND_CHUNK if later else self.batch_size
            for offset in itertools.count(0, size):
                entries_taken = list(itertools.islice(entries, size))
                used_up = len(entries_taken) < size
                if not entries_taken and offset:
                    return
                audience = self._audience(entries_taken)
                if offset:
                    self._drop_repeated(audience, campaign.id)
                texts, report = self._cleared(message, audience, acknowledged, facts)
                try:
                    # Credits first: a chunk the balance cannot cover is not stored.
                    self.credits.reserve(campaign.id, report.credits)
                except InsufficientCredits as exc:
                    if not offset:
                        raise  # nothing of this send was stored
                    raise self._short_of_credits(exc, campaign, later, offset) from None
                if not offset:
                    self._store_campaign(campaign, message, acknowledged)
                    stored = True
                stored_at = _now()  # each chunk's lease runs from when it is stored
                lease_until = stored_at + self.lease
                records = [
                    self._new_message(
                        campaign.id,
                        number,
                        texts.plan(number),
                        report,
                        message_id or ids(offset + audience.index_of[number]),
                        at if later else None,
                        stored_at,
                        lease_until,
                    )
                    for number in audience.types
                ]
                try:
                    for start in range(0, len(records), _INSERT_CHUNK):
                        self.storage.add_messages(records[start : start + _INSERT_CHUNK])
                except Exception:
                    self._unsent(records)  # stored, but the call failed: not left submitting
                    raise
                yield _Chunk(offset, audience, texts, report, records)

        def hand_over(chunk: _Chunk) -> _Steps[list[_InFlight]]:
            # Checked just now (the chunk's preflight): no second check before it goes.
            sending = [r for r in chunk.records if r.state is MessageState.SUBMITTING]
            audience = chunk.audience
            flight = yield from self._hand_over(
                message,
                sending,
                {r.id: chunk.texts.plan(r.to) for r in sending},
                # What each entry of `to` was, for the outcomes kept.
                {r.to: audience.entries[audience.index_of[r.to]] for r in sending}
                if chunk.kept
                else {},
                audience.types,
                kept=chunk.kept,
            )
            return [flight]

        def settled(chunk: _Chunk, flights: Sequence[_InFlight]) -> None:
            audience, report = chunk.audience, chunk.report
            if not chunk.kept:
                # Storage tells these outcomes when asked: count them, keep the
                # invalid and duplicate entries (which storage does not hold).
                tally.count(
                    Counter(
                        _OUTCOME_OF[record.state]
                        for record in chunk.records
                        if record.state is not MessageState.SUBMITTING
                    )
                )
                for flight in flights:
                    tally.count(flight.counts, flight.credits)
                for index in sorted(audience.early):
                    tally.add(chunk.offset + index, audience.early[index])
                if progress is not None:
                    progress(tally.total)
                return
            by_id = {o.message_id: o for flight in flights for o in flight.outcomes}
            in_order = dict(audience.early)
            for record in chunk.records:
                index = audience.index_of[record.to]
                in_order[index] = by_id.get(record.id) or RecipientOutcome(
                    audience.entries[index],
                    record.to,
                    _OUTCOME_OF[record.state],
                    message_id=record.id,
                    reason=record.reason,
                    plan=chunk.texts.plan(record.to),
                    rule_ids=report.blocked.get(record.to, ()),
                )
            for index in sorted(in_order):
                tally.add(chunk.offset + index, in_order[index])
            if progress is not None:
                progress(tally.total)

        if later:
            try:
                for chunk in _taken(chunks(), stop):
                    settled(chunk, ())
            except BaseException:  # an error, an interrupt: none of it goes out
                if stored:
                    self._cancel_unsent(campaign.id)
                raise
        else:
            yield from self._pipelined(chunks(), hand_over, settled, stop)
        # Stopped before ``to`` was read to its end? Asked of a list or a group by a
        # look at its next entry; a one-pass iterator of the caller's keeps its entries.
        stopped = (
            stop is not None
            and stop.is_set()
            and not used_up
            and (entries is to or _another(entries))
        )
        if not stored:  # stopped before its first chunk: an empty campaign, done
            self._store_campaign(campaign, message, acknowledged)
        if later and stopped:
            self.cancel(campaign.id)  # a scheduled send goes whole or not at all
        elif not later or not tally.counts.get(OutcomeStatus.QUEUED):
            # Nothing left for a dispatcher (one finishes only campaigns with messages).
            self.storage.set_campaign_status(campaign.id, CampaignStatus.DONE)
        return tally.result(self.storage, campaign.id, self.rules, stopped=stopped)

    def _new_campaign(
        self,
        message: Message,
        now: datetime,
        status: CampaignStatus,
        *,
        name: str | None = None,
        at: datetime | None = None,
    ) -> Campaign:
        brand = self._brand_of(message)
        return Campaign(
            id=uuid.uuid4().hex,
            text=message.text,
            category=message.category.value,
            created_at=now,
            status=status,
            brand=brand,
            name=name,
            originator=self.sender.originator_of(brand) if self.sender else None,
            send_at=at,
        )

    def _store_campaign(
        self, campaign: Campaign, message: Message, acknowledged: frozenset[str]
    ) -> None:
        self.storage.create_campaign(campaign)
        self._note_campaign(campaign.id, message, acknowledged)

    def _note_campaign(
        self, campaign_id: str, message: Message, acknowledged: frozenset[str]
    ) -> None:
        """What a dispatcher reads back of a campaign (:meth:`_campaign_context`)."""
        if acknowledged:
            self.storage.set_state(
                f"campaign.{campaign_id}.acknowledge", ",".join(sorted(acknowledged))
            )
        if message.relation is not None:
            self.storage.set_state(f"campaign.{campaign_id}.relation", message.relation.value)

    def _new_message(
        self,
        campaign_id: str,
        number: str,
        plan: sms.SegmentPlan,
        report: PreflightReport,
        message_id: str,
        not_before: datetime | None,
        now: datetime,
        lease_until: datetime,
    ) -> OutboundMessage:
        """The stored message to ``number``: blocked with its reasons; queued until
        ``not_before``; or, sent now, ``submitting`` under this client's lease until
        ``lease_until`` (``now + self.lease``; one time for a batch) — no worker sharing
        the storage takes it; a client that dies before settling it leaves it
        ``unknown``, never resent."""
        if number in report.blocked:
            state = MessageState.BLOCKED
        else:
            state = MessageState.QUEUED if not_before else MessageState.SUBMITTING
        submitting = state is MessageState.SUBMITTING
        return trusted_message(  # isobil's own values: a normalised number, aware times
            id=message_id,
            campaign_id=campaign_id,
            to=number,
            text=plan.text,
            parts=plan.parts,
            state=state,
            not_before=not_before,
            claimed_by=self.worker_id if submitting else None,
            lease_until=lease_until if submitting else None,
            provider_id=None,
            error_code=None,
            reason=_reasons(report, number) if state is MessageState.BLOCKED else None,
            updated_at=now,
        )

    def _requeue(self, records: Sequence[OutboundMessage], now: datetime | None = None) -> None:
        """Put messages stored or claimed ``submitting`` that never reached the transport
        back to ``queued``, so that they do not become ``unknown``. They keep this
        client's lease: a dispatcher takes them once it ends (a batch that fails every
        time does not hold up the queue behind it). ``now`` is the time the lease was
        taken by (a dispatch pass's)."""
        ids = [r.id for r in records if r.state is MessageState.SUBMITTING]
        if ids:
            self.storage.transition(
                ids,
                MessageState.QUEUED,
                expected=MessageState.SUBMITTING,
                worker=self.worker_id,
                now=now or _now(),
            )

    def _unsent(self, records: Sequence[OutboundMessage], now: datetime | None = None) -> None:
        """:meth:`_requeue` after a failure, best effort: storage may be failing (the
        failure that goes up is the first one); a client killed here leaves them
        ``unknown``."""
        try:
            self._requeue(records, now)
        except StorageError:
            ids = [r.id for r in records if r.state is MessageState.SUBMITTING]
            log.warning("isobil: %d message(s) not sent stay submitting (storage failed)", len(ids))

    def _drop_repeated(self, audience: _Audience, campaign_id: str) -> None:
        """Turn the numbers an earlier chunk of the send already holds into duplicates."""
        for number in self.storage.campaign_recipients(campaign_id, audience.index_of):
            index = audience.index_of.pop(number, None)
            if index is None:  # not one of those asked for: whatever a backend answers
                continue
            audience.early[index] = RecipientOutcome(
                audience.entries[index],
                number,
                OutcomeStatus.DUPLICATE,
                reason="number already in this send",
            )
        audience.types = {n: kind for n, kind in audience.types.items() if n in audience.index_of}

    def _short_of_credits(
        self, exc: InsufficientCredits, campaign: Campaign, later: bool, offset: int
    ) -> InsufficientCredits:
        """A later chunk of a send the balance cannot cover: stop the send, say what went.

        A scheduled send is cancelled whole as the error goes up, as on any failure
        half stored (its reserved credits come back); an immediate one has sent its
        first chunks and stops before the rest.
        """
        if later:
            done = "the send was cancelled: nothing of it will go out"
        else:
            self.storage.set_campaign_status(campaign.id, CampaignStatus.DONE)
            done = f"the first {offset:,} entries of `to` were sent; the rest were not stored"
        return InsufficientCredits(
            f"{exc} (campaign {campaign.id}: {done})", needed=exc.needed, balance=exc.balance
        )

    def send_now(
        self,
        message: Message | str,
        to: Recipientish,
        *,
        acknowledge: Iterable[str] = (),
        conceal: str | None = None,
    ) -> RecipientOutcome:
        """Send ``message`` to one recipient at once and return its outcome: the
        transactional path for order updates, OTP codes and reminders.

        The same rules as :meth:`send` (a message-level error, or a warning not in
        ``acknowledge``, raises :class:`ComplianceError`; so do missing prepaid
        credits), the same record in storage — a campaign of one message that
        reports, credits and delivery receipts treat like any other — and the same
        receipts settle it. What makes it quick: one preflight (not a second
        re-check before submitting), the campaign and its message stored in one
        transaction, already leased to this client and ``submitting`` (a client that
        dies mid-submit leaves it ``unknown``, as :meth:`send` does), then the
        submit and one settling transaction; no dispatcher ever has to look at it.

        ``to`` is one number in any shape, or a :class:`Recipient`. The outcome is
        submitted, failed, unknown, blocked (with the rule ids; stored, never sent)
        or invalid (not a number; nothing stored).

        ``conceal`` is a secret in the text — a one-time code, a temporary password —
        that storage never holds: the message and its campaign are stored with every
        occurrence of it replaced by ``*``, and only the transport is handed the
        text as written. A secret the text does not contain raises
        :class:`InvalidValue` before anything is stored.
        """
        with _span("isobil.send_now", self.transport) as traced:
            outcome = self._drive(
                self._send_now(message, to, acknowledge=acknowledge, conceal=conceal)
            )
            traced.set(outcome=outcome.status.value)
            return outcome

    def _send_now(
        self,
        message: Message | str,
        to: Recipientish,
        *,
        acknowledge: Iterable[str],
        conceal: str | None = None,
    ) -> _Steps[RecipientOutcome]:
        self._check_open()
        if not isinstance(to, str | int | float | Recipient):
            raise InvalidValue(
                "send_now sends to one recipient (a number or a Recipient), got "
                f"{type(to).__name__}; use send() for several"
            )
        if conceal is not None and (not isinstance(conceal, str) or not conceal):
            raise InvalidValue("conceal must be a non-empty string (the secret in the text)")
        message = self._message(message)
        acknowledged = frozenset(acknowledge)
        audience = self._audience(to)
        if audience.early:
            [invalid] = audience.early.values()
            return invalid
        [(number, kind)] = audience.types.items()
        texts, report = self._cleared(message, audience, acknowledged)
        plan = texts.plan(number)
        if conceal is not None and conceal not in plan.text:
            raise InvalidValue("conceal: the text to send does not contain the secret to conceal")
        now = _now()
        # Done from the start: its one message is sent by this call, never by a
        # dispatcher, so no pass has to look at it.
        campaign = self._new_campaign(message, now, CampaignStatus.DONE)
        self.credits.reserve(campaign.id, report.credits)
        stopped = report.blocked.get(number, ())
        record = self._new_message(
            campaign.id, number, plan, report, uuid.uuid4().hex, None, now, now + self.lease
        )
        if conceal is not None:
            # Stored masked; the transport gets the plan, which is not stored.
            campaign = attrs.evolve(campaign, text=_masked(campaign.text, conceal))
            record = attrs.evolve(record, text=_masked(record.text, conceal))
        self.storage.create_campaign_with_messages(campaign, [record])
        self._note_campaign(campaign.id, message, acknowledged)
        if stopped:
            return RecipientOutcome(
                to,
                number,
                OutcomeStatus.BLOCKED,
                message_id=record.id,
                reason=record.reason,
                plan=plan,
                rule_ids=stopped,
            )
        flight = yield from self._hand_over(
            message,
            [record],
            {record.id: plan},
            {number: to},
            {number: kind},
        )
        [outcome] = yield from self._finish(flight)
        return outcome

    def dispatch(
        self,
        *,
        limit: int | None = None,
        now: datetime | None = None,
        progress: Callable[[int], None] | None = None,
        stop: Stop | None = None,
    ) -> DispatchReport:
        """Send what is due — queued messages of running campaigns and due schedules — until
        nothing is left (or ``limit`` messages were handled); return what happened.

        Safe with several workers on one storage: each message is claimed by one
        worker, and is ``submitting`` from the moment it is claimed. The messages a
        lost worker had claimed (at most two batches: the one in the transport and
        the next) become ``unknown`` once its lease ends, never resent blindly.
        ``progress``, when given, is called with the number of messages handled so
        far each time a batch is settled (batches are pipelined: the transport sends
        one while the next is claimed and checked).

        ``stop`` (a :class:`threading.Event`, or anything with ``is_set()``), once
        set, ends the pass early: no further batch is claimed, the batches handed to
        the transport are settled, and the report of what was done is returned — how
        ``isobil worker`` stops on SIGINT or SIGTERM without leaving messages to become
        ``unknown``. (From a signal handler, set a stop that takes no lock, not a
        :class:`threading.Event`: see ``isobil._stopping.Stopping``.)
        """
        with _span("isobil.dispatch", self.transport) as traced:
            steps = self._dispatch(limit=limit, now=now, progress=progress, stop=stop)
            return _dispatched(traced, self._drive(steps))

    def _dispatch(
        self,
        *,
        limit: int | None,
        now: datetime | None,
        progress: Callable[[int], None] | None = None,
        stop: Stop | None = None,
    ) -> _Steps[DispatchReport]:
        self._check_open()
        # In UTC: leases and due times are time elapsed, whatever zone now is in.
        now = None if now is None else aware(now, "now").astimezone(UTC)
        handled = 0
        counts: dict[OutcomeStatus, int] = {}
        lost: list[str] = []

        def housekeeping() -> None:
            # Schedules that came due, and the messages of workers whose lease ended.
            moment = now or _now()
            self.schedules.fire_due(moment)
            lost.extend(self.storage.expire_claims(now=moment))

        housekeeping()
        contexts: dict[str, _CampaignContext] = {}

        def claims() -> Iterator[list[OutboundMessage]]:
            nonlocal handled
            again = monotonic() + _HOUSEKEEPING
            while limit is None or handled < limit:
                if monotonic() >= again:  # a long pass does it again as it goes
                    housekeeping()
                    again = monotonic() + _HOUSEKEEPING
                size = self.batch_size if limit is None else min(self.batch_size, limit - handled)
                claimed = self.storage.claim_submitting(
                    worker=self.worker_id, limit=size, lease=self.lease, now=now or _now()
                )
                if not claimed:
                    return
                handled += len(claimed)
                yield claimed

        done = 0

        def settled(claimed: list[OutboundMessage], flights: Sequence[_InFlight]) -> None:
            nonlocal done
            for flight in flights:
                for status, n in flight.counts.items():
                    counts[status] = counts.get(status, 0) + n
            done += len(claimed)
            if progress is not None:
                progress(done)

        yield from self._pipelined(
            claims(), lambda claimed: self._start_claimed(claimed, contexts, now), settled, stop
        )
        self._finish_campaigns()
        return DispatchReport(handled, MappingProxyType(counts), tuple(lost))

    def _finish_campaigns(self) -> None:
        # Only running campaigns are read (an index): an idle pass costs the same
        # with ten past campaigns or a million.
        self.storage.finish_drained_campaigns()

    def cancel(self, campaign_id: str) -> int:
        """Cancel a campaign: nothing queued goes out; reserved credits come back."""
        self.storage.set_campaign_status(campaign_id, CampaignStatus.CANCELLED)
        return self.credits.settle_campaign(campaign_id)

    def _cancel_unsent(self, campaign_id: str) -> None:
        """:meth:`cancel` a scheduled send that failed half stored, best effort: storage
        may be what failed (the error that goes up is the first one)."""
        try:
            self.cancel(campaign_id)
        except StorageError:
            log.warning(
                "isobil: a scheduled send failed half stored and could not be cancelled: "
                "cancel campaign %s before it is due",
                campaign_id,
            )

    def pause(self, campaign_id: str) -> None:
        """Stop dispatching a campaign until :meth:`resume`."""
        self.storage.set_campaign_status(campaign_id, CampaignStatus.PAUSED)

    def resume(self, campaign_id: str) -> None:
        """Dispatch a paused campaign again."""
        self.storage.set_campaign_status(campaign_id, CampaignStatus.RUNNING)

    def _check_open(self) -> None:
        if self._closed:
            raise ConfigurationError("this Client is closed: create a new one to send")

    def _message(self, message: Message | str) -> Message:
        if isinstance(message, Message):
            return message
        brand = self.sender.brands[0].code if self.sender and len(self.sender.brands) == 1 else None
        return Message(message, brand=brand)

    def _lookup_size(self) -> int:
        """How many numbers to ask storage about at once (:attr:`Storage.lookup_size`)."""
        size = self.storage.lookup_size
        if type(size) is not int or size < 1:
            raise ConfigurationError(
                f"{type(self.storage).__name__}.lookup_size must be a positive int, got {size!r}"
            )
        return size

    def _audience(self, to: Iterable[Recipientish] | Recipientish) -> _Audience:
        # One recipient given bare is sent to, not iterated character by character.
        entries = [to] if isinstance(to, str | int | float | Recipient) else list(to)
        audience = _Audience(entries)
        known: dict[str, Recipient] = {}
        index_of, normalize = audience.index_of, phone.normalize
        for index, entry in enumerate(entries):
            try:
                number = entry.number if isinstance(entry, Recipient) else normalize(entry)
            except InvalidValue as exc:
                audience.early[index] = RecipientOutcome(
                    entry, None, OutcomeStatus.INVALID, reason=str(exc)
                )
                continue
            if number in index_of:
                audience.early[index] = RecipientOutcome(
                    entry, number, OutcomeStatus.DUPLICATE, reason="number already in this send"
                )
                continue
            index_of[number] = index
            if isinstance(entry, Recipient):
                known[number] = entry
        # Contacts share a few names and field values: the template values of each
        # distinct combination are made once and shared (read-only), which lets
        # _Rendering render each distinct combination once too.
        shared: dict[tuple[object, ...], Mapping[str, str]] = {}
        types, values = audience.types, audience.values

        def take(number: str, contact: Recipient) -> None:
            types[number] = contact.recipient_type
            key = (contact.name, contact.surname, contact.email, *contact.fields.items())
            found = shared.get(key)
            if found is None:
                found = shared[key] = MappingProxyType(dict(_template_values(contact)))
            values[number] = found

        # In the order of entries; a number not in the address book is BIREYSEL.
        types.update(dict.fromkeys(index_of, RecipientType.BIREYSEL))
        values.update(dict.fromkeys(index_of, _NO_VALUES))
        for number, contact in known.items():
            take(number, contact)
        # Numbers given bare take theirs from the address book, read a piece at a time:
        # each piece's contacts are done with before the next is read. Only the numbers
        # asked for, whatever a storage backend answers: no other number is checked or
        # sent to.
        bare = [n for n in index_of if n not in known]
        size = self._lookup_size()
        for start in range(0, len(bare), size):
            piece = bare[start : start + size]
            for number, contact in self.storage.get_contacts(piece).items():
                if number in index_of and number not in known:
                    take(number, contact)
        return audience

    def _message_facts(self, message: Message, as_of: date | None) -> MessageFacts:
        """The facts of the message; of a template, of the text every recipient shares.

        Evaluated now, or — with ``as_of`` — at the end of that day.
        """
        now = _now()
        day = as_of or now.astimezone(ISTANBUL).date()
        template = sms.Template(message.text)
        text = template.skeleton if template.personalised else message.text
        brand = self._brand_of(message)
        pulled = None if brand is None else iys_pulled_at(self.storage, brand)
        return MessageFacts(
            self.sender,
            message,
            day,
            self.rules_config,
            text=text,
            iys_pulled_at=pulled,
            checked_at=now if as_of is None else _day_end(as_of),
        )

    def _recipient_facts(
        self,
        message: Message,
        recipients: Mapping[str, RecipientType],
        missing: Callable[[str], tuple[str, ...]],
        history: frozenset[ConsentSource] | None,
        *,
        before: datetime | None = None,
    ) -> Iterator[RecipientFacts]:
        """Fill in consent, İYS, blacklist and history, in set-based lookups.

        ``recipients``: their numbers, each with its type.
        With ``before``, as they stood just before that moment (a dated check).
        ``previously_messaged`` is looked up for every recipient when ``history`` is
        ``None``, else only for those whose consent came from one of its sources
        (:meth:`RuleSet.history_read`: whose history the rules read); it stays
        ``False`` for the rest.
        """
        everyone = list(recipients)
        brand = self._brand_of(message)
        unknown, registration = IysRegistration.UNKNOWN, _IYS_REGISTRATION
        facts = trusted_recipient_facts
        evidence: Mapping[str, str]
        consent: ConsentStatus | None
        source: ConsentSource | None
        consent_date: datetime | None
        # A piece at a time: what is read for a piece (its consent states above all)
        # is done with once its facts are checked, and never piles up for the
        # garbage collector to walk.
        size = self._lookup_size()
        for start in range(0, len(everyone), size):
            numbers = everyone[start : start + size]
            blacklisted = self.storage.blacklisted(numbers, before=before)
            states = (
                self.consent.deciding(numbers, brand=brand, before=before)
                if brand is not None
                else {}
            )
            if history is None:
                asked = numbers
            else:
                asked = [n for n, state in states.items() if state.source in history]
            messaged = self.storage.messaged(asked) if asked else frozenset[str]()
            state_of = states.get
            for number in numbers:
                state = state_of(number)
                if state is None:
                    consent = source = consent_date = None
                    iys, evidence = unknown, {}
                else:
                    _, consent, source, consent_date, evidence, synced, _ = state
                    iys = unknown if synced is None else registration.get(synced, unknown)
                yield facts(
                    number,
                    recipients[number],
                    consent,
                    source,
                    consent_date,
                    iys,
                    number in blacklisted,
                    number in messaged,
                    missing(number),
                    evidence,
                )

    def _preflight(
        self,
        message: Message,
        facts: MessageFacts,
        recipients: Mapping[str, RecipientType],
        values: Mapping[str, Mapping[str, str]],
        *,
        acknowledge: Iterable[str],
        invalid: Mapping[str, str] | None = None,
        texts: _Rendering | None = None,
        before: datetime | None = None,
    ) -> PreflightReport:
        texts = texts or _Rendering(self, message, facts, values)
        filled = self._recipient_facts(
            message, recipients, texts.missing, self.rules.history_read(facts), before=before
        )
        return preflight(
            self.rules,
            facts,
            filled,
            parts=texts.parts,
            acknowledge=acknowledge,
            invalid=invalid,
            rendered=texts.facts_to_check if texts.template.personalised else None,
        )

    def _cleared(
        self,
        message: Message,
        audience: _Audience,
        acknowledged: frozenset[str],
        facts: MessageFacts | None = None,
    ) -> tuple[_Rendering, PreflightReport]:
        """Preflight a send now; raise :class:`ComplianceError` when it is refused."""
        facts = facts or self._message_facts(message, None)
        texts = _Rendering(self, message, facts, audience.values)
        report = self._preflight(
            message,
            facts,
            audience.types,
            audience.values,
            acknowledge=acknowledged,
            texts=texts,
        )
        if report.refused:
            raise ComplianceError(
                "the message may not be sent: "
                + "; ".join(f"{f.rule_id} {f.message}" for f in report.errors),
                report=report,
            )
        return texts, report

    def _brand_of(self, message: Message) -> str | None:
        if message.brand is not None:
            return message.brand
        if self.sender is not None and len(self.sender.brands) == 1:
            return self.sender.brands[0].code
        return None

    def _campaign_context(self, campaign_id: str) -> _CampaignContext:
        campaign = self.storage.get_campaign(campaign_id)
        if campaign is None:
            raise StorageError(f"messages refer to a missing campaign {campaign_id!r}")
        message = Message(
            campaign.text,
            category=campaign.category,
            brand=campaign.brand,
            relation=self.storage.get_state(f"campaign.{campaign_id}.relation"),
        )
        acknowledged = self.storage.get_state(f"campaign.{campaign_id}.acknowledge") or ""
        return _CampaignContext(
            message,
            self._message_facts(message, None),
            frozenset(filter(None, acknowledged.split(","))),
        )

    def _pipelined(
        self,
        batches: Iterable[B],
        start: Callable[[B], _Steps[list[_InFlight]]],
        settled: Callable[[B, Sequence[_InFlight]], None],
        stop: Stop | None = None,
    ) -> _Steps[None]:
        """Start each batch, then finish the one before it: the transport sends one batch
        while the next is prepared (taken from ``batches``, checked, stored), so the link
        does not idle between batches. ``settled`` gets each batch's flights, settled, in order.

        At most two batches are ``submitting`` at a time: a client killed mid-way
        leaves those (and only those) to become ``unknown`` when its lease ends. An
        error while preparing a batch settles the one in flight before it goes up.
        Once ``stop`` is set (a cancelled task, a signal, another thread), no further
        batch is taken: the ones handed over are finished and settled, and the steps end.
        """
        waiting: tuple[B, list[_InFlight]] | None = None
        try:
            for batch in _taken(batches, stop):
                started = yield from start(batch)
                # The batch just started is the one in flight from here on, so that an
                # error settling the one before it (``settled`` runs the caller's
                # progress callback) still settles this one below.
                previous, waiting = waiting, (batch, started)
                if previous is not None:
                    yield from self._finish_all(previous[1])
                    settled(*previous)
        except Exception:
            if waiting is not None:
                yield from self._finish_all(waiting[1])
            raise
        if waiting is not None:
            yield from self._finish_all(waiting[1])
            settled(*waiting)

    def _finish_all(self, flights: list[_InFlight]) -> _Steps[None]:
        for flight in flights:
            yield from self._finish(flight)

    def _start_claimed(
        self,
        messages: Sequence[OutboundMessage],
        contexts: dict[str, _CampaignContext],
        now: datetime | None,
    ) -> _Steps[list[_InFlight]]:
        """Re-check claimed messages campaign by campaign, then hand the sendable ones to
        the transport. ``contexts`` keeps each campaign's facts for the whole dispatch
        pass (read once)."""
        by_campaign: dict[str, list[OutboundMessage]] = {}
        for record in messages:
            by_campaign.setdefault(record.campaign_id, []).append(record)
        checked: list[tuple[Message, _Rechecked]] = []
        try:
            for campaign_id, records in by_campaign.items():
                context = contexts.get(campaign_id)
                if context is None:
                    context = contexts[campaign_id] = self._campaign_context(campaign_id)
                mine, plans, kinds, blocked = self._recheck(context, records, now)
                if not self._still_running(campaign_id, mine, now):
                    mine = []
                checked.append((context.message, (mine, plans, kinds, blocked)))
        except BaseException:
            # Claimed, so ``submitting``, and none handed over yet (nothing above
            # yields to the transport): back to the queue rather than left to become
            # ``unknown``, whatever stopped the re-check (an error, an interrupt).
            self._unsent(messages, now)
            raise
        started: list[_InFlight] = []
        for message, (mine, plans, kinds, blocked) in checked:
            flight = yield from self._hand_over(message, mine, plans, {}, kinds, kept=False)
            if blocked:  # a dispatch pass counts outcomes, it keeps none
                flight.counts[OutcomeStatus.BLOCKED] = blocked
            started.append(flight)
        return started

    def _still_running(
        self, campaign_id: str, mine: list[OutboundMessage], now: datetime | None
    ) -> bool:
        """Whether a claimed batch of ``campaign_id`` may go: a campaign paused or
        cancelled since the batch was claimed (its messages ``submitting``, out of
        the cancel's reach) takes it back — queued again without a lease (settled
        back: it goes as soon as the campaign is resumed), and cancelled with the
        rest of the campaign (its credits released) if the campaign was cancelled."""
        campaign = self.storage.get_campaign(campaign_id)
        if campaign is None or campaign.status is CampaignStatus.RUNNING:
            return True
        # A failure goes up: the caller puts the batch back, under its lease.
        self.storage.settle(
            [Settlement(r.id, MessageState.QUEUED) for r in mine], now=now or _now()
        )
        if campaign.status is CampaignStatus.CANCELLED:
            self.cancel(campaign_id)
        return False

    def _recheck(
        self,
        context: _CampaignContext,
        records: list[OutboundMessage],
        now: datetime | None,
    ) -> _Rechecked:
        """Re-check messages of one campaign claimed (``submitting``) by this client: block
        the ones the re-check stops; return the rest with their plans and recipient
        types, and how many were blocked.

        The recipient rules run again here, just before sending: an opt-out that
        arrived since the message was queued takes effect. Each distinct text is
        planned once; recipient types come from the address book.
        """
        moment = now or _now()
        message, facts = context.message, context.facts
        # Recipient types from the address book, as they are now: for the re-check
        # and for the transport (BIREYSEL for a number not in it).
        contacts = self.storage.get_contacts([r.to for r in records])
        types = {number: contact.recipient_type for number, contact in contacts.items()}
        kinds = {r.to: types.get(r.to, RecipientType.BIREYSEL) for r in records}
        # Everything was checked when the campaign was queued; what can change
        # since (an opt-out, the blacklist, İYS) is checked again now.
        report = preflight(
            self.rules,
            facts,
            self._recipient_facts(
                message,
                kinds,
                lambda number: (),
                self.rules.history_read(facts, recheck_only=True),
            ),
            parts=lambda number: 0,
            acknowledge=context.acknowledged,
            recheck_only=True,
        )
        blocked: dict[str, list[OutboundMessage]] = {}
        for record in records:
            if record.to in report.blocked:
                blocked.setdefault(_reasons(report, record.to), []).append(record)
        for why, group in blocked.items():
            moved = set(
                self.storage.transition(
                    [r.id for r in group],
                    MessageState.BLOCKED,
                    expected=MessageState.SUBMITTING,
                    worker=self.worker_id,
                    now=moment,
                    reason=why,
                )
            )
            # Only if this worker blocked it are its credits given back (not after
            # its lease ran out into unknown, nor after a cancel released them).
            self.credits.release_many(
                [r for r in group if r.id in moved], reason="blocked at dispatch"
            )
        mine = [r for r in records if r.to not in report.blocked]
        plans = {r.id: context.plan(r.text, self.plan) for r in mine}
        recounted = [r for r in mine if plans[r.id].parts != r.parts]
        if recounted:
            log.warning(
                "isobil: %d message(s) go out in other parts than were counted and reserved when "
                "queued (campaign %s): this worker plans with national_shift=%s, "
                "fixed_split=%s, operator_suffix=%s",
                len(recounted),
                recounted[0].campaign_id,
                self.national_shift,
                self.transport.fixed_split,
                self.operator_suffix,
            )
        return mine, plans, kinds, sum(map(len, blocked.values()))

    def _hand_over(
        self,
        message: Message,
        mine: Sequence[OutboundMessage],
        plans: Mapping[str, sms.SegmentPlan],
        inputs: Mapping[str, object],
        recipient_types: Mapping[str, RecipientType],
        *,
        kept: bool = True,
    ) -> _Steps[_InFlight]:
        """Hand messages ``submitting`` under this client's lease to the transport, without
        waiting: the driver submits them while the caller prepares the next batch."""
        batch = self._outbound(message, mine, plans, recipient_types) if mine else []
        if batch:
            yield batch
        return _InFlight(mine, batch, plans, inputs, kept)

    def _finish(self, flight: _InFlight) -> _Steps[list[RecipientOutcome]]:
        """Wait for the transport's answer to a batch handed over, and settle it in one
        transaction; one outcome each (counted; kept if ``flight.kept``). ``send``,
        ``dispatch`` and ``send_now`` end here."""
        outcomes, mine, plans, counts = flight.outcomes, flight.mine, flight.plans, flight.counts
        if not mine:
            return outcomes
        # The driver answers a collect with the batch's answer, never None.
        answer = cast("list[SubmitResult] | TransportError", (yield _COLLECT))
        results = self._results(flight.batch, answer)
        settlements: list[Settlement] = []
        failed: list[tuple[OutboundMessage, MessageState]] = []  # credits back once settled
        inputs, outcome, settlement = flight.inputs.get, _trusted_outcome, _trusted_settlement
        submitted = (OutcomeStatus.SUBMITTED, MessageState.SUBMITTED)
        kept, credits = flight.kept, 0
        for record, result in zip(mine, results, strict=True):
            error, provider_id = result.error, result.provider_id
            if error is None:
                status, state = submitted
                reason = code = None
                credits += plans[record.id].parts
            else:
                status, state = _settled_as(error)
                reason, code = str(error), getattr(error, "code", None)
                failed.append((record, state))
            settlements.append(
                settlement(
                    message_id=record.id,
                    state=state,
                    provider_id=provider_id,
                    error_code=code,
                    reason=reason,
                    part_ids=tuple(result.part_ids),  # a look-alike result's list too
                )
            )
            counts[status] = counts.get(status, 0) + 1
            if kept:
                outcomes.append(
                    outcome(
                        input=inputs(record.to),
                        number=record.to,
                        status=status,
                        message_id=record.id,
                        provider_id=provider_id,
                        reason=reason,
                        plan=plans[record.id],
                        rule_ids=_OPTED_OUT_RULES if state is MessageState.BLOCKED else (),
                    )
                )
        flight.credits += credits
        # The whole batch is settled in one transaction.
        settled = set(self.storage.settle(settlements, now=_now()))
        # A message whose lease expired into unknown meanwhile is charged, not released.
        if failed:
            for state, why in _RELEASED_AT_SUBMIT.items():
                self.credits.release_many(
                    [r for r, s in failed if s is state and r.id in settled], reason=why
                )
        # Receipts read before this settle (a fast SMSC, or another process's bind)
        # were held in storage: they apply now, whichever process read them.
        self._apply_held(
            part_id
            for result, settlement in zip(results, settlements, strict=True)
            if settlement.state is MessageState.SUBMITTED
            for part_id in (result.part_ids or (result.provider_id,))
            if part_id is not None
        )
        return outcomes

    def _outbound(
        self,
        message: Message,
        records: Sequence[OutboundMessage],
        plans: Mapping[str, sms.SegmentPlan],
        recipient_types: Mapping[str, RecipientType],
    ) -> list[OutboundSms]:
        """What the transport gets: each message with what a provider checks and bills by.

        The originator is the brand's (:attr:`Brand.originator`), else the sender's.
        The recipient type comes from ``recipient_types`` (BIREYSEL for a number not
        in it: the type whose commercial messages İYS checks for consent).
        """
        brand = self._brand_of(message)
        originator = self.sender.originator_of(brand) if self.sender else None
        iys_code = None
        if brand is not None and self.sender is not None:
            iys_code = next((b.iys_code for b in self.sender.all_brands if b.code == brand), None)
        category, validity, bireysel = message.category, self.validity, RecipientType.BIREYSEL
        return [
            _trusted_sms(
                id=r.id,
                to=r.to,
                plan=plans[r.id],
                originator=originator,
                request_receipt=True,
                category=category,
                brand=brand,
                iys_code=iys_code,
                recipient_type=recipient_types.get(r.to, bireysel),
                validity=validity,
                send_at=None,  # the client queues and schedules itself
            )
            for r in records
        ]

    def _drive(self, steps: _Steps[T]) -> T:
        """Run ``steps``: each batch they yield is submitted in this client's submit
        thread while they go on; ``_COLLECT`` waits for the oldest batch's answer."""
        in_flight: deque[Future[list[SubmitResult] | TransportError]] = deque()
        answer: list[SubmitResult] | TransportError | None = None
        try:
            while True:
                done, value = _advance(steps, answer)
                if done:
                    return value  # type: ignore[return-value]
                answer = None
                if isinstance(value, _Collect):
                    answer = in_flight.popleft().result()
                elif getattr(self._submitting, "active", False):
                    # A transport handler sending from within a submit (an auto
                    # reply, say): the submit thread is busy with the caller.
                    done_now: Future[list[SubmitResult] | TransportError] = Future()
                    done_now.set_result(self._submit_batch(cast(list[OutboundSms], value)))
                    in_flight.append(done_now)
                else:
                    batch = cast(list[OutboundSms], value)
                    # In the caller's context: the submit's span is a child of the send's.
                    run = contextvars.copy_context().run
                    in_flight.append(self._submit_thread().submit(run, self._submit_batch, batch))
        finally:
            # Steps that stopped (an error) with a batch in flight: let the submit end
            # before the caller goes on; its messages stay ``submitting`` → unknown.
            futures.wait(in_flight)

    def _submit_thread(self) -> ThreadPoolExecutor:
        if self._submits_pid != os.getpid():
            # A forked worker (Celery prefork, say) has none of its parent's threads.
            self._submits, self._submits_pid = _submit_thread(), os.getpid()
        return self._submits

    def _submit_batch(self, batch: list[OutboundSms]) -> list[SubmitResult] | TransportError:
        # Nested (a handler sending from within a submit, inline on this thread): the
        # outer submit is still going when this one ends, and a second send of the same
        # handler must go inline too, not queue behind the submit it is part of.
        outer = getattr(self._submitting, "active", False)
        self._submitting.active = True
        try:
            with _span("isobil.submit", self.transport, messages=len(batch)) as traced:
                answer: list[SubmitResult] | TransportError
                try:
                    answer = self.transport.submit(batch)
                except TransportError as exc:
                    answer = exc
                _submitted(traced, answer)
                return answer
        finally:
            self._submitting.active = outer

    def _results(
        self, batch: list[OutboundSms], answer: list[SubmitResult] | TransportError
    ) -> list[SubmitResult]:
        """The transport's answer to ``batch``: one result per message, in order."""
        if isinstance(answer, TransportError):
            log.warning("isobil: transport failed for a batch of %d: %s", len(batch), answer)
            return [SubmitResult(o.id, error=answer) for o in batch]
        results = answer
        if len(results) != len(batch):
            raise TransportError(
                f"{type(self.transport).__name__} returned {len(results)} results "
                f"for {len(batch)} messages"
            )
        return results

    # -- what came back -----------------------------------------------------

    def callbacks(
        self,
        secret: str,
        *,
        auth: CallbackAuth | None = None,
        username: str = "isobil",
        **options: Any,
    ) -> CallbackApp:
        """The receiver of this client's provider pushes, to mount in a web app.

        A :class:`~isobil.transport.CallbackApp` on the client's
        :class:`~isobil.transport.HttpTransport` (``auth`` defaults to the
        adapter's): delivery reports settle this client's messages and inbound
        texts reach its consent ledger. Handled signed pushes are remembered in the
        client's storage, so every process serving callbacks on that database
        refuses a replay. ``options`` go to :class:`CallbackApp` (``max_body``,
        ``replay_window``).
        """
        if not isinstance(self.transport, HttpTransport):
            raise ConfigurationError(
                "callbacks come from an HTTP provider; this client sends through "
                f"{type(self.transport).__name__}"
            )
        return CallbackApp(
            self.transport,
            secret=secret,
            auth=auth,
            username=username,
            replay_store=self.storage,
            **options,
        )

    def message(self, message_id: str) -> OutboundMessage:
        """The current record of a message, by isobil's id."""
        found = self.storage.get_message(message_id)
        if found is None:
            raise InvalidValue(f"no message with id {message_id!r}")
        return found

    def on_inbound(self, callback: InboundCallback) -> None:
        """Call ``callback`` with every delivery report and inbound message, after isobil.

        A callback that raises is logged; the event stays recorded and the other
        callbacks still run.
        """
        self._callbacks.append(callback)

    def _send_reply(
        self, number: str, text: str, brand: str, /, *, message_id: str | None = None
    ) -> str | None:
        """Send an auto reply or confirmation; these are notices the law requires.

        ``message_id`` is the id the reply is stored under (an auto reply's comes
        from its inbound message, so that a retry finds it and sends no other).
        """
        message = Message(text, category=MessageCategory.LEGALLY_REQUIRED, brand=brand or None)
        steps = self._send(
            message, [number], at=None, acknowledge=(), name=None, message_id=message_id
        )
        [outcome] = self._drive(steps).outcomes
        if outcome.status is not OutcomeStatus.SUBMITTED:
            log.warning("isobil: auto reply to %s not sent: %s", phone.mask(number), outcome.reason)
        return outcome.message_id

    def _low_credit_alert(self, balance: int) -> None:
        if self.owner_phone is None:
            return
        name = self.sender.name if self.sender else "isobil"
        text = f"{name}: SMS krediniz azaldı, kalan bakiye {balance} kredi."
        notice = Message(text, category=MessageCategory.INFORMATIONAL)
        self.send(notice, to=[self.owner_phone])

    def _confirm_consent(self, event: ConsentEvent) -> None:
        """Send the same-day confirmation when consent was taken electronically (R-CONSENT)."""
        template = self.replies.confirmation
        if (
            template is None
            or event.status is not ConsentStatus.ONAY
            or event.source not in ELECTRONIC_SOURCES
            or event.channel is not Channel.MESAJ
            or "@" in event.address
        ):
            return
        given = event.consent_date.astimezone(ISTANBUL).date()
        if given != _now().astimezone(ISTANBUL).date():
            return  # an imported history: its "same day" has passed
        number = (self.sender.short_number or self.sender.contact or "") if self.sender else ""
        text = template.format(brand=event.brand, number=number, date=given.strftime("%d.%m.%Y"))
        self._send_reply(event.address, text, event.brand)

    def _apply_report(self, record: DeliveryReportRecord) -> None:
        changed = self.storage.apply_delivery_report(record)
        # apply_delivery_report answers only for the report that changed the
        # state, so a repeated report never refunds twice.
        if changed is not None and changed.state in _REFUNDED:
            self.credits.refund(changed, reason=f"delivery report: {changed.state.value}")
        if changed is None:
            self._apply_held([record.provider_id])

    def _apply_held(self, provider_ids: Iterable[str]) -> None:
        """Apply the reports storage holds for ``provider_ids`` that name a message now.

        A receipt read before its message (or part) was settled is recorded and
        held in storage, not here: the settle may happen in another process (the
        SMSC handed the receipt to another bind), and this one may restart. The
        settling process asks after its settle, the receiving one after it
        recorded the receipt: whichever comes second finds the other's work, and
        storage applies each held report once.
        """
        changed = self.storage.apply_held_reports(provider_ids)
        # Only the report that changed a message answers, so nothing is refunded twice.
        for state in sorted(_REFUNDED):
            refunded = [m for m in changed if m.state is state]
            if refunded:
                self.credits.refund_many(refunded, reason=f"delivery report: {state.value}")

    @staticmethod
    def _record(event: DeliveryReport) -> DeliveryReportRecord:
        return DeliveryReportRecord(
            event.provider_id,
            event.status.value,
            event.done_at or _now(),
            error_code=event.error_code,
        )

    def poll(self, *, now: datetime | None = None) -> int:
        """Pull delivery reports and inbound texts from a provider that does not push
        them (Netgsm); return how many events came back. ``isobil worker`` calls it
        every pass; with a transport whose peer pushes (``transport.polls`` false)
        it does nothing.

        The provider is asked about the messages still waiting for a report that
        were submitted in the last :data:`POLL_WINDOW`, and for the inbound texts
        since the previous poll began (with a few minutes' overlap: a text seen
        twice is recognised by its provider id and handled once).
        """
        self._check_open()
        if not self.transport.polls:
            return 0
        # In UTC: an hour's arithmetic in a zone with summer time is wall-clock time.
        moment = (aware(now, "now", optional=True) or _now()).astimezone(UTC)
        stored = self.storage.get_state(_POLL_STATE)
        since = datetime.fromisoformat(stored) if stored else moment - POLL_WINDOW
        pending = self.storage.awaiting_reports(since=moment - POLL_WINDOW)
        count = self.transport.poll(pending, since)
        self.storage.set_state(_POLL_STATE, (moment - _POLL_OVERLAP).isoformat())
        return count

    def _on_event(self, event: InboundEvent) -> None:
        if isinstance(event, InboundSms):
            # Handled once: a copy handled before is ignored, one whose handling
            # failed part-way is resumed (InboundProcessor.handle_new).
            handled = self.inbound.handle_new(
                event.from_,
                event.to,
                event.text,
                received_at=event.received_at,
                provider_id=event.provider_id,
            )
            if handled is None:
                log.info("isobil: inbound text %s was handled before; ignored", event.provider_id)
                return
        if isinstance(event, DeliveryReport):
            self._apply_report(self._record(event))
        self._notify(event)

    def _notify(self, event: InboundEvent) -> None:
        """Hand ``event`` to the ``on_inbound`` callbacks; one that fails is logged.

        isobil has recorded the event by then: a failing callback must not undo
        that, stop the other callbacks, or make a transport hand the event over
        again.
        """
        for callback in self._callbacks:
            try:
                callback(event)
            except Exception:
                log.exception("isobil: an on_inbound callback failed on %s", type(event).__name__)

    def _on_events(self, events: Sequence[InboundEvent]) -> None:
        """A burst of events: delivery reports are applied in one transaction."""
        reports = [e for e in events if isinstance(e, DeliveryReport)]
        if len(reports) < 2:
            for event in events:
                self._on_event(event)
            return
        records = [self._record(e) for e in reports]
        changed = self.storage.apply_delivery_reports(records)
        # Only the report that changed a message answers, so nothing is refunded twice.
        for state in sorted(_REFUNDED):
            refunded = [m for m in changed if m.state is state]
            if refunded:
                self.credits.refund_many(refunded, reason=f"delivery report: {state.value}")
        # Reports whose message (or part) was not settled yet were held in storage;
        # one settled meanwhile, here or elsewhere, gets its report now.
        settled = {m.provider_id for m in changed}
        self._apply_held(r.provider_id for r in records if r.provider_id not in settled)
        for event in events:
            if isinstance(event, InboundSms):
                self._on_event(event)
            else:
                self._notify(event)

    # -- lifetime -----------------------------------------------------------

    def close(self) -> None:
        """Detach from and close the transport (and owned storage). Calling it twice is harmless."""
        if not self._closed:
            self._closed = True
            self.transport.set_inbound_handler(None)
            self.transport.set_last_look(None)
            self._submits.shutdown(wait=True)
            self.transport.close()
            if self._owns_storage:
                self.storage.close()

    def __repr__(self) -> str:
        name = self.sender.name if self.sender else None
        return f"<Client sender={name!r} transport={self.transport!r} storage={self.storage!r}>"
