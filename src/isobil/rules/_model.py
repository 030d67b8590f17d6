"""What a rule is, what it looks at, and what it finds."""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta

import attrs

from isobil._text import fold, unmarked_lower
from isobil._time import ISTANBUL
from isobil._trusted import trusted
from isobil.model import (
    ConsentSource,
    ConsentStatus,
    Message,
    MessageCategory,
    RecipientType,
    Sender,
)
from isobil.phone import mask
from isobil.rules._classifier import DEFAULT_SIGNALS, Classification, Signal, classify

__all__ = [
    "Citation",
    "Confidence",
    "Finding",
    "IysRegistration",
    "MessageFacts",
    "RecipientFacts",
    "Rule",
    "RulesConfig",
    "Scope",
    "Severity",
]


class Severity(enum.StrEnum):
    """How bad a finding is: an error stops the send (or the recipient), a warning asks."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Confidence(enum.StrEnum):
    """How sure we are of the legal text behind a rule (SPEC §2)."""

    VERIFIED = "V"  # the primary text was seen
    SECONDARY = "S"  # secondary sources agree
    UNVERIFIED = "U"


class Scope(enum.StrEnum):
    """What a rule judges: the message as a whole, or one recipient of it."""

    MESSAGE = "message"
    RECIPIENT = "recipient"


@attrs.frozen
class Citation:
    """Where a rule comes from: instrument, article, paragraph, a paraphrase and a link."""

    instrument: str
    article: str
    summary: str
    paragraph: str | None = None
    point: str | None = None
    url: str | None = None

    def __str__(self) -> str:
        if not self.article:
            return self.instrument
        kind, _, number = self.article.rpartition(" ")
        where = f"{kind.lower()} art. {number}" if kind else f"art. {number}"
        if self.paragraph:
            where += f"({self.paragraph})"
        if self.point:
            where += f"({self.point})"
        return f"{self.instrument} {where}"


class IysRegistration(enum.StrEnum):
    """Whether the deciding consent is registered in İYS, as far as isobil knows."""

    REGISTERED = "registered"
    NOT_REGISTERED = "not_registered"  # İYS refused it
    UNKNOWN = "unknown"  # never pushed, or its batch is still pending


@attrs.frozen
class RulesConfig:
    """What content rules look for, and how current İYS must be.

    Words are folded (see ``isobil._text.fold``); ``signals`` decide whether a
    text is commercial (:func:`isobil.rules.classify`).
    """

    #: Words that mark a message as commercial at its start (R-CONTENT 4).
    identifier_words: tuple[str, ...] = (
        "tanitim",
        "kampanya",
        "bilgilendirme",
        "duyuru",
        "reklam",
        "firsat",
        "indirim",
    )
    #: The commercial and notice signals of the classifier (R-NOCONSENT, R-CONTENT 5).
    signals: tuple[Signal, ...] = DEFAULT_SIGNALS
    #: Words that, with a number to send them to, make an opt-out instruction (R-OPTOUT).
    opt_out_words: tuple[str, ...] = ("ret", "red", "iptal", "stop")
    #: Phrases of the notice legacy (HS_2015) recipients must get first (R-LEGACY).
    legacy_notice_phrases: tuple[str, ...] = (
        "veri tabanimizda",
        "veritabanimizda",
        "kayitli oldugunuz",
        "listemizde",
        "iletisim bilgileriniz",
    )
    #: How old the last İYS pull of a brand may be before commercial sends get a finding.
    iys_freshness: timedelta = timedelta(hours=24)


_URL = re.compile(r"(https?://|www\.|\b[a-z0-9-]+\.(com|net|org|tr|io|co|shop|store)\b)", re.I)
# Phone numbers as people write them (444 12 34, 0850 123 45 67, +90 212 …): 7, 10, 11,
# 12 or 13 digits with separators. A 16-digit MERSİS number is not a way to call anyone.
_PHONE = re.compile(r"(?<![\d])\+?\d(?:[\s().-]?\d){6,12}(?![\d])")
_PHONE_DIGITS = frozenset((7, 10, 11, 12, 13))
_SHORT_NUMBER = re.compile(r"(?<![\d])\d{3,6}(?![\d])")
# What looks like a number but is not one to call or text: identifiers, amounts,
# percentages, dates and times.
_NOT_A_NUMBER = re.compile(
    r"(?:mersis|tckn|vkn|vergi|sicil|kimlik)\w*(?:\s*(?:no|numarasi|numaramiz))?\s*[:.]?\s*"
    r"[\d\s]{8,}"
    r"|(?<![\d])\d{14,}(?![\d])"
    r"|\d+(?:[.,]\d+)*\s*(?:tl|try|₺|usd|eur|\$|€|adet|gb|dk|sms|kg|km)\b"
    r"|%\s?\d+(?:[.,]\d+)?|\d+(?:[.,]\d+)?\s?%"
    r"|\d{1,2}[./]\d{1,2}[./]\d{2,4}|\d{1,2}[:.]\d{2}\b"
)


def _callable_numbers(text: str) -> list[str]:
    """Phone and short numbers in ``text``, once identifiers, amounts and dates are removed."""
    cleaned = _NOT_A_NUMBER.sub(" ", text)
    found = [
        m.group(0)
        for m in _PHONE.finditer(cleaned)
        if sum(c.isdigit() for c in m.group(0)) in _PHONE_DIGITS
    ]
    found += [m.group(0) for m in _SHORT_NUMBER.finditer(_PHONE.sub(" ", cleaned))]
    return found


class MessageFacts:
    """A message as the rules see it, with derived text features computed once.

    ``text`` is what goes out (a rendered template, or the plain text).
    ``iys_pulled_at`` is when the brand's changes on İYS were last pulled
    (``None``: never) and ``checked_at`` the moment of the check (default: the
    end of ``as_of`` in Turkish time, UTC+3).
    """

    def __init__(
        self,
        sender: Sender | None,
        message: Message,
        as_of: date,
        config: RulesConfig,
        *,
        text: str | None = None,
        iys_pulled_at: datetime | None = None,
        checked_at: datetime | None = None,
    ) -> None:
        self.sender = sender
        self.message = message
        self.text = message.text if text is None else text
        self.as_of = as_of
        self.config = config
        self.iys_pulled_at = iys_pulled_at
        #: The moment the message is judged at (the İYS freshness is measured to it).
        self.checked_at = checked_at or datetime.combine(
            as_of + timedelta(days=1), time(), tzinfo=ISTANBUL
        )
        #: Whether the message is commercial (needs consent; content rules apply).
        self.commercial = message.category is MessageCategory.COMMERCIAL
        #: Whose message it is: the sender, or the advertiser it sends for.
        self.advertiser = None if sender is None else sender.advertiser_of(message.brand)
        #: Why an exempt kind of sender is not exempt for this message (``None``: it is,
        #: or the sender is not an exempt kind).
        self.exemption_lost = _exemption_lost(sender, self.advertiser, message)
        #: Whether the sender is outside the regulation for this message (R-EXEMPT).
        self.exempt = sender is not None and sender.kind.exempt and self.exemption_lost is None

    def with_text(self, text: str) -> MessageFacts:
        """The same facts for another text (a recipient's rendered message)."""
        return MessageFacts(
            self.sender,
            self.message,
            self.as_of,
            self.config,
            text=text,
            iys_pulled_at=self.iys_pulled_at,
            checked_at=self.checked_at,
        )

    @functools.cached_property
    def folded(self) -> str:
        """The folded text, padded with spaces so whole words match with ``" w " in``."""
        return f" {fold(self.text)} "

    def has_word(self, words: tuple[str, ...]) -> str | None:
        """The first of ``words`` (folded phrases) present as whole words, or ``None``."""
        folded = self.folded
        return next((w for w in words if f" {w} " in folded), None)

    @functools.cached_property
    def classification(self) -> Classification:
        """Whether the text reads as commercial, with the evidence (R-NOCONSENT)."""
        return classify(self.text, as_of=self.as_of, signals=self.config.signals)

    @functools.cached_property
    def promotion(self) -> str | None:
        """The promotion found (a discount, gift, contest …: the words matched), if any."""
        found = self.classification.promotion
        return None if found is None else found.matched

    @functools.cached_property
    def _numbers(self) -> list[str]:
        return _callable_numbers(unmarked_lower(self.text))

    @functools.cached_property
    def has_terms_pointer(self) -> bool:
        """Whether a link or a customer-service phone number is in the text."""
        return bool(_URL.search(self.text)) or any(
            sum(c.isdigit() for c in n) >= 7 for n in self._numbers
        )

    @functools.cached_property
    def has_contact(self) -> bool:
        """Whether the text gives any way to reach the sender: link, phone or short number."""
        return bool(_URL.search(self.text)) or bool(self._numbers)

    @functools.cached_property
    def has_opt_out(self) -> bool:
        """Whether the text tells how to opt out over SMS: an opt-out word and a number."""
        return self.has_word(self.config.opt_out_words) is not None and bool(self._numbers)

    @functools.cached_property
    def starts_with_identifier(self) -> bool:
        """Whether one of the identifier words opens the text (after an optional brand)."""
        words = self.folded.split()[:3]
        return any(w in self.config.identifier_words for w in words)

    @functools.cached_property
    def has_legacy_notice(self) -> bool:
        """Whether the text carries the notice owed to legacy (pre-2015) recipients."""
        return self.has_word(self.config.legacy_notice_phrases) is not None

    @functools.cached_property
    def iys_stale(self) -> str | None:
        """How the brand's İYS view is out of date (``None`` when it is fresh)."""
        if self.iys_pulled_at is None:
            return "the brand's changes on İYS have never been pulled"
        age = self.checked_at - self.iys_pulled_at
        if age <= self.config.iys_freshness:
            return None
        hours = age.total_seconds() / 3600
        return f"the brand's last İYS pull is {hours:.0f} h old"


def _exemption_lost(
    sender: Sender | None, advertiser: Sender | None, message: Message
) -> str | None:
    if sender is None or not sender.kind.exempt:
        return None
    if advertiser is not sender:
        return f"brand {message.brand} is another business's: not the sender's own services"
    needed = sender.kind.relation
    if needed is not None and message.relation is not needed:
        given = "none given" if message.relation is None else message.relation.value
        return f"the exemption covers {needed.value.replace('_', ' ')}s only ({given})"
    return None


@attrs.frozen
class RecipientFacts:
    """What is known of one recipient when a message is checked."""

    number: str = attrs.field(repr=mask)
    recipient_type: RecipientType = RecipientType.BIREYSEL
    consent: ConsentStatus | None = None
    consent_source: ConsentSource | None = None
    consent_date: datetime | None = None
    iys: IysRegistration = IysRegistration.UNKNOWN
    blacklisted: bool = False
    previously_messaged: bool = False
    #: Template fields this recipient has no value (and no fallback) for.
    missing_fields: tuple[str, ...] = ()
    #: The proof kept with the deciding consent event (``ConsentEvent.evidence``).
    consent_evidence: Mapping[str, str] = attrs.field(factory=dict, hash=False)


_make_facts = trusted(RecipientFacts)


def trusted_recipient_facts(
    number: str,
    recipient_type: RecipientType,
    consent: ConsentStatus | None,
    consent_source: ConsentSource | None,
    consent_date: datetime | None,
    iys: IysRegistration,
    blacklisted: bool,
    previously_messaged: bool,
    missing_fields: tuple[str, ...],
    consent_evidence: Mapping[str, str],
) -> RecipientFacts:
    """``RecipientFacts(...)`` with every field given, at half the cost: one per recipient
    of an audience, in the preflight. For the client's own use, not a public API.
    """
    return _make_facts(
        number,
        recipient_type,
        consent,
        consent_source,
        consent_date,
        iys,
        blacklisted,
        previously_messaged,
        missing_fields,
        consent_evidence,
    )


Check = Callable[[MessageFacts, RecipientFacts | None], str | None]


@attrs.frozen
class Rule:
    """One requirement of the regulation: its id, citation, confidence, dates and check.

    ``check`` returns ``None`` when the situation complies and a sentence saying
    what is wrong when it does not. ``valid_from``/``valid_to`` bound the dates
    on which the rule is in force (inclusive / exclusive).
    """

    id: str
    title: str
    severity: Severity
    scope: Scope
    citation: Citation
    confidence: Confidence
    check: Check = attrs.field(repr=False, eq=False)
    r_id: str = ""
    valid_from: date | None = None
    valid_to: date | None = None
    fix: str | None = None
    #: Whether the verdict can change between queueing and sending (an opt-out,
    #: the blacklist, İYS refusing a consent): such rules run again at dispatch.
    recheck: bool = False

    def in_force(self, day: date) -> bool:
        """Whether the rule applies on ``day``."""
        return (self.valid_from is None or day >= self.valid_from) and (
            self.valid_to is None or day < self.valid_to
        )


@attrs.frozen
class Finding:
    """A rule that a message or a recipient does not satisfy."""

    rule_id: str
    severity: Severity
    message: str
    citation: Citation
    confidence: Confidence
    recipient: str | None = attrs.field(default=None, repr=mask)
    fix: str | None = None

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready form."""
        return {
            "rule_id": self.rule_id,
            "severity": self.severity.value,
            "message": self.message,
            "citation": str(self.citation),
            "citation_summary": self.citation.summary,
            "citation_url": self.citation.url,
            "confidence": self.confidence.value,
            "recipient": self.recipient,
            "fix": self.fix,
        }
