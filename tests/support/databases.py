"""PostgreSQL databases of our own for tests: created with a unique name, dropped after.

The server is the shared one at ``$POSTGRES_URL`` (default 127.0.0.1:5432, trust auth);
only databases created here are ever touched. Without a server a test is skipped,
except in CI (CI=true), where it fails.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

POSTGRES_URL = os.environ.get("POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _admin() -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3)


def require_postgres() -> None:
    """Skip (or fail in CI) when no PostgreSQL answers."""
    try:
        with _admin() as connection:
            connection.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required in CI and did not answer at {POSTGRES_URL}: {exc}")
        pytest.skip(f"no PostgreSQL at {POSTGRES_URL}")


def url_of(database: str) -> str:
    base, _, _ = POSTGRES_URL.rpartition("/")
    return f"{base}/{database}"


@contextlib.contextmanager
def scratch_database(label: str = "q2c_test") -> Iterator[str]:
    """A new, empty database ``<label>_<random>``; its URL, dropped on exit."""
    require_postgres()
    name = f"{label}_{uuid.uuid4().hex[:12]}"
    with _admin() as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield url_of(name)
    finally:
        with _admin() as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def truncate_all(url: str) -> None:
    """Empty every table of the gateway's schema (not the migration bookkeeping)."""
    from gateway.stores.sql.schema import metadata

    names = sql.SQL(", ").join(sql.Identifier(t) for t in metadata.tables)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY").format(names))
