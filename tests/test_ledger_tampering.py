"""Tampering with the stored consent ledger: the database refuses it, or verify() names it.

Each form an attacker with database access could use — edit, delete, reorder,
replace, truncate, insert with renumbering, a full recompute of the chain — is
done with raw SQL on SQLite and PostgreSQL. Where the database's own guards
refuse it, the test shows the refusal, then plays an attacker who owns the
tables and switches the guards off. ``verify`` with the anchor kept outside the
database must then name exactly the events that changed. A property checks the
same naming on every backend for random ledgers, positions and anchors.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import _pg
from isobil import InvalidValue
from isobil.consent import ConsentLedger, LedgerAnchor, event_hash
from isobil.model import ConsentEvent, ConsentStatus
from isobil.storage import MemoryStorage, SQLStorage
from isobil.storage import _schema as schema

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
KEY = b"kept in the vault, never in the database"
TABLE = "isobil_consent_events"
COLUMNS = (
    "seq, address, status, source, brand, channel, recipient_type, consent_date, "
    "recorded_at, scope, evidence, hash, prev_hash"
)


class Clock:
    """A clock that moves one minute per reading: every event has its own time."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


def _record(ledger: ConsentLedger, count: int, start: int = 0) -> None:
    for i in range(start, start + count):
        status = "RET" if i % 3 == 2 else "ONAY"
        ledger.record(f"0532 000 00 {i:02d}", status, source="HS_WEB", brand="ACME")


def _named(report: Any) -> list[tuple[int, str]]:
    return [(p.seq, p.kind) for p in report.problems]


# -- SQLite and PostgreSQL, with raw SQL -------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'isobil.db'}"
        return
    with _pg.fresh_database() as pg:
        yield pg


@attrs.define
class Scene:
    """Eight events; an anchor was taken after the sixth, and published."""

    url: str
    ledger: ConsentLedger
    anchor: LedgerAnchor

    @contextmanager
    def sql(self) -> Iterator[sa.Connection]:
        """A raw connection of the attacker's own, one transaction."""
        engine = sa.create_engine(self.url, poolclass=sa.pool.NullPool)
        try:
            with engine.begin() as conn:
                yield conn
        finally:
            engine.dispose()

    @property
    def postgresql(self) -> bool:
        return self.url.startswith("postgresql")

    def refused(self, statement: str) -> None:
        """The database's guards refuse ``statement``; nothing changes."""
        before = list(self.ledger.storage.iter_consent_events())
        refused = pytest.raises(sa.exc.DBAPIError, match="isobil_consent_events is append-only")
        with refused, self.sql() as conn:
            conn.exec_driver_sql(statement)
        assert list(self.ledger.storage.iter_consent_events()) == before

    def drop_guards(self) -> None:
        """What only the tables' owner can do: switch the triggers off."""
        with self.sql() as conn:
            if self.postgresql:
                conn.exec_driver_sql(f"ALTER TABLE {TABLE} DISABLE TRIGGER USER")
                return
            triggers = conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?",
                (TABLE,),
            ).all()
            assert len(triggers) == 3  # no UPDATE, no DELETE, no INSERT over a stored seq
            for (name,) in triggers:
                conn.exec_driver_sql(f'DROP TRIGGER "{name}"')

    def execute(self, *statements: str) -> None:
        with self.sql() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)

    def reseal(self, start: int) -> None:
        """Recompute ``hash`` and ``prev_hash`` of every event from ``start`` on."""
        previous: str | None = None
        updates: list[dict[str, Any]] = []
        for event in self.ledger.storage.iter_consent_events():
            if (event.seq or 0) >= start:
                rehashed = event_hash(previous, event)
                updates.append({"seq": event.seq, "prev": previous, "hash": rehashed})
                previous = rehashed
            else:
                previous = event.hash
        with self.sql() as conn:
            conn.execute(
                sa.text(f"UPDATE {TABLE} SET hash = :hash, prev_hash = :prev WHERE seq = :seq"),  # noqa: S608
                updates,
            )

    def verify(self) -> Any:
        return self.ledger.verify(anchor=self.anchor, key=KEY)


