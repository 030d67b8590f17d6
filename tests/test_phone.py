"""Tests for ``isobil.phone``: shapes, errors, short numbers, classification and masking.

The agreement of the fast path with phonenumbers over a large generated grammar
lives in ``test_phone_agreement.py``.
"""

from __future__ import annotations

import re
from decimal import Decimal

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from isobil.errors import InvalidPhoneNumber, InvalidValue, IsobilError
from isobil.phone import (
    Normalizer,
    NumberKind,
    classify,
    id_repr,
    is_turkish_mobile,
    mask,
    normalize,
)
from isobil.phone._metadata import TR_MOBILE
from isobil.phone._normalize import SEPARATORS

MOBILE = "+905321234567"


@pytest.mark.parametrize(
    "raw",
    [
        "0532 123 45 67",
        "+90 (532) 123-4567",
        "5321234567",
        "905321234567",
        "00905321234567",
        "0090 532 123 45 67",
        "(0532) 123 45 67",
        "0532-123-45-67",
        "0532.123.45.67",
        "0532/123 45 67",
        "+90 532 123 45 67",
        "+90 0532 123 45 67",
        "+90 (0) 532 123 45 67",
        "(+90) 532 123 45 67",
        "+ 90 532 123 45 67",
        "00 90 532 123 45 67",
        "90 0532 123 45 67",
        "0 (532) 123 45 67",
        "0532 - 123 - 45 - 67",
        "0532–123–45–67",
        "[0532] 123 45 67",
        "\t0532 123 45 67\t",
        "\u00a00532\u00a0123\u00a045\u00a067\u00a0",
        "0532\u202f123\u202f45\u202f67",
        "\u200b0532\u200b123 45 67\u200d",
        "\ufeff05321234567",
        "\u202a+90 532 123 45 67\u202c",
        "0532\t123\t45\t67",
        "\n0532 123 45 67\r\n",
        "'05321234567",
        "＋９０ ５３２ １２３ ４５ ６７",
        "٠٥٣٢١٢٣٤٥٦٧",
        5321234567,
        905321234567,
        5321234567.0,
        905321234567.0,
        "5321234567.0",
        "905321234567.0",
        "5321234567.00",
        "5321234567,0",
        "5.321234567E9",
        "5.321234567e+09",
        "9.05321234567E+11",
        "5,321234567E+09",
        "5.3212345670E9",
        Decimal("5321234567"),
    ],
)
def test_every_shape_of_a_mobile_gives_the_same_e164(raw: str | int | float) -> None:
    """Each real-world shape of 0532 123 45 67 normalises to +905321234567."""
    assert normalize(raw) == MOBILE


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0212 123 45 67", "+902121234567"),
        ("(0212) 123 45 67", "+902121234567"),
        ("+90 216 123 45 67", "+902161234567"),
        ("0312 123 45 67", "+903121234567"),
        (2321234567, "+902321234567"),
        ("0512 123 45 67", "+905121234567"),
        ("0850 123 45 67", "+908501234567"),
        ("444 1 234", "+904441234"),
        ("0800 123 45 67", "+908001234567"),
        ("0900 123 45 67", "+909001234567"),
        ("0561 011 12 34", "+905610111234"),
        ("0582 212 34 56", "+905822123456"),
    ],
)
def test_other_turkish_numbers_are_read_by_phonenumbers(
    raw: str | int | float, expected: str
) -> None:
    """Landlines, pagers, VoIP, UAN, toll-free and special mobile ranges get phonenumbers' E.164."""
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+49 30 123456", "+4930123456"),
        ("0049 30 123456", "+4930123456"),
        ("+1 (201) 555-0123", "+12015550123"),
        ("+44 20 7946 0958", "+442079460958"),
        ("0044 (0)20 7946 0958", "+442079460958"),
        ("+994 50 123 45 67", "+994501234567"),
    ],
)
def test_foreign_numbers_with_plus_or_00_are_decided_by_phonenumbers(
    raw: str, expected: str
) -> None:
    """A number with its country code, after '+' or '00', keeps its own country."""
    assert normalize(raw) == expected


