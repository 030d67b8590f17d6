"""The rule set and the preflight: every finding, never only the first."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping, Sized
from datetime import date
from types import MappingProxyType
from typing import cast

import attrs

from isobil.errors import InvalidValue
from isobil.model import ConsentSource
from isobil.rules._catalog import DEFAULT_RULES, HISTORY_READERS
from isobil.rules._model import (
    Finding,
    MessageFacts,
    RecipientFacts,
    Rule,
    Scope,
    Severity,
)
from isobil.rules._penalties import PENALTY_TABLE, RULE_PENALTIES, Exposure, exposure

__all__ = ["PreflightReport", "RuleSet", "preflight", "rules_markdown"]


class RuleSet:
    """The rules in use: isobil's, plus any of your own, minus any you disabled (with why).

    A rule set is immutable: :meth:`with_rules` and :meth:`disable` return new ones.
    """

    def __init__(
        self,
        rules: Iterable[Rule] = DEFAULT_RULES,
        *,
        disabled: Mapping[str, str] | None = None,
    ) -> None:
        self._rules: dict[str, Rule] = {}
        for rule in rules:
            if rule.id in self._rules:
                raise InvalidValue(f"two rules share the id {rule.id!r}")
            self._rules[rule.id] = rule
        self._disabled = MappingProxyType(dict(disabled or {}))
        for rule_id in self._disabled:
            self.get(rule_id)

    @property
    def rules(self) -> tuple[Rule, ...]:
        """Every rule of the set, disabled ones included, in registration order."""
        return tuple(self._rules.values())

    @property
    def disabled(self) -> Mapping[str, str]:
        """Disabled rule ids with the reason recorded for each."""
        return self._disabled

    def get(self, rule_id: str) -> Rule:
        """The rule with this id; InvalidValue naming the known ids otherwise."""
        try:
            return self._rules[rule_id]
        except KeyError:
            known = ", ".join(self._rules)
            raise InvalidValue(f"no rule {rule_id!r}; known rules: {known}") from None

    def with_rules(self, *rules: Rule) -> RuleSet:
        """A rule set with ``rules`` added (your own checks, your own ids)."""
        return RuleSet([*self._rules.values(), *rules], disabled=self._disabled)

    def disable(self, rule_id: str, *, reason: str) -> RuleSet:
        """A rule set without ``rule_id``; the reason is kept and shown in every report."""
        if not reason.strip():
            raise InvalidValue("disabling a rule needs a reason")
        self.get(rule_id)
        return RuleSet(self._rules.values(), disabled={**self._disabled, rule_id: reason})

    def active(self, scope: Scope, day: date, *, recheck_only: bool = False) -> list[Rule]:
        """The enabled rules of ``scope`` in force on ``day`` (only re-checked ones if asked)."""
        return [
            r
            for r in self._rules.values()
            if r.scope is scope
            and r.id not in self._disabled
            and r.in_force(day)
            and (r.recheck or not recheck_only)
        ]

    def history_read(
        self, facts: MessageFacts, *, recheck_only: bool = False
    ) -> frozenset[ConsentSource] | None:
        """Whose ``previously_messaged`` the recipient rules in force for this message
        may read (only those re-checked before each batch, if asked). ``None``: every
        recipient's, as a rule of your own might read it. Otherwise the consent sources
        of the recipients isobil's own rules read it of (for a commercial message
        without the legacy notice: HS_2015), often none; the lookup skips the rest."""
        sources: set[ConsentSource] = set()
        for rule in self.active(Scope.RECIPIENT, facts.as_of, recheck_only=recheck_only):
            if rule.check not in _BUILT_IN_CHECKS:
                return None
            reads = HISTORY_READERS.get(rule.check)
            if reads is not None:
                sources |= reads(facts)
        return frozenset(sources)

    def check_message(self, facts: MessageFacts) -> list[Finding]:
        """Every message-level finding."""
        return _run(self.active(Scope.MESSAGE, facts.as_of), facts, None)

    def check_recipient(self, facts: MessageFacts, recipient: RecipientFacts) -> list[Finding]:
        """Every finding about one recipient of the message."""
        return _run(self.active(Scope.RECIPIENT, facts.as_of), facts, recipient)


def _run(rules: list[Rule], facts: MessageFacts, recipient: RecipientFacts | None) -> list[Finding]:
    findings = []
    number = recipient.number if recipient is not None else None
    for rule in rules:
        problem = rule.check(facts, recipient)
        if problem is not None:
            findings.append(_finding(rule, problem, number))
    return findings


#: The checks of isobil's own rules: pure functions of the facts that read a
#: recipient's attributes and nothing else of it (no isinstance, no evolve).
_BUILT_IN_CHECKS = frozenset(rule.check for rule in DEFAULT_RULES)
#: The recipient attributes recipients are grouped by: not the number, date
#: or proof, which are each recipient's own (a check reading one runs per recipient).
_SHARED = (
    "recipient_type",
    "consent",
    "consent_source",
    "iys",
    "blacklisted",
    "previously_messaged",
    "missing_fields",
)
_SHARED_SET = frozenset(_SHARED)
_shared_of = operator.attrgetter(*_SHARED)
#: A verdict to be found for each recipient: its check runs for every one.
_EACH = object()


class _Reads:
    """A recipient's facts that note which attributes a check reads."""

    __slots__ = ("_facts", "read")

    def __init__(self, facts: RecipientFacts) -> None:
        self._facts = facts
        self.read: set[str] = set()

    def __getattr__(self, name: str) -> object:
        self.read.add(name)
        return getattr(self._facts, name)


