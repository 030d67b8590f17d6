"""The credit and compliance reports (F22): objects, CSV, .xlsx and the command line."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _acme import ACME, IYS_NOT_WIRED
from isobil import Client, FakeTransport, Message
from isobil.errors import InvalidValue
from isobil.storage import CreditKind
from isobil.storage._records import _RULE_ID_SHAPE, reason_rule_ids, reason_text

OFFER = Message(
    "KAMPANYA: yeni sezon acme.com.tr Ret için ACME RET yazıp 4605'e gönderin.", brand="ACME"
)
NOTICE = Message("Siparişiniz kargoya verildi.", category="informational")
CONSENTING, OPTED_OUT, UNASKED = "+905321110001", "+905321110002", "+905321110003"


@pytest.fixture
def fake() -> FakeTransport:
    return FakeTransport()


@pytest.fixture
def client(fake: FakeTransport) -> Client:
    return Client(ACME, transport=fake, prepaid=True)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as file:
        return list(csv.DictReader(file))


def sheets(path: Path) -> dict[str, list[tuple[object, ...]]]:
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        return {ws.title: [tuple(row) for row in ws.iter_rows(values_only=True)] for ws in book}
    finally:
        book.close()


def test_credit_report_totals_and_running_balance(
    client: Client, fake: FakeTransport, tmp_path: Path
) -> None:
    """Top-up, reservation and refund: totals by kind and campaign, a running sum per entry."""
    client.credits.top_up(100, note="fatura 118")
    result = client.send(NOTICE, to=["05321234567", "05331234567", "05341234567"])
    fake.deliver(fake.sent[0].message_id, "undelivered", error_code="027")
    report = client.reports.credits()
    assert report.balance == 98
    assert (report.total("top_up"), report.total(CreditKind.RESERVE)) == (100, -3)
    assert report.total(CreditKind.REFUND) == 1
    assert dict(report.by_campaign) == {result.campaign_id: 2}

    report.to_csv(tmp_path / "credits.csv")
    rows = read_csv(tmp_path / "credits.csv")
    assert [(r["kind"], r["amount"], r["running"]) for r in rows] == [
        ("top_up", "100", "100"),
        ("reserve", "-3", "97"),
        ("refund", "1", "98"),
    ]
    assert rows[0]["note"] == "fatura 118"
    refunded = [o.message_id for o in result.outcomes if o.number == fake.sent[0].to]
    assert [rows[2]["message_id"]] == refunded
    assert datetime.fromisoformat(rows[0]["at"]).utcoffset() == timedelta(hours=3)

    report.to_xlsx(tmp_path / "credits.xlsx")
    book = sheets(tmp_path / "credits.xlsx")
    assert ("balance", None, 98) in book["summary"]
    assert ("campaign", result.campaign_id, 2) in book["summary"]
    assert [row[3] for row in book["entries"][1:]] == [100, 97, 98]

    one = client.reports.credits(campaign_id=result.campaign_id)
    assert ([e.kind for e in one.entries], one.balance) == (
        [CreditKind.RESERVE, CreditKind.REFUND],
        98,
    )
    assert str(report).splitlines()[:4] == [
        "balance: 98 credit(s)",
        "  top_up         +100",
        "  reserve          -3",
        "  refund           +1",
    ]


def test_compliance_report_names_who_was_stopped_and_why(
    client: Client, fake: FakeTransport, tmp_path: Path
) -> None:
    """Blocked at queueing and at dispatch, each with its rules and their citations."""
    client.credits.top_up(50)
    client.consent.record(CONSENTING, "ONAY", source="HS_ISLAK_IMZA", brand="ACME")
    client.consent.record(OPTED_OUT, "ONAY", source="HS_ISLAK_IMZA", brand="ACME")
    client.consent.record(OPTED_OUT, "RET", source="HS_ISLAK_IMZA", brand="ACME")
    at = datetime.now(UTC) + timedelta(minutes=5)
    result = client.send(
        OFFER, to=[CONSENTING, OPTED_OUT, UNASKED], at=at, acknowledge=IYS_NOT_WIRED
    )
    fake.receive(CONSENTING, "4605", "ACME RET")  # opts out after queueing
    client.dispatch(now=at + timedelta(seconds=1))
    client.send(NOTICE, to=["05321234567"])  # a second campaign, nothing blocked

    report = client.reports.compliance(result.campaign_id)
    [campaign] = report.campaigns
    assert (campaign.messages, campaign.blocked) == (3, 3)
    assert campaign.acknowledged == IYS_NOT_WIRED
    blocked = {b.to: b.rule_ids for b in report.blocked}
    assert blocked[OPTED_OUT] == blocked[CONSENTING] == ("TR-OPTOUT-001",)
    assert blocked[UNASKED] == ("TR-CONSENT-001",)  # no consent on record
    assert report.by_rule["TR-OPTOUT-001"] == 2
    assert set(report.citations) == set(report.by_rule)
    assert all("6563" in c or "29417" in c for c in report.citations.values())

    report.to_csv(tmp_path / "blocked.csv")
    rows = {r["number"]: r for r in read_csv(tmp_path / "blocked.csv")}
    assert set(rows) == {CONSENTING, OPTED_OUT, UNASKED}
    assert rows[OPTED_OUT]["rule_ids"] == "TR-OPTOUT-001"
    assert rows[OPTED_OUT]["citations"] == report.citations["TR-OPTOUT-001"]
    assert rows[OPTED_OUT]["reason"].startswith("TR-OPTOUT-001: ")

    report.to_xlsx(tmp_path / "compliance.xlsx")
    book = sheets(tmp_path / "compliance.xlsx")
    assert list(book) == ["campaigns", "rules", "blocked"]
    assert ("TR-OPTOUT-001", 2, report.citations["TR-OPTOUT-001"]) in book["rules"]
    assert len(book["blocked"]) == 1 + 3

    everything = client.reports.compliance()
    # the offer, the auto reply to the RET (a campaign of its own), the notice
    assert [c.blocked for c in everything.campaigns] == [3, 0, 0]
    assert client.reports.compliance(since=at).campaigns == ()
    assert "3 blocked" in str(everything)


def test_compliance_report_of_an_unknown_campaign_is_a_clear_error(client: Client) -> None:
    with pytest.raises(ValueError, match="no campaign with id 'nope'"):
        client.reports.compliance("nope")


def test_report_arguments_are_checked(client: Client) -> None:
    """Unknown campaigns, naive times, a campaign and a period at once: clear errors."""
    with pytest.raises(InvalidValue, match="no campaign with id 'nope'"):
        client.reports.credits(campaign_id="nope")
    with pytest.raises(InvalidValue, match="timezone-aware"):
        client.reports.compliance(since=datetime(2026, 1, 1))
    with pytest.raises(InvalidValue, match="timezone-aware"):
        client.reports.consent(until=datetime(2026, 1, 1))
    client.credits.top_up(1)
    result = client.send(NOTICE, to=["05321234567"])
    with pytest.raises(InvalidValue, match="not both"):
        client.reports.compliance(result.campaign_id, since=datetime.now(UTC))
    with pytest.raises(InvalidValue, match="no credit kind 'bogus'"):
        client.reports.credits().total("bogus")


@pytest.mark.parametrize(
    ("reason", "ids"),
    [
        ("TR-OPTOUT-001: the recipient opted out (RET)", ("TR-OPTOUT-001",)),
        # a rule this client does not know (custom, or since removed) still counts
        (
            "ACME-CUSTOM-001: custom check; TR-CONSENT-001: no consent",
            ("ACME-CUSTOM-001", "TR-CONSENT-001"),
        ),
        ("acme.rule: lower-case ids count when they come first", ("acme.rule",)),
        (
            "TR-CONSENT-001: no consent; my_rule: mine; my_rule: again",
            ("TR-CONSENT-001", "my_rule"),
        ),
        # "; word: " inside a message is not another rule
        ("TR-CONSENT-001: no consent; note: see İYS", ("TR-CONSENT-001",)),
        (
            "TR-LEGACY-001: must come from before 2015-05-01; this one is dated 2016-01-01",
            ("TR-LEGACY-001",),
        ),
        # how earlier versions stored an opt-out caught as the message was leaving
        ("TR-OPTOUT-001 the recipient opted out as it was leaving", ("TR-OPTOUT-001",)),
        # ... which is read only as a whole reason, not inside a rule's message
        ("TR-CONSENT-001: no consent; TR-OPTOUT-001 was noted", ("TR-CONSENT-001",)),
        ("the recipient asked", ()),
        ("", ()),
        (None, ()),
    ],
)
def test_rule_ids_are_read_back_from_stored_reasons(
    reason: str | None, ids: tuple[str, ...]
) -> None:
    assert reason_rule_ids(reason, {"TR-CONSENT-001", "my_rule"}) == ids


RULE_IDS = st.from_regex(r"[A-Z]{2,6}(-[A-Z0-9]{1,4}){1,3}", fullmatch=True)
#: A piece of a rule's message: any text without the separator of two rules, and not
#: starting as another rule would ("TR-X-1: ...") ...
PIECES = st.text(st.characters(blacklist_categories=["Cs"]), max_size=30).filter(
    lambda piece: "; " not in piece and not _RULE_ID_SHAPE.fullmatch(piece.partition(": ")[0])
)
#: ... and a message of such pieces, "; " between them (isobil's own messages have some).
WHYS = st.lists(PIECES, max_size=3).map("; ".join)


@given(st.lists(st.tuples(RULE_IDS, WHYS), min_size=1, max_size=6))
@settings(deadline=None)
def test_a_reason_written_as_the_client_writes_it_reads_back_its_rules(
    findings: list[tuple[str, str]],
) -> None:
    """However the rules' messages read, the ids come back in order, each once."""
    reason = reason_text(findings)
    assert reason_rule_ids(reason) == tuple(dict.fromkeys(rule_id for rule_id, _ in findings))