def test_region_reads_national_numbers_of_another_country() -> None:
    """With region="DE" a national number is German, and Turkish ones need their +90."""
    assert normalize("030 123456", region="DE") == "+4930123456"
    assert normalize("+90 532 123 45 67", region="de") == MOBILE
    assert normalize("0532 123 45 67", region="TR") == MOBILE


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("   \t ", "empty"),
        ("\u200b", "empty"),
        (None, "empty"),
        ("---", "no digits"),
        ("+", "no digits"),
        ("0532 123 45 6", "too few digits (9) for a Turkish number"),
        ("532123456", "too few digits (9) for a Turkish number"),
        ("053212345", "too few digits (8) for a Turkish number"),
        ("4605", "too few digits (4) for a Turkish number"),
        ("4605", "pass it in short_numbers"),
        ("0532 123 45 678", "too many digits (11) for a Turkish number"),
        ("05321234567890", "too many digits (13) for a Turkish number"),
        ("0561 123 45 67", "not a valid number for region TR"),
        ("+90 561 123 45 67", "not a valid number for region TR"),
        ("0592 123 45 67", "not a valid number for region TR"),
        ("0100 123 45 67", "not a valid number for region TR"),
        ("0532 ABC 45 67", "contains letters"),
        ("0532 123 45 67 ext 5", "contains letters"),
        ("0532 123 45 67 x5", "contains letters"),
        ("tel:05321234567", "contains letters"),
        ("0532#1234567", "contains an invalid character '#'"),
        ("*0532 123 45 67", "contains an invalid character '*'"),
        ("0532_123_45_67", "contains an invalid character '_'"),
        ("0532 123 45 67+", "'+' is only allowed at the start"),
        ("++90 532 123 45 67", "'+' is only allowed at the start"),
        ("+999 123 45 67", "unknown country code"),
        ("+1 201 555", "too few digits (6) for a number of region US"),
        ("+49 30", "too few digits (2) for a number of region DE: the area code is missing"),
        ("+49 3", "too few digits (3 in all)"),
        ("+1 2", "too few digits (2 in all)"),
        ("7", "too few digits (1 in all)"),
        ("0090", "too few digits after the international prefix"),
        ("+90 532 123 45 67 890 123 45", "too many digits (20 in all)"),
        ("+44 20 7946 09581234", "too many digits (14) for a number of region GB"),
        (True, "bool is not a phone number"),
        (False, "bool is not a phone number"),
        (float("nan"), "NaN is not a phone number"),
        (float("inf"), "infinite float is not a phone number"),
        (float("-inf"), "infinite float is not a phone number"),
        (5321234567.5, "float is not a whole number"),
        (-5321234567, "negative number"),
        (-5321234567.0, "negative number"),
        (1e20, "float too large to hold a phone number exactly"),
        ("5.32123E+09", "scientific notation has lost digits"),
        ("5.3212345E9", "scientific notation has lost digits"),
        ("5E9", "scientific notation has lost digits"),
        ("5.32123456701E9", "float is not a whole number"),
        (Decimal("NaN"), "NaN or infinity is not a phone number"),
        (Decimal("5321234567.5"), "float is not a whole number"),
        (b"05321234567", "bytes is not a phone number"),
        ([5321234567], "list is not a phone number"),
    ],
)
def test_invalid_input_raises_with_a_precise_reason(raw: object, reason: str) -> None:
    """Everything that is not a number raises InvalidPhoneNumber saying why, with the input."""
    with pytest.raises(InvalidPhoneNumber) as caught:
        normalize(raw)  # type: ignore[arg-type]  # wrong types are part of what is tested
    assert reason in caught.value.reason
    assert caught.value.value is raw or caught.value.value == raw


def test_invalid_phone_number_is_a_value_error_and_an_isobil_error() -> None:
    """Callers can catch the failure as ValueError, IsobilError or InvalidPhoneNumber."""
    with pytest.raises(ValueError, match=r"invalid phone number '0561 123 45 67'"):
        normalize("0561 123 45 67")
    with pytest.raises(IsobilError):
        normalize("0561 123 45 67")


def test_phonenumbers_errors_are_chained() -> None:
    """A parse failure inside phonenumbers is kept as the cause of InvalidPhoneNumber."""
    with pytest.raises(InvalidPhoneNumber) as caught:
        normalize("+999 123 45 67")
    assert isinstance(caught.value.__cause__, phonenumbers.NumberParseException)


def test_possible_but_invalid_numbers_are_rejected() -> None:
    """phonenumbers calls 0561 123 45 67 possible but not valid; validity decides."""
    number = phonenumbers.parse("0561 123 45 67", "TR")
    assert phonenumbers.is_possible_number(number)
    assert not phonenumbers.is_valid_number(number)
    with pytest.raises(InvalidPhoneNumber):
        normalize("0561 123 45 67")


def test_a_number_after_two_zeros_is_international() -> None:
    """'0 0532…' dials 00 + 53 (Cuba); phonenumbers' reading is kept, not second-guessed."""
    assert normalize("0 0532 123 45 67") == phonenumbers.format_number(
        phonenumbers.parse("0 0532 123 45 67", "TR"), phonenumbers.PhoneNumberFormat.E164
    )


