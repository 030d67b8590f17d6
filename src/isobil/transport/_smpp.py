"""SMPP 3.4 to an SMSC: a window of submits, receipts and inbound texts, reconnects.

One I/O thread owns the sockets and does all SMPP work (smpplib reads the PDUs
and builds the rare ones; each part's submit_sm is packed here, for speed);
callers of :meth:`SmppTransport.submit` queue their parts and wait for their
batch; one event thread hands receipts and inbound texts to the handler,
so a handler may itself submit (an auto reply) without blocking the reader.
See docs/smpp.md for the policies (window, throughput, back-off, reconnect,
receipt reconciliation) and the error each failure becomes.
"""

from __future__ import annotations

import contextlib
import enum
import itertools
import logging
import queue
import select
import socket
import struct
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any, Final, Literal

import attrs
import smpplib.smpp  # type: ignore[import-untyped]  # smpplib ships no type hints

from isobil import phone
from isobil._net import Secret
from isobil._time import ISTANBUL
from isobil.errors import (
    BindRefused,
    ConfigurationError,
    ConnectionFailed,
    InvalidValue,
    SubmitRejected,
    Throttled,
    TransportClosed,
    TransportError,
    TransportTimeout,
)
from isobil.sms import DecodedPart
from isobil.transport._base import (
    DeliveryReport,
    DeliveryStatus,
    InboundEvent,
    InboundSms,
    OutboundSms,
    SubmitResult,
    Transport,
)
from isobil.transport._smpp_errors import (
    BACK_OFF_STATUSES,
    ProtocolError,
    map_exception,
    status_error,
    status_name,
)
from isobil.transport._smpp_flow import FlowControl
from isobil.transport._smpp_inbound import Assembled, Reassembler, decode_best_effort
from isobil.transport._smpp_receipts import (
    MESSAGE_STATES,
    ReceiptBook,
    parse_receipt_text,
)

__all__ = ["SmppStats", "SmppTransport"]

log = logging.getLogger("isobil.transport.smpp")

# command_id values (SMPP 3.4 §5.1.2.1)
GENERIC_NACK: Final = 0x80000000
BIND_RECEIVER: Final = 0x00000001
BIND_TRANSMITTER: Final = 0x00000002
SUBMIT_SM: Final = 0x00000004
SUBMIT_SM_RESP: Final = 0x80000004
DELIVER_SM: Final = 0x00000005
UNBIND: Final = 0x00000006
UNBIND_RESP: Final = 0x80000006
BIND_TRANSCEIVER: Final = 0x00000009
ENQUIRE_LINK: Final = 0x00000015
ENQUIRE_LINK_RESP: Final = 0x80000015
ALERT_NOTIFICATION: Final = 0x00000102
DATA_SM: Final = 0x00000103

ESME_RINVCMDID: Final = 0x03
ESME_RX_P_APPN: Final = 0x65  # "permanent application error": do not redeliver

_QUICKACK: Final[int | None] = getattr(socket, "TCP_QUICKACK", None)  # Linux only
_HEADER: Final = struct.Struct(">LLLL")
_SEQ: Final = struct.Struct(">L")
_ADDR_TYPE: Final = struct.Struct(">BB")  # ton, npi
# esm_class … sm_length, with the empty schedule_delivery_time and validity_period
_SUBMIT_SM_FIELDS: Final = struct.Struct(">10B")
_SAR: Final = struct.Struct(">HHHHHBHHB")  # sar_msg_ref_num, sar_total_segments, sar_segment_seqnum
TLV_SAR_MSG_REF_NUM: Final = 0x020C
TLV_SAR_TOTAL_SEGMENTS: Final = 0x020E
TLV_SAR_SEGMENT_SEQNUM: Final = 0x020F
_MAX_PDU: Final = 64 * 1024  # far above any SMPP 3.4 PDU; a larger length is garbage
_MAX_SEQUENCE: Final = 0x7FFFFFFF
_RECEIPT_ESM_TYPES: Final = frozenset({0x04, 0x08, 0x10, 0x20})  # esm_class bits 2-5
_SMPP_PASSWORD_MAX: Final = 8  # 9 octets with the terminating NUL
_SMPP_SYSTEM_ID_MAX: Final = 15

Bind = Literal["transceiver", "transmitter+receiver"]


class _Role(enum.Enum):
    TRX = ("bind_transceiver", True, True)
    TX = ("bind_transmitter", True, False)
    RX = ("bind_receiver", False, True)

    def __init__(self, command: str, transmits: bool, receives: bool) -> None:
        self.command = command
        self.transmits = transmits
        self.receives = receives


@attrs.frozen
class SmppStats:
    """Counters since the transport was created (a snapshot; see :meth:`SmppTransport.stats`).

    ``parts_*`` count ``submit_sm`` PDUs, one per part of a message.
    ``resubmitted`` counts parts sent again after a connection dropped before
    their answer; ``throttled`` answers with ESME_RTHROTTLED or ESME_RMSGQFUL.
    ``rate`` is the pacing rate flow control has learned (submits/s; None while
    the SMSC never throttled and no ``throughput`` is set), ``accepted_rate`` the
    submits the SMSC accepted per second over the last 5 s, ``window`` the send
    window in force and ``rate_cuts`` how often throttling cut the rate.
    """

    binds: int = 0
    bind_failures: int = 0
    disconnects: int = 0
    parts_sent: int = 0
    parts_accepted: int = 0
    parts_rejected: int = 0
    throttled: int = 0
    resubmitted: int = 0
    timeouts: int = 0
    receipts: int = 0
    inbound: int = 0
    malformed: int = 0
    in_flight: int = 0
    queued: int = 0
    rate_cuts: int = 0
    window: int = 0
    rate: float | None = None
    accepted_rate: float = 0.0


class _Batch:
    __slots__ = ("done", "remaining", "results")

    def __init__(self, size: int) -> None:
        self.results: list[SubmitResult | None] = [None] * size
        self.remaining = size
        self.done = threading.Event()


class _Message:
    __slots__ = ("accepted", "batch", "finished", "ids", "index", "queued_at", "sms")

    def __init__(self, sms: OutboundSms, batch: _Batch, index: int, queued_at: float) -> None:
        self.sms = sms
        self.batch = batch
        self.index = index
        self.queued_at = queued_at
        self.ids: list[str | None] = [None] * sms.plan.parts
        self.accepted = 0
        self.finished = False


class _Part:
    __slots__ = ("index", "message", "pdu", "sent_at", "throttles")

    def __init__(self, message: _Message, index: int, pdu: bytes) -> None:
        self.message = message
        self.index = index
        self.pdu = pdu  # a complete submit_sm; its sequence number is written at send time
        self.sent_at = 0.0
        self.throttles = 0


