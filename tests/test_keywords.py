"""Tests for ``isobil.consent._keywords``: folding, the inbound corpus, precedence, config.

The corpus (``tests/data/inbound_corpus.csv``) holds realistic inbound texts with the
reading each must get; every row is its own test, named after its line in the file.
"""

from __future__ import annotations

import csv
import functools
import time
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from isobil.consent._keywords import (
    DEFAULT_HELP_WORDS,
    DEFAULT_OPT_IN_WORDS,
    DEFAULT_OPT_OUT_WORDS,
    Intent,
    KeywordParser,
    ParsedInbound,
    fold,
)
from isobil.errors import InvalidValue
from isobil.model import Brand

CORPUS = Path(__file__).parent / "data" / "inbound_corpus.csv"

# The brands the corpus's `brands` column refers to, with the keywords recipients type.
BRANDS = {
    "ACME": Brand("ACME"),
    "ZETA": Brand("ZETA", keywords=("Zeta Giyim",)),
    "SUT": Brand("SUT", keywords=("SÜT", "Süt Dünyası")),
    "CICEK": Brand("CICEK", keywords=("ÇİÇEK", "Çiçekçim")),
    "ISIK": Brand("ISIK", keywords=("IŞIK", "Işık Optik")),
    "A101": Brand("A101"),
    "KAHVECI": Brand("KAHVECI", keywords=("KAHVECİ", "Kahveci Mehmet")),
}


@functools.cache
def parser_for(codes: str) -> KeywordParser:
    """The parser of a corpus row: its `brands` column is brand codes joined by `|`."""
    return KeywordParser([BRANDS[code] for code in codes.split("|")])


def _corpus_rows() -> list[Any]:
    """The corpus as pytest params, each named after the line its text starts on."""
    with CORPUS.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        rows = []
        for row in reader:
            # line_num is the line the row *ends* on; multi-line texts start earlier.
            start = reader.line_num - row["text"].count("\n")
            rows.append(pytest.param(row, id=f"line{start}"))
    return rows


ROWS = _corpus_rows()


@pytest.mark.parametrize("row", ROWS)
def test_corpus_row(row: dict[str, str]) -> None:
    """Each corpus text gets the intent and brand written next to it."""
    parsed = parser_for(row["brands"]).parse(row["text"])
    expected = (Intent(row["intent"]), row["brand"] or None)
    assert (parsed.intent, parsed.brand) == expected, (
        f"{row['text']!r} with brands {row['brands']}: got {parsed}"
    )
    assert parsed.text == row["text"]


def test_corpus_is_large_and_covers_every_intent() -> None:
    """The corpus is big enough to mean something and exercises every reading."""
    rows = [p.values[0] for p in ROWS]
    assert len(rows) >= 250
    assert {r["intent"] for r in rows} == {i.value for i in Intent}
    assert sum(r["intent"] in ("opt_out", "opt_out_all") for r in rows) >= 150
    assert {c for r in rows for c in r["brands"].split("|")} == set(BRANDS)


def test_no_corpus_opt_out_is_read_as_anything_else() -> None:
    """The Done-when of F1: no opt-out of the corpus is missed (all listed at once)."""
    missed = []
    for param in ROWS:
        row = param.values[0]
        if row["intent"] in ("opt_out", "opt_out_all"):
            parsed = parser_for(row["brands"]).parse(row["text"])
            if parsed.intent not in (Intent.OPT_OUT, Intent.OPT_OUT_ALL):
                missed.append(f"{param.id}: {row['text']!r} -> {parsed.intent}")
    assert not missed, "\n".join(missed)


