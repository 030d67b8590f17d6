"""The storage contract: everything isobil keeps, behind one interface."""

from __future__ import annotations

import abc
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from isobil._resource import Resource
from isobil.model import (
    Channel,
    ConsentEvent,
    ConsentSource,
    ConsentStatus,
    Recipient,
    RecipientType,
    trusted_recipient,
)
from isobil.storage._records import (
    BlacklistEntry,
    Campaign,
    CampaignStatus,
    CreditEntry,
    DeliveryReportRecord,
    InboundRecord,
    IysSync,
    IysSyncStatus,
    MessagePart,
    MessageState,
    MessageStats,
    OtpRecord,
    OutboundMessage,
    Schedule,
    ScheduleStatus,
    Settlement,
    Template,
    UpsertResult,
)

__all__ = ["ContactRow", "DecidingConsent", "Sealer", "Storage"]

#: A contact as checked, normalised values: (number in E.164, name, surname, e-mail,
#: custom fields, recipient type) — what :meth:`Storage.upsert_contact_rows` takes.
ContactRow = tuple[str, str | None, str | None, str | None, dict[str, str], RecipientType]

#: Computes an event's hash from the previous event's hash (``None`` for the first).
#: The consent ledger passes one to :meth:`Storage.append_consent_events`, which
#: calls it inside the append's transaction so the chain has no gaps or forks.
Sealer = Callable[[str | None, ConsentEvent], str]


class DecidingConsent(NamedTuple):
    """What a preflight reads of an address's deciding consent event, and of its İYS record.

    What :meth:`Storage.consent_states_with_iys` answers: the event's ``seq``, status,
    source, date and proof, with the status and time of its İYS sync record
    (both ``None`` when it has none).
    """

    seq: int
    status: ConsentStatus
    source: ConsentSource
    consent_date: datetime
    evidence: Mapping[str, str]
    iys_status: IysSyncStatus | None
    iys_updated_at: datetime | None

    @classmethod
    def from_event(cls, event: ConsentEvent, record: IysSync | None = None) -> DecidingConsent:
        """What ``event`` decides, with the status and time of its İYS sync ``record``.

        The one place a deciding consent is made of a stored event (``None``: no record).
        """
        # tuple.__new__, not the NamedTuple's own: this runs once per recipient of an audience.
        return tuple.__new__(
            cls,
            (
                event.seq or 0,
                event.status,
                event.source,
                event.consent_date,
                event.evidence,
                None if record is None else record.status,
                None if record is None else record.updated_at,
            ),
        )


