"""The SMPP transport's pure parts: receipt text, part reconciliation, reassembly, errors."""

from __future__ import annotations

import inspect
import socket
import ssl
import struct
from datetime import datetime

import pytest
import smpplib.exceptions  # type: ignore[import-untyped]  # smpplib ships no type hints
from hypothesis import given
from hypothesis import strategies as st

from isobil import sms
from isobil.errors import (
    BindRefused,
    ConfigurationError,
    ConnectionFailed,
    IsobilError,
    SubmitRejected,
    Throttled,
    TransportTimeout,
)
from isobil.transport import DeliveryReport, DeliveryStatus, SmppTransport
from isobil.transport._smpp import without_concatenation
from isobil.transport._smpp_errors import map_exception, map_smpp_errors, status_error
from isobil.transport._smpp_inbound import Reassembler, decode_best_effort
from isobil.transport._smpp_receipts import (
    ISTANBUL,
    STAT_WORDS,
    ReceiptBook,
    parse_receipt_text,
)
from strategies import any_sms_text

# -- receipt text ------------------------------------------------------------------


def test_receipt_text_example() -> None:
    """The SMPP 3.4 appendix B example reads field by field, dates in the SMSC's zone."""
    text = (
        "id:0123456789 sub:001 dlvrd:001 submit date:2401311259 done date:2402010003 "
        "stat:DELIVRD err:000 text:Merhaba id:fake"
    )
    receipt = parse_receipt_text(text)
    assert receipt is not None
    assert (receipt.message_id, receipt.submitted, receipt.delivered) == (
        "0123456789",
        "001",
        "001",
    )
    assert receipt.submit_date == datetime(2024, 1, 31, 12, 59, tzinfo=ISTANBUL)
    assert receipt.done_date == datetime(2024, 2, 1, 0, 3, tzinfo=ISTANBUL)
    assert (receipt.stat, receipt.err, receipt.text) == ("DELIVRD", "000", "Merhaba id:fake")
    assert receipt.status is DeliveryStatus.DELIVERED


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", None),
        ("hello there", None),
        ("ID:ab12 STAT:undeliv", ("ab12", DeliveryStatus.UNDELIVERED)),
        ("id:x stat:WHATEVER", ("x", DeliveryStatus.UNKNOWN)),
        ("stat:EXPIRED id:7", ("7", DeliveryStatus.EXPIRED)),
        ("id:9 done date:991399 stat:REJECTD", ("9", DeliveryStatus.REJECTED)),
    ],
)
def test_receipt_text_shapes(text: str, expected: tuple[str, DeliveryStatus] | None) -> None:
    """Case, order and missing or bad fields are tolerated; no id means not a receipt."""
    receipt = parse_receipt_text(text)
    if expected is None:
        assert receipt is None
    else:
        assert receipt is not None
        assert (receipt.message_id, receipt.status) == expected


_ids = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=20)
_dates = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31))


@given(
    message_id=_ids,
    stat=st.sampled_from(sorted(STAT_WORDS)),
    err=st.from_regex(r"[0-9]{3}", fullmatch=True),
    submitted=_dates,
    done=_dates,
    body=st.text(max_size=40),
)
def test_receipt_text_round_trip(
    message_id: str, stat: str, err: str, submitted: datetime, done: datetime, body: str
) -> None:
    """Any receipt written in the appendix B format reads back exactly, whatever the text."""
    text = (
        f"id:{message_id} sub:001 dlvrd:001 submit date:{submitted:%y%m%d%H%M} "
        f"done date:{done:%y%m%d%H%M} stat:{stat} err:{err} text:{body}"
    )
    receipt = parse_receipt_text(text)
    assert receipt is not None
    assert (receipt.message_id, receipt.stat, receipt.err, receipt.text) == (
        message_id,
        stat,
        err,
        body,
    )
    assert receipt.submit_date == submitted.replace(second=0, microsecond=0, tzinfo=ISTANBUL)
    assert receipt.done_date == done.replace(second=0, microsecond=0, tzinfo=ISTANBUL)


@given(st.text())
def test_receipt_parser_never_raises(text: str) -> None:
    """Whatever an SMSC writes, the parser returns a receipt or None."""
    parse_receipt_text(text)


# -- the part ids a transport was given ------------------------------------------------


