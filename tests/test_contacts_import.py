"""Importing address books: every format, header and number shape an office produces."""

from __future__ import annotations

import csv
import datetime as dt
import gc
import io
import os
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import openpyxl
import pytest
import xlwt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from isobil.contacts import (
    ContactBook,
    ImportFailed,
    ImportReport,
    RowError,
    _import,
    import_contacts,
    open_table,
)
from isobil.contacts._import import detect_header
from isobil.errors import InvalidValue
from isobil.model import Recipient, RecipientType, trusted_recipient
from isobil.storage import MemoryStorage, UpsertResult

DATA = Path(__file__).parent / "data" / "contacts"

Row = Sequence[Any]


# -- writing fixtures -------------------------------------------------------------


def write_xlsx(path: Path, rows: Iterable[Row], *, sheet: str = "Rehber") -> Path:
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.title = sheet
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            if value is not None:
                ws.cell(row=r, column=c, value=value)
    book.save(path)
    return path


def write_xls(path: Path, rows: Iterable[Row], *, sheet: str = "Rehber") -> Path:
    book = xlwt.Workbook(encoding="utf-8")
    ws = book.add_sheet(sheet)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is not None:
                ws.write(r, c, value)
    book.save(str(path))
    return path


def write_ods(path: Path, rows: Iterable[Row]) -> Path:
    """A minimal OpenDocument spreadsheet, as LibreOffice would write its content."""
    ns = (
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
    )
    body = []
    for row in rows:
        cells = []
        for v in row:
            if v is None:
                cells.append("<table:table-cell/>")
            elif isinstance(v, int | float):
                cells.append(
                    f'<table:table-cell office:value-type="float" office:value="{v}">'
                    f"<text:p>{v}</text:p></table:table-cell>"
                )
            else:
                cells.append(
                    '<table:table-cell office:value-type="string">'
                    f"<text:p>{escape(v)}</text:p></table:table-cell>"
                )
        body.append("<table:table-row>" + "".join(cells) + "</table:table-row>")
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns} '
        'office:version="1.2"><office:body><office:spreadsheet><table:table '
        f'table:name="Rehber">{"".join(body)}</table:table></office:spreadsheet>'
        "</office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest='
        '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" manifest:media-type='
        '"application/vnd.oasis.opendocument.spreadsheet"/></manifest:manifest>'
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet"
        )
        archive.writestr("META-INF/manifest.xml", manifest)
        archive.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
    return path


def write_csv(
    path: Path, rows: Iterable[Row], *, encoding: str = "utf-8", delimiter: str = ";"
) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(
        ["" if v is None else v for v in row] for row in rows
    )
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def numbers(book: ContactBook) -> list[str]:
    return [c.number for c in book]


@pytest.fixture
def book() -> ContactBook:
    return ContactBook(MemoryStorage())


def check_counts(report: ImportReport) -> None:
    """Every row below the header is counted exactly once."""
    assert report.complete
    assert report.rows == (
        report.imported + report.updated + report.duplicates + len(report.invalid) + report.blank
    )


# -- formats ---------------------------------------------------------------------


def test_xlsx_in_every_number_shape(book: ContactBook, tmp_path: Path) -> None:
    """An .xlsx with the shapes of SPEC F11, float and int cells included, imports to E.164."""
    path = write_xlsx(
        tmp_path / "rehber.xlsx",
        [
            ["Ad", "Soyad", "Telefon", "Şehir"],
            ["Ayşe", "Yılmaz", "0532 123 45 67", "İzmir"],
            ["Ali", "Kaya", "+90 (532) 123-4568", "Ankara"],
            ["Can", "Demir", "5321234569", "Bursa"],
            ["Ece", "Şahin", "905321234570", "Adana"],
            ["Gül", "Çelik", 5321234571.0, "Muş"],
            ["Ilgın", "Öz", 5321234572, "Van"],
            ["Oya", "Ün", "5321234573.0", "Rize"],
        ],
    )
    report = book.import_file(path)
    check_counts(report)
    assert (report.imported, report.updated, report.duplicates, report.invalid) == (7, 0, 0, ())
    assert (report.format, report.sheet, report.header_row) == ("xlsx", "Rehber", 1)
    assert report.mapping == {
        "name": "Ad",
        "surname": "Soyad",
        "number": "Telefon",
        "fields.sehir": "Şehir",
    }
    assert numbers(book) == [f"+90532123{n}" for n in range(4567, 4574)]
    assert book.get("05321234571") == Recipient(
        "+905321234571", "Gül", "Çelik", None, {"sehir": "Muş"}
    )


