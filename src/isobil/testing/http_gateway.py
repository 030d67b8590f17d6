"""A local HTTP SMS gateway for tests: the generic JSON API, with faults on demand.

:class:`HttpGateway` is a real HTTP server on loopback (port 0) speaking the
dialect of :class:`~isobil.transport.GenericJsonAdapter` with its default field
names. It records what arrived, honours ``Idempotency-Key`` (a repeated key gets
the first answer and sends nothing twice), and plays the :class:`Peer` of the
transport contract suite: :meth:`deliver` and :meth:`send_inbound` POST signed
callbacks to ``callback_url``. :meth:`fault` makes the next requests fail the
way real providers do (429, 5xx, a slow answer, a dropped connection).

:class:`WsgiServer` serves a WSGI app (a :class:`~isobil.transport.CallbackApp`)
on loopback in a thread, for the callbacks.

Nothing here sleeps: a slow answer waits on an event that the test (or
:meth:`HttpGateway.close`) sets.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, Self
from wsgiref.simple_server import WSGIRequestHandler, make_server

from isobil.transport import DeliveryStatus, sign

__all__ = ["Fault", "GatewayRequest", "HttpGateway", "WsgiServer"]

FaultKind = Literal["429", "500", "502", "503", "504", "slow", "drop"]


@dataclass
class Fault:
    """One injected failure: ``kind``, and for slow/drop whether the gateway first
    accepted the messages (``accept``); ``retry_after`` for 429."""

    kind: FaultKind
    accept: bool = True
    retry_after: str | None = None


@dataclass
class GatewayRequest:
    """One request the gateway saw."""

    path: str
    headers: dict[str, str]
    body: bytes
    client_port: int
    fault: Fault | None = None


@dataclass
class _State:
    received: list[tuple[str, str]] = field(default_factory=list)
    requests: list[GatewayRequest] = field(default_factory=list)
    answers: dict[str, bytes] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)
    provider_ids: set[str] = field(default_factory=set)


class _Serving:
    """A server on 127.0.0.1 (port 0) answering from a thread of its own."""

    def _start(self, server: HTTPServer) -> None:
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        """The base URL."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class HttpGateway(_Serving):
    """A loopback HTTP gateway implementing the contract suite's ``Peer``.

    >>> with HttpGateway() as gateway:
    ...     gateway.url.startswith("http://127.0.0.1:")
    True
    """

    def __init__(
        self,
        *,
        callback_url: str | None = None,
        secret: str | None = None,
        path: str = "/messages",
    ) -> None:
        self.callback_url = callback_url
        self.secret = secret
        self.path = path
        self._state = _State()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.release = threading.Event()
        server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        server.daemon_threads = True
        self._start(server)

    def close(self) -> None:
        """Stop serving and release any slow answer."""
        self.release.set()
        super().close()

    # -- faults and rejections --------------------------------------------------------------

    def fault(
        self,
        kind: FaultKind,
        count: int = 1,
        *,
        accept: bool = True,
        retry_after: str | None = None,
    ) -> None:
        """Answer the next ``count`` requests with ``kind`` instead of normally.

        ``"slow"`` holds the answer until :attr:`release` is set; ``"drop"`` closes
        the connection without an answer. With ``accept`` they first take the
        messages, as a provider that acted before the answer was lost.
        """
        with self._lock:
            self._state.faults.extend(Fault(kind, accept, retry_after) for _ in range(count))

    def reject(self, number: str, code: str = "E_NUMBER") -> None:
        """Refuse every message to ``number`` (E.164) with ``code``."""
        with self._lock:
            self._state.rejected[number] = code

    @property
    def requests(self) -> list[GatewayRequest]:
        """Every request seen so far, in order."""
        with self._lock:
            return list(self._state.requests)

    # -- the Peer protocol ------------------------------------------------------------------

    def received(self) -> list[tuple[str, str]]:
        """Every message accepted, as (E.164 destination, text), in order; once each."""
        with self._lock:
            return list(self._state.received)

    def deliver(
        self, provider_id: str, status: DeliveryStatus, error_code: str | None = None
    ) -> None:
        """POST a signed delivery report for ``provider_id`` to :attr:`callback_url`."""
        with self._lock:
            if provider_id not in self._state.provider_ids:
                raise ValueError(f"the gateway never gave out {provider_id!r}")
        self.push(
            {
                "type": "dlr",
                "provider_id": provider_id,
                "status": DeliveryStatus(status).value,
                "code": error_code,
            }
        )

    def send_inbound(self, from_: str, to: str, text: str) -> None:
        """POST a signed inbound message to :attr:`callback_url`."""
        self.push(
            {
                "type": "mo",
                "from": from_,
                "to": to,
                "text": text,
                "provider_id": self._next_id("mo"),
            }
        )

    def push(self, payload: object, *, timestamp: int | None = None) -> tuple[int, bytes]:
        """POST ``payload`` as signed JSON to :attr:`callback_url`; returns (status, body).

        Raises ``AssertionError`` unless the receiver answers 2xx.
        """
        status, body = self.post_callback(json.dumps(payload).encode("utf-8"), timestamp=timestamp)
        assert 200 <= status < 300, f"callback refused: HTTP {status} {body!r}"
        return status, body

    def post_callback(
        self,
        body: bytes,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """POST raw ``body`` to :attr:`callback_url`, signed unless ``signature`` is given."""
        if self.callback_url is None:
            raise ValueError("set callback_url before pushing callbacks")
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        sent = {"Content-Type": "application/json", "X-Isobil-Timestamp": stamp}
        if signature is not None:
            sent["X-Isobil-Signature"] = signature
        elif self.secret is not None:
            sent["X-Isobil-Signature"] = sign(self.secret, stamp, body)
        sent.update(headers or {})
        return http_post(self.callback_url, body, sent)

    # -- serving ----------------------------------------------------------------------------

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids)}"

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, so connection reuse shows

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                gateway._serve(self, body)

        return Handler

    def _serve(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        headers = {k.lower(): v for k, v in handler.headers.items()}
        with self._lock:
            fault = self._state.faults.pop(0) if self._state.faults else None
            self._state.requests.append(
                GatewayRequest(handler.path, headers, body, handler.client_address[1], fault)
            )
        if handler.path != self.path:
            self._answer(handler, 404, {"error": {"code": "NOT_FOUND"}})
            return
        if fault is not None and fault.kind not in ("slow", "drop"):
            extra = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            self._answer(handler, int(fault.kind), {"error": {"code": fault.kind}}, extra)
            return
        if fault is not None and not fault.accept:
            self._misbehave(handler, fault)
            return
        answer = self._accept(headers.get("idempotency-key"), body)
        if fault is not None:
            self._misbehave(handler, fault)
            return
        status, payload = answer
        self._answer_raw(handler, status, payload)

    def _accept(self, key: str | None, body: bytes) -> tuple[int, bytes]:
        with self._lock:
            if key is not None and key in self._state.answers:
                return 200, self._state.answers[key]
            try:
                messages = json.loads(body)["messages"]
                results = []
                for item in messages:
                    to, text = str(item["to"]), str(item["text"])
                    if to in self._state.rejected:
                        results.append(
                            {
                                "id": item["id"],
                                "error": {"code": self._state.rejected[to], "message": "refused"},
                            }
                        )
                        continue
                    provider_id = self._next_id("gw")
                    self._state.provider_ids.add(provider_id)
                    self._state.received.append((to, text))
                    results.append({"id": item["id"], "provider_id": provider_id})
            except (ValueError, KeyError, TypeError):
                return 400, json.dumps({"error": {"code": "BAD_REQUEST"}}).encode()
            payload = json.dumps({"results": results}).encode()
            if key is not None:
                self._state.answers[key] = payload
            return 200, payload

    def _misbehave(self, handler: BaseHTTPRequestHandler, fault: Fault) -> None:
        if fault.kind == "slow":
            self.release.wait(30)
        # Close without an answer (after a slow wait, the client has given up).
        handler.close_connection = True
        handler.connection.close()

    @staticmethod
    def _answer(
        handler: BaseHTTPRequestHandler,
        status: int,
        payload: object,
        headers: dict[str, str] | None = None,
    ) -> None:
        HttpGateway._answer_raw(handler, status, json.dumps(payload).encode(), headers)

    @staticmethod
    def _answer_raw(
        handler: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        headers: dict[str, str] | None = None,
    ) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)


def http_post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """POST ``body`` to ``url`` (loopback) and return (status, body), 4xx/5xx included."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return int(exc.code), bytes(exc.read())


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class WsgiServer(_Serving):
    """Serve a WSGI app on 127.0.0.1 (port 0) in a thread; ``url`` is its base.

    >>> def app(environ, start_response):
    ...     start_response("200 OK", [("Content-Type", "text/plain")])
    ...     return [b"ok"]
    >>> with WsgiServer(app) as server:
    ...     http_post(server.url + "/x", b"", {})
    (200, b'ok')
    """

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._start(make_server("127.0.0.1", 0, app, handler_class=_QuietHandler))
