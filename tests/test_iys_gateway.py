"""İYS: the consent record's wire format, the fake registry, and the HTTP gateway.

The HTTP gateway is tested against a real HTTP server on loopback that speaks the
İYS endpoints by delegating to a FakeIysGateway, so the fake is the one source of
truth for İYS's rules and both gateways are held to them.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import re
import secrets
import socket
import threading
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import attrs
import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from isobil.consent._business_days import ISTANBUL
from isobil.consent._iys import (
    DEFAULT_RATE_LIMITS,
    FakeIysGateway,
    HttpIysGateway,
    IysBatchResult,
    IysChanges,
    IysConsent,
    IysError,
    IysRateLimited,
    IysRecordResult,
    IysUnavailable,
    ManualClock,
)
from isobil.errors import InvalidValue, IsobilError
from isobil.model import Channel, ConsentEvent, ConsentSource, ConsentStatus, RecipientType

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday, 12:00 in Türkiye
ALICE = "+905321234567"
BOB = "+905331234567"
CAROL = "+905341234567"
USERNAME = "acme-api"
PASSWORD = "pa55-Wrd-VERY-SECRET-31337"  # noqa: S105 - a made-up credential for the loopback server
IYS_CODE = 123456
BRAND_CODE = 654321


def consent(
    recipient: str = ALICE,
    status: ConsentStatus = ConsentStatus.ONAY,
    at: datetime = START,
    *,
    source: ConsentSource = ConsentSource.HS_WEB,
    channel: Channel = Channel.MESAJ,
) -> IysConsent:
    return IysConsent(recipient, channel, RecipientType.BIREYSEL, status, at, source)


# -- the record -----------------------------------------------------------------------


def test_to_json_uses_iys_field_names_and_turkish_time() -> None:
    """09:00 UTC is sent as 12:00 in Türkiye, with exactly İYS's field names."""
    record = consent(at=datetime(2026, 3, 1, 9, 0, tzinfo=UTC))
    assert record.to_json() == {
        "recipient": "+905321234567",
        "type": "MESAJ",
        "source": "HS_WEB",
        "status": "ONAY",
        "consentDate": "2026-03-01 12:00:00",
        "recipientType": "BIREYSEL",
    }


def test_to_json_includes_retailer_fields_when_set() -> None:
    """Dealer fields are sent only when present."""
    record = attrs.evolve(consent(), retailer_code=55550127, retailer_access=[1, 2])
    data = record.to_json()
    assert data["retailerCode"] == 55550127
    assert data["retailerAccess"] == [1, 2]


@pytest.mark.parametrize(
    "record",
    [
        consent(),
        consent(status=ConsentStatus.RET, source=ConsentSource.HS_KARAR),
        consent("Ornek@Adiniz.COM", channel=Channel.EPOSTA),
        attrs.evolve(consent(channel=Channel.ARAMA, recipient="+902121234567"), retailer_code=7),
        consent(at=datetime(2014, 7, 1, 8, 30, 15, 999, tzinfo=UTC), source=ConsentSource.HS_2015),
    ],
)
def test_json_round_trip(record: IysConsent) -> None:
    """What to_json writes, from_json reads back equal (İYS keeps seconds, so does isobil)."""
    assert record == IysConsent.from_json(json.loads(json.dumps(record.to_json())))


@given(
    recipient=st.sampled_from([ALICE, BOB, "a.b@example.com.tr"]),
    status=st.sampled_from(ConsentStatus),
    source=st.sampled_from(ConsentSource),
    recipient_type=st.sampled_from(RecipientType),
    at=st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2099, 1, 1),
        timezones=st.sampled_from([UTC, ISTANBUL]),
    ),
)
def test_json_round_trip_property(
    recipient: str,
    status: ConsentStatus,
    source: ConsentSource,
    recipient_type: RecipientType,
    at: datetime,
) -> None:
    """Every record survives the wire, İYS-side source spellings included."""
    channel = Channel.EPOSTA if "@" in recipient else Channel.MESAJ
    record = IysConsent(recipient, channel, recipient_type, status, at, source)
    assert record == IysConsent.from_json(record.to_json())


def test_consent_date_is_kept_in_turkish_time_to_the_second() -> None:
    """The stored date is the same instant, in Europe/Istanbul, without microseconds."""
    record = consent(at=datetime(2026, 3, 1, 9, 0, 5, 123456, tzinfo=UTC))
    assert datetime(2026, 3, 1, 12, 0, 5, tzinfo=ISTANBUL) == record.consent_date
    assert record.consent_date.tzinfo == ISTANBUL


def test_from_json_ignores_fields_isobil_does_not_keep() -> None:
    """İYS answers carry creationDate, transactionId …; they are not errors."""
    data = consent().to_json() | {
        "creationDate": "2026-03-02 12:00:01",
        "transactionId": "abc",
        "retailerAccessCount": 0,
        "retailerCode": "987654",
    }
    assert IysConsent.from_json(data).retailer_code == 987654


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"recipient": None}, "recipient"),
        ({"recipient": "12"}, "recipient"),
        ({"type": "SMS"}, "type"),
        ({"status": "RED"}, "status"),
        ({"consentDate": "01.03.2026 12:00"}, "consentDate"),
        ({"consentDate": 20260301}, "consentDate"),
        ({"source": "HS_BOGUS"}, "source"),
        ({"recipientType": "KURUMSAL"}, "recipientType"),
        ({"retailerCode": "abc"}, "retailerCode"),
        ({"retailerAccess": "1,2"}, "retailerAccess"),
    ],
)
def test_from_json_names_the_bad_field(change: dict[str, object], field: str) -> None:
    """Untrusted input fails with an IysError that says which field is wrong."""
    data = consent().to_json() | change
    with pytest.raises(IysError, match=f"'{field}'"):
        IysConsent.from_json(data)


