"""Preflight throughput: personalised recipients checked per second by ``client.check``.

Sets up N contacts (names, a custom field); an ONAY with its proof for 90% of
them, registered in İYS (a later RET for every 50th number); 1% blacklisted; İYS
pulled just now. Then times ``client.check()`` of one commercial template over
the whole audience against a hand-written check of the same audience, in the
same run, in alternating rounds (medians):

* SQLite: plain ``sqlite3`` on the same database: one query per 50,000 numbers for
  each number's latest consent event (a window), one for the blacklist, one for
  the contacts; ``str.format_map`` renders; ``sms.plan`` once per distinct text.
* memory: the same over plain dicts (events by address, the blacklist as a set).

A recipient is allowed when its latest consent is ONAY and it is not
blacklisted; both must reach the same allowed and blocked sets. Each side's time in
Python's garbage collector (``gc.callbacks``) is reported beside its CPU time. Usage:

    .venv/bin/python benchmarks/preflight.py [--n 100000] [--storage memory|sqlite] [--rounds 5]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import ACME, CollectorTime
from isobil import Client, FakeTransport, Message, Recipient, sms
from isobil.model import ConsentEvent
from isobil.storage import BlacklistEntry, IysSync, IysSyncStatus, MemoryStorage, Storage

NAMES = ["Ayşe", "Fatma", "Mehmet", "Ali", "Zeynep", "Mustafa", "Emine", "Hüseyin", "Şule"]
SURNAMES = ["Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Öztürk", "Aydın"]
CITIES = ["İstanbul", "Ankara", "İzmir", "Bursa", "Van", "Muğla"]
TEXT = (
    "KAMPANYA: Sayın {ad} {soyad}, {sehir} mağazamızda yeni sezon! acme.com.tr/k "
    "Ret için ACME RET yazıp 4605'e gönderin."
)
BRAND = "ACME"
CHUNK = 50_000
STATEMENT = "ACME kampanyalarından SMS ile haberdar olmak istiyorum."


class Data:
    """What the audience is made of, kept as plain values for the hand-written check."""

    def __init__(self, n: int) -> None:
        rng = random.Random(7)
        self.numbers = [f"+90532{i:07d}" for i in range(n)]
        self.contacts = {
            number: (rng.choice(NAMES), rng.choice(SURNAMES), {"sehir": rng.choice(CITIES)})
            for number in self.numbers
        }
        at = datetime(2024, 1, 1, tzinfo=UTC)
        self.events: list[ConsentEvent] = []
        for i, number in enumerate(self.numbers):
            if not i % 10:
                continue
            name, surname, _ = self.contacts[number]
            proof = {
                "name": f"{name} {surname}",
                "statement": STATEMENT,
                "pre_ticked": "no",
                "condition_of_sale": "no",
                "form": f"web-{i}",
            }
            self.events.append(
                ConsentEvent(number, "ONAY", "HS_WEB", BRAND, at, at, evidence=proof)
            )
            if i % 50 == 1:  # changed their mind later
                later = at + timedelta(days=30)
                self.events.append(ConsentEvent(number, "RET", "HS_WEB", BRAND, later, later))
        # Numbers that consented (every tenth did not): the blacklist decides their verdict.
        self.blacklist = self.numbers[5::100]


def build(storage: Storage, data: Data) -> Client:
    client = Client(ACME, transport=FakeTransport(), storage=storage)
    storage.upsert_contacts(
        Recipient(number, name=name, surname=surname, fields=fields)
        for number, (name, surname, fields) in data.contacts.items()
    )
    at = datetime(2024, 1, 1, tzinfo=UTC)
    stored = client.consent.append(data.events)
    storage.set_iys_sync(IysSync(e.seq or 0, IysSyncStatus.REGISTERED, at) for e in stored)
    storage.add_to_blacklist(BlacklistEntry(n_, "complaint", at) for n_ in data.blacklist)
    # As IysSynchronizer.run leaves it after pulling İYS's changes to the end.
    storage.set_state(f"iys.pulled_at.{BRAND}", datetime.now(UTC).isoformat())
    return client


Verdict = tuple[set[str], set[str], int]  # allowed, blocked, credits


def decide(
    numbers: Sequence[str],
    latest: dict[str, str],
    blacklisted: set[str],
    contacts: dict[str, tuple[str, str, dict[str, str]]],
    plans: dict[str, int],
) -> Verdict:
    """The hand-written decision and rendering, shared by both baselines."""
    allowed: set[str] = set()
    blocked: set[str] = set()
    credits = 0
    for number in numbers:
        if latest.get(number) != "ONAY" or number in blacklisted:
            blocked.add(number)
            continue
        name, surname, fields = contacts[number]
        text = TEXT.format_map({**fields, "ad": name, "soyad": surname})
        parts = plans.get(text)
        if parts is None:
            parts = plans[text] = sms.plan(text).parts
        allowed.add(number)
        credits += parts
    return allowed, blocked, credits


# Each number's latest consent event: the textbook window over the audience's events.
LATEST = """
SELECT address, status FROM (
    SELECT address, status, row_number() OVER (
        PARTITION BY address ORDER BY consent_date DESC, status = 'RET' DESC, seq DESC
    ) AS rank
    FROM isobil_consent_events
    WHERE brand = ? AND channel = 'MESAJ' AND address IN (SELECT value FROM json_each(?))
) WHERE rank = 1
"""
BLACKLISTED = "SELECT number FROM isobil_blacklist WHERE number IN (SELECT value FROM json_each(?))"
CONTACTS = (
    "SELECT number, name, surname, fields FROM isobil_contacts "
    "WHERE number IN (SELECT value FROM json_each(?))"
)


def sqlite_baseline(path: Path, numbers: Sequence[str]) -> Verdict:
    db = sqlite3.connect(path)
    try:
        latest: dict[str, str] = {}
        blacklisted: set[str] = set()
        contacts: dict[str, tuple[str, str, dict[str, str]]] = {}
        for start in range(0, len(numbers), CHUNK):
            listed = json.dumps(numbers[start : start + CHUNK])
            latest.update(db.execute(LATEST, (BRAND, listed)))
            blacklisted.update(n for (n,) in db.execute(BLACKLISTED, (listed,)))
            for number, name, surname, fields in db.execute(CONTACTS, (listed,)):
                contacts[number] = (name, surname, json.loads(fields))
        return decide(numbers, latest, blacklisted, contacts, {})
    finally:
        db.close()


def memory_baseline(data: Data, numbers: Sequence[str]) -> Callable[[], Verdict]:
    """The hand-written check over plain dicts (built once, like MemoryStorage's own state)."""
    events: dict[str, list[tuple[datetime, bool, int, str]]] = {}
    for seq, e in enumerate(data.events, 1):
        events.setdefault(e.address, []).append(
            (e.consent_date, e.status == "RET", seq, e.status.value)
        )
    blacklist = set(data.blacklist)
    contacts = data.contacts

    def check() -> Verdict:
        latest = {n: max(events[n])[3] for n in numbers if n in events}
        blacklisted = {n for n in numbers if n in blacklist}
        wanted = {n: contacts[n] for n in numbers if n in contacts}
        return decide(numbers, latest, blacklisted, wanted, {})

    return check


COLLECTOR = CollectorTime()


def timed(run: Callable[[], Verdict]) -> tuple[float, float, float, Verdict]:
    """Wall-clock and CPU seconds of ``run`` (CPU time is steadier on a shared machine),
    and the garbage collector's seconds within them. A full collection first (not
    timed): each side pays for its own garbage, not for what the other left behind."""
    gc.collect()
    COLLECTOR.seconds, COLLECTOR.counting = 0.0, True
    t0, c0 = time.perf_counter(), time.process_time()
    verdict = run()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    COLLECTOR.counting = False
    return wall, cpu, COLLECTOR.seconds, verdict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--storage", choices=["memory", "sqlite"], default="memory")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        if args.storage == "sqlite":
            from isobil.storage import SQLStorage

            storage: Storage = SQLStorage(f"sqlite:///{path}")
        else:
            storage = MemoryStorage()
        t0 = time.perf_counter()
        data = Data(args.n)
        client = build(storage, data)
        print(
            f"setup: {args.n:,} contacts and {len(data.events):,} consent events in "
            f"{time.perf_counter() - t0:.1f} s"
        )
        message = Message(TEXT, brand=BRAND)
        numbers = data.numbers

        def isobil() -> Verdict:
            report = client.check(message, to=numbers)
            return set(report.allowed), set(report.blocked), report.credits

        baseline = (
            (lambda: sqlite_baseline(path, numbers))
            if args.storage == "sqlite"
            else memory_baseline(data, numbers)
        )

        ours: list[tuple[float, float, float]] = []
        theirs: list[tuple[float, float, float]] = []
        for round_ in range(args.rounds):
            pair = [(ours, isobil), (theirs, baseline)]
            for times, run in pair if round_ % 2 == 0 else reversed(pair):
                wall, cpu, collector, verdict = timed(run)
                times.append((wall, cpu, collector))
                if run is isobil:
                    got = verdict
                else:
                    expected = verdict
            assert got[0] == expected[0], "isobil and the baseline allow different recipients"
            assert got[1] == expected[1], "isobil and the baseline block different recipients"
        ours_s, ours_cpu, ours_gc = (statistics.median(t[k] for t in ours) for k in (0, 1, 2))
        theirs_s, theirs_cpu, theirs_gc = (
            statistics.median(t[k] for t in theirs) for k in (0, 1, 2)
        )
        allowed, blocked, credits = got
        print(
            f"storage: {args.storage}, {args.rounds} alternating rounds, medians; "
            f"load average {os.getloadavg()[0]:.2f}"
        )
        print(
            f"client.check: {args.n:,} recipients in {ours_s:.2f} s = {args.n / ours_s:,.0f} "
            f"recipients/s, CPU {ours_cpu:.2f} s, GC {ours_gc:.2f} s ({len(allowed):,} allowed, "
            f"{len(blocked):,} blocked, {credits:,} credits)"
        )
        print(
            f"hand-written: {args.n:,} recipients in {theirs_s:.2f} s = "
            f"{args.n / theirs_s:,.0f} recipients/s, CPU {theirs_cpu:.2f} s, GC {theirs_gc:.2f} s "
            f"({expected[2]:,} credits)"
        )
        print(
            f"ratio isobil ÷ baseline: {ours_s / theirs_s:.2f}x wall-clock, "
            f"{ours_cpu / theirs_cpu:.2f}x CPU"
        )
        client.close()
        storage.close()


if __name__ == "__main__":
    main()
