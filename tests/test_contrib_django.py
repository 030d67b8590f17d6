"""isobil.contrib.django: settings, the client per process, fields, checks and commands
in this process; the example shop on real servers for the provider callbacks; workers
on PostgreSQL in processes of their own."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import django
import pytest
import sqlalchemy as sa
from django.conf import settings

from _acme import ACME
from _pg import fresh_database
from isobil import Client, Message, MessageState
from isobil.config import callback_options
from isobil.errors import ConfigurationError
from isobil.model import ConsentStatus
from isobil.storage import MemoryStorage
from isobil.testing.http_gateway import HttpGateway, http_post
from isobil.transport import DeliveryStatus, FakeTransport, signed_headers

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "django_shop"
ACME_SETTINGS: dict[str, Any] = {
    "name": ACME.name,
    "mersis": ACME.mersis,
    "contact": ACME.contact,
    "brands": ["ACME"],
    "short_number": "4605",
    "transport": {"kind": "fake"},
}
SECRET = "django-callback-secret-0123456789"  # noqa: S105 - a test secret
CUSTOMER = "+905321234567"

if not settings.configured:
    settings.configure(
        SECRET_KEY="tests-only",  # noqa: S106
        INSTALLED_APPS=["django.contrib.contenttypes", "isobil.contrib.django"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        USE_TZ=True,
        ISOBIL=ACME_SETTINGS,
    )
    django.setup()

from django.apps import apps  # noqa: E402 - after settings
from django.core import mail  # noqa: E402
from django.core.exceptions import ValidationError  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.management.base import CommandError  # noqa: E402
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden  # noqa: E402
from django.test import Client as DjangoClient  # noqa: E402
from django.test import override_settings  # noqa: E402
from django.urls import include, path  # noqa: E402
from django.utils.log import AdminEmailHandler  # noqa: E402

from isobil.contrib._logs import MaskSecret  # noqa: E402
from isobil.contrib.django import get_client, reset_client, use_client  # noqa: E402
from isobil.contrib.django._client import mask_callback_secret  # noqa: E402
from isobil.contrib.django.checks import check_settings  # noqa: E402
from isobil.contrib.django.conf import (  # noqa: E402
    isobil_database_url,
    make_client_options,
    sqlalchemy_url,
)
from isobil.contrib.django.fields import PhoneNumberField  # noqa: E402
from isobil.contrib.django.forms import PhoneNumberField as PhoneNumberFormField  # noqa: E402
from isobil.contrib.django.testing import fake_client, fake_transport, isolated_client  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_client() -> Iterator[None]:
    """Every test builds the process's client anew (on its own ISOBIL_DATABASE_URL)."""
    reset_client()
    yield
    reset_client()


def make_transport() -> FakeTransport:
    """A transport factory named by a dotted path in ISOBIL["transport"]."""
    transport = FakeTransport()
    transport.made_by_factory = True  # type: ignore[attr-defined]
    return transport


# -- settings ---------------------------------------------------------------------------


def test_the_database_is_djangos_unless_isobil_names_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ISOBIL_DATABASE_URL")
    with pytest.raises(ConfigurationError, match="in-memory SQLite database"):
        isobil_database_url()  # this process's Django database is in memory
    with override_settings(ISOBIL={**ACME_SETTINGS, "database_url": "sqlite:////srv/x.db"}):
        assert isobil_database_url() == "sqlite:////srv/x.db"
    monkeypatch.setenv("ISOBIL_DATABASE_URL", "sqlite:////srv/env.db")  # the environment wins
    with override_settings(ISOBIL={**ACME_SETTINGS, "database_url": "sqlite:////srv/x.db"}):
        assert isobil_database_url() == "sqlite:////srv/env.db"


