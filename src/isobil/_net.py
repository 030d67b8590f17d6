"""Small helpers for every client of a remote peer (SMSC, HTTP API, İYS).

Secrets that never show themselves, and the ``Retry-After`` header read the way
RFC 9110 writes it.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from isobil.errors import InvalidValue

__all__ = ["Secret", "SeenKeys", "header_safe", "retry_after_seconds"]


class Secret:
    """A string that shows as ``'***'`` in every repr, str, traceback and ``vars()`` dump."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the one place that must send it."""
        return self._value

    def __repr__(self) -> str:
        return "'***'"

    __str__ = __repr__


class SeenKeys:
    """Keys remembered until they expire, in this process: ``mark_seen`` is ``True``
    only the first time (atomic across threads). The replay store of a callback
    receiver given none, and of :class:`~isobil.storage.MemoryStorage`."""

    #: How many remembered keys trigger a sweep of the expired ones.
    sweep_at = 10_000

    def __init__(self) -> None:
        self._seen: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def mark_seen(self, key: str, expires_at: datetime) -> bool:
        """Remember ``key`` until ``expires_at`` (aware); ``True`` only the first time."""
        now = datetime.now(UTC)
        with self._lock:
            if len(self._seen) > self.sweep_at:
                self._seen = {k: t for k, t in self._seen.items() if t > now}
            held = self._seen.get(key)
            if held is not None and held > now:
                return False
            self._seen[key] = expires_at
            return True

    def unmark_seen(self, key: str) -> None:
        """Forget ``key``."""
        with self._lock:
            self._seen.pop(key, None)


def header_safe(setting: str, value: str) -> str:
    """``value`` when it can travel in an HTTP header (printable ASCII); otherwise an
    :class:`~isobil.errors.InvalidValue` naming ``setting`` and the position of the
    first character that cannot — never the value, which may be a credential.

    >>> header_safe("api_key", "sk-0042")
    'sk-0042'
    >>> header_safe("api_key", "…")
    Traceback (most recent call last):
    ...
    isobil.errors.InvalidValue: api_key cannot go in an HTTP header: character 1 is not \
printable ASCII (a placeholder such as '…' left in the settings?)
    """
    for position, char in enumerate(value, start=1):
        if not (" " <= char <= "~"):
            raise InvalidValue(
                f"{setting} cannot go in an HTTP header: character {position} is not printable "
                "ASCII (a placeholder such as '…' left in the settings?)"
            )
    return value


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta seconds or an HTTP date."""
    if value is None:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
