"""Import an address book: find the header, read every row, store contacts in chunks.

Decisions (docs/contacts.md explains them to users):

* **Duplicates**: the first row with a number wins; a later row with the same
  normalised number is not taken and is counted in ``duplicates`` (the first
  1,000 such rows are listed). Rows not taken are then exactly the rows listed.
* **Existing contacts** are merged, not replaced: a column the file has (and a
  non-empty cell) overwrites the stored value; everything else (e-mail, custom
  fields, recipient type, groups) is kept. An import never erases data.
* **Failure**: contacts are stored every ``chunk_size`` rows, each chunk in its
  own transaction. Stored chunks stay (each is valid data); any failure after
  the header is found raises :class:`ImportFailed` whose ``report`` says
  ``complete=False`` and up to which row everything is stored. Re-running the
  same file is safe: contacts are upserted by number.
"""

from __future__ import annotations

import itertools
import operator
import re
import shlex
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Final

import attrs

from isobil._meter import METER_ROWS, Meter
from isobil._tables import write_csv
from isobil._text import fold
from isobil.contacts._guards import column_letter
from isobil.contacts._readers import Cell, TableReader, cell_text, open_table
from isobil.errors import ImportFailed, InvalidPhoneNumber, InvalidValue
from isobil.model import Recipient, RecipientType, RowError
from isobil.phone import Normalizer
from isobil.storage import ContactRow, Storage

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "EXPORT_HEADER",
    "GROUP_SEPARATOR",
    "HEADER_SCAN_ROWS",
    "PYTHON_TERMS",
    "SHELL_TERMS",
    "ImportFailed",
    "ImportReport",
    "Progress",
    "RowError",
    "Terms",
    "column_letter",
    "custom_key",
    "detect_header",
    "import_contacts",
    "parse_groups",
    "parse_recipient_type",
    "unnamed_key",
]

#: ``progress(rows_done, total_rows)``; ``total_rows`` is ``None`` when unknown (CSV).
Progress = Callable[[int, int | None], None]

#: The header is looked for in this many rows from the top.
HEADER_SCAN_ROWS: Final = 20
#: Groups in one cell are separated by this (``"VIP; Ankara"``).
GROUP_SEPARATOR: Final = ";"
#: The first columns of a file written by ``ContactBook.export``, in order.
EXPORT_HEADER: Final = ("Telefon", "Ad", "Soyad", "E-posta", "Tip", "Gruplar")
_EXPORT_FIELDS: Final = ("number", "name", "surname", "email", "recipient_type", "groups")
#: Rows per stored chunk, each one transaction. Fewer, larger transactions spare
#: SQLite most of its WAL checkpoints: with sqlite3 alone, a million contacts (and
#: their group rows) took 20 s in 10,000-row transactions and 8 s in 50,000-row
#: ones. A chunk holds about 40 MB of rows in flight.
DEFAULT_CHUNK_SIZE: Final = 50_000
#: How many duplicate rows are listed in the report (all are counted).
DUPLICATE_ROWS_LISTED: Final = 1000

# Folded header names by field. For the number, tier 0 (mobile-specific names)
# beats tier 1 (generic ones): a sheet with "Telefon" (often a landline) and
# "Cep Telefonu" is imported by its mobiles. Within a tier the leftmost column wins.
# fmt: off
_SYNONYMS: Final[dict[str, tuple[tuple[str, ...], ...]]] = {
    "number": (
        ("cep telefonu", "cep telefon", "cep tel", "cep tel no", "cep no", "cep numarasi",
         "cep telefonu no", "cep", "gsm", "gsm no", "gsm numarasi", "mobil", "mobil telefon",
         "mobile", "mobile phone", "mobile number", "cell", "cell phone", "msisdn"),
        ("telefon", "tel", "telefon no", "tel no", "telefon numarasi", "numara", "phone",
         "phone number", "phone no", "telephone"),
    ),
    "name": (("ad", "adi", "isim", "name", "first name", "firstname", "given name"),),
    "surname": (("soyad", "soyadi", "soyisim", "soy isim", "surname", "last name",
                 "lastname", "family name"),),
    "full_name": (("ad soyad", "adi soyadi", "ad soyadi", "adsoyad", "isim soyisim",
                   "isim soyad", "full name", "fullname", "name surname"),),
    "email": (("e posta", "eposta", "e posta adresi", "email", "e mail", "mail",
               "email address", "e mail address"),),
    "recipient_type": (("tip", "alici tipi", "alici turu", "recipient type", "type"),),
    "groups": (("gruplar", "grup", "groups", "group"),),
}
_RECIPIENT_TYPES: Final[dict[str, RecipientType]] = {
    **dict.fromkeys(("bireysel", "birey", "b", "individual", "kisi", "sahis"),
                    RecipientType.BIREYSEL),
    **dict.fromkeys(("tacir", "esnaf", "t", "kurumsal", "ticari", "sirket", "tuzel",
                     "tuzel kisi", "merchant", "business"), RecipientType.TACIR),
}
# fmt: on
#: A folded header name → (field, tier); a lower tier wins over a higher one.
HeaderTable = Mapping[str, tuple[str, int]]


