"""One client per process, for the integrations that keep one (Django, Celery)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from isobil.client import Client

__all__ = ["ProcessClient"]


class ProcessClient:
    """The :class:`~isobil.Client` of this process, made by ``factory`` on first use.

    Thread-safe. A process forked from one that had a client makes its own: a
    client's database connections and transport sockets are never shared across a
    fork (the parent's is left to the parent).
    """

    def __init__(self, factory: Callable[[], Client]) -> None:
        self.factory = factory
        self.lock = threading.RLock()
        self._client: Client | None = None
        self._pid = 0

    @property
    def made(self) -> bool:
        """Whether this process has a client now."""
        return self._client is not None and self._pid == os.getpid()

    def get(self) -> Client:
        """This process's client, made on first use."""
        with self.lock:
            if self._client is None or self._pid != os.getpid():
                self._client, self._pid = self.factory(), os.getpid()
            return self._client

    def close(self) -> None:
        """Close this process's client, if it made one; the next :meth:`get` makes anew."""
        with self.lock:
            client, self._client = self._client, None
            if client is not None and self._pid == os.getpid():
                client.close()
