"""İleti Merkezi: the adapter against the documents' own samples, and against the simulator.

Expected values are written out from the documents (github.com/iletimerkezi/apidocs-website,
docs/sms/send/json.mdx, docs/sms/report/{json,webhook}.mdx, docs/status-codes.mdx,
docs/account/balance/json.mdx, docs/blacklist/list/json.mdx), never read back from the
adapter's own tables.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isobil.errors import (
    AuthenticationFailed,
    ConnectionFailed,
    DuplicateOrder,
    InsufficientBalance,
    InvalidValue,
    IysRefused,
    RecipientBlacklisted,
    SubmitRejected,
    TransportError,
    TransportTimeout,
)
from isobil.model import MessageCategory, RecipientType
from isobil.sms import plan
from isobil.testing.providers._contract import TURKISH_TEXT, ProviderCase, ProviderContract
from isobil.testing.providers.iletimerkezi import IletiMerkeziSimulator, iletimerkezi_parts
from isobil.transport import (
    CallbackError,
    DeliveryReport,
    DeliveryStatus,
    HttpResponse,
    HttpTransport,
    OutboundSms,
)
from isobil.transport._iletimerkezi import (
    IletiMerkeziAdapter,
    IletiMerkeziBalance,
    IletiMerkeziBlacklist,
    iletimerkezi_hash,
)

API_KEY = "sim-api-key"
SECRET = "sim-secret-0123456789"  # noqa: S105 - the simulator's test account
#: hex HMAC-SHA256("sim-api-key", key="sim-secret-0123456789"), computed once with openssl:
#: printf %s sim-api-key | openssl dgst -sha256 -hmac sim-secret-0123456789
API_HASH = "b300566af3459e89d2e2fd6822e6d405eb94a1288bf556de29a03db7ebf3c9ad"

#: What İleti Merkezi documents for a refused send, and the isobil error each must be.
SEND_ERRORS: dict[str, type[TransportError]] = {
    "400": SubmitRejected,
    "401": AuthenticationFailed,
    "402": InsufficientBalance,
    "404": SubmitRejected,
    "422": SubmitRejected,
    "450": SubmitRejected,
    "451": DuplicateOrder,
    "452": RecipientBlacklisted,
    "453": SubmitRejected,
    "454": SubmitRejected,
    "457": SubmitRejected,
    "459": SubmitRejected,
    "460": SubmitRejected,
    "466": SubmitRejected,
    "468": IysRefused,
    "469": IysRefused,
    "470": IysRefused,
}


def _adapter(**kwargs: object) -> IletiMerkeziAdapter:
    return IletiMerkeziAdapter(api_key=API_KEY, secret=SECRET, **kwargs)  # type: ignore[arg-type]


def _sms(
    text: str = "Siparişiniz kargoya verildi.",
    *,
    id: str = "m1",
    to: str = "+905321234567",
    category: MessageCategory | None = MessageCategory.INFORMATIONAL,
    recipient_type: RecipientType = RecipientType.BIREYSEL,
    send_at: datetime | None = None,
) -> OutboundSms:
    return OutboundSms(
        id,
        to,
        plan(text, national_shift=False),
        "ACME",
        category=category,
        brand="ACME",
        iys_code="654321",
        recipient_type=recipient_type,
        send_at=send_at,
    )


def _answer(status: int, body: str) -> HttpResponse:
    return HttpResponse(status, {"Content-Type": "application/json"}, body.encode("utf-8"))


# -- the contract suite, pushed reports and pulled ones ----------------------------------------


def _case(simulator: IletiMerkeziSimulator, *, poll_reports: bool) -> ProviderCase:
    """İleti Merkezi hands no inbound texts to an API client (no MO push, and its inbox
    endpoint is withdrawn from official support): ``inbound=False``, so the contract
    checks that the simulator does not pretend otherwise."""
    adapter = _adapter(sender="ACME", poll_reports=poll_reports)
    return ProviderCase(
        simulator, adapter, errors=SEND_ERRORS, auth_error="401",
        secrets=(SECRET, API_HASH, API_KEY), inbound=False,
    )  # fmt: skip


class TestIletiMerkeziContract(ProviderContract):
    """The contract, with reports pushed to the webhook (İleti Merkezi's way)."""

    @pytest.fixture
    def provider(self) -> Iterator[ProviderCase]:
        with IletiMerkeziSimulator(api_key=API_KEY, secret=SECRET) as simulator:
            yield _case(simulator, poll_reports=False)


class TestIletiMerkeziPolledContract(ProviderContract):
    """The contract with reports pulled by get-report (``poll_reports=True``)."""

    @pytest.fixture
    def provider(self) -> Iterator[ProviderCase]:
        with IletiMerkeziSimulator(api_key=API_KEY, secret=SECRET) as simulator:
            yield _case(simulator, poll_reports=True)


# -- requests -----------------------------------------------------------------------------------


def test_hash_is_hmac_sha256_of_the_key_keyed_by_the_secret() -> None:
    """The hash two independent clients compute (isubas/iletimerkezisms, roadrunner/
    iletimerkezi-php), matched against a digest computed outside Python."""
    assert iletimerkezi_hash(API_KEY, SECRET) == API_HASH
    assert _adapter()._request("get-balance", {}).json == {
        "request": {"authentication": {"key": API_KEY, "hash": API_HASH}}
    }


def test_a_panel_hash_is_sent_as_given() -> None:
    """The hash the panel shows may be given instead of the secret."""
    adapter = IletiMerkeziAdapter(api_key="k", api_hash="from-the-panel")
    assert adapter.balance_request().json == {
        "request": {"authentication": {"key": "k", "hash": "from-the-panel"}}
    }


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"api_hash": "h", "secret": "s"}, {"secret": ""}, {"api_hash": "h", "max_parts": 0}],
)
def test_credentials_must_be_one_of_hash_or_secret(kwargs: dict[str, object]) -> None:
    """Exactly one of api_hash and secret, non-empty; max_parts positive."""
    with pytest.raises(InvalidValue):
        IletiMerkeziAdapter(api_key="k", **kwargs)  # type: ignore[arg-type]


