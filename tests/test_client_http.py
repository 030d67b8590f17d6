"""The Client over HTTP: sends via a local gateway; reports and texts come back by callback."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence

import attrs
import pytest

from _acme import ACME
from isobil import Client, Message, MessageState
from isobil.errors import ConfigurationError, InvalidValue
from isobil.model import ConsentStatus
from isobil.sms import Encoding
from isobil.storage import MemoryStorage
from isobil.testing.http_gateway import HttpGateway, WsgiServer
from isobil.transport import (
    DeliveryStatus,
    GenericJsonAdapter,
    HttpRequest,
    HttpTransport,
    JasminAdapter,
    OutboundSms,
)

SECRET = "client-http-secret-0123456789"  # noqa: S105 - a test secret
ON_THE_CUT = "a" * 152 + "€" + "b" * 20  # a € on septets 153-154, where Jasmin cuts


@pytest.fixture
def client(make_client: Callable[..., Client]) -> Iterator[tuple[Client, HttpGateway]]:
    """A Client (or AsyncClient) sending to a loopback gateway, its callbacks mounted."""
    with HttpGateway(secret=SECRET) as gateway:
        transport = HttpTransport(gateway.url, GenericJsonAdapter(), timeout=5.0)
        client = make_client(ACME, transport=transport, storage=MemoryStorage())
        with WsgiServer(client.callbacks(SECRET)) as server:
            gateway.callback_url = server.url + "/callbacks"
            yield client, gateway


def test_reports_reach_the_right_messages(client: tuple[Client, HttpGateway]) -> None:
    """Each signed delivery report callback settles the message it belongs to."""
    isobil_client, gateway = client
    notice = Message("Siparişiniz kargoya verildi.", category="informational")
    result = isobil_client.send(notice, to=["05321234567", "05331234567"])
    first, second = result.outcomes
    assert first.provider_id is not None
    assert second.provider_id is not None
    gateway.deliver(second.provider_id, DeliveryStatus.UNDELIVERED, "027")
    gateway.deliver(first.provider_id, DeliveryStatus.DELIVERED)
    assert first.message_id is not None
    assert second.message_id is not None
    assert isobil_client.message(first.message_id).state is MessageState.DELIVERED
    undelivered = isobil_client.message(second.message_id)
    assert (undelivered.state, undelivered.error_code) == (MessageState.UNDELIVERED, "027")


def test_inbound_ret_reaches_the_ledger(client: tuple[Client, HttpGateway]) -> None:
    """An "ACME RET" pushed by the gateway is an opt-out in the ledger, answered over HTTP."""
    isobil_client, gateway = client
    gateway.send_inbound("+905321234567", "4605", "ACME RET")
    assert isobil_client.consent.state("05321234567", brand="ACME") is ConsentStatus.RET
    assert gateway.received()[-1][0] == "+905321234567"
    assert "ret talebiniz alındı" in gateway.received()[-1][1]


def test_one_callback_of_many_reports_settles_them_all(
    client: tuple[Client, HttpGateway], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An array of reports in one push is applied in one go (the Client's handle_many)."""
    isobil_client, gateway = client
    numbers = ["05321234567", "05331234567", "05341234567"]
    result = isobil_client.send(Message("Kargonuz yolda.", category="informational"), to=numbers)
    bursts: list[int] = []
    apply_many = isobil_client.storage.apply_delivery_reports

    def recording(records: list[object]) -> object:
        bursts.append(len(records))
        return apply_many(records)  # type: ignore[arg-type]

    monkeypatch.setattr(isobil_client.storage, "apply_delivery_reports", recording)
    gateway.push(
        [
            {"type": "dlr", "provider_id": o.provider_id, "status": status, "code": code}
            for o, (status, code) in zip(
                result.outcomes,
                [("delivered", "000"), ("undelivered", "027"), ("delivered", "000")],
                strict=True,
            )
        ]
    )
    assert bursts == [3]
    states = [isobil_client.message(o.message_id or "").state for o in result.outcomes]
    assert states == [MessageState.DELIVERED, MessageState.UNDELIVERED, MessageState.DELIVERED]


