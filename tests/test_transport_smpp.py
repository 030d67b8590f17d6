"""SmppTransport against a real SMPP server (smpp34, via isobil.testing.smsc) on loopback.

The shared transport contract, then what only SMPP has: windows of submits,
Turkish concatenated parts on the wire, receipts per part, inbound encodings,
throttling, a server crash and restart in the middle of a campaign.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from collections.abc import Iterator, Sequence

import pytest

from _acme import ACME
from isobil import Brand, Client, Message, MessageState, Sender, sms
from isobil.errors import ConnectionFailed, SubmitRejected, Throttled, TransportClosed
from isobil.model import ConsentStatus
from isobil.testing.smsc import SmscSimulator
from isobil.testing.transport import EventQueue, TransportContract, outbound
from isobil.transport import (
    DeliveryReport,
    DeliveryStatus,
    InboundEvent,
    InboundSms,
    OutboundSms,
    SmppTransport,
)

PASSWORD = "s3cr3t!"  # noqa: S105 - a test credential; the simulator accepts any
TURKISH_300 = (
    "Sayın müşterimiz, Şubat ayına özel İstanbul mağazalarımızda ağustos böceği "
    "çağrı kampanyası başladı! Ürünlerde %40'a varan indirimler, ücretsiz kargo ve "
    "hediye çekleri sizi bekliyor. Detaylar için acme.com.tr/kampanya adresini ziyaret "
    "edin. Çağrı merkezimiz: 0850 123 45 67. Ret için ACME RET yazıp 4605'e gönderin."
)[:300]


def fast_transport(smsc: SmscSimulator, **options: object) -> SmppTransport:
    """A transport with test-sized timers, bound before it is returned."""
    settings: dict[str, object] = {
        "system_id": "isobil",
        "password": PASSWORD,
        "reconnect_delay": 0.01,
        "max_reconnect_delay": 0.1,
        "throttle_delay": 0.01,
        "max_throttle_delay": 0.05,
        "unbind_timeout": 0.5,
    }
    settings.update(options)
    transport = SmppTransport(smsc.host, smsc.port, **settings)  # type: ignore[arg-type]
    transport.wait_bound(10)
    return transport


@pytest.fixture
def smsc() -> Iterator[SmscSimulator]:
    """A simulated SMSC per test (~0.3 s to start): a receipt still in flight when one
    test ends can never reach the next test's session."""
    with SmscSimulator() as server:
        yield server


@pytest.fixture
def transport(smsc: SmscSimulator) -> Iterator[SmppTransport]:
    """A fresh bound transport per test, closed afterwards."""
    with fast_transport(smsc) as opened:
        yield opened


class TestSmppContract(TransportContract):
    """The SMPP transport keeps the contract every transport keeps, against smpp34."""

    @pytest.fixture
    def peer(self, smsc: SmscSimulator) -> SmscSimulator:
        return smsc


def reports(events: EventQueue, count: int) -> list[DeliveryReport]:
    """The next ``count`` events, which must all be delivery reports."""
    got = [events.next() for _ in range(count)]
    assert all(isinstance(e, DeliveryReport) for e in got), got
    return [e for e in got if isinstance(e, DeliveryReport)]


def assert_no_more_reports(smsc: SmscSimulator, events: EventQueue) -> None:
    """Nothing but a marker inbound text arrives next: no stray report was emitted."""
    smsc.send_inbound("+905559998877", "4605", "marker")
    event = events.next()
    assert isinstance(event, InboundSms), event
    assert event.text == "marker"


# -- on the wire ---------------------------------------------------------------


