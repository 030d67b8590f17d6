"""Alembic environment of the isobil storage schema.

isobil builds the Alembic ``Config`` in code and hands over an open connection
(``config.attributes["connection"]``) already inside the transaction it wants
the migration to run in (see ``isobil.storage._sql``). For developers writing a
new revision, ``sqlalchemy.url`` in the config works too::

    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "src/isobil/storage/migrations")
    cfg.set_main_option("sqlalchemy.url", "sqlite:///scratch.db")
    command.revision(cfg, "what changes", autogenerate=True)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from isobil.storage._schema import VERSION_TABLE, metadata


def _configure_and_run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        # SQLite alters tables by copying them; autogenerate should write that way.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    """Run the migrations Alembic was asked for, on the given connection or URL."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set config.attributes['connection'] or the sqlalchemy.url option")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            _configure_and_run(connection)
            connection.commit()
    finally:
        engine.dispose()


# Alembic executes this file to migrate; anything else importing it (pytest's
# doctest collection walks every module of the package) must not migrate.
if hasattr(context, "config"):
    run()
