"""Netgsm (REST v2): the adapter against its simulator and against Netgsm's own samples.

Samples are pasted from the official SDKs: github.com/netgsm/netgsm-sms-js
(``__tests__/unit/netgsm.test.ts``, ``src/enums.ts``), github.com/netgsm/netgsm-sms-python
(``README.md``, ``netgsm/exceptions/api_exception.py``) and github.com/netgsm/sms
(``README.md``: report states, the MO webhook).
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from isobil.errors import (
    AuthenticationFailed,
    IysRefused,
    SubmitRejected,
    Throttled,
    TransportError,
    TransportTimeout,
)
from isobil.model import MessageCategory, RecipientType
from isobil.sms import plan
from isobil.testing.providers._contract import TURKISH_TEXT, ProviderCase, ProviderContract
from isobil.testing.providers.netgsm import NetgsmSimulator, netgsm_billed_parts
from isobil.transport import (
    CallbackError,
    DeliveryReport,
    DeliveryStatus,
    HttpRequest,
    HttpResponse,
    HttpTransport,
    InboundEvent,
    InboundSms,
    OutboundSms,
)
from isobil.transport._netgsm import INBOX_PATH, REPORT_PATH, NetgsmAdapter
from isobil.transport._smpp_receipts import ISTANBUL

USER = "8501234567"
PASSWORD = "n3tgsm-Secret-pw"  # noqa: S105 - a test credential
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 12:00 in Istanbul

#: Every documented code of /sms/rest/v2/send and the isobil error it must become.
SEND_ERRORS: dict[str, type[TransportError]] = {
    "20": SubmitRejected,  # message text problem, or too long
    "30": AuthenticationFailed,  # username, password, API access or IP
    "40": SubmitRejected,  # msgheader not defined
    "50": IysRefused,  # the account cannot send İYS-controlled messages
    "51": IysRefused,  # no İYS brand on the account
    "70": SubmitRejected,  # a parameter wrong or missing
    "80": Throttled,  # sending limit exceeded
    "85": Throttled,  # more than 20 tasks for one number in a minute
    "100": SubmitRejected,  # system error
    "101": SubmitRejected,  # system error
}


class TestNetgsmContract(ProviderContract):
    """The shared provider contract, against :class:`NetgsmSimulator`."""

    @pytest.fixture
    def provider(self) -> Iterator[ProviderCase]:
        with NetgsmSimulator(username=USER, password=PASSWORD) as simulator:
            adapter = NetgsmAdapter(username=USER, password=PASSWORD, msgheader="ACME")
            yield ProviderCase(
                simulator,
                adapter,
                errors=SEND_ERRORS,
                auth_error="30",
                secrets=(PASSWORD, BASIC.removeprefix("Basic ")),
            )


# -- helpers ------------------------------------------------------------------------------


def adapter(**options: object) -> NetgsmAdapter:
    return NetgsmAdapter(
        username=USER,
        password=PASSWORD,
        clock=lambda: NOW,
        **options,  # type: ignore[arg-type]
    )


def sms(
    message_id: str = "m1",
    to: str = "+905321234567",
    text: str = "Kargonuz yolda.",
    **fields: object,
) -> OutboundSms:
    return OutboundSms(message_id, to, plan(text), "ACME", **fields)  # type: ignore[arg-type]


def answer(payload: object, status: int = 200) -> HttpResponse:
    return HttpResponse(status, {"Content-Type": "application/json"}, json.dumps(payload).encode())


@pytest.fixture
def simulator() -> Iterator[NetgsmSimulator]:
    with NetgsmSimulator(username=USER, password=PASSWORD, clock=lambda: NOW) as netgsm:
        yield netgsm


@pytest.fixture
def transport(simulator: NetgsmSimulator) -> Iterator[HttpTransport]:
    with HttpTransport(simulator.url, adapter(), sleep=lambda seconds: None) as http:
        yield http


# -- the request ----------------------------------------------------------------------------


def test_commercial_message_to_a_merchant_is_iysfilter_12() -> None:
    """A commercial message to a TACIR goes with iysfilter "12", Basic auth, ten digits."""
    request = adapter(appname="acme-shop").build_request(
        [
            sms(
                text="Bayilere özel: ŞUBAT kampanyası başladı.",
                category=MessageCategory.COMMERCIAL,
                recipient_type=RecipientType.TACIR,
                iys_code="654321",
                brand="ACME",
            )
        ],
        "m1",
    )
    assert (request.method, request.url) == ("POST", "/sms/rest/v2/send")
    assert request.headers["Authorization"] == BASIC
    assert request.json == {
        "msgheader": "ACME",
        "messages": [{"msg": "Bayilere özel: ŞUBAT kampanyası başladı.", "no": "5321234567"}],
        "iysfilter": "12",
        "encoding": "TR",
        "appname": "acme-shop",
    }


def test_informational_message_is_iysfilter_0_without_encoding() -> None:
    """An informational GSM text goes with iysfilter "0" and no encoding, whoever gets it."""
    request = adapter().build_request(
        [sms(category="informational", recipient_type=RecipientType.TACIR)], "m1"
    )
    assert request.json == {
        "msgheader": "ACME",
        "messages": [{"msg": "Kargonuz yolda.", "no": "5321234567"}],
        "iysfilter": "0",
    }


@pytest.mark.parametrize(
    ("category", "recipient_type", "flag"),
    [
        (MessageCategory.COMMERCIAL, RecipientType.BIREYSEL, "11"),
        (MessageCategory.COMMERCIAL, RecipientType.TACIR, "12"),
        (None, RecipientType.BIREYSEL, "11"),  # unsaid is commercial
        (MessageCategory.INFORMATIONAL, RecipientType.BIREYSEL, "0"),
        (MessageCategory.LEGALLY_REQUIRED, RecipientType.TACIR, "0"),
    ],
)
def test_iysfilter_of_each_category(
    category: MessageCategory | None, recipient_type: RecipientType, flag: str
) -> None:
    """Each category and recipient type has its iysfilter."""
    request = adapter().build_request([sms(category=category, recipient_type=recipient_type)], "m1")
    assert isinstance(request.json, dict)
    assert request.json["iysfilter"] == flag


def test_a_batch_is_one_request_with_a_text_each_and_one_job() -> None:
    """n:n: several texts in one request; the one jobid becomes <jobid>:<number> each,
    and a number met twice gets #2."""
    batch = [
        sms("m1", "+905321234567", "Merhaba Ali"),
        sms("m2", "+905331234567", "Merhaba Veli"),
        sms("m3", "+905321234567", "Merhaba Ali, ikinci"),
    ]
    netgsm = adapter()
    request = netgsm.build_request(batch, "batch-1")
    assert request.json == {
        "msgheader": "ACME",
        "messages": [
            {"msg": "Merhaba Ali", "no": "5321234567"},
            {"msg": "Merhaba Veli", "no": "5331234567"},
            {"msg": "Merhaba Ali, ikinci", "no": "5321234567"},
        ],
        "iysfilter": "11",
    }
    results = netgsm.parse_response(
        batch, answer({"code": "00", "jobid": "12345", "description": "Success"})
    )
    assert [(r.id, r.provider_id) for r in results] == [
        ("m1", "12345:5321234567"),
        ("m2", "12345:5331234567"),
        ("m3", "12345:5321234567#2"),
    ]


