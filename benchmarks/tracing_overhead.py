"""Benchmark: what the spans around ``Client.send_now`` cost, the smallest traced call.

``send_now`` to one number on ``MemoryStorage`` and ``FakeTransport`` (isobil's own
time, no database or network to hide behind), timed three ways in alternating
rounds:

- ``untraced``: OpenTelemetry treated as not installed — the baseline;
- ``api``: opentelemetry-api installed, no SDK configured (spans go nowhere);
- ``sdk``: the SDK with a span processor that drops every span (the recording cost
  without an exporter's).

Medians of ``--rounds`` rounds of ``--calls`` calls each, per call, in CPU time of
the process — the calling thread and the client's submit thread, where each
``isobil.submit`` span is made: steadier than wall time on a machine busy with
other work.

    .venv/bin/python benchmarks/tracing_overhead.py
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from typing import Any

from opentelemetry.sdk.trace import SpanProcessor, TracerProvider

import isobil
from isobil import _tracing
from isobil.storage import MemoryStorage

NOTICE = isobil.Message("Kargonuz yola çıktı.", category="informational")


class Drop(SpanProcessor):
    """Receives every span and keeps none."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    print(f"python {platform.python_version()} on {platform.machine()}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    sdk = TracerProvider()
    sdk.add_span_processor(Drop())
    configured = _tracing._provider
    modes: dict[str, Any] = {
        "untraced": (False, configured),
        "api": (None, configured),  # looked up: opentelemetry.trace, no SDK configured
        "sdk": (None, lambda otel: sdk),
    }
    times: dict[str, list[float]] = {mode: [] for mode in modes}
    order = list(modes.items())
    for round_ in range(args.rounds + 1):  # the first round warms up
        # Each mode takes each place in a round in turn: no mode always runs first.
        for mode, otel in order[round_ % 3 :] + order[: round_ % 3]:
            # A fresh client each time: every mode sends into the same, empty storage.
            with isobil.Client(transport=isobil.FakeTransport(), storage=MemoryStorage()) as client:
                _tracing._otel, _tracing._provider = otel
                start = time.process_time()
                for i in range(args.calls):
                    client.send_now(NOTICE, to=f"+90532{i:07d}")
                times[mode].append((time.process_time() - start) / args.calls)
    medians = {mode: statistics.median(values[1:]) for mode, values in times.items()}
    base = medians["untraced"]
    for mode, median in medians.items():
        print(
            f"{mode:>9}: {median * 1e6:8.1f} µs per send_now  "
            f"({median / base:.3f}x untraced, {(median - base) * 1e6:+.1f} µs)"
        )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
