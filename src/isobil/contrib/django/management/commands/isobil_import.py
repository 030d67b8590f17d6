"""``manage.py isobil_import FILE``: import contacts from .xlsx, .xls, .ods or .csv."""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError

from isobil._cli import _mapping
from isobil._progress import Progress
from isobil.contacts import ImportFailed, ImportReport, Terms
from isobil.contrib.django._client import get_client
from isobil.contrib.django.management._base import IsobilCommand

#: How messages name this command's options (not Python keywords, not `isobil`'s flags).
TERMS = Terms(command_line=True, mapping="--mapping", all_rows="--invalid-csv FILE writes them all")


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
        parser.add_argument(
            "--invalid-csv",
            metavar="FILE",
            help="write every invalid row (row, column, value, reason) to this CSV file",
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
                    terms=TERMS,
                )
            except ImportFailed as exc:
                bar.finish()
                if isinstance(exc.report, ImportReport):  # what was read before it stopped
                    self.stderr.write(exc.report.summary(TERMS))
                    self._write_invalid(exc.report, options["invalid_csv"])
                raise CommandError(str(exc)) from exc
        self.stdout.write(report.summary(TERMS))
        self._write_invalid(report, options["invalid_csv"])
        if report.invalid:
            self.stderr.write(
                f"isobil: warning: {len(report.invalid)} invalid row(s) were not imported"
            )

    def _write_invalid(self, report: ImportReport, path: str | None) -> None:
        if path is not None:
            count = report.invalid_csv(path)
            self.stderr.write(f"isobil: {count} invalid row(s) written to {path}")
