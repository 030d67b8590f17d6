"""pytest for the shop, without plugins beyond isobil's own: Django's test database
for the session, each test in a transaction rolled back, and the SMS client of each
test (``isobil_client``, from isobil's pytest plugin) used by the views."""

from __future__ import annotations

import os
from collections.abc import Iterator

import django
import pytest

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop_site.settings")
django.setup()

from django.conf import settings  # noqa: E402 - after django.setup()
from django.db import transaction  # noqa: E402
from django.test import Client as WebClient  # noqa: E402
from django.test.utils import (  # noqa: E402
    setup_databases,
    setup_test_environment,
    teardown_databases,
    teardown_test_environment,
)

from isobil import Client  # noqa: E402
from isobil.config import sender_from_config  # noqa: E402
from isobil.contrib.django import use_client  # noqa: E402
from isobil.model import Sender  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def django_test_database() -> Iterator[None]:
    """Django's test database (and test environment) for the whole session."""
    setup_test_environment()
    databases = setup_databases(verbosity=0, interactive=False)
    yield
    teardown_databases(databases, verbosity=0)
    teardown_test_environment()


@pytest.fixture(autouse=True)
def rolled_back() -> Iterator[None]:
    """Each test's orders vanish after it."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@pytest.fixture
def isobil_sender() -> Sender:
    """The shop's sender, from ``settings.ISOBIL`` (overrides the plugin's)."""
    sender = sender_from_config(settings.ISOBIL)
    if sender is None:
        raise LookupError("settings.ISOBIL names no sender")
    return sender


@pytest.fixture(autouse=True)
def sms(isobil_client: Client) -> Iterator[Client]:
    """The plugin's client (fake transport, in-memory storage) is the one the views use."""
    with use_client(isobil_client):
        yield isobil_client


@pytest.fixture
def web() -> WebClient:
    """Django's test client, to call the shop's endpoints."""
    return WebClient()
