"""A real SMPP server for tests: smpp34's SMSC in a subprocess, driven from the test.

:class:`SmscSimulator` starts ``smpp34.Server`` (a Rust-backed SMPP 3.4 server,
PyPI ``smpp34``) on a free loopback port in a child process, records every
``submit_sm`` it accepts, and lets the test play the network: delivery receipts,
inbound texts, throttling and refusals, a crash and a restart on the same port.
It is the :class:`~isobil.testing.transport.Peer` of an SMPP transport::

    with SmscSimulator() as smsc:
        transport = SmppTransport(smsc.host, smsc.port, system_id="test", password="x")
        ...
        smsc.deliver(result.provider_id, DeliveryStatus.DELIVERED)

Importing this module does not need smpp34; starting a simulator does, and
fails with :class:`SmscUnavailable` saying how to install it when it is missing.

What smpp34 does itself: binds (any password is accepted), answers
``enquire_link``, acks ``deliver_sm_resp``. Two modes play a strict server:
``max_rate=N`` accepts at most N ``submit_sm`` a second with no burst (one at
least 1/N s after the previous accepted one, as Jasmin's per-user throughput
does) and answers ESME_RTHROTTLED to the others; ``password=`` (and
``system_id=``) refuses a bind with other credentials (ESME_RINVPASWD,
ESME_RINVSYSID) before it reaches smpp34. It often closes a session without
sending ``unbind_resp``. The child process speaks JSON lines with the parent:
events out on stdout, commands in on stdin.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Final, Self

import attrs

from isobil import phone, sms
from isobil._time import ISTANBUL
from isobil.transport import DeliveryStatus
from isobil.transport._smpp import without_concatenation
from isobil.transport._smpp_errors import ESME_RINVPASWD, ESME_RINVSYSID, ESME_RTHROTTLED

__all__ = [
    "ReceivedMessage",
    "ReceivedPart",
    "SmscSimulator",
    "SmscUnavailable",
]


#: How long :class:`SmscSimulator` waits for its server process to answer.
STARTUP_TIMEOUT: Final = 15.0

ESME_STATUS: Final = {
    "ESME_RTHROTTLED": 0x58,
    "ESME_RMSGQFUL": 0x14,
    "ESME_RINVDSTADR": 0x0B,
    "ESME_RSUBMITFAIL": 0x45,
    "ESME_RSYSERR": 0x08,
    "ESME_RINVSRCADR": 0x0A,
}

_STAT: Final = {
    DeliveryStatus.DELIVERED: ("DELIVRD", 2),
    DeliveryStatus.UNDELIVERED: ("UNDELIV", 5),
    DeliveryStatus.EXPIRED: ("EXPIRED", 3),
    DeliveryStatus.REJECTED: ("REJECTD", 8),
    DeliveryStatus.UNKNOWN: ("UNKNOWN", 7),
    DeliveryStatus.PENDING: ("ENROUTE", 1),
}

TLV_RECEIPTED_MESSAGE_ID: Final = 0x001E
TLV_MESSAGE_STATE: Final = 0x0427
TLV_NETWORK_ERROR_CODE: Final = 0x0423
TLV_SAR_MSG_REF_NUM: Final = 0x020C
TLV_SAR_TOTAL_SEGMENTS: Final = 0x020E
TLV_SAR_SEGMENT_SEQNUM: Final = 0x020F


class SmscUnavailable(RuntimeError):
    """Raised when the simulated SMSC cannot start (smpp34 missing, no free port …)."""


@attrs.frozen
class ReceivedPart:
    """One ``submit_sm`` the server accepted, as it arrived.

    ``accepted_at`` is when the server accepted it, on the machine's monotonic
    clock (``time.monotonic()`` of any process on the same host).
    """

    message_id: str
    session_id: str
    destination: str
    source: str
    source_ton: int
    dest_ton: int
    esm_class: int
    data_coding: int
    registered_delivery: int
    short_message: bytes
    tlvs: tuple[tuple[int, bytes], ...]
    accepted_at: float = 0.0

    @property
    def udh(self) -> bytes:
        """The user data header, with its length octet (b"" when there is none)."""
        if not self.esm_class & 0x40 or not self.short_message:
            return b""
        return self.short_message[: 1 + self.short_message[0]]

    def tlv(self, tag: int) -> bytes | None:
        """The value of the TLV ``tag``, if present."""
        return next((v for t, v in self.tlvs if t == tag), None)


@attrs.frozen
class ReceivedMessage:
    """A whole message the server received: its parts joined, destination in E.164."""

    to: str = attrs.field(repr=phone.mask)
    text: str
    parts: tuple[ReceivedPart, ...] = attrs.field(repr=False)

    @property
    def provider_id(self) -> str:
        """The id the server gave the first part (what a transport reports)."""
        return self.parts[0].message_id

    @property
    def originator(self) -> str:
        """The source address of the message."""
        return self.parts[0].source


class SmscSimulator:
    """An SMPP server on ``127.0.0.1`` in a child process, and the test's handle on it.

    ``port=0`` picks a free port. ``receipts`` chooses how receipts are written:
    ``"both"`` (TLVs and the appendix B text, the default), ``"tlv"`` or
    ``"text"``; ``extra_tlvs`` adds vendor TLVs to every receipt and inbound text
    (to check that unknown TLVs are tolerated). ``receipt_routing`` chooses the
    bind a receipt goes to: ``"submitter"`` (the session that sent the part,
    while it is bound; the default) or ``"round_robin"`` (every receiving bind
    of the account in turn, part by part, as Jasmin does). ``max_rate``
    (submits/s) makes it a server that allows no burst and throttles beyond;
    ``password`` and ``system_id`` make it refuse binds with other credentials.
    """

    def __init__(
        self,
        port: int = 0,
        *,
        receipts: str = "both",
        extra_tlvs: Sequence[tuple[int, bytes]] = (),
        receipt_routing: str = "submitter",
        max_rate: float | None = None,
        password: str | None = None,
        system_id: str | None = None,
        start: bool = True,
    ) -> None:
        if max_rate is not None and not max_rate > 0:
            raise ValueError(f"max_rate must be > 0 submits/s, got {max_rate!r}")
        self.max_rate = max_rate
        self.password = password
        self.system_id = system_id
        self._bind_refusals: list[dict[str, Any]] = []
        if receipts not in ("both", "tlv", "text"):
            raise ValueError(f"receipts must be 'both', 'tlv' or 'text', got {receipts!r}")
        if receipt_routing not in ("submitter", "round_robin"):
            raise ValueError(
                f"receipt_routing must be 'submitter' or 'round_robin', got {receipt_routing!r}"
            )
        self.receipt_routing = receipt_routing
        self._receipt_sessions: list[str] = []
        self.host = "127.0.0.1"
        self.port = port
        self.receipts = receipts
        self.extra_tlvs = tuple(extra_tlvs)
        self._cond = threading.Condition()
        self._parts: list[ReceivedPart] = []
        self._messages: list[ReceivedMessage] = []
        self._by_part_id: dict[str, ReceivedMessage] = {}
        self._groups: dict[tuple[str, str, int, int], dict[int, ReceivedPart]] = {}
        self._refused: list[tuple[str, int]] = []
        self._binds: list[dict[str, Any]] = []
        self._live_sessions: dict[str, dict[str, Any]] = {}
        self._delivered: set[str] = set()
        self._frozen_tokens: set[int] = set()
        self._pongs: set[int] = set()
        self._tokens = 0
        self._references: dict[str, int] = {}
        self._generation = 0
        self._started: bool | str | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._stderr_tail: deque[str] = deque(maxlen=40)
        self._stderr_reader: threading.Thread | None = None
        if start:
            self.start()

    # -- lifetime ----------------------------------------------------------

    def start(self) -> None:
        """Start the server process (on ``port``, or a free one); wait until it listens."""
        if self.running:
            return
        attempts = 5 if self.port == 0 else 1
        for attempt in range(attempts):
            port = self.port or _free_port()
            error = self._spawn(port)
            if error is None:
                self.port = port
                return
            if "in use" not in error or attempt == attempts - 1:
                raise SmscUnavailable(f"the simulated SMSC did not start on port {port}: {error}")
        raise AssertionError("unreachable")  # pragma: no cover

    def kill(self, *, quiesce: bool = False) -> None:
        """Crash the server: SIGKILL, no unbind, sessions cut.

        With ``quiesce=True`` the server first stops answering ``submit_sm`` and
        makes sure every answer it already gave has been read by the client (a
        receipt with no id, sent behind them on the same connection, comes back
        acknowledged); the crash then loses exactly the unanswered submits. A
        plain kill can land between recording a submit and its answer reaching
        the client, which a client can only resolve by sending it again.
        """
        if not self.running:
            return
        if quiesce:
            token = self._command_with_token({"cmd": "freeze"})
            self._wait(lambda: token in self._frozen_tokens or not self.running, "quiesce")
        proc = self._proc
        assert proc is not None
        proc.kill()
        self._reap()

    def restart(self) -> None:
        """Start the server again on the same port, after :meth:`kill` or :meth:`close`."""
        if self.running:
            self.kill()
        error = self._spawn(self.port)
        if error is not None:
            raise SmscUnavailable(
                f"the simulated SMSC did not restart on port {self.port}: {error}"
            )

    def close(self) -> None:
        """Stop the server process. Idempotent; what was received stays readable."""
        if not self.running:
            self._reap()
            return
        self._command({"cmd": "stop"})
        proc = self._proc
        assert proc is not None
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
        self._reap()

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return (
            f"<SmscSimulator {self.host}:{self.port} {state} messages={len(self._messages)} "
            f"parts={len(self._parts)}>"
        )

    # -- what arrived --------------------------------------------------------

    def sync(self) -> None:
        """Wait until every event the server emitted so far has been read here.

        The server records a submit before answering it, so after ``sync`` every
        message a client saw accepted is in :meth:`received`. The getters call it.
        """
        if not self.running:
            return
        try:
            token = self._command_with_token({"cmd": "ping"})
        except (OSError, SmscUnavailable):
            return  # it died meanwhile: what it sent before is all there is
        self._wait(lambda: token in self._pongs or not self.running, "ping")

    def received(self) -> list[tuple[str, str]]:
        """Every whole message received, as (E.164 destination, text), in order of completion."""
        self.sync()
        with self._cond:
            return [(m.to, m.text) for m in self._messages]

    def messages(self) -> list[ReceivedMessage]:
        """Every whole message received, with its parts."""
        self.sync()
        with self._cond:
            return list(self._messages)

    def parts(self) -> list[ReceivedPart]:
        """Every ``submit_sm`` accepted, in order of arrival (resubmissions included)."""
        self.sync()
        with self._cond:
            return list(self._parts)

    def refused(self) -> list[tuple[str, int]]:
        """Every ``submit_sm`` refused by injection, as (destination, command_status)."""
        self.sync()
        with self._cond:
            return list(self._refused)

    def binds(self) -> list[dict[str, Any]]:
        """Every bind, as ``{"session_id", "system_id", "can_receive"}``, in order."""
        with self._cond:
            return list(self._binds)

    def bind_refusals(self) -> list[dict[str, Any]]:
        """Every bind refused for its credentials, as ``{"system_id", "status", "at"}``
        (``at`` on the monotonic clock), in order."""
        self.sync()
        with self._cond:
            return list(self._bind_refusals)

    def receipt_sessions(self) -> list[str]:
        """The session each receipt was handed to, in order (for ``receipt_routing`` tests)."""
        self.sync()
        with self._cond:
            return list(self._receipt_sessions)

    def message(self, provider_id: str) -> ReceivedMessage:
        """The message one of whose parts has ``provider_id``."""
        self.sync()
        with self._cond:
            found = self._by_part_id.get(provider_id)
        if found is None:
            raise KeyError(f"the simulated SMSC gave no message the id {provider_id!r}")
        return found

    def wait_for_messages(self, count: int, timeout: float = 10.0) -> list[ReceivedMessage]:
        """Block until at least ``count`` whole messages arrived; return them."""
        self._wait(lambda: len(self._messages) >= count, f"{count} messages", timeout)
        return self.messages()

    def wait_for_binds(self, count: int, timeout: float = 10.0) -> None:
        """Block until ``count`` binds have happened since the simulator started."""
        self._wait(lambda: len(self._binds) >= count, f"{count} binds", timeout)

    # -- playing the network -------------------------------------------------

    def deliver(
        self,
        provider_id: str,
        status: DeliveryStatus | str = DeliveryStatus.DELIVERED,
        error_code: str | None = None,
        *,
        parts: Iterable[int] | None = None,
    ) -> None:
        """Send a delivery receipt for every part of the message with ``provider_id``.

        ``parts`` (0-based indices) limits the receipts to some parts, to play a
        long message whose parts end up differently.
        """
        message = self.message(provider_id)
        chosen = range(len(message.parts)) if parts is None else parts
        items = [
            self._receipt(message.parts[i], DeliveryStatus(status), error_code) for i in chosen
        ]
        with self._cond:
            self._delivered.add(message.provider_id)
        self._command({"cmd": "deliver", "items": items})

    def deliver_all(
        self,
        status: DeliveryStatus | str = DeliveryStatus.DELIVERED,
        error_code: str | None = None,
    ) -> int:
        """Send receipts for every message not yet given one; return how many messages."""
        self.sync()
        with self._cond:
            todo = [m for m in self._messages if m.provider_id not in self._delivered]
            self._delivered.update(m.provider_id for m in todo)
        items = [
            self._receipt(part, DeliveryStatus(status), error_code)
            for message in todo
            for part in message.parts
        ]
        for start in range(0, len(items), 500):
            self._command({"cmd": "deliver", "items": items[start : start + 500]})
        return len(todo)

    def send_inbound(
        self,
        from_: str,
        to: str,
        text: str,
        *,
        data_coding: int | None = None,
        sar: bool = False,
        order: Sequence[int] | None = None,
    ) -> None:
        """Send an inbound text (MO) from ``from_`` (E.164) to our number ``to``.

        The text is encoded as a phone would: the cheapest of GSM 7-bit and
        UCS-2, split into concatenated parts when long. ``data_coding`` forces 0
        (GSM 7-bit, default table), 3 (Latin-1) or 8 (UCS-2). ``sar=True``
        concatenates with SAR TLVs instead of a UDH; ``order`` sends the parts in
        that order (0-based), to check reassembly.
        """
        reference = self._references.get(from_, 0)
        self._references[from_] = (reference + 1) % 256
        bodies = _inbound_parts(text, data_coding, reference)
        total = len(bodies)
        items = []
        source = from_.removeprefix("+")
        for seq, (coding, udh, body) in enumerate(bodies, 1):
            tlvs = [[tag, value.hex()] for tag, value in self.extra_tlvs]
            if sar and total > 1:
                header = without_concatenation(udh)  # a shift IE stays in the UDH
                short_message, esm_class = header + body, 0x40 if header else 0
                tlvs += [
                    [TLV_SAR_MSG_REF_NUM, reference.to_bytes(2, "big").hex()],
                    [TLV_SAR_TOTAL_SEGMENTS, bytes((total,)).hex()],
                    [TLV_SAR_SEGMENT_SEQNUM, bytes((seq,)).hex()],
                ]
            else:
                short_message, esm_class = udh + body, 0x40 if udh else 0
            items.append(
                {
                    "session": None,
                    "src": source,
                    "src_ton": 1 if from_.startswith("+") else 0,
                    "dst": to,
                    "esm_class": esm_class,
                    "data_coding": coding,
                    "sm": short_message.hex(),
                    "tlvs": tlvs,
                }
            )
        if order is not None:
            items = [items[i] for i in order]
        self._command({"cmd": "deliver", "items": items})

    def throttle(self, count: int = 1, status: str = "ESME_RTHROTTLED") -> None:
        """Refuse the next ``count`` ``submit_sm`` with ``status`` (ESME_RTHROTTLED …);
        in force when this returns (the server answered a ping sent after it)."""
        self._command({"cmd": "refuse_next", "statuses": [ESME_STATUS[status]] * count})
        self.sync()

    def reject_to(self, number: str, status: str = "ESME_RINVDSTADR") -> None:
        """Refuse every ``submit_sm`` to ``number`` (E.164) with ``status``, from when
        this returns."""
        self._command(
            {"cmd": "reject_to", "dst": number.removeprefix("+"), "status": ESME_STATUS[status]}
        )
        self.sync()

    # -- internals -----------------------------------------------------------

    def _receipt(
        self, part: ReceivedPart, status: DeliveryStatus, error_code: str | None
    ) -> dict[str, Any]:
        stat, state = _STAT[status]
        now = datetime.now(ISTANBUL).strftime("%y%m%d%H%M")  # a Turkish SMSC's clock
        err = error_code or "000"
        tlvs: list[list[Any]] = []
        text = ""
        if self.receipts in ("both", "tlv"):
            tlvs += [
                [TLV_RECEIPTED_MESSAGE_ID, (part.message_id.encode() + b"\0").hex()],
                [TLV_MESSAGE_STATE, bytes((state,)).hex()],
            ]
            if err.isdigit():
                tlvs.append([TLV_NETWORK_ERROR_CODE, (b"\x03" + int(err).to_bytes(2, "big")).hex()])
        if self.receipts in ("both", "text"):
            delivered = "001" if status is DeliveryStatus.DELIVERED else "000"
            text = (
                f"id:{part.message_id} sub:001 dlvrd:{delivered} submit date:{now} "
                f"done date:{now} stat:{stat} err:{err} text:"
            )
        tlvs += [[tag, value.hex()] for tag, value in self.extra_tlvs]
        return {
            "session": part.session_id,
            "receipt": True,
            "src": part.destination,
            "src_ton": part.dest_ton,
            "dst": part.source,
            "esm_class": 0x04,
            "data_coding": 0,
            "sm": text.encode("ascii").hex(),
            "tlvs": tlvs,
        }

    def _spawn(self, port: int) -> str | None:
        """Start a server process on ``port``; None when it listens, else why not."""
        self._generation += 1
        with self._cond:
            self._live_sessions.clear()
            self._started = None
        proc = subprocess.Popen(  # noqa: S603 - our own module, run by this interpreter
            [
                sys.executable,
                "-m",
                "isobil.testing.smsc",
                "--port",
                str(port),
                "--generation",
                str(self._generation),
                "--routing",
                self.receipt_routing,
                *(["--max-rate", repr(self.max_rate)] if self.max_rate is not None else []),
                *(["--system-id", self.system_id] if self.system_id is not None else []),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            # The password goes by the environment, not the command line (ps shows that).
            env=dict(os.environ, **{_PASSWORD_ENV: self.password})
            if self.password is not None
            else None,
        )
        self._proc = proc
        self._reader = threading.Thread(
            target=self._read_events, args=(proc,), name="isobil-smsc-events", daemon=True
        )
        self._stderr_reader = threading.Thread(
            target=self._read_stderr, args=(proc,), name="isobil-smsc-stderr", daemon=True
        )
        self._reader.start()
        self._stderr_reader.start()
        with self._cond:
            ready = self._cond.wait_for(lambda: self._started is not None, STARTUP_TIMEOUT)
            started = self._started
        if ready and started is True:
            return None
        proc.kill()
        self._reap()
        if not ready:
            tail = "\n".join(self._stderr_tail)
            return f"no answer within {STARTUP_TIMEOUT:g} s\n{tail}"
        return str(started)

    def _reap(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.wait()
        for thread in (self._reader, self._stderr_reader):
            if thread is not None:
                thread.join(timeout=5)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
        with self._cond:
            self._live_sessions.clear()
            self._cond.notify_all()

    def _read_stderr(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            self._stderr_tail.append(line.decode("utf-8", "replace").rstrip())

    def _read_events(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            with self._cond:
                self._on_event(event)
                self._cond.notify_all()
        with self._cond:
            if self._started is None:
                self._started = "the server process exited during start-up: " + " | ".join(
                    self._stderr_tail
                )
            self._cond.notify_all()

    def _on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("ev")
        if kind == "submit":
            self._on_submit(event)
        elif kind == "started":
            self._started = True
        elif kind == "error":
            self._started = event.get("message", "unknown error")
        elif kind == "bind":
            record = {k: event[k] for k in ("session_id", "system_id", "can_receive")}
            self._binds.append(record)
            self._live_sessions[event["session_id"]] = record
        elif kind == "unbound":
            self._live_sessions.pop(event["session_id"], None)
        elif kind == "refused":
            self._refused.append((event["dst"], event["status"]))
        elif kind == "bind_refused":
            self._bind_refusals.append(
                {"system_id": event["system_id"], "status": event["status"], "at": event["at"]}
            )
        elif kind == "receipt":
            self._receipt_sessions.append(event["session_id"])
        elif kind == "frozen":
            self._frozen_tokens.add(event["token"])
        elif kind == "pong":
            self._pongs.add(event["token"])

    def _on_submit(self, event: dict[str, Any]) -> None:
        part = ReceivedPart(
            message_id=event["id"],
            session_id=event["session_id"],
            destination=event["dst"],
            source=event["src"],
            source_ton=event["src_ton"],
            dest_ton=event["dst_ton"],
            esm_class=event["esm_class"],
            data_coding=event["data_coding"],
            registered_delivery=event["registered_delivery"],
            short_message=bytes.fromhex(event["sm"]),
            tlvs=tuple((tag, bytes.fromhex(value)) for tag, value in event["tlvs"]),
            accepted_at=event.get("at", 0.0),
        )
        self._parts.append(part)
        decoded = sms.decode(part.short_message, part.data_coding, part.esm_class)
        sar = [
            part.tlv(t)
            for t in (TLV_SAR_MSG_REF_NUM, TLV_SAR_TOTAL_SEGMENTS, TLV_SAR_SEGMENT_SEQNUM)
        ]
        if all(v is not None for v in sar):
            reference, total, seq = (int.from_bytes(v or b"", "big") for v in sar)
        else:
            reference, total, seq = decoded.reference or 0, decoded.total, decoded.seq
        to = f"+{part.destination}" if part.dest_ton == 1 else part.destination
        if total <= 1:
            self._complete(ReceivedMessage(to, decoded.text, (part,)))
            return
        key = (part.destination, part.source, reference, total)
        group = self._groups.setdefault(key, {})
        group.setdefault(seq, part)
        if len(group) == total:
            del self._groups[key]
            ordered = tuple(group[s] for s in sorted(group))
            text = "".join(
                sms.decode(p.short_message, p.data_coding, p.esm_class).text for p in ordered
            )
            self._complete(ReceivedMessage(to, text, ordered))

    def _complete(self, message: ReceivedMessage) -> None:
        self._messages.append(message)
        for part in message.parts:
            self._by_part_id[part.message_id] = message

    def _command(self, command: dict[str, Any]) -> None:
        proc = self._proc
        if proc is None or proc.stdin is None or proc.poll() is not None:
            raise SmscUnavailable("the simulated SMSC is not running (killed? call restart())")
        proc.stdin.write(json.dumps(command).encode() + b"\n")
        proc.stdin.flush()

    def _command_with_token(self, command: dict[str, Any]) -> int:
        with self._cond:
            self._tokens += 1
            token = self._tokens
        self._command(dict(command, token=token))
        return token

    def _wait(self, predicate: Any, what: str, timeout: float = STARTUP_TIMEOUT) -> None:
        with self._cond:
            if not self._cond.wait_for(predicate, timeout):
                raise TimeoutError(f"the simulated SMSC did not reach {what} within {timeout:g} s")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _inbound_parts(
    text: str, data_coding: int | None, reference: int
) -> list[tuple[int, bytes, bytes]]:
    """(data_coding, udh, body) for each part of an inbound text."""
    if data_coding is None:
        plan = sms.plan(text, operator_suffix=0)
        return [(p.data_coding, p.udh, p.body) for p in plan.payloads(reference)]
    if data_coding == 0:
        plan = sms.plan(text, operator_suffix=0, national_shift=False)
        if plan.encoding is not sms.Encoding.GSM7:
            raise ValueError("text does not fit the GSM 7-bit default alphabet")
        return [(p.data_coding, p.udh, p.body) for p in plan.payloads(reference)]
    if data_coding == 3:
        body, single, per_part = text.encode("latin-1"), 140, 134
    elif data_coding == 8:
        body, single, per_part = text.encode("utf-16-be"), 140, 134
    else:
        raise ValueError(f"data_coding must be 0, 3 or 8, got {data_coding}")
    if len(body) <= single:
        return [(data_coding, b"", body)]
    chunks = [body[i : i + per_part] for i in range(0, len(body), per_part)]
    total = len(chunks)
    return [
        (data_coding, bytes((5, 0, 3, reference, total, seq)), chunk)
        for seq, chunk in enumerate(chunks, 1)
    ]


# -- the server process ------------------------------------------------------


_PASSWORD_ENV: Final = "ISOBIL_SMSC_PASSWORD"  # noqa: S105 - a variable name
_BIND_COMMANDS: Final = frozenset({0x01, 0x02, 0x09})


def _emit(event: dict[str, Any]) -> None:
    os.write(1, json.dumps(event, separators=(",", ":")).encode() + b"\n")


async def _serve(  # pragma: no cover - runs in the child
    port: int,
    generation: int,
    routing: str = "submitter",
    *,
    max_rate: float | None = None,
    password: str | None = None,
    system_id: str | None = None,
) -> None:
    try:
        import smpp34  # optional: only the server process needs it
    except ImportError as exc:
        _emit(
            {
                "ev": "error",
                "message": f"smpp34 is not installed ({exc}); install isobil's dev extra: "
                "pip install -e '.[dev]'",
            }
        )
        return
    gated = password is not None or system_id is not None
    inner = _free_port() if gated else port  # behind the gate when credentials are checked
    server = smpp34.Server(host="127.0.0.1", port=inner, system_id="ISOBILSIM")
    try:
        await server.start()
        if gated:
            gate = _Gate(inner, password, system_id)
            await asyncio.start_server(gate.serve, "127.0.0.1", port)
    except Exception as exc:
        _emit({"ev": "error", "message": f"{'in use' if 'in use' in str(exc) else ''} {exc}"})
        return
    state = _ServerState(smpp34, server, generation, routing)
    state.min_interval = 1 / max_rate if max_rate is not None else 0.0
    _emit({"ev": "started", "port": port})
    await state.run()


class _Gate:  # pragma: no cover - runs in the child
    """Checks a bind's credentials; a good bind and all after it go through to smpp34."""

    def __init__(self, inner: int, password: str | None, system_id: str | None) -> None:
        self.inner = inner
        self.password = password
        self.system_id = system_id

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            header = await reader.readexactly(16)
            length, command_id, _, sequence = struct.unpack(">LLLL", header)
            body = await reader.readexactly(max(0, length - 16))
            if command_id in _BIND_COMMANDS:
                fields = body.split(b"\0")
                given_id = fields[0].decode("ascii", "replace")
                given_password = fields[1].decode("ascii", "replace") if len(fields) > 1 else ""
                status = 0
                if self.system_id is not None and given_id != self.system_id:
                    status = ESME_RINVSYSID
                elif self.password is not None and given_password != self.password:
                    status = ESME_RINVPASWD
                if status:
                    # A refused bind_resp carries no body (SMPP 3.4 §4.1.2).
                    writer.write(
                        struct.pack(">LLLL", 16, command_id | 0x80000000, status, sequence)
                    )
                    await writer.drain()
                    _emit(
                        {
                            "ev": "bind_refused",
                            "system_id": given_id,
                            "status": status,
                            "at": time.monotonic(),
                        }
                    )
                    return
            upstream_reader, upstream_writer = await asyncio.open_connection(
                "127.0.0.1", self.inner
            )
            upstream_writer.write(header + body)
            await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:  # pragma: no cover - runs in the child
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


