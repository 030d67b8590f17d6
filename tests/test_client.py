"""Client.send end to end through the fake transport."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from _acme import ACME, IYS_NOT_WIRED
from isobil import (
    Brand,
    Client,
    ConfigurationError,
    ConnectionFailed,
    FakeTransport,
    InvalidValue,
    Message,
    MessageCategory,
    MessageState,
    OutcomeStatus,
    Recipient,
    RecipientType,
    Sender,
    TransportClosed,
    TransportTimeout,
)
from isobil.storage import MemoryStorage
from isobil.transport import OutboundSms

NOTICE = Message("Siparişiniz kargoya verildi.", category="informational")


def test_send_accounts_for_every_entry(isobil_client: Client, isobil_fake: FakeTransport) -> None:
    """Each entry of `to` gets exactly one outcome, in order; nothing is dropped."""
    to = [
        "0532 123 45 67",
        Recipient("+90 (533) 765-4321", name="Ayşe"),
        5421112233.0,
        "05321234567",
        "12345",
        "abc",
    ]
    result = isobil_client.send(NOTICE, to=to)
    assert [o.status for o in result.outcomes] == [
        OutcomeStatus.SUBMITTED,
        OutcomeStatus.SUBMITTED,
        OutcomeStatus.SUBMITTED,
        OutcomeStatus.DUPLICATE,
        OutcomeStatus.INVALID,
        OutcomeStatus.INVALID,
    ]
    assert [o.input for o in result.outcomes] == to
    assert [s.to for s in isobil_fake.sent] == ["+905321234567", "+905337654321", "+905421112233"]
    assert all(s.originator == "TEST" for s in isobil_fake.sent)
    assert result.credits == 3
    assert len(result.invalid) == 2
    assert "12345" in (result.invalid[0].reason or "")


def test_single_recipient_and_generator(isobil_client: Client, isobil_fake: FakeTransport) -> None:
    """A bare number is one recipient; a generator is consumed once."""
    isobil_client.send(NOTICE, to="05321234567")
    isobil_client.send(NOTICE, to=(n for n in ["05331234567", "05341234567"]))
    assert [s.to for s in isobil_fake.sent] == ["+905321234567", "+905331234567", "+905341234567"]


def test_plan_uses_client_settings() -> None:
    """The client's operator suffix and national shift settings reach the plan."""
    text = "ş" + "a" * 154  # 155 septets with single shift -> one part when suffix 0
    with Client(operator_suffix=0) as client:
        assert client.plan(text).parts == 1
    with Client(operator_suffix=5) as client:
        assert client.plan(text).parts == 2
    with Client(national_shift=False) as client:
        assert client.plan("ş").encoding.value == "ucs2"


def test_batches_respect_batch_size(make_client: Callable[..., Client]) -> None:
    """Messages go to the transport in batches of at most batch_size."""
    sizes: list[int] = []

    class Counting(FakeTransport):
        def submit(self, batch):  # type: ignore[no-untyped-def]
            sizes.append(len(batch))
            return super().submit(batch)

    with make_client(transport=Counting(), batch_size=2) as client:
        result = client.send(NOTICE, to=[f"053212345{i:02d}" for i in range(5)])
    assert sizes == [2, 2, 1]
    assert len(result.submitted) == 5
    with pytest.raises(InvalidValue, match="batch_size"):
        Client(batch_size=0)


def test_transport_failures_are_reported_per_message(
    isobil_client: Client, isobil_fake: FakeTransport
) -> None:
    """A rejected message is `failed`, a timed-out one `unknown`: both with the reason."""
    isobil_fake.fail_next(1)
    isobil_fake.fail_next(1, TransportTimeout("no submit_sm_resp within 10 s"))
    result = isobil_client.send(NOTICE, to=["05321234567", "05331234567", "05341234567"])
    assert [o.status for o in result.outcomes] == [
        OutcomeStatus.FAILED,
        OutcomeStatus.UNKNOWN,
        OutcomeStatus.SUBMITTED,
    ]
    assert result.unknown[0].reason == "no submit_sm_resp within 10 s"
    assert result.credits == 1
    first = result.outcomes[0].message_id
    assert first is not None
    assert isobil_client.message(first).state is MessageState.FAILED


def test_transport_down_fails_the_batch_not_silently(
    caplog: pytest.LogCaptureFixture, make_client: Callable[..., Client]
) -> None:
    """When the transport raises for a whole batch, every message in it is `failed`."""

    class Down(FakeTransport):
        def submit(self, batch):  # type: ignore[no-untyped-def]
            raise ConnectionFailed("bind failed: ESME_RBINDFAIL")

    with caplog.at_level(logging.WARNING, logger="isobil"), make_client(transport=Down()) as client:
        result = client.send(NOTICE, to=["05321234567", "05331234567"])
    assert [o.status for o in result.outcomes] == [OutcomeStatus.FAILED] * 2
    assert result.failed[0].reason == "bind failed: ESME_RBINDFAIL"
    assert "transport failed for a batch of 2" in caplog.text


