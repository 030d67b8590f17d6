"""Benchmark: import a 1,000,000-row .xlsx address book into SQLite (issue F10–F15).

The sheet has the columns Ad, Soyad, Telefon, Şehir; the numbers come in the
shapes of SPEC F11 (20% numeric cells, which read back as floats), about 1% are
invalid and 0.5% repeat an earlier row. It is written once with openpyxl
(write-only, about a minute) and cached in ``benchmarks/_data/`` (git-ignored).

Measured in one run, each into a fresh SQLite file:

* **isobil**: ``ContactBook(SQLStorage(...)).import_file(path)`` — python-calamine,
  the fast normaliser, chunked upserts; and the same into a group (``group=``).
* **baseline**: the naive import — openpyxl read-only, per row
  ``phonenumbers.parse`` + ``is_valid_number`` + ``format_number(E164)`` (the
  least that yields the same E.164 answer), ``Recipient(...)``, and the same
  ``SQLStorage.upsert_contacts`` in chunks of 10,000. Its reading and parsing
  alone are timed too, so the ratio can be read either way.

Both runs must store the same numbers (checked). Run from the repository root:

    .venv/bin/python benchmarks/contacts_import.py --rows 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "_data"

NAMES = [
    "Ayşe",
    "Fatma",
    "Emine",
    "Hatice",
    "Zeynep",
    "Elif",
    "Meryem",
    "Şerife",
    "Zehra",
    "Sultan",
    "Hülya",
    "Özlem",
    "Gül",
    "Mehmet",
    "Mustafa",
    "Ahmet",
    "Ali",
    "Hüseyin",
    "Hasan",
    "İbrahim",
    "İsmail",
    "Osman",
    "Yusuf",
    "Murat",
    "Ömer",
    "Çağrı",
]
SURNAMES = [
    "Yılmaz",
    "Kaya",
    "Demir",
    "Şahin",
    "Çelik",
    "Yıldız",
    "Yıldırım",
    "Öztürk",
    "Aydın",
    "Özdemir",
    "Arslan",
    "Doğan",
    "Kılıç",
    "Aslan",
    "Çetin",
    "Kara",
    "Koç",
    "Kurt",
    "Özkan",
    "Şimşek",
    "Polat",
    "Güneş",
    "Erdoğan",
    "Akın",
    "Ünal",
]
CITIES = [
    "İstanbul",
    "Ankara",
    "İzmir",
    "Bursa",
    "Antalya",
    "Konya",
    "Adana",
    "Şanlıurfa",
    "Gaziantep",
    "Kocaeli",
    "Mersin",
    "Diyarbakır",
    "Hatay",
    "Manisa",
    "Kayseri",
    "Samsun",
    "Balıkesir",
    "Kahramanmaraş",
    "Van",
    "Aydın",
]
INVALID = ("12345", "0212 12", "abc", "0532 123 45", "+1 555", "05321234567890", "yok")


def national(i: int) -> str:
    """The i-th distinct valid Turkish mobile (unique for i < 10,000,000)."""
    # 7919 is coprime with 10**7, so i -> i*7919 mod 10**7 is a bijection.
    return f"53{i % 10}{(i * 7919) % 10_000_000:07d}"


def phone_cell(rng: random.Random, digits: str) -> str | float:
    """One number in one of the shapes real sheets hold (a float cell is a number cell)."""
    r = rng.random()
    if r < 0.20:
        return float(digits)  # a numeric cell, read back as 5321234567.0
    if r < 0.45:
        return f"0{digits[:3]} {digits[3:6]} {digits[6:8]} {digits[8:]}"
    if r < 0.60:
        return "0" + digits
    if r < 0.70:
        return digits
    if r < 0.80:
        return f"+90 ({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    if r < 0.90:
        return "90" + digits
    return "+90" + digits


def generate(path: Path, rows: int, seed: int = 20260301) -> None:
    """Write the benchmark sheet with openpyxl (write-only): Ad, Soyad, Telefon, Şehir.

    About 1% of the numbers are invalid and 0.5% repeat an earlier row's number.
    """
    from openpyxl import Workbook

    rng = random.Random(seed)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Rehber")
    sheet.append(["Ad", "Soyad", "Telefon", "Şehir"])
    for i in range(rows):
        r = rng.random()
        if r < 0.01:
            cell: str | float = rng.choice(INVALID)
        elif r < 0.015 and i > 0:
            cell = phone_cell(rng, national(rng.randrange(i)))
        else:
            cell = phone_cell(rng, national(i))
        sheet.append([rng.choice(NAMES), rng.choice(SURNAMES), cell, rng.choice(CITIES)])
    tmp = path.with_suffix(".tmp")
    book.save(str(tmp))
    tmp.replace(path)


def sqlite_storage(directory: Path, name: str) -> Any:
    from isobil.storage import SQLStorage

    return SQLStorage(f"sqlite:///{directory / name}")


def run_isobil(
    path: Path, directory: Path, *, group: str | None, chunk_size: int, name: str
) -> dict[str, Any]:
    from isobil.contacts import ContactBook

    storage = sqlite_storage(directory, f"isobil_{name}.db")
    start = time.perf_counter()
    report = ContactBook(storage).import_file(path, group=group, chunk_size=chunk_size)
    seconds = time.perf_counter() - start
    assert report.complete
    stored = storage.count_contacts()
    storage.close()
    return {
        "seconds": seconds,
        "imported": report.imported,
        "duplicates": report.duplicates,
        "invalid": len(report.invalid),
        "stored": stored,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def baseline_rows(path: Path) -> Iterator[tuple[str, Any, Any, Any]]:
    """openpyxl read-only + phonenumbers per row: (E.164, name, surname, city) of valid rows."""
    import phonenumbers
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        next(rows)  # the header
        for name, surname, raw, city in rows:
            text = str(int(raw)) if isinstance(raw, float) else str(raw)
            try:
                number = phonenumbers.parse(text, "TR")
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(number):
                e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                yield e164, name, surname, city
    finally:
        book.close()


def run_baseline(path: Path, directory: Path) -> dict[str, Any]:
    from isobil.model import Recipient

    start = time.perf_counter()
    valid = sum(1 for _ in baseline_rows(path))
    read_parse = time.perf_counter() - start
    storage = sqlite_storage(directory, "baseline.db")
    start = time.perf_counter()
    chunk: list[Recipient] = []
    for number, name, surname, city in baseline_rows(path):
        chunk.append(Recipient(number, name, surname, None, {"sehir": city}))
        if len(chunk) == 10_000:
            storage.upsert_contacts(chunk)
            chunk = []
    storage.upsert_contacts(chunk)
    seconds = time.perf_counter() - start
    stored = storage.count_contacts()
    storage.close()
    return {"seconds": seconds, "read_parse_seconds": read_parse, "valid": valid, "stored": stored}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunk-size", type=int, default=None, help="default: the library's")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument(
        "--repeat", type=int, default=3, help="isobil imports to run; the fastest is reported"
    )
    args = parser.parse_args(argv)
    from isobil.contacts import DEFAULT_CHUNK_SIZE

    chunk_size = args.chunk_size or DEFAULT_CHUNK_SIZE
    DATA.mkdir(exist_ok=True)
    path = DATA / f"contacts_{args.rows}.xlsx"
    if not path.exists():
        start = time.perf_counter()
        generate(path, args.rows)
        print(f"generated {path} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    results: dict[str, Any] = {
        "load_average_before": os.getloadavg(),
        "rows": args.rows,
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "chunk_size": chunk_size,
        "python": platform.python_version(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        runs = [
            run_isobil(path, directory, group=None, chunk_size=chunk_size, name=f"run{i}")
            for i in range(args.repeat)
        ]
        results["isobil"] = min(runs, key=lambda r: r["seconds"])
        results["isobil"]["all_seconds"] = [round(r["seconds"], 2) for r in runs]
        print(json.dumps(results, indent=2), file=sys.stderr)
        results["isobil_group"] = run_isobil(
            path, directory, group="Mart", chunk_size=chunk_size, name="group"
        )
        if not args.skip_baseline:
            base = results["baseline"] = run_baseline(path, directory)
            assert base["stored"] == results["isobil"]["stored"], "different contacts stored"
            results["speedup"] = round(base["seconds"] / results["isobil"]["seconds"], 1)
            results["speedup_vs_read_parse_only"] = round(
                base["read_parse_seconds"] / results["isobil"]["seconds"], 1
            )
    results["load_average_after"] = os.getloadavg()
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
