"""Benchmark: migrating a consent history (or a blacklist) against a hand-written migration.

``--what consent`` (the default): one generated İYS-style consent export of another
provider (``;``-separated UTF-8 CSV: recipient, type, source, status, consentDate,
recipientType, brand, formRef; numbers written ``+90 5xx …``, ``05xx…`` and ``5xx…``,
every 7th a RET, 0.5% repeating an earlier row exactly) is cached in
``benchmarks/_data/`` (git-ignored). In one run, alternating rounds, medians, each
job into a fresh SQLite file:

* **hand-written**: ``csv.reader``; per row ``phonenumbers.parse`` +
  ``is_valid_number`` + ``format_number(E164)``, ``datetime.strptime`` in Turkish
  time, the status, channel and source checked against their sets; an exact repeat
  skipped; each event's SHA-256 chained to the one before over its canonical JSON;
  ``sqlite3`` ``executemany`` in 10,000-row transactions — the least that leaves a
  tamper-evident ledger of the same events;
* **isobil**: ``import_consent_history(ConsentLedger(SQLStorage(…)).append, path)``.

``--what blacklist``: another provider's blacklist export (``;``-separated: Telefon,
Sebep, Tarih; the same number shapes, 0.5% repeating an earlier number):

* **hand-written**: ``csv.reader``; per row the same ``phonenumbers`` check, the
  date by ``strptime`` in Turkish time; the first row of a number wins; ``sqlite3``
  ``executemany`` of ``INSERT … ON CONFLICT (number) DO UPDATE`` in 10,000-row
  transactions into a table keyed by the number;
* **isobil**: ``import_blacklist(SQLStorage(…), path)``.

Both libraries are imported before the clock starts.

Afterwards the script checks that both stored the same events (address, status,
source, brand, channel, date), or the same entries (number, reason, date), and
prints the figures as JSON. Run from the repository root:

    .venv/bin/python benchmarks/consent_migration.py --rows 200000 --rounds 3
    .venv/bin/python benchmarks/consent_migration.py --what blacklist --rows 200000 --rounds 3
    .venv/bin/python benchmarks/consent_migration.py --quick
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import itertools
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers

from isobil.consent import ConsentLedger
from isobil.contacts import MigrationReport, import_blacklist, import_consent_history
from isobil.storage import SQLStorage

DATA = Path(__file__).resolve().parent / "_data"
HEADER = [
    "recipient", "type", "source", "status", "consentDate", "recipientType", "brand", "formRef"
]  # fmt: skip
SOURCES = ("HS_WEB", "HS_MESAJ", "HS_FIZIKSEL_ORTAM", "HS_ISLAK_IMZA", "HS_CAGRI_MERKEZI")
TURKEY = ZoneInfo("Europe/Istanbul")
Event = tuple[str, str, str, str, str, str]  # address, status, source, brand, channel, date
Entry = tuple[str, str, str]  # number, reason, date
REASONS = ("RET", "şikayet", "mahkeme kararı")


def cached(name: str, header: list[str], rows: Iterator[list[str]]) -> Path:
    """``benchmarks/_data/<name>``: a ``;`` CSV of ``header`` and ``rows``, written once."""
    path = DATA / name
    if not path.exists():
        DATA.mkdir(exist_ok=True)
        with path.open("w", encoding="utf-8", newline="") as file:
            out = csv.writer(file, delimiter=";")
            out.writerow(header)
            out.writerows(rows)
    return path


def exported(i: int, rng: random.Random) -> str:
    """The ``i``-th number as another provider's export writes it."""
    digits = f"53{i % 10}{i:07d}"
    shape = rng.random()
    if shape < 0.4:
        return f"+90 {digits[:3]} {digits[3:6]} {digits[6:]}"
    return f"0{digits}" if shape < 0.8 else digits


def dated(i: int) -> str:
    """The ``i``-th row's date, in Turkish time as İYS writes it."""
    day = datetime(2021, 1, 1, 9, tzinfo=TURKEY).timestamp() + i * 97
    return datetime.fromtimestamp(day, TURKEY).strftime("%Y-%m-%d %H:%M:%S")


def consent_rows(rows: int) -> Iterator[list[str]]:
    rng = random.Random(20261206)
    written: list[list[str]] = []
    for i in range(rows):
        if written and rng.random() < 0.005:
            yield rng.choice(written)  # an exact repeat
            continue
        number = exported(i, rng)
        status = "RET" if i % 7 == 0 else "ONAY"
        row = [number, "MESAJ", rng.choice(SOURCES), status, dated(i), "BIREYSEL", "ACME",
               f"F-{i}"]  # fmt: skip
        if len(written) < 1000:
            written.append(row)
        yield row


