"""Inbound opt-in / opt-out traffic: route, read, record, reply (SPEC F1–F3).

A text to one of the sender's numbers is routed by the receiving number to the
brands served there, read by the keyword parser, turned into consent events
with the message as evidence (source ``HS_MESAJ``), answered with the configured
auto reply, and kept — unknown texts included — for the consent report.

Each inbound message is handled exactly once, however often it is handed over:
it is recorded first (under an id derived from the provider's message id, or
from its content when the provider gives none), and a retry after a failure
resumes where the failed attempt stopped — the consent events and the auto reply
it already wrote are found, not written again. Any text a provider can deliver
is storable: NUL and lone surrogates are replaced (see :func:`storable_text`),
and the text as received is kept as evidence in an escaped form.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

import attrs

from isobil import phone
from isobil.consent._keywords import Intent, KeywordParser, ParsedInbound
from isobil.consent._ledger import ConsentLedger
from isobil.errors import ComplianceError, InsufficientCredits, InvalidValue, StorageError
from isobil.model import Brand, ConsentEvent, ConsentSource, ConsentStatus, RecipientType
from isobil.storage import InboundRecord, Storage

__all__ = [
    "AutoReplies",
    "InboundProcessor",
    "escape_text",
    "inbound_id",
    "route_key",
    "storable_text",
    "unescape_text",
]

log = logging.getLogger("isobil")

#: Code points no database keeps in text: NUL (PostgreSQL) and surrogates (UTF-8).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_ESCAPED = re.compile(r"\\(\\|u[0-9a-f]{4})")
#: How long one handler holds an inbound message before another may resume it.
INBOUND_LEASE = timedelta(minutes=2)


def storable_text(text: str) -> str:
    r"""``text`` as every storage keeps it: surrogate pairs joined, NUL and lone
    surrogates replaced with U+FFFD; any other text is returned unchanged.

    >>> storable_text("ACME RET \ud800\x00 \u200f😀") == "ACME RET \ufffd\ufffd \u200f😀"
    True
    """
    if _UNSTORABLE.search(text) is None:
        return text
    joined = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return joined.replace("\x00", "\ufffd")


def escape_text(text: str) -> str:
    r"""``text`` with each unstorable code point written ``\uXXXX`` and each backslash
    doubled: storable, and the exact original can be read back (:func:`unescape_text`).

    >>> print(escape_text("ACME RET \ud800\x00 \\ ğ"))
    ACME RET \ud800\u0000 \\ ğ
    """
    return _UNSTORABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text.replace("\\", "\\\\"))


def unescape_text(escaped: str) -> str:
    r"""The text :func:`escape_text` escaped.

    >>> unescape_text(escape_text("a\ud800\x00\\u0000")) == "a\ud800\x00\\u0000"
    True
    """

    def one(match: re.Match[str]) -> str:
        found = match.group(1)
        return "\\" if found == "\\" else chr(int(found[1:], 16))

    return _ESCAPED.sub(one, escaped)


def inbound_id(
    from_: str, to: str, text: str, received_at: datetime, provider_id: str | None
) -> str:
    """The id an inbound message is recorded under: the same for every copy of it.

    From the provider's message id when it gives one; otherwise from the content:
    sender, number, text and time of receipt (a provider that gives neither an id
    nor the time of receipt cannot have its retries told from new texts).
    """
    if provider_id is not None:
        parts = ["provider", provider_id]
    else:
        parts = ["content", from_, to, text, received_at.astimezone(UTC).isoformat()]
    key = "\x1f".join(escape_text(p) for p in parts)
    return "mo-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


@attrs.frozen
class AutoReplies:
    """The texts sent back automatically; ``None`` sends nothing for that case.

    Placeholders: ``{brand}`` (the brand code, or several joined by ", "),
    ``{number}`` (the number the recipient wrote to) and, in ``confirmation``,
    ``{date}`` (the consent date, dd.mm.yyyy in Istanbul). The defaults are
    Turkish; ``confirmation`` is the same-day notice the regulation requires
    when consent is taken electronically (R-CONSENT), with an opt-out.
    """

    opt_in: str | None = (
        "{brand} ticari ileti onayınız alındı. Ret için {brand} RET yazıp {number} "
        "numarasına ücretsiz gönderebilirsiniz."
    )
    opt_out: str | None = (
        "{brand} ticari ileti ret talebiniz alındı. Bundan sonra {brand} ticari iletisi "
        "almayacaksınız."
    )
    help: str | None = (
        "{brand}: onay için {brand}, ret için {brand} RET yazıp {number} numarasına "
        "ücretsiz gönderin."
    )
    unknown: str | None = None
    confirmation: str | None = (
        "{brand} ticari elektronik ileti onayınız {date} tarihinde kaydedildi. Ret için "
        "{brand} RET yazıp {number} numarasına ücretsiz gönderin."
    )

    def for_intent(self, intent: Intent) -> str | None:
        """The template answering a parsed intent."""
        return {
            Intent.OPT_IN: self.opt_in,
            Intent.OPT_OUT: self.opt_out,
            Intent.OPT_OUT_ALL: self.opt_out,
            Intent.HELP: self.help,
            Intent.UNKNOWN: self.unknown,
        }[intent]


def route_key(number: str) -> str:
    """The key a receiving number is routed by: short numbers as digits, others as E.164."""
    digits = "".join(c for c in number if c.isdigit())
    if 3 <= len(digits) <= 6:
        return digits
    try:
        return phone.normalize(number)
    except InvalidValue:
        return digits


class ReplySender(Protocol):
    """Sends an auto reply ``text`` to ``number`` (E.164) for ``brand``; returns its
    message id. ``message_id`` is the id to record the reply under (so that a retry
    finds it instead of sending another)."""

    def __call__(
        self, number: str, text: str, brand: str, /, *, message_id: str | None = None
    ) -> str | None: ...


def _utcnow() -> datetime:
    return datetime.now(UTC)


class InboundProcessor:
    """Turns inbound texts into consent events, replies and records.

    ``routes`` maps each receiving number (short number, or a long number in
    any shape) to the brands served on it. A text to a number that is not
    routed is read against every brand, so an opt-out is never lost.
    A sender's contact book says whether a number belongs to a merchant
    (TACIR); others are recorded as individuals (BIREYSEL). ``parser_factory``
    builds the keyword parser of each number from its brands (pass a
    ``functools.partial(KeywordParser, opt_out_words=…)`` to change the words).
    """

    def __init__(
        self,
        ledger: ConsentLedger,
        storage: Storage,
        routes: Mapping[str, Sequence[Brand]],
        *,
        send_reply: ReplySender,
        replies: AutoReplies | None = None,
        parser_factory: Callable[[Sequence[Brand]], KeywordParser] = KeywordParser,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.ledger = ledger
        self.storage = storage
        self.replies = replies or AutoReplies()
        self.send_reply = send_reply
        self.clock = clock
        self._parsers = {
            route_key(number): parser_factory(list(brands)) for number, brands in routes.items()
        }
        everyone = {b.code: b for brands in routes.values() for b in brands}
        self._fallback = parser_factory(list(everyone.values()))
        self._brands_on = {
            route_key(number): [b.code for b in brands] for number, brands in routes.items()
        }
        self._all_brands = list(everyone)

    def handle(
        self,
        from_: str,
        to: str,
        text: str,
        *,
        received_at: datetime | None = None,
        provider_id: str | None = None,
    ) -> InboundRecord:
        """Process one inbound text; return what was recorded (for a copy of a text
        handled before, what was recorded then)."""
        received = received_at or self.clock()
        done = self.handle_new(from_, to, text, received_at=received, provider_id=provider_id)
        if done is not None:
            return done
        found = self.storage.get_inbound(inbound_id(from_, to, text, received, provider_id))
        if found is None:  # pragma: no cover - handle_new answers None only for a kept one
            raise StorageError("an inbound message handled before is not in storage")
        return found

    def handle_new(
        self,
        from_: str,
        to: str,
        text: str,
        *,
        received_at: datetime | None = None,
        provider_id: str | None = None,
    ) -> InboundRecord | None:
        """Process one inbound text unless it was handled before (then ``None``).

        The message is recorded first, then its consent events, then its auto
        reply, then marked handled. A retry of a message whose handling failed
        part-way resumes it: what was written is found, nothing is done twice.
        While one handler holds it, another copy raises :class:`StorageError`
        (a provider's push is answered 503 and sent again later).
        """
        received = received_at or self.clock()
        key = inbound_id(from_, to, text, received, provider_id)
        found = self.storage.get_inbound(key)
        if found is not None and found.handled_at is not None:
            return None
        if found is None and provider_id is not None and self.storage.inbound_seen([provider_id]):
            return None  # kept before its id was derived from the provider's (revision 0007)
        lease = f"inbound:{key}"
        if not self.storage.mark_seen(lease, self.clock() + INBOUND_LEASE):
            raise StorageError(f"inbound message {key} is being handled elsewhere; try again later")
        try:
            found = self.storage.get_inbound(key)
            if found is not None and found.handled_at is not None:
                return None
            return self._handle(key, found, from_, to, text, received, provider_id)
        except BaseException:
            # Let the retry resume at once rather than when the lease expires.
            with contextlib.suppress(Exception):
                self.storage.unmark_seen(lease)
            raise

    def _handle(
        self,
        key: str,
        found: InboundRecord | None,
        from_: str,
        to: str,
        received_text: str,
        received: datetime,
        provider_id: str | None,
    ) -> InboundRecord:
        text = storable_text(received_text)
        route = route_key(to)
        parser = self._parsers.get(route, self._fallback)
        if route not in self._parsers:
            log.warning(
                "isobil: inbound text to unrouted number %s read against all brands",
                storable_text(to),
            )
        parsed = parser.parse(text)
        if found is None:
            found = InboundRecord(
                id=key,
                from_=storable_text(from_),
                to=storable_text(to),
                text=text,
                received_at=received,
                intent=parsed.intent.value,
                brand=parsed.brand,
                keyword=parsed.keyword,
                provider_id=None if provider_id is None else storable_text(provider_id),
                raw_text=None if text == received_text else escape_text(received_text),
            )
            # Kept before anything is done about it: a retry finds it and resumes.
            self.storage.record_inbound(found)
            stored = []
        else:
            # A retry after a failure: the events the failed attempt wrote carry its id.
            stored = [
                e
                for e in self.storage.iter_consent_events(address=found.from_)
                if e.evidence.get("inbound_id") == key
            ]
        if not stored:
            events = self._consent_events(found, parsed, route)
            stored = self.ledger.append(events) if events else []
        brands = [e.brand for e in stored] or (
            [parsed.brand] if parsed.brand else self._brands_on.get(route, self._all_brands)
        )
        reply_id = self._reply(found, parsed, brands)
        done = attrs.evolve(
            found,
            consent_seqs=tuple(e.seq for e in stored if e.seq is not None),
            reply_id=reply_id,
            handled_at=self.clock(),
        )
        self.storage.finish_inbound(done)
        return done

    def _consent_events(
        self, record: InboundRecord, parsed: ParsedInbound, key: str
    ) -> list[ConsentEvent]:
        if parsed.intent in (Intent.OPT_IN, Intent.OPT_OUT) and parsed.brand is not None:
            brands = [parsed.brand]
        elif parsed.intent is Intent.OPT_OUT_ALL:
            brands = self._brands_on.get(key, self._all_brands)
        else:
            return []
        status = ConsentStatus.ONAY if parsed.intent is Intent.OPT_IN else ConsentStatus.RET
        contact = self.storage.get_contacts([record.from_]).get(record.from_)
        recipient_type = contact.recipient_type if contact else RecipientType.BIREYSEL
        evidence = {"inbound_id": record.id, "text": record.text, "to": record.to}
        if record.raw_text is not None:
            evidence["raw_text"] = record.raw_text
        if record.provider_id is not None:
            evidence["provider_id"] = record.provider_id
        now = self.clock()
        return [
            ConsentEvent(
                address=record.from_,
                status=status,
                source=ConsentSource.HS_MESAJ,
                brand=brand,
                # A provider's clock ahead of ours must not lose the opt-out.
                consent_date=min(record.received_at, now),
                recorded_at=now,
                recipient_type=recipient_type,
                evidence=evidence,
            )
            for brand in brands
        ]

    def _reply(self, record: InboundRecord, parsed: ParsedInbound, brands: list[str]) -> str | None:
        template = self.replies.for_intent(parsed.intent)
        if template is None:
            return None
        # The reply is recorded under an id of its own message: a retry finds it.
        message_id = f"{record.id}-reply"
        if self.storage.get_message(message_id) is not None:
            return message_id
        text = template.format(brand=", ".join(brands), number=record.to, date="")
        try:
            return self.send_reply(
                record.from_, text, brands[0] if brands else "", message_id=message_id
            )
        except (ComplianceError, InsufficientCredits) as exc:
            # Refused for good, not failed: trying again would not send it either.
            log.warning("isobil: auto reply to %s refused: %s", phone.mask(record.from_), exc)
            return None
