"""The regulation as rules: one entry per requirement, with its citation and confidence.

Sources and confidence marks follow SPEC §2: [V] primary text seen, [S] secondary
sources agree, [U] unverified. "Law" is Law 6563 (RG 05.11.2014 no. 29166, in force
2015-05-01); "Regulation" is the Regulation on Commercial Communication and
Commercial Electronic Messages (RG 15.07.2015 no. 29417, amended RG 04.01.2020
no. 30998 and RG 28.08.2020 no. 31227).
"""

from __future__ import annotations

from datetime import date

from isobil.model import ConsentSource, ConsentStatus, RecipientType, SenderKind
from isobil.rules._model import (
    Citation,
    Confidence,
    IysRegistration,
    MessageFacts,
    RecipientFacts,
    Rule,
    Scope,
    Severity,
)

__all__ = ["DEFAULT_RULES", "IYS_IN_FORCE", "LAW_IN_FORCE", "LEGACY_CUTOFF"]

LAW = "Law 6563"
REG = "Regulation 29417"
LAW_URL = "https://www.mevzuat.gov.tr/mevzuat?MevzuatNo=6563&MevzuatTur=1&MevzuatTertip=5"
REG_URL = "https://www.mevzuat.gov.tr/mevzuat?MevzuatNo=20941&MevzuatTur=7&MevzuatTertip=5"

#: Law 6563 entered into force on this day.
LAW_IN_FORCE = date(2015, 5, 1)
#: Contact details collected before this day during a sale count as consented (R-LEGACY).
LEGACY_CUTOFF = date(2015, 5, 1)
#: From this day commercial messages need consent registered in İYS: the recipient
#: check deadline of the 2020 migration for the largest senders (15 Feb 2021; the
#: smaller ones followed on 15 Jul 2021) — the earlier, stricter date is used.
IYS_IN_FORCE = date(2021, 2, 16)
#: After the migration's last upload deadline only legacy consents uploaded to İYS remain.
LEGACY_IYS_DEADLINE = date(2021, 6, 1)


def _sender_exempt(m: MessageFacts, r: RecipientFacts | None) -> str | None:
    if m.exempt and m.sender is not None:
        return (
            f"the sender is a {m.sender.kind.value.replace('_', ' ')}: messages about its own "
            "field are outside the regulation, so consent and content rules do not apply"
        )
    return None


def _promotion_in_notice(m: MessageFacts, r: RecipientFacts | None) -> str | None:
    if m.commercial or m.exempt or m.promotion is None:
        return None
    word = "a percentage" if m.promotion == "%" else repr(m.promotion)
    return (
        f"an {m.message.category.value.replace('_', ' ')} message may not promote anything, "
        f"but this one contains {word}; send it as commercial (with consent) or remove it"
    )


def _no_consent(m: MessageFacts, r: RecipientFacts | None) -> str | None:
    if r is None or not m.commercial or m.exempt:
        return None
    if r.recipient_type is RecipientType.TACIR or r.consent is not None:
        return None  # merchants need no prior consent; a RET is TR-OPTOUT-001's
    return f"no consent (ONAY) on record for {m.message.brand or 'this sender'}"


def _opted_out(m: MessageFacts, r: RecipientFacts | None) -> str | None:
    if r is None or not m.commercial or m.exempt or r.consent is not ConsentStatus.RET:
        return None
    day = r.consent_date.date().isoformat() if r.consent_date else "an earlier date"
    return f"the recipient opted out (RET) on {day}"


def _iys_refused(m: MessageFacts, r: RecipientFacts | None) -> str | None:
    if r is None or not m.commercial or m.exempt or r.consent is not ConsentStatus.ONAY:
        return None
    if r.iys is IysRegistration.NOT_REGISTERED:
        return "the consent is not registered in İYS (İYS refused it)"
    return None


def _iys_unknown(m: MessageFacts, r: RecipientFacts | None) -> str | None:
    if r is None or not m.commercial or m.exempt or r.consent is not ConsentStatus.ONAY:
        return None
    if r.iys is IysRegistration.UNKNOWN and r.consent_source is not ConsentSource.HS_2015:
        return "whether the consent is registered in İYS is not known"
    return None


def _legacy_notice(m: MessageFacts, r: RecipientFacts | None) -> str | None:
    if r is None or not m.commercial or m.exempt or r.consent is not ConsentStatus.ONAY:
        return None
    if r.consent_source is not ConsentSource.HS_2015 or r.previously_messaged:
        return None
    if m.has_legacy_notice:
        return None
    return (
        "the first message to a legacy (HS_2015) recipient must say that they are in the "
        "sender's database and how to opt out"
    )


def _legacy_not_in_iys(m: MessageFacts, r: RecipientFacts | None) -> str | None:
    if r is None or not m.commercial or m.exempt or r.consent is not ConsentStatus.ONAY:
        return None
    if r.consent_source is ConsentSource.HS_2015 and r.iys is not IysRegistration.REGISTERED:
        return "a legacy (HS_2015) consent is valid only if it was uploaded to İYS"
    return None


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
    codes = [b.code for b in m.sender.brands]
    brand = m.message.brand
    if brand is None and len(codes) != 1:
        known = ", ".join(codes) or "none configured"
        return f"a commercial message must name the brand its consent was given for ({known})"
    if brand is not None and brand not in codes:
        return f"brand {brand} is not one of the sender's brands ({', '.join(codes) or 'none'})"
    return None


