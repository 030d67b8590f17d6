"""Persistence behind one contract: contacts, consent events, campaigns, credits, schedules.

``MemoryStorage`` keeps everything in the process; ``SQLStorage`` keeps it in
SQLite (the default) or PostgreSQL (several workers on several machines).
"""

from isobil.storage._base import Sealer, Storage
from isobil.storage._memory import MemoryStorage
from isobil.storage._records import (
    TRANSITIONS,
    BlacklistEntry,
    Campaign,
    CampaignStatus,
    CreditEntry,
    CreditKind,
    DeliveryReportRecord,
    MessageState,
    OutboundMessage,
    Schedule,
    ScheduleStatus,
    Template,
    UpsertResult,
    check_transition,
)

__all__ = [
    "TRANSITIONS",
    "BlacklistEntry",
    "Campaign",
    "CampaignStatus",
    "CreditEntry",
    "CreditKind",
    "DeliveryReportRecord",
    "MemoryStorage",
    "MessageState",
    "OutboundMessage",
    "Schedule",
    "ScheduleStatus",
    "Sealer",
    "Storage",
    "Template",
    "UpsertResult",
    "check_transition",
]
