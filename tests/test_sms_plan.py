"""Segment plans: part boundaries of every encoding, exact payload bytes, and errors."""

from __future__ import annotations

import pytest

import isobil.sms
from isobil.errors import EncodingError, InvalidValue
from isobil.sms import Encoding, PartPayload, plan, transliterate_turkish

# Text that only the Turkish single shift table (or UCS-2) can carry: è is missing
# from the locking table and ş from the default alphabet. Costs 1 + 2 septets.
SINGLE_ONLY = "èş"
SINGLE_ONLY_SEPTETS = 3


def single_shift_text(septets: int) -> str:
    """A single-shift-only text of exactly ``septets`` septets."""
    return SINGLE_ONLY + "a" * (septets - SINGLE_ONLY_SEPTETS)


def test_public_names() -> None:
    """``__all__`` is the public API, and every name in it exists."""
    expected = {
        "DecodedPart",
        "Encoding",
        "PartPayload",
        "SegmentPlan",
        "Template",
        "decode",
        "field_key",
        "plan",
        "transliterate_turkish",
    }

    assert expected == set(isobil.sms.__all__)
    assert all(hasattr(isobil.sms, name) for name in isobil.sms.__all__)


def test_encoding_values() -> None:
    """The encoding names other code stores and compares are exactly these strings."""
    assert [e.value for e in Encoding] == ["gsm7", "gsm7-tr-single", "gsm7-tr-locking", "ucs2"]
    assert isinstance(Encoding.GSM7, str)
    assert f"{Encoding.GSM7_TR_SINGLE}" == "gsm7-tr-single"


# -- boundaries --------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "suffix", "parts"),
    [
        (160, 0, 1),
        (161, 0, 2),
        (155, 5, 1),
        (156, 5, 2),
        (301, 5, 2),  # 153 + 148: Turkish providers bill 156-301 as 2 credits
        (302, 5, 3),
        (454, 5, 3),
        (455, 5, 4),
    ],
)
def test_gsm7_single_and_concatenated_limits(length: int, suffix: int, parts: int) -> None:
    """GSM-7 holds 160 alone and 153 a part; the operator suffix comes off the last part."""
    result = plan("a" * length, operator_suffix=suffix)

    assert (Encoding.GSM7, parts) == (result.encoding, result.parts)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_gsm7_153_per_part(n: int) -> None:
    """Without a suffix, n parts hold 153·n septets and one more needs another part."""
    assert n == plan("a" * (153 * n), operator_suffix=0).parts
    assert n + 1 == plan("a" * (153 * n + 1), operator_suffix=0).parts


def test_operator_suffix_is_the_default() -> None:
    """The default reserves 5 units for the operator code: 155 fits, 156 does not."""
    assert (plan("a" * 155).parts, plan("a" * 155).units_left) == (1, 0)
    assert plan("a" * 156).parts == 2
    assert plan("").operator_suffix == 5


@pytest.mark.parametrize(
    ("septets", "suffix", "parts"),
    [
        (155, 0, 1),
        (156, 0, 2),
        (150, 5, 1),
        (151, 5, 2),
        (298, 0, 2),
        (299, 0, 3),
        (447, 0, 3),
        (448, 0, 4),
        (293, 5, 2),
        (294, 5, 3),
    ],
)
def test_turkish_single_shift_limits(septets: int, suffix: int, parts: int) -> None:
    """The national-language IE leaves 155 septets alone and 149 a part."""
    result = plan(single_shift_text(septets), operator_suffix=suffix)

    assert (Encoding.GSM7_TR_SINGLE, parts, septets) == (
        result.encoding,
        result.parts,
        result.units_used,
    )


@pytest.mark.parametrize(("count", "parts"), [(155, 1), (156, 2), (298, 2), (299, 3)])
def test_turkish_locking_shift_limits(count: int, parts: int) -> None:
    """Locking shift has the same 155/149 capacity, every ş one septet."""
    result = plan("ş" * count, operator_suffix=0)

    assert (Encoding.GSM7_TR_LOCKING, parts, count) == (
        result.encoding,
        result.parts,
        result.units_used,
    )


