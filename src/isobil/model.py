"""The value types every layer shares: who sends, what is sent, to whom.

All are frozen attrs classes validated at construction, so a value that exists
is a valid value. Phone numbers are masked in every ``repr``.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import TypeVar

import attrs

from isobil import phone
from isobil._time import aware_field
from isobil._trusted import trusted
from isobil.errors import InvalidIdentifier, InvalidValue
from isobil.identifiers import validate_mersis, validate_tckn

__all__ = [
    "Brand",
    "Channel",
    "ConsentEvent",
    "ConsentSource",
    "ConsentStatus",
    "Message",
    "MessageCategory",
    "Recipient",
    "RecipientType",
    "Relation",
    "RowError",
    "Sender",
    "SenderKind",
    "normalize_address",
    "normalize_brand",
]


E = TypeVar("E", bound=enum.Enum)


def _to_enum(enum_cls: type[E], value: object, what: str) -> E:
    """Accept an enum member or its value, with an error naming the choices."""
    if isinstance(value, enum_cls):
        return value
    try:
        return enum_cls(value)
    except ValueError:
        choices = ", ".join(repr(m.value) for m in enum_cls)
        raise InvalidValue(f"invalid {what} {value!r}: expected one of {choices}") from None


class Relation(enum.StrEnum):
    """How a recipient is related to the sender, where an exemption depends on it."""

    SUBSCRIBER = "subscriber"  # of an electronic-communications operator
    MEMBER = "member"  # of a professional body, association or foundation
    STUDENT_OR_PARENT = "student_or_parent"  # of a foundation university (Reg. art. 2(2)(b))
    CUSTOMER = "customer"  # of a capital-markets intermediary


class SenderKind(enum.StrEnum):
    """What kind of sender this is (R-EXEMPT).

    The exempt kinds are outside the regulation only towards the recipients in
    :attr:`relation` (none needed for public bodies and broadcasters informing
    the public) and only about their own services — see docs/rules.md.
    """

    COMPANY = "company"
    SOLE_TRADER = "sole_trader"
    #: Sends information without consent to its own customers (Reg. art. 6).
    CAPITAL_MARKETS_INTERMEDIARY = "capital_markets_intermediary"
    #: Exempt for messages about their own services, to the recipients named (R-EXEMPT):
    OPERATOR = "operator"
    SCHOOL = "school"  #: a foundation university (vakıf üniversitesi)
    PROFESSIONAL_BODY = "professional_body"
    PUBLIC_BENEFIT_ASSOCIATION = "public_benefit_association"
    TAX_EXEMPT_FOUNDATION = "tax_exempt_foundation"
    BROADCASTER = "broadcaster"
    STATE_INSTITUTION = "state_institution"
    LOCAL_ADMINISTRATION = "local_administration"
    PUBLIC_LEGAL_ENTITY = "public_legal_entity"

    @property
    def exempt(self) -> bool:
        """Whether this kind can be outside the regulation (within its exemption's scope)."""
        return self not in _NOT_EXEMPT

    @property
    def relation(self) -> Relation | None:
        """The relation a recipient must have for the exemption to apply (``None``: any)."""
        return _KIND_RELATION.get(self)


_NOT_EXEMPT = frozenset(
    (SenderKind.COMPANY, SenderKind.SOLE_TRADER, SenderKind.CAPITAL_MARKETS_INTERMEDIARY)
)
_KIND_RELATION = {
    SenderKind.OPERATOR: Relation.SUBSCRIBER,
    SenderKind.SCHOOL: Relation.STUDENT_OR_PARENT,
    SenderKind.PROFESSIONAL_BODY: Relation.MEMBER,
    SenderKind.PUBLIC_BENEFIT_ASSOCIATION: Relation.MEMBER,
    SenderKind.TAX_EXEMPT_FOUNDATION: Relation.MEMBER,
    SenderKind.CAPITAL_MARKETS_INTERMEDIARY: Relation.CUSTOMER,
}


class MessageCategory(enum.StrEnum):
    """Why a message is sent; decides whether prior consent is needed (R-NOCONSENT)."""

    COMMERCIAL = "commercial"
    INFORMATIONAL = "informational"
    LEGALLY_REQUIRED = "legally_required"


class RecipientType(enum.StrEnum):
    """İYS recipient type: an individual (BIREYSEL) or a merchant / tradesman (TACIR)."""

    BIREYSEL = "BIREYSEL"
    TACIR = "TACIR"


def _sender_kind(value: object) -> SenderKind:
    return _to_enum(SenderKind, value, "sender kind")


def _category(value: object) -> MessageCategory:
    return _to_enum(MessageCategory, value, "message category")


def _recipient_type(value: object) -> RecipientType:
    return _to_enum(RecipientType, value, "recipient type")


def _optional_relation(value: object) -> Relation | None:
    return None if value is None else _to_enum(Relation, value, "relation")


_BRAND_CODE = re.compile(r"[A-Z0-9][A-Z0-9_\-]{0,29}")
# BTK practice: 3-11 characters, no Turkish letters. Operators accept ASCII letters,
# digits and a few separators; a purely numeric originator would look like a number.
_ORIGINATOR = re.compile(r"[A-Za-z0-9 .\-_&]{3,11}")
_TURKISH_LETTERS = frozenset("çÇğĞıİöÖşŞüÜ")


def normalize_brand(value: str) -> str:
    """A brand code as stored: stripped, upper-case ASCII; InvalidValue otherwise."""
    code = value.strip().upper() if isinstance(value, str) else value
    if not isinstance(code, str) or not _BRAND_CODE.fullmatch(code):
        raise InvalidValue(
            f"invalid brand code {value!r}: expected 1-30 ASCII letters, digits, '-' or '_'"
        )
    return code


def _brand_codes(values: Iterable[str]) -> tuple[str, ...]:
    if isinstance(values, str):
        values = (values,)
    return tuple(normalize_brand(v) for v in values)


def _keywords(values: Iterable[str]) -> tuple[str, ...]:
    if isinstance(values, str):
        values = (values,)
    result = tuple(v.strip() for v in values)
    if any(not v for v in result):
        raise InvalidValue("brand keywords must be non-empty strings")
    return result


def _originator(value: str | None) -> str | None:
    if value is None:
        return None
    turkish = sorted(set(value) & _TURKISH_LETTERS)
    if turkish:
        raise InvalidIdentifier(
            f"invalid originator {value!r}: Turkish letters are not allowed ({''.join(turkish)})"
        )
    if not _ORIGINATOR.fullmatch(value) or value.isdigit():
        raise InvalidIdentifier(
            f"invalid originator {value!r}: expected 3-11 ASCII letters, digits, "
            "spaces or . - _ &, not only digits"
        )
    return value


@attrs.frozen
class Brand:
    """A brand the sender markets under, with the keywords recipients text for it.

    ``code`` is what recipients type (``ACME``, ``ACME RET``); ``keywords`` are extra
    words that also mean this brand; ``iys_code`` is the brand's İYS number.
    ``shared_with`` are the codes under which dealers or agencies record consent
    shared with this brand (Reg. art. 7(6)): a consent recorded under any of
    them counts for all, and a RET to any revokes it for all (art. 9(2)).
    ``originator`` is the brand's own alphanumeric sender ID (başlık): messages of
    this brand go out under it instead of the sender's (:meth:`Sender.originator_of`).
    """

    code: str = attrs.field(converter=normalize_brand)
    keywords: tuple[str, ...] = attrs.field(default=(), converter=_keywords)
    iys_code: str | None = None
    shared_with: tuple[str, ...] = attrs.field(default=(), converter=_brand_codes)
    originator: str | None = attrs.field(default=None, converter=_originator)


def _brands(values: Iterable[Brand | str]) -> tuple[Brand, ...]:
    brands = tuple(b if isinstance(b, Brand) else Brand(b) for b in values)
    codes = [b.code for b in brands]
    duplicates = sorted({c for c in codes if codes.count(c) > 1})
    if duplicates:
        raise InvalidValue(f"duplicate brand codes: {', '.join(duplicates)}")
    return brands


def _optional_mersis(value: str | None) -> str | None:
    return None if value is None else validate_mersis(value)


def _optional_tckn(value: str | None) -> str | None:
    return None if value is None else validate_tckn(value)


def _optional_brand(value: str | None) -> str | None:
    return None if value is None else normalize_brand(value)


def _short_number(value: str | None) -> str | None:
    if value is None:
        return None
    digits = value.replace(" ", "")
    if not digits.isascii() or not digits.isdigit() or not 3 <= len(digits) <= 6:
        raise InvalidValue(f"invalid short number {value!r}: expected 3-6 digits")
    return digits


def _default_kind(instance: Sender) -> SenderKind:
    return SenderKind.SOLE_TRADER if instance.tckn and not instance.mersis else SenderKind.COMPANY


@attrs.frozen
class Sender:
    """Who sends: the identity every commercial message must carry (R-CONTENT).

    A company gives its trade name as ``name`` and its ``mersis`` number; a sole
    trader gives the person's name and surname as ``name`` and a ``tckn``.
    ``contact`` is a phone, short number, e-mail or URL where recipients reach the
    sender. ``originator`` is the alphanumeric sender ID (başlık); ``short_number``
    is where recipients text opt-ins and opt-outs. ``opt_out`` overrides the
    opt-out instruction appended to commercial messages (see :meth:`opt_out_text`).
    ``advertisers`` are the businesses this sender sends for — as an agency, a
    dealer or a list-rental service: a message of one of their brands is on
    their behalf, needs consent for that brand and carries their identity.
    ``large_sender`` says the sender held more than 150,000 consents when they
    moved to İYS, so the earlier migration deadlines apply (R-LEGACY).

    Missing identity is not an error here: the rules engine reports it with its
    citation. Values that are present must be well formed.
    """

    name: str = attrs.field()
    mersis: str | None = attrs.field(default=None, converter=_optional_mersis)
    tckn: str | None = attrs.field(default=None, converter=_optional_tckn, repr=False)
    contact: str | None = None
    originator: str | None = attrs.field(default=None, converter=_originator)
    brands: tuple[Brand, ...] = attrs.field(default=(), converter=_brands)
    short_number: str | None = attrs.field(default=None, converter=_short_number)
    kind: SenderKind = attrs.field(
        default=attrs.Factory(_default_kind, takes_self=True),
        converter=_sender_kind,
    )
    opt_out: str | None = None
    advertisers: tuple[Sender, ...] = attrs.field(default=(), converter=tuple)
    large_sender: bool = False

    @name.validator
    def _check_name(self, attribute: attrs.Attribute[str], value: str) -> None:
        if not isinstance(value, str) or not value.strip():
            raise InvalidValue("sender name must be a non-empty string")

    def brand(self, code: str) -> Brand:
        """Return the brand with this code, or raise InvalidValue naming the known ones."""
        wanted = normalize_brand(code)
        for brand in self.brands:
            if brand.code == wanted:
                return brand
        known = ", ".join(b.code for b in self.brands) or "none"
        raise InvalidValue(f"unknown brand {code!r}: this sender has {known}")

    @property
    def all_brands(self) -> tuple[Brand, ...]:
        """The sender's own brands, then those of the advertisers it sends for."""
        return (*self.brands, *(b for a in self.advertisers for b in a.brands))

    def originator_of(self, brand: str | None) -> str | None:
        """The originator (başlık) a message of ``brand`` goes out under: the brand's
        own :attr:`Brand.originator` (of this sender's brands or an advertiser's),
        else this sender's :attr:`originator`."""
        if brand is not None:
            code = normalize_brand(brand)
            for known in self.all_brands:
                if known.code == code and known.originator is not None:
                    return known.originator
        return self.originator

    def advertiser_of(self, brand: str | None) -> Sender:
        """Whose brand ``brand`` is: this sender's own, or one of its advertisers'."""
        if brand is not None:
            code = normalize_brand(brand)
            for advertiser in self.advertisers:
                if any(b.code == code for b in advertiser.brands):
                    return advertiser
        return self

    def opt_out_text(self, brand: str | None = None) -> str | None:
        """The opt-out instruction for a message of ``brand`` (Turkish by default).

        ``None`` when neither ``opt_out`` nor a short number and brand are configured.
        """
        if self.opt_out is not None:
            return self.opt_out
        code = brand or (self.brands[0].code if self.brands else None)
        if code is None or self.short_number is None:
            return None
        return f"Ret için {code} RET yazıp {self.short_number} numarasına gönderin."


@attrs.frozen
class Message:
    """What to send: the text, why it is sent (``category``) and under which brand.

    ``brand`` is the brand the message is for — the sender's own or an
    advertiser's (:attr:`Sender.advertisers`); consent is checked for it.
    ``relation`` says how every recipient of this send is related to the
    sender (subscribers, members …), which an exempt sender's exemption needs.
    """

    text: str = attrs.field()
    category: MessageCategory = attrs.field(
        default=MessageCategory.COMMERCIAL,
        converter=_category,
    )
    brand: str | None = attrs.field(default=None, converter=_optional_brand)
    relation: Relation | None = attrs.field(default=None, converter=_optional_relation)

    @text.validator
    def _check_text(self, attribute: attrs.Attribute[str], value: str) -> None:
        if not isinstance(value, str) or not value.strip():
            raise InvalidValue("message text must be a non-empty string")


def _fields(value: Mapping[str, object]) -> Mapping[str, str]:
    return MappingProxyType({str(k): "" if v is None else str(v) for k, v in value.items()})


@attrs.frozen
class Recipient:
    """One addressee — a contact of the address book (rehber) — by E.164 number.

    The number is normalised at construction. ``fields`` hold custom values for
    personalised templates (``{ad}``, ``{sehir}`` …).
    """

    number: str = attrs.field(converter=phone.normalize, repr=phone.mask)
    name: str | None = None
    surname: str | None = None
    email: str | None = attrs.field(default=None, repr=False)
    fields: Mapping[str, str] = attrs.field(factory=dict, converter=_fields, hash=False)
    recipient_type: RecipientType = attrs.field(
        default=RecipientType.BIREYSEL,
        converter=_recipient_type,
    )


# Recipient(...) normalises its number again and converts every value: about 4 µs
# a contact, a quarter of a million-row import and most of reading an audience's
# contacts back. Where the values already are what the converters would give,
# trusted_recipient sets the fields as given.
_make_recipient = trusted(Recipient)


def _read_only(mapping: Mapping[str, str]) -> Mapping[str, str]:
    """``mapping`` behind a read-only view; a view given is kept as it is (storage
    shares one among the records it reads with equal values)."""
    return mapping if type(mapping) is MappingProxyType else MappingProxyType(mapping)


def trusted_recipient(
    number: str,
    name: str | None,
    surname: str | None,
    email: str | None,
    fields: Mapping[str, str],
    recipient_type: RecipientType,
) -> Recipient:
    """``Recipient(number, …)`` for values already in converted form: an E.164 number
    from isobil's normaliser, ``str`` field values, a :class:`RecipientType` — rows
    read back from storage, rows the contact import has checked. ``fields`` is
    handed over, not copied (a read-only view is kept as it is: storage shares one
    among the contacts it reads with equal fields). Not for input from outside;
    that goes through ``Recipient(...)``.

    >>> trusted_recipient("+905321234567", "Ayşe", None, None, {}, RecipientType.BIREYSEL) == (
    ...     Recipient("0532 123 45 67", name="Ayşe"))
    True
    """
    return _make_recipient(number, name, surname, email, _read_only(fields), recipient_type)


class Channel(enum.StrEnum):
    """İYS channel of a consent: SMS (MESAJ), voice call (ARAMA) or e-mail (EPOSTA)."""

    MESAJ = "MESAJ"
    ARAMA = "ARAMA"
    EPOSTA = "EPOSTA"


class ConsentStatus(enum.StrEnum):
    """İYS consent status: opt-in (ONAY) or opt-out (RET — not "RED")."""

    ONAY = "ONAY"
    RET = "RET"


class ConsentSource(enum.StrEnum):
    """Where a consent was given: the İYS source codes (SPEC F4)."""

    HS_FIZIKSEL_ORTAM = "HS_FIZIKSEL_ORTAM"
    HS_ISLAK_IMZA = "HS_ISLAK_IMZA"
    HS_WEB = "HS_WEB"
    HS_CAGRI_MERKEZI = "HS_CAGRI_MERKEZI"
    HS_SOSYAL_MEDYA = "HS_SOSYAL_MEDYA"
    HS_EPOSTA = "HS_EPOSTA"
    HS_MESAJ = "HS_MESAJ"
    HS_MOBIL = "HS_MOBIL"
    HS_EORTAM = "HS_EORTAM"
    HS_ETKINLIK = "HS_ETKINLIK"
    HS_2015 = "HS_2015"
    HS_ATM = "HS_ATM"
    HS_KARAR = "HS_KARAR"
    #: Changes made on İYS itself, as İYS names them: its short number 3338 for
    #: SMS, its call centre (CM), web site, mobile app and short links.
    IYS_3338 = "IYS_3338"
    IYS_CM = "IYS_CM"
    IYS_WEB = "IYS_WEB"
    IYS_MOBIL = "IYS_MOBIL"
    IYS_KISA_LINK = "IYS_KISA_LINK"
    #: isobil's name for an İYS-side source it does not know yet.
    IYS_OTHER = "IYS_OTHER"

    @property
    def from_iys(self) -> bool:
        """Whether the change was made on İYS itself (pulled from İYS, never pushed back)."""
        return self.value.startswith("IYS_")


def _consent_status(value: object) -> ConsentStatus:
    return _to_enum(ConsentStatus, value, "consent status")


def _consent_source(value: object) -> ConsentSource:
    return _to_enum(ConsentSource, value, "consent source")


def _channel(value: object) -> Channel:
    return _to_enum(Channel, value, "channel")


def normalize_address(value: str) -> str:
    """A consent address: an e-mail lower-cased, anything else normalised to E.164."""
    if isinstance(value, str) and "@" in value:
        return value.strip().lower()
    return phone.normalize(value)


def _mask_address(value: str) -> str:
    if "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    return phone.mask(value)


@attrs.frozen
class ConsentEvent:
    """One consent event (ONAY or RET) with its proof; events are append-only.

    ``consent_date`` is when the recipient gave or withdrew consent and
    ``recorded_at`` when isobil recorded it; both must be timezone-aware (İYS
    wants Turkish local time, which isobil converts to when it talks to İYS).
    ``evidence`` keeps the proof: inbound message id and text, form reference
    and IP, document reference …
    ``seq`` and ``hash`` are set by the ledger when the event is stored: the hash
    chains each event to the one before, so tampering is detectable.
    ``prev_hash`` is the hash it was chained to (``None`` for the first event,
    and for events stored before schema revision 0005).
    """

    address: str = attrs.field(converter=normalize_address, repr=_mask_address)
    status: ConsentStatus = attrs.field(converter=_consent_status)
    source: ConsentSource = attrs.field(converter=_consent_source)
    brand: str = attrs.field(converter=normalize_brand)
    consent_date: datetime = attrs.field(validator=aware_field)
    recorded_at: datetime = attrs.field(validator=aware_field)
    channel: Channel = attrs.field(default=Channel.MESAJ, converter=_channel)
    recipient_type: RecipientType = attrs.field(
        default=RecipientType.BIREYSEL,
        converter=_recipient_type,
    )
    scope: str | None = None
    evidence: Mapping[str, str] = attrs.field(
        factory=dict, converter=_fields, hash=False, repr=False
    )
    seq: int | None = None
    hash: str | None = attrs.field(default=None, repr=False)
    prev_hash: str | None = attrs.field(default=None, repr=False)


# Rows the ledger wrote itself come back already normalised and converted:
# running ConsentEvent's converters again (the address through the phone
# normaliser above all) was most of reading an audience's consent states.
_make_event = trusted(ConsentEvent)


def trusted_consent_event(
    address: str,
    status: ConsentStatus,
    source: ConsentSource,
    brand: str,
    consent_date: datetime,
    recorded_at: datetime,
    channel: Channel,
    recipient_type: RecipientType,
    scope: str | None,
    evidence: Mapping[str, str],
    seq: int | None,
    hash: str | None,
    prev_hash: str | None,
) -> ConsentEvent:
    """``ConsentEvent(...)`` for values already in converted form: an event read back
    from storage (a normalised address and brand, enum members, timezone-aware
    datetimes, ``str`` evidence values). ``evidence`` is handed over, not copied (a
    read-only view of it is kept as it is: another event's evidence, say).
    Not for input from outside; that goes through ``ConsentEvent(...)``.

    >>> from datetime import UTC
    >>> at = datetime(2024, 1, 1, tzinfo=UTC)
    >>> trusted_consent_event("+905321234567", ConsentStatus.ONAY, ConsentSource.HS_WEB,
    ...     "ACME", at, at, Channel.MESAJ, RecipientType.BIREYSEL, None, {}, 1, None, None
    ... ) == ConsentEvent("0532 123 45 67", "ONAY", "HS_WEB", "acme", at, at, seq=1)
    True
    """
    return _make_event(
        address,
        status,
        source,
        brand,
        consent_date,
        recorded_at,
        channel,
        recipient_type,
        scope,
        _read_only(evidence),
        seq,
        hash,
        prev_hash,
    )


@attrs.frozen
class RowError:
    """A row that could not be taken, and why (``row`` counts the header as 1)."""

    row: int
    column: str
    value: str
    reason: str
