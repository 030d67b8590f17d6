"""Transports built from configuration: the ``[transport]`` table of ``isobil.toml``.

Credentials are never written in the configuration: an option ``X_env = "VAR"``
takes option ``X`` from the environment variable ``VAR``, and an option that
looks like a credential given in plain text is refused.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

from isobil.errors import ConfigurationError, InvalidValue
from isobil.transport._base import Transport
from isobil.transport._fake import FakeTransport
from isobil.transport._http import HttpTransport
from isobil.transport._http_adapters import GenericJsonAdapter, HttpAdapter, JasminAdapter
from isobil.transport._iletimerkezi import IletiMerkeziAdapter
from isobil.transport._netgsm import NetgsmAdapter
from isobil.transport._smpp import SmppTransport
from isobil.transport._verimor import VerimorAdapter

__all__ = ["PROVIDER_URLS", "TRANSPORT_KINDS", "transport_from_config"]

T = TypeVar("T")

#: The kinds of transport a configuration can name.
TRANSPORT_KINDS: Final = (
    "netgsm",
    "iletimerkezi",
    "verimor",
    "jasmin",
    "generic-json",
    "smpp",
    "fake",
)
#: The providers' production API endpoints, used when ``url`` is not given.
PROVIDER_URLS: Final[Mapping[str, str]] = {
    "netgsm": "https://api.netgsm.com.tr",
    "iletimerkezi": "https://api.iletimerkezi.com",
    "verimor": "https://sms.verimor.com.tr",
}
_ADAPTERS: Final[Mapping[str, type[HttpAdapter]]] = {
    "netgsm": NetgsmAdapter,
    "iletimerkezi": IletiMerkeziAdapter,
    "verimor": VerimorAdapter,
    "jasmin": JasminAdapter,
    "generic-json": GenericJsonAdapter,
}
#: Options of the HTTP transport itself; every other option goes to the adapter.
_HTTP_OPTIONS: Final = frozenset({"url", "timeout", "connect_timeout", "max_retries"})
#: Words that make an option a credential, which must come from the environment.
_SECRET_WORDS: Final = ("password", "secret", "token", "api_key", "apikey", "hash", "dlr_url")


def transport_from_config(
    config: Mapping[str, Any], *, environ: Mapping[str, str] | None = None
) -> Transport:
    """Build the transport a ``[transport]`` table describes.

    ``kind`` is one of :data:`TRANSPORT_KINDS`. For the HTTP kinds ``url`` is the
    API's base URL (the provider's production endpoint by default, a simulator's
    in tests), ``timeout``, ``connect_timeout`` and ``max_retries`` tune the
    :class:`HttpTransport`, and every other option is passed to the adapter
    (``username``, ``msgheader``, …). ``smpp`` takes ``host``, ``port`` and the
    :class:`SmppTransport` options; ``fake`` sends nowhere.

    >>> transport_from_config({"kind": "fake"})
    <FakeTransport sent=0 delivered=0 failed=0 inbound=0>
    >>> transport_from_config({"kind": "jasmin", "username": "acme", "password": "x"})
    Traceback (most recent call last):
    ...
    isobil.errors.ConfigurationError: [transport] password: a credential is not kept in \
the configuration; set it in an environment variable and name that variable with \
password_env = "VARIABLE"
    """
    env = os.environ if environ is None else environ
    options = dict(config)
    kind = options.pop("kind", None)
    if kind not in TRANSPORT_KINDS:
        raise ConfigurationError(
            f"[transport] kind must be one of {', '.join(TRANSPORT_KINDS)}; got {kind!r}"
        )
    resolved = _resolve(options, env)
    if kind == "fake":
        _no_options(kind, resolved)
        return FakeTransport()
    if kind == "smpp":
        host, port = resolved.pop("host", None), resolved.pop("port", 2775)
        if not isinstance(host, str) or isinstance(port, bool) or not isinstance(port, int):
            raise ConfigurationError('[transport] kind = "smpp" needs host = "…" (and port = N)')
        return _build(kind, SmppTransport, host, port, **resolved)
    return _http(kind, resolved)


def _http(kind: str, options: dict[str, Any]) -> Transport:
    adapter_class = _ADAPTERS[kind]
    url = options.pop("url", PROVIDER_URLS.get(kind))
    if not isinstance(url, str):
        raise ConfigurationError(f'[transport] kind = "{kind}" needs url = "https://…"')
    http = {k: options.pop(k) for k in list(options) if k in _HTTP_OPTIONS}
    adapter = _build(kind, adapter_class, extra=_HTTP_OPTIONS, **options)
    return _build(kind, HttpTransport, url, adapter, **http)


def _resolve(options: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """``options`` with each ``X_env = "VAR"`` replaced by ``X`` from the environment."""
    resolved: dict[str, Any] = {}
    for key, value in options.items():
        if key.endswith("_env"):
            name = key.removesuffix("_env")
            if not isinstance(value, str) or not value:
                raise ConfigurationError(f"[transport] {key} must name an environment variable")
            if value not in env:
                raise ConfigurationError(
                    f"[transport] {key}: the environment variable {value} is not set"
                )
            resolved[name] = env[value]
        elif _secret_name(key) or _secret_value(key, value):
            raise ConfigurationError(
                f"[transport] {key}: a credential is not kept in the configuration; set it in "
                f'an environment variable and name that variable with {key}_env = "VARIABLE"'
            )
        else:
            resolved[key] = value
    return resolved


def _secret_name(key: str) -> bool:
    """Whether option ``key`` holds a credential (``api_key_header`` only names one)."""
    if key.endswith(("_header", "_prefix")):
        return False
    return any(word in key.lower() for word in _SECRET_WORDS)


def _secret_value(key: str, value: object) -> bool:
    """Whether ``value`` carries a credential: a URL with user info, or headers that
    authenticate."""
    if key == "url" and isinstance(value, str):
        return bool(urlsplit(value).password)
    if key == "headers" and isinstance(value, Mapping):
        return any(
            any(word in str(name).lower() for word in ("auth", "key", "token", "secret"))
            for name in value
        )
    return False


def _no_options(kind: str, options: Mapping[str, Any]) -> None:
    if options:
        raise ConfigurationError(
            f'[transport] kind = "{kind}" takes no options; got {", ".join(sorted(options))}'
        )


def _build(
    kind: str,
    factory: Callable[..., T],
    *args: Any,
    extra: frozenset[str] = frozenset(),
    **kwargs: Any,
) -> T:
    """``factory(*args, **kwargs)``, with a wrong option named instead of a TypeError
    (``extra`` are the other options the table may hold, named in the message)."""
    parameters = inspect.signature(factory).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    unknown = sorted(set(kwargs) - set(parameters)) if not takes_any else []
    if unknown:
        known = sorted(
            name
            for name, p in parameters.items()
            if p.kind is inspect.Parameter.KEYWORD_ONLY and not name.startswith("_")
        )
        raise ConfigurationError(
            f'[transport] kind = "{kind}" has no option {", ".join(unknown)}; '
            f"it takes: {', '.join(sorted(extra | set(known)))}"
        )
    try:
        return factory(*args, **kwargs)
    except (InvalidValue, TypeError) as exc:
        raise ConfigurationError(f"[transport] {exc}") from exc
