"""A client from settings: the shape of ``isobil.toml``, shared by the CLI and the
framework integrations (Django's ``ISOBIL = {...}``, FastAPI's lifespan, Celery).

Credentials are never written in the settings: an option ``X_env = "VAR"`` of the
``transport`` table takes option ``X`` from the environment variable ``VAR``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from isobil.errors import ConfigurationError
from isobil.model import Brand, Sender
from isobil.transport import CallbackAuth, FakeTransport, Transport, transport_from_config

__all__ = [
    "DEFAULT_DATABASE_URL",
    "callback_options",
    "client_options",
    "database_url",
    "sender_from_config",
]

#: Where a client keeps its records when no URL is given: a file in the working directory.
DEFAULT_DATABASE_URL = "sqlite:///isobil.db"


def sender_from_config(settings: Mapping[str, Any]) -> Sender | None:
    """The :class:`Sender` the settings describe (``name``, ``brands``, ``mersis``, …),
    or ``None`` when they name no sender.

    >>> sender_from_config({"name": "Acme A.Ş.", "brands": ["ACME"], "short_number": "4605"})
    Sender(name='Acme A.Ş.', ...)
    """
    if "name" not in settings:
        return None
    brands = settings.get("brands", [])
    if isinstance(brands, str) or not all(isinstance(code, str) for code in brands):
        raise ConfigurationError('brands must be a list of brand codes, e.g. brands = ["ACME"]')
    return Sender(
        name=settings["name"],
        mersis=settings.get("mersis"),
        tckn=settings.get("tckn"),
        contact=settings.get("contact"),
        originator=settings.get("originator"),
        brands=[Brand(code) for code in brands],
        short_number=settings.get("short_number"),
    )


def database_url(settings: Mapping[str, Any], *, environ: Mapping[str, str] | None = None) -> str:
    """``ISOBIL_DATABASE_URL`` from the environment, else the settings' ``database_url``,
    else :data:`DEFAULT_DATABASE_URL`."""
    env = os.environ if environ is None else environ
    found = env.get("ISOBIL_DATABASE_URL") or settings.get("database_url") or DEFAULT_DATABASE_URL
    return str(found)


def client_options(
    settings: Mapping[str, Any], *, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Keyword arguments for :class:`~isobil.Client` (or :class:`~isobil.AsyncClient`)
    from settings shaped like ``isobil.toml``.

    ``name``, ``brands`` and the sender's identity make the ``sender``;
    ``database_url`` (after ``ISOBIL_DATABASE_URL``) the storage; ``prepaid`` turns
    on credit reservation; the ``transport`` table builds the transport (see
    :func:`isobil.transport.transport_from_config`); without one the client uses a
    :class:`~isobil.FakeTransport`, which sends nothing. Other keys are left for
    the framework that holds the settings.

    >>> options = client_options(
    ...     {"name": "Acme A.Ş.", "brands": ["ACME"], "transport": {"kind": "fake"}},
    ...     environ={"ISOBIL_DATABASE_URL": "sqlite://"})
    >>> sorted(options), options["database_url"]
    (['database_url', 'prepaid', 'sender', 'transport'], 'sqlite://')
    """
    section = settings.get("transport")
    if section is not None and not isinstance(section, Mapping):
        raise ConfigurationError("transport in the settings must be a table (a mapping)")
    transport: Transport = (
        FakeTransport() if section is None else transport_from_config(section, environ=environ)
    )
    return {
        "sender": sender_from_config(settings),
        "transport": transport,
        "database_url": database_url(settings, environ=environ),
        "prepaid": bool(settings.get("prepaid", False)),
    }


_AUTH_KINDS: tuple[CallbackAuth, ...] = ("hmac", "token", "basic")


def callback_options(
    settings: Mapping[str, Any], *, environ: Mapping[str, str] | None = None
) -> dict[str, Any] | None:
    """Keyword arguments for :meth:`Client.callbacks <isobil.Client.callbacks>` from the
    settings' ``callbacks`` table, or ``None`` when there is none.

    ``secret_env`` names the environment variable holding the shared secret; ``auth``
    is ``"hmac"``, ``"token"`` or ``"basic"`` (by default the provider's own) and
    ``username`` the user of Basic auth. A secret written in the settings is refused.

    >>> options = callback_options({"callbacks": {"secret_env": "HOOK", "auth": "token"}},
    ...                            environ={"HOOK": "a-long-shared-secret"})
    >>> options["auth"], options["username"]
    ('token', 'isobil')
    >>> callback_options({"callbacks": {"secret": "a-long-shared-secret"}})
    Traceback (most recent call last):
    ...
    isobil.errors.ConfigurationError: [callbacks] secret: a credential is not kept in the \
settings; set it in an environment variable and name that variable with secret_env = "VARIABLE"
    """
    section = settings.get("callbacks")
    if section is None:
        return None
    if not isinstance(section, Mapping):
        raise ConfigurationError("[callbacks] in the settings must be a table (a mapping)")
    if "secret" in section:
        raise ConfigurationError(
            "[callbacks] secret: a credential is not kept in the settings; set it in an "
            'environment variable and name that variable with secret_env = "VARIABLE"'
        )
    variable = section.get("secret_env")
    if not isinstance(variable, str) or not variable:
        raise ConfigurationError(
            '[callbacks] needs secret_env = "VARIABLE", naming the environment variable '
            "that holds the callback secret"
        )
    env = os.environ if environ is None else environ
    if variable not in env:
        raise ConfigurationError(
            f"[callbacks] secret_env: the environment variable {variable} is not set"
        )
    auth = section.get("auth")
    if auth is not None and auth not in _AUTH_KINDS:
        raise ConfigurationError(
            f"[callbacks] auth must be one of {', '.join(_AUTH_KINDS)}; got {auth!r}"
        )
    username = section.get("username", "isobil")
    if not isinstance(username, str) or not username:
        raise ConfigurationError("[callbacks] username must be a non-empty string")
    return {"secret": env[variable], "auth": auth, "username": username}