@pytest.mark.parametrize(
    "field", ["recipient", "type", "status", "consentDate", "source", "recipientType"]
)
def test_from_json_names_a_missing_field(field: str) -> None:
    """A missing field is an IysError naming it, never a KeyError."""
    data = consent().to_json()
    del data[field]
    with pytest.raises(IysError, match=f"no '{field}' field"):
        IysConsent.from_json(data)


def test_from_json_refuses_what_is_not_an_object() -> None:
    """A JSON array where a record should be is an IysError."""
    with pytest.raises(IysError, match="JSON object"):
        IysConsent.from_json([1, 2])  # type: ignore[arg-type]


def test_iys_side_sources_round_trip() -> None:
    """İYS's own channels (IYS_3338, IYS_CM …) keep their names; unknown ones are IYS_OTHER."""
    data = consent(status=ConsentStatus.RET).to_json() | {"source": "IYS_3338"}
    record = IysConsent.from_json(data)
    assert record.source == ConsentSource.IYS_3338
    assert record.to_json()["source"] == "IYS_3338"
    cm = IysConsent.from_json(data | {"source": "IYS_CM"})
    assert cm.source == ConsentSource.IYS_CM
    unknown = IysConsent.from_json(data | {"source": "IYS_YENI_KANAL"})
    assert unknown.source == ConsentSource.IYS_OTHER


def test_channel_and_recipient_must_match() -> None:
    """EPOSTA takes an e-mail; MESAJ and ARAMA take a phone number."""
    with pytest.raises(InvalidValue, match="e-mail"):
        consent(ALICE, channel=Channel.EPOSTA)
    with pytest.raises(InvalidValue, match="phone number"):
        consent("a@example.com", channel=Channel.MESAJ)


def test_naive_consent_date_is_refused() -> None:
    """Without a zone the Turkish time cannot be known."""
    with pytest.raises(InvalidValue, match="timezone-aware"):
        consent(at=datetime(2026, 3, 1, 9, 0))


def test_from_event_takes_the_ledger_fields() -> None:
    """A ledger event becomes the İYS record with the same address, channel and date."""
    event = ConsentEvent(
        address="0532 123 45 67",
        status="ONAY",
        source="HS_MESAJ",
        brand="ACME",
        consent_date=START,
        recorded_at=START,
    )
    record = IysConsent.from_event(event)
    assert consent(source=ConsentSource.HS_MESAJ) == record


def test_repr_masks_the_recipient() -> None:
    """Reprs end up in logs: the phone number is masked."""
    text = repr(consent())
    assert ALICE not in text
    assert "+90********67" in text


# -- the fake -------------------------------------------------------------------------


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def iys(clock: ManualClock, request: pytest.FixtureRequest) -> FakeIysGateway:
    """A fake İYS on the manual clock; parametrize indirectly to change its rate limits."""
    changed = getattr(request, "param", {})
    return FakeIysGateway(clock=clock, rate_limits={**DEFAULT_RATE_LIMITS, **changed})


ONE_STATUS_A_MINUTE = {"status": (1, timedelta(seconds=60))}


def test_first_record_cannot_be_ret(iys: FakeIysGateway) -> None:
    """İYS refuses a RET for a recipient it has no record of (H175)."""
    with pytest.raises(IysError) as info:
        iys.add_consent(consent(status=ConsentStatus.RET))
    assert info.value.code == "H175"
    assert iys.consents == {}


def test_first_record_cannot_come_from_hs_karar(iys: FakeIysGateway) -> None:
    """HS_KARAR is the provider's own RET decision: not a way to create a record."""
    with pytest.raises(IysError) as info:
        iys.add_consent(consent(source=ConsentSource.HS_KARAR))
    assert info.value.code == "ISOBIL-KARAR-FIRST"


def test_ret_after_onay_is_accepted(iys: FakeIysGateway, clock: ManualClock) -> None:
    """Once a record exists, RET (HS_KARAR included) replaces it."""
    iys.add_consent(consent())
    later = clock.advance(timedelta(hours=1))
    iys.add_consent(consent(status=ConsentStatus.RET, at=later, source=ConsentSource.HS_KARAR))
    current = iys.consent_status(ALICE)
    assert current is not None
    assert current.status == ConsentStatus.RET


def test_ret_wins_over_onay_at_the_same_date(iys: FakeIysGateway) -> None:
    """At the same consentDate a RET replaces an ONAY, and an ONAY cannot undo a RET."""
    iys.add_consent(consent())
    iys.add_consent(consent(status=ConsentStatus.RET))
    with pytest.raises(IysError) as info:
        iys.add_consent(consent())
    assert info.value.code == "ISOBIL-RET-WINS"
    assert iys.consents[(ALICE, Channel.MESAJ, RecipientType.BIREYSEL)].status == ConsentStatus.RET


def test_older_record_is_refused(iys: FakeIysGateway) -> None:
    """A record dated before the current one does not overwrite it."""
    iys.add_consent(consent())
    with pytest.raises(IysError) as info:
        iys.add_consent(consent(status=ConsentStatus.RET, at=START - timedelta(days=1)))
    assert info.value.code == "ISOBIL-OLDER"


