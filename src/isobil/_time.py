"""Times isobil is handed name a moment: timezone-aware, or refused, never guessed."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, overload
from zoneinfo import ZoneInfo

import attrs

from isobil.errors import InvalidValue

#: Turkish time, what its operators, İYS and its law read a time in: UTC+3 all year since
#: September 2016, summer time before (HS_2015 consents), which zoneinfo knows; the
#: law's dates are Turkish dates, and a day ends at midnight there.
ISTANBUL: Final = ZoneInfo("Europe/Istanbul")


@overload
def aware(moment: datetime, what: str) -> datetime: ...
@overload
def aware(moment: None, what: str) -> None: ...
@overload
def aware(moment: datetime | None, what: str) -> datetime | None: ...
def aware(moment: datetime | None, what: str) -> datetime | None:
    """``moment`` unchanged if timezone-aware (``None`` too); a naive one — no tzinfo,
    or one that gives it no UTC offset, as Python defines naive — or anything but a
    datetime raises :class:`~isobil.InvalidValue` naming ``what``.

    >>> from datetime import UTC
    >>> aware(datetime(2026, 1, 1, tzinfo=UTC), "now").year
    2026
    >>> try:
    ...     aware(datetime(2026, 1, 1), "now")
    ... except InvalidValue as exc:
    ...     print(str(exc).split(" (")[0])
    now must be a timezone-aware datetime, not a naive one
    """
    if moment is not None and (not isinstance(moment, datetime) or moment.utcoffset() is None):
        raise InvalidValue(
            f"{what} must be a timezone-aware datetime, not a naive one (with tzinfo, e.g. "
            f"ZoneInfo('Europe/Istanbul')), got {moment!r}"
        )
    return moment


def aware_field(instance: object, attribute: attrs.Attribute[Any], value: datetime | None) -> None:
    """An attrs validator: :func:`aware` on a field (``None`` passes), named after it."""
    aware(value, attribute.name)
