"""SMPP failures as isobil errors: command_status codes and smpplib/socket exceptions.

Every exception smpplib or the socket layer can raise is turned into a
:class:`~isobil.errors.TransportError` by :func:`map_smpp_errors`, chained with
``from``; a test enumerates smpplib's exception classes so a new one cannot slip
through unmapped. Messages never carry the bind password.
"""

from __future__ import annotations

import socket
import ssl
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import smpplib.consts  # type: ignore[import-untyped]  # smpplib ships no type hints
import smpplib.exceptions  # type: ignore[import-untyped]

from isobil.errors import (
    BindRefused,
    ConnectionFailed,
    EncodingError,
    IsobilError,
    SubmitRejected,
    Throttled,
    TransportError,
    TransportTimeout,
)

__all__ = [
    "ESME_RMSGQFUL",
    "ESME_ROK",
    "ESME_RTHROTTLED",
    "PERMANENT_BIND_STATUSES",
    "ProtocolError",
    "map_smpp_errors",
    "status_error",
    "status_name",
]

ESME_ROK: Final = 0x00
ESME_RMSGQFUL: Final = 0x14
ESME_RTHROTTLED: Final = 0x58
ESME_RINVPASWD: Final = 0x0E
ESME_RINVSYSID: Final = 0x0F
ESME_RINVSYSTYP: Final = 0x53

#: command_status value -> its SMPP name (``0x58`` -> ``"ESME_RTHROTTLED"``), from smpplib.
STATUS_NAMES: Final[dict[int, str]] = {
    value: name.removeprefix("SMPP_")
    for name, value in vars(smpplib.consts).items()
    if name.startswith("SMPP_ESME_") and isinstance(value, int)
}
_DESCRIPTIONS: Final[dict[int, str]] = dict(smpplib.consts.DESCRIPTIONS)

#: Statuses that mean "slow down and try again", not "this message is wrong".
BACK_OFF_STATUSES: Final = frozenset({ESME_RTHROTTLED, ESME_RMSGQFUL})

#: Bind refusals no retry can change: the credentials or the system type must be
#: fixed first. ESME_RBINDFAIL is not among them: SMSCs send that generic "bind
#: failed" for passing conditions too (the account's session limit reached while an
#: old session is being cleared, a maintenance window), so it is retried like a
#: dropped connection, as Kannel does.
PERMANENT_BIND_STATUSES: Final = frozenset({ESME_RINVPASWD, ESME_RINVSYSID, ESME_RINVSYSTYP})


class ProtocolError(TransportError):
    """Raised inside the transport when the peer sends bytes that are not SMPP.

    The session is dropped and re-established; callers see it only as the
    cause of a :class:`~isobil.errors.ConnectionFailed`.
    """


def status_name(status: int) -> str:
    """The SMPP name of a command_status (``"ESME_RINVDSTADR"``), or its hex value."""
    return STATUS_NAMES.get(status, f"0x{status:08x}")


def status_error(status: int, what: str) -> TransportError:
    """The isobil error for a non-zero command_status answering ``what`` (e.g. ``"submit_sm"``).

    ESME_RTHROTTLED and ESME_RMSGQFUL are :class:`~isobil.errors.Throttled`; a
    bind refused with a status in :data:`PERMANENT_BIND_STATUSES` is
    :class:`~isobil.errors.BindRefused`, any other refused bind
    :class:`~isobil.errors.ConnectionFailed`; every other status
    refusing a message is :class:`~isobil.errors.SubmitRejected` with the SMPP
    name as ``code``.
    """
    name = status_name(status)
    description = _DESCRIPTIONS.get(status, "no description")
    message = f"{what} refused with {name} ({description})"
    if status in BACK_OFF_STATUSES:
        return Throttled(message)
    if what.startswith("bind"):
        if status in PERMANENT_BIND_STATUSES:
            return BindRefused(message, status=name)
        return ConnectionFailed(message)
    return SubmitRejected(message, code=name)


# Order matters: the first matching class wins (TimeoutError is an OSError).
_MAPPING: Final[tuple[tuple[type[BaseException], type[IsobilError], str], ...]] = (
    (smpplib.exceptions.ConnectionError, ConnectionFailed, "connection to the SMSC failed"),
    (smpplib.exceptions.UnknownCommandError, ProtocolError, "unknown SMPP command"),
    (smpplib.exceptions.PDUError, ProtocolError, "malformed PDU"),
    (smpplib.exceptions.MessageTooLong, EncodingError, "message too long"),
    (TimeoutError, TransportTimeout, "the SMSC did not answer in time"),
    (ssl.SSLError, ConnectionFailed, "TLS failure"),
    (ConnectionError, ConnectionFailed, "connection to the SMSC lost"),
    (socket.gaierror, ConnectionFailed, "cannot resolve the SMSC host"),
    (OSError, ConnectionFailed, "socket error"),
    (struct.error, ProtocolError, "malformed PDU"),
    (UnicodeError, ProtocolError, "malformed PDU text field"),
    (IndexError, ProtocolError, "truncated PDU"),
    (ValueError, ProtocolError, "malformed PDU"),
    (TypeError, ProtocolError, "malformed PDU"),
    (KeyError, ProtocolError, "malformed PDU"),
    (AttributeError, ProtocolError, "malformed PDU"),
)


def map_exception(exc: BaseException) -> IsobilError | None:
    """The isobil error for ``exc``, or None if it is not an smpplib or socket failure."""
    if isinstance(exc, IsobilError):
        return exc
    for source, target, summary in _MAPPING:
        if isinstance(exc, source):
            detail = _describe(exc)
            error = target(f"{summary}: {detail}")
            error.__cause__ = exc
            return error
    return None


def _describe(exc: BaseException) -> str:
    """A short text for ``exc``: smpplib's PDUError carries (text, status) in ``args``.

    A codec error says where, never what: its ``args`` hold the whole text it could
    not encode or decode (a password being bound, a PDU's short message)."""
    if isinstance(exc, UnicodeEncodeError | UnicodeDecodeError | UnicodeTranslateError):
        encoding = getattr(exc, "encoding", "?")  # a translate error has none
        return f"{type(exc).__name__} ({encoding}) at position {exc.start}"
    args = [a for a in exc.args if isinstance(a, str | int) and not isinstance(a, bool)]
    parts = [str(a) for a in args if isinstance(a, str) and a]
    statuses = [a for a in args if isinstance(a, int)]
    if isinstance(exc, smpplib.exceptions.PDUError) and statuses:
        parts.append(status_name(statuses[-1]))
    if isinstance(exc, OSError) and exc.strerror:
        return f"{type(exc).__name__}: {exc.strerror}"
    return "; ".join(parts) or type(exc).__name__


@contextmanager
def map_smpp_errors() -> Iterator[None]:
    """Re-raise smpplib and socket exceptions as isobil errors, chained with ``from``."""
    try:
        yield
    except Exception as exc:
        mapped = map_exception(exc)
        if mapped is None or mapped is exc:
            raise
        raise mapped from exc
