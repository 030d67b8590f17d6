"""Migration from another provider ("free account transfer"): blacklists and consent histories.

Both read CSV or Excel exports with the same header detection as contact
imports, refuse what cannot be taken with a row error, and keep what the old
provider knew: a blacklist entry keeps its reason, source and date; a consent
row becomes a ledger event with its original date and source, and every other
column of the row goes into the event's evidence.
"""

from __future__ import annotations

import contextlib
import itertools
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Final

import attrs

from isobil._meter import METER_ROWS, Meter
from isobil._tables import write_csv
from isobil._text import fold
from isobil._time import ISTANBUL
from isobil.contacts._import import (
    _EMAIL,
    _SYNONYMS,
    HEADER_SCAN_ROWS,
    PYTHON_TERMS,
    ImportFailed,
    Terms,
    _is_blank,
    column_letter,
    custom_key,
    parse_recipient_type,
    resolve_columns,
    synonym_table,
)
from isobil.contacts._readers import Cell, TableReader, cell_text, open_table
from isobil.errors import InvalidValue
from isobil.model import (
    Channel,
    ConsentEvent,
    ConsentSource,
    ConsentStatus,
    RecipientType,
    RowError,
    normalize_brand,
)
from isobil.phone import Normalizer
from isobil.storage import BlacklistEntry, Storage

__all__ = [
    "ISTANBUL",
    "MigrationReport",
    "import_blacklist",
    "import_consent_history",
    "parse_consent_date",
]

#: Rows per stored chunk (one ``add_to_blacklist`` or ledger append each). A chunk's
#: events or entries are done with before the next is read: small enough that Python's
#: garbage collector frees them young instead of walking them in its oldest generation.
MIGRATION_CHUNK: Final = 2_000
_NUMBER_NAMES: Final = tuple(itertools.chain.from_iterable(_SYNONYMS["number"]))
_EMAIL_NAMES: Final = tuple(itertools.chain.from_iterable(_SYNONYMS["email"]))

_BLACKLIST_TABLE: Final = synonym_table(
    {
        "number": (_NUMBER_NAMES, ("alici", "recipient")),
        "reason": (
            (
                "sebep",
                "neden",
                "aciklama",
                "reason",
                "not",
                "note",
                "ret nedeni",
                "kara liste nedeni",
            ),
        ),
        "source": (("kaynak", "source"),),
        "date": (
            (
                "tarih",
                "eklenme tarihi",
                "ekleme tarihi",
                "kayit tarihi",
                "olusturma tarihi",
                "date",
                "added at",
                "added",
                "created at",
            ),
        ),
    }
)
_BLACKLIST_FIELDS: Final = ("number", "reason", "source", "date")

_CONSENT_TABLE: Final = synonym_table(
    {
        "recipient": (
            ("recipient", "alici", "alici adresi", "adres", "address"),
            _NUMBER_NAMES,
            _EMAIL_NAMES,
        ),
        "channel": (
            ("type", "tip", "kanal", "channel", "izin tipi", "izin turu", "iletisim kanali"),
        ),
        "status": (("status", "durum", "izin durumu", "onay durumu", "consent status"),),
        "consent_date": (
            (
                "consentdate",
                "consent date",
                "izin tarihi",
                "onay tarihi",
                "tarih",
                "date",
                "islem tarihi",
            ),
        ),
        "source": (("source", "kaynak", "izin kaynagi", "consent source"),),
        "recipient_type": (("recipienttype", "recipient type", "alici tipi", "alici turu"),),
        "brand": (("brand", "marka", "brandcode", "brand code", "marka kodu"),),
    }
)
_CONSENT_FIELDS: Final = (
    "recipient",
    "channel",
    "status",
    "consent_date",
    "source",
    "recipient_type",
    "brand",
)

