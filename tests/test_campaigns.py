"""Campaigns over time: queued and scheduled sends, dispatch, credits, refunds, reports."""

from __future__ import annotations

import itertools
import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from _acme import ACME, IYS_NOT_WIRED
from isobil import (
    Client,
    FakeTransport,
    InsufficientCredits,
    Message,
    OutcomeStatus,
    Recipient,
)
from isobil.campaigns import monthly, occurrences, weekly, yearly
from isobil.storage import CampaignStatus, CreditKind, MemoryStorage, MessageState

ISTANBUL = ZoneInfo("Europe/Istanbul")
NOTICE = Message("Siparişiniz kargoya verildi.", category="informational")
OFFER = Message(
    "KAMPANYA: yeni sezon acme.com.tr Ret için ACME RET yazıp 4605'e gönderin.", brand="ACME"
)


@pytest.fixture
def fake() -> FakeTransport:
    return FakeTransport()


@pytest.fixture
def client(fake: FakeTransport) -> Client:
    return Client(ACME, transport=fake, prepaid=True)


def numbers(count: int) -> list[str]:
    return [f"+90532{i:07d}" for i in range(count)]


def test_scheduled_send_waits_for_dispatch(client: Client, fake: FakeTransport) -> None:
    """A send `at` a future time is queued; dispatch sends it only once it is due."""
    client.credits.top_up(10)
    at = datetime.now(UTC) + timedelta(hours=2)
    result = client.send(NOTICE, to=numbers(3), at=at)
    assert [o.status for o in result.outcomes] == [OutcomeStatus.QUEUED] * 3
    assert client.credits.balance() == 7
    assert client.dispatch().handled == 0
    report = client.dispatch(now=at + timedelta(seconds=1))
    assert (report.handled, dict(report.outcomes)) == (3, {OutcomeStatus.SUBMITTED: 3})
    assert len(fake.sent) == 3
    campaign = client.storage.get_campaign(result.campaign_id)
    assert campaign is not None
    assert campaign.status is CampaignStatus.DONE


def test_opt_out_between_queue_and_dispatch_blocks_and_releases(
    client: Client, fake: FakeTransport
) -> None:
    """A RET that arrives after queueing stops that message at dispatch; its credit returns."""
    client.credits.top_up(10)
    for n in numbers(2):
        client.consent.record(n, "ONAY", source="HS_ISLAK_IMZA", brand="ACME")
    at = datetime.now(UTC) + timedelta(minutes=5)
    client.send(OFFER, to=numbers(2), at=at, acknowledge=IYS_NOT_WIRED)
    assert client.credits.balance() == 8
    fake.receive(numbers(2)[0], "4605", "ACME RET")  # its auto reply costs one credit
    assert client.credits.balance() == 7
    report = client.dispatch(now=at + timedelta(seconds=1))
    assert dict(report.outcomes) == {OutcomeStatus.BLOCKED: 1, OutcomeStatus.SUBMITTED: 1}
    assert client.credits.balance() == 8
    assert [s.to for s in fake.sent][-1] == numbers(2)[1]


def test_credits_are_never_overdrawn(client: Client, fake: FakeTransport) -> None:
    """A send the balance cannot cover is refused whole; nothing is stored or sent."""
    client.credits.top_up(2)
    with pytest.raises(InsufficientCredits, match="needs 3 credit"):
        client.send(NOTICE, to=numbers(3))
    assert fake.sent == []
    assert client.storage.list_campaigns() == []
    assert client.credits.balance() == 2


def test_refund_once_per_failed_delivery(client: Client, fake: FakeTransport) -> None:
    """Undelivered, expired and rejected reports refund at once; duplicates change nothing."""
    client.credits.top_up(100)
    long_text = Message("Bilgilendirme: " + "kargo " * 40, category="informational")
    result = client.send(long_text, to=numbers(4))
    parts = result.outcomes[0].plan.parts if result.outcomes[0].plan else 0
    assert parts == 2
    assert client.credits.balance() == 100 - 4 * parts
    ids = [s.message_id for s in fake.sent]
    fake.deliver(ids[0], "delivered")
    fake.deliver(ids[1], "undelivered", error_code="027")
    fake.deliver(ids[1], "undelivered", error_code="027")  # a duplicate report
    fake.deliver(ids[2], "expired")
    fake.deliver(ids[3], "rejected")
    assert client.credits.balance() == 100 - parts
    kinds = [e.kind for e in client.credits.entries()]
    assert kinds.count(CreditKind.REFUND) == 3


def test_failed_submit_releases_credit(client: Client, fake: FakeTransport) -> None:
    """A message the transport refuses is released; it never costs anything."""
    client.credits.top_up(5)
    fake.fail_next(1)
    client.send(NOTICE, to=numbers(2))
    assert client.credits.balance() == 4


