"""Progress of long commands: the reporter (total, rate, ETA, throttling, quiet off a
terminal, JSON lines), the import's early stages, and the `--json`/`--progress json` output."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from threading import Event
from typing import Any

import openpyxl
import pytest

import isobil.client
from isobil import Client, FakeTransport, Message
from isobil._cli import _dispatch, main
from isobil._progress import Progress, format_bytes, format_duration
from isobil.client import OutcomeStatus
from isobil.contacts import ImportFailed, import_contacts
from isobil.model import Recipient
from isobil.storage import MemoryStorage, UpsertResult

PROGRESS_KEYS = {"event", "phase", "done", "total", "unit", "rate", "eta", "elapsed"}
INFO = ["--category", "informational"]
Capsys = pytest.CaptureFixture[str]


@pytest.fixture
def ready(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capsys) -> Path:
    """A working directory after `isobil init` (fake transport), group "M" of two contacts."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ISOBIL_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    init = ["init", "--name", "Ali Veli", "--tckn", "10000000146", "--brand", "VELI"]
    assert main([*init, "--transport", "fake"]) == 0
    sheet = tmp_path / "rehber.csv"
    sheet.write_text("Ad;Telefon\nAyşe;0532 123 45 67\nAli;05337654321\n", encoding="utf-8")
    assert main(["contacts", "import", str(sheet), "--group", "M"]) == 0
    capsys.readouterr()
    return tmp_path


class Clock:
    """A clock that moves only when told (or by ``step`` on every reading)."""

    def __init__(self, step: float = 0.0) -> None:
        self.now = 0.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


# -- the reporter -----------------------------------------------------------------


def test_a_stage_is_drawn_at_once_with_its_total_then_with_rate_and_eta() -> None:
    """The first draw comes when the stage starts (total known, ETA not yet); once time
    has passed a draw shows the rate and the time left."""
    clock = Clock()
    out = Tty()
    bar = Progress(out, title="r.csv", clock=clock)
    assert bar.mode == "bar"
    bar.phase("importing", 36_500_000, "bytes")
    first = out.getvalue()
    assert first.startswith("\rr.csv: importing [")
    assert "0 B/36.5 MB 0%" in first
    assert "ETA …" in first
    clock.now = 0.5
    bar.update(3_650_000)
    line = out.getvalue()[len(first) :]
    assert "3.6 MB/36.5 MB 10%" in line
    assert "7.3 MB/s" in line
    assert "ETA 0:05" in line  # 32.9 MB left at 7.3 MB/s
    bar.finish()
    assert out.getvalue().endswith("\n")


def test_updates_are_throttled_to_five_a_second() -> None:
    """Updates closer than 0.2 s to the last draw are not drawn; the last state is
    drawn by finish()."""
    clock = Clock()
    out = Tty()
    bar = Progress(out, clock=clock)
    bar.phase("importing", 1000, "rows")
    for done in range(1, 101):
        clock.now = done / 1000  # 100 updates in 0.1 s
        bar.update(done)
    assert out.getvalue().count("\r") == 1
    clock.now = 0.25
    bar.update(200)
    assert out.getvalue().count("\r") == 2
    bar.finish()
    assert "200/1,000 rows 20%" in out.getvalue().rsplit("\r", 1)[1]


def test_quiet_when_the_stream_is_no_terminal() -> None:
    """mode="auto" on a pipe, a file or a test's capture draws nothing at all."""
    out = io.StringIO()
    bar = Progress(out)
    assert bar.mode == "off"
    assert not bar.active
    bar.phase("importing", 10, "rows")
    bar.update(5)
    with bar.ticking():
        pass
    bar.finish()
    assert out.getvalue() == ""


def test_json_lines_carry_the_documented_keys() -> None:
    """mode="json" writes each shown update as a JSON line, whatever the stream."""
    clock = Clock()
    out = io.StringIO()
    bar = Progress(out, title="r.csv", mode="json", clock=clock)
    bar.phase("importing", 1000, "rows")
    clock.now = 1.0
    bar.update(250)
    bar.finish(complete=False)
    lines = _lines(out)
    assert all(set(line) == PROGRESS_KEYS | {"command"} for line in lines)
    assert lines[0] == {
        "event": "progress",
        "command": "r.csv",
        "phase": "importing",
        "done": 0,
        "total": 1000,
        "unit": "rows",
        "rate": None,
        "eta": None,
        "elapsed": 0.0,
    }
    assert (lines[1]["done"], lines[1]["rate"], lines[1]["eta"]) == (250, 250.0, 3.0)