def test_parts_are_planned_as_the_provider_sends_them() -> None:
    """Through Jasmin (no Turkish shift tables) the Client counts Turkish text as UCS-2."""
    jasmin = HttpTransport("http://127.0.0.1:1401", JasminAdapter(username="u", password="p"))  # noqa: S106
    text = "Sayın müşterimiz, siparişiniz yola çıktı."  # ş, ı: single shift, else UCS-2
    with Client(transport=jasmin, storage=MemoryStorage()) as through_jasmin:
        assert through_jasmin.national_shift is False
        assert through_jasmin.plan(text).encoding is Encoding.UCS2
        assert through_jasmin.plan(ON_THE_CUT).encoding is Encoding.UCS2  # Jasmin's own split
    with Client(storage=MemoryStorage()) as fake:
        assert fake.national_shift is True
        assert fake.plan(text).encoding is Encoding.GSM7_TR_SINGLE
        assert fake.plan(ON_THE_CUT).encoding is Encoding.GSM7
    with pytest.raises(ConfigurationError, match="cannot send the Turkish shift tables"):
        Client(transport=jasmin, storage=MemoryStorage(), national_shift=True)
    jasmin.close()


def test_a_failing_callback_does_not_make_the_provider_push_again(
    client: tuple[Client, HttpGateway], caplog: pytest.LogCaptureFixture
) -> None:
    """The report is recorded and answered 2xx; the callback's error is only logged."""
    isobil_client, gateway = client

    def failing(event: object) -> None:
        raise RuntimeError("a callback that fails")

    isobil_client.on_inbound(failing)
    result = isobil_client.send(
        Message("Kargonuz yolda.", category="informational"), to="05321234567"
    )
    [outcome] = result.outcomes
    with caplog.at_level(logging.ERROR, logger="isobil"):
        gateway.deliver(outcome.provider_id or "", DeliveryStatus.DELIVERED)  # asserts a 2xx
    assert isobil_client.message(outcome.message_id or "").state is MessageState.DELIVERED
    assert "an on_inbound callback failed on DeliveryReport" in caplog.text


def test_a_placeholder_key_is_refused_when_the_adapter_is_built() -> None:
    """A non-ASCII API key (a '…' left from the docs) is refused at construction with
    the setting named, not as a UnicodeEncodeError at the first send."""
    with pytest.raises(InvalidValue, match=r"api_key cannot go in an HTTP header: character 4"):
        GenericJsonAdapter(api_key="sk-…")
    with pytest.raises(InvalidValue, match=r"headers\['X-Token'\] cannot go in an HTTP header"):
        GenericJsonAdapter(headers={"X-Token": "ğ"})


def test_a_request_that_cannot_be_built_fails_its_messages_and_strands_none() -> None:
    """An adapter whose request httpx cannot encode: the messages are failed with a
    clear reason, none is left `submitting`, nothing reaches the provider."""

    class Broken(GenericJsonAdapter):
        def build_request(self, batch: Sequence[OutboundSms], key: str) -> HttpRequest:
            request = super().build_request(batch, key)
            return attrs.evolve(request, headers={**request.headers, "X-Note": "kargo ü"})

    with HttpGateway() as gateway:
        transport = HttpTransport(gateway.url, Broken(), max_retries=0)
        with Client(ACME, transport=transport, storage=MemoryStorage()) as client:
            notice = Message("Siparişiniz kargoya verildi.", category="informational")
            result = client.send(notice, to=["05321234567", "05331234567"])
            states = {client.message(o.message_id or "").state for o in result.outcomes}
        assert gateway.received() == []
    assert states == {MessageState.FAILED}
    assert "the request could not be built (UnicodeEncodeError)" in (result.failed[0].reason or "")