def test_low_credit_alert_once_per_crossing(fake: FakeTransport) -> None:
    """One SMS to the owner when the balance falls below the threshold, not one per send."""
    client = Client(
        ACME, transport=fake, prepaid=True, low_credit_threshold=5, owner_phone="05559998877"
    )
    client.credits.top_up(10)
    client.send(NOTICE, to=numbers(4))  # balance 6: above the threshold
    client.send(NOTICE, to=numbers(2))  # balance 4: alert
    client.send(NOTICE, to=numbers(1))  # balance 3 (the alert itself cost 1): no new alert
    alerts = [s for s in fake.sent if s.to == "+905559998877"]
    assert len(alerts) == 1
    assert "SMS krediniz azaldı" in alerts[0].text
    client.credits.top_up(20)  # back above: re-armed
    client.send(NOTICE, to=numbers(20))
    assert len([s for s in fake.sent if s.to == "+905559998877"]) == 2


def test_cancel_stops_queued_messages_and_releases(client: Client) -> None:
    """Cancelling a queued campaign sends nothing and returns every reserved credit."""
    client.credits.top_up(10)
    result = client.send(NOTICE, to=numbers(4), at=datetime.now(UTC) + timedelta(days=1))
    assert client.cancel(result.campaign_id) == 4
    assert client.cancel(result.campaign_id) == 0
    assert client.credits.balance() == 10
    assert client.dispatch(now=datetime.now(UTC) + timedelta(days=2)).handled == 0


def test_pause_and_resume(client: Client, fake: FakeTransport) -> None:
    """A paused campaign is not dispatched until resumed."""
    client.credits.top_up(10)
    at = datetime.now(UTC) + timedelta(minutes=1)
    result = client.send(NOTICE, to=numbers(2), at=at)
    client.pause(result.campaign_id)
    assert client.dispatch(now=at + timedelta(minutes=1)).handled == 0
    client.resume(result.campaign_id)
    assert client.dispatch(now=at + timedelta(minutes=1)).handled == 2


def test_delivery_report_summary(client: Client, fake: FakeTransport) -> None:
    """The campaign summary counts states and names failure reasons from operator codes."""
    client.credits.top_up(10)
    result = client.send(NOTICE, to=numbers(5))
    ids = [s.message_id for s in fake.sent]
    for i in ids[:3]:
        fake.deliver(i, "delivered")
    fake.deliver(ids[3], "undelivered", error_code="27")
    summary = client.reports.delivery(result.campaign_id)
    assert (summary.total, summary.count("delivered"), summary.count("undelivered")) == (5, 3, 1)
    assert summary.pending == 1
    assert dict(summary.by_reason) == {"absent subscriber (phone off or out of coverage)": 1}
    assert sum(summary.by_hour.values()) == 4


def test_end_to_end_10000_with_refunds(fake: FakeTransport) -> None:
    """10,000 recipients: 90% delivered, 10% undelivered with codes; balance and report exact."""
    client = Client(ACME, transport=fake, prepaid=True, storage=MemoryStorage())
    client.credits.top_up(20_000)
    result = client.send(NOTICE, to=numbers(10_000))
    assert len(result.submitted) == 10_000
    for i, sent in enumerate(fake.sent):
        if i % 10 == 9:
            fake.deliver(sent.message_id, "undelivered", error_code="001")
        else:
            fake.deliver(sent.message_id, "delivered")
    assert client.credits.balance() == 20_000 - 9_000
    summary = client.reports.delivery(result.campaign_id)
    assert (summary.count("delivered"), summary.count("undelivered")) == (9_000, 1_000)
    assert dict(summary.by_reason) == {"unknown subscriber (number not in use)": 1_000}


# -- schedules ------------------------------------------------------------------


def test_monthly_on_the_31st_fires_on_month_ends() -> None:
    """monthly(31) fires on the 31st, or the last day of shorter months, at 10:00 Istanbul."""
    start = datetime(2026, 1, 31, 10, 0, tzinfo=ISTANBUL)
    got = list(itertools.islice(occurrences(monthly(31), start, after=start - timedelta(1)), 6))
    assert [d.date().isoformat() for d in got] == [
        "2026-01-31",
        "2026-02-28",
        "2026-03-31",
        "2026-04-30",
        "2026-05-31",
        "2026-06-30",
    ]
    assert {d.astimezone(UTC).hour for d in got} == {7}


def test_yearly_on_29_february() -> None:
    """yearly(2, 29) fires on 29 Feb in leap years and 28 Feb otherwise."""
    start = datetime(2024, 2, 29, 9, 0, tzinfo=ISTANBUL)
    got = itertools.islice(occurrences(yearly(2, 29), start, after=start - timedelta(1)), 5)
    assert [d.date().isoformat() for d in got] == [
        "2024-02-29",
        "2025-02-28",
        "2026-02-28",
        "2027-02-28",
        "2028-02-29",
    ]