def test_commercial_message_to_a_merchant() -> None:
    """Commercial → iys "1" with iysList TACIR; one number per order, no '+'."""
    sms = _sms(
        "ACME'de kış indirimi!", category=MessageCategory.COMMERCIAL,
        recipient_type=RecipientType.TACIR,
    )  # fmt: skip
    request = _adapter().build_request([sms], "m1")
    assert (request.method, request.url) == ("POST", "/v1/send-sms/json")
    assert request.json == {
        "request": {
            "authentication": {"key": API_KEY, "hash": API_HASH},
            "order": {
                "sender": "ACME",
                "iys": "1",
                "iysList": "TACIR",
                "message": {
                    "text": "ACME'de kış indirimi!",
                    "receipents": {"number": ["905321234567"]},
                },
            },
        }
    }


def test_unsaid_category_is_commercial_to_an_individual() -> None:
    """A message whose category was not given is treated as commercial (BIREYSEL)."""
    order = _adapter().order(_sms(category=None))
    assert (order["iys"], order["iysList"]) == ("1", "BIREYSEL")


@pytest.mark.parametrize(
    "category", [MessageCategory.INFORMATIONAL, MessageCategory.LEGALLY_REQUIRED]
)
def test_informational_and_legally_required_go_without_iys(category: MessageCategory) -> None:
    """Non-commercial → iys "0" and no iysList, whatever the recipient type."""
    order = _adapter().order(_sms(category=category, recipient_type=RecipientType.TACIR))
    assert order == {
        "sender": "ACME",
        "iys": "0",
        "message": {
            "text": "Siparişiniz kargoya verildi.",
            "receipents": {"number": ["905321234567"]},
        },
    }


def test_send_at_is_istanbul_time_to_the_minute() -> None:
    """``send_at`` becomes sendDateTime GG/AA/YYYY SS:DD in Turkish time (UTC+3)."""
    order = _adapter().order(_sms(send_at=datetime(2026, 4, 23, 6, 0, 30, tzinfo=UTC)))
    assert order["sendDateTime"] == "23/04/2026 09:00"