def test_a_short_stage_is_drawn_over_a_long_one_stays() -> None:
    """A stage shorter than a second is overwritten by the next; a longer one keeps its line."""
    clock = Clock()
    out = Tty()
    bar = Progress(out, clock=clock)
    bar.phase("opening the database", None, "rows")
    clock.now = 0.3
    bar.phase("checking", 100, "bytes")
    assert "\n" not in out.getvalue()
    clock.now = 2.0
    bar.update(100)
    bar.phase("importing", 10, "rows")
    assert out.getvalue().count("\n") == 1
    bar.finish(complete=True)


def test_an_estimated_total_is_corrected_when_the_stage_runs_out() -> None:
    """finish(complete=True) makes what was done the total; a total below what is
    done (a ZIP directory's sizes) never shows more than 100%."""
    clock = Clock()
    out = io.StringIO()
    bar = Progress(out, mode="json", clock=clock)
    bar.phase("dispatching", 1000, "messages")
    clock.now = 1
    bar.update(600)
    bar.finish(complete=True)
    assert _lines(out)[-1]["total"] == 600
    bar.phase("checking", 10, "bytes")
    assert bar.snapshot().total == 10
    bar.done = 15
    assert bar.snapshot().total == 15


def test_the_line_fits_the_terminal() -> None:
    """The bar shrinks, then goes, then the title is cut, before the figures are."""
    clock = Clock()
    bar = Progress(io.StringIO(), title="a-long-file-name.xlsx", mode="json", clock=clock)
    bar.phase("importing", 1_000_001, "rows")
    clock.now = 1
    bar.update(40_960)
    state = bar.snapshot()
    wide, narrow = state.line(bar.title, 120), state.line(bar.title, 80)
    assert "[" in wide
    assert "ETA 0:23" in wide
    assert "[" not in narrow
    assert narrow.endswith("ETA 0:23")
    assert len(narrow) <= 80
    assert narrow.startswith("a-long-file-name…: importing 40,960/1,000,001 rows 4%")


def test_formats() -> None:
    """Sizes in decimal units, durations as m:ss or h:mm:ss."""
    assert [format_bytes(n) for n in (999, 1536, 36_526_951, 2e9)] == [
        "999 B",
        "1.5 kB",
        "36.5 MB",
        "2.0 GB",
    ]
    assert [format_duration(s) for s in (0, 75.2, 3725)] == ["0:00", "1:15", "1:02:05"]


# -- the import's stages ------------------------------------------------------------


class Stop(Exception):
    """Raised by a meter to stop an import once it has seen what it needed."""


class Recording:
    """A meter that records (kind, stage, value, contacts stored so far)."""

    def __init__(self, storage: MemoryStorage, stop_after_updates: int | None = None) -> None:
        self.storage = storage
        self.events: list[tuple[str, str, int | None, int]] = []
        self.stage = ""
        self.stop_after = stop_after_updates

    def phase(self, label: str, total: int | None, unit: str) -> None:
        self.stage = label
        self.events.append(("phase", f"{label}/{unit}", total, self.storage.count_contacts()))

    def update(self, done: int) -> None:
        self.events.append(("update", self.stage, done, self.storage.count_contacts()))
        updates = sum(1 for e in self.events if e[0] == "update" and e[1] == "importing")
        if self.stop_after is not None and updates >= self.stop_after:
            raise Stop


class WriteCountingStorage(MemoryStorage):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def upsert_contacts(
        self, contacts: Iterable[Recipient], *, group: str | None = None
    ) -> UpsertResult:
        self.writes += 1
        return super().upsert_contacts(contacts, group=group)


def _million_row_csv(path: Path) -> Path:
    lines = ["Ad;Telefon"] + [f"A{i};0532{i:07d}" for i in range(1_000_000)]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    return path


