"""The ``isobil`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from isobil import phone
from isobil.client import Client
from isobil.model import Brand, Message, Sender
from isobil.transport import DeliveryStatus, FakeTransport

DEMO_NUMBERS: tuple[str | float, ...] = (
    "0532 123 45 67",
    "+90 (533) 765-4321",
    5421112233.0,  # a phone number stored as a float by a spreadsheet
    "905051234567",
    "0532 123 45 67",  # the same person twice
    "12345",  # not a phone number
)


def demo(out: TextIO) -> int:
    """Send a Turkish message through the fake transport and show every outcome."""
    sender = Sender(
        name="Acme Ticaret A.Ş.",
        mersis="0123456789012345",
        contact="0850 123 45 67",
        originator="ACME",
        brands=[Brand("ACME")],
        short_number="4605",
    )
    fake = FakeTransport()
    with Client(sender, transport=fake) as client:
        message = Message(
            "Sayın müşterimiz, siparişiniz kargoya verildi. Takip: acme.com.tr/kargo",
            category="informational",
            brand="ACME",
        )
        result = client.send(message, to=DEMO_NUMBERS)
        plan = client.plan(message)
        print(f"message: {message.text!r}", file=out)
        print(
            f"encoding {plan.encoding.value}, {plan.parts} part(s), "
            f"{plan.units_used} units used, {plan.units_left} left",
            file=out,
        )
        print(f"sent: {result!r}", file=out)
        for i, outcome in enumerate(result.outcomes, 1):
            number = phone.mask(outcome.number) if outcome.number else "-"
            detail = outcome.reason or outcome.provider_id
            print(f"  {i}. {number:16} {outcome.status.value:10} {detail}", file=out)
        # Play the network: the last accepted message is undeliverable (phone off).
        for sent in fake.sent[:-1]:
            fake.deliver(sent.message_id, DeliveryStatus.DELIVERED)
        fake.deliver(fake.sent[-1].message_id, DeliveryStatus.UNDELIVERED, error_code="027")
        print("after delivery reports:", file=out)
        for sent in fake.sent:
            record = client.message(sent.id)
            print(f"  {phone.mask(record.to):16} {record.state.value}", file=out)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``isobil`` command."""
    parser = argparse.ArgumentParser(
        prog="isobil", description="Consent-aware bulk SMS for Turkey."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "demo", help="send a message end to end through the fake transport and show the outcome"
    )
    args = parser.parse_args(argv)
    if args.command == "demo":
        return demo(sys.stdout)
    parser.error(f"unknown command {args.command}")  # pragma: no cover - argparse exits first
    return 2  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