def test_turkish_300_characters_go_out_as_three_shift_parts(
    smsc: SmscSimulator, transport: SmppTransport
) -> None:
    """A 300-character Turkish text: 3 GSM-7 parts with a Turkish shift IE, not 5 UCS-2 parts."""
    assert len(TURKISH_300) == 300
    plan = sms.plan(TURKISH_300)
    [result] = transport.submit([OutboundSms("tr", "+905321110001", plan, originator="ACME")])
    message = smsc.message(result.provider_id or "")
    assert (message.to, message.text) == ("+905321110001", TURKISH_300)
    assert len(message.parts) == 3
    for seq, part in enumerate(message.parts, 1):
        assert part.data_coding == 0
        assert part.esm_class & 0x40
        ies = _ies(part.udh)
        assert ies[0x00][1:] == bytes((3, seq))
        assert (0x24 in ies) or (0x25 in ies)
        assert (ies.get(0x24) or ies[0x25]) == b"\x01"  # language 1: Turkish
    assert result.provider_id == message.parts[0].message_id


def test_concatenation_references_count_per_destination(
    smsc: SmscSimulator, transport: SmppTransport
) -> None:
    """Each long message to a number takes the next reference; another number has its own."""
    plan = sms.plan(TURKISH_300)
    batch = [
        OutboundSms("a1", "+905321110002", plan),
        OutboundSms("b1", "+905321110003", plan),
        OutboundSms("a2", "+905321110002", plan),
    ]
    results = transport.submit(batch)
    refs = [_ies(smsc.message(r.provider_id or "").parts[0].udh)[0x00][0] for r in results]
    assert refs[2] == (refs[0] + 1) % 256
    assert refs[1] == 0  # the first long message ever sent to that number


def test_addresses_ton_npi_and_bind_settings(smsc: SmscSimulator) -> None:
    """Alphanumeric originators go as TON 5, E.164 destinations as TON 1 without '+'."""
    before = len(smsc.binds())
    with fast_transport(smsc, system_id="acme-bulk", system_type="BULK") as transport:
        [alpha, number] = transport.submit(
            [
                OutboundSms("x", "+905321110004", sms.plan("Merhaba"), originator="ACME"),
                OutboundSms("y", "+905321110004", sms.plan("Merhaba"), originator="+908501234567"),
            ]
        )
    # The simulator is shared: another test's transport may bind meanwhile.
    assert "acme-bulk" in [bind["system_id"] for bind in smsc.binds()[before:]]
    first = smsc.message(alpha.provider_id or "").parts[0]
    second = smsc.message(number.provider_id or "").parts[0]
    assert (first.destination, first.dest_ton, first.source, first.source_ton) == (
        "905321110004",
        1,
        "ACME",
        5,
    )
    assert (second.source, second.source_ton) == ("908501234567", 1)
    assert first.registered_delivery == 1


def test_sar_tlvs_instead_of_a_concatenation_header(smsc: SmscSimulator) -> None:
    """With sar=True the parts carry SAR TLVs; the Turkish shift IE stays in the UDH."""
    with fast_transport(smsc, sar=True) as transport:
        [result] = transport.submit([OutboundSms("s", "+905321110005", sms.plan(TURKISH_300))])
    message = smsc.message(result.provider_id or "")
    assert message.text == TURKISH_300
    for seq, part in enumerate(message.parts, 1):
        ies = _ies(part.udh)
        assert 0x00 not in ies
        assert (0x24 in ies) or (0x25 in ies)
        assert part.tlv(0x020F) == bytes((seq,))
        assert part.tlv(0x020E) == bytes((3,))


# -- volume and receipts --------------------------------------------------------


def test_ten_thousand_submits_with_receipts(smsc: SmscSimulator) -> None:
    """10,000 messages go through a window of 50; every one gets exactly its receipt."""
    with fast_transport(smsc, window=50) as transport:
        events = EventQueue()
        transport.set_inbound_handler(events)
        smsc.deliver_all()  # receipts for other tests' messages come here too
        batch = [
            OutboundSms(f"bulk-{i}", f"+90532{i:07d}", sms.plan(f"Kampanya {i}"))
            for i in range(10_000)
        ]
        results = []
        for start in range(0, len(batch), 500):
            results += transport.submit(batch[start : start + 500])
        assert all(r.ok for r in results)
        ids = [r.provider_id for r in results]
        assert len(set(ids)) == 10_000
        assert smsc.deliver_all() == 10_000
        ours, got = set(ids), []
        while len(got) < 10_000:  # other tests' receipts arrive part by part: skipped
            [report] = reports(events, 1)
            if report.provider_id in ours:
                got.append(report)
        assert collections.Counter(r.provider_id for r in got) == collections.Counter(ids)
        assert {r.status for r in got} == {DeliveryStatus.DELIVERED}
        assert transport.stats().parts_accepted == 10_000