def test_a_million_row_csv_reports_its_total_before_any_row_and_early_updates(
    tmp_path: Path,
) -> None:
    """The done-when of issue 19 without a wall clock: for a 1M-row CSV the meter hears
    the stage and its total (the file's size) before any row is read or stored, and its
    first update within the first MiB — a few thousand rows, not a chunk of 50,000.
    Fed to a Progress, that update already carries a rate and an ETA. The import is
    stopped there (raising from the meter cancels it)."""
    path = _million_row_csv(tmp_path / "big.csv")
    storage = WriteCountingStorage()
    meter = Recording(storage, stop_after_updates=1)
    with pytest.raises(ImportFailed) as caught:
        import_contacts(storage, path, meter=meter)
    assert isinstance(caught.value.__cause__, Stop)
    first, update = meter.events
    assert first == ("phase", "importing/bytes", path.stat().st_size, 0)
    kind, stage, done, stored = update
    assert (kind, stage, stored, storage.writes) == ("update", "importing", 0, 0)
    assert done is not None
    assert 0 < done <= 1 << 20
    # The same two calls, on the reporter the command uses, 0.3 s apart:
    clock = Clock()
    out = io.StringIO()
    bar = Progress(out, mode="json", clock=clock)
    bar.phase("importing", first[2], "bytes")
    clock.now = 0.3
    bar.update(done)
    shown = _lines(out)
    assert shown[0]["total"] == path.stat().st_size
    assert shown[1]["eta"] is not None
    assert shown[1]["eta"] > 0


def test_an_xlsx_reports_the_scan_then_the_reader_then_the_rows(tmp_path: Path) -> None:
    """An .xlsx is checked first (total: the unpacked size of its XML parts, from the
    ZIP directory), then loaded (no total), then imported (total: its rows); every
    stage is announced before the work of it, and nothing is stored before the rows."""
    path = tmp_path / "r.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Ad", "Telefon"])
    for i in range(9000):
        sheet.append([f"A{i}", f"0532{i:07d}"])
    book.save(path)
    with zipfile.ZipFile(path) as archive:
        xml = sum(i.file_size for i in archive.infolist() if i.filename.endswith((".xml", ".rels")))
    storage = WriteCountingStorage()
    meter = Recording(storage)
    report = import_contacts(storage, path, meter=meter, chunk_size=5000)
    phases = [e for e in meter.events if e[0] == "phase"]
    assert phases == [
        ("phase", "checking/bytes", xml, 0),
        ("phase", "loading/rows", None, 0),
        ("phase", "importing/rows", 9001, 0),
    ]
    checking = [e[2] for e in meter.events if e[:2] == ("update", "checking")]
    assert checking
    assert checking[-1] == xml
    importing = [e[2] for e in meter.events if e[:2] == ("update", "importing")]
    assert importing[0] == 4096 + 1  # the first few thousand rows, before the first chunk
    assert importing[-1] == 9001
    assert report.imported == 9000


def test_the_migrations_report_their_stages_too(tmp_path: Path) -> None:
    """import_blacklist tells the meter its total before reading rows."""
    from isobil.contacts import import_blacklist

    path = tmp_path / "k.csv"
    path.write_text("Telefon\n" + "".join(f"0532{i:07d}\n" for i in range(5000)), "utf-8")
    storage = MemoryStorage()
    meter = Recording(storage)
    report = import_blacklist(storage, path, meter=meter)
    size = path.stat().st_size
    assert meter.events[0] == ("phase", "importing/bytes", size, 0)
    assert [e[0] for e in meter.events[1:]] == ["update", "update"]
    assert meter.events[-1][2] == size
    assert report.taken == 5000


# -- the commands ---------------------------------------------------------------------


def test_import_progress_json_and_result_json(ready: Path, capsys: Capsys) -> None:
    """`--progress json` writes the stages as JSON lines on stderr; `--json` prints one
    JSON result on stdout; both parse."""
    sheet = ready / "more.csv"
    sheet.write_text("Telefon\n0542 111 22 33\n0542 111 22 34\n", encoding="utf-8")
    args = ["contacts", "import", str(sheet), "--json", "--progress", "json"]
    assert main(args) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert {"file", "imported", "updated", "duplicates", "blank", "rows", "invalid"} <= set(result)
    assert result["imported"] == 2
    lines = [json.loads(line) for line in captured.err.splitlines()]
    assert all(set(line) >= PROGRESS_KEYS for line in lines)
    phases = [line["phase"] for line in lines]
    assert phases[0] == "opening the database"
    importing = [line for line in lines if line["phase"] == "importing"]
    assert importing[0]["total"] == sheet.stat().st_size
    assert importing[-1]["done"] == sheet.stat().st_size


