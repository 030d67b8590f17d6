"""``manage.py isobil_worker``: send what is due and pull reports, pass after pass.

Run as many workers as you like on one PostgreSQL database: each message is
claimed by one of them. A pushing provider's reports arrive through the callback
view (``isobil.contrib.django.urls``), not here.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from isobil._stopping import Stopping, on_signals
from isobil.client import Client
from isobil.contrib.django._client import get_client
from isobil.contrib.django.management._base import IsobilCommand, describe, positive
from isobil.errors import TransportError


class Command(IsobilCommand):
    help = "Send queued messages and due schedules, and pull delivery reports, until stopped."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--once", action="store_true", help="run one pass and exit")
        parser.add_argument(
            "--interval",
            type=positive(float, "--interval"),
            default=10.0,
            metavar="SECONDS",
            help="pause between passes (default 10)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        client = get_client()
        stopped = False
        try:
            with on_signals() as stop:
                self._pass(client, once=options["once"], stop=stop)
                while not options["once"] and not stop.wait(options["interval"]):
                    self._pass(client, once=False, stop=stop)
                stopped = stop.is_set()
        except KeyboardInterrupt:
            stopped = True
        if stopped:
            self.stderr.write("isobil: worker stopped")

    def _pass(self, client: Client, *, once: bool, stop: Stopping) -> None:
        report = client.dispatch(stop=stop)
        if report.handled or report.lost or once:
            self.stdout.write(describe(report))
        pulled = 0 if stop.is_set() else self._poll(client)
        if pulled or (once and client.transport.polls):
            self.stdout.write(f"pulled {pulled} delivery report(s) and inbound text(s)")
        self.stdout.flush()

    def _poll(self, client: Client) -> int:
        """Pull what a polled provider holds; a provider that fails is retried next pass."""
        try:
            return client.poll()
        except TransportError as exc:
            self.stderr.write(f"isobil: pulling reports failed, retried next pass: {exc}")
            return 0