def synonym_table(synonyms: Mapping[str, Sequence[Sequence[str]]]) -> dict[str, tuple[str, int]]:
    """Index ``{field: (tier-0 names, tier-1 names, …)}`` by folded name."""
    return {
        fold(name): (field, tier)
        for field, tiers in synonyms.items()
        for tier, names in enumerate(tiers)
        for name in names
    }


_HEADER_FIELD: Final = synonym_table(_SYNONYMS)
FIELDS: Final = tuple(_SYNONYMS)

_EMAIL: Final = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_SPACES: Final = re.compile(r"\s+")


#: What :mod:`isobil.phone` appends to a too-short number's reason; it names a
#: Python option no import (and no command) has.
_SHORT_NUMBER_HINT: Final = "; if it is a short number, pass it in short_numbers"


@attrs.frozen
class Terms:
    """How an import's messages name the options of whoever runs it.

    A message that says how to fix something names an option: the Python
    keywords for a program (:data:`PYTHON_TERMS`, the default), the flags for
    the command line (:data:`SHELL_TERMS`), so that each reader is told what
    to type. ``all_rows`` is where every refused row can be seen.
    """

    command_line: bool = False
    mapping: str = "mapping"
    default_source: str = "default_source"
    default_brand: str = "brand= default"
    all_rows: str = "report.{kind}_csv(path)"

    def mapping_example(self, field: str, column: str | int) -> str:
        """How to map ``field`` to ``column``: ``mapping={'number': 2}`` or
        ``--mapping number=2``."""
        if self.command_line:
            return f"--mapping {shlex.quote(f'{field}={column}')}"
        return f"mapping={{{field!r}: {column!r}}}"

    def name_columns(self, field: str) -> str:
        """The sentence that says how to name the columns detection did not find."""
        if self.command_line:
            how = "--mapping FIELD=COLUMN (a header or a 0-based column index),"
        else:
            how = "mapping=, by header or by 0-based column index,"
        return (
            f"Name the columns with {how} e.g. {self.mapping_example(field, 'Müşteri GSM')} "
            f"or {self.mapping_example(field, 2)}."
        )

    def add_mapping(self, field: str) -> str:
        """How to add ``field`` to a mapping that lacks it."""
        if self.command_line:
            return f"add --mapping {field}=COLUMN (a header or a 0-based column index)"
        return f"add mapping={{{field!r}: <header or 0-based column index>, …}}"

    def number_reason(self, reason: str) -> str:
        """The reason a number was refused, without hints at options the reader lacks."""
        return reason.removesuffix(_SHORT_NUMBER_HINT) if self.command_line else reason


#: Messages for a Python program: keyword arguments and report methods.
PYTHON_TERMS: Final = Terms()
#: Messages for the ``isobil`` command: its flags.
SHELL_TERMS: Final = Terms(
    command_line=True,
    mapping="--mapping",
    default_source="--source",
    default_brand="--brand",
    all_rows="--json lists them all",
)


def _tuple_of_errors(value: Iterable[RowError]) -> tuple[RowError, ...]:
    return tuple(value)