def test_xls_97_2003_with_float_cells(book: ContactBook, tmp_path: Path) -> None:
    """A 97-2003 .xls (Turkish headers, numbers typed as numbers) reads like an .xlsx."""
    path = write_xls(
        tmp_path / "eski.xls",
        [
            ["Adı", "Soyadı", "Cep Telefonu", "Şehir"],
            ["Şükrü", "Işık", 5321234567.0, "Iğdır"],
            ["Ümran", "Güneş", "0532 123 45 68", 34.0],
        ],
    )
    report = book.import_file(path)
    check_counts(report)
    assert (report.format, report.imported, report.invalid) == ("xls", 2, ())
    assert book.get("5321234567") == Recipient(
        "+905321234567", "Şükrü", "Işık", None, {"sehir": "Iğdır"}
    )
    # A whole number in a text column reads as it shows in Excel: 34, not 34.0.
    second = book.get("5321234568")
    assert second is not None
    assert second.fields == {"sehir": "34"}


def test_shipped_xls_fixture(book: ContactBook) -> None:
    """The small .xls shipped in tests/data (written by xlwt, BIFF8) imports."""
    report = book.import_file(DATA / "rehber.xls", group="Eski")
    check_counts(report)
    assert (report.imported, len(report.invalid), report.header_row) == (3, 1, 3)
    assert report.invalid[0] == RowError(7, "GSM", "123", report.invalid[0].reason)
    assert book.groups() == {"Eski": 3}


def test_ods(book: ContactBook, tmp_path: Path) -> None:
    """An OpenDocument spreadsheet (.ods) imports too."""
    path = write_ods(
        tmp_path / "rehber.ods",
        [["Ad", "Telefon"], ["Ayşe", 5321234567.0], [None, None], ["Ali", "0532 123 45 68"]],
    )
    report = book.import_file(path)
    check_counts(report)
    assert (report.format, report.imported, report.blank) == ("ods", 2, 1)


@pytest.mark.parametrize(
    ("encoding", "reported"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("cp1254", "cp1254")],
)
def test_csv_in_three_encodings(
    book: ContactBook, tmp_path: Path, encoding: str, reported: str
) -> None:
    """UTF-8, UTF-8 with BOM and Windows-1254 CSVs keep every Turkish letter."""
    path = write_csv(
        tmp_path / "rehber.csv",
        [
            ["Adı", "Soyadı", "Cep Telefonu", "Şehir"],
            ["Çiğdem", "Güç", "0532 123 45 67", "Şanlıurfa"],
            ["İsmail", "Öğüt", "05321234568", "Iğdır"],
        ],
        encoding=encoding,
    )
    report = book.import_file(path)
    check_counts(report)
    assert (report.format, report.encoding, report.imported) == ("csv", reported, 2)
    assert report.mapping["name"] == "Adı"
    assert [(c.name, c.surname, c.fields["sehir"]) for c in book] == [
        ("Çiğdem", "Güç", "Şanlıurfa"),
        ("İsmail", "Öğüt", "Iğdır"),
    ]


def test_csv_utf8_with_cp1254_late_in_the_file(book: ContactBook, tmp_path: Path) -> None:
    """A UTF-8 file with a Windows-1254 line far beyond the first megabyte: both read right."""
    filler = [f"Ali;053{i:08d}" for i in range(1, 70_000)]  # plain ASCII, > 1 MB
    text = "Ad;Telefon\r\nAyşe;05321234567\r\n" + "\r\n".join(filler) + "\r\n"
    path = tmp_path / "karisik.csv"
    path.write_bytes(text.encode("utf-8") + "Şükrü;05321234568\r\n".encode("cp1254"))
    assert path.stat().st_size > 1 << 20
    report = book.import_file(path)
    assert report.encoding == "utf-8+cp1254"
    first, last = book.get("05321234567"), book.get("05321234568")
    assert first is not None
    assert first.name == "Ayşe"
    assert last is not None
    assert last.name == "Şükrü"


@pytest.mark.parametrize("delimiter", [";", ",", "\t", "|"])
def test_csv_delimiters(book: ContactBook, tmp_path: Path, delimiter: str) -> None:
    """The delimiter is sniffed (; of Turkish Excel, comma, tab, pipe), even with the others
    inside quoted cells."""
    path = tmp_path / "r.csv"
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, delimiter=delimiter)
        writer.writerow(["Telefon", "Ad", "Not"])
        writer.writerow(["0532 123 45 67", "Ayşe", "1,5 kg; iki\tüç|dört"])
        writer.writerow(["0532 123 45 68", "Ali", "yok"])
    report = book.import_file(path)
    assert report.imported == 2
    contact = book.get("05321234567")
    assert contact is not None
    assert contact.fields == {"not": "1,5 kg; iki\tüç|dört"}
    with open_table(path) as reader:
        assert reader.delimiter == delimiter


