"""İYS, the national consent registry: one gateway interface, a real HTTP client and a fake.

:class:`IysGateway` is what the rest of isobil talks to, for one brand of one
service provider: push consents (one, or an asynchronous batch), ask for one
recipient's status, and pull the changes recipients made on İYS itself.
:class:`HttpIysGateway` speaks the İYS REST API over httpx; :class:`FakeIysGateway`
is an in-memory İYS with the same rules and rate limits, for tests and demos.

What the wire format rests on (public client code read in November 2026):

* Verified in several independent clients (macellan/iys PHP, inarli/iys-php-client,
  mhunesi/yii2-iys, WeCanDoItAgency/IYS_Gateway_Api C#, durmazmehmet/IYSRestruct C#,
  ozgur-yalcin/iys Go, a Python uploader): base URL ``https://api.iys.org.tr``;
  ``POST /oauth2/token`` with ``grant_type=password``, ``username``, ``password``
  answering ``access_token``, ``refresh_token``, ``expires_in``, ``refresh_expires_in``,
  ``token_type`` (sent as a form by three clients and as JSON by four; this client
  sends the form, as RFC 6749 §4.3 says); ``Authorization: Bearer``; the paths
  ``/sps/{iysCode}/brands/{brandCode}/consents`` (add one: ``transactionId``,
  ``creationDate``), ``…/consents/request`` (batch: a bare JSON array in,
  ``requestId`` and ``subRequests`` out), ``…/consents/request/{requestId}`` (a
  JSON array of ``{index, status: success|failure|enqueue, error: {code, message}}``),
  ``…/consents/status`` (POST ``recipient``, ``recipientType``, ``type``; answers the
  consent with ``creationDate``, ``transactionId``, ``retailerAccessCount``) and
  ``…/consents/changes?source=IYS&limit=&after=`` (answers ``{after, list}``); the
  consent field names; errors as ``{"errors": [{"code": "H175", "message": …}]}``
  (the token endpoint answers ``{code, message}``); codes H175 (first record is
  RET), H124 (rate limit), H351 (bad token), H084 (token rate limit), H155
  (consentDate refused).
* İYS-side source codes as İYS sends them: ``IYS_3338``, ``IYS_CM``, ``IYS_WEB``,
  ``IYS_MOBIL``, ``IYS_KISA_LINK`` (netgsm/netiys README); :class:`ConsentSource`
  uses the same names, and any other ``IYS_*`` code is read as ``IYS_OTHER``.
* From comments in one client only (WeCanDoItAgency), **unverified**: the rate
  limits (token 10/hour per IP, add 50/min, batch 2/min and 10,000 records,
  batch result 20/min, status 100/min, changes 50/min).
* **Guessed**: a status query for an unknown recipient answers HTTP 404; the fake's
  codes that start with ``ISOBIL-`` (İYS's own codes for those cases were not found).
"""

from __future__ import annotations

import abc
import itertools
import logging
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Final, TypeVar
from urllib.parse import quote

import attrs
import httpx

from isobil import phone
from isobil._net import Secret, http_base_url, retry_after_seconds, without_userinfo
from isobil._resource import Resource
from isobil._time import aware
from isobil.consent._business_days import ISTANBUL
from isobil.errors import InvalidValue, IysError, IysRateLimited, IysUnavailable
from isobil.model import Channel, ConsentEvent, ConsentSource, ConsentStatus, RecipientType

__all__ = [
    "DEFAULT_RATE_LIMITS",
    "FakeIysGateway",
    "HttpIysGateway",
    "IysBatchRequest",
    "IysBatchResult",
    "IysChanges",
    "IysConsent",
    "IysError",
    "IysGateway",
    "IysRateLimited",
    "IysRecordResult",
    "IysUnavailable",
    "ManualClock",
]

_log = logging.getLogger(__name__)


# -- errors ---------------------------------------------------------------------


# -- the wire format ----------------------------------------------------------------

_WIRE_DATE: Final = "%Y-%m-%d %H:%M:%S"

# Shape only; İYS's own length rule (6-265 characters) is enforced by the fake.
_EMAIL: Final = re.compile(r"[a-z0-9._%+\-]+@[a-z0-9\-]+(\.[a-z0-9\-]+)*\.[a-z]{2,}", re.ASCII)

E = TypeVar("E", ConsentStatus, ConsentSource, Channel, RecipientType)
_T = TypeVar("_T")


def _enum(cls: type[E], value: object, what: str) -> E:
    if isinstance(value, cls):
        return value
    if isinstance(value, str):
        try:
            return cls(value)
        except ValueError:
            pass
    choices = ", ".join(m.value for m in cls)
    raise InvalidValue(f"invalid {what} {value!r}: expected one of {choices}")


def _channel(value: object) -> Channel:
    return _enum(Channel, value, "İYS type")


def _recipient_type(value: object) -> RecipientType:
    return _enum(RecipientType, value, "recipient type")


def _status(value: object) -> ConsentStatus:
    return _enum(ConsentStatus, value, "consent status")


def _source(value: object) -> ConsentSource:
    return _enum(ConsentSource, value, "consent source")


def _parse_source(value: object) -> ConsentSource:
    """A source read from İYS: an İYS-side code isobil does not know becomes IYS_OTHER."""
    try:
        return _source(value)
    except InvalidValue:
        if isinstance(value, str) and value.startswith("IYS_"):
            # İYS may add channels of its own; the change must still be applied.
            return ConsentSource.IYS_OTHER
        raise


