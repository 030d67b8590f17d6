"""A transport over a provider's HTTP API, on one reused httpx client."""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Generator, Hashable, Sequence
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import unquote

import httpx

from isobil._net import http_base_url, retry_after_seconds, without_userinfo
from isobil.errors import (
    ConnectionFailed,
    InvalidValue,
    SubmitRejected,
    Throttled,
    TransportClosed,
    TransportError,
    TransportTimeout,
)
from isobil.phone import mask
from isobil.transport._base import InboundEvent, OutboundSms, SubmitResult, Transport
from isobil.transport._http_adapters import HttpAdapter, HttpRequest, HttpResponse, batch_key

__all__ = ["HttpTransport"]

_log = logging.getLogger("isobil.transport.http")

#: Query parameters whose values never reach a log (some APIs take credentials in
#: the URL, and httpx logs every request's URL at INFO).
_SECRET_PARAMS = ("pass", "pwd", "secret", "token", "key", "hash", "sifre", "auth")
#: A phone number in a path or a query (Verimor's blacklist takes numbers there),
#: read unquoted: ``+`` and 10 to 15 digits, or 10 to 13 digits without it
#: (``5321234567`` to ``905321234567``). Longer bare runs (Netgsm's 14-digit
#: ``ddMMyyyyHHmmss`` times) are left as they are.
_NUMBER_IN_URL = re.compile(r"(?<!\d)(?:\+\d{10,15}|\d{10,13})(?!\d)")


def _redacted_url(url: httpx.URL) -> httpx.URL | str:
    """``url`` without user info, with secret-looking query values replaced and phone
    numbers masked (``**********67``)."""
    if url.userinfo:
        url = url.copy_with(username=None, password=None)
    params = url.params
    if any(word in name.lower() for name in params for word in _SECRET_PARAMS):
        url = url.copy_with(
            params=[
                (name, "***" if any(w in name.lower() for w in _SECRET_PARAMS) else value)
                for name, value in params.multi_items()
            ]
        )
    text = unquote(str(url))  # "%20" + a number would read as one longer run
    masked = _NUMBER_IN_URL.sub(lambda found: mask(found.group()), text)
    return url if masked == text else masked


