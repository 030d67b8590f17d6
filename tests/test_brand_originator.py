"""``Brand(originator=...)``: a brand's messages go out under its own başlık.

Checked where it matters, at the provider: each HTTP adapter (Netgsm, İleti
Merkezi, Verimor) sends to its simulator, whose account knows both headers, and
the simulator records the originator of every message it accepted. The adapters
are built without a default header of their own, so what arrives is what the
client put in each ``OutboundSms``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from isobil import Brand, Client, InvalidIdentifier, Message, OutcomeStatus, Sender
from isobil.storage import MemoryStorage
from isobil.testing.providers._base import ProviderSimulator
from isobil.testing.providers.iletimerkezi import IletiMerkeziSimulator
from isobil.testing.providers.netgsm import NetgsmSimulator
from isobil.testing.providers.verimor import VerimorSimulator
from isobil.transport import HttpAdapter, HttpTransport
from isobil.transport._iletimerkezi import IletiMerkeziAdapter
from isobil.transport._netgsm import NetgsmAdapter
from isobil.transport._verimor import VerimorAdapter

SENDER = Sender(
    name="Acme Ticaret A.Ş.",
    mersis="0123456789012345",
    contact="0850 123 45 67",
    originator="ACME",
    brands=[Brand("ACME"), Brand("BANK", originator="ACMEBANK")],
    short_number="4605",
)
TEXT = "Siparişiniz kargoya verildi."
OF_BANK = Message(TEXT, category="informational", brand="BANK")
OF_ACME = Message(TEXT, category="informational", brand="ACME")
HEADERS = ("ACME", "ACMEBANK")
USER, PASSWORD = "8501234567", "originator-test-pw"  # a simulator's account
API_KEY, SECRET = "sim-api-key", "sim-secret-0123456789"


def _netgsm() -> tuple[ProviderSimulator, HttpAdapter]:
    simulator = NetgsmSimulator(username=USER, password=PASSWORD, msgheaders=HEADERS)
    return simulator, NetgsmAdapter(username=USER, password=PASSWORD)


def _iletimerkezi() -> tuple[ProviderSimulator, HttpAdapter]:
    simulator = IletiMerkeziSimulator(api_key=API_KEY, secret=SECRET, senders=HEADERS)
    return simulator, IletiMerkeziAdapter(api_key=API_KEY, secret=SECRET)


def _verimor() -> tuple[ProviderSimulator, HttpAdapter]:
    simulator = VerimorSimulator(
        username=USER, password=PASSWORD, headers=dict.fromkeys(HEADERS, "654321")
    )
    return simulator, VerimorAdapter(username=USER, password=PASSWORD)


@pytest.fixture(
    params=[_netgsm, _iletimerkezi, _verimor], ids=["netgsm", "iletimerkezi", "verimor"]
)
def world(request: pytest.FixtureRequest) -> Iterator[tuple[Client, ProviderSimulator]]:
    simulator, adapter = request.param()
    with simulator:
        transport = HttpTransport(
            simulator.url, adapter, timeout=3.0, max_retries=2, sleep=lambda seconds: None
        )
        client = Client(SENDER, transport=transport, storage=MemoryStorage())
        try:
            yield client, simulator
        finally:
            simulator.release.set()
            client.close()


def _originators(simulator: ProviderSimulator) -> dict[str, str | None]:
    return {
        sms.to.removeprefix("+").removeprefix("90"): sms.originator for sms in simulator.received
    }


def test_each_brand_goes_out_under_its_originator(
    world: tuple[Client, ProviderSimulator],
) -> None:
    """send, send_now and a dispatched send: BANK's messages carry ACMEBANK, ACME's
    (a brand without its own) the sender's ACME."""
    client, simulator = world
    sent = client.send(OF_BANK, to=["05321110001", "05321110002"])
    assert [o.status for o in sent.outcomes] == [OutcomeStatus.SUBMITTED] * 2
    assert client.send_now(OF_ACME, to="05321110003").status is OutcomeStatus.SUBMITTED
    assert client.send_now(OF_BANK, to="05321110004").status is OutcomeStatus.SUBMITTED
    later = datetime.now(UTC) + timedelta(hours=1)
    client.send(OF_ACME, to=["05321110005"], at=later)
    client.send(OF_BANK, to=["05321110006"], at=later)
    assert client.dispatch(now=later + timedelta(minutes=1)).handled == 2
    assert _originators(simulator) == {
        "5321110001": "ACMEBANK",
        "5321110002": "ACMEBANK",
        "5321110003": "ACME",
        "5321110004": "ACMEBANK",
        "5321110005": "ACME",
        "5321110006": "ACMEBANK",
    }


def test_the_originator_of_a_brand_is_checked_like_the_senders() -> None:
    """A brand's originator follows the same BTK rules as the sender's: 3-11 ASCII
    characters, no Turkish letters, not only digits."""
    with pytest.raises(InvalidIdentifier, match="Turkish letters"):
        Brand("SUT", originator="SÜTDÜNYASI")
    with pytest.raises(InvalidIdentifier, match="3-11"):
        Brand("SUT", originator="AB")
    assert Brand("SUT").originator is None


def test_originator_of_falls_back_to_the_sender() -> None:
    """A brand's own originator, an advertiser's brand's too; else the sender's."""
    agency = Sender(
        name="Ajans",
        originator="AJANS",
        brands=[Brand("AJANS")],
        advertisers=[Sender(name="Zeta", brands=[Brand("ZETA", originator="ZETA SHOP")])],
    )
    assert agency.originator_of("zeta") == "ZETA SHOP"
    assert agency.originator_of("AJANS") == "AJANS"
    assert agency.originator_of(None) == "AJANS"
    assert SENDER.originator_of("BANK") == "ACMEBANK"
