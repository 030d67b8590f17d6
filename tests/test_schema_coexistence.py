"""isobil beside an application's own Alembic schema: the app's autogenerate leaves isobil alone.

A throw-away Alembic project of a small shop app (``customers`` and ``orders``)
lives in ``tmp_path``; its database also holds isobil's tables (created by
:func:`isobil.storage.upgrade`). With :func:`isobil.storage.include_object` in
its ``env.py`` autogenerate writes an empty migration; without it (the
control) it proposes dropping every isobil table.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from hypothesis import given, settings
from hypothesis import strategies as st

import _pg
from isobil.storage import _schema as schema
from isobil.storage import exclude_isobil, include_object, isobil_tables, upgrade

# The app's models, as its env.py would import them. ``{note}`` may add a
# column the database does not have yet (autogenerate must still see it).
MODELS = """
import sqlalchemy as sa

metadata = sa.MetaData()

customers = sa.Table(
    "customers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("email", sa.String(200), nullable=False, unique=True),
)

orders = sa.Table(
    "orders",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.id"), nullable=False),
    sa.Column("total", sa.Numeric(12, 2), nullable=False),
    {note}
    sa.Index("ix_orders_customer_id", "customer_id"),
)
"""

# The app's first migration, written by hand as a developer would keep it.
FIRST_MIGRATION = '''
"""shop tables"""

import sqlalchemy as sa
from alembic import op

revision = "a1"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(200), nullable=False, unique=True),
    )
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("total", sa.Numeric(12, 2), nullable=False),
    )
    op.create_index("ix_orders_customer_id", "orders", ["customer_id"])


def downgrade() -> None:
    op.drop_table("orders")
    op.drop_table("customers")
'''

# env.py as docs/storage.md shows it; {hook} is the include_object line.
ENV = """
import sqlalchemy as sa
from alembic import context

from isobil.storage import exclude_isobil, include_object

from shop_models import metadata


def not_legacy(object, name, type_, reflected, compare_to):
    return not (type_ == "table" and name == "legacy_reports")


url = context.config.get_main_option("sqlalchemy.url")
engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
try:
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            {hook}
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
finally:
    engine.dispose()
