"""isobil.contrib.celery: the dispatch and poll tasks, eager and on real Celery workers.

The eager tests run the tasks in this process (``task_always_eager``): the summary,
the fan-out bound, one client a process. The worker test starts three ``celery
worker`` processes on RabbitMQ over one PostgreSQL database, queues 300 messages
and checks that each reached the transport exactly once. The workers import this
module (``-A test_contrib_celery:worker_app``): ``worker_app`` and its transport,
which writes every message id it accepts to a file of its own process.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from celery import Celery, signals
from kombu import Exchange, Queue

import _pg
import isobil
from isobil.contrib.celery import DISPATCH_TASK, IsobilTasks, register
from isobil.errors import ConfigurationError, InvalidValue
from isobil.storage import Campaign, CampaignStatus, MemoryStorage, MessageState, OutboundMessage
from isobil.transport import OutboundSms, SubmitResult

BROKER = os.environ.get("ISOBIL_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
SENT_DIR_ENV = "ISOBIL_TEST_SENT_DIR"
QUEUE_ENV = "ISOBIL_TEST_CELERY_QUEUE"
TEXT = "Kargonuz yola çıktı."
WORKERS = 3
MESSAGES = 300
WAIT = 120.0  # seconds; a bound for a hung run, not a synchronisation
STOP = 60.0  # seconds a worker has to shut down before it is killed


class RecordingTransport(isobil.FakeTransport):
    """A fake that appends the id of every message it accepts to ``sent-<pid>``, before
    it answers (as a real SMSC has the message), and writes ``closed-<pid>`` on close."""

    def __init__(self, directory: Path) -> None:
        super().__init__()
        self._directory = directory
        self._log = (directory / f"sent-{os.getpid()}").open("a", encoding="utf-8")

    def submit(self, batch: Sequence[OutboundSms]) -> list[SubmitResult]:
        """Accept the batch like the fake, then log the ids it accepted."""
        results = super().submit(batch)
        self._log.write("".join(f"{r.id}\n" for r in results if r.ok))
        self._log.flush()
        return results

    def close(self) -> None:
        """Close the log and leave a mark that this process closed its client."""
        super().close()
        self._log.close()
        (self._directory / f"closed-{os.getpid()}").touch()


def _worker_client() -> isobil.Client:
    """The client of one worker process: the database of ``$ISOBIL_DATABASE_URL``."""
    return isobil.Client(
        transport=RecordingTransport(Path(os.environ[SENT_DIR_ENV])), batch_size=20
    )


#: The app the worker processes run; the queue is the test's own.
worker_app = Celery("isobil_test", broker=BROKER, set_as_current=False)
worker_app.conf.task_default_queue = os.environ.get(QUEUE_ENV, "isobil-test")
worker_app.conf.worker_hijack_root_logger = False
register(worker_app, client_factory=_worker_client)


# -- eager: the tasks in this process -------------------------------------------------


def _eager_app() -> Celery:
    app = Celery("isobil_eager", set_as_current=False)
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    return app


class _Factory:
    """Makes clients on one in-memory storage and counts them."""

    def __init__(self) -> None:
        self.storage = MemoryStorage()
        self.made: list[isobil.Client] = []

    def __call__(self) -> isobil.Client:
        client = isobil.Client(storage=self.storage)
        self.made.append(client)
        return client

    @property
    def sent(self) -> int:
        return sum(
            len(c.transport.sent)
            for c in self.made
            if isinstance(c.transport, isobil.FakeTransport)
        )


def _queue(storage: MemoryStorage, count: int) -> None:
    """A running campaign of ``count`` queued messages, due now."""
    storage.create_campaign(
        Campaign(
            id="eager",
            text=TEXT,
            category="informational",
            created_at=datetime.now(UTC),
            status=CampaignStatus.RUNNING,
        )
    )
    storage.add_messages(
        OutboundMessage(f"m{i:03d}", "eager", f"+90532{i:07d}", TEXT, 1) for i in range(count)
    )


@pytest.fixture
def factory() -> _Factory:
    return _Factory()


@pytest.fixture
def tasks(factory: _Factory) -> Iterator[IsobilTasks]:
    tasks = register(_eager_app(), client_factory=factory)
    yield tasks
    tasks.close()


def test_dispatch_returns_a_json_summary(tasks: IsobilTasks, factory: _Factory) -> None:
    """One dispatch sends at most ``limit`` messages and says what happened, as JSON."""
    _queue(factory.storage, 7)
    summary = tasks.dispatch.delay(limit=5).get()
    assert summary == {"handled": 5, "outcomes": {"submitted": 5}, "lost": 0, "next": None}
    assert summary == json.loads(json.dumps(summary))
    assert factory.sent == 5


def test_full_batches_chain_the_next_up_to_fan_out(tasks: IsobilTasks, factory: _Factory) -> None:
    """A full batch enqueues the next while ``fan_out`` allows; a partial one stops."""
    _queue(factory.storage, 23)
    first = tasks.dispatch.delay(limit=5, fan_out=2).get()
    assert first["next"] is not None
    assert factory.sent == 15  # three batches of 5: the first and two chained
    rest = tasks.dispatch.delay(limit=5, fan_out=10).get()
    assert factory.sent == 23  # 5, then 3: a partial batch chains nothing more
    assert rest["handled"] == 5


def test_one_default_dispatch_sends_several_batches(tasks: IsobilTasks, factory: _Factory) -> None:
    """The default limit spans several of the client's batches (500 each), which one
    task pipelines; a default of one batch would end the task after 500."""
    _queue(factory.storage, 1_200)
    summary = tasks.dispatch.delay().get()
    assert summary == {"handled": 1_200, "outcomes": {"submitted": 1_200}, "lost": 0, "next": None}
    assert factory.sent == 1_200


def test_nothing_due_chains_nothing(tasks: IsobilTasks, factory: _Factory) -> None:
    """With nothing queued a dispatch handles nothing and ends its chain."""
    assert tasks.dispatch.delay(fan_out=5).get() == {
        "handled": 0,
        "outcomes": {},
        "lost": 0,
        "next": None,
    }


@pytest.mark.parametrize(("limit", "fan_out"), [(0, 0), (5, -1)])
def test_bad_bounds_are_refused(tasks: IsobilTasks, limit: int, fan_out: int) -> None:
    """A limit below 1 or a negative fan_out is an error naming the task."""
    with pytest.raises(InvalidValue, match=DISPATCH_TASK):
        tasks.dispatch.delay(limit=limit, fan_out=fan_out)


def test_poll_returns_how_many_events_came_back(tasks: IsobilTasks) -> None:
    """A transport that is not polled pulls nothing."""
    assert tasks.poll.delay().get() == {"pulled": 0}


def test_one_client_a_process_closed_at_worker_shutdown(
    tasks: IsobilTasks, factory: _Factory
) -> None:
    """Tasks share the process's client; the worker's shutdown signal closes it."""
    tasks.dispatch.delay()
    tasks.poll.delay()
    assert len(factory.made) == 1
    signals.worker_process_shutdown.send(sender=None, pid=os.getpid(), exitcode=0)
    with pytest.raises(ConfigurationError, match="closed"):
        factory.made[0].dispatch()
    tasks.dispatch.delay()
    assert len(factory.made) == 2


def test_settings_come_from_the_file_named_by_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without settings or a factory, the client is made from ``$ISOBIL_SETTINGS``."""
    settings = tmp_path / "acme.toml"
    settings.write_text('name = "Acme A.Ş."\nbrands = ["ACME"]\n[transport]\nkind = "fake"\n')
    monkeypatch.setenv("ISOBIL_SETTINGS", str(settings))
    tasks = register(_eager_app())
    try:
        assert tasks.dispatch.delay().get() == {
            "handled": 0,
            "outcomes": {},
            "lost": 0,
            "next": None,
        }
        client = tasks.client()
        assert client.sender is not None
        assert client.sender.name == "Acme A.Ş."
    finally:
        tasks.close()


