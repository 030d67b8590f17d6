"""Is a text commercial? Weighted, cited, dated signals — and the evidence for the verdict.

A message sent without consent (informational, legally required) must not
promote anything (Reg. art. 6), and greetings and wishes that raise a
business's recognition are commercial too (Reg. art. 5(1), kutlama ve temenni).
Whether a text does either is a judgement; :func:`classify` makes it from
*signals* — patterns with a weight, a citation and the day they count from —
and shows which ones it found. Signals that point to a commercial purpose
(discounts, gifts, prices, calls to buy, greetings, openings) weigh for it;
signals of what the law lets through without consent (debts, due dates,
interest rates and tariffs, deliveries, appointments, codes, legal notices)
weigh against it. A strong commercial signal that outweighs the notice
signals makes the text commercial; a commercial signal that does not, or a
weak one alone, makes it ambiguous — for a person to judge — and a text
without any is informational.

The patterns run on the text lower-cased with Turkish marks removed (``İ``,
``ı`` → ``i``, ``ş`` → ``s``), so ``İNDİRİM``, ``indirim`` and ``indırım``
match alike; punctuation is kept, so percentages and prices can be read.
The measured precision and recall on a labelled corpus of Turkish SMS are in
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from datetime import date

import attrs

from isobil._text import unmarked_lower

__all__ = [
    "DEFAULT_SIGNALS",
    "Classification",
    "Evidence",
    "Signal",
    "SignalKind",
    "Verdict",
    "classify",
]

#: Greetings and wishes (kutlama ve temenni) are commercial under Reg. art. 5(1) from
#: the Regulation's entry into force (RG 15.07.2015 no. 29417).
GREETINGS_COMMERCIAL_FROM = date(2015, 7, 15)


class SignalKind(enum.StrEnum):
    """What a signal is evidence of."""

    PROMOTION = "promotion"  # discounts, gifts, contests, games: Law art. 5(1)(b)
    PRICE = "price"  # a price offered to buy at
    CALL_TO_ACTION = "call_to_action"  # buy, visit, apply, don't miss
    GREETING = "greeting"  # kutlama ve temenni
    ANNOUNCEMENT = "announcement"  # openings, new products, launches, events
    NOTICE = "notice"  # what Reg. art. 6 lets through without consent

    @property
    def commercial(self) -> bool:
        """Whether this kind weighs for a commercial purpose."""
        return self is not SignalKind.NOTICE


class Verdict(enum.StrEnum):
    """What the signals say about the text."""

    COMMERCIAL = "commercial"
    AMBIGUOUS = "ambiguous"
    INFORMATIONAL = "informational"


@attrs.frozen
class Signal:
    """One pattern, what it is evidence of, how much it weighs and why.

    ``pattern`` is a regular expression matched against the folded text
    (lower case, Turkish marks removed, punctuation kept). ``weight`` is
    positive for commercial evidence (3 = strong, 1 = weak) and negative for
    notice evidence. ``valid_from`` is the first day the signal counts.
    """

    name: str
    kind: SignalKind
    pattern: str
    weight: int
    citation: str
    valid_from: date | None = None
    _regex: re.Pattern[str] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_regex", re.compile(self.pattern))

    def find(self, folded: str) -> str | None:
        """The matched text in ``folded``, or ``None``."""
        found = self._regex.search(folded)
        return None if found is None else found.group(0).strip()


@attrs.frozen
class Evidence:
    """A signal found in a text, with the words that matched."""

    signal: str
    kind: SignalKind
    weight: int
    matched: str
    citation: str

    def __str__(self) -> str:
        sign = "+" if self.weight > 0 else ""
        return f"{self.kind.value} {self.matched!r} ({sign}{self.weight})"


@attrs.frozen
class Classification:
    """The verdict on a text and the evidence it rests on."""

    verdict: Verdict
    commercial_weight: int
    notice_weight: int
    evidence: tuple[Evidence, ...]

    @property
    def commercial_evidence(self) -> tuple[Evidence, ...]:
        """What weighs for a commercial purpose."""
        return tuple(e for e in self.evidence if e.weight > 0)

    @property
    def promotion(self) -> Evidence | None:
        """The first discount, gift, contest or game found (Law art. 5(1)(b)), if any."""
        return next((e for e in self.evidence if e.kind is SignalKind.PROMOTION), None)

    def explain(self) -> str:
        """The evidence in one line: ``promotion 'indirim' (+3); notice 'kargo' (-2)``."""
        return "; ".join(str(e) for e in self.evidence) or "no signal"


_CL = "Law 6563 art. 6(1)"  # a commercial message needs consent
_PROMO = "Law 6563 art. 5(1)(b)"
_GREET = "Regulation 29417 art. 5(1) (kutlama ve temenni)"
_NOTICE = "Regulation 29417 art. 6(1)"


def _s(
    name: str,
    kind: SignalKind,
    pattern: str,
    weight: int,
    citation: str,
    valid_from: date | None = None,
) -> Signal:
    return Signal(name, kind, pattern, weight, citation, valid_from)


P, PR, CTA, G, A, N = (
    SignalKind.PROMOTION,
    SignalKind.PRICE,
    SignalKind.CALL_TO_ACTION,
    SignalKind.GREETING,
    SignalKind.ANNOUNCEMENT,
    SignalKind.NOTICE,
)
_PCT = r"(?:%\s?\d+(?:[.,]\d+)?|\d+(?:[.,]\d+)?\s?%)"
_GREETINGS_FROM = GREETINGS_COMMERCIAL_FROM

#: isobil's signals. Extend or replace them with ``RulesConfig(signals=...)``.
DEFAULT_SIGNALS: tuple[Signal, ...] = (
    # -- promotions (Law art. 5(1)(b)) ---------------------------------------
    _s("discount", P, r"\b(?:indirim|iskonto|ucuzluk|kelepir)", 3, _PROMO),
    _s(
        "percent_off",
        P,
        _PCT + r"\s*'?\s*(?:[ydn]?[ae]\s+)?(?:varan|kadar|indirim|off\b)",
        3,
        _PROMO,
    ),
    _s(
        "gift",
        P,
        r"\bhediye(?:\s+(?:ceki|kazan|veriyoruz|ediyoruz|urun|kupon)|\s*!|miz)",
        3,
        _PROMO,
    ),
    _s("contest", P, r"\b(?:cekilis|yarisma|kazanma sansi|sans oyunu)", 3, _PROMO),
    _s("win", P, r"\bkazan(?!c|il|dir|dik)(?:in|acaksiniz|abilirsiniz|ma|iyor)?\b", 3, _PROMO),
    _s(
        "free_offer",
        P,
        r"\b(?:bedava|ucretsiz kargo|1 alana 1|ikincisi? \w+ (?:bedava|indirimli))",
        3,
        _PROMO,
    ),
    _s("coupon", P, r"\b(?:kupon|promosyon|indirim kodu|hediye kodu)", 3, _PROMO),
    _s("campaign", P, r"\bkampanya(?!\w*\s+(?:kapsamin|sonucu|kosullari))", 2, _PROMO),
    _s("offer", P, r"\b(?:firsat|ozel fiyat|ozel teklif|avantaj|ayricalik|outlet)", 2, _PROMO),
    _s("points_earn", P, r"\b(?:puan|chip-?para|bonus|mil)\s+(?:kazan|hediye|firsati)", 3, _PROMO),
    _s(
        "season_sale",
        P,
        r"\b(?:yeni sezon|sezon sonu|sezon indirim|black friday|efsane cuma)",
        3,
        _PROMO,
    ),
    _s("season", P, r"\bsezon", 1, _PROMO),
    _s("free", P, r"\bucretsiz\b", 1, _PROMO),
    _s("yours", P, r"\b(?:sizin olsun|(?:tatli|ikram|kargo|hediye|kahve)\w* bizden)", 3, _PROMO),
    _s(
        "for_you",
        P,
        r"\b(?:size|sizlere|hattiniza|isletmenize|uyelerimize|kartiniza) ozel",
        2,
        _PROMO,
    ),
    _s(
        "credit_offer",
        P,
        r"\b(?:on onayli|limitiniz hazir|kredi limitiniz hazir|limitiniz .{0,40}yukseltilebilir)",
        3,
        _PROMO,
    ),
    _s("last_day", P, r"\bson (?:gun|\d+ gun|firsat|saat)(?!u|leri)", 1, _PROMO),
    # -- prices and calls to buy ---------------------------------------------
    _s(
        "price_from",
        PR,
        r"\d+(?:[.,]\d+)?\s*(?:tl|₺)\s*'?\s*(?:[dt][ae]n)\s+(?:baslayan|itibaren)",
        3,
        _CL,
    ),
    _s(
        "price_only",
        PR,
        r"\b(?:sadece|yalnizca|yalniz|bu fiyata)\s+\d+(?:[.,]\d+)?\s*(?:tl|₺)",
        2,
        _CL,
    ),
    _s(
        "price_cut",
        PR,
        r"\d+(?:[.,]\d+)?\s*(?:tl|₺)\s*(?:'?[dt][ae]n\s+\d+(?:[.,]\d+)?\s*(?:tl|₺)'?\w*\s+dus|yerine)"
        r"|\d+(?:[.,]\d+)?\s*(?:tl|₺)\s*!|fiyat\w* .{0,30}(?:dustu|indi)\b",
        3,
        _CL,
    ),
    _s(
        "instalments",
        PR,
        r"\b(?:vade farksiz|taksit (?:imkani|firsati|secenegi)|\d+ taksit)",
        2,
        _CL,
    ),
    _s(
        "buy_now",
        CTA,
        r"\b(?:hemen (?:al|siparis|basvur|incele|kesfet|tikla|indir|uye ol)|satin al)",
        2,
        _CL,
    ),
    _s(
        "dont_miss",
        CTA,
        r"\b(?:kacirma|kacirmayin|stoklarla sinirli|acele edin|tukenmeden)",
        2,
        _CL,
    ),
    _s(
        "visit",
        CTA,
        r"\b(?:bekliyoruz|bekleriz|gormek isteriz|ziyaret edin|ugrayin"
        r"|aramizda gor)",
        2,
        _CL,
    ),
    _s("our_stores", CTA, r"\b(?:magazalarimiz|subelerimiz)", 1, _CL),
    _s(
        "try",
        CTA,
        r"\b(?:tanisin|taniyin|deneyin|teklif alin|teklif icin|planlayin|ister misiniz"
        r"|sizin icin sec|kayit (?:icin|olun)|on kayit|kayitlarimiz|rezervasyon(?:\s*:|\s+icin))",
        2,
        _CL,
    ),
    _s(
        "shop",
        CTA,
        r"\b(?:sepet(?:te|e|inize)|alisverise|alisverislerinizde|kesfedin|kesfet)",
        2,
        _CL,
    ),
    _s(
        "apply",
        CTA,
        r"\b(?:basvurun\b|basvurabilirsiniz|kayitlar basladi|yerinizi ayirtin"
        r"|rezervasyon yaptirin)",
        2,
        _CL,
    ),
    # -- greetings and wishes (Reg. art. 5(1): kutlama ve temenni) --------------
    _s(
        "greeting",
        G,
        r"\b(?:bayram(?:iniz|inizi|lar|i) ?(?:kutl|mubarek|mutlu)|iyi bayramlar|mutlu bayramlar"
        r"|kandil(?:iniz|inizi)|mutlu yillar|yeni yiliniz|yeni yilinizi|iyi yillar"
        r"|dogum gunu(?:nuz|nuzu)|nice (?:mutlu )?yillara|kutlu olsun|kutlariz|kutlar(?:im|iz)"
        r"|tebrik ederiz|en iyi dilek|sevgi ve saygiyla an|hayirli (?:cumalar|ramazanlar|olsun)"
        r"|(?:anneler|babalar|ogretmenler|sevgililer|kadinlar|cocuklar) gunu(?:nuz)?"
        r"|ramazan(?:iniz)? (?:mubarek|bayram)|esenlikler dileriz|saglikli ve mutlu|iyi ki"
        r"|yeni yasiniz|yeni yil(?:da|in|iniz)|nice (?:guzel|mutlu|saglikli)"
        r"|(?:saglik|huzur|mutluluk|basari|bereket|nese|aydinlik)\w*.{0,60}"
        r"(?:dileriz|diliyoruz|dileklerimizle|getirmesini))",
        3,
        _GREET,
        _GREETINGS_FROM,
    ),
    # -- announcements of the business -----------------------------------------
    _s(
        "opening",
        A,
        r"\b(?:acildi|acilis|acilisina|kapilarini ac|hizmetinizde|hizmete (?:girdi|acildi)"
        r"|yeni (?:sube|magaza|adres|koleksiyon|urun|menu|hizmet|paket|model|lokasyon)"
        r"|lansman|davetlisiniz|sizleri davet|tanistirmak|tanitim|reklam|simdi satista|aciliyor"
        r"|artik (?:[a-z]+ )?(?:da|de) (?:hizmet|satista|sizlerle)|raflarda|sizlerle bulus"
        r"|satista|yayinda|yeni (?:\w+ )?\w+(?:miz|muz)\b|basliyor\b)",
        3,
        _CL,
    ),
    _s(
        "event",
        A,
        r"\b(?:etkinlig|webinar|seminer|konser|festival|fuar|imza gunu|tadim|acik kapi"
        r"|canli (?:fasil|muzik))",
        2,
        _CL,
    ),
    _s("now_also", A, r"\bartik\b.{0,40}?'?(?:da|de|ta|te)\b|\b(?:genisledi|yenilendi)\b", 2, _CL),
    # -- what the law lets through without consent (Reg. art. 6(1)) ------------
    _s(
        "debt",
        N,
        r"\b(?:borc|son odeme|odeme tarih|asgari odeme|fatura|tahsil|gecikme|icra|odenmemis"
        r"|odemeniz|aidat|vadesi gel|vadesi gec|ekstre|hesap ozeti|kesinlesti)",
        -3,
        _NOTICE,
    ),
    _s(
        "rate_or_tariff",
        N,
        r"\b(?:faiz|tarife|ucret(?:lendirme)? ?(?:degisik|guncelle|tarifesi)|zam oran|komisyon"
        r"|kdv|birim fiyat|guncellen|gecerli olacak|yururluge gir|degisiklik yapil)",
        -2,
        _NOTICE,
    ),
    _s(
        "delivery",
        N,
        r"\b(?:kargo(?:nuz|ya|lan|da)|teslim|siparis(?:iniz|inizin|iniz)|kurye|takip (?:no|num|kod)"
        r"|gonderiniz|gonderinizin|dagitim|iade (?:kodu|talebi|islem)|paketiniz)",
        -2,
        _NOTICE,
    ),
    _s(
        "appointment",
        N,
        r"\b(?:randevu|muayene|kontrol(?:unuz| tarih)|seans(?:iniz)?\b)",
        -3,
        _NOTICE,
    ),
    _s(
        "code_or_security",
        N,
        r"\b(?:dogrulama|sifre|kod(?:unuz|u)?\s*:|tek kullanimlik|guvenlik|kimseyle paylasma"
        r"|giris yapil|islem onay)",
        -3,
        _NOTICE,
    ),
    _s(
        "legal_notice",
        N,
        r"\b(?:sozlesme|kvkk|kisisel veri|yasal|mevzuat|yonetmelik|kanun|tebligat|ihtar|bildirim"
        r"|geri cagir|police(?:niz|nizin)|sona er|yenileme tarih|aydinlatma|basamag|priminiz)",
        -2,
        _NOTICE,
    ),
    _s(
        "account",
        N,
        r"\b(?:bakiye|hesabiniza|hesabinizdan|hesabinizda|kartiniz(?:la|dan|a)?\b|islem(?:iniz)? "
        r"(?:gerceklesti|tamamlandi)|puan bakiye|uyeliginiz|aboneliginiz|abone no)",
        -2,
        _NOTICE,
    ),
    _s(
        "service_notice",
        N,
        r"\b(?:kesinti|ariza|bakim calism|planli|sayac|endeks|okuma|su verilemey|hizmet verilemey"
        r"|kapali(?:dir| olacak)|bakim nedeniyle|gecikmeli|ertelen|iptal edil|degisiklik oldu"
        r"|sinav sonuc|kan bagis"
        r"|asi(?:si|lanacak|lama|niz)?\b"
        r"|rotar|sefer sayili|ucusunuz|kalkis saati|iade edil|satin aldiginiz|onaylanmistir)",
        -2,
        _NOTICE,
    ),
)
del P, PR, CTA, G, A, N


def classify(
    text: str, *, as_of: date, signals: Iterable[Signal] = DEFAULT_SIGNALS
) -> Classification:
    """Judge ``text`` with ``signals`` as of ``as_of``; return the verdict and its evidence.

    Each signal counts once. Commercial when a strong signal (weight ≥ 3 in
    all) outweighs the notice signals; ambiguous when commercial evidence is
    there but does not clearly win; informational when there is none, or only
    weak commercial evidence inside a notice.

    >>> classify("Siparişiniz kargoya verildi.", as_of=date(2026, 1, 1)).verdict
    <Verdict.INFORMATIONAL: 'informational'>
    >>> c = classify("Kargonuz yolda. Sonraki alışverişte %20 indirim!", as_of=date(2026, 1, 1))
    >>> c.verdict, c.explain()
    (<Verdict.COMMERCIAL: 'commercial'>, "promotion 'indirim' (+3); promotion '%20 indirim' (+3); \
notice 'kargonuz' (-2)")
    """
    folded = unmarked_lower(text)
    evidence = []
    for signal in signals:
        if signal.valid_from is not None and as_of < signal.valid_from:
            continue
        matched = signal.find(folded)
        if matched is not None:
            evidence.append(
                Evidence(signal.name, signal.kind, signal.weight, matched, signal.citation)
            )
    for_ = sum(e.weight for e in evidence if e.weight > 0)
    against = -sum(e.weight for e in evidence if e.weight < 0)
    strong = any(e.weight >= 3 for e in evidence)
    if for_ == 0 or (for_ == 1 and not strong):
        verdict = Verdict.INFORMATIONAL  # a weak word alone ("sezon", "son gün") is no sign
    elif for_ > against and (strong or for_ >= 3):
        verdict = Verdict.COMMERCIAL
    elif against >= for_ and not strong:
        verdict = Verdict.INFORMATIONAL
    else:
        verdict = Verdict.AMBIGUOUS
    return Classification(verdict, for_, against, tuple(evidence))