def test_resending_the_same_record_changes_nothing(iys: FakeIysGateway) -> None:
    """The same status at the same date is accepted once and not logged twice."""
    iys.add_consent(consent())
    iys.add_consent(consent())
    assert repr(iys) == "<FakeIysGateway consents=1 pending_batches=0 changes=1>"


@pytest.mark.parametrize(
    ("recipient", "channel"),
    [
        ("+442071838750", Channel.MESAJ),  # not Turkish
        ("+902121234567", Channel.MESAJ),  # a landline cannot take SMS
        ("a" * 260 + "@b.com", Channel.EPOSTA),  # longer than İYS's 265 characters
    ],
)
def test_recipient_format_is_checked(iys: FakeIysGateway, recipient: str, channel: Channel) -> None:
    """İYS takes Turkish numbers (mobiles for MESAJ) and e-mails of 6-265 characters."""
    with pytest.raises(IysError) as info:
        iys.add_consent(consent(recipient, channel=channel))
    assert info.value.code == "ISOBIL-RECIPIENT"
    assert "+442071838750" not in str(info.value)


def test_landline_takes_arama(iys: FakeIysGateway) -> None:
    """A voice-call consent may be for a landline."""
    iys.add_consent(consent("+902121234567", channel=Channel.ARAMA))
    assert iys.consent_status("0212 123 45 67", type=Channel.ARAMA) is not None


def test_provider_cannot_send_iys_side_sources(iys: FakeIysGateway) -> None:
    """IYS_* sources are İYS's own; a service provider sends HS_* only."""
    with pytest.raises(IysError) as info:
        iys.add_consent(consent(source=ConsentSource.IYS_WEB))
    assert info.value.code == "ISOBIL-SOURCE"


def test_single_add_is_rate_limited_per_minute(iys: FakeIysGateway, clock: ManualClock) -> None:
    """The 51st add inside a minute is refused with retry_after; a minute later it works."""
    for n in range(50):
        iys.add_consent(consent(f"+9053200000{n:02d}"))
    clock.advance(timedelta(seconds=20))
    with pytest.raises(IysRateLimited) as info:
        iys.add_consent(consent(BOB))
    assert info.value.retry_after == 40.0
    assert info.value.code == "H124"
    clock.advance(timedelta(seconds=40))
    iys.add_consent(consent(BOB))
    assert len(iys.consents) == 51


def test_rate_limit_window_slides(clock: ManualClock) -> None:
    """Calls leave the window one by one, a window after each was made."""
    iys = FakeIysGateway(clock=clock, rate_limits={"status": (2, timedelta(seconds=10))})
    iys.consent_status(ALICE)
    clock.advance(timedelta(seconds=5))
    iys.consent_status(ALICE)
    with pytest.raises(IysRateLimited) as info:
        iys.consent_status(ALICE)
    assert info.value.retry_after == 5.0
    clock.advance(timedelta(seconds=5))
    iys.consent_status(ALICE)  # the first call has left the window
    with pytest.raises(IysRateLimited):
        iys.consent_status(ALICE)
    assert sum(1 for endpoint, _ in iys.calls if endpoint == "status") == 5


def test_rate_limits_can_be_replaced_or_switched_off(clock: ManualClock) -> None:
    """A mapping replaces the defaults, so {} switches every limit off."""
    unlimited = FakeIysGateway(clock=clock, rate_limits={})
    for n in range(120):
        unlimited.consent_status(f"+9053200001{n % 100:02d}")
    assert (50, timedelta(minutes=1)) == DEFAULT_RATE_LIMITS["add"]
    with pytest.raises(InvalidValue, match="unknown İYS endpoint"):
        FakeIysGateway(rate_limits={"send": (1, timedelta(seconds=1))})


def test_batch_is_applied_only_after_the_delay(iys: FakeIysGateway, clock: ManualClock) -> None:
    """Before batch_delay nothing is applied; after it each record has its result."""
    request_id = iys.add_consents([consent(ALICE), consent(BOB, ConsentStatus.RET), consent(CAROL)])
    clock.advance(timedelta(seconds=29))
    assert IysBatchResult(request_id, done=False) == iys.batch_result(request_id)
    assert iys.consent_status(ALICE) is None
    clock.advance(timedelta(seconds=1))
    result = iys.batch_result(request_id)
    assert result.done
    assert [r.index for r in result.results] == [0, 1, 2]
    assert [r.ok for r in result.results] == [True, False, True]
    assert result.results[1].error_code == "H175"
    assert (result.results[1],) == result.failed
    assert {ALICE, CAROL} == {key[0] for key in iys.consents}
    assert START + timedelta(seconds=30) == iys.requests[request_id].due_at


def test_batch_limits(clock: ManualClock) -> None:
    """An empty or oversized batch is refused before it is sent; batch adds are 2 a minute."""
    iys = FakeIysGateway(clock=clock, max_batch=2)
    with pytest.raises(InvalidValue, match="at least one"):
        iys.add_consents([])
    with pytest.raises(InvalidValue, match="at most 2"):
        iys.add_consents([consent(ALICE), consent(BOB), consent(CAROL)])
    iys.add_consents([consent(ALICE)])
    iys.add_consents([consent(BOB)])
    with pytest.raises(IysRateLimited):
        iys.add_consents([consent(CAROL)])


def test_unknown_batch_request(iys: FakeIysGateway) -> None:
    """Polling a request id İYS never gave is an IysError, not a KeyError."""
    with pytest.raises(IysError, match="no batch request"):
        iys.batch_result("req-404")


