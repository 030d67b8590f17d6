"""SMPP delivery receipts: reading them, and naming the part each one is for.

A receipt names one ``submit_sm`` by the id the SMSC gave it, either in the
``receipted_message_id``/``message_state`` TLVs or in the text
``id:… sub:… dlvrd:… submit date:… done date:… stat:… err:… text:…`` (SMPP 3.4
appendix B). A long message is several ``submit_sm`` with an id each, and an
SMSC hands each part's receipt to whichever bind of the account it likes (Jasmin
goes round-robin), before or after a restart. So the transport reports every
receipt under its part's id, and the ids of every part go out in the
:class:`~isobil.transport.SubmitResult` (``part_ids``): whoever keeps them (the
``Client``, in storage) reconciles parts and messages in any process.

:class:`ReceiptBook` remembers the part ids this transport was given, so that a
receipt that spells one differently (hex for decimal, leading zeros, case) is
reported under the id as answered, and receipts for the parts of a message that
failed at submit (and was reported failed) are dropped.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime, tzinfo
from typing import Final

import attrs

from isobil._time import ISTANBUL
from isobil.transport._base import DeliveryReport, DeliveryStatus

__all__ = [
    "MESSAGE_STATES",
    "STAT_WORDS",
    "ReceiptBook",
    "ReceiptText",
    "parse_receipt_text",
    "receipt_date",
]


#: SMPP 3.4 message_state TLV values (table 5-6).
MESSAGE_STATES: Final[dict[int, DeliveryStatus]] = {
    1: DeliveryStatus.PENDING,  # ENROUTE
    2: DeliveryStatus.DELIVERED,
    3: DeliveryStatus.EXPIRED,
    4: DeliveryStatus.UNDELIVERED,  # DELETED by the SMSC
    5: DeliveryStatus.UNDELIVERED,  # UNDELIVERABLE
    6: DeliveryStatus.PENDING,  # ACCEPTED: many SMSCs send it before the final state
    7: DeliveryStatus.UNKNOWN,
    8: DeliveryStatus.REJECTED,
    9: DeliveryStatus.PENDING,  # SKIPPED/SCHEDULED (SMPP 5.0 values some 3.4 SMSCs send)
}

#: The ``stat:`` words of the receipt text, and the long forms some SMSCs write.
STAT_WORDS: Final[dict[str, DeliveryStatus]] = {
    "DELIVRD": DeliveryStatus.DELIVERED,
    "DELIVERED": DeliveryStatus.DELIVERED,
    "EXPIRED": DeliveryStatus.EXPIRED,
    "DELETED": DeliveryStatus.UNDELIVERED,
    "UNDELIV": DeliveryStatus.UNDELIVERED,
    "UNDELIVERABLE": DeliveryStatus.UNDELIVERED,
    "ACCEPTD": DeliveryStatus.PENDING,
    "ACCEPTED": DeliveryStatus.PENDING,
    "ENROUTE": DeliveryStatus.PENDING,
    "UNKNOWN": DeliveryStatus.UNKNOWN,
    "REJECTD": DeliveryStatus.REJECTED,
    "REJECTED": DeliveryStatus.REJECTED,
}

# A field name starts the text or follows whitespace; "text:" swallows the rest.
_FIELD: Final = re.compile(
    r"(?:^|(?<=\s))(id|sub|dlvrd|submit[ _]date|done[ _]date|stat|err|text):", re.IGNORECASE
)
_DATE: Final = re.compile(r"([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})?")


@attrs.frozen
class ReceiptText:
    """The fields of a receipt's text; a field the text lacks is None."""

    message_id: str
    submitted: str | None = None
    delivered: str | None = None
    submit_date: datetime | None = None
    done_date: datetime | None = None
    stat: str | None = None
    err: str | None = None
    text: str | None = None

    @property
    def status(self) -> DeliveryStatus:
        """The ``stat:`` word as a :class:`DeliveryStatus` (UNKNOWN for words we do not know)."""
        return STAT_WORDS.get((self.stat or "").upper(), DeliveryStatus.UNKNOWN)


