"""Verimor's SMS API v2 (sms.verimor.com.tr): sends, push reports and inbound texts.

Built from Verimor's own documentation:

* ``user_guide.md`` of https://github.com/verimor/SMS-API (the API reference:
  ``POST /v2/send.json``, push reports and inbound texts, balance, blacklists,
  the error-code, status and ``gsm_error`` tables, the part table, the limits);
* its sample code in the same repository (``sample_codes/php/cok_mesaj_cok_kisi_https.php``,
  ``sample_codes/php/push_gonderim_raporu_alimi.php``, ``sample_codes/tek_mesaj_cok_kisi.py``);
* https://github.com/verimor/docs (docs.verimor.com.tr: ``docs/sms/gonderme.md``,
  ``hata-kodlari.md``, ``rapor.md``, ``kara-liste.md``, ``bakiye.md``,
  ``docs/iys/ticari-sms.md``), which adds ``NUMERIC_SOURCE_ADDRESS_NOT_ALLOWED`` and
  JSON forms of the send and balance answers that this adapter also reads.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Final

import attrs

from isobil import phone
from isobil._net import Secret
from isobil._time import ISTANBUL
from isobil.errors import (
    AuthenticationFailed,
    DuplicateOrder,
    InsufficientBalance,
    InvalidValue,
    IysRefused,
    SubmitRejected,
    TransportError,
    TransportTimeout,
)
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
    CallbackReply,
    HttpAdapter,
    HttpRequest,
    HttpResponse,
    _datetime,
    _json_or_none,
    _optional_str,
    _phone,
    _required_str,
)

__all__ = [
    "VERIMOR_ERRORS",
    "VERIMOR_GSM_ERRORS",
    "VERIMOR_STATUSES",
    "VerimorAdapter",
    "VerimorBlacklistEntry",
]

#: What Verimor answers (HTTP 400, the code as the whole plain-text body) when it
#: refuses a send, with its own explanation, and the isobil error it becomes.
VERIMOR_ERRORS: Final[Mapping[str, tuple[type[SubmitRejected | DuplicateOrder], str]]] = {
    "INVALID_SOURCE_ADDRESS": (SubmitRejected, "Başlık kabul edilmedi."),
    "NUMERIC_SOURCE_ADDRESS_NOT_ALLOWED": (
        SubmitRejected,
        "Alfanümerik olmayan başlıklar API üzerinden kullanılamaz.",
    ),
    "MISSING_MESSAGE": (SubmitRejected, "Gönderilecek mesaj verilmemiş."),
    "MESSAGE_TOO_LONG": (SubmitRejected, "Mesaj çok uzun."),
    "INVALID_PERIOD": (
        SubmitRejected,
        "Mesajın geçerlilik süresi geçersiz (1 dk. ile 48 saat arasında değil).",
    ),
    "INVALID_DELIVERY_TIME": (
        SubmitRejected,
        '"send_at" parametresi geçersiz veya geçmiş tarihe ait.',
    ),
    "INVALID_DATACODING": (SubmitRejected, "datacoding parametresi hatalı verilmiş."),
    "MISSING_IYS_BRAND_CODE": (
        IysRefused,
        "Ticari gönderimlerde başlığın marka kodunun tanımlanmış olması gereklidir.",
    ),
    "AHS_AUTHORIZATION_ERROR": (
        IysRefused,
        "Yetkilendirme hatası. Lütfen İYS ile iletişime geçip Verimor'a AHS izni veriniz.",
    ),
    "NO_AHS_BRAND_ERROR": (IysRefused, "VKN'ye ait, İYS'de kayıtlı bir marka bulunamadı."),
    "COMMERCIAL_SENDING_ERROR_UNDER_150K": (
        IysRefused,
        "150 bin adedin altında ticari elektronik ileti onayı olan hesaplar için ticari "
        "gönderim henüz açılmadı.",
    ),
    "INVALID_IYS_RECIPIENT_TYPE": (
        IysRefused,
        'iys_recipient_type "BIREYSEL" yada "TACIR" olmalıdır.',
    ),
    "MISSING_DESTINATION_ADDRESS": (SubmitRejected, "Mesaj için alıcı verilmemiş."),
    "INVALID_DESTINATION_ADDRESS": (
        SubmitRejected,
        "Alıcı telefon numarasının formatı geçersiz (905121234567 gibi olmalı).",
    ),
    "INVALID_UTF8": (SubmitRejected, "Encoding UTF8 olmalıdır."),
    "MUKERRER_RAPORLAMA": (DuplicateOrder, "24 saat içerisinde aynı sms zaten atılmış."),
    "INSUFFICIENT_CREDITS": (InsufficientBalance, "Mesajı göndermek için yeterli bakiyeniz yok."),
    "FORBIDDEN_MESSAGE": (SubmitRejected, "Mesajınız yasak kelime(ler) içeriyor."),
    "INVALID_CONSENT_DATE": (IysRefused, '"consent_date" geçersiz.'),
    "MISSING_CONSENT": (IysRefused, "Eksik izin durumu."),
    "MISSING_CONSENT_DATE": (
        IysRefused,
        'Gönderim tipi "BIREYSEL" olanlarda consent_date girilmelidir.',
    ),
    "INVALID_RECIPIENT": (IysRefused, "Geçersiz gönderim tipi."),
    "INVALID_JSON": (SubmitRejected, "Geçersiz JSON kullanımı."),
    "MESSAGE_COUNT_LIMIT_EXCEEDED": (
        SubmitRejected,
        "Bir seferde maksimum 50.000 adet mesajdan daha fazlası kabul edilmez.",
    ),
}

#: Verimor's message statuses (push reports and ``/v2/status``) as isobil statuses.
VERIMOR_STATUSES: Final[Mapping[str, DeliveryStatus]] = {
    "SENDING": DeliveryStatus.PENDING,
    "WAITING": DeliveryStatus.PENDING,
    "DELIVERED": DeliveryStatus.DELIVERED,
    # "İletildi", but the operator gives no report to confirm it (abroad).
    "SENT": DeliveryStatus.DELIVERED,
    "NOT_DELIVERED": DeliveryStatus.UNDELIVERED,
    "EXPIRED": DeliveryStatus.EXPIRED,
    "INVALID_DESTINATION_ADDRESS": DeliveryStatus.REJECTED,
    "REJECTED": DeliveryStatus.REJECTED,
    # Same text, same day, same sender ID, same number: Verimor sends it once.
    "DOUBLE_SEND_ERROR": DeliveryStatus.REJECTED,
    "BLACKLISTED_DESTINATION_ADDRESS": DeliveryStatus.REJECTED,
    "NOT_ALLOWED_BY_IYS": DeliveryStatus.REJECTED,
    "MISSING_TARIFF": DeliveryStatus.REJECTED,
    "ROUTE_NOT_AVAILABLE": DeliveryStatus.REJECTED,
    "NETWORK_NOTCOVERED": DeliveryStatus.REJECTED,
    "SEND_ERROR": DeliveryStatus.UNDELIVERED,
    "INTERNATIONAL_DENIED": DeliveryStatus.REJECTED,
}

#: The operators' ``gsm_error`` codes Verimor documents, with their names and its words.
VERIMOR_GSM_ERRORS: Final[Mapping[str, tuple[str, str]]] = {
    "1": (
        "EC_UNKNOWN_SUBSCRIBER",
        "Numara karşı operatörün veritabanında bir aboneye tanımlı değil",
    ),
    "6": (
        "EC_ABSENT_SUBSCRIBER_SM",
        "Karşı aboneden sinyal alınamadı (telefon kapalı, sinyal zayıf)",
    ),
    "11": ("EC_TELESERVICE_NOT_PROVISIONED", "Karşı abonenin mobil hizmeti durduruldu"),
    "13": ("EC_CALL_BARRED", "Karşı abone 'Rahatsız Etme' (DND) hizmetini açtı"),
    "27": ("EC_ABSENT_SUBSCRIBER", "Karşı abone çevrimiçi değil, telefon kapalı"),
    "31": ("EC_SUBSCRIBER_BUSY_FOR_MT_SMS", "Karşı operatör fazla trafikten dolayı meşgul"),
    "32": ("EC_SM_DELIVERY_FAILURE", "Karşı operatör kısa mesajı abonesine iletemedi"),
    "34": ("EC_SYSTEM_FAILURE", "Karşı operatör sistem hatası bildirdi"),
    "256": ("EC_SM_DF_MEMORYCAPACITYEXCEEDED", "Abonenin telefonunda mesajı kaydedecek yer yok"),
    "257": ("EC_SM_DF_EQUIPMENTPROTOCOLERROR", "Abonenin telefon cihazında hata"),
    "258": ("EC_SM_DF_EQUIPMENTNOTSM_EQUIPPED", "Abonenin telefon cihazında hata"),
    "500": ("EC_PROVIDER_GENERAL_ERROR", "Karşı operatör genel hata bildirdi"),
    "502": ("EC_NO_RESPONSE", "Karşı operatörden iletim raporu dönmedi"),
    "1030": ("EC_OR_POTENTIALVERSIONINCOMPATIBILITY", "Karşı operatör genel hata bildirdi"),
    "1155": ("EC_NNR_SUBSYSTEMFAILURE", "Karşı operatör sistem hatasından dolayı ulaşamadı"),
    "1157": ("EC_NNR_MTPFAILURE", "Karşı operatör genel hata bildirdi"),
    "1281": ("EC_UA_USERSPECIFICREASON", "Karşı operatör genel hata bildirdi"),
    "1536": ("EC_PA_PROVIDERMALFUNCTION", "Karşı operatör genel hata bildirdi"),
    "2048": ("EC_TIME_OUT", "Mesaj geçerlilik süresi içinde iletilemedi"),
    "2049": ("EC_IMSI_BLACKLISTED", "Abonenin SIM kartı operatörünün karalistesinde"),
    "2050": ("EC_DEST_ADDRESS_BLACKLISTED", "Numara karalistede olduğu için iletilemedi"),
    "2051": ("EC_INVALIDMSCADDRESS", "Mesaj metni karalistede olduğu için iletilemedi"),
    "2053": ("EC_BLACKLISTED_SENDERADDRESS", "Başlığın kullanımı için ek onay gerekli"),
    "4100": ("EC_MESSAGE_CANCELED", "Mesaj geçerlilik süresi içinde iletilemedi"),
    "4101": ("EC_VALIDITYEXPIRED", "Mesaj geçerlilik süresi içinde iletilemedi"),
    "4103": (
        "EC_DESTINATION_FLOODING",
        "Abone çok fazla mesaj aldığı için yeni mesaj kabul etmiyor",
    ),
    "4104": ("EC_DESTINATION_TXT_FLOODING", "Aboneye aynı mesaj çok defa gönderildi"),
}

#: Letters only datacoding=1 carries (Verimor: "Sadece Ş ş Ğ ğ ç ı İ Türkçe kabul edilir").
_TURKISH: Final = frozenset("ŞşĞğçıİ")
#: Characters that count twice in datacoding 0 and 1 (GSM 03.38 extension table).
_DOUBLE: Final = frozenset("^{}\\[]~|€\f")
_GSM_DEFAULT: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
#: (one part, a part of a long message) for datacoding 0, 1, 2: Verimor's part table.
_CAPACITY: Final = {0: (160, 153), 1: (155, 149), 2: (70, 67)}
_MIN_VALIDITY: Final = timedelta(minutes=1)
_MAX_VALIDITY: Final = timedelta(hours=48)
_CAMPAIGN_ID: Final = re.compile(r"\s*(\d{1,20})\s*")
_ERROR_CODE: Final = re.compile(r"[A-Z][A-Z0-9_]{2,60}")


def datacoding(text: str) -> int:
    """Verimor's ``datacoding`` for ``text``: 0 GSM, 1 Turkish, 2 Unicode.

    >>> datacoding("Merhaba Ömür"), datacoding("Şubat"), datacoding("Nâzım")
    (0, 1, 2)
    """
    chars = set(text)
    if chars <= _GSM_DEFAULT | _DOUBLE:
        return 0
    if chars <= _GSM_DEFAULT | _DOUBLE | _TURKISH:
        return 1
    return 2


def billed_parts(text: str) -> int:
    """The parts Verimor bills for ``text``, by its table (160/153, 155/149, 70/67).

    >>> billed_parts("a" * 160), billed_parts("a" * 161), billed_parts("ş" * 156)
    (1, 2, 2)
    """
    coding = datacoding(text)
    single, per_part = _CAPACITY[coding]
    units = _units(text, coding)
    return 1 if units <= single else math.ceil(units / per_part)


def _units(text: str, coding: int) -> int:
    if coding == 2:
        return len(text.encode("utf-16-le", "surrogatepass")) // 2
    return len(text) + sum(1 for char in text if char in _DOUBLE)


@attrs.frozen
class VerimorBlacklistEntry:
    """One number on the account's Verimor blacklist (kara liste)."""

    number: str = attrs.field(repr=phone.mask)
    source: str | None
    created_at: datetime | None


