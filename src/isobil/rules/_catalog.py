"""The regulation as rules: one entry per requirement, with its citation and confidence.

Sources and confidence marks follow SPEC §2: [V] primary text seen, [S] secondary
sources agree, [U] unverified. "Law" is Law 6563 (RG 05.11.2014 no. 29166, in force
2015-05-01); "Regulation" is the Regulation on Commercial Communication and
Commercial Electronic Messages (RG 15.07.2015 no. 29417, amended RG 04.01.2020
no. 30998 and RG 28.08.2020 no. 31227).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime

from isobil._time import ISTANBUL
from isobil.model import ConsentSource, ConsentStatus, RecipientType, SenderKind
from isobil.rules._classifier import Verdict
from isobil.rules._model import (
    Check,
    Citation,
    Confidence,
    IysRegistration,
    MessageFacts,
    RecipientFacts,
    Rule,
    Scope,
    Severity,
)

__all__ = [
    "DEFAULT_RULES",
    "HISTORY_READERS",
    "IYS_IN_FORCE",
    "LAW_IN_FORCE",
    "LEGACY_CUTOFF",
    "REG_IN_FORCE",
    "proof_missing",
]

LAW = "Law 6563"
REG = "Regulation 29417"
LAW_URL = "https://www.mevzuat.gov.tr/mevzuat?MevzuatNo=6563&MevzuatTur=1&MevzuatTertip=5"
REG_URL = "https://www.mevzuat.gov.tr/mevzuat?MevzuatNo=20941&MevzuatTur=7&MevzuatTertip=5"


def _turkish_date(moment: datetime) -> date:
    """The day ``moment`` fell on in Turkey (a consent given at 00:30 on 1 May in
    İstanbul is stored as 21:30 UTC on 30 April); a naive ``moment`` is taken as
    Turkish time, whatever the machine's zone."""
    return moment.astimezone(ISTANBUL).date() if moment.tzinfo is not None else moment.date()


#: Law 6563 entered into force on this day.
LAW_IN_FORCE = date(2015, 5, 1)
#: The Regulation entered into force on its publication (RG 15.07.2015 no. 29417).
REG_IN_FORCE = date(2015, 7, 15)
#: Contact details collected before this day during a sale count as consented (R-LEGACY).
LEGACY_CUTOFF = date(2015, 5, 1)
#: From this day commercial messages need consent registered in İYS: the day after the
#: recipient-check deadline of the 2020 migration for large senders (more than 150,000
#: consents: 15 Feb 2021). Smaller senders followed after 15 Jul 2021.
IYS_IN_FORCE = date(2021, 2, 16)
IYS_IN_FORCE_SMALL = date(2021, 7, 16)
#: After the migration's upload deadline (31 Dec 2020 for large senders, 31 May 2021
#: for the others) only legacy consents uploaded to İYS remain.
LEGACY_IYS_DEADLINE = date(2021, 1, 1)
LEGACY_IYS_DEADLINE_SMALL = date(2021, 6, 1)
#: Sources whose proof is with someone else: İYS itself, or the 2015 transition.
_PROOF_ELSEWHERE = frozenset(s for s in ConsentSource if s.from_iys or s is ConsentSource.HS_2015)
#: Electronic sources where a form with a tick box is the usual way consent is taken.
_TICK_BOX_SOURCES = frozenset(
    (ConsentSource.HS_WEB, ConsentSource.HS_MOBIL, ConsentSource.HS_EORTAM, ConsentSource.HS_ATM)
)
_PAPER_SOURCES = frozenset((ConsentSource.HS_ISLAK_IMZA, ConsentSource.HS_FIZIKSEL_ORTAM))


def _iys_in_force(m: MessageFacts) -> bool:
    large = m.sender is not None and m.sender.large_sender
    return m.as_of >= (IYS_IN_FORCE if large else IYS_IN_FORCE_SMALL)


def _consent_needed(m: MessageFacts) -> bool:
    """Whether message ``m`` needs its recipients' consent (commercial, not exempt)."""
    return m.commercial and not m.exempt


def _needs_consent(m: MessageFacts, r: RecipientFacts | None) -> bool:
    return r is not None and _consent_needed(m)


