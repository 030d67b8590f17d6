"""AsyncClient: the loop stays free while a provider is slow; the results are the Client's.

The shared client tests (test_client.py, test_client_http.py, the plugin's
``isobil_client``) run on both clients through ``make_client``; these are the
tests only an asyncio client needs.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from _acme import ACME, IYS_NOT_WIRED
from isobil import AsyncClient, Client, ComplianceError, FakeTransport, Message, MessageState
from isobil.storage import CampaignStatus, MemoryStorage
from isobil.testing.http_gateway import HttpGateway
from isobil.transport import GenericJsonAdapter, HttpTransport

NOTICE = Message("Siparişiniz kargoya verildi.", category="informational")
OFFER = Message(
    "KAMPANYA: Tüm ürünlerde %20 indirim! acme.com.tr/kampanya "
    "Ret için ACME RET yazıp 4605'e gönderin.",
    brand="ACME",
)
AUDIENCE = ["0532 123 45 67", "05331234567", "05321234567", "12345", "05341234567", "abc"]


class _NoBlockingHttp(httpx.BaseTransport):
    """A blocking httpx transport that fails the test if anything uses it."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"blocking HTTP used for {request.url}")


def test_the_loop_keeps_ticking_while_the_provider_holds_a_submit() -> None:
    """A provider that holds its answer does not hold the loop: another coroutine ticks
    on, and the submit goes over the asyncio HTTP client, not the blocking one."""

    async def scenario(gateway: HttpGateway) -> tuple[int, bool, list[MessageState]]:
        transport = HttpTransport(
            gateway.url,
            GenericJsonAdapter(),
            http=httpx.Client(transport=_NoBlockingHttp()),
            timeout=30.0,
        )
        async with AsyncClient(ACME, transport=transport, storage=MemoryStorage()) as client:
            gateway.fault("slow")
            sending = asyncio.create_task(client.send(NOTICE, to=["05321234567", "05331234567"]))
            ticks = 0
            while ticks < 50:  # the provider answers only when the ticker lets it
                await asyncio.sleep(0.001)
                ticks += 1
            held_while_ticking = not sending.done()
            gateway.release.set()
            result = await sending
            states = [(await client.message(o.message_id or "")).state for o in result.outcomes]
        return ticks, held_while_ticking, states

    with HttpGateway() as gateway:
        ticks, held, states = asyncio.run(scenario(gateway))
        assert len(gateway.received()) == 2
    assert (ticks, held) == (50, True)
    assert states == [MessageState.SUBMITTED] * 2


def _shape(outcomes: Iterable[Any]) -> list[tuple[Any, ...]]:
    """What an outcome says, without the ids each run makes anew."""
    return [
        (o.input, o.number, o.status, o.reason, o.rule_ids, o.plan and o.plan.parts)
        for o in outcomes
    ]


def _consents(client: Client) -> None:
    client.consent.record("05321234567", "ONAY", source="HS_ISLAK_IMZA", brand="ACME")
    client.consent.record("05331234567", "RET", source="HS_ISLAK_IMZA", brand="ACME")


def test_send_and_dispatch_give_what_the_client_gives() -> None:
    """The same inputs on both clients: the same outcomes, reports and errors."""
    later = datetime.now(UTC) + timedelta(hours=1)

    def on_sync() -> tuple[list[Any], ...]:
        with Client(ACME, transport=FakeTransport(), storage=MemoryStorage()) as client:
            _consents(client)
            now = client.send(NOTICE, to=AUDIENCE)
            offer = client.send(OFFER, to=AUDIENCE, acknowledge=IYS_NOT_WIRED)
            queued = client.send(NOTICE, to=AUDIENCE, at=later)
            dispatched: list[int] = []
            report = client.dispatch(now=later + timedelta(minutes=1), progress=dispatched.append)
            with pytest.raises(ComplianceError) as refused:
                client.send(Message("İndirim!", brand="ACME"), to=AUDIENCE)
            return (
                _shape(now.outcomes),
                _shape(offer.outcomes),
                _shape(queued.outcomes),
                [report.handled, dict(report.outcomes), dispatched],
                [str(refused.value)],
            )

    async def on_async() -> tuple[list[Any], ...]:
        async with AsyncClient(ACME, transport=FakeTransport(), storage=MemoryStorage()) as client:
            await client.run(_consents)
            now = await client.send(NOTICE, to=AUDIENCE)
            offer = await client.send(OFFER, to=AUDIENCE, acknowledge=IYS_NOT_WIRED)
            queued = await client.send(NOTICE, to=AUDIENCE, at=later)
            dispatched: list[int] = []
            report = await client.dispatch(
                now=later + timedelta(minutes=1), progress=dispatched.append
            )
            with pytest.raises(ComplianceError) as refused:
                await client.send(Message("İndirim!", brand="ACME"), to=AUDIENCE)
            return (
                _shape(now.outcomes),
                _shape(offer.outcomes),
                _shape(queued.outcomes),
                [report.handled, dict(report.outcomes), dispatched],
                [str(refused.value)],
            )

    expected = on_sync()
    assert expected[3][0] == 3  # the queued send was dispatched: three distinct numbers
    assert expected[3][2] == [3]  # progress: one batch, settled
    assert asyncio.run(on_async()) == expected


