"""Writing tables to CSV and .xlsx: one place for every report and export."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["Table", "inert", "write_csv", "write_xlsx"]

Cell = str | int | float | None
Table = tuple[Sequence[str], Iterable[Sequence[Cell]]]


#: A signed number as text ("+90 532 123 45 67", "-12.5"): a spreadsheet reads it as a
#: number at worst, never as a formula.
_SIGNED_NUMBER = re.compile(r"[+-][\d\s.,()]*")


def inert(value: Cell) -> Cell:
    """``value`` as a spreadsheet cannot run it: text a spreadsheet would read as a
    formula (``=``, ``@``, a tab or carriage return first; ``+`` or ``-`` first with
    more than a number after) gets a leading ``'``. CSV exports hold what anyone who
    can text the short number wrote.

    >>> inert("=HYPERLINK(1)"), inert("-2+3+cmd|' /C calc'!A0")
    ("'=HYPERLINK(1)", "'-2+3+cmd|' /C calc'!A0")
    >>> inert("+90 532 123 45 67"), inert("Ayşe"), inert(-5)
    ('+90 532 123 45 67', 'Ayşe', -5)
    """
    if not isinstance(value, str) or not value:
        return value
    if value[0] in "=@\t\r" or (value[0] in "+-" and not _SIGNED_NUMBER.fullmatch(value)):
        return "'" + value
    return value


def write_csv(path: str | Path, header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> int:
    """Write a UTF-8 CSV with a BOM (so Excel shows Turkish letters); return the row count.

    Every cell is made :func:`inert`: opened in a spreadsheet, no cell is evaluated.
    """
    count = 0
    with Path(path).open("w", encoding="utf-8-sig", newline="") as file:
        writer = csv.writer(file)
        writer.writerow([inert(cell) for cell in header])
        for row in rows:
            writer.writerow(["" if cell is None else inert(cell) for cell in row])
            count += 1
    return count


def write_xlsx(path: str | Path, sheets: Mapping[str, Table]) -> None:
    """Write one worksheet per entry of ``sheets`` (name → header and rows), streaming.

    Text is always text: openpyxl would store a value starting with ``=`` (a
    contact named "=HYPERLINK(…)", say) as a formula, which Excel then runs.
    """
    from openpyxl import Workbook  # imported here: only reports need it

    book = Workbook(write_only=True)
    for name, (header, rows) in sheets.items():
        sheet = book.create_sheet(title=name[:31])  # Excel's limit on sheet names
        sheet.append([_text(sheet, v) for v in header])
        for row in rows:
            sheet.append([_text(sheet, v) for v in row])
    book.save(str(Path(path)))


def _text(sheet: Any, value: Cell) -> object:
    """``value``, or a cell that keeps a text starting with ``=`` as text."""
    if not (isinstance(value, str) and value.startswith("=")):
        return value
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    return cell
