"""OpenTelemetry spans around the client's public calls; nothing without OpenTelemetry.

:func:`span` opens a span through ``opentelemetry-api`` when it is installed (the
extra ``isobil[otel]``) and the application configured an SDK, which decides where
spans go. Otherwise it does nothing. ``import isobil`` never imports OpenTelemetry:
the first span does.

Attributes hold counts, a campaign id, a transport's class name — never a phone
number, a message text, an exception's message or a credential. A call that
raises ends its span with status ERROR and ``error.type`` (the exception's class
name), not the exception's message, which may name a number.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any, Final

from isobil._version import __version__

__all__ = ["Span", "span"]

#: Attributes isobil sets are named ``isobil.<name>``.
PREFIX: Final = "isobil."

#: ``opentelemetry.trace`` once looked up; False when OpenTelemetry is not
#: installed; None before the first span.
_otel: Any = None
#: The tracer of the last provider seen, by that provider.
_tracer: tuple[Any, Any] = (None, None)

Value = str | int | float | bool | None


class Span:
    """The span of one call, to add attributes to as the call learns them."""

    __slots__ = ("_span",)

    def __init__(self, span: Any) -> None:
        self._span = span

    def set(self, **attributes: Value) -> None:
        """Set ``isobil.<name>`` attributes; ``None`` values are left out."""
        if self._span is not None:
            for name, value in attributes.items():
                if value is not None:
                    self._span.set_attribute(PREFIX + name, value)


_NOTHING: Final = Span(None)


def _lookup() -> Any:
    global _otel
    if _otel is None:
        try:
            from opentelemetry import trace
        except ImportError:
            _otel = False
        else:
            _otel = trace
    return _otel or None


def _provider(trace: Any) -> Any:
    """The global tracer provider; None while it records nothing (no SDK configured)."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider):
        return None
    return provider


class _Nothing:
    """The context of a span not recorded: enters to a Span that sets nothing."""

    __slots__ = ()

    def __enter__(self) -> Span:
        return _NOTHING

    def __exit__(self, *exc: object) -> None:
        return None


class _Traced:
    """The context of an OpenTelemetry span, current while the block runs."""

    __slots__ = ("_attributes", "_context", "_error", "_span")

    def __init__(self, tracer: Any, error: Any, name: str, attributes: dict[str, Value]) -> None:
        self._context = tracer.start_as_current_span(
            name, record_exception=False, set_status_on_exception=False
        )
        self._error = error
        self._attributes = attributes
        self._span: Any = None

    def __enter__(self) -> Span:
        self._span = self._context.__enter__()
        traced = Span(self._span)
        traced.set(**self._attributes)
        return traced

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self._span.set_attribute("error.type", exc_type.__qualname__)
            self._span.set_status(self._error, exc_type.__name__)
        self._context.__exit__(exc_type, exc, tb)


_UNTRACED: Final = _Nothing()


def span(name: str, **attributes: Value) -> AbstractContextManager[Span]:
    """A span named ``name`` around a ``with`` block, current while it runs, with
    ``attributes``.

    A context that does nothing without OpenTelemetry, or while no SDK is configured
    (a span that records nothing would change nothing: the current span stays the
    parent of whatever runs inside).
    """
    global _tracer
    trace = _lookup()
    provider = None if trace is None else _provider(trace)
    if provider is None:
        return _UNTRACED
    known, tracer = _tracer
    if known is not provider:
        tracer = provider.get_tracer("isobil", __version__)
        _tracer = (provider, tracer)
    return _Traced(tracer, trace.StatusCode.ERROR, name, attributes)
