"""SMPP send throughput: ``Client.send`` over SmppTransport against a bare smpplib loop.

Both sides bind to the same SMSC in its own process in the same run and send the
same messages — ``--n`` distinct numbers, one text — with the same window. The
SMSC is ``--smsc``: ``simulator`` (the default), isobil's SMSC simulator (smpp34,
``python -m isobil.testing.smsc``); ``echo``, ``benchmarks/_echo_smsc.py``, a
server that only answers (the answers to one read in one send; ``echo-each``: one
send per answer). The simulator is the slowest party here: its CPU per
``submit_sm`` (80–160 µs, more the faster a client answers, as each event then
wakes its loop alone) sets the pace, so it compares how the simulator copes with
each client; the echo server (a few µs a PDU) lets the clients set the pace:

- **isobil**: the real thing, ``isobil.Client(ACME, transport=SmppTransport(...,
  window=W), storage=SQLStorage("sqlite:///<temp file>"), national_shift=False)``
  doing ``client.send(Message(text, category="informational"), to=numbers)``:
  batch by batch (500), the audience read, preflighted and stored ``submitting``
  while the batch before it is submitted, each batch settled; the campaign
  finished. Timed over the whole ``send`` call (the headline), and separately
  from the moment it hands its first batch to the transport (the first
  ``submit_sm`` leaves within microseconds of that) to its return. A fresh
  database and bind each run; creating them is not timed.
- **bare smpplib**: the loop a competent smpplib user writes for the same job:
  for each number, ``smpplib.gsm.make_parts(text)`` (GSM 7-bit, else UCS-2; a
  long text split with an 8-bit concatenation UDH) and one ``submit_sm`` per part,
  sent while fewer than ``window`` are unanswered, else one PDU read. Timed from
  the first ``submit_sm`` to the last ``submit_sm_resp``; it stores nothing.
- **isobil transport** (``--transport-row``): ``SmppTransport.submit`` alone in
  batches of 500 with the plans made beforehand — the transport's share.

Texts: GSM 7-bit of 1 and 3 parts, and Turkish texts of 1 and 3 parts sent as
UCS-2 on both sides (smpplib has no Turkish shift tables, so the client is made
with ``national_shift=False``; with its default the 3-part Turkish text would
leave in 2 parts of the Turkish single shift table — fewer submits than the
bare loop, which would not be the same work).

The simulator logs every ``submit_sm`` it accepts (to a file: nothing is read in
this process while timing); every pair of runs is checked to have made the
server accept the same number of ``submit_sm``. Rounds alternate between the
sides so noise from other work on the machine falls on both; the table gives
medians and the ratio isobil ÷ bare of the rates. Client CPU is this process's
CPU time (every thread; the server runs in another process) per ``submit_sm``.

For the isobil side the run is also broken down by a hook on ``transport.submit``:
the time before the first batch (audience, preflight, storing), the time while a
``submit`` call is open (the SMSC link busy; calls that overlap, from a client
that pipelines its batches, count once), the pauses with no call open (the link
idle while the client does storage work) and the time after the last batch. The
SMSC's own view is given for both sides: the sum of the pauses longer than 2 ms
between two ``submit_sm`` it accepted. ``--profile`` runs one more ``send`` per
window and text under cProfile (main thread) and prints where the time went.

Usage:

    .venv/bin/python benchmarks/smpp_throughput.py [--n 10000] [--windows 10 50] \\
        [--texts gsm1 gsm3 tr1 tr3] [--rounds 3] [--transport-row] [--profile] \\
        [--smsc simulator|echo|echo-each]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import itertools
import json
import logging
import os
import pstats
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import smpplib.client  # type: ignore[import-untyped]  # smpplib ships no type hints
import smpplib.exceptions  # type: ignore[import-untyped]
import smpplib.gsm  # type: ignore[import-untyped]

import isobil
from _common import ACME
from isobil.storage import SQLStorage
from isobil.transport import OutboundSms, SmppTransport, SubmitResult

TEXTS = {
    "gsm1": "Sayin musterimiz, 12345 numarali siparisiniz kargoya verildi: acme.com.tr/k/12345",
    "gsm3": (
        "Sayin musterimiz, "
        + "hesabinizla ilgili bilgilendirme: siparisiniz hazirlaniyor ve kargoya verilecek. " * 5
    )[:400],
    "tr1": "Siparişiniz kargoya verildi, takip: acme.com.tr/k/12345 ğüşıöç",
    "tr3": (
        "Sayın müşterimiz, "
        + "siparişiniz hazırlanıyor; kargo şirketi ürünü yarın teslim edecek. " * 4
    )[:180],
}
PASSWORD = "bench"  # noqa: S105 - the simulated SMSC accepts any password
BATCH = 500  # Client's default batch_size


def number(i: int) -> str:
    return f"+90532{i:07d}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


#: The servers ``--smsc`` chooses from: the command that starts each on a port.
SERVERS = {
    "simulator": [sys.executable, "-m", "isobil.testing.smsc", "--port"],
    "echo": [sys.executable, str(Path(__file__).resolve().parent / "_echo_smsc.py"), "--port"],
    "echo-each": [
        sys.executable,
        str(Path(__file__).resolve().parent / "_echo_smsc.py"),
        "--each",
        "--port",
    ],
}


class Smsc:
    """The server process alone (``kind``: a key of SERVERS), its event log going to a file."""

    def __init__(self, kind: str = "simulator") -> None:
        self.port = free_port()
        self._log = tempfile.NamedTemporaryFile(prefix="isobil-smsc-", suffix=".jsonl")  # noqa: SIM115
        self.proc = subprocess.Popen(  # noqa: S603 - our own module
            [*SERVERS[kind], str(self.port)],
            stdin=subprocess.PIPE,
            stdout=self._log,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                threading.Event().wait(0.05)
        self.proc.kill()
        raise SystemExit(f"the SMSC did not start on port {self.port}")

    def mark(self) -> int:
        return os.path.getsize(self._log.name)

    def accepted_since(self, offset: int) -> list[float]:
        """When the server accepted each submit_sm logged after ``offset`` (monotonic)."""
        with open(self._log.name, "rb") as log:
            log.seek(offset)
            events = [json.loads(line) for line in log if line.strip()]
        refused = [e for e in events if e["ev"] == "refused"]
        assert not refused, refused[:3]
        return [e["at"] for e in events if e["ev"] == "submit"]

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()  # end of commands: the server stops
        self.proc.wait(timeout=10)
        self._log.close()


Run = dict[str, Any]


def bare_smpplib(port: int, numbers: Sequence[str], text: str, window: int) -> Run:
    """The loop smpplib users write: send while the window has room, else read one PDU."""
    client = smpplib.client.Client("127.0.0.1", port, allow_unknown_opt_params=True)
    client.connect()
    client.bind_transceiver(system_id="bench", password=PASSWORD)
    wall, cpu = time.perf_counter(), time.process_time()
    sent = answered = 0
    for to in numbers:
        parts, encoding, esm_class = smpplib.gsm.make_parts(text)
        for part in parts:
            while sent - answered >= window:
                pdu = client.read_pdu()
                if pdu.command == "submit_sm_resp":
                    assert pdu.status == 0, pdu.status
                    answered += 1
            client.send_message(
                source_addr_ton=5,
                source_addr_npi=0,
                source_addr="ACME",
                dest_addr_ton=1,
                dest_addr_npi=1,
                destination_addr=to[1:],
                esm_class=esm_class,
                data_coding=encoding,
                short_message=part,
                registered_delivery=1,
            )
            sent += 1
    while answered < sent:
        pdu = client.read_pdu()
        if pdu.command == "submit_sm_resp":
            assert pdu.status == 0, pdu.status
            answered += 1
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    with contextlib.suppress(smpplib.exceptions.ConnectionError):
        client.unbind()  # smpp34 often closes instead of answering unbind
    client.disconnect()
    return {"wall": wall, "from_first": wall, "cpu": cpu, "sent": sent}


class TimedSubmits:
    """Wraps ``transport.submit``: when each batch went in and came back."""

    def __init__(self, transport: SmppTransport) -> None:
        self.transport = transport
        self.inner = transport.submit
        self.spans: list[tuple[float, float, int]] = []
        transport.submit = self  # type: ignore[method-assign]

    def __call__(self, batch: Sequence[OutboundSms]) -> list[SubmitResult]:
        start = time.perf_counter()
        try:
            return self.inner(batch)
        finally:
            self.spans.append((start, time.perf_counter(), len(batch)))


@contextlib.contextmanager
def isobil_client(port: int, window: int) -> Any:
    with tempfile.TemporaryDirectory(prefix="isobil-bench-") as folder:
        transport = SmppTransport(
            "127.0.0.1", port, system_id="bench", password=PASSWORD, window=window
        )
        transport.wait_bound(10)
        storage = SQLStorage(f"sqlite:///{Path(folder) / 'bench.db'}")
        client = isobil.Client(ACME, transport=transport, storage=storage, national_shift=False)
        try:
            yield client, TimedSubmits(transport)
        finally:
            client.close()
            storage.close()


def isobil_send(
    port: int, numbers: Sequence[str], text: str, window: int, profile: cProfile.Profile | None
) -> Run:
    """``Client.send`` of ``text`` to ``numbers``, the whole call timed."""
    message = isobil.Message(text, category="informational")
    with isobil_client(port, window) as (client, timed):
        wall, cpu = time.perf_counter(), time.process_time()
        if profile is not None:
            profile.enable()
        result = client.send(message, to=list(numbers))
        if profile is not None:
            profile.disable()
        end, cpu = time.perf_counter(), time.process_time() - cpu
        statuses = {o.status for o in result.outcomes}
        assert statuses == {isobil.OutcomeStatus.SUBMITTED}, statuses
        spans = timed.spans
    # A pipelined client has more than one batch in the transport at a time: the
    # link is busy while any submit call is open, idle between such stretches.
    merged: list[list[float]] = []
    for start, stop, _ in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], stop)
        else:
            merged.append([start, stop])
    first, last = merged[0][0], merged[-1][1]
    gaps = [nxt[0] - prev[1] for prev, nxt in itertools.pairwise(merged)]
    return {
        "wall": end - wall,
        "from_first": end - first,
        "cpu": cpu,
        "before": first - wall,
        "busy": sum(b - a for a, b in merged),
        "gaps": gaps,
        "after": end - last,
        "batches": len(spans),
    }


def isobil_transport(port: int, numbers: Sequence[str], text: str, window: int) -> Run:
    """SmppTransport.submit alone in batches of 500, the plans made beforehand."""
    transport = SmppTransport(
        "127.0.0.1", port, system_id="bench", password=PASSWORD, window=window
    )
    transport.wait_bound(10)
    plan = isobil.sms.plan(text, national_shift=False)
    messages = [OutboundSms(f"m{i}", to, plan, originator="ACME") for i, to in enumerate(numbers)]
    wall, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(messages), BATCH):
        results = transport.submit(messages[start : start + BATCH])
        assert all(r.ok for r in results), results[0]
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    transport.close()
    return {"wall": wall, "from_first": wall, "cpu": cpu}


def profile_send(port: int, numbers: Sequence[str], text: str, window: int) -> None:
    profile = cProfile.Profile()
    run = isobil_send(port, numbers, text, window, profile)
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("cumulative").print_stats(45)
    print(
        f"\n### profile: window {window}, {text_name(text)}: whole send {run['wall']:.2f} s, "
        f"before first batch {run['before']:.2f} s, in submit {run['busy']:.2f} s, "
        f"between batches {sum(run['gaps']):.2f} s, after {run['after']:.2f} s "
        "(cProfile slows the main thread)\n"
    )
    print("```")
    print(out.getvalue().split("\n", 6)[-1].rstrip())
    print("```")


#: A pause between two accepted submit_sm longer than this is the link standing idle
#: (at 5,000 submit_sm/s they come every 0.2 ms).
IDLE_GAP = 0.002


def smsc_idle(accepted: Sequence[float]) -> float:
    """Seconds the SMSC waited between accepted submit_sm, in pauses over IDLE_GAP."""
    return sum(g for a, b in itertools.pairwise(accepted) if (g := b - a) > IDLE_GAP)


def text_name(text: str) -> str:
    return next(k for k, v in TEXTS.items() if v == text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10000, help="messages (numbers) per run")
    parser.add_argument("--windows", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--texts", nargs="+", choices=list(TEXTS), default=list(TEXTS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--transport-row", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--smsc",
        choices=list(SERVERS),
        default="simulator",
        help="the server: isobil's SMSC simulator, or a bare server that only answers",
    )
    args = parser.parse_args()
    # smpp34 closes instead of answering unbind: smpplib's warning about it is noise here.
    logging.getLogger("smpp").setLevel(logging.ERROR)  # smpplib's "smpp.Client.<id>"
    numbers = [number(i) for i in range(args.n)]
    smsc = Smsc(args.smsc)
    port = smsc.port
    try:
        bare_smpplib(port, numbers[:2000], TEXTS["gsm1"], 10)  # warm-up: imports, caches
        isobil_send(port, numbers[:1000], TEXTS["gsm1"], 10, None)
        print(
            f"n={args.n} messages per run, rounds={args.rounds} (medians), batch {BATCH}, "
            f"server: {args.smsc}"
        )
        print(f"load average before: {os.getloadavg()}")
        print(
            "| window | text | client | submit_sm | submit_sm/s (whole) | vs bare "
            "| from 1st submit/s | vs bare | client CPU µs/submit_sm |"
        )
        print("|---:|---|---|---:|---:|---:|---:|---:|---:|")
        breakdown = []
        for window in args.windows if args.rounds > 0 else ():
            for name in args.texts:
                text = TEXTS[name]
                contenders: dict[str, Callable[[], Run]] = {
                    "bare smpplib": lambda w=window, t=text: bare_smpplib(port, numbers, t, w),
                    "isobil Client.send": lambda w=window, t=text: isobil_send(
                        port, numbers, t, w, None
                    ),
                }
                if args.transport_row:
                    contenders["isobil transport"] = lambda w=window, t=text: isobil_transport(
                        port, numbers, t, w
                    )
                runs: dict[str, list[Run]] = {k: [] for k in contenders}
                order = list(contenders)
                for r in range(args.rounds):
                    for key in order if r % 2 == 0 else reversed(order):
                        mark = smsc.mark()
                        run = contenders[key]()
                        accepted = smsc.accepted_since(mark)
                        run["submits"] = len(accepted)
                        run["smsc_idle"] = smsc_idle(accepted)
                        runs[key].append(run)
                counts = {run["submits"] for values in runs.values() for run in values}
                assert len(counts) == 1, f"different numbers of submit_sm: {runs}"
                (submits,) = counts
                bare = runs["bare smpplib"]
                bare_rate = statistics.median(submits / r["wall"] for r in bare)
                for key, values in runs.items():
                    rate = statistics.median(submits / r["wall"] for r in values)
                    first = statistics.median(submits / r["from_first"] for r in values)
                    cpu = statistics.median(r["cpu"] / submits * 1e6 for r in values)
                    print(
                        f"| {window} | {name} | {key} | {submits:,} | {rate:,.0f} | "
                        f"{rate / bare_rate:.2f}x | {first:,.0f} | {first / bare_rate:.2f}x | "
                        f"{cpu:.0f} |"
                    )
                sends = runs["isobil Client.send"]
                gaps = [g for r in sends for g in r["gaps"]] or [0.0]
                breakdown.append(
                    f"| {window} | {name} | {statistics.median(r['wall'] for r in sends):.2f} | "
                    f"{statistics.median(r['before'] for r in sends):.2f} | "
                    f"{statistics.median(r['busy'] for r in sends):.2f} | "
                    f"{statistics.median(sum(r['gaps']) for r in sends):.2f} | "
                    f"{statistics.median(gaps) * 1e3:.1f} | "
                    f"{statistics.median(r['after'] for r in sends) * 1e3:.0f} | "
                    f"{statistics.median(r['smsc_idle'] for r in sends):.2f} | "
                    f"{statistics.median(r['wall'] for r in bare):.2f} | "
                    f"{statistics.median(r['smsc_idle'] for r in bare):.2f} |"
                )
        print(f"load average after: {os.getloadavg()}")
        print("\nisobil Client.send, where the wall time went (medians, seconds unless said):\n")
        print(
            "| window | text | whole send | before 1st batch | in submit (link busy) "
            "| between batches (link idle) | idle per pause, ms | after last batch, ms "
            f"| SMSC idle (pauses > {IDLE_GAP * 1e3:g} ms) | bare loop | its SMSC idle |"
        )
        print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        print("\n".join(breakdown))
        if args.profile:
            for window in args.windows:
                for name in args.texts:
                    profile_send(port, numbers, TEXTS[name], window)
    finally:
        smsc.close()


if __name__ == "__main__":
    main()
