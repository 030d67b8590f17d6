"""FastAPI integration: one :class:`~isobil.AsyncClient` for the app's lifetime, handed
to the endpoints, and the provider's callbacks mounted under any prefix.

.. code-block:: python

    from fastapi import FastAPI
    from isobil import Message
    from isobil.contrib.fastapi import IsobilClient, callback_router, isobil_lifespan

    settings = {  # shaped like isobil.toml; a secret is named by its environment variable
        "name": "Acme A.Ş.", "brands": ["ACME"], "short_number": "4605",
        "transport": {"kind": "generic-json", "url": "https://sms.example.com.tr",
                      "api_key_env": "SMS_API_KEY"},
        "callbacks": {"secret_env": "SMS_CALLBACK_SECRET", "auth": "hmac"},
    }
    app = FastAPI(lifespan=isobil_lifespan(settings))
    app.include_router(callback_router(), prefix="/sms/callbacks")

    @app.post("/orders/{order_id}/shipped")
    async def shipped(order_id: str, client: IsobilClient) -> dict[str, str]:
        notice = Message("Siparişiniz kargoya verildi.", category="informational")
        result = await client.send(notice, to="05321234567")
        return {"status": result.outcomes[0].status.value}

Installed with the extra ``isobil[fastapi]``; ``import isobil`` never imports FastAPI.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import PlainTextResponse

from isobil import AsyncClient
from isobil.config import callback_options, client_options
from isobil.contrib._logs import MaskSecret
from isobil.errors import ConfigurationError, InvalidValue
from isobil.transport import CallbackApp

__all__ = [
    "IsobilClient",
    "Lifespan",
    "callback_router",
    "get_client",
    "isobil_lifespan",
]

log = logging.getLogger("isobil")

#: What ``FastAPI(lifespan=...)`` takes and :func:`isobil_lifespan` gives.
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]

#: Where the lifespan keeps the client and the callback receiver on ``app.state``.
_CLIENT_STATE: Final = "isobil"
_CALLBACKS_STATE: Final = "isobil_callbacks"
#: uvicorn's access log prints each request's path, and so a callback token in it.
_ACCESS_LOGGER: Final = "uvicorn.access"


def isobil_lifespan(
    settings: Mapping[str, Any],
    *,
    client_factory: Callable[[], AsyncClient] | None = None,
    lifespan: Lifespan | None = None,
    environ: Mapping[str, str] | None = None,
) -> Lifespan:
    """A lifespan that opens an :class:`~isobil.AsyncClient` when the app starts and
    closes it when the app stops; pass it as ``FastAPI(lifespan=...)``.

    The client is built from ``settings`` (shaped like ``isobil.toml``, see
    :func:`isobil.config.client_options`), or by ``client_factory`` when given (a
    test's fake transport, a storage of your own); it is built in a thread, as
    opening a database blocks. Its ``callbacks`` table
    (:func:`isobil.config.callback_options`) sets up the receiver that
    :func:`callback_router` serves. The app's own
    ``lifespan``, if any, runs inside, with the client open. ``environ`` stands in
    for ``os.environ`` when reading secrets and the database URL.

    The context can also be entered from an app's own lifespan:
    ``async with isobil_lifespan(settings)(app): ...``.
    """

    @asynccontextmanager
    async def isobil_context(app: FastAPI) -> AsyncIterator[None]:
        callbacks = callback_options(settings, environ=environ)  # refused before opening
        factory = client_factory or (
            lambda: AsyncClient(**client_options(settings, environ=environ))
        )
        client = await asyncio.to_thread(factory)
        access_log = logging.getLogger(_ACCESS_LOGGER)
        masking = None
        try:
            setattr(app.state, _CLIENT_STATE, client)
            if callbacks is not None:
                setattr(app.state, _CALLBACKS_STATE, _receiver(client, callbacks))
                masking = MaskSecret(callbacks["secret"])
                access_log.addFilter(masking)
            if lifespan is None:
                yield
            else:
                async with lifespan(app):
                    yield
        finally:
            setattr(app.state, _CLIENT_STATE, None)
            setattr(app.state, _CALLBACKS_STATE, None)
            if masking is not None:
                access_log.removeFilter(masking)
            await client.aclose()

    return isobil_context


def get_client(request: Request) -> AsyncClient:
    """The app's :class:`~isobil.AsyncClient`, for ``Depends(get_client)``.

    Raises :class:`~isobil.ConfigurationError` when the app was not started with
    :func:`isobil_lifespan`.
    """
    client = getattr(request.app.state, _CLIENT_STATE, None)
    if not isinstance(client, AsyncClient):
        raise ConfigurationError(
            "this app has no isobil client: create it with "
            "FastAPI(lifespan=isobil_lifespan(settings))"
        )
    return client


#: An endpoint parameter typed ``IsobilClient`` receives the app's client.
IsobilClient = Annotated[AsyncClient, Depends(get_client)]


def callback_router() -> APIRouter:
    """A router receiving the provider's delivery reports and inbound texts: GET and
    POST at its prefix and on every path below it. Include it with a prefix:
    ``app.include_router(callback_router(), prefix="/sms/callbacks")``.

    Each push is authenticated, read and handed to the app's client by the receiver
    :func:`isobil_lifespan` built from the settings' ``callbacks`` table, so delivery
    reports move message states and an inbound "<BRAND> RET" reaches the consent
    ledger. A signed (HMAC) push sent twice is handled once, whichever process of the
    app it reaches: the client's storage remembers it. With ``auth = "token"`` the
    provider calls ``<prefix>/<secret>/…``; the secret is masked in uvicorn's access
    log. The routes are left out of the OpenAPI schema.
    """
    router = APIRouter(include_in_schema=False)
    for path in ("", "/{path:path}"):
        router.add_api_route(path, _receive, methods=["GET", "POST"], response_class=Response)
    return router


async def _receive(request: Request, path: str = "") -> Response:
    """Hand one push to the app's :class:`~isobil.transport.CallbackApp`.

    The receiver's storage writes block, so they run in the client's worker
    threads. Unconfigured callbacks answer 503, so the provider retries once the
    ``callbacks`` table is added.
    """
    receiver = getattr(request.app.state, _CALLBACKS_STATE, None)
    if not isinstance(receiver, CallbackApp):
        log.error(
            "isobil: a provider callback arrived, but the settings have no callbacks table "
            '([callbacks] secret_env = "VARIABLE"); answered 503'
        )
        return PlainTextResponse("callbacks are not configured", status_code=503)
    body = await _read_body(request, receiver.max_body)
    if body is None:
        return PlainTextResponse("body too large", status_code=413)
    status, content_type, answer = await get_client(request).run(
        lambda _: receiver.handle(
            request.method, "/" + path, request.url.query, dict(request.headers), body
        )
    )
    return Response(answer, status_code=status, headers={"content-type": content_type})


def _receiver(client: AsyncClient, callbacks: dict[str, Any]) -> CallbackApp:
    try:
        return client.callbacks(**callbacks)
    except (InvalidValue, ConfigurationError) as exc:  # a short secret, a fake transport
        raise ConfigurationError(f"[callbacks] {exc}") from exc


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The request body, or ``None`` once it is longer than ``limit`` bytes (read no
    further)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
