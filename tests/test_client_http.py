"""The Client over HTTP: sends via a local gateway; reports and texts come back by callback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from isobil import Brand, Client, Message, MessageState, Sender
from isobil.model import ConsentStatus
from isobil.storage import MemoryStorage
from isobil.testing.http_gateway import HttpGateway, WsgiServer
from isobil.transport import CallbackApp, DeliveryStatus, GenericJsonAdapter, HttpTransport

SECRET = "client-http-secret-0123456789"  # noqa: S105 - a test secret


@pytest.fixture
def client() -> Iterator[tuple[Client, HttpGateway]]:
    with HttpGateway(secret=SECRET) as gateway:
        transport = HttpTransport(gateway.url, GenericJsonAdapter(), timeout=5.0)
        sender = Sender(
            name="Acme Ticaret A.Ş.",
            mersis="0123456789012345",
            contact="0850 123 45 67",
            brands=[Brand("ACME")],
            short_number="4605",
        )
        with (
            Client(sender, transport=transport, storage=MemoryStorage()) as client,
            WsgiServer(CallbackApp(transport, secret=SECRET)) as server,
        ):
            gateway.callback_url = server.url + "/callbacks"
            yield client, gateway


def test_reports_reach_the_right_messages(client: tuple[Client, HttpGateway]) -> None:
    """Each signed delivery report callback settles the message it belongs to."""
    isobil_client, gateway = client
    notice = Message("Siparişiniz kargoya verildi.", category="informational")
    result = isobil_client.send(notice, to=["05321234567", "05331234567"])
    first, second = result.outcomes
    assert first.provider_id is not None
    assert second.provider_id is not None
    gateway.deliver(second.provider_id, DeliveryStatus.UNDELIVERED, "027")
    gateway.deliver(first.provider_id, DeliveryStatus.DELIVERED)
    assert first.message_id is not None
    assert second.message_id is not None
    assert isobil_client.message(first.message_id).state is MessageState.DELIVERED
    undelivered = isobil_client.message(second.message_id)
    assert (undelivered.state, undelivered.error_code) == (MessageState.UNDELIVERED, "027")


def test_inbound_ret_reaches_the_ledger(client: tuple[Client, HttpGateway]) -> None:
    """An "ACME RET" pushed by the gateway is an opt-out in the ledger, answered over HTTP."""
    isobil_client, gateway = client
    gateway.send_inbound("+905321234567", "4605", "ACME RET")
    assert isobil_client.consent.state("05321234567", brand="ACME") is ConsentStatus.RET
    assert gateway.received()[-1][0] == "+905321234567"
    assert "ret talebiniz alındı" in gateway.received()[-1][1]
