"""Preflight throughput: personalised recipients checked per second by ``client.check``.

Sets up N contacts (names, a custom field), consent for 90% of them registered in
İYS, 1% blacklisted; then times one ``client.check()`` over the whole audience
against a baseline of the same check made one recipient at a time (on a subset),
in the same run. Usage:

    .venv/bin/python benchmarks/preflight.py [--n 100000] [--storage memory|sqlite]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from _common import ACME
from isobil import Client, FakeTransport, Message, Recipient
from isobil.model import ConsentEvent
from isobil.storage import BlacklistEntry, IysSync, IysSyncStatus, MemoryStorage, Storage

NAMES = ["Ayşe", "Fatma", "Mehmet", "Ali", "Zeynep", "Mustafa", "Emine", "Hüseyin", "Şule"]
SURNAMES = ["Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Öztürk", "Aydın"]
CITIES = ["İstanbul", "Ankara", "İzmir", "Bursa", "Van", "Muğla"]
TEXT = (
    "KAMPANYA: Sayın {ad} {soyad}, {sehir} mağazamızda yeni sezon! acme.com.tr/k "
    "Ret için ACME RET yazıp 4605'e gönderin."
)


def build(storage: Storage, n: int) -> tuple[Client, list[str]]:
    client = Client(ACME, transport=FakeTransport(), storage=storage)
    rng = random.Random(7)
    numbers = [f"+90532{i:07d}" for i in range(n)]
    storage.upsert_contacts(
        Recipient(
            number,
            name=rng.choice(NAMES),
            surname=rng.choice(SURNAMES),
            fields={"sehir": rng.choice(CITIES)},
        )
        for number in numbers
    )
    at = datetime(2024, 1, 1, tzinfo=UTC)
    events = [
        ConsentEvent(
            address=number,
            status="ONAY",
            source="HS_WEB",
            brand="ACME",
            consent_date=at,
            recorded_at=at,
        )
        for i, number in enumerate(numbers)
        if i % 10
    ]
    stored = client.consent.append(events)
    storage.set_iys_sync(IysSync(e.seq or 0, IysSyncStatus.REGISTERED, at) for e in stored)
    storage.add_to_blacklist(BlacklistEntry(n_, "complaint", at) for n_ in numbers[::100])
    return client, numbers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--baseline", type=int, default=2_000)
    parser.add_argument("--storage", choices=["memory", "sqlite"], default="memory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.storage == "sqlite":
            from isobil.storage import SQLStorage

            storage: Storage = SQLStorage(f"sqlite:///{Path(tmp) / 'bench.db'}")
        else:
            storage = MemoryStorage()
        t0 = time.perf_counter()
        client, numbers = build(storage, args.n)
        print(f"setup: {args.n:,} contacts and consents in {time.perf_counter() - t0:.1f} s")
        message = Message(TEXT, brand="ACME")

        t0 = time.perf_counter()
        report = client.check(message, to=numbers)
        bulk = time.perf_counter() - t0
        assert len(report.allowed) + len(report.blocked) == args.n
        subset = numbers[: args.baseline]
        t0 = time.perf_counter()
        for number in subset:
            client.check(message, to=[number])
        naive = time.perf_counter() - t0
        bulk_rate, naive_rate = args.n / bulk, len(subset) / naive
        print(f"storage: {args.storage}")
        print(
            f"client.check, whole audience: {args.n:,} recipients in {bulk:.2f} s = "
            f"{bulk_rate:,.0f} recipients/s ({len(report.allowed):,} allowed, "
            f"{len(report.blocked):,} blocked, {report.credits:,} credits)"
        )
        print(
            f"baseline, one check per recipient: {len(subset):,} in {naive:.2f} s = "
            f"{naive_rate:,.0f} recipients/s"
        )
        print(f"ratio: {bulk_rate / naive_rate:.1f}x")
        client.close()
        storage.close()


if __name__ == "__main__":
    main()
