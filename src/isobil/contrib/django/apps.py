"""The Django app: registers the system checks, masks the callback secret in Django's
request log lines, and rebuilds the client when the ``ISOBIL`` setting changes
(``override_settings`` in tests)."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.core.signals import setting_changed


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in ("ISOBIL", "DATABASES"):
        from isobil.contrib.django._client import mask_callback_secret, reset_client

        reset_client()
        mask_callback_secret(quiet=True)


class IsobilConfig(AppConfig):
    """``isobil.contrib.django`` in ``INSTALLED_APPS``; its label is ``isobil``."""

    name = "isobil.contrib.django"
    label = "isobil"
    verbose_name = "isobil SMS"

    def ready(self) -> None:
        from isobil.contrib.django import checks
        from isobil.contrib.django._client import mask_callback_secret

        checks.register()
        setting_changed.connect(_on_setting_changed, dispatch_uid="isobil.setting_changed")
        # With token auth the callback secret is in the path Django logs
        # (django.request, django.server): masked before the first request.
        mask_callback_secret(quiet=True)
