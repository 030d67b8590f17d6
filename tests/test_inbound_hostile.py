"""Hostile inbound texts, pushed and retried, end to end: push → Client → ledger, replies.

A provider pushes (signed, to the Client's :class:`CallbackApp`) any text it can
deliver — lone surrogates, NUL, direction marks, emoji, very long — and pushes it
again after every failure, including a storage failure injected before or after
a write. Each inbound message must be stored (its text retrievable, the original
kept escaped), its RET recorded once and its auto reply sent once, on memory,
SQLite and PostgreSQL.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import _pg
from _acme import ACME
from isobil import Client
from isobil.consent import storable_text, unescape_text
from isobil.errors import StorageError
from isobil.model import ConsentStatus
from isobil.storage import InboundRecord, MemoryStorage, SQLStorage, Storage
from isobil.testing.http_gateway import HttpGateway
from isobil.transport import CallbackApp, GenericJsonAdapter, HttpTransport, signed_headers

SECRET = "hostile-inbound-secret-0123456789"  # noqa: S105 - a test secret
#: When keyless texts were received, by the provider's clock.
RECEIVED_AT = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
#: The opt-out reply's opening (AutoReplies.opt_out for ACME).
OPT_OUT_REPLY = "ACME ticari ileti ret talebiniz alındı."

#: Each example writes to numbers of its own, so one database serves them all.
_numbers = itertools.count(1)
_BASE = uuid.uuid4().int % 9_000_000


def _number() -> str:
    return f"+90532{(_BASE + next(_numbers)) % 10_000_000:07d}"


# -- texts --------------------------------------------------------------------------

#: Code points that change nothing in how a text reads, but that no database stores
#: as is (NUL, lone surrogates), or that are invisible, reorder the display, or are
#: outside the BMP (an emoji, as one code point or as a surrogate pair).
NOISE = [
    "\x00",
    "\ud800",
    "\udfff",
    "\udc00\ud800",
    "\ud83d\ude00",  # 😀 as two surrogate code points
    "😀",
    "👨\u200d👩\u200d👧",
    "\u200f",  # RIGHT-TO-LEFT MARK
    "\u202e",  # RIGHT-TO-LEFT OVERRIDE
    "\u2066",
    "\ufeff",
    "\u200b",
    "\x01",
    "\x1b",
    "\x7f",
    "\t",
    "\n",
    " ",
    ".",
    "!",
    "\\",
    "\\u0000",
    "\ufffd",
]
RET_VARIANTS = ["ACME RET", "acme ret", "RET ACME", "Acme Ret", "ACMERET", "ACME İPTAL", "ret acme"]

noise = st.lists(st.sampled_from(NOISE), max_size=8).map("".join)
#: Long, yet inside the receiver's 64 KiB body limit even with every code point escaped.
long_noise = st.sampled_from(NOISE).map(lambda n: n * (1500 // len(n)))
ret_texts = st.builds(
    lambda before, word, middle, after: before + word.replace(" ", " " + middle, 1) + after,
    st.one_of(noise, long_noise),
    st.sampled_from(RET_VARIANTS),
    noise,
    st.one_of(noise, long_noise),
)
#: Any code point at all, lone surrogates and NUL included.
any_texts = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, categories=None))

#: Where a storage failure is injected into the first attempt: the storage call
#: that fails, and whether it fails before its write or after it (the write done,
#: its answer lost).
FAILURES = [
    None,
    ("get_inbound", False),
    ("record_inbound", False),
    ("record_inbound", True),
    ("iter_consent_events", False),
    ("append_consent_events", False),
    ("append_consent_events", True),
    ("get_message", False),
    ("add_messages", False),
    ("add_messages", True),
    ("finish_inbound", False),
    ("finish_inbound", True),
]


# -- the world: a Client over HTTP, its callbacks, a storage of each kind ----------


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with _pg.fresh_database() as url:
        yield url


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if request.param == "memory":
        yield MemoryStorage()
        return
    url = (
        request.getfixturevalue("pg_url")
        if request.param == "postgresql"
        else f"sqlite:///{tmp_path / 'isobil.db'}"
    )
    with SQLStorage(url) as sql:
        yield sql


class World:
    """A Client sending replies to a loopback gateway, and its callback receiver."""

    def __init__(self, storage: Storage, gateway: HttpGateway) -> None:
        self.storage = storage
        self.gateway = gateway
        transport = HttpTransport(gateway.url, GenericJsonAdapter(), timeout=5.0)
        self.client = Client(ACME, transport=transport, storage=storage)
        self.callbacks: CallbackApp = self.client.callbacks(SECRET)
        self._pushes = itertools.count()

    def push(self, events: list[dict[str, Any]]) -> int:
        """One signed push (a fresh signature each time: a retry, not a replay)."""
        body = json.dumps(events).encode("utf-8")
        # Copies of a push differ in their timestamp (inside the replay window).
        stamp = int(time.time()) - 200 + next(self._pushes) % 400
        headers = signed_headers(SECRET, body, timestamp=stamp)
        status, _, _ = self.callbacks.handle(
            "POST", "/", "", {k.lower(): v for k, v in headers.items()}, body
        )
        return status

    def flush(self) -> None:
        """Send what a worker would: replies stored but not sent when a write failed."""
        self.client.dispatch(now=datetime.now(UTC) + self.client.lease + timedelta(seconds=1))

    def record_of(self, number: str) -> InboundRecord:
        [record] = [r for r in self.storage.iter_inbound() if r.from_ == number]
        return record

    def events_of(self, number: str) -> list[Any]:
        return list(self.storage.iter_consent_events(address=number))

    def sent_to(self, number: str) -> list[str]:
        return [text for to, text in self.gateway.received() if to == number]


@pytest.fixture
def world(storage: Storage) -> Iterator[World]:
    with HttpGateway(secret=SECRET) as gateway:
        world = World(storage, gateway)
        try:
            yield world
        finally:
            world.client.close()


@contextmanager
def failing_once(storage: Storage, name: str | None, *, after: bool) -> Iterator[list[str]]:
    """Make the first call of ``storage.<name>`` raise :class:`StorageError`
    (after doing its work when ``after``); yields the calls that failed."""
    fired: list[str] = []
    if name is None:
        yield fired
        return
    real: Callable[..., Any] = getattr(storage, name)

    def once(*args: Any, **kwargs: Any) -> Any:
        if fired:
            return real(*args, **kwargs)
        fired.append(name)
        if after:
            real(*args, **kwargs)
        raise StorageError(f"injected: {name} failed")

    setattr(storage, name, once)
    try:
        yield fired
    finally:
        delattr(storage, name)


def _as_json_carries(text: str) -> str:
    """``text`` as a JSON push delivers it: a surrogate pair arrives as one code point."""
    decoded: str = json.loads(json.dumps(text))
    return decoded


def _original(record: InboundRecord) -> str:
    """The text as received: kept as is, or escaped beside its storable form."""
    return record.text if record.raw_text is None else unescape_text(record.raw_text)


def _mo(number: str, text: str, provider_id: str | None) -> dict[str, Any]:
    event: dict[str, Any] = {"type": "mo", "from": number, "to": "4605", "text": text}
    if provider_id is None:
        # No id: the content and the time of receipt identify the message.
        event["received_at"] = RECEIVED_AT
    else:
        event["provider_id"] = provider_id
    return event


def _deliver(
    world: World,
    number: str,
    text: str,
    *,
    keyed: bool,
    retries: int,
    failure: tuple[str, bool] | None,
) -> list[int]:
    """Push ``text`` from ``number`` (beside a plain RET from a bystander), retrying
    after every failure and ``retries`` times more; returns the answers."""
    provider_id = f"mo-{uuid.uuid4().hex}" if keyed else None
    bystander = _number()
    events = [_mo(bystander, "ACME RET", f"by-{uuid.uuid4().hex}"), _mo(number, text, provider_id)]
    name, after = failure if failure is not None else (None, False)
    answers: list[int] = []
    with failing_once(world.storage, name, after=after) as fired:
        while len(answers) < 1 + retries or answers[-1] != 200:
            answers.append(world.push(events))
            assert len(answers) < 10, answers
    assert answers.count(503) == len(fired), (answers, fired)
    world.flush()
    # The bystander, pushed in the same (retried) push, is handled once too.
    assert [e.status for e in world.events_of(bystander)] == [ConsentStatus.RET]
    assert len(world.sent_to(bystander)) == 1
    return answers


# -- the properties ---------------------------------------------------------------


SETTINGS = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@SETTINGS
@given(
    text=ret_texts,
    keyed=st.booleans(),
    retries=st.integers(2, 4),
    failure=st.sampled_from(FAILURES),
)
def test_a_hostile_ret_is_recorded_and_answered_once(
    world: World, text: str, keyed: bool, retries: int, failure: tuple[str, bool] | None
) -> None:
    """ "ACME RET" in hostile text: one RET, one reply, the text stored, however retried."""
    number = _number()
    _deliver(world, number, text, keyed=keyed, retries=retries, failure=failure)
    events = world.events_of(number)
    assert [(e.status, e.brand) for e in events] == [(ConsentStatus.RET, "ACME")]
    [reply] = world.sent_to(number)
    assert reply.startswith(OPT_OUT_REPLY)
    record = world.record_of(number)
    received = _as_json_carries(text)
    assert record.text == storable_text(received)
    assert (record.raw_text is None) == (storable_text(received) == received)
    assert _original(record) == received
    assert record.intent == "opt_out"
    assert record.handled_at is not None
    assert record.consent_seqs == (events[0].seq,)
    assert record.reply_id is not None
    assert world.client.message(record.reply_id).to == number
    assert events[0].evidence["inbound_id"] == record.id
    assert events[0].evidence["text"] == record.text
    assert world.client.consent.state(number, brand="ACME") is ConsentStatus.RET
    assert world.client.consent.verify().ok


@SETTINGS
@given(
    text=st.one_of(any_texts, any_texts.map(lambda t: t * (3000 // (len(t) or 1)))),
    retries=st.integers(2, 3),
    failure=st.sampled_from(FAILURES),
)
def test_any_text_is_stored_and_acted_on_once(
    world: World, text: str, retries: int, failure: tuple[str, bool] | None
) -> None:
    """Whatever the text says, it is stored, and nothing it causes happens twice."""
    number = _number()
    _deliver(world, number, text, keyed=True, retries=retries, failure=failure)
    record = world.record_of(number)
    received = _as_json_carries(text)
    assert record.text == storable_text(received)
    assert _original(record) == received
    assert record.handled_at is not None
    events = world.events_of(number)
    assert [e.seq for e in events] == list(record.consent_seqs)
    assert all(e.evidence["inbound_id"] == record.id for e in events)
    # One event per brand and status at most; no text sent twice to the number.
    assert len({(e.brand, e.status) for e in events}) == len(events)
    sent = world.sent_to(number)
    assert len(set(sent)) == len(sent)
    assert (record.reply_id is not None) == (record.intent != "unknown")


def test_concurrent_copies_with_one_provider_id_are_handled_once(world: World) -> None:
    """Four pushes of one message (new signatures) at once: one handles it, the other
    is answered 503 while it is held, or 200 once it is handled; one RET either way."""
    number = _number()
    events = [_mo(number, "ACME RET \x00\ud800", "mo-concurrent-" + uuid.uuid4().hex)]
    gate = threading.Barrier(4)
    answers: list[int] = []

    def push() -> None:
        gate.wait()
        answers.append(world.push(events))

    threads = [threading.Thread(target=push) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(answers) <= {200, 503}
    assert world.push(events) == 200  # the provider's retry, once all are done
    world.flush()
    assert [e.status for e in world.events_of(number)] == [ConsentStatus.RET]
    assert len(world.sent_to(number)) == 1
