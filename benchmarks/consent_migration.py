"""Benchmark: migrating a consent history into the ledger against a hand-written one.

One generated İYS-style consent export of another provider (``;``-separated UTF-8
CSV: recipient, type, source, status, consentDate, recipientType, brand, formRef;
numbers written ``+90 5xx …``, ``05xx…`` and ``5xx…``, every 7th a RET, 0.5% repeating
an earlier row exactly) is cached in ``benchmarks/_data/`` (git-ignored). In one run,
alternating rounds, medians, each job into a fresh SQLite file:

* **hand-written**: ``csv.reader``; per row ``phonenumbers.parse`` +
  ``is_valid_number`` + ``format_number(E164)``, ``datetime.strptime`` in Turkish
  time, the status, channel and source checked against their sets; an exact repeat
  skipped; each event's SHA-256 chained to the one before over its canonical JSON;
  ``sqlite3`` ``executemany`` in 10,000-row transactions — the least that leaves a
  tamper-evident ledger of the same events;
* **isobil**: ``import_consent_history(ConsentLedger(SQLStorage(…)).append, path)``.

Both libraries are imported before the clock starts.

Afterwards the script checks that both stored the same events (address, status,
source, brand, channel, date) and prints the figures as JSON. Run from the
repository root:

    .venv/bin/python benchmarks/consent_migration.py --rows 200000 --rounds 3
    .venv/bin/python benchmarks/consent_migration.py --quick
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers

from isobil.consent import ConsentLedger
from isobil.contacts import import_consent_history
from isobil.storage import SQLStorage

DATA = Path(__file__).resolve().parent / "_data"
HEADER = [
    "recipient", "type", "source", "status", "consentDate", "recipientType", "brand", "formRef"
]  # fmt: skip
SOURCES = ("HS_WEB", "HS_MESAJ", "HS_FIZIKSEL_ORTAM", "HS_ISLAK_IMZA", "HS_CAGRI_MERKEZI")
TURKEY = ZoneInfo("Europe/Istanbul")
Event = tuple[str, str, str, str, str, str]  # address, status, source, brand, channel, date


def generate(rows: int) -> Path:
    """The export, written once and cached."""
    path = DATA / f"consent_history_{rows}.csv"
    if path.exists():
        return path
    DATA.mkdir(exist_ok=True)
    rng = random.Random(20261206)
    written: list[list[str]] = []
    with path.open("w", encoding="utf-8", newline="") as file:
        out = csv.writer(file, delimiter=";")
        out.writerow(HEADER)
        for i in range(rows):
            if written and rng.random() < 0.005:
                row = rng.choice(written)  # an exact repeat
            else:
                digits = f"53{i % 10}{i:07d}"
                shape = rng.random()
                number = (
                    f"+90 {digits[:3]} {digits[3:6]} {digits[6:]}"
                    if shape < 0.4
                    else f"0{digits}"
                    if shape < 0.8
                    else digits
                )
                day = datetime(2021, 1, 1, 9, tzinfo=TURKEY).timestamp() + i * 97
                when = datetime.fromtimestamp(day, TURKEY).strftime("%Y-%m-%d %H:%M:%S")
                status = "RET" if i % 7 == 0 else "ONAY"
                row = [number, "MESAJ", rng.choice(SOURCES), status, when, "BIREYSEL", "ACME",
                       f"F-{i}"]  # fmt: skip
                if len(written) < 1000:
                    written.append(row)
            out.writerow(row)
    return path


# -- the hand-written migration -------------------------------------------------------


def hand_written(path: Path, db: Path) -> int:
    parse, valid, formatted = (
        phonenumbers.parse,
        phonenumbers.is_valid_number,
        phonenumbers.format_number,
    )
    e164 = phonenumbers.PhoneNumberFormat.E164
    statuses, channels, sources = {"ONAY", "RET"}, {"MESAJ", "ARAMA", "EPOSTA"}, set(SOURCES)
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute(
        "CREATE TABLE events (seq INTEGER PRIMARY KEY, address TEXT, status TEXT, "
        "source TEXT, brand TEXT, channel TEXT, recipient_type TEXT, consent_date TEXT, "
        "evidence TEXT, hash TEXT, prev_hash TEXT)"
    )
    con.execute("CREATE INDEX events_address ON events (address, seq)")
    insert = "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    seen: set[tuple[str, ...]] = set()
    batch: list[tuple[Any, ...]] = []
    previous, seq = "0" * 64, 0
    with path.open(encoding="utf-8", newline="") as file:
        rows = csv.reader(file, delimiter=";")
        next(rows)
        for index, (raw, channel, source, status, when, kind, brand, form) in enumerate(rows, 2):
            try:
                number = parse(raw, "TR")
            except phonenumbers.NumberParseException:
                continue
            if not valid(number) or status not in statuses or channel not in channels:
                continue
            if source not in sources:
                continue
            at = datetime.strptime(when, "%Y-%m-%d %H:%M:%S").replace(tzinfo=TURKEY)
            date = at.astimezone(UTC).isoformat()
            address = formatted(number, e164)
            key = (address, status, source, brand, channel, kind, date)
            if key in seen:
                continue
            seen.add(key)
            evidence = {"migrated_from": path.name, "row": str(index), "formRef": form}
            body = {
                "address": address, "status": status, "source": source, "brand": brand,
                "channel": channel, "recipient_type": kind, "consent_date": date,
                "evidence": evidence,
            }  # fmt: skip
            text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            digest = hashlib.sha256(f"{previous}\n{text}".encode()).hexdigest()
            seq += 1
            evidence_text = json.dumps(evidence, ensure_ascii=False)
            batch.append(
                (seq, address, status, source, brand, channel, kind, date, evidence_text,
                 digest, previous)
            )  # fmt: skip
            previous = digest
            if len(batch) == 10_000:
                with con:
                    con.executemany(insert, batch)
                batch = []
    with con:
        con.executemany(insert, batch)
    con.close()
    return seq


def hand_written_events(db: Path) -> set[Event]:
    con = sqlite3.connect(db)
    try:
        rows = con.execute(
            "SELECT address, status, source, brand, channel, consent_date FROM events"
        )
        return set(rows)  # the date as it was written: UTC, isoformat()
    finally:
        con.close()


# -- isobil ------------------------------------------------------------------------


def isobil_migration(path: Path, db: Path) -> int:
    storage = SQLStorage(f"sqlite:///{db}")
    try:
        report = import_consent_history(ConsentLedger(storage).append, path)
        assert report.complete, report
        return report.taken
    finally:
        storage.close()


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


JOBS = {"hand-written": hand_written, "isobil": isobil_migration}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2,000 rows, 1 round")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.rounds = 2_000, 1
    path = generate(args.rows)
    times: dict[str, list[float]] = {job: [] for job in JOBS}
    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="isobil-consent-") as tmp:
        for round_ in range(args.rounds):
            order = list(JOBS) if round_ % 2 == 0 else list(reversed(JOBS))
            for job in order:
                db = Path(tmp) / f"{job}_{round_}.db"
                began = time.perf_counter()
                counts[job] = JOBS[job](path, db)
                times[job].append(time.perf_counter() - began)
                print(f"{job}: {times[job][-1]:.2f} s", file=sys.stderr, flush=True)
        last = args.rounds - 1
        mine = isobil_events(Path(tmp) / f"isobil_{last}.db")
        theirs = hand_written_events(Path(tmp) / f"hand-written_{last}.db")
    if mine != theirs:
        print(f"FAILED: {len(mine ^ theirs)} events differ", file=sys.stderr)
        return 1
    medians = {job: statistics.median(ts) for job, ts in times.items()}
    print(
        json.dumps(
            {
                "rows": args.rows,
                "events": counts["isobil"],
                "python": platform.python_version(),
                "seconds": {job: [round(t, 2) for t in ts] for job, ts in times.items()},
                "median_s": {job: round(m, 2) for job, m in medians.items()},
                "events_per_s": {job: round(args.rows / m) for job, m in medians.items()},
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
