"""What the web integrations share for their logs: the callback secret kept out."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

__all__ = ["MaskSecret"]

#: Formats a record's traceback to look for the secret in it (as handlers would).
_TRACEBACKS = logging.Formatter()
#: What every record has (its logger's name, the source file …): not looked at, but
#: ``msg``; the rest of a record's strings are extras a caller gave.
_OWN = frozenset(vars(logging.makeLogRecord({}))) - {"msg"}


def _pattern(secret: str) -> re.Pattern[str] | None:
    """The secret as a server may write it: each character as is, percent-encoded
    (either case of hex digits), or escaped the way Django's ``log_response`` escapes
    a path (``\\u015f``)."""
    if not secret:
        return None
    parts = []
    for char in secret:
        encoded = "".join(
            "%" + "".join(f"[{d}{d.lower()}]" if d.isalpha() else d for d in f"{byte:02X}")
            for byte in char.encode("utf-8")
        )
        escaped = re.escape(char.encode("unicode_escape").decode("ascii"))
        parts.append(f"(?:{re.escape(char)}|{escaped}|{encoded})")
    return re.compile("".join(parts))


class MaskSecret(logging.Filter):
    """Replaces a secret by ``***`` in log records: as written, percent-encoded (also
    in part, in either case) and escaped as Django escapes a logged path; in the
    message, its args, every string field (extras) and the traceback's text.

    Web servers log request paths, and with token auth the callback secret is a
    segment of the path (uvicorn's access log, Django's ``django.request`` and
    ``django.server``). A filter sees only the records of the logger it is on, and
    cannot change objects a record carries (Django's ``record.request``)."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self._secret = secret
        self._pattern = _pattern(secret)

    def __repr__(self) -> str:
        return "<MaskSecret>"

    def hides(self, secret: str) -> bool:
        """Whether this filter hides ``secret``."""
        return secret == self._secret

    def found_in(self, text: str) -> bool:
        """Whether ``text`` shows the secret, in any form this filter hides."""
        return self._pattern is not None and self._pattern.search(text) is not None

    def filter(self, record: logging.LogRecord) -> bool:
        if self._pattern is None:
            return True
        if isinstance(record.args, tuple):
            record.args = tuple(self._masked(arg) for arg in record.args)
        elif isinstance(record.args, Mapping):
            record.args = {key: self._masked(arg) for key, arg in record.args.items()}
        for name, value in list(vars(record).items()):  # msg and the extras
            if name not in _OWN and isinstance(value, str):
                setattr(record, name, self._masked(value))
        if record.exc_info and record.exc_info[0] is not None and record.exc_text is None:
            text = _TRACEBACKS.formatException(record.exc_info)
            if self._pattern.search(text):  # else handlers format it as before
                record.exc_text = self._pattern.sub("***", text)
        return True

    def _masked(self, value: object) -> object:
        if isinstance(value, str) and self._pattern is not None:
            return self._pattern.sub("***", value)
        return value
