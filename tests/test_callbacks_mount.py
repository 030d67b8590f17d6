"""The callback receiver mounted under a prefix, in every auth mode, and its replay guard.

Starlette mounts the ASGI face for real (its router sets ``root_path`` and keeps
the whole ``path``); the WSGI face is called with the environ a prefix mount makes.
"""

from __future__ import annotations

import base64
import io
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from isobil.storage import SQLStorage
from isobil.transport import CallbackApp, GenericJsonAdapter, InboundEvent, signed_headers

SECRET = "a-long-shared-secret-0123"  # noqa: S105 (a test secret)
PREFIX = "/shop/sms/callbacks"
DLR = json.dumps({"type": "dlr", "provider_id": "gw-1", "status": "delivered"}).encode()


def _signed(body: bytes = DLR) -> dict[str, str]:
    return signed_headers(SECRET, body)


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


# (auth, path below the prefix, headers that authenticate, headers that do not)
MODES: list[tuple[str, str, dict[str, str], dict[str, str]]] = [
    ("token", f"/{SECRET}/dlr", {}, {}),
    ("hmac", "/dlr", _signed(), {"X-Isobil-Timestamp": "1", "X-Isobil-Signature": "0" * 64}),
    ("basic", "/dlr", _basic("isobil", SECRET), _basic("isobil", "wrong-password-000")),
]


@pytest.mark.parametrize(("auth", "below", "good", "bad"), MODES, ids=[m[0] for m in MODES])
def test_asgi_receiver_under_a_starlette_mount(
    auth: str, below: str, good: dict[str, str], bad: dict[str, str]
) -> None:
    """Under a prefix, every auth mode accepts the right push and refuses the wrong one."""
    received: list[InboundEvent] = []
    callbacks = CallbackApp(
        GenericJsonAdapter(),
        secret=SECRET,
        auth=auth,
        on_event=received.append,  # type: ignore[arg-type]
    )
    app = Starlette(routes=[Mount(PREFIX, app=callbacks.asgi)])
    with TestClient(app) as http:
        if auth == "token":
            assert http.post(f"{PREFIX}/not-the-secret-at-all/dlr", content=DLR).status_code == 401
        else:
            assert http.post(PREFIX + below, content=DLR, headers=bad).status_code == 401
        assert received == []
        answer = http.post(PREFIX + below, content=DLR, headers=good)
    assert answer.status_code == 200
    assert [e.provider_id for e in received] == ["gw-1"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("bridged", [False, True], ids=["pep3333", "whole-path-in-path-info"])
def test_wsgi_receiver_under_a_prefix(bridged: bool) -> None:
    """PATH_INFO below SCRIPT_NAME is read; so is a bridge that puts the whole path there."""
    received: list[InboundEvent] = []
    callbacks = CallbackApp(
        GenericJsonAdapter(), secret=SECRET, auth="token", on_event=received.append
    )
    below = f"/{SECRET}/dlr"
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "SCRIPT_NAME": PREFIX,
        "PATH_INFO": PREFIX + below if bridged else below,
        "CONTENT_LENGTH": str(len(DLR)),
        "wsgi.input": io.BytesIO(DLR),
    }
    statuses: list[str] = []
    callbacks(environ, lambda status, headers: statuses.append(status))
    assert statuses == ["200 OK"]
    assert len(received) == 1


@pytest.mark.parametrize("shape", [str.upper, lambda s: f"  {s} "], ids=["upper-case", "padded"])
def test_a_reshaped_signature_is_still_a_replay(shape: Any) -> None:
    """Replays are keyed on the verified signature, not on the header as sent."""
    received: list[InboundEvent] = []
    callbacks = CallbackApp(GenericJsonAdapter(), secret=SECRET, on_event=received.append)
    headers = {k.lower(): v for k, v in _signed().items()}
    assert callbacks.handle("POST", "/", "", headers, DLR)[0] == 200
    signature = headers["x-isobil-signature"]
    again = {**headers, "x-isobil-signature": shape(signature)}
    assert callbacks.handle("POST", "/", "", again, DLR)[0] == 200
    assert len(received) == 1


def test_concurrent_copies_of_a_push_are_handled_once() -> None:
    """Eight identical pushes at once: the push is remembered before it is handled."""
    received: list[InboundEvent] = []
    gate = threading.Barrier(8)
    callbacks = CallbackApp(GenericJsonAdapter(), secret=SECRET, on_event=received.append)
    headers = {k.lower(): v for k, v in _signed().items()}
    answers: list[int] = []

    def push() -> None:
        gate.wait()
        answers.append(callbacks.handle("POST", "/", "", headers, DLR)[0])

    threads = [threading.Thread(target=push) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200] * 8
    assert len(received) == 1


def test_receivers_sharing_a_database_refuse_each_others_replays(tmp_path: Path) -> None:
    """Two receivers (two worker processes) on one storage handle a push once between them."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    received: list[InboundEvent] = []
    with SQLStorage(url) as first_db, SQLStorage(url) as second_db:
        first, second = (
            CallbackApp(
                GenericJsonAdapter(), secret=SECRET, on_event=received.append, replay_store=db
            )
            for db in (first_db, second_db)
        )
        headers = {k.lower(): v for k, v in _signed().items()}
        assert first.handle("POST", "/", "", headers, DLR)[0] == 200
        assert second.handle("POST", "/", "", headers, DLR)[0] == 200
    assert len(received) == 1
