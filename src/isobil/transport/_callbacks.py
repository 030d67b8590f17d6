"""The callback receiver: a WSGI (and ASGI) app that takes a provider's pushes.

Mount :class:`CallbackApp` in any web framework; it authenticates each push,
reads it with the provider's adapter and hands the events to the transport's
inbound handler — the same path SMPP receipts take to the Client.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import parse_qs

from isobil._net import SeenKeys
from isobil.errors import InvalidValue
from isobil.transport._base import InboundEvent, InboundHandler
from isobil.transport._http import HttpTransport
from isobil.transport._http_adapters import CallbackAuth, CallbackError, HttpAdapter

__all__ = ["CallbackApp", "ReplayStore", "sign", "signed_headers"]

_log = logging.getLogger("isobil.transport.callbacks")

TIMESTAMP_HEADER = "X-Isobil-Timestamp"
SIGNATURE_HEADER = "X-Isobil-Signature"

_STATUS_TEXT = {
    200: "200 OK",
    204: "204 No Content",
    400: "400 Bad Request",
    401: "401 Unauthorized",
    404: "404 Not Found",
    405: "405 Method Not Allowed",
    411: "411 Length Required",
    413: "413 Content Too Large",
    503: "503 Service Unavailable",
}

StartResponse = Callable[..., Any]
_Answer = tuple[int, str, bytes]


def signed_headers(secret: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """The headers of a JSON push of ``body`` signed with ``secret`` (now, or at
    ``timestamp``): what a provider — or a test playing one — sends.

    >>> sorted(signed_headers("s3cret", b"{}", timestamp=1700000000).items())[1:]
    [('X-Isobil-Signature', '97926816e98fbb41...'), ('X-Isobil-Timestamp', '1700000000')]
    """
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: sign(secret, stamp, body),
    }


class ReplayStore(Protocol):
    """Where the receiver remembers the pushes it handled; every
    :class:`isobil.storage.Storage` is one, shared by all processes on its database."""

    def mark_seen(self, key: str, expires_at: datetime) -> bool:
        """Remember ``key`` until ``expires_at``; ``True`` only the first time."""
        ...

    def unmark_seen(self, key: str) -> None:
        """Forget ``key``."""
        ...


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Isobil-Signature`` of ``body`` sent at ``timestamp``: hex HMAC-SHA256.

    The MAC covers ``timestamp + "." + body`` — the raw bytes, not the URL or the
    host — so proxies that rewrite those do not break it.

    >>> sign("s3cret", "1700000000", b"{}")[:16]
    '97926816e98fbb41'
    """
    message = timestamp.encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


