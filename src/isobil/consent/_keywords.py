"""Read what a recipient meant by an inbound SMS: opt in, opt out, or ask for help (F1, F2).

Recipients text ``ACME`` to opt in and ``ACME RET`` to opt out (R-OPTOUT). They type on
phones, in a hurry, with Turkish keyboards and without them, so :class:`KeywordParser`
reads the text in three steps:

1. **Fold** (:func:`fold`): NFKC; the four i-forms İ I ı i become ``i``; lower case;
   diacritics are stripped after NFKD (ş→s ğ→g ç→c ö→o ü→u â→a î→i û→u, and the
   combining dot U+0307 that ``"İ".lower()`` leaves); invisible format characters are
   removed; every other character that is not ``[a-z0-9]`` becomes a space.
2. **Tokenise**: the folded text is split into runs of letters and runs of digits, so
   ``RET4605`` reads as ``ret 4605``. A token that is a configured brand word glued to a
   keyword (``ACMERET``, ``RETACME``, ``ACMEONAY``) is split in two; both sides of such a
   junction must be at least three letters, so short brand codes do not split words.
3. **Match** whole tokens and token sequences (for phrases such as ``opt out``) against
   the configured words. Substrings never match: ``ticaret`` is not ``ret``, ``durum`` is
   not ``dur``.

Precedence (the burden of proof is on the sender: a missed opt-out is a violation, a
wrongly read one only costs a message, and a wrongly read opt-in is a violation too):

1. **Opt-out wins.** Any opt-out word anywhere makes the text an opt-out, whatever else it
   says (``ACME ONAY RET``, ``RET değil ONAY``, ``RET nasıl yapılır?``). With exactly one
   configured brand named it is ``OPT_OUT(brand)``; with none, an unknown one, or several,
   it is ``OPT_OUT_ALL`` (the router applies it to every brand on the receiving number).
2. **Help** words (with or without noise) give ``HELP(brand)`` — the brand when exactly
   one is named, else ``None``.
3. Anything else that contains a word the parser does not know is ``UNKNOWN``: a
   consent must be a clear positive statement, so ``ACME kampanya ne zaman?`` or
   ``ACME ONAY\\nAhmet`` is recorded for a person to read rather than taken as an opt-in.
   Numbers (``4605``) and a few courtesy words (``lütfen``, ``merhaba``, ``teşekkürler``,
   ``SDXIYS`` …) are not unknown words.
4. A question mark in a text without unknown words is ``HELP`` (``?``, ``ACME?``).
5. A named brand, alone or with opt-in words, is ``OPT_IN(brand)``. Opt-in words without a
   brand are ``OPT_IN`` of the only configured brand, or ``UNKNOWN`` when there are
   several. Two brands named together (``ACME ZETA``) are ``UNKNOWN``.
6. Empty text, punctuation and emoji alone are ``UNKNOWN``.

The parser never raises on a ``str``; it is pure and thread-safe once built.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Final

import attrs

from isobil._text import fold, unmarked_lower
from isobil.errors import InvalidValue
from isobil.model import Brand

__all__ = [
    "DEFAULT_HELP_WORDS",
    "DEFAULT_OPT_IN_WORDS",
    "DEFAULT_OPT_OUT_WORDS",
    "Intent",
    "KeywordParser",
    "ParsedInbound",
    "fold",
]

_NON_ALNUM: Final = re.compile("[^a-z0-9]+")
_TOKEN: Final = re.compile("[a-z]+|[0-9]+")
_QUESTION: Final = re.compile("[?\uff1f\u00bf\u061f\u2047\u2048\u2049]")
# A glued brand+keyword token is only split when both sides are this long, so that a
# one- or two-letter brand code cannot turn everyday words into opt-outs.
_MIN_GLUE: Final = 3


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(unmarked_lower(text))


class Intent(enum.StrEnum):
    """What an inbound message asks for."""

    #: Consent for one brand (ONAY).
    OPT_IN = "opt_in"
    #: Withdraw consent for one brand (RET).
    OPT_OUT = "opt_out"
    #: Withdraw consent for every brand served on the receiving number.
    OPT_OUT_ALL = "opt_out_all"
    #: A request for information; answer it, record nothing.
    HELP = "help"
    #: Nothing the parser can act on; record and report it.
    UNKNOWN = "unknown"


@attrs.frozen
class ParsedInbound:
    """The reading of one inbound text.

    ``brand`` is the configured brand code the text names (``None`` when it names none,
    or several). ``keyword`` is the folded word that decided the intent — the opt-out or
    opt-in word, the brand word of a brand-only opt-in, the help word, or ``"?"``.
    ``text`` is the original text, unchanged, for the consent proof.
    """

    intent: Intent
    brand: str | None
    keyword: str | None
    text: str


#: Folded opt-out words and phrases. Common inflections are listed because matching is
#: on whole tokens. Everyday words are kept out unless, sent to a marketing number,
#: they can only mean "stop" (``yeter`` "enough", ``hayır`` "no", ``spam``).
DEFAULT_OPT_OUT_WORDS: Final[tuple[str, ...]] = (
    # İYS status word and its common misspelling (the Go İYS client's "RED" bug)
    "ret",
    "red",
    "reddet",
    "reddediyorum",
    "iptal",
    # "stop", "stop it"
    "dur",
    "durdur",
    "durdurun",
    "durdurunuz",
    # "remove me", "exit"
    "cik",
    "cikar",
    "cikart",
    "cikarin",
    "cikartin",
    "cikariniz",
    "cikartiniz",
    "cikarir",
    "cikis",
    "cikmak",
    "ayril",
    "ayrilmak",
    # "delete"
    "sil",
    "silin",
    "siliniz",
    "silinsin",
    "silebilir",
    "kaldir",
    "kaldirin",
    "kaldiriniz",
    # "block", "turn off", "give up"
    "engelle",
    "engelleyin",
    "kapat",
    "kapatin",
    "vazgec",
    "vazgectim",
    # "I don't want", "not interested", "I don't give (consent)"
    "istemiyorum",
    "istemiyoruz",
    "istemiyom",
    "istemem",
    "ilgilenmiyorum",
    "vermiyorum",
    "onaylamiyorum",
    "kabul etmiyorum",
    "hayir",
    "yeter",
    # "don't send"
    "gonderme",
    "gondermeyin",
    "gondermeyiniz",
    "atma",
    "atmayin",
    "atmayiniz",
    "yollamayin",
    # "disturbing", "unwanted"
    "rahatsiz",
    "istenmeyen",
    "spam",
    # English, as carriers handle them (Twilio's list)
    "stop",
    "stopall",
    "unsubscribe",
    "cancel",
    "end",
    "quit",
    "revoke",
    "optout",
    "opt out",
)

#: Folded opt-in words. ``ok`` and ``tamam`` are left out: they are the reply to any
#: message, and a wrongly read opt-in is a send without consent.
DEFAULT_OPT_IN_WORDS: Final[tuple[str, ...]] = (
    "onay",
    "onayla",
    "onayliyorum",
    "evet",
    "kabul",
    "katil",
    "katiliyorum",
    "kayit",
    "kaydol",
    "abone",
    "istiyorum",
    "izin veriyorum",
    "basla",
    "start",
    "subscribe",
    "join",
    "yes",
)

#: Folded help words. A text of only question marks is help too.
DEFAULT_HELP_WORDS: Final[tuple[str, ...]] = (
    "yardim",
    "destek",
    "bilgi",
    "help",
    "info",
)

# Courtesy, signature-free noise and carrier suffixes that do not make a text unknown.
_FILLER_WORDS: Final = frozenset(
    {
        "lutfen",
        "merhaba",
        "mrb",
        "selam",
        "slm",
        "tesekkurler",
        "tesekkur",
        "ederim",
        "tsk",
        "tskler",
        "sms",
        "iys",
        "sdxiys",
    }
)

_EMPTY: Final[Mapping[str, Iterable[str]]] = MappingProxyType({})


class _Kind(enum.Enum):
    BRAND = "brand word"
    OUT = "opt-out word"
    IN = "opt-in word"
    HELP = "help word"


@attrs.frozen
class _Entry:
    words: tuple[str, ...]
    kind: _Kind
    brand: str | None
    keyword: str


def _as_words(words: Iterable[str]) -> tuple[str, ...]:
    # A bare string is one word, not an iterable of letters.
    return (words,) if isinstance(words, str) else tuple(words)


def _phrase(word: object, what: str) -> tuple[str, ...]:
    if not isinstance(word, str):
        raise InvalidValue(f"{what} {word!r} must be a string")
    tokens = tuple(_tokens(word))
    if not tokens:
        raise InvalidValue(f"{what} {word!r} is empty once folded: it has no letters or digits")
    return tokens


def _describe(entry: _Entry) -> str:
    owner = f" of brand {entry.brand}" if entry.brand is not None else ""
    return f"{entry.kind.value}{owner}"


def _contains(phrase: tuple[str, ...], part: tuple[str, ...]) -> bool:
    n = len(part)
    return any(phrase[i : i + n] == part for i in range(len(phrase) - n + 1))


class KeywordParser:
    """Decide what an inbound text means for a set of brands (see the module docstring).

    ``brands`` match by their code and every one of their ``keywords``. The word lists
    are folded on construction, so ``"İPTAL"`` and ``"iptal"`` are the same word; a word
    may be a phrase (``"opt out"``). ``brand_opt_out_words`` and ``brand_opt_in_words``
    map a brand code to words that mean opt-out / opt-in *for that brand* even when the
    brand is not named (``{"ACME": ["ACMESTOP"]}``).

    Raises :class:`~isobil.errors.InvalidValue` for an empty word, a word configured
    twice with different meanings (opt-in and opt-out, a brand word that is also a
    keyword, a word of two brands), a brand word or opt-in/help phrase that contains an
    opt-out word (it would hide the opt-out), or a per-brand word for an unknown brand.
    """

    __slots__ = ("_brands", "_glue", "_index", "_known", "_out_index", "_words")

    def __init__(
        self,
        brands: Sequence[Brand],
        *,
        opt_out_words: Iterable[str] = DEFAULT_OPT_OUT_WORDS,
        opt_in_words: Iterable[str] = DEFAULT_OPT_IN_WORDS,
        help_words: Iterable[str] = DEFAULT_HELP_WORDS,
        brand_opt_out_words: Mapping[str, Iterable[str]] = _EMPTY,
        brand_opt_in_words: Mapping[str, Iterable[str]] = _EMPTY,
    ) -> None:
        codes: list[str] = []
        for brand in brands:
            if not isinstance(brand, Brand):
                raise InvalidValue(f"brands must be isobil.model.Brand values, got {brand!r}")
            if brand.code in codes:
                raise InvalidValue(f"duplicate brand code {brand.code}")
            codes.append(brand.code)
        self._brands: tuple[str, ...] = tuple(codes)

        entries: dict[tuple[str, ...], _Entry] = {}

        def add(word: str, kind: _Kind, brand: str | None, what: str) -> None:
            words = _phrase(word, what)
            new = _Entry(words, kind, brand, fold(word))
            old = entries.get(words)
            if old is None:
                entries[words] = new
            elif (old.kind, old.brand) != (kind, brand):
                raise InvalidValue(
                    f"{new.keyword!r} is configured as {_describe(old)} and as "
                    f"{_describe(new)}; a word can have only one meaning"
                )

        for brand in brands:
            for word in (brand.code, *brand.keywords):
                add(word, _Kind.BRAND, brand.code, f"brand word of {brand.code}")
        for kind, words in (
            (_Kind.OUT, opt_out_words),
            (_Kind.IN, opt_in_words),
            (_Kind.HELP, help_words),
        ):
            for word in _as_words(words):
                add(word, kind, None, kind.value)
        for kind, per_brand in ((_Kind.OUT, brand_opt_out_words), (_Kind.IN, brand_opt_in_words)):
            for code, words in per_brand.items():
                wanted = code.strip().upper() if isinstance(code, str) else code
                if wanted not in self._brands:
                    known = ", ".join(self._brands) or "none"
                    raise InvalidValue(
                        f"{kind.value}s are given for unknown brand {code!r}; "
                        f"the configured brands are {known}"
                    )
                for word in _as_words(words):
                    add(word, kind, str(wanted), f"{kind.value} of brand {wanted}")

        out_phrases = {w for w, e in entries.items() if e.kind is _Kind.OUT}
        for words, entry in entries.items():
            if entry.kind is _Kind.OUT or len(words) < 2:
                continue
            hidden = next((o for o in out_phrases if _contains(words, o)), None)
            if hidden is not None:
                out_word = entries[hidden].keyword
                raise InvalidValue(
                    f"the {_describe(entry)} {entry.keyword!r} contains the opt-out word "
                    f"{out_word!r} and would hide it; change the word or remove {out_word!r} "
                    "from the opt-out words"
                )

        index: dict[str, list[_Entry]] = {}
        for entry in entries.values():
            index.setdefault(entry.words[0], []).append(entry)
        for candidates in index.values():
            candidates.sort(key=lambda e: -len(e.words))
        self._index: dict[str, tuple[_Entry, ...]] = {k: tuple(v) for k, v in index.items()}
        self._out_index: dict[str, tuple[_Entry, ...]] = {
            k: out
            for k, v in self._index.items()
            if (out := tuple(e for e in v if e.kind is _Kind.OUT))
        }
        self._known: frozenset[str] = frozenset(
            {t for words in entries for t in words} | _FILLER_WORDS
        )
        self._glue = self._glue_table(entries)
        self._words: dict[_Kind, tuple[str, ...]] = {
            kind: tuple(e.keyword for e in entries.values() if e.kind is kind and e.brand is None)
            for kind in (_Kind.OUT, _Kind.IN, _Kind.HELP)
        }

    def _glue_table(self, entries: Mapping[tuple[str, ...], _Entry]) -> dict[str, tuple[str, ...]]:
        """Runs of letters and digits that are a brand word glued to a keyword, split.

        Two kinds of key: the whole brand word glued to the whole keyword
        (``a101ret``, ``retzetagiyim``), looked up before letters and digits are split;
        and the letters at the junction (``giyimret`` in ``Zeta GiyimRET``), looked up
        after. Both sides must have at least ``_MIN_GLUE`` characters.
        """
        brand_words = [w for w, e in entries.items() if e.kind is _Kind.BRAND]
        keywords = [
            (w, e.kind) for w, e in entries.items() if e.kind is not _Kind.BRAND and e.brand is None
        ]
        glue: dict[str, tuple[str, ...]] = {}
        outs: set[str] = set()

        def put(left: tuple[str, ...], right: tuple[str, ...], is_out: bool) -> None:
            left_text, right_text = "".join(left), "".join(right)
            if min(len(left_text), len(right_text)) < _MIN_GLUE:
                return
            key = left_text + right_text
            # A real word is never split; on a clash the opt-out reading is kept.
            if key in self._known or (key in outs and not is_out):
                return
            glue[key] = left + right
            if is_out:
                outs.add(key)

        for bw in brand_words:
            for kw, kind in keywords:
                is_out = kind is _Kind.OUT
                put(bw, kw, is_out)
                put(kw, bw, is_out)
                if bw[-1].isalpha() and kw[0].isalpha():
                    put(bw[-1:], kw[:1], is_out)
                if kw[-1].isalpha() and bw[0].isalpha():
                    put(kw[-1:], bw[:1], is_out)
        return glue

    @property
    def brands(self) -> tuple[str, ...]:
        """The configured brand codes, in the order given."""
        return self._brands

    @property
    def opt_out_words(self) -> tuple[str, ...]:
        """The folded global opt-out words."""
        return self._words[_Kind.OUT]

    @property
    def opt_in_words(self) -> tuple[str, ...]:
        """The folded global opt-in words."""
        return self._words[_Kind.IN]

    @property
    def help_words(self) -> tuple[str, ...]:
        """The folded help words."""
        return self._words[_Kind.HELP]

    def __repr__(self) -> str:
        return f"KeywordParser(brands={self._brands!r})"

    def parse(self, text: str) -> ParsedInbound:
        """Read one inbound text; never raises for a ``str``."""
        glue, known = self._glue, self._known
        tokens: list[str] = []
        for chunk in _NON_ALNUM.split(unmarked_lower(text)):
            if chunk in known or chunk.isalpha() or chunk.isdigit():
                parts: Iterable[str] = (chunk,)
            elif chunk in glue:
                tokens.extend(glue[chunk])
                continue
            else:
                parts = _TOKEN.findall(chunk)
            for token in parts:
                if token in known or token not in glue:
                    tokens.append(token)
                else:
                    tokens.extend(glue[token])

        # Opt-outs are looked for at every position, independently of the longest-match
        # scan below, so no other phrase can ever hide one.
        outs: list[_Entry] = []
        for i, token in enumerate(tokens):
            for entry in self._out_index.get(token, ()):
                if tuple(tokens[i : i + len(entry.words)]) == entry.words:
                    outs.append(entry)
                    break

        named: dict[str, str] = {}  # brand code -> the word that named it
        ins: list[_Entry] = []
        helps: list[_Entry] = []
        unknown = False
        i, n = 0, len(tokens)
        while i < n:
            token = tokens[i]
            for entry in self._index.get(token, ()):
                size = len(entry.words)
                if size == 1 or tuple(tokens[i : i + size]) == entry.words:
                    if entry.brand is not None:
                        named.setdefault(entry.brand, entry.keyword)
                    if entry.kind is _Kind.IN:
                        ins.append(entry)
                    elif entry.kind is _Kind.HELP:
                        helps.append(entry)
                    i += size
                    break
            else:
                if not (token.isdigit() or token in _FILLER_WORDS):
                    unknown = True
                i += 1

        for entry in outs:
            if entry.brand is not None:
                named.setdefault(entry.brand, entry.keyword)
        brand = next(iter(named)) if len(named) == 1 else None

        if outs:
            intent = Intent.OPT_OUT if brand is not None else Intent.OPT_OUT_ALL
            return ParsedInbound(intent, brand, outs[0].keyword, text)
        if helps:
            return ParsedInbound(Intent.HELP, brand, helps[0].keyword, text)
        if unknown:
            return ParsedInbound(Intent.UNKNOWN, None, None, text)
        if _QUESTION.search(text):
            return ParsedInbound(Intent.HELP, brand, "?", text)
        if brand is not None:
            keyword = ins[0].keyword if ins else named[brand]
            return ParsedInbound(Intent.OPT_IN, brand, keyword, text)
        if ins and not named and len(self._brands) == 1:
            return ParsedInbound(Intent.OPT_IN, self._brands[0], ins[0].keyword, text)
        return ParsedInbound(Intent.UNKNOWN, None, None, text)