def test_csv_excel_sep_line_and_utf16(book: ContactBook, tmp_path: Path) -> None:
    """Excel's "sep=;" hint line is honoured, and its UTF-16 "Unicode text" is read."""
    hinted = tmp_path / "sep.csv"
    hinted.write_text("sep=;\r\nAd;Telefon\r\nAyşe;0532 123 45 67;\r\nx;abc\r\n", "utf-8")
    report = book.import_file(hinted)
    assert (report.header_row, report.imported, report.invalid[0].row) == (1, 1, 3)
    unicode_text = tmp_path / "unicode.txt"
    unicode_text.write_bytes("Ad\tTelefon\r\nÇağla\t05321234568\r\n".encode("utf-16"))
    report = book.import_file(unicode_text)
    assert (report.encoding, report.imported) == ("utf-16", 1)
    assert book.get("05321234568") == Recipient("+905321234568", "Çağla")


def test_csv_with_old_mac_line_ends(book: ContactBook, tmp_path: Path) -> None:
    """A CSV whose lines end in CR alone (old Excel for Mac) is split into rows."""
    path = tmp_path / "mac.csv"
    path.write_bytes("Ad;Telefon\rŞule;05321234567\rAli;05321234568\r".encode("cp1254"))
    report = book.import_file(path)
    assert (report.imported, report.encoding) == (2, "cp1254")
    assert [c.name for c in book] == ["Şule", "Ali"]


def test_misnamed_files_are_read_by_content(book: ContactBook, tmp_path: Path) -> None:
    """An .xls saved as .xlsx and a CSV saved as .xls are read by what they are."""
    write_xls(tmp_path / "real.xls", [["Telefon"], ["05321234567"]])
    (tmp_path / "real.xls").rename(tmp_path / "fake.xlsx")
    assert book.import_file(tmp_path / "fake.xlsx").format == "xls"
    write_csv(tmp_path / "csv.xls", [["Telefon"], ["05321234568"]])
    assert book.import_file(tmp_path / "csv.xls").format == "csv"
    assert len(book) == 2


# -- headers ---------------------------------------------------------------------


def test_header_in_an_odd_place(book: ContactBook, tmp_path: Path) -> None:
    """A title, blank rows, the header on row 4 from column C: rows and columns as in Excel."""
    path = tmp_path / "rapor.xlsx"
    book_ = openpyxl.Workbook()
    ws = book_.active
    assert ws is not None
    ws["A1"] = "Müşteri Listesi — Mart 2024"
    ws["C4"], ws["D4"], ws["E4"], ws["F4"] = "ŞEHİR", "CEP TELEFONU", "SOYADI", "adı"
    ws["C5"], ws["D5"], ws["E5"], ws["F5"] = "İzmir", 5321234567.0, "Yılmaz", "Ayşe"
    ws["C6"], ws["D6"], ws["E6"], ws["F6"] = "Van", "0532 12", "Kaya", "Ali"
    ws["C8"], ws["D8"], ws["E8"], ws["F8"] = "Muş", "0532 123 45 68", "Öz", "Can"
    book_.save(path)
    report = book.import_file(path)
    check_counts(report)
    assert report.header_row == 4
    assert report.mapping == {
        "number": "CEP TELEFONU",
        "surname": "SOYADI",
        "name": "adı",
        "fields.sehir": "ŞEHİR",
    }
    assert report.invalid == (
        RowError(
            6,
            "CEP TELEFONU",
            "0532 12",
            "too few digits (5) for a Turkish number; if it is a short number, pass it in "
            "short_numbers",
        ),
    )
    assert (report.imported, report.blank, report.rows) == (2, 1, 4)
    assert book.get("05321234568") == Recipient(
        "+905321234568", "Can", "Öz", None, {"sehir": "Muş"}
    )


def test_mobile_column_beats_a_generic_phone_column(book: ContactBook, tmp_path: Path) -> None:
    """With "Telefon" (a landline) and "GSM", the mobile column is used; the other is kept."""
    path = write_csv(
        tmp_path / "r.csv",
        [["Ad", "Telefon", "GSM"], ["Ayşe", "0212 123 45 67", "0532 123 45 67"]],
    )
    report = book.import_file(path)
    assert report.mapping["number"] == "GSM"
    assert book.get("05321234567") == Recipient(
        "+905321234567", "Ayşe", None, None, {"telefon": "0212 123 45 67"}
    )