def test_opt_out_on_iys_shows_up_in_pull_changes(iys: FakeIysGateway, clock: ManualClock) -> None:
    """A RET given on İYS itself is pulled; the provider's own adds are not İYS changes."""
    iys.add_consent(consent())
    assert IysChanges((), None) == iys.pull_changes()
    clock.advance(timedelta(minutes=5))
    ret = iys.opt_out_on_iys("0532 123 45 67")
    changes = iys.pull_changes()
    assert (ret,) == changes.consents
    assert ret.source == ConsentSource.IYS_3338
    assert ret.status == ConsentStatus.RET
    assert IysChanges((), None) == iys.pull_changes(changes.cursor)


def test_pull_changes_pages_with_cursor_and_limit(iys: FakeIysGateway, clock: ManualClock) -> None:
    """Changes come oldest first, ``limit`` at a time; an empty page has no cursor."""
    for recipient in (ALICE, BOB, CAROL):
        clock.advance(timedelta(seconds=1))
        iys.opt_in_on_iys(recipient)
    first = iys.pull_changes(limit=2)
    assert [c.recipient for c in first.consents] == [ALICE, BOB]
    second = iys.pull_changes(first.cursor, limit=2)
    assert [c.recipient for c in second.consents] == [CAROL]
    assert IysChanges((), None) == iys.pull_changes(second.cursor, limit=2)
    clock.advance(timedelta(seconds=1))
    iys.opt_out_on_iys(BOB)
    assert [c.recipient for c in iys.pull_changes(second.cursor).consents] == [BOB]
    with pytest.raises(InvalidValue):
        iys.pull_changes(limit=0)
    with pytest.raises(IysError, match="cursor"):
        iys.pull_changes("after-the-end")


def test_changes_on_iys_need_an_iys_source(iys: FakeIysGateway) -> None:
    """The helpers play İYS; an HS_* source there would be the provider's."""
    with pytest.raises(InvalidValue, match="IYS_"):
        iys.opt_out_on_iys(ALICE, source=ConsentSource.HS_WEB)


def test_closed_fake_refuses_calls(iys: FakeIysGateway) -> None:
    """After close() API calls fail, like a real client's would."""
    with iys:
        iys.add_consent(consent())
    with pytest.raises(IysError, match="closed"):
        iys.consent_status(ALICE)
    assert len(iys.consents) == 1


def test_manual_clock() -> None:
    """The clock only moves forward, and only when told."""
    clock = ManualClock(START)
    assert clock() == START
    assert START + timedelta(seconds=3) == clock.advance(timedelta(seconds=3))
    with pytest.raises(InvalidValue):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(InvalidValue):
        ManualClock(datetime(2026, 1, 1))
    assert repr(clock) == "<ManualClock 2026-03-02T09:00:03+00:00>"


def test_errors_belong_to_the_isobil_tree() -> None:
    """Catching IsobilError catches every İYS failure."""
    assert issubclass(IysRateLimited, IysError)
    assert issubclass(IysUnavailable, IysError)
    assert issubclass(IysError, IsobilError)


# -- a real HTTP server speaking İYS ---------------------------------------------------


@attrs.define
class Injected:
    """A canned answer for the next request: ``status`` None drops the connection."""

    status: int | None
    body: bytes = b""
    headers: dict[str, str] = attrs.Factory(dict)


@attrs.define
class ServerState:
    fake: FakeIysGateway
    expires_in: int = 7200
    tokens: set[str] = attrs.Factory(set)
    issued: list[str] = attrs.Factory(list)
    token_content_types: list[str] = attrs.Factory(list)
    requests: list[tuple[str, str, dict[str, list[str]]]] = attrs.Factory(list)
    injected: deque[Injected] = attrs.Factory(deque)
    ids: Iterator[int] = attrs.Factory(lambda: itertools.count(1))

    def inject(self, answer: Injected, times: int = 1) -> None:
        self.injected.extend([answer] * times)


