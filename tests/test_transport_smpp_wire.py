"""SmppTransport against a scripted pure-Python SMSC, for what smpp34 cannot do.

smpp34 accepts every bind, never sends a malformed PDU and always answers
enquire_link, so refused binds, garbage on the wire, a silent SMSC and a server
that closes instead of answering unbind are played here by :class:`RawSmsc`, a
few dozen lines of sockets and smpplib-built PDUs on loopback.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import socket
import struct
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import smpplib.smpp  # type: ignore[import-untyped]  # smpplib ships no type hints

from isobil.errors import SubmitRejected, TransportTimeout
from isobil.testing.transport import EventQueue, outbound
from isobil.transport import InboundSms, SmppTransport

PASSWORD = "pw-123"  # noqa: S105 - a test credential
HEADER = struct.Struct(">LLLL")
BIND_TRANSCEIVER, SUBMIT_SM, DELIVER_SM_RESP = 0x09, 0x04, 0x80000005
ENQUIRE_LINK, UNBIND, GENERIC_NACK = 0x15, 0x06, 0x80000000


def pdu(command: str, sequence: int, **fields: Any) -> bytes:
    """A PDU built by smpplib with ``sequence``."""
    built = smpplib.smpp.make_pdu(command, client=None, sequence=0, **fields)
    raw = bytes(built.generate())
    return raw[:12] + struct.pack(">L", sequence) + raw[16:]


class RawSmsc:
    """A scripted SMSC: one connection at a time; records what it receives.

    ``refuse_binds`` binds are answered ``bind_status`` (ESME_RSYSERR, a refusal
    a retry may overcome) before one is accepted;
    ``answer_submits`` and ``answer_enquire_links`` switch the answers off;
    ``close_on_unbind`` closes the socket instead of answering unbind.
    """

    def __init__(
        self,
        *,
        refuse_binds: int = 0,
        bind_status: int = 0x08,
        answer_submits: bool = True,
        answer_enquire_links: bool = True,
        close_on_unbind: bool = False,
    ) -> None:
        self.refuse_binds = refuse_binds
        self.bind_status = bind_status
        self.answer_submits = answer_submits
        self.answer_enquire_links = answer_enquire_links
        self.close_on_unbind = close_on_unbind
        self.received: queue.Queue[tuple[int, int, int, bytes]] = queue.Queue()
        self.connections: queue.Queue[socket.socket] = queue.Queue()
        self.binds = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._conn: socket.socket | None = None
        self._ids = 0
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self._conn = conn
            self.connections.put(conn)
            self._serve(conn)

    def _serve(self, conn: socket.socket) -> None:
        buffer = b""
        while True:
            try:
                chunk = conn.recv(65536)
            except OSError:
                return
            if not chunk:
                conn.close()
                return
            buffer += chunk
            while len(buffer) >= 16:
                length, command_id, status, sequence = HEADER.unpack_from(buffer)
                if len(buffer) < length:
                    break
                body, buffer = buffer[16:length], buffer[length:]
                self.received.put((command_id, status, sequence, body))
                if not self._answer(conn, command_id, sequence):
                    conn.close()
                    return

    def _answer(self, conn: socket.socket, command_id: int, sequence: int) -> bool:
        if command_id == BIND_TRANSCEIVER:
            self.binds += 1
            if self.binds <= self.refuse_binds:
                conn.sendall(HEADER.pack(17, 0x80000009, self.bind_status, sequence) + b"\0")
            else:
                conn.sendall(pdu("bind_transceiver_resp", sequence, system_id="RAW"))
        elif command_id == SUBMIT_SM and self.answer_submits:
            self._ids += 1
            conn.sendall(pdu("submit_sm_resp", sequence, message_id=f"raw{self._ids}"))
        elif command_id == ENQUIRE_LINK and self.answer_enquire_links:
            conn.sendall(pdu("enquire_link_resp", sequence))
        elif command_id == UNBIND:
            if self.close_on_unbind:
                return False
            conn.sendall(pdu("unbind_resp", sequence))
        return True

    def send(self, data: bytes) -> None:
        """Write raw bytes to the current connection."""
        assert self._conn is not None
        self._conn.sendall(data)

    def next_of(self, command_id: int, timeout: float = 10.0) -> tuple[int, int, bytes]:
        """The next PDU received with ``command_id``, as (status, sequence, body)."""
        while True:
            got_id, status, sequence, body = self.received.get(timeout=timeout)
            if got_id == command_id:
                return status, sequence, body

    def close(self) -> None:
        """Stop accepting and cut the current connection (shutdown wakes the blocked calls)."""
        self._stop = True
        for sock in (self._listener, self._conn):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
        self._thread.join(timeout=5)


@pytest.fixture
def raw() -> Iterator[RawSmsc]:
    """A fresh scripted SMSC."""
    server = RawSmsc()
    yield server
    server.close()


def connect(server: RawSmsc, **options: Any) -> SmppTransport:
    """A bound transport with test-sized timers."""
    settings: dict[str, Any] = {
        "system_id": "isobil",
        "password": PASSWORD,
        "reconnect_delay": 0.01,
        "max_reconnect_delay": 0.05,
        "unbind_timeout": 0.3,
    }
    settings.update(options)
    transport = SmppTransport("127.0.0.1", server.port, **settings)
    transport.wait_bound(10)
    return transport


@pytest.mark.parametrize(("status", "name"), [(0x08, "ESME_RSYSERR"), (0x0D, "ESME_RBINDFAIL")])
def test_refused_bind_is_retried_with_backoff(
    status: int, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Two binds refused with a passing status (ESME_RSYSERR, or the generic
    ESME_RBINDFAIL a session limit gives), then accepted: bound, and no password logged."""
    server = RawSmsc(refuse_binds=2, bind_status=status)
    try:
        with connect(server) as transport:
            assert transport.stats().bind_failures == 2
            assert transport.refused is None
            assert transport.submit([outbound("+905321234567", "x")])[0].ok
    finally:
        server.close()
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert name in logged
    assert PASSWORD not in logged


