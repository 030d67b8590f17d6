"""The consent report: counts by day, brand, number, keyword and source; unknown texts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from isobil import Brand, Client, FakeTransport, Sender
from isobil.consent import ConsentReportRow, consent_report


def test_report_counts_sms_and_api_consent(tmp_path: Path) -> None:
    """Inbound opt-ins/outs and API-recorded consent are counted; unknown texts listed."""
    fake = FakeTransport()
    sender = Sender(name="Acme", brands=[Brand("ACME")], short_number="4605")
    client = Client(sender, transport=fake)
    fake.receive("05321234567", "4605", "ACME")
    fake.receive("05331234567", "4605", "acme")
    fake.receive("05321234567", "4605", "ACME RET")
    fake.receive("05341234567", "4605", "kampanya ne zaman?")
    client.consent.record(
        "05351234567",
        "ONAY",
        source="HS_ISLAK_IMZA",
        brand="ACME",
        consent_date=datetime(2026, 1, 5, 21, 30, tzinfo=UTC),  # 6 Jan in Istanbul
    )
    report = consent_report(client.storage)
    today = datetime.now(ZoneInfo("Europe/Istanbul")).date()
    assert report.rows == (
        ConsentReportRow(date(2026, 1, 6), "ACME", "ONAY", "HS_ISLAK_IMZA", "", "", 1),
        ConsentReportRow(today, "ACME", "ONAY", "HS_MESAJ", "4605", "acme", 2),
        ConsentReportRow(today, "ACME", "RET", "HS_MESAJ", "4605", "ret", 1),
    )
    assert (report.total("ONAY"), report.total("RET"), report.total(brand="ZETA")) == (3, 1, 0)
    assert [u.text for u in report.unknown] == ["kampanya ne zaman?"]
    assert "3 opt-in(s), 1 opt-out(s), 1 unknown text(s)" in str(report)
    assert "1234567" not in str(report)

    report.to_csv(tmp_path / "consent.csv")
    lines = (tmp_path / "consent.csv").read_text("utf-8-sig").splitlines()
    assert lines[0] == "day,brand,status,source,number,keyword,count"
    assert lines[1] == "2026-01-06,ACME,ONAY,HS_ISLAK_IMZA,,,1"
    unknown = (tmp_path / "consent-unknown.csv").read_text("utf-8-sig").splitlines()
    assert unknown[1].endswith(",+905341234567,4605,kampanya ne zaman?")

    report.to_xlsx(tmp_path / "consent.xlsx")
    book = load_workbook(tmp_path / "consent.xlsx", read_only=True)
    assert book.sheetnames == ["consent", "unknown texts"]
    rows = list(book["consent"].iter_rows(values_only=True))
    assert rows[0] == ("day", "brand", "status", "source", "number", "keyword", "count")
    assert len(rows) == 4
