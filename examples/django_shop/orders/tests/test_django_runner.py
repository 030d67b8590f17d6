"""The same endpoint under Django's own test runner (``python manage.py test``):
``IsobilTestRunner`` gives the views a client on the fake transport, and
``isolated_client`` a fresh one per test."""

from __future__ import annotations

from django.test import TestCase

from isobil.contrib.django.testing import fake_transport, isolated_client


class OrderShippedTests(TestCase):
    def setUp(self) -> None:
        self.sms = self.enterContext(isolated_client())

    def test_order_shipped_texts_the_customer(self) -> None:
        created = self.client.post("/orders/", {"customer": "Ayşe", "phone": "0532 123 45 67"})
        order_id = created.json()["id"]
        shipped = self.client.post(
            f"/orders/{order_id}/shipped", {"carrier": "Aras Kargo", "tracking_number": "A1"}
        )
        self.assertEqual(shipped.status_code, 200)  # noqa: PT009 - Django's runner
        [sms] = fake_transport().sent
        self.assertEqual(sms.to, "+905321234567")  # noqa: PT009
        self.assertIn("Aras Kargo ile kargoya verildi", sms.text)  # noqa: PT009