def parse_receipt_text(text: str, tz: tzinfo = ISTANBUL) -> ReceiptText | None:
    """Read the SMPP appendix B receipt format; None when ``text`` has no ``id:`` field.

    Field names are matched case-insensitively, in any order, and a field may be
    missing or empty. ``text:`` takes the rest of the string, whatever it holds.
    Dates (``YYMMDDhhmm`` or ``YYMMDDhhmmss``) are read in ``tz``, the SMSC's
    zone; one that is not a real date is None. Never raises.
    """
    fields: dict[str, str] = {}
    matches = list(_FIELD.finditer(text))
    for i, match in enumerate(matches):
        key = match.group(1).lower().replace("_", " ")
        if key == "text":
            fields.setdefault(key, text[match.end() :])
            break
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        fields.setdefault(key, text[match.end() : end].strip())
    message_id = fields.get("id")
    if not message_id:
        return None
    return ReceiptText(
        message_id=message_id.split()[0],
        submitted=fields.get("sub") or None,
        delivered=fields.get("dlvrd") or None,
        submit_date=receipt_date(fields.get("submit date"), tz),
        done_date=receipt_date(fields.get("done date"), tz),
        stat=fields.get("stat") or None,
        err=fields.get("err") or None,
        text=fields.get("text"),
    )


def receipt_date(value: str | None, tz: tzinfo) -> datetime | None:
    """A receipt date, ``YYMMDDhhmm`` or ``YYMMDDhhmmss`` on the SMSC's clock ``tz``.

    ``None`` when absent or unreadable.

    >>> receipt_date("2601011201", ISTANBUL).isoformat()
    '2026-01-01T12:01:00+03:00'
    """
    if not value:
        return None
    match = _DATE.fullmatch(value)
    if match is None:
        return None
    yy, mm, dd, hh, mi, ss = (int(g) if g else 0 for g in match.groups())
    try:
        return datetime(2000 + yy, mm, dd, hh, mi, ss, tzinfo=tz)
    except ValueError:
        return None


def _canonical(provider_id: str) -> str:
    return provider_id.strip().lower().lstrip("0") or "0"


def _alternates(provider_id: str) -> Iterable[str]:
    """Other spellings of an id: SMSCs that answer in hex and receipt in decimal, or back."""
    stripped = provider_id.strip()
    if stripped.isdecimal() and len(stripped) < 40:
        yield _canonical(format(int(stripped), "x"))
    if stripped and len(stripped) < 40 and all(c in "0123456789abcdefABCDEF" for c in stripped):
        yield _canonical(str(int(stripped, 16)))


class _Accepted:
    """A part id as the SMSC answered it, and whether its message failed at submit."""

    __slots__ = ("dropped", "provider_id")

    def __init__(self, provider_id: str) -> None:
        self.provider_id = provider_id
        self.dropped = False


class ReceiptBook:
    """The part ids this transport's submits were answered with, and what became of them.

    Used from one thread (the transport's I/O thread); not thread-safe. It keeps
    at most ``capacity`` part ids, forgetting the oldest first: a receipt for a
    forgotten id, or one this book never saw (a message submitted by another
    process, or before a restart), is reported under the id the receipt gives.
    """

    def __init__(self, capacity: int = 1_000_000) -> None:
        self.capacity = capacity
        self._parts: OrderedDict[str, _Accepted] = OrderedDict()  # by canonical spelling

    def __len__(self) -> int:
        return len(self._parts)

    def accepted(self, provider_id: str) -> None:
        """A part was accepted under ``provider_id``."""
        key = _canonical(provider_id)
        self._parts[key] = _Accepted(provider_id)
        self._parts.move_to_end(key)
        while len(self._parts) > self.capacity:
            self._parts.popitem(last=False)

    def submit_failed(self, provider_ids: Iterable[str | None]) -> None:
        """The message whose accepted parts have ``provider_ids`` was not sent whole
        (and was reported failed): its parts' receipts are dropped."""
        for provider_id in provider_ids:
            if provider_id is not None:
                found = self._parts.get(_canonical(provider_id))
                if found is not None:
                    found.dropped = True

    def receipt(
        self,
        provider_id: str,
        status: DeliveryStatus,
        error_code: str | None = None,
        done_at: datetime | None = None,
    ) -> DeliveryReport | None:
        """The report to hand on for a part's receipt, or None when it is dropped."""
        found = self._lookup(provider_id)
        if found is None:
            return DeliveryReport(provider_id, status, error_code, done_at)
        if status.final:
            # Nothing more is expected of it: forgotten (a repeat passes on as unseen).
            self._parts.pop(_canonical(found.provider_id), None)
        if found.dropped:
            return None
        return DeliveryReport(found.provider_id, status, error_code, done_at)

    def _lookup(self, provider_id: str) -> _Accepted | None:
        found = self._parts.get(_canonical(provider_id))
        if found is not None:
            return found
        for alternate in _alternates(provider_id):
            found = self._parts.get(alternate)
            if found is not None:
                return found
        return None
