"""Alembic's entry point for the gateway's schema: run by ``q2c db upgrade``.

The connection comes from ``gateway.stores.sql.migrate`` (``config.attributes``), so
Alembic needs no ini file and no URL of its own. The version table has the gateway's
own name: the database may be shared (DBOS keeps its tables in its own schema).
"""

from __future__ import annotations

from alembic import context

from gateway.stores.sql.schema import metadata

VERSION_TABLE = "q2c_schema_version"

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    # SQLite alters tables by copying them; PostgreSQL runs each migration in its
    # transaction.
    render_as_batch=connection.dialect.name == "sqlite",
    transactional_ddl=True,
)
with context.begin_transaction():
    context.run_migrations()