class _ServerState:  # pragma: no cover - runs in the child
    """The child's side: answers submits, sends deliver_sm, obeys commands."""

    def __init__(self, smpp34: Any, server: Any, generation: int, routing: str) -> None:
        self.smpp34 = smpp34
        self.server = server
        self.generation = generation
        self.routing = routing
        self.turn = 0
        self.count = 0
        self.sessions: dict[str, Any] = {}
        self.refuse_next: deque[int] = deque()
        self.reject_to: dict[str, int] = {}
        self.frozen = False
        self.held: list[Any] = []
        self.waiting: list[dict[str, Any]] = []
        self.sending = asyncio.Semaphore(64)
        self.tasks: set[asyncio.Task[None]] = set()
        self.receiver_bound = asyncio.Event()
        self.min_interval = 0.0  # > 0: at most one accepted submit_sm per this many seconds
        self.last_accepted = -1e9

    async def run(self) -> None:
        commands = asyncio.create_task(self.read_commands())
        try:
            while True:
                event = await self.server.next()
                if self.frozen:
                    self.held.append(event)  # kept: a dropped event is NAKed by smpp34
                    continue
                self.on_event(event)
        finally:
            commands.cancel()

    def on_event(self, event: Any) -> None:
        smpp34 = self.smpp34
        if isinstance(event, smpp34.SubmitSmEvent):
            self.on_submit(event)
        elif isinstance(event, smpp34.Esme):
            self.sessions[event.session_id] = event
            _emit(
                {
                    "ev": "bind",
                    "session_id": event.session_id,
                    "system_id": event.system_id,
                    "can_receive": bool(event.can_receive),
                }
            )
            if event.can_receive and self.waiting:
                waiting, self.waiting = self.waiting, []
                self.deliver(waiting)
        elif isinstance(event, smpp34.Unbound):
            self.sessions.pop(event.session_id, None)
            _emit({"ev": "unbound", "session_id": event.session_id})

    def on_submit(self, event: Any) -> None:
        destination = event.destination_addr
        status = self.refuse_next.popleft() if self.refuse_next else self.reject_to.get(destination)
        now = time.monotonic()
        if status is None and self.min_interval and now - self.last_accepted < self.min_interval:
            status = ESME_RTHROTTLED  # no burst: too soon after the last accepted one
        if status is not None:
            event.reject(status)
            _emit({"ev": "refused", "dst": destination, "status": status, "at": now})
            return
        self.last_accepted = now
        self.count += 1
        message_id = f"{self.generation:02x}{self.count:08x}"
        # Recorded before it is answered: a crash in between shows as a message the
        # server holds and the client never heard of, as with a real SMSC.
        _emit(
            {
                "ev": "submit",
                "id": message_id,
                "session_id": event.session_id,
                "dst": destination,
                "src": event.source_addr,
                "src_ton": event.source_addr_ton,
                "dst_ton": event.dest_addr_ton,
                "esm_class": event.esm_class,
                "data_coding": event.data_coding,
                "registered_delivery": event.registered_delivery,
                "sm": bytes(event.short_message).hex(),
                "tlvs": [[t.tag, bytes(t.value).hex()] for t in event.tlvs],
                "at": now,
            }
        )
        event.accept(message_id)

    async def read_commands(self) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=1 << 24)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while line := await reader.readline():
            command = json.loads(line)
            name = command["cmd"]
            if name == "deliver":
                self.deliver(command["items"])
            elif name == "refuse_next":
                self.refuse_next.extend(command["statuses"])
            elif name == "reject_to":
                self.reject_to[command["dst"]] = command["status"]
            elif name == "freeze":
                self.frozen = True
                self.spawn(self.flush(command["token"]))
            elif name == "ping":
                _emit({"ev": "pong", "token": command["token"]})
            elif name == "stop":
                break
        await self.server.stop()
        os._exit(0)

    def spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def deliver(self, items: list[dict[str, Any]]) -> None:
        for item in items:
            self.spawn(self.deliver_one(item))

    def receiver(self, preferred: str | None, receipt: bool = False) -> Any:
        session = self.sessions.get(preferred) if preferred else None
        if receipt and self.routing == "round_robin":
            # Every receiving bind of the submitter's account in turn (of any account
            # when the submitter is gone): what Jasmin does with receipts.
            receivers = [s for s in self.sessions.values() if s.can_receive]
            system_id = getattr(session, "system_id", None)
            same = [s for s in receivers if s.system_id == system_id] or receivers
            if same:
                self.turn += 1
                return same[self.turn % len(same)]
            return None
        if session is not None and session.can_receive:
            return session
        return next((s for s in self.sessions.values() if s.can_receive), None)

    async def deliver_one(self, item: dict[str, Any]) -> None:
        smpp34 = self.smpp34
        async with self.sending:
            session = self.receiver(item["session"], item.get("receipt", False))
            if session is None:
                self.waiting.append(item)
                return
            try:
                await session.deliver_sm(
                    item["dst"],
                    bytes.fromhex(item["sm"]),
                    source_addr=item["src"],
                    source_addr_ton=item["src_ton"],
                    source_addr_npi=1 if item["src_ton"] == 1 else 0,
                    esm_class=item["esm_class"],
                    data_coding=item["data_coding"],
                    tlvs=[smpp34.Tlv(tag, bytes.fromhex(value)) for tag, value in item["tlvs"]],
                )
                if item.get("receipt"):
                    _emit({"ev": "receipt", "session_id": session.session_id})
            except Exception as exc:
                # The session went away: keep the item for the next receiver.
                _emit({"ev": "deliver_failed", "message": str(exc)})
                self.waiting.append(item)

    async def flush(self, token: int) -> None:
        """Prove every answer already given has reached the client, then report frozen."""
        for session in list(self.sessions.values()):
            if session.can_receive:
                try:  # a receipt with no id: answered by the client, reported to no one
                    await session.deliver_sm("", b"", esm_class=0x04)
                except Exception as exc:
                    _emit({"ev": "deliver_failed", "message": str(exc)})
        _emit({"ev": "frozen", "token": token})


def main(argv: Sequence[str] | None = None) -> None:  # pragma: no cover - runs in the child
    """Run the server process: ``python -m isobil.testing.smsc --port P``."""
    parser = argparse.ArgumentParser(description="isobil's simulated SMSC (smpp34)")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--generation", type=int, default=1)
    parser.add_argument("--routing", default="submitter", choices=("submitter", "round_robin"))
    parser.add_argument("--max-rate", type=float, default=None, help="submits/s, no burst")
    parser.add_argument("--system-id", default=None, help="refuse binds with another one")
    args = parser.parse_args(argv)
    asyncio.run(
        _serve(
            args.port,
            args.generation,
            args.routing,
            max_rate=args.max_rate,
            password=os.environ.get(_PASSWORD_ENV),  # refuse binds with another one
            system_id=args.system_id,
        )
    )
    os._exit(0)


if __name__ == "__main__":  # pragma: no cover
    main()
