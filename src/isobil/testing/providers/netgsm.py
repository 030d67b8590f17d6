"""A loopback simulator of Netgsm's SMS API (REST v2): send, report, inbox, balance.

:class:`NetgsmSimulator` answers what the official SDKs document
(github.com/netgsm/netgsm-sms-python, github.com/netgsm/netgsm-sms-js — its
``openapi.json`` and unit-test samples; github.com/netgsm/sms README):

* ``POST /sms/rest/v2/send`` with Basic auth and ``{"msgheader", "messages":
  [{"msg", "no"}], "encoding", "iysfilter", "startdate", "stopdate", …}``: HTTP 200
  ``{"code": "00", "jobid": …, "description": …}`` for the whole request, or HTTP
  406 ``{"code": "30", "jobid": null, "description": …}`` for a refused one;
* ``POST /sms/rest/v2/report`` by ``jobids``, ``pagesize`` (1-100) and
  ``pagenumber``: one row per number, at most 10 queries a minute (code 80), 60
  when there is nothing to list;
* ``GET /sms/rest/v2/inbox`` with ``startdate``/``stopdate`` (``ddMMyyyyHHmmss``,
  Istanbul time) for a date range, or without them for what was never listed
  before (listed once); 40 when there is nothing to show;
* ``POST /balance`` with ``usercode``, ``password`` and ``stip``.

It counts the parts of each message by its own table — GSM 7-bit default
alphabet 160/153, with ``encoding=TR`` the Turkish single shift table 155/149 or
UCS-2 70/67, five characters of operator code in the last part — not with
:mod:`isobil.sms`, so that the adapter's count is checked independently.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import re
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Final

from isobil._time import ISTANBUL
from isobil.testing.providers._base import ProviderSimulator, SimAnswer, SimRequest, SimulatedSms
from isobil.transport import DeliveryStatus
from isobil.transport._netgsm import NETGSM_SEND_ERRORS

__all__ = ["NETGSM_SIM_ERRORS", "NetgsmSimulator"]


#: The documented refusals of a send, in the official SDKs' words.
NETGSM_SIM_ERRORS: Final[Mapping[str, str]] = NETGSM_SEND_ERRORS
_REPORT_WORDS: Final = {
    "30": NETGSM_SIM_ERRORS["30"],
    "60": "There are no records to be listed according to your search criteria.",
    "70": NETGSM_SIM_ERRORS["70"],
    "80": "Limit exceeded, can be queried 10 times per minute.",
}
_INBOX_WORDS: Final = {
    "30": NETGSM_SIM_ERRORS["30"],
    "40": "Indicates that you have no messages to display.",
    "70": NETGSM_SIM_ERRORS["70"],
}

# -- Netgsm's segment table, written out here (3GPP TS 23.038), not taken from isobil.sms ----

_GSM_DEFAULT: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION: Final = frozenset("\f^{}\\[~]|€")
_TURKISH_SINGLE_SHIFT: Final = _GSM_EXTENSION | frozenset("ĞİŞçğış")
_OPERATOR_CODE: Final = 5  # " B038", appended by the operator to the last part

#: Report states the simulator writes for each isobil status (netgsm-sms-js SmsStatus).
_STATES: Final[Mapping[DeliveryStatus, int]] = {
    DeliveryStatus.PENDING: 0,
    DeliveryStatus.DELIVERED: 1,
    DeliveryStatus.EXPIRED: 2,
    DeliveryStatus.REJECTED: 11,
    DeliveryStatus.UNDELIVERED: 12,
}


def netgsm_billed_parts(text: str, encoding: str | None) -> int:
    """The parts Netgsm bills for ``text`` sent with ``encoding`` (``"TR"`` or none).

    >>> netgsm_billed_parts("a" * 155, None), netgsm_billed_parts("a" * 156, None)
    (1, 2)
    >>> netgsm_billed_parts("ş" * 75, "TR"), netgsm_billed_parts("ş" * 76, "TR")
    (1, 2)
    >>> netgsm_billed_parts("😀" * 32, "TR"), netgsm_billed_parts("😀" * 33, "TR")
    (1, 2)
    """
    chars = set(text)
    if encoding is None:
        # Without TR Netgsm sends the default alphabet (what is not in it, replaced).
        costs = [2 if c in _GSM_EXTENSION else 1 for c in text]
        return _greedy(costs, 160, 153)
    if chars <= _GSM_DEFAULT | _TURKISH_SINGLE_SHIFT:
        costs = [2 if c in _TURKISH_SINGLE_SHIFT else 1 for c in text]
        return _greedy(costs, 155, 149)
    # UCS-2: a character beyond the BMP is a surrogate pair, never cut apart.
    return _greedy([2 if ord(c) > 0xFFFF else 1 for c in text], 70, 67)


def _greedy(costs: Sequence[int], single: int, per_part: int) -> int:
    if sum(costs) + _OPERATOR_CODE <= single:
        return 1
    parts, used = 1, 0
    for cost in costs:
        if used + cost > per_part:
            parts, used = parts + 1, 0
        used += cost
    return parts + 1 if used + _OPERATOR_CODE > per_part else parts


@dataclass
class _Row:
    """One number of one job, as the report lists it."""

    provider_id: str
    jobid: str
    number: str
    parts: int
    status: int = 0
    delivered_at: datetime | None = None
    error_code: int = 0


@dataclass
class _Inbound:
    sender: str
    receiver: str
    text: str
    at: datetime
    listed: bool = False


@dataclass
class _State:
    jobs: dict[str, list[_Row]] = field(default_factory=dict)
    rows: dict[str, _Row] = field(default_factory=dict)
    inbox: list[_Inbound] = field(default_factory=list)
    report_queries: deque[datetime] = field(default_factory=deque)


class NetgsmSimulator(ProviderSimulator):
    """Netgsm's REST v2 on loopback, polled for reports and inbound texts.

    ``username``/``password`` are the Basic auth credentials it accepts,
    ``msgheaders`` the headers defined on the account (code 40 for any other).
    ``iys_account=False`` refuses commercial sends with 50, ``iys_brand=False``
    with 51; ``max_parts`` (when given) refuses longer texts with 20.
    ``clock`` is the simulator's time (reports, inbox, the report rate limit).

    >>> with NetgsmSimulator() as netgsm:
    ...     netgsm.url.startswith("http://127.0.0.1:")
    True
    """

    def __init__(
        self,
        *,
        username: str = "8501234567",
        password: str = "netgsm-sim-password",  # noqa: S107 - the simulator's own test secret
        msgheaders: Sequence[str] = ("ACME",),
        iys_account: bool = True,
        iys_brand: bool = True,
        max_parts: int | None = None,
        report_limit: int = 10,
        credit: str = "1000.00",
        clock: Callable[[], datetime] | None = None,
        callback_url: str | None = None,
    ) -> None:
        self.username = username
        self.password = password
        self.msgheaders = tuple(msgheaders)
        self.iys_account = iys_account
        self.iys_brand = iys_brand
        self.max_parts = max_parts
        self.report_limit = report_limit
        self.credit = credit
        self.clock = clock or (lambda: datetime.now(UTC))
        self._state = _State()
        self._jobids = itertools.count(1311033501)
        super().__init__(callback_url=callback_url)

    # -- the abstract hooks -----------------------------------------------------------------

    def is_send(self, request: SimRequest) -> bool:
        return request.method == "POST" and request.path == "/sms/rest/v2/send"

    def error_answer(self, code: str) -> SimAnswer:
        if code not in NETGSM_SIM_ERRORS:
            raise ValueError(f"Netgsm documents no send error {code!r}")
        return _refusal(code, NETGSM_SIM_ERRORS[code], jobid=True)

    def deliver(self, provider_id: str, status: DeliveryStatus, reason: str | None = None) -> None:
        """Give the message ``provider_id`` its report state: ``reason`` may name Netgsm's
        own state (``"15"`` blacklisted, ``"16"`` İYS rejected …) for a failure."""
        status = DeliveryStatus(status)
        if status not in _STATES:
            raise ValueError(f"Netgsm has no report state for {status.value!r}")
        state = _STATES[status]
        if reason is not None and status not in (DeliveryStatus.DELIVERED, DeliveryStatus.PENDING):
            state = int(reason)
        with self.lock:
            row = self._state.rows.get(provider_id)
            if row is None:
                raise ValueError(f"Netgsm never gave out {provider_id!r}")
            row.status = state
            row.delivered_at = self.clock() if state else None

    def send_inbound(self, from_: str, to: str, text: str) -> None:
        """A text from ``from_`` (E.164) to ``to``, kept for the inbox query."""
        sender = from_.removeprefix("+90") if from_.startswith("+90") else from_.lstrip("+")
        moment = self.clock().astimezone(ISTANBUL).replace(microsecond=0)
        with self.lock:
            self._state.inbox.append(_Inbound(sender, to, text, moment))

    # -- the API ----------------------------------------------------------------------------

    def handle(self, request: SimRequest) -> SimAnswer:
        route = (request.method, request.path)
        if route == ("POST", "/balance"):
            return self._balance(request)
        if request.path not in ("/sms/rest/v2/send", "/sms/rest/v2/report", "/sms/rest/v2/inbox"):
            return SimAnswer(404, b'{"error": "not found"}')
        if not self._authorised(request):
            return _refusal("30", NETGSM_SIM_ERRORS["30"], jobid=request.path.endswith("send"))
        if route == ("POST", "/sms/rest/v2/send"):
            return self._send(request)
        if route == ("POST", "/sms/rest/v2/report"):
            return self._report(request)
        if route == ("GET", "/sms/rest/v2/inbox"):
            return self._inbox(request)
        return SimAnswer(405, b'{"error": "method not allowed"}')

    def _authorised(self, request: SimRequest) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(token, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return (user, password) == (self.username, self.password)

    def _send(self, request: SimRequest) -> SimAnswer:
        body = _json_object(request.body)
        if body is None:
            return self.error_answer("70")
        header, messages = body.get("msgheader"), body.get("messages")
        iys, encoding = body.get("iysfilter"), body.get("encoding")
        if not isinstance(header, str) or not isinstance(messages, list) or not messages:
            return self.error_answer("70")
        if header not in self.msgheaders:
            return self.error_answer("40")
        if iys not in (None, "0", "11", "12") or encoding not in (None, "TR", "tr"):
            return self.error_answer("70")
        for name in ("startdate", "stopdate"):
            if name in body and not _valid_minute(body[name]):
                return self.error_answer("70")
        items: list[tuple[str, str]] = []
        for item in messages:
            msg = item.get("msg") if isinstance(item, dict) else None
            number = item.get("no") if isinstance(item, dict) else None
            if not isinstance(msg, str) or not msg or not isinstance(number, str):
                return self.error_answer("70")
            if not re.fullmatch(r"\d{10}", number):
                return self.error_answer("70")
            items.append((msg, number))
        if iys in ("11", "12") and not self.iys_account:
            return self.error_answer("50")
        if iys in ("11", "12") and not self.iys_brand:
            return self.error_answer("51")
        tr = None if encoding is None else "TR"
        parts = [netgsm_billed_parts(msg, tr) for msg, _ in items]
        if self.max_parts is not None and max(parts) > self.max_parts:
            return self.error_answer("20")
        with self.lock:
            jobid = str(next(self._jobids))
            rows: list[_Row] = []
            seen: dict[str, int] = {}
            for (msg, number), count in zip(items, parts, strict=True):
                seen[number] = seen.get(number, 0) + 1
                pid = f"{jobid}:{number}" + ("" if seen[number] == 1 else f"#{seen[number]}")
                row = _Row(pid, jobid, number, count)
                rows.append(row)
                self._state.rows[pid] = row
                self.record(
                    SimulatedSms(
                        provider_id=pid,
                        to="+90" + number,
                        text=msg,
                        originator=header,
                        commercial=None if iys is None else iys != "0",
                        recipient_type={"11": "BIREYSEL", "12": "TACIR"}.get(str(iys)),
                        iys_flag="" if iys is None else str(iys),
                        custom_id=None,
                        parts=count,
                    )
                )
            self._state.jobs[jobid] = rows
        return _ok({"code": "00", "jobid": jobid, "description": "Success"})

    def _report(self, request: SimRequest) -> SimAnswer:
        body = _json_object(request.body)
        if body is None:
            return _refusal("70", _REPORT_WORDS["70"])
        jobids, size, page = (
            body.get("jobids"),
            body.get("pagesize", 100),
            body.get("pagenumber", 0),
        )
        if not isinstance(jobids, list) or not all(isinstance(j, str) for j in jobids):
            return _refusal("70", _REPORT_WORDS["70"])
        if not isinstance(size, int) or not isinstance(page, int):
            return _refusal("70", _REPORT_WORDS["70"])
        if not _int_in(size, 1, 100) or not _int_in(page, 0, 10**6):
            return _refusal("70", _REPORT_WORDS["70"])
        now = self.clock()
        with self.lock:
            queries = self._state.report_queries
            while queries and queries[0] <= now - timedelta(minutes=1):
                queries.popleft()
            if len(queries) >= self.report_limit:
                return _refusal("80", _REPORT_WORDS["80"])
            queries.append(now)
            rows = [replace(r) for j in jobids for r in self._state.jobs.get(j, [])]
        shown = rows[page * size : (page + 1) * size]
        if not shown:
            return _refusal("60", _REPORT_WORDS["60"])
        return _ok(
            {"code": "00", "description": "Success", "jobs": [_report_row(r) for r in shown]}
        )

    def _inbox(self, request: SimRequest) -> SimAnswer:
        start, stop = (
            request.query.get("startdate", [""])[0],
            request.query.get("stopdate", [""])[0],
        )
        with self.lock:
            if start or stop:
                begin, end = _second(start), _second(stop)
                if begin is None or end is None:
                    return _refusal("70", _INBOX_WORDS["70"])
                found = [m for m in self._state.inbox if begin <= m.at <= end]
            else:
                found = [m for m in self._state.inbox if not m.listed]
            for text in found:
                text.listed = True
        if not found:
            return _refusal("40", _INBOX_WORDS["40"])
        rows = [
            {
                "message": m.text,
                "sender": m.sender,
                "receiver": m.receiver,
                "datetime": m.at.strftime("%d.%m.%Y %H:%M:%S"),
            }
            for m in found
        ]
        return _ok({"code": "00", "description": "Success", "messages": rows})

    def _balance(self, request: SimRequest) -> SimAnswer:
        body = _json_object(request.body)
        if body is None or body.get("stip") not in (1, 2, 3, "1", "2", "3"):
            return _refusal("70", _REPORT_WORDS["70"])
        if (body.get("usercode"), body.get("password")) != (self.username, self.password):
            return _refusal("30", NETGSM_SIM_ERRORS["30"])
        return _ok({"code": "00", "balance": self.credit})


def _report_row(row: _Row) -> dict[str, object]:
    return {
        "jobid": row.jobid,
        "number": row.number,
        "status": row.status,
        "operator": 30,
        "msglen": row.parts,
        "deliveredDate": (
            None
            if row.delivered_at is None
            else row.delivered_at.astimezone(ISTANBUL).strftime("%Y-%m-%d %H:%M:%S")
        ),
        "errorCode": row.error_code,
        "referansID": "",
    }


def _ok(payload: object) -> SimAnswer:
    return SimAnswer(200, json.dumps(payload, ensure_ascii=False).encode("utf-8"))


def _refusal(code: str, words: str, *, jobid: bool = False) -> SimAnswer:
    payload: dict[str, object] = {"code": code, "description": words}
    if jobid:
        payload["jobid"] = None
    return SimAnswer(406, json.dumps(payload, ensure_ascii=False).encode("utf-8"))


def _json_object(body: bytes) -> dict[str, object] | None:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _int_in(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _valid_minute(value: object) -> bool:
    if not isinstance(value, str) or not re.fullmatch(r"\d{12}", value):
        return False
    try:
        datetime.strptime(value, "%d%m%Y%H%M")
    except ValueError:
        return False
    return True


def _second(value: str) -> datetime | None:
    if not re.fullmatch(r"\d{14}", value):
        return None
    try:
        return datetime.strptime(value, "%d%m%Y%H%M%S").replace(tzinfo=ISTANBUL)
    except ValueError:
        return None
