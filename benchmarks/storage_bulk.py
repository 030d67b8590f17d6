"""Benchmark: SQLStorage's set-based bulk calls against the naive row-at-a-time loop.

Measures, on SQLite (a temporary file) or PostgreSQL (a temporary database):

(a) contacts  ``upsert_contacts`` of N contacts in one call, against two naive
              loops: one ``INSERT … ON CONFLICT`` per contact, each its own
              transaction, on the same engine and settings ("raw"); and
              ``upsert_contacts([contact])`` once per contact ("API");
(b) consent   ``consent_states`` of an N-recipient audience against a ledger of
              N consent events, against one ``SELECT … ORDER BY … LIMIT 1`` per
              recipient on one open connection, each row turned into a
              ConsentEvent like the bulk call does ("raw"); and
              ``consent_states([address])`` once per recipient ("API").

The raw loops are the cheapest a row-at-a-time loop can be; the API loops are
what code looping over an audience with isobil pays. The naive loops are timed
on a subset (``--naive-n``, 20,000 by default) and compared as rates (rows/s),
which the output says. The bulk results are checked (row counts, and the
deciding events against the naive lookups of the subset).

    .venv/bin/python benchmarks/storage_bulk.py --backend sqlite --n 1000000
    .venv/bin/python benchmarks/storage_bulk.py --backend postgresql --n 1000000

PostgreSQL: ``ISOBIL_BENCH_PG_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``) names the server; a
database ``isobil_bench_…`` is created there and dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from _common import database
from isobil.model import ConsentEvent, Recipient
from isobil.storage import SQLStorage
from isobil.storage import _schema as schema
from isobil.storage._sql import _event

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def number(i: int) -> str:
    return f"+9053{i:08d}"


def server_version(storage: SQLStorage) -> str:
    with storage._db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            return f"SQLite {sqlite3.sqlite_version}"
        version = conn.exec_driver_sql("SHOW server_version").scalar()
        return f"PostgreSQL {version}"


def contact_row(contact: Recipient) -> dict[str, str | None]:
    return {
        "number": contact.number,
        "name": contact.name,
        "surname": contact.surname,
        "email": contact.email,
        "fields": json.dumps(dict(contact.fields), ensure_ascii=False),
        "recipient_type": contact.recipient_type.value,
    }


def naive_inserts(storage: SQLStorage, contacts: Sequence[Recipient]) -> float:
    """Seconds for one INSERT … ON CONFLICT per contact, each committed on its own."""
    stmt = storage._replace(schema.contacts, "number")
    start = time.perf_counter()
    for contact in contacts:
        with storage._db.write_engine.begin() as conn:
            conn.execute(stmt, contact_row(contact))
    return time.perf_counter() - start


def naive_lookups(
    storage: SQLStorage, addresses: Sequence[str], brand: str
) -> tuple[float, dict[str, ConsentEvent]]:
    """Seconds for one deciding-event query per address, and what they found."""
    e = schema.consent_events
    query = (
        sa.select(e)
        .where(e.c.brand == brand, e.c.channel == "MESAJ", e.c.address == sa.bindparam("address"))
        .order_by(
            e.c.consent_date.desc(),
            sa.case((e.c.status == "RET", 1), else_=0).desc(),
            e.c.seq.desc(),
        )
        .limit(1)
    )
    found: dict[str, ConsentEvent] = {}
    start = time.perf_counter()
    with storage._db.engine.connect() as conn:
        for address in addresses:
            row = conn.execute(query, {"address": address}).first()
            if row is not None:
                found[address] = _event(row)
    return time.perf_counter() - start, found


def report(
    what: str, bulk_n: int, bulk_s: float, naive_n: int, naive: dict[str, float]
) -> dict[str, float]:
    """Print the rates; return bulk rate / naive rate for each naive loop."""
    bulk_rate = bulk_n / bulk_s
    print(f"  bulk        {bulk_n:>10,} rows in {bulk_s:8.2f} s = {bulk_rate:>10,.0f} rows/s")
    ratios: dict[str, float] = {}
    for name, seconds in naive.items():
        rate = naive_n / seconds
        ratios[name] = bulk_rate / rate
        print(
            f"  naive {name:5} {naive_n:>10,} rows in {seconds:8.2f} s = {rate:>10,.0f} rows/s"
            f"  -> bulk is {ratios[name]:,.1f}x"
        )
    print(f"  ({what}: naive loops timed on {naive_n:,} rows; rates are compared)")
    return ratios


def api_upserts(storage: SQLStorage, contacts: Sequence[Recipient]) -> float:
    """Seconds for upsert_contacts([contact]) once per contact."""
    start = time.perf_counter()
    for contact in contacts:
        storage.upsert_contacts([contact])
    return time.perf_counter() - start


def api_lookups(storage: SQLStorage, addresses: Sequence[str], brand: str) -> float:
    """Seconds for consent_states([address]) once per address."""
    start = time.perf_counter()
    for address in addresses:
        storage.consent_states([address], brand=brand)
    return time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), required=True)
    parser.add_argument("--n", type=int, default=1_000_000, help="contacts, events, audience")
    parser.add_argument("--naive-n", type=int, default=20_000, help="rows for the naive loops")
    args = parser.parse_args(argv)
    n, naive_n = args.n, min(args.naive_n, args.n)

    with database(args.backend) as url, SQLStorage(url) as storage:
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} cores; "
            f"Python {platform.python_version()}; {server_version(storage)}; "
            f"SQLAlchemy {sa.__version__}"
        )
        print(f"N = {n:,}; naive loops timed on {naive_n:,} rows")

        print("(a) contacts: upsert_contacts(N) in one call vs one INSERT per row")
        naive_contacts = [Recipient(number(n + i), name="Naif") for i in range(2 * naive_n)]
        naive_raw_s = naive_inserts(storage, naive_contacts[:naive_n])
        naive_api_s = api_upserts(storage, naive_contacts[naive_n:])
        start = time.perf_counter()
        contacts = [
            Recipient(number(i), name="Ayşe", surname="Yılmaz", fields={"il": "İzmir"})
            for i in range(n)
        ]
        build_s = time.perf_counter() - start
        start = time.perf_counter()
        result = storage.upsert_contacts(contacts)
        bulk_s = time.perf_counter() - start
        assert (result.inserted, result.updated) == (n, 0), result
        assert storage.count_contacts() == n + 2 * naive_n
        print(f"  (building the {n:,} Recipient objects took {build_s:.2f} s, not counted)")
        contact_ratios = report(
            "contacts", n, bulk_s, naive_n, {"raw": naive_raw_s, "API": naive_api_s}
        )

        print("(b) consent: consent_states(N-recipient audience) vs one query per recipient")
        events = [
            ConsentEvent(
                address=number(i),
                status="RET" if i % 10 == 0 else "ONAY",
                source="HS_WEB",
                brand="ACME",
                consent_date=T0 + timedelta(seconds=i % 86_400),
                recorded_at=T0,
                evidence={"form": "kayit"},
            )
            for i in range(n)
        ]
        start = time.perf_counter()
        storage.append_consent_events(events)
        append_s = time.perf_counter() - start
        print(f"  (appending the {n:,} events took {append_s:.2f} s: {n / append_s:,.0f}/s)")
        audience = [number(i) for i in range(n)]
        start = time.perf_counter()
        states = storage.consent_states(audience, brand="ACME")
        bulk_s = time.perf_counter() - start
        assert len(states) == n
        naive_raw_s, naive_states = naive_lookups(storage, audience[:naive_n], "ACME")
        assert naive_states == {a: states[a] for a in audience[:naive_n]}
        naive_api_s = api_lookups(storage, audience[-naive_n:], "ACME")
        consent_ratios = report(
            "consent", n, bulk_s, naive_n, {"raw": naive_raw_s, "API": naive_api_s}
        )

    print(
        f"summary: contacts {contact_ratios['raw']:,.1f}x (raw) / "
        f"{contact_ratios['API']:,.1f}x (API), consent lookups "
        f"{consent_ratios['raw']:,.1f}x (raw) / {consent_ratios['API']:,.1f}x (API)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
