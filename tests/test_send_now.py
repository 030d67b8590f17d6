"""``Client.send_now``: one recipient, sent at once, recorded and checked like ``send``.

The shared tests run on :class:`isobil.Client` and on :class:`isobil.AsyncClient`
(``make_client``), each on memory and on a SQLite file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _acme import ACME, IYS_NOT_WIRED
from isobil import (
    Brand,
    Client,
    ComplianceError,
    FakeTransport,
    InsufficientCredits,
    InvalidValue,
    Message,
    MessageState,
    OutcomeStatus,
    Recipient,
    Sender,
)
from isobil.storage import (
    CampaignStatus,
    MemoryStorage,
    OutboundMessage,
    SQLStorage,
    Storage,
)
from isobil.transport import DeliveryStatus, OutboundSms, SubmitResult

NOTICE = Message("Siparişiniz kargoya verildi.", category="informational")
OFFER = Message(
    "KAMPANYA: Tüm ürünlerde %20 indirim! acme.com.tr/kampanya "
    "Ret için ACME RET yazıp 4605'e gönderin.",
    brand="ACME",
)
NUMBER = "+905321234567"
EVIDENCE = {"form": "f-1", "ip": "203.0.113.7"}
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    store: Storage = (
        MemoryStorage() if request.param == "memory" else SQLStorage(tmp_path / "isobil.db")
    )
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def fake() -> FakeTransport:
    return FakeTransport()


@pytest.fixture
def client(make_client: Callable[..., Any], fake: FakeTransport, storage: Storage) -> Any:
    return make_client(ACME, transport=fake, storage=storage)


# -- what it does -------------------------------------------------------------------------


def test_one_recipient_is_submitted_and_recorded(
    client: Any, fake: FakeTransport, storage: Storage
) -> None:
    """The outcome is the message's: submitted with the transport's id; storage holds a
    finished campaign of that one message, submitted; the number is normalised."""
    outcome = client.send_now(NOTICE, to="0532 123 45 67")
    assert outcome.status is OutcomeStatus.SUBMITTED
    assert outcome.input == "0532 123 45 67"
    assert outcome.number == NUMBER
    assert outcome.plan is not None
    assert outcome.plan.parts == 1
    [sent] = fake.sent
    assert (sent.id, sent.to, sent.text) == (outcome.message_id, NUMBER, NOTICE.text)
    stored = client.message(outcome.message_id)
    assert stored.state is MessageState.SUBMITTED
    assert stored.provider_id == outcome.provider_id == sent.message_id
    assert (stored.to, stored.text, stored.parts) == (NUMBER, NOTICE.text, 1)
    campaign = storage.get_campaign(stored.campaign_id)
    assert campaign is not None
    assert campaign.status is CampaignStatus.DONE
    assert (campaign.text, campaign.category, campaign.brand) == (
        NOTICE.text,
        "informational",
        "ACME",
    )
    assert [m.id for m in storage.iter_messages(campaign.id)] == [outcome.message_id]


def test_a_recipient_object_keeps_its_type(client: Any, fake: FakeTransport) -> None:
    """A Recipient given is sent as what it says it is (TACIR here), as send does."""
    outcome = client.send_now(NOTICE, to=Recipient(NUMBER, recipient_type="TACIR"))
    assert outcome.status is OutcomeStatus.SUBMITTED
    assert [s.outbound.recipient_type.value for s in fake.sent if s.outbound] == ["TACIR"]


def test_an_invalid_number_is_an_outcome_and_stores_nothing(
    client: Any, fake: FakeTransport, storage: Storage
) -> None:
    outcome = client.send_now(NOTICE, to="12345")
    assert outcome.status is OutcomeStatus.INVALID
    assert outcome.number is None
    assert outcome.message_id is None
    assert "12345" in (outcome.reason or "")
    assert fake.sent == []
    assert storage.list_campaigns() == []


def test_several_recipients_are_refused_naming_send(client: Any) -> None:
    with pytest.raises(InvalidValue, match=r"one recipient .* got list; use send\(\)"):
        client.send_now(NOTICE, to=[NUMBER, "+905331234567"])


def test_blocked_like_send_stored_and_not_sent(
    client: Any, fake: FakeTransport, storage: Storage
) -> None:
    """A commercial message to a number without consent is blocked with the rule send
    names; the message is stored blocked (the compliance record) and never leaves."""
    expected = client.send(OFFER, to=["05331234567"], acknowledge=IYS_NOT_WIRED).outcomes[0]
    outcome = client.send_now(OFFER, to=NUMBER, acknowledge=IYS_NOT_WIRED)
    assert outcome.status is OutcomeStatus.BLOCKED is expected.status
    assert outcome.rule_ids == expected.rule_ids
    assert "TR-CONSENT-001" in outcome.rule_ids
    assert fake.sent == []
    stored = client.message(outcome.message_id)
    assert stored.state is MessageState.BLOCKED
    assert stored.reason == outcome.reason
    assert "TR-CONSENT-001" in (stored.reason or "")


def test_blacklisted_number_is_blocked(client: Any, fake: FakeTransport) -> None:
    client.blacklist.add(NUMBER, reason="asked by phone")
    outcome = client.send_now(NOTICE, to=NUMBER)
    assert outcome.status is OutcomeStatus.BLOCKED
    assert fake.sent == []


def test_consent_lets_a_commercial_message_through(client: Any, fake: FakeTransport) -> None:
    client.consent.record(NUMBER, "ONAY", source="HS_ISLAK_IMZA", brand="ACME", evidence=EVIDENCE)
    outcome = client.send_now(OFFER, to=NUMBER, acknowledge=IYS_NOT_WIRED)
    assert outcome.status is OutcomeStatus.SUBMITTED
    [sent] = fake.sent
    assert sent.outbound is not None
    assert (sent.outbound.category.value, sent.outbound.brand) == ("commercial", "ACME")


def test_a_message_level_error_raises_like_send(
    make_client: Callable[..., Any], fake: FakeTransport, storage: Storage
) -> None:
    """A commercial message from a sender without identity is refused whole, with the
    same rules as send; nothing is stored or sent."""
    anonymous = make_client(Sender(name="Acme"), transport=fake, storage=storage)
    with pytest.raises(ComplianceError) as from_send:
        anonymous.send(OFFER, to=[NUMBER])
    with pytest.raises(ComplianceError) as from_send_now:
        anonymous.send_now(OFFER, to=NUMBER)
    assert [f.rule_id for f in from_send_now.value.report.errors] == [
        f.rule_id for f in from_send.value.report.errors
    ]
    assert fake.sent == []
    assert storage.list_campaigns() == []


def test_receipts_settle_it(client: Any, fake: FakeTransport) -> None:
    """Delivery reports reach a send_now message as they reach a campaign's."""
    delivered = client.send_now(NOTICE, to=NUMBER)
    undelivered = client.send_now(NOTICE, to="+905331234567")
    fake.deliver(delivered.provider_id)
    fake.deliver(undelivered.provider_id, DeliveryStatus.UNDELIVERED, "1")
    assert client.message(delivered.message_id).state is MessageState.DELIVERED
    assert client.message(undelivered.message_id).state is MessageState.UNDELIVERED