class BurstRecorder:
    """A handler with ``handle_many`` whose first call waits until the test lets it go."""

    def __init__(self) -> None:
        self.calls: list[list[InboundEvent]] = []
        self.release = threading.Event()
        self.done = threading.Condition()

    def __call__(self, event: InboundEvent) -> None:  # a receipt that came alone
        self.handle_many([event])

    def handle_many(self, events: Sequence[InboundEvent]) -> None:
        if not self.calls:
            assert self.release.wait(10), "the test never released the handler"
        with self.done:
            self.calls.append(list(events))
            self.done.notify_all()


def test_receipts_that_wait_together_go_over_in_one_call(
    smsc: SmscSimulator, transport: SmppTransport
) -> None:
    """While the handler is busy, receipts queue; the next call takes them all at once."""
    handler = BurstRecorder()
    transport.set_inbound_handler(handler)
    batch = [OutboundSms(f"b-{i}", f"+90532{i:07d}", sms.plan(f"Bilgi {i}")) for i in range(200)]
    results = transport.submit(batch)
    assert smsc.deliver_all() == 200
    deadline = time.monotonic() + 10
    while transport.stats().receipts < 200:  # polled: the reader exposes only a count
        assert time.monotonic() < deadline, transport.stats()
        time.sleep(0.01)
    handler.release.set()
    with handler.done:
        assert handler.done.wait_for(lambda: sum(map(len, handler.calls)) == 200, 10)
    assert len(handler.calls) == 2  # the first receipt(s), then all the rest
    got = [e.provider_id for call in handler.calls for e in call if isinstance(e, DeliveryReport)]
    assert sorted(got) == sorted(r.provider_id for r in results)


class FailingBatches:
    """``handle_many`` always fails; events one at a time are kept, the first held."""

    def __init__(self) -> None:
        self.events: list[InboundEvent] = []
        self.release = threading.Event()
        self.done = threading.Condition()

    def __call__(self, event: InboundEvent) -> None:
        if not self.events:
            assert self.release.wait(10), "the test never released the handler"
        with self.done:
            self.events.append(event)
            self.done.notify_all()

    def handle_many(self, events: Sequence[InboundEvent]) -> None:
        raise RuntimeError("a storage that fails on a batch")


def test_receipts_that_fail_together_are_handed_over_one_by_one(
    smsc: SmscSimulator, transport: SmppTransport, caplog: pytest.LogCaptureFixture
) -> None:
    """A failing batch call loses nothing: its receipts and the inbound text go one by one."""
    handler = FailingBatches()
    transport.set_inbound_handler(handler)
    batch = [OutboundSms(f"f-{i}", f"+90532{i:07d}", sms.plan(f"Bilgi {i}")) for i in range(51)]
    results = transport.submit(batch)
    smsc.deliver(results[0].provider_id or "")  # the first call to __call__ is held
    for result in results[1:]:
        smsc.deliver(result.provider_id or "")
    smsc.send_inbound("+905321110031", "4605", "ACME RET")
    deadline = time.monotonic() + 10
    while (transport.stats().receipts, transport.stats().inbound) < (51, 1):
        assert time.monotonic() < deadline, transport.stats()  # polled: counts only
        time.sleep(0.01)
    with caplog.at_level(logging.ERROR, logger="isobil"):
        handler.release.set()
        with handler.done:
            assert handler.done.wait_for(lambda: len(handler.events) == 52, 10)
    got = [e.provider_id for e in handler.events if isinstance(e, DeliveryReport)]
    assert sorted(got) == sorted(r.provider_id for r in results)
    assert [e.text for e in handler.events if isinstance(e, InboundSms)] == ["ACME RET"]
    # how the receipts fell into bursts depends on timing; that none was lost does not
    assert "receipts failed together; one at a time" in caplog.text