@pytest.fixture
def scene(url: str) -> Iterator[Scene]:
    storage = SQLStorage(url)
    try:
        ledger = ConsentLedger(storage, brands=["ACME"], clock=Clock())
        _record(ledger, 6)
        anchor = ledger.anchor(key=KEY)
        assert anchor is not None
        assert (anchor.seq, anchor.count) == (6, 6)
        _record(ledger, 2, start=6)
        assert ledger.verify(anchor=anchor, key=KEY).ok
        yield Scene(url, ledger, anchor)
    finally:
        storage.close()


def test_edit_is_refused_then_named(scene: Scene) -> None:
    """UPDATE is refused; done anyway, only the edited event is named."""
    scene.refused(f"UPDATE {TABLE} SET status = 'ONAY' WHERE seq = 3")  # noqa: S608
    scene.drop_guards()
    scene.execute(f"UPDATE {TABLE} SET status = 'ONAY' WHERE seq = 3")  # noqa: S608
    assert _named(scene.verify()) == [(3, "altered")]


@pytest.mark.parametrize(
    "change",
    [
        "address = '0532 000 00 02'",  # the same number, written another way
        "brand = 'acme'",  # the same brand, in other letters
    ],
)
def test_an_edit_that_reading_would_normalise_away_is_named(scene: Scene, change: str) -> None:
    """The chain is checked against what is stored: an edit that ConsentEvent's
    converters would turn back into the sealed values still breaks it."""
    scene.drop_guards()
    scene.execute(f"UPDATE {TABLE} SET {change} WHERE seq = 3")  # noqa: S608
    assert _named(scene.verify()) == [(3, "altered")]


def test_edit_with_its_own_hash_recomputed_names_that_event(scene: Scene) -> None:
    """The edited event matches its new hash; the untouched next one is not blamed."""
    scene.drop_guards()
    scene.execute(f'UPDATE {TABLE} SET evidence = \'{{"form":"forged"}}\' WHERE seq = 4')  # noqa: S608
    [edited] = [e for e in scene.ledger.storage.iter_consent_events() if e.seq == 4]
    rehashed = event_hash(edited.prev_hash, edited)
    scene.execute(f"UPDATE {TABLE} SET hash = '{rehashed}' WHERE seq = 4")  # noqa: S608
    report = scene.verify()
    assert _named(report) == [(4, "rewritten")]
    assert "event 5 was chained to" in str(report)


def test_delete_is_refused_then_named(scene: Scene) -> None:
    """DELETE is refused; done anyway, only the removed event is named."""
    scene.refused(f"DELETE FROM {TABLE} WHERE seq = 3")  # noqa: S608
    scene.drop_guards()
    scene.execute(f"DELETE FROM {TABLE} WHERE seq = 3")  # noqa: S608
    report = scene.verify()
    assert _named(report) == [(3, "missing")]
    assert report.named == (3,)


def test_reorder_names_the_two_moved_events(scene: Scene) -> None:
    """Two events swap places: both are named, their untouched neighbours are not."""
    scene.drop_guards()
    scene.execute(
        f"UPDATE {TABLE} SET seq = -1 WHERE seq = 3",  # noqa: S608
        f"UPDATE {TABLE} SET seq = 3 WHERE seq = 5",  # noqa: S608
        f"UPDATE {TABLE} SET seq = 5 WHERE seq = -1",  # noqa: S608
    )
    report = scene.verify()
    assert report.named == (3, 5)
    assert "event 5: renumbered — it was sealed as event 3" in str(report)


