"""One embedded-default gateway (``q2c serve`` with no configuration: sandboxes, the
SQLite file, the quote-to-cash flow with its worker, the built-in issuer with the demo
users) for every console browser test; ``browser`` is tests/e2e/conftest.py's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.browser import ARTIFACTS as ALL_ARTIFACTS
from tests.support.processes import Q2C, ServerProcess
from tests.support.servers import free_port

ARTIFACTS = ALL_ARTIFACTS / "console"


@pytest.fixture(scope="session")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a served embedded default with its own home folder (database,
    issuer key), for the session."""
    home = tmp_path_factory.mktemp("console-home")
    port = free_port()
    server = ServerProcess([Q2C, "serve", "--port", str(port)], port,
                           {"Q2C_HOME": str(home), "Q2C_CONFIG": ""})
    server.start()
    try:
        yield server.url
    finally:
        server.stop()