class _Session:
    """One SMPP connection (a transceiver, or the transmitter or receiver of a pair)."""

    def __init__(self, role: _Role, now: float) -> None:
        self.role = role
        self.sock: socket.socket | None = None
        self.rbuf = bytearray()
        self.wbuf: list[bytes] = []
        self.in_flight: OrderedDict[int, _Part] = OrderedDict()
        self.last_rx = 0.0
        self.enquire_sent: float | None = None
        self.next_attempt = 0.0
        self.attempts = 0
        self.down_since: float | None = now
        self.unbind_answered = False
        self.last_error: TransportError | None = None

    @property
    def up(self) -> bool:
        return self.sock is not None


def _backoff(first: float, maximum: float, attempt: int) -> float:
    return float(min(maximum, first * (2 ** min(attempt, 30))))


class SmppTransport(Transport):
    """Submit messages to an SMSC over SMPP 3.4 and receive receipts and inbound texts.

    Connects and binds in the background as soon as it is created (see
    :meth:`wait_bound`), and keeps reconnecting with back-off until
    :meth:`close`. ``bind`` is ``"transceiver"`` (one connection) or
    ``"transmitter+receiver"`` (two). At most ``window`` ``submit_sm`` are
    unanswered at once, and at most ``throughput`` are sent per second (None: no
    limit). Each part of a message is one ``submit_sm``: concatenated with a UDH
    (a reference counted per destination) or, with ``sar=True``, with the SAR
    TLVs; Turkish shift tables ride in the UDH either way.

    ESME_RTHROTTLED and ESME_RMSGQFUL adapt the flow (AIMD, see docs/smpp.md):
    the window is halved and the submit rate cut, then both grow back, and from
    then on submits are paced evenly at the rate learned (at least one every
    ``max_throttle_delay`` seconds). The refused part is sent again
    without counting as a failure; only when the SMSC has refused for
    ``throttle_give_up`` seconds without accepting a single submit does it fail
    with :class:`~isobil.Throttled` (or, when ``max_throttle_retries`` is set,
    after that many refusals of the part). ``throttle_delay`` is kept for
    compatibility and no longer used. A bind refused with a status no retry can
    change (ESME_RINVPASWD, ESME_RINVSYSID, ESME_RINVSYSTYP) is
    not retried: queued and later messages fail at once with
    :class:`~isobil.BindRefused`, and :meth:`wait_bound` raises it. Any other
    refusal, ESME_RBINDFAIL included (SMSCs send it for passing conditions such as
    a session limit), is retried like a dropped connection. A dropped
    connection is re-established after ``reconnect_delay`` seconds, doubling up
    to ``max_reconnect_delay``; parts sent but unanswered when it dropped are
    sent again (``resubmit_unanswered``) — SMPP cannot tell whether the SMSC
    stored them, so this is at-least-once.
    Messages queued while no session is bound fail with
    :class:`~isobil.ConnectionFailed` after ``give_up_after`` seconds. A
    ``submit_sm`` unanswered for ``request_timeout`` seconds fails its message
    with :class:`~isobil.TransportTimeout` (outcome unknown).

    ``source_ton``/``source_npi`` default by the originator's shape (alphanumeric
    5/0, ``+``-number 1/1, digits 0/1); E.164 destinations go out without the
    ``+`` with ``dest_ton``/``dest_npi``. Receipt dates are read in
    ``receipt_timezone`` (the SMSC's clock; Istanbul by default).

    Receipts and inbound texts are handed to the handler from a thread of their
    own; receipts that arrived together (up to ``event_burst`` events) go over in
    one call, so the ``Client`` applies them in one transaction. Inbound texts go
    one at a time, and a handler that fails loses only what it failed on.

    The password is kept out of every log line, repr and error message.
    """

    #: At most this many events already waiting are handed over in one call.
    event_burst: int = 500

    def __init__(
        self,
        host: str,
        port: int = 2775,
        *,
        system_id: str,
        password: str,
        system_type: str = "",
        bind: Bind = "transceiver",
        window: int = 10,
        throughput: float | None = None,
        originator: str | None = None,
        source_ton: int | None = None,
        source_npi: int | None = None,
        dest_ton: int = 1,
        dest_npi: int = 1,
        addr_ton: int = 0,
        addr_npi: int = 0,
        address_range: str = "",
        service_type: str = "",
        sar: bool = False,
        enquire_link_interval: float = 30.0,
        request_timeout: float = 10.0,
        connect_timeout: float = 5.0,
        reconnect_delay: float = 0.5,
        max_reconnect_delay: float = 30.0,
        give_up_after: float = 30.0,
        throttle_delay: float = 1.0,
        max_throttle_delay: float = 30.0,
        max_throttle_retries: int | None = None,
        throttle_give_up: float = 60.0,
        resubmit_unanswered: bool = True,
        unbind_timeout: float = 1.0,
        receipt_timezone: tzinfo = ISTANBUL,
        reassembly_timeout: float = 600.0,
    ) -> None:
        super().__init__()
        _check_config(
            system_id=system_id,
            password=password,
            bind=bind,
            window=window,
            throughput=throughput,
            timeouts={
                "enquire_link_interval": enquire_link_interval,
                "request_timeout": request_timeout,
                "connect_timeout": connect_timeout,
                "give_up_after": give_up_after,
                "unbind_timeout": unbind_timeout,
                "reassembly_timeout": reassembly_timeout,
                "throttle_give_up": throttle_give_up,
            },
            delays={
                "reconnect_delay": reconnect_delay,
                "max_reconnect_delay": max_reconnect_delay,
                "throttle_delay": throttle_delay,
                "max_throttle_delay": max_throttle_delay,
            },
        )
        if max_throttle_retries is not None and max_throttle_retries < 0:
            raise InvalidValue(f"max_throttle_retries must be >= 0, got {max_throttle_retries}")
        self.host = host
        self.port = port
        self.system_id = system_id
        self._password = Secret(password)
        self.system_type = system_type
        self.bind = bind
        self.window = window
        self.throughput = throughput
        self.originator = originator
        self.source_ton = source_ton
        self.source_npi = source_npi
        self.dest_ton = dest_ton
        self.dest_npi = dest_npi
        self.addr_ton = addr_ton
        self.addr_npi = addr_npi
        self.address_range = address_range
        self.service_type = service_type
        self.sar = sar
        self.enquire_link_interval = enquire_link_interval
        self.request_timeout = request_timeout
        self.connect_timeout = connect_timeout
        self.reconnect_delay = reconnect_delay
        self.max_reconnect_delay = max_reconnect_delay
        self.give_up_after = give_up_after
        self.throttle_delay = throttle_delay
        self.max_throttle_delay = max_throttle_delay
        self.max_throttle_retries = max_throttle_retries
        self.throttle_give_up = throttle_give_up
        self.resubmit_unanswered = resubmit_unanswered
        self.unbind_timeout = unbind_timeout
        self.receipt_timezone = receipt_timezone

        self._lock = threading.Lock()  # guards _outbox and _closed
        self._outbox: deque[_Message] = deque()  # from callers, built by the I/O thread
        self._ready: deque[_Part] = deque()  # I/O thread only: built parts, resends first
        self._closed = False
        self._references: OrderedDict[str, int] = OrderedDict()
        self._sequence = itertools.count(1)
        started = time.monotonic()
        roles = [_Role.TRX] if bind == "transceiver" else [_Role.TX, _Role.RX]
        self._sessions = [_Session(role, started) for role in roles]
        self._bound = threading.Event()
        self._stats: dict[str, Any] = dict.fromkeys(attrs.fields_dict(SmppStats), 0)
        self._book = ReceiptBook()
        self._reassembler = Reassembler(timeout=reassembly_timeout)
        self._flow = FlowControl(
            window, throughput, min_rate=1 / max(max_throttle_delay, 0.001), now=started
        )
        self._throttled_since: float | None = None  # the first refusal since an acceptance
        self._refused: BindRefused | None = None
        self._state = threading.Condition()  # notified when bound or refused for good
        self._next_expiry = 0.0
        self._events: queue.SimpleQueue[InboundEvent | None] = queue.SimpleQueue()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._woken = False
        self._io = threading.Thread(target=self._run_io, name="isobil-smpp-io", daemon=True)
        self._dispatcher = threading.Thread(
            target=self._run_dispatch, name="isobil-smpp-events", daemon=True
        )
        self._dispatcher.start()
        self._io.start()

    # -- public ------------------------------------------------------------

    def submit(self, batch: Sequence[OutboundSms]) -> list[SubmitResult]:
        """Submit ``batch``; block until every message is accepted, refused or timed out.

        Raises :class:`~isobil.TransportClosed` after :meth:`close`,
        :class:`~isobil.BindRefused` at once when the SMSC refused the bind for
        good, and :class:`~isobil.ConnectionFailed` when no part of the batch
        could reach the SMSC because no session could be bound within
        ``give_up_after``.
        """
        if not batch:
            with self._lock:
                if self._closed:
                    raise TransportClosed("SmppTransport is closed")
            return []
        if self._refused is not None:
            raise self._refused
        waiting = _Batch(len(batch))
        now = time.monotonic()
        messages = [_Message(sms, waiting, i, now) for i, sms in enumerate(batch)]
        with self._lock:
            if self._closed:
                raise TransportClosed("SmppTransport is closed")
            # The I/O thread builds each submit_sm as the window opens, so building
            # and the SMSC's work overlap, with no second thread holding the GIL.
            self._outbox.extend(messages)
        self._wake()
        while not waiting.done.wait(timeout=1.0):
            if not self._io.is_alive():  # pragma: no cover - the I/O thread never dies
                raise TransportError("the SMPP I/O thread stopped")
        results = [r for r in waiting.results if r is not None]
        failures = [r.error for r in results if isinstance(r.error, ConnectionFailed)]
        if failures and len(failures) == len(results) and not any(m.accepted for m in messages):
            raise failures[0]  # nothing of the batch reached the SMSC: the transport failed
        return results

    def wait_bound(self, timeout: float = 10.0) -> None:
        """Block until every session is bound; raise ConnectionFailed after ``timeout`` s.

        Raises :class:`~isobil.BindRefused` as soon as the SMSC refuses the bind
        with a status no retry can change (a wrong password, say).
        """
        with self._state:
            self._state.wait_for(lambda: self._bound.is_set() or self._refused is not None, timeout)
        if self._refused is not None:
            raise self._refused
        if not self._bound.is_set():
            reasons = [str(s.last_error) for s in self._sessions if s.last_error is not None]
            detail = f": {reasons[-1]}" if reasons else ""
            raise ConnectionFailed(
                f"not bound to {self.host}:{self.port} within {timeout:g} s{detail}"
            )

    @property
    def bound(self) -> bool:
        """Whether every session is bound right now."""
        return self._bound.is_set()

    def stats(self) -> SmppStats:
        """A snapshot of the transport's counters."""
        values = dict(self._stats)
        values["in_flight"] = sum(len(s.in_flight) for s in self._sessions)
        values["queued"] = len(self._outbox) + len(self._ready)
        flow = self._flow
        values.update(
            rate_cuts=flow.cuts,
            window=int(flow.window),
            rate=flow.rate,
            accepted_rate=flow.measured(time.monotonic()),
        )
        return SmppStats(**values)

    @property
    def refused(self) -> BindRefused | None:
        """The :class:`~isobil.BindRefused` once the SMSC refused the bind for good.

        The transport then sends nothing and does not reconnect; every submit
        raises it. Fix the credentials and create a new transport.
        """
        return self._refused

    def close(self) -> None:
        """Unbind and disconnect; messages not yet answered fail. Idempotent.

        Unanswered ``submit_sm`` get up to ``unbind_timeout`` seconds to be
        answered, then each session sends ``unbind`` and waits as long for the
        answer; a server that closes first, or never answers, is fine.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._wake()
        current = threading.current_thread()
        if current is not self._io:
            self._io.join(timeout=self.unbind_timeout * 2 + self.connect_timeout + 5)
        self._events.put(None)
        if current is not self._dispatcher:
            self._dispatcher.join(timeout=5)
        self._wake_r.close()
        self._wake_w.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("bound" if self.bound else "connecting")
        return (
            f"<SmppTransport {self.host}:{self.port} system_id={self.system_id!r} "
            f"bind={self.bind} {state} window={self.window} "
            f"in_flight={sum(len(s.in_flight) for s in self._sessions)}>"
        )

    # -- building submit_sm ------------------------------------------------

    def _build(self, message: _Message) -> list[_Part]:
        """The submit_sm of every part of ``message`` (on the I/O thread, just in time)."""
        sms = message.sms
        plan = sms.plan
        reference = self._reference(sms.to) if plan.parts > 1 else 0
        payloads = plan.payloads(reference & 0xFF)
        originator = sms.originator if sms.originator is not None else (self.originator or "")
        source_ton, source_npi, source = self._source(originator)
        if sms.to.startswith("+"):
            destination, dest_ton, dest_npi = sms.to[1:], self.dest_ton, self.dest_npi
        else:
            destination, dest_ton, dest_npi = sms.to, 0, 1
        # What every part shares, packed once: service_type up to destination_addr.
        head = _submit_sm_head(
            self.service_type, source_ton, source_npi, source, dest_ton, dest_npi, destination
        )
        receipt = 1 if sms.request_receipt else 0
        sar = self.sar and len(payloads) > 1
        parts = []
        for seq, payload in enumerate(payloads, 1):
            if sar:
                udh = without_concatenation(payload.udh)
                pdu = _submit_sm(
                    head,
                    0x40 if udh else 0,
                    receipt,
                    payload.data_coding,
                    udh + payload.body,
                    _SAR.pack(
                        TLV_SAR_MSG_REF_NUM, 2, reference & 0xFFFF,
                        TLV_SAR_TOTAL_SEGMENTS, 1, len(payloads),
                        TLV_SAR_SEGMENT_SEQNUM, 1, seq,
                    ),
                )  # fmt: skip
            else:
                pdu = _submit_sm(
                    head, payload.esm_class, receipt, payload.data_coding, payload.short_message
                )
            parts.append(_Part(message, seq - 1, pdu))
        return parts

    def _reference(self, destination: str) -> int:
        """The next concatenation reference for ``destination``: a counter, not a dice roll.

        Kept for the 65,536 destinations used last (I/O thread only).
        """
        value = (self._references.pop(destination, -1) + 1) & 0xFFFF
        self._references[destination] = value
        if len(self._references) > 65536:
            self._references.popitem(last=False)
        return value

    def _source(self, originator: str) -> tuple[int, int, str]:
        if originator.startswith("+") and originator[1:].isdigit():
            ton, npi, addr = 1, 1, originator[1:]
        elif originator.isdigit() or not originator:
            ton, npi, addr = 0, 1, originator
        else:
            ton, npi, addr = 5, 0, originator
        return (
            ton if self.source_ton is None else self.source_ton,
            npi if self.source_npi is None else self.source_npi,
            addr,
        )

    # -- the I/O thread ----------------------------------------------------

    def _wake(self) -> None:
        if not self._woken:
            self._woken = True
            # A full pipe already wakes the thread; a closed one means closing.
            with contextlib.suppress(OSError):
                self._wake_w.send(b"\0")

    def _run_io(self) -> None:
        try:
            self._io_loop()
        except Exception:  # pragma: no cover - a bug; fail every waiter rather than hang
            log.exception("isobil: SMPP I/O thread crashed")
            self._fail_everything(TransportError("the SMPP I/O thread crashed; see the log"))
        finally:
            for session in self._sessions:
                self._disconnect(session)
            self._fail_queued(TransportClosed("SmppTransport closed before sending"))

    def _io_loop(self) -> None:
        closing_deadline: float | None = None
        unbinding = False
        while True:
            now = time.monotonic()
            with self._lock:
                closed = self._closed
            if closed:
                if closing_deadline is None:
                    closing_deadline = now + self.unbind_timeout
                    self._fail_queued(TransportClosed("SmppTransport closed before sending"))
                in_flight = any(s.in_flight for s in self._sessions if s.up)
                if not unbinding and (not in_flight or now >= closing_deadline):
                    unbinding = True
                    closing_deadline = now + self.unbind_timeout
                    for session in self._sessions:
                        self._send_unbind(session)
                if unbinding and (
                    now >= closing_deadline
                    or all(s.unbind_answered or not s.up for s in self._sessions)
                ):
                    self._fail_in_flight(
                        TransportTimeout("SmppTransport closed before the SMSC answered")
                    )
                    return
            elif self._refused is not None:
                self._fail_everything(self._refused)  # queued meanwhile: fails at once
            else:
                for session in self._sessions:
                    if not session.up and now >= session.next_attempt:
                        self._connect(session)
                now = time.monotonic()
                self._pump(now)
            deadline = self._next_deadline(now, closing_deadline)
            readable = [s.sock for s in self._sessions if s.sock is not None]
            try:
                ready, _, _ = select.select([self._wake_r, *readable], [], [], deadline)
            except (OSError, ValueError):  # a socket closed under us; loop to notice
                ready = []
            if self._wake_r in ready:
                try:
                    while self._wake_r.recv(4096):
                        pass
                except OSError:  # BlockingIOError: drained
                    pass
                # Cleared after draining: a wake-up sent meanwhile stays in the pipe. Work
                # queued before it is seen by the _pump at the top of the next round.
                self._woken = False
            now = time.monotonic()
            for session in self._sessions:
                if session.sock is not None and session.sock in ready:
                    self._read(session, now)
            self._timers(time.monotonic())
            for session in self._sessions:
                self._flush(session)

    def _next_deadline(self, now: float, closing: float | None) -> float:
        """Seconds until something is due: a retry, a timer, a rate-limit slot."""
        due = now + 1.0
        if closing is not None:
            due = min(due, closing)
        for session in self._sessions:
            if not session.up:
                if closing is None:
                    due = min(due, session.next_attempt)
                continue
            if session.enquire_sent is None:
                due = min(due, session.last_rx + self.enquire_link_interval)
            else:
                due = min(due, session.enquire_sent + self.request_timeout)
            if session.in_flight:
                first = next(iter(session.in_flight.values()))
                due = min(due, first.sent_at + self.request_timeout)
            if (
                closing is None
                and (self._outbox or self._ready)
                and session.role.transmits
                and len(session.in_flight) < self._flow.window
            ):
                due = min(due, self._flow.next_slot(now))
        return max(0.0, due - now)

    # -- connecting --------------------------------------------------------

    def _connect(self, session: _Session) -> None:
        command = session.role.command
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        except Exception as exc:
            self._bind_failed(session, exc)
            return
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(self.request_timeout)
            bind = _pdu(
                command,
                system_id=self.system_id,
                password=self._password.reveal(),
                system_type=self.system_type,
                addr_ton=self.addr_ton,
                addr_npi=self.addr_npi,
                address_range=self.address_range,
            )
            sequence = self._next_sequence()
            sock.sendall(_with_sequence(bind, sequence))
            status = self._await_bind_resp(sock, session, sequence)
            if status != 0:
                raise status_error(status, command)
        except Exception as exc:
            sock.close()
            self._bind_failed(session, exc)
            return
        now = time.monotonic()
        session.sock = sock
        session.last_rx = now
        session.enquire_sent = None
        session.attempts = 0
        session.down_since = None
        session.unbind_answered = False
        session.last_error = None
        self._stats["binds"] += 1
        log.info(
            "isobil: SMPP %s bound to %s:%d as system_id=%r",
            command,
            self.host,
            self.port,
            self.system_id,
        )
        if all(s.up for s in self._sessions):
            self._bound.set()
            with self._state:
                self._state.notify_all()
        if session.rbuf:  # PDUs that came right behind the bind answer
            self._parse(session, now)

    def _await_bind_resp(self, sock: socket.socket, session: _Session, sequence: int) -> int:
        """Read until the bind's answer; returns its command_status."""
        buffer = bytearray()
        deadline = time.monotonic() + self.request_timeout
        while True:
            while len(buffer) >= 16:
                length, command_id, status, seq = _HEADER.unpack_from(buffer)
                if not 16 <= length <= _MAX_PDU:
                    raise ProtocolError(f"the SMSC answered the bind with a {length}-octet PDU")
                if len(buffer) < length:
                    break
                del buffer[:length]
                if seq == sequence and command_id in (GENERIC_NACK, 0x80000000 | _bind_id(session)):
                    session.rbuf = buffer
                    return int(status)
            if time.monotonic() > deadline:
                raise TransportTimeout(f"no answer to {session.role.command} in time")
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionFailed(
                    f"the SMSC closed the connection during {session.role.command}"
                )
            buffer += chunk

    def _bind_failed(self, session: _Session, exc: BaseException) -> None:
        if isinstance(exc, BindRefused):
            self._refuse(session, exc)
            return
        mapped = map_exception(exc)
        detail = str(mapped) if mapped is not None else type(exc).__name__
        error = ConnectionFailed(f"cannot bind to {self.host}:{self.port}: {detail}")
        error.__cause__ = exc
        session.last_error = error
        session.rbuf = bytearray()
        self._stats["bind_failures"] += 1
        delay = _backoff(self.reconnect_delay, self.max_reconnect_delay, session.attempts)
        session.attempts += 1
        session.next_attempt = time.monotonic() + delay
        log.log(
            # the first failure and every tenth after it: an outage must not flood the log
            logging.WARNING if session.attempts % 10 == 1 else logging.DEBUG,
            "isobil: SMPP %s to %s:%d failed (%s); retrying in %.2f s",
            session.role.command,
            self.host,
            self.port,
            detail,
            delay,
        )

    def _refuse(self, session: _Session, refusal: BindRefused) -> None:
        """A bind refused for good: stop, and fail everything with a clear error."""
        error = BindRefused(
            f"the SMSC at {self.host}:{self.port} refused the bind of system_id "
            f"{self.system_id!r}: {refusal}; not retried, as no retry changes that: "
            "fix the credentials (or system_type) and start again",
            status=refusal.status,
        )
        error.__cause__ = refusal
        self._stats["bind_failures"] += 1
        log.error("isobil: %s", error)
        for other in self._sessions:
            other.last_error = error
            other.next_attempt = float("inf")
            other.rbuf = bytearray()
            if other.up:
                self._disconnect(other)
        self._bound.clear()
        self._refused = error
        self._fail_everything(error)
        with self._state:
            self._state.notify_all()

    def _drop(self, session: _Session, reason: str) -> None:
        """The connection is gone: requeue or fail what it carried, plan the reconnect."""
        if not session.up:
            return
        self._disconnect(session)
        self._bound.clear()
        self._stats["disconnects"] += 1
        now = time.monotonic()
        session.down_since = now
        session.next_attempt = now + _backoff(self.reconnect_delay, self.max_reconnect_delay, 0)
        session.attempts = 1
        session.last_error = ConnectionFailed(
            f"connection to {self.host}:{self.port} lost: {reason}"
        )
        unanswered = list(session.in_flight.values())
        session.in_flight.clear()
        with self._lock:
            closed = self._closed
        log.log(
            logging.DEBUG if closed and not unanswered else logging.WARNING,
            "isobil: SMPP connection to %s:%d lost (%s); %d submit_sm unanswered",
            self.host,
            self.port,
            reason,
            len(unanswered),
        )
        if self.resubmit_unanswered and not closed:
            live = [p for p in unanswered if not p.message.finished]
            self._stats["resubmitted"] += len(live)
            self._ready.extendleft(reversed(live))
        else:
            for part in unanswered:
                self._part_failed(
                    part,
                    TransportTimeout(
                        f"connection lost before the SMSC answered the submit_sm to "
                        f"{phone.mask(part.message.sms.to)}; it may or may not have been accepted"
                    ),
                )

    def _disconnect(self, session: _Session) -> None:
        sock, session.sock = session.sock, None
        session.rbuf = bytearray()
        session.wbuf = []
        session.enquire_sent = None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()

    def _send_unbind(self, session: _Session) -> None:
        if session.up:
            session.unbind_answered = False
            self._queue_pdu(session, _with_sequence(_UNBIND, self._next_sequence()))
            self._flush(session)

    # -- sending -----------------------------------------------------------

    def _pump(self, now: float) -> None:
        """Send queued parts while the window, the rate limit and any back-off allow."""
        sender = next((s for s in self._sessions if s.role.transmits), None)
        if sender is None or not sender.up:
            return
        if not self._ready and not self._outbox:
            return
        room = self._flow.room(now, len(sender.in_flight))
        if room <= 0:
            return
        if len(self._ready) < room:
            with self._lock:
                taken = [self._outbox.popleft() for _ in range(min(room, len(self._outbox)))]
            for message in taken:
                try:
                    self._ready.extend(self._build(message))
                except Exception as exc:
                    self._finish(message, SubmitResult(message.sms.id, error=_build_error(exc)))
        chunks: list[bytes] = []
        ready = self._ready
        # A message goes on the wire right after the last look, within it: an opt-out
        # recorded before the look stops it; one recorded after it finds it gone.
        with self.last_look:
            while room > 0 and ready:
                part = ready.popleft()
                message = part.message
                if message.finished:
                    continue  # an earlier part of it failed: the rest is not sent
                if part.index == 0 and not message.accepted:
                    refusal = self.last_look.refusal(message.sms)
                    if refusal is not None:
                        self._finish(message, SubmitResult(message.sms.id, error=refusal))
                        continue
                sequence = self._next_sequence()
                part.sent_at = now
                sender.in_flight[sequence] = part
                chunks.append(_with_sequence(part.pdu, sequence))
                room -= 1
            if not chunks:
                return
            self._flow.sent(now, len(chunks))
            self._stats["parts_sent"] += len(chunks)
            sender.wbuf.extend(chunks)
            self._flush(sender)

    def _queue_pdu(self, session: _Session, pdu: bytes) -> None:
        session.wbuf.append(pdu)

    def _flush(self, session: _Session) -> None:
        if not session.wbuf or session.sock is None:
            return
        data = b"".join(session.wbuf)
        session.wbuf = []
        try:
            session.sock.sendall(data)
        except Exception as exc:
            self._drop(session, str(map_exception(exc) or exc))

    def _next_sequence(self) -> int:
        sequence = next(self._sequence)
        if sequence > _MAX_SEQUENCE:
            self._sequence = itertools.count(2)
            return 1
        return sequence

    # -- reading -----------------------------------------------------------

    def _read(self, session: _Session, now: float) -> None:
        sock = session.sock
        if sock is None:
            return
        try:
            chunk = sock.recv(262144)
        except Exception as exc:
            self._drop(session, str(map_exception(exc) or exc))
            return
        if not chunk:
            self._drop(session, "closed by the SMSC")
            return
        if _QUICKACK is not None:
            # Acknowledge at once. An SMSC that leaves Nagle on holds its last answers
            # until our ACK, which Linux delays up to 40 ms when we have nothing to send:
            # the tail of every batch would stall. (The flag does not stick: set per read.)
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
        session.last_rx = now
        session.rbuf += chunk
        self._parse(session, now)

    def _parse(self, session: _Session, now: float) -> None:
        buffer = session.rbuf
        offset = 0
        end = len(buffer)
        while end - offset >= 16:
            length, command_id, status, sequence = _HEADER.unpack_from(buffer, offset)
            if not 16 <= length <= _MAX_PDU:
                self._stats["malformed"] += 1
                log.error(
                    "isobil: SMSC sent a PDU with command_length %d; the stream cannot be "
                    "resynchronised, reconnecting",
                    length,
                )
                self._drop(session, f"unframeable PDU (command_length {length})")
                return
            if end - offset < length:
                break
            pdu = bytes(buffer[offset : offset + length])
            offset += length
            self._handle(session, command_id, status, sequence, pdu, now)
            if session.sock is None:
                return  # the handler dropped the session (unbind from the SMSC)
        del buffer[:offset]

    def _handle(
        self, session: _Session, command_id: int, status: int, sequence: int, pdu: bytes, now: float
    ) -> None:
        if command_id == SUBMIT_SM_RESP:
            self._submit_resp(session, status, sequence, pdu, now)
        elif command_id in (DELIVER_SM, DATA_SM):
            self._deliver(session, command_id, sequence, pdu)
        elif command_id == ENQUIRE_LINK_RESP:
            session.enquire_sent = None
        elif command_id == ENQUIRE_LINK:
            self._queue_pdu(session, _with_sequence(_ENQUIRE_LINK_RESP, sequence))
        elif command_id == GENERIC_NACK:
            if sequence in session.in_flight:
                self._submit_resp(session, status or 0x08, sequence, pdu, now)
            else:
                log.warning("isobil: SMSC sent generic_nack %s", status_name(status))
        elif command_id == UNBIND:
            self._queue_pdu(session, _with_sequence(_UNBIND_RESP, sequence))
            self._flush(session)
            self._drop(session, "unbound by the SMSC")
        elif command_id == UNBIND_RESP:
            session.unbind_answered = True
        elif command_id == ALERT_NOTIFICATION:
            pass  # a handset became reachable: nothing to do, no answer expected
        elif command_id & 0x80000000:
            log.debug("isobil: ignoring an SMPP response 0x%08x", command_id)
        else:
            self._stats["malformed"] += 1
            log.warning(
                "isobil: SMSC sent unsupported command 0x%08x; answered generic_nack", command_id
            )
            self._queue_pdu(session, _generic_nack(ESME_RINVCMDID, sequence))

    def _submit_resp(
        self, session: _Session, status: int, sequence: int, pdu: bytes, now: float
    ) -> None:
        part = session.in_flight.pop(sequence, None)
        if part is None:
            log.warning(
                "isobil: submit_sm_resp for unknown sequence %d (%s) ignored: answered after "
                "its timeout?",
                sequence,
                status_name(status),
            )
            return
        if status == 0:
            self._flow.accepted(now, part.sent_at)
            self._throttled_since = None
            self._stats["parts_accepted"] += 1
            end = pdu.find(b"\0", 16)
            raw_id = pdu[16 : end if end >= 0 else len(pdu)]
            message_id = raw_id.decode("ascii", "replace")
            self._part_accepted(part, message_id)
        elif status in BACK_OFF_STATUSES:
            self._throttle(part, status, now)
        else:
            self._stats["parts_rejected"] += 1
            self._part_failed(
                part, status_error(status, f"submit_sm to {phone.mask(part.message.sms.to)}")
            )

    def _throttle(self, part: _Part, status: int, now: float) -> None:
        """A part refused for the rate: adapt the flow and send it again, or give up."""
        self._stats["throttled"] += 1
        part.throttles += 1
        if self._throttled_since is None:
            self._throttled_since = now
        refusing_for = now - self._throttled_since
        limit = self.max_throttle_retries
        if refusing_for >= self.throttle_give_up or (limit is not None and part.throttles > limit):
            self._stats["parts_rejected"] += 1
            why = (
                f"{part.throttles} times"
                if limit is not None and part.throttles > limit
                else f"for {refusing_for:.1f} s without accepting a single submit_sm"
            )
            self._part_failed(
                part,
                Throttled(
                    f"submit_sm to {phone.mask(part.message.sms.to)} refused with "
                    f"{status_name(status)} {why}; gave up",
                    code=status_name(status),
                ),
            )
            return
        flow = self._flow
        if flow.throttled(now, part.sent_at):
            log.log(
                # the first cut, then every tenth: a learned ceiling is probed now and then
                logging.WARNING if flow.cuts % 10 == 1 else logging.DEBUG,
                "isobil: SMSC answered %s; pacing submits at %.2f/s, window %d (%d cut(s) so far)",
                status_name(status),
                flow.rate or 0.0,
                int(flow.window),
                flow.cuts,
            )
        self._ready.appendleft(part)

    def _part_accepted(self, part: _Part, message_id: str) -> None:
        message = part.message
        if message.finished:
            log.warning(
                "isobil: part %d of a message to %s accepted as %s after the message failed",
                part.index + 1,
                phone.mask(message.sms.to),
                message_id,
            )
            self._book.accepted(message_id)
            self._book.submit_failed([message_id])  # reported failed: its receipt is dropped
            return
        message.ids[part.index] = message_id
        message.accepted += 1
        self._book.accepted(message_id)
        if message.accepted == len(message.ids):
            ids = tuple(i for i in message.ids if i is not None)
            # Every part's id goes out: a receipt names its part, and may reach any bind.
            result = SubmitResult(message.sms.id, provider_id=ids[0], part_ids=ids)
            self._finish(message, result)

    def _part_failed(self, part: _Part, error: TransportError) -> None:
        message = part.message
        if message.finished:
            return
        self._book.submit_failed(message.ids)
        if message.accepted and len(message.ids) > 1:
            error = _with_note(
                error,
                f" (part {part.index + 1} of {len(message.ids)}; "
                f"{message.accepted} part(s) were already accepted by the SMSC)",
            )
        self._finish(message, SubmitResult(message.sms.id, error=error))

    def _finish(self, message: _Message, result: SubmitResult) -> None:
        if message.finished:
            return
        message.finished = True
        batch = message.batch
        batch.results[message.index] = result
        batch.remaining -= 1
        if batch.remaining == 0:
            batch.done.set()

    # -- receipts and inbound ----------------------------------------------

    def _deliver(self, session: _Session, command_id: int, sequence: int, pdu: bytes) -> None:
        command = "deliver_sm" if command_id == DELIVER_SM else "data_sm"
        try:
            parsed = smpplib.smpp.parse_pdu(
                pdu, client=None, sequence=0, allow_unknown_opt_params=True
            )
            event_source = _Delivered.from_pdu(parsed)
        except Exception as exc:
            self._stats["malformed"] += 1
            log.error(
                "isobil: malformed %s from the SMSC (%s); answered %s",
                command,
                map_exception(exc),
                status_name(ESME_RX_P_APPN),
            )
            self._queue_pdu(session, _response(command_id, ESME_RX_P_APPN, sequence))
            return
        if event_source.is_receipt:
            self._receipt(event_source)
        else:
            self._inbound(event_source)
        self._queue_pdu(session, _response(command_id, 0, sequence))

    def _receipt(self, delivered: _Delivered) -> None:
        text = parse_receipt_text(delivered.text_for_receipt(), self.receipt_timezone)
        provider_id = delivered.receipted_message_id or (text.message_id if text else None)
        if provider_id is None:
            self._stats["malformed"] += 1
            log.warning("isobil: delivery receipt without a message id ignored")
            return
        if delivered.message_state is not None:
            status = MESSAGE_STATES.get(delivered.message_state, DeliveryStatus.UNKNOWN)
        elif text is not None:
            status = text.status
        else:
            status = DeliveryStatus.UNKNOWN
        error_code = text.err if text is not None and text.err else delivered.network_error
        done_at = text.done_date if text is not None else None
        self._stats["receipts"] += 1
        report = self._book.receipt(provider_id, status, error_code, done_at)
        if report is not None:
            self._events.put(report)

    def _inbound(self, delivered: _Delivered) -> None:
        self._stats["inbound"] += 1
        part, clean = decode_best_effort(delivered.body, delivered.data_coding, delivered.esm_class)
        if not clean:
            self._stats["malformed"] += 1
            log.warning(
                "isobil: inbound text from %s with data_coding %d could not be decoded cleanly",
                phone.mask(delivered.source),
                delivered.data_coding,
            )
        if delivered.sar is not None:
            reference, total, seq = delivered.sar
            part = DecodedPart(part.text, reference, total, seq)
        for whole in self._reassembler.add(delivered.source, delivered.destination, part):
            self._events.put(self._inbound_event(whole))

    def _inbound_event(self, whole: Assembled) -> InboundSms:
        return InboundSms(whole.from_, whole.to, whole.text, datetime.now(UTC), None)

    # -- timers ------------------------------------------------------------

    def _timers(self, now: float) -> None:
        for session in self._sessions:
            if not session.up:
                continue
            if session.enquire_sent is not None:
                if now - session.enquire_sent > self.request_timeout:
                    self._drop(session, "no answer to enquire_link")
                    continue
            elif now - session.last_rx >= self.enquire_link_interval:
                session.enquire_sent = now
                self._queue_pdu(session, _with_sequence(_ENQUIRE_LINK, self._next_sequence()))
            while session.in_flight:
                sequence, part = next(iter(session.in_flight.items()))
                if now - part.sent_at < self.request_timeout:
                    break
                del session.in_flight[sequence]
                self._stats["timeouts"] += 1
                self._part_failed(
                    part,
                    TransportTimeout(
                        f"no submit_sm_resp for {phone.mask(part.message.sms.to)} within "
                        f"{self.request_timeout:g} s; the SMSC may or may not have accepted it"
                    ),
                )
        sender = next(s for s in self._sessions if s.role.transmits)
        if not sender.up and (self._outbox or self._ready):
            self._give_up_queued(now, sender)
        if now >= self._next_expiry:
            self._next_expiry = now + 1.0
            for whole in self._reassembler.expire():
                self._events.put(self._inbound_event(whole))

    def _give_up_queued(self, now: float, sender: _Session) -> None:
        down_since = sender.down_since if sender.down_since is not None else now
        cutoff = now - self.give_up_after
        if down_since > cutoff:
            return
        error = sender.last_error or ConnectionFailed(f"not bound to {self.host}:{self.port}")
        failure = ConnectionFailed(f"gave up after {self.give_up_after:g} s: {error}")
        with self._lock:
            expired = [m for m in self._outbox if m.queued_at <= cutoff]
            if expired:
                self._outbox = deque(m for m in self._outbox if m.queued_at > cutoff)
        for message in expired:
            self._finish(message, SubmitResult(message.sms.id, error=failure))
        parts = [p for p in self._ready if p.message.queued_at <= cutoff]
        if parts:
            self._ready = deque(p for p in self._ready if p.message.queued_at > cutoff)
        for part in parts:
            self._part_failed(part, failure)

    def _fail_queued(self, error: TransportError) -> None:
        with self._lock:
            queued, self._outbox = list(self._outbox), deque()
        for message in queued:
            self._finish(message, SubmitResult(message.sms.id, error=error))
        parts, self._ready = list(self._ready), deque()
        for part in parts:
            self._part_failed(part, error)

    def _fail_in_flight(self, error: TransportError) -> None:
        for session in self._sessions:
            parts = list(session.in_flight.values())
            session.in_flight.clear()
            for part in parts:
                self._part_failed(part, error)

    def _fail_everything(self, error: TransportError) -> None:
        self._fail_queued(error)
        self._fail_in_flight(error)

    # -- the event thread --------------------------------------------------

    def _run_dispatch(self) -> None:
        while True:
            event = self._events.get()
            if event is None:
                return
            burst = [event]
            stop = False
            while len(burst) < self.event_burst:
                try:
                    more = self._events.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                burst.append(more)
            self._hand_over(burst)
            if stop:
                return

    def _hand_over(self, burst: list[InboundEvent]) -> None:
        """Receipts together; inbound texts one at a time, each failure its own.

        The SMSC was answered already, so nothing is sent again: a handler that
        fails loses only the event it failed on. Receipts that failed together
        are handed over again one at a time (a repeated receipt changes nothing
        twice); an inbound text — an opt-out, say — is never lost to a failure
        elsewhere in its burst.
        """
        receipts = [e for e in burst if isinstance(e, DeliveryReport)]
        if len(receipts) > 1 and hasattr(self._handler, "handle_many"):
            try:
                self._emit_many(receipts)
                receipts = []
            except Exception:
                log.exception("isobil: %d receipts failed together; one at a time", len(receipts))
        for event in receipts + [e for e in burst if not isinstance(e, DeliveryReport)]:
            try:
                self._emit(event)
            except Exception:
                log.exception("isobil: inbound handler failed on %s", type(event).__name__)


