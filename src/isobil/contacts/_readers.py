"""Read the rows of a spreadsheet or CSV file, whatever an office produced.

The format is decided by the file's first bytes, not its name: a 97-2003 workbook
saved as ``.xlsx``, an HTML table saved as ``.xls`` and a CSV saved as ``.xls``
all exist in the wild. Workbooks (.xlsx, .xlsm, .xlsb, .xls, .ods) are read with
python-calamine; CSV files are streamed line by line in constant memory.

CSV encoding: each line is decoded as UTF-8 and, when it is not valid UTF-8, as
Windows-1254 (the Turkish code page). Decoding per line (rather than guessing
once from the start of the file) copes with a file whose first megabyte is
plain ASCII and whose first "ş" comes at row 700,000, and with files pasted
together from both encodings; :attr:`TableReader.encoding` says what was seen.
A UTF-8 BOM is dropped; a UTF-16 BOM (Excel's "Unicode text") switches to UTF-16.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import os
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Final

import python_calamine

from isobil._meter import Meter
from isobil.contacts._guards import check_xlsx, checked_xls
from isobil.errors import InvalidValue

__all__ = ["Cell", "TableReader", "cell_text", "open_table"]

Cell = str | int | float | bool | datetime | date | time | timedelta | None

#: How much of a CSV file is looked at to sniff the delimiter and spot binary data.
SAMPLE_BYTES: Final = 1 << 20
_DELIMITERS: Final = (";", ",", "\t", "|")
#: CSV bytes decoded at a time (cut after the block's last line end).
_BLOCK_BYTES: Final = 1 << 18
_SPREADSHEET_SUFFIXES: Final = {
    "xlsx": {".xlsx", ".xlsm", ".xltx", ".xltm"},
    "xlsb": {".xlsb"},
    "xls": {".xls", ".xla", ".xlt"},
    "ods": {".ods"},
}
_OLE2: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# What people rename to .xlsx / .csv by mistake, by signature, to say what it is.
_NOT_SPREADSHEETS: Final = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"{\\rtf", "an RTF document"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"BM", "a BMP image"),
)
_UTF16_BOMS: Final = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def cell_text(value: Cell) -> str:
    """A cell as the text a person sees: whole floats without ``.0``, dates in ISO form."""
    if value is None:
        return ""
    if type(value) is str:
        return value.strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        # A number typed into a cell is a float even when whole: 34 is stored as 34.0.
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds" if value.microsecond == 0 else "auto")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).strip()


class TableReader:
    """The rows of one worksheet or CSV file, read lazily, first row first.

    Iterating yields one list of cells per spreadsheet row, starting with row 1
    (blank rows included, so ``enumerate(reader, start=1)`` gives the row
    numbers a person sees in Excel). ``total_rows`` is known for workbooks and
    ``None`` for CSV. Use it as a context manager, or call :meth:`close`.

    How far reading got is measured in ``meter_unit``: rows of a workbook (out
    of ``total_rows``), bytes of a CSV file (out of its size, known up front);
    ``meter_total`` is that total and :meth:`meter_done` the amount read.
    """

    format: str
    sheet: str | None
    delimiter: str | None
    total_rows: int | None

    def __init__(
        self,
        path: Path,
        format: str,
        rows: Iterator[Sequence[Cell]],
        *,
        sheet: str | None = None,
        delimiter: str | None = None,
        total_rows: int | None = None,
        closer: IO[bytes] | io.TextIOWrapper | python_calamine.CalamineWorkbook | None = None,
        csv_state: _CsvDecoder | None = None,
        size: int | None = None,
        tell: Callable[[], int] | None = None,
    ) -> None:
        self.path = path
        self.format = format
        self.sheet = sheet
        self.delimiter = delimiter
        self.total_rows = total_rows
        self._rows = rows
        self._closer = closer
        self._csv = csv_state
        self._tell = tell
        self.meter_unit = "rows" if tell is None else "bytes"
        self.meter_total = total_rows if tell is None else size

    def meter_done(self, rows: int) -> int:
        """How much is read once ``rows`` rows were handed out, in :attr:`meter_unit`."""
        if self._tell is None:
            return rows
        try:
            return self._tell()
        except (OSError, ValueError):  # a closed file: everything was read
            return self.meter_total or 0

    @property
    def encoding(self) -> str | None:
        """For CSV: ``utf-8``, ``utf-8-sig``, ``utf-16``, ``cp1254`` or ``utf-8+cp1254``."""
        return None if self._csv is None else self._csv.encoding

    def __iter__(self) -> Iterator[Sequence[Cell]]:
        return self._rows

    def close(self) -> None:
        """Release the file (and the workbook's memory)."""
        closer, self._closer = self._closer, None
        if closer is not None:
            closer.close()

    def __enter__(self) -> TableReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_table(
    path: str | Path, *, sheet: str | int | None = None, meter: Meter | None = None
) -> TableReader:
    """Open ``path`` for reading rows; the format is found from the content.

    ``sheet`` picks a worksheet by name or 0-based index (default: the first
    visible one); it is ignored for CSV. Raises :class:`InvalidValue` that says
    what the file is when it is not a spreadsheet, is empty, or cannot be read.
    ``meter`` hears the stages of opening a workbook: ``"checking"`` (the safety
    scan, in bytes) and ``"loading"`` (the reader parsing the sheet, no total).
    """
    source = Path(path)
    try:
        with source.open("rb") as file:
            head = file.read(SAMPLE_BYTES)
    except FileNotFoundError:
        raise InvalidValue(f"{source}: no such file") from None
    except IsADirectoryError:
        raise InvalidValue(f"{source}: is a directory, not a spreadsheet") from None
    except OSError as exc:
        raise InvalidValue(f"{source}: cannot be opened: {exc.strerror or exc}") from exc
    if not head:
        raise InvalidValue(f"{source.name}: the file is empty")
    fmt = _sniff_format(source, head)
    if fmt == "csv":
        return _open_csv(source, head)
    return _open_workbook(source, fmt, sheet, meter)


def _expected() -> str:
    return "expected an .xlsx, .xls, .ods or .csv file"


def _sniff_format(path: Path, head: bytes) -> str:
    for signature, what in _NOT_SPREADSHEETS:
        if head.startswith(signature):
            raise InvalidValue(
                f"{path.name}: could not be read as a spreadsheet: it is {what}; {_expected()}"
            )
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_format(path)
    if head.startswith(_OLE2):
        return "xls"
    text_start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:512].lower()
    if text_start.startswith((b"<!doctype html", b"<html", b"<table", b"<meta")):
        raise InvalidValue(
            f"{path.name}: could not be read as a spreadsheet: it is an HTML page (some "
            "systems save a web table under an .xls name); open it in Excel and save it "
            "as .xlsx or .csv"
        )
    if text_start.startswith(b"<?xml"):
        raise InvalidValue(
            f"{path.name}: could not be read as a spreadsheet: it is an XML document "
            "(perhaps an 'XML Spreadsheet 2003'); open it in Excel and save it as .xlsx"
        )
    if head.startswith(_UTF16_BOMS):
        return "csv"
    if b"\x00" in head or _control_ratio(head) > 0.01:
        raise InvalidValue(
            f"{path.name}: could not be read as a spreadsheet: it is binary data that is "
            f"neither a workbook nor text; {_expected()}"
        )
    return "csv"


