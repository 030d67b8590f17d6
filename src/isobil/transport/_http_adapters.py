"""Provider adapters for :class:`~isobil.transport.HttpTransport`.

An adapter knows one provider's HTTP dialect and nothing about retries or
connections: it builds the request for a batch, reads the answer into one
:class:`SubmitResult` per message, and reads the provider's delivery-report and
inbound callbacks into events. Two ship with isobil:

* :class:`GenericJsonAdapter` — a JSON API whose field names you configure; the
  local test gateway (:mod:`isobil.testing.http_gateway`) speaks it.
* :class:`JasminAdapter` — the Jasmin SMS Gateway HTTP API (``/send``).
"""

from __future__ import annotations

import abc
import functools
import hashlib
import json
import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Final, Literal
from urllib.parse import parse_qs

import attrs

from isobil import phone
from isobil._net import Secret, header_safe
from isobil._time import ISTANBUL
from isobil.errors import InvalidValue, SubmitRejected, TransportError, TransportTimeout
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
from isobil.transport._smpp_receipts import receipt_date

__all__ = [
    "CallbackAuth",
    "CallbackError",
    "CallbackReply",
    "GenericJsonAdapter",
    "HttpAdapter",
    "HttpRequest",
    "HttpResponse",
    "JasminAdapter",
]

CallbackAuth = Literal["hmac", "token", "basic"]


@attrs.frozen
class HttpRequest:
    """One HTTP request an adapter wants sent; ``url`` is relative to the transport's base URL."""

    method: str
    url: str
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    params: Mapping[str, str] | None = attrs.field(default=None, repr=False)
    json: object = attrs.field(default=None, repr=False)
    data: Mapping[str, str] | None = attrs.field(default=None, repr=False)
    #: A raw body (XML, say), sent as is; set the Content-Type in ``headers``.
    content: bytes | None = attrs.field(default=None, repr=False)


@attrs.frozen
class HttpResponse:
    """The parts of an HTTP answer an adapter reads."""

    status: int
    headers: Mapping[str, str] = attrs.field(repr=False)
    body: bytes = attrs.field(repr=False)


@attrs.frozen
class CallbackReply:
    """What the callback receiver answers a provider that pushed events."""

    status: int = 200
    content_type: str = "application/json"
    body: bytes = b'{"ok": true}'


class CallbackError(InvalidValue):
    """Raised by an adapter for a callback it cannot read; the receiver answers ``status``."""

    def __init__(self, message: str, status: int = 400) -> None:
        self.status = status
        super().__init__(message)


