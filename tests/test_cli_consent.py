"""`isobil consent …`, `isobil blacklist …`, `--version`, and the CLI-only path from
`init` to a delivered commercial campaign."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from isobil import __version__
from isobil._cli import main

Capsys = pytest.CaptureFixture[str]

INIT = ["init", "--name", "Acme Ticaret A.Ş.", "--mersis", "0123456789012345"]
INIT += ["--contact", "0850 123 45 67", "--originator", "ACME", "--brand", "ACME"]
INIT += ["--short-number", "4605"]
AYSE = ["05321234567", "--source", "HS_WEB", "--name", "Ayşe Yılmaz"]
AYSE += ["--statement", "Kampanyalardan SMS ile haberdar olmak istiyorum."]
AYSE += ["--reference", "FORM-123", "--not-pre-ticked", "--not-condition-of-sale"]
ALI = ["0533 123 45 67", "--source", "HS_ISLAK_IMZA", "--name", "Ali Veli"]
ALI += ["--statement", "SMS almayı kabul ediyorum.", "--document", "ARSIV-2026-77"]
OFFER = (
    "KAMPANYA: Yeni sezon ürünleri mağazalarımızda. Bilgi: 0850 123 45 67. "
    "İptal için ACME RET yazıp 4605'e gönderin."
)
#: İYS is not wired in these tests: registration unknown and no recent pull.
IYS_NOT_WIRED = ["--ack", "TR-CONSENT-003", "--ack", "TR-CONSENT-006"]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with its own database, initialised; nothing leaks in."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ISOBIL_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    assert main(INIT) == 0
    return tmp_path


def _json(capsys: Capsys) -> object:
    return json.loads(capsys.readouterr().out)


def test_version(capsys: Capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"isobil {__version__}"


def test_consent_record_stores_the_proof_and_masks_the_number(
    workdir: Path, capsys: Capsys
) -> None:
    capsys.readouterr()
    assert main(["consent", "record", *AYSE]) == 0
    out = capsys.readouterr().out
    assert "recorded ONAY for +90********67 (brand ACME, source HS_WEB" in out
    assert "5321234567" not in out
    assert main(["consent", "record", *ALI, "--json"]) == 0
    event = _json(capsys)
    assert isinstance(event, dict)
    assert event["address"] == "+905331234567"
    assert (event["seq"], event["status"], event["source"], event["brand"]) == (
        2,
        "ONAY",
        "HS_ISLAK_IMZA",
        "ACME",
    )
    assert event["evidence"] == {
        "name": "Ali Veli",
        "statement": "SMS almayı kabul ediyorum.",
        "document": "ARSIV-2026-77",
    }


@pytest.mark.parametrize(
    ("flags", "missing"),
    [
        (
            ["--source", "HS_WEB", "--name", "Ayşe Yılmaz"],
            "the positive statement (--statement); that the box was not pre-ticked "
            "(--not-pre-ticked); that consent was not a condition of the sale "
            "(--not-condition-of-sale)",
        ),
        (
            ["--source", "HS_ISLAK_IMZA", "--statement", "SMS almayı kabul ediyorum."],
            "name and surname (--name); the signature (or signed document) "
            "(--signature or --document)",
        ),
        (
            ["--source", "HS_MESAJ", "--name", " ", "--statement", "ACME EVET"],
            "name and surname (--name)",
        ),
    ],
)
def test_consent_record_refuses_incomplete_proof_naming_the_flags(
    workdir: Path, capsys: Capsys, flags: list[str], missing: str
) -> None:
    capsys.readouterr()
    assert main(["consent", "record", "05321234567", *flags]) == 1
    err = capsys.readouterr().err
    assert err == (
        "isobil: consent not recorded: a valid consent (Reg. art. 7, TR-CONSENT-004) "
        f"from {flags[1]} must show {missing}\n"
    )
    assert main(["consent", "show", "05321234567", "--json"]) == 0
    shown = _json(capsys)
    assert isinstance(shown, dict)
    assert (shown["status"], shown["history"]) == (None, [])


def test_consent_record_of_an_opt_out_needs_no_proof_and_wins(
    workdir: Path, capsys: Capsys
) -> None:
    assert main(["consent", "record", *AYSE]) == 0
    assert (
        main(
            ["consent", "record", "05321234567", "--status", "RET", "--source", "HS_CAGRI_MERKEZI"]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["consent", "show", "05321234567"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("+90********67: RET for ACME since ")
    assert "(source HS_CAGRI_MERKEZI; İYS: not pushed yet)" in out
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["1", "2"]
    assert "5321234567" not in out


def test_consent_record_refuses_unknown_brand_and_bad_source(workdir: Path, capsys: Capsys) -> None:
    capsys.readouterr()
    assert main(["consent", "record", *AYSE, "--brand", "OTHER"]) == 1
    assert "unknown brand 'OTHER': known brands are ACME" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["consent", "record", "05321234567", "--source", "IYS_WEB"])
    assert exited.value.code == 2
    assert "--source: invalid choice: 'IYS_WEB'" in capsys.readouterr().err
    assert main(["consent", "record", "12", "--status", "RET", "--source", "HS_MESAJ"]) == 1
    assert capsys.readouterr().err.startswith("isobil: ")


def test_consent_show_json_and_unknown_number(workdir: Path, capsys: Capsys) -> None:
    assert main(["consent", "record", *AYSE]) == 0
    capsys.readouterr()
    assert main(["consent", "show", "+90 532 123 45 67", "--json"]) == 0
    shown = _json(capsys)
    assert isinstance(shown, dict)
    assert (shown["number"], shown["brand"], shown["status"], shown["source"], shown["iys"]) == (
        "+905321234567",
        "ACME",
        "ONAY",
        "HS_WEB",
        None,
    )
    assert [e["seq"] for e in shown["history"]] == [1]
    assert main(["consent", "show", "05331234567"]) == 0
    assert capsys.readouterr().out == (
        "+90********67: no consent on record for ACME (a commercial send is refused)\n"
    )


def test_consent_export_writes_a_verified_bundle(workdir: Path, capsys: Capsys) -> None:
    assert main(["consent", "record", *AYSE]) == 0
    assert main(["consent", "record", *ALI]) == 0
    capsys.readouterr()
    assert main(["consent", "export", "kanit"]) == 0
    out = capsys.readouterr().out
    assert out == (
        "wrote 2 consent event(s) to kanit (consent-events.jsonl, consent-events.csv, "
        "summary.json)\nledger verified: 2 event(s), hash chain intact\n"
    )
    lines = (workdir / "kanit" / "consent-events.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["address"] for line in lines] == ["+905321234567", "+905331234567"]
    assert main(["consent", "export", "ayse", "--number", "05321234567", "--json"]) == 0
    exported = _json(capsys)
    assert isinstance(exported, dict)
    assert (exported["events"], exported["verified"], exported["problems"]) == (1, True, [])
    summary = json.loads((workdir / "ayse" / "summary.json").read_text(encoding="utf-8"))
    assert (summary["events"], summary["ledger_events"]) == (1, 2)
    assert main(["consent", "export", "ali", "--number", "05331234567", "--progress", "json"]) == 0
    stages = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    exporting = [(s["done"], s["total"], s["unit"]) for s in stages if s["phase"] == "exporting"]
    assert exporting[0] == (0, None, "events")
    assert exporting[-1] == (2, None, "events")  # the whole ledger read, one event written


def test_consent_import_from_a_csv(workdir: Path, capsys: Capsys) -> None:
    (workdir / "izinler.csv").write_text(
        "Alıcı,Durum,İzin Tarihi,Kaynak\n"
        "05321234567,ONAY,2025-03-01 10:00:00,HS_WEB\n"
        "05331234567,RET,2025-03-02 11:00:00,HS_MESAJ\n"
        "12,ONAY,2025-03-02 11:00:00,HS_WEB\n",
        encoding="utf-8",
    )
    capsys.readouterr()
    assert main(["consent", "import", "izinler.csv", "--brand", "ACME", "--json"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert (report["taken"], report["rows"], report["complete"]) == (2, 3, True)
    assert [r["row"] for r in report["refused"]] == [4]
    assert "isobil: warning: 1 row(s) were refused and not imported" in captured.err
    assert main(["consent", "show", "05331234567", "--json"]) == 0
    shown = _json(capsys)
    assert isinstance(shown, dict)
    assert (shown["status"], shown["source"]) == ("RET", "HS_MESAJ")


def test_blacklist_add_remove_import(workdir: Path, capsys: Capsys) -> None:
    capsys.readouterr()
    assert main(["blacklist", "add", "05321234567,0533 123 45 67", "--reason", "şikâyet"]) == 0
    out = capsys.readouterr().out
    assert out == "blacklisted +90********67: şikâyet\nblacklisted +90********67: şikâyet\n"
    assert main(["blacklist", "remove", "05321234567", "05341234567", "--json"]) == 0
    assert _json(capsys) == [
        {"number": "+905321234567", "removed": True},
        {"number": "+905341234567", "removed": False},
    ]
    assert main(["blacklist", "remove", "05331234567"]) == 0
    assert capsys.readouterr().out == "removed +90********67\n"
    assert main(["blacklist", "add", "05321234567", "--reason", " "]) == 1
    assert capsys.readouterr().err == "isobil: a blacklist entry needs a reason\n"
    (workdir / "kara.csv").write_text("Telefon,Sebep\n05321234567,talep\nabc,\n", encoding="utf-8")
    assert main(["blacklist", "import", "kara.csv", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["taken"], len(report["refused"])) == (1, 1)
    assert main(["blacklist", "add", "05321234567", "--reason", "x", "--json"]) == 0
    added = _json(capsys)
    assert isinstance(added, list)
    assert [(e["number"], e["reason"]) for e in added] == [("+905321234567", "x")]


def test_a_blacklisted_number_is_not_sent_to(workdir: Path, capsys: Capsys) -> None:
    """What `blacklist add` writes is what `send` reads."""
    (workdir / "isobil.toml").write_text(
        (workdir / "isobil.toml").read_text(encoding="utf-8") + '\n[transport]\nkind = "fake"\n',
        encoding="utf-8",
    )
    assert main(["consent", "record", *AYSE]) == 0
    assert main(["consent", "record", *ALI]) == 0
    assert main(["blacklist", "add", "05331234567", "--reason", "talep"]) == 0
    capsys.readouterr()
    assert main(["send", OFFER, "--to", "05321234567,05331234567", *IYS_NOT_WIRED, "--json"]) == 0
    result = _json(capsys)
    assert isinstance(result, dict)
    assert [(o["number"], o["status"]) for o in result["outcomes"]] == [
        ("+905321234567", "submitted"),
        ("+905331234567", "blocked"),
    ]


def test_from_init_to_a_delivered_commercial_campaign_with_the_cli_only(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/cli.md's walk-through: init, consent record ×2, send, worker, report delivery.

    The provider is the loopback generic-json gateway; it pushes its signed delivery
    reports to the worker's `[callbacks]` receiver, as a real provider would."""
    from isobil.testing.http_gateway import HttpGateway
    from isobil.transport import DeliveryStatus

    secret = "cli-callback-secret-0123456789"  # noqa: S105 - a test secret
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ISOBIL_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("HOOK_SECRET", secret)
    with HttpGateway(secret=secret) as gateway:
        assert main([*INIT, "--transport", "generic-json"]) == 0
        config = tmp_path / "isobil.toml"
        config.write_text(
            config.read_text(encoding="utf-8")
            + f'url = "{gateway.url}"\n\n'
            + '[callbacks]\nlisten = "127.0.0.1:0"\nsecret_env = "HOOK_SECRET"\nauth = "hmac"\n',
            encoding="utf-8",
        )
        # Without consent everyone is blocked: nothing reaches the provider.
        capsys.readouterr()
        assert main(["send", OFFER, "--to", "05321234567,05331234567", *IYS_NOT_WIRED]) == 0
        assert capsys.readouterr().out.splitlines()[1:] == [
            "  +90********67    blocked    TR-CONSENT-001",
            "  +90********67    blocked    TR-CONSENT-001",
        ]
        assert gateway.received() == []

        assert main(["consent", "record", *AYSE]) == 0
        assert main(["consent", "record", *ALI]) == 0
        capsys.readouterr()
        assert (
            main(["send", OFFER, "--to", "05321234567,05331234567", *IYS_NOT_WIRED, "--json"]) == 0
        )
        sent = _json(capsys)
        assert isinstance(sent, dict)
        campaign = str(sent["campaign_id"])
        assert [o["status"] for o in sent["outcomes"]] == ["submitted", "submitted"]
        assert sorted(to for to, _ in gateway.received()) == ["+905321234567", "+905331234567"]
        assert {text for _, text in gateway.received()} == {OFFER}

        def deliver_then_stop(client: object) -> int:  # after the worker's first pass
            found = re.search(r"receiving callbacks on (http://\S+)", capsys.readouterr().err)
            assert found is not None
            gateway.callback_url = found.group(1)
            for provider_id in ("gw-1", "gw-2"):
                gateway.deliver(provider_id, DeliveryStatus.DELIVERED)
            raise KeyboardInterrupt

        monkeypatch.setattr("isobil._cli._poll", deliver_then_stop)
        assert main(["worker", "--interval", "0.01"]) == 0

    capsys.readouterr()
    assert main(["report", "delivery", campaign, "--json"]) == 0
    report = _json(capsys)
    assert isinstance(report, dict)
    assert (report["total"], report["pending"], report["counts"]) == (2, 0, {"delivered": 2})
    assert main(["report", "delivery", campaign]) == 0
    assert capsys.readouterr().out == f"campaign {campaign}: 2 message(s) — delivered 2\n"


