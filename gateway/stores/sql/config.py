"""Where the gateway keeps its own records: ``[database]``, or a SQLite file by default.

No ``[database]`` section is the embedded default: a SQLite file under the gateway's
home folder (``.q2c/`` in the working directory, ``$Q2C_HOME`` overrides it), so
``make serve`` keeps canonical ids across restarts. A configured deployment names a
PostgreSQL database, directly or through an environment variable for the password.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import msgspec

HOME_ENV = "Q2C_HOME"
DEFAULT_HOME = ".q2c"
EMBEDDED_FILE = "gateway.db"


class DatabaseSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[database]``: a PostgreSQL URL (``postgresql://user@host:5432/q2c``) or a SQLite
    file (``sqlite:///path/gateway.db``)."""

    # The URL itself, or the name of the environment variable holding it (when the
    # URL carries a password). Exactly one of the two.
    url: str | None = None
    url_env: str | None = None
    # Connections each gateway process keeps open, and how many more it may open
    # under a burst; a request waiting longer than pool_timeout_seconds for one is
    # answered 503.
    pool_size: Annotated[int, msgspec.Meta(ge=1, le=200)] = 10
    max_overflow: Annotated[int, msgspec.Meta(ge=0, le=200)] = 10
    pool_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=60)] = 5.0
    connect_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=60)] = 3.0
    # The server cancels any statement running longer (PostgreSQL statement_timeout;
    # on SQLite, how long a writer waits for the file lock).
    statement_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=300)] = 5.0

    def __post_init__(self) -> None:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("database: set exactly one of url and url_env")
        if self.url is not None:
            check_url(self.url, "database.url")

    def resolved_url(self) -> str:
        """The URL, read from the environment when ``url_env`` names it."""
        if self.url is not None:
            return self.url
        assert self.url_env is not None
        value = os.environ.get(self.url_env, "")
        if not value:
            raise SystemExit(f"database.url_env: environment variable {self.url_env} is not set")
        check_url(value, f"database.url_env ({self.url_env})")
        return value


def check_url(url: str, where: str) -> None:
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme.split("+", 1)[0] not in ("postgresql", "postgres", "sqlite"):
        raise ValueError(f"{where}: use a postgresql:// or sqlite:/// URL, not {scheme or url!r}")


def home_folder() -> Path:
    """The gateway's own folder for the embedded default (database file, keys)."""
    return Path(os.environ.get(HOME_ENV) or DEFAULT_HOME)


def embedded_url() -> str:
    """The SQLite file of the embedded default; the folder is created on first use."""
    return f"sqlite:///{(home_folder() / EMBEDDED_FILE).resolve()}"
