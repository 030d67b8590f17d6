"""Storage in SQLite (one file, zero set-up) or PostgreSQL (many workers, many machines).

:class:`SQLStorage` speaks SQLAlchemy Core. What makes it safe to share:

* Every write is one transaction. On SQLite a write transaction starts with
  ``BEGIN IMMEDIATE``, so writers (threads or processes) queue on the file lock
  up to ``busy_timeout`` instead of failing half-way with "database is locked";
  readers never wait (WAL). On PostgreSQL appends that number rows (consent
  events, credit entries) lock their table in EXCLUSIVE mode, which still lets
  readers through.
* ``claim_submitting`` is one statement: ``UPDATE … FROM (SELECT … FOR UPDATE
  SKIP LOCKED)`` on PostgreSQL; on SQLite the same UPDATE under the single writer.
* The schema is created and upgraded by the Alembic migrations shipped inside
  the package; a database of another revision than this code is refused.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import json
import logging
import os
import re
import sqlite3
import threading
import time
import types
import weakref
from collections import Counter
from collections.abc import Callable, Collection, Hashable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, TypeVar, cast
from urllib.parse import quote, quote_plus

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite as sqlite_dialect

from isobil._time import aware
from isobil._trusted import trusted
from isobil.errors import InvalidValue, StorageError
from isobil.model import (
    Channel,
    ConsentEvent,
    ConsentSource,
    ConsentStatus,
    Recipient,
    RecipientType,
    trusted_consent_event,
    trusted_recipient,
)
from isobil.phone import mask
from isobil.storage import _schema as t
from isobil.storage._base import ContactRow, DecidingConsent, Sealer, Storage
from isobil.storage._records import (
    FAILURE_STATES,
    FINAL_REPORTS,
    REPORT_STATES,
    BlacklistEntry,
    Campaign,
    CampaignStatus,
    CreditEntry,
    CreditKind,
    DeliveryReportRecord,
    InboundRecord,
    IysSync,
    IysSyncStatus,
    MessagePart,
    MessageState,
    MessageStats,
    OtpRecord,
    OutboundMessage,
    Schedule,
    ScheduleStatus,
    Settlement,
    Template,
    UpsertResult,
    check_transition,
    otp_refused_until,
    part_failure,
    part_reason,
    trusted_message,
)

__all__ = ["SQLStorage", "revision", "upgrade"]

logger = logging.getLogger("isobil.storage")

_T = TypeVar("_T")
_S = TypeVar("_S", bound=sa.Executable)
Url = str | os.PathLike[str] | sa.URL

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: pg_advisory_xact_lock key serialising schema migrations ("isobil" in ASCII).
_MIGRATION_LOCK = 0x69736F62696C
#: pg_advisory_xact_lock(_OTP_LOCK, number key) serialises one number's code sends.
_OTP_LOCK = 0x6F7470  # "otp"
_BUSY_TIMEOUT_S = 30
#: Rows per executemany batch.
_BATCH = 10_000
#: Values looked up per statement. Each list is one parameter: an array on
#: PostgreSQL (= ANY(:values)), a JSON array on SQLite (IN json_each(:values)),
#: so no statement grows with the list and no parameter limit applies.
_IN = 50_000
_PAGE = 5_000
#: Contacts from which a PostgreSQL upsert goes through COPY and a temporary table.
_COPY_FROM = 1_000
#: Rows written by one bulk call after which PostgreSQL statistics are refreshed.
_ANALYZE_AFTER = 10_000
_LOST_REASON = "worker lost while submitting; outcome unknown"
_PHONE_LIKE = re.compile(r"\+?\d{10,15}")
#: PostgreSQL: apply delivery reports in one UPDATE; a message settles only once.
_PG_REPORTS = sa.text(
    """
    UPDATE isobil_messages AS m
    SET state = v.state,
        updated_at = v.at,
        error_code = COALESCE(v.error_code, m.error_code),
        reason = COALESCE(v.reason, m.reason)
    FROM unnest(CAST(:ids AS text[]), CAST(:states AS text[]), CAST(:ats AS timestamptz[]),
                CAST(:error_codes AS text[]), CAST(:reasons AS text[]))
         AS v(id, state, at, error_code, reason)
    WHERE m.id = v.id AND m.state IN ('submitted', 'unknown')
    RETURNING m.*
    """
).bindparams(
    *(
        sa.bindparam(name, type_=postgresql.ARRAY(sa.Text()))
        for name in ("ids", "states", "error_codes", "reasons")
    ),
    sa.bindparam("ats", type_=postgresql.ARRAY(sa.DateTime(timezone=True))),
)


# One encoder for every row: json.dumps with options builds a new one per call.
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


#: A contact as :meth:`SQLStorage.upsert_contact_rows` takes it (fields may be read-only).
_AnyContactRow = tuple[str, str | None, str | None, str | None, Mapping[str, str], RecipientType]
#: A contact as it is written: (number, name, surname, email, fields JSON, type value).
_StoredContact = tuple[str, str | None, str | None, str | None, str, str]


def _stored_contact(row: _AnyContactRow) -> _StoredContact:
    number, name, surname, email, fields, rtype = row
    return number, name, surname, email, _dumps_items(tuple(fields.items())), rtype.value


def _dumps(mapping: Mapping[str, str]) -> str:
    return _encode(dict(mapping)) if mapping else "{}"


@functools.lru_cache(maxsize=4096)
def _dumps_items(items: tuple[tuple[str, str], ...]) -> str:
    """``_dumps`` of a contact's custom fields, memoised: the same few repeat in bulk imports."""
    return _encode(dict(items)) if items else "{}"


def _loads(text: str) -> dict[str, str]:
    return {} if text == "{}" else dict(json.loads(text))


def _chunks(items: Iterable[_T], size: int) -> Iterator[list[_T]]:
    # islice fills each list in C: no Python step per item of a bulk write.
    given = iter(items)
    while chunk := list(itertools.islice(given, size)):
        yield chunk


def _parse_url(url: Url) -> sa.URL:
    if isinstance(url, os.PathLike):
        return sa.URL.create("sqlite", database=os.fspath(url))
    try:
        parsed = sa.make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        # The exception text may quote the URL, password and all: say less.
        raise InvalidValue(
            "invalid database URL: expected sqlite:///path/to/file.db or "
            "postgresql+psycopg://user:password@host:port/database"
        ) from None
    backend, driver = parsed.get_backend_name(), parsed.get_driver_name()
    if backend == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend == "postgresql" and driver != "psycopg":
        raise InvalidValue(f"unsupported PostgreSQL driver {driver!r}: use postgresql+psycopg://")
    elif backend == "sqlite" and driver != "pysqlite":
        raise InvalidValue(f"unsupported SQLite driver {driver!r}: use sqlite:///")
    elif backend not in ("sqlite", "postgresql"):
        raise InvalidValue(
            f"unsupported database {backend!r}: isobil stores in SQLite or PostgreSQL"
        )
    return parsed


def _fold(value: str | None) -> str | None:
    return None if value is None else value.casefold()


def _on_sqlite_connect(dbapi_connection: Any, connection_record: Any) -> None:
    # Take BEGIN away from the sqlite3 module (which defers it and skips it for
    # SELECT); _on_sqlite_begin emits it, IMMEDIATE for writes.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_S * 1000}")
        if cursor.execute("PRAGMA journal_mode").fetchone()[0] not in ("wal", "memory"):
            _switch_to_wal(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")  # durable in WAL up to the last checkpoint
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()
    # SQLite's lower() folds ASCII only; find_contacts must match "ŞULE" with "şule".
    dbapi_connection.create_function("isobil_fold", 1, _fold, deterministic=True)


def _switch_to_wal(cursor: sqlite3.Cursor) -> None:
    # WAL is a property of the file, set once. Switching needs the file to
    # itself, and SQLite answers "database is locked" at once, without its busy
    # handler, while another connection (a worker opening the same new file)
    # has it open: retry like the busy handler would, within its timeout.
    deadline = time.monotonic() + _BUSY_TIMEOUT_S
    delay = 0.001
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(delay)
        delay = min(2 * delay, 0.05)


def _on_sqlite_begin(connection: sa.Connection) -> None:
    write = connection.get_execution_options().get("isobil_write", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _forget_connections(engine: weakref.ref[sa.Engine]) -> None:
    alive = engine()
    if alive is not None:
        alive.dispose(close=False)


def safe_url(url: sa.URL) -> str:
    """``url`` as text with its passwords hidden: in the user info, and in the query
    (``?password=``, ``sslpassword=``, which psycopg takes too)."""
    return hidden(url.render_as_string(hide_password=True), url_passwords(url))


def hidden(text: str, passwords: Iterable[str]) -> str:
    """``text`` with each of ``passwords`` replaced by ``***``, as written or quoted."""
    for password in passwords:
        for form in {password, quote(password, safe=""), quote_plus(password)}:
            text = text.replace(form, "***")
    return text


def url_passwords(url: sa.URL) -> list[str]:
    """Every password ``url`` holds, as given."""
    found = [str(url.password)] if url.password else []
    for key, value in url.query.items():
        if "password" in key.lower():
            found += [value] if isinstance(value, str) else list(value)
    return [password for password in found if password]


class _Database:
    """An engine pair (reads, writes) with isobil's transaction and error rules."""

    def __init__(self, url: Url) -> None:
        self.url = _parse_url(url)
        self.safe_url = safe_url(self.url)
        self._passwords = url_passwords(self.url)
        self.postgresql = self.url.get_backend_name() == "postgresql"
        self._closed = False
        errors: list[type[BaseException]] = [sa.exc.SQLAlchemyError, sqlite3.Error]
        # Parameters are kept out of error messages and logs: they hold phone numbers.
        options: dict[str, Any] = {
            "hide_parameters": True,
            # INSERT … ON CONFLICT DO NOTHING answers "was it new?" by rowcount,
            # which SQLAlchemy keeps only for UPDATE and DELETE unless asked.
            "execution_options": {"preserve_rowcount": True},
        }
        memory = False
        if self.postgresql:
            import psycopg

            errors.append(psycopg.Error)
            options["pool_pre_ping"] = True
        else:
            memory = self.url.database in (None, "", ":memory:")
            if memory:
                # One in-memory database lives in one connection: share it.
                options["poolclass"] = sa.pool.StaticPool
                options["connect_args"] = {"check_same_thread": False}
        self.errors: tuple[type[BaseException], ...] = tuple(errors)
        try:
            self.engine = sa.create_engine(self.url, **options)
        except Exception as exc:  # a missing driver, a bad option
            raise self.wrap("opening the database", exc) from exc
        if not self.postgresql:
            sa.event.listen(self.engine, "connect", _on_sqlite_connect)
            sa.event.listen(self.engine, "begin", _on_sqlite_begin)
        self.write_engine = self.engine.execution_options(isobil_write=True)
        # A forked child must not use the parent's pooled connections (SQLAlchemy's
        # advice for os.fork): it drops them, unclosed, and connects afresh.
        engine = weakref.ref(self.engine)
        os.register_at_fork(after_in_child=lambda: _forget_connections(engine))
        # A shared in-memory connection must not interleave two transactions.
        self.serial: contextlib.AbstractContextManager[Any] = (
            threading.RLock() if memory else contextlib.nullcontext()
        )

    @contextlib.contextmanager
    def tx(self, action: str, *, write: bool = False) -> Iterator[sa.Connection]:
        """One transaction; database failures come out as StorageError."""
        with self._guarded(action), (self.write_engine if write else self.engine).begin() as conn:
            yield conn

    @contextlib.contextmanager
    def cursor(self, action: str, *, write: bool = False) -> Iterator[Any]:
        """A DB-API cursor in one transaction, under the rules of :meth:`tx`
        (BEGIN IMMEDIATE for SQLite writes, failures as StorageError), without its
        per-transaction cost: a per-batch read costs what the database spends on it."""
        with self._guarded(action):
            connection = self.engine.raw_connection()
            try:
                cursor = connection.cursor()
                try:
                    if not self.postgresql:  # psycopg begins by itself
                        cursor.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                    yield cursor
                except BaseException:
                    connection.rollback()
                    raise
                else:
                    connection.commit()
                finally:
                    cursor.close()
            finally:
                connection.close()  # back to the pool

    @contextlib.contextmanager
    def _guarded(self, action: str) -> Iterator[None]:
        """What :meth:`tx` and :meth:`cursor` share: refused once closed, one at a time
        on a shared in-memory database, database failures as StorageError."""
        if self._closed:
            raise StorageError(f"{action} failed: the storage at {self.safe_url} is closed")
        try:
            with self.serial:
                yield
        except self.errors as exc:
            raise self.wrap(action, exc) from exc

    def wrap(self, action: str, exc: BaseException) -> StorageError:
        """A StorageError for ``exc`` that names no password and masks phone numbers."""
        self._scrub(exc)
        orig = getattr(exc, "orig", None) or exc
        detail = " ".join(str(orig).split()) or type(orig).__name__
        return StorageError(
            f"{action} failed on {self.safe_url}: {type(orig).__name__}: {self._clean(detail)}"
        )

    def _hide(self, text: str) -> str:
        return hidden(text, self._passwords)

    def _clean(self, text: str) -> str:
        """A driver's words: the password hidden, phone numbers masked."""
        return _PHONE_LIKE.sub(lambda m: mask(m.group()), self._hide(text))

    def _scrub(self, exc: BaseException | None, seen: set[int] | None = None) -> None:
        # A driver may quote its connection string (password included), or a row's
        # values (a number in a unique violation's DETAIL), in an error; the chained
        # cause is printed in tracebacks and logs, so it is scrubbed too. Each
        # exception once: a SQLAlchemy error has the driver's as orig and as __cause__.
        seen = set() if seen is None else seen
        while exc is not None and id(exc) not in seen:
            seen.add(id(exc))
            exc.args = tuple(self._clean(a) if isinstance(a, str) else a for a in exc.args)
            orig = getattr(exc, "orig", None)
            if isinstance(orig, BaseException):
                self._scrub(orig, seen)
            exc = exc.__cause__ or exc.__context__

    def revision(self) -> str | None:
        """The schema revision of the database; None when isobil never created its tables."""
        with self.tx("reading the schema revision") as conn:
            return _read_revision(conn)

    def migrate(self, target: str = "head") -> str:
        """Create or upgrade the schema to ``target``; return the revision reached."""
        from alembic import command
        from alembic.config import Config
        from alembic.util import CommandError

        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS).replace("%", "%%"))
        try:
            with self.tx("migrating the schema", write=True) as conn:
                if self.postgresql:
                    # Two processes opening an empty database at once: one creates
                    # the schema, the other waits here and then finds it current.
                    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_MIGRATION_LOCK)))
                before = _read_revision(conn)
                _refuse_newer(before, self.safe_url)
                config.attributes["connection"] = conn
                command.upgrade(config, target)
                after = _read_revision(conn)
        except CommandError as exc:
            raise StorageError(
                self._hide(f"migrating {self.safe_url} to {target} failed: {exc}")
            ) from exc
        if before != after:
            logger.info("upgraded %s from revision %s to %s", self.safe_url, before, after)
        return after or ""

    def close(self) -> None:
        self._closed = True
        self.engine.dispose()


