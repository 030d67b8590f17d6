"""Stopping a long-running command well: the first SIGINT or SIGTERM asks, a second insists."""

from __future__ import annotations

import contextlib
import queue
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any, Protocol

#: Ctrl-C, and what a service manager sends (systemd's default, Kubernetes, Docker).
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stop(Protocol):
    """What ``Client.send`` and ``Client.dispatch`` read to stop early: a
    :class:`threading.Event`, a :class:`Stopping`, anything with ``is_set()``."""

    def is_set(self) -> bool: ...


class Stopping:
    """A stop a signal handler may set: setting is an assignment and a put on a queue
    whose ``put`` is reentrant, where :meth:`threading.Event.set` takes a lock the
    interrupted main thread may hold (inside ``Event.wait``) and would wait forever."""

    def __init__(self) -> None:
        self._set = False
        self._woken: queue.SimpleQueue[None] = queue.SimpleQueue()

    def set(self) -> None:
        self._set = True
        self._woken.put(None)

    def is_set(self) -> bool:
        return self._set

    def wait(self, timeout: float) -> bool:
        """Whether it is set, waiting at most ``timeout`` seconds for it."""
        if not self._set:
            with contextlib.suppress(queue.Empty):
                self._woken.get(timeout=timeout)
                self._woken.put(None)  # for whoever waits next
        return self._set


@contextlib.contextmanager
def on_signals() -> Iterator[Stopping]:
    """A stop the first SIGINT or SIGTERM sets, for the command to stop at its next
    safe point (``Client.dispatch(stop=...)`` ends its pass once the batches at the
    transport are settled); a second signal raises :class:`KeyboardInterrupt` at once.
    The handlers before are put back on exit; a signal ignored (``SIG_IGN``, as a
    shell leaves SIGINT for a command started with ``&``) stays ignored, and a signal
    taken this way is not passed on. Signals reach only the main thread: in any other,
    the stop is never set and the handlers stay as they are."""
    stop = Stopping()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    signals = 0
    closing = False

    def handle(signum: int, frame: FrameType | None) -> None:
        nonlocal signals
        signals += 1
        if signals > 1 and not closing:
            raise KeyboardInterrupt  # asked twice: stop now
        stop.set()

    before: dict[signal.Signals, Any] = {}
    try:
        for number in SIGNALS:
            if signal.getsignal(number) is not signal.SIG_IGN:  # ignored stays ignored
                before[number] = signal.signal(number, handle)
        yield stop
    finally:
        closing = True  # a signal now only asks
        _put_back(before)


def _put_back(before: dict[signal.Signals, Any]) -> None:
    """Put the handlers back, every one of them: a signal landing on a handler already
    put back (which may raise: KeyboardInterrupt) goes up once all are."""
    landed: BaseException | None = None
    for number, handler in before.items():
        while True:
            try:
                signal.signal(number, signal.SIG_DFL if handler is None else handler)
                break
            except BaseException as exc:  # raised by a handler put back, before this call
                landed = landed or exc
    if landed is not None:
        raise landed
