"""The ``isobil`` command line (the commands live in :mod:`isobil._cli`)."""

from __future__ import annotations

import sys

from isobil._cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