def test_a_refusal_fails_it_and_gives_the_credits_back(
    make_client: Callable[..., Any], fake: FakeTransport, storage: Storage
) -> None:
    """Prepaid: credits are reserved; a refused submit is failed and released."""
    client = make_client(ACME, transport=fake, storage=storage, prepaid=True)
    client.credits.top_up(10)
    assert client.send_now(NOTICE, to=NUMBER).status is OutcomeStatus.SUBMITTED
    assert client.credits.balance() == 9
    fake.fail_next()
    failed = client.send_now(NOTICE, to="+905331234567")
    assert failed.status is OutcomeStatus.FAILED
    assert failed.reason == "rejected by FakeTransport"
    assert client.message(failed.message_id).state is MessageState.FAILED
    assert client.credits.balance() == 9


def test_without_the_credits_nothing_is_stored(
    make_client: Callable[..., Any], fake: FakeTransport, storage: Storage
) -> None:
    client = make_client(ACME, transport=fake, storage=storage, prepaid=True)
    with pytest.raises(InsufficientCredits):
        client.send_now(NOTICE, to=NUMBER)
    assert fake.sent == []
    assert storage.list_campaigns() == []


def test_a_dispatcher_has_nothing_to_do_after_it(client: Any, storage: Storage) -> None:
    client.send_now(NOTICE, to=NUMBER)
    report = client.dispatch()
    assert report.handled == 0
    [campaign] = storage.list_campaigns()
    assert campaign.status is CampaignStatus.DONE


