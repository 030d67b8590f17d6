"""The İleti Merkezi (iletimerkezi.com) SMS API v1, JSON dialect, as an :class:`HttpAdapter`.

Sources, read for every request, answer and code below:

* the official API documentation, https://www.toplusmsapi.com (source:
  github.com/iletimerkezi/apidocs-website — ``docs/sms/send/json.mdx``,
  ``docs/sms/report/json.mdx``, ``docs/sms/report/webhook.mdx``,
  ``docs/account/balance/json.mdx``, ``docs/blacklist/{list,create,delete}/json.mdx``,
  ``docs/status-codes.mdx`` and ``src/components/ErrorCodeTable.js``);
* the newer pages https://www.iletimerkezi.com/en/docs/api/webhooks (one POST per
  status change; ``to`` carries +90) and /en/docs/api/get-report;
* the official Python SDK, github.com/iletimerkezi/iletimerkezi-python
  (``src/iletimerkezi/services/sms_service.py``, ``models/webhook_report.py``:
  numeric 110/111/112 in webhooks too);
* how the ``hash`` is made: hex HMAC-SHA256 of the API key keyed with the secret,
  as two independent clients compute it (github.com/isubas/iletimerkezisms
  ``lib/iletimerkezisms/report.rb``; github.com/roadrunner/iletimerkezi-php
  ``Client::_getRequestHeaderXml``). The panel also shows the hash ready-made
  (github.com/iletimerkezi/iletimerkezi-mcp-server README): pass either.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Final

import attrs

from isobil import phone
from isobil._net import Secret
from isobil._time import ISTANBUL
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
from isobil.model import RecipientType
from isobil.sms import SegmentPlan
from isobil.sms import plan as plan_text
from isobil.transport._base import (
    DeliveryReport,
    DeliveryStatus,
    InboundEvent,
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
    "ILETIMERKEZI_CODES",
    "IletiMerkeziAdapter",
    "IletiMerkeziBalance",
    "IletiMerkeziBlacklist",
]

_log = logging.getLogger("isobil.transport.iletimerkezi")

#: Every status code İleti Merkezi documents, with its own words (docs/status-codes.mdx).
#: 110-115 are report states (see :data:`REPORT_STATES`), the rest answers to a request.
ILETIMERKEZI_CODES: Final[Mapping[str, str]] = {
    "110": "Mesaj gönderiliyor",
    "111": "Mesaj gönderildi",
    "112": "Mesaj gönderilemedi",
    "113": "Siparişin gönderimi devam ediyor",
    "114": "Siparişin gönderimi tamamlandı",
    "115": "Sipariş gönderilemedi",
    "200": "İşlem başarılı",
    "400": "İstek çözümlenemedi",
    "401": "Üyelik bilgileri hatalı",
    "402": "Bakiye yetersiz",
    "404": "API istek yapılan yönteme sahip değil",
    "422": "İstek içerisindeki değerler doğrulanamadı.",
    "450": "Gönderilen başlık kullanıma uygun değil",
    "451": "Tekrar eden sipariş",
    "452": "Mesaj alıcıları hatalı",
    "453": "Sipariş boyutu aşıldı",
    "454": "Mesaj metni boş",
    "455": "Sipariş bulunamadı",
    "456": "Sipariş gönderim tarihi henüz gelmedi",
    "457": "Mesaj gönderim tarihinin formatı hatalı",
    "458": "Tarih aralığı hatalı",
    "459": "Başlık kısmı boş olamaz",
    "460": "Başlık 11 karakterden fazla olmamalı ve Türkçe karakter içermemelidir.",
    "461": "Grup adını boş bırakamazsınız.",
    "462": "Grup id alanını boş bırakamazsınız.",
    "463": "Böyle bir grup bulunamadı.",
    "464": "Page değeri 1 den başlamalı.",
    "465": "Kişi bulunamadı.",
    "466": "Hatalı numara.",
    "467": "Evrak bilgisi eksik.",
    "468": "IYS üzerinden sorgulama yapılıp, yapılmayacağını ayarlamalısınız.",
    "469": "IYS listenizi seçmelisiniz, BIREYSEL veya TACIR.",
    "470": "IYS kodunuzu ayarlamalısınız.",
    "471": "Arama terimi en az 3 karakter olmalıdır",
    "472": "Ad, soyad, cep telefonu, email alanlarından en az biri dolu olmalıdır.",
    "473": "Özel alan bulunamadı.",
    "503": "Sunucu geçici olarak servis dışı",
}

#: The error class of each refusal code; any other code is a plain SubmitRejected.
_REJECTIONS: Final[Mapping[str, type[SubmitRejected]]] = {
    "401": AuthenticationFailed,  # also: API access off, or a call from an IP not allowed
    "402": InsufficientBalance,
    "452": RecipientBlacklisted,  # a wrong number, or one on the account's blacklist
    "468": IysRefused,
    "469": IysRefused,
    "470": IysRefused,
}
#: Same text to the same numbers within 10 minutes: the order exists already.
_DUPLICATE: Final = "451"
#: The service is down for a while: nothing was taken.
_UNAVAILABLE: Final = "503"

#: Report states (get-report numeric, webhook words; the SDK's webhook model reads
#: numbers too) as isobil statuses.
REPORT_STATES: Final[Mapping[str, DeliveryStatus]] = {
    "accepted": DeliveryStatus.PENDING,
    "delivered": DeliveryStatus.DELIVERED,
    "undelivered": DeliveryStatus.UNDELIVERED,
    "110": DeliveryStatus.PENDING,
    "111": DeliveryStatus.DELIVERED,
    "112": DeliveryStatus.UNDELIVERED,
}

#: ``sendDateTime``: GG/AA/YYYY SS:DD, Turkish local time.
_SEND_AT_FORMAT: Final = "%d/%m/%Y %H:%M"


@attrs.frozen
class IletiMerkeziBalance:
    """The account balance: ``amount`` in TL and ``sms`` credits (whichever the account uses)."""

    amount: Decimal
    sms: int


@attrs.frozen
class IletiMerkeziBlacklist:
    """One page of the account's blacklist: ``count`` numbers in all, ``numbers`` on this page."""

    count: int
    numbers: tuple[str, ...]


