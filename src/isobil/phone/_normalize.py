"""Turn a phone number as people and spreadsheets write it into E.164.

Two paths give the same answer. The fast path recognises a Turkish mobile or
landline number in its common shapes with a few string operations and one regex taken from
phonenumbers' metadata. Everything else goes through phonenumbers (parse,
is_valid_number, format E164), which stays the authority on what is valid.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Collection
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Final

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

from isobil.errors import InvalidPhoneNumber, InvalidValue
from isobil.phone._metadata import TR_COUNTRY_CODE, TR_FAST

__all__ = ["Normalizer", "normalize"]

# Everything str.isspace() accepts (a test checks the list is complete), then
# invisible format characters that copy-paste from phones, chat apps and RTL text
# carries along, then the punctuation people write numbers with.
_WHITESPACE: Final = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_INVISIBLE: Final = (
    "\u00ad\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u2060\u2066\u2067\u2068\u2069\ufeff"
)
_PUNCTUATION: Final = (
    "-./()[]\u2010\u2011\u2012\u2013\u2014\u2015\u2212\uff08\uff09\uff0d\uff0e\uff0f\uff3b\uff3d"
)
SEPARATORS: Final = frozenset(_WHITESPACE + _INVISIBLE + _PUNCTUATION)
_PLUS_SIGNS: Final = "+\uff0b"

_DELETE_SEPARATORS: Final = {ord(ch): None for ch in SEPARATORS} | {0xFF0B: "+"}
_STRIP: Final = _WHITESPACE + _INVISIBLE

# A whole float written as text: "5321234567.0" (Python, pandas) or "5321234567,0"
# (a Turkish-locale export). No leading zero, because a float never prints one;
# that keeps "0532.1234567"-style dotted numbers out of this rule.
_FLOAT_TEXT: Final = re.compile(r"([1-9][0-9]*)[.,]0+", re.ASCII)
# Scientific notation as Excel writes a number that does not fit the column.
_SCIENTIFIC_TEXT: Final = re.compile(r"([1-9])(?:[.,]([0-9]*))?[eE]\+?([0-9]{1,2})", re.ASCII)

# Floats hold every integer exactly only up to 2**53; E.164 needs at most 15 digits.
_FLOAT_EXACT_LIMIT: Final = 2.0**53

_SHORT_NUMBER: Final = re.compile(r"[0-9]{3,6}", re.ASCII)


class Normalizer:
    """A reusable, configured :func:`normalize`: ``Normalizer("TR", short_numbers={"4605"})``.

    Calling it is the same as calling :func:`normalize` with the same options, without
    re-reading the options on every call. Instances are immutable and thread-safe.
    """

    __slots__ = ("_fast_tr", "_region", "_short")

    _region: str
    _short: frozenset[str]
    _fast_tr: bool

    def __init__(self, region: str = "TR", *, short_numbers: Collection[str] = ()) -> None:
        if not isinstance(region, str) or region.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise InvalidValue(f"unknown region {region!r}: expected an ISO 3166 code like 'TR'")
        self._region = region.upper()
        self._short = _check_short_numbers(short_numbers)
        # The shortcut knows only Turkish national shapes ('0…', '90…', bare 10 digits).
        self._fast_tr = self._region == "TR"

    @property
    def region(self) -> str:
        """The region whose national numbers this reads, upper case (``'TR'``)."""
        return self._region

    @property
    def short_numbers(self) -> frozenset[str]:
        """The configured short numbers, returned unchanged by :meth:`__call__`."""
        return self._short

    def __repr__(self) -> str:
        return f"Normalizer({self._region!r}, short_numbers={sorted(self._short)!r})"

    def __call__(self, raw: str | int | float) -> str:
        """Return ``raw`` as E.164, or as its digits if it is a configured short number.

        Raises :class:`~isobil.errors.InvalidPhoneNumber` with a reason otherwise.
        """
        # Exact type checks: bool is an int, and str/float subclasses (numpy) take
        # the careful path. A '.' may be a float written as text ("5321234567.0"),
        # which the careful path reads differently from a dotted number.
        if type(raw) is str:
            if "." in raw:
                return self._careful(raw)
            # Most sheets use plain spaces or none: str.replace is ~6x cheaper than
            # the full translate, and _quick accepts only clean digits either way.
            text = raw.replace(" ", "")
            found = self._quick(text)
            if found is not None:
                return found
            text = text.translate(_DELETE_SEPARATORS)
        elif type(raw) is int:
            text = str(raw)
        elif type(raw) is float and raw.is_integer() and 0 <= raw < _FLOAT_EXACT_LIMIT:
            text = str(int(raw))
        else:
            return self._careful(raw)
        found = self._quick(text)
        return found if found is not None else self._careful(raw)

    def _quick(self, text: str) -> str | None:
        """The answer for ``text`` (separators removed) if it needs no phonenumbers call.

        ``text`` may still hold anything; every accepted shape checks its prefix
        literally and its 10 digits with the ASCII-only mobile and landline patterns.
        """
        if self._short and text in self._short:
            return text
        if not self._fast_tr:
            return None
        size = len(text)
        if size == 10:
            national = text
        elif size == 11 and text[0] == "0":
            national = text[1:]
        elif size == 13 and text.startswith("+90"):
            national = text[3:]
        elif size == 12 and text.startswith("90"):
            # 12 digits are no Turkish national number unless they start with 8
            # (toll-free), so a leading 90 is the country code; phonenumbers reads it
            # the same way when the rest is a valid national number.
            national = text[2:]
        elif size == 14 and text.startswith("0090"):
            national = text[4:]
        else:
            return None
        if TR_FAST.fullmatch(national) is None:
            return None
        return "+90" + national

    def _careful(self, raw: object) -> str:
        """The complete path: read the type, clean the text, then shortcut or phonenumbers."""
        digits, plus = _digits_of(raw)
        found = self._quick(("+" + digits) if plus else digits)
        if found is not None:
            return found
        return self._authority(raw, digits, plus)

    def _authority(self, raw: object, digits: str, plus: bool) -> str:
        """Ask phonenumbers; it decides validity for every shape the shortcut declined."""
        try:
            number = phonenumbers.parse(("+" + digits) if plus else digits, self._region)
        except NumberParseException as exc:
            raise InvalidPhoneNumber(raw, _parse_failure(exc, digits, plus)) from exc
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, PhoneNumberFormat.E164)
        raise InvalidPhoneNumber(raw, _invalid_reason(number, plus))


def _check_short_numbers(short_numbers: Collection[str]) -> frozenset[str]:
    # A lone string is a Collection[str] too, and would silently mean its digits.
    if isinstance(short_numbers, str):
        raise InvalidValue(
            f"short_numbers must be a collection of strings, not the string {short_numbers!r}"
        )
    for item in short_numbers:
        if not isinstance(item, str) or _SHORT_NUMBER.fullmatch(item) is None:
            raise InvalidValue(f"short number {item!r} must be a string of 3 to 6 digits")
    return frozenset(short_numbers)


def _digits_of(raw: object) -> tuple[str, bool]:
    """Return the ASCII digits of ``raw`` and whether it began with '+'; raise if unreadable."""
    if isinstance(raw, bool):
        raise InvalidPhoneNumber(raw, "bool is not a phone number")
    if raw is None:
        raise InvalidPhoneNumber(raw, "empty")
    if isinstance(raw, int):
        if raw < 0:
            raise InvalidPhoneNumber(raw, "negative number")
        return str(raw), False
    if isinstance(raw, float):
        return _digits_of_float(raw), False
    if isinstance(raw, Decimal):
        return _digits_of_decimal(raw, raw), False
    if isinstance(raw, str):
        return _digits_of_text(raw)
    raise InvalidPhoneNumber(raw, f"{type(raw).__name__} is not a phone number")


def _digits_of_float(raw: float) -> str:
    if math.isnan(raw):
        raise InvalidPhoneNumber(raw, "NaN is not a phone number")
    if math.isinf(raw):
        raise InvalidPhoneNumber(raw, "infinite float is not a phone number")
    if not raw.is_integer():
        raise InvalidPhoneNumber(raw, "float is not a whole number")
    if raw < 0:
        raise InvalidPhoneNumber(raw, "negative number")
    if raw >= _FLOAT_EXACT_LIMIT:
        raise InvalidPhoneNumber(raw, "float too large to hold a phone number exactly")
    return str(int(raw))


def _digits_of_decimal(raw: object, value: Decimal) -> str:
    if not value.is_finite():
        raise InvalidPhoneNumber(raw, "NaN or infinity is not a phone number")
    if value != value.to_integral_value():
        raise InvalidPhoneNumber(raw, "float is not a whole number")
    if value < 0:
        raise InvalidPhoneNumber(raw, "negative number")
    return str(int(value))


def _digits_of_text(raw: str) -> tuple[str, bool]:
    text = raw.strip(_STRIP)
    if not text:
        raise InvalidPhoneNumber(raw, "empty")
    if text[0] == "'":
        # Spreadsheet users type a leading apostrophe to keep the 0; some exports keep it.
        text = text[1:]
    whole = _FLOAT_TEXT.fullmatch(text)
    if whole is not None:
        return whole.group(1), False
    scientific = _SCIENTIFIC_TEXT.fullmatch(text)
    if scientific is not None:
        return _digits_of_scientific(raw, scientific), False

    cleaned = text.translate(_DELETE_SEPARATORS)
    if cleaned.isascii() and cleaned.isdigit():
        return cleaned, False
    if cleaned[:1] == "+" and cleaned[1:].isascii() and cleaned[1:].isdigit():
        return cleaned[1:], True
    return _digits_one_by_one(raw, text)


def _digits_of_scientific(raw: str, found: re.Match[str]) -> str:
    lead, fraction, exponent = found.group(1), found.group(2) or "", int(found.group(3))
    if len(fraction) < exponent:
        # "5.32123E+09": the sheet printed fewer digits than the number has; the
        # missing ones are unknown, and guessing zeros would text a stranger.
        raise InvalidPhoneNumber(
            raw,
            f"scientific notation has lost digits ({1 + len(fraction)} significant digits "
            f"for a {1 + exponent}-digit number)",
        )
    try:
        value = Decimal(f"{lead}.{fraction}e{exponent}")
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only valid text
        raise InvalidPhoneNumber(raw, "unreadable scientific notation") from exc
    return _digits_of_decimal(raw, value)


def _digits_one_by_one(raw: str, text: str) -> tuple[str, bool]:
    """Slow, exact reading for text the translate table did not settle; says what is wrong."""
    if any(ch.isalpha() for ch in text):
        raise InvalidPhoneNumber(raw, "contains letters")
    digits: list[str] = []
    plus = False
    for ch in text:
        if ch in SEPARATORS:
            continue
        if ch in _PLUS_SIGNS:
            if digits or plus:
                raise InvalidPhoneNumber(raw, "'+' is only allowed at the start")
            plus = True
        elif ch.isdecimal():  # Arabic-Indic, full-width … digits
            digits.append(str(unicodedata.decimal(ch)))
        else:
            raise InvalidPhoneNumber(raw, f"contains an invalid character {ch!r}")
    if not digits:
        raise InvalidPhoneNumber(raw, "no digits")
    return "".join(digits), plus


def _parse_failure(exc: NumberParseException, digits: str, plus: bool) -> str:
    """Say why phonenumbers could not even parse the digits (too short, too long, no country)."""
    error = exc.error_type
    if error == NumberParseException.INVALID_COUNTRY_CODE:
        return f"unknown country code in +{digits[:3]}…" if plus else "unknown country code"
    if error == NumberParseException.TOO_LONG:
        return f"too many digits ({len(digits)} in all)"
    if error == NumberParseException.TOO_SHORT_AFTER_IDD:
        return "too few digits after the international prefix"
    # TOO_SHORT_NSN, and NOT_A_NUMBER, which phonenumbers gives for 1-2 digits.
    return f"too few digits ({len(digits)} in all)"


def _invalid_reason(number: phonenumbers.PhoneNumber, plus: bool) -> str:
    """Say why phonenumbers found ``number`` invalid, in the terms a sheet owner understands."""
    code = number.country_code
    region = phonenumbers.region_code_for_country_code(code) if code is not None else "ZZ"
    national = phonenumbers.national_significant_number(number)
    if code == TR_COUNTRY_CODE:
        # phonenumbers keeps the 0 of '053212345' when the rest is not a number;
        # count the digits after it, the ones that must be 10.
        if national.startswith("0"):
            national = national[1:]
        size = len(national)
        if size < 10:
            hint = ""
            if size <= 6 and not plus:
                hint = "; if it is a short number, pass it in short_numbers"
            return f"too few digits ({size}) for a Turkish number{hint}"
        # Only toll-free 800 numbers are longer than 10 digits in Turkey.
        if size > 13 or (size > 10 and not national.startswith("8")):
            return f"too many digits ({size}) for a Turkish number"
        return "not a valid number for region TR"
    possible = phonenumbers.is_possible_number_with_reason(number)
    size = len(national)
    if possible == ValidationResult.INVALID_COUNTRY_CODE or region == "ZZ":
        return f"unknown country code +{code}"
    if possible == ValidationResult.TOO_SHORT:
        return f"too few digits ({size}) for a number of region {region}"
    if possible == ValidationResult.IS_POSSIBLE_LOCAL_ONLY:
        return f"too few digits ({size}) for a number of region {region}: the area code is missing"
    if possible == ValidationResult.TOO_LONG:
        return f"too many digits ({size}) for a number of region {region}"
    if possible == ValidationResult.INVALID_LENGTH:
        return f"wrong number of digits ({size}) for a number of region {region}"
    return f"not a valid number for region {region}"


_default: Final = Normalizer("TR").__call__  # bound once: saves a lookup per number


@lru_cache(maxsize=64)
def _configured(region: str, short_numbers: frozenset[str]) -> Normalizer:
    return Normalizer(region, short_numbers=short_numbers)


def normalize(
    raw: str | int | float, region: str = "TR", *, short_numbers: Collection[str] = ()
) -> str:
    """Return ``raw`` as an E.164 number such as ``'+905321234567'``.

    ``raw`` may be text in any common shape (``'0532 123 45 67'``,
    ``'+90 (532) 123-4567'``, ``'905321234567'`` …), an int, or a whole float from a
    spreadsheet (``5321234567.0``). National numbers are read as numbers of
    ``region``. A number listed in ``short_numbers`` (e.g. ``{"4605"}``) is returned
    as its digits. Anything else raises :class:`~isobil.errors.InvalidPhoneNumber`
    whose ``reason`` says what is wrong.
    """
    if region == "TR" and not short_numbers:
        return _default(raw)
    if isinstance(short_numbers, str):
        _check_short_numbers(short_numbers)  # raises the clear error
    return _configured(region, frozenset(short_numbers))(raw)
