"""SQLStorage on SQLite and PostgreSQL: the shared contract, then what only SQL has."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import re
import sqlite3
import threading
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

import _pg
from isobil.errors import InvalidValue, StorageError
from isobil.model import Channel, Recipient
from isobil.storage import (
    BlacklistEntry,
    Campaign,
    CreditEntry,
    CreditKind,
    InboundRecord,
    MemoryStorage,
    MessageState,
    OutboundMessage,
    Settlement,
    SQLStorage,
)
from isobil.storage._records import SENT_STATES
from isobil.storage._schema import messages as messages_table
from isobil.storage._sql import _PAGE, _RAW_MESSAGED
from isobil.testing.storage import T0, StorageContract, campaign, consent, number

# -- the contract on every backend -------------------------------------------


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with _pg.fresh_database() as url:
        yield url


class TestSQLiteFile(StorageContract):
    """A SQLite file (WAL), the default backend."""

    @pytest.fixture
    def storage(self, tmp_path: Path) -> Iterator[SQLStorage]:
        with SQLStorage(tmp_path / "isobil.db") as storage:
            yield storage


class TestSQLiteMemory(StorageContract):
    """An in-memory SQLite database: one shared connection, transactions serialised."""

    @pytest.fixture
    def storage(self) -> Iterator[SQLStorage]:
        with SQLStorage("sqlite://") as storage:
            yield storage


class TestPostgreSQL(StorageContract):
    """PostgreSQL, emptied between tests."""

    @pytest.fixture
    def storage(self, pg_url: str) -> Iterator[SQLStorage]:
        with SQLStorage(pg_url) as storage:
            yield storage
        _pg.truncate(pg_url)


class TestPostgreSQLInADaylightSavingZone(StorageContract):
    """PostgreSQL whose sessions keep Europe/Berlin time (a server's ``timezone``
    setting): its driver gives times in that zone, where two instants of the hour
    repeated when clocks go back compare equal (test_times_in_the_repeated_hour)."""

    @pytest.fixture
    def storage(self, pg_url: str) -> Iterator[SQLStorage]:
        url = sa.make_url(pg_url).update_query_dict({"options": "-c timezone=Europe/Berlin"})
        with SQLStorage(url.render_as_string(hide_password=False)) as storage:
            with storage._db.engine.connect() as conn:
                assert conn.exec_driver_sql("SHOW timezone").scalar() == "Europe/Berlin"
            yield storage
        _pg.truncate(pg_url)


# -- beyond the contract, on both servers --------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'isobil.db'}"
        return
    pg = request.getfixturevalue("pg_url")
    yield pg
    _pg.truncate(pg)


@pytest.fixture
def storage(url: str) -> Iterator[SQLStorage]:
    with SQLStorage(url) as storage:
        yield storage


def test_contacts_read_in_bulk_share_a_read_only_view_of_equal_fields(
    storage: SQLStorage,
) -> None:
    """get_contacts parses each distinct set of custom fields once; its contacts share
    one read-only view of it (one object fewer per contact), which nothing can change."""
    storage.upsert_contacts(
        [
            Recipient(number(1), fields={"il": "Van"}),
            Recipient(number(2), fields={"il": "Van"}),
            Recipient(number(3), fields={"il": "Muğla"}),
        ]
    )
    found = storage.get_contacts([number(1), number(2), number(3)])
    first, second, third = (found[number(i)] for i in (1, 2, 3))
    assert first.fields is second.fields
    assert dict(first.fields) == {"il": "Van"}
    assert dict(third.fields) == {"il": "Muğla"}
    with pytest.raises(TypeError):
        first.fields["il"] = "Ankara"  # type: ignore[index]
    assert dict(second.fields) == {"il": "Van"}


def test_bulk_upsert_across_batches(storage: SQLStorage) -> None:
    """One call of 25,000 rows (repeats across batches) counts and stores each number once."""
    first = [Recipient(number(i), name=f"A{i}") for i in range(20_000)]
    repeats = [Recipient(number(i), name=f"B{i}") for i in range(5_000)]
    result = storage.upsert_contacts(first + repeats, group="kampanya")
    assert (result.inserted, result.updated) == (20_000, 0)
    assert storage.count_contacts() == 20_000
    assert storage.count_contacts(group="kampanya") == 20_000
    again = storage.upsert_contacts(
        [Recipient(number(i), fields={"il": "Van"}) for i in range(19_000, 21_000)]
    )
    assert (again.inserted, again.updated) == (1_000, 1_000)
    stored = storage.get_contacts([number(0), number(4_999), number(5_000), number(20_500)])
    assert [c.name for c in stored.values()] == ["B0", "B4999", "A5000", None]
    assert dict(stored[number(20_500)].fields) == {"il": "Van"}
    numbers = [c.number for c in storage.iter_contacts()]  # several keyset pages
    assert len(numbers) == 21_000 > 4 * _PAGE
    assert numbers == sorted(numbers)
    assert len(list(storage.iter_contacts(group="kampanya"))) == 20_000


def test_lookups_span_several_chunks(storage: SQLStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    """Audiences longer than one lookup list are looked up whole; results match memory."""
    monkeypatch.setattr(storage, "_in_size", 1_000)
    count = 2_500
    events = [
        consent(i, "RET" if i % 3 == 0 else "ONAY", at=T0 + timedelta(minutes=i % 7))
        for i in range(count)
    ]
    events += [consent(i, "ONAY", at=T0 + timedelta(minutes=3)) for i in range(0, count, 5)]
    storage.append_consent_events(events)
    memory = MemoryStorage()
    memory.append_consent_events(events)
    audience = [number(i) for i in range(count + 100)]
    states = storage.consent_states(audience, brand="ACME")
    assert len(states) == count
    assert states == memory.consent_states(audience, brand="ACME")
    storage.upsert_contacts(Recipient(number(i)) for i in range(0, count, 2))
    assert len(storage.get_contacts(audience)) == count // 2
    storage.add_to_blacklist(BlacklistEntry(number(i), "RET", T0) for i in range(0, count, 3))
    assert storage.blacklisted(audience) == {number(i) for i in range(0, count, 3)}
    assert storage.delete_contacts(audience) == count // 2


def test_append_only_tables_refuse_changes_in_the_database(storage: SQLStorage, url: str) -> None:
    """Triggers refuse UPDATE and DELETE of consent events and credit entries, even in raw SQL."""
    storage.append_consent_events([consent(1)])
    storage.append_credit(CreditEntry(CreditKind.TOP_UP, 10, T0))
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        for sql in (
            "UPDATE isobil_consent_events SET status = 'RET'",
            "DELETE FROM isobil_consent_events",
            "UPDATE isobil_credit_entries SET amount = 1000",
            "DELETE FROM isobil_credit_entries",
        ):
            with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as conn:
                conn.exec_driver_sql(sql)
    finally:
        engine.dispose()
    assert [e.status.value for e in storage.iter_consent_events()] == ["ONAY"]
    assert storage.credit_balance() == 10


def test_times_come_back_in_utc(storage: SQLStorage) -> None:
    """Whatever offset goes in, the same instant comes back, in UTC."""
    istanbul = T0.astimezone(timezone(timedelta(hours=3)))
    storage.create_campaign(
        Campaign(id="c1", text="x", category="commercial", created_at=istanbul, send_at=istanbul)
    )
    found = storage.get_campaign("c1")
    assert found is not None
    assert found.created_at == T0
    assert found.send_at is not None
    assert found.send_at.tzinfo is UTC


def test_find_folds_turkish_letters(storage: SQLStorage) -> None:
    """Searching is case-insensitive beyond ASCII: Ş, Ç, Ö, Ü, Ğ."""
    storage.upsert_contacts(
        [
            Recipient(number(1), name="ŞULE", surname="ÇELİK"),
            Recipient(number(2), name="Gökhan", surname="Öztürk"),
            Recipient(number(3), name="50%_off"),
        ]
    )
    assert [c.number for c in storage.find_contacts("şule")] == [number(1)]
    assert [c.number for c in storage.find_contacts("ÖZTÜRK")] == [number(2)]
    # LIKE wildcards in the text are literal characters.
    assert [c.number for c in storage.find_contacts("%_")] == [number(3)]


def test_add_messages_is_atomic_and_names_the_problem(storage: SQLStorage) -> None:
    """A batch with a repeated id or an unknown campaign stores nothing."""
    storage.create_campaign(campaign("c1"))

    def message(i: int, campaign_id: str = "c1") -> OutboundMessage:
        return OutboundMessage(f"m{i}", campaign_id, number(i), "x", 1)

    with pytest.raises(InvalidValue, match="'m1' already exists"):
        storage.add_messages([message(0), message(1), message(1)])
    with pytest.raises(InvalidValue, match="no campaign with id 'c9'"):
        storage.add_messages([message(2), message(3, "c9")])
    assert storage.message_counts("c1") == {}
    storage.add_messages([message(0)])
    with pytest.raises(InvalidValue, match="'m0' already exists"):
        storage.add_messages([message(4), message(0)])
    assert [m.id for m in storage.iter_messages("c1")] == ["m0"]


def test_messaged_matches_memory(storage: SQLStorage) -> None:
    """Numbers that were sent something (submitted or after), as MemoryStorage says."""
    memory = MemoryStorage()
    for backend in (storage, memory):
        backend.create_campaign(campaign("c1"))
        backend.add_messages(
            OutboundMessage(f"m{i}", "c1", number(i % 6), "x", 1, state=state)
            for i, state in enumerate(MessageState)
        )
    everyone = [number(i) for i in range(8)]
    assert storage.messaged(everyone) == memory.messaged(everyone)
    assert storage.messaged(everyone)  # not trivially empty
    assert storage.messaged([]) == set()


def test_inbound_ids_are_unique(storage: SQLStorage) -> None:
    """Recording the same inbound message twice is refused, not duplicated."""
    record = InboundRecord("in-1", number(1), "4605", "ACME RET", T0, "opt_out")
    storage.record_inbound(record)
    with pytest.raises(InvalidValue, match="already recorded"):
        storage.record_inbound(record)
    assert list(storage.iter_inbound()) == [record]


def test_unsynced_events_page_through_a_long_ledger(storage: SQLStorage) -> None:
    """iter_unsynced_consent_events keeps seq order across pages and honours limit."""
    from isobil.storage import IysSync, IysSyncStatus

    storage.append_consent_events([consent(i) for i in range(_PAGE + 10)])
    storage.set_iys_sync(
        IysSync(seq, IysSyncStatus.REGISTERED, T0) for seq in range(1, _PAGE + 11, 2)
    )
    unsynced = [e.seq for e in storage.iter_unsynced_consent_events()]
    assert unsynced == list(range(2, _PAGE + 11, 2))
    assert [e.seq for e in storage.iter_unsynced_consent_events(limit=3)] == [2, 4, 6]


def test_closed_storage_raises(url: str) -> None:
    """close() twice is harmless; using a closed storage is a StorageError."""
    storage = SQLStorage(url)
    storage.close()
    storage.close()
    with pytest.raises(StorageError, match="closed"):
        storage.count_contacts()


# -- consent states agree with the reference implementation ------------------

_EVENTS = st.lists(
    st.tuples(
        st.integers(0, 4),  # address
        st.sampled_from(["ONAY", "RET"]),
        st.integers(0, 3),  # consent date, in days after T0
        st.sampled_from(["ACME", "ZETA"]),
        st.sampled_from(["MESAJ", "ARAMA"]),
    ),
    max_size=30,
)


@settings(max_examples=40, deadline=None)
@given(batches=st.lists(_EVENTS, min_size=1, max_size=3))
def test_consent_states_agree_with_memory(
    batches: list[list[tuple[int, str, int, str, str]]],
) -> None:
    """For any events appended in any batches, SQL picks the same deciding events as memory."""
    memory = MemoryStorage()
    with SQLStorage("sqlite://") as sql:
        for batch in batches:
            events = [
                consent(a, s, at=T0 + timedelta(days=d), brand=b, channel=c)
                for a, s, d, b, c in batch
            ]
            memory.append_consent_events(events)
            sql.append_consent_events(events)
        audience = [number(i) for i in range(5)]
        for brand in ("ACME", "ZETA"):
            for channel in (Channel.MESAJ, Channel.ARAMA):
                assert sql.consent_states(audience, brand=brand, channel=channel) == (
                    memory.consent_states(audience, brand=brand, channel=channel)
                )


# -- SQLite specifics -----------------------------------------------------------


def test_sqlite_connection_settings(tmp_path: Path) -> None:
    """WAL, a busy timeout, NORMAL sync and foreign keys on every connection."""
    with SQLStorage(tmp_path / "isobil.db") as storage, storage._db.engine.connect() as conn:
        pragmas = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "busy_timeout", "synchronous", "foreign_keys")
        }
    assert pragmas == {
        "journal_mode": "wal",
        "busy_timeout": 30_000,
        "synchronous": 1,
        "foreign_keys": 1,
    }


def test_sqlite_writers_wait_for_the_lock_instead_of_failing(tmp_path: Path) -> None:
    """A write while another process holds the write lock waits, then succeeds."""
    path = tmp_path / "isobil.db"
    with SQLStorage(path) as storage:
        storage.append_credit(CreditEntry(CreditKind.TOP_UP, 5, T0))
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another writer holds the file
        outcome: list[bool] = []
        writer = threading.Thread(
            target=lambda: outcome.append(
                storage.append_credit(
                    CreditEntry(CreditKind.RESERVE, -5, T0), keep_balance_at_least=0
                )
            )
        )
        writer.start()
        writer.join(timeout=0.5)
        assert writer.is_alive()  # queued behind the lock, not failed
        assert storage.credit_balance() == 5  # readers are not blocked (WAL)
        other.execute("COMMIT")
        other.close()
        writer.join()
        assert outcome == [True]
        assert storage.credit_balance() == 0


def test_sqlite_stores_utc_text(tmp_path: Path) -> None:
    """On SQLite a time is fixed-width UTC text, so comparisons in SQL follow time."""
    path = tmp_path / "isobil.db"
    with SQLStorage(path) as storage:
        storage.append_credit(CreditEntry(CreditKind.TOP_UP, 1, T0.astimezone()))
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT at FROM isobil_credit_entries").fetchone() == (
            "2026-03-01 09:00:00.000000",
        )
    raw.close()


def test_sqlite_per_batch_calls_store_times_as_the_schema_does(tmp_path: Path) -> None:
    """The per-batch calls write on the driver; what they store is what SQLAlchemy's
    UTCDateTime stores (same text, byte for byte), whatever the offset given."""
    istanbul = timezone(timedelta(hours=3))
    at = datetime(2026, 3, 1, 12, 0, tzinfo=istanbul)
    message = OutboundMessage(
        "m1",
        "c1",
        number(1),
        "x",
        1,
        not_before=at,
        lease_until=at + timedelta(days=400),
        updated_at=T0 + timedelta(microseconds=5),
    )
    rows = {}
    for name, add in (
        ("raw", lambda s: s.add_messages([message])),
        ("orm", lambda s: s._add_messages_checked([message])),
    ):
        path = tmp_path / f"{name}.db"
        with SQLStorage(path) as storage:
            storage.create_campaign(campaign("c1"))
            add(storage)
        with contextlib.closing(sqlite3.connect(path)) as raw:
            rows[name] = raw.execute(
                "SELECT not_before, lease_until, updated_at FROM isobil_messages"
            ).fetchall()
    assert rows["raw"] == rows["orm"]
    assert rows["raw"] == [
        ("2026-03-01 09:00:00.000000", "2027-04-05 09:00:00.000000", "2026-03-01 09:00:00.000005")
    ]


def test_messaged_counts_exactly_the_sent_states() -> None:
    """messaged's SQL names its states literally: they are SENT_STATES."""
    named = set(re.findall(r"'(\w+)'", _RAW_MESSAGED))
    assert named == {state.value for state in SENT_STATES}


