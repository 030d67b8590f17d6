"""``manage.py isobil_migrate``: create or upgrade isobil's tables in the configured
database (Django's own, unless ``ISOBIL['database_url']`` says otherwise)."""

from __future__ import annotations

from typing import Any

from isobil.contrib.django.conf import isobil_database_url
from isobil.contrib.django.management._base import IsobilCommand


class Command(IsobilCommand):
    help = "Create or upgrade isobil's tables (its Alembic migrations). Back up first."

    def handle(self, *args: Any, **options: Any) -> None:
        from isobil.storage import upgrade

        revision = upgrade(isobil_database_url())
        self.stdout.write(f"isobil: database is at revision {revision}")
