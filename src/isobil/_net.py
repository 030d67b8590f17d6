"""Small helpers for every client of a remote peer (SMSC, HTTP API, İYS).

Secrets that never show themselves, base URLs checked and shown without their user
info, and the ``Retry-After`` header read the way RFC 9110 writes it.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from isobil.errors import InvalidValue

__all__ = [
    "Secret",
    "SeenKeys",
    "header_safe",
    "http_base_url",
    "retry_after_seconds",
    "without_userinfo",
]


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


def without_userinfo(url: str) -> str:
    """``url`` without the user info a user may have written into it (as given when
    it has none)."""
    parsed = httpx.URL(url)
    return str(parsed.copy_with(username=None, password=None)) if parsed.userinfo else url


def http_base_url(value: object, *, example: str) -> str:
    """``value`` as a base URL that API paths are appended to: http(s), a host, no
    query or fragment (the paths would land after them), no trailing slash.

    The refusals show no part of the URL: a password written into it, with a ``#``
    or ``?`` unencoded, would be read as its scheme, port or path.
    """
    if not isinstance(value, str):
        raise InvalidValue(f"base_url must be an http(s) URL, got {type(value).__name__}")
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL:
        raise InvalidValue("base_url must be an http(s) URL: it cannot be parsed") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise InvalidValue(f"base_url must be an http(s) URL with a host, like {example}")
    if "?" in value or "#" in value:
        raise InvalidValue(
            "base_url must not have a query or a fragment ('?…', '#…'): the API's paths "
            "are appended to it"
        )
    return value.rstrip("/")
