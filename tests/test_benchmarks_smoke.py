"""The benchmarks still run: each in its ``--quick`` mode, tiny sizes, in a fresh interpreter.

They measure nothing here (figures belong in benchmarks/RESULTS.md); this only keeps
the scripts from rotting as the API under them changes. Each script checks its own
answers (every recipient submitted exactly once) and exits non-zero when they differ.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_benchmark(script: str, *args: str) -> str:
    """Run ``benchmarks/<script>`` with ``args``; assert it succeeded; return its output."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,  # a hang guard: the child is killed, the test fails
    )
    assert result.returncode == 0, f"{script} {' '.join(args)} failed:\n{result.stderr}"
    return result.stdout


@pytest.mark.parametrize("numbers", [[], ["--scattered"]], ids=["in-order", "scattered"])
def test_send_baseline_quick(numbers: list[str]) -> None:
    """benchmarks/send_baseline.py: the hand-written outbox and both isobil sends agree,
    with consecutive numbers and with numbers spread over the numbering plan."""
    out = run_benchmark("send_baseline.py", "--quick", "--backend", "sqlite", *numbers)
    for job in ("hand-written outbox", "isobil send", "isobil queued + dispatch"):
        assert job in out, out
    assert out.count("ratio") == 2, out


@pytest.mark.parametrize("server", ["echo", "echo-each"])
def test_smpp_throughput_against_the_echo_server(server: str) -> None:
    """benchmarks/smpp_throughput.py --smsc echo|echo-each: every client makes the bare
    server accept the same submit_sm (the script asserts it) and a ratio is printed."""
    out = run_benchmark(
        "smpp_throughput.py",
        *("--n", "300", "--rounds", "1", "--windows", "10", "--texts", "gsm3"),
        *("--smsc", server, "--transport-row"),
    )
    assert f"server: {server}\n" in out, out
    assert out.count("| 10 | gsm3 |") == 3 + 1, out  # three clients, and the breakdown


@pytest.mark.parametrize("what", ["consent", "blacklist"])
def test_consent_migration_quick(what: str) -> None:
    """benchmarks/consent_migration.py: isobil and the hand-written migration (of a consent
    history, of a blacklist) store the same."""
    out = run_benchmark("consent_migration.py", "--quick", "--what", what)
    assert '"equal": true' in out, out
    assert f'"what": "{what}"' in out, out
