"""The storage contract suite: one set of tests every storage backend must pass.

Mix :class:`StorageContract` into a test class and provide a ``storage``
fixture that yields a fresh, empty backend (the fsspec pattern). isobil runs it
against memory, SQLite and PostgreSQL; a third-party backend can run it too.
"""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import attrs
import pytest

from isobil.errors import InvalidValue
from isobil.model import Channel, ConsentEvent, ConsentSource, Recipient, RecipientType
from isobil.storage import (
    BlacklistEntry,
    Campaign,
    CampaignStatus,
    ContactRow,
    CreditEntry,
    CreditKind,
    DeliveryReportRecord,
    InboundRecord,
    IysSync,
    IysSyncStatus,
    MessageState,
    MessageStats,
    OtpRecord,
    OutboundMessage,
    Schedule,
    ScheduleStatus,
    Settlement,
    Storage,
    Template,
)

__all__ = ["StorageContract"]

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ISTANBUL = timezone(timedelta(hours=3))
LEASE = timedelta(minutes=5)


def number(i: int) -> str:
    """A distinct valid Turkish mobile number for index ``i``."""
    return f"+90532{i:07d}"


def consent(
    i: int,
    status: str = "ONAY",
    *,
    at: datetime = T0,
    brand: str = "ACME",
    channel: str = "MESAJ",
    source: str = "HS_WEB",
) -> ConsentEvent:
    return ConsentEvent(
        address=number(i),
        status=status,
        source=source,
        brand=brand,
        consent_date=at,
        recorded_at=at,
        channel=channel,
        evidence={"form": f"f-{i}", "ip": "203.0.113.7"},
    )


def campaign(campaign_id: str = "c1", status: CampaignStatus = CampaignStatus.RUNNING) -> Campaign:
    return Campaign(
        id=campaign_id,
        text="Merhaba",
        category="commercial",
        created_at=T0,
        status=status,
        brand="ACME",
    )


def messages(
    count: int, campaign_id: str = "c1", *, not_before: datetime | None = None
) -> list[OutboundMessage]:
    return [
        OutboundMessage(
            id=f"{campaign_id}-m{i:05d}",
            campaign_id=campaign_id,
            to=number(i),
            text="Merhaba",
            parts=1,
            not_before=not_before,
        )
        for i in range(count)
    ]


def otp_record(otp_id: str, i: int, *, at: datetime) -> OtpRecord:
    """A one-time code record for ``number(i)`` created at ``at``, valid 3 minutes."""
    return OtpRecord(
        id=otp_id,
        number=number(i),
        hash=hashlib.sha256(otp_id.encode()).hexdigest(),
        salt="00" * 16,
        created_at=at,
        expires_at=at + timedelta(minutes=3),
        brand="ACME",
    )


def _campaign_text(storage: Storage, campaign_id: str) -> str:
    found = storage.get_campaign(campaign_id)
    assert found is not None
    return found.text


