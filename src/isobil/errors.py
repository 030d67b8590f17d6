"""Every error isobil raises, as one tree rooted at :class:`IsobilError`.

Catch ``IsobilError`` to catch everything; catch a branch to handle one kind of
failure. Errors about a bad value also subclass the built-in ``ValueError``, so
code that already catches ``ValueError`` keeps working. Errors from the
libraries underneath (phonenumbers, smpplib, httpx, SQLAlchemy) are re-raised as
one of these, chained with ``from``.

    IsobilError
    ├── InvalidValue (ValueError)           a value given to isobil is wrong
    │   ├── InvalidPhoneNumber              a number that cannot be an SMS address
    │   ├── InvalidIdentifier               TCKN, VKN, MERSİS or originator rejected
    │   └── EncodingError                   text that no SMS encoding can carry
    ├── ConfigurationError                  isobil was set up inconsistently
    ├── TransportError                      talking to an SMSC or HTTP API failed
    │   ├── TransportClosed                 the transport was used after close()
    │   ├── ConnectionFailed                could not connect or bind
    │   ├── TransportTimeout                no answer in time; outcome unknown
    │   ├── Throttled                       the peer asked us to slow down
    │   └── SubmitRejected                  the peer refused one message
    └── StorageError                        the storage backend failed

Error messages never contain credentials, and phone numbers in them are masked
unless they are the very input being reported as invalid.
"""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "ConnectionFailed",
    "EncodingError",
    "InvalidIdentifier",
    "InvalidPhoneNumber",
    "InvalidValue",
    "IsobilError",
    "StorageError",
    "SubmitRejected",
    "Throttled",
    "TransportClosed",
    "TransportError",
    "TransportTimeout",
]


class IsobilError(Exception):
    """Raised for every failure isobil reports; the root of the tree."""


class InvalidValue(IsobilError, ValueError):
    """Raised when a value given to isobil is malformed or out of range."""


class InvalidPhoneNumber(InvalidValue):
    """Raised when an input cannot be read as a phone number or short number.

    ``value`` is the input as given and ``reason`` says what is wrong with it.
    """

    def __init__(self, value: object, reason: str) -> None:
        self.value = value
        self.reason = reason
        super().__init__(f"invalid phone number {value!r}: {reason}")


class InvalidIdentifier(InvalidValue):
    """Raised when a TCKN, VKN, MERSİS number or originator fails validation."""


class EncodingError(InvalidValue):
    """Raised when text cannot be carried by any SMS encoding (e.g. a lone surrogate)."""


class ConfigurationError(IsobilError):
    """Raised when isobil is configured inconsistently (missing sender, bad option)."""


class TransportError(IsobilError):
    """Raised when a transport cannot talk to its peer."""


class TransportClosed(TransportError):
    """Raised when a transport is used after ``close()``."""


class ConnectionFailed(TransportError):
    """Raised when a transport cannot connect to or bind with its peer."""


class TransportTimeout(TransportError):
    """Raised when the peer did not answer in time; whether it acted is unknown."""


class Throttled(TransportError):
    """Raised when the peer asks us to slow down (SMPP ESME_RTHROTTLED, HTTP 429)."""


class SubmitRejected(TransportError):
    """Raised when the peer refuses one message; ``code`` is the peer's error code."""

    def __init__(self, message: str, code: str | None = None) -> None:
        self.code = code
        super().__init__(message)


class StorageError(IsobilError):
    """Raised when the storage backend fails."""
