"""One contract suite for every provider adapter, run against its simulator.

Mix :class:`ProviderContract` into a test class and give it a ``provider``
fixture that yields a :class:`ProviderCase`::

    class TestNetgsmContract(ProviderContract):
        @pytest.fixture
        def provider(self) -> Iterator[ProviderCase]:
            with NetgsmSimulator() as simulator:
                yield ProviderCase(simulator, NetgsmAdapter(...), errors={...}, ...)

Each test builds a :class:`~isobil.Client` (prepaid, in memory) on an
:class:`~isobil.transport.HttpTransport` to the simulator; reports and inbound
texts come back through a :class:`~isobil.transport.CallbackApp` on loopback
(token in the path) for providers that push, or through :meth:`Client.poll`
for providers that are polled. What the suite checks is what issue 13 asks of
every provider: the İYS flag and recipient type of each category, reports that
settle the right message and refund it, an opt-out by SMS in the ledger, every
documented error code mapped with nothing lost or sent twice, a 429 or a lost
answer retried without a duplicate (or left ``unknown``), the parts billed equal
to the parts counted, and no credential in anything shown.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from isobil.client import Client, OutcomeStatus, RecipientOutcome
from isobil.errors import ComplianceError, TransportError, TransportTimeout
from isobil.model import Brand, ConsentStatus, Message, RecipientType, Sender
from isobil.sms import plan as plan_text
from isobil.storage import MemoryStorage, MessageState
from isobil.testing.http_gateway import WsgiServer
from isobil.testing.providers._base import ProviderSimulator, SimulatedSms
from isobil.transport import (
    CallbackApp,
    DeliveryStatus,
    HttpAdapter,
    HttpTransport,
    OutboundSms,
)

__all__ = ["CONTRACT_SENDER", "TURKISH_TEXT", "ProviderCase", "ProviderContract"]

#: The sender of the contract suite: brand ACME with its İYS code, originator ACME.
CONTRACT_SENDER = Sender(
    name="Acme Ticaret A.Ş.",
    mersis="0123456789012345",
    contact="0850 123 45 67",
    originator="ACME",
    brands=[Brand("ACME", iys_code="654321")],
    short_number="4605",
)
#: The callback token (first path segment) of providers that push.
CALLBACK_TOKEN = "contract-callback-token-0123456789"  # noqa: S105 - a test secret

_COMMERCIAL = Message(
    "KAMPANYA: Tüm ürünlerde %20 indirim! acme.com.tr/kampanya "
    "Ret için ACME RET yazıp 4605'e gönderin.",
    brand="ACME",
)
#: Consent recorded here is not yet registered in İYS and İYS is not pulled (the
#: provider checks İYS itself).
_UNSYNCED = ["TR-CONSENT-003", "TR-CONSENT-006"]
_NOTICE = Message("Siparişiniz kargoya verildi.", category="informational", brand="ACME")

#: Texts a Turkish sender writes: Turkish letters, GSM escapes (€ [ ] …), digits,
#: punctuation, the occasional emoji — the whole range the planners must agree on.
#: (No "%": the rules read a percentage in an informational text as a promotion.)
TURKISH_TEXT = st.text(
    alphabet=st.sampled_from(
        list("abcçdefgğhıijklmnoöprsştuüvyzABCÇDEFGĞHIİJKLMNOÖPRSŞTUÜVYZ0123456789")
        + list(" .,:;!?-+/()'\"@&*#=\n")
        + list("€[]{}^~|\\")
        + list("âîûéñ")
        + ["😀", "✓"]
    ),
    min_size=1,
    max_size=700,
).filter(lambda text: bool(text.strip()))


@dataclass
class ProviderCase:
    """What the contract suite needs to know of one provider.

    ``errors`` maps every documented error code of a send to the isobil error it
    must become (hard-coded by the provider's test module, from the provider's
    documents); ``auth_error`` is the code of a refused login; ``secrets`` are the
    credentials that must never be shown.
    """

    simulator: ProviderSimulator
    adapter: HttpAdapter
    errors: Mapping[str, type[TransportError]]
    auth_error: str
    secrets: Sequence[str] = field(default_factory=tuple)
    #: Whether the provider hands inbound texts (MO) to an API client at all.
    inbound: bool = True


@dataclass
class _World:
    client: Client
    transport: HttpTransport
    simulator: ProviderSimulator
    adapter: HttpAdapter

    def settle_events(self) -> None:
        """Pull what a polled provider holds; pushes have arrived already."""
        if self.adapter.polls:
            self.client.poll()

    def received_by(self, number: str) -> list[SimulatedSms]:
        return [sms for sms in self.simulator.received if sms.to == number]


class ProviderContract:
    """The tests every provider adapter passes against its simulator."""

    _numbers = itertools.count(1)

    @pytest.fixture
    def world(self, provider: ProviderCase) -> Iterator[_World]:
        simulator, adapter = provider.simulator, provider.adapter
        transport = HttpTransport(
            simulator.url, adapter, timeout=3.0, max_retries=2, sleep=lambda seconds: None
        )
        client = Client(CONTRACT_SENDER, transport=transport, storage=MemoryStorage(), prepaid=True)
        client.credits.top_up(1_000_000)
        server = None
        try:
            if not adapter.polls:
                server = WsgiServer(CallbackApp(transport, secret=CALLBACK_TOKEN, auth="token"))
                simulator.callback_url = f"{server.url}/{CALLBACK_TOKEN}"
            yield _World(client, transport, simulator, adapter)
        finally:
            simulator.release.set()
            client.close()
            if server is not None:
                server.close()

    def _number(self) -> str:
        return f"+90532{next(self._numbers):07d}"

    def _consenting(self, world: _World, recipient_type: RecipientType) -> str:
        number = self._number()
        world.client.contacts.add(number, recipient_type=recipient_type)
        world.client.consent.record(
            number,
            "ONAY",
            source="HS_ISLAK_IMZA",
            brand="ACME",
            recipient_type=recipient_type,
            evidence={"name": "Ayşe Yılmaz", "statement": "SMS almak istiyorum", "document": "d1"},
        )
        return number

    # -- what arrives ---------------------------------------------------------------------

    def test_commercial_campaign_arrives_commercial_with_the_recipient_type(
        self, world: _World
    ) -> None:
        """A commercial message is flagged commercial at the provider, with BIREYSEL or
        TACIR from the address book; our message id is the custom id where one is sent."""
        person = self._consenting(world, RecipientType.BIREYSEL)
        merchant = self._consenting(world, RecipientType.TACIR)
        result = world.client.send(_COMMERCIAL, to=[person, merchant], acknowledge=_UNSYNCED)
        assert [o.status for o in result.outcomes] == [OutcomeStatus.SUBMITTED] * 2
        [to_person] = world.received_by(person)
        [to_merchant] = world.received_by(merchant)
        assert (to_person.commercial, to_person.recipient_type) == (True, "BIREYSEL")
        assert (to_merchant.commercial, to_merchant.recipient_type) == (True, "TACIR")
        assert to_person.originator == "ACME"
        for outcome, sms in zip(result.outcomes, (to_person, to_merchant), strict=True):
            assert sms.custom_id in (None, outcome.message_id)
            assert sms.text == world.client.message(str(outcome.message_id)).text

    def test_informational_campaign_arrives_informational(self, world: _World) -> None:
        """An informational message is not flagged commercial, whoever receives it."""
        numbers = [self._number(), self._number()]
        world.client.contacts.add(numbers[1], recipient_type=RecipientType.TACIR)
        result = world.client.send(_NOTICE, to=numbers)
        assert [o.status for o in result.outcomes] == [OutcomeStatus.SUBMITTED] * 2
        for number in numbers:
            [sms] = world.received_by(number)
            assert sms.commercial is False
            assert sms.text == _NOTICE.text

    # -- what comes back ------------------------------------------------------------------

    def test_delivery_reports_settle_the_right_messages_and_refund(self, world: _World) -> None:
        """Delivered and undelivered reports reach their own messages; the undelivered
        one keeps the provider's reason and its credits come back."""
        numbers = [self._number(), self._number()]
        before = world.client.credits.balance()
        result = world.client.send(_NOTICE, to=numbers)
        delivered, undelivered = result.outcomes
        [first] = world.received_by(numbers[0])
        [second] = world.received_by(numbers[1])
        world.simulator.deliver(second.provider_id, DeliveryStatus.UNDELIVERED)
        world.simulator.deliver(first.provider_id, DeliveryStatus.DELIVERED)
        world.settle_events()
        kept = world.client.message(str(delivered.message_id))
        lost = world.client.message(str(undelivered.message_id))
        assert kept.state is MessageState.DELIVERED
        assert lost.state is MessageState.UNDELIVERED
        assert lost.error_code
        assert world.client.credits.balance() == before - _parts(delivered)

    def test_inbound_opt_out_reaches_the_ledger_once(
        self, world: _World, provider: ProviderCase
    ) -> None:
        """An "ACME RET" texted to the short number is a RET in the ledger, answered
        with the auto reply through the provider; seen twice, it counts once. (A
        provider without inbound texts has a simulator that will not pretend to.)"""
        number = self._consenting(world, RecipientType.BIREYSEL)
        if not provider.inbound:
            with pytest.raises(NotImplementedError):
                world.simulator.send_inbound(number, "4605", "ACME RET")
            return
        world.simulator.send_inbound(number, "4605", "ACME RET")
        world.settle_events()
        world.settle_events()  # a polled inbox asked again must not repeat it
        assert world.client.consent.state(number, brand="ACME") is ConsentStatus.RET
        assert len(list(world.client.storage.iter_inbound())) == 1
        [reply] = world.received_by(number)
        assert reply.commercial is False
        blocked = world.client.send(_COMMERCIAL, to=number, acknowledge=_UNSYNCED)
        assert blocked.outcomes[0].status is OutcomeStatus.BLOCKED

    # -- what goes wrong ------------------------------------------------------------------

    def test_every_documented_error_code_maps_to_its_error(
        self, world: _World, provider: ProviderCase
    ) -> None:
        """Each error code is the mapped isobil error, in the transport's result and
        in the Client's outcome: the message is failed (or unknown), never sent, its
        credits released when failed."""
        assert provider.errors, "a provider documents error codes"
        for code, expected in provider.errors.items():
            number = self._number()
            world.simulator.fail_next(code)
            sms = OutboundSms(f"direct-{code}", number, plan_text(_NOTICE.text))
            [result] = world.transport.submit([sms])
            assert isinstance(result.error, expected), (code, result.error)
            assert result.provider_id is None
            assert str(result.error)

            before = world.client.credits.balance()
            world.simulator.fail_next(code)
            [outcome] = world.client.send(_NOTICE, to=number).outcomes
            if issubclass(expected, TransportTimeout):
                assert outcome.status is OutcomeStatus.UNKNOWN, code
            else:
                assert outcome.status is OutcomeStatus.FAILED, code
                assert world.client.credits.balance() == before, code
            assert world.received_by(number) == [], code

    def test_a_429_is_retried_and_sent_once(self, world: _World) -> None:
        """HTTP 429 is waited out and retried; the message arrives exactly once."""
        number = self._number()
        world.simulator.fault("429")
        [outcome] = world.client.send(_NOTICE, to=number).outcomes
        assert outcome.status is OutcomeStatus.SUBMITTED
        assert len(world.received_by(number)) == 1

    def test_a_lost_answer_is_never_a_duplicate(self, world: _World) -> None:
        """The provider took the message but its answer was lost: with a custom id the
        retry is recognised and the message is submitted once; without one the
        message is ``unknown`` and not sent again."""
        number = self._number()
        world.simulator.fault("timeout", accept=True)
        [outcome] = world.client.send(_NOTICE, to=number).outcomes
        world.simulator.release.set()
        assert len(world.received_by(number)) == 1
        if world.adapter.idempotent:
            assert outcome.status is OutcomeStatus.SUBMITTED
        else:
            assert outcome.status is OutcomeStatus.UNKNOWN

    # -- what is billed -------------------------------------------------------------------

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.differing_executors,  # one test, mixed into each provider's class
        ],
    )
    @given(text=TURKISH_TEXT)
    def test_parts_billed_equal_parts_counted(self, world: _World, text: str) -> None:
        """For any Turkish text, the parts isobil counts (and reserves credits for)
        are the parts the provider counts; what it would not carry is refused
        before any request."""
        number = self._number()
        literal = text.replace("{", "{{").replace("}", "}}")  # not a template
        notice = Message(literal, category="informational", brand="ACME")
        try:
            [outcome] = world.client.send(notice, to=number).outcomes
        except ComplianceError:  # a random word the rules read as a promotion
            assert world.received_by(number) == []
            assume(False)
        if outcome.status is OutcomeStatus.FAILED:
            assert world.received_by(number) == []
            return
        assert outcome.status is OutcomeStatus.SUBMITTED, outcome.reason
        [sms] = world.received_by(number)
        assert sms.text == text
        assert _parts(outcome) == sms.parts

    # -- what is shown --------------------------------------------------------------------

    def test_credentials_never_shown(
        self, world: _World, provider: ProviderCase, caplog: pytest.LogCaptureFixture
    ) -> None:
        """No credential in the adapter's or transport's repr, in a refused login's
        error, in the Client's outcome or in the logs."""
        assert provider.secrets, "a provider has credentials"
        caplog.set_level(logging.DEBUG)
        world.simulator.fail_next(provider.auth_error)
        [outcome] = world.client.send(_NOTICE, to=self._number()).outcomes
        sms = OutboundSms("direct-auth", self._number(), plan_text(_NOTICE.text))
        world.simulator.fail_next(provider.auth_error)
        [result] = world.transport.submit([sms])
        shown = [
            repr(world.adapter),
            str(world.adapter),
            repr(world.transport),
            str(result.error),
            repr(result.error),
            str(outcome.reason),
            repr(outcome),
            caplog.text,
        ]
        for secret in provider.secrets:
            for text in shown:
                assert secret not in text


def _parts(outcome: RecipientOutcome) -> int:
    assert outcome.plan is not None
    return outcome.plan.parts
