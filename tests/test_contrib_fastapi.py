"""isobil.contrib.fastapi: a client for the app's lifetime, and the provider's callbacks
received by real uvicorn servers on loopback.

The servers run this module's :func:`make_app` (``uvicorn --factory``), configured by
the environment: the settings as JSON in ``ISOBIL_TEST_FASTAPI_SETTINGS`` and the
callbacks' prefix in ``ISOBIL_TEST_FASTAPI_PREFIX``. Each listens on a socket the test
bound first (``--fd``), so no port is guessed.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from _acme import ACME
from _pg import fresh_database
from isobil import AsyncClient, Client, ConfigurationError, Message, MessageState
from isobil.contrib.fastapi import IsobilClient, callback_router, isobil_lifespan
from isobil.model import ConsentStatus
from isobil.storage import MemoryStorage
from isobil.testing.http_gateway import HttpGateway, http_post
from isobil.transport import DeliveryStatus, signed_headers

SECRET = "fastapi-callback-secret-0123456789"  # noqa: S105 - a test secret
SECRET_ENV = "ISOBIL_TEST_CALLBACK_SECRET"  # noqa: S105 - the name of a variable
SETTINGS_ENV = "ISOBIL_TEST_FASTAPI_SETTINGS"
PREFIX_ENV = "ISOBIL_TEST_FASTAPI_PREFIX"
CUSTOMER = "+905321234567"
TESTS = Path(__file__).resolve().parent


# -- the app the servers run ---------------------------------------------------------------


class SendRequest(BaseModel):
    to: str
    text: str


class Sent(BaseModel):
    message_id: str
    provider_id: str


def make_app() -> FastAPI:
    """The app under test: sends on ``POST /send``, receives callbacks under the prefix."""
    settings = json.loads(os.environ[SETTINGS_ENV])
    app = FastAPI(lifespan=isobil_lifespan(settings))
    app.include_router(callback_router(), prefix=os.environ[PREFIX_ENV])

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/send")
    async def send(request: SendRequest, client: IsobilClient) -> Sent:
        message = Message(request.text, category="informational")
        [outcome] = (await client.send(message, to=request.to)).outcomes
        return Sent(message_id=outcome.message_id or "", provider_id=outcome.provider_id or "")

    return app


def acme_settings(gateway: HttpGateway, auth: str) -> dict[str, Any]:
    """Acme's settings, sending through ``gateway``, callbacks authenticated by ``auth``."""
    return {
        "name": ACME.name,
        "mersis": ACME.mersis,
        "contact": ACME.contact,
        "brands": ["ACME"],
        "short_number": "4605",
        "transport": {"kind": "generic-json", "url": gateway.url, "timeout": 10.0},
        "callbacks": {"secret_env": SECRET_ENV, "auth": auth},
    }


# -- real servers -------------------------------------------------------------------------


class Server:
    """One uvicorn process serving :func:`make_app`; ``url`` is its base."""

    def __init__(self, settings: Mapping[str, Any], prefix: str, log: Path) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        self.url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        self.log = log
        env = {**os.environ, SETTINGS_ENV: json.dumps(settings), PREFIX_ENV: prefix}
        env[SECRET_ENV] = SECRET
        with listener, log.open("wb") as output:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "test_contrib_fastapi:make_app",
                    "--factory",
                    "--app-dir",
                    str(TESTS),
                    "--fd",
                    str(listener.fileno()),
                ],
                pass_fds=[listener.fileno()],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, deadline: float = 60.0) -> None:
        """Poll ``/health`` until it answers (the process is checked alive each time)."""
        give_up = time.monotonic() + deadline
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"uvicorn exited at start:\n{self.output()}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=1) as answer:  # noqa: S310
                    if answer.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() > give_up:
                raise RuntimeError(f"uvicorn did not become ready:\n{self.output()}")
            time.sleep(0.05)  # polling: the next look at the health endpoint

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(15)


@contextmanager
def servers(
    settings: Mapping[str, Any], tmp_path: Path, *, count: int = 1, prefix: str = "/sms/callbacks"
) -> Iterator[list[Server]]:
    """``count`` uvicorn processes of one app on one database, stopped on the way out."""
    with Client():  # the schema is made once, before the servers start
        pass
    started: list[Server] = []
    try:
        for number in range(count):
            started.append(Server(settings, prefix, tmp_path / f"uvicorn-{number}.log"))
        for server in started:
            server.wait_ready()
        yield started
    finally:
        for server in started:
            server.stop()


def post_json(url: str, payload: object) -> dict[str, Any]:
    status, body = http_post(
        url, json.dumps(payload).encode(), {"Content-Type": "application/json"}
    )
    assert status == 200, body
    answer: dict[str, Any] = json.loads(body)
    return answer


@pytest.fixture
def gateway() -> Iterator[HttpGateway]:
    with HttpGateway(secret=SECRET) as running:
        yield running