def test_a_batch_goes_out_one_order_a_message() -> None:
    """Three messages (two texts, two İYS lists) are three orders, each with its id."""
    with IletiMerkeziSimulator(api_key=API_KEY, secret=SECRET) as sim:
        transport = HttpTransport(sim.url, _adapter(), sleep=lambda s: None)
        try:
            batch = [
                _sms("Bir", id="a", to="+905321000001"),
                _sms("İki", id="b", to="+905321000002", category=MessageCategory.COMMERCIAL),
                _sms("İki", id="c", to="+905321000003", category=MessageCategory.COMMERCIAL,
                     recipient_type=RecipientType.TACIR),
            ]  # fmt: skip
            results = transport.submit(batch)
        finally:
            transport.close()
        assert [r.id for r in results] == ["a", "b", "c"]
        assert [r.provider_id for r in results] == list(sim.orders())
        assert [(s.to, s.text, s.iys_flag) for s in sim.received] == [
            ("+905321000001", "Bir", "iys=0 iysList=None"),
            ("+905321000002", "İki", "iys=1 iysList=BIREYSEL"),
            ("+905321000003", "İki", "iys=1 iysList=TACIR"),
        ]
        assert len(sim.requests) == 3


def test_no_sender_is_refused_before_any_request() -> None:
    """Without an originator or a default sender the message is refused (459)."""
    sms = OutboundSms("m1", "+905321234567", plan("x"), None)
    error = _adapter().refuse(sms)
    assert isinstance(error, SubmitRejected)
    assert error.code == "459"
    assert _adapter(sender="ACME").refuse(sms) is None


# -- answers ------------------------------------------------------------------------------------


def test_documented_success_answer_gives_the_order_id() -> None:
    """docs/sms/send/json.mdx, "Örnek Başarılı Yanıt"."""
    body = """{"response": {"status": {"code": "200", "message": "İşlem başarılı"},
               "order": {"id": "12323232"}}}"""
    [result] = _adapter().parse_response([_sms()], _answer(200, body))
    assert (result.id, result.provider_id, result.error) == ("m1", "12323232", None)


def test_documented_error_answer_is_authentication_failed() -> None:
    """docs/sms/send/json.mdx, "Örnek Hatalı Yanıt", in the provider's words."""
    body = '{"response": {"status": {"code": "401", "message": "Üyelik bilgileri hatalı"}}}'
    [result] = _adapter().parse_response([_sms()], _answer(401, body))
    assert isinstance(result.error, AuthenticationFailed)
    assert result.error.code == "401"
    assert "Üyelik bilgileri hatalı" in str(result.error)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("400", SubmitRejected),
        ("401", AuthenticationFailed),
        ("402", InsufficientBalance),
        ("404", SubmitRejected),
        ("422", SubmitRejected),
        ("450", SubmitRejected),
        ("451", DuplicateOrder),
        ("452", RecipientBlacklisted),
        ("453", SubmitRejected),
        ("454", SubmitRejected),
        ("455", SubmitRejected),
        ("456", SubmitRejected),
        ("457", SubmitRejected),
        ("458", SubmitRejected),
        ("459", SubmitRejected),
        ("460", SubmitRejected),
        ("461", SubmitRejected),
        ("462", SubmitRejected),
        ("463", SubmitRejected),
        ("464", SubmitRejected),
        ("465", SubmitRejected),
        ("466", SubmitRejected),
        ("467", SubmitRejected),
        ("468", IysRefused),
        ("469", IysRefused),
        ("470", IysRefused),
        ("471", SubmitRejected),
        ("472", SubmitRejected),
        ("473", SubmitRejected),
        ("503", ConnectionFailed),
        ("599", SubmitRejected),  # undocumented: plain rejection with its code
    ],
)
def test_every_documented_status_code_maps(code: str, expected: type[TransportError]) -> None:
    """docs/status-codes.mdx: each refusal code is its own isobil error class."""
    body = json.dumps({"response": {"status": {"code": int(code), "message": "söz"}}})
    [result] = _adapter().parse_response([_sms()], _answer(int(code), body))
    assert type(result.error) is expected
    assert result.provider_id is None
    if expected is not ConnectionFailed:
        assert getattr(result.error, "code", None) == code
    assert "söz" in str(result.error)


def test_a_duplicate_order_is_outcome_unknown() -> None:
    """451 is a DuplicateOrder, a TransportTimeout: the Client marks it unknown."""
    body = '{"response": {"status": {"code": "451", "message": "Tekrar eden sipariş"}}}'
    [result] = _adapter().parse_response([_sms()], _answer(451, body))
    assert isinstance(result.error, TransportTimeout)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, "not json", TransportTimeout),
        (200, '{"response": {"status": {"code": "200"}}}', TransportTimeout),
        (500, "<html>oops</html>", TransportTimeout),  # it may have sent: unknown
    ],
)
def test_unreadable_answers(status: int, body: str, expected: type[TransportError]) -> None:
    """A 2xx we cannot read, or a 200 without an order id, is outcome unknown; any
    other unreadable answer rejects with the HTTP status as code."""
    [result] = _adapter().parse_response([_sms()], _answer(status, body))
    assert type(result.error) is expected


