"""Check a workbook before python-calamine reads it, so that no file can kill the process.

calamine keeps a sheet as a dense grid: one 32-byte slot for every cell between
the first and the last used cell. A 1.5 KB .xlsx with text in A1 and XFD1048576
asks for 17 billion slots (512 GiB) and the allocation failure *aborts* the
process; ``except`` cannot catch it. Damaged .xls files do the same through
sizes read from the file (the FAT length of the container, the DIMENSIONS record
of a sheet) and through sector chains that loop. So before calamine sees a file:

* **.xlsx**: every XML part of the ZIP is unpacked as a stream (never whole) and
  its ``<row>``/``<c>`` tags are followed the way calamine follows them (explicit
  ``r`` references and implicit positions): the used area of each sheet and its
  number of cells must stay within :data:`MAX_CELLS`, references must lie in
  Excel's grid (A1:XFD1048576), and a part that is not a sheet must unpack to at
  most :data:`MAX_PART_BYTES` (a ZIP bomb in the shared strings is refused).
* **.xls**: the OLE2 container is parsed here, every sector chain checked (in the
  file, no loops), and the BIFF workbook stream walked record by record: every
  sheet's declared DIMENSIONS and the cells its records place must stay within
  :data:`MAX_CELLS`, and what calamine reserves for all sheets (it reads them all
  at once) within :data:`MAX_READER_BYTES`. calamine then reads a container
  rebuilt here around the checked stream, so its own container parser only ever
  sees a well-formed file.

Each refusal is an :class:`~isobil.errors.InvalidValue` that names the file, the
sheet and the limit.
"""

from __future__ import annotations

import re
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from isobil._meter import Meter
from isobil.errors import InvalidValue

__all__ = ["MAX_CELLS", "MAX_PART_BYTES", "MAX_READER_BYTES", "check_xlsx", "checked_xls"]

#: The most cells of one sheet isobil lets the reader hold: the used area (first to
#: last used cell) and the number of cells. 16,777,216 is 1,048,576 rows × 16
#: columns, or a full .xls sheet (65,536 × 256); calamine needs 32 bytes a cell.
MAX_CELLS: Final = 1 << 24
#: The most memory a whole .xls workbook may ask of the reader (it reads every sheet).
MAX_READER_BYTES: Final = 640 << 20
#: The most an .xlsx part other than a sheet (shared strings, styles) may unpack to.
MAX_PART_BYTES: Final = 256 << 20

_MAX_ROWS: Final = 1_048_576
_MAX_COLUMNS: Final = 16_384
_CHUNK: Final = 1 << 20
_NAMES_BYTES: Final = 16 << 20  # read of workbook.xml and its relationships for sheet names
_SLOT_BYTES: Final = 32  # calamine's Data
_CELL_BYTES: Final = 40  # calamine's Cell<Data>: position and value