# -- URLs, errors and secrets ----------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root:s3cret@localhost/x", "unsupported database 'mysql'"),
        ("postgresql+psycopg2://u:s3cret@localhost/x", "use postgresql\\+psycopg://"),
        ("postgresql+psycopg://u:s3cret@localhost:port/x", "invalid database URL"),
        ("not a url s3cret", "invalid database URL"),
    ],
)
def test_bad_urls_are_invalid_values(url: str, message: str) -> None:
    """A URL isobil cannot use is an InvalidValue that does not repeat the password."""
    with pytest.raises(InvalidValue, match=message) as raised:
        SQLStorage(url)
    assert "s3cret" not in _everything_about(raised.value)


def _everything_about(exc: BaseException) -> str:
    """str, repr and the whole printed traceback, chained causes included."""
    return "\n".join([str(exc), repr(exc), *traceback.format_exception(exc)])


def test_connection_failure_hides_the_password() -> None:
    """An unreachable server is a StorageError; no text about it shows the password."""
    url = "postgresql+psycopg://postgres:s3cret@127.0.0.1:1/x"
    with pytest.raises(StorageError) as raised:
        SQLStorage(url)  # (the traceback quotes this line: keep the literal off it)
    text = _everything_about(raised.value)
    assert "s3cret" not in text
    assert "postgres:***@127.0.0.1:1/x" in str(raised.value)
    assert isinstance(raised.value.__cause__, sa.exc.OperationalError)