def test_full_name_column_is_split(book: ContactBook, tmp_path: Path) -> None:
    """An "Adı Soyadı" column splits at the last space: the surname is the last word."""
    path = write_csv(
        tmp_path / "r.csv",
        [
            ["Adı Soyadı", "Telefon"],
            ["Ayşe  Nur Yılmaz", "05321234567"],
            ["Cher", "05321234568"],
            ["", "05321234569"],
        ],
    )
    book.import_file(path)
    assert [(c.name, c.surname) for c in book] == [
        ("Ayşe Nur", "Yılmaz"),
        ("Cher", None),
        (None, None),
    ]


def test_no_header_is_a_clear_error(book: ContactBook, tmp_path: Path) -> None:
    """A file with no recognisable phone column says which headers work and how to map."""
    path = write_csv(tmp_path / "r.csv", [["Kişi", "Numarası1"], ["Ayşe", "05321234567"]])
    with pytest.raises(InvalidValue) as caught:
        book.import_file(path)
    message = str(caught.value)
    for expected in ("no header row", "Cep Telefonu", "mapping=", "'Kişi'", "row 1"):
        assert expected in message
    assert len(book) == 0


def test_explicit_mapping_by_header_and_index(book: ContactBook, tmp_path: Path) -> None:
    """mapping= names columns detection cannot; other columns are still detected."""
    path = write_csv(
        tmp_path / "r.csv",
        [
            ["Müşteri", "Numarası1", "Soyadı", "Plaka", "Not"],
            ["Ayşe", "0532 123 45 67", "Yılmaz", "34 ABC 12", "vip"],
        ],
    )
    report = book.import_file(
        path, mapping={"number": "numarası1", "name": 0, "fields.arac": "Plaka"}
    )
    assert report.mapping == {
        "surname": "Soyadı",
        "number": "Numarası1",
        "name": "Müşteri",
        "fields.arac": "Plaka",
        "fields.not": "Not",
    }
    assert book.get("05321234567") == Recipient(
        "+905321234567", "Ayşe", "Yılmaz", None, {"arac": "34 ABC 12", "not": "vip"}
    )


def test_mapping_by_index_for_a_file_without_header(book: ContactBook, tmp_path: Path) -> None:
    """A headerless file imports with index mappings; row 1 is data; other columns by letter."""
    path = write_csv(
        tmp_path / "r.csv", [["Ayşe", "05321234567", "Ankara"], ["Ali", "05321234568", ""]]
    )
    report = book.import_file(path, mapping={"number": 1, "name": 0})
    assert (report.header_row, report.imported, report.rows) == (0, 2, 2)
    assert report.mapping == {"number": "B", "name": "A", "fields.sutun_c": "C"}
    assert book.get("05321234567") == Recipient(
        "+905321234567", "Ayşe", None, None, {"sutun_c": "Ankara"}
    )


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"phone": "Telefon"}, "unknown field 'phone'"),
        ({"number": "Yok"}, "every column named in mapping ('Yok')"),
        ({"number": -1}, "negative"),
        ({"number": 1.5}, "column header or a 0-based column index"),
        ({"name": 0}, "names no number column"),
    ],
)
def test_bad_mappings(
    book: ContactBook, tmp_path: Path, mapping: dict[str, Any], message: str
) -> None:
    """A mapping that cannot be used is refused before anything is stored."""
    path = write_csv(tmp_path / "r.csv", [["Ad", "Numara1"], ["Ayşe", "05321234567"]])
    with pytest.raises(InvalidValue, match=message.replace("(", r"\(").replace(")", r"\)")):
        book.import_file(path, mapping=mapping)


_SYNONYMS = {
    "number": ["Telefon", "Tel", "GSM", "Cep", "Cep Telefonu", "Numara", "Phone", "Mobile"],
    "name": ["Ad", "Adı", "İsim", "Name", "First name"],
    "surname": ["Soyad", "Soyadı", "Surname", "Last name"],
    "email": ["E-posta", "Eposta", "Email", "Mail"],
}


