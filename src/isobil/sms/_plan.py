"""Segment planning: the cheapest encoding for a text, its split into parts, SMPP payloads.

Capacities follow 3GPP TS 23.040 (user data header costs) and the Turkish practice of
an operator code appended to the last part of every bulk SMS.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Sequence
from typing import Final

import attrs

from isobil.errors import EncodingError, InvalidValue
from isobil.sms import _udh
from isobil.sms._alphabets import (
    GSM7_DEFAULT,
    GSM7_TURKISH_LOCKING,
    GSM7_TURKISH_SINGLE,
    Gsm7Tables,
)

MAX_PARTS: Final = 255  # the 8-bit concatenation IE counts parts in one octet
MAX_OPERATOR_SUFFIX: Final = 20  # the real one is 5; a larger reserve is almost surely a typo


class Encoding(enum.StrEnum):
    """How the text of a message is carried.

    ``gsm7`` is the GSM 03.38 default alphabet with its extension table;
    ``gsm7-tr-single`` and ``gsm7-tr-locking`` add the Turkish national language
    single or locking shift table (announced in the UDH, 5 septets per part);
    ``ucs2`` is UTF-16, for text no GSM table can carry.
    """

    GSM7 = "gsm7"
    GSM7_TR_SINGLE = "gsm7-tr-single"
    GSM7_TR_LOCKING = "gsm7-tr-locking"
    UCS2 = "ucs2"


@attrs.frozen
class _Profile:
    encoding: Encoding
    data_coding: int
    shift_ie: bytes
    tables: Gsm7Tables | None
    capacity_single: int = attrs.field(init=False)
    capacity_per_part: int = attrs.field(init=False)

    @capacity_single.default
    def _capacity_single(self) -> int:
        return self._capacity(len(self.shift_ie))

    @capacity_per_part.default
    def _capacity_per_part(self) -> int:
        return self._capacity(len(self.shift_ie) + 5)  # + the 8-bit concatenation IE

    def _capacity(self, ie_octets: int) -> int:
        # 140 octets of user data; a header also costs its length octet, and GSM-7
        # rounds the header up to whole septets (TS 23.040 §9.2.3.24).
        header = ie_octets + 1 if ie_octets else 0
        if self.tables is None:
            return (140 - header) // 2
        return 160 - -(-header * 8 // 7)


_GSM7 = _Profile(Encoding.GSM7, 0, b"", GSM7_DEFAULT)
_TR_SINGLE = _Profile(
    Encoding.GSM7_TR_SINGLE, 0, bytes((_udh.IEI_SINGLE_SHIFT, 1, 1)), GSM7_TURKISH_SINGLE
)
_TR_LOCKING = _Profile(
    Encoding.GSM7_TR_LOCKING, 0, bytes((_udh.IEI_LOCKING_SHIFT, 1, 1)), GSM7_TURKISH_LOCKING
)
_UCS2 = _Profile(Encoding.UCS2, 8, b"", None)
_PROFILES: Final = {p.encoding: p for p in (_GSM7, _TR_SINGLE, _TR_LOCKING, _UCS2)}

# Frozen copies of the lookups that plan() touches on every call.
_DEFAULT_ONE: Final = GSM7_DEFAULT.one_septet
_DEFAULT_TWO: Final = GSM7_DEFAULT.two_septets
_SINGLE_TWO: Final = GSM7_TURKISH_SINGLE.two_septets
_LOCKING_ALL: Final = GSM7_TURKISH_LOCKING.charset
_LOCKING_TWO: Final = GSM7_TURKISH_LOCKING.two_septets


@attrs.frozen
class PartPayload:
    """One SMPP ``submit_sm`` worth of a message: what goes in each field.

    GSM-7 variants are sent unpacked, one septet per octet, with ``data_coding`` 0;
    UCS-2 as UTF-16-BE with ``data_coding`` 8. ``udh`` includes its length octet
    and ``esm_class`` has the UDHI bit (0x40) whenever ``udh`` is not empty.
    """

    data_coding: int
    esm_class: int
    udh: bytes
    body: bytes

    @property
    def short_message(self) -> bytes:
        """The ``short_message`` field: the UDH followed by the body."""
        return self.udh + self.body


@attrs.frozen
class SegmentPlan:
    """How a text goes out: its encoding, its parts and the room left.

    ``texts`` holds the text each part carries, in order (``"".join(texts) == text``).
    ``units_used`` counts septets (escape septets included) for the GSM-7
    variants and UTF-16 code units for UCS-2. ``units_left`` is how many more
    one-unit characters could be appended before another part is needed, with
    ``operator_suffix`` units already reserved in the last part.
    ``capacity_single`` and ``capacity_per_part`` are the encoding's nominal
    capacities (160/153, 155/149 or 70/67), before the operator suffix.
    """

    text: str
    encoding: Encoding
    parts: int
    texts: tuple[str, ...] = attrs.field(repr=False)
    units_used: int
    units_left: int
    capacity_single: int
    capacity_per_part: int
    operator_suffix: int

    @property
    def characters(self) -> int:
        """The number of characters (code points) in ``text``."""
        return len(self.text)

    @property
    def credits(self) -> int:
        """What a Turkish provider bills for the message: one credit a part."""
        return self.parts

    def payloads(self, reference: int = 0) -> tuple[PartPayload, ...]:
        """The SMPP payload of every part, in order.

        ``reference`` (0-255) is the concatenation reference shared by the parts;
        a sender must not reuse it for another message to the same number while
        parts may still be in flight.
        """
        if isinstance(reference, bool) or not isinstance(reference, int):
            raise TypeError(f"reference must be an int, not {type(reference).__name__}")
        if not 0 <= reference <= 255:
            raise InvalidValue(f"reference must be 0-255, got {reference}")
        profile = _PROFILES[self.encoding]
        tables = profile.tables
        esm_class = _udh.ESM_CLASS_UDHI if self.parts > 1 or profile.shift_ie else 0
        payloads = []
        for seq, part in enumerate(self.texts, 1):
            udh = _udh.build(
                shift_ie=profile.shift_ie, reference=reference, total=self.parts, seq=seq
            )
            if tables is None:
                body = part.encode("utf-16-be")
            else:
                body = part.translate(tables.encode_map).encode("latin-1")
            payloads.append(PartPayload(profile.data_coding, esm_class, udh, body))
        return tuple(payloads)


def plan(
    text: str,
    *,
    operator_suffix: int = 5,
    national_shift: bool = True,
    fixed_split: bool = False,
    locking_shift: bool = True,
) -> SegmentPlan:
    """Choose the cheapest encoding for ``text`` and split it into parts.

    Cheapest means fewest parts; on a tie the most widely supported encoding
    wins: ``gsm7``, then Turkish single shift, then Turkish locking shift, then
    UCS-2. ``operator_suffix`` units are reserved in the last part for the code
    Turkish operators append (" B038"); 0 turns the reserve off.
    ``national_shift=False`` limits the choice to ``gsm7`` and ``ucs2``;
    ``locking_shift=False`` leaves out the Turkish locking shift table only, for a
    provider that sends the single shift table but not the locking one.

    Parts are cut only between characters, never inside an escape pair or a
    surrogate pair. Filling each part as far as it goes is minimal: after k parts
    the greedy split has covered at least as much text as any other split, so
    no split with the chosen encoding needs fewer parts.

    ``fixed_split=True`` is for a gateway that splits long texts itself, every 153
    septets whatever falls there (Jasmin does): a GSM 7-bit text with an escape
    pair (€ [ ] { } ~ ^ | \\) on such a cut would reach the phone garbled, so it is
    planned — and must be sent — as UCS-2 instead. (Such gateways send no shift
    tables either: pass ``national_shift=False`` with it.)

    Raises :class:`EncodingError` for text no encoding can carry (a lone
    surrogate) or that needs more than 255 parts.

    >>> text = "a" * 152 + "€" + "b" * 20  # € on septets 153-154: the first cut
    >>> plan(text).encoding.value, plan(text, fixed_split=True).encoding.value
    ('gsm7', 'ucs2')
    """
    chosen = _plan(text, operator_suffix, national_shift, locking_shift)
    # Such a gateway splits what does not fit one part of 160 (our reserve aside).
    splits = chosen.encoding is Encoding.GSM7 and chosen.units_used > _GSM7.capacity_single
    if fixed_split and splits and _cuts_an_escape(text, _GSM7.capacity_per_part):
        return _build(text, _UCS2, _ucs2_units(text), operator_suffix)
    return chosen


def _cuts_an_escape(text: str, per_part: int) -> bool:
    """Whether cutting GSM 7-bit ``text`` every ``per_part`` septets splits an escape pair."""
    position = 0
    for char in text:
        if char in _DEFAULT_TWO:
            if position % per_part == per_part - 1:
                return True
            position += 2
        else:
            position += 1
    return False


def _plan(
    text: str, operator_suffix: int, national_shift: bool, locking_shift: bool = True
) -> SegmentPlan:
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    if isinstance(operator_suffix, bool) or not isinstance(operator_suffix, int):
        raise TypeError(f"operator_suffix must be an int, not {type(operator_suffix).__name__}")
    if not 0 <= operator_suffix <= MAX_OPERATOR_SUFFIX:
        raise InvalidValue(
            f"operator_suffix must be 0-{MAX_OPERATOR_SUFFIX} units, got {operator_suffix}"
        )

    chars = set(text)
    if chars <= _DEFAULT_ONE:
        return _build(text, _GSM7, len(text), operator_suffix)

    # Single shift is only worth trying when gsm7 is not possible: it then costs
    # the same septets in less room. UCS-2 is only tried when no GSM table fits: a
    # GSM part holds at least 74 characters (77 alone) against UCS-2's 67 (70), so
    # it never needs more parts.
    n = len(text)
    extra = chars - _DEFAULT_ONE
    preferred: _Profile | None = None
    if extra <= _DEFAULT_TWO:
        preferred = _GSM7
    elif national_shift and extra <= _SINGLE_TWO:
        preferred = _TR_SINGLE
    locking = national_shift and locking_shift and chars <= _LOCKING_ALL
    if preferred is None:
        if locking:
            units = n + sum(map(text.count, chars & _LOCKING_TWO))
            return _build(text, _TR_LOCKING, units, operator_suffix)
        return _build(text, _UCS2, _ucs2_units(text), operator_suffix)

    units = n + sum(map(text.count, extra))
    layout = _layout(text, preferred, units, operator_suffix)
    # One part cannot be beaten, so the locking table (cheaper per Turkish letter
    # and per €) is only weighed when the preferred table needs concatenation.
    if layout[0] and locking:
        locking_units = n + sum(map(text.count, chars & _LOCKING_TWO))
        locking_layout = _layout(text, _TR_LOCKING, locking_units, operator_suffix)
        if len(locking_layout[0]) < len(layout[0]):
            return _build(text, _TR_LOCKING, locking_units, operator_suffix, locking_layout)
    return _build(text, preferred, units, operator_suffix, layout)


def _ucs2_units(text: str) -> int:
    try:
        return len(text.encode("utf-16-le")) // 2
    except UnicodeEncodeError as exc:
        raise EncodingError(
            f"text has a lone surrogate {text[exc.start]!r} at index {exc.start}; "
            "no SMS encoding can carry it"
        ) from exc


_Layout = tuple[Sequence[int], int]
_SINGLE_PART: Final[_Layout] = ((), 0)


def _layout(text: str, profile: _Profile, units: int, suffix: int) -> _Layout:
    """Where parts 2..n start (character indices), and units lost at part edges."""
    if units <= profile.capacity_single - suffix:
        return _SINGLE_PART
    if units == len(text):
        return _cuts_uniform(units, profile.capacity_per_part, suffix), 0
    if profile.tables is None:
        return _cuts_ucs2(text, units, profile.capacity_per_part, suffix)
    return _cuts_gsm7(text, profile.tables, units, profile.capacity_per_part, suffix)


def _build(
    text: str, profile: _Profile, units: int, suffix: int, layout: _Layout | None = None
) -> SegmentPlan:
    cuts, waste = _layout(text, profile, units, suffix) if layout is None else layout
    if not cuts:
        return SegmentPlan(
            text,
            profile.encoding,
            1,
            (text,),
            units,
            profile.capacity_single - suffix - units,
            profile.capacity_single,
            profile.capacity_per_part,
            suffix,
        )
    parts = len(cuts) + 1
    if parts > MAX_PARTS:
        raise EncodingError(
            f"text needs {parts} parts in {profile.encoding.value}, more than the "
            f"{MAX_PARTS} an SMS can be concatenated from"
        )
    bounds = (0, *cuts, len(text))
    cap = profile.capacity_per_part
    return SegmentPlan(
        text,
        profile.encoding,
        parts,
        tuple(text[a:b] for a, b in itertools.pairwise(bounds)),
        units,
        parts * cap - suffix - units - waste,
        profile.capacity_single,
        cap,
        suffix,
    )


def _cuts_uniform(units: int, cap: int, suffix: int) -> list[int]:
    """Cut points when every character is one unit: every ``cap`` units."""
    parts = -(-(units + suffix) // cap)
    cuts = list(range(cap, parts * cap, cap))
    # The text may fit in parts - 1 full parts but not with the suffix; the last
    # part then carries the final character rather than the suffix alone.
    cuts[-1] = min(cuts[-1], units - 1)
    return cuts


def _cuts_gsm7(
    text: str, tables: Gsm7Tables, units: int, cap: int, suffix: int
) -> tuple[list[int], int]:
    """Greedy cut points (character indices) when some characters take two septets.

    ``flags`` holds one octet a character, 1 where it takes two septets, built in
    C (see ``Gsm7Tables.pair_flags``), so the septets of any slice are its length
    plus one ``bytes.count``. A cut that would split an escape pair falls one
    character earlier; the septet that part leaves empty is returned as waste.
    """
    flags = text.encode("cp1254", "replace").translate(tables.pair_flags)
    n = len(text)
    last_cap = cap - suffix
    cuts: list[int] = []
    waste = 0
    start = 0
    left = units
    while left > last_cap:
        if left <= cap:
            # Fits in one more full part but not with the suffix: leave the final
            # character for the last part (not waste: appended text would fill it).
            end = n - 1
        else:
            end = min(start + cap, n)
            used = end - start + flags.count(1, start, end)
            while used > cap:
                # Each character is at most two septets, so the last cut that fits
                # lies at least ceil(excess / 2) characters back: never overshoot.
                end -= (used - cap + 1) // 2
                used = end - start + flags.count(1, start, end)
            waste += cap - used
        left -= end - start + flags.count(1, start, end)
        cuts.append(end)
        start = end
    return cuts, waste


def _cuts_ucs2(text: str, units: int, cap: int, suffix: int) -> tuple[list[int], int]:
    """Greedy cut points (character indices) when some characters are surrogate pairs.

    Works on the UTF-16 code units, where a cut that would separate a pair is
    seen in O(1) and moved back one unit; that unit is returned as waste.
    """
    utf16 = text.encode("utf-16-be")

    def pair_start(unit: int) -> bool:
        return 0xD8 <= utf16[2 * unit] <= 0xDB

    last_cap = cap - suffix
    last_char_units = 2 if pair_start(units - 2) else 1
    cuts: list[int] = []
    waste = 0
    start = 0
    while units - start > last_cap:
        if units - start <= cap:
            end = units - last_char_units  # as in _cuts_gsm7: the last part is never empty
        else:
            end = start + cap
            if pair_start(end - 1):
                end -= 1
                waste += 1
        cuts.append(end)
        start = end
    return [len(utf16[: 2 * unit].decode("utf-16-be")) for unit in cuts], waste
