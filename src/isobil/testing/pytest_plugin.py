"""pytest fixtures for applications that send SMS with isobil.

Installed as a pytest plugin: no import or ``conftest.py`` needed.

* ``isobil_sender`` — a valid test :class:`~isobil.Sender` (brand ``TEST``,
  short number 4605); override the fixture to use your own.
* ``isobil_fake`` — a fresh :class:`~isobil.FakeTransport`.
* ``isobil_storage`` — a fresh :class:`~isobil.storage.MemoryStorage`; override
  it to run your tests on SQL.
* ``isobil_client`` — a :class:`~isobil.Client` wired to all three, closed after
  the test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from isobil.client import Client
from isobil.model import Brand, Sender
from isobil.storage import MemoryStorage, Storage
from isobil.transport import FakeTransport


@pytest.fixture
def isobil_sender() -> Sender:
    """A sender with a complete identity, for tests."""
    return Sender(
        name="Test Ticaret A.Ş.",
        mersis="0123456789012345",
        contact="0850 123 45 67",
        originator="TEST",
        brands=[Brand("TEST")],
        short_number="4605",
    )


@pytest.fixture
def isobil_fake() -> FakeTransport:
    """A fake transport that records what is sent and lets the test play the network."""
    return FakeTransport()


@pytest.fixture
def isobil_storage() -> Storage:
    """An empty in-memory storage for one test."""
    return MemoryStorage()


@pytest.fixture
def isobil_client(
    isobil_sender: Sender, isobil_fake: FakeTransport, isobil_storage: Storage
) -> Iterator[Client]:
    """A client sending as ``isobil_sender`` through ``isobil_fake``, keeping ``isobil_storage``."""
    with Client(isobil_sender, transport=isobil_fake, storage=isobil_storage) as client:
        yield client
