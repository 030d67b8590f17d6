"""Export contacts, a group or the blacklist to .csv or .xlsx, importable again as is."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final, TypeVar

from isobil._meter import METER_ROWS, Meter
from isobil._tables import Cell, write_csv, write_xlsx
from isobil.contacts._import import EXPORT_HEADER, GROUP_SEPARATOR
from isobil.errors import InvalidValue
from isobil.storage import Storage

__all__ = ["BLACKLIST_HEADER", "export_blacklist", "export_contacts"]

#: Columns of a blacklist export; ``import_blacklist`` reads them back.
BLACKLIST_HEADER: Final = ("Telefon", "Sebep", "Kaynak", "Tarih")
_SUFFIXES: Final = (".csv", ".xlsx")
_T = TypeVar("_T")


def _check_suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in _SUFFIXES:
        raise InvalidValue(
            f"{path.name}: can export to .csv or .xlsx, not {suffix or 'no suffix'!r}"
        )
    return suffix


def _metered(items: Iterator[_T], meter: Meter | None) -> Iterator[_T]:
    """``items``, telling ``meter`` how many were handed on every :data:`METER_ROWS`."""
    if meter is None:
        yield from items
        return
    count = 0
    for count, item in enumerate(items, start=1):
        yield item
        if count % METER_ROWS == 0:
            meter.update(count)
    meter.update(count)


def _write(path: Path, sheet: str, header: Sequence[str], rows: Iterator[Sequence[Cell]]) -> int:
    if _check_suffix(path) == ".csv":
        return write_csv(path, header, rows)
    counted = _Counter(rows)
    write_xlsx(path, {sheet: (header, counted)})
    return counted.count


class _Counter:
    def __init__(self, rows: Iterator[Sequence[Cell]]) -> None:
        self.rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[Sequence[Cell]]:
        for row in self.rows:
            self.count += 1
            yield row


def _memberships(storage: Storage) -> dict[str, list[str]]:
    # The storage contract has no bulk "groups of these numbers": walk each group
    # once (one query per group) instead of one groups_of() call per contact.
    found: dict[str, list[str]] = {}
    for group in sorted(storage.groups()):
        for contact in storage.iter_contacts(group=group):
            found.setdefault(contact.number, []).append(group)
    return found


def export_contacts(
    storage: Storage, path: str | Path, *, group: str | None = None, meter: Meter | None = None
) -> int:
    """Write every contact (or ``group``'s members) to ``path``; return how many.

    The columns are :data:`EXPORT_HEADER` (Telefon, Ad, Soyad, E-posta, Tip,
    Gruplar) and then one per custom field, named by its key. Every group of a
    contact is listed in Gruplar (``"Ankara; VIP"``), also when only one group is
    exported, so importing the file restores the memberships. A file that starts
    with exactly these columns is read back by position with custom keys
    verbatim, so the round trip is exact (custom values that are empty are not
    kept, as in any import).

    ``meter`` hears two stages in rows, both out of the contacts to write:
    ``"scanning"`` (collecting the custom field names) and ``"exporting"``.
    """
    target = Path(path)
    _check_suffix(target)
    groups = _memberships(storage)
    for name in groups.values():
        for group_name in name:
            if GROUP_SEPARATOR in group_name:
                raise InvalidValue(
                    f"group {group_name!r} contains {GROUP_SEPARATOR!r}, which separates "
                    "groups in the Gruplar column; rename it before exporting"
                )
    # First pass: the custom field keys, in order of first appearance, so the
    # header is complete before the first row is written; the second pass streams.
    keys: dict[str, None] = {}
    total = storage.count_contacts(group=group) if meter is not None else None
    if meter is not None:
        meter.phase("scanning", total, "rows")
    for contact in _metered(storage.iter_contacts(group=group), meter):
        keys.update(dict.fromkeys(k for k in contact.fields if k))
    custom = list(keys)
    if meter is not None:
        meter.phase("exporting", total, "rows")

    def rows() -> Iterator[Sequence[Cell]]:
        for contact in _metered(storage.iter_contacts(group=group), meter):
            yield [
                contact.number,
                contact.name,
                contact.surname,
                contact.email,
                contact.recipient_type.value,
                f"{GROUP_SEPARATOR} ".join(groups.get(contact.number, ())),
                *(contact.fields.get(k) for k in custom),
            ]

    return _write(target, "Rehber", [*EXPORT_HEADER, *custom], rows())


def export_blacklist(storage: Storage, path: str | Path) -> int:
    """Write the blacklist (Telefon, Sebep, Kaynak, Tarih) to ``path``; return how many.

    ``import_blacklist`` reads the file back with every reason, source and date.
    """
    target = Path(path)

    def rows() -> Iterator[Sequence[Cell]]:
        for entry in storage.iter_blacklist():
            yield [entry.number, entry.reason, entry.source, entry.added_at.isoformat()]

    return _write(target, "Kara liste", BLACKLIST_HEADER, rows())
