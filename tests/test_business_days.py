"""Turkish business days and the 3-business-day deadlines, on real calendar dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from isobil.consent._business_days import (
    ISTANBUL,
    add_business_days,
    business_day_deadline,
    is_business_day,
)
from isobil.errors import InvalidValue

NEW_YORK = ZoneInfo("America/New_York")


def end_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 23, 59, 59, 999999, tzinfo=ISTANBUL)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2025, 2, 3), True),  # an ordinary Monday
        (date(2025, 2, 8), False),  # Saturday
        (date(2025, 2, 9), False),  # Sunday
        (date(2025, 1, 1), False),  # New Year's Day
        (date(2025, 3, 31), False),  # Ramazan Bayramı, day 2
        (date(2025, 4, 1), False),  # Ramazan Bayramı, day 3
        (date(2025, 4, 23), False),  # National Sovereignty and Children's Day
        (date(2025, 6, 5), True),  # arife of Kurban Bayramı: a half day counts
        (date(2025, 6, 6), False),  # Kurban Bayramı
        (date(2025, 6, 9), False),  # Kurban Bayramı, day 4 (a Monday)
        (date(2025, 7, 15), False),  # Democracy and National Unity Day
        (date(2025, 10, 28), True),  # eve of Republic Day: a half day counts
        (date(2025, 10, 29), False),  # Republic Day
        (date(2026, 3, 19), True),  # arife of Ramazan Bayramı 2026
        (date(2026, 3, 20), False),  # Ramazan Bayramı 2026
    ],
)
def test_is_business_day(day: date, expected: bool) -> None:
    """Weekends and public holidays are off; half-day eves are business days."""
    assert expected == is_business_day(day)


def test_is_business_day_refuses_a_datetime() -> None:
    """A datetime's calendar day depends on its zone, so the caller must pick it."""
    with pytest.raises(InvalidValue, match="not a datetime"):
        is_business_day(datetime(2025, 2, 3, tzinfo=UTC))


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        # A Monday with no holiday: Tuesday, Wednesday, Thursday.
        (datetime(2025, 2, 3, 9, 30, tzinfo=ISTANBUL), date(2025, 2, 6)),
        # Friday before Ramazan Bayramı 2025 (arife Sat 29 Mar, bayram Sun 30 - Tue 1 Apr).
        (datetime(2025, 3, 28, 16, 0, tzinfo=ISTANBUL), date(2025, 4, 4)),
        # Monday before Republic Day: Tue 28 (half day, counts), Thu 30, Fri 31.
        (datetime(2025, 10, 27, 11, 0, tzinfo=ISTANBUL), date(2025, 10, 31)),
        # Taken on the half day itself: Thu 30, Fri 31, Mon 3 Nov.
        (datetime(2025, 10, 28, 14, 0, tzinfo=ISTANBUL), date(2025, 11, 3)),
        # Wednesday before Kurban Bayramı 2025: Thu 5 (arife), Tue 10, Wed 11.
        (datetime(2025, 6, 4, 10, 0, tzinfo=ISTANBUL), date(2025, 6, 11)),
        # Across the new year: Wed 31 Dec, (1 Jan holiday), Fri 2 Jan, Mon 5 Jan.
        (datetime(2025, 12, 30, 23, 0, tzinfo=ISTANBUL), date(2026, 1, 5)),
        # Taken on a Saturday: Monday, Tuesday, Wednesday.
        (datetime(2025, 2, 8, 12, 0, tzinfo=ISTANBUL), date(2025, 2, 12)),
    ],
)
def test_business_day_deadline(start: datetime, expected: date) -> None:
    """The deadline is the end of the third business day after the day of ``start``."""
    assert end_of(expected) == business_day_deadline(start)


def test_deadline_uses_the_turkish_calendar_day() -> None:
    """22:30 UTC on a Sunday is already Monday in Türkiye, so the count starts Tuesday."""
    start = datetime(2025, 2, 2, 22, 30, tzinfo=UTC)
    assert end_of(date(2025, 2, 6)) == business_day_deadline(start)
    same_instant_in_new_york = start.astimezone(NEW_YORK)
    assert end_of(date(2025, 2, 6)) == business_day_deadline(same_instant_in_new_york)


def test_deadline_with_other_day_counts() -> None:
    """``days`` is configurable: one business day after a Friday is the Monday."""
    friday = datetime(2025, 2, 7, 10, 0, tzinfo=ISTANBUL)
    assert end_of(date(2025, 2, 10)) == business_day_deadline(friday, 1)
    assert end_of(date(2025, 2, 21)) == business_day_deadline(friday, 10)


