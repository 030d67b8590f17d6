"""Consent: the tamper-evident ledger, opt-in / opt-out over SMS, the blacklist, İYS.

Recipients say yes (ONAY) or no (RET); this package records it with proof,
answers them, keeps İYS in step, and keeps the history verifiable years later.
"""

from isobil.consent._blacklist import Blacklist
from isobil.consent._business_days import (
    add_business_days,
    business_day_deadline,
    is_business_day,
)
from isobil.consent._inbound import (
    AutoReplies,
    InboundProcessor,
    route_key,
    storable_text,
    unescape_text,
)
from isobil.consent._iys import (
    DEFAULT_RATE_LIMITS,
    FakeIysGateway,
    HttpIysGateway,
    IysBatchRequest,
    IysBatchResult,
    IysChanges,
    IysConsent,
    IysError,
    IysGateway,
    IysRateLimited,
    IysRecordResult,
    IysUnavailable,
    ManualClock,
)
from isobil.consent._iys_sync import IysDeadline, IysSynchronizer, IysSyncReport, iys_pulled_at
from isobil.consent._keywords import (
    DEFAULT_HELP_WORDS,
    DEFAULT_OPT_IN_WORDS,
    DEFAULT_OPT_OUT_WORDS,
    Intent,
    KeywordParser,
    ParsedInbound,
    fold,
)
from isobil.consent._ledger import (
    GENESIS_HASH,
    IYS_SOURCES,
    ConsentLedger,
    ConsentState,
    EvidenceExport,
    LedgerAnchor,
    LedgerProblem,
    VerificationReport,
    canonical_json,
    event_hash,
    event_to_json,
)
from isobil.consent._report import ConsentReport, ConsentReportRow, consent_report

__all__ = [
    "DEFAULT_HELP_WORDS",
    "DEFAULT_OPT_IN_WORDS",
    "DEFAULT_OPT_OUT_WORDS",
    "DEFAULT_RATE_LIMITS",
    "GENESIS_HASH",
    "IYS_SOURCES",
    "AutoReplies",
    "Blacklist",
    "ConsentLedger",
    "ConsentReport",
    "ConsentReportRow",
    "ConsentState",
    "EvidenceExport",
    "FakeIysGateway",
    "HttpIysGateway",
    "InboundProcessor",
    "Intent",
    "IysBatchRequest",
    "IysBatchResult",
    "IysChanges",
    "IysConsent",
    "IysDeadline",
    "IysError",
    "IysGateway",
    "IysRateLimited",
    "IysRecordResult",
    "IysSyncReport",
    "IysSynchronizer",
    "IysUnavailable",
    "KeywordParser",
    "LedgerAnchor",
    "LedgerProblem",
    "ManualClock",
    "ParsedInbound",
    "VerificationReport",
    "add_business_days",
    "business_day_deadline",
    "canonical_json",
    "consent_report",
    "event_hash",
    "event_to_json",
    "fold",
    "is_business_day",
    "iys_pulled_at",
    "route_key",
    "storable_text",
    "unescape_text",
]
