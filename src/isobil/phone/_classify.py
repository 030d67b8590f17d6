"""What kind of line a normalised number is: mobile, landline, short or other."""

from __future__ import annotations

import enum
import re
from collections.abc import Collection
from typing import Final

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

from isobil.errors import InvalidPhoneNumber
from isobil.phone._metadata import TR_MOBILE

__all__ = ["NumberKind", "classify", "is_turkish_mobile"]


class NumberKind(enum.StrEnum):
    """The kind of line behind a number, as far as its digits tell.

    ``OTHER`` covers pagers (TR 512…), VoIP (850…), universal access (444…),
    toll-free (800…), premium rate, personal numbers and numbers of unknown type.
    """

    MOBILE = "mobile"
    LANDLINE = "landline"
    SHORT = "short"
    OTHER = "other"


# Regions such as the US do not say whether a number is fixed or mobile; for an SMS
# library "may be a mobile" is the useful reading, so those count as mobile.
_KIND_OF_TYPE: Final = {
    PhoneNumberType.MOBILE: NumberKind.MOBILE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE: NumberKind.MOBILE,
    PhoneNumberType.FIXED_LINE: NumberKind.LANDLINE,
}

_E164: Final = re.compile(r"\+[1-9][0-9]{5,14}", re.ASCII)


def is_turkish_mobile(e164: str) -> bool:
    """Return whether ``e164`` is a Turkish mobile number in E.164 form (``+905…``).

    Never raises: anything that is not such a number gives ``False``.
    """
    return (
        isinstance(e164, str)
        and len(e164) == 13
        and e164.startswith("+90")
        and TR_MOBILE.fullmatch(e164, 3) is not None
    )


def classify(number: str, *, short_numbers: Collection[str] = ()) -> NumberKind:
    """Return the kind of ``number``, an E.164 number or one of ``short_numbers``.

    phonenumbers' number type is the authority. Raises
    :class:`~isobil.errors.InvalidPhoneNumber` if ``number`` is neither E.164 nor a
    configured short number; pass raw input through ``normalize()`` first.
    """
    if isinstance(number, str) and not isinstance(short_numbers, str) and number in short_numbers:
        return NumberKind.SHORT
    if is_turkish_mobile(number):
        return NumberKind.MOBILE
    if not isinstance(number, str) or _E164.fullmatch(number) is None:
        raise InvalidPhoneNumber(
            number, "not an E.164 number or a configured short number; normalize() it first"
        )
    try:
        parsed = phonenumbers.parse(number, None)
    except NumberParseException as exc:
        raise InvalidPhoneNumber(number, "unknown country code") from exc
    return _KIND_OF_TYPE.get(phonenumbers.number_type(parsed), NumberKind.OTHER)
