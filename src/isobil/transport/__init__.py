"""Transports carry segment plans to an SMSC and bring receipts and inbound texts back.

A transport knows nothing of rules or storage: it submits what it is given and
hands every delivery report and inbound message to one callback.
"""

from isobil.transport._base import (
    DeliveryReport,
    DeliveryStatus,
    InboundEvent,
    InboundHandler,
    InboundSms,
    OutboundSms,
    SubmitResult,
    Transport,
)
from isobil.transport._fake import FakeTransport, SentSms
from isobil.transport._smpp import SmppStats, SmppTransport

__all__ = [
    "DeliveryReport",
    "DeliveryStatus",
    "FakeTransport",
    "InboundEvent",
    "InboundHandler",
    "InboundSms",
    "OutboundSms",
    "SentSms",
    "SmppStats",
    "SmppTransport",
    "SubmitResult",
    "Transport",
]
