"""The examples run: each one's own test suite passes in a fresh interpreter, as a
reader would run it (``python -m pytest examples/<name>``)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_example_suite(name: str) -> int:
    """Run ``examples/<name>``'s test suite; assert it passed; return how many passed."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"examples/{name}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,  # a hang guard: the child is killed, the test fails
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, f"examples/{name} failed:\n{report}"
    passed = re.search(r"(\d+) passed", result.stdout)
    assert passed is not None, f"examples/{name} ran no test:\n{report}"
    count = int(passed.group(1))
    assert count > 0, report
    return count


def test_fastapi_shop_suite() -> None:
    """examples/fastapi_shop: order-shipped SMS, callbacks, tests on the pytest plugin."""
    run_example_suite("fastapi_shop")


def test_django_shop_suite() -> None:
    """examples/django_shop: order-shipped SMS, callbacks, tests on the pytest plugin."""
    run_example_suite("django_shop")