class _Verdicts:
    """The recipient rules' verdicts, shared by recipients alike in what they read.

    A built-in check is pure: run on one recipient, it gives the same answer for
    every recipient with equal values of the attributes it read (it takes the
    same path). So for each combination of the _SHARED attributes it runs once,
    noting what it reads; if that is only _SHARED attributes its answer holds
    for every recipient of the combination, else (and for rules of your own)
    it runs for each recipient.
    """

    def __init__(self, rules: list[Rule], facts: MessageFacts) -> None:
        self._rules = rules
        self._facts = facts
        self._plans: dict[tuple[object, ...], list[tuple[Rule, object]]] = {}

    def of(self, recipient: RecipientFacts) -> list[tuple[Rule, object]]:
        """Each rule that may find something, with its finding (or ``_EACH``), in order."""
        key = _shared_of(recipient)
        try:
            plan = self._plans.get(key)
        except TypeError:  # a value that cannot be a key (a list of missing fields)
            return self._plan(recipient)
        if plan is None:
            plan = self._plans[key] = self._plan(recipient)
        return plan

    def _plan(self, recipient: RecipientFacts) -> list[tuple[Rule, object]]:
        plan: list[tuple[Rule, object]] = []
        for rule in self._rules:
            if rule.check not in _BUILT_IN_CHECKS:
                plan.append((rule, _EACH))
                continue
            probe = _Reads(recipient)
            problem = rule.check(self._facts, cast(RecipientFacts, probe))
            if not probe.read <= _SHARED_SET:
                plan.append((rule, _EACH))
            elif problem is not None:
                plan.append((rule, problem))
        return plan


def _finding(rule: Rule, problem: str, number: str | None) -> Finding:
    return Finding(
        rule.id, rule.severity, problem, rule.citation, rule.confidence, number, rule.fix
    )


def _how_many(values: Sized) -> str:
    return f"<{len(values)}>"