class IysHandler(BaseHTTPRequestHandler):
    """İYS's endpoints, answered by the FakeIysGateway in ``server.state``."""

    protocol_version = "HTTP/1.1"  # keep-alive, so a dropped connection is a pooled one
    server: IysServer
    routes: ClassVar[dict[tuple[str, str], str]] = {
        ("POST", "consents"): "_add",
        ("POST", "consents/request"): "_add_batch",
        ("POST", "consents/status"): "_status",
        ("GET", "consents/changes"): "_changes",
    }

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test output is for the tests."""

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _reply(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)

    def _handle(self, method: str) -> None:
        state = self.server.state
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        url = urlsplit(self.path)
        state.requests.append((method, url.path, parse_qs(url.query)))
        if state.injected:
            answer = state.injected.popleft()
            if answer.status is None:
                self.close_connection = True
                return
            self._reply(answer.status, answer.body, answer.headers)
            return
        try:
            if url.path == "/oauth2/token" and method == "POST":
                self._token(raw)
                return
            self._api(method, url.path, raw, parse_qs(url.query))
        except IysRateLimited as exc:
            retry = {"Retry-After": str(math.ceil(exc.retry_after or 1))}
            self._reply(429, {"errors": [{"code": exc.code, "message": str(exc)}]}, retry)
        except IysError as exc:
            self._reply(exc.status or 422, {"errors": [{"code": exc.code, "message": str(exc)}]})
        except InvalidValue as exc:
            self._reply(400, {"errors": [{"code": "H097", "message": str(exc)}]})

    def _token(self, raw: bytes) -> None:
        state = self.server.state
        content_type = self.headers.get("Content-Type", "")
        state.token_content_types.append(content_type)
        if content_type.startswith("application/json"):
            form = {k: str(v) for k, v in json.loads(raw).items()}
        else:
            form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        try:
            state.fake.check_rate_limit("token")
        except IysRateLimited as exc:
            retry = {"Retry-After": str(math.ceil(exc.retry_after or 1))}
            self._reply(429, {"code": exc.code, "message": str(exc)}, retry)
            return
        if (form.get("grant_type"), form.get("username"), form.get("password")) != (
            "password",
            USERNAME,
            PASSWORD,
        ):
            self._reply(401, {"code": "H001", "message": "Kullanıcı adı veya parola hatalı"})
            return
        token = f"tok-{secrets.token_hex(12)}"
        state.tokens.add(token)
        state.issued.append(token)
        self._reply(
            200,
            {
                "access_token": token,
                "refresh_token": f"ref-{secrets.token_hex(12)}",
                "expires_in": state.expires_in,
                "refresh_expires_in": 2 * state.expires_in,
                "token_type": "bearer",
            },
        )

    def _api(self, method: str, path: str, raw: bytes, query: dict[str, list[str]]) -> None:
        state = self.server.state
        authorization = self.headers.get("Authorization", "")
        if not authorization.startswith("Bearer ") or authorization[7:] not in state.tokens:
            self._reply(
                401, {"errors": [{"code": "H351", "message": "Eksik veya geçersiz jeton!"}]}
            )
            return
        prefix = f"/sps/{IYS_CODE}/brands/{BRAND_CODE}/"
        if not path.startswith(prefix):
            self._reply(404, {"errors": [{"code": "H404", "message": "unknown brand"}]})
            return
        rest = path.removeprefix(prefix)
        body = json.loads(raw) if raw else None
        if method == "GET" and rest.startswith("consents/request/"):
            self._batch_result(rest.removeprefix("consents/request/"))
            return
        handler = self.routes.get((method, rest))
        if handler is None:
            self._reply(404, {"errors": [{"code": "H404", "message": f"no route {rest}"}]})
            return
        getattr(self, handler)(body, query)

    def _add(self, body: dict[str, object], query: object) -> None:
        state = self.server.state
        state.fake.add_consent(IysConsent.from_json(body))
        created = datetime.now(UTC).astimezone(ISTANBUL).strftime("%Y-%m-%d %H:%M:%S")
        self._reply(200, {"transactionId": f"tx-{next(state.ids)}", "creationDate": created})

    def _add_batch(self, body: list[dict[str, object]], query: object) -> None:
        state = self.server.state
        records = [IysConsent.from_json(item) for item in body]
        request_id = state.fake.add_consents(records)
        subs = [r.to_json() | {"subRequestId": f"sub-{i}"} for i, r in enumerate(records)]
        self._reply(200, {"requestId": request_id, "subRequests": subs})

    def _batch_result(self, request_id: str) -> None:
        fake = self.server.state.fake
        result = fake.batch_result(request_id)
        if not result.done:
            count = len(fake.requests[request_id].consents)
            self._reply(200, [{"index": i, "status": "enqueue"} for i in range(count)])
            return
        items: list[dict[str, object]] = []
        for r in reversed(result.results):  # İYS does not promise an order
            item: dict[str, object] = {"index": r.index, "status": "success" if r.ok else "failure"}
            if not r.ok:
                item["error"] = {"code": r.error_code, "message": r.error_message}
            items.append(item)
        self._reply(200, items)

    def _status(self, body: dict[str, str], query: object) -> None:
        found = self.server.state.fake.consent_status(
            body["recipient"],
            type=Channel(body["type"]),
            recipient_type=RecipientType(body["recipientType"]),
        )
        if found is None:
            self._reply(404, {"errors": [{"code": "H404", "message": "İzin bulunamadı"}]})
            return
        extra = {
            "creationDate": "2026-03-02 12:00:00",
            "transactionId": "tx",
            "retailerAccessCount": 0,
        }
        self._reply(200, found.to_json() | extra)

    def _changes(self, body: object, query: dict[str, list[str]]) -> None:
        after = query.get("after", [None])[0]
        limit = int(query.get("limit", ["500"])[0])
        changes = self.server.state.fake.pull_changes(after, limit=limit)
        # The real API always answers an 'after'; it stays put when nothing is new.
        self._reply(
            200,
            {"after": changes.cursor or after, "list": [c.to_json() for c in changes.consents]},
        )


class IysServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: ServerState) -> None:
        super().__init__(("127.0.0.1", 0), IysHandler)
        self.state = state

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


@pytest.fixture
def server(iys: FakeIysGateway) -> Iterator[IysServer]:
    """A loopback İYS; bound before its thread starts, so no wait is needed."""
    httpd = IysServer(ServerState(iys))
    # A short poll interval only makes shutdown() quick; nothing waits on it.
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture
def sleeps() -> list[float]:
    return []


def recorder(sleeps: list[float], clock: ManualClock | None = None) -> Callable[[float], None]:
    """A sleep that records; with a clock it also moves the fake İYS's time on."""

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if clock is not None:
            clock.advance(timedelta(seconds=seconds))

    return sleep


def make_gateway(server: IysServer, **options: Any) -> HttpIysGateway:
    settings: dict[str, Any] = {
        "base_url": server.url,
        "username": USERNAME,
        "password": PASSWORD,
        "iys_code": IYS_CODE,
        "brand_code": str(BRAND_CODE),
    }
    return HttpIysGateway(**(settings | options))


