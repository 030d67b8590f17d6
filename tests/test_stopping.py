"""Stopping a worker well: the first SIGINT or SIGTERM asks, a second insists."""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

import pytest

from isobil._stopping import Stopping, on_signals

pytestmark = pytest.mark.usefixtures("signal_guard")


@pytest.mark.parametrize("first", [signal.SIGINT, signal.SIGTERM])
def test_the_first_signal_asks_and_a_second_insists(first: signal.Signals) -> None:
    before = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    with on_signals() as stop:
        assert not stop.is_set()
        signal.raise_signal(first)  # no KeyboardInterrupt: the command stops when it can
        assert stop.is_set()
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
    assert {n: signal.getsignal(n) for n in before} == before


def test_without_a_signal_nothing_is_asked_and_the_handlers_come_back() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with on_signals() as stop:
        assert signal.getsignal(signal.SIGTERM) is not before
    assert not stop.is_set()
    assert signal.getsignal(signal.SIGTERM) is before


def test_away_from_the_main_thread_the_handlers_are_left_alone() -> None:
    """Only the main thread may set signal handlers: elsewhere the stop is never set."""
    seen: list[object] = []

    def elsewhere() -> None:
        with on_signals() as stop:
            seen.extend([stop.is_set(), signal.getsignal(signal.SIGINT)])

    worker = threading.Thread(target=elsewhere)
    worker.start()
    worker.join()
    assert seen == [False, signal.getsignal(signal.SIGINT)]


def test_an_ignored_signal_stays_ignored() -> None:
    """A command started with ``&`` by a non-interactive shell ignores SIGINT: so does
    the worker, instead of stopping on it."""
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with on_signals():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)


def test_a_second_signal_while_the_handlers_are_put_back_does_not_cut_it_short(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A second Ctrl-C landing on SIGINT's handler just put back (which raises) does
    not leave the worker's handler behind for SIGTERM: every handler is put back,
    then the error goes up."""

    class Interrupted(BaseException):
        pass

    def interrupted(number: int, frame: object) -> None:
        raise Interrupted

    before = {
        signal.SIGINT: signal.signal(signal.SIGINT, interrupted),
        signal.SIGTERM: signal.getsignal(signal.SIGTERM),
    }
    real = signal.signal
    landed: list[int] = []

    def restoring(number: int, handler: Any) -> Any:
        previous = real(number, handler)
        if handler is interrupted and not landed:
            landed.append(number)
            signal.raise_signal(signal.SIGINT)  # lands on the handler just put back
        return previous

    try:
        with pytest.raises(Interrupted), on_signals():
            monkeypatch.setattr(signal, "signal", restoring)
        monkeypatch.undo()
        assert landed == [signal.SIGINT]
        assert signal.getsignal(signal.SIGTERM) == before[signal.SIGTERM]
    finally:
        monkeypatch.undo()
        signal.signal(signal.SIGINT, before[signal.SIGINT])


def test_a_sigterm_from_outside_wakes_the_wait_between_passes() -> None:
    """A SIGTERM sent to the process (by another thread here, by systemd in life)
    while the worker waits between passes ends the wait, with the stop set."""
    with on_signals() as stop:
        killer = threading.Thread(target=os.kill, args=(os.getpid(), signal.SIGTERM))
        killer.start()
        assert stop.wait(60) is True
        killer.join()


def test_a_stop_is_waited_for_and_stays_set() -> None:
    """``wait`` ends as the stop is set (from another thread here, from a signal
    handler in a worker), and every later wait sees it at once."""
    stop = Stopping()
    assert stop.wait(0) is False
    setter = threading.Thread(target=stop.set)
    setter.start()
    assert stop.wait(30) is True
    setter.join()
    assert (stop.wait(0), stop.wait(0), stop.is_set()) == (True, True, True)
