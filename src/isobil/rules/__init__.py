"""The regulation as data: cited, dated rules and the preflight that applies them.

Pure: no storage, no transport, no clock — the caller passes the facts and the
date the rules are evaluated as of.
"""

from isobil.identifiers import (
    is_mersis,
    is_tckn,
    is_vkn,
    validate_mersis,
    validate_tckn,
    validate_vkn,
)
from isobil.rules._catalog import (
    DEFAULT_RULES,
    IYS_IN_FORCE,
    LAW_IN_FORCE,
    LEGACY_CUTOFF,
    REG_IN_FORCE,
    proof_missing,
)
from isobil.rules._classifier import (
    DEFAULT_SIGNALS,
    Classification,
    Evidence,
    Signal,
    SignalKind,
    Verdict,
    classify,
)
from isobil.rules._engine import PreflightReport, RuleSet, preflight, rules_markdown
from isobil.rules._model import (
    Citation,
    Confidence,
    Finding,
    IysRegistration,
    MessageFacts,
    RecipientFacts,
    Rule,
    RulesConfig,
    Scope,
    Severity,
)
from isobil.rules._penalties import (
    PENALTY_SOURCE,
    PENALTY_TABLE,
    RULE_PENALTIES,
    Exposure,
    PenaltyKind,
    exposure,
)

__all__ = [
    "DEFAULT_RULES",
    "DEFAULT_SIGNALS",
    "IYS_IN_FORCE",
    "LAW_IN_FORCE",
    "LEGACY_CUTOFF",
    "PENALTY_SOURCE",
    "PENALTY_TABLE",
    "REG_IN_FORCE",
    "RULE_PENALTIES",
    "Citation",
    "Classification",
    "Confidence",
    "Evidence",
    "Exposure",
    "Finding",
    "IysRegistration",
    "MessageFacts",
    "PenaltyKind",
    "PreflightReport",
    "RecipientFacts",
    "Rule",
    "RuleSet",
    "RulesConfig",
    "Scope",
    "Severity",
    "Signal",
    "SignalKind",
    "Verdict",
    "classify",
    "exposure",
    "is_mersis",
    "is_tckn",
    "is_vkn",
    "preflight",
    "proof_missing",
    "rules_markdown",
    "validate_mersis",
    "validate_tckn",
    "validate_vkn",
]