def _vary(text: str, data: st.DataObject) -> str:
    """The same header as people type it: any case, Turkish letters dropped or not."""
    ascii_ = text.translate(str.maketrans("ıİşŞğĞüÜöÖçÇ", "iIsSgGuUoOcC"))
    chosen = data.draw(st.sampled_from([text, ascii_]))
    return data.draw(
        st.sampled_from([chosen, chosen.upper(), chosen.lower(), f" {chosen}: ", chosen.title()])
    )


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_header_detection_property(data: st.DataObject) -> None:
    """Any order, casing or diacritics of known synonyms, anywhere in the first rows: found."""
    fields = data.draw(
        st.lists(st.sampled_from(["name", "surname", "email"]), unique=True).map(
            lambda f: ["number", *f]
        )
    )
    order = data.draw(st.permutations(fields))
    header = [_vary(data.draw(st.sampled_from(_SYNONYMS[f])), data) for f in order]
    above = data.draw(st.integers(0, 10))
    offset = data.draw(st.integers(0, 3))
    rows: list[list[Any]] = [["Başlık"] if i == 0 else [] for i in range(above)]
    rows.append([""] * offset + header)
    rows.append([""] * offset + ["x"] * len(header))
    found = detect_header(rows)
    assert found is not None
    assert found == (above, {f: offset + order.index(f) for f in fields})


# -- rows -------------------------------------------------------------------------


def test_duplicates_first_row_wins(book: ContactBook, tmp_path: Path) -> None:
    """The same number twice (in any shape): the first row is taken, later ones counted."""
    path = write_csv(
        tmp_path / "r.csv",
        [
            ["Ad", "Telefon"],
            ["Ayşe", "0532 123 45 67"],
            ["Ali", "05321234568"],
            ["Ayşe 2", "+90 532 123 4567"],
            ["Ayşe 3", "5321234567"],
        ],
    )
    report = book.import_file(path)
    check_counts(report)
    assert (report.imported, report.duplicates, report.duplicate_rows) == (2, 2, (4, 5))
    first = book.get("05321234567")
    assert first is not None
    assert first.name == "Ayşe"


def test_blank_and_junk_rows(book: ContactBook, tmp_path: Path) -> None:
    """Blank rows are counted, junk rows are errors with their reason, never dropped."""
    path = write_xlsx(
        tmp_path / "r.xlsx",
        [
            ["Ad", "Telefon", "E-posta", "Tip"],
            ["Ayşe", "0532 123 45 67", "ayse@example.com", "bireysel"],
            [],
            [None, "   "],
            ["Toplam: 2 kişi"],
            ["Ad", "Telefon"],
            ["Ali", "yok"],
            ["Can", "5,32123E+09"],
            ["Ece", "05321234568", "ece at example", None],
            ["Gül", "05321234569", None, "kooperatif"],
            ["Esnaf", "05321234570", None, "Esnaf"],
        ],
    )
    report = book.import_file(path)
    check_counts(report)
    assert (report.imported, report.blank) == (2, 2)
    assert [(e.row, e.column, e.value, e.reason) for e in report.invalid] == [
        (5, "Telefon", "", "no phone number"),
        (6, "Telefon", "Telefon", "a repeated header row"),
        (7, "Telefon", "yok", "contains letters"),
        (
            8,
            "Telefon",
            "5,32123E+09",
            "scientific notation has lost digits (6 significant digits for a 10-digit number)",
        ),
        (9, "E-posta", "ece at example", "not an e-mail address"),
        (10, "Tip", "kooperatif", "unknown recipient type: expected BIREYSEL or TACIR"),
    ]
    esnaf = book.get("05321234570")
    assert esnaf is not None
    assert esnaf.recipient_type is RecipientType.TACIR


def test_many_bad_rows_are_each_reported(book: ContactBook, tmp_path: Path) -> None:
    """50,000 bad rows of 100,000: each is reported with its row (the speed of such an
    import is measured in benchmarks/, not asserted here)."""
    lines = ["Ad;Telefon"]
    for i in range(100_000):
        lines.append(f"A{i};05{30 + i % 10}{i:07d}" if i % 2 else f"A{i};12{i}")
    path = tmp_path / "kotu.csv"
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    report = book.import_file(path)
    check_counts(report)
    assert (report.imported, len(report.invalid)) == (50_000, 50_000)
    assert [e.row for e in report.invalid[:3]] == [2, 4, 6]
    assert report.invalid[-1] == RowError(
        100_000, "Telefon", "1299998", "too few digits (7) for a Turkish number"
    )
    out = tmp_path / "hatalar.csv"
    assert report.invalid_csv(out) == 50_000
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 50_001
    assert lines[:2] == [
        "row,column,value,reason",
        '2,Telefon,120,"too few digits (3) for a Turkish number; if it is a short number, '
        'pass it in short_numbers"',
    ]
    assert "… and 49,990 more invalid rows" in str(report)


