"""Stopping a long-running command well: the first SIGINT or SIGTERM asks, a second insists."""

from __future__ import annotations

import contextlib
import queue
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

#: Ctrl-C, and what a service manager sends (systemd's default, Kubernetes, Docker).
SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def on_signals() -> Iterator[threading.Event]:
    """An event the first SIGINT or SIGTERM sets, for the command to stop at its next
    safe point (``Client.dispatch(stop=...)`` ends its pass once the batches at the
    transport are settled); a second signal raises :class:`KeyboardInterrupt` at once.
    The handlers before are put back on exit; a signal ignored (``SIG_IGN``, as a
    shell leaves SIGINT for a command started with ``&``) stays ignored. Signals reach
    only the main thread: in any other, the event is never set and the handlers stay
    as they are.

    The handler does not set the event itself: it may run while the main thread holds
    the event's lock (inside ``stop.wait()``), and would wait for it forever. It hands
    the signal to a watcher thread through a queue whose ``put`` is reentrant.
    """
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    asked: queue.SimpleQueue[bool] = queue.SimpleQueue()
    signals = 0
    closing = False

    def handle(signum: int, frame: FrameType | None) -> None:
        nonlocal signals
        signals += 1
        if signals > 1 and not closing:
            raise KeyboardInterrupt  # asked twice: stop now
        asked.put(True)

    def watch() -> None:
        if asked.get():
            stop.set()

    watcher = threading.Thread(target=watch, name="isobil-signals", daemon=True)
    before: dict[signal.Signals, Any] = {}
    try:
        watcher.start()
        with _held():  # a signal now waits until every handler is in place
            for number in SIGNALS:
                if signal.getsignal(number) is not signal.SIG_IGN:  # ignored stays ignored
                    before[number] = signal.signal(number, handle)
        yield stop
    finally:
        closing = True  # a signal now only asks: nothing may cut the restoring short
        try:
            with _held():
                for number, handler in before.items():
                    signal.signal(number, signal.SIG_DFL if handler is None else handler)
        finally:
            asked.put(False)  # the watcher's last word, if no signal came
            if watcher.ident is not None:
                watcher.join()


@contextlib.contextmanager
def _held() -> Iterator[None]:
    """SIGINT and SIGTERM held back (delivered as it ends) where the platform can."""
    if not hasattr(signal, "pthread_sigmask"):  # Windows
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)
