"""Settings of the example shop. Everything that differs between machines comes from
the environment:

* ``SHOP_DATABASE`` — a SQLite file (default ``shop.sqlite3`` here) or a
  ``postgresql://user:password@host:port/name`` URL; isobil keeps its records in
  the same database.
* ``SHOP_SMS_GATEWAY_URL`` — the SMS provider's API (the generic JSON API, key in
  ``SHOP_SMS_API_KEY`` when it needs one). Without it the fake transport is used:
  nothing leaves.
* ``SHOP_SMS_CALLBACK_SECRET`` — the secret the provider's pushes are authenticated
  with; ``SHOP_SMS_CALLBACK_AUTH`` — ``hmac`` (default) or ``token``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("SHOP_SECRET_KEY", "example-only-not-a-secret")
DEBUG = os.environ.get("SHOP_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "isobil.contrib.django",
    "orders",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]
ROOT_URLCONF = "shop_site.urls"
WSGI_APPLICATION = "shop_site.wsgi.application"


def database(url: str) -> dict[str, Any]:
    """Django's ``DATABASES`` entry for a SQLite path or a PostgreSQL URL.

    >>> database("postgresql://shop@127.0.0.1:5432/shop")["ENGINE"]
    'django.db.backends.postgresql'
    """
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": url}
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parts.path.lstrip("/"),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
    }


DATABASES = {"default": database(os.environ.get("SHOP_DATABASE", str(BASE_DIR / "shop.sqlite3")))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "tr"
TIME_ZONE = "Europe/Istanbul"
USE_TZ = True

# isobil: the shape of isobil.toml. Credentials only ever come from the environment
# (X_env = "VARIABLE"); isobil's records go to DATABASES["default"].
ISOBIL: dict[str, Any] = {
    "name": "Örnek Mağaza A.Ş.",
    "mersis": "0123456789012345",
    "contact": "0850 123 45 67",
    "originator": "ORNEKMAGAZA",
    "brands": ["ORNEK"],
    "short_number": "4605",
    "transport": {"kind": "fake"},
}
if gateway := os.environ.get("SHOP_SMS_GATEWAY_URL"):
    ISOBIL["transport"] = {"kind": "generic-json", "url": gateway}
    if "SHOP_SMS_API_KEY" in os.environ:
        ISOBIL["transport"]["api_key_env"] = "SHOP_SMS_API_KEY"
    ISOBIL["callbacks"] = {
        "secret_env": "SHOP_SMS_CALLBACK_SECRET",
        "auth": os.environ.get("SHOP_SMS_CALLBACK_AUTH", "hmac"),
    }
if "SHOP_SMS_BATCH_SIZE" in os.environ:  # messages per provider request
    ISOBIL["batch_size"] = int(os.environ["SHOP_SMS_BATCH_SIZE"])

# `manage.py test`: the SMS client sends through the fake transport, in memory.
TEST_RUNNER = "isobil.contrib.django.testing.IsobilTestRunner"