def test_server_errors_hide_the_password(pg_url: str) -> None:
    """A server that refuses the database: StorageError, password hidden everywhere."""
    url = sa.make_url(pg_url).set(password="s3cret", database="isobil_no_such_db")  # noqa: S106
    with pytest.raises(StorageError, match="isobil_no_such_db") as raised:
        SQLStorage(url.render_as_string(hide_password=False))
    assert "s3cret" not in _everything_about(raised.value)


def test_repr_and_logs_hide_the_password(caplog: pytest.LogCaptureFixture) -> None:
    """repr, url and every log line (SQLAlchemy's included) show *** for the password."""
    with _pg.fresh_database() as plain:
        with_password = sa.make_url(plain).set(password="s3cret")  # noqa: S106 - a test secret
        url = with_password.render_as_string(hide_password=False)
        caplog.set_level(logging.DEBUG)
        with SQLStorage(url) as storage:  # trust auth: the password is sent, not checked
            storage.upsert_contacts([Recipient(number(1))])
            assert storage.get_contacts([number(1)])
            assert repr(storage) == f"<SQLStorage {sa.make_url(url)!r}>"
            assert ":***@" in repr(storage)
            assert "s3cret" not in storage.url
    assert "upgraded" in caplog.text  # the new database was migrated, and said so
    assert "s3cret" not in caplog.text