def test_replace_is_refused_then_named(scene: Scene) -> None:
    """INSERT OR REPLACE (SQLite) and ON CONFLICT DO UPDATE (PostgreSQL) are refused."""
    copy = (
        f"SELECT seq, address, 'ONAY', source, brand, channel, recipient_type, consent_date, "  # noqa: S608
        f"recorded_at, scope, evidence, hash, prev_hash FROM {TABLE} WHERE seq = 3"
    )
    if scene.postgresql:
        replace = (
            f"INSERT INTO {TABLE} ({COLUMNS}) {copy} "
            "ON CONFLICT (seq) DO UPDATE SET status = EXCLUDED.status"
        )
    else:
        scene.refused(f"REPLACE INTO {TABLE} ({COLUMNS}) {copy}")
        replace = f"INSERT OR REPLACE INTO {TABLE} ({COLUMNS}) {copy}"
    scene.refused(replace)
    scene.drop_guards()
    scene.execute(replace)
    assert [e.status for e in scene.ledger.storage.iter_consent_events() if e.seq == 3] == [
        ConsentStatus.ONAY
    ]
    assert _named(scene.verify()) == [(3, "altered")]


def test_truncate_is_refused_then_named(scene: Scene) -> None:
    """TRUNCATE (PostgreSQL) or DELETE of everything is refused; done anyway, the anchor
    names every event it vouched for."""
    scene.refused(f"TRUNCATE {TABLE}" if scene.postgresql else f"DELETE FROM {TABLE}")  # noqa: S608
    scene.drop_guards()
    scene.execute(f"TRUNCATE {TABLE}" if scene.postgresql else f"DELETE FROM {TABLE}")  # noqa: S608
    assert scene.ledger.verify().ok  # the chain alone cannot tell: nothing is left of it
    report = scene.verify()
    assert _named(report) == [(1, "missing")]
    assert report.named == (1, 2, 3, 4, 5, 6)
    assert "events 1–6: missing — the ledger ends at event 0" in str(report)


def test_removed_tail_is_named_up_to_the_anchor(scene: Scene) -> None:
    """The newest events removed: those the anchor covers are named."""
    scene.drop_guards()
    scene.execute(f"DELETE FROM {TABLE} WHERE seq >= 5")  # noqa: S608
    assert scene.ledger.verify().ok
    assert scene.verify().named == (5, 6)


def _renumber_from(scene: Scene, seq: int) -> None:
    scene.execute(
        f"UPDATE {TABLE} SET seq = -(seq + 1) WHERE seq >= {seq}",  # noqa: S608
        f"UPDATE {TABLE} SET seq = -seq WHERE seq < 0",  # noqa: S608
    )


def _forge(scene: Scene, seq: int) -> None:
    """Insert a consent nobody gave as event ``seq``, chained properly to the one before."""
    [before] = [e for e in scene.ledger.storage.iter_consent_events() if e.seq == seq - 1]
    forged = ConsentEvent(
        address="05329999999",
        status="ONAY",
        source="HS_WEB",
        brand="ACME",
        consent_date=T0,
        recorded_at=T0,
        evidence={"form": "never filled in"},
        seq=seq,
    )
    forged = attrs.evolve(forged, hash=event_hash(before.hash, forged), prev_hash=before.hash)
    row = {c.name: getattr(forged, c.name) for c in schema.consent_events.c}
    row.update(status="ONAY", source="HS_WEB", channel="MESAJ", recipient_type="BIREYSEL")
    row["evidence"] = '{"form":"never filled in"}'
    with scene.sql() as conn:
        conn.execute(schema.consent_events.insert(), [row])


def test_insert_with_renumbering_names_the_forged_and_the_moved_events(scene: Scene) -> None:
    """A forged event 3 with the later ones moved up: each one is named, as what it is."""
    scene.drop_guards()
    _renumber_from(scene, 3)
    _forge(scene, 3)
    report = scene.verify()
    assert _named(report) == [(3, "inserted")] + [(seq, "renumbered") for seq in range(4, 10)]
    assert "event 4: renumbered — it was sealed as event 3" in str(report)


