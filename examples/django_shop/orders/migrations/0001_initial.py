"""The orders table."""

from typing import ClassVar

from django.db import migrations, models
from django.db.migrations.operations.base import Operation

import isobil.contrib.django.fields


class Migration(migrations.Migration):
    initial = True

    dependencies: ClassVar[list[tuple[str, str]]] = []

    operations: ClassVar[list[Operation]] = [
        migrations.CreateModel(
            name="Order",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("customer", models.CharField(max_length=100)),
                ("phone", isobil.contrib.django.fields.PhoneNumberField()),
                ("carrier", models.CharField(blank=True, max_length=40)),
                ("tracking_number", models.CharField(blank=True, max_length=40)),
                ("shipped_at", models.DateTimeField(blank=True, null=True)),
                ("sms_message_id", models.CharField(blank=True, max_length=32)),
            ],
        ),
    ]