@attrs.frozen
class ImportReport:
    """What an import did, row by row: nothing is dropped silently.

    ``rows`` counts the data rows below the header; when the import is
    ``complete`` each of them is counted once in ``imported`` (new contacts),
    ``updated`` (existing contacts), ``duplicates`` (a number an earlier row of the
    file had), ``invalid`` (row errors) or ``blank``. Row numbers are the ones
    Excel shows (the header row included). ``mapping`` says which column each
    field was read from (``"fields.sehir": "Şehir"`` for custom fields).
    """

    path: Path
    imported: int
    updated: int
    duplicates: int
    invalid: tuple[RowError, ...] = attrs.field(converter=_tuple_of_errors)
    blank: int
    rows: int
    header_row: int
    mapping: Mapping[str, str]
    complete: bool
    stored_through: int
    format: str
    sheet: str | None = None
    encoding: str | None = None
    group: str | None = None
    duplicate_rows: tuple[int, ...] = ()

    @property
    def taken(self) -> int:
        """Contacts stored: ``imported + updated``."""
        return self.imported + self.updated

    def __str__(self) -> str:
        return self.summary()

    def summary(self, terms: Terms = PYTHON_TERMS) -> str:
        """The counts, and the first invalid rows, as :class:`str` gives them; ``terms``
        say where the others are listed."""
        where = self.path.name + (f" [{self.sheet}]" if self.sheet else "")
        state = "" if self.complete else f" — STOPPED, rows up to {self.stored_through} stored"
        lines = [
            f"{where}: {self.imported:,} imported, {self.updated:,} updated, "
            f"{self.duplicates:,} duplicates, {len(self.invalid):,} invalid, "
            f"{self.blank:,} blank ({self.rows:,} rows below the header on row "
            f"{self.header_row}){state}"
        ]
        for error in self.invalid[:10]:
            lines.append(
                f"  row {error.row}, column {error.column}: {error.value!r}: {error.reason}"
            )
        if len(self.invalid) > 10:
            lines.append(
                f"  … and {len(self.invalid) - 10:,} more invalid rows "
                f"({terms.all_rows.format(kind='invalid')})"
            )
        return "\n".join(lines)

    def invalid_csv(self, path: str | Path) -> int:
        """Write the invalid rows (row, column, value, reason) as CSV; return how many."""
        return write_csv(
            path,
            ("row", "column", "value", "reason"),
            ((e.row, e.column, e.value, e.reason) for e in self.invalid),
        )


# -- header detection -----------------------------------------------------


def unnamed_key(index: int) -> str:
    """The custom-field key of a column without a header: column F → ``sutun_f``."""
    return f"sutun_{column_letter(index).lower()}"


def custom_key(header: str) -> str:
    """The custom-field key for a header: ``"Doğum Tarihi"`` → ``"dogum_tarihi"``."""
    return fold(header).replace(" ", "_")


def assign_columns(row: Sequence[Cell], table: HeaderTable) -> dict[str, int]:
    """The column of each field recognised in a header row: best tier, then leftmost."""
    best: dict[str, tuple[int, int]] = {}
    for index, cell in enumerate(row):
        found = table.get(fold(cell)) if type(cell) is str else None
        if found is None:
            continue
        field, tier = found
        if field not in best or (tier, index) < best[field]:
            best[field] = (tier, index)
    return {field: index for field, (_, index) in best.items()}


def find_header(
    top: Sequence[Sequence[Cell]], table: HeaderTable, required: str
) -> tuple[int, dict[str, int]] | None:
    """The 0-based index of the header row among ``top`` and its field columns.

    The header is the row with the most recognised column names that includes
    the ``required`` field; on a tie the upper row wins. ``None`` when none does.
    """
    best: tuple[int, dict[str, int]] | None = None
    for index, row in enumerate(top):
        columns = assign_columns(row, table)
        if required in columns and (best is None or len(columns) > len(best[1])):
            best = (index, columns)
    return best


def _contact_columns(columns: dict[str, int]) -> dict[str, int]:
    if "full_name" in columns and ("name" in columns or "surname" in columns):
        del columns["full_name"]  # separate columns are more exact; keep it as a custom field
    return columns


def detect_header(rows: Sequence[Sequence[Cell]]) -> tuple[int, dict[str, int]] | None:
    """The header row of an address book among ``rows`` and its field columns.

    The header is the row with the most recognised column names that includes
    a phone column; on a tie the upper row wins. ``None`` when there is none.
    """
    found = find_header(rows, _HEADER_FIELD, "number")
    return None if found is None else (found[0], _contact_columns(found[1]))


def _is_export_header(row: Sequence[Cell]) -> bool:
    cells = [cell_text(c) for c in row[: len(EXPORT_HEADER)]]
    return cells == list(EXPORT_HEADER)


# -- values -----------------------------------------------------------------


def parse_recipient_type(value: str) -> RecipientType:
    """Read a type: ``bireysel`` → BIREYSEL; ``tacir``, ``esnaf``, ``kurumsal`` → TACIR."""
    found = _RECIPIENT_TYPES.get(fold(value))
    if found is None:
        raise InvalidValue(
            f"unknown recipient type {value!r}: expected BIREYSEL (individual) or TACIR "
            "(merchant, esnaf)"
        )
    return found


def parse_groups(value: str) -> list[str]:
    """The groups of a ``Gruplar`` cell: ``"VIP; Ankara"`` → ``["VIP", "Ankara"]``."""
    return [g for g in (part.strip() for part in value.split(GROUP_SEPARATOR)) if g]


def _text(row: Sequence[Cell], index: int) -> str:
    if index < 0 or index >= len(row):
        return ""
    value = row[index]
    return value.strip() if type(value) is str else cell_text(value)


