"""SMPP submit throughput: isobil's SmppTransport against a bare smpplib windowed loop.

Both clients bind to the same simulated SMSC (smpp34, ``python -m
isobil.testing.smsc``, in its own process) in the same run, send the same
single-part text to the same number with the same window, and are timed from the
first ``submit_sm`` to the last ``submit_sm_resp``. Rounds alternate between the
two so that noise from other work on the machine falls on both. Client CPU is
this process's CPU time (the server runs in another process) per message.

Usage:

    .venv/bin/python benchmarks/smpp_throughput.py [--n 20000] [--windows 10 50] [--rounds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import smpplib.client  # type: ignore[import-untyped]  # smpplib ships no type hints
import smpplib.exceptions  # type: ignore[import-untyped]

from isobil import sms
from isobil.transport import OutboundSms, SmppTransport

TEXT = "KAMPANYA: yeni sezon indirimi basladi, detaylar acme.com.tr/k ACME RET 4605"
TO = "+905321234567"
PASSWORD = "bench"  # noqa: S105 - the simulated SMSC accepts any password


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(port: int) -> subprocess.Popen[bytes]:
    """The simulator's server process alone: no test-side reader in this process."""
    proc = subprocess.Popen(  # noqa: S603 - our own module
        [sys.executable, "-m", "isobil.testing.smsc", "--port", str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            threading.Event().wait(0.05)
    proc.kill()
    raise SystemExit(f"the SMSC did not start on port {port}")


def bare_smpplib(port: int, n: int, window: int) -> tuple[float, float]:
    """The loop smpplib users write: send while the window has room, else read one PDU."""
    client = smpplib.client.Client("127.0.0.1", port, allow_unknown_opt_params=True)
    client.connect()
    client.bind_transceiver(system_id="bench", password=PASSWORD)
    body = sms.plan(TEXT).payloads()[0]
    wall, cpu = time.perf_counter(), time.process_time()
    sent = answered = 0
    while answered < n:
        while sent < n and sent - answered < window:
            client.send_message(
                source_addr_ton=5,
                source_addr_npi=0,
                source_addr="ACME",
                dest_addr_ton=1,
                dest_addr_npi=1,
                destination_addr=TO[1:],
                esm_class=body.esm_class,
                data_coding=body.data_coding,
                short_message=body.short_message,
                registered_delivery=1,
            )
            sent += 1
        pdu = client.read_pdu()
        if pdu.command == "submit_sm_resp":
            assert pdu.status == 0, pdu.status
            answered += 1
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    with contextlib.suppress(smpplib.exceptions.ConnectionError):
        client.unbind()  # smpp34 often closes instead of answering unbind
    client.disconnect()
    return n / wall, cpu / n * 1e6


def isobil_transport(port: int, n: int, window: int, batch: int) -> tuple[float, float]:
    """SmppTransport.submit in batches of ``batch``, as Client.send hands them over."""
    transport = SmppTransport(
        "127.0.0.1", port, system_id="bench", password=PASSWORD, window=window
    )
    transport.wait_bound(10)
    plan = sms.plan(TEXT)
    messages = [OutboundSms(f"m{i}", TO, plan, originator="ACME") for i in range(n)]
    wall, cpu = time.perf_counter(), time.process_time()
    for start in range(0, n, batch):
        results = transport.submit(messages[start : start + batch])
        assert all(r.ok for r in results), results[0]
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    transport.close()
    return n / wall, cpu / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--windows", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, nargs="+", default=[500, 10000])
    args = parser.parse_args()
    port = free_port()
    server = start_server(port)
    try:
        bare_smpplib(port, 2000, 10)  # warm-up: imports, server JIT-free but caches warm
        print(f"n={args.n} rounds={args.rounds} (medians)")
        print("| window | client | batch | submit_sm/s | client CPU µs/msg | vs bare |")
        print("|---:|---|---:|---:|---:|---:|")
        for window in args.windows:
            runs: dict[str, list[tuple[float, float]]] = {}
            contenders: dict[str, Callable[[], tuple[float, float]]] = {
                "bare smpplib": lambda w=window: bare_smpplib(port, args.n, w),
            }
            for size in args.batch:
                contenders[f"isobil/{size}"] = lambda w=window, b=size: isobil_transport(
                    port, args.n, w, b
                )
            for _ in range(args.rounds):
                for name, run in contenders.items():
                    runs.setdefault(name, []).append(run())
            bare = statistics.median(r[0] for r in runs["bare smpplib"])
            for name, values in runs.items():
                rate = statistics.median(v[0] for v in values)
                cpu = statistics.median(v[1] for v in values)
                client, _, size = name.partition("/")
                print(
                    f"| {window} | {client} | {size or '-'} | {rate:,.0f} | {cpu:.1f} | "
                    f"{rate / bare:.0%} |"
                )
    finally:
        assert server.stdin is not None
        server.stdin.close()  # end of commands: the server stops
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