@pytest.mark.parametrize(
    ("length", "suffix", "parts"),
    [
        (70, 0, 1),
        (71, 0, 2),
        (65, 5, 1),
        (66, 5, 2),
        (134, 0, 2),
        (135, 0, 3),
        (201, 0, 3),
        (202, 0, 4),
        (129, 5, 2),
        (130, 5, 3),
    ],
)
def test_ucs2_limits(length: int, suffix: int, parts: int) -> None:
    """UCS-2 holds 70 alone and 67 a part; the suffix reserves UCS-2 code units."""
    result = plan("я" * length, operator_suffix=suffix)

    assert (Encoding.UCS2, parts) == (result.encoding, result.parts)


def test_escape_pair_at_a_part_edge_moves_whole() -> None:
    """A '{' that would straddle parts 1 and 2 goes whole to part 2; part 1 has 152 septets."""
    text = "a" * 152 + "{" + "b" * 10

    result = plan(text, operator_suffix=0)
    first, second = result.payloads()

    assert result.texts == ("a" * 152, "{" + "b" * 10)
    assert (len(first.body), second.body) == (152, b"\x1b\x28" + b"b" * 10)
    assert result.units_left == 153 * 2 - 164 - 1  # one septet of part 1 is lost


def test_euro_exactly_filling_a_part_stays() -> None:
    """A '€' whose escape pair ends exactly at septet 153 stays in part 1."""
    text = "a" * 151 + "€" + "b" * 10

    result = plan(text, operator_suffix=0)

    assert result.texts == ("a" * 151 + "€", "b" * 10)
    assert result.payloads()[0].body[-2:] == b"\x1b\x65"


def test_surrogate_pair_at_a_part_edge_moves_whole() -> None:
    """An emoji that would straddle UCS-2 parts goes whole to the next part."""
    text = "я" * 66 + "😀" + "я" * 10

    result = plan(text, operator_suffix=0)
    first, second = result.payloads()

    assert result.texts == ("я" * 66, "😀" + "я" * 10)
    assert (132, "😀".encode("utf-16-be")) == (len(first.body), second.body[:4])
    assert result.units_used == 78


def test_emoji_counts_two_units() -> None:
    """A character outside the BMP is two UTF-16 code units."""
    result = plan("😀" * 35, operator_suffix=0)

    assert (
        result.encoding,
        result.parts,
        result.units_used,
        result.units_left,
    ) == (Encoding.UCS2, 1, 70, 0)


def test_last_part_is_never_empty() -> None:
    """Text that fits full parts but not the suffix leaves its last character for the last part."""
    text = "a" * 303  # 153 + 150: part 2 would be full, leaving no room for the suffix

    result = plan(text)

    assert (result.parts, result.texts) == (3, ("a" * 153, "a" * 149, "a"))
    assert result.units_left == 454 - 303


def test_300_turkish_characters_go_out_in_3_parts_not_5() -> None:
    """Turkish text uses a national shift table (3 parts) instead of UCS-2 (5 parts)."""
    words = ["Şişli'de", "ığdır", "çğüöİ", "Ayşe", "Gül", "günaydın", "Çarşamba", "ödeme"]
    text = " ".join(words[i % len(words)] for i in range(60))[:300]
    assert len(text) == 300

    turkish = plan(text)
    without_tables = plan(text, national_shift=False)

    assert turkish.parts == 3
    assert turkish.encoding in (Encoding.GSM7_TR_SINGLE, Encoding.GSM7_TR_LOCKING)
    assert (without_tables.encoding, without_tables.parts) == (Encoding.UCS2, 5)
    assert {b"\x24\x01\x01", b"\x25\x01\x01"} & {p.udh[-3:] for p in turkish.payloads()}


def test_ties_prefer_single_over_locking() -> None:
    """When both Turkish tables need the same parts, single shift (more widely decoded) wins."""
    result = plan("Siparişiniz kargoya verildi.")

    assert (result.encoding, result.parts) == (Encoding.GSM7_TR_SINGLE, 1)


def test_locking_shift_wins_when_it_saves_a_part() -> None:
    """Locking shift is chosen only when it needs fewer parts than single shift."""
    text = "ş" * 100  # single shift: 200 septets, 2 parts; locking: 100 septets, 1 part

    assert (plan(text).encoding, plan(text).parts) == (Encoding.GSM7_TR_LOCKING, 1)


