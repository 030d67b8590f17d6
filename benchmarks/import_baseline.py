"""Benchmark: contact import against the raw read and a hand-written import (issue 18).

One generated address book (columns Ad, Soyad, Telefon, Şehir; numbers in the
shapes of SPEC F11, 20% numeric cells, 3% landlines, 1% invalid, 0.5% repeating an
earlier row) is written as .xlsx (openpyxl, write-only) and as a ``;``-separated
UTF-8 CSV, and cached in ``benchmarks/_data/`` (git-ignored). For each format, in
one run, alternating rounds, medians:

* **raw read**: python-calamine ``iter_rows`` over the sheet (xlsx), or
  ``csv.reader`` over the file (CSV) — every row touched, nothing done with it;
* **hand-written import**: the same reader, per row ``phonenumbers.parse`` +
  ``is_valid_number`` + ``format_number(E164)``, first row of a number wins, and
  ``sqlite3`` ``executemany`` into one table in 50,000-row transactions;
* **read + write, no checks**: the same reader and ``sqlite3`` ``executemany`` of
  every row's text as it is, no phone check (the floor of any import into SQLite;
  its answer differs, so it is not compared);
* **isobil**: ``ContactBook(SQLStorage("sqlite:///…")).import_file(path)``.

After the rounds the script checks that isobil stored exactly the contacts the
hand-written import stored (number, name, surname and the city as a custom field).
Run from the repository root:

    PYTHONPATH=src .venv/bin/python benchmarks/import_baseline.py --rows 1000000
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import platform
import random
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from contacts_import import CITIES, INVALID, NAMES, SURNAMES, national, phone_cell

DATA = Path(__file__).resolve().parent / "_data"
LANDLINES = ("212", "216", "312", "232", "224", "242")


def sheet_rows(rows: int, seed: int = 20261206) -> Iterator[list[Any]]:
    """The rows of the benchmark address book, header first."""
    rng = random.Random(seed)
    yield ["Ad", "Soyad", "Telefon", "Şehir"]
    for i in range(rows):
        r = rng.random()
        if r < 0.01:
            cell: str | float = rng.choice(INVALID)
        elif r < 0.015 and i > 0:
            cell = phone_cell(rng, national(rng.randrange(i)))
        elif r < 0.045:
            # A landline: the normaliser's slow path.
            digits = f"{rng.choice(LANDLINES)}{2 + i % 7}{(i * 7919) % 1_000_000:06d}"
            cell = phone_cell(rng, digits)
        else:
            cell = phone_cell(rng, national(i))
        yield [rng.choice(NAMES), rng.choice(SURNAMES), cell, rng.choice(CITIES)]


def generate(rows: int) -> tuple[Path, Path]:
    DATA.mkdir(exist_ok=True)
    xlsx, csv_path = DATA / f"baseline_{rows}.xlsx", DATA / f"baseline_{rows}.csv"
    if not csv_path.exists():
        tmp = csv_path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8", newline="") as file:
            writer = csv.writer(file, delimiter=";")
            for row in sheet_rows(rows):
                cell = row[2]
                # A numeric cell exported to CSV: its digits.
                row[2] = str(int(cell)) if isinstance(cell, float) else cell
                writer.writerow(row)
        tmp.replace(csv_path)
    if not xlsx.exists():
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("Rehber")
        for row in sheet_rows(rows):
            sheet.append(row)
        tmp = xlsx.with_suffix(".tmp")
        book.save(str(tmp))
        tmp.replace(xlsx)
    return xlsx, csv_path


# -- readers ------------------------------------------------------------------


def read_xlsx(path: Path) -> Iterator[list[Any]]:
    import python_calamine

    book = python_calamine.CalamineWorkbook.from_path(str(path))
    try:
        yield from book.get_sheet_by_index(0).iter_rows()
    finally:
        book.close()


def read_csv(path: Path) -> Iterator[list[str]]:
    with path.open(encoding="utf-8", newline="") as file:
        yield from csv.reader(file, delimiter=";")


READERS: dict[str, Callable[[Path], Iterator[list[Any]]]] = {"xlsx": read_xlsx, "csv": read_csv}


def raw_read(fmt: str, path: Path, _: Path) -> int:
    count = 0
    for _row in READERS[fmt](path):
        count += 1
    return count


# -- the hand-written import ----------------------------------------------------


def hand_import(fmt: str, path: Path, db: Path) -> int:
    import phonenumbers

    parse, valid, fmt_number = (
        phonenumbers.parse,
        phonenumbers.is_valid_number,
        phonenumbers.format_number,
    )
    e164 = phonenumbers.PhoneNumberFormat.E164
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute(
        "CREATE TABLE contacts (number TEXT PRIMARY KEY, name TEXT, surname TEXT, fields TEXT)"
    )
    insert = "INSERT INTO contacts VALUES (?, ?, ?, ?)"
    seen: set[str] = set()
    batch: list[tuple[str, str | None, str | None, str]] = []
    rows = READERS[fmt](path)
    next(rows)  # the header
    for name, surname, raw, city in rows:
        text = str(int(raw)) if type(raw) is float else raw
        try:
            number = parse(text, "TR")
        except phonenumbers.NumberParseException:
            continue
        if not valid(number):
            continue
        key = fmt_number(number, e164)
        if key in seen:
            continue
        seen.add(key)
        fields = json.dumps({"sehir": city}, ensure_ascii=False) if city else "{}"
        batch.append((key, name or None, surname or None, fields))
        if len(batch) == 50_000:
            with con:
                con.executemany(insert, batch)
            batch = []
    with con:
        con.executemany(insert, batch)
    con.close()
    return len(seen)


def write_only(fmt: str, path: Path, db: Path) -> int:
    """The floor of any import into SQLite: read, and write every row's text unchecked."""
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute(
        "CREATE TABLE contacts (number TEXT PRIMARY KEY, name TEXT, surname TEXT, fields TEXT)"
    )
    insert = "INSERT OR IGNORE INTO contacts VALUES (?, ?, ?, ?)"
    rows = READERS[fmt](path)
    next(rows)
    count = 0
    while batch := [
        (str(raw), name, surname, city)
        for name, surname, raw, city in itertools.islice(rows, 50_000)
    ]:
        with con:
            con.executemany(insert, batch)
        count += len(batch)
    con.close()
    return count


