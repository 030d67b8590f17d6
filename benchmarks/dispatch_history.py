"""Benchmark: an idle dispatcher pass with 10 past campaigns against one with 100,000.

An idle pass is what ``isobil worker`` runs when nothing is due: fire due schedules,
expire lost claims, claim due messages, finish the running campaigns with nothing
left to send. Two databases hold the same live work (a send scheduled for tomorrow,
its campaign running) and differ only in their history: ``--small`` and ``--large``
finished campaigns, each with ``--per-campaign`` settled messages (delivered,
undelivered, failed, blocked, unknown). The history is written in bulk: campaigns
with one multi-row insert on the storage's engine, messages with
``SQLStorage.add_messages``.

Each round times one pass on each database, alternating; the figures are medians of
``--rounds`` rounds, after one warm-up pass each. ``--baseline`` also times the
pass as it was before (every campaign listed, the running ones' messages counted,
lost claims looked for in id order), on the same databases, for ``--baseline-rounds``
rounds.

    .venv/bin/python benchmarks/dispatch_history.py --large 100000
    .venv/bin/python benchmarks/dispatch_history.py --large 100000 --backend postgresql

PostgreSQL: ``ISOBIL_BENCH_PG_URL`` names the server (see ``_common.py``).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

import isobil
from _common import ACME, database
from isobil.storage import (
    CampaignStatus,
    MessageState,
    OutboundMessage,
    SQLStorage,
)
from isobil.storage import _schema as t
from isobil.storage._sql import _LOST_REASON

NOTICE = isobil.Message("Siparişiniz kargoya verildi.", category="informational")
PAST = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)
SETTLED = (
    MessageState.DELIVERED,
    MessageState.DELIVERED,
    MessageState.DELIVERED,
    MessageState.UNDELIVERED,
    MessageState.FAILED,
    MessageState.BLOCKED,
    MessageState.UNKNOWN,
)
CHUNK = 20_000


class BeforeStorage(SQLStorage):
    """SQLStorage with lost claims looked for as before: ordered by id on SQLite too."""

    def _expire_claims(self) -> sa.Update:
        m = t.messages
        lost = (
            sa.select(m.c.id)
            .where(
                m.c.state == MessageState.SUBMITTING.value,
                m.c.lease_until < sa.bindparam("now"),
            )
            .order_by(m.c.id)
            .with_for_update()
        )
        return (
            m.update()
            .where(m.c.id.in_(lost.scalar_subquery()))
            .values(
                state=MessageState.UNKNOWN.value,
                reason=_LOST_REASON,
                updated_at=sa.bindparam("now"),
            )
            .returning(m.c.id)
        )


class BeforeClient(isobil.Client):
    """The Client finishing campaigns as before: every campaign listed, counts of each
    running one."""

    def _finish_campaigns(self) -> None:
        for campaign in self.storage.list_campaigns():
            if campaign.status is CampaignStatus.RUNNING:
                counts = self.storage.message_counts(campaign.id)
                if not counts.get(MessageState.QUEUED) and not counts.get(MessageState.SUBMITTING):
                    self.storage.set_campaign_status(campaign.id, CampaignStatus.DONE)


def write_history(storage: SQLStorage, campaigns: int, per_campaign: int) -> None:
    """``campaigns`` finished campaigns with their settled messages, in bulk."""
    ids = [f"past-{c:07d}" for c in range(campaigns)]
    rows = [
        {
            "id": campaign_id,
            "text": NOTICE.text,
            "category": "informational",
            "created_at": PAST + timedelta(seconds=c),
            "status": CampaignStatus.DONE.value,
            "brand": "ACME",
            "name": None,
            "originator": None,
            "send_at": None,
            "schedule_id": None,
        }
        for c, campaign_id in enumerate(ids)
    ]
    with storage._db.write_engine.begin() as conn:
        for start in range(0, len(rows), CHUNK):
            conn.execute(t.campaigns.insert(), rows[start : start + CHUNK])

    def messages() -> Iterator[OutboundMessage]:
        for c, campaign_id in enumerate(ids):
            for m in range(per_campaign):
                n = c * per_campaign + m
                yield OutboundMessage(
                    id=f"{campaign_id}-{m}",
                    campaign_id=campaign_id,
                    to=f"+90532{n % 10_000_000:07d}",
                    text=NOTICE.text,
                    parts=1,
                    state=SETTLED[n % len(SETTLED)],
                    provider_id=f"p{n}",
                    updated_at=PAST + timedelta(seconds=c),
                )

    storage.add_messages(messages())


@contextmanager
def world(
    backend: str, history: int, per_campaign: int, stack: ExitStack
) -> Iterator[tuple[isobil.Client, isobil.Client]]:
    """A database with ``history`` past campaigns and the live work; a client on it as
    it is now, and one as it was before."""
    url = stack.enter_context(database(backend))
    storage = SQLStorage(url)
    before_storage = BeforeStorage(url)
    write_history(storage, history, per_campaign)
    client = isobil.Client(ACME, transport=isobil.FakeTransport(), storage=storage)
    before = BeforeClient(ACME, transport=isobil.FakeTransport(), storage=before_storage)
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    client.send(NOTICE, to=["05321234567"], at=tomorrow)  # running, not due
    if backend == "postgresql":
        with storage._db.write_engine.begin() as conn:
            for table in (t.campaigns, t.messages):
                conn.exec_driver_sql(f"ANALYZE {table.name}")
    try:
        yield client, before
    finally:
        client.close()
        before.close()
        storage.close()
        before_storage.close()


def one_pass(client: isobil.Client) -> float:
    start = time.perf_counter()
    report = client.dispatch()
    elapsed = time.perf_counter() - start
    assert report.handled == 0, report
    return elapsed


def timed(clients: list[isobil.Client], rounds: int) -> list[list[float]]:
    """Medians per client, rounds alternating between them."""
    times: list[list[float]] = [[] for _ in clients]
    for client in clients:
        one_pass(client)  # warm-up: connections, statement caches
    for _ in range(rounds):
        for i, client in enumerate(clients):
            times[i].append(one_pass(client))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--per-campaign", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--baseline", action="store_true")
    parser.add_argument("--baseline-rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"python {platform.python_version()} on {platform.machine()}, backend {args.backend}")
    with ExitStack() as stack:
        built = time.perf_counter()
        small, small_before = stack.enter_context(
            world(args.backend, args.small, args.per_campaign, stack)
        )
        large, large_before = stack.enter_context(
            world(args.backend, args.large, args.per_campaign, stack)
        )
        built = time.perf_counter() - built
        print(
            f"history written in {built:.1f} s: {args.small:,} and {args.large:,} campaigns, "
            f"{args.per_campaign} messages each"
        )
        now_small, now_large = timed([small, large], args.rounds)
        rows = [("now", args.small, now_small), ("now", args.large, now_large)]
        if args.baseline:
            was_small, was_large = timed([small_before, large_before], args.baseline_rounds)
            rows += [("before", args.small, was_small), ("before", args.large, was_large)]
    print()
    print("| code | past campaigns | rounds | median ms/pass | p90 ms/pass |")
    print("|---|---:|---:|---:|---:|")
    medians: dict[tuple[str, int], float] = {}
    for code, history, times in rows:
        median = statistics.median(times) * 1000
        p90 = sorted(times)[int(0.9 * (len(times) - 1))] * 1000
        medians[(code, history)] = median
        print(f"| {code} | {history:,} | {len(times)} | {median:.3f} | {p90:.3f} |")
    ratio = medians[("now", args.large)] / medians[("now", args.small)]
    print()
    print(f"ratio now, {args.large:,} / {args.small:,} past campaigns: {ratio:.2f}x (target <= 2x)")
    if args.baseline:
        was = medians[("before", args.large)] / medians[("before", args.small)]
        print(f"ratio before: {was:.1f}x")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