def test_503_is_retried_then_fails_to_connect() -> None:
    """503 "Sunucu geçici olarak servis dışı" is retried by the transport; the
    message goes once the service is back, exactly once."""
    with IletiMerkeziSimulator(api_key=API_KEY, secret=SECRET) as sim:
        transport = HttpTransport(sim.url, _adapter(), max_retries=2, sleep=lambda s: None)
        try:
            sim.fail_next("503")
            [result] = transport.submit([_sms()])
            assert result.ok
            sim.fail_next("503", 3)
            [result] = transport.submit([_sms("başka", to="+905321234568")])
        finally:
            transport.close()
    assert isinstance(result.error, ConnectionFailed)
    assert [s.to for s in sim.received] == ["+905321234567"]


# -- the webhook and get-report ---------------------------------------------------------------


def test_documented_webhook_sample() -> None:
    """docs/sms/report/webhook.mdx, "Örnek İstek": accepted is pending, by packet_id."""
    body = b"""{"report": {"id": 1599558518, "packet_id": 104525848, "status": "accepted",
               "to": "+90505702xxxx", "body": "Webhook test mesaji"}}"""
    events = _adapter().parse_callback("POST", {}, {}, body)
    assert events == [DeliveryReport("104525848", DeliveryStatus.PENDING, None, None)]


@pytest.mark.parametrize(
    ("status", "expected", "code"),
    [
        ('"delivered"', DeliveryStatus.DELIVERED, None),
        ('"undelivered"', DeliveryStatus.UNDELIVERED, "undelivered"),
        ("111", DeliveryStatus.DELIVERED, None),
        ("112", DeliveryStatus.UNDELIVERED, "112"),
        ('"110"', DeliveryStatus.PENDING, None),
    ],
)
def test_webhook_states(status: str, expected: DeliveryStatus, code: str | None) -> None:
    """Words from the webhook page, numbers as the official SDK's model reads them."""
    body = f'{{"report": {{"id": 1, "packet_id": "77", "status": {status}, "to": "+905"}}}}'
    [event] = _adapter().parse_callback("POST", {}, {}, body.encode())
    assert event == DeliveryReport("77", expected, code, None)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"[]",
        b'{"report": {"status": "delivered"}}',
        b'{"report": {"packet_id": 1, "status": "read"}}',
        b'{"report": {"packet_id": true, "status": "delivered"}}',
    ],
)
def test_unreadable_webhooks_are_refused(body: bytes) -> None:
    """What is not a report with a packet id and a known state is a CallbackError."""
    with pytest.raises(CallbackError):
        _adapter().parse_callback("POST", {}, {}, body)


def test_webhook_is_posted() -> None:
    """Any other method is 405."""
    with pytest.raises(CallbackError) as caught:
        _adapter().parse_callback("GET", {}, {}, b"")
    assert caught.value.status == 405


@settings(deadline=None, max_examples=200)
@given(st.one_of(st.binary(max_size=300), st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(
        ["report", "packet_id", "status", "id", "to", "body"]), inner, max_size=5),
    max_leaves=20,
).map(lambda value: json.dumps(value).encode())))  # fmt: skip
def test_any_webhook_body_is_an_event_or_a_callback_error(body: bytes) -> None:
    """Untrusted bytes never raise anything but CallbackError."""
    try:
        events = _adapter().parse_callback("POST", {}, {}, body)
    except CallbackError:
        return
    assert all(isinstance(event, DeliveryReport) for event in events)


@settings(deadline=None, max_examples=200)
@given(st.integers(100, 599), st.binary(max_size=300) | st.text(max_size=200).map(str.encode))
def test_any_send_answer_is_one_result(status: int, body: bytes) -> None:
    """Untrusted answers always give exactly one result, accepted or with an error."""
    [result] = _adapter().parse_response([_sms()], HttpResponse(status, {}, body))
    assert result.id == "m1"
    assert (result.provider_id is None) != (result.error is None)


