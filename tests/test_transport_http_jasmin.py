"""JasminAdapter on recorded Jasmin HTTP API shapes (apis/ja-http): /send, DLR and MO pushes.

Requests are captured with httpx.MockTransport and answered as Jasmin answers;
pushes are posted, form-encoded as Jasmin posts them, to a CallbackApp served on
loopback and authenticated by the secret path token.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode

import httpx
import pytest

from isobil import sms
from isobil.errors import InvalidValue, SubmitRejected, TransportTimeout
from isobil.testing.http_gateway import WsgiServer, http_post
from isobil.testing.transport import outbound
from isobil.transport import (
    CallbackApp,
    DeliveryReport,
    DeliveryStatus,
    HttpTransport,
    InboundEvent,
    InboundSms,
    JasminAdapter,
    OutboundSms,
)

PASSWORD = "jasmin-pass-42"  # noqa: S105 - a test credential
TOKEN = "t0ken-abcdefghijklmnop"  # noqa: S105 - the callback path secret
DLR_URL = f"https://isobil.example/jasmin/{TOKEN}/dlr"
UUID = "08ea5e2c-0a35-4d5e-8f4f-4ac5c7f2b0d1"


class Recorder:
    """An httpx MockTransport handler that records forms and answers from a script."""

    def __init__(self, *answers: httpx.Response) -> None:
        self.answers = list(answers)
        self.forms: list[dict[str, str]] = []
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        form = parse_qs(request.content.decode("ascii"), keep_blank_values=True)
        self.forms.append({k: v[0] for k, v in form.items()})
        return self.answers.pop(0) if self.answers else jasmin_success()


def jasmin_success(uuid: str = UUID) -> httpx.Response:
    """Jasmin's 200 answer to an accepted /send."""
    return httpx.Response(200, text=f'Success "{uuid}"')


@pytest.fixture
def adapter() -> JasminAdapter:
    return JasminAdapter(username="isobil", password=PASSWORD, dlr_url=DLR_URL)


def submit(adapter: JasminAdapter, recorder: Recorder, batch: list[OutboundSms]) -> list[object]:
    """Submit through an HttpTransport whose httpx client is the recorder."""
    client = httpx.Client(transport=httpx.MockTransport(recorder))
    sleeps: list[float] = []
    with HttpTransport("http://127.0.0.1:1401", adapter, http=client, sleep=sleeps.append) as t:
        results: list[object] = list(t.submit(batch))
    client.close()
    return results


def test_ascii_send_request_shape(adapter: JasminAdapter) -> None:
    """An ASCII text is a POST /send form with coding 0, content and the DLR fields."""
    recorder = Recorder()
    [result] = submit(adapter, recorder, [outbound("+905321234567", "Hello ACME")])
    assert result.provider_id == UUID  # type: ignore[attr-defined]
    [request] = recorder.requests
    assert (request.method, request.url.path) == ("POST", "/send")
    assert recorder.forms == [
        {
            "username": "isobil",
            "password": PASSWORD,
            "to": "905321234567",
            "from": "TEST",
            "coding": "0",
            "content": "Hello ACME",
            "dlr": "yes",
            "dlr-url": DLR_URL,
            "dlr-level": "3",
            "dlr-method": "POST",
        }
    ]


def test_gsm_default_alphabet_goes_as_content(adapter: JasminAdapter) -> None:
    """Text in the GSM default alphabet (ü, Ç, €, @) is coding 0: Jasmin encodes it in GSM 03.38."""
    recorder = Recorder()
    text = "Ürün Çok Güzel @ 100€ {kampanya}"
    submit(adapter, recorder, [outbound("+905321234567", text)])
    [form] = recorder.forms
    assert (form["coding"], form["content"]) == ("0", text)
    assert "hex-content" not in form