def _sender_exempt(m: MessageFacts, r: RecipientFacts | None) -> str | None:
    if m.sender is None or not m.sender.kind.exempt:
        return None
    kind = m.sender.kind.value.replace("_", " ")
    if m.exemption_lost is not None:
        return f"the sender ({kind}) is not exempt here: {m.exemption_lost}; the rules apply"
    return (
        f"the sender ({kind}) writes about its own services to those its exemption "
        "covers: consent and content rules do not apply"
    )


def _notice_is_commercial(m: MessageFacts, r: RecipientFacts | None) -> str | None:
    if m.commercial or m.exempt or m.classification.verdict is not Verdict.COMMERCIAL:
        return None
    return (
        f"an {m.message.category.value.replace('_', ' ')} message reads as commercial "
        f"({m.classification.explain()}): sending it without consent is sending a "
        "commercial message without consent"
    )


def _notice_may_be_commercial(m: MessageFacts, r: RecipientFacts | None) -> str | None:
    if m.commercial or m.exempt or m.classification.verdict is not Verdict.AMBIGUOUS:
        return None
    return (
        f"the {m.message.category.value.replace('_', ' ')} message may be commercial "
        f"({m.classification.explain()}); a person should judge it"
    )


def _no_consent(m: MessageFacts, r: RecipientFacts | None) -> str | None:
    if r is None or not _needs_consent(m, r):
        return None
    if r.recipient_type is RecipientType.TACIR or r.consent is not None:
        return None  # merchants need no prior consent; a RET is TR-OPTOUT-001's
    return f"no consent (ONAY) on record for {m.message.brand or 'this sender'}"


def _opted_out(m: MessageFacts, r: RecipientFacts | None) -> str | None:
    if r is None or not _needs_consent(m, r) or r.consent is not ConsentStatus.RET:
        return None
    day = _turkish_date(r.consent_date).isoformat() if r.consent_date else "an earlier date"
    where = " on İYS" if r.consent_source and r.consent_source.from_iys else ""
    return f"the recipient opted out (RET){where} on {day}"


def _has_consent(m: MessageFacts, r: RecipientFacts | None) -> bool:
    return r is not None and _needs_consent(m, r) and r.consent is ConsentStatus.ONAY


def _iys_refused(m: MessageFacts, r: RecipientFacts | None) -> str | None:
    if r is None or not _has_consent(m, r) or not _iys_in_force(m):
        return None
    if r.iys is IysRegistration.NOT_REGISTERED:
        return "the consent is not registered in İYS (İYS refused it)"
    return None


def _iys_unknown(m: MessageFacts, r: RecipientFacts | None) -> str | None:
    if r is None or not _has_consent(m, r) or not _iys_in_force(m):
        return None
    if r.iys is IysRegistration.UNKNOWN and r.consent_source is not ConsentSource.HS_2015:
        return "whether the consent is registered in İYS is not known"
    return None


def _iys_stale(m: MessageFacts, r: RecipientFacts | None) -> str | None:
    if r is None or not _has_consent(m, r) or not _iys_in_force(m):
        return None
    if r.recipient_type is not RecipientType.BIREYSEL:
        return None
    stale = m.iys_stale
    if stale is None:
        return None
    return f"{stale}: a RET given on İYS since would not be seen"


def proof_missing(source: ConsentSource | None, evidence: Mapping[str, str]) -> tuple[str, ...]:
    """The elements of a valid consent its proof does not show (Reg. art. 7).

    Keys of ``ConsentEvent.evidence``: ``name`` (the recipient's name and
    surname), ``statement`` (the positive statement, e.g. the tick-box label or
    the SMS text; ``text`` is read too), ``signature`` or ``document`` for paper,
    and for tick-box forms ``pre_ticked`` and ``condition_of_sale`` set to
    ``"no"``. Channel and date are on the event itself. Consents pulled from
    İYS and 2015 transition consents have their proof elsewhere: nothing missing.
    """
    if source is None or source in _PROOF_ELSEWHERE:
        return ()
    missing = []
    if not evidence.get("name", "").strip():
        missing.append("name and surname")
    if not (evidence.get("statement") or evidence.get("text") or "").strip():
        missing.append("the positive statement")
    if source in _PAPER_SOURCES and not (evidence.get("signature") or evidence.get("document")):
        missing.append("the signature (or signed document)")
    if source in _TICK_BOX_SOURCES:
        if evidence.get("pre_ticked", "").strip().lower() not in ("no", "false", "hayir"):
            missing.append("that the box was not pre-ticked")
        if evidence.get("condition_of_sale", "").strip().lower() not in ("no", "false", "hayir"):
            missing.append("that consent was not a condition of the sale")
    return tuple(missing)