"""

SCRIPT_TEMPLATE = '''"""${message}"""

import sqlalchemy as sa
from alembic import op
${imports if imports else ""}
revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = None
depends_on = None


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
'''


def _body(text: str, function: str) -> list[str]:
    """The statements of ``function`` in a generated script, Alembic's comments left out."""
    after = text.split(f"def {function}() -> None:\n")[1]
    lines = [line.strip() for line in after.split("\ndef ")[0].splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def _is_empty(text: str) -> bool:
    return _body(text, "upgrade") == ["pass"] and _body(text, "downgrade") == ["pass"]


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database holding isobil's tables at head, and no table of the app yet."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'shop.db'}"
        assert upgrade(url) == schema.HEAD
        yield url
    else:
        with _pg.fresh_database() as url:
            assert upgrade(url) == schema.HEAD
            yield url


def _project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, hook: str, *, note: bool = False
) -> Config:
    """The app's Alembic project in ``tmp_path/shop``, its env.py passing ``hook``."""
    root = tmp_path / "shop"
    (root / "versions").mkdir(parents=True, exist_ok=True)
    column = 'sa.Column("note", sa.Text, nullable=True),' if note else ""
    (tmp_path / "shop_models.py").write_text(MODELS.format(note=column), encoding="utf-8")
    (root / "env.py").write_text(ENV.format(hook=hook), encoding="utf-8")
    (root / "script.py.mako").write_text(SCRIPT_TEMPLATE, encoding="utf-8")
    (root / "versions" / "a1_shop_tables.py").write_text(FIRST_MIGRATION, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(__import__("sys").modules, "shop_models", raising=False)
    config = Config()
    config.set_main_option("script_location", str(root))
    config.set_main_option("sqlalchemy.url", url)
    return config


def _autogenerate(config: Config) -> str:
    """Run ``alembic revision --autogenerate``; return the text of the script it wrote."""
    script = command.revision(config, "after isobil", autogenerate=True)
    assert script is not None
    assert not isinstance(script, list)
    return Path(script.path).read_text(encoding="utf-8")


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return set(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()


def test_autogenerate_beside_isobil_is_empty(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app's autogenerate, with the helper, on a database holding isobil's tables:
    an empty migration, and isobil's tables and revision untouched by the app's upgrade."""
    config = _project(tmp_path, monkeypatch, database, "include_object=include_object,")
    command.upgrade(config, "head")
    assert _tables(database) == isobil_tables() | {"alembic_version", "customers", "orders"}

    text = _autogenerate(config)

    assert _is_empty(text), text
    assert "op." not in text
    assert upgrade(database) == schema.HEAD  # isobil's own revision, in its own table


def test_without_the_helper_autogenerate_drops_isobil(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control: the same project without the helper proposes dropping every isobil
    table (the version table included), so the empty migration above is the helper's doing."""
    config = _project(tmp_path, monkeypatch, database, "")
    command.upgrade(config, "head")

    text = _autogenerate(config)

    dropped = set(re.findall(r"op\.drop_table\('(\w+)'\)", text))
    assert dropped == isobil_tables()
    assert len(dropped) == len(schema.metadata.tables) + 1
    assert "customers" not in dropped
    assert "orders" not in dropped


def test_the_apps_own_changes_still_show(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The helper hides isobil only: a column the app adds still gets its migration,
    and nothing else does."""
    config = _project(tmp_path, monkeypatch, database, "include_object=include_object,")
    command.upgrade(config, "head")
    _project(tmp_path, monkeypatch, database, "include_object=include_object,", note=True)

    text = _autogenerate(config)

    added = _body(text, "upgrade")
    assert len(added) == 1
    assert added[0].startswith("op.add_column('orders', sa.Column('note'")
    assert _body(text, "downgrade") == ["op.drop_column('orders', 'note')"]
    assert "isobil_" not in text


def test_exclude_isobil_composes_with_the_apps_hook(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``exclude_isobil(app_hook)``: the app's hook keeps its own exclusions (a legacy
    table it does not manage) and isobil's tables stay out as well."""
    engine = sa.create_engine(database, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE legacy_reports (id INTEGER PRIMARY KEY)")
    finally:
        engine.dispose()
    config = _project(tmp_path, monkeypatch, database, "include_object=not_legacy,")
    command.upgrade(config, "head")
    alone = _autogenerate(config)
    assert set(re.findall(r"op\.drop_table\('(\w+)'\)", alone)) == isobil_tables()

    for script in (tmp_path / "shop" / "versions").glob("*.py"):
        if script.name != "a1_shop_tables.py":
            script.unlink()
    _project(tmp_path, monkeypatch, database, "include_object=exclude_isobil(not_legacy),")

    text = _autogenerate(config)
    assert _is_empty(text), text


# -- the hook on its own -------------------------------------------------------

NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,30}", fullmatch=True)


@settings(deadline=None)
@given(name=NAMES, isobil=st.booleans())
def test_include_object_decides_by_table(name: str, isobil: bool) -> None:
    """A table, its columns, indexes and constraints are left out exactly when the table's
    name starts with ``isobil_``; the app's hook is asked only about the others."""
    table_name = f"isobil_{name}" if isobil else name
    metadata = sa.MetaData()
    table = sa.Table(
        table_name,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(10)),
        sa.UniqueConstraint("code", name=f"uq_{name}"),
    )
    index = sa.Index(f"ix_{name}_code", table.c.code)
    items: list[tuple[sa.schema.SchemaItem, str | None, str]] = [
        (table, table_name, "table"),
        (table.c.code, "code", "column"),
        (index, index.name, "index"),
        (next(iter(table.constraints - {table.primary_key})), f"uq_{name}", "unique_constraint"),
    ]
    asked: list[str | None] = []

    def app_hook(
        object: sa.schema.SchemaItem,
        name: str | None,
        type_: str,
        reflected: bool,
        compare_to: sa.schema.SchemaItem | None,
    ) -> bool:
        asked.append(name)
        return True

    combined = exclude_isobil(app_hook)
    for item, item_name, type_ in items:
        assert include_object(item, item_name, type_, True, None) is not isobil
        assert combined(item, item_name, type_, True, None) is not isobil
    assert asked == ([] if isobil else [n for _, n, _ in items])


def test_isobil_tables_are_the_schema_and_its_version_table() -> None:
    """``isobil_tables()`` names every table of the schema and ``isobil_alembic_version``."""
    names = isobil_tables()
    assert schema.VERSION_TABLE in names
    assert "isobil_messages" in names
    assert "isobil_consent_events" in names
    assert names == {t.name for t in schema.metadata.sorted_tables} | {schema.VERSION_TABLE}
    assert all(n.startswith("isobil_") for n in names)


def test_the_env_snippet_is_the_documented_one() -> None:
    """docs/storage.md shows the env.py line these tests run."""
    docs = (Path(__file__).resolve().parents[1] / "docs" / "storage.md").read_text("utf-8")
    assert "from isobil.storage import include_object" in docs
    assert "include_object=include_object," in docs
