"""One gateway server and one headless Chromium for every portal browser test.

The gateway runs as a real HTTP server in sandbox mode (in-process sandbox
systems, the built-in issuer with self-service registration). The browser is
Debian's chromium driven through its own chromedriver; DNS resolves nothing but
127.0.0.1, so a page that reached for the internet would fail visibly.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import ARTIFACTS as ALL_ARTIFACTS
from tests.support.browser import DESKTOP, REPO, TABLET, missing, screenshot
from tests.support.processes import Q2C, ServerProcess
from tests.support.servers import free_port

AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ALL_ARTIFACTS / "portal"
__all__ = ["DESKTOP", "TABLET"]


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
def axe_source() -> str:
    if not AXE.exists():
        missing("node_modules/axe-core (npm ci)")
    return AXE.read_text(encoding="utf-8")


class PageCheck:
    """Loads pages and checks them: requests, console, screenshots, accessibility."""

    def __init__(self, driver: Any, base: str, axe: str, artifacts: Path = ARTIFACTS) -> None:
        self.driver = driver
        self.base = base
        self.axe = axe
        self.artifacts = artifacts
        self.axe_results: dict[str, dict[str, int]] = {}

    def open(self, path: str, ready: Callable[[Any], bool] | None = None) -> None:
        self.drain()
        self.driver.get_log("browser")  # what earlier pages logged is not this page's
        self.driver.get(self.base + path)
        self.wait(lambda d: d.execute_script("return document.readyState") == "complete")
        if ready is not None:
            self.wait(ready)

    def wait(self, condition: Callable[[Any], Any], timeout: float = 15) -> Any:
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, timeout, poll_frequency=0.05).until(condition)

    def drain(self) -> list[dict[str, Any]]:
        """The DevTools events since the last call."""
        return [json.loads(e["message"])["message"] for e in self.driver.get_log("performance")]

    def requested_urls(self) -> list[str]:
        return [
            event["params"]["request"]["url"]
            for event in self.drain()
            if event.get("method") == "Network.requestWillBeSent"
        ]

    def console_errors(self) -> list[str]:
        return [e["message"] for e in self.driver.get_log("browser") if e["level"] == "SEVERE"]

    def screenshot(self, name: str) -> Path:
        """A full-page PNG under the artifacts folder (tests/artifacts/portal/)."""
        return screenshot(self.driver, self.artifacts / f"{name}.png")

    def accessibility(self, name: str, within: str | None = None) -> list[dict[str, Any]]:
        """Run axe-core on the current page (or the elements matching ``within``); returns
        the serious and critical violations and keeps the full result under
        the artifacts folder."""
        self.driver.execute_script(self.axe)
        self.driver.set_script_timeout(60)
        violations: list[dict[str, Any]] = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "const where = arguments[0] ? {include: [[arguments[0]]]} : document;"
            "axe.run(where, {resultTypes: ['violations']})"
            ".then(r => done(r.violations), e => done([{id: 'axe-error', impact: 'critical',"
            " help: String(e), nodes: []}]));",
            within,
        )
        by_impact: dict[str, int] = {}
        for violation in violations:
            impact = violation.get("impact") or "unknown"
            by_impact[impact] = by_impact.get(impact, 0) + 1
        self.axe_results[name] = by_impact
        self.artifacts.mkdir(parents=True, exist_ok=True)
        (self.artifacts / f"{name}.axe.json").write_text(json.dumps(violations, indent=2))
        return [
            {"id": v["id"], "impact": v["impact"], "help": v["help"],
             "targets": [n.get("target") for n in v.get("nodes", [])][:5]}
            for v in violations
            if v.get("impact") in ("serious", "critical")
        ]

    def overflows_horizontally(self) -> bool:
        return bool(self.driver.execute_script(
            "return document.documentElement.scrollWidth > window.innerWidth + 1"
        ))

    def resize(self, size: tuple[int, int]) -> None:
        self.driver.set_window_size(*size)
        time.sleep(0.05)


@pytest.fixture(scope="session")
def pages(browser: Any, portal_server: str, axe_source: str) -> Iterator[PageCheck]:
    check = PageCheck(browser, portal_server, axe_source)
    yield check
    if check.axe_results:
        (ARTIFACTS / "axe-summary.json").write_text(
            json.dumps(check.axe_results, indent=2, sort_keys=True)
        )
