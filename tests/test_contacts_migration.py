"""Migration from another provider: blacklists and consent histories, taken or refused."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isobil.consent import ConsentLedger
from isobil.contacts import (
    ImportFailed,
    MigrationReport,
    RowError,
    import_blacklist,
    import_consent_history,
    parse_consent_date,
)
from isobil.contacts._migration import _DATE_FORMATS, ISTANBUL
from isobil.errors import InvalidValue
from isobil.model import Channel, ConsentEvent, ConsentSource, ConsentStatus, RecipientType
from isobil.storage import MemoryStorage

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def write_csv(path: Path, rows: Sequence[Sequence[Any]], delimiter: str = ";") -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as file:
        csv.writer(file, delimiter=delimiter).writerows(rows)
    return path


def check_counts(report: MigrationReport) -> None:
    """Every data row is taken, refused, a duplicate or blank — once."""
    assert report.complete
    assert report.rows == (
        report.taken + len(report.refused) + report.duplicates + report.blank + report.skipped
    )


# -- blacklist ------------------------------------------------------------------------


def test_blacklist_from_another_provider(tmp_path: Path) -> None:
    """Turkish headers, reasons, sources and dates are kept; bad numbers are refused."""
    path = write_csv(
        tmp_path / "kara_liste.csv",
        [
            ["Kara Liste Dökümü"],
            [],
            ["GSM Numarası", "Açıklama", "Kaynak", "Eklenme Tarihi", "Müşteri No"],
            ["0532 123 45 67", "şikâyet", "çağrı merkezi", "01.02.2024 10:30", "77"],
            ["05321234568", "", "", "", ""],
            ["abc", "x", "", "", ""],
            ["+90 532 123 45 67", "tekrar", "", "", ""],
            ["05321234569", "", "", "32.13.2024", ""],
            ["", "", "", "", ""],
        ],
    )
    storage = MemoryStorage()
    storage.add_to_blacklist(
        [import_entry("+905321234568", "eski")]  # already listed: replaced, counted
    )
    report = import_blacklist(
        storage, path, reason="eski firmadan", source="ACME SMS", clock=lambda: NOW
    )
    check_counts(report)
    assert (report.taken, report.duplicates, report.blank, report.already_present) == (3, 1, 1, 1)
    assert report.header_row == 3
    assert report.refused == (RowError(6, "GSM Numarası", "abc", "contains letters"),)
    assert [(w.row, w.column) for w in report.warnings] == [(8, "Eklenme Tarihi")]
    assert "blacklisted with today's date" in report.warnings[0].reason
    assert report.ignored_columns == ("Müşteri No",)
    entries = {e.number: e for e in storage.iter_blacklist()}
    first = entries["+905321234567"]
    assert (first.reason, first.source) == ("şikâyet", "çağrı merkezi")
    assert first.added_at == datetime(2024, 2, 1, 10, 30, tzinfo=ISTANBUL)
    second = entries["+905321234568"]
    assert (second.reason, second.source, second.added_at) == ("eski firmadan", "ACME SMS", NOW)
    assert entries["+905321234569"].added_at == NOW


def import_entry(number: str, reason: str) -> Any:
    from isobil.storage import BlacklistEntry

    return BlacklistEntry(number, reason, NOW - timedelta(days=400))


def test_blacklist_needs_a_number_column(tmp_path: Path) -> None:
    """Without a number column the error says which names are expected and how to map."""
    path = write_csv(tmp_path / "k.csv", [["Kişi", "Not"], ["Ayşe", "x"]])
    with pytest.raises(InvalidValue, match=r"no header row with a number column.*mapping="):
        import_blacklist(MemoryStorage(), path)
    report = import_blacklist(MemoryStorage(), path, mapping={"number": "Not", "reason": 0})
    assert report.refused == (RowError(2, "Not", "x", "contains letters"),)


# -- consent history --------------------------------------------------------------------


def _history(path: Path) -> Path:
    """An İYS-style export of another provider, with the problems real ones have."""
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.append(
        ["recipient", "type", "source", "status", "consentDate", "recipientType", "brand",
         "retailerCode", "formRef"]
    )  # fmt: skip
    ws.append(["+905321234567", "MESAJ", "HS_WEB", "ONAY", "2021-03-04 10:11:12", "BIREYSEL",
               "ACME", "", "F-1"])  # fmt: skip
    ws.append(["05321234567", "MESAJ", "HS_MESAJ", "RED", "05.06.2023 08:00", "", "", "", ""])
    ws.append(["0532 123 45 68", "sms", "hs_islak_imza", "onay",
               datetime(2019, 1, 2, 9, 0), "TACIR", "acme", "R1", ""])  # fmt: skip
    ws.append(["ayse@example.com", "EPOSTA", "HS_EORTAM", "1", "2022-01-01T09:00:00+03:00",
               "", "ACME", "", ""])  # fmt: skip
    ws.append(["05321234569", "MESAJ", "HS_WEB", "BELKI", "2022-01-01", "", "ACME", "", ""])
    ws.append(["05321234570", "MESAJ", "HS_WEB", "ONAY", "2030-01-01 00:00:00", "", "ACME", "", ""])
    ws.append(["05321234571", "MESAJ", "HS_WEB", "ONAY", "dün", "", "ACME", "", ""])
    ws.append(["05321234572", "FAX", "HS_WEB", "ONAY", "2022-01-01", "", "ACME", "", ""])
    ws.append(["05321234573", "MESAJ", "WEB_SITESI", "ONAY", "2022-01-01", "", "ACME", "", ""])
    ws.append(["123", "MESAJ", "HS_WEB", "ONAY", "2022-01-01", "", "ACME", "", ""])
    ws.append(["ayse@example.com", "MESAJ", "HS_WEB", "ONAY", "2022-01-01", "", "ACME", "", ""])
    ws.append([])
    ws.append(["+905321234567", "MESAJ", "HS_WEB", "ONAY", "2021-03-04 10:11:12", "BIREYSEL",
               "ACME", "", "F-1"])  # fmt: skip
    book.save(path)
    return path


def test_consent_history_becomes_ledger_events(tmp_path: Path) -> None:
    """Valid rows become sealed events with their original date and source; the rest refused."""
    storage = MemoryStorage()
    ledger = ConsentLedger(storage, clock=lambda: NOW)
    path = _history(tmp_path / "izinler.xlsx")
    report = import_consent_history(
        ledger.append, path, brand="ACME", mapping=None, clock=lambda: NOW
    )
    check_counts(report)
    assert (report.taken, report.duplicates, report.blank) == (4, 1, 1)
    assert [(e.row, e.column, e.value, e.reason) for e in report.refused] == [
        (6, "status", "BELKI", "unknown status: expected ONAY or RET"),
        (7, "consentDate", "2030-01-01 00:00:00", "the consent date is in the future"),
        (
            8,
            "consentDate",
            "dün",
            "unreadable date 'dün': expected yyyy-MM-dd HH:mm:ss (İYS), dd.MM.yyyy HH:mm "
            "or ISO 8601",
        ),
        (9, "type", "FAX", "unknown channel: expected MESAJ, ARAMA or EPOSTA"),
        (10, "source", "WEB_SITESI", "unknown source: expected an İYS code such as HS_WEB"),
        (11, "recipient", "123", "too few digits (3) for a Turkish number; if it is a short "
         "number, pass it in short_numbers"),
        (12, "recipient", "ayse@example.com", "an e-mail address cannot hold a MESAJ consent"),
    ]  # fmt: skip
    events = list(storage.iter_consent_events())
    assert [(e.address, e.status, e.source, e.channel, e.recipient_type) for e in events] == [
        ("+905321234567", ConsentStatus.ONAY, ConsentSource.HS_WEB, Channel.MESAJ,
         RecipientType.BIREYSEL),
        ("+905321234567", ConsentStatus.RET, ConsentSource.HS_MESAJ, Channel.MESAJ,
         RecipientType.BIREYSEL),
        ("+905321234568", ConsentStatus.ONAY, ConsentSource.HS_ISLAK_IMZA, Channel.MESAJ,
         RecipientType.TACIR),
        ("ayse@example.com", ConsentStatus.ONAY, ConsentSource.HS_EORTAM, Channel.EPOSTA,
         RecipientType.BIREYSEL),
    ]  # fmt: skip
    assert [e.consent_date for e in events] == [
        datetime(2021, 3, 4, 10, 11, 12, tzinfo=ISTANBUL),
        datetime(2023, 6, 5, 8, 0, tzinfo=ISTANBUL),
        datetime(2019, 1, 2, 9, 0, tzinfo=ISTANBUL),
        datetime(2022, 1, 1, 9, 0, tzinfo=timezone(timedelta(hours=3))),
    ]
    assert all(e.recorded_at == NOW and e.brand == "ACME" for e in events)
    assert dict(events[0].evidence) == {
        "migrated_from": "izinler.xlsx",
        "row": "2",
        "formref": "F-1",
    }
    assert dict(events[2].evidence) == {
        "migrated_from": "izinler.xlsx",
        "row": "4",
        "retailercode": "R1",
    }
    assert ledger.verify().ok
    # The migrated RET is the current state: the opt-out survives the move.
    assert ledger.state("05321234567", brand="ACME") is ConsentStatus.RET


def test_consent_rows_without_brand_or_source_are_refused(tmp_path: Path) -> None:
    """No brand column and no brand= default, or no source and no default: refused."""
    path = write_csv(
        tmp_path / "izin.csv",
        [
            ["Alıcı", "Durum", "İzin Tarihi", "Kaynak"],
            ["05321234567", "ONAY", "01.02.2022 10:00", "HS_WEB"],
            ["05321234568", "RET", "01.02.2022 10:00", ""],
        ],
    )
    appended: list[ConsentEvent] = []

    def append(events: Sequence[ConsentEvent]) -> list[ConsentEvent]:
        appended.extend(events)
        return list(events)

    report = import_consent_history(append, path, clock=lambda: NOW)
    assert [e.reason for e in report.refused] == [
        "no brand, and no brand= default given",
        "no source, and no default_source given",
    ]
    report = import_consent_history(
        append, path, brand="ACME", default_source="HS_FIZIKSEL_ORTAM", clock=lambda: NOW
    )
    assert (report.taken, report.refused) == (2, ())
    assert [e.source for e in appended] == [ConsentSource.HS_WEB, ConsentSource.HS_FIZIKSEL_ORTAM]
    assert report.mapping == {
        "recipient": "Alıcı",
        "status": "Durum",
        "consent_date": "İzin Tarihi",
        "source": "Kaynak",
    }


def test_rows_the_ledger_refuses_are_found_one_by_one(tmp_path: Path) -> None:
    """When the ledger refuses a chunk (an unknown brand), only the bad rows are refused."""
    path = write_csv(
        tmp_path / "izin.csv",
        [
            ["recipient", "status", "consentDate", "source", "brand"],
            ["05321234567", "ONAY", "2022-01-01 10:00:00", "HS_WEB", "ACME"],
            ["05321234568", "ONAY", "2022-01-01 10:00:00", "HS_WEB", "OTHER"],
            ["05321234569", "ONAY", "2022-01-01 10:00:00", "HS_WEB", "ACME"],
        ],
    )
    storage = MemoryStorage()
    ledger = ConsentLedger(storage, brands={"ACME"}, clock=lambda: NOW)
    report = import_consent_history(ledger.append, path, clock=lambda: NOW)
    assert report.taken == 2
    assert [(e.row, e.column, e.value) for e in report.refused] == [
        (3, "recipient", "+905321234568")
    ]
    assert "unknown brand 'OTHER'" in report.refused[0].reason
    assert [e.address for e in storage.iter_consent_events()] == [
        "+905321234567",
        "+905321234569",
    ]
    # brands= refuses them before the ledger sees them.
    report = import_consent_history(
        ledger.append, path, brands={"ACME"}, clock=lambda: NOW, resume_after=10
    )
    assert (report.taken, report.rows, report.skipped) == (0, 3, 3)


def test_failed_consent_migration_can_resume(tmp_path: Path) -> None:
    """A ledger failing part-way: ImportFailed says where; resume_after goes on from there."""
    rows = [["recipient", "status", "consentDate", "source", "brand"]]
    rows += [[f"0532{i:07d}", "ONAY", "2022-01-01 10:00:00", "HS_WEB", "ACME"] for i in range(25)]
    path = write_csv(tmp_path / "izin.csv", rows, delimiter=",")
    stored: list[ConsentEvent] = []
    calls = 0

    def flaky(events: Sequence[ConsentEvent]) -> list[ConsentEvent]:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise OSError("connection lost")
        stored.extend(events)
        return list(events)

    import isobil.contacts._migration as migration

    original = migration.MIGRATION_CHUNK
    migration.MIGRATION_CHUNK = 10  # type: ignore[misc]
    try:
        with pytest.raises(ImportFailed) as caught:
            import_consent_history(flaky, path, clock=lambda: NOW)
        report = caught.value.report
        assert isinstance(report, MigrationReport)
        assert (report.complete, report.taken, report.stored_through) == (False, 10, 11)
        resumed = import_consent_history(
            flaky, path, clock=lambda: NOW, resume_after=report.stored_through
        )
    finally:
        migration.MIGRATION_CHUNK = original  # type: ignore[misc]
    check_counts(resumed)
    assert (resumed.taken, resumed.skipped) == (15, 10)
    assert [e.address for e in stored] == [f"+90532{i:07d}" for i in range(25)]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-01 09:30:00", datetime(2024, 3, 1, 9, 30, tzinfo=ISTANBUL)),
        ("01.03.2024 09:30", datetime(2024, 3, 1, 9, 30, tzinfo=ISTANBUL)),
        ("01/03/2024", datetime(2024, 3, 1, tzinfo=ISTANBUL)),
        ("2024-03-01T06:30:00Z", datetime(2024, 3, 1, 6, 30, tzinfo=UTC)),
        (datetime(2024, 3, 1, 9, 30), datetime(2024, 3, 1, 9, 30, tzinfo=ISTANBUL)),
        (45352.5, datetime(2024, 3, 1, 12, 0, tzinfo=ISTANBUL)),
    ],
)
def test_parse_consent_date(value: Any, expected: datetime) -> None:
    """İYS text, Turkish day-first text, ISO 8601, Excel cells and serials: aware datetimes."""
    parsed = parse_consent_date(value)
    assert parsed == expected
    assert parsed.tzinfo is not None


def _by_strptime(text: str) -> datetime | None:
    """What the date formats alone read (the reference for the ISO-like fast path)."""
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=ISTANBUL)
        except ValueError:
            continue
    return None


_DIGITS = st.text("0123456789", min_size=1, max_size=4)


@settings(deadline=None, max_examples=300)
@given(
    st.one_of(
        st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)).map(
            lambda at: at.strftime(
                ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"][at.microsecond % 3]
            )
        ),
        # Near misses: odd digit counts, impossible dates and times.
        st.builds(
            lambda y, mo, d, h, mi, se, shape: (
                f"{y}-{mo}-{d}" + [f" {h}:{mi}:{se}", f" {h}:{mi}", ""][shape]
            ),
            *[_DIGITS] * 6,
            st.integers(0, 2),
        ),
    )
)
def test_iso_like_dates_read_as_strptime_reads_them(text: str) -> None:
    """The fast path for yyyy-MM-dd[ HH:mm[:ss]] agrees with the formats' strptime:
    the same datetime, or (strptime reads nothing) the same refusal or ISO reading."""
    expected = _by_strptime(text)
    if expected is not None:
        assert parse_consent_date(text) == expected
    else:
        try:
            reference: datetime | None = datetime.fromisoformat(text)
        except ValueError:
            reference = None
        if reference is None:
            with pytest.raises(InvalidValue):
                parse_consent_date(text)
        else:
            assert parse_consent_date(text) == reference.replace(tzinfo=ISTANBUL)


@pytest.mark.parametrize("value", ["", "dün", "2024-13-01", -5.0, True])
def test_parse_consent_date_refuses(value: Any) -> None:
    """What is no date raises InvalidValue."""
    with pytest.raises(InvalidValue):
        parse_consent_date(value)
