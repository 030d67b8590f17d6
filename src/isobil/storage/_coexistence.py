"""Living beside an application's own schema: keep isobil out of its Alembic autogenerate.

An application that shares its database with isobil and runs Alembic's
autogenerate against its own models would otherwise see isobil's tables as
"removed" and propose dropping them. Its ``env.py`` passes
:func:`include_object` (or its own hook wrapped in :func:`exclude_isobil`) to
``context.configure``.

Nothing here imports SQLAlchemy: ``import isobil.storage`` stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.schema import SchemaItem

__all__ = ["TABLE_PREFIX", "exclude_isobil", "include_object", "is_isobil_table", "isobil_tables"]

#: Every table isobil creates, its version table included, has a name starting with this.
TABLE_PREFIX = "isobil_"

#: Alembic's ``include_object`` hook: (object, name, type_, reflected, compare_to) -> include?
IncludeObject = Callable[["SchemaItem", "str | None", str, bool, "SchemaItem | None"], bool]


def isobil_tables() -> frozenset[str]:
    """The names of the tables isobil's migrations create, ``isobil_alembic_version`` included."""
    from isobil.storage._schema import VERSION_TABLE, metadata

    return frozenset(metadata.tables) | {VERSION_TABLE}


def is_isobil_table(name: str | None) -> bool:
    """Whether the table called ``name`` is isobil's: its name starts with ``isobil_``.

    The prefix, not the list of :func:`isobil_tables`, decides, so the tables
    of a newer isobil (one the application has not installed yet) are isobil's
    too.
    """
    return name is not None and name.startswith(TABLE_PREFIX)


def _table_name(item: SchemaItem, name: str | None, type_: str) -> str | None:
    if type_ == "table":
        return name
    # Columns, indexes, unique and foreign key constraints belong to a table.
    table = getattr(item, "table", None)
    found = getattr(table, "name", None)
    return found if isinstance(found, str) else None


def include_object(
    object: SchemaItem,
    name: str | None,
    type_: str,
    reflected: bool,
    compare_to: SchemaItem | None,
) -> bool:
    """Alembic's ``include_object`` hook leaving out isobil's tables and everything on them.

    In the application's ``env.py``::

        from isobil.storage import include_object

        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            include_object=include_object,
        )

    Autogenerate then neither proposes dropping isobil's tables (nor their
    indexes, columns and constraints, nor ``isobil_alembic_version``) nor
    touches them otherwise; isobil migrates them itself (``isobil db upgrade``,
    :func:`isobil.storage.upgrade`). Everything else is included.
    """
    return not is_isobil_table(_table_name(object, name, type_))


def exclude_isobil(hook: IncludeObject) -> IncludeObject:
    """The application's own ``include_object`` hook, with isobil's tables left out first.

    ``context.configure(..., include_object=exclude_isobil(my_hook))``: ``my_hook``
    decides for every object that is not isobil's.
    """

    def combined(
        object: SchemaItem,
        name: str | None,
        type_: str,
        reflected: bool,
        compare_to: SchemaItem | None,
    ) -> bool:
        if not include_object(object, name, type_, reflected, compare_to):
            return False
        return hook(object, name, type_, reflected, compare_to)

    return combined
