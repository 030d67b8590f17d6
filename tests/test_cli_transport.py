"""The `[transport]` table: no silent fake, credentials from the environment only."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from isobil._cli import main
from isobil.errors import ConfigurationError
from isobil.testing.providers.netgsm import NetgsmSimulator
from isobil.transport import (
    DeliveryStatus,
    FakeTransport,
    HttpTransport,
    JasminAdapter,
    transport_from_config,
)

Capsys = pytest.CaptureFixture[str]

INIT = ["init", "--name", "Acme Ticaret A.Ş.", "--mersis", "0123456789012345"]
INIT += ["--contact", "0850 123 45 67", "--originator", "ACME", "--brand", "ACME"]
INIT += ["--short-number", "4605"]
SEND = ["send", "Siparişiniz kargoda.", "--category", "informational", "--to", "05321234567"]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with its own database; nothing from the environment leaks in."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ISOBIL_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    return tmp_path


def _add_transport(workdir: Path, table: str) -> None:
    config = workdir / "isobil.toml"
    config.write_text(config.read_text(encoding="utf-8") + "\n" + table, encoding="utf-8")


@pytest.mark.parametrize("command", [["worker", "--once"], SEND])
def test_no_transport_configured_exits_2_and_sends_nothing(
    workdir: Path, capsys: Capsys, command: list[str]
) -> None:
    """Without a [transport] the worker and send refuse (exit 2), saying what to write;
    the queue is left as it was rather than marked sent through a fake."""
    assert main(INIT) == 0
    assert (
        main(
            [
                "send",
                "Kargonuz yolda.",
                "--category",
                "informational",
                "--to",
                "05321234567",
                "--at",
                "2020-01-01T10:00",
            ]
        )
        == 2
    )
    capsys.readouterr()
    assert main(command) == 2
    err = capsys.readouterr().err
    assert "no transport configured, nothing was sent" in err
    assert "[transport]" in err
    assert 'kind = "netgsm"' in err
    assert 'kind = "fake"' in err


def test_the_fake_is_used_only_when_chosen_and_says_so(workdir: Path, capsys: Capsys) -> None:
    """`init --transport fake` writes the table; sends then go to the fake, with a note."""
    assert main([*INIT, "--transport", "fake"]) == 0
    assert '[transport]\nkind = "fake"' in (workdir / "isobil.toml").read_text(encoding="utf-8")
    capsys.readouterr()
    assert main(SEND) == 0
    captured = capsys.readouterr()
    assert "submitted=1" in captured.out
    assert 'using the fake transport (kind = "fake")' in captured.err


def test_a_credential_in_the_file_is_refused(workdir: Path, capsys: Capsys) -> None:
    """A password written in the config is refused, and not echoed back."""
    assert main(INIT) == 0
    _add_transport(
        workdir, '[transport]\nkind = "jasmin"\nusername = "acme"\npassword = "hunter2"\n'
    )
    capsys.readouterr()
    assert main(SEND) == 1
    err = capsys.readouterr().err
    assert 'password_env = "VARIABLE"' in err
    assert "hunter2" not in err


def test_transport_from_config_reads_credentials_from_the_environment() -> None:
    """``password_env`` names the variable; the adapter gets its value, the repr hides it."""
    transport = transport_from_config(
        {
            "kind": "jasmin",
            "url": "http://127.0.0.1:1401",
            "username": "acme",
            "password_env": "JASMIN_PASSWORD",
            "timeout": 2.5,
        },
        environ={"JASMIN_PASSWORD": "s3cret-value"},
    )
    assert isinstance(transport, HttpTransport)
    assert isinstance(transport.adapter, JasminAdapter)
    assert transport.base_url == "http://127.0.0.1:1401"
    assert "s3cret-value" not in repr(transport)
    assert isinstance(transport_from_config({"kind": "fake"}), FakeTransport)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({}, "kind must be one of netgsm, iletimerkezi, verimor, jasmin"),
        ({"kind": "twilio"}, "kind must be one of"),
        (
            {"kind": "jasmin", "username": "a", "password_env": "NOPE"},
            "the environment variable NOPE is not set",
        ),
        (
            {
                "kind": "jasmin",
                "url": "http://x",
                "username": "a",
                "password_env": "P",
                "colour": "blue",
            },
            'kind = "jasmin" has no option colour; it takes:',
        ),
        ({"kind": "smpp", "port": 2775}, 'kind = "smpp" needs host'),
        ({"kind": "fake", "url": "http://x"}, 'kind = "fake" takes no options'),
        ({"kind": "generic-json", "api_key": "k"}, "a credential is not kept"),
        ({"kind": "generic-json"}, 'kind = "generic-json" needs url'),
        (
            {"kind": "generic-json", "url": "https://acme:plain-pass@sms.example"},
            "[transport] url: a credential is not kept",
        ),
        (
            {"kind": "generic-json", "url": "https://x", "headers": {"Authorization": "B t"}},
            "[transport] headers: a credential is not kept",
        ),
    ],
)
def test_bad_tables_are_named(table: dict[str, object], message: str) -> None:
    """Each mistake in a [transport] table is a ConfigurationError saying which."""
    with pytest.raises(ConfigurationError, match=None) as caught:
        transport_from_config(table, environ={"P": "pw"})
    assert message in str(caught.value)


def test_worker_sends_queued_messages_through_netgsm(
    workdir: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With kind = "netgsm" at the simulator, `worker` sends what is queued, then pulls
    its delivery report; the password (from the environment) is in no output."""
    password = "netgsm-cli-password-0042"  # noqa: S105 - a test secret
    monkeypatch.setenv("NETGSM_PASSWORD", password)
    with NetgsmSimulator(password=password) as simulator:
        assert main(INIT) == 0
        _add_transport(
            workdir,
            f'[transport]\nkind = "netgsm"\nurl = "{simulator.url}"\n'
            'username = "8501234567"\npassword_env = "NETGSM_PASSWORD"\nmsgheader = "ACME"\n',
        )
        capsys.readouterr()
        assert main([*SEND, "--at", "2030-01-01T10:00", "--json"]) == 0
        campaign = json.loads(capsys.readouterr().out)["campaign_id"]
        _make_due(workdir)
        assert main(["worker", "--once"]) == 0
        sending = capsys.readouterr()
        [sms] = simulator.received
        assert (sms.to, sms.text, sms.commercial) == (
            "+905321234567",
            "Siparişiniz kargoda.",
            False,
        )
        simulator.deliver(sms.provider_id, DeliveryStatus.DELIVERED)
        assert main(["worker", "--once"]) == 0
        pulling = capsys.readouterr()
        assert main(["report", "delivery", campaign, "--json"]) == 0
        report = capsys.readouterr()
    assert "dispatched 1 message(s): submitted 1" in sending.out
    assert "pulled 1 delivery report(s)" in pulling.out
    assert json.loads(report.out)["counts"] == {"delivered": 1}
    for shown in (sending, pulling, report):
        assert password not in shown.out + shown.err