def test_an_escape_on_jasmins_cut_goes_as_ucs2(adapter: JasminAdapter) -> None:
    """Jasmin cuts long GSM texts every 153 septets: a € there would be split, so UCS-2."""
    recorder = Recorder()
    on_the_cut = "a" * 152 + "€" + "b" * 20
    away = "a" * 140 + "€" + "b" * 32
    submit(adapter, recorder, [outbound("+905321234567", on_the_cut)])
    submit(adapter, recorder, [outbound("+905321234567", away)])
    assert [f["coding"] for f in recorder.forms] == ["8", "0"]
    assert bytes.fromhex(recorder.forms[0]["hex-content"]).decode("utf-16-be") == on_the_cut
    assert recorder.forms[1]["content"] == away


def test_more_parts_than_jasmin_sends_are_refused_without_a_request(
    adapter: JasminAdapter,
) -> None:
    """Jasmin would cut a text of more than max_parts parts off: it is not sent at all."""
    recorder = Recorder(jasmin_success("u-1"), jasmin_success("u-3"))
    batch = [
        outbound("+905321234567", "Merhaba", 1),
        outbound("+905331234567", "Bilgi " * 128, 2),  # 768 septets: 6 parts
        outbound("+905341234567", "Şişli " * 80, 3),  # UCS-2, 480 units: 8 parts
        outbound("+905351234567", "Tamam", 4),
    ]
    results = submit(adapter, recorder, batch)
    assert [getattr(r, "provider_id", None) for r in results] == ["u-1", None, None, "u-3"]
    assert [getattr(r.error, "code", None) for r in results] == [None, "too-long", "too-long", None]  # type: ignore[attr-defined]
    assert [f["to"] for f in recorder.forms] == ["905321234567", "905351234567"]
    # Jasmin counts UCS-2 in 67-unit cuts, emoji (two units) or not: 335 units are 5 parts
    assert adapter.refuse(outbound("+905321234567", "😀" * 167 + "a")) is None
    more = JasminAdapter(username="isobil", password=PASSWORD, max_parts=8)
    assert more.refuse(batch[2]) is None
    with pytest.raises(InvalidValue, match="max_parts"):
        JasminAdapter(username="isobil", password=PASSWORD, max_parts=0)


def test_turkish_text_goes_as_ucs2_hex(adapter: JasminAdapter) -> None:
    """Text needing ş, ğ, ı or İ is coding 8, UTF-16-BE hex-content: Jasmin has no shift tables."""
    recorder = Recorder()
    text = "Şişli'de çağrı İĞÜÖ €"
    submit(adapter, recorder, [outbound("+905321234567", text)])
    [form] = recorder.forms
    assert form["coding"] == "8"
    assert "content" not in form
    assert bytes.fromhex(form["hex-content"]).decode("utf-16-be") == text


def test_one_request_per_message_and_no_receipt(adapter: JasminAdapter) -> None:
    """Jasmin takes one destination per call; request_receipt=False sends dlr=no."""
    recorder = Recorder(jasmin_success("u-1"), jasmin_success("u-2"))
    batch = [
        outbound("+905321234567", "a", 0),
        OutboundSms("m-2", "+905321234568", sms.plan("b"), request_receipt=False),
    ]
    results = submit(adapter, recorder, batch)
    assert [r.provider_id for r in results] == ["u-1", "u-2"]  # type: ignore[attr-defined]
    assert recorder.forms[1]["dlr"] == "no"
    assert "dlr-url" not in recorder.forms[1]


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, 'Error "Mandatory argument [to] is not found."'),
        (403, 'Error "Authentication failure for username:isobil"'),
        (403, 'Error "Cannot charge submit_sm, check RouterPB log file for details"'),
        (412, 'Error "No route found"'),
        (500, 'Error "Cannot send submit_sm, check SMPPClientManagerPB log file for details"'),
    ],
)
def test_jasmin_errors_reject_with_status_code(
    adapter: JasminAdapter, status: int, body: str
) -> None:
    """Jasmin's error answers reject the message with the HTTP status as code, once."""
    recorder = Recorder(httpx.Response(status, text=body))
    [result] = submit(adapter, recorder, [outbound("+905321234567", "x")])
    error = result.error  # type: ignore[attr-defined]
    assert isinstance(error, SubmitRejected)
    assert error.code == str(status)
    assert len(recorder.requests) == 1
    assert "+905321234567" not in str(error)


