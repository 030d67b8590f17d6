"""The blacklist (kara liste): numbers that never receive anything from this sender."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from isobil import phone
from isobil.errors import InvalidValue
from isobil.storage import BlacklistEntry, Storage

__all__ = ["Blacklist"]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Blacklist:
    """Add, remove and look up blacklisted numbers.

    Every send checks the blacklist; a blacklisted number receives no message of
    any category from this sender until it is removed. Files (CSV, Excel) in and
    out: :func:`isobil.contacts.import_blacklist` and
    :func:`isobil.contacts.export_blacklist`.
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
