"""Inbound opt-in / opt-out over SMS, end to end through the Client and the fake transport."""

from __future__ import annotations

from pathlib import Path

import pytest

from _acme import IYS_NOT_WIRED
from isobil import Brand, Client, FakeTransport, Message, OutcomeStatus, Sender
from isobil.consent import AutoReplies
from isobil.contacts import export_blacklist, import_blacklist
from isobil.model import ConsentStatus
from isobil.storage import MessageState

#: İYS is not wired in these tests: registration stays unknown, acknowledged.
ACK = IYS_NOT_WIRED

COMMERCIAL = Message(
    "KAMPANYA: Tüm ürünlerde %20 indirim! acme.com.tr/kampanya "
    "Ret için ACME RET yazıp 4605'e gönderin.",
    brand="ACME",
)


@pytest.fixture
def sender() -> Sender:
    return Sender(
        name="Acme Ticaret A.Ş.",
        mersis="0123456789012345",
        contact="0850 123 45 67",
        originator="ACME",
        brands=[Brand("ACME"), Brand("ZETA", keywords=["ZETAMARKET"])],
        short_number="4605",
    )


@pytest.fixture
def fake() -> FakeTransport:
    return FakeTransport()


@pytest.fixture
def client(sender: Sender, fake: FakeTransport) -> Client:
    return Client(sender, transport=fake, inbound_numbers={"0850 123 45 99": ["ZETA"]})


def test_acme_ret_stops_later_messages_and_is_answered(client: Client, fake: FakeTransport) -> None:
    """ "acme ret" to 4605: RET in the ledger, an auto reply, and the next campaign skips them."""
    client.consent.record("05321234567", "ONAY", source="HS_FIZIKSEL_ORTAM", brand="ACME")
    client.consent.record("05331234567", "ONAY", source="HS_ISLAK_IMZA", brand="ACME")
    first = client.send(COMMERCIAL, to=["05321234567", "05331234567"], acknowledge=ACK)
    assert len(first.submitted) == 2
    fake.receive("+905321234567", "4605", "acme ret")
    assert client.consent.state("+905321234567", brand="ACME") is ConsentStatus.RET
    reply = fake.sent[-1]
    assert reply.to == "+905321234567"
    assert reply.text.startswith("ACME ticari ileti ret talebiniz alındı.")
    second = client.send(COMMERCIAL, to=["05321234567", "05331234567"], acknowledge=ACK)
    assert [o.status for o in second.outcomes] == [OutcomeStatus.BLOCKED, OutcomeStatus.SUBMITTED]
    assert second.blocked[0].rule_ids == ("TR-OPTOUT-001",)
    assert (second.blocked[0].reason or "").startswith("TR-OPTOUT-001: the recipient opted out")
    message_id = second.blocked[0].message_id
    assert message_id is not None
    assert client.message(message_id).state is MessageState.BLOCKED
    assert client.consent.verify().ok


def test_opt_out_does_not_block_informational_or_other_brands(
    client: Client, fake: FakeTransport
) -> None:
    """A RET for ACME binds ACME's commercial messages only."""
    fake.receive("05321234567", "4605", "RET ACME")
    notice = Message("Siparişiniz kargoya verildi.", category="informational", brand="ACME")
    assert client.send(notice, to="05321234567").outcomes[0].status is OutcomeStatus.SUBMITTED
    client.consent.record("05321234567", "ONAY", source="HS_ISLAK_IMZA", brand="ZETA")
    zeta = Message("DUYURU: ZETA yeni sezon zeta.com.tr Ret: ZETA RET 4605", brand="ZETA")
    sent = client.send(zeta, to="05321234567", acknowledge=ACK)
    assert sent.outcomes[0].status is OutcomeStatus.SUBMITTED


def test_opt_in_by_sms_is_recorded_with_its_evidence(client: Client, fake: FakeTransport) -> None:
    """The brand alone is an opt-in (ONAY, source HS_MESAJ) with the message as proof."""
    fake.receive("0532 123 45 67", "4605", "ACME")
    [event] = client.consent.history("05321234567")
    assert (event.status.value, event.source.value, event.brand) == ("ONAY", "HS_MESAJ", "ACME")
    assert event.evidence["text"] == "ACME"
    assert event.evidence["to"] == "4605"
    assert event.evidence["provider_id"].startswith("fake-mo-")
    assert fake.sent[-1].text.startswith("ACME ticari ileti onayınız alındı. Ret için ACME RET")
    [inbound] = list(client.storage.iter_inbound())
    assert (inbound.intent, inbound.brand, inbound.consent_seqs) == ("opt_in", "ACME", (1,))
    assert inbound.reply_id == fake.sent[-1].id


