"""The ``isobil`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from isobil import _demo


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``isobil`` command."""
    parser = argparse.ArgumentParser(
        prog="isobil", description="Consent-aware bulk SMS for Turkey."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo",
        help="the main job end to end on SQLite with the fake transport: import, preflight, "
        "İYS, send, delivery reports with refunds, an inbound RET, reports",
    )
    demo.add_argument(
        "--dir", help="where to keep the demo's database and files (default: a temp dir)"
    )
    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_commands.add_parser("upgrade", help="migrate a database to this isobil's schema")
    upgrade.add_argument(
        "--url",
        default=None,
        help="database URL (default: $ISOBIL_DATABASE_URL or sqlite:///isobil.db)",
    )
    args = parser.parse_args(argv)
    if args.command == "demo":
        return _demo.run(sys.stdout, directory=args.dir)
    if args.command == "db":
        return _db_upgrade(args.url)
    parser.error(f"unknown command {args.command}")  # pragma: no cover - argparse exits first
    return 2  # pragma: no cover


def _db_upgrade(url: str | None) -> int:
    import os

    from isobil.client import DEFAULT_DATABASE_URL
    from isobil.errors import IsobilError
    from isobil.storage import upgrade

    target = url or os.environ.get("ISOBIL_DATABASE_URL") or DEFAULT_DATABASE_URL
    try:
        revision = upgrade(target)
    except IsobilError as exc:
        print(f"isobil: {exc}", file=sys.stderr)
        return 1
    print(f"database is at revision {revision}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
