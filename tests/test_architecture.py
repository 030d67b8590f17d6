"""The layers import only downward (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "isobil"

# layer -> the isobil layers it may import (itself always allowed)
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "_resource": set(),
    "_text": set(),
    "_tables": set(),
    "_version": set(),
    "_tracing": {"_version"},
    "_trusted": set(),
    "_meter": set(),
    "_stopping": set(),
    "_net": {"errors"},
    "_time": {"errors"},
    "sms": {"errors"},
    "phone": {"errors"},
    "identifiers": {"errors"},
    "model": {"errors", "phone", "identifiers", "_time", "_trusted"},
    "transport": {"errors", "phone", "model", "sms", "_resource", "_net", "_time", "_trusted"},
    "storage": {"errors", "phone", "model", "_resource", "_net", "_time", "_trusted"},
    "rules": {"errors", "phone", "model", "identifiers", "_text", "_time", "_trusted"},
    "contacts": {
        "errors",
        "phone",
        "model",
        "storage",
        "_text",
        "_tables",
        "sms",
        "_meter",
        "_time",
    },
    "campaigns": {"errors", "phone", "model", "storage", "_text", "_tables", "_time"},
    "config": {"errors", "model", "transport"},
    "consent": {
        "errors",
        "phone",
        "model",
        "storage",
        "_resource",
        "_text",
        "_tables",
        "_net",
        "_meter",
        "_time",
    },
    "otp": {"errors", "phone", "model", "storage", "_time"},
}


def _layer_of(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def _isobil_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "isobil" and len(parts) > 1:
                found.add(parts[1])
            elif parts == ["isobil"] and isinstance(node, ast.Import):
                found.add("isobil")  # the package root: it imports every layer
    return found


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_only_downward(layer: str) -> None:
    """A lower layer never imports a higher one."""
    files = [SRC / f"{layer}.py"] if (SRC / f"{layer}.py").exists() else []
    files += sorted((SRC / layer).rglob("*.py")) if (SRC / layer).is_dir() else []
    assert files, f"layer {layer} has no source"
    for path in files:
        extra = _isobil_imports(path) - ALLOWED[layer] - {layer}
        assert not extra, f"{path.relative_to(SRC)} imports {sorted(extra)}"


def test_the_core_never_imports_a_framework() -> None:
    """``import isobil`` (and the settings reader the integrations share) loads no web
    framework, no task queue and no telemetry library: those come only with
    ``isobil.contrib.*``, ``isobil.metrics`` and the first traced call."""
    import subprocess
    import sys

    probe = (
        "import sys, isobil, isobil.config, isobil.storage, isobil.transport\n"
        "print(sorted({m.split('.')[0] for m in sys.modules}"
        " & {'fastapi', 'starlette', 'django', 'celery', 'kombu', 'uvicorn',"
        " 'prometheus_client', 'opentelemetry'}))"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert found.stdout.strip() == "[]"
