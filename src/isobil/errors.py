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
    │   ├── TemplateError                   a template is malformed or lacks a value
    │   └── EncodingError                   text that no SMS encoding can carry
    ├── ConfigurationError                  isobil was set up inconsistently
    ├── ComplianceError                     the regulation forbids this send
    ├── InsufficientCredits                 a prepaid send would overdraw the balance
    ├── ImportFailed                        an import stopped part-way; see its report
    ├── OtpRateLimited                      a number was sent one-time codes too often
    ├── IysError                            İYS refused a call or answered nonsense
    │   ├── IysRateLimited                  İYS's rate limit; retry after a while
    │   └── IysUnavailable                  İYS unreachable, or failing after retries
    ├── TransportError                      talking to an SMSC or HTTP API failed
    │   ├── TransportClosed                 the transport was used after close()
    │   ├── ConnectionFailed                could not connect or bind
    │   │   └── BindRefused (ConfigurationError)  the SMSC refused our credentials for good
    │   ├── TransportTimeout                no answer in time; outcome unknown
    │   │   └── DuplicateOrder              the provider already has this order
    │   ├── Throttled                       the peer asked us to slow down
    │   └── SubmitRejected                  the peer refused one message
    │       ├── AuthenticationFailed        the provider refused our credentials
    │       ├── InsufficientBalance         the provider account has too little credit
    │       ├── IysRefused                  the İYS flag, brand or check refused it
    │       ├── RecipientBlacklisted        the provider's blacklist holds the number
    │       └── RecipientOptedOut           an opt-out came in as the message was leaving
    └── StorageError                        the storage backend failed

Error messages never contain credentials, and phone numbers in them are masked
unless they are the very input being reported as invalid.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationFailed",
    "BindRefused",
    "ComplianceError",
    "ConfigurationError",
    "ConnectionFailed",
    "DuplicateOrder",
    "EncodingError",
    "ImportFailed",
    "InsufficientBalance",
    "InsufficientCredits",
    "InvalidIdentifier",
    "InvalidPhoneNumber",
    "InvalidValue",
    "IsobilError",
    "IysError",
    "IysRateLimited",
    "IysRefused",
    "IysUnavailable",
    "OtpRateLimited",
    "RecipientBlacklisted",
    "RecipientOptedOut",
    "StorageError",
    "SubmitRejected",
    "TemplateError",
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


class TemplateError(InvalidValue):
    """Raised when a template is malformed, or rendered without a value for a field."""


class EncodingError(InvalidValue):
    """Raised when text cannot be carried by any SMS encoding (e.g. a lone surrogate)."""


class ConfigurationError(IsobilError):
    """Raised when isobil is configured inconsistently (missing sender, bad option)."""


class ComplianceError(IsobilError):
    """Raised when a send breaks a rule of the regulation; ``report`` says which and why.

    ``report`` is the :class:`isobil.rules.PreflightReport` of the refused send.
    """

    def __init__(self, message: str, *, report: object) -> None:
        self.report = report
        super().__init__(message)


class IysError(IsobilError):
    """Raised when İYS answers with an error, or with an answer that cannot be read.

    ``code`` is İYS's error code (``"H175"`` …) when it gave one, ``status`` the
    HTTP status when there was an HTTP answer.
    """

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class IysRateLimited(IysError):
    """Raised when İYS refuses a call for its rate limit; ``retry_after`` is in seconds."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        code: str | None = None,
        status: int | None = 429,
    ) -> None:
        super().__init__(message, code=code, status=status)
        self.retry_after = retry_after


class IysUnavailable(IysError):
    """Raised when İYS cannot be reached, or kept failing (HTTP 5xx) after the retries."""


class ImportFailed(IsobilError):
    """Raised when an import stops part-way; ``report`` says what was stored.

    The cause (a storage error, a damaged file, an exception raised by the
    progress callback to cancel) is chained as ``__cause__``. Contacts of the
    rows up to ``report.stored_through`` are stored; re-running the same file
    stores the rest and updates the rest in place. ``report`` is the
    :class:`isobil.contacts.ImportReport` (or ``MigrationReport``).
    """

    def __init__(self, message: str, *, report: object) -> None:
        self.report = report
        super().__init__(message)


class OtpRateLimited(IsobilError):
    """Raised when a number was sent as many one-time codes as its limits allow; no
    code is sent. ``retry_after`` is how many seconds until the next one may go."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class InsufficientCredits(IsobilError):
    """Raised when a prepaid send needs more credits than the balance holds; nothing is sent."""

    def __init__(self, message: str, *, needed: int, balance: int) -> None:
        self.needed = needed
        self.balance = balance
        super().__init__(message)


class TransportError(IsobilError):
    """Raised when a transport cannot talk to its peer."""


class TransportClosed(TransportError):
    """Raised when a transport is used after ``close()``."""


class ConnectionFailed(TransportError):
    """Raised when a transport cannot connect to or bind with its peer."""


class BindRefused(ConnectionFailed, ConfigurationError):
    """Raised when the SMSC refuses the bind with a status no retry can change
    (ESME_RINVPASWD, ESME_RINVSYSID, ESME_RINVSYSTYP): the
    credentials or the system type must be fixed. ``status`` is the SMPP name of
    the refusal; the message names it and the system_id, never the password.

    A :class:`ConnectionFailed` (the Client records each message it stops as
    failed) and a :class:`ConfigurationError` (nothing but a change of settings
    helps)."""

    def __init__(self, message: str, *, status: str) -> None:
        self.status = status
        super().__init__(message)


class TransportTimeout(TransportError):
    """Raised when the peer did not answer in time; whether it acted is unknown."""


class DuplicateOrder(TransportTimeout):
    """Raised when a provider answers that it already has this order (İleti Merkezi
    451, Verimor's double-send guard): an earlier attempt most likely went through,
    so the outcome is unknown and the message is not sent again. ``code`` is the
    provider's code."""

    def __init__(self, message: str, code: str | None = None) -> None:
        self.code = code
        super().__init__(message)


class Throttled(TransportError):
    """Raised when the peer asks us to slow down (SMPP ESME_RTHROTTLED, HTTP 429, a
    provider's flooding guard); ``code`` is the peer's code, when it gave one."""

    def __init__(self, message: str, code: str | None = None) -> None:
        self.code = code
        super().__init__(message)


class SubmitRejected(TransportError):
    """Raised when the peer refuses one message; ``code`` is the peer's error code.

    The message says, in the provider's words, why; it never carries credentials.
    """

    def __init__(self, message: str, code: str | None = None) -> None:
        self.code = code
        super().__init__(message)


class AuthenticationFailed(SubmitRejected):
    """Raised when the provider refuses our credentials (or the caller's IP address)."""


class InsufficientBalance(SubmitRejected):
    """Raised when the provider account has too little credit for the message."""


class IysRefused(SubmitRejected):
    """Raised when a provider refuses a message on İYS grounds: the İYS flag, the
    brand code or the recipient type is missing, or İYS holds no consent."""


class RecipientBlacklisted(SubmitRejected):
    """Raised when the provider's blacklist (or the operator's) holds the number."""


class RecipientOptedOut(SubmitRejected):
    """Raised (as a message's result) when the recipient's opt-out was recorded after the
    message was checked but before it left: the transport's last look stopped it."""


class StorageError(IsobilError):
    """Raised when the storage backend fails."""