def _recipient(value: object) -> str:
    """An e-mail lower-cased, or a phone number in E.164."""
    if not isinstance(value, str):
        raise InvalidValue(f"invalid recipient {value!r}: expected a phone number or an e-mail")
    text = value.strip()
    if "@" in text:
        email = text.lower()
        if not _EMAIL.fullmatch(email):
            raise InvalidValue(f"invalid e-mail recipient {value!r}")
        return email
    return phone.normalize(text)


def _mask_recipient(value: str) -> str:
    if "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    return phone.mask(value)


def _consent_date(value: object) -> datetime:
    value = aware(value, "consent_date")
    # İYS keeps Turkish local time to the second; holding the same makes a record
    # read back from İYS equal to the one sent.
    return value.astimezone(ISTANBUL).replace(microsecond=0)


def _retailer_code(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidValue(f"invalid retailer code {value!r}: expected a non-negative integer")
    return value


def _retailer_access(value: Iterable[int]) -> tuple[int, ...]:
    if isinstance(value, str | bytes):
        raise InvalidValue(f"invalid retailer access {value!r}: expected integers")
    codes = tuple(value)
    for code in codes:
        _retailer_code(code)
    return codes


def _format_date(value: datetime) -> str:
    return value.astimezone(ISTANBUL).strftime(_WIRE_DATE)


def _parse_date(value: object) -> datetime:
    if not isinstance(value, str):
        raise InvalidValue(f"expected 'yyyy-MM-dd HH:mm:ss', got {value!r}")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidValue(f"expected 'yyyy-MM-dd HH:mm:ss', got {value!r}") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=ISTANBUL)


def _parse_int(value: object) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValue(f"expected an integer, got {value!r}")
    return value


def _parse_int_list(value: object) -> tuple[int, ...]:
    if not isinstance(value, list):
        raise InvalidValue(f"expected a list of integers, got {value!r}")
    return tuple(_parse_int(v) for v in value)


# -- values -----------------------------------------------------------------------


@attrs.frozen
class IysConsent:
    """One consent record as İYS holds it: who, on which channel, ONAY or RET, when, where.

    ``recipient`` is a phone number (normalised to E.164, ``+905XXXXXXXXX``) or an
    e-mail address (lower-cased); ``type`` is the channel and must match it (EPOSTA
    takes an e-mail, MESAJ and ARAMA a number). ``consent_date`` must be
    timezone-aware; it is kept in Turkish time to the second, as İYS stores it.
    ``retailer_code`` / ``retailer_access`` are the optional dealer (bayi) fields.

    >>> from datetime import UTC
    >>> consent = IysConsent("0532 123 45 67", "MESAJ", "BIREYSEL", "ONAY",
    ...                      datetime(2026, 3, 1, 9, 0, tzinfo=UTC), "HS_WEB")
    >>> consent.to_json()["consentDate"]
    '2026-03-01 12:00:00'
    """

    recipient: str = attrs.field(converter=_recipient, repr=_mask_recipient)
    type: Channel = attrs.field(converter=_channel)
    recipient_type: RecipientType = attrs.field(converter=_recipient_type)
    status: ConsentStatus = attrs.field(converter=_status)
    consent_date: datetime = attrs.field(converter=_consent_date)
    source: ConsentSource = attrs.field(converter=_source)
    retailer_code: int | None = attrs.field(default=None, converter=_retailer_code)
    retailer_access: tuple[int, ...] = attrs.field(default=(), converter=_retailer_access)

    def __attrs_post_init__(self) -> None:
        is_email = "@" in self.recipient
        if is_email != (self.type is Channel.EPOSTA):
            wanted = "an e-mail address" if self.type is Channel.EPOSTA else "a phone number"
            raise InvalidValue(f"an İYS {self.type.value} consent needs {wanted} as recipient")

    @property
    def key(self) -> tuple[str, Channel, RecipientType]:
        """What İYS keys a consent by: (recipient, type, recipient type)."""
        return (self.recipient, self.type, self.recipient_type)

    def to_json(self) -> dict[str, object]:
        """The record with İYS's field names and values, ready for ``json.dumps``."""
        data: dict[str, object] = {
            "recipient": self.recipient,
            "type": self.type.value,
            "source": self.source.value,
            "status": self.status.value,
            "consentDate": _format_date(self.consent_date),
            "recipientType": self.recipient_type.value,
        }
        if self.retailer_code is not None:
            data["retailerCode"] = self.retailer_code
        if self.retailer_access:
            data["retailerAccess"] = list(self.retailer_access)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> IysConsent:
        """Read a record İYS sent (untrusted): an :class:`IysError` names any bad field.

        Fields isobil does not keep (``creationDate``, ``transactionId`` …) are ignored.
        """
        if not isinstance(data, Mapping):
            raise IysError(f"an İYS consent must be a JSON object, got {type(data).__name__}")

        def read(name: str, parse: Callable[[object], _T], *, optional: bool = False) -> _T | None:
            if name not in data or (optional and data[name] is None):
                if optional:
                    return None
                raise IysError(f"the İYS consent has no {name!r} field")
            try:
                return parse(data[name])
            except InvalidValue as exc:
                raise IysError(f"the İYS consent has an invalid {name!r}: {exc}") from exc

        recipient = read("recipient", _recipient)
        channel = read("type", _channel)
        retailer_access = read("retailerAccess", _parse_int_list, optional=True)
        try:
            return cls(
                recipient=recipient,
                type=channel,
                recipient_type=read("recipientType", _recipient_type),
                status=read("status", _status),
                consent_date=read("consentDate", _parse_date),
                source=read("source", _parse_source),
                retailer_code=read("retailerCode", _parse_int, optional=True),
                retailer_access=retailer_access or (),
            )
        except InvalidValue as exc:
            raise IysError(f"the İYS consent is inconsistent: {exc}") from exc

    @classmethod
    def from_event(cls, event: ConsentEvent) -> IysConsent:
        """The İYS record for a consent event of isobil's ledger."""
        return cls(
            recipient=event.address,
            type=event.channel,
            recipient_type=event.recipient_type,
            status=event.status,
            consent_date=event.consent_date,
            source=event.source,
        )