def _control_ratio(head: bytes) -> float:
    sample = head[:65536]
    controls = sum(1 for b in sample if b < 0x20 and b not in (0x09, 0x0A, 0x0D))
    return controls / len(sample)


def _zip_format(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            mimetype = archive.read("mimetype")[:100] if "mimetype" in names else b""
    except Exception as exc:  # BadZipFile, and on damage NotImplementedError, UnicodeError…
        raise InvalidValue(
            f"{path.name}: could not be read as .xlsx: the ZIP container is damaged or "
            f"truncated ({exc})"
        ) from exc
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "xl/workbook.bin" in names:
        return "xlsb"
    if b"opendocument.spreadsheet" in mimetype:
        return "ods"
    if "word/document.xml" in names:
        what = "a Word document"
    elif "ppt/presentation.xml" in names:
        what = "a PowerPoint presentation"
    elif mimetype.startswith(b"application/vnd.oasis.opendocument"):
        what = "an OpenDocument file that is not a spreadsheet"
    else:
        what = "a ZIP archive"
    raise InvalidValue(
        f"{path.name}: could not be read as a spreadsheet: it is {what}; {_expected()}"
    )


# -- workbooks -----------------------------------------------------------


def _reader_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is the reader failing: its errors, and its panics.

    A Rust panic inside python-calamine arrives as ``pyo3_runtime.PanicException``,
    a ``BaseException`` that ``except Exception`` lets through.
    """
    return not isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit)


def _open_workbook(
    path: Path, fmt: str, sheet: str | int | None, meter: Meter | None = None
) -> TableReader:
    # The checks come first: calamine aborts the process (no exception) when a
    # file makes it allocate more memory than there is (see _guards).
    if fmt == "xlsx":
        check_xlsx(path, meter)
    try:
        if fmt == "xls":
            if meter is not None:
                meter.phase("checking", path.stat().st_size, "bytes")
            # calamine reads a container rebuilt around the checked workbook stream.
            checked = checked_xls(path)
            if meter is not None:
                meter.phase("loading", None, "rows")
            book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(checked))
            del checked
        elif path.suffix.lower() in _SPREADSHEET_SUFFIXES[fmt]:
            if meter is not None:
                meter.phase("loading", None, "rows")
            book = python_calamine.CalamineWorkbook.from_path(str(path))
        else:
            # calamine picks the reader by the file name; a misnamed file is read
            # through a file object, where it looks at the content instead.
            if meter is not None:
                meter.phase("loading", None, "rows")
            with path.open("rb") as file:
                book = python_calamine.CalamineWorkbook.from_filelike(file)
    except InvalidValue:
        raise
    except BaseException as exc:  # calamine's errors, others on odd input, and panics
        if not _reader_failure(exc):
            raise
        raise _unreadable(path, fmt, exc) from exc
    try:
        name = _pick_sheet(path, book, sheet)
        data = book.get_sheet_by_name(name)
        start = data.start
        if start is None:
            total = 0
            rows: Iterator[Sequence[Cell]] = iter(())
        else:
            total = start[0] + data.height
            rows = _absolute_rows(data.iter_rows(), start[0], start[1])
    except InvalidValue:
        book.close()
        raise
    except BaseException as exc:
        book.close()
        if not _reader_failure(exc):
            raise
        raise _unreadable(path, fmt, exc) from exc
    rows = _guarded_rows(path, fmt, rows)
    return TableReader(path, fmt, rows, sheet=name, total_rows=total, closer=book)


def _guarded_rows(path: Path, fmt: str, rows: Iterator[Sequence[Cell]]) -> Iterator[Sequence[Cell]]:
    """``rows``, with a failure of the reader while handing them out made an isobil error."""
    number = 0
    try:
        for number, row in enumerate(rows, start=1):  # noqa: B007 - the count is for the error
            yield row
    except BaseException as exc:
        if not _reader_failure(exc):
            raise
        raise InvalidValue(
            f"{path.name}: could not be read as .{fmt}: row {number + 1} failed: {exc}"
        ) from exc


def _unreadable(path: Path, fmt: str, exc: BaseException) -> InvalidValue:
    hint = ""
    if fmt == "xls" and "password" not in str(exc).lower():
        hint = " (a password-protected workbook cannot be read either)"
    return InvalidValue(f"{path.name}: could not be read as .{fmt}: {exc}{hint}")


def _pick_sheet(path: Path, book: python_calamine.CalamineWorkbook, sheet: str | int | None) -> str:
    names = list(book.sheet_names)
    if not names:
        raise InvalidValue(f"{path.name}: the workbook has no worksheets")
    if sheet is None:
        for meta in book.sheets_metadata:
            if (
                meta.typ == python_calamine.SheetTypeEnum.WorkSheet
                and meta.visible == python_calamine.SheetVisibleEnum.Visible
            ):
                return meta.name
        return names[0]
    if isinstance(sheet, int):
        if 0 <= sheet < len(names):
            return names[sheet]
    elif sheet in names:
        return sheet
    listed = ", ".join(repr(n) for n in names)
    raise InvalidValue(f"{path.name}: no worksheet {sheet!r}; the workbook has {listed}")


def _absolute_rows(
    rows: Iterator[Sequence[Cell]], first_row: int, first_column: int
) -> Iterator[Sequence[Cell]]:
    """Rows from spreadsheet row 1 and cells from column A, as a person counts them.

    python-calamine 0.9 yields the empty rows above the data but starts each row
    at the first used column. Should a version start at the first used row
    instead (a row whose cells are not all empty), the missing rows are added.
    """
    first = next(rows, None)
    if first is None:
        return iter(())
    above: list[Sequence[Cell]] = []
    if first_row > 0 and any(cell != "" for cell in first):
        above = [[] for _ in range(first_row)]
    if first_column == 0:
        # itertools.chain hands rows on without a Python frame per row.
        return itertools.chain(above, (first,), rows)
    pad: list[Cell] = [""] * first_column
    return itertools.chain(above, ([*pad, *row] for row in itertools.chain((first,), rows)))


# -- CSV -----------------------------------------------------------------


class _CsvDecoder:
    """Decode lines as UTF-8, or as Windows-1254 when a line is not UTF-8; count both."""

    def __init__(self, bom: bool) -> None:
        self.bom = bom
        self.fixed: str | None = None
        self.utf8_lines = 0
        self.cp1254_lines = 0

    @property
    def encoding(self) -> str:
        if self.fixed is not None:
            return self.fixed
        if self.cp1254_lines and (self.utf8_lines or self.bom):
            return "utf-8+cp1254"
        if self.cp1254_lines:
            return "cp1254"
        return "utf-8-sig" if self.bom else "utf-8"

    def lines(self, file: IO[bytes]) -> Iterator[str]:
        # A block of whole lines at a time: when the block is UTF-8 (nearly always)
        # its lines are decoded in one call and split by a StringIO in C, at the
        # speed of reading the file as text. A block that is not UTF-8 is decoded
        # line by line.
        rest: list[bytes] = []  # the start of a line that goes on in the next block
        while True:
            block = file.read(_BLOCK_BYTES)
            if not block:
                if rest:
                    yield from self._decoded([b"".join(rest)])
                return
            end = block.rfind(b"\n") + 1
            if end == 0:
                rest.append(block)
                continue
            whole = b"".join((*rest, block[:end])) if rest else block[:end]
            rest = [block[end:]] if end < len(block) else []
            if whole.isascii():
                yield from io.StringIO(whole.decode("ascii"), newline="\n")
                continue
            try:
                text = whole.decode("utf-8")
            except UnicodeDecodeError:
                yield from self._decoded(io.BytesIO(whole))
                continue
            self.utf8_lines += 1  # counts blocks here: only whether there were any matters
            yield from io.StringIO(text, newline="\n")

    def _decoded(self, lines: Iterable[bytes]) -> Iterator[str]:
        for raw in lines:
            if raw.isascii():
                yield raw.decode("ascii")
                continue
            try:
                text = raw.decode("utf-8")
                self.utf8_lines += 1
            except UnicodeDecodeError:
                # A few bytes (81, 8D, 8E, 8F, 90, 9D, 9E) mean nothing in cp1254; a line
                # holding them is in neither encoding, so they stay visibly wrong (U+FFFD).
                text = raw.decode("cp1254", errors="replace")
                self.cp1254_lines += 1
            yield text


def _open_csv(path: Path, head: bytes) -> TableReader:
    file: IO[bytes] = path.open("rb")
    closer: IO[bytes] | io.TextIOWrapper = file  # a text wrapper must be closed itself
    try:
        decoder = _CsvDecoder(bom=head.startswith(codecs.BOM_UTF8))
        lines: Iterator[str]
        if head.startswith(_UTF16_BOMS):
            decoder.fixed = "utf-16"
            sample = head.decode("utf-16", errors="ignore")
            lines = _utf16_lines(path, file)
        else:
            if decoder.bom:
                file.read(len(codecs.BOM_UTF8))
            sample = head.decode("utf-8", errors="replace").lstrip("\ufeff")
            if "\r" in sample and "\n" not in sample:
                # Old Mac line ends (CR only): let universal newlines split them.
                decoder.fixed = "cp1254" if not _is_utf8(head) else "utf-8"
                text = io.TextIOWrapper(
                    file, encoding=decoder.fixed, errors="replace", newline=None
                )
                closer, lines = text, iter(text)
            else:
                lines = decoder.lines(file)
        delimiter, skip_sep_line = _sniff_delimiter(sample)
        if skip_sep_line:
            # Excel's "sep=;" hint line: Excel hides it, so row 1 is the line after it.
            next(lines, None)
        reader = csv.reader(lines, delimiter=delimiter)
        rows: Iterator[Sequence[Cell]] = _csv_rows(path, reader)
        size = os.fstat(file.fileno()).st_size
    except Exception:
        file.close()
        raise
    return TableReader(
        path,
        "csv",
        rows,
        delimiter=delimiter,
        closer=closer,
        csv_state=decoder,
        size=size,
        tell=file.tell,
    )


_LINE: Final = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)")


def _utf16_lines(path: Path, file: IO[bytes]) -> Iterator[str]:
    """The lines of a UTF-16 file with their line ends (as ``newline=""`` gives them).

    Text that is not UTF-16 (an odd number of bytes, an unpaired surrogate) is an
    :class:`InvalidValue` naming the byte where it goes wrong.
    """
    decoder = codecs.getincrementaldecoder("utf-16")()
    fed = 0  # bytes handed to the decoder so far
    pending = ""
    while True:
        chunk = file.read(1 << 16)
        buffered = len(decoder.buffer)
        try:
            text = decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            offset = fed - buffered + exc.start
            raise InvalidValue(
                f"{path.name}: the text is not valid UTF-16 (as its byte-order mark "
                f"says) at byte {offset:,}: {exc.reason}"
            ) from exc
        fed += len(chunk)
        text = pending + text
        end = 0
        for match in _LINE.finditer(text):
            if match.end() == len(text) and text.endswith("\r") and chunk:
                break  # a CR at the end of a chunk may be the first half of CR LF
            yield match.group()
            end = match.end()
        pending = text[end:]
        if not chunk:
            if pending:
                yield pending
            return


def _is_utf8(data: bytes) -> bool:
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _csv_rows(path: Path, reader: Iterator[list[str]]) -> Iterator[Sequence[Cell]]:
    try:
        yield from reader
    except csv.Error as exc:
        line = getattr(reader, "line_num", "?")
        raise InvalidValue(
            f"{path.name}: the CSV text is malformed near line {line}: {exc}"
        ) from exc


def _sniff_delimiter(sample: str) -> tuple[str, bool]:
    """The delimiter that splits the first lines most consistently, and whether a
    ``sep=`` hint line came first.

    Turkish Excel writes ``;`` (the comma is the decimal separator), others ``,``;
    Excel's "Unicode text" uses tabs.
    """
    lines = sample.splitlines()[:50]
    if len(lines) > 1 and len(sample) >= SAMPLE_BYTES // 2:
        lines = lines[:-1]  # the last line of the sample may be cut short
    first = lines[0].strip() if lines else ""
    if first.lower().startswith("sep=") and len(first) == 5:
        return first[4], True
    best, best_score = ",", -1
    for delimiter in _DELIMITERS:
        counts: dict[int, int] = {}
        try:
            for row in csv.reader(lines, delimiter=delimiter):
                if len(row) > 1:
                    counts[len(row)] = counts.get(len(row), 0) + 1
        except csv.Error:
            continue
        # Rows that split into the most common field count: a consistent split wins.
        score = max(counts.values(), default=0)
        if score > best_score:
            best, best_score = delimiter, score
    return best, False