def test_default_alphabet_text_stays_gsm7_with_national_shift() -> None:
    """Text in the default alphabet is plain gsm7 even when the national tables are allowed."""
    assert plan("Ürün Çok Güzel @ 100$", national_shift=True).encoding == Encoding.GSM7


def test_euro_heavy_text_may_use_locking_shift() -> None:
    """€ is one septet in the Turkish locking table and two elsewhere: 100 € fit one part."""
    assert (plan("€" * 100).encoding, plan("€" * 100).parts) == (Encoding.GSM7_TR_LOCKING, 1)
    assert (
        plan("€" * 100, national_shift=False).encoding,
        plan("€" * 100, national_shift=False).parts,
    ) == (Encoding.GSM7, 2)


def test_national_shift_off_means_gsm7_or_ucs2() -> None:
    """With national_shift=False a Turkish letter forces UCS-2."""
    assert plan("Çağrı", national_shift=False).encoding == Encoding.UCS2


def test_empty_text() -> None:
    """Empty text is one gsm7 part with nothing used."""
    result = plan("")

    assert (
        result.encoding,
        result.parts,
        result.texts,
        result.units_used,
        result.units_left,
        result.characters,
    ) == (Encoding.GSM7, 1, ("",), 0, 155, 0)


def test_plan_reports_counts() -> None:
    """characters, credits and the nominal capacities are reported."""
    result = plan("Çağrı merkezi")

    assert (
        result.characters,
        result.credits,
        result.capacity_single,
        result.capacity_per_part,
        result.units_used,
    ) == (13, 1, 155, 149, 15)


# -- payload bytes -------------------------------------------------------------


def test_payload_of_a_short_turkish_message() -> None:
    """'Çağrı' goes out as single shift: UDH 03 24 01 01, Ç=09 a=61 ğ=1B 67 r=72 ı=1B 69."""
    expected = PartPayload(
        data_coding=0,
        esm_class=0x40,
        udh=bytes.fromhex("03240101"),
        body=bytes.fromhex("09611b67721b69"),
    )

    assert (expected,) == plan("Çağrı").payloads()
    assert bytes.fromhex("0324010109611b67721b69") == expected.short_message


def test_payload_of_a_locking_shift_message() -> None:
    """Locking shift announces IEI 0x25 and writes ş as the single septet 0x1D."""
    (payload,) = plan("ş" * 100).payloads()

    assert (0, 0x40, bytes.fromhex("03250101"), b"\x1d" * 100) == (
        payload.data_coding,
        payload.esm_class,
        payload.udh,
        payload.body,
    )


def test_payload_of_a_two_part_turkish_message() -> None:
    """Each part carries the concatenation IE and the shift IE: 08 00 03 ref 02 seq 24 01 01."""
    result = plan(single_shift_text(200))

    first, second = result.payloads(reference=0x7A)

    assert bytes.fromhex("0800037a0201240101") == first.udh
    assert bytes.fromhex("0800037a0202240101") == second.udh
    assert (first.esm_class, second.esm_class) == (0x40, 0x40)


def test_payload_of_a_two_part_gsm7_message() -> None:
    """A plain gsm7 concatenated part has UDH 05 00 03 ref 02 seq and no shift IE."""
    first, second = plan("a" * 200).payloads(reference=255)

    assert (bytes.fromhex("050003ff0201"), bytes.fromhex("050003ff0202")) == (
        first.udh,
        second.udh,
    )
    assert (first.body, second.body) == (b"a" * 153, b"a" * 47)


def test_payload_of_a_plain_gsm7_message_has_no_udh() -> None:
    """A one-part gsm7 message has no UDH and esm_class 0; '@' is septet 0x00."""
    (payload,) = plan("@ 1$").payloads()

    assert PartPayload(0, 0, b"", b"\x00\x20\x31\x02") == payload


def test_payload_of_a_ucs2_message() -> None:
    """UCS-2 is sent as UTF-16-BE with data_coding 8."""
    (payload,) = plan("Привет 😀").payloads()

    assert PartPayload(8, 0, b"", "Привет 😀".encode("utf-16-be")) == payload


