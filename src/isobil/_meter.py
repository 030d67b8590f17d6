"""How a long job (an import, an export) says how far it is: the :class:`Meter` it reports to."""

from __future__ import annotations

from typing import Final, Protocol

__all__ = ["METER_ROWS", "Meter"]

#: Rows read between two :meth:`Meter.update` calls of an import (a few
#: milliseconds of work): often enough for a bar redrawn a few times a second,
#: rare enough to cost nothing next to the rows themselves.
METER_ROWS: Final = 4096


class Meter(Protocol):
    """Where a long job reports progress, stage by stage (a progress bar, a log).

    ``phase`` starts a stage — for a contact import ``"checking"`` (the safety
    scan of a workbook, in bytes), ``"loading"`` (the reader parsing a sheet, no
    total), ``"importing"`` (rows of a workbook, or bytes of a CSV file); for a
    consent export ``"exporting"`` (events read) — with its ``total`` (``None``
    when unknown) and ``unit`` (``"bytes"``, ``"rows"``, ``"events"``), before
    any work of the stage is done. ``update`` says how much of the stage is done;
    it is called often (every 1 MiB scanned, every :data:`METER_ROWS` rows), so a
    meter throttles what it shows itself. Raising from either cancels the job.
    """

    def phase(self, label: str, total: int | None, unit: str) -> None: ...

    def update(self, done: int) -> None: ...