def column_letter(index: int) -> str:
    """The spreadsheet name of a 0-based column: 0 → ``A``, 27 → ``AB``."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@dataclass
class _Area:
    """The cells a sheet places: their bounding box and how many there are."""

    cells: int = 0
    top: int = -1
    bottom: int = -1
    left: int = -1
    right: int = -1

    def add(self, row: int, col: int) -> None:
        if self.cells == 0:
            self.top = self.bottom = row
            self.left = self.right = col
        else:
            self.top = min(self.top, row)
            self.bottom = max(self.bottom, row)
            self.left = min(self.left, col)
            self.right = max(self.right, col)
        self.cells += 1

    @property
    def rows(self) -> int:
        return self.bottom - self.top + 1 if self.cells else 0

    @property
    def columns(self) -> int:
        return self.right - self.left + 1 if self.cells else 0

    @property
    def slots(self) -> int:
        return self.rows * self.columns

    def ref(self) -> str:
        return (
            f"{column_letter(self.left)}{self.top + 1}:{column_letter(self.right)}{self.bottom + 1}"
        )


def _too_big(name: str, sheet: str, what: str) -> InvalidValue:
    return InvalidValue(
        f"{name}: sheet {sheet!r} {what}; isobil reads at most {MAX_CELLS:,} cells of a "
        "sheet (the reader holds every cell from the first to the last used one). "
        "Delete the stray cells far from the data (Ctrl+End shows the last one) and "
        "save the file again"
    )


def _check_area(name: str, sheet: str, area: _Area) -> None:
    if area.slots > MAX_CELLS:
        raise _too_big(
            name,
            sheet,
            f"spans {area.columns:,} columns × {area.rows:,} rows ({area.ref()}), "
            f"{area.slots:,} cells",
        )
    if area.cells > MAX_CELLS:
        raise _too_big(name, sheet, f"holds {area.cells:,} cells")


def _damaged(name: str, fmt: str, what: str) -> InvalidValue:
    return InvalidValue(f"{name}: could not be read as .{fmt}: the file is damaged: {what}")


# -- .xlsx -----------------------------------------------------------------

# A <row> or <c> tag (any namespace prefix), its leading r attribute when it comes
# first (as every writer puts it), its other attributes, and for <c> an end tag
# right after it (an empty cell). Attribute values may hold ">" but not "<".
_PREFIX: Final = rb"(?:[A-Za-z_][\w.\-]*:)?"
_TAG: Final = re.compile(
    rb"<(/?)" + _PREFIX + rb"(row|c)(?=[\s/>])"
    rb"(?:\s+r\s*=\s*\"([^\"<]*)\")?"
    rb"((?:[^<>\"']|\"[^\"<]*\"|'[^'<]*')*)>"
    rb"(\s*</" + _PREFIX + rb"c\s*>)?"
)
_TAG_START: Final = re.compile(rb"</?" + _PREFIX + rb"(?:row|c)(?=[\s/>])")
_R_ATTR: Final = re.compile(rb"(?:^|\s)r\s*=\s*(?:\"([^\"<]*)\"|'([^'<]*)')")
_REF: Final = re.compile(rb"\s*([A-Za-z]*)([0-9]+)\s*")
_SHEET_TAG: Final = re.compile(rb"<(?:[\w.\-]+:)?sheet\s((?:[^<>\"']|\"[^\"]*\"|'[^']*')*)/?>")
_RELATIONSHIP: Final = re.compile(
    rb"<(?:[\w.\-]+:)?Relationship\s((?:[^<>\"']|\"[^\"]*\"|'[^']*')*)/?>"
)
_ATTR: Final = re.compile(rb"([\w:.\-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")


def _attrs(text: bytes) -> dict[bytes, bytes]:
    return {m[1]: m[2] or m[3] for m in _ATTR.finditer(text)}


def _ref(value: bytes) -> tuple[int, int] | None:
    """``b"XFD1048576"`` → (row, column), 0-based; column -1 when there are no letters."""
    match = _REF.fullmatch(value)
    if match is None:
        return None
    letters, digits = match.groups()
    if len(digits) > 9 or len(letters) > 4:
        return (_MAX_ROWS, _MAX_COLUMNS)  # far outside the grid; refused by the caller
    return int(digits) - 1, _column_index(letters)


# The fast path: every cell tag starts <c r="A1" with a plain reference in the grid.
_FAST_COLUMN: Final = re.compile(rb'<c r="([A-Za-z]{1,3})[1-9]')
_FAST_ROW: Final = re.compile(rb'<c r="[A-Za-z]{1,3}([1-9][0-9]{0,6})"')


class _Recheck(Exception):
    """The quick bound of a part is over a limit: scan it tag by tag to be exact."""


class _SheetScan:
    """Follow the <row>/<c> tags of a sheet part the way calamine's cell reader does.

    Text where every cell tag begins ``<c r="B7"`` (what Excel and every library
    write) is bounded at C speed, empty cells counted too; the bound is an upper
    bound, and only when it is over a limit is the part scanned tag by tag, as
    calamine reads it (implicit positions, empty cells skipped).
    """

    def __init__(self, name: str, part: str, *, fast: bool) -> None:
        self.name = name
        self.part = part
        self.area = _Area()
        self.fast = fast
        self.row = 0
        self.col = 0

    def _bad(self, what: str) -> InvalidValue:
        return _damaged(self.name, "xlsx", f"{self.part}: {what}")

    def feed(self, text: bytes) -> None:
        if self.fast and self._feed_fast(text):
            return
        self._feed_tags(text, count=True)

    def _feed_fast(self, text: bytes) -> bool:
        cells = text.count(b'<c r="')
        if (
            text.count(b"<c") != cells
            or text.count(b"<row") != text.count(b'<row r="')
            or b":c" in text
            or b":row" in text
        ):
            return False  # other tags starting "<c", prefixed or implicit ones: tag by tag
        if cells:
            rows = _FAST_ROW.findall(text)
            if len(rows) != cells:
                return False
            columns = set(_FAST_COLUMN.findall(text))
            numbers = [int(row) for row in set(rows)]
            area = self.area
            indexes = [_column_index(column) for column in columns]
            area.add(min(numbers) - 1, min(indexes))
            area.add(max(numbers) - 1, max(indexes))
            area.cells += cells - 2
            if (
                area.bottom >= _MAX_ROWS
                or area.right >= _MAX_COLUMNS
                or area.slots > MAX_CELLS
                or area.cells > MAX_CELLS
            ):
                raise _Recheck
        # Where the text ends, the position of an implicit cell after it.
        last = max(text.rfind(b"<row"), text.rfind(b'<c r="'))
        if last >= 0:
            self._feed_tags(text[last:], count=False)
        return True

    def _feed_tags(self, text: bytes, *, count: bool) -> None:
        found = _TAG.findall(text)
        ends = 0  # the </c> of empty cells, matched with their start tag
        area = self.area if count else _Area()
        for closing, tag, first_r, rest, empty in found:
            if tag == b"row":
                if closing:
                    self.row += 1
                    self.col = 0
                    continue
                ref = first_r or (_attr_r(rest) if b"r" in rest else None)
                if ref is not None:
                    pos = _ref(ref)
                    if pos is None or pos[0] < 0:
                        raise self._bad(f"row number {ref.decode('latin-1')!r}")
                    self.row = pos[0]
                if rest.endswith(b"/"):  # <row/>: a start and an end
                    self.row += 1
                    self.col = 0
                continue
            if closing:
                continue
            ref = first_r or (_attr_r(rest) if b"r" in rest else None)
            if first_r and b"r" in rest and _attr_r(rest) is not None:
                raise self._bad("a cell with two positions")
            if ref is not None:
                pos = _ref(ref)
                if pos is None or pos[0] < 0 or pos[1] < 0:
                    raise self._bad(f"cell reference {ref.decode('latin-1')!r}")
                row, col = pos
                self.col = col
            else:
                row, col = self.row, self.col
            self.col += 1
            if empty:
                ends += 1
                continue  # calamine does not keep an empty cell
            if rest.endswith(b"/"):
                continue
            if row >= _MAX_ROWS or col >= _MAX_COLUMNS:
                raise self._bad(
                    f"cell {column_letter(col)}{row + 1} lies outside Excel's grid (A1:XFD1048576)"
                )
            area.add(row, col)
        # A tag the pattern could not read (a "<" inside a value, say) might hide a cell.
        if len(found) + ends != len(_TAG_START.findall(text)):
            raise self._bad("a <row> or <c> tag that cannot be read")


def _column_index(letters: bytes) -> int:
    col = 0
    for letter in letters.upper():
        col = col * 26 + letter - 64
    return col - 1


def _attr_r(rest: bytes) -> bytes | None:
    match = _R_ATTR.search(rest)
    if match is None:
        return None
    value: bytes = match[1] if match[1] is not None else match[2]
    return value


def _sheet_names(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet part path (lower case) → sheet name, as far as the workbook says it plainly."""
    names = {info.filename.lower(): info.filename for info in archive.infolist()}
    try:
        with archive.open(names.get("xl/workbook.xml", "xl/workbook.xml")) as part:
            workbook = part.read(_NAMES_BYTES)
        with archive.open(
            names.get("xl/_rels/workbook.xml.rels", "xl/_rels/workbook.xml.rels")
        ) as part:
            rels = part.read(_NAMES_BYTES)
    except Exception:  # a damaged part: the sheets are named by their part instead
        return {}
    targets: dict[bytes, str] = {}
    for match in _RELATIONSHIP.finditer(rels):
        attrs = _attrs(match[1])
        if b"Id" in attrs and b"Target" in attrs:
            target = attrs[b"Target"].decode("utf-8", "replace")
            path = target[1:] if target.startswith("/") else "xl/" + target
            targets[attrs[b"Id"]] = path.lower()
    found: dict[str, str] = {}
    for match in _SHEET_TAG.finditer(workbook):
        attrs = _attrs(match[1])
        rid = next((v for k, v in attrs.items() if k == b"id" or k.endswith(b":id")), None)
        if rid in targets and b"name" in attrs:
            found[targets[rid]] = attrs[b"name"].decode("utf-8", "replace")
    return found