@attrs.frozen
class _Delivered:
    """The fields of a deliver_sm/data_sm that matter, read from smpplib's parse."""

    source: str
    destination: str
    esm_class: int
    data_coding: int
    body: bytes
    receipted_message_id: str | None
    message_state: int | None
    network_error: str | None
    sar: tuple[int, int, int] | None

    @property
    def is_receipt(self) -> bool:
        return (
            self.esm_class & 0x3C
        ) in _RECEIPT_ESM_TYPES or self.receipted_message_id is not None

    def text_for_receipt(self) -> str:
        return self.body.decode("latin-1")

    @classmethod
    def from_pdu(cls, pdu: Any) -> _Delivered:
        def text(value: object) -> str:
            if isinstance(value, bytes):
                return value.rstrip(b"\0").decode("ascii", "replace")
            return "" if value is None else str(value)

        esm_class = int(getattr(pdu, "esm_class", 0) or 0)
        body = getattr(pdu, "short_message", None) or getattr(pdu, "message_payload", None) or b""
        source = text(getattr(pdu, "source_addr", ""))
        ton = int(getattr(pdu, "source_addr_ton", 0) or 0)
        receipted = getattr(pdu, "receipted_message_id", None)
        network_error = getattr(pdu, "network_error_code", None)
        state = getattr(pdu, "message_state", None)
        sar_fields = [
            getattr(pdu, name, None)
            for name in ("sar_msg_ref_num", "sar_total_segments", "sar_segment_seqnum")
        ]
        sar = tuple(int(v) for v in sar_fields if v is not None)
        is_receipt = (esm_class & 0x3C) in _RECEIPT_ESM_TYPES or receipted is not None
        return cls(
            source=source if is_receipt else _sender(source, ton),
            destination=text(getattr(pdu, "destination_addr", "")),
            esm_class=esm_class,
            data_coding=int(getattr(pdu, "data_coding", 0) or 0),
            body=bytes(body),
            receipted_message_id=(text(receipted) or None) if receipted is not None else None,
            message_state=int(state) if state is not None else None,
            network_error=_network_error(network_error),
            sar=(sar[0], sar[1], sar[2]) if len(sar) == 3 and sar[1] > 1 else None,
        )