@pytest.mark.parametrize("raw", ["4605", " 46 05 ", "46-05", 4605, 4605.0, "4605.0"])
def test_configured_short_numbers_are_returned_as_their_digits(raw: str | int | float) -> None:
    """A short number in short_numbers comes back as '4605', in any shape it is written."""
    assert normalize(raw, short_numbers={"4605", "3338"}) == "4605"
    assert Normalizer(short_numbers=["4605"])(raw) == "4605"


def test_short_numbers_do_not_change_other_numbers() -> None:
    """With short numbers configured, ordinary and invalid numbers behave as before."""
    assert normalize("0532 123 45 67", short_numbers={"4605"}) == MOBILE
    assert normalize("0212 123 45 67", short_numbers={"4605"}) == "+902121234567"
    with pytest.raises(InvalidPhoneNumber, match="too few digits"):
        normalize("4609", short_numbers={"4605"})
    with pytest.raises(InvalidPhoneNumber):
        normalize("+4605", short_numbers={"4605"})


@pytest.mark.parametrize(
    ("short_numbers", "message"),
    [
        ("4605", "collection of strings"),
        ({"46 05"}, "3 to 6 digits"),
        ({"46"}, "3 to 6 digits"),
        ({"4605123"}, "3 to 6 digits"),
        ({4605}, "3 to 6 digits"),
    ],
)
def test_bad_short_number_configuration_is_refused(short_numbers: object, message: str) -> None:
    """short_numbers must be strings of 3-6 digits; a lone string is not a collection."""
    with pytest.raises(InvalidValue, match=message):
        normalize("4605", short_numbers=short_numbers)  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match=message):
        Normalizer(short_numbers=short_numbers)  # type: ignore[arg-type]


@pytest.mark.parametrize("region", ["XX", "", "TUR", 90])
def test_unknown_region_is_refused(region: object) -> None:
    """A region that phonenumbers does not know is a configuration mistake, raised at once."""
    with pytest.raises(InvalidValue, match="unknown region"):
        Normalizer(region)  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match="unknown region"):
        normalize("0532 123 45 67", region)  # type: ignore[arg-type]


def test_normalizer_exposes_its_configuration() -> None:
    """A Normalizer keeps its region (upper case) and short numbers read-only, shown in repr."""
    normalizer = Normalizer("tr", short_numbers=("4605", "3338"))
    assert normalizer.region == "TR"
    assert normalizer.short_numbers == frozenset({"4605", "3338"})
    assert repr(normalizer) == "Normalizer('TR', short_numbers=['3338', '4605'])"
    with pytest.raises(AttributeError):
        normalizer.region = "DE"  # type: ignore[misc]  # read-only is the point


def test_str_and_float_subclasses_are_read_like_their_base() -> None:
    """Subclasses (as numpy and pandas hand out) take the careful path to the same answer."""

    class Text(str):
        pass

    class Number(float):
        pass

    assert normalize(Text("0532 123 45 67")) == MOBILE
    assert normalize(Number(5321234567.0)) == MOBILE


