"""Campaigns over time: credits, schedules and recurring sends.

The client queues campaigns and dispatches them; this package keeps the credit
ledger's rules and the schedules' calendar (Europe/Istanbul by default).
"""

from isobil.campaigns._credits import CreditAccount
from isobil.campaigns._html import campaign_html
from isobil.campaigns._recurrence import (
    ISTANBUL_TZ,
    daily,
    monthly,
    next_occurrence,
    occurrences,
    weekly,
    yearly,
)
from isobil.campaigns._reports import (
    ERROR_REASONS,
    BlockedMessage,
    CampaignCompliance,
    ComplianceReport,
    CreditReport,
    DeliverySummary,
    compliance_report,
    credit_report,
    delivery_summary,
    error_reason,
)
from isobil.campaigns._schedules import FiredOccurrence, Schedules

__all__ = [
    "ERROR_REASONS",
    "ISTANBUL_TZ",
    "BlockedMessage",
    "CampaignCompliance",
    "ComplianceReport",
    "CreditAccount",
    "CreditReport",
    "DeliverySummary",
    "FiredOccurrence",
    "Schedules",
    "campaign_html",
    "compliance_report",
    "credit_report",
    "daily",
    "delivery_summary",
    "error_reason",
    "monthly",
    "next_occurrence",
    "occurrences",
    "weekly",
    "yearly",
]