_STATUSES: Final[dict[str, ConsentStatus]] = {
    **dict.fromkeys(
        ("onay", "onaylandi", "evet", "yes", "1", "true", "opt in", "optin", "izinli", "izin"),
        ConsentStatus.ONAY,
    ),
    **dict.fromkeys(
        (
            "ret",
            "red",
            "reddedildi",
            "hayir",
            "no",
            "0",
            "false",
            "opt out",
            "optout",
            "iptal",
            "izinsiz",
        ),
        ConsentStatus.RET,
    ),
}
_CHANNELS: Final[dict[str, Channel]] = {
    **dict.fromkeys(("mesaj", "sms", "kisa mesaj", "message"), Channel.MESAJ),
    **dict.fromkeys(("arama", "call", "ses", "voice", "telefon"), Channel.ARAMA),
    **dict.fromkeys(("eposta", "e posta", "email", "e mail", "mail"), Channel.EPOSTA),
}
_SOURCES: Final[dict[str, ConsentSource]] = {fold(s.value): s for s in ConsentSource}
_DATE_FORMATS: Final = (
    "%Y-%m-%d %H:%M:%S",  # İYS
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
)
# The İYS form and its shorter ones, zero-padded: what exports write. For these
# datetime.fromisoformat reads exactly what strptime with the first three formats
# reads, in a third of the time; anything else (a bad date too) takes the loop.
_ISO_LIKE: Final = re.compile(r"\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2}(?::\d{2})?)?")
# Excel counts days from 1899-12-30; serials outside these bounds are no dates.
_EXCEL_EPOCH: Final = datetime(1899, 12, 30)
_EXCEL_SERIALS: Final = (1.0, 2958466.0)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _errors(value: Iterable[RowError]) -> tuple[RowError, ...]:
    return tuple(value)


@attrs.frozen
class MigrationReport:
    """What a migration took and what it refused, row by row.

    ``rows`` counts the data rows read below the header; when ``complete``
    each is counted once in ``taken``, ``duplicates`` (the same entry as an
    earlier row), ``refused``, ``blank`` or ``skipped`` (rows up to
    ``resume_after``). ``warnings`` are rows that were
    taken with a default (a blacklist row with an unreadable date is still
    blacklisted, dated now). ``ignored_columns`` were not kept anywhere.
    """

    path: Path
    kind: str  # "blacklist" or "consent"
    taken: int
    refused: tuple[RowError, ...] = attrs.field(converter=_errors)
    duplicates: int
    blank: int
    rows: int
    header_row: int
    mapping: Mapping[str, str]
    complete: bool
    stored_through: int
    already_present: int = 0
    skipped: int = 0
    warnings: tuple[RowError, ...] = attrs.field(default=(), converter=_errors)
    ignored_columns: tuple[str, ...] = ()
    format: str = ""

    def __str__(self) -> str:
        return self.summary()

    def summary(self, terms: Terms = PYTHON_TERMS) -> str:
        """The counts, and the first refused rows, as :class:`str` gives them; ``terms``
        say where the others are listed."""
        what = "blacklist entries" if self.kind == "blacklist" else "consent events"
        state = "" if self.complete else f" — STOPPED, rows up to {self.stored_through} stored"
        lines = [
            f"{self.path.name}: {self.taken:,} {what} taken, {len(self.refused):,} refused, "
            f"{self.duplicates:,} duplicates, {self.blank:,} blank ({self.rows:,} rows below "
            f"the header on row {self.header_row}){state}"
        ]
        lines += [
            f"  row {e.row}, column {e.column}: {e.value!r}: {e.reason}" for e in self.refused[:10]
        ]
        if len(self.refused) > 10:
            more = terms.all_rows.format(kind="refused")
            lines.append(f"  … and {len(self.refused) - 10:,} more ({more})")
        return "\n".join(lines)

    def refused_csv(self, path: str | Path) -> int:
        """Write the refused rows (row, column, value, reason) as CSV; return how many."""
        return write_csv(
            path,
            ("row", "column", "value", "reason"),
            ((e.row, e.column, e.value, e.reason) for e in self.refused),
        )


