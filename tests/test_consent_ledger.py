"""The consent ledger: derived state, the hash chain, verification and the evidence export."""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest

from isobil import InvalidValue
from isobil.consent import GENESIS_HASH, ConsentLedger, canonical_json, event_hash
from isobil.model import ConsentStatus
from isobil.storage import IysSync, IysSyncStatus, MemoryStorage

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Clock:
    """A clock a test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def storage() -> MemoryStorage:
    return MemoryStorage()


@pytest.fixture
def ledger(storage: MemoryStorage) -> ConsentLedger:
    return ConsentLedger(storage, brands=["ACME", "ZETA"], clock=Clock())


def test_record_and_state(ledger: ConsentLedger) -> None:
    """State is derived: None, then ONAY, then RET; per brand and channel."""
    assert ledger.state("0532 123 45 67", brand="ACME") is None
    event = ledger.record(
        "0532 123 45 67",
        "ONAY",
        source="HS_WEB",
        brand="acme",
        evidence={"form": "kayit-42", "ip": "203.0.113.7"},
    )
    assert (event.seq, event.address, event.brand) == (1, "+905321234567", "ACME")
    assert event.consent_date == T0
    assert ledger.state("+905321234567", brand="ACME") is ConsentStatus.ONAY
    assert ledger.state("+905321234567", brand="ZETA") is None
    assert ledger.state("+905321234567", brand="ACME", channel="ARAMA") is None
    ledger.record("05321234567", "RET", source="HS_MESAJ", brand="ACME")
    assert ledger.state("05321234567", brand="ACME") is ConsentStatus.RET
    assert [e.status.value for e in ledger.history("05321234567")] == ["ONAY", "RET"]


def test_ret_wins_over_onay_at_the_same_instant(ledger: ConsentLedger) -> None:
    """A RET and an ONAY with the same consent date: RET decides."""
    ledger.record("05321234567", "RET", source="HS_WEB", brand="ACME", consent_date=T0)
    ledger.record("05321234567", "ONAY", source="HS_WEB", brand="ACME", consent_date=T0)
    assert ledger.state("05321234567", brand="ACME") is ConsentStatus.RET


def test_details_show_iys_registration(ledger: ConsentLedger, storage: MemoryStorage) -> None:
    """The detailed state carries the deciding event and its İYS sync record, if any."""
    event = ledger.record("05321234567", "ONAY", source="HS_WEB", brand="ACME")
    details = ledger.details("05321234567", brand="ACME")
    assert details is not None
    assert (details.event, details.iys, details.since) == (event, None, T0)
    assert event.seq is not None
    storage.set_iys_sync([IysSync(event.seq, IysSyncStatus.REGISTERED, T0)])
    registered = ledger.details("05321234567", brand="ACME")
    assert registered is not None
    assert registered.iys is not None
    assert registered.iys.status is IysSyncStatus.REGISTERED


def test_deciding_is_states_lean(storage: MemoryStorage) -> None:
    """deciding() answers what states() does, field for field: İYS's RET standing against an
    unregistered ONAY, shared brands, and İYS records made on or after ``before`` unknown."""
    ledger = ConsentLedger(storage, shared={"ACME": ["BAYI"]}, clock=Clock(T0 + timedelta(days=9)))
    day = timedelta(days=1)

    def record(number: str, status: str, source: str, at: datetime, brand: str = "ACME") -> int:
        event = ledger.record(number, status, source=source, brand=brand, consent_date=at)
        assert event.seq is not None
        return event.seq

    registered = record("05321234501", "ONAY", "HS_WEB", T0, brand="BAYI")
    record("05321234502", "RET", "IYS_3338", T0 - day)
    pending = record("05321234502", "ONAY", "HS_WEB", T0)  # İYS's RET stands: not registered
    record("05321234503", "RET", "IYS_3338", T0 - 2 * day)
    late = record("05321234503", "ONAY", "HS_WEB", T0 - day)  # registered after T0
    record("05321234504", "ONAY", "IYS_WEB", T0)
    record("05321234505", "ONAY", "HS_MESAJ", T0)  # never pushed
    record("05321234505", "RET", "HS_MESAJ", T0 + day)
    storage.set_iys_sync(
        [
            IysSync(registered, IysSyncStatus.REGISTERED, T0),
            IysSync(pending, IysSyncStatus.PENDING, T0, request_id="r-1"),
            IysSync(late, IysSyncStatus.REGISTERED, T0 + day),  # known from then on
        ]
    )
    numbers = [f"+9053212345{i:02d}" for i in range(7)]
    for before in (None, T0 + timedelta(hours=1), T0 + 2 * day):
        states = ledger.states(numbers, brand="ACME", before=before)
        deciding = ledger.deciding(numbers, brand="ACME", before=before)
        assert deciding.keys() == states.keys()
        for number, state in states.items():
            event, iys = state.event, state.iys
            assert deciding[number] == (
                event.seq,
                state.status,
                event.source,
                event.consent_date,
                event.evidence,
                None if iys is None else iys.status,
                None if iys is None else iys.updated_at,
            )
    now = ledger.deciding(numbers, brand="ACME")
    assert {n: (d.status.value, d.source.value) for n, d in now.items()} == {
        numbers[1]: ("ONAY", "HS_WEB"),
        numbers[2]: ("RET", "IYS_3338"),
        numbers[3]: ("ONAY", "HS_WEB"),
        numbers[4]: ("ONAY", "IYS_WEB"),
        numbers[5]: ("RET", "HS_MESAJ"),
    }
    assert now[numbers[2]].iys_status is None  # the İYS RET's, not the ONAY's pending record
    asked = ledger.deciding(numbers, brand="ACME", before=T0 + timedelta(hours=1))
    assert (asked[numbers[3]].status.value, asked[numbers[3]].iys_status) == ("RET", None)
    assert asked[numbers[1]].iys_status is IysSyncStatus.REGISTERED


def test_bad_records_are_refused(ledger: ConsentLedger) -> None:
    """Unknown brands, future dates, naive dates and bad enums are clear errors."""
    with pytest.raises(InvalidValue, match="unknown brand 'OMEGA': known brands are ACME, ZETA"):
        ledger.record("05321234567", "ONAY", source="HS_WEB", brand="OMEGA")
    with pytest.raises(InvalidValue, match="in the future"):
        ledger.record(
            "05321234567", "ONAY", source="HS_WEB", brand="ACME", consent_date=T0 + timedelta(1)
        )
    with pytest.raises(InvalidValue, match="timezone-aware"):
        ledger.record(
            "05321234567", "ONAY", source="HS_WEB", brand="ACME", consent_date=datetime(2026, 1, 1)
        )
    with pytest.raises(InvalidValue, match="invalid consent status 'RED'"):
        ledger.record("05321234567", "RED", source="HS_WEB", brand="ACME")
    assert ledger.head() is None


def test_chain_links_every_event(ledger: ConsentLedger, storage: MemoryStorage) -> None:
    """Each hash is sha256(previous hash + newline + canonical JSON); the first follows zeros."""
    first = ledger.record("05321234567", "ONAY", source="HS_WEB", brand="ACME")
    second = ledger.record("05331234567", "ONAY", source="HS_WEB", brand="ZETA")
    expected = hashlib.sha256(
        (GENESIS_HASH + "\n" + canonical_json(first)).encode("utf-8")
    ).hexdigest()
    assert first.hash == expected
    assert second.hash == event_hash(first.hash, second)
    assert json.loads(canonical_json(first))["address"] == "+905321234567"
    assert ledger.head() == (2, second.hash)
    report = ledger.verify()
    assert report.ok
    assert (report.checked, report.head_seq) == (2, 2)


def _populated(ledger: ConsentLedger) -> None:
    for i in range(5):
        ledger.record(f"053212345{i:02d}", "ONAY", source="HS_WEB", brand="ACME")


def test_verify_names_an_altered_event(ledger: ConsentLedger, storage: MemoryStorage) -> None:
    """Changing one stored event's status is found, and only that event is named."""
    _populated(ledger)
    events = storage._consent  # direct access, as an attacker with the database would have
    events[2] = attrs.evolve(events[2], status=ConsentStatus.RET)
    report = ledger.verify()
    assert not report.ok
    assert [(p.seq, p.kind) for p in report.problems] == [(3, "altered")]
    assert "event 3: altered" in str(report)


