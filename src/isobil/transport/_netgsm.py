"""The Netgsm SMS API (REST v2, JSON, Basic auth) as an :class:`HttpAdapter`.

Netgsm sends, and is asked for reports and inbound texts; it pushes nothing that
isobil can rely on (its MO webhook aside), so the adapter is polled
(``polls = True``).

Sources, read for every request, answer and code below:

* the official Python SDK, github.com/netgsm/netgsm-sms-python —
  ``netgsm/sms/sms_service.py`` (``/sms/rest/v2/send``, ``/report``, ``/inbox``,
  ``/cancel``, ``/msgheader``; date formats), ``netgsm/utils/enums.py``
  (``iysfilter`` 0/11/12), ``netgsm/exceptions/api_exception.py`` and ``README.md``
  (error codes per endpoint; errors come with HTTP 406);
* the official JavaScript SDK, github.com/netgsm/netgsm-sms-js — ``src/netgsm.ts``
  (request bodies, ``/balance`` with ``usercode``/``password``/``stip``),
  ``src/enums.ts`` (report states 0-17, error codes per endpoint),
  ``src/types.ts``, ``openapi.json`` (``no`` is ten digits, ``msgheader`` at most
  11 characters, ``pagesize`` 1-100) and ``__tests__/unit/netgsm.test.ts`` (answer
  samples);
* the official n8n node, github.com/netgsm/n8n-nodes-netgsm —
  ``nodes/Netgsm/Descriptions/sms.ts`` (a report asked by ``jobids`` alone);
* the official PHP package, github.com/netgsm/sms ``README.md`` (``startdate``,
  ``stopdate`` as ``ddMMyyyyHHmm``, at most 21 hours apart; report states in
  Turkish; the inbox at most 30 days back; the "URL Adresine Yönlendir" MO
  webhook with ``mesaj``, ``ceptel``, ``aboneno``, ``gorevid``, ``tarih``).

Netgsm answers a request (up to ``max_batch`` messages, each its own text: n:n)
with **one** ``jobid``. Its report lists, per job, one row per number. So the
provider id of each message is ``"<jobid>:<no>"`` — the job and the ten-digit
number it went to (``"17377215342605050417149344:5321234567"``) — and a report
row of that job for that number settles exactly that message. A number that
occurs twice in one request gets ``"…:<no>#2"`` for its second message, and the
report's second row for that number settles it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Final
from urllib.parse import parse_qs

from isobil import phone
from isobil._net import Secret
from isobil._time import ISTANBUL
from isobil.errors import (
    AuthenticationFailed,
    EncodingError,
    InvalidValue,
    IysRefused,
    SubmitRejected,
    Throttled,
    TransportError,
    TransportTimeout,
)
from isobil.model import RecipientType
from isobil.sms import Encoding, SegmentPlan
from isobil.sms import plan as plan_text
from isobil.transport._base import (
    DeliveryReport,
    DeliveryStatus,
    InboundEvent,
    InboundSms,
    OutboundSms,
    SubmitResult,
)
from isobil.transport._http_adapters import (
    CallbackAuth,
    CallbackError,
    HttpAdapter,
    HttpRequest,
    HttpResponse,
    _json_or_none,
    _phone,
)

__all__ = [
    "NETGSM_INBOX_ERRORS",
    "NETGSM_REPORT_ERRORS",
    "NETGSM_REPORT_STATES",
    "NETGSM_SEND_ERRORS",
    "NetgsmAdapter",
]

_log = logging.getLogger("isobil.transport.netgsm")

SEND_PATH: Final = "/sms/rest/v2/send"
REPORT_PATH: Final = "/sms/rest/v2/report"
INBOX_PATH: Final = "/sms/rest/v2/inbox"
BALANCE_PATH: Final = "/balance"

#: ``iysfilter``: informational (no İYS check), commercial to individuals, to merchants.
IYS_INFORMATIONAL: Final = "0"
IYS_BIREYSEL: Final = "11"
IYS_TACIR: Final = "12"

#: Every code ``/sms/rest/v2/send`` documents, in the official SDKs' words
#: (netgsm-sms-python api_exception.py, netgsm-sms-js enums.ts SendSmsErrorCode).
NETGSM_SEND_ERRORS: Final[Mapping[str, str]] = {
    "20": "Could not be sent due to a problem in the message text or exceeded the "
    "standard maximum message character count",
    "30": "Invalid username, password or no API access. If IP restriction exists, "
    "request may have been made from an unauthorized IP",
    "40": "Message header (sender name) is not defined in the system",
    "50": "IYS controlled submissions cannot be made with your subscriber account",
    "51": "No IYS Brand information found for your subscription",
    "70": "Invalid query. One of the parameters is incorrect or a required field is missing",
    "80": "Sending limit exceeded",
    "85": "Duplicate sending limit exceeded. Cannot create more than 20 tasks for the "
    "same number within 1 minute",
    "100": "System error",
    "101": "System error",
}
#: Codes of ``/sms/rest/v2/report`` (netgsm-sms-js enums.ts ReportErrorCode).
NETGSM_REPORT_ERRORS: Final[Mapping[str, str]] = {
    "30": NETGSM_SEND_ERRORS["30"],
    "60": "There are no records to be listed according to your search criteria",
    "70": NETGSM_SEND_ERRORS["70"],
    "80": "Limit exceeded, can be queried 10 times per minute",
    "100": "System error",
    "110": "System error",
}
#: Codes of ``/sms/rest/v2/inbox`` (netgsm-sms-js enums.ts InboxErrorCode).
NETGSM_INBOX_ERRORS: Final[Mapping[str, str]] = {
    "30": NETGSM_SEND_ERRORS["30"],
    "40": "You have no messages to display",
    "70": NETGSM_SEND_ERRORS["70"],
    "100": "System error",
    "101": "System error",
}

#: The error class of each refusal code; any other code is a plain SubmitRejected.
_ERROR_CLASSES: Final[Mapping[str, Callable[..., TransportError]]] = {
    "30": AuthenticationFailed,
    "50": IysRefused,
    "51": IysRefused,
    "80": Throttled,
    "85": Throttled,
}

#: Report row ``status`` → isobil status and Netgsm's words (netgsm-sms-js enums.ts
#: SmsStatus; netgsm/sms README "status" table). 0 is still waiting: no event.
NETGSM_REPORT_STATES: Final[Mapping[int, tuple[DeliveryStatus, str]]] = {
    0: (DeliveryStatus.PENDING, "İletilmeyi bekleyenler"),
    1: (DeliveryStatus.DELIVERED, "İletilmiş olanlar"),
    2: (DeliveryStatus.EXPIRED, "Zaman aşımına uğramış olanlar"),
    3: (DeliveryStatus.REJECTED, "Hatalı veya kısıtlı numara"),
    4: (DeliveryStatus.REJECTED, "Operatöre gönderilemedi"),
    11: (DeliveryStatus.REJECTED, "Operatör tarafından kabul edilmemiş olanlar"),
    12: (DeliveryStatus.UNDELIVERED, "Gönderim hatası olanlar"),
    13: (DeliveryStatus.REJECTED, "Mükerrer olanlar"),
    14: (DeliveryStatus.REJECTED, "Insufficient credit"),
    15: (DeliveryStatus.REJECTED, "Blacklisted number"),
    16: (DeliveryStatus.REJECTED, "IYS rejected"),
    17: (DeliveryStatus.REJECTED, "IYS error"),
    103: (DeliveryStatus.REJECTED, "Başarısız Görev (Bu görevin tamamı başarısız olmuştur.)"),
}

#: A report page holds at most 100 rows (openapi.json ``pagesize`` 1-100), so a
#: job never has more messages than one page shows.
_PAGE: Final = 100
_SUFFIX: Final = 5  # the operator code (" B038") every Turkish bulk SMS ends with
_JOB_SIZES_KEPT: Final = 10_000
_INBOX_DAYS: Final = 30
_VALIDITY_MIN: Final = timedelta(hours=1)
_VALIDITY_MAX: Final = timedelta(hours=21)
_TEN_DIGITS = re.compile(r"\+90\d{10}")


class NetgsmAdapter(HttpAdapter):
    """Netgsm's REST v2: ``POST /sms/rest/v2/send``, n:n, polled for reports and MOs.

    One request carries up to ``max_batch`` messages (each its own text) that share
    what Netgsm sets per request: ``msgheader`` (the originator, or ``msgheader``
    given here), ``iysfilter``, ``encoding``, ``startdate`` and ``stopdate``::

        POST /sms/rest/v2/send      Authorization: Basic <username:password>
        {"msgheader": "ACME", "messages": [{"msg": "…", "no": "5321234567"}],
         "encoding": "TR", "iysfilter": "11", "appname": "…"}
        → 200 {"code": "00", "jobid": "…", "description": "…"}
        → 406 {"code": "40", "jobid": null, "description": "…"}

    * ``iysfilter``: informational and legally required messages ``"0"``;
      commercial ones (and those of no stated category) ``"11"`` to a BIREYSEL
      recipient, ``"12"`` to a TACIR. The İYS brand is the one registered on the
      Netgsm account (error 51 when none is): the request has no brand field.
    * ``encoding`` ``"TR"`` for any text beyond the GSM 7-bit default alphabet:
      Netgsm then carries ş ğ ı İ in the Turkish single shift table
      (``national_shift = True``), anything else as UCS-2. It has no locking
      shift table (``locking_shift = False``: the Client plans without it); a
      message planned otherwise (built by hand) whose parts differ from Netgsm's is
      refused (``code="parts"``). A text over ``max_parts`` parts
      (when given) is refused, and so is any number that is not Turkish
      (``code="number"``): ``no`` takes ten digits.
    * ``send_at`` is ``startdate``; ``validity`` gives ``stopdate`` (Netgsm keeps
      trying between the two, 1 to 21 hours apart; its default is 21 hours).
    * Netgsm has no custom id and no idempotency key: ``idempotent = False``, so
      a request whose answer is lost leaves its messages ``unknown``.

    The provider id of a message is ``"<jobid>:<ten-digit number>"`` (see the
    module docstring). :meth:`poll_requests` asks ``/sms/rest/v2/report`` by
    ``jobids`` (several jobs a request while their sizes are known to fit a page
    of 100 rows), at most ``report_queries`` requests a poll — Netgsm answers
    more than 10 a minute with code 80 — taking the jobs in turn across polls;
    then ``/sms/rest/v2/inbox`` for the texts since ``since`` (at most 30 days),
    unless ``poll_inbox`` is false. Inbound texts carry no Netgsm id: their
    provider id is a hash of sender, time and text, so a text seen twice is
    recognised. :meth:`parse_callback` reads Netgsm's MO webhook ("URL Adresine
    Yönlendir") too, with ``callback_auth = "token"``.

    >>> adapter = NetgsmAdapter(username="8501234567", password="s3cret", msgheader="ACME")
    >>> adapter
    <NetgsmAdapter user='8501234567' msgheader='ACME'>
    >>> from isobil.sms import plan
    >>> sms = OutboundSms("m1", "+905321234567", plan("Kargonuz yolda."), "ACME",
    ...                   category="informational")
    >>> adapter.build_request([sms], "m1").json["messages"]
    [{'msg': 'Kargonuz yolda.', 'no': '5321234567'}]
    """

    idempotent = False
    callback_auth: CallbackAuth = "token"
    national_shift = True
    fixed_split = False
    locking_shift = False  # the single shift table only
    polls = True

    def __init__(
        self,
        *,
        username: str,
        password: str,
        msgheader: str | None = None,
        appname: str | None = None,
        partnercode: str | None = None,
        max_batch: int = 100,
        max_parts: int | None = None,
        report_queries: int = 5,
        poll_inbox: bool = True,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if not isinstance(username, str) or not username:
            raise InvalidValue("username must be a non-empty string")
        if not isinstance(password, str) or not password:
            raise InvalidValue("password must be a non-empty string")
        if msgheader is not None and not 1 <= len(msgheader) <= 11:
            raise InvalidValue(f"msgheader must be 1 to 11 characters, got {msgheader!r}")
        if isinstance(max_batch, bool) or not isinstance(max_batch, int):
            raise InvalidValue(f"max_batch must be an integer, got {max_batch!r}")
        if not 1 <= max_batch <= _PAGE:
            raise InvalidValue(f"max_batch must be 1 to {_PAGE} (a report page), got {max_batch}")
        if max_parts is not None and (
            isinstance(max_parts, bool) or not isinstance(max_parts, int) or max_parts < 1
        ):
            raise InvalidValue(f"max_parts must be a positive integer, got {max_parts!r}")
        if isinstance(report_queries, bool) or not isinstance(report_queries, int):
            raise InvalidValue(f"report_queries must be an integer, got {report_queries!r}")
        if not 0 <= report_queries <= 10:
            raise InvalidValue("report_queries must be 0 to 10 (Netgsm's limit a minute)")
        self.username = username
        self._password = Secret(password)
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        self._token = Secret(token)
        self.msgheader = msgheader
        self.appname = appname
        self.partnercode = partnercode
        self.max_batch = max_batch
        self.max_parts = max_parts
        self.report_queries = report_queries
        self.poll_inbox = poll_inbox
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._job_sizes: OrderedDict[str, int] = OrderedDict()
        self._last_job = ""

    def __repr__(self) -> str:
        return f"<NetgsmAdapter user={self.username!r} msgheader={self.msgheader!r}>"

    def secrets(self) -> Iterable[Secret | None]:
        return (self._token, self._password)

    # -- sending --------------------------------------------------------------------------

    def group_key(self, sms: OutboundSms) -> Hashable:
        """What messages must share to go in one request: Netgsm's request-level fields."""
        return (
            self._header(sms),
            iys_filter(sms),
            _encoding(sms.plan),
            sms.send_at,
            sms.validity,
        )

    def build_request(self, batch: Sequence[OutboundSms], idempotency_key: str) -> HttpRequest:
        if not batch:
            raise InvalidValue("an empty batch has no request")
        first = batch[0]
        group = self.group_key(first)
        if any(self.group_key(sms) != group for sms in batch[1:]):
            raise TransportError(
                "NetgsmAdapter got a batch whose messages differ in sender, İYS flag, "
                "encoding or schedule; Netgsm sets those per request"
            )
        body: dict[str, object] = {
            "msgheader": self._header(first) or "",
            "messages": [{"msg": sms.text, "no": _national(sms.to)} for sms in batch],
            "iysfilter": iys_filter(first),
        }
        if _encoding(first.plan):
            body["encoding"] = "TR"
        body.update(self._schedule(first))
        if self.partnercode:
            body["partnercode"] = self.partnercode
        if self.appname:
            body["appname"] = self.appname
        return HttpRequest("POST", SEND_PATH, self._headers(), json=body)

    def refuse(self, sms: OutboundSms) -> TransportError | None:
        if not self._header(sms):
            return SubmitRejected(
                "Netgsm needs a msgheader: give the sender an originator, or the adapter "
                "msgheader=",
                code="msgheader",
            )
        if not _TEN_DIGITS.fullmatch(sms.to):
            return SubmitRejected(
                "Netgsm sends to Turkish numbers (ten digits in 'no'), "
                f"not to {phone.mask(sms.to)}",
                code="number",
            )
        try:
            billed = netgsm_parts(sms.text)
        except EncodingError as exc:
            return SubmitRejected(f"Netgsm cannot carry the message: {exc}", code="parts")
        if billed != sms.plan.parts:
            return SubmitRejected(
                f"the message to {phone.mask(sms.to)} was counted as {sms.plan.parts} parts "
                f"({sms.plan.encoding.value}) but Netgsm, which has no Turkish locking shift "
                f"table, would send and bill {billed}; shorten it or replace the Turkish letters",
                code="parts",
            )
        if self.max_parts is not None and billed > self.max_parts:
            return SubmitRejected(
                f"the message to {phone.mask(sms.to)} needs {billed} parts; this Netgsm "
                f"account sends at most {self.max_parts}",
                code="too-long",
            )
        return None

    def parse_response(
        self, batch: Sequence[OutboundSms], response: HttpResponse
    ) -> list[SubmitResult]:
        body = _json_or_none(response.body)
        code = _code(body)
        if code is not None and code != "00":
            subject = "the message" if len(batch) == 1 else f"a request of {len(batch)} messages"
            error = self._error(code, body, NETGSM_SEND_ERRORS, subject)
            return [SubmitResult(sms.id, error=error) for sms in batch]
        if response.status in (401, 403):
            error = AuthenticationFailed(
                f"Netgsm refused the credentials: HTTP {response.status}", code=str(response.status)
            )
            return [SubmitResult(sms.id, error=error) for sms in batch]
        if code is None and response.status >= 500:
            unknown = TransportTimeout(f"Netgsm answered HTTP {response.status}; outcome unknown")
            return [SubmitResult(sms.id, error=unknown) for sms in batch]
        if code is None and response.status != 200:
            rejected = SubmitRejected(
                f"Netgsm refused the request: HTTP {response.status}", code=str(response.status)
            )
            return [SubmitResult(sms.id, error=rejected) for sms in batch]
        jobid = body.get("jobid") if isinstance(body, dict) else None
        if isinstance(jobid, bool) or not isinstance(jobid, str | int) or not str(jobid).strip():
            # Accepted (or not), but with no job id no report can ever reach them.
            unknown = TransportTimeout(f"Netgsm: HTTP {response.status} without a jobid")
            return [SubmitResult(sms.id, error=unknown) for sms in batch]
        job = str(jobid).strip()
        with self._lock:
            self._job_sizes[job] = len(batch)
            self._job_sizes.move_to_end(job)
            while len(self._job_sizes) > _JOB_SIZES_KEPT:
                self._job_sizes.popitem(last=False)
        seen: dict[str, int] = {}
        results = []
        for sms in batch:
            number = _national(sms.to)
            seen[number] = seen.get(number, 0) + 1
            results.append(SubmitResult(sms.id, provider_id=provider_id(job, number, seen[number])))
        return results

    # -- polling --------------------------------------------------------------------------

    def poll_requests(self, pending: Sequence[str], since: datetime) -> list[HttpRequest]:
        jobs = sorted({p.partition(":")[0] for p in pending if ":" in p})
        requests = [
            HttpRequest("POST", REPORT_PATH, self._headers(), json=self._report_body(group))
            for group in self._report_groups(jobs)
        ]
        if self.poll_inbox:
            requests.append(self._inbox_request(since))
        return requests

    def parse_poll(self, request: HttpRequest, response: HttpResponse) -> list[InboundEvent]:
        body = _json_or_none(response.body)
        code = _code(body)
        if request.url == INBOX_PATH:
            if code == "40":
                return []
            self._raise_for(code, body, response, NETGSM_INBOX_ERRORS, "inbox")
            return list(self._inbound(body))
        if code == "60":
            return []
        self._raise_for(code, body, response, NETGSM_REPORT_ERRORS, "report")
        return list(self._reports(body))

    def _report_groups(self, jobs: Sequence[str]) -> list[list[str]]:
        """The jobs to ask this poll, a page's worth a request, in turn from the last."""
        if not jobs or self.report_queries == 0:
            return []
        with self._lock:
            start = next((i for i, job in enumerate(jobs) if job > self._last_job), 0)
            ordered = [*jobs[start:], *jobs[:start]]
            sizes = [self._job_sizes.get(job, _PAGE) for job in ordered]
        groups: list[list[str]] = []
        rows = _PAGE
        for job, size in zip(ordered, sizes, strict=True):
            if rows + size > _PAGE:
                if len(groups) == self.report_queries:
                    break
                groups.append([])
                rows = 0
            groups[-1].append(job)
            rows += size
        with self._lock:
            self._last_job = groups[-1][-1]
        return groups

    def _report_body(self, jobs: Sequence[str]) -> dict[str, object]:
        body: dict[str, object] = {"jobids": list(jobs), "pagesize": _PAGE, "pagenumber": 0}
        if self.appname:
            body["appname"] = self.appname
        return body

    def _inbox_request(self, since: datetime) -> HttpRequest:
        now = self._clock()
        start = max(since, now - timedelta(days=_INBOX_DAYS) + timedelta(minutes=1))
        params = {
            "startdate": start.astimezone(ISTANBUL).strftime("%d%m%Y%H%M%S"),
            # A minute ahead: Netgsm's clock may run ahead of ours.
            "stopdate": (now + timedelta(minutes=1)).astimezone(ISTANBUL).strftime("%d%m%Y%H%M%S"),
        }
        if self.appname:
            params["appname"] = self.appname
        return HttpRequest("GET", INBOX_PATH, self._headers(), params=params)

    def _reports(self, body: object) -> list[DeliveryReport]:
        rows = body.get("jobs") if isinstance(body, dict) else None
        if rows is None:
            return []
        if not isinstance(rows, list):
            raise TransportError("Netgsm report: 'jobs' is not a list")
        seen: dict[tuple[str, str], int] = {}
        reports = []
        for row in rows:
            report = _report_row(row, seen)
            if report is not None:
                reports.append(report)
        return reports

    def _inbound(self, body: object) -> list[InboundSms]:
        rows = body.get("messages") if isinstance(body, dict) else None
        if rows is None:
            return []
        if not isinstance(rows, list):
            raise TransportError("Netgsm inbox: 'messages' is not a list")
        texts = []
        for row in rows:
            if not isinstance(row, dict):
                _log.warning("Netgsm inbox: a row that is not an object was skipped")
                continue
            text, sender = row.get("message"), row.get("sender")
            if not isinstance(text, str) or not isinstance(sender, str | int) or not str(sender):
                _log.warning("Netgsm inbox: a row without message or sender was skipped")
                continue
            receiver = row.get("receiver")
            texts.append(
                inbound_sms(
                    str(sender),
                    "" if receiver is None else str(receiver),
                    text,
                    _netgsm_time(row.get("datetime")),
                )
            )
        return texts

    # -- the MO webhook -------------------------------------------------------------------

    def parse_callback(
        self,
        method: str,
        query: Mapping[str, list[str]],
        headers: Mapping[str, str],
        body: bytes,
    ) -> list[InboundEvent]:
        """Netgsm's MO webhook: ``mesaj``, ``ceptel``, ``aboneno``, ``gorevid``, ``tarih``,
        POSTed as JSON (as documented) or as a form."""
        if method != "POST":
            raise CallbackError(f"Netgsm posts its webhook, not {method}", 405)
        data = _json_or_none(body)
        if not isinstance(data, dict):
            try:
                form = parse_qs(body.decode("utf-8"), strict_parsing=True, max_num_fields=20)
            except (ValueError, UnicodeDecodeError) as exc:
                raise CallbackError("the body is neither JSON nor a form") from exc
            data = {key: values[0] for key, values in form.items()}
        text, sender = data.get("mesaj"), data.get("ceptel")
        if not isinstance(text, str):
            raise CallbackError("a Netgsm MO without 'mesaj'")
        if isinstance(sender, bool) or not isinstance(sender, str | int) or not str(sender):
            raise CallbackError("a Netgsm MO without 'ceptel'")
        receiver = data.get("aboneno")
        return [
            inbound_sms(
                str(sender),
                "" if receiver is None else str(receiver),
                text,
                _netgsm_time(data.get("tarih")),
            )
        ]

    # -- balance ---------------------------------------------------------------------------

    def balance_request(self) -> HttpRequest:
        """The request for the account's credit (``POST /balance``, ``stip`` 2).

        Netgsm takes the credentials in the body here, not in a header.
        """
        body: dict[str, object] = {
            "usercode": self.username,
            "password": self._password.reveal(),
            "stip": 2,
        }
        if self.appname:
            body["appkey"] = self.appname
        return HttpRequest("POST", BALANCE_PATH, {"Accept": "application/json"}, json=body)

    def parse_balance(self, response: HttpResponse) -> Decimal:
        """The credit in the answer to :meth:`balance_request`."""
        body = _json_or_none(response.body)
        code = _code(body)
        if code != "00":
            codes = {**NETGSM_REPORT_ERRORS, "60": "No records"}
            self._raise_for(code or str(response.status), body, response, codes, "balance")
        value = body.get("balance") if isinstance(body, dict) else None
        try:
            return Decimal(str(value).replace(",", ".").strip())
        except (InvalidOperation, ValueError) as exc:
            raise TransportError("Netgsm balance: the answer has no readable balance") from exc

    # -- helpers ----------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {"Authorization": "Basic " + self._token.reveal(), "Accept": "application/json"}

    def _header(self, sms: OutboundSms) -> str | None:
        return sms.originator or self.msgheader

    def _schedule(self, sms: OutboundSms) -> dict[str, str]:
        fields: dict[str, str] = {}
        if sms.send_at is not None:
            fields["startdate"] = _minute(sms.send_at)
        if sms.validity is not None:
            start = sms.send_at or self._clock()
            kept = min(max(sms.validity, _VALIDITY_MIN), _VALIDITY_MAX)
            fields["stopdate"] = _minute(start + kept)
        return fields

    def _error(
        self, code: str, body: object, words: Mapping[str, str], subject: str
    ) -> TransportError:
        """The isobil error of Netgsm's refusal ``code``, in Netgsm's words."""
        said = body.get("description") if isinstance(body, dict) else None
        detail = words.get(code, "undocumented code")
        if isinstance(said, str) and said.strip() and said.strip() != detail:
            detail += f" ({self.redact(said.strip())[:200]})"
        return _ERROR_CLASSES.get(code, SubmitRejected)(
            f"Netgsm refused {subject}: code {code}: {detail}", code=code
        )

    def _raise_for(
        self,
        code: str | None,
        body: object,
        response: HttpResponse,
        words: Mapping[str, str],
        what: str,
    ) -> None:
        """Raise the error of an answer to a query (report, inbox, balance) unless it is 00."""
        if code == "00":
            return
        if code is not None:
            raise self._error(code, body, words, f"the {what} query")
        if response.status in (401, 403):
            raise AuthenticationFailed(
                f"Netgsm refused the {what} query: HTTP {response.status}",
                code=str(response.status),
            )
        if response.status != 200 or not isinstance(body, dict):
            raise TransportError(f"Netgsm {what} query: HTTP {response.status}, no code to read")


