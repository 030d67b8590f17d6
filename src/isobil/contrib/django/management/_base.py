"""What the isobil management commands share: the client, and refusals as CommandError."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from isobil.client import DispatchReport
from isobil.errors import IsobilError


class IsobilCommand(BaseCommand):
    """A command whose isobil errors end it with their message (exit code 1)."""

    def execute(self, *args: Any, **options: Any) -> str | None:
        try:
            return super().execute(*args, **options)
        except IsobilError as exc:
            raise CommandError(str(exc)) from exc


def describe(report: DispatchReport) -> str:
    """One line about a dispatch pass: handled, by outcome, and lost."""
    counts = ", ".join(f"{s.value} {n}" for s, n in report.outcomes.items())
    lost = f"; {len(report.lost)} lost to unknown" if report.lost else ""
    return f"dispatched {report.handled} message(s){': ' + counts if counts else ''}{lost}"


def positive(kind: Callable[[str], Any], name: str) -> Callable[[str], Any]:
    """An argparse type: ``kind(text)``, which must be above zero."""

    def parse(text: str) -> Any:
        value = kind(text)
        if value <= 0:
            raise CommandError(f"{name} must be positive, got {text}")
        return value

    return parse
