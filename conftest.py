"""Suite-wide policy, for tests, doctests of the docs and of the sources alike.

* Under CI=true nothing may be skipped. A test that needs PostgreSQL or a real
  SMPP/HTTP peer may skip on a developer's laptop when the service is missing;
  in CI a skip would hide a missing service, so it is turned into a failure.
* Hypothesis never times an example (``deadline=None``): a loaded machine is
  slow, not wrong. Speed is measured in ``benchmarks/``.
* A ``Client`` built without storage uses SQLite at ``ISOBIL_DATABASE_URL``;
  every test gets its own empty database there, so tests never share state and
  never write into the working directory.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from pathlib import Path

import pytest
from hypothesis import settings

settings.register_profile("isobil", deadline=None)
settings.load_profile("isobil")

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


@pytest.fixture(autouse=True)
def _own_default_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ISOBIL_DATABASE_URL", f"sqlite:///{tmp_path / 'isobil.db'}")