def iletimerkezi_hash(api_key: str, secret: str) -> str:
    """The ``hash`` of the ``authentication`` block: hex HMAC-SHA256 of the key, keyed
    by the secret.

    >>> iletimerkezi_hash("key", "secret")[:16]
    '96de09a0f8699191'
    """
    return hmac.new(secret.encode("utf-8"), api_key.encode("utf-8"), hashlib.sha256).hexdigest()


class IletiMerkeziAdapter(HttpAdapter):
    """İleti Merkezi's JSON API: ``POST /v1/send-sms/json`` and friends.

    Use it with ``HttpTransport("https://api.iletimerkezi.com", adapter)``. Each
    request carries ``request.authentication{key, hash}``: give ``api_key`` and
    either the ``api_hash`` the panel shows or the ``secret`` it is made from.

    **One message, one order** (``max_batch = 1``). An order carries one
    ``sender``, ``sendDateTime``, ``iys`` and ``iysList`` for all its texts, and
    İleti Merkezi refuses a whole order for one bad recipient (452) or one
    repeated text (451) without saying which; one number per order keeps every
    refusal on the message it belongs to. The order id it answers is the
    message's provider id: the webhook's ``packet_id`` and get-report's
    ``order.id`` are that id, so each report settles exactly one isobil message
    (the webhook's per-message ``id`` is not known at submit and is not used).

    **No custom id, no idempotency** (``idempotent = False``): a request whose
    answer is lost is not sent again (:class:`TransportTimeout`, outcome
    unknown). A repeat of the same text to the same number within 10 minutes is
    refused with 451, read as :class:`DuplicateOrder` (outcome unknown as well).

    **İYS**: a commercial message (also one whose category was not given) goes with
    ``iys: "1"`` and ``iysList`` ``BIREYSEL`` or ``TACIR`` from its recipient type;
    an informational or legally required one with ``iys: "0"``. The İYS brand
    code is not a request field: it is set once in the panel (missing: 470).

    **Scheduling**: ``send_at`` becomes ``sendDateTime`` (GG/AA/YYYY SS:DD,
    Istanbul time, to the minute). The API has no validity period; ``validity``
    is not sent.

    **Parts**: İleti Merkezi cuts a text into at most 7 parts (453 beyond) and
    appends the operator code (" B186") to the last. Whether Turkish letters go
    in the single-shift table depends on the account's encoding setting, which
    the documented API neither shows nor sets; isobil therefore counts them as
    UCS-2 (``national_shift = False``), which never under-counts. Texts over
    ``max_parts`` parts are refused before any request.

    **Reports** are pushed to the one webhook URL of the account (panel:
    Settings → API → Bildirim Adresi), JSON, unsigned: mount a
    :class:`~isobil.transport.CallbackApp` with a token (``callback_auth =
    "token"``) and give the panel ``https://host/<token>/…``. With
    ``poll_reports=True`` the transport also asks ``get-report`` for each message
    still pending (one request per message: use it as a fallback, not a habit).

    >>> adapter = IletiMerkeziAdapter(api_key="k-123", secret="s3cret-s3cret", sender="ACME")
    >>> adapter
    <IletiMerkeziAdapter sender='ACME' max_parts=7>
    >>> adapter.max_batch, adapter.idempotent, adapter.national_shift
    (1, False, False)
    """

    max_batch = 1
    idempotent = False
    callback_auth: CallbackAuth = "token"
    national_shift = False
    fixed_split = False

    def __init__(
        self,
        *,
        api_key: str,
        api_hash: str | None = None,
        secret: str | None = None,
        sender: str | None = None,
        max_parts: int = 7,
        poll_reports: bool = False,
        path: str = "/v1",
    ) -> None:
        if not isinstance(api_key, str) or not api_key:
            raise InvalidValue("api_key must be a non-empty string")
        if (api_hash is None) == (secret is None):
            raise InvalidValue("give exactly one of api_hash (from the panel) or secret")
        if secret is not None and not secret:
            raise InvalidValue("secret must be non-empty")
        if api_hash is not None and not api_hash:
            raise InvalidValue("api_hash must be non-empty")
        if isinstance(max_parts, bool) or not isinstance(max_parts, int) or max_parts < 1:
            raise InvalidValue(f"max_parts must be a positive integer, got {max_parts!r}")
        self._key = Secret(api_key)
        self._secret = None if secret is None else Secret(secret)
        self._hash = Secret(
            api_hash if api_hash is not None else iletimerkezi_hash(api_key, secret or "")
        )
        self.sender = sender
        self.max_parts = max_parts
        self.poll_reports = poll_reports
        self.polls = poll_reports
        self.path = path.rstrip("/")

    def __repr__(self) -> str:
        return f"<IletiMerkeziAdapter sender={self.sender!r} max_parts={self.max_parts}>"

    def secrets(self) -> Iterable[Secret | None]:
        return (self._hash, self._secret, self._key)

    # -- requests ---------------------------------------------------------------------------

    def _request(self, endpoint: str, body: Mapping[str, object]) -> HttpRequest:
        payload = {
            "request": {
                "authentication": {"key": self._key.reveal(), "hash": self._hash.reveal()},
                **body,
            }
        }
        return HttpRequest(
            "POST",
            f"{self.path}/{endpoint}/json",
            {"Accept": "application/json"},
            json=payload,
        )

    def order(self, sms: OutboundSms) -> dict[str, object]:
        """The ``order`` object that submits ``sms`` (without authentication)."""
        order: dict[str, object] = {"sender": sms.originator or self.sender or ""}
        if sms.send_at is not None:
            order["sendDateTime"] = sms.send_at.astimezone(ISTANBUL).strftime(_SEND_AT_FORMAT)
        if sms.commercial:
            order["iys"] = "1"
            order["iysList"] = "TACIR" if sms.recipient_type is RecipientType.TACIR else "BIREYSEL"
        else:
            order["iys"] = "0"
        order["message"] = {
            "text": sms.text,
            "receipents": {"number": [sms.to.removeprefix("+")]},
        }
        return order

    def build_request(self, batch: Sequence[OutboundSms], idempotency_key: str) -> HttpRequest:
        [sms] = batch
        return self._request("send-sms", {"order": self.order(sms)})

    def refuse(self, sms: OutboundSms) -> TransportError | None:
        if not (sms.originator or self.sender):
            return SubmitRejected(
                f"no sender (başlık) for the message to {phone.mask(sms.to)}: İleti Merkezi "
                "needs one (459 Başlık kısmı boş olamaz)",
                code="459",
            )
        parts = _as_sent(sms.text).parts
        if parts > self.max_parts:
            return SubmitRejected(
                f"the message to {phone.mask(sms.to)} needs {parts} parts; İleti Merkezi "
                f"sends at most {self.max_parts} (453 Sipariş boyutu aşıldı)",
                code="too-long",
            )
        return None

    # -- answers ----------------------------------------------------------------------------

    def parse_response(
        self, batch: Sequence[OutboundSms], response: HttpResponse
    ) -> list[SubmitResult]:
        [sms] = batch
        body = _json_or_none(response.body)
        code, message = _status(body)
        if code is None:
            if 200 <= response.status < 300 or response.status >= 500:
                # Taken, perhaps, but we cannot tell: never send it again.
                return [
                    SubmitResult(
                        sms.id,
                        error=TransportTimeout(
                            f"İleti Merkezi: HTTP {response.status} with an unreadable answer; "
                            "outcome unknown"
                        ),
                    )
                ]
            code = str(response.status)
        if code == "200":
            order_id = _order_id(body)
            if order_id is None:
                return [
                    SubmitResult(
                        sms.id,
                        error=TransportTimeout("İleti Merkezi answered 200 without an order id"),
                    )
                ]
            return [SubmitResult(sms.id, provider_id=order_id)]
        error = self.error(code, message, to=sms.to)
        return [SubmitResult(sms.id, error=error)]

    def error(
        self, code: str, message: str | None = None, *, to: str | None = None
    ) -> TransportError:
        """The isobil error for İleti Merkezi's refusal ``code``, with its own words."""
        words = self.redact(message or ILETIMERKEZI_CODES.get(code, "")).strip()[:200]
        where = f" the message to {phone.mask(to)}" if to else ""
        text = f"İleti Merkezi refused{where}: {code}" + (f" {words}" if words else "")
        if code == _UNAVAILABLE:
            return ConnectionFailed(text)
        if code == _DUPLICATE:
            return DuplicateOrder(text + "; an earlier attempt most likely went through", code=code)
        return _REJECTIONS.get(code, SubmitRejected)(text, code=code)

    # -- callbacks (the webhook) --------------------------------------------------------------

    def parse_callback(
        self,
        method: str,
        query: Mapping[str, list[str]],
        headers: Mapping[str, str],
        body: bytes,
    ) -> list[InboundEvent]:
        if method != "POST":
            raise CallbackError(f"İleti Merkezi posts its webhook, not {method}", 405)
        data = _json_or_none(body)
        report = data.get("report") if isinstance(data, dict) else None
        if not isinstance(report, dict):
            raise CallbackError("not an İleti Merkezi webhook: no 'report' object")
        packet_id = _id(report.get("packet_id"))
        if packet_id is None:
            raise CallbackError("an İleti Merkezi report without 'packet_id'")
        raw = report.get("status")
        word = (
            str(raw).strip().lower()
            if isinstance(raw, str | int) and not isinstance(raw, bool)
            else ""
        )
        status = REPORT_STATES.get(word)
        if status is None:
            raise CallbackError("unknown İleti Merkezi report status")
        # The webhook gives no reason: the provider's state word is all we keep.
        error_code = None if status in (DeliveryStatus.DELIVERED, DeliveryStatus.PENDING) else word
        return [DeliveryReport(packet_id, status, error_code, None)]

    # -- pulled reports ------------------------------------------------------------------------

    def poll_requests(self, pending: Sequence[str], since: datetime) -> list[HttpRequest]:
        if not self.poll_reports:
            return []
        return [
            self._request(
                "get-report", {"order": {"id": order_id, "page": "1", "rowCount": "1000"}}
            )
            for order_id in dict.fromkeys(pending)
        ]

    def parse_poll(self, request: HttpRequest, response: HttpResponse) -> list[InboundEvent]:
        body = _json_or_none(response.body)
        code, message = _status(body)
        if code is None:
            raise TransportTimeout(f"İleti Merkezi get-report: HTTP {response.status}, unreadable")
        if code in ("455", "456"):
            return []  # not (yet) an order we can report on
        if code != "200":
            raise self.error(code, message)
        order = _dig(body, "response", "order")
        if not isinstance(order, dict):
            return []
        order_id = _id(order.get("id")) or _requested_order(request)
        if order_id is None:
            return []
        messages = order.get("message")
        items = messages if isinstance(messages, list) else [messages] if messages else []
        for item in items:
            state = _id(item.get("status")) if isinstance(item, dict) else None
            status = REPORT_STATES.get(state or "")
            if status is not None and status.final:
                error_code = None if status is DeliveryStatus.DELIVERED else state
                return [DeliveryReport(order_id, status, error_code, None)]
        if _id(order.get("status")) == "115" and not items:
            return [DeliveryReport(order_id, DeliveryStatus.UNDELIVERED, "115", None)]
        return []

    # -- balance and blacklist ------------------------------------------------------------------

    def balance_request(self) -> HttpRequest:
        """``POST /v1/get-balance/json``; read the answer with :meth:`parse_balance`."""
        return self._request("get-balance", {})

    def parse_balance(self, response: HttpResponse) -> IletiMerkeziBalance:
        """The balance in an answer to :meth:`balance_request`; raises the mapped error."""
        balance = self._ok(response, "balance")
        try:
            amount = Decimal(str(balance.get("amount") or "0"))
            sms = int(str(balance.get("sms") or "0"))
        except (InvalidOperation, ValueError) as exc:
            raise TransportError("İleti Merkezi: unreadable balance") from exc
        return IletiMerkeziBalance(amount, sms)

    def blacklist_request(self, page: int = 1, row_count: int = 1000) -> HttpRequest:
        """``POST /v1/get-blacklist/json`` for one page (at most 1000 numbers)."""
        if page < 1 or not 1 <= row_count <= 1000:
            raise InvalidValue("page starts at 1; row_count is 1 to 1000")
        return self._request("get-blacklist", {"blacklist": {"page": page, "rowCount": row_count}})

    def parse_blacklist(self, response: HttpResponse) -> IletiMerkeziBlacklist:
        """The page in an answer to :meth:`blacklist_request`, numbers in E.164."""
        blacklist = self._ok(response, "blacklist")
        raw = blacklist.get("number")
        numbers = raw if isinstance(raw, list) else [] if raw in (None, "") else [raw]
        try:
            count = int(str(blacklist.get("count") or len(numbers)))
        except ValueError as exc:
            raise TransportError("İleti Merkezi: unreadable blacklist count") from exc
        return IletiMerkeziBlacklist(count, tuple(_phone(str(n)) for n in numbers))

    def add_blacklist_request(self, number: str) -> HttpRequest:
        """``POST /v1/add-blacklist/json`` for one number; check with :meth:`parse_status`."""
        return self._request("add-blacklist", {"blacklist": {"number": phone.normalize(number)}})

    def delete_blacklist_request(self, number: str) -> HttpRequest:
        """``POST /v1/delete-blacklist/json`` for one number; check with :meth:`parse_status`."""
        return self._request("delete-blacklist", {"blacklist": {"number": phone.normalize(number)}})

    def parse_status(self, response: HttpResponse) -> None:
        """Raise the mapped error unless the answer's status code is 200."""
        self._ok(response, None)

    def _ok(self, response: HttpResponse, key: str | None) -> dict[str, object]:
        body = _json_or_none(response.body)
        code, message = _status(body)
        if code is None:
            raise TransportError(f"İleti Merkezi: HTTP {response.status}, unreadable answer")
        if code != "200":
            raise self.error(code, message)
        if key is None:
            return {}
        found = _dig(body, "response", key)
        return found if isinstance(found, dict) else {}


# -- helpers ------------------------------------------------------------------------------------


def _as_sent(text: str) -> SegmentPlan:
    """The parts İleti Merkezi bills for ``text``: GSM 7-bit or UCS-2, 5 units kept for B186."""
    return plan_text(text, operator_suffix=5, national_shift=False)


def _dig(data: object, *keys: str) -> object:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _id(value: object) -> str | None:
    """A numeric id or code as İleti Merkezi writes it (a number or a string)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    return text if text.isdigit() and len(text) <= 20 else None


def _status(body: object) -> tuple[str | None, str | None]:
    code = _id(_dig(body, "response", "status", "code"))
    message = _dig(body, "response", "status", "message")
    return code, message if isinstance(message, str) else None


def _order_id(body: object) -> str | None:
    return _id(_dig(body, "response", "order", "id"))


def _requested_order(request: HttpRequest) -> str | None:
    return _id(_dig(request.json, "request", "order", "id"))
