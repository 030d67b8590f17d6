"""Benchmark: what one Prometheus scrape of isobil's metrics costs on a large message table.

A database holds ``--messages`` messages over ``--campaigns`` campaigns in the mix a
busy sender keeps: mostly delivered, some undelivered with operator codes, some
refused at submit, blocked by a few rules, unknown, a few hundred queued. Each round
times, alternating:

- ``message_stats``: ``SQLStorage.message_stats()``, what the collector asks;
- ``scrape``: a whole scrape (``generate_latest`` on a registry holding only
  ``IsobilCollector``: message_stats, the credit balance, formatting);
- ``baseline``: the least any per-state metric needs, hand-written — one
  ``SELECT state, count(*) FROM isobil_messages GROUP BY state`` on a raw
  driver connection (no failure codes, no rule ids, no queue depth).

The figures are medians of ``--rounds`` rounds after a warm-up of each.

    .venv/bin/python benchmarks/metrics_scrape.py --messages 1000000
    .venv/bin/python benchmarks/metrics_scrape.py --messages 1000000 --backend postgresql

PostgreSQL: ``ISOBIL_BENCH_PG_URL`` names the server (see ``_common.py``).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry, generate_latest

import isobil
from _common import database
from isobil.metrics import IsobilCollector
from isobil.storage import Campaign, CampaignStatus, MessageState, OutboundMessage, SQLStorage
from isobil.storage import _schema as t

PAST = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)
#: One message in every len(MIX) is in each of these states (with this code or reason).
MIX: tuple[tuple[MessageState, str | None, str | None], ...] = (
    *[(MessageState.DELIVERED, None, None)] * 12,
    (MessageState.UNDELIVERED, "027", None),
    (MessageState.UNDELIVERED, "001", None),
    (MessageState.EXPIRED, "254", None),
    (MessageState.FAILED, "ESME_RINVDSTADR", "rejected by the SMSC for +90532***4567"),
    (MessageState.BLOCKED, None, "TR-CONSENT-001: no consent (ONAY) on record for ACME"),
    (MessageState.BLOCKED, None, "TR-OPTOUT-001: the recipient opted out (RET) on 2025-01-01"),
    (MessageState.UNKNOWN, None, "the worker was lost mid-submit"),
    (MessageState.SUBMITTED, None, None),
)
CHUNK = 50_000


def fill(storage: SQLStorage, messages: int, campaigns: int) -> None:
    per_campaign = max(1, messages // campaigns)
    ids = [f"c{c:06d}" for c in range(campaigns)]
    for c, campaign_id in enumerate(ids):
        storage.create_campaign(
            Campaign(
                id=campaign_id,
                text="Kargonuz yolda.",
                category="informational",
                created_at=PAST + timedelta(seconds=c),
                status=CampaignStatus.DONE if c else CampaignStatus.RUNNING,
            )
        )

    def rows() -> Iterator[OutboundMessage]:
        for n in range(messages):
            state, code, reason = MIX[n % len(MIX)]
            if n < 300:  # a few hundred queued in the running campaign
                state, code, reason = MessageState.QUEUED, None, None
            yield OutboundMessage(
                id=f"m{n:09d}",
                campaign_id=ids[0] if n < 300 else ids[min(n // per_campaign, campaigns - 1)],
                to=f"+90532{n % 10_000_000:07d}",
                text="Kargonuz yolda.",
                parts=1,
                state=state,
                provider_id=f"p{n}",
                error_code=code,
                reason=reason,
                updated_at=PAST,
            )

    batch: list[OutboundMessage] = []
    for row in rows():
        batch.append(row)
        if len(batch) == CHUNK:
            storage.add_messages(batch)
            batch = []
    storage.add_messages(batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--campaigns", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    print(f"python {platform.python_version()} on {platform.machine()}, backend {args.backend}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with database(args.backend) as url, SQLStorage(url) as storage:
        built = time.perf_counter()
        fill(storage, args.messages, args.campaigns)
        if args.backend == "postgresql":
            with storage._db.write_engine.begin() as conn:
                for table in (t.campaigns, t.messages):
                    conn.exec_driver_sql(f"ANALYZE {table.name}")
        print(f"{args.messages:,} messages written in {time.perf_counter() - built:.1f} s")
        client = isobil.Client(transport=isobil.FakeTransport(), storage=storage)
        registry = CollectorRegistry()
        registry.register(IsobilCollector(client))
        raw = storage._db.engine.raw_connection()
        now = datetime.now(UTC)

        def baseline() -> list[tuple[str, int]]:
            cursor = raw.cursor()
            cursor.execute(f"SELECT state, count(*) FROM {t.messages.name} GROUP BY state")  # noqa: S608
            rows = [(str(state), int(count)) for state, count in cursor.fetchall()]
            cursor.close()
            raw.commit()
            return rows

        runs: dict[str, Callable[[], object]] = {
            "baseline": baseline,
            "message_stats": lambda: storage.message_stats(now=now),
            "scrape": lambda: generate_latest(registry),
        }
        stats = storage.message_stats(now=now)
        assert sum(stats.states.values()) == args.messages
        assert stats.due == min(300, args.messages)
        assert sum(count for _, count in baseline()) == args.messages
        times: dict[str, list[float]] = {name: [] for name in runs}
        for run in runs.values():
            run()  # warm-up: caches, statement compilation
        for _ in range(args.rounds):
            for name, run in runs.items():
                start = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - start)
        raw.close()
        client.close()
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, median in medians.items():
        ratio = median / medians["baseline"]
        print(f"{name:>14}: {median * 1000:9.1f} ms  ({ratio:.2f}x the baseline)")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
