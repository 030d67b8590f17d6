"""Prometheus metrics, read from storage when Prometheus scrapes: nothing on the send path.

.. code-block:: python

    from isobil import Client
    from isobil.metrics import serve

    client = Client(sender, transport=transport)
    server = serve(client, port=9464)  # http://127.0.0.1:9464/metrics

Or register the collector in a registry of your own (a web app's ``/metrics``)::

    from prometheus_client import REGISTRY
    from isobil.metrics import IsobilCollector

    REGISTRY.register(IsobilCollector(client))

Each scrape asks the storage where the messages stand
(:meth:`~isobil.storage.Storage.message_stats`) and what the credit balance is,
and an SMPP transport for its flow-control figures. The counters are derived
from message states that never go back (a delivered message stays delivered),
so they only rise, across every worker sharing the storage: one collector per
storage is enough, and ``rate()`` gives the throughput. docs/observability.md
lists the metrics and a sample dashboard.

Installed with the extra ``isobil[prometheus]``; ``import isobil`` never imports
``prometheus_client``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Final

try:
    from prometheus_client import REGISTRY, CollectorRegistry, start_http_server
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
    from prometheus_client.registry import Collector
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "isobil.metrics needs prometheus_client: pip install 'isobil[prometheus]'"
    ) from exc

from isobil.errors import StorageError
from isobil.storage import SENT_STATES, MessageState, MessageStats
from isobil.storage._records import reason_rule_ids
from isobil.transport import SmppStats, SmppTransport

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from isobil.client import Client

__all__ = ["IsobilCollector", "MetricsServer", "serve"]

log = logging.getLogger("isobil")

#: The ``rule`` label of a blocked message whose reason names no rule.
OTHER: Final = "other"

# (name, help) of the SMPP transport's counters and gauges, from SmppStats.
_SMPP_COUNTERS: Final = (
    ("parts_sent", "submit_sm PDUs sent (one per part of a message)"),
    ("parts_accepted", "submit_sm PDUs the SMSC accepted"),
    ("parts_rejected", "submit_sm PDUs the SMSC refused for good"),
    ("throttled", "answers ESME_RTHROTTLED or ESME_RMSGQFUL (the part is sent again)"),
    ("rate_cuts", "times throttling cut the pacing rate"),
    ("resubmitted", "parts sent again after a connection dropped before their answer"),
    ("timeouts", "submits whose answer never came"),
    ("binds", "successful binds"),
    ("bind_failures", "failed bind attempts"),
    ("disconnects", "connections lost"),
    ("receipts", "delivery receipts received"),
    ("inbound", "inbound messages received"),
)
_SMPP_GAUGES: Final = (
    ("window", "the send window in force (most unanswered submit_sm)"),
    ("in_flight", "submit_sm sent and not answered yet"),
    ("queued", "parts waiting in the transport to be sent"),
    ("rate", "the pacing rate flow control learned, submits/s (absent while unpaced)"),
    ("accepted_rate", "submits the SMSC accepted per second over the last 5 s"),
)


class IsobilCollector(Collector):
    """A Prometheus collector of one client's messages, credits and transport.

    Reads everything at scrape time: the storage's
    :meth:`~isobil.storage.Storage.message_stats` and credit balance (the same
    figures from every worker sharing the storage), and the figures of the
    client's :class:`~isobil.transport.SmppTransport`, if that is its transport
    (this process's own). With several workers, let one export the storage and
    each its transport (``storage=False``). A storage that fails is reported as
    ``isobil_storage_up 0`` (and logged); the transport's figures still come.
    """

    def __init__(self, client: Client, *, storage: bool = True, transport: bool = True) -> None:
        self.client = client
        self.storage = storage
        self.transport = transport

    def describe(self) -> list[Metric]:
        """The metric families, without samples: what registering checks names against."""
        return list(self._families(None, None, None, 0.0))

    def collect(self) -> Iterator[Metric]:
        """The metric families, read now."""
        started = time.perf_counter()
        stats: MessageStats | None = None
        balance: int | None = None
        if self.storage:
            try:
                read = self.client.storage.message_stats(now=datetime.now(UTC))
                balance = self.client.storage.credit_balance()
                stats = read
            except StorageError as exc:
                balance = None
                log.warning("isobil: metrics could not read the storage: %s", exc)
        took = time.perf_counter() - started
        transport = self.client.transport
        smpp = transport.stats() if isinstance(transport, SmppTransport) else None
        return self._families(stats, balance, smpp, took)

    def _families(
        self,
        stats: MessageStats | None,
        balance: int | None,
        smpp: SmppStats | None,
        took: float,
    ) -> Iterator[Metric]:
        if self.storage:
            yield from self._storage(stats, balance, took)
        if self.transport and isinstance(self.client.transport, SmppTransport):
            yield from self._smpp(smpp)

    def _storage(
        self, stats: MessageStats | None, balance: int | None, took: float
    ) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "isobil_storage_up", "1 when the last scrape read the storage, else 0"
        )
        read = GaugeMetricFamily(
            "isobil_storage_read_seconds", "how long the last scrape took to read the storage"
        )
        states = GaugeMetricFamily(
            "isobil_messages", "messages in each state right now", labels=["state"]
        )
        due = GaugeMetricFamily(
            "isobil_messages_due",
            "queue depth: queued messages a dispatcher would send now (campaign running, "
            "send time passed)",
        )
        submitted = CounterMetricFamily(
            "isobil_messages_submitted",
            "messages the transport took (submitted, then delivered, undelivered, expired or "
            "rejected; or unknown: the submit's answer was lost)",
        )
        delivered = CounterMetricFamily("isobil_messages_delivered", "messages delivered")
        failed = CounterMetricFamily(
            "isobil_messages_failed",
            "messages that failed (failed: refused at submit; undelivered, expired, rejected: "
            "by delivery report), by state and error code",
            labels=["state", "code"],
        )
        blocked = CounterMetricFamily(
            "isobil_messages_blocked",
            "messages stopped before sending, by the rule that stopped them (a message "
            "stopped by two rules counts for both)",
            labels=["rule"],
        )
        credits = GaugeMetricFamily("isobil_credit_balance", "the credit balance")
        up.add_metric([], 0 if stats is None else 1)
        if stats is not None:
            read.add_metric([], took)
            for state in MessageState:
                states.add_metric([state.value], stats.states.get(state, 0))
            due.add_metric([], stats.due)
            submitted.add_metric([], sum(stats.states.get(s, 0) for s in SENT_STATES))
            delivered.add_metric([], stats.states.get(MessageState.DELIVERED, 0))
            for (state, code), count in sorted(
                stats.failures.items(), key=lambda item: (item[0][0], item[0][1] or "")
            ):
                failed.add_metric([state.value, code or ""], count)
            for rule, count in sorted(self._by_rule(stats).items()):
                blocked.add_metric([rule], count)
        if balance is not None:
            credits.add_metric([], balance)
        yield from (up, read, states, due, submitted, delivered, failed, blocked, credits)

    def _by_rule(self, stats: MessageStats) -> dict[str, int]:
        rules = self.client.rules
        known = {rule.id for rule in rules.rules}  # disabled ones included
        counts: dict[str, int] = {}
        for reason, count in stats.blocked.items():
            for rule in reason_rule_ids(reason, known) or (OTHER,):
                counts[rule] = counts.get(rule, 0) + count
        return counts

    @staticmethod
    def _smpp(smpp: SmppStats | None) -> Iterator[Metric]:
        for name, text in _SMPP_COUNTERS:
            counter = CounterMetricFamily(f"isobil_smpp_{name}", f"SMPP: {text}")
            if smpp is not None:
                counter.add_metric([], getattr(smpp, name))
            yield counter
        for name, text in _SMPP_GAUGES:
            gauge = GaugeMetricFamily(f"isobil_smpp_{name}", f"SMPP: {text}")
            value = None if smpp is None else getattr(smpp, name)
            if value is not None:
                gauge.add_metric([], value)
            yield gauge


class MetricsServer:
    """A running metrics endpoint (see :func:`serve`); :meth:`close` stops it."""

    def __init__(
        self,
        server: WSGIServer,
        thread: threading.Thread,
        registry: CollectorRegistry,
        collector: IsobilCollector,
    ) -> None:
        self._server = server
        self._thread = thread
        self._registry = registry
        self._collector = collector
        host, port = server.server_address[:2]
        #: The port it listens on (the one the system chose, when ``port=0``).
        self.port: int = int(port)
        #: Where Prometheus scrapes it.
        self.url = f"http://{host if isinstance(host, str) else host.decode()}:{self.port}/metrics"

    def close(self) -> None:
        """Stop serving and take the collector out of its registry. Idempotent."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._registry.unregister(self._collector)

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<MetricsServer {self.url}>"


def serve(
    client: Client,
    *,
    port: int = 9464,
    addr: str = "127.0.0.1",
    registry: CollectorRegistry | None = None,
    storage: bool = True,
    transport: bool = True,
) -> MetricsServer:
    """Serve ``client``'s metrics at ``http://addr:port/metrics`` from a background thread.

    The collector joins ``registry`` (default: prometheus_client's global
    ``REGISTRY``, with whatever else the process exports there). ``addr``
    defaults to the loopback interface: listen on ``"0.0.0.0"`` only where the
    network in front limits who can read the figures. ``port=0`` lets the system
    choose (see :attr:`MetricsServer.port`). ``storage`` and ``transport`` choose
    the figures, as for :class:`IsobilCollector`.
    """
    registry = REGISTRY if registry is None else registry
    collector = IsobilCollector(client, storage=storage, transport=transport)
    registry.register(collector)
    try:
        server, thread = start_http_server(port, addr=addr, registry=registry)
    except BaseException:
        registry.unregister(collector)
        raise
    return MetricsServer(server, thread, registry, collector)
