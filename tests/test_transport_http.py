"""HttpTransport with the generic JSON adapter against a real local HTTP gateway.

The shared transport contract (callbacks through a real CallbackApp served by
wsgiref), then the faults: 429, 5xx, slow answers and dropped connections, with
and without idempotency; then the callback receiver's refusals.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import socket
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import httpx
import pytest

from isobil.errors import (
    ConnectionFailed,
    InvalidValue,
    SubmitRejected,
    Throttled,
    TransportError,
    TransportTimeout,
)
from isobil.testing.http_gateway import HttpGateway, WsgiServer
from isobil.testing.transport import TransportContract, outbound
from isobil.transport import (
    CallbackApp,
    DeliveryReport,
    DeliveryStatus,
    GenericJsonAdapter,
    HttpRequest,
    HttpResponse,
    HttpTransport,
    InboundEvent,
    InboundSms,
    OutboundSms,
    SubmitResult,
    sign,
)
from isobil.transport._http_adapters import _phone

SECRET = "callback-secret-0123456789"  # noqa: S105 - a test secret
API_KEY = "api-key-abcdef-987654"


class Sleeps:
    """An injectable ``sleep`` that records and never sleeps."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def gateway() -> Iterator[HttpGateway]:
    with HttpGateway(secret=SECRET) as gw:
        yield gw


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def make_transport(gateway: HttpGateway, sleeps: Sleeps, **options: object) -> HttpTransport:
    """A transport on the gateway with test-sized timeouts and a recording sleep."""
    adapter_options = {"api_key": API_KEY}
    if "idempotency_header" in options:
        adapter_options["idempotency_header"] = options.pop("idempotency_header")  # type: ignore[assignment]
    settings: dict[str, object] = {"timeout": 2.0, "sleep": sleeps}
    settings.update(options)
    return HttpTransport(
        gateway.url,
        GenericJsonAdapter(**adapter_options),  # type: ignore[arg-type]
        **settings,  # type: ignore[arg-type]
    )


@pytest.fixture
def transport(gateway: HttpGateway, sleeps: Sleeps) -> Iterator[HttpTransport]:
    with make_transport(gateway, sleeps) as t:
        app = CallbackApp(t, secret=SECRET)
        with WsgiServer(app) as server:
            gateway.callback_url = server.url + "/callbacks"
            yield t


class TestHttpTransportContract(TransportContract):
    """HttpTransport keeps the transport contract against a real HTTP gateway."""

    @pytest.fixture
    def peer(self, gateway: HttpGateway) -> HttpGateway:
        return gateway


# -- submitting -------------------------------------------------------------------------


def test_one_connection_is_reused_and_requests_carry_key_and_auth(
    gateway: HttpGateway, sleeps: Sleeps
) -> None:
    """Three submits share one keep-alive connection; each carries its key and API key."""
    # No idle expiry, so even a stalled CI machine keeps the connection.
    client = httpx.Client(limits=httpx.Limits(keepalive_expiry=None))
    with client, make_transport(gateway, sleeps, http=client) as transport:
        for i in range(3):
            transport.submit([outbound("+905321234567", f"m{i}", i)])
    requests = gateway.requests
    assert len({r.client_port for r in requests}) == 1
    assert [r.headers["idempotency-key"] for r in requests] == [
        "contract-0",
        "contract-1",
        "contract-2",
    ]
    assert all(r.headers["authorization"] == f"Bearer {API_KEY}" for r in requests)


def test_batches_split_by_max_batch(gateway: HttpGateway, sleeps: Sleeps) -> None:
    """A batch larger than max_batch goes out in several requests; results stay in order."""
    adapter = GenericJsonAdapter(max_batch=2)
    with HttpTransport(gateway.url, adapter, sleep=sleeps) as transport:
        batch = [outbound(f"+9053212345{i:02d}", f"m{i}", i) for i in range(5)]
        results = transport.submit(batch)
    assert [r.id for r in results] == [o.id for o in batch]
    assert all(r.ok for r in results)
    assert len(gateway.requests) == 3


def test_per_message_rejection_is_a_result_not_an_exception(
    transport: HttpTransport, gateway: HttpGateway
) -> None:
    """One refused number fails alone, with the provider's code; the others go out."""
    gateway.reject("+905321234501", "E_BLACKLIST")
    batch = [outbound(f"+9053212345{i:02d}", "x", i) for i in range(3)]
    ok0, bad, ok2 = transport.submit(batch)
    assert ok0.ok
    assert ok2.ok
    assert isinstance(bad.error, SubmitRejected)
    assert bad.error.code == "E_BLACKLIST"
    assert "+905321234501" not in str(bad.error)


