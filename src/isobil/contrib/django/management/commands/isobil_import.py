"""``manage.py isobil_import FILE``: import contacts from .xlsx, .xls, .ods or .csv."""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError

from isobil._cli import _mapping
from isobil._progress import Progress
from isobil.contacts import ImportFailed
from isobil.contrib.django._client import get_client
from isobil.contrib.django.management._base import IsobilCommand


class Command(IsobilCommand):
    help = "Import contacts (rehber) from a spreadsheet or CSV into isobil's address book."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", help="the .xlsx, .xls, .ods or .csv file")
        parser.add_argument("--group", help="put every imported contact in this group")
        parser.add_argument(
            "--mapping",
            type=_mapping,
            metavar="FIELD=COLUMN,…",
            help='columns detection cannot find, e.g. "number=Müşteri GSM,name=2"',
        )

    def handle(self, *args: Any, **options: Any) -> None:
        bar = Progress(
            sys.stderr, title=options["file"], mode="auto" if options["verbosity"] else "off"
        )
        with bar:
            try:
                report = get_client().contacts.import_file(
                    options["file"],
                    group=options["group"],
                    mapping=options["mapping"],
                    meter=bar,
                )
            except ImportFailed as exc:
                bar.finish()
                self.stderr.write(str(exc.report))
                raise CommandError(str(exc)) from exc
        self.stdout.write(str(report))
        if report.invalid:
            self.stderr.write(
                f"isobil: warning: {len(report.invalid)} invalid row(s) were not imported"
            )
