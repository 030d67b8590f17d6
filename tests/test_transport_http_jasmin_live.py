"""The Client over HTTP against a real Jasmin SMS Gateway 0.11.0, with an SMSC upstream.

    Client ─ HttpTransport + JasminAdapter ─▶ Jasmin /send ─ SMPP ─▶ SmscSimulator
    Client ◀─ CallbackApp (token in the path) ─ Jasmin DLR and MO pushes ◀─ SMPP ─┘

Jasmin is configured through jCli as an operator would (tests/_jasmin.py): a user,
an SMPP connector to the simulated SMSC, a default MT route to it and a default
MO route to an HTTP connector pointing at our callback receiver.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from _acme import ACME
from _jasmin import Jasmin
from isobil import Client, Message, MessageState
from isobil.errors import SubmitRejected
from isobil.model import ConsentStatus
from isobil.testing.http_gateway import WsgiServer
from isobil.testing.smsc import ReceivedMessage, SmscSimulator
from isobil.testing.transport import outbound
from isobil.transport import CallbackApp, DeliveryStatus, HttpTransport, JasminAdapter

USERNAME = "isobil"
PASSWORD = "jpass42"  # noqa: S105 - a test credential (Jasmin allows at most 16 characters)
TOKEN = secrets.token_urlsafe(24)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
WAIT = 30.0  # seconds; Jasmin's pushes go through RabbitMQ and its throwers


class Callbacks:
    """What Jasmin pushes to: the current test's CallbackApp, and a way to await its effect."""

    def __init__(self) -> None:
        self.app: CallbackApp | None = None
        self._handled = threading.Condition()

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        app = self.app
        if app is None:  # between tests: Jasmin retries later
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"no receiver"]
        body = b"".join(app(environ, start_response))
        with self._handled:
            self._handled.notify_all()
        return [body]

    def wait_until(self, predicate: Callable[[], bool], what: str, jasmin: Jasmin) -> None:
        """Block until ``predicate()`` holds, re-checked after every push handled."""
        with self._handled:
            if not self._handled.wait_for(predicate, WAIT):
                pytest.fail(f"not within {WAIT} s: {what}\n{jasmin.log_tail()}")


@pytest.fixture(scope="module")
def smsc() -> Iterator[SmscSimulator]:
    with SmscSimulator() as simulator:
        yield simulator


@pytest.fixture(scope="module")
def callbacks() -> Iterator[tuple[Callbacks, str]]:
    receiver = Callbacks()
    with WsgiServer(receiver) as server:
        yield receiver, f"{server.url}/{TOKEN}"


@pytest.fixture(scope="module")
def jasmin(
    tmp_path_factory: pytest.TempPathFactory,
    smsc: SmscSimulator,
    callbacks: tuple[Callbacks, str],
) -> Iterator[Jasmin]:
    workdir: Path = tmp_path_factory.mktemp("jasmin")
    with Jasmin(workdir) as gateway:
        gateway.route(
            (smsc.host, smsc.port),
            mo_url=f"{callbacks[1]}/mo",
            username=USERNAME,
            password=PASSWORD,
        )
        smsc.wait_for_binds(1, timeout=WAIT)
        yield gateway


@pytest.fixture
def client(jasmin: Jasmin, callbacks: tuple[Callbacks, str]) -> Iterator[Client]:
    receiver, base = callbacks
    adapter = JasminAdapter(username=USERNAME, password=PASSWORD, dlr_url=f"{base}/dlr")
    transport = HttpTransport(jasmin.http_url, adapter, timeout=10.0)
    with Client(ACME, transport=transport) as isobil_client:
        receiver.app = CallbackApp(transport, secret=TOKEN)
        try:
            yield isobil_client
        finally:
            receiver.app = None


