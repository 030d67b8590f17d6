"""The shop's orders: whom to text, and at which number (kept as E.164)."""

from __future__ import annotations

from datetime import datetime

from django.db import models

from isobil.contrib.django.fields import PhoneNumberField


class Order(models.Model):
    """An order; ``sms_message_id`` is isobil's id of the order-shipped SMS."""

    customer: models.CharField[str, str] = models.CharField(max_length=100)
    phone = PhoneNumberField()
    carrier: models.CharField[str, str] = models.CharField(max_length=40, blank=True)
    tracking_number: models.CharField[str, str] = models.CharField(max_length=40, blank=True)
    shipped_at: models.DateTimeField[datetime | None, datetime | None] = models.DateTimeField(
        null=True, blank=True
    )
    sms_message_id: models.CharField[str, str] = models.CharField(max_length=32, blank=True)

    def __str__(self) -> str:
        return f"order {self.pk} of {self.customer}"
