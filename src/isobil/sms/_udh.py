"""User data headers (3GPP TS 23.040 §9.2.3.24): building ours, parsing the peer's.

Outbound we write only the 8-bit concatenation IE and one national-language IE;
inbound we read any well-formed header and keep the elements that change the text.
"""

from __future__ import annotations

from typing import Final

import attrs

from isobil.errors import EncodingError

IEI_CONCAT_8BIT: Final = 0x00
IEI_CONCAT_16BIT: Final = 0x08
IEI_SINGLE_SHIFT: Final = 0x24
IEI_LOCKING_SHIFT: Final = 0x25

ESM_CLASS_UDHI: Final = 0x40

_IE_LENGTHS: Final = {
    IEI_CONCAT_8BIT: 3,
    IEI_CONCAT_16BIT: 4,
    IEI_SINGLE_SHIFT: 1,
    IEI_LOCKING_SHIFT: 1,
}


def build(*, shift_ie: bytes, reference: int, total: int, seq: int) -> bytes:
    """The UDH (with its length octet) for part ``seq`` of ``total``; b"" when none is needed.

    ``shift_ie`` is the complete national-language IE (``24 01 01`` or ``25 01 01``)
    or b"". It goes into every part, because a receiver applies it per segment.
    """
    body = shift_ie if total == 1 else bytes((IEI_CONCAT_8BIT, 3, reference, total, seq)) + shift_ie
    return bytes((len(body),)) + body if body else b""


@attrs.frozen
class Header:
    """What an inbound UDH says about the text: concatenation and shift languages."""

    reference: int | None = None
    total: int = 1
    seq: int = 1
    single_shift_language: int | None = None
    locking_shift_language: int | None = None


def parse(short_message: bytes) -> tuple[Header, int]:
    """Parse the UDH at the start of ``short_message``; return it and where the body starts.

    Unknown IEs are skipped. When an IE occurs twice the last one wins, and a
    concatenation IE with a zero count or a sequence past the count is ignored, as
    TS 23.040 tells a receiver to do. A header that runs past its own length, or
    past the message, raises :class:`EncodingError`.
    """
    if not short_message:
        raise EncodingError("esm_class announces a user data header, but short_message is empty")
    udhl = short_message[0]
    end = 1 + udhl
    if end > len(short_message):
        raise EncodingError(
            f"user data header length {udhl} runs past the end of the "
            f"{len(short_message)}-octet short_message"
        )
    reference: int | None = None
    total = seq = 1
    single: int | None = None
    locking: int | None = None
    pos = 1
    while pos < end:
        if pos + 2 > end:
            raise EncodingError(f"user data header ends inside an element header at octet {pos}")
        iei, length = short_message[pos], short_message[pos + 1]
        start, pos = pos + 2, pos + 2 + length
        if pos > end:
            raise EncodingError(
                f"user data header element {iei:#04x} of length {length} runs past the "
                f"header's {udhl} octets"
            )
        expected = _IE_LENGTHS.get(iei)
        if expected is None:
            continue
        if length != expected:
            raise EncodingError(
                f"user data header element {iei:#04x} has length {length}, expected {expected}"
            )
        value = short_message[start:pos]
        if iei in (IEI_CONCAT_8BIT, IEI_CONCAT_16BIT):
            ref = value[0] if iei == IEI_CONCAT_8BIT else (value[0] << 8) | value[1]
            count, number = value[-2], value[-1]
            if 0 < number <= count:
                reference, total, seq = ref, count, number
        elif iei == IEI_SINGLE_SHIFT:
            single = value[0]
        else:
            locking = value[0]
    return Header(reference, total, seq, single, locking), end
