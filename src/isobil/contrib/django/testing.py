"""Tests of a Django project that sends SMS: nothing leaves, every test starts clean.

With Django's test runner, set ``TEST_RUNNER = "isobil.contrib.django.testing.IsobilTestRunner"``:
while the tests run, :func:`~isobil.contrib.django.get_client` gives a client with the
project's sender, a :class:`~isobil.FakeTransport` and an in-memory storage, whatever
``ISOBIL["transport"]`` says. For a clean client per test::

    class OrderTests(TestCase):
        def setUp(self) -> None:
            self.sms = self.enterContext(isolated_client())

        def test_shipped(self) -> None:
            self.client.post("/orders/1/shipped")
            self.assertEqual(len(fake_transport().sent), 1)

With pytest, the ``isobil_client`` fixture of isobil's pytest plugin and
:func:`~isobil.contrib.django.use_client` do the same (docs/django.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.test.runner import DiscoverRunner

from isobil.client import Client
from isobil.config import sender_from_config
from isobil.contrib.django import _client
from isobil.contrib.django._client import get_client, set_client_factory, use_client
from isobil.contrib.django.conf import isobil_settings
from isobil.errors import ConfigurationError
from isobil.storage import MemoryStorage
from isobil.transport import FakeTransport

__all__ = ["IsobilTestRunner", "fake_client", "fake_transport", "isolated_client"]


def fake_client(**options: Any) -> Client:
    """A client with the project's sender (``ISOBIL``), a :class:`FakeTransport` and a
    :class:`MemoryStorage`; ``options`` override any :class:`~isobil.Client` argument."""
    defaults: dict[str, Any] = {
        "transport": FakeTransport(),
        "storage": MemoryStorage(),
        "batch_size": isobil_settings().get("batch_size", 500),
    }
    return Client(sender_from_config(isobil_settings()), **(defaults | options))


@contextmanager
def isolated_client(**options: Any) -> Iterator[Client]:
    """A fresh :func:`fake_client` that :func:`get_client` returns inside the block."""
    with fake_client(**options) as client, use_client(client):
        yield client


def fake_transport() -> FakeTransport:
    """The :class:`FakeTransport` of the current client: what it sent, and the network
    to play (``deliver``, ``receive``)."""
    transport = get_client().transport
    if not isinstance(transport, FakeTransport):
        raise ConfigurationError(
            f"the isobil client sends through {type(transport).__name__}, not the fake: use "
            "IsobilTestRunner, isolated_client() or ISOBIL['transport'] = {'kind': 'fake'}"
        )
    return transport


class IsobilTestRunner(DiscoverRunner):
    """Django's test runner, with isobil's client on a fake transport and in memory
    for the whole run (and the fake-transport system check quiet)."""

    def setup_test_environment(self, **kwargs: Any) -> None:
        super().setup_test_environment(**kwargs)
        _client._state.testing = True
        set_client_factory(fake_client)

    def teardown_test_environment(self, **kwargs: Any) -> None:
        set_client_factory(None)
        _client._state.testing = False
        super().teardown_test_environment(**kwargs)