def test_django_databases_become_sqlalchemy_urls() -> None:
    sqlite = {"ENGINE": "django.db.backends.sqlite3", "NAME": Path("/srv/shop.db")}
    assert sqlalchemy_url(sqlite) == "sqlite:////srv/shop.db"
    postgres = {"ENGINE": "django.db.backends.postgresql", "NAME": "shop", "HOST": "db"}
    assert sqlalchemy_url(postgres) == "postgresql+psycopg://db/shop"
    url = sa.make_url(sqlalchemy_url({**postgres, "USER": "u", "PASSWORD": "p:w/d", "PORT": 6432}))
    assert (url.username, url.password, url.port) == ("u", "p:w/d", 6432)
    with pytest.raises(ConfigurationError, match=r"uses django.db.backends.mysql"):
        sqlalchemy_url({"ENGINE": "django.db.backends.mysql", "NAME": "shop"})


def test_a_transport_may_be_named_by_its_factory() -> None:
    config = {**ACME_SETTINGS, "transport": f"{__name__}.make_transport", "batch_size": 7}
    options = make_client_options(config)
    assert options["transport"].made_by_factory
    assert options["batch_size"] == 7
    assert options["sender"].name == ACME.name
    with pytest.raises(ConfigurationError, match=r"cannot import 'no\.such\.factory'"):
        make_client_options({**ACME_SETTINGS, "transport": "no.such.factory"})


def test_callback_secrets_come_only_from_the_environment() -> None:
    """ISOBIL['callbacks'] is read by isobil.config.callback_options, the CLI's reader."""
    with pytest.raises(ConfigurationError, match="credential is not kept in the settings"):
        callback_options({"callbacks": {"secret": SECRET}}, environ={})
    with pytest.raises(ConfigurationError, match="DJANGO_TEST_SECRET is not set"):
        callback_options({"callbacks": {"secret_env": "DJANGO_TEST_SECRET"}}, environ={})
    environ = {"DJANGO_TEST_SECRET": SECRET}
    found = callback_options(
        {"callbacks": {"secret_env": "DJANGO_TEST_SECRET", "auth": "token"}}, environ=environ
    )
    assert found == {"secret": SECRET, "auth": "token", "username": "isobil"}
    with pytest.raises(ConfigurationError, match=r"auth must be one of hmac, token, basic"):
        callback_options(
            {"callbacks": {"secret_env": "DJANGO_TEST_SECRET", "auth": "md5"}}, environ=environ
        )


# -- one client per process -------------------------------------------------------------


def test_one_client_per_process_made_once_across_threads() -> None:
    seen: list[Client] = []
    threads = [threading.Thread(target=lambda: seen.append(get_client())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(c) for c in seen}) == 1
    assert seen[0].sender is not None
    assert seen[0].sender.name == ACME.name
    reset_client()
    assert get_client() is not seen[0]


def test_use_client_and_changed_settings() -> None:
    before = get_client()
    with fake_client() as mine, use_client(mine):
        assert get_client() is mine
    assert get_client() is before
    with override_settings(ISOBIL={**ACME_SETTINGS, "name": "Başka A.Ş."}):
        changed = get_client()
        assert changed.sender is not None
        assert changed.sender.name == "Başka A.Ş."
    assert get_client() is not changed


def test_isolated_client_gives_the_fake_transport() -> None:
    with isolated_client() as client:
        client.send(Message("Kargonuz yolda.", category="informational"), to="05321234567")
        assert [s.to for s in fake_transport().sent] == [CUSTOMER]
        assert isinstance(client.storage, MemoryStorage)


# -- the phone number fields ------------------------------------------------------------


def test_the_model_field_stores_e164() -> None:
    field = PhoneNumberField()
    assert field.max_length == 16
    assert field.to_python("0532 123 45 67") == CUSTOMER
    assert field.get_prep_value("+90 (532) 123-4567") == CUSTOMER
    assert field.get_prep_value("532") == "532"  # a lookup, not a number
    with pytest.raises(ValidationError, match="too few digits"):
        field.to_python("123")
    assert field.deconstruct()[3] == {}
    assert PhoneNumberField(region="DE").deconstruct()[3] == {"region": "DE"}
    assert isinstance(field.formfield(), PhoneNumberFormField)


