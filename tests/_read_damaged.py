"""Read the files named on stdin with isobil's reader; print one result line per file.

Run by tests/test_contacts_damaged_files.py in a subprocess under a memory limit, so
that a file which kills the process is seen as a death instead of killing pytest.
Each line is ``<index> ok <rows>``, ``<index> isobil <error class>`` or
``<index> other <exception class>: <message>``; it is flushed before the next file
is opened, so after a death the parent knows which file was being read.
"""

from __future__ import annotations

import sys

from isobil.contacts import open_table
from isobil.contacts._readers import cell_text
from isobil.errors import IsobilError


def main() -> None:
    out = sys.stdout
    for line in sys.stdin:
        index, _, path = line.rstrip("\n").partition(" ")
        try:
            rows = 0
            with open_table(path) as reader:
                for row in reader:
                    for cell in row:
                        cell_text(cell)
                    rows += 1
            out.write(f"{index} ok {rows}\n")
        except IsobilError as exc:
            out.write(f"{index} isobil {type(exc).__name__}\n")
        except BaseException as exc:  # everything else is what the test looks for
            if isinstance(exc, KeyboardInterrupt):
                raise
            message = str(exc).replace("\n", " ")[:300]
            out.write(f"{index} other {type(exc).__module__}.{type(exc).__name__}: {message}\n")
        out.flush()


if __name__ == "__main__":
    main()
