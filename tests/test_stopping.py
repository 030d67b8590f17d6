"""Stopping a worker well: the first SIGINT or SIGTERM asks, a second insists."""

from __future__ import annotations

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
    assert not [t for t in threading.enumerate() if t.name == "isobil-signals"]


def test_away_from_the_main_thread_the_handlers_are_left_alone() -> None:
    """Only the main thread may set signal handlers: elsewhere the event is never set."""
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
    """A second signal landing as the command ends (between restoring SIGINT's handler
    and SIGTERM's) neither raises nor leaves the worker's handler behind."""
    before = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    real = signal.signal
    try:
        with on_signals() as stop:
            signal.raise_signal(signal.SIGTERM)
            assert stop.is_set()  # the handler ran in this thread, before raise_signal returned

            def restoring(number: int, handler: Any) -> Any:
                if number == signal.SIGINT:
                    signal.raise_signal(signal.SIGINT)  # as the restoring starts
                return real(number, handler)

            monkeypatch.setattr(signal, "signal", restoring)
    except KeyboardInterrupt:
        pytest.fail("the second signal cut the restoring of the handlers short")
    finally:
        monkeypatch.undo()
    assert {n: signal.getsignal(n) for n in before} == before


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
