"""The GSM 7-bit character tables of 3GPP TS 23.038 that isobil uses.

The default alphabet with its extension table, and the Turkish national language
locking shift (A.3.1) and single shift (A.2.1) tables, as data plus derived lookups.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

import attrs

ESC: Final = 0x1B
ESC_CHAR: Final = "\x1b"

TURKISH: Final = 1  # national language identifier (3GPP TS 23.038 §6.2.1.2.4)

# §6.2.1, indexed by septet. Position 0x1B is the escape to the shift table, not a
# character; the placeholder there is never offered to the encoder.
DEFAULT_TABLE: Final = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)

# §6.2.1.1, reached by ESC + code.
DEFAULT_EXTENSION: Final[Mapping[int, str]] = MappingProxyType(
    {
        0x0A: "\f",
        0x14: "^",
        0x28: "{",
        0x29: "}",
        0x2F: "\\",
        0x3C: "[",
        0x3D: "~",
        0x3E: "]",
        0x40: "|",
        0x65: "€",
    }
)


def _replace(table: str, changes: Mapping[int, str]) -> str:
    cells = list(table)
    for code, char in changes.items():
        cells[code] = char
    return "".join(cells)


# A.3.1: the default table with eight cells replaced, so every Turkish letter
# costs one septet; è ì Ø ø Æ æ ¡ ¿ are lost in exchange.
TURKISH_LOCKING_TABLE: Final = _replace(
    DEFAULT_TABLE,
    {
        0x04: "€",
        0x07: "ı",
        0x0B: "Ğ",
        0x0C: "ğ",
        0x1C: "Ş",
        0x1D: "ş",
        0x40: "İ",
        0x60: "ç",
    },
)

# A.2.1: the default extension table plus the seven Turkish letters that the
# default alphabet lacks (Ç Ö Ü ö ü are already there).
TURKISH_SINGLE_SHIFT: Final[Mapping[int, str]] = MappingProxyType(
    {
        **DEFAULT_EXTENSION,
        0x47: "Ğ",
        0x49: "İ",
        0x53: "Ş",
        0x63: "ç",
        0x67: "ğ",
        0x69: "ı",
        0x73: "ş",
    }
)


@attrs.frozen
class Gsm7Tables:
    """A base table plus the shift table reached through ESC, with derived lookups.

    ``one_septet`` and ``two_septets`` are the characters that cost one or two
    septets; ``encode_map`` is a :meth:`str.translate` table from a character to
    the septets that carry it (one character of ``chr(septet)`` per septet).
    """

    base: str
    shift: Mapping[int, str]
    one_septet: frozenset[str] = attrs.field(init=False)
    two_septets: frozenset[str] = attrs.field(init=False)
    charset: frozenset[str] = attrs.field(init=False)
    encode_map: Mapping[int, str] = attrs.field(init=False)
    pair_flags: bytes = attrs.field(init=False)

    @one_septet.default
    def _one_septet(self) -> frozenset[str]:
        return frozenset(c for code, c in enumerate(self.base) if code != ESC)

    @two_septets.default
    def _two_septets(self) -> frozenset[str]:
        # A character in both tables is always sent through the base (e.g. € in
        # the Turkish locking table), so it is never counted as two septets.
        return frozenset(self.shift.values()) - self.one_septet

    @charset.default
    def _charset(self) -> frozenset[str]:
        return self.one_septet | self.two_septets

    @encode_map.default
    def _encode_map(self) -> Mapping[int, str]:
        mapping = {ord(c): ESC_CHAR + chr(code) for code, c in self.shift.items()}
        mapping.update({ord(c): chr(code) for code, c in enumerate(self.base) if code != ESC})
        return MappingProxyType(mapping)

    @pair_flags.default
    def _pair_flags(self) -> bytes:
        # A bytes.translate table over Windows-1254 (the Turkish code page), for
        # counting two-septet characters in C: every character of two_septets has
        # one octet there, and any character without one is a one-septet Greek
        # capital (encoded as "?", also one septet).
        flags = bytearray(256)
        for char in self.two_septets:
            (octet,) = char.encode("cp1254")
            flags[octet] = 1
        return bytes(flags)


GSM7_DEFAULT: Final = Gsm7Tables(DEFAULT_TABLE, DEFAULT_EXTENSION)
GSM7_TURKISH_SINGLE: Final = Gsm7Tables(DEFAULT_TABLE, TURKISH_SINGLE_SHIFT)
# Locking shift alone: with it only the default extension table applies.
GSM7_TURKISH_LOCKING: Final = Gsm7Tables(TURKISH_LOCKING_TABLE, DEFAULT_EXTENSION)
