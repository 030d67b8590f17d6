"""Law 6563 art. 12 administrative fines, as data, and the exposure of a set of findings.

The amounts are revalued every year. 2026 is from the official communiqué
(RG 25.12.2025, revaluation rate 25.49%); 2024 and 2025 follow from the base
amounts by the revaluation chain (×1.5846, ×1.4393, ×1.2549, rounding down at
each step), which reproduces the published 2026 rows exactly. A new year is one
more row of ``PENALTY_TABLE``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping

import attrs

from isobil.rules._model import Finding, Severity

__all__ = [
    "PENALTY_SOURCE",
    "PENALTY_TABLE",
    "RULE_PENALTIES",
    "Exposure",
    "PenaltyKind",
    "exposure",
]


class PenaltyKind(enum.StrEnum):
    """The three fine brackets of Law 6563 art. 12 that bulk SMS can incur."""

    #: Sending without consent (Law art. 6); ×10 ceiling when sent to many at once
    #: (art. 12(2)). Base 1,000–5,000 TL; its letter after Law 7416 is unconfirmed [U].
    NO_CONSENT = "no_consent"
    #: Missing identity of the sender (Law art. 5(1)(a)): base 1,000–10,000 TL [S].
    IDENTITY = "identity"
    #: Promotions (art. 5(1)(b)) and the opt-out duties (art. 8(2), 8(3)): art. 12(1)(c),
    #: base 2,000–15,000 TL [V, original text].
    OPT_OUT_PROMOTION = "opt_out_promotion"


PENALTY_SOURCE = (
    "Law 6563 art. 12; base amounts 2015; 2026 amounts from the revaluation communiqué "
    "RG 25.12.2025 (rate 25.49%); 2024-2025 computed by the revaluation chain [S]"
)

#: year → kind → (minimum, maximum) in TL for one violation.
PENALTY_TABLE: Mapping[int, Mapping[PenaltyKind, tuple[int, int]]] = {
    2023: {
        PenaltyKind.NO_CONSENT: (1_000, 5_000),
        PenaltyKind.IDENTITY: (1_000, 10_000),
        PenaltyKind.OPT_OUT_PROMOTION: (2_000, 15_000),
    },
    2024: {
        PenaltyKind.NO_CONSENT: (1_584, 7_923),
        PenaltyKind.IDENTITY: (1_584, 15_846),
        PenaltyKind.OPT_OUT_PROMOTION: (3_169, 23_769),
    },
    2025: {
        PenaltyKind.NO_CONSENT: (2_279, 11_403),
        PenaltyKind.IDENTITY: (2_279, 22_807),
        PenaltyKind.OPT_OUT_PROMOTION: (4_561, 34_210),
    },
    2026: {
        PenaltyKind.NO_CONSENT: (2_859, 14_309),
        PenaltyKind.IDENTITY: (2_859, 28_620),
        PenaltyKind.OPT_OUT_PROMOTION: (5_723, 42_930),
    },
}

#: Which bracket a failed rule falls in; rules not listed carry no fine of their own.
RULE_PENALTIES: Mapping[str, PenaltyKind] = {
    "TR-CONSENT-001": PenaltyKind.NO_CONSENT,
    "TR-CONSENT-002": PenaltyKind.NO_CONSENT,
    "TR-CONSENT-003": PenaltyKind.NO_CONSENT,
    "TR-CONSENT-004": PenaltyKind.NO_CONSENT,
    "TR-CONSENT-006": PenaltyKind.NO_CONSENT,
    "TR-NOCONSENT-001": PenaltyKind.NO_CONSENT,
    "TR-NOCONSENT-002": PenaltyKind.NO_CONSENT,
    "TR-LEGACY-001": PenaltyKind.NO_CONSENT,
    "TR-LEGACY-002": PenaltyKind.NO_CONSENT,
    "TR-LEGACY-003": PenaltyKind.NO_CONSENT,
    "TR-CONTENT-001": PenaltyKind.NO_CONSENT,
    "TR-CONTENT-002": PenaltyKind.IDENTITY,
    "TR-CONTENT-003": PenaltyKind.IDENTITY,
    "TR-CONTENT-004": PenaltyKind.IDENTITY,
    "TR-OPTOUT-001": PenaltyKind.OPT_OUT_PROMOTION,
    "TR-OPTOUT-002": PenaltyKind.OPT_OUT_PROMOTION,
    "TR-CONTENT-005": PenaltyKind.OPT_OUT_PROMOTION,
}


@attrs.frozen
class Exposure:
    """The fine range (TL) the findings could cost if the message went out anyway."""

    year: int
    minimum: int
    maximum: int
    kinds: tuple[PenaltyKind, ...]
    note: str

    def __str__(self) -> str:
        if not self.kinds:
            return "no fine exposure"
        return f"{self.minimum:,}–{self.maximum:,} TL ({self.year} amounts; {self.note})"


def exposure(findings: Iterable[Finding], *, year: int, audience: int = 1) -> Exposure:
    """The fine range for ``findings``, one violation per bracket, as of ``year``.

    Sending without consent to more than one recipient at once raises the
    ceiling tenfold (art. 12(2)): per-recipient findings count their
    recipients, and a message-level no-consent finding (a notice that is
    commercial) counts the whole ``audience``. Years before the table use the
    base amounts; years after it use the latest row (and say so).
    """
    table_year = min(max(year, min(PENALTY_TABLE)), max(PENALTY_TABLE))
    no_consent_recipients: set[str] = set()
    no_consent_message = False
    kinds: set[PenaltyKind] = set()
    for finding in findings:
        if finding.severity is Severity.INFO:
            continue
        kind = RULE_PENALTIES.get(finding.rule_id)
        if kind is None:
            continue
        kinds.add(kind)
        if kind is PenaltyKind.NO_CONSENT:
            if finding.recipient is None:
                no_consent_message = True
            else:
                no_consent_recipients.add(finding.recipient)
    to_many = len(no_consent_recipients) > 1 or (no_consent_message and audience > 1)
    amounts = PENALTY_TABLE[table_year]
    low = sum(amounts[k][0] for k in kinds)
    high = 0
    for kind in kinds:
        ceiling = amounts[kind][1]
        if kind is PenaltyKind.NO_CONSENT and to_many:
            ceiling *= 10
        high += ceiling
    note = "one violation per bracket; ×10 ceiling for unconsented bulk sends"
    if table_year != year:
        note += f"; no {year} row, {table_year} amounts used"
    return Exposure(table_year, low, high, tuple(sorted(kinds)), note)
