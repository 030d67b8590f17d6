"""The İYS sync: push collected consents, poll batches, pull changes made on İYS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from isobil.consent import ConsentLedger, iys_pulled_at
from isobil.consent._iys import FakeIysGateway, ManualClock
from isobil.consent._iys_sync import IysSynchronizer
from isobil.model import ConsentEvent, ConsentStatus
from isobil.storage import IysSyncStatus, MemoryStorage

ISTANBUL = ZoneInfo("Europe/Istanbul")


@pytest.fixture
def clock() -> ManualClock:
    # Friday 28 March 2025, 10:00 Istanbul: Ramazan Bayramı follows (30 Mar - 1 Apr).
    return ManualClock(datetime(2025, 3, 28, 7, 0, tzinfo=UTC))


@pytest.fixture
def ledger(clock: ManualClock) -> ConsentLedger:
    return ConsentLedger(MemoryStorage(), brands=["ACME"], clock=clock)


def _consents(ledger: ConsentLedger, clock: ManualClock, count: int) -> None:
    now = clock()
    ledger.append(
        [
            ConsentEvent(
                address=f"+90532{i:07d}",
                status="ONAY",
                source="HS_WEB",
                brand="ACME",
                consent_date=now,
                recorded_at=now,
            )
            for i in range(count)
        ]
    )


def test_push_poll_within_rate_limits(ledger: ConsentLedger, clock: ManualClock) -> None:
    """2,500 consents go in batches of 1,000; the third batch waits for the rate limit."""
    iys = FakeIysGateway(clock=clock)
    sync = IysSynchronizer(ledger, iys, brand="ACME", clock=clock)
    _consents(ledger, clock, 2_500)
    first = sync.run()
    assert (first.pushed, len(first.batches), first.registered, first.pending) == (
        2_000,
        2,
        0,
        2_000,
    )
    assert first.rate_limited is not None
    assert 0 < first.rate_limited <= 60
    assert len(first.deadlines) == 2_500
    clock.advance(timedelta(minutes=1))
    second = sync.run()
    assert (second.pushed, second.registered, second.pending) == (500, 2_000, 500)
    clock.advance(timedelta(minutes=1))
    third = sync.run()
    assert (third.pushed, third.registered, third.pending, third.deadlines) == (0, 500, 0, ())
    state = ledger.details("+905320000007", brand="ACME")
    assert state is not None
    assert state.iys is not None
    assert state.iys.status is IysSyncStatus.REGISTERED
    assert len(iys.consents) == 2_500


def test_rejected_records_are_marked_with_the_reason(
    ledger: ConsentLedger, clock: ManualClock
) -> None:
    """İYS refuses a first record that is RET; the event says so and why."""
    iys = FakeIysGateway(clock=clock, rate_limits={})
    sync = IysSynchronizer(ledger, iys, brand="ACME", clock=clock)
    ledger.record("05321234567", "RET", source="HS_WEB", brand="ACME")
    sync.run()
    clock.advance(timedelta(minutes=1))
    report = sync.run()
    assert report.rejected == 1
    state = ledger.details("05321234567", brand="ACME")
    assert state is not None
    assert state.iys is not None
    assert state.iys.status is IysSyncStatus.REJECTED
    assert "H175" in (state.iys.error or "")


def test_pull_brings_changes_made_on_iys_into_the_ledger(
    ledger: ConsentLedger, clock: ManualClock
) -> None:
    """A RET sent to İYS's 3338 becomes a RET event (source IYS_3338), pulled once."""
    iys = FakeIysGateway(clock=clock, rate_limits={})
    sync = IysSynchronizer(ledger, iys, brand="ACME", clock=clock)
    ledger.record("05321234567", "ONAY", source="HS_WEB", brand="ACME")
    sync.run()
    clock.advance(timedelta(minutes=1))
    sync.run()
    clock.advance(timedelta(hours=1))
    iys.opt_out_on_iys("+905321234567")
    report = sync.run()
    assert report.pulled == 1
    assert ledger.state("05321234567", brand="ACME") is ConsentStatus.RET
    [*_, pulled] = ledger.history("05321234567")
    assert pulled.source.value == "IYS_3338"
    assert sync.run().pulled == 0  # the cursor was kept
    assert ledger.verify().ok


def test_deadlines_count_turkish_holidays(ledger: ConsentLedger, clock: ManualClock) -> None:
    """Consent recorded Friday 28 March 2025: the bayram (30 Mar-1 Apr) is skipped."""
    _consents(ledger, clock, 1)
    sync = IysSynchronizer(ledger, FakeIysGateway(clock=clock), brand="ACME", clock=clock)
    [deadline] = sync.deadlines()
    # Business days after Fri 28 Mar: Wed 2, Thu 3, Fri 4 April.
    assert deadline.deadline.astimezone(ISTANBUL).date().isoformat() == "2025-04-04"
    assert not deadline.overdue
    clock.advance(timedelta(days=8))
    [late] = sync.deadlines()
    assert late.overdue


def test_a_pull_to_the_end_records_when_it_happened(
    ledger: ConsentLedger, clock: ManualClock
) -> None:
    """iys_pulled_at is the moment of the last pull that reached the end; a pull stopped
    by the rate limit leaves the earlier moment in place."""
    assert iys_pulled_at(ledger.storage, "ACME") is None
    started = clock()
    IysSynchronizer(
        ledger, FakeIysGateway(clock=clock, rate_limits={}), brand="ACME", clock=clock
    ).run()
    assert iys_pulled_at(ledger.storage, "acme") == started
    clock.advance(timedelta(hours=2))
    limited = FakeIysGateway(clock=clock, rate_limits={"changes": (1, timedelta(minutes=1))})
    limited.pull_changes()  # the one call of this minute is spent
    report = IysSynchronizer(ledger, limited, brand="ACME", clock=clock).run()
    assert report.rate_limited is not None
    assert iys_pulled_at(ledger.storage, "ACME") == started