def test_get_report_is_polled_only_when_asked() -> None:
    """Pushes are the way; get-report per pending order only with poll_reports=True."""
    since = datetime(2026, 1, 1, tzinfo=UTC)
    assert _adapter().poll_requests(["1", "2"], since) == []
    requests = _adapter(poll_reports=True).poll_requests(["1", "2", "1"], since)
    assert [r.url for r in requests] == ["/v1/get-report/json"] * 2
    assert requests[0].json == {
        "request": {
            "authentication": {"key": API_KEY, "hash": API_HASH},
            "order": {"id": "1", "page": "1", "rowCount": "1000"},
        }
    }


def test_documented_get_report_sample() -> None:
    """iletimerkezi.com/en/docs/api/get-report, "Success (200)": 111 is delivered."""
    adapter = _adapter(poll_reports=True)
    [request] = adapter.poll_requests(["312891245"], datetime.now(UTC))
    body = """{"response": {"status": {"code": 200, "message": "İşlem başarılı"},
      "order": {"id": "312891245", "status": 114, "total": 1, "delivered": 1,
        "undelivered": 0, "waiting": 0, "submitAt": "2026-04-29 04:32:24",
        "sendAt": "2026-04-29 04:32:24", "sender": "eMarka Test", "price": 1,
        "message": [{"number": "+905333128320", "status": 111}]}}}"""
    events = adapter.parse_poll(request, _answer(200, body))
    assert events == [DeliveryReport("312891245", DeliveryStatus.DELIVERED, None, None)]


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ('{"id": 428, "status": 113, "message": [{"number": 5301234567, "status": 110}]}', []),
        (
            '{"id": 428, "status": 114, "message": [{"number": 5301234569, "status": 112}]}',
            [DeliveryReport("428", DeliveryStatus.UNDELIVERED, "112", None)],
        ),
        (
            '{"id": 428, "status": 115, "message": []}',
            [DeliveryReport("428", DeliveryStatus.UNDELIVERED, "115", None)],
        ),
    ],
)
def test_get_report_states(order: str, expected: list[DeliveryReport]) -> None:
    """docs/sms/report/json.mdx: 110 is still pending (nothing to report), 112 and a
    failed order (115) are undelivered with the code kept."""
    adapter = _adapter(poll_reports=True)
    [request] = adapter.poll_requests(["428"], datetime.now(UTC))
    body = f'{{"response": {{"status": {{"code": 200, "message": "ok"}}, "order": {order}}}}}'
    assert adapter.parse_poll(request, _answer(200, body)) == expected


def test_get_report_refusals() -> None:
    """455 (no such order, documented sample) is nothing to report; 401 raises."""
    adapter = _adapter(poll_reports=True)
    [request] = adapter.poll_requests(["428"], datetime.now(UTC))
    missing = '{"response": {"status": {"code": 455, "message": "Sipariş bulunamadı"}}}'
    assert adapter.parse_poll(request, _answer(455, missing)) == []
    refused = '{"response": {"status": {"code": 401, "message": "Üyelik bilgileri hatalı"}}}'
    with pytest.raises(AuthenticationFailed):
        adapter.parse_poll(request, _answer(401, refused))


# -- balance and blacklist ------------------------------------------------------------------------


def test_documented_balance_sample() -> None:
    """docs/account/balance/json.mdx, "Örnek Başarılı Yanıt"."""
    body = """{"response": {"status": {"code": 200, "message": "İşlem başarılı"},
               "balance": {"amount": "0", "sms": "18343"}}}"""
    assert _adapter().parse_balance(_answer(200, body)) == IletiMerkeziBalance(0, 18343)  # type: ignore[arg-type]


def test_documented_blacklist_sample() -> None:
    """docs/blacklist/list/json.mdx, "Örnek Başarılı Yanıt" (numbers as E.164)."""
    body = """{"response": {"status": {"code": 200, "message": "İşlem başarılı"},
      "blacklist": {"count": "7906", "number": ["+905050047824", "5050047825"]}}}"""
    assert _adapter().parse_blacklist(_answer(200, body)) == IletiMerkeziBlacklist(
        7906, ("+905050047824", "+905050047825")
    )


