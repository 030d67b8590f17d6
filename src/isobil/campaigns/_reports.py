"""Reports read from storage (F18, F22): delivery, credits and compliance.

A campaign's delivery summary counts by state, by reason and by hour, operator
and SMSC error codes mapped to readable reasons (an unknown code is shown as it
came); the credit report is the ledger with its totals; the compliance report
lists who was not sent to and why, with the rules' citations.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from types import MappingProxyType

import attrs

from isobil import phone
from isobil._tables import write_csv, write_xlsx
from isobil._time import ISTANBUL
from isobil.errors import InvalidValue
from isobil.storage import Campaign, CreditEntry, CreditKind, MessageState, Storage
from isobil.storage._records import reason_rule_ids

__all__ = [
    "ERROR_REASONS",
    "BlockedMessage",
    "CampaignCompliance",
    "ComplianceReport",
    "CreditReport",
    "DeliverySummary",
    "compliance_report",
    "credit_report",
    "delivery_summary",
    "error_reason",
]


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


ENTRY_HEADER = ("at", "kind", "amount", "running", "campaign_id", "message_id", "note")


@attrs.frozen
class CreditReport:
    """The credit ledger (F19, F20): the balance, totals by kind and campaign, every entry.

    ``entries`` are oldest first; ``campaign_id`` is set when the report covers one
    campaign only. ``balance`` is always the whole account's.
    """

    balance: int
    entries: tuple[CreditEntry, ...]
    campaign_id: str | None = None

    def total(self, kind: CreditKind | str) -> int:
        """The sum of the entries of one kind (reservations are negative)."""
        try:
            wanted = CreditKind(kind)
        except ValueError:
            kinds = ", ".join(k.value for k in CreditKind)
            raise InvalidValue(f"no credit kind {kind!r}; kinds: {kinds}") from None
        return sum(e.amount for e in self.entries if e.kind is wanted)

    @property
    def by_campaign(self) -> Mapping[str, int]:
        """Credits each campaign cost: reservations net of releases and refunds."""
        net: Counter[str] = Counter()
        for e in self.entries:
            if e.campaign_id is not None:
                net[e.campaign_id] -= e.amount
        return MappingProxyType(dict(net))

    def _entry_cells(self) -> Iterator[tuple[str, str, int, int, str, str, str]]:
        running = 0
        for e in self.entries:
            running += e.amount
            yield (
                e.at.astimezone(ISTANBUL).isoformat(),
                e.kind.value,
                e.amount,
                running,
                e.campaign_id or "",
                e.message_id or "",
                e.note or "",
            )

    def _summary_cells(self) -> list[tuple[str, str, int]]:
        rows = [("balance", "", self.balance)]
        rows += [("kind", k.value, self.total(k)) for k in CreditKind]
        rows += [("campaign", c, n) for c, n in sorted(self.by_campaign.items())]
        return rows

    def to_csv(self, path: str | Path) -> None:
        """Write every entry with the running sum, oldest first (times in Istanbul)."""
        write_csv(path, ENTRY_HEADER, self._entry_cells())

    def to_xlsx(self, path: str | Path) -> None:
        """Write a "summary" sheet (balance, totals by kind and campaign) and an "entries" one."""
        write_xlsx(
            path,
            {
                "summary": (("kind", "key", "credits"), self._summary_cells()),
                "entries": (ENTRY_HEADER, self._entry_cells()),
            },
        )

    def __str__(self) -> str:
        scope = f"; entries of campaign {self.campaign_id}" if self.campaign_id else ""
        lines = [f"balance: {self.balance} credit(s){scope}"]
        lines += [f"  {k.value:8} {self.total(k):+10}" for k in CreditKind if self.total(k)]
        lines += [f"  campaign {c}: {n} credit(s)" for c, n in sorted(self.by_campaign.items())]
        return "\n".join(lines)


def credit_report(storage: Storage, *, campaign_id: str | None = None) -> CreditReport:
    """The credit ledger from storage, of one campaign or all."""
    entries = tuple(storage.iter_credits(campaign_id=campaign_id))
    return CreditReport(storage.credit_balance(), entries, campaign_id)


BLOCKED_HEADER = ("campaign_id", "number", "rule_ids", "citations", "reason", "blocked_at")
CAMPAIGN_HEADER = (
    "campaign_id", "name", "category", "brand", "created_at", "messages", "blocked",
    "acknowledged",
)  # fmt: skip


@attrs.frozen
class BlockedMessage:
    """A message a check stopped, when the campaign was queued or at dispatch."""

    campaign_id: str
    to: str = attrs.field(repr=phone.mask)
    rule_ids: tuple[str, ...]
    reason: str
    at: datetime | None


@attrs.frozen
class CampaignCompliance:
    """One campaign as checked: what it was, how many messages, how many stopped."""

    campaign: Campaign
    messages: int
    blocked: int
    acknowledged: tuple[str, ...]  # warnings the sender acknowledged to send anyway


@attrs.frozen
class ComplianceReport:
    """Who was not sent to and why, campaign by campaign, with the rules' citations (F22).

    ``citations`` maps each rule id met to its legal source; ``acknowledged``
    warnings are those the sender chose to send past.
    """

    campaigns: tuple[CampaignCompliance, ...]
    blocked: tuple[BlockedMessage, ...]
    citations: Mapping[str, str]

    @property
    def by_rule(self) -> Mapping[str, int]:
        """Messages each rule stopped (a message stopped by two rules counts for both)."""
        counts: Counter[str] = Counter(r for b in self.blocked for r in b.rule_ids)
        return MappingProxyType(dict(sorted(counts.items())))

    def _blocked_cells(self) -> Iterator[tuple[str, str, str, str, str, str]]:
        for b in self.blocked:
            yield (
                b.campaign_id,
                b.to,
                " ".join(b.rule_ids),
                "; ".join(self.citations.get(r, "") for r in b.rule_ids),
                b.reason,
                "" if b.at is None else b.at.astimezone(ISTANBUL).isoformat(),
            )

    def _campaign_cells(self) -> Iterator[tuple[str, str, str, str, str, int, int, str]]:
        for c in self.campaigns:
            yield (
                c.campaign.id,
                c.campaign.name or "",
                c.campaign.category,
                c.campaign.brand or "",
                c.campaign.created_at.astimezone(ISTANBUL).isoformat(),
                c.messages,
                c.blocked,
                " ".join(c.acknowledged),
            )

    def to_csv(self, path: str | Path) -> None:
        """Write one row per blocked message: number, rules, citations, reason, when."""
        write_csv(path, BLOCKED_HEADER, self._blocked_cells())

    def to_xlsx(self, path: str | Path) -> None:
        """Write "campaigns", "rules" (count and citation) and "blocked" sheets."""
        rules = [(r, n, self.citations.get(r, "")) for r, n in self.by_rule.items()]
        write_xlsx(
            path,
            {
                "campaigns": (CAMPAIGN_HEADER, self._campaign_cells()),
                "rules": (("rule_id", "blocked", "citation"), rules),
                "blocked": (BLOCKED_HEADER, self._blocked_cells()),
            },
        )

    def __str__(self) -> str:
        messages = sum(c.messages for c in self.campaigns)
        lines = [
            f"compliance: {len(self.campaigns)} campaign(s), {messages} message(s), "
            f"{len(self.blocked)} blocked"
        ]
        lines += [
            f"  {n:>6}  {rule}  [{self.citations.get(rule, 'no citation')}]"
            for rule, n in self.by_rule.items()
        ]
        lines += [
            f"  campaign {c.campaign.id}: warnings acknowledged: {', '.join(c.acknowledged)}"
            for c in self.campaigns
            if c.acknowledged
        ]
        return "\n".join(lines)


def compliance_report(
    storage: Storage,
    citations: Mapping[str, str],
    *,
    campaign_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> ComplianceReport:
    """Blocked messages of one campaign, or of the campaigns created in [since, until).

    ``citations`` maps the rule ids in force to their citations; a blocked
    message's reason (``"RULE-ID: why; …"``) is split on rule ids (see
    ``reason_rule_ids``), and citations are given for the ids the client knows.
    """
    if campaign_id is not None:
        found = storage.get_campaign(campaign_id)
        campaigns = [] if found is None else [found]
    else:
        campaigns = [
            c
            for c in storage.list_campaigns()
            if (since is None or c.created_at >= since) and (until is None or c.created_at < until)
        ]
    summaries: list[CampaignCompliance] = []
    blocked: list[BlockedMessage] = []
    for campaign in sorted(campaigns, key=lambda c: (c.created_at, c.id)):
        total = stopped = 0
        for message in storage.iter_messages(campaign.id):
            total += 1
            if message.state is MessageState.BLOCKED:
                stopped += 1
                reason = message.reason or ""
                blocked.append(
                    BlockedMessage(
                        campaign.id,
                        message.to,
                        reason_rule_ids(reason, citations),
                        reason,
                        message.updated_at,
                    )
                )
        acknowledged = storage.get_state(f"campaign.{campaign.id}.acknowledge") or ""
        summaries.append(
            CampaignCompliance(
                campaign, total, stopped, tuple(filter(None, acknowledged.split(",")))
            )
        )
    met = {r for b in blocked for r in b.rule_ids}
    return ComplianceReport(
        tuple(summaries),
        tuple(blocked),
        MappingProxyType({r: citations[r] for r in sorted(met) if r in citations}),
    )
