"""A loopback simulator of Verimor's SMS API v2, as its documentation describes it.

Serves ``POST /v2/send.json`` (campaign id as plain text; HTTP 400 with the
error code as the body; 401 for credentials; 413 over 10 MB; 429 over the
per-minute request limit), ``GET /v2/balance``, ``GET/POST/DELETE
/v2/blacklists`` and ``GET /v2/status``; pushes reports and inbound texts as
JSON arrays to ``callback_url``. It bills parts by Verimor's own table,
counted here independently of :mod:`isobil.sms`. Sources: ``user_guide.md`` of
https://github.com/verimor/SMS-API and https://github.com/verimor/docs.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from isobil._time import ISTANBUL
from isobil.testing.providers._base import ProviderSimulator, SimAnswer, SimRequest, SimulatedSms
from isobil.transport import DeliveryStatus

__all__ = ["VerimorSimulator"]

_TEXT = "text/plain; charset=utf-8"
_JSON = "application/json; charset=utf-8"
_BAD_LOGIN = "Geçersiz kullanıcı adı/şifre"

#: Every code Verimor documents for a refused send (answered HTTP 400, code as body).
SEND_ERRORS = frozenset(
    {
        "INVALID_SOURCE_ADDRESS",
        "NUMERIC_SOURCE_ADDRESS_NOT_ALLOWED",
        "MISSING_MESSAGE",
        "MESSAGE_TOO_LONG",
        "INVALID_PERIOD",
        "INVALID_DELIVERY_TIME",
        "INVALID_DATACODING",
        "MISSING_IYS_BRAND_CODE",
        "AHS_AUTHORIZATION_ERROR",
        "NO_AHS_BRAND_ERROR",
        "COMMERCIAL_SENDING_ERROR_UNDER_150K",
        "INVALID_IYS_RECIPIENT_TYPE",
        "MISSING_DESTINATION_ADDRESS",
        "INVALID_DESTINATION_ADDRESS",
        "INVALID_UTF8",
        "MUKERRER_RAPORLAMA",
        "INSUFFICIENT_CREDITS",
        "FORBIDDEN_MESSAGE",
        "INVALID_CONSENT_DATE",
        "MISSING_CONSENT",
        "MISSING_CONSENT_DATE",
        "INVALID_RECIPIENT",
        "INVALID_JSON",
        "MESSAGE_COUNT_LIMIT_EXCEEDED",
    }
)

# Verimor's part table ("SMS BOY KARAKTER LİMİTLERİ"): one part, a part of many.
_TABLE = {0: (160, 153), 1: (155, 149), 2: (70, 67)}
_TWICE = set("^{}\\[]~|€")
_TURKISH = set("ŞşĞğçıİ")
_GSM = (
    set(
        "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
        "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
    )
    | _TWICE
)
_VALID_FOR = re.compile(r"(\d{1,2}):(\d{2})")
_DEST = re.compile(r"(90\d{10}|(\+|00)\d{7,15})")
_STATUS_WORDS = {
    DeliveryStatus.DELIVERED: "DELIVERED",
    DeliveryStatus.UNDELIVERED: "NOT_DELIVERED",
    DeliveryStatus.EXPIRED: "EXPIRED",
    DeliveryStatus.REJECTED: "REJECTED",
    DeliveryStatus.PENDING: "WAITING",
    DeliveryStatus.UNKNOWN: "SEND_ERROR",
}
_DEFAULT_GSM_ERROR = {"NOT_DELIVERED": "1", "EXPIRED": "2048", "REJECTED": "2051"}


def verimor_parts(text: str, datacoding: int) -> int:
    """What Verimor bills for ``text`` sent with ``datacoding``, by its table."""
    if datacoding == 2:
        units = len(text.encode("utf-16-le", "surrogatepass")) // 2
    else:
        units = sum(2 if char in _TWICE else 1 for char in text)
    single, per_part = _TABLE[datacoding]
    return 1 if units <= single else math.ceil(units / per_part)


def _as_shown(text: str, datacoding: int) -> str:
    """``text`` as the phone shows it: letters ``datacoding`` cannot carry become ``?``.

    (Verimor says datacoding decides which letters a message may use; what becomes
    of the others is not documented — a ``?`` makes a wrong datacoding visible.)
    """
    if datacoding == 2:
        return text
    allowed = _GSM | _TURKISH if datacoding == 1 else _GSM
    return "".join(char if char in allowed else "?" for char in text)


@dataclass
class _Message:
    campaign_id: int
    campaign_custom_id: str | None
    message_id: int
    custom_id: str | None
    dest: str
    size: int
    status: str = "WAITING"
    gsm_error: str = "0"
    done_at: str | None = None


class VerimorSimulator(ProviderSimulator):
    """Verimor's API on 127.0.0.1: a real HTTP server speaking ``/v2/…``.

    ``headers`` are the approved sender IDs (başlık), mapped to their İYS brand
    code (``None``: none set in OİM, so commercial sends answer
    ``MISSING_IYS_BRAND_CODE``). ``credits`` is the balance (``None``: unlimited);
    ``requests_per_minute`` the send limit (240, Verimor's), counted on
    ``clock``. Each accepted message becomes a :class:`SimulatedSms` whose
    ``provider_id`` is ``"<campaign id>:<message id you gave>"`` — what
    :class:`~isobil.transport._verimor.VerimorAdapter` reports — or Verimor's
    own ``message_id`` when you gave none; :meth:`deliver` takes either.

    >>> with VerimorSimulator() as sim:
    ...     sim.url.startswith("http://127.0.0.1:")
    True
    """

    def __init__(
        self,
        *,
        username: str = "908501234567",
        password: str = "verimor-test-password",  # noqa: S107 - a loopback test server
        headers: Mapping[str, str | None] | None = None,
        credits: int | None = None,
        requests_per_minute: int = 240,
        callback_url: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.username = username
        self.password = password
        self.headers: dict[str, str | None] = dict(
            headers if headers is not None else {"TEST": "627033", "ACME": "627033"}
        )
        self.credits = credits
        self.requests_per_minute = requests_per_minute
        self.clock = clock
        self.blacklist: dict[str, str] = {}
        self._sends: list[float] = []
        self._campaigns = itertools.count(20210)
        self._message_ids = itertools.count(13582302)
        self._inbound_ids = itertools.count(1234)
        self._messages: dict[str, _Message] = {}
        super().__init__(callback_url=callback_url)

    # -- the contract's hooks -------------------------------------------------------------

    def is_send(self, request: SimRequest) -> bool:
        return request.path in ("/v2/send.json", "/v2/send")

    def error_answer(self, code: str) -> SimAnswer:
        if code in SEND_ERRORS:
            return SimAnswer(400, code.encode("utf-8"), _TEXT)
        if code == "401":
            return SimAnswer(401, _BAD_LOGIN.encode("utf-8"), _TEXT)
        if code == "413":
            return SimAnswer(413, b"Request Entity Too Large", _TEXT)
        if code == "429":
            return SimAnswer(429, b"Too Many Requests", _TEXT)
        raise ValueError(f"Verimor documents no error {code!r}")

    def handle(self, request: SimRequest) -> SimAnswer:
        path, method = request.path, request.method
        if method == "POST" and path == "/v2/send.json":
            return self._send(request)
        if method == "GET" and path == "/v2/balance":
            return self._authorised(request.query, self._balance)
        if path == "/v2/blacklists" and method == "GET":
            return self._authorised(request.query, self._blacklist_page(request.query))
        if path == "/v2/blacklists" and method == "POST":
            phones = request.query.get("phones", [""])[0]
            return self._authorised(request.query, lambda: self._blacklist_add(phones))
        if path.startswith("/v2/blacklists/") and method == "DELETE":
            phones = path.removeprefix("/v2/blacklists/")
            return self._authorised(request.query, lambda: self._blacklist_remove(phones))
        if method == "GET" and path == "/v2/status":
            return self._authorised(request.query, lambda: self._status(request.query))
        return _plain(404, "Not Found")

    def deliver(self, provider_id: str, status: DeliveryStatus, reason: str | None = None) -> None:
        """Push the report of ``provider_id``: ``reason`` is a Verimor status word
        (``BLACKLISTED_DESTINATION_ADDRESS`` …) or a ``gsm_error`` number."""
        with self.lock:
            message = self._find(provider_id)
            word = _STATUS_WORDS[DeliveryStatus(status)]
            gsm_error = "0"
            if reason is not None and reason.isdigit():
                gsm_error = reason
            elif reason is not None:
                word = reason
            elif word in _DEFAULT_GSM_ERROR:
                gsm_error = _DEFAULT_GSM_ERROR[word]
            message.status, message.gsm_error = word, gsm_error
            message.done_at = _now_text()
            item = {"type": "outbound", **self._report(message)}
        self.push(json.dumps([item]).encode("utf-8"), "application/json")

    def send_inbound(self, from_: str, to: str, text: str) -> None:
        """Push a text from ``from_`` (E.164) to ``to`` as Verimor does."""
        short = to.isdigit() and len(to) <= 6
        item = {
            "message_id": next(self._inbound_ids),
            "type": "inbound",
            "created_at": _now_text(),
            "network": "TURKCELL",
            "source_addr": from_.lstrip("+"),
            "destination_addr": to.lstrip("+"),
            "keyword": text.split()[0] if short and text.split() else "",
            "content": text,
            "received_at": _now_text(),
        }
        self.push(json.dumps([item]).encode("utf-8"), "application/json")

    # -- the API --------------------------------------------------------------------------

    def _send(self, request: SimRequest) -> SimAnswer:
        if len(request.body) > 10 * 1024 * 1024:
            return _plain(413, "Request Entity Too Large")
        now = self.clock()
        with self.lock:
            self._sends = [t for t in self._sends if now - t < 60.0]
            if len(self._sends) >= self.requests_per_minute:
                return _plain(429, "Too Many Requests")
            self._sends.append(now)
        try:
            body = json.loads(request.body.decode("utf-8"))
        except UnicodeDecodeError:
            return _plain(400, "INVALID_UTF8")
        except ValueError:
            return _plain(400, "INVALID_JSON")
        if not isinstance(body, dict):
            return _plain(400, "INVALID_JSON")
        if body.get("username") != self.username or body.get("password") != self.password:
            return _plain(401, _BAD_LOGIN)
        refusal = self._check(body)
        if refusal is not None:
            return _plain(400, refusal)
        return self._accept(body)

    def _check(self, body: dict[str, object]) -> str | None:
        source = body.get("source_addr")
        if source is None:
            source = next(iter(self.headers), None)
        if not isinstance(source, str) or source not in self.headers:
            return "INVALID_SOURCE_ADDRESS"
        commercial = body.get("is_commercial")
        if commercial not in (None, True, False, "true", "false"):
            return "INVALID_JSON"
        if commercial in (True, "true"):
            if body.get("iys_recipient_type") not in ("BIREYSEL", "TACIR"):
                return "INVALID_IYS_RECIPIENT_TYPE"
            if not self.headers[source]:
                return "MISSING_IYS_BRAND_CODE"
        valid_for = body.get("valid_for")
        if valid_for is not None and not _valid_period(valid_for):
            return "INVALID_PERIOD"
        send_at = body.get("send_at")
        if send_at is not None and not _future(send_at):
            return "INVALID_DELIVERY_TIME"
        coding = body.get("datacoding")
        if coding is not None and str(coding) not in ("0", "1", "2"):
            return "INVALID_DATACODING"
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return "MISSING_MESSAGE"
        count = 0
        for item in messages:
            if not isinstance(item, dict) or not isinstance(item.get("msg"), str):
                return "MISSING_MESSAGE"
            if not item["msg"]:
                return "MISSING_MESSAGE"
            own_type = item.get("iys_recipient_type")
            if own_type is not None and own_type not in ("BIREYSEL", "TACIR"):
                return "INVALID_IYS_RECIPIENT_TYPE"
            dest = item.get("dest")
            if not isinstance(dest, str) or not dest.strip():
                return "MISSING_DESTINATION_ADDRESS"
            numbers = [d.strip() for d in dest.split(",")]
            if not all(_DEST.fullmatch(n) for n in numbers):
                return "INVALID_DESTINATION_ADDRESS"
            count += len(numbers)
            datacoding = _datacoding(coding, item["msg"])
            if verimor_parts(item["msg"], datacoding) > 7:
                return "MESSAGE_TOO_LONG"
        if count > 50_000:
            return "MESSAGE_COUNT_LIMIT_EXCEEDED"
        if self.credits is not None and self._cost(body) > self.credits:
            return "INSUFFICIENT_CREDITS"
        return None

    def _cost(self, body: Mapping[str, object]) -> int:
        messages = body["messages"]
        assert isinstance(messages, list)
        return sum(
            verimor_parts(item["msg"], _datacoding(body.get("datacoding"), item["msg"]))
            * len(item["dest"].split(","))
            for item in messages
        )

    def _accept(self, body: Mapping[str, object]) -> SimAnswer:
        commercial = body.get("is_commercial") in (True, "true")
        custom = body.get("custom_id")
        campaign_custom_id = None if custom is None else str(custom)
        with self.lock:
            campaign = next(self._campaigns)
            if self.credits is not None:
                self.credits -= self._cost(body)
            messages = body["messages"]
            assert isinstance(messages, list)
            for item in messages:
                numbers = [d.strip() for d in item["dest"].split(",")]
                ids = [i.strip() for i in str(item.get("id") or "").split(",")]
                if len(ids) != len(numbers):  # Verimor ignores ids that do not match
                    ids = [""] * len(numbers)
                datacoding = _datacoding(body.get("datacoding"), item["msg"])
                parts = verimor_parts(item["msg"], datacoding)
                for number, own_id in zip(numbers, ids, strict=True):
                    message_id = next(self._message_ids)
                    message = _Message(
                        campaign, campaign_custom_id, message_id, own_id or None, number, parts
                    )
                    provider_id = f"{campaign}:{own_id}" if own_id else str(message_id)
                    self._messages[provider_id] = message
                    self._messages[str(message_id)] = message
                    self.record(
                        SimulatedSms(
                            provider_id=provider_id,
                            to=_e164(number),
                            text=_as_shown(item["msg"], datacoding),
                            originator=_str_or_none(body.get("source_addr")),
                            commercial=commercial,
                            recipient_type=(
                                _str_or_none(
                                    item.get("iys_recipient_type", body.get("iys_recipient_type"))
                                )
                                if commercial
                                else None
                            ),
                            iys_flag=json.dumps(body.get("is_commercial")),
                            custom_id=own_id or None,
                            parts=parts,
                        )
                    )
        return _plain(200, str(campaign))

    def _find(self, provider_id: str) -> _Message:
        try:
            return self._messages[provider_id]
        except KeyError:
            raise ValueError(f"no message {provider_id!r} was sent") from None

    def _report(self, message: _Message) -> dict[str, object]:
        return {
            "campaign_id": message.campaign_id,
            "campaign_custom_id": message.campaign_custom_id,
            "message_id": str(message.message_id),
            "message_custom_id": message.custom_id,
            "dest": message.dest,
            "size": message.size,
            "international_multiplier": 1,
            "credits": message.size,
            "status": message.status,
            "gsm_error": message.gsm_error,
            "sent_at": message.done_at if message.status in ("DELIVERED", "SENT") else None,
            "done_at": message.done_at,
        }

    def _balance(self) -> SimAnswer:
        with self.lock:
            credits = 999_999 if self.credits is None else self.credits
        return _plain(200, str(credits))

    def _status(self, query: Mapping[str, list[str]]) -> SimAnswer:
        campaign = query.get("id", [""])[0]
        custom = query.get("custom_id", [""])[0]
        with self.lock:
            found = {
                m.message_id: m
                for m in self._messages.values()
                if (campaign and str(m.campaign_id) == campaign)
                or (custom and m.campaign_custom_id == custom)
            }
        if not found:
            return _plain(404, "Bu idye sahip kampanya bulunamadı")
        items = [self._report(found[key]) for key in sorted(found)][:100]
        return SimAnswer(200, json.dumps(items).encode("utf-8"), _JSON)

    def _authorised(
        self, query: Mapping[str, list[str]], answer: Callable[[], SimAnswer]
    ) -> SimAnswer:
        user = query.get("username", [""])[0]
        password = query.get("password", [""])[0]
        if user != self.username or password != self.password:
            return _plain(401, _BAD_LOGIN)
        return answer()

    def _blacklist_page(self, query: Mapping[str, list[str]]) -> Callable[[], SimAnswer]:
        def page() -> SimAnswer:
            offset = int(query.get("offset", ["0"])[0] or 0)
            limit = min(100, int(query.get("limit", ["100"])[0] or 100))
            with self.lock:
                numbers = sorted(self.blacklist)
                records = [
                    {"created_at": self.blacklist[n], "phone": n, "source": "api"}
                    for n in numbers[offset : offset + limit]
                ]
            data = {"total": len(numbers), "records": records}
            return SimAnswer(200, json.dumps(data).encode("utf-8"), _JSON)

        return page

    def _blacklist_add(self, phones: str) -> SimAnswer:
        numbers = [n.strip() for n in phones.split(",")]
        bad = next((n for n in numbers if not _DEST.fullmatch(n)), None)
        if bad is not None:
            return _plain(400, f"Invalid phone number: {bad}")
        with self.lock:
            for number in numbers:
                self.blacklist.setdefault(number, datetime.now(ISTANBUL).isoformat())
        return _plain(200, "OK")

    def _blacklist_remove(self, phones: str) -> SimAnswer:
        numbers = [n.strip() for n in phones.split(",")]
        bad = next((n for n in numbers if not _DEST.fullmatch(n)), None)
        if bad is not None:
            return _plain(400, f"Invalid phone number: {bad}")
        with self.lock:
            for number in numbers:
                self.blacklist.pop(number, None)
        return _plain(200, "OK")


def _datacoding(given: object, text: str) -> int:
    """The datacoding a message goes with: as given, or Verimor's guess (1 or 0, never 2)."""
    if given is not None:
        return int(str(given))
    return 1 if set(text) & _TURKISH else 0


def _valid_period(value: object) -> bool:
    match = _VALID_FOR.fullmatch(value) if isinstance(value, str) else None
    if match is None or int(match.group(2)) > 59:
        return False
    minutes = int(match.group(1)) * 60 + int(match.group(2))
    return 1 <= minutes <= 48 * 60


def _future(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return False
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ISTANBUL)
    return moment > datetime.now(ISTANBUL) - timedelta(minutes=1)


def _now_text() -> str:
    """Now, as Verimor writes times: Istanbul, whole seconds — rounded up, so that a
    text is never stamped before something that happened just before it arrived."""
    now = datetime.now(ISTANBUL)
    if now.microsecond:
        now = now.replace(microsecond=0) + timedelta(seconds=1)
    return now.strftime("%Y-%m-%d %H:%M:%S")


def _e164(number: str) -> str:
    if number.startswith("00"):
        return "+" + number[2:]
    return number if number.startswith("+") else "+" + number


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def _plain(status: int, text: str) -> SimAnswer:
    return SimAnswer(status, text.encode("utf-8"), _TEXT)