def _make_due(workdir: Path) -> None:
    """Queued messages are due now (the test cannot wait for 2030)."""
    with sqlite3.connect(workdir / "cli.db") as db:
        db.execute("UPDATE isobil_messages SET not_before = '2020-01-01 00:00:00.000000'")


def test_options_that_only_name_a_credential_are_not_refused() -> None:
    """``api_key_header`` names where the key goes; the key itself comes from the
    environment."""
    transport = transport_from_config(
        {
            "kind": "generic-json",
            "url": "https://sms.example",
            "api_key_header": "X-Api-Key",
            "api_key_prefix": "",
            "api_key_env": "API_KEY",
        },
        environ={"API_KEY": "k-0042"},
    )
    assert isinstance(transport, HttpTransport)
    assert "k-0042" not in repr(transport)


def test_the_worker_receives_signed_callbacks_from_the_callbacks_table(
    workdir: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``[callbacks] listen``, ``secret_env`` and ``auth``: the worker serves the receiver
    while it runs; a signed "ACME RET" reaches the consent ledger, a forged one does not."""
    import re

    import httpx

    from isobil.storage import SQLStorage
    from isobil.testing.http_gateway import HttpGateway
    from isobil.transport import signed_headers

    secret = "cli-callback-secret-0123456789"  # noqa: S105 - a test secret
    monkeypatch.setenv("HOOK_SECRET", secret)
    assert main(INIT) == 0
    answers: list[int] = []
    with HttpGateway() as gateway:
        _add_transport(
            workdir,
            f'[transport]\nkind = "generic-json"\nurl = "{gateway.url}"\n\n'
            '[callbacks]\nlisten = "127.0.0.1:0"\nsecret_env = "HOOK_SECRET"\nauth = "hmac"\n',
        )

        def push_then_stop(client: object) -> int:  # after the worker's first pass
            found = re.search(r"receiving callbacks on (http://\S+)", capsys.readouterr().err)
            assert found is not None
            body = json.dumps(
                {"type": "mo", "from": "905321234567", "to": "4605", "text": "ACME RET"}
            ).encode()
            signed = signed_headers(secret, body)
            for headers in ({**signed, "X-Isobil-Signature": "0" * 64}, signed):
                answers.append(
                    httpx.post(found.group(1), content=body, headers=headers).status_code
                )
            raise KeyboardInterrupt

        monkeypatch.setattr("isobil._cli._poll", push_then_stop)
        assert main(["worker", "--interval", "0.01"]) == 0
    assert answers == [401, 200]
    with SQLStorage(f"sqlite:///{workdir / 'cli.db'}") as storage:
        states = storage.consent_states(["+905321234567"], brand="ACME")
    assert [e.status.value for e in states.values()] == ["RET"]