def test_429_then_success_sends_once(
    transport: HttpTransport, gateway: HttpGateway, sleeps: Sleeps
) -> None:
    """A 429 with Retry-After is waited out and retried; the message arrives once."""
    gateway.fault("429", retry_after="2")
    [result] = transport.submit([outbound("+905321234567", "Merhaba")])
    assert result.ok
    assert sleeps.calls == [2.0]
    assert gateway.received() == [("+905321234567", "Merhaba")]
    assert len(gateway.requests) == 2


def test_429_without_retry_after_backs_off_with_jitter(
    gateway: HttpGateway, sleeps: Sleeps
) -> None:
    """Backoff doubles per retry, within [ceiling/2, ceiling]; exhausted retries throttle."""
    gateway.fault("429", 3)
    with make_transport(gateway, sleeps, max_retries=2) as transport:
        [result] = transport.submit([outbound("+905321234567", "x")])
    assert isinstance(result.error, Throttled)
    assert len(sleeps.calls) == 2
    assert 0.25 <= sleeps.calls[0] <= 0.5
    assert 0.5 <= sleeps.calls[1] <= 1.0
    assert gateway.received() == []


def test_retry_after_beyond_the_limit_is_not_waited(gateway: HttpGateway, sleeps: Sleeps) -> None:
    """A Retry-After longer than max_retry_after throttles at once, without sleeping."""
    gateway.fault("429", retry_after="3600")
    with make_transport(gateway, sleeps) as transport:
        [result] = transport.submit([outbound("+905321234567", "x")])
    assert isinstance(result.error, Throttled)
    assert sleeps.calls == []


@pytest.mark.parametrize("status", ["502", "503", "504"])
def test_gateway_errors_are_retried_with_idempotency(
    transport: HttpTransport, gateway: HttpGateway, sleeps: Sleeps, status: str
) -> None:
    """502/503/504 are retried when the provider honours keys; one send results."""
    gateway.fault(status)  # type: ignore[arg-type]
    [result] = transport.submit([outbound("+905321234567", "x")])
    assert result.ok
    assert len(sleeps.calls) == 1
    assert len(gateway.received()) == 1


@pytest.mark.parametrize("status", ["502", "504"])
def test_proxy_errors_without_idempotency_are_unknown(
    gateway: HttpGateway, sleeps: Sleeps, status: str
) -> None:
    """Without idempotency, a 502/504 may hide a send: unknown, not retried."""
    gateway.fault(status)  # type: ignore[arg-type]
    with make_transport(gateway, sleeps, idempotency_header=None) as transport:
        [result] = transport.submit([outbound("+905321234567", "x")])
    assert isinstance(result.error, TransportTimeout)
    assert len(gateway.requests) == 1


def test_500_is_a_rejection_not_retried(transport: HttpTransport, gateway: HttpGateway) -> None:
    """A 500 fails the batch's messages with the status as code and is not retried."""
    gateway.fault("500")
    results = transport.submit(
        [outbound("+905321234567", "x", 0), outbound("+905321234568", "y", 1)]
    )
    assert all(isinstance(r.error, SubmitRejected) and r.error.code == "500" for r in results)
    assert len(gateway.requests) == 1


def test_slow_answer_after_acceptance_is_retried_once_with_idempotency(
    gateway: HttpGateway, sleeps: Sleeps
) -> None:
    """The gateway took the message but answered too late: the retry gets the same ids."""
    gateway.fault("slow", accept=True)
    with make_transport(gateway, sleeps, timeout=1.0) as transport:
        [result] = transport.submit([outbound("+905321234567", "Merhaba")])
        gateway.release.set()
    assert result.ok
    assert gateway.received() == [("+905321234567", "Merhaba")]
    keys = [r.headers["idempotency-key"] for r in gateway.requests]
    assert keys == ["contract-0", "contract-0"]


def test_slow_answer_without_idempotency_is_unknown_and_not_resent(
    gateway: HttpGateway, sleeps: Sleeps
) -> None:
    """Without idempotency a read timeout is not retried: the outcome is unknown."""
    gateway.fault("slow", accept=True)
    with make_transport(gateway, sleeps, timeout=1.0, idempotency_header=None) as transport:
        [result] = transport.submit([outbound("+905321234567", "Merhaba")])
        gateway.release.set()
    assert isinstance(result.error, TransportTimeout)
    assert len(gateway.requests) == 1
    assert gateway.received() == [("+905321234567", "Merhaba")]
    assert sleeps.calls == []