def blacklist_rows(rows: int) -> Iterator[list[str]]:
    rng = random.Random(20261206)
    for i in range(rows):
        n = rng.randrange(i) if i and rng.random() < 0.005 else i  # a repeat
        yield [exported(n, rng), REASONS[i % 3], dated(i)]


def generate(rows: int) -> Path:
    return cached(f"consent_history_{rows}.csv", HEADER, consent_rows(rows))


def generate_blacklist(rows: int) -> Path:
    return cached(f"blacklist_{rows}.csv", ["Telefon", "Sebep", "Tarih"], blacklist_rows(rows))


# -- the hand-written migration -------------------------------------------------------


def e164(raw: str) -> str | None:
    """``raw`` as E.164 by phonenumbers (parse, valid, format), or None."""
    try:
        number = phonenumbers.parse(raw, "TR")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def connect(db: Path, *schema: str) -> sqlite3.Connection:
    """A fresh database at ``db`` with isobil's SQLite settings and ``schema``."""
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    for statement in schema:
        con.execute(statement)
    return con


def migrate(
    path: Path,
    db: Path,
    schema: Sequence[str],
    insert: str,
    convert: Callable[[Iterator[list[str]]], Iterator[tuple[Any, ...]]],
) -> int:
    """The rows of the CSV at ``path`` (its header skipped), ``convert``-ed, inserted
    into a fresh database at ``db`` in 10,000-row transactions; how many were."""
    con = connect(db, *schema)
    stored = 0
    try:
        with path.open(encoding="utf-8", newline="") as file:
            rows = csv.reader(file, delimiter=";")
            next(rows)
            converted = convert(rows)
            while batch := list(itertools.islice(converted, 10_000)):
                with con:
                    con.executemany(insert, batch)
                stored += len(batch)
    finally:
        con.close()
    return stored


def ledger_rows(name: str, rows: Iterator[list[str]]) -> Iterator[tuple[Any, ...]]:
    """Each valid, new consent of an export as a hash-chained event row."""
    statuses, channels, sources = {"ONAY", "RET"}, {"MESAJ", "ARAMA", "EPOSTA"}, set(SOURCES)
    seen: set[tuple[str, ...]] = set()
    previous, seq = "0" * 64, 0
    for index, (raw, channel, source, status, when, kind, brand, form) in enumerate(rows, 2):
        address = e164(raw)
        if address is None or status not in statuses or channel not in channels:
            continue
        if source not in sources:
            continue
        at = datetime.strptime(when, "%Y-%m-%d %H:%M:%S").replace(tzinfo=TURKEY)
        date = at.astimezone(UTC).isoformat()
        key = (address, status, source, brand, channel, kind, date)
        if key in seen:
            continue
        seen.add(key)
        evidence = {"migrated_from": name, "row": str(index), "formRef": form}
        body = {
            "address": address, "status": status, "source": source, "brand": brand,
            "channel": channel, "recipient_type": kind, "consent_date": date,
            "evidence": evidence,
        }  # fmt: skip
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256(f"{previous}\n{text}".encode()).hexdigest()
        seq += 1
        evidence_text = json.dumps(evidence, ensure_ascii=False)
        yield (seq, address, status, source, brand, channel, kind, date, evidence_text,
               digest, previous)  # fmt: skip
        previous = digest


def hand_written(path: Path, db: Path) -> int:
    return migrate(
        path,
        db,
        (
            "CREATE TABLE events (seq INTEGER PRIMARY KEY, address TEXT, status TEXT, "
            "source TEXT, brand TEXT, channel TEXT, recipient_type TEXT, consent_date TEXT, "
            "evidence TEXT, hash TEXT, prev_hash TEXT)",
            "CREATE INDEX events_address ON events (address, seq)",
        ),
        "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        lambda rows: ledger_rows(path.name, rows),
    )


def blacklist_entries(rows: Iterator[list[str]]) -> Iterator[tuple[str, str, str]]:
    """The first row of each valid number, as (number, reason, UTC date)."""
    seen: set[str] = set()
    for raw, reason, when in rows:
        address = e164(raw)
        if address is None or address in seen:
            continue
        seen.add(address)
        at = datetime.strptime(when, "%Y-%m-%d %H:%M:%S").replace(tzinfo=TURKEY)
        yield address, reason, at.astimezone(UTC).isoformat()


