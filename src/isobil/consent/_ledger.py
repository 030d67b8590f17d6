"""The consent ledger: append-only consent events, chained by SHA-256 so tampering shows.

Each stored event carries ``hash = sha256(previous_hash + "\\n" + canonical_json)``,
where ``canonical_json`` is the event's fields (everything but the hashes) as
JSON with sorted keys and no spaces, and the first event's previous hash is 64
zeros. Anyone can recompute the chain with the standard library (docs/consent.md).
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import re
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs

from isobil._meter import METER_ROWS, Meter
from isobil._tables import inert
from isobil._time import aware_field
from isobil.errors import InvalidValue
from isobil.model import (
    Channel,
    ConsentEvent,
    ConsentSource,
    ConsentStatus,
    RecipientType,
    normalize_address,
    normalize_brand,
)
from isobil.storage import DecidingConsent, IysSync, IysSyncStatus, Storage

__all__ = [
    "GENESIS_HASH",
    "IYS_SOURCES",
    "ConsentLedger",
    "ConsentState",
    "EvidenceExport",
    "LedgerAnchor",
    "LedgerProblem",
    "VerificationReport",
    "canonical_json",
    "event_hash",
    "event_to_json",
]

GENESIS_HASH = "0" * 64
#: Consent dates may run this far ahead of the clock (devices disagree a little).
CLOCK_SKEW = timedelta(minutes=5)
EXPORT_FIELDS = (
    "seq",
    "address",
    "status",
    "source",
    "brand",
    "channel",
    "recipient_type",
    "scope",
    "consent_date",
    "recorded_at",
    "evidence",
    "prev_hash",
    "hash",
)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def event_to_json(event: ConsentEvent) -> dict[str, Any]:
    """The event's sealed fields as JSON-ready values (no hashes)."""
    return {
        "seq": event.seq,
        "address": event.address,
        "status": event.status.value,
        "source": event.source.value,
        "brand": event.brand,
        "channel": event.channel.value,
        "recipient_type": event.recipient_type.value,
        "scope": event.scope,
        "consent_date": _iso(event.consent_date),
        "recorded_at": _iso(event.recorded_at),
        "evidence": dict(event.evidence),
    }