def _build_error(exc: Exception) -> TransportError:
    """A message smpplib cannot put into a submit_sm (an address too long, say)."""
    return SubmitRejected(f"cannot build the submit_sm: {type(exc).__name__}: {exc}")


def _with_note(error: TransportError, note: str) -> TransportError:
    """``error`` again, same class (and code), with ``note`` appended to its message."""
    if isinstance(error, SubmitRejected):
        noted: TransportError = SubmitRejected(f"{error}{note}", code=error.code)
    else:
        noted = type(error)(f"{error}{note}")
    noted.__cause__ = error.__cause__
    return noted


def _sender(address: str, ton: int) -> str:
    """An MO sender in E.164 when it is a phone number; as given otherwise (alphanumeric)."""
    candidate = f"+{address}" if ton == 1 and address.isdigit() else address
    try:
        return phone.normalize(candidate)
    except InvalidValue:
        return address


def _network_error(value: object) -> str | None:
    """network_error_code is 3 octets: network type, then a 2-octet error code."""
    if isinstance(value, bytes | bytearray) and len(value) == 3:
        return f"{int.from_bytes(value[1:], 'big'):03d}"
    return None


def without_concatenation(udh: bytes) -> bytes:
    """``udh`` without its concatenation IE (for SAR), or b"" when nothing else is left."""
    if not udh:
        return b""
    kept = bytearray()
    pos, end = 1, 1 + udh[0]
    while pos + 1 < end:
        iei, length = udh[pos], udh[pos + 1]
        if iei not in (0x00, 0x08):
            kept += udh[pos : pos + 2 + length]
        pos += 2 + length
    return bytes((len(kept),)) + bytes(kept) if kept else b""