def parse_consent_date(value: Cell) -> datetime:
    """A timezone-aware datetime from a cell; a time without a zone is Istanbul time.

    Accepts Excel date cells, Excel serial numbers, the İYS text form
    ``yyyy-MM-dd HH:mm:ss``, ``dd.MM.yyyy [HH:mm[:ss]]``, ``dd/MM/yyyy …`` (day
    first, as in Turkey) and ISO 8601 (``2024-03-01T09:30:00+03:00``, ``…Z``).
    Raises :class:`InvalidValue` otherwise.
    """
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=ISTANBUL)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=ISTANBUL)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if _EXCEL_SERIALS[0] <= value < _EXCEL_SERIALS[1]:
            moment = _EXCEL_EPOCH + timedelta(days=float(value))
            return moment.replace(microsecond=0, tzinfo=ISTANBUL)
        raise InvalidValue(f"{value!r} is not a date")
    text = cell_text(value)
    if not text:
        raise InvalidValue("no date")
    if _ISO_LIKE.fullmatch(text):
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(text).replace(tzinfo=ISTANBUL)
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=ISTANBUL)
        except ValueError:
            continue
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidValue(
            f"unreadable date {text!r}: expected yyyy-MM-dd HH:mm:ss (İYS), dd.MM.yyyy "
            "HH:mm or ISO 8601"
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=ISTANBUL)


# -- shared plumbing ------------------------------------------------------------


@attrs.frozen
class _Source:
    path: Path
    reader: TableReader
    header_row: int
    header: tuple[str, ...]
    columns: Mapping[str, int]
    rows: Iterator[Sequence[Cell]]

    def name(self, index: int) -> str:
        if index < len(self.header) and self.header[index]:
            return self.header[index]
        return column_letter(index)

    def mapping(self) -> dict[str, str]:
        return {field: self.name(i) for field, i in self.columns.items()}

    def extra_columns(self) -> list[tuple[str, int]]:
        used = set(self.columns.values())
        return [(h, i) for i, h in enumerate(self.header) if h and i not in used]


def _open(
    path: Path,
    sheet: str | int | None,
    mapping: Mapping[str, str | int] | None,
    *,
    table: Mapping[str, tuple[str, int]],
    required: str,
    fields: Sequence[str],
    expected: str,
    terms: Terms = PYTHON_TERMS,
    meter: Meter | None = None,
) -> _Source:
    reader = open_table(path, sheet=sheet, meter=meter)
    try:
        if meter is not None:
            meter.phase("importing", reader.meter_total, reader.meter_unit)
        rows = iter(reader)
        top = list(itertools.islice(rows, HEADER_SCAN_ROWS))
        found = resolve_columns(
            path,
            top,
            mapping,
            table=table,
            required=required,
            fields=fields,
            custom_prefix=None,
            expected=expected,
            terms=terms,
        )
    except BaseException:
        reader.close()
        raise
    header_row = 0 if found.header_index is None else found.header_index + 1
    return _Source(
        path,
        reader,
        header_row,
        tuple(cell_text(c) for c in found.header),
        found.columns,
        itertools.chain(top[header_row:], rows),
    )