def test_book_reports_each_part_under_its_own_id() -> None:
    """Each part's receipt is its own report: parts are reconciled where they are kept."""
    book = ReceiptBook()
    for part_id in ("p1", "p2", "p3"):
        book.accepted(part_id)
    assert book.receipt("p3", DeliveryStatus.DELIVERED, "000") == DeliveryReport(
        "p3", DeliveryStatus.DELIVERED, "000", None
    )
    assert book.receipt("p1", DeliveryStatus.PENDING) == DeliveryReport(
        "p1", DeliveryStatus.PENDING
    )
    assert len(book) == 2  # a final receipt's part is forgotten; a pending one's is not
    assert book.receipt("p2", DeliveryStatus.EXPIRED, "011") == DeliveryReport(
        "p2", DeliveryStatus.EXPIRED, "011", None
    )


def test_book_passes_unknown_ids_and_matches_hex_for_decimal() -> None:
    """An unseen id (another bind's, a restart's) passes through as given; a hex id
    answered and receipted in decimal is reported as answered."""
    book = ReceiptBook()
    assert book.receipt("zz", DeliveryStatus.DELIVERED) == DeliveryReport(
        "zz", DeliveryStatus.DELIVERED
    )
    book.accepted("00ff")
    book.accepted("ABC")
    assert book.receipt("255", DeliveryStatus.DELIVERED) == DeliveryReport(
        "00ff", DeliveryStatus.DELIVERED
    )
    assert book.receipt("abc", DeliveryStatus.DELIVERED) == DeliveryReport(
        "ABC", DeliveryStatus.DELIVERED
    )


def test_book_drops_receipts_of_a_message_that_failed_at_submit() -> None:
    """A message refused half-way was reported as failed: its parts' receipts are dropped."""
    book = ReceiptBook()
    book.accepted("only")
    book.accepted("other")
    book.submit_failed(["only", None])
    assert book.receipt("only", DeliveryStatus.PENDING) is None
    assert book.receipt("only", DeliveryStatus.DELIVERED) is None
    assert book.receipt("other", DeliveryStatus.DELIVERED) == DeliveryReport(
        "other", DeliveryStatus.DELIVERED
    )


def test_book_capacity_forgets_the_oldest() -> None:
    """Past its capacity the book forgets the oldest parts first."""
    book = ReceiptBook(capacity=2)
    for part_id in ("a", "b", "c"):
        book.accepted(part_id)
    assert len(book) == 2
    book.submit_failed(["a", "b"])
    assert book.receipt("a", DeliveryStatus.DELIVERED) == DeliveryReport(
        "a", DeliveryStatus.DELIVERED
    )  # forgotten: passed on as unseen
    assert book.receipt("b", DeliveryStatus.DELIVERED) is None


# -- inbound reassembly -----------------------------------------------------------


@given(
    texts=st.lists(any_sms_text(), min_size=1, max_size=4),
    data=st.data(),
)
def test_reassembly_of_interleaved_shuffled_parts(texts: list[str], data: st.DataObject) -> None:
    """Parts of several long texts, interleaved and shuffled, come out as the texts."""
    parts = []
    for n, text in enumerate(texts):
        payloads = sms.plan(text, operator_suffix=0).payloads(n)
        for payload in payloads:
            parts.append((f"+90532000000{n}", payload))
    shuffled = data.draw(st.permutations(parts))
    assembler = Reassembler()
    out: dict[str, str] = {}
    for sender, payload in shuffled:
        decoded, clean = decode_best_effort(
            payload.short_message, payload.data_coding, payload.esm_class
        )
        assert clean
        for whole in assembler.add(sender, "4605", decoded):
            assert whole.complete
            out[whole.from_] = whole.text
    assert out == {f"+90532000000{n}": text for n, text in enumerate(texts)}
    assert len(assembler) == 0


def test_reassembly_gives_up_on_a_missing_part() -> None:
    """A text whose parts stop coming is handed on incomplete after the timeout, not lost."""
    now = [0.0]
    assembler = Reassembler(timeout=60, clock=lambda: now[0])
    first = sms.plan("x" * 400, operator_suffix=0).payloads(9)[0]
    decoded, _ = decode_best_effort(first.short_message, first.data_coding, first.esm_class)
    assert assembler.add("+905320000000", "4605", decoded) == []
    assert assembler.expire() == []
    now[0] = 61.0
    [partial] = assembler.expire()
    assert (partial.text, partial.complete) == ("x" * 153, False)


def test_reassembly_ignores_a_duplicate_part() -> None:
    """The same part twice (an SMSC retry) counts once."""
    payloads = sms.plan("y" * 200, operator_suffix=0).payloads(1)
    parts = [decode_best_effort(p.short_message, p.data_coding, p.esm_class)[0] for p in payloads]
    assembler = Reassembler()
    assert assembler.add("+905320000000", "4605", parts[0]) == []
    assert assembler.add("+905320000000", "4605", parts[0]) == []
    [whole] = assembler.add("+905320000000", "4605", parts[1])
    assert whole.text == "y" * 200


