"""``manage.py isobil_dispatch``: one pass sending what is due, e.g. from cron."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from isobil._stopping import on_signals
from isobil.contrib.django._client import get_client
from isobil.contrib.django.management._base import IsobilCommand, describe, positive


class Command(IsobilCommand):
    help = "Send the queued messages and due schedules once, then exit."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--limit", type=positive(int, "--limit"), help="handle at most this many messages"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        with on_signals() as stop:  # a scheduler's timeout: the pass ends settled
            report = get_client().dispatch(limit=options["limit"], stop=stop)
        self.stdout.write(describe(report))
        if stop.is_set():
            self.stderr.write("isobil: dispatch stopped by a signal; the rest waits")