def _is_blank(row: Sequence[Cell]) -> bool:
    for cell in row:
        if cell is None or cell == "":
            continue
        if type(cell) is str and not cell.strip():
            continue
        return False
    return True


# -- the plan: which column is what -----------------------------------------


@attrs.frozen
class _Plan:
    header_row: int  # 1-based; 0 when the file has no header row
    header: tuple[str, ...]  # header texts by column ("" where none)
    columns: Mapping[str, int]  # field -> column index
    custom: tuple[tuple[str, int], ...]  # (key, column index)
    report_mapping: Mapping[str, str]
    export: bool
    #: Custom keys of columns without a header (``sutun_c``): reported only if used.
    unnamed: frozenset[str] = frozenset()

    def column_name(self, index: int) -> str:
        if index < len(self.header) and self.header[index]:
            return self.header[index]
        return column_letter(index)


_MAPPABLE: Final = ("number", "name", "surname", "full_name", "email", "recipient_type", "groups")


@attrs.frozen
class Columns:
    """Where the fields of a file are: the result of detection and ``mapping``.

    ``header_index`` is the 0-based index of the header row among the rows read
    (``None``: the file has no header); ``columns`` maps fields to column
    indexes; ``custom`` maps custom-field keys named in the mapping to theirs.
    """

    header_index: int | None
    header: Sequence[Cell]
    columns: dict[str, int]
    custom: dict[str, int]


def resolve_columns(
    path: Path,
    top: Sequence[Sequence[Cell]],
    mapping: Mapping[str, str | int] | None,
    *,
    table: HeaderTable,
    required: str,
    fields: Sequence[str],
    custom_prefix: str | None,
    expected: str,
    terms: Terms = PYTHON_TERMS,
) -> Columns:
    """Find the header row and the column of each field, honouring ``mapping``.

    Without a mapping the header is detected (see :func:`find_header`). With one,
    the header row is the first row holding every column named in it (or, for
    indexes only, the detected header row, if any); columns not named in the
    mapping are still detected. ``expected`` is the hint of the error raised
    when no header is found; ``terms`` name the mapping option in the errors.
    """
    if mapping is None:
        found = find_header(top, table, required)
        if found is None:
            raise InvalidValue(
                f"{path.name}: no header row with a {required} column in the first "
                f"{HEADER_SCAN_ROWS} rows. {expected}; {_describe_rows(top)}. "
                f"{terms.name_columns(required)}"
            )
        index, columns = found
        return Columns(index, top[index], columns, {})
    _check_mapping(mapping, fields, custom_prefix, terms)
    names = [c for c in mapping.values() if isinstance(c, str)]
    header_index: int | None
    if names:
        header_index = _find_mapped_header(top, names)
        if header_index is None:
            raise InvalidValue(
                f"{path.name}: no row in the first {HEADER_SCAN_ROWS} has every column "
                f"named in mapping ({', '.join(repr(n) for n in names)}); "
                f"{_describe_rows(top)}"
            )
    else:
        detected = find_header(top, table, required)
        header_index = None if detected is None else detected[0]
    header: Sequence[Cell] = top[header_index] if header_index is not None else []
    explicit: dict[str, int] = {}
    for field, column in mapping.items():
        if isinstance(column, int):
            explicit[field] = column
        else:
            wanted = fold(column)
            explicit[field] = next(
                i for i, c in enumerate(header) if type(c) is str and fold(c) == wanted
            )
    # A column named in the mapping is used only for what the mapping says.
    claimed = set(explicit.values())
    columns = {
        f: i
        for f, i in assign_columns(header, table).items()
        if i not in claimed and f not in explicit
    }
    prefix = custom_prefix or "\0"
    columns.update({f: i for f, i in explicit.items() if not f.startswith(prefix)})
    custom = {f.removeprefix(prefix): i for f, i in explicit.items() if f.startswith(prefix)}
    if required not in columns:
        raise InvalidValue(
            f"{path.name}: the mapping names no {required} column and none was recognised; "
            f"{terms.add_mapping(required)}"
        )
    return Columns(header_index, header, columns, custom)


def _check_mapping(
    mapping: Mapping[str, str | int],
    fields: Sequence[str],
    custom_prefix: str | None,
    terms: Terms = PYTHON_TERMS,
) -> None:
    for field, column in mapping.items():
        custom = custom_prefix is not None and field.startswith(custom_prefix)
        if field not in fields and not (custom and len(field) > len(custom_prefix or "")):
            also = f" or '{custom_prefix}<name>' for a custom field" if custom_prefix else ""
            raise InvalidValue(
                f"unknown field {field!r} in {terms.mapping}: expected one of "
                f"{', '.join(fields)}{also}"
            )
        if isinstance(column, bool) or not isinstance(column, str | int):
            raise InvalidValue(
                f"mapping[{field!r}] must be a column header or a 0-based column index, "
                f"not {column!r}"
            )
        if isinstance(column, int) and column < 0:
            raise InvalidValue(f"mapping[{field!r}]: column index {column} is negative")