def test_verify_names_a_removed_event(ledger: ConsentLedger, storage: MemoryStorage) -> None:
    """Deleting an event leaves a gap; the untouched next one is not named."""
    _populated(ledger)
    del storage._consent[1]
    report = ledger.verify()
    assert [(p.seq, p.kind) for p in report.problems] == [(2, "missing")]
    assert report.named == (2,)


def test_verify_names_reordered_events(ledger: ConsentLedger, storage: MemoryStorage) -> None:
    """Swapping two events' contents breaks both."""
    _populated(ledger)
    a, b = storage._consent[1], storage._consent[3]
    storage._consent[1] = attrs.evolve(b, seq=a.seq, hash=a.hash)
    storage._consent[3] = attrs.evolve(a, seq=b.seq, hash=b.hash)
    kinds = [(p.seq, p.kind) for p in ledger.verify().problems]
    assert kinds == [(2, "altered"), (4, "altered")]


def test_truncation_is_caught_with_an_anchor(ledger: ConsentLedger, storage: MemoryStorage) -> None:
    """Dropping the newest events is invisible to the chain but not to a kept anchor."""
    _populated(ledger)
    anchor = ledger.anchor()
    assert anchor is not None
    assert ledger.head() == (anchor.seq, anchor.hash) == (5, storage._consent[-1].hash)
    del storage._consent[-2:]
    assert ledger.verify().ok
    report = ledger.verify(anchor=anchor)
    assert [(p.seq, p.kind) for p in report.problems] == [(4, "missing")]
    assert report.named == (4, 5)
    assert "events 4–5: missing — the ledger ends at event 3" in str(report)