def test_malformed_pdus_are_answered_and_the_reader_survives(raw: RawSmsc) -> None:
    """Garbage deliver_sm, an unknown command and an unknown TLV: all answered, reading goes on."""
    with connect(raw) as transport:
        events = EventQueue()
        transport.set_inbound_handler(events)
        valid = pdu("deliver_sm", 77, source_addr="905321234567", destination_addr="4605")
        stray = b"\x04"  # one octet where a TLV header (four) should start
        raw.send(HEADER.pack(len(valid) + 1, 0x05, 0, 77) + valid[16:] + stray)
        raw.send(HEADER.pack(16, 0x99, 0, 78))  # a command SMPP 3.4 does not have
        mo = pdu(
            "deliver_sm",
            79,
            source_addr_ton=1,
            source_addr="905321234567",
            destination_addr="4605",
            short_message=b"ACME RET",
        )
        vendor_tlv = struct.pack(">HH", 0x1601, 2) + b"ok"
        raw.send(HEADER.pack(len(mo) + len(vendor_tlv), 0x05, 0, 79) + mo[16:] + vendor_tlv)
        assert raw.next_of(DELIVER_SM_RESP)[:2] == (0x65, 77)  # ESME_RX_P_APPN
        assert raw.next_of(GENERIC_NACK)[:2] == (0x03, 78)  # ESME_RINVCMDID
        assert raw.next_of(DELIVER_SM_RESP)[:2] == (0, 79)
        event = events.next()
        assert isinstance(event, InboundSms)
        assert (event.from_, event.text) == ("+905321234567", "ACME RET")
        assert transport.submit([outbound("+905321234567", "still here")])[0].ok
        assert transport.stats().malformed == 2


def test_unframeable_stream_reconnects(raw: RawSmsc) -> None:
    """A command_length below 16 cannot be skipped: the session is dropped and re-bound."""
    with connect(raw) as transport:
        raw.send(HEADER.pack(5, 0x05, 0, 1))
        raw.connections.get(timeout=10)  # the first connection
        raw.connections.get(timeout=10)  # the reconnection
        transport.wait_bound(10)
        assert transport.submit([outbound("+905321234567", "x")])[0].ok
        assert transport.stats().disconnects == 1


def test_enquire_link_keeps_the_link_and_a_silent_smsc_is_dropped() -> None:
    """An idle link gets enquire_link; unanswered, the session is re-established."""
    server = RawSmsc(answer_enquire_links=False)
    try:
        with connect(server, enquire_link_interval=0.05, request_timeout=0.2):
            server.next_of(ENQUIRE_LINK)
            server.connections.get(timeout=10)
            server.connections.get(timeout=10)  # dropped for silence, connected again
    finally:
        server.close()


def test_unanswered_submit_times_out() -> None:
    """No submit_sm_resp within request_timeout: TransportTimeout, outcome unknown."""
    server = RawSmsc(answer_submits=False)
    try:
        with connect(server, request_timeout=0.2) as transport:
            [result] = transport.submit([outbound("+905321234567", "x")])
    finally:
        server.close()
    assert isinstance(result.error, TransportTimeout)
    assert "+905321234567" not in str(result.error)


def test_dropped_connection_without_resubmission_reports_unknown() -> None:
    """resubmit_unanswered=False: a submit on the wire when the link drops is TransportTimeout."""
    server = RawSmsc(answer_submits=False)
    try:
        with connect(server, resubmit_unanswered=False) as transport:
            thread_result: list[object] = []
            worker = threading.Thread(
                target=lambda: thread_result.extend(
                    transport.submit([outbound("+905321234567", "x")])
                )
            )
            worker.start()
            server.next_of(SUBMIT_SM)
            server.send(HEADER.pack(16, UNBIND, 0, 99))  # the SMSC unbinds with it unanswered
            worker.join(timeout=10)
    finally:
        server.close()
    [result] = thread_result
    assert isinstance(getattr(result, "error", None), TransportTimeout)


def test_generic_nack_refuses_the_submit(raw: RawSmsc) -> None:
    """A generic_nack answering a submit_sm fails that message with its status."""
    raw.answer_submits = False
    with connect(raw) as transport:
        results: list[object] = []
        worker = threading.Thread(
            target=lambda: results.extend(transport.submit([outbound("+905321234567", "x")]))
        )
        worker.start()
        _, sequence, _ = raw.next_of(SUBMIT_SM)
        raw.send(HEADER.pack(16, GENERIC_NACK, 0x02, sequence))
        worker.join(timeout=10)
    [result] = results
    error = getattr(result, "error", None)
    assert isinstance(error, SubmitRejected)
    assert error.code == "ESME_RINVCMDLEN"


def test_server_closing_first_on_unbind_is_fine(caplog: pytest.LogCaptureFixture) -> None:
    """An SMSC that closes instead of answering unbind: close() is quick and quiet."""
    server = RawSmsc(close_on_unbind=True)
    try:
        transport = connect(server)
        transport.close()
        status, _, _ = server.next_of(UNBIND)
        assert status == 0
    finally:
        server.close()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
