"""The consent report (F5): every opt-in and opt-out by day, brand, number, keyword, source."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import attrs

from isobil import phone
from isobil._tables import write_csv, write_xlsx
from isobil._time import ISTANBUL
from isobil.storage import InboundRecord, Storage

__all__ = ["ConsentReport", "ConsentReportRow", "consent_report"]

ROW_HEADER = ("day", "brand", "status", "source", "number", "keyword", "count")
UNKNOWN_HEADER = ("received_at", "from", "to", "text")


@attrs.frozen(order=True)
class ConsentReportRow:
    """How many events share a day (Istanbul), brand, status, source, number and keyword.

    ``number`` is the number recipients wrote to and ``keyword`` the word that
    decided it, for consent taken by SMS; both are empty for other sources.
    """

    day: date
    brand: str
    status: str
    source: str
    number: str
    keyword: str
    count: int


@attrs.frozen
class ConsentReport:
    """Opt-ins and opt-outs counted, and the inbound texts nobody understood."""

    since: datetime | None
    until: datetime | None
    rows: tuple[ConsentReportRow, ...]
    unknown: tuple[InboundRecord, ...]

    def total(self, status: str | None = None, *, brand: str | None = None) -> int:
        """Events counted, optionally of one status (``"ONAY"``/``"RET"``) and brand."""
        return sum(
            r.count
            for r in self.rows
            if (status is None or r.status == status) and (brand is None or r.brand == brand)
        )

    def _row_cells(self) -> Iterator[tuple[str, str, str, str, str, str, int]]:
        for r in self.rows:
            yield (r.day.isoformat(), r.brand, r.status, r.source, r.number, r.keyword, r.count)

    def _unknown_cells(self) -> Iterator[tuple[str, str, str, str]]:
        for u in self.unknown:
            yield (u.received_at.astimezone(ISTANBUL).isoformat(), u.from_, u.to, u.text)

    def to_csv(self, path: str | Path) -> None:
        """Write the counts to ``path`` and the unknown texts beside it (``*-unknown.csv``)."""
        target = Path(path)
        write_csv(target, ROW_HEADER, self._row_cells())
        write_csv(
            target.with_name(f"{target.stem}-unknown{target.suffix}"),
            UNKNOWN_HEADER,
            self._unknown_cells(),
        )

    def to_xlsx(self, path: str | Path) -> None:
        """Write an .xlsx with a "consent" sheet and an "unknown texts" sheet."""
        write_xlsx(
            path,
            {
                "consent": (ROW_HEADER, self._row_cells()),
                "unknown texts": (UNKNOWN_HEADER, self._unknown_cells()),
            },
        )

    def __str__(self) -> str:
        lines = [
            f"consent report: {self.total('ONAY')} opt-in(s), {self.total('RET')} opt-out(s), "
            f"{len(self.unknown)} unknown text(s)"
        ]
        lines += [
            f"  {r.day} {r.brand:8} {r.status:4} {r.source:18} {r.number:14} "
            f"{r.keyword:10} {r.count}"
            for r in self.rows
        ]
        lines += [
            f"  ? {u.received_at.astimezone(ISTANBUL):%Y-%m-%d %H:%M} "
            f"{phone.mask(u.from_)} → {u.to}: {u.text!r}"
            for u in self.unknown
        ]
        return "\n".join(lines)


def consent_report(
    storage: Storage, *, since: datetime | None = None, until: datetime | None = None
) -> ConsentReport:
    """Count consent events recorded in [since, until) and list unknown inbound texts."""
    inbound = {r.id: r for r in storage.iter_inbound(since=since, until=until)}
    counts: Counter[tuple[date, str, str, str, str, str]] = Counter()
    for event in storage.iter_consent_events():
        if (since is not None and event.recorded_at < since) or (
            until is not None and event.recorded_at >= until
        ):
            continue
        via = inbound.get(event.evidence.get("inbound_id", ""))
        counts[
            (
                event.consent_date.astimezone(ISTANBUL).date(),
                event.brand,
                event.status.value,
                event.source.value,
                event.evidence.get("to", ""),
                (via.keyword or "") if via else "",
            )
        ] += 1
    rows = tuple(sorted(ConsentReportRow(*key, count) for key, count in counts.items()))
    unknown = tuple(r for r in inbound.values() if r.intent == "unknown")
    return ConsentReport(since, until, rows, unknown)
