"""Properties of ``isobil.sms`` for text drawn from every alphabet.

The expected encoding and part count come from a slow reference planner written
here from the specification alone: per-character costs from the tables transcribed
in ``strategies.py``, and the fewest parts found by dynamic programming over every
possible split (not by the greedy fill the package uses).
"""

from __future__ import annotations

import itertools

from hypothesis import example, given
from hypothesis import strategies as st

from isobil.errors import EncodingError
from isobil.sms import Encoding, SegmentPlan, decode, plan, transliterate_turkish
from strategies import (
    REF_DEFAULT,
    REF_EXTENSION,
    REF_TURKISH_LOCKING,
    REF_TURKISH_SINGLE,
    any_sms_text,
    bmp_text,
    emoji_text,
    gsm7_default_text,
    gsm7_extended_text,
    turkish_locking_text,
    turkish_text,
)

PREFERENCE = [Encoding.GSM7, Encoding.GSM7_TR_SINGLE, Encoding.GSM7_TR_LOCKING, Encoding.UCS2]
CAPACITY = {
    Encoding.GSM7: (160, 153),
    Encoding.GSM7_TR_SINGLE: (155, 149),
    Encoding.GSM7_TR_LOCKING: (155, 149),
    Encoding.UCS2: (70, 67),
}
TABLES = {
    Encoding.GSM7: (REF_DEFAULT, REF_EXTENSION),
    Encoding.GSM7_TR_SINGLE: (REF_DEFAULT, REF_TURKISH_SINGLE),
    Encoding.GSM7_TR_LOCKING: (REF_TURKISH_LOCKING, REF_EXTENSION),
}
ALPHABETS = {
    "default": gsm7_default_text(),
    "default+extension": gsm7_extended_text(),
    "turkish": turkish_text(),
    "turkish-locking": turkish_locking_text(),
    "bmp": bmp_text(),
    "emoji": emoji_text(),
}
suffixes = st.sampled_from([0, 5])
alphabet_names = st.sampled_from(sorted(ALPHABETS))


def reference_costs(text: str, encoding: Encoding) -> list[int] | None:
    """Units each character costs in ``encoding``, or None if it cannot carry the text."""
    if encoding is Encoding.UCS2:
        return [2 if ord(c) > 0xFFFF else 1 for c in text]
    base, shift = TABLES[encoding]
    one = set(base.values())
    two = set(shift.values()) - one
    costs = []
    for char in text:
        if char in one:
            costs.append(1)
        elif char in two:
            costs.append(2)
        else:
            return None
    return costs


def reference_min_parts(costs: list[int], encoding: Encoding, suffix: int) -> int:
    """Fewest parts over every split at character boundaries (dynamic programming)."""
    single, per_part = CAPACITY[encoding]
    if sum(costs) <= single - suffix:
        return 1
    prefix = [0, *itertools.accumulate(costs)]
    n = len(costs)
    unreachable = n + 10
    # full[i]: fewest concatenated parts, each at most per_part, carrying exactly costs[:i].
    full = [0] + [unreachable] * n
    for i in range(1, n + 1):
        j = i - 1
        while j >= 0 and prefix[i] - prefix[j] <= per_part:
            full[i] = min(full[i], full[j] + 1)
            j -= 1
    # The last part carries costs[j:], non-empty, with the suffix reserved.
    return min(full[j] + 1 for j in range(n) if prefix[n] - prefix[j] <= per_part - suffix)


def reference_plan(text: str, suffix: int, national_shift: bool) -> tuple[Encoding, int]:
    """The encoding and part count the specification asks for."""
    options = []
    for rank, encoding in enumerate(PREFERENCE):
        if not national_shift and encoding in TABLES and encoding is not Encoding.GSM7:
            continue
        costs = reference_costs(text, encoding)
        if costs is not None:
            options.append((reference_min_parts(costs, encoding, suffix), rank, encoding))
    parts, _, encoding = min(options)
    return encoding, parts


def part_capacities(result: SegmentPlan) -> list[int]:
    """The units each part of ``result`` may hold, the suffix reserved in the last."""
    single, per_part = CAPACITY[result.encoding]
    if result.parts == 1:
        return [single - result.operator_suffix]
    return [per_part] * (result.parts - 1) + [per_part - result.operator_suffix]


@given(alphabet_names.flatmap(lambda name: ALPHABETS[name]), suffixes, st.booleans())
@example("€" * 100, 5, True)
@example("a" * 152 + "{" + "b" * 10, 0, True)
def test_plan_matches_reference(text: str, suffix: int, national_shift: bool) -> None:
    """The chosen encoding and part count are the reference's: fewest parts, ties by preference.

    This is the minimality property: no valid encoding, and no other split with
    the chosen one, needs fewer parts.
    """
    expected = reference_plan(text, suffix, national_shift)

    result = plan(text, operator_suffix=suffix, national_shift=national_shift)

    assert expected == (result.encoding, result.parts)
    assert sum(reference_costs(text, result.encoding) or []) == result.units_used


