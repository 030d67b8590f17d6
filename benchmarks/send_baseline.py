"""Benchmark: a bulk send through isobil against the outbox a competent user writes (issue 18).

The job: N E.164 numbers (already normalised, handed over as a generator; every
100th repeats an earlier one; consecutive numbers, or with ``--scattered`` spread over
the numbering plan as a real audience is, so that every index takes them in no
order) to an informational text, through
``isobil.FakeTransport``, durably — every message stored before it is submitted.
Three ways, each in its own fresh subprocess on a fresh database (so its peak RSS,
``ru_maxrss``, is that job's alone), alternating rounds, medians:

* **hand-written outbox**: plain ``sqlite3`` (``--backend postgresql``: plain
  psycopg), one table ``outbox(id, campaign, recipient, text, parts, state,
  provider_id, updated_at)`` with an index on ``state``. Dedupe with a set, one
  blacklist lookup per batch of 10,000 against a table of a few rows, insert the
  rest ``queued`` (``executemany``, one transaction per batch); then loop: select
  up to 500 ``queued`` ids and mark them ``submitting`` (one transaction), build
  ``OutboundSms`` objects with one shared ``isobil.sms.plan``, call
  ``FakeTransport().submit(batch)``, and mark them ``submitted`` with their
  provider ids (one ``executemany`` transaction). SQLite gets the pragmas isobil
  uses (WAL, ``synchronous=NORMAL``). This is the floor of "durable outbox +
  submit through the same transport": no preflight, no consent, no re-check
  before each batch, no campaign, no credits.
* **isobil send**: ``Client(transport=FakeTransport(), storage=SQLStorage(url))``
  and one ``client.send(message, to=numbers)``.
* **isobil queued + dispatch**: ``client.send(message, to=numbers, at=<in an
  hour>)``, then ``client.dispatch(now=<after that>)``.

Schema, migrations and the blacklist rows are set up before the clock starts.
Every job must submit each expected recipient exactly once: the count of
messages the transport accepted and an order-independent hash of its recipients (the sum of
a 64-bit BLAKE2b of each number) are compared with the expected set, computed
from the generator's rule without holding it. The ratio is isobil's median ÷ the
hand-written outbox's, for wall seconds, the child's CPU seconds (steadier on a busy
machine; on PostgreSQL the server's share is not in it) and peak RSS, with the
extra RSS per number. The fake keeps only its last 1,000 messages
(``FakeTransport(keep=1000)``), so the peaks are the jobs' own. Each job also reports
the time Python's garbage collector took while it ran (``gc.callbacks``) and how many
full collections it made. Every job runs a full collection after its set-up, before
the clock starts: a worker sends long after its imports, and what set-up left (isobil's
schema migration imports Alembic; the hand-written set-up imports next to nothing)
is not the job's to collect. ``--gc-freeze`` has every job also call ``gc.freeze()``
there, as a worker process may (docs/performance.md). Run from the repository root:

    .venv/bin/python benchmarks/send_baseline.py --backend sqlite --sizes 10000 100000 1000000
    .venv/bin/python benchmarks/send_baseline.py --backend postgresql --sizes 10000 100000
    .venv/bin/python benchmarks/send_baseline.py --sizes 100000 --gc-freeze
    .venv/bin/python benchmarks/send_baseline.py --sizes 100000 --scattered
    .venv/bin/python benchmarks/send_baseline.py --quick

PostgreSQL: ``ISOBIL_BENCH_PG_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``) names the server; a
database ``isobil_bench_…`` is created per job and dropped afterwards.
"""

from __future__ import annotations

import argparse
import functools
import gc
import hashlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

TEXT = "Siparişiniz kargoya verildi."
#: Numbers of the blacklist never in an audience (two more are: see ``blacklist``).
NEVER_SENT_TO = ("+905339999999", "+905551112233")
#: ``--scattered``: the i-th number is ``i * SCATTER`` modulo 10,000,000 (a bijection:
#: SCATTER shares no factor with 10^7), so consecutive recipients land all over the
#: numbering plan — and all over each index — as a real audience's do.
SCATTER = 3_141_593
#: Recipients a hand-written job checks against the blacklist (and inserts) at once.
INSERT_BATCH = 10_000
#: Messages a hand-written job claims and submits at once (isobil's default batch size).
SUBMIT_BATCH = 500
JOBS = ("hand-written outbox", "isobil send", "isobil queued + dispatch")


# -- the audience -------------------------------------------------------------------


#: 1 (in order, the default) or SCATTER (``--scattered``); set once per process.
spread = 1


def number(i: int) -> str:
    return f"+90532{i * spread % 10_000_000:07d}"


