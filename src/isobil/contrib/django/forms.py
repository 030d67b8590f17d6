"""``PhoneNumberField``: a form field cleaning any phone number shape to E.164
(``"0532 123 45 67"`` becomes ``"+905321234567"``); the form field of
:class:`isobil.contrib.django.fields.PhoneNumberField`."""

from __future__ import annotations

from typing import Any

from django import forms

from isobil.contrib.django.fields import normalize_or_invalid

__all__ = ["PhoneNumberField"]


class PhoneNumberField(forms.CharField):
    """A ``CharField`` whose cleaned value is E.164 (``+905321234567``); an
    invalid number fails with isobil's reason. ``region`` reads national numbers."""

    def __init__(self, *, region: str = "TR", **kwargs: Any) -> None:
        self.region = region
        kwargs.setdefault("max_length", 32)  # what people type: spaces, brackets, dashes
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> str:
        text = super().to_python(value)
        if text in self.empty_values:
            return str(self.empty_value)
        return normalize_or_invalid(text, self.region)