def test_what_netgsm_sets_per_request_groups_a_batch() -> None:
    """A merchant and a person, a Turkish and a plain text, a schedule: other requests."""
    netgsm = adapter()
    person = sms(category="commercial", recipient_type=RecipientType.BIREYSEL)
    merchant = sms(category="commercial", recipient_type=RecipientType.TACIR)
    turkish = sms(text="Kışlık ürünler", category="commercial")
    assert netgsm.group_key(person) != netgsm.group_key(merchant)
    assert netgsm.group_key(person) != netgsm.group_key(turkish)
    assert netgsm.group_key(person) == netgsm.group_key(sms("m2", "+905339999999"))
    with pytest.raises(TransportError, match="Netgsm sets those per request"):
        netgsm.build_request([person, merchant], "batch")


def test_send_at_and_validity_are_startdate_and_stopdate_in_istanbul() -> None:
    """send_at is startdate, send_at + validity stopdate, ddMMyyyyHHmm Istanbul time; the
    validity is kept within Netgsm's 1 to 21 hours."""
    at = datetime(2026, 3, 2, 7, 30, tzinfo=UTC)
    request = adapter().build_request([sms(send_at=at, validity=timedelta(hours=2))], "m1")
    assert isinstance(request.json, dict)
    assert (request.json["startdate"], request.json["stopdate"]) == ("020320261030", "020320261230")
    short = adapter().build_request([sms(validity=timedelta(minutes=5))], "m1").json
    long = adapter().build_request([sms(validity=timedelta(days=3))], "m1").json
    assert isinstance(short, dict)
    assert isinstance(long, dict)
    assert "startdate" not in short
    assert short["stopdate"] == "020320261300"  # NOW + 1 hour
    assert long["stopdate"] == "030320260900"  # NOW + 21 hours