class _Tally:
    """Counts and errors of one migration run."""

    def __init__(
        self,
        source: _Source,
        kind: str,
        terms: Terms = PYTHON_TERMS,
        meter: Meter | None = None,
    ) -> None:
        self.source = source
        self.kind = kind
        self.terms = terms
        self.meter = meter
        self.next_update = source.header_row + METER_ROWS
        self.taken = self.duplicates = self.blank = self.already_present = self.skipped = 0
        self.refused: list[RowError] = []
        self.warnings: list[RowError] = []
        self.row = source.header_row
        self.stored_through = source.header_row

    def next_row(self) -> int:
        """Count one more row read (and tell the meter now and then); return its number."""
        self.row += 1
        if self.meter is not None and self.row > self.next_update:
            self.meter.update(self.source.reader.meter_done(self.row - 1))
            self.next_update = self.row - 1 + METER_ROWS
        return self.row

    def refuse(self, row: int, column: int | str, value: Cell, reason: str) -> None:
        name = column if isinstance(column, str) else self.source.name(column)
        self.refused.append(RowError(row, name, cell_text(value), reason))

    def report(self, *, complete: bool, ignored: Sequence[str] = ()) -> MigrationReport:
        source = self.source
        if complete and self.meter is not None:
            self.meter.update(source.reader.meter_done(self.row))
        return MigrationReport(
            path=source.path,
            kind=self.kind,
            taken=self.taken,
            refused=sorted(self.refused, key=_row_of),
            duplicates=self.duplicates,
            blank=self.blank,
            rows=max(self.row - source.header_row, 0),
            header_row=source.header_row,
            mapping=source.mapping(),
            complete=complete,
            stored_through=self.stored_through,
            already_present=self.already_present,
            skipped=self.skipped,
            warnings=self.warnings,
            ignored_columns=tuple(ignored),
            format=source.reader.format,
        )

    def failed(self, exc: Exception, ignored: Sequence[str] = ()) -> ImportFailed:
        report = self.report(complete=False, ignored=ignored)
        return ImportFailed(
            f"{self.source.path.name}: the migration stopped at row {self.row}: {exc}. "
            f"Rows up to {report.stored_through} are stored ({report.taken:,} taken).",
            report=report,
        )


def _row_of(error: RowError) -> int:
    return error.row


def _cell(row: Sequence[Cell], index: int | None) -> Cell:
    if index is None or index >= len(row):
        return ""
    return row[index]


# -- blacklist -------------------------------------------------------------------


def import_blacklist(
    storage: Storage,
    path: str | Path,
    *,
    mapping: Mapping[str, str | int] | None = None,
    reason: str = "migrated",
    source: str | None = None,
    sheet: str | int | None = None,
    clock: Callable[[], datetime] = _utcnow,
    meter: Meter | None = None,
    terms: Terms = PYTHON_TERMS,
) -> MigrationReport:
    """Blacklist every number of a CSV or Excel file exported by another provider.

    The number column is found by its header (Telefon, GSM, Numara, Alıcı …);
    Sebep/Reason, Kaynak/Source and Tarih/Date columns are kept when present,
    ``reason`` and ``source`` are the defaults for rows without them, and the
    date defaults to now. A row is refused only when its number is unusable: a
    readable number is always blacklisted, and an unreadable date becomes a
    warning, never a reason to send to someone who opted out. An existing entry
    of the same number is replaced (counted in ``already_present``), so running
    the same file twice is safe. ``mapping`` names columns for the fields
    ``number``, ``reason``, ``source`` and ``date``. ``meter`` hears how far the
    reading got (:class:`~isobil.contacts.Meter`); ``terms`` name the options
    in messages (:data:`~isobil.contacts.SHELL_TERMS` for a command line).
    """
    if not reason.strip():
        raise InvalidValue("a blacklist entry needs a reason")
    src = _open(
        Path(path),
        sheet,
        mapping,
        table=_BLACKLIST_TABLE,
        required="number",
        fields=_BLACKLIST_FIELDS,
        expected="Expected a number column named like Telefon, GSM, Cep, Numara or Phone",
        terms=terms,
        meter=meter,
    )
    columns = src.columns
    ignored = [h for h, _ in src.extra_columns()]
    num_i = columns["number"]
    reason_i, source_i, date_i = columns.get("reason"), columns.get("source"), columns.get("date")
    normalize = Normalizer()
    tally = _Tally(src, "blacklist", terms, meter)
    seen: dict[str, None] = {}  # untracked by the garbage collector, unlike a set
    pending: list[BlacklistEntry] = []
    now = clock()
    try:
        with src.reader:
            for row in src.rows:
                tally.next_row()
                raw = _cell(row, num_i)
                if _is_blank(row):
                    tally.blank += 1
                    continue
                try:
                    number = normalize(raw)  # type: ignore[arg-type]  # other cells raise
                except InvalidValue as exc:
                    why = terms.number_reason(getattr(exc, "reason", str(exc)))
                    tally.refuse(tally.row, num_i, raw, why)
                    continue
                if number in seen:
                    tally.duplicates += 1
                    continue
                seen[number] = None
                added_at = now
                if date_i is not None and cell_text(_cell(row, date_i)):
                    try:
                        added_at = parse_consent_date(_cell(row, date_i))
                    except InvalidValue as exc:
                        tally.warnings.append(
                            RowError(
                                tally.row,
                                src.name(date_i),
                                cell_text(_cell(row, date_i)),
                                f"{exc}; blacklisted with today's date",
                            )
                        )
                pending.append(
                    BlacklistEntry(
                        number,
                        cell_text(_cell(row, reason_i)) or reason,
                        added_at,
                        cell_text(_cell(row, source_i)) or source,
                    )
                )
                if len(pending) >= MIGRATION_CHUNK:
                    _store_blacklist(storage, pending, tally)
                    pending = []
            _store_blacklist(storage, pending, tally)
    except Exception as exc:
        raise tally.failed(exc, ignored) from exc
    return tally.report(complete=True, ignored=ignored)


