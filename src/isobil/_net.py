"""Small helpers for every client of a remote peer (SMSC, HTTP API, İYS).

Secrets that never show themselves, and the ``Retry-After`` header read the way
RFC 9110 writes it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["Secret", "retry_after_seconds"]


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
