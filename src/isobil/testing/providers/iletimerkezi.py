"""A loopback İleti Merkezi: the JSON API v1 as its documents describe it.

Implements ``/v1/send-sms/json``, ``/v1/get-report/json``, ``/v1/get-balance/json``
and ``/v1/{get,add,delete}-blacklist/json`` with ``request.authentication{key,
hash}`` (hash = hex HMAC-SHA256 of the key, keyed by the secret), the documented
status codes (in the body's ``response.status`` and as the HTTP status, as the
documents say), the 10-minute duplicate-order guard (451), the 7-part limit
(453), and the webhook: one ``{"report": {id, packet_id, status, to, body}}``
POST per message and status change. Sources: github.com/iletimerkezi/apidocs-website
(``docs/sms/send/json.mdx``, ``docs/sms/report/{json,webhook}.mdx``,
``docs/status-codes.mdx``, ``src/components/ErrorCodeTable.js``).

Parts are counted here with this module's own GSM 03.38 table (3GPP TS 23.038:
160 septets, 153 a part, extension characters two) or UCS-2 (70, 67 a part),
with the 5 characters of the operator code (" B186") the operator appends to the
last part — not with :mod:`isobil.sms`, so that the two counts check each other.
The simulated account sends Turkish letters as UCS-2.

İleti Merkezi pushes no inbound texts (its webhook carries delivery reports
only, and its inbox endpoint is withdrawn from official support), so
:meth:`IletiMerkeziSimulator.send_inbound` raises.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from isobil.testing.providers._base import ProviderSimulator, SimAnswer, SimRequest, SimulatedSms
from isobil.transport import DeliveryStatus
from isobil.transport._iletimerkezi import ILETIMERKEZI_CODES

__all__ = ["SEND_ERROR_CODES", "IletiMerkeziSimulator", "iletimerkezi_parts"]

#: The codes send-sms documents, with İleti Merkezi's words (docs/sms/send/json.mdx,
#: docs/status-codes.mdx): what :meth:`IletiMerkeziSimulator.fail_next` takes.
SEND_ERROR_CODES: Final[Mapping[str, str]] = {
    code: ILETIMERKEZI_CODES[code]
    for code in (
        "400",
        "401",
        "402",
        "404",
        "422",
        "450",
        "451",
        "452",
        "453",
        "454",
        "457",
        "459",
        "460",
        "466",
        "468",
        "469",
        "470",
        "503",
    )
}
_OTHER_CODES: Final[Mapping[str, str]] = {code: ILETIMERKEZI_CODES[code] for code in ("200", "455")}

# GSM 03.38 default alphabet (one septet) and its extension table (escape + one).
_GSM_BASIC: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION: Final = frozenset("\f^{}\\[~]|€")
_OPERATOR_CODE: Final = 5  # " B186", appended by the operator to the last part
_MAX_PARTS: Final = 7  # 453 beyond: "yedi(7) SMS uzunluğundan daha fazla"

_REPORT_WORDS: Final[Mapping[DeliveryStatus, tuple[str, int]]] = {
    DeliveryStatus.PENDING: ("accepted", 110),
    DeliveryStatus.DELIVERED: ("delivered", 111),
}
_UNDELIVERED: Final = ("undelivered", 112)


def iletimerkezi_parts(text: str) -> int:
    """The parts İleti Merkezi bills for ``text`` on a UCS-2 account.

    GSM 7-bit if every character is in the default alphabet or its extension
    (which costs two septets), else UCS-2 (UTF-16 units; a surrogate pair is
    two). One part holds 160 septets or 70 units; concatenated parts 153 or 67,
    never cutting a two-unit character; the operator code takes 5 more units at
    the end.

    >>> [iletimerkezi_parts(t) for t in ("a" * 155, "a" * 156, "ş" * 65, "ş" * 66)]
    [1, 2, 1, 2]
    """
    if all(ch in _GSM_BASIC or ch in _GSM_EXTENSION for ch in text):
        units = [2 if ch in _GSM_EXTENSION else 1 for ch in text]
        single, per_part = 160, 153
    else:
        units = [len(ch.encode("utf-16-le")) // 2 for ch in text]
        single, per_part = 70, 67
    if sum(units) + _OPERATOR_CODE <= single:
        return 1
    parts, room = 1, per_part
    for unit in itertools.chain(units, [1] * _OPERATOR_CODE):
        if unit > room:
            parts, room = parts + 1, per_part
        room -= unit
    return parts


def _number(value: object) -> str | None:
    """A recipient as İleti Merkezi reads it (905…, +90 5…, 5…), in E.164; else None."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    digits = "".join(ch for ch in str(value) if ch.isdigit())
    if len(digits) == 10 and digits.startswith("5"):
        digits = "90" + digits
    elif len(digits) == 11 and digits.startswith("05"):
        digits = "9" + digits
    if len(digits) == 12 and digits.startswith("905"):
        return "+" + digits
    return None


