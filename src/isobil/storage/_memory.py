"""Storage in process memory: for tests, demos and short-lived scripts."""

from __future__ import annotations

import functools
import threading
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import attrs

from isobil._net import SeenKeys
from isobil._time import aware
from isobil.errors import InvalidValue
from isobil.model import Channel, ConsentEvent, ConsentSource, ConsentStatus, Recipient
from isobil.storage._base import DecidingConsent, Sealer, Storage
from isobil.storage._records import (
    FINAL_REPORTS,
    REPORT_STATES,
    SENT_STATES,
    BlacklistEntry,
    Campaign,
    CampaignStatus,
    CreditEntry,
    CreditKind,
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
    check_transition,
    otp_refused_until,
    part_failure,
    part_reason,
)

__all__ = ["MemoryStorage"]


def _utc(value: datetime) -> datetime:
    # As SQL storage: a naive time is refused, never guessed.
    return aware(value, "a time stored or compared").astimezone(UTC)


_R = TypeVar("_R", bound=attrs.AttrsInstance)


@functools.cache
def _time_fields(kind: type[attrs.AttrsInstance]) -> tuple[str, ...]:
    """The fields of a record class annotated as times, read once per class."""
    return tuple(f.name for f in attrs.fields(kind) if "datetime" in str(f.type))


def _in_utc(record: _R) -> _R:
    """``record`` with the times it keeps in UTC (a naive one refused): every record
    is stored through here, so every read gives its times in UTC, as SQL storage does."""
    changes = {
        name: _utc(value)
        for name in _time_fields(type(record))
        if (value := getattr(record, name)) is not None and value.tzinfo is not UTC
    }
    # attrs' mypy plugin wants an attrs class, not a type variable bound to one.
    return attrs.evolve(record, **changes) if changes else record  # type: ignore[misc]


def consent_sort_key(event: ConsentEvent) -> tuple[datetime, int, int]:
    """Order in which events decide a state: later date wins, RET wins a tie, then seq."""
    return (event.consent_date, event.status is ConsentStatus.RET, event.seq or 0)


def _gives_back(entry: CreditEntry) -> str | None:
    """The message whose credits ``entry`` gives back (at most once), if any."""
    if entry.kind in (CreditKind.RELEASE, CreditKind.REFUND):
        return entry.message_id
    return None