def test_bare_ret_opts_out_of_every_brand_on_that_number(
    client: Client, fake: FakeTransport
) -> None:
    """RET without a brand to the shared number withdraws consent for all its brands."""
    fake.receive("05321234567", "4605", "RET")
    assert client.consent.state("05321234567", brand="ACME") is ConsentStatus.RET
    assert client.consent.state("05321234567", brand="ZETA") is ConsentStatus.RET
    assert "ACME, ZETA" in fake.sent[-1].text


def test_routing_by_receiving_number(client: Client, fake: FakeTransport) -> None:
    """A bare RET to ZETA's dedicated number opts out of ZETA only."""
    fake.receive("05321234567", "+90 850 123 45 99", "RET")
    assert client.consent.state("05321234567", brand="ZETA") is ConsentStatus.RET
    assert client.consent.state("05321234567", brand="ACME") is None


def test_unknown_text_is_kept_and_not_answered(client: Client, fake: FakeTransport) -> None:
    """Unknown texts are recorded for the report; by default no reply is sent."""
    fake.receive("05321234567", "4605", "kampanya ne zaman bitiyor?")
    [inbound] = list(client.storage.iter_inbound())
    assert (inbound.intent, inbound.consent_seqs, inbound.reply_id) == ("unknown", (), None)
    assert fake.sent == []


def test_replies_are_configurable(sender: Sender, fake: FakeTransport) -> None:
    """Auto replies can be changed or switched off per case."""
    replies = AutoReplies(opt_out="{brand}: listeden çıkarıldınız.", opt_in=None)
    _client = Client(sender, transport=fake, replies=replies)  # listens on the fake
    fake.receive("05321234567", "4605", "ACME")
    assert fake.sent == []
    fake.receive("05321234567", "4605", "ACME RET")
    assert [s.text for s in fake.sent] == ["ACME: listeden çıkarıldınız."]


def test_same_day_confirmation_for_electronic_consent(client: Client, fake: FakeTransport) -> None:
    """Consent from a web form gets the confirmation SMS with an opt-out, the same day."""
    client.consent.record(
        "05321234567", "ONAY", source="HS_WEB", brand="ACME", evidence={"form": "uyelik"}
    )
    [confirmation] = fake.sent
    assert confirmation.to == "+905321234567"
    assert "ACME ticari elektronik ileti onayınız" in confirmation.text
    assert "ACME RET yazıp 4605 numarasına" in confirmation.text


def test_no_confirmation_for_paper_or_old_consent(client: Client, fake: FakeTransport) -> None:
    """Paper consent and imported history from past days trigger no SMS."""
    from datetime import UTC, datetime

    client.consent.record("05321234567", "ONAY", source="HS_ISLAK_IMZA", brand="ACME")
    client.consent.record(
        "05331234567",
        "ONAY",
        source="HS_WEB",
        brand="ACME",
        consent_date=datetime(2024, 5, 1, 10, tzinfo=UTC),
    )
    client.consent.record("05341234567", "RET", source="HS_WEB", brand="ACME")
    assert fake.sent == []


def test_blacklisted_numbers_receive_nothing(
    client: Client, fake: FakeTransport, tmp_path: Path
) -> None:
    """The blacklist blocks every category, and round-trips through CSV."""
    client.blacklist.add("0532 123 45 67", reason="complaint", source="call centre")
    assert "05321234567" in client.blacklist
    notice = Message("Siparişiniz kargoya verildi.", category="legally_required")
    result = client.send(notice, to=["05321234567", "05331234567"])
    assert [o.status for o in result.outcomes] == [OutcomeStatus.BLOCKED, OutcomeStatus.SUBMITTED]
    assert result.blocked[0].rule_ids == ("ISOBIL-BLACKLIST-001",)
    assert result.blocked[0].reason == (
        "ISOBIL-BLACKLIST-001: the number is on the sender's blacklist"
    )
    path = tmp_path / "kara-liste.csv"
    assert export_blacklist(client.storage, path) == 1
    assert client.blacklist.remove("05321234567") is True
    assert client.blacklist.remove("05321234567") is False
    imported = import_blacklist(client.storage, path)
    assert (imported.taken, imported.already_present, imported.refused) == (1, 0, ())
    [entry] = list(client.blacklist)
    assert (entry.reason, entry.source) == ("complaint", "call centre")


def test_blacklist_import_reports_bad_rows(client: Client, tmp_path: Path) -> None:
    """Bad rows are reported with row number, column and value; good rows are taken."""
    path = tmp_path / "liste.csv"
    path.write_text(
        "\ufeffTelefon;x\n".replace(";", ",")
        + "0532 123 45 67,a\n\nabc,b\n+90 533 123 45 67,c\n12,d\n",
        encoding="utf-8",
    )
    report = import_blacklist(client.storage, path, reason="migrated", source="old provider")
    assert report.taken == 2
    assert [(e.row, e.column, e.value) for e in report.refused] == [
        (4, "Telefon", "abc"),
        (6, "Telefon", "12"),
    ]
    assert {e.reason for e in client.blacklist} == {"migrated"}