def test_balance_and_blacklist_against_the_simulator() -> None:
    """The calls work end to end; a bad number is 466 "Hatalı numara."."""
    adapter = _adapter()
    with (
        IletiMerkeziSimulator(api_key=API_KEY, secret=SECRET, sms_balance=10) as sim,
        HttpTransport(sim.url, adapter) as transport,
    ):
        call = transport.call
        assert adapter.parse_balance(call(adapter.balance_request())).sms == 10
        adapter.parse_status(call(adapter.add_blacklist_request("0532 111 22 33")))
        page = adapter.parse_blacklist(call(adapter.blacklist_request()))
        assert page == IletiMerkeziBlacklist(1, ("+905321112233",))
        transport.submit([_sms(to="+905321112233")])
        assert sim.received == []  # blacklisted: 452
        adapter.parse_status(call(adapter.delete_blacklist_request("+905321112233")))
        assert adapter.parse_blacklist(call(adapter.blacklist_request())).count == 0
        bad = adapter._request("add-blacklist", {"blacklist": {"number": "12"}})
        with pytest.raises(SubmitRejected) as caught:
            adapter.parse_status(call(bad))
        assert caught.value.code == "466"


# -- parts ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("a" * 155, 1),  # 160 septets with " B186"
        ("a" * 156, 2),
        ("a" * 301, 2),  # 2 x 153 - 5
        ("a" * 302, 3),
        ("€" * 77, 1),  # 154 septets: escapes count two
        ("€" * 78, 2),
        ("ş" * 65, 1),  # UCS-2: 70 - 5
        ("ş" * 66, 2),
        ("ş" * 129, 2),  # 2 x 67 - 5
        ("ş" * 130, 3),
        ("a" * 1066, 7),  # 7 x 153 - 5: the most İleti Merkezi sends
    ],
)
def test_boundary_part_counts(text: str, parts: int) -> None:
    """isobil's count (as the Client plans for this adapter), the simulator's own
    count, and the parts billed for a real send all agree at the boundaries."""
    assert plan(text, national_shift=False).parts == parts
    assert iletimerkezi_parts(text) == parts
    with IletiMerkeziSimulator(api_key=API_KEY, secret=SECRET) as sim:
        with HttpTransport(sim.url, _adapter(), sleep=lambda s: None) as transport:
            [result] = transport.submit([_sms(text)])
        assert result.ok, result.error
        [sent] = sim.received
        assert sent.parts == parts


@settings(deadline=None, max_examples=300)
@given(TURKISH_TEXT)
def test_isobil_and_the_simulator_count_the_same_parts(text: str) -> None:
    """For any Turkish text, isobil's count for this adapter (no shift tables, 5 units
    for the operator code) equals the simulator's own GSM 03.38 / UCS-2 count."""
    assert plan(text, national_shift=False).parts == iletimerkezi_parts(text)


@pytest.mark.parametrize("text", ["a" * 1067, "ş" * 465])
def test_over_seven_parts_is_refused_before_any_request(text: str) -> None:
    """More than 7 parts would be 453: refused here, never sent."""
    with IletiMerkeziSimulator(api_key=API_KEY, secret=SECRET) as sim:
        with HttpTransport(sim.url, _adapter(), sleep=lambda s: None) as transport:
            [result] = transport.submit([_sms(text)])
        assert isinstance(result.error, SubmitRejected)
        assert result.error.code == "too-long"
        assert sim.requests == []


# -- secrets ---------------------------------------------------------------------------------


def test_credentials_never_shown(caplog: pytest.LogCaptureFixture) -> None:
    """Neither key, hash nor secret in reprs, errors, redacted echoes or logs."""
    caplog.set_level(logging.DEBUG)
    adapter = _adapter(sender="ACME")
    with (
        IletiMerkeziSimulator(api_key=API_KEY, secret=SECRET) as sim,
        HttpTransport(sim.url, adapter, sleep=lambda s: None) as transport,
    ):
        sim.fail_next("401")
        [result] = transport.submit([_sms()])
        shown = [repr(adapter), str(adapter), repr(transport), str(result.error)]
    echo = json.dumps({"response": {"status": {"code": 401, "message": f"{API_HASH} {SECRET}"}}})
    [echoed] = adapter.parse_response([_sms()], _answer(401, echo))
    shown += [str(echoed.error), repr(echoed.error), caplog.text]
    for text in shown:
        for secret in (API_KEY, API_HASH, SECRET):
            assert secret not in text