def _bind_id(session: _Session) -> int:
    return {
        _Role.TRX: BIND_TRANSCEIVER,
        _Role.TX: BIND_TRANSMITTER,
        _Role.RX: BIND_RECEIVER,
    }[session.role]


def _pdu(command: str, **fields: Any) -> bytes:
    """A PDU built by smpplib, with sequence number 0 (set by :func:`_with_sequence`)."""
    pdu = smpplib.smpp.make_pdu(command, client=None, sequence=0, **fields)
    return bytes(pdu.generate())


def _cstring(value: str, size: int) -> bytes:
    """A C-Octet String field of at most ``size`` octets with its NUL, as smpplib writes
    it: cut to ``size - 1`` characters, Latin-1 (UnicodeEncodeError otherwise)."""
    return value[: size - 1].encode("latin-1") + b"\0"


def _submit_sm_head(
    service_type: str,
    source_ton: int,
    source_npi: int,
    source: str,
    dest_ton: int,
    dest_npi: int,
    destination: str,
) -> bytes:
    """The body of a submit_sm from service_type to destination_addr (SMPP 3.4 §4.4.1)."""
    return b"".join(
        (
            _cstring(service_type, 6),
            _ADDR_TYPE.pack(source_ton, source_npi),
            _cstring(source, 21),
            _ADDR_TYPE.pack(dest_ton, dest_npi),
            _cstring(destination, 21),
        )
    )


