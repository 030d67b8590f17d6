"""Suite-wide policy: under CI=true nothing may be skipped.

A test that needs PostgreSQL or a real SMPP/HTTP peer may skip on a developer's
laptop when the service is missing; in CI a skip would hide a missing service,
so it is turned into a failure.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, where every test must run: {report.longrepr}"
    return report


pytest_plugins = ["pytester"]