def _find_mapped_header(top: Sequence[Sequence[Cell]], wanted: Sequence[str]) -> int | None:
    folded = {fold(w) for w in wanted}
    for index, row in enumerate(top):
        if folded <= {fold(c) for c in row if type(c) is str}:
            return index
    return None


_CONTACTS_EXPECTED: Final = (
    "Expected column names like Telefon, Tel, GSM, Cep, Cep Telefonu, Numara, Phone or "
    "Mobile for the number (and Ad/Adı/İsim, Soyad/Soyadı, Ad Soyad, E-posta, Tip, "
    "Gruplar for the rest)"
)


def _plan(
    path: Path,
    top: Sequence[Sequence[Cell]],
    mapping: Mapping[str, str | int] | None,
    terms: Terms = PYTHON_TERMS,
) -> _Plan:
    if mapping is None:
        for index, row in enumerate(top):
            if _is_export_header(row):
                return _export_plan(index, row)
    found = resolve_columns(
        path,
        top,
        mapping,
        table=_HEADER_FIELD,
        required="number",
        fields=_MAPPABLE,
        custom_prefix="fields.",
        expected=_CONTACTS_EXPECTED,
        terms=terms,
    )
    columns = found.columns
    if "full_name" not in (mapping or {}):
        columns = _contact_columns(columns)
    header_row = 0 if found.header_index is None else found.header_index + 1
    return _build_plan(header_row, found.header, columns, found.custom)


def _build_plan(
    header_row: int,
    row: Sequence[Cell],
    columns: Mapping[str, int],
    custom_explicit: Mapping[str, int] | None = None,
) -> _Plan:
    header = tuple(cell_text(c) for c in row)
    used = set(columns.values())
    custom: list[tuple[str, int]] = []
    keys: set[str] = set()
    for key, index in (custom_explicit or {}).items():
        custom.append((key, index))
        keys.add(key)
        used.add(index)
    unnamed: set[str] = set()
    for index, text in enumerate(header):
        if index in used:
            continue
        key = custom_key(text) if text else ""
        if not key:
            # A column without a header keeps its values under its letter: nothing
            # in the file is dropped, and {sutun_f} reaches it from a template.
            key = unnamed_key(index)
            unnamed.add(key)
        base, n = key, 2
        while key in keys:
            key, n = f"{base}_{n}", n + 1
        keys.add(key)
        custom.append((key, index))
    plan = _Plan(
        header_row,
        header,
        dict(columns),
        tuple(custom),
        {},
        export=False,
        unnamed=frozenset(unnamed),
    )
    mapping = {field: plan.column_name(i) for field, i in columns.items()}
    mapping.update({f"fields.{key}": plan.column_name(i) for key, i in custom})
    return attrs.evolve(plan, report_mapping=mapping)


def _export_plan(index: int, row: Sequence[Cell]) -> _Plan:
    """A file written by ``ContactBook.export``: columns by position, keys verbatim."""
    header = tuple(cell_text(c) for c in row)
    columns = dict(zip(_EXPORT_FIELDS, range(len(EXPORT_HEADER)), strict=True))
    custom = tuple((text, i) for i, text in enumerate(header) if i >= len(EXPORT_HEADER) and text)
    mapping = {field: header[i] for field, i in columns.items()}
    mapping.update({f"fields.{key}": key for key, _ in custom})
    return _Plan(index + 1, header, columns, custom, mapping, export=True)


def _describe_rows(top: Sequence[Sequence[Cell]]) -> str:
    for index, row in enumerate(top):
        cells = [cell_text(c) for c in row if cell_text(c)]
        if cells:
            shown = ", ".join(repr(c) for c in cells[:8])
            return f"the first non-empty row (row {index + 1}) is: {shown}"
    return f"the first {len(top)} rows are empty"


# -- the import ---------------------------------------------------------------

_NUMBER_OF: Final = operator.itemgetter(0)