def test_the_brand_originator_goes_out(
    make_client: Callable[..., Any], fake: FakeTransport, storage: Storage
) -> None:
    """A message of a brand with its own originator goes out under it; another brand's
    falls back to the sender's originator."""
    sender = Sender(
        name="Acme Ticaret A.Ş.",
        mersis="0123456789012345",
        contact="0850 123 45 67",
        originator="ACME",
        brands=[Brand("ACME"), Brand("BANK", originator="ACMEBANK")],
        short_number="4605",
    )
    client = make_client(sender, transport=fake, storage=storage)
    client.send_now(Message(NOTICE.text, category="informational", brand="BANK"), to=NUMBER)
    client.send_now(Message(NOTICE.text, category="informational", brand="ACME"), to=NUMBER)
    assert [s.originator for s in fake.sent] == ["ACMEBANK", "ACME"]
    assert sorted(str(c.originator) for c in storage.list_campaigns()) == ["ACME", "ACMEBANK"]


# -- how: stored before it leaves, in few transactions --------------------------------------


class _Watching(FakeTransport):
    """A FakeTransport that records how storage holds each message as it leaves."""

    def __init__(self, storage: Storage) -> None:
        super().__init__()
        self.storage = storage
        self.seen: list[OutboundMessage | None] = []

    def submit(self, batch: Sequence[OutboundSms]) -> list[SubmitResult]:
        self.seen += [self.storage.get_message(sms.id) for sms in batch]
        return super().submit(batch)


def test_it_is_stored_submitting_and_leased_before_it_leaves(storage: Storage) -> None:
    """The message is in storage before the transport sees it, ``submitting`` under this
    client's lease: a client that dies mid-submit leaves it to become ``unknown``."""
    transport = _Watching(storage)
    with Client(ACME, transport=transport, storage=storage) as client:
        outcome = client.send_now(NOTICE, to=NUMBER)
        [seen] = transport.seen
        assert seen is not None
        assert seen.id == outcome.message_id
        assert seen.state is MessageState.SUBMITTING
        assert seen.claimed_by == client.worker_id
        assert seen.lease_until is not None


SECRET_TEXT = "Geçici şifreniz: 7Kp2x9. Kimseyle paylaşmayın; 7Kp2x9 10 dakika geçerlidir."  # noqa: S105 - a test text
MASKED_TEXT = "Geçici şifreniz: ******. Kimseyle paylaşmayın; ****** 10 dakika geçerlidir."


def test_a_concealed_secret_is_stored_masked_and_sent_as_written(storage: Storage) -> None:
    """``conceal``: storage holds the message and its campaign with every occurrence of
    the secret masked before the transport sees the message; the transport is handed
    the text as written."""
    transport = _Watching(storage)
    with Client(ACME, transport=transport, storage=storage) as client:
        message = Message(SECRET_TEXT, category="informational")
        outcome = client.send_now(message, to=NUMBER, conceal="7Kp2x9")
        assert outcome.status is OutcomeStatus.SUBMITTED
        [seen] = transport.seen
        assert seen is not None
        assert seen.text == MASKED_TEXT
        assert [sent.text for sent in transport.sent] == [SECRET_TEXT]
        stored = client.message(outcome.message_id)
        assert stored.text == MASKED_TEXT
        campaign = storage.get_campaign(stored.campaign_id)
        assert campaign is not None
        assert campaign.text == MASKED_TEXT


def test_a_secret_filled_in_from_a_field_is_masked(
    client: Any, fake: FakeTransport, storage: Storage
) -> None:
    """The secret may come from the recipient's fields: the stored message is masked,
    the campaign keeps its template."""
    template = Message("Kodunuz: {kod}", category="informational")
    to = Recipient(NUMBER, fields={"kod": "482915"})
    outcome = client.send_now(template, to=to, conceal="482915")
    assert [sent.text for sent in fake.sent] == ["Kodunuz: 482915"]
    stored = client.message(outcome.message_id)
    assert stored.text == "Kodunuz: ******"
    campaign = storage.get_campaign(stored.campaign_id)
    assert campaign is not None
    assert campaign.text == "Kodunuz: {kod}"


def test_a_blocked_message_is_stored_masked(
    client: Any, fake: FakeTransport, storage: Storage
) -> None:
    client.blacklist.add(NUMBER, reason="asked by phone")
    message = Message(SECRET_TEXT, category="informational")
    outcome = client.send_now(message, to=NUMBER, conceal="7Kp2x9")
    assert outcome.status is OutcomeStatus.BLOCKED
    assert fake.sent == []
    stored = client.message(outcome.message_id)
    assert stored.text == MASKED_TEXT
    campaign = storage.get_campaign(stored.campaign_id)
    assert campaign is not None
    assert campaign.text == MASKED_TEXT


