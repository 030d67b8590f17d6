"""Damaged and hostile spreadsheets: refused with an isobil error, never a dead process.

python-calamine keeps a sheet as a dense grid and aborts the process (SIGABRT, no
exception) when a file asks for more memory than there is; on other damage it
panics with a ``BaseException``. The fuzz test reads thousands of damaged files in a
subprocess under a 1 GiB address-space limit, so a death is observed, not suffered.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import random
import re
import resource
import signal
import struct
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import python_calamine
import xlwt

from isobil.contacts import ContactBook, open_table
from isobil.contacts._guards import MAX_CELLS, checked_xls
from isobil.errors import InvalidValue
from isobil.storage import MemoryStorage

HERE = Path(__file__).parent
MEMORY_LIMIT = 1 << 30

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    'package/2006/content-types"><Default Extension="rels" ContentType="application/'
    'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
    '"application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName='
    '"/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument'
    '.spreadsheetml.worksheet+xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats'
    '.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
    'openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/'
    'workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
    'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships"><sheets><sheet name="Rehber" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats'
    '.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
    'openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/'
    'sheet1.xml"/></Relationships>'
)


def minimal_xlsx(cells: dict[str, str], *, dimension: str | None = None) -> bytes:
    """An .xlsx of one sheet 'Rehber' holding ``cells`` ({"A1": "Telefon"}) as inline text."""
    by_row: dict[int, list[str]] = {}
    for ref, value in cells.items():
        row = int(re.sub("[A-Z]", "", ref))
        by_row.setdefault(row, []).append(f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>')
    rows = "".join(f'<row r="{r}">{"".join(c)}</row>' for r, c in sorted(by_row.items()))
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats'
        f'.org/spreadsheetml/2006/main">{dim}<sheetData>{rows}</sheetData></worksheet>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return out.getvalue()


ROWS: list[list[Any]] = [
    ["Ad", "Soyad", "Cep Telefonu", "Şehir", "Doğum"],
    ["Ayşe", "Yılmaz", "0532 123 45 67", "İstanbul", dt.date(1990, 5, 17)],
    ["Çağrı", "Öztürk", 5331234567, "Iğdır", dt.date(1985, 1, 2)],
    ["Mehmet", "Kaya", "+90 (544) 765-4321", "Ankara", 34.5],
    ["Zeynep", None, "905051112233", "Muğla", True],
]


def openpyxl_xlsx() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Rehber"
    for row in ROWS:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def xlwt_xls(sheets: int = 1) -> bytes:
    book = xlwt.Workbook(encoding="utf-8")
    for number in range(sheets):
        sheet = book.add_sheet(f"Rehber{number or ''}")
        for r, row in enumerate(ROWS):
            for c, value in enumerate(row):
                if isinstance(value, dt.date):
                    sheet.write(r, c, value, xlwt.easyxf(num_format_str="DD.MM.YYYY"))
                elif value is not None:
                    sheet.write(r, c, value)
        sheet.write(40, 3, xlwt.Formula("1+2"))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(encoding: str, delimiter: str) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, delimiter=delimiter, lineterminator="\r\n")
    for row in ROWS:
        writer.writerow(["" if v is None else v for v in row])
    return text.getvalue().encode(encoding)


# -- unit tests -----------------------------------------------------------------------


def test_last_cell_of_the_grid_is_refused_before_the_reader_allocates(tmp_path: Path) -> None:
    """A 1.5 KB .xlsx with A1 and XFD1048576 asked calamine for 512 GiB and aborted."""
    path = tmp_path / "rehber.xlsx"
    path.write_bytes(minimal_xlsx({"A1": "Telefon", "XFD1048576": "x"}, dimension="A1:XFD1048576"))
    assert len(path.read_bytes()) < 2000
    message = (
        "rehber.xlsx: sheet 'Rehber' spans 16,384 columns × 1,048,576 rows "
        "(A1:XFD1048576), 17,179,869,184 cells; isobil reads at most 16,777,216 cells"
    )
    with pytest.raises(InvalidValue, match=re.escape(message)):
        open_table(path)
    book = ContactBook(MemoryStorage())
    with pytest.raises(InvalidValue, match=re.escape(message)):
        book.import_file(path)
    assert len(book) == 0


def test_declared_dimension_alone_does_not_refuse(tmp_path: Path) -> None:
    """calamine sizes the grid by the cells, not by <dimension>: a stale one is harmless."""
    path = tmp_path / "eski.xlsx"
    path.write_bytes(
        minimal_xlsx({"A1": "Telefon", "A2": "05321234567"}, dimension="A1:XFD1048576")
    )
    with open_table(path) as reader:
        assert [list(row) for row in reader] == [["Telefon"], ["05321234567"]]


def test_sheet_at_the_limit_is_read_and_one_past_it_refused(tmp_path: Path) -> None:
    """MAX_CELLS is the bound: 1,048,576 rows × 16 columns passes, × 17 does not."""
    ok = tmp_path / "ok.xlsx"
    ok.write_bytes(minimal_xlsx({"A1": "Telefon", "P1048576": "x"}))
    assert MAX_CELLS == 1_048_576 * 16
    from isobil.contacts._guards import check_xlsx

    check_xlsx(ok)  # the check alone: reading it would take 512 MiB
    wide = tmp_path / "genis.xlsx"
    wide.write_bytes(minimal_xlsx({"A1": "Telefon", "Q1048576": "x"}))
    with pytest.raises(InvalidValue, match=r"spans 17 columns × 1,048,576 rows \(A1:Q1048576\)"):
        check_xlsx(wide)


def test_reference_outside_the_grid_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "disari.xlsx"
    path.write_bytes(minimal_xlsx({"A1": "Telefon", "XFE1": "x"}))
    with pytest.raises(InvalidValue, match=r"cell XFE1 lies outside Excel's grid"):
        open_table(path)


def test_implicit_positions_are_followed(tmp_path: Path) -> None:
    """Cells without r= are placed by counting, as calamine does; a wide row is caught."""
    path = tmp_path / "sayim.xlsx"
    wide = "".join("<c><v>1</v></c>" for _ in range(20))
    data = minimal_xlsx({"A1": "Telefon"})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        parts = {n: archive.read(n) for n in archive.namelist()}
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"].replace(
        b"</sheetData>", f'<row r="1048576">{wide}</row></sheetData>'.encode()
    )
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    with pytest.raises(InvalidValue, match=r"spans 20 columns × 1,048,576 rows \(A1:T1048576\)"):
        open_table(path)


def test_shared_strings_zip_bomb_is_refused(tmp_path: Path) -> None:
    from isobil.contacts import _guards

    path = tmp_path / "bomba.xlsx"
    data = minimal_xlsx({"A1": "Telefon"})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        parts = {n: archive.read(n) for n in archive.namelist()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
        archive.writestr("xl/sharedStrings.xml", b"<sst>" + b" " * (3 << 20) + b"</sst>")
    limit = _guards.MAX_PART_BYTES
    try:
        _guards.MAX_PART_BYTES = 1 << 20  # type: ignore[misc]
        with pytest.raises(InvalidValue, match=r"xl/sharedStrings.xml unpacks to more than 1 MiB"):
            open_table(path)
    finally:
        _guards.MAX_PART_BYTES = limit  # type: ignore[misc]


def _records(stream: bytes) -> Iterator[tuple[int, int, int]]:
    pos = 0
    while pos + 4 <= len(stream):
        typ, length = struct.unpack_from("<HH", stream, pos)
        yield pos, typ, length
        pos += 4 + length


def test_damaged_xls_dimensions_is_refused(tmp_path: Path) -> None:
    """A DIMENSIONS record edited to 2^32 rows (of 5 columns) made calamine reserve 800 GiB."""
    data = bytearray(xlwt_xls())
    start = 512  # xlwt writes the Workbook stream first, right after the header
    stream = bytes(data[start:])
    dims = [p for p, typ, length in _records(stream) if typ == 0x0200 and length == 14]
    assert dims
    struct.pack_into("<II", data, start + dims[0] + 4, 0, 0xFFFFFFFF)
    path = tmp_path / "kirik.xls"
    path.write_bytes(bytes(data))
    with pytest.raises(
        InvalidValue,
        match=r"sheet 'Rehber' declares 21,474,836,475 cells in "
        r"its DIMENSIONS record; isobil reads at most 16,777,216 cells",
    ):
        open_table(path)


def test_damaged_xls_container_is_refused(tmp_path: Path) -> None:
    """A FAT length and a directory chain that loops, which calamine allocated from."""
    data = bytearray(xlwt_xls())
    struct.pack_into("<I", data, 44, 0x7FFFFFFF)  # number of FAT sectors
    path = tmp_path / "fat.xls"
    path.write_bytes(bytes(data))
    with pytest.raises(
        InvalidValue,
        match=r"fat.xls: could not be read as .xls: the file is damaged: the header "
        r"declares 2,147,483,647 FAT sectors",
    ):
        open_table(path)
    data = bytearray(xlwt_xls())
    dir_start = struct.unpack_from("<I", data, 48)[0]
    fat_sector = struct.unpack_from("<I", data, 76)[0]
    struct.pack_into("<I", data, (fat_sector + 1) * 512 + 4 * dir_start, dir_start)
    path = tmp_path / "dongu.xls"
    path.write_bytes(bytes(data))
    with pytest.raises(InvalidValue, match=r"the directory chain loops at sector"):
        open_table(path)


def test_xls_reads_the_same_through_the_rebuilt_container(tmp_path: Path) -> None:
    """The checked stream in a rebuilt container reads exactly as the original file."""
    for sheets in (1, 3):
        data = xlwt_xls(sheets)
        path = tmp_path / f"rehber{sheets}.xls"
        path.write_bytes(data)
        original = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        rebuilt = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(checked_xls(path)))
        assert rebuilt.sheet_names == original.sheet_names
        for name in original.sheet_names:
            assert rebuilt.get_sheet_by_name(name).to_python() == (
                original.get_sheet_by_name(name).to_python()
            )


def test_reader_panic_becomes_an_isobil_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Rust panic (a BaseException) while opening or while reading rows is InvalidValue."""

    class PanicException(BaseException):  # what pyo3 raises; not an Exception
        pass

    path = tmp_path / "panik.xlsx"
    path.write_bytes(openpyxl_xlsx())

    class Sheet:
        start = (0, 0)
        height = 3

        def iter_rows(self) -> Iterator[list[str]]:
            yield ["Telefon"]
            raise PanicException("index out of bounds: the len is 1 but the index is 7")

    class Book:
        sheet_names = ("Rehber",)
        sheets_metadata = ()

        def get_sheet_by_name(self, name: str) -> Sheet:
            return Sheet()

        def close(self) -> None:
            pass

    def panics(*args: object) -> object:
        raise PanicException("attempt to subtract with overflow")

    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_path", panics)
    with pytest.raises(InvalidValue, match=r"could not be read as \.xlsx: attempt to subtract"):
        open_table(path)
    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_path", lambda *a: Book())
    with open_table(path) as reader:
        rows = iter(reader)
        assert next(rows) == ["Telefon"]
        with pytest.raises(InvalidValue, match="row 2 failed: index out of bounds"):
            next(rows)
    book = ContactBook(MemoryStorage())
    with pytest.raises(InvalidValue, match="row 2 failed"):
        book.import_file(path)


