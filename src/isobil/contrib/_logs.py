"""What the web integrations share for their logs: the callback secret kept out."""

from __future__ import annotations

import logging
from urllib.parse import quote

__all__ = ["MaskSecret"]


class MaskSecret(logging.Filter):
    """Replaces a secret, as written and percent-encoded, by ``***`` in log records.

    Web servers log request paths, and with token auth the callback secret is a
    segment of the path (uvicorn's access log, Django's ``django.request`` and
    ``django.server``)."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self._forms = tuple(form for form in {secret, quote(secret, safe="")} if form)

    def __repr__(self) -> str:
        return "<MaskSecret>"

    def hides(self, secret: str) -> bool:
        """Whether this filter hides ``secret``."""
        return secret in self._forms

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                self._masked(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        if isinstance(record.msg, str):
            record.msg = self._masked(record.msg)
        return True

    def _masked(self, text: str) -> str:
        for form in self._forms:
            text = text.replace(form, "***")
        return text