@pytest.mark.parametrize("reference", [-1, 256])
def test_reference_out_of_range(reference: int) -> None:
    """A concatenation reference must fit in one octet."""
    with pytest.raises(InvalidValue, match="reference must be 0-255"):
        plan("a").payloads(reference)


def test_reference_must_be_an_int() -> None:
    """A bool is not accepted as a reference."""
    with pytest.raises(TypeError):
        plan("a").payloads(True)


# -- errors --------------------------------------------------------------------


@pytest.mark.parametrize("text", ["\ud800", "ok \udfff", "a" * 200 + "\udbff"])
def test_lone_surrogate_is_an_encoding_error(text: str) -> None:
    """A lone surrogate cannot be carried by any SMS encoding."""
    with pytest.raises(EncodingError, match="lone surrogate"):
        plan(text)


def test_too_many_parts() -> None:
    """More than 255 parts cannot be concatenated with an 8-bit reference."""
    assert plan("a" * (153 * 255), operator_suffix=0).parts == 255
    with pytest.raises(EncodingError, match="255"):
        plan("a" * (153 * 255 + 1), operator_suffix=0)


@pytest.mark.parametrize("suffix", [-1, 21, 1000])
def test_operator_suffix_out_of_range(suffix: int) -> None:
    """operator_suffix must be 0-20 units."""
    with pytest.raises(InvalidValue, match="operator_suffix"):
        plan("a", operator_suffix=suffix)


def test_operator_suffix_must_be_an_int() -> None:
    """A bool or float operator_suffix is a type error."""
    with pytest.raises(TypeError):
        plan("a", operator_suffix=True)
    with pytest.raises(TypeError):
        plan("a", operator_suffix=5.0)  # type: ignore[arg-type]


def test_text_must_be_a_str() -> None:
    """Bytes are not text."""
    with pytest.raises(TypeError):
        plan(b"abc")  # type: ignore[arg-type]


# -- transliteration -----------------------------------------------------------


def test_transliterate_turkish_letters() -> None:
    """ş ğ ı İ Ş Ğ ç and the circumflex vowels are replaced; Ç Ö Ü ö ü stay."""
    text = "Şişli ığdır ÇĞÜÖİ çğüöş hâlâ kâr millî Ûmran"

    assert transliterate_turkish(text) == "Sisli igdir ÇGÜÖI cgüös hala kar milli Umran"


def test_transliteration_saves_parts() -> None:
    """153 characters of Turkish need 2 parts with either shift table; transliterated, 1."""
    text = (
        "Sayın müşterimiz, şubemizdeki çiğköfte kampanyası başladı! İlk siparişinizde "
        "ışıl ışıl %20 indirim sizi bekliyor. Kaçırmayın, hemen alışveriş yapın!!!!!!"
    )
    assert len(text) == 153

    before = plan(text)
    after = plan(transliterate_turkish(text))
    before_ucs2 = plan(text, national_shift=False)

    assert (before.encoding, before.parts) == (Encoding.GSM7_TR_SINGLE, 2)
    assert (after.encoding, after.parts) == (Encoding.GSM7, 1)
    assert (before_ucs2.encoding, before_ucs2.parts) == (Encoding.UCS2, 3)


def test_transliteration_keeps_default_text() -> None:
    """Text already in the default alphabet is returned unchanged."""
    text = "Ürün Çok Güzel @ 100$"

    assert text == transliterate_turkish(text)


def test_locking_shift_false_plans_the_single_shift_table_instead() -> None:
    """Where the locking table would save a part, ``locking_shift=False`` (a provider
    with the single shift table only) counts the parts the single shift table takes."""
    text = "ş" * 10 + "a" * 140  # single shift: 160 septets, two parts; locking: one
    assert (plan(text).encoding.value, plan(text).parts) == ("gsm7-tr-locking", 1)
    single = plan(text, locking_shift=False)
    assert (single.encoding.value, single.parts) == ("gsm7-tr-single", 2)
    assert plan("şa", locking_shift=False) == plan("şa")  # one part either way