def test_partnercode_is_sent_when_given() -> None:
    request = adapter(partnercode="1312").build_request([sms()], "m1")
    assert isinstance(request.json, dict)
    assert request.json["partnercode"] == "1312"


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (sms(to="+4915112345678"), "number"),
        (OutboundSms("m1", "+905321234567", plan("Merhaba")), "msgheader"),
    ],
)
def test_what_netgsm_cannot_take_is_refused_before_sending(message: OutboundSms, code: str) -> None:
    """A foreign number (``no`` takes ten digits) or no msgheader at all is refused."""
    error = adapter().refuse(message)
    assert isinstance(error, SubmitRejected)
    assert error.code == code


# -- the answer -----------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "expected"), sorted(SEND_ERRORS.items()))
def test_every_send_error_code_maps_to_its_error(code: str, expected: type[TransportError]) -> None:
    """The 406 answer of each documented code (shape of netgsm-sms-js's unit test)."""
    batch = [sms("m1"), sms("m2", "+905331234567")]
    results = adapter().parse_response(
        batch, answer({"code": code, "jobid": None, "description": "Check it"}, 406)
    )
    assert [r.id for r in results] == ["m1", "m2"]
    for result in results:
        assert type(result.error) is expected
        assert result.provider_id is None
        assert getattr(result.error, "code", None) == code
        assert f"code {code}" in str(result.error)


def test_the_sdk_error_sample_keeps_netgsm_words() -> None:
    """netgsm-sms-js: {"code": "40", "jobid": null, "description": "Check the msgheader
    parameter"} with HTTP 406."""
    [result] = adapter().parse_response(
        [sms()],
        answer({"code": "40", "jobid": None, "description": "Check the msgheader parameter"}, 406),
    )
    assert str(result.error) == (
        "Netgsm refused the message: code 40: Message header (sender name) is not defined "
        "in the system (Check the msgheader parameter)"
    )


@pytest.mark.parametrize(
    ("response", "expected", "code"),
    [
        (answer({"code": "999", "description": "?"}, 406), SubmitRejected, "999"),
        (HttpResponse(401, {}, b"Unauthorized"), AuthenticationFailed, "401"),
        (HttpResponse(500, {}, b"<html>oops</html>"), TransportTimeout, None),
        (answer({"code": "00", "description": "Success"}), TransportTimeout, None),
        (HttpResponse(200, {}, b"not json"), TransportTimeout, None),
        (HttpResponse(404, {}, b"Not found"), SubmitRejected, "404"),
    ],
)
def test_odd_answers(
    response: HttpResponse, expected: type[TransportError], code: str | None
) -> None:
    """An undocumented code is rejected with it; an unreadable or id-less success, or a
    server error without a code, leaves the outcome unknown (nothing is sent twice)."""
    [result] = adapter().parse_response([sms()], response)
    assert type(result.error) is expected
    assert getattr(result.error, "code", None) == code


def test_the_password_never_reaches_an_error() -> None:
    """Should Netgsm echo the credentials, the error shows ***."""
    [result] = adapter().parse_response(
        [sms()], answer({"code": "30", "description": f"bad {USER}:{PASSWORD} {BASIC}"}, 406)
    )
    assert PASSWORD not in str(result.error)
    assert BASIC.removeprefix("Basic ") not in str(result.error)
    assert PASSWORD not in repr(adapter()) + str(adapter())


# -- reports ----------------------------------------------------------------------------------

REPORT = HttpRequest("POST", REPORT_PATH)
INBOX = HttpRequest("GET", INBOX_PATH)


