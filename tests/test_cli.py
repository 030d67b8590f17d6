"""The `isobil` command line: the demo and the schema migration."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from isobil import _demo
from isobil.__main__ import main
from isobil.storage import SQLStorage, revision


def test_demo_tells_the_whole_story(tmp_path: Path) -> None:
    """The demo imports, refuses a bad draft, sends, refunds, takes a RET, and reports."""
    out = io.StringIO()
    assert _demo.run(out, directory=tmp_path) == 0
    text = out.getvalue()
    assert "6 imported, 0 updated, 1 duplicates, 1 invalid" in text
    assert "row 9, column Cep Telefonu: '12345'" in text
    assert "5 registered" in text
    assert "ERROR TR-OPTOUT-002" in text
    assert "send refused" in text
    assert "<SendResult submitted=5, blocked=1 credits=5>" in text
    assert "the undelivered one refunded: credits 36" in text
    assert "blocked by ('TR-OPTOUT-001',)" in text
    assert "5 opt-in(s), 1 opt-out(s)" in text
    assert "compliance: 3 campaign(s), 13 message(s), 3 blocked" in text
    assert "     2  TR-CONSENT-001  [Law 6563 art. 6(1)]" in text
    assert (tmp_path / "compliance.xlsx").stat().st_size > 0
    assert "ledger intact: 6 events" in text
    assert "1234567" not in text  # numbers are masked in output
    assert (tmp_path / "isobil.db").exists()


def test_demo_command_runs_as_installed(tmp_path: Path) -> None:
    """`python -m isobil demo` works as the installed command would."""
    done = subprocess.run(
        [sys.executable, "-m", "isobil", "demo", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "ledger intact" in done.stdout


def test_db_upgrade(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`isobil db upgrade` creates or migrates a database to the newest revision."""
    url = f"sqlite:///{tmp_path / 'x.db'}"
    assert main(["db", "upgrade", "--url", url]) == 0
    assert "database is at revision" in capsys.readouterr().out
    assert revision(url) is not None
    SQLStorage(url).close()


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """Running without a command prints usage and exits 2."""
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    assert "usage: isobil" in capsys.readouterr().err
