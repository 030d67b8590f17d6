"""One-time codes: sent as informational SMS, verified once, expiring, rate-limited per
number, and never kept in clear."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import logging
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import _pg
from _acme import ACME
from isobil import (
    AsyncClient,
    Client,
    FakeTransport,
    InvalidPhoneNumber,
    InvalidValue,
    Message,
    MessageCategory,
    OtpRateLimited,
    Sender,
    TemplateError,
)
from isobil.otp import DEFAULT_LIMITS, Otp, code_hash
from isobil.rules import Verdict, classify
from isobil.storage import MemoryStorage, OtpRecord
from isobil.storage._records import otp_refused_until
from isobil.transport import OutboundSms, SubmitResult

NUMBER = "+905321234567"
OTHER = "+905331234567"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def last_code(transport: FakeTransport) -> str:
    """The code in the last SMS the fake transport sent."""
    found = re.search(r"\d{4,10}", transport.sent[-1].text)
    assert found is not None, transport.sent[-1].text
    return found.group()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(clock: Clock) -> Iterator[Client]:
    with Client(ACME, transport=FakeTransport(), storage=MemoryStorage()) as client:
        client.otp.clock = clock
        yield client


def fake(client: Client) -> FakeTransport:
    assert isinstance(client.transport, FakeTransport)
    return client.transport


# -- verify ----------------------------------------------------------------------


def test_a_code_verifies_once(client: Client) -> None:
    sent = client.otp.send("0532 123 45 67")
    assert sent.status == "submitted"
    assert sent.sent
    assert sent.expires_at == T0 + timedelta(minutes=3)
    code = last_code(fake(client))
    assert len(code) == 6
    assert client.otp.verify("05321234567", code) is True
    assert client.otp.verify("05321234567", code) is False


def test_a_wrong_code_then_the_right_one(client: Client) -> None:
    client.otp.send(NUMBER)
    code = last_code(fake(client))
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    assert client.otp.verify(NUMBER, wrong) is False
    assert client.otp.verify(NUMBER, "") is False
    assert client.otp.verify(NUMBER, f" {code[:3]} {code[3:]} ") is True  # typed with spaces
    record = client.storage.latest_otp(NUMBER)
    assert record is not None
    assert record.attempts == 2


def test_too_many_wrong_codes_lock_the_code(client: Client) -> None:
    client.otp.send(NUMBER)
    code = last_code(fake(client))
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    assert [client.otp.verify(NUMBER, wrong) for _ in range(5)] == [False] * 5
    assert client.otp.verify(NUMBER, code) is False
    record = client.storage.latest_otp(NUMBER)
    assert record is not None
    assert record.attempts == 5
    assert record.used_at is None


def test_an_expired_code_is_refused(client: Client, clock: Clock) -> None:
    client.otp.send(NUMBER, ttl=timedelta(minutes=2))
    code = last_code(fake(client))
    clock.advance(minutes=2)
    assert client.otp.verify(NUMBER, code) is False
    clock.advance(seconds=-1)  # a second before it expired it still verifies
    assert client.otp.verify(NUMBER, code) is True


def test_a_new_code_replaces_the_earlier(client: Client, clock: Clock) -> None:
    client.otp.send(NUMBER)
    first = last_code(fake(client))
    clock.advance(seconds=20)
    client.otp.send(NUMBER)
    second = last_code(fake(client))
    if first != second:
        assert client.otp.verify(NUMBER, first) is False
    assert client.otp.verify(NUMBER, second) is True


def test_codes_are_per_number(client: Client) -> None:
    client.otp.send(NUMBER)
    code = last_code(fake(client))
    assert client.otp.verify(OTHER, code) is False
    assert client.otp.verify(NUMBER, code) is True


def test_no_code_sent_verifies_nothing(client: Client) -> None:
    assert client.otp.verify(NUMBER, "123456") is False


def test_bad_inputs_are_refused_with_what_is_wrong(client: Client) -> None:
    with pytest.raises(InvalidPhoneNumber):
        client.otp.send("12ab")
    with pytest.raises(InvalidValue, match="4 to 10 digits"):
        client.otp.send(NUMBER, length=3)
    with pytest.raises(InvalidValue, match="ttl must be a positive"):
        client.otp.send(NUMBER, ttl=timedelta(0))
    with pytest.raises(InvalidValue, match="OTP code is text"):
        client.otp.verify(NUMBER, 123456)  # type: ignore[arg-type]
    with pytest.raises(TemplateError, match="no \\{code\\}"):
        client.otp.send(NUMBER, template="Kodunuz hazır.")
    with pytest.raises(TemplateError, match="cannot be filled"):
        client.otp.send(NUMBER, template="{code} {isim}")
    with pytest.raises(InvalidValue, match="count must be a positive integer"):
        client.otp.limits = [(timedelta(minutes=1), 0)]
    assert client.storage.latest_otp(NUMBER) is None
    assert fake(client).sent == []


# -- rate limits --------------------------------------------------------------


def test_a_number_over_its_limit_is_refused_and_nothing_is_sent(
    client: Client, clock: Clock
) -> None:
    for _ in range(3):
        client.otp.send(NUMBER)
        clock.advance(minutes=1)
    with pytest.raises(OtpRateLimited, match=r"\+90\*{8}67 .*3 in 10 minutes") as refused:
        client.otp.send(NUMBER)
    assert refused.value.retry_after == 7 * 60  # the first code leaves the window at 10 min
    assert NUMBER not in str(refused.value)
    assert len(fake(client).sent) == 3
    client.otp.send(OTHER)  # another number has its own limit
    clock.advance(minutes=7)
    client.otp.send(NUMBER)
    assert len(fake(client).sent) == 5


def test_the_daily_limit(client: Client, clock: Clock) -> None:
    for _ in range(10):
        client.otp.send(NUMBER)
        clock.advance(minutes=11)
    with pytest.raises(OtpRateLimited, match="10 in 1 day") as refused:
        client.otp.send(NUMBER)
    assert refused.value.retry_after == timedelta(days=1).total_seconds() - 10 * 11 * 60
    clock.advance(seconds=refused.value.retry_after)
    client.otp.send(NUMBER)


def test_limits_are_configurable(client: Client, clock: Clock) -> None:
    client.otp.limits = [(timedelta(seconds=30), 1)]
    client.otp.send(NUMBER)
    with pytest.raises(OtpRateLimited, match="1 in 30 s") as refused:
        client.otp.send(NUMBER)
    assert refused.value.retry_after == 30
    clock.advance(seconds=30)
    client.otp.send(NUMBER)
    assert client.otp.limits == ((timedelta(seconds=30), 1),)
    assert ((timedelta(minutes=10), 3), (timedelta(days=1), 10)) == DEFAULT_LIMITS


@settings(deadline=None, max_examples=60)
@given(
    gaps=st.lists(st.integers(min_value=0, max_value=400), min_size=1, max_size=25),
    window=st.integers(min_value=1, max_value=900),
    most=st.integers(min_value=1, max_value=4),
)
def test_no_window_ever_holds_more_than_its_limit(gaps: list[int], window: int, most: int) -> None:
    """Sends at any moments: the kept codes never exceed the limit in any window, a
    refusal names the first moment a code is let in again, and a kept code was let in."""
    storage = MemoryStorage()
    limits = [(timedelta(seconds=window), most)]
    at = T0
    kept: list[datetime] = []
    for i, gap in enumerate(gaps):
        at += timedelta(seconds=gap)
        record = OtpRecord(
            id=f"o{i}", number=NUMBER, hash="0" * 64, salt="0" * 32, created_at=at, expires_at=at
        )
        until = storage.add_otp(record, limits=limits)
        in_window = [k for k in kept if k > at - timedelta(seconds=window)]
        if until is None:
            assert len(in_window) < most
            kept.append(at)
        else:
            assert len(in_window) >= most
            assert until > at
            assert otp_refused_until(kept, until, limits) is None
            assert otp_refused_until(kept, until - timedelta(microseconds=1), limits) is not None
    for moment in kept:
        assert len([k for k in kept if moment - timedelta(seconds=window) < k <= moment]) <= most


# -- the message ------------------------------------------------------------------


def test_the_sms_is_informational_and_carries_the_code(client: Client) -> None:
    sent = client.otp.send(NUMBER)
    sms = fake(client).sent[-1]
    code = last_code(fake(client))
    assert sms.text == (
        f"ACME doğrulama kodunuz: {code}. Kod 3 dakika geçerlidir, kimseyle paylaşmayın."
    )
    assert sent.campaign_id is not None
    campaign = client.storage.get_campaign(sent.campaign_id)
    assert campaign is not None
    assert campaign.category == MessageCategory.INFORMATIONAL.value
    assert classify(sms.text, as_of=T0.date()).verdict is Verdict.INFORMATIONAL
    report = client.check(Message(sms.text, category="informational", brand="ACME"), NUMBER)
    assert not report.refused
    assert report.findings == ()


def test_templates_brand_length_and_ttl(client: Client) -> None:
    client.otp.send(
        NUMBER,
        length=8,
        ttl=timedelta(seconds=150),
        template="{brand}: giriş kodunuz {code} ({minutes} dk).",
    )
    code = last_code(fake(client))
    assert len(code) == 8
    assert fake(client).sent[-1].text == f"ACME: giriş kodunuz {code} (3 dk)."
    assert client.otp.verify(NUMBER, code) is True


def test_without_a_brand_the_text_names_none() -> None:
    bare = Sender(name="Acme Ticaret A.Ş.", mersis="0123456789012345", contact="0850 123 45 67")
    with Client(bare, transport=FakeTransport(), storage=MemoryStorage()) as client:
        client.otp.send(NUMBER)
        code = last_code(fake(client))
        assert fake(client).sent[-1].text == (
            f"Doğrulama kodunuz: {code}. Kod 3 dakika geçerlidir, kimseyle paylaşmayın."
        )


def test_a_blacklisted_number_gets_no_code(client: Client) -> None:
    client.blacklist.add(NUMBER, reason="asked to be left alone")
    sent = client.otp.send(NUMBER)
    assert sent.status == "blocked"
    assert not sent.sent
    assert fake(client).sent == []


def test_logs_mask_the_number_and_never_hold_the_code(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client.otp.send(NUMBER)
    code = last_code(fake(client))
    client.otp.verify(NUMBER, "000000" if code != "000000" else "111111")
    client.otp.verify(NUMBER, code)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "+90********67" in text
    assert code not in text
    assert "5321234567" not in text
    assert repr(client.otp.send(OTHER)).startswith("OtpSent(number=+90********67,")


# -- at rest ----------------------------------------------------------------------


def stored_cells(path: Path) -> list[str]:
    """Every cell of every table of the SQLite file at ``path``, as text."""
    db = sqlite3.connect(path)
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        assert "isobil_otp" in tables
        return [
            str(value)
            for table in tables
            for row in db.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - names from the schema
            for value in row
        ]
    finally:
        db.close()


def test_no_code_is_stored_in_clear(tmp_path: Path) -> None:
    """Every column of every isobil table on SQLite, scanned for a 10-digit code: the
    code is nowhere; the hash column is the HMAC of the number and the code."""
    path = tmp_path / "isobil.db"
    with Client(ACME, transport=FakeTransport(), database_url=f"sqlite:///{path}") as client:
        sent = client.otp.send(NUMBER, length=10)
        code = last_code(fake(client))
        assert len(code) == 10
        message = client.storage.get_message(sent.message_id or "")
        assert message is not None
        assert message.text.startswith("ACME doğrulama kodunuz: **********")
    assert not [cell for cell in stored_cells(path) if code in cell]
    db = sqlite3.connect(path)
    try:
        [(number, salt, digest)] = db.execute("SELECT number, salt, hash FROM isobil_otp")
    finally:
        db.close()
    assert number == NUMBER
    expected = hmac.new(bytes.fromhex(salt), f"{NUMBER}:{code}".encode(), hashlib.sha256)
    assert digest == expected.hexdigest()
    assert len(bytes.fromhex(salt)) == 16


class _Snooping(FakeTransport):
    """Reads every cell of the SQLite file while it is handed each batch."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.found: list[str] = []

    def submit(self, batch: Sequence[OutboundSms]) -> list[SubmitResult]:
        cells = stored_cells(self.path)
        for sms in batch:
            found = re.search(r"\d{10}", sms.text)
            assert found is not None, sms.text
            self.found += [cell for cell in cells if found.group() in cell]
        return super().submit(batch)


