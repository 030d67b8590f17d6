"""Fixtures for the shop's tests.

``shop`` is the app on the pytest plugin's fake transport and in-memory storage
(``isobil_fake``, ``isobil_storage``): nothing leaves, and the test plays the
network. ``provider`` is a real SMS API on loopback (isobil's test gateway) that
pushes signed callbacks, and ``shop_with_provider`` the app sending through it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fastapi_shop.app import create_app
from isobil import AsyncClient, FakeTransport, Sender
from isobil.storage import Storage
from isobil.testing.http_gateway import HttpGateway

#: The secret the provider signs its callbacks with (from the environment in production).
CALLBACK_SECRET = "shop-callback-secret-0123456789"  # noqa: S105 - a test secret


@pytest.fixture
def shop(
    isobil_sender: Sender, isobil_fake: FakeTransport, isobil_storage: Storage
) -> Iterator[TestClient]:
    """The shop's app, sending through the fake transport."""
    app = create_app(
        {},
        client_factory=lambda: AsyncClient(
            isobil_sender, transport=isobil_fake, storage=isobil_storage
        ),
    )
    with TestClient(app) as http:
        yield http


@pytest.fixture
def provider() -> Iterator[HttpGateway]:
    """A loopback SMS provider speaking the generic JSON API."""
    with HttpGateway(secret=CALLBACK_SECRET) as gateway:
        yield gateway


@pytest.fixture
def shop_with_provider(
    provider: HttpGateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    """The shop's app configured as in production: a provider, callbacks signed by HMAC."""
    monkeypatch.setenv("SHOP_CALLBACK_SECRET", CALLBACK_SECRET)
    monkeypatch.setenv("ISOBIL_DATABASE_URL", f"sqlite:///{tmp_path / 'shop.db'}")
    settings = {
        "name": "Örnek Mağaza A.Ş.",
        "mersis": "0123456789012345",
        "contact": "0850 123 45 67",
        "originator": "ORNEKMAGAZA",
        "brands": ["ORNEK"],
        "short_number": "4605",
        "transport": {"kind": "generic-json", "url": provider.url},
        "callbacks": {"secret_env": "SHOP_CALLBACK_SECRET", "auth": "hmac"},
    }
    with TestClient(create_app(settings)) as http:
        yield http
