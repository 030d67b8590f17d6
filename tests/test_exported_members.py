"""`__all__` is the public API: every name in it exists, and nothing private leaks."""

from __future__ import annotations

import importlib

import pytest

import isobil
import isobil.errors

PUBLIC_MODULES = [
    "isobil",
    "isobil.errors",
    "isobil.identifiers",
    "isobil.model",
    "isobil.phone",
    "isobil.sms",
    "isobil.transport",
    "isobil.client",
    "isobil.consent",
    "isobil.otp",
    "isobil.contacts",
    "isobil.campaigns",
    "isobil.storage",
    "isobil.rules",
    "isobil.config",
    "isobil.metrics",
    "isobil.contrib.fastapi",
    "isobil.contrib.celery",
    "isobil.contrib.django",
]


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_all_names_exist_and_are_public(name: str) -> None:
    """Each public module's `__all__` lists existing, non-underscore names."""
    module = importlib.import_module(name)
    for member in module.__all__:
        assert hasattr(module, member), f"{name}.{member} is in __all__ but missing"
        assert not member.startswith("_") or member == "__version__"


def test_top_level_exports_every_error() -> None:
    """Every error of the tree can be caught from the top-level package."""
    errors = {n for n in isobil.errors.__all__ if isinstance(getattr(isobil.errors, n), type)}
    assert errors <= set(isobil.__all__)


def test_error_tree() -> None:
    """Every error is an IsobilError; value errors are also ValueErrors."""
    for name in isobil.errors.__all__:
        cls = getattr(isobil.errors, name)
        assert issubclass(cls, isobil.IsobilError)
    for cls in (isobil.InvalidPhoneNumber, isobil.InvalidIdentifier, isobil.EncodingError):
        assert issubclass(cls, ValueError)
    assert not issubclass(isobil.TransportError, ValueError)


def test_error_tree_is_drawn_in_docstring() -> None:
    """The module docstring draws every error, so the tree stays in step with the code."""
    doc = isobil.errors.__doc__ or ""
    for name in isobil.errors.__all__:
        assert name in doc, f"{name} missing from the tree in isobil.errors' docstring"
