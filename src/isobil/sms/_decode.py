"""Reading an inbound ``short_message``: its user data header and its text.

Input comes from the network, so every malformed shape raises :class:`EncodingError`
with a message saying what is wrong, never an ``IndexError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import attrs

from isobil.errors import EncodingError
from isobil.sms import _udh
from isobil.sms._alphabets import (
    DEFAULT_EXTENSION,
    DEFAULT_TABLE,
    ESC,
    TURKISH,
    TURKISH_LOCKING_TABLE,
    TURKISH_SINGLE_SHIFT,
)

_NO_HEADER: Final = _udh.Header()
_DEFAULT_DECODE: Final = dict(enumerate(DEFAULT_TABLE))
_TURKISH_LOCKING_DECODE: Final = dict(enumerate(TURKISH_LOCKING_TABLE))


@attrs.frozen
class DecodedPart:
    """The text of one received part and where it belongs in a concatenated message.

    ``reference`` is None when the part is not concatenated (``total`` and ``seq``
    are then 1); a 16-bit reference is reported as is.
    """

    text: str
    reference: int | None = None
    total: int = 1
    seq: int = 1


def decode(
    short_message: bytes | bytearray | memoryview, data_coding: int, esm_class: int
) -> DecodedPart:
    """Decode one SMPP ``short_message`` (e.g. from ``deliver_sm``).

    A UDH is read when ``esm_class`` has the UDHI bit (0x40). ``data_coding`` 0 is
    GSM 7-bit, unpacked one septet per octet, with the Turkish locking and single
    shift tables applied when the UDH announces them (language 1); other national
    languages fall back to the default tables, as TS 23.038 tells a receiver that
    does not support them. ``data_coding`` 1 is IA5 (ASCII), 3 Latin-1 and 8
    UCS-2 (read as UTF-16-BE). Anything else raises :class:`EncodingError`.
    """
    for name, value in (("data_coding", data_coding), ("esm_class", esm_class)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 255:
            raise EncodingError(f"{name} must be an octet (0-255), got {value!r}")
    if not isinstance(short_message, bytes | bytearray | memoryview):
        raise EncodingError(f"short_message must be bytes, not {type(short_message).__name__}")
    data = bytes(short_message)
    if esm_class & _udh.ESM_CLASS_UDHI:
        header, start = _udh.parse(data)
    else:
        header, start = _NO_HEADER, 0
    body = data[start:]
    if data_coding == 0:
        text = _decode_gsm7(body, header)
    elif data_coding == 1:
        text = _decode_bytes(body, "ascii", "IA5")
    elif data_coding == 3:
        text = body.decode("latin-1")
    elif data_coding == 8:
        if len(body) % 2:
            raise EncodingError(f"a UCS-2 body has an even number of octets, got {len(body)}")
        text = _decode_bytes(body, "utf-16-be", "UCS-2")
    else:
        raise EncodingError(
            f"data_coding {data_coding:#04x} is not a text encoding isobil decodes "
            "(0 GSM 7-bit, 1 IA5, 3 Latin-1, 8 UCS-2)"
        )
    return DecodedPart(text, header.reference, header.total, header.seq)


def _decode_bytes(body: bytes, codec: str, name: str) -> str:
    try:
        return body.decode(codec)
    except UnicodeDecodeError as exc:
        raise EncodingError(f"invalid {name} body at octet {exc.start}: {exc.reason}") from exc


def _decode_gsm7(body: bytes, header: _udh.Header) -> str:
    if body and max(body) > 0x7F:
        offset = next(i for i, octet in enumerate(body) if octet > 0x7F)
        raise EncodingError(
            f"octet {body[offset]:#04x} at body offset {offset} is not a septet "
            "(data_coding 0 carries one GSM 7-bit code per octet)"
        )
    base = _TURKISH_LOCKING_DECODE if header.locking_shift_language == TURKISH else _DEFAULT_DECODE
    if ESC not in body:
        return body.decode("latin-1").translate(base)
    shift: Mapping[int, str] = (
        TURKISH_SINGLE_SHIFT if header.single_shift_language == TURKISH else DEFAULT_EXTENSION
    )
    out: list[str] = []
    escaped = False
    for code in body:
        if escaped:
            # ESC ESC is reserved for a further table: TS 23.038 says show a space.
            # A code the shift table lacks shows the base character (TS 23.038 §6.2.1.1).
            out.append(" " if code == ESC else shift.get(code, base[code]))
            escaped = False
        elif code == ESC:
            escaped = True
        else:
            out.append(base[code])
    if escaped:
        raise EncodingError("GSM 7-bit body ends with an escape (0x1b) and no character after it")
    return "".join(out)
