"""Writing tables to CSV and .xlsx: one place for every report and export."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["Table", "write_csv", "write_xlsx"]

Cell = str | int | float | None
Table = tuple[Sequence[str], Iterable[Sequence[Cell]]]


def write_csv(path: str | Path, header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> int:
    """Write a UTF-8 CSV with a BOM (so Excel shows Turkish letters); return the row count."""
    count = 0
    with Path(path).open("w", encoding="utf-8-sig", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if cell is None else cell for cell in row])
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