def test_a_password_in_the_query_is_hidden_too() -> None:
    """psycopg takes ``?password=`` as well: repr, url and errors hide it there too."""
    with _pg.fresh_database() as plain:
        query = {"password": "q-s3cret+1"}  # trust auth: sent, not checked
        url = sa.make_url(plain).update_query_dict(query).render_as_string(hide_password=False)
        with SQLStorage(url) as storage:
            assert "password=***" in storage.url
            assert "q-s3cret" not in repr(storage) + storage.url
            error = storage._db.wrap("probe", sa.exc.OperationalError("", {}, OSError(url)))
            assert "q-s3cret" not in str(error)


def test_wrapped_errors_mask_phone_numbers(tmp_path: Path) -> None:
    """A database message quoting a number (a unique-key detail) has it masked."""
    with SQLStorage(tmp_path / "isobil.db") as storage:
        orig = sqlite3.IntegrityError("Key (number)=(+905321234567) already exists.")
        error = sa.exc.IntegrityError("INSERT", {}, orig)
        wrapped = storage._db.wrap("upsert_contacts", error)
        wrapped.__cause__ = error  # as it is raised: from the driver's error
    assert "+90********67" in str(wrapped)
    assert "5321234567" not in _everything_about(wrapped)  # the chained cause's too