class HttpAdapter(abc.ABC):
    """One provider's HTTP dialect.

    ``max_batch`` is how many messages one request may carry (1 for APIs that take
    one number per call). ``idempotent`` says whether the provider honours the
    idempotency key, so that a request whose answer was lost may be sent again.
    ``callback_auth`` is how the callback receiver authenticates this provider's
    pushes: ``"hmac"`` (signed headers) or ``"token"`` (a secret path segment, for
    providers that cannot sign). ``national_shift`` says whether the provider sends
    a text in a Turkish national language shift table when that is cheapest, and
    ``fixed_split`` whether it cuts long texts at fixed lengths whatever falls there.
    """

    max_batch: int = 1
    idempotent: bool = False
    callback_auth: CallbackAuth = "hmac"
    national_shift: bool = True
    fixed_split: bool = False
    #: Units the provider's part table keeps free for the operator code (see
    #: :func:`isobil.sms.plan`); 0 when its table has no such reserve.
    operator_suffix: int = 5
    #: Whether the provider sends the Turkish locking shift table (with national_shift);
    #: some send the single shift table only.
    locking_shift: bool = True
    #: Whether reports and inbound texts are pulled (:meth:`poll_requests`), not pushed.
    polls: bool = False

    @abc.abstractmethod
    def build_request(self, batch: Sequence[OutboundSms], idempotency_key: str) -> HttpRequest:
        """The request that submits ``batch`` (at most ``max_batch`` messages)."""

    @abc.abstractmethod
    def parse_response(
        self, batch: Sequence[OutboundSms], response: HttpResponse
    ) -> list[SubmitResult]:
        """One result per message of ``batch``, in order, from the provider's answer.

        Called for every answer except those the transport retries (429, 5xx).
        """

    @abc.abstractmethod
    def parse_callback(
        self,
        method: str,
        query: Mapping[str, list[str]],
        headers: Mapping[str, str],
        body: bytes,
    ) -> list[InboundEvent]:
        """The events of one pushed callback; raise :class:`CallbackError` if malformed."""

    def callback_reply(self, events: Sequence[InboundEvent]) -> CallbackReply:
        """The answer to a callback that was read and handed over."""
        return CallbackReply()

    def group_key(self, sms: OutboundSms) -> Hashable:
        """Messages whose keys differ never share a request (``None``, the default:
        any may). For providers that set per request what isobil sets per message
        (sender, commercial flag, encoding …)."""
        return None

    def refuse(self, sms: OutboundSms) -> TransportError | None:
        """Why the provider would not carry ``sms`` whole, before any request; or ``None``.

        Such a message is not sent: its result carries this error.
        """
        return None

    def secrets(self) -> Iterable[Secret | None]:
        """The credentials this adapter holds, which :meth:`redact` hides."""
        return ()

    def redact(self, text: str) -> str:
        """``text`` with this adapter's secrets (:meth:`secrets`) replaced, should a
        provider echo them."""
        for secret in self.secrets():
            if secret is not None and secret.reveal():
                text = text.replace(secret.reveal(), "***")
        return text

    def poll_requests(self, pending: Sequence[str], since: datetime) -> list[HttpRequest]:
        """Requests that pull reports and inbound texts, for providers that do not push.

        ``pending`` are provider ids still waiting for a final report (batch them
        as the provider allows); ``since`` is the start of the inbound window. The
        default, for providers that push everything, asks for nothing.
        """
        return []

    def parse_poll(self, request: HttpRequest, response: HttpResponse) -> list[InboundEvent]:
        """The events in the answer to one of :meth:`poll_requests`' requests.

        Raise a :class:`~isobil.errors.TransportError` for an answer that refuses
        the query (bad credentials, say).
        """
        return []


# -- shared parsing helpers ---------------------------------------------------------------


def _phone(value: str) -> str:
    """An MSISDN as providers write it, in E.164 where it is a phone number.

    Ten digits are a Turkish number without its 0 (``5321234567``), as Turkish
    providers write them; spaces, brackets and dashes are ignored. Short numbers
    (3-6 digits) and alphanumeric senders are kept as they are.
    """
    text = value.strip()
    digits = re.sub(r"[\s()-]", "", text)
    if re.fullmatch(r"\d{3,6}", digits) or not re.fullmatch(r"\+?\d{7,15}", digits):
        return text
    candidate = digits if digits.startswith(("+", "0")) or len(digits) == 10 else "+" + digits
    try:
        return phone.normalize(candidate)
    except InvalidValue:
        return text