# --- fold -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("  İPTAL!!  Acme ", "iptal acme"),
        ("ıptal", "iptal"),
        ("IPTAL", "iptal"),
        ("iptal", "iptal"),
        ("İptal", "iptal"),
        ("İPTAL".lower(), "iptal"),
        ("i\u0307ptal", "iptal"),
        ("ŞŞ ğĞ çÇ öÖ üÜ âÂ îÎ ûÛ", "ss gg cc oo uu aa ii uu"),
        ("Çıkar beni", "cikar beni"),
        ("ÇIKIŞ", "cikis"),
        ("ＲＥＴ", "ret"),
        ("R\u200bET", "ret"),
        ("RET\u00a0ACME", "ret acme"),
        ("ACME\r\n\tRET", "acme ret"),
        ("😡RET😡", "ret"),
        ("RET4605", "ret4605"),
        ("", ""),
        ("!?.", ""),
        ("ß", ""),
    ],
)
def test_fold_examples(text: str, folded: str) -> None:
    """Fold collapses the i-forms, strips Turkish marks and reduces the rest to spaces."""
    assert fold(text) == folded


@given(st.text())
def test_fold_is_idempotent_and_ascii(text: str) -> None:
    """Fold output is [a-z0-9 ] with single inner spaces, and folding twice changes nothing."""
    folded = fold(text)
    assert fold(folded) == folded
    assert set(folded) <= set("abcdefghijklmnopqrstuvwxyz0123456789 ")
    assert "  " not in folded
    assert folded == folded.strip()


@given(st.text(st.characters(codec=None, exclude_categories=())))
def test_parse_never_raises(text: str) -> None:
    """Any str, lone surrogates included, gets a reading and keeps its text."""
    parsed = parser_for("ACME|ZETA|SUT").parse(text)
    assert isinstance(parsed.intent, Intent)
    assert parsed.text is text


# --- hypothesis: typing variations ---------------------------------------------------

# Characters a phone user puts between or around words: none is a letter or digit.
SEPARATORS = " \t\n\r,.;:!-_/\\|()[]{}\"'*+#~–—…“”‘’«»·•\u00a0\u3000🙏😡👍📵🙂❤👉"
_SEP = st.text(st.sampled_from(SEPARATORS), min_size=1, max_size=4)
_NOISE = st.text(st.sampled_from(SEPARATORS), max_size=5)

# How each letter may be typed: both cases, and the Turkish letter it may stand for.
_VARIANTS = {
    "i": "iIİı",
    "c": "cCçÇ",
    "s": "sSşŞ",
    "g": "gGğĞ",
    "o": "oOöÖ",
    "u": "uUüÜ",
    "a": "aAâÂ",
}

PROP_BRANDS = [
    Brand("ACME"),
    Brand("MIGROS"),
    Brand("SUT", keywords=("SÜT", "Süt Dünyası")),
    Brand("ISIK", keywords=("IŞIK",)),
]
PROP_PARSER = KeywordParser(PROP_BRANDS)
_BRAND_WORDS = [(b.code, w) for b in PROP_BRANDS for w in (b.code, *b.keywords)]


def test_separators_separate() -> None:
    """Every separator the strategies use really splits two words when folded."""
    for char in SEPARATORS:
        assert fold(f"a{char}b") == "a b", repr(char)


@st.composite
def typed(draw: st.DrawFn, word: str) -> str:
    """``word`` as someone might type it: random case, Turkish letters, separators."""
    out = []
    for char in fold(word):
        if char == " ":
            out.append(draw(_SEP))
        else:
            variants = _VARIANTS.get(char, char + char.upper())
            out.append(draw(st.sampled_from(variants)))
    return "".join(out)


@given(
    st.sampled_from(_BRAND_WORDS),
    st.sampled_from(DEFAULT_OPT_OUT_WORDS),
    st.booleans(),
    st.data(),
)
def test_brand_and_opt_out_word_survive_typing(
    brand: tuple[str, str], word: str, brand_first: bool, data: st.DataObject
) -> None:
    """Case, dotted/dotless i, Turkish letters, separators and noise never hide an opt-out."""
    code, brand_word = brand
    parts = [data.draw(typed(brand_word)), data.draw(typed(word))]
    if not brand_first:
        parts.reverse()
    text = data.draw(_NOISE) + data.draw(_SEP).join(parts) + data.draw(_NOISE)
    parsed = PROP_PARSER.parse(text)
    assert (parsed.intent, parsed.brand) == (Intent.OPT_OUT, code), text