def test_insert_with_renumbering_and_a_recomputed_chain_fails_the_anchor(scene: Scene) -> None:
    """Recompute every later hash too: the chain holds, the anchored event does not."""
    scene.drop_guards()
    _renumber_from(scene, 3)
    _forge(scene, 3)
    scene.reseal(4)
    assert scene.ledger.verify().ok  # without the anchor, nothing shows
    report = scene.verify()
    assert _named(report) == [(6, "anchor")]


def test_full_recompute_after_an_anchor_fails_the_anchor(scene: Scene) -> None:
    """The reported hole: an edit with every later hash recomputed, the ledger grown past
    the anchor. The anchored event is named, wherever it stands."""
    scene.drop_guards()
    scene.execute(f"UPDATE {TABLE} SET status = 'ONAY' WHERE seq = 3")  # noqa: S608
    scene.reseal(3)
    assert scene.ledger.verify().ok
    report = scene.verify()
    assert _named(report) == [(6, "anchor")]
    assert not report.ok


def test_a_forged_tail_after_the_last_anchor_needs_a_later_anchor(scene: Scene) -> None:
    """What an anchor cannot prove: a change after it, recomputed to the end. A later
    anchor, kept before the change, catches it."""
    later = scene.ledger.anchor(key=KEY)
    assert later is not None
    assert later.seq == 8
    scene.drop_guards()
    scene.execute(f"UPDATE {TABLE} SET status = 'RET' WHERE seq = 8")  # noqa: S608
    scene.reseal(8)
    assert scene.verify().ok  # the anchor of event 6 vouches for nothing after it
    report = scene.ledger.verify(anchor=[scene.anchor, later], key=KEY)
    assert _named(report) == [(8, "anchor")]


# -- the documented role setup (PostgreSQL) ---------------------------------------

ROLE_SETUP = """
GRANT USAGE ON SCHEMA public TO {role};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role};
REVOKE DELETE, TRUNCATE ON isobil_consent_events, isobil_credit_entries FROM {role};
"""


def test_the_application_role_works_but_cannot_remove_the_guards() -> None:
    """docs/consent.md's role: isobil records and verifies; DELETE, TRUNCATE, dropping or
    disabling a trigger are refused to it."""
    role = f"isobil_app_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(
        _pg.ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool
    )
    try:
        with _pg.fresh_database() as owner_url:
            with admin.connect() as conn:
                conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN")
            SQLStorage(owner_url).close()  # the owner creates the schema
            owner = sa.create_engine(owner_url, poolclass=sa.pool.NullPool)
            try:
                with owner.begin() as conn:
                    conn.exec_driver_sql(ROLE_SETUP.format(role=role))
            finally:
                owner.dispose()
            app_url = sa.make_url(owner_url).set(username=role)
            with SQLStorage(app_url) as storage:
                ledger = ConsentLedger(storage, clock=Clock())
                _record(ledger, 3)
                anchor = ledger.anchor()
                assert ledger.verify(anchor=anchor).ok
            app = sa.create_engine(app_url, poolclass=sa.pool.NullPool)
            try:
                for statement, error in [
                    (f"UPDATE {TABLE} SET status = 'ONAY'", "append-only"),  # noqa: S608
                    (f"DELETE FROM {TABLE}", "permission denied"),  # noqa: S608
                    (f"TRUNCATE {TABLE}", "permission denied"),
                    (f"ALTER TABLE {TABLE} DISABLE TRIGGER USER", "must be owner"),
                    (f"DROP TRIGGER {TABLE}_append_only ON {TABLE}", "must be owner"),
                ]:
                    with pytest.raises(sa.exc.DBAPIError, match=error), app.begin() as conn:
                        conn.exec_driver_sql(statement)
            finally:
                app.dispose()
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")
        admin.dispose()


# -- anchors ---------------------------------------------------------------------


