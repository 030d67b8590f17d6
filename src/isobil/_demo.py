"""``isobil demo``: the main job end to end, on SQLite with the fake transport.

Import an address book, preflight a campaign and fix what the rules find,
register consents in (a fake) İYS, send, receive delivery reports with refunds,
take an inbound RET, and print the reports.
"""

from __future__ import annotations

import csv
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from isobil import phone
from isobil.client import Client
from isobil.consent import FakeIysGateway, IysSynchronizer, ManualClock
from isobil.errors import ComplianceError
from isobil.model import Brand, Message, Sender
from isobil.transport import DeliveryStatus, FakeTransport

__all__ = ["run"]

CONTACTS = [
    ("Ad", "Soyadı", "Cep Telefonu", "Şehir"),
    ("Ayşe", "Yılmaz", "0532 123 45 67", "İstanbul"),
    ("Mehmet", "Kaya", "+90 (533) 765-4321", "Ankara"),
    ("Zeynep", "Çelik", "5421112233", "İzmir"),
    ("Ali", "Demir", "905051234567", "Bursa"),
    ("Şule", "Işık", "0 532 999 88 77", "Van"),
    ("Can", "Öztürk", "5559876543.0", "Muğla"),
    ("Ayşe", "Yılmaz", "05321234567", "İstanbul"),  # the same person twice
    ("Hatalı", "Numara", "12345", "?"),  # not a phone number
]

FIRST_DRAFT = "Sayın {ad} {soyad}, {sehir} mağazamızda yeni sezonda %20 indirim!"
FIXED = (
    "KAMPANYA: Sayın {ad} {soyad}, {sehir} mağazamızda yeni sezonda %20 indirim! "
    "Koşullar: acme.com.tr/k Ret için ACME RET yazıp 4605'e gönderin."
)


def run(out: TextIO, *, directory: str | Path | None = None) -> int:
    """Run the story, printing each step to ``out``; return the process exit code."""
    folder = Path(directory or tempfile.mkdtemp(prefix="isobil-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "isobil.db"
    database.unlink(missing_ok=True)

    def say(text: str = "") -> None:
        print(text, file=out)

    sender = Sender(
        name="Acme Ticaret A.Ş.",
        mersis="0123456789012345",
        contact="0850 123 45 67",
        originator="ACME",
        brands=[Brand("ACME")],
        short_number="4605",
    )
    fake = FakeTransport()
    client = Client(
        sender,
        transport=fake,
        database_url=f"sqlite:///{database}",
        prepaid=True,
        low_credit_threshold=5,
        owner_phone="0555 000 11 22",
    )
    with client:
        say(f"== isobil demo — data in {database}")
        say(
            "transport: the fake (FakeTransport) — nothing leaves this machine; a real "
            "provider is a [transport] in isobil.toml (docs/providers/)"
        )
        say(f"credits: topped up to {client.credits.top_up(40, note='demo')}")

        sheet = folder / "rehber.csv"
        with sheet.open("w", encoding="utf-8", newline="") as file:
            csv.writer(file, delimiter=";").writerows(CONTACTS)
        imported = client.contacts.import_file(sheet, group="Müşteriler")
        say("\n1. import:")
        say(_indent(str(imported)))

        customers = list(client.contacts.group("Müşteriler"))
        numbers = [c.number for c in customers]
        for contact in customers[:-1]:  # the last customer never consented
            client.consent.record(
                contact.number,
                "ONAY",
                source="HS_ISLAK_IMZA",
                brand="ACME",
                # What the signed form proves (Reg. art. 7): who, what they said, the form.
                evidence={
                    "name": f"{contact.name} {contact.surname}",
                    "statement": "ACME'den kampanya SMS'i almak istiyorum",
                    "document": "mağaza kayıt formu",
                },
            )
        say(f"   consent on paper recorded for {len(numbers) - 1} of {len(numbers)} contacts")

        clock = ManualClock(datetime.now(UTC))
        iys = FakeIysGateway(clock=clock, rate_limits={})
        sync = IysSynchronizer(client.consent, iys, brand="ACME", clock=clock)
        say(f"2. {sync.run()}")
        clock.advance(timedelta(minutes=1))
        say(f"   {sync.run()}")

        group = client.contacts.group("Müşteriler")
        draft = Message(FIRST_DRAFT, brand="ACME")
        say("\n3. preflight of the first draft:")
        report = client.check(draft, to=group)
        say(_indent(str(report)))
        try:
            client.send(draft, to=group)
        except ComplianceError:
            say(f"   send refused: {len(report.errors)} finding(s) stop it — fixing the text")

        result = client.send(Message(FIXED, brand="ACME"), to=group)
        say(f"\n4. sent: {result!r}")
        for outcome in result.outcomes:
            number = phone.mask(outcome.number) if outcome.number else "-"
            why = ", ".join(outcome.rule_ids) or outcome.reason or ""
            say(f"   {number:16} {outcome.status.value:10} {why}")
        say(f"   credits left: {client.credits.balance()}")

        sent = [s for s in fake.sent if s.id in {o.message_id for o in result.submitted}]
        for i, message in enumerate(sent):
            failed = i == len(sent) - 1
            fake.deliver(
                message.message_id,
                DeliveryStatus.UNDELIVERED if failed else DeliveryStatus.DELIVERED,
                error_code="027" if failed else None,
            )
        balance = client.credits.balance()
        say(f"\n5. delivery reports in; the undelivered one refunded: credits {balance}")
        say(_indent(str(client.reports.delivery(result.campaign_id))))

        opted_out = sent[0].to
        fake.receive(opted_out, "4605", "acme ret")
        say(f"\n6. {phone.mask(opted_out)} texted 'acme ret' to 4605; auto reply:")
        say(f"   {fake.sent[-1].text!r}")
        again = client.send(Message(FIXED, brand="ACME"), to=group)
        blocked = [o for o in again.blocked if o.number == opted_out]
        say(
            f"   next campaign: {again!r}; {phone.mask(opted_out)} blocked by {blocked[0].rule_ids}"
        )

        say("\n7. reports")
        say(_indent(str(client.reports.consent())))
        compliance = client.reports.compliance()
        say(_indent(str(compliance)))
        compliance.to_xlsx(folder / "compliance.xlsx")
        say(f"   who was not sent to, and why: {folder / 'compliance.xlsx'}")
        verification = client.consent.verify()
        say(f"   {verification}")
        bundle = client.consent.export(folder / "evidence", number=opted_out)
        who = phone.mask(opted_out)
        say(f"   evidence bundle for {who}: {bundle.events} events in {bundle.directory}")
        say(f"   credits left: {client.credits.balance()}")
    return 0 if verification.ok else 1


def _indent(text: str) -> str:
    return "\n".join(f"   {line}" for line in text.splitlines())