def _proof_incomplete(m: MessageFacts, r: RecipientFacts | None) -> str | None:
    if r is None or not _has_consent(m, r):
        return None
    missing = proof_missing(r.consent_source, r.consent_evidence)
    if not missing:
        return None
    return f"the consent's proof does not show {', '.join(missing)}"


def _legacy_notice(m: MessageFacts, r: RecipientFacts | None) -> str | None:
    if r is None or not _has_consent(m, r):
        return None
    if r.consent_source is not ConsentSource.HS_2015 or r.previously_messaged:
        return None
    if m.has_legacy_notice:
        return None
    return (
        "the first message to a legacy (HS_2015) recipient must say that they are in the "
        "sender's database and how to opt out"
    )


def _legacy_history(m: MessageFacts) -> frozenset[ConsentSource]:
    """Whose ``previously_messaged`` :func:`_legacy_notice` reads for message ``m``."""
    if not _consent_needed(m) or m.has_legacy_notice:
        return frozenset()
    return frozenset((ConsentSource.HS_2015,))


#: isobil's checks that read a recipient's ``previously_messaged``: for a message, the
#: consent sources of the recipients they read it of (the others never read it).
HISTORY_READERS: Mapping[Check, Callable[[MessageFacts], frozenset[ConsentSource]]] = {
    _legacy_notice: _legacy_history,
}


def _legacy_not_in_iys(m: MessageFacts, r: RecipientFacts | None) -> str | None:
    if r is None or not _has_consent(m, r) or r.consent_source is not ConsentSource.HS_2015:
        return None
    large = m.sender is not None and m.sender.large_sender
    if m.as_of < (LEGACY_IYS_DEADLINE if large else LEGACY_IYS_DEADLINE_SMALL):
        return None
    if r.iys is not IysRegistration.REGISTERED:
        return "a legacy (HS_2015) consent is valid only if it was uploaded to İYS"
    return None


def _legacy_too_late(m: MessageFacts, r: RecipientFacts | None) -> str | None:
    if r is None or not _has_consent(m, r) or r.consent_source is not ConsentSource.HS_2015:
        return None
    if r.consent_date is None or (day := _turkish_date(r.consent_date)) < LEGACY_CUTOFF:
        return None
    return (
        f"a legacy (HS_2015) consent must come from before {LEGACY_CUTOFF.isoformat()}; "
        f"this one is dated {day.isoformat()}"
    )


def _missing_fields(m: MessageFacts, r: RecipientFacts | None) -> str | None:
    if r is None or not r.missing_fields:
        return None
    names = ", ".join("{" + f + "}" for f in r.missing_fields)
    return f"no value and no fallback for {names}: the placeholder would be sent literally"


def _blacklisted(m: MessageFacts, r: RecipientFacts | None) -> str | None:
    if r is not None and r.blacklisted:
        return "the number is on the sender's blacklist"
    return None


def _no_opt_out(m: MessageFacts, r: RecipientFacts | None) -> str | None:
    if not m.commercial or m.exempt or m.has_opt_out:
        return None
    hint = m.sender.opt_out_text(m.message.brand) if m.sender else None
    example = f" such as {hint!r}" if hint else ""
    return f"no opt-out instruction over SMS (an opt-out word and a number){example}"