class CallbackApp:
    """A WSGI app receiving delivery reports and inbound messages by HTTP.

    ``target`` is the :class:`HttpTransport` whose inbound handler gets the
    events, or an adapter together with ``on_event``. Authentication follows
    ``auth`` (by default the adapter's ``callback_auth``):

    * ``"hmac"``: headers ``X-Isobil-Timestamp`` (Unix seconds) and
      ``X-Isobil-Signature`` (:func:`sign`), compared in constant time; a
      timestamp more than ``replay_window`` seconds from ``clock()`` is refused, and
      a push already handled in the window is answered but not handled twice.
    * ``"token"``: for providers that cannot sign (Jasmin). ``secret`` must be the
      first segment of the path below the mount point (``…/<secret>/dlr``). Weaker:
      the secret travels in the URL and may be logged by proxies; use HTTPS and
      rotate it.
    * ``"basic"``: HTTP Basic authentication with ``username`` and ``secret`` as
      the password, for providers that can send only that (use HTTPS).

    The path is read below the mount point: ``PATH_INFO`` under WSGI, the ASGI
    ``path`` less its ``root_path``, so the receiver works under any prefix.
    Handled signed pushes are remembered in ``replay_store`` — give it the
    client's storage (:meth:`isobil.Client.callbacks` does) and a replay is
    refused by every process serving callbacks on that database; without one,
    each process remembers its own. A push is remembered before it is handled
    and forgotten again if handling fails, so concurrent copies are handled once
    and the provider's retry after a failure is handled.

    Answers: 401 unauthenticated, 413 body over ``max_body`` bytes, 400/405
    unreadable push, 503 when the handler failed (the provider retries); never
    500. Nothing is handed over unless the whole push is authentic and readable.
    The handler runs in the request's thread, before the answer is sent.

    >>> from isobil.transport import GenericJsonAdapter
    >>> CallbackApp(GenericJsonAdapter(), secret="a-long-shared-secret", on_event=print)
    <CallbackApp GenericJsonAdapter auth=hmac>
    """

    def __init__(
        self,
        target: HttpTransport | HttpAdapter,
        *,
        secret: str,
        on_event: InboundHandler | None = None,
        auth: CallbackAuth | None = None,
        username: str = "isobil",
        replay_store: ReplayStore | None = None,
        max_body: int = 64 * 1024,
        replay_window: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._hand_over: Callable[[Sequence[InboundEvent]], None]
        if isinstance(target, HttpTransport):
            self.adapter = target.adapter
            self._hand_over = target.dispatch_many if on_event is None else _each(on_event)
        elif isinstance(target, HttpAdapter):
            if on_event is None:
                raise InvalidValue("an adapter needs on_event= to hand the events to")
            self.adapter = target
            self._hand_over = _each(on_event)
        else:
            raise InvalidValue("target must be an HttpTransport or an HttpAdapter")
        if not isinstance(secret, str) or len(secret) < 16:
            raise InvalidValue("secret must be a string of at least 16 characters")
        self.auth: CallbackAuth = auth or self.adapter.callback_auth
        if self.auth not in ("hmac", "token", "basic"):
            raise InvalidValue(f"auth must be 'hmac', 'token' or 'basic', got {self.auth!r}")
        self._secret = secret.encode("utf-8")
        self._basic = base64.b64encode(f"{username}:{secret}".encode()).decode("ascii")
        self.max_body = max_body
        self.replay_window = replay_window
        self._clock = clock
        self._seen: ReplayStore = replay_store if replay_store is not None else SeenKeys()

    def __repr__(self) -> str:
        return f"<CallbackApp {type(self.adapter).__name__} auth={self.auth}>"

    # -- WSGI ----------------------------------------------------------------------------

    def __call__(
        self, environ: Mapping[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        try:
            status, content_type, body = self._wsgi(environ)
        except Exception:  # the receiver never answers 500
            _log.exception("callback receiver failed")
            status, content_type, body = 400, "text/plain", b"bad request"
        start_response(
            _STATUS_TEXT.get(status, f"{status} Error"),
            [("Content-Type", content_type), ("Content-Length", str(len(body)))],
        )
        return [body]

    def _wsgi(self, environ: Mapping[str, Any]) -> _Answer:
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        raw_length = str(environ.get("CONTENT_LENGTH") or "").strip()
        if raw_length:
            if not raw_length.isdigit():
                return _plain(400, "bad Content-Length")
            length = int(raw_length)
        elif method == "POST":
            return _plain(411, "Content-Length required")
        else:
            length = 0
        if length > self.max_body:
            return _plain(413, "body too large")
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {
            key[5:].replace("_", "-").lower(): str(value)
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        path = str(environ.get("PATH_INFO", ""))
        # PATH_INFO is below the mount point; a server that fills it with the whole
        # path (some ASGI-to-WSGI bridges) still names the mount in SCRIPT_NAME.
        mount = str(environ.get("SCRIPT_NAME", "")).rstrip("/")
        if mount and path.startswith(mount + "/"):
            path = path[len(mount) :]
        return self.handle(method, path, str(environ.get("QUERY_STRING", "")), headers, body)

    # -- ASGI ----------------------------------------------------------------------------

    async def asgi(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
        send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
    ) -> None:
        """The same receiver as an ASGI app (HTTP only); the handler runs in a thread."""
        if scope.get("type") != "http":
            return
        try:
            answer = await self._asgi(scope, receive)
        except Exception:  # the receiver never answers 500
            _log.exception("callback receiver failed")
            answer = _plain(400, "bad request")
        status, content_type, body = answer
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", content_type.encode("latin-1")),
                    (b"content-length", str(len(body)).encode("ascii")),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _asgi(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
    ) -> _Answer:
        headers = {
            bytes(k).decode("latin-1").lower(): bytes(v).decode("latin-1")
            for k, v in scope.get("headers", [])
        }
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return _plain(413, "body too large")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        query = bytes(scope.get("query_string", b"")).decode("latin-1")
        # The ASGI path includes the mount point (root_path): the receiver reads below it.
        path, mount = str(scope.get("path", "")), str(scope.get("root_path", "")).rstrip("/")
        if mount and path.startswith(mount + "/"):
            path = path[len(mount) :]
        return await asyncio.to_thread(
            self.handle,
            str(scope.get("method", "GET")).upper(),
            path,
            query,
            headers,
            b"".join(chunks),
        )

    # -- the work ------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes
    ) -> _Answer:
        """Authenticate, read and hand over one push; returns (status, type, body).

        ``path`` is the path below the mount point (``/<token>/dlr``) and
        ``headers`` are keyed in lower case. Framework integrations that are neither
        WSGI nor ASGI call this directly (it blocks: storage is written).
        """
        if len(body) > self.max_body:
            return _plain(413, "body too large")
        replay_key: str | None = None
        if self.auth == "hmac":
            refusal, replay_key = self._check_hmac(headers, body)
        elif self.auth == "basic":
            refusal = self._check_basic(headers)
        else:
            refusal = self._check_token(path)
        if refusal is not None:
            _log.warning("callback refused: %s", refusal)
            return _plain(401, "unauthorized")
        try:
            parsed_query = parse_qs(query, keep_blank_values=True, max_num_fields=100)
            events = self.adapter.parse_callback(method, parsed_query, headers, body)
        except CallbackError as exc:
            _log.warning("callback refused: %s", exc)
            return _plain(exc.status, str(exc))
        except (ValueError, TypeError, KeyError) as exc:
            _log.warning("callback refused: unreadable (%s)", type(exc).__name__)
            return _plain(400, "unreadable callback")
        if replay_key is not None:
            # Kept while the timestamp can pass the window (on the receiver's clock).
            left = int(headers[TIMESTAMP_HEADER.lower()].strip()) + self.replay_window
            expires = datetime.now(UTC) + timedelta(seconds=left - self._clock())
            if not self._seen.mark_seen(replay_key, expires):
                _log.info("callback replayed within the window; answered, not handled again")
                return self._reply([])
        try:
            self._hand_over(events)
        except Exception:
            _log.exception("the inbound handler failed; the provider will retry")
            if replay_key is not None:
                self._seen.unmark_seen(replay_key)
            return _plain(503, "try again later")
        return self._reply(events)

    def _reply(self, events: list[InboundEvent]) -> _Answer:
        reply = self.adapter.callback_reply(events)
        return reply.status, reply.content_type, reply.body

    def _check_hmac(self, headers: Mapping[str, str], body: bytes) -> tuple[str | None, str | None]:
        """(why the push is refused, or None; the key it is remembered by)."""
        timestamp = headers.get(TIMESTAMP_HEADER.lower(), "").strip()
        signature = headers.get(SIGNATURE_HEADER.lower(), "").strip().lower()
        if not timestamp or not signature:
            return "unsigned", None
        if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
            return "bad timestamp", None
        if abs(self._clock() - int(timestamp)) > self.replay_window:
            return "timestamp outside the replay window", None
        expected = sign(self._secret.decode("utf-8"), timestamp, body)
        if not hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8")):
            return "bad signature", None
        # Keyed on what was verified, not on the header as sent (case, padding).
        return None, f"callback:{expected}"

    def _check_basic(self, headers: Mapping[str, str]) -> str | None:
        scheme, _, credentials = headers.get("authorization", "").strip().partition(" ")
        if scheme.lower() != "basic":
            return "no basic credentials"
        try:
            given = base64.b64encode(base64.b64decode(credentials.strip(), validate=True))
        except (binascii.Error, ValueError):
            return "bad basic credentials"
        if not hmac.compare_digest(given, self._basic.encode("ascii")):
            return "bad basic credentials"
        return None

    def _check_token(self, path: str) -> str | None:
        segments = [s for s in path.split("/") if s]
        token = segments[0].encode("utf-8") if segments else b""
        if not hmac.compare_digest(token, self._secret):
            return "bad token"
        return None


def _plain(status: int, text: str) -> _Answer:
    return status, "text/plain; charset=utf-8", text.encode("utf-8")


def _each(handler: InboundHandler) -> Callable[[Sequence[InboundEvent]], None]:
    """Hand events to ``handler`` one at a time."""

    def hand_over(events: Sequence[InboundEvent]) -> None:
        for event in events:
            handler(event)

    return hand_over
