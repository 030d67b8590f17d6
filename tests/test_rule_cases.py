"""Every rule's pass and fail cases, from the data files in tests/rule_cases/."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from isobil.model import Brand, ConsentSource, ConsentStatus, Message, RecipientType, Sender
from isobil.rules import (
    IysRegistration,
    MessageFacts,
    RecipientFacts,
    RulesConfig,
    RuleSet,
)

CASES = Path(__file__).parent / "rule_cases"
RULES = RuleSet()

BASE_SENDER: dict[str, Any] = {
    "name": "Acme Ticaret A.Ş.",
    "mersis": "0123456789012345",
    "contact": "0850 123 45 67",
    "originator": "ACME",
    "brands": ["ACME"],
    "short_number": "4605",
}
BASE_MESSAGE: dict[str, Any] = {
    "text": (
        "KAMPANYA: Yeni sezon ürünleri acme.com.tr/yeni Ret için ACME RET yazıp 4605'e gönderin."
    ),
    "category": "commercial",
    "brand": "ACME",
}
BASE_RECIPIENT: dict[str, Any] = {
    "type": "BIREYSEL",
    "consent": "ONAY",
    "consent_source": "HS_WEB",
    "consent_date": datetime(2024, 1, 10, 9, 0, tzinfo=UTC),
    "iys": "registered",
    "blacklisted": False,
    "previously_messaged": True,
    "missing_fields": [],
}


def _none_if_empty(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if v == "" else v) for k, v in values.items()}


def _load() -> list[Any]:
    params = []
    for path in sorted(CASES.glob("*.toml")):
        data = tomllib.loads(path.read_text("utf-8"))
        for case in data["case"]:
            params.append(pytest.param(data["rule"], case, id=f"{data['rule']}: {case['name']}"))
    return params


def _situation(case: dict[str, Any]) -> tuple[MessageFacts, RecipientFacts]:
    s = _none_if_empty({**BASE_SENDER, **case.get("sender", {})})
    brands = [Brand(code) for code in s.pop("brands")]
    sender = Sender(brands=brands, **s)
    m = _none_if_empty({**BASE_MESSAGE, **case.get("message", {})})
    message = Message(m["text"], category=m["category"], brand=m["brand"])
    r = _none_if_empty({**BASE_RECIPIENT, **case.get("recipient", {})})
    consent_date = r["consent_date"]
    if isinstance(consent_date, datetime) and consent_date.tzinfo is None:
        consent_date = consent_date.replace(tzinfo=UTC)
    recipient = RecipientFacts(
        "+905321234567",
        recipient_type=RecipientType(r["type"]),
        consent=None if r["consent"] is None else ConsentStatus(r["consent"]),
        consent_source=None if r["consent"] is None else ConsentSource(r["consent_source"]),
        consent_date=None if r["consent"] is None else consent_date,
        iys=IysRegistration(r["iys"]),
        blacklisted=r["blacklisted"],
        previously_messaged=r["previously_messaged"],
        missing_fields=tuple(r["missing_fields"]),
    )
    as_of = case.get("as_of", date(2025, 6, 1))
    return MessageFacts(sender, message, as_of, RulesConfig()), recipient


@pytest.mark.parametrize(("rule_id", "case"), _load())
def test_rule_case(rule_id: str, case: dict[str, Any]) -> None:
    """The situation produces exactly the expected findings."""
    facts, recipient = _situation(case)
    found = [f.rule_id for f in RULES.check_message(facts)]
    found += [f.rule_id for f in RULES.check_recipient(facts, recipient)]
    assert sorted(case["expect"]) == sorted(found)


def test_every_rule_has_a_pass_and_a_fail_case() -> None:
    """Each registered rule has a case file with at least one passing and one failing case."""
    covered: dict[str, tuple[bool, bool]] = {}
    for path in CASES.glob("*.toml"):
        data = tomllib.loads(path.read_text("utf-8"))
        rule = data["rule"]
        fails = any(rule in c["expect"] for c in data["case"])
        passes = any(rule not in c["expect"] for c in data["case"])
        covered[rule] = (passes, fails)
    assert {r.id: (True, True) for r in RULES.rules} == covered


def test_every_spec_rule_id_is_covered() -> None:
    """SPEC §2's R-ids all have at least one rule."""
    spec = {"R-EXEMPT", "R-NOCONSENT", "R-CONSENT", "R-CONTENT", "R-OPTOUT", "R-LEGACY"}
    assert spec <= {r.r_id for r in RULES.rules}