def _brand_unclear(m: MessageFacts, r: RecipientFacts | None) -> str | None:
    if not m.commercial or m.exempt or m.sender is None:
        return None
    own = [b.code for b in m.sender.brands]
    codes = [b.code for b in m.sender.all_brands]
    brand = m.message.brand
    if brand is None and len(own) != 1:
        known = ", ".join(own) or "none configured"
        return f"a commercial message must name the brand its consent was given for ({known})"
    if brand is not None and brand not in codes:
        return f"brand {brand} is not one of the sender's brands ({', '.join(codes) or 'none'})"
    return None


def _identity(m: MessageFacts, r: RecipientFacts | None) -> str | None:
    if not m.commercial or m.exempt:
        return None
    who = m.advertiser
    if who is None:
        return "no sender is configured: trade name and MERSİS number (or name and TCKN) needed"
    sender = m.sender
    behalf = "" if sender is None or who is sender else f" (sent on its behalf by {sender.name})"
    if who.kind is SenderKind.SOLE_TRADER:
        return None if who.tckn else f"a sole trader must give name, surname and TCKN{behalf}"
    return None if who.mersis else f"{who.name} has no MERSİS number configured{behalf}"


def _contact(m: MessageFacts, r: RecipientFacts | None) -> str | None:
    if not m.commercial or m.exempt:
        return None
    who = m.advertiser
    if who is not None and (who.contact or who.short_number):
        return None
    if m.has_contact:
        return None
    return "no contact point (phone, short number, e-mail or URL) for the sender"


def _identifier_word(m: MessageFacts, r: RecipientFacts | None) -> str | None:
    if not m.commercial or m.exempt or m.starts_with_identifier:
        return None
    words = ", ".join(w.upper() for w in m.config.identifier_words[:4])
    return f"the text does not open with an identifier word ({words} …)"


def _promotion_terms(m: MessageFacts, r: RecipientFacts | None) -> str | None:
    if not m.commercial or m.exempt or m.promotion is None or m.has_terms_pointer:
        return None
    return (
        f"the text promotes ({m.promotion!r}) but gives no link or customer-service number "
        "where the terms can be read"
    )


