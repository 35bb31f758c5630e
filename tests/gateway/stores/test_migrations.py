"""The hand-written migrations build exactly the schema the stores use, on both databases,
and ``q2c db upgrade`` / ``q2c serve`` treat a schema that is behind as they should."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from gateway.cli import main
from gateway.stores.sql import migrate
from gateway.stores.sql.engine import sync_url
from gateway.stores.sql.schema import metadata
from tests.support.databases import scratch_database


def drift(url: str) -> list[object]:
    engine = create_engine(sync_url(url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"version_table": migrate.VERSION_TABLE}
            )
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def check_round_trip(url: str) -> None:
    assert migrate.revision_of(url) is None
    assert migrate.upgrade(url) == migrate.head()
    assert drift(url) == []
    migrate.upgrade(url)  # again: nothing to do
    assert migrate.revision_of(url) == migrate.head()
    # Every migration also undoes itself.
    engine = create_engine(sync_url(url), poolclass=NullPool)
    try:
        from alembic import command

        with engine.begin() as connection:
            command.downgrade(migrate._config(connection), "base")
    finally:
        engine.dispose()
    assert migrate.revision_of(url) is None
    assert migrate.upgrade(url) == migrate.head()
    assert drift(url) == []


def test_migrations_match_the_schema_on_sqlite(tmp_path: Path) -> None:
    check_round_trip(f"sqlite:///{tmp_path / 'fresh.db'}")


@pytest.mark.postgres
def test_migrations_match_the_schema_on_postgres() -> None:
    with scratch_database("q2c_migrations") as url:
        check_round_trip(url)


@pytest.mark.postgres
def test_serve_refuses_a_database_that_is_behind_and_db_upgrade_fixes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with scratch_database("q2c_cli") as url:
        config = tmp_path / "gateway.toml"
        config.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
        assert main(["serve", "--config", str(config)]) == 2
        refused = capsys.readouterr().err
        assert "q2c db upgrade" in refused
        assert "no revision" in refused
        assert main(["db", "upgrade", "--config", str(config)]) == 0
        assert f"is at {migrate.head()}" in capsys.readouterr().out
        assert migrate.revision_of(url) == migrate.head()
        assert main(["db", "current", "--config", str(config)]) == 0
        assert migrate.head() in capsys.readouterr().out


def test_a_database_url_is_required_to_be_one_the_gateway_knows() -> None:
    from gateway.stores.sql.config import DatabaseSettings

    with pytest.raises(ValueError, match="postgresql:// or sqlite:///"):
        DatabaseSettings(url="mysql://root@localhost/q2c")
    with pytest.raises(ValueError, match="exactly one of url and url_env"):
        DatabaseSettings()


def test_the_embedded_database_lives_under_q2c_home(gateway_home: Path) -> None:
    from gateway.settings import Settings
    from gateway.stores.sql.config import EMBEDDED_FILE

    assert Settings().database_url() == f"sqlite:///{(gateway_home / EMBEDDED_FILE).resolve()}"
