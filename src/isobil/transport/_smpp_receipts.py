"""SMPP delivery receipts: reading them, and reconciling the parts of a long message.

A receipt names one ``submit_sm`` by the id the SMSC gave it, either in the
``receipted_message_id``/``message_state`` TLVs or in the text
``id:… sub:… dlvrd:… submit date:… done date:… stat:… err:… text:…`` (SMPP 3.4
appendix B). A long message is several ``submit_sm`` with an id each, so
:class:`ReceiptBook` maps every part's id to its message and reports the
message once, under the id of its first part:

* **failed** as soon as any part fails (undelivered, expired, rejected);
* **delivered** when every part is delivered;
* **unknown** when every part has a final state, none failed, and one is unknown;
* **pending** once, at the first intermediate receipt (``ENROUTE``, ``ACCEPTD``).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime, tzinfo
from typing import Final
from zoneinfo import ZoneInfo

import attrs

from isobil.transport._base import DeliveryReport, DeliveryStatus

__all__ = [
    "MESSAGE_STATES",
    "STAT_WORDS",
    "ReceiptBook",
    "ReceiptText",
    "TrackedMessage",
    "parse_receipt_text",
    "receipt_date",
]

ISTANBUL: Final = ZoneInfo("Europe/Istanbul")

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

_FAILED: Final = frozenset(
    {DeliveryStatus.UNDELIVERED, DeliveryStatus.EXPIRED, DeliveryStatus.REJECTED}
)

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


class TrackedMessage:
    """What the book knows of one submitted message: its part ids and their states."""

    __slots__ = (
        "done_at",
        "error_code",
        "failed_submit",
        "failure",
        "ids",
        "pending_sent",
        "reported",
        "statuses",
    )

    def __init__(self, parts: int) -> None:
        self.ids: list[str | None] = [None] * parts
        self.statuses: list[DeliveryStatus | None] = [None] * parts
        self.failure: DeliveryStatus | None = None  # the first part failure, in time
        self.error_code: str | None = None
        self.done_at: datetime | None = None
        self.reported = False
        self.pending_sent = False
        self.failed_submit = False

    @property
    def provider_id(self) -> str | None:
        return self.ids[0]


class ReceiptBook:
    """Maps part ids to messages and turns part receipts into one report per message.

    Used from one thread (the transport's I/O thread); not thread-safe. It keeps
    at most ``capacity`` part ids, forgetting the oldest first: a receipt for a
    forgotten id is passed on under its own id, as is a receipt for an id the
    book never saw (a message submitted before a restart, for instance).
    """

    def __init__(self, capacity: int = 1_000_000) -> None:
        self.capacity = capacity
        self._parts: OrderedDict[str, tuple[TrackedMessage, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._parts)

    def open(self, parts: int) -> TrackedMessage:
        """Start tracking a message of ``parts`` parts; register each accepted part on it."""
        return TrackedMessage(parts)

    def accepted(
        self, message: TrackedMessage, index: int, provider_id: str
    ) -> DeliveryReport | None:
        """Record that part ``index`` was accepted under ``provider_id``.

        Returns a report held back until the first part's id was known, if any.
        """
        message.ids[index] = provider_id
        self._parts[_canonical(provider_id)] = (message, index)
        self._parts.move_to_end(_canonical(provider_id))
        while len(self._parts) > self.capacity:
            self._parts.popitem(last=False)
        if index == 0 and not message.failed_submit:
            return self._report(message)
        return None

    def submit_failed(self, message: TrackedMessage) -> None:
        """The message was not sent whole: its parts' receipts are dropped, not reported."""
        message.failed_submit = True

    def receipt(
        self,
        provider_id: str,
        status: DeliveryStatus,
        error_code: str | None = None,
        done_at: datetime | None = None,
    ) -> DeliveryReport | None:
        """The report to hand on for a part receipt, or None when it is absorbed."""
        found = self._lookup(provider_id)
        if found is None:
            return DeliveryReport(provider_id, status, error_code, done_at)
        message, index = found
        if message.failed_submit:
            return None
        previous = message.statuses[index]
        if previous is not None and previous.final:
            return None  # a repeated receipt for a part already settled
        message.statuses[index] = status
        if status.final and message.failure is None:
            # The report carries the failing part's code and time, else the latest part's.
            if status in _FAILED:
                message.failure = status
                message.error_code, message.done_at = error_code, done_at
            else:
                message.error_code = error_code or message.error_code
                if done_at is not None and (message.done_at is None or done_at > message.done_at):
                    message.done_at = done_at
        report = self._report(message)
        if all(s is not None and s.final for s in message.statuses):
            for part_id in message.ids:
                if part_id is not None:
                    self._parts.pop(_canonical(part_id), None)
        return report

    def _report(self, message: TrackedMessage) -> DeliveryReport | None:
        provider_id = message.provider_id
        if message.reported or provider_id is None:
            return None  # reported already, or held until the first part's id is known
        statuses = message.statuses
        if message.failure is not None:
            status: DeliveryStatus = message.failure
        elif all(s is not None and s.final for s in statuses):
            status = (
                DeliveryStatus.UNKNOWN
                if DeliveryStatus.UNKNOWN in statuses
                else DeliveryStatus.DELIVERED
            )
        else:
            if DeliveryStatus.PENDING in statuses and not message.pending_sent:
                message.pending_sent = True
                return DeliveryReport(provider_id, DeliveryStatus.PENDING, None, None)
            return None
        message.reported = True
        return DeliveryReport(provider_id, status, message.error_code, message.done_at)

    def _lookup(self, provider_id: str) -> tuple[TrackedMessage, int] | None:
        found = self._parts.get(_canonical(provider_id))
        if found is not None:
            return found
        for alternate in _alternates(provider_id):
            found = self._parts.get(alternate)
            if found is not None:
                return found
        return None