def _pool_size_in_child(storage: SQLStorage, sizes: Queue[int]) -> None:
    sizes.put(storage._db.engine.pool.checkedin())  # type: ignore[attr-defined]
    sizes.put(storage.count_contacts())


def test_a_forked_child_does_not_reuse_the_parents_connections(tmp_path: Path) -> None:
    """After os.fork the child starts with an empty pool and still works."""
    fork = multiprocessing.get_context("fork")
    with SQLStorage(tmp_path / "isobil.db") as storage:
        storage.upsert_contacts([Recipient(number(1))])
        assert storage._db.engine.pool.checkedin() == 1  # type: ignore[attr-defined]
        sizes: Queue[int] = fork.Queue()
        child = fork.Process(target=_pool_size_in_child, args=(storage, sizes))
        child.start()
        assert [sizes.get(timeout=60), sizes.get(timeout=60)] == [0, 1]
        child.join(timeout=60)
        assert child.exitcode == 0
        assert storage.count_contacts() == 1


def _plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _plan_nodes(child)


def test_postgresql_probes_a_campaigns_recipients_by_number_with_stale_statistics() -> None:
    """While a send stores its campaign, PostgreSQL's statistics say the campaign is
    small: the duplicate check must still probe the recipient index per listed number,
    never walk the campaign's rows (each batch would cost more than the one before)."""
    from isobil.storage._sql import _RAW_CAMPAIGN_RECIPIENTS_PG

    with _pg.fresh_database() as url, SQLStorage(url) as storage:
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        try:
            with engine.begin() as conn:  # statistics stay as a send finds them
                conn.exec_driver_sql("ALTER TABLE isobil_messages SET (autovacuum_enabled = false)")
            storage.create_campaign(campaign("c1"))
            for start in range(0, 6000, 500):  # as a send stores it, batch by batch
                storage.add_messages(
                    OutboundMessage(f"m{i:05d}", "c1", number(i), "x", 1)
                    for i in range(start, start + 500)
                )
            listed = [number(i) for i in range(5900, 6100)]
            assert storage.campaign_recipients("c1", listed) == set(listed[:100])
            with engine.begin() as conn:
                [(explained,)] = conn.exec_driver_sql(
                    "EXPLAIN (ANALYZE, FORMAT JSON) " + _RAW_CAMPAIGN_RECIPIENTS_PG,
                    (listed, "c1"),
                ).all()
        finally:
            engine.dispose()
    nodes = list(_plan_nodes(explained[0]["Plan"]))
    assert {n["Index Name"] for n in nodes if "Index Name" in n} == {
        "ix_isobil_messages_recipient"
    }, nodes
    scans = [n for n in nodes if n.get("Relation Name") == "isobil_messages"]
    assert scans
    assert all(n["Node Type"] != "Seq Scan" for n in scans), scans
    # Each probe reads the listed number's own rows: one each, at most. Counted on every
    # node that reads an index or the table (a bitmap index scan has no relation), with
    # the rows a filter threw away: walking the campaign's 6,000 rows would show here.
    walked = [n for n in nodes if "Index Name" in n or "Relation Name" in n]
    read = sum(
        (int(n["Actual Rows"]) + int(n.get("Rows Removed by Filter", 0))) * int(n["Actual Loops"])
        for n in walked
    )
    assert read <= len(listed), walked


