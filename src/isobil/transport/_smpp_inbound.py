"""Inbound (MO) texts over SMPP: decoding a ``deliver_sm`` and joining concatenated parts.

Parts of one long message share (sender, recipient, reference, total) and arrive
in any order, possibly interleaved with other messages; :class:`Reassembler`
holds them until the last one comes. A message whose parts stop arriving is
handed on incomplete after ``timeout`` seconds rather than dropped, because an
opt-out must never be lost silently.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Final

import attrs

from isobil.errors import EncodingError
from isobil.phone import mask
from isobil.sms import DecodedPart, decode

__all__ = ["Assembled", "Reassembler", "decode_best_effort"]

log = logging.getLogger("isobil.transport.smpp")

#: What an undecodable body shows in place of its bad characters.
_REPLACEMENT: Final = "\ufffd"


def decode_best_effort(
    short_message: bytes, data_coding: int, esm_class: int
) -> tuple[DecodedPart, bool]:
    """Decode an inbound body; on a malformed one keep what can be read.

    Returns the part and whether it decoded cleanly. An inbound text is evidence
    (an opt-out, say), so a bad octet degrades to U+FFFD instead of losing it.
    """
    try:
        return decode(short_message, data_coding, esm_class), True
    except EncodingError:
        pass
    # The header may be fine and only the body broken: keep the concatenation then.
    udhl, part = 0, DecodedPart("")
    if esm_class & 0x40 and short_message:
        udhl = min(short_message[0] + 1, len(short_message))
        try:
            part = decode(short_message[:udhl], 0, esm_class)
        except EncodingError:
            udhl = 0
    body = bytes(short_message[udhl:])
    if data_coding == 8:
        text = body.decode("utf-16-be", "replace")
    elif data_coding in (0, 1):
        text = "".join(chr(b) if 0x20 <= b < 0x7F else _REPLACEMENT for b in body)
    else:
        text = body.decode("latin-1")
    return DecodedPart(text, part.reference, part.total, part.seq), False


@attrs.frozen
class Assembled:
    """A whole inbound text, or what arrived of it when ``complete`` is False."""

    from_: str
    to: str
    text: str
    complete: bool = True


_Key = tuple[str, str, int, int]


@attrs.define
class _Pending:
    started: float
    parts: dict[int, str]


class Reassembler:
    """Joins the parts of concatenated inbound messages.

    Not thread-safe: the transport feeds it from its one I/O thread. At most
    ``capacity`` incomplete messages are held; beyond that the oldest is handed
    on incomplete, as it is after ``timeout`` seconds. ``clock`` is injectable
    for tests.
    """

    def __init__(
        self,
        *,
        timeout: float = 600.0,
        capacity: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.timeout = timeout
        self.capacity = capacity
        self._clock = clock
        self._pending: OrderedDict[_Key, _Pending] = OrderedDict()

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, from_: str, to: str, part: DecodedPart) -> list[Assembled]:
        """Take one received part; return the messages it completes or pushes out."""
        if part.reference is None or part.total <= 1:
            return [Assembled(from_, to, part.text)]
        key = (from_, to, part.reference, part.total)
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = _Pending(self._clock(), {})
        if part.seq in pending.parts:
            log.info(
                "isobil: duplicate part %d/%d of an inbound message from %s ignored",
                part.seq,
                part.total,
                mask(from_),
            )
        else:
            pending.parts[part.seq] = part.text
        out: list[Assembled] = []
        if len(pending.parts) == part.total:
            del self._pending[key]
            out.append(
                Assembled(from_, to, "".join(pending.parts[s] for s in sorted(pending.parts)))
            )
        while len(self._pending) > self.capacity:
            out.append(self._give_up(*self._pending.popitem(last=False)))
        return out

    def expire(self) -> list[Assembled]:
        """Hand on, incomplete, every message whose first part came ``timeout`` seconds ago."""
        limit = self._clock() - self.timeout
        out = []
        while self._pending:
            key, pending = next(iter(self._pending.items()))
            if pending.started > limit:
                break
            del self._pending[key]
            out.append(self._give_up(key, pending))
        return out

    def _give_up(self, key: _Key, pending: _Pending) -> Assembled:
        from_, to, _reference, total = key
        log.warning(
            "isobil: inbound message from %s to %s incomplete (%d of %d parts); handed on as is",
            mask(from_),
            to,
            len(pending.parts),
            total,
        )
        return Assembled(
            from_, to, "".join(pending.parts[s] for s in sorted(pending.parts)), complete=False
        )