_VERSION = sa.table(t.VERSION_TABLE, sa.column("version_num", sa.String()))


def _read_revision(conn: sa.Connection) -> str | None:
    if not sa.inspect(conn).has_table(t.VERSION_TABLE):
        return None
    found = conn.execute(sa.select(_VERSION.c.version_num)).scalars().all()
    return found[0] if len(found) == 1 else None


def _refuse_newer(current: str | None, safe_url: str) -> None:
    if current is not None and current not in t.REVISIONS:
        raise StorageError(
            f"the database at {safe_url} is at schema revision {current}, newer than this "
            f"isobil (it knows revisions up to {t.HEAD}); upgrade isobil"
        )


def upgrade(url: Url, *, revision: str = "head") -> str:
    """Create or upgrade the isobil schema at ``url``; return the revision it is at.

    An empty database gets every table; an older one is migrated in one
    transaction (on SQLite and PostgreSQL both: their DDL is transactional), so
    a failed upgrade leaves it as it was. ``revision`` stops at an earlier
    revision (for staged roll-outs and tests). This is what ``isobil db
    upgrade`` runs. Back up the database first: consent proofs live there.
    """
    database = _Database(url)
    try:
        return database.migrate(revision)
    finally:
        database.close()


def revision(url: Url) -> str | None:
    """The isobil schema revision of the database at ``url`` (None: not created yet)."""
    database = _Database(url)
    try:
        return database.revision()
    finally:
        database.close()


# -- rows to records ---------------------------------------------------------

# Enum members by stored value: a member passes the model's converters at once,
# which matters when a million rows come back.
_STATUSES = {m.value: m for m in ConsentStatus}
_SOURCES = {m.value: m for m in ConsentSource}
_CHANNELS = {m.value: m for m in Channel}
_RECIPIENT_TYPES = {m.value: m for m in RecipientType}


def _contact(row: sa.Row[Any]) -> Recipient:
    number, name, surname, email, fields, recipient_type = cast("tuple[Any, ...]", row)[:6]
    # Stored through Recipient(...), so already normalised and converted.
    return trusted_recipient(
        number, name, surname, email, _loads(fields), _RECIPIENT_TYPES[recipient_type]
    )


def _inbound(row: sa.Row[Any]) -> InboundRecord:
    return InboundRecord(
        id=row.id,
        from_=row.sender,
        to=row.recipient,
        text=row.text,
        received_at=row.received_at,
        intent=row.intent,
        brand=row.brand,
        keyword=row.keyword,
        consent_seqs=tuple(json.loads(row.consent_seqs)),
        reply_id=row.reply_id,
        provider_id=row.provider_id,
        raw_text=row.raw_text,
        handled_at=row.handled_at,
    )


def _iys_sync(row: sa.Row[Any]) -> IysSync:
    return IysSync(
        row.seq,
        IysSyncStatus(row.status),
        row.updated_at,
        request_id=row.request_id,
        error=row.error,
    )


# -- bulk reads of rows storage wrote itself (an audience's preflight) -----------
#
# Reading 100,000 recipients' contacts and consent states back is a preflight's
# main cost: SQLAlchemy's per-value result processing (datetimes parsed by a
# regular expression) and the models' converters (every number normalised
# again) cost more than the queries. These readers take the driver's rows (see
# _fetch_all) and build the records from values already in stored form; each
# reader reads a value a bulk read repeats once, in a _Memo.
_IYS_STATUSES = {m.value: m for m in IysSyncStatus}
#: The JSON decoder's C scanner (not in the type stubs): value and end of one document.
_SCAN_JSON: Callable[[str, int], tuple[Any, int]] = cast("Any", json.JSONDecoder()).scan_once
_make_iys_sync = trusted(IysSync)


def _json(text: str) -> dict[str, str]:
    """``_loads`` for bulk reads. A text that repeats may be parsed once and its
    mapping shared: records wrap it read-only (``MappingProxyType``)."""
    # The C scanner alone: json.loads adds two regular-expression matches for
    # surrounding white space, which _encode never writes.
    found: dict[str, str]
    try:
        found, end = _SCAN_JSON(text, 0)
    except StopIteration:
        end = -1
    if end != len(text) or type(found) is not dict:
        return _loads(text)  # the careful path (and its error)
    return found


class _Memo(dict[Any, Any]):
    """``read(value)`` for one bulk read, each distinct value read once: ``memo[value]``.

    Bulk reads repeat values (an import's dates, a sync's time, the same few custom
    fields); a hit is a plain dict lookup. The values are shared: records wrap
    mappings read-only (``MappingProxyType``)."""

    __slots__ = ("_read",)

    def __init__(self, read: Callable[[Any], Any]) -> None:
        super().__init__()
        self._read = read

    def __missing__(self, value: Any) -> Any:
        read = self[value] = self._read(value)
        return read


def _times_read(postgresql: bool) -> Callable[[Any], Any]:
    """UTCDateTime's read of a bulk read's raw times. SQLite's text is read once per
    distinct value; PostgreSQL's driver gives datetimes in the session's time zone,
    where two instants of the hour repeated when clocks go back compare (and hash)
    equal: each is read on its own."""
    return t.read_utc if postgresql else _Memo(t.read_utc).__getitem__


_UNSET: Final = object()


class _Times(dict[tuple[datetime, int], Any]):
    """``bind(value)`` of each distinct time of a bulk write, bound once: ``times(value)``.

    Keyed by the time *and* its ``fold``: two times of one zone that differ only in
    ``fold`` (the repeated hour when clocks go back) compare and hash equal, yet are
    an hour apart."""

    __slots__ = ("_bind",)

    def __init__(self, bind: Callable[[datetime | None], Any]) -> None:
        super().__init__()
        self._bind = bind

    def __call__(self, value: datetime | None) -> Any:
        if value is None:
            return None
        key = (value, value.fold)
        bound = self.get(key, _UNSET)
        if bound is _UNSET:
            bound = self[key] = self._bind(value)
        return bound


def _fetch_all(result: sa.CursorResult[Any]) -> list[Any]:
    """Every row of ``result`` as the driver's tuples, without a Row object per row."""
    try:
        return cast("list[Any]", result.cursor.fetchall())
    finally:
        result.close()


def _proof(text: str) -> Mapping[str, str]:
    return types.MappingProxyType(_json(text))


def _event_reader(
    *, memo: bool = True, postgresql: bool = False
) -> Callable[[Sequence[Any]], ConsentEvent]:
    """Rows of event columns (in table order; times raw or read by UTCDateTime) to
    ConsentEvents, without ConsentEvent's converters: the ledger wrote them
    normalised, and the chain is checked against what is stored, not against a
    normalised copy of it.

    ``memo``: a value that repeats is read once (one bulk read of an audience's
    deciding events; times as :func:`_times_read` says); without it nothing is kept
    from row to row (a walk over the whole ledger).
    """
    dates = _times_read(postgresql) if memo else t.read_utc
    proofs: Callable[[str], Mapping[str, str]] = _Memo(_proof).__getitem__ if memo else _proof
    statuses, sources, channels, kinds = _STATUSES, _SOURCES, _CHANNELS, _RECIPIENT_TYPES
    event = trusted_consent_event

    def read(row: Sequence[Any]) -> ConsentEvent:
        (
            seq,
            address,
            status,
            source,
            brand,
            channel,
            recipient_type,
            consent_date,
            recorded_at,
            scope,
            evidence,
            hash_,
            prev_hash,
        ) = row
        return event(
            address,
            statuses[status],
            sources[source],
            brand,
            dates(consent_date),
            dates(recorded_at),
            channels[channel],
            kinds[recipient_type],
            scope,
            proofs(evidence),
            seq,
            hash_,
            prev_hash,
        )

    return read


#: A stored event, read on its own (a walk over the ledger keeps nothing between rows).
_event = _event_reader(memo=False)


def _iys_sync_reader(postgresql: bool) -> Callable[[Sequence[Any]], IysSync]:
    """Rows of raw iys_sync columns (in table order) to IysSync records, without validators."""
    dates, statuses, make = _times_read(postgresql), _IYS_STATUSES, _make_iys_sync

    def read(row: Sequence[Any]) -> IysSync:
        seq, status, updated_at, request_id, error = row
        return make(seq, statuses[status], dates(updated_at), request_id, error)

    return read


def _blacklist_entry(row: sa.Row[Any]) -> BlacklistEntry:
    return BlacklistEntry(row.number, row.reason, row.added_at, source=row.source)


def _template(row: sa.Row[Any]) -> Template:
    return Template(row.name, row.text, row.updated_at)


def _campaign_row(campaign: Campaign) -> dict[str, Any]:
    return {
        "id": campaign.id,
        "text": campaign.text,
        "category": campaign.category,
        "created_at": campaign.created_at,
        "status": campaign.status.value,
        "brand": campaign.brand,
        "name": campaign.name,
        "originator": campaign.originator,
        "send_at": campaign.send_at,
        "schedule_id": campaign.schedule_id,
    }


def _campaign(row: sa.Row[Any]) -> Campaign:
    return Campaign(
        id=row.id,
        text=row.text,
        category=row.category,
        created_at=row.created_at,
        status=CampaignStatus(row.status),
        brand=row.brand,
        name=row.name,
        originator=row.originator,
        send_at=row.send_at,
        schedule_id=row.schedule_id,
    )


def _message_row(message: OutboundMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "campaign_id": message.campaign_id,
        "recipient": message.to,
        "text": message.text,
        "parts": message.parts,
        "state": message.state.value,
        "not_before": message.not_before,
        "claimed_by": message.claimed_by,
        "lease_until": message.lease_until,
        "provider_id": message.provider_id,
        "error_code": message.error_code,
        "reason": message.reason,
        "updated_at": message.updated_at,
    }


def _message(row: sa.Row[Any]) -> OutboundMessage:
    return OutboundMessage(
        id=row.id,
        campaign_id=row.campaign_id,
        to=row.recipient,
        text=row.text,
        parts=row.parts,
        state=MessageState(row.state),
        not_before=row.not_before,
        claimed_by=row.claimed_by,
        lease_until=row.lease_until,
        provider_id=row.provider_id,
        error_code=row.error_code,
        reason=row.reason,
        updated_at=row.updated_at,
    )


def _gives_back(entry: CreditEntry) -> str | None:
    """The message whose credits ``entry`` gives back (at most once), if any."""
    if entry.kind in (CreditKind.RELEASE, CreditKind.REFUND):
        return entry.message_id
    return None


def _credit_row(entry: CreditEntry, seq: int, balance: int) -> dict[str, Any]:
    """The row of ``entry`` appended as ``seq`` after a balance of ``balance``."""
    return {
        "seq": seq,
        "kind": entry.kind.value,
        "amount": entry.amount,
        "at": entry.at,
        "campaign_id": entry.campaign_id,
        "message_id": entry.message_id,
        "note": entry.note,
        "balance_after": balance + entry.amount,
    }


def _credit(row: sa.Row[Any]) -> CreditEntry:
    return CreditEntry(
        kind=CreditKind(row.kind),
        amount=row.amount,
        at=row.at,
        campaign_id=row.campaign_id,
        message_id=row.message_id,
        note=row.note,
        seq=row.seq,
    )


def _otp_row(record: OtpRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "number": record.number,
        "brand": record.brand,
        "hash": record.hash,
        "salt": record.salt,
        "created_at": record.created_at,
        "expires_at": record.expires_at,
        "attempts": record.attempts,
        "used_at": record.used_at,
    }


def _otp(row: sa.Row[Any]) -> OtpRecord:
    return OtpRecord(
        id=row.id,
        number=row.number,
        brand=row.brand,
        hash=row.hash,
        salt=row.salt,
        created_at=row.created_at,
        expires_at=row.expires_at,
        attempts=row.attempts,
        used_at=row.used_at,
    )


def _lock_key(text: str) -> int:
    """A 32-bit signed advisory-lock key for ``text`` (the second of a key pair)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big", signed=True)


def _schedule(row: sa.Row[Any]) -> Schedule:
    return Schedule(
        id=row.id,
        rule=row.rule,
        timezone=row.timezone,
        next_at=row.next_at,
        payload=_loads(row.payload),
        created_at=row.created_at,
        status=ScheduleStatus(row.status),
    )


_CONTACT_UPSERT_SQLITE = (
    "INSERT INTO isobil_contacts (number, name, surname, email, fields, recipient_type) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (number) DO UPDATE SET "
    "name = excluded.name, surname = excluded.surname, email = excluded.email, "
    "fields = excluded.fields, recipient_type = excluded.recipient_type"
)
_CONTACT_GROUP_SQLITE = (
    "INSERT INTO isobil_contact_groups (group_name, number) VALUES (?, ?) ON CONFLICT DO NOTHING"
)
_CONTACT_UPSERT_PG = sa.text(
    """
    WITH latest AS (
        SELECT DISTINCT ON (number) number, name, surname, email, fields, recipient_type
        FROM isobil_upsert_contacts
        ORDER BY number, ord DESC
    ), written AS (
        INSERT INTO isobil_contacts (number, name, surname, email, fields, recipient_type)
        SELECT number, name, surname, email, fields, recipient_type FROM latest
        ON CONFLICT (number) DO UPDATE SET
            name = EXCLUDED.name,
            surname = EXCLUDED.surname,
            email = EXCLUDED.email,
            fields = EXCLUDED.fields,
            recipient_type = EXCLUDED.recipient_type
        RETURNING (xmax = 0) AS inserted
    )
    SELECT count(*) FILTER (WHERE inserted) AS inserted,
           count(*) FILTER (WHERE NOT inserted) AS updated
    FROM written
    """
)
_CONTACT_GROUP_PG = sa.text(
    """
    INSERT INTO isobil_contact_groups (group_name, number)
    SELECT CAST(:group_name AS varchar), number
    FROM (SELECT DISTINCT number FROM isobil_upsert_contacts) AS given
    ON CONFLICT DO NOTHING
    """
)

# -- the per-batch calls, straight on the driver -------------------------------
#
# send and dispatch store, claim, move and settle their messages once per batch.
# Through SQLAlchemy those calls paid more for building parameters row by row
# and processing each value's type than the database spent running them; they
# run fixed SQL on the DB-API cursor of the same transaction instead, with rows
# as tuples and times written exactly as UTCDateTime writes them. The SQL uses
# ``?`` parameters and ``{values}`` for a list bound as one parameter (see
# :meth:`SQLStorage._raw`).

_MESSAGE_STATES = {state.value: state for state in MessageState}


_RAW_UPSERT = """
    INSERT INTO {table} ({columns}) VALUES ({marks})
    ON CONFLICT ({key}) DO UPDATE SET {updates}