def test_export_one_recipient_is_checkable_without_isobil(
    ledger: ConsentLedger, tmp_path: Path
) -> None:
    """The JSONL of one recipient verifies with hashlib and json alone; CSV and summary agree."""
    _populated(ledger)
    ledger.record("05321234502", "RET", source="HS_MESAJ", brand="ACME", evidence={"text": "RET"})
    export = ledger.export(tmp_path / "bundle", number="0532 123 45 02")
    assert export.events == 2
    lines = (tmp_path / "bundle" / "consent-events.jsonl").read_text("utf-8").splitlines()
    for line in lines:
        row = json.loads(line)
        body = {k: v for k, v in row.items() if k not in ("prev_hash", "hash")}
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256((row["prev_hash"] + "\n" + canonical).encode()).hexdigest()
        assert digest == row["hash"]
    assert [json.loads(line)["status"] for line in lines] == ["ONAY", "RET"]
    with (tmp_path / "bundle" / "consent-events.csv").open(encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert [r["seq"] for r in rows] == ["3", "6"]
    assert json.loads(rows[1]["evidence"]) == {"text": "RET"}
    summary = json.loads((tmp_path / "bundle" / "summary.json").read_text("utf-8"))
    assert summary["ledger_verified"] is True
    assert summary["ledger_head"]["seq"] == 6
    assert summary["recipient"] == "+905321234502"


def test_full_export_chains_line_to_line(ledger: ConsentLedger, tmp_path: Path) -> None:
    """In a full export each line's prev_hash is the line before's hash."""
    _populated(ledger)
    ledger.export(tmp_path)
    rows = [json.loads(x) for x in (tmp_path / "consent-events.jsonl").read_text().splitlines()]
    assert rows[0]["prev_hash"] == GENESIS_HASH
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(rows))


class _Meter:
    """Records what an export reports."""

    def __init__(self) -> None:
        self.calls: list[tuple[object, ...]] = []

    def phase(self, label: str, total: int | None, unit: str) -> None:
        self.calls.append(("phase", label, total, unit))

    def update(self, done: int) -> None:
        self.calls.append(("update", done))


@pytest.mark.parametrize("number", [None, "0532 123 45 03"])
def test_an_export_verifies_the_whole_ledger_as_it_reads_it(
    ledger: ConsentLedger, storage: MemoryStorage, tmp_path: Path, number: str | None
) -> None:
    """The bundle's verification is verify()'s, of every event even when one recipient's
    are written (here with event 2 altered); the meter hears every event read."""
    _populated(ledger)
    storage._consent[1] = attrs.evolve(storage._consent[1], status=ConsentStatus.RET)
    meter = _Meter()
    export = ledger.export(tmp_path, number=number, meter=meter)
    assert export.verification == ledger.verify()
    assert [(p.seq, p.kind) for p in export.verification.problems] == [(2, "altered")]
    assert export.verification.checked == 5
    assert export.events == (5 if number is None else 1)
    assert meter.calls == [("phase", "exporting", None, "events"), ("update", 5)]
    summary = json.loads((tmp_path / "summary.json").read_text("utf-8"))
    assert (summary["ledger_events"], summary["ledger_verified"]) == (5, False)


def test_tampering_in_sqlite_is_named(tmp_path: Path) -> None:
    """Someone with the database file drops the guards and edits an event: verify() names it."""
    import sqlite3

    from isobil.storage import SQLStorage

    path = tmp_path / "ledger.db"
    storage = SQLStorage(f"sqlite:///{path}")
    ledger = ConsentLedger(storage, brands=["ACME"], clock=Clock())
    _populated(ledger)
    storage.close()
    with sqlite3.connect(path) as db:
        # The append-only triggers refuse an UPDATE; a determined attacker drops them first.
        with pytest.raises(sqlite3.DatabaseError):
            db.execute("UPDATE isobil_consent_events SET status = 'RET' WHERE seq = 4")
        triggers = db.execute(
            "SELECT name FROM sqlite_master "
            "WHERE type = 'trigger' AND tbl_name = 'isobil_consent_events'"
        ).fetchall()
        for (name,) in triggers:
            db.execute(f"DROP TRIGGER {name}")
        db.execute("UPDATE isobil_consent_events SET status = 'RET' WHERE seq = 4")
    reopened = ConsentLedger(SQLStorage(f"sqlite:///{path}"), brands=["ACME"], clock=Clock())
    report = reopened.verify()
    assert [(p.seq, p.kind) for p in report.problems] == [(4, "altered")]
    reopened.storage.close()
