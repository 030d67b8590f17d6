"""The asyncio face of :class:`~isobil.Client`: the same work, never blocking the loop."""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from types import TracebackType
from typing import Any, Generic, Self, TypeVar, cast

from isobil import sms
from isobil.campaigns import CreditAccount, Schedules
from isobil.client import (
    Client,
    DispatchReport,
    InboundCallback,
    RecipientOutcome,
    Reports,
    SendResult,
    _advance,
    _Collect,
    _dispatched,
    _sent,
    _span,
    _Steps,
    _submitted,
)
from isobil.consent import Blacklist, ConsentLedger, InboundProcessor
from isobil.contacts import ContactBook
from isobil.errors import InvalidValue, TransportError
from isobil.model import Message, Sender
from isobil.otp import Otp
from isobil.rules import PreflightReport
from isobil.storage import OutboundMessage
from isobil.transport import CallbackApp, CallbackAuth, OutboundSms, SubmitResult

__all__ = ["AsyncClient", "Threaded"]

T = TypeVar("T")
R = TypeVar("R")
S = TypeVar("S")
log = logging.getLogger("isobil")
Recipientish = Any  # what Client.send takes: numbers in any shape, Recipients, a group


class Threaded(Generic[S]):
    """One of the client's parts (``consent``, ``contacts``, …) with every method
    awaitable: ``await client.consent.record(...)`` runs ``record`` in the client's
    worker threads. Attributes that are not methods are read as they are."""

    def __init__(self, target: S, run: Callable[[Callable[[], T]], Awaitable[T]]) -> None:
        self._target = target
        self._run = run

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._target, name)
        if not callable(found):
            return found

        @functools.wraps(found)
        async def threaded(*args: Any, **kwargs: Any) -> Any:
            return await self._run(functools.partial(found, *args, **kwargs))

        return threaded

    def __repr__(self) -> str:
        return f"<Threaded {self._target!r}>"


