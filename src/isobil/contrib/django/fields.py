"""``PhoneNumberField``: a model field keeping phone numbers as E.164 text.

.. code-block:: python

    from isobil.contrib.django.fields import PhoneNumberField

    class Customer(models.Model):
        phone = PhoneNumberField()            # "0532 123 45 67" is stored "+905321234567"

Any shape :func:`isobil.phone.normalize` reads is accepted; anything else is a
``ValidationError`` carrying isobil's reason. Its form field is
:class:`isobil.contrib.django.forms.PhoneNumberField`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import models

from isobil import phone
from isobil.errors import InvalidPhoneNumber

__all__ = ["PhoneNumberField", "normalize_or_invalid"]

if TYPE_CHECKING:
    # Generic in django-stubs only: assigned a str (any shape), read as an E.164 str.
    _CharField = models.CharField[str, str]
else:
    _CharField = models.CharField

#: Room for the longest E.164 number ("+" and 15 digits).
E164_LENGTH = 16


def normalize_or_invalid(value: object, region: str = "TR") -> str:
    """``value`` as E.164, or a ``ValidationError`` (code ``invalid_phone``) saying why not."""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ValidationError(
            "enter a phone number as text", code="invalid_phone", params={"value": value}
        )
    try:
        return phone.normalize(value, region)
    except InvalidPhoneNumber as exc:
        raise ValidationError(
            "invalid phone number: %(reason)s",
            code="invalid_phone",
            params={"value": value, "reason": exc.reason},
        ) from exc


class PhoneNumberField(_CharField):
    """A ``CharField`` holding an E.164 number, normalised on assignment to ``clean``.

    ``region`` reads national numbers (``"TR"``: ``0532 …`` is Turkish).
    """

    description = "Phone number (E.164)"

    def __init__(self, *args: Any, region: str = "TR", **kwargs: Any) -> None:
        self.region = region
        kwargs.setdefault("max_length", E164_LENGTH)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if self.region != "TR":
            kwargs["region"] = self.region
        if kwargs.get("max_length") == E164_LENGTH:
            del kwargs["max_length"]
        return name, path, args, kwargs

    def to_python(self, value: Any) -> Any:
        if value is None or value == "":
            return value
        return normalize_or_invalid(value, self.region)

    def get_prep_value(self, value: Any) -> Any:
        # Field's, not CharField's: that one would validate a lookup value ("532").
        value = super(models.CharField, self).get_prep_value(value)
        if value is None or value == "":
            return value
        try:
            return phone.normalize(value, self.region)
        except InvalidPhoneNumber:
            return str(value)  # a lookup (phone__startswith="+90532"); validation is clean's

    def formfield(self, **kwargs: Any) -> Any:
        from isobil.contrib.django.forms import PhoneNumberField as PhoneNumberFormField

        defaults: dict[str, Any] = {"form_class": PhoneNumberFormField, "region": self.region}
        defaults.update(kwargs)
        return super().formfield(**defaults)