def _submit_sm(
    head: bytes,
    esm_class: int,
    registered_delivery: int,
    data_coding: int,
    short_message: bytes,
    tlvs: bytes = b"",
) -> bytes:
    """A whole submit_sm with sequence number 0, byte for byte what smpplib's
    ``make_pdu("submit_sm", ...).generate()`` gives for the same fields (no
    schedule or validity, protocol_id and priority 0), at a tenth of its cost:
    it is built for every part sent."""
    body = b"".join(
        (
            head,
            _SUBMIT_SM_FIELDS.pack(
                esm_class,
                0,  # protocol_id
                0,  # priority_flag
                0,  # schedule_delivery_time: "" (its NUL)
                0,  # validity_period: "" (its NUL)
                registered_delivery,
                0,  # replace_if_present_flag
                data_coding,
                0,  # sm_default_msg_id
                len(short_message),
            ),
            short_message,
            tlvs,
        )
    )
    return _HEADER.pack(16 + len(body), SUBMIT_SM, 0, 0) + body


def _with_sequence(pdu: bytes, sequence: int) -> bytes:
    return pdu[:12] + _SEQ.pack(sequence) + pdu[16:]


def _response(command_id: int, status: int, sequence: int) -> bytes:
    """A deliver_sm_resp/data_sm_resp with an empty message_id."""
    body = b"\0"
    return _HEADER.pack(16 + len(body), command_id | 0x80000000, status, sequence) + body