def _store_blacklist(storage: Storage, pending: list[BlacklistEntry], tally: _Tally) -> None:
    if pending:
        new = storage.add_to_blacklist(pending)
        tally.taken += len(pending)
        tally.already_present += len(pending) - new
    tally.stored_through = tally.row


# -- consent history --------------------------------------------------------------


def import_consent_history(
    ledger_append: Callable[[Sequence[ConsentEvent]], list[ConsentEvent]],
    path: str | Path,
    *,
    brand: str | None = None,
    brands: Collection[str] | None = None,
    mapping: Mapping[str, str | int] | None = None,
    default_source: ConsentSource | str | None = None,
    sheet: str | int | None = None,
    resume_after: int = 0,
    clock: Callable[[], datetime] = _utcnow,
    meter: Meter | None = None,
    terms: Terms = PYTHON_TERMS,
) -> MigrationReport:
    """Turn a consent history exported by another provider into ledger events.

    Columns as in an İYS export (``recipient``, ``type``, ``status``,
    ``consentDate``, ``source``, ``recipientType``, ``brand``) or their Turkish
    names (Alıcı, Kanal, Durum, İzin Tarihi, Kaynak, Alıcı Tipi, Marka). Each
    valid row becomes a :class:`~isobil.model.ConsentEvent` with its original
    date and source, ``recorded_at`` now, and evidence ``{"migrated_from": file
    name, "row": n}`` plus every other non-empty column of the row. Events are
    handed to ``ledger_append`` (e.g. ``ConsentLedger.append``) in chunks.

    Refused with a reason: an unusable address, an unknown status (ONAY/RET;
    also RED, onay, evet/hayır, 1/0), channel (MESAJ/ARAMA/EPOSTA, also SMS) or
    source (the İYS codes), an unreadable date or one in the future, no brand
    (and no ``brand=`` default) or a brand outside ``brands``. A row missing
    the channel is MESAJ; missing the source, ``default_source`` (refused if
    none). An identical row repeated is a duplicate.

    The ledger is append-only, so running the same file twice records the
    events twice. If a migration stops (``ImportFailed``), its report says up to
    which row everything is stored; pass that row as ``resume_after`` to go on.
    ``meter`` and ``terms`` are as for :func:`import_blacklist`.
    """
    default_brand = None if brand is None else normalize_brand(brand)
    allowed = None if brands is None else frozenset(normalize_brand(b) for b in brands)
    fallback_source = None
    if default_source is not None:
        fallback_source = _SOURCES.get(fold(str(default_source)))
        if fallback_source is None:
            raise InvalidValue(f"unknown consent source {default_source!r}")
    src = _open(
        Path(path),
        sheet,
        mapping,
        table=_CONSENT_TABLE,
        required="recipient",
        fields=_CONSENT_FIELDS,
        expected=(
            "Expected İYS-style columns (recipient, type, status, consentDate, source, "
            "recipientType, brand) or Turkish ones (Alıcı, Kanal, Durum, İzin Tarihi, "
            "Kaynak, Alıcı Tipi, Marka)"
        ),
        terms=terms,
        meter=meter,
    )
    extras = [(custom_key(h), i) for h, i in src.extra_columns()]
    tally = _Tally(src, "consent", terms, meter)
    reader = _ConsentRows(src, tally, default_brand, allowed, fallback_source, clock())
    pending: list[ConsentEvent] = []
    # Every row taken so far, to spot identical repeats: keys of strings and dates
    # (the enums by their values), which CPython's garbage collector untracks. Keys
    # holding the enums themselves stayed tracked, and every full collection walked
    # all of them (a tenth of a 200,000-row migration's time).
    seen: dict[tuple[str | datetime, ...], None] = {}
    try:
        with src.reader:
            for row in src.rows:
                tally.next_row()
                if tally.row <= resume_after:
                    tally.skipped += 1
                    tally.stored_through = tally.row
                    continue
                if _is_blank(row):
                    tally.blank += 1
                    continue
                event = reader.event(row, extras)
                if event is None:
                    continue
                key = (
                    event.address,
                    event.status.value,
                    event.source.value,
                    event.brand,
                    event.channel.value,
                    event.recipient_type.value,
                    event.consent_date,
                )
                if key in seen:
                    tally.duplicates += 1
                    continue
                seen[key] = None
                pending.append(event)
                if len(pending) >= MIGRATION_CHUNK:
                    _append_events(ledger_append, pending, tally)
                    pending = []
            _append_events(ledger_append, pending, tally)
    except Exception as exc:
        raise tally.failed(exc) from exc
    return tally.report(complete=True)


