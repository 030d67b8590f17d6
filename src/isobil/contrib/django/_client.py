"""One client per process, made on first use and closed when the process ends."""

from __future__ import annotations

import atexit
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.http import HttpRequest

from isobil.client import Client
from isobil.config import callback_options
from isobil.contrib._logs import MaskSecret
from isobil.contrib._process import ProcessClient
from isobil.contrib.django.conf import isobil_settings, make_client_options
from isobil.errors import ConfigurationError
from isobil.transport import CallbackApp, HttpTransport

ClientFactory = Callable[[], Client]
#: Django's loggers whose records name a request's path (``Bad Request: /sms/…``,
#: runserver's request lines) or carry the request, which the admins' error e-mail
#: prints: the security loggers of what a push's request can raise on its way in.
_REQUEST_LOGGERS = (
    "django.request",
    "django.server",
    "django.security.DisallowedHost",
    "django.security.RequestDataTooBig",
    "django.security.TooManyFieldsSent",
    "django.security.TooManyFilesSent",
    "django.security.SuspiciousMultipartForm",
)


class _MaskRequest(MaskSecret):
    """:class:`MaskSecret`, and the request a record carries is dropped when its path
    shows the secret: a filter cannot change it, and the admins' error e-mail
    (``AdminEmailHandler``) and a ``%(request)s`` format would print it."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        if isinstance(request, HttpRequest) and self.found_in(request.get_full_path()):
            record.request = None
        return super().filter(record)


def _from_settings() -> Client:
    return Client(**make_client_options())


class _State:
    """The process's client, its callback app, and overrides."""

    def __init__(self) -> None:
        self.process = ProcessClient(_from_settings)
        self.lock = self.process.lock
        self.callbacks: tuple[Client, CallbackApp] | None = None
        self.overrides: list[Client] = []
        self.testing = False
        self.masking: MaskSecret | None = None

    def get(self) -> Client:
        with self.lock:
            return self.overrides[-1] if self.overrides else self.process.get()

    def reset(self) -> None:
        with self.lock:
            self.callbacks = None
            self.process.close()

    def mask(self, secret: str) -> None:
        """Keep ``secret`` out of Django's request log lines: one filter on each logger,
        replaced by a new secret's, kept when the client is reset."""
        with self.lock:
            if self.masking is None or not self.masking.hides(secret):
                self._unmask()
                self.masking = _MaskRequest(secret)
            for name in _REQUEST_LOGGERS:  # a filter already on a logger is not added again
                logging.getLogger(name).addFilter(self.masking)

    def _unmask(self) -> None:
        if self.masking is not None:
            for name in _REQUEST_LOGGERS:
                logging.getLogger(name).removeFilter(self.masking)
            self.masking = None


_state = _State()
atexit.register(_state.reset)


def get_client() -> Client:
    """This process's :class:`~isobil.Client`, built from ``settings.ISOBIL`` on first use.

    Thread-safe; closed when the process exits. Within :func:`use_client` it is the
    client given there.
    """
    return _state.get()


def reset_client() -> None:
    """Close this process's client; the next :func:`get_client` builds a new one
    (after a change of settings, or between tests)."""
    _state.reset()


@contextmanager
def use_client(client: Client) -> Iterator[Client]:
    """Make :func:`get_client` (and so the views and commands) use ``client`` inside
    the block, in every thread of the process — a test's client, say. The caller
    keeps closing it."""
    with _state.lock:
        _state.overrides.append(client)
    try:
        yield client
    finally:
        with _state.lock:
            _state.overrides.remove(client)


def set_client_factory(factory: ClientFactory | None) -> None:
    """Build the process's client with ``factory`` from now on (``None``: from the
    settings); the current client is closed."""
    with _state.lock:
        _state.process.factory = factory or _from_settings
    reset_client()


def mask_callback_secret(*, quiet: bool = False) -> None:
    """Keep the secret of ``ISOBIL['callbacks']`` out of Django's request log lines,
    which name the path (with token auth the secret is a segment of it).

    Called when the app is ready, when ``ISOBIL`` changes and by the callback view, so
    a push refused before the view (by a middleware) is masked too; calling it again
    adds no filter. ``quiet``: settings the system checks report (a secret's variable
    unset) raise nothing here."""
    try:
        options = callback_options(isobil_settings())
    except ConfigurationError:
        if quiet:
            return
        raise
    if options is not None:
        _state.mask(options["secret"])


def callback_app() -> CallbackApp:
    """The :class:`~isobil.transport.CallbackApp` of the current client, made once per
    client from ``ISOBIL['callbacks']`` (a :class:`~isobil.errors.ConfigurationError`
    when its transport takes no pushes: see :func:`takes_callbacks`)."""
    client = get_client()
    with _state.lock:
        if _state.callbacks is not None and _state.callbacks[0] is client:
            return _state.callbacks[1]
    options = callback_options(isobil_settings())
    if options is None:
        raise ConfigurationError(
            "ISOBIL['callbacks'] is not set: add "
            '{"secret_env": "VARIABLE", "auth": "hmac"} to receive provider callbacks'
        )
    app = client.callbacks(**options)
    with _state.lock:
        _state.callbacks = (client, app)
    return app


def takes_callbacks(client: Client) -> bool:
    """Whether ``client``'s transport receives pushed reports and inbound texts."""
    return isinstance(client.transport, HttpTransport)


def in_tests() -> bool:
    """Whether :class:`~isobil.contrib.django.testing.IsobilTestRunner` runs the tests."""
    return _state.testing