def test_mobile_pattern_is_phonenumbers_own() -> None:
    """The fast path's pattern is read from phonenumbers' TR metadata, not copied."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("TR")
    assert metadata is not None
    assert metadata.mobile is not None
    assert metadata.mobile.national_number_pattern == TR_MOBILE.pattern


def test_separators_include_every_unicode_whitespace() -> None:
    """Whatever str.isspace() accepts is treated as a separator, so no space leaks through."""
    spaces = {chr(point) for point in range(0x110000) if chr(point).isspace()}
    assert spaces - SEPARATORS == set()


@pytest.mark.parametrize(
    ("number", "kind"),
    [
        ("+905321234567", NumberKind.MOBILE),
        ("+905610111234", NumberKind.MOBILE),
        ("+902121234567", NumberKind.LANDLINE),
        ("+903121234567", NumberKind.LANDLINE),
        ("+905121234567", NumberKind.OTHER),
        ("+908501234567", NumberKind.OTHER),
        ("+904441234", NumberKind.OTHER),
        ("+908001234567", NumberKind.OTHER),
        ("+909001234567", NumberKind.OTHER),
        ("+905922111234", NumberKind.OTHER),
        ("+905611234567", NumberKind.OTHER),
        ("+4930123456", NumberKind.LANDLINE),
        ("+4915123456789", NumberKind.MOBILE),
        ("+12015550123", NumberKind.MOBILE),
        ("4605", NumberKind.SHORT),
    ],
)
def test_classify_follows_phonenumbers_number_type(number: str, kind: NumberKind) -> None:
    """Mobile, landline, short (configured) and other, with phonenumbers as the authority."""
    assert classify(number, short_numbers={"4605"}) == kind


def test_number_kind_values_are_plain_strings() -> None:
    """NumberKind is a str enum, so it compares and serialises as its value."""
    assert [kind.value for kind in NumberKind] == ["mobile", "landline", "short", "other"]
    assert str(NumberKind.MOBILE) == "mobile"
    assert f"{NumberKind.LANDLINE}" == "landline"
    assert NumberKind("short") is NumberKind.SHORT


@pytest.mark.parametrize("number", ["05321234567", "4605", "+90 532 123 45 67", "", "+0532"])
def test_classify_refuses_what_is_not_e164_or_a_configured_short_number(number: str) -> None:
    """classify() reads normalised numbers only; raw input must go through normalize()."""
    with pytest.raises(InvalidPhoneNumber, match="normalize"):
        classify(number)


def test_classify_unknown_country_code_raises() -> None:
    """An E.164-looking number with no such country code is not a number."""
    with pytest.raises(InvalidPhoneNumber, match="unknown country code"):
        classify("+9991234567")


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("+905321234567", True),
        ("+905121234567", False),
        ("+902121234567", False),
        ("+905611234567", False),
        ("05321234567", False),
        ("+9053212345678", False),
        ("+4915123456789", False),
        ("", False),
        (5321234567, False),
    ],
)
def test_is_turkish_mobile(number: str, expected: bool) -> None:
    """True only for a +90 mobile in E.164 form; never raises."""
    assert is_turkish_mobile(number) is expected


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("+905321234567", "+90********67"),
        ("+902121234567", "+90********67"),
        ("+904441234", "+90*****34"),
        ("+12015550123", "+1********23"),
        ("+4930123456", "+49******56"),
        ("+994501234567", "+994*******67"),
        ("+9991234567", "+********67"),
        ("4605", "4605"),
        ("123", "123"),
        ("0532 123 45 67", "************67"),
        ("hello", "***lo"),
        ("12", "**"),
        ("", ""),
    ],
)
def test_mask_keeps_country_code_and_last_two_digits(number: str, masked: str) -> None:
    """E.164 keeps +CC and two digits; short numbers stay; anything else shows two chars."""
    assert mask(number) == masked


def test_mask_of_a_non_string_never_raises() -> None:
    """mask() is used in reprs, so even a wrong type gives a masked string."""
    assert mask(5321234567) == "********67"  # type: ignore[arg-type]
    assert mask(None) == "None"  # an optional number in a repr


e164_numbers = st.builds(
    lambda code, rest: f"+{code}{rest}",
    st.sampled_from(sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)),
    st.text("0123456789", min_size=6, max_size=12),
)


@given(e164_numbers)
def test_mask_reveals_only_country_code_and_last_two_digits(number: str) -> None:
    """For any E.164 number the mask shows +CC, stars for the rest, and the last 2 digits."""
    masked = mask(number)
    code = next(
        str(c) for c in phonenumbers.COUNTRY_CODE_TO_REGION_CODE if number[1:].startswith(str(c))
    )
    hidden = len(number) - 1 - len(code) - 2
    assert masked == f"+{code}{'*' * hidden}{number[-2:]}"
    assert len(re.sub(r"[^0-9]", "", masked)) == len(code) + 2


@given(st.text())
def test_mask_of_any_text_shows_at_most_two_characters_or_a_short_number(text: str) -> None:
    """Whatever mask() is given, it reveals at most the last two characters (or +CC for E.164)."""
    masked = mask(text)
    assert len(masked) == len(text)
    if re.fullmatch(r"[0-9]{3,6}", text, re.ASCII):
        assert masked == text
    elif re.fullmatch(r"\+[0-9]{7,15}", text, re.ASCII):
        assert masked.startswith("+")
        assert masked[-2:] == text[-2:]
    else:
        assert masked[:-2] == "*" * max(len(text) - 2, 0)


@given(st.sampled_from(["532", "505", "542", "555"]), st.text("0123456789", min_size=7, max_size=7))
def test_masked_normalised_mobile_hides_the_subscriber(prefix: str, rest: str) -> None:
    """normalize() then mask() on a mobile leaves only +90 and the last two digits visible."""
    masked = mask(normalize(f"0{prefix} {rest}"))
    assert masked == "+90********" + rest[-2:]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("1311033503:5321234567", "'1311033503:********67'"),  # Netgsm: <job id>:<number>
        ("1311033503:5321234567#2", "'1311033503:********67#2'"),
        ("0a1b2c3d", "'0a1b2c3d'"),  # an SMPP id: nothing to hide
        ("12:34", "'12:34'"),
        (None, "None"),
        (("j:905321234567", "x"), "('j:**********67', 'x')"),
        (12345, "12345"),  # an adapter's id straight from JSON: shown, never raising
        ([1, "j:5321234567"], "(1, 'j:********67')"),
    ],
)
def test_id_repr_masks_a_number_an_id_ends_in(value: object, shown: str) -> None:
    assert id_repr(value) == shown  # type: ignore[arg-type]
