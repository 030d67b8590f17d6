"""An AsyncClient seen through the Client's blocking surface, so the shared client
tests run against both: every coroutine is run to completion on an event loop of
its own thread, as an application's loop would run it."""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable
from typing import Any

from isobil import AsyncClient
from isobil._async import Threaded
from isobil._resource import Resource


class Loop:
    """An event loop running in a thread; ``run(coro)`` waits for the coroutine's result."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


class Blocking:
    """``target``'s awaitable methods, called as blocking ones on ``loop``."""

    def __init__(self, target: Any, loop: Loop) -> None:
        self._target = target
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        if isinstance(self._target, AsyncClient) and not hasattr(self._target, name):
            return getattr(self._target.sync, name)  # transport, storage, worker_id …
        found = getattr(self._target, name)
        if isinstance(found, Threaded):
            return Blocking(found, self._loop)
        if inspect.iscoroutinefunction(found) or isinstance(self._target, Threaded):
            return self._blocking(found)
        return found

    def _blocking(self, method: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            return self._loop.run(method(*args, **kwargs))

        return call

    def __repr__(self) -> str:
        return repr(self._target)


class BlockingClient(Blocking, Resource):
    """An AsyncClient used like a Client, with its own loop, closed on exit."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        loop = Loop()
        super().__init__(AsyncClient(*args, **kwargs), loop)

    def close(self) -> None:
        self._loop.run(self._target.aclose())

    def stop(self) -> None:
        self.close()
        self._loop.stop()