# A row waiting for its chunk to be stored: strings, None and tuples of strings
# (custom fields flat: key, value, key, value …; the recipient type by its value).
# CPython's garbage collector untracks such a tuple in its first two collections,
# before it reaches the oldest generation; one holding a dict, a list or an enum
# stays tracked, is promoted with the chunk, and has the collector walk every
# waiting row on each full collection (a quarter of an import's time).
_Pending = tuple[
    str, str | None, str | None, str | None, tuple[str, ...], str | None, tuple[str, ...] | None
]
_TYPE_OF: Final[dict[str | None, RecipientType]] = {kind.value: kind for kind in RecipientType}


def _fields(flat: tuple[str, ...]) -> dict[str, str]:
    """A pending row's custom fields as a mapping."""
    return dict(zip(flat[::2], flat[1::2], strict=True))


class _Importer:
    """One import run: reads rows, collects errors, stores a chunk at a time."""

    def __init__(
        self,
        storage: Storage,
        reader: TableReader,
        plan: _Plan,
        *,
        group: str | None,
        recipient_type: RecipientType,
        chunk_size: int,
        progress: Progress | None,
        meter: Meter | None = None,
        terms: Terms = PYTHON_TERMS,
    ) -> None:
        self.storage = storage
        self.terms = terms
        self.reader = reader
        self.plan = plan
        self.group = group
        self.default_type = recipient_type
        self.chunk_size = chunk_size
        self.progress = progress
        self.meter = meter
        self.normalize = Normalizer()
        self.errors: list[RowError] = []
        self.duplicate_rows: list[int] = []
        self.imported = self.updated = self.duplicates = self.blank = 0
        self.rows_read = 0  # spreadsheet rows read, header and rows above it included
        self.stored_through = plan.header_row
        # Every number taken so far, to spot repeats (about 100 bytes a number). A
        # dict of str → None, not a set: CPython's garbage collector does not track
        # such a dict, whereas it would walk a million-entry set on every full
        # collection (1.7 s of a million-row import).
        self.seen: dict[str, None] = {}
        # A book that is empty when the import starts needs no merging: the file's
        # own repeats are skipped, so no later row meets a contact stored earlier.
        self.merge = storage.count_contacts() > 0
        self.unnamed_used: set[str] = set()

    def run(self, rows: Iterator[Sequence[Cell]], first_row: int) -> None:
        # The hot loop of a million-row import: locals instead of attributes, the
        # common cells read inline, the rarer columns in _extras.
        plan = self.plan
        columns = plan.columns
        num_i = columns["number"]
        name_i = columns.get("name", -1)
        surname_i = columns.get("surname", -1)
        full_i = columns.get("full_name", -1)
        extras = any(f in columns for f in ("email", "recipient_type", "groups"))
        custom = plan.custom
        # Cells right of the header's last column (a ragged CSV row) are kept too.
        header_width = max(len(plan.header), 1 + max(plan.columns.values()))
        number_column = plan.column_name(num_i)
        normalize = self.normalize
        seen = self.seen
        flatten = itertools.chain.from_iterable
        pending: list[_Pending] = []
        add_pending = pending.append
        row_number = first_row - 1
        chunk_end = row_number + self.chunk_size
        # One comparison a row for both the next chunk and the next meter update.
        meter = self.meter
        meter_done = self.reader.meter_done
        every = METER_ROWS if meter is not None else self.chunk_size
        next_update = row_number + every
        mark = min(chunk_end, next_update)
        name: str | None = None
        surname: str | None = None
        found: tuple[str | None, RecipientType | None, tuple[str, ...] | None] | None = None
        try:
            for row in rows:
                row_number += 1
                if row_number > mark:
                    if row_number > chunk_end:
                        self._flush(pending, row_number - 1)
                        pending = []
                        add_pending = pending.append
                        chunk_end = row_number - 1 + self.chunk_size
                    if meter is not None and row_number > next_update:
                        meter.update(meter_done(row_number - 1))
                        next_update = row_number - 1 + every
                    mark = min(chunk_end, next_update)
                width = len(row)
                raw = row[num_i] if num_i < width else ""
                if raw == "":
                    self._no_number(row, row_number, number_column)
                    continue
                try:
                    number = normalize(raw)  # type: ignore[arg-type]  # other cell types raise
                except InvalidPhoneNumber as exc:
                    self._invalid_number(row, row_number, number_column, raw, exc.reason)
                    continue
                if number in seen:
                    self.duplicates += 1
                    if len(self.duplicate_rows) < DUPLICATE_ROWS_LISTED:
                        self.duplicate_rows.append(row_number)
                    continue
                if name_i >= 0:
                    cell = row[name_i] if name_i < width else ""
                    name = (cell.strip() if type(cell) is str else cell_text(cell)) or None
                if surname_i >= 0:
                    cell = row[surname_i] if surname_i < width else ""
                    surname = (cell.strip() if type(cell) is str else cell_text(cell)) or None
                elif full_i >= 0 and name_i < 0:
                    name, surname = _split_full_name(_text(row, full_i))
                if extras:
                    found = self._extras(row, row_number)
                    if found is None:
                        continue
                fields: dict[str, str] = {}
                for key, index in custom:
                    if index < width:
                        cell = row[index]
                        value = cell.strip() if type(cell) is str else cell_text(cell)
                        if value:
                            fields[key] = value
                if width > header_width:
                    self._beyond_header(row, fields)
                seen[number] = None
                pairs = tuple(flatten(fields.items())) if fields else ()
                if found is None:
                    add_pending((number, name, surname, None, pairs, None, None))
                else:
                    email, rtype, groups = found
                    kind = rtype.value if rtype is not None else None
                    add_pending((number, name, surname, email, pairs, kind, groups))
        finally:
            # On a failure, the report says how far reading got.
            self.rows_read = row_number
        self._flush(pending, row_number)

    def _contacts(
        self,
        pending: list[_Pending],
        existing: Mapping[str, Recipient],
        memberships: dict[str, list[str]],
    ) -> Iterator[ContactRow]:
        default = self.default_type
        kinds = _TYPE_OF
        unnamed = self.plan.unnamed
        if not existing and not unnamed and not any(p[6] for p in pending):
            # The common case (a new book, no group column): the rows as they are.
            for number, name, surname, email, pairs, kind, _ in pending:
                yield number, name, surname, email, _fields(pairs), kinds.get(kind, default)
            return
        for number, name, surname, email, pairs, kind, groups in pending:
            rtype = kinds.get(kind)
            old = existing.get(number) if existing else None
            fields = _fields(pairs)
            if old is None:
                yield number, name, surname, email, fields, rtype or default
            else:
                yield (
                    number,
                    name or old.name,
                    surname or old.surname,
                    email or old.email,
                    {**old.fields, **fields},
                    rtype or old.recipient_type,
                )
            if unnamed:
                self.unnamed_used.update(k for k in fields if k in unnamed)
            if groups:
                for name_of_group in groups:
                    memberships.setdefault(name_of_group, []).append(number)

    def _beyond_header(self, row: Sequence[Cell], fields: dict[str, str]) -> None:
        start = max(len(self.plan.header), 1 + max(self.plan.columns.values()))
        for index in range(start, len(row)):
            value = cell_text(row[index])
            if value:
                key = unnamed_key(index)
                fields.setdefault(key, value)
                self.unnamed_used.add(key)

    def _no_number(self, row: Sequence[Cell], row_number: int, column: str) -> None:
        if _is_blank(row):
            self.blank += 1
        else:
            self.errors.append(RowError(row_number, column, "", "no phone number"))

    def _invalid_number(
        self, row: Sequence[Cell], row_number: int, column: str, raw: Cell, reason: str
    ) -> None:
        plan = self.plan
        header = plan.header[plan.columns["number"]] if plan.header_row else ""
        if reason == "empty" and _is_blank(row):
            self.blank += 1
            return
        if type(raw) is str and header and fold(raw) == fold(header):
            reason = "a repeated header row"
        else:
            reason = self.terms.number_reason(reason)
        self.errors.append(RowError(row_number, column, cell_text(raw), reason))

    def _extras(
        self, row: Sequence[Cell], row_number: int
    ) -> tuple[str | None, RecipientType | None, tuple[str, ...] | None] | None:
        """The e-mail, recipient type and groups of a row; ``None`` if one is invalid."""
        columns = self.plan.columns
        email: str | None = None
        rtype: RecipientType | None = None
        groups: tuple[str, ...] | None = None
        if "email" in columns:
            email = _text(row, columns["email"]) or None
            if email is not None and _EMAIL.fullmatch(email) is None:
                self._error(row_number, columns["email"], email, "not an e-mail address")
                return None
        if "recipient_type" in columns:
            text = _text(row, columns["recipient_type"])
            if text:
                rtype = _RECIPIENT_TYPES.get(fold(text))
                if rtype is None:
                    self._error(
                        row_number,
                        columns["recipient_type"],
                        text,
                        "unknown recipient type: expected BIREYSEL or TACIR",
                    )
                    return None
        if "groups" in columns:
            groups = tuple(parse_groups(_text(row, columns["groups"])))
        return email, rtype, groups

    def _error(self, row_number: int, index: int, value: str, reason: str) -> None:
        self.errors.append(RowError(row_number, self.plan.column_name(index), value, reason))

    def _flush(self, pending: list[_Pending], last_row: int) -> None:
        if pending:
            self._store(pending)
        self.stored_through = last_row
        self.rows_read = last_row
        if self.progress is not None:
            self.progress(last_row, self.reader.total_rows)
        if self.meter is not None:
            self.meter.update(self.reader.meter_done(last_row))

    def _store(self, pending: list[_Pending]) -> None:
        existing = self.storage.get_contacts([p[0] for p in pending]) if self.merge else {}
        # In number order, a chunk's rows land next to each other in the storage's
        # index instead of all over it: 30% less time on SQLite for 300,000 rows.
        pending.sort(key=_NUMBER_OF)
        memberships: dict[str, list[str]] = {}
        # A generator, not a list: the storage consumes rows as they are made, so
        # they die young instead of filling the garbage collector's oldest
        # generation. Rows, not Recipients: the values are checked and normalised,
        # and a SQL storage writes them as they are.
        contacts = self._contacts(pending, existing, memberships)
        result = self.storage.upsert_contact_rows(contacts, group=self.group)
        for name_of_group, numbers in memberships.items():
            self.storage.add_to_group(name_of_group, numbers)
        self.imported += result.inserted
        self.updated += result.updated

    def _mapping(self) -> dict[str, str]:
        plan = self.plan
        mapping = {
            field: column
            for field, column in plan.report_mapping.items()
            if field.removeprefix("fields.") not in plan.unnamed
            or field.removeprefix("fields.") in self.unnamed_used
        }
        for key in sorted(self.unnamed_used - plan.unnamed):
            mapping[f"fields.{key}"] = key.removeprefix("sutun_").upper()
        return mapping

    def report(self, path: Path, *, complete: bool) -> ImportReport:
        header_row = self.plan.header_row
        return ImportReport(
            path=path,
            imported=self.imported,
            updated=self.updated,
            duplicates=self.duplicates,
            invalid=self.errors,
            blank=self.blank,
            rows=max(self.rows_read - header_row, 0),
            header_row=header_row,
            mapping=self._mapping(),
            complete=complete,
            stored_through=self.stored_through,
            format=self.reader.format,
            sheet=self.reader.sheet,
            encoding=self.reader.encoding,
            group=self.group,
            duplicate_rows=tuple(self.duplicate_rows),
        )


