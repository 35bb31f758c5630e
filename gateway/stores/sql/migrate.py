"""Schema migrations: ``q2c db upgrade``, and the start-up check.

The migrations are written by hand, one per group of tables, and ship inside the
package (``migrations/versions``). A configured database is upgraded by an operator
(``q2c db upgrade``) and a gateway refuses to start on a schema that is behind; the
embedded SQLite file is upgraded by the gateway itself when it starts.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine
from sqlalchemy.pool import NullPool

from gateway.stores.sql.engine import sync_url

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "q2c_schema_version"


class SchemaBehind(Exception):
    """The database is not at the revision this gateway was built for."""


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head() -> str:
    revision = ScriptDirectory.from_config(_config()).get_current_head()
    assert revision is not None, "the package ships its migrations"
    return revision


def upgrade(url: str, revision: str = "head") -> str:
    """Migrate the database at ``url`` to ``revision``; returns the revision it is at.
    A SQLite file's folder is created if need be."""
    target = sync_url(url)
    if target.get_backend_name() == "sqlite" and target.database not in (None, "", ":memory:"):
        Path(target.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(target, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            command.upgrade(_config(connection), revision)
            return current(connection) or ""
    finally:
        engine.dispose()


def current(connection: Connection) -> str | None:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def revision_of(url: str) -> str | None:
    engine = create_engine(sync_url(url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return current(connection)
    finally:
        engine.dispose()


def require_current(url: str) -> None:
    """Raise SchemaBehind unless the database is at this gateway's head revision."""
    found = revision_of(url)
    wanted = head()
    if found != wanted:
        raise SchemaBehind(
            f"the database schema is at {found or 'no revision (empty)'}, this gateway needs "
            f"{wanted}: run `q2c db upgrade` (with the same configuration) first"
        )