def test_delivery_reports_update_state_once(
    isobil_client: Client, isobil_fake: FakeTransport
) -> None:
    """A final report sets the state; a late contradicting report changes nothing."""
    result = isobil_client.send(NOTICE, to=["05321234567"])
    [outcome] = result.submitted
    assert outcome.message_id is not None
    assert isobil_client.message(outcome.message_id).state is MessageState.SUBMITTED
    isobil_fake.deliver(isobil_fake.sent[0].message_id, "undelivered", error_code="027")
    isobil_fake.deliver(isobil_fake.sent[0].message_id, "delivered")
    record = isobil_client.message(outcome.message_id)
    assert (record.state, record.error_code) == (MessageState.UNDELIVERED, "027")


def test_pending_report_keeps_state(isobil_client: Client, isobil_fake: FakeTransport) -> None:
    """An intermediate (pending) report does not end the message."""
    result = isobil_client.send(NOTICE, to=["05321234567"])
    isobil_fake.deliver(isobil_fake.sent[0].message_id, "pending")
    message_id = result.outcomes[0].message_id
    assert message_id is not None
    assert isobil_client.message(message_id).state is MessageState.SUBMITTED


def test_inbound_callbacks_see_every_event(
    isobil_client: Client, isobil_fake: FakeTransport
) -> None:
    """User callbacks receive reports and inbound messages after isobil has applied them."""
    seen: list[object] = []
    isobil_client.on_inbound(seen.append)
    isobil_fake.receive("0532 123 45 67", "4605", "ACME RET")
    assert len(seen) == 1


def test_unknown_message_id(isobil_client: Client) -> None:
    """Asking for a message this client never sent is a clear error."""
    with pytest.raises(InvalidValue, match="no message with id 'nope'"):
        isobil_client.message("nope")


def test_close_closes_transport_and_detaches(make_client: Callable[..., Client]) -> None:
    """Closing the client closes its transport; closing twice is harmless."""
    fake = FakeTransport()
    client = make_client(Sender(name="Acme"), transport=fake)
    client.close()
    client.close()
    with pytest.raises(ConfigurationError, match="this Client is closed"):
        client.send(NOTICE, to=["05321234567"])
    with pytest.raises(TransportClosed):
        fake.submit([])


def test_repr_hides_numbers(isobil_client: Client) -> None:
    """Outcomes and results never show a full phone number."""
    result = isobil_client.send(NOTICE, to=["05321234567"])
    assert "1234567" not in repr(result)
    assert "1234567" not in repr(result.outcomes[0])
    assert repr(result) == "<SendResult submitted=1 credits=1>"


def test_report_arriving_before_submit_returns_is_not_lost(
    make_client: Callable[..., Client],
) -> None:
    """A fast SMSC can report delivery before submit() returns; the report still applies."""

    class Eager(FakeTransport):
        def submit(self, batch):  # type: ignore[no-untyped-def]
            results = super().submit(batch)
            for result in results:
                self.deliver(result.provider_id, "delivered")
            return results

    with make_client(transport=Eager()) as client:
        result = client.send(NOTICE, to=["05321234567"])
        message_id = result.outcomes[0].message_id
        assert message_id is not None
        assert client.message(message_id).state is MessageState.DELIVERED


def test_the_transport_is_told_category_brand_iys_code_and_recipient_type(
    make_client: Callable[..., Client],
) -> None:
    """Each message reaches the transport with its category, brand, the brand's İYS
    code, the recipient's type from the address book (BIREYSEL when not in it) and
    the client's validity."""
    sender = Sender(
        name="Acme Ticaret A.Ş.",
        mersis="0123456789012345",
        contact="0850 123 45 67",
        brands=[Brand("ACME", iys_code="654321")],
        short_number="4605",
    )
    fake = FakeTransport()
    with make_client(
        sender, transport=fake, storage=MemoryStorage(), validity=timedelta(hours=6)
    ) as client:
        client.contacts.add("05331234567", recipient_type="TACIR")
        for number, kind in (("05321234567", "BIREYSEL"), ("05331234567", "TACIR")):
            client.consent.record(
                number, "ONAY", source="HS_ISLAK_IMZA", brand="ACME", recipient_type=kind
            )
        offer = Message(
            "KAMPANYA: Tüm ürünlerde %20 indirim! acme.com.tr/kampanya "
            "Ret için ACME RET yazıp 4605'e gönderin.",
            brand="ACME",
        )
        client.send(offer, to=["05321234567", "05331234567"], acknowledge=IYS_NOT_WIRED)
        client.send(Message("Kargonuz yolda.", category="informational"), to="05341234567")
    told = [sent.outbound for sent in fake.sent]
    assert [(o.category, o.recipient_type, o.brand, o.iys_code) for o in told if o] == [
        (MessageCategory.COMMERCIAL, RecipientType.BIREYSEL, "ACME", "654321"),
        (MessageCategory.COMMERCIAL, RecipientType.TACIR, "ACME", "654321"),
        (MessageCategory.INFORMATIONAL, RecipientType.BIREYSEL, "ACME", "654321"),
    ]
    assert {o.validity for o in told if o} == {timedelta(hours=6)}
    assert [o.commercial for o in told if o] == [True, True, False]
    # Built without the class's converters: equal to what the class builds (its
    # defaults included) from the same values.
    assert [o for o in told if o] == [
        OutboundSms(
            o.id,
            o.to,
            o.plan,
            o.originator,
            category=o.category.value if o.category else None,
            brand=o.brand,
            iys_code=o.iys_code,
            recipient_type=o.recipient_type.value,
            validity=o.validity,
        )
        for o in told
        if o
    ]


