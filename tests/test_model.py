"""Value types: validated at construction, frozen, numbers masked in reprs."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs
import pytest

import isobil
from isobil import (
    Brand,
    InvalidIdentifier,
    InvalidPhoneNumber,
    InvalidValue,
    Message,
    MessageCategory,
    Recipient,
    RecipientType,
    Sender,
    SenderKind,
    sms,
)
from isobil.consent import LedgerAnchor, ManualClock, add_business_days
from isobil.model import ConsentEvent
from isobil.testing.storage import _NoOffset  # the contract suite's floating tzinfo
from isobil.transport import OutboundSms


def test_issue_example_constructors() -> None:
    """The constructors shown in the documentation work as written."""
    sender = isobil.Sender(
        name="Acme Ticaret A.Ş.",
        mersis="0123456789012345",
        contact="0850 123 45 67",
        originator="ACME",
        brands=[isobil.Brand("ACME")],
        short_number="4605",
    )
    msg = isobil.Message("Siparişiniz kargoya verildi.", category="informational", brand="ACME")
    assert sender.kind is SenderKind.COMPANY
    assert sender.brands == (Brand("ACME"),)
    assert msg.category is MessageCategory.INFORMATIONAL
    assert msg.brand == "ACME"


def test_sole_trader_inferred_from_tckn() -> None:
    """A sender with a TCKN and no MERSİS is a sole trader; the TCKN is kept out of repr."""
    sender = Sender(name="Ali Veli", tckn="10000000146")
    assert sender.kind is SenderKind.SOLE_TRADER
    assert "10000000146" not in repr(sender)


def test_exempt_kinds() -> None:
    """Only companies and sole traders are inside the regulation (R-EXEMPT)."""
    exempt = {k for k in SenderKind if k.exempt}
    assert {SenderKind.COMPANY, SenderKind.SOLE_TRADER}.isdisjoint(exempt)
    assert SenderKind.LOCAL_ADMINISTRATION in exempt
    assert Sender(name="Kadıköy Belediyesi", kind="local_administration").kind.exempt


@pytest.mark.parametrize(
    ("originator", "fragment"),
    [
        ("AC", "3-11 ASCII"),
        ("ACMEACMEACME", "3-11 ASCII"),
        ("ŞİRKET", "Turkish letters are not allowed (İŞ)"),
        ("12345", "not only digits"),
        ("AC/ME", "3-11 ASCII"),
    ],
)
def test_bad_originators(originator: str, fragment: str) -> None:
    """Originators follow BTK practice: 3-11 characters, no Turkish letters."""
    with pytest.raises(InvalidIdentifier) as info:
        Sender(name="Acme", originator=originator)
    assert fragment in str(info.value)


def test_good_originators() -> None:
    """Letters, digits and a few separators within 3-11 characters are accepted."""
    for originator in ("ACM", "ACME-SHOP", "Acme Shop", "A.C.M.E 24"):
        assert Sender(name="Acme", originator=originator).originator == originator


def test_invalid_identifiers_rejected() -> None:
    """A present MERSİS or TCKN must be well formed; absent ones are left to the rules."""
    with pytest.raises(InvalidIdentifier, match="MERSIS"):
        Sender(name="Acme", mersis="123")
    with pytest.raises(InvalidIdentifier, match="TCKN"):
        Sender(name="Ali Veli", tckn="17291716050")
    assert Sender(name="Acme").mersis is None


def test_brand_codes() -> None:
    """Brand codes are upper-cased ASCII; duplicates and unknown lookups are explained."""
    assert Brand(" acme ").code == "ACME"
    assert Brand("ACME", keywords="ACMESHOP").keywords == ("ACMESHOP",)
    with pytest.raises(InvalidValue, match="invalid brand code"):
        Brand("AÇME")
    with pytest.raises(InvalidValue, match="duplicate brand codes: ACME"):
        Sender(name="Acme", brands=["ACME", "acme"])
    sender = Sender(name="Acme", brands=["ACME", "ZETA"])
    assert sender.brand("zeta").code == "ZETA"
    with pytest.raises(InvalidValue, match="this sender has ACME, ZETA"):
        sender.brand("OMEGA")


def test_opt_out_text() -> None:
    """The default opt-out instruction is Turkish and names brand and short number."""
    sender = Sender(name="Acme", brands=["ACME"], short_number="4605")
    assert sender.opt_out_text() == "Ret için ACME RET yazıp 4605 numarasına gönderin."
    assert Sender(name="Acme").opt_out_text() is None
    custom = Sender(name="Acme", opt_out="RET yaz 3838'e gönder")
    assert custom.opt_out_text("ACME") == "RET yaz 3838'e gönder"
    with pytest.raises(InvalidValue, match="short number"):
        Sender(name="Acme", short_number="46O5")


def test_message_category_errors_list_choices() -> None:
    """A wrong category names the accepted values; the default is the strictest."""
    assert Message("Merhaba").category is MessageCategory.COMMERCIAL
    with pytest.raises(InvalidValue, match="'commercial', 'informational', 'legally_required'"):
        Message("Merhaba", category="promo")
    with pytest.raises(InvalidValue, match="non-empty"):
        Message("   ")


def test_recipient_normalises_and_masks() -> None:
    """A recipient's number is E.164 from any shape, and its repr hides the middle digits."""
    recipient = Recipient(
        5321234567.0, name="Ayşe", fields={"sehir": "İzmir", "puan": 120}, recipient_type="TACIR"
    )
    assert recipient.number == "+905321234567"
    assert recipient.fields == {"sehir": "İzmir", "puan": "120"}
    assert recipient.recipient_type is RecipientType.TACIR
    assert "1234567" not in repr(recipient)
    with pytest.raises(InvalidPhoneNumber):
        Recipient("12345")


def test_values_are_frozen() -> None:
    """Value types cannot be changed after construction."""
    recipient = Recipient("05321234567")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        recipient.number = "+905331234567"  # type: ignore[misc]
    with pytest.raises(TypeError):
        recipient.fields["x"] = "y"  # type: ignore[index]


@pytest.mark.parametrize(
    "when",
    [
        datetime(2026, 3, 1, 9, 0),
        datetime(2026, 3, 1, 9, 0, tzinfo=_NoOffset()),
        "2026-03-01",
        None,
    ],
)
def test_a_time_must_name_a_moment(when: object) -> None:
    """A naive time (no tzinfo, or one without a UTC offset), a non-time or a missing
    one is refused wherever isobil needs a time — here a consent event, a ledger anchor,
    a business-day count, İYS's manual clock, a message's send time (which may be left
    out: None) — naming what was wrong."""
    aware = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    with pytest.raises(InvalidValue, match="consent_date must be a timezone-aware datetime"):
        ConsentEvent("05321234567", "ONAY", "HS_WEB", "ACME", when, aware)  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match="ManualClock's start must be a timezone-aware"):
        ManualClock(when)  # type: ignore[arg-type]
    if when is None:
        assert OutboundSms("m1", "+905321234567", sms.plan("x"), send_at=None).send_at is None
        return
    with pytest.raises(InvalidValue, match="send_at must be a timezone-aware datetime"):
        OutboundSms("m1", "+905321234567", sms.plan("x"), send_at=when)  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match="taken_at must be a timezone-aware datetime"):
        LedgerAnchor(3, "a" * 64, 3, when)  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match="start must be a timezone-aware datetime"):
        add_business_days(when, 1)  # type: ignore[arg-type]