@pytest.mark.parametrize(
    ("body", "data_coding", "esm_class", "expected"),
    [
        (b"\xd8\x00", 8, 0, "\ufffd"),  # a lone surrogate
        (b"ab\x80", 0, 0, "ab\ufffd"),  # not a septet
        (b"\x05\x00\x03\x07\x02\x01\xd8\x00", 8, 0x40, "\ufffd"),  # header kept, body bad
    ],
)
def test_undecodable_inbound_keeps_what_it_can(
    body: bytes, data_coding: int, esm_class: int, expected: str
) -> None:
    """A broken inbound body degrades to U+FFFD instead of being lost."""
    part, clean = decode_best_effort(body, data_coding, esm_class)
    assert (part.text, clean) == (expected, False)


def test_without_concatenation_keeps_the_shift_ie() -> None:
    """For SAR the concatenation IE leaves the UDH; a national-language IE stays."""
    assert without_concatenation(bytes.fromhex("080003070301240101")) == bytes.fromhex("03240101")
    assert without_concatenation(bytes.fromhex("050003070301")) == b""
    assert without_concatenation(b"") == b""


# -- errors -------------------------------------------------------------------------


def _smpplib_exception_classes() -> list[type[BaseException]]:
    return [
        cls
        for _, cls in inspect.getmembers(smpplib.exceptions, inspect.isclass)
        if issubclass(cls, BaseException) and cls.__module__ == "smpplib.exceptions"
    ]


@pytest.mark.parametrize("cls", _smpplib_exception_classes(), ids=lambda c: c.__name__)
def test_every_smpplib_exception_is_mapped(cls: type[BaseException]) -> None:
    """Each exception class smpplib defines becomes an isobil error, chained with from."""
    with pytest.raises(IsobilError) as raised, map_smpp_errors():
        raise cls("boom", 8)
    assert isinstance(raised.value.__cause__, cls)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (TimeoutError("timed out"), TransportTimeout),
        (TimeoutError(), TransportTimeout),
        (ConnectionResetError(104, "Connection reset by peer"), ConnectionFailed),
        (ConnectionRefusedError(111, "Connection refused"), ConnectionFailed),
        (BrokenPipeError(32, "Broken pipe"), ConnectionFailed),
        (socket.gaierror(-2, "Name or service not known"), ConnectionFailed),
        (ssl.SSLError(1, "bad handshake"), ConnectionFailed),
        (OSError(9, "Bad file descriptor"), ConnectionFailed),
        (struct.error("unpack requires a buffer of 4 bytes"), IsobilError),
        (UnicodeDecodeError("ascii", b"\xff", 0, 1, "bad"), IsobilError),
        (IndexError("index out of range"), IsobilError),
    ],
)
def test_socket_and_parse_errors_are_mapped(exc: Exception, expected: type[IsobilError]) -> None:
    """Socket, TLS and parsing failures become the matching isobil error."""
    mapped = map_exception(exc)
    assert isinstance(mapped, expected)
    assert mapped.__cause__ is exc


def test_unrelated_exceptions_are_not_swallowed() -> None:
    """A bug (say a RuntimeError of our own) is not dressed up as a transport failure."""
    with pytest.raises(RuntimeError), map_smpp_errors():
        raise RuntimeError("a bug")


@pytest.mark.parametrize(
    ("status", "what", "expected", "code"),
    [
        (0x58, "submit_sm", Throttled, None),
        (0x14, "submit_sm", Throttled, None),
        (0x0B, "submit_sm", SubmitRejected, "ESME_RINVDSTADR"),
        (0x0E, "bind_transceiver", BindRefused, None),
        (0x0F, "bind_transmitter", BindRefused, None),
        (0x0D, "bind_receiver", ConnectionFailed, None),  # ESME_RBINDFAIL: retried
        (0x53, "bind_transceiver", BindRefused, None),
        (0x08, "bind_transceiver", ConnectionFailed, None),
        (0x05, "bind_transceiver", ConnectionFailed, None),
        (0x1234, "submit_sm", SubmitRejected, "0x00001234"),
    ],
)
def test_command_status_mapping(
    status: int, what: str, expected: type[IsobilError], code: str | None
) -> None:
    """ESME_RTHROTTLED/RMSGQFUL throttle; a bind refused for its credentials or system
    type is BindRefused (permanent), other bind refusals (the generic ESME_RBINDFAIL
    too) fail the connection, which is retried; others reject."""
    error = status_error(status, what)
    assert type(error) is expected
    assert getattr(error, "code", None) == code