def _split_full_name(text: str) -> tuple[str | None, str | None]:
    """``"Ayşe Nur Yılmaz"`` → (``"Ayşe Nur"``, ``"Yılmaz"``): the surname is the last word."""
    words = _SPACES.sub(" ", text).strip()
    if not words:
        return None, None
    name, _, surname = words.rpartition(" ")
    return (name, surname) if name else (surname, None)


def import_contacts(
    storage: Storage,
    path: str | Path,
    *,
    group: str | None = None,
    mapping: Mapping[str, str | int] | None = None,
    progress: Progress | None = None,
    sheet: str | int | None = None,
    recipient_type: RecipientType | str = RecipientType.BIREYSEL,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    meter: Meter | None = None,
    terms: Terms = PYTHON_TERMS,
) -> ImportReport:
    """Import the contacts of an .xlsx, .xls, .ods or .csv file into ``storage``.

    See :meth:`isobil.contacts.ContactBook.import_file`.
    """
    source = Path(path)
    if chunk_size < 1:
        raise InvalidValue(f"chunk_size must be at least 1, not {chunk_size}")
    if group is not None and not group.strip():
        raise InvalidValue("group must be a non-empty name")
    default_type = (
        recipient_type
        if isinstance(recipient_type, RecipientType)
        else parse_recipient_type(recipient_type)
    )
    with open_table(source, sheet=sheet, meter=meter) as reader:
        if meter is not None:
            meter.phase("importing", reader.meter_total, reader.meter_unit)
        rows = iter(reader)
        top: list[Sequence[Cell]] = []
        for row in rows:
            top.append(row)
            if len(top) == HEADER_SCAN_ROWS:
                break
        plan = _plan(source, top, mapping, terms)
        importer = _Importer(
            storage,
            reader,
            plan,
            group=group,
            recipient_type=default_type,
            chunk_size=chunk_size,
            progress=progress,
            meter=meter,
            terms=terms,
        )
        data = itertools.chain(top[plan.header_row :], rows)
        try:
            importer.run(data, plan.header_row + 1)
        except Exception as exc:
            report = importer.report(source, complete=False)
            raise ImportFailed(
                f"{source.name}: the import stopped at row {importer.rows_read}: {exc}. "
                f"Rows up to {report.stored_through} are stored ({report.taken:,} contacts); "
                "re-running the same file is safe (contacts are matched by number).",
                report=report,
            ) from exc
        return importer.report(source, complete=True)
