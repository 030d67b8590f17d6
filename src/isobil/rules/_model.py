"""What a rule is, what it looks at, and what it finds."""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Callable
from datetime import date, datetime

import attrs

from isobil._text import fold
from isobil.model import (
    ConsentSource,
    ConsentStatus,
    Message,
    MessageCategory,
    RecipientType,
    Sender,
)

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
    """The words and patterns content rules look for (folded, see ``isobil._text.fold``)."""

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
    #: Words that make a text a promotion (R-CONTENT 5, R-NOCONSENT 2).
    promotion_words: tuple[str, ...] = (
        "indirim",
        "indirimli",
        "kampanya",
        "kampanyasi",
        "hediye",
        "yarisma",
        "cekilis",
        "firsat",
        "firsati",
        "kupon",
        "bedava",
        "ucretsiz kargo",
        "ozel fiyat",
        "kazan",
        "kazanin",
        "puan",
        "promosyon",
        "sezon",
        "son gun",
        "outlet",
    )
    #: Words that, with a number, make an opt-out instruction (R-OPTOUT).
    opt_out_words: tuple[str, ...] = ("ret", "red", "iptal", "stop")
    #: Phrases of the notice legacy (HS_2015) recipients must get first (R-LEGACY).
    legacy_notice_phrases: tuple[str, ...] = (
        "veri tabanimizda",
        "veritabanimizda",
        "kayitli oldugunuz",
        "listemizde",
        "iletisim bilgileriniz",
    )


_URL = re.compile(r"(https?://|www\.|\b[a-z0-9-]+\.(com|net|org|tr|io|co|shop|store)\b)", re.I)
# A customer-service line: 7+ digits, allowing the separators people write (444 12 34,
# 0850 123 45 67). Short numbers (4605) are opt-out lines, not where terms are read.
_SERVICE_NUMBER = re.compile(r"(?<![\d])\d(?:[\s().-]?\d){6,}(?![\d])")
_SHORT_NUMBER = re.compile(r"(?<![\d])\d{3,6}(?![\d])")
_PERCENT = re.compile(r"%\s?\d|\d\s?%")


class MessageFacts:
    """A message as the rules see it, with derived text features computed once.

    ``text`` is what goes out (a rendered template, or the plain text).
    """

    def __init__(
        self,
        sender: Sender | None,
        message: Message,
        as_of: date,
        config: RulesConfig,
        *,
        text: str | None = None,
    ) -> None:
        self.sender = sender
        self.message = message
        self.text = message.text if text is None else text
        self.as_of = as_of
        self.config = config
        #: Whether the message is commercial (needs consent; content rules apply).
        self.commercial = message.category is MessageCategory.COMMERCIAL
        #: Whether the sender is outside the regulation (R-EXEMPT).
        self.exempt = sender is not None and sender.kind.exempt

    @functools.cached_property
    def folded(self) -> str:
        """The folded text, padded with spaces so whole words match with ``" w " in``."""
        return f" {fold(self.text)} "

    def has_word(self, words: tuple[str, ...]) -> str | None:
        """The first of ``words`` (folded phrases) present as whole words, or ``None``."""
        folded = self.folded
        return next((w for w in words if f" {w} " in folded), None)

    @functools.cached_property
    def promotion(self) -> str | None:
        """The promotional word found (or ``"%"`` for a percentage), if any."""
        if _PERCENT.search(self.text):
            return "%"
        return self.has_word(self.config.promotion_words)

    @functools.cached_property
    def has_terms_pointer(self) -> bool:
        """Whether a link or a customer-service number (7+ digits) is in the text."""
        return bool(_URL.search(self.text) or _SERVICE_NUMBER.search(self.text))

    @functools.cached_property
    def has_contact(self) -> bool:
        """Whether the text gives any way to reach the sender: link, phone or short number."""
        return self.has_terms_pointer or bool(_SHORT_NUMBER.search(self.text))

    @functools.cached_property
    def has_opt_out(self) -> bool:
        """Whether the text tells how to opt out over SMS: an opt-out word and a number."""
        return self.has_word(self.config.opt_out_words) is not None and bool(
            _SHORT_NUMBER.search(self.text) or _SERVICE_NUMBER.search(self.text)
        )

    @functools.cached_property
    def starts_with_identifier(self) -> bool:
        """Whether one of the identifier words opens the text (after an optional brand)."""
        words = self.folded.split()[:3]
        return any(w in self.config.identifier_words for w in words)

    @functools.cached_property
    def has_legacy_notice(self) -> bool:
        """Whether the text carries the notice owed to legacy (pre-2015) recipients."""
        return self.has_word(self.config.legacy_notice_phrases) is not None


@attrs.frozen
class RecipientFacts:
    """What is known of one recipient when a message is checked."""

    number: str
    recipient_type: RecipientType = RecipientType.BIREYSEL
    consent: ConsentStatus | None = None
    consent_source: ConsentSource | None = None
    consent_date: datetime | None = None
    iys: IysRegistration = IysRegistration.UNKNOWN
    blacklisted: bool = False
    previously_messaged: bool = False
    #: Template fields this recipient has no value (and no fallback) for.
    missing_fields: tuple[str, ...] = ()


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
    recipient: str | None = None
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