def check_xlsx(path: Path, meter: Meter | None = None) -> None:
    """Refuse an .xlsx whose sheets calamine could not hold in memory, or a ZIP bomb.

    ``meter`` is told the ``"checking"`` stage first, its total the unpacked size
    of the XML parts as the ZIP directory declares it (known before any is
    unpacked), then the bytes unpacked so far after each MiB.
    """
    name = path.name
    try:
        with zipfile.ZipFile(path) as archive:
            sheets = _sheet_names(archive)
            parts = [
                info
                for info in archive.infolist()
                # calamine reads XML parts only
                if not info.is_dir() and info.filename.lower().endswith((".xml", ".rels"))
            ]
            if meter is not None:
                meter.phase("checking", sum(info.file_size for info in parts), "bytes")
            done = 0
            for info in parts:
                done += _check_part(name, archive, info, sheets, meter, done)
    except InvalidValue:
        raise
    except Exception as exc:  # zipfile, zlib, lzma and bz2 raise many kinds
        raise _damaged(name, "xlsx", f"the ZIP container cannot be unpacked ({exc})") from exc


def _check_part(
    name: str,
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    sheets: dict[str, str],
    meter: Meter | None,
    before: int,
) -> int:
    """Check one part; return its unpacked size (``before``: bytes of earlier parts)."""
    try:
        return _scan_part(name, archive, info, sheets, fast=True, meter=meter, before=before)
    except _Recheck:
        return _scan_part(name, archive, info, sheets, fast=False, meter=meter, before=before)