def arrivals(smsc: SmscSimulator, before: int, count: int) -> dict[str, ReceivedMessage]:
    """The ``count`` messages that reached the SMSC after the first ``before``, by number."""
    arrived = smsc.wait_for_messages(before + count, timeout=WAIT)[before:]
    assert len(arrived) == count, arrived
    return {message.to: message for message in arrived}


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        # ş, ı, İ: UCS-2 through Jasmin, 109 characters in two parts
        (
            "Sayın müşterimiz, 12 Aralık'ta bakım nedeniyle şubelerimiz öğleden sonra "
            "kapalıdır. İlginiz için teşekkürler.",
            2,
        ),
        # the GSM default alphabet and its extension table, which Jasmin encodes itself
        ("Ürün Çok Güzel @ 100€ [kod 1/2] ~ ^ | \\ é à ñ ß", 1),
        # two GSM parts, Jasmin cutting where isobil counted
        ("Ü" + "a" * 140 + "€ kargo ücreti iade edilir, detaylar: acme.com.tr/iade @ 100€", 2),
        # an escaped € on Jasmin's cut (septets 153-154) would be split and garbled:
        # planned and sent as UCS-2, in the four parts Jasmin makes of it
        ("Ü" + "a" * 151 + "€ kargo ücreti iade edilir, detaylar: acme.com.tr/iade @ 100€", 4),
    ],
    ids=["ucs2-two-parts", "gsm7", "gsm7-two-parts", "escape-on-the-cut"],
)
def test_messages_arrive_at_the_upstream_smsc(
    client: Client, smsc: SmscSimulator, text: str, parts: int
) -> None:
    """Each message Jasmin accepts reaches the SMSC whole, in the parts the Client counted."""
    before = len(smsc.messages())
    result = client.send(Message(text, category="informational"), to=["05321234567"])
    [outcome] = result.outcomes
    assert UUID.fullmatch(outcome.provider_id or ""), outcome
    assert outcome.message_id is not None
    stored = client.message(outcome.message_id)
    received = arrivals(smsc, before, 1)["+905321234567"]
    assert text in received.text
    assert received.text == stored.text
    assert len(received.parts) == stored.parts == parts


def test_delivery_reports_settle_the_right_messages(
    client: Client, smsc: SmscSimulator, jasmin: Jasmin, callbacks: tuple[Callbacks, str]
) -> None:
    """Receipts from the SMSC come back through Jasmin's DLR pushes to their own messages."""
    before = len(smsc.messages())
    notice = Message("Siparisiniz kargoya verildi.", category="informational")
    result = client.send(notice, to=["05351234567", "05361234567"])
    delivered, undelivered = (o.message_id for o in result.outcomes)
    assert delivered is not None
    assert undelivered is not None
    arrived = arrivals(smsc, before, 2)
    smsc.deliver(arrived["+905361234567"].provider_id, DeliveryStatus.UNDELIVERED, "027")
    smsc.deliver(arrived["+905351234567"].provider_id, DeliveryStatus.DELIVERED)

    def settled() -> bool:
        states = client.message(delivered).state, client.message(undelivered).state
        return states == (MessageState.DELIVERED, MessageState.UNDELIVERED)

    callbacks[0].wait_until(settled, "both messages settled by their reports", jasmin)
    assert client.message(undelivered).error_code == "027"
    assert client.message(delivered).error_code in (None, "000")


def test_inbound_ret_reaches_the_consent_ledger(
    client: Client, smsc: SmscSimulator, jasmin: Jasmin, callbacks: tuple[Callbacks, str]
) -> None:
    """An "ACME RET" from a phone, pushed by Jasmin as an MO, is an opt-out in the ledger."""
    before = len(smsc.messages())
    smsc.send_inbound("+905371234567", "4605", "ACME RET")

    def opted_out() -> bool:
        return client.consent.state("05371234567", brand="ACME") is ConsentStatus.RET

    callbacks[0].wait_until(opted_out, "the RET recorded in the consent ledger", jasmin)
    reply = arrivals(smsc, before, 1)["+905371234567"]
    assert "ret talebiniz alındı" in reply.text


def test_refusals_are_jasmins_own_answers(jasmin: Jasmin, smsc: SmscSimulator) -> None:
    """A wrong password is Jasmin's 403, a rejection that names no secret and sends nothing."""
    before = len(smsc.messages())
    wrong = JasminAdapter(username=USERNAME, password="not-the-one")  # noqa: S106
    with HttpTransport(jasmin.http_url, wrong, timeout=10.0) as transport:
        [result] = transport.submit([outbound("+905381234567", "Merhaba")])
    assert isinstance(result.error, SubmitRejected)
    assert result.error.code == "403"
    assert "not-the-one" not in str(result.error)
    assert len(smsc.messages()) == before


def test_what_jasmin_would_cut_off_is_not_sent(jasmin: Jasmin, smsc: SmscSimulator) -> None:
    """Jasmin sends at most 5 parts and drops the rest silently (seen: 765 of 840
    characters arrived); five parts go whole, six are refused before any request."""
    before = len(smsc.messages())
    adapter = JasminAdapter(username=USERNAME, password=PASSWORD)
    five, six = "Bilgi " * 127, "Bilgi " * 128  # 762 and 768 septets: 5 and 6 parts
    with HttpTransport(jasmin.http_url, adapter, timeout=10.0) as transport:
        sent, refused = transport.submit(
            [outbound("+905381234567", five, 1), outbound("+905391234567", six, 2)]
        )
    assert sent.ok, sent
    arrived = arrivals(smsc, before, 1)["+905381234567"]
    assert (arrived.text, len(arrived.parts)) == (five, 5)
    assert isinstance(refused.error, SubmitRejected)
    assert refused.error.code == "too-long"
    assert "needs 6 parts" in str(refused.error)
    assert len(smsc.messages()) == before + 1
