"""Turkish identifier validators: TCKN, VKN and MERSİS numbers.

Pure functions, no I/O. The checksums follow SPEC §2.7 (python-stdnum agrees);
MERSİS has no public checksum, so only its shape (16 digits) is checked.
"""

from __future__ import annotations

from collections.abc import Callable

from isobil.errors import InvalidIdentifier

__all__ = ["is_mersis", "is_tckn", "is_vkn", "validate_mersis", "validate_tckn", "validate_vkn"]


def _digits(value: str, length: int) -> list[int] | None:
    if len(value) != length or not value.isascii() or not value.isdigit():
        return None
    return [ord(c) - 48 for c in value]


def is_tckn(value: str) -> bool:
    """Return whether ``value`` is a valid T.C. Kimlik No (11 digits, checksummed).

    >>> is_tckn("10000000146"), is_tckn("17291716050")
    (True, False)
    """
    d = _digits(value, 11)
    if d is None or d[0] == 0:
        return False
    # Python's % is already non-negative for a positive modulus.
    d10 = ((d[0] + d[2] + d[4] + d[6] + d[8]) * 7 - (d[1] + d[3] + d[5] + d[7])) % 10
    return d[9] == d10 and d[10] == sum(d[:10]) % 10


def is_vkn(value: str) -> bool:
    """Return whether ``value`` is a valid Vergi Kimlik No (10 digits, checksummed).

    >>> is_vkn("4540536920"), is_vkn("4540536921")
    (True, False)
    """
    d = _digits(value, 10)
    if d is None:
        return False
    total = 0
    for i in range(9):
        t = (d[i] + 9 - i) % 10
        v = (t * 2 ** (9 - i)) % 9
        if t != 0 and v == 0:
            v = 9
        total += v
    return d[9] == (10 - total % 10) % 10


def is_mersis(value: str) -> bool:
    """Return whether ``value`` has the shape of a MERSİS number (16 digits).

    No checksum is published, so none is applied.

    >>> is_mersis("0123456789012345"), is_mersis("12345")
    (True, False)
    """
    return _digits(value, 16) is not None


def _require(check: Callable[[str], bool], value: str, label: str, shape: str) -> str:
    cleaned = value.replace(" ", "") if isinstance(value, str) else value
    if not isinstance(cleaned, str) or not check(cleaned):
        raise InvalidIdentifier(f"invalid {label} {value!r}: expected {shape}")
    return cleaned


def validate_tckn(value: str) -> str:
    """Return ``value`` without spaces if it is a valid TCKN, else raise InvalidIdentifier."""
    return _require(is_tckn, value, "TCKN", "11 digits with a valid checksum, not starting with 0")


def validate_vkn(value: str) -> str:
    """Return ``value`` without spaces if it is a valid VKN, else raise InvalidIdentifier."""
    return _require(is_vkn, value, "VKN", "10 digits with a valid checksum")


def validate_mersis(value: str) -> str:
    """Return ``value`` without spaces if it is MERSİS-shaped, else raise InvalidIdentifier."""
    return _require(is_mersis, value, "MERSIS number", "16 digits")