class MemoryStorage(Storage):
    """Keeps everything in dictionaries, guarded by one lock. Nothing survives the process."""

    @property
    def lookup_size(self) -> int:
        return 500  # in the process: see Storage.lookup_size

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._contacts: dict[str, Recipient] = {}
        self._groups: dict[str, set[str]] = {}
        self._blacklist: dict[str, BlacklistEntry] = {}
        self._consent: list[ConsentEvent] = []
        self._templates: dict[str, Template] = {}
        self._campaigns: dict[str, Campaign] = {}
        self._messages: dict[str, OutboundMessage] = {}
        # Each campaign's numbers, for a streamed send's duplicate check per batch.
        self._campaign_numbers: dict[str, set[str]] = {}
        self._by_provider_id: dict[str, str] = {}
        self._parts: dict[str, MessagePart] = {}  # by the part's provider id
        self._parts_of: dict[str, tuple[str, ...]] = {}  # a message's part ids, in order
        self._held: dict[str, list[int]] = {}  # reports kept without a message, by id
        self._reports: list[DeliveryReportRecord] = []
        self._credits: list[CreditEntry] = []
        self._given_back: set[str] = set()  # messages whose credits came back
        self._schedules: dict[str, Schedule] = {}
        self._occurrences: set[tuple[str, datetime]] = set()
        self._iys: dict[int, IysSync] = {}
        self._inbound: dict[str, InboundRecord] = {}
        self._state: dict[str, str] = {}
        self._seen = SeenKeys()
        self._otp: dict[str, OtpRecord] = {}

    def __repr__(self) -> str:
        return f"<MemoryStorage contacts={len(self._contacts)} messages={len(self._messages)}>"

    # -- contacts and groups ------------------------------------------------

    def upsert_contacts(
        self, contacts: Iterable[Recipient], *, group: str | None = None
    ) -> UpsertResult:
        inserted = updated = 0
        with self._lock:
            seen: set[str] = set()
            for contact in contacts:
                if contact.number in self._contacts and contact.number not in seen:
                    updated += 1
                elif contact.number not in seen:
                    inserted += 1
                seen.add(contact.number)
                self._contacts[contact.number] = contact
                if group is not None:
                    self._groups.setdefault(group, set()).add(contact.number)
        return UpsertResult(inserted, updated)

    def get_contacts(self, numbers: Iterable[str]) -> dict[str, Recipient]:
        with self._lock:
            return {n: self._contacts[n] for n in numbers if n in self._contacts}

    def iter_contacts(self, *, group: str | None = None) -> Iterator[Recipient]:
        with self._lock:
            numbers = self._groups.get(group, set()) if group is not None else self._contacts
            snapshot = [self._contacts[n] for n in sorted(numbers)]
        return iter(snapshot)

    def find_contacts(self, text: str, *, limit: int = 100) -> list[Recipient]:
        needle = text.casefold()
        with self._lock:
            found = [
                c
                for n, c in sorted(self._contacts.items())
                if any(needle in (v or "").casefold() for v in (c.name, c.surname, n))
            ]
        return found[:limit]

    def count_contacts(self, *, group: str | None = None) -> int:
        with self._lock:
            return len(self._groups.get(group, ())) if group is not None else len(self._contacts)

    def delete_contacts(self, numbers: Iterable[str]) -> int:
        deleted = 0
        with self._lock:
            for number in set(numbers):
                if self._contacts.pop(number, None) is not None:
                    deleted += 1
                for members in self._groups.values():
                    members.discard(number)
            self._drop_empty_groups()
        return deleted

    def add_to_group(self, group: str, numbers: Iterable[str]) -> int:
        with self._lock:
            members = self._groups.setdefault(group, set())
            new = {n for n in numbers if n in self._contacts} - members
            members |= new
            self._drop_empty_groups()
        return len(new)

    def remove_from_group(self, group: str, numbers: Iterable[str]) -> int:
        with self._lock:
            members = self._groups.get(group, set())
            gone = members & set(numbers)
            members -= gone
            self._drop_empty_groups()
        return len(gone)

    def _drop_empty_groups(self) -> None:
        for name in [g for g, m in self._groups.items() if not m]:
            del self._groups[name]

    def groups(self) -> dict[str, int]:
        with self._lock:
            return {g: len(m) for g, m in sorted(self._groups.items())}

    def groups_of(self, number: str) -> set[str]:
        with self._lock:
            return {g for g, m in self._groups.items() if number in m}

    # -- blacklist ----------------------------------------------------------

    def add_to_blacklist(self, entries: Iterable[BlacklistEntry]) -> int:
        new = 0
        with self._lock:
            for entry in entries:
                new += entry.number not in self._blacklist
                self._blacklist[entry.number] = _in_utc(entry)
        return new

    def remove_from_blacklist(self, numbers: Iterable[str]) -> int:
        with self._lock:
            return sum(self._blacklist.pop(n, None) is not None for n in set(numbers))

    def blacklisted(self, numbers: Iterable[str], *, before: datetime | None = None) -> set[str]:
        with self._lock:
            return {
                n
                for n in numbers
                if n in self._blacklist and (before is None or self._blacklist[n].added_at < before)
            }

    def iter_blacklist(self) -> Iterator[BlacklistEntry]:
        with self._lock:
            return iter([self._blacklist[n] for n in sorted(self._blacklist)])

    # -- consent events -----------------------------------------------------

    def append_consent_events(
        self, events: Sequence[ConsentEvent], seal: Sealer | None = None
    ) -> list[ConsentEvent]:
        stored: list[ConsentEvent] = []
        with self._lock:
            previous = self._consent[-1].hash if self._consent else None
            for offset, event in enumerate(events, len(self._consent) + 1):
                event = attrs.evolve(_in_utc(event), seq=offset, hash=None, prev_hash=None)
                if seal is not None:
                    event = attrs.evolve(event, hash=seal(previous, event), prev_hash=previous)
                    previous = event.hash
                stored.append(event)
            self._consent.extend(stored)
        return stored

    def iter_consent_events(
        self, *, address: str | None = None, after_seq: int = 0
    ) -> Iterator[ConsentEvent]:
        with self._lock:
            events = self._consent[after_seq:]
        return (e for e in events if address is None or e.address == address)

    def consent_states(
        self,
        addresses: Iterable[str],
        *,
        brand: str | Collection[str],
        channel: Channel = Channel.MESAJ,
        before: datetime | None = None,
        sources: Collection[ConsentSource] | None = None,
    ) -> dict[str, ConsentEvent]:
        brands = {brand} if isinstance(brand, str) else set(brand)
        with self._lock:
            return dict(self._deciding(addresses, brands, channel, before, sources))

    def consent_states_with_iys(
        self,
        addresses: Iterable[str],
        *,
        brand: str | Collection[str],
        channel: Channel = Channel.MESAJ,
        before: datetime | None = None,
    ) -> dict[str, DecidingConsent]:
        brands = {brand} if isinstance(brand, str) else set(brand)
        found: dict[str, DecidingConsent] = {}
        # _deciding inlined: this runs once per recipient of an audience.
        lean = DecidingConsent.from_event
        with self._lock:
            events, synced = self._consent, self._iys
            positions_of = self._consent_positions().get
            for address in dict.fromkeys(addresses):
                current: ConsentEvent | None = None
                for position in positions_of(address, ()):
                    event = events[position]
                    if event.address != address or event.brand not in brands:
                        continue
                    if event.channel is not channel:
                        continue
                    if before is not None and event.consent_date >= before:
                        continue
                    if current is None or consent_sort_key(event) > consent_sort_key(current):
                        current = event
                if current is not None:
                    found[address] = lean(current, synced.get(current.seq or 0))
        return found

    def _deciding(
        self,
        addresses: Iterable[str],
        brands: Collection[str],
        channel: Channel,
        before: datetime | None,
        sources: Collection[ConsentSource] | None,
    ) -> Iterator[tuple[str, ConsentEvent]]:
        """Each address with events, and the event deciding its state (the lock held)."""
        events = self._consent
        positions_of = self._consent_positions()
        for address in dict.fromkeys(addresses):
            current: ConsentEvent | None = None
            for position in positions_of.get(address, ()):
                event = events[position]
                if event.address != address or event.brand not in brands:
                    continue
                if event.channel is not channel:
                    continue
                if before is not None and event.consent_date >= before:
                    continue
                if sources is not None and event.source not in sources:
                    continue
                if current is None or consent_sort_key(event) > consent_sort_key(current):
                    current = event
            if current is not None:
                yield address, current

    # consent_states reads only the audience's events: their positions in the
    # append-only self._consent by address, extended with the events appended
    # since (and made afresh should the list have been changed otherwise).
    _consent_index: dict[str, list[int]] | None = None
    _consent_indexed: tuple[int, ConsentEvent | None] = (0, None)

    def _consent_positions(self) -> dict[str, list[int]]:
        """Positions of the stored events by address, up to date (the lock held)."""
        events = self._consent
        count, last = self._consent_indexed
        index = self._consent_index
        if index is None or count > len(events) or (count and events[count - 1] is not last):
            index, count = {}, 0
        for position in range(count, len(events)):
            index.setdefault(events[position].address, []).append(position)
        self._consent_index = index
        self._consent_indexed = (len(events), events[-1] if events else None)
        return index

    def set_iys_sync(self, records: Iterable[IysSync]) -> None:
        with self._lock:
            for record in records:
                self._iys[record.seq] = _in_utc(record)

    def iys_sync(self, seqs: Iterable[int]) -> dict[int, IysSync]:
        with self._lock:
            return {seq: self._iys[seq] for seq in seqs if seq in self._iys}

    def iter_unsynced_consent_events(
        self, *, brand: str | None = None, limit: int | None = None
    ) -> Iterator[ConsentEvent]:
        with self._lock:
            found = [
                e
                for e in self._consent
                if e.seq not in self._iys and (brand is None or e.brand == brand)
            ]
        return iter(found[:limit])

    def iter_iys_pending(self) -> Iterator[IysSync]:
        with self._lock:
            pending = [r for r in self._iys.values() if r.status is IysSyncStatus.PENDING]
        return iter(sorted(pending, key=lambda r: (r.request_id or "", r.seq)))

    # -- small named state ---------------------------------------------------

    def get_state(self, key: str) -> str | None:
        with self._lock:
            return self._state.get(key)

    def set_state(self, key: str, value: str | None) -> None:
        with self._lock:
            if value is None:
                self._state.pop(key, None)
            else:
                self._state[key] = value

    def mark_seen(self, key: str, expires_at: datetime) -> bool:
        return self._seen.mark_seen(key, _utc(expires_at))

    def unmark_seen(self, key: str) -> None:
        self._seen.unmark_seen(key)

    # -- one-time codes -----------------------------------------------------

    def add_otp(
        self, record: OtpRecord, *, limits: Sequence[tuple[timedelta, int]]
    ) -> datetime | None:
        record = _in_utc(record)
        with self._lock:
            if record.id in self._otp:
                raise InvalidValue(f"one-time code {record.id!r} already exists")
            created = [o.created_at for o in self._otp.values() if o.number == record.number]
            until = otp_refused_until(created, record.created_at, limits)
            if until is None:
                self._otp[record.id] = record
            return until

    def latest_otp(self, number: str) -> OtpRecord | None:
        with self._lock:
            mine = [o for o in self._otp.values() if o.number == number]
        return max(mine, key=lambda o: (o.created_at, o.id), default=None)

    def use_otp(self, otp_id: str, *, now: datetime, max_attempts: int) -> bool:
        now = _utc(now)  # compared in UTC: within one zone, comparisons ignore fold
        with self._lock:
            code = self._otp.get(otp_id)
            if (
                code is None
                or code.used_at is not None
                or code.expires_at <= now
                or code.attempts >= max_attempts
            ):
                return False
            self._otp[otp_id] = attrs.evolve(code, used_at=now)
            return True

    def fail_otp(self, otp_id: str) -> int:
        with self._lock:
            code = self._otp.get(otp_id)
            if code is None or code.used_at is not None:
                return 0
            self._otp[otp_id] = attrs.evolve(code, attempts=code.attempts + 1)
            return code.attempts + 1

    def purge_otp(self, *, created_before: datetime, now: datetime) -> int:
        now = _utc(now)  # compared in UTC: within one zone, comparisons ignore fold
        created_before = _utc(created_before)
        with self._lock:
            gone = [
                i
                for i, o in self._otp.items()
                if o.created_at < created_before and o.expires_at <= now
            ]
            for otp_id in gone:
                del self._otp[otp_id]
            return len(gone)

    def redact_campaign_text(self, campaign_id: str, secret: str, replacement: str) -> int:
        if not secret:
            raise InvalidValue("the text to redact is empty")
        changed = 0
        with self._lock:
            campaign = self._campaigns.get(campaign_id)
            if campaign is not None:
                text = campaign.text.replace(secret, replacement)
                self._campaigns[campaign_id] = attrs.evolve(campaign, text=text)
            for message_id, message in list(self._messages.items()):
                if message.campaign_id == campaign_id and secret in message.text:
                    text = message.text.replace(secret, replacement)
                    self._messages[message_id] = attrs.evolve(message, text=text)
                    changed += 1
        return changed

    # -- inbound messages ---------------------------------------------------

    def record_inbound(self, record: InboundRecord) -> None:
        with self._lock:
            if record.id in self._inbound:
                raise InvalidValue(f"inbound message {record.id!r} is already recorded")
            self._inbound[record.id] = _in_utc(record)

    def get_inbound(self, inbound_id: str) -> InboundRecord | None:
        with self._lock:
            return self._inbound.get(inbound_id)

    def finish_inbound(self, record: InboundRecord) -> None:
        with self._lock:
            kept = self._inbound.get(record.id)
            if kept is None:
                raise InvalidValue(f"no inbound message with id {record.id!r}")
            self._inbound[record.id] = _in_utc(
                attrs.evolve(
                    kept,
                    consent_seqs=record.consent_seqs,
                    reply_id=record.reply_id,
                    handled_at=record.handled_at,
                )
            )

    def inbound_seen(self, provider_ids: Iterable[str]) -> set[str]:
        wanted = set(provider_ids)
        with self._lock:
            return {r.provider_id for r in self._inbound.values() if r.provider_id in wanted}

    def iter_inbound(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> Iterator[InboundRecord]:
        with self._lock:
            found = sorted(self._inbound.values(), key=lambda r: (r.received_at, r.id))
        return (
            r
            for r in found
            if (since is None or r.received_at >= since)
            and (until is None or r.received_at < until)
        )

    # -- templates ----------------------------------------------------------

    def save_template(self, template: Template) -> None:
        with self._lock:
            self._templates[template.name] = _in_utc(template)

    def get_template(self, name: str) -> Template | None:
        with self._lock:
            return self._templates.get(name)

    def list_templates(self) -> list[Template]:
        with self._lock:
            return [self._templates[n] for n in sorted(self._templates)]

    def delete_template(self, name: str) -> bool:
        with self._lock:
            return self._templates.pop(name, None) is not None

    # -- campaigns and messages ----------------------------------------------

    def create_campaign(self, campaign: Campaign) -> None:
        with self._lock:
            if campaign.id in self._campaigns:
                raise InvalidValue(f"campaign {campaign.id!r} already exists")
            self._campaigns[campaign.id] = _in_utc(campaign)

    def get_campaign(self, campaign_id: str) -> Campaign | None:
        with self._lock:
            return self._campaigns.get(campaign_id)

    def list_campaigns(self) -> list[Campaign]:
        with self._lock:
            return sorted(
                self._campaigns.values(), key=lambda c: (c.created_at, c.id), reverse=True
            )

    def set_campaign_status(self, campaign_id: str, status: CampaignStatus) -> None:
        with self._lock:
            campaign = self._campaign(campaign_id)
            self._campaigns[campaign_id] = attrs.evolve(campaign, status=status)
            if status is CampaignStatus.CANCELLED:
                for message in list(self._messages.values()):
                    if message.campaign_id == campaign_id and message.state is MessageState.QUEUED:
                        self._messages[message.id] = attrs.evolve(
                            message, state=MessageState.CANCELLED, claimed_by=None, lease_until=None
                        )

    def finish_drained_campaigns(self) -> list[str]:
        with self._lock:
            pending: set[str] = set()
            holding: set[str] = set()
            for message in self._messages.values():
                holding.add(message.campaign_id)
                if message.state in (MessageState.QUEUED, MessageState.SUBMITTING):
                    pending.add(message.campaign_id)
            finished = sorted(
                c.id
                for c in self._campaigns.values()
                if c.status is CampaignStatus.RUNNING and c.id in holding - pending
            )
            for campaign_id in finished:
                self.set_campaign_status(campaign_id, CampaignStatus.DONE)
            return finished

    def create_campaign_with_messages(
        self, campaign: Campaign, messages: Sequence[OutboundMessage]
    ) -> None:
        with self._lock:
            ids = Counter(m.id for m in messages)
            taken = {i for i, n in ids.items() if i in self._messages or n > 1}
            if taken:
                raise InvalidValue(f"message {min(taken)!r} already exists")
            other = sorted({m.campaign_id for m in messages} - {campaign.id})
            if other and other[0] not in self._campaigns:
                raise InvalidValue(f"no campaign with id {other[0]!r}")
            self.create_campaign(campaign)
            self.add_messages(messages)

    def _campaign(self, campaign_id: str) -> Campaign:
        campaign = self._campaigns.get(campaign_id)
        if campaign is None:
            raise InvalidValue(f"no campaign with id {campaign_id!r}")
        return campaign

    def add_messages(self, messages: Iterable[OutboundMessage]) -> int:
        count = 0
        with self._lock:
            for message in messages:
                if message.id in self._messages:
                    raise InvalidValue(f"message {message.id!r} already exists")
                self._campaign(message.campaign_id)
                self._messages[message.id] = _in_utc(message)
                self._campaign_numbers.setdefault(message.campaign_id, set()).add(message.to)
                if message.provider_id is not None:
                    self._by_provider_id[message.provider_id] = message.id
                count += 1
        return count

    def get_message(self, message_id: str) -> OutboundMessage | None:
        with self._lock:
            return self._messages.get(message_id)

    def message_by_provider_id(self, provider_id: str) -> OutboundMessage | None:
        with self._lock:
            message_id = self._by_provider_id.get(provider_id)
            if message_id is None and provider_id in self._parts:
                message_id = self._parts[provider_id].message_id
            return None if message_id is None else self._messages[message_id]

    def message_parts(self, message_id: str) -> list[MessagePart]:
        with self._lock:
            parts = (self._parts.get(p) for p in self._parts_of.get(message_id, ()))
            return [p for p in parts if p is not None and p.message_id == message_id]

    def iter_messages(
        self, campaign_id: str, *, state: MessageState | None = None
    ) -> Iterator[OutboundMessage]:
        with self._lock:
            found = [
                m
                for _, m in sorted(self._messages.items())
                if m.campaign_id == campaign_id and (state is None or m.state is state)
            ]
        return iter(found)

    def awaiting_reports(self, *, since: datetime, limit: int = 10_000) -> list[str]:
        since = _utc(since)
        with self._lock:
            found = sorted(
                (m.updated_at, m.id, m.provider_id)
                for m in self._messages.values()
                if m.state is MessageState.SUBMITTED
                and m.provider_id is not None
                and m.updated_at is not None
                and m.updated_at >= since
            )
        return [provider_id for _, _, provider_id in found[:limit]]

    def messaged(self, numbers: Iterable[str]) -> set[str]:
        wanted = set(numbers)
        with self._lock:
            return {
                m.to for m in self._messages.values() if m.to in wanted and m.state in SENT_STATES
            }

    def campaign_recipients(self, campaign_id: str, numbers: Iterable[str]) -> set[str]:
        with self._lock:
            held = self._campaign_numbers.get(campaign_id, set())
            return {number for number in numbers if number in held}

    def message_counts(self, campaign_id: str) -> dict[MessageState, int]:
        counts: dict[MessageState, int] = {}
        with self._lock:
            for message in self._messages.values():
                if message.campaign_id == campaign_id:
                    counts[message.state] = counts.get(message.state, 0) + 1
        return counts

    def claim_submitting(
        self, *, worker: str, limit: int, lease: timedelta, now: datetime
    ) -> list[OutboundMessage]:
        claimed: list[OutboundMessage] = []
        now = _utc(now)  # the lease is time elapsed, not wall-clock time in now's zone
        with self._lock:
            for message_id in sorted(self._messages):
                if len(claimed) >= limit:
                    break
                message = self._messages[message_id]
                if not self._due(message, now):
                    continue
                message = attrs.evolve(
                    message,
                    state=MessageState.SUBMITTING,
                    claimed_by=worker,
                    lease_until=now + lease,
                    updated_at=now,
                )
                self._messages[message_id] = message
                claimed.append(message)
        return claimed

    def _due(self, message: OutboundMessage, now: datetime) -> bool:
        return (
            message.state is MessageState.QUEUED
            and self._campaigns[message.campaign_id].status is CampaignStatus.RUNNING
            and (message.not_before is None or message.not_before <= now)
            and (message.lease_until is None or message.lease_until < now)
        )

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
        check_transition(expected, new_state)
        now = _utc(now)  # compared in UTC: within one zone, comparisons ignore fold
        moved: list[str] = []
        with self._lock:
            for message_id in message_ids:
                message = self._messages.get(message_id)
                if message is None or message.state is not expected:
                    continue
                if worker is not None and (
                    message.claimed_by != worker
                    or message.lease_until is None
                    or message.lease_until < now
                ):
                    continue
                if provider_id is not None:
                    self._by_provider_id[provider_id] = message_id
                self._messages[message_id] = attrs.evolve(
                    message,
                    state=new_state,
                    updated_at=now,
                    provider_id=provider_id or message.provider_id,
                    error_code=error_code or message.error_code,
                    reason=reason or message.reason,
                )
                moved.append(message_id)
        return moved

    def settle(self, outcomes: Sequence[Settlement], *, now: datetime) -> list[str]:
        for outcome in outcomes:
            check_transition(MessageState.SUBMITTING, outcome.state)
        moved: list[str] = []
        with self._lock:
            for outcome in outcomes:
                now_moved = self.transition(
                    [outcome.message_id],
                    outcome.state,
                    expected=MessageState.SUBMITTING,
                    now=now,
                    provider_id=outcome.provider_id,
                    error_code=outcome.error_code,
                    reason=outcome.reason,
                )
                if now_moved and outcome.state is MessageState.QUEUED:
                    message = self._messages[outcome.message_id]
                    self._messages[outcome.message_id] = attrs.evolve(
                        message, claimed_by=None, lease_until=None
                    )
                if (
                    now_moved
                    and outcome.state is MessageState.SUBMITTED
                    and len(outcome.part_ids) > 1
                ):
                    self._parts_of[outcome.message_id] = outcome.part_ids
                    for index, part_id in enumerate(outcome.part_ids):
                        owner = self._parts.get(part_id)
                        if owner is not None and owner.message_id != outcome.message_id:
                            # A reused id: the part settled last owns it.
                            self._parts_of[owner.message_id] = tuple(
                                p for p in self._parts_of[owner.message_id] if p != part_id
                            )
                        self._parts[part_id] = MessagePart(
                            part_id, outcome.message_id, index, updated_at=_utc(now)
                        )
                moved += now_moved
        return moved

    def expire_claims(self, *, now: datetime) -> list[str]:
        now = _utc(now)  # compared in UTC: within one zone, comparisons ignore fold
        with self._lock:
            stale = [
                m.id
                for m in self._messages.values()
                if m.state is MessageState.SUBMITTING
                and m.lease_until is not None
                and m.lease_until < now
            ]
            return self.transition(
                stale,
                MessageState.UNKNOWN,
                expected=MessageState.SUBMITTING,
                now=now,
                reason="worker lost while submitting; outcome unknown",
            )

    def apply_delivery_report(self, report: DeliveryReportRecord) -> OutboundMessage | None:
        with self._lock:
            message = self.message_by_provider_id(report.provider_id)
            if message is None:
                self._held.setdefault(report.provider_id, []).append(len(self._reports))
            self._reports.append(
                attrs.evolve(_in_utc(report), message_id=None if message is None else message.id)
            )
            return None if message is None else self._settle_report(report, message)

    def _settle_report(
        self, report: DeliveryReportRecord, message: OutboundMessage
    ) -> OutboundMessage | None:
        """What ``report`` changes of ``message`` (found by its id); under the lock."""
        new_state = REPORT_STATES.get(report.status)
        reason = None
        part = self._parts.get(report.provider_id)
        if part is not None and part.message_id == message.id:
            if part.status in FINAL_REPORTS:
                return None  # a repeated or late report for a part already settled
            self._parts[part.provider_id] = attrs.evolve(
                part,
                status=report.status,
                error_code=report.error_code,
                updated_at=_utc(report.received_at),
            )
            new_state = part_failure(report.status)
            parts = self.message_parts(message.id)
            if new_state is not None:
                reason = part_reason(part.part, len(parts), report.status)
            elif all(p.status == "delivered" for p in parts):
                new_state = MessageState.DELIVERED
        if new_state is None:
            return None
        if message.state not in (MessageState.SUBMITTED, MessageState.UNKNOWN):
            return None
        moved = self.transition(
            [message.id],
            new_state,
            expected=message.state,
            now=report.received_at,
            error_code=report.error_code,
            reason=reason,
        )
        return self._messages[message.id] if moved else None

    def apply_delivery_reports(
        self, reports: Sequence[DeliveryReportRecord]
    ) -> list[OutboundMessage]:
        with self._lock:
            changed = [self.apply_delivery_report(report) for report in reports]
        return [message for message in changed if message is not None]

    def apply_held_reports(self, provider_ids: Iterable[str]) -> list[OutboundMessage]:
        changed: list[OutboundMessage] = []
        with self._lock:
            found = {
                p: self.message_by_provider_id(p) for p in set(provider_ids) if p in self._held
            }
            known = {p: m for p, m in found.items() if m is not None}
            for index in sorted(i for p in known for i in self._held.pop(p)):
                report = self._reports[index]
                message = known[report.provider_id]
                self._reports[index] = attrs.evolve(report, message_id=message.id)
                moved = self._settle_report(report, message)
                if moved is not None:
                    changed.append(moved)
        return changed

    # -- credits ------------------------------------------------------------

    def append_credit(
        self, entry: CreditEntry, *, keep_balance_at_least: int | None = None
    ) -> bool:
        with self._lock:
            gives_back = _gives_back(entry)
            if gives_back is not None and gives_back in self._given_back:
                return False
            balance = sum(e.amount for e in self._credits)
            if keep_balance_at_least is not None and balance + entry.amount < keep_balance_at_least:
                return False
            self._credits.append(attrs.evolve(_in_utc(entry), seq=len(self._credits) + 1))
            if gives_back is not None:
                self._given_back.add(gives_back)
        return True

    def append_credits(self, entries: Sequence[CreditEntry]) -> None:
        with self._lock:
            for entry in entries:
                self.append_credit(entry)

    def append_cancelled_release(self, campaign_id: str, *, at: datetime, note: str) -> int:
        with self._lock:
            cancelled = sum(
                m.parts
                for m in self._messages.values()
                if m.campaign_id == campaign_id and m.state is MessageState.CANCELLED
            )
            released = sum(
                e.amount
                for e in self._credits
                if e.campaign_id == campaign_id
                and e.kind is CreditKind.RELEASE
                and e.message_id is None
                and e.note == note
            )
            amount = cancelled - released
            if amount <= 0:
                return 0
            self.append_credit(
                CreditEntry(CreditKind.RELEASE, amount, at, campaign_id=campaign_id, note=note)
            )
            return amount

    def credit_balance(self) -> int:
        with self._lock:
            return sum(e.amount for e in self._credits)

    def iter_credits(self, *, campaign_id: str | None = None) -> Iterator[CreditEntry]:
        with self._lock:
            entries = list(self._credits)
        return (e for e in entries if campaign_id is None or e.campaign_id == campaign_id)

    # -- schedules ----------------------------------------------------------

    def add_schedule(self, schedule: Schedule) -> None:
        with self._lock:
            if schedule.id in self._schedules:
                raise InvalidValue(f"schedule {schedule.id!r} already exists")
            self._schedules[schedule.id] = _in_utc(schedule)

    def get_schedule(self, schedule_id: str) -> Schedule | None:
        with self._lock:
            return self._schedules.get(schedule_id)

    def list_schedules(self, *, status: ScheduleStatus | None = None) -> list[Schedule]:
        with self._lock:
            found = [s for s in self._schedules.values() if status is None or s.status is status]
        far = datetime.max.replace(tzinfo=UTC)
        return sorted(found, key=lambda s: (s.next_at or far, s.id))

    def set_schedule_status(self, schedule_id: str, status: ScheduleStatus) -> None:
        with self._lock:
            schedule = self._schedules.get(schedule_id)
            if schedule is None:
                raise InvalidValue(f"no schedule with id {schedule_id!r}")
            self._schedules[schedule_id] = attrs.evolve(schedule, status=status)

    def due_schedules(self, now: datetime) -> list[Schedule]:
        now = _utc(now)  # compared in UTC: within one zone, comparisons ignore fold
        return [
            s
            for s in self.list_schedules(status=ScheduleStatus.ACTIVE)
            if s.next_at is not None and s.next_at <= now
        ]

    def claim_occurrence(
        self, schedule_id: str, occurrence: datetime, next_at: datetime | None
    ) -> bool:
        key = (schedule_id, _utc(occurrence))
        with self._lock:
            schedule = self._schedules.get(schedule_id)
            if schedule is None:
                raise InvalidValue(f"no schedule with id {schedule_id!r}")
            if key in self._occurrences:
                return False
            self._occurrences.add(key)
            status = ScheduleStatus.FINISHED if next_at is None else schedule.status
            self._schedules[schedule_id] = attrs.evolve(
                schedule, next_at=None if next_at is None else _utc(next_at), status=status
            )
        return True

    # -- metrics --------------------------------------------------------------

    def message_stats(self, *, now: datetime, campaign_id: str | None = None) -> MessageStats:
        now = _utc(now)  # compared in UTC: within one zone, comparisons ignore fold
        with self._lock:
            running = {c.id for c in self._campaigns.values() if c.status is CampaignStatus.RUNNING}
            return MessageStats.tally(
                (
                    m
                    for m in self._messages.values()
                    if campaign_id is None or m.campaign_id == campaign_id
                ),
                running=running,
                now=now,
            )
