"""Hide a phone number for logs and reprs, keeping just enough to tell numbers apart."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from isobil.phone._metadata import country_code_prefix

__all__ = ["id_repr", "mask"]

_E164: Final = re.compile(r"\+([0-9]{7,15})", re.ASCII)
_SHORT: Final = re.compile(r"[0-9]{3,6}", re.ASCII)
_KEPT: Final = 2
#: A number a provider's message id ends in: Netgsm's ids are ``<job id>:<number>``
#: (``#2`` after it for a repeat in the same job).
_NUMBER_IN_ID: Final = re.compile(r"(?<=:)\+?[0-9]{7,15}(?=(?:#[0-9]+)?$)", re.ASCII)


def mask(number: str | None) -> str:
    """Return ``number`` with every digit hidden except the country code and the last two.

    ``'+905321234567'`` gives ``'+90********67'``: one ``*`` per hidden digit, so the
    result is stable and keeps the length. A short number of 3-6 digits (``'4605'``)
    names a service, not a person, and is returned as it is. Anything else (raw or
    invalid input) shows only its last two characters; ``None`` gives ``'None'`` (as
    a repr shows it). Never raises.
    """
    if number is None:
        return "None"
    if not isinstance(number, str):
        number = str(number)
    if _SHORT.fullmatch(number) is not None:
        return number
    e164 = _E164.fullmatch(number)
    if e164 is not None:
        digits = e164.group(1)
        code = country_code_prefix(digits) or ""
        hidden = len(digits) - len(code) - _KEPT
        if hidden > 0:
            return f"+{code}{'*' * hidden}{digits[-_KEPT:]}"
    if len(number) <= _KEPT:
        return "*" * len(number)
    return "*" * (len(number) - _KEPT) + number[-_KEPT:]


def id_repr(value: str | Iterable[str] | None) -> str:
    """How a provider's message id, or a tuple of them, shows in a repr: with a number
    the id ends in masked, the rest kept to be looked up at the provider.

    ``'1311033503:5321234567'`` (Netgsm's ``<job id>:<number>``) shows as
    ``'1311033503:********67'``; an id with no number in it as it is, and anything
    else (an adapter's int id, say) as ``repr`` shows it. Never raises.
    """
    if isinstance(value, str):
        return repr(_masked_id(value))
    if isinstance(value, tuple | list):
        return repr(tuple(_masked_id(one) if isinstance(one, str) else one for one in value))
    return repr(value)


def _masked_id(value: str) -> str:
    return _NUMBER_IN_ID.sub(_masked_match, value)


def _masked_match(found: re.Match[str]) -> str:
    return mask(found.group())