def test_overlapping_occurrences_are_masked_whole(client: Any, fake: FakeTransport) -> None:
    outcome = client.send_now(
        Message("PIN: 1111, tekrar: 111", category="informational"), to=NUMBER, conceal="11"
    )
    assert [sent.text for sent in fake.sent] == ["PIN: 1111, tekrar: 111"]
    assert client.message(outcome.message_id).text == "PIN: ****, tekrar: ***"


@pytest.mark.parametrize("conceal", ["", 7])
def test_a_secret_that_is_no_text_is_refused(
    client: Any, fake: FakeTransport, storage: Storage, conceal: Any
) -> None:
    message = Message(SECRET_TEXT, category="informational")
    with pytest.raises(InvalidValue, match="conceal must be a non-empty string"):
        client.send_now(message, to=NUMBER, conceal=conceal)
    assert fake.sent == []
    assert storage.list_campaigns() == []


def test_a_secret_the_text_lacks_is_refused_before_anything_is_stored(
    client: Any, fake: FakeTransport, storage: Storage
) -> None:
    """The error does not repeat the secret; nothing is stored or sent."""
    message = Message(SECRET_TEXT, category="informational")
    with pytest.raises(InvalidValue, match="does not contain the secret") as caught:
        client.send_now(message, to=NUMBER, conceal="7Kp2x8")
    assert "7Kp2x8" not in str(caught.value)
    assert fake.sent == []
    assert storage.list_campaigns() == []


class _Counting(MemoryStorage):
    """A MemoryStorage that counts the client's calls that write (not the calls one
    storage method makes to another)."""

    WRITES = (
        "create_campaign",
        "create_campaign_with_messages",
        "add_messages",
        "transition",
        "settle",
        "set_campaign_status",
        "set_state",
        "append_credit",
    )

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []
        self.counting = False
        self._depth = 0

    def __getattribute__(self, name: str) -> Any:
        found = super().__getattribute__(name)
        if name not in _Counting.WRITES:
            return found

        def counted(*args: Any, **kwargs: Any) -> Any:
            if self.counting and not self._depth:
                self.writes.append(name)
            self._depth += 1
            try:
                return found(*args, **kwargs)
            finally:
                self._depth -= 1

        return counted


def test_two_writes_store_and_settle_it() -> None:
    """Storing (campaign and message together) and settling: two writing calls, where
    ``send`` of one recipient makes more."""
    storage = _Counting()
    with Client(ACME, transport=FakeTransport(), storage=storage) as client:
        storage.counting = True
        client.send_now(NOTICE, to=NUMBER)
        assert storage.writes == ["create_campaign_with_messages", "settle"]
        storage.writes.clear()
        client.send(NOTICE, to=[NUMBER])
        assert len(storage.writes) > 2


# -- the same verdict as send, whatever the recipient's standing ----------------------------


@settings(max_examples=60, deadline=None)
@given(
    consent=st.sampled_from([None, "ONAY", "RET"]),
    blacklisted=st.booleans(),
    commercial=st.booleans(),
    tacir=st.booleans(),
)
def test_send_now_and_send_agree(
    consent: str | None, blacklisted: bool, commercial: bool, tacir: bool
) -> None:
    """For any consent, blacklist and recipient type, send_now gives the outcome
    ``send`` gives the same recipient: status, rule ids and reason."""
    message = OFFER if commercial else NOTICE
    outcomes = []
    for use_send_now in (False, True):
        with Client(ACME, transport=FakeTransport(), storage=MemoryStorage()) as client:
            client.contacts.add(NUMBER, recipient_type="TACIR" if tacir else "BIREYSEL")
            if consent is not None:
                client.consent.record(
                    NUMBER, consent, source="HS_ISLAK_IMZA", brand="ACME", evidence=EVIDENCE
                )
            if blacklisted:
                client.blacklist.add(NUMBER, reason="asked by phone")
            if use_send_now:
                outcome = client.send_now(message, to=NUMBER, acknowledge=IYS_NOT_WIRED)
            else:
                [outcome] = client.send(message, to=[NUMBER], acknowledge=IYS_NOT_WIRED).outcomes
            stored = None if outcome.message_id is None else client.message(outcome.message_id)
            outcomes.append(
                (
                    outcome.status,
                    outcome.rule_ids,
                    outcome.reason,
                    None if stored is None else stored.state,
                )
            )
    assert outcomes[0] == outcomes[1]
