"""Turkish letters written with the closest GSM 03.38 default-alphabet letter.

Only letters the default alphabet lacks are replaced, so text that was already
gsm7 is returned unchanged and Ç Ö Ü ö ü keep their marks.
"""

from __future__ import annotations

from typing import Final

# ş ğ ı İ Ş Ğ and lowercase ç are not in the default alphabet (its 0x09 is
# capital Ç). The circumflex vowels of Turkish spelling (hâlâ, kâr, millî) are
# in no GSM table at all; alone they force UCS-2, so they lose the circumflex too.
_TURKISH_TO_DEFAULT: Final = str.maketrans(
    {
        "ş": "s",
        "Ş": "S",
        "ğ": "g",
        "Ğ": "G",
        "ı": "i",
        "İ": "I",
        "ç": "c",
        "â": "a",
        "Â": "A",
        "î": "i",
        "Î": "I",
        "û": "u",
        "Û": "U",
    }
)


def transliterate_turkish(text: str) -> str:
    """Replace the Turkish letters missing from the GSM default alphabet.

    ş→s Ş→S ğ→g Ğ→G ı→i İ→I ç→c, and â î û (Â Î Û) lose the circumflex.
    Ç Ö Ü ö ü are in the default alphabet and stay. Everything else is kept, so
    a text with other non-GSM characters still needs UCS-2 afterwards.
    """
    return text.translate(_TURKISH_TO_DEFAULT)
