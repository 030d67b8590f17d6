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
    ComplianceError,
    ConfigurationError,
    ConnectionFailed,
    EncodingError,
    ImportFailed,
    InsufficientCredits,
    InvalidIdentifier,
    InvalidPhoneNumber,
    InvalidValue,
    IsobilError,
    IysError,
    IysRateLimited,
    IysUnavailable,
    StorageError,
    SubmitRejected,
    TemplateError,
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
from isobil.sms import Encoding, SegmentPlan, Template
from isobil.storage import MessageState
from isobil.transport import DeliveryStatus, FakeTransport, Transport

__version__ = "0.1.0.dev0"

__all__ = [
    "Brand",
    "Client",
    "ComplianceError",
    "ConfigurationError",
    "ConnectionFailed",
    "DeliveryStatus",
    "Encoding",
    "EncodingError",
    "FakeTransport",
    "ImportFailed",
    "InsufficientCredits",
    "InvalidIdentifier",
    "InvalidPhoneNumber",
    "InvalidValue",
    "IsobilError",
    "IysError",
    "IysRateLimited",
    "IysUnavailable",
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
    "Template",
    "TemplateError",
    "Throttled",
    "Transport",
    "TransportClosed",
    "TransportError",
    "TransportTimeout",
    "__version__",
]
