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
    LastLook,
    OutboundSms,
    SubmitResult,
    Transport,
)
from isobil.transport._callbacks import CallbackApp, ReplayStore, sign, signed_headers
from isobil.transport._config import PROVIDER_URLS, TRANSPORT_KINDS, transport_from_config
from isobil.transport._fake import FakeTransport, SentSms
from isobil.transport._http import HttpTransport
from isobil.transport._http_adapters import (
    CallbackAuth,
    CallbackError,
    CallbackReply,
    GenericJsonAdapter,
    HttpAdapter,
    HttpRequest,
    HttpResponse,
    JasminAdapter,
)
from isobil.transport._iletimerkezi import (
    IletiMerkeziAdapter,
    IletiMerkeziBalance,
    IletiMerkeziBlacklist,
)
from isobil.transport._netgsm import NetgsmAdapter
from isobil.transport._smpp import SmppStats, SmppTransport
from isobil.transport._verimor import VerimorAdapter

__all__ = [
    "PROVIDER_URLS",
    "TRANSPORT_KINDS",
    "CallbackApp",
    "CallbackAuth",
    "CallbackError",
    "CallbackReply",
    "DeliveryReport",
    "DeliveryStatus",
    "FakeTransport",
    "GenericJsonAdapter",
    "HttpAdapter",
    "HttpRequest",
    "HttpResponse",
    "HttpTransport",
    "IletiMerkeziAdapter",
    "IletiMerkeziBalance",
    "IletiMerkeziBlacklist",
    "InboundEvent",
    "InboundHandler",
    "InboundSms",
    "JasminAdapter",
    "LastLook",
    "NetgsmAdapter",
    "OutboundSms",
    "ReplayStore",
    "SentSms",
    "SmppStats",
    "SmppTransport",
    "SubmitResult",
    "Transport",
    "VerimorAdapter",
    "sign",
    "signed_headers",
    "transport_from_config",
]