@given(any_sms_text(), suffixes, st.integers(0, 255))
def test_payloads_decode_back_to_the_text(text: str, suffix: int, reference: int) -> None:
    """Decoding every part's payload and joining the texts gives the original text."""
    result = plan(text, operator_suffix=suffix)

    decoded = [
        decode(p.short_message, p.data_coding, p.esm_class) for p in result.payloads(reference)
    ]

    assert text == "".join(d.text for d in decoded)
    assert list(result.texts) == [d.text for d in decoded]
    if result.parts > 1:
        expected_headers = [(reference, result.parts, seq) for seq in range(1, result.parts + 1)]
        assert expected_headers == [(d.reference, d.total, d.seq) for d in decoded]


@given(any_sms_text(), suffixes)
def test_no_part_exceeds_its_capacity(text: str, suffix: int) -> None:
    """Each body fits its part (the last one with the suffix reserved); bodies add up."""
    result = plan(text, operator_suffix=suffix)
    octets_per_unit = 2 if result.encoding is Encoding.UCS2 else 1

    used = [len(p.body) // octets_per_unit for p in result.payloads()]

    assert all(u <= cap for u, cap in zip(used, part_capacities(result), strict=True))
    assert result.units_used == sum(used)
    assert result.parts == len(result.texts) == len(used)
    assert text == "".join(result.texts)
    assert all(result.texts) or text == ""


@given(alphabet_names.flatmap(lambda name: ALPHABETS[name]), suffixes)
def test_units_left_is_the_room_before_another_part(text: str, suffix: int) -> None:
    """Appending units_left one-unit characters keeps the part count; one more adds a part."""
    result = plan(text, operator_suffix=suffix)
    costs = reference_costs(text, result.encoding)
    assert costs is not None

    fits = reference_min_parts(costs + [1] * result.units_left, result.encoding, suffix)
    overflows = reference_min_parts(costs + [1] * (result.units_left + 1), result.encoding, suffix)

    assert (result.parts, result.parts + 1) == (fits, overflows)


@given(any_sms_text(), suffixes)
def test_units_left_formula_without_pairs(text: str, suffix: int) -> None:
    """With no two-unit characters units_left is the plain capacity minus what is used."""
    result = plan(text, operator_suffix=suffix)
    single, per_part = CAPACITY[result.encoding]
    capacity = single if result.parts == 1 else per_part * result.parts

    if result.units_used == result.characters:
        assert capacity - suffix - result.units_used == result.units_left
    else:
        assert capacity - suffix - result.units_used >= result.units_left


@given(st.one_of(turkish_text(), turkish_locking_text(), bmp_text()), st.booleans())
def test_transliteration_never_costs_more(text: str, national_shift: bool) -> None:
    """A transliterated text never needs more parts than the original."""
    original = plan(text, national_shift=national_shift)

    transliterated = plan(transliterate_turkish(text), national_shift=national_shift)

    assert transliterated.parts <= original.parts


@given(
    st.binary(max_size=200),
    st.one_of(st.sampled_from([0, 1, 3, 8]), st.integers(0, 255)),
    st.sampled_from([0, 0x40, 0x43]),
)
def test_decode_never_fails_with_anything_but_encoding_error(
    data: bytes, data_coding: int, esm_class: int
) -> None:
    """Arbitrary inbound bytes decode or raise EncodingError, never IndexError and the like."""
    try:
        part = decode(data, data_coding, esm_class)
    except EncodingError:
        return
    assert 1 <= part.seq <= part.total


@given(st.one_of(gsm7_extended_text(), any_sms_text()), suffixes)
@example("a" * 152 + "€" + "b" * 20, 0)
@example("a" * 152 + "€ ok", 5)  # one part for the gateway, two with our reserve
@example("a" * 305 + "{" + "b" * 10, 0)  # on the second cut
def test_a_fixed_split_never_cuts_an_escape_pair(text: str, suffix: int) -> None:
    """For a gateway that cuts every 153 septets (Jasmin), no escape pair sits on a cut;
    a text that would have one is planned as UCS-2, every other exactly as without."""
    fixed = plan(text, operator_suffix=suffix, national_shift=False, fixed_split=True)
    free = plan(text, operator_suffix=suffix, national_shift=False)
    if fixed.encoding is Encoding.GSM7:
        septets = b"".join(p.body for p in fixed.payloads())
        if len(septets) > 160:  # the gateway splits only what one part cannot hold
            assert all(septets[cut - 1] != 0x1B for cut in range(153, len(septets), 153))
        assert fixed == free
    else:
        assert fixed.encoding is Encoding.UCS2
        assert free.encoding is Encoding.UCS2 or (free.encoding is Encoding.GSM7 and free.parts > 1)