def test_parts_are_awaitable_and_run_in_at_most_max_threads() -> None:
    """``await client.consent.record(...)`` and the like run in the client's own
    bounded pool of threads, never on the loop's thread."""
    used: set[str] = set()

    class Watched(MemoryStorage):
        def get_contacts(self, numbers: Iterable[str]) -> Any:
            used.add(threading.current_thread().name)
            return super().get_contacts(numbers)

    async def scenario() -> list[Any]:
        async with AsyncClient(
            ACME, transport=FakeTransport(), storage=Watched(), max_threads=2
        ) as client:
            await client.consent.record("05321234567", "ONAY", source="HS_WEB", brand="ACME")
            await asyncio.gather(*(client.send(NOTICE, to=AUDIENCE) for _ in range(8)))
            state = await client.consent.state("05321234567", brand="ACME")
            return [state.value if state else None, client.plan("ş").parts]

    loop_thread = threading.current_thread().name
    assert asyncio.run(scenario()) == ["ONAY", 1]
    assert loop_thread not in used
    assert len(used) <= 2
    assert all(name.startswith("isobil") for name in used)


def test_a_closed_async_client_says_so() -> None:
    """After close, a send is refused with the Client's error; closing twice is harmless."""

    async def scenario() -> None:
        client = AsyncClient(transport=FakeTransport(), storage=MemoryStorage())
        await client.aclose()
        await client.aclose()
        with pytest.raises(Exception, match="this Client is closed"):
            await client.send(NOTICE, to="05321234567")

    asyncio.run(scenario())


class _Held(FakeTransport):
    """A fake whose first submit waits, once it has begun, until the test lets it go on."""

    def __init__(self) -> None:
        super().__init__()
        self.begun = threading.Event()
        self.go_on = threading.Event()

    def submit(self, batch: Any) -> Any:
        if not self.begun.is_set():
            self.begun.set()
            assert self.go_on.wait(60), "the test never let the submit go on"
        return super().submit(batch)


async def _cancel_at_the_first_submit(
    transport: _Held, work: asyncio.Task[Any]
) -> pytest.ExceptionInfo[asyncio.CancelledError]:
    """Cancel ``work`` while its first batch is at the transport, then let it answer."""
    await asyncio.to_thread(transport.begun.wait, 60)
    work.cancel()
    transport.go_on.set()
    with pytest.raises(asyncio.CancelledError) as cancelled:
        await work
    return cancelled


def _states(storage: MemoryStorage) -> list[MessageState]:
    [campaign] = storage.list_campaigns()
    return [m.state for m in storage.iter_messages(campaign.id)]


NUMBERS = [f"0532{i:07d}" for i in range(1, 21)]  # 20 numbers: 10 batches of 2


