"""Receipts for the parts of long messages settle the right message on any bind of any
process, before or after a restart.

An SMSC gives each part of a long message an id of its own and hands each part's
receipt to whichever bind of the account it likes (Jasmin goes round-robin). The
part ids are kept in storage with the message when its submit is settled, so:

* two processes bound to one account, receiving receipts round-robin, settle
  every 3-part message — also when the receipts arrive before the sender has
  settled its submit (the receipts are held in storage, then applied once);
* a sender restarted between submit and receipts settles them all;
* a failing part fails its message with that part's code, once; late and
  repeated receipts change nothing, and credits come back once.

The simulated SMSC (``isobil.testing.smsc``, smpp34 in a child process) plays the
network; storage is memory (one process only), a SQLite file, or PostgreSQL.
"""

from __future__ import annotations

import itertools
import multiprocessing
import queue
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from multiprocessing.context import SpawnProcess
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import _pg
from _acme import ACME
from isobil import Client, Message, MessageState
from isobil.storage import (
    Campaign,
    CampaignStatus,
    CreditEntry,
    CreditKind,
    DeliveryReportRecord,
    MemoryStorage,
    OutboundMessage,
    Settlement,
    SQLStorage,
    Storage,
)
from isobil.testing.smsc import SmscSimulator
from isobil.transport import DeliveryReport, DeliveryStatus, InboundEvent, SmppTransport

SPAWN = multiprocessing.get_context("spawn")
WAIT = 120  # seconds: a bound for a hung child or a lost event, not a synchronisation
PASSWORD = "s3cr3t!"  # noqa: S105 - a test credential; the simulator accepts any
CREDITS = 10_000
#: An order notice of 337 characters: three GSM 7-bit parts with the Turkish shift table.
TEXT = (
    "Sayın müşterimiz, 4512 numaralı siparişiniz bugün kargoya verildi. Teslimat adresi: "
    "Çamlıca Mah. Güneş Sok. No: 12 Üsküdar/İstanbul. Kargo takip numaranız 7841 2290 5531; "
    "teslimat 1-2 iş günü içinde yapılacaktır. Teslimat sırasında kimlik ibrazı gereklidir. "
    "Sorularınız için çağrı merkezimizi 0850 123 45 67 numarasından arayabilirsiniz."
)
NOTICE = Message(TEXT, category="informational")


def numbers(count: int, start: int = 0) -> list[str]:
    return [f"+90532{i:07d}" for i in range(start, start + count)]


def transport(smsc: SmscSimulator | int) -> SmppTransport:
    """A transceiver bound to the simulator (or its port) as the account every bind shares."""
    port = smsc if isinstance(smsc, int) else smsc.port
    bound = SmppTransport(
        "127.0.0.1",
        port,
        system_id="isobil",
        password=PASSWORD,
        reconnect_delay=0.01,
        max_reconnect_delay=0.1,
        unbind_timeout=0.5,
    )
    bound.wait_bound(10)
    return bound


def topped_up(storage: Storage) -> Storage:
    storage.append_credit(CreditEntry(CreditKind.TOP_UP, CREDITS, datetime.now(UTC)))
    return storage


# -- the processes -------------------------------------------------------------


class GatedStorage(SQLStorage):
    """A storage whose ``settle`` waits for ``gate``: receipts get there first."""

    gate: Event | None = None

    def settle(self, outcomes: Sequence[Settlement], *, now: datetime) -> list[str]:
        if self.gate is not None:
            assert self.gate.wait(WAIT), "the settle gate was never opened"
        return super().settle(outcomes, now=now)


