"""The provider callback view: delivery reports and inbound texts pushed by HTTP."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from isobil.contrib.django._client import (
    callback_app,
    get_client,
    mask_callback_secret,
    takes_callbacks,
)


@csrf_exempt
def callback(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Hand one push to the client's :class:`~isobil.transport.CallbackApp`.

    ``rest`` is the path below the include (``<token>/dlr`` with token auth); the
    app authenticates the push (HMAC, token or Basic, per ``ISOBIL['callbacks']``),
    refuses a replay across every process sharing the database, and answers the way
    the provider expects. Any method: some providers push by GET. The secret is
    kept out of Django's log lines of the request (they name its path).
    """
    mask_callback_secret(quiet=True)  # bad settings: callback_app() says so below
    if not takes_callbacks(get_client()):
        raise Http404("this transport receives no callbacks")
    headers = {name.lower(): value for name, value in request.headers.items()}
    status, content_type, body = callback_app().handle(
        request.method or "GET",
        "/" + rest,
        request.META.get("QUERY_STRING", ""),
        headers,
        request.body,
    )
    return HttpResponse(body, status=status, content_type=content_type)
