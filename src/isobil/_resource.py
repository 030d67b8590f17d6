"""The one base for everything that holds connections and must be closed."""

from __future__ import annotations

from types import TracebackType
from typing import Self

__all__ = ["Resource"]


class Resource:
    """Something with a :meth:`close`, usable as a context manager that closes on exit."""

    def close(self) -> None:
        """Release what this holds. Calling it twice is harmless."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