def test_a_missing_settings_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``$ISOBIL_SETTINGS`` naming no file fails the task with the variable and the path."""
    monkeypatch.setenv("ISOBIL_SETTINGS", str(tmp_path / "missing.toml"))
    tasks = register(_eager_app())
    with pytest.raises(ConfigurationError, match=r"ISOBIL_SETTINGS=.*missing\.toml"):
        tasks.dispatch.delay()


def test_settings_without_a_transport_are_refused() -> None:
    """As ``isobil worker``, the tasks never fall back to a transport that sends nothing."""
    tasks = register(_eager_app(), {"name": "Acme A.Ş.", "brands": ["ACME"]})
    with pytest.raises(ConfigurationError, match="no transport"):
        tasks.dispatch.delay()


def test_settings_and_a_factory_exclude_each_other() -> None:
    """The client comes from settings or from a factory, never both."""
    with pytest.raises(ConfigurationError, match="not both"):
        register(_eager_app(), {}, client_factory=isobil.Client)


_IMPORT_ALL_BUT_CONTRIB = """
import importlib, pkgutil, sys, isobil
for module in pkgutil.walk_packages(isobil.__path__, "isobil."):
    if not module.name.startswith("isobil.contrib.") and module.name != "isobil.__main__":
        importlib.import_module(module.name)