@pytest.fixture
def gateway(server: IysServer, sleeps: list[float], clock: ManualClock) -> Iterator[HttpIysGateway]:
    with make_gateway(server, sleep=recorder(sleeps, clock)) as gw:
        yield gw


def api_calls(server: IysServer, suffix: str) -> int:
    return sum(1 for _, path, _ in server.state.requests if path.endswith(suffix))


def test_http_round_trip_through_the_fake(gateway: HttpIysGateway, iys: FakeIysGateway) -> None:
    """A consent added over HTTP is in the fake, and reads back equal; unknown is None."""
    record = consent()
    gateway.add_consent(record)
    assert record == iys.consent_status(ALICE)
    assert record == gateway.consent_status("0532 123 45 67")
    assert gateway.consent_status(BOB) is None
    assert gateway.consent_status(ALICE, type=Channel.ARAMA) is None


def test_token_is_fetched_once_and_reused(gateway: HttpIysGateway, server: IysServer) -> None:
    """Every call after the first reuses the token; the login is a password-grant form."""
    gateway.add_consent(consent())
    gateway.consent_status(ALICE)
    gateway.pull_changes()
    assert api_calls(server, "/oauth2/token") == 1
    assert server.state.token_content_types == ["application/x-www-form-urlencoded"]


def test_token_is_renewed_before_it_expires(server: IysServer) -> None:
    """A token is not used in its last minute; the next call logs in again."""
    now = [1000.0]
    server.state.expires_in = 300
    with make_gateway(server, monotonic=lambda: now[0]) as gateway:
        gateway.consent_status(ALICE)
        now[0] += 239
        gateway.consent_status(ALICE)
        assert api_calls(server, "/oauth2/token") == 1
        now[0] += 1
        gateway.consent_status(ALICE)
        assert api_calls(server, "/oauth2/token") == 2


def test_401_renews_the_token_once(gateway: HttpIysGateway, server: IysServer) -> None:
    """A revoked token is replaced once; a second 401 is reported, not looped on."""
    gateway.consent_status(ALICE)
    server.state.tokens.clear()
    assert gateway.consent_status(ALICE) is None
    assert api_calls(server, "/oauth2/token") == 2
    server.state.inject(Injected(401, b'{"errors": [{"code": "H351", "message": "jeton"}]}'), 2)
    with pytest.raises(IysError) as info:
        gateway.consent_status(ALICE)
    assert info.value.status == 401
    assert info.value.code == "H351"
    assert api_calls(server, "/oauth2/token") == 3


def test_wrong_password_is_an_iys_error(server: IysServer) -> None:
    """Refused credentials are reported with the user name and no retry."""
    with make_gateway(server, password=PASSWORD[::-1]) as gateway, pytest.raises(IysError) as info:
        gateway.consent_status(ALICE)
    assert info.value.status == 401
    assert USERNAME in str(info.value)
    assert len(server.state.requests) == 1


def test_fake_refusals_reach_the_http_client(gateway: HttpIysGateway) -> None:
    """İYS's error code and HTTP status come through the wire into IysError."""
    with pytest.raises(IysError) as info:
        gateway.add_consent(consent(status=ConsentStatus.RET))
    assert info.value.code == "H175"
    assert info.value.status == 422


@pytest.mark.parametrize("iys", [ONE_STATUS_A_MINUTE], indirect=True)
def test_429_is_retried_after_retry_after(
    server: IysServer, iys: FakeIysGateway, clock: ManualClock
) -> None:
    """Over the status limit İYS says Retry-After; the gateway waits exactly that, then works."""
    sleeps: list[float] = []
    with make_gateway(server, sleep=recorder(sleeps, clock)) as gateway:
        gateway.consent_status(ALICE)
        clock.advance(timedelta(seconds=15))
        assert gateway.consent_status(ALICE) is None
    assert sleeps == [45.0]
    assert api_calls(server, "/consents/status") == 3


@pytest.mark.parametrize("iys", [ONE_STATUS_A_MINUTE], indirect=True)
def test_429_exhausted_is_rate_limited(server: IysServer, iys: FakeIysGateway) -> None:
    """When waiting does not help (time stands still), IysRateLimited carries Retry-After."""
    sleeps: list[float] = []
    with make_gateway(server, sleep=recorder(sleeps), max_retries=2) as gateway:
        gateway.consent_status(ALICE)
        with pytest.raises(IysRateLimited) as info:
            gateway.consent_status(ALICE)
    assert sleeps == [60.0, 60.0]
    assert info.value.retry_after == 60.0
    assert info.value.code == "H124"


@pytest.mark.parametrize("iys", [{"token": (1, timedelta(hours=1))}], indirect=True)
def test_long_retry_after_is_raised_at_once(server: IysServer, iys: FakeIysGateway) -> None:
    """The token endpoint's hour-long lockout is not slept through inside a call."""
    sleeps: list[float] = []
    with make_gateway(server) as first:
        first.consent_status(ALICE)
    with (
        make_gateway(server, sleep=recorder(sleeps)) as second,
        pytest.raises(IysRateLimited) as info,
    ):
        second.consent_status(ALICE)
    assert sleeps == []
    assert info.value.retry_after == 3600.0
    assert info.value.code == "H084"


def test_retry_after_as_an_http_date(
    gateway: HttpIysGateway, server: IysServer, sleeps: list[float]
) -> None:
    """Retry-After may be a date; the wait is the time until then."""
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    gateway.consent_status(ALICE)
    server.state.inject(Injected(429, b"{}", {"Retry-After": when}))
    assert gateway.consent_status(ALICE) is None
    assert len(sleeps) == 1
    assert 0 < sleeps[0] <= 30