def test_anchor_round_trips_and_is_signed() -> None:
    """An anchor is one line of JSON; its HMAC signature covers every field."""
    clock = Clock()
    ledger = ConsentLedger(MemoryStorage(), clock=clock)
    assert ledger.anchor() is None
    _record(ledger, 3)
    anchor = ledger.anchor(key=KEY)
    assert anchor is not None
    assert (anchor.seq, anchor.count, anchor.taken_at) == (3, 3, clock.now)
    assert ledger.head() == (3, anchor.hash)
    text = anchor.to_json()
    assert LedgerAnchor.from_json(text) == anchor
    assert anchor.signed_by(KEY)
    assert not anchor.signed_by(b"another key")
    assert ledger.verify(anchor=LedgerAnchor.from_json(text), key=KEY).ok
    forged = attrs.evolve(anchor, count=2)
    with pytest.raises(InvalidValue, match=r"anchor of event 3 taken .* not signed with this key"):
        ledger.verify(anchor=forged, key=KEY)
    with pytest.raises(InvalidValue, match=r"anchor of event 3 taken .* is unsigned"):
        ledger.verify(anchor=attrs.evolve(anchor, signature=None), key=KEY)
    with pytest.raises(InvalidValue, match="lacks hash"):
        LedgerAnchor.from_json('{"seq": 3, "count": 3, "taken_at": "2026-03-02T09:04:00+00:00"}')
    with pytest.raises(InvalidValue, match="64 lower-case hex digits"):
        LedgerAnchor(3, "abc", 3, T0)
    with pytest.raises(InvalidValue, match="two ledger anchors of event 3 disagree"):
        ledger.verify(anchor=[anchor, attrs.evolve(anchor, hash="0" * 64)])


# -- the property: every backend, random ledgers, forms, positions, anchors -------


Rows = list[ConsentEvent]


def _reseal_rows(rows: Rows, start: int) -> Rows:
    out: Rows = []
    previous: str | None = None
    for row in rows:
        if (row.seq or 0) >= start:
            row = attrs.evolve(row, prev_hash=previous, hash=event_hash(previous, row))
        out.append(row)
        previous = row.hash
    return out


def _flip(row: ConsentEvent) -> ConsentEvent:
    status = ConsentStatus.RET if row.status is ConsentStatus.ONAY else ConsentStatus.ONAY
    return attrs.evolve(row, status=status)


def _renumbered(rows: Rows, start: int, by: int) -> Rows:
    return [attrs.evolve(r, seq=(r.seq or 0) + by) if (r.seq or 0) >= start else r for r in rows]


def _forged(rows: Rows, seq: int) -> Rows:
    previous = rows[seq - 2].hash if seq > 1 else None
    event = ConsentEvent(
        address="05329999999",
        status="ONAY",
        source="HS_WEB",
        brand="ACME",
        consent_date=T0,
        recorded_at=T0,
        seq=seq,
    )
    event = attrs.evolve(event, hash=event_hash(previous, event), prev_hash=previous)
    return sorted([*_renumbered(rows, seq, 1), event], key=lambda r: r.seq or 0)


def _tamper(form: str, rows: Rows, i: int, j: int) -> Rows:
    rows = list(rows)
    if form == "edit":
        rows[i - 1] = _flip(rows[i - 1])
    elif form == "rewrite":
        edited = _flip(rows[i - 1])
        rows[i - 1] = attrs.evolve(edited, hash=event_hash(edited.prev_hash, edited))
    elif form == "delete":
        del rows[i - 1]
    elif form == "swap":
        a, b = rows[i - 1], rows[j - 1]
        rows[i - 1], rows[j - 1] = attrs.evolve(b, seq=a.seq), attrs.evolve(a, seq=b.seq)
    elif form == "insert":
        rows = _forged(rows, i)
    elif form == "insert+recompute":
        rows = _reseal_rows(_forged(rows, i), i + 1)
    elif form == "edit+recompute":
        rows[i - 1] = _flip(rows[i - 1])
        rows = _reseal_rows(rows, i)
    elif form == "delete+recompute":
        del rows[i - 1]
        rows = _reseal_rows(_renumbered(rows, i + 1, -1), i)
    elif form == "truncate":
        rows = rows[: i - 1]
    return rows