def test_the_form_field_cleans_to_e164() -> None:
    assert PhoneNumberFormField().clean("0 532 123 45 67") == CUSTOMER
    assert PhoneNumberFormField(required=False).clean("") == ""
    assert PhoneNumberFormField(region="DE").clean("030 123456") == "+4930123456"
    with pytest.raises(ValidationError) as caught:
        PhoneNumberFormField().clean("0532 12")
    assert caught.value.code == "invalid_phone"
    assert "invalid phone number" in caught.value.messages[0]


# -- the callback token in Django's log lines ---------------------------------------------

# This module is the URLconf of the callback tests (ROOT_URLCONF=__name__).
urlpatterns = [path("sms/callbacks/", include("isobil.contrib.django.urls"))]
TOKEN = "tok-0123456789abcdef-SECRET"  # noqa: S105 - a test secret
TOKEN_ENV = "DJANGO_TEST_CALLBACK_TOKEN"  # noqa: S105 - a variable's name
_REQUEST_LOGGERS = ("django.request", "django.server", "django.security.DisallowedHost")


def _refusing(get_response: Any) -> Any:
    """A project's middleware that answers 403 before any view runs."""

    def middleware(request: HttpRequest) -> HttpResponse:
        return HttpResponseForbidden()

    return middleware


@contextmanager
def _token_callbacks(
    monkeypatch: pytest.MonkeyPatch, token: str, **overrides: Any
) -> Iterator[None]:
    """Callbacks authenticated by ``token`` in the path, mounted at /sms/callbacks/
    (a Verimor-style URL: ``/sms/callbacks/<token>/verimor``)."""
    monkeypatch.setenv(TOKEN_ENV, token)
    config = {
        **ACME_SETTINGS,
        "transport": {"kind": "generic-json", "url": "http://127.0.0.1:9/"},  # never called
        "callbacks": {"secret_env": TOKEN_ENV, "auth": "token"},
    }
    with override_settings(ISOBIL=config, ROOT_URLCONF=__name__, **overrides):
        yield


def _assert_masked(caplog: pytest.LogCaptureFixture, token: str, line: str) -> None:
    """``line`` was logged, and no form of ``token`` anywhere: as written, percent-encoded
    or escaped the way Django escapes a logged path."""
    forms = {token, quote(token, safe=""), token.encode("unicode_escape").decode("ascii")}
    messages = [record.getMessage() for record in caplog.records]
    fields = [v for record in caplog.records for v in vars(record).values() if isinstance(v, str)]
    assert line in messages  # the rest of the path still shows
    for shown in [caplog.text, *messages, *fields]:
        assert not any(form in shown for form in forms), shown


@pytest.mark.parametrize("token", [TOKEN, "tok-ışık-0123456789abcdef"], ids=["ascii", "non-ascii"])
def test_a_refused_push_logs_its_path_without_the_token(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, token: str
) -> None:
    """Django logs a 4xx's path (``Bad Request: /sms/callbacks/<token>/verimor``); the
    token is masked there, also as Django escapes a non-ASCII path, and is not in the
    admins' error e-mail of that record (it prints the record's request)."""
    caplog.set_level(logging.DEBUG)
    with _token_callbacks(monkeypatch, token):
        answer = DjangoClient().post(
            f"/sms/callbacks/{token}/verimor", b"not json", content_type="application/json"
        )
    assert answer.status_code == 400
    _assert_masked(caplog, token, "Bad Request: /sms/callbacks/***/verimor")
    with override_settings(
        ADMINS=[("Ops", "ops@example.com")],
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    ):
        mail.outbox = []
        for record in caplog.records:
            if record.name == "django.request":
                AdminEmailHandler().emit(record)
        (sent,) = mail.outbox
        for form in (token, quote(token, safe=""), token.encode("unicode_escape").decode()):
            assert form not in str(sent.body)
        assert sent.subject == "[Django] WARNING: Bad Request: /sms/callbacks/***/verimor"