def test_503_once_is_retried(
    gateway: HttpIysGateway, server: IysServer, sleeps: list[float]
) -> None:
    """A server error is retried after a short, jittered backoff."""
    gateway.consent_status(ALICE)
    server.state.inject(Injected(503, b"Service Unavailable"))
    assert gateway.consent_status(ALICE) is None
    assert len(sleeps) == 1
    assert 0.25 <= sleeps[0] <= 0.5


def test_dropped_connection_is_retried(
    gateway: HttpIysGateway, server: IysServer, sleeps: list[float]
) -> None:
    """A connection closed without an answer is retried on a new one."""
    gateway.add_consent(consent())
    server.state.inject(Injected(None))
    assert gateway.consent_status(ALICE) == consent()
    assert len(sleeps) == 1


def test_server_errors_exhaust_the_retries(
    gateway: HttpIysGateway, server: IysServer, sleeps: list[float]
) -> None:
    """After max_retries (3) backoffs the 5xx is raised as IysUnavailable."""
    gateway.consent_status(ALICE)
    server.state.inject(Injected(503, b'{"errors": [{"code": "H103", "message": "down"}]}'), 4)
    with pytest.raises(IysUnavailable) as info:
        gateway.consent_status(ALICE)
    assert info.value.status == 503
    assert info.value.code == "H103"
    assert len(sleeps) == 3
    for n, seconds in enumerate(sleeps):
        assert 0.5 * 2**n / 2 <= seconds <= 0.5 * 2**n


def test_dropped_connections_exhaust_the_retries(
    gateway: HttpIysGateway, server: IysServer
) -> None:
    """Dropped every time, the call fails with IysUnavailable chained to httpx's error."""
    gateway.consent_status(ALICE)
    server.state.inject(Injected(None), 4)
    with pytest.raises(IysUnavailable) as info:
        gateway.consent_status(ALICE)
    assert isinstance(info.value.__cause__, httpx.TransportError)
    assert "4 attempts" in str(info.value)


def test_connection_refused_is_unavailable(sleeps: list[float]) -> None:
    """Nobody listening is IysUnavailable after the retries."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gateway = HttpIysGateway(
        base_url=f"http://127.0.0.1:{port}",
        username=USERNAME,
        password=PASSWORD,
        iys_code=IYS_CODE,
        brand_code=BRAND_CODE,
        sleep=recorder(sleeps),
        max_retries=1,
    )
    with gateway, pytest.raises(IysUnavailable) as info:
        gateway.consent_status(ALICE)
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert len(sleeps) == 1


def test_batch_add_and_poll_over_http(
    gateway: HttpIysGateway, clock: ManualClock, iys: FakeIysGateway
) -> None:
    """The batch is asynchronous over the wire too, with each record's outcome."""
    request_id = gateway.add_consents([consent(ALICE), consent(BOB, ConsentStatus.RET)])
    assert request_id in iys.requests
    assert IysBatchResult(request_id, done=False) == gateway.batch_result(request_id)
    clock.advance(timedelta(seconds=30))
    result = gateway.batch_result(request_id)
    assert result.done
    assert (
        IysRecordResult(0, True),
        IysRecordResult(1, False, "H175", iys.batch_result(request_id).results[1].error_message),
    ) == result.results
    with pytest.raises(IysError) as info:
        gateway.batch_result("req-999")
    assert info.value.status == 404


def test_batch_size_is_checked_before_sending(gateway: HttpIysGateway, server: IysServer) -> None:
    """An oversized batch never reaches İYS."""
    gateway.max_batch = 1
    with pytest.raises(InvalidValue, match="at most 1"):
        gateway.add_consents([consent(ALICE), consent(BOB)])
    assert server.state.requests == []


def test_pull_changes_over_http(
    gateway: HttpIysGateway, server: IysServer, iys: FakeIysGateway
) -> None:
    """Changes made on İYS are pulled page by page with source=IYS and the after cursor."""
    for recipient in (ALICE, BOB, CAROL):
        iys.opt_out_on_iys(recipient)
    first = gateway.pull_changes(limit=2)
    assert [c.recipient for c in first.consents] == [ALICE, BOB]
    assert first.consents[0].source == ConsentSource.IYS_3338
    second = gateway.pull_changes(first.cursor, limit=2)
    assert [c.recipient for c in second.consents] == [CAROL]
    assert IysChanges((), None) == gateway.pull_changes(second.cursor)
    _, _, query = server.state.requests[-1]
    assert {"source": ["IYS"], "limit": ["500"], "after": [second.cursor]} == query


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (Injected(200, b"<html>gateway</html>"), "not JSON"),
        (Injected(200, b"[]"), "JSON object"),
        (Injected(200, b'{"recipient": "+905321234567"}'), "no 'type' field"),
        (Injected(418, b"teapot"), "HTTP 418"),
    ],
)
def test_malformed_answers_are_iys_errors(
    gateway: HttpIysGateway, server: IysServer, answer: Injected, message: str
) -> None:
    """Whatever comes back, the caller gets an IysError that says what was wrong."""
    gateway.consent_status(ALICE)
    server.state.inject(answer)
    with pytest.raises(IysError, match=message):
        gateway.consent_status(ALICE)


