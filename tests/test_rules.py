"""The rule engine: the registry, preflight scenarios, penalties and the rules page."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from isobil import (
    Brand,
    Client,
    ComplianceError,
    InvalidValue,
    Message,
    OutcomeStatus,
    Recipient,
    Sender,
)
from isobil.consent import FakeIysGateway, IysSynchronizer
from isobil.rules import (
    PENALTY_TABLE,
    Citation,
    Confidence,
    Finding,
    MessageFacts,
    PenaltyKind,
    RecipientFacts,
    Rule,
    RulesConfig,
    RuleSet,
    Scope,
    Severity,
    exposure,
    rules_markdown,
)
from isobil.storage import IysSync, IysSyncStatus

ROOT = Path(__file__).resolve().parents[1]
OFFER = Message(
    "KAMPANYA: Yeni sezonda %20 indirim! acme.com.tr/k Ret için ACME RET yazıp 4605'e gönderin.",
    brand="ACME",
)


@pytest.fixture
def client() -> Client:
    sender = Sender(
        name="Acme Ticaret A.Ş.",
        mersis="0123456789012345",
        contact="0850 123 45 67",
        originator="ACME",
        brands=[Brand("ACME")],
        short_number="4605",
    )
    return Client(sender)


def _register(client: Client, number: str) -> None:
    """Mark the number's latest consent as registered in İYS."""
    [event] = client.consent.history(number)[-1:]
    assert event.seq is not None
    client.storage.set_iys_sync([IysSync(event.seq, IysSyncStatus.REGISTERED, event.recorded_at)])


def test_docs_rules_page_lists_every_rule() -> None:
    """docs/rules.md carries the generated table of the registry, unchanged."""
    page = (ROOT / "docs" / "rules.md").read_text("utf-8")
    generated = re.search(r"<!-- rules:begin -->\n(.*)<!-- rules:end -->", page, re.S)
    assert generated is not None
    assert rules_markdown() == generated.group(1)


def test_commercial_to_individual_without_consent_is_blocked(client: Client) -> None:
    """No consent → blocked with TR-CONSENT-001; the send records it as blocked."""
    result = client.send(OFFER, to=["05321234567"])
    assert [o.status for o in result.outcomes] == [OutcomeStatus.BLOCKED]
    assert result.outcomes[0].rule_ids == ("TR-CONSENT-001",)
    assert client.transport.sent == []  # type: ignore[attr-defined]


def test_tacir_allowed_until_opt_out(client: Client) -> None:
    """A merchant gets commercial messages without consent, until they send RET."""
    tacir = [Recipient("05321234567", recipient_type="TACIR")]
    first = client.send(OFFER, to=tacir)
    assert [o.status for o in first.outcomes] == [OutcomeStatus.SUBMITTED]
    client.transport.receive("05321234567", "4605", "ACME RET")  # type: ignore[attr-defined]
    second = client.send(OFFER, to=tacir)
    assert second.outcomes[0].rule_ids == ("TR-OPTOUT-001",)


def test_iys_verdict_depends_on_the_date(client: Client) -> None:
    """The same unregistered consent passes as of 2019-06-01 and warns as of 2025-06-01;
    registered and with İYS pulled, it passes today."""
    client.consent.record(
        "05321234567",
        "ONAY",
        source="HS_ISLAK_IMZA",
        brand="ACME",
        consent_date=datetime(2018, 1, 1, tzinfo=UTC),
        evidence={"name": "Ayşe Yılmaz", "statement": "SMS almak istiyorum", "document": "d-1"},
    )
    before = client.check(OFFER, to=["05321234567"], as_of=date(2019, 6, 1))
    after = client.check(OFFER, to=["05321234567"], as_of=date(2025, 6, 1))
    assert (before.allowed, dict(before.blocked)) == (("+905321234567",), {})
    assert dict(after.blocked) == {"+905321234567": ("TR-CONSENT-003", "TR-CONSENT-006")}
    unknown, stale = after.recipient_findings
    assert unknown.severity is stale.severity is Severity.WARNING
    assert "İYS sync" in (unknown.fix or "")
    assert "İYS sync" in (stale.fix or "")
    _register(client, "05321234567")
    assert dict(client.check(OFFER, to=["05321234567"]).blocked) == {
        "+905321234567": ("TR-CONSENT-006",)
    }
    IysSynchronizer(client.consent, FakeIysGateway(), brand="ACME").run()
    assert client.check(OFFER, to=["05321234567"]).allowed == ("+905321234567",)


