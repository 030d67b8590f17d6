"""The shared client tests run twice: on :class:`isobil.Client` and on
:class:`isobil.AsyncClient` driven through ``_async_view``, so both give the same
results and errors (``isobil_client`` and ``make_client``)."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from _async_view import BlockingClient
from isobil import Client, FakeTransport, Sender
from isobil.storage import Storage


@pytest.fixture(params=["sync", "async"])
def make_client(request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """Build a Client, or an AsyncClient used like one; every one is closed after the test."""
    made: list[Any] = []

    def make(*args: Any, **kwargs: Any) -> Any:
        sync = request.param == "sync"
        client = Client(*args, **kwargs) if sync else BlockingClient(*args, **kwargs)
        made.append(client)
        return client

    try:
        yield make
    finally:
        for client in made:
            if isinstance(client, BlockingClient):
                client.stop()
            else:
                client.close()


@pytest.fixture
def isobil_client(
    make_client: Callable[..., Any],
    isobil_sender: Sender,
    isobil_fake: FakeTransport,
    isobil_storage: Storage,
) -> Any:
    """The plugin's client, once as a Client and once as an AsyncClient."""
    return make_client(isobil_sender, transport=isobil_fake, storage=isobil_storage)


class UnhandledSignal(BaseException):
    """A signal that reached the test's own handler: the code under test did not take it."""


@pytest.fixture
def signal_guard() -> Iterator[None]:
    """For tests that raise SIGINT or SIGTERM at code that should take them: one that
    does not fails its test with :class:`UnhandledSignal`, instead of killing the test
    run (SIGTERM's default) or interrupting it (SIGINT's KeyboardInterrupt)."""

    def unhandled(number: int, frame: object) -> None:
        raise UnhandledSignal(number)

    before = {
        number: signal.signal(number, unhandled) for number in (signal.SIGINT, signal.SIGTERM)
    }
    yield
    for number, handler in before.items():
        signal.signal(number, handler)
