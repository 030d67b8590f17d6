"""The address book (rehber): contacts by normalised number, and groups of them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, cast

import attrs

from isobil import phone
from isobil._meter import Meter
from isobil.contacts._export import export_contacts
from isobil.contacts._import import (
    DEFAULT_CHUNK_SIZE,
    PYTHON_TERMS,
    ImportReport,
    Progress,
    Terms,
    import_contacts,
)
from isobil.errors import InvalidValue
from isobil.model import Recipient, RecipientType
from isobil.storage import Storage

__all__ = ["ContactBook", "Group"]

_FIELDS = frozenset({"name", "surname", "email", "fields", "recipient_type"})


def _numbers(numbers: str | Iterable[str]) -> list[str]:
    if isinstance(numbers, str):
        numbers = [numbers]
    return [phone.normalize(n) for n in numbers]


class Group:
    """A named group of contacts, read lazily from storage.

    Iterating yields the members as :class:`~isobil.model.Recipient` objects in
    number order, straight from storage, so a million-member group is never held
    in memory; pass a group as the audience of a send (``to=book.group("VIP")``).
    A group exists while it has members.
    """

    def __init__(self, storage: Storage, name: str) -> None:
        if not isinstance(name, str) or not name.strip():
            raise InvalidValue("a group needs a non-empty name")
        self.storage = storage
        self.name = name

    def __iter__(self) -> Iterator[Recipient]:
        return self.storage.iter_contacts(group=self.name)

    def __len__(self) -> int:
        return self.storage.count_contacts(group=self.name)

    def __contains__(self, number: object) -> bool:
        if not isinstance(number, str):
            return False
        try:
            normalized = phone.normalize(number)
        except InvalidValue:
            return False
        return self.name in self.storage.groups_of(normalized)

    def __repr__(self) -> str:
        return f"Group({self.name!r})"

    def add(self, numbers: str | Iterable[str]) -> int:
        """Add existing contacts (any number shape) to the group; return how many joined.

        Raises :class:`InvalidValue` naming the numbers that are not contacts: a
        group holds contacts, so add them to the book first.
        """
        wanted = _numbers(numbers)
        known = self.storage.get_contacts(wanted)
        missing = [n for n in wanted if n not in known]
        if missing:
            shown = ", ".join(phone.mask(n) for n in missing[:5])
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise InvalidValue(
                f"not in the address book: {shown}{more}; add them with ContactBook.add first"
            )
        return self.storage.add_to_group(self.name, wanted)

    def remove(self, numbers: str | Iterable[str]) -> int:
        """Take contacts out of the group (they stay in the book); return how many left."""
        return self.storage.remove_from_group(self.name, _numbers(numbers))


class ContactBook:
    """Contacts and groups over any :class:`~isobil.storage.Storage`.

    Contacts are keyed by their number in E.164, so the same phone written as
    ``0532 123 45 67`` or ``+90 532 123 4567`` is one contact.
    """

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def add(
        self,
        number: str,
        *,
        name: str | None = None,
        surname: str | None = None,
        email: str | None = None,
        fields: Mapping[str, object] | None = None,
        recipient_type: RecipientType | str = RecipientType.BIREYSEL,
        groups: Iterable[str] = (),
    ) -> Recipient:
        """Add a contact, or replace the one with the same number; return it.

        The contact joins ``groups`` (and keeps the groups it was already in).
        """
        contact = Recipient(number, name, surname, email, fields or {}, recipient_type)
        group_names = [groups] if isinstance(groups, str) else list(groups)
        for group in group_names:
            Group(self.storage, group)  # validates the name before anything is stored
        self.storage.upsert_contacts([contact])
        for group in group_names:
            self.storage.add_to_group(group, [contact.number])
        return contact

    def update(self, number: str, /, **changes: object) -> Recipient:
        """Change some values of an existing contact; return it as stored.

        ``changes`` are any of ``name``, ``surname``, ``email``, ``fields`` (replaces
        the custom fields) and ``recipient_type``. Raises :class:`InvalidValue` if
        the number is not a contact.
        """
        unknown = set(changes) - _FIELDS
        if unknown:
            raise InvalidValue(
                f"cannot update {', '.join(sorted(unknown))}: expected some of "
                f"{', '.join(sorted(_FIELDS))}"
            )
        current = self.get(number)
        if current is None:
            raise InvalidValue(f"not in the address book: {phone.mask(phone.normalize(number))}")
        if changes.get("fields") is None:
            changes.pop("fields", None)
        # Recipient's converters validate the new values, so they may be of any type here.
        contact = attrs.evolve(current, **cast("dict[str, Any]", changes))
        self.storage.upsert_contacts([contact])
        return contact

    def remove(self, number: str) -> bool:
        """Delete a contact and its group memberships; return whether it existed."""
        return self.storage.delete_contacts([phone.normalize(number)]) == 1

    def get(self, number: str) -> Recipient | None:
        """The contact with this number (any shape), or ``None``."""
        normalized = phone.normalize(number)
        return self.storage.get_contacts([normalized]).get(normalized)

    def find(self, text: str, *, limit: int = 100) -> list[Recipient]:
        """Contacts whose name, surname or number contains ``text``."""
        return self.storage.find_contacts(text, limit=limit)

    def group(self, name: str) -> Group:
        """The group called ``name`` (empty until contacts are added to it)."""
        return Group(self.storage, name)

    def groups(self) -> dict[str, int]:
        """Every group with its member count."""
        return self.storage.groups()

    def groups_of(self, number: str) -> set[str]:
        """The groups a contact belongs to."""
        return self.storage.groups_of(phone.normalize(number))

    def __len__(self) -> int:
        return self.storage.count_contacts()

    def __iter__(self) -> Iterator[Recipient]:
        return self.storage.iter_contacts()

    def __contains__(self, number: object) -> bool:
        if not isinstance(number, str):
            return False
        try:
            return self.get(number) is not None
        except InvalidValue:
            return False

    def import_file(
        self,
        path: str | Path,
        *,
        group: str | None = None,
        mapping: Mapping[str, str | int] | None = None,
        progress: Progress | None = None,
        sheet: str | int | None = None,
        recipient_type: RecipientType | str = RecipientType.BIREYSEL,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        meter: Meter | None = None,
        terms: Terms = PYTHON_TERMS,
    ) -> ImportReport:
        """Import contacts from an .xlsx, .xls, .ods or .csv file; return the report.

        The header row is found by its column names (Turkish or English, any
        case, with or without Turkish letters, anywhere in the first 20 rows);
        ``mapping`` names columns detection cannot (``{"number": "Müşteri GSM",
        "fields.plaka": 4}``: headers or 0-based indexes). Columns that are no
        standard field become custom fields keyed by their folded header
        (``Şehir`` → ``sehir``). Every contact joins ``group`` and the groups of
        its ``Gruplar`` cell. ``recipient_type`` applies to new contacts whose
        row has no type. ``progress(rows_done, total_rows)`` is called once per
        ``chunk_size`` rows; raising from it cancels the import.

        ``meter`` (a :class:`~isobil.contacts.Meter`, e.g. a progress bar) hears
        every stage as it starts, with its total — ``"checking"`` an .xlsx (bytes),
        ``"loading"`` a workbook, ``"importing"`` rows (bytes of a CSV file) — and
        how far it got every few thousand rows, so a bar can show a total from the
        start. ``terms`` name the options in messages
        (:data:`~isobil.contacts.SHELL_TERMS`: the command line's flags).

        Contacts are stored every ``chunk_size`` rows. If the import stops part-way
        it raises :class:`~isobil.contacts.ImportFailed` carrying the report
        (``complete=False``); what was stored stays, and re-running the file is safe.
        """
        return import_contacts(
            self.storage,
            path,
            group=group,
            mapping=mapping,
            progress=progress,
            sheet=sheet,
            recipient_type=recipient_type,
            chunk_size=chunk_size,
            meter=meter,
            terms=terms,
        )

    def export(
        self, path: str | Path, *, group: str | None = None, meter: Meter | None = None
    ) -> int:
        """Write every contact (or a group's) to ``.csv`` or ``.xlsx``; return how many.

        Columns: Telefon, Ad, Soyad, E-posta, Tip, Gruplar (``"Ankara; VIP"``), then
        one column per custom field. :meth:`import_file` reads such a file back to
        the same contacts and groups. ``meter`` hears how far the writing got.
        """
        return export_contacts(self.storage, path, group=group, meter=meter)