print("celery" in sys.modules)
"""


def test_only_isobil_contrib_celery_imports_celery() -> None:
    """Every other isobil module (``isobil.contrib`` itself too) loads without Celery."""
    run = subprocess.run(
        [sys.executable, "-c", _IMPORT_ALL_BUT_CONTRIB], capture_output=True, text=True, check=True
    )
    assert run.stdout.strip() == "False"


# -- three real workers on RabbitMQ and PostgreSQL -----------------------------------


def _broker_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=2).close()
    except OSError:
        return False
    return True


class _Workers:
    """``count`` celery worker processes (prefork, one child each) consuming ``queue``."""

    def __init__(self, count: int, *, queue: str, database_url: str, sent_dir: Path) -> None:
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")])
            ),
            "ISOBIL_DATABASE_URL": database_url,
            SENT_DIR_ENV: str(sent_dir),
            QUEUE_ENV: queue,
        }
        self.names = [f"isobil{i}-{queue}@localhost" for i in range(count)]
        self.logs = [sent_dir / f"worker{i}.log" for i in range(count)]
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        for name, log in zip(self.names, self.logs, strict=True):
            command = [sys.executable, "-m", "celery", "-A", "test_contrib_celery:worker_app"]
            command += ["worker", "--pool=prefork", "--concurrency=1", f"--hostname={name}"]
            command += ["--without-gossip", "--without-mingle", "--loglevel=WARNING"]
            with log.open("wb") as out:
                self.processes.append(
                    subprocess.Popen(
                        command,
                        env=self.env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,  # its pool children can be killed with it
                    )
                )

    def check_alive(self) -> None:
        for process, log in zip(self.processes, self.logs, strict=True):
            if process.poll() is not None:
                pytest.fail(f"a celery worker exited ({process.returncode}): {log.read_text()}")

    def stop(self) -> None:
        """Warm shutdown (SIGTERM), as a service manager stops a worker; kill (the worker
        and its pool children) what has not ended within STOP seconds."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP
        for process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _wait_for(what: str, done: Callable[[], bool], deadline: float) -> None:
    while not done():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)  # an idle poll, not a synchronisation


def _sent_by_process(directory: Path) -> dict[str, list[str]]:
    return {
        path.name.removeprefix("sent-"): path.read_text(encoding="utf-8").split()
        for path in directory.glob("sent-*")
    }


def test_three_workers_send_each_queued_message_once(tmp_path: Path) -> None:
    """300 due messages, three workers running chained dispatch tasks at once: every
    message reaches the transport exactly once and is ``submitted``; each worker
    process closes its client as it shuts down."""
    if not _broker_up():
        pytest.skip(f"RabbitMQ not reachable at {BROKER}")
    queue = f"isobil-test-{uuid.uuid4().hex[:12]}"
    deadline = time.monotonic() + WAIT
    producer = Celery("isobil_producer", broker=BROKER, set_as_current=False)
    with _pg.fresh_database() as url, isobil.Client(database_url=url) as client:
        at = datetime.now(UTC) + timedelta(seconds=1)
        result = client.send(
            isobil.Message(TEXT, category="informational"),
            to=[f"+90532{i:07d}" for i in range(MESSAGES)],
            at=at,
        )
        assert len(result.queued) == MESSAGES
        workers = _Workers(WORKERS, queue=queue, database_url=url, sent_dir=tmp_path)
        try:
            workers.start()

            def all_answer() -> bool:
                workers.check_alive()
                replies = producer.control.ping(destination=workers.names, timeout=0.5)
                return len(replies or []) == WORKERS

            _wait_for("the workers to answer a ping", all_answer, deadline)
            _wait_for("the messages to be due", lambda: datetime.now(UTC) > at, deadline)
            for _ in range(WORKERS):
                producer.send_task(DISPATCH_TASK, kwargs={"limit": 25, "fan_out": 20}, queue=queue)

            def all_submitted() -> bool:
                workers.check_alive()
                counts = client.storage.message_counts(result.campaign_id)
                return counts.get(MessageState.SUBMITTED, 0) == MESSAGES

            _wait_for("every message to be submitted", all_submitted, deadline)
        finally:
            workers.stop()
            with producer.connection_for_write() as connection:
                bound = Queue(queue, Exchange(queue), queue).bind(connection.default_channel)
                bound.delete()
                bound.exchange.delete()
            producer.close()
    sent = _sent_by_process(tmp_path)
    counted = Counter(i for ids in sent.values() for i in ids)
    assert [i for i, n in counted.items() if n > 1] == []
    assert {o.message_id for o in result.queued} == set(counted)
    # Each worker got one of the first three tasks (RabbitMQ deals them round-robin).
    assert len(sent) == WORKERS, f"not every worker process sent: {sorted(sent)}"
    closed = {path.name.removeprefix("closed-") for path in tmp_path.glob("closed-*")}
    assert set(sent) <= closed, "a worker process ended without closing its client"
