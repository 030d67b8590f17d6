"""Settings of the worker test project; the database comes from the environment
(``TEST_DJANGO_DB_*``), and isobil keeps its records in that same database."""

from __future__ import annotations

import os
from typing import Any

SECRET_KEY = "tests-only-not-a-secret"  # noqa: S105
DEBUG = False
INSTALLED_APPS = ["isobil.contrib.django"]
USE_TZ = True
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("TEST_DJANGO_DB_NAME", "postgres"),
        "USER": os.environ.get("TEST_DJANGO_DB_USER", "postgres"),
        "HOST": os.environ.get("TEST_DJANGO_DB_HOST", "127.0.0.1"),
        "PORT": os.environ.get("TEST_DJANGO_DB_PORT", "5432"),
    }
}
ISOBIL: dict[str, Any] = {
    "name": "Acme Ticaret A.Ş.",
    "mersis": "0123456789012345",
    "contact": "0850 123 45 67",
    "brands": ["ACME"],
    "short_number": "4605",
    "transport": "django_project.recording.RecordingTransport",
    "batch_size": 5,  # many small claims, so the workers contend
}
SILENCED_SYSTEM_CHECKS = ["isobil.W001"]  # the fake transport, on purpose