@pytest.mark.parametrize("accept", [True, False])
def test_dropped_connection_with_idempotency_sends_once(
    gateway: HttpGateway, sleeps: Sleeps, accept: bool
) -> None:
    """A connection closed without an answer is retried under the same key: sent once."""
    gateway.fault("drop", accept=accept)
    with make_transport(gateway, sleeps) as transport:
        [result] = transport.submit([outbound("+905321234567", "x")])
    assert result.ok
    assert len(gateway.received()) == 1
    assert len(gateway.requests) == 2


def test_dropped_connection_without_idempotency_is_unknown(
    gateway: HttpGateway, sleeps: Sleeps
) -> None:
    """Without idempotency a dropped answer is reported unknown and never resent."""
    gateway.fault("drop", accept=True)
    with make_transport(gateway, sleeps, idempotency_header=None) as transport:
        [result] = transport.submit([outbound("+905321234567", "x")])
    assert isinstance(result.error, TransportTimeout)
    assert len(gateway.requests) == 1


def test_unreachable_server_raises_connection_failed(sleeps: Sleeps) -> None:
    """Nobody listening: retried with backoff, then ConnectionFailed is raised."""
    with socket.socket() as bound:  # bound, never listening: connections are refused
        bound.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{bound.getsockname()[1]}"
        transport = HttpTransport(url, GenericJsonAdapter(), sleep=sleeps, max_retries=2)
        with transport, pytest.raises(ConnectionFailed):
            transport.submit([outbound("+905321234567", "x")])
    assert len(sleeps.calls) == 2