def test_long_message_is_reported_part_by_part(
    smsc: SmscSimulator, transport: SmppTransport
) -> None:
    """Each part's id goes out in the result, and each part's receipt comes back under it
    (the Client settles the message from its parts: see test_receipts_anywhere.py)."""
    events = EventQueue()
    transport.set_inbound_handler(events)
    [result] = transport.submit([OutboundSms("l1", "+905321110006", sms.plan(TURKISH_300))])
    assert result.provider_id is not None
    parts = smsc.message(result.provider_id).parts
    assert result.part_ids == tuple(p.message_id for p in parts)
    assert result.provider_id == result.part_ids[0]
    smsc.deliver(result.provider_id, DeliveryStatus.DELIVERED, parts=[2, 0])
    smsc.deliver(result.provider_id, DeliveryStatus.UNDELIVERED, "027", parts=[1])
    got = {r.provider_id: r for r in reports(events, 3)}
    assert set(got) == set(result.part_ids)
    assert [got[i].status for i in result.part_ids] == [
        DeliveryStatus.DELIVERED,
        DeliveryStatus.UNDELIVERED,
        DeliveryStatus.DELIVERED,
    ]
    assert got[result.part_ids[1]].error_code == "027"
    assert all(r.done_at is not None for r in got.values())
    assert_no_more_reports(smsc, events)


@pytest.mark.parametrize("style", ["text", "tlv"])
def test_receipts_read_from_text_or_tlvs_alone(style: str) -> None:
    """A receipt with only the appendix B text, or only the TLVs, is read the same way."""
    with (
        SmscSimulator(receipts=style, extra_tlvs=[(0x1601, b"vendor")]) as smsc,
        fast_transport(smsc) as transport,
    ):
        events = EventQueue()
        transport.set_inbound_handler(events)
        [result] = transport.submit([outbound("+905321110008", "Merhaba")])
        assert result.provider_id is not None
        smsc.deliver(result.provider_id, DeliveryStatus.EXPIRED, "011")
        [report] = reports(events, 1)
    assert (report.provider_id, report.status, report.error_code) == (
        result.provider_id,
        DeliveryStatus.EXPIRED,
        "011",
    )


# -- inbound --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "data_coding"),
    [
        ("ACME RET", 0),
        ("Çağrı için teşekkürler ĞÜŞİÖÇ ığüşöç", None),
        ("Café crème à la carte", 3),
        ("İPTAL 🙂 lütfen", 8),
    ],
)
def test_inbound_encodings(
    smsc: SmscSimulator, transport: SmppTransport, text: str, data_coding: int | None
) -> None:
    """Inbound texts in data_coding 0, 3 and 8 (and Turkish shift tables) arrive exactly."""
    events = EventQueue()
    transport.set_inbound_handler(events)
    smsc.send_inbound("+905321110009", "4605", text, data_coding=data_coding)
    event = events.next()
    assert isinstance(event, InboundSms)
    assert (event.from_, event.to, event.text) == ("+905321110009", "4605", text)


@pytest.mark.parametrize("sar", [False, True])
def test_inbound_parts_out_of_order_are_reassembled(
    smsc: SmscSimulator, transport: SmppTransport, sar: bool
) -> None:
    """A three-part inbound text arriving 3-1-2 (UDH or SAR) is handed on once, whole."""
    text = ("Merhaba, kampanyanızdan çıkmak istiyorum. " * 9)[:400]
    events = EventQueue()
    transport.set_inbound_handler(events)
    smsc.send_inbound("+905321110010", "4605", text, sar=sar, order=[2, 0, 1])
    event = events.next()
    assert isinstance(event, InboundSms)
    assert event.text == text
    assert_no_more_reports(smsc, events)


