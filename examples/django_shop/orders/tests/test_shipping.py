"""The order-shipped SMS, its delivery report, and the customers' replies."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import Client as WebClient
from django.test import override_settings

from isobil import Client, MessageState
from isobil.contrib.django import use_client
from isobil.model import ConsentStatus, Sender
from isobil.phone import mask
from isobil.storage import MemoryStorage
from isobil.testing.http_gateway import HttpGateway
from isobil.transport import DeliveryStatus, FakeTransport, GenericJsonAdapter, HttpTransport, sign
from orders.models import Order

SECRET = "shop-callback-secret-0123456789"  # noqa: S105 - a test secret
CUSTOMER = "+905321234567"


def new_order(web: WebClient, phone: str = "0532 123 45 67") -> dict[str, Any]:
    response = web.post("/orders/", {"customer": "Ayşe Yılmaz", "phone": phone})
    assert response.status_code == 201, response.content
    order: dict[str, Any] = response.json()
    return order


def ship(web: WebClient, order_id: int) -> dict[str, Any]:
    response = web.post(
        f"/orders/{order_id}/shipped", {"carrier": "Yurtiçi Kargo", "tracking_number": "YK123"}
    )
    assert response.status_code == 200, response.content
    shipped: dict[str, Any] = response.json()
    return shipped


def test_order_shipped_texts_the_customer(web: WebClient, isobil_fake: FakeTransport) -> None:
    """The endpoint sends one informational SMS to the order's number, in Turkish."""
    order = new_order(web)
    shipped = ship(web, order["id"])
    assert shipped["sms_state"] == "submitted"
    [sms] = isobil_fake.sent
    assert sms.to == CUSTOMER
    assert sms.text.startswith(f"Sayın Ayşe Yılmaz, {order['id']} numaralı siparişiniz")
    assert sms.originator == "ORNEKMAGAZA"


def test_a_delivery_report_shows_on_the_order(web: WebClient, isobil_fake: FakeTransport) -> None:
    """The provider's report moves the SMS to delivered; the order shows it."""
    order = new_order(web)
    ship(web, order["id"])
    isobil_fake.deliver(isobil_fake.sent[0].message_id, DeliveryStatus.DELIVERED)
    assert web.get(f"/orders/{order['id']}/").json()["sms_state"] == "delivered"


def test_a_phone_number_is_kept_as_e164_and_masked_in_answers(web: WebClient) -> None:
    order = new_order(web, phone="+90 (532) 123-4567")
    assert Order.objects.get(pk=order["id"]).phone == CUSTOMER
    assert Order.objects.filter(phone="0532 123 45 67").count() == 1  # lookups normalise too
    assert order["phone"] == mask(CUSTOMER)


def test_an_invalid_phone_number_is_refused_with_the_reason(web: WebClient) -> None:
    response = web.post("/orders/", {"customer": "Ayşe", "phone": "123"})
    assert response.status_code == 400
    assert "too few digits" in response.json()["errors"]["phone"][0]


def test_a_shipment_without_tracking_is_refused(web: WebClient, isobil_fake: FakeTransport) -> None:
    order = new_order(web)
    response = web.post(f"/orders/{order['id']}/shipped", {"carrier": "Yurtiçi Kargo"})
    assert response.status_code == 400
    assert not isobil_fake.sent


# -- the provider's pushes, through the mounted callback view ------------------------


@pytest.fixture
def gateway() -> Iterator[HttpGateway]:
    """A loopback SMS provider speaking the generic JSON API."""
    with HttpGateway() as gateway:
        yield gateway


def _provider_client(gateway: HttpGateway, sender: Sender, auth: str) -> Iterator[Client]:
    transport = HttpTransport(gateway.url, GenericJsonAdapter(), timeout=5.0)
    callbacks = {"secret_env": "SHOP_SMS_CALLBACK_SECRET", "auth": auth}
    with (
        pytest.MonkeyPatch.context() as env,
        override_settings(ISOBIL={**settings.ISOBIL, "callbacks": callbacks}),
        Client(sender, transport=transport, storage=MemoryStorage()) as client,
        use_client(client),
    ):
        env.setenv("SHOP_SMS_CALLBACK_SECRET", SECRET)
        yield client


@pytest.fixture
def hmac_client(gateway: HttpGateway, isobil_sender: Sender) -> Iterator[Client]:
    """The views' client sends through the gateway; pushes are signed (HMAC)."""
    yield from _provider_client(gateway, isobil_sender, "hmac")


@pytest.fixture
def token_client(gateway: HttpGateway, isobil_sender: Sender) -> Iterator[Client]:
    """As :func:`hmac_client`, with the secret in the callback URL instead."""
    yield from _provider_client(gateway, isobil_sender, "token")


def signed(payload: object, secret: str = SECRET) -> dict[str, Any]:
    body = json.dumps(payload).encode()
    stamp = str(int(time.time()))
    return {
        "data": body,
        "content_type": "application/json",
        "headers": {"X-Isobil-Timestamp": stamp, "X-Isobil-Signature": sign(secret, stamp, body)},
    }


RET = {"type": "mo", "from": CUSTOMER, "to": "4605", "text": "ORNEK RET", "provider_id": "mo-1"}


def test_a_customers_ret_reaches_the_consent_ledger(
    web: WebClient, hmac_client: Client, gateway: HttpGateway
) -> None:
    """A signed "ORNEK RET" pushed to /sms/callbacks/ records the opt-out and is answered."""
    response = web.post("/sms/callbacks/", **signed(RET))
    assert response.status_code == 200
    assert hmac_client.consent.state(CUSTOMER, brand="ORNEK") is ConsentStatus.RET
    assert [to for to, _ in gateway.received()] == [CUSTOMER]  # the confirmation


def test_a_replayed_push_is_answered_but_not_handled_again(
    web: WebClient, hmac_client: Client, gateway: HttpGateway
) -> None:
    push = signed(RET)
    assert web.post("/sms/callbacks/", **push).status_code == 200
    assert web.post("/sms/callbacks/", **push).status_code == 200
    assert len(gateway.received()) == 1


def test_an_unsigned_or_forged_push_is_refused(web: WebClient, hmac_client: Client) -> None:
    forged = signed(RET, secret="not-the-shared-secret-at-all")  # noqa: S106
    assert web.post("/sms/callbacks/", **forged).status_code == 401
    assert web.post("/sms/callbacks/", RET, content_type="application/json").status_code == 401
    assert hmac_client.consent.state(CUSTOMER, brand="ORNEK") is None


def test_a_delivery_report_with_the_token_in_the_url(
    web: WebClient, token_client: Client, gateway: HttpGateway
) -> None:
    """With token auth the secret is the first path segment below the prefix."""
    order = new_order(web)
    shipped = ship(web, order["id"])
    provider_id = token_client.message(shipped["sms_message_id"]).provider_id
    report = {"type": "dlr", "provider_id": provider_id, "status": "delivered", "code": None}
    url = f"/sms/callbacks/{SECRET}/dlr"
    assert web.post(url, report, content_type="application/json").status_code == 200
    assert token_client.message(shipped["sms_message_id"]).state is MessageState.DELIVERED
    wrong = web.post("/sms/callbacks/wrong/dlr", report, content_type="application/json")
    assert wrong.status_code == 401


def test_the_fake_transport_takes_no_pushes(web: WebClient) -> None:
    assert web.post("/sms/callbacks/", **signed(RET)).status_code == 404
