"""Turkish business days, for the regulation's "within 3 business days" deadlines.

Two duties of the sender run on business days (iş günü): consent it collects must
reach İYS within 3 business days (SPEC R-CONSENT), and it must stop messaging
within 3 business days of an opt-out (R-OPTOUT). This module owns the calendar:

* Saturdays and Sundays are not business days.
* Official public holidays are not business days: the national days and the
  religious holidays (Ramazan Bayramı, Kurban Bayramı) as the ``holidays``
  package's Turkey calendar gives them (its ``public`` category).
* A half-day eve (arife, and the eve of Republic Day, 28 October) **is** a
  business day: offices work until 13:00, and counting the day gives the earlier
  deadline. Both deadlines are duties of the sender, so the earlier one is the
  safe side: a sender who meets it also meets the later reading.
* Administrative "bridge" days (idari izin) that the government sometimes adds
  around a bayram are leave for public servants, not public holidays, and are
  business days here.
* The day a period starts on does not count; the period ends at the end of its
  last day, in Turkish time.

The ``holidays`` package knows Turkey from 1936 to 2100; outside those years only
weekends are skipped.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from isobil._time import ISTANBUL, aware
from isobil.errors import InvalidValue

__all__ = [
    "ISTANBUL",
    "add_business_days",
    "business_day_deadline",
    "is_business_day",
]


_END_OF_DAY: Final = time(23, 59, 59, 999999)
_SATURDAY: Final = 5


@lru_cache(maxsize=512)
def _public_holidays(year: int) -> frozenset[date]:
    # Only the "public" category: the package lists half-day eves in a separate
    # "half_day" category, which this calendar deliberately leaves out (see above).
    return frozenset(holidays.country_holidays("TR", years=year).keys())


def is_business_day(day: date) -> bool:
    """Whether ``day`` is a Turkish business day: a weekday that is not a public holiday.

    A half-day eve (arife) counts as a business day.

    >>> is_business_day(date(2025, 3, 31))  # Ramazan Bayramı
    False
    >>> is_business_day(date(2025, 10, 28))  # eve of Republic Day, a half day
    True
    """
    if isinstance(day, datetime):
        # A datetime's date depends on its zone; make the caller choose it.
        raise InvalidValue(
            f"is_business_day takes a date, not a datetime ({day!r}): "
            "convert it to Turkish time and pass .date()"
        )
    if not isinstance(day, date):
        raise InvalidValue(f"is_business_day takes a date, got {day!r}")
    return day.weekday() < _SATURDAY and day not in _public_holidays(day.year)


def _check_days(days: int) -> None:
    if not isinstance(days, int) or isinstance(days, bool):
        raise InvalidValue(f"days must be an integer, got {days!r}")


def _step(day: date, days: int) -> date:
    """The ``days``-th business day after ``day`` (before it when negative)."""
    step = timedelta(days=1 if days >= 0 else -1)
    remaining = abs(days)
    while remaining:
        day += step
        if is_business_day(day):
            remaining -= 1
    return day


def add_business_days(start: datetime, days: int, *, tz: str = "Europe/Istanbul") -> datetime:
    """``start`` moved by ``days`` Turkish business days, keeping its wall-clock time in ``tz``.

    ``tz`` decides which calendar day ``start`` falls on and the zone of the result;
    the holidays are always Turkey's. ``days`` may be negative; ``0`` returns
    ``start`` in ``tz``. Saturday plus one business day is Monday.

    >>> start = datetime(2025, 3, 28, 10, 0, tzinfo=ISTANBUL)  # Friday before the bayram
    >>> add_business_days(start, 1).isoformat()
    '2025-04-02T10:00:00+03:00'
    """
    aware(start, "start")
    _check_days(days)
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidValue(f"unknown time zone {tz!r}") from exc
    local = start.astimezone(zone)
    day = _step(local.date(), days)
    # combine() re-resolves the UTC offset for the new day, so a DST change in
    # ``tz`` between the two days keeps the wall-clock time, not the offset.
    return datetime.combine(day, local.time(), tzinfo=zone)


def business_day_deadline(start: datetime, days: int = 3) -> datetime:
    """The end (23:59:59.999999, Turkish time) of the ``days``-th business day after ``start``.

    The day ``start`` falls on (in Turkish time) is not counted, whatever time it
    is: consent taken on a Monday must reach İYS by the end of Thursday.

    >>> monday = datetime(2025, 2, 3, 9, 30, tzinfo=ISTANBUL)
    >>> business_day_deadline(monday).isoformat()
    '2025-02-06T23:59:59.999999+03:00'
    """
    aware(start, "start")
    _check_days(days)
    if days < 1:
        raise InvalidValue(f"days must be at least 1, got {days}")
    day = _step(start.astimezone(ISTANBUL).date(), days)
    return datetime.combine(day, _END_OF_DAY, tzinfo=ISTANBUL)