def isobil_import(fmt: str, path: Path, db: Path) -> int:
    from isobil.contacts import ContactBook
    from isobil.storage import SQLStorage

    storage = SQLStorage(f"sqlite:///{db}")
    try:
        report = ContactBook(storage).import_file(path)
        assert report.complete
        return report.taken
    finally:
        storage.close()


def stored(db: Path, isobil: bool) -> set[tuple[str, str | None, str | None, str]]:
    con = sqlite3.connect(db)
    query = (
        "SELECT number, name, surname, fields FROM isobil_contacts"
        if isobil
        else "SELECT number, name, surname, fields FROM contacts"
    )
    try:
        return {
            (number, name, surname, json.loads(fields).get("sehir", ""))
            for number, name, surname, fields in con.execute(query)
        }
    finally:
        con.close()


JOBS: dict[str, Callable[[str, Path, Path], int]] = {
    "raw read": raw_read,
    "hand-written import": hand_import,
    "read + write, no checks": write_only,
    "isobil import": isobil_import,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--formats", default="xlsx,csv")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    xlsx, csv_path = generate(args.rows)
    paths = {"xlsx": xlsx, "csv": csv_path}
    print(f"data ready in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    results: dict[str, Any] = {
        "rows": args.rows,
        "python": platform.python_version(),
        "load_average_before": os.getloadavg(),
    }
    for fmt in args.formats.split(","):
        times: dict[str, list[float]] = {job: [] for job in JOBS}
        counts: dict[str, int] = {}
        with tempfile.TemporaryDirectory(prefix="isobil-import-") as tmp:
            for round_ in range(args.rounds):
                for job, run in JOBS.items():
                    db = Path(tmp) / f"{job.replace(' ', '_')}_{round_}.db"
                    began = time.perf_counter()
                    counts[job] = run(fmt, paths[fmt], db)
                    times[job].append(time.perf_counter() - began)
                    print(f"{fmt} {job}: {times[job][-1]:.2f} s", file=sys.stderr)
            last = args.rounds - 1
            mine = stored(Path(tmp) / f"isobil_import_{last}.db", isobil=True)
            theirs = stored(Path(tmp) / f"hand-written_import_{last}.db", isobil=False)
            assert mine == theirs, f"{fmt}: isobil stored {len(mine ^ theirs)} rows differently"
        medians = {job: statistics.median(ts) for job, ts in times.items()}
        results[fmt] = {
            "file_mb": round(paths[fmt].stat().st_size / 1e6, 1),
            "seconds": {job: [round(t, 2) for t in ts] for job, ts in times.items()},
            "median_s": {job: round(m, 2) for job, m in medians.items()},
            "contacts": counts["isobil import"],
            "equal_to_hand_written": True,
            "isobil_vs_raw_read": round(medians["isobil import"] / medians["raw read"], 2),
            "isobil_vs_hand_written": round(
                medians["isobil import"] / medians["hand-written import"], 2
            ),
            "floor_vs_raw_read": round(medians["read + write, no checks"] / medians["raw read"], 2),
        }
    results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    results["load_average_after"] = os.getloadavg()
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