def test_inbound_opt_out_processed_end_to_end_through_the_client(smsc: SmscSimulator) -> None:
    """ "ACME RET" over SMPP records the opt-out and the auto reply goes back over SMPP."""
    sender = Sender(
        name="Acme Ticaret A.Ş.",
        mersis="0123456789012345",
        contact="0850 123 45 67",
        originator="ACME",
        brands=[Brand("ACME")],
        short_number="4605",
    )
    before = len(smsc.messages())
    with Client(sender, transport=fast_transport(smsc)) as client:
        seen: queue.Queue[object] = queue.Queue()
        client.on_inbound(seen.put)
        smsc.send_inbound("+905321110011", "4605", "ACME RET")
        event = seen.get(timeout=10)
        assert isinstance(event, InboundSms)
        assert client.consent.state("+905321110011", brand="ACME") is ConsentStatus.RET
        [reply] = smsc.wait_for_messages(before + 1)[before:]
    assert reply.to == "+905321110011"
    assert reply.originator == "ACME"


def test_a_failing_handler_loses_no_opt_out_in_a_burst(
    smsc: SmscSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """Receipts and an "ACME RET" that arrive together, with a callback that always raises:
    the receipts are applied and the RET is recorded all the same (each failure logged)."""
    release = threading.Event()

    def failing(event: InboundEvent) -> None:
        assert release.wait(10)  # the first call holds the event thread while the rest queue
        raise RuntimeError("a user callback that fails")

    notice = Message("Kargonuz yolda.", category="informational")
    with Client(ACME, transport=fast_transport(smsc)) as client:
        result = client.send(notice, to=["05321110021", "05321110022", "05321110023"])
        gate, *pair = [smsc.message(o.provider_id or "") for o in result.outcomes]
        client.on_inbound(failing)
        smsc.deliver(gate.provider_id)  # its handling blocks in the callback
        for message in pair:
            smsc.deliver(message.provider_id)
        smsc.send_inbound("+905321110029", "4605", "ACME RET")
        deadline = time.monotonic() + 10
        while (client.transport.stats().receipts, client.transport.stats().inbound) < (3, 1):
            assert time.monotonic() < deadline, client.transport.stats()  # polled: counts only
            time.sleep(0.01)
        with caplog.at_level(logging.ERROR, logger="isobil"):
            release.set()
            states = [MessageState.DELIVERED] * 3

            def settled() -> bool:
                ids = [o.message_id or "" for o in result.outcomes]
                opted_out = client.consent.state("05321110029", brand="ACME")
                return [client.message(i).state for i in ids] == states and bool(opted_out)

            while not settled():
                assert time.monotonic() < deadline + 10, "the burst was lost"
                time.sleep(0.01)
        assert client.consent.state("05321110029", brand="ACME") is ConsentStatus.RET
    assert "a user callback that fails" in caplog.text


# -- back-off, refusals, threads --------------------------------------------------


@pytest.mark.parametrize("status", ["ESME_RTHROTTLED", "ESME_RMSGQFUL"])
def test_throttling_backs_off_and_resends(
    smsc: SmscSimulator, transport: SmppTransport, status: str
) -> None:
    """Throttled submits are paused and sent again: every message gets through once."""
    smsc.throttle(3, status)
    batch = [outbound(f"+9053211101{i:02d}", f"Yavaş {status} {i}", i) for i in range(20)]
    results = transport.submit(batch)
    assert all(r.ok for r in results)
    assert transport.stats().throttled == 3
    texts = [text for _, text in smsc.received()]
    for sms_ in batch:
        assert texts.count(sms_.text) == 1


def test_throttling_without_end_fails_the_message(smsc: SmscSimulator) -> None:
    """After max_throttle_retries the message fails with Throttled; the next one is fine."""
    with fast_transport(smsc, max_throttle_retries=2, window=1) as transport:
        smsc.throttle(3)
        [stuck, fine] = transport.submit(
            [outbound("+905321110012", "a", 0), outbound("+905321110013", "b", 1)]
        )
    assert isinstance(stuck.error, Throttled)
    assert fine.ok


def test_refused_destination_is_one_failed_result(
    smsc: SmscSimulator, transport: SmppTransport
) -> None:
    """ESME_RINVDSTADR fails that message only, with the SMPP code and a masked number."""
    smsc.reject_to("+905321110014")
    [bad, good] = transport.submit(
        [outbound("+905321110014", "x", 0), outbound("+905321110015", "y", 1)]
    )
    assert isinstance(bad.error, SubmitRejected)
    assert bad.error.code == "ESME_RINVDSTADR"
    assert "+905321110014" not in str(bad.error)
    assert good.ok


def test_submit_from_several_threads(smsc: SmscSimulator, transport: SmppTransport) -> None:
    """Four threads submitting at once each get their own results, in their order."""
    outcomes: dict[int, list[str]] = {}

    def run(worker: int) -> None:
        batch = [outbound("+905321110016", f"w{worker}-{i}", i) for i in range(300)]
        results = transport.submit(batch)
        assert all(r.ok for r in results)
        outcomes[worker] = [r.id for r in results]

    threads = [threading.Thread(target=run, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert outcomes == {w: [f"contract-{i}" for i in range(300)] for w in range(4)}


def test_transmitter_and_receiver_pair(smsc: SmscSimulator) -> None:
    """bind='transmitter+receiver' opens two sessions; receipts come over the receiver."""
    before = len(smsc.binds())
    with fast_transport(smsc, bind="transmitter+receiver") as transport:
        events = EventQueue()
        transport.set_inbound_handler(events)
        [result] = transport.submit([outbound("+905321110017", "iki oturum")])
        assert result.provider_id is not None
        smsc.deliver(result.provider_id, DeliveryStatus.DELIVERED)
        [report] = reports(events, 1)
    assert report.provider_id == result.provider_id
    assert sorted(b["can_receive"] for b in smsc.binds()[before:]) == [False, True]


def test_close_does_not_wait_for_a_missing_unbind_resp(smsc: SmscSimulator) -> None:
    """smpp34 often never answers unbind: close() still returns (after the unbind
    timeout; the per-test timeout catches a close that waits forever)."""
    transport = fast_transport(smsc, unbind_timeout=0.3)
    transport.submit([outbound("+905321110018", "son")])
    transport.close()
    with pytest.raises(TransportClosed):
        transport.submit([outbound("+905321110018", "son")])


def test_unreachable_smsc_raises_connection_failed() -> None:
    """No server: submit gives up after give_up_after with ConnectionFailed, no password."""
    with SmscSimulator() as smsc:
        port = smsc.port
    transport = SmppTransport(
        "127.0.0.1",
        port,
        system_id="isobil",
        password=PASSWORD,
        reconnect_delay=0.01,
        max_reconnect_delay=0.05,
        give_up_after=0.3,
    )
    with transport:
        with pytest.raises(ConnectionFailed, match=f"127.0.0.1:{port}") as raised:
            transport.submit([outbound("+905321110019", "x")])
        with pytest.raises(ConnectionFailed):
            transport.wait_bound(0.05)
    assert PASSWORD not in str(raised.value)
    assert transport.stats().bind_failures >= 1


def test_password_is_never_logged_nor_shown(
    smsc: SmscSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """The bind password appears in no log record, repr, stats or error, even at DEBUG."""
    caplog.set_level(logging.DEBUG)
    with fast_transport(smsc) as transport:
        transport.submit([outbound("+905321110020", "gizli")])
        shown = [repr(transport), str(transport.stats()), str(vars(transport))]
    with SmscSimulator() as dead:
        port = dead.port
    with SmppTransport(
        "127.0.0.1", port, system_id="isobil", password=PASSWORD, give_up_after=0.1
    ) as failing:
        with pytest.raises(ConnectionFailed) as raised:
            failing.submit([outbound("+905321110020", "gizli")])
        shown += [str(raised.value), repr(raised.value), repr(failing)]
    records = [r.getMessage() for r in caplog.records]
    assert records
    assert not [text for text in records + shown if PASSWORD in text]
    assert not [text for text in records if "+905321110020" in text]


# -- crash and restart --------------------------------------------------------------


def campaign(count: int) -> list[OutboundSms]:
    """Single-part and three-part messages, each text unique so the server can count them."""
    return [
        OutboundSms(
            f"c{i}",
            f"+90533{i % 97:07d}",
            sms.plan(f"{i:05d} " + (TURKISH_300[:280] if i % 5 == 0 else "kampanya")),
        )
        for i in range(count)
    ]


def run_campaign(
    transport: SmppTransport, batch: list[OutboundSms], results: list[object]
) -> threading.Thread:
    """Submit ``batch`` in Client-sized slices on a thread; results land in ``results``."""

    def run() -> None:
        for start in range(0, len(batch), 200):
            results.extend(transport.submit(batch[start : start + 200]))

    thread = threading.Thread(target=run, name="campaign")
    thread.start()
    return thread


def test_server_killed_and_restarted_mid_campaign() -> None:
    """A crash mid-campaign: nothing lost, nothing submitted twice, every receipt matched."""
    batch = campaign(2500)
    with SmscSimulator() as smsc, fast_transport(smsc, window=20) as transport:
        events = EventQueue()
        transport.set_inbound_handler(events)
        results: list[object] = []
        thread = run_campaign(transport, batch, results)
        smsc.wait_for_messages(600)
        smsc.kill(quiesce=True)  # the SMSC dies with submits on the wire, unanswered
        smsc.restart()
        thread.join(timeout=60)
        assert not thread.is_alive()
        stats = transport.stats()
        assert stats.disconnects >= 1
        # What was unanswered when it died is sent again: at most a window's worth (none,
        # when the client had sent nothing since the SMSC stopped answering — seen under load).
        assert stats.resubmitted <= 20
        assert all(getattr(r, "ok", False) for r in results)
        texts = collections.Counter(text for _, text in smsc.received())
        assert texts == collections.Counter(sms_.text for sms_ in batch)  # each exactly once
        assert smsc.deliver_all() == len(batch)
        # One receipt per part, each under the id its part was given.
        ids = collections.Counter(i for r in results for i in getattr(r, "part_ids", ()))
        got = reports(events, sum(ids.values()))
    assert collections.Counter(r.provider_id for r in got) == ids
    firsts = [getattr(r, "part_ids", ())[:1] for r in results]
    assert firsts == [(getattr(r, "provider_id", None),) for r in results]


def test_hard_kill_loses_nothing() -> None:
    """A kill at any instant: every message arrives; only in-flight ones may arrive twice."""
    batch = campaign(1500)
    window = 20
    with SmscSimulator() as smsc, fast_transport(smsc, window=window) as transport:
        results: list[object] = []
        thread = run_campaign(transport, batch, results)
        smsc.wait_for_messages(400)
        smsc.kill()
        smsc.restart()
        thread.join(timeout=60)
        assert not thread.is_alive()
        assert all(getattr(r, "ok", False) for r in results)
        texts = collections.Counter(text for _, text in smsc.received())
    assert set(texts) == {sms_.text for sms_ in batch}
    assert sum(texts.values()) - len(batch) <= window


def _ies(udh: bytes) -> dict[int, bytes]:
    """The information elements of a UDH (with its length octet), by IEI."""
    out: dict[int, bytes] = {}
    pos = 1
    while pos < 1 + udh[0]:
        iei, length = udh[pos], udh[pos + 1]
        out[iei] = udh[pos + 2 : pos + 2 + length]
        pos += 2 + length
    return out