def test_the_code_is_not_stored_even_while_it_is_sent(tmp_path: Path) -> None:
    """The client's send_now is given the code to conceal: the message is stored with
    it masked before the transport sees it, so a process killed mid-submit leaves no
    code in the database either."""
    path = tmp_path / "isobil.db"
    transport = _Snooping(path)
    with Client(ACME, transport=transport, database_url=f"sqlite:///{path}") as client:
        assert client.otp.send(NUMBER, length=10).status == "submitted"
    assert len(transport.sent) == 1
    assert transport.found == []


def test_an_otp_service_on_a_send_function_of_your_own(tmp_path: Path) -> None:
    """A wrapper of send_now (functools.wraps, as a logging decorator has it) is called
    as send(message, number): the code is stored while it is sent, masked once it
    returns. Told conceal=True, the service gives the function the code to conceal."""
    path = tmp_path / "isobil.db"
    transport = _Snooping(path)
    with Client(ACME, transport=transport, database_url=f"sqlite:///{path}") as client:

        @functools.wraps(client.send_now)
        def logged(message: Message, to: str) -> Any:
            return client.send_now(message, to)

        def concealing(message: Message, to: str, *, conceal: str) -> Any:
            return client.send_now(message, to, conceal=conceal)

        assert Otp(client.storage, logged).send(NUMBER, length=10).status == "submitted"
        stored_while_sent = list(transport.found)
        assert stored_while_sent  # the campaign's and the message's text
        hidden = Otp(client.storage, concealing, conceal=True)
        assert hidden.send(OTHER, length=10).status == "submitted"
        assert transport.found == stored_while_sent  # nothing more
    codes = [re.search(r"\d{10}", sms.text) for sms in transport.sent]
    assert len(codes) == 2
    cells = stored_cells(path)
    assert not [c for c in cells for code in codes if code is not None and code.group() in c]


