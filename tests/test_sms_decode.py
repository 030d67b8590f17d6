"""Decoding inbound short messages: headers, alphabets, and every malformed shape."""

from __future__ import annotations

import pytest

from isobil.errors import EncodingError
from isobil.sms import DecodedPart, decode, plan


def test_plain_gsm7() -> None:
    """Unpacked GSM 7-bit without a header: '@' is 0x00, '$' is 0x02, '{' is ESC 0x28."""
    expected = DecodedPart("@ $ {RET}", reference=None, total=1, seq=1)

    actual = decode(bytes.fromhex("00200220") + b"\x1b\x28RET\x1b\x29", 0, 0)

    assert expected == actual


def test_turkish_single_shift_part_of_a_concatenated_message() -> None:
    """The concatenation IE and the single shift IE are both honoured."""
    short_message = bytes.fromhex("0800032a0302240101") + b"\x09a\x1b\x67r\x1b\x69"

    actual = decode(short_message, 0, 0x40)

    assert DecodedPart("Çağrı", reference=0x2A, total=3, seq=2) == actual


def test_turkish_locking_shift() -> None:
    """With IEI 0x25 language 1, 0x1C is Ş, 0x07 is ı and 0x04 is €."""
    actual = decode(bytes.fromhex("03250101") + bytes([0x1C, 0x07, 0x04]), 0, 0x40)

    assert actual.text == "Şı€"


def test_both_shift_tables_together() -> None:
    """A peer may send locking and single shift together (UDH 06 25 01 01 24 01 01)."""
    short_message = bytes.fromhex("06250101240101") + bytes([0x07, 0x1B, 0x73, 0x40])

    assert decode(short_message, 0, 0x40).text == "ışİ"


def test_sixteen_bit_concatenation_reference() -> None:
    """IEI 0x08 carries a two-octet reference."""
    short_message = bytes.fromhex("060804beef0201") + b"hi"

    assert DecodedPart("hi", 0xBEEF, 2, 1) == decode(short_message, 0, 0x40)


def test_unknown_elements_are_skipped() -> None:
    """An IE isobil does not know (here 0x70, 2 octets) is skipped, not an error."""
    udh = bytes.fromhex("0c700212340003050201240101")

    assert DecodedPart("Ş", 5, 2, 1) == decode(udh + b"\x1b\x53", 0, 0x40)


def test_last_repeated_element_wins() -> None:
    """When an IE repeats, the last occurrence counts (TS 23.040)."""
    udh = bytes.fromhex("0a00030102010003020202")

    assert DecodedPart("x", 2, 2, 2) == decode(udh + b"x", 0, 0x40)


@pytest.mark.parametrize(
    "concat", ["0003070000", "0003070200", "0003070203"], ids=["zero-total", "zero-seq", "past"]
)
def test_meaningless_concatenation_is_ignored(concat: str) -> None:
    """A concatenation IE with a zero count or sequence, or seq > total, is ignored."""
    short_message = b"\x05" + bytes.fromhex(concat) + b"ok"

    assert DecodedPart("ok") == decode(short_message, 0, 0x40)


def test_unsupported_language_falls_back_to_default_tables() -> None:
    """A language isobil lacks falls back to the default tables: 'Türkçe' reads 'Türkce'.

    This is the behaviour TS 23.038 annex C.2 describes for a receiver without the table.
    """
    turkish = plan("Türkçe").payloads()[0]
    spanish_udh = turkish.udh.replace(b"\x24\x01\x01", b"\x24\x01\x02")

    assert decode(spanish_udh + turkish.body, 0, 0x40).text == "Türkce"
    assert decode(turkish.short_message, 0, 0x40).text == "Türkçe"


def test_escape_to_an_empty_cell_shows_the_base_character() -> None:
    """ESC followed by a code the shift table lacks shows the base table's character."""
    assert decode(b"\x1bA", 0, 0).text == "A"


def test_double_escape_shows_a_space() -> None:
    """ESC ESC is reserved for a further table; TS 23.038 says display a space."""
    assert decode(b"a\x1b\x1bb", 0, 0).text == "a b"


def test_udh_without_udhi_is_text() -> None:
    """Without the UDHI bit, header-like octets are just text."""
    assert decode(b"\x05\x00\x03", 0, 0).text == "é@¥"


def test_latin1_and_ia5() -> None:
    """data_coding 3 is Latin-1 and 1 is IA5 (ASCII)."""
    assert decode("Çağ".encode("latin-1", "replace"), 3, 0).text == "Ça?"
    assert decode(b"RET", 1, 0).text == "RET"


def test_ucs2_with_header() -> None:
    """data_coding 8 is UTF-16-BE after the header; emoji come back whole."""
    text = "İptal 😀"
    short_message = bytes.fromhex("050003010101") + text.encode("utf-16-be")

    assert DecodedPart(text, 1, 1, 1) == decode(short_message, 8, 0x40)


def test_bytearray_and_memoryview_are_accepted() -> None:
    """Anything bytes() accepts as a buffer can be decoded."""
    assert decode(bytearray(b"RET"), 0, 0).text == "RET"
    assert decode(memoryview(b"RET"), 0, 0).text == "RET"


@pytest.mark.parametrize(
    ("short_message", "data_coding", "esm_class", "message"),
    [
        (b"", 0, 0x40, "short_message is empty"),
        (b"\x05\x00\x03", 0, 0x40, "runs past the end"),
        (b"\x02\x00\x03abc", 0, 0x40, "runs past the header"),
        (b"\x01\x00abc", 0, 0x40, "inside an element header"),
        (b"\x04\x00\x02\x01\x01abc", 0, 0x40, "has length 2, expected 3"),
        (b"\x04\x24\x02\x01\x01a", 0, 0x40, "has length 2, expected 1"),
        (b"abc\x80", 0, 0, "octet 0x80 at body offset 3"),
        (b"abc\x1b", 0, 0, "ends with an escape"),
        (b"\x00a\x00", 8, 0, "even number of octets"),
        (b"\xd8\x00\x00a", 8, 0, "invalid UCS-2 body"),
        (b"\xc3", 1, 0, "invalid IA5 body"),
        (b"abc", 4, 0, "data_coding 0x04 is not a text encoding"),
        (b"abc", 256, 0, "data_coding must be an octet"),
        (b"abc", 0, -1, "esm_class must be an octet"),
    ],
)
def test_malformed_input_raises_encoding_error(
    short_message: bytes, data_coding: int, esm_class: int, message: str
) -> None:
    """Every malformed shape is an EncodingError that says what is wrong."""
    with pytest.raises(EncodingError, match=message):
        decode(short_message, data_coding, esm_class)


@pytest.mark.parametrize("short_message", ["RET", 3, None])
def test_not_bytes_raises_encoding_error(short_message: object) -> None:
    """A str, or an int (which bytes() would turn into zeros), is not a short_message."""
    with pytest.raises(EncodingError, match="must be bytes"):
        decode(short_message, 0, 0)  # type: ignore[arg-type]