def canonical_json(event: ConsentEvent) -> str:
    """The exact text that is hashed: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(
        event_to_json(event), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def event_hash(previous: str | None, event: ConsentEvent) -> str:
    """The chain hash of ``event`` after an event whose hash is ``previous``."""
    body = f"{previous or GENESIS_HASH}\n{canonical_json(event)}"
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


@attrs.frozen
class ConsentState:
    """Where one address stands for one brand and channel, and why.

    ``event`` is the deciding event; ``iys`` its İYS registration record
    (``None`` when it was never pushed: registration unknown).
    """

    status: ConsentStatus
    event: ConsentEvent
    iys: IysSync | None

    @property
    def since(self) -> datetime:
        """When the deciding consent or opt-out was given."""
        return self.event.consent_date


@attrs.frozen
class LedgerProblem:
    """One change found in the stored ledger, named at the event it was made to.

    ``kind`` says what happened to event ``seq``:

    * ``"altered"`` — its stored content no longer matches its own hash;
    * ``"rewritten"`` — it matches a hash recomputed after a change: the event
      after it was chained to a different hash;
    * ``"renumbered"`` — its ``seq`` was changed (``detail`` says the sealed one);
    * ``"inserted"`` — it was put into the chain: the event after it was chained
      to the event before it;
    * ``"missing"`` — events ``seq`` to ``last`` are not in storage;
    * ``"unsealed"`` — it has no hash;
    * ``"anchor"`` — its hash is not the one an anchor kept: it, or an event
      before it, was changed and every later hash recomputed to match.

    A link broken only because of a change to another event is not named:
    the event that changed is.
    """

    seq: int
    kind: str
    detail: str
    last: int | None = None

    @property
    def seqs(self) -> range:
        """Every event this problem names (several for a range of missing events)."""
        return range(self.seq, (self.seq if self.last is None else self.last) + 1)

    def __str__(self) -> str:
        where = f"event {self.seq}" if len(self.seqs) == 1 else f"events {self.seq}–{self.last}"
        return f"{where}: {self.kind} — {self.detail}"


@attrs.frozen
class VerificationReport:
    """The result of :meth:`ConsentLedger.verify`: ``ok`` or the problems found.

    ``anchors`` is how many anchors were checked against the stored ledger.
    """

    checked: int
    head_seq: int
    head_hash: str
    problems: tuple[LedgerProblem, ...] = ()
    anchors: int = 0

    @property
    def ok(self) -> bool:
        """Whether every event matches the chain (and every anchor given)."""
        return not self.problems

    @property
    def named(self) -> tuple[int, ...]:
        """The seqs of the events the problems name, in order."""
        return tuple(sorted({seq for p in self.problems for seq in p.seqs}))

    def __str__(self) -> str:
        if self.ok:
            anchored = f", {self.anchors} anchor(s) hold" if self.anchors else ""
            return (
                f"ledger intact: {self.checked} events, head {self.head_seq} {self.head_hash}"
                f"{anchored}"
            )
        lines = [f"ledger TAMPERED: {len(self.problems)} problem(s) in {self.checked} events"]
        lines += [f"  {p}" for p in self.problems]
        return "\n".join(lines)


ANCHOR_FORMAT = "isobil-ledger-anchor/1"
_HEX64 = re.compile(r"[0-9a-f]{64}")


def _hmac(key: bytes | str, message: bytes) -> str:
    raw = key.encode("utf-8") if isinstance(key, str) else key
    if not raw:
        raise InvalidValue("an anchor signing key must not be empty")
    return hmac.new(raw, message, hashlib.sha256).hexdigest()


def _positive(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidValue(f"a ledger anchor's {attribute.name} must be an integer ≥ 0: {value!r}")


def _anchor_hash(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise InvalidValue(f"a ledger anchor's hash must be 64 lower-case hex digits: {value!r}")


@attrs.frozen
class LedgerAnchor:
    """A point of the ledger kept outside the database: event ``seq`` had ``hash``.

    ``count`` is how many events were stored when it was taken, at ``taken_at``.
    Publish it where whoever can write the database cannot (the daily report,
    a mail to the compliance officer, a write-once bucket, a timestamping
    service) and pass it back to :meth:`ConsentLedger.verify`: any change to
    event ``seq`` or to an event before it then shows, however the chain was
    recomputed. ``signature`` (HMAC-SHA256 over :meth:`message`, hex) proves
    an anchor read back from a store was made by the holder of the key.
    """

    seq: int = attrs.field(validator=_positive)
    hash: str = attrs.field(validator=_anchor_hash)
    count: int = attrs.field(validator=_positive)
    taken_at: datetime = attrs.field(validator=aware_field)
    signature: str | None = None

    def message(self) -> bytes:
        """The exact bytes that are signed: format, seq, hash, count, taken_at (UTC ISO)."""
        fields = (ANCHOR_FORMAT, str(self.seq), self.hash, str(self.count), _iso(self.taken_at))
        return "\n".join(fields).encode("utf-8")

    def signed(self, key: bytes | str) -> LedgerAnchor:
        """This anchor signed with ``key`` (keep the key away from the database)."""
        return attrs.evolve(self, signature=_hmac(key, self.message()))

    def signed_by(self, key: bytes | str) -> bool:
        """Whether the anchor carries a valid signature made with ``key``."""
        expected = _hmac(key, self.message())
        return self.signature is not None and hmac.compare_digest(self.signature, expected)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (``signature`` only when signed)."""
        data: dict[str, Any] = {
            "format": ANCHOR_FORMAT,
            "seq": self.seq,
            "hash": self.hash,
            "count": self.count,
            "taken_at": _iso(self.taken_at),
        }
        if self.signature is not None:
            data["signature"] = self.signature
        return data

    def to_json(self) -> str:
        """One line of JSON, to publish or store."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, data: str | bytes | Mapping[str, Any]) -> LedgerAnchor:
        """Read an anchor back from :meth:`to_json` text (or its parsed dict)."""
        try:
            fields = json.loads(data) if isinstance(data, str | bytes) else dict(data)
        except ValueError as exc:
            raise InvalidValue(f"a ledger anchor must be JSON: {exc}") from exc
        if not isinstance(fields, dict):
            raise InvalidValue(f"a ledger anchor must be a JSON object, got {fields!r}")
        if fields.get("format", ANCHOR_FORMAT) != ANCHOR_FORMAT:
            raise InvalidValue(f"unknown ledger anchor format {fields['format']!r}")
        missing = [k for k in ("seq", "hash", "count", "taken_at") if k not in fields]
        if missing:
            raise InvalidValue(f"a ledger anchor lacks {', '.join(missing)}")
        try:
            taken_at = datetime.fromisoformat(str(fields["taken_at"]))
        except ValueError as exc:
            raise InvalidValue(f"a ledger anchor's taken_at is not a date: {exc}") from exc
        signature = fields.get("signature")
        return cls(
            fields["seq"],
            fields["hash"],
            fields["count"],
            taken_at,
            None if signature is None else str(signature),
        )


@attrs.frozen
class EvidenceExport:
    """What :meth:`ConsentLedger.export` wrote."""

    directory: Path
    events: int
    verification: VerificationReport

    @property
    def files(self) -> tuple[Path, ...]:
        """The JSON Lines, CSV and summary files."""
        return tuple(
            self.directory / name
            for name in ("consent-events.jsonl", "consent-events.csv", "summary.json")
        )


def _utcnow() -> datetime:
    return datetime.now(UTC)


#: Sources of changes made on İYS itself (pulled from İYS, never pushed back).
IYS_SOURCES = frozenset(s for s in ConsentSource if s.from_iys)


def _registered(record: IysSync | None) -> bool:
    return record is not None and record.status is IysSyncStatus.REGISTERED


class ConsentLedger:
    """Record consent and opt-outs, read the current state, prove the history.

    Events are append-only: an opt-out is a new RET event, never an edit. The
    state of an address for a brand and channel is derived from its events
    (the latest consent date wins; at the same instant RET wins).

    ``brands`` restricts ``record`` to known brand codes; ``on_recorded`` is
    called with each newly stored event (the client sends the same-day
    confirmation from it), ``before_append`` with the events about to be stored
    (the client's transport stops a message whose recipient is opting out right
    then); ``clock`` returns the current time.
    """

    def __init__(
        self,
        storage: Storage,
        *,
        brands: Iterable[str] | None = None,
        shared: Mapping[str, Iterable[str]] | None = None,
        on_recorded: Callable[[ConsentEvent], None] | None = None,
        before_append: Callable[[Sequence[ConsentEvent]], None] | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.storage = storage
        self.brands = None if brands is None else frozenset(brands)
        #: brand → the brands whose events decide its state with it (Reg. art. 7(6), 9(2)).
        self.shared = {b: frozenset([b, *codes]) for b, codes in (shared or {}).items()}
        self.on_recorded = on_recorded
        self.before_append = before_append
        self.clock = clock

    # -- writing ------------------------------------------------------------

    def record(
        self,
        number: str,
        status: ConsentStatus | str,
        *,
        source: ConsentSource | str,
        brand: str,
        channel: Channel | str = Channel.MESAJ,
        recipient_type: RecipientType | str = RecipientType.BIREYSEL,
        consent_date: datetime | None = None,
        evidence: dict[str, Any] | None = None,
        scope: str | None = None,
    ) -> ConsentEvent:
        """Record one consent (ONAY) or opt-out (RET) with its proof; return the stored event.

        ``consent_date`` is when the recipient said it (default: now); it must be
        timezone-aware and not in the future. ``evidence`` is whatever proves it:
        a form reference and IP, an inbound message id and text, a document id.
        """
        now = self.clock()
        event = ConsentEvent(
            address=number,
            status=status,
            source=source,
            brand=brand,
            consent_date=now if consent_date is None else consent_date,
            recorded_at=now,
            channel=channel,
            recipient_type=recipient_type,
            scope=scope,
            evidence=evidence or {},
        )
        [stored] = self.append([event])
        return stored

    def append(self, events: Sequence[ConsentEvent]) -> list[ConsentEvent]:
        """Append prepared events (e.g. a migrated history) atomically, sealed into the chain."""
        now = self.clock()
        for event in events:
            if self.brands is not None and event.brand not in self.brands:
                known = ", ".join(sorted(self.brands)) or "none"
                raise InvalidValue(f"unknown brand {event.brand!r}: known brands are {known}")
            if event.consent_date > now + CLOCK_SKEW:
                raise InvalidValue(
                    f"consent_date {event.consent_date.isoformat()} is in the future"
                )
        if self.before_append is not None:
            self.before_append(events)
        stored = self.storage.append_consent_events(events, seal=event_hash)
        if self.on_recorded is not None:
            for event in stored:
                self.on_recorded(event)
        return stored

    # -- reading ------------------------------------------------------------

    def state(
        self,
        number: str,
        *,
        brand: str,
        channel: Channel | str = Channel.MESAJ,
        before: datetime | None = None,
    ) -> ConsentStatus | None:
        """The status (ONAY or RET) of ``number`` for ``brand``, or ``None``.

        With ``before``, as it stood just before that moment (see :meth:`states`).
        """
        found = self.details(number, brand=brand, channel=channel, before=before)
        return None if found is None else found.status

    def details(
        self,
        number: str,
        *,
        brand: str,
        channel: Channel | str = Channel.MESAJ,
        before: datetime | None = None,
    ) -> ConsentState | None:
        """The state with its deciding event and İYS registration, or ``None``."""
        address = normalize_address(number)
        found = self.states([address], brand=normalize_brand(brand), channel=channel, before=before)
        return found.get(address)

    def states(
        self,
        numbers: Iterable[str],
        *,
        brand: str,
        channel: Channel | str = Channel.MESAJ,
        before: datetime | None = None,
    ) -> dict[str, ConsentState]:
        """The states of a whole audience (E.164 numbers) in set-based lookups.

        The latest event decides (a RET wins a tie), with İYS as the authority
        (docs/rules.md, "İYS is the authority"): a RET made on İYS stands
        against a later ONAY of ours until İYS has registered that ONAY. Events
        of the brands sharing consent with ``brand`` decide with it. With
        ``before``, only events given before that moment count, and İYS
        registrations recorded after it count as not yet known.
        """
        channel = Channel(channel)
        brands = self.shared.get(brand, brand)
        addresses = list(dict.fromkeys(numbers))
        deciding = self.storage.consent_states(
            addresses, brand=brands, channel=channel, before=before
        )
        seqs = [e.seq for e in deciding.values() if e.seq is not None]
        iys = self.storage.iys_sync(seqs)
        if before is not None:
            iys = {seq: record for seq, record in iys.items() if record.updated_at < before}
        unconfirmed = [
            address
            for address, event in deciding.items()
            if event.status is ConsentStatus.ONAY
            and event.source not in IYS_SOURCES
            and not _registered(iys.get(event.seq or 0))
        ]
        deciding.update(self._refused_on_iys(unconfirmed, brands, channel, before))
        return {
            address: ConsentState(event.status, event, iys.get(event.seq or 0))
            for address, event in deciding.items()
        }

    def deciding(
        self,
        numbers: Iterable[str],
        *,
        brand: str,
        channel: Channel | str = Channel.MESAJ,
        before: datetime | None = None,
    ) -> dict[str, DecidingConsent]:
        """:meth:`states`, lean: what a preflight reads of each state, one record per number.

        The same deciding event as :meth:`states` gives (İYS the authority), with
        the status of the İYS record that state carries (``None`` where it has
        none: also an İYS record made on or after ``before``).
        """
        channel = Channel(channel)
        brands = self.shared.get(brand, brand)
        addresses = list(dict.fromkeys(numbers))
        deciding = self.storage.consent_states_with_iys(
            addresses, brand=brands, channel=channel, before=before
        )
        onay, registered = ConsentStatus.ONAY, IysSyncStatus.REGISTERED
        if before is not None:
            deciding = {
                address: found
                if found.iys_updated_at is None or found.iys_updated_at < before
                else found._replace(iys_status=None, iys_updated_at=None)
                for address, found in deciding.items()
            }
        unconfirmed = [
            address
            for address, found in deciding.items()
            if found.status is onay
            and found.source not in IYS_SOURCES
            and found.iys_status is not registered
        ]
        for address, event in self._refused_on_iys(unconfirmed, brands, channel, before).items():
            # As in states: the İYS record of the event it replaces is not its own.
            deciding[address] = DecidingConsent.from_event(event)
        return deciding

    def _refused_on_iys(
        self,
        unconfirmed: list[str],
        brands: str | frozenset[str],
        channel: Channel,
        before: datetime | None,
    ) -> dict[str, ConsentEvent]:
        """The RETs made on İYS that decide instead, for :meth:`states` and :meth:`deciding`.

        ``unconfirmed``: the addresses whose deciding event is an ONAY of ours that
        İYS has not registered. Where the latest event made on İYS (before
        ``before``) is a RET, that RET stands: İYS is the authority.
        """
        if not unconfirmed:
            return {}
        on_iys = self.storage.consent_states(
            unconfirmed, brand=brands, channel=channel, before=before, sources=IYS_SOURCES
        )
        return {a: e for a, e in on_iys.items() if e.status is ConsentStatus.RET}

    def history(self, number: str) -> list[ConsentEvent]:
        """Every event of ``number``, in the order they were recorded."""
        return list(self.storage.iter_consent_events(address=normalize_address(number)))

    # -- proving ------------------------------------------------------------

    def verify(
        self,
        *,
        anchor: LedgerAnchor | Iterable[LedgerAnchor] | None = None,
        key: bytes | str | None = None,
    ) -> VerificationReport:
        """Recompute the chain over every stored event and name each event that changed.

        An edited event fails its own hash; one rewritten with a recomputed hash
        breaks the link of the event after it; a removed one leaves a gap in
        ``seq``; a renumbered or inserted one is recognised by what its
        neighbours were chained to. Only the changed events are named, not the
        untouched ones whose link a change broke.

        The chain alone cannot show a change made with *every* later hash
        recomputed, nor the newest events removed: pass the anchors you kept
        (:meth:`anchor`) as ``anchor``, one or several. Each anchored event must
        still be stored with its anchored hash, and every later event must chain
        from it. With ``key``, every anchor must be signed with it
        (:class:`InvalidValue` otherwise).
        """
        anchors = _anchors_by_seq(anchor, key)
        check = _ChainCheck(anchors)
        for event in self.storage.iter_consent_events():
            check.feed(event)
        return check.report()

    def head(self) -> tuple[int, str] | None:
        """The newest event's ``(seq, hash)`` (see :meth:`anchor` to keep it elsewhere)."""
        last, _ = self._newest()
        return None if last is None else (last.seq or 0, last.hash or "")

    def anchor(self, *, key: bytes | str | None = None) -> LedgerAnchor | None:
        """The newest event as a :class:`LedgerAnchor` to publish; ``None`` while empty.

        With ``key`` it is signed (HMAC-SHA256). Verify against the previous
        anchor before taking a new one, so an anchor never vouches for a
        ledger that was already changed (docs/consent.md).
        """
        last, count = self._newest()
        if last is None:
            return None
        found = LedgerAnchor(last.seq or 0, last.hash or "", count, self.clock())
        return found if key is None else found.signed(key)

    def _newest(self) -> tuple[ConsentEvent | None, int]:
        """The newest sealed event (``None`` if there is none) and how many events are stored."""
        last: ConsentEvent | None = None
        count = 0
        for last in self.storage.iter_consent_events():  # noqa: B007 - we want the last one
            count += 1
        if last is None or last.seq is None or last.hash is None:
            return None, count
        return last, count

    def export(
        self, directory: str | Path, *, number: str | None = None, meter: Meter | None = None
    ) -> EvidenceExport:
        """Write an evidence bundle an auditor can check without isobil.

        ``consent-events.jsonl`` (one event a line, with ``prev_hash`` and
        ``hash``), ``consent-events.csv`` (the same, for spreadsheets) and
        ``summary.json`` (counts, the head, the algorithm, and this ledger's
        own verification, as :meth:`verify` gives it). With ``number``, only that
        recipient's events. The ledger is read once, written and verified as it
        goes; ``meter`` (a :class:`~isobil.contacts.Meter`) hears how many events
        were read, in one stage ``"exporting"``.
        """
        target = Path(directory)
        target.mkdir(parents=True, exist_ok=True)
        wanted = None if number is None else normalize_address(number)
        count = 0
        jsonl_path, csv_path, summary_path = (
            target / "consent-events.jsonl",
            target / "consent-events.csv",
            target / "summary.json",
        )
        check = _ChainCheck({})
        read = 0
        if meter is not None:
            meter.phase("exporting", None, "events")
        with (
            jsonl_path.open("w", encoding="utf-8") as jsonl,
            csv_path.open("w", encoding="utf-8", newline="") as csv_file,
        ):
            writer = csv.DictWriter(csv_file, fieldnames=EXPORT_FIELDS)
            writer.writeheader()
            previous = GENESIS_HASH
            for event in self.storage.iter_consent_events():
                check.feed(event)
                if wanted is None or event.address == wanted:
                    row = {**event_to_json(event), "prev_hash": previous, "hash": event.hash}
                    jsonl.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
                    flat = {**row, "evidence": json.dumps(row["evidence"], ensure_ascii=False)}
                    writer.writerow({key: inert(value) for key, value in flat.items()})
                    count += 1
                previous = event.hash or ""
                read += 1
                if meter is not None and read % METER_ROWS == 0:
                    meter.update(read)
        if meter is not None:
            meter.update(read)
        verification = check.report()
        summary = {
            "events": count,
            "recipient": wanted,
            "ledger_events": verification.checked,
            "ledger_head": {"seq": verification.head_seq, "hash": verification.head_hash},
            "ledger_verified": verification.ok,
            "problems": [str(p) for p in verification.problems],
            "algorithm": (
                "hash = sha256(prev_hash + '\\n' + canonical), canonical = JSON of every "
                "field but prev_hash and hash, sort_keys, separators (',', ':'), UTF-8 "
                f"unescaped; the first prev_hash is {GENESIS_HASH}"
            ),
            "exported_at": _iso(self.clock()),
        }
        summary_path.write_text(
            json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        return EvidenceExport(target, count, verification)


def _anchors_by_seq(
    anchor: LedgerAnchor | Iterable[LedgerAnchor] | None, key: bytes | str | None
) -> dict[int, LedgerAnchor]:
    given = [] if anchor is None else [anchor] if isinstance(anchor, LedgerAnchor) else anchor
    anchors: dict[int, LedgerAnchor] = {}
    for one in given:
        if not isinstance(one, LedgerAnchor):
            raise InvalidValue(
                f"not a LedgerAnchor: {one!r} (read one with LedgerAnchor.from_json)"
            )
        if key is not None and not one.signed_by(key):
            state = "unsigned" if one.signature is None else "not signed with this key"
            raise InvalidValue(
                f"the ledger anchor of event {one.seq} taken {_iso(one.taken_at)} is {state}"
            )
        other = anchors.setdefault(one.seq, one)
        if other.hash != one.hash:
            raise InvalidValue(
                f"two ledger anchors of event {one.seq} disagree: {other.hash} and {one.hash}"
            )
    return anchors


#: How many recent events verification remembers to recognise renumbered and
#: inserted ones (a memory bound: the ledger itself is streamed).
_RECENT = 1024
#: How far a renumbered event is looked for when nothing it was chained to is known.
_SHIFT = 8


class _ChainCheck:
    """Verification of the stored events, fed in seq order; names root causes only."""

    def __init__(self, anchors: Mapping[int, LedgerAnchor]) -> None:
        self.anchors = anchors
        self.named: dict[int, LedgerProblem] = {}
        self.missing: list[LedgerProblem] = []
        self.unmatched: list[LedgerAnchor] = []
        # hash → (stored seq, sealed seq) of recent events; stored seq → whether
        # the event matched its hash and its link to the event before it.
        self.recent: dict[str, tuple[int, int]] = {GENESIS_HASH: (0, 0)}
        self.sound: dict[int, bool] = {}
        self.order: deque[tuple[str, int]] = deque()
        self.previous: ConsentEvent | None = None
        self.checked = 0

    def _name(self, seq: int, kind: str, detail: str) -> None:
        self.named.setdefault(seq, LedgerProblem(seq, kind, detail))

    def _gap(self, first: int, last: int, detail: str) -> None:
        self.missing.append(LedgerProblem(first, "missing", detail, last))

    def feed(self, event: ConsentEvent) -> None:
        seq = event.seq or 0
        previous = self.previous
        expected = 1 if previous is None else (previous.seq or 0) + 1
        gap = seq != expected
        if gap:
            span = f"{expected}" if seq == expected + 1 else f"{expected}–{seq - 1}"
            self._gap(expected, seq - 1, f"events {span} are not in storage")
        before = GENESIS_HASH if previous is None else previous.hash
        # Events stored before revision 0005 have no prev_hash: their link is
        # the event before them, and a broken link shows as their own change.
        chained_to = event.prev_hash if event.prev_hash is not None else before
        sealed, sound = seq, True
        if event.hash is None:
            self._name(seq, "unsealed", "the event has no hash")
            sound = False
        elif gap and event.prev_hash is None:
            sound = False  # chained to a missing event that kept no link: nothing to check
        elif event.hash != event_hash(chained_to, event):
            found = self._sealed_as(event, chained_to)
            if found is None and event.prev_hash is None and chained_to != GENESIS_HASH:
                # The first event keeps no prev_hash: was it moved from the start?
                found = self._sealed_as(event, GENESIS_HASH)
                chained_to = chained_to if found is None else GENESIS_HASH
            if found is None:
                self._name(seq, "altered", "its stored content does not match its hash")
                sound = False
            else:
                sealed = found
                self._name(seq, "renumbered", f"it was sealed as event {found}")
        linked = (chained_to or GENESIS_HASH) == before
        if sound and not linked and not gap:
            self._broken_link(event, chained_to or GENESIS_HASH, previous, moved=sealed != seq)
        anchored = self.anchors.get(seq)
        if anchored is not None and anchored.hash != event.hash:
            self.unmatched.append(anchored)
        self._remember(event, sealed, sound and linked and not gap)

    def _sealed_as(self, event: ConsentEvent, chained_to: str | None) -> int | None:
        """The seq ``event`` was sealed with, when only its seq was changed."""
        seq = event.seq or 0
        known = self.recent.get(chained_to or "")
        candidates = (
            [known[1] + 1]
            if known is not None
            else [seq + d for d in range(-_SHIFT, _SHIFT + 1) if d and seq + d > 0]
        )
        for candidate in candidates:
            moved = attrs.evolve(event, seq=candidate)
            if candidate != seq and event_hash(chained_to, moved) == event.hash:
                return candidate
        return None

    def _broken_link(
        self, event: ConsentEvent, chained_to: str, previous: ConsentEvent | None, *, moved: bool
    ) -> None:
        """``event`` is sound but not chained to the event stored before it: who changed?

        Chained to an earlier event: the events between were inserted (or moved
        there, and named already). Renumbered and chained to an event not seen
        yet: it was moved ahead of it, and is named. Otherwise the event before
        it was rewritten with a recomputed hash.
        """
        seq = event.seq or 0
        if previous is None:
            self._name(seq, "altered", "it is chained to a hash no event before it has")
            return
        before = previous.seq or 0
        if before in self.named:
            return  # the change to the event before explains the link
        known = self.recent.get(chained_to)
        if known is not None and known[0] < before:
            between = range(known[0] + 1, seq)
            if any(s in self.named for s in between):
                return
            for inserted in between:
                if self.sound.get(inserted, False):
                    self._name(
                        inserted,
                        "inserted",
                        f"event {seq} was chained to event {known[0]}, before it",
                    )
            return
        if moved:
            return
        self._name(
            before,
            "rewritten",
            f"its hash was recomputed after a change: event {seq} was chained to "
            f"{chained_to[:12]}…, not to {(previous.hash or '')[:12]}…",
        )

    def _remember(self, event: ConsentEvent, sealed: int, sound: bool) -> None:
        seq = event.seq or 0
        if event.hash is not None:
            self.recent[event.hash] = (seq, sealed)
        self.sound[seq] = sound
        self.order.append((event.hash or "", seq))
        if len(self.order) > _RECENT:
            old_hash, old_seq = self.order.popleft()
            if self.recent.get(old_hash, (None,))[0] == old_seq:
                del self.recent[old_hash]
            self.sound.pop(old_seq, None)
        self.previous = event
        self.checked += 1

    def report(self) -> VerificationReport:
        last = self.previous
        last_seq = 0 if last is None else last.seq or 0
        last_hash = GENESIS_HASH if last is None else last.hash or ""
        for anchored in self.unmatched:
            self._name(
                anchored.seq,
                "anchor",
                f"its hash is not the one anchored {_iso(anchored.taken_at)}: this event or "
                "one before it was changed and the later hashes recomputed",
            )
        beyond = [a for a in self.anchors.values() if a.seq > last_seq]
        if beyond:
            newest = max(beyond, key=lambda a: a.seq)
            self._gap(
                last_seq + 1,
                newest.seq,
                f"the ledger ends at event {last_seq}, but event {newest.seq} was anchored "
                f"{_iso(newest.taken_at)}",
            )
        problems = sorted([*self.named.values(), *self.missing], key=lambda p: (p.seq, p.kind))
        return VerificationReport(
            self.checked, last_seq, last_hash, tuple(problems), len(self.anchors)
        )