def _explained(storage: SQLStorage, statement: sa.Executable, params: dict[str, Any]) -> str:
    """The database's plan for one of the storage's statements, as text."""
    engine = storage._db.engine
    compiled = statement.compile(dialect=engine.dialect)
    values: Any = compiled.construct_params(params)
    if compiled.positional:
        values = tuple(values[name] for name in compiled.positiontup or ())
    postgresql = engine.dialect.name == "postgresql"
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        if postgresql:
            # A table this small is read whole by choice; with sequential scans
            # priced out, an index the query can use is used (one it cannot is not).
            cursor.execute("SET enable_seqscan = off")
        cursor.execute(
            ("EXPLAIN " if postgresql else "EXPLAIN QUERY PLAN ") + str(compiled), values
        )
        return "\n".join(" ".join(map(str, row)) for row in cursor.fetchall())
    finally:
        connection.close()


def test_receipts_find_their_message_through_the_provider_id_index(
    storage: SQLStorage,
) -> None:
    """A receipt's lookup of its message, by one provider id or by a list of them,
    goes through the index by provider id, never a walk of the messages."""
    storage.create_campaign(campaign("c1"))
    storage.add_messages(OutboundMessage(f"m{i:04d}", "c1", number(i), "x", 1) for i in range(400))
    claimed = storage.claim_submitting(worker="w", limit=200, lease=timedelta(minutes=5), now=T0)
    storage.settle(
        [
            Settlement(m.id, MessageState.SUBMITTED, provider_id=f"p{i}")
            for i, m in enumerate(claimed)
        ],
        now=T0,
    )
    found = storage.message_by_provider_id("p7")
    assert found is not None
    assert found.id == "m0007"
    one = _explained(storage, storage._by_provider_id(), {"provider_id": "p7"})
    listed = sa.select(messages_table.c.id).where(storage._among(messages_table.c.provider_id))
    many = _explained(storage, listed, {"values": storage._listed(["p1", "p2"])})
    for plan in (one, many):
        assert "ix_isobil_messages_provider_id" in plan, plan