def test_malformed_batch_and_changes_answers(gateway: HttpIysGateway, server: IysServer) -> None:
    """Batch results and change lists are checked too."""
    gateway.consent_status(ALICE)
    server.state.inject(Injected(200, b'{"subRequests": []}'))
    with pytest.raises(IysError, match="requestId"):
        gateway.add_consents([consent()])
    server.state.inject(Injected(200, b'[{"status": "success"}]'))
    with pytest.raises(IysError, match="index"):
        gateway.batch_result("req-1")
    server.state.inject(Injected(200, json.dumps({"list": [consent().to_json()]}).encode()))
    with pytest.raises(IysError, match="after"):
        gateway.pull_changes()


def test_secrets_never_leak(
    server: IysServer, caplog: pytest.LogCaptureFixture, sleeps: list[float]
) -> None:
    """Neither the password nor a token shows in a repr, an error, its chain or a log."""
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    server.state.inject(
        Injected(500, json.dumps({"errors": [{"message": f"echo {PASSWORD}"}]}).encode())
    )
    with make_gateway(server, sleep=recorder(sleeps)) as gateway:
        gateway.add_consent(consent())
        server.state.tokens.clear()
        gateway.consent_status(ALICE)
        server.state.inject(Injected(None), 4)
        with pytest.raises(IysUnavailable) as dropped:
            gateway.consent_status(ALICE)
        token = server.state.issued[-1]
        echo = json.dumps({"errors": [{"message": f"echo {PASSWORD} {token}"}]}).encode()
        server.state.inject(Injected(502, echo), 4)
        with pytest.raises(IysUnavailable) as echoed:
            gateway.consent_status(ALICE)
        assert "echo *** ***" in str(echoed.value)
        texts += [repr(gateway), repr(vars(gateway)), str(gateway)]
        texts += traceback.format_exception(dropped.value)
        texts += traceback.format_exception(echoed.value)
    with (
        make_gateway(server, password="wr0ng-" + PASSWORD) as bad,
        pytest.raises(IysError) as refused,
    ):
        bad.consent_status(ALICE)
    texts += traceback.format_exception(refused.value)
    texts += [repr(refused.value), repr(dropped.value)]
    texts += [record.getMessage() for record in caplog.records]
    assert len(server.state.issued) == 2
    for secret in [PASSWORD, *server.state.issued]:
        for text in texts:
            assert secret not in text
    assert any("retry" in r.getMessage() for r in caplog.records)


def test_close_leaves_a_borrowed_client_open(server: IysServer) -> None:
    """The gateway closes the httpx client it made, never one it was given."""
    with httpx.Client() as borrowed:
        with make_gateway(server, http=borrowed) as gateway:
            gateway.consent_status(ALICE)
        assert not borrowed.is_closed
        with pytest.raises(IysError, match="closed"):
            gateway.consent_status(ALICE)
    own = make_gateway(server)
    own.close()
    assert own._http.is_closed


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("base_url", "api.iys.org.tr"),
        ("username", ""),
        ("password", ""),
        ("iys_code", "12/../34"),
        ("brand_code", "abc"),
        ("max_retries", -1),
        ("timeout", 0),
        ("max_batch", 0),
    ],
)
def test_http_gateway_checks_its_settings(option: str, value: object) -> None:
    """Bad settings fail at construction, not on the first call."""
    settings: dict[str, Any] = {
        "base_url": "https://api.iys.org.tr",
        "username": USERNAME,
        "password": PASSWORD,
        "iys_code": IYS_CODE,
        "brand_code": BRAND_CODE,
    }
    with pytest.raises(InvalidValue):
        HttpIysGateway(**(settings | {option: value}))


@pytest.mark.parametrize(
    ("base_url", "message"),
    [
        ("ftp://acme:url-s3cret@api.iys.example", "http(s) URL with a host"),
        ("https://", "http(s) URL with a host"),
        ("https://acme:url-s3cret@[::1", "cannot be parsed"),
        ("https://acme:url-s3cret@api.iys.example/v1?token=url-s3cret", "query or a fragment"),
        ("https://api.iys.example/v1#url-s3cret", "query or a fragment"),
        ("https://api.iys.example/v1/?", "query or a fragment"),
        ("https://acme:12#s3cret@api.iys.example", "query or a fragment"),
        ("acme-s3cret:pw@api.iys.example", "http(s) URL with a host"),
    ],
)
def test_a_base_url_is_refused_without_repeating_its_secrets(base_url: str, message: str) -> None:
    """A query (where a token would sit) is refused, as İYS's paths would land after
    it; no refusal shows the user info or the query."""
    with pytest.raises(InvalidValue, match=re.escape(message)) as refused:
        HttpIysGateway(
            base_url=base_url,
            username=USERNAME,
            password=PASSWORD,
            iys_code=IYS_CODE,
            brand_code=BRAND_CODE,
        )
    assert "s3cret" not in str(refused.value)


def test_http_gateway_repr(gateway: HttpIysGateway, server: IysServer) -> None:
    """The repr says where and as whom, and nothing secret."""
    assert (
        f"<HttpIysGateway {server.url} iys_code=123456 brand_code=654321 user='acme-api'>"
        == repr(gateway)
    )


def test_repr_leaves_out_credentials_written_into_the_url() -> None:
    gateway = HttpIysGateway(
        base_url="https://acme:url-s3cret@api.iys.example/",
        username=USERNAME,
        password=PASSWORD,
        iys_code=IYS_CODE,
        brand_code=str(BRAND_CODE),
    )
    try:
        assert "url-s3cret" not in repr(gateway)
        assert repr(gateway).startswith("<HttpIysGateway https://api.iys.example iys_code=")
    finally:
        gateway.close()