@attrs.frozen
class IysRecordResult:
    """What İYS did with one record of a batch: ``index`` is its position in the batch."""

    index: int
    ok: bool
    error_code: str | None = None
    error_message: str | None = None


@attrs.frozen
class IysBatchResult:
    """The state of an asynchronous batch: ``done`` once İYS processed every record.

    ``results`` holds the records processed so far, in index order.
    """

    request_id: str
    done: bool
    results: tuple[IysRecordResult, ...] = ()

    @property
    def failed(self) -> tuple[IysRecordResult, ...]:
        """The records İYS refused."""
        return tuple(r for r in self.results if not r.ok)


@attrs.frozen
class IysChanges:
    """One page of changes made on İYS, oldest first.

    ``cursor`` is where the next pull starts. It is ``None`` when this pull found
    nothing new: you are up to date, and the cursor you passed in stays the one to
    pull from later.
    """

    consents: tuple[IysConsent, ...]
    cursor: str | None


# -- the interface ------------------------------------------------------------------


class IysGateway(Resource, abc.ABC):
    """İYS as seen by one brand of one service provider (``iys_code``, ``brand_code``).

    Every method may raise :class:`IysError`; :class:`IysRateLimited` and
    :class:`IysUnavailable` are the transient ones, worth retrying later.
    """

    #: Most records İYS takes in one asynchronous batch.
    max_batch: int = 10_000

    @abc.abstractmethod
    def add_consent(self, consent: IysConsent) -> None:
        """Register one consent now; IysError when İYS refuses it."""

    @abc.abstractmethod
    def add_consents(self, consents: Sequence[IysConsent]) -> str:
        """Submit a batch (at most :attr:`max_batch`) for asynchronous processing.

        Returns the request id to poll with :meth:`batch_result`. InvalidValue for an
        empty or oversized batch.
        """

    @abc.abstractmethod
    def batch_result(self, request_id: str) -> IysBatchResult:
        """The per-record outcome of a batch; ``done`` is False while İYS is working."""

    @abc.abstractmethod
    def consent_status(
        self,
        recipient: str,
        *,
        type: Channel = Channel.MESAJ,
        recipient_type: RecipientType = RecipientType.BIREYSEL,
    ) -> IysConsent | None:
        """The current record for a recipient on a channel, or None when İYS has none."""

    @abc.abstractmethod
    def pull_changes(self, cursor: str | None = None, *, limit: int = 500) -> IysChanges:
        """Changes recipients made on İYS itself after ``cursor`` (from the start if None)."""

    def _check_batch(self, consents: Sequence[IysConsent]) -> tuple[IysConsent, ...]:
        items = tuple(consents)
        if not items:
            raise InvalidValue("an İYS batch needs at least one consent")
        if len(items) > self.max_batch:
            raise InvalidValue(
                f"an İYS batch takes at most {self.max_batch:,} consents, got {len(items):,}: "
                "split it"
            )
        for item in items:
            if not isinstance(item, IysConsent):
                raise InvalidValue(f"an İYS batch takes IysConsent records, got {item!r}")
        return items

    @staticmethod
    def _positive_max_batch(value: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidValue(f"max_batch must be a positive integer, got {value!r}")
        return value

    @staticmethod
    def _check_limit(limit: int) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidValue(f"limit must be a positive integer, got {limit!r}")


# -- the fake -------------------------------------------------------------------------

_DEFAULT_START: Final = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class ManualClock:
    """A clock for tests that moves only when told to.

    Pass it where a ``clock`` is wanted; ``clock()`` is "now".

    >>> clock = ManualClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    >>> clock.advance(timedelta(minutes=1))
    datetime.datetime(2026, 1, 5, 9, 1, tzinfo=datetime.timezone.utc)
    """

    def __init__(self, start: datetime = _DEFAULT_START) -> None:
        self._now = aware(start, "ManualClock's start")
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by ``delta`` and return the new now."""
        if not isinstance(delta, timedelta) or delta < timedelta(0):
            raise InvalidValue(f"a clock only moves forward: got {delta!r}")
        with self._lock:
            self._now += delta
            return self._now

    def __repr__(self) -> str:
        return f"<ManualClock {self._now.isoformat()}>"


_MINUTE: Final = timedelta(minutes=1)

#: Calls allowed per endpoint and window, as İYS documents them (see the module
#: docstring for how sure that is). The keys are the endpoint names the fake uses.
DEFAULT_RATE_LIMITS: Final[Mapping[str, tuple[int, timedelta]]] = MappingProxyType(
    {
        "token": (10, timedelta(hours=1)),
        "add": (50, _MINUTE),
        "add_batch": (2, _MINUTE),
        "batch_result": (20, _MINUTE),
        "status": (100, _MINUTE),
        "changes": (50, _MINUTE),
    }
)

# Codes of refusals whose real İYS code was not found (documented in docs/iys.md).
FIRST_RECORD_RET: Final = "H175"
FIRST_RECORD_KARAR: Final = "ISOBIL-KARAR-FIRST"
OLDER_THAN_CURRENT: Final = "ISOBIL-OLDER"
RET_WINS: Final = "ISOBIL-RET-WINS"
BAD_RECIPIENT: Final = "ISOBIL-RECIPIENT"
BAD_SOURCE: Final = "ISOBIL-SOURCE"
UNKNOWN_REQUEST: Final = "ISOBIL-NO-REQUEST"
BAD_CURSOR: Final = "ISOBIL-CURSOR"
RATE_LIMITED: Final = "H124"
LOGIN_RATE_LIMITED: Final = "H084"


@attrs.frozen
class IysBatchRequest:
    """A batch the fake accepted; it is applied when the clock reaches ``due_at``."""

    request_id: str
    consents: tuple[IysConsent, ...] = attrs.field(repr=lambda c: f"<{len(c)} consents>")
    submitted_at: datetime
    due_at: datetime


@attrs.frozen
class _Change:
    seq: int
    consent: IysConsent
    on_iys: bool


def _check_limits(
    limits: Mapping[str, tuple[int, timedelta]],
) -> dict[str, tuple[int, timedelta]]:
    checked: dict[str, tuple[int, timedelta]] = {}
    for endpoint, (count, window) in limits.items():
        if endpoint not in DEFAULT_RATE_LIMITS:
            known = ", ".join(DEFAULT_RATE_LIMITS)
            raise InvalidValue(f"unknown İYS endpoint {endpoint!r}: expected one of {known}")
        if not isinstance(count, int) or count < 1 or window <= timedelta(0):
            raise InvalidValue(f"invalid rate limit for {endpoint!r}: {count} per {window}")
        checked[endpoint] = (count, window)
    return checked


class FakeIysGateway(IysGateway):
    """An in-memory İYS for tests and demos, with the rules and limits of the real one.

    It keeps the registry (recipient, type, recipient type) → latest record and
    enforces what İYS enforces:

    * the first record of a recipient cannot be RET (``H175``) nor come from
      ``HS_KARAR``; a provider may only send ``HS_*`` sources;
    * a record older than the current one is refused, and at the same date RET
      wins over ONAY;
    * phone numbers must be Turkish (+90), and MESAJ needs a mobile;
    * each endpoint has a rate limit over a **sliding** window (``rate_limits``
      replaces :data:`DEFAULT_RATE_LIMITS`; ``{}`` switches them off), refused
      with :class:`IysRateLimited` and the seconds until a call is free again;
    * batches are asynchronous: :meth:`add_consents` returns a request id and the
      records are applied once ``clock()`` has moved ``batch_delay`` on.

    :meth:`opt_out_on_iys` and :meth:`opt_in_on_iys` play a recipient changing
    their mind on İYS itself; :meth:`pull_changes` then reports it. For assertions:
    :attr:`consents` (the registry), :attr:`requests` (the batches) and
    :attr:`calls` (every API call, refused ones too).

    >>> clock = ManualClock()
    >>> iys = FakeIysGateway(clock=clock)
    >>> iys.add_consent(IysConsent("+905321234567", "MESAJ", "BIREYSEL", "ONAY", clock(), "HS_WEB"))
    >>> iys
    <FakeIysGateway consents=1 pending_batches=0 changes=1>
    """

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] | None = None,
        batch_delay: timedelta = timedelta(seconds=30),
        rate_limits: Mapping[str, tuple[int, timedelta]] | None = None,
        max_batch: int = 10_000,
    ) -> None:
        if not isinstance(batch_delay, timedelta) or batch_delay < timedelta(0):
            raise InvalidValue(f"batch_delay must be a non-negative timedelta, got {batch_delay!r}")
        self.max_batch = self._positive_max_batch(max_batch)
        self._clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self._batch_delay = batch_delay
        self._limits = _check_limits(DEFAULT_RATE_LIMITS if rate_limits is None else rate_limits)
        # Re-entrant: the public check_rate_limit() is also called with it held.
        self._lock = threading.RLock()
        self._hits: dict[str, deque[datetime]] = {}
        self._registry: dict[tuple[str, Channel, RecipientType], IysConsent] = {}
        self._changes: list[_Change] = []
        self._seq = itertools.count(1)
        self._request_ids = itertools.count(1)
        self._requests: dict[str, IysBatchRequest] = {}
        self._results: dict[str, tuple[IysRecordResult, ...]] = {}
        self._pending: deque[str] = deque()
        self._closed = False
        #: Every API call as (endpoint, when), in order, refused ones included.
        self.calls: list[tuple[str, datetime]] = []

    # -- what tests look at -------------------------------------------------------

    @property
    def consents(self) -> dict[tuple[str, Channel, RecipientType], IysConsent]:
        """The registry: (recipient, type, recipient type) → the current record."""
        with self._lock:
            self._settle()
            return dict(self._registry)

    @property
    def requests(self) -> dict[str, IysBatchRequest]:
        """Every batch accepted so far, by request id."""
        with self._lock:
            return dict(self._requests)

    def __repr__(self) -> str:
        with self._lock:
            self._settle()
            return (
                f"<FakeIysGateway consents={len(self._registry)} "
                f"pending_batches={len(self._pending)} changes={len(self._changes)}>"
            )

    # -- rate limits ----------------------------------------------------------------

    def check_rate_limit(self, endpoint: str) -> None:
        """Count one call to ``endpoint``; IysRateLimited when its window is full.

        The gateway's own methods call this; a test server calls it for the
        token endpoint, which the fake has no method for.
        """
        if endpoint not in DEFAULT_RATE_LIMITS:
            raise InvalidValue(f"unknown İYS endpoint {endpoint!r}")
        with self._lock:
            now = self._clock()
            self.calls.append((endpoint, now))
            limit = self._limits.get(endpoint)
            if limit is None:
                return
            count, window = limit
            hits = self._hits.setdefault(endpoint, deque())
            while hits and hits[0] <= now - window:
                hits.popleft()
            if len(hits) >= count:
                retry_after = (hits[0] + window - now).total_seconds()
                code = LOGIN_RATE_LIMITED if endpoint == "token" else RATE_LIMITED
                raise IysRateLimited(
                    f"İYS rate limit for {endpoint!r} reached ({count} per {window}); "
                    f"retry in {retry_after:.0f} s",
                    retry_after=retry_after,
                    code=code,
                )
            hits.append(now)

    # -- the gateway --------------------------------------------------------------

    def add_consent(self, consent: IysConsent) -> None:
        """Apply one record now, or raise IysError with the code İYS would give."""
        if not isinstance(consent, IysConsent):
            raise InvalidValue(f"add_consent takes an IysConsent, got {consent!r}")
        with self._lock:
            self._check_open()
            self.check_rate_limit("add")
            self._settle()
            self._apply(consent, on_iys=False)

    def add_consents(self, consents: Sequence[IysConsent]) -> str:
        """Accept a batch; its records are applied ``batch_delay`` later, in order."""
        items = self._check_batch(consents)
        with self._lock:
            self._check_open()
            self.check_rate_limit("add_batch")
            now = self._clock()
            request_id = f"req-{next(self._request_ids)}"
            self._requests[request_id] = IysBatchRequest(
                request_id, items, now, now + self._batch_delay
            )
            self._pending.append(request_id)
            self._settle()
            return request_id

    def batch_result(self, request_id: str) -> IysBatchResult:
        """``done=False`` until the clock reaches the batch's ``due_at``."""
        with self._lock:
            self._check_open()
            self.check_rate_limit("batch_result")
            self._settle()
            if request_id not in self._requests:
                raise IysError(
                    f"İYS has no batch request {request_id!r}", code=UNKNOWN_REQUEST, status=404
                )
            results = self._results.get(request_id)
            if results is None:
                return IysBatchResult(request_id, done=False)
            return IysBatchResult(request_id, done=True, results=results)

    def consent_status(
        self,
        recipient: str,
        *,
        type: Channel = Channel.MESAJ,
        recipient_type: RecipientType = RecipientType.BIREYSEL,
    ) -> IysConsent | None:
        """The current record, or None."""
        key = (_recipient(recipient), _channel(type), _recipient_type(recipient_type))
        with self._lock:
            self._check_open()
            self.check_rate_limit("status")
            self._settle()
            return self._registry.get(key)

    def pull_changes(self, cursor: str | None = None, *, limit: int = 500) -> IysChanges:
        """Changes made on İYS (by :meth:`opt_out_on_iys` / :meth:`opt_in_on_iys`), in order.

        The cursor is the sequence number of the last change returned.
        """
        self._check_limit(limit)
        after = self._read_cursor(cursor)
        with self._lock:
            self._check_open()
            self.check_rate_limit("changes")
            self._settle()
            page = [c for c in self._changes if c.seq > after and c.on_iys][:limit]
        if not page:
            return IysChanges((), None)
        return IysChanges(tuple(c.consent for c in page), str(page[-1].seq))

    def close(self) -> None:
        """Refuse further API calls; the helpers and the attributes keep working."""
        self._closed = True

    # -- playing the recipient -------------------------------------------------------

    def opt_out_on_iys(
        self,
        recipient: str,
        *,
        type: Channel = Channel.MESAJ,
        recipient_type: RecipientType = RecipientType.BIREYSEL,
        source: ConsentSource = ConsentSource.IYS_3338,
        at: datetime | None = None,
    ) -> IysConsent:
        """A recipient says RET on İYS itself (by SMS to 3338 by default); returns the record."""
        return self._on_iys(recipient, ConsentStatus.RET, type, recipient_type, source, at)

    def opt_in_on_iys(
        self,
        recipient: str,
        *,
        type: Channel = Channel.MESAJ,
        recipient_type: RecipientType = RecipientType.BIREYSEL,
        source: ConsentSource = ConsentSource.IYS_WEB,
        at: datetime | None = None,
    ) -> IysConsent:
        """A recipient gives ONAY on İYS itself (on its web site by default)."""
        return self._on_iys(recipient, ConsentStatus.ONAY, type, recipient_type, source, at)

    def _on_iys(
        self,
        recipient: str,
        status: ConsentStatus,
        channel: Channel,
        recipient_type: RecipientType,
        source: ConsentSource,
        at: datetime | None,
    ) -> IysConsent:
        source = _source(source)
        if not source.from_iys:
            raise InvalidValue(f"a change made on İYS has an IYS_* source, got {source.value}")
        with self._lock:
            self._settle()
            consent = IysConsent(
                recipient, channel, recipient_type, status, at or self._clock(), source
            )
            self._apply(consent, on_iys=True)
            return consent

    # -- the rules ------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise IysError("the FakeIysGateway is closed")

    @staticmethod
    def _read_cursor(cursor: str | None) -> int:
        if cursor is None:
            return 0
        if isinstance(cursor, str) and cursor.isascii() and cursor.isdigit():
            return int(cursor)
        raise IysError(f"invalid İYS changes cursor {cursor!r}", code=BAD_CURSOR, status=400)

    def _settle(self) -> None:
        """Apply every batch whose time has come, oldest first."""
        now = self._clock()
        while self._pending and self._requests[self._pending[0]].due_at <= now:
            request = self._requests[self._pending.popleft()]
            results: list[IysRecordResult] = []
            for index, consent in enumerate(request.consents):
                try:
                    self._apply(consent, on_iys=False)
                except IysError as exc:
                    results.append(IysRecordResult(index, False, exc.code, str(exc)))
                else:
                    results.append(IysRecordResult(index, True))
            self._results[request.request_id] = tuple(results)

    def _apply(self, consent: IysConsent, *, on_iys: bool) -> None:
        self._check_recipient(consent)
        if not on_iys and not consent.source.value.startswith("HS_"):
            raise IysError(
                f"a service provider sends HS_* sources, not {consent.source.value}",
                code=BAD_SOURCE,
                status=422,
            )
        current = self._registry.get(consent.key)
        if current is None and not on_iys:
            if consent.status is ConsentStatus.RET:
                raise IysError(
                    "the first record of a recipient cannot be RET "
                    "(İlk izin kayıt işlemlerinde RET durum bilgisi içeren izinler kaydedilmez)",
                    code=FIRST_RECORD_RET,
                    status=422,
                )
            if consent.source is ConsentSource.HS_KARAR:
                raise IysError(
                    "the first record of a recipient cannot come from HS_KARAR",
                    code=FIRST_RECORD_KARAR,
                    status=422,
                )
        if current is not None:
            if consent.consent_date < current.consent_date:
                raise IysError(
                    f"İYS holds a newer record (consentDate {_format_date(current.consent_date)})",
                    code=OLDER_THAN_CURRENT,
                    status=422,
                )
            if consent.consent_date == current.consent_date:
                if current.status is ConsentStatus.RET and consent.status is ConsentStatus.ONAY:
                    raise IysError(
                        "İYS holds a RET with the same consentDate, and RET wins",
                        code=RET_WINS,
                        status=422,
                    )
                if current.status is consent.status:
                    return
        self._registry[consent.key] = consent
        self._changes.append(_Change(next(self._seq), consent, on_iys))

    @staticmethod
    def _check_recipient(consent: IysConsent) -> None:
        recipient = consent.recipient
        if consent.type is Channel.EPOSTA:
            ok = 6 <= len(recipient) <= 265
            reason = "an e-mail of 6-265 characters"
        elif consent.type is Channel.MESAJ:
            ok = recipient.startswith("+905") and len(recipient) == 13
            reason = "a Turkish mobile number (+905XXXXXXXXX)"
        else:
            ok = recipient.startswith("+90") and len(recipient) == 13
            reason = "a Turkish number (+90XXXXXXXXXX)"
        if not ok:
            raise IysError(
                f"İYS takes {reason} for {consent.type.value}, not {_mask_recipient(recipient)}",
                code=BAD_RECIPIENT,
                status=422,
            )


# -- the HTTP client --------------------------------------------------------------------


def _code(value: object) -> str:
    text = str(value).strip()
    if not text.isascii() or not text.isdigit():
        raise InvalidValue(f"an İYS code is digits only, got {value!r}")
    return text


def _error_details(body: object) -> tuple[str | None, str | None]:
    """(code, message) from any of the error shapes İYS answers with."""
    if isinstance(body, Mapping):
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            details = [e for e in errors if isinstance(e, Mapping)]
            codes = [str(e["code"]) for e in details if e.get("code") is not None]
            messages = [str(e["message"]) for e in details if e.get("message") is not None]
            return (codes[0] if codes else None, "; ".join(messages) or None)
        code = body.get("code")
        message = body.get("message") or body.get("error_description") or body.get("error")
        return (
            None if code is None else str(code),
            None if message is None else str(message),
        )
    return (None, None)


class HttpIysGateway(IysGateway):
    """The İYS REST API over httpx, for one brand (``iys_code``, ``brand_code``).

    The OAuth2 password-grant token is fetched on first use and kept until shortly
    before it expires (the token endpoint allows only 10 calls an hour); a 401 drops
    it and fetches a new one, once. HTTP 429 (waiting out ``Retry-After``), HTTP 5xx
    and connection errors are retried up to ``max_retries`` times with exponential
    backoff and jitter, sleeping through ``sleep``. What is left is raised as
    :class:`IysRateLimited`, :class:`IysUnavailable` or :class:`IysError`, chained
    to the httpx error. The password and the token never appear in a repr, a log
    record or an error message.

    ``http`` lets you bring your own ``httpx.Client`` (proxies, certificates); the
    gateway closes only a client it created.
    """

    #: Longest Retry-After waited out in place; a longer one (the token endpoint's
    #: hour-long lockout) is raised at once as IysRateLimited.
    max_retry_after: float = 60.0
    #: Backoff before retry n (0-based) is up to min(cap, base * 2**n) seconds.
    backoff_base: float = 0.5
    backoff_cap: float = 30.0

    def __init__(
        self,
        *,
        base_url: str,
        username: str,
        password: str,
        iys_code: int | str,
        brand_code: int | str,
        http: httpx.Client | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        max_batch: int = 10_000,
    ) -> None:
        self._base_url = http_base_url(base_url, example="https://api.iys.org.tr")
        if not isinstance(username, str) or not username:
            raise InvalidValue("username must be a non-empty string")
        if not isinstance(password, str) or not password:
            raise InvalidValue("password must be a non-empty string")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise InvalidValue(f"max_retries must be a non-negative integer, got {max_retries!r}")
        if not timeout > 0:
            raise InvalidValue(f"timeout must be positive, got {timeout!r}")
        self._username = username
        self._password = Secret(password)
        self.iys_code = _code(iys_code)
        self.brand_code = _code(brand_code)
        self._timeout = timeout
        self._max_retries = max_retries
        self._sleep = sleep
        self._monotonic = monotonic
        self.max_batch = self._positive_max_batch(max_batch)
        self._own_http = http is None
        self._http = httpx.Client(timeout=timeout) if http is None else http
        self._token_lock = threading.Lock()
        self._token: Secret | None = None
        self._token_expires = 0.0
        self._closed = False
        # Jitter spreads retries of many workers apart; it protects nothing secret.
        self._random = random.Random()  # noqa: S311

    def __repr__(self) -> str:
        return (
            f"<HttpIysGateway {without_userinfo(self._base_url)} iys_code={self.iys_code} "
            f"brand_code={self.brand_code} user={self._username!r}>"
        )

    def close(self) -> None:
        """Close the httpx client if this gateway created it; later calls raise IysError."""
        self._closed = True
        if self._own_http:
            self._http.close()

    # -- the API ---------------------------------------------------------------------

    def add_consent(self, consent: IysConsent) -> None:
        """POST …/consents."""
        if not isinstance(consent, IysConsent):
            raise InvalidValue(f"add_consent takes an IysConsent, got {consent!r}")
        response = self._send("POST", self._url("consents"), "add", json=consent.to_json())
        self._check_ok(response, "add")

    def add_consents(self, consents: Sequence[IysConsent]) -> str:
        """POST …/consents/request with a JSON array; returns ``requestId``."""
        items = self._check_batch(consents)
        body = [c.to_json() for c in items]
        response = self._send("POST", self._url("consents/request"), "add_batch", json=body)
        data = self._object(response, "add_batch")
        request_id = data.get("requestId")
        if not isinstance(request_id, str) or not request_id:
            raise IysError("İYS accepted the batch but gave no 'requestId'", status=200)
        return request_id

    def batch_result(self, request_id: str) -> IysBatchResult:
        """GET …/consents/request/{requestId}."""
        if not isinstance(request_id, str) or not request_id:
            raise InvalidValue(f"request_id must be a non-empty string, got {request_id!r}")
        url = self._url(f"consents/request/{quote(request_id, safe='')}")
        response = self._send("GET", url, "batch_result")
        data = self._json(response, "batch_result")
        if not isinstance(data, list):
            raise IysError("İYS batch result: expected a JSON array", status=response.status_code)
        results: list[IysRecordResult] = []
        pending = 0
        for item in data:
            outcome = self._record_result(item)
            if outcome is None:
                pending += 1
            else:
                results.append(outcome)
        results.sort(key=lambda r: r.index)
        done = bool(data) and pending == 0
        return IysBatchResult(request_id, done=done, results=tuple(results))

    def consent_status(
        self,
        recipient: str,
        *,
        type: Channel = Channel.MESAJ,
        recipient_type: RecipientType = RecipientType.BIREYSEL,
    ) -> IysConsent | None:
        """POST …/consents/status; None when İYS answers 404."""
        body = {
            "recipient": _recipient(recipient),
            "recipientType": _recipient_type(recipient_type).value,
            "type": _channel(type).value,
        }
        response = self._send("POST", self._url("consents/status"), "status", json=body)
        if response.status_code == httpx.codes.NOT_FOUND:
            return None
        return IysConsent.from_json(self._object(response, "status"))

    def pull_changes(self, cursor: str | None = None, *, limit: int = 500) -> IysChanges:
        """GET …/consents/changes?source=IYS&limit=…&after=…."""
        self._check_limit(limit)
        params: dict[str, str | int] = {"source": "IYS", "limit": limit}
        if cursor is not None:
            params["after"] = cursor
        response = self._send("GET", self._url("consents/changes"), "changes", params=params)
        data = self._object(response, "changes")
        items = data.get("list", [])
        if not isinstance(items, list):
            raise IysError("İYS changes: 'list' is not a JSON array", status=response.status_code)
        consents = tuple(IysConsent.from_json(item) for item in items)
        if not consents:
            return IysChanges((), None)
        after = data.get("after")
        if isinstance(after, int) and not isinstance(after, bool):
            after = str(after)
        if not isinstance(after, str) or not after:
            raise IysError("İYS changes: no 'after' cursor with the list", status=200)
        return IysChanges(consents, after)

    # -- HTTP --------------------------------------------------------------------------

    def _url(self, suffix: str) -> str:
        return f"{self._base_url}/sps/{self.iys_code}/brands/{self.brand_code}/{suffix}"

    def _access_token(self) -> str:
        with self._token_lock:
            if self._token is not None and self._monotonic() < self._token_expires:
                return self._token.reveal()
            self._token = None
            token, lifetime = self._fetch_token()
            # Renew a minute early (half the lifetime for short-lived tokens), so a
            # token never expires between the check and İYS reading it.
            self._token_expires = self._monotonic() + lifetime - min(60.0, lifetime / 2)
            self._token = Secret(token)
            return token

    def _forget_token(self) -> None:
        with self._token_lock:
            self._token = None

    def _fetch_token(self) -> tuple[str, float]:
        form = {
            "grant_type": "password",
            "username": self._username,
            "password": self._password.reveal(),
        }
        response = self._send(
            "POST", f"{self._base_url}/oauth2/token", "token", data=form, authorised=False
        )
        if response.status_code in (httpx.codes.BAD_REQUEST, httpx.codes.UNAUTHORIZED):
            code, message = _error_details(self._json_or_none(response))
            raise IysError(
                f"İYS refused the credentials of user {self._username!r}"
                + (f": {self._scrub(message)}" if message else ""),
                code=code,
                status=response.status_code,
            )
        data = self._object(response, "token")
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            raise IysError("İYS token answer has no 'access_token'", status=response.status_code)
        lifetime = data.get("expires_in", 300)
        if isinstance(lifetime, bool) or not isinstance(lifetime, int | float) or lifetime <= 0:
            raise IysError("İYS token answer has an invalid 'expires_in'", status=200)
        _log.info("fetched an İYS token for user %r, valid %.0f s", self._username, lifetime)
        return token, float(lifetime)

    def _send(
        self,
        method: str,
        url: str,
        endpoint: str,
        *,
        json: object = None,
        data: Mapping[str, str] | None = None,
        params: Mapping[str, str | int] | None = None,
        authorised: bool = True,
    ) -> httpx.Response:
        """One API call with the retries; returns any answer that is not 429 or 5xx."""
        attempt = 0
        renewed = False
        while True:
            if self._closed:
                raise IysError("the HttpIysGateway is closed")
            headers = {"Accept": "application/json"}
            if authorised:
                headers["Authorization"] = f"Bearer {self._access_token()}"
            try:
                response = self._http.request(
                    method,
                    url,
                    headers=headers,
                    json=json,
                    data=data,
                    params=params,
                    timeout=self._timeout,
                )
            except httpx.TransportError as exc:
                # Connect, read and write errors, timeouts, a dropped connection.
                if attempt < self._max_retries:
                    self._wait(self._backoff(attempt), endpoint, attempt, type(exc).__name__)
                    attempt += 1
                    continue
                raise IysUnavailable(
                    f"İYS {endpoint}: no answer after {attempt + 1} attempts ({type(exc).__name__})"
                ) from exc
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                raise IysError(f"İYS {endpoint}: {type(exc).__name__}") from exc
            except RuntimeError as exc:
                # httpx's answer to a request on a client closed by its owner.
                raise IysError(f"İYS {endpoint}: the httpx client is closed") from exc

            status = response.status_code
            if status == httpx.codes.UNAUTHORIZED and authorised and not renewed:
                # The token expired or was revoked early: one fresh token, then give up.
                self._forget_token()
                renewed = True
                continue
            if status == httpx.codes.TOO_MANY_REQUESTS:
                wait = retry_after_seconds(response.headers.get("Retry-After"))
                if attempt < self._max_retries and (wait is None or wait <= self.max_retry_after):
                    self._wait(
                        self._backoff(attempt) if wait is None else wait,
                        endpoint,
                        attempt,
                        "HTTP 429",
                    )
                    attempt += 1
                    continue
                code, message = _error_details(self._json_or_none(response))
                raise IysRateLimited(
                    f"İYS {endpoint}: rate limited"
                    + (f": {self._scrub(message)}" if message else ""),
                    retry_after=wait,
                    code=code,
                    status=status,
                )
            if status >= httpx.codes.INTERNAL_SERVER_ERROR:
                if attempt < self._max_retries:
                    self._wait(self._backoff(attempt), endpoint, attempt, f"HTTP {status}")
                    attempt += 1
                    continue
                code, message = _error_details(self._json_or_none(response))
                raise IysUnavailable(
                    f"İYS {endpoint}: HTTP {status} after {attempt + 1} attempts"
                    + (f": {self._scrub(message)}" if message else ""),
                    code=code,
                    status=status,
                )
            return response

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.backoff_cap, self.backoff_base * 2.0**attempt)
        return ceiling / 2 + self._random.uniform(0, ceiling / 2)

    def _wait(self, seconds: float, endpoint: str, attempt: int, why: str) -> None:
        _log.warning(
            "İYS %s: %s, retry %d of %d in %.2f s",
            endpoint,
            why,
            attempt + 1,
            self._max_retries,
            seconds,
        )
        self._sleep(seconds)

    def _scrub(self, text: str) -> str:
        """``text`` with the password and the token replaced, should İYS echo them."""
        for secret in (self._password, self._token):
            if secret is not None and secret.reveal():
                text = text.replace(secret.reveal(), "***")
        return text

    @staticmethod
    def _json_or_none(response: httpx.Response) -> object:
        try:
            return response.json()
        except ValueError:
            return None

    def _json(self, response: httpx.Response, endpoint: str) -> object:
        self._check_ok(response, endpoint)
        try:
            return response.json()
        except ValueError as exc:
            raise IysError(
                f"İYS {endpoint}: the answer is not JSON", status=response.status_code
            ) from exc

    def _object(self, response: httpx.Response, endpoint: str) -> Mapping[str, object]:
        data = self._json(response, endpoint)
        if not isinstance(data, dict):
            raise IysError(
                f"İYS {endpoint}: expected a JSON object, got {type(data).__name__}",
                status=response.status_code,
            )
        return data

    def _check_ok(self, response: httpx.Response, endpoint: str) -> None:
        if response.is_success:
            return
        code, message = _error_details(self._json_or_none(response))
        raise IysError(
            f"İYS {endpoint}: HTTP {response.status_code}"
            + (f" {code}" if code else "")
            + (f": {self._scrub(message)}" if message else ""),
            code=code,
            status=response.status_code,
        )

    @staticmethod
    def _record_result(item: object) -> IysRecordResult | None:
        """One item of a batch result; None while İYS is still working on it."""
        if not isinstance(item, Mapping):
            raise IysError(f"İYS batch result: expected objects, got {type(item).__name__}")
        index = item.get("index")
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise IysError(f"İYS batch result: invalid 'index' {index!r}")
        status = str(item.get("status", "")).lower()
        if status in ("success", "completed"):
            return IysRecordResult(index, True)
        if status == "failure":
            error = item.get("error")
            code, message = _error_details(
                {"errors": [error]} if isinstance(error, Mapping) else item
            )
            return IysRecordResult(index, False, code, message)
        return None
