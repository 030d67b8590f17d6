"""Persistence behind one contract: contacts, consent events, campaigns, credits, schedules.

``MemoryStorage`` keeps everything in the process; ``SQLStorage`` keeps it in
SQLite (the default) or PostgreSQL (several workers on several machines).
"""

from typing import TYPE_CHECKING

from isobil.storage._base import ContactRow, DecidingConsent, Sealer, Storage
from isobil.storage._coexistence import exclude_isobil, include_object, isobil_tables
from isobil.storage._memory import MemoryStorage
from isobil.storage._records import (
    FAILURE_STATES,
    SENT_STATES,
    TRANSITIONS,
    BlacklistEntry,
    Campaign,
    CampaignStatus,
    CreditEntry,
    CreditKind,
    DeliveryReportRecord,
    InboundRecord,
    IysSync,
    IysSyncStatus,
    MessagePart,
    MessageState,
    MessageStats,
    OtpRecord,
    OutboundMessage,
    Schedule,
    ScheduleStatus,
    Settlement,
    Template,
    UpsertResult,
    check_transition,
)

if TYPE_CHECKING:
    from isobil.storage._sql import SQLStorage, revision, upgrade

__all__ = [
    "FAILURE_STATES",
    "SENT_STATES",
    "TRANSITIONS",
    "BlacklistEntry",
    "Campaign",
    "CampaignStatus",
    "ContactRow",
    "CreditEntry",
    "CreditKind",
    "DecidingConsent",
    "DeliveryReportRecord",
    "InboundRecord",
    "IysSync",
    "IysSyncStatus",
    "MemoryStorage",
    "MessagePart",
    "MessageState",
    "MessageStats",
    "OtpRecord",
    "OutboundMessage",
    "SQLStorage",
    "Schedule",
    "ScheduleStatus",
    "Sealer",
    "Settlement",
    "Storage",
    "Template",
    "UpsertResult",
    "check_transition",
    "exclude_isobil",
    "include_object",
    "isobil_tables",
    "revision",
    "upgrade",
]


def __getattr__(name: str) -> object:
    # SQLStorage loads SQLAlchemy (~0.15 s): only code that uses it pays for it.
    if name in ("SQLStorage", "upgrade", "revision"):
        from isobil.storage import _sql

        return getattr(_sql, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
