"""Django integration: ``INSTALLED_APPS += ["isobil.contrib.django"]``.

Settings come from ``ISOBIL = {...}`` (shaped like ``isobil.toml``; credentials from
the environment), and isobil keeps its records in the project's own database. Each
process has one :class:`~isobil.Client` (:func:`get_client`); provider callbacks are
mounted with ``path("sms/callbacks/", include("isobil.contrib.django.urls"))``; the
management commands ``isobil_migrate``, ``isobil_worker``, ``isobil_dispatch`` and
``isobil_import`` do what the ``isobil`` command line does; ``PhoneNumberField``
(:mod:`isobil.contrib.django.fields`, :mod:`isobil.contrib.django.forms`) stores
E.164 numbers. See docs/django.md.
"""

from isobil.contrib.django._client import (
    callback_app,
    get_client,
    reset_client,
    set_client_factory,
    use_client,
)

__all__ = ["callback_app", "get_client", "reset_client", "set_client_factory", "use_client"]