class VerimorAdapter(HttpAdapter):
    """Verimor's SMS API v2: ``POST /v2/send.json``, n messages to n numbers a request.

    Use it with ``HttpTransport("https://sms.verimor.com.tr", VerimorAdapter(...))``.
    ``username`` is the account's 12-digit number (``908501234567``), ``password``
    the API password set in OİM, where the sending server's IP address must be
    allowed too (else every call is answered 401).

    A request carries the campaign fields once — ``source_addr`` (the sender ID),
    ``is_commercial``, ``iys_recipient_type`` (BIREYSEL or TACIR, commercial only;
    a message of the other type carries its own, which overrides it),
    ``valid_for`` (``HH:MM``, 00:01 to 48:00), ``send_at``, ``datacoding`` (0 GSM,
    1 Turkish, 2 Unicode) and ``custom_id`` (the batch's idempotency key) — and a
    ``messages`` list of ``{"msg", "dest", "id"}``, ``id`` being isobil's message
    id. Messages that differ in any campaign field (:meth:`group_key`) cannot
    share a request: :class:`HttpTransport` sends them in requests of their own
    (a batch built by hand that mixes them gets a :class:`SubmitRejected` with
    code ``mixed-batch`` for the odd ones, which are not sent). Verimor
    takes no İYS brand code per request: it is set on the sender ID in OİM
    (``MISSING_IYS_BRAND_CODE`` otherwise).

    Verimor answers the campaign id as plain text; each message's provider id is
    ``"<campaign id>:<isobil id>"``, which its push reports carry as
    ``campaign_id`` and ``message_custom_id``. Refusals are HTTP 400 with a code
    (``INSUFFICIENT_CREDITS`` …, see :data:`VERIMOR_ERRORS`), 401 for credentials
    or IP address, 413 for a body over 10 MB; 429 (over 240 requests a minute) is
    retried by the transport.

    Verimor does not de-duplicate by ``custom_id``, so ``idempotent`` is false: a
    request whose answer was lost is not sent again. It blocks the same text to
    the same number under the same sender ID on the same day itself
    (``DOUBLE_SEND_ERROR`` in the report, ``MUKERRER_RAPORLAMA`` at submit, which
    becomes :class:`DuplicateOrder`: outcome unknown).

    Verimor counts Ş ş Ğ ğ ç ı İ as one character each in its Turkish table
    (155 / 149), ``^ { } \\ [ ] ~ | €`` as two, and sends at most 7 parts
    (1071 / 1043 / 469 characters); :meth:`refuse` stops a longer text before any
    request. Reports and inbound texts are pushed (JSON arrays) to the URLs set
    in OİM; it cannot sign them, so mount the :class:`CallbackApp` with a token
    (``callback_auth = "token"``), e.g. ``https://acme.example/sms/<token>/verimor``.

    >>> adapter = VerimorAdapter(username="908501234567", password="s3cret")
    >>> adapter
    <VerimorAdapter user='908501234567' max_batch=1000>
    >>> adapter.idempotent, adapter.callback_auth, adapter.national_shift, adapter.max_parts
    (False, 'token', True, 7)
    """

    idempotent = False
    callback_auth: CallbackAuth = "token"
    national_shift = True
    fixed_split = False
    operator_suffix = 0  # Verimor's part table (160/155/70) keeps nothing free
    max_parts: int = 7

    def __init__(
        self,
        *,
        username: str,
        password: str,
        path: str = "/v2/send.json",
        max_batch: int = 1000,
    ) -> None:
        if not username or not password:
            raise InvalidValue("username and password must be non-empty")
        if isinstance(max_batch, bool) or not isinstance(max_batch, int):
            raise InvalidValue(f"max_batch must be an integer, got {max_batch!r}")
        if not 1 <= max_batch <= 50_000:
            raise InvalidValue(f"max_batch must be 1 to 50000 (Verimor's limit), got {max_batch}")
        self.username = username
        self._password = Secret(password)
        self.path = path
        self.max_batch = max_batch

    def __repr__(self) -> str:
        return f"<VerimorAdapter user={self.username!r} max_batch={self.max_batch}>"

    def secrets(self) -> Iterable[Secret | None]:
        return (self._password,)

    # -- sending ------------------------------------------------------------------------

    def group_key(self, sms: OutboundSms) -> tuple[object, ...]:
        """What must be equal for messages to share one request (one Verimor campaign)."""
        return (
            sms.originator,
            sms.commercial,
            _valid_for(sms.validity),
            None if sms.send_at is None else sms.send_at.timestamp(),
            # One datacoding a request; left out, Verimor would guess 0 or 1, never 2.
            datacoding(sms.text),
            not sms.to.startswith("+90"),
        )

    def refuse(self, sms: OutboundSms) -> TransportError | None:
        """Refuse, before any request, what Verimor would refuse or cut."""
        if "," in sms.id:
            return SubmitRejected(
                f"message id {sms.id!r} has a comma, which Verimor reads as a list",
                code="bad-id",
            )
        if sms.validity is not None and not _MIN_VALIDITY <= sms.validity <= _MAX_VALIDITY:
            return SubmitRejected(
                f"validity {sms.validity} is outside Verimor's 00:01 to 48:00",
                code="INVALID_PERIOD",
            )
        coding = datacoding(sms.text)
        units, (_, per_part) = _units(sms.text, coding), _CAPACITY[coding]
        if units > self.max_parts * per_part:
            return SubmitRejected(
                f"the message to {phone.mask(sms.to)} has {units} characters by Verimor's count; "
                f"it sends at most {self.max_parts * per_part} ({self.max_parts} parts)",
                code="MESSAGE_TOO_LONG",
            )
        return None

    def build_request(self, batch: Sequence[OutboundSms], idempotency_key: str) -> HttpRequest:
        """The ``send.json`` request for the messages of ``batch`` that share its first's
        campaign fields (the others are answered ``mixed-batch`` by :meth:`parse_response`)."""
        first = batch[0]
        key = self.group_key(first)
        sendable = [sms for sms in batch if self.group_key(sms) == key]
        body: dict[str, object] = {
            "username": self.username,
            "password": self._password.reveal(),
            "custom_id": idempotency_key,
            "is_commercial": first.commercial,
        }
        if first.originator is not None:
            body["source_addr"] = first.originator
        if first.commercial:
            body["iys_recipient_type"] = first.recipient_type.value
        valid_for = _valid_for(first.validity)
        if valid_for is not None:
            body["valid_for"] = valid_for
        if first.send_at is not None:
            body["send_at"] = first.send_at.astimezone(ISTANBUL).isoformat(timespec="seconds")
        if first.to.startswith("+90"):  # abroad, Verimor wants no datacoding
            body["datacoding"] = str(datacoding(first.text))
        messages: list[dict[str, str]] = []
        for sms in sendable:
            item = {"msg": sms.text, "dest": _dest(sms.to), "id": sms.id}
            if sms.commercial and sms.recipient_type is not first.recipient_type:
                # A message's own İYS type overrides the campaign's (docs.verimor.com.tr).
                item["iys_recipient_type"] = sms.recipient_type.value
            messages.append(item)
        body["messages"] = messages
        return HttpRequest("POST", self.path, {"Accept": "text/plain"}, json=body)

    def parse_response(
        self, batch: Sequence[OutboundSms], response: HttpResponse
    ) -> list[SubmitResult]:
        key = self.group_key(batch[0])
        sent = [self.group_key(sms) == key for sms in batch]
        outcome = self._outcome(response)
        results = []
        for sms, was_sent in zip(batch, sent, strict=True):
            if not was_sent:
                results.append(SubmitResult(sms.id, error=_mixed(sms)))
            elif isinstance(outcome, TransportError):
                results.append(SubmitResult(sms.id, error=outcome))
            else:
                results.append(SubmitResult(sms.id, provider_id=f"{outcome}:{sms.id}"))
        return results

    def _outcome(self, response: HttpResponse) -> str | TransportError:
        """The campaign id, or the error every message of the request gets."""
        text = response.body.decode("utf-8", "replace").strip()
        if response.status == 200:
            match = _CAMPAIGN_ID.fullmatch(text)
            if match is not None:
                return match.group(1)
            campaign = _json_campaign_id(text)
            if campaign is not None:
                return campaign
            return TransportTimeout("Verimor accepted the request, but its answer cannot be read")
        words = self.redact(text)[:200]
        if response.status in (401, 403):
            return AuthenticationFailed(
                f"Verimor refused the credentials or this server's IP address "
                f"(HTTP {response.status}): {words}",
                code=str(response.status),
            )
        if response.status == 413:
            return SubmitRejected(
                "Verimor: the request is over its 10 MB limit (HTTP 413); send smaller batches",
                code="413",
            )
        if response.status == 400 and text in VERIMOR_ERRORS:
            kind, meaning = VERIMOR_ERRORS[text]
            return kind(f"Verimor refused the request: {text} ({meaning})", code=text)
        if response.status >= 500:
            # The provider failed while handling it: it may have sent. Never resend.
            return TransportTimeout(
                f"Verimor answered HTTP {response.status}; outcome unknown"
                + (f" ({words})" if words else "")
            )
        code = text if response.status == 400 and _ERROR_CODE.fullmatch(text) else None
        return SubmitRejected(
            f"Verimor refused the request: HTTP {response.status}" + (f" {words}" if words else ""),
            code=code or str(response.status),
        )

    # -- reports and inbound texts --------------------------------------------------------

    def parse_callback(
        self,
        method: str,
        query: Mapping[str, list[str]],
        headers: Mapping[str, str],
        body: bytes,
    ) -> list[InboundEvent]:
        """A push: a JSON array of reports (``type: outbound``) and/or texts (``inbound``)."""
        if method != "POST":
            raise CallbackError(f"Verimor pushes are POSTed, not {method}", 405)
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise CallbackError("the body is not JSON") from exc
        items = data if isinstance(data, list) else [data]
        if not items or len(items) > 10_000:
            raise CallbackError("a push carries 1 to 10000 items")
        return [self._event(item) for item in items]

    def _event(self, item: object) -> InboundEvent:
        if not isinstance(item, dict):
            raise CallbackError("an item must be a JSON object")
        kind = item.get("type")
        if kind == "outbound" or (kind is None and "status" in item):
            return self.report(item)
        if kind == "inbound" or (kind is None and "content" in item):
            return self.inbound(item)
        raise CallbackError("neither a Verimor report nor a Verimor inbound text")

    @staticmethod
    def report(item: Mapping[str, object]) -> DeliveryReport:
        """A report (pushed, or one item of ``/v2/status``) as a :class:`DeliveryReport`.

        Its provider id is ``"<campaign_id>:<message_custom_id>"``, or, for a message
        sent without our id, ``"<campaign_id>:#<message_id>"``. ``error_code`` is
        the status word for anything but DELIVERED, with ``:<gsm_error>`` when the
        operator gave one (``NOT_DELIVERED:13``).
        """
        campaign = _required_str(item.get("campaign_id"), "campaign_id")
        custom = _optional_str(item.get("message_custom_id"), "message_custom_id")
        if custom:
            provider_id = f"{campaign}:{custom}"
        else:
            provider_id = f"{campaign}:#{_required_str(item.get('message_id'), 'message_id')}"
        word = item.get("status")
        if not isinstance(word, str) or word not in VERIMOR_STATUSES:
            raise CallbackError("unknown Verimor status")
        gsm_error = _optional_str(item.get("gsm_error"), "gsm_error")
        error_code = None
        if word != "DELIVERED":
            error_code = word if gsm_error in (None, "", "0") else f"{word}:{gsm_error}"
        return DeliveryReport(
            provider_id,
            VERIMOR_STATUSES[word],
            error_code,
            _datetime(item.get("done_at"), ISTANBUL),
        )

    @staticmethod
    def inbound(item: Mapping[str, object]) -> InboundSms:
        """An inbound text (pushed, or one item of ``/v2/inbound_messages``)."""
        content = item.get("content")
        if not isinstance(content, str):
            raise CallbackError("content must be a string")
        received = _datetime(item.get("received_at"), ISTANBUL) or _datetime(
            item.get("created_at"), ISTANBUL
        )
        return InboundSms(
            _phone(_required_str(item.get("source_addr"), "source_addr")),
            _required_str(item.get("destination_addr"), "destination_addr"),
            content,
            received or datetime.now(ISTANBUL),
            _optional_str(item.get("message_id"), "message_id"),
        )

    def callback_reply(self, events: Sequence[InboundEvent]) -> CallbackReply:
        # Anything but 200 and Verimor pushes again, three more times five minutes apart.
        return CallbackReply(200, "text/plain", b"OK")

    # -- balance and blacklist ------------------------------------------------------------

    def _auth(self) -> dict[str, str]:
        return {"username": self.username, "password": self._password.reveal()}

    def balance_request(self) -> HttpRequest:
        """``GET /v2/balance``: the credits left."""
        return HttpRequest("GET", "/v2/balance", {"Accept": "text/plain"}, params=self._auth())

    def parse_balance(self, response: HttpResponse) -> Decimal:
        """The credits in the answer to :meth:`balance_request` (``123``)."""
        text = self._checked(response)
        try:
            return Decimal(text)
        except InvalidOperation:
            pass
        data = _json_or_none(text)
        if isinstance(data, dict) and isinstance(data.get("balance"), int | float | str):
            try:
                return Decimal(str(data["balance"]))
            except InvalidOperation:
                pass
        raise TransportError("Verimor's balance answer cannot be read")

    def blacklist_request(self, offset: int = 0, limit: int = 100) -> HttpRequest:
        """``GET /v2/blacklists``: a page of at most 100 blacklisted numbers."""
        if not 1 <= limit <= 100 or offset < 0:
            raise InvalidValue("limit must be 1 to 100 and offset non-negative")
        params = {**self._auth(), "offset": str(offset), "limit": str(limit)}
        return HttpRequest("GET", "/v2/blacklists", {"Accept": "application/json"}, params=params)

    def parse_blacklist(self, response: HttpResponse) -> tuple[int, list[VerimorBlacklistEntry]]:
        """``(total, entries of this page)`` from the answer to :meth:`blacklist_request`."""
        data = _json_or_none(self._checked(response))
        if not isinstance(data, dict) or not isinstance(data.get("records"), list):
            raise TransportError("Verimor's blacklist answer cannot be read")
        total = data.get("total")
        records = data["records"]
        entries = []
        for record in records:
            if not isinstance(record, dict) or not isinstance(record.get("phone"), str):
                raise TransportError("Verimor's blacklist answer has an unreadable record")
            source = record.get("source")
            try:
                created = _datetime(record.get("created_at"), ISTANBUL)
            except CallbackError as exc:
                raise TransportError("Verimor's blacklist answer has a bad time") from exc
            entries.append(
                VerimorBlacklistEntry(
                    _phone(record["phone"]), source if isinstance(source, str) else None, created
                )
            )
        return (total if isinstance(total, int) else len(entries)), entries

    def blacklist_add_request(self, numbers: Sequence[str]) -> HttpRequest:
        """``POST /v2/blacklists?phones=…``: add ``numbers`` (E.164) to the blacklist."""
        params = {**self._auth(), "phones": ",".join(_dest(n) for n in numbers)}
        return HttpRequest("POST", "/v2/blacklists", {"Accept": "text/plain"}, params=params)

    def blacklist_remove_request(self, numbers: Sequence[str]) -> HttpRequest:
        """``DELETE /v2/blacklists/<numbers>``: take ``numbers`` (E.164) off the blacklist."""
        joined = ",".join(_dest(n) for n in numbers)
        return HttpRequest(
            "DELETE", f"/v2/blacklists/{joined}", {"Accept": "text/plain"}, params=self._auth()
        )

    def parse_blacklist_change(self, response: HttpResponse) -> None:
        """Check the answer (``OK``) to an add or a remove; raise what Verimor refused."""
        self._checked(response)

    def _checked(self, response: HttpResponse) -> str:
        text = response.body.decode("utf-8", "replace").strip()
        if response.status == 200:
            return text
        words = self.redact(text)[:200]
        if response.status in (401, 403):
            raise AuthenticationFailed(
                f"Verimor refused the credentials or this server's IP address: {words}",
                code=str(response.status),
            )
        raise SubmitRejected(f"Verimor: HTTP {response.status} {words}", code=str(response.status))


def _dest(number: str) -> str:
    """A number as Verimor wants it: ``905321234567`` at home, ``+49…`` abroad."""
    return number[1:] if number.startswith("+90") else number


def _valid_for(validity: timedelta | None) -> str | None:
    if validity is None:
        return None
    minutes = int(validity.total_seconds() // 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _mixed(sms: OutboundSms) -> SubmitRejected:
    return SubmitRejected(
        f"the message to {phone.mask(sms.to)} differs from its batch's first in sender ID, "
        "commercial flag, validity, send time, datacoding or country: one Verimor request cannot "
        "carry both; send it in a batch of its own",
        code="mixed-batch",
    )


def _json_campaign_id(text: str) -> str | None:
    data = _json_or_none(text)
    if isinstance(data, dict):
        campaign = data.get("campaign_id")
        if isinstance(campaign, int) and not isinstance(campaign, bool) and campaign >= 0:
            return str(campaign)
        if isinstance(campaign, str) and _CAMPAIGN_ID.fullmatch(campaign):
            return campaign.strip()
    return None