DEFAULT_RULES: tuple[Rule, ...] = (
    Rule(
        id="TR-EXEMPT-001",
        r_id="R-EXEMPT",
        title="Exempt sender, within its exemption",
        severity=Severity.INFO,
        scope=Scope.MESSAGE,
        citation=Citation(
            REG,
            "2",
            "Outside the Regulation: operators to their subscribers about only their own goods "
            "and services; foundation universities to their students and parents; professional "
            "bodies, public-benefit associations and tax-exempt foundations to their members "
            "about their own activities; broadcasters informing the public; public bodies "
            "informing the public. Outside that scope the rules apply as to anyone.",
            paragraph="2",
            url=REG_URL,
        ),
        confidence=Confidence.VERIFIED,
        check=_sender_exempt,
        valid_from=REG_IN_FORCE,
        fix="Give Message(relation=...) for the recipients the exemption covers; a message "
        "for another business's brand is never exempt.",
    ),
    Rule(
        id="TR-NOCONSENT-001",
        r_id="R-NOCONSENT",
        title="Commercial content in a message sent without consent",
        severity=Severity.ERROR,
        scope=Scope.MESSAGE,
        citation=Citation(
            REG,
            "6",
            "Messages that need no consent (change, use or maintenance; ongoing subscription, "
            "membership, collection, debt, delivery and similar notices; legal obligations) "
            "lose that exception when they promote: such a message is a commercial message "
            "sent without consent.",
            url=REG_URL,
        ),
        confidence=Confidence.SECONDARY,
        check=_notice_is_commercial,
        valid_from=REG_IN_FORCE,
        fix="Remove the promotion or greeting, or send the message as commercial to "
        "consenting recipients.",
    ),
    Rule(
        id="TR-NOCONSENT-002",
        r_id="R-NOCONSENT",
        title="Possibly commercial content in a message sent without consent",
        severity=Severity.WARNING,
        scope=Scope.MESSAGE,
        citation=Citation(
            REG,
            "6",
            "Informational and legally required messages must not promote goods or services; "
            "the text has signals both ways and needs a person's judgement.",
            url=REG_URL,
        ),
        confidence=Confidence.SECONDARY,
        check=_notice_may_be_commercial,
        valid_from=REG_IN_FORCE,
        fix="Read the evidence in the finding; acknowledge TR-NOCONSENT-002 if the text only "
        "informs, or send it as commercial.",
    ),
    Rule(
        id="TR-CONSENT-001",
        r_id="R-CONSENT",
        title="Commercial message without consent",
        severity=Severity.ERROR,
        scope=Scope.RECIPIENT,
        citation=Citation(
            LAW,
            "6",
            "Commercial electronic messages may be sent only with the recipient's prior "
            "consent; merchants and tradesmen are the exception (art. 6(2)).",
            paragraph="1",
            url=LAW_URL,
        ),
        confidence=Confidence.VERIFIED,
        check=_no_consent,
        valid_from=LAW_IN_FORCE,
        fix="Record the recipient's consent (client.consent.record) or mark them TACIR.",
    ),
    Rule(
        id="TR-CONSENT-002",
        r_id="R-CONSENT",
        title="Consent not registered in İYS",
        severity=Severity.ERROR,
        scope=Scope.RECIPIENT,
        citation=Citation(
            REG,
            "5",
            "No commercial message may go to a recipient whose consent is not on İYS (as "
            "amended RG 04.01.2020; in force 16.01.2021, recipient checks 15.02.2021 for "
            "senders with more than 150,000 consents and 15.07.2021 for the others).",
            paragraph="3",
            url=REG_URL,
        ),
        confidence=Confidence.VERIFIED,
        check=_iys_refused,
        valid_from=IYS_IN_FORCE,
        fix="Correct the consent and register it in İYS again.",
        recheck=True,
    ),
    Rule(
        id="TR-CONSENT-003",
        r_id="R-CONSENT",
        title="İYS registration unknown",
        severity=Severity.WARNING,
        scope=Scope.RECIPIENT,
        citation=Citation(
            REG,
            "5",
            "No commercial message may go to a recipient whose consent is not on İYS; "
            "consents the sender collects must reach İYS within 3 business days (that duty's "
            "article is not confirmed).",
            paragraph="3",
            url=REG_URL,
        ),
        confidence=Confidence.SECONDARY,
        check=_iys_unknown,
        valid_from=IYS_IN_FORCE,
        fix="Run the İYS sync (push the consent, then poll its batch), or acknowledge "
        "TR-CONSENT-003 if İYS is checked elsewhere (e.g. by your provider's İYS filter).",
    ),
    Rule(
        id="TR-CONSENT-004",
        r_id="R-CONSENT",
        title="Consent proof incomplete",
        severity=Severity.WARNING,
        scope=Scope.RECIPIENT,
        citation=Citation(
            REG,
            "7",
            "A consent shows a positive statement, the recipient's name and surname and "
            "contact address (and a signature on paper); it is not pre-ticked; the sender "
            "bears the burden of proof.",
            url=REG_URL,
        ),
        confidence=Confidence.SECONDARY,
        check=_proof_incomplete,
        valid_from=REG_IN_FORCE,
        fix="Keep the proof with the consent: evidence={'name': ..., 'statement': ..., "
        "'pre_ticked': 'no', 'condition_of_sale': 'no'}; or acknowledge TR-CONSENT-004.",
    ),
    Rule(
        id="TR-CONSENT-006",
        r_id="R-CONSENT",
        title="İYS state not current",
        severity=Severity.WARNING,
        scope=Scope.RECIPIENT,
        citation=Citation(
            REG,
            "5",
            "No commercial message may go to a recipient without consent on İYS: a RET given "
            "on İYS since the last pull must stop the send, so the ledger's view of İYS must "
            "be current (isobil's freshness default: 24 h).",
            paragraph="3",
            url=REG_URL,
        ),
        confidence=Confidence.VERIFIED,
        check=_iys_stale,
        valid_from=IYS_IN_FORCE,
        fix="Run the İYS sync (IysSynchronizer.run pulls İYS's changes) or acknowledge "
        "TR-CONSENT-006 if your provider checks İYS before sending.",
    ),
    Rule(
        id="TR-OPTOUT-001",
        r_id="R-OPTOUT",
        title="Recipient opted out",
        severity=Severity.ERROR,
        scope=Scope.RECIPIENT,
        citation=Citation(
            REG,
            "9",
            "An opt-out voids the consent for the channel it was made on (and, for a consent "
            "shared under art. 7(6), for every party: art. 9(2)); the law gives 3 business "
            "days to stop (Law art. 8(3)) — isobil stops at once.",
            paragraph="1",
            url=REG_URL,
        ),
        confidence=Confidence.VERIFIED,
        check=_opted_out,
        valid_from=REG_IN_FORCE,
        recheck=True,
    ),
    Rule(
        id="TR-OPTOUT-002",
        r_id="R-OPTOUT",
        title="No opt-out instruction",
        severity=Severity.ERROR,
        scope=Scope.MESSAGE,
        citation=Citation(
            LAW,
            "8",
            "Every commercial message must say how to refuse further messages, easily and "
            "free of charge; for an SMS, a number to text (Reg. art. 9(3): a customer-service "
            "number, short number or opt-out URL).",
            paragraph="2",
            url=LAW_URL,
        ),
        confidence=Confidence.VERIFIED,
        check=_no_opt_out,
        valid_from=LAW_IN_FORCE,
        fix="Append the sender's opt-out text, e.g. 'Ret için ACME RET yazıp 4605'e gönderin'.",
    ),
    Rule(
        id="TR-CONTENT-001",
        r_id="R-CONTENT",
        title="Brand of the message not identified",
        severity=Severity.ERROR,
        scope=Scope.MESSAGE,
        citation=Citation(
            LAW,
            "7",
            "The content of a commercial message must match the consent given; consent is per "
            "brand, so the message must name the brand it is sent for (the recipient's "
            "consent for that brand is TR-CONSENT-001's check).",
            paragraph="1",
            url=LAW_URL,
        ),
        confidence=Confidence.SECONDARY,
        check=_brand_unclear,
        valid_from=LAW_IN_FORCE,
        fix="Set Message(brand=...) to one of the sender's (or its advertisers') brands.",
    ),
    Rule(
        id="TR-CONTENT-002",
        r_id="R-CONTENT",
        title="Sender identity missing",
        severity=Severity.ERROR,
        scope=Scope.MESSAGE,
        citation=Citation(
            LAW,
            "5",
            "A commercial message must identify the person on whose behalf it is sent "
            "(Reg. art. 8: merchants by MERSİS number and trade name, tradesmen by name, "
            "surname and TCKN) — the advertiser, when an agency or dealer sends.",
            paragraph="1",
            point="a",
            url=LAW_URL,
        ),
        confidence=Confidence.SECONDARY,
        check=_identity,
        valid_from=LAW_IN_FORCE,
        fix="Configure Sender(mersis=...) or Sender(tckn=...) (the advertiser's, for its brands).",
    ),
    Rule(
        id="TR-CONTENT-003",
        r_id="R-CONTENT",
        title="No contact point",
        severity=Severity.ERROR,
        scope=Scope.MESSAGE,
        citation=Citation(
            REG,
            "8",
            "A commercial message must give at least one way to reach the sender: phone, "
            "short number, fax or e-mail (identifiers such as MERSİS are not one).",
            url=REG_URL,
        ),
        confidence=Confidence.SECONDARY,
        check=_contact,
        valid_from=REG_IN_FORCE,
        fix="Configure Sender(contact=...) or put a phone number or link in the text.",
    ),
    Rule(
        id="TR-CONTENT-004",
        r_id="R-CONTENT",
        title="No identifier word at the start",
        severity=Severity.WARNING,
        scope=Scope.MESSAGE,
        citation=Citation(
            REG,
            "8",
            "An SMS must open with a word that identifies it as commercial (e.g. TANITIM, "
            "KAMPANYA, BİLGİLENDİRME); sources state it without the 'purpose not evident' "
            "condition, which is unconfirmed.",
            url=REG_URL,
        ),
        confidence=Confidence.SECONDARY,
        check=_identifier_word,
        valid_from=REG_IN_FORCE,
        fix="Start the text with e.g. 'KAMPANYA:' — or acknowledge TR-CONTENT-004 when the "
        "commercial purpose is evident.",
    ),
    Rule(
        id="TR-CONTENT-005",
        r_id="R-CONTENT",
        title="Promotion terms not reachable",
        severity=Severity.ERROR,
        scope=Scope.MESSAGE,
        citation=Citation(
            LAW,
            "5",
            "Promotions (discounts, gifts, contests, games) must be recognisable as such and "
            "their conditions easy to reach (Reg. art. 8: a link or a customer-service "
            "number).",
            paragraph="1",
            point="b",
            url=LAW_URL,
        ),
        confidence=Confidence.SECONDARY,
        check=_promotion_terms,
        valid_from=LAW_IN_FORCE,
        fix="Add a link or a customer-service number where the campaign terms are published.",
    ),
    Rule(
        id="TR-LEGACY-001",
        r_id="R-LEGACY",
        title="Legacy recipient without the database notice",
        severity=Severity.ERROR,
        scope=Scope.RECIPIENT,
        citation=Citation(
            REG,
            "Provisional 1",
            "Databases of contacts collected before 1 May 2015 in a direct supply of goods or "
            "services count as consented; the first message after 15 July 2015 must say they "
            "are in the sender's database and offer an opt-out.",
            url=REG_URL,
        ),
        confidence=Confidence.SECONDARY,
        check=_legacy_notice,
        valid_from=REG_IN_FORCE,
        fix="Add the notice, e.g. 'Veri tabanımızda kayıtlı olduğunuz için ...', to the "
        "first message.",
    ),
    Rule(
        id="TR-LEGACY-002",
        r_id="R-LEGACY",
        title="Legacy consent not uploaded to İYS",
        severity=Severity.ERROR,
        scope=Scope.RECIPIENT,
        citation=Citation(
            REG,
            "Provisional 2",
            "Consents held before İYS had to be uploaded (RG 28.08.2020; deferred by the "
            "Ministry on 30.11.2020 to 31.12.2020 for senders with more than 150,000 "
            "consents and 31.05.2021 for the others); those not uploaded are invalid.",
            url=REG_URL,
        ),
        confidence=Confidence.SECONDARY,
        check=_legacy_not_in_iys,
        valid_from=LEGACY_IYS_DEADLINE,
        fix="Only HS_2015 consents registered in İYS may be used.",
    ),
    Rule(
        id="TR-LEGACY-003",
        r_id="R-LEGACY",
        title="Legacy consent from after the cutoff",
        severity=Severity.ERROR,
        scope=Scope.RECIPIENT,
        citation=Citation(
            REG,
            "Provisional 1",
            "Only contacts collected before 1 May 2015 count as consented without a consent; "
            "a contact collected later needs a consent of its own.",
            url=REG_URL,
        ),
        confidence=Confidence.SECONDARY,
        check=_legacy_too_late,
        valid_from=REG_IN_FORCE,
        fix="Record the consent this recipient actually gave, with its source.",
    ),
    Rule(
        id="ISOBIL-TEMPLATE-001",
        r_id="F14",
        title="Template field without a value",
        severity=Severity.ERROR,
        scope=Scope.RECIPIENT,
        citation=Citation(
            "isobil personalisation",
            "",
            "A personalised message goes out only when every field has a value or a "
            "fallback; a literal {ad} is never sent.",
        ),
        confidence=Confidence.VERIFIED,
        check=_missing_fields,
        fix="Fill the field in the address book, or give a fallback: {ad|Değerli müşterimiz}.",
    ),
    Rule(
        id="ISOBIL-BLACKLIST-001",
        r_id="F13",
        title="Blacklisted number",
        severity=Severity.ERROR,
        scope=Scope.RECIPIENT,
        citation=Citation(
            "Sender's own blacklist (kara liste)",
            "",
            "Numbers the sender blacklisted (kara liste) receive nothing from it, in any "
            "category; a refusal given outside SMS is often recorded this way.",
        ),
        confidence=Confidence.VERIFIED,
        check=_blacklisted,
        fix="Remove the number with client.blacklist.remove() if it was listed by mistake.",
        recheck=True,
    ),
)