def _datetime(value: object, naive: tzinfo = UTC) -> datetime | None:
    """An ISO 8601 time (``2015-02-20 16:06:00`` too); one without an offset is
    taken in ``naive``'s zone (the provider's clock)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise CallbackError(f"a time must be an ISO 8601 string, got {type(value).__name__}")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise CallbackError("a time is not ISO 8601") from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=naive)


def _optional_str(value: object, what: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise CallbackError(f"{what} must be a string or a number")
    return str(value).strip()


def _required_str(value: object, what: str) -> str:
    text = _optional_str(value, what)
    if not text:
        raise CallbackError(f"{what} is missing")
    return text


def _batch_error(batch: Sequence[OutboundSms], error: TransportError) -> list[SubmitResult]:
    return [SubmitResult(sms.id, error=error) for sms in batch]


# -- the generic JSON adapter -----------------------------------------------------------------

#: The default field names of :class:`GenericJsonAdapter`; override any with ``fields=``.
GENERIC_FIELDS: Final[Mapping[str, str]] = {
    # request
    "messages": "messages",
    "id": "id",
    "to": "to",
    "text": "text",
    "from": "from",
    "receipt": "receipt",
    # response
    "results": "results",
    "provider_id": "provider_id",
    "error": "error",
    "error_code": "code",
    "error_message": "message",
    # callbacks
    "type": "type",
    "status": "status",
    "done_at": "done_at",
    "received_at": "received_at",
}


class GenericJsonAdapter(HttpAdapter):
    """A JSON API with configurable field names, one POST per batch.

    The request (default names)::

        POST /messages            Idempotency-Key: <our message id, or a batch hash>
        {"messages": [{"id": "m1", "to": "+905321234567", "text": "…",
                       "from": "ACME", "receipt": true}]}

    The answer (HTTP 2xx)::

        {"results": [{"id": "m1", "provider_id": "p-1"},
                     {"id": "m2", "error": {"code": "E42", "message": "bad number"}}]}

    Results are matched to messages by ``id`` (or by position when the API leaves
    ids out). Any other 4xx rejects the whole batch with :class:`SubmitRejected`
    whose code is the body's error code, or the HTTP status.

    Callbacks are JSON objects (or an array of them) signed with HMAC::

        {"type": "dlr", "provider_id": "p-1", "status": "delivered",
         "code": "000", "done_at": "2026-01-01T10:00:00+03:00"}
        {"type": "mo", "from": "+905321234567", "to": "4605", "text": "ACME RET",
         "received_at": "…", "provider_id": "mo-1"}

    ``status`` is one of :class:`DeliveryStatus`'s values unless ``statuses`` maps
    the provider's words to them. Pass ``national_shift=False`` when the provider
    sends Turkish letters only as UCS-2 (the Client then counts parts that way).

    >>> GenericJsonAdapter(fields={"text": "body"}).fields["text"]
    'body'
    """

    callback_auth: CallbackAuth = "hmac"

    def __init__(
        self,
        *,
        path: str = "/messages",
        fields: Mapping[str, str] | None = None,
        statuses: Mapping[str, DeliveryStatus | str] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_header: str | None = "Idempotency-Key",
        max_batch: int = 100,
        api_key: str | None = None,
        api_key_header: str = "Authorization",
        api_key_prefix: str = "Bearer ",
        national_shift: bool = True,
    ) -> None:
        unknown = set(fields or {}) - set(GENERIC_FIELDS)
        if unknown:
            raise InvalidValue(f"unknown field names: {sorted(unknown)}")
        if isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1:
            raise InvalidValue(f"max_batch must be a positive integer, got {max_batch!r}")
        self.path = path
        self.fields: Mapping[str, str] = {**GENERIC_FIELDS, **(fields or {})}
        self.statuses: Mapping[str, DeliveryStatus] = {
            **{s.value: s for s in DeliveryStatus},
            **{k: DeliveryStatus(v) for k, v in (statuses or {}).items()},
        }
        self._headers = {
            name: header_safe(f"headers[{name!r}]", value)
            for name, value in (headers or {}).items()
        }
        self.idempotency_header = idempotency_header
        self.idempotent = idempotency_header is not None
        self.max_batch = max_batch
        self._api_key = None if api_key is None else Secret(header_safe("api_key", api_key))
        self._api_key_header = api_key_header
        self._api_key_prefix = api_key_prefix
        self.national_shift = national_shift

    def __repr__(self) -> str:
        auth = " api_key=***" if self._api_key is not None else ""
        return f"<GenericJsonAdapter {self.path} max_batch={self.max_batch}{auth}>"

    def secrets(self) -> Iterable[Secret | None]:
        return (self._api_key,)

    def build_request(self, batch: Sequence[OutboundSms], idempotency_key: str) -> HttpRequest:
        f = self.fields
        messages = []
        for sms in batch:
            item: dict[str, object] = {f["id"]: sms.id, f["to"]: sms.to, f["text"]: sms.text}
            if sms.originator is not None:
                item[f["from"]] = sms.originator
            item[f["receipt"]] = sms.request_receipt
            messages.append(item)
        headers = {"Accept": "application/json", **self._headers}
        if self.idempotency_header is not None:
            headers[self.idempotency_header] = idempotency_key
        if self._api_key is not None:
            headers[self._api_key_header] = self._api_key_prefix + self._api_key.reveal()
        return HttpRequest("POST", self.path, headers, json={f["messages"]: messages})

    def parse_response(
        self, batch: Sequence[OutboundSms], response: HttpResponse
    ) -> list[SubmitResult]:
        body = _json_or_none(response.body)
        if not 200 <= response.status < 300:
            code, message = self._error(body)
            detail = f": {self.redact(message)}" if message else ""
            return _batch_error(
                batch,
                SubmitRejected(
                    f"HTTP {response.status}{detail}", code=code or str(response.status)
                ),
            )
        f = self.fields
        items = body.get(f["results"]) if isinstance(body, dict) else None
        if not isinstance(items, list) or len(items) != len(batch):
            # Accepted, but we cannot tell which message got which id: outcome unknown.
            return _batch_error(
                batch, TransportTimeout(f"HTTP {response.status}: the answer cannot be read")
            )
        by_id = {
            str(item.get(f["id"])): item
            for item in items
            if isinstance(item, dict) and item.get(f["id"]) is not None
        }
        results = []
        for position, sms in enumerate(batch):
            item = by_id.get(sms.id, items[position])
            results.append(self._result(sms, item))
        return results

    def _result(self, sms: OutboundSms, item: object) -> SubmitResult:
        f = self.fields
        if not isinstance(item, dict):
            return SubmitResult(sms.id, error=TransportTimeout("unreadable result"))
        error = item.get(f["error"])
        if error:
            code, message = self._error({f["error"]: error})
            detail = f": {self.redact(message)}" if message else ""
            return SubmitResult(
                sms.id,
                error=SubmitRejected(f"rejected for {phone.mask(sms.to)}{detail}", code=code),
            )
        provider_id = item.get(f["provider_id"])
        if isinstance(provider_id, bool) or not isinstance(provider_id, str | int):
            return SubmitResult(sms.id, error=TransportTimeout("a result has no provider id"))
        return SubmitResult(sms.id, provider_id=str(provider_id))

    def _error(self, body: object) -> tuple[str | None, str | None]:
        f = self.fields
        if not isinstance(body, dict):
            return None, None
        error = body.get(f["error"], body)
        if isinstance(error, str):
            return None, error
        if not isinstance(error, dict):
            return None, None
        code, message = error.get(f["error_code"]), error.get(f["error_message"])
        return (
            None if code is None else str(code),
            None if message is None else str(message),
        )

    def parse_callback(
        self,
        method: str,
        query: Mapping[str, list[str]],
        headers: Mapping[str, str],
        body: bytes,
    ) -> list[InboundEvent]:
        if method != "POST":
            raise CallbackError(f"callbacks are POSTed, not {method}", 405)
        data = _json_or_none(body)
        if data is None:
            raise CallbackError("the body is not JSON")
        items = data if isinstance(data, list) else [data]
        if not items or len(items) > 1000:
            raise CallbackError("a callback carries 1 to 1000 events")
        return [self._event(item) for item in items]

    def _event(self, item: object) -> InboundEvent:
        f = self.fields
        if not isinstance(item, dict):
            raise CallbackError("an event must be a JSON object")
        kind = item.get(f["type"])
        if kind == "dlr":
            raw_status = item.get(f["status"])
            status = self.statuses.get(raw_status) if isinstance(raw_status, str) else None
            if status is None:
                raise CallbackError("unknown delivery status")
            return DeliveryReport(
                _required_str(item.get(f["provider_id"]), "provider_id"),
                status,
                _optional_str(item.get(f["error_code"]), "error code"),
                _datetime(item.get(f["done_at"])),
            )
        if kind == "mo":
            text = item.get(f["text"])
            if not isinstance(text, str):
                raise CallbackError("text must be a string")
            return InboundSms(
                _phone(_required_str(item.get(f["from"]), "from")),
                _required_str(item.get(f["to"]), "to"),
                text,
                _datetime(item.get(f["received_at"])) or datetime.now(UTC),
                _optional_str(item.get(f["provider_id"]), "provider_id"),
            )
        raise CallbackError("unknown event type")


def _json_or_none(body: bytes | str) -> object:
    """The JSON in ``body``, or ``None`` when it holds none."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