def test_the_sdk_report_sample_is_a_delivered_report() -> None:
    """netgsm-sms-js's report sample: status 1 is delivered, deliveredDate Istanbul time."""
    events = adapter().parse_poll(
        REPORT,
        answer(
            {
                "code": "00",
                "description": "Success",
                "jobs": [
                    {
                        "jobid": "12345",
                        "status": 1,
                        "number": "5551234567",
                        "operator": 30,
                        "msglen": 10,
                        "deliveredDate": "2023-01-15 14:30:00",
                    }
                ],
            }
        ),
    )
    assert events == [
        DeliveryReport(
            "12345:5551234567",
            DeliveryStatus.DELIVERED,
            None,
            datetime(2023, 1, 15, 14, 30, tzinfo=ISTANBUL),
        )
    ]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (1, DeliveryStatus.DELIVERED),
        (2, DeliveryStatus.EXPIRED),
        (3, DeliveryStatus.REJECTED),
        (4, DeliveryStatus.REJECTED),
        (11, DeliveryStatus.REJECTED),
        (12, DeliveryStatus.UNDELIVERED),
        (13, DeliveryStatus.REJECTED),
        (14, DeliveryStatus.REJECTED),
        (15, DeliveryStatus.REJECTED),
        (16, DeliveryStatus.REJECTED),
        (17, DeliveryStatus.REJECTED),
        (103, DeliveryStatus.REJECTED),
        (99, DeliveryStatus.UNKNOWN),
    ],
)
def test_each_report_state(status: int, expected: DeliveryStatus) -> None:
    """Every documented state (0-17, 103) has its status; a failure keeps Netgsm's state
    (and the operator's errorCode) as the error code."""
    [event] = adapter().parse_poll(
        REPORT,
        answer(
            {
                "code": "00",
                "jobs": [
                    {"jobid": 7, "number": "905551234567", "status": status, "errorCode": 0},
                ],
            }
        ),
    )
    assert isinstance(event, DeliveryReport)
    assert (event.provider_id, event.status) == ("7:5551234567", expected)
    assert event.error_code == (None if status == 1 else str(status))


def test_rows_still_waiting_make_no_event_and_twins_keep_their_order() -> None:
    """State 0 is no news; two rows of one number in one job settle #1 then #2; a
    failing row keeps the operator's errorCode after Netgsm's state."""
    rows = [
        {"jobid": "9", "number": "5551234567", "status": 0},
        {"jobid": "9", "number": "5551234567", "status": 16, "errorCode": 1007},
        {"jobid": "9", "number": "05331234567", "status": 15},
        "garbage",
        {"jobid": "9", "number": "123", "status": 1},
    ]
    events = adapter().parse_poll(REPORT, answer({"code": "00", "jobs": rows}))
    assert [(e.provider_id, e.status, e.error_code) for e in events] == [  # type: ignore[union-attr]
        ("9:5551234567#2", DeliveryStatus.REJECTED, "16/1007"),
        ("9:5331234567", DeliveryStatus.REJECTED, "15"),
    ]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("30", AuthenticationFailed),
        ("70", SubmitRejected),
        ("80", Throttled),
        ("100", SubmitRejected),
        ("110", SubmitRejected),
    ],
)
def test_report_error_codes(code: str, expected: type[TransportError]) -> None:
    """Report codes (netgsm-sms-js ReportErrorCode) raise; 60 is simply nothing yet."""
    with pytest.raises(expected) as raised:
        adapter().parse_poll(REPORT, answer({"code": code, "description": "x"}, 406))
    assert getattr(raised.value, "code", None) == code
    assert adapter().parse_poll(REPORT, answer({"code": "60", "description": "x"}, 406)) == []


