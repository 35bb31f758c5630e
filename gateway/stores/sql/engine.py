"""One async SQLAlchemy engine per process, and the two ways the stores use it.

PostgreSQL goes through psycopg 3, the driver DBOS Transact brings as well, so
the gateway and the quote-to-cash workflows share one driver (and can share one
database: DBOS keeps its tables in its own ``dbos`` schema). Measured here against
asyncpg through SQLAlchemy (one SELECT, one upsert), the two were within the
noise of a shared machine (~0.35-0.5 ms CPU per round trip each), so one driver
wins. SQLite goes through aiosqlite in WAL mode.

``reading()`` hands out a connection in autocommit: each statement is its own
round trip with no BEGIN/COMMIT around it, which is what single-statement look-ups
and upserts need. ``writing()`` is one transaction; on SQLite it starts with
``BEGIN IMMEDIATE`` so two writers queue on the file lock instead of deadlocking
when both try to upgrade a read lock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Table, event, exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, CursorResult, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

from domains.errors import StoreUnavailable
from gateway.stores.sql.config import DatabaseSettings

Dialect = Literal["postgresql", "sqlite"]
Insert = postgresql.Insert | sqlite.Insert

# What the driver raises when the database is down, restarting, overloaded or slow:
# connection refused or lost, the server's statement timeout, a full pool.
UNAVAILABLE = (exc.OperationalError, exc.InterfaceError, exc.TimeoutError, OSError)


def async_url(url: str) -> URL:
    """The SQLAlchemy URL with the async driver this gateway uses for the dialect."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.get_backend_name() == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    return parsed.set(drivername="sqlite+aiosqlite")


def sync_url(url: str) -> URL:
    """The same database through a blocking driver, for Alembic and the CLI."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.get_backend_name() == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    return parsed.set(drivername="sqlite+pysqlite")


class Database:
    """The engine plus the counters tests and benchmarks read (statements sent)."""

    def __init__(
        self,
        url: str,
        settings: DatabaseSettings | None = None,
        *,
        before_first_use: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """``before_first_use`` runs once, before the first statement (the embedded
        default brings its SQLite file to the current schema there, so it works even
        when nothing ran the application's start-up)."""
        settings = settings or DatabaseSettings(url=url)
        self._before_first_use = before_first_use
        self._first_use = asyncio.Lock()
        self.url = async_url(url)
        self.dialect: Dialect = (
            "postgresql" if self.url.get_backend_name() == "postgresql" else "sqlite"
        )
        # Round trips to the server, for measurements: every statement, plus the
        # BEGIN psycopg sends before a transaction's first one and each COMMIT or
        # ROLLBACK (on SQLite the BEGIN is a statement of its own already).
        self.round_trips = 0
        self.engine = _engine(self.url, self.dialect, settings)
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        sync = self.engine.sync_engine

        def count(*_: Any) -> None:
            self.round_trips += 1

        def count_transaction(connection: Any) -> None:
            # An autocommit connection's begin/commit/rollback send nothing.
            if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
                self.round_trips += 1

        event.listen(sync, "before_cursor_execute", count)
        event.listen(sync, "commit", count_transaction)
        event.listen(sync, "rollback", count_transaction)
        if self.dialect == "postgresql":
            event.listen(sync, "begin", count_transaction)

    async def prepare(self) -> None:
        """Run ``before_first_use`` unless it ran already."""
        if self._before_first_use is None:
            return
        async with self._first_use:
            prepare, self._before_first_use = self._before_first_use, None
            if prepare is not None:
                try:
                    await prepare()
                except BaseException:
                    self._before_first_use = prepare  # the next use tries again
                    raise

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncConnection]:
        """A connection where every statement commits on its own."""
        try:
            if self._before_first_use is not None:
                await self.prepare()
            async with self._autocommit.connect() as connection:
                yield connection
        except UNAVAILABLE as error:
            raise unavailable(error) from error

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncConnection]:
        """One transaction: committed when the block ends, rolled back when it raises."""
        try:
            if self._before_first_use is not None:
                await self.prepare()
            async with self.engine.begin() as connection:
                yield connection
        except UNAVAILABLE as error:
            raise unavailable(error) from error

    async def ping(self) -> None:
        async with self.reading() as connection:
            await connection.exec_driver_sql("SELECT 1")

    async def dispose(self) -> None:
        await self.engine.dispose()