class _RedactUrls(logging.Filter):
    """Keeps credentials and phone numbers in request URLs out of httpx's own log lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, httpx.URL) for a in record.args):
            record.args = tuple(
                _redacted_url(a) if isinstance(a, httpx.URL) else a for a in record.args
            )
        return True


logging.getLogger("httpx").addFilter(_RedactUrls())

T = TypeVar("T")
#: What the HTTP work asks of its driver: a request to send (answered with the
#: ``httpx.Response``, or the exception thrown in) or seconds to sleep. One body of
#: retry logic runs on the blocking client and on the asyncio one.
_Steps = Generator[HttpRequest | float, Any, T]

#: Answers retried by every adapter: the request was not processed.
_RETRY_ALWAYS = frozenset({503})
#: Answers retried only when the provider honours idempotency keys: a proxy gave
#: up waiting (504) or lost the upstream (502), which may have acted already.
_RETRY_IF_IDEMPOTENT = frozenset({502, 504})


class HttpTransport(Transport):
    """Submits through a provider's HTTP API; reports and MOs come back by callback.

    ``adapter`` speaks the provider's dialect (:class:`GenericJsonAdapter`,
    :class:`JasminAdapter` or your own :class:`HttpAdapter`). A batch goes out in
    requests of at most ``adapter.max_batch`` messages (those the adapter's
    ``group_key`` keeps apart go in requests of their own), each carrying an
    idempotency key (our message id, or a hash of the batch's ids).

    Retries, with exponential backoff and jitter slept through ``sleep``, up to
    ``max_retries`` times:

    * HTTP 429, waiting out ``Retry-After`` (up to ``max_retry_after`` s);
    * HTTP 503, and connection errors where the request never reached the server;
    * HTTP 502/504, read timeouts and connections dropped mid-answer — only when
      the adapter is ``idempotent``, since the provider may have acted already.
      Otherwise those messages get a :class:`TransportTimeout` (outcome unknown)
      and are never sent twice.

    Exhausted retries give each message of the request a :class:`Throttled`
    (429) or :class:`ConnectionFailed`; if the very first request cannot connect
    at all (and the adapter refused none of the batch), :meth:`submit` raises
    :class:`ConnectionFailed`. Delivery reports and
    inbound messages arrive through a :class:`CallbackApp` mounted in your web
    app, which hands them to this transport's inbound handler.

    ``http`` lets you bring your own ``httpx.Client`` (proxies, certificates); the
    transport closes only a client it created.

    :meth:`asubmit` and :meth:`acall` do the same on an ``httpx.AsyncClient``
    (``async_http=`` to bring your own), sleeping through ``async_sleep``, without
    blocking the event loop; :class:`isobil.AsyncClient` uses them.
    """

    #: Backoff before retry n (0-based) is between half and all of
    #: min(cap, base * 2**n) seconds.
    backoff_base: float = 0.5
    backoff_cap: float = 30.0

    def __init__(
        self,
        base_url: str,
        adapter: HttpAdapter,
        *,
        http: httpx.Client | None = None,
        timeout: float = 10.0,
        connect_timeout: float = 5.0,
        max_retries: int = 3,
        max_retry_after: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        async_http: httpx.AsyncClient | None = None,
        async_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__()
        base_url = http_base_url(base_url, example="https://api.netgsm.com.tr")
        if not isinstance(adapter, HttpAdapter):
            raise InvalidValue(f"adapter must be an HttpAdapter, got {type(adapter).__name__}")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise InvalidValue(f"max_retries must be a non-negative integer, got {max_retries!r}")
        if not timeout > 0 or not connect_timeout > 0:
            raise InvalidValue("timeouts must be positive")
        self.base_url = base_url
        self.adapter = adapter
        self.max_retries = max_retries
        self.max_retry_after = max_retry_after
        self._timeout = httpx.Timeout(timeout, connect=connect_timeout)
        self._sleep = sleep
        self._own_http = http is None
        self._http = httpx.Client(timeout=self._timeout) if http is None else http
        self._own_async_http = async_http is None
        self._async_http = async_http  # made on first use, on the loop that uses it
        self._async_sleep = async_sleep
        self._closed = False
        # Jitter spreads retries of many workers apart; it protects nothing secret.
        self._random = random.Random()  # noqa: S311

    def __repr__(self) -> str:
        state = " closed" if self._closed else ""
        return f"<HttpTransport {self._redact(self.base_url)} {self.adapter!r}{state}>"

    def close(self) -> None:
        """Close the httpx client if this transport created it; later submits raise.

        An ``httpx.AsyncClient`` it made is closed by :meth:`aclose`.
        """
        self._closed = True
        if self._own_http:
            self._http.close()

    async def aclose(self) -> None:
        """Close the transport and the ``httpx.AsyncClient`` it made (see :meth:`close`)."""
        self.close()
        if self._own_async_http and self._async_http is not None:
            await self._async_http.aclose()

    # -- the contract -------------------------------------------------------------------

    def submit(self, batch: Sequence[OutboundSms]) -> list[SubmitResult]:
        """Submit ``batch`` in requests of ``adapter.max_batch``; one result per message."""
        return self._run(self._submit(batch))

    async def asubmit(self, batch: Sequence[OutboundSms]) -> list[SubmitResult]:
        """:meth:`submit` on the asyncio loop: the same requests, retries and results."""
        return await self._arun(self._submit(batch))

    def _submit(self, batch: Sequence[OutboundSms]) -> _Steps[list[SubmitResult]]:
        if self._closed:
            raise TransportClosed("HttpTransport is closed")
        size = max(1, self.adapter.max_batch)
        results: list[SubmitResult | None] = []
        for sms in batch:  # what the provider would not carry whole is not sent at all
            error = self.adapter.refuse(sms)
            results.append(None if error is None else SubmitResult(sms.id, error=error))
        groups: dict[Hashable, list[int]] = {}
        for i, result in enumerate(results):
            if result is None:
                groups.setdefault(self.adapter.group_key(batch[i]), []).append(i)
        chunks = [g[s : s + size] for g in groups.values() for s in range(0, len(g), size)]
        none_refused = sum(map(len, chunks)) == len(batch)
        for n, places in enumerate(chunks):
            # The last look before the request is built (the request itself is not
            # held back: an opt-out recorded while it is on its way finds it gone).
            with self.last_look:
                for i in places:
                    results[i] = _refused(batch[i], self.last_look.refusal(batch[i]))
            places = [i for i in places if results[i] is None]
            chunk = [batch[i] for i in places]
            if not chunk:
                continue
            try:
                answers = yield from self._submit_chunk(chunk)
            except TransportError as exc:
                # Nothing sent yet: the transport itself failed. Otherwise what the
                # earlier requests got stands, and this request's messages carry the error.
                if n == 0 and none_refused and isinstance(exc, ConnectionFailed | TransportClosed):
                    raise
                answers = [SubmitResult(sms.id, error=exc) for sms in chunk]
            for i, answer in zip(places, answers, strict=True):
                results[i] = answer
        return [r for r in results if r is not None]

    @property
    def national_shift(self) -> bool:  # type: ignore[override]
        """Whether the provider sends the Turkish shift tables (the adapter's say)."""
        return self.adapter.national_shift

    @property
    def fixed_split(self) -> bool:  # type: ignore[override]
        """Whether the provider cuts long texts at fixed lengths (the adapter's say)."""
        return self.adapter.fixed_split

    @property
    def operator_suffix(self) -> int:  # type: ignore[override]
        """Units kept free for the operator code in the provider's table (the adapter's say)."""
        return self.adapter.operator_suffix

    @property
    def locking_shift(self) -> bool:  # type: ignore[override]
        """Whether the provider sends the Turkish locking shift table (the adapter's say)."""
        return self.adapter.locking_shift

    @property
    def polls(self) -> bool:  # type: ignore[override]
        """Whether reports and inbound texts are pulled (the adapter's say)."""
        return self.adapter.polls

    def dispatch(self, event: InboundEvent) -> None:
        """Hand a delivery report or inbound message to the inbound handler.

        Events that arrive before a handler is set are kept until one is.
        """
        self._emit(event)

    def dispatch_many(self, events: Sequence[InboundEvent]) -> None:
        """Hand the events of one callback over together (reports in one transaction).

        The :class:`CallbackApp` calls this with the events of each push it reads.
        """
        self._emit_many(events)

    # -- HTTP -------------------------------------------------------------------------------

    def _submit_chunk(self, chunk: Sequence[OutboundSms]) -> _Steps[list[SubmitResult]]:
        try:
            request = self.adapter.build_request(chunk, batch_key(chunk))
        except TransportError:
            raise
        except Exception as exc:  # an adapter's failure: nothing was sent
            raise _unbuildable(self.adapter, exc) from exc
        answer = yield from self._exchange(request, idempotent=self.adapter.idempotent)
        if isinstance(answer, TransportError):
            return [SubmitResult(sms.id, error=answer) for sms in chunk]
        results = self.adapter.parse_response(chunk, answer)
        if [r.id for r in results] != [sms.id for sms in chunk]:
            raise TransportError(
                f"{type(self.adapter).__name__}.parse_response broke the contract: "
                "one result per message, in order"
            )
        for result in results:
            if result.error is not None:
                _log.info("message %s not accepted: %s", result.id, result.error)
        return results

    def poll(self, pending: Sequence[str], since: datetime) -> int:
        """Pull reports and inbound texts with the adapter's poll requests (see
        :meth:`HttpAdapter.poll_requests`); hand them to the inbound handler.

        Poll requests only read, so they are retried like idempotent ones. A
        request that fails after its retries raises its :class:`TransportError`
        (events of the requests before it have been handed over already).
        """
        if self._closed:
            raise TransportClosed("HttpTransport is closed")
        handed = 0
        for request in self.adapter.poll_requests(pending, since):
            events = self.adapter.parse_poll(request, self.call(request))
            if events:
                self._emit_many(events)
                handed += len(events)
        return handed

    def call(self, request: HttpRequest, *, idempotent: bool = True) -> HttpResponse:
        """Send one request an adapter built — a balance or blacklist query, say —
        with this transport's retries; return the answer, whatever its status.

        ``idempotent=False`` for a request that changes something and must not be
        repeated after a lost answer. Raises the :class:`TransportError` of a
        request that failed (unreachable, throttled or unanswered after retries).

        >>> from isobil.transport import HttpRequest, JasminAdapter
        >>> transport = HttpTransport("http://127.0.0.1:9", JasminAdapter(username="a",
        ...     password="b"), max_retries=0)
        >>> transport.call(HttpRequest("GET", "/balance"))
        Traceback (most recent call last):
        ...
        isobil.errors.ConnectionFailed: cannot reach http://127.0.0.1:9 after 1 attempts ...
        """
        return self._run(self._call(request, idempotent=idempotent))

    async def acall(self, request: HttpRequest, *, idempotent: bool = True) -> HttpResponse:
        """:meth:`call` on the asyncio loop."""
        return await self._arun(self._call(request, idempotent=idempotent))

    def _call(self, request: HttpRequest, *, idempotent: bool) -> _Steps[HttpResponse]:
        if self._closed:
            raise TransportClosed("HttpTransport is closed")
        answer = yield from self._exchange(request, idempotent=idempotent)
        if isinstance(answer, TransportError):
            raise answer
        return answer

    # -- driving the steps -------------------------------------------------------------

    def _run(self, steps: _Steps[T]) -> T:
        """Do what ``steps`` ask on the blocking client; return their result."""
        answer: httpx.Response | None = None
        failure: Exception | None = None
        while True:
            try:
                step = steps.send(answer) if failure is None else steps.throw(failure)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            answer, failure = None, None
            if isinstance(step, HttpRequest):
                try:
                    answer = self._http.request(**self._arguments(step))
                except Exception as exc:  # the steps decide what each failure means
                    failure = exc
            else:
                self._sleep(step)

    async def _arun(self, steps: _Steps[T]) -> T:
        """Do what ``steps`` ask on the asyncio client; return their result."""
        if self._async_http is None:
            self._async_http = httpx.AsyncClient(timeout=self._timeout)
        answer: httpx.Response | None = None
        failure: Exception | None = None
        while True:
            try:
                step = steps.send(answer) if failure is None else steps.throw(failure)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            answer, failure = None, None
            if isinstance(step, HttpRequest):
                try:
                    answer = await self._async_http.request(**self._arguments(step))
                except Exception as exc:  # the steps decide what each failure means
                    failure = exc
            else:
                await self._async_sleep(step)

    def _arguments(self, request: HttpRequest) -> dict[str, Any]:
        return {
            "method": request.method,
            "url": self.base_url + request.url,
            "headers": dict(request.headers),
            "params": request.params,
            "json": request.json,
            "data": request.data,
            "content": request.content,
            "timeout": self._timeout,
        }

    def _exchange(
        self, request: HttpRequest, *, idempotent: bool
    ) -> _Steps[HttpResponse | TransportError]:
        """Send ``request`` with the retries above; the answer to read, or the error
        every message it carried gets. Raises :class:`ConnectionFailed` when the
        server could not be reached at all."""
        attempt = 0
        while True:
            if self._closed:
                raise TransportClosed("HttpTransport is closed")
            why: str
            try:
                response: httpx.Response = yield request
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # The request never reached the server: always safe to send again.
                why = type(exc).__name__
                if attempt < self.max_retries:
                    yield from self._wait(self._backoff(attempt), attempt, why)
                    attempt += 1
                    continue
                raise ConnectionFailed(
                    f"cannot reach {self._redact(self.base_url)} after {attempt + 1} attempts"
                    f" ({why})"
                ) from exc
            except httpx.TransportError as exc:
                # Read/write timeouts, a connection dropped mid-answer: the provider
                # may have accepted the request.
                why = type(exc).__name__
                if idempotent and attempt < self.max_retries:
                    yield from self._wait(self._backoff(attempt), attempt, why)
                    attempt += 1
                    continue
                error = TransportTimeout(
                    f"no answer from {self._redact(self.base_url)} ({why}); outcome unknown"
                )
                error.__cause__ = exc
                return error
            except (httpx.DecodingError, httpx.TooManyRedirects) as exc:
                # The provider answered: it may have acted on the request.
                error = TransportTimeout(
                    f"the answer of {self._redact(self.base_url)} cannot be read "
                    f"({type(exc).__name__}); outcome unknown"
                )
                error.__cause__ = exc
                return error
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                raise TransportError(f"HTTP request failed: {type(exc).__name__}") from exc
            except (UnicodeError, ValueError, TypeError) as exc:
                # httpx could not encode the request (a header, the URL): nothing was sent.
                raise _unbuildable(self.adapter, exc) from exc
            except RuntimeError as exc:
                # httpx's answer to a request on a client closed by its owner.
                raise TransportClosed("the httpx client is closed") from exc

            status = response.status_code
            if status == 429:
                wait = retry_after_seconds(response.headers.get("Retry-After"))
                if attempt < self.max_retries and (wait is None or wait <= self.max_retry_after):
                    yield from self._wait(
                        self._backoff(attempt) if wait is None else wait, attempt, "HTTP 429"
                    )
                    attempt += 1
                    continue
                return Throttled(f"HTTP 429 after {attempt + 1} attempts", code="429")
            retryable = status in _RETRY_ALWAYS or (idempotent and status in _RETRY_IF_IDEMPOTENT)
            if retryable:
                if attempt < self.max_retries:
                    yield from self._wait(self._backoff(attempt), attempt, f"HTTP {status}")
                    attempt += 1
                    continue
                return ConnectionFailed(f"HTTP {status} after {attempt + 1} attempts")
            if status in _RETRY_IF_IDEMPOTENT:
                return TransportTimeout(f"HTTP {status} from a proxy; outcome unknown")
            return HttpResponse(status, dict(response.headers), response.content)

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.backoff_cap, self.backoff_base * 2.0**attempt)
        return ceiling / 2 + self._random.uniform(0, ceiling / 2)

    def _wait(self, seconds: float, attempt: int, why: str) -> _Steps[None]:
        _log.warning(
            "HTTP submit: %s, retry %d of %d in %.2f s", why, attempt + 1, self.max_retries, seconds
        )
        yield float(seconds)

    def _redact(self, text: str) -> str:
        # Credentials in the base URL (https://user:pass@host) never leave.
        return self.adapter.redact(without_userinfo(text))


def _refused(sms: OutboundSms, refusal: TransportError | None) -> SubmitResult | None:
    return None if refusal is None else SubmitResult(sms.id, error=refusal)


def _unbuildable(adapter: HttpAdapter, exc: Exception) -> SubmitRejected:
    """The error of messages whose request could not be built: refused, never sent."""
    return SubmitRejected(
        f"the request could not be built ({type(exc).__name__}): check the settings of "
        f"{type(adapter).__name__}",
        code="request",
    )
