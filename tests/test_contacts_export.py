"""Exports of contacts, groups and the blacklist, and their round trips back in."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest

from isobil.contacts import (
    EXPORT_HEADER,
    ContactBook,
    export_blacklist,
    import_blacklist,
)
from isobil.errors import InvalidValue
from isobil.model import Recipient
from isobil.storage import BlacklistEntry, MemoryStorage, Storage


def _fill(book: ContactBook) -> None:
    book.add(
        "0532 123 45 67",
        name="Ayşe Nur",
        surname="Yılmaz",
        email="ayse@example.com",
        fields={"sehir": "İzmir", "Doğum Günü": "1990-01-02"},
        groups=["VIP", "Ankara Şubesi"],
    )
    book.add("+90 532 123 4568", name="İsmail", surname="Işık", recipient_type="TACIR")
    book.add("05321234569", fields={"sehir": "Iğdır", "not": "; , \" ' \t satır\nsonu"})
    book.group("VIP").add(["05321234569"])


def _snapshot(storage: Storage) -> tuple[list[Recipient], dict[str, int], list[set[str]]]:
    contacts = list(storage.iter_contacts())
    return contacts, storage.groups(), [storage.groups_of(c.number) for c in contacts]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_round_trip_keeps_contacts_and_groups(tmp_path: Path, suffix: str) -> None:
    """Export then import into an empty book: the same contacts, fields, types and groups."""
    source = ContactBook(MemoryStorage())
    _fill(source)
    path = tmp_path / f"rehber{suffix}"
    assert source.export(path) == 3
    target = ContactBook(MemoryStorage())
    report = target.import_file(path)
    assert (report.imported, report.invalid, report.header_row) == (3, (), 1)
    assert _snapshot(target.storage) == _snapshot(source.storage)
    assert target.groups() == {"VIP": 2, "Ankara Şubesi": 1}
    # Importing the export into the book it came from changes nothing.
    again = source.import_file(path)
    assert (again.imported, again.updated) == (0, 3)
    assert _snapshot(source.storage) == _snapshot(target.storage)


def test_export_columns(tmp_path: Path) -> None:
    """Telefon, Ad, Soyad, E-posta, Tip, Gruplar, then one column per custom field."""
    book = ContactBook(MemoryStorage())
    _fill(book)
    path = tmp_path / "rehber.xlsx"
    book.export(path)
    sheet = openpyxl.load_workbook(path).active
    assert sheet is not None
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == [*EXPORT_HEADER, "sehir", "Doğum Günü", "not"]
    assert rows[1] == [
        "+905321234567",
        "Ayşe Nur",
        "Yılmaz",
        "ayse@example.com",
        "BIREYSEL",
        "Ankara Şubesi; VIP",
        "İzmir",
        "1990-01-02",
        None,
    ]
    assert rows[2][4:6] == ["TACIR", None]


def test_export_a_group(tmp_path: Path) -> None:
    """A group's export holds its members, each with all of their groups."""
    book = ContactBook(MemoryStorage())
    _fill(book)
    path = tmp_path / "vip.csv"
    assert book.export(path, group="VIP") == 2
    target = ContactBook(MemoryStorage())
    target.import_file(path)
    assert [c.number for c in target] == ["+905321234567", "+905321234569"]
    assert target.groups() == {"VIP": 2, "Ankara Şubesi": 1}


def test_export_refuses_what_would_not_come_back(tmp_path: Path) -> None:
    """Other suffixes, and group names containing the separator, are refused."""
    book = ContactBook(MemoryStorage())
    book.add("05321234567", groups=["A;B"])
    with pytest.raises(InvalidValue, match=r"can export to .csv or .xlsx, not '.txt'"):
        book.export(tmp_path / "r.txt")
    with pytest.raises(InvalidValue, match="group 'A;B' contains ';'"):
        book.export(tmp_path / "r.csv")


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_blacklist_round_trip(tmp_path: Path, suffix: str) -> None:
    """The blacklist exports and imports back with its reasons, sources and dates."""
    storage = MemoryStorage()
    added = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)
    storage.add_to_blacklist(
        [
            BlacklistEntry("+905321234567", "şikâyet etti", added, "çağrı merkezi"),
            BlacklistEntry("+905321234568", "RET SMS", added, None),
        ]
    )
    path = tmp_path / f"kara{suffix}"
    assert export_blacklist(storage, path) == 2
    target = MemoryStorage()
    report = import_blacklist(target, path)
    assert (report.taken, report.refused, report.warnings) == (2, (), ())
    assert list(target.iter_blacklist()) == list(storage.iter_blacklist())


def test_text_that_looks_like_a_formula_stays_text(tmp_path: Path) -> None:
    """A name starting with "=" is exported as text, not as a formula Excel would run."""
    book = ContactBook(MemoryStorage())
    book.add("0532 123 45 67", name='=HYPERLINK("http://kötü.example","Tıkla")', surname="=1+1")
    path = tmp_path / "rehber.xlsx"
    assert book.export(path) == 1
    sheet = openpyxl.load_workbook(path).active
    assert sheet is not None
    cells = [(c.value, c.data_type) for c in sheet[2][1:3]]
    assert cells == [('=HYPERLINK("http://kötü.example","Tıkla")', "s"), ("=1+1", "s")]
    again = ContactBook(MemoryStorage())
    assert again.import_file(path).imported == 1
    contact = again.get("05321234567")
    assert contact is not None
    assert (contact.name, contact.surname) == ('=HYPERLINK("http://kötü.example","Tıkla")', "=1+1")


def test_csv_cells_that_a_spreadsheet_would_run_are_made_inert(tmp_path: Path) -> None:
    """In a CSV there is no cell type: text a spreadsheet would evaluate (=, +, -, @
    first, as anyone who texts the short number may write) gets a leading quote;
    numbers, signed numbers and plain text are left alone."""
    import csv

    book = ContactBook(MemoryStorage())
    hostile = {
        "name": '=HYPERLINK("http://kötü.example","Tıkla")',
        "surname": "@SUM(1+1)*cmd|' /C calc'!A0",
        "email": "-2+3+cmd|' /C calc'!A0",
    }
    book.add(
        "0532 123 45 67", fields={"not": "+SUM(A1)", "borç": "-12,50", "tab": "\t=1"}, **hostile
    )
    path = tmp_path / "rehber.csv"
    assert book.export(path) == 1
    with path.open(encoding="utf-8-sig", newline="") as file:
        [row] = list(csv.DictReader(file))
    assert [row[column] for column in ("Ad", "Soyad", "E-posta")] == [
        "'" + value for value in hostile.values()
    ]
    assert row["Telefon"] == "+905321234567"
    assert [row["not"], row["borç"], row["tab"]] == ["'+SUM(A1)", "-12,50", "'\t=1"]
