"""isobil: consent-aware bulk SMS for Turkey.

One :class:`Client` sends SMS through a pluggable transport, with numbers
normalised, Turkish text encoded exactly, and every outcome accounted for.
"""

from isobil._async import AsyncClient
from isobil.client import (
    Client,
    OutcomeStatus,
    RecipientOutcome,
    SendResult,
)
from isobil.errors import (
    AuthenticationFailed,
    ComplianceError,
    ConfigurationError,
    ConnectionFailed,
    DuplicateOrder,
    EncodingError,
    ImportFailed,
    InsufficientBalance,
    InsufficientCredits,
    InvalidIdentifier,
    InvalidPhoneNumber,
    InvalidValue,
    IsobilError,
    IysError,
    IysRateLimited,
    IysRefused,
    IysUnavailable,
    RecipientBlacklisted,
    RecipientOptedOut,
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
    Relation,
    Sender,
    SenderKind,
)
from isobil.sms import Encoding, SegmentPlan, Template
from isobil.storage import MessageState
from isobil.transport import DeliveryStatus, FakeTransport, Transport

__version__ = "0.1.0.dev0"

__all__ = [
    "AsyncClient",
    "AuthenticationFailed",
    "Brand",
    "Client",
    "ComplianceError",
    "ConfigurationError",
    "ConnectionFailed",
    "DeliveryStatus",
    "DuplicateOrder",
    "Encoding",
    "EncodingError",
    "FakeTransport",
    "ImportFailed",
    "InsufficientBalance",
    "InsufficientCredits",
    "InvalidIdentifier",
    "InvalidPhoneNumber",
    "InvalidValue",
    "IsobilError",
    "IysError",
    "IysRateLimited",
    "IysRefused",
    "IysUnavailable",
    "Message",
    "MessageCategory",
    "MessageState",
    "OutcomeStatus",
    "Recipient",
    "RecipientBlacklisted",
    "RecipientOptedOut",
    "RecipientOutcome",
    "RecipientType",
    "Relation",
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
