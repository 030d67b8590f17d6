"""The shop's endpoints. ``POST /orders/<id>/shipped`` texts the customer that the order
is on its way; ``GET /orders/<id>/`` shows where that SMS stands, as the provider's
delivery reports (pushed to ``/sms/callbacks/``) moved it.

The endpoints are called by the shop's other systems (the warehouse), not by
browsers: they are exempt from CSRF — protect them with your API's authentication.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from isobil import Message, OutcomeStatus
from isobil.contrib.django import get_client
from isobil.phone import mask
from orders.forms import OrderForm, ShipmentForm
from orders.models import Order


def shipped_text(order: Order) -> str:
    """The order-shipped SMS (Turkish, as the customers read it).

    >>> shipped_text(Order(pk=1001, customer="Ayşe Yılmaz", carrier="Yurtiçi Kargo",
    ...                    tracking_number="123"))
    'Sayın Ayşe Yılmaz, 1001 numaralı siparişiniz Yurtiçi Kargo ile kargoya verildi. Takip no: 123'
    """
    return (
        f"Sayın {order.customer}, {order.pk} numaralı siparişiniz {order.carrier} ile "
        f"kargoya verildi. Takip no: {order.tracking_number}"
    )


def describe(order: Order) -> dict[str, object]:
    """An order as JSON, with the state of its order-shipped SMS (phone masked)."""
    state = None
    if order.sms_message_id:
        state = get_client().message(order.sms_message_id).state.value
    return {
        "id": order.pk,
        "customer": order.customer,
        "phone": mask(order.phone),
        "shipped": order.shipped_at is not None,
        "sms_message_id": order.sms_message_id or None,
        "sms_state": state,
    }


@csrf_exempt
@require_POST
def create_order(request: HttpRequest) -> JsonResponse:
    """A new order (form fields ``customer`` and ``phone``)."""
    form = OrderForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"errors": form.errors}, status=400)
    return JsonResponse(describe(form.save()), status=201)


@require_GET
def show_order(request: HttpRequest, order_id: int) -> JsonResponse:
    """An order and where its SMS stands."""
    return JsonResponse(describe(get_object_or_404(Order, pk=order_id)))


@csrf_exempt
@require_POST
def order_shipped(request: HttpRequest, order_id: int) -> JsonResponse:
    """Mark the order shipped (``carrier``, ``tracking_number``) and text the customer:
    an informational SMS, which needs no marketing consent."""
    order = get_object_or_404(Order, pk=order_id)
    form = ShipmentForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"errors": form.errors}, status=400)
    order.carrier = form.cleaned_data["carrier"]
    order.tracking_number = form.cleaned_data["tracking_number"]
    order.shipped_at = timezone.now()
    result = get_client().send(Message(shipped_text(order), category="informational"), order.phone)
    [outcome] = result.outcomes
    if outcome.status not in (OutcomeStatus.SUBMITTED, OutcomeStatus.QUEUED):
        return JsonResponse({"error": f"SMS not sent: {outcome.reason}"}, status=409)
    order.sms_message_id = outcome.message_id or ""
    order.save()
    return JsonResponse(describe(order))
