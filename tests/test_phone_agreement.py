"""The fast path of ``isobil.phone.normalize`` agrees with phonenumbers on Turkish input.

A small grammar renders national numbers (valid mobiles, invalid prefixes, pagers,
landlines, wrong lengths, random digits) in the shapes people and spreadsheets
produce. Every rendering is checked against a reference written here on top of
phonenumbers alone: ``parse(raw, "TR")`` + ``is_valid_number``. A deterministic,
seeded run covers 100,000+ inputs in one loop; hypothesis explores the same grammar
with shrinking.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Protocol, TypeVar

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from isobil.errors import InvalidPhoneNumber
from isobil.phone import Normalizer, normalize

T = TypeVar("T")

SEEDED_INPUTS = 120_000


class Chooser(Protocol):
    """Where the grammar gets its randomness: a seeded Random or hypothesis' data."""

    def choice(self, options: Sequence[T]) -> T: ...

    def digits(self, count: int) -> str: ...

    def integer(self, low: int, high: int) -> int: ...


class SeededChooser:
    """Deterministic choices from ``random.Random(seed)``."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def choice(self, options: Sequence[T]) -> T:
        return options[self._random.randrange(len(options))]

    def digits(self, count: int) -> str:
        return "".join(self._random.choices("0123456789", k=count))

    def integer(self, low: int, high: int) -> int:
        return self._random.randint(low, high)


class HypothesisChooser:
    """Choices drawn from hypothesis, so failures shrink to a small example."""

    def __init__(self, data: st.DataObject) -> None:
        self._data = data

    def choice(self, options: Sequence[T]) -> T:
        return self._data.draw(st.sampled_from(options))

    def digits(self, count: int) -> str:
        return self._data.draw(st.text("0123456789", min_size=count, max_size=count))

    def integer(self, low: int, high: int) -> int:
        return self._data.draw(st.integers(low, high))


# Operator prefixes as published by the operators (not read from phonenumbers), the
# special 561/582 ranges, and prefixes that are not mobiles at all.
MOBILE_PREFIXES = (
    *(f"53{d}" for d in "0123456789"),
    *(f"54{d}" for d in "0123456789"),
    *(f"55{d}" for d in "0123456789"),
    "501", "505", "506", "507", "510", "516", "524", "564", "572", "574", "575",
    "594", "596",
)  # fmt: skip
NOT_MOBILE_PREFIXES = ("512", "561", "560", "582", "592", "599", "502", "520", "580", "500")
AREA_CODES = ("212", "216", "232", "312", "242", "224", "322", "262", "236", "462", "482")
SPECIAL = (("850", 7), ("444", 4), ("800", 7), ("800", 9), ("900", 7), ("888", 7), ("811", 7))


def national_number(c: Chooser) -> str:
    """A national significant number, valid or not, in proportions like real sheets."""
    kind = c.choice(
        ("mobile", "mobile", "mobile", "mobile", "random_mobile", "special_mobile",
         "not_mobile", "landline", "random_landline", "special", "wrong_length", "digits")
    )  # fmt: skip
    if kind == "mobile":
        return c.choice(MOBILE_PREFIXES) + c.digits(7)
    if kind == "random_mobile":
        return "5" + c.digits(9)
    if kind == "special_mobile":
        return c.choice(("561011", "56161", "5822", "5823", "5825", "5826", "5611")) + c.digits(4)
    if kind == "not_mobile":
        return c.choice(NOT_MOBILE_PREFIXES) + c.digits(7)
    if kind == "landline":
        return c.choice(AREA_CODES) + c.digits(7)
    if kind == "random_landline":
        return c.choice("2348") + c.digits(9)
    if kind == "special":
        prefix, rest = c.choice(SPECIAL)
        return prefix + c.digits(rest)
    if kind == "wrong_length":
        valid = c.choice(MOBILE_PREFIXES) + c.digits(7)
        cut = c.integer(1, 3)
        return valid[:-cut] if c.choice((True, False)) else valid + c.digits(cut)
    return c.digits(c.integer(1, 15))


PREFIXES = (
    "", "", "", "0", "0", "0", "+90", "+90", "90", "0090", "+90 0", "+90 (0)", "(0)",
    "+ 90", "(+90)", "00 90", "90 0", "0090 0", "00", "9", "+",
)  # fmt: skip
SEPARATORS = (" ", " ", " ", "", "-", ".", "\u00a0", " - ", "  ", "/", "\u2013", "\u200b")
OUTSIDE = ("", "", "", " ", "\t", "\u00a0", "\n", "  ", "\ufeff", "\u200b")


def grouped(c: Chooser, national: str, separator: str) -> str:
    """``national`` split the way people write it: 3-3-2-2, 3-3-4, (3) …, or random."""
    style = c.choice(("3322", "334", "37", "bracket", "none", "random"))
    if style == "none" or len(national) < 4:
        return national
    if style == "bracket":
        rest = national[3:]
        return f"({national[:3]}) " + separator.join((rest[:3], rest[3:5], rest[5:])).strip(
            separator
        )
    sizes = {"3322": (3, 3, 2, 2), "334": (3, 3, 4), "37": (3, 7)}.get(style)
    if sizes is None:
        sizes = tuple(c.integer(1, 4) for _ in range(6))
    parts, start = [], 0
    for size in sizes:
        if start >= len(national):
            break
        parts.append(national[start : start + size])
        start += size
    if start < len(national):
        parts.append(national[start:])
    return separator.join(parts)


def rendered(c: Chooser) -> str | int | float:
    """One input as a sheet or a person would hand it to normalize()."""
    national = national_number(c)
    prefix = c.choice(PREFIXES)
    shape = c.choice(("text", "text", "text", "text", "digits", "int", "float", "float_text"))
    if shape in ("digits", "int", "float", "float_text"):
        digits = prefix.replace(" ", "").replace("(", "").replace(")", "") + national
        if "+" in digits or shape == "digits":
            return digits
        if shape == "int":
            return int(digits)
        if shape == "float":
            return float(int(digits))
        return f"{int(digits)}.{'0' * c.integer(1, 2)}"
    separator = c.choice(SEPARATORS)
    between = c.choice(("", " ", separator))
    text = (
        prefix + between + grouped(c, national, separator)
        if prefix
        else grouped(c, national, separator)
    )
    return c.choice(OUTSIDE) + text + c.choice(OUTSIDE)


# A whole float written as text: spreadsheets and pandas give "5321234567.0".
# phonenumbers has no notion of it, so the reference reads the integer part itself.
FLOAT_TEXT = re.compile(r"[1-9][0-9]*\.0+")


def reference(raw: str | int | float) -> str | None:
    """The E.164 phonenumbers alone gives for ``raw`` read as Turkish, or None if invalid."""
    if isinstance(raw, int | float):
        text = str(int(raw))
    elif FLOAT_TEXT.fullmatch(raw.strip()):
        text = str(int(Decimal(raw.strip())))
    else:
        text = raw
    try:
        number = phonenumbers.parse(text, "TR")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def outcome(function: Callable[[str | int | float], str], raw: str | int | float) -> str | None:
    """What ``function`` returns, or None when it raises InvalidPhoneNumber."""
    try:
        return function(raw)
    except InvalidPhoneNumber:
        return None


def test_seeded_grammar_agrees_with_phonenumbers_on_120000_inputs() -> None:
    """Every one of 120,000 seeded Turkish inputs gets phonenumbers' answer, valid or not."""
    chooser = SeededChooser(20240601)
    disagreements: list[tuple[object, str | None, str | None]] = []
    valid = 0
    for _ in range(SEEDED_INPUTS):
        raw = rendered(chooser)
        expected = reference(raw)
        actual = outcome(normalize, raw)
        valid += expected is not None
        if expected != actual:
            disagreements.append((raw, expected, actual))
    assert disagreements[:20] == []
    # The grammar must exercise both sides, or agreement would prove little.
    assert 0.3 < valid / SEEDED_INPUTS < 0.8


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_hypothesis_grammar_agrees_with_phonenumbers(data: st.DataObject) -> None:
    """Hypothesis-drawn inputs of the same grammar: normalize() == phonenumbers (valid or not)."""
    raw = rendered(HypothesisChooser(data))
    assert outcome(normalize, raw) == reference(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "0532 123 45 67",
        "+90 (532) 123-4567",
        "5321234567",
        "905321234567",
        "00905321234567",
        "0090 532 123 45 67",
        "(0532) 123 45 67",
        "0532-123-45-67",
        "0532.123.45.67",
        "+905321234567",
        " 0532 123 45 67 ",
        5321234567,
        905321234567,
        5321234567.0,
        905321234567.0,
    ],
)
def test_common_mobile_shapes_need_no_phonenumbers_call(
    raw: str | int | float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The common shapes of a Turkish mobile are answered without phonenumbers.parse."""

    def no_parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the fast path called phonenumbers.parse")

    monkeypatch.setattr(phonenumbers, "parse", no_parse)
    assert Normalizer("TR")(raw) == "+905321234567"


@pytest.mark.parametrize(
    "raw",
    [
        "0212 212 34 56",
        "+90 (212) 212-3456",
        "2122123456",
        "902122123456",
        "00902122123456",
        "(0212) 212 34 56",
        "0212.212.34.56",
        2122123456,
        2122123456.0,
    ],
)
def test_common_landline_shapes_need_no_phonenumbers_call(
    raw: str | int | float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Landlines, an address book's slow path until issue 18, take the shortcut too."""

    def no_parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the fast path called phonenumbers.parse")

    monkeypatch.setattr(phonenumbers, "parse", no_parse)
    assert Normalizer("TR")(raw) == "+902122123456"
