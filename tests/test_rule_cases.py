"""Every rule's pass and fail cases, from the data files in tests/rule_cases/."""

from __future__ import annotations

import time as clock
import tomllib
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest

from isobil import Client
from isobil.model import (
    Brand,
    ConsentEvent,
    ConsentSource,
    ConsentStatus,
    Message,
    RecipientType,
    Sender,
)
from isobil.rules import (
    IysRegistration,
    MessageFacts,
    RecipientFacts,
    RulesConfig,
    RuleSet,
)
from isobil.storage import BlacklistEntry, IysSync, IysSyncStatus, MemoryStorage
from isobil.transport import FakeTransport

CASES = Path(__file__).parent / "rule_cases"
RULES = RuleSet()
NUMBER = "+905321234567"
ISTANBUL = ZoneInfo("Europe/Istanbul")

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
#: The proof a web form keeps (Reg. art. 7): who, what they said, not pre-ticked, not forced.
FULL_PROOF = {
    "name": "Ayşe Yılmaz",
    "statement": "ACME'den kampanya SMS'i almak istiyorum",
    "pre_ticked": "no",
    "condition_of_sale": "no",
    "form": "f-1",
    "ip": "203.0.113.7",
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
    "evidence": FULL_PROOF,
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


def _aware(value: datetime | date) -> datetime:
    if not isinstance(value, datetime):
        return datetime.combine(value, time(12), tzinfo=ISTANBUL)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _brand(value: str | dict[str, Any]) -> Brand:
    return Brand(value) if isinstance(value, str) else Brand(**value)


def _sender(values: dict[str, Any]) -> Sender:
    s = _none_if_empty(values)
    brands = [_brand(b) for b in s.pop("brands")]
    advertisers = [
        Sender(brands=[_brand(b) for b in a.pop("brands")], **a) for a in s.pop("advertisers", [])
    ]
    return Sender(brands=brands, advertisers=advertisers, **s)


def _day_end(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=ISTANBUL)


def _situation(case: dict[str, Any]) -> tuple[MessageFacts, RecipientFacts]:
    sender = _sender({**BASE_SENDER, **case.get("sender", {})})
    m = _none_if_empty({**BASE_MESSAGE, **case.get("message", {})})
    message = Message(**m)
    r = _none_if_empty({**BASE_RECIPIENT, **case.get("recipient", {})})
    consent = None if r["consent"] is None else ConsentStatus(r["consent"])
    recipient = RecipientFacts(
        NUMBER,
        recipient_type=RecipientType(r["type"]),
        consent=consent,
        consent_source=None if consent is None else ConsentSource(r["consent_source"]),
        consent_date=None if consent is None else _aware(r["consent_date"]),
        iys=IysRegistration(r["iys"]),
        blacklisted=r["blacklisted"],
        previously_messaged=r["previously_messaged"],
        missing_fields=tuple(r["missing_fields"]),
        consent_evidence=r["evidence"] or {},
    )
    as_of = case.get("as_of", date(2025, 6, 1))
    facts = MessageFacts(
        sender,
        message,
        as_of,
        RulesConfig(),
        iys_pulled_at=_pulled_at(case, as_of),
        checked_at=_day_end(as_of) - timedelta(hours=1),
    )
    return facts, recipient


def _pulled_at(case: dict[str, Any], as_of: date) -> datetime | None:
    """When İYS was last pulled: ``iys_pulled_hours_ago`` before the check (default 2 h)."""
    hours = case.get("iys_pulled_hours_ago", 2)
    if hours == "never":
        return None
    return _day_end(as_of) - timedelta(hours=1 + hours)


def _through_client(case: dict[str, Any]) -> list[str]:
    """Judge a case with a dated history the way a user would: through Client.check."""
    sender = _sender({**BASE_SENDER, **case.get("sender", {})})
    storage = MemoryStorage()
    with Client(sender, storage=storage, transport=FakeTransport()) as client:
        as_of: date = case["as_of"]
        for entry in case["history"]:
            at = _aware(entry["date"])
            if entry.get("blacklisted"):
                storage.add_to_blacklist([BlacklistEntry(NUMBER, "RET", at)])
                continue
            [stored] = client.consent.append(
                [
                    ConsentEvent(
                        address=NUMBER,
                        status=entry["status"],
                        source=entry.get("source", "HS_WEB"),
                        brand=entry.get("brand", "ACME"),
                        consent_date=at,
                        recorded_at=at,
                        evidence=entry.get("evidence", FULL_PROOF),
                    )
                ]
            )
            if "iys" in entry:
                synced = _aware(entry.get("iys_date", entry["date"]))
                status = IysSyncStatus(entry["iys"])
                storage.set_iys_sync([IysSync(stored.seq or 0, status, synced)])
        pulled = _pulled_at(case, as_of)
        if pulled is not None:
            for brand in {b.code for a in (sender, *sender.advertisers) for b in a.brands}:
                storage.set_state(f"iys.pulled_at.{brand}", pulled.isoformat())
        m = _none_if_empty({**BASE_MESSAGE, **case.get("message", {})})
        report = client.check(Message(**m), NUMBER, as_of=as_of)
        return [f.rule_id for f in (*report.findings, *report.recipient_findings)]


def _findings(case: dict[str, Any]) -> list[Any]:
    facts, recipient = _situation(case)
    return [*RULES.check_message(facts), *RULES.check_recipient(facts, recipient)]


@pytest.mark.parametrize(("rule_id", "case"), _load())
def test_rule_case(rule_id: str, case: dict[str, Any]) -> None:
    """The situation produces exactly the expected findings, citing the expected article."""
    if "history" in case:
        found = _through_client(case)
    else:
        findings = _findings(case)
        found = [f.rule_id for f in findings]
        if "citation" in case:
            cited = {str(f.citation) for f in findings if f.rule_id == rule_id}
            assert cited == {case["citation"]}
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


@pytest.mark.parametrize("zone", ["UTC", "Asia/Tokyo", "America/New_York"])
def test_a_naive_consent_date_is_a_turkish_date_on_every_machine(
    zone: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A naive consent date (a ``RecipientFacts`` built by hand) is taken as Turkish time,
    not as the machine's: the legacy cutoff and an opt-out's date read the same anywhere."""
    monkeypatch.setenv("TZ", zone)
    clock.tzset()
    try:
        facts, recipient = _situation(
            {"as_of": date(2019, 6, 1), "recipient": {"consent_source": "HS_2015"}}
        )
        found = {
            day: [
                f.rule_id
                for f in RULES.check_recipient(
                    facts, attrs.evolve(recipient, consent_date=datetime(2015, *day))
                )
            ]
            for day in ((4, 30, 23, 0), (5, 1, 0, 30))
        }
        assert found == {(4, 30, 23, 0): [], (5, 1, 0, 30): ["TR-LEGACY-003"]}
        opted_out = attrs.evolve(
            recipient, consent=ConsentStatus.RET, consent_date=datetime(2024, 1, 9, 23, 30)
        )
        [finding] = RULES.check_recipient(facts, opted_out)
        assert finding.message.endswith("on 2024-01-09")
    finally:
        monkeypatch.undo()
        clock.tzset()
