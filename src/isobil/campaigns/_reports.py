"""Delivery reports of a campaign (F18): counts by state, by reason and by hour.

Operator and SMSC error codes are mapped to readable reasons; an unknown code is
shown as it came.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from zoneinfo import ZoneInfo

import attrs

from isobil._tables import write_csv, write_xlsx
from isobil.storage import MessageState, Storage

__all__ = ["ERROR_REASONS", "DeliverySummary", "delivery_summary", "error_reason"]

ISTANBUL = ZoneInfo("Europe/Istanbul")

#: GSM MAP / SMPP delivery error codes as Turkish operators report them (err:NNN).
ERROR_REASONS: Mapping[str, str] = MappingProxyType(
    {
        "000": "no error",
        "001": "unknown subscriber (number not in use)",
        "005": "unidentified subscriber",
        "009": "illegal subscriber",
        "011": "teleservice not provisioned",
        "013": "call barred",
        "021": "facility not supported",
        "027": "absent subscriber (phone off or out of coverage)",
        "031": "subscriber busy for SMS",
        "032": "SMS delivery failure",
        "033": "message waiting list full (phone memory full)",
        "034": "system failure",
        "035": "data missing",
        "036": "unexpected data value",
        "069": "blocked by the operator (spam filter)",
        "254": "validity period expired",
        "255": "unknown error",
        "ESME_RINVDSTADR": "invalid destination address",
        "ESME_RSUBMITFAIL": "submit failed",
        "ESME_RTHROTTLED": "throttled by the SMSC",
        "ESME_RMSGQFUL": "SMSC message queue full",
    }
)


def error_reason(code: str | None) -> str:
    """A readable reason for an operator/SMSC error code (``"027"`` → absent subscriber)."""
    if code is None or code == "":
        return ""
    key = code.zfill(3) if code.isdigit() else code
    return ERROR_REASONS.get(key, f"error {code}")


@attrs.frozen
class DeliverySummary:
    """Where a campaign's messages stand: per state, per failure reason, per hour (Istanbul)."""

    campaign_id: str
    counts: Mapping[MessageState, int]
    by_reason: Mapping[str, int]
    by_hour: Mapping[str, int]  # "YYYY-MM-DD HH:00" → messages settled in that hour

    @property
    def total(self) -> int:
        """Messages in the campaign."""
        return sum(self.counts.values())

    def count(self, state: MessageState | str) -> int:
        """Messages in one state."""
        return self.counts.get(MessageState(state), 0)

    @property
    def pending(self) -> int:
        """Messages without a final answer yet (queued, submitting, submitted)."""
        waiting = (MessageState.QUEUED, MessageState.SUBMITTING, MessageState.SUBMITTED)
        return sum(self.counts.get(s, 0) for s in waiting)

    def to_csv(self, path: str | Path) -> None:
        """Write the counts (state, reason and hour rows) as CSV."""
        write_csv(path, ("kind", "key", "count"), self._rows())

    def to_xlsx(self, path: str | Path) -> None:
        """Write the counts as an .xlsx sheet."""
        write_xlsx(path, {"delivery": (("kind", "key", "count"), self._rows())})

    def _rows(self) -> list[tuple[str, str, int]]:
        rows = [("state", s.value, n) for s, n in sorted(self.counts.items())]
        rows += [("reason", r, n) for r, n in sorted(self.by_reason.items())]
        rows += [("hour", h, n) for h, n in sorted(self.by_hour.items())]
        return rows

    def __str__(self) -> str:
        states = ", ".join(f"{s.value} {n}" for s, n in sorted(self.counts.items()))
        lines = [f"campaign {self.campaign_id}: {self.total} message(s) — {states}"]
        lines += [f"  {n:>6}  {reason}" for reason, n in sorted(self.by_reason.items())]
        return "\n".join(lines)


def delivery_summary(storage: Storage, campaign_id: str) -> DeliverySummary:
    """Summarise one campaign's messages from storage."""
    counts: Counter[MessageState] = Counter()
    reasons: Counter[str] = Counter()
    hours: Counter[str] = Counter()
    for message in storage.iter_messages(campaign_id):
        counts[message.state] += 1
        if message.state.final and message.state is not MessageState.DELIVERED:
            reasons[error_reason(message.error_code) or message.reason or message.state.value] += 1
        if message.state.final and message.updated_at is not None:
            hour: datetime = message.updated_at.astimezone(ISTANBUL)
            hours[hour.strftime("%Y-%m-%d %H:00")] += 1
    return DeliverySummary(
        campaign_id,
        MappingProxyType(dict(counts)),
        MappingProxyType(dict(reasons)),
        MappingProxyType(dict(hours)),
    )
