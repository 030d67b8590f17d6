"""Hypothesis strategies for SMS text, and the reference alphabets they draw from.

The alphabets are transcribed here independently of ``isobil.sms._alphabets``, from
the Unicode mapping of 3GPP TS 23.038 (code -> code point), so the tests compare two
transcriptions rather than the package with itself.
"""

from __future__ import annotations

from hypothesis import strategies as st

# TS 23.038 §6.2.1 as code points. Codes 0x20-0x7F are ASCII except where listed;
# 0x1B (escape) is not a character.
_LOW = [
    0x0040, 0x00A3, 0x0024, 0x00A5, 0x00E8, 0x00E9, 0x00F9, 0x00EC,
    0x00F2, 0x00C7, 0x000A, 0x00D8, 0x00F8, 0x000D, 0x00C5, 0x00E5,
    0x0394, 0x005F, 0x03A6, 0x0393, 0x039B, 0x03A9, 0x03A0, 0x03A8,
    0x03A3, 0x0398, 0x039E, None, 0x00C6, 0x00E6, 0x00DF, 0x00C9,
]  # fmt: skip
_NOT_ASCII = {
    0x24: 0x00A4,
    0x40: 0x00A1,
    0x5B: 0x00C4,
    0x5C: 0x00D6,
    0x5D: 0x00D1,
    0x5E: 0x00DC,
    0x5F: 0x00A7,
    0x60: 0x00BF,
    0x7B: 0x00E4,
    0x7C: 0x00F6,
    0x7D: 0x00F1,
    0x7E: 0x00FC,
    0x7F: 0x00E0,
}
REF_DEFAULT: dict[int, str] = {
    code: chr(point) for code, point in enumerate(_LOW) if point is not None
} | {code: chr(_NOT_ASCII.get(code, code)) for code in range(0x20, 0x80)}

# §6.2.1.1, after ESC.
REF_EXTENSION: dict[int, str] = {
    0x0A: "\u000c",
    0x14: "\u005e",
    0x28: "\u007b",
    0x29: "\u007d",
    0x2F: "\u005c",
    0x3C: "\u005b",
    0x3D: "\u007e",
    0x3E: "\u005d",
    0x40: "\u007c",
    0x65: "\u20ac",
}

# A.3.1 Turkish locking shift: the cells that differ from the default table.
REF_TURKISH_LOCKING: dict[int, str] = REF_DEFAULT | {
    0x04: "\u20ac",
    0x07: "\u0131",
    0x0B: "\u011e",
    0x0C: "\u011f",
    0x1C: "\u015e",
    0x1D: "\u015f",
    0x40: "\u0130",
    0x60: "\u00e7",
}

# A.2.1 Turkish single shift: the extension table plus seven letters.
REF_TURKISH_SINGLE: dict[int, str] = REF_EXTENSION | {
    0x47: "\u011e",
    0x49: "\u0130",
    0x53: "\u015e",
    0x63: "\u00e7",
    0x67: "\u011f",
    0x69: "\u0131",
    0x73: "\u015f",
}

DEFAULT_CHARS = "".join(sorted(REF_DEFAULT.values()))
EXTENSION_CHARS = "".join(sorted(REF_EXTENSION.values()))
TURKISH_EXTRA = "ĞİŞçğış"  # in no default table
TURKISH_LOCKING_CHARS = "".join(sorted(REF_TURKISH_LOCKING.values()))
EMOJI = "😀🎉👍🇹🇷❤️🙂"

# Lengths at and around the part edges of every encoding, so that drawn texts
# land on the boundaries instead of mostly being short.
_EDGES = sorted(
    {
        edge + delta
        for edge in (65, 70, 134, 144, 150, 155, 160, 293, 298, 301, 306, 441, 447, 454, 459)
        for delta in (-2, -1, 0, 1, 2)
    }
)


def _text(alphabet: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(alphabet, max_size=200),
        st.sampled_from(_EDGES).flatmap(lambda n: st.text(alphabet, min_size=n, max_size=n)),
    )


def _weighted(common: str, rare: str) -> st.SearchStrategy[str]:
    """Characters from ``common`` or ``rare``, each group drawn half the time.

    Drawing uniformly from the union would make the few ``rare`` characters (the
    ones that decide the encoding) show up in almost no examples.
    """
    return st.one_of(st.sampled_from(common), st.sampled_from(rare))


def gsm7_default_text() -> st.SearchStrategy[str]:
    """Text in the GSM 03.38 default alphabet only (one septet a character)."""
    return _text(st.sampled_from(DEFAULT_CHARS))


def gsm7_extended_text() -> st.SearchStrategy[str]:
    """Default alphabet plus the extension table (^ { } \\ [ ~ ] | € and form feed)."""
    return _text(_weighted(DEFAULT_CHARS, EXTENSION_CHARS))


def turkish_text() -> st.SearchStrategy[str]:
    """Turkish-looking text: default letters with ş ğ ı İ Ş Ğ ç and some extension chars."""
    return _text(_weighted(DEFAULT_CHARS, TURKISH_EXTRA + EXTENSION_CHARS + "ÇÖÜöü"))


def turkish_locking_text() -> st.SearchStrategy[str]:
    """Text the Turkish locking table can carry, rich in Turkish letters and €."""
    return _text(_weighted(TURKISH_LOCKING_CHARS, TURKISH_EXTRA * 3 + "€"))


def bmp_text() -> st.SearchStrategy[str]:
    """Arbitrary Basic Multilingual Plane text (no surrogates), mostly needing UCS-2."""
    return _text(st.characters(max_codepoint=0xFFFF, codec="utf-8"))


def emoji_text() -> st.SearchStrategy[str]:
    """Turkish text with emoji, including characters outside the BMP (surrogate pairs)."""
    return _text(_weighted(DEFAULT_CHARS + TURKISH_EXTRA, EMOJI + "\U0001f600\U00010348"))


def any_sms_text() -> st.SearchStrategy[str]:
    """Any of the above."""
    return st.one_of(
        gsm7_default_text(),
        gsm7_extended_text(),
        turkish_text(),
        turkish_locking_text(),
        bmp_text(),
        emoji_text(),
    )