def test_read_timeout_is_unknown_and_never_resent(adapter: JasminAdapter) -> None:
    """Jasmin has no idempotency: a lost answer is TransportTimeout after one request."""
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ReadTimeout("timed out", request=request)

    client = httpx.Client(transport=httpx.MockTransport(handler))
    with HttpTransport("http://127.0.0.1:1401", adapter, http=client, sleep=lambda s: None) as t:
        [result] = t.submit([outbound("+905321234567", "x")])
    client.close()
    assert isinstance(result.error, TransportTimeout)
    assert len(calls) == 1


def test_429_is_retried_and_unreadable_success_is_unknown(adapter: JasminAdapter) -> None:
    """A 429 before Jasmin is retried; a 200 without Success "…" is unknown."""
    recorder = Recorder(httpx.Response(429), httpx.Response(200, text="OK?"))
    [result] = submit(adapter, recorder, [outbound("+905321234567", "x")])
    assert isinstance(result.error, TransportTimeout)  # type: ignore[attr-defined]
    assert len(recorder.requests) == 2


def test_password_and_token_never_in_repr_or_errors(adapter: JasminAdapter) -> None:
    """The password and the dlr-url token stay out of reprs and echoed error text."""
    echoed = f'Error "bad password {PASSWORD} for {DLR_URL}"'
    recorder = Recorder(httpx.Response(403, text=echoed))
    [result] = submit(adapter, recorder, [outbound("+905321234567", "x")])
    text = repr(adapter) + str(result)
    assert PASSWORD not in text
    assert TOKEN not in text


# -- pushes -------------------------------------------------------------------------------


@pytest.fixture
def events() -> list[InboundEvent]:
    return []


@pytest.fixture
def jasmin_url(adapter: JasminAdapter, events: list[InboundEvent]) -> Iterator[str]:
    """The base URL of a CallbackApp for Jasmin (token auth) on loopback."""
    app = CallbackApp(adapter, secret=TOKEN, on_event=events.append)
    with WsgiServer(app) as server:
        yield server.url


def push(url: str, fields: dict[str, str], path: str = f"/{TOKEN}/dlr") -> tuple[int, bytes]:
    """POST ``fields`` form-encoded, as Jasmin's DLR and MO pushes are."""
    body = urlencode(fields).encode("ascii")
    return http_post(url + path, body, {"Content-Type": "application/x-www-form-urlencoded"})


LEVEL_2_DLR = {
    "id": UUID,
    "message_status": "DELIVRD",
    "level": "2",
    "connector": "smsc1",
    "id_smsc": "1a2b3c",
    "sub": "001",
    "dlvrd": "001",
    "subdate": "2601011200",
    "donedate": "2601011201",
    "err": "000",
    "text": "Hello ACME",
}


def test_terminal_dlr_is_acked_and_handed_over(jasmin_url: str, events: list[InboundEvent]) -> None:
    """A level-2 DLR becomes a DeliveryReport by Jasmin's id and is answered ACK/Jasmin."""
    assert push(jasmin_url, LEVEL_2_DLR) == (200, b"ACK/Jasmin")
    [event] = events
    # donedate 2601011201 is on the SMSC's clock: 12:01 in Istanbul, 09:01 UTC.
    assert event == DeliveryReport(
        UUID, DeliveryStatus.DELIVERED, "000", datetime(2026, 1, 1, 9, 1, tzinfo=UTC)
    )