def blacklist() -> tuple[str, ...]:
    """The blacklist: two numbers in every audience of 100 or more, two never in one."""
    return (number(3), number(42), *NEVER_SENT_TO)


def audience(n: int) -> Iterator[str]:
    """``n`` E.164 numbers; every 100th repeats the one 50 places before it."""
    for i in range(n):
        yield number(i - 50 if i % 100 == 99 else i)


def expected(n: int) -> Iterator[str]:
    """Each number of ``audience(n)`` that must be submitted, once (not the blacklisted)."""
    blocked = set(blacklist())
    for i in range(n):
        if i % 100 != 99 and (value := number(i)) not in blocked:
            yield value


def fingerprint(numbers: Iterable[str]) -> tuple[int, int]:
    """How many numbers, and the sum of their 64-bit hashes: equal for equal multisets."""
    count = total = 0
    for value in numbers:
        count += 1
        total += int.from_bytes(hashlib.blake2b(value.encode(), digest_size=8).digest())
    return count, total % 2**64


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    """This process's CPU time (user + system): steadier than wall time on a busy machine,
    but without the database server's share on PostgreSQL."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- the hand-written outbox ----------------------------------------------------------

SCHEMA = (
    "CREATE TABLE outbox (id text PRIMARY KEY, campaign text, recipient text, text text,"
    " parts int, state text, provider_id text, updated_at text)",
    "CREATE INDEX outbox_state ON outbox (state)",
    "CREATE TABLE blacklist (number text PRIMARY KEY)",
)
#: The statements that differ between the two drivers (parameter style, lists).
SQL = {
    "sqlite": {
        "blacklist_add": "INSERT INTO blacklist VALUES (?)",
        "blacklisted": "SELECT number FROM blacklist"
        " WHERE number IN (SELECT value FROM json_each(?))",
        "insert": "INSERT INTO outbox VALUES (?, ?, ?, ?, ?, 'queued', NULL, ?)",
        "queued": "SELECT id, recipient FROM outbox WHERE state = 'queued' LIMIT ?",
        "submitting": "UPDATE outbox SET state = 'submitting', updated_at = ?"
        " WHERE id IN (SELECT value FROM json_each(?))",
        "settle": "UPDATE outbox SET state = ?, provider_id = ?, updated_at = ? WHERE id = ?",
        "count": "SELECT count(*) FROM outbox WHERE state = 'submitted'",
    },
    "postgresql": {
        "blacklist_add": "INSERT INTO blacklist VALUES (%s)",
        "blacklisted": "SELECT number FROM blacklist WHERE number = ANY(%s)",
        "insert": "INSERT INTO outbox VALUES (%s, %s, %s, %s, %s, 'queued', NULL, %s)",
        "queued": "SELECT id, recipient FROM outbox WHERE state = 'queued' LIMIT %s"
        " FOR UPDATE SKIP LOCKED",
        "submitting": "UPDATE outbox SET state = 'submitting', updated_at = %s WHERE id = ANY(%s)",
        "settle": "UPDATE outbox SET state = %s, provider_id = %s, updated_at = %s WHERE id = %s",
        "count": "SELECT count(*) FROM outbox WHERE state = 'submitted'",
    },
}


def connect(
    url: str,
) -> tuple[Any, dict[str, str], Callable[[list[str]], Any], Callable[[], Any]]:
    """A DB-API connection to ``url``, its statements, how it takes a list parameter,
    and a transaction (a context manager that commits, or rolls back on error)."""
    if url.startswith("sqlite:///"):
        import sqlite3

        con = sqlite3.connect(url.removeprefix("sqlite:///"))
        con.execute("PRAGMA journal_mode = WAL")
        con.execute("PRAGMA synchronous = NORMAL")
        return con, SQL["sqlite"], json.dumps, lambda: con
    import psycopg

    pg = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1), autocommit=True)
    return pg, SQL["postgresql"], list, pg.transaction


def hand_setup(url: str) -> None:
    con, sql, _, tx = connect(url)
    with tx():
        cur = con.cursor()
        for statement in SCHEMA:
            cur.execute(statement)
        cur.executemany(sql["blacklist_add"], [(n,) for n in blacklist()])
    con.close()


def hand_written(url: str, numbers: Iterator[str], transport: Any) -> int:
    """The outbox a competent user writes: store everything queued, then submit in batches."""
    from isobil import sms
    from isobil.transport import OutboundSms

    con, sql, listed, tx = connect(url)
    cur = con.cursor()
    campaign = uuid.uuid4().hex
    plan = sms.plan(TEXT)
    parts = plan.parts
    seen: set[str] = set()

    def store(batch: list[str]) -> None:
        with tx():
            cur.execute(sql["blacklisted"], (listed(batch),))
            blocked = {row[0] for row in cur.fetchall()}
            now = datetime.now(UTC).isoformat()
            cur.executemany(
                sql["insert"],
                [
                    (uuid.uuid4().hex, campaign, to, TEXT, parts, now)
                    for to in batch
                    if to not in blocked
                ],
            )

    batch: list[str] = []
    for to in numbers:
        if to in seen:
            continue
        seen.add(to)
        batch.append(to)
        if len(batch) == INSERT_BATCH:
            store(batch)
            batch = []
    if batch:
        store(batch)
    del seen, batch

    submitted = 0
    while True:
        with tx():
            cur.execute(sql["queued"], (SUBMIT_BATCH,))
            rows = cur.fetchall()
            if not rows:
                break
            now = datetime.now(UTC).isoformat()
            cur.execute(sql["submitting"], (now, listed([row[0] for row in rows])))
        out = [OutboundSms(id=id_, to=to, plan=plan, category="informational") for id_, to in rows]
        results = transport.submit(out)
        now = datetime.now(UTC).isoformat()
        with tx():
            cur.executemany(
                sql["settle"],
                [("submitted" if r.ok else "failed", r.provider_id, now, r.id) for r in results],
            )
        submitted += sum(r.ok for r in results)
    cur.execute(sql["count"])
    stored = cur.fetchone()[0]
    con.close()
    assert stored == submitted, f"{stored} rows submitted in the outbox, {submitted} counted"
    return submitted


# -- isobil ---------------------------------------------------------------------------
# Kept small: the API of a huge send may change (a summarised SendResult).


def isobil_client(url: str, transport: Any) -> Any:
    import isobil
    from isobil.storage import SQLStorage

    client = isobil.Client(transport=transport, storage=SQLStorage(url))
    for value in blacklist():
        client.blacklist.add(value, reason="benchmark")
    return client


def submitted_of(result: Any) -> int:
    """Entries submitted: from ``result.counts`` where the API has them, else counted."""
    from isobil import OutcomeStatus

    counts = getattr(result, "counts", None)
    if counts:
        return int(counts.get(OutcomeStatus.SUBMITTED, 0))
    return len(result.submitted)


def isobil_send(client: Any, numbers: Iterator[str]) -> int:
    import isobil

    message = isobil.Message(TEXT, category="informational")
    return submitted_of(client.send(message, to=numbers))


def isobil_queued(client: Any, numbers: Iterator[str]) -> int:
    import isobil

    message = isobil.Message(TEXT, category="informational")
    at = datetime.now(UTC) + timedelta(hours=1)
    client.send(message, to=numbers, at=at)
    return int(client.dispatch(now=at + timedelta(minutes=1)).handled)


# -- one job, in a child process -------------------------------------------------------


def counted_transport() -> Any:
    """``FakeTransport(keep=1000)``: its record of sent messages stays small (it is not
    the job's memory); every accepted recipient is counted and fingerprinted instead."""
    import isobil

    class Counted(isobil.FakeTransport):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__(keep=1000)
            self.fingerprint = (0, 0)

        def submit(self, batch: Sequence[Any]) -> Any:
            results = super().submit(batch)
            count, digest = fingerprint(
                sms.to for sms, r in zip(batch, results, strict=True) if r.ok
            )
            self.fingerprint = (self.fingerprint[0] + count, (self.fingerprint[1] + digest) % 2**64)
            return results

    return Counted()


def child(job: str, url: str, n: int, *, freeze: bool = False) -> dict[str, Any]:
    from _common import CollectorTime

    transport = counted_transport()
    collector = CollectorTime()
    if job == "hand-written outbox":
        hand_setup(url)
        run: Callable[[], int] = functools.partial(hand_written, url, audience(n), transport)
        client = None
    else:
        client = isobil_client(url, transport)
        send = isobil_send if job == "isobil send" else isobil_queued
        run = functools.partial(send, client, audience(n))
    gc.collect()  # what set-up left behind is not the job's (nor frozen with the rest)
    if freeze:
        gc.freeze()
    collector.counting = True
    cpu, start = cpu_seconds(), time.perf_counter()
    submitted = run()
    seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    collector.counting = False
    if client is not None:
        client.close()
    peak = peak_rss_mb()
    count, digest = transport.fingerprint
    return {
        "seconds": seconds,
        "cpu_s": cpu,
        "gc_s": collector.seconds,
        "gc_full": collector.full,
        "peak_rss_mb": peak,
        "submitted": submitted,
        "sent": count,
        "hash": digest,
    }


def run_child(job: str, backend: str, n: int, *, freeze: bool = False) -> dict[str, Any]:
    from _common import database

    with database(backend) as url:
        done = subprocess.run(  # noqa: S603 - this script, with fixed arguments
            [sys.executable, __file__, "--child", job, "--url", url, "--n", str(n)]
            + (["--gc-freeze"] if freeze else [])
            + (["--scattered"] if spread != 1 else []),
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode:
        raise SystemExit(f"{job}, {n:,} recipients, {backend}: failed\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def server_version(backend: str) -> str:
    if backend == "sqlite":
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"
    import psycopg

    url = os.environ.get(
        "ISOBIL_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1)) as con:
        row = con.execute("SHOW server_version").fetchone()
        return f"PostgreSQL {row[0] if row else '?'}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--jobs", nargs="+", choices=JOBS, default=list(JOBS), help="which jobs to run"
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1,000, one round")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    parser.add_argument(
        "--gc-freeze", action="store_true", help="gc.freeze() in every job before the clock"
    )
    parser.add_argument(
        "--scattered",
        action="store_true",
        help="recipients spread over the numbering plan instead of consecutive numbers",
    )
    parser.add_argument("--child", choices=JOBS, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    global spread
    spread = SCATTER if args.scattered else 1
    if args.child:
        print(json.dumps(child(args.child, args.url, args.n, freeze=args.gc_freeze)))
        return 0
    if args.quick:
        args.sizes, args.rounds = [1_000], 1
    if min(args.sizes) < 100:
        parser.error("--sizes must be at least 100 (the blacklist holds numbers 3 and 42)")

    load = os.getloadavg()[0]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, load {load:.1f}; "
        f"Python {platform.python_version()}; {server_version(args.backend)}; "
        f"{args.rounds} round(s), medians{'; gc.freeze() in every job' if args.gc_freeze else ''}"
        f"{'; scattered numbers' if args.scattered else ''}",
        flush=True,
    )
    figures: dict[str, Any] = {"backend": args.backend, "load_before": load, "sizes": {}}
    failed = False
    for n in args.sizes:
        want = fingerprint(expected(n))
        runs: dict[str, list[dict[str, Any]]] = {job: [] for job in args.jobs}
        for round_ in range(args.rounds):
            # Rotate the order so no job always runs first (or last) on a busy machine.
            order = args.jobs[round_ % len(args.jobs) :] + args.jobs[: round_ % len(args.jobs)]
            for job in order:
                result = run_child(job, args.backend, n, freeze=args.gc_freeze)
                runs[job].append(result)
                ok = (result["sent"], result["hash"]) == want and result["submitted"] == want[0]
                failed |= not ok
                print(
                    f"  {n:,} {job}: {result['seconds']:.2f} s ({result['cpu_s']:.2f} s CPU, "
                    f"GC {result['gc_s']:.2f} s, {result['gc_full']} full), "
                    f"{result['peak_rss_mb']:.0f} MB{'' if ok else '  NOT EQUAL'}",
                    file=sys.stderr,
                    flush=True,
                )
        medians = {
            job: {
                "seconds": statistics.median(r["seconds"] for r in rs),
                "cpu_s": statistics.median(r["cpu_s"] for r in rs),
                "gc_s": statistics.median(r["gc_s"] for r in rs),
                "gc_full": statistics.median(r["gc_full"] for r in rs),
                "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in rs),
            }
            for job, rs in runs.items()
        }
        base = medians.get("hand-written outbox")
        print(f"{n:,} numbers ({want[0]:,} to submit):")
        for job, m in medians.items():
            line = (
                f"  {job:<26} {m['seconds']:8.2f} s {n / m['seconds']:>10,.0f} recipients/s "
                f"{m['cpu_s']:8.2f} s CPU {m['gc_s']:6.2f} s GC ({m['gc_full']:g} full) "
                f"{m['peak_rss_mb']:>7,.0f} MB peak RSS"
            )
            if base and job != "hand-written outbox":
                extra_kb = (m["peak_rss_mb"] - base["peak_rss_mb"]) * 1024 / n
                line += (
                    f"   ratio {m['seconds'] / base['seconds']:.2f}x time, "
                    f"{m['cpu_s'] / base['cpu_s']:.2f}x CPU, "
                    f"{m['peak_rss_mb'] / base['peak_rss_mb']:.2f}x RSS ({extra_kb:+.2f} KB/number)"
                )
            print(line, flush=True)
        figures["sizes"][n] = {
            job: {**m, "rounds_s": [round(r["seconds"], 3) for r in runs[job]]}
            for job, m in medians.items()
        }
    figures["load_after"] = os.getloadavg()[0]
    print(f"load average after: {figures['load_after']:.1f}")
    if args.json:
        print(json.dumps(figures, indent=2))
    if failed:
        print("FAILED: a job did not submit each expected recipient exactly once", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