STRANGER = "+905559998877"


class _Leaky(MemoryStorage):
    """A storage backend of someone else's that answers more than it was asked: a
    number not in the question among the contacts and a campaign's recipients."""

    def get_contacts(self, numbers: Any) -> dict[str, Recipient]:
        return {**super().get_contacts(numbers), STRANGER: Recipient(STRANGER, name="Stranger")}

    def campaign_recipients(self, campaign_id: str, numbers: Any) -> set[str]:
        return super().campaign_recipients(campaign_id, numbers) | {STRANGER}


def test_a_number_storage_was_not_asked_about_is_neither_sent_to_nor_checked(
    make_client: Callable[..., Client],
) -> None:
    """Only the numbers given are checked and sent to, whatever the backend answers
    (three numbers in batches of two: the second batch asks which the first holds)."""
    fake = FakeTransport()
    to = ["05321112233", "05321112244", "05321112255"]
    with make_client(ACME, transport=fake, storage=_Leaky(), batch_size=2) as client:
        report = client.check(NOTICE, to=to)
        result = client.send(NOTICE, to=to)
    given = ["+905321112233", "+905321112244", "+905321112255"]
    assert list(report.allowed) == given
    assert [(o.number, o.status) for o in result.outcomes] == [
        (number, OutcomeStatus.SUBMITTED) for number in given
    ]
    assert [s.to for s in fake.sent] == given


@pytest.mark.parametrize("size", [0, -5, None, 2.5, True])
def test_a_storage_s_lookup_size_must_be_a_positive_int(size: object) -> None:
    """A backend's lookup_size that is no positive int is named, not turned into pieces of
    one number or a TypeError deep inside the check."""

    class Odd(MemoryStorage):
        lookup_size = size  # type: ignore[assignment]

    client = Client(ACME, transport=FakeTransport(), storage=Odd())
    with client, pytest.raises(ConfigurationError, match=r"Odd.lookup_size must be a positive"):
        client.check(NOTICE, to=["05321112233"])


def test_poll_asks_for_inbound_texts_since_the_last_poll_in_elapsed_time() -> None:
    """The next poll asks for inbound texts (opt-outs among them) from five minutes
    before the last one began, counted in elapsed time whatever zone ``now`` is in: just
    after the clocks go forward, wall-clock arithmetic would skip 55 minutes of them."""

    class Polling(FakeTransport):
        polls = True

        def __init__(self) -> None:
            super().__init__()
            self.since: list[datetime] = []

        def poll(self, pending: Sequence[Any], since: datetime) -> int:
            self.since.append(since)
            return 0

    transport = Polling()
    with Client(ACME, transport=transport, storage=MemoryStorage()) as client:
        berlin = ZoneInfo("Europe/Berlin")
        client.poll(now=datetime(2024, 3, 31, 3, 2, tzinfo=berlin))  # 01:02 UTC
        client.poll(now=datetime(2024, 3, 31, 1, 30, tzinfo=UTC))
        assert transport.since[-1] == datetime(2024, 3, 31, 0, 57, tzinfo=UTC)
        with pytest.raises(InvalidValue, match="now must be a timezone-aware"):
            client.poll(now=datetime(2024, 3, 31, 1, 30))


def test_dispatch_refuses_a_naive_now() -> None:
    """``dispatch(now=...)`` names a moment: without a zone it is refused, not guessed."""
    with (
        Client(ACME, transport=FakeTransport(), storage=MemoryStorage()) as client,
        pytest.raises(InvalidValue, match="now must be a timezone-aware"),
    ):
        client.dispatch(now=datetime(2024, 3, 31, 1, 30))