@pytest.mark.parametrize(
    ("word", "status", "code"),
    [
        ("ESME_ROK", DeliveryStatus.PENDING, None),
        ("ESME_RINVDSTADR", DeliveryStatus.REJECTED, "ESME_RINVDSTADR"),
        ("UNDELIV", DeliveryStatus.UNDELIVERED, "000"),
        ("EXPIRED", DeliveryStatus.EXPIRED, "000"),
        ("REJECTD", DeliveryStatus.REJECTED, "000"),
        ("UNKNOWN", DeliveryStatus.UNKNOWN, "000"),
    ],
)
def test_dlr_statuses(
    jasmin_url: str,
    events: list[InboundEvent],
    word: str,
    status: DeliveryStatus,
    code: str | None,
) -> None:
    """Level-1 ESME_* answers and level-2 receipt words map to DeliveryStatus."""
    fields = {"id": UUID, "message_status": word, "level": "1", "connector": "smsc1"}
    if not word.startswith("ESME_"):
        fields |= {"level": "2", "err": "000"}
    assert push(jasmin_url, fields)[0] == 200
    [event] = events
    assert isinstance(event, DeliveryReport)
    assert (event.status, event.error_code) == (status, code)


def test_mo_in_ucs2_reaches_handler_with_e164_sender(
    jasmin_url: str, events: list[InboundEvent]
) -> None:
    """An MO push with coding 8 is read from its binary hex; the sender becomes E.164."""
    text = "ACME RET şöyle"
    fields = {
        "id": "mo-uuid-1",
        "from": "905321234567",
        "to": "4605",
        "origin-connector": "smppsc",
        "priority": "0",
        "coding": "8",
        "validity": "None",
        "content": text.encode("utf-16-be").decode("latin-1"),
        "binary": text.encode("utf-16-be").hex().upper(),
    }
    body = urlencode(fields, encoding="latin-1").encode("ascii")
    status, answer = http_post(jasmin_url + f"/{TOKEN}/mo", body, {})
    assert (status, answer) == (200, b"ACK/Jasmin")
    [event] = events
    assert isinstance(event, InboundSms)
    assert (event.from_, event.to, event.text, event.provider_id) == (
        "+905321234567",
        "4605",
        text,
        "mo-uuid-1",
    )


def test_mo_in_gsm_default_coding(jasmin_url: str, events: list[InboundEvent]) -> None:
    """An MO with coding 0 is read from its content."""
    fields = {"id": "m", "from": "905321234567", "to": "4605", "coding": "0", "content": "ACME RET"}
    assert push(jasmin_url, fields, f"/{TOKEN}/mo")[0] == 200
    [event] = events
    assert isinstance(event, InboundSms)
    assert event.text == "ACME RET"


def test_dlr_by_get_is_read_from_the_query(adapter: JasminAdapter) -> None:
    """With dlr-method GET, Jasmin's fields come in the query string."""
    seen: list[InboundEvent] = []
    app = CallbackApp(adapter, secret=TOKEN, on_event=seen.append)
    answer = app.handle("GET", f"/{TOKEN}/dlr", urlencode(LEVEL_2_DLR), {}, b"")
    assert answer[0] == 200
    assert [e.provider_id for e in seen] == [UUID]


@pytest.mark.parametrize(
    "path", ["/dlr", "/wrong-token-abcdefghij/dlr", f"/x/{TOKEN}/dlr", f"/{TOKEN[:-1]}/dlr"]
)
def test_push_without_the_token_gets_401(
    jasmin_url: str, events: list[InboundEvent], path: str
) -> None:
    """A push whose path lacks the secret token is refused and changes nothing."""
    assert push(jasmin_url, LEVEL_2_DLR, path)[0] == 401
    assert events == []


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"message_status": "DELIVRD"},
        {"id": UUID, "message_status": "EXPLODED"},
        {"from": "905321234567", "to": "4605", "coding": "8", "binary": "zz"},
        {"hello": "world"},
    ],
)
def test_malformed_push_gets_400(
    jasmin_url: str, events: list[InboundEvent], fields: dict[str, str]
) -> None:
    """Unreadable pushes are refused with 400, never 500, and change nothing."""
    assert push(jasmin_url, fields)[0] == 400
    assert events == []


def test_non_form_body_gets_400(jasmin_url: str, events: list[InboundEvent]) -> None:
    """A body that is not a form at all is a 400."""
    status, _ = http_post(jasmin_url + f"/{TOKEN}/dlr", b"\x00\xff&&==;", {})
    assert status == 400
    assert events == []
