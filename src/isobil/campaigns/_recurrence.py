"""When recurring sends fire: RFC 5545 rules in Istanbul time, and helpers for the usual ones.

A rule is evaluated on wall-clock time in its zone (Europe/Istanbul by
default), so "every Monday 10:00" stays 10:00 whatever UTC offset the zone has
on that day. The helpers pick the intuitive meaning for days that do not exist
in every month: ``monthly(31)`` fires on the 31st, or on the last day of a
shorter month; ``yearly(2, 29)`` fires on 29 February, or on 28 February in
common years. A raw RRULE keeps RFC 5545 semantics (such days are skipped).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from isobil._time import aware
from isobil.errors import InvalidValue

__all__ = [
    "ISTANBUL_TZ",
    "daily",
    "monthly",
    "next_occurrence",
    "occurrences",
    "weekly",
    "yearly",
]

ISTANBUL_TZ = "Europe/Istanbul"
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def weekly(*weekdays: int) -> str:
    """A rule firing every week on ``weekdays`` (0 = Monday … 6 = Sunday)."""
    if not weekdays or any(not 0 <= d <= 6 for d in weekdays):
        raise InvalidValue(f"weekdays must be 0 (Monday) to 6 (Sunday), got {weekdays!r}")
    return "FREQ=WEEKLY;BYDAY=" + ",".join(_WEEKDAYS[d] for d in sorted(set(weekdays)))


def daily() -> str:
    """A rule firing every day."""
    return "FREQ=DAILY"


def monthly(day: int) -> str:
    """A rule firing on ``day`` of every month, or the month's last day when it is shorter."""
    if not 1 <= day <= 31:
        raise InvalidValue(f"day of month must be 1-31, got {day}")
    if day <= 28:
        return f"FREQ=MONTHLY;BYMONTHDAY={day}"
    # The last of the candidate days that exists in the month: 31 → 30 → 29 → 28.
    candidates = ",".join(str(d) for d in range(28, day + 1))
    return f"FREQ=MONTHLY;BYMONTHDAY={candidates};BYSETPOS=-1"


def yearly(month: int, day: int) -> str:
    """A rule firing every year on ``month``/``day`` (29 Feb → 28 Feb in common years)."""
    lengths = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    if not 1 <= month <= 12 or not 1 <= day <= lengths[month - 1]:
        raise InvalidValue(f"no such day: month {month}, day {day}")
    if (month, day) == (2, 29):
        return "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=28,29;BYSETPOS=-1"
    return f"FREQ=YEARLY;BYMONTH={month};BYMONTHDAY={day}"


def occurrences(
    rule: str,
    start: datetime,
    *,
    after: datetime,
    until: datetime | None = None,
    tz: str = ISTANBUL_TZ,
    at: time | None = None,
) -> Iterator[datetime]:
    """The instants (aware, in ``tz``) the rule fires strictly after ``after``.

    ``start`` anchors the rule (its wall-clock time is the firing time unless
    ``at`` is given); iteration stops at ``until`` (inclusive) when given.
    """
    aware(start, "start")
    aware(after, "after")
    zone = ZoneInfo(tz)
    local_start = start.astimezone(zone)
    if at is not None:
        local_start = local_start.replace(hour=at.hour, minute=at.minute, second=at.second)
    naive_start = local_start.replace(tzinfo=None, microsecond=0)
    try:
        parsed = rrulestr(rule, dtstart=naive_start)
    except (ValueError, TypeError) as exc:
        raise InvalidValue(f"invalid recurrence rule {rule!r}: {exc}") from exc
    # dateutil works on naive wall-clock times; attaching the zone afterwards keeps
    # "10:00 Istanbul" at 10:00 local on every date.
    cursor = after.astimezone(zone).replace(tzinfo=None)
    while True:
        naive = parsed.after(cursor)
        if naive is None:
            return
        when = naive.replace(tzinfo=zone)
        if until is not None and when > until:
            return
        yield when
        cursor = naive


def next_occurrence(
    rule: str, start: datetime, *, after: datetime, tz: str = ISTANBUL_TZ
) -> datetime | None:
    """The first instant the rule fires after ``after``, or ``None`` when it has ended."""
    return next(occurrences(rule, start, after=after, tz=tz), None)
