"""The ``ISOBIL`` setting: what the client is built from, read once per client.

``ISOBIL`` has the shape of ``isobil.toml`` (see :func:`isobil.config.client_options`),
plus keys of this integration:

* ``transport`` — a table (``{"kind": "netgsm", "password_env": "VAR", …}``) or the
  dotted path of a callable returning a :class:`~isobil.transport.Transport`, the way
  Django names backends;
* ``database`` — the Django database alias whose database isobil keeps its records
  in (``"default"``) when ``database_url`` is not given;
* ``batch_size`` — messages per transport call (the Client's ``batch_size``);
* ``commercial`` — ``False`` when the project sends only informational messages, so
  no sender is required;
* ``callbacks`` — ``{"secret_env": "VAR", "auth": "hmac" | "token" | "basic",
  "username": "isobil"}`` for the provider callback view.

Credentials come only from the environment: ``X_env = "VAR"`` names the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Final, cast

from django import conf as django_conf
from django.db import connections
from django.utils.module_loading import import_string

from isobil.config import client_options, database_url
from isobil.errors import ConfigurationError
from isobil.transport import Transport

__all__ = [
    "django_database_url",
    "isobil_database_url",
    "isobil_settings",
    "make_client_options",
    "sqlalchemy_url",
]

#: Client keyword arguments the setting may hold besides the ``isobil.toml`` shape.
_CLIENT_KEYS: Final = ("batch_size",)
#: libpq connection parameters a Django ``OPTIONS`` may hold that SQLAlchemy passes on.
_LIBPQ_OPTIONS: Final = (
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "application_name",
    "connect_timeout",
    "options",
    "target_session_attrs",
)


def isobil_settings() -> Mapping[str, Any]:
    """``settings.ISOBIL`` (an empty mapping when the project has none)."""
    found = getattr(django_conf.settings, "ISOBIL", {})
    if not isinstance(found, Mapping):
        raise ConfigurationError(
            f"settings.ISOBIL must be a dict shaped like isobil.toml, got {type(found).__name__}"
        )
    return found


def django_database_url(alias: str = "default") -> str:
    """The SQLAlchemy URL of Django's database ``alias``, from its connection's settings
    (so under Django's test runner, the test database)."""
    if alias not in connections:
        raise ConfigurationError(f"ISOBIL['database']: Django has no database {alias!r}")
    return sqlalchemy_url(connections[alias].settings_dict, alias)


def sqlalchemy_url(db: Mapping[str, Any], alias: str = "default") -> str:
    """The SQLAlchemy URL of a Django ``DATABASES`` entry (SQLite or PostgreSQL).

    >>> sqlalchemy_url({"ENGINE": "django.db.backends.sqlite3", "NAME": "/srv/shop.db"})
    'sqlite:////srv/shop.db'
    >>> sqlalchemy_url({"ENGINE": "django.db.backends.postgresql", "NAME": "shop",
    ...                 "USER": "shop", "PASSWORD": "p@ss", "HOST": "db", "PORT": "5432",
    ...                 "OPTIONS": {"sslmode": "require"}})
    'postgresql+psycopg://shop:p%40ss@db:5432/shop?sslmode=require'
    """
    import sqlalchemy as sa

    engine, name = str(db.get("ENGINE", "")), str(db.get("NAME") or "")
    if engine.endswith("sqlite3"):
        if not name or name == ":memory:" or "mode=memory" in name:
            raise ConfigurationError(
                f"Django's database {alias!r} is an in-memory SQLite database, which isobil "
                "cannot share; set ISOBIL['database_url'] (or use "
                "isobil.contrib.django.testing in tests)"
            )
        return f"sqlite:///{name}"
    if engine.endswith(("postgresql", "postgis")):
        options = cast("Mapping[str, Any]", db.get("OPTIONS") or {})
        url = sa.URL.create(
            "postgresql+psycopg",
            username=str(db.get("USER") or "") or None,
            password=str(db.get("PASSWORD") or "") or None,
            host=str(db.get("HOST") or "") or None,
            port=int(db["PORT"]) if db.get("PORT") else None,
            database=name,
            query={k: str(options[k]) for k in _LIBPQ_OPTIONS if k in options},
        )
        return url.render_as_string(hide_password=False)
    raise ConfigurationError(
        f"Django's database {alias!r} uses {engine}; isobil keeps its records in SQLite or "
        "PostgreSQL: set ISOBIL['database_url']"
    )


def isobil_database_url(config: Mapping[str, Any] | None = None) -> str:
    """Where isobil keeps its records: ``$ISOBIL_DATABASE_URL``, else
    ``ISOBIL['database_url']``, else Django's database ``ISOBIL['database']``."""
    config = isobil_settings() if config is None else config
    if os.environ.get("ISOBIL_DATABASE_URL") or config.get("database_url"):
        return database_url(config)
    return django_database_url(str(config.get("database", "default")))


def _transport(config: Mapping[str, Any]) -> Transport | None:
    """The transport named by a dotted path in ``ISOBIL['transport']``, else ``None``."""
    path = config.get("transport")
    if not isinstance(path, str):
        return None
    try:
        factory = import_string(path)
    except ImportError as exc:
        raise ConfigurationError(f"ISOBIL['transport']: cannot import {path!r}: {exc}") from exc
    transport = factory()
    if not isinstance(transport, Transport):
        raise ConfigurationError(
            f"ISOBIL['transport']: {path} returned {type(transport).__name__}, not a Transport"
        )
    return transport


def make_client_options(config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Keyword arguments for :class:`~isobil.Client` from ``settings.ISOBIL``."""
    config = dict(isobil_settings() if config is None else config)
    config["database_url"] = isobil_database_url(config)
    custom = _transport(config)
    if custom is not None:
        del config["transport"]
    options = client_options(config)
    if custom is not None:
        options["transport"].close()  # the FakeTransport made in its place
        options["transport"] = custom
    options.update({key: config[key] for key in _CLIENT_KEYS if key in config})
    return options
