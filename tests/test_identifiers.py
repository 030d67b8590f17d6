"""TCKN, VKN and MERSİS validators against the vectors of SPEC §2.7."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from isobil import InvalidIdentifier
from isobil.identifiers import (
    is_mersis,
    is_tckn,
    is_vkn,
    validate_mersis,
    validate_tckn,
    validate_vkn,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10000000146", True),
        ("17291716060", True),
        ("17291716050", False),  # d10 wrong
        ("17291716061", False),  # d11 wrong
        ("07291716060", False),  # leading zero
        ("1729171606", False),  # 10 digits
        ("1729171606a", False),
        ("١٧٢٩١٧١٦٠٦٠", False),  # Arabic-Indic digits are digits to Python, not to MERNİS
        ("", False),
    ],
)
def test_tckn(value: str, expected: bool) -> None:
    """The TCKN checksum accepts the published vectors and rejects near misses."""
    assert expected == is_tckn(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("4540536920", True), ("4540536921", False), ("454053692", False), ("45405369200", False)],
)
def test_vkn(value: str, expected: bool) -> None:
    """The VKN checksum accepts the published vector and rejects a changed check digit."""
    assert expected == is_vkn(value)


def _reference_tckn_d10(d: list[int]) -> int:
    # python-stdnum's form: (10 - weighted sum) mod 10 with weights 3,1,3,1...
    return (10 - sum((3, 1, 3, 1, 3, 1, 3, 1, 3)[i] * d[i] for i in range(9))) % 10


@given(st.lists(st.integers(0, 9), min_size=9, max_size=9).filter(lambda d: d[0] != 0))
def test_tckn_checksum_agrees_with_stdnum_form(first9: list[int]) -> None:
    """Completing any 9 digits with stdnum's formula gives a number is_tckn accepts."""
    d10 = _reference_tckn_d10(first9)
    d11 = (sum(first9) + d10) % 10
    number = "".join(map(str, [*first9, d10, d11]))
    assert is_tckn(number)
    wrong = number[:10] + str((d11 + 1) % 10)
    assert not is_tckn(wrong)


def test_mersis_is_sixteen_digits() -> None:
    """MERSİS has no public checksum: 16 ASCII digits is the whole check."""
    assert is_mersis("0123456789012345")
    assert not is_mersis("012345678901234")
    assert not is_mersis("01234567890123456")


def test_validators_strip_spaces_and_explain() -> None:
    """Validators return the compact form and say what was expected."""
    assert validate_tckn("100 000 001 46") == "10000000146"
    assert validate_vkn("4540536920") == "4540536920"
    assert validate_mersis("0123 4567 8901 2345") == "0123456789012345"
    with pytest.raises(InvalidIdentifier, match="expected 10 digits with a valid checksum"):
        validate_vkn("4540536921")
    with pytest.raises(ValueError, match="invalid MERSIS number '123'"):
        validate_mersis("123")