@given(
    st.sampled_from([b for b in PROP_BRANDS if len(b.code) >= 3]),
    st.sampled_from(DEFAULT_OPT_OUT_WORDS),
    st.booleans(),
    st.data(),
)
def test_brand_glued_to_opt_out_word(
    brand: Brand, word: str, brand_first: bool, data: st.DataObject
) -> None:
    """A brand code typed without a space before or after an opt-out word is still read."""
    parts = [data.draw(typed(brand.code)), data.draw(typed(word))]
    if not brand_first:
        parts.reverse()
    parsed = PROP_PARSER.parse("".join(parts))
    assert (parsed.intent, parsed.brand) == (Intent.OPT_OUT, brand.code), "".join(parts)


@given(
    st.text(),
    st.sampled_from(_BRAND_WORDS),
    st.sampled_from(DEFAULT_OPT_OUT_WORDS),
    st.integers(min_value=0),
    st.integers(min_value=0),
    st.data(),
)
def test_an_added_opt_out_word_always_wins(
    text: str,
    brand: tuple[str, str],
    word: str,
    brand_at: int,
    word_at: int,
    data: st.DataObject,
) -> None:
    """Whatever a text that names a brand says, adding an opt-out word makes it an opt-out."""
    brand_at %= len(text) + 1
    text = f"{text[:brand_at]} {brand[1]} {text[brand_at:]}"
    word_at %= len(text) + 1
    sep_before, sep_after = data.draw(_SEP), data.draw(_SEP)
    text = text[:word_at] + sep_before + data.draw(typed(word)) + sep_after + text[word_at:]
    assert PROP_PARSER.parse(text).intent in (Intent.OPT_OUT, Intent.OPT_OUT_ALL), text


# --- precedence ------------------------------------------------------------------------

ACME = KeywordParser([Brand("ACME")])
TWO = KeywordParser([Brand("ACME"), Brand("ZETA")])


@pytest.mark.parametrize(
    ("parser", "text", "expected"),
    [
        (ACME, "ACME RET", ParsedInbound(Intent.OPT_OUT, "ACME", "ret", "ACME RET")),
        (ACME, "RET", ParsedInbound(Intent.OPT_OUT_ALL, None, "ret", "RET")),
        (ACME, "İPTAL", ParsedInbound(Intent.OPT_OUT_ALL, None, "iptal", "İPTAL")),
        (ACME, "ACME", ParsedInbound(Intent.OPT_IN, "ACME", "acme", "ACME")),
        (ACME, "EVET ACME", ParsedInbound(Intent.OPT_IN, "ACME", "evet", "EVET ACME")),
        (ACME, "ONAY", ParsedInbound(Intent.OPT_IN, "ACME", "onay", "ONAY")),
        (TWO, "ONAY", ParsedInbound(Intent.UNKNOWN, None, None, "ONAY")),
        (ACME, "?", ParsedInbound(Intent.HELP, None, "?", "?")),
        (ACME, "ACME?", ParsedInbound(Intent.HELP, "ACME", "?", "ACME?")),
        (ACME, "yardım", ParsedInbound(Intent.HELP, None, "yardim", "yardım")),
        (TWO, "ZETA YARDIM", ParsedInbound(Intent.HELP, "ZETA", "yardim", "ZETA YARDIM")),
        (TWO, "ACME ZETA bilgi", ParsedInbound(Intent.HELP, None, "bilgi", "ACME ZETA bilgi")),
        (TWO, "RET ACME ZETA", ParsedInbound(Intent.OPT_OUT_ALL, None, "ret", "RET ACME ZETA")),
        (TWO, "ACME ZETA", ParsedInbound(Intent.UNKNOWN, None, None, "ACME ZETA")),
        (ACME, "", ParsedInbound(Intent.UNKNOWN, None, None, "")),
    ],
)
def test_readings(parser: KeywordParser, text: str, expected: ParsedInbound) -> None:
    """The documented readings, with the keyword that decided each."""
    assert parser.parse(text) == expected