class Storage(Resource, abc.ABC):
    """Persistence for contacts, consent, campaigns, credits and schedules.

    Every backend passes the same contract suite (``isobil.testing.storage``).
    The promises that matter most:

    * Bulk calls (``upsert_contacts``, ``consent_states``, ``blacklisted``,
      ``add_messages``, ``settle``, ``apply_delivery_reports``,
      ``append_credits``) are set-based: one call for a million rows, not a
      million calls.
    * Consent events and credit entries are append-only: nothing in this
      interface updates or deletes them.
    * ``claim_submitting`` hands each due message to exactly one worker, across
      processes (and machines, on PostgreSQL), and marks it ``submitting`` in the
      same statement; a message whose worker's lease runs out becomes ``unknown``
      (``expire_claims``), never sent twice.
    * Message states move only along :data:`~isobil.storage.TRANSITIONS`.
    * Times are timezone-aware; they come back in UTC.
    * Failures of the database surface as :class:`~isobil.StorageError`.
    """

    @property
    def lookup_size(self) -> int:
        """How many numbers a client asks about in one lookup (contacts, blacklist,
        consent states) when it checks a large audience; what it reads for one piece
        is done with before the next is read. Small where a lookup is cheap (in the
        process: fewer records alive at once, and Python's garbage collector frees
        them young instead of walking them again and again), large where each lookup
        is a round trip to a server. A positive ``int``; override it in a backend."""
        return 10_000

    # -- contacts and groups ------------------------------------------------

    @abc.abstractmethod
    def upsert_contacts(
        self, contacts: Iterable[Recipient], *, group: str | None = None
    ) -> UpsertResult:
        """Insert new contacts and update existing ones (by number), in one call.

        With ``group``, every given contact also joins that group. A number given
        twice in one call is stored once, with the later values.
        """

    def upsert_contact_rows(
        self, rows: Iterable[ContactRow], *, group: str | None = None
    ) -> UpsertResult:
        """:meth:`upsert_contacts` for contacts already checked and normalised, as tuples.

        The lean path of bulk writers such as the contact import: no
        :class:`~isobil.model.Recipient` is built where the storage can write the
        values as they are. Not for input from outside (nothing is checked).
        """
        return self.upsert_contacts((trusted_recipient(*row) for row in rows), group=group)

    @abc.abstractmethod
    def get_contacts(self, numbers: Iterable[str]) -> dict[str, Recipient]:
        """The stored contacts among ``numbers`` (E.164), by number."""

    @abc.abstractmethod
    def iter_contacts(self, *, group: str | None = None) -> Iterator[Recipient]:
        """Every contact (or every member of ``group``), ordered by number."""

    @abc.abstractmethod
    def find_contacts(self, text: str, *, limit: int = 100) -> list[Recipient]:
        """Contacts whose name, surname or number contains ``text`` (case-insensitive)."""

    @abc.abstractmethod
    def count_contacts(self, *, group: str | None = None) -> int:
        """How many contacts there are (in ``group``)."""

    @abc.abstractmethod
    def delete_contacts(self, numbers: Iterable[str]) -> int:
        """Remove contacts and their group memberships; return how many existed."""

    @abc.abstractmethod
    def add_to_group(self, group: str, numbers: Iterable[str]) -> int:
        """Add existing contacts to ``group``; return how many were newly added."""

    @abc.abstractmethod
    def remove_from_group(self, group: str, numbers: Iterable[str]) -> int:
        """Remove contacts from ``group``; return how many were members."""

    @abc.abstractmethod
    def groups(self) -> dict[str, int]:
        """Every group with its member count."""

    @abc.abstractmethod
    def groups_of(self, number: str) -> set[str]:
        """The groups a contact belongs to."""

    # -- blacklist ----------------------------------------------------------

    @abc.abstractmethod
    def add_to_blacklist(self, entries: Iterable[BlacklistEntry]) -> int:
        """Blacklist numbers (an existing entry is replaced); return how many were new."""

    @abc.abstractmethod
    def remove_from_blacklist(self, numbers: Iterable[str]) -> int:
        """Take numbers off the blacklist; return how many were on it."""

    @abc.abstractmethod
    def blacklisted(self, numbers: Iterable[str], *, before: datetime | None = None) -> set[str]:
        """Which of ``numbers`` are blacklisted, in one set-based lookup.

        With ``before``, only entries added before that moment count (a dated check).
        """

    @abc.abstractmethod
    def iter_blacklist(self) -> Iterator[BlacklistEntry]:
        """Every blacklist entry, ordered by number."""

    # -- consent events (append-only) ----------------------------------------

    @abc.abstractmethod
    def append_consent_events(
        self, events: Sequence[ConsentEvent], seal: Sealer | None = None
    ) -> list[ConsentEvent]:
        """Append events atomically and return them with ``seq`` (and ``hash``) set.

        ``seq`` increases by one per event across the whole ledger. With ``seal``,
        each event's hash is ``seal(previous_hash, event_with_seq)``, computed
        while appends are serialised, so concurrent writers cannot fork the chain;
        ``previous_hash`` is stored with it as ``prev_hash``, so a verifier can
        tell an event changed in place from a link broken by a change before it.
        """

    @abc.abstractmethod
    def iter_consent_events(
        self, *, address: str | None = None, after_seq: int = 0
    ) -> Iterator[ConsentEvent]:
        """Stored events in ``seq`` order (of one address), after ``after_seq``."""

    @abc.abstractmethod
    def consent_states(
        self,
        addresses: Iterable[str],
        *,
        brand: str | Collection[str],
        channel: Channel = Channel.MESAJ,
        before: datetime | None = None,
        sources: Collection[ConsentSource] | None = None,
    ) -> dict[str, ConsentEvent]:
        """The event that decides each address's state for ``brand`` and ``channel``.

        In one set-based query: for each address with any event, the latest by
        ``consent_date`` (ties broken by ``seq``); a RET at the same instant as an
        ONAY wins. Addresses without events are absent from the result.
        ``brand`` may name several brands whose events decide together (a consent
        shared by a brand and its dealers). Only events whose ``consent_date`` is
        before ``before`` count when it is given, and only events from ``sources``
        when those are given. The result's order is unspecified (a backend may
        answer in the order its query finds the rows): look addresses up by key.
        """

    def consent_states_with_iys(
        self,
        addresses: Iterable[str],
        *,
        brand: str | Collection[str],
        channel: Channel = Channel.MESAJ,
        before: datetime | None = None,
    ) -> dict[str, DecidingConsent]:
        """:meth:`consent_states` with each event's İYS sync record, lean: one per audience.

        The same deciding events (and ``brand``, ``channel``, ``before``), each
        with the status and time of its :meth:`iys_sync` record as stored (not
        filtered by ``before``). The result's order is unspecified, as there.
        This default reads both; a backend may answer in one query, without
        building a :class:`ConsentEvent` per address.
        """
        deciding = self.consent_states(addresses, brand=brand, channel=channel, before=before)
        synced = self.iys_sync(e.seq for e in deciding.values() if e.seq is not None)
        return {
            address: DecidingConsent.from_event(event, synced.get(event.seq or 0))
            for address, event in deciding.items()
        }

    @abc.abstractmethod
    def set_iys_sync(self, records: Iterable[IysSync]) -> None:
        """Record where consent events stand with İYS (replacing earlier records)."""

    @abc.abstractmethod
    def iys_sync(self, seqs: Iterable[int]) -> dict[int, IysSync]:
        """The İYS sync records of these events, by ``seq`` (absent: never synced)."""

    @abc.abstractmethod
    def iter_unsynced_consent_events(
        self, *, brand: str | None = None, limit: int | None = None
    ) -> Iterator[ConsentEvent]:
        """Events (of ``brand``) with no İYS sync record yet, in ``seq`` order: what to push."""

    @abc.abstractmethod
    def iter_iys_pending(self) -> Iterator[IysSync]:
        """Sync records still ``pending`` (pushed, result unknown), by request id then ``seq``."""

    # -- small named state ---------------------------------------------------

    @abc.abstractmethod
    def get_state(self, key: str) -> str | None:
        """A value kept under ``key`` (a sync cursor, an alert flag), or ``None``."""

    @abc.abstractmethod
    def set_state(self, key: str, value: str | None) -> None:
        """Keep ``value`` under ``key`` (``None`` removes it)."""

    @abc.abstractmethod
    def mark_seen(self, key: str, expires_at: datetime) -> bool:
        """Remember ``key`` until ``expires_at``; ``True`` only the first time.

        Atomic across every process sharing the storage: of many concurrent calls
        with one key, exactly one gets ``True``. A key whose time has passed counts
        as unseen. The callback receiver keys signed pushes on this, so a replay is
        refused whichever worker it reaches.
        """

    @abc.abstractmethod
    def unmark_seen(self, key: str) -> None:
        """Forget ``key`` (its push failed and will be sent again)."""

    # -- one-time codes (isobil.otp) -----------------------------------------

    @abc.abstractmethod
    def add_otp(
        self, record: OtpRecord, *, limits: Sequence[tuple[timedelta, int]]
    ) -> datetime | None:
        """Keep a new code unless its number is over a limit; ``None`` when kept.

        ``limits`` are ``(window, most)`` pairs: the code is refused when its
        number already has ``most`` codes created less than ``window`` before
        ``record.created_at``. Counting and inserting are one atomic step across
        every process sharing the storage, so concurrent sends to one number never
        exceed a limit. A refusal returns the moment every limit lets a code in.
        """

    @abc.abstractmethod
    def latest_otp(self, number: str) -> OtpRecord | None:
        """The newest code kept for ``number`` (by ``created_at``), used or not."""

    @abc.abstractmethod
    def use_otp(self, otp_id: str, *, now: datetime, max_attempts: int) -> bool:
        """Mark a code used; ``True`` only for the one caller that did.

        A code used already, expired at ``now``, or with ``max_attempts`` wrong
        attempts is not used. Atomic: of concurrent calls for one code, across
        processes, at most one gets ``True``.
        """

    @abc.abstractmethod
    def fail_otp(self, otp_id: str) -> int:
        """Count one wrong attempt against an unused code; return its attempts now
        (0 when no unused code has this id). Concurrent calls each count."""

    @abc.abstractmethod
    def purge_otp(self, *, created_before: datetime, now: datetime) -> int:
        """Delete the codes created before ``created_before`` that expired by ``now``;
        return how many."""

    @abc.abstractmethod
    def redact_campaign_text(self, campaign_id: str, secret: str, replacement: str) -> int:
        """Replace ``secret`` by ``replacement`` in the stored text of a campaign and
        of its messages (a one-time code, once its message has gone); return how
        many messages changed."""

    # -- inbound messages ---------------------------------------------------

    @abc.abstractmethod
    def record_inbound(self, record: InboundRecord) -> None:
        """Keep an inbound message and what was made of it; raises
        :class:`~isobil.errors.InvalidValue` if its id is kept already."""

    @abc.abstractmethod
    def get_inbound(self, inbound_id: str) -> InboundRecord | None:
        """The inbound message kept under ``inbound_id``, if any."""

    @abc.abstractmethod
    def finish_inbound(self, record: InboundRecord) -> None:
        """Store what was made of a kept inbound message: its ``consent_seqs``,
        ``reply_id`` and ``handled_at`` (the rest of a kept message never changes)."""

    @abc.abstractmethod
    def iter_inbound(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> Iterator[InboundRecord]:
        """Inbound messages received in [since, until), oldest first."""

    @abc.abstractmethod
    def inbound_seen(self, provider_ids: Iterable[str]) -> set[str]:
        """Which of ``provider_ids`` belong to inbound messages already kept."""

    # -- templates ----------------------------------------------------------

    @abc.abstractmethod
    def save_template(self, template: Template) -> None:
        """Create or replace the template with this name."""

    @abc.abstractmethod
    def get_template(self, name: str) -> Template | None:
        """The template with this name, if any."""

    @abc.abstractmethod
    def list_templates(self) -> list[Template]:
        """Every template, ordered by name."""

    @abc.abstractmethod
    def delete_template(self, name: str) -> bool:
        """Delete a template; return whether it existed."""

    # -- campaigns and their messages ----------------------------------------

    @abc.abstractmethod
    def create_campaign(self, campaign: Campaign) -> None:
        """Store a new campaign (its id must be new)."""

    @abc.abstractmethod
    def get_campaign(self, campaign_id: str) -> Campaign | None:
        """The campaign with this id, if any."""

    @abc.abstractmethod
    def list_campaigns(self) -> list[Campaign]:
        """Every campaign, newest first."""

    @abc.abstractmethod
    def set_campaign_status(self, campaign_id: str, status: CampaignStatus) -> None:
        """Change a campaign's status; cancelling also cancels its queued messages."""

    def finish_drained_campaigns(self) -> list[str]:
        """Mark ``done`` every ``running`` campaign that has messages and none left
        ``queued`` or ``submitting``; return their ids.

        What a dispatcher pass does last. A backend should answer from the running
        campaigns alone (an index), so that an idle pass costs the same however
        many finished campaigns are kept; this default reads every campaign.
        """
        finished = []
        for campaign in self.list_campaigns():
            if campaign.status is CampaignStatus.RUNNING:
                counts = self.message_counts(campaign.id)
                pending = counts.get(MessageState.QUEUED) or counts.get(MessageState.SUBMITTING)
                if counts and not pending:
                    self.set_campaign_status(campaign.id, CampaignStatus.DONE)
                    finished.append(campaign.id)
        return finished

    def create_campaign_with_messages(
        self, campaign: Campaign, messages: Sequence[OutboundMessage]
    ) -> None:
        """Store a new campaign and its messages, in one transaction where the backend
        has them (as :meth:`create_campaign` then :meth:`add_messages`).

        The transactional path (``Client.send_now``) stores a send with this: one
        write instead of two.
        """
        self.create_campaign(campaign)
        self.add_messages(messages)

    @abc.abstractmethod
    def add_messages(self, messages: Iterable[OutboundMessage]) -> int:
        """Store new messages in bulk; return how many."""

    @abc.abstractmethod
    def get_message(self, message_id: str) -> OutboundMessage | None:
        """The message with this id, if any."""

    @abc.abstractmethod
    def message_by_provider_id(self, provider_id: str) -> OutboundMessage | None:
        """The message the transport accepted under ``provider_id`` (or under which
        one of its parts was accepted with that id), if any."""

    @abc.abstractmethod
    def message_parts(self, message_id: str) -> list[MessagePart]:
        """The parts of a long message kept when it was settled, in order (else empty)."""

    @abc.abstractmethod
    def iter_messages(
        self, campaign_id: str, *, state: MessageState | None = None
    ) -> Iterator[OutboundMessage]:
        """A campaign's messages (in one state), ordered by id."""

    @abc.abstractmethod
    def awaiting_reports(self, *, since: datetime, limit: int = 10_000) -> list[str]:
        """Provider ids of messages ``submitted`` at or after ``since`` and still
        waiting for a final delivery report, oldest first, at most ``limit``."""

    @abc.abstractmethod
    def messaged(self, numbers: Iterable[str]) -> set[str]:
        """Which of ``numbers`` were ever sent a message (submitted, whatever came after)."""

    @abc.abstractmethod
    def campaign_recipients(self, campaign_id: str, numbers: Iterable[str]) -> set[str]:
        """Which of ``numbers`` a campaign already holds a message to (any state): how a
        send streamed in chunks finds a number repeated in a later chunk."""

    @abc.abstractmethod
    def message_counts(self, campaign_id: str) -> dict[MessageState, int]:
        """How many of a campaign's messages are in each state (zero counts omitted)."""

    @abc.abstractmethod
    def claim_submitting(
        self, *, worker: str, limit: int, lease: timedelta, now: datetime
    ) -> list[OutboundMessage]:
        """Move up to ``limit`` due messages to ``submitting``, leased to ``worker``
        until ``now + lease``, in one statement, and return them as they are now.

        A message is due when it is ``queued``, its campaign is ``running``, its
        ``not_before`` has passed, and it is not leased to another worker (or that
        lease ended before ``now``). Each due message goes to exactly one caller,
        in id order. From here on the message is the worker's to send or settle:
        should the worker be lost, :meth:`expire_claims` makes it ``unknown`` once
        the lease ends (at most once, never resent blindly).
        """

    @abc.abstractmethod
    def transition(
        self,
        message_ids: Iterable[str],
        new_state: MessageState,
        *,
        expected: MessageState,
        worker: str | None = None,
        now: datetime,
        provider_id: str | None = None,
        error_code: str | None = None,
        reason: str | None = None,
    ) -> list[str]:
        """Move messages from ``expected`` to ``new_state``; return the ids that moved.

        Only messages still in ``expected`` (and, with ``worker``, still leased to
        that worker) move: a worker whose lease ended moves nothing. A message keeps
        its lease: moved back to ``queued``, it is not due again before the lease
        ends (a batch that failed before it was sent is not claimed again at once).
        Raises InvalidValue if ``expected`` → ``new_state`` is not allowed.
        """

    @abc.abstractmethod
    def settle(self, outcomes: Sequence[Settlement], *, now: datetime) -> list[str]:
        """Settle a submitted batch in one transaction; return the ids that moved, in order.

        Each message moves from ``submitting`` to its outcome's state (and takes
        its provider id, error code and reason), like ``transition`` with
        ``expected=submitting``: a message no longer ``submitting`` (its lease
        expired into ``unknown``, say) does not move. Unlike ``transition``, a
        message settled back to ``queued`` (the transport said to try again)
        loses its lease: it is due again at once. Raises InvalidValue, and
        moves nothing, if an outcome's state cannot follow ``submitting``.

        A message that moves to ``submitted`` with more than one ``part_ids`` keeps them, in the
        same transaction, as its parts (see :meth:`message_parts`); should a
        provider reuse a part id, the part settled last owns it.
        """

    @abc.abstractmethod
    def expire_claims(self, *, now: datetime) -> list[str]:
        """Settle messages of workers whose lease ended before ``now``.

        A ``submitting`` message's outcome is lost with its worker, so it becomes
        ``unknown`` (never resent blindly); the ids of those are returned. A
        ``queued`` message under an ended lease needs nothing: ``claim_submitting``
        takes it.
        """

    @abc.abstractmethod
    def apply_delivery_report(self, report: DeliveryReportRecord) -> OutboundMessage | None:
        """Record a report and settle its message; return the message if it changed.

        Idempotent: a duplicate or late report is recorded but changes nothing.

        A report naming a part of a long message (see :meth:`message_parts`)
        settles that part: the message is ``delivered`` when every part is, and
        fails (``undelivered``, ``expired``, ``rejected``) with the first part
        that fails, taking its error code. A report for a part whose report was
        final already changes nothing. A report whose id names no message or
        part is recorded without a message and held: see :meth:`apply_held_reports`.
        """

    @abc.abstractmethod
    def apply_delivery_reports(
        self, reports: Sequence[DeliveryReportRecord]
    ) -> list[OutboundMessage]:
        """Apply many reports in one transaction, as ``apply_delivery_report`` would in order.

        Every report is recorded; the messages they changed are returned (each
        once, in the order of the report that changed it). Idempotent likewise.
        """

    @abc.abstractmethod
    def apply_held_reports(self, provider_ids: Iterable[str]) -> list[OutboundMessage]:
        """Apply the reports held for those of ``provider_ids`` that name a message now.

        A report that arrived before its message (or part) was settled — a fast
        SMSC, a receipt on another process's bind — is recorded without a
        message. Called once the ids are known, this applies those reports, in
        the order they arrived, as :meth:`apply_delivery_reports` would have;
        each held report is applied once, whichever process asks first. Returns
        the messages that changed.
        """

    # -- credits (append-only) ----------------------------------------------

    @abc.abstractmethod
    def append_credit(
        self, entry: CreditEntry, *, keep_balance_at_least: int | None = None
    ) -> bool:
        """Append ``entry`` unless the balance would fall below ``keep_balance_at_least``.

        The check and the append are one atomic step, so concurrent reservations
        never overdraw. A message's credits come back once: a ``release`` or
        ``refund`` naming a ``message_id`` that a release or refund already names
        is not appended. Returns whether the entry was appended.
        """

    @abc.abstractmethod
    def append_credits(self, entries: Sequence[CreditEntry]) -> None:
        """Append many entries (refunds of a burst of reports, say) in one transaction.

        Each gets the next ``seq`` and its balance, as if appended one by one;
        no balance floor is checked (use ``append_credit`` to reserve). A release
        or refund of a message already given back (before, or earlier in
        ``entries``) is skipped, as ``append_credit`` would skip it.
        """

    @abc.abstractmethod
    def append_cancelled_release(self, campaign_id: str, *, at: datetime, note: str) -> int:
        """Release what a campaign's cancelled messages reserved and is not released yet.

        In one atomic step: the parts of the campaign's ``cancelled`` messages,
        less the campaign's earlier releases with this ``note`` (and no message
        id), are appended as one ``release`` entry; the amount is returned (0:
        nothing appended). Concurrent calls for one campaign release it once.
        """

    @abc.abstractmethod
    def credit_balance(self) -> int:
        """The sum of every credit entry."""

    @abc.abstractmethod
    def iter_credits(self, *, campaign_id: str | None = None) -> Iterator[CreditEntry]:
        """Credit entries in order (of one campaign)."""

    # -- schedules ----------------------------------------------------------

    @abc.abstractmethod
    def add_schedule(self, schedule: Schedule) -> None:
        """Store a new schedule."""

    @abc.abstractmethod
    def get_schedule(self, schedule_id: str) -> Schedule | None:
        """The schedule with this id, if any."""

    @abc.abstractmethod
    def list_schedules(self, *, status: ScheduleStatus | None = None) -> list[Schedule]:
        """Schedules (with this status), by next occurrence."""

    @abc.abstractmethod
    def set_schedule_status(self, schedule_id: str, status: ScheduleStatus) -> None:
        """Cancel or finish a schedule."""

    @abc.abstractmethod
    def due_schedules(self, now: datetime) -> list[Schedule]:
        """Active schedules whose ``next_at`` is at or before ``now``."""

    @abc.abstractmethod
    def claim_occurrence(
        self, schedule_id: str, occurrence: datetime, next_at: datetime | None
    ) -> bool:
        """Take the right to run one occurrence; exactly one caller ever gets True.

        On success the schedule's ``next_at`` moves to ``next_at`` (``None``
        finishes it) in the same transaction.
        """

    # -- metrics --------------------------------------------------------------

    def message_stats(self, *, now: datetime, campaign_id: str | None = None) -> MessageStats:
        """Where the messages (of ``campaign_id``) stand at ``now``: counts by state, the
        failures by error code, the blocked by reason, and how many are due.

        Read at scrape time by :mod:`isobil.metrics`, so a backend should answer
        in one pass over the messages (and the due ones through an index); this
        default reads every message through :meth:`iter_messages`.
        """
        if campaign_id is None:
            campaigns = self.list_campaigns()
        else:
            found = self.get_campaign(campaign_id)
            campaigns = [] if found is None else [found]
        running = {c.id for c in campaigns if c.status is CampaignStatus.RUNNING}
        return MessageStats.tally(
            (m for c in campaigns for m in self.iter_messages(c.id)), running=running, now=now
        )
