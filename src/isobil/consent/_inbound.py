"""Inbound opt-in / opt-out traffic: route, read, record, reply (SPEC F1–F3).

A text to one of the sender's numbers is routed by the receiving number to the
brands served there, read by the keyword parser, turned into consent events
with the message as evidence (source ``HS_MESAJ``), answered with the configured
auto reply, and kept — unknown texts included — for the consent report.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

import attrs

from isobil import phone
from isobil.consent._keywords import Intent, KeywordParser, ParsedInbound
from isobil.consent._ledger import ConsentLedger
from isobil.errors import InvalidValue
from isobil.model import Brand, ConsentEvent, ConsentSource, ConsentStatus, RecipientType
from isobil.storage import InboundRecord, Storage

__all__ = ["AutoReplies", "InboundProcessor", "route_key"]

log = logging.getLogger("isobil")


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


#: Sends an auto reply ``text`` to ``number`` (E.164) from our number; returns its message id.
ReplySender = Callable[[str, str, str], str | None]


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
        """Process one inbound text; return what was recorded."""
        received = received_at or self.clock()
        key = route_key(to)
        parser = self._parsers.get(key, self._fallback)
        if key not in self._parsers:
            log.warning("isobil: inbound text to unrouted number %s read against all brands", to)
        parsed = parser.parse(text)
        inbound_id = uuid.uuid4().hex
        events = self._consent_events(
            from_, to, text, parsed, key, received, inbound_id, provider_id
        )
        stored = self.ledger.append(events) if events else []
        brands = [e.brand for e in events] or (
            [parsed.brand] if parsed.brand else self._brands_on.get(key, self._all_brands)
        )
        reply_id = self._reply(from_, to, parsed, brands)
        record = InboundRecord(
            id=inbound_id,
            from_=from_,
            to=to,
            text=text,
            received_at=received,
            intent=parsed.intent.value,
            brand=parsed.brand,
            keyword=parsed.keyword,
            consent_seqs=tuple(e.seq for e in stored if e.seq is not None),
            reply_id=reply_id,
            provider_id=provider_id,
        )
        self.storage.record_inbound(record)
        return record

    def _consent_events(
        self,
        from_: str,
        to: str,
        text: str,
        parsed: ParsedInbound,
        key: str,
        received: datetime,
        inbound_id: str,
        provider_id: str | None,
    ) -> list[ConsentEvent]:
        if parsed.intent in (Intent.OPT_IN, Intent.OPT_OUT) and parsed.brand is not None:
            brands = [parsed.brand]
        elif parsed.intent is Intent.OPT_OUT_ALL:
            brands = self._brands_on.get(key, self._all_brands)
        else:
            return []
        status = ConsentStatus.ONAY if parsed.intent is Intent.OPT_IN else ConsentStatus.RET
        contact = self.storage.get_contacts([from_]).get(from_)
        recipient_type = contact.recipient_type if contact else RecipientType.BIREYSEL
        evidence = {"inbound_id": inbound_id, "text": text, "to": to}
        if provider_id is not None:
            evidence["provider_id"] = provider_id
        now = self.clock()
        return [
            ConsentEvent(
                address=from_,
                status=status,
                source=ConsentSource.HS_MESAJ,
                brand=brand,
                consent_date=received,
                recorded_at=now,
                recipient_type=recipient_type,
                evidence=evidence,
            )
            for brand in brands
        ]

    def _reply(self, from_: str, to: str, parsed: ParsedInbound, brands: list[str]) -> str | None:
        template = self.replies.for_intent(parsed.intent)
        if template is None:
            return None
        text = template.format(brand=", ".join(brands), number=to, date="")
        return self.send_reply(from_, text, brands[0] if brands else "")
