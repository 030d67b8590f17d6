"""The Client over HTTP: sends via a local gateway; reports and texts come back by callback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from _acme import ACME
from isobil import Client, Message, MessageState
from isobil.errors import ConfigurationError
from isobil.model import ConsentStatus
from isobil.sms import Encoding
from isobil.storage import MemoryStorage
from isobil.testing.http_gateway import HttpGateway, WsgiServer
from isobil.transport import (
    CallbackApp,
    DeliveryStatus,
    GenericJsonAdapter,
    HttpTransport,
    JasminAdapter,
)

SECRET = "client-http-secret-0123456789"  # noqa: S105 - a test secret


@pytest.fixture
def client() -> Iterator[tuple[Client, HttpGateway]]:
    with HttpGateway(secret=SECRET) as gateway:
        transport = HttpTransport(gateway.url, GenericJsonAdapter(), timeout=5.0)
        with (
            Client(ACME, transport=transport, storage=MemoryStorage()) as client,
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


def test_parts_are_planned_as_the_provider_sends_them() -> None:
    """Through Jasmin (no Turkish shift tables) the Client counts Turkish text as UCS-2."""
    jasmin = HttpTransport("http://127.0.0.1:1401", JasminAdapter(username="u", password="p"))  # noqa: S106
    text = "Sayın müşterimiz, siparişiniz yola çıktı."  # ş, ı: single shift, else UCS-2
    with Client(transport=jasmin, storage=MemoryStorage()) as through_jasmin:
        assert through_jasmin.national_shift is False
        assert through_jasmin.plan(text).encoding is Encoding.UCS2
    with Client(storage=MemoryStorage()) as fake:
        assert fake.national_shift is True
        assert fake.plan(text).encoding is Encoding.GSM7_TR_SINGLE
    with pytest.raises(ConfigurationError, match="cannot send the Turkish shift tables"):
        Client(transport=jasmin, storage=MemoryStorage(), national_shift=True)
    jasmin.close()