@pytest.mark.parametrize(
    "text",
    ["ACME ONAY RET", "RET değil ONAY ACME", "ACME YARDIM RET", "ACME RET?", "ACME bilgi iptal"],
)
def test_opt_out_wins_over_opt_in_and_help(text: str) -> None:
    """An opt-out word anywhere beats opt-in words, help words and question marks."""
    assert ACME.parse(text).intent is Intent.OPT_OUT


@pytest.mark.parametrize(
    "text", ["ACME ONAY\nAhmet", "ACME kampanya var mı", "ONAY değil", "ACME ticaret"]
)
def test_unknown_words_block_an_opt_in(text: str) -> None:
    """A consent must be a clear statement: unrecognised words make the text UNKNOWN."""
    assert ACME.parse(text).intent is Intent.UNKNOWN


@pytest.mark.parametrize(
    "text", ["ticaret", "durum", "Kredi", "retro", "silah", "hayırlı", "endüstri", "çikolata"]
)
def test_opt_out_words_match_whole_tokens_only(text: str) -> None:
    """Words that merely contain an opt-out word are not opt-outs."""
    assert ACME.parse(text).intent is Intent.UNKNOWN


def test_short_brand_codes_do_not_split_words() -> None:
    """A one- or two-letter brand glued to a keyword is not split (asıl is not A SİL)."""
    parser = KeywordParser([Brand("A"), Brand("BU")])
    assert parser.parse("asıl").intent is Intent.UNKNOWN
    assert parser.parse("budur").intent is Intent.UNKNOWN
    assert parser.parse("A SİL").intent is Intent.OPT_OUT


def test_glued_brand_with_digits_and_phrases() -> None:
    """Glued forms work for codes with digits and for multi-word brand keywords."""
    parser = KeywordParser([Brand("A101"), Brand("ZETA", keywords=("Zeta Giyim",))])
    for text, code in [
        ("A101RET", "A101"),
        ("RETA101", "A101"),
        ("ZETAGİYİMRET", "ZETA"),
        ("Zeta GiyimRET", "ZETA"),
        ("RETZETA", "ZETA"),
    ]:
        assert parser.parse(text).brand == code, text
        assert parser.parse(text).intent is Intent.OPT_OUT, text


def test_no_brands_configured() -> None:
    """Without brands, opt-outs still apply to everything and nothing else is actionable."""
    parser = KeywordParser([])
    assert parser.parse("RET ACME").intent is Intent.OPT_OUT_ALL
    assert parser.parse("ONAY").intent is Intent.UNKNOWN
    assert parser.parse("ACME").intent is Intent.UNKNOWN


# --- configuration ---------------------------------------------------------------------


def test_configured_words_are_folded() -> None:
    """Words are given in any spelling and replace the defaults entirely."""
    parser = KeywordParser(
        [Brand("ACME")], opt_out_words=["İPTAL", "Beni Çıkar"], opt_in_words="ONAYLIYORUM"
    )
    assert parser.opt_out_words == ("iptal", "beni cikar")
    assert parser.opt_in_words == ("onayliyorum",)
    assert parser.parse("acme ıptal").intent is Intent.OPT_OUT
    assert parser.parse("BENİ ÇIKAR").intent is Intent.OPT_OUT_ALL
    assert parser.parse("ACME ONAYLIYORUM").intent is Intent.OPT_IN
    # "ret" is no longer configured, so it is an unknown word
    assert parser.parse("ACME RET").intent is Intent.UNKNOWN