class _NoOffset(tzinfo):
    """A tzinfo that gives no UTC offset: Python calls a datetime with it naive."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str | None:
        return None


def _stored(storage: Storage, message_id: str) -> OutboundMessage:
    message = storage.get_message(message_id)
    assert message is not None, f"message {message_id!r} is not stored"
    return message


def _seal(previous: str | None, event: ConsentEvent) -> str:
    body = f"{previous}|{event.seq}|{event.address}|{event.status.value}"
    return hashlib.sha256(body.encode()).hexdigest()


class StorageContract:
    """The behaviour every :class:`~isobil.storage.Storage` backend promises."""

    # -- contacts -----------------------------------------------------------

    def test_upsert_counts_and_updates(self, storage: Storage) -> None:
        """New numbers are inserted, known ones updated; a repeat in one call counts once."""
        first = storage.upsert_contacts(
            [Recipient(number(1), name="Ayşe"), Recipient(number(2), name="Ali")]
        )
        assert (first.inserted, first.updated) == (2, 0)
        second = storage.upsert_contacts(
            [
                Recipient(number(2), name="Ali", surname="Veli", fields={"sehir": "İzmir"}),
                Recipient(number(3)),
                Recipient(number(3), name="Son"),
            ]
        )
        assert (second.inserted, second.updated) == (1, 1)
        stored = storage.get_contacts([number(2), number(3), number(9)])
        assert stored[number(2)].surname == "Veli"
        assert dict(stored[number(2)].fields) == {"sehir": "İzmir"}
        assert stored[number(3)].name == "Son"
        assert number(9) not in stored
        assert storage.count_contacts() == 3

    def test_contacts_keep_every_field(self, storage: Storage) -> None:
        """A contact comes back exactly as it went in."""
        contact = Recipient(
            number(1),
            name="Şule",
            surname="Işık",
            email="sule@example.com",
            fields={"ad": "Şule", "puan": "12"},
            recipient_type="TACIR",
        )
        storage.upsert_contacts([contact])
        assert storage.get_contacts([number(1)]) == {number(1): contact}

    def test_upsert_contact_rows_is_upsert_contacts(self, storage: Storage) -> None:
        """Rows of checked values (the import's lean path) store what Recipients would.

        1,500 rows: PostgreSQL takes its COPY path from 1,000 contacts on.
        """
        rows: list[ContactRow] = [
            (
                number(i),
                "Şule" if i % 2 else None,
                "Işık" if i % 3 else None,
                f"k{i}@example.com" if i % 5 == 0 else None,
                {"sehir": "İzmir", "puan": str(i)} if i % 7 else {},
                RecipientType.TACIR if i % 11 == 0 else RecipientType.BIREYSEL,
            )
            for i in range(1500)
        ]
        storage.upsert_contacts([Recipient(number(0), name="Eski")])
        later: ContactRow = (number(1), "Son", None, None, {}, RecipientType.BIREYSEL)
        result = storage.upsert_contact_rows([*rows, later], group="Mart")
        assert (result.inserted, result.updated) == (1499, 1)
        expected = {
            row[0]: Recipient(row[0], row[1], row[2], row[3], row[4], row[5]) for row in rows
        }
        expected[number(1)] = Recipient(number(1), "Son")
        assert storage.get_contacts(expected) == expected
        assert storage.count_contacts(group="Mart") == 1500

    def test_groups(self, storage: Storage) -> None:
        """Group membership is many-to-many, counted, and follows deletes."""
        storage.upsert_contacts([Recipient(number(i)) for i in range(4)], group="VIP")
        assert storage.add_to_group("Ankara", [number(0), number(1), number(77)]) == 2
        assert storage.add_to_group("Ankara", [number(0)]) == 0
        assert storage.groups() == {"Ankara": 2, "VIP": 4}
        assert storage.groups_of(number(0)) == {"Ankara", "VIP"}
        assert [c.number for c in storage.iter_contacts(group="Ankara")] == [number(0), number(1)]
        assert storage.count_contacts(group="VIP") == 4
        assert storage.remove_from_group("VIP", [number(3), number(50)]) == 1
        assert storage.delete_contacts([number(0), number(99)]) == 1
        assert storage.groups() == {"Ankara": 1, "VIP": 2}
        assert storage.groups_of(number(0)) == set()

    def test_iter_and_find_contacts(self, storage: Storage) -> None:
        """Contacts iterate in number order; find matches name, surname or number."""
        storage.upsert_contacts(
            [
                Recipient(number(3), name="Zeynep", surname="Kaya"),
                Recipient(number(1), name="Ahmet", surname="Yılmaz"),
                Recipient(number(2), name="Ayşe", surname="Kaya"),
            ]
        )
        assert [c.number for c in storage.iter_contacts()] == [number(1), number(2), number(3)]
        assert [c.name for c in storage.find_contacts("kaya")] == ["Ayşe", "Zeynep"]
        assert [c.name for c in storage.find_contacts("0000001")] == ["Ahmet"]
        assert storage.find_contacts("kaya", limit=1)[0].name == "Ayşe"

    # -- blacklist ----------------------------------------------------------

    def test_blacklist(self, storage: Storage) -> None:
        """Entries are added, replaced, looked up as a set and removed."""
        at = T0.astimezone(ISTANBUL)
        assert (
            storage.add_to_blacklist(
                [
                    BlacklistEntry(number(2), "complaint", at, source="call centre"),
                    BlacklistEntry(number(1), "RET", at),
                ]
            )
            == 2
        )
        assert storage.add_to_blacklist([BlacklistEntry(number(1), "court order", at)]) == 0
        assert storage.blacklisted([number(1), number(2), number(3)]) == {number(1), number(2)}
        entries = list(storage.iter_blacklist())
        assert [(e.number, e.reason) for e in entries] == [
            (number(1), "court order"),
            (number(2), "complaint"),
        ]
        assert entries[1].source == "call centre"
        assert entries[0].added_at == T0
        assert storage.remove_from_blacklist([number(1), number(5)]) == 1
        assert storage.blacklisted([number(1)]) == set()

    def test_blacklist_in_bulk(self, storage: Storage) -> None:
        """A bulk add over several of a backend's batches counts exactly the numbers it
        added, and replaces the known ones whole."""
        known = [BlacklistEntry(number(i), "RET", T0) for i in range(0, 25_001, 4)]
        assert storage.add_to_blacklist(known) == len(known)
        later = (T0 + timedelta(days=1)).astimezone(ISTANBUL)
        entries = [
            BlacklistEntry(number(i), "complaint", later, source="import") for i in range(25_001)
        ]
        assert storage.add_to_blacklist(entries) == 25_001 - len(known)
        stored = {e.number: e for e in storage.iter_blacklist()}
        assert len(stored) == 25_001
        for i in (0, 1, 10_000, 25_000):
            assert stored[number(i)] == BlacklistEntry(
                number(i), "complaint", T0 + timedelta(days=1), source="import"
            )

    def test_iys_sync_in_bulk(self, storage: Storage) -> None:
        """Sync records set over several of a backend's batches are all kept; a later
        set replaces a record whole."""
        storage.set_iys_sync(
            IysSync(seq, IysSyncStatus.PENDING, T0, request_id=f"r-{seq}")
            for seq in range(1, 20_002)
        )
        later = (T0 + timedelta(hours=1)).astimezone(ISTANBUL)
        storage.set_iys_sync([IysSync(20_001, IysSyncStatus.REJECTED, later, error="H174")])
        synced = storage.iys_sync([1, 10_001, 20_001, 20_002])
        assert sorted(synced) == [1, 10_001, 20_001]
        assert synced[10_001] == IysSync(10_001, IysSyncStatus.PENDING, T0, request_id="r-10001")
        assert synced[20_001] == IysSync(
            20_001, IysSyncStatus.REJECTED, T0 + timedelta(hours=1), error="H174"
        )

    def test_times_in_the_repeated_hour(self, storage: Storage) -> None:
        """Two times of one zone equal but for ``fold`` (the hour repeated when clocks go
        back) are stored as the two instants they are, in one bulk write."""
        berlin = ZoneInfo("Europe/Berlin")
        first = datetime(2024, 10, 27, 2, 30, tzinfo=berlin)  # 00:30 UTC, summer time
        second = first.replace(fold=1)  # 01:30 UTC, winter time
        # In UTC: a time in the repeated hour never compares equal to another zone's.
        instants = [
            datetime(2024, 10, 27, 0, 30, tzinfo=UTC),
            datetime(2024, 10, 27, 1, 30, tzinfo=UTC),
        ]

        def utc(*times: datetime | None) -> list[datetime]:
            return [t.astimezone(UTC) for t in times if t is not None]

        storage.add_to_blacklist(
            [BlacklistEntry(number(1), "RET", first), BlacklistEntry(number(2), "RET", second)]
        )
        assert utc(*(e.added_at for e in storage.iter_blacklist())) == instants
        storage.set_iys_sync(
            [IysSync(1, IysSyncStatus.PENDING, first), IysSync(2, IysSyncStatus.PENDING, second)]
        )
        synced = storage.iys_sync([1, 2])
        assert utc(synced[1].updated_at, synced[2].updated_at) == instants
        storage.create_campaign(campaign())
        early, late = messages(2)
        storage.add_messages(
            [attrs.evolve(early, not_before=first), attrs.evolve(late, not_before=second)]
        )
        stored = _stored(storage, early.id), _stored(storage, late.id)
        assert utc(*(m.not_before for m in stored)) == instants
        claimed = storage.claim_submitting(
            worker="w", limit=2, lease=LEASE, now=instants[1] + LEASE
        )
        assert utc(*(m.not_before for m in sorted(claimed, key=lambda m: m.id))) == instants
        storage.append_consent_events([consent(1, at=first), consent(2, at=second)])
        read = storage.consent_states([number(1), number(2)], brand="ACME")
        assert utc(read[number(1)].consent_date, read[number(2)].consent_date) == instants
        lean = storage.consent_states_with_iys([number(1), number(2)], brand="ACME")
        assert utc(lean[number(1)].consent_date, lean[number(2)].consent_date) == instants
        assert utc(lean[number(1)].iys_updated_at, lean[number(2)].iys_updated_at) == instants

    def test_leases_and_due_times_are_time_elapsed(self, storage: Storage) -> None:
        """A claim's lease runs for ``lease`` of elapsed time, and a message is due at the
        instant it names, whatever zone the times are given in (in the hour repeated when
        clocks go back, wall-clock time would end a lease before it began)."""
        berlin = ZoneInfo("Europe/Berlin")
        storage.create_campaign(campaign())
        waiting, ready = messages(2)
        later = datetime(2024, 10, 27, 2, 30, tzinfo=berlin, fold=1)  # 01:30 UTC
        storage.add_messages([attrs.evolve(waiting, not_before=later), ready])
        now = datetime(2024, 10, 27, 2, 40, tzinfo=berlin)  # 00:40 UTC
        assert storage.message_stats(now=now).due == 1
        (claimed,) = storage.claim_submitting(
            worker="a", limit=2, lease=timedelta(minutes=30), now=now
        )
        assert claimed.id == ready.id  # the other one is due in 50 minutes
        assert claimed.lease_until is not None
        assert claimed.lease_until.astimezone(UTC) == datetime(2024, 10, 27, 1, 10, tzinfo=UTC)
        for naive in (
            datetime(2024, 10, 27, 2, 5),
            datetime(2024, 10, 27, 2, 5, tzinfo=_NoOffset()),
        ):
            with pytest.raises(ValueError, match="naive"):  # refused, never read as local time
                storage.claim_submitting(worker="c", limit=2, lease=LEASE, now=naive)
        second = datetime(2024, 10, 27, 2, 5, tzinfo=berlin, fold=1)  # 01:05 UTC
        assert storage.claim_submitting(worker="b", limit=2, lease=LEASE, now=second) == []
        assert storage.expire_claims(now=second) == []  # the lease holds until 01:10 UTC
        # At 01:30 UTC the lease has run out and the waiting message is due.
        assert storage.expire_claims(now=later) == [ready.id]
        (last,) = storage.claim_submitting(worker="b", limit=2, lease=LEASE, now=later)
        assert last.id == waiting.id

    def test_times_of_every_record_come_back_in_utc(self, storage: Storage) -> None:
        """Times written in another zone (a named zone, a fixed offset) come back in
        UTC, as the instants given, from the reads of each record that keeps one."""
        zoned = datetime(2026, 3, 1, 12, 0, tzinfo=ZoneInfo("Europe/Istanbul"))  # 09:00 UTC
        fixed = datetime(2026, 3, 1, 12, 30, tzinfo=ISTANBUL)  # 09:30 UTC
        storage.add_to_blacklist([BlacklistEntry(number(1), "RET", zoned)])
        (event,) = storage.append_consent_events([consent(1, at=zoned)])
        seq = event.seq or 0
        storage.set_iys_sync([IysSync(seq, IysSyncStatus.PENDING, fixed)])
        storage.add_otp(otp_record("o1", 1, at=fixed), limits=())
        arrived = InboundRecord("in-1", number(1), "4605", "RET", zoned, "opt_out")
        storage.record_inbound(arrived)
        storage.finish_inbound(attrs.evolve(arrived, handled_at=fixed))
        storage.save_template(Template("t", "Merhaba", zoned))
        storage.create_campaign(attrs.evolve(campaign(), created_at=zoned, send_at=fixed))
        (message,) = messages(1)
        storage.add_messages([attrs.evolve(message, not_before=zoned, updated_at=fixed)])
        stored = _stored(storage, message.id)
        (claimed,) = storage.claim_submitting(worker="w", limit=1, lease=LEASE, now=fixed)
        storage.settle(
            [Settlement(message.id, MessageState.SUBMITTED, part_ids=("p-0", "p-1"))], now=zoned
        )
        storage.append_credit(CreditEntry(CreditKind.TOP_UP, 10, fixed))
        storage.add_schedule(Schedule("s1", "FREQ=DAILY", "Europe/Istanbul", zoned, {}, fixed))
        lean = storage.consent_states_with_iys([number(1)], brand="ACME")[number(1)]
        inbound, template = next(storage.iter_inbound()), storage.list_templates()[0]
        made, otp = storage.get_campaign("c1"), storage.latest_otp(number(1))
        assert made is not None
        assert otp is not None
        (schedule,) = storage.due_schedules(zoned)
        z, f = zoned.astimezone(UTC), fixed.astimezone(UTC)
        read = [
            (next(storage.iter_blacklist()).added_at, z),
            (next(storage.iter_consent_events()).recorded_at, z),
            (storage.consent_states([number(1)], brand="ACME")[number(1)].consent_date, z),
            (lean.consent_date, z),
            (lean.iys_updated_at, f),
            (storage.iys_sync([seq])[seq].updated_at, f),
            (otp.expires_at, f + timedelta(minutes=3)),
            (inbound.received_at, z),
            (inbound.handled_at, f),
            (template.updated_at, z),
            (made.created_at, z),
            (made.send_at, f),
            (storage.list_campaigns()[0].send_at, f),
            (stored.not_before, z),
            (stored.updated_at, f),
            (claimed.not_before, z),
            (claimed.lease_until, f + LEASE),
            (next(storage.iter_messages("c1")).not_before, z),
            (storage.message_parts(message.id)[1].updated_at, z),
            (next(storage.iter_credits()).at, f),
            (schedule.next_at, z),
            (schedule.created_at, f),
        ]
        assert [(t, t and t.tzinfo) for t, _ in read] == [(i, UTC) for _, i in read]

    def test_blacklist_as_of_a_moment(self, storage: Storage) -> None:
        """A dated lookup counts only entries added before the moment."""
        later = T0 + timedelta(days=2)
        storage.add_to_blacklist(
            [BlacklistEntry(number(1), "RET", T0), BlacklistEntry(number(2), "RET", later)]
        )
        wanted = [number(1), number(2)]
        assert storage.blacklisted(wanted, before=T0 + timedelta(days=1)) == {number(1)}
        assert storage.blacklisted(wanted, before=T0) == set()
        assert storage.blacklisted(wanted, before=later + timedelta(seconds=1)) == set(wanted)

    # -- consent ------------------------------------------------------------

    def test_consent_events_get_consecutive_seq_and_chain(self, storage: Storage) -> None:
        """Appends number events 1, 2, 3 … and chain hashes across calls."""
        first = storage.append_consent_events([consent(1), consent(2)], seal=_seal)
        second = storage.append_consent_events([consent(1, "RET")], seal=_seal)
        assert [e.seq for e in first + second] == [1, 2, 3]
        assert second[0].hash == _seal(first[1].hash, second[0])
        stored = list(storage.iter_consent_events())
        assert stored == first + second
        # Each event keeps the hash it was chained to.
        assert [e.prev_hash for e in stored] == [None, first[0].hash, first[1].hash]
        assert [e.seq for e in storage.iter_consent_events(address=number(1))] == [1, 3]
        assert [e.seq for e in storage.iter_consent_events(after_seq=2)] == [3]

    def test_consent_events_round_trip(self, storage: Storage) -> None:
        """Every field comes back; times come back in UTC."""
        event = ConsentEvent(
            address=number(1),
            status="ONAY",
            source="HS_MESAJ",
            brand="ACME",
            consent_date=datetime(2026, 3, 1, 12, 0, tzinfo=ISTANBUL),
            recorded_at=datetime(2026, 3, 1, 12, 0, 5, tzinfo=ISTANBUL),
            channel="MESAJ",
            recipient_type="TACIR",
            scope="ACME+dealers",
            evidence={"mo_id": "abc", "text": "ACME"},
        )
        [stored] = storage.append_consent_events([event])
        [read] = list(storage.iter_consent_events())
        assert read == stored
        assert read.consent_date == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
        assert read.consent_date.utcoffset() == timedelta(0)
        assert read.scope == "ACME+dealers"
        assert dict(read.evidence) == {"mo_id": "abc", "text": "ACME"}

    def test_consent_states_pick_the_deciding_event(self, storage: Storage) -> None:
        """Latest consent date wins, whatever the append order; RET wins a tie."""
        later = T0 + timedelta(days=1)
        storage.append_consent_events(
            [
                consent(1, "RET", at=T0),
                consent(1, "ONAY", at=later),  # re-opt-in later: ONAY
                consent(2, "ONAY", at=later),
                consent(2, "RET", at=T0),  # an older RET recorded late does not win
                consent(3, "ONAY", at=T0),
                consent(3, "RET", at=T0),  # same instant: RET wins
                consent(4, "RET", at=T0, brand="ZETA"),
                consent(5, "ONAY", at=T0, channel="ARAMA"),
            ]
        )
        states = storage.consent_states([number(i) for i in range(1, 7)], brand="ACME")
        assert {a: e.status.value for a, e in states.items()} == {
            number(1): "ONAY",
            number(2): "ONAY",
            number(3): "RET",
        }
        assert storage.consent_states([number(4)], brand="ZETA")[number(4)].status.value == "RET"
        arama = storage.consent_states([number(5)], brand="ACME", channel=Channel.ARAMA)
        assert arama[number(5)].status.value == "ONAY"

    def test_consent_states_as_of_by_source_and_across_brands(self, storage: Storage) -> None:
        """``before`` hides later events, ``sources`` others' events; brands decide together."""
        later = T0 + timedelta(days=3)
        storage.append_consent_events(
            [
                consent(1, "ONAY", at=T0),
                consent(1, "RET", at=later, source="IYS_3338"),
                consent(2, "ONAY", at=later),  # given after the day asked about
                consent(3, "ONAY", at=T0, brand="BAYI"),  # collected by a dealer
                consent(3, "RET", at=later),  # refused to the brand: revokes for both
                consent(4, "ONAY", at=T0, brand="BAYI"),
            ]
        )
        everyone = [number(i) for i in range(1, 5)]
        asked = storage.consent_states(everyone, brand="ACME", before=T0 + timedelta(days=1))
        assert {a: e.status.value for a, e in asked.items()} == {number(1): "ONAY"}
        by_iys = storage.consent_states(
            everyone, brand="ACME", sources={ConsentSource.IYS_3338, ConsentSource.IYS_WEB}
        )
        assert {a: e.source.value for a, e in by_iys.items()} == {number(1): "IYS_3338"}
        shared = storage.consent_states(everyone, brand=("ACME", "BAYI"))
        assert {a: e.status.value for a, e in shared.items()} == {
            number(1): "RET",
            number(2): "ONAY",
            number(3): "RET",
            number(4): "ONAY",
        }
        assert storage.consent_states([number(3)], brand="BAYI")[number(3)].status.value == "ONAY"

    def test_consent_ledger_is_append_only(self, storage: Storage) -> None:
        """The contract offers no way to change or remove consent or credit history."""
        for name in dir(Storage):
            if "consent" in name or "credit" in name:
                assert name.startswith(("append_", "iter_", "consent_states", "credit_balance")), (
                    name
                )

    def test_iys_sync_tracks_what_is_left_to_push(self, storage: Storage) -> None:
        """Events without a sync record are pending push; records replace each other."""
        storage.append_consent_events([consent(1), consent(2), consent(3)])
        assert [e.seq for e in storage.iter_unsynced_consent_events()] == [1, 2, 3]
        storage.set_iys_sync(
            [
                IysSync(1, IysSyncStatus.PENDING, T0, request_id="r-1"),
                IysSync(2, IysSyncStatus.PENDING, T0, request_id="r-1"),
            ]
        )
        assert [e.seq for e in storage.iter_unsynced_consent_events(limit=5)] == [3]
        storage.append_consent_events([consent(4, brand="ZETA")])
        assert [e.seq for e in storage.iter_unsynced_consent_events(brand="ZETA")] == [4]
        assert [e.seq for e in storage.iter_unsynced_consent_events(brand="ACME")] == [3]
        storage.set_iys_sync([IysSync(2, IysSyncStatus.REJECTED, T0, "r-1", error="H174")])
        synced = storage.iys_sync([1, 2, 3])
        assert sorted(synced) == [1, 2]
        assert (synced[2].status, synced[2].request_id, synced[2].error) == (
            IysSyncStatus.REJECTED,
            "r-1",
            "H174",
        )
        assert synced[1].updated_at == T0
        storage.set_iys_sync([IysSync(3, IysSyncStatus.PENDING, T0, request_id="r-0")])
        assert [(r.request_id, r.seq) for r in storage.iter_iys_pending()] == [
            ("r-0", 3),
            ("r-1", 1),
        ]

    def test_consent_states_with_iys_are_consent_states_and_their_sync(
        self, storage: Storage
    ) -> None:
        """The same deciding events as consent_states, each with its İYS record's status."""
        later = T0 + timedelta(days=3)
        storage.append_consent_events(
            [
                consent(1, "ONAY", at=T0),
                consent(1, "RET", at=later),
                consent(2, "ONAY", at=T0),
                consent(3, "ONAY", at=T0, brand="BAYI"),
                consent(4, "ONAY", at=later, channel="ARAMA"),
            ]
        )
        storage.set_iys_sync(
            [
                IysSync(1, IysSyncStatus.REGISTERED, T0),  # the ONAY number 1 revoked
                IysSync(3, IysSyncStatus.REGISTERED, later),
                IysSync(4, IysSyncStatus.REJECTED, T0, "r-1", error="H174"),
            ]
        )
        everyone = [number(i) for i in range(1, 6)]
        for brand in ("ACME", ("ACME", "BAYI")):
            for before in (None, T0 + timedelta(days=1)):
                lean = storage.consent_states_with_iys(everyone, brand=brand, before=before)
                # What the contract's default answers: each deciding event of
                # consent_states with its iys_sync record, field by field.
                assert Storage.consent_states_with_iys(
                    storage, everyone, brand=brand, before=before
                ) == dict(lean)
        found = storage.consent_states_with_iys(everyone, brand="ACME")
        assert found[number(1)].status.value == "RET"
        assert found[number(1)].iys_status is None  # the RET is not synced yet
        assert (found[number(2)].iys_status, found[number(2)].iys_updated_at) == (
            IysSyncStatus.REGISTERED,
            later,
        )
        assert dict(found[number(2)].evidence) == {"form": "f-2", "ip": "203.0.113.7"}
        shared = storage.consent_states_with_iys([number(3)], brand=("ACME", "BAYI"))
        assert shared[number(3)].iys_status is IysSyncStatus.REJECTED
        arama = storage.consent_states_with_iys(everyone, brand="ACME", channel=Channel.ARAMA)
        assert list(arama) == [number(4)]

    def test_named_state(self, storage: Storage) -> None:
        """Small values are kept by key, replaced, and removed with None."""
        assert storage.get_state("iys.cursor") is None
        storage.set_state("iys.cursor", "c-1")
        storage.set_state("iys.cursor", "c-2")
        storage.set_state("alert.low_credit", "armed")
        assert (storage.get_state("iys.cursor"), storage.get_state("alert.low_credit")) == (
            "c-2",
            "armed",
        )
        storage.set_state("iys.cursor", None)
        assert storage.get_state("iys.cursor") is None

    def test_seen_keys_are_claimed_once_until_they_expire(self, storage: Storage) -> None:
        """A key is new once; forgotten, it is new again; expired, it is new again."""
        now = datetime.now(UTC)
        assert storage.mark_seen("push-1", now + timedelta(minutes=5)) is True
        assert storage.mark_seen("push-1", now + timedelta(minutes=5)) is False
        assert storage.mark_seen("push-2", now + timedelta(minutes=5)) is True
        storage.unmark_seen("push-1")
        assert storage.mark_seen("push-1", now + timedelta(minutes=5)) is True
        assert storage.mark_seen("gone", now - timedelta(seconds=1)) is True
        assert storage.mark_seen("gone", now + timedelta(minutes=5)) is True
        assert storage.mark_seen("gone", now + timedelta(minutes=5)) is False

    def test_a_seen_key_is_claimed_by_one_of_many_racers(self, storage: Storage) -> None:
        """Eight threads marking one key at once: exactly one of them gets it."""
        expires = datetime.now(UTC) + timedelta(minutes=5)
        start = threading.Barrier(8)
        answers: list[bool] = []

        def race() -> None:
            start.wait()
            answers.append(storage.mark_seen("same-push", expires))

        threads = [threading.Thread(target=race) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(answers) == [False] * 7 + [True]

    # -- one-time codes -------------------------------------------------------

    def test_otp_codes_kept_used_once_and_locked(self, storage: Storage) -> None:
        """The newest code of a number comes back; it is used once, not when expired or
        locked by wrong attempts; purge deletes only what expired before the moment."""
        first = otp_record("o1", 1, at=T0)
        second = otp_record("o2", 1, at=T0 + timedelta(seconds=30))
        for record in (first, second, otp_record("o3", 2, at=T0)):
            assert storage.add_otp(record, limits=()) is None
        assert storage.latest_otp(number(1)) == second
        assert storage.latest_otp(number(3)) is None
        later = T0 + timedelta(minutes=1)
        assert storage.use_otp("o2", now=later, max_attempts=5) is True
        assert storage.use_otp("o2", now=later, max_attempts=5) is False
        used = storage.latest_otp(number(1))
        assert used is not None
        assert used.used_at == later
        assert storage.fail_otp("o2") == 0  # a used code counts no more attempts
        assert storage.use_otp("o1", now=T0 + timedelta(minutes=3), max_attempts=5) is False
        assert [storage.fail_otp("o3") for _ in range(3)] == [1, 2, 3]
        assert storage.use_otp("o3", now=later, max_attempts=3) is False
        assert storage.use_otp("o3", now=later, max_attempts=4) is True
        assert storage.use_otp("missing", now=later, max_attempts=5) is False
        assert storage.fail_otp("missing") == 0
        three = T0 + timedelta(minutes=3)
        assert storage.purge_otp(created_before=T0, now=three) == 0
        assert storage.purge_otp(created_before=three, now=three - timedelta(seconds=1)) == 0
        assert storage.purge_otp(created_before=three, now=three) == 2
        assert storage.latest_otp(number(1)) == used
        assert storage.latest_otp(number(2)) is None

    def test_otp_rate_limits_count_per_number_and_window(self, storage: Storage) -> None:
        """A number's codes in each window are counted; a refused code is not kept and
        the answer is when the first limit frees a place."""
        limits = [(timedelta(minutes=10), 2), (timedelta(days=1), 3)]
        at = [T0, T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)]
        assert storage.add_otp(otp_record("a", 1, at=at[0]), limits=limits) is None
        assert storage.add_otp(otp_record("b", 1, at=at[1]), limits=limits) is None
        assert storage.add_otp(otp_record("c", 1, at=at[2]), limits=limits) == T0 + timedelta(
            minutes=10
        )
        assert storage.latest_otp(number(1)) == otp_record("b", 1, at=at[1])
        assert storage.add_otp(otp_record("x", 2, at=at[2]), limits=limits) is None
        free = T0 + timedelta(minutes=10)
        assert storage.add_otp(otp_record("d", 1, at=free), limits=limits) is None
        # Three today: the day's limit holds until the first code is a day old.
        late = T0 + timedelta(hours=5)
        assert storage.add_otp(otp_record("e", 1, at=late), limits=limits) == T0 + timedelta(days=1)
        with pytest.raises(InvalidValue, match="already exists"):
            storage.add_otp(otp_record("a", 3, at=late), limits=())

    def test_concurrent_otp_sends_never_exceed_the_limit(self, storage: Storage) -> None:
        """Eight threads sending a code to one number under a limit of three: three kept."""
        start = threading.Barrier(8)
        answers: list[datetime | None] = []
        limits = [(timedelta(minutes=10), 3)]

        def race(i: int) -> None:
            start.wait()
            record = otp_record(f"r{i}", 1, at=T0 + timedelta(milliseconds=i))
            answers.append(storage.add_otp(record, limits=limits))

        threads = [threading.Thread(target=race, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sum(answer is None for answer in answers) == 3

    def test_a_code_is_used_by_one_of_many_racers(self, storage: Storage) -> None:
        """Eight threads using one code at once: exactly one of them gets it."""
        storage.add_otp(otp_record("race", 1, at=T0), limits=())
        start = threading.Barrier(8)
        answers: list[bool] = []

        def race() -> None:
            start.wait()
            answers.append(storage.use_otp("race", now=T0, max_attempts=5))

        threads = [threading.Thread(target=race) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(answers) == [False] * 7 + [True]

    def test_redact_campaign_text(self, storage: Storage) -> None:
        """A secret is masked in a campaign's text and its messages', nowhere else."""
        storage.create_campaign(attrs.evolve(campaign("c1"), text="Kodunuz: 482915."))
        storage.create_campaign(attrs.evolve(campaign("c2"), text="Kodunuz: 482915."))
        storage.add_messages(
            [
                attrs.evolve(m, text="Kodunuz: 482915.")
                for m in messages(2, "c1") + messages(1, "c2")
            ]
        )
        assert storage.redact_campaign_text("c1", "482915", "******") == 2
        assert _campaign_text(storage, "c1") == "Kodunuz: ******."
        assert [m.text for m in storage.iter_messages("c1")] == ["Kodunuz: ******."] * 2
        assert _campaign_text(storage, "c2") == "Kodunuz: 482915."
        assert [m.text for m in storage.iter_messages("c2")] == ["Kodunuz: 482915."]
        assert storage.redact_campaign_text("c1", "482915", "******") == 0
        with pytest.raises(InvalidValue):
            storage.redact_campaign_text("c1", "", "*")

    # -- inbound ------------------------------------------------------------

    def test_inbound_records(self, storage: Storage) -> None:
        """Inbound messages are kept with their reading, listed oldest first by window."""
        later = T0 + timedelta(hours=2)
        second = InboundRecord(
            "in-2", number(2), "4605", "merhaba", later, "unknown", provider_id="mo-2"
        )
        first = InboundRecord(
            "in-1",
            number(1),
            "4605",
            "ACME RET",
            T0.astimezone(ISTANBUL),
            "opt_out",
            brand="ACME",
            keyword="ret",
            consent_seqs=(4, 5),
            reply_id="m-9",
        )
        storage.record_inbound(second)
        storage.record_inbound(first)
        assert [r.id for r in storage.iter_inbound()] == ["in-1", "in-2"]
        [read] = list(storage.iter_inbound(until=later))
        assert read == attrs.evolve(first, received_at=T0)
        assert [r.id for r in storage.iter_inbound(since=later)] == ["in-2"]
        assert storage.inbound_seen(["mo-2", "mo-3", "mo-2"]) == {"mo-2"}
        assert storage.inbound_seen([]) == set()

    def test_inbound_recorded_first_then_finished(self, storage: Storage) -> None:
        """A message is kept on arrival (any storable text, its original escaped),
        found by id, then finished once what it caused is written; an id is kept once."""
        # Received: "ACME RET <NUL><lone surrogate> <RLM><RLO>😀 \u0000 ğğ…"
        tail = " \u200f\u202e😀 \\u0000 " + "ğ" * 2000
        arrived = InboundRecord(
            "mo-abc",
            number(1),
            "4605",
            "ACME RET \ufffd\ufffd" + tail,
            T0.astimezone(ISTANBUL),
            "opt_out",
            brand="ACME",
            keyword="ret",
            provider_id="p-\ufffd",
            raw_text="ACME RET \\u0000\\ud800" + tail.replace("\\", "\\\\"),
        )
        assert storage.get_inbound("mo-abc") is None
        storage.record_inbound(arrived)
        with pytest.raises(InvalidValue, match="already recorded"):
            storage.record_inbound(arrived)
        kept = attrs.evolve(arrived, received_at=T0)
        assert storage.get_inbound("mo-abc") == kept
        assert kept.handled_at is None
        done = attrs.evolve(
            arrived, consent_seqs=(7,), reply_id="mo-abc-reply", handled_at=T0 + timedelta(1)
        )
        storage.finish_inbound(done)
        assert storage.get_inbound("mo-abc") == attrs.evolve(done, received_at=T0)
        assert list(storage.iter_inbound()) == [attrs.evolve(done, received_at=T0)]
        with pytest.raises(InvalidValue, match="no inbound message"):
            storage.finish_inbound(attrs.evolve(done, id="mo-none"))

    # -- templates ----------------------------------------------------------

    def test_templates(self, storage: Storage) -> None:
        """Templates are saved by name, replaced, listed in name order and deleted."""
        storage.save_template(Template("kargo", "Sayın {ad}, siparişiniz yolda.", T0))
        storage.save_template(Template("bayram", "İyi bayramlar {ad}!", T0))
        storage.save_template(Template("kargo", "Sayın {ad} {soyad}, kargonuz yolda.", T0))
        template = storage.get_template("kargo")
        assert template is not None
        assert template.text == "Sayın {ad} {soyad}, kargonuz yolda."
        assert [t.name for t in storage.list_templates()] == ["bayram", "kargo"]
        assert storage.delete_template("bayram") is True
        assert storage.delete_template("bayram") is False
        assert storage.get_template("bayram") is None

    # -- campaigns and messages ---------------------------------------------

    def test_campaigns(self, storage: Storage) -> None:
        """Campaigns are stored once, listed newest first, and change status."""
        storage.create_campaign(campaign("c1"))
        later = Campaign(id="c2", text="x", category="informational", created_at=T0 + LEASE)
        storage.create_campaign(later)
        with pytest.raises(InvalidValue, match="already exists"):
            storage.create_campaign(campaign("c1"))
        assert [c.id for c in storage.list_campaigns()] == ["c2", "c1"]
        assert storage.get_campaign("c1") == campaign("c1")
        storage.set_campaign_status("c1", CampaignStatus.PAUSED)
        found = storage.get_campaign("c1")
        assert found is not None
        assert found.status is CampaignStatus.PAUSED
        assert storage.get_campaign("nope") is None

    def test_finish_drained_campaigns(self, storage: Storage) -> None:
        """Running campaigns with messages and none queued or submitting become done;
        a campaign still empty, still sending, or not running is left as it is."""

        def with_states(campaign_id: str, *states: MessageState) -> None:
            storage.add_messages(
                attrs.evolve(m, state=s)
                for m, s in zip(messages(len(states), campaign_id), states, strict=True)
            )

        for campaign_id in ("empty", "queued", "sending", "sent", "blocked"):
            storage.create_campaign(campaign(campaign_id))
        storage.create_campaign(campaign("paused", CampaignStatus.PAUSED))
        with_states("queued", MessageState.DELIVERED, MessageState.QUEUED)
        with_states("sending", MessageState.SUBMITTING)
        with_states("sent", MessageState.SUBMITTED, MessageState.FAILED, MessageState.UNKNOWN)
        with_states("blocked", MessageState.BLOCKED)
        with_states("paused", MessageState.SUBMITTED)
        assert storage.finish_drained_campaigns() == ["blocked", "sent"]
        assert storage.finish_drained_campaigns() == []
        status = {c.id: c.status for c in storage.list_campaigns()}
        assert status == {
            "empty": CampaignStatus.RUNNING,
            "queued": CampaignStatus.RUNNING,
            "sending": CampaignStatus.RUNNING,
            "sent": CampaignStatus.DONE,
            "blocked": CampaignStatus.DONE,
            "paused": CampaignStatus.PAUSED,
        }

    def test_create_campaign_with_messages_is_one_step(self, storage: Storage) -> None:
        """A campaign and its messages are stored together; a message id taken already,
        or a campaign id taken already, refuses the whole call."""
        batch = messages(2, "c1")
        storage.create_campaign_with_messages(campaign("c1"), batch)
        assert storage.get_campaign("c1") == campaign("c1")
        assert list(storage.iter_messages("c1")) == batch
        with pytest.raises(InvalidValue, match="'c1-m00000' already exists"):
            storage.create_campaign_with_messages(
                campaign("c2"), [attrs.evolve(batch[0], campaign_id="c2")]
            )
        assert storage.get_campaign("c2") is None
        with pytest.raises(InvalidValue, match="'c1' already exists"):
            storage.create_campaign_with_messages(campaign("c1"), [])
        storage.create_campaign_with_messages(campaign("c3", CampaignStatus.DONE), [])
        assert storage.message_counts("c3") == {}

    def test_messages_round_trip_and_count(self, storage: Storage) -> None:
        """Messages come back as stored; counts are per state."""
        storage.create_campaign(campaign())
        batch = messages(3, not_before=T0)
        assert storage.add_messages(batch) == 3
        assert storage.get_message(batch[0].id) == batch[0]
        assert list(storage.iter_messages("c1")) == batch
        assert storage.message_counts("c1") == {MessageState.QUEUED: 3}
        with pytest.raises(InvalidValue):
            storage.add_messages(batch[:1])

    def test_add_messages_refuses_a_batch_naming_the_fault(self, storage: Storage) -> None:
        """An id taken already or twice in the batch, or a campaign that does not exist,
        refuses the call and names the message or campaign at fault."""
        storage.create_campaign(campaign("c1"))
        batch = messages(12)
        storage.add_messages(batch[:1])
        stray = attrs.evolve(batch[11], campaign_id="nope")
        for given, fault in (
            ([*batch[1:3], batch[0]], "message 'c1-m00000' already exists"),
            ([*batch[4:6], batch[3], batch[3]], "message 'c1-m00003' already exists"),
            ([*batch[7:9], stray], "no campaign with id 'nope'"),
        ):
            with pytest.raises(InvalidValue, match=fault):
                storage.add_messages(given)
        assert storage.add_messages(batch[9:11]) == 2
        assert storage.get_message(batch[10].id) == batch[10]

    def test_message_times_come_back_as_given(self, storage: Storage) -> None:
        """Times in any offset, with or without microseconds, come back as the same
        instants after each call that writes them."""
        istanbul = timezone(timedelta(hours=3))
        at = datetime(2026, 3, 1, 12, 0, tzinfo=istanbul)  # no microseconds
        later = datetime(2026, 3, 1, 9, 0, 0, 250, tzinfo=UTC)
        storage.create_campaign(campaign("c1"))
        m = attrs.evolve(messages(1, not_before=at)[0], updated_at=later)
        storage.add_messages([m])
        stored = storage.get_message(m.id)
        assert stored == m
        assert storage.claim_submitting(
            worker="w", limit=1, lease=timedelta(seconds=1), now=at
        ) == [
            attrs.evolve(
                m,
                state=MessageState.SUBMITTING,
                claimed_by="w",
                lease_until=at + timedelta(seconds=1),
                updated_at=at,
            )
        ]
        storage.settle([Settlement(m.id, MessageState.SUBMITTED, provider_id="p")], now=later)
        stored = storage.get_message(m.id)
        assert stored is not None
        assert (stored.state, stored.updated_at) == (MessageState.SUBMITTED, later)

    def test_campaign_recipients_names_only_that_campaigns_numbers(self, storage: Storage) -> None:
        """A number is found in the campaign that holds a message to it, in any state."""
        storage.create_campaign(campaign("c1"))
        storage.create_campaign(campaign("c2"))
        storage.add_messages(messages(3, "c1"))
        storage.add_messages(messages(5, "c2")[3:])
        storage.transition(
            ["c1-m00001"], MessageState.BLOCKED, expected=MessageState.QUEUED, now=T0
        )
        asked = [number(i) for i in range(6)]
        assert storage.campaign_recipients("c1", asked) == {number(0), number(1), number(2)}
        assert storage.campaign_recipients("c2", asked) == {number(3), number(4)}
        assert storage.campaign_recipients("c3", asked) == set()
        assert storage.campaign_recipients("c1", []) == set()

    def test_claim_hands_each_message_to_one_worker(self, storage: Storage) -> None:
        """Two workers claiming at once get disjoint messages; all are claimed."""
        storage.create_campaign(campaign())
        storage.add_messages(messages(10))
        a = storage.claim_submitting(worker="a", limit=6, lease=LEASE, now=T0)
        b = storage.claim_submitting(worker="b", limit=6, lease=LEASE, now=T0)
        assert len(a) == 6
        assert len(b) == 4
        assert {m.id for m in a}.isdisjoint({m.id for m in b})
        assert all(m.claimed_by == "a" and m.lease_until == T0 + LEASE for m in a)
        assert {m.state for m in a + b} == {MessageState.SUBMITTING}
        assert storage.message_counts("c1") == {MessageState.SUBMITTING: 10}
        assert storage.claim_submitting(worker="c", limit=10, lease=LEASE, now=T0) == []

    def test_claim_respects_not_before_and_campaign_status(self, storage: Storage) -> None:
        """Future messages and paused campaigns are not due."""
        storage.create_campaign(campaign("c1"))
        storage.create_campaign(campaign("c2", CampaignStatus.PAUSED))
        storage.add_messages(messages(2, "c1", not_before=T0 + timedelta(hours=1)))
        storage.add_messages(messages(2, "c2"))
        assert storage.claim_submitting(worker="w", limit=10, lease=LEASE, now=T0) == []
        later = storage.claim_submitting(
            worker="w", limit=10, lease=LEASE, now=T0 + timedelta(hours=1)
        )
        assert [m.campaign_id for m in later] == ["c1", "c1"]
        storage.set_campaign_status("c2", CampaignStatus.RUNNING)
        assert len(storage.claim_submitting(worker="w", limit=10, lease=LEASE, now=T0)) == 2

    def test_an_ended_lease_fences_the_old_worker_and_is_never_claimed_again(
        self, storage: Storage
    ) -> None:
        """Claimed messages are the worker's while its lease holds; once it ends, that
        worker can no longer move them and no other worker claims them (they may
        have been sent): they wait for expire_claims."""
        storage.create_campaign(campaign())
        storage.add_messages(messages(3))
        old = storage.claim_submitting(worker="old", limit=3, lease=LEASE, now=T0)
        ids = [m.id for m in old]
        after = T0 + LEASE + timedelta(seconds=1)
        for now in (T0 + LEASE, after):
            assert storage.claim_submitting(worker="new", limit=3, lease=LEASE, now=now) == []
        for worker in ("old", "new"):
            moved = storage.transition(
                ids,
                MessageState.SUBMITTED,
                expected=MessageState.SUBMITTING,
                worker=worker,
                now=after,
            )
            assert moved == []
        moved = storage.transition(
            ids,
            MessageState.SUBMITTED,
            expected=MessageState.SUBMITTING,
            worker="old",
            now=T0 + LEASE,
        )
        assert moved == ids

    def test_a_message_put_back_in_the_queue_waits_for_its_lease(self, storage: Storage) -> None:
        """Moved back ``submitting → queued`` by its worker, a claimed message keeps the
        lease: no worker claims it before the lease ends, any worker after."""
        storage.create_campaign(campaign())
        storage.add_messages(messages(3))
        [first, *_] = storage.claim_submitting(worker="a", limit=2, lease=LEASE, now=T0)
        moved = storage.transition(
            [first.id], MessageState.QUEUED, expected=MessageState.SUBMITTING, worker="a", now=T0
        )
        assert moved == [first.id]
        back = _stored(storage, first.id)
        assert (back.state, back.claimed_by, back.lease_until) == (
            MessageState.QUEUED,
            "a",
            T0 + LEASE,
        )
        [other] = storage.claim_submitting(worker="b", limit=3, lease=LEASE, now=T0 + LEASE)
        assert other.id == "c1-m00002"  # the last, never claimed; the first waits
        after = T0 + LEASE + timedelta(seconds=1)
        [again] = storage.claim_submitting(worker="b", limit=3, lease=LEASE, now=after)
        assert (again.id, again.claimed_by, again.lease_until) == (first.id, "b", after + LEASE)

    def test_transitions_follow_the_state_machine(self, storage: Storage) -> None:
        """Allowed moves happen once, with their details; forbidden moves raise."""
        storage.create_campaign(campaign())
        [m] = messages(1)
        storage.add_messages([m])
        storage.claim_submitting(worker="w", limit=1, lease=LEASE, now=T0)
        for expected_moved in ([m.id], []):
            moved = storage.transition(
                [m.id],
                MessageState.SUBMITTED,
                expected=MessageState.SUBMITTING,
                worker="w",
                now=T0,
                provider_id="p-1",
            )
            assert moved == expected_moved
        found = storage.message_by_provider_id("p-1")
        assert found is not None
        assert (found.id, found.state) == (m.id, MessageState.SUBMITTED)
        with pytest.raises(InvalidValue, match="cannot go from submitted to queued"):
            storage.transition([m.id], MessageState.QUEUED, expected=MessageState.SUBMITTED, now=T0)
        assert storage.message_by_provider_id("p-unknown") is None

    def test_expire_claims_marks_in_flight_messages_unknown(self, storage: Storage) -> None:
        """A lost worker's claims become `unknown` when its lease ends, never a resend;
        what it had not claimed goes to the next worker."""
        storage.create_campaign(campaign())
        batch = messages(4)
        storage.add_messages(batch)
        claimed = storage.claim_submitting(worker="dead", limit=2, lease=LEASE, now=T0)
        in_flight = [m.id for m in claimed]
        assert in_flight == [m.id for m in batch[:2]]
        assert storage.expire_claims(now=T0 + LEASE) == []  # lease not over yet
        later = T0 + LEASE + timedelta(seconds=1)
        assert storage.expire_claims(now=later) == in_flight
        assert storage.message_counts("c1") == {MessageState.UNKNOWN: 2, MessageState.QUEUED: 2}
        assert {storage.get_message(i).reason for i in in_flight} == {  # type: ignore[union-attr]
            "worker lost while submitting; outcome unknown"
        }
        taken = storage.claim_submitting(worker="next", limit=10, lease=LEASE, now=later)
        assert [m.id for m in taken] == [m.id for m in batch[2:]]

    def test_cancel_campaign_cancels_queued_messages(self, storage: Storage) -> None:
        """Cancelling stops what has not gone; what was submitted stays submitted."""
        storage.create_campaign(campaign())
        storage.add_messages(messages(3))
        storage.claim_submitting(worker="w", limit=1, lease=LEASE, now=T0)
        storage.set_campaign_status("c1", CampaignStatus.CANCELLED)
        assert storage.message_counts("c1") == {
            MessageState.SUBMITTING: 1,
            MessageState.CANCELLED: 2,
        }

    def test_delivery_reports_are_idempotent(self, storage: Storage) -> None:
        """The first final report settles a message; repeats and late ones change nothing."""
        storage.create_campaign(campaign())
        batch = messages(2)
        storage.add_messages(batch)
        storage.claim_submitting(worker="w", limit=2, lease=LEASE, now=T0)
        ids = [m.id for m in batch]
        storage.transition(
            ids[:1],
            MessageState.SUBMITTED,
            expected=MessageState.SUBMITTING,
            provider_id="p-1",
            now=T0,
        )
        storage.transition(
            ids[1:],
            MessageState.UNKNOWN,
            expected=MessageState.SUBMITTING,
            provider_id="p-2",
            now=T0,
        )
        report = DeliveryReportRecord("p-1", "undelivered", T0, error_code="027")
        changed = storage.apply_delivery_report(report)
        assert changed is not None
        assert (changed.state, changed.error_code) == (MessageState.UNDELIVERED, "027")
        assert storage.apply_delivery_report(report) is None
        assert storage.apply_delivery_report(DeliveryReportRecord("p-1", "delivered", T0)) is None
        assert storage.apply_delivery_report(DeliveryReportRecord("p-9", "delivered", T0)) is None
        assert storage.apply_delivery_report(DeliveryReportRecord("p-2", "pending", T0)) is None
        settled = storage.apply_delivery_report(DeliveryReportRecord("p-2", "delivered", T0))
        assert settled is not None
        assert settled.state is MessageState.DELIVERED
        assert storage.message_counts("c1") == {
            MessageState.UNDELIVERED: 1,
            MessageState.DELIVERED: 1,
        }

    def _submitting(self, storage: Storage, count: int) -> list[str]:
        storage.create_campaign(campaign())
        batch = messages(count)
        storage.add_messages(batch)
        claimed = storage.claim_submitting(worker="w", limit=count, lease=LEASE, now=T0)
        assert {m.state for m in claimed} == {MessageState.SUBMITTING}
        return [m.id for m in batch]

    def test_settle_moves_a_batch_from_submitting(self, storage: Storage) -> None:
        """One call settles each message with its own outcome; the rest is left alone."""
        ids = self._submitting(storage, 5)
        [lost] = storage.transition(
            ids[4:], MessageState.UNKNOWN, expected=MessageState.SUBMITTING, now=T0
        )
        later = T0 + timedelta(seconds=3)
        moved = storage.settle(
            [
                Settlement(ids[2], MessageState.FAILED, error_code="ESME_RINVDSTADR", reason="no"),
                Settlement(ids[0], MessageState.SUBMITTED, provider_id="p-0"),
                Settlement(ids[1], MessageState.UNKNOWN, reason="timed out"),
                Settlement(ids[3], MessageState.QUEUED),
                Settlement(lost, MessageState.SUBMITTED, provider_id="p-4"),
                Settlement("no-such-message", MessageState.SUBMITTED, provider_id="p-5"),
            ],
            now=later,
        )
        assert moved == [ids[2], ids[0], ids[1], ids[3]]
        first, second, third, fourth, fifth = (_stored(storage, i) for i in ids)
        assert (first.state, first.provider_id, first.updated_at) == (
            MessageState.SUBMITTED,
            "p-0",
            later,
        )
        assert (second.state, second.reason) == (MessageState.UNKNOWN, "timed out")
        assert (third.state, third.error_code, third.reason) == (
            MessageState.FAILED,
            "ESME_RINVDSTADR",
            "no",
        )
        assert (fourth.state, fourth.claimed_by, fourth.lease_until) == (
            MessageState.QUEUED,
            None,
            None,
        )
        assert (fifth.state, fifth.provider_id) == (MessageState.UNKNOWN, None)
        found_by_provider = storage.message_by_provider_id("p-0")
        assert found_by_provider is not None
        assert found_by_provider.id == ids[0]
        assert storage.settle([Settlement(ids[0], MessageState.FAILED)], now=later) == []
        assert storage.settle([], now=later) == []

    def test_awaiting_reports_lists_submitted_messages_oldest_first(self, storage: Storage) -> None:
        """Provider ids of submitted messages from ``since`` on, oldest first, up to
        ``limit``; a final report takes a message off the list."""
        ids = self._submitting(storage, 4)
        storage.settle([Settlement(ids[3], MessageState.SUBMITTED, provider_id="p-3")], now=T0)
        storage.settle(
            [
                Settlement(ids[1], MessageState.SUBMITTED, provider_id="p-1"),
                Settlement(ids[0], MessageState.SUBMITTED, provider_id="p-0"),
                Settlement(ids[2], MessageState.FAILED, reason="refused"),
            ],
            now=T0 + timedelta(minutes=1),
        )
        assert storage.awaiting_reports(since=T0) == ["p-3", "p-0", "p-1"]
        assert storage.awaiting_reports(since=T0 + timedelta(seconds=1)) == ["p-0", "p-1"]
        assert storage.awaiting_reports(since=T0, limit=1) == ["p-3"]
        storage.apply_delivery_report(
            DeliveryReportRecord("p-0", MessageState.DELIVERED.value, T0 + timedelta(minutes=2))
        )
        assert storage.awaiting_reports(since=T0.astimezone(ISTANBUL)) == ["p-3", "p-1"]

    def test_settle_refuses_a_forbidden_state_and_moves_nothing(self, storage: Storage) -> None:
        """An outcome that cannot follow `submitting` raises before any message moves."""
        ids = self._submitting(storage, 2)
        with pytest.raises(InvalidValue, match="cannot go from submitting to delivered"):
            storage.settle(
                [
                    Settlement(ids[0], MessageState.SUBMITTED, provider_id="p-0"),
                    Settlement(ids[1], MessageState.DELIVERED),
                ],
                now=T0,
            )
        assert storage.message_counts("c1") == {MessageState.SUBMITTING: 2}

    def test_settle_takes_the_first_outcome_of_a_message_given_twice(
        self, storage: Storage
    ) -> None:
        """A message listed twice in one batch settles once, with its first outcome."""
        [only] = self._submitting(storage, 1)
        moved = storage.settle(
            [
                Settlement(only, MessageState.SUBMITTED, provider_id="p-first"),
                Settlement(only, MessageState.FAILED, reason="second"),
            ],
            now=T0,
        )
        assert moved == [only]
        message = _stored(storage, only)
        assert (message.state, message.provider_id) == (MessageState.SUBMITTED, "p-first")

    def test_bulk_delivery_reports_match_one_by_one(self, storage: Storage) -> None:
        """A list of reports settles each message once, in order; repeats change nothing."""
        ids = self._submitting(storage, 4)
        storage.settle(
            [
                Settlement(i, MessageState.SUBMITTED, provider_id=f"p-{n}")
                for n, i in enumerate(ids)
            ],
            now=T0,
        )
        storage.transition(ids[3:], MessageState.UNKNOWN, expected=MessageState.SUBMITTED, now=T0)
        later = T0 + timedelta(minutes=1)
        reports = [
            DeliveryReportRecord("p-0", "delivered", later),
            DeliveryReportRecord("p-1", "undelivered", later, error_code="027"),
            DeliveryReportRecord("p-0", "undelivered", later, error_code="001"),  # late
            DeliveryReportRecord("p-2", "pending", later),
            DeliveryReportRecord("p-9", "delivered", later),  # not ours
            DeliveryReportRecord("p-3", "expired", later, error_code="254"),
        ]
        changed = storage.apply_delivery_reports(reports)
        assert [(m.id, m.state, m.error_code) for m in changed] == [
            (ids[0], MessageState.DELIVERED, None),
            (ids[1], MessageState.UNDELIVERED, "027"),
            (ids[3], MessageState.EXPIRED, "254"),
        ]
        assert all(m.updated_at == later for m in changed)
        assert storage.apply_delivery_reports(reports) == []
        assert storage.apply_delivery_reports([]) == []
        settled = storage.apply_delivery_reports([DeliveryReportRecord("p-2", "rejected", later)])
        assert [(m.id, m.state) for m in settled] == [(ids[2], MessageState.REJECTED)]
        assert storage.message_counts("c1") == {
            MessageState.DELIVERED: 1,
            MessageState.UNDELIVERED: 1,
            MessageState.EXPIRED: 1,
            MessageState.REJECTED: 1,
        }

    # -- the parts of long messages ---------------------------------------------

    def _long(self, storage: Storage, count: int = 2) -> list[str]:
        """``count`` messages submitting; the first is settled with three part ids
        (``a-0``, ``a-1``, ``a-2``), the second as one part (``b-0``)."""
        ids = self._submitting(storage, count)
        moved = storage.settle(
            [
                Settlement(
                    ids[0],
                    MessageState.SUBMITTED,
                    provider_id="a-0",
                    part_ids=("a-0", "a-1", "a-2"),
                ),
                Settlement(ids[1], MessageState.SUBMITTED, provider_id="b-0", part_ids=("b-0",)),
            ],
            now=T0,
        )
        assert moved == ids[:2]
        return ids

    def test_settle_keeps_the_parts_of_a_long_message(self, storage: Storage) -> None:
        """Part ids are kept with a long message as it is settled; any of them finds it."""
        ids = self._long(storage, 3)
        parts = storage.message_parts(ids[0])
        assert [(p.provider_id, p.message_id, p.part, p.status) for p in parts] == [
            ("a-0", ids[0], 0, None),
            ("a-1", ids[0], 1, None),
            ("a-2", ids[0], 2, None),
        ]
        assert all(p.updated_at == T0 for p in parts)
        for part_id in ("a-0", "a-1", "a-2"):
            found = storage.message_by_provider_id(part_id)
            assert found is not None
            assert found.id == ids[0]
        assert storage.message_parts(ids[1]) == []  # one part: its id is the message's
        # A message that did not move to submitted keeps no parts.
        storage.settle(
            [Settlement(ids[2], MessageState.FAILED, reason="refused", part_ids=("c-0", "c-1"))],
            now=T0,
        )
        assert storage.message_parts(ids[2]) == []
        assert storage.message_by_provider_id("c-1") is None
        assert storage.message_parts("no-such-message") == []

    def test_a_long_message_is_delivered_when_every_part_is(self, storage: Storage) -> None:
        """Part receipts in any order settle the message once, at the last part."""
        ids = self._long(storage)
        later = T0 + timedelta(minutes=1)
        assert storage.apply_delivery_report(DeliveryReportRecord("a-2", "delivered", T0)) is None
        assert (
            storage.apply_delivery_reports(
                [
                    DeliveryReportRecord("a-0", "pending", T0),
                    DeliveryReportRecord("a-0", "delivered", T0),
                    DeliveryReportRecord("a-2", "delivered", T0),  # a repeat
                ]
            )
            == []
        )
        assert _stored(storage, ids[0]).state is MessageState.SUBMITTED
        changed = storage.apply_delivery_reports(
            [
                DeliveryReportRecord("b-0", "delivered", later),
                DeliveryReportRecord("a-1", "delivered", later, error_code="000"),
            ]
        )
        assert [(m.id, m.state, m.updated_at) for m in changed] == [
            (ids[1], MessageState.DELIVERED, later),
            (ids[0], MessageState.DELIVERED, later),
        ]
        # Late and repeated receipts change nothing, one by one or together.
        late = DeliveryReportRecord("a-1", "undelivered", later, error_code="027")
        assert storage.apply_delivery_report(late) is None
        assert storage.apply_delivery_reports([late, late]) == []
        assert [p.status for p in storage.message_parts(ids[0])] == ["delivered"] * 3

    def test_a_long_message_fails_with_its_first_failing_part(self, storage: Storage) -> None:
        """The first part that fails fails the message, with its code; the rest is kept."""
        ids = self._long(storage)
        assert storage.apply_delivery_report(DeliveryReportRecord("a-0", "delivered", T0)) is None
        failed = storage.apply_delivery_report(
            DeliveryReportRecord("a-1", "undelivered", T0, error_code="027")
        )
        assert failed is not None
        assert (failed.id, failed.state, failed.error_code, failed.reason) == (
            ids[0],
            MessageState.UNDELIVERED,
            "027",
            "part 2 of 3 undelivered",
        )
        assert (
            storage.apply_delivery_reports(
                [
                    DeliveryReportRecord("a-2", "expired", T0, error_code="254"),
                    DeliveryReportRecord("a-1", "delivered", T0),  # late: part 2 failed already
                ]
            )
            == []
        )
        message = _stored(storage, ids[0])
        assert (message.state, message.error_code) == (MessageState.UNDELIVERED, "027")
        assert [(p.status, p.error_code) for p in storage.message_parts(ids[0])] == [
            ("delivered", None),
            ("undelivered", "027"),
            ("expired", "254"),
        ]

    def test_reports_held_until_their_message_is_settled(self, storage: Storage) -> None:
        """A receipt read before its message (or part) was settled is kept, and applied
        once, by whichever caller asks first, when its id is known."""
        ids = self._submitting(storage, 2)
        early = [
            DeliveryReportRecord("a-1", "delivered", T0),
            DeliveryReportRecord("b-0", "undelivered", T0, error_code="027"),
            DeliveryReportRecord("z-9", "delivered", T0),  # never ours
        ]
        assert storage.apply_delivery_reports(early[:2]) == []
        assert storage.apply_delivery_report(early[2]) is None
        assert storage.apply_held_reports(["a-1", "b-0", "z-9"]) == []  # nothing known yet
        assert storage.apply_held_reports([]) == []
        storage.settle(
            [
                Settlement(
                    ids[0],
                    MessageState.SUBMITTED,
                    provider_id="a-0",
                    part_ids=("a-0", "a-1", "a-2"),
                ),
                Settlement(ids[1], MessageState.SUBMITTED, provider_id="b-0"),
            ],
            now=T0,
        )
        assert (
            storage.apply_delivery_reports(
                [
                    DeliveryReportRecord("a-0", "delivered", T0),
                    DeliveryReportRecord("a-2", "delivered", T0),
                ]
            )
            == []
        )
        changed = storage.apply_held_reports(["a-0", "a-1", "a-2", "b-0", "z-9"])
        assert sorted((m.id, m.state) for m in changed) == [
            (ids[0], MessageState.DELIVERED),
            (ids[1], MessageState.UNDELIVERED),
        ]
        assert storage.apply_held_reports(["a-1", "b-0", "z-9"]) == []  # applied once
        assert _stored(storage, ids[1]).error_code == "027"

    def test_held_reports_apply_once_across_threads(self, storage: Storage) -> None:
        """Many callers asking at once for one held failure: it is applied (and answered) once."""
        ids = self._submitting(storage, 1)
        storage.apply_delivery_report(DeliveryReportRecord("a-1", "rejected", T0))
        storage.settle(
            [
                Settlement(
                    ids[0], MessageState.SUBMITTED, provider_id="a-0", part_ids=("a-0", "a-1")
                )
            ],
            now=T0,
        )
        answers: list[list[OutboundMessage]] = []
        barrier = threading.Barrier(4)

        def ask() -> None:
            barrier.wait()
            answers.append(storage.apply_held_reports(["a-1"]))

        threads = [threading.Thread(target=ask) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(len(a) for a in answers) == [0, 0, 0, 1]
        assert _stored(storage, ids[0]).state is MessageState.REJECTED

    def test_append_credits_in_one_call(self, storage: Storage) -> None:
        """Many entries append in order, each with the next seq, adding to the balance."""
        storage.append_credit(CreditEntry(CreditKind.TOP_UP, 10, T0))
        storage.append_credits([])
        storage.append_credits(
            [
                CreditEntry(CreditKind.REFUND, n, T0, campaign_id="c1", message_id=f"m{n}")
                for n in (1, 2, 3)
            ]
        )
        entries = list(storage.iter_credits())
        assert [(e.seq, e.kind, e.amount) for e in entries] == [
            (1, CreditKind.TOP_UP, 10),
            (2, CreditKind.REFUND, 1),
            (3, CreditKind.REFUND, 2),
            (4, CreditKind.REFUND, 3),
        ]
        assert storage.credit_balance() == 16
        assert [e.message_id for e in storage.iter_credits(campaign_id="c1")] == ["m1", "m2", "m3"]

    def test_concurrent_claims_from_threads(self, storage: Storage) -> None:
        """Four threads claiming in a loop take every message exactly once."""
        storage.create_campaign(campaign())
        storage.add_messages(messages(400))
        taken: list[list[str]] = [[] for _ in range(4)]

        def work(index: int) -> None:
            while batch := storage.claim_submitting(
                worker=f"w{index}", limit=25, lease=LEASE, now=T0
            ):
                taken[index].extend(m.id for m in batch)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        every = [i for ids in taken for i in ids]
        assert len(every) == 400
        assert len(set(every)) == 400

    # -- credits ------------------------------------------------------------

    def test_credit_ledger_balance_and_floor(self, storage: Storage) -> None:
        """The balance is the sum; a guarded append never takes it below the floor."""
        assert storage.credit_balance() == 0
        assert storage.append_credit(CreditEntry(CreditKind.TOP_UP, 100, T0, note="invoice 7"))
        assert storage.append_credit(
            CreditEntry(CreditKind.RESERVE, -60, T0, campaign_id="c1"), keep_balance_at_least=0
        )
        assert not storage.append_credit(
            CreditEntry(CreditKind.RESERVE, -41, T0, campaign_id="c2"), keep_balance_at_least=0
        )
        assert storage.append_credit(
            CreditEntry(CreditKind.REFUND, 3, T0, campaign_id="c1", message_id="m1")
        )
        assert storage.credit_balance() == 43
        entries = list(storage.iter_credits())
        assert [(e.kind, e.amount, e.seq) for e in entries] == [
            (CreditKind.TOP_UP, 100, 1),
            (CreditKind.RESERVE, -60, 2),
            (CreditKind.REFUND, 3, 3),
        ]
        assert [e.amount for e in storage.iter_credits(campaign_id="c1")] == [-60, 3]
        assert entries[2].message_id == "m1"

    def test_concurrent_reservations_never_overdraw(self, storage: Storage) -> None:
        """Many threads reserving at once stop exactly at the floor."""
        storage.append_credit(CreditEntry(CreditKind.TOP_UP, 50, T0))
        wins: list[bool] = []

        def reserve() -> None:
            for _ in range(10):
                wins.append(
                    storage.append_credit(
                        CreditEntry(CreditKind.RESERVE, -1, T0), keep_balance_at_least=0
                    )
                )

        threads = [threading.Thread(target=reserve) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sum(wins) == 50
        assert storage.credit_balance() == 0

    def test_a_message_is_given_back_once(self, storage: Storage) -> None:
        """A second release or refund of one message is skipped; seq and balance stay whole."""
        storage.append_credit(CreditEntry(CreditKind.TOP_UP, 10, T0))
        storage.append_credit(CreditEntry(CreditKind.RESERVE, -6, T0, campaign_id="c1"))
        release = CreditEntry(CreditKind.RELEASE, 2, T0, campaign_id="c1", message_id="m1")
        assert storage.append_credit(release)
        assert not storage.append_credit(release)
        assert not storage.append_credit(attrs.evolve(release, kind=CreditKind.REFUND))
        storage.append_credits(
            [
                CreditEntry(CreditKind.REFUND, 2, T0, campaign_id="c1", message_id="m1"),
                CreditEntry(CreditKind.REFUND, 1, T0, campaign_id="c1", message_id="m2"),
                CreditEntry(CreditKind.REFUND, 1, T0, campaign_id="c1", message_id="m2"),
                # Not a give-back of a message: appended every time.
                CreditEntry(CreditKind.RELEASE, 1, T0, campaign_id="c1", note="cancelled"),
                CreditEntry(CreditKind.RELEASE, 1, T0, campaign_id="c1", note="cancelled"),
                CreditEntry(CreditKind.ADJUST, -1, T0, message_id="m1"),
            ]
        )
        entries = list(storage.iter_credits())
        assert [(e.seq, e.kind, e.amount, e.message_id) for e in entries] == [
            (1, CreditKind.TOP_UP, 10, None),
            (2, CreditKind.RESERVE, -6, None),
            (3, CreditKind.RELEASE, 2, "m1"),
            (4, CreditKind.REFUND, 1, "m2"),
            (5, CreditKind.RELEASE, 1, None),
            (6, CreditKind.RELEASE, 1, None),
            (7, CreditKind.ADJUST, -1, "m1"),
        ]
        assert storage.credit_balance() == 10 - 6 + 2 + 1 + 1 + 1 - 1

    def test_concurrent_give_backs_of_one_message_append_one(self, storage: Storage) -> None:
        """Eight threads refunding the same messages at once give each back once."""
        refunds = [
            CreditEntry(CreditKind.REFUND, 2, T0, campaign_id="c1", message_id=f"m{i}")
            for i in range(20)
        ]

        def give_back(index: int) -> None:
            for entry in refunds[index % 2 :: 2] + refunds:
                storage.append_credit(entry)
            storage.append_credits(refunds)

        threads = [threading.Thread(target=give_back, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        entries = list(storage.iter_credits())
        assert sorted(e.message_id or "" for e in entries) == sorted(f"m{i}" for i in range(20))
        assert [e.seq for e in entries] == list(range(1, 21))
        assert storage.credit_balance() == 40

    def test_cancelled_release_is_appended_once(self, storage: Storage) -> None:
        """What cancelled messages reserved comes back once, however often it is asked for."""
        storage.create_campaign(campaign())
        storage.add_messages([attrs.evolve(m, parts=i + 1) for i, m in enumerate(messages(4))])
        [first] = storage.claim_submitting(worker="w", limit=1, lease=LEASE, now=T0)
        assert storage.append_cancelled_release("c1", at=T0, note="campaign cancelled") == 0
        storage.set_campaign_status("c1", CampaignStatus.CANCELLED)
        assert storage.append_cancelled_release("c1", at=T0, note="campaign cancelled") == 2 + 3 + 4
        assert storage.append_cancelled_release("c1", at=T0, note="campaign cancelled") == 0
        [entry] = storage.iter_credits(campaign_id="c1")
        assert (entry.kind, entry.amount, entry.note, entry.message_id) == (
            CreditKind.RELEASE,
            9,
            "campaign cancelled",
            None,
        )
        # Releases under another note, or of single messages, do not count as this one.
        storage.append_credit(
            CreditEntry(CreditKind.RELEASE, 1, T0, campaign_id="c1", message_id=first.id)
        )
        assert storage.append_cancelled_release("c1", at=T0, note="other") == 9
        assert storage.append_cancelled_release("c1", at=T0, note="campaign cancelled") == 0
        assert storage.credit_balance() == 9 + 1 + 9

    def test_concurrent_cancelled_releases_release_once(self, storage: Storage) -> None:
        """Eight threads settling one cancelled campaign at once release it exactly once."""
        storage.create_campaign(campaign())
        storage.add_messages(messages(30))
        storage.set_campaign_status("c1", CampaignStatus.CANCELLED)
        amounts: list[int] = []

        def settle() -> None:
            for _ in range(3):
                amounts.append(
                    storage.append_cancelled_release("c1", at=T0, note="campaign cancelled")
                )

        threads = [threading.Thread(target=settle) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(amounts) == [0] * 23 + [30]
        assert storage.credit_balance() == 30

    # -- schedules ----------------------------------------------------------

    def test_schedules_fire_each_occurrence_once(self, storage: Storage) -> None:
        """Only one claim of an occurrence succeeds; next_at moves on; None finishes."""
        first = T0 + timedelta(days=7)
        storage.add_schedule(
            Schedule(
                id="s1",
                rule="FREQ=WEEKLY;COUNT=2",
                timezone="Europe/Istanbul",
                next_at=T0,
                payload={"text": "Haftalık bülten"},
                created_at=T0,
            )
        )
        assert [s.id for s in storage.due_schedules(T0)] == ["s1"]
        assert storage.due_schedules(T0 - timedelta(seconds=1)) == []
        with pytest.raises(ValueError, match="naive"):  # refused, never read as local time
            storage.claim_occurrence("s1", T0.replace(tzinfo=None), first)
        assert storage.claim_occurrence("s1", T0, first) is True
        assert storage.claim_occurrence("s1", T0, first) is False
        schedule = storage.get_schedule("s1")
        assert schedule is not None
        assert (schedule.next_at, dict(schedule.payload)) == (first, {"text": "Haftalık bülten"})
        assert storage.due_schedules(T0) == []
        assert storage.claim_occurrence("s1", first, None) is True
        finished = storage.get_schedule("s1")
        assert finished is not None
        assert finished.status is ScheduleStatus.FINISHED
        assert storage.list_schedules(status=ScheduleStatus.ACTIVE) == []

    def test_cancelled_schedule_is_not_due(self, storage: Storage) -> None:
        """A cancelled schedule never comes due."""
        storage.add_schedule(
            Schedule(
                id="s1",
                rule="FREQ=DAILY",
                timezone="Europe/Istanbul",
                next_at=T0,
                payload={},
                created_at=T0,
            )
        )
        storage.set_schedule_status("s1", ScheduleStatus.CANCELLED)
        assert storage.due_schedules(T0 + timedelta(days=1)) == []
        assert [s.id for s in storage.list_schedules()] == ["s1"]

    # -- metrics ------------------------------------------------------------

    def test_message_stats_count_states_failures_blocked_and_due(self, storage: Storage) -> None:
        """Each message counts once by state; failures by state and code, blocked by
        reason; due: queued, campaign running, ``not_before`` passed."""
        storage.create_campaign(campaign("c1"))
        storage.create_campaign(campaign("c2", CampaignStatus.PAUSED))
        later = attrs.evolve(messages(1)[0], id="c1-later", not_before=T0 + timedelta(hours=1))
        storage.add_messages([*messages(10, "c1"), later, *messages(2, "c2")])
        ids = [m.id for m in storage.claim_submitting(worker="w", limit=5, lease=LEASE, now=T0)]
        assert ids == [f"c1-m{i:05d}" for i in range(5)]
        ids += [f"c1-m{i:05d}" for i in range(5, 10)]
        storage.settle(
            [
                *(Settlement(i, MessageState.SUBMITTED, provider_id=f"p-{i}") for i in ids[:3]),
                Settlement(ids[3], MessageState.FAILED, error_code="ESME_RINVDSTADR", reason="x"),
                Settlement(ids[4], MessageState.FAILED, reason="refused"),
            ],
            now=T0,
        )
        storage.apply_delivery_reports(
            [
                DeliveryReportRecord(f"p-{ids[0]}", "delivered", T0),
                DeliveryReportRecord(f"p-{ids[1]}", "undelivered", T0, error_code="027"),
            ]
        )
        opted_out = "TR-OPTOUT-001: the recipient opted out (RET)"
        for message_id, reason in [
            (ids[5], opted_out),
            (ids[6], opted_out),
            (ids[7], "TR-NOCONSENT-001: no consent (ONAY) on record"),
        ]:
            storage.transition(
                [message_id],
                MessageState.BLOCKED,
                expected=MessageState.QUEUED,
                now=T0,
                reason=reason,
            )
        stats = storage.message_stats(now=T0)
        assert stats.states == {
            MessageState.DELIVERED: 1,
            MessageState.UNDELIVERED: 1,
            MessageState.SUBMITTED: 1,
            MessageState.FAILED: 2,
            MessageState.BLOCKED: 3,
            MessageState.QUEUED: 5,
        }
        assert stats.failures == {
            (MessageState.FAILED, "ESME_RINVDSTADR"): 1,
            (MessageState.FAILED, None): 1,
            (MessageState.UNDELIVERED, "027"): 1,
        }
        assert stats.blocked == {opted_out: 2, "TR-NOCONSENT-001: no consent (ONAY) on record": 1}
        assert stats.due == 2  # c1-m00008 and c1-m00009
        assert storage.message_stats(now=T0 + timedelta(hours=1)).due == 3
        assert storage.message_stats(now=T0, campaign_id="c2") == MessageStats(
            {MessageState.QUEUED: 2}
        )
        assert storage.message_stats(now=T0, campaign_id="c9") == MessageStats()
        storage.set_campaign_status("c2", CampaignStatus.RUNNING)
        assert storage.message_stats(now=T0).due == 4
        assert storage.message_stats(now=T0, campaign_id="c2").due == 2
        one = storage.message_stats(now=T0, campaign_id="c1")
        assert (sum(one.states.values()), one.due) == (11, 2)
