"""The ``isobil`` command line: set up, import, check, send, schedule, report, work.

Exit codes: 0 done; 1 refused or failed (a compliance refusal, too few
credits, a bad value, an unknown id, a missing config); 2 usage (argparse).
See docs/cli.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import tomllib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

from isobil import __version__, _demo, _stopping, phone
from isobil._progress import Progress
from isobil._time import ISTANBUL
from isobil.transport import TRANSPORT_KINDS

CONFIG_FILE = "isobil.toml"
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_FAKE_NOTE = (
    'isobil: using the fake transport (kind = "fake") — nothing leaves this machine; '
    "configure a real [transport] in isobil.toml to send"
)
_NO_TRANSPORT = """no transport configured, nothing was sent. Add a [transport] table to {config},
e.g.

  [transport]
  kind = "netgsm"                   # netgsm, iletimerkezi, verimor, jasmin, generic-json, smpp
  username = "8501234567"
  password_env = "NETGSM_PASSWORD"  # credentials come from the environment, never the file

or kind = "fake" to send nowhere while trying things out, or pass --smpp HOST:PORT
(see docs/cli.md and docs/providers/)"""

Handler = Callable[[argparse.Namespace], int]


class CliError(Exception):
    """A refusal the command reports on stderr and answers with ``exit_code`` (1)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        self.exit_code = exit_code
        super().__init__(message)


# -- formatting -------------------------------------------------------------


def _epilog(*examples: str) -> str:
    return "examples:\n" + "\n".join(f"  {e}" for e in examples)


def _print_json(value: object) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def _mask(number: str | None) -> str:
    return "-" if number is None else phone.mask(number)


# -- config -----------------------------------------------------------------


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a TOML basic string