def test_custom_fields_dates_and_empty_values(book: ContactBook, tmp_path: Path) -> None:
    """Extra columns become custom fields by folded header; empty values are not stored."""
    path = write_xlsx(
        tmp_path / "r.xlsx",
        [
            ["Telefon", "Doğum Tarihi", "Şehir", "Şehir", None],
            ["05321234567", dt.datetime(1990, 1, 2), "İzmir", "Karşıyaka", "not"],
            ["05321234568", None, "", None, None],
        ],
    )
    report = book.import_file(path)
    assert report.mapping == {
        "number": "Telefon",
        "fields.dogum_tarihi": "Doğum Tarihi",
        "fields.sehir": "Şehir",
        "fields.sehir_2": "Şehir",
        "fields.sutun_e": "E",
    }
    first, second = list(book)
    assert first.fields == {
        "dogum_tarihi": "1990-01-02",
        "sehir": "İzmir",
        "sehir_2": "Karşıyaka",
        "sutun_e": "not",
    }
    assert second.fields == {}


def test_groups_and_group_argument(book: ContactBook, tmp_path: Path) -> None:
    """Every contact joins group=; a Gruplar cell ("VIP; Ankara") adds its groups too."""
    path = write_csv(
        tmp_path / "r.csv",
        [["Telefon", "Gruplar"], ["05321234567", "VIP; Ankara"], ["05321234568", ""]],
    )
    book.import_file(path, group="Mart")
    assert book.groups() == {"Mart": 2, "VIP": 1, "Ankara": 1}
    assert book.groups_of("05321234567") == {"Mart", "VIP", "Ankara"}


def test_existing_contacts_are_merged_not_replaced(book: ContactBook, tmp_path: Path) -> None:
    """A re-import updates what the file has and keeps e-mail, other fields, type and groups."""
    book.add(
        "05321234567",
        name="Ayşe",
        email="ayse@example.com",
        fields={"sehir": "İzmir", "puan": "5"},
        recipient_type="TACIR",
        groups=["VIP"],
    )
    path = write_csv(
        tmp_path / "r.csv",
        [["Ad", "Soyad", "Telefon", "Şehir"], ["Ayşe Nur", "", "05321234567", "Ankara"]],
    )
    report = book.import_file(path, recipient_type="BIREYSEL")
    check_counts(report)
    assert (report.imported, report.updated) == (0, 1)
    assert book.get("05321234567") == Recipient(
        "+905321234567",
        "Ayşe Nur",
        None,
        "ayse@example.com",
        {"sehir": "Ankara", "puan": "5"},
        "TACIR",
    )
    assert book.groups_of("05321234567") == {"VIP"}


def test_default_recipient_type(book: ContactBook, tmp_path: Path) -> None:
    """recipient_type= applies to new contacts whose row names no type."""
    path = write_csv(tmp_path / "r.csv", [["Telefon"], ["05321234567"]])
    book.import_file(path, recipient_type="tacir")
    contact = book.get("05321234567")
    assert contact is not None
    assert contact.recipient_type is RecipientType.TACIR
    with pytest.raises(InvalidValue, match="unknown recipient type"):
        book.import_file(path, recipient_type="kooperatif")


def test_ragged_csv_rows_keep_cells_beyond_the_header(book: ContactBook, tmp_path: Path) -> None:
    """A row longer than the header keeps its extra cells under their column letter."""
    path = tmp_path / "r.csv"
    path.write_text("Telefon;Ad\r\n05321234567;Ayşe;fazla\r\n05321234568\r\n", "utf-8")
    report = book.import_file(path)
    assert report.mapping == {"number": "Telefon", "name": "Ad", "fields.sutun_c": "C"}
    assert [dict(c.fields) for c in book] == [{"sutun_c": "fazla"}, {}]


