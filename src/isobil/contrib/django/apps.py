"""The Django app: registers the system checks and rebuilds the client when the
``ISOBIL`` setting changes (``override_settings`` in tests)."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.core.signals import setting_changed


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in ("ISOBIL", "DATABASES"):
        from isobil.contrib.django._client import reset_client

        reset_client()


class IsobilConfig(AppConfig):
    """``isobil.contrib.django`` in ``INSTALLED_APPS``; its label is ``isobil``."""

    name = "isobil.contrib.django"
    label = "isobil"
    verbose_name = "isobil SMS"

    def ready(self) -> None:
        from isobil.contrib.django import checks

        checks.register()
        setting_changed.connect(_on_setting_changed, dispatch_uid="isobil.setting_changed")