def test_secrets_stay_out_of_reprs_errors_and_logs(
    gateway: HttpGateway, sleeps: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    """The API key never shows in a repr, an error or a log line; numbers are masked."""
    caplog.set_level(logging.DEBUG)
    gateway.fault("429")
    gateway.reject("+905321234567")
    with make_transport(gateway, sleeps) as transport:
        [result] = transport.submit([outbound("+905321234567", "x")])
        text = repr(transport) + str(result) + caplog.text
    assert API_KEY not in text
    assert "+905321234567" not in text
    assert "api_key=***" in repr(transport)


@pytest.mark.parametrize(
    ("base_url", "message"),
    [
        ("api.netgsm.com.tr", "http(s) URL with a host"),
        ("ftp://acme:url-s3cret@api.example", "http(s) URL with a host"),
        ("https://api.example/v1?key=url-s3cret", "query or a fragment"),
        ("https://acme:12#s3cret@api.example", "query or a fragment"),
        ("https://api.example/v1/?", "query or a fragment"),
    ],
)
def test_a_base_url_the_paths_cannot_follow_is_refused(base_url: str, message: str) -> None:
    """The adapter's paths are appended to base_url: a query or fragment (where a key
    would sit) is refused at construction, and the refusal repeats none of it."""
    with pytest.raises(InvalidValue, match=re.escape(message)) as refused:
        HttpTransport(base_url, GenericJsonAdapter(api_key=API_KEY))
    assert "s3cret" not in str(refused.value)


def test_own_http_client_is_left_open(gateway: HttpGateway) -> None:
    """A client passed in is not closed by the transport; one it created is."""
    with httpx.Client() as client:
        HttpTransport(gateway.url, GenericJsonAdapter(), http=client).close()
        assert not client.is_closed
    transport = HttpTransport(gateway.url, GenericJsonAdapter())
    transport.close()
    assert transport._http.is_closed


def test_unreadable_success_answer_is_unknown(sleeps: Sleeps) -> None:
    """A 200 whose body cannot be read leaves the outcome unknown, not failed."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>ok</html>")

    client = httpx.Client(transport=httpx.MockTransport(handler))
    with HttpTransport("http://gw.test", GenericJsonAdapter(), http=client, sleep=sleeps) as t:
        [result] = t.submit([outbound("+905321234567", "x")])
    client.close()
    assert isinstance(result.error, TransportTimeout)


def test_custom_field_names_are_used_both_ways(sleeps: Sleeps) -> None:
    """Configured field names shape the request and are read back from the answer."""
    seen: list[object] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(200, json={"data": [{"ref": "contract-0", "msgid": "X1"}]})

    fields = {"messages": "sms", "text": "body", "results": "data", "id": "ref"}
    fields |= {"provider_id": "msgid", "to": "msisdn"}
    client = httpx.Client(transport=httpx.MockTransport(handler))
    adapter = GenericJsonAdapter(fields=fields, path="/v2/send")
    with HttpTransport("http://gw.test", adapter, http=client, sleep=sleeps) as t:
        [result] = t.submit([outbound("+905321234567", "Merhaba")])
    client.close()
    assert result.provider_id == "X1"
    assert seen == [
        {
            "sms": [
                {
                    "ref": "contract-0",
                    "msisdn": "+905321234567",
                    "body": "Merhaba",
                    "from": "TEST",
                    "receipt": True,
                }
            ]
        }
    ]


# -- the callback receiver --------------------------------------------------------------


class Clock:
    """A settable Unix clock."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def received() -> list[InboundEvent]:
    return []


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def receiver(received: list[InboundEvent], clock: Clock) -> Iterator[HttpGateway]:
    """A gateway pushing to a CallbackApp (adapter + on_event) served by wsgiref."""
    app = CallbackApp(
        GenericJsonAdapter(), secret=SECRET, on_event=received.append, clock=clock, max_body=4096
    )
    with WsgiServer(app) as server, HttpGateway(secret=SECRET) as gw:
        gw.callback_url = server.url + "/cb"
        yield gw


def dlr_body(provider_id: str = "gw-1") -> bytes:
    """A generic delivery-report callback body."""
    return json.dumps({"type": "dlr", "provider_id": provider_id, "status": "delivered"}).encode()


def test_signed_callback_is_accepted(
    receiver: HttpGateway, received: list[InboundEvent], clock: Clock
) -> None:
    """A signed DLR and a signed MO are handed over, parsed."""
    stamp = int(clock.now)
    receiver.push({"type": "dlr", "provider_id": "gw-9", "status": "expired"}, timestamp=stamp)
    receiver.push(
        {"type": "mo", "from": "905321234567", "to": "4605", "text": "ACME RET"}, timestamp=stamp
    )
    dlr, mo = received
    assert isinstance(dlr, DeliveryReport)
    assert (dlr.provider_id, dlr.status) == ("gw-9", DeliveryStatus.EXPIRED)
    assert isinstance(mo, InboundSms)
    assert (mo.from_, mo.to, mo.text) == ("+905321234567", "4605", "ACME RET")


@pytest.mark.parametrize(
    ("signature", "offset"),
    [
        (None, 0),  # unsigned
        ("0" * 64, 0),  # wrong signature
        ("", 0),  # empty signature
        ("signed", 301),  # outside the replay window (too old)
        ("signed", -301),  # outside the replay window (from the future)
    ],
)
def test_unauthentic_callbacks_get_401_and_change_nothing(
    receiver: HttpGateway,
    received: list[InboundEvent],
    clock: Clock,
    signature: str | None,
    offset: int,
) -> None:
    """Unsigned, badly signed and stale callbacks are refused with 401."""
    stamp = int(clock.now) + offset
    body = dlr_body()
    if signature == "signed":
        signature = sign(SECRET, str(stamp), body)
    receiver.secret = None
    status, _ = receiver.post_callback(body, timestamp=stamp, signature=signature)
    assert status == 401
    assert received == []


def test_signature_covers_the_body(
    receiver: HttpGateway, received: list[InboundEvent], clock: Clock
) -> None:
    """A valid signature of another body does not authenticate this one."""
    stamp = str(int(clock.now))
    status, _ = receiver.post_callback(
        dlr_body("gw-2"), timestamp=int(stamp), signature=sign(SECRET, stamp, dlr_body("gw-1"))
    )
    assert status == 401
    assert received == []


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xff\xfe garbage",
        b"[]",
        b"42",
        b'{"type": "dlr"}',
        b'{"type": "dlr", "provider_id": "x", "status": "exploded"}',
        b'{"type": "mo", "from": "905321234567", "to": "4605", "text": 7}',
        b'{"type": "mo", "from": "905321234567", "to": "4605", "text": "x", "received_at": "y"}',
        b'{"type": "surprise"}',
        b'[{"type": "dlr", "provider_id": "ok", "status": "delivered"}, {"type": "x"}]',
        b"[" * 5000 + b"]" * 5000,
    ],
)
def test_malformed_callbacks_get_400_and_change_nothing(
    receiver: HttpGateway, received: list[InboundEvent], clock: Clock, body: bytes
) -> None:
    """Signed but unreadable pushes get 400, never 500; nothing is handed over."""
    status, _ = receiver.post_callback(body[:4000], timestamp=int(clock.now))
    assert status == 400
    assert received == []