def test_report_requests_batch_jobs_a_page_each_in_turn() -> None:
    """Jobs whose size is known share a request up to 100 rows; an unknown job has one
    of its own; at most report_queries a poll, the next poll going on from there."""
    netgsm = adapter(report_queries=2, poll_inbox=False)
    for job, size in (("101", 60), ("102", 30), ("103", 20)):
        batch = [sms(f"{job}-{i}", f"+90532{i:07d}") for i in range(size)]
        netgsm.parse_response(batch, answer({"code": "00", "jobid": job}))
    pending = ["101:5320000000", "102:5320000001", "103:5320000002", "104:5320000003", "bad"]
    first = netgsm.poll_requests(pending, NOW)
    assert [r.json for r in first] == [
        {"jobids": ["101", "102"], "pagesize": 100, "pagenumber": 0},
        {"jobids": ["103"], "pagesize": 100, "pagenumber": 0},
    ]
    assert all(r.headers["Authorization"] == BASIC for r in first)
    second = netgsm.poll_requests(pending, NOW)
    assert [r.json for r in second] == [
        {"jobids": ["104"], "pagesize": 100, "pagenumber": 0},
        {"jobids": ["101", "102"], "pagesize": 100, "pagenumber": 0},
    ]


def test_the_inbox_is_asked_since_the_last_poll_at_most_30_days() -> None:
    """GET /sms/rest/v2/inbox with startdate/stopdate as ddMMyyyyHHmmss Istanbul time."""
    [request] = adapter().poll_requests([], NOW - timedelta(minutes=10))
    assert (request.method, request.url) == ("GET", "/sms/rest/v2/inbox")
    assert request.params == {"startdate": "02032026115000", "stopdate": "02032026120100"}
    [old] = adapter().poll_requests([], NOW - timedelta(days=90))
    assert old.params is not None
    assert old.params["startdate"] == "31012026120100"


# -- inbound texts ----------------------------------------------------------------------------


def test_the_sdk_inbox_sample_is_an_inbound_text() -> None:
    """netgsm-sms-js's inbox sample; the same row read again has the same provider id."""
    payload = {
        "code": "00",
        "description": "Success",
        "messages": [
            {
                "message": "Test message",
                "sender": "5551234567",
                "receiver": "8503050000",
                "datetime": "15.01.2023 14:30:00",
            }
        ],
    }
    [event] = adapter().parse_poll(INBOX, answer(payload))
    assert isinstance(event, InboundSms)
    assert (event.from_, event.to, event.text) == ("+905551234567", "8503050000", "Test message")
    assert event.received_at.replace(microsecond=0) == datetime(
        2023, 1, 15, 14, 30, tzinfo=ISTANBUL
    )
    assert event.provider_id is not None
    assert event.provider_id.startswith("netgsm-mo-")
    assert adapter().parse_poll(INBOX, answer(payload)) == [event]


@pytest.mark.parametrize(
    ("code", "expected"), [("30", AuthenticationFailed), ("70", SubmitRejected)]
)
def test_inbox_error_codes(code: str, expected: type[TransportError]) -> None:
    """Inbox codes (netgsm-sms-js InboxErrorCode) raise; 40 is an empty inbox."""
    with pytest.raises(expected):
        adapter().parse_poll(INBOX, answer({"code": code, "description": "x"}, 406))
    assert adapter().parse_poll(INBOX, answer({"code": "40", "description": "x"}, 406)) == []


WEBHOOK = {
    "mesaj": "ACME RET",
    "ceptel": "5531234567",
    "aboneno": "3121234567",
    "gorevid": "112345720",
    "tarih": "2023-02-21 16:28:41.053",
}


def test_the_mo_webhook_sample_is_an_inbound_text() -> None:
    """The "URL Adresine Yönlendir" push of netgsm/sms's README, as JSON or as a form."""
    netgsm = adapter()
    [event] = netgsm.parse_callback("POST", {}, {}, json.dumps(WEBHOOK).encode())
    assert isinstance(event, InboundSms)
    assert (event.from_, event.to, event.text) == ("+905531234567", "3121234567", "ACME RET")
    assert event.received_at.replace(microsecond=0) == datetime(
        2023, 2, 21, 16, 28, 41, tzinfo=ISTANBUL
    )
    form = "&".join(f"{k}={v.replace(' ', '+')}" for k, v in WEBHOOK.items()).encode()
    assert netgsm.parse_callback("POST", {}, {}, form) == [event]


@pytest.mark.parametrize(
    ("method", "body"),
    [("GET", b""), ("POST", b'{"ceptel": "5531234567"}'), ("POST", b"\xff\xfe")],
)
def test_unreadable_webhooks_are_refused(method: str, body: bytes) -> None:
    with pytest.raises(CallbackError):
        adapter().parse_callback(method, {}, {}, body)