def database() -> Client:
    """A client on the database the servers share ($ISOBIL_DATABASE_URL)."""
    return Client(ACME)


# -- through real servers -----------------------------------------------------------------


def test_hmac_callbacks_move_state_and_ledger(gateway: HttpGateway, tmp_path: Path) -> None:
    """A signed delivery report and an inbound RET pushed to a uvicorn app under a prefix
    settle the message and record the opt-out; an unsigned push is refused."""
    with servers(acme_settings(gateway, "hmac"), tmp_path) as [server]:
        sent = post_json(server.url + "/send", {"to": "0532 123 45 67", "text": "Kargonuz yolda."})
        gateway.callback_url = server.url + "/sms/callbacks"
        gateway.deliver(sent["provider_id"], DeliveryStatus.DELIVERED)
        gateway.send_inbound(CUSTOMER, "4605", "ACME RET")
        forged = gateway.post_callback(b'{"type": "mo"}', signature="0" * 64)
    assert forged[0] == 401
    with database() as client:
        assert client.message(sent["message_id"]).state is MessageState.DELIVERED
        assert client.consent.state(CUSTOMER, brand="ACME") is ConsentStatus.RET
    assert "ret talebiniz alındı" in gateway.received()[-1][1]


def test_token_callbacks_under_another_prefix(tmp_path: Path) -> None:
    """With token auth the secret is the first path segment below the prefix; a wrong
    token is refused, and the secret never reaches uvicorn's access log."""
    with HttpGateway() as gateway:  # a provider that cannot sign
        settings = acme_settings(gateway, "token")
        with servers(settings, tmp_path, prefix="/provider/hooks") as [server]:
            sent = post_json(server.url + "/send", {"to": CUSTOMER, "text": "Kargonuz yolda."})
            gateway.callback_url = f"{server.url}/provider/hooks/wrong-token-0123456789/dlr"
            refused = gateway.post_callback(b"{}")
            gateway.callback_url = f"{server.url}/provider/hooks/{SECRET}/dlr"
            gateway.deliver(sent["provider_id"], DeliveryStatus.DELIVERED)
            gateway.send_inbound(CUSTOMER, "4605", "ACME RET")
        assert refused[0] == 401
        assert "/provider/hooks/***/dlr" in server.output()
        assert SECRET not in server.output()
    with database() as client:
        assert client.message(sent["message_id"]).state is MessageState.DELIVERED
        assert client.consent.state(CUSTOMER, brand="ACME") is ConsentStatus.RET


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_database(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The database every server of a test shares: this test's SQLite file, or a fresh
    PostgreSQL database (as workers on several machines would share)."""
    if request.param == "sqlite":
        yield os.environ["ISOBIL_DATABASE_URL"]
        return
    with fresh_database() as url:
        monkeypatch.setenv("ISOBIL_DATABASE_URL", url)
        yield url


def test_a_replay_is_handled_once_across_two_processes(
    gateway: HttpGateway, tmp_path: Path, shared_database: str
) -> None:
    """The same signed push sent to two uvicorn processes on one database: both answer
    2xx, one handles it (one RET in the ledger, one auto reply)."""
    body = json.dumps(
        {"type": "mo", "from": CUSTOMER, "to": "4605", "text": "ACME RET", "provider_id": "mo-1"}
    ).encode()
    headers = signed_headers(SECRET, body)
    with servers(acme_settings(gateway, "hmac"), tmp_path, count=2) as [first, second]:
        answers = [http_post(s.url + "/sms/callbacks/", body, headers) for s in (first, second)]
    assert [status for status, _ in answers] == [200, 200]
    with database() as client:
        assert [e.status for e in client.consent.history(CUSTOMER)] == [ConsentStatus.RET]
    assert len(gateway.received()) == 1  # one auto reply


# -- in process ---------------------------------------------------------------------------


def _fake_client() -> AsyncClient:
    return AsyncClient(ACME, storage=MemoryStorage())


def test_endpoints_get_the_client_the_lifespan_opened() -> None:
    """The dependency hands out the lifespan's client; it is closed when the app stops."""
    app = FastAPI(lifespan=isobil_lifespan({}, client_factory=_fake_client))
    seen: list[AsyncClient] = []

    @app.post("/notify")
    async def notify(client: IsobilClient) -> dict[str, str]:
        seen.append(client)
        notice = Message("Siparişiniz kargoya verildi.", category="informational")
        [outcome] = (await client.send(notice, to="05321234567")).outcomes
        return {"status": outcome.status.value}

    with TestClient(app) as http:
        assert http.post("/notify").json() == {"status": "submitted"}
        assert app.state.isobil is seen[0]
    assert app.state.isobil is None


def test_the_apps_own_lifespan_runs_inside_with_the_client_open() -> None:
    events: list[str] = []

    @asynccontextmanager
    async def own(app: FastAPI) -> AsyncIterator[None]:
        events.append(f"start, client open: {app.state.isobil is not None}")
        yield
        events.append(f"stop, client open: {app.state.isobil is not None}")

    app = FastAPI(lifespan=isobil_lifespan({}, client_factory=_fake_client, lifespan=own))
    with TestClient(app):
        pass
    assert events == ["start, client open: True", "stop, client open: True"]


def test_without_the_lifespan_the_dependency_says_what_is_missing() -> None:
    app = FastAPI()

    @app.get("/x")
    async def x(client: IsobilClient) -> None:
        pass

    with (
        TestClient(app) as http,
        pytest.raises(ConfigurationError, match=r"lifespan=isobil_lifespan\(settings\)"),
    ):
        http.get("/x")


def test_callbacks_without_settings_answer_503_so_the_provider_retries() -> None:
    app = FastAPI(lifespan=isobil_lifespan({}, client_factory=_fake_client))
    app.include_router(callback_router(), prefix="/sms/callbacks")
    with TestClient(app) as http:
        answer = http.post("/sms/callbacks/", content=b"{}")
    assert answer.status_code == 503


MEMORY = {"ISOBIL_DATABASE_URL": "sqlite://"}


@pytest.mark.parametrize(
    ("callbacks", "environ", "error"),
    [
        ({"secret": SECRET}, {}, "a credential is not kept in the settings"),
        ({"secret_env": "MISSING"}, {}, "the environment variable MISSING is not set"),
        ({"secret_env": "HOOK", "auth": "oauth"}, {"HOOK": SECRET}, "auth must be one of"),
        ({"secret_env": "HOOK"}, {"HOOK": "short"}, r"\[callbacks\] secret must be"),
    ],
)
def test_bad_callback_settings_stop_the_app_at_start(
    callbacks: dict[str, str], environ: dict[str, str], error: str, gateway: HttpGateway
) -> None:
    """The error names the setting, never the secret."""
    settings = {**acme_settings(gateway, "hmac"), "callbacks": callbacks}
    app = FastAPI(lifespan=isobil_lifespan(settings, environ={**MEMORY, **environ}))
    with pytest.raises(ConfigurationError, match=error) as caught, TestClient(app):
        pass
    assert SECRET not in str(caught.value)


def test_callbacks_for_a_transport_that_never_calls_stop_the_app_at_start() -> None:
    callbacks = {"callbacks": {"secret_env": "HOOK"}}  # and no transport: the fake
    app = FastAPI(lifespan=isobil_lifespan(callbacks, environ={**MEMORY, "HOOK": SECRET}))
    with (
        pytest.raises(ConfigurationError, match=r"\[callbacks\] .* through FakeTransport"),
        TestClient(app),
    ):
        pass


def test_a_body_over_the_limit_is_refused_unread(gateway: HttpGateway) -> None:
    settings = acme_settings(gateway, "hmac")
    app = FastAPI(lifespan=isobil_lifespan(settings, environ={**MEMORY, SECRET_ENV: SECRET}))
    app.include_router(callback_router(), prefix="/cb")
    with TestClient(app) as http:
        too_big = http.post("/cb/", content=b"x" * 70_000)
        unsigned = http.post("/cb/", content=b"{}")
    assert (too_big.status_code, unsigned.status_code) == (413, 401)


def test_the_lifespan_can_be_entered_from_an_apps_own() -> None:
    """``async with isobil_lifespan(settings)(app)`` inside the app's lifespan."""
    opened = isobil_lifespan({}, client_factory=_fake_client)

    @asynccontextmanager
    async def own(app: FastAPI) -> AsyncIterator[None]:
        async with opened(app):
            yield

    app = FastAPI(lifespan=own)
    with TestClient(app):
        assert isinstance(app.state.isobil, AsyncClient)


def test_basic_auth_callbacks(gateway: HttpGateway) -> None:
    """``auth = "basic"``: the provider sends the user name and the secret as password."""
    settings = {**acme_settings(gateway, "basic")}
    settings["callbacks"] = {**settings["callbacks"], "username": "acme-sms"}
    app = FastAPI(lifespan=isobil_lifespan(settings, environ={**MEMORY, SECRET_ENV: SECRET}))
    app.include_router(callback_router(), prefix="/sms/callbacks")
    ret = {"type": "mo", "from": CUSTOMER, "to": "4605", "text": "ACME RET", "provider_id": "m"}
    with TestClient(app) as http:
        wrong = http.post("/sms/callbacks", json=ret, auth=("acme-sms", "not-the-secret"))
        right = http.post("/sms/callbacks", json=ret, auth=("acme-sms", SECRET))
        client: AsyncClient = app.state.isobil
        state = client.sync.consent.state(CUSTOMER, brand="ACME")
    assert (wrong.status_code, right.status_code) == (401, 200)
    assert state is ConsentStatus.RET