def test_oversized_body_gets_413(
    receiver: HttpGateway, received: list[InboundEvent], clock: Clock
) -> None:
    """A body above max_body is refused with 413 before it is read."""
    status, _ = receiver.post_callback(b" " * 5000, timestamp=int(clock.now))
    assert status == 413
    assert received == []


def test_replayed_callback_is_handled_once(
    receiver: HttpGateway, received: list[InboundEvent], clock: Clock
) -> None:
    """The same signed push twice within the window is answered 2xx but handled once."""
    stamp = int(clock.now)
    assert receiver.post_callback(dlr_body(), timestamp=stamp)[0] == 200
    assert receiver.post_callback(dlr_body(), timestamp=stamp)[0] == 200
    assert len(received) == 1


def test_failing_handler_gets_503_so_the_provider_retries(clock: Clock) -> None:
    """A handler that raises (storage down) answers 503, and the retry is handled."""
    calls: list[InboundEvent] = []

    def flaky(event: InboundEvent) -> None:
        calls.append(event)
        if len(calls) == 1:
            raise RuntimeError("storage down")

    app = CallbackApp(GenericJsonAdapter(), secret=SECRET, on_event=flaky, clock=clock)
    stamp = str(int(clock.now))
    headers = {"x-isobil-timestamp": stamp, "x-isobil-signature": sign(SECRET, stamp, dlr_body())}
    assert app.handle("POST", "/", "", headers, dlr_body())[0] == 503
    assert app.handle("POST", "/", "", headers, dlr_body())[0] == 200
    assert len(calls) == 2


def test_wrong_method_and_missing_length(clock: Clock) -> None:
    """GET on the generic receiver is 405; a POST without Content-Length is 411."""
    app = CallbackApp(GenericJsonAdapter(), secret=SECRET, on_event=print, clock=clock)
    stamp = str(int(clock.now))
    headers = {"x-isobil-timestamp": stamp, "x-isobil-signature": sign(SECRET, stamp, b"")}
    assert app.handle("GET", "/", "", headers, b"")[0] == 405
    statuses: list[str] = []
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/", "wsgi.input": None}
    app(environ, lambda status, headers: statuses.append(status))
    assert statuses == ["411 Length Required"]


def test_asgi_receiver_matches_wsgi(received: list[InboundEvent], clock: Clock) -> None:
    """The ASGI face accepts a signed push in chunks and refuses an oversized one."""
    import asyncio

    app = CallbackApp(
        GenericJsonAdapter(), secret=SECRET, on_event=received.append, clock=clock, max_body=200
    )
    stamp = str(int(clock.now))
    body = dlr_body()

    async def call(chunks: list[bytes]) -> int:
        messages = [
            {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
            for i, c in enumerate(chunks)
        ]
        sent: list[dict[str, object]] = []

        async def receive() -> dict[str, object]:
            return messages.pop(0)

        async def send(message: dict[str, object]) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "method": "POST",
            "path": "/cb",
            "query_string": b"",
            "headers": [
                (b"x-isobil-timestamp", stamp.encode()),
                (b"x-isobil-signature", sign(SECRET, stamp, b"".join(chunks)).encode()),
            ],
        }
        await app.asgi(scope, receive, send)  # type: ignore[arg-type]
        status = sent[0]["status"]
        assert isinstance(status, int)
        return status

    assert asyncio.run(call([body[:10], body[10:]])) == 200
    assert asyncio.run(call([b" " * 150, b" " * 150])) == 413
    assert len(received) == 1


def test_callback_app_validates_its_setup() -> None:
    """A short secret, or an adapter without on_event, is a configuration error."""
    with pytest.raises(ValueError, match="16 characters"):
        CallbackApp(GenericJsonAdapter(), secret="short", on_event=print)  # noqa: S106
    with pytest.raises(ValueError, match="on_event"):
        CallbackApp(GenericJsonAdapter(), secret=SECRET)


