"""Benchmark: delivery receipts applied per second, a Client on SMPP, SQLite or PostgreSQL.

A campaign of N single-part messages is sent through ``SmppTransport`` to the
simulated SMSC (``isobil.testing.smsc``, its own process); then the SMSC sends a
DELIVRD receipt for every message at once and the clock runs until storage shows
all N ``delivered``. Receipts that arrive together reach the ``Client`` as one
burst (``SmppTransport.event_burst``, 500), applied in one transaction; the
baseline, in the same run on a fresh database, is ``event_burst = 1`` — one
receipt, one transaction, as before bursts. Rounds alternate between the two.

    .venv/bin/python benchmarks/receipts.py --n 5000 --rounds 3
    .venv/bin/python benchmarks/receipts.py --backend postgresql --n 5000 --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

from _common import ACME, database
from isobil import Client, Message, MessageState
from isobil.storage import SQLStorage
from isobil.testing.smsc import SmscSimulator
from isobil.transport import SmppTransport

NOTICE = Message("Siparisiniz kargoya verildi.", category="informational")


def one_round(smsc: SmscSimulator, backend: str, n: int, burst: int) -> float:
    """Receipts per second with ``event_burst = burst``; checks every message settled."""
    with database(backend) as url:
        storage = SQLStorage(url)
        transport = SmppTransport(
            smsc.host,
            smsc.port,
            system_id="bench",
            password="bench",  # noqa: S106 - the simulator takes any
            window=50,
        )
        transport.event_burst = burst
        transport.wait_bound(10)
        with Client(ACME, transport=transport, storage=storage) as client:
            numbers = [f"+90532{i:07d}" for i in range(n)]
            result = client.send(NOTICE, to=numbers)
            assert all(o.provider_id for o in result.outcomes)
            smsc.deliver_all()  # earlier rounds' messages were answered already
            done = threading.Event()
            started = time.perf_counter()
            while storage.message_counts(result.campaign_id).get(MessageState.DELIVERED, 0) < n:
                done.wait(0.02)  # polling storage is what a benchmark may do
            elapsed = time.perf_counter() - started
        storage.close()
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rates: dict[int, list[float]] = {500: [], 1: []}
    with SmscSimulator() as smsc:
        for _ in range(args.rounds):
            for burst in rates:
                rate = one_round(smsc, args.backend, args.n, burst)
                rates[burst].append(rate)
                print(f"event_burst={burst:>3}: {rate:,.0f} receipts/s")
    bursts, single = statistics.median(rates[500]), statistics.median(rates[1])
    print(f"{args.backend}, {args.n:,} receipts, median of {args.rounds}:")
    print(f"  bursts (event_burst=500): {bursts:,.0f} receipts/s")
    print(f"  one by one (event_burst=1): {single:,.0f} receipts/s")
    print(f"  ratio: {bursts / single:.1f}x")


if __name__ == "__main__":
    main()