def test_weekly_across_a_year() -> None:
    """Every Monday 10:00 Istanbul for a year: 53 occurrences, all at 07:00 UTC."""
    start = datetime(2026, 1, 5, 10, 0, tzinfo=ISTANBUL)
    got = list(
        occurrences(
            weekly(0),
            start,
            after=start - timedelta(1),
            until=datetime(2027, 1, 4, 23, tzinfo=ISTANBUL),
        )
    )
    assert len(got) == 53
    assert {(d.weekday(), d.astimezone(UTC).hour) for d in got} == {(0, 7)}


def test_two_workers_never_run_one_occurrence_twice(fake: FakeTransport) -> None:
    """Two clients on one storage fire the same due schedule: one sends, once."""
    storage = MemoryStorage()
    first = Client(ACME, transport=fake, storage=storage)
    second = Client(ACME, transport=fake, storage=storage)
    start = datetime(2026, 3, 2, 10, 0, tzinfo=ISTANBUL)
    first.schedules.add(NOTICE, to=numbers(2), start=start, rule=weekly(0))
    at = start + timedelta(minutes=1)
    fired = first.schedules.fire_due(at) + second.schedules.fire_due(at)
    assert [f.outcome for f in fired] == ["sent"]
    assert len(fake.sent) == 2
    [schedule] = storage.list_schedules()
    assert schedule.next_at == start + timedelta(days=7)


def test_missed_occurrences_are_skipped_not_burst(fake: FakeTransport) -> None:
    """After downtime only the latest occurrence runs, and only within the catch-up window."""
    client = Client(ACME, transport=fake)
    start = datetime(2026, 3, 2, 10, 0, tzinfo=ISTANBUL)
    client.schedules.add(NOTICE, to=numbers(1), start=start, rule="FREQ=DAILY")
    fired = client.schedules.fire_due(start + timedelta(days=3, minutes=10))
    assert [f.outcome for f in fired] == ["missed", "missed", "missed", "sent"]
    assert len(fake.sent) == 1
    late = client.schedules.fire_due(start + timedelta(days=4, hours=5))
    assert [f.outcome for f in late] == ["missed"]
    assert len(fake.sent) == 1


def test_lateness_is_time_elapsed_in_a_zone_with_summer_time(fake: FakeTransport) -> None:
    """A schedule in a zone that changes its clocks, fired with ``now`` in that zone:
    an occurrence is late by the time that has passed, not by the wall clock."""
    berlin = ZoneInfo("Europe/Berlin")
    client = Client(ACME, transport=fake, storage=MemoryStorage())  # keeps times as given
    # 31 March 2024: 01:30 CET (00:30 UTC), then the clocks jump from 02:00 to 03:00.
    start = datetime(2024, 3, 31, 1, 30, tzinfo=berlin)
    client.schedules.add(NOTICE, to=numbers(1), start=start, rule="FREQ=DAILY", tz="Europe/Berlin")
    # At 03:20 CEST (01:20 UTC) it is 50 minutes late, within the hour's catch-up.
    fired = client.schedules.fire_due(datetime(2024, 3, 31, 3, 20, tzinfo=berlin))
    assert [f.outcome for f in fired] == ["sent"]
    assert len(fake.sent) == 1


def test_one_off_schedule_to_a_group(fake: FakeTransport) -> None:
    """A one-off schedule to a contact group resolves the group when it fires, then finishes."""
    client = Client(ACME, transport=fake)
    client.storage.upsert_contacts([Recipient(n) for n in numbers(3)], group="VIP")
    start = datetime(2026, 3, 2, 10, 0, tzinfo=ISTANBUL)
    schedule = client.schedules.add(NOTICE, group="VIP", start=start)
    [fired] = client.schedules.fire_due(start)
    assert fired.outcome == "sent"
    assert len(fake.sent) == 3
    stored = client.storage.get_schedule(schedule.id)
    assert stored is not None
    assert stored.status.value == "finished"
    assert {m.state for m in client.storage.iter_messages(fired.campaign_id or "")} == {
        MessageState.SUBMITTED
    }


def test_a_worker_that_counts_parts_differently_says_so(
    fake: FakeTransport, caplog: pytest.LogCaptureFixture
) -> None:
    """Queued with the Turkish shift tables, sent by a worker without them: a warning."""
    storage = MemoryStorage()
    text = Message("Sayın müşterimiz, şubemiz " + "yarın kapalıdır. " * 4, category="informational")
    at = datetime.now(UTC) + timedelta(minutes=5)
    with Client(ACME, transport=fake, storage=storage) as queuer:
        result = queuer.send(text, to=numbers(2), at=at)
        assert queuer.plan(text).parts == 1
    worker = Client(ACME, transport=FakeTransport(), storage=storage, national_shift=False)
    assert worker.plan(text).parts == 2
    with caplog.at_level(logging.WARNING, logger="isobil"):
        worker.dispatch(now=at + timedelta(seconds=1))
    assert "2 message(s) go out in other parts than were counted" in caplog.text
    assert result.campaign_id in caplog.text
    worker.close()
