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
def aware(moment: object, what: str) -> datetime: ...
@overload
def aware(moment: datetime | None, what: str, *, optional: bool) -> datetime | None: ...
def aware(moment: object, what: str, *, optional: bool = False) -> datetime | None:
    """``moment`` unchanged if it is a timezone-aware datetime (``None`` too when
    ``optional``); anything else — a naive datetime (no tzinfo, or one that gives it
    no UTC offset, as Python defines naive), ``None``, not a datetime at all — raises
    :class:`~isobil.InvalidValue` naming ``what``.

    >>> from datetime import UTC
    >>> aware(datetime(2026, 1, 1, tzinfo=UTC), "now").year
    2026
    >>> aware(None, "until", optional=True) is None
    True
    >>> for given in (datetime(2026, 1, 1), None):
    ...     try:
    ...         aware(given, "now")
    ...     except InvalidValue as exc:
    ...         print(str(exc).split(" (")[0])
    now must be a timezone-aware datetime, not a naive one
    now must be a timezone-aware datetime, not None
    """
    if moment is None and optional:
        return None
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        got = "None" if moment is None else "a naive one"
        raise InvalidValue(
            f"{what} must be a timezone-aware datetime, not {got} (with tzinfo, e.g. "
            f"ZoneInfo('Europe/Istanbul')), got {moment!r}"
        )
    return moment


def aware_field(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """An attrs validator: :func:`aware` on a field, named after it."""
    aware(value, attribute.name)


#: :func:`aware_field` for a field that may be ``None``.
optional_aware_field = attrs.validators.optional(aware_field)
