"""System checks of the ``ISOBIL`` setting (``manage.py check``).

* ``isobil.E001`` — ``ISOBIL`` is not a dict.
* ``isobil.E002`` — no sender ``name`` while commercial messages may be sent.
* ``isobil.E003`` — a sender without ``brands`` while commercial messages may be sent.
* ``isobil.E004`` — an environment variable an ``…_env`` key names is not set.
* ``isobil.W001`` — the fake transport (nothing leaves) with ``DEBUG = False``.
* ``isobil.W002`` — ``callbacks`` configured for a transport that takes no pushes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

from django import conf as django_conf
from django.apps import AppConfig
from django.core import checks

from isobil.contrib.django._client import in_tests
from isobil.contrib.django.conf import isobil_settings
from isobil.errors import ConfigurationError

#: Transport kinds that receive no pushed callbacks.
_NO_PUSH: Final = ("fake", "smpp")


def register() -> None:
    """Register the checks (the app's ``ready`` does)."""
    checks.register(check_settings, "isobil")


def check_settings(
    *,
    app_configs: Sequence[AppConfig] | None = None,
    databases: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[checks.CheckMessage]:
    """Every finding about ``settings.ISOBIL``."""
    try:
        config = isobil_settings()
    except ConfigurationError as exc:
        return [checks.Error(str(exc), id="isobil.E001")]
    return [*_sender(config), *_environment(config), *_transport(config)]


def _sender(config: Mapping[str, Any]) -> Iterator[checks.CheckMessage]:
    if config.get("commercial", True) is False:
        return
    hint = (
        'set ISOBIL["name"], ISOBIL["brands"] (and mersis, contact, originator), or '
        'ISOBIL["commercial"] = False when the project sends only informational messages'
    )
    if "name" not in config:
        yield checks.Error(
            "ISOBIL has no sender name: commercial messages would be refused",
            hint=hint,
            id="isobil.E002",
        )
    elif not config.get("brands"):
        yield checks.Error(
            "ISOBIL names no brands: a commercial message names the brand it advertises",
            hint=hint,
            id="isobil.E003",
        )


def _environment(config: Mapping[str, Any]) -> Iterator[checks.CheckMessage]:
    for section in ("transport", "callbacks"):
        table = config.get(section)
        if not isinstance(table, Mapping):
            continue
        for key, variable in table.items():
            if str(key).endswith("_env") and variable not in os.environ:
                yield checks.Error(
                    f"ISOBIL['{section}']['{key}']: the environment variable {variable} is not set",
                    id="isobil.E004",
                )


def _transport(config: Mapping[str, Any]) -> Iterator[checks.CheckMessage]:
    table = config.get("transport")
    kind = table.get("kind") if isinstance(table, Mapping) else None
    fake = table is None or kind == "fake"
    if fake and not django_conf.settings.DEBUG and not in_tests():
        yield checks.Warning(
            "ISOBIL uses the fake transport with DEBUG = False: no message leaves this server",
            hint='configure ISOBIL["transport"] (kind = "netgsm", …; docs/django.md)',
            id="isobil.W001",
        )
    if "callbacks" in config and (fake or kind in _NO_PUSH):
        yield checks.Warning(
            f"ISOBIL['callbacks'] is set, but the {kind or 'fake'} transport receives no "
            "pushed callbacks: the callback view answers 404",
            id="isobil.W002",
        )
