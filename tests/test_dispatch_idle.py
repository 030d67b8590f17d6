"""An idle dispatcher pass touches only due and running work, never the history.

Measured as work, not time: the client makes no call that lists campaigns, and on
SQLite the pass runs exactly as many virtual-machine instructions with 1,000 past
campaigns as with 10 (``benchmarks/dispatch_history.py`` times it).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from _acme import ACME
from isobil import Client, FakeTransport, Message
from isobil.storage import (
    Campaign,
    CampaignStatus,
    MemoryStorage,
    MessageState,
    OutboundMessage,
    SQLStorage,
    Storage,
)

NOTICE = Message("Siparişiniz kargoya verildi.", category="informational")
PAST = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
#: What a settled message of the past can be in.
SETTLED = (
    MessageState.DELIVERED,
    MessageState.UNDELIVERED,
    MessageState.FAILED,
    MessageState.BLOCKED,
    MessageState.UNKNOWN,
)


def _history(storage: Storage, campaigns: int, per_campaign: int = 3) -> None:
    """``campaigns`` finished campaigns, each with settled messages."""
    for c in range(campaigns):
        campaign = Campaign(
            id=f"past-{c:06d}",
            text=NOTICE.text,
            category="informational",
            created_at=PAST + timedelta(minutes=c),
            status=CampaignStatus.DONE,
        )
        storage.create_campaign_with_messages(
            campaign,
            [
                OutboundMessage(
                    id=f"past-{c:06d}-{m}",
                    campaign_id=campaign.id,
                    to=f"+90532{(c * per_campaign + m) % 10_000_000:07d}",
                    text=NOTICE.text,
                    parts=1,
                    state=SETTLED[(c + m) % len(SETTLED)],
                    provider_id=f"p-{c}-{m}",
                    updated_at=PAST,
                )
                for m in range(per_campaign)
            ],
        )


def _live_work(client: Client) -> None:
    """What is running besides the history: a send scheduled for tomorrow."""
    client.send(NOTICE, to=["05321234567"], at=datetime.now(UTC) + timedelta(days=1))


class _NoHistory(MemoryStorage):
    """A MemoryStorage that fails the test when asked for every campaign or a
    campaign's counts while ``watching``."""

    watching = False

    def list_campaigns(self) -> list[Campaign]:
        assert not self.watching, "an idle dispatch listed every campaign"
        return super().list_campaigns()

    def message_counts(self, campaign_id: str) -> dict[MessageState, int]:
        assert not self.watching, f"an idle dispatch counted the messages of {campaign_id}"
        return super().message_counts(campaign_id)


def test_an_idle_dispatch_lists_no_campaign() -> None:
    """The pass asks storage for the running campaigns left with nothing to send, not
    for every campaign and its counts; and it still finishes what ran out."""
    storage = _NoHistory()
    _history(storage, 20)
    with Client(ACME, transport=FakeTransport(), storage=storage) as client:
        _live_work(client)
        storage.watching = True
        assert client.dispatch().handled == 0
        # The scheduled send is due the day after: sent, then its campaign is done.
        report = client.dispatch(now=datetime.now(UTC) + timedelta(days=1, minutes=1))
        assert report.handled == 1
        storage.watching = False
        statuses = {c.status for c in storage.list_campaigns()}
        assert statuses == {CampaignStatus.DONE}


@pytest.fixture
def sqlite_steps(tmp_path: Path) -> Iterator[Callable[[int], int]]:
    """``steps(history)``: the SQLite instructions of one idle pass over a database with
    ``history`` past campaigns (and the same live work), after a first pass."""
    opened: list[Client] = []

    def steps(history: int) -> int:
        storage = SQLStorage(tmp_path / f"history-{history}.db")
        client = Client(ACME, transport=FakeTransport(), storage=storage)
        opened.append(client)
        _history(storage, history)
        _live_work(client)
        client.dispatch()  # the first pass finishes what the set-up left running
        counted = [0]

        def tick() -> int:
            counted[0] += 1
            return 0  # go on

        def count_on(dbapi_connection: sqlite3.Connection, record: Any) -> None:
            dbapi_connection.set_progress_handler(tick, 1)

        engine = storage._db.engine
        sa.event.listen(engine, "connect", count_on)
        engine.dispose()  # the pass runs on new connections, which count
        assert client.dispatch().handled == 0
        assert counted[0] > 0
        return counted[0]

    try:
        yield steps
    finally:
        for client in opened:
            client.storage.close()
            client.close()


def test_an_idle_pass_on_sqlite_does_the_same_work_whatever_the_history(
    sqlite_steps: Callable[[int], int],
) -> None:
    """10 or 1,000 finished campaigns (3,000 settled messages): the same instructions,
    so nothing in the pass reads a finished campaign or a settled message."""
    assert sqlite_steps(1_000) == sqlite_steps(10)