def _identity(m: MessageFacts, r: RecipientFacts | None) -> str | None:
    if not m.commercial or m.exempt:
        return None
    sender = m.sender
    if sender is None:
        return "no sender is configured: trade name and MERSİS number (or name and TCKN) needed"
    if sender.kind is SenderKind.SOLE_TRADER:
        return None if sender.tckn else "a sole trader must give name, surname and TCKN"
    return None if sender.mersis else f"{sender.name} has no MERSİS number configured"


def _contact(m: MessageFacts, r: RecipientFacts | None) -> str | None:
    if not m.commercial or m.exempt:
        return None
    if m.sender is not None and (m.sender.contact or m.sender.short_number):
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
    word = "a percentage" if m.promotion == "%" else repr(m.promotion)
    return (
        f"the text promotes ({word}) but gives no link or customer-service number "
        "where the terms can be read"
    )


DEFAULT_RULES: tuple[Rule, ...] = (
    Rule(
        id="TR-EXEMPT-001",
        r_id="R-EXEMPT",
        title="Exempt sender",
        severity=Severity.INFO,
        scope=Scope.MESSAGE,
        citation=Citation(
            REG,
            "2",
            "Operators, private schools, public professional bodies, public-benefit "
            "associations, tax-exempt foundations, broadcasters and public bodies writing "
            "about their own field are outside the regulation.",
            paragraph="2",
            url=REG_URL,
        ),
        confidence=Confidence.SECONDARY,
        check=_sender_exempt,
        valid_from=LAW_IN_FORCE,
    ),
    Rule(
        id="TR-NOCONSENT-001",
        r_id="R-NOCONSENT",
        title="Promotion inside an informational message",
        severity=Severity.ERROR,
        scope=Scope.MESSAGE,
        citation=Citation(
            REG,
            "6",
            "Messages sent without consent (change, use or maintenance; ongoing "
            "relationship; legal obligations) must not promote goods or services.",
            paragraph="1",
            url=REG_URL,
        ),
        confidence=Confidence.SECONDARY,
        check=_promotion_in_notice,
        valid_from=LAW_IN_FORCE,
        fix="Remove the promotion, or send the message as commercial to consenting recipients.",
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
            "consent; merchants and tradesmen are the exception.",
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
            "A commercial message may go only to recipients whose consent is recorded in "
            "the İleti Yönetim Sistemi (İYS).",
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
            "A commercial message may go only to recipients whose consent is recorded in "
            "İYS; consents the sender collects must be registered within 3 business days.",
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
        id="TR-OPTOUT-001",
        r_id="R-OPTOUT",
        title="Recipient opted out",
        severity=Severity.ERROR,
        scope=Scope.RECIPIENT,
        citation=Citation(
            LAW,
            "8",
            "Recipients may refuse at any time without a reason; sending must stop within "
            "3 business days (isobil stops at once). An opt-out voids consent for its channel.",
            paragraph="3",
            url=LAW_URL,
        ),
        confidence=Confidence.VERIFIED,
        check=_opted_out,
        valid_from=LAW_IN_FORCE,
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
            "free of charge, on the same channel.",
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
        title="Content does not match a consented brand",
        severity=Severity.ERROR,
        scope=Scope.MESSAGE,
        citation=Citation(
            REG,
            "8",
            "The content of a commercial message must match the consent given (channel, "
            "brand, scope).",
            paragraph="1",
            url=REG_URL,
        ),
        confidence=Confidence.SECONDARY,
        check=_brand_unclear,
        valid_from=LAW_IN_FORCE,
        fix="Set Message(brand=...) to one of the sender's brands.",
    ),
    Rule(
        id="TR-CONTENT-002",
        r_id="R-CONTENT",
        title="Sender identity missing",
        severity=Severity.ERROR,
        scope=Scope.MESSAGE,
        citation=Citation(
            REG,
            "8",
            "A commercial message must identify the sender: merchants by MERSİS number and "
            "trade name, tradesmen by name, surname and TCKN.",
            paragraph="2",
            url=REG_URL,
        ),
        confidence=Confidence.SECONDARY,
        check=_identity,
        valid_from=LAW_IN_FORCE,
        fix="Configure Sender(mersis=...) or Sender(tckn=...).",
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
            "short number, fax or e-mail.",
            paragraph="2",
            url=REG_URL,
        ),
        confidence=Confidence.SECONDARY,
        check=_contact,
        valid_from=LAW_IN_FORCE,
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
            "When the commercial purpose is not evident, an SMS must open with a word that "
            "identifies it (e.g. TANITIM, KAMPANYA, BİLGİLENDİRME, DUYURU).",
            paragraph="3",
            url=REG_URL,
        ),
        confidence=Confidence.SECONDARY,
        check=_identifier_word,
        valid_from=LAW_IN_FORCE,
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
            "their conditions easy to reach, e.g. by a link or a customer-service number.",
            paragraph="1",
            point="b",
            url=LAW_URL,
        ),
        confidence=Confidence.VERIFIED,
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
            "Contacts collected before 1 May 2015 during a sale count as consented; the first "
            "message to them must say they are in the sender's database and offer an opt-out.",
            url=REG_URL,
        ),
        confidence=Confidence.SECONDARY,
        check=_legacy_notice,
        valid_from=LAW_IN_FORCE,
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
            "Consents held before İYS had to be uploaded to İYS by the migration deadlines "
            "(2020-12-31 or 2021-05-31 by size); those not uploaded are invalid.",
            url=REG_URL,
        ),
        confidence=Confidence.SECONDARY,
        check=_legacy_not_in_iys,
        valid_from=LEGACY_IYS_DEADLINE,
        fix="Only HS_2015 consents registered in İYS may be used.",
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