class _ConsentRows:
    """Reads one consent row into an event, or refuses it."""

    def __init__(
        self,
        source: _Source,
        tally: _Tally,
        brand: str | None,
        brands: frozenset[str] | None,
        default_source: ConsentSource | None,
        now: datetime,
    ) -> None:
        self.source = source
        self.tally = tally
        self.brand = brand
        self.brands = brands
        self.default_source = default_source
        self.now = now
        self.normalize = Normalizer()
        self.file = source.path.name

    def event(self, row: Sequence[Cell], extras: Iterable[tuple[str, int]]) -> ConsentEvent | None:
        columns = self.source.columns
        n = self.tally.row
        refuse = self.tally.refuse

        channel = Channel.MESAJ
        if "channel" in columns and cell_text(_cell(row, columns["channel"])):
            raw = _cell(row, columns["channel"])
            found_channel = _CHANNELS.get(fold(cell_text(raw)))
            if found_channel is None:
                refuse(
                    n, columns["channel"], raw, "unknown channel: expected MESAJ, ARAMA or EPOSTA"
                )
                return None
            channel = found_channel

        raw = _cell(row, columns["recipient"])
        text = cell_text(raw)
        if "@" in text:
            if channel is not Channel.EPOSTA or _EMAIL.fullmatch(text) is None:
                why = (
                    "not an e-mail address"
                    if channel is Channel.EPOSTA
                    else (f"an e-mail address cannot hold a {channel.value} consent")
                )
                refuse(n, columns["recipient"], raw, why)
                return None
            address = text.lower()
        else:
            try:
                address = self.normalize(raw)  # type: ignore[arg-type]  # other cells raise
            except InvalidValue as exc:
                why = self.tally.terms.number_reason(getattr(exc, "reason", str(exc)))
                refuse(n, columns["recipient"], raw, why)
                return None

        if "status" not in columns or not cell_text(_cell(row, columns["status"])):
            refuse(n, columns.get("status", "status"), "", "no status: expected ONAY or RET")
            return None
        raw = _cell(row, columns["status"])
        status = _STATUSES.get(fold(cell_text(raw)))
        if status is None:
            refuse(n, columns["status"], raw, "unknown status: expected ONAY or RET")
            return None

        if "consent_date" not in columns:
            refuse(n, "consent_date", "", "no consent date column")
            return None
        raw = _cell(row, columns["consent_date"])
        try:
            consent_date = parse_consent_date(raw)
        except InvalidValue as exc:
            refuse(n, columns["consent_date"], raw, str(exc))
            return None
        if consent_date > self.now:
            refuse(n, columns["consent_date"], raw, "the consent date is in the future")
            return None

        source = self.default_source
        if "source" in columns and cell_text(_cell(row, columns["source"])):
            raw = _cell(row, columns["source"])
            source = _SOURCES.get(fold(cell_text(raw)))
            if source is None:
                refuse(
                    n, columns["source"], raw, "unknown source: expected an İYS code such as HS_WEB"
                )
                return None
        if source is None:
            refuse(
                n,
                columns.get("source", "source"),
                "",
                f"no source, and no {self.tally.terms.default_source} given",
            )
            return None

        recipient_type = RecipientType.BIREYSEL
        if "recipient_type" in columns and cell_text(_cell(row, columns["recipient_type"])):
            raw = _cell(row, columns["recipient_type"])
            try:
                recipient_type = parse_recipient_type(cell_text(raw))
            except InvalidValue:
                refuse(
                    n,
                    columns["recipient_type"],
                    raw,
                    "unknown recipient type: expected BIREYSEL or TACIR",
                )
                return None

        brand = self.brand
        if "brand" in columns and cell_text(_cell(row, columns["brand"])):
            raw = _cell(row, columns["brand"])
            try:
                brand = normalize_brand(cell_text(raw))
            except InvalidValue as exc:
                refuse(n, columns["brand"], raw, str(exc))
                return None
        if brand is None:
            refuse(
                n,
                columns.get("brand", "brand"),
                "",
                f"no brand, and no {self.tally.terms.default_brand} given",
            )
            return None
        if self.brands is not None and brand not in self.brands:
            refuse(
                n,
                columns.get("brand", "brand"),
                brand,
                f"unknown brand: known are {', '.join(sorted(self.brands))}",
            )
            return None

        evidence = {"migrated_from": self.file, "row": str(n)}
        for key, index in extras:
            value = cell_text(_cell(row, index))
            if value:
                evidence.setdefault(key, value)
        return ConsentEvent(
            address=address,
            status=status,
            source=source,
            brand=brand,
            consent_date=consent_date,
            recorded_at=self.now,
            channel=channel,
            recipient_type=recipient_type,
            evidence=evidence,
        )


def _append_events(
    append: Callable[[Sequence[ConsentEvent]], list[ConsentEvent]],
    events: list[ConsentEvent],
    tally: _Tally,
) -> None:
    if events:
        try:
            tally.taken += len(append(events))
        except InvalidValue:
            # The ledger refused the chunk as a whole (atomically, nothing stored):
            # find the events it refuses one by one, and keep the rest.
            for event in events:
                try:
                    tally.taken += len(append([event]))
                except InvalidValue as exc:
                    tally.refuse(
                        int(event.evidence["row"]),
                        tally.source.columns["recipient"],
                        event.address,
                        str(exc),
                    )
    tally.stored_through = tally.row