@settings(max_examples=200, deadline=None)
@given(body=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_untrusted_answers_raise_only_transport_errors(body: bytes) -> None:
    """Whatever Netgsm (or a proxy) answers, polling raises a TransportError or reads
    events; a webhook raises a CallbackError or reads events."""
    netgsm = adapter()
    for request in (REPORT, INBOX):
        for status in (200, 406):
            try:
                events: list[InboundEvent] = netgsm.parse_poll(
                    request, HttpResponse(status, {}, body)
                )
            except TransportError:
                continue
            assert all(isinstance(e, DeliveryReport | InboundSms) for e in events)
    with contextlib.suppress(CallbackError):
        netgsm.parse_callback("POST", {}, {}, body)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "jobid": json_values,
                "number": json_values,
                "status": json_values,
                "errorCode": json_values,
                "deliveredDate": json_values,
                "message": json_values,
                "sender": json_values,
                "datetime": json_values,
            },
        ),
        max_size=5,
    )
)
def test_untrusted_rows_never_break_a_poll(rows: list[dict[str, object]]) -> None:
    """Rows of any shape are read or skipped; the poll itself goes on."""
    netgsm = adapter()
    netgsm.parse_poll(REPORT, answer({"code": "00", "jobs": rows}))
    netgsm.parse_poll(INBOX, answer({"code": "00", "messages": rows}))


# -- against the simulator -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("a" * 155, 1),  # 160 septets less the operator code's 5
        ("a" * 156, 2),
        ("a" * 301, 2),  # 2 x 153 - 5
        ("a" * 302, 3),
        ("[" * 77 + "a", 1),  # an escape costs two septets
        ("[" * 78, 2),
        ("ş" + "a" * 148, 1),  # Turkish single shift: 155 - 5, ş costing two
        ("ş" + "a" * 149, None),  # isobil: 1 part in the locking shift; Netgsm: 2
        ("ş" + "a" * 291, 2),  # 2 x 149 - 5
        ("ş" + "a" * 292, None),  # isobil: 2 parts in the locking shift; Netgsm: 3
        ("ş" * 75, 1),
        ("✓" * 65, 1),  # UCS-2: 70 - 5
        ("✓" * 66, 2),
        ("✓" * 129, 2),  # 2 x 67 - 5
        ("✓" * 130, 3),
    ],
)
def test_boundary_texts_are_billed_as_counted(
    transport: HttpTransport, simulator: NetgsmSimulator, text: str, parts: int | None
) -> None:
    """isobil's count, Netgsm's count (the simulator's own table) and the expected one
    agree; a text isobil counts in fewer parts than Netgsm bills is not sent."""
    message = OutboundSms("m1", "+905321234567", plan(text), "ACME")
    [result] = transport.submit([message])
    if parts is None:
        assert isinstance(result.error, SubmitRejected)
        assert result.error.code == "parts"
        assert simulator.received == []
        return
    assert result.ok, result.error
    [received] = simulator.received
    assert (plan(text).parts, received.parts) == (parts, parts)
    assert received.text == text


def test_a_text_isobil_would_send_in_the_locking_shift_is_refused(
    transport: HttpTransport, simulator: NetgsmSimulator
) -> None:
    """Netgsm has no Turkish locking shift: a text that needs fewer parts with it is not
    sent, rather than billed more than counted."""
    text = "şğı" * 60  # locking: 180 septets, 2 parts; single shift: 360, 3 parts
    counted = plan(text)
    assert (counted.encoding.value, counted.parts, netgsm_billed_parts(text, "TR")) == (
        "gsm7-tr-locking",
        2,
        3,
    )
    [result] = transport.submit([OutboundSms("m1", "+905321234567", counted, "ACME")])
    assert isinstance(result.error, SubmitRejected)
    assert result.error.code == "parts"
    assert simulator.requests == []


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=TURKISH_TEXT)
def test_any_text_sent_is_billed_as_counted(
    transport: HttpTransport, simulator: NetgsmSimulator, text: str
) -> None:
    """Whatever is sent arrives whole, billed in the parts isobil counted."""
    before = len(simulator.received)
    [result] = transport.submit([OutboundSms("m1", "+905321234567", plan(text), "ACME")])
    if not result.ok:
        assert isinstance(result.error, SubmitRejected)
        assert result.error.code == "parts"
        assert len(simulator.received) == before
        return
    received = simulator.received[-1]
    assert (received.text, received.parts) == (text, plan(text).parts)


