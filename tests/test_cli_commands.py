"""The `isobil` commands, driven in-process through `main([...])` on a SQLite file per test."""

from __future__ import annotations

import csv
import json
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import _pg
from isobil._cli import main

INIT = [
    "init",
    "--name",
    "Acme Ticaret A.Ş.",
    "--mersis",
    "0123456789012345",
    "--contact",
    "0850 123 45 67",
    "--originator",
    "ACME",
    "--brand",
    "ACME",
    "--short-number",
    "4605",
    "--transport",
    "fake",
]
INFO = ["--category", "informational"]
OPT_OUT = "Ret için ACME RET yazıp 4605 numarasına gönderin."

Capsys = pytest.CaptureFixture[str]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with its own database; nothing from the environment leaks in."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ISOBIL_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    return tmp_path


@pytest.fixture
def ready(workdir: Path, capsys: Capsys) -> Path:
    """`isobil init` has run and a group "M" holds two contacts."""
    assert main(INIT) == 0
    sheet = workdir / "rehber.csv"
    with sheet.open("w", encoding="utf-8", newline="") as file:
        csv.writer(file, delimiter=";").writerows(
            [
                ("Ad", "Soyad", "Cep Telefonu"),
                ("Ayşe", "Yılmaz", "0532 123 45 67"),
                ("Mehmet", "Kaya", "05337654321"),
                ("Hatalı", "Numara", "12345"),
            ]
        )
    assert main(["contacts", "import", str(sheet), "--group", "M"]) == 0
    capsys.readouterr()
    return workdir


def _json(capsys: Capsys) -> object:
    return json.loads(capsys.readouterr().out)


# -- init ---------------------------------------------------------------------


def test_init_writes_config_and_database(workdir: Path, capsys: Capsys) -> None:
    """`init` writes isobil.toml with the sender and creates the database."""
    assert main(INIT) == 0
    assert "database" in capsys.readouterr().out
    config = (workdir / "isobil.toml").read_text(encoding="utf-8")
    assert 'name = "Acme Ticaret A.Ş."' in config
    assert 'brands = ["ACME"]' in config
    assert (workdir / "cli.db").exists()


def test_init_does_not_print_the_database_password(workdir: Path, capsys: Capsys) -> None:
    with _pg.fresh_database() as url:
        # Trust auth ignores the password; what matters is that it is never printed.
        with_password = sa.make_url(url).set(password="S3cret-0042")  # noqa: S106
        db = with_password.render_as_string(hide_password=False)
        assert main([*INIT, "--db", db]) == 0
    out, err = capsys.readouterr()
    assert "S3cret-0042" not in out + err
    assert "postgres:***@" in out
    assert "isobil.toml holds the database password" in err  # --db wrote it there


def test_init_does_not_print_a_password_given_in_the_query(workdir: Path, capsys: Capsys) -> None:
    with _pg.fresh_database() as url:
        db = f"{url}?password=Q-s3cret-0042"  # trust auth ignores it
        assert main([*INIT, "--force", "--db", db]) == 0
    out, err = capsys.readouterr()
    assert "Q-s3cret-0042" not in out + err
    assert "?password=***" in out
    assert "holds the database password" in err


def test_init_refuses_to_overwrite_and_bad_identifiers(workdir: Path, capsys: Capsys) -> None:
    """A second `init` needs --force; an invalid MERSİS is refused before anything is written."""
    assert main(INIT) == 0
    assert main(INIT) == 1
    assert "--force" in capsys.readouterr().err
    assert main([*INIT, "--force", "--mersis", "123"]) == 1
    assert "invalid MERSIS number '123'" in capsys.readouterr().err
    assert "0123456789012345" in (workdir / "isobil.toml").read_text(encoding="utf-8")
    assert main([*INIT, "--force"]) == 0


def test_commands_needing_a_sender_ask_for_init(workdir: Path, capsys: Capsys) -> None:
    """Without isobil.toml, `check` fails with exit 1 and says to run `isobil init`."""
    assert main(["check", "Merhaba", "--to", "05321234567"]) == 1
    assert "isobil init" in capsys.readouterr().err


# -- contacts -----------------------------------------------------------------