def test_refused_send_raises_with_the_report(client: Client) -> None:
    """A message-level error refuses the whole send; the error carries the report."""
    with pytest.raises(ComplianceError) as info:
        client.send(Message("Yeni sezon %20 indirim", brand="ACME"), to=["05321234567"])
    report = info.value.report
    ids = [f.rule_id for f in report.errors]
    assert ids == ["TR-OPTOUT-002", "TR-CONTENT-004", "TR-CONTENT-005"]
    assert next(str(f.citation) for f in report.errors) == "Law 6563 art. 8(2)"
    assert "TR-OPTOUT-002" in str(info.value)


def test_acknowledged_warning_lets_the_send_go(client: Client) -> None:
    """A message warning acknowledged by id no longer refuses the send."""
    plain = Message("Yeni sezon acme.com.tr Ret için ACME RET yazıp 4605'e gönderin.", brand="ACME")
    with pytest.raises(ComplianceError, match="TR-CONTENT-004"):
        client.send(plain, to=[])
    assert client.send(plain, to=[], acknowledge=["TR-CONTENT-004"]).outcomes == ()
    with pytest.raises(InvalidValue, match="no rule 'TR-NOPE'"):
        client.send(plain, to=[], acknowledge=["TR-NOPE"])


def test_report_is_json_ready_and_readable(client: Client) -> None:
    """The report renders as text and as a JSON-ready dict with citations and exposure."""
    import json

    report = client.check(OFFER, to=["05321234567", "05331234567", "nope"])
    data = json.loads(json.dumps(report.to_dict()))
    assert data["blocked"] == {
        "+905321234567": ["TR-CONSENT-001"],
        "+905331234567": ["TR-CONSENT-001"],
    }
    assert data["invalid"] == {"'nope'": "invalid phone number 'nope': contains letters"}
    assert data["recipient_findings"][0]["citation"] == "Law 6563 art. 6(1)"
    year = datetime.now(UTC).year
    low, high = PENALTY_TABLE[min(year, 2026)][PenaltyKind.NO_CONSENT]
    assert (data["exposure"]["minimum_tl"], data["exposure"]["maximum_tl"]) == (low, high * 10)
    assert "blocked by TR-CONSENT-001: 2 recipient(s)" in str(report)


def _finding(rule_id: str, recipient: str | None = None) -> Finding:
    return Finding(
        rule_id, Severity.ERROR, "x", Citation("Law", "1", "x"), Confidence.VERIFIED, recipient
    )


def test_exposure_brackets_and_tenfold_ceiling() -> None:
    """One violation per bracket; ×10 ceiling only for unconsented sends to many."""
    one = exposure([_finding("TR-CONSENT-001", "+905321234567")], year=2026)
    assert (one.minimum, one.maximum) == (2_859, 14_309)
    many = exposure(
        [_finding("TR-CONSENT-001", f"+90532123456{i}") for i in range(3)]
        + [_finding("TR-OPTOUT-002")],
        year=2026,
    )
    assert (many.minimum, many.maximum) == (2_859 + 5_723, 143_090 + 42_930)
    assert exposure([], year=2026).maximum == 0
    old = exposure([_finding("TR-CONTENT-002")], year=2019)
    assert (old.year, old.minimum, old.maximum) == (2023, 1_000, 10_000)
    assert "no 2019 row" in old.note
    assert exposure([_finding("TR-CONTENT-002")], year=2031).year == 2026


