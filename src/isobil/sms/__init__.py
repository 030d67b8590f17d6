"""SMS text encoding: GSM-7 with the Turkish shift tables or UCS-2, split into parts.

:func:`plan` picks the cheapest encoding and builds SMPP payloads with their UDH;
:func:`decode` reads inbound ones. Nothing here talks to the network.
"""

from __future__ import annotations

from isobil.sms._decode import DecodedPart, decode
from isobil.sms._plan import Encoding, PartPayload, SegmentPlan, plan
from isobil.sms._template import Template, field_key
from isobil.sms._transliterate import transliterate_turkish

__all__ = [
    "DecodedPart",
    "Encoding",
    "PartPayload",
    "SegmentPlan",
    "Template",
    "decode",
    "field_key",
    "plan",
    "transliterate_turkish",
]