def test_a_push_refused_before_the_view_logs_no_token(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A middleware answers before the callback view ever runs: the mask is already on."""
    caplog.set_level(logging.DEBUG)
    with _token_callbacks(monkeypatch, TOKEN, MIDDLEWARE=[f"{__name__}._refusing"]):
        answer = DjangoClient().post(f"/sms/callbacks/{TOKEN}/verimor", b"{}", "application/json")
    assert answer.status_code == 403
    _assert_masked(caplog, TOKEN, "Forbidden: /sms/callbacks/***/verimor")


def test_a_push_to_a_host_django_refuses_mails_no_token(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A provider pushing to a host missing from ALLOWED_HOSTS: Django logs
    DisallowedHost with the request, which the admins' error e-mail prints; the
    request is dropped from the record, the e-mail shows no token."""
    caplog.set_level(logging.DEBUG)
    with _token_callbacks(
        monkeypatch,
        TOKEN,
        ALLOWED_HOSTS=["shop.example"],
        DEBUG=False,
        MIDDLEWARE=["django.middleware.common.CommonMiddleware"],
        ADMINS=[("Ops", "ops@example.com")],
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    ):
        answer = DjangoClient(HTTP_HOST="10.0.0.5").post(
            f"/sms/callbacks/{TOKEN}/verimor", b"{}", "application/json"
        )
        assert answer.status_code == 400
        [refused] = [r for r in caplog.records if r.name == "django.security.DisallowedHost"]
        assert getattr(refused, "request", None) is None
        mail.outbox = []
        AdminEmailHandler().emit(refused)
        [sent] = mail.outbox
        assert "DisallowedHost" in sent.body or "Invalid HTTP_HOST" in sent.subject
        assert TOKEN not in str(sent.body)


def test_callback_settings_that_cannot_be_read_leave_a_fake_transport_at_404(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The mask reads the callback settings first; unreadable (the secret's variable
    unset) with a transport that takes no pushes, the view still answers 404."""
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    config = {**ACME_SETTINGS, "callbacks": {"secret_env": TOKEN_ENV, "auth": "token"}}
    with override_settings(ISOBIL=config, ROOT_URLCONF=__name__):
        answer = DjangoClient().post("/sms/callbacks/x/verimor", b"{}", "application/json")
    assert answer.status_code == 404


def _masks(name: str) -> list[MaskSecret]:
    return [f for f in logging.getLogger(name).filters if isinstance(f, MaskSecret)]


def test_the_mask_is_on_each_request_logger_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Set up again, settings changed, the view run, the client reset: still one filter
    per logger (put back if removed); a new token replaces the old one."""
    with _token_callbacks(monkeypatch, TOKEN):
        apps.get_app_config("isobil").ready()
        apps.get_app_config("isobil").ready()
        mask_callback_secret()
        DjangoClient().post(f"/sms/callbacks/{TOKEN}/verimor", b"{}", "application/json")
        reset_client()
        logging.getLogger("django.server").removeFilter(_masks("django.server")[0])
        mask_callback_secret()  # put back
        for name in _REQUEST_LOGGERS:
            assert len(_masks(name)) == 1
            assert _masks(name)[0].hides(TOKEN)
    with _token_callbacks(monkeypatch, "another-token-0123456789"):
        for name in _REQUEST_LOGGERS:
            assert [mask.hides("another-token-0123456789") for mask in _masks(name)] == [True]


def test_a_fresh_process_masks_the_token_from_the_start() -> None:
    """``django.setup()`` alone puts the mask on: no request has reached the view yet."""
    probe = (
        "import logging, sys, django\n"
        "from django.conf import settings\n"
        "settings.configure(INSTALLED_APPS=['isobil.contrib.django'], ISOBIL={\n"
        "    'transport': {'kind': 'generic-json', 'url': 'http://127.0.0.1:9/'},\n"
        f"    'callbacks': {{'secret_env': '{TOKEN_ENV}', 'auth': 'token'}}}})\n"
        "django.setup()\n"
        "for name in ('django.request', 'django.server'):\n"
        "    logger = logging.getLogger(name)\n"
        "    logger.addHandler(logging.StreamHandler(sys.stdout))\n"
        "    logger.warning('Forbidden: %s', sys.argv[1])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, f"/sms/callbacks/{TOKEN}/verimor"],
        env={**os.environ, TOKEN_ENV: TOKEN},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.splitlines() == ["Forbidden: /sms/callbacks/***/verimor"] * 2


def test_the_mask_hides_each_form_a_server_may_log() -> None:
    """As written, percent-encoded in either case (wholly or in part), escaped as
    Django's ``log_response`` escapes a path; in args, the message, extras and the
    traceback."""
    secret = "tok/en+ş 1-0123456789"  # noqa: S105 - a test secret
    written = [
        secret,
        quote(secret, safe=""),
        quote(secret, safe="").lower(),
        quote(secret, safe="+/"),
        secret.encode("unicode_escape").decode("ascii"),
    ]
    mask = MaskSecret(secret)
    args = tuple(f"/sms/{form}/dlr" for form in written)
    record = logging.LogRecord(
        "django.request", logging.WARNING, __file__, 1, "%s " * len(args), args, None
    )
    assert mask.filter(record)
    assert record.getMessage() == "/sms/***/dlr " * len(args)
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, f"at /{secret}/ %(path)s", ({"path": f"/{secret}/"},), None
    )
    record.shown = f"/{quote(secret, safe='')}/"
    assert mask.filter(record)
    assert (record.getMessage(), record.shown) == ("at /***/ /***/", "/***/")
    try:
        raise ValueError(f"no route to /{secret}/dlr")
    except ValueError as exc:
        record = logging.makeLogRecord(
            {"msg": "failed", "exc_info": (ValueError, exc, exc.__traceback__)}
        )
    assert mask.filter(record)
    shown = logging.Formatter().format(record)
    assert "no route to /***/dlr" in shown
    assert secret not in shown
    assert MaskSecret("").filter(record)  # no secret: nothing masked
    assert repr(mask) == "<MaskSecret>"


# -- system checks ----------------------------------------------------------------------


def _check_ids(config: object, **overrides: object) -> list[str]:
    with override_settings(ISOBIL=config, **overrides):
        return [message.id or "" for message in check_settings()]


def test_system_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _check_ids(ACME_SETTINGS, DEBUG=True) == []
    assert _check_ids(ACME_SETTINGS, DEBUG=False) == ["isobil.W001"]  # fake in production
    assert _check_ids({"brands": ["ACME"]}, DEBUG=True) == ["isobil.E002"]
    assert _check_ids({"commercial": False}, DEBUG=True) == []
    assert _check_ids({"name": "Acme A.Ş."}, DEBUG=True) == ["isobil.E003"]
    assert _check_ids(["not", "a", "dict"]) == ["isobil.E001"]
    provider = {"kind": "generic-json", "url": "https://sms.example", "api_key_env": "NO_KEY_VAR"}
    assert _check_ids({**ACME_SETTINGS, "transport": provider}, DEBUG=False) == ["isobil.E004"]
    monkeypatch.setenv("NO_KEY_VAR", "key")
    assert _check_ids({**ACME_SETTINGS, "transport": provider}, DEBUG=False) == []
    pushes = {**ACME_SETTINGS, "callbacks": {"secret_env": "NO_KEY_VAR"}}
    assert _check_ids(pushes, DEBUG=True) == ["isobil.W002"]  # the fake takes no pushes


# -- management commands ----------------------------------------------------------------


def _run(command: str, *args: str, **options: Any) -> str:
    from io import StringIO

    out = StringIO()
    call_command(command, *args, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


def test_migrate_dispatch_and_worker_commands(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'commands.db'}"
    with override_settings(ISOBIL={**ACME_SETTINGS, "database_url": url}):
        assert "isobil: database is at revision" in _run("isobil_migrate")
        due = datetime.now(UTC) + timedelta(seconds=1)
        client = get_client()
        result = client.send(
            Message("Kargonuz yolda.", category="informational"),
            to=["05321234567", "05331234567", "05341234567"],
            at=due,
        )
        assert len(result.queued) == 3
        _wait_until(due)
        assert _run("isobil_dispatch", limit=2) == "dispatched 2 message(s): submitted 2\n"
        assert _run("isobil_worker", once=True) == "dispatched 1 message(s): submitted 1\n"
        assert len(fake_transport().sent) == 3
    with pytest.raises(CommandError, match="--limit must be positive"):
        _run("isobil_dispatch", "--limit", "0")


@pytest.mark.usefixtures("signal_guard")
@pytest.mark.parametrize(
    ("command", "options"), [("isobil_worker", {"interval": 3600.0}), ("isobil_dispatch", {})]
)
def test_the_sending_commands_stop_on_sigterm_once_the_batch_in_flight_is_settled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str, options: dict[str, Any]
) -> None:
    """SIGTERM (a deploy, a scheduler's timeout) while the command's batch is at the
    transport: the batch is settled, the command ends (the worker without waiting out
    its interval). Before, SIGTERM ended the process where it stood, the batch left
    ``submitting`` to become ``unknown``."""
    import signal

    import isobil.client

    url = f"sqlite:///{tmp_path / 'commands.db'}"
    later = datetime.now(UTC) + timedelta(hours=1)
    with override_settings(ISOBIL={**ACME_SETTINGS, "database_url": url}):
        _run("isobil_migrate")
        client = get_client()
        client.send(
            Message("Kargonuz yolda.", category="informational"),
            to=["05321234567", "05331234567"],
            at=later,
        )
        monkeypatch.setattr(isobil.client, "_now", lambda: later + timedelta(minutes=1))
        transport = fake_transport()
        submit = transport.submit

        def signalled(batch: Any) -> Any:
            signal.raise_signal(signal.SIGTERM)
            return submit(batch)

        monkeypatch.setattr(transport, "submit", signalled)
        printed = _run(command, **options)
        assert printed == "dispatched 2 message(s): submitted 2\n"
        [campaign] = client.storage.list_campaigns()
        states = Counter(m.state for m in client.storage.iter_messages(campaign.id))
        assert states == {MessageState.SUBMITTED: 2}


def test_import_command(tmp_path: Path) -> None:
    sheet = tmp_path / "rehber.csv"
    sheet.write_text("Ad,Soyad,GSM\nAyşe,Yılmaz,0532 123 45 67\nMehmet,Öz,12\n", encoding="utf-8")
    printed = _run("isobil_import", str(sheet), group="vip", verbosity=0)
    assert "1" in printed
    assert len(get_client().contacts.group("vip")) == 1
    with pytest.raises(CommandError):
        _run("isobil_import", str(tmp_path / "missing.csv"))


def test_import_command_speaks_of_its_own_options(tmp_path: Path) -> None:
    """Hints name the command's flags, not Python keywords; --invalid-csv lists every
    invalid row the summary leaves out."""
    bad = tmp_path / "bad.csv"
    bad.write_text("Telefon\n" + "".join(f"12{i}\n" for i in range(12)), encoding="utf-8")
    listed = tmp_path / "invalid.csv"
    printed = _run("isobil_import", str(bad), invalid_csv=str(listed), verbosity=0)
    assert "… and 2 more invalid rows (--invalid-csv FILE writes them all)" in printed
    assert "short_numbers" not in printed
    assert len(listed.read_text(encoding="utf-8").splitlines()) == 1 + 12
    unnamed = tmp_path / "unnamed.csv"
    unnamed.write_text("foo;bar\n1;2\n", encoding="utf-8")
    with pytest.raises(CommandError, match="--mapping 'number=Müşteri GSM'") as refused:
        _run("isobil_import", str(unnamed), verbosity=0)
    assert "mapping=" not in str(refused.value)


# -- the example shop on real servers -----------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until(moment: datetime) -> None:
    """Wait for the clock (messages queued for ``moment`` become due)."""
    while datetime.now(UTC) <= moment:
        time.sleep(0.05)


def _manage(env: Mapping[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=EXAMPLE,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"manage.py {' '.join(args)} failed:\n{done.stderr}"
    return done.stdout


@contextmanager
def _server(env: Mapping[str, str], log: list[str] | None = None) -> Iterator[str]:
    """``manage.py runserver`` of the example on a free loopback port; killed after.
    With ``log``, what it writes on stderr is appended there (complete on exit)."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=EXAMPLE,
        env=dict(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    reader = None
    if log is not None:
        stderr = process.stderr
        assert stderr is not None
        reader = threading.Thread(target=lambda: log.extend(line.decode() for line in stderr))
        reader.start()
    try:
        while True:  # ready once it answers anything
            if process.poll() is not None:
                raise AssertionError(f"runserver exited: {process.stderr.read()!r}")  # type: ignore[union-attr]
            try:
                urllib.request.urlopen(f"{url}/orders/0/", timeout=5)  # noqa: S310 - loopback
            except urllib.error.HTTPError:
                break
            except OSError:
                time.sleep(0.05)
        yield url
    finally:
        process.kill()
        process.wait()
        if reader is not None:
            reader.join(timeout=30)  # the pipe is at its end once the process is gone
        if process.stderr is not None:
            process.stderr.close()


def _shop_env(tmp_path: Path, gateway: HttpGateway, auth: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ISOBIL_", "SHOP_"))}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env |= {
        "SHOP_DATABASE": str(tmp_path / "shop.sqlite3"),
        "SHOP_SMS_GATEWAY_URL": gateway.url,
        "SHOP_SMS_CALLBACK_SECRET": SECRET,
        "SHOP_SMS_CALLBACK_AUTH": auth,
    }
    _manage(env, "migrate", "--verbosity", "0")
    assert "revision" in _manage(env, "isobil_migrate")
    return env


def _post(url: str, fields: Mapping[str, str]) -> dict[str, Any]:
    from urllib.parse import urlencode

    status, body = http_post(
        url, urlencode(fields).encode(), {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert 200 <= status < 300, body
    answer: dict[str, Any] = json.loads(body)
    return answer


def _ship_an_order(server: str) -> str:
    order = _post(f"{server}/orders/", {"customer": "Ayşe Yılmaz", "phone": "0532 123 45 67"})
    shipped = _post(
        f"{server}/orders/{order['id']}/shipped",
        {"carrier": "Yurtiçi Kargo", "tracking_number": "YK1"},
    )
    message_id: str = shipped["sms_message_id"]
    return message_id


@pytest.mark.parametrize("auth", ["hmac", "token"])
def test_the_shop_takes_reports_and_rets_through_its_mounted_callbacks(
    tmp_path: Path, auth: str
) -> None:
    """A real server; the provider pushes under /sms/callbacks/ (signed, or with the token
    in the URL); the message is delivered and the RET reaches the ledger. The token
    is in none of the server's log lines, a refused push's included."""
    log: list[str] = []
    with (
        HttpGateway(secret=SECRET if auth == "hmac" else None) as gateway,
        _server(_shop_env(tmp_path, gateway, auth), log) as server,
        Client(database_url=f"sqlite:///{tmp_path / 'shop.sqlite3'}") as records,
    ):
        gateway.callback_url = f"{server}/sms/callbacks/" + (
            f"{SECRET}/" if auth == "token" else ""
        )
        message_id = _ship_an_order(server)
        provider_id = records.message(message_id).provider_id
        assert provider_id is not None
        gateway.deliver(provider_id, DeliveryStatus.DELIVERED)
        assert records.message(message_id).state is MessageState.DELIVERED
        gateway.send_inbound(CUSTOMER, "4605", "ORNEK RET")
        assert records.consent.state(CUSTOMER, brand="ORNEK") is ConsentStatus.RET
        assert gateway.received()[-1][0] == CUSTOMER  # the RET confirmation went out
        forged = gateway.post_callback(b"{}", signature="0" * 64)
        wrong_token = http_post(f"{server}/sms/callbacks/not-the-token/", b"{}", {})
        assert (forged if auth == "hmac" else wrong_token)[0] == 401
        if auth == "token":
            unreadable = http_post(f"{server}/sms/callbacks/{SECRET}/", b"not json", {})
            assert unreadable[0] == 400
    shown = "".join(log)
    assert "/sms/callbacks/" in shown  # runserver logged the requests
    assert SECRET not in shown
    if auth == "token":
        assert "/sms/callbacks/***/" in shown


def test_a_replayed_push_is_handled_once_across_two_servers(tmp_path: Path) -> None:
    """Two server processes on one database: the same signed push to both is answered by
    both and handled by one (one RET recorded, one confirmation sent)."""
    with ExitStack() as stack:
        gateway = stack.enter_context(HttpGateway(secret=SECRET))
        env = _shop_env(tmp_path, gateway, "hmac")
        first, second = (stack.enter_context(_server(env)) for _ in range(2))
        records = stack.enter_context(Client(database_url=f"sqlite:///{tmp_path / 'shop.sqlite3'}"))
        body = json.dumps(
            {"type": "mo", "from": CUSTOMER, "to": "4605", "text": "ORNEK RET", "provider_id": "m1"}
        ).encode()
        headers = signed_headers(SECRET, body)
        assert http_post(f"{first}/sms/callbacks/", body, headers)[0] == 200
        assert http_post(f"{second}/sms/callbacks/", body, headers)[0] == 200
        assert records.consent.state(CUSTOMER, brand="ORNEK") is ConsentStatus.RET
        assert len(records.consent.history(CUSTOMER)) == 1
        assert [to for to, _ in gateway.received()] == [CUSTOMER]


def test_djangos_test_runner_uses_the_fake_transport() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ISOBIL_", "SHOP_"))}
    done = subprocess.run(
        [sys.executable, "manage.py", "test", "orders"],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Ran 1 test" in done.stderr
    assert "OK" in done.stderr


# -- workers on PostgreSQL ----------------------------------------------------------------


def test_three_workers_send_each_queued_message_once(tmp_path: Path) -> None:
    """Three ``manage.py isobil_worker --once`` at once on PostgreSQL (Django's database):
    every queued message goes out exactly once."""
    with fresh_database() as url:
        db = sa.make_url(url)
        log = tmp_path / "sent.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("ISOBIL_")}
        env |= {
            "DJANGO_SETTINGS_MODULE": "django_project.settings",
            "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), env.get("PYTHONPATH", "")]),
            "TEST_DJANGO_DB_NAME": db.database or "",
            "TEST_DJANGO_DB_HOST": db.host or "127.0.0.1",
            "TEST_DJANGO_DB_PORT": str(db.port or 5432),
            "TEST_DJANGO_DB_USER": db.username or "postgres",
            "ISOBIL_TEST_SENT_LOG": str(log),
        }
        command = [sys.executable, "-m", "django"]
        migrated = subprocess.run(
            [*command, "isobil_migrate"], env=env, capture_output=True, text=True, timeout=120
        )
        assert migrated.returncode == 0, migrated.stderr
        numbers = [f"0532{n:07d}" for n in range(1_000_000, 1_000_300)]
        due = datetime.now(UTC) + timedelta(seconds=1)
        with Client(ACME, database_url=url) as client:
            queued = client.send(
                Message("Kargonuz yolda.", category="informational"), numbers, at=due
            )
            ids = {o.message_id for o in queued.queued}
            assert len(ids) == len(numbers)
            _wait_until(due)
            workers = [
                subprocess.Popen(
                    [*command, "isobil_worker", "--once"],
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for _ in range(3)
            ]
            try:
                outputs = [worker.communicate(timeout=300) for worker in workers]
            finally:
                for worker in workers:
                    worker.kill()
                    worker.wait()
            for worker, (_, err) in zip(workers, outputs, strict=True):
                assert worker.returncode == 0, err
            sent = Counter(line.split()[1] for line in log.read_text().splitlines())
            assert set(sent) == ids
            assert max(sent.values()) == 1
            states = Counter(client.message(i or "").state for i in ids)
            assert states == {MessageState.SUBMITTED: len(ids)}