def test_contacts_import_json_warns_about_invalid_rows(ready: Path, capsys: Capsys) -> None:
    """Import prints the report (JSON here); invalid rows are a warning on stderr, exit 0."""
    sheet = ready / "more.csv"
    sheet.write_text(
        "Müşteri GSM;Ad\n0542 111 22 33;Zeynep\nabc;Yok\n",
        encoding="utf-8",
    )
    mapping = ["--mapping", "number=Müşteri GSM"]
    assert main(["contacts", "import", str(sheet), "--group", "N", *mapping, "--json"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["imported"] == 1
    assert report["invalid"][0]["row"] == 3
    assert report["mapping"]["number"] == "Müşteri GSM"
    assert "1 invalid row(s)" in captured.err
    assert "importing" not in captured.err  # no progress line: stderr is no terminal


def test_contacts_import_missing_file_fails(ready: Path, capsys: Capsys) -> None:
    """A file that cannot be read is exit 1 with the reason."""
    assert main(["contacts", "import", str(ready / "nope.xlsx")]) == 1
    assert "isobil:" in capsys.readouterr().err


def test_contacts_export_round_trips(ready: Path, capsys: Capsys) -> None:
    """`contacts export` writes the group's contacts."""
    target = ready / "out.csv"
    assert main(["contacts", "export", str(target), "--group", "M"]) == 0
    assert "exported 2 contact(s)" in capsys.readouterr().out
    assert "+905321234567" in target.read_text(encoding="utf-8")


# -- check and send -------------------------------------------------------------


def test_check_ok_and_refused(ready: Path, capsys: Capsys) -> None:
    """`check` exits 0 for an allowed message, 1 for a refused one (with the rule ids)."""
    assert main(["check", "Siparişiniz kargoda.", *INFO, "--group", "M"]) == 0
    assert "ok to send" in capsys.readouterr().out
    assert main(["check", "Büyük indirim!", "--to", "05321234567,05337654321"]) == 1
    assert "TR-OPTOUT-002" in capsys.readouterr().out


def test_check_json_and_as_of(ready: Path, capsys: Capsys) -> None:
    """`check --json` prints the preflight report's dict, judged as of the given day."""
    args = ["check", "Siparişiniz kargoda.", *INFO, "--to", "05321234567", "--json"]
    assert main([*args, "--as-of", "2026-01-05"]) == 0
    report = _json(capsys)
    assert isinstance(report, dict)
    assert report["as_of"] == "2026-01-05"
    assert report["allowed"] == ["+905321234567"]


def test_send_submits_through_the_fake_and_says_so(ready: Path, capsys: Capsys) -> None:
    """`send` submits, prints masked outcomes, and notes on stderr that nothing left."""
    assert main(["send", "Siparişiniz kargoda.", *INFO, "--group", "M"]) == 0
    captured = capsys.readouterr()
    assert "submitted=2" in captured.out
    assert "1234567" not in captured.out
    assert "nothing leaves this machine" in captured.err


def test_send_refused_exits_1(ready: Path, capsys: Capsys) -> None:
    """A commercial text without an opt-out is refused: exit 1 with the reason."""
    assert main(["send", "Büyük indirim!", "--group", "M"]) == 1
    assert "send refused" in capsys.readouterr().err


def test_send_json_then_delivery_reports(ready: Path, capsys: Capsys) -> None:
    """`send --json` gives the campaign id; `report delivery` shows it as text, JSON, files."""
    assert main(["send", "Siparişiniz kargoda.", *INFO, "--to", "05321234567", "--json"]) == 0
    sent = _json(capsys)
    assert isinstance(sent, dict)
    assert sent["outcomes"][0]["status"] == "submitted"
    campaign = sent["campaign_id"]
    assert main(["report", "delivery", campaign]) == 0
    assert "submitted 1" in capsys.readouterr().out
    assert main(["report", "delivery", campaign, "--json"]) == 0
    assert _json(capsys) == {
        "campaign_id": campaign,
        "total": 1,
        "pending": 1,
        "counts": {"submitted": 1},
        "by_reason": {},
        "by_hour": {},
    }
    for flag, name in (("--html", "r.html"), ("--csv", "r.csv"), ("--xlsx", "r.xlsx")):
        assert main(["report", "delivery", campaign, flag, str(ready / name)]) == 0
        assert (ready / name).stat().st_size > 0
    assert "<svg" not in (ready / "r.html").read_text(encoding="utf-8")  # nothing settled yet
    capsys.readouterr()
    assert main(["report", "delivery", "no-such-campaign"]) == 1
    assert "no campaign" in capsys.readouterr().err


def test_send_at_queues_and_worker_leaves_it(ready: Path, capsys: Capsys) -> None:
    """`send --at` in the future queues; a worker pass sends nothing before its time."""
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert main(["send", "Randevunuz yarın.", *INFO, "--group", "M", "--at", later]) == 0
    assert "queued=2" in capsys.readouterr().out
    assert main(["worker", "--once"]) == 0
    assert "dispatched 0 message(s)" in capsys.readouterr().out


def test_prepaid_send_without_credits_exits_1(workdir: Path, capsys: Capsys) -> None:
    """With `init --prepaid`, a send the balance cannot pay is refused; a top-up fixes it."""
    assert main([*INIT, "--prepaid"]) == 0
    send = ["send", "Siparişiniz kargoda.", *INFO, "--to", "05321234567"]
    assert main(send) == 1
    assert "credit" in capsys.readouterr().err.lower()
    assert main(["credits", "top-up", "5", "--note", "fatura"]) == 0
    assert "balance: 5" in capsys.readouterr().out
    assert main(send) == 0
    assert main(["credits", "balance", "--json"]) == 0
    capsys.readouterr()
    assert main(["report", "credits"]) == 0
    out = capsys.readouterr().out
    assert "balance: 4 credit(s)" in out
    assert "top_up" in out
    assert "fatura" in out


def test_credits_top_up_refuses_nonsense(ready: Path, capsys: Capsys) -> None:
    """A top-up of zero is a bad value: exit 1; a non-number is a usage error: exit 2."""
    assert main(["credits", "top-up", "0"]) == 1
    with pytest.raises(SystemExit) as info:
        main(["credits", "top-up", "lots"])
    assert info.value.code == 2


def test_smpp_needs_its_password(
    ready: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--smpp` without the password variable set fails before connecting: exit 1."""
    monkeypatch.delenv("NO_SUCH_SMPP_PASSWORD", raising=False)
    args = ["send", "Merhaba.", *INFO, "--to", "05321234567", "--smpp", "127.0.0.1:1"]
    assert main([*args, "--system-id", "acme", "--password-env", "NO_SUCH_SMPP_PASSWORD"]) == 1
    assert "NO_SUCH_SMPP_PASSWORD" in capsys.readouterr().err


def test_send_without_audience_is_a_usage_error(ready: Path, capsys: Capsys) -> None:
    """Neither --to nor --group: argparse exits 2."""
    with pytest.raises(SystemExit) as info:
        main(["send", "Merhaba."])
    assert info.value.code == 2


# -- schedules ------------------------------------------------------------------


def test_schedule_add_list_cancel(ready: Path, capsys: Capsys) -> None:
    """`schedule TEXT …` adds (shorthand for `schedule add`), `list` shows it, `cancel` stops it."""
    text = f"KAMPANYA: haftalık bülten. {OPT_OUT}"
    start = "2030-01-07T10:00"
    assert main(["schedule", text, "--group", "M", "--start", start, "--weekly", "MO,TH"]) == 0
    assert "repeating FREQ=WEEKLY;BYDAY=MO,TH" in capsys.readouterr().out
    assert main(["schedule", "list", "--json"]) == 0
    [listed] = _json(capsys)  # type: ignore[misc]
    assert listed["group"] == "M"
    assert listed["next_at"].startswith("2030-01-07T07:00")  # 10:00 in Istanbul
    assert main(["schedule", "cancel", listed["id"]]) == 0
    assert main(["schedule", "list"]) == 0
    assert "cancelled" in capsys.readouterr().out
    assert main(["schedule", "cancel", "no-such-id"]) == 1
    assert "no schedule" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("repeat", "rule"),
    [
        (["--monthly", "31"], "BYSETPOS=-1"),
        (["--yearly", "02-29"], "BYMONTH=2"),
        (["--rrule", "FREQ=DAILY"], "FREQ=DAILY"),
        ([], "once"),
    ],
)
def test_schedule_repeats(ready: Path, capsys: Capsys, repeat: list[str], rule: str) -> None:
    """Monthly, yearly, raw RRULE and one-off schedules are accepted."""
    args = ["schedule", "add", "Kira hatırlatması.", *INFO, "--to", "05321234567"]
    assert main([*args, "--start", "2030-01-31T09:00", *repeat]) == 0
    assert rule in capsys.readouterr().out


def test_schedule_bad_weekday_exits_1(ready: Path, capsys: Capsys) -> None:
    """An unknown weekday is refused with the days it understands."""
    args = ["schedule", "Bülten.", *INFO, "--group", "M", "--start", "2030-01-07T10:00"]
    assert main([*args, "--weekly", "XX"]) == 1
    assert "MO,TH" in capsys.readouterr().err


# -- inbound, consent report, worker ----------------------------------------------


def test_inbound_opt_out_is_recorded_and_answered(ready: Path, capsys: Capsys) -> None:
    """`inbound` records a RET, prints the auto reply; the consent report counts it."""
    assert main(["inbound", "05321234567", "4605", "ACME RET"]) == 0
    out = capsys.readouterr().out
    assert "intent opt_out" in out
    assert "1 consent event(s)" in out
    assert "auto reply to +90********67" in out
    assert main(["report", "consent", "--json"]) == 0
    report = _json(capsys)
    assert isinstance(report, dict)
    assert report["opt_outs"] == 1
    assert main(["report", "consent", "--csv", str(ready / "c.csv")]) == 0
    assert (ready / "c.csv").exists()
    assert main(["report", "consent", "--since", "2000-01-01"]) == 0
    assert "1 opt-out(s)" in capsys.readouterr().out


def test_inbound_json_for_an_unknown_text(ready: Path, capsys: Capsys) -> None:
    """An unknown text is recorded as such; `--json` shows the reading."""
    assert main(["inbound", "05321234567", "4605", "merhaba", "--json"]) == 0
    result = _json(capsys)
    assert isinstance(result, dict)
    assert result["consent_events"] == []
    assert result["intent"] != "opt_out"


@pytest.mark.usefixtures("signal_guard")
@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM])
def test_worker_stops_cleanly_on_a_signal_between_passes(
    ready: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch, number: signal.Signals
) -> None:
    """Ctrl-C (or a service manager's SIGTERM) after a pass ends the worker with exit 0,
    without waiting out the interval; a second one ends it even mid-way."""

    def signalled(client: object) -> int:
        signal.raise_signal(number)
        return 0

    monkeypatch.setattr("isobil._cli._poll", signalled)
    assert main(["worker", "--interval", "3600"]) == 0
    assert "worker stopped" in capsys.readouterr().err

    def twice(client: object) -> int:
        signal.raise_signal(number)
        signal.raise_signal(number)
        raise AssertionError("the second signal did not stop the worker")

    monkeypatch.setattr("isobil._cli._poll", twice)
    assert main(["worker", "--interval", "3600"]) == 0
    assert "worker stopped" in capsys.readouterr().err


@pytest.mark.usefixtures("signal_guard")
@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_mid_pass_stops_the_worker_once_the_batch_in_flight_is_settled(
    ready: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch, number: signal.Signals
) -> None:
    """Ctrl-C or SIGTERM while a batch is at the transport (a deploy, `systemctl
    stop`): the worker settles it with the transport's answer and stops, exit 0.
    Before, Ctrl-C's KeyboardInterrupt abandoned the pass with the batch
    `submitting`, to become `unknown` when its lease ran out (and a batch claimed but
    not yet handed over with it: never sent); SIGTERM ended the process outright."""
    import isobil.client
    from isobil.transport import FakeTransport

    later = datetime.now(UTC) + timedelta(hours=1)
    assert (
        main(["send", "Randevunuz yarın.", *INFO, "--group", "M", "--at", later.isoformat()]) == 0
    )
    monkeypatch.setattr(isobil.client, "_now", lambda: later + timedelta(minutes=1))
    submit = FakeTransport.submit

    def signalled(self: FakeTransport, batch: Any) -> Any:
        signal.raise_signal(number)
        return submit(self, batch)

    monkeypatch.setattr(FakeTransport, "submit", signalled)
    capsys.readouterr()
    assert main(["worker", "--interval", "3600"]) == 0
    out, err = capsys.readouterr()
    assert "dispatched 2 message(s): submitted 2" in out
    assert "worker stopped" in err
    with sa.create_engine(f"sqlite:///{ready / 'cli.db'}").connect() as db:
        states = db.execute(sa.text("SELECT state, count(*) FROM isobil_messages GROUP BY state"))
        assert dict(states.all()) == {"submitted": 2}


@pytest.mark.usefixtures("signal_guard")
def test_a_signal_mid_send_stops_it_between_batches(
    ready: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while `isobil send` has its first batch of 500 at the transport: what was
    handed over is settled and listed, the rest of `--to` is never stored, exit 1
    saying so. Before, the KeyboardInterrupt left the batches `submitting` and the
    campaign running."""
    from isobil.transport import FakeTransport

    submit = FakeTransport.submit

    def signalled(self: FakeTransport, batch: Any) -> Any:
        if not self.sent:
            signal.raise_signal(signal.SIGINT)
        return submit(self, batch)

    monkeypatch.setattr(FakeTransport, "submit", signalled)
    numbers = ",".join(f"0532{i:07d}" for i in range(1, 1501))  # three batches of 500
    assert main(["send", "Randevunuz yarın.", *INFO, "--to", numbers]) == 1
    out, err = capsys.readouterr()
    assert "the rest were not sent" in err
    with sa.create_engine(f"sqlite:///{ready / 'cli.db'}").connect() as db:
        states = dict(
            db.execute(sa.text("SELECT state, count(*) FROM isobil_messages GROUP BY state")).all()
        )
        [status] = db.execute(sa.text("SELECT status FROM isobil_campaigns")).scalars()
    assert states in ({"submitted": 500}, {"submitted": 1000})
    assert f"send stopped by a signal after {states['submitted']:,} of 1,500 entries" in err
    assert sum(line.endswith(" submitted") for line in out.splitlines()) == states["submitted"]
    assert status == "done"


@pytest.mark.usefixtures("signal_guard")
def test_a_signal_while_a_scheduled_send_is_stored_cancels_it_whole(
    ready: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while `send --at` stores its audience: the campaign is cancelled whole
    (a scheduled send goes whole or not at all), exit 1 saying so."""
    import isobil.client
    from isobil.storage import SQLStorage

    monkeypatch.setattr(isobil.client, "_SEND_CHUNK", 3)
    add_messages = SQLStorage.add_messages
    signalled_once: list[bool] = []

    def signalled(self: SQLStorage, messages: Any) -> int:
        if not signalled_once:  # one Ctrl-C: a second would stop the command at once
            signalled_once.append(True)
            signal.raise_signal(signal.SIGINT)
        return add_messages(self, messages)

    monkeypatch.setattr(SQLStorage, "add_messages", signalled)
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    numbers = ",".join(f"0532{i:07d}" for i in range(1, 11))
    assert main(["send", "Randevunuz yarın.", *INFO, "--to", numbers, "--at", later]) == 1
    assert "will send nothing" in capsys.readouterr().err
    with sa.create_engine(f"sqlite:///{ready / 'cli.db'}").connect() as db:
        states = db.execute(sa.text("SELECT state, count(*) FROM isobil_messages GROUP BY state"))
        assert dict(states.all()) == {"cancelled": 3}


def test_worker_rejects_a_bad_interval(ready: Path, capsys: Capsys) -> None:
    """A zero interval is refused: exit 1."""
    assert main(["worker", "--interval", "0"]) == 1


# -- help -----------------------------------------------------------------------


@pytest.mark.parametrize("command", [[], ["send"], ["schedule", "add"], ["report", "delivery"]])
def test_help_teaches_with_examples(command: list[str], capsys: Capsys) -> None:
    """Every `--help` ends with examples; help exits 0."""
    with pytest.raises(SystemExit) as info:
        main([*command, "--help"])
    assert info.value.code == 0
    assert "examples:" in capsys.readouterr().out


def test_credit_and_compliance_reports(workdir: Path, capsys: Capsys) -> None:
    """`report credits` and `report compliance` print, write CSV/.xlsx and answer --json."""
    assert main([*INIT, "--prepaid"]) == 0
    assert main(["credits", "top-up", "5"]) == 0
    assert main(["send", "Siparişiniz kargoda.", *INFO, "--to", "05321234567"]) == 0
    capsys.readouterr()
    assert main(["report", "credits", "--csv", "krediler.csv"]) == 0
    capsys.readouterr()
    with (workdir / "krediler.csv").open(encoding="utf-8-sig", newline="") as file:
        assert [(r["kind"], r["running"]) for r in csv.DictReader(file)] == [
            ("top_up", "5"),
            ("reserve", "4"),
        ]
    assert main(["report", "credits", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["by_kind"]["reserve"] == -1
    assert main(["report", "compliance", "--xlsx", "uyum.xlsx"]) == 0
    assert "wrote uyum.xlsx" in capsys.readouterr().out
    assert (workdir / "uyum.xlsx").stat().st_size > 0
    assert main(["report", "compliance", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert [(c["messages"], c["blocked"]) for c in answer["campaigns"]] == [(1, 0)]
    assert main(["report", "compliance"]) == 0
    assert "1 campaign(s), 1 message(s), 0 blocked" in capsys.readouterr().out
    assert main(["report", "compliance", "no-such-campaign"]) == 1