def bind(
    role: str,
    url: str,
    port: int,
    commands: Queue[tuple[str, Any]],
    events: Queue[tuple[str, str, Any]],
    gate: Event | None,
) -> None:
    """A worker process: bind to the SMSC, apply every receipt it is handed, and (the
    sender) send when told. Reports each receipt it applied, then what it sent."""
    storage = GatedStorage(url)
    storage.gate = gate
    client = Client(ACME, transport=transport(port), storage=storage, prepaid=True)

    def applied(event: InboundEvent) -> None:  # called once the receipt is in storage
        if isinstance(event, DeliveryReport):
            events.put((role, "report", (event.provider_id, event.status.value)))

    client.on_inbound(applied)
    try:
        events.put((role, "bound", None))
        while True:
            command, argument = commands.get(timeout=WAIT)
            if command == "send":
                result = client.send(NOTICE, to=argument)
                sent = [(o.message_id, o.provider_id, o.status.value) for o in result.outcomes]
                events.put((role, "sent", sent))
            elif command == "stop":
                break
    finally:
        client.close()
        storage.close()
    events.put((role, "closed", None))


class Workers:
    """Spawned worker processes and the queues to and from them; every one is killed
    in ``close`` (called in ``finally``) whatever happened."""

    def __init__(self) -> None:
        self.events: Queue[tuple[str, str, Any]] = SPAWN.Queue()
        self.commands: dict[str, Queue[tuple[str, Any]]] = {}
        self.processes: list[SpawnProcess] = []
        self.seen: list[tuple[str, str, Any]] = []

    def start(self, role: str, url: str, port: int, gate: Event | None = None) -> None:
        commands: Queue[tuple[str, Any]] = SPAWN.Queue()
        self.commands[role] = commands
        process = SPAWN.Process(
            target=bind, args=(role, url, port, commands, self.events, gate), name=role
        )
        process.start()
        self.processes.append(process)

    def wait(self, role: str, kind: str) -> Any:
        """The next ``kind`` event of ``role`` (others are kept in ``seen``)."""
        deadline = time.monotonic() + WAIT
        while True:
            for n, (who, what, value) in enumerate(self.seen):
                if (who, what) == (role, kind):
                    del self.seen[n]
                    return value
            self.seen.append(self.get(deadline))

    def reports(self, count: int) -> Counter[str]:
        """Wait until ``count`` receipts have been applied; how many each process applied."""
        deadline = time.monotonic() + WAIT
        while sum(1 for _, kind, _ in self.seen if kind == "report") < count:
            self.seen.append(self.get(deadline))
        applied = [(who, value) for who, kind, value in self.seen if kind == "report"]
        self.seen = [e for e in self.seen if e[1] != "report"]
        return Counter(who for who, _ in applied)

    def get(self, deadline: float) -> tuple[str, str, Any]:
        while True:
            try:
                return self.events.get(timeout=1)
            except queue.Empty:
                dead = {p.name: p.exitcode for p in self.processes if p.exitcode not in (None, 0)}
                assert not dead, f"worker processes died: {dead}"
                assert time.monotonic() < deadline, f"no event in time; seen {self.seen[-5:]}"

    def close(self) -> None:
        for role, commands in self.commands.items():
            process = next(p for p in self.processes if p.name == role)
            if process.is_alive():
                commands.put(("stop", None))
        for process in self.processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join()


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database two processes share: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'isobil.db'}"
        return
    with _pg.fresh_database() as url:
        yield url


def states(storage: Storage, message_ids: Sequence[str]) -> Counter[MessageState]:
    found = [storage.get_message(i) for i in message_ids]
    return Counter(m.state for m in found if m is not None)


# -- two binds of one account, in two processes --------------------------------