def test_a_commercial_notice_is_a_no_consent_send_to_its_whole_audience() -> None:
    """TR-NOCONSENT-001 is a message finding: ×10 when the notice goes to more than one."""
    notice = [_finding("TR-NOCONSENT-001")]
    assert exposure(notice, year=2026, audience=1).maximum == 14_309
    assert exposure(notice, year=2026, audience=2).maximum == 143_090


def test_rule_set_add_and_disable() -> None:
    """Own rules run beside ours; disabled rules do not run and keep their reason."""

    def shouting(m: MessageFacts, r: RecipientFacts | None) -> str | None:
        return "all capitals" if m.text.isupper() else None

    own = Rule(
        id="ACME-001",
        title="No shouting",
        severity=Severity.WARNING,
        scope=Scope.MESSAGE,
        citation=Citation("Acme style guide", "3", "Write like a person."),
        confidence=Confidence.VERIFIED,
        check=shouting,
    )
    rules = RuleSet().with_rules(own).disable("TR-CONTENT-004", reason="brand first")
    facts = MessageFacts(
        None, Message("MERHABA", category="informational"), date(2025, 1, 1), RulesConfig()
    )
    assert [f.rule_id for f in rules.check_message(facts)] == ["ACME-001"]
    assert "TR-CONTENT-004" not in [r.id for r in rules.active(Scope.MESSAGE, date(2025, 1, 1))]
    with pytest.raises(InvalidValue, match="needs a reason"):
        RuleSet().disable("TR-CONTENT-004", reason=" ")
    with pytest.raises(InvalidValue, match="two rules share the id"):
        RuleSet().with_rules(own, own)
    with pytest.raises(InvalidValue, match="no rule 'TR-X'"):
        RuleSet().disable("TR-X", reason="?")


def test_rules_import_no_storage_or_transport() -> None:
    """The rules package is pure: it imports neither storage nor transport nor the client."""
    import ast

    for path in (ROOT / "src" / "isobil" / "rules").glob("*.py"):
        tree = ast.parse(path.read_text("utf-8"))
        modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not {
            m
            for m in modules
            if m.split(".")[:2]
            in (
                ["isobil", "storage"],
                ["isobil", "transport"],
                ["isobil", "client"],
                ["isobil", "consent"],
            )
        }, path


def test_reprs_mask_numbers_and_count_recipients(client: Client) -> None:
    """A report, its findings and a recipient's facts may end up in a log line: the
    numbers are masked; the per-recipient fields of a report show as counts."""
    report = client.check(OFFER, ["05321234567", "05331234567", "123"])
    assert report.blocked
    assert report.recipient_findings
    facts = RecipientFacts("+905341234567")
    shown = repr(report) + repr(report.recipient_findings) + repr(facts)
    for subscriber in ("5321234567", "5331234567", "5341234567"):
        assert subscriber not in shown
    assert "recipient=+90********67" in repr(report.recipient_findings[0])
    assert "number=+90********67" in repr(facts)
    assert "allowed=<0>, blocked=<2>" in repr(report)
    assert "invalid=<1>" in repr(report)


def test_a_day_is_judged_to_its_end_in_turkey_whatever_the_offset_was(client: Client) -> None:
    """Without a moment given, a message is judged at the end of its day in Turkey:
    midnight at UTC+2 in the winters before September 2016, at UTC+3 since."""
    for day, end in (
        (date(2015, 1, 10), datetime(2015, 1, 10, 22, 0, tzinfo=UTC)),
        (date(2025, 1, 10), datetime(2025, 1, 10, 21, 0, tzinfo=UTC)),
    ):
        facts = MessageFacts(client.sender, OFFER, day, RulesConfig())
        assert facts.checked_at.astimezone(UTC) == end
