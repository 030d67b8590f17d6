"""Celery tasks that send what is due: ``isobil.dispatch`` sends at most ``limit`` messages
(and may chain the next task), ``isobil.poll`` pulls a polled provider's reports and
inbound texts.

Every worker process keeps one :class:`~isobil.Client`, made on its first task and
closed when the process ends. Any number of workers may run the tasks at once: the
storage's claims send each message once (PostgreSQL for workers on several machines).

.. code-block:: python

    from celery import Celery
    from isobil.contrib.celery import register

    app = Celery("acme", broker="amqp://guest:guest@127.0.0.1:5672//")
    isobil_tasks = register(app)  # settings from $ISOBIL_SETTINGS, else ./isobil.toml
    app.conf.beat_schedule = {
        "isobil-dispatch": {
            "task": "isobil.dispatch",
            "schedule": 10.0,
            "kwargs": {"limit": 5000, "fan_out": 4},
        },
    }
"""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypedDict

from celery import Celery, Task, signals

from isobil.client import Client
from isobil.config import client_options
from isobil.contrib._process import ProcessClient
from isobil.errors import ConfigurationError, InvalidValue
from isobil.transport import FakeTransport

__all__ = [
    "DEFAULT_LIMIT",
    "DISPATCH_TASK",
    "POLL_TASK",
    "SETTINGS_ENV",
    "DispatchSummary",
    "IsobilTasks",
    "PollSummary",
    "register",
]

log = logging.getLogger("isobil")

#: Messages one ``isobil.dispatch`` handles unless told otherwise: ten of a client's
#: default batches (500), so that one task pipelines them — the storage prepares the
#: next batch while the transport submits one. A limit of one batch cannot: the link
#: would wait for the database between tasks.
DEFAULT_LIMIT = 5_000
#: The registered task names, for beat schedules and ``app.send_task``.
DISPATCH_TASK = "isobil.dispatch"
POLL_TASK = "isobil.poll"
#: The environment variable naming the settings file (TOML, shaped like ``isobil.toml``).
SETTINGS_ENV = "ISOBIL_SETTINGS"
_DEFAULT_SETTINGS_FILE = "isobil.toml"


class DispatchSummary(TypedDict):
    """What one ``isobil.dispatch`` did, as JSON: messages handled, counted by outcome
    (``"submitted"``, ``"failed"`` …), how many a lost worker left ``unknown``, and
    the id of the task it chained (``None`` when it chained none)."""

    handled: int
    outcomes: dict[str, int]
    lost: int
    next: str | None


class PollSummary(TypedDict):
    """What one ``isobil.poll`` did: delivery reports and inbound texts pulled."""

    pulled: int


def _settings_from_file() -> tuple[Mapping[str, Any], str]:
    """The settings in ``$ISOBIL_SETTINGS`` (which must exist), else in ``./isobil.toml``
    when it exists, else none; and where they were looked for."""
    named = os.environ.get(SETTINGS_ENV)
    path = Path(named or _DEFAULT_SETTINGS_FILE)
    if not path.exists():
        if named:
            raise ConfigurationError(f"{SETTINGS_ENV}={named}: no such settings file")
        return {}, f"no {SETTINGS_ENV} and no ./{_DEFAULT_SETTINGS_FILE}"
    try:
        with path.open("rb") as file:
            return tomllib.load(file), str(path)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"settings file {path}: {exc}") from exc


def _factory(
    settings: Mapping[str, Any] | None, client_factory: Callable[[], Client] | None
) -> Callable[[], Client]:
    if client_factory is not None:
        if settings is not None:
            raise ConfigurationError("register(): pass settings or client_factory, not both")
        return client_factory

    def from_settings() -> Client:
        found, where = (
            (settings, "the settings given to register()")
            if settings is not None
            else _settings_from_file()
        )
        if "transport" not in found:
            # As `isobil worker`: messages marked submitted that never left cannot be undone.
            raise ConfigurationError(
                f"isobil.contrib.celery: no transport in {where}: add a transport table"
                ' (kind = "fake" sends nothing, on purpose)'
            )
        client = Client(**client_options(found))
        if isinstance(client.transport, FakeTransport):
            log.warning("isobil: the transport is FakeTransport: nothing leaves this machine")
        return client

    return from_settings