def test_commands_are_quiet_on_stderr_off_a_terminal(ready: Path, capsys: Capsys) -> None:
    """By default nothing but the result and warnings: capsys is no terminal."""
    assert main(["contacts", "export", str(ready / "out.csv")]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out == f"exported 2 contact(s) to {ready / 'out.csv'}\n"


def test_export_json_and_progress(ready: Path, capsys: Capsys) -> None:
    """`contacts export --json` prints the file, group and count; its stages have totals."""
    target = ready / "out.xlsx"
    assert main(["contacts", "export", str(target), "--json", "--progress", "json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {"file": str(target), "group": None, "exported": 2}
    lines = [json.loads(line) for line in captured.err.splitlines()]
    exporting = [line for line in lines if line["phase"] == "exporting"]
    assert exporting[0]["total"] == 2
    assert exporting[-1]["done"] == 2


def test_send_shows_recipients_sent_of_the_total(ready: Path, capsys: Capsys) -> None:
    """`send` counts the recipients handled against the audience, batch by batch."""
    args = ["send", "Siparişiniz kargoda.", *INFO, "--group", "M", "--progress", "json"]
    assert main(args) == 0
    err = capsys.readouterr().err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert (lines[0]["phase"], lines[0]["total"], lines[0]["done"]) == ("sending", 2, 0)
    assert (lines[-1]["total"], lines[-1]["done"], lines[-1]["unit"]) == (2, 2, "recipients")


def test_worker_json_prints_one_line_a_pass(ready: Path, capsys: Capsys) -> None:
    """`worker --once --json`: one JSON line with what the pass did."""
    assert main(["worker", "--once", "--json"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out) == {"dispatched": 0, "outcomes": {}, "lost": [], "pulled": 0}


def _queued(n: int, monkeypatch: pytest.MonkeyPatch) -> Client:
    """A client with ``n`` informational messages queued for an hour from now, and the
    client's clock moved past it."""
    at = datetime.now(UTC) + timedelta(hours=1)
    client = Client(transport=FakeTransport(), storage=MemoryStorage(), batch_size=500)
    notice = Message("Siparişiniz kargoya verildi.", category="informational")
    client.send(notice, to=[f"+90532{i:07d}" for i in range(n)], at=at)
    monkeypatch.setattr(isobil.client, "_now", lambda: at + timedelta(seconds=1))
    return client


def test_a_dispatch_pass_shows_progress_batch_by_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker pass over 1,200 queued messages, 500 a batch: past the first batch a line
    shows whose total is what was dispatched plus what waits (queued or being submitted
    behind it: exact here), and it counts up to 1,200."""
    out = io.StringIO()
    with _queued(1200, monkeypatch) as client:
        report = _dispatch(client, Progress(out, mode="json", clock=Clock(step=0.25)), Event())
    assert (report.handled, dict(report.outcomes)) == (1200, {OutcomeStatus.SUBMITTED: 1200})
    lines = _lines(out)
    assert {line["phase"] for line in lines} == {"dispatching"}
    assert {line["total"] for line in lines} == {1200}
    assert [line["done"] for line in lines] == [0, 500, 1000, 1200, 1200]


def test_an_idle_dispatch_pass_is_silent(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pass with less than a batch to do shows nothing."""
    out = io.StringIO()
    with _queued(3, monkeypatch) as client:
        report = _dispatch(client, Progress(out, mode="json"), Event())
    assert (report.handled, out.getvalue()) == (3, "")


def test_import_errors_name_the_flags(ready: Path, capsys: Capsys) -> None:
    """An import whose columns cannot be found says which flag names them, and a list
    longer than ten rows points at --json, not at a Python method."""
    (ready / "x.csv").write_text("foo;bar\n1;2\n", encoding="utf-8")
    assert main(["contacts", "import", "x.csv"]) == 1
    err = capsys.readouterr().err
    assert "--mapping 'number=Müşteri GSM' or --mapping number=2." in err
    assert "mapping=" not in err
    assert main(["contacts", "import", "x.csv", "--mapping", "numara=0"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("isobil: unknown field 'numara' in --mapping: expected one of number")
    bad = ready / "bad.csv"
    bad.write_text("Telefon\n" + "".join(f"12{i}\n" for i in range(12)), encoding="utf-8")
    assert main(["contacts", "import", str(bad)]) == 0
    out = capsys.readouterr().out
    assert "… and 2 more invalid rows (--json lists them all)" in out
    assert "short_numbers" not in out