def iys_filter(sms: OutboundSms) -> str:
    """Netgsm's ``iysfilter`` for ``sms``: ``"0"``, or ``"11"``/``"12"`` when commercial."""
    if not sms.commercial:
        return IYS_INFORMATIONAL
    return IYS_TACIR if sms.recipient_type is RecipientType.TACIR else IYS_BIREYSEL


def provider_id(jobid: str, number: str, occurrence: int = 1) -> str:
    """The provider id of the ``occurrence``-th message to ``number`` in job ``jobid``.

    >>> provider_id("1311033503", "5321234567"), provider_id("1311033503", "5321234567", 2)
    ('1311033503:5321234567', '1311033503:5321234567#2')
    """
    base = f"{jobid}:{number}"
    return base if occurrence == 1 else f"{base}#{occurrence}"


def inbound_sms(sender: str, receiver: str, text: str, received_at: datetime | None) -> InboundSms:
    """An inbound text from Netgsm, its provider id a hash of sender, second and text.

    Netgsm gives an inbox row no id; the same text read twice (overlapping polls,
    or the webhook and the inbox) gets the same provider id. Netgsm's times stop
    at the second: the text is taken as received at the end of that second, so
    that a RET is never ordered before a consent recorded in the same second.
    """
    from_ = _phone(sender)
    second = (received_at or datetime.now(UTC)).replace(microsecond=0)
    # Without Netgsm's time, the id must not depend on when we read the row.
    when = "" if received_at is None else second.astimezone(UTC).isoformat()
    key = "\x1f".join((from_, when, text))
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    moment = second.replace(microsecond=999_999)
    return InboundSms(from_, receiver.strip(), text, moment, f"netgsm-mo-{digest}")


