"""One gateway server and one headless Chromium for every portal browser test.

The gateway runs as a real HTTP server in sandbox mode (in-process sandbox
systems, the built-in issuer with self-service registration). The browser is
Debian's chromium driven through its own chromedriver; DNS resolves nothing but
127.0.0.1, so a page that reached for the internet would fail visibly.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import ARTIFACTS as ALL_ARTIFACTS
from tests.support.browser import DESKTOP, REPO, TABLET, PageCheck
from tests.support.processes import Q2C, ServerProcess
from tests.support.servers import free_port

ARTIFACTS = ALL_ARTIFACTS / "portal"
__all__ = ["DESKTOP", "REPO", "TABLET", "PageCheck"]


def _config(directory: Path) -> Path:
    systems = "".join(
        f'[systems.{name}]\nkind = "{name}"\nsandbox = true\n\n'
        for name in ("salesforce", "sap_s4hana", "netsuite", "stripe", "avalara")
    )
    path = directory / "gateway.toml"
    path.write_text(
        f"""{systems}
[auth.builtin_issuer]
key_file = "{directory / "issuer-key.pem"}"
sandbox_client = true

[[versioning.deprecations]]
operation = "listOrders"
deprecated_at = 2026-01-01T00:00:00Z
sunset = 2099-06-30T00:00:00Z
link = "https://q2c.dev/deprecations/v1-orders"
replacement = "GET /v2/orders"
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="session")
def portal_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("portal")
    port = free_port()
    server = ServerProcess(
        [Q2C, "serve", "--config", str(_config(directory)), "--port", str(port)],
        port,
        {"Q2C_HOME": str(directory / "home")},  # its own database file, for the session
    )
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pages(browser: Any, portal_server: str, axe_source: str) -> Iterator[PageCheck]:
    check = PageCheck(browser, portal_server, axe_source, ARTIFACTS)
    yield check
    if check.axe_results:
        (ARTIFACTS / "axe-summary.json").write_text(
            json.dumps(check.axe_results, indent=2, sort_keys=True)
        )