@attrs.frozen
class PreflightReport:
    """What would happen if the message were sent, and why.

    ``allowed`` are the numbers it may go to; ``blocked`` maps each other number
    to the ids of the rules that stop it; ``findings`` are the message-level
    findings; ``recipient_findings`` every per-recipient finding (warnings too).
    ``credits`` is the SMS parts the allowed messages cost. ``refused`` says
    whether the message as a whole may not go (an error, or a warning that was
    not acknowledged, at message level).
    """

    # The per-recipient fields show as counts in the repr: numbers stay out of logs,
    # and a report of 100,000 recipients stays readable.
    as_of: date
    allowed: tuple[str, ...] = attrs.field(repr=_how_many)
    blocked: Mapping[str, tuple[str, ...]] = attrs.field(repr=_how_many)
    findings: tuple[Finding, ...]
    recipient_findings: tuple[Finding, ...] = attrs.field(repr=_how_many)
    credits: int
    exposure: Exposure
    acknowledged: frozenset[str] = frozenset()
    disabled: Mapping[str, str] = attrs.field(factory=dict)
    invalid: Mapping[str, str] = attrs.field(factory=dict, repr=_how_many)

    @property
    def refused(self) -> bool:
        """Whether a message-level error (or unacknowledged warning) stops the whole send."""
        return any(_stops(f, self.acknowledged) for f in self.findings)

    @property
    def errors(self) -> tuple[Finding, ...]:
        """Message-level findings that stop the send."""
        return tuple(f for f in self.findings if _stops(f, self.acknowledged))

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready form of the whole report."""
        return {
            "as_of": self.as_of.isoformat(),
            "refused": self.refused,
            "allowed": list(self.allowed),
            "blocked": {n: list(ids) for n, ids in self.blocked.items()},
            "invalid": dict(self.invalid),
            "findings": [f.to_dict() for f in self.findings],
            "recipient_findings": [f.to_dict() for f in self.recipient_findings],
            "credits": self.credits,
            "exposure": {
                "year": self.exposure.year,
                "minimum_tl": self.exposure.minimum,
                "maximum_tl": self.exposure.maximum,
                "kinds": [k.value for k in self.exposure.kinds],
                "note": self.exposure.note,
            },
            "acknowledged": sorted(self.acknowledged),
            "disabled": dict(self.disabled),
        }

    def __str__(self) -> str:
        verdict = "REFUSED" if self.refused else "ok to send"
        lines = [
            f"preflight as of {self.as_of}: {verdict} — {len(self.allowed)} allowed, "
            f"{len(self.blocked)} blocked, {len(self.invalid)} invalid, {self.credits} credit(s)",
        ]
        for f in self.findings:
            mark = "acknowledged " if f.rule_id in self.acknowledged else ""
            lines.append(
                f"  {mark}{f.severity.value.upper()} {f.rule_id}: {f.message} "
                f"[{f.citation}, {f.confidence.value}]"
            )
        by_rule: dict[str, int] = {}
        for ids in self.blocked.values():
            for rule_id in ids:
                by_rule[rule_id] = by_rule.get(rule_id, 0) + 1
        for rule_id, count in sorted(by_rule.items()):
            lines.append(f"  blocked by {rule_id}: {count} recipient(s)")
        for rule_id, reason in self.disabled.items():
            lines.append(f"  disabled {rule_id}: {reason}")
        lines.append(f"  exposure: {self.exposure}")
        return "\n".join(lines)


def _stops(finding: Finding, acknowledged: frozenset[str]) -> bool:
    if finding.severity is Severity.ERROR:
        return True
    return finding.severity is Severity.WARNING and finding.rule_id not in acknowledged


def preflight(
    rules: RuleSet,
    facts: MessageFacts,
    recipients: Iterable[RecipientFacts],
    *,
    parts: Callable[[str], int],
    acknowledge: Iterable[str] = (),
    invalid: Mapping[str, str] | None = None,
    rendered: Callable[[str], MessageFacts | None] | None = None,
    recheck_only: bool = False,
) -> PreflightReport:
    """Check a message and each recipient; return the report (all findings, no early exit).

    ``parts`` gives the SMS parts of the text for one recipient (by number) so
    personalised messages are costed per rendered text. ``rendered`` gives, for a
    recipient whose personalised text must be checked on its own (its values
    could change a verdict), the facts of that text: the message rules run on
    it and what they find beyond the template's findings counts for that
    recipient. ``recheck_only`` runs only the recipient rules whose verdict can
    change after queueing (at dispatch), and no message rules.
    """
    acknowledged = frozenset(acknowledge)
    for rule_id in acknowledged:
        rules.get(rule_id)
    message_findings = [] if recheck_only else rules.check_message(facts)
    recipient_rules = rules.active(Scope.RECIPIENT, facts.as_of, recheck_only=recheck_only)
    allowed: list[str] = []
    blocked: dict[str, tuple[str, ...]] = {}
    per_recipient: list[Finding] = []
    credits = 0
    message_rules = rules.active(Scope.MESSAGE, facts.as_of)
    template_ids = {f.rule_id for f in message_findings}
    # The loop runs once per recipient of an audience of any size: recipients
    # alike in what the built-in checks read share their verdicts (_Verdicts).
    verdicts = _Verdicts(recipient_rules, facts)
    for recipient in recipients:
        found: list[Finding] | None = None
        for rule, problem in verdicts.of(recipient):
            if problem is _EACH:
                problem = rule.check(facts, recipient)
            if problem is not None:
                finding = _finding(rule, cast(str, problem), recipient.number)
                if found is None:
                    found = [finding]
                else:
                    found.append(finding)
        own = rendered(recipient.number) if rendered is not None else None
        if own is not None:
            extra = [
                attrs.evolve(f, recipient=recipient.number)
                for f in _run(message_rules, own, None)
                if f.rule_id not in template_ids
            ]
            if extra:
                found = [*(found or ()), *extra]
        if found:
            per_recipient.extend(found)
            stopping = tuple(f.rule_id for f in found if _stops(f, acknowledged))
            if stopping:
                blocked[recipient.number] = stopping
                continue
        allowed.append(recipient.number)
        credits += parts(recipient.number)
    return PreflightReport(
        as_of=facts.as_of,
        allowed=tuple(allowed),
        blocked=blocked,
        findings=tuple(message_findings),
        recipient_findings=tuple(per_recipient),
        credits=credits,
        exposure=exposure(
            [*message_findings, *per_recipient],
            year=facts.as_of.year,
            audience=len(allowed) + len(blocked),
        ),
        acknowledged=acknowledged,
        disabled=rules.disabled,
        invalid=dict(invalid or {}),
    )


def rules_markdown(rules: RuleSet | None = None) -> str:
    """The rule table of docs/rules.md: id, R-id, title, severity, citation, confidence, dates."""
    rules = rules or RuleSet()
    lines = [
        "| id | spec | title | severity | scope | citation | confidence | fine bracket "
        "| in force |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rules.rules:
        since = r.valid_from.isoformat() if r.valid_from else "always"
        until = f" – {r.valid_to.isoformat()}" if r.valid_to else ""
        bracket = _bracket(r)
        lines.append(
            f"| {r.id} | {r.r_id} | {r.title} | {r.severity.value} | {r.scope.value} | "
            f"{r.citation} | {r.confidence.value} | {bracket} | from {since}{until} |"
        )
    lines.append("")
    for r in rules.rules:
        lines.append(f"### {r.id} — {r.title}")
        lines.append("")
        lines.append(f"*{r.citation}* [{r.confidence.value}]: {r.citation.summary}")
        lines.append("")
        lines.append(f"Fine bracket: {_bracket(r)}.")
        if r.fix:
            lines.append("")
            lines.append(f"Fix: {r.fix}")
        lines.append("")
    return "\n".join(lines)


def _bracket(rule: Rule) -> str:
    kind = RULE_PENALTIES.get(rule.id)
    if kind is None or rule.severity is Severity.INFO:
        return "none"
    low, high = PENALTY_TABLE[max(PENALTY_TABLE)][kind]
    return f"{kind.value} ({max(PENALTY_TABLE)}: {low:,}–{high:,} TL)"