KEY = b"sunucu-anahtari"  # what an application keeps in its environment, not in the database


def test_a_secret_keys_the_hash(client: Client) -> None:
    client.otp.secret = KEY.decode()
    client.otp.send(NUMBER)
    code = last_code(fake(client))
    record = client.storage.latest_otp(NUMBER)
    assert record is not None
    salt = bytes.fromhex(record.salt)
    assert record.hash == code_hash(KEY, salt, NUMBER, code)
    assert record.hash != code_hash(b"", salt, NUMBER, code)
    client.otp.secret = KEY[::-1]
    assert client.otp.verify(NUMBER, code) is False  # a database copy alone tests nothing
    client.otp.secret = KEY
    assert client.otp.verify(NUMBER, code) is True


def test_purge_deletes_only_what_no_limit_counts(client: Client, clock: Clock) -> None:
    client.otp.send(NUMBER)
    clock.advance(hours=23)
    client.otp.send(NUMBER)
    assert client.otp.purge() == 0
    clock.advance(hours=1, seconds=1)
    assert client.otp.purge() == 1
    assert client.storage.latest_otp(NUMBER) is not None


# -- concurrency, on both servers --------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'isobil.db'}"
    else:
        with _pg.fresh_database() as url:
            yield url


def test_concurrent_verifies_of_one_code_let_one_in(database_url: str) -> None:
    with Client(ACME, transport=FakeTransport(), database_url=database_url) as client:
        for round_ in range(5):
            number = f"+90532000{round_:04d}"
            client.otp.send(number)
            code = last_code(fake(client))
            start = threading.Barrier(8)
            answers: list[bool] = []

            def race(number: str, code: str, start: threading.Barrier, answers: list[bool]) -> None:
                start.wait()
                answers.append(client.otp.verify(number, code))

            threads = [
                threading.Thread(target=race, args=(number, code, start, answers)) for _ in range(8)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert sorted(answers) == [False] * 7 + [True], round_


def test_concurrent_sends_to_one_number_keep_its_limit(database_url: str) -> None:
    with Client(ACME, transport=FakeTransport(), database_url=database_url) as client:
        start = threading.Barrier(8)
        outcomes: list[str] = []

        def race() -> None:
            start.wait()
            try:
                client.otp.send(NUMBER)
                outcomes.append("sent")
            except OtpRateLimited:
                outcomes.append("refused")

        threads = [threading.Thread(target=race) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["refused"] * 5 + ["sent"] * 3
        assert len(fake(client).sent) == 3


# -- asyncio ----------------------------------------------------------------------------


def test_the_async_client_sends_and_verifies() -> None:
    async def flow() -> tuple[bool, bool]:
        async with AsyncClient(ACME, transport=FakeTransport(), storage=MemoryStorage()) as client:
            sent = await client.otp.send("0532 123 45 67")
            assert sent.status == "submitted"
            assert isinstance(client.sync.transport, FakeTransport)
            code = last_code(client.sync.transport)
            return await client.otp.verify(NUMBER, code), await client.otp.verify(NUMBER, code)

    assert asyncio.run(flow()) == (True, False)


def test_an_otp_service_on_its_own() -> None:
    """The service takes any send function (the client's send works as send_now does)."""
    clock = Clock()
    with Client(ACME, transport=FakeTransport(), storage=MemoryStorage()) as client:
        otp = Otp(client.storage, client.send, sender=ACME, max_attempts=2, clock=clock)
        sent = otp.send(NUMBER)
        assert sent.status == "submitted"
        assert sent.campaign_id is not None
        code = last_code(fake(client))
        stored = client.storage.get_message(sent.message_id or "")
        assert stored is not None
        assert code not in stored.text
        assert [otp.verify(NUMBER, "x"), otp.verify(NUMBER, "y"), otp.verify(NUMBER, code)] == [
            False,
            False,
            False,
        ]
        with pytest.raises(InvalidValue, match="max_attempts"):
            Otp(client.storage, client.send, max_attempts=0)
        with pytest.raises(InvalidValue, match="aware datetime"):
            Otp(client.storage, client.send, clock=lambda: datetime(2026, 1, 1)).send(NUMBER)
