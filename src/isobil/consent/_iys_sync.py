"""Keeping the ledger and İYS in step: push what we collected, poll, pull what changed there.

Consent the sender collects itself must reach İYS within 3 business days
(R-CONSENT); recipients can also change their consent on İYS directly, and
those changes must stop our messages too. :class:`IysSynchronizer` does one
round of each, within İYS's rate limits, and reports the deadlines.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import attrs

from isobil.consent._business_days import business_day_deadline
from isobil.consent._iys import IysConsent, IysGateway, IysRateLimited
from isobil.consent._ledger import IYS_SOURCES, ConsentLedger
from isobil.errors import InvalidValue
from isobil.model import ConsentEvent, normalize_brand
from isobil.storage import IysSync, IysSyncStatus, Storage

__all__ = ["IysDeadline", "IysSyncReport", "IysSynchronizer", "iys_pulled_at"]

log = logging.getLogger("isobil")


def _pulled_key(brand: str) -> str:
    return f"iys.pulled_at.{brand}"


def iys_pulled_at(storage: Storage, brand: str) -> datetime | None:
    """When ``brand``'s changes on İYS were last pulled to the end, or ``None`` if never.

    The preflight uses it to tell how current the ledger's view of İYS is.
    """
    value = storage.get_state(_pulled_key(normalize_brand(brand)))
    return None if value is None else datetime.fromisoformat(value)


@attrs.frozen
class IysDeadline:
    """A consent not yet registered in İYS and the end of its 3-business-day window."""

    seq: int
    address: str = attrs.field(repr=False)
    consent_date: datetime
    deadline: datetime
    overdue: bool


@attrs.frozen
class IysSyncReport:
    """What one :meth:`IysSynchronizer.run` did."""

    pushed: int = 0
    batches: tuple[str, ...] = ()
    registered: int = 0
    rejected: int = 0
    pending: int = 0
    pulled: int = 0
    rate_limited: float | None = None
    deadlines: tuple[IysDeadline, ...] = ()

    @property
    def overdue(self) -> tuple[IysDeadline, ...]:
        """Consents whose registration deadline has passed."""
        return tuple(d for d in self.deadlines if d.overdue)

    def __str__(self) -> str:
        text = (
            f"İYS sync: pushed {self.pushed} in {len(self.batches)} batch(es), "
            f"{self.registered} registered, {self.rejected} rejected, {self.pending} pending, "
            f"{self.pulled} pulled; {len(self.deadlines)} awaiting registration "
            f"({len(self.overdue)} overdue)"
        )
        if self.rate_limited is not None:
            text += f"; rate limited, retry in {self.rate_limited:.0f} s"
        return text


def _utcnow() -> datetime:
    return datetime.now(UTC)


class IysSynchronizer:
    """One brand's two-way sync between the consent ledger and İYS.

    ``run()`` pushes events not yet registered (in batches of at most
    ``batch_size``), polls pending batches, and pulls changes made on İYS into
    the ledger (source ``IYS_*``); the pull cursor is kept in storage, so any
    process can continue where the last left off. İYS's rate limits are
    respected by stopping at the first :class:`IysRateLimited` and saying when
    to retry; nothing is lost — what was not pushed is pushed next time.
    """

    def __init__(
        self,
        ledger: ConsentLedger,
        gateway: IysGateway,
        *,
        brand: str,
        batch_size: int = 1_000,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        if batch_size < 1:
            raise InvalidValue(f"batch_size must be >= 1, got {batch_size}")
        self.ledger = ledger
        self.storage: Storage = ledger.storage
        self.gateway = gateway
        self.brand = normalize_brand(brand)
        self.batch_size = min(batch_size, gateway.max_batch)
        self.clock = clock

    @property
    def _cursor_key(self) -> str:
        return f"iys.pull_cursor.{self.brand}"

    def run(self) -> IysSyncReport:
        """Push, poll and pull once; report what happened and what is still due."""
        report = IysSyncReport()
        for phase in (self._push, self._poll, self._pull):
            # Each phase records its progress as it goes, so a rate limit hit midway
            # loses nothing: the rest is done by the next run.
            report = phase(report)
        return attrs.evolve(report, deadlines=tuple(self.deadlines()))

    def _limited(self, report: IysSyncReport, exc: IysRateLimited) -> IysSyncReport:
        log.info("isobil: İYS rate limit reached; retry in %s s", exc.retry_after)
        wait = exc.retry_after or 60.0
        return attrs.evolve(report, rate_limited=max(wait, report.rate_limited or 0.0))

    def _push(self, report: IysSyncReport) -> IysSyncReport:
        # Page through what is unsynced: each pushed page leaves the unsynced set
        # (it becomes pending), so memory stays at one batch whatever the backlog.
        while page := list(
            self.storage.iter_unsynced_consent_events(brand=self.brand, limit=self.batch_size)
        ):
            now = self.clock()
            self.storage.set_iys_sync(
                IysSync(e.seq or 0, IysSyncStatus.NOT_NEEDED, now)
                for e in page
                if e.source in IYS_SOURCES
            )
            ours = [e for e in page if e.source not in IYS_SOURCES]
            if not ours:
                continue
            try:
                report = self._push_batch(ours, report)
            except IysRateLimited as exc:
                return self._limited(report, exc)
        return report

    def _push_batch(self, events: list[ConsentEvent], report: IysSyncReport) -> IysSyncReport:
        request_id = self.gateway.add_consents([IysConsent.from_event(e) for e in events])
        now = self.clock()
        self.storage.set_iys_sync(
            IysSync(e.seq or 0, IysSyncStatus.PENDING, now, request_id=request_id) for e in events
        )
        return attrs.evolve(
            report,
            pushed=report.pushed + len(events),
            batches=(*report.batches, request_id),
        )

    def _poll(self, report: IysSyncReport) -> IysSyncReport:
        by_request: dict[str, list[IysSync]] = {}
        for record in self.storage.iter_iys_pending():
            by_request.setdefault(record.request_id or "", []).append(record)
        registered = rejected = pending = 0
        for request_id, records in by_request.items():
            try:
                result = self.gateway.batch_result(request_id)
            except IysRateLimited as exc:
                report = self._limited(report, exc)
                pending += len(records)
                continue
            if not result.done:
                pending += len(records)
                continue
            now = self.clock()
            outcome = {r.index: r for r in result.results}
            updates = []
            # The batch was sent in seq order, so record i is the i-th pending seq.
            for index, record in enumerate(sorted(records, key=lambda r: r.seq)):
                item = outcome.get(index)
                if item is not None and item.ok:
                    updates.append(IysSync(record.seq, IysSyncStatus.REGISTERED, now, request_id))
                    registered += 1
                else:
                    error = (
                        f"{item.error_code}: {item.error_message}"
                        if item is not None
                        else "İYS returned no result for this record"
                    )
                    updates.append(
                        IysSync(record.seq, IysSyncStatus.REJECTED, now, request_id, error=error)
                    )
                    rejected += 1
            self.storage.set_iys_sync(updates)
        return attrs.evolve(
            report,
            registered=report.registered + registered,
            rejected=report.rejected + rejected,
            pending=report.pending + pending,
        )

    def _pull(self, report: IysSyncReport) -> IysSyncReport:
        cursor = self.storage.get_state(self._cursor_key)
        pulled = 0
        while True:
            started = self.clock()
            try:
                changes = self.gateway.pull_changes(cursor)
            except IysRateLimited as exc:
                report = self._limited(report, exc)
                break
            if not changes.consents or changes.cursor is None:
                # Caught up: the ledger knows İYS as it stood when this page was asked for.
                self.storage.set_state(_pulled_key(self.brand), started.isoformat())
                break
            now = self.clock()
            events = [
                ConsentEvent(
                    address=c.recipient,
                    status=c.status,
                    source=c.source,
                    brand=self.brand,
                    consent_date=c.consent_date,
                    recorded_at=now,
                    channel=c.type,
                    recipient_type=c.recipient_type,
                    evidence={"iys_cursor": changes.cursor},
                )
                for c in changes.consents
                if c.source in IYS_SOURCES
            ]
            stored = self.ledger.append(events) if events else []
            self.storage.set_iys_sync(
                IysSync(e.seq or 0, IysSyncStatus.NOT_NEEDED, now) for e in stored
            )
            # The cursor moves only after the changes are in the ledger: a crash
            # between the two pulls the same page again rather than losing it.
            cursor = changes.cursor
            self.storage.set_state(self._cursor_key, cursor)
            pulled += len(stored)
        return attrs.evolve(report, pulled=report.pulled + pulled)

    def deadlines(self) -> Iterator[IysDeadline]:
        """Collected consents not registered yet, each with its 3-business-day deadline."""
        now = self.clock()
        unsynced = [
            e
            for e in self.storage.iter_unsynced_consent_events(brand=self.brand)
            if e.source not in IYS_SOURCES
        ]
        pending_seqs = {r.seq for r in self.storage.iter_iys_pending()}
        pending = []
        if pending_seqs:
            pending = [
                e
                for e in self.storage.iter_consent_events()
                if e.seq in pending_seqs and e.brand == self.brand
            ]
        for event in sorted([*unsynced, *pending], key=lambda e: e.seq or 0):
            # The window runs from when the sender had the consent, not from when
            # the recipient gave it on paper long before: recorded_at.
            deadline = business_day_deadline(event.recorded_at)
            yield IysDeadline(
                event.seq or 0, event.address, event.consent_date, deadline, deadline < now
            )
