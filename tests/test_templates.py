"""Personalised templates: parsing, rendering, and how the preflight treats them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from _acme import ACME
from isobil import Client, FakeTransport, Message, OutcomeStatus, Recipient
from isobil.errors import TemplateError
from isobil.sms import Template, field_key


def test_render_with_values_and_fallbacks() -> None:
    """Values fill fields; an inline fallback beats the mapping; empty counts as missing."""
    template = Template(
        "Sayın {ad|Müşterimiz} {soyad}, {Şehir} mağazamız açıldı.", fallbacks={"soyad": "Bey/Hanım"}
    )
    assert template.fields == ("ad", "soyad", "sehir")
    assert template.render({"ad": "Ayşe", "soyad": "Işık", "sehir": "İzmir"}) == (
        "Sayın Ayşe Işık, İzmir mağazamız açıldı."
    )
    assert template.render({"ad": "", "sehir": "Bursa"}) == (
        "Sayın Müşterimiz Bey/Hanım, Bursa mağazamız açıldı."
    )
    assert template.missing({"ad": "Ali"}) == ("sehir",)
    with pytest.raises(TemplateError, match=r"no value for \{sehir\}"):
        template.render({})


def test_literal_braces_and_malformed_templates() -> None:
    """Doubled braces are literal; a stray brace or a bad name is a clear error."""
    assert Template("Kod: {{ABC}}").render({}) == "Kod: {ABC}"
    assert not Template("Kod: {{ABC}}").personalised
    with pytest.raises(TemplateError, match=r"unbalanced '\}' at character 4"):
        Template("abc}")
    with pytest.raises(TemplateError, match=r"unbalanced '\{' at character 7"):
        Template("Sayın {ad")
    with pytest.raises(TemplateError, match="invalid field name 'ad!'"):
        Template("{ad!}")


def test_field_keys_are_turkish_insensitive() -> None:
    """Field names match whatever the header looked like."""
    assert [field_key(n) for n in ("Şehir", "ŞEHİR", "Cep Tel", "doğum-günü")] == [
        "sehir",
        "sehir",
        "cep_tel",
        "dogum_gunu",
    ]


@given(
    st.lists(st.sampled_from(["ad", "soyad", "sehir", "puan"]), min_size=1, max_size=4),
    st.dictionaries(
        st.sampled_from(["ad", "soyad", "sehir", "puan"]),
        st.text(alphabet="abcçğıöşüABCÇĞİÖŞÜ 0123", max_size=8),
    ),
)
def test_a_rendered_text_never_carries_a_placeholder(
    fields: list[str], values: dict[str, str]
) -> None:
    """Either every field is filled, or rendering refuses: a literal {field} never comes out."""
    template = Template(" ".join("{" + f + "}" for f in fields))
    if template.missing(values):
        with pytest.raises(TemplateError):
            template.render(values)
    else:
        assert "{" not in template.render(values)


@pytest.fixture
def client() -> Client:
    return Client(ACME, transport=FakeTransport())


def test_personalised_send_blocks_missing_fields_and_costs_per_text(client: Client) -> None:
    """Each recipient gets their own text and plan; a missing field blocks only them."""
    long_name = "Ayşegül" * 25
    notice = Message("Sayın {ad} {soyad}, siparişiniz yolda.", category="informational")
    result = client.send(
        notice,
        to=[
            Recipient("05321234567", name="Ayşe", surname="Yılmaz"),
            Recipient("05331234567", name="Ali"),
            Recipient("05341234567", name=long_name, surname="Kaya"),
        ],
    )
    assert [o.status for o in result.outcomes] == [
        OutcomeStatus.SUBMITTED,
        OutcomeStatus.BLOCKED,
        OutcomeStatus.SUBMITTED,
    ]
    assert result.outcomes[1].rule_ids == ("ISOBIL-TEMPLATE-001",)
    assert "{soyad}" in (result.outcomes[1].reason or "")
    sent = client.transport.sent  # type: ignore[attr-defined]
    assert next(s.text for s in sent) == "Sayın Ayşe Yılmaz, siparişiniz yolda."
    assert [s.plan.parts for s in sent] == [1, 2]
    assert result.credits == 3


def test_values_come_from_the_address_book(client: Client) -> None:
    """A bare number is personalised from its stored contact and custom fields."""
    client.storage.upsert_contacts(
        [Recipient("05321234567", name="Zeynep", fields={"Şehir": "Van"})]
    )
    notice = Message("{ad}, {sehir} şubemizdeki randevunuz yarın.", category="informational")
    client.send(notice, to=["0532 123 45 67"])
    assert client.transport.sent[0].text == "Zeynep, Van şubemizdeki randevunuz yarın."  # type: ignore[attr-defined]


def test_a_promotion_added_by_a_field_is_caught_per_recipient(client: Client) -> None:
    """An informational template stays informational only if no value turns it into a promotion."""
    notice = Message("Sayın müşterimiz, {not} Kargo takip: acme.com.tr", category="informational")
    result = client.send(
        notice,
        to=[
            Recipient("05321234567", fields={"not": "siparişiniz yolda."}),
            Recipient("05331234567", fields={"not": "%20 indirim kazandınız!"}),
        ],
    )
    assert [o.status for o in result.outcomes] == [OutcomeStatus.SUBMITTED, OutcomeStatus.BLOCKED]
    assert result.outcomes[1].rule_ids == ("TR-NOCONSENT-001",)