def test_rows_waiting_for_their_chunk_are_left_alone_by_the_garbage_collector(
    book: ContactBook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows a chunk holds until it is stored are not walked by every collection.

    CPython untracks a tuple of strings at its first collection, one holding such
    tuples at its second (after them); a row holding a dict, a list or an enum stayed
    tracked, was promoted with its chunk, and each full collection walked all of
    them: a quarter of an import's time.
    """
    waiting: list[tuple[object, ...]] = []
    store = _import._Importer._store

    def keep(self: _import._Importer, pending: list[Any]) -> None:
        waiting.extend(pending)
        store(self, pending)

    monkeypatch.setattr(_import._Importer, "_store", keep)
    path = write_csv(
        tmp_path / "r.csv",
        [
            ["Telefon", "Ad", "Soyad", "E-posta", "Tip", "Gruplar", "Şehir"],
            ["05321234567", "Ayşe", "Yılmaz", "a@example.com", "TACIR", "VIP; Ankara", "Van"],
            ["05321234568", "Ali", "", "", "", "", "Muğla", "fazla"],
        ],
    )
    report = book.import_file(path)
    assert report.imported == 2
    assert len(waiting) == 2
    gc.collect()
    gc.collect()
    assert not [row for row in waiting if gc.is_tracked(row)]
    # What was stored is what the rows said.
    assert book.get("05321234567") == Recipient(
        "+905321234567", "Ayşe", "Yılmaz", "a@example.com", {"Şehir": "Van"}, "TACIR"
    )
    assert book.groups_of("05321234567") == {"VIP", "Ankara"}
    assert book.get("05321234568") == Recipient(
        "+905321234568", "Ali", None, None, {"Şehir": "Muğla", "sutun_h": "fazla"}
    )


def test_sheet_selection(book: ContactBook, tmp_path: Path) -> None:
    """sheet= picks a worksheet by name or index; a wrong name lists the sheets."""
    path = tmp_path / "iki.xlsx"
    wb = openpyxl.Workbook()
    first = wb.active
    assert first is not None
    first.title = "Notlar"
    first.append(["bu sayfa boş değil ama rehber değil"])
    second = wb.create_sheet("Müşteriler")
    second.append(["Telefon"])
    second.append(["05321234567"])
    wb.save(path)
    with pytest.raises(InvalidValue, match="no header row"):
        book.import_file(path)
    assert book.import_file(path, sheet="Müşteriler").imported == 1
    assert book.import_file(path, sheet=1).updated == 1
    with pytest.raises(InvalidValue, match="no worksheet 'Yok'; the workbook has 'Notlar', "):
        book.import_file(path, sheet="Yok")


# -- not a spreadsheet ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("resim.xlsx", b"\x89PNG\r\n\x1a\n" + os.urandom(200), "it is a PNG image"),
        ("fatura.xlsx", b"%PDF-1.7\n" + os.urandom(200), "it is a PDF document"),
        ("rastgele.csv", bytes(range(256)) * 8, "binary data that is neither"),
        ("sayfa.xls", b"<html><body><table><tr><td>1</td></tr></table></body></html>",
         "an HTML page"),
        ("bos.xlsx", b"", "the file is empty"),
        ("kirik.xlsx", b"PK\x03\x04" + os.urandom(300), "ZIP container is damaged"),
    ],
)  # fmt: skip
def test_not_a_spreadsheet(
    book: ContactBook, tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    """A file that is no spreadsheet fails with a clear error saying what it is."""
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InvalidValue, match=message) as caught:
        book.import_file(path)
    assert "could not be read" in str(caught.value) or "empty" in str(caught.value)
    assert len(book) == 0


def test_word_document_and_damaged_workbook(book: ContactBook, tmp_path: Path) -> None:
    """A .docx renamed .xlsx is named; a workbook calamine cannot parse chains its error."""
    docx = tmp_path / "mektup.xlsx"
    with zipfile.ZipFile(docx, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    with pytest.raises(InvalidValue, match="it is a Word document"):
        book.import_file(docx)
    broken = tmp_path / "bozuk.xlsx"
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook><sheets><sheet name='x' r:id='1'")
    with pytest.raises(InvalidValue, match=r"bozuk.xlsx: could not be read as .xlsx") as caught:
        book.import_file(broken)
    assert caught.value.__cause__ is not None
    with pytest.raises(InvalidValue, match="no such file"):
        book.import_file(tmp_path / "yok.xlsx")


# -- failures, progress ---------------------------------------------------------------


class FailingStorage(MemoryStorage):
    """A storage whose n-th upsert_contacts call fails, as a database might."""

    def __init__(self, fail_on: int) -> None:
        super().__init__()
        self.calls = 0
        self.fail_on = fail_on

    def upsert_contacts(
        self, contacts: Iterable[Recipient], *, group: str | None = None
    ) -> UpsertResult:
        self.calls += 1
        if self.calls == self.fail_on:
            raise OSError("disk full")
        return super().upsert_contacts(contacts, group=group)


def _numbered_csv(path: Path, rows: int) -> Path:
    lines = ["Ad;Telefon"] + [f"A{i};0532{i:07d}" for i in range(rows)]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


def test_failure_mid_file_raises_with_the_partial_report(tmp_path: Path) -> None:
    """A storage failing on the 3rd chunk: ImportFailed says what is stored; a re-run is safe."""
    path = _numbered_csv(tmp_path / "r.csv", 50)
    storage = FailingStorage(fail_on=3)
    with pytest.raises(ImportFailed) as caught:
        import_contacts(storage, path, chunk_size=10)
    report = caught.value.report
    assert isinstance(report, ImportReport)
    assert isinstance(caught.value.__cause__, OSError)
    assert not report.complete
    assert (report.imported, report.stored_through) == (20, 21)
    assert "stopped at row 32" in str(caught.value)
    assert "Rows up to 21 are stored" in str(caught.value)
    assert "STOPPED" in str(report)
    assert storage.count_contacts() == 20
    rerun = import_contacts(storage, path, chunk_size=10)
    check_counts(rerun)
    assert (rerun.imported, rerun.updated) == (30, 20)
    assert storage.count_contacts() == 50


def test_progress_once_per_chunk_and_cancel(tmp_path: Path) -> None:
    """progress(rows_done, total) is called once a chunk and at the end; raising cancels."""
    path = write_xlsx(tmp_path / "r.xlsx", [["Telefon"]] + [[f"0532{i:07d}"] for i in range(25)])
    calls: list[tuple[int, int | None]] = []
    import_contacts(
        MemoryStorage(), path, chunk_size=10, progress=lambda d, t: calls.append((d, t))
    )
    assert calls == [(11, 26), (21, 26), (26, 26)]
    csv_calls: list[tuple[int, int | None]] = []
    csv_path = _numbered_csv(tmp_path / "r.csv", 5)
    import_contacts(MemoryStorage(), csv_path, progress=lambda d, t: csv_calls.append((d, t)))
    assert csv_calls == [(6, None)]

    def cancel(done: int, total: int | None) -> None:
        raise KeyError("cancelled by the user")

    storage = MemoryStorage()
    with pytest.raises(ImportFailed) as caught:
        import_contacts(storage, path, chunk_size=10, progress=cancel)
    assert isinstance(caught.value.__cause__, KeyError)
    assert storage.count_contacts() == caught.value.report.imported == 10


def test_trusted_recipients_equal_constructed_ones() -> None:
    """The importer's fast construction gives exactly what Recipient(...) gives."""
    fast = trusted_recipient("+905321234567", "Ayşe", None, "a@b.co", {"sehir": "İzmir"},
                      RecipientType.TACIR)  # fmt: skip
    slow = Recipient("+905321234567", "Ayşe", None, "a@b.co", {"sehir": "İzmir"}, "TACIR")
    assert fast == slow
    assert repr(fast) == repr(slow)
    assert hash(fast) == hash(slow)


def test_sqlite_integration(tmp_path: Path) -> None:
    """An import into SQLStorage (SQLite) stores the same contacts and groups."""
    from isobil.storage import SQLStorage

    path = write_xlsx(
        tmp_path / "r.xlsx",
        [["Ad", "Telefon", "Şehir"], ["Ayşe", 5321234567.0, "İzmir"], ["Ali", "yok", ""]],
    )
    with SQLStorage(f"sqlite:///{tmp_path / 'isobil.db'}") as storage:
        report = ContactBook(storage).import_file(path, group="VIP")
        check_counts(report)
        assert (report.imported, len(report.invalid)) == (1, 1)
        assert list(storage.iter_contacts(group="VIP")) == [
            Recipient("+905321234567", "Ayşe", None, None, {"sehir": "İzmir"})
        ]


# -- CSV decoded a block at a time (issue 18) ----------------------------------

_CSV_LINE = st.lists(
    st.sampled_from(["Ayşe", "Işık", "0532 123 45 67", '"a;b"', '"iki\nsatır"', "x", ""]),
    max_size=4,
).map(";".join)


@settings(
    deadline=None, max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lines=st.lists(st.tuples(_CSV_LINE, st.sampled_from(["utf-8", "cp1254"])), max_size=12),
    ends=st.sampled_from(["\n", "\r\n"]),
    last_end=st.booleans(),
    block=st.integers(min_value=1, max_value=40),
)
def test_csv_blocks_decode_as_line_by_line(
    lines: list[tuple[str, str]],
    ends: str,
    last_end: bool,
    block: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Decoding whole blocks gives the lines, and the encoding, that decoding each line
    gives, wherever the blocks are cut and however UTF-8 and cp1254 lines mix."""
    from isobil.contacts import _readers

    data = b"".join(
        text.encode(encoding) + (ends.encode() if i < len(lines) - 1 or last_end else b"")
        for i, (text, encoding) in enumerate(lines)
    )
    reference = _readers._CsvDecoder(bom=False)
    expected = list(reference._decoded(io.BytesIO(data)))
    monkeypatch.setattr(_readers, "_BLOCK_BYTES", block)
    decoder = _readers._CsvDecoder(bom=False)
    assert list(decoder.lines(io.BytesIO(data))) == expected
    assert decoder.encoding == reference.encoding
