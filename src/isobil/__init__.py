"""isobil: consent-aware bulk SMS for Turkey.

One :class:`Client` sends SMS through a pluggable transport, with numbers
normalised, Turkish text encoded exactly, and every outcome accounted for.
"""

from isobil.client import (
    Client,
    OutcomeStatus,
    RecipientOutcome,
    SendResult,
)
from isobil.errors import (
    ConfigurationError,
    ConnectionFailed,
    EncodingError,
    InvalidIdentifier,
    InvalidPhoneNumber,
    InvalidValue,
    IsobilError,
    StorageError,
    SubmitRejected,
    Throttled,
    TransportClosed,
    TransportError,
    TransportTimeout,
)
from isobil.model import (
    Brand,
    Message,
    MessageCategory,
    Recipient,
    RecipientType,
    Sender,
    SenderKind,
)
from isobil.sms import Encoding, SegmentPlan
from isobil.storage import MessageState
from isobil.transport import DeliveryStatus, FakeTransport, Transport

__version__ = "0.1.0.dev0"

__all__ = [
    "Brand",
    "Client",
    "ConfigurationError",
    "ConnectionFailed",
    "DeliveryStatus",
    "Encoding",
    "EncodingError",
    "FakeTransport",
    "InvalidIdentifier",
    "InvalidPhoneNumber",
    "InvalidValue",
    "IsobilError",
    "Message",
    "MessageCategory",
    "MessageState",
    "OutcomeStatus",
    "Recipient",
    "RecipientOutcome",
    "RecipientType",
    "SegmentPlan",
    "SendResult",
    "Sender",
    "SenderKind",
    "StorageError",
    "SubmitRejected",
    "Throttled",
    "Transport",
    "TransportClosed",
    "TransportError",
    "TransportTimeout",
    "__version__",
]