def _generic_nack(status: int, sequence: int) -> bytes:
    return _HEADER.pack(16, GENERIC_NACK, status, sequence)


_ENQUIRE_LINK: Final = _pdu("enquire_link")
_ENQUIRE_LINK_RESP: Final = _pdu("enquire_link_resp")
_UNBIND: Final = _pdu("unbind")
_UNBIND_RESP: Final = _pdu("unbind_resp")


def _check_config(
    *,
    system_id: str,
    password: str,
    bind: str,
    window: int,
    throughput: float | None,
    timeouts: dict[str, float],
    delays: dict[str, float],
) -> None:
    if not system_id or len(system_id) > _SMPP_SYSTEM_ID_MAX:
        raise ConfigurationError(
            f"system_id must be 1-{_SMPP_SYSTEM_ID_MAX} characters, got {len(system_id)}"
        )
    # The length only: nothing of the password itself goes into a message.
    if len(password) > _SMPP_PASSWORD_MAX:
        raise ConfigurationError(
            f"an SMPP 3.4 password has at most {_SMPP_PASSWORD_MAX} characters; "
            f"the one given has {len(password)}"
        )
    try:
        password.encode("latin-1")  # what the bind PDU is written in
    except UnicodeEncodeError:
        raise ConfigurationError(
            "an SMPP password must be Latin-1 text (the bind writes it in Latin-1); the "
            "one given is not"
        ) from None
    if bind not in ("transceiver", "transmitter+receiver"):
        raise ConfigurationError(
            f"bind must be 'transceiver' or 'transmitter+receiver', got {bind!r}"
        )
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ConfigurationError(f"window must be an int >= 1, got {window!r}")
    if throughput is not None and not throughput > 0:
        raise ConfigurationError(f"throughput must be > 0 messages/s or None, got {throughput!r}")
    for name, value in timeouts.items():
        if not value > 0:
            raise ConfigurationError(f"{name} must be > 0 seconds, got {value!r}")
    for name, value in delays.items():
        if not value >= 0:
            raise ConfigurationError(f"{name} must be >= 0 seconds, got {value!r}")