@dataclass
class _Message:
    id: int
    to: str
    text: str
    state: tuple[str, int] = ("accepted", 110)


@dataclass
class _Order:
    id: int
    sender: str
    submit_at: str
    send_at: str
    messages: list[_Message] = field(default_factory=list)
    price: int = 0


class _Refusal(Exception):
    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(code)


class IletiMerkeziSimulator(ProviderSimulator):
    """İleti Merkezi's API on loopback (see the module docstring).

    ``api_key`` and ``secret`` are the account's credentials (requests carry the
    key and its hash); ``senders`` are its approved başlıklar; ``iys_code`` says
    whether the panel has an İYS code (470 otherwise); ``sms_balance`` is its
    credit, spent part by part. ``duplicate_window`` is the guard of 451 (10
    minutes), measured with ``clock``.

    >>> with IletiMerkeziSimulator() as sim:
    ...     sim.url.startswith("http://127.0.0.1:")
    True
    """

    def __init__(
        self,
        *,
        api_key: str = "sim-api-key",
        secret: str = "sim-secret-0123456789",  # noqa: S107 - the simulator's own account
        senders: Iterable[str] = ("ACME", "APITEST"),
        iys_code: bool = True,
        sms_balance: int = 1_000_000,
        blacklist: Iterable[str] = (),
        duplicate_window: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
        callback_url: str | None = None,
    ) -> None:
        self.api_key = api_key
        self.api_hash = hmac.new(
            secret.encode("utf-8"), api_key.encode("utf-8"), hashlib.sha256
        ).hexdigest()
        self.senders = set(senders)
        self.iys_code = iys_code
        self.sms_balance = sms_balance
        self.blacklist: list[str] = [n for n in (_number(b) for b in blacklist) if n]
        self.duplicate_window = duplicate_window
        self._clock = clock
        self._orders: dict[str, _Order] = {}
        self._recent: dict[tuple[str, tuple[str, ...]], float] = {}
        self._order_ids = itertools.count(104525848)
        self._message_ids = itertools.count(1599558518)
        super().__init__(callback_url=callback_url)

    # -- the contract hooks ---------------------------------------------------------------------

    def is_send(self, request: SimRequest) -> bool:
        return request.path == "/v1/send-sms/json"

    def error_answer(self, code: str) -> SimAnswer:
        if code not in SEND_ERROR_CODES:
            raise ValueError(f"İleti Merkezi documents no send error {code!r}")
        return _status_answer(code, SEND_ERROR_CODES[code])

    def deliver(self, provider_id: str, status: DeliveryStatus, reason: str | None = None) -> None:
        """Give every message of order ``provider_id`` its state and push the webhook.

        İleti Merkezi knows three states (accepted, delivered, undelivered): every
        other final status is undelivered; its webhook carries no reason, so
        ``reason`` is not sent.
        """
        state = _REPORT_WORDS.get(status, _UNDELIVERED)
        with self.lock:
            order = self._orders[provider_id]
            for message in order.messages:
                message.state = state
            pushes = [
                {
                    "report": {
                        "id": message.id,
                        "packet_id": order.id,
                        "status": state[0],
                        "to": message.to,
                        "body": message.text,
                    }
                }
                for message in order.messages
            ]
        if self.callback_url is not None:
            for push in pushes:
                self.push(json.dumps(push, ensure_ascii=False).encode("utf-8"), "application/json")

    def send_inbound(self, from_: str, to: str, text: str) -> None:
        raise NotImplementedError(
            "İleti Merkezi pushes no inbound texts and its inbox endpoint is not officially "
            "supported; opt-outs texted to its short code go to the account's blacklist"
        )

    # -- the API ----------------------------------------------------------------------------

    def handle(self, request: SimRequest) -> SimAnswer:
        routes: Mapping[str, Callable[[dict[str, object]], SimAnswer]] = {
            "/v1/send-sms/json": self._send,
            "/v1/get-report/json": self._report,
            "/v1/get-balance/json": self._balance,
            "/v1/get-blacklist/json": self._get_blacklist,
            "/v1/add-blacklist/json": self._add_blacklist,
            "/v1/delete-blacklist/json": self._delete_blacklist,
        }
        route = routes.get(request.path)
        if route is None or request.method != "POST":
            return _status_answer("404", SEND_ERROR_CODES["404"])
        try:
            data = json.loads(request.body)
        except (ValueError, UnicodeDecodeError):
            return _status_answer("400", SEND_ERROR_CODES["400"])
        body = data.get("request") if isinstance(data, dict) else None
        if not isinstance(body, dict):
            return _status_answer("400", SEND_ERROR_CODES["400"])
        auth = body.get("authentication")
        if not (
            isinstance(auth, dict)
            and auth.get("key") == self.api_key
            and isinstance(auth.get("hash"), str)
            and hmac.compare_digest(str(auth["hash"]), self.api_hash)
        ):
            return _status_answer("401", SEND_ERROR_CODES["401"])
        try:
            return route(body)
        except _Refusal as refusal:
            words = {**SEND_ERROR_CODES, **_OTHER_CODES}[refusal.code]
            return _status_answer(refusal.code, words)

    def _send(self, body: dict[str, object]) -> SimAnswer:
        order = body.get("order")
        if not isinstance(order, dict):
            raise _Refusal("400")
        sender = order.get("sender")
        if not sender:
            raise _Refusal("459")
        if not isinstance(sender, str) or sender not in self.senders:
            raise _Refusal("450")
        iys, iys_list = str(order.get("iys", "")), order.get("iysList")
        if iys not in ("0", "1"):
            raise _Refusal("468")
        if iys == "1" and iys_list not in ("BIREYSEL", "TACIR"):
            raise _Refusal("469")
        if iys == "1" and not self.iys_code:
            raise _Refusal("470")
        send_at = _send_date(order.get("sendDateTime"))
        raw = order.get("message")
        messages = raw if isinstance(raw, list) else [raw]
        planned: list[tuple[str, list[str], int]] = []
        for message in messages:
            if not isinstance(message, dict):
                raise _Refusal("400")
            text = message.get("text")
            if not isinstance(text, str) or not text:
                raise _Refusal("454")
            receipents = message.get("receipents")
            raw_numbers = receipents.get("number") if isinstance(receipents, dict) else None
            listed = raw_numbers if isinstance(raw_numbers, list) else [raw_numbers]
            found = [_number(n) for n in listed]
            if not found or None in found:
                raise _Refusal("452")
            valid = [n for n in found if n is not None]
            if any(n in self.blacklist for n in valid):
                raise _Refusal("452")
            parts = iletimerkezi_parts(text)
            if parts > _MAX_PARTS:
                raise _Refusal("453")
            planned.append((text, valid, parts))
        now = self._clock()
        with self.lock:
            keys = [(text, tuple(sorted(numbers))) for text, numbers, _ in planned]
            if any(now - self._recent.get(key, -1e18) < self.duplicate_window for key in keys):
                raise _Refusal("451")
            price = sum(parts * len(numbers) for _, numbers, parts in planned)
            if price > self.sms_balance:
                raise _Refusal("402")
            self.sms_balance -= price
            self._recent.update(dict.fromkeys(keys, now))
            stamp = datetime.now().strftime("%Y-%m-%d %H:%M:%S")
            record = _Order(next(self._order_ids), sender, stamp, send_at or stamp, price=price)
            self._orders[str(record.id)] = record
            for text, numbers, parts in planned:
                for number in numbers:
                    record.messages.append(_Message(next(self._message_ids), number, text))
                    self.record(
                        SimulatedSms(
                            provider_id=str(record.id),
                            to=number,
                            text=text,
                            originator=sender,
                            commercial=iys == "1",
                            recipient_type=str(iys_list) if iys == "1" else None,
                            iys_flag=f"iys={iys} iysList={iys_list}",
                            custom_id=None,
                            parts=parts,
                        )
                    )
        return _answer(200, "200", "İşlem başarılı", order={"id": str(record.id)})

    def _report(self, body: dict[str, object]) -> SimAnswer:
        query = body.get("order")
        order_id = str(query.get("id", "")) if isinstance(query, dict) else ""
        with self.lock:
            order = self._orders.get(order_id)
            if order is None:
                raise _Refusal("455")
            page = _positive(query.get("page") if isinstance(query, dict) else None, 1)
            rows = min(
                _positive(query.get("rowCount") if isinstance(query, dict) else None, 1000), 1000
            )
            states = [m.state[1] for m in order.messages]
            shown = order.messages[(page - 1) * rows : page * rows]
            waiting = states.count(110)
            summary: dict[str, object] = {
                "id": order.id,
                "status": 113 if waiting else 114,
                "total": len(states),
                "delivered": states.count(111),
                "undelivered": states.count(112),
                "waiting": waiting,
                "submitAt": order.submit_at,
                "sendAt": order.send_at,
                "sender": order.sender,
                "price": order.price,
                "message": [{"number": m.to, "status": m.state[1]} for m in shown],
            }
        return _answer(200, 200, "İşlem başarılı", order=summary)

    def _balance(self, body: dict[str, object]) -> SimAnswer:
        with self.lock:
            balance = {"amount": "0", "sms": str(self.sms_balance)}
        return _answer(200, 200, "İşlem başarılı", balance=balance)

    def _get_blacklist(self, body: dict[str, object]) -> SimAnswer:
        query = body.get("blacklist")
        page = _positive(query.get("page") if isinstance(query, dict) else None, 1)
        rows = min(
            _positive(query.get("rowCount") if isinstance(query, dict) else None, 1000), 1000
        )
        with self.lock:
            numbers = self.blacklist[(page - 1) * rows : page * rows]
            count = len(self.blacklist)
        return _answer(
            200, 200, "İşlem başarılı", blacklist={"count": str(count), "number": numbers}
        )

    def _add_blacklist(self, body: dict[str, object]) -> SimAnswer:
        number = self._blacklist_number(body)
        with self.lock:
            if number not in self.blacklist:
                self.blacklist.append(number)
        return _answer(200, 200, "İşlem başarılı")

    def _delete_blacklist(self, body: dict[str, object]) -> SimAnswer:
        number = self._blacklist_number(body)
        with self.lock:
            if number in self.blacklist:
                self.blacklist.remove(number)
        return _answer(200, 200, "İşlem başarılı")

    @staticmethod
    def _blacklist_number(body: dict[str, object]) -> str:
        entry = body.get("blacklist")
        number = _number(entry.get("number")) if isinstance(entry, dict) else None
        if number is None:
            raise _Refusal("466")
        return number

    # -- for tests ----------------------------------------------------------------------------

    def orders(self) -> Sequence[str]:
        """The ids of the orders taken so far, in order."""
        with self.lock:
            return list(self._orders)


def _send_date(value: object) -> str | None:
    """``sendDateTime`` (GG/AA/YYYY SS:DD; a string, or a list of one as the docs' example)."""
    if isinstance(value, list):
        value = value[0] if value else ""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise _Refusal("457")
    try:
        moment = datetime.strptime(value, "%d/%m/%Y %H:%M")
    except ValueError:
        raise _Refusal("457") from None
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _positive(value: object, default: int) -> int:
    try:
        number = int(str(value))
    except ValueError:
        return default
    return number if number >= 1 else default


def _answer(http: int, code: str | int, message: str, **rest: object) -> SimAnswer:
    body = {"response": {"status": {"code": code, "message": message}, **rest}}
    return SimAnswer(http, json.dumps(body, ensure_ascii=False).encode("utf-8"))


def _status_answer(code: str, message: str) -> SimAnswer:
    return _answer(int(code), code, message)