def test_import_and_number_errors_speak_in_flags(workdir: Path, capsys: Capsys) -> None:
    """The library's Python-API hints (mapping=, default_source, short_numbers) come out
    as the flags of these commands."""
    (workdir / "a.csv").write_text(
        "Alıcı,Durum,İzin Tarihi\n05321234567,ONAY,2025-03-01\n", encoding="utf-8"
    )
    (workdir / "b.csv").write_text("foo,bar\n1,2\n", encoding="utf-8")
    (workdir / "c.csv").write_text("x\n1\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["consent", "import", "a.csv", "--brand", "ACME"]) == 0
    assert "row 2, column source: '': no source, and no --source given" in capsys.readouterr().out
    assert main(["consent", "import", "b.csv", "--brand", "ACME"]) == 1
    err = capsys.readouterr().err
    assert err.endswith(
        "Name the columns with --mapping FIELD=COLUMN (a header or a 0-based column index), "
        "e.g. --mapping 'recipient=Müşteri GSM' or --mapping recipient=2.\n"
    )
    assert main(["blacklist", "import", "c.csv", "--mapping", "reason=0"]) == 1
    assert capsys.readouterr().err == (
        "isobil: c.csv: the mapping names no number column and none was recognised; "
        "add --mapping number=COLUMN (a header or a 0-based column index)\n"
    )
    for command in (["blacklist", "add", "12", "--reason", "x"], ["consent", "show", "12"]):
        assert main(command) == 1
        err = capsys.readouterr().err
        assert err.startswith("isobil: invalid phone number '12'")
        assert "short_numbers" not in err
        assert "mapping=" not in err


def test_consent_export_of_a_tampered_ledger_exits_1(workdir: Path, capsys: Capsys) -> None:
    """An edit made behind the ledger's back (its triggers dropped) is written out but
    reported: the bundle does not verify, exit 1."""
    import sqlite3

    assert main(["consent", "record", *AYSE]) == 0
    assert main(["consent", "record", *ALI]) == 0
    with sqlite3.connect(workdir / "cli.db") as conn:
        triggers = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' "
            "AND tbl_name = 'isobil_consent_events'"
        ).fetchall()
        for (name,) in triggers:
            conn.execute(f'DROP TRIGGER "{name}"')
        conn.execute("UPDATE isobil_consent_events SET brand = 'ACME2' WHERE seq = 1")
    conn.close()
    capsys.readouterr()
    assert main(["consent", "export", "kanit", "--json"]) == 1
    captured = capsys.readouterr()
    exported = json.loads(captured.out)
    assert (exported["events"], exported["verified"]) == (2, False)
    assert exported["problems"]
    assert captured.err.startswith("isobil: the consent ledger does not verify: ")
    assert (workdir / "kanit" / "summary.json").exists()
