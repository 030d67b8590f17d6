"""The shop texts a customer when an order ships, and hears back from the provider."""

from __future__ import annotations

import json
import time

from fastapi.testclient import TestClient

from fastapi_shop.tests.conftest import CALLBACK_SECRET
from isobil import Client, DeliveryStatus, FakeTransport
from isobil.model import ConsentStatus
from isobil.testing.http_gateway import HttpGateway
from isobil.transport import sign

SHIPMENT = {"carrier": "Yurtiçi Kargo", "tracking_number": "YK123456"}


def test_order_shipped_texts_the_customer(shop: TestClient, isobil_fake: FakeTransport) -> None:
    answer = shop.post("/orders/1001/shipped", json=SHIPMENT)
    assert answer.status_code == 202
    assert answer.json()["status"] == "submitted"
    [sms] = isobil_fake.sent
    assert sms.to == "+905321234567"
    assert sms.text == (
        "Sayın Ayşe Yılmaz, 1001 numaralı siparişiniz Yurtiçi Kargo ile kargoya verildi. "
        "Takip no: YK123456"
    )


def test_an_unknown_order_sends_nothing(shop: TestClient, isobil_fake: FakeTransport) -> None:
    assert shop.post("/orders/9999/shipped", json=SHIPMENT).status_code == 404
    assert isobil_fake.sent == []


def test_a_refused_sms_is_reported(shop: TestClient, isobil_fake: FakeTransport) -> None:
    isobil_fake.fail_to(["+905321234567"], code="E_NUMBER")
    answer = shop.post("/orders/1001/shipped", json=SHIPMENT)
    assert answer.status_code == 409
    assert "SMS not sent" in answer.json()["detail"]


def test_the_delivery_report_shows_in_the_message_state(
    shop: TestClient, isobil_fake: FakeTransport
) -> None:
    message_id = shop.post("/orders/1002/shipped", json=SHIPMENT).json()["message_id"]
    assert shop.get(f"/messages/{message_id}").json()["state"] == "submitted"
    isobil_fake.deliver(isobil_fake.sent[0].message_id, DeliveryStatus.DELIVERED)
    assert shop.get(f"/messages/{message_id}").json()["state"] == "delivered"
    assert shop.get("/messages/no-such-id").status_code == 404


def push(shop: TestClient, payload: object) -> int:
    """POST ``payload`` to the shop's callbacks as the provider does (signed JSON); the
    HTTP status of the answer."""
    body = json.dumps(payload).encode()
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Isobil-Timestamp": stamp,
        "X-Isobil-Signature": sign(CALLBACK_SECRET, stamp, body),
    }
    return shop.post("/sms/callbacks/", content=body, headers=headers).status_code


def test_the_providers_callbacks_reach_the_shop(
    shop_with_provider: TestClient, provider: HttpGateway
) -> None:
    """Through a real provider: the SMS goes out, its delivery report and the customer's
    "ORNEK RET" come back to /sms/callbacks, signed."""
    shop = shop_with_provider
    message_id = shop.post("/orders/1001/shipped", json=SHIPMENT).json()["message_id"]
    assert provider.received()[0][0] == "+905321234567"
    with Client() as books:  # the shop's database, as any other process sees it
        provider_id = books.message(message_id).provider_id
    dlr = {"type": "dlr", "provider_id": provider_id, "status": "delivered", "code": None}
    assert push(shop, dlr) == 200
    assert shop.get(f"/messages/{message_id}").json()["state"] == "delivered"

    ret = {"type": "mo", "from": "+905321234567", "to": "4605", "text": "ORNEK RET"}
    assert push(shop, {**ret, "provider_id": "mo-1"}) == 200
    with Client() as books:
        assert books.consent.state("05321234567", brand="ORNEK") is ConsentStatus.RET
    assert "ret talebiniz alındı" in provider.received()[-1][1]


def test_an_unsigned_callback_is_refused(shop_with_provider: TestClient) -> None:
    answer = shop_with_provider.post("/sms/callbacks/", content=b'{"type": "mo"}')
    assert answer.status_code == 401
