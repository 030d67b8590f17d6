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
from isobil.rules._catalog import DEFAULT_RULES, IYS_IN_FORCE, LAW_IN_FORCE, LEGACY_CUTOFF
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
    "IYS_IN_FORCE",
    "LAW_IN_FORCE",
    "LEGACY_CUTOFF",
    "PENALTY_SOURCE",
    "PENALTY_TABLE",
    "RULE_PENALTIES",
    "Citation",
    "Confidence",
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
    "exposure",
    "is_mersis",
    "is_tckn",
    "is_vkn",
    "preflight",
    "rules_markdown",
    "validate_mersis",
    "validate_tckn",
    "validate_vkn",
]
