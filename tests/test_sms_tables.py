"""The GSM 7-bit tables, checked cell by cell through the public API.

The expected cells are the independent transcription in ``strategies.py``. The
package's tables were also compared once, over the whole BMP, with the codecs of
``gsmcodecs`` 1.0.0 (``gsm23.038-0-0``, ``-0-1``, ``-1-0``): no difference.
"""

from __future__ import annotations

import pytest

from isobil.sms import Encoding, decode, plan
from strategies import (
    REF_DEFAULT,
    REF_EXTENSION,
    REF_TURKISH_LOCKING,
    REF_TURKISH_SINGLE,
)

SINGLE_SHIFT_UDH = bytes.fromhex("03240101")
LOCKING_SHIFT_UDH = bytes.fromhex("03250101")


def body(text: str, **kwargs: bool) -> bytes:
    """The body octets of a one-part message."""
    (payload,) = plan(text, operator_suffix=0, **kwargs).payloads()
    return payload.body


@pytest.mark.parametrize(
    ("code", "char"),
    [
        (0x00, "@"),
        (0x02, "$"),
        (0x09, "Ç"),
        (0x10, "Δ"),
        (0x11, "_"),
        (0x1E, "ß"),
        (0x24, "¤"),
        (0x40, "¡"),
        (0x5F, "§"),
        (0x60, "¿"),
        (0x7F, "à"),
    ],
)
def test_well_known_default_cells(code: int, char: str) -> None:
    """Cells that naive ASCII-based tables get wrong sit where TS 23.038 puts them."""
    assert bytes([code]) == body(char)
    assert REF_DEFAULT[code] == char


def test_every_default_cell_encodes_to_its_code() -> None:
    """Each default-alphabet character is one septet, its own code, in plain gsm7."""
    expected = {char: bytes([code]) for code, char in REF_DEFAULT.items()}

    actual = {char: body(char) for char in REF_DEFAULT.values()}

    assert expected == actual
    assert {Encoding.GSM7} == {plan(char).encoding for char in REF_DEFAULT.values()}


def test_every_extension_cell_costs_escape_plus_code() -> None:
    """^ { } \\ [ ~ ] | € and form feed are ESC followed by their code."""
    expected = {char: bytes([0x1B, code]) for code, char in REF_EXTENSION.items()}

    actual = {char: body(char) for char in REF_EXTENSION.values()}

    assert expected == actual
    assert {2} == {plan(char).units_used for char in REF_EXTENSION.values()}


def test_turkish_single_shift_cells() -> None:
    """With single shift every A.2.1 cell is ESC + code; è keeps the locking table out."""
    expected = {char: bytes([0x04, 0x1B, code]) for code, char in REF_TURKISH_SINGLE.items()}

    actual = {char: body("è" + char) for char in REF_TURKISH_SINGLE.values()}

    assert expected == actual
    assert {Encoding.GSM7_TR_SINGLE} == {plan("è" + char).encoding for char in "ĞİŞçğış"}


def test_turkish_locking_shift_cells() -> None:
    """With locking shift every A.3.1 cell is its code, one septet, incl. € at 0x04."""
    lead = "ş" * 100  # one part in locking shift, two in single shift
    expected = {char: bytes([0x1D] * 100 + [code]) for code, char in REF_TURKISH_LOCKING.items()}

    actual = {char: body(lead + char) for char in REF_TURKISH_LOCKING.values()}

    assert expected == actual
    assert {Encoding.GSM7_TR_LOCKING} == {
        plan(lead + char).encoding for char in REF_TURKISH_LOCKING.values()
    }


def test_locking_shift_extension_is_the_default_one() -> None:
    """Under locking shift the escape reaches the default extension table."""
    text = "ş" * 100 + "{}[]"

    assert bytes([0x1D] * 100) + bytes.fromhex("1b281b291b3c1b3e") == body(text)


def test_nothing_else_in_the_bmp_is_gsm() -> None:
    """Every other BMP character needs UCS-2, even with the national tables allowed."""
    gsm = (
        set(REF_DEFAULT.values())
        | set(REF_EXTENSION.values())
        | set(REF_TURKISH_SINGLE.values())
        | set(REF_TURKISH_LOCKING.values())
    )
    others = (chr(cp) for cp in range(0x10000) if not 0xD800 <= cp <= 0xDFFF)

    gsm_encoded = {c for c in others if plan(c).encoding is not Encoding.UCS2}

    assert gsm == gsm_encoded


@pytest.mark.parametrize(
    ("udh", "table", "shift"),
    [
        (b"", REF_DEFAULT, REF_EXTENSION),
        (SINGLE_SHIFT_UDH, REF_DEFAULT, REF_TURKISH_SINGLE),
        (LOCKING_SHIFT_UDH, REF_TURKISH_LOCKING, REF_EXTENSION),
    ],
    ids=["default", "single-shift", "locking-shift"],
)
def test_decode_reads_every_cell(udh: bytes, table: dict[int, str], shift: dict[int, str]) -> None:
    """Decoding each code (and ESC + each shift code) gives the table's character."""
    esm_class = 0x40 if udh else 0
    codes = sorted(table)
    escaped = sorted(shift)
    septets = bytes(codes) + b"".join(bytes([0x1B, code]) for code in escaped)

    decoded = decode(udh + septets, 0, esm_class).text

    assert "".join(table[c] for c in codes) + "".join(shift[c] for c in escaped) == decoded