@pytest.mark.parametrize("early", [False, True], ids=["after-settle", "before-settle"])
def test_two_processes_receiving_round_robin_settle_every_long_message(
    shared_url: str, early: bool
) -> None:
    """One process sends 40 three-part messages; the SMSC hands the 120 part receipts
    to the two binds in turn. Every message ends delivered, charged once.

    ``before-settle``: the sender's settle waits until every receipt was applied by
    both processes, so each receipt is held in storage first (the part ids are not
    known yet) and applied once the settle makes them known.
    """
    count = 40
    with SQLStorage(shared_url) as storage:
        topped_up(storage)
    workers = Workers()
    gate = SPAWN.Event() if early else None
    try:
        with SmscSimulator(receipt_routing="round_robin") as smsc:
            workers.start("sender", shared_url, smsc.port, gate)
            workers.start("other", shared_url, smsc.port)
            workers.wait("sender", "bound")
            workers.wait("other", "bound")
            workers.commands["sender"].put(("send", numbers(count)))
            if early:
                smsc.wait_for_messages(count)
                assert smsc.deliver_all() == count
                by_process = workers.reports(3 * count)  # held: the parts are not settled
                assert gate is not None
                gate.set()
                sent = workers.wait("sender", "sent")
            else:
                sent = workers.wait("sender", "sent")
                assert smsc.deliver_all() == count
                by_process = workers.reports(3 * count)
            sessions = Counter(smsc.receipt_sessions())
        assert [status for _, _, status in sent] == ["submitted"] * count
        # Round-robin: each bind got half of every message's part receipts.
        assert sorted(sessions.values()) == [60, 60]
        assert sorted(by_process.values()) == [60, 60]
        with SQLStorage(shared_url) as storage:
            ids = [message_id for message_id, _, _ in sent]
            assert states(storage, ids) == {MessageState.DELIVERED: count}
            for message_id in ids[:3]:
                assert [p.status for p in storage.message_parts(message_id)] == ["delivered"] * 3
            assert storage.credit_balance() == CREDITS - 3 * count
    finally:
        workers.close()


# -- a sender restarted between submit and receipts -----------------------------


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if request.param == "memory":
        yield MemoryStorage()
    elif request.param == "sqlite":
        with SQLStorage(tmp_path / "isobil.db") as opened:
            yield opened
    else:
        with _pg.fresh_database() as url, SQLStorage(url) as opened:
            yield opened


def test_a_restarted_sender_settles_every_long_message(storage: Storage) -> None:
    """Submit 30 three-part messages, close the client and its transport, start a new
    one on the same storage; only then do the receipts come (to the new bind, which
    never saw the parts). All delivered — but one, whose second part fails: that one
    is undelivered with its part's code, refunded once; late and repeated receipts
    change nothing."""
    count = 30
    topped_up(storage)
    with SmscSimulator() as smsc:
        with Client(ACME, transport=transport(smsc), storage=storage, prepaid=True) as first:
            result = first.send(NOTICE, to=numbers(count))
        assert [o.status.value for o in result.outcomes] == ["submitted"] * count
        ids = [o.message_id or "" for o in result.outcomes]
        provider_ids = [o.provider_id or "" for o in result.outcomes]
        assert storage.credit_balance() == CREDITS - 3 * count
        with Client(ACME, transport=transport(smsc), storage=storage, prepaid=True) as second:
            applied: queue.Queue[DeliveryReport] = queue.Queue()
            second.on_inbound(lambda e: applied.put(e) if isinstance(e, DeliveryReport) else None)

            def receipts(expected: int) -> list[DeliveryReport]:
                return [applied.get(timeout=WAIT) for _ in range(expected)]

            failing = provider_ids[0]
            smsc.deliver(failing, DeliveryStatus.DELIVERED, parts=[0])
            smsc.deliver(failing, DeliveryStatus.UNDELIVERED, "027", parts=[1])
            smsc.deliver(failing, DeliveryStatus.DELIVERED, parts=[2])  # late: changes nothing
            for provider_id in provider_ids[1:]:
                smsc.deliver(provider_id)
            receipts(3 * count)
            assert states(storage, ids) == {
                MessageState.DELIVERED: count - 1,
                MessageState.UNDELIVERED: 1,
            }
            failed = storage.get_message(ids[0])
            assert failed is not None
            assert (failed.error_code, failed.reason) == ("027", "part 2 of 3 undelivered")
            assert storage.credit_balance() == CREDITS - 3 * count + 3  # refunded once
            # Repeated and late receipts, one by one and in a burst: nothing changes.
            smsc.deliver(failing, DeliveryStatus.EXPIRED, "254")
            for provider_id in provider_ids[1:6]:
                smsc.deliver(provider_id, DeliveryStatus.UNDELIVERED, "001")
            receipts(3 + 15)
            assert states(storage, ids) == {
                MessageState.DELIVERED: count - 1,
                MessageState.UNDELIVERED: 1,
            }
            assert storage.credit_balance() == CREDITS - 3 * count + 3