def write_config(path: Path, values: dict[str, object], *, transport: str | None = None) -> None:
    """Write ``values`` (strings, booleans, lists of strings) as a flat TOML file,
    and a ``[transport]`` table of ``kind = transport`` when one is given."""
    lines = ["# isobil sender settings, written by `isobil init`"]
    lines += [f"{key} = {_toml_value(v)}" for key, v in values.items() if v is not None]
    if transport is not None:
        lines += [
            "",
            "# How messages leave (docs/providers/); credentials come from the environment:",
            '# password_env = "VARIABLE" names the variable that holds the password.',
            "[transport]",
            f"kind = {_toml_value(transport)}",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_config(path: Path) -> dict[str, Any]:
    """The settings in ``path`` (TOML), or an empty dict when there is no such file."""
    if not path.exists():
        return {}
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except tomllib.TOMLDecodeError as exc:
        raise CliError(f"{path} is not valid TOML: {exc}") from exc


def _sender(config: dict[str, Any]) -> Any:
    from isobil.config import sender_from_config

    return sender_from_config(config)


def _database_url(args: argparse.Namespace, config: dict[str, Any]) -> str:
    from isobil.config import database_url

    return str(args.db or database_url(config))


def _transport(args: argparse.Namespace, config: dict[str, Any]) -> Any:
    """The transport to send through: ``--smpp``, else the config's ``[transport]``.

    With neither, nothing is sent (exit 2): the fake transport is used only
    when chosen (``kind = "fake"``), and then says so.
    """
    from isobil.transport import FakeTransport, SmppTransport

    smpp: str | None = getattr(args, "smpp", None)
    if smpp is None:
        section = _transport_section(config)
        if section is None:
            raise CliError(_NO_TRANSPORT.format(config=args.config), exit_code=2)
        transport = _configured(section)
        if isinstance(transport, FakeTransport):
            print(_FAKE_NOTE, file=sys.stderr)
        return transport
    host, _, port = smpp.rpartition(":")
    if not host or not port.isdigit():
        raise CliError(f"--smpp wants HOST:PORT, got {smpp!r}")
    if not args.system_id or not args.password_env:
        raise CliError("--smpp needs --system-id and --password-env")
    password = os.environ.get(args.password_env)
    if password is None:
        raise CliError(f"the environment variable {args.password_env} (--password-env) is not set")
    return SmppTransport(host, int(port), system_id=args.system_id, password=password)


def _planning_transport(config: dict[str, Any]) -> Any:
    """A transport for commands that only count parts (check, schedule): the configured
    HTTP provider (nothing connects until a send), else the fake."""
    from isobil.transport import FakeTransport

    section = _transport_section(config)
    if section is None or section.get("kind") in ("smpp", "fake"):
        return FakeTransport()
    return _configured(section)


def _transport_section(config: dict[str, Any]) -> dict[str, Any] | None:
    section = config.get("transport")
    if section is not None and not isinstance(section, dict):
        raise CliError("[transport] in the config must be a table")
    return section


def _configured(section: dict[str, Any]) -> Any:
    from isobil.transport import transport_from_config

    return transport_from_config(section)


@contextmanager
def _client(
    args: argparse.Namespace,
    *,
    need_sender: bool = False,
    transport: Any = None,
    planning: bool = False,
) -> Iterator[Any]:
    """A client on the configured database, sender and transport; closed afterwards.

    Without ``transport`` it sends through the configured one (``planning``: it
    only counts parts with it).
    """
    from isobil.client import Client

    config = read_config(Path(args.config))
    if need_sender and "name" not in config:
        raise CliError(f"no sender in {args.config}: run `isobil init --name … --brand …` first")
    if transport is None:
        transport = _planning_transport(config) if planning else _transport(args, config)
    client = Client(
        _sender(config),
        transport=transport,
        database_url=_database_url(args, config),
        prepaid=bool(config.get("prepaid", False)),
    )
    with client:
        yield client


# -- parsing values -----------------------------------------------------------


def _when(value: str) -> datetime:
    """An ISO date-time; without an offset it is Istanbul time."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO date-time: {value!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=ISTANBUL)


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {value!r}") from exc


def _mapping(value: str) -> dict[str, str | int]:
    found: dict[str, str | int] = {}
    for pair in filter(None, (p.strip() for p in value.split(","))):
        field, sep, column = pair.partition("=")
        if not sep or not field or not column:
            raise argparse.ArgumentTypeError(f"--mapping wants field=Column pairs, got {pair!r}")
        found[field.strip()] = int(column) if column.strip().isdigit() else column.strip()
    return found


def _numbers(values: Iterable[str]) -> list[str]:
    return [n.strip() for v in values for n in v.split(",") if n.strip()]


def _audience(client: Any, args: argparse.Namespace) -> Any:
    if args.group is not None:
        group = client.contacts.group(args.group)
        if not len(group):
            raise CliError(f"the group {args.group!r} is empty or does not exist")
        return group
    return _numbers(args.to)


def _message(args: argparse.Namespace) -> Any:
    from isobil.model import Message

    return Message(args.text, category=args.category, brand=args.brand)


# -- commands ---------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    return _demo.run(sys.stdout, directory=args.dir)


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from isobil.config import DEFAULT_DATABASE_URL
    from isobil.storage import upgrade

    target = args.url or os.environ.get("ISOBIL_DATABASE_URL") or DEFAULT_DATABASE_URL
    revision = upgrade(target)
    print(f"database is at revision {revision}")
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    from isobil.storage import upgrade

    path = Path(args.config)
    if path.exists() and not args.force:
        raise CliError(f"{path} exists; pass --force to overwrite it")
    values: dict[str, object] = {
        "name": args.name,
        "mersis": args.mersis,
        "tckn": args.tckn,
        "contact": args.contact,
        "originator": args.originator,
        "brands": list(args.brand),
        "short_number": args.short_number,
        "prepaid": args.prepaid,
    }
    if args.db:
        values["database_url"] = args.db
    _sender(values)  # refuse bad identifiers before anything is written
    url = _database_url(args, values)
    revision = upgrade(url)
    write_config(path, values, transport=args.transport)
    from sqlalchemy.engine import make_url

    from isobil.storage._sql import safe_url, url_passwords

    database = make_url(url)
    print(f"wrote {path}; database {safe_url(database)} is at revision {revision}")
    if args.db and url_passwords(database):
        print(
            f"isobil: {path} holds the database password: keep it private, or give the URL "
            "as ISOBIL_DATABASE_URL in the environment instead of --db",
            file=sys.stderr,
        )
    return 0


def _progress(args: argparse.Namespace, title: str, *, opening: bool = False) -> Progress:
    """The progress line of a long command, on stderr, as ``--progress`` says.

    ``opening``: show a first stage at once, while the database library loads and
    connects (a good part of a second) before the work reports anything."""
    bar = Progress(sys.stderr, title=title, mode=args.progress)
    if opening:
        bar.phase("opening the database", None, "rows")
    return bar


def cmd_contacts_import(args: argparse.Namespace) -> int:
    from isobil.contacts import SHELL_TERMS, ImportFailed, ImportReport

    bar = _progress(args, Path(args.file).name, opening=True)
    with bar, _client(args, transport=_no_transport()) as client:
        try:
            with bar.ticking():
                report = client.contacts.import_file(
                    args.file,
                    group=args.group,
                    mapping=args.mapping,
                    meter=bar,
                    terms=SHELL_TERMS,
                )
        except ImportFailed as exc:
            bar.finish()
            if isinstance(exc.report, ImportReport):
                print(exc.report.summary(SHELL_TERMS), file=sys.stderr)
            raise CliError(str(exc)) from exc
    if args.json:
        _print_json(
            {
                "file": str(report.path),
                "imported": report.imported,
                "updated": report.updated,
                "duplicates": report.duplicates,
                "blank": report.blank,
                "rows": report.rows,
                "header_row": report.header_row,
                "mapping": dict(report.mapping),
                "group": report.group,
                "invalid": [
                    {"row": e.row, "column": e.column, "value": e.value, "reason": e.reason}
                    for e in report.invalid
                ],
            }
        )
    else:
        print(report.summary(SHELL_TERMS))
    if report.invalid:
        print(
            f"isobil: warning: {len(report.invalid)} invalid row(s) were not imported",
            file=sys.stderr,
        )
    return 0


def cmd_contacts_export(args: argparse.Namespace) -> int:
    bar = _progress(args, Path(args.file).name, opening=True)
    with bar, _client(args, transport=_no_transport()) as client:
        count = client.contacts.export(args.file, group=args.group, meter=bar)
    if args.json:
        _print_json({"file": args.file, "group": args.group, "exported": count})
    else:
        print(f"exported {count} contact(s) to {args.file}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    with _client(args, need_sender=True, planning=True) as client:
        report = client.check(
            _message(args), _audience(client, args), as_of=args.as_of, acknowledge=args.ack
        )
    if args.json:
        _print_json(report.to_dict())
    else:
        print(report)
    return 1 if report.refused else 0


def _outcome_json(outcome: Any) -> dict[str, object]:
    return {
        "number": outcome.number,
        "status": outcome.status.value,
        "reason": outcome.reason,
        "rule_ids": list(outcome.rule_ids),
        "message_id": outcome.message_id,
        "parts": None if outcome.plan is None else outcome.plan.parts,
    }


def cmd_send(args: argparse.Namespace) -> int:
    from isobil.errors import ComplianceError, InsufficientCredits
    from isobil.storage import CampaignStatus

    bar = _progress(args, "send")
    with _stopping.on_signals() as stop, bar, _client(args, need_sender=True) as client:
        audience = _audience(client, args)
        total = len(audience)  # for the bar and a stop's message (a group may change)
        try:
            bar.phase("sending", total, "recipients")
            result = client.send(
                _message(args),
                audience,
                at=args.at,
                acknowledge=args.ack,
                progress=bar.update,
                stop=stop,
            )
            campaign = client.storage.get_campaign(result.campaign_id)
        except ComplianceError as exc:
            bar.finish()
            if exc.report is not None and not args.json:
                print(exc.report, file=sys.stderr)
            raise CliError(f"send refused: {exc}") from exc
        except InsufficientCredits as exc:
            raise CliError(f"send refused: {exc}") from exc
    if args.json:
        _print_json(
            {
                "campaign_id": result.campaign_id,
                "credits": result.credits,
                "stopped": result.stopped,
                "outcomes": [_outcome_json(o) for o in result.outcomes],
            }
        )
    else:
        print(f"campaign {result.campaign_id}: {result!r}")
        for outcome in result.outcomes:
            why = ", ".join(outcome.rule_ids) or outcome.reason or ""
            print(f"  {_mask(outcome.number):16} {outcome.status.value:10} {why}".rstrip())
    if result.stopped:
        handled = sum(result.counts.values())
        raise CliError(
            f"send cancelled by a signal while it was stored: campaign {result.campaign_id} "
            "will send nothing (the entries listed as queued were cancelled)"
            if campaign is not None and campaign.status is CampaignStatus.CANCELLED
            else f"send stopped by a signal after {handled:,} of {total:,} entries were handled; "
            f"the rest were not sent (campaign {result.campaign_id} is done)"
        )
    return 0


def _rule(args: argparse.Namespace) -> str | None:
    from isobil.campaigns import monthly, weekly, yearly

    if args.weekly:
        days = [d.strip().upper() for d in args.weekly.split(",")]
        unknown = [d for d in days if d not in _WEEKDAYS]
        if unknown:
            raise CliError(f"--weekly wants days like MO,TH; unknown: {', '.join(unknown)}")
        return weekly(*(_WEEKDAYS.index(d) for d in days))
    if args.monthly is not None:
        return monthly(args.monthly)
    if args.yearly:
        month, sep, day = args.yearly.partition("-")
        if not sep or not month.isdigit() or not day.isdigit():
            raise CliError(f"--yearly wants MM-DD, got {args.yearly!r}")
        return yearly(int(month), int(day))
    rule: str | None = args.rrule
    return rule


def cmd_schedule_add(args: argparse.Namespace) -> int:
    with _client(args, need_sender=True, planning=True) as client:
        to = _numbers(args.to) if args.group is None else ()
        schedule = client.schedules.add(
            _message(args),
            to=to,
            group=args.group,
            start=args.start,
            rule=_rule(args),
            acknowledge=args.ack,
        )
    if args.json:
        _print_json(_schedule_json(schedule))
    else:
        print(
            f"schedule {schedule.id}: next at {_local(schedule.next_at)}"
            f"{' repeating ' + schedule.rule if schedule.rule else ', once'}"
        )
    return 0


def _local(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(ISTANBUL).isoformat(timespec="minutes")


def _schedule_json(schedule: Any) -> dict[str, object]:
    return {
        "id": schedule.id,
        "status": schedule.status.value,
        "next_at": None if schedule.next_at is None else schedule.next_at.isoformat(),
        "rule": schedule.rule,
        "group": schedule.payload.get("group") or None,
        "text": schedule.payload.get("text"),
    }


def cmd_schedule_list(args: argparse.Namespace) -> int:
    with _client(args, transport=_no_transport()) as client:
        schedules = client.schedules.all()
    if args.json:
        _print_json([_schedule_json(s) for s in schedules])
        return 0
    if not schedules:
        print("no schedules")
    for s in schedules:
        text = s.payload.get("text", "")
        short = text if len(text) <= 40 else text[:39] + "…"
        print(
            f"{s.id}  {s.status.value:9}  {_local(s.next_at):22}  {s.rule or 'once':30}  {short!r}"
        )
    return 0


def cmd_schedule_cancel(args: argparse.Namespace) -> int:
    with _client(args, transport=_no_transport()) as client:
        client.schedules.cancel(args.id)
    print(f"schedule {args.id} cancelled")
    return 0


def cmd_inbound(args: argparse.Namespace) -> int:
    from isobil.transport import FakeTransport

    fake = FakeTransport()
    with _client(args, need_sender=True, transport=fake) as client:
        started = datetime.now(ISTANBUL)
        sent_before = len(fake.sent)
        fake.receive(args.sender_number, args.receiver, args.text)
        records = [r for r in client.storage.iter_inbound(since=started) if r.text == args.text]
        replies = fake.sent[sent_before:]
    record = records[-1] if records else None
    if args.json:
        _print_json(
            {
                "intent": None if record is None else record.intent,
                "brand": None if record is None else record.brand,
                "keyword": None if record is None else record.keyword,
                "consent_events": [] if record is None else list(record.consent_seqs),
                "replies": [{"to": s.to, "text": s.text} for s in replies],
            }
        )
        return 0
    if record is None:
        raise CliError("the inbound text was not recorded")
    print(
        f"recorded: {_mask(record.from_)} → {record.to}: intent {record.intent}"
        f"{', brand ' + record.brand if record.brand else ''}"
        f"{', keyword ' + record.keyword if record.keyword else ''}; "
        f"{len(record.consent_seqs)} consent event(s)"
    )
    for reply in replies:
        print(f"auto reply to {_mask(reply.to)}: {reply.text}")
    if not replies:
        print("no auto reply")
    return 0


class _Exportable(Protocol):
    def to_csv(self, path: str | Path) -> None: ...
    def to_xlsx(self, path: str | Path) -> None: ...


def _export(report: _Exportable, args: argparse.Namespace) -> bool:
    """Write ``report`` where ``--csv`` or ``--xlsx`` says; whether it was written."""
    if args.csv:
        report.to_csv(args.csv)
        print(f"wrote {args.csv}")
    elif args.xlsx:
        report.to_xlsx(args.xlsx)
        print(f"wrote {args.xlsx}")
    else:
        return False
    return True


def cmd_report_delivery(args: argparse.Namespace) -> int:
    from isobil.campaigns import campaign_html

    with _client(args, transport=_no_transport()) as client:
        summary = client.reports.delivery(args.campaign_id)
    if _export(summary, args):
        return 0
    if args.html:
        Path(args.html).write_text(campaign_html(summary), encoding="utf-8")
        print(f"wrote {args.html}")
    elif args.json:
        _print_json(
            {
                "campaign_id": summary.campaign_id,
                "total": summary.total,
                "pending": summary.pending,
                "counts": {s.value: n for s, n in sorted(summary.counts.items())},
                "by_reason": dict(summary.by_reason),
                "by_hour": dict(sorted(summary.by_hour.items())),
            }
        )
    else:
        print(summary)
    return 0


def cmd_report_consent(args: argparse.Namespace) -> int:
    with _client(args, transport=_no_transport()) as client:
        report = client.reports.consent(since=args.since, until=args.until)
    if _export(report, args):
        return 0
    if args.json:
        _print_json(
            {
                "opt_ins": report.total("ONAY"),
                "opt_outs": report.total("RET"),
                "rows": [
                    {
                        "day": r.day.isoformat(),
                        "brand": r.brand,
                        "status": r.status,
                        "source": r.source,
                        "number": r.number,
                        "keyword": r.keyword,
                        "count": r.count,
                    }
                    for r in report.rows
                ],
                "unknown": [
                    {"received_at": u.received_at.isoformat(), "from": u.from_, "text": u.text}
                    for u in report.unknown
                ],
            }
        )
    else:
        print(report)
    return 0


def cmd_report_credits(args: argparse.Namespace) -> int:
    from isobil.storage import CreditKind

    with _client(args, transport=_no_transport()) as client:
        report = client.reports.credits(campaign_id=args.campaign)
    if _export(report, args):
        return 0
    if args.json:
        _print_json(
            {
                "balance": report.balance,
                "by_kind": {k.value: report.total(k) for k in CreditKind},
                "by_campaign": dict(report.by_campaign),
                "entries": [
                    {
                        "at": e.at.isoformat(),
                        "kind": e.kind.value,
                        "amount": e.amount,
                        "campaign_id": e.campaign_id,
                        "note": e.note,
                    }
                    for e in report.entries
                ],
            }
        )
        return 0
    print(report)
    for e in report.entries:
        print(
            f"  {_local(e.at):22} {e.kind.value:8} {e.amount:+8}  "
            f"{e.campaign_id or ''} {e.note or ''}".rstrip()
        )
    return 0


def cmd_report_compliance(args: argparse.Namespace) -> int:
    with _client(args, transport=_no_transport()) as client:
        report = client.reports.compliance(args.campaign_id, since=args.since, until=args.until)
    if _export(report, args):
        return 0
    if args.json:
        _print_json(
            {
                "campaigns": [
                    {
                        "campaign_id": c.campaign.id,
                        "category": c.campaign.category,
                        "brand": c.campaign.brand,
                        "messages": c.messages,
                        "blocked": c.blocked,
                        "acknowledged": list(c.acknowledged),
                    }
                    for c in report.campaigns
                ],
                "by_rule": dict(report.by_rule),
                "citations": dict(report.citations),
                "blocked": [
                    {
                        "campaign_id": b.campaign_id,
                        "number": b.to,
                        "rule_ids": list(b.rule_ids),
                        "reason": b.reason,
                        "blocked_at": None if b.at is None else b.at.isoformat(),
                    }
                    for b in report.blocked
                ],
            }
        )
        return 0
    print(report)
    return 0


def cmd_credits_top_up(args: argparse.Namespace) -> int:
    with _client(args, transport=_no_transport()) as client:
        balance = client.credits.top_up(args.amount, note=args.note)
    if args.json:
        _print_json({"balance": balance})
    else:
        print(f"balance: {balance} credit(s)")
    return 0


def cmd_credits_balance(args: argparse.Namespace) -> int:
    with _client(args, transport=_no_transport()) as client:
        balance = client.credits.balance()
    if args.json:
        _print_json({"balance": balance})
    else:
        print(f"balance: {balance} credit(s)")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    if args.interval <= 0:
        raise CliError(f"--interval must be positive, got {args.interval}")
    stopped = False
    try:
        with (
            _stopping.on_signals() as stop,
            _client(args) as client,
            _callback_server(args, client),
        ):
            _stop_if_refused(client.transport, wait=True)
            while _work(args, client, stop) and not stop.wait(args.interval):
                pass
            stopped = stop.is_set()
    except KeyboardInterrupt:
        stopped = True
    if stopped:
        print("isobil: worker stopped", file=sys.stderr)
    return 0


def _work(args: argparse.Namespace, client: Any, stop: _stopping.Stopping) -> bool:
    """One pass of the worker, reported; whether another should follow."""
    report = _dispatch(client, _progress(args, "worker"), stop)
    pulled = 0 if stop.is_set() else _poll(client)
    if args.json:
        # One JSON line a pass: a program reads them as they come.
        line = {
            "dispatched": report.handled,
            "outcomes": {s.value: n for s, n in report.outcomes.items()},
            "lost": list(report.lost),
            "pulled": pulled,
        }
        print(json.dumps(line, ensure_ascii=False))
    elif report.handled or report.lost or args.once:
        counts = ", ".join(f"{s.value} {n}" for s, n in report.outcomes.items())
        lost = f"; {len(report.lost)} lost to unknown" if report.lost else ""
        detail = f": {counts}" if counts else ""
        print(f"dispatched {report.handled} message(s){detail}{lost}")
    if not args.json and (pulled or (args.once and client.transport.polls)):
        print(f"pulled {pulled} delivery report(s) and inbound text(s)")
    sys.stdout.flush()
    _stop_if_refused(client.transport)
    return not args.once


def _dispatch(client: Any, bar: Progress, stop: _stopping.Stopping) -> Any:
    """One pass of the worker: ``client.dispatch()``. Once a batch was full, so more may
    follow, a progress line shows (total: what was dispatched plus what waits in running
    campaigns, an estimate corrected at the end); an idle pass shows nothing."""
    full = client.batch_size
    shown = False

    def progress(done: int) -> None:
        nonlocal shown
        if not shown:
            if done < full:
                return
            shown = True
            bar.phase("dispatching", done + _waiting(client.storage), "messages")
        bar.update(done)

    try:
        return client.dispatch(progress=progress, stop=stop)
    finally:
        if shown:  # a pass told to stop ends short of the total
            bar.finish(complete=not stop.is_set())


def _waiting(storage: Any) -> int:
    """Messages of running campaigns not yet sent: queued (some may be due only later)
    or being submitted."""
    from isobil.storage import CampaignStatus, MessageState

    return sum(
        counts.get(MessageState.QUEUED, 0) + counts.get(MessageState.SUBMITTING, 0)
        for counts in (
            storage.message_counts(c.id)
            for c in storage.list_campaigns()
            if c.status is CampaignStatus.RUNNING
        )
    )


#: How long a starting worker waits for its SMPP bind before it goes on regardless.
_BIND_WAIT = 5.0


def _stop_if_refused(transport: Any, *, wait: bool = False) -> None:
    """Stop the worker (exit 1, saying why) once the SMSC refused the bind for good.

    A refused password is not retried like a network error: nothing would ever be
    sent, so the worker stops instead of spinning. With ``wait`` (at start) it gives
    the bind a few seconds to be answered; an SMSC that is merely unreachable is
    retried in the background as before.
    """
    from isobil.errors import BindRefused, ConnectionFailed

    refused = getattr(transport, "refused", None)
    if wait and refused is None and hasattr(transport, "wait_bound"):
        try:
            transport.wait_bound(_BIND_WAIT)
        except BindRefused as exc:
            refused = exc
        except ConnectionFailed as exc:
            print(f"isobil: not bound yet, retrying in the background: {exc}", file=sys.stderr)
    if isinstance(refused, BindRefused):
        raise CliError(f"worker stopped: {refused}")


def _poll(client: Any) -> int:
    """Pull what a polled provider holds; a provider that fails is retried next pass."""
    from isobil.errors import TransportError

    try:
        return int(client.poll())
    except TransportError as exc:
        print(f"isobil: pulling reports failed, retried next pass: {exc}", file=sys.stderr)
        return 0


@contextmanager
def _callback_server(args: argparse.Namespace, client: Any) -> Iterator[None]:
    """Receive a pushing provider's reports and inbound texts while the worker runs,
    when the config's ``[callbacks]`` says where (``listen``, ``secret_env``, ``auth``)."""
    from isobil.config import callback_options
    from isobil.errors import ConfigurationError, InvalidValue
    from isobil.transport import HttpTransport

    config = read_config(Path(args.config))
    section = config.get("callbacks")
    if not isinstance(client.transport, HttpTransport) or client.transport.polls:
        yield
        return
    if not isinstance(section, dict) or "listen" not in section:
        print(
            "isobil: this provider pushes delivery reports and inbound texts: mount "
            "client.callbacks(...) in your web app, or add [callbacks] "
            'listen = "0.0.0.0:8089" and secret_env = "VAR" to receive them here',
            file=sys.stderr,
        )
        yield
        return
    host, _, port = str(section["listen"]).rpartition(":")
    if not host or not port.isdigit():
        raise CliError(f'[callbacks] listen must be "HOST:PORT", got {section["listen"]!r}')
    try:
        receiver = client.callbacks(**(callback_options(config) or {}))
    except (ConfigurationError, InvalidValue) as exc:
        raise CliError(str(exc) if str(exc).startswith("[") else f"[callbacks] {exc}") from exc
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *values: Any) -> None:
            pass

    server = make_server(host, int(port), receiver, handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    print(
        f"isobil: receiving callbacks on http://{host}:{server.server_port}/ "
        f"({receiver.auth} auth)",
        file=sys.stderr,
    )
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


# -- consent and blacklist ----------------------------------------------------

#: What ``isobil.rules.proof_missing`` says is missing → the flag that supplies it.
_PROOF_FLAGS = {
    "name and surname": "--name",
    "the positive statement": "--statement",
    "the signature (or signed document)": "--signature or --document",
    "that the box was not pre-ticked": "--not-pre-ticked",
    "that consent was not a condition of the sale": "--not-condition-of-sale",
}


def _brand(args: argparse.Namespace, config: dict[str, Any]) -> str:
    """``--brand``, else the sender's only brand."""
    if args.brand:
        return str(args.brand)
    brands = config.get("brands") or []
    if len(brands) == 1:
        return str(brands[0])
    if not brands:
        raise CliError(f"no brand in {args.config}: pass --brand (or `isobil init --brand …`)")
    raise CliError(f"the sender has several brands ({', '.join(brands)}): pass --brand")


def _evidence(args: argparse.Namespace) -> dict[str, str]:
    evidence: dict[str, str] = {}
    for pair in args.evidence:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise CliError(f"--evidence wants KEY=VALUE, got {pair!r}")
        evidence[key.strip()] = value.strip()
    named = {
        "name": args.name,
        "statement": args.statement,
        "signature": args.signature,
        "document": args.document,
        "reference": args.reference,
    }
    evidence.update({k: v.strip() for k, v in named.items() if v and v.strip()})
    if args.not_pre_ticked:
        evidence["pre_ticked"] = "no"
    if args.not_condition_of_sale:
        evidence["condition_of_sale"] = "no"
    return evidence


def cmd_consent_record(args: argparse.Namespace) -> int:
    from isobil.consent import event_to_json
    from isobil.model import ConsentSource
    from isobil.rules import proof_missing

    evidence = _evidence(args)
    if args.status == "ONAY":
        missing = proof_missing(ConsentSource(args.source), evidence)
        if missing:
            needs = "; ".join(
                f"{m} ({_PROOF_FLAGS.get(m, '--evidence KEY=VALUE')})" for m in missing
            )
            raise CliError(
                f"consent not recorded: a valid consent (Reg. art. 7, TR-CONSENT-004) "
                f"from {args.source} must show {needs}"
            )
    with _client(args, need_sender=True, transport=_no_transport()) as client:
        event = client.consent.record(
            args.number,
            args.status,
            source=args.source,
            brand=_brand(args, read_config(Path(args.config))),
            recipient_type=args.recipient_type,
            consent_date=args.date,
            evidence=evidence,
        )
    if args.json:
        _print_json(event_to_json(event))
    else:
        print(
            f"recorded {event.status.value} for {_mask(event.address)} "
            f"(brand {event.brand}, source {event.source.value}, "
            f"given {_local(event.consent_date)}; ledger event {event.seq})"
        )
    return 0


def cmd_consent_show(args: argparse.Namespace) -> int:
    from isobil.consent import event_to_json

    with _client(args, need_sender=True, transport=_no_transport()) as client:
        brand = _brand(args, read_config(Path(args.config)))
        state = client.consent.details(args.number, brand=brand)
        history = client.consent.history(args.number)
    if args.json:
        _print_json(
            {
                "number": phone.normalize(args.number),
                "brand": brand,
                "status": None if state is None else state.status.value,
                "since": None if state is None else state.since.isoformat(),
                "source": None if state is None else state.event.source.value,
                "iys": None if state is None or state.iys is None else state.iys.status.value,
                "history": [event_to_json(e) for e in history],
            }
        )
        return 0
    who = _mask(phone.normalize(args.number))
    if state is None:
        print(f"{who}: no consent on record for {brand} (a commercial send is refused)")
    else:
        iys = "not pushed yet" if state.iys is None else state.iys.status.value
        print(
            f"{who}: {state.status.value} for {brand} since {_local(state.since)} "
            f"(source {state.event.source.value}; İYS: {iys})"
        )
    for e in history:
        print(
            f"  {e.seq:>6}  {_local(e.consent_date):22} {e.status.value:4} {e.brand:10} "
            f"{e.source.value}"
        )
    return 0


def cmd_consent_export(args: argparse.Namespace) -> int:
    bar = _progress(args, "consent export")
    with bar, _client(args, transport=_no_transport()) as client:
        exported = client.consent.export(args.directory, number=args.number, meter=bar)
    verification = exported.verification
    if args.json:
        _print_json(
            {
                "directory": str(exported.directory),
                "events": exported.events,
                "files": [str(f) for f in exported.files],
                "verified": verification.ok,
                "problems": [str(p) for p in verification.problems],
            }
        )
    else:
        print(
            f"wrote {exported.events} consent event(s) to {exported.directory} "
            f"({', '.join(f.name for f in exported.files)})"
        )
    if not verification.ok:
        raise CliError(f"the consent ledger does not verify: {verification}")
    if not args.json:
        print(f"ledger verified: {verification.checked} event(s), hash chain intact")
    return 0


def _migration_json(report: Any) -> dict[str, object]:
    return {
        "file": str(report.path),
        "taken": report.taken,
        "already_present": report.already_present,
        "duplicates": report.duplicates,
        "blank": report.blank,
        "rows": report.rows,
        "header_row": report.header_row,
        "mapping": dict(report.mapping),
        "complete": report.complete,
        "refused": [
            {"row": e.row, "column": e.column, "value": e.value, "reason": e.reason}
            for e in report.refused
        ],
        "warnings": [
            {"row": e.row, "column": e.column, "value": e.value, "reason": e.reason}
            for e in report.warnings
        ],
    }


def _print_migration(report: Any, args: argparse.Namespace) -> None:
    from isobil.contacts import SHELL_TERMS

    if args.json:
        _print_json(_migration_json(report))
    else:
        print(report.summary(SHELL_TERMS))
    if report.refused:
        print(
            f"isobil: warning: {len(report.refused)} row(s) were refused and not imported",
            file=sys.stderr,
        )


def cmd_consent_import(args: argparse.Namespace) -> int:
    from isobil.contacts import SHELL_TERMS, ImportFailed, import_consent_history

    config = read_config(Path(args.config))
    bar = _progress(args, Path(args.file).name, opening=True)
    with bar, _client(args, need_sender=True, transport=_no_transport()) as client:
        try:
            with bar.ticking():
                report = import_consent_history(
                    client.consent.append,
                    args.file,
                    brand=args.brand,
                    brands=config.get("brands") or None,
                    mapping=args.mapping,
                    default_source=args.source,
                    meter=bar,
                    terms=SHELL_TERMS,
                )
        except ImportFailed as exc:
            raise CliError(f"consent import stopped: {exc}") from exc
    _print_migration(report, args)
    return 0


def cmd_blacklist_add(args: argparse.Namespace) -> int:
    numbers = _numbers(args.numbers)
    with _client(args, transport=_no_transport()) as client:
        entries = [client.blacklist.add(n, reason=args.reason, source=args.source) for n in numbers]
    if args.json:
        _print_json(
            [
                {"number": e.number, "reason": e.reason, "added_at": e.added_at.isoformat()}
                for e in entries
            ]
        )
    else:
        for e in entries:
            print(f"blacklisted {_mask(e.number)}: {e.reason}")
    return 0


def cmd_blacklist_remove(args: argparse.Namespace) -> int:
    numbers = [phone.normalize(n) for n in _numbers(args.numbers)]
    with _client(args, transport=_no_transport()) as client:
        removed = {n: client.blacklist.remove(n) for n in numbers}
    if args.json:
        _print_json([{"number": n, "removed": r} for n, r in removed.items()])
    else:
        for n, r in removed.items():
            print(f"{'removed' if r else 'not on the blacklist:'} {_mask(n)}")
    return 0


def cmd_blacklist_import(args: argparse.Namespace) -> int:
    from isobil.contacts import SHELL_TERMS, ImportFailed, import_blacklist

    bar = _progress(args, Path(args.file).name, opening=True)
    with bar, _client(args, transport=_no_transport()) as client:
        try:
            with bar.ticking():
                report = import_blacklist(
                    client.storage,
                    args.file,
                    mapping=args.mapping,
                    reason=args.reason,
                    source=args.source,
                    meter=bar,
                    terms=SHELL_TERMS,
                )
        except ImportFailed as exc:
            raise CliError(f"blacklist import stopped: {exc}") from exc
    _print_migration(report, args)
    return 0


def _no_transport() -> Any:
    """Commands that send nothing still give the client a transport: the fake, silently."""
    from isobil.transport import FakeTransport

    return FakeTransport()


# -- the parser -------------------------------------------------------------


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db",
        metavar="URL",
        help="database URL (default: $ISOBIL_DATABASE_URL, else the config's, "
        "else sqlite:///isobil.db)",
    )
    common.add_argument(
        "--config",
        default=CONFIG_FILE,
        metavar="FILE",
        help=f"sender settings written by `isobil init` (default: ./{CONFIG_FILE})",
    )
    return common


