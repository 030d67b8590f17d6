"""The shop: ``POST /orders/{order_id}/shipped`` texts the customer that the order is on
its way; the SMS provider's delivery reports and the customers' replies ("ORNEK RET")
come back under ``/sms/callbacks``.

Run it (from the repository root)::

    uvicorn fastapi_shop.app:app --app-dir examples

The settings are read from the TOML file named by ``$ISOBIL_SETTINGS``, else from
``isobil.toml`` next to this module (the fake transport: nothing leaves).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, status
from pydantic import BaseModel

from isobil import AsyncClient, InvalidValue, Message, OutcomeStatus
from isobil.contrib.fastapi import IsobilClient, callback_router, isobil_lifespan

#: The settings file used when ``$ISOBIL_SETTINGS`` names none.
SETTINGS_FILE = Path(__file__).with_name("isobil.toml")


@dataclass(frozen=True)
class Order:
    """An order of the shop: whom to text, and at which number."""

    id: str
    customer: str
    phone: str


#: The shop's orders (a real shop keeps them in its database).
ORDERS: Mapping[str, Order] = {
    "1001": Order("1001", "Ayşe Yılmaz", "0532 123 45 67"),
    "1002": Order("1002", "Mehmet Öztürk", "0533 765 43 21"),
}


class Shipment(BaseModel):
    """What the warehouse says when an order leaves."""

    carrier: str
    tracking_number: str


class ShippedNotice(BaseModel):
    """The SMS that told the customer: isobil's message id and its outcome."""

    order_id: str
    message_id: str
    status: str


class MessageView(BaseModel):
    """A sent message's state, as the provider's delivery reports moved it."""

    message_id: str
    state: str


def shipped_text(order: Order, shipment: Shipment) -> str:
    """The order-shipped SMS (Turkish, as the customers read it).

    >>> shipped_text(ORDERS["1001"], Shipment(carrier="Yurtiçi Kargo", tracking_number="123"))
    'Sayın Ayşe Yılmaz, 1001 numaralı siparişiniz Yurtiçi Kargo ile kargoya verildi. Takip no: 123'
    """
    return (
        f"Sayın {order.customer}, {order.id} numaralı siparişiniz {shipment.carrier} ile "
        f"kargoya verildi. Takip no: {shipment.tracking_number}"
    )


def get_orders(request: Request) -> Mapping[str, Order]:
    """The app's orders."""
    orders: Mapping[str, Order] = request.app.state.orders
    return orders


Orders = Annotated[Mapping[str, Order], Depends(get_orders)]
router = APIRouter()


@router.post("/orders/{order_id}/shipped", status_code=status.HTTP_202_ACCEPTED)
async def order_shipped(
    order_id: str, shipment: Shipment, client: IsobilClient, orders: Orders
) -> ShippedNotice:
    """Text the customer that the order has shipped (an informational SMS, which needs
    no marketing consent)."""
    order = orders.get(order_id)
    if order is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no order {order_id}")
    notice = Message(shipped_text(order, shipment), category="informational")
    result = await client.send(notice, to=order.phone)
    [outcome] = result.outcomes
    sent = outcome.status in (OutcomeStatus.SUBMITTED, OutcomeStatus.QUEUED)
    if not sent or outcome.message_id is None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"SMS not sent: {outcome.reason}")
    return ShippedNotice(
        order_id=order.id, message_id=outcome.message_id, status=outcome.status.value
    )


@router.get("/messages/{message_id}")
async def message_state(message_id: str, client: IsobilClient) -> MessageView:
    """Where a sent message stands (``submitted``, ``delivered``, …)."""
    try:
        message = await client.message(message_id)
    except InvalidValue:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no message {message_id}") from None
    return MessageView(message_id=message_id, state=message.state.value)


def load_settings() -> dict[str, Any]:
    """The settings file named by ``$ISOBIL_SETTINGS``, else :data:`SETTINGS_FILE`."""
    path = Path(os.environ.get("ISOBIL_SETTINGS") or SETTINGS_FILE)
    with path.open("rb") as file:
        return tomllib.load(file)


def create_app(
    settings: Mapping[str, Any] | None = None,
    *,
    orders: Mapping[str, Order] = ORDERS,
    client_factory: Callable[[], AsyncClient] | None = None,
) -> FastAPI:
    """The shop's app, its isobil client made from ``settings`` (or by
    ``client_factory``, as the tests do) when it starts."""
    lifespan = isobil_lifespan(
        load_settings() if settings is None else settings, client_factory=client_factory
    )
    app = FastAPI(title="Örnek Mağaza", lifespan=lifespan)
    app.state.orders = orders
    app.include_router(router)
    app.include_router(callback_router(), prefix="/sms/callbacks")
    return app


app = create_app()