def test_per_brand_words() -> None:
    """A per-brand word means its brand even when the brand is not named."""
    parser = KeywordParser(
        [Brand("ACME"), Brand("ZETA")],
        brand_opt_out_words={"acme": ["ACMESTOP", "Acme'yi bırak"]},
        brand_opt_in_words={"ZETA": ["Zetacı"]},
    )
    assert parser.parse("ACMESTOP") == ParsedInbound(Intent.OPT_OUT, "ACME", "acmestop", "ACMESTOP")
    assert parser.parse("ACME’Yİ BIRAK").brand == "ACME"
    assert parser.parse("ZETACI") == ParsedInbound(Intent.OPT_IN, "ZETA", "zetaci", "ZETACI")
    assert parser.parse("ZETACI RET").intent is Intent.OPT_OUT
    assert parser.parse("ACMESTOP ZETA").intent is Intent.OPT_OUT_ALL


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"opt_out_words": ["ret", "!!!"]}, "empty once folded"),
        ({"opt_in_words": [""]}, "empty once folded"),
        (
            {"opt_in_words": ["onay", "İPTAL"]},
            "'iptal' is configured as opt-out word and as opt-in",
        ),
        ({"help_words": ["ret"]}, "only one meaning"),
        ({"brands": [Brand("STOP")]}, "'stop' is configured as brand word of brand STOP"),
        ({"brands": [Brand("ACME", keywords=("onay",))]}, "brand word of brand ACME"),
        ({"brands": [Brand("ACME", keywords=("Z",)), Brand("Z")]}, "brand word of brand ACME"),
        ({"brands": [Brand("RED-BULL")]}, "contains the opt-out word 'red'"),
        ({"brands": [Brand("SHOP", keywords=("Stop Shop",))]}, "contains the opt-out word"),
        ({"opt_in_words": ["ret ver"]}, "contains the opt-out word 'ret'"),
        ({"brand_opt_out_words": {"NOPE": ["x"]}}, "unknown brand 'NOPE'"),
        ({"brand_opt_out_words": {"ACME": ["iptal"]}}, "opt-out word of brand ACME"),
        ({"brand_opt_in_words": {"ACME": ["acme"]}}, "only one meaning"),
        ({"brands": [Brand("ACME"), Brand("ACME")]}, "duplicate brand code ACME"),
        ({"brands": ["ACME"]}, "must be isobil.model.Brand"),
    ],
)
def test_invalid_configuration(kwargs: dict[str, Any], message: str) -> None:
    """Ambiguous or empty configuration is refused with a message saying what clashes."""
    brands = kwargs.pop("brands", [Brand("ACME")])
    with pytest.raises(InvalidValue, match=message):
        KeywordParser(brands, **kwargs)


def test_default_word_lists_are_folded_and_disjoint() -> None:
    """The defaults are stored folded, without duplicates, and no word has two meanings."""
    lists = (DEFAULT_OPT_OUT_WORDS, DEFAULT_OPT_IN_WORDS, DEFAULT_HELP_WORDS)
    for words in lists:
        assert all(fold(w) == w for w in words)
        assert len(set(words)) == len(words)
    assert not set(DEFAULT_OPT_OUT_WORDS) & set(DEFAULT_OPT_IN_WORDS)
    assert not (set(DEFAULT_OPT_OUT_WORDS) | set(DEFAULT_OPT_IN_WORDS)) & set(DEFAULT_HELP_WORDS)
    assert KeywordParser([]).opt_out_words == DEFAULT_OPT_OUT_WORDS


def test_parsed_inbound_is_frozen() -> None:
    """A reading cannot be changed after the fact (it is evidence)."""
    parsed = ACME.parse("ACME RET")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        parsed.intent = Intent.OPT_IN  # type: ignore[misc]


def test_parse_is_fast() -> None:
    """Parsing is microseconds per text; the bound is loose so only a regression trips it."""
    parser = parser_for("ACME|ZETA|SUT")
    texts = [p.values[0]["text"] for p in ROWS] * 10
    start = time.perf_counter()
    for text in texts:
        parser.parse(text)
    per_text = (time.perf_counter() - start) / len(texts)
    assert per_text < 200e-6, f"{per_text * 1e6:.1f} µs per text"