# -- Jasmin ---------------------------------------------------------------------------------

#: Jasmin's message_status words (SMSC receipts, level 2/3) as isobil statuses.
JASMIN_STATUSES: Final[Mapping[str, DeliveryStatus]] = {
    "DELIVRD": DeliveryStatus.DELIVERED,
    "UNDELIV": DeliveryStatus.UNDELIVERED,
    "EXPIRED": DeliveryStatus.EXPIRED,
    "REJECTD": DeliveryStatus.REJECTED,
    "DELETED": DeliveryStatus.UNDELIVERED,
    "ACCEPTD": DeliveryStatus.PENDING,
    "ENROUTE": DeliveryStatus.PENDING,
    "UNKNOWN": DeliveryStatus.UNKNOWN,
}

_JASMIN_SUCCESS = re.compile(rb'\s*Success\s+"([^"]+)"\s*')
_JASMIN_ERROR = re.compile(rb'\s*Error\s+"([^"]*)"\s*')


class JasminAdapter(HttpAdapter):
    """The Jasmin SMS Gateway HTTP API: ``/send``, one destination per request.

    Each message is a ``POST /send`` form with ``username``, ``password``, ``to``
    (international digits, no ``+``), ``from``, ``content`` (coding 0, which Jasmin
    encodes in the GSM 03.38 default alphabet) or ``hex-content`` (UCS-2, coding
    8, for anything else) and, when a receipt is wanted, ``dlr=yes``, ``dlr-url``,
    ``dlr-level`` (1 SMSC, 2 terminal, 3 both) and ``dlr-method=POST``.
    Jasmin answers ``Success "<uuid>"``; an ``Error "…"`` with 400, 403 (auth,
    no credit) or 412 (no route) rejects the message with that status as code.

    Jasmin has no idempotency key, so a request whose answer is lost is **not**
    sent again: its result is a :class:`TransportTimeout` (outcome unknown).
    Jasmin silently cuts off what does not fit in its ``long_content_max_parts``
    (5 unless configured otherwise): a message that needs more than ``max_parts``
    parts is not sent, its result a :class:`SubmitRejected` with code ``too-long``.
    Nor can it send the Turkish national language shift tables: ş, ğ, ı, İ go
    as UCS-2 (``national_shift = False``); and it splits a long text itself every
    153 septets, cutting an escape pair (€, [, ] …) that falls on the cut, so such
    a text goes as UCS-2 too (``fixed_split = True``). The Client plans parts that
    way.

    Jasmin cannot sign its pushes, so the callback receiver authenticates them by
    a secret token in the URL path (``callback_auth = "token"``); pass the full
    ``dlr_url`` including that token. DLR pushes (``id``, ``message_status``,
    ``level``, ``err``, ``donedate`` on the SMSC's clock, ``receipt_timezone``,
    Istanbul by default …) and MO pushes (``from``, ``to``, ``content``/``binary``,
    ``coding``, ``origin-connector``) are answered ``ACK/Jasmin``, without which
    Jasmin retries them.

    >>> JasminAdapter(username="isobil", password="s3cret")
    <JasminAdapter user='isobil' dlr_level=3>
    """

    max_batch = 1
    idempotent = False
    callback_auth: CallbackAuth = "token"
    national_shift = False
    fixed_split = True

    def __init__(
        self,
        *,
        username: str,
        password: str,
        dlr_url: str | None = None,
        dlr_level: int = 3,
        path: str = "/send",
        priority: int | None = None,
        receipt_timezone: tzinfo = ISTANBUL,
        max_parts: int = 5,
    ) -> None:
        if not username or not password:
            raise InvalidValue("username and password must be non-empty")
        if dlr_level not in (1, 2, 3):
            raise InvalidValue(f"dlr_level must be 1, 2 or 3, got {dlr_level!r}")
        if priority is not None and priority not in (0, 1, 2, 3):
            raise InvalidValue(f"priority must be 0 to 3, got {priority!r}")
        if isinstance(max_parts, bool) or not isinstance(max_parts, int) or max_parts < 1:
            raise InvalidValue(f"max_parts must be a positive integer, got {max_parts!r}")
        self.username = username
        self._password = Secret(password)
        self._dlr_url = None if dlr_url is None else Secret(dlr_url)
        self.dlr_level = dlr_level
        self.path = path
        self.priority = priority
        self.receipt_timezone = receipt_timezone
        self.max_parts = max_parts

    def __repr__(self) -> str:
        return f"<JasminAdapter user={self.username!r} dlr_level={self.dlr_level}>"

    def secrets(self) -> Iterable[Secret | None]:
        return (self._password, self._dlr_url)

    def build_request(self, batch: Sequence[OutboundSms], idempotency_key: str) -> HttpRequest:
        [sms] = batch
        form: dict[str, str] = {
            "username": self.username,
            "password": self._password.reveal(),
            "to": sms.to.removeprefix("+"),
        }
        if sms.originator is not None:
            form["from"] = sms.originator
        if _as_jasmin(sms.text).encoding is Encoding.GSM7:
            form["coding"] = "0"
            form["content"] = sms.text
        else:
            form["coding"] = "8"
            form["hex-content"] = sms.text.encode("utf-16-be").hex()
        if self.priority is not None:
            form["priority"] = str(self.priority)
        if sms.request_receipt and self._dlr_url is not None:
            form["dlr"] = "yes"
            form["dlr-url"] = self._dlr_url.reveal()
            form["dlr-level"] = str(self.dlr_level)
            form["dlr-method"] = "POST"
        else:
            form["dlr"] = "no"
        return HttpRequest("POST", self.path, {"Accept": "text/plain"}, data=form)

    def refuse(self, sms: OutboundSms) -> TransportError | None:
        parts = _jasmin_parts(_as_jasmin(sms.text))
        if parts <= self.max_parts:
            return None
        return SubmitRejected(
            f"the message to {phone.mask(sms.to)} needs {parts} parts; Jasmin sends at most "
            f"{self.max_parts} (its long_content_max_parts) and would cut the rest off",
            code="too-long",
        )

    def parse_response(
        self, batch: Sequence[OutboundSms], response: HttpResponse
    ) -> list[SubmitResult]:
        [sms] = batch
        if response.status == 200:
            match = _JASMIN_SUCCESS.fullmatch(response.body)
            if match is not None:
                return [SubmitResult(sms.id, provider_id=match.group(1).decode("ascii", "replace"))]
            return [SubmitResult(sms.id, error=TransportTimeout("Jasmin: unreadable success"))]
        match = _JASMIN_ERROR.fullmatch(response.body)
        reason = match.group(1).decode("utf-8", "replace") if match else ""
        reason = self.redact(reason)[:200]
        return [
            SubmitResult(
                sms.id,
                error=SubmitRejected(
                    f"Jasmin refused the message to {phone.mask(sms.to)}: HTTP {response.status}"
                    + (f" {reason}" if reason else ""),
                    code=str(response.status),
                ),
            )
        ]

    def parse_callback(
        self,
        method: str,
        query: Mapping[str, list[str]],
        headers: Mapping[str, str],
        body: bytes,
    ) -> list[InboundEvent]:
        if method == "POST":
            try:
                form = parse_qs(
                    body.decode("latin-1"),
                    keep_blank_values=True,
                    strict_parsing=bool(body),
                    encoding="latin-1",
                    max_num_fields=100,
                )
            except ValueError as exc:
                raise CallbackError("the body is not a form") from exc
        elif method == "GET":
            form = dict(query)
        else:
            raise CallbackError(f"Jasmin pushes are POST or GET, not {method}", 405)
        fields = {key: values[0] for key, values in form.items() if values}
        if "message_status" in fields:
            return [self._dlr(fields)]
        if "from" in fields and "to" in fields:
            return [self._mo(fields)]
        raise CallbackError("neither a Jasmin DLR nor a Jasmin MO")

    def _dlr(self, fields: Mapping[str, str]) -> DeliveryReport:
        provider_id = fields.get("id", "").strip()
        if not provider_id:
            raise CallbackError("a Jasmin DLR without 'id'")
        word = fields["message_status"].strip()
        err = fields.get("err") or None
        if word.startswith("ESME_"):
            # Level 1: the SMSC's answer to submit_sm.
            if word == "ESME_ROK":
                status = DeliveryStatus.PENDING
            else:
                status, err = DeliveryStatus.REJECTED, word
        elif word in JASMIN_STATUSES:
            status = JASMIN_STATUSES[word]
        else:
            raise CallbackError("unknown Jasmin message_status")
        done_at = receipt_date((fields.get("donedate") or "").strip(), self.receipt_timezone)
        return DeliveryReport(provider_id, status, err, done_at)

    @staticmethod
    def _mo(fields: Mapping[str, str]) -> InboundSms:
        coding = fields.get("coding", "0").strip() or "0"
        binary = fields.get("binary")
        try:
            raw = bytes.fromhex(binary) if binary else fields.get("content", "").encode("latin-1")
        except (ValueError, UnicodeEncodeError) as exc:
            raise CallbackError("unreadable MO content") from exc
        if coding == "8":
            text = raw.decode("utf-16-be", "replace")
        else:
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("latin-1")
        return InboundSms(
            _phone(fields["from"]),
            fields["to"].strip(),
            text,
            datetime.now(UTC),
            fields.get("id") or None,
        )

    def callback_reply(self, events: Sequence[InboundEvent]) -> CallbackReply:
        return CallbackReply(200, "text/plain", b"ACK/Jasmin")


@functools.lru_cache(maxsize=1024)
def _as_jasmin(text: str) -> SegmentPlan:
    """The encoding Jasmin carries ``text`` in whole: GSM 7-bit or UCS-2.

    Cached: :meth:`JasminAdapter.refuse` and ``build_request`` both ask for each
    message, and a campaign sends one text to many numbers.
    """
    return plan_text(text, operator_suffix=0, national_shift=False, fixed_split=True)


def _jasmin_parts(plan: SegmentPlan) -> int:
    """The parts Jasmin makes: a cut every 153 septets or 67 UCS-2 units beyond one part."""
    single, per_part = (160, 153) if plan.encoding is Encoding.GSM7 else (70, 67)
    return 1 if plan.units_used <= single else -(-plan.units_used // per_part)


def batch_key(batch: Sequence[OutboundSms]) -> str:
    """The idempotency key of ``batch``: our message id, or a hash of all ids."""
    if len(batch) == 1:
        return batch[0].id
    digest = hashlib.sha256("\x1f".join(sms.id for sms in batch).encode("utf-8"))
    return "batch-" + digest.hexdigest()[:40]