def hand_written_blacklist(path: Path, db: Path) -> int:
    return migrate(
        path,
        db,
        ("CREATE TABLE blacklist (number TEXT PRIMARY KEY, reason TEXT, added_at TEXT)",),
        "INSERT INTO blacklist VALUES (?, ?, ?) ON CONFLICT (number) DO UPDATE"
        " SET reason = excluded.reason, added_at = excluded.added_at",
        blacklist_entries,
    )


def hand_written_rows(query: str) -> Callable[[Path], set[tuple[str, ...]]]:
    """What a hand-written migration stored, by ``query`` (dates as written: UTC,
    ``isoformat()``)."""

    def rows(db: Path) -> set[tuple[str, ...]]:
        con = sqlite3.connect(db)
        try:
            return set(con.execute(query))
        finally:
            con.close()

    return rows


# -- isobil ------------------------------------------------------------------------


def isobil_job(run: Callable[[SQLStorage, Path], MigrationReport]) -> Callable[[Path, Path], int]:
    """The migration ``run(storage, path)`` into a fresh ``SQLStorage`` at ``db``: rows taken."""

    def job(path: Path, db: Path) -> int:
        storage = SQLStorage(f"sqlite:///{db}")
        try:
            report = run(storage, path)
            assert report.complete, report
            return report.taken
        finally:
            storage.close()

    return job


def isobil_events(db: Path) -> set[Event]:
    storage = SQLStorage(f"sqlite:///{db}")
    try:
        ledger = ConsentLedger(storage)
        assert ledger.verify().ok
        return {
            (
                e.address,
                e.status.value,
                e.source.value,
                e.brand,
                e.channel.value,
                e.consent_date.astimezone(UTC).isoformat(),
            )
            for e in storage.iter_consent_events()
        }
    finally:
        storage.close()


def isobil_entries(db: Path) -> set[Entry]:
    storage = SQLStorage(f"sqlite:///{db}")
    try:
        return {
            (e.number, e.reason, e.added_at.astimezone(UTC).isoformat())
            for e in storage.iter_blacklist()
        }
    finally:
        storage.close()


#: For each migration: its export, the two jobs, and what each stored.
WHAT: dict[str, dict[str, Any]] = {
    "consent": {
        "generate": generate,
        "jobs": {
            "hand-written": hand_written,
            "isobil": isobil_job(
                lambda storage, path: import_consent_history(ConsentLedger(storage).append, path)
            ),
        },
        "stored": {
            "hand-written": hand_written_rows(
                "SELECT address, status, source, brand, channel, consent_date FROM events"
            ),
            "isobil": isobil_events,
        },
    },
    "blacklist": {
        "generate": generate_blacklist,
        "jobs": {"hand-written": hand_written_blacklist, "isobil": isobil_job(import_blacklist)},
        "stored": {
            "hand-written": hand_written_rows("SELECT number, reason, added_at FROM blacklist"),
            "isobil": isobil_entries,
        },
    },
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--what", choices=list(WHAT), default="consent")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2,000 rows, 1 round")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.rounds = 2_000, 1
    what = WHAT[args.what]
    path, jobs = what["generate"](args.rows), what["jobs"]
    times: dict[str, list[float]] = {job: [] for job in jobs}
    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="isobil-consent-") as tmp:
        for round_ in range(args.rounds):
            order = list(jobs) if round_ % 2 == 0 else list(reversed(jobs))
            for job in order:
                db = Path(tmp) / f"{job}_{round_}.db"
                began = time.perf_counter()
                counts[job] = jobs[job](path, db)
                times[job].append(time.perf_counter() - began)
                print(f"{job}: {times[job][-1]:.2f} s", file=sys.stderr, flush=True)
        last = args.rounds - 1
        mine = what["stored"]["isobil"](Path(tmp) / f"isobil_{last}.db")
        theirs = what["stored"]["hand-written"](Path(tmp) / f"hand-written_{last}.db")
    if mine != theirs or counts["isobil"] != counts["hand-written"]:
        print(
            f"FAILED: {len(mine ^ theirs)} stored rows differ; stored {counts}",
            file=sys.stderr,
        )
        return 1
    medians = {job: statistics.median(ts) for job, ts in times.items()}
    print(
        json.dumps(
            {
                "what": args.what,
                "rows": args.rows,
                "stored": counts["isobil"],
                "python": platform.python_version(),
                "seconds": {job: [round(t, 2) for t in ts] for job, ts in times.items()},
                "median_s": {job: round(m, 2) for job, m in medians.items()},
                "rows_per_s": {job: round(args.rows / m) for job, m in medians.items()},
                "isobil_vs_hand_written": round(medians["isobil"] / medians["hand-written"], 2),
                "equal": True,
                "load_average_after": os.getloadavg(),
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
