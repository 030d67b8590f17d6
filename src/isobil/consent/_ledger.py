"""The consent ledger: append-only consent events, chained by SHA-256 so tampering shows.

Each stored event carries ``hash = sha256(previous_hash + "\\n" + canonical_json)``,
where ``canonical_json`` is the event's fields (everything but the hashes) as
JSON with sorted keys and no spaces, and the first event's previous hash is 64
zeros. Anyone can recompute the chain with the standard library (docs/consent.md).
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs

from isobil._tables import inert
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
from isobil.storage import IysSync, IysSyncStatus, Storage

__all__ = [
    "GENESIS_HASH",
    "IYS_SOURCES",
    "ConsentLedger",
    "ConsentState",
    "EvidenceExport",
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
    """One place where the stored ledger does not match its own chain."""

    seq: int
    kind: str  # "altered", "missing", "unsealed" or "head"
    detail: str

    def __str__(self) -> str:
        return f"event {self.seq}: {self.kind} — {self.detail}"


@attrs.frozen
class VerificationReport:
    """The result of :meth:`ConsentLedger.verify`: ``ok`` or the problems found."""

    checked: int
    head_seq: int
    head_hash: str
    problems: tuple[LedgerProblem, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether every event matches the chain."""
        return not self.problems

    def __str__(self) -> str:
        if self.ok:
            return f"ledger intact: {self.checked} events, head {self.head_seq} {self.head_hash}"
        lines = [f"ledger TAMPERED: {len(self.problems)} problem(s) in {self.checked} events"]
        lines += [f"  {p}" for p in self.problems]
        return "\n".join(lines)


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
    confirmation from it); ``clock`` returns the current time.
    """

    def __init__(
        self,
        storage: Storage,
        *,
        brands: Iterable[str] | None = None,
        shared: Mapping[str, Iterable[str]] | None = None,
        on_recorded: Callable[[ConsentEvent], None] | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.storage = storage
        self.brands = None if brands is None else frozenset(brands)
        #: brand → the brands whose events decide its state with it (Reg. art. 7(6), 9(2)).
        self.shared = {b: frozenset([b, *codes]) for b, codes in (shared or {}).items()}
        self.on_recorded = on_recorded
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
        iys = {
            seq: record
            for seq, record in self.storage.iys_sync(seqs).items()
            if before is None or record.updated_at < before
        }
        unconfirmed = [
            address
            for address, event in deciding.items()
            if event.status is ConsentStatus.ONAY
            and event.source not in IYS_SOURCES
            and not _registered(iys.get(event.seq or 0))
        ]
        if unconfirmed:
            on_iys = self.storage.consent_states(
                unconfirmed, brand=brands, channel=channel, before=before, sources=IYS_SOURCES
            )
            for address, event in on_iys.items():
                if event.status is ConsentStatus.RET:
                    deciding[address] = event
        return {
            address: ConsentState(event.status, event, iys.get(event.seq or 0))
            for address, event in deciding.items()
        }

    def history(self, number: str) -> list[ConsentEvent]:
        """Every event of ``number``, in the order they were recorded."""
        return list(self.storage.iter_consent_events(address=normalize_address(number)))

    # -- proving ------------------------------------------------------------

    def verify(self, *, expected_head: tuple[int, str] | None = None) -> VerificationReport:
        """Recompute the chain over every stored event and name each one that does not fit.

        An altered event fails its own hash; a removed one leaves a gap in
        ``seq`` and breaks the next link; reordered events fail both. Removing
        the *newest* events leaves no trace in the chain itself: keep the
        :meth:`head` somewhere else (a log, a signed report, İYS) and pass it as
        ``expected_head`` to detect that too.
        """
        problems: list[LedgerProblem] = []
        previous_hash: str | None = None
        expected_seq = 1
        last_seq, last_hash, checked = 0, GENESIS_HASH, 0
        for event in self.storage.iter_consent_events():
            checked += 1
            seq = event.seq or 0
            if seq != expected_seq:
                missing = (
                    f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq}–{seq - 1}"
                )
                problems.append(
                    LedgerProblem(expected_seq, "missing", f"events {missing} are not in storage")
                )
            if event.hash is None:
                problems.append(LedgerProblem(seq, "unsealed", "the event has no hash"))
            elif event.hash != event_hash(previous_hash, event):
                problems.append(
                    LedgerProblem(
                        seq,
                        "altered",
                        "its stored content or position does not match its hash",
                    )
                )
            previous_hash = event.hash
            expected_seq = seq + 1
            last_seq, last_hash = seq, event.hash or ""
        if expected_head is not None:
            head_seq, head_hash = expected_head
            if head_seq > last_seq:
                problems.append(
                    LedgerProblem(head_seq, "missing", f"the ledger ends at {last_seq}")
                )
            elif head_seq == last_seq and head_hash != last_hash:
                problems.append(LedgerProblem(head_seq, "head", "the newest hash differs"))
        return VerificationReport(checked, last_seq, last_hash, tuple(problems))

    def head(self) -> tuple[int, str] | None:
        """The newest event's ``(seq, hash)``: store it elsewhere to anchor the chain."""
        last: ConsentEvent | None = None
        for last in self.storage.iter_consent_events():  # noqa: B007 - we want the last one
            pass
        if last is None or last.seq is None or last.hash is None:
            return None
        return last.seq, last.hash

    def export(self, directory: str | Path, *, number: str | None = None) -> EvidenceExport:
        """Write an evidence bundle an auditor can check without isobil.

        ``consent-events.jsonl`` (one event a line, with ``prev_hash`` and
        ``hash``), ``consent-events.csv`` (the same, for spreadsheets) and
        ``summary.json`` (counts, the head, the algorithm, and this ledger's
        own verification). With ``number``, only that recipient's events.
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
        with (
            jsonl_path.open("w", encoding="utf-8") as jsonl,
            csv_path.open("w", encoding="utf-8", newline="") as csv_file,
        ):
            writer = csv.DictWriter(csv_file, fieldnames=EXPORT_FIELDS)
            writer.writeheader()
            for row in self._rows_with_links(wanted):
                jsonl.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
                flat = {**row, "evidence": json.dumps(row["evidence"], ensure_ascii=False)}
                writer.writerow({key: inert(value) for key, value in flat.items()})
                count += 1
        verification = self.verify()
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

    def _rows_with_links(self, address: str | None) -> Iterator[dict[str, Any]]:
        previous = GENESIS_HASH
        for event in self.storage.iter_consent_events():
            if address is None or event.address == address:
                yield {**event_to_json(event), "prev_hash": previous, "hash": event.hash}
            previous = event.hash or ""