@pytest.mark.parametrize(
    "options",
    [
        {"system_id": ""},
        {"system_id": "x" * 16},
        {"password": "123456789"},
        {"password": "şifre123"},
        {"bind": "receiver"},
        {"window": 0},
        {"throughput": 0},
        {"request_timeout": 0},
        {"reconnect_delay": -1},
    ],
)
def test_bad_configuration_is_refused_without_echoing_the_password(
    options: dict[str, object],
) -> None:
    """Impossible settings raise ConfigurationError before any thread or socket exists."""
    settings: dict[str, object] = {"system_id": "isobil", "password": "12345678"}
    settings.update(options)
    with pytest.raises(ConfigurationError) as raised:
        SmppTransport("127.0.0.1", 1, **settings)  # type: ignore[arg-type]
    assert "123456789" not in str(raised.value)
    assert "şifre" not in str(raised.value)


def test_a_plain_unicode_error_keeps_its_words() -> None:
    """An IDNA failure (a host name too long) holds no secret: its message stays."""
    mapped = map_exception(UnicodeError("encoding with 'idna' codec failed (label too long)"))
    assert mapped is not None
    assert "label too long" in str(mapped)


@pytest.mark.parametrize(
    "exc",
    [
        UnicodeEncodeError("latin-1", "şifre123", 0, 1, "ordinal not in range(256)"),
        UnicodeDecodeError("ascii", b"Kodunuz: 482915 \xff", 16, 17, "ordinal not in range"),
    ],
)
def test_a_codec_error_says_where_not_what(exc: UnicodeError) -> None:
    """A codec error holds the whole text it failed on (a password being bound, a PDU):
    the isobil error names the codec and the position only."""
    mapped = map_exception(exc)
    assert mapped is not None
    text = str(mapped)
    assert "şifre" not in text
    assert "482915" not in text
    assert f"({exc.encoding}) at position {exc.start}" in text


_LATIN1 = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=25)


@given(
    service_type=st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=8),
    source_ton=st.integers(0, 6),
    source_npi=st.integers(0, 9),
    source=_LATIN1,
    dest_ton=st.integers(0, 6),
    dest_npi=st.integers(0, 9),
    destination=_LATIN1,
    esm_class=st.sampled_from([0, 0x40, 3]),
    registered_delivery=st.integers(0, 1),
    data_coding=st.sampled_from([0, 3, 8]),
    short_message=st.binary(max_size=160),
    sar=st.none() | st.tuples(st.integers(0, 65535), st.integers(1, 255), st.integers(1, 255)),
)
def test_submit_sm_is_packed_byte_for_byte_as_smpplib_packs_it(
    service_type: str,
    source_ton: int,
    source_npi: int,
    source: str,
    dest_ton: int,
    dest_npi: int,
    destination: str,
    esm_class: int,
    registered_delivery: int,
    data_coding: int,
    short_message: bytes,
    sar: tuple[int, int, int] | None,
) -> None:
    """The transport packs each submit_sm itself (a tenth of smpplib's cost): the bytes
    are exactly smpplib's for the same fields, long addresses cut the same way."""
    import smpplib.smpp  # type: ignore[import-untyped]

    from isobil.transport._smpp import _submit_sm, _submit_sm_head

    fields = {
        "service_type": service_type,
        "source_addr_ton": source_ton,
        "source_addr_npi": source_npi,
        "source_addr": source,
        "dest_addr_ton": dest_ton,
        "dest_addr_npi": dest_npi,
        "destination_addr": destination,
        "esm_class": esm_class,
        "registered_delivery": registered_delivery,
        "data_coding": data_coding,
        "short_message": short_message,
    }
    tlvs = b""
    if sar is not None:
        reference, total, seq = sar
        fields.update(sar_msg_ref_num=reference, sar_total_segments=total, sar_segment_seqnum=seq)
        tlvs = struct.pack(">HHHHHBHHB", 0x20C, 2, reference, 0x20E, 1, total, 0x20F, 1, seq)
    expected = smpplib.smpp.make_pdu("submit_sm", client=None, sequence=0, **fields).generate()
    head = _submit_sm_head(
        service_type, source_ton, source_npi, source, dest_ton, dest_npi, destination
    )
    mine = _submit_sm(head, esm_class, registered_delivery, data_coding, short_message, tlvs)
    assert mine == bytes(expected)