class IsobilTasks:
    """The tasks :func:`register` added to an app, and this process's client.

    ``dispatch`` and ``poll`` are the Celery tasks (``isobil_tasks.dispatch.delay()``,
    ``isobil_tasks.dispatch.s(limit=200)`` in a canvas).
    """

    dispatch: Task[Any, DispatchSummary]
    poll: Task[Any, PollSummary]

    def __init__(self, make_client: Callable[[], Client]) -> None:
        self._client = ProcessClient(make_client)

    def client(self) -> Client:
        """This process's client, made on first use (anew in a forked process)."""
        return self._client.get()

    def close(self) -> None:
        """Close this process's client, if it made one (the worker does so as it ends)."""
        self._client.close()

    def __repr__(self) -> str:
        state = "open" if self._client.made else "no client yet"
        return f"<IsobilTasks {DISPATCH_TASK} {POLL_TASK} ({state})>"


def register(
    app: Celery,
    settings: Mapping[str, Any] | None = None,
    *,
    client_factory: Callable[[], Client] | None = None,
) -> IsobilTasks:
    """Add ``isobil.dispatch`` and ``isobil.poll`` to ``app``; return them.

    Each worker process makes one client on its first task: ``client_factory()``
    when given (any :class:`~isobil.Client`: own storage, rules, transport), else
    ``Client(**client_options(settings))`` (see :func:`isobil.config.client_options`),
    where ``settings`` defaults to the TOML file named by ``$ISOBIL_SETTINGS``, else
    ``./isobil.toml`` like the ``isobil`` command. As with ``isobil worker``, settings
    without a ``transport`` table are refused (``kind = "fake"`` sends nothing, on
    purpose). The client is closed when the worker process shuts down.

    ``isobil.dispatch(limit=5000, fan_out=0)`` sends what is due, at most ``limit``
    messages (``client.dispatch(limit=limit)``), and returns a
    :class:`DispatchSummary`. When it handled its whole ``limit`` and ``fan_out`` is
    positive, it enqueues itself with ``fan_out - 1``: one beat tick sends at most
    ``limit * (fan_out + 1)`` messages, spread over whichever workers are free.
    ``isobil.poll()`` pulls a polled provider's reports and inbound texts (Netgsm);
    with a provider that pushes it does nothing.
    """
    tasks = IsobilTasks(_factory(settings, client_factory))

    @app.task(name=DISPATCH_TASK, bind=True)
    def dispatch(
        self: Task[Any, Any], limit: int = DEFAULT_LIMIT, fan_out: int = 0
    ) -> DispatchSummary:
        if limit < 1:
            raise InvalidValue(f"{DISPATCH_TASK}: limit must be >= 1, got {limit}")
        if fan_out < 0:
            raise InvalidValue(f"{DISPATCH_TASK}: fan_out must be >= 0, got {fan_out}")
        report = tasks.client().dispatch(limit=limit)
        follow_up = None
        if fan_out and report.handled >= limit:
            follow_up = self.apply_async(kwargs={"limit": limit, "fan_out": fan_out - 1}).id
        return {
            "handled": report.handled,
            "outcomes": {status.value: n for status, n in report.outcomes.items()},
            "lost": len(report.lost),
            "next": follow_up,
        }

    @app.task(name=POLL_TASK)
    def poll() -> PollSummary:
        return {"pulled": tasks.client().poll()}

    def close_client(**_: object) -> None:
        tasks.close()

    tasks.dispatch = dispatch
    tasks.poll = poll
    # A prefork child ends with worker_process_shutdown; a solo or threads worker,
    # whose tasks run in the main process, with worker_shutdown.
    signals.worker_process_shutdown.connect(close_client, weak=False)
    signals.worker_shutdown.connect(close_client, weak=False)
    return tasks
