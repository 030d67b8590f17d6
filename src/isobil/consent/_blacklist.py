"""The blacklist (kara liste): numbers that never receive anything from this sender."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import attrs

from isobil import phone
from isobil.errors import InvalidValue
from isobil.model import RowError
from isobil.storage import BlacklistEntry, Storage

__all__ = ["Blacklist", "BlacklistImport", "RowError"]

CSV_FIELDS = ("number", "reason", "source", "added_at")
_NUMBER_HEADERS = {"number", "numara", "telefon", "tel", "gsm", "phone", "msisdn", "cep"}
_REASON_HEADERS = {"reason", "sebep", "neden", "aciklama", "açıklama"}
_SOURCE_HEADERS = {"source", "kaynak"}


@attrs.frozen
class BlacklistImport:
    """What an import took and what it refused; nothing is dropped silently."""

    added: int
    already_listed: int
    invalid: tuple[RowError, ...]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Blacklist:
    """Add, remove, look up, import and export blacklisted numbers.

    Every send checks the blacklist; a blacklisted number receives no message of
    any category from this sender until it is removed.
    """

    def __init__(self, storage: Storage, *, clock: Callable[[], datetime] = _utcnow) -> None:
        self.storage = storage
        self.clock = clock

    def add(self, number: str, *, reason: str, source: str | None = None) -> BlacklistEntry:
        """Blacklist ``number`` (any shape) with the reason; replaces an existing entry."""
        if not reason.strip():
            raise InvalidValue("a blacklist entry needs a reason")
        entry = BlacklistEntry(phone.normalize(number), reason, self.clock(), source)
        self.storage.add_to_blacklist([entry])
        return entry

    def remove(self, number: str) -> bool:
        """Take ``number`` off the blacklist; return whether it was on it."""
        return self.storage.remove_from_blacklist([phone.normalize(number)]) == 1

    def __contains__(self, number: object) -> bool:
        if not isinstance(number, str):
            return False
        try:
            normalized = phone.normalize(number)
        except InvalidValue:
            return False
        return bool(self.storage.blacklisted([normalized]))

    def __iter__(self) -> Iterator[BlacklistEntry]:
        return self.storage.iter_blacklist()

    def export_csv(self, path: str | Path) -> int:
        """Write every entry as CSV (``number,reason,source,added_at``); return the count."""
        count = 0
        with Path(path).open("w", encoding="utf-8", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(CSV_FIELDS)
            for entry in self.storage.iter_blacklist():
                writer.writerow(
                    [entry.number, entry.reason, entry.source or "", entry.added_at.isoformat()]
                )
                count += 1
        return count

    def import_csv(
        self, path: str | Path, *, reason: str = "imported", source: str | None = None
    ) -> BlacklistImport:
        """Blacklist every number of a CSV file with a header row.

        The number column is found by its header (``number``, ``telefon``,
        ``numara``, ``gsm`` …); ``reason`` and ``source`` columns are used when
        present, else the given defaults. Invalid rows are reported with their
        row number, never silently skipped. UTF-8 (with or without BOM) is read.
        """
        entries: list[BlacklistEntry] = []
        invalid: list[RowError] = []
        now = self.clock()
        with Path(path).open(encoding="utf-8-sig", newline="") as file:
            reader = csv.reader(file)
            header = [h.strip().lower() for h in next(reader, [])]
            number_col = _column(header, _NUMBER_HEADERS)
            if number_col is None:
                raise InvalidValue(
                    f"{path}: no number column in the header {header!r} "
                    f"(expected one of {', '.join(sorted(_NUMBER_HEADERS))})"
                )
            reason_col = _column(header, _REASON_HEADERS)
            source_col = _column(header, _SOURCE_HEADERS)
            for row_number, row in enumerate(reader, start=2):
                if not any(cell.strip() for cell in row):
                    continue
                raw = row[number_col] if number_col < len(row) else ""
                try:
                    number = phone.normalize(raw)
                except InvalidValue as exc:
                    invalid.append(RowError(row_number, header[number_col], raw, str(exc)))
                    continue
                entries.append(
                    BlacklistEntry(
                        number,
                        _cell(row, reason_col) or reason,
                        now,
                        _cell(row, source_col) or source,
                    )
                )
        unique = {e.number: e for e in entries}
        added = self.storage.add_to_blacklist(unique.values())
        return BlacklistImport(added, len(unique) - added, tuple(invalid))


def _column(header: list[str], names: set[str]) -> int | None:
    for index, name in enumerate(header):
        if name in names:
            return index
    return None


def _cell(row: list[str], index: int | None) -> str:
    if index is None or index >= len(row):
        return ""
    return row[index].strip()