def test_utf16_csv_with_an_odd_byte_count_names_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "unicode.txt"
    good = csv_bytes("utf-16", "\t")
    path.write_bytes(good + b"\x00")
    with pytest.raises(
        InvalidValue,
        match=rf"unicode.txt: the text is not valid UTF-16 \(as its byte-order mark says\) "
        rf"at byte {len(good):,}: truncated data",
    ):
        ContactBook(MemoryStorage()).import_file(path)
    path.write_bytes(good[:40] + "\ud800".encode("utf-16-le", "surrogatepass") + good[40:])
    with open_table(path) as reader, pytest.raises(InvalidValue, match=r"at byte 40: illegal"):
        list(reader)
    path.write_bytes(good)
    with open_table(path) as reader:
        assert [list(r) for r in reader][1][:3] == ["Ayşe", "Yılmaz", "0532 123 45 67"]
        assert reader.encoding == "utf-16"


# -- the fuzz run ---------------------------------------------------------------------

Mutation = Callable[[random.Random, bytes], bytes]


def flip(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        out[rng.randrange(len(out))] = rng.randrange(256)
    return bytes(out)


def truncate(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(1, len(data))]


def flip_region(lo: int, hi: int) -> Mutation:
    def mutate(rng: random.Random, data: bytes) -> bytes:
        out = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            out[rng.randrange(lo, min(hi, len(out)))] = rng.choice((0, 0xFF, rng.randrange(256)))
        return bytes(out)

    return mutate


def _zip_parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _zip(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return out.getvalue()


def _random_ref(rng: random.Random) -> str:
    column = rng.choice(["A", "Z", "AA", "ZZ", "XFD", "XFE", "ZZZZ", "a", "", "XFD"])
    row = rng.choice(["1", "2", "1048576", "1048577", "4294967297", "0", "99999999999", ""])
    if rng.random() < 0.3:
        row = str(rng.randrange(1, 1_100_000))
    return column + row


def zip_swap(rng: random.Random, data: bytes) -> bytes:
    parts = _zip_parts(data)
    names = list(parts)
    a, b = rng.sample(names, 2)
    if rng.random() < 0.5:
        parts[a], parts[b] = parts[b], parts[a]
    else:
        del parts[a]
    return _zip(parts)


def zip_part_flip(rng: random.Random, data: bytes) -> bytes:
    parts = _zip_parts(data)
    name = rng.choice(list(parts))
    if parts[name]:
        parts[name] = flip(rng, parts[name])
    return _zip(parts)


def sheet_edit(rng: random.Random, data: bytes) -> bytes:
    """Dimension and cell reference edits in the sheet XML."""
    parts = _zip_parts(data)
    sheet = next(n for n in parts if n.startswith("xl/worksheets/"))
    xml = parts[sheet].decode("utf-8")
    choice = rng.random()
    if choice < 0.3:
        ref = f"A1:{_random_ref(rng)}"
        if "<dimension" in xml:
            xml = re.sub(r'<dimension ref="[^"]*"', f'<dimension ref="{ref}"', xml)
        else:
            xml = xml.replace("<sheetData", f'<dimension ref="{ref}"/><sheetData', 1)
    elif choice < 0.7:
        refs = list(re.finditer(r'<c r="([^"]*)"', xml))
        for match in rng.sample(refs, min(len(refs), rng.randint(1, 2))):
            xml = xml.replace(match.group(), f'<c r="{_random_ref(rng)}"', 1)
    elif choice < 0.85:
        xml = re.sub(r'(<(?:c|row)) r="[^"]*"', r"\1", xml, count=rng.randint(1, 50))
    else:
        rows = list(re.finditer(r'<row r="([^"]*)"', xml))
        if rows:
            match = rng.choice(rows)
            xml = xml.replace(match.group(), f'<row r="{rng.choice(["1048576", "0", "x"])}"', 1)
    parts[sheet] = xml.encode("utf-8")
    return _zip(parts)


def xls_record_edit(rng: random.Random, data: bytes) -> bytes:
    """Edit a DIMENSIONS, BOUNDSHEET or cell record of the Workbook stream."""
    out = bytearray(data)
    stream = bytes(out[512:])
    records = [
        (p, t, n) for p, t, n in _records(stream) if t in (0x0200, 0x0085, 0x00FD, 0x0203, 0x027E)
    ]
    pos, typ, length = rng.choice(records)
    at = 512 + pos + 4
    if typ == 0x0200 and length == 14:
        struct.pack_into(
            "<IIHH",
            out,
            at,
            rng.choice((0, 1, 65535, 0xFFFFFFFF)),
            rng.choice((0, 1, 65536, 0x7FFFFFFF, 0xFFFFFFFF)),
            rng.choice((0, 1, 255, 256, 0xFFFF)),
            rng.choice((0, 1, 256, 0xFFFF)),
        )
    elif typ == 0x0085:
        struct.pack_into("<I", out, at, rng.choice((0, 8, 0xFFFF, 0x7FFFFFFF, len(stream))))
    else:
        struct.pack_into("<HH", out, at, rng.randrange(65536), rng.randrange(65536))
    return bytes(out)


def csv_damage(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    choice = rng.random()
    if choice < 0.3:
        del out[rng.randrange(len(out))]  # an odd byte count in UTF-16
    elif choice < 0.5:
        out[rng.randrange(len(out)) : 0] = rng.choice(
            (b"\x00", b"\xff\xfe", b"\x00\xd8", b"\xed\xa0\x80", b'"', b"\r", b"\x81")
        )
    else:
        return flip(rng, data)
    return bytes(out)


def corpus(rng: random.Random) -> Iterator[tuple[str, bytes]]:
    """(suffix, content) of damaged files, 5,600 of them."""
    xlsx_bases = [
        openpyxl_xlsx(),
        minimal_xlsx({"A1": "Telefon", "B1": "Ad", "A2": "05321234567", "B2": "Ayşe"}),
    ]
    xls_bases = [xlwt_xls(1), xlwt_xls(2)]
    csv_bases = [
        csv_bytes(encoding, delimiter)
        for encoding in ("utf-8", "utf-8-sig", "cp1254", "utf-16", "utf-16-be")
        for delimiter in (";", ",", "\t")
    ]
    csv_bases += [codecs.BOM_UTF16_BE + base for base in csv_bases if base[:2] == b"\x00A"]
    plans: list[tuple[str, list[bytes], list[Mutation], int]] = [
        (".xlsx", xlsx_bases, [flip, truncate, zip_swap, zip_part_flip, sheet_edit], 2400),
        (
            ".xls",
            xls_bases,
            [flip, truncate, flip_region(0, 512), flip_region(512, 8192), xls_record_edit],
            2000,
        ),
        (".csv", csv_bases, [flip, truncate, csv_damage], 1200),
    ]
    for suffix, bases, mutations, count in plans:
        for number in range(count):
            data = rng.choice(bases)
            for _ in range(1 + (number % 3 == 0)):
                mutate = rng.choice(mutations)
                try:
                    data = mutate(rng, data)
                except Exception:  # zipfile, zlib and struct errors of a damaged input
                    data = flip(rng, data)  # an earlier mutation broke what this one edits
            yield suffix, data


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def read_all(paths: list[Path]) -> tuple[dict[int, str], dict[int, int]]:
    """Read ``paths`` in subprocesses under the memory limit: results and deaths by index.

    One subprocess reads many files, printing a line per file; when it dies, the
    file it was reading is recorded as a death and a fresh subprocess goes on.
    """
    results: dict[int, str] = {}
    deaths: dict[int, int] = {}
    todo = list(range(len(paths)))
    while todo:
        process = subprocess.Popen(
            [sys.executable, str(HERE / "_read_damaged.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            preexec_fn=_limit_memory,
        )
        try:
            lines = "".join(f"{i} {paths[i]}\n" for i in todo)
            out, _ = process.communicate(lines)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        for line in out.splitlines():
            index, _, result = line.partition(" ")
            results[int(index)] = result
        left = [i for i in todo if i not in results]
        if process.returncode != 0 and left:
            deaths[left[0]] = process.returncode
            left = left[1:]
        elif process.returncode != 0 or left:
            raise AssertionError(f"reader exited {process.returncode} with {len(left)} left")
        todo = left
    return results, deaths


def test_fuzz_damaged_files_never_kill_the_process(tmp_path: Path) -> None:
    """≥ 5,000 damaged .xlsx/.xls/.csv files under a 1 GiB limit: 0 deaths, isobil errors only."""
    rng = random.Random(20160)
    paths: list[Path] = []
    for number, (suffix, content) in enumerate(corpus(rng)):
        path = tmp_path / f"f{number:05d}{suffix}"
        path.write_bytes(content)
        paths.append(path)
    assert len(paths) >= 5000
    results, deaths = read_all(paths)
    dead = {
        paths[i].name: signal.Signals(-code).name if code < 0 else code
        for i, code in deaths.items()
    }
    assert dead == {}, f"{len(dead)} files killed the reader: {dict(list(dead.items())[:10])}"
    others = {paths[i].name: r for i, r in results.items() if r.split(" ", 1)[0] == "other"}
    assert others == {}, f"{len(others)} non-isobil errors: {dict(list(others.items())[:10])}"
    kinds = {r.split(" ", 1)[0] for r in results.values()}
    assert kinds == {"ok", "isobil"}  # some damage is harmless, most is refused
    assert len(results) == len(paths)