def test_deadline_before_2016_uses_summer_time() -> None:
    """An HS_2015-era date is read in the zone's rules of the time (EEST, UTC+3 in July 2014)."""
    deadline = business_day_deadline(datetime(2014, 7, 7, 9, 0, tzinfo=UTC))
    assert end_of(date(2014, 7, 10)) == deadline
    assert timedelta(hours=3) == deadline.utcoffset()


@pytest.mark.parametrize("days", [0, -1, 1.5, True])
def test_deadline_rejects_bad_day_counts(days: object) -> None:
    """A deadline is at least one whole business day away."""
    with pytest.raises(InvalidValue):
        business_day_deadline(datetime(2025, 2, 3, tzinfo=UTC), days)  # type: ignore[arg-type]


def test_naive_datetimes_are_refused() -> None:
    """A naive datetime has no calendar day in Türkiye; guessing would move deadlines."""
    with pytest.raises(InvalidValue, match="timezone-aware"):
        business_day_deadline(datetime(2025, 2, 3, 9, 0))
    with pytest.raises(InvalidValue, match="timezone-aware"):
        add_business_days(datetime(2025, 2, 3, 9, 0), 1)


def test_add_business_days_skips_the_bayram() -> None:
    """Friday 28 March 2025 plus one business day is Wednesday 2 April, same time of day."""
    start = datetime(2025, 3, 28, 10, 0, tzinfo=ISTANBUL)
    assert datetime(2025, 4, 2, 10, 0, tzinfo=ISTANBUL) == add_business_days(start, 1)
    assert datetime(2025, 4, 4, 10, 0, tzinfo=ISTANBUL) == add_business_days(start, 3)


def test_add_business_days_backwards_and_zero() -> None:
    """Negative counts go back over holidays; zero returns ``start`` in the zone."""
    start = datetime(2025, 4, 2, 10, 0, tzinfo=ISTANBUL)
    assert datetime(2025, 3, 28, 10, 0, tzinfo=ISTANBUL) == add_business_days(start, -1)
    utc_start = datetime(2025, 4, 2, 7, 0, tzinfo=UTC)
    zero = add_business_days(utc_start, 0)
    assert utc_start == zero
    assert zero.tzinfo == ISTANBUL


def test_add_business_days_in_a_zone_with_summer_time() -> None:
    """Across New York's DST change the wall-clock time is kept, not the UTC offset."""
    friday_noon = datetime(2025, 3, 7, 12, 0, tzinfo=NEW_YORK)  # EST, UTC-5
    monday = add_business_days(friday_noon, 1, tz="America/New_York")
    assert datetime(2025, 3, 10, 12, 0, tzinfo=NEW_YORK) == monday
    assert timedelta(hours=-4) == monday.utcoffset()  # EDT since 9 March


def test_add_business_days_rejects_an_unknown_zone() -> None:
    """A typo in the zone name is an InvalidValue, not a KeyError."""
    with pytest.raises(InvalidValue, match="unknown time zone"):
        add_business_days(datetime(2025, 2, 3, tzinfo=UTC), 1, tz="Europe/Istanbull")


ZONES = st.sampled_from(
    [UTC, ISTANBUL, NEW_YORK, ZoneInfo("Asia/Tokyo"), timezone(timedelta(hours=-11, minutes=-30))]
)


@given(
    start=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 1), timezones=ZONES
    ),
    days=st.integers(min_value=1, max_value=40),
)
def test_deadline_properties(start: datetime, days: int) -> None:
    """The deadline is after ``start``, on a business day, ``days`` business days later."""
    deadline = business_day_deadline(start, days)
    assert deadline >= start
    assert is_business_day(deadline.date())
    first = start.astimezone(ISTANBUL).date()
    counted = sum(
        is_business_day(first + timedelta(days=n))
        for n in range(1, (deadline.date() - first).days + 1)
    )
    assert days == counted


@given(
    start=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 1), timezones=ZONES
    ),
    days=st.integers(min_value=-40, max_value=40),
)
def test_add_business_days_round_trips(start: datetime, days: int) -> None:
    """Going ``days`` forward from a business day and back returns to the same moment."""
    local = start.astimezone(ISTANBUL)
    if not is_business_day(local.date()):
        local = add_business_days(local, 1)
    moved = add_business_days(local, days)
    assert local == add_business_days(moved, -days)
    assert days == 0 or is_business_day(moved.date())