class _OnePerNumber(GenericJsonAdapter):
    """Each number in a request of its own; the second answer is read as broken."""

    def __init__(self) -> None:
        super().__init__()
        self.answers = 0

    def group_key(self, sms: OutboundSms) -> object:
        return sms.to

    def parse_response(
        self, batch: Sequence[OutboundSms], response: HttpResponse
    ) -> list[SubmitResult]:
        self.answers += 1
        if self.answers == 2:
            raise TransportError("a broken answer")
        return super().parse_response(batch, response)


def test_a_request_that_fails_midway_keeps_what_earlier_requests_got() -> None:
    """Messages the group key keeps apart go in requests of their own; when a later
    request fails, the earlier ones keep their provider ids and only the failed
    request's messages carry the error (nothing raised, nothing accepted lost)."""
    batch = [outbound("+905321234567", "Bir", 1), outbound("+905331234567", "İki", 2)]
    with (
        HttpGateway() as gateway,
        HttpTransport(gateway.url, _OnePerNumber(), sleep=lambda s: None) as transport,
    ):
        first, second = transport.submit(batch)
        assert len(gateway.requests) == 2
    assert (first.id, first.ok, first.provider_id is not None) == ("contract-1", True, True)
    assert (second.id, str(second.error)) == ("contract-2", "a broken answer")


def test_credentials_in_a_request_url_never_reach_the_log(caplog: pytest.LogCaptureFixture) -> None:
    """httpx logs every request's URL at INFO: user info and secret-looking query
    values (APIs that take a password in the URL) are replaced there."""
    caplog.set_level(logging.DEBUG)
    with HttpGateway() as gateway:
        url = gateway.url.replace("http://", "http://acme:url-pass-0042@")
        with HttpTransport(url, GenericJsonAdapter(), max_retries=0) as transport:
            request = HttpRequest(
                "GET", "/balance", params={"username": "acme", "password": "q-pass-0042"}
            )
            assert transport.call(request).status == 501  # the gateway takes POSTs only

            async def on_the_loop() -> int:
                answer = await transport.acall(request)
                await transport.aclose()
                return answer.status

            assert asyncio.run(on_the_loop()) == 501  # httpx.AsyncClient logs the same way
    assert caplog.text.count("HTTP Request: GET") == 2
    assert "HTTP Request: GET" in caplog.text
    assert "username=acme" in caplog.text
    assert "url-pass-0042" not in caplog.text
    assert "q-pass-0042" not in caplog.text


def test_phone_numbers_in_a_request_url_are_masked_in_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Some APIs take numbers in the URL (Verimor's blacklist: in the path to remove,
    in the query to add): httpx's log line shows them masked; a 14-digit time (Netgsm's
    inbox query) stays as it is."""
    caplog.set_level(logging.INFO)
    with (
        HttpGateway() as gateway,
        HttpTransport(gateway.url, GenericJsonAdapter(), max_retries=0) as transport,
    ):
        request = HttpRequest(
            "GET",
            "/v2/blacklists/905321234567,5331234567 905351234567",
            params={"phones": "+905341234567,+43664123456789", "startdate": "06122026140500"},
        )
        assert transport.call(request).status == 501
    assert caplog.text.count("HTTP Request: GET") == 1
    assert "/v2/blacklists/**********67,********67 **********67" in caplog.text  # "%20" read
    assert "phones=+90********67,+43**********89" in caplog.text
    assert "startdate=06122026140500" in caplog.text
    for digits in ("5321234567", "5331234567", "5341234567", "5351234567", "664123456789"):
        assert digits not in caplog.text


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("905321234567", "+905321234567"),  # Jasmin, Verimor: international digits
        ("5321234567", "+905321234567"),  # Netgsm, İleti Merkezi: without the 0
        ("05321234567", "+905321234567"),
        ("+90 532 123 45 67", "+905321234567"),
        ("4605", "4605"),  # a short number stays
        ("ACME", "ACME"),  # so does an alphanumeric sender
    ],
)
def test_numbers_in_callbacks_are_read_as_providers_write_them(written: str, read: str) -> None:
    """Every adapter reads a number in a push or report with one helper."""
    assert _phone(written) == read


def test_an_inbound_texts_repr_shows_neither_its_words_nor_the_number() -> None:
    """What a recipient wrote is personal data: a log line of the event shows neither."""
    inbound = InboundSms("+905321234567", "4605", "Adresim Atatürk Cd. 5", datetime.now(UTC))
    assert "Atatürk" not in repr(inbound)
    assert "5321234567" not in repr(inbound)
