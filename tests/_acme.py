"""The sender most tests send as: Acme, brand ACME, short number 4605."""

from __future__ import annotations

from collections.abc import Callable

from isobil import Brand, Sender
from isobil.rules import (
    Citation,
    Confidence,
    MessageFacts,
    RecipientFacts,
    Rule,
    Scope,
    Severity,
)

#: A sender with a complete identity (MERSİS, contact) and one brand.
ACME = Sender(
    name="Acme Ticaret A.Ş.",
    mersis="0123456789012345",
    contact="0850 123 45 67",
    brands=[Brand("ACME")],
    short_number="4605",
)

#: Where İYS is not wired and consent proof is not the point of a test: registration
#: unknown, proof incomplete and no İYS pull are acknowledged (they are warnings).
IYS_NOT_WIRED = ("TR-CONSENT-003", "TR-CONSENT-004", "TR-CONSENT-006")


def own_rule(
    rule_id: str,
    check: Callable[[MessageFacts, RecipientFacts | None], str | None],
    *,
    recheck: bool = False,
) -> Rule:
    """A recipient rule of your own (``recheck``: checked again before each batch)."""
    return Rule(
        id=rule_id,
        title="A rule of your own",
        scope=Scope.RECIPIENT,
        severity=Severity.ERROR,
        citation=Citation("Acme policy", "1", "Ours."),
        confidence=Confidence.VERIFIED,
        check=check,
        recheck=recheck,
    )