def _scan_part(
    name: str,
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    sheets: dict[str, str],
    *,
    fast: bool,
    meter: Meter | None = None,
    before: int = 0,
) -> int:
    part = info.filename
    sheet = sheets.get(part.lower(), part)
    is_sheet = part.lower() in sheets or part.lower().startswith("xl/worksheets/")
    scan = _SheetScan(name, part, fast=fast)
    size = 0
    carry = b""
    with archive.open(info) as member:
        while chunk := member.read(_CHUNK):
            size += len(chunk)
            data = carry + chunk
            # No "<" inside a tag: everything before the last "<" holds whole tags,
            # and so does all of it when a ">" comes after that "<".
            cut = data.rfind(b"<")
            if cut < 0 or data.rfind(b">") > cut:
                cut = len(data)
            scan.feed(data[:cut])
            carry = data[cut:]
            if len(carry) > _CHUNK:
                raise scan._bad("a tag longer than 1 MiB")
            if size > MAX_PART_BYTES and not is_sheet:
                raise _damaged(
                    name,
                    "xlsx",
                    f"the part {part} unpacks to more than {MAX_PART_BYTES >> 20} MiB "
                    "(a ZIP bomb?)",
                )
            if not fast:
                _check_area(name, sheet, scan.area)
            if meter is not None:
                meter.update(before + size)
    scan.feed(carry)
    try:
        _check_area(name, sheet, scan.area)
    except InvalidValue:
        if fast:  # partly an upper bound: be exact before refusing
            raise _Recheck from None
        raise
    return size


# -- .xls ------------------------------------------------------------------