def test_a_cancelled_send_stops_between_batches_and_settles_what_went(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Cancelling the task of a send (a request timed out) stops it after the batches
    handed over: by the time the cancellation reaches the caller those are settled as
    the transport answered them, nothing is left ``submitting`` (to become
    ``unknown``), the rest of ``to`` is never stored, and the campaign is done. Before,
    the steps were abandoned mid-way with their batches ``submitting`` and the submit
    under way cancelled, its answer lost."""
    storage = MemoryStorage()
    transport = _Held()

    async def scenario() -> None:
        async with AsyncClient(ACME, transport=transport, storage=storage, batch_size=2) as client:
            sending = asyncio.create_task(client.send(NOTICE, to=NUMBERS))
            await _cancel_at_the_first_submit(transport, sending)
            [campaign] = storage.list_campaigns()
            messages = list(storage.iter_messages(campaign.id))
            assert {m.state for m in messages} == {MessageState.SUBMITTED}
            sent = {s.id: s.message_id for s in transport.sent}
            assert {m.id: m.provider_id for m in messages} == sent
            # The batch at the transport and at most the one the steps prepared beside
            # it before the cancellation reached them: not the whole audience.
            assert len(messages) in (2, 4)
            assert campaign.status is CampaignStatus.DONE
            assert f"send cancelled; what it handed over was settled (campaign {campaign.id})" in (
                caplog.text
            )

    asyncio.run(scenario())


def test_a_cancelled_dispatch_settles_its_batches_and_leaves_the_rest_queued() -> None:
    """A dispatch pass cancelled mid-way settles the batches it handed over and claims no
    more: the rest stay ``queued`` without a lease, and the next pass sends them,
    each message exactly once."""
    storage = MemoryStorage()
    transport = _Held()
    later = datetime.now(UTC) + timedelta(hours=1)

    async def scenario() -> int:
        async with AsyncClient(ACME, transport=transport, storage=storage, batch_size=2) as client:
            await client.send(NOTICE, to=NUMBERS, at=later)
            dispatching = asyncio.create_task(client.dispatch(now=later))
            await _cancel_at_the_first_submit(transport, dispatching)
            states = _states(storage)
            assert states.count(MessageState.SUBMITTED) in (2, 4)
            assert states.count(MessageState.QUEUED) == 20 - states.count(MessageState.SUBMITTED)
            return (await client.dispatch(now=later)).handled

    assert asyncio.run(scenario()) in (16, 18)
    assert sorted(s.to for s in transport.sent) == sorted(f"+90{n[1:]}" for n in NUMBERS)


def test_a_send_now_past_its_deadline_settles_its_message_then_times_out() -> None:
    """``send_now`` under ``asyncio.timeout`` whose deadline passes while the message is
    at the transport: the message is settled with the transport's answer, then the
    timeout goes up as ``TimeoutError``, as asyncio's own does."""
    storage = MemoryStorage()
    transport = _Held()

    async def scenario() -> None:
        async with AsyncClient(ACME, transport=transport, storage=storage) as client:
            deadlines: list[asyncio.Timeout] = []

            async def within_a_deadline() -> Any:
                async with asyncio.timeout(None) as deadline:
                    deadlines.append(deadline)
                    return await client.send_now(NOTICE, to=NUMBERS[0])

            sending = asyncio.create_task(within_a_deadline())
            await asyncio.to_thread(transport.begun.wait, 60)
            # Due now: it fires on the loop's next turn, long before the answer let go
            # below can come back through the submit's thread and task to the send.
            deadlines[0].reschedule(asyncio.get_running_loop().time())
            transport.go_on.set()
            with pytest.raises(TimeoutError):
                await sending
            [message] = storage.iter_messages(storage.list_campaigns()[0].id)
            assert message.state is MessageState.SUBMITTED
            assert message.provider_id == transport.sent[0].message_id

    asyncio.run(scenario())


def test_an_error_settling_a_cancelled_send_does_not_swallow_the_cancellation() -> None:
    """The caller's ``progress`` callback fails while a cancelled send settles its
    batches: the task still ends cancelled (a caller catching ``Exception`` would
    otherwise carry on as if never cancelled), with the error as the cause, and
    nothing is left ``submitting``."""
    storage = MemoryStorage()
    transport = _Held()

    def progress(done: int) -> None:
        raise RuntimeError("the progress bar broke")

    async def scenario() -> None:
        async with AsyncClient(ACME, transport=transport, storage=storage, batch_size=2) as client:
            sending = asyncio.create_task(client.send(NOTICE, to=NUMBERS, progress=progress))
            cancelled = await _cancel_at_the_first_submit(transport, sending)
            assert isinstance(cancelled.value.__cause__, RuntimeError)
            assert set(_states(storage)) == {MessageState.SUBMITTED}

    asyncio.run(scenario())
