"""The `isobil` command line."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from isobil.__main__ import demo, main


def test_demo_tells_the_whole_story() -> None:
    """The demo sends, reports each outcome, and applies delivery reports."""
    out = io.StringIO()
    assert demo(out) == 0
    text = out.getvalue()
    assert "encoding gsm7-tr-single, 1 part(s)" in text
    assert "<SendResult submitted=4, invalid=1, duplicate=1 credits=4>" in text
    assert "undelivered" in text
    assert text.count(" delivered") == 3
    assert "1234567" not in text  # numbers are masked in output


def test_module_entry_point_runs() -> None:
    """`python -m isobil demo` works as an installed command would."""
    done = subprocess.run(
        [sys.executable, "-m", "isobil", "demo"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "after delivery reports:" in done.stdout


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """Running without a command prints usage and exits 2."""
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    assert "usage: isobil" in capsys.readouterr().err