# -- storage reconciles parts in any order, held or not ------------------------

_STATUSES = ["delivered", "undelivered", "expired", "rejected", "pending", "unknown"]
_FAILURES = {"undelivered": MessageState.UNDELIVERED, "expired": MessageState.EXPIRED}
_FAILURES["rejected"] = MessageState.REJECTED
_ids = itertools.count()


@pytest.fixture(scope="module", params=["memory", "sqlite", "postgresql"])
def shared_storage(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Storage]:
    """One storage for every example (each uses ids of its own)."""
    if request.param == "memory":
        yield MemoryStorage()
    elif request.param == "sqlite":
        with SQLStorage(tmp_path_factory.mktemp("parts") / "isobil.db") as opened:
            yield opened
    else:
        with _pg.fresh_database() as url, SQLStorage(url) as opened:
            yield opened


def expected(reports: Sequence[tuple[int, str]]) -> tuple[MessageState, str | None]:
    """What the receipts make of a 3-part message, applied in order: the first failing
    part fails it (with its code), else it is delivered when every part is."""
    parts: dict[int, str] = {}
    for index, status in reports:
        if parts.get(index, "pending") != "pending":
            continue  # a part already final: a repeat or late receipt
        parts[index] = status
        if status in _FAILURES:
            return _FAILURES[status], f"e{index}"
        if len(parts) == 3 and all(s == "delivered" for s in parts.values()):
            return MessageState.DELIVERED, None
    return MessageState.SUBMITTED, None


@settings(deadline=None, max_examples=60)
@given(
    reports=st.lists(
        st.tuples(st.integers(0, 2), st.sampled_from(_STATUSES)), min_size=0, max_size=9
    ),
    held=st.integers(0, 9),
    bursts=st.lists(st.integers(1, 4), min_size=1, max_size=9),
)
def test_part_receipts_in_any_order_settle_as_applied_in_order(
    shared_storage: Storage, reports: list[tuple[int, str]], held: int, bursts: list[int]
) -> None:
    """Part receipts in any order, with repeats, some read before the settle (held),
    the rest in bursts of any size: the message ends as if applied one by one, and
    changes (is answered) at most once."""
    storage = shared_storage
    n = next(_ids)
    message_id, campaign_id = f"m{n}", f"c{n}"
    part_ids = tuple(f"p{n}-{i}" for i in range(3))
    now = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    storage.create_campaign(
        Campaign(
            id=campaign_id,
            text=TEXT,
            category="informational",
            created_at=now,
            status=CampaignStatus.RUNNING,
        )
    )
    storage.add_messages([OutboundMessage(message_id, campaign_id, "+905320000001", TEXT, 3)])
    storage.claim_submitting(worker="w", limit=1_000, lease=timedelta(minutes=5), now=now)
    records = [
        DeliveryReportRecord(part_ids[i], status, now, error_code=f"e{i}") for i, status in reports
    ]
    early, late = records[:held], records[held:]
    changed: list[OutboundMessage] = []
    if early:
        assert storage.apply_delivery_reports(early) == []  # nothing known yet: held
    settled = Settlement(message_id, MessageState.SUBMITTED, part_ids[0], part_ids=part_ids)
    assert storage.settle([settled], now=now) == [message_id]
    changed += storage.apply_held_reports(part_ids)
    sizes = itertools.cycle(bursts)
    while late:
        size = next(sizes)
        burst, late = late[:size], late[size:]
        if size == 1:
            one = storage.apply_delivery_report(burst[0])
            changed += [] if one is None else [one]
        else:
            changed += storage.apply_delivery_reports(burst)
    state, error_code = expected(reports)
    message = storage.get_message(message_id)
    assert message is not None
    assert message.state is state
    if state is not MessageState.DELIVERED:
        assert message.error_code == error_code
    assert [m.id for m in changed] == ([] if state is MessageState.SUBMITTED else [message_id])