def test_reports_settle_by_job_and_number(
    transport: HttpTransport, simulator: NetgsmSimulator
) -> None:
    """Delivered, İYS-rejected and blacklisted rows reach their own messages."""
    events: list[InboundEvent] = []
    transport.set_inbound_handler(events.append)
    batch = [sms(f"m{i}", f"+90532000000{i}") for i in range(3)]
    ids = [r.provider_id for r in transport.submit(batch)]
    assert all(ids)
    simulator.deliver(str(ids[0]), DeliveryStatus.DELIVERED)
    simulator.deliver(str(ids[1]), DeliveryStatus.REJECTED, reason="16")
    simulator.deliver(str(ids[2]), DeliveryStatus.REJECTED, reason="15")
    transport.poll(ids, NOW)  # type: ignore[arg-type]
    reports = {
        e.provider_id: (e.status, e.error_code) for e in events if isinstance(e, DeliveryReport)
    }
    assert reports == {
        ids[0]: (DeliveryStatus.DELIVERED, None),
        ids[1]: (DeliveryStatus.REJECTED, "16"),
        ids[2]: (DeliveryStatus.REJECTED, "15"),
    }


def test_more_than_ten_report_queries_a_minute_are_throttled(simulator: NetgsmSimulator) -> None:
    """Netgsm's limit (10 a minute, code 80) comes back as Throttled from the poll."""
    simulator.report_limit = 1
    netgsm = adapter(poll_inbox=False)
    with HttpTransport(simulator.url, netgsm, sleep=lambda seconds: None) as http:
        [result] = http.submit([sms()])
        http.poll([str(result.provider_id)], NOW)
        with pytest.raises(Throttled) as raised:
            http.poll([str(result.provider_id)], NOW)
    assert raised.value.code == "80"


def test_wrong_credentials_are_refused_everywhere(simulator: NetgsmSimulator) -> None:
    """Code 30 on send and on poll; the password is in no error and no log."""
    wrong = NetgsmAdapter(username=USER, password="wrong-password", clock=lambda: NOW)  # noqa: S106
    with HttpTransport(simulator.url, wrong, sleep=lambda seconds: None) as http:
        [result] = http.submit([sms()])
        assert isinstance(result.error, AuthenticationFailed)
        with pytest.raises(AuthenticationFailed):
            http.poll(["1:5321234567"], NOW)
    assert "wrong-password" not in str(result.error)


def test_balance(simulator: NetgsmSimulator, caplog: pytest.LogCaptureFixture) -> None:
    """POST /balance with usercode, password and stip 2 gives the credit."""
    caplog.set_level(logging.DEBUG)
    netgsm = adapter()
    request = netgsm.balance_request()
    assert request.json == {"usercode": USER, "password": PASSWORD, "stip": 2}
    with HttpTransport(simulator.url, netgsm) as http:
        assert netgsm.parse_balance(http.call(request)) == Decimal("1000.00")
    assert netgsm.parse_balance(answer({"code": "00", "balance": "12,5"})) == Decimal("12.5")
    with pytest.raises(AuthenticationFailed):
        netgsm.parse_balance(answer({"code": "30"}, 406))
    assert PASSWORD not in caplog.text


def test_reprs_mask_the_number_in_netgsm_ids(
    transport: HttpTransport, simulator: NetgsmSimulator
) -> None:
    """Netgsm's ids are ``<job id>:<number>``: a submit result's and a report's repr
    show the job id and mask the number."""
    events: list[InboundEvent] = []
    transport.set_inbound_handler(events.append)
    [result] = transport.submit([sms("m1", "+905321234567")])
    assert str(result.provider_id).endswith(":5321234567")
    simulator.deliver(str(result.provider_id), DeliveryStatus.DELIVERED)
    transport.poll([str(result.provider_id)], NOW)
    [report] = [e for e in events if isinstance(e, DeliveryReport)]
    job = str(result.provider_id).split(":")[0]
    for shown in (repr(result), repr(report)):
        assert f"'{job}:********67'" in shown
        assert "5321234567" not in shown