@functools.lru_cache(maxsize=1024)
def netgsm_parts(text: str) -> int:
    """The parts Netgsm sends (and bills) ``text`` in, its operator code included.

    The GSM 7-bit default alphabet (160/153 septets a part); else with
    ``encoding=TR`` the Turkish single shift table (155/149), when every
    character is in it; else UCS-2 (70/67). The last part keeps room for the
    five characters of the operator code.
    """
    return plan_text(text, operator_suffix=_SUFFIX, locking_shift=False).parts


def _encoding(plan: SegmentPlan) -> bool:
    """Whether the request needs ``encoding=TR``: any text beyond the GSM default alphabet."""
    return plan.encoding is not Encoding.GSM7


def _national(number: str) -> str:
    """The ten digits Netgsm's ``no`` takes, from a +90 E.164 number."""
    return number.removeprefix("+90")


def _row_number(value: object) -> str | None:
    """A report row's number as the ten digits we sent."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    digits = re.sub(r"\D", "", str(value))
    if len(digits) == 12 and digits.startswith("90"):
        return digits[2:]
    if len(digits) == 11 and digits.startswith("0"):
        return digits[1:]
    return digits if len(digits) == 10 else None


def _report_row(row: object, seen: dict[tuple[str, str], int]) -> DeliveryReport | None:
    if not isinstance(row, dict):
        _log.warning("Netgsm report: a row that is not an object was skipped")
        return None
    jobid, number, status = row.get("jobid"), _row_number(row.get("number")), row.get("status")
    if isinstance(jobid, bool) or not isinstance(jobid, str | int) or number is None:
        _log.warning("Netgsm report: a row without jobid or number was skipped")
        return None
    try:
        state = int(str(status))
    except ValueError:
        _log.warning("Netgsm report: a row with status %r was skipped", status)
        return None
    key = (str(jobid).strip(), number)
    seen[key] = seen.get(key, 0) + 1
    pid = provider_id(key[0], number, seen[key])
    if state == 0:
        return None
    known = NETGSM_REPORT_STATES.get(state)
    isobil_status = DeliveryStatus.UNKNOWN if known is None else known[0]
    error_code = None
    if isobil_status is not DeliveryStatus.DELIVERED:
        error_code = str(state)
        operator_error = row.get("errorCode")
        if operator_error not in (None, "", 0, "0") and not isinstance(operator_error, bool):
            error_code += f"/{operator_error}"
    return DeliveryReport(pid, isobil_status, error_code, _netgsm_time(row.get("deliveredDate")))


_TIME_FORMATS: Final = (
    "%d.%m.%Y %H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%d.%m.%Y %H:%M",
    "%d%m%Y%H%M%S",
)


def _netgsm_time(value: object) -> datetime | None:
    """A Netgsm time (Istanbul, in one of the layouts its answers use), or ``None``."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    for layout in _TIME_FORMATS:
        try:
            return datetime.strptime(text, layout).replace(tzinfo=ISTANBUL)
        except ValueError:
            continue
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=ISTANBUL)


def _minute(moment: datetime) -> str:
    """``ddMMyyyyHHmm`` in Istanbul time, as ``startdate``/``stopdate`` take it."""
    return moment.astimezone(ISTANBUL).strftime("%d%m%Y%H%M")


def _code(body: object) -> str | None:
    if not isinstance(body, dict):
        return None
    code = body.get("code")
    if isinstance(code, bool) or not isinstance(code, str | int):
        return None
    text = str(code).strip()
    # Netgsm writes success as "00"; an integer 0 would have lost its zero.
    return "00" if text in ("0", "00") else text or None
