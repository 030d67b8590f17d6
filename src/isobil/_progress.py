"""Progress of long commands: total, done, rate and time left, on a terminal or as JSON lines.

:class:`Progress` is a :class:`~isobil.contacts.Meter`: an import tells it each
stage as it starts (with its total, when known) and how far it got, as often as
it likes. It draws one line on its stream — redrawn in place, at most
:data:`REDRAW` times a second, the first time at once — only when that stream
is a terminal, so a script, a pipe or a log file sees nothing of it. With
``mode="json"`` it writes the same updates as JSON lines instead, whatever the
stream is, for a program that watches the command.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Final, Literal, TextIO

__all__ = ["KEEP", "REDRAW", "Progress", "Snapshot", "format_bytes", "format_duration"]

#: Most redraws a second; a stage's first and last updates are always shown.
REDRAW: Final = 5.0
#: A stage that took this many seconds stays on screen when the next one starts.
KEEP: Final = 1.0
#: How a :class:`Progress` shows itself: ``auto`` draws a bar only on a terminal.
Mode = Literal["auto", "bar", "json", "off"]
_BAR_WIDTH: Final = 24


def format_bytes(count: float) -> str:
    """``1536000`` → ``"1.5 MB"`` (decimal units, as file managers show sizes)."""
    for unit in ("B", "kB", "MB", "GB"):
        if abs(count) < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    raise AssertionError("unreachable")  # pragma: no cover


def format_duration(seconds: float) -> str:
    """``75.2`` → ``"1:15"``; ``3725`` → ``"1:02:05"``."""
    whole = max(int(seconds + 0.5), 0)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Snapshot:
    """Where a stage stands: ``done`` of ``total`` ``unit`` after ``elapsed`` seconds,
    at ``rate`` a second, ``eta`` seconds left (``None`` while unknown)."""

    __slots__ = ("done", "elapsed", "eta", "label", "rate", "total", "unit")

    def __init__(self, label: str, done: int, total: int | None, unit: str, elapsed: float) -> None:
        self.label = label
        self.done = done
        # A total read from a file's directory may be short of the truth.
        self.total = None if total is None else max(total, done)
        self.unit = unit
        self.elapsed = elapsed
        self.rate: float | None = done / elapsed if elapsed > 0 and done > 0 else None
        self.eta: float | None = None
        if self.total is not None and self.rate:
            self.eta = (self.total - done) / self.rate

    def as_json(self) -> dict[str, object]:
        return {
            "event": "progress",
            "phase": self.label,
            "done": self.done,
            "total": self.total,
            "unit": self.unit,
            "rate": None if self.rate is None else round(self.rate, 1),
            "eta": None if self.eta is None else round(self.eta, 1),
            "elapsed": round(self.elapsed, 3),
        }

    def line(self, title: str, width: int = 100) -> str:
        """One line of at most ``width`` characters, e.g.
        ``rehber.csv: importing [#####---] 12.3 MB/36.5 MB 34% · 9.8 MB/s · ETA 0:03``;
        the bar shrinks (then goes), then the title is cut, before the figures are."""
        amount = format_bytes if self.unit == "bytes" else _count
        head = f"{title}: {self.label}" if title else self.label
        figures = []
        if self.total is not None:
            share = self.done / self.total if self.total else 1.0
            figures.append(f"{amount(self.done)}/{amount(self.total)}{self._unit()} {share:.0%}")
        elif self.done:
            figures.append(f"{amount(self.done)}{self._unit()}")
        if self.rate is not None:
            figures.append(f"{amount(self.rate)}{self._unit()}/s")
        if self.total is not None:
            figures.append("ETA " + ("…" if self.eta is None else format_duration(self.eta)))
        else:
            figures.append(format_duration(self.elapsed))
        tail = " · ".join(figures)
        room = min(_BAR_WIDTH, width - len(head) - len(tail) - 4)
        if self.total is None or room < 8:
            spare = width - len(tail) - 1
            if len(head) > spare and title:  # the file name gives way first
                keep = spare - len(self.label) - 3
                head = f"{title[:keep]}…: {self.label}" if keep > 0 else self.label
            if len(head) > spare:
                head = head[: max(spare - 1, 0)] + "…"
            return f"{head} {tail}"[:width]
        filled = min(room, int(room * (self.done / self.total if self.total else 1.0)))
        return f"{head} [{'#' * filled}{'-' * (room - filled)}] {tail}"

    def _unit(self) -> str:
        return "" if self.unit == "bytes" else f" {self.unit}"


def _count(value: float) -> str:
    return f"{value:,.0f}"


class Progress:
    """A progress line for one command, stage after stage (see the module docstring).

    ``phase(label, total, unit)`` starts a stage and shows it at once;
    ``update(done)`` says how far it is (shown if :data:`REDRAW` allows);
    ``finish()`` shows the last state and ends the line. ``mode`` is ``"auto"``
    (a bar when ``out`` is a terminal, else nothing), ``"bar"``, ``"json"``
    (JSON lines on ``out``) or ``"off"``. ``clock`` is for tests.
    """

    def __init__(
        self,
        out: TextIO,
        *,
        title: str = "",
        mode: Mode = "auto",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if mode == "auto":
            mode = "bar" if out.isatty() else "off"
        self.out = out
        self.title = title
        self.mode: Mode = mode
        self.clock = clock
        self.label = ""
        self.total: int | None = None
        self.unit = "rows"
        self.done = 0
        self.started = clock()
        self._shown_at = float("-inf")
        self._drawn = False
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        """Whether anything is shown at all."""
        return self.mode != "off"

    def snapshot(self) -> Snapshot:
        """The current stage's state."""
        return Snapshot(self.label, self.done, self.total, self.unit, self.clock() - self.started)

    def phase(self, label: str, total: int | None, unit: str) -> None:
        """Start a stage of ``total`` ``unit`` (``None``: unknown); show it now."""
        with self._lock:
            if self.label and self.mode != "off":
                self._show()  # the previous stage as it ended
                if self.mode == "bar" and self.clock() - self.started >= KEEP:
                    self.out.write("\n")  # kept on a line of its own; a short one is drawn over
            self.label, self.total, self.unit, self.done = label, total, unit, 0
            self.started = self.clock()
            self._show()

    def update(self, done: int) -> None:
        """``done`` of the stage is done; shown unless shown less than 1/REDRAW s ago."""
        self.done = done
        if self.mode == "off" or self.clock() - self._shown_at < 1 / REDRAW:
            return
        with self._lock:
            self._show()

    def finish(self, *, complete: bool = False) -> None:
        """Show the last state and end the line (a bar leaves it on screen).

        ``complete``: the stage ran out, so what was done is its total (a total
        that was an estimate is corrected)."""
        with self._lock:
            if complete:
                self.total = self.done
            if self.label and self.mode != "off":
                self._show()
            if self.mode == "bar" and self._drawn:
                self.out.write("\n")
                self.out.flush()
            self._drawn = False
            self.label = ""

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.finish()

    @contextmanager
    def ticking(self) -> Iterator[None]:
        """Redraw the current stage from a thread while the block runs: the elapsed
        time moves while one long call (a send, a reader parsing a sheet) reports nothing."""
        if self.mode != "bar":
            yield
            return
        stop = threading.Event()

        def tick() -> None:
            while not stop.wait(1 / REDRAW):
                with self._lock:
                    if self.label:
                        self._show()

        thread = threading.Thread(target=tick, name="isobil-progress", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def _width(self) -> int:
        try:
            return os.get_terminal_size(self.out.fileno()).columns or 100
        except (AttributeError, OSError, ValueError):  # not a real terminal (a test's stream)
            return shutil.get_terminal_size((100, 24)).columns

    def _show(self) -> None:
        if self.mode == "off":
            return
        self._shown_at = self.clock()
        state = self.snapshot()
        if self.mode == "json":
            payload = state.as_json()
            if self.title:
                payload["command"] = self.title
            self.out.write(json.dumps(payload, ensure_ascii=False) + "\n")
        else:
            self.out.write("\r" + state.line(self.title, self._width() - 1) + "\x1b[K")
            self._drawn = True
        self.out.flush()