def _expected(form: str, n: int, k: int, i: int, j: int) -> set[int]:
    """The events verify must name (empty: the change cannot be seen with this anchor)."""
    if form in ("edit", "swap"):
        return {i, j} if form == "swap" else {i}
    if form in ("rewrite", "delete"):
        return {i} if i < n or k == n else set()
    if form == "insert":
        return set(range(i, n + 2))
    if form in ("insert+recompute", "edit+recompute", "delete+recompute"):
        return {k} if k >= i else set()
    assert form == "truncate"
    return set(range(i, k + 1))


FORMS = (
    "edit",
    "rewrite",
    "delete",
    "swap",
    "insert",
    "insert+recompute",
    "edit+recompute",
    "delete+recompute",
    "truncate",
)


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, int, int, int, int]:
    n = draw(st.integers(2, 14))
    k = draw(st.integers(1, n))
    form = draw(st.sampled_from(FORMS))
    i = draw(st.integers(1, n - 1 if form == "swap" else n))
    j = draw(st.integers(i + 1, n)) if form == "swap" else i
    return form, n, k, i, j


def _genuine(n: int) -> tuple[Rows, list[LedgerAnchor]]:
    ledger = ConsentLedger(MemoryStorage(), clock=Clock())
    anchors = []
    for i in range(n):
        _record(ledger, 1, start=i)
        anchor = ledger.anchor()
        assert anchor is not None
        anchors.append(anchor)
    return list(ledger.storage.iter_consent_events()), anchors


def _sql_writer(url: str) -> Callable[[Rows], None]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        if url.startswith("postgresql"):
            conn.exec_driver_sql(f"ALTER TABLE {TABLE} DISABLE TRIGGER USER")
        else:
            for (name,) in conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'"
            ).all():
                conn.exec_driver_sql(f'DROP TRIGGER "{name}"')

    def write(rows: Rows) -> None:
        table = schema.consent_events
        with engine.begin() as conn:
            conn.execute(table.delete())
            if rows:
                conn.execute(
                    table.insert(),
                    [
                        {
                            "seq": r.seq,
                            "address": r.address,
                            "status": r.status.value,
                            "source": r.source.value,
                            "brand": r.brand,
                            "channel": r.channel.value,
                            "recipient_type": r.recipient_type.value,
                            "consent_date": r.consent_date,
                            "recorded_at": r.recorded_at,
                            "scope": r.scope,
                            "evidence": "{}",
                            "hash": r.hash,
                            "prev_hash": r.prev_hash,
                        }
                        for r in rows
                    ],
                )

    return write


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def backend(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[ConsentLedger, Callable[[Rows], None]]]:
    if request.param == "memory":
        memory = MemoryStorage()

        def replace(rows: Rows) -> None:
            memory._consent[:] = rows

        yield ConsentLedger(memory), replace
        return
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'isobil.db'}"
        with SQLStorage(url) as storage:
            yield ConsentLedger(storage), _sql_writer(url)
        return
    with _pg.fresh_database() as url, SQLStorage(url) as storage:
        yield ConsentLedger(storage), _sql_writer(url)


@settings(
    deadline=None,
    max_examples=150,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(case=cases())
def test_verify_names_exactly_the_changed_events(
    backend: tuple[ConsentLedger, Callable[[Rows], None]], case: tuple[str, int, int, int, int]
) -> None:
    """Whatever the form, position and anchor: the changed events are named, no other."""
    ledger, write = backend
    form, n, k, i, j = case
    rows, anchors = _genuine(n)
    write(rows)
    assert ledger.verify(anchor=anchors).ok
    write(_tamper(form, rows, i, j))
    report = ledger.verify(anchor=anchors[k - 1])
    expected = _expected(form, n, k, i, j)
    assert set(report.named) == expected, str(report)
    assert report.ok is (not expected)
