"""The address book: contacts by normalised number, and lazy groups of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from isobil.contacts import ContactBook, Group
from isobil.errors import InvalidPhoneNumber, InvalidValue
from isobil.model import Recipient, RecipientType
from isobil.storage import MemoryStorage


@pytest.fixture
def book() -> ContactBook:
    return ContactBook(MemoryStorage())


def test_add_get_and_the_same_number_in_any_shape(book: ContactBook) -> None:
    """A number in any shape is one contact; add replaces it and keeps its groups."""
    added = book.add("0532 123 45 67", name="Ayşe", fields={"sehir": "İzmir"}, groups=["VIP"])
    assert added == Recipient("+905321234567", "Ayşe", None, None, {"sehir": "İzmir"})
    assert book.get("+90 (532) 123-4567") == added
    book.add("5321234567", name="Ayşe Nur", recipient_type="TACIR")
    assert len(book) == 1
    again = book.get("05321234567")
    assert again is not None
    assert (again.name, again.recipient_type, dict(again.fields)) == (
        "Ayşe Nur",
        RecipientType.TACIR,
        {},
    )
    assert book.groups_of("05321234567") == {"VIP"}
    assert "0532 123 45 67" in book
    assert "05321234568" not in book
    assert "yok" not in book
    assert 5 not in book
    assert book.get("05321234568") is None
    with pytest.raises(InvalidPhoneNumber):
        book.add("123")


def test_update_changes_only_what_is_given(book: ContactBook) -> None:
    """update() changes named values, validates them, and refuses unknown contacts."""
    book.add("05321234567", name="Ayşe", email="a@example.com", fields={"sehir": "İzmir"})
    updated = book.update("0532 123 45 67", surname="Yılmaz", recipient_type="TACIR")
    assert updated == Recipient(
        "+905321234567", "Ayşe", "Yılmaz", "a@example.com", {"sehir": "İzmir"}, "TACIR"
    )
    assert book.get("05321234567") == updated
    assert book.update("05321234567", fields={"puan": 5}).fields == {"puan": "5"}
    with pytest.raises(InvalidValue, match="not in the address book"):
        book.update("05321234568", name="x")
    with pytest.raises(InvalidValue, match="cannot update number"):
        book.update("05321234567", number="05321234568")
    with pytest.raises(InvalidValue, match="invalid recipient type"):
        book.update("05321234567", recipient_type="KOOPERATIF")


def test_remove_and_find(book: ContactBook) -> None:
    """remove() deletes a contact with its memberships; find() searches names and numbers."""
    book.add("05321234567", name="Çağrı", surname="Işık", groups=["VIP"])
    book.add("05321234568", name="Ali", surname="Kaya")
    assert [c.name for c in book.find("kaya")] == ["Ali"]
    assert [c.name for c in book.find("1234567")] == ["Çağrı"]
    assert book.remove("0532 123 45 67") is True
    assert book.remove("0532 123 45 67") is False
    assert len(book) == 1
    assert book.groups() == {}


def test_groups_are_lazy_audiences(book: ContactBook) -> None:
    """A group iterates its members from storage, knows its size, gains and loses members."""
    for n in range(3):
        book.add(f"0532123456{n}", name=f"K{n}")
    vip = book.group("VIP")
    assert isinstance(vip, Group)
    assert len(vip) == 0
    assert list(vip) == []
    assert vip.add(["05321234560", "+90 532 123 45 62"]) == 2
    assert vip.add("05321234560") == 0
    assert [c.name for c in vip] == ["K0", "K2"]
    assert len(vip) == 2
    assert "05321234562" in vip
    assert "05321234561" not in vip
    assert "yok" not in vip
    assert None not in vip
    assert book.groups() == {"VIP": 2}
    with pytest.raises(InvalidValue, match="not in the address book"):
        vip.add(["05321234569"])
    assert vip.remove(["05321234560"]) == 1
    assert [c.name for c in vip] == ["K2"]
    assert repr(vip) == "Group('VIP')"
    with pytest.raises(InvalidValue, match="non-empty name"):
        book.group("  ")


def test_book_imports_and_exports(book: ContactBook, tmp_path: Path) -> None:
    """import_file and export are the book's doors to files (details in the other tests)."""
    path = tmp_path / "r.csv"
    path.write_text("Ad;Telefon\r\nAyşe;0532 123 45 67\r\n", encoding="utf-8")
    assert book.import_file(path, group="Yeni").imported == 1
    assert [c.name for c in book.group("Yeni")] == ["Ayşe"]
    assert book.export(tmp_path / "out.xlsx", group="Yeni") == 1
    assert [c.number for c in book] == ["+905321234567"]