_OLE2: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_MAXREGSECT: Final = 0xFFFFFFFA
_ENDOFCHAIN: Final = 0xFFFFFFFE
_FREESECT: Final = 0xFFFFFFFF
_FATSECT: Final = 0xFFFFFFFD
_NOSTREAM: Final = 0xFFFFFFFF
_STREAM_NAMES: Final = ("Workbook", "Book", "WORKBOOK", "BOOK")
#: Largest workbook stream a rebuilt container holds (109 FAT sectors of 4 KiB sectors).
_MAX_STREAM: Final = 109 * 1024 * 4096 - 4096 * 2
# BIFF records that place one cell at (row, column) in their first four bytes.
_CELL_RECORDS: Final = frozenset({0x0203, 0x0204, 0x00D6, 0x0205, 0x027E, 0x00FD})


class _Cfb:
    """A strict reader of the OLE2 compound file that holds an .xls workbook stream."""

    def __init__(self, name: str, data: bytes) -> None:
        self.name = name
        self.data = data
        if len(data) < 512 or not data.startswith(_OLE2):
            raise self._bad("the OLE2 header is cut short")
        shift, mini_shift = struct.unpack_from("<HH", data, 30)
        if shift not in (9, 12) or mini_shift != 6:
            raise self._bad(f"sector sizes 2^{shift} / 2^{mini_shift} are not an OLE2 file's")
        self.size = 1 << shift
        self.version = struct.unpack_from("<H", data, 26)[0]
        self.sectors = max(len(data) // self.size - 1, 0)
        fat_len, dir_start = struct.unpack_from("<II", data, 44)
        mini_start, mini_len, difat_start, difat_len = struct.unpack_from("<IIII", data, 60)
        # calamine reserves room from these counts before reading anything.
        for label, count in (("FAT", fat_len), ("DIFAT", difat_len), ("mini FAT", mini_len)):
            if count > self.sectors + 1:
                raise self._bad(
                    f"the header declares {count:,} {label} sectors in a file of {self.sectors:,}"
                )
        # calamine 0.3x sizes its DIFAT list from the four bytes at offset 62.
        if struct.unpack_from("<I", data, 62)[0] > 1 << 22:
            raise self._bad("the header's mini FAT fields are out of range")
        difat = list(struct.unpack_from("<109I", data, 76))
        per_sector = self.size // 4
        for sector in self._walk(difat_start, None, "DIFAT"):
            entries = struct.unpack_from(f"<{per_sector}I", self._sector(sector))
            difat.extend(entries[:-1])
        fat_sectors = [s for s in difat if s < _MAXREGSECT]
        if len(fat_sectors) > self.sectors:
            raise self._bad(f"{len(fat_sectors):,} FAT sectors in a file of {self.sectors:,}")
        self.fat: list[int] = []
        for sector in fat_sectors:
            self.fat.extend(struct.unpack_from(f"<{per_sector}I", self._sector(sector)))
        directory = self._read(dir_start, None, self.fat, self.size, "directory")
        self.entries = [directory[i : i + 128] for i in range(0, len(directory) - 127, 128)]
        if not self.entries:
            raise self._bad("the container has no directory")
        root = self.entries[0]
        self.mini_stream = b""
        self.mini_fat: list[int] = []
        if mini_len:
            root_size = self._entry_size(root)
            self.mini_stream = self._read(
                struct.unpack_from("<I", root, 116)[0],
                root_size,
                self.fat,
                self.size,
                "mini stream",
            )
            raw = self._read(mini_start, mini_len * self.size, self.fat, self.size, "mini FAT")
            self.mini_fat = list(struct.unpack_from(f"<{len(raw) // 4}I", raw))

    def _bad(self, what: str) -> InvalidValue:
        return _damaged(self.name, "xls", what)

    def _sector(self, sector: int) -> bytes:
        start = (sector + 1) * self.size
        if sector >= self.sectors and start >= len(self.data):
            raise self._bad(f"sector {sector:,} lies past the end of the file")
        return self.data[start : start + self.size].ljust(self.size, b"\0")

    def _walk(self, start: int, fat: list[int] | None, what: str) -> list[int]:
        """The sectors of a chain; for the DIFAT (``fat`` None) each sector names the next."""
        chain: list[int] = []
        seen: set[int] = set()
        sector = start
        while sector < _MAXREGSECT:
            if sector in seen:
                raise self._bad(f"the {what} chain loops at sector {sector:,}")
            if sector >= self.sectors + 1:
                raise self._bad(f"the {what} chain points past the end of the file")
            seen.add(sector)
            chain.append(sector)
            if fat is None:
                sector = struct.unpack_from("<I", self._sector(sector), self.size - 4)[0]
            elif sector < len(fat):
                sector = fat[sector]
            else:
                raise self._bad(f"the {what} chain leaves the FAT at sector {sector:,}")
        if sector not in (_ENDOFCHAIN, _FREESECT) and fat is not None:
            raise self._bad(f"the {what} chain ends in the marker {sector:#x}")
        return chain

    def _read(self, start: int, size: int | None, fat: list[int], unit: int, what: str) -> bytes:
        if size is not None and size > len(self.data):
            raise self._bad(f"the {what} declares {size:,} bytes in a file of {len(self.data):,}")
        if unit == self.size:
            chain = b"".join(self._sector(s) for s in self._walk(start, fat, what))
        else:
            sectors = self._walk_mini(start, what)
            chain = b"".join(self.mini_stream[s * 64 : s * 64 + 64] for s in sectors)
        return chain if size is None else chain[:size]

    def _walk_mini(self, start: int, what: str) -> list[int]:
        chain: list[int] = []
        seen: set[int] = set()
        sector = start
        while sector != _ENDOFCHAIN:
            if (
                sector in seen
                or sector >= len(self.mini_fat)
                or (sector + 1) * 64 > len(self.mini_stream)
            ):
                raise self._bad(f"the {what} chain in the mini stream is broken")
            seen.add(sector)
            chain.append(sector)
            sector = self.mini_fat[sector]
        return chain

    def _entry_size(self, entry: bytes) -> int:
        if self.size == 512:
            return int(struct.unpack_from("<I", entry, 120)[0])
        return int(struct.unpack_from("<Q", entry, 120)[0])

    def workbook(self) -> bytes:
        """The BIFF workbook stream, found by the names calamine looks for, in its order."""
        names = [
            entry[:64].decode("utf-16-le", "replace").split("\0", 1)[0] for entry in self.entries
        ]
        for wanted in _STREAM_NAMES:
            if wanted in names:
                entry = self.entries[names.index(wanted)]
                start = struct.unpack_from("<I", entry, 116)[0]
                size = self._entry_size(entry)
                if size < 4096:
                    return self._read(start, size, self.mini_fat, 64, wanted)
                return self._read(start, size, self.fat, self.size, wanted)
        raise self._bad("there is no Workbook stream in the OLE2 container")


@dataclass
class _XlsSheet:
    name: str
    area: _Area = field(default_factory=_Area)
    formulas: _Area = field(default_factory=_Area)
    reserved: int = 0


def _records(stream: bytes, start: int) -> list[tuple[int, int, bytes]]:
    """(offset, type, data) of the records from ``start``, CONTINUE records folded in."""
    out: list[tuple[int, int, bytes]] = []
    pos = start
    end = len(stream)
    while pos < end:
        if end - pos < 4:
            raise ValueError(f"a record header at byte {pos:,} is cut short")
        typ, length = struct.unpack_from("<HH", stream, pos)
        if end - pos < length + 4:
            raise ValueError(f"the record at byte {pos:,} runs past the end of the stream")
        out.append((pos, typ, stream[pos + 4 : pos + 4 + length]))
        pos += 4 + length
        if end - pos > 4 and struct.unpack_from("<H", stream, pos)[0] == 0x003C:
            while end - pos > 4 and struct.unpack_from("<H", stream, pos)[0] == 0x003C:
                length = struct.unpack_from("<H", stream, pos + 2)[0]
                if end - pos < length + 4:
                    raise ValueError(f"the CONTINUE record at byte {pos:,} runs past the end")
                pos += 4 + length
        if typ == 0x000A:
            break
    return out


def _sheet_records(stream: bytes, start: int) -> list[tuple[int, int, bytes]]:
    """A sheet's records up to its own EOF, nested substreams (charts) included."""
    out: list[tuple[int, int, bytes]] = []
    pos = start
    depth = 0
    while True:
        part = _records(stream, pos)
        out.extend(part)
        if not part or part[-1][1] != 0x000A:
            return out
        depth += sum(1 for _, typ, _ in part if typ == 0x0809) - 1
        pos = part[-1][0] + 4 + len(part[-1][2])
        if depth <= 0 or pos >= len(stream):
            return out
        # skip any CONTINUE records _records folded after the EOF
        while len(stream) - pos > 4 and struct.unpack_from("<H", stream, pos)[0] == 0x003C:
            pos += 4 + struct.unpack_from("<H", stream, pos + 2)[0]


def _check_biff(name: str, stream: bytes) -> None:
    sheets: list[tuple[int, _XlsSheet]] = []
    try:
        for _, typ, data in _records(stream, 0):
            if typ == 0x002F and data[:2] != b"\0\0":
                return  # FilePass: encrypted; calamine refuses it before reading any sheet
            if typ == 0x0085:  # BoundSheet8
                if len(data) < 8:
                    raise ValueError("a sheet entry is cut short")
                pos = struct.unpack_from("<I", data)[0]
                sheet_name = (
                    data[8 : 8 + data[6]].decode("latin-1")
                    if data[7:8] == b"\0"
                    else (data[8 : 8 + 2 * data[6]].decode("utf-16-le", "replace"))
                )
                sheets.append((pos, _XlsSheet(sheet_name or f"#{len(sheets) + 1}")))
        for pos, sheet in sheets:
            if pos > len(stream):
                raise ValueError(f"sheet {sheet.name!r} starts past the end of the stream")
            _scan_sheet(stream, pos, sheet)
    except (ValueError, struct.error) as exc:
        raise _damaged(name, "xls", f"the workbook stream is broken: {exc}") from exc
    # calamine keeps every sheet's grid, and while parsing one its list of cells; the
    # sheet that is then read is handed out as a copy of its grid.
    need = 0
    largest = 0
    for _, sheet in sheets:
        if sheet.reserved > MAX_CELLS:
            raise _too_big(
                name, sheet.name, f"declares {sheet.reserved:,} cells in its DIMENSIONS record"
            )
        _check_area(name, sheet.name, sheet.area)
        _check_area(name, sheet.name, sheet.formulas)
        need += _SLOT_BYTES * (sheet.area.slots + sheet.formulas.slots)
        largest = max(
            largest,
            _CELL_BYTES * (sheet.reserved + sheet.area.cells + sheet.formulas.cells),
            _SLOT_BYTES * sheet.area.slots,
        )
    if need + largest > MAX_READER_BYTES:
        raise InvalidValue(
            f"{name}: the workbook would need about {(need + largest) >> 20:,} MiB in the "
            f"reader (sheets: {', '.join(repr(s.name) for _, s in sheets[:5])}"
            f"{', …' if len(sheets) > 5 else ''}); isobil allows at most "
            f"{MAX_READER_BYTES >> 20} MiB (at most {MAX_CELLS:,} cells in a sheet)"
        )


def _scan_sheet(stream: bytes, pos: int, sheet: _XlsSheet) -> None:
    formula_at = (0, 0)
    for _, typ, data in _sheet_records(stream, pos):
        if typ in _CELL_RECORDS or typ == 0x0006:
            if len(data) < 4:
                raise ValueError(f"a cell record of sheet {sheet.name!r} is cut short")
            row, col = struct.unpack_from("<HH", data)
            if typ == 0x0006:
                formula_at = (row, col)
                sheet.formulas.add(row, col)
            sheet.area.add(row, col)
        elif typ == 0x0207:  # String: the text value of the formula before it
            sheet.area.add(*formula_at)
        elif typ == 0x00BD and len(data) >= 6:  # MulRk
            row, first = struct.unpack_from("<HH", data)
            last = struct.unpack_from("<H", data, len(data) - 2)[0]
            count = (len(data) - 6 + 5) // 6
            sheet.area.add(row, first)
            sheet.area.add(row, max(last, first + count - 1))
            sheet.area.cells += max(count - 2, 0)
        elif typ == 0x0200:  # Dimensions: calamine reserves rows × columns cells
            sheet.reserved += _declared(data)


def _declared(data: bytes) -> int:
    """The cells calamine reserves for a DIMENSIONS record (its u32 arithmetic)."""
    if len(data) == 10:
        rf, rl, cf, cl = struct.unpack_from("<HHHH", data)
    elif len(data) == 14:
        rf, rl, cf, cl = struct.unpack_from("<IIHH", data)
    else:
        return 0  # calamine stops with an error here
    if cf > 0xFF or cl < cf:
        cf = 0
    if rl >= 1 and cl >= 1:
        end_row, end_col = rl - 1, cl - 1
    else:
        end_row, end_col = rf, cf
    rows = (end_row - rf + 1) & 0xFFFFFFFF
    cols = (end_col - cf + 1) & 0xFFFFFFFF
    return int(rows * cols)


def checked_xls(path: Path) -> bytes:
    """The .xls at ``path`` in a rebuilt OLE2 container, once its workbook is checked."""
    name = path.name
    data = path.read_bytes()
    try:
        cfb = _Cfb(name, data)
        stream = cfb.workbook()
    except (struct.error, IndexError, ValueError) as exc:
        if isinstance(exc, InvalidValue):
            raise
        raise _damaged(name, "xls", f"the OLE2 container is broken ({exc})") from exc
    del data
    if not stream:
        raise _damaged(name, "xls", "the Workbook stream is empty")
    if len(stream) > _MAX_STREAM:
        raise _damaged(name, "xls", f"the Workbook stream holds {len(stream):,} bytes")
    # Below 4 KiB a stream would live in the mini stream; zeros after the last EOF
    # record are never read.
    stream = stream.ljust(4096, b"\0")
    _check_biff(name, stream)
    return _container(stream)


def _container(stream: bytes) -> bytes:
    """A version 4 OLE2 file (4 KiB sectors) holding one stream named Workbook."""
    size = 4096
    data_sectors = -(-len(stream) // size)
    fat_sectors = 1
    while fat_sectors * (size // 4) < data_sectors + fat_sectors + 1:
        fat_sectors += 1
    dir_sector = data_sectors + fat_sectors
    fat = [*range(1, data_sectors), _ENDOFCHAIN]
    fat += [_FATSECT] * fat_sectors + [_ENDOFCHAIN]
    fat += [_FREESECT] * (fat_sectors * (size // 4) - len(fat))
    difat = [*range(data_sectors, data_sectors + fat_sectors)]
    difat += [_FREESECT] * (109 - len(difat))
    header = (
        _OLE2
        + bytes(16)
        + struct.pack("<HHHHH", 0x3E, 4, 0xFFFE, 12, 6)
        + bytes(6)
        + struct.pack(
            "<IIIIIIIII", 1, fat_sectors, dir_sector, 0, 4096, _ENDOFCHAIN, 0, _ENDOFCHAIN, 0
        )
        + struct.pack("<109I", *difat)
    ).ljust(size, b"\0")

    def entry(name: str, kind: int, child: int, start: int, length: int) -> bytes:
        encoded = (name + "\0").encode("utf-16-le")
        return (
            encoded.ljust(64, b"\0")
            + struct.pack("<HBB", len(encoded), kind, 1)
            + struct.pack("<III", _NOSTREAM, _NOSTREAM, child)
            + bytes(36)
            + struct.pack("<IQ", start, length)
        )

    directory = (
        entry("Root Entry", 5, 1, 0, 0) + entry("Workbook", 2, _NOSTREAM, 0, len(stream))
    ).ljust(size, b"\0")
    return b"".join(
        (
            header,
            stream.ljust(data_sectors * size, b"\0"),
            struct.pack(f"<{len(fat)}I", *fat),
            directory,
        )
    )