def insert(database: Database | Dialect, table: Table) -> Insert:
    """An INSERT that can say ON CONFLICT (the same SQL on both), in the right dialect."""
    dialect = database if isinstance(database, str) else database.dialect
    if dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


class Prepared:
    """A statement of fixed shape, compiled once per dialect and run with values only.

    SQLAlchemy 2.0 keeps no compiled form of an ``INSERT .. ON CONFLICT`` (the
    PostgreSQL and SQLite Insert constructs opt out of its statement cache), so an
    upsert built per call is compiled per call: measured here, 1.95 ms of CPU per
    submission claim, of which 1.5 ms was compiling; run precompiled, 0.42 ms. The hot
    upserts are therefore written once with ``bindparam()`` placeholders (``build``
    gets the dialect's name) and executed through ``execute(connection, **values)``.
    The values reach the driver as they are (no SQLAlchemy type processing): strings,
    integers, bytes and None only, which is what these tables hold.
    """

    def __init__(self, build: Callable[[Dialect], ClauseElement]) -> None:
        self._build = build
        self._compiled: dict[str, tuple[SQLCompiler, tuple[str, ...] | None]] = {}

    def _for(self, connection: AsyncConnection) -> tuple[SQLCompiler, tuple[str, ...] | None]:
        dialect = connection.dialect
        found = self._compiled.get(dialect.name)
        if found is None:
            name: Dialect = "postgresql" if dialect.name == "postgresql" else "sqlite"
            compiled = self._build(name).compile(dialect=dialect)
            assert isinstance(compiled, SQLCompiler)
            # No IN (...) lists here: their placeholders are rendered per execution.
            assert "POSTCOMPILE" not in compiled.string, "Prepared cannot take IN lists"
            order = tuple(compiled.positiontup or ()) if compiled.positional else None
            found = self._compiled[dialect.name] = (compiled, order)
        return found

    async def execute(self, connection: AsyncConnection, **values: Any) -> CursorResult[Any]:
        """Run with ``values`` for the ``bindparam()`` placeholders (constants written
        into the statement keep theirs); a missing value is an error, as in SQLAlchemy."""
        compiled, order = self._for(connection)
        params = compiled.construct_params(values)
        if order is None:
            return await connection.exec_driver_sql(compiled.string, params)
        return await connection.exec_driver_sql(
            compiled.string, tuple(params[name] for name in order)
        )


def unavailable(error: BaseException) -> StoreUnavailable:
    return StoreUnavailable(
        f"The gateway's database is unavailable ({type(error).__name__}); nothing was "
        "changed by this request.",
    )


def _engine(url: URL, dialect: Dialect, settings: DatabaseSettings) -> AsyncEngine:
    if dialect == "postgresql":
        timeout_ms = round(settings.statement_timeout_seconds * 1000)
        return create_async_engine(
            url,
            pool_size=settings.pool_size,
            max_overflow=settings.max_overflow,
            pool_timeout=settings.pool_timeout_seconds,
            # A connection the server dropped (restart, failover) is found on first use
            # and the pool is emptied then; no ping on every checkout.
            pool_recycle=1800,
            connect_args={
                "connect_timeout": max(1, round(settings.connect_timeout_seconds)),
                "options": f"-c statement_timeout={timeout_ms} -c lock_timeout={timeout_ms}",
                "application_name": "q2c-gateway",
            },
        )
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(
        url,
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_timeout=settings.pool_timeout_seconds,
        connect_args={"timeout": settings.statement_timeout_seconds},
    )
    _sqlite_transactions(engine)
    return engine


def _sqlite_transactions(engine: AsyncEngine) -> None:
    """The pysqlite recipe from SQLAlchemy's SQLite notes: the driver issues no BEGIN of
    its own; SQLAlchemy's begin becomes ``BEGIN IMMEDIATE``."""

    @event.listens_for(engine.sync_engine, "connect")
    def connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def begin(connection: Any) -> None:
        if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def now_ms() -> int:
    """Wall-clock milliseconds: leases and expiries are compared across processes."""
    return time.time_ns() // 1_000_000
