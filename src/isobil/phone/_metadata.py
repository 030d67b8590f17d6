"""Facts about Turkish numbers, read from phonenumbers' own metadata at import time.

Reading the pattern instead of copying it keeps phonenumbers the authority: a
phonenumbers upgrade that opens a new mobile range widens the fast path too.
"""

from __future__ import annotations

import re

import phonenumbers

__all__ = ["TR_COUNTRY_CODE", "TR_FAST", "TR_MOBILE", "country_code_prefix"]

TR_COUNTRY_CODE = 90


def _tr_pattern_source(kind: str) -> str:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("TR")
    desc = None if metadata is None else getattr(metadata, kind)
    pattern = None if desc is None else desc.national_number_pattern
    if desc is None or pattern is None:  # pragma: no cover - a broken phonenumbers install
        raise RuntimeError(f"phonenumbers has no {kind} pattern for TR")
    # The fast path slices exactly 10 digits after the prefix; a release that made
    # these TR numbers another length must fail here, not silently misread numbers.
    if tuple(desc.possible_length or ()) != (10,):  # pragma: no cover - future releases
        raise RuntimeError(f"TR {kind} lengths changed to {desc.possible_length!r}")
    return str(pattern)


# re.ASCII: phonenumbers means [0-9] by \d; other digits are converted before matching.
TR_MOBILE = re.compile(_tr_pattern_source("mobile"), re.ASCII)
#: The 10-digit national numbers the normaliser's shortcut accepts: mobiles and
#: landlines (fixed lines), the numbers of an address book.
TR_FAST = re.compile(
    f"(?:{_tr_pattern_source('mobile')})|(?:{_tr_pattern_source('fixed_line')})", re.ASCII
)

_COUNTRY_CODES = frozenset(str(code) for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


def country_code_prefix(digits: str) -> str | None:
    """Return the country calling code that ``digits`` (E.164 without '+') starts with, if any.

    Calling codes are prefix-free, so at most one of the 1-3 digit prefixes matches.
    """
    for size in (1, 2, 3):
        if digits[:size] in _COUNTRY_CODES:
            return digits[:size]
    return None
