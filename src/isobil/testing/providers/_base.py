"""What every provider simulator shares: a loopback HTTP server, a record, faults.

A provider simulator is a real HTTP server on 127.0.0.1 (port 0) that speaks one
provider's documented API. Subclasses implement :meth:`ProviderSimulator.handle`
(the API itself), :meth:`~ProviderSimulator.is_send` (which requests submit
messages), :meth:`~ProviderSimulator.error_answer` (the provider's documented
answer for an error code), :meth:`~ProviderSimulator.deliver` and
:meth:`~ProviderSimulator.send_inbound`; this base serves the requests, keeps
what was sent (:attr:`~ProviderSimulator.received`) and injects faults before a
send reaches the subclass.

Nothing here sleeps: a withheld answer waits on an event that the test (or
:meth:`~ProviderSimulator.close`) sets.
"""

from __future__ import annotations

import abc
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from isobil.testing.http_gateway import _Serving, http_post
from isobil.transport import DeliveryStatus

__all__ = ["ProviderSimulator", "SimAnswer", "SimRequest", "SimulatedSms"]

SimFault = Literal["429", "timeout"]


@dataclass(frozen=True)
class SimulatedSms:
    """One message a simulated provider accepted, as the provider saw it.

    ``iys_flag`` is the provider's İYS field(s) as received, raw (Netgsm's
    ``iysfilter``, İleti Merkezi's ``iys``/``iysList``, Verimor's
    ``is_commercial``); ``commercial`` and ``recipient_type`` are what it means.
    ``parts`` is what the provider counts and bills, by its own table.
    """

    provider_id: str
    to: str
    text: str
    originator: str | None
    commercial: bool | None
    recipient_type: str | None
    iys_flag: str
    custom_id: str | None
    parts: int


@dataclass(frozen=True)
class SimRequest:
    """One HTTP request as the simulator received it; ``headers`` keyed in lower case."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class SimAnswer:
    """What the simulator answers."""

    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass
class _Fault:
    kind: SimFault
    accept: bool
    retry_after: str | None


class ProviderSimulator(_Serving, abc.ABC):
    """A provider's HTTP API on loopback; subclass it for each provider.

    ``callback_url`` is where a provider that pushes delivers its DLR and MO
    callbacks (set it once the receiver is up). Faults apply to send requests
    only (:meth:`is_send`), in order:

    * :meth:`fail_next` — the next sends get the provider's documented answer for
      an error ``code`` (:meth:`error_answer`), and nothing is recorded;
    * :meth:`fault` ``"429"`` — HTTP 429 with ``Retry-After``; ``"timeout"`` —
      the send is handled (recorded) when ``accept`` is true, but the answer is
      withheld until :attr:`release` is set, then the connection is closed
      without one: the client times out not knowing what happened.
    """

    def __init__(self, *, callback_url: str | None = None) -> None:
        self.callback_url = callback_url
        self.lock = threading.RLock()
        self.release = threading.Event()
        self._received: list[SimulatedSms] = []
        self._requests: list[SimRequest] = []
        self._faults: list[_Fault] = []
        self._failures: list[str] = []
        server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        server.daemon_threads = True
        self._start(server)

    def close(self) -> None:
        """Stop serving and let any withheld answer go."""
        self.release.set()
        super().close()

    # -- for tests --------------------------------------------------------------------------

    @property
    def received(self) -> list[SimulatedSms]:
        """Every message accepted so far, in order, once each."""
        with self.lock:
            return list(self._received)

    @property
    def requests(self) -> list[SimRequest]:
        """Every request seen so far, in order."""
        with self.lock:
            return list(self._requests)

    def fault(self, kind: SimFault, count: int = 1, *, accept: bool = True) -> None:
        """Answer the next ``count`` sends with ``kind`` (see the class docstring)."""
        with self.lock:
            self._faults.extend(_Fault(kind, accept, "0") for _ in range(count))

    def fail_next(self, code: str, count: int = 1) -> None:
        """Answer the next ``count`` sends with the documented answer for ``code``."""
        self.error_answer(code)  # an unknown code fails here, in the test's thread
        with self.lock:
            self._failures.extend([code] * count)

    def push(self, body: bytes, content_type: str, *, path: str = "") -> tuple[int, bytes]:
        """POST ``body`` to :attr:`callback_url` (+ ``path``); raise unless answered 2xx."""
        if self.callback_url is None:
            raise ValueError("set callback_url before pushing callbacks")
        status, answer = http_post(self.callback_url + path, body, {"Content-Type": content_type})
        if not 200 <= status < 300:
            raise AssertionError(f"callback refused: HTTP {status} {answer!r}")
        return status, answer

    def record(self, sms: SimulatedSms) -> None:
        """Keep ``sms`` as accepted (subclasses call this from :meth:`handle`)."""
        with self.lock:
            self._received.append(sms)

    # -- what each provider implements --------------------------------------------------------

    @abc.abstractmethod
    def handle(self, request: SimRequest) -> SimAnswer:
        """Answer one request as the provider does."""

    @abc.abstractmethod
    def is_send(self, request: SimRequest) -> bool:
        """Whether ``request`` submits messages (faults apply to those only)."""

    @abc.abstractmethod
    def error_answer(self, code: str) -> SimAnswer:
        """The provider's documented answer to a send refused with ``code``.

        Raise ``ValueError`` for a code the provider does not document.
        """

    @abc.abstractmethod
    def deliver(self, provider_id: str, status: DeliveryStatus, reason: str | None = None) -> None:
        """Give the message ``provider_id`` its final state: push the DLR to
        :attr:`callback_url`, or make it visible to the report query."""

    @abc.abstractmethod
    def send_inbound(self, from_: str, to: str, text: str) -> None:
        """A text from ``from_`` (E.164) to ``to``: push it, or keep it for the inbox query."""

    # -- serving ------------------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        simulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                simulator._serve(self, self.rfile.read(length) if length else b"")

            do_GET = do_POST = do_PUT = do_DELETE = _any

        return Handler

    def _serve(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        url = urlsplit(handler.path)
        request = SimRequest(
            handler.command,
            url.path,
            parse_qs(url.query, keep_blank_values=True),
            {k.lower(): v for k, v in handler.headers.items()},
            body,
        )
        fault: _Fault | None = None
        failure: str | None = None
        with self.lock:
            self._requests.append(request)
            if self.is_send(request):
                if self._faults:
                    fault = self._faults.pop(0)
                elif self._failures:
                    failure = self._failures.pop(0)
        if fault is not None and fault.kind == "429":
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            _answer(handler, SimAnswer(429, b'{"error": "too many requests"}', headers=headers))
            return
        if failure is not None:
            _answer(handler, self.error_answer(failure))
            return
        if fault is not None and not fault.accept:
            self._withhold(handler)
            return
        try:
            answer = self.handle(request)
        except Exception as exc:  # a simulator bug shows as a 500 with its reason
            answer = SimAnswer(500, repr(exc).encode("utf-8"), "text/plain")
        if fault is not None:
            self._withhold(handler)
            return
        _answer(handler, answer)

    def _withhold(self, handler: BaseHTTPRequestHandler) -> None:
        self.release.wait(30)
        handler.close_connection = True
        handler.connection.close()


def _answer(handler: BaseHTTPRequestHandler, answer: SimAnswer) -> None:
    handler.send_response(answer.status)
    handler.send_header("Content-Type", answer.content_type)
    handler.send_header("Content-Length", str(len(answer.body)))
    for name, value in answer.headers.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(answer.body)