class AsyncClient:
    """:class:`~isobil.Client` for asyncio applications (FastAPI, Starlette, aiohttp).

    Takes the same arguments as :class:`~isobil.Client` and gives the same
    results and errors, awaited: ``await client.send(...)``, ``send_now``, ``check``,
    ``dispatch``, ``poll``, ``cancel``, ``message``. The client's parts —
    ``consent``, ``contacts``, ``reports``, ``blacklist``, ``credits``,
    ``schedules``, ``inbound``, ``otp`` — have every method awaitable.

    Where the work runs, honestly: an HTTP provider is spoken to on an
    ``httpx.AsyncClient``, on the loop; storage (SQLite and PostgreSQL drivers
    block) and the rules run in a pool of at most ``max_threads`` worker threads
    owned by this client, so the loop stays free and the database sees a bounded
    number of connections; an SMPP or fake transport submits in a worker thread
    too. Building the client opens its storage (and runs its migrations) before
    the loop gets it back: build it at start-up (a lifespan), not per request.

    ``client.sync`` is the underlying :class:`~isobil.Client` (same storage and
    transport), for code that runs in a thread already; ``await client.run(fn)``
    calls ``fn(client.sync)`` in the worker threads.
    """

    def __init__(self, sender: Sender | None = None, *, max_threads: int = 4, **options: Any):
        if isinstance(max_threads, bool) or not isinstance(max_threads, int) or max_threads < 1:
            raise InvalidValue(f"max_threads must be a positive integer, got {max_threads!r}")
        self.sync = Client(sender, **options)
        self._pool = ThreadPoolExecutor(max_workers=max_threads, thread_name_prefix="isobil")
        self.consent: Threaded[ConsentLedger] = Threaded(self.sync.consent, self._thread)
        self.contacts: Threaded[ContactBook] = Threaded(self.sync.contacts, self._thread)
        self.reports: Threaded[Reports] = Threaded(self.sync.reports, self._thread)
        self.blacklist: Threaded[Blacklist] = Threaded(self.sync.blacklist, self._thread)
        self.credits: Threaded[CreditAccount] = Threaded(self.sync.credits, self._thread)
        self.schedules: Threaded[Schedules] = Threaded(self.sync.schedules, self._thread)
        self.inbound: Threaded[InboundProcessor] = Threaded(self.sync.inbound, self._thread)
        self.otp: Threaded[Otp] = Threaded(self.sync.otp, self._thread)

    @property
    def sender(self) -> Sender | None:
        """Who sends (the underlying client's)."""
        return self.sync.sender

    def __repr__(self) -> str:
        return "<Async" + repr(self.sync).removeprefix("<")

    # -- the work, awaited ----------------------------------------------------------

    async def send(
        self,
        message: Message | str,
        to: Iterable[Recipientish] | Recipientish,
        *,
        at: datetime | None = None,
        acknowledge: Iterable[str] = (),
        name: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> SendResult:
        """:meth:`Client.send`, awaited: storage and rules in worker threads, each batch
        submitted on the loop (``progress`` is called from a worker thread).
        Cancelling the task is how a send is stopped early here (``Client.send``'s
        ``stop``): the batches handed over are settled first."""
        with _span("isobil.send", self.sync.transport) as traced:
            stop = threading.Event()
            steps = self.sync._send(
                message, to, at=at, acknowledge=acknowledge, name=name, progress=progress, stop=stop
            )
            return _sent(traced, await self._drive(steps, stop))

    async def send_now(
        self,
        message: Message | str,
        to: Recipientish,
        *,
        acknowledge: Iterable[str] = (),
        conceal: str | None = None,
    ) -> RecipientOutcome:
        """:meth:`Client.send_now`, awaited: storage and rules in worker threads, the
        submit on the loop."""
        with _span("isobil.send_now", self.sync.transport) as traced:
            steps = self.sync._send_now(message, to, acknowledge=acknowledge, conceal=conceal)
            outcome = await self._drive(steps)
            traced.set(outcome=outcome.status.value)
            return outcome

    async def dispatch(
        self,
        *,
        limit: int | None = None,
        now: datetime | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> DispatchReport:
        """:meth:`Client.dispatch`, awaited (``progress`` is called from a worker thread).
        Cancelling the task is how a pass is stopped early here (``Client.dispatch``'s
        ``stop``): the batches handed over are settled first."""
        with _span("isobil.dispatch", self.sync.transport) as traced:
            stop = threading.Event()
            steps = self.sync._dispatch(limit=limit, now=now, progress=progress, stop=stop)
            return _dispatched(traced, await self._drive(steps, stop))

    async def check(
        self,
        message: Message | str,
        to: Iterable[Recipientish] | Recipientish,
        *,
        as_of: date | None = None,
        acknowledge: Iterable[str] = (),
    ) -> PreflightReport:
        """:meth:`Client.check`, in a worker thread."""
        return await self._thread(
            functools.partial(self.sync.check, message, to, as_of=as_of, acknowledge=acknowledge)
        )

    async def poll(self, *, now: datetime | None = None) -> int:
        """:meth:`Client.poll`, in a worker thread (what it pulls is written to storage
        as it arrives)."""
        return await self._thread(functools.partial(self.sync.poll, now=now))

    async def cancel(self, campaign_id: str) -> int:
        """:meth:`Client.cancel`, in a worker thread."""
        return await self._thread(functools.partial(self.sync.cancel, campaign_id))

    async def pause(self, campaign_id: str) -> None:
        """:meth:`Client.pause`, in a worker thread."""
        await self._thread(functools.partial(self.sync.pause, campaign_id))

    async def resume(self, campaign_id: str) -> None:
        """:meth:`Client.resume`, in a worker thread."""
        await self._thread(functools.partial(self.sync.resume, campaign_id))

    async def message(self, message_id: str) -> OutboundMessage:
        """:meth:`Client.message`, in a worker thread."""
        return await self._thread(functools.partial(self.sync.message, message_id))

    async def run(self, work: Callable[[Client], T]) -> T:
        """``work(client.sync)`` in the worker threads: any call the client has."""
        return await self._thread(functools.partial(work, self.sync))

    # -- not awaited: no I/O ----------------------------------------------------------

    def plan(self, message: Message | str) -> sms.SegmentPlan:
        """:meth:`Client.plan` (pure computation, microseconds)."""
        return self.sync.plan(message)

    def on_inbound(self, callback: InboundCallback) -> None:
        """:meth:`Client.on_inbound`; ``callback`` runs in the thread that received the event."""
        self.sync.on_inbound(callback)

    def callbacks(
        self,
        secret: str,
        *,
        auth: CallbackAuth | None = None,
        username: str = "isobil",
        **options: Any,
    ) -> CallbackApp:
        """:meth:`Client.callbacks`: mount ``.asgi``, which handles each push in a thread."""
        return self.sync.callbacks(secret, auth=auth, username=username, **options)

    # -- lifetime -----------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the transport (its ``httpx.AsyncClient`` too), the owned storage and the
        worker threads. Calling it twice is harmless."""
        if self.sync._closed:
            return
        await self.sync.transport.aclose()
        await self._thread(self.sync.close)
        self._pool.shutdown(wait=False)

    #: The same as :meth:`aclose`.
    close = aclose

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- driving ------------------------------------------------------------------------

    async def _thread(self, work: Callable[[], T]) -> T:
        self.sync._check_open()  # a closed client's threads are gone: say so, as Client does
        return await asyncio.get_running_loop().run_in_executor(self._pool, work)

    async def _drive(self, steps: _Steps[T], stop: threading.Event | None = None) -> T:
        """Run ``steps`` in the worker threads; submit the batches they yield on the loop,
        one after another, while the steps go on (``_COLLECT`` awaits an answer).

        Cancelled, it stops between batches, not mid-way: the step running in a worker
        thread (which nothing can interrupt) ends, a batch it handed over is submitted,
        ``stop`` is set so that the steps take no further batch, and every batch at the
        transport is awaited and settled; then the cancellation goes up (an error while
        settling rides on it as its cause: a cancelled task ends cancelled). Abandoned
        instead, the steps would leave their batches ``submitting``, to become
        ``unknown``, and a submit cancelled mid-way would lose its answer. Only a
        loop that is closing, which cancels the step and the submits themselves, still
        abandons them.
        """
        in_flight: deque[asyncio.Task[list[SubmitResult] | TransportError]] = deque()
        answer: list[SubmitResult] | TransportError | None = None
        cancelled: asyncio.CancelledError | None = None

        async def through(work: asyncio.Future[R]) -> R:
            # ``await work`` to its end, whatever cancels the caller meanwhile.
            nonlocal cancelled
            while True:
                try:
                    return await asyncio.shield(work)
                except asyncio.CancelledError as exc:
                    if stop is not None:
                        stop.set()
                    if work.cancelled():  # the work itself: the loop is closing
                        raise
                    cancelled = exc

        try:
            while True:
                step = functools.partial(_advance, steps, answer)
                done, value = await through(asyncio.ensure_future(self._thread(step)))
                if done:
                    if cancelled is not None:
                        campaign = getattr(value, "campaign_id", None)
                        if campaign is not None:
                            log.warning(
                                "isobil: send cancelled; what it handed over was settled "
                                "(campaign %s)",
                                campaign,
                            )
                        raise cancelled
                    return value  # type: ignore[return-value]
                answer = None
                if isinstance(value, _Collect):
                    answer = await through(in_flight.popleft())
                else:
                    after = in_flight[-1] if in_flight else None
                    batch = cast(list[OutboundSms], value)
                    in_flight.append(asyncio.ensure_future(self._submit(batch, after)))
        except Exception as exc:
            if cancelled is None:
                raise
            raise cancelled from exc
        finally:
            if in_flight:
                await asyncio.wait(in_flight)

    async def _submit(
        self,
        batch: list[OutboundSms],
        after: asyncio.Task[list[SubmitResult] | TransportError] | None,
    ) -> list[SubmitResult] | TransportError:
        if after is not None:
            await asyncio.wait([after])  # batches leave in the order they were handed over
        with _span("isobil.submit", self.sync.transport, messages=len(batch)) as traced:
            answer: list[SubmitResult] | TransportError
            try:
                answer = await self.sync.transport.asubmit(batch)
            except TransportError as exc:
                answer = exc
            _submitted(traced, answer)
            return answer
