"""Observability: Prometheus metrics read from storage at scrape time, and tracing spans."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

import isobil.metrics
from _acme import ACME, IYS_NOT_WIRED, own_rule
from isobil import Client, FakeTransport, Message, OutcomeStatus, _tracing
from isobil.metrics import IsobilCollector, serve
from isobil.storage import MemoryStorage, SQLStorage, Storage
from isobil.testing.smsc import SmscSimulator
from isobil.testing.storage import StorageContract
from isobil.transport import OutboundSms, SmppTransport, SubmitResult

OFFER = Message(
    "KAMPANYA: Tüm ürünlerde %20 indirim! acme.com.tr/kampanya "
    "Ret için ACME RET yazıp 4605'e gönderin.",
    brand="ACME",
)
NOTICE = Message("Kargonuz yola çıktı.", category="informational")

CONSENTED = [f"+90532000000{i}" for i in range(1, 6)]  # A1 … A5
NO_CONSENT = ["+905330000001", "+905330000002"]
BLACKLISTED = "+905340000001"  # consented, then blacklisted
OPTED_OUT = "+905350000001"  # consented, then RET
LATER = ["+905360000001", "+905360000002", "+905360000003"]
NUMBERS = [*CONSENTED, *NO_CONSENT, BLACKLISTED, OPTED_OUT, *LATER]

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> Samples:
    """Every sample an endpoint serves, by name and labels."""
    response = httpx.get(url, timeout=10)
    response.raise_for_status()
    return parse(response.text)


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def of(samples: Samples, name: str, label: str | None = None) -> dict[str, float]:
    """The samples named ``name``, by the value of ``label`` (or ``""`` without labels)."""
    found: dict[str, float] = {}
    for (sample, labels), value in samples.items():
        if sample == name:
            key = "" if label is None else dict(labels)[label]
            found[key] = value
    return found


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Client]:
    with Client(
        ACME,
        transport=FakeTransport(),
        storage=SQLStorage(f"sqlite:///{tmp_path}/isobil.db"),
        prepaid=True,
    ) as opened:
        yield opened


def run_campaign(client: Client) -> str:
    """A campaign that was sent, refused and delivered, and one queued for later."""
    fake = client.transport
    assert isinstance(fake, FakeTransport)
    client.credits.top_up(100)
    for number in [*CONSENTED, BLACKLISTED, OPTED_OUT]:
        client.consent.record(number, "ONAY", source="HS_ISLAK_IMZA", brand="ACME")
    client.consent.record(OPTED_OUT, "RET", source="HS_ISLAK_IMZA", brand="ACME")
    client.blacklist.add(BLACKLISTED, reason="asked by phone")
    fake.fail_to([CONSENTED[4]])  # refused by the peer: failed, ESME_RINVDSTADR

    to = [*CONSENTED, *NO_CONSENT, BLACKLISTED, OPTED_OUT]
    result = client.send(OFFER, to=to, acknowledge=IYS_NOT_WIRED)
    assert [o.status for o in result.outcomes] == [
        *[OutcomeStatus.SUBMITTED] * 4,
        OutcomeStatus.FAILED,
        *[OutcomeStatus.BLOCKED] * 4,
    ]
    sent = {s.to: s.message_id for s in fake.sent}
    fake.deliver_many(
        [
            (sent[CONSENTED[0]], "delivered", None),
            (sent[CONSENTED[1]], "delivered", None),
            (sent[CONSENTED[2]], "undelivered", "027"),
        ]
    )  # CONSENTED[3] stays submitted: no report yet
    client.send(NOTICE, to=LATER, at=datetime.now(UTC) + timedelta(hours=1))
    return result.campaign_id


def test_a_campaign_sent_refused_and_delivered_on_the_endpoint(client: Client) -> None:
    """A real HTTP endpoint serves the exact counts: by state, submitted and delivered
    totals, failures by code, blocked by rule, queue depth and the credit balance."""
    run_campaign(client)
    with serve(client, port=0, registry=CollectorRegistry()) as server:
        assert server.url == f"http://127.0.0.1:{server.port}/metrics"
        samples = scrape(server.url)
    assert of(samples, "isobil_storage_up") == {"": 1}
    assert of(samples, "isobil_messages", "state") == {
        "queued": 3,
        "submitting": 0,
        "submitted": 1,
        "delivered": 2,
        "undelivered": 1,
        "expired": 0,
        "rejected": 0,
        "failed": 1,
        "blocked": 4,
        "cancelled": 0,
        "unknown": 0,
    }
    assert of(samples, "isobil_messages_submitted_total") == {"": 4}
    assert of(samples, "isobil_messages_delivered_total") == {"": 2}
    failed = {
        (dict(labels)["state"], dict(labels)["code"]): value
        for (name, labels), value in samples.items()
        if name == "isobil_messages_failed_total"
    }
    assert failed == {("failed", "ESME_RINVDSTADR"): 1, ("undelivered", "027"): 1}
    assert of(samples, "isobil_messages_blocked_total", "rule") == {
        "TR-CONSENT-001": 2,
        "ISOBIL-BLACKLIST-001": 1,
        "TR-OPTOUT-001": 1,
    }
    assert of(samples, "isobil_messages_due") == {"": 0}  # the later ones are not due yet
    # 100, less 5 reserved for the offer (the failed one released, the undelivered
    # one refunded), less 3 reserved for the later notice.
    assert of(samples, "isobil_credit_balance") == {"": 94}
    assert not [name for name, _ in samples if name.startswith("isobil_smpp_")]
    # Closed: the collector left its registry and the port is free again.
    with pytest.raises(httpx.TransportError):
        httpx.get(server.url, timeout=2)


def test_a_rule_of_your_own_labels_what_it_blocked_after_it_is_gone(client: Client) -> None:
    """Blocked by a rule of your own (``my_rule``, no id shape of isobil's), the messages
    are labelled with its id, also by a client whose rule set no longer has it."""
    refuse = own_rule("my_rule", lambda m, r: "not this one" if r is not None else None)
    with_rule = client.rules
    client.rules = with_rule.with_rules(refuse)
    client.send(NOTICE, to=CONSENTED[:2])
    client.rules = with_rule  # a later worker, without the rule
    registry = CollectorRegistry()
    registry.register(IsobilCollector(client))
    samples = parse(generate_latest(registry).decode())
    assert of(samples, "isobil_messages_blocked_total", "rule") == {"my_rule": 2}


def test_due_messages_are_the_queue_depth(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """Queued messages count as due once their send time has passed."""
    run_campaign(client)
    registry = CollectorRegistry()
    registry.register(IsobilCollector(client))
    stats = client.storage.message_stats(now=datetime.now(UTC) + timedelta(hours=2))
    assert stats.due == 3
    assert of(parse(generate_latest(registry).decode()), "isobil_messages_due") == {"": 0}

    class TwoHoursOn(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
            return datetime.now(tz) + timedelta(hours=2)

    monkeypatch.setattr(isobil.metrics, "datetime", TwoHoursOn)  # the scrape's clock
    assert of(parse(generate_latest(registry).decode()), "isobil_messages_due") == {"": 3}


def test_counters_only_rise_as_reports_settle_messages(client: Client) -> None:
    """A report moves a message from submitted to delivered: the submitted total stays,
    the delivered total rises (what makes them counters)."""
    run_campaign(client)
    registry = CollectorRegistry()
    registry.register(IsobilCollector(client))
    before = parse(generate_latest(registry).decode())
    fake = client.transport
    assert isinstance(fake, FakeTransport)
    fake.deliver_all()
    after = parse(generate_latest(registry).decode())
    submitted = "isobil_messages_submitted_total"
    assert of(before, submitted) == of(after, submitted) == {"": 4}
    assert of(before, "isobil_messages_delivered_total") == {"": 2}
    assert of(after, "isobil_messages_delivered_total") == {"": 3}


class DefaultStatsStorage(MemoryStorage):
    """A backend without a message_stats of its own: Storage's default answers."""

    message_stats = Storage.message_stats


class TestTheDefaultMessageStats:
    """Storage.message_stats as a third-party backend inherits it keeps the contract."""

    test_message_stats = StorageContract.test_message_stats_count_states_failures_blocked_and_due

    @pytest.fixture
    def storage(self) -> DefaultStatsStorage:
        return DefaultStatsStorage()


class BrokenStorage(MemoryStorage):
    def credit_balance(self) -> int:
        from isobil.errors import StorageError

        raise StorageError("credit_balance failed on sqlite:///gone.db: disk I/O error")


def test_a_failing_storage_is_reported_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    """The scrape still answers: isobil_storage_up 0, and the failure is logged."""
    with Client(transport=FakeTransport(), storage=BrokenStorage()) as client:
        registry = CollectorRegistry()
        registry.register(IsobilCollector(client))
        samples = parse(generate_latest(registry).decode())
    assert of(samples, "isobil_storage_up") == {"": 0}
    assert of(samples, "isobil_messages", "state") == {}
    assert "disk I/O error" in caplog.text


def test_an_smpp_transport_exports_its_flow_control() -> None:
    """Window, rate and the parts counters of an SmppTransport come with the scrape."""
    with (
        SmscSimulator() as smsc,
        SmppTransport(smsc.host, smsc.port, system_id="isobil", password="pw") as transport,  # noqa: S106
    ):
        transport.wait_bound(10)
        with Client(transport=transport, storage=MemoryStorage()) as client:
            result = client.send(NOTICE, to=LATER)
            assert len(result.submitted) == 3
            registry = CollectorRegistry()
            registry.register(IsobilCollector(client))
            samples = parse(generate_latest(registry).decode())
            worker = CollectorRegistry()  # a worker beside others: its transport only
            worker.register(IsobilCollector(client, storage=False))
            only = parse(generate_latest(worker).decode())
    assert {name for name, _ in only} == {
        name for name, _ in samples if name.startswith("isobil_smpp_")
    }
    assert of(samples, "isobil_smpp_parts_sent_total") == {"": 3}
    assert of(samples, "isobil_smpp_parts_accepted_total") == {"": 3}
    assert of(samples, "isobil_smpp_throttled_total") == {"": 0}
    assert of(samples, "isobil_smpp_window") == {"": transport.stats().window}
    assert of(samples, "isobil_smpp_in_flight") == {"": 0}
    assert of(samples, "isobil_smpp_rate") == {}  # unpaced: never throttled, no cap
    assert of(samples, "isobil_messages_submitted_total") == {"": 3}


# -- tracing -------------------------------------------------------------------


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    """isobil's spans, recorded in memory by the OpenTelemetry SDK (no global provider set)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(_tracing, "_provider", lambda otel: provider)
    yield exporter
    provider.shutdown()


def everything_said(finished: Sequence[ReadableSpan]) -> str:
    """All a span tells an exporter: names, attributes, events and statuses."""
    said = []
    for span in finished:
        said += [span.name, repr(dict(span.attributes or {})), str(span.status.description)]
        said += [repr(dict(e.attributes or {})) for e in span.events]
    return "\n".join(said)


def assert_no_number(text: str) -> None:
    for number in NUMBERS:
        assert number not in text
        assert number[3:] not in text  # 532…, with or without a leading 0


def test_spans_around_send_dispatch_send_now_and_check(
    client: Client, spans: InMemorySpanExporter
) -> None:
    """Each public call is one span, with counts, the campaign id and the transport's
    name as attributes, and never a phone number."""
    campaign_id = run_campaign(client)
    client.send_now(NOTICE, to=LATER[0])
    client.dispatch(now=datetime.now(UTC) + timedelta(hours=2))
    client.check(OFFER, to=[*CONSENTED, *NO_CONSENT], acknowledge=IYS_NOT_WIRED)
    everything = spans.get_finished_spans()
    finished = [s for s in everything if s.name != "isobil.submit"]
    submits = [s for s in everything if s.name == "isobil.submit"]
    assert [s.name for s in finished] == [
        "isobil.send",
        "isobil.send",
        "isobil.send_now",
        "isobil.dispatch",
        "isobil.check",
    ]
    # Each batch's submit is a child of the call that sent it, in the submit thread.
    assert [(s.parent.span_id if s.parent else None) for s in submits] == [
        finished[0].context.span_id,
        finished[2].context.span_id,
        finished[3].context.span_id,
    ]
    assert [dict(s.attributes or {}) for s in submits] == [
        {"isobil.transport": "FakeTransport", "isobil.messages": 5, "isobil.refused": 1},
        {"isobil.transport": "FakeTransport", "isobil.messages": 1, "isobil.refused": 0},
        {"isobil.transport": "FakeTransport", "isobil.messages": 3, "isobil.refused": 0},
    ]
    send, later, now, dispatch, check = (dict(s.attributes or {}) for s in finished)
    assert send == {
        "isobil.transport": "FakeTransport",
        "isobil.campaign_id": campaign_id,
        "isobil.recipients": 9,
        "isobil.outcome.submitted": 4,
        "isobil.outcome.failed": 1,
        "isobil.outcome.blocked": 4,
    }
    assert later["isobil.outcome.queued"] == 3
    assert now == {"isobil.transport": "FakeTransport", "isobil.outcome": "submitted"}
    assert dispatch == {
        "isobil.transport": "FakeTransport",
        "isobil.handled": 3,
        "isobil.lost": 0,
        "isobil.outcome.submitted": 3,
    }
    assert check == {
        "isobil.allowed": 5,
        "isobil.blocked": 2,
        "isobil.invalid": 0,
        "isobil.refused": False,
    }
    assert all(s.status.status_code is trace.StatusCode.UNSET for s in finished)
    assert_no_number(everything_said(finished))


class Exploding(FakeTransport):
    """A transport that fails with an error naming the number (not a TransportError)."""

    def submit(self, batch: Sequence[OutboundSms]) -> list[SubmitResult]:
        raise RuntimeError(f"driver crashed sending to {batch[0].to}")


def test_a_failed_call_ends_its_span_in_error_without_the_message(
    spans: InMemorySpanExporter,
) -> None:
    """The span says ERROR and the exception's class, not its message (which names a number)."""
    with (
        Client(transport=Exploding(), storage=MemoryStorage()) as client,
        pytest.raises(RuntimeError, match="driver crashed"),
    ):
        client.send_now(NOTICE, to=LATER[0])
    [submit, span] = spans.get_finished_spans()
    assert submit.name == "isobil.submit"
    assert submit.status.status_code is trace.StatusCode.ERROR
    assert dict(submit.attributes or {})["error.type"] == "RuntimeError"
    assert span.status.status_code is trace.StatusCode.ERROR
    assert span.status.description == "RuntimeError"
    assert dict(span.attributes or {}) == {
        "isobil.transport": "Exploding",
        "error.type": "RuntimeError",
    }
    assert span.events == ()
    assert_no_number(everything_said([span]))


PROBE = """
import sys
{block}
import isobil
client = isobil.Client(storage=isobil.storage.MemoryStorage())
client.send(isobil.Message("Kargonuz yolda.", category="informational"), to="05321234567")
{check}
"""


def test_spans_reach_the_global_provider_and_cost_nothing_without_opentelemetry() -> None:
    """With the SDK configured globally (after isobil was imported, even) spans reach it;
    without OpenTelemetry installed, sending works and imports none of it."""
    with_sdk = PROBE.format(
        block="",
        check=(
            "from opentelemetry import trace\n"
            "from opentelemetry.sdk.trace import TracerProvider\n"
            "from opentelemetry.sdk.trace.export import SimpleSpanProcessor\n"
            "from opentelemetry.sdk.trace.export.in_memory_span_exporter import"
            " InMemorySpanExporter\n"
            "exporter = InMemorySpanExporter()\n"
            "provider = TracerProvider()\n"
            "provider.add_span_processor(SimpleSpanProcessor(exporter))\n"
            "trace.set_tracer_provider(provider)\n"
            "client.send(isobil.Message('Kargonuz yolda.', category='informational'),"
            " to='05321234567')\n"
            "print([s.name for s in exporter.get_finished_spans()])"
        ),
    )
    without = PROBE.format(
        block="sys.modules['opentelemetry'] = None  # as if not installed",
        check=(
            "print(sorted(m for m, v in sys.modules.items()"
            " if m.startswith('opentelemetry') and v is not None))"
        ),
    )
    for probe, expected in ((with_sdk, "['isobil.submit', 'isobil.send']"), (without, "[]")):
        done = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
        )
        assert done.stdout.strip() == expected, done.stderr