def _json_flag() -> argparse.ArgumentParser:
    flag = argparse.ArgumentParser(add_help=False)
    flag.add_argument("--json", action="store_true", help="print JSON instead of text")
    return flag


def _progress_flag() -> argparse.ArgumentParser:
    flag = argparse.ArgumentParser(add_help=False)
    flag.add_argument(
        "--progress",
        choices=("auto", "json", "off"),
        default="auto",
        help="the progress line on stderr: auto (drawn only when stderr is a terminal; "
        "the default), json (JSON lines, for a program that watches), off",
    )
    return flag


def _transport_flags() -> argparse.ArgumentParser:
    flags = argparse.ArgumentParser(add_help=False)
    flags.add_argument(
        "--smpp",
        metavar="HOST:PORT",
        help="send through this SMSC (default: the [transport] of the config)",
    )
    flags.add_argument("--system-id", help="SMPP system_id (with --smpp)")
    flags.add_argument(
        "--password-env",
        metavar="VAR",
        help="environment variable holding the SMPP password (with --smpp)",
    )
    return flags


def _message_flags(parser: argparse.ArgumentParser, *, audience_required: bool = True) -> None:
    parser.add_argument("text", help="the message text (templates: {ad}, {soyad}, …)")
    who = parser.add_mutually_exclusive_group(required=audience_required)
    who.add_argument(
        "--to",
        action="append",
        default=[],
        metavar="NUMBERS",
        help="numbers, comma separated or repeated",
    )
    who.add_argument("--group", metavar="G", help="a contact group")
    parser.add_argument(
        "--category",
        default="commercial",
        choices=["commercial", "informational", "legally_required"],
        help="why it is sent (default: commercial, the strictest)",
    )
    parser.add_argument("--brand", help="the brand (default: the sender's only brand)")
    parser.add_argument(
        "--ack",
        action="append",
        default=[],
        metavar="RULE",
        help="acknowledge a warning by rule id (repeat for several)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``isobil`` argument parser."""
    from isobil.model import ConsentSource

    fmt = argparse.RawDescriptionHelpFormatter
    common, as_json, transport = _common(), _json_flag(), _transport_flags()
    progress = _progress_flag()
    parser = argparse.ArgumentParser(
        prog="isobil",
        description="Consent-aware bulk SMS for Turkey.",
        formatter_class=fmt,
        epilog=_epilog(
            "isobil init --name 'Acme Ticaret A.Ş.' --mersis 0123456789012345 \\",
            "    --contact '0850 123 45 67' --originator ACME --brand ACME --short-number 4605",
            "isobil contacts import rehber.xlsx --group Müşteriler",
            "isobil check 'Siparişiniz kargoda.' --category informational --group Müşteriler",
            "isobil send 'Siparişiniz kargoda.' --category informational --to 05321234567",
            "isobil worker",
            "",
            "exit codes: 0 done, 1 refused or failed, 2 usage error. See docs/cli.md.",
        ),
    )
    parser.add_argument("--version", action="version", version=f"isobil {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def leaf(
        group: Any,
        name: str,
        help: str,
        handler: Handler,
        *examples: str,
        parents: Sequence[argparse.ArgumentParser] = (),
    ) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = group.add_parser(
            name,
            help=help,
            description=help,
            parents=[common, *parents],
            formatter_class=fmt,
            epilog=_epilog(*examples) if examples else None,
        )
        sub.set_defaults(handler=handler)
        return sub

    demo = commands.add_parser(
        "demo",
        help="the main job end to end on SQLite with the fake transport: import, preflight, "
        "İYS, send, delivery reports with refunds, an inbound RET, reports",
    )
    demo.add_argument(
        "--dir", help="where to keep the demo's database and files (default: a temp dir)"
    )
    demo.set_defaults(handler=cmd_demo)
    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_commands.add_parser("upgrade", help="migrate a database to this isobil's schema")
    upgrade.add_argument(
        "--url",
        default=None,
        help="database URL (default: $ISOBIL_DATABASE_URL or sqlite:///isobil.db)",
    )
    upgrade.set_defaults(handler=cmd_db_upgrade)

    init = leaf(
        commands,
        "init",
        "write the sender settings (./isobil.toml) and create or migrate the database",
        cmd_init,
        "isobil init --name 'Acme Ticaret A.Ş.' --mersis 0123456789012345 "
        "--contact '0850 123 45 67' --originator ACME --brand ACME --short-number 4605",
        "isobil init --name 'Ali Veli' --tckn 10000000146 --brand VELI --prepaid "
        "--db postgresql://isobil@db/isobil",
    )
    init.add_argument("--name", required=True, help="trade name (or a person's name)")
    init.add_argument("--mersis", help="MERSİS number of a company")
    init.add_argument("--tckn", help="TCKN of a sole trader")
    init.add_argument("--contact", help="contact point printed in commercial messages")
    init.add_argument("--originator", help="the originator (başlık), e.g. ACME")
    init.add_argument(
        "--brand", action="append", default=[], help="a brand code (repeat for several)"
    )
    init.add_argument("--short-number", help="the short number that takes RET texts")
    init.add_argument(
        "--prepaid", action="store_true", help="count credits: refuse sends the balance can't pay"
    )
    init.add_argument(
        "--transport",
        choices=TRANSPORT_KINDS,
        help="write a [transport] table of this kind (add its options and credentials' "
        "*_env names after; see docs/providers/)",
    )
    init.add_argument("--force", action="store_true", help="overwrite an existing config")

    contacts = commands.add_parser("contacts", help="the address book (rehber)")
    contact_commands = contacts.add_subparsers(dest="contacts_command", required=True)
    imp = leaf(
        contact_commands,
        "import",
        "import contacts from .xlsx, .xls, .ods or .csv (invalid rows: a warning, exit 0)",
        cmd_contacts_import,
        "isobil contacts import rehber.xlsx --group Müşteriler",
        "isobil contacts import liste.csv --mapping 'number=Müşteri GSM,fields.plaka=4' --json",
        parents=[as_json, progress],
    )
    imp.add_argument("file", help="the file to import")
    imp.add_argument("--group", help="add every imported contact to this group")
    imp.add_argument(
        "--mapping",
        type=_mapping,
        metavar="FIELD=COLUMN,…",
        help="columns detection cannot find (a header, or a 0-based index)",
    )
    exp = leaf(
        contact_commands,
        "export",
        "write contacts (all, or a group's) to .csv or .xlsx",
        cmd_contacts_export,
        "isobil contacts export rehber.xlsx --group VIP",
        parents=[as_json, progress],
    )
    exp.add_argument("file", help="where to write (.csv or .xlsx)")
    exp.add_argument("--group", help="only this group")

    check = leaf(
        commands,
        "check",
        "preflight a message without sending: allowed, blocked and why (exit 1 if refused)",
        cmd_check,
        "isobil check 'Siparişiniz kargoda.' --category informational --to 05321234567",
        'isobil check "$(cat kampanya.txt)" --group Müşteriler --as-of 2026-12-01 --json',
        parents=[as_json],
    )
    _message_flags(check)
    check.add_argument(
        "--as-of", type=_day, metavar="YYYY-MM-DD", help="judge by the rules of this day"
    )

    send = leaf(
        commands,
        "send",
        "preflight and send now (or queue with --at); exit 1 when refused",
        cmd_send,
        "isobil send 'Siparişiniz kargoda.' --category informational --to 05321234567",
        'isobil send "$(cat kampanya.txt)" --group Müşteriler --at 2026-12-01T10:00',
        "isobil send 'Hatırlatma' --to 05321234567 --category informational \\",
        "    --smpp smsc.example.com:2775 --system-id acme --password-env SMPP_PASSWORD",
        parents=[as_json, transport, progress],
    )
    _message_flags(send)
    send.add_argument(
        "--at",
        type=_when,
        metavar="ISO",
        help="queue for this time (Istanbul unless an offset is given); `isobil worker` sends it",
    )

    schedule = commands.add_parser(
        "schedule",
        help="scheduled and recurring sends (`isobil schedule TEXT …` is `schedule add`)",
    )
    schedule_commands = schedule.add_subparsers(dest="schedule_command", required=True)
    add = leaf(
        schedule_commands,
        "add",
        "schedule a send, once or repeating (Istanbul wall-clock time)",
        cmd_schedule_add,
        "isobil schedule 'Haftalık bülten …' --group Üyeler --start 2026-12-07T10:00 --weekly MO",
        "isobil schedule 'Kira hatırlatması' --group Kiracılar --start 2026-12-31T09:00 "
        "--monthly 31 --category informational",
        "isobil schedule 'Doğum gününüz kutlu olsun!' --to 05321234567 "
        "--start 2028-02-29T09:00 --yearly 02-29",
        parents=[as_json],
    )
    _message_flags(add)
    add.add_argument("--start", type=_when, required=True, metavar="ISO", help="first occurrence")
    repeat = add.add_mutually_exclusive_group()
    repeat.add_argument("--weekly", metavar="MO[,TH…]", help="every week on these days")
    repeat.add_argument(
        "--monthly", type=int, metavar="DAY", help="every month on this day (31: the last day)"
    )
    repeat.add_argument(
        "--yearly", metavar="MM-DD", help="every year (02-29: 28 Feb in common years)"
    )
    repeat.add_argument("--rrule", metavar="RULE", help="a raw RFC 5545 rule (FREQ=…)")
    leaf(
        schedule_commands,
        "list",
        "list the schedules, next occurrence first",
        cmd_schedule_list,
        "isobil schedule list --json",
        parents=[as_json],
    )
    cancel = leaf(
        schedule_commands,
        "cancel",
        "stop a schedule (what was sent stays sent)",
        cmd_schedule_cancel,
        "isobil schedule cancel 3f2a…",
    )
    cancel.add_argument("id", help="the schedule's id (from `isobil schedule list`)")

    inbound = leaf(
        commands,
        "inbound",
        "simulate an inbound text (MO) through the fake transport; print what was recorded",
        cmd_inbound,
        "isobil inbound 05321234567 4605 'ACME RET'",
        parents=[as_json],
    )
    inbound.add_argument("sender_number", metavar="FROM", help="who texted")
    inbound.add_argument("receiver", metavar="TO", help="the number texted (e.g. the short number)")
    inbound.add_argument("text", metavar="TEXT", help="what they wrote")

    report = commands.add_parser("report", help="delivery, consent, credit and compliance reports")
    report_commands = report.add_subparsers(dest="report_command", required=True)
    delivery = leaf(
        report_commands,
        "delivery",
        "where a campaign's messages stand: per state, failure reason and hour",
        cmd_report_delivery,
        "isobil report delivery 9c1e… --html rapor.html",
        "isobil report delivery 9c1e… --json",
        parents=[as_json],
    )
    delivery.add_argument("campaign_id", help="the campaign (printed by `isobil send`)")
    delivery_out = delivery.add_mutually_exclusive_group()
    delivery_out.add_argument("--csv", metavar="FILE", help="write CSV")
    delivery_out.add_argument("--xlsx", metavar="FILE", help="write .xlsx")
    delivery_out.add_argument("--html", metavar="FILE", help="write a self-contained HTML page")
    consent = leaf(
        report_commands,
        "consent",
        "opt-ins and opt-outs by day, brand, number, keyword and source",
        cmd_report_consent,
        "isobil report consent --since 2026-11-01 --xlsx izinler.xlsx",
        parents=[as_json],
    )
    consent.add_argument("--since", type=_when, metavar="ISO", help="from (Istanbul time)")
    consent.add_argument("--until", type=_when, metavar="ISO", help="until (exclusive)")
    consent_out = consent.add_mutually_exclusive_group()
    consent_out.add_argument("--csv", metavar="FILE", help="write CSV (and FILE-unknown.csv)")
    consent_out.add_argument("--xlsx", metavar="FILE", help="write .xlsx")
    credit_report = leaf(
        report_commands,
        "credits",
        "the credit balance, totals by kind and campaign, and the ledger",
        cmd_report_credits,
        "isobil report credits --xlsx krediler.xlsx",
        "isobil report credits --campaign 9c1e… --json",
        parents=[as_json],
    )
    credit_report.add_argument("--campaign", metavar="ID", help="only this campaign's entries")
    credit_out = credit_report.add_mutually_exclusive_group()
    credit_out.add_argument("--csv", metavar="FILE", help="write the entries as CSV")
    credit_out.add_argument("--xlsx", metavar="FILE", help="write .xlsx (summary and entries)")
    compliance = leaf(
        report_commands,
        "compliance",
        "who was not sent to and why, by rule, with the rules' citations",
        cmd_report_compliance,
        "isobil report compliance 9c1e… --csv engellenenler.csv",
        "isobil report compliance --since 2026-11-01 --xlsx uyum.xlsx",
        parents=[as_json],
    )
    compliance.add_argument(
        "campaign_id", nargs="?", help="one campaign (default: every campaign in the period)"
    )
    compliance.add_argument("--since", type=_when, metavar="ISO", help="campaigns created from")
    compliance.add_argument("--until", type=_when, metavar="ISO", help="until (exclusive)")
    compliance_out = compliance.add_mutually_exclusive_group()
    compliance_out.add_argument("--csv", metavar="FILE", help="write the blocked messages as CSV")
    compliance_out.add_argument(
        "--xlsx", metavar="FILE", help="write .xlsx (campaigns, rules, blocked)"
    )

    credits = commands.add_parser("credits", help="the prepaid credit balance")
    credit_commands = credits.add_subparsers(dest="credits_command", required=True)
    top_up = leaf(
        credit_commands,
        "top-up",
        "add credits",
        cmd_credits_top_up,
        "isobil credits top-up 10000 --note 'fatura 2026-118'",
        parents=[as_json],
    )
    top_up.add_argument("amount", type=int, metavar="N", help="credits to add")
    top_up.add_argument("--note", help="a note kept in the ledger")
    leaf(
        credit_commands,
        "balance",
        "print the balance",
        cmd_credits_balance,
        "isobil credits balance",
        parents=[as_json],
    )

    consent = commands.add_parser(
        "consent", help="record, show and export consent (ONAY) and opt-outs (RET)"
    )
    consent_commands = consent.add_subparsers(dest="consent_command", required=True)
    record = leaf(
        consent_commands,
        "record",
        "record a consent (ONAY) with its proof, or an opt-out (RET), in the ledger",
        cmd_consent_record,
        "isobil consent record 05321234567 --source HS_WEB --name 'Ayşe Yılmaz' \\",
        "    --statement 'Kampanyalardan SMS ile haberdar olmak istiyorum.' \\",
        "    --reference FORM-123 --not-pre-ticked --not-condition-of-sale",
        "isobil consent record 05321234567 --source HS_ISLAK_IMZA --name 'Ali Veli' \\",
        "    --statement 'SMS almayı kabul ediyorum.' --document ARSIV-2026-77",
        "isobil consent record 05321234567 --status RET --source HS_CAGRI_MERKEZI",
        parents=[as_json],
    )
    record.add_argument("number", help="the recipient's number (any shape)")
    record.add_argument(
        "--status", choices=["ONAY", "RET"], default="ONAY", help="ONAY (default) or RET"
    )
    record.add_argument(
        "--source",
        required=True,
        choices=[s.value for s in ConsentSource if not s.from_iys],
        metavar="SOURCE",
        help="where it was given, as İYS names it: HS_WEB, HS_ISLAK_IMZA, HS_FIZIKSEL_ORTAM, "
        "HS_MESAJ, HS_CAGRI_MERKEZI, HS_MOBIL, HS_EORTAM, HS_ETKINLIK, HS_2015, …",
    )
    record.add_argument("--brand", help="the brand (default: the sender's only brand)")
    record.add_argument("--name", help="the recipient's name and surname (proof)")
    record.add_argument(
        "--statement", help="the positive statement they accepted, e.g. the tick box's label"
    )
    record.add_argument("--reference", help="a form, call or ticket reference (proof)")
    record.add_argument("--signature", help="where the signature is kept (paper sources)")
    record.add_argument("--document", help="the signed document's id (paper sources)")
    record.add_argument(
        "--not-pre-ticked", action="store_true", help="the tick box was not pre-ticked (forms)"
    )
    record.add_argument(
        "--not-condition-of-sale",
        action="store_true",
        help="consent was not a condition of the sale (forms)",
    )
    record.add_argument(
        "--evidence",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="more proof kept with the event, e.g. ip=203.0.113.5 (repeat)",
    )
    record.add_argument(
        "--date", type=_when, metavar="ISO", help="when it was given (default: now; Istanbul)"
    )
    record.add_argument(
        "--recipient-type",
        choices=["BIREYSEL", "TACIR"],
        default="BIREYSEL",
        help="an individual (default) or a merchant",
    )
    show = leaf(
        consent_commands,
        "show",
        "where a number stands for a brand, and its consent history",
        cmd_consent_show,
        "isobil consent show 05321234567",
        "isobil consent show 05321234567 --brand ACME --json",
        parents=[as_json],
    )
    show.add_argument("number", help="the recipient's number (any shape)")
    show.add_argument("--brand", help="the brand (default: the sender's only brand)")
    consent_export = leaf(
        consent_commands,
        "export",
        "write the evidence bundle (JSON Lines, CSV, summary) an auditor checks without isobil",
        cmd_consent_export,
        "isobil consent export kanit/",
        "isobil consent export kanit-ayse/ --number 05321234567 --json",
        parents=[as_json, progress],
    )
    consent_export.add_argument("directory", help="where to write (created if missing)")
    consent_export.add_argument("--number", help="only this recipient's events")
    consent_import = leaf(
        consent_commands,
        "import",
        "import a consent history (an İYS or another provider's export, CSV or Excel)",
        cmd_consent_import,
        "isobil consent import izinler.csv --brand ACME --source HS_WEB",
        "isobil consent import iys-export.xlsx --mapping 'recipient=Alıcı,status=Durum' --json",
        parents=[as_json, progress],
    )
    consent_import.add_argument("file", help="the file to import")
    consent_import.add_argument("--brand", help="the brand of rows that name none")
    consent_import.add_argument(
        "--source",
        choices=[s.value for s in ConsentSource],
        metavar="SOURCE",
        help="the source of rows that name none (İYS codes, e.g. HS_WEB)",
    )
    consent_import.add_argument(
        "--mapping",
        type=_mapping,
        metavar="FIELD=COLUMN,…",
        help="columns detection cannot find (a header, or a 0-based index)",
    )

    blacklist = commands.add_parser(
        "blacklist", help="numbers that receive nothing from this sender (kara liste)"
    )
    blacklist_commands = blacklist.add_subparsers(dest="blacklist_command", required=True)
    bl_add = leaf(
        blacklist_commands,
        "add",
        "blacklist numbers: no message of any category reaches them",
        cmd_blacklist_add,
        "isobil blacklist add 05321234567 --reason 'şikâyet 2026-118'",
        "isobil blacklist add 05321234567,05331234567 --reason 'talep' --source cagri-merkezi",
        parents=[as_json],
    )
    bl_add.add_argument("numbers", nargs="+", metavar="NUMBER", help="numbers (or comma lists)")
    bl_add.add_argument("--reason", required=True, help="why (kept with the entry)")
    bl_add.add_argument("--source", help="where the request came from")
    bl_remove = leaf(
        blacklist_commands,
        "remove",
        "take numbers off the blacklist",
        cmd_blacklist_remove,
        "isobil blacklist remove 05321234567",
        parents=[as_json],
    )
    bl_remove.add_argument("numbers", nargs="+", metavar="NUMBER", help="numbers (or comma lists)")
    bl_import = leaf(
        blacklist_commands,
        "import",
        "blacklist every number of a CSV or Excel file (another provider's export)",
        cmd_blacklist_import,
        "isobil blacklist import kara-liste.xlsx --reason 'eski sağlayıcı'",
        parents=[as_json, progress],
    )
    bl_import.add_argument("file", help="the file to import")
    bl_import.add_argument(
        "--reason", default="migrated", help="for rows without one (default: migrated)"
    )
    bl_import.add_argument("--source", help="for rows without one")
    bl_import.add_argument(
        "--mapping",
        type=_mapping,
        metavar="FIELD=COLUMN,…",
        help="columns detection cannot find: number, reason, source, date",
    )

    worker = leaf(
        commands,
        "worker",
        "send what is due (queued messages, schedules) in a loop; Ctrl-C stops it",
        cmd_worker,
        "isobil worker --interval 5",
        "isobil worker --once   # one pass, e.g. from cron",
        "isobil worker --json   # one JSON line a pass",
        parents=[transport, progress, as_json],
    )
    worker.add_argument("--once", action="store_true", help="run one pass and exit")
    worker.add_argument(
        "--interval", type=float, default=10.0, metavar="SECONDS", help="pause between passes"
    )
    return parser


_SCHEDULE_COMMANDS = frozenset({"add", "list", "cancel", "-h", "--help"})


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``isobil`` command with ``argv``; return the exit code."""
    from isobil.contacts import SHELL_TERMS
    from isobil.errors import InvalidPhoneNumber, IsobilError

    args_list = list(sys.argv[1:] if argv is None else argv)
    # `isobil schedule "TEXT" …` is short for `isobil schedule add "TEXT" …`.
    if len(args_list) > 1 and args_list[0] == "schedule" and args_list[1] not in _SCHEDULE_COMMANDS:
        args_list.insert(1, "add")
    args = build_parser().parse_args(args_list)
    handler: Handler = args.handler
    try:
        return handler(args)
    except CliError as exc:
        print(f"isobil: {exc}", file=sys.stderr)
        return exc.exit_code
    except InvalidPhoneNumber as exc:
        # A number given on the command line: the reason without the Python option
        # (short_numbers) the phone layer suggests, which no command takes.
        reason = SHELL_TERMS.number_reason(exc.reason)
        print(f"isobil: invalid phone number {exc.value!r}: {reason}", file=sys.stderr)
        return 1
    except (IsobilError, OSError) as exc:
        print(f"isobil: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # a second Ctrl-C: stopped at once, not a crash
        print("isobil: interrupted", file=sys.stderr)
        return 130
