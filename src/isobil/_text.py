"""Turkish-aware text folding, for matching words in what people type.

``"İPTAL".lower() != "iptal"`` in Python (it gives ``"i̇ptal"``, with a combining
dot), so every i-form (İ, I, ı, i) is folded to ``i`` explicitly before
lower-casing, marks are stripped, and everything but ASCII letters and digits
becomes a single space. Keyword parsing, header detection and the content rules
all match through :func:`fold`.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

__all__ = ["fold", "unmarked_lower"]

# str.lower() turns İ into i + U+0307 and leaves ı alone, so the i-forms are mapped
# before lowering; the other Turkish letters lose their marks after NFKD.
_I_FORMS: Final = str.maketrans({"İ": "i", "I": "i", "ı": "i"})
# Combining marks of the Latin blocks, plus invisible characters that copy-paste and
# keyboards insert (soft hyphen, zero-width space/joiners, direction marks, word
# joiner, BOM, variation selectors). Dropping them rather than spacing them keeps
# "R\u200bET" one word.
_DROP: Final = re.compile(
    "[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
    "\u00ad\u200b-\u200f\u2060-\u2064\ufeff\ufe00-\ufe0f]+"
)
_NON_ALNUM: Final = re.compile("[^a-z0-9]+")


def unmarked_lower(text: str) -> str:
    """Fold without the final spacing: ASCII lower case with marks removed."""
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKC", text).translate(_I_FORMS).lower()
    # The second lower() catches compatibility forms that decompose to capitals (ᴵ → I).
    return _DROP.sub("", unicodedata.normalize("NFKD", text)).lower()


def fold(text: str) -> str:
    """Fold ``text`` for keyword matching: Turkish-aware, accent-free, ``[a-z0-9 ]`` only.

    All four i-forms become ``i``, Turkish letters lose their marks, every run of other
    characters becomes one space, and the result is stripped. Compatibility forms
    (full-width ``ＲＥＴ``, ligatures) fold like the letters they stand for.

    >>> fold("  İPTAL!!  Acme ")
    'iptal acme'
    >>> {fold(s) for s in ("ıptal", "IPTAL", "iptal", "İptal", "İPTAL".lower())}
    {'iptal'}
    >>> fold("Çıkar beni, ŞÜTÇÜ Ğ")
    'cikar beni sutcu g'
    """
    return _NON_ALNUM.sub(" ", unmarked_lower(text)).strip()