"""


def _upsert_sql(table: sa.Table, key: str) -> str:
    """:data:`_RAW_UPSERT` of every column of ``table``, a ``?`` for each in column
    order (the names are the schema's, never input)."""
    names = table.c.keys()
    return _RAW_UPSERT.format(
        table=table.name,
        columns=", ".join(names),
        marks=", ".join("?" * len(names)),
        key=key,
        updates=", ".join(f"{name} = excluded.{name}" for name in names if name != key),
    )


def _with_message_columns(text: str) -> str:
    """``text`` with ``{columns}``: a message's columns in table order, as
    :meth:`SQLStorage._outbound` reads them; ``{m_columns}``: the same, of ``m``;
    ``{marks}``: a ``?`` for each."""
    names = t.messages.c.keys()
    return text.format(
        columns=", ".join(names),
        m_columns=", ".join(f"m.{name}" for name in names),
        marks=", ".join("?" * len(names)),
    )


_RAW_INSERT_MESSAGES = _with_message_columns(
    "INSERT INTO isobil_messages ({columns}) VALUES ({marks})"
)
_COPY_MESSAGES = _with_message_columns("COPY isobil_messages ({columns}) FROM STDIN")
_RAW_INSERT_EVENTS = """
    INSERT INTO isobil_consent_events
        (seq, address, status, source, brand, channel, recipient_type, consent_date,
         recorded_at, scope, evidence, hash, prev_hash)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
_RAW_INSERT_CAMPAIGN = """
    INSERT INTO isobil_campaigns
        (id, text, category, created_at, status, brand, name, originator, send_at, schedule_id)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT DO NOTHING
"""
_RAW_CLAIM_SQLITE = _with_message_columns("""
    UPDATE isobil_messages
    SET state = 'submitting', claimed_by = ?, lease_until = ?, updated_at = ?
    WHERE id IN (
        SELECT due.id FROM isobil_messages AS due
        JOIN isobil_campaigns ON isobil_campaigns.id = due.campaign_id
        WHERE due.state = 'queued' AND isobil_campaigns.status = 'running'
          AND (due.not_before IS NULL OR due.not_before <= ?)
          AND (due.lease_until IS NULL OR due.lease_until < ?)
        ORDER BY due.id LIMIT ?
    )
    RETURNING {columns}
""")
# Rows another worker is claiming right now are skipped, not waited for;
# MATERIALIZED makes sure the locking SELECT runs exactly once.
_RAW_CLAIM_PG = _with_message_columns("""
    WITH candidates AS MATERIALIZED (
        SELECT due.id FROM isobil_messages AS due
        JOIN isobil_campaigns ON isobil_campaigns.id = due.campaign_id
        WHERE due.state = 'queued' AND isobil_campaigns.status = 'running'
          AND (due.not_before IS NULL OR due.not_before <= %s)
          AND (due.lease_until IS NULL OR due.lease_until < %s)
        ORDER BY due.id LIMIT %s
        FOR UPDATE OF due SKIP LOCKED
    )
    UPDATE isobil_messages AS m
    SET state = 'submitting', claimed_by = %s, lease_until = %s, updated_at = %s
    FROM candidates WHERE m.id = candidates.id
    RETURNING {m_columns}
""")
# One statement for the batch, joined to its outcomes v: (id, state, provider_id,
# error_code, reason) rows, a JSON array on SQLite, arrays unnested on PostgreSQL.
_RAW_SETTLE = """
    UPDATE isobil_messages AS m
    SET state = v.state,
        updated_at = ?,
        provider_id = COALESCE(v.provider_id, m.provider_id),
        error_code = COALESCE(v.error_code, m.error_code),
        reason = COALESCE(v.reason, m.reason),
        claimed_by = CASE WHEN v.state = 'queued' THEN NULL ELSE m.claimed_by END,
        lease_until = CASE WHEN v.state = 'queued' THEN NULL ELSE m.lease_until END
    FROM {outcomes}
    WHERE m.id = v.id AND m.state = 'submitting'
    RETURNING {returning}
"""
_RAW_SETTLE_SQLITE = _RAW_SETTLE.format(
    outcomes="""(
        SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS state,
               json_extract(value, '$[2]') AS provider_id,
               json_extract(value, '$[3]') AS error_code, json_extract(value, '$[4]') AS reason
        FROM json_each(?)
    ) AS v""",
    returning="id",
)
_RAW_SETTLE_PG = _RAW_SETTLE.format(
    outcomes="""unnest(CAST(? AS text[]), CAST(? AS text[]), CAST(? AS text[]),
                CAST(? AS text[]), CAST(? AS text[]))
         AS v(id, state, provider_id, error_code, reason)""",
    returning="m.id",
)
_RAW_UPSERT_PARTS = """
    INSERT INTO isobil_message_parts (provider_id, message_id, part, status, error_code, updated_at)
    VALUES (?, ?, ?, NULL, NULL, ?)
    ON CONFLICT (provider_id) DO UPDATE SET
        message_id = excluded.message_id,
        part = excluded.part,
        status = excluded.status,
        error_code = excluded.error_code,
        updated_at = excluded.updated_at
"""
# Which of the listed numbers a campaign already holds, one probe of the recipient
# index each. While a send stores its campaign the statistics are stale (the
# campaign looks small): planned as a join, PostgreSQL scans the whole campaign
# for every batch (or ANDs both indexes), which makes a large send quadratic.
# LATERAL ... LIMIT 1 keeps the join a loop over the list, and the expression on
# campaign_id keeps the campaign's own index out of it.
_RAW_CAMPAIGN_RECIPIENTS_PG = """
    SELECT listed.number FROM unnest(CAST(%s AS text[])) AS listed(number)
    CROSS JOIN LATERAL (
        SELECT 1 FROM isobil_messages AS m
        WHERE m.recipient = listed.number AND (m.campaign_id || '') = %s
        LIMIT 1
    ) AS held
"""
# The states are SENT_STATES (a test checks that they stay so).
_RAW_MESSAGED = """
    SELECT DISTINCT recipient FROM isobil_messages
    WHERE recipient IN ({values})
      AND state IN ('delivered', 'expired', 'rejected', 'submitted', 'undelivered', 'unknown')
"""
# A message moves from one state to another: values given as None leave the
# column as it is; its lease stays (a message going back to the queue is not due
# before it ends); a worker (when given) moves only messages under its live lease.
_RAW_TRANSITION = """
    UPDATE isobil_messages
    SET state = ?,
        updated_at = ?,
        provider_id = COALESCE(?, provider_id),
        error_code = COALESCE(?, error_code),
        reason = COALESCE(?, reason)
    WHERE id IN ({values}) AND state = ?
"""
# The same when only the state moves (a claimed batch put back, submitting -> queued).
_RAW_MOVE = (
    "UPDATE isobil_messages SET state = ?, updated_at = ? WHERE id IN ({values}) AND state = ?"
)
_FENCE = " AND claimed_by = ? AND lease_until >= ?"
# PostgreSQL: lock a batch's rows in id order before updating them. An UPDATE
# joined to a list locks rows in whatever order its plan visits them; expire_claims
# locks in id order; two workers' statements over the same rows would deadlock.
_PG_LOCK_IN_ORDER = (
    "SELECT id FROM isobil_messages WHERE id IN (SELECT unnest(CAST(%s AS text[]))) "
    "ORDER BY id FOR UPDATE"
)
_RAW_TRANSITIONS = {
    (full, fenced): (_RAW_TRANSITION if full else _RAW_MOVE)
    + (_FENCE if fenced else "")
    + " RETURNING id"
    for full in (False, True)
    for fenced in (False, True)
}
_RAW_HELD = (
    "SELECT 1 FROM isobil_delivery_reports "
    "WHERE provider_id IN ({values}) AND message_id IS NULL LIMIT 1"
)


class _Conflict(Exception):
    """A raw insert hit a key or a reference: roll back and take the checking path."""


class SQLStorage(Storage):
    """Keeps everything in SQLite or PostgreSQL; safe for many threads and processes.

    ``url`` is ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db``,
    a :class:`~pathlib.Path` to a SQLite file, ``sqlite://`` (in memory, for
    tests), or ``postgresql+psycopg://user:password@host:5432/database``
    (``postgresql://`` means the same).

    A database without isobil's tables gets them at once. A database of an
    older schema revision is refused, unless ``auto_upgrade=True``: upgrading
    is a deliberate step (take a backup, run ``isobil db upgrade`` once, then
    start the workers), not something each of many workers should race to do.
    A database newer than this code is always refused.
    """

    def __init__(self, url: Url, *, auto_upgrade: bool = False) -> None:
        self._db = _Database(url)
        try:
            current = self._db.revision()
            if current != t.HEAD:
                self._open_at(current, auto_upgrade)
        except BaseException:
            self._db.close()
            raise
        self._postgresql = self._db.postgresql
        self._in_size = _IN
        self._statements: dict[Hashable, Any] = {}
        # What a raw insert raises for a taken key or a missing reference.
        self._conflicts: tuple[type[BaseException], ...] = (sqlite3.IntegrityError,)
        if self._postgresql:
            import psycopg

            self._conflicts += (psycopg.IntegrityError,)
        # The raw per-batch path writes times through UTCDateTime's own bind
        # processing (SQLite: its naive UTC text); it reads them with t.read_utc.
        dialect = self._db.engine.dialect
        self._time = cast(
            "Callable[[datetime | None], Any]",
            t.UTCDateTime().dialect_impl(dialect).bind_processor(dialect),
        )

    def _open_at(self, current: str | None, auto_upgrade: bool) -> None:
        safe_url = self._db.safe_url
        _refuse_newer(current, safe_url)
        if current is None:
            with self._db.tx("inspecting the database") as conn:
                orphaned = sa.inspect(conn).has_table(t.contacts.name)
            if orphaned:
                raise StorageError(
                    f"the database at {safe_url} has isobil tables but no {t.VERSION_TABLE} "
                    "table, so its schema revision is unknown; restore it from a backup"
                )
        elif not auto_upgrade:
            raise StorageError(
                f"the database at {safe_url} is at schema revision {current}; this isobil "
                f"needs revision {t.HEAD}. Back it up, then upgrade it once with "
                "`isobil db upgrade` or SQLStorage(url, auto_upgrade=True)"
            )
        self._db.migrate()

    def __repr__(self) -> str:
        return f"<SQLStorage {self._db.safe_url}>"

    @property
    def lookup_size(self) -> int:
        # SQLite answers in the process; each PostgreSQL lookup is a round trip.
        return 10_000 if self._postgresql else 500

    @property
    def url(self) -> str:
        """The database URL, with the password shown as ``***``."""
        return self._db.safe_url

    def close(self) -> None:
        self._db.close()

    # -- schema -------------------------------------------------------------

    def revision(self) -> str | None:
        """The schema revision the database is at (after opening: the latest)."""
        return self._db.revision()

    def upgrade(self) -> str:
        """Upgrade the database to the latest schema revision; return it (a no-op when current)."""
        return self._db.migrate()

    # -- helpers ------------------------------------------------------------

    def _statement(self, key: Hashable, build: Callable[[], _S]) -> _S:
        # Building a statement (a window over a subquery, say) costs more than
        # running it for one row: each is built once, with bound parameters.
        statement: _S | None = self._statements.get(key)
        if statement is None:
            statement = self._statements[key] = build()
        return statement

    def _raw(self, text: str) -> str:
        """``text`` in this database's SQL: ``?`` parameters, ``{values}`` the list of
        one parameter (see :meth:`_listed`) as rows, for ``column IN ({values})``."""
        key = ("raw", text)
        sql: str | None = self._statements.get(key)
        if sql is None:
            if self._postgresql:
                # unnest, a semi-join: see _among.
                sql = text.replace("?", "%s").format(values="SELECT unnest(CAST(%s AS text[]))")
            else:
                sql = text.format(values="SELECT value FROM json_each(?)")
            self._statements[key] = sql
        return sql

    def _outbound(self, rows: Iterable[Sequence[Any]]) -> list[OutboundMessage]:
        """Messages from raw rows of their columns in table order."""
        # Claimed together, they share their times: each is read once.
        time = _times_read(self._postgresql)
        make = trusted_message  # the rows storage wrote: nothing to convert or check
        return [
            make(
                row[0],
                row[1],
                row[2],
                row[3],
                row[4],
                _MESSAGE_STATES[row[5]],
                time(row[6]),
                row[7],
                time(row[8]),
                row[9],
                row[10],
                row[11],
                time(row[12]),
            )
            for row in rows
        ]

    def _among(self, column: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
        """``column`` is one of the list bound as ``values`` (see :meth:`_listed`).

        A semi-join against the unnested list rather than ``= ANY(:values)``:
        should PostgreSQL misjudge the rows (statistics not yet taken after a
        bulk load) it may test ANY as a filter, comparing every row with every
        value of the list; a join degrades to a hash join at worst.
        """
        if self._postgresql:
            array = postgresql.ARRAY(column.type)
            return column.in_(sa.select(sa.func.unnest(sa.bindparam("values", type_=array))))
        listed = sa.func.json_each(sa.bindparam("values", type_=sa.String())).table_valued("value")
        return column.in_(sa.select(listed.c.value))

    def _analyze_after(self, rows: int, *tables: sa.Table) -> None:
        # After a bulk load PostgreSQL plans with statistics of the empty table
        # until autovacuum comes round (up to a minute); the next call (the
        # preflight of the audience just imported) should not.
        if not self._postgresql or rows < _ANALYZE_AFTER:
            return
        with self._db.tx("analyze", write=True) as conn:
            for table in tables:
                conn.exec_driver_sql(f"ANALYZE {table.name}")

    def _listed(self, values: Iterable[Any]) -> list[Any] | str:
        """The ``values`` parameter of :meth:`_among`: an array, or JSON for SQLite."""
        return list(values) if self._postgresql else json.dumps(list(values))

    def _insert(self, table: sa.Table) -> postgresql.Insert | sqlite_dialect.Insert:
        return postgresql.insert(table) if self._postgresql else sqlite_dialect.insert(table)

    def _replace(self, table: sa.Table, key: str) -> sa.Insert:
        stmt = self._insert(table)
        updates = {c.name: stmt.excluded[c.name] for c in table.c if c.name != key}
        return stmt.on_conflict_do_update(index_elements=[key], set_=updates)

    def _existing(self, conn: sa.Connection, column: sa.Column[str], values: list[str]) -> set[str]:
        query = self._statement(
            ("existing", column.table.name, column.name),
            lambda: sa.select(column).where(self._among(column)),
        )
        found: set[str] = set()
        for chunk in _chunks(values, self._in_size):
            found.update(conn.execute(query, {"values": self._listed(chunk)}).scalars())
        return found

    def _upsert_counting(
        self,
        conn: sa.Connection,
        table: sa.Table,
        key: str,
        rows: Sequence[tuple[Any, ...]],
        *,
        count: bool = True,
    ) -> tuple[int, int]:
        """Insert or replace ``rows`` (distinct keys; each row's values in the order of
        ``table``'s columns, as stored: times bound by ``self._time``); return
        (inserted, updated), or (0, 0) when not asked to ``count``.

        Plain DB-API executemany: SQLAlchemy's per-row parameter processing cost
        three times the database's own work on a bulk blacklist import.
        """
        position = table.c.keys().index(key)
        sql = _upsert_sql(table, key)
        if count and self._postgresql:
            # xmax is 0 on a freshly inserted row version: exact even with
            # concurrent writers, which a lookup beforehand would not be.
            sql += " RETURNING (xmax = 0)"
        sql = self._raw(sql)
        inserted = updated = 0
        with contextlib.closing(conn.connection.cursor()) as cursor:  # in this transaction
            for chunk in _chunks(rows, _BATCH):
                if not count:
                    cursor.executemany(sql, chunk)
                    continue
                if self._postgresql:
                    cast("Any", cursor).executemany(sql, chunk, returning=True)
                    fresh = 0
                    while True:  # one result per row
                        fresh += bool(cast("tuple[bool]", cursor.fetchone())[0])
                        if not cursor.nextset():
                            break
                else:  # the single writer: nobody changes the table between the statements
                    known = self._existing(conn, table.c[key], [r[position] for r in chunk])
                    fresh = len(chunk) - len(known)
                    cursor.executemany(sql, chunk)
                inserted += fresh
                updated += len(chunk) - fresh
        return inserted, updated

    def _pages(
        self,
        action: str,
        query: Callable[[Any], sa.Select[Any]],
        key: str | Callable[[sa.Row[Any]], Any],
        convert: Callable[[sa.Row[Any]], _T],
    ) -> Iterator[_T]:
        # Keyset pages, each its own short read: a long iteration holds no
        # transaction (and no connection) open while the caller works.
        after: Any = None
        while True:
            with self._db.tx(action) as conn:
                rows = conn.execute(query(after).limit(_PAGE)).all()
            yield from (convert(row) for row in rows)
            if len(rows) < _PAGE:
                return
            after = key(rows[-1]) if callable(key) else getattr(rows[-1], key)

    # -- contacts and groups ------------------------------------------------

    def upsert_contacts(
        self, contacts: Iterable[Recipient], *, group: str | None = None
    ) -> UpsertResult:
        rows = (
            (c.number, c.name, c.surname, c.email, c.fields, c.recipient_type) for c in contacts
        )
        return self._upsert_rows(rows, group)

    def upsert_contact_rows(
        self, rows: Iterable[ContactRow], *, group: str | None = None
    ) -> UpsertResult:
        return self._upsert_rows(rows, group)

    def _upsert_rows(self, contacts: Iterable[_AnyContactRow], group: str | None) -> UpsertResult:
        with self._db.tx("upsert_contacts", write=True) as conn:
            if not self._postgresql:
                inserted, updated = self._upsert_contacts_sqlite(conn, contacts, group)
            else:
                rows = map(_stored_contact, contacts)
                head = list(itertools.islice(rows, _COPY_FROM))
                if len(head) < _COPY_FROM:  # a few: not worth a temporary table
                    inserted, updated = self._upsert_contacts_pg(conn, head, group)
                else:
                    everything = itertools.chain(head, rows)
                    inserted, updated = self._copy_contacts_pg(conn, everything, group)
        self._analyze_after(inserted, t.contacts, t.contact_groups)
        return UpsertResult(inserted, updated)

    def _upsert_contacts_sqlite(
        self, conn: sa.Connection, contacts: Iterable[_AnyContactRow], group: str | None
    ) -> tuple[int, int]:
        seen: set[str] = set()
        inserted = updated = 0
        dumps = _dumps_items
        given = iter(contacts)
        # The rows as written (a later row of a number wins): custom fields as JSON,
        # the type as its value. A comprehension, not a generator per row; over the
        # rows as they come, not a list of them: a row holds a dict, so a list of
        # them would survive into the garbage collector's oldest generation.
        while latest := {
            number: (number, name, surname, email, dumps(tuple(fields.items())), rtype.value)
            for number, name, surname, email, fields, rtype in itertools.islice(given, _BATCH)
        }:
            fresh = [n for n in latest if n not in seen]
            known = self._existing(conn, t.contacts.c.number, fresh)
            inserted += len(fresh) - len(known)
            updated += len(known)
            seen.update(fresh)
            # Plain DB-API executemany: per-row parameter processing by
            # SQLAlchemy would cost more than SQLite's insert itself.
            conn.exec_driver_sql(_CONTACT_UPSERT_SQLITE, list(latest.values()))
            if group is not None:
                conn.exec_driver_sql(_CONTACT_GROUP_SQLITE, [(group, n) for n in latest])
        return inserted, updated

    def _upsert_contacts_pg(
        self, conn: sa.Connection, rows: list[_StoredContact], group: str | None
    ) -> tuple[int, int]:
        latest = {row[0]: row for row in rows}  # the table's columns, in its order
        counts = self._upsert_counting(conn, t.contacts, "number", list(latest.values()))
        if group is not None and latest:
            join = self._statement(
                "join_group", lambda: postgresql.insert(t.contact_groups).on_conflict_do_nothing()
            )
            conn.execute(join, [{"group_name": group, "number": n} for n in latest])
        return counts

    def _copy_contacts_pg(
        self, conn: sa.Connection, rows: Iterable[_StoredContact], group: str | None
    ) -> tuple[int, int]:
        # COPY into a temporary table and one INSERT … SELECT … ON CONFLICT:
        # a million contacts cost one round trip per COPY buffer, and a number
        # given twice keeps its later values (DISTINCT ON … ord DESC).
        conn.exec_driver_sql(
            "CREATE TEMPORARY TABLE isobil_upsert_contacts (ord bigint NOT NULL, "
            "number text NOT NULL, name text, surname text, email text, "
            "fields text NOT NULL, recipient_type text NOT NULL) ON COMMIT DROP"
        )
        raw = conn.connection.driver_connection
        if raw is None:  # cannot happen inside a transaction; keeps the type checker honest
            raise StorageError("upsert_contacts: the database connection was invalidated")
        copy_sql = (
            "COPY isobil_upsert_contacts "
            "(ord, number, name, surname, email, fields, recipient_type) FROM STDIN"
        )
        with raw.cursor() as cursor, cursor.copy(copy_sql) as copy:
            write = copy.write_row
            for ord_, row in enumerate(rows):
                write((ord_, *row))
        counts = conn.execute(_CONTACT_UPSERT_PG).one()
        if group is not None:
            conn.execute(_CONTACT_GROUP_PG, {"group_name": group})
        return int(counts.inserted), int(counts.updated)

    def get_contacts(self, numbers: Iterable[str]) -> dict[str, Recipient]:
        c = t.contacts
        columns = (c.c.number, c.c.name, c.c.surname, c.c.email, c.c.fields, c.c.recipient_type)
        query = self._statement(
            "get_contacts", lambda: sa.select(*columns).where(self._among(c.c.number))
        )
        found: dict[str, Recipient] = {}
        # The custom fields: the same few repeat, and their contacts share one
        # read-only view (one object less per contact for the collector to walk).
        parsed = _Memo(lambda text: types.MappingProxyType(_json(text)))
        kinds, contact = _RECIPIENT_TYPES, trusted_recipient
        with self._db.tx("get_contacts") as conn:
            for chunk in _chunks(dict.fromkeys(numbers), self._in_size):
                rows = _fetch_all(conn.execute(query, {"values": self._listed(chunk)}))
                # Stored through Recipient(...): already normalised and converted (see _contact).
                by_number = {
                    number: contact(number, name, surname, email, parsed[fields], kinds[kind])
                    for number, name, surname, email, fields, kind in rows
                }
                if len(by_number) == len(chunk):  # every one asked for: in the order asked
                    found.update(zip(chunk, map(by_number.__getitem__, chunk), strict=True))
                    continue
                # In the order asked for, as MemoryStorage answers.
                for n in chunk:
                    known = by_number.get(n)
                    if known is not None:
                        found[n] = known
        return found

    def iter_contacts(self, *, group: str | None = None) -> Iterator[Recipient]:
        c, g = t.contacts, t.contact_groups

        def query(after: str | None) -> sa.Select[Any]:
            select = sa.select(c).order_by(c.c.number)
            if group is not None:
                select = select.join(g, g.c.number == c.c.number).where(g.c.group_name == group)
            return select if after is None else select.where(c.c.number > after)

        return self._pages("iter_contacts", query, "number", _contact)

    def find_contacts(self, text: str, *, limit: int = 100) -> list[Recipient]:
        c = t.contacts
        columns = (c.c.name, c.c.surname, c.c.number)
        if self._postgresql:
            # ILIKE folds both sides by the same (database) rules.
            match = sa.or_(*(col.icontains(text, autoescape=True) for col in columns))
        else:
            needle = text.casefold()
            match = sa.or_(
                *(sa.func.instr(sa.func.isobil_fold(col), needle) > 0 for col in columns)
            )
        query = sa.select(c).where(match).order_by(c.c.number).limit(limit)
        with self._db.tx("find_contacts") as conn:
            return [_contact(row) for row in conn.execute(query)]

    def count_contacts(self, *, group: str | None = None) -> int:
        if group is None:
            query = sa.select(sa.func.count()).select_from(t.contacts)
        else:
            g = t.contact_groups
            query = sa.select(sa.func.count()).where(g.c.group_name == group)
        with self._db.tx("count_contacts") as conn:
            return int(conn.execute(query).scalar_one())

    def delete_contacts(self, numbers: Iterable[str]) -> int:
        deleted = 0
        c, g = t.contacts, t.contact_groups
        leave = self._statement("leave_groups", lambda: g.delete().where(self._among(g.c.number)))
        delete = self._statement(
            "delete_contacts", lambda: c.delete().where(self._among(c.c.number))
        )
        with self._db.tx("delete_contacts", write=True) as conn:
            for chunk in _chunks(set(numbers), self._in_size):
                values = {"values": self._listed(chunk)}
                conn.execute(leave, values)
                deleted += conn.execute(delete, values).rowcount
        return deleted

    def add_to_group(self, group: str, numbers: Iterable[str]) -> int:
        c = t.contacts

        def build() -> sa.Insert:
            members = sa.select(sa.bindparam("group", type_=sa.String()), c.c.number).where(
                self._among(c.c.number)
            )
            return (
                self._insert(t.contact_groups)
                .from_select(["group_name", "number"], members)
                .on_conflict_do_nothing()
            )

        stmt = self._statement("add_to_group", build)
        added = 0
        with self._db.tx("add_to_group", write=True) as conn:
            for chunk in _chunks(set(numbers), self._in_size):
                values = {"group": group, "values": self._listed(chunk)}
                added += conn.execute(stmt, values).rowcount
        return added

    def remove_from_group(self, group: str, numbers: Iterable[str]) -> int:
        g = t.contact_groups
        stmt = self._statement(
            "remove_from_group",
            lambda: g.delete().where(
                g.c.group_name == sa.bindparam("group"), self._among(g.c.number)
            ),
        )
        removed = 0
        with self._db.tx("remove_from_group", write=True) as conn:
            for chunk in _chunks(set(numbers), self._in_size):
                values = {"group": group, "values": self._listed(chunk)}
                removed += conn.execute(stmt, values).rowcount
        return removed

    def groups(self) -> dict[str, int]:
        g = t.contact_groups
        query = (
            sa.select(g.c.group_name, sa.func.count())
            .group_by(g.c.group_name)
            .order_by(g.c.group_name)
        )
        with self._db.tx("groups") as conn:
            return {name: int(count) for name, count in conn.execute(query)}

    def groups_of(self, number: str) -> set[str]:
        g = t.contact_groups
        with self._db.tx("groups_of") as conn:
            return set(
                conn.execute(sa.select(g.c.group_name).where(g.c.number == number)).scalars()
            )

    # -- blacklist ----------------------------------------------------------

    def add_to_blacklist(self, entries: Iterable[BlacklistEntry]) -> int:
        time = _Times(self._time)  # a bulk import's dates repeat: each is bound once
        latest = {e.number: (e.number, e.reason, time(e.added_at), e.source) for e in entries}
        with self._db.tx("add_to_blacklist", write=True) as conn:
            inserted, _ = self._upsert_counting(conn, t.blacklist, "number", list(latest.values()))
        return inserted

    def remove_from_blacklist(self, numbers: Iterable[str]) -> int:
        b = t.blacklist
        stmt = self._statement("unblacklist", lambda: b.delete().where(self._among(b.c.number)))
        removed = 0
        with self._db.tx("remove_from_blacklist", write=True) as conn:
            for chunk in _chunks(set(numbers), self._in_size):
                removed += conn.execute(stmt, {"values": self._listed(chunk)}).rowcount
        return removed

    def blacklisted(self, numbers: Iterable[str], *, before: datetime | None = None) -> set[str]:
        sql = "SELECT number FROM isobil_blacklist WHERE number IN ({values})"
        dated: tuple[Any, ...] = ()
        if before is not None:
            sql += " AND added_at < ?"
            dated = (self._time(before),)
        sql = self._raw(sql)
        found: set[str] = set()
        with self._db.cursor("blacklisted") as cursor:
            for chunk in _chunks(dict.fromkeys(numbers), self._in_size):
                cursor.execute(sql, (self._listed(chunk), *dated))
                found.update(row[0] for row in cursor)
        return found

    def iter_blacklist(self) -> Iterator[BlacklistEntry]:
        b = t.blacklist

        def query(after: str | None) -> sa.Select[Any]:
            select = sa.select(b).order_by(b.c.number)
            return select if after is None else select.where(b.c.number > after)

        return self._pages("iter_blacklist", query, "number", _blacklist_entry)

    # -- consent events (append-only) ----------------------------------------

    def append_consent_events(
        self, events: Sequence[ConsentEvent], seal: Sealer | None = None
    ) -> list[ConsentEvent]:
        if not events:
            return []
        e = t.consent_events
        stored: list[ConsentEvent] = []
        with self._db.tx("append_consent_events", write=True) as conn:
            if self._postgresql:
                # EXCLUSIVE lets readers in but no other writer: seq has no gaps
                # and the hash chain no forks. (SQLite: BEGIN IMMEDIATE did this.)
                conn.exec_driver_sql("LOCK TABLE isobil_consent_events IN EXCLUSIVE MODE")
            last = conn.execute(sa.select(e.c.seq, e.c.hash).order_by(e.c.seq.desc()).limit(1))
            head = last.first()
            previous = None if head is None else head.hash
            start = 1 if head is None else head.seq + 1
            # The events were made through ConsentEvent(...): copied with their seq,
            # hash and UTC times without running its converters again.
            make = trusted_consent_event
            for seq, event in enumerate(events, start):
                values = (
                    event.address,
                    event.status,
                    event.source,
                    event.brand,
                    event.consent_date.astimezone(UTC),
                    event.recorded_at.astimezone(UTC),
                    event.channel,
                    event.recipient_type,
                    event.scope,
                    event.evidence,
                )
                event = make(*values, seq, None, None)
                if seal is not None:
                    sealed = seal(previous, event)
                    event = make(*values, seq, sealed, previous)
                    previous = sealed
                stored.append(event)
            # Plain DB-API executemany: SQLAlchemy's per-row parameter processing
            # cost more than the insert. Times as UTCDateTime binds them; a
            # migration's dates repeat, each is converted once.
            insert, time = self._raw(_RAW_INSERT_EVENTS), _Times(self._time)
            for chunk in _chunks(stored, _BATCH):
                conn.exec_driver_sql(
                    insert,
                    [
                        (
                            ev.seq,
                            ev.address,
                            ev.status.value,
                            ev.source.value,
                            ev.brand,
                            ev.channel.value,
                            ev.recipient_type.value,
                            time(ev.consent_date),
                            time(ev.recorded_at),
                            ev.scope,
                            _dumps(ev.evidence),
                            ev.hash,
                            ev.prev_hash,
                        )
                        for ev in chunk
                    ],
                )
        self._analyze_after(len(stored), e)
        return stored

    def iter_consent_events(
        self, *, address: str | None = None, after_seq: int = 0
    ) -> Iterator[ConsentEvent]:
        e = t.consent_events

        def query(after: int | None) -> sa.Select[Any]:
            select = sa.select(e).where(e.c.seq > (after_seq if after is None else after))
            if address is not None:
                select = select.where(e.c.address == address)
            return select.order_by(e.c.seq)

        return self._pages("iter_consent_events", query, "seq", _event)

    def consent_states(
        self,
        addresses: Iterable[str],
        *,
        brand: str | Collection[str],
        channel: Channel = Channel.MESAJ,
        before: datetime | None = None,
        sources: Collection[ConsentSource] | None = None,
    ) -> dict[str, ConsentEvent]:
        dated, filtered = before is not None, sources is not None
        query = self._statement(
            ("consent_states", dated, filtered),
            lambda: self._deciding_events(dated=dated, filtered=filtered),
        )
        params: dict[str, Any] = {
            "brands": [brand] if isinstance(brand, str) else sorted(brand),
            "channel": Channel(channel).value,
        }
        if before is not None:
            params["before"] = before
        if sources is not None:
            params["sources"] = sorted(s.value for s in sources)
        states: dict[str, ConsentEvent] = {}
        read = _event_reader(postgresql=self._postgresql)
        with self._db.tx("consent_states") as conn:
            for chunk in _chunks(dict.fromkeys(addresses), self._in_size):
                params["values"] = self._listed(chunk)
                for row in _fetch_all(conn.execute(query, params)):
                    states[row[1]] = read(row)  # one row per address: its deciding event
        return states

    def consent_states_with_iys(
        self,
        addresses: Iterable[str],
        *,
        brand: str | Collection[str],
        channel: Channel = Channel.MESAJ,
        before: datetime | None = None,
    ) -> dict[str, DecidingConsent]:
        dated = before is not None
        query = self._statement(
            ("consent_states_with_iys", dated),
            lambda: self._deciding_events(dated=dated, filtered=False, lean=True),
        )
        params: dict[str, Any] = {
            "brands": [brand] if isinstance(brand, str) else sorted(brand),
            "channel": Channel(channel).value,
        }
        if before is not None:
            params["before"] = before
        found: dict[str, DecidingConsent] = {}
        # Values repeat (a bulk import's dates, a sync's time): read once (_times_read).
        times = _times_read(self._postgresql)
        proofs = _Memo(lambda evidence: types.MappingProxyType(_json(evidence)))
        statuses, sources, new, lean = _STATUSES, _SOURCES, tuple.__new__, DecidingConsent
        synced: dict[str | None, IysSyncStatus | None] = {None: None}
        synced.update(_IYS_STATUSES)
        with self._db.tx("consent_states_with_iys") as conn:
            for chunk in _chunks(dict.fromkeys(addresses), self._in_size):
                params["values"] = self._listed(chunk)
                # One row per address: its deciding event, with its İYS record if any.
                for address, seq, status, source, given, evidence, iys, iys_at in _fetch_all(
                    conn.execute(query, params)
                ):
                    found[address] = new(
                        lean,
                        (
                            seq,
                            statuses[status],
                            sources[source],
                            times(given),
                            proofs[evidence],
                            synced[iys],
                            times(iys_at),
                        ),
                    )
        return found

    def _deciding_events(
        self, *, dated: bool, filtered: bool, lean: bool = False
    ) -> sa.Select[Any]:
        """The deciding event of each listed address: its columns in table order.

        ``lean``: the address, seq, status, source, date and evidence of the
        event, then the status and time of its İYS sync record (NULL if none).
        """
        e, s = t.consent_events, t.iys_sync

        def lean_columns(events: sa.FromClause) -> list[sa.ColumnElement[Any]]:
            return [
                *(
                    events.c[name]
                    for name in ("address", "seq", "status", "source", "consent_date", "evidence")
                ),
                s.c.status.label("iys_status"),
                s.c.updated_at.label("iys_updated_at"),
            ]

        def conditions(events: sa.FromClause) -> list[sa.ColumnElement[bool]]:
            found = [
                events.c.brand.in_(sa.bindparam("brands", expanding=True)),
                events.c.channel == sa.bindparam("channel"),
            ]
            if dated:
                found.append(events.c.consent_date < sa.bindparam("before"))
            if filtered:
                found.append(events.c.source.in_(sa.bindparam("sources", expanding=True)))
            return found

        def deciding_first(events: sa.FromClause) -> tuple[sa.ColumnElement[Any], ...]:
            # The same order as MemoryStorage's consent_sort_key, descending.
            return (
                events.c.consent_date.desc(),
                sa.case((events.c.status == "RET", 1), else_=0).desc(),
                events.c.seq.desc(),
            )

        if not self._postgresql:
            # SQLite: per listed address, the index (brand, channel, address,
            # consent_date) finds its deciding seq; a window over every event of
            # the audience sorts them all first (three times slower).
            listed = sa.func.json_each(sa.bindparam("values", type_=sa.String())).table_valued(
                "value"
            )
            x = e.alias("deciding")
            seq = (
                sa.select(x.c.seq)
                .where(*conditions(x), x.c.address == listed.c.value)
                .order_by(*deciding_first(x))
                .limit(1)
                .scalar_subquery()
            )
            if lean:
                return (
                    sa.select(*lean_columns(e))
                    .select_from(listed)
                    .join(e, e.c.seq == seq)
                    .outerjoin(s, s.c.seq == e.c.seq)
                )
            return sa.select(e).select_from(listed).join(e, e.c.seq == seq)
        rank = sa.func.row_number().over(partition_by=e.c.address, order_by=deciding_first(e))
        ranked = (
            sa.select(e, rank.label("rank"))
            .where(*conditions(e), self._among(e.c.address))
            .subquery()
        )
        if lean:
            return (
                sa.select(*lean_columns(ranked))
                .select_from(ranked)
                .outerjoin(s, s.c.seq == ranked.c.seq)
                .where(ranked.c.rank == 1)
            )
        return sa.select(*(ranked.c[c.name] for c in e.c)).where(ranked.c.rank == 1)

    def set_iys_sync(self, records: Iterable[IysSync]) -> None:
        time = _Times(self._time)  # a sync's records share their time: bound once
        latest = {
            r.seq: (r.seq, r.status.value, time(r.updated_at), r.request_id, r.error)
            for r in records
        }
        with self._db.tx("set_iys_sync", write=True) as conn:
            self._upsert_counting(conn, t.iys_sync, "seq", list(latest.values()), count=False)

    def iys_sync(self, seqs: Iterable[int]) -> dict[int, IysSync]:
        s = t.iys_sync
        query = self._statement("iys_sync", lambda: sa.select(s).where(self._among(s.c.seq)))
        found: dict[int, IysSync] = {}
        read = _iys_sync_reader(self._postgresql)
        with self._db.tx("iys_sync") as conn:
            for chunk in _chunks(dict.fromkeys(seqs), self._in_size):
                for row in _fetch_all(conn.execute(query, {"values": self._listed(chunk)})):
                    found[row[0]] = read(row)
        return found

    def iter_unsynced_consent_events(
        self, *, brand: str | None = None, limit: int | None = None
    ) -> Iterator[ConsentEvent]:
        e, s = t.consent_events, t.iys_sync

        def query(after: int | None) -> sa.Select[Any]:
            select = (
                sa.select(e)
                .outerjoin(s, s.c.seq == e.c.seq)
                .where(s.c.seq.is_(None), e.c.seq > (after or 0))
                .order_by(e.c.seq)
            )
            return select if brand is None else select.where(e.c.brand == brand)

        events = self._pages("iter_unsynced_consent_events", query, "seq", _event)
        return events if limit is None else itertools.islice(events, limit)

    def iter_iys_pending(self) -> Iterator[IysSync]:
        s = t.iys_sync
        request = sa.func.coalesce(s.c.request_id, "")

        def query(after: tuple[str, int] | None) -> sa.Select[Any]:
            select = (
                sa.select(s, request.label("request"))
                .where(s.c.status == IysSyncStatus.PENDING.value)
                .order_by(request, s.c.seq)
            )
            if after is not None:
                select = select.where(
                    sa.or_(request > after[0], sa.and_(request == after[0], s.c.seq > after[1]))
                )
            return select

        return self._pages("iter_iys_pending", query, lambda row: (row.request, row.seq), _iys_sync)

    # -- small named state ---------------------------------------------------

    def get_state(self, key: str) -> str | None:
        s = t.state
        with self._db.tx("get_state") as conn:
            value: str | None = conn.execute(sa.select(s.c.value).where(s.c.key == key)).scalar()
        return value

    def set_state(self, key: str, value: str | None) -> None:
        s = t.state
        with self._db.tx("set_state", write=True) as conn:
            if value is None:
                conn.execute(s.delete().where(s.c.key == key))
            else:
                conn.execute(self._replace(s, "key"), {"key": key, "value": value})

    def mark_seen(self, key: str, expires_at: datetime) -> bool:
        seen = t.seen
        now = datetime.now(UTC)
        with self._db.tx("mark_seen", write=True) as conn:
            # Expired keys go first (this one too), so the insert decides alone.
            conn.execute(seen.delete().where(seen.c.expires_at <= now))
            stmt = self._insert(seen).on_conflict_do_nothing()
            inserted = conn.execute(stmt, {"key": key, "expires_at": expires_at}).rowcount
        return bool(inserted)

    def unmark_seen(self, key: str) -> None:
        with self._db.tx("unmark_seen", write=True) as conn:
            conn.execute(t.seen.delete().where(t.seen.c.key == key))

    # -- one-time codes -----------------------------------------------------

    def add_otp(
        self, record: OtpRecord, *, limits: Sequence[tuple[timedelta, int]]
    ) -> datetime | None:
        o = t.otp
        at = record.created_at.astimezone(UTC)
        longest = max((window for window, _ in limits), default=timedelta(0))
        with self._db.tx("add_otp", write=True) as conn:
            if self._postgresql:
                # One number's sends queue here, so the count and the insert are
                # one step. (SQLite: BEGIN IMMEDIATE did this.)
                conn.execute(
                    sa.select(sa.func.pg_advisory_xact_lock(_OTP_LOCK, _lock_key(record.number)))
                )
            created = list(
                conn.execute(
                    sa.select(o.c.created_at).where(
                        o.c.number == record.number, o.c.created_at > at - longest
                    )
                ).scalars()
            )
            until = otp_refused_until(created, at, limits)
            if until is None:
                stmt = self._insert(o).on_conflict_do_nothing()
                if not conn.execute(stmt, _otp_row(record)).rowcount:
                    raise InvalidValue(f"one-time code {record.id!r} already exists")
        return until

    def latest_otp(self, number: str) -> OtpRecord | None:
        o = t.otp
        query = (
            sa.select(o)
            .where(o.c.number == number)
            .order_by(o.c.created_at.desc(), o.c.id.desc())
            .limit(1)
        )
        with self._db.tx("latest_otp") as conn:
            row = conn.execute(query).first()
        return None if row is None else _otp(row)

    def use_otp(self, otp_id: str, *, now: datetime, max_attempts: int) -> bool:
        o = t.otp
        stmt = (
            o.update()
            .where(
                o.c.id == otp_id,
                o.c.used_at.is_(None),
                o.c.expires_at > now,
                o.c.attempts < max_attempts,
            )
            .values(used_at=now)
        )
        # One UPDATE: the database lets exactly one of racing callers change the row.
        with self._db.tx("use_otp", write=True) as conn:
            return bool(conn.execute(stmt).rowcount)

    def fail_otp(self, otp_id: str) -> int:
        o = t.otp
        stmt = (
            o.update()
            .where(o.c.id == otp_id, o.c.used_at.is_(None))
            .values(attempts=o.c.attempts + 1)
            .returning(o.c.attempts)
        )
        with self._db.tx("fail_otp", write=True) as conn:
            attempts: int | None = conn.execute(stmt).scalar()
        return attempts or 0

    def purge_otp(self, *, created_before: datetime, now: datetime) -> int:
        o = t.otp
        stmt = o.delete().where(o.c.created_at < created_before, o.c.expires_at <= now)
        with self._db.tx("purge_otp", write=True) as conn:
            return conn.execute(stmt).rowcount

    def redact_campaign_text(self, campaign_id: str, secret: str, replacement: str) -> int:
        if not secret:
            raise InvalidValue("the text to redact is empty")
        c, m = t.campaigns, t.messages
        with self._db.tx("redact_campaign_text", write=True) as conn:
            conn.execute(
                c.update()
                .where(c.c.id == campaign_id)
                .values(text=sa.func.replace(c.c.text, secret, replacement))
            )
            changed = conn.execute(
                m.update()
                .where(m.c.campaign_id == campaign_id, m.c.text.contains(secret, autoescape=True))
                .values(text=sa.func.replace(m.c.text, secret, replacement))
            )
        return changed.rowcount

    # -- inbound messages ---------------------------------------------------

    def inbound_seen(self, provider_ids: Iterable[str]) -> set[str]:
        with self._db.tx("inbound_seen") as conn:
            return self._existing(conn, t.inbound.c.provider_id, list(dict.fromkeys(provider_ids)))

    def record_inbound(self, record: InboundRecord) -> None:
        row = {
            "id": record.id,
            "sender": record.from_,
            "recipient": record.to,
            "text": record.text,
            "received_at": record.received_at,
            "intent": record.intent,
            "brand": record.brand,
            "keyword": record.keyword,
            "consent_seqs": json.dumps(list(record.consent_seqs)),
            "reply_id": record.reply_id,
            "provider_id": record.provider_id,
            "raw_text": record.raw_text,
            "handled_at": record.handled_at,
        }
        stmt = self._insert(t.inbound).on_conflict_do_nothing()
        with self._db.tx("record_inbound", write=True) as conn:
            recorded = conn.execute(stmt, row).rowcount
        if not recorded:
            raise InvalidValue(f"inbound message {record.id!r} is already recorded")

    def get_inbound(self, inbound_id: str) -> InboundRecord | None:
        with self._db.tx("get_inbound") as conn:
            row = conn.execute(sa.select(t.inbound).where(t.inbound.c.id == inbound_id)).first()
        return None if row is None else _inbound(row)

    def finish_inbound(self, record: InboundRecord) -> None:
        values = {
            "consent_seqs": json.dumps(list(record.consent_seqs)),
            "reply_id": record.reply_id,
            "handled_at": record.handled_at,
        }
        stmt = t.inbound.update().where(t.inbound.c.id == record.id).values(**values)
        with self._db.tx("finish_inbound", write=True) as conn:
            updated = conn.execute(stmt).rowcount
        if not updated:
            raise InvalidValue(f"no inbound message with id {record.id!r}")

    def iter_inbound(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> Iterator[InboundRecord]:
        i = t.inbound

        def query(after: tuple[datetime, str] | None) -> sa.Select[Any]:
            select = sa.select(i).order_by(i.c.received_at, i.c.id)
            if since is not None:
                select = select.where(i.c.received_at >= since)
            if until is not None:
                select = select.where(i.c.received_at < until)
            if after is not None:
                select = select.where(
                    sa.or_(
                        i.c.received_at > after[0],
                        sa.and_(i.c.received_at == after[0], i.c.id > after[1]),
                    )
                )
            return select

        return self._pages("iter_inbound", query, lambda row: (row.received_at, row.id), _inbound)

    # -- templates ----------------------------------------------------------

    def save_template(self, template: Template) -> None:
        row = {"name": template.name, "text": template.text, "updated_at": template.updated_at}
        with self._db.tx("save_template", write=True) as conn:
            conn.execute(self._replace(t.templates, "name"), row)

    def get_template(self, name: str) -> Template | None:
        q = t.templates
        with self._db.tx("get_template") as conn:
            row = conn.execute(sa.select(q).where(q.c.name == name)).first()
        return None if row is None else _template(row)

    def list_templates(self) -> list[Template]:
        q = t.templates
        with self._db.tx("list_templates") as conn:
            return [_template(row) for row in conn.execute(sa.select(q).order_by(q.c.name))]

    def delete_template(self, name: str) -> bool:
        q = t.templates
        with self._db.tx("delete_template", write=True) as conn:
            return bool(conn.execute(q.delete().where(q.c.name == name)).rowcount)

    # -- campaigns and their messages ----------------------------------------

    def create_campaign(self, campaign: Campaign) -> None:
        with self._db.cursor("create_campaign", write=True) as cursor:
            created = self._insert_campaign(cursor, campaign)
        if not created:
            raise InvalidValue(f"campaign {campaign.id!r} already exists")

    def _insert_campaign(self, cursor: Any, campaign: Campaign) -> bool:
        """Insert ``campaign`` unless its id is taken; whether it was."""
        time = self._time
        cursor.execute(
            self._raw(_RAW_INSERT_CAMPAIGN),
            (
                campaign.id,
                campaign.text,
                campaign.category,
                time(campaign.created_at),
                campaign.status.value,
                campaign.brand,
                campaign.name,
                campaign.originator,
                time(campaign.send_at),
                campaign.schedule_id,
            ),
        )
        return bool(cursor.rowcount)

    def get_campaign(self, campaign_id: str) -> Campaign | None:
        c = t.campaigns
        with self._db.tx("get_campaign") as conn:
            row = conn.execute(sa.select(c).where(c.c.id == campaign_id)).first()
        return None if row is None else _campaign(row)

    def list_campaigns(self) -> list[Campaign]:
        c = t.campaigns
        query = sa.select(c).order_by(c.c.created_at.desc(), c.c.id.desc())
        with self._db.tx("list_campaigns") as conn:
            return [_campaign(row) for row in conn.execute(query)]

    def set_campaign_status(self, campaign_id: str, status: CampaignStatus) -> None:
        c, m = t.campaigns, t.messages
        with self._db.tx("set_campaign_status", write=True) as conn:
            changed = conn.execute(
                c.update().where(c.c.id == campaign_id).values(status=status.value)
            ).rowcount
            if not changed:
                raise InvalidValue(f"no campaign with id {campaign_id!r}")
            if status is CampaignStatus.CANCELLED:
                queued = sa.select(m.c.id).where(
                    m.c.campaign_id == campaign_id, m.c.state == MessageState.QUEUED.value
                )
                if self._postgresql:
                    # Rows locked in id order, as every other batch update locks them.
                    queued = queued.order_by(m.c.id).with_for_update()
                conn.execute(
                    m.update()
                    .where(m.c.id.in_(queued.scalar_subquery()))
                    .values(state=MessageState.CANCELLED.value, claimed_by=None, lease_until=None)
                )

    def finish_drained_campaigns(self) -> list[str]:
        # Read first: an idle pass takes no write lock. Both statements reach the
        # running campaigns through their partial index (revision 0009) and each
        # campaign's messages through (campaign_id, state): finished campaigns and
        # settled messages are never read, however many are kept.
        with self._db.tx("finish_drained_campaigns") as conn:
            drained = list(conn.execute(self._statement("drained", self._drained)).scalars())
        if not drained:
            return []
        c = t.campaigns
        stmt = self._statement(
            "finish_drained",
            lambda: (
                c.update()
                .where(self._among(c.c.id), *self._drained_where())
                .values(status=CampaignStatus.DONE.value)
                .returning(c.c.id)
            ),
        )
        with self._db.tx("finish_drained_campaigns", write=True) as conn:
            return sorted(conn.execute(stmt, {"values": self._listed(drained)}).scalars())

    def _drained_where(self) -> list[sa.ColumnElement[bool]]:
        c, m = t.campaigns, t.messages
        pending = [MessageState.QUEUED.value, MessageState.SUBMITTING.value]
        return [
            c.c.status == CampaignStatus.RUNNING.value,
            sa.exists().where(m.c.campaign_id == c.c.id),
            ~sa.exists().where(m.c.campaign_id == c.c.id, m.c.state.in_(pending)),
        ]

    def _drained(self) -> sa.Select[Any]:
        c = t.campaigns
        return sa.select(c.c.id).where(*self._drained_where()).order_by(c.c.id)

    def create_campaign_with_messages(
        self, campaign: Campaign, messages: Sequence[OutboundMessage]
    ) -> None:
        try:
            with self._db.cursor("create_campaign_with_messages", write=True) as cursor:
                if not self._insert_campaign(cursor, campaign):
                    raise InvalidValue(f"campaign {campaign.id!r} already exists")
                self._insert_messages(cursor, messages)
        except _Conflict:
            # Rolled back; the checking path names the message or campaign at fault.
            self._create_campaign_with_messages_checked(campaign, messages)

    def _create_campaign_with_messages_checked(
        self, campaign: Campaign, messages: Sequence[OutboundMessage]
    ) -> None:
        m, c = t.messages, t.campaigns
        ids = Counter(msg.id for msg in messages)
        others = sorted({msg.campaign_id for msg in messages} - {campaign.id})
        rows = [_message_row(msg) for msg in messages]
        with self._db.tx("create_campaign_with_messages", write=True) as conn:
            created = conn.execute(
                self._insert(c).on_conflict_do_nothing(), _campaign_row(campaign)
            ).rowcount
            if not created:
                raise InvalidValue(f"campaign {campaign.id!r} already exists")
            taken = self._existing(conn, m.c.id, list(ids)) if ids else set()
            taken.update(i for i, n in ids.items() if n > 1)
            if taken:
                raise InvalidValue(f"message {min(taken)!r} already exists")
            missing = set(others) - self._existing(conn, c.c.id, others) if others else set()
            if missing:
                raise InvalidValue(f"no campaign with id {min(missing)!r}")
            for chunk in _chunks(rows, _BATCH):
                conn.execute(m.insert(), chunk)

    def add_messages(self, messages: Iterable[OutboundMessage]) -> int:
        batch = list(messages)
        try:
            with self._db.cursor("add_messages", write=True) as cursor:
                self._insert_messages(cursor, batch)
        except _Conflict:
            # Rolled back; the checking path names the message or campaign at fault.
            self._add_messages_checked(batch)
        self._analyze_after(len(batch), t.messages)
        return len(batch)

    def _insert_messages(self, cursor: Any, messages: Sequence[OutboundMessage]) -> None:
        """Insert ``messages`` as they are; a taken id or a missing campaign raises _Conflict."""
        try:
            for chunk in _chunks(messages, _BATCH):
                # A batch's messages share a few times (its lease, say): each is
                # converted once.
                stamps = _Times(self._time)
                rows = [
                    (
                        msg.id,
                        msg.campaign_id,
                        msg.to,
                        msg.text,
                        msg.parts,
                        msg.state.value,
                        stamps(msg.not_before),
                        msg.claimed_by,
                        stamps(msg.lease_until),
                        msg.provider_id,
                        msg.error_code,
                        msg.reason,
                        stamps(msg.updated_at),
                    )
                    for msg in chunk
                ]
                if self._postgresql:
                    with cursor.copy(_COPY_MESSAGES) as copy:
                        for row in rows:
                            copy.write_row(row)
                else:
                    cursor.executemany(_RAW_INSERT_MESSAGES, rows)
        except self._conflicts as exc:
            raise _Conflict from exc

    def _add_messages_checked(self, messages: list[OutboundMessage]) -> None:
        m, c = t.messages, t.campaigns
        known: set[str] = set()
        with self._db.tx("add_messages", write=True) as conn:
            for chunk in _chunks(messages, _BATCH):
                ids = Counter(msg.id for msg in chunk)
                taken = self._existing(conn, m.c.id, list(ids))
                taken.update(i for i, n in ids.items() if n > 1)  # twice in this call
                if taken:
                    raise InvalidValue(f"message {min(taken)!r} already exists")
                wanted = {msg.campaign_id for msg in chunk} - known
                known |= self._existing(conn, c.c.id, sorted(wanted))
                missing = wanted - known
                if missing:
                    raise InvalidValue(f"no campaign with id {min(missing)!r}")
                conn.execute(m.insert(), [_message_row(msg) for msg in chunk])

    def get_message(self, message_id: str) -> OutboundMessage | None:
        m = t.messages
        query = self._statement(
            "get_message", lambda: sa.select(m).where(m.c.id == sa.bindparam("id"))
        )
        with self._db.tx("get_message") as conn:
            row = conn.execute(query, {"id": message_id}).first()
        return None if row is None else _message(row)

    def _by_provider_id(self) -> sa.Select[Any]:
        m = t.messages
        # Should a provider reuse an id, the message that got it last wins.
        return self._statement(
            "by_provider_id",
            lambda: (
                sa.select(m)
                .where(m.c.provider_id == sa.bindparam("provider_id"))
                .order_by(m.c.updated_at.desc(), m.c.id.desc())
                .limit(1)
            ),
        )

    def awaiting_reports(self, *, since: datetime, limit: int = 10_000) -> list[str]:
        m = t.messages
        query = (
            sa.select(m.c.provider_id)
            .where(
                m.c.state == MessageState.SUBMITTED.value,
                m.c.provider_id.is_not(None),
                m.c.updated_at >= since,
            )
            .order_by(m.c.updated_at, m.c.id)
            .limit(limit)
        )
        with self._db.tx("awaiting_reports") as conn:
            return [str(p) for p in conn.execute(query).scalars()]

    def message_by_provider_id(self, provider_id: str) -> OutboundMessage | None:
        with self._db.tx("message_by_provider_id") as conn:
            row = conn.execute(self._by_provider_id(), {"provider_id": provider_id}).first()
            if row is None:
                row = conn.execute(self._by_part_id(), {"provider_id": provider_id}).first()
        return None if row is None else _message(row)

    def _by_part_id(self) -> sa.Select[Any]:
        m, p = t.messages, t.message_parts
        return self._statement(
            "by_part_id",
            lambda: (
                sa.select(m)
                .join(p, p.c.message_id == m.c.id)
                .where(p.c.provider_id == sa.bindparam("provider_id"))
            ),
        )

    def message_parts(self, message_id: str) -> list[MessagePart]:
        p = t.message_parts
        query = self._statement(
            "message_parts",
            lambda: sa.select(p).where(p.c.message_id == sa.bindparam("id")).order_by(p.c.part),
        )
        with self._db.tx("message_parts") as conn:
            return [
                MessagePart(
                    provider_id=row.provider_id,
                    message_id=row.message_id,
                    part=row.part,
                    status=row.status,
                    error_code=row.error_code,
                    updated_at=row.updated_at,
                )
                for row in conn.execute(query, {"id": message_id})
            ]

    def iter_messages(
        self, campaign_id: str, *, state: MessageState | None = None
    ) -> Iterator[OutboundMessage]:
        m = t.messages

        def query(after: str | None) -> sa.Select[Any]:
            select = sa.select(m).where(m.c.campaign_id == campaign_id).order_by(m.c.id)
            if state is not None:
                select = select.where(m.c.state == state.value)
            return select if after is None else select.where(m.c.id > after)

        return self._pages("iter_messages", query, "id", _message)

    def campaign_recipients(self, campaign_id: str, numbers: Iterable[str]) -> set[str]:
        found: set[str] = set()
        if self._postgresql:
            with self._db.cursor("campaign_recipients") as cursor:
                for chunk in _chunks(dict.fromkeys(numbers), self._in_size):
                    cursor.execute(_RAW_CAMPAIGN_RECIPIENTS_PG, (chunk, campaign_id))
                    found.update(row[0] for row in cursor)
            return found
        m = t.messages
        # Probed through the recipient index: a campaign of millions is never scanned
        # (unary + keeps the planner off the campaign's own index).
        query = self._statement(
            "campaign_recipients",
            lambda: sa.select(m.c.recipient).where(
                self._among(m.c.recipient),
                sa.literal_column("+campaign_id") == sa.bindparam("campaign_id"),
            ),
        )
        with self._db.tx("campaign_recipients") as conn:
            for chunk in _chunks(dict.fromkeys(numbers), self._in_size):
                params = {"values": self._listed(chunk), "campaign_id": campaign_id}
                found.update(conn.execute(query, params).scalars())
        return found

    def message_counts(self, campaign_id: str) -> dict[MessageState, int]:
        m = t.messages
        query = (
            sa.select(m.c.state, sa.func.count())
            .where(m.c.campaign_id == campaign_id)
            .group_by(m.c.state)
        )
        with self._db.tx("message_counts") as conn:
            return {MessageState(s): int(n) for s, n in conn.execute(query)}

    def messaged(self, numbers: Iterable[str]) -> set[str]:
        sql = self._raw(_RAW_MESSAGED)
        found: set[str] = set()
        with self._db.cursor("messaged") as cursor:
            for chunk in _chunks(dict.fromkeys(numbers), self._in_size):
                cursor.execute(sql, (self._listed(chunk),))
                found.update(row[0] for row in cursor)
        return found

    def claim_submitting(
        self, *, worker: str, limit: int, lease: timedelta, now: datetime
    ) -> list[OutboundMessage]:
        if limit <= 0:
            return []
        at = self._time(now)  # refuses a naive now
        until = self._time(now.astimezone(UTC) + lease)  # time elapsed, not wall-clock time
        with self._db.cursor("claim", write=True) as cursor:
            if self._postgresql:
                cursor.execute(_RAW_CLAIM_PG, (at, at, limit, worker, until, at))
            else:
                cursor.execute(_RAW_CLAIM_SQLITE, (worker, until, at, at, at, limit))
            rows = cursor.fetchall()
        return sorted(self._outbound(rows), key=lambda msg: msg.id)

    def transition(
        self,
        message_ids: Iterable[str],
        new_state: MessageState,
        *,
        expected: MessageState,
        worker: str | None = None,
        now: datetime,
        provider_id: str | None = None,
        error_code: str | None = None,
        reason: str | None = None,
    ) -> list[str]:
        check_transition(expected, new_state)
        at = self._time(now)
        full = (provider_id, error_code, reason) != (None, None, None)
        params: tuple[Any, ...] = (new_state.value, at)
        if full:
            params += (provider_id, error_code, reason)
        fence: tuple[Any, ...] = () if worker is None else (worker, at)
        sql = self._raw(_RAW_TRANSITIONS[full, worker is not None])
        ids = list(dict.fromkeys(message_ids))
        moved: set[str] = set()
        with self._db.cursor("transition", write=True) as cursor:
            for chunk in _chunks(ids, self._in_size):
                if self._postgresql:
                    cursor.execute(_PG_LOCK_IN_ORDER, (chunk,))
                cursor.execute(sql, (*params, self._listed(chunk), expected.value, *fence))
                moved.update(row[0] for row in cursor)
        return [i for i in ids if i in moved]

    def settle(self, outcomes: Sequence[Settlement], *, now: datetime) -> list[str]:
        for state in dict.fromkeys(outcome.state for outcome in outcomes):  # in order, once
            check_transition(MessageState.SUBMITTING, state)
        first: dict[str, Settlement] = {}
        for outcome in outcomes:
            first.setdefault(outcome.message_id, outcome)
        if not first:
            return []
        at = self._time(now)
        moved: set[str] = set()
        with self._db.cursor("settle", write=True) as cursor:
            # Sorted, so concurrent updates on PostgreSQL lock rows in one order.
            todo = [first[i] for i in sorted(first)]
            for chunk in _chunks(todo, self._in_size):
                if self._postgresql:
                    cursor.execute(_PG_LOCK_IN_ORDER, ([o.message_id for o in chunk],))
                    cursor.execute(
                        self._raw(_RAW_SETTLE_PG),
                        (
                            at,
                            [o.message_id for o in chunk],
                            [o.state.value for o in chunk],
                            [o.provider_id for o in chunk],
                            [o.error_code for o in chunk],
                            [o.reason for o in chunk],
                        ),
                    )
                else:
                    rows = _encode(
                        [
                            (o.message_id, o.state.value, o.provider_id, o.error_code, o.reason)
                            for o in chunk
                        ]
                    )
                    cursor.execute(_RAW_SETTLE_SQLITE, (at, rows))
                moved.update(row[0] for row in cursor)
            # The parts of long messages, in the same transaction: a receipt for any
            # part finds its message from now on, in whichever process reads it.
            parts = {
                part_id: (part_id, o.message_id, index, at)
                for o in first.values()
                if o.message_id in moved
                and o.state is MessageState.SUBMITTED
                and len(o.part_ids) > 1
                for index, part_id in enumerate(o.part_ids)
            }
            if parts:
                cursor.executemany(self._raw(_RAW_UPSERT_PARTS), list(parts.values()))
        return [i for i in first if i in moved]

    def expire_claims(self, *, now: datetime) -> list[str]:
        stmt = self._statement("expire_claims", self._expire_claims)
        with self._db.tx("expire_claims", write=True) as conn:
            return sorted(conn.execute(stmt, {"now": now}).scalars())

    def _expire_claims(self) -> sa.Update:
        m = t.messages
        lost = sa.select(m.c.id).where(
            m.c.state == MessageState.SUBMITTING.value,
            m.c.lease_until < sa.bindparam("now"),
        )
        if self._postgresql:
            # Lock the rows in id order, as settle does, so the two never
            # deadlock when a live worker's lease runs out.
            lost = lost.order_by(m.c.id).with_for_update()
        # (On SQLite, BEGIN IMMEDIATE makes this the only writer, and an ORDER BY id
        # would have it walk every message in id order instead of the partial index
        # of submitting ones: a pass would cost more with every message kept.)
        return (
            m.update()
            .where(m.c.id.in_(lost.scalar_subquery()))
            .values(
                state=MessageState.UNKNOWN.value,
                reason=_LOST_REASON,
                updated_at=sa.bindparam("now"),
            )
            .returning(m.c.id)
        )

    def apply_delivery_report(self, report: DeliveryReportRecord) -> OutboundMessage | None:
        new_state = REPORT_STATES.get(report.status)
        with self._db.tx("apply_delivery_report", write=True) as conn:
            if conn.execute(
                self._part_ids_among(), {"values": self._listed([report.provider_id])}
            ).first():
                changed = self._apply_reports(conn, [report])
                return changed[0] if changed else None
            message = conn.execute(
                self._by_provider_id(), {"provider_id": report.provider_id}
            ).first()
            conn.execute(
                t.delivery_reports.insert(),
                {
                    "provider_id": report.provider_id,
                    "status": report.status,
                    "received_at": report.received_at,
                    "error_code": report.error_code,
                    "message_id": None if message is None else message.id,
                },
            )
            if message is None or new_state is None:
                return None
            params = {
                "message_id": message.id,
                "new_state": new_state.value,
                "at": report.received_at,
                "new_error_code": report.error_code,
                "new_reason": None,
            }
            row = conn.execute(self._statement("settle", self._settle), params).first()
        return None if row is None else _message(row)

    def apply_delivery_reports(
        self, reports: Sequence[DeliveryReportRecord]
    ) -> list[OutboundMessage]:
        if not reports:
            return []
        with self._db.tx("apply_delivery_reports", write=True) as conn:
            return self._apply_reports(conn, reports)

    def apply_held_reports(self, provider_ids: Iterable[str]) -> list[OutboundMessage]:
        ids = list(dict.fromkeys(provider_ids))
        if not ids:
            return []
        dr = t.delivery_reports

        def build(locking: bool) -> sa.Select[Any]:
            query = (
                sa.select(dr.c.id, dr.c.provider_id, dr.c.status, dr.c.received_at, dr.c.error_code)
                .where(self._among(dr.c.provider_id), dr.c.message_id.is_(None))
                .order_by(dr.c.id)
            )
            # A report claimed meanwhile by another process is passed over once its
            # claim commits (PostgreSQL re-reads a locked row; SQLite has one writer).
            return query.with_for_update() if locking and self._postgresql else query

        peek = self._raw(_RAW_HELD)
        with self._db.cursor("apply_held_reports") as cursor:
            # Almost always none: a read, so the write lock is taken only when needed.
            if not any(
                cursor.execute(peek, (self._listed(chunk),)).fetchone()
                for chunk in _chunks(ids, self._in_size)
            ):
                return []
        claim = self._statement("held_reports_locked", lambda: build(True))
        with self._db.tx("apply_held_reports", write=True) as conn:
            reports: list[DeliveryReportRecord] = []
            held: list[int] = []
            for chunk in _chunks(ids, self._in_size):
                for row in conn.execute(claim, {"values": self._listed(chunk)}):
                    held.append(row.id)
                    reports.append(
                        DeliveryReportRecord(
                            row.provider_id, row.status, row.received_at, row.error_code
                        )
                    )
            if not reports:
                return []
            order = sorted(range(len(held)), key=held.__getitem__)
            return self._apply_reports(
                conn, [reports[i] for i in order], held=[held[i] for i in order]
            )

    def _part_ids_among(self) -> sa.Select[Any]:
        p = t.message_parts
        return self._statement(
            "part_ids_among",
            lambda: sa.select(p.c.provider_id, p.c.message_id, p.c.part).where(
                self._among(p.c.provider_id)
            ),
        )

    def _apply_reports(
        self,
        conn: sa.Connection,
        reports: Sequence[DeliveryReportRecord],
        *,
        held: Sequence[int] | None = None,
    ) -> list[OutboundMessage]:
        """Record ``reports`` and settle what they settle, in ``conn``'s transaction.

        With ``held``, the reports are rows recorded earlier (their ids, in the
        same order) without a message: those whose id names one now get it, the
        rest stay held. Without, every report is recorded anew.
        """
        m, p = t.messages, t.message_parts
        lookup = self._statement(
            "by_provider_ids",
            lambda: (
                sa.select(m.c.id, m.c.provider_id, m.c.state)
                .where(self._among(m.c.provider_id))
                .order_by(m.c.updated_at.desc(), m.c.id.desc())
            ),
        )
        ids = list(dict.fromkeys(r.provider_id for r in reports))
        # The parts of long messages first: a part's id is its own, never a message's.
        parts: dict[str, tuple[str, int]] = {}
        for chunk in _chunks(ids, self._in_size):
            for row in conn.execute(self._part_ids_among(), {"values": self._listed(chunk)}):
                parts[row.provider_id] = (row.message_id, row.part)
        # Should a provider reuse an id, the message that got it last wins.
        found: dict[str, tuple[str, str]] = {}
        rest = [i for i in ids if i not in parts]
        for chunk in _chunks(rest, self._in_size):
            for row in conn.execute(lookup, {"values": self._listed(chunk)}):
                found.setdefault(row.provider_id, (row.id, row.state))
        states: dict[str, str] = {}
        statuses: dict[str, dict[int, str | None]] = {}
        if parts:
            # Whether the last part settles a message depends on the others: the
            # message rows are locked (in id order, as settle does) before the
            # parts are read, so two processes' receipts for one message queue.
            locked = sorted({i for i, _ in parts.values()} | {i for i, _ in found.values()})
            lock = self._statement(
                "lock_messages",
                lambda: (
                    sa.select(m.c.id, m.c.state)
                    .where(self._among(m.c.id))
                    .order_by(m.c.id)
                    .with_for_update()
                ),
            )
            for chunk in _chunks(locked, self._in_size):
                for row in conn.execute(lock, {"values": self._listed(chunk)}):
                    states[row.id] = row.state
            found = {k: (i, states.get(i, s)) for k, (i, s) in found.items()}
            siblings = self._statement(
                "parts_of",
                lambda: sa.select(p.c.message_id, p.c.part, p.c.status).where(
                    self._among(p.c.message_id)
                ),
            )
            wanted = sorted({i for i, _ in parts.values()})
            for chunk in _chunks(wanted, self._in_size):
                for row in conn.execute(siblings, {"values": self._listed(chunk)}):
                    statuses.setdefault(row.message_id, {})[row.part] = row.status
        rows: list[dict[str, Any]] = []
        claimed: list[dict[str, Any]] = []
        part_rows: dict[str, dict[str, Any]] = {}
        # message id -> (state, at, error code, reason): the first report that settles it
        moves: dict[str, tuple[str, datetime, str | None, str | None]] = {}
        waiting = (MessageState.SUBMITTED.value, MessageState.UNKNOWN.value)
        for n, report in enumerate(reports):
            message_id: str | None = None
            part = parts.get(report.provider_id)
            if part is not None:
                message_id, index = part
                siblings_of = statuses.setdefault(message_id, {})
                if siblings_of.get(index) not in FINAL_REPORTS:
                    # Not a repeated or late report for a part already settled.
                    siblings_of[index] = report.status
                    part_rows[report.provider_id] = {
                        "b_provider_id": report.provider_id,
                        "b_status": report.status,
                        "b_error_code": report.error_code,
                        "b_at": report.received_at,
                    }
                    failure = part_failure(report.status)
                    if message_id not in moves and states.get(message_id) in waiting:
                        if failure is not None:
                            moves[message_id] = (
                                failure.value,
                                report.received_at,
                                report.error_code,
                                part_reason(index, len(siblings_of), report.status),
                            )
                        elif all(v == "delivered" for v in siblings_of.values()):
                            moves[message_id] = (
                                MessageState.DELIVERED.value,
                                report.received_at,
                                report.error_code,
                                None,
                            )
            else:
                message = found.get(report.provider_id)
                if message is not None:
                    message_id = message[0]
                    new_state = REPORT_STATES.get(report.status)
                    if new_state is not None and message[1] in waiting and message_id not in moves:
                        moves[message_id] = (
                            new_state.value,
                            report.received_at,
                            report.error_code,
                            None,
                        )
            if held is None:
                rows.append(
                    {
                        "provider_id": report.provider_id,
                        "status": report.status,
                        "received_at": report.received_at,
                        "error_code": report.error_code,
                        "message_id": message_id,
                    }
                )
            elif message_id is not None:
                claimed.append({"b_id": held[n], "b_message_id": message_id})
        for batch in _chunks(rows, _BATCH):
            conn.execute(t.delivery_reports.insert(), batch)
        for batch in _chunks(claimed, _BATCH):
            conn.execute(self._statement("claim_held", self._claim_held), batch)
        for batch in _chunks(list(part_rows.values()), _BATCH):
            conn.execute(self._statement("settle_parts", self._settle_parts), batch)
        if not moves:
            return []
        changed: dict[str, OutboundMessage]
        if self._postgresql:
            todo = sorted(moves.items())
            params = {
                "ids": [i for i, _ in todo],
                "states": [v[0] for _, v in todo],
                "ats": [v[1].astimezone(UTC) for _, v in todo],
                "error_codes": [v[2] for _, v in todo],
                "reasons": [v[3] for _, v in todo],
            }
            changed = {row.id: _message(row) for row in conn.execute(_PG_REPORTS, params)}
        else:
            # Under BEGIN IMMEDIATE nobody else writes: what was waiting moves.
            updates = [
                {
                    "message_id": i,
                    "new_state": v[0],
                    "at": v[1],
                    "new_error_code": v[2],
                    "new_reason": v[3],
                }
                for i, v in moves.items()
            ]
            for batch in _chunks(updates, _BATCH):
                conn.execute(self._statement("settle_many", self._settle_many), batch)
            select = self._statement(
                "messages_among", lambda: sa.select(m).where(self._among(m.c.id))
            )
            changed = {}
            for chunk in _chunks(list(moves), self._in_size):
                for found_row in conn.execute(select, {"values": self._listed(chunk)}):
                    changed[found_row.id] = _message(found_row)
        return [changed[i] for i in moves if i in changed]

    def _claim_held(self) -> sa.Update:
        dr = t.delivery_reports
        return (
            dr.update()
            .where(dr.c.id == sa.bindparam("b_id"), dr.c.message_id.is_(None))
            .values(message_id=sa.bindparam("b_message_id"))
        )

    def _settle_parts(self) -> sa.Update:
        p = t.message_parts
        return (
            p.update()
            .where(p.c.provider_id == sa.bindparam("b_provider_id"))
            .values(
                status=sa.bindparam("b_status"),
                error_code=sa.bindparam("b_error_code"),
                updated_at=sa.bindparam("b_at", type_=t.UTCDateTime()),
            )
        )

    def _settle(self) -> sa.Update:
        return self._settle_many().returning(*t.messages.c)

    def _settle_many(self) -> sa.Update:
        m = t.messages
        # Only a message still waiting for its outcome settles: a repeated or
        # late report finds it final and changes nothing.
        return (
            m.update()
            .where(
                m.c.id == sa.bindparam("message_id"),
                # Not IN (…): an expanding list cannot go through executemany.
                sa.or_(
                    m.c.state == MessageState.SUBMITTED.value,
                    m.c.state == MessageState.UNKNOWN.value,
                ),
            )
            .values(
                state=sa.bindparam("new_state"),
                updated_at=sa.bindparam("at", type_=t.UTCDateTime()),
                # A report without an error code keeps the one the submit left.
                error_code=sa.func.coalesce(
                    sa.bindparam("new_error_code", type_=sa.Text()), m.c.error_code
                ),
                reason=sa.func.coalesce(sa.bindparam("new_reason", type_=sa.Text()), m.c.reason),
            )
        )

    # -- credits (append-only) ----------------------------------------------

    def append_credit(
        self, entry: CreditEntry, *, keep_balance_at_least: int | None = None
    ) -> bool:
        with self._db.tx("append_credit", write=True) as conn:
            seq, balance = self._credit_head(conn)
            if keep_balance_at_least is not None and balance + entry.amount < keep_balance_at_least:
                return False
            if self._given_back(conn, [entry]):
                return False
            conn.execute(t.credit_entries.insert(), _credit_row(entry, seq + 1, balance))
        return True

    def append_credits(self, entries: Sequence[CreditEntry]) -> None:
        if not entries:
            return
        with self._db.tx("append_credits", write=True) as conn:
            seq, balance = self._credit_head(conn)
            given_back = self._given_back(conn, entries)
            rows: list[dict[str, Any]] = []
            for entry in entries:
                gives_back = _gives_back(entry)
                if gives_back is not None:
                    if gives_back in given_back:
                        continue
                    given_back.add(gives_back)
                rows.append(_credit_row(entry, seq + 1, balance))
                seq, balance = seq + 1, balance + entry.amount
            for part in _chunks(rows, _BATCH):
                conn.execute(t.credit_entries.insert(), part)

    def append_cancelled_release(self, campaign_id: str, *, at: datetime, note: str) -> int:
        ce, m = t.credit_entries, t.messages
        cancelled = sa.select(sa.func.coalesce(sa.func.sum(m.c.parts), 0)).where(
            m.c.campaign_id == campaign_id, m.c.state == MessageState.CANCELLED.value
        )
        released = sa.select(sa.func.coalesce(sa.func.sum(ce.c.amount), 0)).where(
            ce.c.campaign_id == campaign_id,
            ce.c.kind == CreditKind.RELEASE.value,
            ce.c.message_id.is_(None),
            ce.c.note == note,
        )
        with self._db.tx("append_cancelled_release", write=True) as conn:
            # Under the ledger's lock: a concurrent call sees this one's entry.
            seq, balance = self._credit_head(conn)
            amount = int(conn.execute(cancelled).scalar_one()) - int(
                conn.execute(released).scalar_one()
            )
            if amount <= 0:
                return 0
            entry = CreditEntry(CreditKind.RELEASE, amount, at, campaign_id=campaign_id, note=note)
            conn.execute(ce.insert(), _credit_row(entry, seq + 1, balance))
        return amount

    def _credit_head(self, conn: sa.Connection) -> tuple[int, int]:
        """Lock the credit ledger for this transaction; its last seq and balance."""
        ce = t.credit_entries
        last = self._statement(
            "credit_head",
            lambda: sa.select(ce.c.seq, ce.c.balance_after).order_by(ce.c.seq.desc()).limit(1),
        )
        if self._postgresql:
            # Serialises the check and the append against every other writer.
            # (SQLite: BEGIN IMMEDIATE did this.)
            conn.exec_driver_sql("LOCK TABLE isobil_credit_entries IN EXCLUSIVE MODE")
        head = conn.execute(last).first()
        return (0, 0) if head is None else (head.seq, head.balance_after)

    def _given_back(self, conn: sa.Connection, entries: Sequence[CreditEntry]) -> set[str]:
        """Which messages that ``entries`` give back were given back before (ledger locked)."""
        wanted = sorted({m for m in map(_gives_back, entries) if m is not None})
        if not wanted:
            return set()
        ce = t.credit_entries
        query = self._statement(
            "given_back",
            lambda: sa.select(ce.c.message_id).where(
                self._among(ce.c.message_id),
                ce.c.kind.in_([CreditKind.RELEASE.value, CreditKind.REFUND.value]),
            ),
        )
        found: set[str] = set()
        for chunk in _chunks(wanted, self._in_size):
            found.update(conn.execute(query, {"values": self._listed(chunk)}).scalars())
        return found

    def credit_balance(self) -> int:
        ce = t.credit_entries
        query = sa.select(ce.c.balance_after).order_by(ce.c.seq.desc()).limit(1)
        with self._db.tx("credit_balance") as conn:
            return int(conn.execute(query).scalar() or 0)

    def iter_credits(self, *, campaign_id: str | None = None) -> Iterator[CreditEntry]:
        ce = t.credit_entries

        def query(after: int | None) -> sa.Select[Any]:
            select = sa.select(ce).where(ce.c.seq > (after or 0)).order_by(ce.c.seq)
            return select if campaign_id is None else select.where(ce.c.campaign_id == campaign_id)

        return self._pages("iter_credits", query, "seq", _credit)

    # -- schedules ----------------------------------------------------------

    def add_schedule(self, schedule: Schedule) -> None:
        row = {
            "id": schedule.id,
            "rule": schedule.rule,
            "timezone": schedule.timezone,
            "next_at": schedule.next_at,
            "payload": _dumps(schedule.payload),
            "created_at": schedule.created_at,
            "status": schedule.status.value,
        }
        stmt = self._insert(t.schedules).on_conflict_do_nothing()
        with self._db.tx("add_schedule", write=True) as conn:
            created = conn.execute(stmt, row).rowcount
        if not created:
            raise InvalidValue(f"schedule {schedule.id!r} already exists")

    def get_schedule(self, schedule_id: str) -> Schedule | None:
        s = t.schedules
        with self._db.tx("get_schedule") as conn:
            row = conn.execute(sa.select(s).where(s.c.id == schedule_id)).first()
        return None if row is None else _schedule(row)

    def list_schedules(self, *, status: ScheduleStatus | None = None) -> list[Schedule]:
        s = t.schedules
        query = sa.select(s).order_by(s.c.next_at.is_(None), s.c.next_at, s.c.id)
        if status is not None:
            query = query.where(s.c.status == status.value)
        with self._db.tx("list_schedules") as conn:
            return [_schedule(row) for row in conn.execute(query)]

    def set_schedule_status(self, schedule_id: str, status: ScheduleStatus) -> None:
        s = t.schedules
        with self._db.tx("set_schedule_status", write=True) as conn:
            changed = conn.execute(
                s.update().where(s.c.id == schedule_id).values(status=status.value)
            ).rowcount
        if not changed:
            raise InvalidValue(f"no schedule with id {schedule_id!r}")

    def due_schedules(self, now: datetime) -> list[Schedule]:
        s = t.schedules
        query = (
            sa.select(s)
            .where(s.c.status == ScheduleStatus.ACTIVE.value, s.c.next_at <= now)
            .order_by(s.c.next_at, s.c.id)
        )
        with self._db.tx("due_schedules") as conn:
            return [_schedule(row) for row in conn.execute(query)]

    def claim_occurrence(
        self, schedule_id: str, occurrence: datetime, next_at: datetime | None
    ) -> bool:
        aware(occurrence, "occurrence")  # refused, never read as local time
        aware(next_at, "next_at", optional=True)
        s = t.schedules
        stmt = self._insert(t.schedule_occurrences).on_conflict_do_nothing()
        with self._db.tx("claim_occurrence", write=True) as conn:
            status = conn.execute(sa.select(s.c.status).where(s.c.id == schedule_id)).scalar()
            if status is None:
                raise InvalidValue(f"no schedule with id {schedule_id!r}")
            # The primary key (schedule_id, occurrence) lets exactly one caller in.
            taken = conn.execute(stmt, {"schedule_id": schedule_id, "occurrence": occurrence})
            if not taken.rowcount:
                return False
            if next_at is None:
                status = ScheduleStatus.FINISHED.value
            conn.execute(
                s.update().where(s.c.id == schedule_id).values(next_at=next_at, status=status)
            )
        return True

    # -- metrics --------------------------------------------------------------

    def message_stats(self, *, now: datetime, campaign_id: str | None = None) -> MessageStats:
        # One pass over the messages for the counts (a failure's code and a blocked
        # message's reason are kept only for those states, so settled messages
        # group by state alone), and the queued ones through their partial index.
        one = campaign_id is not None
        params = {"now": now, "campaign_id": campaign_id}
        states: dict[MessageState, int] = {}
        failures: dict[tuple[MessageState, str | None], int] = {}
        blocked: dict[str | None, int] = {}
        with self._db.tx("message_stats") as conn:
            tally = conn.execute(self._statement(("tally", one), lambda: self._tally(one)), params)
            for value, code, reason, count in tally:
                state = MessageState(value)
                states[state] = states.get(state, 0) + int(count)
                if state in FAILURE_STATES:
                    failures[state, code] = int(count)
                elif state is MessageState.BLOCKED:
                    blocked[reason] = int(count)
            due = conn.execute(self._statement(("due", one), lambda: self._due(one)), params)
            return MessageStats(states, failures, blocked, int(due.scalar() or 0))

    def _tally(self, one: bool) -> sa.Select[Any]:
        m = t.messages
        failing = sorted(state.value for state in FAILURE_STATES)
        rows = sa.select(
            m.c.state.label("state"),
            sa.case((m.c.state.in_(failing), m.c.error_code)).label("code"),
            sa.case((m.c.state == MessageState.BLOCKED.value, m.c.reason)).label("reason"),
        )
        if one:
            rows = rows.where(m.c.campaign_id == sa.bindparam("campaign_id"))
        # Grouped outside: PostgreSQL does not see a CASE with bound values in the
        # select list as the same expression as the CASE in GROUP BY.
        inner = rows.subquery()
        keys = (inner.c.state, inner.c.code, inner.c.reason)
        return sa.select(*keys, sa.func.count()).group_by(*keys)

    def _due(self, one: bool) -> sa.Select[Any]:
        m, c = t.messages, t.campaigns
        now = sa.bindparam("now", type_=t.UTCDateTime())
        query = (
            sa.select(sa.func.count())
            .select_from(m.join(c, c.c.id == m.c.campaign_id))
            .where(
                m.c.state == MessageState.QUEUED.value,
                c.c.status == CampaignStatus.RUNNING.value,
                sa.or_(m.c.not_before.is_(None), m.c.not_before <= now),
            )
        )
        return query.where(m.c.campaign_id == sa.bindparam("campaign_id")) if one else query
